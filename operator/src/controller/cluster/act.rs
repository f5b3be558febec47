//! Act: carry out the cluster planner's one action, idempotently.

use super::observe::{World, vip_claim_name};
use super::plan::Action;
use crate::Error;
use crate::api::{ScvmmCluster, ScvmmClusterStatus, ScvmmMachine};
use crate::capi::{IPAddressClaim, IPAddressClaimSpec, IpPoolReference};
use crate::controller::machine::request;
use crate::controller::{CLUSTER_FINALIZER, CLUSTER_ID_ANNOTATION, Context, FIELD_MANAGER, shared};
use crate::scvmm::StopMode;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::time::Instant;

/// Carries out `action`. Returns true when the object is gone (finalizer
/// removed), so no status is written.
pub async fn act(
    sc: &ScvmmCluster,
    world: &World,
    action: &Action,
    ctx: &Context,
) -> Result<bool, Error> {
    let ns = sc.namespace().unwrap_or_default();
    let api: Api<ScvmmCluster> = Api::namespaced(ctx.client.clone(), &ns);
    let name = sc.name_any();
    match action {
        Action::Wait => {}
        Action::AddFinalizer => shared::add_finalizer(ctx, sc, CLUSTER_FINALIZER).await?,
        Action::ChooseClusterId => {
            let id = uuid::Uuid::new_v4().to_string();
            // Guarded: two reconciles racing must not give the cluster two
            // IDs (VMs would carry the one that lost).
            let patch = json!({"metadata": {"resourceVersion": sc.resource_version(),
                                            "annotations": {CLUSTER_ID_ANNOTATION: id}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        Action::ClaimVip => {
            let pool = sc
                .spec
                .control_plane_endpoint_pool
                .as_ref()
                .ok_or_else(|| {
                    Error::Config("no controlPlaneEndpointPool to claim from (a bug)".into())
                })?;
            let claim_name = vip_claim_name(sc);
            let mut claim = IPAddressClaim::new(
                &claim_name,
                IPAddressClaimSpec {
                    cluster_name: world.cluster_name.clone(),
                    pool_ref: IpPoolReference {
                        api_group: pool.api_group.clone(),
                        kind: pool.kind.clone(),
                        name: pool.name.clone(),
                    },
                },
            );
            // Owned by the ScvmmCluster: `clusterctl move` carries it with
            // the cluster, and the API server releases it if we cannot.
            claim.metadata.owner_references = sc
                .controller_owner_ref(&())
                .map(|mut r| {
                    r.block_owner_deletion = Some(true);
                    r
                })
                .map(|r| vec![r]);
            claim.metadata.labels = Some(
                [(
                    crate::capi::CLUSTER_NAME_LABEL.to_string(),
                    world.cluster_name.clone(),
                )]
                .into(),
            );
            Api::<IPAddressClaim>::namespaced(ctx.client.clone(), &ns)
                .patch(
                    &claim_name,
                    &PatchParams::apply(FIELD_MANAGER),
                    &Patch::Apply(&claim),
                )
                .await?;
        }
        Action::RecordEndpoint { host, port } => {
            // Guarded by the resourceVersion: a host the user set meanwhile
            // wins (and the CEL rule keeps it from changing afterwards).
            let patch = json!({"metadata": {"resourceVersion": sc.resource_version()},
                               "spec": {"controlPlaneEndpoint": {"host": host, "port": port}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
        // Done by `act_on_orphan`, after the status is written.
        Action::StopOrphan(_) | Action::RemoveOrphan(_) => {}
        Action::DeleteMachines(names) => {
            let machines: Api<ScvmmMachine> = Api::namespaced(ctx.client.clone(), &ns);
            for m in names {
                shared::gone_is_fine(machines.delete(m, &DeleteParams::background()).await)?;
            }
        }
        Action::ReleaseVip => {
            shared::gone_is_fine(
                Api::<IPAddressClaim>::namespaced(ctx.client.clone(), &ns)
                    .delete(&vip_claim_name(sc), &DeleteParams::background())
                    .await,
            )?;
        }
        Action::RemoveFinalizer => {
            shared::remove_finalizer(ctx, sc, CLUSTER_FINALIZER).await?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Stops or removes an orphaned VM (the `Delete` policy). A removed VM's
/// SCVMM address grants and seed ISO go with it, as they would with its
/// machine.
pub async fn act_on_orphan(world: &World, action: &Action, ctx: &Context) -> Result<(), Error> {
    let c = client(world)?;
    let timed = |op: &'static str, ok: bool, started: Instant| {
        ctx.metrics.operation(op, ok, started.elapsed());
    };
    match action {
        Action::StopOrphan(id) => {
            let started = Instant::now();
            let r = c.stop_vm(id, StopMode::Force).await;
            timed("stop_vm", r.is_ok(), started);
            r?;
        }
        Action::RemoveOrphan(id) => {
            let started = Instant::now();
            let r = c.remove_vm(id).await;
            timed("remove_vm", r.is_ok(), started);
            r?;
            let instance = world
                .orphans
                .iter()
                .flatten()
                .find(|o| &o.id == id)
                .and_then(|o| o.instance_id.clone());
            if let Some(instance) = instance {
                let started = Instant::now();
                let r = c.remove_seed(&request::seed_iso_name(&instance)).await;
                timed("remove_seed", r.is_ok(), started);
                r?;
                let started = Instant::now();
                let r = c
                    .revoke_ips_with_prefix(&request::grant_owner(&instance, ""))
                    .await;
                timed("revoke_ips", r.is_ok(), started);
                r?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn client(world: &World) -> Result<&crate::scvmm::ScvmmClient, Error> {
    world.client.as_ref().ok_or_else(|| {
        Error::Config(
            "no SCVMM connection for this action (a bug: the planner acted without SCVMM)".into(),
        )
    })
}

/// Server-side apply of the whole status (we own all of it).
pub async fn apply_status(
    sc: &ScvmmCluster,
    status: &ScvmmClusterStatus,
    ctx: &Context,
) -> Result<(), Error> {
    shared::apply_status(ctx, sc, status).await
}
