//! Private clouds: a set of host groups with capacity limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Capacity limits of a cloud; `None` is unlimited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudCapacity {
    /// Maximum number of VMs.
    #[serde(default)]
    pub vm_count: Option<u32>,
    /// Maximum virtual CPUs.
    #[serde(default)]
    pub cpu_count: Option<u32>,
    /// Maximum memory in MB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
}

/// A VMM private cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cloud {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Paths of the host groups the cloud places VMs in.
    pub host_groups: Vec<String>,
    /// Logical networks available in the cloud (names).
    #[serde(default)]
    pub logical_networks: Vec<String>,
    /// Capacity limits.
    #[serde(default)]
    pub capacity: CloudCapacity,
    /// Custom property values.
    #[serde(default)]
    pub custom_properties: BTreeMap<String, String>,
}
