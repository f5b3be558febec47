//! The operator crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the operator library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Serialising a CRD failed (a bug in a schema type).
    #[error("could not render CRD {name} as YAML: {detail}")]
    RenderCrd {
        /// The CRD's name.
        name: String,
        /// The serializer's message.
        detail: String,
    },
    /// A CRD without a name (a bug in the derive input).
    #[error("a generated CRD has no metadata.name")]
    UnnamedCrd,
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Building the cloud-init seed failed.
    #[error("building the cloud-init seed failed: {0}")]
    Seed(String),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// An SCVMM operation failed.
    #[error(transparent)]
    Scvmm(#[from] crate::scvmm::ScvmmError),
    /// The objects cannot be acted on as configured; the message says which
    /// object and field, and what to do.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// A short category for metrics and backoff decisions.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kubernetes",
            Error::Scvmm(e) if e.is_transient() => "scvmm_unreachable",
            Error::Scvmm(crate::scvmm::ScvmmError::Unauthorized { .. }) => "scvmm_unauthorized",
            Error::Scvmm(_) => "vmm_error",
            Error::Config(_) => "configuration",
            _ => "internal",
        }
    }
}
