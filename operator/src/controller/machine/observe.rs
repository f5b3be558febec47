//! Observe: read everything the planner needs (Machine, Cluster,
//! ScvmmCluster, bootstrap Secret, IPAM claims, the VM in SCVMM) without
//! changing anything in SCVMM.

use super::ipam::{self, IpamState};
use super::plan::{Addresses, BootstrapData, Observed, Scvmm, VmFacts};
use super::request::{self, ResolvedDevice};
use super::vm_phase::VmPhase;
use crate::Error;
use crate::api::cluster::ScvmmFailureDomain;
use crate::api::machine::PowerOffMode;
use crate::api::{ScvmmCluster, ScvmmMachine};
use crate::capi::{self, Cluster, Machine};
use crate::controller::{Context, MACHINE_FINALIZER, SKIP_VM_DELETION_ANNOTATION, vm_lists};
use crate::scvmm::{ScvmmClient, ScvmmError, VmInfo};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use std::time::Duration;

/// Everything read, beyond the planner's view.
pub struct World {
    /// The planner's input.
    pub observed: Observed,
    /// The owner Machine.
    pub machine: Option<Machine>,
    /// The cluster name.
    pub cluster_name: String,
    /// The ScvmmCluster.
    pub scvmm_cluster: Option<ScvmmCluster>,
    /// The failure domain definition the machine is placed in.
    pub failure_domain: Option<ScvmmFailureDomain>,
    /// The bootstrap data bytes, when they were needed and read.
    pub user_data: Option<Vec<u8>>,
    /// Addresses from IPAM, per device.
    pub resolved: Vec<ResolvedDevice>,
    /// The SCVMM client, when the connection settings resolved.
    pub client: Option<ScvmmClient>,
    /// The VM, when SCVMM answered with it.
    pub vm: Option<VmInfo>,
}

/// Reads the world for `sm`.
pub async fn observe(sm: &ScvmmMachine, ctx: &Context) -> Result<World, Error> {
    let ns = sm.namespace().unwrap_or_default();
    let client = &ctx.client;
    let machine = match capi::owner_name(sm, "Machine") {
        Some(name) => ctx.caches.machine(client, &ns, &name).await?,
        None => None,
    };
    let cluster_name = sm
        .labels()
        .get(capi::CLUSTER_NAME_LABEL)
        .cloned()
        .or_else(|| machine.as_ref().map(|m| m.spec.cluster_name.clone()))
        .unwrap_or_default();
    let cluster = if cluster_name.is_empty() {
        None
    } else {
        ctx.caches.cluster(client, &ns, &cluster_name).await?
    };
    let scvmm_cluster = match cluster
        .as_ref()
        .and_then(|c| c.spec.infrastructure_ref.as_ref())
    {
        Some(r) if r.kind == "ScvmmCluster" => {
            ctx.caches.scvmm_cluster(client, &ns, &r.name).await?
        }
        _ => None,
    };
    let paused = cluster.as_ref().is_some_and(capi::is_paused) || capi::has_paused_annotation(sm);
    let deleting = sm.metadata.deletion_timestamp.is_some();
    let status = sm.status.clone().unwrap_or_default();
    let provisioned = status
        .initialization
        .as_ref()
        .and_then(|i| i.provisioned)
        .unwrap_or(false);
    let fd_name = machine
        .as_ref()
        .and_then(|m| m.spec.failure_domain.clone())
        .filter(|f| !f.is_empty());
    let failure_domain = match (&scvmm_cluster, &fd_name) {
        (Some(c), Some(n)) => c
            .spec
            .failure_domains
            .iter()
            .find(|f| &f.name == n)
            .cloned(),
        // CAPI leaves spec.failureDomain empty when the Cluster publishes
        // none; the machine then goes to the first one defined.
        (Some(c), None) => c.spec.failure_domains.first().cloned(),
        _ => None,
    };
    let has_identity = sm.spec.provider_id.is_some();

    // SCVMM is asked only once an identity exists (nothing of ours can
    // exist before), and never while paused.
    let mut scvmm = Scvmm::NotAsked;
    let mut scvmm_client = None;
    let mut vm = None;
    let skip = deleting
        && sm
            .annotations()
            .get(SKIP_VM_DELETION_ANNOTATION)
            .is_some_and(|v| v == "true");
    // While paused SCVMM is read only to learn whether the job that set the
    // block-move annotation finished (clusterctl move waits for that).
    let blocking_move = sm.annotations().contains_key(capi::BLOCK_MOVE_ANNOTATION);
    if has_identity && (!paused || blocking_move) && !skip {
        match &scvmm_cluster {
            None => {
                scvmm = Scvmm::Misconfigured(format!(
                    "the Cluster {ns}/{cluster_name} has no ScvmmCluster to take the SCVMM connection from"
                ));
            }
            Some(c) => {
                let server = &c.spec.server;
                let connected = ctx
                    .scvmm
                    .connect(client, &ns, server, &ctx.settings.connection)
                    .await;
                match connected {
                    Err(m) => {
                        scvmm =
                            Scvmm::Misconfigured(format!("ScvmmCluster {ns}/{}: {m}", c.name_any()))
                    }
                    Ok(scvmm_c) => {
                        let found = lookup(&scvmm_c, sm, ctx).await;
                        scvmm = match found {
                            Ok(Some(v)) => {
                                let facts = vm_facts(&v, sm);
                                vm = Some(v);
                                Scvmm::Present(facts)
                            }
                            Ok(None) => Scvmm::Absent,
                            Err(ScvmmError::Unauthorized { endpoint }) => {
                                // The password may have been rotated: read
                                // the Secret again next time.
                                ctx.scvmm.forget_recent(&ns, server);
                                Scvmm::Unauthorized(format!(
                                    "SCVMM at {endpoint} refused the credentials in Secret {ns}/{}; check the username (DOMAIN\\user) and password",
                                    c.spec.server.credentials_ref.name
                                ))
                            }
                            Err(e) if e.is_transient() => Scvmm::Unreachable(e.to_string()),
                            Err(e) => return Err(e.into()),
                        };
                        scvmm_client = Some(scvmm_c);
                    }
                }
            }
        }
    }

    // Bootstrap data and addresses matter only until the VM is created,
    // and only to the two steps that use them: choosing the identity (which
    // waits for them, and adds the finalizer too when they are there on the
    // first look) and the create itself (an identity, no VM yet). Any
    // other reconcile skips the Secret GET and the claims: a machine goes
    // through many reconciles before its VM ID is recorded.
    let has_finalizer = sm.finalizers().iter().any(|f| f == MACHINE_FINALIZER);
    let cluster_ready = cluster
        .as_ref()
        .is_some_and(Cluster::infrastructure_provisioned);
    let needs_inputs = !deleting
        && !paused
        && !provisioned
        && sm.spec.vm_id.is_none()
        && machine.is_some()
        && ((!has_identity && cluster_ready) || scvmm == Scvmm::Absent);
    let (bootstrap, user_data) = if needs_inputs {
        read_bootstrap(client, &ns, machine.as_ref()).await?
    } else {
        (BootstrapData::Ready, None)
    };
    let net = request::network(&sm.spec, failure_domain.as_ref());
    let (addresses, resolved) = if needs_inputs && bootstrap == BootstrapData::Ready {
        match ipam::resolve(client, sm, net, &cluster_name).await? {
            IpamState::Ready(r) => (Addresses::Ready, r),
            IpamState::Waiting(m) => (Addresses::Waiting(m), vec![]),
            IpamState::Invalid(m) => (Addresses::Invalid(m), vec![]),
        }
    } else {
        (Addresses::Ready, vec![])
    };

    let shutdown_elapsed = status.shutdown_started_at.as_ref().map(|t| {
        let now = k8s_openapi::jiff::Timestamp::now();
        Duration::from_secs(now.as_second().saturating_sub(t.0.as_second()).max(0) as u64)
    });
    let waits_for_addresses = !deleting
        && !paused
        && !provisioned
        && matches!(&scvmm, Scvmm::Present(vm)
            if !vm.has_addresses && VmPhase::from_status(&vm.status) == VmPhase::Running);
    let address_refresh_in = sm
        .spec
        .provider_id
        .as_deref()
        .and_then(request::instance_id)
        .and_then(|i| {
            ctx.address_refreshes
                .due_in(i, waits_for_addresses, std::time::Instant::now())
        });
    let observed = Observed {
        address_refresh_in,
        deleting,
        has_finalizer,
        paused,
        has_owner: machine.is_some(),
        cluster_ready,
        bootstrap,
        addresses,
        has_identity,
        has_vm_id: sm.spec.vm_id.is_some(),
        provisioned,
        seed_cleaned: status
            .seed
            .as_ref()
            .and_then(|s| s.ejected)
            .unwrap_or(false)
            || sm
                .spec
                .provider_id
                .as_deref()
                .and_then(request::instance_id)
                .is_some_and(|i| ctx.vm_lists.has_ejected_seed(i)),
        scvmm,
        create_attempts: status.creation_attempts.unwrap_or(0).max(0) as u32,
        power_off_mode: sm.spec.power_off_mode.unwrap_or(PowerOffMode::TrySoft),
        shutdown_elapsed,
        shutdown_timeout: sm
            .spec
            .guest_shutdown_timeout_seconds
            .map(|s| Duration::from_secs(s.max(1) as u64))
            .unwrap_or(super::plan::DEFAULT_SHUTDOWN_TIMEOUT),
        restart_powered_off: ctx.settings.restart_powered_off,
        skip_vm_deletion: skip,
    };
    Ok(World {
        observed,
        machine,
        cluster_name,
        scvmm_cluster,
        failure_domain,
        user_data,
        resolved,
        client: scvmm_client,
        vm,
    })
}

/// The machine's VM, from the endpoint's shared VM list (see
/// `controller::vm_lists`): fresh enough to show the machine's own last
/// write, and no older than the poll interval for an idle machine or a
/// couple of seconds for one that waits on SCVMM.
async fn lookup(
    c: &ScvmmClient,
    sm: &ScvmmMachine,
    ctx: &Context,
) -> Result<Option<VmInfo>, ScvmmError> {
    let instance = sm
        .spec
        .provider_id
        .as_deref()
        .and_then(request::instance_id);
    if sm.spec.vm_id.is_none() && instance.is_none() {
        return Ok(None);
    }
    let key = format!("{}/{}", sm.namespace().unwrap_or_default(), sm.name_any());
    if let Some(i) = instance {
        ctx.vm_lists
            .watch(i, &sm.namespace().unwrap_or_default(), &sm.name_any());
    }
    let idle = sm.metadata.deletion_timestamp.is_none()
        && sm
            .status
            .as_ref()
            .and_then(|s| s.initialization.as_ref())
            .and_then(|i| i.provisioned)
            .unwrap_or(false);
    let busy = ctx
        .vm_lists
        .busy_age(c.endpoint(), ctx.settings.busy_poll_interval);
    let age = vm_lists::max_age(idle, ctx.settings.poll_interval, busy);
    let bound = vm_lists::newer_than(
        std::time::Instant::now(),
        ctx.vm_lists.last_write(&key),
        age,
    );
    let started = std::time::Instant::now();
    let listed = ctx.vm_lists.snapshot(c, bound).await;
    if !matches!(listed, Ok((_, false))) {
        ctx.metrics
            .operation("list_vms", listed.is_ok(), started.elapsed());
    }
    let (snapshot, _) = listed?;
    let last_write = ctx.vm_lists.last_write(&key);
    match (
        snapshot.find(sm.spec.vm_id.as_deref(), instance),
        &sm.spec.vm_id,
    ) {
        (Some(vm), _) => Ok(Some(vm.clone())),
        // We removed it ourselves and the list came after: gone as expected.
        (None, Some(_))
            if sm.metadata.deletion_timestamp.is_some()
                && last_write.is_some_and(|w| snapshot.started >= w) =>
        {
            Ok(None)
        }
        // Lists show only VMs with a marker: before calling a known VM
        // gone, ask for it by ID (someone may have cleared its marker).
        (None, Some(id)) => {
            let started = std::time::Instant::now();
            let result = c.get_vm(id).await;
            ctx.metrics
                .operation("get_vm", result.is_ok(), started.elapsed());
            result
        }
        (None, None) => Ok(None),
    }
}

/// What the planner needs to know about the VM.
pub fn vm_facts(vm: &VmInfo, sm: &ScvmmMachine) -> VmFacts {
    let seed = sm
        .spec
        .provider_id
        .as_deref()
        .and_then(request::instance_id)
        .map(request::seed_iso_name);
    VmFacts {
        id: vm.id.clone(),
        status: vm.status.clone(),
        has_addresses: vm
            .adapters
            .iter()
            .any(|a| !a.ipv4_addresses.is_empty() || !a.ipv6_addresses.is_empty()),
        seed_attached: seed.is_some() && vm.dvd_iso.is_some() && vm.dvd_iso == seed,
        job_running: vm
            .job
            .as_ref()
            .is_some_and(crate::scvmm::JobInfo::is_running),
        error: vm
            .error
            .as_ref()
            .or(vm.job.as_ref().and_then(|j| j.error.as_ref()))
            .map(|e| format!("{} (Error ID: {})", e.message, e.id)),
    }
}

async fn read_bootstrap(
    client: &kube::Client,
    ns: &str,
    machine: Option<&Machine>,
) -> Result<(BootstrapData, Option<Vec<u8>>), Error> {
    let Some(name) = machine.and_then(|m| m.spec.bootstrap.data_secret_name.clone()) else {
        return Ok((BootstrapData::NotReady, None));
    };
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(&name)
        .await?;
    Ok(match bootstrap_from_secret(secret.as_ref(), ns, &name) {
        Ok(data) => (BootstrapData::Ready, Some(data)),
        Err(m) => (BootstrapData::Invalid(m), None),
    })
}

/// The largest bootstrap data accepted: Kubernetes' own limit on a Secret's
/// data, so only a Secret stored around the API server's check gets here
/// with more. The data travels to VMM inside the seed ISO, in base64 chunks
/// of one script run each: without a bound, one machine's seed could hold a
/// WinRM connection and the library share for as long as it likes.
pub const MAX_BOOTSTRAP_DATA_BYTES: usize = 1024 * 1024;

/// The user-data in a bootstrap Secret: key `value`, format `cloud-config`
/// (the default when `format` is missing). `None` is a Secret that does not
/// exist. Every refusal names the Secret and the key, and says what to do.
pub fn bootstrap_from_secret(
    secret: Option<&Secret>,
    ns: &str,
    name: &str,
) -> Result<Vec<u8>, String> {
    let Some(secret) = secret else {
        return Err(format!(
            "the bootstrap data Secret {ns}/{name} named by the Machine does not exist (yet); \
             the bootstrap provider creates it, check its logs if this lasts"
        ));
    };
    let data = secret.data.clone().unwrap_or_default();
    let format = data
        .get("format")
        .map(|f| String::from_utf8_lossy(&f.0).trim().to_string())
        .unwrap_or_default();
    match format.as_str() {
        "" | "cloud-config" => {}
        "ignition" => {
            return Err(format!(
                "bootstrap data Secret {ns}/{name} has format ignition, which this provider does not support yet; use a cloud-config bootstrap (the kubeadm bootstrap provider's default)"
            ));
        }
        other => {
            return Err(format!(
                "bootstrap data Secret {ns}/{name} has unknown format {:?}; only cloud-config is supported",
                shorten_lossy(other.as_bytes(), 64)
            ));
        }
    }
    let value = data.get("value").map(|v| v.0.clone()).unwrap_or_default();
    if value.iter().all(u8::is_ascii_whitespace) {
        return Err(format!(
            "bootstrap data Secret {ns}/{name} has no (or an empty) key \"value\"; the bootstrap provider writes the cloud-config there, check its logs"
        ));
    }
    if value.len() > MAX_BOOTSTRAP_DATA_BYTES {
        return Err(format!(
            "bootstrap data Secret {ns}/{name} key \"value\" holds {} bytes, more than the {} bytes (1 MiB, the Kubernetes Secret limit) a seed may carry; make the bootstrap configuration smaller (files can be fetched at boot or baked into the VM template)",
            value.len(),
            MAX_BOOTSTRAP_DATA_BYTES
        ));
    }
    // cloud-init unpacks gzip user-data itself; anything else must be text,
    // or cloud-init ignores it and the VM boots without ever joining.
    if !value.starts_with(&[0x1f, 0x8b]) {
        let problem = match std::str::from_utf8(&value) {
            Err(e) => Some(format!(
                "is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            )),
            Ok(text) => text
                .find('\0')
                .map(|at| format!("is binary (a NUL byte at offset {at})")),
        };
        if let Some(problem) = problem {
            return Err(format!(
                "bootstrap data Secret {ns}/{name} key \"value\" {problem}; cloud-init takes a cloud-config text (or gzip of one) and would ignore it, so the VM would never join: check what wrote the Secret"
            ));
        }
    }
    Ok(value)
}

/// At most `max` characters of possibly hostile bytes, for a message.
fn shorten_lossy(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.into_owned(),
    }
}
