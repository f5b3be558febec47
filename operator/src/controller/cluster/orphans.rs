//! When each orphaned VM was first seen, per cluster. Kept in memory only:
//! after a restart the grace period starts again, which errs on the side of
//! keeping a VM.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// First-seen times of orphaned VMs, per cluster marker, and when an
/// attempt to remove one last failed.
#[derive(Default)]
pub struct OrphanClock {
    seen: Mutex<HashMap<String, HashMap<String, Instant>>>,
    failed: Mutex<HashMap<String, Instant>>,
}

/// How long an orphan whose removal failed is left alone before the next
/// attempt (the other orphans are handled meanwhile).
pub const RETRY_AFTER_FAILURE: std::time::Duration = std::time::Duration::from_secs(600);

impl OrphanClock {
    /// Records that `ids` are orphaned in `cluster` now; returns when each
    /// was first seen. VMs of the cluster not in `ids` are forgotten, so a
    /// VM that was adopted again and later orphaned starts a new grace.
    pub fn observe(&self, cluster: &str, ids: &[String], now: Instant) -> Vec<Instant> {
        let Ok(mut seen) = self.seen.lock() else {
            // A poisoned clock never lets a grace period run out.
            return vec![now; ids.len()];
        };
        let entry = seen.entry(cluster.to_string()).or_default();
        entry.retain(|id, _| ids.contains(id));
        ids.iter()
            .map(|id| *entry.entry(id.clone()).or_insert(now))
            .collect()
    }

    /// Records that stopping or removing VM `id` failed at `now`.
    pub fn failed(&self, id: &str, now: Instant) {
        if let Ok(mut f) = self.failed.lock() {
            f.insert(id.to_string(), now);
        }
    }

    /// Whether VM `id` is to be left alone for now after a failure.
    pub fn blocked(&self, id: &str, now: Instant) -> bool {
        self.failed.lock().is_ok_and(|f| {
            f.get(id)
                .is_some_and(|at| now.saturating_duration_since(*at) < RETRY_AFTER_FAILURE)
        })
    }

    /// Forgets a cluster (it was deleted).
    pub fn forget(&self, cluster: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(cluster);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn first_seen_is_kept_until_the_vm_stops_being_orphaned() {
        let clock = OrphanClock::default();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(60);
        let a = "a".to_string();
        let b = "b".to_string();
        assert_eq!(
            clock.observe("ns/c", std::slice::from_ref(&a), t0),
            vec![t0]
        );
        assert_eq!(
            clock.observe("ns/c", &[a.clone(), b.clone()], t1),
            vec![t0, t1]
        );
        // a was adopted again: forgotten, and a new grace starts next time.
        assert_eq!(
            clock.observe("ns/c", std::slice::from_ref(&b), t1),
            vec![t1]
        );
        let t2 = t1 + Duration::from_secs(5);
        assert_eq!(
            clock.observe("ns/c", std::slice::from_ref(&a), t2),
            vec![t2]
        );
        // Clusters do not share clocks.
        assert_eq!(clock.observe("ns/other", &[a], t2), vec![t2]);
    }
}
