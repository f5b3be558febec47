//! Each failure of issue #5 item 3 produces its condition, and the machine
//! recovers once the cause is gone; against the real local API server with
//! the CAPI core manager, scvmm-sim and our controller.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_surface_as_conditions_and_recover() {
    let mut env = Env::start("failures").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;

    // A failed create job: Ready=False with the VMM error ID, the failed VM
    // is removed and created again under the same identity.
    add_fault(
        &env,
        json!({"operation": "New-SCVirtualMachine", "object": "fail-once", "count": 1,
                           "effect": {"FailJob": {"id": 9101}}}),
    );
    env.create_machine("c1", "fail-once", machine_spec("10.20.0.61"))
        .await;
    // The failed state lasts only until the failed VM is removed (the VM
    // list wakes the machine at once), so it is checked in the Warning
    // Event the condition change publishes rather than by polling status.
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    let deadline = std::time::Instant::now() + T;
    let msg = loop {
        let list = events.list(&Default::default()).await.unwrap();
        if let Some(e) = list.items.iter().find(|e| {
            e.reason.as_deref() == Some("CreationFailed")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("fail-once")
        }) {
            break e.note.clone().unwrap_or_default();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no CreationFailed event for fail-once"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(msg.contains("9101"), "the VMM error ID is shown: {msg}");
    let sm = provisioned(&env, "fail-once", T).await;
    assert_eq!(sm["status"]["creationAttempts"], 1, "{sm:#}");
    assert_eq!(
        env.vms_named("fail-once"),
        1,
        "the failed VM was replaced, not duplicated"
    );

    // SCVMM unreachable (every WinRM request dropped): ScvmmAvailable=False
    // naming the endpoint; back to normal once it answers again.
    env.create_machine("c1", "unreachable", machine_spec("10.20.0.62"))
        .await;
    eventually(
        &env.api("ScvmmMachine"),
        "unreachable",
        "an identity is chosen",
        T,
        |v| v["spec"]["providerID"].is_string(),
    )
    .await;
    add_fault(
        &env,
        json!({"operation": "WinRM:*", "effect": "DropConnection"}),
    );
    let down = reason(&env, "unreachable", "ScvmmAvailable", "ScvmmUnreachable", T).await;
    assert_eq!(
        condition(&down, "ScvmmAvailable").unwrap()["status"],
        "False"
    );
    assert!(
        condition(&down, "ScvmmAvailable").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{down:#}"
    );
    clear_faults(&env);
    provisioned(&env, "unreachable", T).await;
    assert_eq!(env.vms_named("unreachable"), 1);

    // A VM powered off by an administrator is reported and left alone.
    admin_ps(
        &env,
        "Stop-SCVirtualMachine -VM (Get-SCVirtualMachine -Name 'unreachable') -Force | Out-Null",
    )
    .await;
    reason(&env, "unreachable", "Ready", "VMPoweredOff", T).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = admin_ps(
        &env,
        "(Get-SCVirtualMachine -Name 'unreachable').Status.ToString()",
    )
    .await;
    assert_eq!(
        status, "PowerOff",
        "the controller does not start it again by default"
    );

    // A VM deleted out of band: VMNotFound, and no VM is created under a new identity.
    admin_ps(&env, "$vm = Get-SCVirtualMachine -Name 'fail-once'; Stop-SCVirtualMachine -VM $vm -Force | Out-Null; Remove-SCVirtualMachine -VM $vm | Out-Null").await;
    let nf = reason(&env, "fail-once", "Ready", "VMNotFound", T).await;
    assert_eq!(condition(&nf, "Ready").unwrap()["status"], "False");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(env.vms_named("fail-once"), 0, "not recreated");

    // Deleting machines in those states still finishes.
    for name in ["fail-once", "unreachable"] {
        env.api("Machine")
            .delete(name, &Default::default())
            .await
            .unwrap();
    }
    for name in ["fail-once", "unreachable"] {
        gone(
            &env.api("ScvmmMachine"),
            name,
            "the ScvmmMachine is gone",
            T,
        )
        .await;
    }
    assert_eq!(env.vms_named("unreachable"), 0);
    env.kill_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_credentials_are_reported_and_rotation_is_picked_up_without_restart() {
    let mut env = Env::start("credentials").await;
    env.start_controller();
    // The cluster is provisioned with good credentials; then the password
    // in the Secret goes bad (a rotation done wrong).
    env.create_cluster("c2", PASSWORD).await;
    eventually(
        &env.api("ScvmmCluster"),
        "c2",
        "the cluster is provisioned",
        T,
        |v| v["status"]["initialization"]["provisioned"] == true,
    )
    .await;
    env.set_password("c2-vmm", "wrong-password").await;
    env.create_machine("c2", "m2", machine_spec("10.20.0.63"))
        .await;
    let refused = reason(&env, "m2", "ScvmmAvailable", "ScvmmUnauthorized", T).await;
    let msg = condition(&refused, "ScvmmAvailable").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("c2-vmm"), "names the Secret: {msg}");
    assert!(
        !msg.contains("wrong-password"),
        "never shows the password: {msg}"
    );
    assert_eq!(env.vms_named("m2"), 0);

    // Rotate the Secret: the next reconcile uses the new credentials.
    env.set_password("c2-vmm", PASSWORD).await;
    let sm = provisioned(&env, "m2", Duration::from_secs(120)).await;
    assert_eq!(condition(&sm, "ScvmmAvailable").unwrap()["status"], "True");
    assert_eq!(env.vms_named("m2"), 1);
    env.kill_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_cluster_gets_no_scvmm_writes_until_resumed() {
    use kube::api::{Patch, PatchParams};
    let mut env = Env::start("paused").await;
    env.start_controller();
    env.create_cluster("c3", PASSWORD).await;
    env.api("Cluster")
        .patch(
            "c3",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await
        .unwrap();
    env.create_machine("c3", "m4", machine_spec("10.20.0.64"))
        .await;
    let sm = reason(&env, "m4", "Paused", "Paused", T).await;
    assert_eq!(condition(&sm, "Paused").unwrap()["status"], "True");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let jobs_before = env.sim.vmm.lock().unwrap().state().jobs.len();
    assert_eq!(env.vms_named("m4"), 0, "nothing is created while paused");
    let sm = env.api("ScvmmMachine").get("m4").await.unwrap();
    assert!(
        sm.data["spec"]["providerID"].is_null(),
        "no identity is chosen while paused"
    );

    env.api("Cluster")
        .patch(
            "c3",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": false}})),
        )
        .await
        .unwrap();
    let sm = provisioned(&env, "m4", T).await;
    assert_eq!(condition(&sm, "Paused").unwrap()["status"], "False");
    assert!(env.sim.vmm.lock().unwrap().state().jobs.len() > jobs_before);
    env.kill_controller().await;
}
