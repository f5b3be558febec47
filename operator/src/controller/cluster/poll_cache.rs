//! The last SCVMM poll of each ScvmmCluster. A cluster is reconciled on
//! every change of its machines, its claim or its Cluster; SCVMM is asked at
//! most once per poll interval (sooner when the spec or the credentials
//! changed, or after the controller changed something in SCVMM), so the
//! load on SCVMM does not grow with the number of machines or events.

use super::plan::Scvmm;
use crate::scvmm::ClusterInfo;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One poll's outcome.
#[derive(Clone)]
pub struct Poll {
    /// What the planner is told.
    pub scvmm: Scvmm,
    /// The answer, when SCVMM gave one.
    pub info: Option<ClusterInfo>,
}

struct Entry {
    at: Instant,
    generation: Option<i64>,
    fingerprint: String,
    poll: Poll,
}

/// Polls by ScvmmCluster (`namespace/name`).
#[derive(Default)]
pub struct PollCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PollCache {
    /// The cached poll, if it is younger than `max_age` and was made for
    /// the same generation and connection settings.
    pub fn get(
        &self,
        key: &str,
        generation: Option<i64>,
        fingerprint: &str,
        max_age: Duration,
        now: Instant,
    ) -> Option<Poll> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(key)?;
        (e.generation == generation
            && e.fingerprint == fingerprint
            && now.saturating_duration_since(e.at) < max_age)
            .then(|| e.poll.clone())
    }

    /// Records a poll.
    pub fn put(
        &self,
        key: &str,
        generation: Option<i64>,
        fingerprint: &str,
        poll: Poll,
        now: Instant,
    ) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                key.to_string(),
                Entry {
                    at: now,
                    generation,
                    fingerprint: fingerprint.to_string(),
                    poll,
                },
            );
        }
    }

    /// Forgets a cluster's poll (after a change in SCVMM, or deletion).
    pub fn invalidate(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_is_reused_only_while_young_and_for_the_same_inputs() {
        let cache = PollCache::default();
        let t0 = Instant::now();
        let poll = Poll {
            scvmm: Scvmm::Unreachable("down".into()),
            info: None,
        };
        cache.put("ns/c", Some(1), "fp", poll, t0);
        let age = Duration::from_secs(60);
        assert!(
            cache
                .get("ns/c", Some(1), "fp", age, t0 + Duration::from_secs(59))
                .is_some()
        );
        assert!(
            cache.get("ns/c", Some(1), "fp", age, t0 + age).is_none(),
            "too old"
        );
        assert!(
            cache.get("ns/c", Some(2), "fp", age, t0).is_none(),
            "spec changed"
        );
        assert!(
            cache.get("ns/c", Some(1), "other", age, t0).is_none(),
            "credentials changed"
        );
        cache.invalidate("ns/c");
        assert!(cache.get("ns/c", Some(1), "fp", age, t0).is_none());
    }
}
