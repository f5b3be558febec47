//! VM lifecycle and the status model (reference §3): create, start, stop,
//! save, pause, remove, repair, refresh; StatusString; names not unique.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{RepairVm, StopMode, StopVm, VmQuery};
use scvmm_sim::vmm::config::{RemoveRunning, StopDefault};
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::{JobStatus, Options, VmState, VmmObject};
use vmm_support::*;

#[test]
fn create_async_returns_under_creation_then_power_off() {
    let (mut vmm, clock) = vmm();
    let sub = vmm.new_vm(&new_from_template("web-01")).unwrap();
    assert_eq!(sub.object.status, VmState::UnderCreation);
    assert_eq!(sub.object.power, VmState::PowerOff);
    let job = sub.job.clone().unwrap();
    assert_eq!(job.name, "Create virtual machine");
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.result_name, "web-01");
    assert!(vmm.is_locked(sub.object.id));
    assert_eq!(sub.object.most_recent_task, Some(job.id));

    advance(&clock, 15);
    let vm = vmm
        .get_vms(&VmQuery {
            id: Some(sub.object.id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(vm[0].status, VmState::UnderCreation);
    let j = vmm.state().job(job.id).unwrap();
    assert_eq!(j.progress, 50);
    assert_eq!(j.progress_text(), "50 %");

    advance(&clock, 15);
    let vm = &vmm
        .get_vms(&VmQuery {
            id: Some(sub.object.id),
            ..Default::default()
        })
        .unwrap()[0];
    assert_eq!(vm.status, VmState::PowerOff);
    assert_eq!(vm.status.status_string(), "Stopped");
    let j = vmm.state().job(job.id).unwrap();
    assert_eq!(j.status, JobStatus::Completed);
    assert_eq!(j.progress, 100);
    assert_eq!(j.end_time, Some(j.due));
    assert!(!vmm.is_locked(vm.id));
    assert!(vm.host.is_some());
    assert_eq!(vm.disks.len(), 1);
    assert_eq!(vm.adapters.len(), 1);
    assert_eq!(vm.dvd_drives.len(), 1);
    assert!(vm.location.ends_with("\\web-01"));
}

#[test]
fn create_with_start_vm_ends_running() {
    let (mut vmm, _clock) = vmm();
    let guest = record_guest(&mut vmm);
    let mut req = new_from_template("web-02");
    req.start_vm = true;
    let sub = vmm.new_vm(&req).unwrap();
    let job = wait(&mut vmm, &sub);
    assert_eq!(job.due.since(job.start_time).as_secs(), 40);
    let vm = vmm.state().vm(sub.object.id).unwrap();
    assert_eq!(vm.status, VmState::Running);
    assert_eq!(vm.power, VmState::Running);
    assert_eq!(guest.boots.lock().unwrap().len(), 1);
    // Dynamic MACs are assigned at first start, from Hyper-V's range.
    assert!(
        vm.adapters[0]
            .mac_address
            .as_deref()
            .unwrap()
            .starts_with("00:15:5D")
    );
}

#[test]
fn start_stop_cycle_with_transitional_states() {
    let (mut vmm, clock) = vmm();
    let id = create_off(&mut vmm, "app-01");
    let vm = vmm.state().vm(id).unwrap();
    assert!(
        vm.adapters[0].mac_address.is_none(),
        "no dynamic MAC before first start"
    );

    let sub = vmm.start_vm(&id.into()).unwrap();
    assert_eq!(sub.object.status, VmState::Starting);
    assert_eq!(sub.job.as_ref().unwrap().name, "Start virtual machine");
    advance(&clock, 10);
    vmm.settle();
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::Running);

    // Start on a running VM returns the object and changes nothing [DOC].
    let again = vmm.start_vm(&id.into()).unwrap();
    assert!(again.job.is_none());
    assert_eq!(again.object.status, VmState::Running);

    let sub = vmm
        .stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::Force,
        })
        .unwrap();
    assert_eq!(sub.object.status, VmState::PoweringOff);
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(id).unwrap();
    assert_eq!(vm.status, VmState::PowerOff);
    assert_eq!(vm.status.status_string(), "Stopped");

    // Stop on a stopped VM: no job, no change.
    let again = vmm
        .stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::Force,
        })
        .unwrap();
    assert!(again.job.is_none());
}

#[test]
fn stop_default_is_power_off_and_switchable_to_shutdown() {
    let (mut vmm, _clock) = vmm();
    let id = create_running(&mut vmm, "a");
    let sub = vmm
        .stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::Default,
        })
        .unwrap();
    assert_eq!(sub.job.as_ref().unwrap().name, "Stop virtual machine");
    wait(&mut vmm, &sub);

    let mut options = Options::default();
    options.behaviour.stop_default = StopDefault::GuestShutdown;
    let (mut vmm, _clock) = vmm_with(options);
    let id = create_running(&mut vmm, "b");
    let sub = vmm
        .stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::Default,
        })
        .unwrap();
    let job = sub.job.clone().unwrap();
    assert_eq!(job.name, "Shut down virtual machine");
    assert_eq!(job.due.since(job.start_time).as_secs(), 20);
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::PowerOff);
}

#[test]
fn save_restore_discard_pause_resume() {
    let (mut vmm, _clock) = vmm();
    let id = create_running(&mut vmm, "s");
    let sub = vmm
        .stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::SaveState,
        })
        .unwrap();
    assert_eq!(sub.object.status, VmState::Saving);
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::Saved);

    let sub = vmm.start_vm(&id.into()).unwrap();
    assert_eq!(sub.object.status, VmState::Restoring);
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::Running);

    let sub = vmm.save_vm(&id.into()).unwrap();
    wait(&mut vmm, &sub);
    let sub = vmm
        .stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::DiscardSavedState,
        })
        .unwrap();
    assert_eq!(sub.object.status, VmState::DiscardSavedState);
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::PowerOff);

    let sub = vmm.start_vm(&id.into()).unwrap();
    wait(&mut vmm, &sub);
    let sub = vmm.suspend_vm(&id.into()).unwrap();
    assert_eq!(sub.object.status, VmState::Pausing);
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::Paused);
    let sub = vmm.resume_vm(&id.into()).unwrap();
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::Running);
}

#[test]
fn invalid_transitions_are_1730() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "x");
    for err in [
        vmm.suspend_vm(&id.into()).unwrap_err(),
        vmm.resume_vm(&id.into()).unwrap_err(),
        vmm.save_vm(&id.into()).unwrap_err(),
        vmm.stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::DiscardSavedState,
        })
        .unwrap_err(),
        vmm.repair_vm(&RepairVm {
            vm: id.into(),
            dismiss: true,
            force: false,
        })
        .unwrap_err(),
    ] {
        assert_eq!(err.id, id::INVALID_STATE, "{err}");
        assert!(
            err.message
                .starts_with("The selected action could not be completed")
        );
    }
}

#[test]
fn second_job_on_locked_vm_is_2602_and_lock_released_after() {
    let (mut vmm, clock) = vmm();
    let sub = vmm.new_vm(&new_from_template("busy")).unwrap();
    let id = sub.object.id;
    let err = vmm.start_vm(&id.into()).unwrap_err();
    assert_eq!(err.id, id::LOCKED);
    assert_eq!(
        err.message,
        "Unable to perform the job because one or more of the selected objects are locked by another job. (Error ID: 2602, Detailed Error: )"
    );
    assert!(err.recommended_action.contains("running or canceling job"));
    let err = vmm.remove_vm(&id.into(), false).unwrap_err();
    assert_eq!(err.id, id::LOCKED);
    let err = vmm.read_vm(&id.into()).unwrap_err();
    assert_eq!(err.id, id::LOCKED);
    assert_eq!(vmm.locks().len(), 1);
    advance(&clock, 30);
    vmm.settle();
    assert!(vmm.locks().is_empty());
    assert!(vmm.start_vm(&id.into()).is_ok());
}

#[test]
fn remove_vm_async_and_force() {
    let (mut vmm, clock) = vmm();
    let guest = record_guest(&mut vmm);
    let id = create_off(&mut vmm, "gone");
    let sub = vmm.remove_vm(&id.into(), false).unwrap();
    assert_eq!(sub.object.status, VmState::Deleting);
    assert!(sub.object.marked_for_deletion);
    assert_eq!(sub.job.as_ref().unwrap().name, "Remove virtual machine");
    assert_eq!(vmm.state().vms.len(), 1);
    advance(&clock, 10);
    let found = vmm
        .get_vms(&VmQuery {
            id: Some(id),
            ..Default::default()
        })
        .unwrap();
    assert!(
        found.is_empty(),
        "absence on Get-SCVirtualMachine -ID means done"
    );
    assert_eq!(guest.removed.lock().unwrap().as_slice(), &[id]);
    // The returned object still resolves, marked for deletion.
    let view = vmm.view(sub.object_ref()).unwrap();
    assert_eq!(
        view.get("MarkedForDeletion"),
        Some(&scvmm_sim::vmm::Value::Bool(true))
    );

    // -Force: DB-only, immediate.
    let id = create_off(&mut vmm, "gone2");
    let sub = vmm.remove_vm(&id.into(), true).unwrap();
    assert_eq!(sub.job.as_ref().unwrap().status, JobStatus::Completed);
    assert!(vmm.state().vm(id).is_none());
}

#[test]
fn remove_running_fails_1730_unless_stop_first() {
    let (mut vmm, _clock) = vmm();
    let id = create_running(&mut vmm, "r");
    let err = vmm.remove_vm(&id.into(), false).unwrap_err();
    assert_eq!(err.id, id::INVALID_STATE);
    // -Force always works (DB only).
    assert!(vmm.remove_vm(&id.into(), true).is_ok());

    let mut options = Options::default();
    options.behaviour.remove_running = RemoveRunning::StopFirst;
    let (mut vmm, _clock) = vmm_with(options);
    let id = create_running(&mut vmm, "r");
    let sub = vmm.remove_vm(&id.into(), false).unwrap();
    let job = wait(&mut vmm, &sub);
    assert_eq!(job.due.since(job.start_time).as_secs(), 20);
    assert!(vmm.state().vm(id).is_none());
}

#[test]
fn names_are_not_unique() {
    let (mut vmm, _clock) = vmm();
    let a = create_off(&mut vmm, "dup");
    let b = create_off(&mut vmm, "dup");
    assert_ne!(a, b);
    let found = vmm
        .get_vms(&VmQuery {
            name: Some("dup".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 2);
    // A name where an object is expected is ambiguous now.
    let err = vmm.start_vm(&"dup".into()).unwrap_err();
    assert_eq!(err.id, id::INVALID_PARAMETER);
    // By id it works.
    assert!(vmm.start_vm(&a.into()).is_ok());
    // Wildcards and case-insensitivity on -Name.
    let found = vmm
        .get_vms(&VmQuery {
            name: Some("DU*".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 2);
    let none = vmm
        .get_vms(&VmQuery {
            name: Some("nothing".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty(), "no match is not an error");
}

#[test]
fn get_vms_by_host_and_cloud() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "h");
    let on_host = vmm
        .get_vms(&VmQuery {
            host: Some(HOST.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(on_host.len(), 1);
    assert_eq!(on_host[0].id, id);
    let on_other = vmm
        .get_vms(&VmQuery {
            host: Some("hv05".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(on_other.is_empty());
    let in_cloud = vmm
        .get_vms(&VmQuery {
            cloud: Some("Prod Cloud".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(in_cloud.is_empty());
}

#[test]
fn repair_dismisses_failed_states() {
    use scvmm_sim::vmm::{FaultEffect, FaultRule};
    let (mut vmm, _clock) = vmm();
    vmm.faults_mut().add(FaultRule {
        operation: "New-SCVirtualMachine".into(),
        object: "broken".into(),
        probability: None,
        count: None,
        effect: FaultEffect::FailJob { id: 20413 },
    });
    let sub = vmm.new_vm(&new_from_template("broken")).unwrap();
    let err = vmm.wait_for_job(sub.job.as_ref().unwrap().id).unwrap_err();
    assert_eq!(err.id, 20413);
    let vm = vmm.state().vm(sub.object.id).unwrap();
    assert_eq!(vm.status, VmState::CreationFailed);
    assert_eq!(vm.failed_job, sub.job.as_ref().map(|j| j.id));
    // Start on a failed VM: 1730.
    assert_eq!(
        vmm.start_vm(&sub.object.id.into()).unwrap_err().id,
        id::INVALID_STATE
    );
    let rep = vmm
        .repair_vm(&RepairVm {
            vm: sub.object.id.into(),
            dismiss: true,
            force: true,
        })
        .unwrap();
    wait(&mut vmm, &rep);
    assert_eq!(
        vmm.state().vm(sub.object.id).unwrap().status,
        VmState::PowerOff
    );
    // A CreationFailed VM can also just be removed.
    let id2 = {
        let sub = vmm.new_vm(&new_from_template("broken")).unwrap();
        let _ = vmm.wait_for_job(sub.job.as_ref().unwrap().id);
        sub.object.id
    };
    let rm = vmm.remove_vm(&id2.into(), false).unwrap();
    wait(&mut vmm, &rm);
    assert!(vmm.state().vm(id2).is_none());
}

#[test]
fn guest_addresses_appear_after_refresh_or_light_refresher() {
    let (mut vmm, clock) = vmm();
    let guest = record_guest(&mut vmm);
    let id = create_running(&mut vmm, "g");
    let boot = guest.boots.lock().unwrap()[0].clone();
    assert_eq!(boot.vm, id);
    let adapter = boot.adapters[0].id;
    vmm.report_guest_addresses(id, adapter, &["10.10.100.77".parse().unwrap()])
        .unwrap();
    vmm.report_guest_computer_name(id, "g.contoso.com").unwrap();
    let vm = vmm.state().vm(id).unwrap();
    assert!(
        vm.adapters[0].ipv4_addresses.is_empty(),
        "not visible before a refresh"
    );

    // Read-SCVirtualMachine shows them when its job completes.
    let sub = vmm.read_vm(&id.into()).unwrap();
    assert_eq!(sub.job.as_ref().unwrap().name, "Refresh virtual machine");
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(id).unwrap();
    assert_eq!(vm.adapters[0].ipv4_addresses, vec!["10.10.100.77"]);
    assert_eq!(vm.computer_name.as_deref(), Some("g.contoso.com"));

    // Without a refresh, the light refresher shows them after 120 s.
    vmm.report_guest_addresses(id, adapter, &["10.10.100.78".parse().unwrap()])
        .unwrap();
    advance(&clock, 119);
    vmm.settle();
    assert_eq!(
        vmm.state().vm(id).unwrap().adapters[0].ipv4_addresses,
        vec!["10.10.100.77"]
    );
    advance(&clock, 1);
    vmm.settle();
    assert_eq!(
        vmm.state().vm(id).unwrap().adapters[0].ipv4_addresses,
        vec!["10.10.100.78"]
    );
    assert_eq!(
        vmm.adapter_by_mac(id, boot.adapters[0].mac_address.as_deref().unwrap()),
        Some(adapter)
    );
}

#[test]
fn host_not_responding_shows_on_vms_and_blocks_plain_remove() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "hn");
    let host = vmm.state().vm(id).unwrap().host.unwrap();
    vmm.set_host_responding(host, false).unwrap();
    assert_eq!(
        vmm.state().vm(id).unwrap().status,
        VmState::HostNotResponding
    );
    assert_eq!(
        vmm.remove_vm(&id.into(), false).unwrap_err().id,
        id::INVALID_STATE
    );
    vmm.set_host_responding(host, true).unwrap();
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::PowerOff);
}
