//! The machine planner: a pure function from what was observed (Kubernetes
//! objects and the VM as SCVMM reports it) to the one next action and the
//! conditions to publish. Everything the lifecycle decides is here, so it
//! can be tested over many paths without a cluster or an SCVMM server.
//!
//! Retry policy (documented in docs/troubleshooting.md):
//! - a VM whose create job failed is removed and created again under the
//!   same identity, at most [`MAX_CREATE_ATTEMPTS`] times, and only while
//!   the machine was never provisioned; after that the controller stops and
//!   says so (a MachineHealthCheck or the user replaces the Machine);
//! - a VM that disappears after creation is reported (`VMNotFound`) and
//!   never recreated under a new identity;
//! - a VM powered off behind our back after provisioning is reported and
//!   left alone, unless the machine asks for it to be powered on again.

use super::vm_phase::VmPhase;
use crate::api::machine::PowerOffMode;
use crate::controller::conditions::{Cond, reasons, types};
use std::time::Duration;

/// How many times a failed create is retried before giving up.
pub const MAX_CREATE_ATTEMPTS: u32 = 3;
/// Default wait for a guest shutdown before powering off (`trySoft`).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether the bootstrap data can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapData {
    /// `Machine.spec.bootstrap.dataSecretName` is not set yet.
    NotReady,
    /// The Secret is named but cannot be used; the message says why.
    Invalid(String),
    /// The data is there (cloud-config).
    Ready,
}

/// Whether the addresses the seed needs are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addresses {
    /// Every device has its addresses (static, IPAM, SCVMM pool or DHCP).
    Ready,
    /// Waiting for an allocation; the message names the device and pool.
    Waiting(String),
    /// A configuration error (pool kind unknown, malformed IPAddress).
    Invalid(String),
}

/// Whether SCVMM could be asked, and if so what it said about the VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scvmm {
    /// Not asked: nothing to look up yet (no identity), or paused.
    NotAsked,
    /// SCVMM did not answer; the message names the endpoint.
    Unreachable(String),
    /// SCVMM refused the credentials.
    Unauthorized(String),
    /// The connection settings are unusable (missing Secret, bad endpoint).
    Misconfigured(String),
    /// SCVMM answered: no VM carries our identity.
    Absent,
    /// SCVMM answered with our VM.
    Present(VmFacts),
}

/// The VM as far as the planner cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmFacts {
    /// VMM ID.
    pub id: String,
    /// VMM status name.
    pub status: String,
    /// The guest reported at least one IP address.
    pub has_addresses: bool,
    /// Our seed ISO is still on the VM's DVD drive.
    pub seed_attached: bool,
    /// VMM error of the failed job, when the status is a failed one.
    pub error: Option<String>,
    /// A job works on the VM (ours or anyone's).
    pub job_running: bool,
}

/// Everything the planner looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// Our finalizer is on the object.
    pub has_finalizer: bool,
    /// The Cluster or the object is paused.
    pub paused: bool,
    /// A Machine owns the object.
    pub has_owner: bool,
    /// The Cluster's infrastructure is provisioned.
    pub cluster_ready: bool,
    /// State of the bootstrap data.
    pub bootstrap: BootstrapData,
    /// State of the addresses.
    pub addresses: Addresses,
    /// `spec.providerID` is set (the identity was chosen).
    pub has_identity: bool,
    /// `spec.vmId` is set (a VM was created and recorded).
    pub has_vm_id: bool,
    /// `status.initialization.provisioned` is true.
    pub provisioned: bool,
    /// The seed was removed from the library (after provisioning, or never
    /// uploaded).
    pub seed_cleaned: bool,
    /// What SCVMM says.
    pub scvmm: Scvmm,
    /// Failed create attempts so far.
    pub create_attempts: u32,
    /// How to power the VM off on delete.
    pub power_off_mode: PowerOffMode,
    /// Time since a guest shutdown was requested on delete, if it was.
    pub shutdown_elapsed: Option<Duration>,
    /// Guest shutdown timeout.
    pub shutdown_timeout: Duration,
    /// Power a VM that was switched off behind our back on again.
    pub restart_powered_off: bool,
    /// While the VM runs without addresses before provisioning: how long
    /// until VMM is to be asked to refresh it (zero: now). `None` when it
    /// does not wait for them or refreshes are off.
    pub address_refresh_in: Option<Duration>,
    /// The user asked to drop the finalizer without touching SCVMM
    /// (the escape hatch for an endpoint that is gone for good).
    pub skip_vm_deletion: bool,
}

/// The one thing to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing: wait for an event or the requeue.
    Wait,
    /// Add our finalizer.
    AddFinalizer,
    /// Choose the instance UUID and persist `spec.providerID` (before any
    /// SCVMM write, so a lost reply can never produce a second VM).
    ChooseIdentity,
    /// Upload the seed and create the VM (the script adopts a VM that
    /// already carries our identity).
    CreateVm,
    /// Persist `spec.vmId`.
    RecordVmId(String),
    /// Start the VM.
    StartVm,
    /// Ask VMM to read what the guest reported (its IP addresses) now,
    /// rather than at its next light refresh (`Read-SCVirtualMachine`).
    RefreshVm,
    /// Remove a VM whose create job failed, to create it again.
    RemoveFailedVm,
    /// Dismiss a failed change job.
    RepairVm,
    /// Eject the seed and delete it from the library.
    EjectSeed,
    /// Ask the guest to shut down.
    ShutdownVm,
    /// Power the VM off.
    PowerOffVm,
    /// Remove the VM.
    RemoveVm,
    /// The VM is gone: remove the library seed and SCVMM address grants,
    /// then the finalizer.
    FinishDeletion,
    /// Drop the finalizer without touching SCVMM (escape hatch).
    AbandonVm,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What to do.
    pub action: Action,
    /// Conditions to publish (types not listed are left as they are).
    pub conditions: Vec<Cond>,
    /// `status.initialization.provisioned` to publish.
    pub provisioned: bool,
    /// When to look again if nothing else happens.
    pub requeue: Option<Duration>,
}

/// The requeue of a machine that waits on SCVMM (a job, a boot, a guest
/// shutdown). The controller registers such a machine with its endpoint's
/// background poller, which wakes it when its VM changes, and stretches
/// this requeue to a fallback.
pub const WAIT_ON_SCVMM: Duration = Duration::from_secs(2);
const SHORT: Duration = WAIT_ON_SCVMM;
const MEDIUM: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(60);

fn vm_cond(ok: bool, reason: &'static str, message: impl Into<String>) -> Cond {
    if ok {
        Cond::yes(types::VM_PROVISIONED, reason, message)
    } else {
        Cond::no(types::VM_PROVISIONED, reason, message)
    }
}

/// Decides the next step.
pub fn plan(o: &Observed) -> Plan {
    let mut p = if o.paused {
        // No SCVMM write and no spec change while paused; status says why.
        Plan {
            action: Action::Wait,
            conditions: vec![],
            provisioned: o.provisioned,
            requeue: None,
        }
    } else if o.deleting {
        plan_delete(o)
    } else {
        plan_create(o)
    };
    p.conditions.push(if o.paused {
        Cond::yes(
            types::PAUSED,
            reasons::PAUSED,
            "the Cluster or this object is paused; no SCVMM change is made until it is resumed",
        )
    } else {
        Cond::no(types::PAUSED, reasons::NOT_PAUSED, "")
    });
    match &o.scvmm {
        Scvmm::Unreachable(m) => p.conditions.push(Cond::no(
            types::SCVMM_AVAILABLE,
            reasons::SCVMM_UNREACHABLE,
            m.clone(),
        )),
        Scvmm::Unauthorized(m) | Scvmm::Misconfigured(m) => p.conditions.push(Cond::no(
            types::SCVMM_AVAILABLE,
            reasons::SCVMM_UNAUTHORIZED,
            m.clone(),
        )),
        Scvmm::Absent | Scvmm::Present(_) => p.conditions.push(Cond::yes(
            types::SCVMM_AVAILABLE,
            reasons::SCVMM_AVAILABLE,
            "",
        )),
        Scvmm::NotAsked => {}
    }
    if !o.paused {
        p.conditions.push(ready_summary(&p, o));
    }
    p
}

/// `Ready` summarises `VMProvisioned` (and SCVMM availability).
fn ready_summary(p: &Plan, o: &Observed) -> Cond {
    let vm = p
        .conditions
        .iter()
        .find(|c| c.type_ == types::VM_PROVISIONED);
    match vm {
        Some(c) if c.status == crate::controller::conditions::CondStatus::True => {
            Cond::yes(types::READY, reasons::READY, "")
        }
        Some(c) => Cond {
            type_: types::READY,
            status: c.status,
            reason: c.reason,
            message: c.message.clone(),
        },
        None if o.provisioned => Cond::yes(types::READY, reasons::READY, ""),
        None => Cond::unknown(types::READY, reasons::CREATING, ""),
    }
}

fn plan_create(o: &Observed) -> Plan {
    let wait = |reason: &'static str, msg: String, requeue: Option<Duration>| Plan {
        action: Action::Wait,
        conditions: vec![vm_cond(false, reason, msg)],
        provisioned: o.provisioned,
        requeue,
    };
    let act = |action: Action, reason: &'static str, msg: &str, requeue: Option<Duration>| Plan {
        action,
        conditions: vec![vm_cond(false, reason, msg)],
        provisioned: o.provisioned,
        requeue,
    };
    if !o.has_owner {
        let mut p = wait(
            reasons::WAITING_FOR_OWNER,
            "waiting for Cluster API to set a Machine as owner of this ScvmmMachine".into(),
            None,
        );
        if o.provisioned {
            // The VM is fine; the owner is only missing for a moment (move).
            p.conditions.clear();
        }
        return p;
    }
    if !o.has_finalizer {
        if !o.has_identity && !o.provisioned && identity_blocked(o).is_none() {
            // Everything the create needs is there: one patch adds the
            // finalizer and the identity together, saving a write and a
            // watch round trip per machine.
            return act(
                Action::ChooseIdentity,
                reasons::CREATING,
                "choosing the machine's identity",
                None,
            );
        }
        let mut p = act(
            Action::AddFinalizer,
            reasons::CREATING,
            "adding the finalizer",
            None,
        );
        if o.provisioned {
            p.conditions.clear();
        }
        return p;
    }
    if !o.has_identity {
        if let Some(p) = identity_blocked(o) {
            return p;
        }
        return act(
            Action::ChooseIdentity,
            reasons::CREATING,
            "choosing the machine's identity",
            None,
        );
    }
    match &o.scvmm {
        Scvmm::NotAsked => act(Action::Wait, reasons::CREATING, "looking the VM up", Some(SHORT)),
        Scvmm::Unreachable(m) | Scvmm::Unauthorized(m) | Scvmm::Misconfigured(m) => {
            // Keep the VMProvisioned reason we had; ScvmmAvailable says why.
            Plan {
                action: Action::Wait,
                conditions: if o.provisioned {
                    vec![]
                } else {
                    vec![vm_cond(false, reasons::SCVMM_UNREACHABLE, m.clone())]
                },
                provisioned: o.provisioned,
                requeue: Some(MEDIUM),
            }
        }
        Scvmm::Absent if o.has_vm_id || o.provisioned => wait(
            reasons::VM_NOT_FOUND,
            "the VM was deleted from SCVMM outside Cluster API; it is not recreated under a new identity. Delete the Machine (or let a MachineHealthCheck remediate it)".into(),
            Some(LONG),
        ),
        Scvmm::Absent => {
            if o.create_attempts >= MAX_CREATE_ATTEMPTS {
                return wait(
                    reasons::CREATION_RETRIES_EXHAUSTED,
                    format!("creating the VM failed {} times; fix the cause shown in the Events, then delete the Machine so a new one is created", o.create_attempts),
                    None,
                );
            }
            if let Some(p) = inputs_not_ready(o) {
                return p;
            }
            act(Action::CreateVm, reasons::CREATING, CREATING_VM, Some(SHORT))
        }
        Scvmm::Present(vm) => plan_existing_vm(o, vm),
    }
}

/// What keeps the identity from being chosen, if anything: the identity is
/// only chosen when the create can follow (the cluster's infrastructure, the
/// bootstrap data and the addresses are all there).
fn identity_blocked(o: &Observed) -> Option<Plan> {
    if !o.cluster_ready {
        return Some(wait_plan(
            o,
            reasons::WAITING_FOR_CLUSTER_INFRASTRUCTURE,
            "waiting for the Cluster's infrastructure (ScvmmCluster) to be provisioned".into(),
        ));
    }
    inputs_not_ready(o)
}

/// Nothing to do until `reason` goes away; the VM is not ready meanwhile.
fn wait_plan(o: &Observed, reason: &'static str, msg: String) -> Plan {
    Plan {
        action: Action::Wait,
        conditions: vec![vm_cond(false, reason, msg)],
        provisioned: o.provisioned,
        requeue: None,
    }
}

/// Bootstrap data and addresses are needed to build the seed.
fn inputs_not_ready(o: &Observed) -> Option<Plan> {
    let wait = |reason, msg| wait_plan(o, reason, msg);
    match &o.bootstrap {
        BootstrapData::NotReady => {
            return Some(wait(
                reasons::WAITING_FOR_BOOTSTRAP_DATA,
                "waiting for the bootstrap provider to set Machine.spec.bootstrap.dataSecretName"
                    .into(),
            ));
        }
        BootstrapData::Invalid(m) => {
            // The Secret is not watched: look again in a while.
            let mut p = wait(reasons::BOOTSTRAP_DATA_INVALID, m.clone());
            p.requeue = Some(MEDIUM);
            return Some(p);
        }
        BootstrapData::Ready => {}
    }
    match &o.addresses {
        Addresses::Ready => None,
        Addresses::Waiting(m) => Some(wait(reasons::WAITING_FOR_IP_ADDRESSES, m.clone())),
        Addresses::Invalid(m) => {
            let mut p = wait(reasons::INVALID_CONFIGURATION, m.clone());
            p.requeue = Some(MEDIUM);
            Some(p)
        }
    }
}

// The message of an action that starts a VMM job is also the message while
// the job runs (whatever VM status it shows meanwhile): Cluster API mirrors
// every change of the Ready message into the Machine, and from there into
// its MachineSet and MachineDeployment, so a message that changed with each
// VM status cost several writes elsewhere. The status is in status.vm.
const CREATING_VM: &str = "creating the VM in SCVMM";
const STARTING_VM: &str = "starting the VM";
const SHUTTING_DOWN: &str = "shutting the guest down";
const TURNING_OFF: &str = "turning the VM off";
const REMOVING_VM: &str = "removing the VM";

fn plan_existing_vm(o: &Observed, vm: &VmFacts) -> Plan {
    let plan =
        |action: Action, ok: bool, reason: &'static str, msg: String, requeue: Option<Duration>| {
            Plan {
                action,
                conditions: vec![vm_cond(ok, reason, msg)],
                provisioned: o.provisioned,
                requeue,
            }
        };
    let phase = VmPhase::from_status(&vm.status);
    // The ID is recorded once the create job succeeded: a VM whose create
    // failed is removed and created again, and spec.vmId is write-once. A
    // busy VM is not settled either: one being deleted is the failed VM on
    // its way out, whose last job is the removal, not the failed create.
    if !o.has_vm_id && !matches!(phase, VmPhase::Busy | VmPhase::CreationFailed) {
        return plan(
            Action::RecordVmId(vm.id.clone()),
            false,
            reasons::CREATING,
            "recording the VM's SCVMM ID".into(),
            None,
        );
    }
    match phase {
        VmPhase::Busy => plan(
            Action::Wait,
            o.provisioned,
            if o.provisioned {
                reasons::PROVISIONED
            } else if vm.status == "UnderCreation" {
                reasons::CREATING
            } else if vm.status == "Starting" {
                reasons::POWERING_ON
            } else {
                reasons::VM_BUSY
            },
            match vm.status.as_str() {
                "UnderCreation" => CREATING_VM.into(),
                "Starting" => STARTING_VM.into(),
                other => format!("SCVMM is working on the VM (status {other})"),
            },
            Some(SHORT),
        ),
        VmPhase::CreationFailed if !o.provisioned => {
            let why = vm
                .error
                .clone()
                .unwrap_or_else(|| "no error detail from VMM".into());
            if o.create_attempts + 1 >= MAX_CREATE_ATTEMPTS {
                plan(
                    Action::Wait,
                    false,
                    reasons::CREATION_RETRIES_EXHAUSTED,
                    format!(
                        "creating the VM failed {} times, last: {why}; the failed VM is kept for inspection. Fix the cause, then delete the Machine",
                        o.create_attempts + 1
                    ),
                    None,
                )
            } else {
                plan(
                    Action::RemoveFailedVm,
                    false,
                    reasons::CREATION_FAILED,
                    format!(
                        "creating the VM failed (attempt {} of {MAX_CREATE_ATTEMPTS}): {why}; removing it to try again",
                        o.create_attempts + 1
                    ),
                    Some(MEDIUM),
                )
            }
        }
        VmPhase::CreationFailed | VmPhase::Failed => plan(
            Action::RepairVm,
            false,
            reasons::UPDATE_FAILED,
            format!(
                "a VMM job on the VM failed (status {}): {}; dismissing the failure with Repair-SCVirtualMachine",
                vm.status,
                vm.error.clone().unwrap_or_default()
            ),
            Some(MEDIUM),
        ),
        VmPhase::Unreachable => plan(
            Action::Wait,
            false,
            reasons::VM_UNREACHABLE,
            format!(
                "SCVMM reports the VM as {}; check the Hyper-V host",
                vm.status
            ),
            Some(LONG),
        ),
        VmPhase::Off | VmPhase::Suspended if !o.provisioned => plan(
            Action::StartVm,
            false,
            reasons::POWERING_ON,
            STARTING_VM.into(),
            Some(SHORT),
        ),
        VmPhase::Off | VmPhase::Suspended if o.restart_powered_off => plan(
            Action::StartVm,
            false,
            reasons::VM_POWERED_OFF,
            format!(
                "the VM was found {} and is started again (restartPoweredOff)",
                vm.status
            ),
            Some(SHORT),
        ),
        VmPhase::Off | VmPhase::Suspended => plan(
            Action::Wait,
            false,
            reasons::VM_POWERED_OFF,
            format!(
                "the VM is {} but was not stopped by Cluster API; it is left alone. Start it in SCVMM, or delete the Machine",
                vm.status
            ),
            Some(LONG),
        ),
        VmPhase::Running if !vm.has_addresses && !o.provisioned => plan(
            // The message stays the same whether or not VMM is asked:
            // Cluster API mirrors each change of it into the Machine.
            if o.address_refresh_in == Some(Duration::ZERO) && !vm.job_running {
                Action::RefreshVm
            } else {
                Action::Wait
            },
            false,
            reasons::WAITING_FOR_GUEST_ADDRESSES,
            "the VM runs; waiting for the guest to report its IP addresses".into(),
            Some(SHORT),
        ),
        VmPhase::Running => {
            let mut p = plan(
                Action::Wait,
                true,
                reasons::PROVISIONED,
                String::new(),
                None,
            );
            p.provisioned = true;
            if vm.seed_attached || !o.seed_cleaned {
                p.action = Action::EjectSeed;
            }
            p
        }
    }
}

fn plan_delete(o: &Observed) -> Plan {
    let deleting = |action: Action, msg: String, requeue: Option<Duration>| Plan {
        action,
        conditions: vec![vm_cond(false, reasons::DELETING, msg)],
        provisioned: o.provisioned,
        requeue,
    };
    if !o.has_finalizer {
        return deleting(Action::Wait, "deleted".into(), None);
    }
    if o.skip_vm_deletion {
        return deleting(
            Action::AbandonVm,
            "the skip-vm-deletion annotation is set: the finalizer is removed without touching SCVMM".into(),
            None,
        );
    }
    if !o.has_identity {
        // No identity was chosen, so no SCVMM object can exist.
        return deleting(
            Action::FinishDeletion,
            "nothing was created in SCVMM".into(),
            None,
        );
    }
    match &o.scvmm {
        Scvmm::NotAsked => deleting(Action::Wait, "looking the VM up".into(), Some(SHORT)),
        Scvmm::Unreachable(m) | Scvmm::Unauthorized(m) | Scvmm::Misconfigured(m) => deleting(
            Action::Wait,
            format!(
                "cannot reach SCVMM to delete the VM: {m}. If the endpoint is gone for good, annotate the ScvmmMachine with {}=true to remove it without deleting the VM",
                crate::controller::SKIP_VM_DELETION_ANNOTATION
            ),
            Some(MEDIUM),
        ),
        Scvmm::Absent => deleting(
            Action::FinishDeletion,
            "the VM is gone; releasing addresses and the seed".into(),
            None,
        ),
        Scvmm::Present(vm) => match VmPhase::from_status(&vm.status) {
            VmPhase::Busy => deleting(
                Action::Wait,
                match vm.status.as_str() {
                    "PoweringOff"
                        if o.power_off_mode != PowerOffMode::Hard
                            && o.shutdown_elapsed.is_some_and(|e| e < o.shutdown_timeout) =>
                    {
                        SHUTTING_DOWN.into()
                    }
                    "PoweringOff" => TURNING_OFF.into(),
                    "Deleting" => REMOVING_VM.into(),
                    other => format!("waiting for the running VMM job (status {other})"),
                },
                Some(SHORT),
            ),
            VmPhase::Running => match (o.power_off_mode, o.shutdown_elapsed) {
                (PowerOffMode::Hard, _) => {
                    deleting(Action::PowerOffVm, TURNING_OFF.into(), Some(SHORT))
                }
                (_, None) => deleting(Action::ShutdownVm, SHUTTING_DOWN.into(), Some(SHORT)),
                (PowerOffMode::TrySoft, Some(e)) if e >= o.shutdown_timeout => deleting(
                    Action::PowerOffVm,
                    format!(
                        "the guest did not shut down within {}s; turning the VM off",
                        o.shutdown_timeout.as_secs()
                    ),
                    Some(SHORT),
                ),
                (PowerOffMode::Soft, Some(e)) if e >= o.shutdown_timeout => deleting(
                    Action::Wait,
                    format!(
                        "the guest did not shut down within {}s and powerOffMode is Soft; shut it down in the guest or SCVMM, or set powerOffMode: TrySoft",
                        o.shutdown_timeout.as_secs()
                    ),
                    Some(LONG),
                ),
                (_, Some(_)) => deleting(Action::Wait, SHUTTING_DOWN.into(), Some(SHORT)),
            },
            // Off, suspended, failed or unreachable: removal works from any
            // of them (VMM removes the host files if it can).
            _ => deleting(Action::RemoveVm, REMOVING_VM.into(), Some(SHORT)),
        },
    }
}
