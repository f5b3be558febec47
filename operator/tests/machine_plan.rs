//! Property tests of the machine planner: whatever is observed, the next
//! action never endangers a VM (no create without an identity and inputs,
//! no second VM, no write while paused, no power-off without a shutdown
//! attempt when asked for a soft one), and the conditions are coherent.
//! A small model of SCVMM then drives the planner through whole lifecycles
//! with the operator "killed" (its action lost) at random points.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use operator::api::machine::PowerOffMode;
use operator::controller::conditions::{CondStatus, reasons, types};
use operator::controller::machine::plan::{
    Action, Addresses, BootstrapData, MAX_CREATE_ATTEMPTS, Observed, Scvmm, VmFacts, plan,
};
use proptest::prelude::*;
use std::time::Duration;

const STATUSES: &[&str] = &[
    "UnderCreation",
    "CreationFailed",
    "PowerOff",
    "Running",
    "Starting",
    "PoweringOff",
    "UpdateFailed",
    "Missing",
    "HostNotResponding",
    "Saved",
    "Paused",
    "UnderUpdate",
    "Deleting",
];

fn vm() -> impl Strategy<Value = VmFacts> {
    (
        prop::sample::select(STATUSES),
        any::<bool>(),
        any::<bool>(),
        prop::option::of("[a-z ]{0,12}"),
        any::<bool>(),
    )
        .prop_map(
            |(status, has_addresses, seed_attached, error, job_running)| VmFacts {
                id: "6f2a".into(),
                status: status.to_string(),
                has_addresses,
                seed_attached,
                error,
                job_running,
            },
        )
}

fn scvmm() -> impl Strategy<Value = Scvmm> {
    prop_oneof![
        Just(Scvmm::NotAsked),
        Just(Scvmm::Unreachable("down".into())),
        Just(Scvmm::Unauthorized("no".into())),
        Just(Scvmm::Misconfigured("bad".into())),
        Just(Scvmm::Absent),
        vm().prop_map(Scvmm::Present),
    ]
}

fn observed() -> impl Strategy<Value = Observed> {
    (
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        prop_oneof![
            Just(BootstrapData::NotReady),
            Just(BootstrapData::Invalid("x".into())),
            Just(BootstrapData::Ready)
        ],
        prop_oneof![
            Just(Addresses::Ready),
            Just(Addresses::Waiting("w".into())),
            Just(Addresses::Invalid("i".into()))
        ],
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        scvmm(),
        0u32..5,
        prop::sample::select(vec![
            PowerOffMode::Hard,
            PowerOffMode::Soft,
            PowerOffMode::TrySoft,
        ]),
        prop::option::of(0u64..600),
        (any::<bool>(), any::<bool>()),
        prop_oneof![
            Just(None),
            Just(Some(Duration::ZERO)),
            (1u64..60_000).prop_map(|ms| Some(Duration::from_millis(ms))),
        ],
    )
        .prop_map(
            |(flags, bootstrap, addresses, ids, scvmm, attempts, mode, elapsed, extra, refresh)| {
                Observed {
                    deleting: flags.0,
                    has_finalizer: flags.1,
                    paused: flags.2,
                    has_owner: flags.3,
                    cluster_ready: flags.4,
                    bootstrap,
                    addresses,
                    has_identity: ids.0,
                    has_vm_id: ids.1 && ids.0,
                    provisioned: ids.2 && ids.0,
                    seed_cleaned: ids.3,
                    scvmm,
                    create_attempts: attempts,
                    power_off_mode: mode,
                    shutdown_elapsed: elapsed.map(Duration::from_secs),
                    shutdown_timeout: Duration::from_secs(300),
                    restart_powered_off: extra.0,
                    skip_vm_deletion: extra.1,
                    address_refresh_in: refresh,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn paused_means_no_change(o in observed()) {
        let p = plan(&o);
        if o.paused {
            prop_assert_eq!(p.action, Action::Wait);
        }
        let paused = p.conditions.iter().find(|c| c.type_ == types::PAUSED).unwrap();
        prop_assert_eq!(paused.status == CondStatus::True, o.paused);
    }

    #[test]
    fn vmm_is_asked_to_refresh_only_a_running_unprovisioned_vm_without_addresses_when_due(o in observed()) {
        let p = plan(&o);
        if p.action == Action::RefreshVm {
            let Scvmm::Present(vm) = &o.scvmm else {
                return Err(TestCaseError::fail("refresh without a VM"));
            };
            prop_assert!(!o.paused && !o.deleting && !o.provisioned);
            prop_assert_eq!(vm.status.as_str(), "Running");
            prop_assert!(!vm.has_addresses && !vm.job_running);
            prop_assert_eq!(o.address_refresh_in, Some(Duration::ZERO));
        }
        // Whether VMM is asked changes nothing the user sees: Cluster API
        // mirrors each change of a condition into the Machine.
        let later = plan(&Observed { address_refresh_in: None, ..o.clone() });
        prop_assert_eq!(&p.conditions, &later.conditions);
        prop_assert_eq!(p.provisioned, later.provisioned);
        if p.action == Action::RefreshVm {
            prop_assert_eq!(later.action, Action::Wait);
            prop_assert_eq!(p.requeue, later.requeue);
        } else {
            prop_assert_eq!(&p.action, &later.action);
        }
    }

    #[test]
    fn a_vm_is_created_only_with_identity_inputs_and_no_vm(o in observed()) {
        let p = plan(&o);
        if p.action == Action::CreateVm {
            prop_assert!(!o.paused && !o.deleting && o.has_owner && o.has_finalizer);
            prop_assert!(o.has_identity, "identity first: a lost reply must not make a second VM");
            prop_assert_eq!(&o.scvmm, &Scvmm::Absent);
            prop_assert!(!o.has_vm_id && !o.provisioned, "a VM that existed is never recreated");
            prop_assert_eq!(&o.bootstrap, &BootstrapData::Ready);
            prop_assert_eq!(&o.addresses, &Addresses::Ready);
            prop_assert!(o.create_attempts < MAX_CREATE_ATTEMPTS);
        }
        if p.action == Action::ChooseIdentity {
            prop_assert!(!o.has_identity && o.cluster_ready);
            prop_assert!(!o.paused && !o.deleting && o.has_owner);
            if !o.has_finalizer {
                // Folded with the finalizer only when the create can follow.
                prop_assert_eq!(&o.bootstrap, &BootstrapData::Ready);
                prop_assert_eq!(&o.addresses, &Addresses::Ready);
            }
        }
    }

    #[test]
    fn deletion_never_creates_or_starts(o in observed()) {
        let p = plan(&o);
        if o.deleting {
            prop_assert!(!matches!(p.action, Action::CreateVm | Action::StartVm | Action::ChooseIdentity | Action::AddFinalizer | Action::RecordVmId(_)));
        }
    }

    #[test]
    fn the_finalizer_goes_only_when_the_vm_is_gone_or_abandoned(o in observed()) {
        let p = plan(&o);
        if p.action == Action::FinishDeletion {
            prop_assert!(o.deleting);
            prop_assert!(!o.has_identity || o.scvmm == Scvmm::Absent);
        }
        if p.action == Action::AbandonVm {
            prop_assert!(o.deleting && o.skip_vm_deletion);
        }
    }

    #[test]
    fn a_running_vm_is_never_removed_and_soft_modes_try_shutdown_first(o in observed()) {
        let p = plan(&o);
        if let Scvmm::Present(vm) = &o.scvmm {
            if p.action == Action::RemoveVm {
                prop_assert_ne!(vm.status.as_str(), "Running");
            }
            if p.action == Action::PowerOffVm && o.power_off_mode != PowerOffMode::Hard {
                prop_assert!(o.power_off_mode == PowerOffMode::TrySoft);
                prop_assert!(o.shutdown_elapsed.is_some_and(|e| e >= o.shutdown_timeout));
            }
        }
    }

    #[test]
    fn failed_creations_are_retried_only_before_provisioning(o in observed()) {
        let p = plan(&o);
        if p.action == Action::RemoveFailedVm {
            prop_assert!(!o.provisioned && !o.deleting);
            prop_assert!(o.create_attempts + 1 < MAX_CREATE_ATTEMPTS);
        }
    }

    /// spec.vmId is write-once: it is only recorded for a settled VM, never
    /// for one still being created, a failed create, or a failed VM on its
    /// way out (found by a chaos run: the removal job made it look created).
    #[test]
    fn the_vm_id_is_recorded_only_for_a_settled_vm(o in observed()) {
        let p = plan(&o);
        if let (Action::RecordVmId(_), Scvmm::Present(vm)) = (&p.action, &o.scvmm) {
            prop_assert!(!["UnderCreation", "CreationFailed", "Deleting", "Starting", "PoweringOff", "UnderUpdate"].contains(&vm.status.as_str()), "{}", vm.status);
        }
    }

    #[test]
    fn ready_is_true_exactly_when_provisioned_and_running(o in observed()) {
        let p = plan(&o);
        let ready = p.conditions.iter().find(|c| c.type_ == types::READY);
        if let Some(r) = ready && r.status == CondStatus::True {
            prop_assert!(p.provisioned);
        }
        if p.provisioned && !o.deleting && !o.paused
            && let Scvmm::Present(vm) = &o.scvmm
            && vm.status == "Running" && o.has_vm_id
        {
            prop_assert_eq!(ready.map(|r| r.status), Some(CondStatus::True));
        }
        // One condition per type.
        let mut types: Vec<_> = p.conditions.iter().map(|c| c.type_).collect();
        types.sort();
        let n = types.len();
        types.dedup();
        prop_assert_eq!(types.len(), n);
    }

    #[test]
    fn a_vanished_vm_is_reported_not_recreated(o in observed()) {
        let p = plan(&o);
        if !o.deleting && !o.paused && o.has_owner && o.has_finalizer && o.has_identity
            && o.has_vm_id && o.scvmm == Scvmm::Absent
        {
            prop_assert_eq!(p.action, Action::Wait);
            let vm = p.conditions.iter().find(|c| c.type_ == types::VM_PROVISIONED).unwrap();
            prop_assert_eq!(vm.reason, reasons::VM_NOT_FOUND);
        }
    }
}

/// The cases the refresh property rarely draws, spelled out: a running,
/// unprovisioned VM without addresses is refreshed once due, not while a
/// job works on it, and not before it is due.
#[test]
fn a_running_vm_without_addresses_is_refreshed_when_due_and_idle() {
    let observed = |due: Option<Duration>, job_running: bool| Observed {
        deleting: false,
        has_finalizer: true,
        paused: false,
        has_owner: true,
        cluster_ready: true,
        bootstrap: BootstrapData::Ready,
        addresses: Addresses::Ready,
        has_identity: true,
        has_vm_id: true,
        provisioned: false,
        seed_cleaned: false,
        scvmm: Scvmm::Present(VmFacts {
            id: "vm".into(),
            status: "Running".into(),
            has_addresses: false,
            seed_attached: true,
            error: None,
            job_running,
        }),
        create_attempts: 0,
        power_off_mode: PowerOffMode::TrySoft,
        shutdown_elapsed: None,
        shutdown_timeout: Duration::from_secs(300),
        restart_powered_off: false,
        skip_vm_deletion: false,
        address_refresh_in: due,
    };
    assert_eq!(
        plan(&observed(Some(Duration::ZERO), false)).action,
        Action::RefreshVm
    );
    assert_eq!(
        plan(&observed(Some(Duration::ZERO), true)).action,
        Action::Wait
    );
    assert_eq!(
        plan(&observed(Some(Duration::from_secs(5)), false)).action,
        Action::Wait
    );
    assert_eq!(plan(&observed(None, false)).action, Action::Wait);
    let p = plan(&observed(Some(Duration::ZERO), false));
    let vm = p
        .conditions
        .iter()
        .find(|c| c.type_ == types::VM_PROVISIONED)
        .unwrap();
    assert_eq!(vm.reason, reasons::WAITING_FOR_GUEST_ADDRESSES);
}

/// A toy SCVMM and API server: enough state to run the planner through a
/// lifecycle, where any action may be lost (the operator killed before or
/// after SCVMM carried it out).
#[derive(Debug, Default)]
struct Model {
    identity: bool,
    vm_id: bool,
    finalizer: bool,
    provisioned: bool,
    seed_cleaned: bool,
    deleting: bool,
    vms: Vec<&'static str>, // statuses of VMs carrying our identity
    shutdown_requested: bool,
}

impl Model {
    fn observe(&self) -> Observed {
        Observed {
            deleting: self.deleting,
            has_finalizer: self.finalizer,
            paused: false,
            has_owner: true,
            cluster_ready: true,
            bootstrap: BootstrapData::Ready,
            addresses: Addresses::Ready,
            has_identity: self.identity,
            has_vm_id: self.vm_id,
            provisioned: self.provisioned,
            seed_cleaned: self.seed_cleaned,
            scvmm: if !self.identity {
                Scvmm::NotAsked
            } else {
                match self.vms.first() {
                    None => Scvmm::Absent,
                    Some(s) => Scvmm::Present(VmFacts {
                        id: "vm".into(),
                        status: s.to_string(),
                        has_addresses: *s == "Running",
                        seed_attached: !self.seed_cleaned,
                        error: None,
                        job_running: false,
                    }),
                }
            },
            create_attempts: 0,
            power_off_mode: PowerOffMode::TrySoft,
            shutdown_elapsed: self.shutdown_requested.then_some(Duration::from_secs(1)),
            shutdown_timeout: Duration::from_secs(300),
            restart_powered_off: false,
            skip_vm_deletion: false,
            address_refresh_in: None,
        }
    }

    /// Carries out `a`; `lost_reply` means SCVMM did it but the operator died
    /// before recording anything.
    fn apply(&mut self, a: &Action, lost_reply: bool) {
        match a {
            Action::AddFinalizer => self.finalizer = true,
            Action::ChooseIdentity => {
                self.identity = true;
                self.finalizer = true;
            }
            Action::RecordVmId(_) => self.vm_id = true,
            Action::CreateVm => self.vms.push("UnderCreation"),
            Action::StartVm => self.vms[0] = "Starting",
            Action::EjectSeed => {
                if !lost_reply {
                    self.seed_cleaned = true;
                }
            }
            Action::ShutdownVm => {
                self.vms[0] = "PoweringOff";
                if !lost_reply {
                    self.shutdown_requested = true;
                }
            }
            Action::PowerOffVm => self.vms[0] = "PoweringOff",
            Action::RemoveVm => {
                self.vms.remove(0);
            }
            Action::FinishDeletion | Action::AbandonVm => self.finalizer = false,
            Action::Wait | Action::RemoveFailedVm | Action::RepairVm | Action::RefreshVm => {}
        }
    }

    /// SCVMM's jobs finish.
    fn settle(&mut self) {
        for s in &mut self.vms {
            *s = match *s {
                "UnderCreation" => "PowerOff",
                "Starting" => "Running",
                "PoweringOff" => "PowerOff",
                other => other,
            };
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever steps are lost and whenever jobs finish, there is never more
    /// than one VM, the machine gets provisioned, and deletion ends with no VM.
    #[test]
    fn lost_replies_and_restarts_never_make_two_vms(
        losses in prop::collection::vec(any::<bool>(), 60),
        settles in prop::collection::vec(any::<bool>(), 60),
        delete_at in 5usize..40,
        delete_early in any::<bool>(),
    ) {
        let mut m = Model::default();
        let mut was_provisioned = false;
        for step in 0..120 {
            if step >= delete_at && (m.provisioned || delete_early) {
                m.deleting = true;
            }
            let p = plan(&m.observe());
            if p.provisioned {
                m.provisioned = true;
                was_provisioned = true;
            }
            let lost = losses[step % losses.len()];
            m.apply(&p.action, lost);
            prop_assert!(m.vms.len() <= 1, "two VMs after {:?}: {:?}", p.action, m);
            if settles[step % settles.len()] || step % 3 == 0 {
                m.settle();
            }
            if m.deleting && !m.finalizer {
                break;
            }
        }
        // Drive to completion without losses.
        for _ in 0..40 {
            if !m.provisioned && !m.deleting {
                let p = plan(&m.observe());
                m.provisioned |= p.provisioned;
                m.apply(&p.action, false);
                m.settle();
                continue;
            }
            m.deleting = true;
            if !m.finalizer {
                break;
            }
            let p = plan(&m.observe());
            m.apply(&p.action, false);
            m.settle();
            prop_assert!(m.vms.len() <= 1);
        }
        prop_assert!(!m.finalizer, "deletion finished: {:?}", m);
        prop_assert!(was_provisioned || delete_early || m.provisioned, "the machine was provisioned before deletion: {:?}", m);
        prop_assert!(m.vms.is_empty(), "no VM left: {:?}", m);
    }
}
