//! Our CRDs, `infrastructure.cluster.x-k8s.io/v1alpha1`, meeting the Cluster
//! API v1beta2 InfraCluster and InfraMachine contracts.

pub mod cluster;
pub mod common;
pub mod machine;
pub mod policies;

pub use cluster::{ScvmmCluster, ScvmmClusterSpec, ScvmmClusterStatus, ScvmmClusterTemplate};
pub use machine::{ScvmmMachine, ScvmmMachineSpec, ScvmmMachineStatus, ScvmmMachineTemplate};
pub use policies::admission_policies;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every kind we define.
pub const GROUP: &str = "infrastructure.cluster.x-k8s.io";
/// The one version we serve.
pub const VERSION: &str = "v1alpha1";
/// Label through which Cluster API learns which of our versions speaks its
/// v1beta2 contract; must agree with `metadata.yaml`.
pub const CONTRACT_LABEL: (&str, &str) = ("cluster.x-k8s.io/v1beta2", "v1alpha1");

/// Every CRD we ship, in a stable order (the order of `crds/`).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        ScvmmCluster::crd(),
        ScvmmClusterTemplate::crd(),
        ScvmmMachine::crd(),
        ScvmmMachineTemplate::crd(),
    ]
}
