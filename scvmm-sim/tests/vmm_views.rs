//! Property views: VMM's property names, typed values (enums with numbers,
//! GUIDs, dates, nested objects, arrays, dictionaries), live references.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{GetVmmServer, NewCustomProperty, SetCustomPropertyValue};
use scvmm_sim::vmm::enums::MemberType;
use scvmm_sim::vmm::{ObjectKind, ObjectRef, Value, VmmObject};
use vmm_support::*;

fn has_all(view: &scvmm_sim::vmm::ObjectView, names: &[&str]) {
    for n in names {
        assert!(
            view.get(n).is_some(),
            "{} lacks {n}; has {:?}",
            view.type_name,
            view.names()
        );
    }
}

#[test]
fn vm_view_has_the_reference_properties() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "viewed");
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualMachine, id))
        .unwrap();
    assert_eq!(
        view.type_name,
        "Microsoft.SystemCenter.VirtualMachineManager.VM"
    );
    assert_eq!(view.display, "viewed");
    has_all(
        &view,
        &[
            "ID",
            "Name",
            "Status",
            "StatusString",
            "VirtualMachineState",
            "VMHost",
            "HostName",
            "HostGroupPath",
            "BiosGuid",
            "VMId",
            "CPUCount",
            "Memory",
            "DynamicMemoryEnabled",
            "DynamicMemoryMinimumMB",
            "DynamicMemoryMaximumMB",
            "DynamicMemoryBufferPercentage",
            "VirtualNetworkAdapters",
            "VirtualDVDDrives",
            "VirtualDiskDrives",
            "VirtualHardDisks",
            "CustomProperty",
            "Tag",
            "Description",
            "MostRecentTask",
            "MostRecentTaskID",
            "MostRecentTaskUIState",
            "MostRecentTaskIfLocal",
            "ObjectType",
            "Cloud",
            "Location",
            "Generation",
            "OperatingSystem",
            "ComputerName",
            "CreationTime",
            "ModifiedTime",
            "AvailabilitySetNames",
            "MarkedForDeletion",
            "ServerConnection",
            "Owner",
            "IsTagEmpty",
        ],
    );
    assert_eq!(view.names()[0], "ID");
    let Some(Value::Enum(status)) = view.get("Status") else {
        panic!()
    };
    assert_eq!((status.value, status.name.as_str()), (1, "PowerOff"));
    assert_eq!(
        status.type_name,
        "Microsoft.VirtualManager.Utils.VMComputerSystemState"
    );
    assert_eq!(view.get("StatusString"), Some(&Value::str("Stopped")));
    let Some(Value::Enum(ot)) = view.get("ObjectType") else {
        panic!()
    };
    assert_eq!((ot.value, ot.name.as_str()), (1, "VM"));
    assert_eq!(view.get("Tag"), Some(&Value::str("(none)")));
    assert_eq!(view.get("ComputerName"), Some(&Value::str("Unknown")));
    assert_eq!(
        view.get("HostGroupPath"),
        Some(&Value::str("All Hosts\\Prod\\Rack1"))
    );
    assert!(matches!(view.get("CreationTime"), Some(Value::DateTime(_))));
    assert!(matches!(view.get("BiosGuid"), Some(Value::Guid(_))));
    let Some(Value::String(vm_id)) = view.get("VMId") else {
        panic!()
    };
    assert_eq!(vm_id, &vm_id.to_uppercase());
    let Some(Value::Array(nics)) = view.get("VirtualNetworkAdapters") else {
        panic!()
    };
    let Value::Ref(nic) = nics[0] else { panic!() };
    let nic = vmm.view(nic).unwrap();
    has_all(
        &nic,
        &[
            "ID",
            "Name",
            "SlotId",
            "MACAddress",
            "MACAddressType",
            "VMNetwork",
            "VMSubnet",
            "LogicalNetwork",
            "VLanEnabled",
            "VLanID",
            "IPv4AddressType",
            "IPv4Addresses",
            "IPv6Addresses",
            "IPv4Subnets",
            "DefaultIPGateways",
        ],
    );
    assert_eq!(
        nic.get("Name"),
        Some(&Value::str("viewed")),
        "adapter Name is the VM name"
    );
    assert_eq!(
        nic.get("MACAddress"),
        Some(&Value::str("00:00:00:00:00:00"))
    );
    let Some(Value::Ref(host)) = view.get("VMHost") else {
        panic!()
    };
    let host = vmm.view(*host).unwrap();
    has_all(
        &host,
        &[
            "ID",
            "Name",
            "ComputerName",
            "FullyQualifiedDomainName",
            "VMHostGroup",
            "HostCluster",
            "OverallState",
            "CommunicationState",
            "AvailableForPlacement",
            "VMPaths",
            "TotalMemory",
            "AvailableMemory",
            "LogicalProcessorCount",
            "LiveMigrationMaximum",
            "VMs",
        ],
    );
    let Some(Value::Array(dvds)) = view.get("VirtualDVDDrives") else {
        panic!()
    };
    let Value::Ref(dvd) = dvds[0] else { panic!() };
    has_all(
        &vmm.view(dvd).unwrap(),
        &[
            "ID",
            "Bus",
            "Lun",
            "BusType",
            "Connection",
            "ISO",
            "ISOId",
            "ISOLinked",
            "HostDrive",
        ],
    );
    let Some(Value::Array(disks)) = view.get("VirtualDiskDrives") else {
        panic!()
    };
    let Value::Ref(disk) = disks[0] else { panic!() };
    let disk = vmm.view(disk).unwrap();
    has_all(
        &disk,
        &[
            "ID",
            "BusType",
            "Bus",
            "Lun",
            "VolumeType",
            "VirtualHardDisk",
            "VirtualHardDiskId",
        ],
    );
    let Some(Value::Ref(vhd)) = disk.get("VirtualHardDisk") else {
        panic!()
    };
    has_all(
        &vmm.view(*vhd).unwrap(),
        &[
            "ID",
            "Name",
            "Location",
            "Size",
            "MaximumSize",
            "VHDType",
            "VHDFormatType",
            "HostName",
            "State",
        ],
    );
}

#[test]
fn job_view_has_the_task_properties() {
    let (mut vmm, _clock) = vmm();
    let sub = vmm.new_vm(&new_from_template("j")).unwrap();
    let job = sub.job.unwrap();
    let view = vmm.view(job.object_ref()).unwrap();
    assert_eq!(
        view.type_name,
        "Microsoft.SystemCenter.VirtualMachineManager.Task"
    );
    has_all(
        &view,
        &[
            "ID",
            "Name",
            "Description",
            "Status",
            "StatusString",
            "ErrorInfo",
            "StartTime",
            "EndTime",
            "Progress",
            "ProgressValue",
            "IsCompleted",
            "IsRestartable",
            "IsStoppable",
            "CmdletName",
            "ResultObjectID",
            "ResultObjectType",
            "ResultObjectTypeName",
            "ResultName",
            "TargetObjectID",
            "TargetObjectType",
            "Owner",
        ],
    );
    assert_eq!(view.get("Progress"), Some(&Value::str("0 %")));
    assert_eq!(view.get("EndTime"), Some(&Value::Null));
    assert_eq!(
        view.get("ResultObjectTypeName"),
        Some(&Value::str("Virtual Machine"))
    );
    let Some(Value::Object(info)) = view.get("ErrorInfo") else {
        panic!()
    };
    assert_eq!(info.display, "Success (0)");
    let Some(Value::Enum(code)) = info.get("Code") else {
        panic!()
    };
    assert_eq!(code.name, "Success");
    has_all(
        info,
        &[
            "Code",
            "DisplayableErrorCode",
            "Problem",
            "RecommendedAction",
            "IsSuccess",
            "CSMMessageString",
        ],
    );
}

#[test]
fn views_of_inventory_objects() {
    let (mut vmm, _clock) = vmm();
    let inv = vmm.inventory().clone();
    let cases: Vec<(ObjectRef, &[&str])> = vec![
        (
            ObjectRef::new(ObjectKind::HostGroup, inv.host_groups[1].id),
            &[
                "ID",
                "Name",
                "Path",
                "ParentHostGroup",
                "IsRoot",
                "Hosts",
                "AllChildHosts",
                "ChildGroups",
                "CustomProperty",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::HostCluster, inv.host_clusters[0].id),
            &["Name", "ClusterName", "Nodes", "HostGroup", "SharedVolumes"],
        ),
        (
            ObjectRef::new(ObjectKind::Cloud, inv.clouds[0].id),
            &["ID", "Name", "Description", "HostGroup"],
        ),
        (
            ObjectRef::new(ObjectKind::Template, inv.templates[0].id),
            &[
                "ID",
                "Name",
                "Generation",
                "CPUCount",
                "Memory",
                "DynamicMemoryEnabled",
                "OperatingSystem",
                "IsCustomizable",
                "ComputerName",
                "Status",
                "VirtualDiskDrives",
                "VirtualHardDisks",
                "VirtualNetworkAdapters",
                "VirtualDVDDrives",
                "HardwareProfile",
                "Tag",
                "Owner",
                "Enabled",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::HardwareProfile, inv.hardware_profiles[0].id),
            &["Name", "CPUCount", "Memory", "Generation"],
        ),
        (
            ObjectRef::new(ObjectKind::VirtualHardDisk, inv.vhds[0].id),
            &[
                "ID",
                "Name",
                "Location",
                "SharePath",
                "Directory",
                "Size",
                "MaximumSize",
                "VHDType",
                "VHDFormatType",
                "OperatingSystem",
                "LibraryServer",
                "LibraryShareId",
                "HostType",
                "State",
                "IsOrphaned",
                "ParentDisk",
                "FamilyName",
                "Release",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::LogicalNetwork, inv.logical_networks[0].id),
            &["ID", "Name"],
        ),
        (
            ObjectRef::new(ObjectKind::VmNetwork, inv.vm_networks[0].id),
            &[
                "ID",
                "Name",
                "LogicalNetwork",
                "VMSubnet",
                "IsolationType",
                "Description",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::VmSubnet, inv.vm_subnets[0].id),
            &[
                "ID",
                "Name",
                "VMNetwork",
                "SubnetVLans",
                "LogicalNetworkDefinition",
                "VMSubnetID",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::StaticIpPool, inv.ip_pools[0].id),
            &[
                "ID",
                "Name",
                "Subnet",
                "IPAddressRangeStart",
                "IPAddressRangeEnd",
                "DefaultGateways",
                "DNSServers",
                "DNSSuffix",
                "DNSSearchSuffixes",
                "AddressFamily",
                "TotalAddresses",
                "AvailableAddresses",
                "VMSubnet",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::LibraryShare, inv.library_shares[0].id),
            &[
                "ID",
                "Name",
                "Path",
                "LibraryServer",
                "Description",
                "IsViewOnly",
                "MarkedForDeletion",
                "UseAlternateDataStream",
            ],
        ),
        (
            ObjectRef::new(ObjectKind::CustomProperty, inv.custom_properties[0].id),
            &["ID", "Name", "Members"],
        ),
        (
            ObjectRef::new(ObjectKind::ServerConnection, inv.server.id),
            &[
                "Name",
                "Port",
                "IsConnected",
                "ServerInterfaceVersion",
                "ProductVersion",
                "FullyQualifiedDomainName",
                "UserRole",
                "ConnectedUserName",
                "ManagedComputer",
                "LibraryRefresherFrequency",
                "DatabaseName",
                "VMConnectDefaultPort",
            ],
        ),
    ];
    for (r, names) in cases {
        let view = vmm.view(r).unwrap_or_else(|| panic!("{r:?}"));
        assert_eq!(view.type_name, r.kind.type_name());
        has_all(&view, names);
    }
    let pool = vmm
        .view(ObjectRef::new(ObjectKind::StaticIpPool, inv.ip_pools[0].id))
        .unwrap();
    let Some(Value::Enum(fam)) = pool.get("AddressFamily") else {
        panic!()
    };
    assert_eq!((fam.value, fam.name.as_str()), (2, "InterNetwork"));
    let Some(Value::Array(gws)) = pool.get("DefaultGateways") else {
        panic!()
    };
    let Value::Object(gw) = &gws[0] else { panic!() };
    assert_eq!(gw.get("IPAddress"), Some(&Value::str("10.10.100.1")));
    let subnet = vmm
        .view(ObjectRef::new(ObjectKind::VmSubnet, inv.vm_subnets[0].id))
        .unwrap();
    let Some(Value::Array(v)) = subnet.get("SubnetVLans") else {
        panic!()
    };
    let Value::Object(v) = &v[0] else { panic!() };
    assert_eq!(
        v.display, "10.10.100.0/24-100",
        "what depth truncation prints"
    );
    let conn = vmm
        .get_vmm_server(&GetVmmServer {
            computer_name: "localhost".into(),
            ..Default::default()
        })
        .unwrap();
    let view = vmm.server_view(Some(&conn));
    assert_eq!(
        view.get("ProductVersion"),
        Some(&Value::str("10.22.1287.0"))
    );
    assert_eq!(view.get("Port"), Some(&Value::Int(8100)));
    assert!(
        vmm.view(ObjectRef::new(
            ObjectKind::VirtualMachine,
            uuid::Uuid::nil()
        ))
        .is_none()
    );
}

#[test]
fn references_are_live_and_custom_properties_show() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "live");
    let r = ObjectRef::new(ObjectKind::VirtualMachine, id);
    vmm.new_custom_property(&NewCustomProperty {
        name: "CAPIMachine".into(),
        description: String::new(),
        members: vec![MemberType::VM],
    })
    .unwrap();
    let (value, job) = vmm
        .set_custom_property_value(&SetCustomPropertyValue {
            input: Some(r),
            property: "CAPIMachine".into(),
            value: "scvmm://1234".into(),
            job_group: None,
        })
        .unwrap()
        .unwrap();
    assert_eq!(job.name, "Set custom property value");
    let cpv = vmm.custom_property_value_view(&value);
    assert_eq!(cpv.get("Value"), Some(&Value::str("scvmm://1234")));
    vmm.wait_for_job(job.id).unwrap();
    let view = vmm.view(r).unwrap();
    assert_eq!(
        view.get("CustomProperty"),
        Some(&Value::Dictionary(vec![(
            "CAPIMachine".into(),
            Value::str("scvmm://1234")
        )]))
    );
    let got = vmm
        .get_custom_property_value(r, &"CAPIMachine".into())
        .unwrap()
        .unwrap();
    assert_eq!(got.value, "scvmm://1234");
    // Not a member type: 9114.
    let host = ObjectRef::new(ObjectKind::Host, vmm.inventory().hosts[0].id);
    let err = vmm
        .get_custom_property_value(host, &"CAPIMachine".into())
        .unwrap_err();
    assert_eq!(err.id, scvmm_sim::vmm::errors::id::CUSTOM_PROPERTY_MEMBER);
    // Undefined property: 801.
    let err = vmm
        .get_custom_property_value(r, &"Nope".into())
        .unwrap_err();
    assert_eq!(err.id, scvmm_sim::vmm::errors::id::NOT_FOUND);
    // Duplicate definition.
    let err = vmm
        .new_custom_property(&NewCustomProperty {
            name: "capimachine".into(),
            description: String::new(),
            members: vec![],
        })
        .unwrap_err();
    assert_eq!(err.id, scvmm_sim::vmm::errors::id::IN_USE);
    let job = vmm
        .remove_custom_property_value(r, &"CAPIMachine".into())
        .unwrap();
    vmm.wait_for_job(job.id).unwrap();
    assert!(
        vmm.get_custom_property_value(r, &"CAPIMachine".into())
            .unwrap()
            .is_none()
    );
    // Setting a value on a VM under creation hits the lock (stage it instead).
    let sub = vmm.new_vm(&new_from_template("young")).unwrap();
    let err = vmm
        .set_custom_property_value(&SetCustomPropertyValue {
            input: Some(sub.object.object_ref()),
            property: "CAPIMachine".into(),
            value: "x".into(),
            job_group: None,
        })
        .unwrap_err();
    assert_eq!(err.id, scvmm_sim::vmm::errors::id::LOCKED);
    // The held reference shows the state as it changes.
    let vr = sub.object.object_ref();
    let before = vmm.view(vr).unwrap();
    assert_eq!(
        before.get("StatusString"),
        Some(&Value::str("UnderCreation"))
    );
    vmm.wait_for_job(sub.job.unwrap().id).unwrap();
    assert_eq!(
        vmm.view(vr).unwrap().get("StatusString"),
        Some(&Value::str("Stopped"))
    );
}

#[test]
fn modern_adapter_properties_switch() {
    let (mut vmm, _clock) = vmm();
    vmm.behaviour_mut().modern_adapter_properties = false;
    let id = create_off(&mut vmm, "old");
    let nic = vmm.state().vm(id).unwrap().adapters[0].id;
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualNetworkAdapter, nic))
        .unwrap();
    assert!(view.get("IPv4Subnets").is_none());
    assert!(view.get("DefaultIPGateways").is_none());
}
