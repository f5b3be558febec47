//! Conditions as the planner states them, and their merge into the
//! `metav1.Condition` list kept in status (the last transition time moves
//! only when the status does).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types.
pub mod types {
    /// Summary: the machine is provisioned and nothing is wrong.
    pub const READY: &str = "Ready";
    /// The VM exists, runs and reported its addresses.
    pub const VM_PROVISIONED: &str = "VMProvisioned";
    /// SCVMM answered with the configured endpoint and credentials.
    pub const SCVMM_AVAILABLE: &str = "ScvmmAvailable";
    /// Reconciliation is paused (Cluster or object).
    pub const PAUSED: &str = "Paused";
    /// Every failure domain maps to a cloud or host group SCVMM has.
    pub const FAILURE_DOMAINS_READY: &str = "FailureDomainsReady";
    /// The cluster's API endpoint is known.
    pub const CONTROL_PLANE_ENDPOINT_READY: &str = "ControlPlaneEndpointReady";
}

/// Condition reasons; each is documented in docs/troubleshooting.md.
pub mod reasons {
    /// Everything is as it should be.
    pub const READY: &str = "Ready";
    /// Not paused.
    pub const NOT_PAUSED: &str = "NotPaused";
    /// Paused by the Cluster or the object.
    pub const PAUSED: &str = "Paused";
    /// No Machine owns this ScvmmMachine yet.
    pub const WAITING_FOR_OWNER: &str = "WaitingForMachineOwner";
    /// The Cluster's infrastructure is not provisioned yet.
    pub const WAITING_FOR_CLUSTER_INFRASTRUCTURE: &str = "WaitingForClusterInfrastructure";
    /// The Machine has no bootstrap data Secret yet.
    pub const WAITING_FOR_BOOTSTRAP_DATA: &str = "WaitingForBootstrapData";
    /// The bootstrap data cannot be used (missing key, unsupported format).
    pub const BOOTSTRAP_DATA_INVALID: &str = "BootstrapDataInvalid";
    /// Addresses from IPAM or an SCVMM pool are not allocated yet.
    pub const WAITING_FOR_IP_ADDRESSES: &str = "WaitingForIPAddresses";
    /// The spec or the cluster configuration cannot be acted on.
    pub const INVALID_CONFIGURATION: &str = "InvalidConfiguration";
    /// The VM is being created.
    pub const CREATING: &str = "Creating";
    /// The create job failed.
    pub const CREATION_FAILED: &str = "CreationFailed";
    /// Creation failed too often; the controller stopped retrying.
    pub const CREATION_RETRIES_EXHAUSTED: &str = "CreationRetriesExhausted";
    /// A change job failed and is being repaired.
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    /// The VM is being started.
    pub const POWERING_ON: &str = "PoweringOn";
    /// Waiting for the guest to report its addresses.
    pub const WAITING_FOR_GUEST_ADDRESSES: &str = "WaitingForGuestAddresses";
    /// The VM runs and reported its addresses.
    pub const PROVISIONED: &str = "Provisioned";
    /// The VM was powered off (or paused/saved) outside the controller.
    pub const VM_POWERED_OFF: &str = "VMPoweredOff";
    /// The VM disappeared from SCVMM after it was created.
    pub const VM_NOT_FOUND: &str = "VMNotFound";
    /// SCVMM cannot reach the VM or its host.
    pub const VM_UNREACHABLE: &str = "VMUnreachable";
    /// A VMM job is working on the VM.
    pub const VM_BUSY: &str = "VMBusy";
    /// The machine is being deleted.
    pub const DELETING: &str = "Deleting";
    /// SCVMM did not answer.
    pub const SCVMM_UNREACHABLE: &str = "ScvmmUnreachable";
    /// SCVMM refused the credentials.
    pub const SCVMM_UNAUTHORIZED: &str = "ScvmmUnauthorized";
    /// SCVMM answered.
    pub const SCVMM_AVAILABLE: &str = "ScvmmAvailable";
    /// CAPI has not yet made a Cluster the owner of the ScvmmCluster.
    pub const WAITING_FOR_CLUSTER_OWNER: &str = "WaitingForClusterOwner";
    /// A failure domain names a cloud or host group SCVMM does not have, or
    /// one without a usable host.
    pub const FAILURE_DOMAIN_INVALID: &str = "FailureDomainInvalid";
    /// The cluster defines no failure domains (machines go where their own
    /// spec says).
    pub const NO_FAILURE_DOMAINS: &str = "NoFailureDomains";
    /// Waiting for SCVMM to be asked (first reconcile, or SCVMM down).
    pub const WAITING_FOR_SCVMM: &str = "WaitingForScvmm";
    /// The VIP was claimed from the IPAM pool; waiting for an address.
    pub const WAITING_FOR_IP_ADDRESS: &str = "WaitingForIPAddress";
    /// No endpoint is set and no pool is named: the control-plane provider
    /// is expected to supply it.
    pub const EXTERNALLY_PROVIDED: &str = "ExternallyProvided";
    /// ScvmmMachines of the cluster still exist; deletion waits for them.
    pub const WAITING_FOR_MACHINES: &str = "WaitingForMachinesDeletion";
}

/// A condition as the planner wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// Condition type.
    pub type_: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: CondStatus,
    /// One of [`reasons`].
    pub reason: &'static str,
    /// Human-readable detail: what is happening and what to do.
    pub message: String,
}

/// Condition status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondStatus {
    /// True.
    True,
    /// False.
    False,
    /// Unknown.
    Unknown,
}

impl CondStatus {
    fn as_str(self) -> &'static str {
        match self {
            CondStatus::True => "True",
            CondStatus::False => "False",
            CondStatus::Unknown => "Unknown",
        }
    }
}

impl Cond {
    /// A True condition.
    pub fn yes(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: CondStatus::True,
            reason,
            message: message.into(),
        }
    }

    /// A False condition.
    pub fn no(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: CondStatus::False,
            reason,
            message: message.into(),
        }
    }

    /// An Unknown condition.
    pub fn unknown(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: CondStatus::Unknown,
            reason,
            message: message.into(),
        }
    }
}

/// Merges `wanted` into `current`: conditions of other types stay, a
/// condition whose status is unchanged keeps its last transition time.
pub fn merge(
    current: &[Condition],
    wanted: &[Cond],
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    let mut out: Vec<Condition> = current
        .iter()
        .filter(|c| !wanted.iter().any(|w| w.type_ == c.type_))
        .cloned()
        .collect();
    for w in wanted {
        let previous = current.iter().find(|c| c.type_ == w.type_);
        let transition = match previous {
            Some(p) if p.status == w.status.as_str() => p.last_transition_time.clone(),
            _ => now.clone(),
        };
        out.push(Condition {
            type_: w.type_.to_string(),
            status: w.status.as_str().to_string(),
            reason: w.reason.to_string(),
            // The API server caps messages at 32 KiB; VMM errors stay far below.
            message: truncate(&w.message, 8 * 1024),
            last_transition_time: transition,
            observed_generation: generation,
        });
    }
    out.sort_by(|a, b| a.type_.cmp(&b.type_));
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Finds a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn t(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let first = merge(
            &[],
            &[Cond::no(types::READY, reasons::CREATING, "a")],
            Some(1),
            &t(10),
        );
        let same = merge(
            &first,
            &[Cond::no(types::READY, reasons::POWERING_ON, "b")],
            Some(1),
            &t(20),
        );
        assert_eq!(same[0].last_transition_time, t(10));
        assert_eq!(same[0].reason, reasons::POWERING_ON);
        let flipped = merge(
            &same,
            &[Cond::yes(types::READY, reasons::READY, "")],
            Some(2),
            &t(30),
        );
        assert_eq!(flipped[0].last_transition_time, t(30));
        assert_eq!(flipped[0].observed_generation, Some(2));
    }

    #[test]
    fn other_conditions_are_kept() {
        let first = merge(
            &[],
            &[Cond::no(types::PAUSED, reasons::NOT_PAUSED, "")],
            None,
            &t(1),
        );
        let both = merge(
            &first,
            &[Cond::no(types::READY, reasons::CREATING, "")],
            None,
            &t(2),
        );
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(10_000);
        let c = merge(
            &[],
            &[Cond::no(types::READY, reasons::CREATING, long)],
            None,
            &t(1),
        );
        assert!(c[0].message.len() <= 8 * 1024 + 3);
    }
}
