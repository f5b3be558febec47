//! The `manager` binary as it runs in a cluster: probes and metrics answer,
//! one of two replicas leads through the Lease, and the standby takes over
//! when the leader stops.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::testbed::{TestCluster, free_port};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use operator::api;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}

struct Replica {
    child: Child,
    metrics: u16,
    probes: u16,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replica(tb: &TestCluster, ns: &str, name: &str) -> Replica {
    let metrics = free_port().unwrap();
    let probes = free_port().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_manager"))
        .env("KUBECONFIG", tb.kubeconfig_path())
        .env("POD_NAME", name)
        .args(["--namespace", ns, "--leader-election-namespace", ns])
        .args(["--metrics-bind-address", &format!("127.0.0.1:{metrics}")])
        .args([
            "--health-probe-bind-address",
            &format!("127.0.0.1:{probes}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Replica {
        child,
        metrics,
        probes,
    }
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt("capi-scvmm-manager")
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

async fn wait_for<T>(what: &str, timeout: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_metrics_and_leader_election() {
    let tb = TestCluster::builder()
        .with_crds(api::crds())
        .with_capi()
        .start()
        .await
        .unwrap();
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("manager").await.unwrap();
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);

    let a = replica(&tb, &ns, "replica-a");
    wait_for(
        "replica-a answers /healthz and /readyz",
        Duration::from_secs(30),
        async || {
            (get(a.probes, "/healthz")?.0 == 200 && get(a.probes, "/readyz")?.0 == 200)
                .then_some(())
        },
    )
    .await;
    wait_for(
        "replica-a holds the Lease",
        Duration::from_secs(30),
        async || (holder(&leases).await.as_deref() == Some("replica-a")).then_some(()),
    )
    .await;

    // A ScvmmMachine without an owner is reconciled (and waits): metrics count it.
    let sm: api::ScvmmMachine = serde_json::from_value(serde_json::json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1", "kind": "ScvmmMachine",
        "metadata": {"name": "orphan"},
        "spec": {"vmTemplate": "Ubuntu 24.04", "cpuCount": 1, "memory": "1Gi"},
    }))
    .unwrap();
    Api::<api::ScvmmMachine>::namespaced(client.clone(), &ns)
        .create(&Default::default(), &sm)
        .await
        .unwrap();
    let metrics = wait_for(
        "a reconcile is counted",
        Duration::from_secs(30),
        async || {
            let (code, body) = get(a.metrics, "/metrics")?;
            (code == 200
                && body
                    .contains("capi_scvmm_reconcile_total{controller=\"machine\",result=\"ok\"}"))
            .then_some(body)
        },
    )
    .await;
    assert!(
        metrics.contains("# TYPE capi_scvmm_reconcile_duration_seconds histogram"),
        "{metrics}"
    );
    let status = wait_for(
        "the ScvmmMachine says it waits for its Machine",
        Duration::from_secs(30),
        async || {
            let sm = Api::<api::ScvmmMachine>::namespaced(client.clone(), &ns)
                .get("orphan")
                .await
                .ok()?;
            let s = sm.status?;
            s.conditions
                .iter()
                .any(|c| c.type_ == "VMProvisioned" && c.reason == "WaitingForMachineOwner")
                .then_some(())
        },
    )
    .await;
    let () = status;

    // A second replica stands by (ready, not leading) ...
    let b = replica(&tb, &ns, "replica-b");
    wait_for("replica-b is ready", Duration::from_secs(30), async || {
        (get(b.probes, "/readyz")?.0 == 200).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(holder(&leases).await.as_deref(), Some("replica-a"));

    // ... and takes over once the leader is gone (after the lease expires).
    drop(a);
    wait_for(
        "replica-b takes the Lease over",
        Duration::from_secs(40),
        async || (holder(&leases).await.as_deref() == Some("replica-b")).then_some(()),
    )
    .await;
    drop(b);
}
