//! The ScvmmCluster planner: a pure function from what was observed (the
//! ScvmmCluster, its Cluster, its ScvmmMachines, the VIP claim, and what
//! SCVMM said) to the one next action, the conditions, the failure domains
//! to publish and whether the infrastructure is provisioned.
//!
//! Rules (documented in docs/troubleshooting.md and docs/operations.md):
//! - externally managed ScvmmClusters are never looked at (decided before
//!   this planner runs);
//! - while paused nothing is written to SCVMM and no spec is changed;
//! - `status.initialization.provisioned` becomes true once SCVMM answered,
//!   every failure domain maps to something SCVMM has, and the endpoint is
//!   known; it never goes back;
//! - deletion waits until every ScvmmMachine of the cluster is gone (it
//!   deletes those no Machine owns, which nobody else would), then releases
//!   the VIP claim, then drops the finalizer. It never waits on SCVMM
//!   itself, so an unreachable SCVMM cannot hold a cluster forever: the
//!   machines' own escape hatch applies;
//! - orphaned VMs (our cluster marker, no ScvmmMachine) are reported; with
//!   the `Delete` policy they are powered off and removed after
//!   a grace period ([`ORPHAN_GRACE`] by default).

use crate::api::cluster::OrphanedVmPolicy;
use crate::api::common::FailureDomain;
use crate::controller::conditions::{Cond, reasons, types};
use std::collections::BTreeMap;
use std::time::Duration;

/// Default time a VM must have been seen orphaned before the `Delete`
/// policy removes it (a ScvmmMachine being restored by `clusterctl move` or
/// a backup gets this long to reappear).
pub const ORPHAN_GRACE: Duration = Duration::from_secs(300);
/// Port of the API endpoint when only the host comes from a pool.
pub const DEFAULT_API_PORT: i32 = 6443;

/// One failure domain as the spec defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    /// Name.
    pub name: String,
    /// May hold control-plane machines.
    pub control_plane: Option<bool>,
    /// VMM cloud.
    pub cloud: Option<String>,
    /// VMM host group.
    pub host_group: Option<String>,
}

/// What SCVMM said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scvmm {
    /// Not asked (paused, no finalizer yet, being deleted).
    NotAsked,
    /// The connection settings are unusable (missing Secret, bad endpoint).
    Misconfigured(String),
    /// SCVMM did not answer.
    Unreachable(String),
    /// SCVMM refused the credentials.
    Unauthorized(String),
    /// SCVMM answered.
    Available {
        /// Server name.
        server: String,
        /// Product version.
        version: String,
        /// Problem per failure-domain name (absent: the domain is usable).
        problems: BTreeMap<String, String>,
    },
}

/// Where the control-plane endpoint comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `spec.controlPlaneEndpoint.host` is set.
    Given {
        /// Host.
        host: String,
        /// Port (default 6443).
        port: i32,
    },
    /// Neither a host nor a pool: the control-plane provider supplies it.
    External,
    /// From `spec.controlPlaneEndpointPool`, not recorded in spec yet.
    Pool {
        /// The claim.
        state: PoolState,
        /// The port to record with the VIP.
        port: i32,
    },
}

/// The VIP claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolState {
    /// No IPAddressClaim exists yet.
    NotClaimed,
    /// Claimed, no address yet; the message says what the claim reports.
    Waiting(String),
    /// The IPAM provider allocated this address.
    Bound(String),
    /// The pool reference or the allocated object cannot be used.
    Invalid(String),
}

/// A VM with our cluster marker and no ScvmmMachine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// VMM ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Instance UUID from the VM's machine marker.
    pub instance_id: Option<String>,
    /// VMM status by name.
    pub status: String,
    /// How long it has been seen orphaned (by this manager process).
    pub orphaned_for: Duration,
    /// Stopping or removing it failed recently: leave it alone for now.
    pub blocked: bool,
}

/// Everything the planner looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The ScvmmCluster carries its ID annotation.
    pub has_cluster_id: bool,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// Our finalizer is on the object.
    pub has_finalizer: bool,
    /// A Cluster owns the object (CAPI sets this).
    pub has_owner: bool,
    /// The Cluster or the object is paused.
    pub paused: bool,
    /// `status.initialization.provisioned` is already true.
    pub provisioned: bool,
    /// The failure domains in spec.
    pub domains: Vec<DomainSpec>,
    /// What SCVMM said.
    pub scvmm: Scvmm,
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The VIP claim exists (deleted before the finalizer goes).
    pub vip_claim_exists: bool,
    /// Names of the cluster's ScvmmMachines that still exist.
    pub machines: Vec<String>,
    /// Of those, the ones no Machine owns and that are not being deleted.
    pub unowned_machines: Vec<String>,
    /// VMs with our cluster marker and no ScvmmMachine.
    pub orphans: Vec<Orphan>,
    /// What to do with them.
    pub orphan_policy: OrphanedVmPolicy,
    /// How long an orphan must have been seen before it is deleted.
    pub orphan_grace: Duration,
}

/// The one thing to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing: wait for an event or the next poll.
    Wait,
    /// Add our finalizer.
    AddFinalizer,
    /// Choose the cluster's ID (the annotation its VMs' marker carries).
    ChooseClusterId,
    /// Create the IPAddressClaim for the VIP.
    ClaimVip,
    /// Write the claimed VIP into `spec.controlPlaneEndpoint`.
    RecordEndpoint {
        /// Host (the VIP).
        host: String,
        /// Port.
        port: i32,
    },
    /// Power an orphaned VM off (the `Delete` policy), by VMM ID.
    StopOrphan(String),
    /// Remove an orphaned VM that is off (the `Delete` policy), by VMM ID.
    RemoveOrphan(String),
    /// Delete ScvmmMachines no Machine owns (cluster deletion).
    DeleteMachines(Vec<String>),
    /// Delete the VIP claim (cluster deletion).
    ReleaseVip,
    /// Drop the finalizer: the cluster's infrastructure is gone.
    RemoveFinalizer,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What to do.
    pub action: Action,
    /// Conditions to publish (types not listed are left as they are).
    pub conditions: Vec<Cond>,
    /// `status.initialization.provisioned` to publish.
    pub provisioned: bool,
    /// `status.failureDomains` to publish; `None` keeps what is there.
    pub failure_domains: Option<Vec<FailureDomain>>,
    /// Look again after this long (`None`: the poll interval).
    pub requeue: Option<Duration>,
}

const SOON: Duration = Duration::from_secs(2);
const SHORTLY: Duration = Duration::from_secs(10);

/// Decides the next step.
pub fn plan(o: &Observed) -> Plan {
    let mut p = if o.paused {
        // No SCVMM call, no spec change, no finalizer change while paused;
        // status only says so.
        Plan {
            action: Action::Wait,
            conditions: vec![],
            provisioned: o.provisioned,
            failure_domains: None,
            requeue: None,
        }
    } else if o.deleting {
        plan_delete(o)
    } else {
        plan_normal(o)
    };
    p.conditions.push(if o.paused {
        Cond::yes(
            types::PAUSED,
            reasons::PAUSED,
            "the Cluster has spec.paused or the cluster.x-k8s.io/paused annotation is set (on the Cluster or the ScvmmCluster)",
        )
    } else {
        Cond::no(types::PAUSED, reasons::NOT_PAUSED, "")
    });
    p
}

fn plan_delete(o: &Observed) -> Plan {
    let mut p = Plan {
        action: Action::Wait,
        conditions: vec![],
        provisioned: o.provisioned,
        failure_domains: None,
        requeue: None,
    };
    if !o.has_finalizer {
        return p;
    }
    if !o.unowned_machines.is_empty() {
        p.action = Action::DeleteMachines(o.unowned_machines.clone());
        p.requeue = Some(SOON);
    } else if !o.machines.is_empty() {
        // Woken by the ScvmmMachine watch; the requeue is a safety net.
        p.requeue = Some(SHORTLY);
    } else if o.vip_claim_exists {
        p.action = Action::ReleaseVip;
        p.requeue = Some(SOON);
    } else {
        p.action = Action::RemoveFinalizer;
    }
    let message = if o.machines.is_empty() {
        "the cluster's infrastructure is being deleted".to_string()
    } else {
        format!(
            "waiting for {} ScvmmMachine(s) to be deleted first: {}",
            o.machines.len(),
            list(&o.machines)
        )
    };
    let reason = if o.machines.is_empty() {
        reasons::DELETING
    } else {
        reasons::WAITING_FOR_MACHINES
    };
    p.conditions.push(Cond::no(types::READY, reason, message));
    p
}

fn list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

fn plan_normal(o: &Observed) -> Plan {
    let mut conditions = vec![];
    if !o.has_owner {
        conditions.push(Cond::no(
            types::READY,
            reasons::WAITING_FOR_CLUSTER_OWNER,
            "waiting for Cluster API to set a Cluster as the owner of this ScvmmCluster (the Cluster's spec.infrastructureRef must name it)",
        ));
        return Plan {
            action: Action::Wait,
            conditions,
            provisioned: o.provisioned,
            failure_domains: None,
            requeue: None,
        };
    }
    if !o.has_finalizer || !o.has_cluster_id {
        return Plan {
            action: if o.has_finalizer {
                Action::ChooseClusterId
            } else {
                Action::AddFinalizer
            },
            conditions,
            provisioned: o.provisioned,
            failure_domains: None,
            requeue: None,
        };
    }

    let (scvmm_cond, available) = scvmm_condition(&o.scvmm);
    let (fd_cond, fd_ok, published) = domains(o);
    let (ep_cond, ep_ok, ep_action) = endpoint(&o.endpoint);
    let action = match ep_action {
        Some(a) => a,
        None => orphan_action(o, available).unwrap_or(Action::Wait),
    };
    let ready = available && fd_ok && ep_ok;
    let summary = if ready {
        Cond::yes(types::READY, reasons::READY, "")
    } else {
        // The first thing that is not right is what the user needs to see.
        let first = [&scvmm_cond, &fd_cond, &ep_cond]
            .into_iter()
            .find(|c| c.status != crate::controller::conditions::CondStatus::True)
            .cloned()
            .unwrap_or_else(|| Cond::no(types::READY, reasons::WAITING_FOR_SCVMM, ""));
        Cond::no(types::READY, first.reason, first.message)
    };
    conditions.extend([scvmm_cond, fd_cond, ep_cond, summary]);
    // Waiting for a VIP needs no polling: the claim is watched.
    let requeue = match &action {
        Action::Wait => None,
        _ => Some(SOON),
    };
    Plan {
        action,
        conditions,
        provisioned: o.provisioned || ready,
        failure_domains: published,
        requeue,
    }
}

fn scvmm_condition(s: &Scvmm) -> (Cond, bool) {
    match s {
        Scvmm::NotAsked => (
            Cond::unknown(
                types::SCVMM_AVAILABLE,
                reasons::WAITING_FOR_SCVMM,
                "SCVMM has not been asked yet",
            ),
            false,
        ),
        Scvmm::Misconfigured(m) => (
            Cond::no(
                types::SCVMM_AVAILABLE,
                reasons::INVALID_CONFIGURATION,
                m.clone(),
            ),
            false,
        ),
        Scvmm::Unreachable(m) => (
            Cond::no(
                types::SCVMM_AVAILABLE,
                reasons::SCVMM_UNREACHABLE,
                m.clone(),
            ),
            false,
        ),
        Scvmm::Unauthorized(m) => (
            Cond::no(
                types::SCVMM_AVAILABLE,
                reasons::SCVMM_UNAUTHORIZED,
                m.clone(),
            ),
            false,
        ),
        Scvmm::Available {
            server, version, ..
        } => (
            Cond::yes(
                types::SCVMM_AVAILABLE,
                reasons::SCVMM_AVAILABLE,
                format!("VMM server {server}, version {version}"),
            ),
            true,
        ),
    }
}

/// The FailureDomainsReady condition, whether the domains allow
/// provisioning, and the list to publish.
fn domains(o: &Observed) -> (Cond, bool, Option<Vec<FailureDomain>>) {
    if o.domains.is_empty() {
        return (
            Cond::yes(
                types::FAILURE_DOMAINS_READY,
                reasons::NO_FAILURE_DOMAINS,
                "no failure domains are defined; machines are placed by their own spec.cloud or spec.hostGroup",
            ),
            true,
            matches!(o.scvmm, Scvmm::Available { .. }).then(Vec::new),
        );
    }
    let Scvmm::Available { problems, .. } = &o.scvmm else {
        return (
            Cond::unknown(
                types::FAILURE_DOMAINS_READY,
                reasons::WAITING_FOR_SCVMM,
                "the failure domains are checked once SCVMM answers",
            ),
            false,
            None,
        );
    };
    let published: Vec<FailureDomain> = o
        .domains
        .iter()
        .filter(|d| !problems.contains_key(&d.name))
        .map(publish)
        .collect();
    let bad: Vec<String> = o
        .domains
        .iter()
        .filter_map(|d| problems.get(&d.name).map(|p| format!("{}: {p}", d.name)))
        .collect();
    if bad.is_empty() {
        (
            Cond::yes(
                types::FAILURE_DOMAINS_READY,
                reasons::READY,
                format!("{} failure domain(s) checked in SCVMM", o.domains.len()),
            ),
            true,
            Some(published),
        )
    } else {
        (
            Cond::no(
                types::FAILURE_DOMAINS_READY,
                reasons::FAILURE_DOMAIN_INVALID,
                format!(
                    "{}; fix spec.failureDomains (only the valid ones are published to Cluster API)",
                    bad.join("; ")
                ),
            ),
            false,
            Some(published),
        )
    }
}

/// A failure domain as CAPI reads it; the SCVMM target travels as
/// attributes so users see where a domain places machines.
pub fn publish(d: &DomainSpec) -> FailureDomain {
    let mut attributes = BTreeMap::new();
    if let Some(c) = &d.cloud {
        attributes.insert("cloud".to_string(), c.clone());
    }
    if let Some(g) = &d.host_group {
        attributes.insert("hostGroup".to_string(), g.clone());
    }
    FailureDomain {
        name: d.name.clone(),
        control_plane: Some(d.control_plane.unwrap_or(false)),
        attributes,
    }
}

/// The ControlPlaneEndpointReady condition, whether the endpoint is
/// known, and the action it needs.
fn endpoint(e: &Endpoint) -> (Cond, bool, Option<Action>) {
    let t = types::CONTROL_PLANE_ENDPOINT_READY;
    match e {
        Endpoint::Given { host, port } => (
            Cond::yes(t, reasons::READY, format!("{host}:{port}")),
            true,
            None,
        ),
        Endpoint::External => (
            Cond::yes(
                t,
                reasons::EXTERNALLY_PROVIDED,
                "spec.controlPlaneEndpoint.host is empty and no controlPlaneEndpointPool is named: the control-plane provider must set Cluster.spec.controlPlaneEndpoint",
            ),
            true,
            None,
        ),
        Endpoint::Pool {
            state: PoolState::NotClaimed,
            ..
        } => (
            Cond::no(
                t,
                reasons::WAITING_FOR_IP_ADDRESS,
                "claiming the control-plane VIP from spec.controlPlaneEndpointPool",
            ),
            false,
            Some(Action::ClaimVip),
        ),
        Endpoint::Pool {
            state: PoolState::Waiting(m),
            ..
        } => (
            Cond::no(t, reasons::WAITING_FOR_IP_ADDRESS, m.clone()),
            false,
            None,
        ),
        Endpoint::Pool {
            state: PoolState::Invalid(m),
            ..
        } => (
            Cond::no(t, reasons::INVALID_CONFIGURATION, m.clone()),
            false,
            None,
        ),
        Endpoint::Pool {
            state: PoolState::Bound(address),
            port,
        } => (
            Cond::no(
                t,
                reasons::WAITING_FOR_IP_ADDRESS,
                format!("recording the claimed VIP {address} in spec.controlPlaneEndpoint"),
            ),
            false,
            Some(Action::RecordEndpoint {
                host: address.clone(),
                port: *port,
            }),
        ),
    }
}

fn orphan_action(o: &Observed, available: bool) -> Option<Action> {
    if o.orphan_policy != OrphanedVmPolicy::Delete || !available {
        return None;
    }
    // The first due orphan that is not busy and did not just fail: one
    // VM that cannot be removed never holds up the others.
    o.orphans
        .iter()
        .filter(|v| v.orphaned_for >= o.orphan_grace && !v.blocked)
        .find_map(|v| match v.status.as_str() {
            // Off, failed, or gone from its host: remove (the script forces
            // only the removal of a Missing VM, which is no longer on a host).
            "PowerOff" | "Stored" | "Saved" | "CreationFailed" | "Missing" | "Incomplete" => {
                Some(Action::RemoveOrphan(v.id.clone()))
            }
            // Busy, or its host does not answer (a forced removal would
            // forget a VM that may still run there): wait.
            "Deleting" | "UnderCreation" | "UnderUpdate" | "Starting" | "PoweringOff"
            | "Stopping" | "Saving" | "MigratingIn" | "MigratingOut" | "HostNotResponding" => None,
            _ => Some(Action::StopOrphan(v.id.clone())),
        })
}
