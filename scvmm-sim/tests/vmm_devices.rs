//! Devices and JobGroup staging (reference §4.4, §6.5, §6.8, §6.13):
//! NICs, DVD drives and ISOs, disks and expansion, hardware profiles,
//! hardware changes on running VMs (640).

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{
    AdapterQuery, AdapterTarget, DeviceTarget, DiskSourceRequest, DvdMediaRequest, DvdTarget,
    ExpandDisk, NewDiskDrive, NewDvdDrive, NewFibreChannelAdapter, NewHardwareProfile,
    NewNetworkAdapter, NewVm, ReadLibraryShare, SetCustomPropertyValue, SetDiskDrive, SetDvdDrive,
    SetNetworkAdapter, SetVm, VmSource,
};
use scvmm_sim::vmm::config::OnlineExpand;
use scvmm_sim::vmm::enums::{BusType, MacAddressType, VhdType, VolumeType};
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::specs::VmPropertyChange;
use scvmm_sim::vmm::{ObjectKind, ObjectRef, Value};
use scvmm_sim::vmm::{Options, VmState, Vmm};
use uuid::Uuid;
use vmm_support::*;

const GIB: u64 = 1024 * 1024 * 1024;

#[test]
fn job_group_stages_nic_dvd_disk_and_custom_property_for_new_vm() {
    let (mut vmm, _clock) = vmm();
    let guest = record_guest(&mut vmm);
    let iso = seed_iso(&mut vmm, "node-1_cidata.iso", b"cloud-init seed");
    let g = Uuid::from_u128(42);
    // Stage: NIC, a change of the template DVD's media, a data disk, a marker.
    let staged = vmm
        .new_network_adapter(&NewNetworkAdapter {
            target: Some(DeviceTarget::JobGroup(g)),
            vm_network: Some("Dev-VLAN200".into()),
            mac_address_type: Some(MacAddressType::Static),
            ..Default::default()
        })
        .unwrap();
    assert!(staged.is_none(), "staging creates nothing");
    vmm.set_dvd_drive(&SetDvdDrive {
        target: DvdTarget::Staged {
            job_group: g,
            bus: 0,
            lun: 1,
        },
        media: DvdMediaRequest::Iso {
            iso: iso.into(),
            link: false,
        },
    })
    .unwrap();
    vmm.new_disk_drive(&NewDiskDrive {
        target: DeviceTarget::JobGroup(g),
        bus_type: BusType::SCSI,
        bus: 0,
        lun: 2,
        volume_type: VolumeType::None,
        source: DiskSourceRequest::Blank {
            size_mb: 10240,
            dynamic: true,
            file_name: None,
        },
    })
    .unwrap();
    vmm.set_custom_property_value(&SetCustomPropertyValue {
        input: None,
        property: "Environment".into(),
        value: "prod".into(),
        job_group: Some(g),
    })
    .unwrap();
    assert_eq!(vmm.staged(g).len(), 4);
    assert!(vmm.state().vms.is_empty());

    let mut req = new_from_template("node-1");
    req.job_group = Some(g);
    req.start_vm = true;
    let sub = vmm.new_vm(&req).unwrap();
    assert!(
        vmm.staged(g).is_empty(),
        "the final command consumes the stage"
    );
    let vm = &sub.object;
    assert_eq!(vm.adapters.len(), 2);
    assert!(
        vm.adapters[1]
            .mac_address
            .as_deref()
            .unwrap()
            .starts_with("00:1D:D8:B7:1C")
    );
    assert_eq!(vm.disks.len(), 2);
    assert_eq!(vm.disks[1].vhd.maximum_size_bytes, 10 * GIB);
    assert_eq!(
        vm.custom_properties.get("Environment").map(String::as_str),
        Some("prod")
    );
    let dvd = &vm.dvd_drives[0];
    let copy = vmm.state().iso(dvd.iso.unwrap()).unwrap().clone();
    assert!(!dvd.linked);
    assert_ne!(copy.id, iso, "the ISO is copied to the host");
    assert_eq!(copy.vm, Some(vm.id));
    assert!(copy.share_path.ends_with("\\node-1\\node-1_cidata.iso"));

    wait(&mut vmm, &sub);
    let boots = guest.boots.lock().unwrap();
    let media = boots[0].media.as_ref().unwrap();
    assert_eq!(media.bytes, b"cloud-init seed");
    assert_eq!(media.name, "node-1_cidata.iso");
}

#[test]
fn hardware_profile_consumes_staged_nics_and_dvds_and_builds_a_blank_vm() {
    let (mut vmm, _clock) = vmm();
    let g = Uuid::from_u128(7);
    vmm.new_network_adapter(&NewNetworkAdapter {
        target: Some(DeviceTarget::JobGroup(g)),
        vm_network: Some("Prod-VLAN100".into()),
        ..Default::default()
    })
    .unwrap();
    vmm.new_dvd_drive(&NewDvdDrive {
        target: DeviceTarget::JobGroup(g),
        bus_type: Some(BusType::IDE),
        bus: 1,
        lun: 0,
        iso: None,
        link: false,
    })
    .unwrap();
    vmm.new_disk_drive(&NewDiskDrive {
        target: DeviceTarget::JobGroup(g),
        bus_type: BusType::IDE,
        bus: 0,
        lun: 0,
        volume_type: VolumeType::BootAndSystem,
        source: DiskSourceRequest::Blank {
            size_mb: 40960,
            dynamic: true,
            file_name: Some("x.vhd".into()),
        },
    })
    .unwrap();
    let profile = vmm
        .new_hardware_profile(&NewHardwareProfile {
            name: "HA-Gen1".into(),
            description: String::new(),
            generation: Some(1),
            cpu_count: Some(2),
            memory_mb: Some(2048),
            dynamic_memory: None,
            highly_available: true,
            secure_boot: false,
            job_group: Some(g),
        })
        .unwrap();
    assert_eq!(profile.nics.len(), 1);
    assert_eq!(profile.dvd_drives.len(), 1);
    assert_eq!(vmm.staged(g).len(), 1, "the disk stays staged for the VM");
    let mut req = NewVm::new(
        "blank",
        VmSource::HardwareProfile {
            hardware_profile: Some("HA-Gen1".into()),
            host: HOST.into(),
            path: Some("D:\\VMs".into()),
            generation: None,
        },
    );
    req.job_group = Some(g);
    let sub = vmm.new_vm(&req).unwrap();
    let vm = &sub.object;
    assert_eq!(vm.generation, 1);
    assert!(vm.highly_available);
    assert_eq!(
        (vm.adapters.len(), vm.dvd_drives.len(), vm.disks.len()),
        (1, 1, 1)
    );
    assert_eq!(vm.disks[0].vhd.name, "x.vhd");
    assert_eq!(vm.location, "D:\\VMs\\blank");
}

#[test]
fn hardware_changes_on_running_vm_are_640() {
    let (mut vmm, _clock) = vmm();
    let id = create_running(&mut vmm, "hot");
    let err = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange {
                cpu_count: Some(4),
                ..Default::default()
            },
            job_group: None,
        })
        .unwrap_err();
    assert_eq!(err.id, id::HARDWARE_CHANGE_NEEDS_POWEROFF);
    assert_eq!(
        err.message,
        "The virtual machine must be in either the Poweroff or Stored state before SCVMM can perform the specified hardware changes. (Error ID: 640, Detailed Error: )"
    );
    assert_eq!(
        err.recommended_action,
        "Turn off the virtual machine or store it to the library, and then try the operation again."
    );
    assert_eq!(
        err.fully_qualified_error_id("NewNICCmdlet"),
        "640,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.NewNICCmdlet"
    );
    let err = vmm
        .new_network_adapter(&NewNetworkAdapter {
            target: Some(DeviceTarget::Vm(id.into())),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.id, id::HARDWARE_CHANGE_NEEDS_POWEROFF);
    // Metadata changes work while running, and the VM keeps showing Running.
    let sub = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange {
                tag: Some("capi".into()),
                description: Some("d".into()),
                ..Default::default()
            },
            job_group: None,
        })
        .unwrap();
    assert_eq!(sub.object.status, VmState::Running);
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().tag, "capi");
    // Staged devices need PowerOff too.
    let g = Uuid::from_u128(9);
    vmm.new_network_adapter(&NewNetworkAdapter {
        target: Some(DeviceTarget::JobGroup(g)),
        ..Default::default()
    })
    .unwrap();
    let err = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange::default(),
            job_group: Some(g),
        })
        .unwrap_err();
    assert_eq!(err.id, id::HARDWARE_CHANGE_NEEDS_POWEROFF);
}

#[test]
fn set_vm_on_power_off_goes_through_under_update() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "cold");
    let g = Uuid::from_u128(10);
    vmm.new_dvd_drive(&NewDvdDrive {
        target: DeviceTarget::JobGroup(g),
        bus_type: None,
        bus: 0,
        lun: 3,
        iso: None,
        link: false,
    })
    .unwrap();
    let sub = vmm
        .set_vm(&SetVm {
            vm: id.into(),
            change: VmPropertyChange {
                cpu_count: Some(4),
                memory_mb: Some(8192),
                name: Some("cold-renamed".into()),
                ..Default::default()
            },
            job_group: Some(g),
        })
        .unwrap();
    assert_eq!(sub.object.status, VmState::UnderUpdate);
    assert_eq!(
        sub.job.as_ref().unwrap().name,
        "Change properties of virtual machine"
    );
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(id).unwrap();
    assert_eq!(vm.status, VmState::PowerOff);
    assert_eq!((vm.cpu_count, vm.memory_mb), (4, 8192));
    assert_eq!(vm.name, "cold-renamed");
    assert_eq!(vm.dvd_drives.len(), 2);
}

#[test]
fn device_slot_conflicts_and_gen2_ide() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "slots");
    let err = vmm
        .new_dvd_drive(&NewDvdDrive {
            target: DeviceTarget::Vm(id.into()),
            bus_type: Some(BusType::SCSI),
            bus: 0,
            lun: 0,
            iso: None,
            link: false,
        })
        .unwrap_err();
    assert_eq!(err.id, id::SLOT_IN_USE);
    let err = vmm
        .new_disk_drive(&NewDiskDrive {
            target: DeviceTarget::Vm(id.into()),
            bus_type: BusType::IDE,
            bus: 0,
            lun: 0,
            volume_type: VolumeType::None,
            source: DiskSourceRequest::Blank {
                size_mb: 1024,
                dynamic: true,
                file_name: None,
            },
        })
        .unwrap_err();
    assert_eq!(err.id, id::INVALID_PARAMETER, "Gen 2 has no IDE");
    // A failed change leaves the VM as it was and unlocked.
    assert!(!vmm.is_locked(id));
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::PowerOff);
    // Hot-adding a SCSI disk to a running VM works.
    let sub = vmm.start_vm(&id.into()).unwrap();
    wait(&mut vmm, &sub);
    let added = vmm
        .new_disk_drive(&NewDiskDrive {
            target: DeviceTarget::Vm(id.into()),
            bus_type: BusType::SCSI,
            bus: 0,
            lun: 5,
            volume_type: VolumeType::None,
            source: DiskSourceRequest::Blank {
                size_mb: 2048,
                dynamic: false,
                file_name: Some("data.vhdx".into()),
            },
        })
        .unwrap()
        .unwrap();
    assert_eq!(added.object.device.vhd.vhd_type, VhdType::Fixed);
    assert_eq!(added.object.device.vhd.size_bytes, 2 * GIB);
}

#[test]
fn generation_mismatch_for_vhd_format() {
    let (mut vmm, _clock) = vmm();
    vmm.write_library_file(&format!("{SHARE}\\VHDs\\old.vhd"), vec![0; 16])
        .unwrap();
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: None,
        })
        .unwrap();
    wait(&mut vmm, &sub);
    let err = vmm
        .new_vm(&NewVm::new(
            "gen2",
            VmSource::VirtualHardDisk {
                vhd: "old.vhd".into(),
                host: HOST.into(),
                path: None,
                generation: Some(2),
            },
        ))
        .unwrap_err();
    assert_eq!(err.id, id::GENERATION_MISMATCH);
    assert!(err.message.contains("generation 2"));
    assert!(vmm.state().vms.is_empty(), "nothing is left behind");
    let sub = vmm
        .new_vm(&NewVm::new(
            "gen1",
            VmSource::VirtualHardDisk {
                vhd: "old.vhd".into(),
                host: HOST.into(),
                path: None,
                generation: None,
            },
        ))
        .unwrap();
    assert_eq!(sub.object.disks[0].bus_type, BusType::IDE);
}

#[test]
fn expand_disk_rules() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "disk");
    let drive = vmm.state().vm(id).unwrap().disks[0].id;
    // Template disk is 30 GB.
    let err = vmm
        .expand_disk(&ExpandDisk { drive, size_gb: 20 })
        .unwrap_err();
    assert_eq!(err.id, id::DISK_SHRINK);
    let same = vmm.expand_disk(&ExpandDisk { drive, size_gb: 30 }).unwrap();
    assert!(same.job.is_none());
    let sub = vmm.expand_disk(&ExpandDisk { drive, size_gb: 40 }).unwrap();
    assert_eq!(sub.object.maximum_size_bytes, 40 * GIB);
    assert_eq!(sub.job.as_ref().unwrap().name, "Expand virtual hard disk");
    wait(&mut vmm, &sub);
    assert_eq!(
        vmm.expand_disk(&ExpandDisk { drive, size_gb: -1 })
            .unwrap_err()
            .id,
        id::INVALID_PARAMETER
    );
    // Online: SCSI VHDX grows while running (default switch).
    let sub = vmm.start_vm(&id.into()).unwrap();
    wait(&mut vmm, &sub);
    let sub = vmm.expand_disk(&ExpandDisk { drive, size_gb: 50 }).unwrap();
    assert_eq!(sub.object.maximum_size_bytes, 50 * GIB);
    assert_eq!(vmm.state().vm(id).unwrap().status, VmState::Running);
    wait(&mut vmm, &sub);
    // With RequirePowerOff it is 640.
    vmm.behaviour_mut().online_expand = OnlineExpand::RequirePowerOff;
    assert_eq!(
        vmm.expand_disk(&ExpandDisk { drive, size_gb: 60 })
            .unwrap_err()
            .id,
        id::HARDWARE_CHANGE_NEEDS_POWEROFF
    );
    // Differencing disks never grow.
    let (mut vmm, _clock) = vmm_with(Options {
        seed: 1,
        ..Options::default()
    });
    let id = create_off(&mut vmm, "diff");
    let drive = vmm.state().vm(id).unwrap().disks[0].id;
    let mut snap = vmm.snapshot();
    snap.state.vms[0].disks[0].vhd.parent = Some("parent.vhdx".into());
    let mut vmm = Vmm::from_snapshot(
        snap,
        Options::default(),
        std::sync::Arc::new(scvmm_sim::vmm::ManualClock::default()),
        Box::new(scvmm_sim::vmm::SeededIds::new(3)),
    );
    assert_eq!(
        vmm.expand_disk(&ExpandDisk { drive, size_gb: 99 })
            .unwrap_err()
            .id,
        id::DIFFERENCING_DISK
    );
}

#[test]
fn dvd_iso_copy_link_and_no_media() {
    let (mut vmm, _clock) = vmm();
    let iso = seed_iso(&mut vmm, "a.iso", b"AAAA");
    let id = create_off(&mut vmm, "dvd");
    let drive = vmm.state().vm(id).unwrap().dvd_drives[0].id;
    // Copy.
    let sub = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::Iso {
                iso: iso.into(),
                link: false,
            },
        })
        .unwrap()
        .unwrap();
    wait(&mut vmm, &sub);
    let copy = sub.object.device.iso.unwrap();
    assert_ne!(copy, iso);
    let copy_path = vmm.state().iso(copy).unwrap().share_path.clone();
    assert_eq!(vmm.read_file(&copy_path).unwrap(), b"AAAA");
    // -NoMedia deletes the host copy.
    let sub = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::NoMedia,
        })
        .unwrap()
        .unwrap();
    wait(&mut vmm, &sub);
    assert!(vmm.state().iso(copy).is_none());
    assert!(vmm.read_file(&copy_path).is_none());
    // Link.
    let sub = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::Iso {
                iso: iso.into(),
                link: true,
            },
        })
        .unwrap()
        .unwrap();
    assert_eq!(sub.object.device.iso, Some(iso));
    assert!(sub.object.device.linked);
    wait(&mut vmm, &sub);
    // Media changes work on a running VM.
    let s = vmm.start_vm(&id.into()).unwrap();
    wait(&mut vmm, &s);
    let sub = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::NoMedia,
        })
        .unwrap()
        .unwrap();
    wait(&mut vmm, &sub);
    // 12700 when hosts cannot read the library.
    vmm.behaviour_mut().hosts_can_read_library = false;
    let err = vmm
        .set_dvd_drive(&SetDvdDrive {
            target: DvdTarget::Drive(drive),
            media: DvdMediaRequest::Iso {
                iso: iso.into(),
                link: true,
            },
        })
        .unwrap_err();
    assert_eq!(err.id, id::LINKED_ISO_ACCESS);
    assert!(err.message.contains("0x80070005"));
}

#[test]
fn adapter_queries_and_static_mac() {
    let (mut vmm, _clock) = vmm();
    let id = create_off(&mut vmm, "nic");
    let sub = vmm
        .new_network_adapter(&NewNetworkAdapter {
            target: Some(DeviceTarget::Vm(id.into())),
            vm_network: Some("Prod-VLAN100".into()),
            mac_address: Some("00-1d-d8-b7-1c-ff".into()),
            ..Default::default()
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        sub.object.device.mac_address.as_deref(),
        Some("00:1D:D8:B7:1C:FF")
    );
    assert_eq!(sub.object.device.slot_id, 1);
    wait(&mut vmm, &sub);
    let all = vmm
        .get_network_adapters(&AdapterQuery {
            vm: Some(id.into()),
            id: None,
        })
        .unwrap();
    assert_eq!(all.len(), 2);
    let one = vmm
        .get_network_adapters(&AdapterQuery {
            vm: None,
            id: Some(sub.object.device.id),
        })
        .unwrap();
    assert_eq!(one[0].vm, id);
    // MAC changes need PowerOff; network changes do not.
    let s = vmm.start_vm(&id.into()).unwrap();
    wait(&mut vmm, &s);
    let mut req = SetNetworkAdapter::new(AdapterTarget::Adapter(sub.object.device.id));
    req.mac_address_type = Some(MacAddressType::Static);
    assert_eq!(
        vmm.set_network_adapter(&req).unwrap_err().id,
        id::HARDWARE_CHANGE_NEEDS_POWEROFF
    );
    let mut req = SetNetworkAdapter::new(AdapterTarget::Adapter(sub.object.device.id));
    req.vm_network = Some("Dev-VLAN200".into());
    let changed = vmm.set_network_adapter(&req).unwrap().unwrap();
    let dev = vmm
        .inventory()
        .vm_network_by_name("Dev-VLAN200")
        .unwrap()
        .id;
    assert_eq!(changed.object.device.vm_network, Some(dev));
    assert_eq!(
        vmm.get_dvd_drives(&AdapterQuery {
            vm: Some(id.into()),
            id: None
        })
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        vmm.get_disk_drives(&AdapterQuery {
            vm: Some(id.into()),
            id: None
        })
        .unwrap()
        .len(),
        1
    );
    // Template NIC override by slot through a job group.
    let g = Uuid::from_u128(11);
    let mut req = SetNetworkAdapter::new(AdapterTarget::Slot {
        slot_id: 0,
        job_group: g,
    });
    req.vm_network = Some("Dev-VLAN200".into());
    assert!(vmm.set_network_adapter(&req).unwrap().is_none());
    let mut new = new_from_template("override");
    new.job_group = Some(g);
    let vm = vmm.new_vm(&new).unwrap().object;
    assert_eq!(vm.adapters[0].vm_network, Some(dev));
}

// ---- processor options, IOPS caps, named copies, Fibre Channel ---------------

#[test]
fn new_vm_takes_the_processor_options_and_shows_them() {
    let (mut vmm, _clock) = vmm();
    let mut req = new_from_template("flags");
    req.cpu_limit_for_migration = Some(true);
    req.cpu_limit_functionality = Some(false);
    req.enable_nested_virtualization = Some(true);
    let sub = vmm.new_vm(&req).unwrap();
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(sub.object.id).unwrap().clone();
    assert!(vm.cpu_limit_for_migration && !vm.cpu_limit_functionality && vm.nested_virtualization);
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualMachine, vm.id))
        .unwrap();
    assert_eq!(view.get("LimitCPUForMigration"), Some(&Value::Bool(true)));
    assert_eq!(view.get("LimitCPUFunctionality"), Some(&Value::Bool(false)));
    assert_eq!(
        view.get("ExposeVirtualizationExtensions"),
        Some(&Value::Bool(true))
    );
    // Left out: off, as in VMM.
    let plain = create_off(&mut vmm, "plain");
    let vm = vmm.state().vm(plain).unwrap();
    assert!(
        !vm.cpu_limit_for_migration && !vm.cpu_limit_functionality && !vm.nested_virtualization
    );
}

#[test]
fn set_disk_drive_caps_iops_on_a_running_vm() {
    let (mut vmm, _clock) = vmm();
    let id = create_running(&mut vmm, "capped");
    let drive = vmm.state().vm(id).unwrap().disks[0].id;
    let sub = vmm
        .set_disk_drive(&SetDiskDrive {
            drive,
            iops_maximum: Some(750),
        })
        .unwrap();
    assert_eq!(sub.object.device.iops_maximum, 750);
    assert_eq!(
        sub.job.as_ref().unwrap().name,
        "Change properties of virtual disk drive"
    );
    assert_eq!(
        vmm.state().vm(id).unwrap().status,
        VmState::Running,
        "a live change"
    );
    wait(&mut vmm, &sub);
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualDiskDrive, drive))
        .unwrap();
    assert_eq!(view.get("IOPSMaximum"), Some(&Value::Int(750)));
    // 0 lifts the cap.
    let sub = vmm
        .set_disk_drive(&SetDiskDrive {
            drive,
            iops_maximum: Some(0),
        })
        .unwrap();
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(id).unwrap().disks[0].iops_maximum, 0);
    let err = vmm
        .set_disk_drive(&SetDiskDrive {
            drive: Uuid::from_u128(7),
            iops_maximum: Some(1),
        })
        .unwrap_err();
    assert_eq!(err.id, id::NOT_FOUND);
}

#[test]
fn a_library_copy_takes_the_file_name_it_is_given() {
    let (mut vmm, _clock) = vmm();
    let g = Uuid::from_u128(77);
    vmm.new_disk_drive(&NewDiskDrive {
        target: DeviceTarget::JobGroup(g),
        bus_type: BusType::SCSI,
        bus: 0,
        lun: 3,
        volume_type: VolumeType::None,
        source: DiskSourceRequest::VhdAs {
            vhd: "ubuntu-24.04-server-cloudimg-amd64.vhdx".into(),
            file_name: "node-1-disk0.vhdx".into(),
        },
    })
    .unwrap();
    let mut req = new_from_template("named");
    req.job_group = Some(g);
    let sub = vmm.new_vm(&req).unwrap();
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(sub.object.id).unwrap();
    let copy = vm.disks.iter().find(|d| d.lun == 3).unwrap();
    assert_eq!(copy.vhd.name, "node-1-disk0.vhdx");
    assert!(copy.vhd.location.ends_with("\\named\\node-1-disk0.vhdx"));
    assert_eq!(copy.vhd.maximum_size_bytes, 30 * GIB, "the image's size");
    // Growing it works like any copy.
    let drive = copy.id;
    let sub = vmm.expand_disk(&ExpandDisk { drive, size_gb: 45 }).unwrap();
    wait(&mut vmm, &sub);
    assert_eq!(sub.object.name, "node-1-disk0.vhdx");
    assert_eq!(sub.object.maximum_size_bytes, 45 * GIB);
    let err = vmm
        .new_disk_drive(&NewDiskDrive {
            target: DeviceTarget::JobGroup(g),
            bus_type: BusType::SCSI,
            bus: 0,
            lun: 4,
            volume_type: VolumeType::None,
            source: DiskSourceRequest::VhdAs {
                vhd: "ubuntu-24.04-server-cloudimg-amd64.vhdx".into(),
                file_name: " ".into(),
            },
        })
        .unwrap_err();
    assert_eq!(err.id, id::INVALID_PARAMETER);
}

#[test]
fn fibre_channel_adapters_bind_to_the_san_on_the_vms_host() {
    let (mut vmm, _clock) = vmm();
    let classes = vmm.get_fabric_classifications(Some("gold*"));
    assert_eq!(classes.len(), 1);
    let on_hv01 = vmm
        .get_fibre_channel_sans(Some(&HOST.into()), None)
        .unwrap();
    assert_eq!(on_hv01.len(), 1);
    assert_eq!(
        vmm.get_fibre_channel_sans(None, Some("FabricA"))
            .unwrap()
            .len(),
        4
    );
    // Another host's SAN object stands for the fabric's SAN of that name.
    let on_hv02 = vmm
        .get_fibre_channel_sans(Some(&"hv02.contoso.com".into()), None)
        .unwrap();
    let g = Uuid::from_u128(99);
    let staged = vmm
        .new_fibre_channel_adapter(&NewFibreChannelAdapter {
            target: DeviceTarget::JobGroup(g),
            virtual_san: Some(on_hv02[0].id.into()),
            classification: Some("Gold FC".into()),
        })
        .unwrap();
    assert!(staged.is_none(), "staging creates nothing");
    let mut req = new_from_template("fc");
    req.job_group = Some(g);
    let sub = vmm.new_vm(&req).unwrap();
    wait(&mut vmm, &sub);
    let vm = vmm.state().vm(sub.object.id).unwrap().clone();
    assert_eq!(vm.fibre_channel_adapters.len(), 1);
    assert_eq!(
        vm.fibre_channel_adapters[0].virtual_san,
        Some(on_hv01[0].id)
    );
    assert_eq!(
        vm.fibre_channel_adapters[0].classification,
        Some(classes[0].id)
    );
    let view = vmm
        .view(ObjectRef::new(ObjectKind::VirtualMachine, vm.id))
        .unwrap();
    assert!(matches!(
        view.get("VirtualFibreChannelAdapters"),
        Some(Value::Array(a)) if a.len() == 1
    ));
    let adapter = vmm
        .view(ObjectRef::new(
            ObjectKind::VirtualFibreChannelAdapter,
            vm.fibre_channel_adapters[0].id,
        ))
        .unwrap();
    assert_eq!(
        adapter.get("VirtualFibreChannelSAN"),
        Some(&Value::Ref(ObjectRef::new(
            ObjectKind::FibreChannelSan,
            on_hv01[0].id
        )))
    );

    // Unknown names are VMM's 801; a bare SAN name shared by four hosts
    // is ambiguous (12416): pass the object.
    for (san, class, want) in [
        (Some("FabricZ"), None, id::NOT_FOUND),
        (None, Some("Tin FC"), id::NOT_FOUND),
        (Some("FabricA"), None, id::INVALID_PARAMETER),
    ] {
        let err = vmm
            .new_fibre_channel_adapter(&NewFibreChannelAdapter {
                target: DeviceTarget::JobGroup(g),
                virtual_san: san.map(Into::into),
                classification: class.map(Into::into),
            })
            .unwrap_err();
        assert_eq!(err.id, want, "{san:?} {class:?}: {err:?}");
    }

    // A host without the fabric cannot take the VM.
    vmm.new_fibre_channel_adapter(&NewFibreChannelAdapter {
        target: DeviceTarget::JobGroup(g),
        virtual_san: None,
        classification: Some("Gold FC".into()),
    })
    .unwrap();
    let mut dev = NewVm::new(
        "fc-dev",
        VmSource::Template {
            template: TEMPLATE.into(),
            host: "hv05.contoso.com".into(),
            path: None,
        },
    );
    dev.job_group = Some(g);
    let err = vmm.new_vm(&dev).unwrap_err();
    assert_eq!(err.id, id::NO_SUITABLE_HOST);
    assert!(format!("{err:?}").contains("no virtual Fibre Channel SAN classified Gold FC"));

    // Added to an existing VM: powered off only, as Hyper-V wants.
    let running = create_running(&mut vmm, "fc-hot");
    let err = vmm
        .new_fibre_channel_adapter(&NewFibreChannelAdapter {
            target: DeviceTarget::Vm(running.into()),
            virtual_san: Some(on_hv01[0].id.into()),
            classification: None,
        })
        .unwrap_err();
    assert_eq!(err.id, id::HARDWARE_CHANGE_NEEDS_POWEROFF);
    let off = create_off(&mut vmm, "fc-cold");
    let sub = vmm
        .new_fibre_channel_adapter(&NewFibreChannelAdapter {
            target: DeviceTarget::Vm(off.into()),
            virtual_san: Some(on_hv01[0].id.into()),
            classification: None,
        })
        .unwrap()
        .unwrap();
    wait(&mut vmm, &sub);
    assert_eq!(vmm.state().vm(off).unwrap().fibre_channel_adapters.len(), 1);
}
