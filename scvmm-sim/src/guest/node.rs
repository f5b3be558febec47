//! The fake kubelet (`--register-nodes-kubeconfig`): a guest that booted
//! from a seed whose meta-data names a `provider-id` registers a Node, as
//! kubelet would, so Cluster API finds its Machine's node (by
//! `spec.providerID`) and sees it Ready.
//!
//! What it does, and what stands in for whom:
//! - boot: after the boot delay, server-side apply the Node (name = the
//!   lowercased host name, `spec.providerID`, the kubelet's well-known
//!   labels), then its status (addresses, nodeInfo, the four kubelet
//!   conditions with Ready=True), then renew its Lease in
//!   `kube-node-lease` every 10 s, and re-post the status every 5 minutes,
//!   as kubelet does;
//! - power off (stop, save, pause): every condition becomes Unknown with
//!   reason `NodeStatusUnknown`, the heartbeat time kept, and the Lease is
//!   no longer renewed: what the node lifecycle controller writes 40 s after
//!   a kubelet goes silent, written at once (the test bed runs no such
//!   controller). The Node stays, as it would;
//! - removal: the Node (and its Lease) is deleted, as a cloud controller
//!   manager does when the instance behind a provider ID is gone.
//!
//! Only Nodes whose `spec.providerID` is the guest's are ever marked or
//! deleted. The Node has no capacity, so a scheduler places nothing on it.
//!
//! Two halves: pure builders ([`NodeIdentity`], [`node`], [`node_status`],
//! [`lease`], [`backoff`]) and [`NodeRegistrar`], which applies them with
//! one small task per VM. Failures never reach the model: they are logged
//! (warn, with the VM name), retried with exponential backoff a few times
//! and shown in the guest record (`nodeRegistration` in `/sim/v1/vms`).

use super::boot::{GuestRecord, GuestTable};
use super::clusters::Clusters;
use super::kubeadm::KubeadmBootstrap;
use crate::vmm::GuestBoot;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Node, NodeAddress, NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use uuid::Uuid;

/// Field manager of every write.
pub const FIELD_MANAGER: &str = "scvmm-sim";
/// Where kubelets keep their Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// kubelet's `nodeLeaseDurationSeconds`.
pub const LEASE_DURATION_SECONDS: i32 = 40;
/// kubelet renews its Lease every quarter of its duration.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// kubelet's `nodeStatusReportFrequency`: the status is re-posted this often
/// even when nothing changed.
pub const STATUS_REPORT: Duration = Duration::from_secs(300);
/// The role label kubeadm puts on control-plane Nodes (Cluster API's
/// control plane provider looks Nodes up by it).
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";
/// Where `kubeadm init` uploads its ClusterConfiguration; Cluster API's
/// kubeadm control plane provider takes its presence as "initialised".
pub const KUBEADM_CONFIG: (&str, &str) = ("kube-system", "kubeadm-config");
/// Attempts per change (register, mark, delete) before giving up.
pub const ATTEMPTS: u32 = 8;

/// What the kubelet says about its machine in `status.nodeInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeletInfo {
    /// `kubeletVersion` (`--node-kubelet-version`).
    pub kubelet_version: String,
    /// `osImage`.
    pub os_image: String,
    /// `kernelVersion`.
    pub kernel_version: String,
    /// `containerRuntimeVersion`.
    pub container_runtime_version: String,
}

impl KubeletInfo {
    /// An Ubuntu 24.04 guest (the lab's template) with containerd and this
    /// kubelet version.
    pub fn new(kubelet_version: impl Into<String>) -> Self {
        Self {
            kubelet_version: kubelet_version.into(),
            os_image: "Ubuntu 24.04.2 LTS".into(),
            kernel_version: "6.8.0-60-generic".into(),
            container_runtime_version: "containerd://1.7.27".into(),
        }
    }
}

/// Who the guest's Node is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Node name: the host name, lowercased as kubelet does.
    pub name: String,
    /// `spec.providerID`, from meta-data.
    pub provider_id: String,
    /// IPv4 addresses the guest configured, in adapter order.
    pub internal_ips: Vec<String>,
    /// `systemUUID`: the BIOS GUID, as Linux shows it in
    /// `/sys/class/dmi/id/product_uuid` (lowercase).
    pub system_uuid: String,
    /// `machineID` (`/etc/machine-id`), stable for the VM's disk.
    pub machine_id: String,
    /// `bootID`, new on every boot.
    pub boot_id: String,
    /// kubeadm ran as a control-plane machine: the Node carries
    /// `node-role.kubernetes.io/control-plane`, as kubeadm labels it.
    pub control_plane: bool,
}

impl NodeIdentity {
    /// The Node a booted guest registers: named after its host name
    /// (`local-hostname`, else the requested computer name, else the VM
    /// name). `Err` says why there is none: kubelet is given
    /// `--provider-id` from meta-data, and without it Cluster API could
    /// never match the Node to its Machine.
    pub fn from_guest(
        boot: &GuestBoot,
        record: &GuestRecord,
        internal_ips: Vec<String>,
        boot_id: Uuid,
    ) -> Result<Self, String> {
        let provider_id = record
            .provider_id
            .clone()
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| "not registered: the seed's meta-data has no provider-id".to_string())?;
        let host = record
            .hostname
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or(&boot.name);
        Ok(Self {
            name: host.trim().to_lowercase(),
            provider_id: provider_id.trim().to_string(),
            internal_ips,
            system_uuid: boot.bios_guid.to_string(),
            machine_id: boot.vm.simple().to_string(),
            boot_id: boot_id.to_string(),
            control_plane: false,
        })
    }
}

/// The Ready condition to post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The kubelet is posting ready status.
    Ready,
    /// The kubelet went silent (the VM is off).
    Unknown,
}

/// The Node's metadata and spec, for a server-side apply of the object.
pub fn node(id: &NodeIdentity) -> Node {
    let mut labels: std::collections::BTreeMap<String, String> = [
        ("kubernetes.io/hostname", id.name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if id.control_plane {
        labels.insert(CONTROL_PLANE_LABEL.into(), String::new());
    }
    Node {
        metadata: ObjectMeta {
            name: Some(id.name.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            provider_id: Some(id.provider_id.clone()),
            ..NodeSpec::default()
        }),
        status: None,
    }
}

/// The kubelet's four conditions: (type, reason and message when healthy).
const CONDITIONS: [(&str, &str, &str, &str); 4] = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ),
];

/// The Node's whole status as this kubelet owns it, for a server-side apply
/// of the status subresource (a field left out would be dropped, so every
/// post carries addresses and nodeInfo too). A condition keeps its
/// `lastTransitionTime` from `previous` while its status is unchanged;
/// `Unknown` keeps the last heartbeat, as the node lifecycle controller does.
pub fn node_status(
    id: &NodeIdentity,
    kubelet: &KubeletInfo,
    readiness: Readiness,
    now: Timestamp,
    previous: Option<&NodeStatus>,
) -> Node {
    let before = |kind: &str| {
        previous
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == kind))
    };
    let conditions = CONDITIONS
        .iter()
        .map(|(kind, healthy, reason, message)| {
            let (status, reason, message) = match readiness {
                Readiness::Ready => (*healthy, *reason, *message),
                Readiness::Unknown => (
                    "Unknown",
                    "NodeStatusUnknown",
                    "Kubelet stopped posting node status.",
                ),
            };
            let old = before(kind);
            let transition = old
                .filter(|c| c.status == status)
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or(Time(now));
            let heartbeat = match readiness {
                Readiness::Ready => Time(now),
                Readiness::Unknown => old
                    .and_then(|c| c.last_heartbeat_time.clone())
                    .unwrap_or(Time(now)),
            };
            NodeCondition {
                type_: (*kind).to_string(),
                status: status.to_string(),
                reason: Some(reason.to_string()),
                message: Some(message.to_string()),
                last_heartbeat_time: Some(heartbeat),
                last_transition_time: Some(transition),
            }
        })
        .collect();
    let mut addresses: Vec<NodeAddress> = id
        .internal_ips
        .iter()
        .map(|ip| NodeAddress {
            type_: "InternalIP".into(),
            address: ip.clone(),
        })
        .collect();
    addresses.push(NodeAddress {
        type_: "Hostname".into(),
        address: id.name.clone(),
    });
    Node {
        metadata: ObjectMeta {
            name: Some(id.name.clone()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(NodeStatus {
            addresses: Some(addresses),
            conditions: Some(conditions),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".into(),
                boot_id: id.boot_id.clone(),
                container_runtime_version: kubelet.container_runtime_version.clone(),
                kernel_version: kubelet.kernel_version.clone(),
                // Deprecated; kubelet leaves it empty since 1.31.
                kube_proxy_version: String::new(),
                kubelet_version: kubelet.kubelet_version.clone(),
                machine_id: id.machine_id.clone(),
                operating_system: "linux".into(),
                os_image: kubelet.os_image.clone(),
                swap: None,
                system_uuid: id.system_uuid.clone(),
            }),
            ..NodeStatus::default()
        }),
    }
}

/// The node's Lease, renewed at `now`; owned by the Node (when its UID is
/// known) so the garbage collector removes it with the Node, as kubelet
/// sets it up.
pub fn lease(node_name: &str, node_uid: Option<&str>, now: Timestamp) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(node_name.to_string()),
            namespace: Some(LEASE_NAMESPACE.to_string()),
            owner_references: node_uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: node_name.to_string(),
                    uid: uid.to_string(),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(node_name.to_string()),
            lease_duration_seconds: Some(LEASE_DURATION_SECONDS),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// Wait before attempt `failed + 1`: 0.5 s, doubling, at most 30 s (the
/// eight attempts span about a minute, long enough to ride out an API
/// server restart).
pub fn backoff(failed: u32) -> Duration {
    let ms = 500u64.saturating_mul(1u64 << failed.saturating_sub(1).min(16));
    Duration::from_millis(ms.min(30_000))
}

/// Why the registrar could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The kubeconfig file is unreadable or invalid.
    #[error("{path} is not a usable kubeconfig: {detail}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Not called from within a tokio runtime.
    #[error("the node registrar must be created inside a tokio runtime")]
    NoRuntime,
}

/// What a VM's guest should look like in the cluster; the newest wins.
#[derive(Clone, Debug)]
enum Want {
    /// Registered and Ready, from `not_before` (the end of the boot).
    Ready {
        identity: NodeIdentity,
        not_before: Instant,
    },
    /// Ready=Unknown: the VM is off.
    Unknown,
    /// Deleted: the VM was removed.
    Gone,
}

type Actors = Mutex<HashMap<Uuid, (u64, mpsc::UnboundedSender<Want>)>>;

/// Which cluster a guest's Node goes to.
#[derive(Clone, Debug)]
pub enum Target {
    /// The cluster of `--register-nodes-kubeconfig`.
    Default,
    /// The cluster the guest's kubeadm joins (`--join-kubeadm-clusters`).
    Kubeadm(KubeadmBootstrap),
}

/// Registers guests' Nodes; one task per VM applies the newest wanted
/// state, retrying, then keeps the Lease fresh.
pub struct NodeRegistrar {
    client: Option<Client>,
    clusters: Option<Arc<Clusters>>,
    kubelet: KubeletInfo,
    records: GuestTable,
    runtime: tokio::runtime::Handle,
    actors: Arc<Actors>,
    next_actor: std::sync::atomic::AtomicU64,
}

impl NodeRegistrar {
    /// A registrar writing with `client`; it must be created inside a tokio
    /// runtime. Progress and errors go to `records`.
    /// `client` takes every guest's Node (when set); `join` sends the Node
    /// of a guest whose bootstrap data runs kubeadm to the cluster it names.
    pub fn new(
        client: Option<Client>,
        join: bool,
        kubelet: KubeletInfo,
        records: GuestTable,
    ) -> Result<Arc<Self>, NodeError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NodeError::NoRuntime)?;
        Ok(Arc::new(Self {
            client,
            clusters: join.then(Arc::default),
            kubelet,
            records,
            runtime,
            actors: Arc::default(),
            next_actor: Default::default(),
        }))
    }

    /// A registrar for the cluster (current context) of a kubeconfig file,
    /// and with `join` for the clusters kubeadm guests join. The client is
    /// built once here; nothing is contacted yet.
    pub async fn from_kubeconfig(
        path: &Path,
        join: bool,
        kubelet: KubeletInfo,
        records: GuestTable,
    ) -> Result<Arc<Self>, NodeError> {
        let invalid = |detail: String| NodeError::Kubeconfig {
            path: path.to_path_buf(),
            detail,
        };
        let kubeconfig = Kubeconfig::read_from(path).map_err(|e| invalid(e.to_string()))?;
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| invalid(e.to_string()))?;
        // Short timeouts keep retries moving when the API server is away.
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(Duration::from_secs(20));
        let client = Client::try_from(config).map_err(|e| invalid(e.to_string()))?;
        Self::new(Some(client), join, kubelet, records)
    }

    /// Where the Node of a guest with this bootstrap goes; `Err` says why
    /// it has none.
    pub fn target(&self, kubeadm: Option<&KubeadmBootstrap>) -> Result<Target, String> {
        match (kubeadm, &self.clusters, &self.client) {
            (Some(k), Some(_), _) => Ok(Target::Kubeadm(k.clone())),
            (_, _, Some(_)) => Ok(Target::Default),
            (None, Some(_), None) => Err(
                "not registered: the bootstrap data does not run kubeadm, so it names no cluster to join".into(),
            ),
            (Some(_), None, None) | (None, None, None) => {
                Err("not registered: no cluster to register in".into())
            }
        }
    }

    /// The guest of `vm` booted: register `identity` once `after` has
    /// passed, unless something newer arrives first.
    pub fn booted(
        &self,
        vm: Uuid,
        vm_name: &str,
        identity: NodeIdentity,
        target: Target,
        after: Duration,
    ) {
        let source = match (&target, &self.client, &self.clusters) {
            (Target::Kubeadm(k), _, Some(clusters)) => Source::Kubeadm {
                boot: Box::new(k.clone()),
                clusters: clusters.clone(),
            },
            (_, Some(client), _) => Source::Fixed(client.clone()),
            _ => return,
        };
        let want = Want::Ready {
            identity,
            not_before: Instant::now() + after,
        };
        let Ok(mut actors) = self.actors.lock() else {
            return;
        };
        let want = match actors.get(&vm) {
            Some((_, tx)) => match tx.send(want) {
                Ok(()) => return,
                Err(mpsc::error::SendError(want)) => want,
            },
            None => want,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self
            .next_actor
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        actors.insert(vm, (id, tx));
        let actor = Actor {
            vm,
            vm_name: vm_name.to_string(),
            id,
            source,
            client: None,
            kubelet: self.kubelet.clone(),
            records: self.records.clone(),
            actors: Arc::downgrade(&self.actors),
        };
        self.runtime.spawn(actor.run(want, rx));
    }

    /// The VM powered off: its Node (if it has one) goes Ready=Unknown.
    pub fn stopped(&self, vm: Uuid) {
        self.tell(vm, Want::Unknown);
    }

    /// The VM was removed: its Node (if it has one) is deleted.
    pub fn removed(&self, vm: Uuid) {
        self.tell(vm, Want::Gone);
    }

    /// Every VM is gone at once (the model was reset): delete their Nodes.
    pub fn remove_all(&self) {
        if let Ok(actors) = self.actors.lock() {
            for (_, tx) in actors.values() {
                let _ = tx.send(Want::Gone);
            }
        }
    }

    fn tell(&self, vm: Uuid, want: Want) {
        // A VM without a task never registered a Node: nothing to change.
        if let Ok(actors) = self.actors.lock()
            && let Some((_, tx)) = actors.get(&vm)
        {
            let _ = tx.send(want);
        }
    }
}

/// Where an actor gets its client.
enum Source {
    Fixed(Client),
    Kubeadm {
        boot: Box<KubeadmBootstrap>,
        clusters: Arc<Clusters>,
    },
}

/// Why a step did not happen.
#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// No way to reach the cluster yet (a worker whose control plane has
    /// not booted here); retried like an API error.
    #[error("{0}")]
    NoCluster(String),
}

/// One VM's Node, driven towards the newest [`Want`].
struct Actor {
    vm: Uuid,
    vm_name: String,
    id: u64,
    source: Source,
    client: Option<Client>,
    kubelet: KubeletInfo,
    records: GuestTable,
    actors: Weak<Actors>,
}

/// How one step ended.
enum Step {
    /// Done; the text goes to the guest record.
    Done(String),
    /// The Node is not (or no longer) ours: stop heartbeating.
    Lost(String),
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// 400 and 422 (for example a host name that is not a valid Node name, or
/// a Node of that name with another provider ID) will not go away by
/// themselves; everything else may.
fn permanent(e: &StepError) -> bool {
    matches!(e, StepError::Kube(kube::Error::Api(s)) if matches!(s.code, 400 | 422))
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl Actor {
    async fn run(mut self, mut want: Want, mut rx: mpsc::UnboundedReceiver<Want>) {
        // The Node this VM registered (or tried to): what to mark or delete.
        let mut node: Option<NodeIdentity> = None;
        let mut pending = true;
        let mut failed = 0u32;
        let mut retry_at = Instant::now();
        let mut next_beat: Option<Instant> = None;
        let mut last_status = Instant::now();
        loop {
            let wake = if pending {
                Some(match &want {
                    Want::Ready { not_before, .. } => retry_at.max(*not_before),
                    _ => retry_at,
                })
            } else {
                next_beat
            };
            tokio::select! {
                msg = rx.recv() => {
                    let Some(next) = msg else { return };
                    want = next;
                    pending = true;
                    failed = 0;
                    retry_at = Instant::now();
                    next_beat = None;
                    continue;
                }
                () = sleep_until(wake) => {}
            }
            if !pending {
                if let Some(id) = &node {
                    let report = last_status.elapsed() >= STATUS_REPORT;
                    match self.heartbeat(id, report).await {
                        Ok(Step::Done(_)) => {
                            if report {
                                last_status = Instant::now();
                            }
                            next_beat = Some(Instant::now() + HEARTBEAT);
                        }
                        Ok(Step::Lost(why)) => {
                            tracing::warn!(vm = %self.vm_name, node = %id.name, "{why}");
                            self.note(why);
                            next_beat = None;
                        }
                        Err(e) => {
                            tracing::debug!(vm = %self.vm_name, node = %id.name, error = %e, "node heartbeat failed");
                            next_beat = Some(Instant::now() + HEARTBEAT);
                        }
                    }
                }
                continue;
            }
            let result = match &want {
                Want::Ready { identity, .. } => {
                    node = Some(identity.clone());
                    self.register(identity).await
                }
                Want::Unknown => self.mark_unknown(node.as_ref()).await,
                Want::Gone => self.delete(node.as_ref()).await,
            };
            let what = match &want {
                Want::Ready { .. } => "registering",
                Want::Unknown => "marking Ready=Unknown",
                Want::Gone => "deleting",
            };
            let name = node.as_ref().map_or("", |n| n.name.as_str());
            match result {
                Ok(step) => {
                    pending = false;
                    failed = 0;
                    let ready = matches!(step, Step::Done(_)) && matches!(want, Want::Ready { .. });
                    let (Step::Done(text) | Step::Lost(text)) = step;
                    tracing::info!(vm = %self.vm_name, node = %name, "{text}");
                    self.note(text);
                    if ready {
                        last_status = Instant::now();
                        next_beat = Some(Instant::now() + HEARTBEAT);
                    }
                }
                Err(e) => {
                    failed += 1;
                    if permanent(&e) || failed >= ATTEMPTS {
                        tracing::warn!(vm = %self.vm_name, node = %name, attempts = failed, error = %e, "{what} the Node failed; giving up until the VM changes power state");
                        self.note(format!(
                            "failed {what} Node {name} after {failed} attempt(s): {e}"
                        ));
                        pending = false;
                    } else {
                        let wait = backoff(failed);
                        tracing::warn!(vm = %self.vm_name, node = %name, attempt = failed, error = %e, "{what} the Node failed; retrying in {wait:?}");
                        self.note(format!(
                            "retrying ({what} Node {name}, attempt {failed} of {ATTEMPTS} failed): {e}"
                        ));
                        retry_at = Instant::now() + wait;
                    }
                }
            }
            if !pending && matches!(want, Want::Gone) {
                // The VM is gone; leave, unless a message raced in (sends
                // happen under the map's lock, so none can slip past).
                let Some(actors) = self.actors.upgrade() else {
                    return;
                };
                let Ok(mut actors) = actors.lock() else {
                    return;
                };
                match rx.try_recv() {
                    Ok(next) => {
                        want = next;
                        pending = true;
                        failed = 0;
                        retry_at = Instant::now();
                    }
                    Err(_) => {
                        if actors.get(&self.vm).is_some_and(|(id, _)| *id == self.id) {
                            actors.remove(&self.vm);
                        }
                        return;
                    }
                }
            }
        }
    }

    fn note(&self, text: String) {
        if let Ok(mut records) = self.records.lock()
            && let Some(r) = records.get_mut(&self.vm)
        {
            r.node_registration = Some(text);
        }
    }

    fn apply() -> PatchParams {
        PatchParams::apply(FIELD_MANAGER).force()
    }

    /// The client for this guest's cluster, found once.
    async fn connect(&mut self) -> Result<Client, StepError> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let client = match &self.source {
            Source::Fixed(c) => c.clone(),
            Source::Kubeadm { boot, clusters } => match (&boot.ca_cert_pem, &boot.ca_key_pem) {
                (Some(cert), Some(key)) => clusters
                    .learn(&boot.endpoint, cert, &key.0)
                    .await
                    .map_err(|e| {
                        StepError::NoCluster(format!(
                            "cannot reach the cluster at {} with the CA in the bootstrap data: {e}",
                            boot.endpoint
                        ))
                    })?,
                _ => clusters.client(&boot.endpoint).ok_or_else(|| {
                    StepError::NoCluster(format!(
                        "no control-plane machine of the cluster at {} has booted in this emulator yet, so it has no credentials for it",
                        boot.endpoint
                    ))
                })?,
            },
        };
        self.client = Some(client.clone());
        Ok(client)
    }

    async fn nodes(&mut self) -> Result<Api<Node>, StepError> {
        Ok(Api::all(self.connect().await?))
    }

    async fn leases(&mut self) -> Result<Api<Lease>, StepError> {
        Ok(Api::namespaced(self.connect().await?, LEASE_NAMESPACE))
    }

    /// What `kubeadm init` leaves that Cluster API reads: the
    /// `kubeadm-config` ConfigMap. Never overwritten once there.
    async fn upload_kubeadm_config(&mut self) -> Result<(), StepError> {
        let Source::Kubeadm { boot, .. } = &self.source else {
            return Ok(());
        };
        let Some(cluster_configuration) = boot.cluster_configuration.clone() else {
            return Ok(());
        };
        let (namespace, name) = KUBEADM_CONFIG;
        let maps: Api<ConfigMap> = Api::namespaced(self.connect().await?, namespace);
        let map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                ..ObjectMeta::default()
            },
            data: Some(
                [("ClusterConfiguration".to_string(), cluster_configuration)]
                    .into_iter()
                    .collect(),
            ),
            ..ConfigMap::default()
        };
        match maps.create(&PostParams::default(), &map).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn register(&mut self, id: &NodeIdentity) -> Result<Step, StepError> {
        let nodes = self.nodes().await?;
        let applied = nodes
            .patch(&id.name, &Self::apply(), &Patch::Apply(node(id)))
            .await?;
        let status = node_status(
            id,
            &self.kubelet,
            Readiness::Ready,
            Timestamp::now(),
            applied.status.as_ref(),
        );
        nodes
            .patch_status(&id.name, &Self::apply(), &Patch::Apply(status))
            .await?;
        self.renew_lease(id, applied.metadata.uid.as_deref()).await;
        self.upload_kubeadm_config().await?;
        let cluster = match &self.source {
            Source::Kubeadm { boot, .. } => format!(" in the cluster at {}", boot.endpoint),
            Source::Fixed(_) => String::new(),
        };
        Ok(Step::Done(format!(
            "registered Node {} (Ready){cluster}",
            id.name
        )))
    }

    /// The Node of `id` if it exists and carries our provider ID.
    async fn ours(&mut self, id: &NodeIdentity) -> Result<Result<Node, String>, StepError> {
        Ok(match self.nodes().await?.get_opt(&id.name).await? {
            None => Err(format!("Node {} no longer exists", id.name)),
            Some(n)
                if n.spec.as_ref().and_then(|s| s.provider_id.as_deref())
                    == Some(&id.provider_id) =>
            {
                Ok(n)
            }
            Some(_) => Err(format!(
                "Node {} now has another provider ID; left alone",
                id.name
            )),
        })
    }

    async fn mark_unknown(&mut self, id: Option<&NodeIdentity>) -> Result<Step, StepError> {
        let Some(id) = id else {
            return Ok(Step::Lost("no Node registered".into()));
        };
        let existing = match self.ours(id).await? {
            Ok(n) => n,
            Err(why) => return Ok(Step::Lost(why)),
        };
        let status = node_status(
            id,
            &self.kubelet,
            Readiness::Unknown,
            Timestamp::now(),
            existing.status.as_ref(),
        );
        self.nodes()
            .await?
            .patch_status(&id.name, &Self::apply(), &Patch::Apply(status))
            .await?;
        Ok(Step::Done(format!(
            "Node {} marked Ready=Unknown (VM off)",
            id.name
        )))
    }

    async fn delete(&mut self, id: Option<&NodeIdentity>) -> Result<Step, StepError> {
        let Some(id) = id else {
            return Ok(Step::Lost("no Node registered".into()));
        };
        let existing = match self.ours(id).await? {
            Ok(n) => n,
            Err(why) => return Ok(Step::Lost(why)),
        };
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: existing.metadata.uid.clone(),
                ..Preconditions::default()
            }),
            ..DeleteParams::default()
        };
        match self.nodes().await?.delete(&id.name, &params).await {
            Ok(_) => {}
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(e.into()),
        }
        // Its owner reference would let the garbage collector do this; do
        // not depend on one running.
        if let Err(e) = self
            .leases()
            .await?
            .delete(&id.name, &DeleteParams::default())
            .await
            && !not_found(&e)
        {
            tracing::debug!(vm = %self.vm_name, node = %id.name, error = %e, "deleting the node Lease failed");
        }
        Ok(Step::Done(format!("Node {} deleted (VM removed)", id.name)))
    }

    /// Renews the Lease (and re-posts the status when `report`); `Lost`
    /// when the Node went away: someone deleted it (Cluster API does when
    /// its Machine goes), and kubelet would not bring it back either.
    async fn heartbeat(&mut self, id: &NodeIdentity, report: bool) -> Result<Step, StepError> {
        let existing = match self.ours(id).await? {
            Ok(n) => n,
            Err(why) => return Ok(Step::Lost(format!("{why}; heartbeats stopped"))),
        };
        self.renew_lease(id, existing.metadata.uid.as_deref()).await;
        if report {
            let status = node_status(
                id,
                &self.kubelet,
                Readiness::Ready,
                Timestamp::now(),
                existing.status.as_ref(),
            );
            self.nodes()
                .await?
                .patch_status(&id.name, &Self::apply(), &Patch::Apply(status))
                .await?;
        }
        Ok(Step::Done(String::new()))
    }

    /// A failed renewal is retried on the next heartbeat; the Node itself
    /// is what Cluster API reads.
    async fn renew_lease(&mut self, id: &NodeIdentity, uid: Option<&str>) {
        let body = lease(&id.name, uid, Timestamp::now());
        let leases = match self.leases().await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(vm = %self.vm_name, node = %id.name, error = %e, "renewing the node Lease failed");
                return;
            }
        };
        if let Err(e) = leases
            .patch(&id.name, &Self::apply(), &Patch::Apply(body))
            .await
        {
            tracing::debug!(vm = %self.vm_name, node = %id.name, error = %e, "renewing the node Lease failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn identity() -> NodeIdentity {
        NodeIdentity {
            name: "worker-1".into(),
            provider_id: "scvmm://4217c2a5-0a5e-4b9c-9c1e-0123456789ab".into(),
            internal_ips: vec!["10.0.0.21".into(), "172.31.0.10".into()],
            system_uuid: "0f2b9c62-7f0e-4d3a-9c55-1d2e3f405162".into(),
            machine_id: "6c1a0d5e2f3b4a5c8d9e0f1a2b3c4d5e".into(),
            boot_id: "9e1c1e0b-4f4f-4d7a-8a43-5d7f1f0c9a11".into(),
            control_plane: false,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn boot() -> GuestBoot {
        GuestBoot {
            vm: Uuid::from_u128(7),
            name: "VM-Name".into(),
            bios_guid: Uuid::from_u128(0xabc),
            computer_name: None,
            adapters: Vec::new(),
            media: None,
        }
    }

    #[test]
    fn identity_comes_from_the_seed_and_falls_back_to_the_vm_name() {
        let record = GuestRecord {
            hostname: Some("Worker-1".into()),
            provider_id: Some("scvmm://x".into()),
            ..GuestRecord::default()
        };
        let id = NodeIdentity::from_guest(&boot(), &record, vec!["10.0.0.5".into()], Uuid::nil())
            .unwrap();
        assert_eq!(id.name, "worker-1", "kubelet lowercases the host name");
        assert_eq!(id.provider_id, "scvmm://x");
        assert_eq!(id.system_uuid, "00000000-0000-0000-0000-000000000abc");
        assert_eq!(id.machine_id, "00000000000000000000000000000007");

        let nameless = GuestRecord {
            hostname: None,
            ..record.clone()
        };
        let id = NodeIdentity::from_guest(&boot(), &nameless, Vec::new(), Uuid::nil()).unwrap();
        assert_eq!(id.name, "vm-name");

        let no_provider = GuestRecord {
            provider_id: None,
            ..record
        };
        let why =
            NodeIdentity::from_guest(&boot(), &no_provider, Vec::new(), Uuid::nil()).unwrap_err();
        assert!(why.contains("provider-id"), "{why}");
    }

    #[test]
    fn the_node_object_carries_provider_id_and_kubelet_labels() {
        let n = node(&identity());
        insta::assert_yaml_snapshot!(n);
        assert!(n.status.is_none(), "status goes through the subresource");
        assert_eq!(
            n.metadata.labels.as_ref().unwrap()["kubernetes.io/hostname"],
            "worker-1"
        );
    }

    #[test]
    fn a_ready_status_lists_addresses_node_info_and_four_conditions() {
        let s = node_status(
            &identity(),
            &KubeletInfo::new("v1.33.0"),
            Readiness::Ready,
            at("2025-06-01T12:00:00Z"),
            None,
        );
        insta::assert_yaml_snapshot!(s);
    }

    #[test]
    fn transitions_are_kept_while_a_condition_holds_and_unknown_keeps_the_heartbeat() {
        let id = identity();
        let k = KubeletInfo::new("v1.33.0");
        let first = node_status(&id, &k, Readiness::Ready, at("2025-06-01T12:00:00Z"), None);
        let again = node_status(
            &id,
            &k,
            Readiness::Ready,
            at("2025-06-01T12:05:00Z"),
            first.status.as_ref(),
        );
        let ready = |n: &Node| {
            n.status
                .as_ref()
                .unwrap()
                .conditions
                .as_ref()
                .unwrap()
                .iter()
                .find(|c| c.type_ == "Ready")
                .cloned()
                .unwrap()
        };
        let c = ready(&again);
        assert_eq!(c.status, "True");
        assert_eq!(
            c.last_transition_time,
            Some(Time(at("2025-06-01T12:00:00Z")))
        );
        assert_eq!(
            c.last_heartbeat_time,
            Some(Time(at("2025-06-01T12:05:00Z")))
        );

        let off = node_status(
            &id,
            &k,
            Readiness::Unknown,
            at("2025-06-01T12:06:00Z"),
            again.status.as_ref(),
        );
        let c = ready(&off);
        assert_eq!(c.status, "Unknown");
        assert_eq!(c.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            c.last_transition_time,
            Some(Time(at("2025-06-01T12:06:00Z")))
        );
        assert_eq!(
            c.last_heartbeat_time,
            Some(Time(at("2025-06-01T12:05:00Z")))
        );
        let conditions = off.status.unwrap().conditions.unwrap();
        assert!(conditions.iter().all(|c| c.status == "Unknown"));
        assert_eq!(conditions.len(), 4);
    }

    #[test]
    fn the_lease_is_held_by_the_node_and_owned_by_it() {
        let l = lease("worker-1", Some("uid-1"), at("2025-06-01T12:00:00Z"));
        assert_eq!(l.metadata.namespace.as_deref(), Some(LEASE_NAMESPACE));
        let spec = l.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("worker-1"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        let owner = &l.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Node", "uid-1"));
        assert!(
            lease("worker-1", None, at("2025-06-01T12:00:00Z"))
                .metadata
                .owner_references
                .is_none()
        );
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let waits: Vec<u64> = (1..ATTEMPTS)
            .map(|n| backoff(n).as_millis() as u64)
            .collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000, 30000]);
        assert_eq!(backoff(100), Duration::from_secs(30));
    }
}
