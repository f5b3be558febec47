//! Killing and restarting the operator at any point of a machine's creation
//! (and losing SCVMM's reply to the create script) never yields two VMs:
//! a property test over the kill points, against the real local API server
//! with the CAPI core manager and scvmm-sim.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use std::time::Duration;
use support::*;

#[test]
fn restarting_the_operator_at_any_point_never_makes_two_vms() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let env = rt.block_on(async {
        let env = Env::start("restarts").await;
        env.create_cluster("c1", PASSWORD).await;
        env
    });
    let cases: u32 = std::env::var("SCVMM_RESTART_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let env = std::cell::RefCell::new(env);
    let n = std::cell::Cell::new(0u32);
    let strategy = (prop::collection::vec(0u64..1500, 1..4), any::<bool>());
    let result = runner.run(&strategy, |(kills, lose_reply)| {
        n.set(n.get() + 1);
        let n = n.get();
        let name = format!("r{n}");
        let mut env = env.borrow_mut();
        rt.block_on(async {
            if lose_reply {
                // SCVMM runs the create script but its reply never arrives.
                add_fault(&env, json!({"operation": "WinRM:Receive", "object": "*cluster-api-provider-scvmm: create_vm*", "count": 1, "effect": "DropReply"}));
            }
            env.start_controller();
            env.create_machine("c1", &name, machine_spec(&format!("10.20.1.{n}"))).await;
            for delay in &kills {
                tokio::time::sleep(Duration::from_millis(*delay)).await;
                env.kill_controller().await;
                assert!(env.vms_named(&name) <= 1, "two VMs after a restart");
                env.start_controller();
            }
            provisioned(&env, &name, Duration::from_secs(120)).await;
            assert_eq!(env.vms_named(&name), 1, "exactly one VM for {name} (kills {kills:?}, lost reply {lose_reply})");
            if lose_reply {
                let fired: u32 = env.sim.vmm.lock().unwrap().faults_mut().rules().map(|(_, n)| n).sum();
                assert_eq!(fired, 1, "the create script's reply was lost once");
            }
            clear_faults(&env);
            env.api("Machine").delete(&name, &Default::default()).await.unwrap();
            gone(&env.api("ScvmmMachine"), &name, "the ScvmmMachine is gone", Duration::from_secs(90)).await;
            assert_eq!(env.vms_named(&name), 0, "the VM is removed");
            env.kill_controller().await;
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let mut env = env.into_inner();
    let vmm = env.sim.vmm.lock().unwrap();
    assert!(
        vmm.state()
            .isos
            .iter()
            .all(|i| !i.name.contains("capi-seed")),
        "no seed left: {:?}",
        vmm.state().isos
    );
    drop(vmm);
    rt.block_on(env.kill_controller());
}
