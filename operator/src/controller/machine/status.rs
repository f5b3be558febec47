//! The status to publish: the previous status updated with what the planner
//! decided, what SCVMM reported and what acting changed. Pure.

use super::act::Outcome;
use super::observe::World;
use super::plan::Plan;
use super::request;
use crate::api::ScvmmMachine;
use crate::api::common::{Initialization, MachineAddress, MachineAddressType};
use crate::api::machine::{
    JobRef, NetworkDeviceStatus, ScvmmMachineStatus, SeedStatus, VmObserved,
};
use crate::controller::conditions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The new status.
pub fn desired(
    sm: &ScvmmMachine,
    world: &World,
    plan: &Plan,
    outcome: &Outcome,
    now: &Time,
) -> ScvmmMachineStatus {
    let mut s = sm.status.clone().unwrap_or_default();
    s.conditions = conditions::merge(&s.conditions, &plan.conditions, sm.metadata.generation, now);
    s.observed_generation = sm.metadata.generation;
    if plan.provisioned {
        s.initialization = Some(Initialization {
            provisioned: Some(true),
        });
    }
    if let Some(fd) = world
        .machine
        .as_ref()
        .and_then(|m| m.spec.failure_domain.clone())
        .filter(|f| !f.is_empty())
        .or_else(|| {
            // Placed by the default failure domain (not by its own spec).
            (sm.spec.cloud.is_none() && sm.spec.host_group.is_none())
                .then(|| world.failure_domain.as_ref().map(|f| f.name.clone()))
                .flatten()
        })
    {
        s.failure_domain = Some(fd);
    }
    if outcome.failed_attempt {
        s.creation_attempts = Some(s.creation_attempts.unwrap_or(0) + 1);
    }
    if outcome.shutdown_requested {
        s.shutdown_started_at = Some(now.clone());
    }
    let instance = sm
        .spec
        .provider_id
        .as_deref()
        .and_then(request::instance_id);
    if let Some(instance) = instance {
        let seed = s.seed.get_or_insert_with(SeedStatus::default);
        seed.iso_name = Some(request::seed_iso_name(instance));
        if outcome.created {
            seed.uploaded = Some(true);
            seed.attached = Some(true);
        }
        // Also when this process ejected it and the object read predates
        // that status: the status must not go back.
        if outcome.seed_ejected || world.observed.seed_cleaned {
            seed.attached = Some(false);
            seed.ejected = Some(true);
        }
    }
    if let Some(vm) = outcome.vm.as_ref().or(world.vm.as_ref()) {
        s.vm = Some(VmObserved {
            name: Some(vm.name.clone()),
            status: Some(vm.status.clone()),
            host: vm.host.clone(),
            host_group: vm.host_group.clone(),
            bios_guid: vm.bios_guid.clone(),
        });
        s.job = vm
            .job
            .as_ref()
            .filter(|j| j.status == "Running")
            .map(|j| JobRef {
                id: j.id.clone(),
                operation: j.name.clone(),
            });
        let names: Vec<String> = request::network(&sm.spec, world.failure_domain.as_ref())
            .map(|n| n.devices.iter().map(|d| d.name.clone()).collect())
            .unwrap_or_default();
        s.network = vm
            .adapters
            .iter()
            .enumerate()
            .map(|(i, a)| NetworkDeviceStatus {
                name: names
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("adapter{i}")),
                mac_address: a.mac_address.clone(),
                addresses: a
                    .ipv4_addresses
                    .iter()
                    .chain(a.ipv6_addresses.iter())
                    .cloned()
                    .collect(),
            })
            .collect();
        let mut addresses = vec![MachineAddress {
            type_: MachineAddressType::Hostname,
            address: request::hostname(sm),
        }];
        for a in &vm.adapters {
            for ip in a.ipv4_addresses.iter().chain(a.ipv6_addresses.iter()) {
                addresses.push(MachineAddress {
                    type_: MachineAddressType::InternalIP,
                    address: ip.clone(),
                });
            }
        }
        if addresses.len() > 1 || s.addresses.is_empty() {
            s.addresses = addresses;
        }
    }
    s
}

/// One line for the debug log: each condition's status, reason and message,
/// and the VM's state (what a status write changed is read off the sequence).
pub fn summary(s: &ScvmmMachineStatus) -> String {
    let mut out: Vec<String> = s
        .conditions
        .iter()
        .map(|c| format!("{}={}/{} {:?}", c.type_, c.status, c.reason, c.message))
        .collect();
    if let Some(vm) = &s.vm {
        out.push(format!("vm={:?}", vm.status));
    }
    if let Some(job) = &s.job {
        out.push(format!("job={:?}", job.operation));
    }
    out.push(format!("addresses={}", s.addresses.len()));
    out.join("; ")
}
