//! The ScvmmCluster controller against the real local API server, the real
//! Cluster API core manager (and the in-cluster IPAM provider), scvmm-sim
//! and our controllers: failure domains validated, published and used for
//! placement; a VIP claimed from an IPAM pool; pausing stops every SCVMM
//! write; deleting and re-creating the objects as `clusterctl move` does
//! re-adopts the VMs without creating any; orphans are reported and only
//! deleted on opt-in; deletion waits for machines; externally managed
//! clusters are left alone; templates publish capacity and stay immutable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use operator::api;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::*;

const T: Duration = Duration::from_secs(120);
const GV: &str = "infrastructure.cluster.x-k8s.io/v1alpha1";

/// Credentials Secret, a ScvmmCluster with `spec`'s fields over a working
/// server block, and a Cluster pointing at it.
async fn cluster_with(env: &Env, name: &str, extra: Value, password: &str) {
    let pp = PostParams::default();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    let secret = format!("{name}-vmm");
    if secrets.get_opt(&secret).await.unwrap().is_none() {
        secrets
            .create(
                &pp,
                &serde_json::from_value(json!({
                    "metadata": {"name": secret},
                    "stringData": {"username": USER, "password": password},
                }))
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let mut spec = json!({
        "server": {"endpoint": env.sim_url, "scheme": "HTTP", "auth": "NTLM",
                   "credentialsRef": {"name": secret},
                   "libraryShare": "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds"},
    });
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    env.api("ScvmmCluster")
        .create(
            &pp,
            &obj(json!({"apiVersion": GV, "kind": "ScvmmCluster", "metadata": {"name": name}, "spec": spec})),
        )
        .await
        .unwrap();
    env.api("Cluster")
        .create(&pp, &obj(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": name},
            "spec": {
                "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}},
                "infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmCluster", "name": name},
            },
        })))
        .await
        .unwrap();
}

fn three_domains() -> Value {
    json!({
        "controlPlaneEndpoint": {"host": "10.20.0.10", "port": 6443},
        "failureDomains": [
            {"name": "rack1", "controlPlane": true, "hostGroup": "All Hosts\\Prod\\Rack1"},
            {"name": "rack2", "controlPlane": true, "hostGroup": "All Hosts\\Prod\\Rack2"},
            {"name": "dev", "hostGroup": "All Hosts\\Dev"},
        ],
    })
}

async fn cluster_ready(env: &Env, name: &str) -> Value {
    eventually(
        &env.api("ScvmmCluster"),
        name,
        &format!("ScvmmCluster {name} is provisioned and Ready"),
        T,
        |v| {
            v["status"]["initialization"]["provisioned"] == true
                && condition(v, "Ready").is_some_and(|c| c["status"] == "True")
        },
    )
    .await
}

fn set_paused(paused: bool) -> Patch<Value> {
    Patch::Merge(json!({"spec": {"paused": paused}}))
}

async fn scvmm_machines(env: &Env, cluster: &str) -> Vec<Value> {
    env.api("ScvmmMachine")
        .list(&ListParams::default().labels(&format!("cluster.x-k8s.io/cluster-name={cluster}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_failure_domains_are_published_and_machines_land_where_capi_asks() {
    let mut env = Env::start("fd").await;
    env.start_controller();
    let started = std::time::Instant::now();
    cluster_with(&env, "c1", three_domains(), PASSWORD).await;
    let sc = cluster_ready(&env, "c1").await;
    eprintln!(
        "ScvmmCluster provisioned in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let fds = sc["status"]["failureDomains"].as_array().unwrap();
    assert_eq!(fds.len(), 3, "{sc:#}");
    assert_eq!(fds[0]["attributes"]["hostGroup"], "All Hosts\\Prod\\Rack1");
    assert_eq!(fds[2]["controlPlane"], false);
    assert_eq!(sc["status"]["serverVersion"], "10.22.1287.0");
    for t in [
        "ScvmmAvailable",
        "FailureDomainsReady",
        "ControlPlaneEndpointReady",
    ] {
        assert_eq!(condition(&sc, t).unwrap()["status"], "True", "{t}: {sc:#}");
    }
    // CAPI copies the domains and the endpoint into the Cluster.
    let cluster = eventually(
        &env.api("Cluster"),
        "c1",
        "the Cluster shows the failure domains",
        T,
        |v| {
            v["status"]["failureDomains"]
                .as_array()
                .is_some_and(|f| f.len() == 3)
        },
    )
    .await;
    assert_eq!(
        cluster["spec"]["controlPlaneEndpoint"]["host"],
        "10.20.0.10"
    );

    // One MachineDeployment per failure domain, as users spread workers.
    let pp = PostParams::default();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    secrets
        .create(&pp, &serde_json::from_value(json!({
            "metadata": {"name": "c1-bootstrap", "labels": {"cluster.x-k8s.io/cluster-name": "c1"}},
            "type": "cluster.x-k8s.io/secret",
            "stringData": {"value": USER_DATA, "format": "cloud-config"},
        })).unwrap())
        .await
        .unwrap();
    env.api("ScvmmMachineTemplate")
        .create(&pp, &obj(json!({
            "apiVersion": GV, "kind": "ScvmmMachineTemplate", "metadata": {"name": "workers"},
            "spec": {"template": {"spec": {
                "vmTemplate": "Ubuntu 24.04", "cpuCount": 2, "memory": "4Gi",
                "network": {"devices": [{"name": "eth0", "vmNetwork": "Prod-VLAN100", "dhcp4": true}]},
            }}},
        })))
        .await
        .unwrap();
    let mds = dynamic_api(
        &env.client,
        &env.ns,
        "cluster.x-k8s.io",
        "v1beta2",
        "MachineDeployment",
    );
    for fd in ["rack1", "rack2", "dev"] {
        mds.create(&pp, &obj(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "MachineDeployment",
            "metadata": {"name": format!("md-{fd}")},
            "spec": {
                "clusterName": "c1", "replicas": 1,
                "selector": {"matchLabels": {"md": fd}},
                "template": {
                    "metadata": {"labels": {"md": fd}},
                    "spec": {
                        "clusterName": "c1", "version": "v1.33.0", "failureDomain": fd,
                        "bootstrap": {"dataSecretName": "c1-bootstrap"},
                        "infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmMachineTemplate", "name": "workers"},
                    },
                },
            },
        })))
        .await
        .unwrap();
    }

    let deadline = std::time::Instant::now() + T;
    let machines = loop {
        let ms = scvmm_machines(&env, "c1").await;
        if ms.len() == 3
            && ms.iter().all(|m| {
                m["status"]["initialization"]["provisioned"] == true
                    && m["status"]["vm"]["hostGroup"].is_string()
            })
        {
            break ms;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "3 machines provisioned: {ms:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!(
        "3 MachineDeployment machines provisioned {:.1} s after the cluster was created",
        started.elapsed().as_secs_f64()
    );
    let want: BTreeMap<&str, &str> = [
        ("rack1", "All Hosts\\Prod\\Rack1"),
        ("rack2", "All Hosts\\Prod\\Rack2"),
        ("dev", "All Hosts\\Dev"),
    ]
    .into();
    let mut seen = BTreeSet::new();
    for m in &machines {
        let fd = m["status"]["failureDomain"].as_str().unwrap();
        assert_eq!(m["status"]["vm"]["hostGroup"], want[fd], "{m:#}");
        seen.insert(fd.to_string());
        // The Machine carries the host and host group for CAPI to copy to the Node.
        let owner = m["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap();
        let machine = eventually(
            &env.api("Machine"),
            owner,
            "the Machine has placement labels",
            T,
            |v| v["metadata"]["labels"]["node.cluster.x-k8s.io/scvmm-host-group"].is_string(),
        )
        .await;
        let labels = &machine["metadata"]["labels"];
        assert_eq!(
            labels["node.cluster.x-k8s.io/scvmm-host-group"],
            want[fd].replace(' ', "_").replace('\\', "."),
            "{machine:#}"
        );
        assert_eq!(
            labels["node.cluster.x-k8s.io/scvmm-host"],
            m["status"]["vm"]["host"]
        );
    }
    assert_eq!(seen.len(), 3, "one machine per failure domain");

    // The template publishes what a machine offers (autoscaling from zero).
    let t = eventually(
        &env.api("ScvmmMachineTemplate"),
        "workers",
        "capacity",
        T,
        |v| v["status"]["capacity"]["cpu"] == "2",
    )
    .await;
    assert_eq!(t["status"]["capacity"]["memory"], "4Gi");
    assert_eq!(t["status"]["nodeInfo"]["operatingSystem"], "linux");
    assert_eq!(t["status"]["nodeInfo"]["architecture"], "amd64");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_credentials_and_failure_domains_are_reported_and_recover() {
    let mut env = Env::start("fdbad").await;
    env.start_controller();
    let mut extra = three_domains();
    extra["failureDomains"].as_array_mut().unwrap().extend([
        json!({"name": "nowhere", "hostGroup": "All Hosts\\Nowhere"}),
        json!({"name": "nocloud", "cloud": "No Such Cloud"}),
        json!({"name": "nonet", "hostGroup": "All Hosts\\Prod\\Rack1",
               "networking": {"devices": [{"name": "eth0", "vmNetwork": "No-Such-Net", "dhcp4": true}]}}),
    ]);
    cluster_with(&env, "c1", extra, "wrong-password").await;
    let sc = eventually(
        &env.api("ScvmmCluster"),
        "c1",
        "credentials refused",
        T,
        |v| condition(v, "ScvmmAvailable").is_some_and(|c| c["reason"] == "ScvmmUnauthorized"),
    )
    .await;
    let message = condition(&sc, "ScvmmAvailable").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("c1-vmm"), "names the Secret: {message}");
    assert!(
        !serde_json::to_string(&sc)
            .unwrap()
            .contains("wrong-password")
    );
    assert_ne!(sc["status"]["initialization"]["provisioned"], true);

    // Rotating the Secret is picked up without a restart.
    env.set_password("c1-vmm", PASSWORD).await;
    let sc = eventually(&env.api("ScvmmCluster"), "c1", "domains checked", T, |v| {
        condition(v, "FailureDomainsReady").is_some_and(|c| c["reason"] == "FailureDomainInvalid")
    })
    .await;
    let fd = condition(&sc, "FailureDomainsReady").unwrap();
    let m = fd["message"].as_str().unwrap();
    assert!(
        m.contains("nowhere") && m.contains("All Hosts\\Nowhere"),
        "{m}"
    );
    assert!(m.contains("nocloud") && m.contains("No Such Cloud"), "{m}");
    assert!(m.contains("nonet") && m.contains("No-Such-Net"), "{m}");
    let published: Vec<&str> = sc["status"]["failureDomains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(published, ["rack1", "rack2", "dev"]);
    assert_ne!(
        sc["status"]["initialization"]["provisioned"], true,
        "{sc:#}"
    );
    assert_eq!(condition(&sc, "ScvmmAvailable").unwrap()["status"], "True");

    // Fixing the spec provisions the cluster.
    env.api("ScvmmCluster")
        .patch(
            "c1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": three_domains()})),
        )
        .await
        .unwrap();
    cluster_ready(&env, "c1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pausing_stops_every_scvmm_write_until_resumed() {
    let mut env = Env::start("pause").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    cluster_ready(&env, "c1").await;
    env.create_machine("c1", "m1", machine_spec("10.20.0.71"))
        .await;
    provisioned(&env, "m1", T).await;

    env.api("Cluster")
        .patch("c1", &PatchParams::default(), &set_paused(true))
        .await
        .unwrap();
    for (kind, name) in [("ScvmmCluster", "c1"), ("ScvmmMachine", "m1")] {
        eventually(&env.api(kind), name, "Paused=True", T, |v| {
            condition(v, "Paused").is_some_and(|c| c["status"] == "True")
        })
        .await;
    }
    let before = scvmm_writes(&env);
    // While paused: a new machine, and a ScvmmMachine deleted directly.
    env.create_machine("c1", "m2", machine_spec("10.20.0.72"))
        .await;
    env.api("ScvmmMachine")
        .delete("m1", &DeleteParams::default())
        .await
        .unwrap();
    // Several poll intervals of the cluster (5 s) pass.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        scvmm_writes(&env),
        before,
        "SCVMM was written to while paused"
    );
    assert_eq!(env.vms_named("m1"), 1);
    assert_eq!(env.vms_named("m2"), 0);
    let m2 = env.api("ScvmmMachine").get("m2").await.unwrap();
    let m2 = serde_json::to_value(m2).unwrap();
    assert!(
        m2["spec"]["providerID"].is_null(),
        "no identity while paused: {m2:#}"
    );

    env.api("Cluster")
        .patch("c1", &PatchParams::default(), &set_paused(false))
        .await
        .unwrap();
    // CAPI v1.14's Machine controller does not look at a Machine again when
    // its (uninitialised) Cluster is unpaused until its resync (10 min); a
    // change to the Machine makes it set the owner reference now.
    env.api("Machine")
        .patch(
            "m2",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"test/nudge": "1"}}})),
        )
        .await
        .unwrap();
    provisioned(&env, "m2", T).await;
    gone(
        &env.api("ScvmmMachine"),
        "m1",
        "m1 is deleted after resuming",
        T,
    )
    .await;
    assert_eq!(env.vms_named("m1"), 0);
    assert_eq!(env.vms_named("m2"), 1);
}

/// What `clusterctl move` would carry: spec and metadata, no status, no
/// UIDs; owner references re-pointed at the new owners.
fn for_move(mut v: Value, uids: &BTreeMap<(String, String), String>) -> Value {
    v.as_object_mut().unwrap().remove("status");
    let meta = v["metadata"].as_object_mut().unwrap();
    for k in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generation",
        "finalizers",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        meta.remove(k);
    }
    if let Some(owners) = meta
        .get_mut("ownerReferences")
        .and_then(Value::as_array_mut)
    {
        owners.retain(|o| {
            uids.contains_key(&(
                o["kind"].as_str().unwrap().to_string(),
                o["name"].as_str().unwrap().to_string(),
            ))
        });
        for o in owners.iter_mut() {
            let key = (
                o["kind"].as_str().unwrap().to_string(),
                o["name"].as_str().unwrap().to_string(),
            );
            o["uid"] = Value::String(uids[&key].clone());
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moving_the_objects_readopts_the_vms_without_creating_any() {
    let mut env = Env::start("move").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    cluster_ready(&env, "c1").await;
    env.create_machine("c1", "m1", machine_spec("10.20.0.81"))
        .await;
    env.create_machine("c1", "m2", machine_spec("10.20.0.82"))
        .await;
    let p1 = provisioned(&env, "m1", T).await;
    let p2 = provisioned(&env, "m2", T).await;
    eventually(&env.api("ScvmmMachine"), "m1", "seed ejected", T, |v| {
        v["status"]["seed"]["ejected"] == true
    })
    .await;
    eventually(&env.api("ScvmmMachine"), "m2", "seed ejected", T, |v| {
        v["status"]["seed"]["ejected"] == true
    })
    .await;

    // clusterctl move: pause, wait for block-move to clear, copy, delete
    // the source objects without their finalizers, create the copies.
    env.api("Cluster")
        .patch("c1", &PatchParams::default(), &set_paused(true))
        .await
        .unwrap();
    for m in ["m1", "m2"] {
        eventually(&env.api("ScvmmMachine"), m, "no block-move", T, |v| {
            condition(v, "Paused").is_some_and(|c| c["status"] == "True")
                && v["metadata"]["annotations"]["clusterctl.cluster.x-k8s.io/block-move"].is_null()
        })
        .await;
    }
    let before = scvmm_writes(&env);
    let kinds = ["Cluster", "ScvmmCluster", "Machine", "ScvmmMachine"];
    let mut saved: Vec<(&str, Value)> = vec![];
    for kind in kinds {
        for o in env
            .api(kind)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
        {
            saved.push((kind, serde_json::to_value(o).unwrap()));
        }
    }
    for (kind, v) in saved.iter().rev() {
        let name = v["metadata"]["name"].as_str().unwrap();
        let api = env.api(kind);
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {
                "finalizers": null,
                "annotations": {"clusterctl.cluster.x-k8s.io/delete-for-move": ""},
            }})),
        )
        .await
        .unwrap();
        let _ = api.delete(name, &DeleteParams::default()).await;
        gone(
            &api,
            name,
            &format!("{kind} {name} deleted for the move"),
            T,
        )
        .await;
    }
    let mut uids: BTreeMap<(String, String), String> = BTreeMap::new();
    for (kind, v) in &saved {
        let copy = for_move(v.clone(), &uids);
        let created = env
            .api(kind)
            .create(&PostParams::default(), &obj(copy))
            .await
            .unwrap();
        uids.insert(
            (kind.to_string(), created.metadata.name.clone().unwrap()),
            created.metadata.uid.clone().unwrap(),
        );
    }
    env.api("Cluster")
        .patch("c1", &PatchParams::default(), &set_paused(false))
        .await
        .unwrap();
    let q1 = provisioned(&env, "m1", T).await;
    let q2 = provisioned(&env, "m2", T).await;
    cluster_ready(&env, "c1").await;
    assert_eq!(q1["spec"]["vmId"], p1["spec"]["vmId"]);
    assert_eq!(q2["spec"]["vmId"], p2["spec"]["vmId"]);
    assert_eq!(q1["status"]["vm"]["status"], "Running");
    assert_eq!(env.vms_named("m1"), 1);
    assert_eq!(env.vms_named("m2"), 1);
    // Settle a few reconciles, then: not a single SCVMM write.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        scvmm_writes(&env),
        before,
        "the move created, changed or removed something in SCVMM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_vip_is_claimed_from_an_in_cluster_ipam_pool_and_released_with_the_cluster() {
    let mut env = Env::start_with("vip", true).await;
    env.start_controller();
    let pools = dynamic_api(
        &env.client,
        &env.ns,
        "ipam.cluster.x-k8s.io",
        "v1alpha2",
        "InClusterIPPool",
    );
    pools
        .create(&PostParams::default(), &obj(json!({
            "apiVersion": "ipam.cluster.x-k8s.io/v1alpha2", "kind": "InClusterIPPool",
            "metadata": {"name": "vips", "labels": {"cluster.x-k8s.io/cluster-name": "c1"}},
            "spec": {"addresses": ["10.20.0.200-10.20.0.210"], "prefix": 24, "gateway": "10.20.0.1"},
        })))
        .await
        .unwrap();
    cluster_with(&env, "c1", json!({
        "controlPlaneEndpointPool": {"apiGroup": "ipam.cluster.x-k8s.io", "kind": "InClusterIPPool", "name": "vips"},
        "failureDomains": [{"name": "rack1", "controlPlane": true, "hostGroup": "All Hosts\\Prod\\Rack1"}],
    }), PASSWORD)
    .await;
    let sc = cluster_ready(&env, "c1").await;
    let host = sc["spec"]["controlPlaneEndpoint"]["host"]
        .as_str()
        .unwrap()
        .to_string();
    let ip: std::net::Ipv4Addr = host.parse().unwrap();
    assert!(
        (200..=210).contains(&ip.octets()[3]) && host.starts_with("10.20.0."),
        "{host}"
    );
    assert_eq!(sc["spec"]["controlPlaneEndpoint"]["port"], 6443);
    let claims = dynamic_api(
        &env.client,
        &env.ns,
        "ipam.cluster.x-k8s.io",
        "v1beta2",
        "IPAddressClaim",
    );
    let claim =
        serde_json::to_value(claims.get("c1-control-plane-endpoint").await.unwrap()).unwrap();
    let owner = &claim["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "ScvmmCluster");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["blockOwnerDeletion"], true);
    assert_eq!(claim["spec"]["clusterName"], "c1");
    let cluster = eventually(
        &env.api("Cluster"),
        "c1",
        "CAPI copied the endpoint",
        T,
        |v| v["spec"]["controlPlaneEndpoint"]["host"].is_string(),
    )
    .await;
    assert_eq!(
        cluster["spec"]["controlPlaneEndpoint"]["host"],
        host.as_str()
    );

    // The host cannot be changed once set.
    let err = env
        .api("ScvmmCluster")
        .patch(
            "c1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"controlPlaneEndpoint": {"host": "10.9.9.9"}}})),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be changed"), "{err}");

    // Deleting the cluster releases the VIP.
    env.api("Cluster")
        .delete("c1", &DeleteParams::default())
        .await
        .unwrap();
    gone(
        &env.api("ScvmmCluster"),
        "c1",
        "the ScvmmCluster is deleted",
        T,
    )
    .await;
    gone(
        &claims,
        "c1-control-plane-endpoint",
        "the VIP claim is released",
        T,
    )
    .await;
    let addresses = dynamic_api(
        &env.client,
        &env.ns,
        "ipam.cluster.x-k8s.io",
        "v1beta2",
        "IPAddress",
    );
    gone(
        &addresses,
        "c1-control-plane-endpoint",
        "the IPAddress is freed",
        T,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orphaned_vms_are_reported_and_removed_only_on_opt_in() {
    let mut env = Env::start("orphans").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    cluster_ready(&env, "c1").await;
    env.create_machine("c1", "m1", machine_spec("10.20.0.91"))
        .await;
    provisioned(&env, "m1", T).await;
    // The machine goes, its VM stays (the escape hatch).
    env.api("ScvmmMachine")
        .patch("m1", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"infrastructure.cluster.x-k8s.io/skip-vm-deletion": "true"}}})))
        .await
        .unwrap();
    env.api("Machine")
        .delete("m1", &DeleteParams::default())
        .await
        .unwrap();
    gone(&env.api("ScvmmMachine"), "m1", "m1 is gone", T).await;
    assert_eq!(env.vms_named("m1"), 1);

    let sc = eventually(
        &env.api("ScvmmCluster"),
        "c1",
        "the orphan is listed",
        T,
        |v| {
            v["status"]["orphanedVMs"]
                .as_array()
                .is_some_and(|o| o.len() == 1)
        },
    )
    .await;
    let orphan = &sc["status"]["orphanedVMs"][0];
    assert_eq!(orphan["name"], "m1");
    assert!(
        orphan["providerID"]
            .as_str()
            .unwrap()
            .starts_with("scvmm://")
    );
    let metrics = env.ctx.as_ref().unwrap().metrics.render();
    assert!(
        metrics.contains(&format!(
            "capi_scvmm_orphaned_vms{{cluster=\"{}/c1\"}} 1",
            env.ns
        )),
        "{metrics}"
    );
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    let deadline = std::time::Instant::now() + T;
    loop {
        let list = events.list(&ListParams::default()).await.unwrap();
        if list
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("OrphanedVMs"))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no OrphanedVMs event");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Reported, not touched (several polls).
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(env.vms_named("m1"), 1, "Report must never delete");

    // The stop leaves the VM Missing (its host lost it): the controller
    // must then force its removal rather than try to stop it again.
    add_fault(
        &env,
        json!({"operation": "Stop-SCVirtualMachine", "object": "m1", "count": 1, "effect": "VmMissing"}),
    );
    env.api("ScvmmCluster")
        .patch(
            "c1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"orphanedVMPolicy": "Delete"}})),
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + T;
    while env.vms_named("m1") > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the orphan was not removed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        env.sim
            .vmm
            .lock()
            .unwrap()
            .state()
            .removed_vms
            .iter()
            .any(|v| v.name == "m1"),
        "m1 is among the removed VMs"
    );
    eventually(
        &env.api("ScvmmCluster"),
        "c1",
        "no orphans listed",
        T,
        |v| v["status"]["orphanedVMs"].is_null(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deletion_waits_for_machines_and_external_clusters_are_left_alone() {
    let mut env = Env::start("cdelete").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    cluster_ready(&env, "c1").await;
    env.create_machine("c1", "m1", machine_spec("10.20.0.95"))
        .await;
    provisioned(&env, "m1", T).await;
    // A ScvmmMachine no Machine will ever own.
    env.api("ScvmmMachine")
        .create(
            &PostParams::default(),
            &obj(json!({
                "apiVersion": GV, "kind": "ScvmmMachine",
                "metadata": {"name": "stray", "labels": {"cluster.x-k8s.io/cluster-name": "c1"}},
                "spec": machine_spec("10.20.0.96"),
            })),
        )
        .await
        .unwrap();

    env.api("ScvmmCluster")
        .delete("c1", &DeleteParams::default())
        .await
        .unwrap();
    gone(
        &env.api("ScvmmMachine"),
        "stray",
        "the unowned ScvmmMachine is deleted",
        T,
    )
    .await;
    let sc = eventually(
        &env.api("ScvmmCluster"),
        "c1",
        "deletion waits for m1",
        T,
        |v| condition(v, "Ready").is_some_and(|c| c["reason"] == "WaitingForMachinesDeletion"),
    )
    .await;
    assert!(
        condition(&sc, "Ready").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("m1")
    );
    // The machine is untouched meanwhile.
    assert_eq!(env.vms_named("m1"), 1);
    env.api("Machine")
        .delete("m1", &DeleteParams::default())
        .await
        .unwrap();
    gone(
        &env.api("ScvmmCluster"),
        "c1",
        "the ScvmmCluster goes once m1 is gone",
        T,
    )
    .await;
    assert_eq!(env.vms_named("m1"), 0);

    // Externally managed: no finalizer, no status, ever.
    env.api("ScvmmCluster")
        .create(&PostParams::default(), &obj(json!({
            "apiVersion": GV, "kind": "ScvmmCluster",
            "metadata": {"name": "ext", "annotations": {"cluster.x-k8s.io/managed-by": "someone-else"}},
            "spec": {
                "controlPlaneEndpoint": {"host": "10.20.0.11", "port": 6443},
                "server": {"endpoint": env.sim_url, "scheme": "HTTP", "auth": "NTLM",
                           "credentialsRef": {"name": "c1-vmm"},
                           "libraryShare": "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds"},
            },
        })))
        .await
        .unwrap();
    env.api("Cluster")
        .create(&PostParams::default(), &obj(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": "ext"},
            "spec": {"infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmCluster", "name": "ext"}},
        })))
        .await
        .unwrap();
    // CAPI adopts it (owner reference), we do not touch it.
    eventually(&env.api("ScvmmCluster"), "ext", "CAPI owns it", T, |v| {
        v["metadata"]["ownerReferences"].is_array()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let ext = serde_json::to_value(env.api("ScvmmCluster").get("ext").await.unwrap()).unwrap();
    assert!(ext["metadata"]["finalizers"].is_null(), "{ext:#}");
    assert!(ext["status"].is_null(), "{ext:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn templates_are_immutable_except_for_topology_dry_runs() {
    let env = Env::start("immutable").await;
    for doc in api::admission_policies() {
        let kind = doc["kind"].as_str().unwrap().to_string();
        let gvk = kube::core::GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", &kind);
        let a: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(env.client.clone(), &kube::core::ApiResource::from_gvk(&gvk));
        a.patch(
            doc["metadata"]["name"].as_str().unwrap(),
            &PatchParams::apply("cluster-test").force(),
            &Patch::Apply(doc.clone()),
        )
        .await
        .unwrap();
    }
    let templates = env.api("ScvmmMachineTemplate");
    templates
        .create(&PostParams::default(), &obj(json!({
            "apiVersion": GV, "kind": "ScvmmMachineTemplate", "metadata": {"name": "t1"},
            "spec": {"template": {"spec": {"vmTemplate": "Ubuntu 24.04", "cpuCount": 2, "memory": "4Gi"}}},
        })))
        .await
        .unwrap();
    let change = json!({"spec": {"template": {"spec": {"cpuCount": 4}}}});
    // The policy is enforced once the API server has loaded it.
    let deadline = std::time::Instant::now() + T;
    let err = loop {
        match templates
            .patch(
                "t1",
                &PatchParams::default().dry_run(),
                &Patch::Merge(change.clone()),
            )
            .await
        {
            Err(e) => break e,
            Ok(_) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the policy never denied a change"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    assert!(
        err.to_string().contains("spec.template cannot be changed"),
        "{err}"
    );
    assert!(
        templates
            .patch("t1", &PatchParams::default(), &Patch::Merge(change.clone()))
            .await
            .is_err()
    );
    // Labels may change.
    templates
        .patch(
            "t1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
        )
        .await
        .unwrap();
    // CAPI's topology dry run (server-side apply, dryRun=All, annotated) answers.
    let desired = json!({
        "apiVersion": GV, "kind": "ScvmmMachineTemplate",
        "metadata": {"name": "t1", "annotations": {"topology.cluster.x-k8s.io/dry-run": ""}},
        "spec": {"template": {"spec": {"vmTemplate": "Ubuntu 24.04", "cpuCount": 4, "memory": "4Gi"}}},
    });
    let dry = templates
        .patch(
            "t1",
            &PatchParams::apply("capi-topology").dry_run().force(),
            &Patch::Apply(desired.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(dry).unwrap()["spec"]["template"]["spec"]["cpuCount"],
        4
    );
    let still = serde_json::to_value(templates.get("t1").await.unwrap()).unwrap();
    assert_eq!(
        still["spec"]["template"]["spec"]["cpuCount"], 2,
        "a dry run changes nothing"
    );
    // The same change for real, even annotated, is refused.
    assert!(
        templates
            .patch(
                "t1",
                &PatchParams::apply("capi-topology").force(),
                &Patch::Apply(desired)
            )
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn block_move_is_set_while_an_scvmm_job_runs() {
    let mut env = Env::start("blockmove").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    cluster_ready(&env, "c1").await;
    add_fault(
        &env,
        json!({"operation": "New-SCVirtualMachine", "object": "slow", "count": 1, "effect": {"Delay": {"seconds": 6.0}}}),
    );
    env.create_machine("c1", "slow", machine_spec("10.20.0.97"))
        .await;
    eventually(
        &env.api("ScvmmMachine"),
        "slow",
        "block-move while the create job runs",
        T,
        |v| v["metadata"]["annotations"]["clusterctl.cluster.x-k8s.io/block-move"] == "true",
    )
    .await;
    provisioned(&env, "slow", T).await;
    eventually(
        &env.api("ScvmmMachine"),
        "slow",
        "block-move cleared after the jobs",
        T,
        |v| v["metadata"]["annotations"]["clusterctl.cluster.x-k8s.io/block-move"].is_null(),
    )
    .await;

    // Deleting: set for the shutdown and kept through the removal job
    // until the object is gone; never cleared in between.
    add_fault(
        &env,
        json!({"operation": "Remove-SCVirtualMachine", "object": "slow", "count": 1, "effect": {"Delay": {"seconds": 4.0}}}),
    );
    let api = env.api("ScvmmMachine");
    api.delete("slow", &DeleteParams::default()).await.unwrap();
    let deadline = Instant::now() + T;
    let mut blocked_while_deleting = false;
    while let Some(v) = api.get_opt("slow").await.unwrap() {
        let v = serde_json::to_value(v).unwrap();
        let on = v["metadata"]["annotations"]["clusterctl.cluster.x-k8s.io/block-move"] == "true";
        if blocked_while_deleting {
            assert!(on, "block-move was cleared during deletion: {v:#}");
        }
        blocked_while_deleting |= on;
        assert!(
            Instant::now() < deadline,
            "the machine was not deleted: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        blocked_while_deleting,
        "block-move was never set while deleting"
    );
    assert_eq!(env.vms_named("slow"), 0);
}
