//! Placement (capacity, maintenance, responding, clouds, availability
//! sets, duplicate-name switch) and VM configurations.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{NewVm, NewVmConfiguration, SetVm, SetVmConfiguration, VmSource};
use scvmm_sim::vmm::config::DuplicateNames;
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::specs::VmPropertyChange;
use scvmm_sim::vmm::{Options, Ref, VmState, Vmm};
use uuid::Uuid;
use vmm_support::*;

#[allow(clippy::unwrap_used)] // test helper
fn config(vmm: &mut Vmm, name: &str, group: Option<&str>, cloud: Option<&str>) -> Uuid {
    vmm.new_vm_configuration(&NewVmConfiguration {
        template: TEMPLATE.into(),
        name: name.into(),
        host_group: group.map(Ref::from),
        cloud: cloud.map(Ref::from),
        description: String::new(),
        availability_set_names: Vec::new(),
    })
    .unwrap()
    .id
}

#[allow(clippy::unwrap_used)] // test helper
fn new_from_config(
    vmm: &mut Vmm,
    name: &str,
    cfg: Uuid,
    cloud: Option<&str>,
) -> scvmm_sim::vmm::Submitted<scvmm_sim::vmm::objects::Vm> {
    vmm.new_vm(&NewVm::new(
        name,
        VmSource::Configuration {
            configuration: cfg.into(),
            cloud: cloud.map(Ref::from),
        },
    ))
    .unwrap()
}

#[allow(clippy::unwrap_used)] // test helper
fn host_id(vmm: &Vmm, name: &str) -> Uuid {
    vmm.inventory()
        .hosts
        .iter()
        .find(|h| h.name.starts_with(name))
        .unwrap()
        .id
}

#[test]
fn host_group_placement_stays_in_the_group_and_balances() {
    let (mut vmm, _clock) = vmm();
    let cfg = config(&mut vmm, "c", Some("All Hosts\\Prod\\Rack2"), None);
    let rack2 = [host_id(&vmm, "hv03"), host_id(&vmm, "hv04")];
    let mut hosts = Vec::new();
    for i in 0..4 {
        let sub = new_from_config(&mut vmm, &format!("vm{i}"), cfg, None);
        wait(&mut vmm, &sub);
        hosts.push(sub.object.host.unwrap());
    }
    assert!(hosts.iter().all(|h| rack2.contains(h)));
    // Most free memory wins, so VMs alternate between the two hosts.
    assert_eq!(hosts.iter().filter(|h| **h == rack2[0]).count(), 2);
}

#[test]
fn cloud_placement_uses_cloud_host_groups_and_limits() {
    let (mut vmm, _clock) = vmm();
    let cfg = config(&mut vmm, "c", None, Some("Prod Cloud"));
    let sub = new_from_config(&mut vmm, "cloudy", cfg, None);
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(sub.object.id).unwrap().clone();
    let host = vmm.inventory().host(vm.host.unwrap()).unwrap();
    assert!(host.host_group.starts_with("All Hosts\\Prod"));
    assert_eq!(
        vm.cloud
            .map(|c| vmm.inventory().cloud(c).unwrap().name.clone())
            .as_deref(),
        Some("Prod Cloud")
    );

    // Cloud VM limit: shrink it to what is used, the next creation fails.
    vmm.inventory_mut().clouds[0].capacity.vm_count = Some(1);
    let sub = new_from_config(&mut vmm, "over", cfg, Some("Prod Cloud"));
    let job = sub.job.clone().unwrap();
    assert_eq!(sub.object.status, VmState::CreationFailed);
    assert!(sub.object.host.is_none());
    let err = vmm.wait_for_job(job.id).unwrap_err();
    assert_eq!(err.id, id::CLOUD_CAPACITY);
}

#[test]
fn capacity_exhaustion_fails_creation_with_no_suitable_host() {
    let (mut vmm, _clock) = vmm();
    // hv05 (Dev): 128 GB less 4 GB reserve.
    let mut req = NewVm::new(
        "big",
        VmSource::Template {
            template: TEMPLATE.into(),
            host: "hv05.contoso.com".into(),
            path: None,
        },
    );
    req.memory_mb = Some(100 * 1024);
    let sub = vmm.new_vm(&req).unwrap();
    wait(&mut vmm, &sub);
    req.name = "big2".into();
    let sub = vmm.new_vm(&req).unwrap();
    assert_eq!(sub.object.status, VmState::CreationFailed);
    let err = vmm.wait_for_job(sub.job.unwrap().id).unwrap_err();
    assert_eq!(err.id, id::NO_SUITABLE_HOST);
    assert!(
        err.message.contains("MB of memory available"),
        "{}",
        err.message
    );

    // Too many vCPUs for any host.
    let cfg = config(&mut vmm, "c", Some("All Hosts"), None);
    let mut req = NewVm::new(
        "wide",
        VmSource::Configuration {
            configuration: cfg.into(),
            cloud: None,
        },
    );
    req.cpu_count = Some(64);
    let sub = vmm.new_vm(&req).unwrap();
    assert_eq!(sub.object.status, VmState::CreationFailed);
}

#[test]
fn maintenance_and_unresponsive_hosts_are_skipped() {
    let (mut vmm, _clock) = vmm();
    let hv03 = host_id(&vmm, "hv03");
    let hv04 = host_id(&vmm, "hv04");
    vmm.set_host_maintenance(hv03, true).unwrap();
    let cfg = config(&mut vmm, "c", Some("All Hosts\\Prod\\Rack2"), None);
    for i in 0..3 {
        let sub = new_from_config(&mut vmm, &format!("m{i}"), cfg, None);
        assert_eq!(sub.object.host, Some(hv04));
    }
    vmm.set_host_responding(hv04, false).unwrap();
    let sub = new_from_config(&mut vmm, "none", cfg, None);
    assert_eq!(sub.object.status, VmState::CreationFailed);
    // An explicit host in maintenance: 9111.
    vmm.set_host_responding(hv04, true).unwrap();
    let sub = vmm
        .new_vm(&NewVm::new(
            "explicit",
            VmSource::Template {
                template: TEMPLATE.into(),
                host: "hv03".into(),
                path: None,
            },
        ))
        .unwrap();
    let err = vmm.wait_for_job(sub.job.unwrap().id).unwrap_err();
    assert_eq!(err.id, id::HOST_IN_MAINTENANCE);
}

#[test]
fn availability_sets_spread_over_hosts() {
    let (mut vmm, _clock) = vmm();
    let mut hosts = Vec::new();
    for i in 0..2 {
        let cfg = vmm
            .new_vm_configuration(&NewVmConfiguration {
                template: TEMPLATE.into(),
                name: format!("cp{i}"),
                host_group: Some("All Hosts\\Prod\\Rack1".into()),
                cloud: None,
                description: String::new(),
                availability_set_names: vec!["control-plane".into()],
            })
            .unwrap();
        let sub = new_from_config(&mut vmm, &format!("cp{i}"), cfg.id, None);
        hosts.push(sub.object.host.unwrap());
        assert_eq!(
            sub.object.availability_sets,
            vec!["control-plane".to_string()]
        );
    }
    assert_ne!(hosts[0], hosts[1]);
}

#[test]
fn duplicate_names_on_same_host_can_be_rejected() {
    let mut options = Options::default();
    options.behaviour.duplicate_names = DuplicateNames::RejectOnSameHost;
    let (mut vmm, _clock) = vmm_with(options);
    create_off(&mut vmm, "same");
    let sub = vmm.new_vm(&new_from_template("same")).unwrap();
    let err = vmm.wait_for_job(sub.job.unwrap().id).unwrap_err();
    assert_eq!(err.id, id::DUPLICATE_NAME_ON_HOST);
    // Elsewhere in a group it is placed on another host.
    let cfg = config(&mut vmm, "c", Some("All Hosts\\Prod\\Rack1"), None);
    let sub = new_from_config(&mut vmm, "same", cfg, None);
    assert_ne!(sub.object.host, Some(host_id(&vmm, "hv01")));
}

#[test]
fn set_update_and_remove_vm_configuration() {
    let (mut vmm, _clock) = vmm();
    let cfg = config(&mut vmm, "cfg", Some("All Hosts\\Prod"), None);
    let got = vmm
        .get_vm_configurations(&scvmm_sim::vmm::cmdlets::NameId::name("cfg"))
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].is_valid);
    // Update places it.
    let updated = vmm
        .update_vm_configuration(&cfg.into(), false, Some("vmx"))
        .unwrap();
    assert!(updated.host.is_some());
    assert!(!updated.pin_host);
    // Pin a host explicitly.
    let hv04 = host_id(&vmm, "hv04");
    let set = vmm
        .set_vm_configuration(
            &cfg.into(),
            &SetVmConfiguration {
                host: Some(hv04.into()),
                computer_name: Some("vmx-guest".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(set.pin_host);
    let sub = new_from_config(&mut vmm, "vmx", cfg, None);
    assert_eq!(sub.object.host, Some(hv04));
    assert_eq!(
        sub.object.requested_computer_name.as_deref(),
        Some("vmx-guest")
    );
    // Update with -VMName refuses a host already holding that name.
    let err = vmm
        .update_vm_configuration(&cfg.into(), true, Some("vmx"))
        .unwrap_err();
    assert_eq!(err.id, id::DUPLICATE_NAME_ON_HOST);
    vmm.remove_vm_configuration(&cfg.into()).unwrap();
    assert!(
        vmm.get_vm_configurations(&Default::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn growing_a_vm_must_fit_its_host() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "grow");
    let err = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange {
                memory_mb: Some(10_000_000),
                ..Default::default()
            },
            job_group: None,
        })
        .unwrap_err();
    assert_eq!(err.id, id::NO_SUITABLE_HOST);
}

#[test]
fn placement_fault_host_maintenance() {
    use scvmm_sim::vmm::{FaultEffect, FaultRule};
    let (mut vmm, _clock) = vmm();
    vmm.faults_mut().add(FaultRule {
        operation: "Start-SCVirtualMachine".into(),
        object: "*".into(),
        probability: None,
        count: Some(1),
        effect: FaultEffect::HostMaintenance,
    });
    let id = create_off(&mut vmm, "hm");
    let host = vmm.state().vm(id).unwrap().host.unwrap();
    vmm.start_vm(&id.into()).unwrap();
    assert!(vmm.inventory().host(host).unwrap().maintenance);
}
