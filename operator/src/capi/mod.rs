//! The few Cluster API v1beta2 types the provider reads (Cluster, Machine)
//! and the IPAM types it writes and reads (IPAddressClaim, IPAddress).
//!
//! Only the fields we use are modelled; unknown fields are ignored on read.
//! These CRDs belong to Cluster API: `crd()` is never installed by us.

mod cluster;
mod ipam;
mod machine;

pub use cluster::{
    Cluster, ClusterInitialization, ClusterSpec, ClusterStatus, has_paused_annotation, is_paused,
};
pub use ipam::{
    IPAddress, IPAddressClaim, IPAddressClaimSpec, IPAddressClaimStatus, IPAddressSpec,
    IpPoolReference, LocalRef,
};
pub use machine::{Bootstrap, Machine, MachineSpec, MachineStatus, NodeRef};

/// Label CAPI puts on every object of a cluster.
pub const CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// Annotation that pauses reconciliation of one object (or of a Cluster).
pub const PAUSED_ANNOTATION: &str = "cluster.x-k8s.io/paused";
/// Annotation that blocks `clusterctl move` while set.
pub const BLOCK_MOVE_ANNOTATION: &str = "clusterctl.cluster.x-k8s.io/block-move";
/// Label that `--watch-filter` selects on (CAPI's convention).
pub const WATCH_FILTER_LABEL: &str = "cluster.x-k8s.io/watch-filter";
/// CAPI core API group.
pub const CORE_GROUP: &str = "cluster.x-k8s.io";
/// CAPI IPAM API group.
pub const IPAM_GROUP: &str = "ipam.cluster.x-k8s.io";

/// Name of the Cluster API object of `kind` (`Cluster`, `Machine`) among
/// `obj`'s owners: how CAPI links its objects to ours.
pub fn owner_name<K: kube::Resource>(obj: &K, kind: &str) -> Option<String> {
    obj.meta()
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.kind == kind && r.api_version.starts_with("cluster.x-k8s.io/"))
        .map(|r| r.name.clone())
}

/// `{apiGroup, kind, name}`, the v1beta2 contract reference shape.
#[derive(
    serde::Serialize, serde::Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ContractRef {
    /// API group of the referenced object.
    #[serde(default)]
    pub api_group: String,
    /// Kind of the referenced object.
    #[serde(default)]
    pub kind: String,
    /// Name of the referenced object (same namespace).
    #[serde(default)]
    pub name: String,
}
