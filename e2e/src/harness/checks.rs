//! What the suites look at: Cluster API's view (Machines, their phase and
//! nodeRef), the workload cluster's Nodes, and the emulator's (VMs, seed
//! ISOs and files, IP grants), and the invariants across them.

use super::E2eEnv;
use crate::testbed::Error;
use kube::api::{Api, ListParams};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where the provider writes seed ISOs (the templates' library folder).
pub const SEED_FOLDER: &str = "capi-seeds";
/// The VM custom property naming the owning cluster
/// (`<namespace>/<cluster>/<cluster ID>`).
pub const CLUSTER_PROPERTY: &str = "CapiScvmmCluster";
/// The VM custom property holding the ScvmmMachine's instance ID.
pub const INSTANCE_PROPERTY: &str = "CapiScvmmInstanceId";

/// One CAPI Machine as the suites see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineView {
    pub name: String,
    pub phase: String,
    pub node: Option<String>,
    pub provider_id: Option<String>,
    pub deleting: bool,
    pub deployment: Option<String>,
    pub control_plane: bool,
    pub infrastructure: String,
}

impl MachineView {
    /// Phase Running with a nodeRef: what "up" means to a user.
    pub fn running(&self) -> bool {
        self.phase == "Running" && self.node.is_some() && !self.deleting
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Every Machine in `namespace`.
pub async fn machines(env: &E2eEnv, namespace: &str) -> Result<Vec<MachineView>, Error> {
    let list = env
        .machines(namespace)
        .list(&ListParams::default())
        .await
        .map_err(crate::testbed::kube_err("listing Machines"))?;
    let mut out: Vec<MachineView> = list
        .items
        .into_iter()
        .map(|m| {
            let v = serde_json::to_value(&m).unwrap_or_default();
            let labels = &v["metadata"]["labels"];
            MachineView {
                name: m.metadata.name.clone().unwrap_or_default(),
                phase: text(&v["status"]["phase"]).unwrap_or_default(),
                node: text(&v["status"]["nodeRef"]["name"]),
                provider_id: text(&v["spec"]["providerID"]),
                deleting: m.metadata.deletion_timestamp.is_some(),
                deployment: text(&labels["cluster.x-k8s.io/deployment-name"]),
                control_plane: labels.get("cluster.x-k8s.io/control-plane").is_some(),
                infrastructure: text(&v["spec"]["infrastructureRef"]["name"]).unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A one-line summary of machines for timeouts: `name=phase(node)`.
pub fn describe(machines: &[MachineView]) -> String {
    machines
        .iter()
        .map(|m| {
            format!(
                "{}={}{}{}",
                m.name,
                if m.phase.is_empty() { "?" } else { &m.phase },
                m.node
                    .as_deref()
                    .map(|n| format!("({n})"))
                    .unwrap_or_default(),
                if m.deleting { "[deleting]" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One VM in the emulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmView {
    pub name: String,
    pub power: String,
    pub status: String,
    pub cpu_count: u64,
    pub memory_mb: u64,
    pub cluster: Option<String>,
    pub instance: Option<String>,
    pub bios_guid: String,
}

/// Every VM the emulator holds.
pub async fn vms(env: &E2eEnv) -> Result<Vec<VmView>, Error> {
    Ok(env
        .sim
        .vms()
        .await?
        .into_iter()
        .map(|v| {
            let prop = |name: &str| text(&v["customProperties"][name]);
            VmView {
                name: text(&v["name"]).unwrap_or_default(),
                power: text(&v["power"]).unwrap_or_default(),
                status: text(&v["status"]).unwrap_or_default(),
                cpu_count: v["cpuCount"].as_u64().unwrap_or(0),
                memory_mb: v["memoryMB"].as_u64().unwrap_or(0),
                cluster: prop(CLUSTER_PROPERTY),
                instance: prop(INSTANCE_PROPERTY),
                bios_guid: text(&v["biosGuid"]).unwrap_or_default(),
            }
        })
        .collect())
}

/// VMs of `namespace/cluster` (by the provider's cluster marker).
pub async fn cluster_vms(
    env: &E2eEnv,
    namespace: &str,
    cluster: &str,
) -> Result<Vec<VmView>, Error> {
    let prefix = format!("{namespace}/{cluster}/");
    Ok(vms(env)
        .await?
        .into_iter()
        .filter(|v| v.cluster.as_deref().is_some_and(|c| c.starts_with(&prefix)))
        .collect())
}

/// Seed ISOs and files the provider left in the library.
pub async fn seeds(env: &E2eEnv) -> Result<Vec<String>, Error> {
    let lib = env.sim.library().await?;
    let mut out = Vec::new();
    for key in ["isos", "files"] {
        for item in lib[key].as_array().cloned().unwrap_or_default() {
            let path = text(&item["path"]).unwrap_or_default();
            if path.to_ascii_lowercase().contains(SEED_FOLDER) {
                out.push(path);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Addresses granted from VMM IP pools: (address, description).
pub async fn ip_grants(env: &E2eEnv) -> Result<Vec<(String, String)>, Error> {
    Ok(env
        .sim
        .ip_grants()
        .await?
        .into_iter()
        .map(|g| {
            (
                text(&g["address"]).unwrap_or_default(),
                text(&g["description"]).unwrap_or_default(),
            )
        })
        .collect())
}

/// The workload cluster's Nodes: name → providerID.
pub async fn nodes(client: &kube::Client) -> Result<BTreeMap<String, String>, Error> {
    let api: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(crate::testbed::kube_err(
            "listing the workload cluster's Nodes",
        ))?;
    Ok(list
        .items
        .into_iter()
        .map(|n| {
            (
                n.metadata.name.unwrap_or_default(),
                n.spec.and_then(|s| s.provider_id).unwrap_or_default(),
            )
        })
        .collect())
}

/// The invariants that hold whenever the system is at rest, across the
/// management cluster and the emulator; `Err` lists every violation.
///
/// - exactly one VM per ScvmmMachine that has a provider ID (its instance
///   ID), and no VM of
///   the cluster without a ScvmmMachine;
/// - no IP address granted twice;
/// - no seed ISO or file left once every machine is provisioned (seeds are
///   deleted at start-up and on removal).
pub async fn at_rest(env: &E2eEnv, namespace: &str, cluster: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    let infra = env.api(
        namespace,
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmMachine",
    );
    let scvmm_machines = infra
        .list(&ListParams::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut ids = BTreeMap::new();
    for m in &scvmm_machines.items {
        let v = serde_json::to_value(m).unwrap_or_default();
        if let Some(id) = text(&v["spec"]["providerID"])
            .and_then(|p| p.strip_prefix("scvmm://").map(str::to_string))
        {
            ids.insert(id, m.metadata.name.clone().unwrap_or_default());
        }
    }
    let vms = cluster_vms(env, namespace, cluster)
        .await
        .map_err(|e| e.to_string())?;
    let mut per_instance: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for vm in &vms {
        per_instance
            .entry(vm.instance.clone().unwrap_or_default())
            .or_default()
            .push(vm.name.clone());
    }
    for (instance, names) in &per_instance {
        if names.len() > 1 {
            problems.push(format!(
                "{} VMs for instance {instance}: {names:?}",
                names.len()
            ));
        }
        if !ids.contains_key(instance) {
            problems.push(format!(
                "VM(s) {names:?} (instance {instance}) have no ScvmmMachine"
            ));
        }
    }
    for (id, machine) in &ids {
        if !per_instance.contains_key(id) {
            problems.push(format!("ScvmmMachine {machine} (instance {id}) has no VM"));
        }
    }
    let grants = ip_grants(env).await.map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    for (address, description) in &grants {
        if !seen.insert(address.clone()) {
            problems.push(format!("address {address} granted twice ({description})"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The conditions that are not True of every Cluster API and provider
/// object in `namespace`, one line each: what a user would look at first
/// when something does not come up.
pub async fn not_ready(env: &E2eEnv, namespace: &str) -> String {
    let kinds = [
        ("cluster.x-k8s.io", "v1beta2", "Cluster"),
        (
            "infrastructure.cluster.x-k8s.io",
            "v1alpha1",
            "ScvmmCluster",
        ),
        (
            "controlplane.cluster.x-k8s.io",
            "v1beta2",
            "KubeadmControlPlane",
        ),
        ("cluster.x-k8s.io", "v1beta2", "MachineDeployment"),
        ("cluster.x-k8s.io", "v1beta2", "Machine"),
        (
            "infrastructure.cluster.x-k8s.io",
            "v1alpha1",
            "ScvmmMachine",
        ),
        ("bootstrap.cluster.x-k8s.io", "v1beta2", "KubeadmConfig"),
    ];
    let mut out = String::new();
    for (group, version, kind) in kinds {
        let Ok(list) = env
            .api(namespace, group, version, kind)
            .list(&ListParams::default())
            .await
        else {
            continue;
        };
        for o in list.items {
            let v = serde_json::to_value(&o).unwrap_or_default();
            let bad: Vec<String> = v["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|c| {
                    c["status"] != "True"
                        && !c["type"].as_str().unwrap_or("").ends_with("Paused")
                        && c["type"] != "Deleting"
                        && !c["type"].as_str().unwrap_or("").contains("Remediat")
                })
                .map(|c| {
                    format!(
                        "{}={}/{}: {}",
                        c["type"].as_str().unwrap_or(""),
                        c["status"].as_str().unwrap_or(""),
                        c["reason"].as_str().unwrap_or(""),
                        c["message"].as_str().unwrap_or("").replace('\n', " ")
                    )
                })
                .collect();
            out.push_str(&format!(
                "  {kind} {}: {}\n",
                o.metadata.name.unwrap_or_default(),
                if bad.is_empty() {
                    "ok".to_string()
                } else {
                    bad.join("; ")
                }
            ));
        }
    }
    out
}
