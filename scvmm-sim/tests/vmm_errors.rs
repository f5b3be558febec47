//! Error shapes and the catalogue (reference §5), name resolution,
//! Get-SCVMMServer, lookups of unknown ids.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{GetVmmServer, HostQuery, NameId, VmQuery};
use scvmm_sim::vmm::config::UnknownIdLookup;
use scvmm_sim::vmm::errors::{Provenance, id};
use scvmm_sim::vmm::{ErrorCategory, Options, VmmError};
use uuid::Uuid;
use vmm_support::*;

#[test]
fn message_shape_matches_vmm() {
    let e = VmmError::not_found("VirtualMachine", "web-01");
    assert_eq!(
        e.message,
        "VMM cannot find the VirtualMachine object web-01. (Error ID: 801, Detailed Error: )"
    );
    assert_eq!(e.code, "LibObjectNotFound");
    assert_eq!(e.category, ErrorCategory::ObjectNotFound);
    assert_eq!(
        e.full_text(),
        "VMM cannot find the VirtualMachine object web-01. (Error ID: 801, Detailed Error: )\n\nEnsure the library object is valid, and then try the operation again."
    );
    let c = VmmError::cannot_connect("vmm02");
    assert_eq!(
        c.message,
        "Unable to connect to the VMM management server vmm02. The Virtual Machine Manager service on that server did not respond. (Error ID: 1602)"
    );
    assert!(
        VmmError::invalid_state("Running")
            .message
            .contains("(Error ID: 1730, Detailed Error: Running)")
    );
    assert_eq!(VmmError::locked().category, ErrorCategory::ReadError);
    assert_eq!(VmmError::locked().provenance(), Provenance::Reference);
    assert_eq!(
        VmmError::ip_pool_exhausted("p").provenance(),
        Provenance::Emulator
    );
    assert_eq!(
        format!("{}", VmmError::locked()),
        VmmError::locked().message
    );
}

#[test]
fn every_catalogue_entry_has_the_suffix_and_an_action() {
    let all = [
        VmmError::hardware_change_needs_poweroff(),
        VmmError::not_found("ISO", "x"),
        VmmError::in_use("ISO", "x", "VirtualMachine"),
        VmmError::cannot_connect("x"),
        VmmError::invalid_state("x"),
        VmmError::locked(),
        VmmError::host_unreachable("h"),
        VmmError::invalid_parameter("New-SCVirtualMachine", "x"),
        VmmError::linked_iso_access("h", "v", "s"),
        VmmError::critical_exception(),
        VmmError::no_suitable_host("v", "x"),
        VmmError::cloud_capacity("c", "memory"),
        VmmError::ip_pool_exhausted("p"),
        VmmError::ip_already_allocated("a", "p"),
        VmmError::ip_out_of_range("a", "p"),
        VmmError::mac_pool_exhausted(),
        VmmError::slot_in_use("SCSI 0:0"),
        VmmError::disk_shrink(30, 20),
        VmmError::differencing_disk("d"),
        VmmError::generation_mismatch("d", 2),
        VmmError::host_in_maintenance("h"),
        VmmError::duplicate_name_on_host("v", "h"),
        VmmError::guest_shutdown_timeout("v"),
        VmmError::custom_property_member("p", "VMHost"),
        VmmError::job_canceled(),
        VmmError::configuration("x"),
        VmmError::access_denied("u", "s"),
    ];
    for e in all {
        assert!(
            e.message.contains(&format!("(Error ID: {}", e.id)),
            "{}",
            e.message
        );
        assert!(e.message.ends_with(')'), "{}", e.message);
        assert!(!e.recommended_action.is_empty(), "{}", e.message);
        assert!(e.terminating);
    }
    for known in [640, 801, 1602, 1730, 2602, 12416, 20413, 9103, 4242] {
        assert_eq!(VmmError::from_id(known).id, known);
    }
}

#[test]
fn name_resolution_errors() {
    let (mut vmm, _clock) = vmm();
    let err = vmm.start_vm(&"no-such-vm".into()).unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
    assert!(err.message.contains("no-such-vm"));
    let err = vmm.start_vm(&Uuid::from_u128(1).into()).unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
    let err = vmm.new_vm(&{
        let mut r = new_from_template("x");
        r.source = scvmm_sim::vmm::cmdlets::VmSource::Template {
            template: "No Template".into(),
            host: HOST.into(),
            path: None,
        };
        r
    });
    assert_eq!(err.unwrap_err().id, id::NOT_FOUND);
    // Host groups may share a name in different paths: ambiguous by name.
    vmm.inventory_mut()
        .host_groups
        .push(scvmm_sim::vmm::objects::HostGroup {
            id: Uuid::nil(),
            path: "All Hosts\\Dev\\Rack1".into(),
            description: String::new(),
            custom_properties: Default::default(),
        });
    vmm.inventory_mut().normalise();
    let err = vmm
        .get_hosts(&HostQuery {
            host_group: Some("Rack1".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.id, id::INVALID_PARAMETER);
    assert_eq!(err.category, ErrorCategory::InvalidArgument);
    // The path is unambiguous.
    let hosts = vmm
        .get_hosts(&HostQuery {
            host_group: Some("All Hosts\\Prod\\Rack1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(hosts.len(), 2);
    let groups = vmm.get_host_groups(&NameId::name("Rack1"), None).unwrap();
    assert_eq!(groups.len(), 2, "Get-SCVMHostGroup -Name returns both");
    let children = vmm
        .get_host_groups(&NameId::default(), Some(&"All Hosts\\Prod".into()))
        .unwrap();
    assert_eq!(children.len(), 2);
}

#[test]
fn empty_name_is_a_parameter_error() {
    let (mut vmm, _clock) = vmm();
    let err = vmm.new_vm(&new_from_template(" ")).unwrap_err();
    assert_eq!(err.id, id::INVALID_PARAMETER);
    assert!(err.message.starts_with("VMM is unable to process one of the provided parameters for the cmdlet (New-SCVirtualMachine)"));
}

#[test]
fn get_vmm_server_connects_or_fails_with_1602() {
    let (mut vmm, _clock) = vmm();
    for name in ["localhost", "vmm01.contoso.com", "VMM01", "."] {
        let c = vmm
            .get_vmm_server(&GetVmmServer {
                computer_name: name.into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(c.server.port, 8100);
        assert_eq!(c.user, "CONTOSO\\Administrator");
    }
    let err = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "vmm99".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.id, id::CANNOT_CONNECT);
    let err = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "localhost".into(),
            tcp_port: Some(8101),
            user: None,
        })
        .unwrap_err();
    assert_eq!(err.id, id::CANNOT_CONNECT);
    let c = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "localhost".into(),
            tcp_port: None,
            user: Some("svc-capi".into()),
        })
        .unwrap();
    assert_eq!(c.user, "CONTOSO\\svc-capi");
    let err = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "localhost".into(),
            tcp_port: None,
            user: Some("CONTOSO\\eve".into()),
        })
        .unwrap_err();
    assert_eq!(err.id, 1604);
    vmm.set_server_responding(false);
    let err = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "localhost".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.id, id::CANNOT_CONNECT);
    assert_eq!(err.category, ErrorCategory::ConnectionError);
}

#[test]
fn unknown_id_is_silent_or_a_non_terminating_error() {
    let (mut vmm, _clock) = vmm();
    let none = vmm
        .get_vms(&VmQuery {
            id: Some(Uuid::from_u128(5)),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
    let mut options = Options::default();
    options.behaviour.unknown_id_lookup = UnknownIdLookup::NonTerminatingError;
    let (mut vmm, _clock) = vmm_with(options);
    let err = vmm
        .get_vms(&VmQuery {
            id: Some(Uuid::from_u128(5)),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
    assert!(!err.terminating);
    // A name miss stays silent.
    assert!(
        vmm.get_vms(&VmQuery {
            name: Some("x".into()),
            ..Default::default()
        })
        .unwrap()
        .is_empty()
    );
}

#[test]
fn exact_name_matching_switch() {
    let mut options = Options::default();
    options.behaviour.name_matching = scvmm_sim::vmm::config::NameMatching::Exact;
    let (mut vmm, _clock) = vmm_with(options);
    assert!(vmm.get_clouds(&NameId::name("Prod*")).unwrap().is_empty());
    assert_eq!(
        vmm.get_clouds(&NameId::name("prod cloud")).unwrap().len(),
        1
    );
    let (mut wild, _clock) = vmm_support::vmm();
    assert_eq!(wild.get_clouds(&NameId::name("Prod*")).unwrap().len(), 1);
}
