//! Counters the operator exports as metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Client-side counters, shared by every connection of a pool.
#[derive(Debug, Default)]
pub struct ClientStats {
    round_trips: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    round_trip_micros: AtomicU64,
    receive_timeouts: AtomicU64,
    faults: Mutex<BTreeMap<String, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP round trips (one per SOAP request).
    pub round_trips: u64,
    /// Request bytes sent.
    pub bytes_sent: u64,
    /// Response bytes received.
    pub bytes_received: u64,
    /// Total time spent in round trips.
    pub round_trip_time: Duration,
    /// Receives answered with the OperationTimeout fault (normal long-poll expiry).
    pub receive_timeouts: u64,
    /// Other faults, by fault kind.
    pub faults: BTreeMap<String, u64>,
}

impl ClientStats {
    pub(crate) fn round_trip(&self, sent: usize, received: usize, took: Duration) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(sent as u64, Ordering::Relaxed);
        self.bytes_received
            .fetch_add(received as u64, Ordering::Relaxed);
        self.round_trip_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn receive_timeout(&self) {
        self.receive_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn fault(&self, kind: String) {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        *faults.entry(kind).or_default() += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
            round_trip_time: Duration::from_micros(self.round_trip_micros.load(Ordering::Relaxed)),
            receive_timeouts: self.receive_timeouts.load(Ordering::Relaxed),
            faults: self
                .faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }
}
