//! Inventory and state files: the default inventory, YAML/JSON round
//! trips, hand-written files without ids, validation.

mod vmm_support;

use scvmm_sim::vmm::cmdlets::{NameId, ReadLibraryShare, VmQuery};
use scvmm_sim::vmm::errors::id;
use scvmm_sim::vmm::{Inventory, ManualClock, Options, SeededIds, Snapshot, VmState, Vmm};
use std::sync::Arc;
use vmm_support::*;

#[test]
fn default_inventory_is_valid_and_realistic() {
    let inv = Inventory::default_inventory();
    inv.validate().unwrap();
    assert!(inv.hosts.len() >= 4 && inv.hosts.len() <= 6);
    assert!(
        inv.host_groups
            .iter()
            .any(|g| g.path == "All Hosts\\Prod\\Rack1")
    );
    assert_eq!(inv.clouds.len(), 1);
    assert_eq!(inv.templates[0].name, "Ubuntu 24.04");
    assert_eq!(inv.hardware_profiles.len(), 1);
    assert_eq!(inv.vhds.len(), 1);
    assert_eq!(
        inv.vhds[0].location,
        "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\VHDs\\ubuntu-24.04-server-cloudimg-amd64.vhdx"
    );
    assert_eq!(inv.ip_pools.len(), 1);
    assert_eq!(inv.library_shares.len(), 1);
    assert!(inv.hosts.iter().all(|h| !h.id.is_nil()));
    // Ids are stable across builds.
    assert_eq!(inv, Inventory::default_inventory());
}

#[test]
fn inventory_yaml_and_json_round_trip() {
    let inv = Inventory::default_inventory();
    let yaml = inv.to_yaml().unwrap();
    assert_eq!(Inventory::from_yaml(&yaml).unwrap(), inv);
    let json = inv.to_json().unwrap();
    assert_eq!(Inventory::from_json(&json).unwrap(), inv);
}

#[test]
fn hand_written_yaml_without_ids_loads() {
    let yaml = r#"
server:
  name: vmm.lab.local
hosts:
  - name: hv1.lab.local
    host_group: "All Hosts\\Lab"
    logical_processors: 8
    memory_mb: 32768
logical_networks:
  - name: LabNet
vm_networks:
  - name: Lab
    logical_network: LabNet
vm_subnets:
  - name: Lab_0
    vm_network: Lab
    subnet: 192.168.10.0/24
ip_pools:
  - name: LabPool
    vm_subnet: Lab_0
    subnet: 192.168.10.0/24
    range_start: 192.168.10.100
    range_end: 192.168.10.110
    gateways: [192.168.10.1]
library_shares:
  - name: Lib
    path: "\\\\vmm.lab.local\\Lib"
    library_server: vmm.lab.local
vhds:
  - name: disk.vhdx
    share: Lib
    size_bytes: 1000
    maximum_size_bytes: 2000
templates:
  - name: T
    cpu_count: 1
    memory_mb: 1024
    disks:
      - { bus_type: SCSI, bus: 0, lun: 0, volume_type: BootAndSystem, vhd: disk.vhdx }
    nics:
      - { vm_network: Lab }
"#;
    let inv = Inventory::from_yaml(yaml).unwrap();
    assert!(
        inv.host_group_by_path("All Hosts").is_some(),
        "root and parents are added"
    );
    assert!(inv.host_group_by_path("All Hosts\\Lab").is_some());
    assert_eq!(inv.server.port, 8100);
    assert_eq!(inv.hosts[0].reserve_memory_mb, 2048);
    assert_eq!(inv.vhds[0].location, "\\\\vmm.lab.local\\Lib\\disk.vhdx");
    let again = Inventory::from_yaml(yaml).unwrap();
    assert_eq!(inv.hosts[0].id, again.hosts[0].id, "derived ids are stable");

    let (mut vmm, _clock) = Vmm::with_manual_clock(inv, Options::default());
    let sub = vmm
        .new_vm(&scvmm_sim::vmm::cmdlets::NewVm::new(
            "lab-1",
            scvmm_sim::vmm::cmdlets::VmSource::Template {
                template: "T".into(),
                host: "hv1".into(),
                path: None,
            },
        ))
        .unwrap();
    wait(&mut vmm, &sub);
    assert_eq!(
        vmm.state().vm(sub.object.id).unwrap().status,
        VmState::PowerOff
    );
}

#[test]
fn broken_references_are_reported() {
    let yaml = r#"
server: { name: vmm }
hosts:
  - { name: h, host_group: "All Hosts", logical_processors: 1, memory_mb: 1, cluster: NOPE }
templates:
  - { name: T, cpu_count: 1, memory_mb: 1, hardware_profile: missing, disks: [ { bus_type: SCSI, bus: 0, lun: 0, vhd: none.vhdx } ] }
ip_pools:
  - { name: P, subnet: 10.0.0.0/24, range_start: 10.0.1.1, range_end: 10.0.0.5 }
"#;
    let err = Inventory::from_yaml(yaml).unwrap_err();
    assert_eq!(err.id, id::CONFIGURATION);
    for needle in [
        "no host cluster NOPE",
        "no hardware profile missing",
        "no VHD none.vhdx",
        "range outside",
        "range start after end",
    ] {
        assert!(err.message.contains(needle), "{needle} in {}", err.message);
    }
    assert_eq!(
        Inventory::from_yaml("server: [").unwrap_err().id,
        id::CONFIGURATION
    );
}

#[test]
fn snapshot_with_state_round_trips_and_resumes() {
    let (mut vmm, _clock) = vmm();
    let iso_path = "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\s\\seed.iso";
    vmm.write_library_file(iso_path, vec![0, 1, 2, 255])
        .unwrap();
    let sub = vmm
        .read_library_share(&ReadLibraryShare {
            share: "MSSCVMMLibrary".into(),
            path: None,
        })
        .unwrap();
    wait(&mut vmm, &sub);
    let running = create_running(&mut vmm, "keep");
    let creating = vmm.new_vm(&new_from_template("mid")).unwrap().object.id;
    let snap = vmm.snapshot();
    let yaml = snap.to_yaml().unwrap();
    let back = Snapshot::from_yaml(&yaml).unwrap();
    assert_eq!(back, snap);
    let json = snap.to_json().unwrap();
    assert_eq!(Snapshot::from_json(&json).unwrap(), snap);
    // `--state` writes JSON and reads either form.
    assert_eq!(Snapshot::parse(&json).unwrap(), snap);
    assert_eq!(Snapshot::parse(&yaml).unwrap(), snap);

    // Resume with a clock at the same time: the pending job still completes.
    let clock2 = ManualClock::new(vmm.now());
    let mut resumed = Vmm::from_snapshot(
        back,
        Options::default(),
        Arc::new(clock2.clone()),
        Box::new(SeededIds::new(99)),
    );
    assert_eq!(resumed.read_file(iso_path).unwrap(), vec![0, 1, 2, 255]);
    assert_eq!(resumed.get_isos(&NameId::default()).unwrap().len(), 1);
    assert_eq!(
        resumed.state().vm(running).unwrap().status,
        VmState::Running
    );
    assert_eq!(
        resumed.state().vm(creating).unwrap().status,
        VmState::UnderCreation
    );
    clock2.advance(std::time::Duration::from_secs(30));
    let vms = resumed
        .get_vms(&VmQuery {
            id: Some(creating),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(vms[0].status, VmState::PowerOff);
}

#[test]
fn options_are_serde() {
    let mut options = Options::default();
    options.behaviour.system_refresh_jobs = true;
    options.latencies.factor = 0.01;
    options.faults.push(scvmm_sim::vmm::FaultRule {
        operation: "Start-*".into(),
        object: "*".into(),
        probability: Some(0.5),
        count: None,
        effect: scvmm_sim::vmm::FaultEffect::Delay { seconds: 3.0 },
    });
    let yaml = serde_saphyr::to_string(&options).unwrap();
    let back: Options = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(back, options);
    let partial: Options =
        serde_saphyr::from_str("behaviour:\n  stop_default: GuestShutdown\n").unwrap();
    assert_eq!(
        partial.behaviour.stop_default,
        scvmm_sim::vmm::config::StopDefault::GuestShutdown
    );
    assert_eq!(partial.latencies, scvmm_sim::vmm::Latencies::default());
}
