//! Act: carry out the planner's one action. Each action is idempotent, so
//! a reconcile that dies half-way is simply run again.

use super::observe::World;
use super::plan::Action;
use super::request::{self, ResolvedDevice};
use crate::Error;
use crate::api::ScvmmMachine;
use crate::bootstrap::{SeedSpec, build_iso, render};
use crate::controller::{Context, MACHINE_FINALIZER, shared};
use crate::scvmm::{ScvmmClient, StopMode};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::time::Instant;

/// What acting changed that status must show.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The object is gone (finalizer removed): no status to write.
    pub finalized: bool,
    /// A create attempt failed and its VM was removed.
    pub failed_attempt: bool,
    /// The guest was asked to shut down now.
    pub shutdown_requested: bool,
    /// The seed was ejected and deleted.
    pub seed_ejected: bool,
    /// The VM create was submitted (seed uploaded and attached).
    pub created: bool,
    /// The VM as the action's own script left it (its job submitted):
    /// status shows it at once, so the next reconcile, reading the same
    /// state from the endpoint's list, has nothing to write.
    pub vm: Option<crate::scvmm::VmInfo>,
    /// The object as our patch left it, when the next step can follow at
    /// once (after choosing the identity).
    pub updated: Option<Box<ScvmmMachine>>,
}

fn client(world: &World) -> Result<&ScvmmClient, Error> {
    world.client.as_ref().ok_or_else(|| {
        Error::Config(
            "no SCVMM connection for this action (a bug: the planner acted without SCVMM)".into(),
        )
    })
}

async fn timed<T>(
    ctx: &Context,
    op: &str,
    f: impl std::future::Future<Output = Result<T, crate::scvmm::ScvmmError>>,
) -> Result<T, Error> {
    let started = Instant::now();
    let r = f.await;
    ctx.metrics.operation(op, r.is_ok(), started.elapsed());
    Ok(r?)
}

/// Carries out `action`.
pub async fn act(
    sm: &ScvmmMachine,
    world: &World,
    action: &Action,
    ctx: &Context,
) -> Result<Outcome, Error> {
    let ns = sm.namespace().unwrap_or_default();
    let api: Api<ScvmmMachine> = Api::namespaced(ctx.client.clone(), &ns);
    let name = sm.name_any();
    let vm_id = sm
        .spec
        .vm_id
        .clone()
        .or_else(|| world.vm.as_ref().map(|v| v.id.clone()));
    let mut out = Outcome::default();
    match action {
        Action::Wait => {}
        Action::AddFinalizer => shared::add_finalizer(ctx, sm, MACHINE_FINALIZER).await?,
        Action::ChooseIdentity => {
            let id = uuid::Uuid::new_v4().to_string();
            // Persisted before anything is sent to SCVMM: every later step,
            // including a retry after a lost reply, looks the VM up by it.
            // The finalizer goes in the same patch when it is missing: the
            // identity is never persisted without it.
            let mut finalizers = sm.finalizers().to_vec();
            if !finalizers.iter().any(|f| f == MACHINE_FINALIZER) {
                finalizers.push(MACHINE_FINALIZER.to_string());
            }
            // The create follows at once, so block-move goes on here rather
            // than in a patch of its own just before it (one write less per
            // machine, and one Machine reconcile less in Cluster API).
            let patch = json!({"metadata": {"resourceVersion": sm.resource_version(),
                                            "finalizers": finalizers,
                                            "annotations": {crate::capi::BLOCK_MOVE_ANNOTATION: "true"}},
                               "spec": {"providerID": crate::bootstrap::provider_id(&id)}});
            let updated = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            out.updated = Some(Box::new(updated));
        }
        Action::RecordVmId(id) => {
            // The ID is recorded once the create job is over: block-move
            // comes off in the same patch when no job works on the VM.
            let mut patch = json!({"spec": {"vmId": id}});
            let idle = world.vm.as_ref().is_some_and(|vm| !vm.is_busy());
            if idle
                && sm
                    .annotations()
                    .contains_key(crate::capi::BLOCK_MOVE_ANNOTATION)
            {
                patch["metadata"] =
                    json!({"annotations": {crate::capi::BLOCK_MOVE_ANNOTATION: null}});
            }
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Action::CreateVm => {
            out.vm = Some(create(sm, world, ctx).await?);
            out.created = true;
        }
        Action::StartVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to start".into()))?;
            let c = client(world)?;
            match sm
                .spec
                .provider_id
                .as_deref()
                .and_then(request::instance_id)
            {
                Some(instance) if !world.observed.provisioned => {
                    let disks = request::disk_follow_ups(&sm.spec).map_err(Error::Config)?;
                    out.vm = Some(
                        timed(
                            ctx,
                            "start_vm",
                            c.start_new_vm(
                                &id,
                                instance,
                                &request::seed_iso_name(instance),
                                &disks,
                            ),
                        )
                        .await?,
                    );
                }
                _ => {
                    out.vm = Some(timed(ctx, "start_vm", c.start_vm(&id)).await?);
                }
            }
        }
        Action::RefreshVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to refresh".into()))?;
            // Carried by the endpoint's next list, which this machine
            // waits on anyway: no call of its own. The ask is timed from
            // now whatever becomes of it (a list that fails, a VM a job
            // took meanwhile): it is repeated one interval later, not at
            // every look.
            ctx.vm_lists.refresh(client(world)?.endpoint(), &id);
            ctx.address_refreshes
                .asked(instance(sm)?, std::time::Instant::now());
        }
        Action::RemoveFailedVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to remove".into()))?;
            timed(ctx, "remove_vm", client(world)?.remove_vm(&id)).await?;
            out.failed_attempt = true;
        }
        Action::RepairVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to repair".into()))?;
            timed(ctx, "repair_vm", client(world)?.repair_vm(&id)).await?;
        }
        Action::EjectSeed => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to eject the seed from".into()))?;
            let instance = instance(sm)?;
            timed(
                ctx,
                "eject_seed",
                client(world)?.eject_seed(&id, &request::seed_iso_name(instance)),
            )
            .await?;
            ctx.vm_lists.seed_ejected(instance);
            out.seed_ejected = true;
        }
        Action::ShutdownVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to shut down".into()))?;
            out.vm = Some(
                timed(
                    ctx,
                    "stop_vm",
                    client(world)?.stop_vm(&id, StopMode::Shutdown),
                )
                .await?,
            );
            out.shutdown_requested = true;
        }
        Action::PowerOffVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to power off".into()))?;
            out.vm =
                Some(timed(ctx, "stop_vm", client(world)?.stop_vm(&id, StopMode::Force)).await?);
        }
        Action::RemoveVm => {
            let id = vm_id.ok_or_else(|| Error::Config("no VM to remove".into()))?;
            timed(ctx, "remove_vm", client(world)?.remove_vm(&id)).await?;
        }
        Action::FinishDeletion => {
            if let Some(instance) = sm
                .spec
                .provider_id
                .as_deref()
                .and_then(request::instance_id)
            {
                let c = client(world)?;
                // A seed that was ejected was deleted from the library in
                // the same call; only one that never got that far is left.
                if !world.observed.seed_cleaned {
                    timed(
                        ctx,
                        "remove_seed",
                        c.remove_seed(&request::seed_iso_name(instance)),
                    )
                    .await?;
                }
                ctx.vm_lists.forget_seed(instance);
                for device in scvmm_pool_devices(sm, world) {
                    timed(
                        ctx,
                        "revoke_ips",
                        c.revoke_ips(&request::grant_owner(instance, &device)),
                    )
                    .await?;
                }
            }
            shared::remove_finalizer(ctx, sm, MACHINE_FINALIZER).await?;
            out.finalized = true;
        }
        Action::AbandonVm => {
            shared::remove_finalizer(ctx, sm, MACHINE_FINALIZER).await?;
            out.finalized = true;
        }
    }
    Ok(out)
}

fn instance(sm: &ScvmmMachine) -> Result<&str, Error> {
    sm.spec
        .provider_id
        .as_deref()
        .and_then(request::instance_id)
        .ok_or_else(|| Error::Config("spec.providerID is not scvmm://<uuid>".into()))
}

fn scvmm_pool_devices(sm: &ScvmmMachine, world: &World) -> Vec<String> {
    request::network(&sm.spec, world.failure_domain.as_ref())
        .map(|n| {
            n.devices
                .iter()
                .filter(|d| d.scvmm_ip_pool.is_some())
                .map(|d| d.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

async fn create(
    sm: &ScvmmMachine,
    world: &World,
    ctx: &Context,
) -> Result<crate::scvmm::VmInfo, Error> {
    let c = client(world)?;
    let instance = instance(sm)?;
    let net = request::network(&sm.spec, world.failure_domain.as_ref());
    let fd_name = world
        .machine
        .as_ref()
        .and_then(|m| m.spec.failure_domain.clone())
        .filter(|f| !f.is_empty());
    let placement = request::placement(&sm.spec, world.failure_domain.as_ref(), fd_name.as_deref())
        .map_err(|m| Error::Config(format!("ScvmmMachine {}: {m}", sm.name_any())))?;

    // SCVMM static pools: grant (idempotently, keyed by instance and device)
    // before the seed is built, so the guest gets the address statically.
    let mut resolved: Vec<ResolvedDevice> = world.resolved.clone();
    let mut pool_addresses: Vec<Vec<String>> = Vec::new();
    if let Some(net) = net {
        resolved.resize(net.devices.len(), ResolvedDevice::default());
        for (i, d) in net.devices.iter().enumerate() {
            let mut granted = vec![];
            if let Some(pool) = &d.scvmm_ip_pool {
                let grant = timed(
                    ctx,
                    "grant_ip",
                    c.grant_ip(pool, &request::grant_owner(instance, &d.name)),
                )
                .await?;
                let prefix = grant.prefix_length.unwrap_or(24);
                resolved[i]
                    .addresses
                    .push(format!("{}/{prefix}", grant.address));
                if resolved[i].gateway4.is_none() {
                    resolved[i].gateway4 = grant.gateway.clone();
                }
                if resolved[i].nameservers.is_empty() {
                    resolved[i].nameservers = grant.dns_servers.clone();
                }
                granted.push(grant.address);
            }
            pool_addresses.push(granted);
        }
    }
    let user_data = world
        .user_data
        .clone()
        .ok_or_else(|| Error::Config("bootstrap data was not read (a bug)".into()))?;
    let seed = render(&SeedSpec {
        instance_id: instance.to_string(),
        hostname: request::hostname(sm),
        devices: request::seed_devices(net, &resolved),
        user_data,
    })?;
    let iso = build_iso(&seed)?;
    let req = request::create_request(
        sm,
        placement,
        net,
        &pool_addresses,
        instance,
        &world.cluster_name,
        world
            .scvmm_cluster
            .as_ref()
            .and_then(|c| {
                crate::controller::cluster::observe::cluster_marker(c, &world.cluster_name)
            })
            .as_deref(),
        iso,
    )
    .map_err(|m| Error::Config(format!("ScvmmMachine {}: {m}", sm.name_any())))?;
    timed(ctx, "create_vm", c.create_vm(&req)).await
}

/// Server-side apply of the whole status (we own all of it).
pub async fn apply_status(
    sm: &ScvmmMachine,
    status: &crate::api::ScvmmMachineStatus,
    ctx: &Context,
) -> Result<(), Error> {
    shared::apply_status(ctx, sm, status).await
}
