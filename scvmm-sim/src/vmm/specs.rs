//! Resolved device specs and change sets: what requests carry once names
//! are resolved to ids, what a JobGroup stages, and what a job applies when
//! it completes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{AddressType, BusType, MacAddressType, VolumeType};

/// A network adapter to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterSpec {
    /// VM network.
    pub vm_network: Option<Uuid>,
    /// VM subnet.
    pub vm_subnet: Option<Uuid>,
    /// MAC assignment type.
    pub mac_address_type: MacAddressType,
    /// Explicit static MAC.
    pub mac_address: Option<String>,
    /// IPv4 assignment type.
    pub ipv4_address_type: AddressType,
    /// Static IPv4 pools.
    pub ipv4_pools: Vec<Uuid>,
    /// Synthetic NIC.
    pub synthetic: bool,
    /// VLAN enabled.
    pub vlan_enabled: bool,
    /// VLAN id.
    pub vlan_id: u16,
}

impl Default for AdapterSpec {
    fn default() -> Self {
        Self {
            vm_network: None,
            vm_subnet: None,
            mac_address_type: MacAddressType::Dynamic,
            mac_address: None,
            ipv4_address_type: AddressType::Dynamic,
            ipv4_pools: Vec::new(),
            synthetic: true,
            vlan_enabled: false,
            vlan_id: 0,
        }
    }
}

/// Changes to an existing adapter (`Set-SCVirtualNetworkAdapter`); `None`
/// leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdapterChange {
    /// Connect to this VM network.
    pub vm_network: Option<Uuid>,
    /// Connect to this VM subnet.
    pub vm_subnet: Option<Uuid>,
    /// Disconnect (`-NoConnection`).
    pub disconnect: bool,
    /// New IPv4 assignment type.
    pub ipv4_address_type: Option<AddressType>,
    /// Pools for static addresses (`-IPv4AddressPools`).
    pub ipv4_pools: Option<Vec<Uuid>>,
    /// Explicit static addresses (`-IPv4Addresses`), granted from the pools.
    pub ipv4_addresses: Option<Vec<std::net::Ipv4Addr>>,
    /// New MAC assignment type.
    pub mac_address_type: Option<MacAddressType>,
    /// New static MAC.
    pub mac_address: Option<String>,
    /// VLAN enabled.
    pub vlan_enabled: Option<bool>,
    /// VLAN id.
    pub vlan_id: Option<u16>,
}

impl AdapterChange {
    /// Whether the change needs the VM powered off (MAC changes do; network
    /// and address changes are live operations on Hyper-V) \[INF\].
    pub fn needs_power_off(&self) -> bool {
        self.mac_address_type.is_some() || self.mac_address.is_some()
    }
}

/// A DVD drive to add, optionally with media.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DvdAdd {
    /// Bus type.
    pub bus_type: BusType,
    /// Bus.
    pub bus: u8,
    /// LUN.
    pub lun: u8,
    /// ISO to insert (a library ISO).
    pub iso: Option<Uuid>,
    /// Link instead of copying.
    pub link: bool,
}

/// Media for a DVD drive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DvdMedia {
    /// `-NoMedia`.
    NoMedia,
    /// `-ISO` (copy to the host) or `-ISO -Link`.
    Iso {
        /// Library ISO.
        iso: Uuid,
        /// Link from the library instead of copying.
        link: bool,
    },
}

/// Where a new disk's VHD comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DiskSource {
    /// A copy of a library VHD.
    Vhd(Uuid),
    /// A copy of a library VHD under another file name (`-FileName`).
    VhdAs {
        /// The library VHD.
        vhd: Uuid,
        /// The copy's file name.
        file_name: String,
    },
    /// A new blank disk.
    Blank {
        /// Size in MB.
        size_mb: u64,
        /// Dynamically expanding (else fixed).
        dynamic: bool,
        /// File name, default `<vm>_disk_<n>.vhdx`.
        file_name: Option<String>,
    },
}

/// A disk drive to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskAdd {
    /// Bus type.
    pub bus_type: BusType,
    /// Bus.
    pub bus: u8,
    /// LUN.
    pub lun: u8,
    /// Volume role.
    pub volume_type: VolumeType,
    /// Source.
    pub source: DiskSource,
}

/// A virtual Fibre Channel adapter to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FibreChannelAdd {
    /// A virtual SAN (of some host): the adapter connects to the SAN of
    /// that name on the VM's host.
    pub virtual_san: Option<Uuid>,
    /// A storage fabric classification: the adapter connects to a SAN of
    /// that classification on the VM's host.
    pub classification: Option<Uuid>,
}

/// One change staged under a JobGroup, applied by the final command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StagedItem {
    /// `New-SCVirtualNetworkAdapter -JobGroup`.
    Adapter(AdapterSpec),
    /// `Set-SCVirtualNetworkAdapter -SlotID n -JobGroup`: override a
    /// template NIC.
    AdapterOverride {
        /// Slot of the template NIC.
        slot_id: u32,
        /// The change.
        change: AdapterChange,
    },
    /// `New-SCVirtualDVDDrive -JobGroup`.
    Dvd(DvdAdd),
    /// `Set-SCVirtualDVDDrive -SourceBus -SourceLUN -JobGroup`.
    DvdMedia {
        /// Bus of the drive to change.
        bus: u8,
        /// LUN of the drive to change.
        lun: u8,
        /// New media.
        media: DvdMedia,
    },
    /// `New-SCVirtualDiskDrive -JobGroup`.
    Disk(DiskAdd),
    /// `New-SCVirtualFibreChannelAdapter -JobGroup`.
    FibreChannel(FibreChannelAdd),
    /// `Set-SCCustomPropertyValue -JobGroup`.
    CustomProperty {
        /// Property name.
        name: String,
        /// Value.
        value: String,
    },
}

/// Property changes of `Set-SCVirtualMachine`; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VmPropertyChange {
    /// `-Name` (rename).
    pub name: Option<String>,
    /// `-Description`.
    pub description: Option<String>,
    /// `-Owner`.
    pub owner: Option<String>,
    /// `-Tag`.
    pub tag: Option<String>,
    /// `-CPUCount` (hardware).
    pub cpu_count: Option<u32>,
    /// `-MemoryMB` (hardware).
    pub memory_mb: Option<u64>,
    /// `-DynamicMemoryEnabled` (hardware).
    pub dynamic_memory_enabled: Option<bool>,
    /// `-DynamicMemoryMinimumMB` (hardware).
    pub dynamic_memory_minimum_mb: Option<u64>,
    /// `-DynamicMemoryMaximumMB` (hardware).
    pub dynamic_memory_maximum_mb: Option<u64>,
    /// `-DynamicMemoryBufferPercentage` (hardware).
    pub dynamic_memory_buffer_percentage: Option<u32>,
    /// `-StartAction`.
    pub start_action: Option<String>,
    /// `-StopAction`.
    pub stop_action: Option<String>,
    /// `-AvailabilitySetNames`.
    pub availability_set_names: Option<Vec<String>>,
    /// `-HighlyAvailable` (hardware).
    pub highly_available: Option<bool>,
}

impl VmPropertyChange {
    /// Whether any field is a hardware change (needs PowerOff, error 640).
    pub fn is_hardware(&self) -> bool {
        self.cpu_count.is_some()
            || self.memory_mb.is_some()
            || self.dynamic_memory_enabled.is_some()
            || self.dynamic_memory_minimum_mb.is_some()
            || self.dynamic_memory_maximum_mb.is_some()
            || self.dynamic_memory_buffer_percentage.is_some()
            || self.highly_available.is_some()
    }
}
