//! Model time: a millisecond timestamp, the `Clock` the model reads it from,
//! and the two clocks we ship (a manual one for reproducible tests and the
//! system clock for a running emulator).
//!
//! The model never sleeps on its own: jobs carry a due time and complete when
//! the model is next touched at or after that time (see `Vmm::settle`). That
//! keeps the model a pure data structure that a caller can drive with any
//! notion of time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in model time: milliseconds since the Unix epoch (UTC).
///
/// Milliseconds are what Windows PowerShell 5.1 puts in `/Date(ms)/`, so no
/// precision is lost on the way to JSON.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Time(pub i64);

impl Time {
    /// 2025-01-01T00:00:00Z, where manual clocks start unless told otherwise.
    pub const DEFAULT_START: Time = Time(1_735_689_600_000);

    /// This time plus `d` (saturating; model durations are far from overflow).
    pub fn plus(self, d: Duration) -> Time {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Time(self.0.saturating_add(ms))
    }

    /// The duration from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Milliseconds since the Unix epoch (the number inside `/Date(ms)/`).
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The same instant as a `jiff::Timestamp`, for formatting (`ToString('o')`).
    pub fn to_timestamp(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_millisecond(self.0).ok()
    }

    /// ISO 8601 / RFC 3339 text of this instant in UTC.
    pub fn to_rfc3339(self) -> String {
        match self.to_timestamp() {
            Some(ts) => ts.to_string(),
            None => format!("/Date({})/", self.0),
        }
    }
}

/// Where the model reads the current time, and how a caller waits for a job.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current model time.
    fn now(&self) -> Time;
    /// Returns once `now() >= t`: a manual clock jumps there, the system
    /// clock sleeps. Used by blocking (non `-RunAsynchronously`) cmdlets.
    fn wait_until(&self, t: Time);
}

/// A clock that moves only when told to; clones share the same time, so a
/// test keeps one handle and gives another to the model.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now_ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// A manual clock at `start`.
    pub fn new(start: Time) -> Self {
        Self {
            now_ms: Arc::new(AtomicI64::new(start.0)),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `t` if that is later than now (time never goes back,
    /// so job ordering stays monotonic).
    pub fn set(&self, t: Time) {
        self.now_ms.fetch_max(t.0, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(Time::DEFAULT_START)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Time {
        Time(self.now_ms.load(Ordering::SeqCst))
    }

    fn wait_until(&self, t: Time) {
        self.set(t);
    }
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Time {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Time(ms)
    }

    fn wait_until(&self, t: Time) {
        let now = self.now();
        if t > now {
            std::thread::sleep(t.since(now));
        }
    }
}
