//! The ScvmmMachineTemplate reconciler: publishes what one machine made from
//! the template offers (`status.capacity`, `status.nodeInfo`), so the
//! cluster autoscaler can scale a MachineDeployment up from zero.

use crate::Error;
use crate::api::ScvmmMachineTemplate;
use crate::api::machine::{NodeInfo, ScvmmMachineSpec, ScvmmMachineTemplateStatus};
use crate::capi::{self, Cluster};
use crate::controller::shared::{self, WatchOptions};
use crate::controller::{Context, FIELD_MANAGER};
use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tracing::{Instrument, info_span, warn};

/// The status a template's spec implies. Pure.
///
/// Memory is the startup memory: `memory`, else `dynamicMemory.minimum`
/// (what the guest's kubelet reports at boot). A template that takes its
/// memory from the VMM VM template alone publishes no memory: the
/// autoscaler then cannot scale it from zero, and
/// `capacity.cluster-autoscaler.kubernetes.io/memory` on the
/// MachineDeployment is the way to tell it.
pub fn capacity(spec: &ScvmmMachineSpec) -> ScvmmMachineTemplateStatus {
    let mut capacity = BTreeMap::new();
    capacity.insert("cpu".to_string(), spec.cpu_count.to_string());
    if let Some(m) = spec
        .memory
        .clone()
        .or_else(|| spec.dynamic_memory.as_ref().map(|d| d.minimum.clone()))
    {
        capacity.insert("memory".to_string(), m);
    }
    let windows = spec
        .operating_system
        .as_deref()
        .is_some_and(|os| os.to_ascii_lowercase().contains("windows"));
    ScvmmMachineTemplateStatus {
        capacity,
        node_info: Some(NodeInfo {
            // Hyper-V hosts managed by VMM are x64.
            architecture: Some("amd64".to_string()),
            operating_system: Some(if windows { "windows" } else { "linux" }.to_string()),
        }),
    }
}

/// Reconciles one ScvmmMachineTemplate.
pub async fn reconcile(t: Arc<ScvmmMachineTemplate>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let ns = t.namespace().unwrap_or_default();
    let span = info_span!("reconcile", template = %format!("{ns}/{}", t.name_any()));
    let started = Instant::now();
    let result = async {
        if capi::has_paused_annotation(t.as_ref()) {
            return Ok(Requeue::await_change());
        }
        if let Some(owner) = capi::owner_name(t.as_ref(), "Cluster")
            && let Some(c) = Api::<Cluster>::namespaced(ctx.client.clone(), &ns)
                .get_opt(&owner)
                .await?
            && capi::is_paused(&c)
        {
            return Ok(Requeue::await_change());
        }
        let want = capacity(&t.spec.template.spec);
        if t.status.as_ref() != Some(&want) {
            let patch = json!({
                "apiVersion": format!("{}/{}", crate::api::GROUP, crate::api::VERSION),
                "kind": "ScvmmMachineTemplate",
                "status": want,
            });
            Api::<ScvmmMachineTemplate>::namespaced(ctx.client.clone(), &ns)
                .patch_status(
                    &t.name_any(),
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&patch),
                )
                .await?;
        }
        Ok(Requeue::await_change())
    }
    .instrument(span)
    .await;
    ctx.metrics.reconciled(
        "template",
        result.as_ref().err().map(Error::category),
        started.elapsed(),
    );
    result
}

fn error_policy(t: Arc<ScvmmMachineTemplate>, err: &Error, ctx: Arc<Context>) -> Requeue {
    let key = shared::failure_key("template", t.namespace().as_deref(), &t.name_any());
    let delay = shared::backoff(ctx.failures.bump(&key));
    warn!(template = %key, error = %err, retry_in = ?delay, "reconcile failed");
    Requeue::requeue(delay)
}

/// Runs the template controller until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    opts: WatchOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let wc = opts.watcher_config();
    let api: Api<ScvmmMachineTemplate> = opts.api(&client);
    let (reader, writer) = kube::runtime::reflector::store::<ScvmmMachineTemplate>();
    let stream = watcher(api, wc)
        .backoff(shared::watch_backoff())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            |t: &ScvmmMachineTemplate| {
                use std::hash::{DefaultHasher, Hash, Hasher};
                let mut h = DefaultHasher::new();
                t.meta().generation.hash(&mut h);
                t.meta().annotations.hash(&mut h);
                t.meta().uid.hash(&mut h);
                // A status someone else changed is put back.
                serde_json::to_string(&t.status).ok().hash(&mut h);
                Some(h.finish())
            },
            Default::default(),
        );
    Controller::for_stream(stream, reader)
        .with_config(
            kube::runtime::controller::Config::default().concurrency(opts.concurrency.max(1)),
        )
        .trigger_backoff(shared::trigger_backoff())
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx.clone())
        .for_each(shared::forget_failures(ctx.clone(), "template"))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::machine::DynamicMemory;

    #[test]
    fn capacity_is_the_startup_size() {
        let mut spec = ScvmmMachineSpec {
            cpu_count: 4,
            memory: Some("8Gi".into()),
            ..Default::default()
        };
        let s = capacity(&spec);
        assert_eq!(s.capacity["cpu"], "4");
        assert_eq!(s.capacity["memory"], "8Gi");
        spec.memory = None;
        spec.dynamic_memory = Some(DynamicMemory {
            minimum: "2Gi".into(),
            maximum: "16Gi".into(),
            buffer_percentage: None,
        });
        assert_eq!(capacity(&spec).capacity["memory"], "2Gi");
        spec.dynamic_memory = None;
        assert!(!capacity(&spec).capacity.contains_key("memory"));
        spec.operating_system = Some("Windows Server 2022 Datacenter".into());
        assert_eq!(
            capacity(&spec)
                .node_info
                .unwrap()
                .operating_system
                .as_deref(),
            Some("windows")
        );
    }
}
