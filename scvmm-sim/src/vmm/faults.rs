//! Fault injection as data: rules that match an operation (cmdlet name) and
//! an object name, fire with a probability and/or a number of times, and
//! have an effect the model applies. Deterministic: a seeded generator
//! decides probabilistic rules.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::secs;
use super::errors::VmmError;
use super::objects::JobFault;
use super::rng::Rng;
use super::wildcard::like;

fn star() -> String {
    "*".to_string()
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FaultEffect {
    /// The cmdlet fails at once with this VMM error id (no job).
    Error {
        /// VMM error id.
        id: u32,
    },
    /// The job is created and fails when it completes, with this error id.
    FailJob {
        /// VMM error id.
        id: u32,
    },
    /// The job takes this much longer (unscaled seconds).
    Delay {
        /// Extra seconds.
        seconds: f64,
    },
    /// The VM disappears from VMM when the job completes (as if deleted on
    /// the host out of band); the job fails with 801.
    VmVanishes,
    /// The VM's status becomes `Missing` when the job completes.
    VmMissing,
    /// The host of the VM (or the host chosen for it) enters maintenance
    /// mode when the operation is submitted.
    HostMaintenance,
}

/// One fault rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Cmdlet name pattern (PowerShell wildcard), e.g. `Start-SCVirtualMachine`
    /// or `*-SCVirtualMachine`.
    pub operation: String,
    /// Object name pattern (VM name, ISO name, pool name, ...); `*` by default.
    #[serde(default = "star")]
    pub object: String,
    /// Chance to fire on each match (default: always).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire at most this many times (default: unlimited).
    #[serde(default)]
    pub count: Option<u32>,
    /// The effect.
    pub effect: FaultEffect,
}

/// The combined effect of the rules that fired for one operation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Injected {
    /// Fail the cmdlet now.
    pub error: Option<VmmError>,
    /// Faults for the job.
    pub job: JobFault,
    /// Extra job duration (unscaled).
    pub delay: Duration,
    /// Put the host into maintenance mode.
    pub host_maintenance: bool,
}

/// The active rules, how often each fired, and the generator deciding
/// probabilistic ones.
#[derive(Clone, Debug)]
pub struct Faults {
    rules: Vec<FaultRule>,
    fired: Vec<u32>,
    rng: Rng,
}

impl Faults {
    /// Rules with a seed for their probabilities.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        let fired = vec![0; rules.len()];
        Self {
            rules,
            fired,
            rng: Rng::new(seed ^ 0xFA17_FA17_FA17_FA17),
        }
    }

    /// Adds a rule.
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
        self.fired.push(0);
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
        self.fired.clear();
    }

    /// The rules and how many times each fired.
    pub fn rules(&self) -> impl Iterator<Item = (&FaultRule, u32)> {
        self.rules.iter().zip(self.fired.iter().copied())
    }

    /// Decides which rules fire for `operation` on `object` and combines
    /// their effects.
    pub fn check(&mut self, operation: &str, object: &str) -> Injected {
        let mut out = Injected::default();
        for (rule, fired) in self.rules.iter().zip(self.fired.iter_mut()) {
            if !like(operation, &rule.operation) || !like(object, &rule.object) {
                continue;
            }
            if rule.count.is_some_and(|n| *fired >= n) {
                continue;
            }
            if let Some(p) = rule.probability
                && !self.rng.chance(p)
            {
                continue;
            }
            *fired += 1;
            match &rule.effect {
                FaultEffect::Error { id } => {
                    out.error.get_or_insert_with(|| VmmError::from_id(*id));
                }
                FaultEffect::FailJob { id } => {
                    out.job.fail.get_or_insert_with(|| VmmError::from_id(*id));
                }
                FaultEffect::Delay { seconds } => out.delay += secs(*seconds),
                FaultEffect::VmVanishes => out.job.vanish = true,
                FaultEffect::VmMissing => out.job.missing = true,
                FaultEffect::HostMaintenance => out.host_maintenance = true,
            }
        }
        out
    }
}
