//! Property tests over random operation sequences with random timing and
//! injected faults. Invariants checked after every step:
//! - a VM is in one consistent state: at most one running job holds it,
//!   transitional statuses exist only while a job runs on the VM, and
//!   without a job the status is a settled one;
//! - no address is granted twice, and adapters only show live allocations;
//! - the VM count matches create/remove accounting.
//!
//! At the end, after time runs out, every job has ended and no lock is
//! left.

mod vmm_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use scvmm_sim::vmm::cmdlets::{
    AdapterTarget, ExpandDisk, GrantIp, RepairVm, RevokeIp, SetNetworkAdapter, SetVm, StopMode,
    StopVm,
};
use scvmm_sim::vmm::enums::AddressType;
use scvmm_sim::vmm::objects::JobEffect;
use scvmm_sim::vmm::specs::VmPropertyChange;
use scvmm_sim::vmm::{
    FaultEffect, FaultRule, GuestBoot, GuestHook, Inventory, Options, VmState, Vmm,
};
use uuid::Uuid;
use vmm_support::new_from_template;

#[derive(Clone, Debug)]
enum Step {
    Create { start: bool },
    Start(usize),
    Stop(usize, u8),
    Remove(usize, bool),
    Set(usize, u64),
    Expand(usize, i64),
    Static(usize),
    Grant,
    Revoke(usize),
    Read(usize),
    Repair(usize),
    Cancel(usize),
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => any::<bool>().prop_map(|start| Step::Create { start }),
        3 => any::<usize>().prop_map(Step::Start),
        2 => (any::<usize>(), 0u8..4).prop_map(|(i, m)| Step::Stop(i, m)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, f)| Step::Remove(i, f)),
        1 => (any::<usize>(), 1024u64..16384).prop_map(|(i, m)| Step::Set(i, m)),
        1 => (any::<usize>(), 25i64..80).prop_map(|(i, g)| Step::Expand(i, g)),
        1 => any::<usize>().prop_map(Step::Static),
        1 => Just(Step::Grant),
        1 => any::<usize>().prop_map(Step::Revoke),
        1 => any::<usize>().prop_map(Step::Read),
        1 => any::<usize>().prop_map(Step::Repair),
        1 => any::<usize>().prop_map(Step::Cancel),
        4 => (0u64..45).prop_map(Step::Advance),
    ]
}

fn faults() -> impl Strategy<Value = Vec<FaultRule>> {
    let effect = prop_oneof![
        Just(FaultEffect::FailJob { id: 2912 }),
        Just(FaultEffect::Error { id: 20413 }),
        (0.0f64..30.0).prop_map(|seconds| FaultEffect::Delay { seconds }),
        Just(FaultEffect::VmVanishes),
        Just(FaultEffect::VmMissing),
        Just(FaultEffect::HostMaintenance),
    ];
    let op = prop_oneof![
        Just("*"),
        Just("New-SCVirtualMachine"),
        Just("Start-SCVirtualMachine"),
        Just("Stop-SCVirtualMachine"),
        Just("Set-SC*"),
        Just("Remove-SCVirtualMachine"),
    ];
    proptest::collection::vec(
        (op, effect, 0.0f64..0.3, proptest::option::of(1u32..4)).prop_map(
            |(op, effect, p, count)| FaultRule {
                operation: op.to_string(),
                object: "*".to_string(),
                probability: Some(p),
                count,
                effect,
            },
        ),
        0..4,
    )
}

#[derive(Default)]
struct Counter(AtomicUsize);

impl GuestHook for Counter {
    fn on_boot(&self, _boot: &GuestBoot) {}
    fn on_removed(&self, _vm: Uuid) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The status a VM shows while a job of this effect runs on it.
fn allowed_during(effect: &JobEffect, status: VmState, power: VmState) -> bool {
    match effect {
        JobEffect::CreateVm { .. } => status == VmState::UnderCreation,
        JobEffect::Power { .. } => status.is_transitional() && status == power,
        JobEffect::RemoveVm { .. } => status == VmState::Deleting,
        JobEffect::UpdateVm { restore, .. } => status == VmState::UnderUpdate || status == *restore,
        JobEffect::RefreshVm { .. }
        | JobEffect::RepairVm { .. }
        | JobEffect::SetCustomProperty { .. } => !status.is_transitional(),
        JobEffect::RefreshLibrary { .. } | JobEffect::RemoveIso { .. } => true,
    }
}

fn check_invariants(vmm: &Vmm, created: usize, removed: usize) -> Result<(), TestCaseError> {
    let st = vmm.state();
    // One running job per locked object.
    let mut holders: BTreeMap<Uuid, usize> = BTreeMap::new();
    for (obj, _) in vmm.locks() {
        *holders.entry(obj).or_default() += 1;
    }
    prop_assert!(
        holders.values().all(|n| *n == 1),
        "an object locked twice: {holders:?}"
    );
    for vm in &st.vms {
        let job = st.lock_holder(vm.id);
        match job {
            Some(j) => prop_assert!(
                allowed_during(&j.effect, vm.status, vm.power),
                "{} shows {:?}/{:?} during {:?}",
                vm.name,
                vm.status,
                vm.power,
                j.effect
            ),
            None => prop_assert!(
                !vm.status.is_transitional() && !vm.power.is_transitional(),
                "{} shows {:?}/{:?} with no job",
                vm.name,
                vm.status,
                vm.power
            ),
        }
        prop_assert!(!vm.marked_for_deletion || job.is_some());
        for a in &vm.adapters {
            for al in &a.allocations {
                prop_assert!(
                    st.allocations.iter().any(|x| x.id == *al),
                    "dangling allocation"
                );
            }
        }
    }
    let mut seen = BTreeSet::new();
    for a in &st.allocations {
        prop_assert!(
            seen.insert((a.pool, a.address)),
            "{} granted twice",
            a.address
        );
    }
    prop_assert_eq!(st.vms.len(), created - removed, "VM accounting");
    Ok(())
}

fn pick(vmm: &Vmm, i: usize) -> Option<Uuid> {
    let vms = &vmm.state().vms;
    (!vms.is_empty()).then(|| vms[i % vms.len()].id)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_model_consistent(
        seed in any::<u64>(),
        rules in faults(),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut options = Options { seed, faults: rules, ..Options::default() };
        options.latencies.jitter = 0.3;
        let (mut vmm, clock) = Vmm::with_manual_clock(Inventory::default_inventory(), options);
        let counter = Arc::new(Counter::default());
        vmm.set_guest_hook(counter.clone());
        let mut created = 0usize;
        let mut grants: Vec<Uuid> = Vec::new();
        let mut n = 0usize;
        for s in steps {
            // Errors are part of the behaviour under test; invariants are
            // what must hold whatever happened.
            match s {
                Step::Create { start } => {
                    n += 1;
                    let mut req = new_from_template(&format!("vm-{}", n % 5));
                    req.start_vm = start;
                    if vmm.new_vm(&req).is_ok() {
                        created += 1;
                    }
                }
                Step::Start(i) => if let Some(v) = pick(&vmm, i) { let _ = vmm.start_vm(&v.into()); },
                Step::Stop(i, m) => if let Some(v) = pick(&vmm, i) {
                    let mode = [StopMode::Force, StopMode::Shutdown, StopMode::SaveState, StopMode::DiscardSavedState][usize::from(m)];
                    let _ = vmm.stop_vm(&StopVm { vm: v.into(), mode });
                },
                Step::Remove(i, force) => if let Some(v) = pick(&vmm, i) { let _ = vmm.remove_vm(&v.into(), force); },
                Step::Set(i, mem) => if let Some(v) = pick(&vmm, i) {
                    let _ = vmm.set_vm(&SetVm { vm: v.into(), change: VmPropertyChange { memory_mb: Some(mem), ..Default::default() }, job_group: None });
                },
                Step::Expand(i, gb) => if let Some(v) = pick(&vmm, i) {
                    let drive = vmm.state().vm(v).map(|x| x.disks[0].id);
                    if let Some(drive) = drive { let _ = vmm.expand_disk(&ExpandDisk { drive, size_gb: gb }); }
                },
                Step::Static(i) => if let Some(v) = pick(&vmm, i) {
                    let adapter = vmm.state().vm(v).map(|x| x.adapters[0].id);
                    if let Some(a) = adapter {
                        let mut req = SetNetworkAdapter::new(AdapterTarget::Adapter(a));
                        req.ipv4_address_type = Some(AddressType::Static);
                        let _ = vmm.set_network_adapter(&req);
                    }
                },
                Step::Grant => if let Ok(a) = vmm.grant_ip(&GrantIp {
                    pool: "Prod-VLAN100-Pool".into(), object_type: "VIP".into(), object_id: None, address: None, description: String::new(),
                }) { grants.push(a.id); },
                Step::Revoke(i) => if !grants.is_empty() {
                    let g = grants.remove(i % grants.len());
                    let _ = vmm.revoke_ip(&RevokeIp { allocation: g.into() });
                },
                Step::Read(i) => if let Some(v) = pick(&vmm, i) { let _ = vmm.read_vm(&v.into()); },
                Step::Repair(i) => if let Some(v) = pick(&vmm, i) { let _ = vmm.repair_vm(&RepairVm { vm: v.into(), dismiss: true, force: true }); },
                Step::Cancel(i) => {
                    let running: Vec<Uuid> = vmm.state().jobs.iter().filter(|j| j.is_running()).map(|j| j.id).collect();
                    if !running.is_empty() { let _ = vmm.cancel_job(running[i % running.len()]); }
                }
                Step::Advance(s) => { clock.advance(Duration::from_secs(s)); vmm.settle(); }
            }
            check_invariants(&vmm, created, counter.0.load(Ordering::SeqCst))?;
        }
        // Let time run out: every job ends, every lock goes.
        clock.advance(Duration::from_secs(24 * 3600));
        vmm.settle();
        check_invariants(&vmm, created, counter.0.load(Ordering::SeqCst))?;
        prop_assert!(vmm.state().jobs.iter().all(|j| !j.is_running() && j.end_time.is_some()));
        prop_assert!(vmm.locks().is_empty());
        prop_assert!(vmm.next_due().is_none());
        // Saved state survives a round trip in any reachable state.
        let snap = vmm.snapshot();
        let back = scvmm_sim::vmm::Snapshot::from_json(&snap.to_json().map_err(|e| TestCaseError::fail(e.message))?)
            .map_err(|e| TestCaseError::fail(e.message))?;
        prop_assert_eq!(back, snap);
    }
}
