//! Observe: read what the cluster planner needs (the owner Cluster, the
//! ScvmmMachines of the cluster, the VIP claim, and — when allowed — one
//! SCVMM call) without changing anything.

use super::plan::{DomainSpec, Endpoint, Observed, Orphan, PoolState, Scvmm};
use super::poll_cache::Poll;
use crate::Error;
use crate::api::cluster::OrphanedVmPolicy;
use crate::api::{ScvmmCluster, ScvmmMachine};
use crate::capi::{self, Cluster, IPAddress, IPAddressClaim};
use crate::controller::machine::request;
use crate::controller::{CLUSTER_FINALIZER, CLUSTER_ID_ANNOTATION, Context, connection, shared};
use crate::scvmm::{ClusterInfo, DomainQuery, ScvmmClient, ScvmmError};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use std::collections::{BTreeMap, HashSet};

/// Everything read, beyond the planner's view.
pub struct World {
    /// The planner's input.
    pub observed: Observed,
    /// Name of the owning Cluster (empty when there is none yet).
    pub cluster_name: String,
    /// The SCVMM client, when SCVMM was asked.
    pub client: Option<ScvmmClient>,
    /// The server version, when SCVMM answered.
    pub server_version: Option<String>,
    /// The orphans, when SCVMM was polled now (`None`: the answer came
    /// from the poll cache, status and metric keep what they show).
    pub orphans: Option<Vec<Orphan>>,
    /// The poll cache key (`namespace/name` of the ScvmmCluster).
    pub poll_key: String,
    /// The cluster marker of this cluster's VMs, once it has an ID.
    pub marker: Option<String>,
}

/// The VIP claim's name.
pub fn vip_claim_name(sc: &ScvmmCluster) -> String {
    let mut name = format!("{}-control-plane-endpoint", sc.name_any());
    name.truncate(253);
    name
}

/// The cluster marker VMs carry: `<namespace>/<cluster name>/<cluster ID>`
/// (the ID from [`CLUSTER_ID_ANNOTATION`]); `None` until the ScvmmCluster
/// has an ID.
pub fn cluster_marker(sc: &ScvmmCluster, cluster: &str) -> Option<String> {
    let id = cluster_id(sc)?;
    (!cluster.is_empty()).then(|| format!("{}/{cluster}/{id}", sc.namespace().unwrap_or_default()))
}

/// The ScvmmCluster's ID, when it has a well-formed one.
pub fn cluster_id(sc: &ScvmmCluster) -> Option<String> {
    sc.annotations()
        .get(CLUSTER_ID_ANNOTATION)
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
        .map(|u| u.to_string())
}

/// Reads the world for `sc`.
pub async fn observe(sc: &ScvmmCluster, ctx: &Context) -> Result<World, Error> {
    let ns = sc.namespace().unwrap_or_default();
    let client = &ctx.client;
    let owner = capi::owner_name(sc, "Cluster");
    let cluster_name = owner
        .clone()
        .or_else(|| sc.labels().get(capi::CLUSTER_NAME_LABEL).cloned())
        .unwrap_or_default();
    let cluster = if cluster_name.is_empty() {
        None
    } else {
        Api::<Cluster>::namespaced(client.clone(), &ns)
            .get_opt(&cluster_name)
            .await?
    };
    let paused = cluster.as_ref().is_some_and(capi::is_paused) || capi::has_paused_annotation(sc);
    let deleting = sc.metadata.deletion_timestamp.is_some();
    let has_finalizer = sc.finalizers().iter().any(|f| f == CLUSTER_FINALIZER);
    let has_owner = owner.is_some();
    let status = sc.status.clone().unwrap_or_default();
    let provisioned = status
        .initialization
        .as_ref()
        .and_then(|i| i.provisioned)
        .unwrap_or(false);
    let domains: Vec<DomainSpec> = sc
        .spec
        .failure_domains
        .iter()
        .map(|f| DomainSpec {
            name: f.name.clone(),
            control_plane: f.control_plane,
            cloud: f.cloud.clone(),
            host_group: f.host_group.clone(),
        })
        .collect();

    // SCVMM is asked only when the planner may act on the answer, and at
    // most once per poll interval (see poll_cache).
    let key = format!("{ns}/{}", sc.name_any());
    let marker = cluster_marker(sc, &cluster_name);
    let mut scvmm = Scvmm::NotAsked;
    let mut scvmm_client = None;
    let mut info: Option<ClusterInfo> = None;
    let mut fresh = false;
    if !paused && !deleting && has_finalizer && has_owner {
        match connection::resolve(client, &ns, &sc.spec.server, &ctx.settings.connection).await {
            Err(m) => {
                scvmm = Scvmm::Misconfigured(format!("ScvmmCluster {ns}/{}: {m}", sc.name_any()));
            }
            Ok(resolved) => {
                let fingerprint = resolved.fingerprint.clone();
                let now = std::time::Instant::now();
                match ctx.scvmm.get(resolved) {
                    Err(m) => {
                        scvmm = Scvmm::Misconfigured(format!(
                            "ScvmmCluster {ns}/{}: {m}",
                            sc.name_any()
                        ));
                    }
                    Ok(c) => {
                        let cached = ctx.polls.get(
                            &key,
                            sc.metadata.generation,
                            &fingerprint,
                            ctx.settings.poll_interval,
                            now,
                        );
                        let p = match cached {
                            Some(p) => p,
                            None => {
                                let p = poll(sc, &c, marker.as_deref(), ctx).await;
                                fresh = true;
                                ctx.polls.put(
                                    &key,
                                    sc.metadata.generation,
                                    &fingerprint,
                                    p.clone(),
                                    now,
                                );
                                p
                            }
                        };
                        scvmm = p.scvmm;
                        info = p.info;
                        scvmm_client = Some(c);
                    }
                }
            }
        }
    }

    // The machines are listed after SCVMM answered: a VM can only exist
    // once its ScvmmMachine carries the identity, so every VM seen above has
    // its ScvmmMachine in this list unless that was deleted.
    let mut names: Vec<String> = Vec::new();
    let mut unowned_machines: Vec<String> = Vec::new();
    if !cluster_name.is_empty() {
        let api = Api::<ScvmmMachine>::namespaced(client.clone(), &ns);
        let lp =
            ListParams::default().labels(&format!("{}={cluster_name}", capi::CLUSTER_NAME_LABEL));
        shared::for_each_listed(&api, &lp, |m| {
            if m.metadata.deletion_timestamp.is_none() && capi::owner_name(&m, "Machine").is_none()
            {
                unowned_machines.push(m.name_any());
            }
            names.push(m.name_any());
        })
        .await?;
    }

    // Orphans are judged on fresh answers only: a cached list may still
    // hold a VM whose machine was deleted (with its VM) since.
    let orphans = match (&info, &marker) {
        (Some(i), Some(marker)) if fresh => Some(find_orphans(client, &ns, i, marker, ctx).await?),
        _ => None,
    };

    let endpoint = endpoint(client, sc, &ns).await?;
    let vip_claim_exists = if deleting && sc.spec.control_plane_endpoint_pool.is_some() {
        Api::<IPAddressClaim>::namespaced(client.clone(), &ns)
            .get_opt(&vip_claim_name(sc))
            .await?
            .is_some()
    } else {
        false
    };

    let observed = Observed {
        has_cluster_id: cluster_id(sc).is_some(),
        deleting,
        has_finalizer,
        has_owner,
        paused,
        provisioned,
        domains,
        scvmm,
        endpoint,
        vip_claim_exists,
        machines: names,
        unowned_machines,
        orphans: orphans.clone().unwrap_or_default(),
        orphan_policy: sc
            .spec
            .orphaned_vm_policy
            .unwrap_or(OrphanedVmPolicy::Report),
        orphan_grace: ctx.settings.orphan_grace,
    };
    Ok(World {
        observed,
        cluster_name,
        client: scvmm_client,
        server_version: info.map(|i| i.server.product_version),
        orphans,
        poll_key: key,
        marker,
    })
}

/// One SCVMM poll: server, failure domains, the cluster's marked VMs.
async fn poll(sc: &ScvmmCluster, c: &ScvmmClient, marker: Option<&str>, ctx: &Context) -> Poll {
    let ns = sc.namespace().unwrap_or_default();
    let queries: Vec<DomainQuery> = sc
        .spec
        .failure_domains
        .iter()
        .map(|d| {
            let devices = d
                .networking
                .as_ref()
                .map(|n| n.devices.as_slice())
                .unwrap_or_default();
            DomainQuery {
                name: d.name.clone(),
                cloud: d.cloud.clone(),
                host_group: d.host_group.clone(),
                vm_networks: devices.iter().map(|x| x.vm_network.clone()).collect(),
                ip_pools: devices
                    .iter()
                    .filter_map(|x| x.scvmm_ip_pool.clone())
                    .collect(),
            }
        })
        .collect();
    let started = std::time::Instant::now();
    // Without a marker (no cluster ID yet) no VM is attributed.
    let result = c.cluster_info(&queries, marker.unwrap_or_default()).await;
    ctx.metrics
        .operation("cluster_info", result.is_ok(), started.elapsed());
    match result {
        Ok(i) => {
            let problems: BTreeMap<String, String> = i
                .failure_domains
                .iter()
                .filter_map(|d| d.problem.clone().map(|p| (d.name.clone(), p)))
                .collect();
            Poll {
                scvmm: Scvmm::Available {
                    server: i.server.name.clone(),
                    version: i.server.product_version.clone(),
                    problems,
                },
                info: Some(i),
            }
        }
        Err(ScvmmError::Unauthorized { endpoint }) => Poll {
            scvmm: Scvmm::Unauthorized(format!(
                "SCVMM at {endpoint} refused the credentials in Secret {ns}/{}; check the username (DOMAIN\\user) and password",
                sc.spec.server.credentials_ref.name
            )),
            info: None,
        },
        Err(e) if e.is_transient() => Poll {
            scvmm: Scvmm::Unreachable(e.to_string()),
            info: None,
        },
        Err(e) => Poll {
            scvmm: Scvmm::Misconfigured(format!(
                "ScvmmCluster {ns}/{}: checking the server and failure domains failed: {e}",
                sc.name_any()
            )),
            info: None,
        },
    }
}

/// VMs of the poll whose instance ID no ScvmmMachine of the namespace has.
async fn find_orphans(
    client: &kube::Client,
    ns: &str,
    info: &ClusterInfo,
    marker: &str,
    ctx: &Context,
) -> Result<Vec<Orphan>, Error> {
    let mut known: HashSet<String> = HashSet::new();
    let api = Api::<ScvmmMachine>::namespaced(client.clone(), ns);
    shared::for_each_listed(&api, &ListParams::default(), |m| {
        if let Some(id) = m.spec.provider_id.as_deref().and_then(request::instance_id) {
            known.insert(id.to_ascii_lowercase());
        }
    })
    .await?;
    let now = std::time::Instant::now();
    let mut found: Vec<&crate::scvmm::MarkedVm> = info
        .vms
        .iter()
        .filter(|v| {
            v.instance_id
                .as_deref()
                .is_some_and(|id| !known.contains(&id.to_ascii_lowercase()))
        })
        .collect();
    // A stable order: status, events and the planner do not depend on the
    // order VMM lists VMs in.
    found.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<String> = found.iter().map(|v| v.id.clone()).collect();
    let since = ctx.orphans.observe(marker, &ids, now);
    Ok(found
        .into_iter()
        .zip(since)
        .map(|(v, first)| Orphan {
            id: v.id.clone(),
            name: v.name.clone(),
            instance_id: v.instance_id.clone(),
            status: v.status.clone(),
            orphaned_for: now.saturating_duration_since(first),
            blocked: ctx.orphans.blocked(&v.id, now),
        })
        .collect())
}

async fn endpoint(client: &kube::Client, sc: &ScvmmCluster, ns: &str) -> Result<Endpoint, Error> {
    let given = sc.spec.control_plane_endpoint.clone().unwrap_or_default();
    let port = given.port.unwrap_or(super::plan::DEFAULT_API_PORT);
    if let Some(host) = given.host.filter(|h| !h.is_empty()) {
        return Ok(Endpoint::Given { host, port });
    }
    let Some(pool) = &sc.spec.control_plane_endpoint_pool else {
        return Ok(Endpoint::External);
    };
    let name = vip_claim_name(sc);
    let Some(claim) = Api::<IPAddressClaim>::namespaced(client.clone(), ns)
        .get_opt(&name)
        .await?
    else {
        return Ok(Endpoint::Pool {
            state: PoolState::NotClaimed,
            port,
        });
    };
    let state = match claim.status.as_ref().and_then(|s| s.address_ref.as_ref()) {
        None => {
            let why = claim
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.status == "False"))
                .map(|c| format!(" ({}: {})", c.reason, c.message))
                .unwrap_or_default();
            PoolState::Waiting(format!(
                "waiting for IPAddressClaim {ns}/{name} to get an address from {} {}{why}; check that the IPAM provider for {} runs and the pool has free addresses",
                pool.kind, pool.name, pool.api_group
            ))
        }
        Some(r) => match Api::<IPAddress>::namespaced(client.clone(), ns)
            .get_opt(&r.name)
            .await?
        {
            None => PoolState::Waiting(format!(
                "IPAddressClaim {ns}/{name} points at IPAddress {} which does not exist yet",
                r.name
            )),
            Some(ip) => match ip.spec.address.parse::<std::net::IpAddr>() {
                Ok(a) => PoolState::Bound(a.to_string()),
                Err(_) => PoolState::Invalid(format!(
                    "IPAddress {ns}/{} holds {:?}, which is not an IP address; check the IPAM provider of {} {}",
                    r.name, ip.spec.address, pool.kind, pool.name
                )),
            },
        },
    };
    Ok(Endpoint::Pool { state, port })
}
