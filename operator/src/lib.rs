//! The Cluster API infrastructure provider for Microsoft SCVMM.
//!
//! - [`api`]: our CRDs (`ScvmmCluster`, `ScvmmMachine` and their templates).
//! - [`crdgen`]: rendering those CRDs as the YAML checked in under `crds/`.

pub mod api;
pub mod crdgen;
