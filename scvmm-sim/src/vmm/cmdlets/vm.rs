//! Virtual machines: New-, Set-, Start-, Stop-, Suspend-, Resume-, Remove-,
//! Read- and Repair-SCVirtualMachine, and the guest reporting API.
//!
//! Status model (reference §3.3): New → UnderCreation → PowerOff (or
//! Running with -StartVM) | CreationFailed; PowerOff → Starting → Running;
//! Running → PoweringOff → PowerOff; Running → Saving → Saved; Saved →
//! Restoring → Running; Saved → DiscardSavedState → PowerOff; Running →
//! Pausing → Paused → Running; changes → UnderUpdate → back | UpdateFailed;
//! Remove → Deleting → gone; Repair -Dismiss clears failed states.

use std::net::Ipv4Addr;

use uuid::Uuid;

use super::super::Vmm;
use super::super::config::{Op, RemoveRunning, StopDefault};
use super::super::enums::{BusType, VmState, VmmEnum, VolumeType};
use super::super::errors::{VmmError, VmmResult};
use super::super::jobs::JobSpec;
use super::super::objects::library::join_path;
use super::super::objects::{DynamicMemory, Job, JobEffect, Vm};
use super::super::placement::{Demand, PlacementTarget};
use super::super::specs::{AdapterSpec, DiskAdd, DiskSource, DvdAdd, StagedItem, VmPropertyChange};
use super::super::value::{ObjectKind, ObjectRef};
use super::{Ref, Submitted};

/// Where New-SCVirtualMachine takes the VM from (its parameter sets).
#[derive(Clone, Debug, PartialEq)]
pub enum VmSource {
    /// `NewVmFromTemplate`: `-VMTemplate -VMHost -Path`.
    Template {
        /// `-VMTemplate`.
        template: Ref,
        /// `-VMHost`.
        host: Ref,
        /// `-Path` (default: the host's first VM path).
        path: Option<String>,
    },
    /// `NewVmFromVmConfig`: `-VMConfiguration [-Cloud]`.
    Configuration {
        /// `-VMConfiguration`.
        configuration: Ref,
        /// `-Cloud`.
        cloud: Option<Ref>,
    },
    /// `NewVmFromVirtualDisk`: `-VirtualHardDisk -VMHost -Path [-Generation]`.
    VirtualHardDisk {
        /// `-VirtualHardDisk`.
        vhd: Ref,
        /// `-VMHost`.
        host: Ref,
        /// `-Path`.
        path: Option<String>,
        /// `-Generation` (default 1).
        generation: Option<u8>,
    },
    /// `NewVmFromHWProfile`: `-VMHost -Path [-HardwareProfile] [-Generation]`
    /// (a blank VM plus JobGroup devices).
    HardwareProfile {
        /// `-HardwareProfile`.
        hardware_profile: Option<Ref>,
        /// `-VMHost`.
        host: Ref,
        /// `-Path`.
        path: Option<String>,
        /// `-Generation` (default: the profile's, else 1).
        generation: Option<u8>,
    },
}

/// New-SCVirtualMachine.
#[derive(Clone, Debug, PartialEq)]
pub struct NewVm {
    /// `-Name` (not unique).
    pub name: String,
    /// The parameter set.
    pub source: VmSource,
    /// `-Description`.
    pub description: Option<String>,
    /// `-Owner`.
    pub owner: Option<String>,
    /// `-CPUCount`.
    pub cpu_count: Option<u32>,
    /// `-MemoryMB`.
    pub memory_mb: Option<u64>,
    /// `-DynamicMemoryEnabled`.
    pub dynamic_memory_enabled: Option<bool>,
    /// `-DynamicMemoryMinimumMB`.
    pub dynamic_memory_minimum_mb: Option<u64>,
    /// `-DynamicMemoryMaximumMB`.
    pub dynamic_memory_maximum_mb: Option<u64>,
    /// `-DynamicMemoryBufferPercentage`.
    pub dynamic_memory_buffer_percentage: Option<u32>,
    /// `-OperatingSystem`.
    pub operating_system: Option<String>,
    /// `-ComputerName` (guest name for customization).
    pub computer_name: Option<String>,
    /// `-StartVM`.
    pub start_vm: bool,
    /// `-StartAction`.
    pub start_action: Option<String>,
    /// `-StopAction`.
    pub stop_action: Option<String>,
    /// `-HighlyAvailable`.
    pub highly_available: Option<bool>,
    /// `-CPULimitForMigration`.
    pub cpu_limit_for_migration: Option<bool>,
    /// `-CPULimitFunctionality`.
    pub cpu_limit_functionality: Option<bool>,
    /// `-EnableNestedVirtualization`.
    pub enable_nested_virtualization: Option<bool>,
    /// `-JobGroup`: consume what is staged under this GUID.
    pub job_group: Option<Uuid>,
}

impl NewVm {
    /// A request with only a name and a source.
    pub fn new(name: &str, source: VmSource) -> Self {
        Self {
            name: name.to_string(),
            source,
            description: None,
            owner: None,
            cpu_count: None,
            memory_mb: None,
            dynamic_memory_enabled: None,
            dynamic_memory_minimum_mb: None,
            dynamic_memory_maximum_mb: None,
            dynamic_memory_buffer_percentage: None,
            operating_system: None,
            computer_name: None,
            start_vm: false,
            start_action: None,
            stop_action: None,
            highly_available: None,
            cpu_limit_for_migration: None,
            cpu_limit_functionality: None,
            enable_nested_virtualization: None,
            job_group: None,
        }
    }
}

/// Set-SCVirtualMachine.
#[derive(Clone, Debug, PartialEq)]
pub struct SetVm {
    /// `[-VM]`.
    pub vm: Ref,
    /// Property changes.
    pub change: VmPropertyChange,
    /// `-JobGroup`: apply devices staged under this GUID.
    pub job_group: Option<Uuid>,
}

/// How Stop-SCVirtualMachine stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMode {
    /// No switch: `Behaviour::stop_default` decides.
    Default,
    /// `-Force`: power off.
    Force,
    /// `-Shutdown`: guest OS shutdown.
    Shutdown,
    /// `-SaveState`.
    SaveState,
    /// `-DiscardSavedState`.
    DiscardSavedState,
}

/// Stop-SCVirtualMachine.
#[derive(Clone, Debug, PartialEq)]
pub struct StopVm {
    /// `[-VM]`.
    pub vm: Ref,
    /// The switch.
    pub mode: StopMode,
}

/// Repair-SCVirtualMachine.
#[derive(Clone, Debug, PartialEq)]
pub struct RepairVm {
    /// `[-VM]`.
    pub vm: Ref,
    /// `-Dismiss` (the only action the emulator models).
    pub dismiss: bool,
    /// `-Force`.
    pub force: bool,
}

/// Everything a new VM is built from, once the source is resolved.
struct Blueprint {
    generation: u8,
    cpu_count: u32,
    memory_mb: u64,
    dynamic_memory: DynamicMemory,
    operating_system: String,
    disks: Vec<DiskAdd>,
    adapters: Vec<AdapterSpec>,
    dvds: Vec<DvdAdd>,
    target: PlacementTarget,
    cloud: Option<Uuid>,
    path: Option<String>,
    creation_source: String,
    source_object_type: String,
    availability_sets: Vec<String>,
    computer_name: Option<String>,
    description: String,
    tag: String,
    highly_available: bool,
}

impl Vmm {
    fn template_blueprint(&self, template: Uuid, target: PlacementTarget) -> VmmResult<Blueprint> {
        let t = self
            .inventory
            .template(template)
            .ok_or_else(|| VmmError::not_found("VMTemplate", &template.to_string()))?;
        let disks = t
            .disks
            .iter()
            .map(|d| {
                let source = match &d.vhd {
                    Some(name) => DiskSource::Vhd(
                        self.inventory
                            .vhd_by_name(name)
                            .map(|v| v.id)
                            .ok_or_else(|| VmmError::not_found("VirtualHardDisk", name))?,
                    ),
                    None => DiskSource::Blank {
                        size_mb: d.size_mb,
                        dynamic: d.dynamic,
                        file_name: None,
                    },
                };
                Ok(DiskAdd {
                    bus_type: d.bus_type,
                    bus: d.bus,
                    lun: d.lun,
                    volume_type: d.volume_type,
                    source,
                })
            })
            .collect::<VmmResult<Vec<_>>>()?;
        Ok(Blueprint {
            generation: t.generation,
            cpu_count: t.cpu_count,
            memory_mb: t.memory_mb,
            dynamic_memory: t.dynamic_memory.clone(),
            operating_system: t.operating_system.clone(),
            disks,
            adapters: t
                .nics
                .iter()
                .map(|n| self.adapter_spec_from_nic(n))
                .collect(),
            dvds: t
                .dvd_drives
                .iter()
                .map(|d| DvdAdd {
                    bus_type: d.bus_type,
                    bus: d.bus,
                    lun: d.lun,
                    iso: None,
                    link: false,
                })
                .collect(),
            target,
            cloud: None,
            path: None,
            creation_source: t.name.clone(),
            source_object_type: "VM Template".to_string(),
            availability_sets: Vec::new(),
            computer_name: None,
            description: String::new(),
            tag: t.tag.clone(),
            highly_available: false,
        })
    }

    fn blueprint(&self, source: &VmSource, cmdlet: &str) -> VmmResult<Blueprint> {
        match source {
            VmSource::Template {
                template,
                host,
                path,
            } => {
                let template = self.resolve_template(template, cmdlet)?;
                let host = self.resolve_host(host, cmdlet)?;
                let mut bp = self.template_blueprint(template, PlacementTarget::Host(host))?;
                bp.path = path.clone();
                Ok(bp)
            }
            VmSource::Configuration {
                configuration,
                cloud,
            } => {
                let cfg_id = self.resolve_configuration(configuration, cmdlet)?;
                let cfg = self
                    .state
                    .configurations
                    .iter()
                    .find(|c| c.id == cfg_id)
                    .cloned()
                    .ok_or_else(|| VmmError::not_found("VMConfiguration", &cfg_id.to_string()))?;
                let cloud = cloud
                    .as_ref()
                    .map(|c| self.resolve_cloud(c, cmdlet))
                    .transpose()?
                    .or(cfg.cloud);
                let root = self
                    .inventory
                    .host_groups
                    .iter()
                    .find(|g| g.is_root())
                    .map(|g| g.id)
                    .ok_or_else(|| VmmError::not_found("VMHostGroup", "All Hosts"))?;
                let target = match (cfg.host, cloud, cfg.host_group) {
                    (Some(h), _, _) => PlacementTarget::Host(h),
                    (None, Some(c), _) => PlacementTarget::Cloud(c),
                    (None, None, Some(g)) => PlacementTarget::HostGroup(g),
                    (None, None, None) => PlacementTarget::HostGroup(root),
                };
                let mut bp = self.template_blueprint(cfg.template, target)?;
                bp.cloud = cloud;
                bp.path = cfg.location.clone();
                bp.availability_sets = cfg.availability_set_names.clone();
                bp.computer_name = cfg.computer_name.clone();
                bp.description = cfg.description.clone();
                if !cfg.tag.is_empty() {
                    bp.tag = cfg.tag.clone();
                }
                Ok(bp)
            }
            VmSource::VirtualHardDisk {
                vhd,
                host,
                path,
                generation,
            } => {
                let vhd = self.resolve_vhd(vhd, cmdlet)?;
                let host = self.resolve_host(host, cmdlet)?;
                let generation = generation.unwrap_or(1);
                let v = self
                    .inventory
                    .vhd(vhd)
                    .ok_or_else(|| VmmError::not_found("VirtualHardDisk", &vhd.to_string()))?;
                Ok(Blueprint {
                    generation,
                    cpu_count: 1,
                    memory_mb: 1024,
                    dynamic_memory: DynamicMemory::default(),
                    operating_system: v.operating_system.clone(),
                    disks: vec![DiskAdd {
                        bus_type: if generation >= 2 {
                            BusType::SCSI
                        } else {
                            BusType::IDE
                        },
                        bus: 0,
                        lun: 0,
                        volume_type: VolumeType::BootAndSystem,
                        source: DiskSource::Vhd(vhd),
                    }],
                    adapters: Vec::new(),
                    dvds: Vec::new(),
                    target: PlacementTarget::Host(host),
                    cloud: None,
                    path: path.clone(),
                    creation_source: v.name.clone(),
                    source_object_type: "Virtual Hard Disk".to_string(),
                    availability_sets: Vec::new(),
                    computer_name: None,
                    description: String::new(),
                    tag: String::new(),
                    highly_available: false,
                })
            }
            VmSource::HardwareProfile {
                hardware_profile,
                host,
                path,
                generation,
            } => {
                let host = self.resolve_host(host, cmdlet)?;
                let profile = hardware_profile
                    .as_ref()
                    .map(|p| self.resolve_hardware_profile(p, cmdlet))
                    .transpose()?
                    .and_then(|p| self.inventory.hardware_profiles.iter().find(|x| x.id == p))
                    .cloned();
                let generation = generation
                    .or_else(|| profile.as_ref().map(|p| p.generation))
                    .unwrap_or(1);
                Ok(Blueprint {
                    generation,
                    cpu_count: profile.as_ref().map_or(1, |p| p.cpu_count),
                    memory_mb: profile.as_ref().map_or(1024, |p| p.memory_mb),
                    dynamic_memory: profile
                        .as_ref()
                        .map(|p| p.dynamic_memory.clone())
                        .unwrap_or_default(),
                    operating_system: String::new(),
                    disks: Vec::new(),
                    adapters: profile
                        .as_ref()
                        .map(|p| {
                            p.nics
                                .iter()
                                .map(|n| self.adapter_spec_from_nic(n))
                                .collect()
                        })
                        .unwrap_or_default(),
                    dvds: profile
                        .as_ref()
                        .map(|p| {
                            p.dvd_drives
                                .iter()
                                .map(|d| DvdAdd {
                                    bus_type: d.bus_type,
                                    bus: d.bus,
                                    lun: d.lun,
                                    iso: None,
                                    link: false,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    target: PlacementTarget::Host(host),
                    cloud: None,
                    path: path.clone(),
                    creation_source: profile
                        .as_ref()
                        .map_or_else(String::new, |p| p.name.clone()),
                    source_object_type: "Hardware Profile".to_string(),
                    availability_sets: Vec::new(),
                    computer_name: None,
                    description: String::new(),
                    tag: String::new(),
                    highly_available: profile.as_ref().is_some_and(|p| p.highly_available),
                })
            }
        }
    }

    /// New-SCVirtualMachine. Returns the VM in `UnderCreation` with its
    /// "Create virtual machine" job. Placement happens now; when no host
    /// fits (or the cloud is full) the VM is still created and its job fails
    /// at once, leaving it `CreationFailed` (as VMM's fast validation
    /// failures do). Names need not be unique.
    pub fn new_vm(&mut self, req: &NewVm) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "New-SCVirtualMachine";
        self.settle();
        if req.name.trim().is_empty() {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "Cannot validate argument on parameter 'Name'. The argument is null or empty.",
            ));
        }
        let mut bp = self.blueprint(&req.source, CMDLET)?;
        if let Some(c) = req.cpu_count {
            bp.cpu_count = c;
        }
        if let Some(m) = req.memory_mb {
            bp.memory_mb = m;
        }
        if let Some(e) = req.dynamic_memory_enabled {
            bp.dynamic_memory.enabled = e;
        }
        if let Some(m) = req.dynamic_memory_minimum_mb {
            bp.dynamic_memory.minimum_mb = m;
        }
        if let Some(m) = req.dynamic_memory_maximum_mb {
            bp.dynamic_memory.maximum_mb = m;
        }
        if let Some(b) = req.dynamic_memory_buffer_percentage {
            bp.dynamic_memory.buffer_percentage = b;
        }
        if let Some(os) = &req.operating_system {
            bp.operating_system = os.clone();
        }
        if let Some(d) = &req.description {
            bp.description = d.clone();
        }
        if let Some(n) = &req.computer_name {
            bp.computer_name = Some(n.clone());
        }
        if let Some(h) = req.highly_available {
            bp.highly_available = h;
        }
        if bp.cpu_count == 0 || bp.memory_mb == 0 {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "CPUCount and MemoryMB must be greater than zero.",
            ));
        }
        // Placement (fast validation). A failure becomes a failed job below.
        let demand = Demand {
            name: &req.name,
            cpu_count: bp.cpu_count,
            memory_mb: bp.memory_mb,
            availability_sets: &bp.availability_sets,
            exclude: None,
        };
        let placement = self.place(bp.target, &demand).and_then(|h| {
            if let Some(c) = bp.cloud {
                self.check_cloud_capacity(c, &demand)?;
            }
            Ok(h)
        });
        let host = placement.as_ref().ok().copied();
        let injected = self.inject(CMDLET, &req.name, host)?;
        let host_obj = host.and_then(|h| self.inventory.host(h)).cloned();
        let location = host_obj.as_ref().map_or_else(String::new, |h| {
            join_path(&[
                &bp.path.clone().unwrap_or_else(|| h.default_vm_path()),
                &req.name,
            ])
        });
        let now = self.now();
        let id = self.new_id();
        let mut vm = Vm {
            id,
            name: req.name.clone(),
            description: bp.description.clone(),
            owner: req.owner.clone().unwrap_or_else(|| self.default_owner()),
            tag: bp.tag.clone(),
            status: VmState::UnderCreation,
            power: VmState::PowerOff,
            vm_id: self.new_id(),
            bios_guid: self.new_id(),
            host,
            cloud: bp.cloud,
            location,
            cpu_count: bp.cpu_count,
            memory_mb: bp.memory_mb,
            dynamic_memory: bp.dynamic_memory.clone(),
            generation: bp.generation,
            operating_system: bp.operating_system.clone(),
            adapters: Vec::new(),
            disks: Vec::new(),
            dvd_drives: Vec::new(),
            fibre_channel_adapters: Vec::new(),
            cpu_limit_for_migration: req.cpu_limit_for_migration.unwrap_or(false),
            cpu_limit_functionality: req.cpu_limit_functionality.unwrap_or(false),
            nested_virtualization: req.enable_nested_virtualization.unwrap_or(false),
            custom_properties: Default::default(),
            availability_sets: bp.availability_sets.clone(),
            highly_available: bp.highly_available,
            start_action: req
                .start_action
                .clone()
                .unwrap_or_else(|| "NeverAutoTurnOnVM".to_string()),
            stop_action: req
                .stop_action
                .clone()
                .unwrap_or_else(|| "SaveVM".to_string()),
            requested_computer_name: bp.computer_name.clone(),
            computer_name: None,
            creation_time: now,
            modified_time: now,
            creation_source: bp.creation_source.clone(),
            source_object_type: bp.source_object_type.clone(),
            most_recent_task: None,
            failed_job: None,
            marked_for_deletion: false,
            has_booted: false,
            guest: Default::default(),
        };
        // Devices: the source's, then what the JobGroup staged. All or
        // nothing: a failure leaves no VM, no address, no ISO copy.
        let staged: Vec<StagedItem> = req
            .job_group
            .map(|g| self.state.staged.get(&g).cloned().unwrap_or_default())
            .unwrap_or_default();
        let checkpoint = self.checkpoint();
        let built = (|| -> VmmResult<()> {
            for d in &bp.disks {
                self.add_disk(&mut vm, d)?;
            }
            for a in &bp.adapters {
                self.add_adapter(&mut vm, a)?;
            }
            for d in &bp.dvds {
                self.add_dvd(&mut vm, d)?;
            }
            self.apply_staged(&mut vm, &staged)?;
            Ok(())
        })();
        if let Err(e) = built {
            self.restore(checkpoint);
            return Err(e);
        }
        if let Some(g) = req.job_group {
            self.state.staged.remove(&g);
        }
        let mut fault = injected.job.clone();
        if let Err(e) = placement {
            fault.fail = Some(e);
        }
        let duration = if fault.fail.is_some() && host.is_none() {
            std::time::Duration::ZERO
        } else {
            let create = self.job_duration(Op::CreateVm, &injected);
            if req.start_vm {
                create + self.op_duration(Op::StartVm, std::time::Duration::ZERO)
            } else {
                create
            }
        };
        self.state.vms.push(vm);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet: CMDLET,
            name_key: CMDLET,
            target: Some(ObjectRef::new(ObjectKind::VirtualMachine, id)),
            result_name: req.name.clone(),
            locks: vec![id],
            effect: JobEffect::CreateVm {
                vm: id,
                start: req.start_vm,
            },
            duration,
            fault,
            owner,
            system: false,
        });
        self.submitted_vm(id, job)
    }

    /// Settles and returns the VM (or its tombstone) with the job's
    /// current state.
    fn submitted_vm(&mut self, vm: Uuid, job: Job) -> VmmResult<Submitted<Vm>> {
        self.settle();
        let job = self.state.job(job.id).cloned().unwrap_or(job);
        let object = self
            .state
            .vm(vm)
            .or_else(|| self.state.removed_vms.iter().rev().find(|v| v.id == vm))
            .cloned()
            .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
        Ok(Submitted {
            object,
            job: Some(job),
        })
    }

    /// Set-SCVirtualMachine. Hardware changes (CPU, memory, dynamic memory,
    /// HA) and staged devices need PowerOff (640); name, description, owner,
    /// tag, actions and availability sets change on a running VM too.
    pub fn set_vm(&mut self, req: &SetVm) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Set-SCVirtualMachine";
        self.settle();
        let vm = self.resolve_vm(&req.vm, CMDLET)?;
        let staged: Vec<StagedItem> = req
            .job_group
            .map(|g| self.state.staged.get(&g).cloned().unwrap_or_default())
            .unwrap_or_default();
        let devices = staged
            .iter()
            .any(|i| !matches!(i, StagedItem::CustomProperty { .. }));
        let change = req.change.clone();
        if change.cpu_count == Some(0) || change.memory_mb == Some(0) {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "CPUCount and MemoryMB must be greater than zero.",
            ));
        }
        // Growing a VM must still fit its host.
        if change.cpu_count.is_some() || change.memory_mb.is_some() {
            let current = self
                .state
                .vm(vm)
                .cloned()
                .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
            if let Some(host) = current.host
                && matches!(current.status, VmState::PowerOff | VmState::Stored)
            {
                let demand = Demand {
                    name: &current.name,
                    cpu_count: change.cpu_count.unwrap_or(current.cpu_count),
                    memory_mb: change.memory_mb.unwrap_or(current.memory_mb),
                    availability_sets: &current.availability_sets,
                    exclude: Some(vm),
                };
                self.place(PlacementTarget::Host(host), &demand)?;
            }
        }
        let needs_poweroff = change.is_hardware() || devices;
        let (snapshot, job) =
            self.update_vm(vm, CMDLET, CMDLET, needs_poweroff, Op::UpdateVm, |m, v| {
                m.apply_staged(v, &staged)?;
                apply_properties(v, &change);
                Ok(())
            })?;
        if let Some(g) = req.job_group {
            self.state.staged.remove(&g);
        }
        Ok(Submitted {
            object: snapshot,
            job: Some(job),
        })
    }

    /// Starts a power job: checks the lock, moves the VM to `during`, and
    /// schedules the end state `to`.
    #[allow(clippy::too_many_arguments)]
    fn power_job(
        &mut self,
        vm: Uuid,
        cmdlet: &'static str,
        name_key: &'static str,
        op: Op,
        during: VmState,
        to: VmState,
    ) -> VmmResult<Submitted<Vm>> {
        let current = self
            .state
            .vm(vm)
            .cloned()
            .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
        let injected = self.inject(cmdlet, &current.name, current.host)?;
        let from = current.status;
        if let Some(v) = self.state.vm_mut(vm) {
            v.status = during;
            v.power = during;
        }
        let duration = self.job_duration(op, &injected);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet,
            name_key,
            target: Some(ObjectRef::new(ObjectKind::VirtualMachine, vm)),
            result_name: current.name.clone(),
            locks: vec![vm],
            effect: JobEffect::Power { vm, to, from },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.submitted_vm(vm, job)
    }

    /// Current VM, unlocked, for a power operation.
    fn power_target(&mut self, r: &Ref, cmdlet: &str) -> VmmResult<Vm> {
        self.settle();
        let vm = self.resolve_vm(r, cmdlet)?;
        let v = self
            .state
            .vm(vm)
            .cloned()
            .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
        self.ensure_unlocked(&[vm])?;
        Ok(v)
    }

    /// Start-SCVirtualMachine: PowerOff → Starting → Running, Saved →
    /// Restoring → Running. On a running VM it returns the object and
    /// changes nothing \[DOC\]. Other states: 1730.
    pub fn start_vm(&mut self, vm: &Ref) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Start-SCVirtualMachine";
        let v = self.power_target(vm, CMDLET)?;
        match v.status {
            VmState::Running => Ok(Submitted {
                object: v,
                job: None,
            }),
            VmState::PowerOff => self.power_job(
                v.id,
                CMDLET,
                CMDLET,
                Op::StartVm,
                VmState::Starting,
                VmState::Running,
            ),
            VmState::Saved => self.power_job(
                v.id,
                CMDLET,
                CMDLET,
                Op::StartVm,
                VmState::Restoring,
                VmState::Running,
            ),
            other => Err(VmmError::invalid_state(other.name())),
        }
    }

    /// Stop-SCVirtualMachine. `-Force` (and the default, see
    /// `Behaviour::stop_default`) and `-Shutdown`: Running/Paused →
    /// PoweringOff → PowerOff; on a VM already off it returns the object
    /// unchanged \[INF\]. `-SaveState`: Running → Saving → Saved.
    /// `-DiscardSavedState`: Saved → PowerOff. Other states: 1730.
    pub fn stop_vm(&mut self, req: &StopVm) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Stop-SCVirtualMachine";
        let v = self.power_target(&req.vm, CMDLET)?;
        let mode = match req.mode {
            StopMode::Default => match self.behaviour.stop_default {
                StopDefault::PowerOff => StopMode::Force,
                StopDefault::GuestShutdown => StopMode::Shutdown,
            },
            m => m,
        };
        match (mode, v.status) {
            (StopMode::Force | StopMode::Shutdown, VmState::PowerOff) => Ok(Submitted {
                object: v,
                job: None,
            }),
            (StopMode::Force, VmState::Running | VmState::Paused) => self.power_job(
                v.id,
                CMDLET,
                CMDLET,
                Op::StopVm,
                VmState::PoweringOff,
                VmState::PowerOff,
            ),
            (StopMode::Shutdown, VmState::Running) => self.power_job(
                v.id,
                CMDLET,
                "Stop-SCVirtualMachine -Shutdown",
                Op::ShutdownVm,
                VmState::PoweringOff,
                VmState::PowerOff,
            ),
            (StopMode::SaveState, VmState::Running | VmState::Paused) => self.power_job(
                v.id,
                CMDLET,
                "Stop-SCVirtualMachine -SaveState",
                Op::SaveVm,
                VmState::Saving,
                VmState::Saved,
            ),
            (StopMode::DiscardSavedState, VmState::Saved) => self.power_job(
                v.id,
                CMDLET,
                "Stop-SCVirtualMachine -DiscardSavedState",
                Op::PauseResume,
                VmState::DiscardSavedState,
                VmState::PowerOff,
            ),
            (_, other) => Err(VmmError::invalid_state(other.name())),
        }
    }

    /// Save-SCVirtualMachine (Stop -SaveState).
    pub fn save_vm(&mut self, vm: &Ref) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Save-SCVirtualMachine";
        let v = self.power_target(vm, CMDLET)?;
        match v.status {
            VmState::Running | VmState::Paused => self.power_job(
                v.id,
                CMDLET,
                CMDLET,
                Op::SaveVm,
                VmState::Saving,
                VmState::Saved,
            ),
            other => Err(VmmError::invalid_state(other.name())),
        }
    }

    /// Suspend-SCVirtualMachine: Running → Pausing → Paused.
    pub fn suspend_vm(&mut self, vm: &Ref) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Suspend-SCVirtualMachine";
        let v = self.power_target(vm, CMDLET)?;
        match v.status {
            VmState::Running => self.power_job(
                v.id,
                CMDLET,
                CMDLET,
                Op::PauseResume,
                VmState::Pausing,
                VmState::Paused,
            ),
            other => Err(VmmError::invalid_state(other.name())),
        }
    }

    /// Resume-SCVirtualMachine: Paused → Running (shown as Starting while
    /// the job runs; the enum has no "Resuming").
    pub fn resume_vm(&mut self, vm: &Ref) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Resume-SCVirtualMachine";
        let v = self.power_target(vm, CMDLET)?;
        match v.status {
            VmState::Paused => self.power_job(
                v.id,
                CMDLET,
                CMDLET,
                Op::PauseResume,
                VmState::Starting,
                VmState::Running,
            ),
            other => Err(VmmError::invalid_state(other.name())),
        }
    }

    /// Remove-SCVirtualMachine. Returns the VM with `MarkedForDeletion`.
    /// `-Force` removes it from the VMM database at once (the host VM is
    /// untouched) \[DOC\]. A running VM fails with 1730 unless
    /// `Behaviour::remove_running` is `StopFirst`; a VM whose host does
    /// not respond needs `-Force`.
    pub fn remove_vm(&mut self, vm: &Ref, force: bool) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Remove-SCVirtualMachine";
        let v = self.power_target(vm, CMDLET)?;
        let mut duration_ops = vec![Op::RemoveVm];
        if !force {
            match v.status {
                VmState::Running | VmState::Paused => match self.behaviour.remove_running {
                    RemoveRunning::Fail => return Err(VmmError::invalid_state(v.status.name())),
                    RemoveRunning::StopFirst => duration_ops.insert(0, Op::StopVm),
                },
                VmState::HostNotResponding => {
                    return Err(VmmError::invalid_state(v.status.name()));
                }
                _ => {}
            }
        }
        let injected = self.inject(CMDLET, &v.name, v.host)?;
        let duration = if force {
            std::time::Duration::ZERO
        } else {
            let mut d = injected.delay;
            for op in duration_ops {
                d += self.op_duration(op, std::time::Duration::ZERO);
            }
            d
        };
        if let Some(x) = self.state.vm_mut(v.id) {
            x.status = VmState::Deleting;
            x.marked_for_deletion = true;
        }
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet: CMDLET,
            name_key: CMDLET,
            target: Some(ObjectRef::new(ObjectKind::VirtualMachine, v.id)),
            result_name: v.name.clone(),
            locks: vec![v.id],
            effect: JobEffect::RemoveVm { vm: v.id },
            duration,
            fault: if force {
                Default::default()
            } else {
                injected.job
            },
            owner,
            system: false,
        });
        self.submitted_vm(v.id, job)
    }

    /// Read-SCVirtualMachine: a "Refresh virtual machine" job that copies
    /// what the guest reported (addresses, computer name) into the VM.
    pub fn read_vm(&mut self, vm: &Ref) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Read-SCVirtualMachine";
        let v = self.power_target(vm, CMDLET)?;
        let injected = self.inject(CMDLET, &v.name, v.host)?;
        let duration = self.job_duration(Op::ReadVm, &injected);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet: CMDLET,
            name_key: CMDLET,
            target: Some(ObjectRef::new(ObjectKind::VirtualMachine, v.id)),
            result_name: v.name.clone(),
            locks: vec![v.id],
            effect: JobEffect::RefreshVm { vm: v.id },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.submitted_vm(v.id, job)
    }

    /// Repair-SCVirtualMachine -Dismiss [-Force]: a failed VM (CreationFailed,
    /// UpdateFailed, MigrationFailed, ...) or a Missing one shows its power
    /// state again. Not failed: 1730. `-Retry`/`-Undo` are not modelled.
    pub fn repair_vm(&mut self, req: &RepairVm) -> VmmResult<Submitted<Vm>> {
        const CMDLET: &str = "Repair-SCVirtualMachine";
        let v = self.power_target(&req.vm, CMDLET)?;
        if !req.dismiss {
            return Err(VmmError::invalid_parameter(
                CMDLET,
                "Only -Dismiss is supported by this VMM emulator.",
            ));
        }
        if !(v.status.is_failed() || v.status == VmState::Missing) {
            return Err(VmmError::invalid_state(v.status.name()));
        }
        let injected = self.inject(CMDLET, &v.name, v.host)?;
        let duration = self.job_duration(Op::RepairVm, &injected);
        let owner = self.default_owner();
        let job = self.submit_job(JobSpec {
            cmdlet: CMDLET,
            name_key: CMDLET,
            target: Some(ObjectRef::new(ObjectKind::VirtualMachine, v.id)),
            result_name: v.name.clone(),
            locks: vec![v.id],
            effect: JobEffect::RepairVm { vm: v.id },
            duration,
            fault: injected.job,
            owner,
            system: false,
        });
        self.submitted_vm(v.id, job)
    }

    /// The guest of `vm` reports the IPv4 addresses of `adapter` (through
    /// KVP). VMM shows them after the light refresher interval
    /// (`Latencies::light_refresh_interval`) or a Read-SCVirtualMachine.
    pub fn report_guest_addresses(
        &mut self,
        vm: Uuid,
        adapter: Uuid,
        addresses: &[Ipv4Addr],
    ) -> VmmResult<()> {
        self.settle();
        let due = self.now().plus(self.latencies.light_refresh());
        let v = self
            .state
            .vm_mut(vm)
            .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
        if !v.adapters.iter().any(|a| a.id == adapter) {
            return Err(VmmError::not_found(
                "VirtualNetworkAdapter",
                &adapter.to_string(),
            ));
        }
        v.guest
            .addresses
            .insert(adapter, addresses.iter().map(ToString::to_string).collect());
        v.guest.visible_at = Some(v.guest.visible_at.map_or(due, |t| t.min(due)));
        self.settle();
        Ok(())
    }

    /// The guest of `vm` reports its computer name (shown like addresses).
    pub fn report_guest_computer_name(&mut self, vm: Uuid, name: &str) -> VmmResult<()> {
        self.settle();
        let due = self.now().plus(self.latencies.light_refresh());
        let v = self
            .state
            .vm_mut(vm)
            .ok_or_else(|| VmmError::not_found("VirtualMachine", &vm.to_string()))?;
        v.guest.computer_name = Some(name.to_string());
        v.guest.visible_at = Some(v.guest.visible_at.map_or(due, |t| t.min(due)));
        self.settle();
        Ok(())
    }

    /// The VM's adapter with `mac` (for a guest that knows only MACs).
    pub fn adapter_by_mac(&self, vm: Uuid, mac: &str) -> Option<Uuid> {
        let want = super::super::inventory::parse_mac(mac)?;
        self.state.vm(vm)?.adapters.iter().find_map(|a| {
            (a.mac_address
                .as_deref()
                .and_then(super::super::inventory::parse_mac)
                == Some(want))
            .then_some(a.id)
        })
    }
}

/// Applies Set-SCVirtualMachine's property changes.
fn apply_properties(v: &mut Vm, c: &VmPropertyChange) {
    if let Some(x) = &c.name {
        v.name = x.clone();
    }
    if let Some(x) = &c.description {
        v.description = x.clone();
    }
    if let Some(x) = &c.owner {
        v.owner = x.clone();
    }
    if let Some(x) = &c.tag {
        v.tag = x.clone();
    }
    if let Some(x) = c.cpu_count {
        v.cpu_count = x;
    }
    if let Some(x) = c.memory_mb {
        v.memory_mb = x;
    }
    if let Some(x) = c.dynamic_memory_enabled {
        v.dynamic_memory.enabled = x;
    }
    if let Some(x) = c.dynamic_memory_minimum_mb {
        v.dynamic_memory.minimum_mb = x;
    }
    if let Some(x) = c.dynamic_memory_maximum_mb {
        v.dynamic_memory.maximum_mb = x;
    }
    if let Some(x) = c.dynamic_memory_buffer_percentage {
        v.dynamic_memory.buffer_percentage = x;
    }
    if let Some(x) = &c.start_action {
        v.start_action = x.clone();
    }
    if let Some(x) = &c.stop_action {
        v.stop_action = x.clone();
    }
    if let Some(x) = &c.availability_set_names {
        v.availability_sets = x.clone();
    }
    if let Some(x) = c.highly_available {
        v.highly_available = x;
    }
}
