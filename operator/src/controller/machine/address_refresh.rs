//! When to ask VMM to refresh a running VM whose guest has not shown its IP
//! addresses yet (`Read-SCVirtualMachine`).
//!
//! VMM learns the guest's addresses from Hyper-V (KVP) only when it
//! refreshes the VM: its light refresher does that about every two minutes,
//! a `Read-SCVirtualMachine` job at once. Without asking, a machine waits up
//! to two minutes after its guest reported. Asking right after the start is
//! useless (the guest is still booting), so the first refresh is asked one
//! interval after the VM was first seen running without addresses, then
//! every interval while they are still missing.
//!
//! The refresh itself rides on the endpoint's next VM list
//! ([`crate::controller::vm_lists::VmLists::refresh`]), which the waiting
//! machine is woken by anyway. Kept in memory only: after a restart the
//! interval starts again, which costs at most one interval of waiting and
//! never a refresh too many.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per machine (instance UUID): when it was first seen waiting for its
/// addresses, or asked for a refresh last.
#[derive(Default)]
pub struct AddressRefreshes {
    interval: Option<Duration>,
    waits: Mutex<HashMap<String, Instant>>,
}

impl AddressRefreshes {
    /// A clock asking every `interval`; `None` never asks (the light
    /// refresher alone shows the addresses).
    pub fn new(interval: Option<Duration>) -> Self {
        Self {
            interval: interval.filter(|d| !d.is_zero()),
            waits: Mutex::default(),
        }
    }

    /// How long until a refresh of `instance` is due (zero: now), when the
    /// machine `waiting` for its addresses; `None` when it does not wait or
    /// refreshes are off. A machine that stops waiting is forgotten.
    pub fn due_in(&self, instance: &str, waiting: bool, now: Instant) -> Option<Duration> {
        let Ok(mut waits) = self.waits.lock() else {
            return None;
        };
        if !waiting {
            waits.remove(instance);
            return None;
        }
        let interval = self.interval?;
        let since = *waits.entry(instance.to_string()).or_insert(now);
        Some(interval.saturating_sub(now.saturating_duration_since(since)))
    }

    /// Records that a refresh of `instance` was asked at `now` (whether or
    /// not VMM takes it: a refused one is asked again one interval later).
    pub fn asked(&self, instance: &str, now: Instant) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.insert(instance.to_string(), now);
        }
    }

    /// Forgets `instance` (its machine is gone).
    pub fn forget(&self, instance: &str) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.remove(instance);
        }
    }

    /// Machines tracked (for tests and metrics).
    pub fn len(&self) -> usize {
        self.waits.lock().map(|w| w.len()).unwrap_or(0)
    }

    /// Whether no machine is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: &str = "7d3c0a4e-6b1f-4c55-9a56-0f1e2d3c4b5a";

    #[test]
    fn the_first_refresh_is_one_interval_after_the_wait_began_then_every_interval() {
        let r = AddressRefreshes::new(Some(Duration::from_secs(30)));
        let t0 = Instant::now();
        assert_eq!(r.due_in(I, true, t0), Some(Duration::from_secs(30)));
        assert_eq!(
            r.due_in(I, true, t0 + Duration::from_secs(10)),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            r.due_in(I, true, t0 + Duration::from_secs(31)),
            Some(Duration::ZERO)
        );
        r.asked(I, t0 + Duration::from_secs(31));
        assert_eq!(
            r.due_in(I, true, t0 + Duration::from_secs(32)),
            Some(Duration::from_secs(29))
        );
    }

    #[test]
    fn a_machine_that_stops_waiting_is_forgotten_and_starts_afresh() {
        let r = AddressRefreshes::new(Some(Duration::from_secs(30)));
        let t0 = Instant::now();
        r.due_in(I, true, t0);
        assert_eq!(r.due_in(I, false, t0 + Duration::from_secs(40)), None);
        assert!(r.is_empty());
        // Waiting again (the guest lost its address before provisioning):
        // a full interval again, not an immediate refresh.
        assert_eq!(
            r.due_in(I, true, t0 + Duration::from_secs(50)),
            Some(Duration::from_secs(30))
        );
        r.forget(I);
        assert!(r.is_empty());
    }

    #[test]
    fn refreshes_off_never_ask_and_keep_nothing() {
        for r in [
            AddressRefreshes::new(None),
            AddressRefreshes::new(Some(Duration::ZERO)),
        ] {
            assert_eq!(r.due_in(I, true, Instant::now()), None);
            assert!(r.is_empty());
        }
    }
}
