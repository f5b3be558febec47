//! Fault rules as data: each effect, counts, probabilities, determinism.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{GetVmmServer, RepairVm, StopMode, StopVm};
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::{FaultEffect, FaultRule, JobStatus, Options, VmState};
use vmm_support::*;

fn rule(operation: &str, object: &str, effect: FaultEffect) -> FaultRule {
    FaultRule {
        operation: operation.into(),
        object: object.into(),
        probability: None,
        count: None,
        effect,
    }
}

#[test]
fn error_effect_fails_the_cmdlet_without_a_job() {
    let (mut vmm, _clock) = vmm();
    vmm.faults_mut().add(rule(
        "New-SCVirtualMachine",
        "bad-*",
        FaultEffect::Error { id: 20413 },
    ));
    let err = vmm.new_vm(&new_from_template("bad-1")).unwrap_err();
    assert_eq!(err.id, 20413);
    assert!(vmm.state().vms.is_empty());
    assert!(vmm.state().jobs.is_empty());
    assert!(
        vmm.new_vm(&new_from_template("good")).is_ok(),
        "object glob limits the rule"
    );
    vmm.faults_mut().add(rule(
        "Get-SCVMMServer",
        "*",
        FaultEffect::Error { id: 1602 },
    ));
    let err = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "localhost".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.id, id::CANNOT_CONNECT);
    assert!(err.message.contains("did not respond"));
}

#[test]
fn fail_job_on_power_operation_returns_to_previous_state() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "p");
    vmm.faults_mut().add(rule(
        "Start-SCVirtualMachine",
        "*",
        FaultEffect::FailJob { id: 2912 },
    ));
    let sub = vmm.start_vm(&id.into()).unwrap();
    assert_eq!(sub.object.status, VmState::Starting);
    let err = vmm.wait_for_job(sub.job.unwrap().id).unwrap_err();
    assert_eq!(err.id, 2912);
    let vm = vmm.state().vm(id).unwrap();
    assert_eq!(
        (vm.status, vm.power),
        (VmState::PowerOff, VmState::PowerOff)
    );
    assert!(!vmm.is_locked(id));
}

#[test]
fn delay_lengthens_the_job() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "d");
    vmm.faults_mut().add(rule(
        "Start-SCVirtualMachine",
        "d",
        FaultEffect::Delay { seconds: 50.0 },
    ));
    let job = vmm.start_vm(&id.into()).unwrap().job.unwrap();
    assert_eq!(job.due.since(job.start_time).as_secs(), 60);
}

#[test]
fn vm_vanishes_and_vm_missing() {
    let (mut vmm, _clock) = vmm();
    let guest = record_guest(&mut vmm);
    let a = create_off(&mut vmm, "vanish");
    vmm.faults_mut().add(rule(
        "Start-SCVirtualMachine",
        "vanish",
        FaultEffect::VmVanishes,
    ));
    let sub = vmm.start_vm(&a.into()).unwrap();
    let err = vmm.wait_for_job(sub.job.as_ref().unwrap().id).unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
    assert!(vmm.state().vm(a).is_none());
    assert_eq!(guest.removed.lock().unwrap().as_slice(), &[a]);
    assert_eq!(
        vmm.state().job(sub.job.unwrap().id).unwrap().status,
        JobStatus::Failed
    );

    let b = create_running(&mut vmm, "missing");
    vmm.faults_mut().add(rule(
        "Stop-SCVirtualMachine",
        "missing",
        FaultEffect::VmMissing,
    ));
    let sub = vmm
        .stop_vm(&StopVm {
            vm: b.into(),
            mode: StopMode::Force,
        })
        .unwrap();
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(b).unwrap();
    assert_eq!((vm.status, vm.power), (VmState::Missing, VmState::PowerOff));
    assert_eq!(vm.status.status_string(), "Missing");
    assert_eq!(vmm.start_vm(&b.into()).unwrap_err().id, id::INVALID_STATE);
    let sub = vmm
        .repair_vm(&RepairVm {
            vm: b.into(),
            dismiss: true,
            force: true,
        })
        .unwrap();
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(b).unwrap().status, VmState::PowerOff);
}

#[test]
fn count_limits_how_often_a_rule_fires() {
    let (mut vmm, _clock) = vmm();
    vmm.faults_mut().add(FaultRule {
        count: Some(2),
        ..rule("New-SCVirtualMachine", "*", FaultEffect::Error { id: 2602 })
    });
    assert!(vmm.new_vm(&new_from_template("a")).is_err());
    assert!(vmm.new_vm(&new_from_template("b")).is_err());
    assert!(vmm.new_vm(&new_from_template("c")).is_ok());
    let fired: Vec<u32> = vmm.faults_mut().rules().map(|(_, n)| n).collect();
    assert_eq!(fired, vec![2]);
    vmm.faults_mut().clear();
    assert_eq!(vmm.faults_mut().rules().count(), 0);
}

#[test]
fn probabilistic_rules_are_deterministic_per_seed() {
    let outcomes = |seed| {
        let options = Options {
            seed,
            faults: vec![FaultRule {
                probability: Some(0.5),
                ..rule(
                    "New-SCVirtualMachine",
                    "*",
                    FaultEffect::Error { id: 12416 },
                )
            }],
            ..Options::default()
        };
        let (mut vmm, _clock) = vmm_with(options);
        (0..32)
            .map(|i| vmm.new_vm(&new_from_template(&format!("v{i}"))).is_ok())
            .collect::<Vec<_>>()
    };
    let a = outcomes(11);
    assert_eq!(a, outcomes(11));
    let ok = a.iter().filter(|x| **x).count();
    assert!(ok > 4 && ok < 28, "{ok} of 32");
}
