//! The one error type of the SCVMM operations.
//!
//! Messages name the endpoint or the operation and what to check; they never
//! carry credentials or script parameters (which hold bootstrap data).

use serde::{Deserialize, Serialize};

/// VMM error IDs that mean "the object does not exist".
const NOT_FOUND_IDS: &[u32] = &[
    // VMM cannot find %ObjectType object %Name (LibObjectNotFound); the
    // scripts report a failed lookup by name with the same ID.
    801,
];

/// VMM error IDs worth retrying as they are: locks held by another job,
/// the VMM service or a host not answering.
const TRANSIENT_VMM_IDS: &[u32] = &[
    // Locked by another job.
    2602, // Unable to connect to the VMM management server.
    1602, // Internal error contacting a host (WinRM/BITS).
    2912, // The refresher could not refresh a locked VM.
    23234,
];

/// What went wrong with an SCVMM operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ScvmmError {
    /// The WinRM endpoint could not be reached or did not answer in time
    /// (TCP, TLS, HTTP, WinRM faults, deadlines). Retry with backoff.
    #[error(
        "SCVMM endpoint {endpoint} is unreachable: {detail}; check the URL, DNS, firewalls \
         (5985/5986) and that the WinRM service and VMM are running; the operation is retried"
    )]
    Unreachable {
        /// The WinRM endpoint.
        endpoint: String,
        /// What failed.
        detail: String,
    },
    /// The endpoint refused the credentials.
    #[error(
        "SCVMM endpoint {endpoint} refused the credentials (HTTP 401 or WinRM access denied); \
         check the user name and password in the credentials Secret, the authentication scheme, \
         and that the account may use WinRM and has a VMM user role"
    )]
    Unauthorized {
        /// The WinRM endpoint.
        endpoint: String,
    },
    /// VMM (or the script, on VMM's behalf) reported an error.
    #[error("SCVMM operation {operation} failed with VMM error {id}: {message}")]
    Vmm {
        /// The operation (`create_vm`, `start_vm`, ...).
        operation: &'static str,
        /// VMM's error ID (0 when it gave none).
        id: u32,
        /// VMM's message.
        message: String,
    },
    /// The script's output could not be understood.
    #[error(
        "SCVMM operation {operation} returned output that could not be understood ({detail}); \
         check that the endpoint is a VMM server (or a host with the VMM console) running \
         Windows PowerShell 5.1"
    )]
    Protocol {
        /// The operation.
        operation: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The endpoint configuration or a request cannot work (a user error).
    #[error("invalid SCVMM configuration: {0}")]
    Config(String),
}

impl ScvmmError {
    /// Worth retrying unchanged (with backoff): the endpoint was unreachable,
    /// or VMM reported a lock or a connection problem of its own.
    pub fn is_transient(&self) -> bool {
        match self {
            ScvmmError::Unreachable { .. } => true,
            ScvmmError::Vmm { id, .. } => TRANSIENT_VMM_IDS.contains(id),
            _ => false,
        }
    }

    /// VMM's error ID, for errors VMM reported.
    pub fn vmm_id(&self) -> Option<u32> {
        match self {
            ScvmmError::Vmm { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// VMM said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.vmm_id().is_some_and(|id| NOT_FOUND_IDS.contains(&id))
    }

    /// VMM said the object is locked by another job (2602).
    pub fn is_locked(&self) -> bool {
        self.vmm_id() == Some(2602)
    }
}
