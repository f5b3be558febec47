//! Static IP pools: Grant-/Revoke-/Get-SCIPAddress and static adapters.

mod vmm_support;

use std::net::Ipv4Addr;

use scvmm_sim::vmm::cmdlets::devices::{AdapterTarget, SetNetworkAdapter};
use scvmm_sim::vmm::cmdlets::{GrantIp, IpPoolQuery, IpQuery, RevokeIp};
use scvmm_sim::vmm::enums::AddressType;
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::{ObjectKind, ObjectRef, Value, Vmm};
use vmm_support::*;

const POOL: &str = "Prod-VLAN100-Pool";

fn grant(
    vmm: &mut Vmm,
    address: Option<&str>,
) -> scvmm_sim::vmm::VmmResult<scvmm_sim::vmm::objects::AllocatedIpAddress> {
    vmm.grant_ip(&GrantIp {
        pool: POOL.into(),
        object_type: "VirtualMachine".into(),
        object_id: None,
        address: address.map(str::to_string),
        description: "test".into(),
    })
}

#[test]
fn grant_picks_lowest_free_and_revoke_frees() {
    let (mut vmm, _clock) = vmm();
    let a = grant(&mut vmm, None).unwrap();
    let b = grant(&mut vmm, None).unwrap();
    assert_eq!(a.address, Ipv4Addr::new(10, 10, 100, 50));
    assert_eq!(b.address, Ipv4Addr::new(10, 10, 100, 51));
    let revoked = vmm
        .revoke_ip(&RevokeIp {
            allocation: a.id.into(),
        })
        .unwrap();
    assert_eq!(revoked.address, a.address);
    let c = grant(&mut vmm, None).unwrap();
    assert_eq!(c.address, a.address, "a revoked address is granted again");
    // Revoke by address text.
    vmm.revoke_ip(&RevokeIp {
        allocation: "10.10.100.51".into(),
    })
    .unwrap();
    let err = vmm
        .revoke_ip(&RevokeIp {
            allocation: b.id.into(),
        })
        .unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
}

#[test]
fn explicit_addresses_checked_for_range_and_reuse() {
    let (mut vmm, _clock) = vmm();
    let a = grant(&mut vmm, Some("10.10.100.100")).unwrap();
    assert_eq!(a.address, Ipv4Addr::new(10, 10, 100, 100));
    assert_eq!(
        grant(&mut vmm, Some("10.10.100.100")).unwrap_err().id,
        id::IP_ALREADY_ALLOCATED
    );
    assert_eq!(
        grant(&mut vmm, Some("10.10.100.10")).unwrap_err().id,
        id::IP_OUT_OF_RANGE
    );
    assert_eq!(
        grant(&mut vmm, Some("not-an-ip")).unwrap_err().id,
        id::INVALID_PARAMETER
    );
}

#[test]
fn exhausted_pool_fails_and_counts_show_in_the_view() {
    let (mut vmm, _clock) = vmm();
    // 10.10.100.50 - .250: 201 addresses.
    for _ in 0..201 {
        grant(&mut vmm, None).unwrap();
    }
    let err = grant(&mut vmm, None).unwrap_err();
    assert_eq!(err.id, id::IP_POOL_EXHAUSTED);
    let pool = vmm
        .get_ip_pools(&IpPoolQuery {
            name: Some(POOL.into()),
            ..Default::default()
        })
        .unwrap();
    let view = vmm
        .view(ObjectRef::new(ObjectKind::StaticIpPool, pool[0].id))
        .unwrap();
    assert_eq!(view.get("TotalAddresses"), Some(&Value::Int(201)));
    assert_eq!(view.get("AvailableAddresses"), Some(&Value::Int(0)));
    let all = vmm
        .get_ip_addresses(&IpQuery {
            pool: Some(POOL.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 201);
    let mut addresses: Vec<_> = all.iter().map(|a| a.address).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 201, "no address granted twice");
}

#[test]
fn static_adapter_gets_pool_address_and_vm_removal_returns_it() {
    let (mut vmm, _clock) = vmm();
    let vm = create_off(&mut vmm, "static");
    let adapter = vmm.state().vm(vm).unwrap().adapters[0].id;
    let mut req = SetNetworkAdapter::new(AdapterTarget::Adapter(adapter));
    req.ipv4_address_type = Some(AddressType::Static);
    req.ipv4_address_pools = Some(vec![POOL.into()]);
    let sub = vmm.set_network_adapter(&req).unwrap().unwrap();
    // Shown right away (willemm reads IPv4Addresses back immediately).
    assert_eq!(sub.object.device.ipv4_addresses, vec!["10.10.100.50"]);
    wait(&mut vmm, &sub);
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualNetworkAdapter, adapter))
        .unwrap();
    let Some(Value::Array(subnets)) = view.get("IPv4Subnets") else {
        panic!("IPv4Subnets")
    };
    let Value::Object(s) = &subnets[0] else {
        panic!()
    };
    assert_eq!(s.get("PrefixLength"), Some(&Value::Int(24)));
    assert_eq!(
        view.get("DefaultIPGateways"),
        Some(&Value::strings(["10.10.100.1"]))
    );
    // Explicit address.
    let mut req = SetNetworkAdapter::new(AdapterTarget::Adapter(adapter));
    req.ipv4_addresses = Some(vec!["10.10.100.200".into()]);
    let sub = vmm.set_network_adapter(&req).unwrap().unwrap();
    assert_eq!(sub.object.device.ipv4_addresses, vec!["10.10.100.200"]);
    wait(&mut vmm, &sub);
    assert_eq!(
        vmm.state().allocations.len(),
        1,
        "the old address went back"
    );
    // Removing the VM returns its address.
    let rm = vmm.remove_vm(&vm.into(), false).unwrap();
    wait(&mut vmm, &rm);
    assert!(vmm.state().allocations.is_empty());
    assert_eq!(
        grant(&mut vmm, Some("10.10.100.200")).unwrap().address,
        Ipv4Addr::new(10, 10, 100, 200)
    );
}

#[test]
fn revoke_takes_the_address_off_the_adapter() {
    let (mut vmm, _clock) = vmm();
    let vm = create_off(&mut vmm, "r");
    let adapter = vmm.state().vm(vm).unwrap().adapters[0].id;
    let mut req = SetNetworkAdapter::new(AdapterTarget::Adapter(adapter));
    req.ipv4_address_type = Some(AddressType::Static);
    let sub = vmm.set_network_adapter(&req).unwrap().unwrap();
    wait(&mut vmm, &sub);
    let alloc = vmm
        .get_ip_addresses(&IpQuery {
            assigned_to: Some(adapter),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(alloc.len(), 1);
    vmm.revoke_ip(&RevokeIp {
        allocation: alloc[0].id.into(),
    })
    .unwrap();
    assert!(
        vmm.state().vm(vm).unwrap().adapters[0]
            .ipv4_addresses
            .is_empty()
    );
}

#[test]
fn pool_queries() {
    let (mut vmm, _clock) = vmm();
    let by_subnet = vmm
        .get_ip_pools(&IpPoolQuery {
            vm_subnet: Some("Prod-VLAN100_0".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_subnet.len(), 1);
    let by_group = vmm
        .get_ip_pools(&IpPoolQuery {
            host_group: Some("All Hosts\\Dev".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(by_group.is_empty());
    let by_group = vmm
        .get_ip_pools(&IpPoolQuery {
            host_group: Some("Rack1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_group.len(), 1);
}
