//! Read-your-writes over the watch cache, for what we write to objects
//! another reconcile reads back from the cache: statuses, and the placement
//! labels on Machines. A reconcile reads its object from the watch cache,
//! which can lag behind our own last write: a reconcile woken by some other
//! change (our block-move annotation, a VM change) then saw the old status.
//! It planned on stale facts and wrote a status built on them: fields such
//! as `shutdownStartedAt` or the seed's state went back and forth, and the
//! same status or labels were sent again (the server runs the whole patch
//! even when nothing changes, and at 100 machines the API server's CPU is
//! what bounds provisioning).
//!
//! So the last value written to each object is kept, with the
//! resourceVersion the write produced, until the watch cache shows an
//! object at least that new; a reconcile holding an older object uses the
//! kept value instead of the object's.

use std::collections::HashMap;
use std::sync::Mutex;

/// The last value (a status, a set of labels) this process wrote to each
/// object, as JSON, with the resourceVersion of the write; only while the
/// cache is behind it. Keys name the object and what was written.
#[derive(Default)]
pub struct OwnWrites(Mutex<HashMap<String, (u64, serde_json::Value)>>);

impl OwnWrites {
    /// The value we last wrote to `key`, when the object in hand
    /// (resourceVersion `seen`) predates that write. resourceVersions are
    /// compared as numbers (etcd revisions); one that is not a number never
    /// counts as older. Once the cache has caught up the entry is dropped,
    /// so the memory held is only that of writes not yet seen.
    pub fn newer<S: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        seen: Option<&str>,
    ) -> Option<S> {
        let seen = seen.and_then(|v| v.parse::<u64>().ok())?;
        let mut map = self.0.lock().ok()?;
        let (written, json) = map.get(key)?;
        if seen >= *written {
            map.remove(key);
            return None;
        }
        S::deserialize(json).ok()
    }

    /// Remembers that `value` (already serialized for the write) was
    /// written to `key`, producing resourceVersion `rv`.
    pub fn record(&self, key: &str, rv: Option<&str>, value: serde_json::Value) {
        let Ok(mut map) = self.0.lock() else {
            return;
        };
        match rv.and_then(|v| v.parse::<u64>().ok()) {
            Some(rv) => {
                map.insert(key.to_string(), (rv, value));
            }
            None => {
                map.remove(key);
            }
        }
    }

    /// Forgets `key` (the object is gone, or what the server holds is
    /// unknown after a failed write).
    pub fn forget(&self, key: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(key);
        }
    }

    /// Objects whose last write the cache has not shown yet.
    pub fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether the cache has shown every write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn an_object_older_than_our_write_gets_the_written_status() {
        let w = OwnWrites::default();
        let s = json!({"shutdownStartedAt": "2026-12-07T14:28:13Z"});
        w.record("ns/m", Some("120"), s.clone());
        assert_eq!(w.newer::<Value>("ns/m", Some("118")), Some(s.clone()));
        assert_eq!(w.newer::<Value>("ns/m", Some("119")), Some(s));
    }

    #[test]
    fn a_caught_up_object_is_used_as_it_is_and_the_entry_dropped() {
        let w = OwnWrites::default();
        w.record("ns/m", Some("120"), json!({"a": 1}));
        assert_eq!(w.newer::<Value>("ns/m", Some("120")), None);
        assert!(w.is_empty());
        w.record("ns/m", Some("120"), json!({"a": 1}));
        assert_eq!(w.newer::<Value>("ns/m", Some("125")), None);
        assert!(w.is_empty());
        assert_eq!(w.newer::<Value>("ns/other", Some("1")), None);
    }

    #[test]
    fn resource_versions_that_are_not_numbers_are_never_older() {
        let w = OwnWrites::default();
        w.record("ns/m", Some("120"), json!({"a": 1}));
        assert_eq!(w.newer::<Value>("ns/m", Some("abc")), None);
        assert_eq!(w.newer::<Value>("ns/m", None), None);
        w.record("ns/m", Some("xyz"), json!({"a": 1}));
        assert!(w.is_empty());
    }

    #[test]
    fn forgetting_drops_the_entry() {
        let w = OwnWrites::default();
        w.record("ns/m", Some("1"), json!({}));
        assert_eq!(w.len(), 1);
        w.forget("ns/m");
        assert!(w.is_empty());
    }
}
