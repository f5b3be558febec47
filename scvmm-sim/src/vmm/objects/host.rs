//! Hyper-V hosts and host clusters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

fn default_true() -> bool {
    true
}

fn default_reserve() -> u64 {
    2048
}

/// A Hyper-V host managed by VMM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// VMM id (derived from the name when left out).
    #[serde(default)]
    pub id: Uuid,
    /// Fully qualified name, e.g. `hv01.contoso.com` (VMM's `Name`).
    pub name: String,
    /// Path of the host group the host is in.
    pub host_group: String,
    /// Name of the host cluster, if clustered.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Logical processors (`LogicalProcessorCount`).
    pub logical_processors: u32,
    /// Cores per CPU socket.
    #[serde(default = "default_cores")]
    pub cores_per_cpu: u32,
    /// Physical memory in MB (`TotalMemory` is shown in bytes).
    pub memory_mb: u64,
    /// Memory kept for the host itself, unavailable to VMs (MB).
    #[serde(default = "default_reserve")]
    pub reserve_memory_mb: u64,
    /// Storage for VMs in GB.
    #[serde(default)]
    pub storage_gb: u64,
    /// Default VM paths (`VMPaths`).
    #[serde(default)]
    pub vm_paths: Vec<String>,
    /// Maintenance mode (not available for placement).
    #[serde(default)]
    pub maintenance: bool,
    /// Whether the host agent responds.
    #[serde(default = "default_true")]
    pub responding: bool,
    /// `AvailableForPlacement`.
    #[serde(default = "default_true")]
    pub available_for_placement: bool,
    /// Host operating system.
    #[serde(default = "default_host_os")]
    pub operating_system: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Custom property values.
    #[serde(default)]
    pub custom_properties: BTreeMap<String, String>,
}

fn default_cores() -> u32 {
    8
}

fn default_host_os() -> String {
    "Windows Server 2022 Datacenter".to_string()
}

impl Host {
    /// The short computer name (first DNS label).
    pub fn computer_name(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// The first VM path, where new VMs go (what automation passes as `-Path`).
    pub fn default_vm_path(&self) -> String {
        self.vm_paths
            .first()
            .cloned()
            .unwrap_or_else(|| "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V".to_string())
    }
}

/// A failover cluster of hosts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostCluster {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Cluster name (FQDN).
    pub name: String,
    /// Path of the host group the cluster is in.
    pub host_group: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Cluster shared volumes.
    #[serde(default)]
    pub shared_volumes: Vec<String>,
}
