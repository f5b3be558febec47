//! Fault injection as data: rules that match an operation and an object
//! name, fire with a probability and/or a number of times, and have an
//! effect. Deterministic: seeded generators decide probabilistic rules.
//!
//! Rules come in two scopes, told apart by the operation pattern:
//!
//! - **Cmdlet rules** (`Start-SCVirtualMachine`, `*-SCVirtualMachine`, `*`)
//!   match VMM cmdlets; the model applies their effects (`Error`,
//!   `FailJob`, `Delay`, `VmVanishes`, `VmMissing`, `HostMaintenance`).
//! - **WinRM rules** (pattern starting with `WinRM:`, e.g. `WinRM:Receive`
//!   or `WinRM:*`) match the WS-Management operations `WinRM:Create`,
//!   `WinRM:Command`, `WinRM:Send`, `WinRM:Receive`, `WinRM:Signal` and
//!   `WinRM:Delete`; the WinRM endpoint applies their effects
//!   (`OperationTimeout`, `DropConnection`, `DropReply`, `Http500`,
//!   `Delay`), see `crate::winrm_faults`.
//!
//! Both scopes live in one list (one inspection API, one set of fire
//! counts) but draw from separate generators, so adding a WinRM chaos rule
//! does not change which cmdlet faults fire for a seed.

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

/// The prefix that puts a rule in the WinRM scope, and of WinRM operation
/// names (`WinRM:Receive`).
pub const WINRM_PREFIX: &str = "WinRM:";

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
    /// Cmdlets: the job takes this much longer (unscaled seconds). WinRM:
    /// the request is handled, then the reply is held this many
    /// wall-clock seconds (unscaled); held past the client's HTTP timeout,
    /// the reply is lost although the operation happened.
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
    /// WinRM: the request is not handled; after the request's
    /// OperationTimeout the reply is the `w:TimedOut` fault (HTTP 500),
    /// what Windows sends when a Receive saw no output in time. A client
    /// polls again; the command's output is not lost.
    OperationTimeout,
    /// WinRM: the request is not handled; the TCP connection is closed
    /// without a reply (a request lost on the way).
    DropConnection,
    /// WinRM: the request is handled, then the TCP connection is closed
    /// instead of the reply (a reply lost on the way: the shell exists, the
    /// command runs, the output of that Receive is gone).
    DropReply,
    /// WinRM: the request is not handled; the reply is HTTP 500 with a
    /// `s:Receiver`/`w:InternalError` SOAP fault.
    Http500,
}

impl FaultEffect {
    /// Whether the WinRM endpoint can apply this effect.
    pub fn applies_to_winrm(&self) -> bool {
        matches!(
            self,
            FaultEffect::Delay { .. }
                | FaultEffect::OperationTimeout
                | FaultEffect::DropConnection
                | FaultEffect::DropReply
                | FaultEffect::Http500
        )
    }

    /// Whether the VMM model can apply this effect to a cmdlet.
    pub fn applies_to_cmdlets(&self) -> bool {
        matches!(
            self,
            FaultEffect::Error { .. }
                | FaultEffect::FailJob { .. }
                | FaultEffect::Delay { .. }
                | FaultEffect::VmVanishes
                | FaultEffect::VmMissing
                | FaultEffect::HostMaintenance
        )
    }
}

/// One fault rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Operation pattern (PowerShell wildcard): a cmdlet name such as
    /// `Start-SCVirtualMachine` or `*-SCVirtualMachine`, or a WinRM
    /// operation such as `WinRM:Receive` or `WinRM:*`.
    pub operation: String,
    /// Object name pattern; `*` by default. Cmdlets: the VM name, ISO name,
    /// pool name, ... WinRM: the command's text (see `crate::winrm_faults`).
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

impl FaultRule {
    /// Whether the rule matches WinRM operations (its operation pattern
    /// starts with `WinRM:`, any case) rather than cmdlets.
    pub fn is_winrm(&self) -> bool {
        self.operation
            .get(..WINRM_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(WINRM_PREFIX))
    }

    /// Checks that the effect fits the rule's scope and the numbers make
    /// sense; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.probability
            && !(p.is_finite() && (0.0..=1.0).contains(&p))
        {
            return Err(format!(
                "fault rule for {}: probability must be between 0 and 1, got {p}",
                self.operation
            ));
        }
        if let FaultEffect::Delay { seconds } = self.effect
            && !(seconds.is_finite() && seconds >= 0.0)
        {
            return Err(format!(
                "fault rule for {}: Delay seconds must be a finite number >= 0, got {seconds}",
                self.operation
            ));
        }
        if self.is_winrm() && !self.effect.applies_to_winrm() {
            return Err(format!(
                "fault rule for {}: a WinRM operation takes the effects OperationTimeout, \
                 DropConnection, DropReply, Http500 or Delay, not {:?}",
                self.operation, self.effect
            ));
        }
        if !self.is_winrm() && !self.effect.applies_to_cmdlets() {
            return Err(format!(
                "fault rule for {}: {:?} applies to WinRM operations only; name one as the \
                 operation, e.g. \"WinRM:Receive\" or \"WinRM:*\"",
                self.operation, self.effect
            ));
        }
        Ok(())
    }
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

/// What the WinRM endpoint does instead of (or after) handling a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinrmFault {
    /// Answer `w:TimedOut` after the OperationTimeout, unhandled.
    OperationTimeout,
    /// Close the connection, unhandled.
    DropConnection,
    /// Handle, then close the connection instead of replying.
    DropReply,
    /// Answer HTTP 500 with an InternalError fault, unhandled.
    Http500,
}

/// The combined effect of the WinRM rules that fired for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WinrmInjected {
    /// The first fault effect among the rules that fired.
    pub fault: Option<WinrmFault>,
    /// Time to hold the reply (or the drop), summed over `Delay` rules.
    pub delay: Duration,
}

impl WinrmInjected {
    /// True when nothing fired.
    pub fn is_none(&self) -> bool {
        self.fault.is_none() && self.delay.is_zero()
    }
}

/// The active rules, how often each fired, and the generators deciding
/// probabilistic ones.
#[derive(Clone, Debug)]
pub struct Faults {
    rules: Vec<FaultRule>,
    fired: Vec<u32>,
    rng: Rng,
    winrm_rng: Rng,
}

impl Faults {
    /// Rules with a seed for their probabilities.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        let fired = vec![0; rules.len()];
        Self {
            rules,
            fired,
            rng: Rng::new(seed ^ 0xFA17_FA17_FA17_FA17),
            winrm_rng: Rng::new(seed ^ 0x3A17_3A17_3A17_3A17),
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

    /// The rules of one scope that fire for `operation` on `object`, each
    /// counted as fired; decided in list order.
    fn fire<'a>(
        rules: &'a [FaultRule],
        fired: &mut [u32],
        rng: &mut Rng,
        winrm: bool,
        operation: &str,
        object: &str,
    ) -> Vec<&'a FaultEffect> {
        let mut out = Vec::new();
        for (rule, fired) in rules.iter().zip(fired.iter_mut()) {
            if rule.is_winrm() != winrm {
                continue;
            }
            let applies = if winrm {
                rule.effect.applies_to_winrm()
            } else {
                rule.effect.applies_to_cmdlets()
            };
            if !applies || !like(operation, &rule.operation) || !like(object, &rule.object) {
                continue;
            }
            if rule.count.is_some_and(|n| *fired >= n) {
                continue;
            }
            if let Some(p) = rule.probability
                && !rng.chance(p)
            {
                continue;
            }
            *fired += 1;
            out.push(&rule.effect);
        }
        out
    }

    /// Decides which cmdlet rules fire for `operation` on `object` and
    /// combines their effects. WinRM rules never fire here.
    pub fn check(&mut self, operation: &str, object: &str) -> Injected {
        let mut out = Injected::default();
        let effects = Self::fire(
            &self.rules,
            &mut self.fired,
            &mut self.rng,
            false,
            operation,
            object,
        );
        for effect in effects {
            match effect {
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
                FaultEffect::OperationTimeout
                | FaultEffect::DropConnection
                | FaultEffect::DropReply
                | FaultEffect::Http500 => {}
            }
        }
        out
    }

    /// Decides which WinRM rules fire for `operation` (`WinRM:Receive`, ...)
    /// on `object` (the command's text) and combines their effects: the
    /// first fault effect wins, delays add up. Cmdlet rules never fire here.
    pub fn check_winrm(&mut self, operation: &str, object: &str) -> WinrmInjected {
        let mut out = WinrmInjected::default();
        let effects = Self::fire(
            &self.rules,
            &mut self.fired,
            &mut self.winrm_rng,
            true,
            operation,
            object,
        );
        for effect in effects {
            let fault = match effect {
                FaultEffect::Delay { seconds } => {
                    out.delay += secs(*seconds);
                    continue;
                }
                FaultEffect::OperationTimeout => WinrmFault::OperationTimeout,
                FaultEffect::DropConnection => WinrmFault::DropConnection,
                FaultEffect::DropReply => WinrmFault::DropReply,
                FaultEffect::Http500 => WinrmFault::Http500,
                FaultEffect::Error { .. }
                | FaultEffect::FailJob { .. }
                | FaultEffect::VmVanishes
                | FaultEffect::VmMissing
                | FaultEffect::HostMaintenance => continue,
            };
            out.fault.get_or_insert(fault);
        }
        out
    }
}
