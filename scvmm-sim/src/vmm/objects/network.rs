//! Logical networks, VM networks and VM subnets.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A logical network (fabric), with its network site subnets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogicalNetwork {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Host groups (paths) where the network is available.
    #[serde(default)]
    pub host_groups: Vec<String>,
    /// Network site subnets (CIDR).
    #[serde(default)]
    pub subnets: Vec<String>,
}

fn no_isolation() -> String {
    "NoIsolation".to_string()
}

/// A VM network (what a VM's NIC connects to).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmNetwork {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Logical network name.
    pub logical_network: String,
    /// `IsolationType` (NoIsolation, VLANNetwork, WindowsNetworkVirtualization).
    #[serde(default = "no_isolation")]
    pub isolation_type: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

/// A VM subnet of a VM network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmSubnet {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// VM network name.
    pub vm_network: String,
    /// Subnet (CIDR).
    pub subnet: String,
    /// VLAN id (0 = untagged).
    #[serde(default)]
    pub vlan_id: u16,
}

impl VmSubnet {
    /// `SubnetVLans` as VMM stringifies it: `192.168.32.0/24-0`.
    pub fn subnet_vlan(&self) -> String {
        format!("{}-{}", self.subnet, self.vlan_id)
    }
}
