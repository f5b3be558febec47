//! The lifecycle suites of `just e2e`: the real Cluster API controllers
//! (core, kubeadm bootstrap, kubeadm control plane) drive our `manager`
//! binary against the `scvmm-sim` binary, on clusters made from our default
//! template with `clusterctl generate cluster` (one suite: from the
//! `topology` flavour and its ClusterClass, through Cluster API's topology
//! controller). Guests join their workload
//! cluster as kubeadm would, so "up" means what it means to a user: Machine
//! phase Running with a nodeRef, and a Node with the Machine's provider ID.
//!
//! Each suite has its own environment; they run one at a time (2 cores
//! cannot host several management clusters at once and stay on time).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::harness::checks::{self, MachineView};
use e2e::harness::secrets;
use e2e::harness::{E2eEnv, Options};
use e2e::testbed::WorkloadApiServer;
use kube::api::{Api, DeleteParams, DynamicObject};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Held by the running suite; tokio's lock works across the suites' own
/// runtimes and is not poisoned by a failed suite.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Machines of the cluster, all Running with a nodeRef: `control_plane`
/// control-plane machines and `workers` others, none being deleted, and
/// each with its Node (by provider ID) in the workload cluster and exactly
/// one running VM.
async fn wait_running(
    env: &mut E2eEnv,
    ns: &str,
    cluster: &str,
    workload: &WorkloadApiServer,
    control_plane: usize,
    workers: usize,
    limit: Duration,
) -> Vec<MachineView> {
    let wl = workload.client().await.unwrap();
    let (ns_, cluster_) = (ns.to_string(), cluster.to_string());
    let what =
        format!("{control_plane} control-plane and {workers} worker machines Running with Nodes");
    let machines = env
        .wait_for(&what, limit, async |env| {
            let ms = checks::machines(env, &ns_)
                .await
                .map_err(|e| e.to_string())?;
            let state = format!(
                "{}\n{}",
                checks::describe(&ms),
                checks::not_ready(env, &ns_).await
            );
            let cp = ms.iter().filter(|m| m.control_plane).count();
            if ms.len() != control_plane + workers || cp != control_plane {
                return Err(state);
            }
            if !ms.iter().all(MachineView::running) {
                return Err(state);
            }
            let nodes = checks::nodes(&wl).await.map_err(|e| e.to_string())?;
            for m in &ms {
                let pid = m.provider_id.clone().unwrap_or_default();
                if nodes.get(m.node.as_deref().unwrap_or_default()) != Some(&pid) {
                    return Err(format!(
                        "{state}; Node of {} does not carry {pid}: {nodes:?}",
                        m.name
                    ));
                }
            }
            let vms = checks::cluster_vms(env, &ns_, &cluster_)
                .await
                .map_err(|e| e.to_string())?;
            let running = vms.iter().filter(|v| v.power == "Running").count();
            if vms.len() != ms.len() || running != ms.len() {
                return Err(format!("{state}; {} VMs, {running} running", vms.len()));
            }
            Ok(ms)
        })
        .await
        .unwrap();
    // The bootstrap data exists while the machines do: the secret scan at
    // the end of the suite looks for it too.
    env.remember_secrets().await.unwrap();
    machines
}

/// The invariants at rest, within a few seconds (the last seed deletion
/// may trail the Running phase by a reconcile).
async fn assert_at_rest(env: &mut E2eEnv, ns: &str, cluster: &str) {
    let (ns_, cluster_) = (ns.to_string(), cluster.to_string());
    env.wait_for(
        "the invariants at rest",
        Duration::from_secs(60),
        async |env| {
            checks::at_rest(env, &ns_, &cluster_).await?;
            let seeds = checks::seeds(env).await.map_err(|e| e.to_string())?;
            if !seeds.is_empty() {
                return Err(format!("seed files left in the library: {seeds:?}"));
            }
            Ok(())
        },
    )
    .await
    .unwrap();
}

async fn start(prefix: &str) -> (E2eEnv, String) {
    let env = E2eEnv::start(Options {
        manager_log: "trace".into(),
        ..Options::default()
    })
    .await
    .unwrap();
    let ns = env.namespace(prefix).await.unwrap();
    (env, ns)
}

fn machine_deployment(env: &E2eEnv, ns: &str) -> Api<DynamicObject> {
    env.api(ns, "cluster.x-k8s.io", "v1beta2", "MachineDeployment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_start_one_control_plane_and_two_workers_reach_running_with_nodes() {
    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    let (mut env, ns) = start("quick-start").await;
    let workload = env.create_cluster(&ns, "qs", 1, 2, |_| {}).await.unwrap();
    let machines = wait_running(
        &mut env,
        &ns,
        "qs",
        &workload,
        1,
        2,
        Duration::from_secs(300),
    )
    .await;
    let up = started.elapsed();

    // Cluster API's own view of the cluster.
    let kcp = env
        .api(
            &ns,
            "controlplane.cluster.x-k8s.io",
            "v1beta2",
            "KubeadmControlPlane",
        )
        .get("qs-control-plane")
        .await
        .unwrap();
    let kcp = serde_json::to_value(kcp).unwrap();
    assert_eq!(
        kcp["status"]["initialization"]["controlPlaneInitialized"],
        true
    );
    let cluster = serde_json::to_value(
        env.api(&ns, "cluster.x-k8s.io", "v1beta2", "Cluster")
            .get("qs")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        cluster["status"]["initialization"]["infrastructureProvisioned"],
        true
    );
    assert_eq!(
        cluster["spec"]["controlPlaneEndpoint"],
        json!({"host": "127.0.0.1", "port": workload.port})
    );
    // The control-plane Node carries kubeadm's role label; the kubeadm
    // config kubeadm init uploads is there.
    let wl = workload.client().await.unwrap();
    let cp = machines.iter().find(|m| m.control_plane).unwrap();
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(wl.clone());
    let node = nodes.get(cp.node.as_deref().unwrap()).await.unwrap();
    assert!(
        node.metadata
            .labels
            .unwrap_or_default()
            .contains_key("node-role.kubernetes.io/control-plane")
    );
    let maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(wl, "kube-system");
    let kubeadm = maps.get("kubeadm-config").await.unwrap();
    assert!(
        kubeadm.data.unwrap()["ClusterConfiguration"].contains(&workload.endpoint()),
        "the uploaded ClusterConfiguration names the endpoint"
    );
    assert_at_rest(&mut env, &ns, "qs").await;
    eprintln!(
        "quick start: 3 machines Running with Nodes {:.1} s after start",
        up.as_secs_f64()
    );
    secrets::assert_no_leaks(&mut env).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_deployment_scales_from_2_to_10_and_to_0() {
    let _serial = SERIAL.lock().await;
    let (mut env, ns) = start("scale").await;
    let workload = env.create_cluster(&ns, "sc", 1, 2, |_| {}).await.unwrap();
    wait_running(
        &mut env,
        &ns,
        "sc",
        &workload,
        1,
        2,
        Duration::from_secs(300),
    )
    .await;

    let mds = machine_deployment(&env, &ns);
    let t = Instant::now();
    env.patch(&mds, "sc-md-0", &json!({"spec": {"replicas": 10}}))
        .await
        .unwrap();
    wait_running(
        &mut env,
        &ns,
        "sc",
        &workload,
        1,
        10,
        Duration::from_secs(420),
    )
    .await;
    let up = t.elapsed();
    assert_at_rest(&mut env, &ns, "sc").await;

    let t = Instant::now();
    env.patch(&mds, "sc-md-0", &json!({"spec": {"replicas": 0}}))
        .await
        .unwrap();
    let ms = wait_running(
        &mut env,
        &ns,
        "sc",
        &workload,
        1,
        0,
        Duration::from_secs(300),
    )
    .await;
    let down = t.elapsed();
    // Only the control plane's VM and Node remain.
    let vms = checks::cluster_vms(&env, &ns, "sc").await.unwrap();
    assert_eq!(vms.len(), 1, "{vms:?}");
    let nodes = checks::nodes(&workload.client().await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        nodes.keys().collect::<Vec<_>>(),
        vec![ms[0].node.as_ref().unwrap()]
    );
    assert_at_rest(&mut env, &ns, "sc").await;
    eprintln!(
        "scale: 2 -> 10 in {:.1} s, 10 -> 0 in {:.1} s",
        up.as_secs_f64(),
        down.as_secs_f64()
    );
    secrets::assert_no_leaks(&mut env).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_change_rolls_every_worker_onto_new_vms() {
    let _serial = SERIAL.lock().await;
    let (mut env, ns) = start("rollout").await;
    let workload = env.create_cluster(&ns, "ro", 1, 2, |_| {}).await.unwrap();
    let before = wait_running(
        &mut env,
        &ns,
        "ro",
        &workload,
        1,
        2,
        Duration::from_secs(300),
    )
    .await;

    // A new template (templates are immutable), then point the
    // MachineDeployment at it: the rollout users do.
    let templates = env.api(
        &ns,
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmMachineTemplate",
    );
    let old = serde_json::to_value(templates.get("ro-worker").await.unwrap()).unwrap();
    let mut spec = old["spec"].clone();
    spec["template"]["spec"]["cpuCount"] = json!(4);
    env.apply(
        &ns,
        &json!({
            "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
            "kind": "ScvmmMachineTemplate",
            "metadata": {"name": "ro-worker-v2", "namespace": ns},
            "spec": spec,
        }),
    )
    .await
    .unwrap();
    let t = Instant::now();
    env.patch(
        &machine_deployment(&env, &ns),
        "ro-md-0",
        &json!({"spec": {"template": {"spec": {"infrastructureRef": {"name": "ro-worker-v2"}}}}}),
    )
    .await
    .unwrap();
    let old_names: Vec<String> = before
        .iter()
        .filter(|m| !m.control_plane)
        .map(|m| m.name.clone())
        .collect();
    let ns_ = ns.clone();
    env.wait_for(
        "every worker replaced",
        Duration::from_secs(300),
        async |env| {
            let ms = checks::machines(env, &ns_)
                .await
                .map_err(|e| e.to_string())?;
            let workers: Vec<&MachineView> = ms.iter().filter(|m| !m.control_plane).collect();
            let done = workers.len() == 2
                && workers
                    .iter()
                    .all(|m| m.running() && !old_names.contains(&m.name));
            if done {
                Ok(())
            } else {
                Err(checks::describe(&ms))
            }
        },
    )
    .await
    .unwrap();
    let after = wait_running(
        &mut env,
        &ns,
        "ro",
        &workload,
        1,
        2,
        Duration::from_secs(120),
    )
    .await;
    let rolled = t.elapsed();
    // The new workers' VMs have the new size; the old VMs are gone.
    let vms = checks::cluster_vms(&env, &ns, "ro").await.unwrap();
    for m in after.iter().filter(|m| !m.control_plane) {
        let vm = vms
            .iter()
            .find(|v| v.name == m.infrastructure)
            .unwrap_or_else(|| panic!("no VM for {}: {vms:?}", m.name));
        assert_eq!(vm.cpu_count, 4, "{vm:?}");
    }
    for name in before
        .iter()
        .filter(|m| !m.control_plane)
        .map(|m| &m.infrastructure)
    {
        assert!(
            !vms.iter().any(|v| &v.name == name),
            "old VM {name} is still there"
        );
    }
    assert_at_rest(&mut env, &ns, "ro").await;
    eprintln!(
        "rolling update: 2 workers replaced in {:.1} s",
        rolled.as_secs_f64()
    );
    secrets::assert_no_leaks(&mut env).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_cluster_leaves_no_vm_no_iso_and_no_ip_grant() {
    let _serial = SERIAL.lock().await;
    let (mut env, ns) = start("delete").await;
    // Workers take their address from a VMM static IP pool, so that there
    // are grants to give back.
    let workload = env
        .create_cluster(&ns, "del", 1, 2, |docs| {
            for d in docs.iter_mut() {
                if d["kind"] == "ScvmmMachineTemplate" && d["metadata"]["name"] == "del-worker" {
                    d["spec"]["template"]["spec"]["network"]["devices"][0] = json!({
                        "name": "eth0", "vmNetwork": "Prod-VLAN100", "scvmmIPPool": "Prod-VLAN100-Pool",
                    });
                }
            }
        })
        .await
        .unwrap();
    wait_running(
        &mut env,
        &ns,
        "del",
        &workload,
        1,
        2,
        Duration::from_secs(300),
    )
    .await;
    let grants = checks::ip_grants(&env).await.unwrap();
    assert_eq!(grants.len(), 2, "one grant per worker: {grants:?}");
    assert_at_rest(&mut env, &ns, "del").await;

    let t = Instant::now();
    env.api(&ns, "cluster.x-k8s.io", "v1beta2", "Cluster")
        .delete("del", &DeleteParams::default())
        .await
        .unwrap();
    let ns_ = ns.clone();
    env.wait_for(
        "the Cluster and everything it owned gone",
        Duration::from_secs(300),
        async |env| {
            let cluster = env
                .api(&ns_, "cluster.x-k8s.io", "v1beta2", "Cluster")
                .get_opt("del")
                .await
                .map_err(|e| e.to_string())?;
            let infra: Vec<String> = env
                .api(
                    &ns_,
                    "infrastructure.cluster.x-k8s.io",
                    "v1alpha1",
                    "ScvmmMachine",
                )
                .list(&Default::default())
                .await
                .map_err(|e| e.to_string())?
                .items
                .into_iter()
                .filter_map(|m| m.metadata.name)
                .collect();
            if cluster.is_some() || !infra.is_empty() {
                return Err(format!(
                    "Cluster present: {}; ScvmmMachines: {infra:?}",
                    cluster.is_some()
                ));
            }
            Ok(())
        },
    )
    .await
    .unwrap();
    let deleted = t.elapsed();
    let vms = checks::cluster_vms(&env, &ns, "del").await.unwrap();
    assert!(vms.is_empty(), "VMs left: {vms:?}");
    assert!(
        checks::vms(&env).await.unwrap().is_empty(),
        "no VM of any kind is left"
    );
    let seeds = checks::seeds(&env).await.unwrap();
    assert!(seeds.is_empty(), "seed ISOs or files left: {seeds:?}");
    let grants = checks::ip_grants(&env).await.unwrap();
    assert!(grants.is_empty(), "IP grants left: {grants:?}");
    eprintln!(
        "cluster deletion: everything gone {:.1} s after the delete",
        deleted.as_secs_f64()
    );
    secrets::assert_no_leaks(&mut env).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_health_check_replaces_a_worker_whose_vm_was_stopped_behind_our_back() {
    let _serial = SERIAL.lock().await;
    let (mut env, ns) = start("remediation").await;
    let workload = env.create_cluster(&ns, "mhc", 1, 2, |_| {}).await.unwrap();
    let before = wait_running(
        &mut env,
        &ns,
        "mhc",
        &workload,
        1,
        2,
        Duration::from_secs(300),
    )
    .await;
    env.apply(
        &ns,
        &json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2",
            "kind": "MachineHealthCheck",
            "metadata": {"name": "mhc-md-0", "namespace": ns},
            "spec": {
                "clusterName": "mhc",
                "selector": {"matchLabels": {"cluster.x-k8s.io/deployment-name": "mhc-md-0"}},
                "checks": {
                    "nodeStartupTimeoutSeconds": 600,
                    "unhealthyNodeConditions": [
                        {"type": "Ready", "status": "Unknown", "timeoutSeconds": 10},
                        {"type": "Ready", "status": "False", "timeoutSeconds": 10},
                    ],
                },
            },
        }),
    )
    .await
    .unwrap();
    // Let the MachineHealthCheck see both workers healthy first.
    let ns_ = ns.clone();
    env.wait_for(
        "the MachineHealthCheck to count 2 healthy machines",
        Duration::from_secs(120),
        async |env| {
            let mhc = env
                .api(&ns_, "cluster.x-k8s.io", "v1beta2", "MachineHealthCheck")
                .get("mhc-md-0")
                .await
                .map_err(|e| e.to_string())?;
            let v: Value = serde_json::to_value(mhc).unwrap_or_default();
            if v["status"]["currentHealthy"] == 2 {
                Ok(())
            } else {
                Err(v["status"].to_string())
            }
        },
    )
    .await
    .unwrap();

    let victim = before.iter().find(|m| !m.control_plane).unwrap().clone();
    let t = Instant::now();
    env.admin_ps(&format!(
        "Stop-SCVirtualMachine -VM (Get-SCVirtualMachine -Name '{}') -Force | Out-Null",
        victim.infrastructure
    ))
    .await
    .unwrap();
    let victim_name = victim.name.clone();
    let ns_ = ns.clone();
    env.wait_for(
        "the stopped worker replaced",
        Duration::from_secs(300),
        async |env| {
            let ms = checks::machines(env, &ns_)
                .await
                .map_err(|e| e.to_string())?;
            let workers: Vec<&MachineView> = ms.iter().filter(|m| !m.control_plane).collect();
            let replaced =
                workers.len() == 2 && workers.iter().all(|m| m.running() && m.name != victim_name);
            if replaced {
                Ok(())
            } else {
                Err(checks::describe(&ms))
            }
        },
    )
    .await
    .unwrap();
    let remediated = t.elapsed();
    wait_running(
        &mut env,
        &ns,
        "mhc",
        &workload,
        1,
        2,
        Duration::from_secs(120),
    )
    .await;
    let vms = checks::cluster_vms(&env, &ns, "mhc").await.unwrap();
    assert!(
        !vms.iter().any(|v| v.name == victim.infrastructure),
        "the stopped VM was removed: {vms:?}"
    );
    assert_at_rest(&mut env, &ns, "mhc").await;
    eprintln!(
        "remediation: stopped worker replaced {:.1} s after the stop",
        remediated.as_secs_f64()
    );
    secrets::assert_no_leaks(&mut env).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_from_the_cluster_class_comes_up_and_is_deleted_without_leftovers() {
    let _serial = SERIAL.lock().await;
    let started = Instant::now();
    let (mut env, ns) = start("topology").await;
    // The topology flavour as clusterctl renders it from a release: the
    // ClusterClass "scvmm" and its templates, and a Cluster naming it.
    let workload = env
        .create_cluster_from_flavour(&ns, "tp", "topology", 1, 1, |_| {})
        .await
        .unwrap();
    wait_running(
        &mut env,
        &ns,
        "tp",
        &workload,
        1,
        1,
        Duration::from_secs(240),
    )
    .await;
    let up = started.elapsed();

    // Cluster API made the infrastructure from the class: the Cluster's
    // topology is reconciled, its ScvmmCluster was stamped out of the
    // ScvmmClusterTemplate (a generated name, the topology's label, the
    // Cluster as controller) and provisioned with the endpoint the
    // controlPlaneEndpoint variable gave.
    let cluster = serde_json::to_value(
        env.api(&ns, "cluster.x-k8s.io", "v1beta2", "Cluster")
            .get("tp")
            .await
            .unwrap(),
    )
    .unwrap();
    let topology_reconciled = cluster["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "TopologyReconciled" && c["status"] == "True");
    assert!(topology_reconciled, "{}", cluster["status"]);
    assert_eq!(
        cluster["status"]["initialization"]["infrastructureProvisioned"],
        true
    );
    assert_eq!(
        cluster["spec"]["controlPlaneEndpoint"],
        json!({"host": "127.0.0.1", "port": workload.port})
    );
    let infra = &cluster["spec"]["infrastructureRef"];
    assert_eq!(infra["kind"], "ScvmmCluster");
    let sc_name = infra["name"].as_str().unwrap();
    assert_ne!(sc_name, "tp", "named by the topology controller");
    let sc = serde_json::to_value(
        env.api(
            &ns,
            "infrastructure.cluster.x-k8s.io",
            "v1alpha1",
            "ScvmmCluster",
        )
        .get(sc_name)
        .await
        .unwrap(),
    )
    .unwrap();
    assert!(
        sc["metadata"]["labels"]
            .get("topology.cluster.x-k8s.io/owned")
            .is_some(),
        "{}",
        sc["metadata"]
    );
    assert!(
        sc["metadata"]["ownerReferences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["kind"] == "Cluster" && o["name"] == "tp" && o["controller"] == true),
        "{}",
        sc["metadata"]
    );
    assert_eq!(sc["status"]["initialization"]["provisioned"], true);
    assert_eq!(
        sc["spec"]["server"]["endpoint"],
        format!("http://127.0.0.1:{}/wsman", env.sim_port)
    );

    // The VMs have the sizes the machine variables gave (2 CPUs by
    // default, 2Gi from SCVMM_*_MEMORY).
    let vms = checks::cluster_vms(&env, &ns, "tp").await.unwrap();
    assert_eq!(vms.len(), 2, "{vms:?}");
    for vm in &vms {
        assert_eq!((vm.cpu_count, vm.memory_mb), (2, 2048), "{vm:?}");
    }
    assert_at_rest(&mut env, &ns, "tp").await;

    // Deleting the Cluster takes everything the topology made with it; the
    // class and its own templates stay for the next Cluster.
    let t = Instant::now();
    env.api(&ns, "cluster.x-k8s.io", "v1beta2", "Cluster")
        .delete("tp", &DeleteParams::default())
        .await
        .unwrap();
    let ns_ = ns.clone();
    env.wait_for(
        "the Cluster and everything it owned gone",
        Duration::from_secs(180),
        async |env| {
            let names = async |kind: &str| -> Result<Vec<String>, String> {
                let (group, version) = if kind.starts_with("Scvmm") {
                    ("infrastructure.cluster.x-k8s.io", "v1alpha1")
                } else {
                    ("cluster.x-k8s.io", "v1beta2")
                };
                Ok(env
                    .api(&ns_, group, version, kind)
                    .list(&Default::default())
                    .await
                    .map_err(|e| e.to_string())?
                    .items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .collect())
            };
            // The topology's copies of the class's machine templates are
            // owned by the Cluster and go with it (garbage collection).
            let mut templates = names("ScvmmMachineTemplate").await?;
            templates.retain(|t| t != "scvmm-control-plane" && t != "scvmm-worker");
            let left = [
                ("Cluster", names("Cluster").await?),
                ("Machine", names("Machine").await?),
                ("ScvmmCluster", names("ScvmmCluster").await?),
                ("ScvmmMachine", names("ScvmmMachine").await?),
                ("ScvmmMachineTemplate", templates),
            ];
            if left.iter().all(|(_, n)| n.is_empty()) {
                Ok(())
            } else {
                Err(format!("left: {left:?}"))
            }
        },
    )
    .await
    .unwrap();
    let deleted = t.elapsed();
    assert!(checks::vms(&env).await.unwrap().is_empty(), "no VM is left");
    let seeds = checks::seeds(&env).await.unwrap();
    assert!(seeds.is_empty(), "seed ISOs or files left: {seeds:?}");
    let templates: Vec<String> = env
        .api(
            &ns,
            "infrastructure.cluster.x-k8s.io",
            "v1alpha1",
            "ScvmmMachineTemplate",
        )
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    assert_eq!(templates, ["scvmm-control-plane", "scvmm-worker"]);
    eprintln!(
        "topology: 2 machines Running with Nodes {:.1} s after start, everything gone {:.1} s after the delete",
        up.as_secs_f64(),
        deleted.as_secs_f64()
    );
    secrets::assert_no_leaks(&mut env).await.unwrap();
}
