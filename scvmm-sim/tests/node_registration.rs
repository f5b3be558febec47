//! The fake kubelet (`--register-nodes-kubeconfig`) against a real
//! kube-apiserver (the e2e test bed): a VM that boots from the operator's
//! seed registers a Ready Node carrying the seed's provider ID and address,
//! goes Ready=Unknown when it stops, Ready again when it starts, and its
//! Node is deleted when the VM is removed. An unreachable API server costs
//! the emulator nothing but a recorded error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use e2e::testbed::TestCluster;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use operator::bootstrap::{DeviceConfig, SeedSpec, build_iso, render};
use scvmm_sim::backend::PowerShellBackend;
use scvmm_sim::cli::Args;
use scvmm_sim::server::RunningSim;
use scvmm_sim::vmm::cmdlets::{
    DvdMediaRequest, DvdTarget, NewVm, ReadLibraryShare, SetDvdDrive, StopMode, StopVm, VmSource,
};
use scvmm_sim::vmm::{SystemClock, VmState};
use serde_json::Value;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const INSTANCE: &str = "4217c2a5-0a5e-4b9c-9c1e-0123456789ab";
const SHARE: &str = "\\\\vmm01.contoso.com\\MSSCVMMLibrary";

async fn sim(kubeconfig: &Path) -> RunningSim {
    let args = Args::parse_from([
        "scvmm-sim",
        "--listen",
        "127.0.0.1:0",
        "--latency-scale",
        "0.01",
        "--register-nodes-kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--node-kubelet-version",
        "v1.33.2",
    ]);
    scvmm_sim::server::start(&args, |vmm| {
        Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
            vmm,
            Arc::new(SystemClock),
        )))
    })
    .await
    .unwrap()
}

/// Polls `f` every 100 ms until it gives `Some`, for at most `limit`.
async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Puts the operator's seed for `hostname` (instance `instance`) in the
/// library and creates and starts a VM with it in its DVD drive, as the
/// operator's create script does (one job group). Returns the VM's id.
async fn create_and_start(
    sim: &RunningSim,
    name: &str,
    hostname: &str,
    address: &str,
    instance: &str,
) -> Uuid {
    let seed = render(&SeedSpec {
        instance_id: instance.into(),
        hostname: hostname.into(),
        devices: vec![DeviceConfig {
            name: "eth0".into(),
            addresses: vec![format!("{address}/24")],
            gateway4: Some("10.20.0.1".into()),
            ..Default::default()
        }],
        user_data: b"#cloud-config\n".to_vec(),
    })
    .unwrap();
    let iso_path = format!("{SHARE}\\seeds\\{name}_cidata.iso");
    {
        let mut vmm = sim.vmm.lock().unwrap();
        vmm.write_library_file(&iso_path, build_iso(&seed).unwrap())
            .unwrap();
        vmm.read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: Some("seeds".into()),
        })
        .unwrap();
    }
    let iso = eventually("the library refresh", Duration::from_secs(10), || {
        let found = {
            let mut vmm = sim.vmm.lock().unwrap();
            vmm.settle();
            vmm.state()
                .isos
                .iter()
                .find(|i| i.share_path == iso_path)
                .map(|i| i.id)
        };
        async move { found }
    })
    .await;
    let mut vmm = sim.vmm.lock().unwrap();
    let group = Uuid::new_v4();
    vmm.set_dvd_drive(&SetDvdDrive {
        target: DvdTarget::Staged {
            job_group: group,
            bus: 0,
            lun: 1,
        },
        media: DvdMediaRequest::Iso {
            iso: iso.into(),
            link: false,
        },
    })
    .unwrap();
    let mut req = NewVm::new(
        name,
        VmSource::Template {
            template: "Ubuntu 24.04".into(),
            host: "hv01.contoso.com".into(),
            path: None,
        },
    );
    req.job_group = Some(group);
    req.start_vm = true;
    vmm.new_vm(&req).unwrap().object.id
}

fn ready(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.clone())
}

async fn node_with_ready(nodes: &Api<Node>, name: &str, want: &str) -> Node {
    eventually(
        &format!("Node {name} with Ready={want}"),
        Duration::from_secs(30),
        || async {
            nodes
                .get_opt(name)
                .await
                .ok()
                .flatten()
                .filter(|n| ready(n).as_deref() == Some(want))
        },
    )
    .await
}

fn power(sim: &RunningSim, vm: Uuid, want: VmState) -> Option<()> {
    let mut vmm = sim.vmm.lock().unwrap();
    vmm.settle();
    (vmm.state().vm(vm)?.status == want).then_some(())
}

/// An inspection API call with the default account; the response body.
async fn api(sim: &RunningSim, method: &str, path: &str) -> String {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = sim.handle.local_addr();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode("CORP\\capi-svc:scvmm-sim");
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    assert!(text.starts_with("HTTP/1.1 2"), "{method} {path}: {text}");
    text.split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string())
}

/// `GET /sim/v1/vms`.
async fn vms(sim: &RunningSim) -> Vec<Value> {
    let body = api(sim, "GET", "/sim/v1/vms").await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn seed_record(sim: &RunningSim, vm: Uuid) -> Value {
    vms(sim)
        .await
        .into_iter()
        .find(|v| v["id"] == vm.to_string())
        .map(|v| v["seed"].clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booted_guest_registers_its_node_until_the_vm_is_removed() {
    let tb = TestCluster::builder()
        .without_controller_manager()
        .with_crds(Vec::new())
        .start()
        .await
        .expect("test bed starts");
    let started = Instant::now();
    let sim = sim(tb.kubeconfig_path()).await;
    let client = tb.client().await.unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client, "kube-node-lease");

    let vm = create_and_start(&sim, "node-vm", "Node-VM", "10.20.0.50", INSTANCE).await;

    // Booted: a Ready Node named after the host name (lowercased, as
    // kubelet does), with the seed's provider ID and address.
    let node = node_with_ready(&nodes, "node-vm", "True").await;
    let registered_in = started.elapsed();
    let spec = node.spec.clone().unwrap();
    assert_eq!(
        spec.provider_id.as_deref(),
        Some(format!("scvmm://{INSTANCE}").as_str())
    );
    let status = node.status.clone().unwrap();
    let addresses: Vec<(String, String)> = status
        .addresses
        .unwrap()
        .into_iter()
        .map(|a| (a.type_, a.address))
        .collect();
    assert_eq!(
        addresses,
        [
            ("InternalIP".into(), "10.20.0.50".into()),
            ("Hostname".into(), "node-vm".into())
        ]
    );
    let info = status.node_info.unwrap();
    assert_eq!(info.kubelet_version, "v1.33.2");
    assert_eq!(
        (info.operating_system.as_str(), info.architecture.as_str()),
        ("linux", "amd64")
    );
    let bios = sim.vmm.lock().unwrap().state().vm(vm).unwrap().bios_guid;
    assert_eq!(info.system_uuid, bios.to_string());
    let labels = node.metadata.labels.clone().unwrap();
    assert_eq!(labels["kubernetes.io/hostname"], "node-vm");
    let managers: Vec<String> = node
        .metadata
        .managed_fields
        .clone()
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.iter().all(|m| m == "scvmm-sim"), "{managers:?}");
    let lease = leases.get("node-vm").await.unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("node-vm")
    );
    let record = eventually(
        "the registration record",
        Duration::from_secs(5),
        || async {
            let r = seed_record(&sim, vm).await;
            (r["nodeRegistration"] == "registered Node node-vm (Ready)").then_some(r)
        },
    )
    .await;
    assert_eq!(record["node"], "node-vm");

    // Powered off: Ready=Unknown, as the node lifecycle controller would
    // write once the kubelet falls silent; the Node stays.
    sim.vmm
        .lock()
        .unwrap()
        .stop_vm(&StopVm {
            vm: vm.into(),
            mode: StopMode::Force,
        })
        .unwrap();
    let off = node_with_ready(&nodes, "node-vm", "Unknown").await;
    let condition = |n: &Node| {
        n.status
            .clone()
            .unwrap()
            .conditions
            .unwrap()
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap()
    };
    assert_eq!(condition(&off).reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        condition(&off).last_heartbeat_time,
        condition(&node).last_heartbeat_time,
        "Unknown keeps the last heartbeat"
    );

    // Started again, now without the seed (the operator ejects it once
    // provisioned): the configured guest comes back Ready under its name.
    eventually("PowerOff", Duration::from_secs(10), || async {
        power(&sim, vm, VmState::PowerOff)
    })
    .await;
    let eject = {
        let mut vmm = sim.vmm.lock().unwrap();
        let drive = vmm.state().vm(vm).unwrap().dvd_drives[0].id;
        vmm.set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::NoMedia,
        })
        .unwrap()
        .and_then(|s| s.job)
        .map(|j| j.id)
    };
    eventually("the eject", Duration::from_secs(10), || async {
        let mut vmm = sim.vmm.lock().unwrap();
        vmm.settle();
        let done = eject.is_none_or(|j| vmm.state().job(j).is_some_and(|j| !j.is_running()));
        let empty = vmm
            .state()
            .vm(vm)
            .is_some_and(|v| v.dvd_drives.iter().all(|d| d.iso.is_none()));
        (done && empty).then_some(())
    })
    .await;
    sim.vmm.lock().unwrap().start_vm(&vm.into()).unwrap();
    node_with_ready(&nodes, "node-vm", "True").await;

    // Removed: the Node goes, as a cloud controller manager deletes it.
    sim.vmm
        .lock()
        .unwrap()
        .stop_vm(&StopVm {
            vm: vm.into(),
            mode: StopMode::Force,
        })
        .unwrap();
    eventually("PowerOff", Duration::from_secs(10), || async {
        power(&sim, vm, VmState::PowerOff)
    })
    .await;
    sim.vmm
        .lock()
        .unwrap()
        .remove_vm(&vm.into(), false)
        .unwrap();
    eventually("the Node's deletion", Duration::from_secs(30), || async {
        matches!(nodes.get_opt("node-vm").await, Ok(None)).then_some(())
    })
    .await;
    assert!(matches!(leases.get_opt("node-vm").await, Ok(None)));

    // A reset of the emulator makes every VM vanish, and their Nodes.
    create_and_start(
        &sim,
        "reset-vm",
        "reset-vm",
        "10.20.0.51",
        &Uuid::new_v4().to_string(),
    )
    .await;
    node_with_ready(&nodes, "reset-vm", "True").await;
    api(&sim, "POST", "/sim/v1/reset").await;
    eventually(
        "the Node's deletion on reset",
        Duration::from_secs(30),
        || async { matches!(nodes.get_opt("reset-vm").await, Ok(None)).then_some(()) },
    )
    .await;
    eprintln!(
        "test bed started in {:?}; Node Ready {:?} after the emulator started; whole flow {:?}",
        tb.started_in(),
        registered_in,
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_recorded_and_the_guest_still_boots() {
    // A kubeconfig whose server nobody listens on.
    let port = e2e::testbed::free_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    let sim = sim(&kubeconfig).await;
    let vm = create_and_start(
        &sim,
        "lonely-vm",
        "lonely-vm",
        "10.20.0.60",
        &Uuid::new_v4().to_string(),
    )
    .await;

    let record = eventually("a recorded failure", Duration::from_secs(20), || async {
        let r = seed_record(&sim, vm).await;
        r["nodeRegistration"]
            .as_str()
            .is_some_and(|s| s.starts_with("retrying"))
            .then_some(r)
    })
    .await;
    assert!(
        record["nodeRegistration"]
            .as_str()
            .unwrap()
            .contains("Node lonely-vm"),
        "{record}"
    );
    // The guest reports its address all the same.
    eventually("the guest's address", Duration::from_secs(10), || async {
        let vmm = sim.vmm.lock().unwrap();
        vmm.state()
            .vm(vm)
            .is_some_and(|v| {
                v.guest
                    .addresses
                    .values()
                    .flatten()
                    .any(|a| a == "10.20.0.60")
            })
            .then_some(())
    })
    .await;
    // Removing the VM while registration still retries is fine too.
    sim.vmm
        .lock()
        .unwrap()
        .stop_vm(&StopVm {
            vm: vm.into(),
            mode: StopMode::Force,
        })
        .unwrap();
    eventually("PowerOff", Duration::from_secs(10), || async {
        power(&sim, vm, VmState::PowerOff)
    })
    .await;
    sim.vmm
        .lock()
        .unwrap()
        .remove_vm(&vm.into(), false)
        .unwrap();
    eventually("the VM's removal", Duration::from_secs(10), || async {
        let mut vmm = sim.vmm.lock().unwrap();
        vmm.settle();
        vmm.state().vm(vm).is_none().then_some(())
    })
    .await;
}
