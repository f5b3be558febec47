//! Batched observation (DESIGN §3.5): machines read their VM from one
//! `list_vms` per SCVMM endpoint instead of one lookup each.
//!
//! A reconcile asks for a list that started after a given instant (see
//! [`newer_than`]); when the endpoint's last list is that fresh it is used
//! as is, otherwise this reconcile runs the list while the others of the
//! same endpoint wait for it (single flight) and share its answer. So N
//! machines provisioning at once cost about one list per freshness window,
//! and idle machines, which accept a list up to the poll interval old, cost
//! at most one list per interval per endpoint, whatever their number.
//!
//! A list only shows VMs carrying a machine marker; a VM that is not in it
//! is confirmed by ID by the caller before it is reported gone.
//!
//! Every list is compared with the one before: a machine whose VM changed
//! (state, job, host, addresses) or went away is woken at once, so an idle
//! machine hears of a power-off or a live migration from whichever
//! reconcile listed next, not only at its own resync.
//!
//! While any machine of an endpoint waits on SCVMM (a job, a boot, a
//! shutdown), one background task per endpoint lists it every busy
//! interval (slower when lists are slow, see [`next_interval`]) and the
//! waiting machines are woken by those lists instead of requeueing at a
//! fixed short delay: the interval adapts to the work (fast while jobs
//! run, nothing extra when idle) and the load on SCVMM does not grow with
//! the number of waiting machines.

use crate::scvmm::{ScvmmClient, ScvmmError, VmInfo};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The oldest start a list may have to serve a reconcile: not before the
/// machine's last write to SCVMM (a list begun earlier may not show it),
/// and not older than `max_age`.
pub fn newer_than(now: Instant, last_write: Option<Instant>, max_age: Duration) -> Instant {
    let by_age = now.checked_sub(max_age).unwrap_or(now);
    match last_write {
        Some(w) if w > by_age => w,
        _ => by_age,
    }
}

/// How old a list an idle machine accepts versus one that waits on SCVMM.
pub fn max_age(idle: bool, poll_interval: Duration, busy: Duration) -> Duration {
    if idle { poll_interval } else { busy }
}

/// Longest pause between two lists of an endpoint that machines wait on.
pub const MAX_BUSY_INTERVAL: Duration = Duration::from_secs(30);

/// The pause before the next background list: the configured interval,
/// stretched so that listing never takes more than a quarter of the
/// endpoint's time (a VMM with thousands of VMs answers slowly, and
/// waiting machines must not keep it busy), and backed off after a
/// failure.
pub fn next_interval(base: Duration, last_took: Duration, failures: u32) -> Duration {
    let by_cost = last_took.saturating_mul(4);
    let backoff = if failures == 0 {
        Duration::ZERO
    } else {
        base.saturating_mul(1u32 << failures.min(8))
    };
    base.max(by_cost)
        .max(backoff)
        .min(MAX_BUSY_INTERVAL.max(base))
}

/// One list of an endpoint.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// When the list was sent: everything SCVMM finished before shows.
    pub started: Instant,
    vms: Arc<Vec<VmInfo>>,
}

impl Snapshot {
    /// A snapshot of `vms` listed from `started`.
    pub fn new(started: Instant, vms: Vec<VmInfo>) -> Self {
        Self {
            started,
            vms: Arc::new(vms),
        }
    }

    /// The VM with this VMM ID, else the one carrying this instance ID.
    pub fn find(&self, vm_id: Option<&str>, instance: Option<&str>) -> Option<&VmInfo> {
        if let Some(id) = vm_id {
            return self.vms.iter().find(|v| v.id.eq_ignore_ascii_case(id));
        }
        let instance = instance?;
        // Several VMs with one marker (made outside the provider): the
        // same pick as find_vm, the first.
        self.vms.iter().find(|v| {
            v.instance_id
                .as_deref()
                .is_some_and(|i| i.eq_ignore_ascii_case(instance))
        })
    }

    /// How many VMs the list held.
    pub fn len(&self) -> usize {
        self.vms.len()
    }

    /// Whether the list was empty.
    pub fn is_empty(&self) -> bool {
        self.vms.is_empty()
    }
}

/// Instance IDs (lower case) of the VMs that differ between two lists of
/// one endpoint: new, changed, or gone.
pub fn changed(old: &[VmInfo], new: &[VmInfo]) -> Vec<String> {
    let before: HashMap<&str, &VmInfo> = old.iter().map(|v| (v.id.as_str(), v)).collect();
    let now: HashMap<&str, &VmInfo> = new.iter().map(|v| (v.id.as_str(), v)).collect();
    let mut out: Vec<String> = new
        .iter()
        .filter(|v| before.get(v.id.as_str()) != Some(v))
        .chain(old.iter().filter(|v| !now.contains_key(v.id.as_str())))
        .filter_map(|v| v.instance_id.as_deref().map(str::to_ascii_lowercase))
        .collect();
    out.sort();
    out.dedup();
    out
}

type Slot = Arc<tokio::sync::Mutex<Option<Snapshot>>>;

/// The machines of one endpoint that wait on SCVMM, and its poller.
#[derive(Default)]
struct Waiting {
    /// Machine key → until when it counts as waiting without calling again.
    machines: HashMap<String, Instant>,
    /// The newest client for the endpoint (credentials may have rotated).
    client: Option<ScvmmClient>,
    /// A poller task runs for the endpoint.
    polling: bool,
    /// The poller's pace between good lists (its failure backoff aside).
    interval: Duration,
}

/// A machine to wake: (namespace, name).
pub type Wake = (String, String);

/// The last list of each endpoint, the machines' last writes, and who to
/// wake when a VM changes.
#[derive(Default)]
pub struct VmLists {
    endpoints: Mutex<HashMap<String, Slot>>,
    writes: Mutex<HashMap<String, Instant>>,
    /// Instance ID (lower case) → the machine that has it.
    watchers: Mutex<HashMap<String, Wake>>,
    waker: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Wake>>>,
    /// Endpoint → machines waiting on it.
    waiting: Mutex<HashMap<String, Waiting>>,
    /// Machines whose seed this process ejected and deleted: a reconcile
    /// woken right after may still read the object from before its status
    /// said so, and would eject again.
    seeds_ejected: Mutex<std::collections::HashSet<String>>,
    /// Endpoint → IDs (lower case) of VMs to refresh with its next list.
    refreshes: Mutex<HashMap<String, std::collections::BTreeSet<String>>>,
    /// Endpoint → VM ID (lower case) → the refresh job a list of ours
    /// started on it, while the endpoint's lists show that job running.
    refresh_jobs: Mutex<HashMap<String, HashMap<String, String>>>,
}

/// Most VMs one list refreshes: `Read-SCVirtualMachine` takes VMM a second
/// or two to answer even asynchronously, and the list is what every waiting
/// machine of the endpoint waits on. The other asks wait for the next list.
pub const MAX_REFRESHES_PER_LIST: usize = 5;

/// What the background poller of an endpoint needs.
#[derive(Clone)]
pub struct PollerSettings {
    /// Pause between two lists while machines wait (adapted by
    /// [`next_interval`]).
    pub interval: Duration,
    /// How long a machine counts as waiting after it last said so: longer
    /// than its own requeue, so a machine that is gone stops the poller.
    pub hold: Duration,
    /// Where list durations and outcomes are counted.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl VmLists {
    /// Machines whose VM changed arrive here (one receiver: the machine
    /// controller's).
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Wake> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut w) = self.waker.lock() {
            *w = Some(tx);
        }
        rx
    }

    /// The machine `namespace/name` has the VM with this instance ID.
    pub fn watch(&self, instance: &str, namespace: &str, name: &str) {
        if let Ok(mut w) = self.watchers.lock() {
            w.insert(
                instance.to_ascii_lowercase(),
                (namespace.to_string(), name.to_string()),
            );
        }
    }

    fn wake(&self, instances: &[String]) {
        let (Ok(watchers), Ok(waker)) = (self.watchers.lock(), self.waker.lock()) else {
            return;
        };
        let Some(tx) = waker.as_ref() else { return };
        for i in instances {
            if let Some(m) = watchers.get(i) {
                let _ = tx.send(m.clone());
            }
        }
    }

    /// Remembers that the machine `key` (`namespace/name`) just changed
    /// something in SCVMM (or tried to).
    pub fn wrote(&self, key: &str) {
        if let Ok(mut w) = self.writes.lock() {
            w.insert(key.to_string(), Instant::now());
        }
    }

    /// The machine's last write, if this process made one.
    pub fn last_write(&self, key: &str) -> Option<Instant> {
        self.writes.lock().ok().and_then(|w| w.get(key).copied())
    }

    /// The machine `key` waits on SCVMM (a job, a boot, a shutdown, a
    /// removal): until it stops saying so, a background task lists the
    /// endpoint every [`PollerSettings::interval`] and wakes the machines
    /// whose VM changed, so they need neither their own lists nor short
    /// requeues. One task per endpoint, whatever the number of machines.
    pub fn wait_on(self: &Arc<Self>, client: &ScvmmClient, key: &str, settings: &PollerSettings) {
        let endpoint = client.endpoint().to_string();
        let start = {
            let Ok(mut waiting) = self.waiting.lock() else {
                return;
            };
            let w = waiting.entry(endpoint.clone()).or_default();
            w.machines
                .insert(key.to_string(), Instant::now() + settings.hold);
            w.client = Some(client.clone());
            let start = !w.polling;
            if start {
                w.polling = true;
                w.interval = settings.interval;
            }
            start
        };
        if start {
            let lists = self.clone();
            let settings = settings.clone();
            tokio::spawn(async move { lists.poll(endpoint, settings).await });
        }
    }

    /// The machine `key` no longer waits on SCVMM.
    pub fn settled(&self, key: &str) {
        if let Ok(mut waiting) = self.waiting.lock() {
            for w in waiting.values_mut() {
                w.machines.remove(key);
            }
        }
    }

    /// How old a list a waiting machine of `endpoint` accepts: `base`, or
    /// twice the poller's pace when that is longer (so machines do not
    /// list on their own when slow lists have slowed the poller down; a
    /// poller backing off after failures does not stretch it).
    pub fn busy_age(&self, endpoint: &str, base: Duration) -> Duration {
        self.waiting
            .lock()
            .ok()
            .and_then(|w| w.get(endpoint).filter(|w| w.polling).map(|w| w.interval))
            .map_or(base, |i| base.max(i.saturating_mul(2)))
    }

    /// The background poller of one endpoint: lists while machines wait,
    /// and ends when none does.
    async fn poll(self: Arc<Self>, endpoint: String, settings: PollerSettings) {
        let mut failures = 0u32;
        let mut interval = settings.interval;
        loop {
            tokio::time::sleep(interval).await;
            let client = {
                let Ok(mut waiting) = self.waiting.lock() else {
                    return;
                };
                let Some(w) = waiting.get_mut(&endpoint) else {
                    return;
                };
                let now = Instant::now();
                w.machines.retain(|_, until| *until > now);
                if w.machines.is_empty() {
                    w.polling = false;
                    w.client = None;
                    return;
                }
                match w.client.clone() {
                    Some(c) => c,
                    None => {
                        w.polling = false;
                        return;
                    }
                }
            };
            let started = Instant::now();
            let listed = self.snapshot(&client, started).await;
            let took = started.elapsed();
            match &listed {
                Ok((_, true)) => {
                    settings.metrics.operation("list_vms", true, took);
                    failures = 0;
                }
                Ok((_, false)) => failures = 0,
                Err(e) => {
                    settings.metrics.operation("list_vms", false, took);
                    failures += 1;
                    tracing::debug!(endpoint = %endpoint, error = %e, "background VM list failed; machines look on their own");
                }
            }
            interval = next_interval(settings.interval, took, failures);
            if let Ok(mut waiting) = self.waiting.lock()
                && let Some(w) = waiting.get_mut(&endpoint)
            {
                // Machines accept lists as old as this pause (busy_age).
                // A failed list refreshes nothing: stretched by the
                // failure backoff, the pause would let machines read the
                // last good list for up to a minute and report a VM as it
                // was before SCVMM went away, instead of looking
                // themselves and reporting SCVMM unreachable.
                w.interval = next_interval(settings.interval, took, 0);
            }
        }
    }

    /// Asks for the VM `vm_id` of `endpoint` to be refreshed by the next
    /// list of the endpoint ([`ScvmmClient::list_vms_refreshing`]): the
    /// background poller's, within a busy interval, when the asking
    /// machine waits on SCVMM. A list that fails drops the asks it
    /// carried; the machine asks again later.
    pub fn refresh(&self, endpoint: &str, vm_id: &str) {
        if let Ok(mut r) = self.refreshes.lock() {
            r.entry(endpoint.to_string())
                .or_default()
                .insert(vm_id.to_ascii_lowercase());
        }
    }

    /// Whether `job` is a refresh one of our lists started on VM `vm_id`
    /// (it only reads the VM: nothing waits on it and it does not block
    /// `clusterctl move`).
    pub fn is_refresh_job(&self, vm_id: &str, job: &str) -> bool {
        let vm_id = vm_id.to_ascii_lowercase();
        self.refresh_jobs.lock().is_ok_and(|r| {
            r.values().any(|jobs| {
                jobs.get(&vm_id)
                    .is_some_and(|j| j.eq_ignore_ascii_case(job))
            })
        })
    }

    /// Takes up to [`MAX_REFRESHES_PER_LIST`] asks of `endpoint` for the
    /// list about to run.
    fn take_refreshes(&self, endpoint: &str) -> Vec<String> {
        let Ok(mut r) = self.refreshes.lock() else {
            return Vec::new();
        };
        let Some(ids) = r.get_mut(endpoint) else {
            return Vec::new();
        };
        let taken: Vec<String> = ids.iter().take(MAX_REFRESHES_PER_LIST).cloned().collect();
        for id in &taken {
            ids.remove(id);
        }
        if ids.is_empty() {
            r.remove(endpoint);
        }
        taken
    }

    /// Records the refresh jobs a list of `endpoint` started (the script
    /// names them: a job that was running anyway is never taken for ours),
    /// and forgets those the list shows finished.
    fn note_refresh_jobs(&self, endpoint: &str, vms: &[VmInfo]) {
        let Ok(mut all) = self.refresh_jobs.lock() else {
            return;
        };
        let running = |vm: &VmInfo| {
            vm.job
                .as_ref()
                .filter(|j| j.is_running())
                .map(|j| j.id.to_ascii_lowercase())
        };
        let by_id: HashMap<String, &VmInfo> =
            vms.iter().map(|v| (v.id.to_ascii_lowercase(), v)).collect();
        let jobs = all.entry(endpoint.to_string()).or_default();
        jobs.retain(|vm, job| by_id.get(vm).and_then(|v| running(v)).as_deref() == Some(job));
        for vm in vms {
            if let (Some(started), Some(job)) = (vm.refresh_job.as_deref(), running(vm))
                && started.eq_ignore_ascii_case(&job)
            {
                jobs.insert(vm.id.to_ascii_lowercase(), job);
            }
        }
        if jobs.is_empty() {
            all.remove(endpoint);
        }
    }

    /// Remembers that the machine with this instance ID ejected and
    /// deleted its seed (keyed by instance, not name: a Machine re-created
    /// under the same name is another machine).
    pub fn seed_ejected(&self, instance: &str) {
        if let Ok(mut s) = self.seeds_ejected.lock() {
            s.insert(instance.to_ascii_lowercase());
        }
    }

    /// Whether this process ejected the seed of the machine with this
    /// instance ID.
    pub fn has_ejected_seed(&self, instance: &str) -> bool {
        self.seeds_ejected
            .lock()
            .is_ok_and(|s| s.contains(&instance.to_ascii_lowercase()))
    }

    /// Forgets the seed of a machine whose deletion finished.
    pub fn forget_seed(&self, instance: &str) {
        if let Ok(mut s) = self.seeds_ejected.lock() {
            s.remove(&instance.to_ascii_lowercase());
        }
    }

    /// Forgets a machine that is gone.
    pub fn forget(&self, key: &str) {
        self.settled(key);
        if let Ok(mut w) = self.writes.lock() {
            w.remove(key);
        }
        if let Ok(mut w) = self.watchers.lock() {
            w.retain(|_, (ns, name)| format!("{ns}/{name}") != key);
        }
    }

    fn slot(&self, endpoint: &str) -> Slot {
        match self.endpoints.lock() {
            Ok(mut e) => e.entry(endpoint.to_string()).or_default().clone(),
            // A poisoned map only loses sharing, never correctness.
            Err(_) => Slot::default(),
        }
    }

    /// A list of `client`'s endpoint that started at or after `newer_than`:
    /// the last one when it is fresh enough, else a new one, run once for
    /// every caller waiting on this endpoint. `listed` is true when this
    /// call ran the list.
    pub async fn snapshot(
        &self,
        client: &ScvmmClient,
        newer_than: Instant,
    ) -> Result<(Snapshot, bool), ScvmmError> {
        let slot = self.slot(client.endpoint());
        let mut last = slot.lock().await;
        if let Some(s) = last.as_ref()
            && s.started >= newer_than
        {
            return Ok((s.clone(), false));
        }
        let started = Instant::now();
        let asked = self.take_refreshes(client.endpoint());
        let vms = client.list_vms_refreshing(&asked).await?;
        if !asked.is_empty() {
            tracing::debug!(endpoint = %client.endpoint(), asked = asked.len(), "the list asked VMM to refresh VMs whose guests' addresses are awaited");
        }
        self.note_refresh_jobs(client.endpoint(), &vms);
        let woken = match last.as_ref() {
            Some(before) => changed(&before.vms, &vms),
            // The first list of an endpoint: everyone reads it anyway.
            None => Vec::new(),
        };
        let snap = Snapshot::new(started, vms);
        *last = Some(snap.clone());
        drop(last);
        self.wake(&woken);
        Ok((snap, true))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A list begun before the machine's last write is never accepted,
        /// nor one older than the allowed age.
        #[test]
        fn the_freshness_bound_covers_the_last_write_and_the_age(
            age_ms in 0u64..120_000, write_ago_ms in proptest::option::of(0u64..600_000), start_ago_ms in 0u64..600_000,
        ) {
            let now = Instant::now() + Duration::from_secs(3600);
            let last_write = write_ago_ms.map(|a| now - Duration::from_millis(a));
            let bound = newer_than(now, last_write, Duration::from_millis(age_ms));
            let started = now - Duration::from_millis(start_ago_ms);
            let accepted = started >= bound;
            if let Some(w) = last_write {
                prop_assert!(!accepted || started >= w);
            }
            prop_assert!(!accepted || now.duration_since(started) <= Duration::from_millis(age_ms));
            // And nothing stricter than needed: fresh and after the write is taken.
            if started >= last_write.unwrap_or(started) && now.duration_since(started) <= Duration::from_millis(age_ms) {
                prop_assert!(accepted);
            }
        }
    }

    fn vm(id: &str, instance: &str) -> VmInfo {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "instanceId": instance, "status": "Running", "adapters": [],
        }))
        .unwrap()
    }

    #[test]
    fn a_vm_is_found_by_id_first_then_by_marker() {
        let s = Snapshot::new(Instant::now(), vec![vm("A1", "i-1"), vm("B2", "i-2")]);
        assert_eq!(s.find(Some("a1"), Some("i-2")).unwrap().id, "A1");
        assert_eq!(s.find(None, Some("I-2")).unwrap().id, "B2");
        assert!(
            s.find(Some("c3"), Some("i-1")).is_none(),
            "an ID that is not listed is not replaced by the marker"
        );
        assert!(s.find(None, None).is_none());
    }

    #[test]
    fn new_changed_and_gone_vms_wake_their_machines_and_unchanged_ones_do_not() {
        let a = vm("A1", "I-1");
        let b = vm("B2", "i-2");
        let c = vm("C3", "i-3");
        let mut b_off = b.clone();
        b_off.status = "PowerOff".into();
        let d = vm("D4", "i-4");
        let woken = changed(&[a.clone(), b, c], &[a, b_off, d]);
        assert_eq!(woken, vec!["i-2", "i-3", "i-4"]);
        assert!(changed(&[vm("A1", "i-1")], &[vm("A1", "i-1")]).is_empty());
    }

    #[test]
    fn a_refresh_job_is_known_as_ours_while_the_lists_show_it_running() {
        const E: &str = "https://vmm:5986/wsman";
        let lists = VmLists::default();
        let with_job = |id: &str, job: &str, status: &str, started: Option<&str>| {
            let mut v = vm(id, "i-1");
            v.job = Some(crate::scvmm::JobInfo {
                id: job.into(),
                name: "Refresh virtual machine".into(),
                status: status.into(),
                progress: None,
                error: None,
            });
            v.refresh_job = started.map(Into::into);
            v
        };
        lists.refresh(E, "A1");
        lists.refresh(E, "a1");
        for i in 0..MAX_REFRESHES_PER_LIST + 2 {
            lists.refresh(E, &format!("b{i}"));
        }
        let first = lists.take_refreshes(E);
        assert_eq!(
            first.len(),
            MAX_REFRESHES_PER_LIST,
            "a list carries a bounded number"
        );
        assert!(
            first.contains(&"a1".to_string()),
            "one ask per VM, however often asked"
        );
        assert_eq!(
            lists.take_refreshes(E).len(),
            3,
            "the rest goes with the next list"
        );
        assert!(lists.take_refreshes(E).is_empty());

        lists.note_refresh_jobs(E, &[with_job("A1", "J1", "Running", Some("j1"))]);
        assert!(lists.is_refresh_job("a1", "J1"));
        assert!(!lists.is_refresh_job("A1", "J2"), "another job is not ours");
        // A job that was running anyway (the script did not refresh) is
        // never taken for ours, and a list of another endpoint does not
        // forget ours.
        lists.note_refresh_jobs(
            E,
            &[
                with_job("A1", "J1", "Running", None),
                with_job("B2", "J3", "Running", None),
            ],
        );
        lists.note_refresh_jobs("https://other:5986/wsman", &[]);
        assert!(lists.is_refresh_job("A1", "J1"));
        assert!(!lists.is_refresh_job("B2", "J3"));
        lists.note_refresh_jobs(E, &[with_job("A1", "J1", "Completed", None)]);
        assert!(!lists.is_refresh_job("A1", "J1"), "forgotten once finished");
    }

    #[tokio::test]
    async fn a_watched_machine_is_woken_by_name() {
        let lists = VmLists::default();
        let mut rx = lists.subscribe();
        lists.watch("I-1", "ns", "m1");
        lists.wake(&["i-1".into(), "i-9".into()]);
        assert_eq!(rx.try_recv().unwrap(), ("ns".into(), "m1".into()));
        assert!(rx.try_recv().is_err(), "unknown instances wake nobody");
        lists.forget("ns/m1");
        lists.wake(&["i-1".into()]);
        assert!(rx.try_recv().is_err(), "a forgotten machine is not woken");
    }

    proptest! {
        /// The background pause is never below the configured one, keeps
        /// listing to at most a quarter of the endpoint's time (up to the
        /// cap), and never exceeds the cap.
        #[test]
        fn the_background_interval_bounds_the_load_on_scvmm(
            base_ms in 10u64..10_000, took_ms in 0u64..60_000, failures in 0u32..20,
        ) {
            let base = Duration::from_millis(base_ms);
            let took = Duration::from_millis(took_ms);
            let i = next_interval(base, took, failures);
            prop_assert!(i >= base);
            prop_assert!(i <= MAX_BUSY_INTERVAL.max(base));
            prop_assert!(i >= took.saturating_mul(4).min(MAX_BUSY_INTERVAL));
            if failures > 0 {
                prop_assert!(i >= base.saturating_mul(2).min(MAX_BUSY_INTERVAL));
            }
        }
    }

    #[test]
    fn idle_machines_accept_lists_up_to_the_poll_interval() {
        let poll = Duration::from_secs(60);
        let busy = Duration::from_secs(2);
        assert_eq!(max_age(true, poll, busy), poll);
        assert_eq!(max_age(false, poll, busy), busy);
    }
}
