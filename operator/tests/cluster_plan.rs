//! The ScvmmCluster planner over many paths: examples for each rule, and
//! properties that must hold whatever was observed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use operator::api::cluster::OrphanedVmPolicy;
use operator::controller::cluster::plan::{
    Action, DomainSpec, Endpoint, Observed, Orphan, PoolState, Scvmm, plan,
};
use operator::controller::conditions::CondStatus;
use proptest::prelude::*;
use std::time::Duration;

fn domain(name: &str, group: &str) -> DomainSpec {
    DomainSpec {
        name: name.into(),
        control_plane: Some(name == "rack1"),
        cloud: None,
        host_group: Some(group.into()),
    }
}

fn available(problems: &[(&str, &str)]) -> Scvmm {
    Scvmm::Available {
        server: "vmm01".into(),
        version: "10.22".into(),
        problems: problems
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    }
}

fn healthy() -> Observed {
    Observed {
        has_cluster_id: true,
        deleting: false,
        has_finalizer: true,
        has_owner: true,
        paused: false,
        provisioned: false,
        domains: vec![
            domain("rack1", "All Hosts\\Prod\\Rack1"),
            domain("rack2", "All Hosts\\Prod\\Rack2"),
            domain("dev", "All Hosts\\Dev"),
        ],
        scvmm: available(&[]),
        endpoint: Endpoint::Given {
            host: "10.0.0.5".into(),
            port: 6443,
        },
        vip_claim_exists: false,
        machines: vec![],
        unowned_machines: vec![],
        orphans: vec![],
        orphan_policy: OrphanedVmPolicy::Report,
        orphan_grace: Duration::from_secs(300),
    }
}

fn cond<'a>(
    p: &'a operator::controller::cluster::plan::Plan,
    t: &str,
) -> &'a operator::controller::conditions::Cond {
    p.conditions.iter().find(|c| c.type_ == t).unwrap()
}

#[test]
fn a_healthy_cluster_is_provisioned_and_publishes_every_domain() {
    let p = plan(&healthy());
    assert_eq!(p.action, Action::Wait);
    assert!(p.provisioned);
    let fds = p.failure_domains.clone().unwrap();
    assert_eq!(fds.len(), 3);
    assert_eq!(fds[0].control_plane, Some(true));
    assert_eq!(fds[0].attributes["hostGroup"], "All Hosts\\Prod\\Rack1");
    assert_eq!(cond(&p, "Ready").status, CondStatus::True);
}

#[test]
fn an_invalid_domain_is_not_published_and_blocks_first_provisioning() {
    let mut o = healthy();
    o.scvmm = available(&[(
        "dev",
        "VMM has no host group with the path 'All Hosts\\Dev'",
    )]);
    let p = plan(&o);
    assert!(!p.provisioned);
    let names: Vec<_> = p
        .failure_domains
        .clone()
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["rack1", "rack2"]);
    let fd = cond(&p, "FailureDomainsReady");
    assert_eq!(fd.reason, "FailureDomainInvalid");
    assert!(
        fd.message.contains("dev: VMM has no host group"),
        "{}",
        fd.message
    );
    assert_eq!(cond(&p, "Ready").reason, "FailureDomainInvalid");
    // Once provisioned, it stays so.
    o.provisioned = true;
    assert!(plan(&o).provisioned);
}

#[test]
fn scvmm_down_keeps_the_published_domains_and_says_why() {
    let mut o = healthy();
    o.provisioned = true;
    o.scvmm = Scvmm::Unreachable("https://vmm01:5986/wsman did not answer".into());
    let p = plan(&o);
    assert!(p.provisioned);
    assert_eq!(p.failure_domains, None);
    assert_eq!(cond(&p, "ScvmmAvailable").reason, "ScvmmUnreachable");
    assert_eq!(cond(&p, "Ready").status, CondStatus::False);
    assert_eq!(cond(&p, "Ready").reason, "ScvmmUnreachable");
}

#[test]
fn the_vip_is_claimed_then_recorded() {
    let mut o = healthy();
    o.endpoint = Endpoint::Pool {
        state: PoolState::NotClaimed,
        port: 6443,
    };
    assert_eq!(plan(&o).action, Action::ClaimVip);
    assert!(!plan(&o).provisioned);
    o.endpoint = Endpoint::Pool {
        state: PoolState::Waiting("pool exhausted".into()),
        port: 6443,
    };
    let p = plan(&o);
    assert_eq!(p.action, Action::Wait);
    assert_eq!(
        cond(&p, "ControlPlaneEndpointReady").reason,
        "WaitingForIPAddress"
    );
    o.endpoint = Endpoint::Pool {
        state: PoolState::Bound("10.20.0.100".into()),
        port: 443,
    };
    assert_eq!(
        plan(&o).action,
        Action::RecordEndpoint {
            host: "10.20.0.100".into(),
            port: 443
        }
    );
}

#[test]
fn no_endpoint_and_no_pool_leaves_it_to_the_control_plane() {
    let mut o = healthy();
    o.endpoint = Endpoint::External;
    let p = plan(&o);
    assert!(p.provisioned);
    assert_eq!(
        cond(&p, "ControlPlaneEndpointReady").reason,
        "ExternallyProvided"
    );
}

#[test]
fn deletion_waits_for_machines_deletes_unowned_ones_then_releases_the_vip() {
    let mut o = healthy();
    o.deleting = true;
    o.vip_claim_exists = true;
    o.machines = vec!["m1".into(), "stray".into()];
    o.unowned_machines = vec!["stray".into()];
    assert_eq!(
        plan(&o).action,
        Action::DeleteMachines(vec!["stray".into()])
    );
    o.unowned_machines.clear();
    let p = plan(&o);
    assert_eq!(p.action, Action::Wait);
    assert_eq!(cond(&p, "Ready").reason, "WaitingForMachinesDeletion");
    assert!(cond(&p, "Ready").message.contains("m1"));
    o.machines.clear();
    assert_eq!(plan(&o).action, Action::ReleaseVip);
    o.vip_claim_exists = false;
    assert_eq!(plan(&o).action, Action::RemoveFinalizer);
    // SCVMM being down does not hold the deletion.
    o.scvmm = Scvmm::Unreachable("down".into());
    assert_eq!(plan(&o).action, Action::RemoveFinalizer);
}

fn orphan(status: &str, age: u64) -> Orphan {
    Orphan {
        id: "11111111-2222-3333-4444-555555555555".into(),
        name: "old".into(),
        instance_id: Some("aaaaaaaa-2222-3333-4444-555555555555".into()),
        status: status.into(),
        orphaned_for: Duration::from_secs(age),
        blocked: false,
    }
}

#[test]
fn a_cluster_gets_its_id_right_after_the_finalizer() {
    let mut o = healthy();
    o.has_cluster_id = false;
    assert_eq!(plan(&o).action, Action::ChooseClusterId);
    assert!(!plan(&o).provisioned);
    o.has_finalizer = false;
    assert_eq!(plan(&o).action, Action::AddFinalizer);
}

#[test]
fn an_orphan_that_failed_does_not_hold_up_the_others() {
    let mut o = healthy();
    o.orphan_policy = OrphanedVmPolicy::Delete;
    let mut stuck = orphan("Missing", 1000);
    stuck.id = "00000000-0000-0000-0000-000000000001".into();
    stuck.blocked = true;
    let next = orphan("PowerOff", 1000);
    o.orphans = vec![stuck, next.clone()];
    assert_eq!(plan(&o).action, Action::RemoveOrphan(next.id.clone()));
    // A VM gone from its host is removed, not stopped.
    o.orphans = vec![orphan("Missing", 1000)];
    assert_eq!(plan(&o).action, Action::RemoveOrphan(next.id));
    // A VM whose host does not answer is left alone: forgetting it in VMM
    // would leave it running on the host, untracked.
    o.orphans = vec![orphan("HostNotResponding", 1000)];
    assert_eq!(plan(&o).action, Action::Wait);
}

#[test]
fn orphans_are_only_deleted_on_opt_in_after_the_grace_period() {
    let mut o = healthy();
    o.orphans = vec![orphan("Running", 1000)];
    assert_eq!(plan(&o).action, Action::Wait, "Report never touches them");
    o.orphan_policy = OrphanedVmPolicy::Delete;
    assert_eq!(
        plan(&o).action,
        Action::StopOrphan("11111111-2222-3333-4444-555555555555".into())
    );
    o.orphans = vec![orphan("PowerOff", 1000)];
    assert_eq!(
        plan(&o).action,
        Action::RemoveOrphan("11111111-2222-3333-4444-555555555555".into())
    );
    o.orphans = vec![orphan("PowerOff", 10)];
    assert_eq!(plan(&o).action, Action::Wait, "still in its grace period");
}

fn arb_scvmm() -> impl Strategy<Value = Scvmm> {
    prop_oneof![
        Just(Scvmm::NotAsked),
        Just(Scvmm::Unreachable("down".into())),
        Just(Scvmm::Unauthorized("no".into())),
        Just(Scvmm::Misconfigured("bad".into())),
        proptest::collection::btree_map(
            prop_oneof![Just("rack1".to_string()), Just("dev".to_string())],
            Just("missing".to_string()),
            0..2
        )
        .prop_map(|problems| Scvmm::Available {
            server: "vmm01".into(),
            version: "10".into(),
            problems
        }),
    ]
}

fn arb_endpoint() -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        Just(Endpoint::Given {
            host: "10.0.0.5".into(),
            port: 6443
        }),
        Just(Endpoint::External),
        Just(Endpoint::Pool {
            state: PoolState::NotClaimed,
            port: 6443
        }),
        Just(Endpoint::Pool {
            state: PoolState::Waiting("w".into()),
            port: 6443
        }),
        Just(Endpoint::Pool {
            state: PoolState::Bound("10.0.0.9".into()),
            port: 6443
        }),
        Just(Endpoint::Pool {
            state: PoolState::Invalid("x".into()),
            port: 6443
        }),
    ]
}

prop_compose! {
    fn arb_observed()(
        deleting in any::<bool>(),
        has_finalizer in any::<bool>(),
        has_owner in any::<bool>(),
        paused in any::<bool>(),
        provisioned in any::<bool>(),
        n_domains in 0usize..4,
        scvmm in arb_scvmm(),
        endpoint in arb_endpoint(),
        vip_claim_exists in any::<bool>(),
        machines in proptest::collection::vec("[a-z]{1,4}", 0..3),
        unowned in any::<bool>(),
        orphans in proptest::collection::vec((prop_oneof![Just("Running"), Just("PowerOff"), Just("Deleting")], 0u64..600), 0..3),
        delete_policy in any::<bool>(),
        has_cluster_id in any::<bool>(),
        blocked in any::<bool>(),
    ) -> Observed {
        let all = [domain("rack1", "A"), domain("rack2", "B"), domain("dev", "C")];
        Observed {
            has_cluster_id,
            deleting,
            has_finalizer,
            has_owner,
            paused,
            provisioned,
            domains: all.into_iter().take(n_domains).collect(),
            scvmm,
            endpoint,
            vip_claim_exists,
            unowned_machines: if unowned { machines.iter().take(1).cloned().collect() } else { vec![] },
            machines,
            orphans: orphans.into_iter().map(|(s, a)| Orphan { blocked, ..orphan(s, a) }).collect(),
            orphan_policy: if delete_policy { OrphanedVmPolicy::Delete } else { OrphanedVmPolicy::Report },
            orphan_grace: Duration::from_secs(300),
        }
    }
}

proptest! {
    /// Paused: nothing but waiting, and the Paused condition says so.
    #[test]
    fn paused_means_no_action(o in arb_observed()) {
        let p = plan(&o);
        let paused = p.conditions.iter().find(|c| c.type_ == "Paused").unwrap();
        prop_assert_eq!(paused.status == CondStatus::True, o.paused);
        if o.paused {
            prop_assert_eq!(p.action, Action::Wait);
        }
    }

    /// Provisioned never goes back to false.
    #[test]
    fn provisioned_is_sticky(o in arb_observed()) {
        if o.provisioned {
            prop_assert!(plan(&o).provisioned);
        }
    }

    /// The finalizer goes only when no machine and no VIP claim is left.
    #[test]
    fn finalizer_goes_last(o in arb_observed()) {
        if plan(&o).action == Action::RemoveFinalizer {
            prop_assert!(o.deleting && o.machines.is_empty() && !o.vip_claim_exists);
        }
    }

    /// SCVMM is written to (orphans) only with the Delete policy, only when
    /// SCVMM answered, never while deleting or paused, never within the
    /// grace period, and never for an orphan whose removal just failed.
    #[test]
    fn orphans_are_removed_only_when_allowed(o in arb_observed()) {
        match plan(&o).action {
            Action::StopOrphan(_) | Action::RemoveOrphan(_) => {
                prop_assert_eq!(o.orphan_policy, OrphanedVmPolicy::Delete);
                prop_assert!(matches!(o.scvmm, Scvmm::Available { .. }), "SCVMM must have answered");
                prop_assert!(!o.deleting && !o.paused);
                prop_assert!(o.orphans.iter().any(|v| v.orphaned_for >= o.orphan_grace && !v.blocked));
            }
            _ => {}
        }
    }

    /// Provisioning needs SCVMM, every domain valid and a known endpoint.
    #[test]
    fn provisioning_needs_everything(o in arb_observed()) {
        let p = plan(&o);
        if p.provisioned && !o.provisioned {
            let ok = match &o.scvmm {
                Scvmm::Available { problems, .. } => o.domains.iter().all(|d| !problems.contains_key(&d.name)),
                _ => false,
            };
            prop_assert!(ok);
            prop_assert!(matches!(o.endpoint, Endpoint::Given { .. } | Endpoint::External), "the endpoint must be known");
            prop_assert!(o.has_owner && o.has_finalizer && o.has_cluster_id && !o.deleting && !o.paused);
        }
        // Only validated domains are ever published.
        if let (Some(fds), Scvmm::Available { problems, .. }) = (&p.failure_domains, &o.scvmm) {
            prop_assert!(fds.iter().all(|f| !problems.contains_key(&f.name)));
        }
    }
}
