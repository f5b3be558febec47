//! What the reconcilers share on the Kubernetes side: watch scope
//! (`--namespace`, `--watch-filter`), the trigger hash over the metadata a
//! reconcile reads, backoff, Events, and writes that tolerate the object
//! having gone meanwhile.

use super::Context;
use crate::Error;
use crate::capi;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use std::borrow::Cow;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;
use tracing::warn;

/// Watch settings of one controller.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Only this namespace (all when None).
    pub namespace: Option<String>,
    /// Only objects labelled `cluster.x-k8s.io/watch-filter=<value>`.
    pub watch_filter: Option<String>,
    /// Reconciles running at once.
    pub concurrency: u16,
}

impl WatchOptions {
    /// The watcher configuration honouring `--watch-filter`.
    pub fn watcher_config(&self) -> watcher::Config {
        let wc = watcher::Config::default().page_size(LIST_PAGE_SIZE);
        match &self.watch_filter {
            Some(f) => wc.labels(&format!("{}={f}", capi::WATCH_FILTER_LABEL)),
            None => wc,
        }
    }

    /// The API of `K` in the watched namespace (or all namespaces).
    pub fn api<K>(&self, client: &kube::Client) -> Api<K>
    where
        K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
    {
        match &self.namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
}

/// Hash of the metadata that should trigger a reconcile of our own objects:
/// generation (spec), finalizers, annotations (pause, skip-vm-deletion,
/// managed-by), labels (cluster name), owner references, deletion and
/// identity. Our own status writes do not change it.
pub fn metadata_hash<K: Resource>(obj: &K) -> u64 {
    let mut h = DefaultHasher::new();
    let m = obj.meta();
    m.generation.hash(&mut h);
    m.finalizers.hash(&mut h);
    m.annotations.hash(&mut h);
    m.labels.hash(&mut h);
    m.owner_references
        .as_ref()
        .map(|o| {
            o.iter()
                .map(|r| (&r.uid, &r.kind, &r.name))
                .collect::<Vec<_>>()
        })
        .hash(&mut h);
    m.deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut h);
    m.uid.hash(&mut h);
    h.finish()
}

/// 1 s, 2 s, 4 s, ... capped at 5 minutes.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(8)).min(Duration::from_secs(300))
}

/// Backoff of each of our watches after an error: 0.5 s doubling to 5 s,
/// reset once 30 s pass without one. kube's default climbs to 30 s (with
/// jitter, nearly a minute); after an API server restart a watch waits
/// twice (the refused connection, then the 410 for its stale resource
/// version before the relist), and the reflector stores the reconciles
/// read from lagged behind for minutes: a machine kept recording the VM
/// ID it had already written. A watch that tries every 5 s is no load on
/// an API server that is down.
pub fn watch_backoff() -> kube::runtime::utils::ResetTimerBackoff<WatchBackoff> {
    kube::runtime::utils::ResetTimerBackoff::new(
        WatchBackoff::new(Duration::from_millis(500), Duration::from_secs(5)),
        Duration::from_secs(30),
    )
}

/// Backoff of a controller's merged trigger stream: a short constant
/// pause. Its errors are those of the watches, which back off each on
/// their own ([`watch_backoff`]); kube's default (up to a minute) paused
/// the whole merge on every error of any watch, so after an API server
/// restart each watch's 410 held up all the others and they relisted one
/// after the other.
pub fn trigger_backoff() -> WatchBackoff {
    WatchBackoff::new(Duration::from_millis(100), Duration::from_millis(100))
}

/// Exponential backoff between two bounds.
#[derive(Debug, Clone)]
pub struct WatchBackoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl WatchBackoff {
    /// Starts at `min` and doubles up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        Some(now)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// The backoff key of an object for a controller.
pub fn failure_key(controller: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{controller}:{}/{name}", namespace.unwrap_or_default())
}

/// What a controller's result stream does with each result: a successful
/// reconcile forgets the object's failures, so its next failure backs off
/// from 1 s again.
pub fn forget_failures<K, E>(
    ctx: std::sync::Arc<Context>,
    controller: &'static str,
) -> impl FnMut(
    Result<
        (
            kube::runtime::reflector::ObjectRef<K>,
            kube::runtime::controller::Action,
        ),
        E,
    >,
) -> std::future::Ready<()>
where
    K: kube::runtime::reflector::Lookup,
{
    move |r| {
        if let Ok((obj, _)) = r {
            ctx.failures.reset(&failure_key(
                controller,
                obj.namespace.as_deref(),
                &obj.name,
            ));
        }
        std::future::ready(())
    }
}

/// Records an Event on `obj`; a failure to record is logged, not returned
/// (an Event is never worth failing a reconcile for).
pub async fn publish<K>(ctx: &Context, obj: &K, type_: EventType, reason: &str, note: &str)
where
    K: Resource<DynamicType = ()>,
{
    let ev = Event {
        type_,
        reason: reason.to_string(),
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&ev, &obj.object_ref(&())).await {
        warn!(error = %e, "could not publish an event");
    }
}

/// Treats "not found" as done: the object went away meanwhile.
pub fn gone_is_fine<T>(r: Result<T, kube::Error>) -> Result<(), Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// An object whose whole status this provider writes (server-side apply)
/// and plans on again.
pub trait OwnStatus: Resource<DynamicType = ()> + Clone {
    /// The status type.
    type Status: serde::Serialize + serde::de::DeserializeOwned;
    /// The object's status.
    fn status_mut(&mut self) -> &mut Option<Self::Status>;
}

impl OwnStatus for crate::api::ScvmmMachine {
    type Status = crate::api::ScvmmMachineStatus;
    fn status_mut(&mut self) -> &mut Option<Self::Status> {
        &mut self.status
    }
}

impl OwnStatus for crate::api::ScvmmCluster {
    type Status = crate::api::ScvmmClusterStatus;
    fn status_mut(&mut self) -> &mut Option<Self::Status> {
        &mut self.status
    }
}

/// `obj` with the status we last wrote when the watch cache does not show
/// that write yet ([`super::own_writes`]), so a reconcile plans on what we
/// wrote rather than on an older status.
pub fn with_own_status<'a, K: OwnStatus>(ctx: &Context, obj: &'a K) -> Cow<'a, K> {
    let key = status_key(obj);
    match ctx
        .own_writes
        .newer::<K::Status>(&key, obj.meta().resource_version.as_deref())
    {
        Some(status) => {
            let mut caught_up = obj.clone();
            *caught_up.status_mut() = Some(status);
            Cow::Owned(caught_up)
        }
        None => Cow::Borrowed(obj),
    }
}

/// Server-side apply of an object's whole status (we own all of it). The
/// status written is remembered until the watch cache shows it
/// ([`with_own_status`]).
pub async fn apply_status<K>(ctx: &Context, obj: &K, status: &K::Status) -> Result<(), Error>
where
    K: OwnStatus
        + Resource<Scope = kube::core::NamespaceResourceScope>
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let key = status_key(obj);
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    // Serialized once: the status moves into the patch body and back out
    // of it to be remembered.
    let mut patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": serde_json::to_value(status).map_err(kube::Error::SerdeError)?,
    });
    let written = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(super::FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await;
    match &written {
        Ok(o) => ctx.own_writes.record(
            &key,
            o.meta().resource_version.as_deref(),
            patch["status"].take(),
        ),
        // Gone, or what the server holds is unknown now.
        Err(_) => ctx.own_writes.forget(&key),
    }
    gone_is_fine(written)
}

/// Objects per page when listing: a page is deserialized whole, managed
/// fields included, so the page size bounds the memory a list takes while
/// it is read (1,000 ScvmmMachines in one answer took 40 MB at once).
pub const LIST_PAGE_SIZE: u32 = 100;

/// Lists `api` a page of [`LIST_PAGE_SIZE`] at a time and hands every object
/// to `each`, so only what `each` keeps stays in memory. The pages are one
/// consistent snapshot (the API server's continue token).
pub async fn for_each_listed<K>(
    api: &Api<K>,
    lp: &kube::api::ListParams,
    mut each: impl FnMut(K),
) -> Result<(), kube::Error>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut lp = lp.clone().limit(LIST_PAGE_SIZE);
    loop {
        let page = api.list(&lp).await?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        page.items.into_iter().for_each(&mut each);
        match next {
            Some(token) => lp = lp.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// The key under which what this process wrote to `obj` (`what`: its
/// status, the Machine's placement labels) is kept in
/// [`super::own_writes::OwnWrites`].
pub fn own_write_key<K: Resource<DynamicType = ()>>(obj: &K, what: &str) -> String {
    format!(
        "{}/{}/{}/{what}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// The [`own_write_key`] of an object's status.
pub fn status_key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    own_write_key(obj, "status")
}

/// Replaces the finalizer list, guarded by the resourceVersion so that a
/// finalizer someone else added or removed meanwhile is not lost.
async fn set_finalizers<K>(ctx: &Context, obj: &K, finalizers: Vec<String>) -> Result<(), Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = serde_json::json!({"metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}});
    gone_is_fine(
        api.patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await,
    )
}

/// Removes `finalizer` (an object already gone is fine).
pub async fn remove_finalizer<K>(ctx: &Context, obj: &K, finalizer: &str) -> Result<(), Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let finalizers = obj
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    set_finalizers(ctx, obj, finalizers).await
}

/// Adds `finalizer`.
pub async fn add_finalizer<K>(ctx: &Context, obj: &K, finalizer: &str) -> Result<(), Error>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut finalizers = obj.finalizers().to_vec();
    finalizers.push(finalizer.to_string());
    set_finalizers(ctx, obj, finalizers).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use std::sync::{Arc, Mutex};

    /// An API server holding 250 ConfigMaps that answers lists a page at a
    /// time (honouring `limit` and `continue`), recording each query.
    fn paging_client() -> (kube::Client, Arc<Mutex<Vec<String>>>) {
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        let client = crate::controller::test_api::client(std::time::Duration::ZERO, move |query| {
            seen.lock().unwrap().push(query.to_string());
            let param = |k: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                    .map(str::to_string)
            };
            let limit: usize = param("limit").map_or(usize::MAX, |l| l.parse().unwrap());
            let from: usize = param("continue").map_or(0, |c| c.parse().unwrap());
            let to = (from + limit).min(250);
            let items: Vec<_> = (from..to)
                .map(|i| serde_json::json!({"metadata": {"name": format!("cm-{i}")}}))
                .collect();
            let token = if to < 250 {
                to.to_string()
            } else {
                String::new()
            };
            serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMapList",
                "metadata": {"resourceVersion": "7", "continue": token},
                "items": items,
            })
        });
        (client, queries)
    }

    #[tokio::test]
    async fn a_list_is_read_a_page_at_a_time_and_every_object_is_seen_once() {
        let (client, queries) = paging_client();
        let api: Api<ConfigMap> = Api::namespaced(client, "ns");
        let mut names = Vec::new();
        for_each_listed(
            &api,
            &kube::api::ListParams::default().labels("a=b"),
            |cm: ConfigMap| names.push(cm.name_any()),
        )
        .await
        .unwrap();
        assert_eq!(names.len(), 250);
        assert_eq!(names.first().unwrap(), "cm-0");
        assert_eq!(names.last().unwrap(), "cm-249");
        let queries = queries.lock().unwrap();
        assert_eq!(queries.len(), 3, "{queries:?}");
        assert!(
            queries.iter().all(|q| q.contains("limit=100")),
            "{queries:?}"
        );
        assert!(
            queries.iter().all(|q| q.contains("labelSelector=a%3Db")),
            "{queries:?}"
        );
        assert!(queries[2].contains("continue=200"), "{queries:?}");
    }
}
