//! Our CRDs meet the Cluster API v1beta2 contract, checked with the real CAPI
//! core manager on the local control plane (no controller of ours runs):
//! CAPI accepts Cluster and Machine objects that reference our kinds, finds
//! our API version through the CRD contract label, adopts our objects, and
//! copies what our status reports (provisioned, endpoint, failure domains,
//! providerID, addresses) into its own objects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::testbed::TestCluster;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use operator::api;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn api_for(
    client: &Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

fn ours(client: &Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    api_for(client, ns, api::GROUP, api::VERSION, kind)
}

fn capi(client: &Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    api_for(client, ns, "cluster.x-k8s.io", "v1beta2", kind)
}

fn obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

/// Polls `name` until `check` holds, or fails with the last object seen.
async fn eventually(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = api
            .get(name)
            .await
            .map(|o| serde_json::to_value(o).unwrap());
        if let Ok(v) = &current
            && check(v)
        {
            return v.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; last seen: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn cluster_api_reads_our_objects_through_the_v1beta2_contract() {
    let tb = TestCluster::builder()
        .with_crds(api::crds())
        .with_capi()
        .start()
        .await
        .expect("test bed with Cluster API starts");
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("contract").await.unwrap();
    let group_version = format!("{}/{}", api::GROUP, api::VERSION);
    let pp = PostParams::default();

    // InfraCluster.
    let scvmm_clusters = ours(&client, &ns, "ScvmmCluster");
    scvmm_clusters
        .create(&pp, &obj(json!({
            "apiVersion": group_version, "kind": "ScvmmCluster",
            "metadata": {"name": "c1"},
            "spec": {
                "controlPlaneEndpoint": {"host": "10.0.0.100", "port": 6443},
                "server": {"endpoint": "vmm01.corp.example", "credentialsRef": {"name": "vmm"},
                           "libraryShare": "\\\\lib01\\MSSCVMMLibrary\\seeds"},
                "failureDomains": [{"name": "rack1", "controlPlane": true, "hostGroup": "All Hosts\\Rack1"}],
            },
        })))
        .await
        .unwrap();
    let clusters = capi(&client, &ns, "Cluster");
    clusters
        .create(&pp, &obj(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
            "metadata": {"name": "c1"},
            "spec": {
                "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}},
                "infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmCluster", "name": "c1"},
            },
        })))
        .await
        .expect("CAPI accepts a Cluster that references ScvmmCluster");

    // CAPI adopts our cluster object: owner reference and cluster-name label.
    eventually(&scvmm_clusters, "c1", "CAPI adopts the ScvmmCluster", |v| {
        v["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"] == "c1"
            && v["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| {
                    o.iter()
                        .any(|r| r["kind"] == "Cluster" && r["name"] == "c1")
                })
    })
    .await;

    // Our status says provisioned: CAPI copies it with endpoint and failure domains.
    let status = json!({
        "apiVersion": group_version, "kind": "ScvmmCluster",
        "status": {
            "initialization": {"provisioned": true},
            "failureDomains": [{"name": "rack1", "controlPlane": true, "attributes": {"hostGroup": "All Hosts\\Rack1"}}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "",
                            "lastTransitionTime": "2026-11-25T12:00:00Z"}],
        },
    });
    scvmm_clusters
        .patch_status(
            "c1",
            &PatchParams::apply("contract-test").force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    let cluster = eventually(
        &clusters,
        "c1",
        "the Cluster sees provisioned infrastructure",
        |v| v["status"]["initialization"]["infrastructureProvisioned"] == true,
    )
    .await;
    assert_eq!(
        cluster["spec"]["controlPlaneEndpoint"],
        json!({"host": "10.0.0.100", "port": 6443})
    );
    assert_eq!(cluster["status"]["failureDomains"][0]["name"], "rack1");
    assert_eq!(cluster["status"]["failureDomains"][0]["controlPlane"], true);
    let infra_ready = cluster["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "InfrastructureReady"))
        .cloned();
    assert_eq!(
        infra_ready.as_ref().map(|c| c["status"].clone()),
        Some(json!("True")),
        "{cluster:#}"
    );

    // InfraMachine.
    let scvmm_machines = ours(&client, &ns, "ScvmmMachine");
    scvmm_machines
        .create(
            &pp,
            &obj(json!({
                "apiVersion": group_version, "kind": "ScvmmMachine",
                "metadata": {"name": "m1"},
                "spec": {"vmTemplate": "ubuntu", "cpuCount": 2, "memory": "4Gi"},
            })),
        )
        .await
        .unwrap();
    let machines = capi(&client, &ns, "Machine");
    machines
        .create(&pp, &obj(json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
            "metadata": {"name": "m1"},
            "spec": {
                "clusterName": "c1",
                "bootstrap": {"dataSecretName": "m1-bootstrap"},
                "infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmMachine", "name": "m1"},
            },
        })))
        .await
        .expect("CAPI accepts a Machine that references ScvmmMachine");
    eventually(
        &scvmm_machines,
        "m1",
        "CAPI adopts the ScvmmMachine as its controller",
        |v| {
            v["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| {
                    o.iter().any(|r| {
                        r["kind"] == "Machine" && r["name"] == "m1" && r["controller"] == true
                    })
                })
        },
    )
    .await;

    // The controller-written identity and status flow into the Machine.
    let provider_id = "scvmm://4217c2a5-0a5e-4b9c-9c1e-0123456789ab";
    scvmm_machines
        .patch(
            "m1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"providerID": provider_id}})),
        )
        .await
        .unwrap();
    let machine_status = json!({
        "apiVersion": group_version, "kind": "ScvmmMachine",
        "status": {
            "initialization": {"provisioned": true},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.21"}, {"type": "Hostname", "address": "m1"}],
            "failureDomain": "rack1",
        },
    });
    scvmm_machines
        .patch_status(
            "m1",
            &PatchParams::apply("contract-test").force(),
            &Patch::Apply(&machine_status),
        )
        .await
        .unwrap();
    let machine = eventually(
        &machines,
        "m1",
        "the Machine sees provisioned infrastructure",
        |v| v["status"]["initialization"]["infrastructureProvisioned"] == true,
    )
    .await;
    assert_eq!(machine["spec"]["providerID"], provider_id);
    let addresses = machine["status"]["addresses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        addresses
            .iter()
            .any(|a| a["type"] == "InternalIP" && a["address"] == "10.0.0.21"),
        "{machine:#}"
    );
}
