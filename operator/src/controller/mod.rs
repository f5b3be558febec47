//! The reconcilers: observe (Kubernetes objects and SCVMM) → plan (pure) →
//! act (one SCVMM operation or one Kubernetes write) → status (server-side
//! apply of conditions and observed state).

pub mod caches;
pub mod cluster;
pub mod conditions;
pub mod connection;
pub mod context;
pub mod machine;
pub mod own_writes;
pub mod quantity;
pub mod shared;
pub mod template;
#[cfg(test)]
pub mod test_api;
pub mod vm_lists;

pub use context::{Context, Settings};
pub use shared::WatchOptions;

/// Field manager for every write the controller makes.
pub const FIELD_MANAGER: &str = "scvmm-capi-manager";
/// Finalizer on ScvmmMachines: the VM is removed before the object goes.
pub const MACHINE_FINALIZER: &str = "scvmmmachine.infrastructure.cluster.x-k8s.io";
/// Finalizer on ScvmmClusters: the cluster's machines and VIP claim go
/// before the object does.
pub const CLUSTER_FINALIZER: &str = "scvmmcluster.infrastructure.cluster.x-k8s.io";
/// Annotation holding a ScvmmCluster's own ID (a UUID chosen by the
/// controller once). VMs carry it in their cluster marker, so that two
/// management clusters with a Cluster of the same namespace and name on one
/// VMM server never take each other's VMs for orphans. `clusterctl move`
/// carries it with the object.
pub const CLUSTER_ID_ANNOTATION: &str = "infrastructure.cluster.x-k8s.io/scvmm-cluster-id";
/// Annotation (value `true`) that lets a ScvmmMachine be deleted without
/// deleting its VM: the escape hatch when the SCVMM endpoint is gone for
/// good. The VM, if it still exists, must then be removed by hand.
pub const SKIP_VM_DELETION_ANNOTATION: &str = "infrastructure.cluster.x-k8s.io/skip-vm-deletion";
