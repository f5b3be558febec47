//! The job engine: submitting jobs, completing them when the clock passes
//! their due time, applying or rolling back their effects, and locks.
//!
//! Locks are not stored separately: an object is locked exactly while a
//! running job lists it in `locks`, so a lock can never outlive its job.

use std::time::Duration;

use uuid::Uuid;

use super::Vmm;
use super::clock::Time;
use super::config::Op;
use super::enums::{JobStatus, MacAddressType, VmState};
use super::errors::{VmmError, VmmResult};
use super::guest::{GuestAdapter, GuestBoot, GuestMedia};
use super::inventory::format_mac;
use super::objects::{Job, JobEffect, JobFault};
use super::value::{ObjectKind, ObjectRef};

/// Job names per cmdlet (and variant). Only "Create virtual machine",
/// "Refresh virtual machine" and "Refresh library share" are \[REAL\]; the
/// rest follow VMM's style \[INF, §11.6\] and can be overridden with
/// `Behaviour::job_names`.
pub fn default_job_name(key: &str) -> &'static str {
    match key {
        "New-SCVirtualMachine" => "Create virtual machine",
        "Start-SCVirtualMachine" => "Start virtual machine",
        "Stop-SCVirtualMachine" => "Stop virtual machine",
        "Stop-SCVirtualMachine -Shutdown" => "Shut down virtual machine",
        "Stop-SCVirtualMachine -SaveState" | "Save-SCVirtualMachine" => {
            "Save state virtual machine"
        }
        "Stop-SCVirtualMachine -DiscardSavedState" => "Discard saved state",
        "Suspend-SCVirtualMachine" => "Pause virtual machine",
        "Resume-SCVirtualMachine" => "Resume virtual machine",
        "Remove-SCVirtualMachine" => "Remove virtual machine",
        "Set-SCVirtualMachine" => "Change properties of virtual machine",
        "Read-SCVirtualMachine" | "(Refresh VM - System Job)" => "Refresh virtual machine",
        "Repair-SCVirtualMachine" => "Repair virtual machine",
        "Read-SCLibraryShare" => "Refresh library share",
        "Remove-SCISO" => "Remove ISO",
        "Set-SCVirtualDVDDrive" => "Change properties of virtual DVD drive",
        "New-SCVirtualDVDDrive" => "Create virtual DVD drive",
        "Expand-SCVirtualDiskDrive" => "Expand virtual hard disk",
        "New-SCVirtualDiskDrive" => "Create virtual disk drive",
        "Set-SCVirtualDiskDrive" => "Change properties of virtual disk drive",
        "New-SCVirtualNetworkAdapter" => "Create virtual network adapter",
        "Set-SCVirtualNetworkAdapter" => "Change properties of virtual network adapter",
        "Set-SCCustomPropertyValue" => "Set custom property value",
        _ => "Job",
    }
}

/// What a cmdlet asks the engine to run.
#[derive(Clone, Debug)]
pub(crate) struct JobSpec {
    /// Cmdlet name (`CmdletName`).
    pub cmdlet: &'static str,
    /// Key into the job name table (cmdlet, or cmdlet plus switch).
    pub name_key: &'static str,
    /// Object the job works on.
    pub target: Option<ObjectRef>,
    /// `ResultName`.
    pub result_name: String,
    /// Objects locked while it runs.
    pub locks: Vec<Uuid>,
    /// Effect at completion.
    pub effect: JobEffect,
    /// Duration.
    pub duration: Duration,
    /// Injected faults.
    pub fault: JobFault,
    /// Owner.
    pub owner: String,
    /// System job.
    pub system: bool,
}

impl Vmm {
    /// The job name for a name key, honouring `Behaviour::job_names`.
    pub fn job_name(&self, key: &str) -> String {
        self.behaviour
            .job_names
            .get(key)
            .cloned()
            .unwrap_or_else(|| default_job_name(key).to_string())
    }

    /// The scaled duration of an operation plus an (unscaled) fault delay.
    pub(crate) fn op_duration(&mut self, op: Op, extra: Duration) -> Duration {
        self.latencies.duration(op, &mut self.rng) + extra
    }

    /// Error 2602 if any of `objects` is locked by a running job.
    pub(crate) fn ensure_unlocked(&self, objects: &[Uuid]) -> VmmResult<()> {
        if objects.iter().any(|o| self.state.lock_holder(*o).is_some()) {
            Err(VmmError::locked())
        } else {
            Ok(())
        }
    }

    /// Whether `object` is locked by a running job.
    pub fn is_locked(&self, object: Uuid) -> bool {
        self.state.lock_holder(object).is_some()
    }

    /// Every object currently locked, with the job holding it.
    pub fn locks(&self) -> Vec<(Uuid, Uuid)> {
        self.state
            .jobs
            .iter()
            .filter(|j| j.is_running())
            .flat_map(|j| j.locks.iter().map(move |l| (*l, j.id)))
            .collect()
    }

    /// Creates and registers a running job; the VM it targets gets it as
    /// `MostRecentTask`.
    pub(crate) fn submit_job(&mut self, spec: JobSpec) -> Job {
        let id = self.new_id();
        let now = self.now();
        self.state.job_seq += 1;
        let job = Job {
            id,
            name: self.job_name(spec.name_key),
            cmdlet_name: spec.cmdlet.to_string(),
            description: self.job_name(spec.name_key),
            status: JobStatus::Running,
            progress: 0,
            error: None,
            info: None,
            start_time: now,
            end_time: None,
            due: now.plus(spec.duration),
            target: spec.target,
            result: spec.target,
            result_name: spec.result_name,
            locks: spec.locks,
            effect: spec.effect,
            fault: spec.fault,
            owner: spec.owner,
            system: spec.system,
            seq: self.state.job_seq,
        };
        if let Some(ObjectRef {
            kind: ObjectKind::VirtualMachine,
            id: vm,
        }) = job.target
            && let Some(v) = self.state.vm_mut(vm)
        {
            v.most_recent_task = Some(id);
        }
        self.state.jobs.push(job.clone());
        job
    }

    /// The earliest time something will happen by itself (a job completes
    /// or the light refresher shows guest facts), for a caller that drives
    /// the model from a real clock.
    pub fn next_due(&self) -> Option<Time> {
        let jobs = self
            .state
            .jobs
            .iter()
            .filter(|j| j.is_running())
            .map(|j| j.due);
        let facts = self.state.vms.iter().filter_map(|v| v.guest.visible_at);
        jobs.chain(facts).min()
    }

    /// Completes everything that is due: jobs in due-time order (ties in
    /// submission order), then the light refresher; repeats until nothing
    /// more is due. Every public operation calls this first.
    pub fn settle(&mut self) {
        let now = self.now();
        loop {
            let next = self
                .state
                .jobs
                .iter()
                .filter(|j| j.is_running() && j.due <= now)
                .min_by_key(|j| (j.due, j.seq))
                .map(|j| j.id);
            if let Some(id) = next {
                self.finish_job(id);
                continue;
            }
            if !self.run_light_refresher(now) {
                break;
            }
        }
        for job in self.state.jobs.iter_mut().filter(|j| j.is_running()) {
            let total = job.due.0.saturating_sub(job.start_time.0).max(1);
            let done = now.0.saturating_sub(job.start_time.0).max(0);
            job.progress = u8::try_from((done * 100 / total).min(99)).unwrap_or(99);
        }
        self.state.prune();
    }

    /// Waits (through the clock) until job `id` ends: `Ok` with the job when
    /// it succeeded, `Err` with its error (and restart hint) when it failed
    /// or was canceled. This is the blocking mode of every mutating cmdlet.
    /// With the system clock this sleeps the calling thread; a server that
    /// shares the model between sessions should rather release its lock,
    /// wait until the job's `due` time (or [`Vmm::next_due`]) and look again.
    pub fn wait_for_job(&mut self, id: Uuid) -> VmmResult<Job> {
        loop {
            self.settle();
            let job = self
                .state
                .job(id)
                .cloned()
                .ok_or_else(|| VmmError::not_found("Job", &id.to_string()))?;
            if !job.is_running() {
                return if job.status.is_success() {
                    Ok(job)
                } else {
                    Err(job
                        .error
                        .clone()
                        .unwrap_or_else(VmmError::job_canceled)
                        .for_job(id))
                };
            }
            self.clock.wait_until(job.due);
        }
    }

    /// Ends a job at its due time: applies its effect, or its injected
    /// fault, and records the outcome.
    fn finish_job(&mut self, id: Uuid) {
        let Some(job) = self.state.job(id).cloned() else {
            return;
        };
        let outcome = if let Some(err) = job.fault.fail.clone() {
            Err(err)
        } else if job.fault.vanish && self.vanish_target(&job) {
            Err(VmmError::not_found("VirtualMachine", &job.result_name))
        } else {
            self.apply_effect(&job)
        };
        let outcome = match outcome {
            Ok(info) => {
                if job.fault.missing {
                    self.mark_missing(&job);
                }
                Ok(info)
            }
            Err(e) => {
                self.roll_back(&job);
                Err(e)
            }
        };
        if let Some(j) = self.state.job_mut(id) {
            j.end_time = Some(j.due);
            match outcome {
                Ok(None) => {
                    j.status = JobStatus::Completed;
                    j.progress = 100;
                }
                Ok(Some(info)) => {
                    j.status = JobStatus::SucceedWithInfo;
                    j.progress = 100;
                    j.info = Some(info);
                }
                Err(e) => {
                    j.status = JobStatus::Failed;
                    j.error = Some(e.for_job(id));
                }
            }
        }
    }

    /// Cancels a running job (`Stop-SCJob`): it ends `Canceled` now and its
    /// effect is rolled back as for a failure. No effect on a finished job.
    pub fn cancel_job(&mut self, id: Uuid) -> VmmResult<Job> {
        self.settle();
        let job = self
            .state
            .job(id)
            .cloned()
            .ok_or_else(|| VmmError::not_found("Job", &id.to_string()))?;
        if job.is_running() {
            self.roll_back(&job);
            let now = self.now();
            if let Some(j) = self.state.job_mut(id) {
                j.status = JobStatus::Canceled;
                j.end_time = Some(now);
                j.error = Some(VmmError::job_canceled().for_job(id));
            }
        }
        self.state
            .job(id)
            .cloned()
            .ok_or_else(|| VmmError::not_found("Job", &id.to_string()))
    }

    /// Removes the job's VM out of band (fault `VmVanishes`). Returns
    /// whether there was a VM to remove.
    fn vanish_target(&mut self, job: &Job) -> bool {
        match job.target {
            Some(ObjectRef {
                kind: ObjectKind::VirtualMachine,
                id,
            }) if self.state.vm(id).is_some() => {
                self.remove_vm_now(id);
                true
            }
            _ => false,
        }
    }

    /// Fault `VmMissing`: the host no longer reports the VM.
    fn mark_missing(&mut self, job: &Job) {
        if let Some(ObjectRef {
            kind: ObjectKind::VirtualMachine,
            id,
        }) = job.target
            && let Some(vm) = self.state.vm_mut(id)
        {
            vm.status = VmState::Missing;
            vm.power = VmState::PowerOff;
        }
    }

    /// Applies a job's effect. `Ok(Some(info))` ends `SucceedWithInfo`.
    fn apply_effect(&mut self, job: &Job) -> VmmResult<Option<VmmError>> {
        let now = self.now().min(job.due);
        match &job.effect {
            JobEffect::CreateVm { vm, start } => {
                let vm = *vm;
                if let Some(v) = self.state.vm_mut(vm) {
                    v.status = VmState::PowerOff;
                    v.power = VmState::PowerOff;
                    v.modified_time = now;
                }
                if *start {
                    self.set_power(vm, VmState::Running);
                }
                Ok(None)
            }
            JobEffect::Power { vm, to, .. } => {
                self.set_power(*vm, *to);
                Ok(None)
            }
            JobEffect::RemoveVm { vm } => {
                self.remove_vm_now(*vm);
                Ok(None)
            }
            JobEffect::UpdateVm { vm, restore } => {
                if let Some(v) = self.state.vm_mut(*vm) {
                    v.status = *restore;
                    v.modified_time = now;
                }
                Ok(None)
            }
            JobEffect::RefreshVm { vm } => {
                self.apply_guest_facts(*vm);
                Ok(None)
            }
            JobEffect::RepairVm { vm } => {
                if let Some(v) = self.state.vm_mut(*vm)
                    && (v.status.is_failed() || v.status == VmState::Missing)
                {
                    // Dismiss: the failure is forgotten and the VM shows its
                    // power state again.
                    v.status = v.power;
                    v.failed_job = None;
                }
                Ok(None)
            }
            JobEffect::RefreshLibrary { share, path } => {
                self.index_library(*share, path.as_deref());
                Ok(None)
            }
            JobEffect::RemoveIso { iso } => {
                self.remove_iso_now(*iso);
                Ok(None)
            }
            JobEffect::SetCustomProperty {
                target,
                property,
                value,
            } => {
                self.store_custom_property(*target, property, value.clone())?;
                Ok(None)
            }
        }
    }

    /// Undoes the transitional state a failed or canceled job leaves.
    fn roll_back(&mut self, job: &Job) {
        let failed_job = job.id;
        match &job.effect {
            JobEffect::CreateVm { vm, .. } => {
                if let Some(v) = self.state.vm_mut(*vm) {
                    v.status = VmState::CreationFailed;
                    v.power = VmState::PowerOff;
                    v.failed_job = Some(failed_job);
                }
            }
            JobEffect::Power { vm, from, .. } => {
                if let Some(v) = self.state.vm_mut(*vm) {
                    v.status = *from;
                    v.power = *from;
                }
            }
            JobEffect::RemoveVm { vm } => {
                if let Some(v) = self.state.vm_mut(*vm) {
                    v.status = v.power;
                    v.marked_for_deletion = false;
                }
            }
            JobEffect::UpdateVm { vm, .. } => {
                if let Some(v) = self.state.vm_mut(*vm) {
                    v.status = VmState::UpdateFailed;
                    v.failed_job = Some(failed_job);
                }
            }
            JobEffect::RefreshVm { .. }
            | JobEffect::RepairVm { .. }
            | JobEffect::RefreshLibrary { .. }
            | JobEffect::RemoveIso { .. }
            | JobEffect::SetCustomProperty { .. } => {}
        }
    }

    /// Sets a VM's power state (status follows) and tells the guest hook.
    fn set_power(&mut self, vm: Uuid, to: VmState) {
        let now = self.now();
        let Some(v) = self.state.vm_mut(vm) else {
            return;
        };
        v.status = to;
        v.power = to;
        v.modified_time = now;
        if to == VmState::Running {
            self.boot_vm(vm);
        } else if let Some(hook) = self.guest.clone() {
            hook.on_power_off(vm);
        }
    }

    /// A VM reached Running: assign dynamic MACs on first boot, then hand
    /// the guest what it sees.
    fn boot_vm(&mut self, vm: Uuid) {
        let needs_macs = self.state.vm(vm).is_some_and(|v| {
            v.adapters
                .iter()
                .any(|a| a.mac_address.is_none() && a.mac_address_type == MacAddressType::Dynamic)
        });
        if needs_macs {
            let macs: Vec<u64> = {
                let count = self.state.vm(vm).map_or(0, |v| {
                    v.adapters
                        .iter()
                        .filter(|a| a.mac_address.is_none())
                        .count()
                });
                (0..count).map(|_| self.hyperv_mac()).collect()
            };
            if let Some(v) = self.state.vm_mut(vm) {
                let mut macs = macs.into_iter();
                for a in v.adapters.iter_mut().filter(|a| a.mac_address.is_none()) {
                    a.mac_address = macs.next().map(format_mac);
                }
            }
        }
        let Some(v) = self.state.vm_mut(vm) else {
            return;
        };
        v.has_booted = true;
        let Some(hook) = self.guest.clone() else {
            return;
        };
        let Some(boot) = self.guest_boot(vm) else {
            return;
        };
        hook.on_boot(&boot);
    }

    /// What the guest of `vm` sees at boot.
    fn guest_boot(&self, vm: Uuid) -> Option<GuestBoot> {
        let v = self.state.vm(vm)?;
        let adapters = v
            .adapters
            .iter()
            .map(|a| GuestAdapter {
                id: a.id,
                mac_address: a.mac_address.clone(),
                vm_network: a
                    .vm_network
                    .and_then(|n| self.inventory.vm_network(n))
                    .map(|n| n.name.clone()),
                static_ipv4: a
                    .allocations
                    .iter()
                    .filter_map(|id| self.state.allocations.iter().find(|x| x.id == *id))
                    .map(|x| x.address.to_string())
                    .collect(),
            })
            .collect();
        let media = v
            .dvd_drives
            .iter()
            .find_map(|d| d.iso)
            .and_then(|iso| self.state.iso(iso))
            .map(|iso| GuestMedia {
                name: iso.name.clone(),
                path: iso.share_path.clone(),
                bytes: self
                    .state
                    .file(&iso.share_path)
                    .map(|f| f.bytes.clone())
                    .unwrap_or_default(),
            });
        Some(GuestBoot {
            vm,
            name: v.name.clone(),
            bios_guid: v.bios_guid,
            computer_name: v.requested_computer_name.clone(),
            adapters,
            media,
        })
    }

    /// A MAC Hyper-V would assign dynamically (its own `00:15:5D` range).
    fn hyperv_mac(&mut self) -> u64 {
        0x0000_0015_5D00_0000 | (self.rng.next_u64() & 0x00FF_FFFF)
    }

    /// Removes a VM from VMM now: frees its addresses and host ISO copies,
    /// keeps a tombstone so returned objects still resolve.
    pub(crate) fn remove_vm_now(&mut self, vm: Uuid) {
        let Some(pos) = self.state.vms.iter().position(|v| v.id == vm) else {
            return;
        };
        let mut v = self.state.vms.remove(pos);
        let allocations: Vec<Uuid> = v
            .adapters
            .iter()
            .flat_map(|a| a.allocations.iter().copied())
            .collect();
        self.state
            .allocations
            .retain(|a| !allocations.contains(&a.id) && a.assigned_to_id != Some(vm));
        let copies: Vec<String> = self
            .state
            .isos
            .iter()
            .filter(|i| i.vm == Some(vm))
            .map(|i| i.share_path.to_lowercase())
            .collect();
        self.state.isos.retain(|i| i.vm != Some(vm));
        self.state
            .files
            .retain(|f| !copies.contains(&f.path.to_lowercase()));
        v.marked_for_deletion = true;
        self.state.removed_vms.push(v);
        if let Some(hook) = self.guest.clone() {
            hook.on_removed(vm);
        }
    }

    /// The light refresher: shows guest facts whose time has come. With
    /// `Behaviour::system_refresh_jobs` it runs them as system jobs instead.
    /// Returns whether it did anything.
    fn run_light_refresher(&mut self, now: Time) -> bool {
        let due: Vec<Uuid> = self
            .state
            .vms
            .iter()
            .filter(|v| v.guest.visible_at.is_some_and(|t| t <= now))
            .map(|v| v.id)
            .collect();
        if due.is_empty() {
            return false;
        }
        for vm in due {
            if !self.behaviour.system_refresh_jobs {
                self.apply_guest_facts(vm);
                continue;
            }
            if self.is_locked(vm) {
                // VMM's refresher skips locked VMs (Error 23234) and tries
                // again on its next pass.
                let next = now.plus(self.latencies.light_refresh().max(Duration::from_secs(1)));
                if let Some(v) = self.state.vm_mut(vm) {
                    v.guest.visible_at = Some(next);
                }
                continue;
            }
            let name = self
                .state
                .vm(vm)
                .map(|v| v.name.clone())
                .unwrap_or_default();
            if let Some(v) = self.state.vm_mut(vm) {
                v.guest.visible_at = None;
            }
            let duration = self.op_duration(Op::SystemRefresh, Duration::ZERO);
            self.submit_job(JobSpec {
                cmdlet: "(Refresh VM - System Job)",
                name_key: "(Refresh VM - System Job)",
                target: Some(ObjectRef::new(ObjectKind::VirtualMachine, vm)),
                result_name: name,
                locks: vec![vm],
                effect: JobEffect::RefreshVm { vm },
                duration,
                fault: JobFault::default(),
                owner: "NT AUTHORITY\\SYSTEM".to_string(),
                system: true,
            });
        }
        true
    }

    /// Copies what the guest reported into what VMM shows: adapter
    /// addresses (static allocations first, then reported ones) and the
    /// computer name.
    pub(crate) fn apply_guest_facts(&mut self, vm: Uuid) {
        let allocations = self.state.allocations.clone();
        let Some(v) = self.state.vm_mut(vm) else {
            return;
        };
        v.guest.visible_at = None;
        if let Some(name) = v.guest.computer_name.clone() {
            v.computer_name = Some(name);
        }
        for a in &mut v.adapters {
            let mut shown: Vec<String> = a
                .allocations
                .iter()
                .filter_map(|id| allocations.iter().find(|x| x.id == *id))
                .map(|x| x.address.to_string())
                .collect();
            if let Some(reported) = v.guest.addresses.get(&a.id) {
                for addr in reported {
                    if !shown.contains(addr) {
                        shown.push(addr.clone());
                    }
                }
            }
            a.ipv4_addresses = shown;
        }
    }
}
