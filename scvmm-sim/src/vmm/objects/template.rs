//! VM templates and hardware profiles, and the device specs they carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::vmm::enums::{AddressType, BusType, MacAddressType, VolumeType};

/// Dynamic memory settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicMemory {
    /// `DynamicMemoryEnabled`.
    #[serde(default)]
    pub enabled: bool,
    /// `DynamicMemoryMinimumMB`.
    #[serde(default)]
    pub minimum_mb: u64,
    /// `DynamicMemoryMaximumMB`.
    #[serde(default)]
    pub maximum_mb: u64,
    /// `DynamicMemoryBufferPercentage`.
    #[serde(default)]
    pub buffer_percentage: u32,
}

fn default_true() -> bool {
    true
}

/// A network adapter of a template or hardware profile. Networks are named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NicSpec {
    /// VM network name, `None` for not connected.
    #[serde(default)]
    pub vm_network: Option<String>,
    /// VM subnet name.
    #[serde(default)]
    pub vm_subnet: Option<String>,
    /// MAC assignment.
    #[serde(default = "dynamic_mac")]
    pub mac_address_type: MacAddressType,
    /// IPv4 assignment.
    #[serde(default = "dynamic_ip")]
    pub ipv4_address_type: AddressType,
    /// Synthetic (true) or emulated NIC.
    #[serde(default = "default_true")]
    pub synthetic: bool,
    /// VLAN enabled.
    #[serde(default)]
    pub vlan_enabled: bool,
    /// VLAN id.
    #[serde(default)]
    pub vlan_id: u16,
}

fn dynamic_mac() -> MacAddressType {
    MacAddressType::Dynamic
}

fn dynamic_ip() -> AddressType {
    AddressType::Dynamic
}

/// A DVD drive slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DvdSpec {
    /// Bus type (IDE for Gen 1, SCSI for Gen 2).
    pub bus_type: BusType,
    /// Bus number.
    pub bus: u8,
    /// LUN.
    pub lun: u8,
}

/// A disk of a template: a library VHD (by name) or a new blank disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskSpec {
    /// Bus type.
    pub bus_type: BusType,
    /// Bus number.
    pub bus: u8,
    /// LUN.
    pub lun: u8,
    /// Volume role.
    #[serde(default = "no_volume")]
    pub volume_type: VolumeType,
    /// Library VHD name; `None` for a blank disk of `size_mb`.
    #[serde(default)]
    pub vhd: Option<String>,
    /// Size of a blank disk in MB.
    #[serde(default)]
    pub size_mb: u64,
    /// Blank disk dynamically expanding (true) or fixed.
    #[serde(default = "default_true")]
    pub dynamic: bool,
}

fn no_volume() -> VolumeType {
    VolumeType::None
}

fn gen2() -> u8 {
    2
}

/// A hardware profile (New-SCHardwareProfile / Get-SCHardwareProfile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HardwareProfile {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// VM generation (1 or 2).
    #[serde(default = "gen2")]
    pub generation: u8,
    /// Virtual CPUs.
    pub cpu_count: u32,
    /// Startup memory in MB.
    pub memory_mb: u64,
    /// Dynamic memory.
    #[serde(default)]
    pub dynamic_memory: DynamicMemory,
    /// Highly available.
    #[serde(default)]
    pub highly_available: bool,
    /// Secure boot (Gen 2).
    #[serde(default)]
    pub secure_boot: bool,
    /// Network adapters.
    #[serde(default)]
    pub nics: Vec<NicSpec>,
    /// DVD drives.
    #[serde(default)]
    pub dvd_drives: Vec<DvdSpec>,
    /// Owner.
    #[serde(default)]
    pub owner: String,
}

/// A VM template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// VMM id.
    #[serde(default)]
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// VM generation.
    #[serde(default = "gen2")]
    pub generation: u8,
    /// Virtual CPUs.
    pub cpu_count: u32,
    /// Memory in MB.
    pub memory_mb: u64,
    /// Dynamic memory.
    #[serde(default)]
    pub dynamic_memory: DynamicMemory,
    /// Guest OS name (`Get-SCOperatingSystem` name).
    #[serde(default)]
    pub operating_system: String,
    /// Hardware profile this template was built from (name).
    #[serde(default)]
    pub hardware_profile: Option<String>,
    /// Disks.
    #[serde(default)]
    pub disks: Vec<DiskSpec>,
    /// Network adapters.
    #[serde(default)]
    pub nics: Vec<NicSpec>,
    /// DVD drives.
    #[serde(default)]
    pub dvd_drives: Vec<DvdSpec>,
    /// Guest customization possible (`IsCustomizable`).
    #[serde(default = "default_true")]
    pub is_customizable: bool,
    /// Tag (`(none)` when empty).
    #[serde(default)]
    pub tag: String,
    /// Owner.
    #[serde(default)]
    pub owner: String,
    /// Custom property values.
    #[serde(default)]
    pub custom_properties: BTreeMap<String, String>,
}
