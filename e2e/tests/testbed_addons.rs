//! The test bed's optional providers on the real local control plane: the
//! in-cluster IPAM provider fulfils CAPI v1beta2 IPAddressClaims from an
//! InClusterIPPool, the kubeadm control-plane manager's webhooks default and
//! validate KubeadmControlPlanes, both serve conversion for their older API
//! versions, and every process goes away with the `TestCluster`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::testbed::TestCluster;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const IPAM: &str = "ipam.cluster.x-k8s.io";
const CONTROL_PLANE: &str = "controlplane.cluster.x-k8s.io";

fn api(client: &Client, ns: &str, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

fn obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

fn value(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap()
}

/// Polls `name` until `check` holds, or fails with the last object seen.
async fn eventually(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    limit: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let current = api.get_opt(name).await.map(|o| o.map(|o| value(&o)));
        if let Ok(Some(v)) = &current
            && check(v)
        {
            return v.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}; last seen: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls until `name` is gone.
async fn gone(api: &Api<DynamicObject>, name: &str, what: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let current = api.get_opt(name).await.unwrap();
        if current.is_none() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what} is deleted; last seen: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A CAPI Cluster for the IPAM provider, which skips claims whose Cluster is
/// missing or paused. CAPI v1.14's webhook wants one of controlPlaneRef,
/// infrastructureRef or topology; the referenced ScvmmCluster need not exist.
async fn create_cluster(client: &Client, ns: &str, name: &str) {
    api(client, ns, "cluster.x-k8s.io", "v1beta2", "Cluster")
        .create(
            &PostParams::default(),
            &obj(json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                "metadata": {"name": name},
                "spec": {"infrastructureRef": {
                    "apiGroup": "infrastructure.cluster.x-k8s.io",
                    "kind": "ScvmmCluster",
                    "name": name,
                }},
            })),
        )
        .await
        .expect("the Cluster is accepted");
}

fn claim(name: &str, cluster: &str, pool: &str) -> DynamicObject {
    obj(json!({
        "apiVersion": "ipam.cluster.x-k8s.io/v1beta2", "kind": "IPAddressClaim",
        "metadata": {"name": name},
        "spec": {
            "clusterName": cluster,
            "poolRef": {"apiGroup": IPAM, "kind": "InClusterIPPool", "name": pool},
        },
    }))
}

fn in_range(address: &str) -> bool {
    let ip: Ipv4Addr = address.parse().unwrap();
    (Ipv4Addr::new(10, 20, 0, 100)..=Ipv4Addr::new(10, 20, 0, 110)).contains(&ip)
}

const ALLOCATION: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_in_cluster_ipam_provider_fulfils_v1beta2_claims_from_a_pool() {
    let tb = TestCluster::builder()
        .with_ipam_in_cluster()
        .start()
        .await
        .expect("test bed with the in-cluster IPAM provider starts");
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("ipam").await.unwrap();
    let pp = PostParams::default();
    create_cluster(&client, &ns, "c1").await;

    let pools = api(&client, &ns, IPAM, "v1alpha2", "InClusterIPPool");
    // The provider's validating webhook is wired: a malformed pool is refused.
    let err = pools
        .create(
            &pp,
            &obj(json!({
                "apiVersion": "ipam.cluster.x-k8s.io/v1alpha2", "kind": "InClusterIPPool",
                "metadata": {"name": "broken"},
                "spec": {"addresses": ["not-an-ip"], "prefix": 24, "gateway": "10.20.0.1"},
            })),
        )
        .await
        .expect_err("the webhook refuses an address that is not an IP");
    assert!(
        err.to_string()
            .contains("provided address is not a valid IP, range, nor CIDR"),
        "{err}"
    );
    pools
        .create(
            &pp,
            &obj(json!({
                "apiVersion": "ipam.cluster.x-k8s.io/v1alpha2", "kind": "InClusterIPPool",
                "metadata": {"name": "nodes"},
                "spec": {"addresses": ["10.20.0.100-10.20.0.110"], "prefix": 24, "gateway": "10.20.0.1"},
            })),
        )
        .await
        .expect("the pool is accepted");

    let claims = api(&client, &ns, IPAM, "v1beta2", "IPAddressClaim");
    let addresses = api(&client, &ns, IPAM, "v1beta2", "IPAddress");
    let mut allocated = Vec::new();
    for name in ["m1-eth0", "m2-eth0"] {
        let asked = Instant::now();
        claims
            .create(&pp, &claim(name, "c1", "nodes"))
            .await
            .unwrap();
        let c = eventually(
            &claims,
            name,
            "the claim has status.addressRef",
            ALLOCATION,
            |c| c["status"]["addressRef"]["name"].is_string(),
        )
        .await;
        eprintln!("{name}: address allocated in {:?}", asked.elapsed());
        let address_name = c["status"]["addressRef"]["name"].as_str().unwrap();
        let a = value(&addresses.get(address_name).await.unwrap());
        let spec = &a["spec"];
        let ip = spec["address"].as_str().unwrap().to_string();
        assert!(in_range(&ip), "{ip} is from the pool: {a:#}");
        assert_eq!(spec["prefix"], 24, "{a:#}");
        assert_eq!(spec["gateway"], "10.20.0.1", "{a:#}");
        assert_eq!(spec["claimRef"]["name"], name, "{a:#}");
        assert_eq!(
            (
                spec["poolRef"]["apiGroup"].as_str(),
                spec["poolRef"]["kind"].as_str(),
                spec["poolRef"]["name"].as_str()
            ),
            (Some(IPAM), Some("InClusterIPPool"), Some("nodes")),
            "{a:#}"
        );
        allocated.push((address_name.to_string(), ip));
    }
    assert_ne!(allocated[0].1, allocated[1].1, "two claims, two addresses");

    // The pool reports its usage.
    eventually(
        &pools,
        "nodes",
        "the pool counts 2 of 11 used",
        ALLOCATION,
        |p| p["status"]["ipAddresses"]["total"] == 11 && p["status"]["ipAddresses"]["used"] == 2,
    )
    .await;

    // The pool reads back through the provider's conversion webhook.
    let old = api(&client, &ns, IPAM, "v1alpha1", "InClusterIPPool")
        .get("nodes")
        .await
        .expect("v1alpha1 is served through conversion");
    let old = value(&old);
    assert_eq!(
        old["apiVersion"], "ipam.cluster.x-k8s.io/v1alpha1",
        "{old:#}"
    );
    assert_eq!(old["spec"]["gateway"], "10.20.0.1", "{old:#}");

    // Releasing a claim frees its address.
    claims
        .delete("m1-eth0", &DeleteParams::default())
        .await
        .unwrap();
    gone(
        &addresses,
        &allocated[0].0,
        "the released IPAddress",
        ALLOCATION,
    )
    .await;
    gone(&claims, "m1-eth0", "the claim", ALLOCATION).await;
    eventually(&pools, "nodes", "the pool counts 1 used", ALLOCATION, |p| {
        p["status"]["ipAddresses"]["used"] == 1
    })
    .await;
}

fn kcp(name: &str, version: &str, replicas: Option<u32>) -> DynamicObject {
    let mut spec = json!({
        "version": version,
        "machineTemplate": {"spec": {"infrastructureRef": {
            "apiGroup": "infrastructure.cluster.x-k8s.io",
            "kind": "ScvmmMachineTemplate",
            "name": "control-plane",
        }}},
        "kubeadmConfigSpec": {
            "clusterConfiguration": {"apiServer": {"certSANs": ["cp.example.test"]}},
        },
    });
    if let Some(r) = replicas {
        spec["replicas"] = json!(r);
    }
    obj(json!({
        "apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "KubeadmControlPlane",
        "metadata": {"name": name},
        "spec": spec,
    }))
}

#[tokio::test]
async fn kubeadm_control_planes_are_defaulted_and_validated_by_the_kcp_webhooks() {
    let tb = TestCluster::builder()
        .with_kcp()
        .start()
        .await
        .expect("test bed with the kubeadm control-plane manager starts");
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("kcp").await.unwrap();
    let kcps = api(
        &client,
        &ns,
        CONTROL_PLANE,
        "v1beta2",
        "KubeadmControlPlane",
    );
    let pp = PostParams::default();

    // Validating webhook: stacked etcd needs an odd number of members.
    let err = kcps
        .create(&pp, &kcp("even", "v1.36.3", Some(2)))
        .await
        .expect_err("two replicas with stacked etcd are refused");
    assert!(
        err.to_string()
            .contains("cannot be an even number when etcd is stacked"),
        "{err}"
    );

    // Mutating webhook: the version gets its `v`, replicas and the rollout
    // strategy their defaults.
    let created = value(
        &kcps
            .create(&pp, &kcp("cp", "1.36.3", None))
            .await
            .expect("a KubeadmControlPlane is accepted"),
    );
    let spec = &created["spec"];
    assert_eq!(spec["version"], "v1.36.3", "{created:#}");
    assert_eq!(spec["replicas"], 1, "{created:#}");
    assert_eq!(
        spec["rollout"]["strategy"]["type"], "RollingUpdate",
        "{created:#}"
    );
    assert_eq!(
        spec["rollout"]["strategy"]["rollingUpdate"]["maxSurge"], 1,
        "{created:#}"
    );

    // v1beta1 is served through the KCP manager's conversion webhook.
    let old = api(
        &client,
        &ns,
        CONTROL_PLANE,
        "v1beta1",
        "KubeadmControlPlane",
    )
    .get("cp")
    .await
    .expect("v1beta1 is served through conversion");
    let old = value(&old);
    assert_eq!(
        old["apiVersion"], "controlplane.cluster.x-k8s.io/v1beta1",
        "{old:#}"
    );
    assert_eq!(
        old["spec"]["machineTemplate"]["infrastructureRef"]["kind"], "ScvmmMachineTemplate",
        "{old:#}"
    );
}

/// Process ids whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

#[tokio::test]
async fn both_addons_run_beside_capi_and_stop_with_the_test_bed() {
    let tb = TestCluster::builder()
        .with_capi()
        .with_kcp()
        .with_ipam_in_cluster()
        .start()
        .await
        .expect("test bed with CAPI, KCP and in-cluster IPAM starts");
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("both").await.unwrap();
    create_cluster(&client, &ns, "c1").await;
    api(
        &client,
        &ns,
        CONTROL_PLANE,
        "v1beta2",
        "KubeadmControlPlane",
    )
    .create(&PostParams::default(), &kcp("cp", "v1.36.3", Some(3)))
    .await
    .expect("a KubeadmControlPlane is accepted");
    let global = Api::<DynamicObject>::all_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            IPAM,
            "v1alpha2",
            "GlobalInClusterIPPool",
        )),
    );
    global
        .create(
            &PostParams::default(),
            &obj(json!({
                "apiVersion": "ipam.cluster.x-k8s.io/v1alpha2", "kind": "GlobalInClusterIPPool",
                "metadata": {"name": "shared"},
                "spec": {"addresses": ["10.30.0.10-10.30.0.12"], "prefix": 24, "gateway": "10.30.0.1"},
            })),
        )
        .await
        .expect("a GlobalInClusterIPPool is accepted");
    let claims = api(&client, &ns, IPAM, "v1beta2", "IPAddressClaim");
    let mut c = claim("cp-0", "c1", "shared");
    c.data["spec"]["poolRef"]["kind"] = json!("GlobalInClusterIPPool");
    claims.create(&PostParams::default(), &c).await.unwrap();
    eventually(
        &claims,
        "cp-0",
        "the claim has an address",
        ALLOCATION,
        |c| c["status"]["addressRef"]["name"].is_string(),
    )
    .await;

    for component in [
        "capi-manager",
        "kubeadm-bootstrap-manager",
        "kubeadm-control-plane-manager",
        "ipam-in-cluster-manager",
    ] {
        assert!(
            !tb.log_tail(component, 5).is_empty(),
            "{component} logs to its file"
        );
    }

    let dir = tb.dir().display().to_string();
    assert!(
        processes_mentioning(&dir).len() >= 7,
        "etcd, kube-apiserver, kube-controller-manager and four managers mention {dir}"
    );
    drop(tb);
    let remaining = processes_mentioning(&dir);
    assert!(
        remaining.is_empty(),
        "processes left after drop: {remaining:?}"
    );
    assert!(!std::path::Path::new(&dir).exists(), "{dir} is removed");
}
