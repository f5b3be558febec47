//! `ipam.cluster.x-k8s.io/v1beta2` IPAddressClaim (we create one per device
//! and pool) and IPAddress (an IPAM provider's answer).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `{apiGroup, kind, name}` of an IP pool.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IpPoolReference {
    /// API group of the pool kind.
    pub api_group: String,
    /// Pool kind, e.g. `InClusterIPPool`.
    pub kind: String,
    /// Pool name.
    pub name: String,
}

/// `{name}` of an object in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalRef {
    /// Name.
    pub name: String,
}

/// A request for one address from a pool.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ipam.cluster.x-k8s.io",
    version = "v1beta2",
    kind = "IPAddressClaim",
    namespaced,
    status = "IPAddressClaimStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct IPAddressClaimSpec {
    /// The Cluster the claim belongs to (IPAM providers honour its pause).
    pub cluster_name: String,
    /// The pool to allocate from.
    pub pool_ref: IpPoolReference,
}

/// Status written by the IPAM provider.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IPAddressClaimStatus {
    /// The allocated IPAddress, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_ref: Option<LocalRef>,
    /// Conditions (Ready with reasons such as PoolExhausted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
}

/// An allocated address.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "ipam.cluster.x-k8s.io",
    version = "v1beta2",
    kind = "IPAddress",
    namespaced
)]
#[serde(rename_all = "camelCase")]
pub struct IPAddressSpec {
    /// The claim this address answers.
    pub claim_ref: LocalRef,
    /// The pool it came from.
    pub pool_ref: IpPoolReference,
    /// The address.
    pub address: String,
    /// Prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<i32>,
    /// Default gateway for the address's network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}
