//! The ScvmmMachine reconciler: from a CAPI Machine to a running SCVMM VM
//! and back. `reconcile` runs observe → plan → act → status once; `run`
//! wires it to the watches.

pub mod act;
pub mod address_refresh;
pub mod ipam;
pub mod labels;
pub mod observe;
pub mod plan;
pub mod request;
pub mod status;
pub mod vm_phase;

use crate::Error;
use crate::api::{ScvmmCluster, ScvmmMachine};
use crate::capi::{self, Cluster, IPAddressClaim, Machine};
use crate::controller::conditions::{self, reasons, types};
use crate::controller::shared::{self, WatchOptions};
use crate::controller::{Context, vm_lists};
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use plan::Action;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{Instrument, debug, info, info_span, warn};

/// Reconciles one ScvmmMachine.
pub async fn reconcile(sm: Arc<ScvmmMachine>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let span = info_span!("reconcile", machine = %format!("{}/{}", sm.namespace().unwrap_or_default(), sm.name_any()));
    let started = Instant::now();
    let result = async {
        match reconcile_inner(&sm, &ctx).await? {
            Pass::Done(r) => Ok(r),
            // The identity was just written: create with the object the
            // patch returned rather than after the watch brings it back
            // (a round trip that took 0.5 s at 100 machines).
            Pass::Again(updated) => match reconcile_inner(&updated, &ctx).await? {
                Pass::Done(r) => Ok(r),
                Pass::Again(_) => Ok(Requeue::requeue(Duration::from_secs(1))),
            },
        }
    }
    .instrument(span)
    .await;
    ctx.metrics.reconciled(
        "machine",
        result.as_ref().err().map(Error::category),
        started.elapsed(),
    );
    result
}

/// What a reconcile pass ended with.
enum Pass {
    /// When to look again.
    Done(Requeue),
    /// The object as a write of ours left it: plan again at once.
    Again(Box<ScvmmMachine>),
}

async fn reconcile_inner(sm: &ScvmmMachine, ctx: &Context) -> Result<Pass, Error> {
    // The watch cache may not show our last status write yet: plan on
    // what we wrote, not on the older status.
    let sm = &*shared::with_own_status(ctx, sm);
    let world = observe::observe(sm, ctx).await?;
    let plan = plan::plan(&world.observed);
    if plan.action != Action::Wait {
        info!(action = ?plan.action, "acting");
    }
    if starts_job(&plan.action) {
        // Set before the job exists: `clusterctl move` must not copy the
        // machine while SCVMM works on its VM.
        set_block_move(sm, true, ctx).await?;
    }
    let acted = act::act(sm, &world, &plan.action, ctx).await;
    let key = format!("{}/{}", sm.namespace().unwrap_or_default(), sm.name_any());
    if plan.action == Action::FinishDeletion && acted.is_ok() {
        ctx.vm_lists.forget(&key);
        ctx.own_writes.forget(&shared::status_key(sm));
    } else if touches_scvmm(&plan.action) {
        // Whatever came of it, the next look at the VM must come from a list
        // sent after this write.
        ctx.vm_lists.wrote(&key);
    }
    let outcome = match acted {
        Ok(o) => o,
        Err(e) => {
            // Show the failure in status too: an error only in the log is
            // invisible to the user.
            let reason = match &e {
                Error::Config(_) => reasons::INVALID_CONFIGURATION,
                _ => failure_reason(&plan.action),
            };
            let message = format!("{:?} failed: {e}", plan.action);
            let mut conditions = vec![conditions::Cond::no(
                types::VM_PROVISIONED,
                reason,
                message.clone(),
            )];
            if !world.observed.provisioned {
                conditions.push(conditions::Cond::no(types::READY, reason, message));
            }
            let failed = plan::Plan {
                conditions,
                ..plan.clone()
            };
            let status = status::desired(sm, &world, &failed, &act::Outcome::default(), &now());
            if Some(&status) != sm.status.as_ref() {
                act::apply_status(sm, &status, ctx).await?;
            }
            publish(ctx, sm, EventType::Warning, reason, &e.to_string()).await;
            return Err(e);
        }
    };
    if outcome.finalized {
        publish(
            ctx,
            sm,
            EventType::Normal,
            "Deleted",
            "the VM is gone; finalizer removed",
        )
        .await;
        return Ok(Pass::Done(Requeue::await_change()));
    }
    if let Some(updated) = outcome.updated {
        return Ok(Pass::Again(updated));
    }
    let status = status::desired(sm, &world, &plan, &outcome, &now());
    emit_transitions(ctx, sm, &plan, &outcome).await;
    if Some(&status) != sm.status.as_ref() && !wakes_itself(&plan.action) {
        debug!(conditions = %status::summary(&status), "writing status");
        act::apply_status(sm, &status, ctx).await?;
    }
    let blocking = sm.annotations().contains_key(capi::BLOCK_MOVE_ANNOTATION);
    let answered = matches!(
        world.observed.scvmm,
        plan::Scvmm::Present(_) | plan::Scvmm::Absent
    );
    if !starts_job(&plan.action) && answered {
        // SCVMM answered: the annotation follows the VM's job. When SCVMM
        // could not be asked, a job may still run: the annotation stays.
        // Our own refresh only reads the VM: moving it meanwhile is fine.
        let busy = world.vm.as_ref().is_some_and(|vm| {
            vm.is_busy()
                && !vm
                    .job
                    .as_ref()
                    .is_some_and(|j| ctx.vm_lists.is_refresh_job(&vm.id, &j.id))
        });
        if busy != blocking {
            set_block_move(sm, busy, ctx).await?;
        }
    }
    if !world.observed.paused
        && !world.observed.deleting
        && let (Some(m), Some(vm)) = (&world.machine, &world.vm)
    {
        sync_placement_labels(m, vm, ctx).await?;
    }
    let waits = plan.requeue == Some(plan::WAIT_ON_SCVMM) && !world.observed.paused;
    let requeue = match (&world.client, waits) {
        (Some(client), true) => {
            // The endpoint's poller wakes the machine when its VM changes;
            // the requeue is only a fallback (a guest shutdown timeout, a
            // job that changes nothing visible).
            // A machine waiting for its guest's addresses looks again when
            // its refresh is due, whether or not its VM changed. Not when
            // it is due already: it was just asked for (the next one is an
            // interval away), or a job works on the VM and its end wakes
            // the machine.
            let due = world
                .observed
                .address_refresh_in
                .filter(|d| !d.is_zero() && plan.action != Action::RefreshVm);
            let fallback = match due {
                Some(due) => fallback_requeue(ctx.settings.busy_poll_interval)
                    .min(due.max(Duration::from_millis(100))),
                None => fallback_requeue(ctx.settings.busy_poll_interval),
            };
            ctx.vm_lists.wait_on(
                client,
                &key,
                &vm_lists::PollerSettings {
                    interval: ctx.settings.busy_poll_interval,
                    hold: fallback.saturating_mul(3),
                    metrics: ctx.metrics.clone(),
                },
            );
            Some(fallback)
        }
        _ => {
            ctx.vm_lists.settled(&key);
            plan.requeue
        }
    };
    Ok(Pass::Done(match requeue {
        Some(d) => Requeue::requeue(d),
        None if world.observed.paused && blocking => Requeue::requeue(Duration::from_secs(5)),
        None => Requeue::requeue(ctx.settings.resync),
    }))
}

/// How long a machine registered with its endpoint's poller waits before
/// looking on its own.
fn fallback_requeue(busy_poll_interval: Duration) -> Duration {
    busy_poll_interval
        .saturating_mul(5)
        .max(plan::WAIT_ON_SCVMM)
}

/// Kubernetes writes to the machine's own metadata or spec, which wake it
/// again at once (they change its trigger hash): the status is written by
/// that reconcile, which sees the write. Publishing "choosing the identity"
/// first would be one more status write, and one more write of the Machine
/// and its MachineSet by Cluster API, which mirrors our Ready condition.
fn wakes_itself(action: &Action) -> bool {
    matches!(
        action,
        Action::AddFinalizer | Action::ChooseIdentity | Action::RecordVmId(_)
    )
}

/// Actions that submit an SCVMM job working on the VM for a while.
/// Actions that change something in SCVMM (jobs, files, IP grants).
fn touches_scvmm(action: &Action) -> bool {
    starts_job(action)
        || matches!(
            action,
            Action::RepairVm | Action::EjectSeed | Action::FinishDeletion | Action::AbandonVm
        )
}

fn starts_job(action: &Action) -> bool {
    matches!(
        action,
        Action::CreateVm
            | Action::StartVm
            | Action::ShutdownVm
            | Action::PowerOffVm
            | Action::RemoveVm
            | Action::RemoveFailedVm
    )
}

/// Adds or removes `clusterctl.cluster.x-k8s.io/block-move`.
async fn set_block_move(sm: &ScvmmMachine, on: bool, ctx: &Context) -> Result<(), Error> {
    if sm.annotations().contains_key(capi::BLOCK_MOVE_ANNOTATION) == on {
        return Ok(());
    }
    let api: Api<ScvmmMachine> =
        Api::namespaced(ctx.client.clone(), &sm.namespace().unwrap_or_default());
    let value = if on {
        serde_json::Value::String("true".into())
    } else {
        serde_json::Value::Null
    };
    let patch =
        serde_json::json!({"metadata": {"annotations": {capi::BLOCK_MOVE_ANNOTATION: value}}});
    match api
        .patch(
            &sm.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Keeps the Machine's host and host-group labels current (they change
/// when VMM live-migrates the VM).
async fn sync_placement_labels(
    m: &Machine,
    vm: &crate::scvmm::VmInfo,
    ctx: &Context,
) -> Result<(), Error> {
    let want = labels::placement_labels(vm.host.as_deref(), vm.host_group.as_deref());
    let key = shared::own_write_key(m, "placement-labels");
    // Our last patch, while the Machine cache does not show it yet.
    let ours: Option<std::collections::BTreeMap<String, String>> =
        ctx.own_writes.newer(&key, m.resource_version().as_deref());
    let have = ours.as_ref().unwrap_or(m.labels());
    if want.is_empty() || want.iter().all(|(k, v)| have.get(k) == Some(v)) {
        return Ok(());
    }
    let api: Api<Machine> = Api::namespaced(ctx.client.clone(), &m.namespace().unwrap_or_default());
    // A merge patch under our own field manager: CAPI's MachineSet label
    // propagation (server-side apply, another manager) leaves keys it does
    // not own alone. Not server-side apply: applying to a Machine deleted
    // meanwhile would ask to create it (refused, create is not granted),
    // where a patch simply finds nothing (404, fine).
    let patch = serde_json::json!({"metadata": {"labels": want}});
    let params = PatchParams {
        field_manager: Some(format!("{}-placement", crate::controller::FIELD_MANAGER)),
        ..PatchParams::default()
    };
    match api
        .patch(&m.name_any(), &params, &Patch::Merge(&patch))
        .await
    {
        Ok(patched) => {
            ctx.own_writes.record(
                &key,
                patched.resource_version().as_deref(),
                serde_json::json!(want),
            );
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => {
            ctx.own_writes.forget(&key);
            Err(e.into())
        }
    }
}

fn failure_reason(action: &Action) -> &'static str {
    match action {
        Action::CreateVm => reasons::CREATION_FAILED,
        Action::ShutdownVm | Action::PowerOffVm | Action::RemoveVm | Action::FinishDeletion => {
            reasons::DELETING
        }
        Action::StartVm => reasons::POWERING_ON,
        _ => reasons::UPDATE_FAILED,
    }
}

fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now())
}

async fn emit_transitions(
    ctx: &Context,
    sm: &ScvmmMachine,
    plan: &plan::Plan,
    outcome: &act::Outcome,
) {
    let before = sm
        .status
        .as_ref()
        .and_then(|s| conditions::find(&s.conditions, types::VM_PROVISIONED))
        .map(|c| c.reason.clone());
    let after = plan
        .conditions
        .iter()
        .find(|c| c.type_ == types::VM_PROVISIONED);
    if outcome.created {
        publish(
            ctx,
            sm,
            EventType::Normal,
            "CreatingVM",
            "the VM create job was submitted to SCVMM with the bootstrap seed attached",
        )
        .await;
    }
    if let Some(after) = after
        && before.as_deref() != Some(after.reason)
    {
        let warn_reasons = [
            reasons::CREATION_FAILED,
            reasons::CREATION_RETRIES_EXHAUSTED,
            reasons::VM_NOT_FOUND,
            reasons::VM_POWERED_OFF,
            reasons::VM_UNREACHABLE,
            reasons::BOOTSTRAP_DATA_INVALID,
            reasons::INVALID_CONFIGURATION,
            reasons::UPDATE_FAILED,
        ];
        let interesting = warn_reasons.contains(&after.reason)
            || [
                reasons::PROVISIONED,
                reasons::POWERING_ON,
                reasons::DELETING,
            ]
            .contains(&after.reason);
        if interesting {
            let t = if warn_reasons.contains(&after.reason) {
                EventType::Warning
            } else {
                EventType::Normal
            };
            publish(ctx, sm, t, after.reason, &after.message).await;
        }
    }
}

async fn publish(ctx: &Context, sm: &ScvmmMachine, type_: EventType, reason: &str, note: &str) {
    shared::publish(ctx, sm, type_, reason, note).await;
}

/// Backoff after a failed reconcile: the kube-runtime scheduler keeps one
/// entry per object, so each object backs off on its own.
pub fn error_policy(sm: Arc<ScvmmMachine>, err: &Error, ctx: Arc<Context>) -> Requeue {
    let key = shared::failure_key("machine", sm.namespace().as_deref(), &sm.name_any());
    let attempt = ctx.failures.bump(&key);
    let delay = shared::backoff(attempt);
    warn!(machine = %key, error = %err, category = err.category(), retry_in = ?delay, "reconcile failed");
    Requeue::requeue(delay)
}

/// Hash of what should trigger a reconcile: spec (generation), finalizers,
/// annotations (pause, skip-vm-deletion), labels (cluster name), owner
/// references (the Machine) and deletion. Status changes (our own writes)
/// do not trigger.
fn trigger_hash(sm: &ScvmmMachine) -> Option<u64> {
    Some(shared::metadata_hash(sm))
}

/// What of a Machine the reconciler reads: the bootstrap Secret name, the
/// failure domain, the infrastructure reference, deletion and identity.
fn machine_hash(m: &Machine) -> Option<u64> {
    let mut h = DefaultHasher::new();
    m.spec.bootstrap.data_secret_name.hash(&mut h);
    m.spec.failure_domain.hash(&mut h);
    m.spec
        .infrastructure_ref
        .as_ref()
        .map(|r| (&r.kind, &r.name))
        .hash(&mut h);
    m.meta()
        .deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut h);
    m.meta().uid.hash(&mut h);
    Some(h.finish())
}

/// What of a Cluster the reconciler reads: pause and infrastructure
/// readiness.
fn cluster_hash(c: &Cluster) -> Option<u64> {
    let mut h = DefaultHasher::new();
    capi::is_paused(c).hash(&mut h);
    c.infrastructure_provisioned().hash(&mut h);
    c.spec
        .infrastructure_ref
        .as_ref()
        .map(|r| (&r.kind, &r.name))
        .hash(&mut h);
    c.meta().uid.hash(&mut h);
    Some(h.finish())
}

/// What of a ScvmmCluster the reconciler reads: its spec (server, failure
/// domains) and the cluster-name label.
fn scvmm_cluster_hash(c: &ScvmmCluster) -> Option<u64> {
    let mut h = DefaultHasher::new();
    c.meta().generation.hash(&mut h);
    c.labels().get(capi::CLUSTER_NAME_LABEL).hash(&mut h);
    c.meta().uid.hash(&mut h);
    Some(h.finish())
}

/// Runs the machine controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    opts: WatchOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let wc = opts.watcher_config();
    let (reader, writer) = reflector::store::<ScvmmMachine>();
    let machines = watcher(opts.api::<ScvmmMachine>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .modify(|m| m.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(trigger_hash, Default::default());
    // CAPI updates Machines and Clusters often (status, conditions); only
    // the fields we read should wake a machine up, or every such update
    // would cost an SCVMM lookup.
    // The same watches fill the stores reconciles read these objects from
    // (`controller::caches`); managed fields are dropped to save memory.
    let (machine_store, machine_writer) = reflector::store::<Machine>();
    let (cluster_store, cluster_writer) = reflector::store::<Cluster>();
    let (scvmm_cluster_store, scvmm_cluster_writer) = reflector::store::<ScvmmCluster>();
    ctx.caches
        .set(machine_store, cluster_store, scvmm_cluster_store);
    let capi_machines = watcher(opts.api::<Machine>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .modify(|m| m.managed_fields_mut().clear())
        .reflect(machine_writer)
        .applied_objects()
        .predicate_filter(machine_hash, Default::default());
    let clusters = watcher(opts.api::<Cluster>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .modify(|c| c.managed_fields_mut().clear())
        .reflect(cluster_writer)
        .applied_objects()
        .predicate_filter(cluster_hash, Default::default());
    let scvmm_clusters = watcher(opts.api::<ScvmmCluster>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .modify(|c| c.managed_fields_mut().clear())
        .reflect(scvmm_cluster_writer)
        .applied_objects()
        .predicate_filter(scvmm_cluster_hash, Default::default());
    let by_cluster = reader.clone();
    let by_scvmm_cluster = reader.clone();
    let config = kube::runtime::controller::Config::default().concurrency(opts.concurrency.max(1));
    Controller::for_stream(machines, reader)
        .with_config(config)
        .trigger_backoff(shared::trigger_backoff())
        .owns(
            opts.api::<IPAddressClaim>(&client),
            watcher::Config::default(),
        )
        .watches_stream(capi_machines, |m: Machine| {
            let r = m.spec.infrastructure_ref.as_ref()?;
            (r.kind == "ScvmmMachine")
                .then(|| ObjectRef::new(&r.name).within(&m.namespace().unwrap_or_default()))
        })
        .watches_stream(clusters, move |c: Cluster| {
            machines_of(
                &by_cluster,
                &c.namespace().unwrap_or_default(),
                &c.name_any(),
            )
        })
        .watches_stream(scvmm_clusters, move |c: ScvmmCluster| {
            let cluster = c
                .labels()
                .get(capi::CLUSTER_NAME_LABEL)
                .cloned()
                .unwrap_or_default();
            machines_of(
                &by_scvmm_cluster,
                &c.namespace().unwrap_or_default(),
                &cluster,
            )
        })
        // A VM that changed in the last list wakes its machine.
        .reconcile_on(futures::stream::unfold(
            ctx.vm_lists.subscribe(),
            |mut rx| async move {
                rx.recv()
                    .await
                    .map(|(ns, name)| (ObjectRef::new(&name).within(&ns), rx))
            },
        ))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx.clone())
        .for_each(shared::forget_failures(ctx.clone(), "machine"))
        .await;
}

fn machines_of(
    store: &reflector::Store<ScvmmMachine>,
    ns: &str,
    cluster: &str,
) -> Vec<ObjectRef<ScvmmMachine>> {
    if cluster.is_empty() {
        return vec![];
    }
    store
        .state()
        .iter()
        .filter(|m| {
            m.namespace().as_deref() == Some(ns)
                && m.labels().get(capi::CLUSTER_NAME_LABEL).map(String::as_str) == Some(cluster)
        })
        .map(|m| ObjectRef::from_obj(m.as_ref()))
        .collect()
}
