//! The read cmdlets over the default inventory: each Get-* happy path,
//! wildcards, filters by parent object, and "no match is not an error".

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{
    HostQuery, IpPoolQuery, NameId, VhdQuery, VmNetworkQuery, VmSubnetQuery,
};
use scvmm_sim::vmm::enums::{MemberType, VmmEnum};
use scvmm_sim::vmm::objects::Cidr;
use scvmm_sim::vmm::{JobStatus, VmState};
use vmm_support::*;

#[test]
fn get_host_groups_hosts_and_clusters() {
    let (mut vmm, _clock) = vmm();
    let groups = vmm.get_host_groups(&NameId::default(), None).unwrap();
    assert_eq!(groups.len(), 5);
    assert_eq!(groups[0].path, "All Hosts");
    let prod = vmm.get_host_groups(&NameId::name("Prod"), None).unwrap();
    assert_eq!(prod.len(), 1);
    let by_id = vmm.get_host_groups(&NameId::id(prod[0].id), None).unwrap();
    assert_eq!(by_id[0].path, "All Hosts\\Prod");

    let hosts = vmm.get_hosts(&HostQuery::default()).unwrap();
    assert_eq!(hosts.len(), 5);
    let hv = vmm
        .get_hosts(&HostQuery {
            computer_name: Some("hv0[12]*".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hv.len(), 2);
    let prod_hosts = vmm
        .get_hosts(&HostQuery {
            host_group: Some("Prod".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(prod_hosts.len(), 4, "hosts in the group and below");
    let clustered = vmm
        .get_hosts(&HostQuery {
            host_cluster: Some("PRODCL01".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(clustered.len(), 2);
    let clusters = vmm.get_host_clusters(&NameId::name("PRODCL01*")).unwrap();
    assert_eq!(clusters.len(), 1);
    assert!(
        vmm.get_hosts(&HostQuery {
            computer_name: Some("zz".into()),
            ..Default::default()
        })
        .unwrap()
        .is_empty()
    );
}

#[test]
fn get_clouds_templates_profiles_disks() {
    let (mut vmm, _clock) = vmm();
    assert_eq!(vmm.get_clouds(&NameId::default()).unwrap().len(), 1);
    // Brackets are wildcard syntax: "[Prod Cloud]" matches no cloud name.
    assert!(
        vmm.get_clouds(&NameId::name("[Prod Cloud]"))
            .unwrap()
            .is_empty()
    );
    let t = vmm.get_templates(&NameId::name("ubuntu*")).unwrap();
    assert_eq!(t[0].name, TEMPLATE);
    assert_eq!(t[0].generation, 2);
    assert_eq!(
        vmm.get_hardware_profiles(&NameId::name("Ubuntu-HW"))
            .unwrap()
            .len(),
        1
    );
    let disks = vmm
        .get_virtual_hard_disks(&VhdQuery {
            template: Some(TEMPLATE.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(disks.len(), 1);
    let vm = create_off(&mut vmm, "d");
    let vm_disks = vmm
        .get_virtual_hard_disks(&VhdQuery {
            vm: Some(vm.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(vm_disks.len(), 1);
    assert_ne!(vm_disks[0].id, disks[0].id, "the VM has its own copy");
    assert!(vm_disks[0].host.is_some());
    let by_id = vmm
        .get_virtual_hard_disks(&VhdQuery {
            id: Some(vm_disks[0].id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_id.len(), 1);
}

#[test]
fn get_networks_subnets_pools_shares() {
    let (mut vmm, _clock) = vmm();
    let logical = vmm.get_logical_networks(&NameId::default()).unwrap();
    assert_eq!(logical.len(), 1);
    let nets = vmm
        .get_vm_networks(&VmNetworkQuery {
            logical_network: Some("Datacenter".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(nets.len(), 2);
    let subnets = vmm
        .get_vm_subnets(&VmSubnetQuery {
            vm_network: Some("Prod-VLAN100".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(subnets.len(), 1);
    assert_eq!(subnets[0].subnet_vlan(), "10.10.100.0/24-100");
    let by_cidr = vmm
        .get_vm_subnets(&VmSubnetQuery {
            subnet: Some("10.10.200.0/24".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_cidr[0].name, "Dev-VLAN200_0");
    let pools = vmm.get_ip_pools(&IpPoolQuery::default()).unwrap();
    assert_eq!(pools[0].total_addresses(), 201);
    let shares = vmm.get_library_shares(None).unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(vmm.get_library_shares(Some(shares[0].id)).unwrap().len(), 1);
    assert!(
        vmm.share_of_path("\\\\VMM01.contoso.com\\msscvmmlibrary\\x\\y.iso")
            .is_some()
    );
    let props = vmm
        .get_custom_properties(&NameId::default(), Some(MemberType::VM))
        .unwrap();
    assert_eq!(props.len(), 1);
    assert!(
        vmm.get_custom_properties(&NameId::default(), Some(MemberType::VMHost))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn enums_and_helpers() {
    assert_eq!(VmState::PowerOff.status_string(), "Stopped");
    assert_eq!(VmState::Running.status_string(), "Running");
    assert_eq!(VmState::UnderCreation.value(), 100);
    assert_eq!(VmState::Missing.value(), 220);
    assert_eq!(VmState::parse("poweroff"), Some(VmState::PowerOff));
    assert_eq!(VmState::parse("107"), Some(VmState::UpdateFailed));
    assert_eq!(
        VmState::parse("Stopped"),
        None,
        "Stopped is not an enum member"
    );
    assert_eq!(VmState::parse("Stopping"), None, "neither is Stopping");
    assert!(JobStatus::SucceedWithInfo.is_success());
    assert!(!JobStatus::Canceling.is_terminal());
    let c = Cidr::parse("10.1.2.3/16").unwrap();
    assert_eq!(c.to_string(), "10.1.0.0/16");
    assert!(c.contains("10.1.255.1".parse().unwrap()));
    assert!(Cidr::parse("10.1.2.3/33").is_none());
    assert_eq!(
        scvmm_sim::vmm::inventory::format_mac(
            scvmm_sim::vmm::inventory::parse_mac("00-1d-d8-b7-1c-00").unwrap()
        ),
        "00:1D:D8:B7:1C:00"
    );
}
