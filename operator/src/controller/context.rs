//! What every reconcile shares: the Kubernetes client, the SCVMM client
//! cache, metrics, the event recorder and the manager's settings.

use super::connection::{ClientCache, ConnectionDefaults};
use crate::metrics::Metrics;
use kube::runtime::events::{Recorder, Reporter};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default of [`Settings::address_refresh_interval`]: a Linux guest with
/// cloud-init has usually booted and reported its addresses through the
/// Hyper-V integration services by then.
pub const DEFAULT_ADDRESS_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// Manager settings the reconcilers use.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connection defaults per SCVMM endpoint.
    pub connection: ConnectionDefaults,
    /// How often a machine is looked at while nothing happens.
    pub resync: Duration,
    /// Start a provisioned VM again that was powered off outside Cluster API.
    pub restart_powered_off: bool,
    /// How often each ScvmmCluster asks SCVMM for its server, failure
    /// domains and orphaned VMs (one WinRM call per cluster and poll).
    pub poll_interval: Duration,
    /// How long a VM must have been seen orphaned before a cluster with
    /// `orphanedVMPolicy: Delete` removes it.
    pub orphan_grace: Duration,
    /// While machines wait on SCVMM (a job, a boot, a deletion), their
    /// endpoint's VMs are listed this often by one background task, and a
    /// waiting machine accepts a list this old; idle machines accept one
    /// `poll_interval` old.
    pub busy_poll_interval: Duration,
    /// How long a running VM may go without showing its guest's addresses
    /// before VMM is asked to refresh it (`Read-SCVirtualMachine`), and
    /// between two such asks; `None` leaves it to VMM's light refresher
    /// (about every two minutes).
    pub address_refresh_interval: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            connection: ConnectionDefaults::default(),
            resync: Duration::from_secs(300),
            restart_powered_off: false,
            poll_interval: Duration::from_secs(60),
            orphan_grace: super::cluster::plan::ORPHAN_GRACE,
            busy_poll_interval: Duration::from_secs(2),
            address_refresh_interval: Some(DEFAULT_ADDRESS_REFRESH_INTERVAL),
        }
    }
}

/// Shared state of the reconcilers.
pub struct Context {
    /// Kubernetes client.
    pub client: kube::Client,
    /// SCVMM clients per endpoint.
    pub scvmm: ClientCache,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Event recorder.
    pub recorder: Recorder,
    /// Settings.
    pub settings: Settings,
    /// Consecutive failures per object, for backoff.
    pub failures: Failures,
    /// When orphaned VMs were first seen.
    pub orphans: super::cluster::orphans::OrphanClock,
    /// The last SCVMM poll of each ScvmmCluster.
    pub polls: super::cluster::poll_cache::PollCache,
    /// The last VM list of each SCVMM endpoint (batched observation).
    pub vm_lists: Arc<super::vm_lists::VmLists>,
    /// Machines, Clusters and ScvmmClusters from the machine controller's
    /// watches.
    pub caches: super::caches::Caches,
    /// The status last written to each object (read-your-writes over the
    /// watch cache).
    pub own_writes: super::own_writes::OwnWrites,
    /// When each machine waiting for its guest's addresses has VMM refresh
    /// its VM.
    pub address_refreshes: super::machine::address_refresh::AddressRefreshes,
}

/// Consecutive reconcile failures per object, with the time each one's
/// retry is due.
#[derive(Default)]
pub struct Failures(std::sync::Mutex<std::collections::HashMap<String, (u32, Instant)>>);

impl Failures {
    /// Counts one more failure; returns the backoff attempt (the count
    /// before it). A failure while the previous one's retry is still due
    /// (the object was woken early by a watch event or a VM change) does
    /// not escalate: during an API server outage a machine whose job runs
    /// is woken every few hundred milliseconds, and counting each of those
    /// pushed its retry to the 256 s cap within seconds, so it sat idle for
    /// minutes after the API server came back.
    pub fn bump(&self, key: &str) -> u32 {
        self.bump_at(key, Instant::now())
    }

    fn bump_at(&self, key: &str, now: Instant) -> u32 {
        self.0
            .lock()
            .map(|mut m| {
                let (n, due) = m.entry(key.to_string()).or_insert((0, now));
                if *n > 0 && now < *due {
                    return *n - 1;
                }
                *n += 1;
                *due = now + super::shared::backoff(*n - 1);
                *n - 1
            })
            .unwrap_or(0)
    }

    /// Forgets the failures of `key` after a success.
    pub fn reset(&self, key: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(key);
        }
    }
}

impl Context {
    /// A context with a fresh client cache.
    pub fn new(client: kube::Client, metrics: Arc<Metrics>, settings: Settings) -> Arc<Self> {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "scvmm-capi-manager".into(),
                instance: std::env::var("POD_NAME").ok(),
            },
        );
        Arc::new(Self {
            client,
            scvmm: ClientCache::default(),
            metrics,
            recorder,
            failures: Failures::default(),
            orphans: Default::default(),
            polls: Default::default(),
            vm_lists: Default::default(),
            caches: Default::default(),
            own_writes: Default::default(),
            address_refreshes: super::machine::address_refresh::AddressRefreshes::new(
                settings.address_refresh_interval,
            ),
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_failures_do_not_escalate_the_backoff() {
        let f = Failures::default();
        let t0 = Instant::now();
        assert_eq!(f.bump_at("m", t0), 0);
        // Woken ten times within the first retry's 1 s: still attempt 0.
        for i in 1..=10 {
            assert_eq!(f.bump_at("m", t0 + Duration::from_millis(90 * i)), 0);
        }
        assert_eq!(f.bump_at("m", t0 + Duration::from_secs(1)), 1);
        assert_eq!(f.bump_at("m", t0 + Duration::from_millis(2500)), 1);
        assert_eq!(f.bump_at("m", t0 + Duration::from_secs(3)), 2);
        f.reset("m");
        assert_eq!(f.bump_at("m", t0 + Duration::from_secs(4)), 0);
    }
}
