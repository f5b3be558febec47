//! Virtual machines and their devices.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::library::VirtualHardDisk;
use super::template::DynamicMemory;
use crate::vmm::clock::Time;
use crate::vmm::enums::{AddressType, BusType, MacAddressType, VmState, VolumeType};

/// A virtual network adapter of a VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkAdapter {
    /// VMM id.
    pub id: Uuid,
    /// Slot (0-based, in creation order).
    pub slot_id: u32,
    /// MAC address `AA:BB:CC:DD:EE:FF`, `None` until assigned.
    pub mac_address: Option<String>,
    /// MAC assignment type.
    pub mac_address_type: MacAddressType,
    /// Connected VM network.
    pub vm_network: Option<Uuid>,
    /// Connected VM subnet.
    pub vm_subnet: Option<Uuid>,
    /// IPv4 assignment type.
    pub ipv4_address_type: AddressType,
    /// Pools static addresses come from.
    pub ipv4_pools: Vec<Uuid>,
    /// Allocations (ids of `AllocatedIpAddress`) held by this adapter.
    pub allocations: Vec<Uuid>,
    /// `IPv4Addresses` as VMM currently shows them.
    pub ipv4_addresses: Vec<String>,
    /// Synthetic NIC.
    pub synthetic: bool,
    /// VLAN enabled.
    pub vlan_enabled: bool,
    /// VLAN id.
    pub vlan_id: u16,
}

/// A virtual disk drive and the VHD attached to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskDrive {
    /// VMM id.
    pub id: Uuid,
    /// Bus type.
    pub bus_type: BusType,
    /// Bus.
    pub bus: u8,
    /// LUN.
    pub lun: u8,
    /// Volume role.
    pub volume_type: VolumeType,
    /// The attached VHD (its own VMM object).
    pub vhd: VirtualHardDisk,
    /// `IOPSMaximum` (Hyper-V storage QoS); 0 is no limit.
    #[serde(default)]
    pub iops_maximum: u64,
}

/// A virtual Fibre Channel adapter (`New-SCVirtualFibreChannelAdapter`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FibreChannelAdapter {
    /// VMM id.
    pub id: Uuid,
    /// The host's virtual SAN it connects to, when one was given.
    pub virtual_san: Option<Uuid>,
    /// The storage fabric classification VMM picks a SAN by at placement.
    pub classification: Option<Uuid>,
    /// Primary world-wide port name (`C0:03:FF:...`), assigned dynamically.
    pub wwpn: String,
}

/// A virtual DVD drive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DvdDrive {
    /// VMM id.
    pub id: Uuid,
    /// Bus type.
    pub bus_type: BusType,
    /// Bus.
    pub bus: u8,
    /// LUN.
    pub lun: u8,
    /// The ISO in the drive (a host copy, or a linked library ISO).
    pub iso: Option<Uuid>,
    /// Whether the ISO is linked from the library (`ISOLinked`).
    pub linked: bool,
}

/// What the guest reported through KVP and when VMM will show it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GuestFacts {
    /// Addresses per adapter, as reported by the guest.
    pub addresses: BTreeMap<Uuid, Vec<String>>,
    /// Guest computer name.
    pub computer_name: Option<String>,
    /// When the light refresher will copy the facts into the VM object;
    /// `None` when nothing is pending.
    pub visible_at: Option<Time>,
}

/// A virtual machine. Names are not unique; the id is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    /// VMM id (the provider's key).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Owner (`DOMAIN\user`).
    pub owner: String,
    /// Tag; empty shows as "(none)".
    pub tag: String,
    /// `Status`.
    pub status: VmState,
    /// `VirtualMachineState` (hypervisor power state).
    pub power: VmState,
    /// Hyper-V VM id (`VMId`).
    pub vm_id: Uuid,
    /// `BiosGuid`.
    pub bios_guid: Uuid,
    /// Host the VM is placed on; `None` when placement failed.
    pub host: Option<Uuid>,
    /// Cloud the VM belongs to.
    pub cloud: Option<Uuid>,
    /// VM folder on the host (`Location`).
    pub location: String,
    /// Virtual CPUs.
    pub cpu_count: u32,
    /// Startup memory (MB).
    pub memory_mb: u64,
    /// Dynamic memory.
    pub dynamic_memory: DynamicMemory,
    /// Generation.
    pub generation: u8,
    /// Guest OS.
    pub operating_system: String,
    /// Network adapters.
    pub adapters: Vec<NetworkAdapter>,
    /// Disk drives.
    pub disks: Vec<DiskDrive>,
    /// DVD drives.
    pub dvd_drives: Vec<DvdDrive>,
    /// Virtual Fibre Channel adapters.
    #[serde(default)]
    pub fibre_channel_adapters: Vec<FibreChannelAdapter>,
    /// `LimitCPUForMigration` (`-CPULimitForMigration`).
    #[serde(default)]
    pub cpu_limit_for_migration: bool,
    /// `LimitCPUFunctionality` (`-CPULimitFunctionality`).
    #[serde(default)]
    pub cpu_limit_functionality: bool,
    /// Virtualization extensions exposed to the guest
    /// (`-EnableNestedVirtualization`).
    #[serde(default)]
    pub nested_virtualization: bool,
    /// Custom property values.
    pub custom_properties: BTreeMap<String, String>,
    /// Availability set names.
    pub availability_sets: Vec<String>,
    /// Highly available.
    pub highly_available: bool,
    /// `StartAction`.
    pub start_action: String,
    /// `StopAction`.
    pub stop_action: String,
    /// Computer name requested for guest customization.
    pub requested_computer_name: Option<String>,
    /// Computer name as VMM shows it (guest-reported; "Unknown" before).
    pub computer_name: Option<String>,
    /// `CreationTime`.
    pub creation_time: Time,
    /// `ModifiedTime`.
    pub modified_time: Time,
    /// `CreationSource`, e.g. the template name.
    pub creation_source: String,
    /// `SourceObjectType`, e.g. "VM Template".
    pub source_object_type: String,
    /// `MostRecentTask` (job id).
    pub most_recent_task: Option<Uuid>,
    /// `FailedJobID`.
    pub failed_job: Option<Uuid>,
    /// `MarkedForDeletion`.
    pub marked_for_deletion: bool,
    /// Whether the VM has ever started (dynamic MACs are assigned then).
    pub has_booted: bool,
    /// Guest-reported facts awaiting a refresh.
    pub guest: GuestFacts,
}

impl Vm {
    /// The tag as VMM shows it.
    pub fn tag_display(&self) -> &str {
        if self.tag.is_empty() {
            "(none)"
        } else {
            &self.tag
        }
    }

    /// Total maximum size of the VM's disks in bytes (`TotalSize`).
    pub fn total_size(&self) -> u64 {
        self.disks.iter().map(|d| d.vhd.size_bytes).sum()
    }

    /// The adapter with `id`.
    pub fn adapter_mut(&mut self, id: Uuid) -> Option<&mut NetworkAdapter> {
        self.adapters.iter_mut().find(|a| a.id == id)
    }
}
