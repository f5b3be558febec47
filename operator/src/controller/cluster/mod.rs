//! The ScvmmCluster reconciler: SCVMM connectivity, failure domains, the
//! control-plane endpoint (given or claimed from an IPAM pool), orphaned
//! VMs, and a deletion that waits for the cluster's machines. `reconcile`
//! runs observe → plan → act → status once; `run` wires it to the watches.

pub mod act;
pub mod observe;
pub mod orphans;
pub mod plan;
pub mod poll_cache;

use crate::Error;
use crate::api::cluster::{OrphanedVm, ScvmmClusterStatus};
use crate::api::common::Initialization;
use crate::api::{ScvmmCluster, ScvmmMachine};
use crate::capi::{self, Cluster, IPAddressClaim};
use crate::controller::Context;
use crate::controller::conditions::{self, types};
use crate::controller::shared::{self, WatchOptions};
use futures::StreamExt;
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::events::EventType;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use plan::Action;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Instant;
use tracing::{Instrument, info, info_span, warn};

/// Annotation by which an external system takes over an InfraCluster: we
/// then neither reconcile it nor write its status (CAPI contract).
pub const MANAGED_BY_ANNOTATION: &str = "cluster.x-k8s.io/managed-by";

/// Whether another system manages this ScvmmCluster.
pub fn is_externally_managed(sc: &ScvmmCluster) -> bool {
    sc.annotations().contains_key(MANAGED_BY_ANNOTATION)
}

/// Reconciles one ScvmmCluster.
pub async fn reconcile(sc: Arc<ScvmmCluster>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let span = info_span!("reconcile", cluster = %format!("{}/{}", sc.namespace().unwrap_or_default(), sc.name_any()));
    let started = Instant::now();
    let result = reconcile_inner(&sc, &ctx).instrument(span).await;
    ctx.metrics.reconciled(
        "cluster",
        result.as_ref().err().map(Error::category),
        started.elapsed(),
    );
    result
}

async fn reconcile_inner(sc: &ScvmmCluster, ctx: &Context) -> Result<Requeue, Error> {
    if is_externally_managed(sc) {
        // Not even status: the external system owns the whole object.
        return Ok(Requeue::await_change());
    }
    // As for machines: plan on the status we wrote last, not on an older
    // copy from the watch cache.
    let sc = &*shared::with_own_status(ctx, sc);
    let world = observe::observe(sc, ctx).await?;
    let plan = plan::plan(&world.observed);
    if plan.action != Action::Wait {
        info!(action = ?plan.action, "acting");
    }
    let key = format!(
        "{}/{}",
        sc.namespace().unwrap_or_default(),
        world.cluster_name
    );
    let gone = match act::act(sc, &world, &plan.action, ctx).await {
        Ok(g) => g,
        Err(e) => {
            publish(
                ctx,
                sc,
                EventType::Warning,
                "ReconcileFailed",
                &format!("{:?} failed: {e}", plan.action),
            )
            .await;
            return Err(e);
        }
    };
    if gone {
        ctx.metrics
            .set("capi_scvmm_orphaned_vms", vec![("cluster", key)], 0.0);
        if let Some(marker) = &world.marker {
            ctx.orphans.forget(marker);
        }
        ctx.polls.invalidate(&world.poll_key);
        ctx.own_writes.forget(&shared::status_key(sc));
        publish(
            ctx,
            sc,
            EventType::Normal,
            "Deleted",
            "the cluster's machines and VIP claim are gone; finalizer removed",
        )
        .await;
        return Ok(Requeue::await_change());
    }
    if let Some(orphans) = &world.orphans {
        ctx.metrics.set(
            "capi_scvmm_orphaned_vms",
            vec![("cluster", key)],
            orphans.len() as f64,
        );
    }
    let status = desired_status(sc, &world, &plan);
    emit_transitions(ctx, sc, &status).await;
    if Some(&status) != sc.status.as_ref() {
        act::apply_status(sc, &status, ctx).await?;
    }
    if matches!(plan.action, Action::StopOrphan(_) | Action::RemoveOrphan(_)) {
        // After the status: a VM that cannot be stopped or removed must not
        // keep the cluster's conditions from being published, nor hold up
        // the other orphans (it is left alone for a while).
        match act::act_on_orphan(&world, &plan.action, ctx).await {
            Ok(()) => {
                publish(
                    ctx,
                    sc,
                    EventType::Normal,
                    "OrphanedVMRemoval",
                    &format!("{:?} submitted (orphanedVMPolicy: Delete)", plan.action),
                )
                .await;
            }
            Err(e) => {
                let id = match &plan.action {
                    Action::StopOrphan(id) | Action::RemoveOrphan(id) => id.clone(),
                    _ => String::new(),
                };
                ctx.orphans.failed(&id, std::time::Instant::now());
                warn!(vm = %id, error = %e, "could not stop or remove an orphaned VM; retrying it later");
                publish(
                    ctx,
                    sc,
                    EventType::Warning,
                    "OrphanedVMRemovalFailed",
                    &format!(
                        "{:?} failed: {e}; retried in {} s, other orphans are handled meanwhile",
                        plan.action,
                        orphans::RETRY_AFTER_FAILURE.as_secs()
                    ),
                )
                .await;
            }
        }
        // The next look at SCVMM must see what changed.
        ctx.polls.invalidate(&world.poll_key);
    }
    Ok(Requeue::requeue(
        plan.requeue.unwrap_or(ctx.settings.poll_interval),
    ))
}

/// The new status. Pure.
pub fn desired_status(
    sc: &ScvmmCluster,
    world: &observe::World,
    plan: &plan::Plan,
) -> ScvmmClusterStatus {
    let mut s = sc.status.clone().unwrap_or_default();
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    s.conditions = conditions::merge(
        &s.conditions,
        &plan.conditions,
        sc.metadata.generation,
        &now,
    );
    s.observed_generation = sc.metadata.generation;
    if plan.provisioned {
        s.initialization = Some(Initialization {
            provisioned: Some(true),
        });
    }
    if let Some(fds) = &plan.failure_domains {
        s.failure_domains = fds.clone();
    }
    if let Some(v) = &world.server_version {
        s.server_version = Some(v.clone());
    }
    if let Some(orphans) = &world.orphans {
        s.orphaned_vms = orphans
            .iter()
            .take(50)
            .map(|o| OrphanedVm {
                id: o.id.clone(),
                name: o.name.clone(),
                provider_id: o.instance_id.as_deref().map(crate::bootstrap::provider_id),
            })
            .collect();
    }
    s
}

async fn emit_transitions(ctx: &Context, sc: &ScvmmCluster, new: &ScvmmClusterStatus) {
    let old = sc.status.clone().unwrap_or_default();
    let before = conditions::find(&old.conditions, types::READY)
        .map(|c| (c.status.clone(), c.reason.clone()));
    if let Some(after) = conditions::find(&new.conditions, types::READY)
        && before.as_ref() != Some(&(after.status.clone(), after.reason.clone()))
    {
        let t = if after.status == "True" {
            EventType::Normal
        } else {
            EventType::Warning
        };
        let note = if after.message.is_empty() {
            "the cluster's infrastructure is ready".to_string()
        } else {
            after.message.clone()
        };
        publish(ctx, sc, t, &after.reason, &note).await;
    }
    let ids = |s: &ScvmmClusterStatus| {
        s.orphaned_vms
            .iter()
            .map(|o| o.id.clone())
            .collect::<Vec<_>>()
    };
    if ids(new) != ids(&old) && !new.orphaned_vms.is_empty() {
        let names: Vec<String> = new
            .orphaned_vms
            .iter()
            .map(|o| format!("{} ({})", o.name, o.id))
            .collect();
        let policy = match sc.spec.orphaned_vm_policy {
            Some(crate::api::cluster::OrphanedVmPolicy::Delete) => format!(
                "they will be powered off and removed {} s after they were first seen (orphanedVMPolicy: Delete)",
                ctx.settings.orphan_grace.as_secs()
            ),
            _ => "remove them in SCVMM, or set spec.orphanedVMPolicy: Delete to have the controller remove them".to_string(),
        };
        publish(
            ctx,
            sc,
            EventType::Warning,
            "OrphanedVMs",
            &format!(
                "{} VM(s) carry this cluster's marker but belong to no ScvmmMachine: {}; {policy}",
                new.orphaned_vms.len(),
                names.join(", ")
            ),
        )
        .await;
    }
}

async fn publish(ctx: &Context, sc: &ScvmmCluster, type_: EventType, reason: &str, note: &str) {
    shared::publish(ctx, sc, type_, reason, note).await;
}

/// Backoff after a failed reconcile, per object.
pub fn error_policy(sc: Arc<ScvmmCluster>, err: &Error, ctx: Arc<Context>) -> Requeue {
    let key = shared::failure_key("cluster", sc.namespace().as_deref(), &sc.name_any());
    let delay = shared::backoff(ctx.failures.bump(&key));
    warn!(cluster = %key, error = %err, category = err.category(), retry_in = ?delay, "reconcile failed");
    Requeue::requeue(delay)
}

/// What should trigger a reconcile of a ScvmmCluster: spec, finalizers,
/// annotations (pause, managed-by), labels, owners and deletion — not our
/// own status writes.
fn trigger_hash(sc: &ScvmmCluster) -> Option<u64> {
    Some(shared::metadata_hash(sc))
}

/// What of a Cluster matters here: pause and the infrastructure reference.
fn cluster_hash(c: &Cluster) -> Option<u64> {
    let mut h = DefaultHasher::new();
    capi::is_paused(c).hash(&mut h);
    c.spec
        .infrastructure_ref
        .as_ref()
        .map(|r| (&r.kind, &r.name))
        .hash(&mut h);
    c.meta().uid.hash(&mut h);
    Some(h.finish())
}

/// What of a ScvmmMachine matters here: that it exists, is being deleted,
/// its owners and its identity (orphan detection).
fn machine_hash(m: &ScvmmMachine) -> Option<u64> {
    let mut h = DefaultHasher::new();
    // A machine being deleted changes only by losing its finalizer and then
    // disappearing; the resourceVersion tells those events apart so the
    // cluster's deletion hears of them.
    if m.meta().deletion_timestamp.is_some() {
        m.meta().resource_version.hash(&mut h);
    }
    m.meta().uid.hash(&mut h);
    m.meta()
        .deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut h);
    m.spec.provider_id.hash(&mut h);
    m.owner_references()
        .iter()
        .map(|r| &r.uid)
        .collect::<Vec<_>>()
        .hash(&mut h);
    Some(h.finish())
}

/// Runs the ScvmmCluster controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    opts: WatchOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let wc = opts.watcher_config();
    let (reader, writer) = reflector::store::<ScvmmCluster>();
    let clusters = watcher(opts.api::<ScvmmCluster>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(trigger_hash, Default::default());
    let capi_clusters = watcher(opts.api::<Cluster>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .applied_objects()
        .predicate_filter(cluster_hash, Default::default());
    // Deletions matter (the cluster's deletion waits for them), so the raw
    // event stream is used rather than applied objects only.
    let machines = watcher(opts.api::<ScvmmMachine>(&client), wc.clone())
        .backoff(shared::watch_backoff())
        .touched_objects()
        .predicate_filter(machine_hash, Default::default());
    let by_machine = reader.clone();
    let config = kube::runtime::controller::Config::default().concurrency(opts.concurrency.max(1));
    Controller::for_stream(clusters, reader)
        .with_config(config)
        .trigger_backoff(shared::trigger_backoff())
        .owns(
            opts.api::<IPAddressClaim>(&client),
            watcher::Config::default(),
        )
        .watches_stream(capi_clusters, |c: Cluster| {
            let r = c.spec.infrastructure_ref.as_ref()?;
            (r.kind == "ScvmmCluster")
                .then(|| ObjectRef::new(&r.name).within(&c.namespace().unwrap_or_default()))
        })
        .watches_stream(machines, move |m: ScvmmMachine| {
            let ns = m.namespace().unwrap_or_default();
            let Some(cluster) = m.labels().get(capi::CLUSTER_NAME_LABEL).cloned() else {
                return vec![];
            };
            by_machine
                .state()
                .iter()
                .filter(|c| {
                    c.namespace().as_deref() == Some(ns.as_str())
                        && (c.labels().get(capi::CLUSTER_NAME_LABEL) == Some(&cluster)
                            || c.owner_references()
                                .iter()
                                .any(|o| o.kind == "Cluster" && o.name == cluster))
                })
                .map(|c| ObjectRef::from_obj(c.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx.clone())
        .for_each(shared::forget_failures(ctx.clone(), "cluster"))
        .await;
}
