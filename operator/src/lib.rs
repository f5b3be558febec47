//! The Cluster API infrastructure provider for Microsoft SCVMM.
//!
//! - [`api`]: our CRDs (`ScvmmCluster`, `ScvmmMachine` and their templates).
//! - [`crdgen`]: rendering those CRDs as the YAML checked in under `crds/`.
//! - [`bootstrap`]: the cloud-init NoCloud seed (meta-data, network-config, ISO).
//! - [`apidoc`]: rendering the API reference (`docs/api.md`) from their schemas.

pub mod api;
pub mod apidoc;
pub mod bootstrap;
pub mod capi;
pub mod controller;
pub mod crdgen;
pub mod error;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod scvmm;

pub use error::Error;
