//! Jobs (reference §4): properties, blocking vs asynchronous, progress,
//! end states, Get-SCJob filters, Stop-SCJob, failures and their errors,
//! system refresh jobs.

mod vmm_support;

use std::time::Duration;

use scvmm_sim::vmm::cmdlets::{JobQuery, SetVm, StopMode, StopVm};
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::specs::VmPropertyChange;
use scvmm_sim::vmm::{
    FaultEffect, FaultRule, JobStatus, Latencies, ObjectKind, ObjectRef, Options, Value, VmState,
};
use vmm_support::*;

#[test]
fn blocking_wait_advances_the_manual_clock_to_the_due_time() {
    let (mut vmm, _clock) = vmm();
    let start = vmm.now();
    let sub = vmm.new_vm(&new_from_template("b")).unwrap();
    let job = vmm.wait_for_job(sub.job.unwrap().id).unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(vmm.now().since(start), Duration::from_secs(30));
}

#[test]
fn latency_factor_scales_durations_and_zero_is_instant() {
    let mut options = Options::default();
    options.latencies.factor = 0.1;
    let (mut vmm, _clock) = vmm_with(options);
    let sub = vmm.new_vm(&new_from_template("f")).unwrap();
    let job = sub.job.unwrap();
    assert_eq!(job.due.since(job.start_time), Duration::from_secs(3));

    let options = Options {
        latencies: Latencies::instant(),
        ..Options::default()
    };
    let (mut vmm, _clock) = vmm_with(options);
    let sub = vmm.new_vm(&new_from_template("i")).unwrap();
    assert_eq!(
        sub.object.status,
        VmState::PowerOff,
        "instant jobs finish before returning"
    );
    assert_eq!(sub.job.unwrap().status, JobStatus::Completed);
}

#[test]
fn jitter_is_deterministic_per_seed() {
    let durations = |seed| {
        let mut options = Options {
            seed,
            ..Options::default()
        };
        options.latencies.jitter = 0.5;
        let (mut vmm, _clock) = vmm_with(options);
        (0..5)
            .map(|i| {
                let j = vmm
                    .new_vm(&new_from_template(&format!("j{i}")))
                    .unwrap()
                    .job
                    .unwrap();
                j.due.since(j.start_time)
            })
            .collect::<Vec<_>>()
    };
    let a = durations(7);
    assert_eq!(a, durations(7));
    assert!(
        a.iter()
            .all(|d| *d >= Duration::from_secs(15) && *d <= Duration::from_secs(45))
    );
    assert!(a.iter().any(|d| *d != Duration::from_secs(30)));
}

#[test]
fn get_job_filters() {
    let (mut vmm, clock) = vmm();
    let a = create_off(&mut vmm, "a");
    let sub = vmm.start_vm(&a.into()).unwrap();
    let start_job = sub.job.unwrap();
    let running = vmm
        .get_jobs(&JobQuery {
            running: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].id, start_job.id);
    let by_name = vmm
        .get_jobs(&JobQuery {
            name: Some("Create*".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_name.len(), 1);
    let by_id = vmm
        .get_jobs(&JobQuery {
            id: Some(start_job.id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_id[0].name, "Start virtual machine");
    assert_eq!(by_id[0].cmdlet_name, "Start-SCVirtualMachine");
    // -Newest is hours, not a count.
    advance(&clock, 2 * 3600);
    let newest = vmm
        .get_jobs(&JobQuery {
            newest_hours: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert!(newest.is_empty());
    let all = vmm.get_jobs(&JobQuery::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|j| j.status == JobStatus::Completed));
}

#[test]
fn stop_job_cancels_and_rolls_back() {
    let (mut vmm, _clock) = vmm();
    let sub = vmm.new_vm(&new_from_template("c")).unwrap();
    let job = vmm.cancel_job(sub.job.as_ref().unwrap().id).unwrap();
    assert_eq!(job.status, JobStatus::Canceled);
    assert_eq!(
        vmm.state().vm(sub.object.id).unwrap().status,
        VmState::CreationFailed
    );
    assert!(!vmm.is_locked(sub.object.id));
    // No effect on a finished job.
    let again = vmm.cancel_job(job.id).unwrap();
    assert_eq!(again.status, JobStatus::Canceled);
    let err = vmm.wait_for_job(job.id).unwrap_err();
    assert_eq!(err.id, id::JOB_CANCELED);
}

#[test]
fn failed_update_leaves_update_failed_and_error_with_restart_hint() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "u");
    vmm.faults_mut().add(FaultRule {
        operation: "Set-SCVirtualMachine".into(),
        object: "*".into(),
        probability: None,
        count: Some(1),
        effect: FaultEffect::FailJob { id: 2912 },
    });
    let sub = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange {
                memory_mb: Some(8192),
                ..Default::default()
            },
            job_group: None,
        })
        .unwrap();
    assert_eq!(sub.object.status, VmState::UnderUpdate);
    let job_id = sub.job.as_ref().unwrap().id;
    let err = vmm.wait_for_job(job_id).unwrap_err();
    assert_eq!(err.id, 2912);
    assert_eq!(err.job_id, Some(job_id));
    let text = err.full_text();
    assert!(
        text.contains("(Error ID: 2912, Detailed Error: )"),
        "{text}"
    );
    assert!(text.contains("To restart the job, run the following command:"));
    assert!(text.contains(&format!("{{{job_id}}}")));
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::UpdateFailed);
    let job = vmm.state().job(job_id).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    // ErrorInfo on the job view.
    let view = vmm.view(ObjectRef::new(ObjectKind::Job, job_id)).unwrap();
    let Some(Value::Object(info)) = view.get("ErrorInfo") else {
        panic!("ErrorInfo")
    };
    assert_eq!(info.display, "HostAgentUnreachable (2912)");
    assert_eq!(info.get("DisplayableErrorCode"), Some(&Value::Int(2912)));
    assert_eq!(info.get("IsSuccess"), Some(&Value::Bool(false)));
    // Further changes need Repair first.
    let err = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange::default(),
            job_group: None,
        })
        .unwrap_err();
    assert_eq!(err.id, id::INVALID_STATE);
}

#[test]
fn most_recent_task_tracks_the_latest_job() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "m");
    let sub = vmm.start_vm(&id.into()).unwrap();
    let start = sub.job.unwrap().id;
    assert_eq!(vmm.state().vm(id).unwrap().most_recent_task, Some(start));
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualMachine, id))
        .unwrap();
    assert_eq!(view.get("MostRecentTaskID"), Some(&Value::Guid(start)));
    assert_eq!(
        view.get("MostRecentTask"),
        Some(&Value::Ref(ObjectRef::new(ObjectKind::Job, start)))
    );
    let Some(Value::Enum(ui)) = view.get("MostRecentTaskUIState") else {
        panic!()
    };
    assert_eq!(ui.name, "Running");
    vmm.wait_for_job(start).unwrap();
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualMachine, id))
        .unwrap();
    let Some(Value::Enum(ui)) = view.get("MostRecentTaskUIState") else {
        panic!()
    };
    assert_eq!(ui.name, "Completed");
}

#[test]
fn system_refresh_jobs_lock_the_vm_briefly() {
    let mut options = Options::default();
    options.behaviour.system_refresh_jobs = true;
    let (mut vmm, clock) = vmm_with(options);
    let guest = record_guest(&mut vmm);
    let id = create_running(&mut vmm, "sys");
    let adapter = guest.boots.lock().unwrap()[0].adapters[0].id;
    vmm.report_guest_addresses(id, adapter, &["10.10.100.9".parse().unwrap()])
        .unwrap();
    advance(&clock, 120);
    vmm.settle();
    let running = vmm
        .get_jobs(&JobQuery {
            running: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].name, "Refresh virtual machine");
    assert_eq!(running[0].cmdlet_name, "(Refresh VM - System Job)");
    assert!(running[0].system);
    assert_eq!(
        vmm.stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::Force
        })
        .unwrap_err()
        .id,
        id::LOCKED
    );
    advance(&clock, 2);
    vmm.settle();
    assert_eq!(
        vmm.state().vm(id).unwrap().adapters[0].ipv4_addresses,
        vec!["10.10.100.9"]
    );
    assert!(
        vmm.stop_vm(&StopVm {
            vm: id.into(),
            mode: StopMode::Force
        })
        .is_ok()
    );
}

#[test]
fn job_names_can_be_overridden() {
    let mut options = Options::default();
    options.behaviour.job_names.insert(
        "Start-SCVirtualMachine".into(),
        "Power on virtual machine".into(),
    );
    let (mut vmm, _clock) = vmm_with(options);
    let id = create_off(&mut vmm, "n");
    let sub = vmm.start_vm(&id.into()).unwrap();
    assert_eq!(sub.job.unwrap().name, "Power on virtual machine");
}

#[test]
fn next_due_reports_the_earliest_pending_event() {
    let (mut vmm, _clock) = vmm();
    assert_eq!(vmm.next_due(), None);
    let sub = vmm.new_vm(&new_from_template("d")).unwrap();
    assert_eq!(vmm.next_due(), Some(sub.job.unwrap().due));
}
