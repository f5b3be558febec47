//! Devices: New-/Set-SCVirtualNetworkAdapter, New-/Set-SCVirtualDVDDrive,
//! New-SCVirtualDiskDrive, Expand-SCVirtualDiskDrive, New-SCHardwareProfile,
//! and JobGroup staging.
//!
//! A device cmdlet with `-JobGroup` and no target object stages a change;
//! the next final command with the same GUID (New-SCVirtualMachine,
//! Set-SCVirtualMachine, New-SCHardwareProfile) consumes what it can use
//! and clears it from the stage (reference §4.4).
//!
//! A change to an existing VM is applied when the cmdlet runs; its job then
//! runs the `UnderUpdate` period and ends in the previous status, or in
//! `UpdateFailed` when it fails.

use std::net::Ipv4Addr;

use uuid::Uuid;

use super::super::Vmm;
use super::super::config::{OnlineExpand, Op};
use super::super::enums::{
    AddressType, BusType, MacAddressType, VhdType, VmState, VmmEnum, VolumeType,
};
use super::super::errors::{VmmError, VmmResult};
use super::super::inventory::{format_mac, parse_mac, same_name};
use super::super::jobs::JobSpec;
use super::super::objects::DynamicMemory;
use super::super::objects::library::{file_name, join_path};
use super::super::objects::template::{DvdSpec, NicSpec};
use super::super::objects::{
    AllocatedIpAddress, DiskDrive, DvdDrive, FibreChannelAdapter, FibreChannelSan, HardwareProfile,
    Iso, Job, JobEffect, NetworkAdapter, StorageFabricClassification, StoredFile, VirtualHardDisk,
    Vm,
};
use super::super::specs::{
    AdapterChange, AdapterSpec, DiskAdd, DiskSource, DvdAdd, DvdMedia, FibreChannelAdd, StagedItem,
};
use super::super::value::{ObjectKind, ObjectRef};
use super::super::wildcard::like;
use super::{Device, Ref, Submitted};

const GIB: u64 = 1024 * 1024 * 1024;

/// What a device cmdlet works on.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceTarget {
    /// `-VM`: add to an existing VM now (a job).
    Vm(Ref),
    /// `-JobGroup` without a target: stage for the final command.
    JobGroup(Uuid),
    /// `-HardwareProfile`: add to a profile (no job).
    HardwareProfile(Ref),
}

/// New-SCVirtualNetworkAdapter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewNetworkAdapter {
    /// `-VM`, `-JobGroup` or `-HardwareProfile`.
    pub target: Option<DeviceTarget>,
    /// `-VMNetwork`.
    pub vm_network: Option<Ref>,
    /// `-VMSubnet`.
    pub vm_subnet: Option<Ref>,
    /// `-MACAddressType`.
    pub mac_address_type: Option<MacAddressType>,
    /// `-MACAddress` (static).
    pub mac_address: Option<String>,
    /// `-IPv4AddressType`.
    pub ipv4_address_type: Option<AddressType>,
    /// `-Synthetic` (default true).
    pub emulated: bool,
    /// `-VLanEnabled`.
    pub vlan_enabled: Option<bool>,
    /// `-VLanID`.
    pub vlan_id: Option<u16>,
}

/// Which adapter Set-SCVirtualNetworkAdapter changes.
#[derive(Clone, Debug, PartialEq)]
pub enum AdapterTarget {
    /// `[-VirtualNetworkAdapter]`: an existing adapter (by id).
    Adapter(Uuid),
    /// `-SlotID n -JobGroup g`: a template adapter, staged.
    Slot {
        /// Slot id.
        slot_id: u32,
        /// Job group.
        job_group: Uuid,
    },
}

/// Set-SCVirtualNetworkAdapter.
#[derive(Clone, Debug, PartialEq)]
pub struct SetNetworkAdapter {
    /// The adapter.
    pub target: AdapterTarget,
    /// `-VMNetwork`.
    pub vm_network: Option<Ref>,
    /// `-VMSubnet`.
    pub vm_subnet: Option<Ref>,
    /// `-NoConnection`.
    pub no_connection: bool,
    /// `-IPv4AddressType`.
    pub ipv4_address_type: Option<AddressType>,
    /// `-IPv4AddressPools`.
    pub ipv4_address_pools: Option<Vec<Ref>>,
    /// `-IPv4Addresses`.
    pub ipv4_addresses: Option<Vec<String>>,
    /// `-MACAddressType`.
    pub mac_address_type: Option<MacAddressType>,
    /// `-MACAddress`.
    pub mac_address: Option<String>,
    /// `-VLanEnabled`.
    pub vlan_enabled: Option<bool>,
    /// `-VLanID`.
    pub vlan_id: Option<u16>,
}

impl SetNetworkAdapter {
    /// A request changing nothing yet on `target`.
    pub fn new(target: AdapterTarget) -> Self {
        Self {
            target,
            vm_network: None,
            vm_subnet: None,
            no_connection: false,
            ipv4_address_type: None,
            ipv4_address_pools: None,
            ipv4_addresses: None,
            mac_address_type: None,
            mac_address: None,
            vlan_enabled: None,
            vlan_id: None,
        }
    }
}

/// New-SCVirtualDVDDrive.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDvdDrive {
    /// `-VM`, `-JobGroup` or `-HardwareProfile`.
    pub target: DeviceTarget,
    /// Bus type (IDE for Gen 1, SCSI for Gen 2; default by generation).
    pub bus_type: Option<BusType>,
    /// `-Bus`.
    pub bus: u8,
    /// `-LUN`.
    pub lun: u8,
    /// `-ISO`.
    pub iso: Option<Ref>,
    /// `-Link`.
    pub link: bool,
}

/// Which drive Set-SCVirtualDVDDrive changes.
#[derive(Clone, Debug, PartialEq)]
pub enum DvdTarget {
    /// `[-VirtualDVDDrive]` (by id).
    Drive(Uuid),
    /// `-JobGroup -SourceBus -SourceLUN`: a template drive, staged.
    Staged {
        /// Job group.
        job_group: Uuid,
        /// `-SourceBus`.
        bus: u8,
        /// `-SourceLUN`.
        lun: u8,
    },
}

/// What to put in the drive.
#[derive(Clone, Debug, PartialEq)]
pub enum DvdMediaRequest {
    /// `-NoMedia`.
    NoMedia,
    /// `-ISO [-Link]`.
    Iso {
        /// The ISO.
        iso: Ref,
        /// `-Link`.
        link: bool,
    },
}

/// Set-SCVirtualDVDDrive.
#[derive(Clone, Debug, PartialEq)]
pub struct SetDvdDrive {
    /// The drive.
    pub target: DvdTarget,
    /// The media.
    pub media: DvdMediaRequest,
}

/// Where a new disk's VHD comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum DiskSourceRequest {
    /// `-VirtualHardDisk` (a library disk, copied).
    Vhd(Ref),
    /// `-VirtualHardDisk -FileName`: a library disk copied under its own
    /// file name.
    VhdAs {
        /// The library disk.
        vhd: Ref,
        /// The copy's file name.
        file_name: String,
    },
    /// `-Dynamic|-Fixed -VirtualHardDiskSizeMB [-FileName]`.
    Blank {
        /// Size in MB.
        size_mb: u64,
        /// `-Dynamic` (else `-Fixed`).
        dynamic: bool,
        /// `-FileName`.
        file_name: Option<String>,
    },
}

/// New-SCVirtualDiskDrive.
#[derive(Clone, Debug, PartialEq)]
pub struct NewDiskDrive {
    /// `-VM`, `-JobGroup` (hardware profiles hold no disks).
    pub target: DeviceTarget,
    /// `-IDE` / `-SCSI`.
    pub bus_type: BusType,
    /// `-Bus`.
    pub bus: u8,
    /// `-LUN`.
    pub lun: u8,
    /// `-VolumeType`.
    pub volume_type: VolumeType,
    /// Source.
    pub source: DiskSourceRequest,
}

/// Expand-SCVirtualDiskDrive.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpandDisk {
    /// `[-VirtualDiskDrive]` (by id).
    pub drive: Uuid,
    /// `-VirtualHardDiskSizeGB` (Int32, whole GB).
    pub size_gb: i64,
}

/// Set-SCVirtualDiskDrive (the settings the model keeps).
#[derive(Clone, Debug, PartialEq)]
pub struct SetDiskDrive {
    /// `[-VirtualDiskDrive]` (by id).
    pub drive: Uuid,
    /// `-IOPSMaximum` (0 removes the limit).
    pub iops_maximum: Option<u64>,
}

/// New-SCVirtualFibreChannelAdapter.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFibreChannelAdapter {
    /// `-VM` or `-JobGroup` (hardware profiles and templates are not
    /// modelled).
    pub target: DeviceTarget,
    /// `-VirtualFibreChannelSAN`.
    pub virtual_san: Option<Ref>,
    /// `-StorageFabricClassification`.
    pub classification: Option<Ref>,
}

/// New-SCHardwareProfile.
#[derive(Clone, Debug, PartialEq)]
pub struct NewHardwareProfile {
    /// `[-Name]`.
    pub name: String,
    /// `-Description`.
    pub description: String,
    /// `-Generation` (default 1, VMM's default).
    pub generation: Option<u8>,
    /// `-CPUCount` (default 1).
    pub cpu_count: Option<u32>,
    /// `-MemoryMB` (default 1024).
    pub memory_mb: Option<u64>,
    /// `-DynamicMemoryEnabled` and friends.
    pub dynamic_memory: Option<DynamicMemory>,
    /// `-HighlyAvailable`.
    pub highly_available: bool,
    /// `-SecureBootEnabled`.
    pub secure_boot: bool,
    /// `-JobGroup`: staged NICs and DVD drives go into the profile.
    pub job_group: Option<Uuid>,
}

/// What a change may touch, saved so that a failed change leaves nothing
/// behind (addresses, ISO copies, MACs).
pub(crate) struct Checkpoint {
    allocations: Vec<AllocatedIpAddress>,
    isos: Vec<Iso>,
    files: Vec<StoredFile>,
    next_mac: u64,
}

impl Vmm {
    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            allocations: self.state.allocations.clone(),
            isos: self.state.isos.clone(),
            files: self.state.files.clone(),
            next_mac: self.state.next_mac,
        }
    }

    pub(crate) fn restore(&mut self, c: Checkpoint) {
        self.state.allocations = c.allocations;
        self.state.isos = c.isos;
        self.state.files = c.files;
        self.state.next_mac = c.next_mac;
    }

    /// Stages `item` under `group`.
    fn stage(&mut self, group: Uuid, item: StagedItem) {
        self.state.staged.entry(group).or_default().push(item);
    }

    /// The next free MAC from VMM's static pool.
    pub(crate) fn allocate_static_mac(&mut self) -> VmmResult<String> {
        let start = parse_mac(&self.inventory.mac_pool.start).unwrap_or(0x001D_D8B7_1C00);
        let end = parse_mac(&self.inventory.mac_pool.end).unwrap_or(0x001D_D8F4_1FFF);
        let in_use: Vec<u64> = self
            .state
            .vms
            .iter()
            .flat_map(|v| v.adapters.iter())
            .filter_map(|a| a.mac_address.as_deref().and_then(parse_mac))
            .collect();
        loop {
            let candidate = start.saturating_add(self.state.next_mac);
            if candidate > end {
                return Err(VmmError::mac_pool_exhausted());
            }
            self.state.next_mac += 1;
            if !in_use.contains(&candidate) {
                return Ok(format_mac(candidate));
            }
        }
    }

    /// Resolves a NIC spec from a template or profile (names) to ids.
    pub(crate) fn adapter_spec_from_nic(&self, nic: &NicSpec) -> AdapterSpec {
        AdapterSpec {
            vm_network: nic
                .vm_network
                .as_deref()
                .and_then(|n| self.inventory.vm_network_by_name(n))
                .map(|n| n.id),
            vm_subnet: nic
                .vm_subnet
                .as_deref()
                .and_then(|n| self.inventory.vm_subnet_by_name(n))
                .map(|s| s.id),
            mac_address_type: nic.mac_address_type,
            mac_address: None,
            ipv4_address_type: nic.ipv4_address_type,
            ipv4_pools: Vec::new(),
            synthetic: nic.synthetic,
            vlan_enabled: nic.vlan_enabled,
            vlan_id: nic.vlan_id,
        }
    }

    /// The pools a static adapter draws from: the given ones, else those of
    /// its VM subnet.
    fn pools_for(&self, vm_subnet: Option<Uuid>, given: &[Uuid]) -> Vec<Uuid> {
        if !given.is_empty() {
            return given.to_vec();
        }
        vm_subnet
            .and_then(|s| self.inventory.vm_subnet(s))
            .map(|s| {
                self.inventory
                    .pools_for_subnet(&s.name)
                    .map(|p| p.id)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Grants static addresses to adapter `adapter` of `vm`: the explicit
    /// ones (from whichever pool holds them) or one from the first pool
    /// with a free address.
    fn grant_adapter_addresses(
        &mut self,
        vm: &Vm,
        adapter: &mut NetworkAdapter,
        explicit: Option<&[Ipv4Addr]>,
    ) -> VmmResult<()> {
        let pools = self.pools_for(adapter.vm_subnet, &adapter.ipv4_pools);
        if pools.is_empty() {
            return Err(VmmError::invalid_parameter(
                "Set-SCVirtualNetworkAdapter",
                "The adapter has a static IPv4 address type but no static IP address pool serves its VM subnet.",
            ));
        }
        let description = format!("{} ({})", vm.name, adapter.id);
        let granted: Vec<AllocatedIpAddress> = match explicit {
            Some(addresses) => {
                let mut out = Vec::new();
                for a in addresses {
                    let pool = pools
                        .iter()
                        .copied()
                        .find(|p| self.inventory.ip_pool(*p).is_some_and(|p| p.in_range(*a)))
                        .or_else(|| pools.first().copied())
                        .ok_or_else(|| VmmError::ip_out_of_range(&a.to_string(), "(none)"))?;
                    out.push(self.allocate_ip(
                        pool,
                        Some(*a),
                        "VirtualNetworkAdapter",
                        Some(adapter.id),
                        &description,
                    )?);
                }
                out
            }
            None => {
                let mut last = None;
                let mut got = None;
                for p in &pools {
                    match self.allocate_ip(
                        *p,
                        None,
                        "VirtualNetworkAdapter",
                        Some(adapter.id),
                        &description,
                    ) {
                        Ok(a) => {
                            got = Some(a);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match (got, last) {
                    (Some(a), _) => vec![a],
                    (None, Some(e)) => return Err(e),
                    (None, None) => Vec::new(),
                }
            }
        };
        for a in granted {
            adapter.allocations.push(a.id);
            adapter.ipv4_addresses.push(a.address.to_string());
        }
        Ok(())
    }

    /// Frees an adapter's static addresses.
    fn release_adapter_addresses(&mut self, adapter: &mut NetworkAdapter) {
        let ids = std::mem::take(&mut adapter.allocations);
        let addresses: Vec<String> = self
            .state
            .allocations
            .iter()
            .filter(|a| ids.contains(&a.id))
            .map(|a| a.address.to_string())
            .collect();
        self.state.allocations.retain(|a| !ids.contains(&a.id));
        adapter.ipv4_addresses.retain(|a| !addresses.contains(a));
    }

    /// Adds a network adapter to `vm` (being built or a copy of a live one).
    pub(crate) fn add_adapter(&mut self, vm: &mut Vm, spec: &AdapterSpec) -> VmmResult<Uuid> {
        let slot_id = vm.adapters.iter().map(|a| a.slot_id + 1).max().unwrap_or(0);
        let mac_address = match (spec.mac_address_type, &spec.mac_address) {
            (MacAddressType::Static, Some(mac)) => {
                Some(format_mac(parse_mac(mac).ok_or_else(|| {
                    VmmError::invalid_parameter(
                        "New-SCVirtualNetworkAdapter",
                        &format!("'{mac}' is not a valid MAC address."),
                    )
                })?))
            }
            (MacAddressType::Static, None) => Some(self.allocate_static_mac()?),
            (MacAddressType::Dynamic, _) => None,
        };
        let mut adapter = NetworkAdapter {
            id: self.new_id(),
            slot_id,
            mac_address,
            mac_address_type: spec.mac_address_type,
            vm_network: spec.vm_network,
            vm_subnet: spec
                .vm_subnet
                .or_else(|| self.default_subnet(spec.vm_network)),
            ipv4_address_type: spec.ipv4_address_type,
            ipv4_pools: spec.ipv4_pools.clone(),
            allocations: Vec::new(),
            ipv4_addresses: Vec::new(),
            synthetic: spec.synthetic,
            vlan_enabled: spec.vlan_enabled,
            vlan_id: spec.vlan_id,
        };
        if adapter.mac_address.is_none() && (self.behaviour.dynamic_mac_on_create || vm.has_booted)
        {
            adapter.mac_address = Some(format_mac(
                0x0000_0015_5D00_0000 | (self.rng.next_u64() & 0x00FF_FFFF),
            ));
        }
        if adapter.ipv4_address_type == AddressType::Static {
            self.grant_adapter_addresses(vm, &mut adapter, None)?;
        }
        let id = adapter.id;
        vm.adapters.push(adapter);
        Ok(id)
    }

    /// The only subnet of a VM network, if it has exactly one.
    fn default_subnet(&self, network: Option<Uuid>) -> Option<Uuid> {
        let net = self.inventory.vm_network(network?)?;
        let mut subnets = self
            .inventory
            .vm_subnets
            .iter()
            .filter(|s| s.vm_network.eq_ignore_ascii_case(&net.name));
        match (subnets.next(), subnets.next()) {
            (Some(s), None) => Some(s.id),
            _ => None,
        }
    }

    /// Applies an adapter change to adapter `adapter` of `vm`.
    pub(crate) fn change_adapter(
        &mut self,
        vm: &mut Vm,
        adapter: Uuid,
        change: &AdapterChange,
    ) -> VmmResult<()> {
        let Some(pos) = vm.adapters.iter().position(|a| a.id == adapter) else {
            return Err(VmmError::not_found(
                "VirtualNetworkAdapter",
                &adapter.to_string(),
            ));
        };
        let mut a = vm.adapters[pos].clone();
        if change.disconnect {
            a.vm_network = None;
            a.vm_subnet = None;
        }
        if let Some(n) = change.vm_network {
            a.vm_network = Some(n);
            a.vm_subnet = change.vm_subnet.or_else(|| self.default_subnet(Some(n)));
        } else if let Some(s) = change.vm_subnet {
            a.vm_subnet = Some(s);
        }
        if let Some(v) = change.vlan_enabled {
            a.vlan_enabled = v;
        }
        if let Some(v) = change.vlan_id {
            a.vlan_id = v;
        }
        if let Some(t) = change.mac_address_type {
            a.mac_address_type = t;
            if t == MacAddressType::Static
                && change.mac_address.is_none()
                && a.mac_address.is_none()
            {
                a.mac_address = Some(self.allocate_static_mac()?);
            }
        }
        if let Some(mac) = &change.mac_address {
            a.mac_address = Some(format_mac(parse_mac(mac).ok_or_else(|| {
                VmmError::invalid_parameter(
                    "Set-SCVirtualNetworkAdapter",
                    &format!("'{mac}' is not a valid MAC address."),
                )
            })?));
        }
        if let Some(pools) = &change.ipv4_pools {
            a.ipv4_pools = pools.clone();
        }
        let readdress = change.ipv4_address_type.is_some()
            || change.ipv4_pools.is_some()
            || change.ipv4_addresses.is_some();
        if let Some(t) = change.ipv4_address_type {
            a.ipv4_address_type = t;
        }
        if readdress {
            self.release_adapter_addresses(&mut a);
            if a.ipv4_address_type == AddressType::Static {
                self.grant_adapter_addresses(vm, &mut a, change.ipv4_addresses.as_deref())?;
            }
        }
        vm.adapters[pos] = a;
        Ok(())
    }

    /// Error 9107 if bus type/bus/LUN is taken on `vm`.
    fn check_slot(
        vm: &Vm,
        bus_type: BusType,
        bus: u8,
        lun: u8,
        except: Option<Uuid>,
    ) -> VmmResult<()> {
        let taken = vm
            .disks
            .iter()
            .filter(|d| Some(d.id) != except)
            .any(|d| d.bus_type == bus_type && d.bus == bus && d.lun == lun)
            || vm
                .dvd_drives
                .iter()
                .filter(|d| Some(d.id) != except)
                .any(|d| d.bus_type == bus_type && d.bus == bus && d.lun == lun);
        if taken {
            Err(VmmError::slot_in_use(&format!("{bus_type} {bus}:{lun}")))
        } else {
            Ok(())
        }
    }

    /// Generation 2 VMs have no IDE controller.
    fn check_bus(vm: &Vm, bus_type: BusType, cmdlet: &str) -> VmmResult<()> {
        if vm.generation >= 2 && bus_type == BusType::IDE {
            Err(VmmError::invalid_parameter(
                cmdlet,
                "Generation 2 virtual machines do not support IDE devices; use SCSI.",
            ))
        } else {
            Ok(())
        }
    }

    /// Adds a DVD drive to `vm`.
    pub(crate) fn add_dvd(&mut self, vm: &mut Vm, add: &DvdAdd) -> VmmResult<Uuid> {
        Self::check_bus(vm, add.bus_type, "New-SCVirtualDVDDrive")?;
        Self::check_slot(vm, add.bus_type, add.bus, add.lun, None)?;
        let id = self.new_id();
        vm.dvd_drives.push(DvdDrive {
            id,
            bus_type: add.bus_type,
            bus: add.bus,
            lun: add.lun,
            iso: None,
            linked: false,
        });
        if let Some(iso) = add.iso {
            self.set_dvd_media(
                vm,
                id,
                &DvdMedia::Iso {
                    iso,
                    link: add.link,
                },
            )?;
        }
        Ok(id)
    }

    /// Changes the media of drive `drive` of `vm`: ejects (deleting the
    /// host copy), copies a library ISO to the host, or links it.
    pub(crate) fn set_dvd_media(
        &mut self,
        vm: &mut Vm,
        drive: Uuid,
        media: &DvdMedia,
    ) -> VmmResult<()> {
        let Some(pos) = vm.dvd_drives.iter().position(|d| d.id == drive) else {
            return Err(VmmError::not_found("VirtualDVDDrive", &drive.to_string()));
        };
        // Validate the new media before ejecting the old one.
        let new_iso = match media {
            DvdMedia::NoMedia => None,
            DvdMedia::Iso { iso, link } => {
                let Some(src) = self.state.iso(*iso).cloned() else {
                    return Err(VmmError::not_found("ISO", &iso.to_string()));
                };
                if src.marked_for_deletion {
                    return Err(VmmError::not_found("ISO", &src.name));
                }
                Some((src, *link))
            }
        };
        // -NoMedia (or replacing media) deletes the host copy the drive used.
        if let Some(old) = vm.dvd_drives[pos].iso.take()
            && !vm.dvd_drives[pos].linked
            && let Some(copy) = self.state.iso(old).cloned()
            && copy.vm == Some(vm.id)
        {
            self.state.isos.retain(|i| i.id != old);
            let path = copy.share_path.to_lowercase();
            self.state.files.retain(|f| f.path.to_lowercase() != path);
        }
        vm.dvd_drives[pos].linked = false;
        let Some((src, link)) = new_iso else {
            return Ok(());
        };
        let host_name = vm
            .host
            .and_then(|h| self.inventory.host(h))
            .map(|h| h.name.clone())
            .unwrap_or_default();
        if link {
            if !self.behaviour.hosts_can_read_library {
                let share = src
                    .library_share
                    .and_then(|s| self.inventory.share(s))
                    .map(|s| s.path.clone())
                    .unwrap_or_else(|| src.share_path.clone());
                return Err(VmmError::linked_iso_access(&host_name, &vm.name, &share));
            }
            vm.dvd_drives[pos].iso = Some(src.id);
            vm.dvd_drives[pos].linked = true;
            return Ok(());
        }
        // Copy to the VM's folder on the host: a new ISO object that belongs
        // to the VM (HostName set, no library server) [REAL].
        let path = join_path(&[&vm.location, &src.name]);
        let bytes = self
            .state
            .file(&src.share_path)
            .map(|f| f.bytes.clone())
            .unwrap_or_default();
        let now = self.now();
        let copy = Iso {
            id: self.new_id(),
            name: src.name.clone(),
            share_path: path.clone(),
            library_share: None,
            host: vm.host,
            vm: Some(vm.id),
            size: src.size,
            family_name: src.family_name.clone(),
            release: src.release.clone(),
            added: now,
            marked_for_deletion: false,
        };
        vm.dvd_drives[pos].iso = Some(copy.id);
        let lower = path.to_lowercase();
        self.state.files.retain(|f| f.path.to_lowercase() != lower);
        self.state.files.push(StoredFile {
            path,
            bytes,
            written: now,
        });
        self.state.isos.push(copy);
        Ok(())
    }

    /// Adds a disk drive to `vm`: a copy of a library VHD or a blank disk.
    pub(crate) fn add_disk(&mut self, vm: &mut Vm, add: &DiskAdd) -> VmmResult<Uuid> {
        Self::check_bus(vm, add.bus_type, "New-SCVirtualDiskDrive")?;
        Self::check_slot(vm, add.bus_type, add.bus, add.lun, None)?;
        let vhd = match &add.source {
            DiskSource::Vhd(id) | DiskSource::VhdAs { vhd: id, .. } => {
                let src = self
                    .inventory
                    .vhd(*id)
                    .cloned()
                    .ok_or_else(|| VmmError::not_found("VirtualHardDisk", &id.to_string()))?;
                if vm.generation >= 2 && src.format == super::super::enums::VhdFormat::VHD {
                    return Err(VmmError::generation_mismatch(&src.name, vm.generation));
                }
                let name = match &add.source {
                    DiskSource::VhdAs { file_name: f, .. } => file_name(f).to_string(),
                    _ => src.name.clone(),
                };
                VirtualHardDisk {
                    id: self.new_id(),
                    location: join_path(&[&vm.location, &name]),
                    name,
                    share: None,
                    directory: String::new(),
                    host: vm.host,
                    ..src
                }
            }
            DiskSource::Blank {
                size_mb,
                dynamic,
                file_name: name,
            } => {
                let n = vm.disks.len() + 1;
                let name = name
                    .clone()
                    .unwrap_or_else(|| format!("{}_disk_{n}.vhdx", vm.name));
                let max = size_mb.saturating_mul(1024 * 1024);
                VirtualHardDisk {
                    id: self.new_id(),
                    name: file_name(&name).to_string(),
                    share: None,
                    directory: String::new(),
                    location: join_path(&[&vm.location, file_name(&name)]),
                    host: vm.host,
                    size_bytes: if *dynamic { 4 * 1024 * 1024 } else { max },
                    maximum_size_bytes: max,
                    vhd_type: if *dynamic {
                        VhdType::DynamicallyExpanding
                    } else {
                        VhdType::Fixed
                    },
                    format: VirtualHardDisk::format_of(&name),
                    operating_system: String::new(),
                    parent: None,
                    family_name: String::new(),
                    release: String::new(),
                }
            }
        };
        let id = self.new_id();
        vm.disks.push(DiskDrive {
            id,
            bus_type: add.bus_type,
            bus: add.bus,
            lun: add.lun,
            volume_type: add.volume_type,
            vhd,
            iops_maximum: 0,
        });
        Ok(id)
    }

    /// Applies staged items to `vm`, in staging order.
    pub(crate) fn apply_staged(&mut self, vm: &mut Vm, items: &[StagedItem]) -> VmmResult<()> {
        for item in items {
            match item {
                StagedItem::Adapter(spec) => {
                    self.add_adapter(vm, spec)?;
                }
                StagedItem::AdapterOverride { slot_id, change } => {
                    let id = vm
                        .adapters
                        .iter()
                        .find(|a| a.slot_id == *slot_id)
                        .map(|a| a.id)
                        .ok_or_else(|| {
                            VmmError::invalid_parameter(
                                "Set-SCVirtualNetworkAdapter",
                                &format!("There is no network adapter in slot {slot_id}."),
                            )
                        })?;
                    self.change_adapter(vm, id, change)?;
                }
                StagedItem::Dvd(add) => {
                    self.add_dvd(vm, add)?;
                }
                StagedItem::DvdMedia { bus, lun, media } => {
                    let id = vm
                        .dvd_drives
                        .iter()
                        .find(|d| d.bus == *bus && d.lun == *lun)
                        .map(|d| d.id)
                        .ok_or_else(|| {
                            VmmError::not_found("VirtualDVDDrive", &format!("{bus}:{lun}"))
                        })?;
                    self.set_dvd_media(vm, id, media)?;
                }
                StagedItem::Disk(add) => {
                    self.add_disk(vm, add)?;
                }
                StagedItem::FibreChannel(add) => {
                    self.add_fibre_channel(vm, add)?;
                }
                StagedItem::CustomProperty { name, value } => {
                    vm.custom_properties.insert(name.clone(), value.clone());
                }
            }
        }
        Ok(())
    }

    /// Adds a virtual Fibre Channel adapter to `vm`, connected to a SAN on
    /// the VM's host: the one named like the given SAN, else one of the
    /// given classification. A host without such a SAN cannot run the VM,
    /// which VMM reports as a placement failure.
    pub(crate) fn add_fibre_channel(
        &mut self,
        vm: &mut Vm,
        add: &FibreChannelAdd,
    ) -> VmmResult<Uuid> {
        let host = vm
            .host
            .and_then(|h| self.inventory.host(h))
            .map(|h| h.name.clone())
            .unwrap_or_default();
        let sans = &self.inventory.fibre_channel_sans;
        let wanted_name = add
            .virtual_san
            .and_then(|id| sans.iter().find(|s| s.id == id))
            .map(|s| s.name.clone());
        let wanted_class = add.classification.and_then(|id| {
            self.inventory
                .storage_fabric_classifications
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.name.clone())
        });
        let on_host = sans.iter().filter(|s| same_name(&s.host, &host));
        let san = match (&wanted_name, &wanted_class) {
            (Some(name), _) => on_host
                .clone()
                .find(|s| same_name(&s.name, name))
                .map(|s| s.id)
                .ok_or_else(|| {
                    format!("host {host} has no virtual Fibre Channel SAN named {name}")
                }),
            (None, Some(class)) => on_host
                .clone()
                .find(|s| {
                    s.classification
                        .as_deref()
                        .is_some_and(|c| same_name(c, class))
                })
                .map(|s| s.id)
                .ok_or_else(|| {
                    format!("host {host} has no virtual Fibre Channel SAN classified {class}")
                }),
            (None, None) => Err(format!(
                "a virtual Fibre Channel adapter for {} names neither a SAN nor a classification",
                vm.name
            )),
        }
        .map_err(|why| VmmError::no_suitable_host(&vm.name, &why))?;
        if let (Some(class), Some(s)) = (&wanted_class, sans.iter().find(|s| s.id == san))
            && !s
                .classification
                .as_deref()
                .is_some_and(|c| same_name(c, class))
        {
            return Err(VmmError::no_suitable_host(
                &vm.name,
                &format!(
                    "virtual Fibre Channel SAN {} on host {host} is not classified {class}",
                    s.name
                ),
            ));
        }
        let id = self.new_id();
        let n = vm.fibre_channel_adapters.len() as u64;
        let wwpn = format!(
            "C0:03:FF:{:02X}:{:02X}:{:02X}:00:{:02X}",
            id.as_bytes()[0],
            id.as_bytes()[1],
            id.as_bytes()[2],
            n * 2
        );
        vm.fibre_channel_adapters.push(FibreChannelAdapter {
            id,
            virtual_san: Some(san),
            classification: add.classification,
            wwpn,
        });
        Ok(id)
    }

    /// Resolves a storage fabric classification (by object or name).
    pub fn resolve_fabric_classification(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        super::pick(
            r,
            ObjectKind::StorageFabricClassification,
            cmdlet,
            self.inventory
                .storage_fabric_classifications
                .iter()
                .map(|c| (c.id, vec![c.name.clone()])),
        )
    }

    /// Resolves a host's virtual Fibre Channel SAN (by object, or by a
    /// name, which is ambiguous as soon as two hosts share the fabric).
    pub fn resolve_fibre_channel_san(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        super::pick(
            r,
            ObjectKind::FibreChannelSan,
            cmdlet,
            self.inventory
                .fibre_channel_sans
                .iter()
                .map(|s| (s.id, vec![s.name.clone()])),
        )
    }

    /// Get-SCStorageFabricClassification `[-Name]`.
    pub fn get_fabric_classifications(
        &mut self,
        name: Option<&str>,
    ) -> Vec<StorageFabricClassification> {
        self.settle();
        self.inventory
            .storage_fabric_classifications
            .iter()
            .filter(|c| name.is_none_or(|n| like(&c.name, n)))
            .cloned()
            .collect()
    }

    /// Get-SCVMHostFibreChannelVirtualSAN `[-VMHost] [-Name]`.
    pub fn get_fibre_channel_sans(
        &mut self,
        host: Option<&Ref>,
        name: Option<&str>,
    ) -> VmmResult<Vec<FibreChannelSan>> {
        const CMDLET: &str = "Get-SCVMHostFibreChannelVirtualSAN";
        self.settle();
        let host = match host {
            Some(r) => {
                let id = self.resolve_host(r, CMDLET)?;
                self.inventory.host(id).map(|h| h.name.clone())
            }
            None => None,
        };
        Ok(self
            .inventory
            .fibre_channel_sans
            .iter()
            .filter(|s| host.as_deref().is_none_or(|h| same_name(&s.host, h)))
            .filter(|s| name.is_none_or(|n| like(&s.name, n)))
            .cloned()
            .collect())
    }

    /// New-SCVirtualFibreChannelAdapter: staged with `-JobGroup` (VMM puts
    /// it on the VM that the final command creates), or added to a
    /// powered-off VM now (Hyper-V adds HBAs to stopped VMs only).
    pub fn new_fibre_channel_adapter(
        &mut self,
        req: &NewFibreChannelAdapter,
    ) -> VmmResult<Option<Submitted<Vm>>> {
        const CMDLET: &str = "New-SCVirtualFibreChannelAdapter";
        self.settle();
        let add = FibreChannelAdd {
            virtual_san: req
                .virtual_san
                .as_ref()
                .map(|r| self.resolve_fibre_channel_san(r, CMDLET))
                .transpose()?,
            classification: req
                .classification
                .as_ref()
                .map(|r| self.resolve_fabric_classification(r, CMDLET))
                .transpose()?,
        };
        match &req.target {
            DeviceTarget::JobGroup(g) => {
                self.stage(*g, StagedItem::FibreChannel(add));
                Ok(None)
            }
            DeviceTarget::HardwareProfile(_) => Err(VmmError::invalid_parameter(
                CMDLET,
                "Fibre Channel adapters on hardware profiles are not supported by this emulator; use -JobGroup.",
            )),
            DeviceTarget::Vm(r) => {
                let vm = self.resolve_vm(r, CMDLET)?;
                let (snapshot, job) =
                    self.update_vm(vm, CMDLET, CMDLET, true, Op::UpdateVm, |m, v| {
                        m.add_fibre_channel(v, &add).map(|_| ())
                    })?;
                Ok(Some(Submitted {
                    object: snapshot,
                    job: Some(job),
                }))
            }
        }
    }

    /// Whether a VM's status allows a change job at all.
    pub(crate) fn check_changeable(vm: &Vm) -> VmmResult<()> {
        let ok = matches!(
            vm.status,
            VmState::PowerOff
                | VmState::Running
                | VmState::Saved
                | VmState::Paused
                | VmState::Stored
                | VmState::IncompleteVMConfig
        );
        if ok {
            Ok(())
        } else {
            Err(VmmError::invalid_state(vm.status.name()))
        }
    }

    /// Runs a change on an existing VM: checks lock, state and power, applies
    /// `mutate` to a copy (all or nothing), and starts the update job.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update_vm(
        &mut self,
        vm: Uuid,
        cmdlet: &'static str,
        name_key: &'static str,
        needs_poweroff: bool,
        op: Op,
        mutate: impl FnOnce(&mut Vmm, &mut Vm) -> VmmResult<()>,
    ) -> VmmResult<(Vm, Job)> {
        let current = self
            .state
            .vm(vm)
            .cloned()
            .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
        self.ensure_unlocked(&[vm])?;
        Self::check_changeable(&current)?;
        if needs_poweroff && !matches!(current.status, VmState::PowerOff | VmState::Stored) {
            return Err(VmmError::hardware_change_needs_poweroff());
        }
        let injected = self.inject(cmdlet, &current.name, current.host)?;
        let checkpoint = self.checkpoint();
        let mut changed = current.clone();
        if let Err(e) = mutate(self, &mut changed) {
            self.restore(checkpoint);
            return Err(e);
        }
        let restore = current.status;
        // A live VM keeps showing its power state during a live change;
        // otherwise the change shows as UnderUpdate.
        if matches!(current.status, VmState::PowerOff | VmState::Stored) || needs_poweroff {
            changed.status = VmState::UnderUpdate;
        }
        changed.modified_time = self.now();
        if let Some(slot) = self.state.vm_mut(vm) {
            *slot = changed;
        }
        let duration = self.job_duration(op, &injected);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet,
            name_key,
            target: Some(ObjectRef::new(ObjectKind::VirtualMachine, vm)),
            result_name: current.name.clone(),
            locks: vec![vm],
            effect: JobEffect::UpdateVm { vm, restore },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.settle();
        let snapshot = self.state.vm(vm).cloned().unwrap_or(current);
        let job = self.state.job(job.id).cloned().unwrap_or(job);
        Ok((snapshot, job))
    }

    fn adapter_spec(&self, req: &NewNetworkAdapter, cmdlet: &str) -> VmmResult<AdapterSpec> {
        let vm_network = req
            .vm_network
            .as_ref()
            .map(|n| self.resolve_vm_network(n, cmdlet))
            .transpose()?;
        let vm_subnet = req
            .vm_subnet
            .as_ref()
            .map(|s| self.resolve_vm_subnet(s, cmdlet))
            .transpose()?;
        let mac_address_type = req
            .mac_address_type
            .unwrap_or(if req.mac_address.is_some() {
                MacAddressType::Static
            } else {
                MacAddressType::Dynamic
            });
        Ok(AdapterSpec {
            vm_network,
            vm_subnet,
            mac_address_type,
            mac_address: req.mac_address.clone(),
            ipv4_address_type: req.ipv4_address_type.unwrap_or(AddressType::Dynamic),
            ipv4_pools: Vec::new(),
            synthetic: !req.emulated,
            vlan_enabled: req.vlan_enabled.unwrap_or(false),
            vlan_id: req.vlan_id.unwrap_or(0),
        })
    }

    /// New-SCVirtualNetworkAdapter. `-VM`: a job adding the adapter (640 on
    /// a running VM). `-JobGroup`: staged, returns `None`.
    /// `-HardwareProfile`: added to the profile, returns `None`.
    pub fn new_network_adapter(
        &mut self,
        req: &NewNetworkAdapter,
    ) -> VmmResult<Option<Submitted<Device<NetworkAdapter>>>> {
        const CMDLET: &str = "New-SCVirtualNetworkAdapter";
        self.settle();
        let spec = self.adapter_spec(req, CMDLET)?;
        match &req.target {
            None => Err(VmmError::invalid_parameter(
                CMDLET,
                "Specify -VM, -JobGroup or -HardwareProfile.",
            )),
            Some(DeviceTarget::JobGroup(g)) => {
                self.stage(*g, StagedItem::Adapter(spec));
                Ok(None)
            }
            Some(DeviceTarget::HardwareProfile(p)) => {
                let p = self.resolve_hardware_profile(p, CMDLET)?;
                let nic = self.nic_spec_from(&spec);
                if let Some(profile) = self
                    .inventory
                    .hardware_profiles
                    .iter_mut()
                    .find(|x| x.id == p)
                {
                    profile.nics.push(nic);
                }
                Ok(None)
            }
            Some(DeviceTarget::Vm(r)) => {
                let vm = self.resolve_vm(r, CMDLET)?;
                let mut added = None;
                let (snapshot, job) =
                    self.update_vm(vm, CMDLET, CMDLET, true, Op::UpdateVm, |m, v| {
                        added = Some(m.add_adapter(v, &spec)?);
                        Ok(())
                    })?;
                let device = added
                    .and_then(|id| snapshot.adapters.iter().find(|a| a.id == id).cloned())
                    .ok_or_else(|| VmmError::not_found("VirtualNetworkAdapter", &snapshot.name))?;
                Ok(Some(Submitted {
                    object: Device { vm, device },
                    job: Some(job),
                }))
            }
        }
    }

    /// Names for a resolved spec, for hardware profiles (which refer to
    /// networks by name).
    fn nic_spec_from(&self, spec: &AdapterSpec) -> NicSpec {
        NicSpec {
            vm_network: spec
                .vm_network
                .and_then(|n| self.inventory.vm_network(n))
                .map(|n| n.name.clone()),
            vm_subnet: spec
                .vm_subnet
                .and_then(|s| self.inventory.vm_subnet(s))
                .map(|s| s.name.clone()),
            mac_address_type: spec.mac_address_type,
            ipv4_address_type: spec.ipv4_address_type,
            synthetic: spec.synthetic,
            vlan_enabled: spec.vlan_enabled,
            vlan_id: spec.vlan_id,
        }
    }

    fn adapter_change(&self, req: &SetNetworkAdapter, cmdlet: &str) -> VmmResult<AdapterChange> {
        let ipv4_pools = req
            .ipv4_address_pools
            .as_ref()
            .map(|ps| {
                ps.iter()
                    .map(|p| self.resolve_ip_pool(p, cmdlet))
                    .collect::<VmmResult<Vec<_>>>()
            })
            .transpose()?;
        let ipv4_addresses = req
            .ipv4_addresses
            .as_ref()
            .map(|xs| {
                xs.iter()
                    .map(|x| {
                        x.trim().parse::<Ipv4Addr>().map_err(|_| {
                            VmmError::invalid_parameter(
                                cmdlet,
                                &format!("'{x}' is not a valid IPv4 address."),
                            )
                        })
                    })
                    .collect::<VmmResult<Vec<_>>>()
            })
            .transpose()?;
        Ok(AdapterChange {
            vm_network: req
                .vm_network
                .as_ref()
                .map(|n| self.resolve_vm_network(n, cmdlet))
                .transpose()?,
            vm_subnet: req
                .vm_subnet
                .as_ref()
                .map(|s| self.resolve_vm_subnet(s, cmdlet))
                .transpose()?,
            disconnect: req.no_connection,
            ipv4_address_type: req.ipv4_address_type.or_else(|| {
                (ipv4_pools.is_some() || ipv4_addresses.is_some()).then_some(AddressType::Static)
            }),
            ipv4_pools,
            ipv4_addresses,
            mac_address_type: req.mac_address_type,
            mac_address: req.mac_address.clone(),
            vlan_enabled: req.vlan_enabled,
            vlan_id: req.vlan_id,
        })
    }

    /// Set-SCVirtualNetworkAdapter. Static addresses are granted from the
    /// pools at once (so `IPv4Addresses` shows them right after). MAC
    /// changes need PowerOff (640); network and address changes do not.
    /// With `-SlotID -JobGroup` the change is staged and `None` returned.
    pub fn set_network_adapter(
        &mut self,
        req: &SetNetworkAdapter,
    ) -> VmmResult<Option<Submitted<Device<NetworkAdapter>>>> {
        const CMDLET: &str = "Set-SCVirtualNetworkAdapter";
        self.settle();
        let change = self.adapter_change(req, CMDLET)?;
        match req.target {
            AdapterTarget::Slot { slot_id, job_group } => {
                self.stage(job_group, StagedItem::AdapterOverride { slot_id, change });
                Ok(None)
            }
            AdapterTarget::Adapter(adapter) => {
                let (vm, _) = self.find_adapter(adapter)?;
                let (snapshot, job) = self.update_vm(
                    vm,
                    CMDLET,
                    CMDLET,
                    change.needs_power_off(),
                    Op::UpdateVm,
                    |m, v| m.change_adapter(v, adapter, &change),
                )?;
                let device = snapshot
                    .adapters
                    .iter()
                    .find(|a| a.id == adapter)
                    .cloned()
                    .ok_or_else(|| {
                        VmmError::not_found("VirtualNetworkAdapter", &adapter.to_string())
                    })?;
                Ok(Some(Submitted {
                    object: Device { vm, device },
                    job: Some(job),
                }))
            }
        }
    }

    /// New-SCVirtualDVDDrive.
    pub fn new_dvd_drive(
        &mut self,
        req: &NewDvdDrive,
    ) -> VmmResult<Option<Submitted<Device<DvdDrive>>>> {
        const CMDLET: &str = "New-SCVirtualDVDDrive";
        self.settle();
        let iso = req
            .iso
            .as_ref()
            .map(|i| self.resolve_iso(i, CMDLET))
            .transpose()?;
        match &req.target {
            DeviceTarget::JobGroup(g) => {
                let add = DvdAdd {
                    bus_type: req.bus_type.unwrap_or(BusType::SCSI),
                    bus: req.bus,
                    lun: req.lun,
                    iso,
                    link: req.link,
                };
                self.stage(*g, StagedItem::Dvd(add));
                Ok(None)
            }
            DeviceTarget::HardwareProfile(p) => {
                let p = self.resolve_hardware_profile(p, CMDLET)?;
                if let Some(profile) = self
                    .inventory
                    .hardware_profiles
                    .iter_mut()
                    .find(|x| x.id == p)
                {
                    let bus_type = req.bus_type.unwrap_or(if profile.generation >= 2 {
                        BusType::SCSI
                    } else {
                        BusType::IDE
                    });
                    profile.dvd_drives.push(DvdSpec {
                        bus_type,
                        bus: req.bus,
                        lun: req.lun,
                    });
                }
                Ok(None)
            }
            DeviceTarget::Vm(r) => {
                let vm = self.resolve_vm(r, CMDLET)?;
                let generation = self.state.vm(vm).map_or(2, |v| v.generation);
                let add = DvdAdd {
                    bus_type: req.bus_type.unwrap_or(if generation >= 2 {
                        BusType::SCSI
                    } else {
                        BusType::IDE
                    }),
                    bus: req.bus,
                    lun: req.lun,
                    iso,
                    link: req.link,
                };
                let mut added = None;
                let (snapshot, job) =
                    self.update_vm(vm, CMDLET, CMDLET, true, Op::UpdateVm, |m, v| {
                        added = Some(m.add_dvd(v, &add)?);
                        Ok(())
                    })?;
                let device = added
                    .and_then(|id| snapshot.dvd_drives.iter().find(|d| d.id == id).cloned())
                    .ok_or_else(|| VmmError::not_found("VirtualDVDDrive", &snapshot.name))?;
                Ok(Some(Submitted {
                    object: Device { vm, device },
                    job: Some(job),
                }))
            }
        }
    }

    /// Set-SCVirtualDVDDrive: `-ISO` copies the ISO to the VM's folder on
    /// the host (a new host ISO object), `-ISO -Link` uses the library file
    /// in place (12700 when hosts cannot read the library), `-NoMedia`
    /// ejects and deletes the host copy. Media changes work on running VMs.
    pub fn set_dvd_drive(
        &mut self,
        req: &SetDvdDrive,
    ) -> VmmResult<Option<Submitted<Device<DvdDrive>>>> {
        const CMDLET: &str = "Set-SCVirtualDVDDrive";
        self.settle();
        let media = match &req.media {
            DvdMediaRequest::NoMedia => DvdMedia::NoMedia,
            DvdMediaRequest::Iso { iso, link } => DvdMedia::Iso {
                iso: self.resolve_iso(iso, CMDLET)?,
                link: *link,
            },
        };
        match req.target {
            DvdTarget::Staged {
                job_group,
                bus,
                lun,
            } => {
                self.stage(job_group, StagedItem::DvdMedia { bus, lun, media });
                Ok(None)
            }
            DvdTarget::Drive(drive) => {
                let vm = self
                    .state
                    .vms
                    .iter()
                    .find(|v| v.dvd_drives.iter().any(|d| d.id == drive))
                    .map(|v| v.id)
                    .ok_or_else(|| VmmError::not_found("VirtualDVDDrive", &drive.to_string()))?;
                let (snapshot, job) =
                    self.update_vm(vm, CMDLET, CMDLET, false, Op::SetDvd, |m, v| {
                        m.set_dvd_media(v, drive, &media)
                    })?;
                let device = snapshot
                    .dvd_drives
                    .iter()
                    .find(|d| d.id == drive)
                    .cloned()
                    .ok_or_else(|| VmmError::not_found("VirtualDVDDrive", &drive.to_string()))?;
                Ok(Some(Submitted {
                    object: Device { vm, device },
                    job: Some(job),
                }))
            }
        }
    }

    /// New-SCVirtualDiskDrive.
    pub fn new_disk_drive(
        &mut self,
        req: &NewDiskDrive,
    ) -> VmmResult<Option<Submitted<Device<DiskDrive>>>> {
        const CMDLET: &str = "New-SCVirtualDiskDrive";
        self.settle();
        let source = match &req.source {
            DiskSourceRequest::Vhd(r) => DiskSource::Vhd(self.resolve_vhd(r, CMDLET)?),
            DiskSourceRequest::VhdAs { vhd, file_name } => {
                if file_name.trim().is_empty() {
                    return Err(VmmError::invalid_parameter(
                        CMDLET,
                        "Cannot validate argument on parameter 'FileName'. The argument is null or empty.",
                    ));
                }
                DiskSource::VhdAs {
                    vhd: self.resolve_vhd(vhd, CMDLET)?,
                    file_name: file_name.clone(),
                }
            }
            DiskSourceRequest::Blank {
                size_mb,
                dynamic,
                file_name,
            } => DiskSource::Blank {
                size_mb: *size_mb,
                dynamic: *dynamic,
                file_name: file_name.clone(),
            },
        };
        let add = DiskAdd {
            bus_type: req.bus_type,
            bus: req.bus,
            lun: req.lun,
            volume_type: req.volume_type,
            source,
        };
        match &req.target {
            DeviceTarget::JobGroup(g) => {
                self.stage(*g, StagedItem::Disk(add));
                Ok(None)
            }
            DeviceTarget::HardwareProfile(_) => Err(VmmError::invalid_parameter(
                CMDLET,
                "Hardware profiles do not hold virtual disk drives.",
            )),
            DeviceTarget::Vm(r) => {
                let vm = self.resolve_vm(r, CMDLET)?;
                // Hot-adding SCSI disks works on Hyper-V; IDE needs PowerOff.
                let needs_poweroff = req.bus_type == BusType::IDE;
                let mut added = None;
                let (snapshot, job) =
                    self.update_vm(vm, CMDLET, CMDLET, needs_poweroff, Op::UpdateVm, |m, v| {
                        added = Some(m.add_disk(v, &add)?);
                        Ok(())
                    })?;
                let device = added
                    .and_then(|id| snapshot.disks.iter().find(|d| d.id == id).cloned())
                    .ok_or_else(|| VmmError::not_found("VirtualDiskDrive", &snapshot.name))?;
                Ok(Some(Submitted {
                    object: Device { vm, device },
                    job: Some(job),
                }))
            }
        }
    }

    /// Expand-SCVirtualDiskDrive: grows the drive's VHD to `size_gb`.
    /// Shrinking is refused (9108), as are differencing disks (9109); on a
    /// running VM only SCSI VHDX disks grow (`Behaviour::online_expand`),
    /// else 640. The same size is a no-op without a job.
    pub fn expand_disk(&mut self, req: &ExpandDisk) -> VmmResult<Submitted<VirtualHardDisk>> {
        const CMDLET: &str = "Expand-SCVirtualDiskDrive";
        self.settle();
        if req.size_gb <= 0 || req.size_gb > i64::from(i32::MAX) {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "Cannot validate argument on parameter 'VirtualHardDiskSizeGB'.",
            ));
        }
        let (vm, drive) = self
            .state
            .vms
            .iter()
            .find_map(|v| {
                v.disks
                    .iter()
                    .find(|d| d.id == req.drive)
                    .map(|d| (v.clone(), d.clone()))
            })
            .ok_or_else(|| VmmError::not_found("VirtualDiskDrive", &req.drive.to_string()))?;
        let new_size = u64::try_from(req.size_gb).unwrap_or(0) * GIB;
        if drive.vhd.parent.is_some() || drive.vhd.vhd_type == VhdType::Differencing {
            return Err(VmmError::differencing_disk(&drive.vhd.name));
        }
        if new_size < drive.vhd.maximum_size_bytes {
            return Err(VmmError::disk_shrink(
                drive.vhd.maximum_size_bytes.div_ceil(GIB),
                new_size / GIB,
            ));
        }
        if new_size == drive.vhd.maximum_size_bytes {
            return Ok(Submitted {
                object: drive.vhd,
                job: None,
            });
        }
        let online_ok = self.behaviour.online_expand == OnlineExpand::AllowScsiVhdx
            && drive.bus_type == BusType::SCSI
            && drive.vhd.format == super::super::enums::VhdFormat::VHDX;
        let (snapshot, job) =
            self.update_vm(vm.id, CMDLET, CMDLET, !online_ok, Op::ExpandDisk, |_, v| {
                if let Some(d) = v.disks.iter_mut().find(|d| d.id == req.drive) {
                    d.vhd.maximum_size_bytes = new_size;
                    if d.vhd.vhd_type == VhdType::Fixed {
                        d.vhd.size_bytes = new_size;
                    }
                }
                Ok(())
            })?;
        let vhd = snapshot
            .disks
            .iter()
            .find(|d| d.id == req.drive)
            .map(|d| d.vhd.clone())
            .unwrap_or(drive.vhd);
        Ok(Submitted {
            object: vhd,
            job: Some(job),
        })
    }

    /// Set-SCVirtualDiskDrive `-IOPSMaximum`: Hyper-V applies a storage
    /// QoS limit to a live disk, so this works on a running VM too.
    pub fn set_disk_drive(
        &mut self,
        req: &SetDiskDrive,
    ) -> VmmResult<Submitted<Device<DiskDrive>>> {
        const CMDLET: &str = "Set-SCVirtualDiskDrive";
        self.settle();
        let vm = self
            .state
            .vms
            .iter()
            .find(|v| v.disks.iter().any(|d| d.id == req.drive))
            .map(|v| v.id)
            .ok_or_else(|| VmmError::not_found("VirtualDiskDrive", &req.drive.to_string()))?;
        let (snapshot, job) = self.update_vm(vm, CMDLET, CMDLET, false, Op::UpdateVm, |_, v| {
            if let Some(d) = v.disks.iter_mut().find(|d| d.id == req.drive)
                && let Some(iops) = req.iops_maximum
            {
                d.iops_maximum = iops;
            }
            Ok(())
        })?;
        let device = snapshot
            .disks
            .iter()
            .find(|d| d.id == req.drive)
            .cloned()
            .ok_or_else(|| VmmError::not_found("VirtualDiskDrive", &req.drive.to_string()))?;
        Ok(Submitted {
            object: Device { vm, device },
            job: Some(job),
        })
    }

    /// New-SCHardwareProfile. With `-JobGroup` the staged adapters and DVD
    /// drives go into the profile; other staged items (disks, custom
    /// properties) stay staged for the next final command.
    pub fn new_hardware_profile(&mut self, req: &NewHardwareProfile) -> VmmResult<HardwareProfile> {
        const CMDLET: &str = "New-SCHardwareProfile";
        self.settle();
        if req.name.trim().is_empty() {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "The argument for 'Name' is empty.",
            ));
        }
        self.inject(CMDLET, &req.name, None)?;
        let generation = req.generation.unwrap_or(1);
        let mut profile = HardwareProfile {
            id: self.new_id(),
            name: req.name.clone(),
            description: req.description.clone(),
            generation,
            cpu_count: req.cpu_count.unwrap_or(1),
            memory_mb: req.memory_mb.unwrap_or(1024),
            dynamic_memory: req.dynamic_memory.clone().unwrap_or_default(),
            highly_available: req.highly_available,
            secure_boot: req.secure_boot,
            nics: Vec::new(),
            dvd_drives: Vec::new(),
            owner: self.default_owner(),
        };
        if let Some(g) = req.job_group {
            let items = self.state.staged.remove(&g).unwrap_or_default();
            let mut rest = Vec::new();
            for item in items {
                match item {
                    StagedItem::Adapter(spec) => {
                        let nic = self.nic_spec_from(&spec);
                        profile.nics.push(nic);
                    }
                    StagedItem::Dvd(add) => profile.dvd_drives.push(DvdSpec {
                        bus_type: add.bus_type,
                        bus: add.bus,
                        lun: add.lun,
                    }),
                    other => rest.push(other),
                }
            }
            if !rest.is_empty() {
                self.state.staged.insert(g, rest);
            }
        }
        self.inventory.hardware_profiles.push(profile.clone());
        Ok(profile)
    }

    /// What is staged under a job group (for inspection).
    pub fn staged(&self, job_group: Uuid) -> &[StagedItem] {
        self.state.staged.get(&job_group).map_or(&[], Vec::as_slice)
    }
}
