//! The SCVMM operations against an in-process scvmm-sim over NTLM-sealed
//! WinRM: the full lifecycle, idempotent create, both sources and both
//! placements, VMM errors, IP pools, hostile strings, and the pure script
//! encoding and decoding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use operator::bootstrap::{DeviceConfig, SeedSpec, build_iso, render};
use operator::scvmm::script::{self, Operation, ScriptOutput};
use operator::scvmm::{
    CreateVm, DiskFollowUp, DiskRequest, DynamicMemoryMb, EndpointConfig, FibreChannelRequest,
    HardwareOptions, NicRequest, Placement, ScvmmClient, ScvmmError, StopMode, VmInfo, VmSource,
};
use proptest::prelude::*;
use scvmm_sim::backend::PowerShellBackend;
use scvmm_sim::cli::Args;
use scvmm_sim::server::RunningSim;
use scvmm_sim::vmm::{FaultEffect, FaultRule, SystemClock};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wsman::transport::{ClientAuth, Encryption, TlsTrust};

const SEEDS: &str = "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds";

struct Rig {
    sim: RunningSim,
    client: ScvmmClient,
}

async fn rig() -> Rig {
    let args = Args::parse_from([
        "scvmm-sim",
        "--listen",
        "127.0.0.1:0",
        "--latency-scale",
        "0.01",
    ]);
    let sim = scvmm_sim::server::start(&args, |vmm| {
        Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
            vmm,
            Arc::new(SystemClock),
        )))
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{}/wsman", sim.handle.local_addr().port());
    let client = ScvmmClient::new(endpoint(&url)).unwrap();
    Rig { sim, client }
}

fn endpoint(url: &str) -> EndpointConfig {
    EndpointConfig {
        url: url.to_string(),
        auth: ClientAuth::Ntlm {
            user: "CORP\\capi-svc".into(),
            password: "scvmm-sim".into(),
        },
        encryption: Encryption::Auto,
        tls: TlsTrust::default(),
        library_share: SEEDS.to_string(),
        vmm_server: None,
        max_connections: 4,
        operation_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(120),
        lock_retry: Duration::from_millis(200),
    }
}

fn seed_iso(instance_id: &str, hostname: &str, address: &str) -> Vec<u8> {
    let seed = render(&SeedSpec {
        instance_id: instance_id.into(),
        hostname: hostname.into(),
        devices: vec![DeviceConfig {
            name: "eth0".into(),
            addresses: vec![format!("{address}/24")],
            gateway4: Some("10.10.100.1".into()),
            ..Default::default()
        }],
        user_data: b"#cloud-config\n".to_vec(),
    })
    .unwrap();
    build_iso(&seed).unwrap()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn template_request(instance_id: &str, name: &str) -> CreateVm {
    CreateVm {
        instance_id: instance_id.to_string(),
        cluster: "default/ops".to_string(),
        name: name.to_string(),
        source: VmSource::Template {
            name: "Ubuntu 24.04".into(),
        },
        placement: Placement::HostGroup("All Hosts\\Prod\\Rack1".into()),
        cpu_count: 2,
        memory_mb: Some(4096),
        dynamic_memory: None,
        disks: vec![],
        nics: vec![NicRequest {
            vm_network: "Prod-VLAN100".into(),
            ..Default::default()
        }],
        availability_sets: vec![],
        custom_properties: BTreeMap::new(),
        tag: None,
        description: Some("a test machine".into()),
        start_action: None,
        stop_action: None,
        checkpoint_type: None,
        hardware: HardwareOptions::default(),
        seed_iso: seed_iso(instance_id, name, "10.10.100.77"),
        seed_iso_name: format!("capi-seed-{instance_id}.iso"),
    }
}

async fn wait_for(
    client: &ScvmmClient,
    vm_id: &str,
    what: &str,
    done: impl Fn(&VmInfo) -> bool,
) -> VmInfo {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let vm = client.get_vm(vm_id).await.unwrap().expect("the VM exists");
        if done(&vm) {
            return vm;
        }
        assert!(Instant::now() < deadline, "{what}: never happened: {vm:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// WinRM script runs (commands started on the emulator) and HTTP round
/// trips that `f` took.
async fn measure<T>(rig: &Rig, f: impl std::future::Future<Output = T>) -> (T, u64, u64) {
    let runs = rig
        .sim
        .service
        .stats()
        .commands_started
        .load(Ordering::Relaxed);
    let trips = rig.client.stats().snapshot().round_trips;
    let out = f.await;
    (
        out,
        rig.sim
            .service
            .stats()
            .commands_started
            .load(Ordering::Relaxed)
            - runs,
        rig.client.stats().snapshot().round_trips - trips,
    )
}

// ---- the lifecycle ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vm_lives_from_create_to_remove_and_leaves_nothing_behind() {
    let rig = rig().await;
    let mut costs: Vec<(&str, u64, u64)> = Vec::new();
    let id = new_id();
    let req = template_request(&id, "lifecycle-1");
    println!("seed ISO: {} bytes", req.seed_iso.len());

    let ((), runs, trips) = measure(&rig, async {
        rig.client.server_info().await.unwrap();
    })
    .await;
    costs.push(("server_info", runs, trips));

    let (vm, runs, trips) = measure(&rig, rig.client.create_vm(&req)).await;
    let vm = vm.unwrap();
    costs.push(("create_vm", runs, trips));
    assert_eq!(vm.status, "UnderCreation");
    assert_eq!(vm.instance_id.as_deref(), Some(id.as_str()));
    assert_eq!(vm.name, "lifecycle-1");
    assert_eq!(vm.dvd_iso.as_deref(), Some(req.seed_iso_name.as_str()));
    let job = vm.job.clone().expect("the create job");
    assert_eq!(job.name, "Create virtual machine");
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let state = vmm.state();
        assert_eq!(state.vms.len(), 1);
        let library = format!("{SEEDS}\\{}", req.seed_iso_name);
        let file = state
            .files
            .iter()
            .find(|f| f.path.eq_ignore_ascii_case(&library))
            .expect("the seed is in the library");
        assert_eq!(file.bytes, req.seed_iso, "the seed arrived byte for byte");
        let m = &state.vms[0];
        assert_eq!(m.custom_properties.get("CapiScvmmInstanceId"), Some(&id));
        assert_eq!(
            m.description,
            format!("a test machine\ncapi-scvmm-instance-id={id}")
        );
    }

    // The create job starts the VM (-StartVM): no start call is needed.
    let (created, runs, trips) = measure(
        &rig,
        wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running"),
    )
    .await;
    costs.push(("get_vm (each poll)", 1, trips / runs.max(1)));
    assert_eq!(created.job.as_ref().unwrap().status, "Completed");
    assert_eq!(
        created.host_group.as_deref(),
        Some("All Hosts\\Prod\\Rack1")
    );
    assert!(created.bios_guid.is_some());

    let (found, runs, trips) = measure(&rig, rig.client.find_vm(&id)).await;
    costs.push(("find_vm", runs, trips));
    assert_eq!(found.unwrap().unwrap().id, vm.id);
    let (listed, runs, trips) = measure(&rig, rig.client.list_vms()).await;
    costs.push(("list_vms", runs, trips));
    assert_eq!(
        listed
            .unwrap()
            .iter()
            .map(|v| v.id.clone())
            .collect::<Vec<_>>(),
        vec![vm.id.clone()]
    );
    let (job_info, runs, trips) = measure(&rig, rig.client.get_job(&job.id)).await;
    costs.push(("get_job", runs, trips));
    assert_eq!(job_info.unwrap().unwrap().status, "Completed");

    let running = wait_for(&rig.client, &vm.id, "guest addresses", |v| {
        v.status == "Running" && v.ipv4_addresses().any(|a| a == "10.10.100.77")
    })
    .await;
    println!("running: {running:#?}");
    // Starting a running VM changes nothing.
    assert_eq!(rig.client.start_vm(&vm.id).await.unwrap().status, "Running");

    let (ejected, runs, trips) =
        measure(&rig, rig.client.eject_seed(&vm.id, &req.seed_iso_name)).await;
    ejected.unwrap();
    costs.push(("eject_seed", runs, trips));
    let after = rig.client.get_vm(&vm.id).await.unwrap().unwrap();
    assert_eq!(after.dvd_iso, None, "the DVD drive is empty");
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let state = vmm.state();
        assert!(
            state.isos.iter().all(|i| !i.name.contains(&id)),
            "no copy of the seed is left: {:?}",
            state.isos
        );
        assert!(state.files.iter().all(|f| !f.path.contains(&id)));
    }
    // Idempotent.
    rig.client
        .eject_seed(&vm.id, &req.seed_iso_name)
        .await
        .unwrap();
    let (removed, runs, trips) = measure(&rig, rig.client.remove_seed(&req.seed_iso_name)).await;
    removed.unwrap();
    costs.push(("remove_seed", runs, trips));

    let (stopped, runs, trips) =
        measure(&rig, rig.client.stop_vm(&vm.id, StopMode::Shutdown)).await;
    costs.push(("stop_vm", runs, trips));
    assert!(matches!(
        stopped.unwrap().status.as_str(),
        "PoweringOff" | "PowerOff"
    ));
    wait_for(&rig.client, &vm.id, "PowerOff", |v| v.status == "PowerOff").await;
    assert_eq!(
        rig.client
            .stop_vm(&vm.id, StopMode::Force)
            .await
            .unwrap()
            .status,
        "PowerOff",
        "stopping a stopped VM changes nothing"
    );
    // Starting a stopped VM (restartPoweredOff) is asynchronous.
    let (started, runs, trips) = measure(&rig, rig.client.start_vm(&vm.id)).await;
    costs.push(("start_vm", runs, trips));
    assert!(
        matches!(started.unwrap().status.as_str(), "Starting" | "Running"),
        "start is asynchronous"
    );
    wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
    rig.client.stop_vm(&vm.id, StopMode::Force).await.unwrap();
    wait_for(&rig.client, &vm.id, "PowerOff", |v| v.status == "PowerOff").await;

    let (removing, runs, trips) = measure(&rig, rig.client.remove_vm(&vm.id)).await;
    removing.unwrap();
    costs.push(("remove_vm", runs, trips));
    let deadline = Instant::now() + Duration::from_secs(30);
    while rig.client.get_vm(&vm.id).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the VM never went away");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rig.client.find_vm(&id).await.unwrap(), None);
    rig.client.remove_vm(&vm.id).await.unwrap();

    let (grant, runs, trips) = measure(
        &rig,
        rig.client
            .grant_ip("Prod-VLAN100-Pool", "capi-scvmm:x:eth0"),
    )
    .await;
    grant.unwrap();
    costs.push(("grant_ip", runs, trips));
    let (revoked, runs, trips) = measure(&rig, rig.client.revoke_ips("capi-scvmm:x:eth0")).await;
    assert_eq!(revoked.unwrap(), 1);
    costs.push(("revoke_ips", runs, trips));

    {
        let vmm = rig.sim.vmm.lock().unwrap();
        assert!(vmm.state().vms.is_empty());
        assert!(vmm.state().isos.is_empty(), "{:?}", vmm.state().isos);
    }
    assert_eq!(rig.sim.service.open_shells(), 0);

    println!("\nWinRM cost per operation (script runs, HTTP round trips):");
    for (op, runs, trips) in &costs {
        println!("  {op:<20} {runs} run(s), {trips} round trips");
    }
}

// ---- idempotent create ------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creating_twice_yields_one_vm_even_when_the_reply_was_lost() {
    let rig = rig().await;
    let id = new_id();
    let req = template_request(&id, "twice");
    let first = rig.client.create_vm(&req).await.unwrap();
    let (second, runs, _) = measure(&rig, rig.client.create_vm(&req)).await;
    assert_eq!(second.unwrap().id, first.id);
    assert_eq!(runs, 1, "adoption is one run");

    // A lost reply: the create script ran, its answer never arrived.
    let lost = new_id();
    let req = template_request(&lost, "lost-reply");
    let mut doc = script::create_document(&req, SEEDS, 0, Duration::from_millis(200));
    doc.insert("server".into(), "localhost".into());
    let text = script::render(Operation::CreateVm, &Value::Object(doc));
    let pool = wsman::client::Pool::new(
        wsman::transport::Connector::new(wsman::transport::ClientConfig::new(
            rig.client.endpoint(),
            ClientAuth::Ntlm {
                user: "CORP\\capi-svc".into(),
                password: "scvmm-sim".into(),
            },
        ))
        .unwrap(),
        rig.client.endpoint(),
        1,
    );
    let dropped = wsman::client::run_powershell(&pool, &text, &Default::default())
        .await
        .unwrap();
    assert!(
        dropped.stdout.contains("UnderCreation"),
        "{}",
        dropped.stdout
    );
    let adopted = rig.client.create_vm(&req).await.unwrap();
    assert_eq!(adopted.instance_id.as_deref(), Some(lost.as_str()));

    let vmm = rig.sim.vmm.lock().unwrap();
    let state = vmm.state();
    assert_eq!(state.vms.len(), 2, "one VM per machine");
    let creates = state
        .jobs
        .iter()
        .filter(|j| j.cmdlet_name == "New-SCVirtualMachine")
        .count();
    assert_eq!(creates, 2, "no second New-SCVirtualMachine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reply_lost_on_the_wire_is_retried_into_an_adoption() {
    let rig = rig().await;
    // The create script runs; the WinRM reply that carries its output is
    // dropped, as a broken connection would.
    rig.sim.vmm.lock().unwrap().faults_mut().add(FaultRule {
        operation: "WinRM:Receive".into(),
        object: "*cluster-api-provider-scvmm: create_vm*".into(),
        probability: None,
        count: Some(1),
        effect: FaultEffect::DropReply,
    });
    let id = new_id();
    let req = template_request(&id, "dropped-reply");
    let err = rig.client.create_vm(&req).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    let vm = rig.client.create_vm(&req).await.unwrap();
    assert_eq!(vm.instance_id.as_deref(), Some(id.as_str()));
    let vmm = rig.sim.vmm.lock().unwrap();
    assert_eq!(vmm.state().vms.len(), 1, "the retry adopted the VM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn power_off_overrides_a_hanging_guest_shutdown() {
    let rig = rig().await;
    let id = new_id();
    let vm = rig
        .client
        .create_vm(&template_request(&id, "stubborn"))
        .await
        .unwrap();
    wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
    // The guest ignores the shutdown request for ten minutes.
    rig.sim.vmm.lock().unwrap().faults_mut().add(FaultRule {
        operation: "Stop-SCVirtualMachine".into(),
        object: "stubborn".into(),
        probability: None,
        count: Some(1),
        effect: FaultEffect::Delay { seconds: 600.0 },
    });
    let stopping = rig
        .client
        .stop_vm(&vm.id, StopMode::Shutdown)
        .await
        .unwrap();
    assert_eq!(stopping.status, "PoweringOff");
    // Asking again changes nothing; asking for power off cancels the
    // shutdown job and turns the VM off.
    let again = rig
        .client
        .stop_vm(&vm.id, StopMode::Shutdown)
        .await
        .unwrap();
    assert_eq!(
        again.job.as_ref().map(|j| &j.id),
        stopping.job.as_ref().map(|j| &j.id)
    );
    rig.client.stop_vm(&vm.id, StopMode::Force).await.unwrap();
    let off = wait_for(&rig.client, &vm.id, "PowerOff", |v| v.status == "PowerOff").await;
    assert_eq!(
        off.job.unwrap().name,
        "Stop virtual machine",
        "powered off, not shut down"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_share_the_library_refresh() {
    let rig = rig().await;
    let ids: Vec<String> = (0..4).map(|_| new_id()).collect();
    let creates = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let client = rig.client.clone();
            let req = template_request(id, &format!("parallel-{i}"));
            async move { client.create_vm(&req).await }
        })
        .collect::<Vec<_>>();
    for vm in futures::future::join_all(creates).await {
        assert_eq!(vm.unwrap().status, "UnderCreation");
    }
    assert_eq!(rig.sim.vmm.lock().unwrap().state().vms.len(), 4);
    assert_eq!(rig.client.list_vms().await.unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_seed_is_uploaded_ahead_in_chunks() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "big-seed");
    // Bootstrap data that does not compress, as certificates do not.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let user_data: Vec<u8> = (0..140 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b'A' + (state % 26) as u8
        })
        .collect();
    let seed = render(&SeedSpec {
        instance_id: id.clone(),
        hostname: "big-seed".into(),
        devices: vec![],
        user_data,
    })
    .unwrap();
    req.seed_iso = build_iso(&seed).unwrap();
    let (vm, runs, trips) = measure(&rig, rig.client.create_vm(&req)).await;
    let vm = vm.unwrap();
    println!(
        "create_vm with a {} byte seed: {runs} script runs, {trips} round trips",
        req.seed_iso.len()
    );
    assert_eq!(runs, 2, "one upload run, then create with the tail");
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let file = vmm
            .state()
            .files
            .iter()
            .find(|f| f.path.ends_with(&req.seed_iso_name) && f.path.starts_with(SEEDS))
            .cloned()
            .unwrap();
        assert_eq!(file.bytes, req.seed_iso);
    }
    // Adoption stops at the first upload run.
    let (again, runs, _) = measure(&rig, rig.client.create_vm(&req)).await;
    assert_eq!(again.unwrap().id, vm.id);
    assert_eq!(runs, 1);
    wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
}

// ---- sources and placements ----------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hardware_profile_vm_boots_from_a_library_vhd() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "hw-profile");
    req.source = VmSource::HardwareProfile {
        profile: "Ubuntu-HW".into(),
        generation: Some(2),
        operating_system: Some("Ubuntu Linux 24.04 (64 bit)".into()),
    };
    req.placement = Placement::HostGroup("All Hosts\\Prod\\Rack2".into());
    req.memory_mb = Some(2048);
    req.dynamic_memory = Some(DynamicMemoryMb {
        minimum_mb: 1024,
        maximum_mb: 8192,
        buffer_percentage: Some(25),
    });
    req.disks = vec![
        DiskRequest {
            vhd: Some("ubuntu-24.04-server-cloudimg-amd64.vhdx".into()),
            dynamic: true,
            ..Default::default()
        },
        DiskRequest {
            size_gb: Some(20),
            dynamic: false,
            ..Default::default()
        },
    ];
    req.nics = vec![
        NicRequest {
            vm_network: "Prod-VLAN100".into(),
            vm_subnet: Some("Prod-VLAN100_0".into()),
            mac_address: Some("00:1D:D8:B7:1C:42".into()),
            ipv4_addresses: vec!["10.10.100.200".into()],
        },
        NicRequest {
            vm_network: "Dev-VLAN200".into(),
            ..Default::default()
        },
    ];
    req.start_action = Some("NeverAutoTurnOnVM".into());
    req.stop_action = Some("ShutdownGuestOS".into());
    req.checkpoint_type = Some("Production".into());
    let vm = rig.client.create_vm(&req).await.unwrap();
    assert_eq!(vm.host_group.as_deref(), Some("All Hosts\\Prod\\Rack2"));
    let vm = wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
    assert_eq!(vm.adapters.len(), 2);
    assert_eq!(
        vm.adapters[0].mac_address.as_deref(),
        Some("00:1D:D8:B7:1C:42")
    );
    assert_eq!(vm.adapters[0].ipv4_addresses, vec!["10.10.100.200"]);
    assert_eq!(vm.adapters[1].vm_network.as_deref(), Some("Dev-VLAN200"));

    let vmm = rig.sim.vmm.lock().unwrap();
    let m = &vmm.state().vms[0];
    assert_eq!(m.generation, 2);
    assert_eq!(m.memory_mb, 2048);
    assert!(m.dynamic_memory.enabled);
    assert_eq!(m.dynamic_memory.maximum_mb, 8192);
    assert_eq!(m.dynamic_memory.buffer_percentage, 25);
    assert_eq!(m.stop_action, "ShutdownGuestOS");
    assert_eq!(m.disks.len(), 2);
    assert_eq!(
        m.disks[0].vhd.name,
        "ubuntu-24.04-server-cloudimg-amd64.vhdx"
    );
    assert_eq!(format!("{:?}", m.disks[0].volume_type), "BootAndSystem");
    assert_eq!(m.disks[1].vhd.maximum_size_bytes, 20 * 1024 * 1024 * 1024);
    assert_eq!(m.dvd_drives.len(), 1);
    assert!(
        m.dvd_drives[0].iso.is_some(),
        "the seed is in the DVD drive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_template_vm_lands_in_a_cloud_with_its_extras() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "in-cloud");
    req.placement = Placement::Cloud("Prod Cloud".into());
    req.availability_sets = vec!["workers".into()];
    req.tag = Some("capi".into());
    req.custom_properties = BTreeMap::from([("Environment".into(), "production".into())]);
    req.disks = vec![DiskRequest {
        size_gb: Some(50),
        dynamic: true,
        ..Default::default()
    }];
    let vm = rig.client.create_vm(&req).await.unwrap();
    assert_eq!(vm.cloud.as_deref(), Some("Prod Cloud"));
    let vmm = rig.sim.vmm.lock().unwrap();
    let m = &vmm.state().vms[0];
    assert!(m.cloud.is_some());
    assert_eq!(m.availability_sets, vec!["workers"]);
    assert_eq!(m.tag, "capi");
    assert_eq!(
        m.custom_properties.get("Environment").map(String::as_str),
        Some("production")
    );
    assert_eq!(m.disks.len(), 2, "the template's disk and ours");
    assert_eq!(m.cpu_count, 2);
    assert_eq!(m.memory_mb, 4096);
}

// ---- hardware options, disk growth and IOPS, Fibre Channel -------------------------

const GIB: u64 = 1024 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processor_options_reach_the_new_vm() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "cpu-flags");
    req.hardware = HardwareOptions {
        cpu_limit_for_migration: Some(true),
        cpu_limit_functionality: Some(true),
        nested_virtualization: Some(true),
        fibre_channel: vec![],
    };
    let vm = rig.client.create_vm(&req).await.unwrap();
    // Nothing to do after the create job: it starts the VM itself.
    wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let m = &vmm.state().vms[0];
        assert!(m.cpu_limit_for_migration);
        assert!(m.cpu_limit_functionality);
        assert!(m.nested_virtualization);
    }

    // Left out, VMM's defaults (off) stay.
    let other = new_id();
    let vm = rig
        .client
        .create_vm(&template_request(&other, "no-flags"))
        .await
        .unwrap();
    let vmm = rig.sim.vmm.lock().unwrap();
    let m = vmm
        .state()
        .vms
        .iter()
        .find(|v| v.id.to_string() == vm.id)
        .unwrap();
    assert!(!m.cpu_limit_for_migration && !m.cpu_limit_functionality && !m.nested_virtualization);
}

/// Calls `start_new_vm` as the controller does: whenever the VM is off
/// and not busy, until it runs. Returns how many runs it took.
async fn first_start(rig: &Rig, vm_id: &str, instance: &str, disks: &[DiskFollowUp]) -> u32 {
    let iso = format!("capi-seed-{instance}.iso");
    let mut runs = 0;
    loop {
        let vm = wait_for(&rig.client, vm_id, "not busy", |v| !v.is_busy()).await;
        if vm.status == "Running" {
            return runs;
        }
        assert_eq!(vm.status, "PowerOff", "{vm:#?}");
        assert!(runs < 10, "never started: {vm:#?}");
        rig.client
            .start_new_vm(vm_id, instance, &iso, disks)
            .await
            .unwrap();
        runs += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vhd_copy_is_grown_and_disks_capped_before_the_first_start() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "grown");
    req.source = VmSource::HardwareProfile {
        profile: "Ubuntu-HW".into(),
        generation: Some(2),
        operating_system: Some("Ubuntu Linux 24.04 (64 bit)".into()),
    };
    req.placement = Placement::HostGroup("All Hosts\\Prod\\Rack2".into());
    req.disks = vec![
        // The library image is 30 GB.
        DiskRequest {
            vhd: Some("ubuntu-24.04-server-cloudimg-amd64.vhdx".into()),
            size_gb: Some(40),
            iops_maximum: Some(500),
            dynamic: true,
            ..Default::default()
        },
        DiskRequest {
            size_gb: Some(20),
            dynamic: true,
            iops_maximum: Some(1000),
            ..Default::default()
        },
        DiskRequest {
            size_gb: Some(10),
            dynamic: true,
            ..Default::default()
        },
    ];
    let follow_ups: Vec<DiskFollowUp> = req
        .disks
        .iter()
        .enumerate()
        .filter(|(_, d)| d.needs_follow_up())
        .map(|(index, d)| DiskFollowUp {
            index,
            size_gb: d.size_gb.filter(|_| d.vhd.is_some()),
            iops_maximum: d.iops_maximum,
        })
        .collect();
    assert_eq!(follow_ups.len(), 2);
    let vm = rig.client.create_vm(&req).await.unwrap();
    // The create job leaves the VM off: its drives must exist first.
    let off = wait_for(&rig.client, &vm.id, "created", |v| !v.is_busy()).await;
    assert_eq!(off.status, "PowerOff");
    let runs = first_start(&rig, &vm.id, &id, &follow_ups).await;
    assert_eq!(runs, 4, "grow, cap, cap, start: one change job per run");

    let vmm = rig.sim.vmm.lock().unwrap();
    let m = &vmm.state().vms[0];
    assert_eq!(m.disks.len(), 3);
    assert_eq!(m.disks[0].vhd.name, format!("{id}-disk0.vhdx"));
    assert_eq!(m.disks[0].vhd.maximum_size_bytes, 40 * GIB);
    assert_eq!(m.disks[0].iops_maximum, 500);
    assert_eq!(m.disks[1].vhd.maximum_size_bytes, 20 * GIB);
    assert_eq!(m.disks[1].iops_maximum, 1000);
    assert_eq!(m.disks[2].iops_maximum, 0, "no cap asked for");
    // As VMM shows them to scripts.
    let drive = vmm
        .view(scvmm_sim::vmm::ObjectRef::new(
            scvmm_sim::vmm::ObjectKind::VirtualDiskDrive,
            m.disks[0].id,
        ))
        .unwrap();
    assert_eq!(format!("{:?}", drive.get("IOPSMaximum")), "Some(Int(500))");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_size_smaller_than_the_vhd_is_refused_before_anything_is_written() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "shrunk");
    req.disks = vec![DiskRequest {
        vhd: Some("ubuntu-24.04-server-cloudimg-amd64.vhdx".into()),
        size_gb: Some(20),
        ..Default::default()
    }];
    let err = rig.client.create_vm(&req).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("spec.disks[0].size (20 GiB) is smaller than the VHD")
            && text.contains("at least 30Gi"),
        "{text}"
    );
    let vmm = rig.sim.vmm.lock().unwrap();
    assert!(vmm.state().vms.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fibre_channel_adapters_connect_to_the_san_on_the_vms_host() {
    let rig = rig().await;
    let id = new_id();
    let mut req = template_request(&id, "fc");
    req.hardware.fibre_channel = vec![FibreChannelRequest {
        virtual_san: "FabricA".into(),
        storage_fabric_classification: Some("Gold FC".into()),
    }];
    let vm = rig.client.create_vm(&req).await.unwrap();
    wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let m = &vmm.state().vms[0];
        assert_eq!(m.fibre_channel_adapters.len(), 1);
        let fc = &m.fibre_channel_adapters[0];
        let san = vmm
            .inventory()
            .fibre_channel_sans
            .iter()
            .find(|s| Some(s.id) == fc.virtual_san)
            .unwrap();
        let host = vmm.inventory().host(m.host.unwrap()).unwrap();
        assert_eq!(san.name, "FabricA");
        assert_eq!(san.host, host.name, "the SAN of the host VMM chose");
        assert!(fc.classification.is_some());
    }

    // Unknown names fail before anything is written, with VMM's 801.
    for (san, class, what) in [
        (
            "FabricZ",
            None,
            "HostFibreChannelVirtualSAN object 'FabricZ'",
        ),
        (
            "FabricA",
            Some("Tin FC"),
            "StorageFabricClassification object 'Tin FC'",
        ),
    ] {
        let mut req = template_request(&new_id(), "fc-typo");
        req.hardware.fibre_channel = vec![FibreChannelRequest {
            virtual_san: san.into(),
            storage_fabric_classification: class.map(str::to_string),
        }];
        let err = rig.client.create_vm(&req).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains(what), "{err}");
    }
    assert_eq!(rig.sim.vmm.lock().unwrap().state().vms.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disk_and_fibre_channel_requests_are_checked_before_sending() {
    let rig = rig().await;
    let bad = |f: &dyn Fn(&mut CreateVm)| {
        let mut req = template_request(&new_id(), "checked");
        f(&mut req);
        req
    };
    let cases: Vec<(CreateVm, &str)> = vec![
        (
            bad(&|r| {
                r.disks = vec![DiskRequest {
                    iops_maximum: Some(-1),
                    size_gb: Some(1),
                    ..Default::default()
                }]
            }),
            "iops_maximum -1 is negative",
        ),
        (
            bad(&|r| r.disks = vec![DiskRequest::default()]),
            "give a VHD to copy, a size for a new disk, or both",
        ),
        (
            bad(&|r| {
                r.hardware.fibre_channel = vec![FibreChannelRequest::default()];
            }),
            "virtual_san is empty",
        ),
        (
            bad(&|r| {
                r.hardware.fibre_channel = vec![
                    FibreChannelRequest {
                        virtual_san: "FabricA".into(),
                        storage_fabric_classification: None,
                    };
                    5
                ];
            }),
            "at most 4",
        ),
    ];
    for (req, what) in cases {
        let err = rig.client.create_vm(&req).await.unwrap_err();
        assert!(matches!(err, ScvmmError::Config(_)), "{err}");
        assert!(err.to_string().contains(what), "{err}");
    }
    assert!(rig.sim.vmm.lock().unwrap().state().vms.is_empty());
}

// ---- errors --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vmm_errors_arrive_with_their_ids() {
    let rig = rig().await;

    // An unknown template fails before anything is written.
    let id = new_id();
    let mut req = template_request(&id, "no-template");
    req.source = VmSource::Template {
        name: "Windows 3.11".into(),
    };
    let err = rig.client.create_vm(&req).await.unwrap_err();
    assert_eq!(err.vmm_id(), Some(801), "{err}");
    assert!(err.is_not_found());
    assert!(!err.is_transient());
    assert!(err.to_string().contains("Windows 3.11"), "{err}");
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        assert!(vmm.state().vms.is_empty());
        assert!(vmm.state().files.iter().all(|f| !f.path.contains(&id)));
    }

    // Starting a VM that is still being created: its create job holds
    // the lock (2602), which is worth retrying.
    let id = new_id();
    let vm = rig
        .client
        .create_vm(&template_request(&id, "busy"))
        .await
        .unwrap();
    let err = rig.client.start_vm(&vm.id).await.unwrap_err();
    assert_eq!(err.vmm_id(), Some(2602), "{err}");
    assert!(err.is_locked() && err.is_transient());
    assert!(
        matches!(&err, ScvmmError::Vmm { operation: "start_vm", message, .. } if message.contains("locked")),
        "{err:?}"
    );

    // Removing a running VM is VMM's 1730 (stop it first).
    wait_for(&rig.client, &vm.id, "Running", |v| v.status == "Running").await;
    let err = rig.client.remove_vm(&vm.id).await.unwrap_err();
    assert_eq!(err.vmm_id(), Some(1730), "{err}");

    // A VM no host can take: VMM keeps it as CreationFailed, and the job's
    // error comes with it; Repair -Dismiss clears the failure.
    let id = new_id();
    let mut req = template_request(&id, "too-big");
    req.memory_mb = Some(1_000_000);
    let vm = rig.client.create_vm(&req).await.unwrap();
    let failed = wait_for(&rig.client, &vm.id, "CreationFailed", |v| v.is_failed()).await;
    assert_eq!(failed.status, "CreationFailed");
    let error = failed.error.clone().expect("why it failed");
    assert_ne!(error.id, 0, "{error:?}");
    assert!(failed.job.as_ref().unwrap().is_failed());
    println!("failed create: {error:?}");
    let (repaired, runs, _) = measure(&rig, rig.client.repair_vm(&vm.id)).await;
    repaired.unwrap();
    assert_eq!(runs, 1);
    let dismissed = wait_for(&rig.client, &vm.id, "dismissed", |v| !v.is_busy()).await;
    println!("after repair: {} {:?}", dismissed.status, dismissed.job);
    rig.client.remove_vm(&vm.id).await.unwrap();

    // Things that do not exist.
    let missing = new_id();
    rig.client.remove_vm(&missing).await.unwrap();
    assert_eq!(rig.client.get_vm(&missing).await.unwrap(), None);
    assert_eq!(rig.client.get_job(&missing).await.unwrap(), None);
    assert_eq!(rig.client.find_vm(&missing).await.unwrap(), None);
    let err = rig.client.start_vm(&missing).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = rig
        .client
        .grant_ip("No-Such-Pool", "owner")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    rig.client.remove_seed("capi-seed-none.iso").await.unwrap();
    rig.client
        .eject_seed(&missing, "capi-seed-none.iso")
        .await
        .unwrap();

    // Requests that cannot work are refused before anything runs.
    let runs = rig
        .sim
        .service
        .stats()
        .commands_started
        .load(Ordering::Relaxed);
    let mut bad = template_request(&new_id(), "hw-in-cloud");
    bad.source = VmSource::HardwareProfile {
        profile: "Ubuntu-HW".into(),
        generation: None,
        operating_system: None,
    };
    bad.placement = Placement::Cloud("Prod Cloud".into());
    assert!(matches!(
        rig.client.create_vm(&bad).await,
        Err(ScvmmError::Config(_))
    ));
    let mut bad = template_request(&new_id(), "bad-iso-name");
    bad.seed_iso_name = "..\\evil.iso".into();
    assert!(matches!(
        rig.client.create_vm(&bad).await,
        Err(ScvmmError::Config(_))
    ));
    assert!(matches!(
        rig.client.get_vm("not-a-guid").await,
        Err(ScvmmError::Config(_))
    ));
    assert!(matches!(
        rig.client.revoke_ips("  ").await,
        Err(ScvmmError::Config(_))
    ));
    assert_eq!(
        rig.sim
            .service
            .stats()
            .commands_started
            .load(Ordering::Relaxed),
        runs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures_are_classified() {
    let rig = rig().await;
    let mut cfg = endpoint(rig.client.endpoint());
    cfg.auth = ClientAuth::Ntlm {
        user: "CORP\\capi-svc".into(),
        password: "s3cret-wrong".into(),
    };
    let err = ScvmmClient::new(cfg)
        .unwrap()
        .server_info()
        .await
        .unwrap_err();
    assert!(matches!(err, ScvmmError::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cret-wrong"));
    assert!(!format!("{err:?}").contains("s3cret-wrong"));

    // Nothing listens on port 9 of localhost.
    let err = ScvmmClient::new(endpoint("http://127.0.0.1:9/wsman"))
        .unwrap()
        .server_info()
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");

    let mut cfg = endpoint(rig.client.endpoint());
    cfg.library_share = "C:\\seeds".into();
    assert!(matches!(ScvmmClient::new(cfg), Err(ScvmmError::Config(_))));
    assert!(matches!(
        ScvmmClient::new(endpoint("ftp://vmm01/wsman")),
        Err(ScvmmError::Config(_))
    ));
}

// ---- IP pools ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_grants_are_idempotent_per_owner() {
    let rig = rig().await;
    let pool = "Prod-VLAN100-Pool";
    let a = rig
        .client
        .grant_ip(pool, "capi-scvmm:a:eth0")
        .await
        .unwrap();
    assert_eq!(a.prefix_length, Some(24));
    assert_eq!(a.gateway.as_deref(), Some("10.10.100.1"));
    assert_eq!(a.dns_servers, vec!["10.10.0.10", "10.10.0.11"]);
    assert_eq!(a.dns_suffix.as_deref(), Some("contoso.com"));
    let again = rig
        .client
        .grant_ip(pool, "capi-scvmm:a:eth0")
        .await
        .unwrap();
    assert_eq!(again, a, "the same owner gets the same grant");
    let b = rig
        .client
        .grant_ip(pool, "capi-scvmm:b:eth0")
        .await
        .unwrap();
    assert_ne!(b.address, a.address);
    assert_eq!(rig.sim.vmm.lock().unwrap().state().allocations.len(), 2);

    // An address granted to the machine stays with its grant when the VM
    // asks for it as a static address (it reaches the guest by the seed).
    let id = new_id();
    let mut req = template_request(&id, "with-grant");
    req.nics[0].ipv4_addresses = vec![a.address.clone()];
    rig.client.create_vm(&req).await.unwrap();
    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let allocations = &vmm.state().allocations;
        assert_eq!(allocations.len(), 2, "{allocations:?}");
        assert!(
            allocations
                .iter()
                .any(|x| x.description == "capi-scvmm:a:eth0")
        );
    }

    assert_eq!(rig.client.revoke_ips("capi-scvmm:a:eth0").await.unwrap(), 1);
    assert_eq!(rig.client.revoke_ips("capi-scvmm:a:eth0").await.unwrap(), 0);
    let allocations = rig.sim.vmm.lock().unwrap().state().allocations.clone();
    assert_eq!(allocations.len(), 1);
    assert_eq!(allocations[0].description, "capi-scvmm:b:eth0");
}

// ---- hostile strings ---------------------------------------------------------------

/// Every kind of quote PowerShell knows (U+2018–U+201E among them),
/// backticks, subexpressions, statement separators, line breaks and NUL.
fn hostile() -> String {
    [
        "plain ' single \" double",
        "\u{2018}left\u{2019} \u{201A}low\u{201B}",
        "\u{201C}left\u{201D} \u{201E}low\u{201F}",
        "`backtick` `$x `n `0",
        "$(Remove-SCVirtualMachine -VM *) ${env:USERNAME} @(Stop-Computer)",
        "'; Remove-SCVirtualMachine -VM * -Force; '",
        "\"; Remove-SCVirtualMachine -VM * ; \"",
        "\u{2019}; Remove-SCVirtualMachine; \u{2018}",
        "a | Out-Null & b && c || d > e < f",
        "line\nbreak\r\ncrlf\ttab",
        "nul\u{0}byte",
        "<xml attr=\"&amp;\"/> %PATH% {0} \\\\server\\share",
        "emoji \u{1F600} and ümlaut",
        "'@ \"@ #> <# -- /* */",
    ]
    .join(" | ")
}

/// A 64 KiB (UTF-8) string made of hostile pieces.
fn hostile_64k() -> String {
    let piece = hostile();
    let mut s = String::new();
    while s.len() < 64 * 1024 {
        s.push_str(&piece);
    }
    let mut end = 64 * 1024;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_strings_are_stored_verbatim_and_run_nothing() {
    let rig = rig().await;
    let h = hostile();
    let big = hostile_64k();
    // VM names are validated by VMM: no control characters there.
    let name: String = h.chars().filter(|c| !c.is_control()).collect();

    let mut cases: Vec<(String, CreateVm)> = Vec::new();
    let id = new_id();
    let mut req = template_request(&id, &name);
    req.description = Some(h.clone());
    req.tag = Some(h.clone());
    req.custom_properties = BTreeMap::from([("Environment".into(), h.clone())]);
    req.availability_sets = vec![h.clone(), format!("{h} second")];
    cases.push(("every field".into(), req));
    for field in ["description", "tag", "custom property", "availability set"] {
        let id = new_id();
        let mut req = template_request(&id, &format!("big {field}"));
        match field {
            "description" => req.description = Some(big.clone()),
            "tag" => req.tag = Some(big.clone()),
            "custom property" => {
                req.custom_properties = BTreeMap::from([("Environment".into(), big.clone())]);
            }
            _ => req.availability_sets = vec![big.clone()],
        }
        cases.push((format!("64 KiB {field}"), req));
    }

    for (what, req) in &cases {
        let vm = rig.client.create_vm(req).await.unwrap();
        assert_eq!(vm.name, req.name, "{what}: the name comes back verbatim");
        assert_eq!(vm.instance_id.as_ref(), Some(&req.instance_id), "{what}");
        let again = rig.client.get_vm(&vm.id).await.unwrap().unwrap();
        assert_eq!(again.name, req.name, "{what}");
    }

    // A hostile owner is a description like any other.
    let grant = rig.client.grant_ip("Prod-VLAN100-Pool", &h).await.unwrap();
    assert_eq!(
        rig.client.grant_ip("Prod-VLAN100-Pool", &h).await.unwrap(),
        grant
    );
    // Hostile names that VMM does not know come back in the error verbatim.
    let err = rig.client.grant_ip(&h, "owner").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains(&h), "{err}");
    let mut req = template_request(&new_id(), "hostile template");
    req.source = VmSource::Template { name: h.clone() };
    let err = rig.client.create_vm(&req).await.unwrap_err();
    assert_eq!(err.vmm_id(), Some(801), "{err}");

    {
        let vmm = rig.sim.vmm.lock().unwrap();
        let state = vmm.state();
        assert_eq!(state.vms.len(), cases.len(), "no VM more, none less");
        assert!(state.removed_vms.is_empty(), "nothing was removed");
        for (what, req) in &cases {
            let m = state
                .vms
                .iter()
                .find(|v| v.custom_properties.get("CapiScvmmInstanceId") == Some(&req.instance_id))
                .unwrap();
            assert_eq!(m.name, req.name, "{what}");
            assert_eq!(
                m.description,
                format!(
                    "{}\ncapi-scvmm-instance-id={}",
                    req.description.as_deref().unwrap(),
                    req.instance_id
                ),
                "{what}"
            );
            assert_eq!(m.tag, req.tag.clone().unwrap_or_default(), "{what}");
            assert_eq!(
                m.custom_properties.get("Environment"),
                req.custom_properties.get("Environment"),
                "{what}"
            );
            assert_eq!(m.availability_sets, req.availability_sets, "{what}");
        }
        let allowed = [
            "New-SCVirtualMachine",
            "Read-SCLibraryShare",
            "New-SCCustomProperty",
            "(Refresh VM - System Job)",
        ];
        for job in &state.jobs {
            assert!(
                allowed.contains(&job.cmdlet_name.as_str()),
                "unexpected job {} ({})",
                job.name,
                job.cmdlet_name
            );
        }
        assert!(
            state.allocations.iter().any(|a| a.description == h),
            "the owner is stored verbatim"
        );
    }
    assert_eq!(rig.client.revoke_ips(&h).await.unwrap(), 1);
}

// ---- the pure half: encoding and decoding ----------------------------------

#[test]
fn a_rendered_script_carries_its_parameters_only_as_base64() {
    let h = hostile_64k();
    let doc = json!({ "vmId": "0f8fad5b-d9cb-469f-a165-70867728950e", "x": h });
    let text = script::render(Operation::GetVm, &doc);
    let literal = script::params_of(&text).unwrap();
    assert!(
        literal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
    );
    assert_eq!(script::decode_params(literal).unwrap(), doc);
    // Outside the literal, the script is the same whatever the parameters.
    let other = script::render(Operation::GetVm, &json!({}));
    assert_eq!(
        text.replace(literal, "P"),
        other.replace(script::params_of(&other).unwrap(), "P")
    );
    for op in Operation::ALL {
        let t = script::render(op, &doc);
        assert!(t.contains(&format!("# cluster-api-provider-scvmm: {}", op.name())));
        assert!(
            t.trim_end()
                .ends_with("ConvertTo-Json -InputObject $out -Compress -Depth 6")
        );
        assert_eq!(script::params_of(&t), Some(literal));
    }
}

#[test]
fn the_get_vm_script_is_pinned() {
    let text = script::render(
        Operation::GetVm,
        &json!({ "server": "localhost", "vmId": "0f8fad5b-d9cb-469f-a165-70867728950e" }),
    );
    insta::assert_snapshot!("get_vm.ps1", text);
}

#[test]
fn the_create_document_is_pinned() {
    let mut req = template_request("0f8fad5b-d9cb-469f-a165-70867728950e", "pinned");
    req.seed_iso = b"CD001".to_vec();
    req.custom_properties = BTreeMap::from([
        ("Environment".into(), "prod".into()),
        (
            "CapiScvmmInstanceId".into(),
            "ignored: the script sets it".into(),
        ),
    ]);
    let doc = script::create_document(&req, SEEDS, 0, Duration::from_millis(200));
    insta::assert_snapshot!(
        "create_vm.params",
        serde_json::to_string_pretty(&Value::Object(doc)).unwrap()
    );
    let tail = script::create_document(&req, SEEDS, 2, Duration::from_millis(200));
    assert_eq!(tail["seed"]["data"], "MDAx");
    assert_eq!(tail["seed"]["offset"], 2);
    let none = script::create_document(&req, SEEDS, 5, Duration::from_millis(200));
    assert_eq!(none["seed"]["data"], Value::Null);
}

fn output(stdout: &str) -> ScriptOutput {
    ScriptOutput {
        stdout: stdout.into(),
        stderr: String::new(),
        exit_code: Some(0),
    }
}

#[test]
fn results_and_errors_are_decoded() {
    let ok = script::decode_result("get_vm", &output("{\"result\":{\"a\":1}}\r\n")).unwrap();
    assert_eq!(ok, json!({ "a": 1 }));
    // Stray output before the document (a banner, a warning) is ignored.
    let ok = script::decode_result(
        "get_vm",
        &output("\u{feff}WARNING: something\r\n\r\n{\"result\":null}\r\n"),
    )
    .unwrap();
    assert_eq!(ok, Value::Null);

    let err = script::decode_result(
        "start_vm",
        &output(
            r#"{"error":{"id":2602,"message":"Unable to perform the job because one or more of the selected objects are locked by another job. (Error ID: 2602, Detailed Error: )\n\nTo find out which job is locking the object, in the Jobs view, group by Status.\n\nTo restart the job, run the following command:\nPS> Restart-Job -Job (Get-VMMServer localhost | Get-Job | where { $_.ID -eq \"{c28eab08}\"})","cmdlet":"Start-SCVirtualMachine"}}"#,
        ),
    )
    .unwrap_err();
    assert_eq!(err.vmm_id(), Some(2602));
    let ScvmmError::Vmm {
        operation, message, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*operation, "start_vm");
    assert!(
        message.ends_with("in the Jobs view, group by Status."),
        "{message}"
    );
    assert!(!message.contains("Restart-Job"));

    // No structured id: read from the text.
    let err = script::decode_result(
        "create_vm",
        &output(r#"{"error":{"id":0,"message":"VMM cannot find the VirtualMachine object x. (Error ID: 801, Detailed Error: )","cmdlet":""}}"#),
    )
    .unwrap_err();
    assert_eq!(err.vmm_id(), Some(801));
    assert!(err.is_not_found());

    // Not VMM's answer at all.
    for bad in [
        "",
        "   \r\n",
        "Get-SCVMMServer : not recognized",
        "[1,2]",
        "{\"other\":1}",
    ] {
        let err = script::decode_result("get_vm", &output(bad)).unwrap_err();
        assert!(
            matches!(
                err,
                ScvmmError::Protocol {
                    operation: "get_vm",
                    ..
                }
            ),
            "{bad}: {err:?}"
        );
    }
    let err = script::decode_result(
        "get_vm",
        &ScriptOutput {
            stdout: String::new(),
            stderr: "At line:1 char:1 ParserError".into(),
            exit_code: Some(1),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("ParserError"), "{err}");
}

#[test]
fn vmm_error_ids_are_read_from_vmm_text() {
    assert_eq!(
        script::vmm_error_id(
            "The virtual machine must be in either the Poweroff or Stored state before SCVMM can perform the specified hardware changes. (Error ID: 640, Detailed Error: )\r\n\r\nTurn off the virtual machine"
        ),
        Some(640)
    );
    assert_eq!(
        script::vmm_error_id(
            "Unable to connect to the VMM management server localhost. (Error ID: 1602)"
        ),
        Some(1602)
    );
    // A name that imitates VMM's marker does not win over VMM's own.
    assert_eq!(
        script::vmm_error_id(
            "VMM cannot find the VirtualMachine object evil (Error ID: 9. (Error ID: 801, Detailed Error: )\n\nAction (Error ID: 5)"
        ),
        Some(801)
    );
    assert_eq!(script::vmm_error_id("no id here"), None);
    assert_eq!(script::vmm_error_id("(Error ID: x)"), None);
}

#[test]
fn powershell_5_1_shapes_of_arrays_are_tolerated() {
    let vm = json!({
        "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "name": "one",
        "instanceId": "9b2c0c3e-1f3b-4c5d-8e6f-7a8b9c0d1e2f",
        "status": "Running",
        "statusCode": 0,
        "host": "hv01",
        "hostGroup": "",
        "cloud": null,
        "biosGuid": "x",
        "computerName": "Unknown",
        // One adapter arrives as the adapter, one address as the address.
        "adapters": { "mac": "00:1D:D8:B7:1C:00", "vmNetwork": "n", "ipv4": "10.0.0.5", "ipv6": null },
        "dvdIso": null,
        "job": { "id": "j", "name": "Start virtual machine", "status": "Completed", "progress": "100 %", "error": null },
        "error": null
    });
    // One VM arrives as the VM; a PSObject-wrapped array as {value, Count}.
    for shape in [
        vm.clone(),
        json!([vm.clone()]),
        json!({ "value": [vm.clone()], "Count": 1 }),
    ] {
        let vms = script::vms_from_json(shape).unwrap();
        assert_eq!(vms.len(), 1);
        let v = &vms[0];
        assert_eq!(v.adapters.len(), 1);
        assert_eq!(v.adapters[0].ipv4_addresses, vec!["10.0.0.5"]);
        assert!(v.adapters[0].ipv6_addresses.is_empty());
        assert_eq!(v.computer_name, None, "VMM's placeholder is no name");
        assert_eq!(v.host_group, None);
        assert_eq!(v.status_code, Some(0));
        assert!(!v.is_busy());
    }
    assert!(script::vms_from_json(Value::Null).unwrap().is_empty());
    assert!(script::vms_from_json(json!({})).is_ok());
    assert_eq!(script::vm_from_json(Value::Null).unwrap(), None);

    let failed = json!({
        "id": "1", "name": "f", "status": "CreationFailed", "statusCode": "101",
        "adapters": [], "job": { "id": "j", "name": "Create virtual machine", "status": "Failed",
        "error": { "id": 20413, "message": "boom" } },
        "error": { "id": "20413", "message": "boom\n\nTo restart the job, run the following command:\nPS> x" }
    });
    let v = script::vm_from_json(failed).unwrap().unwrap();
    assert!(v.is_failed());
    assert_eq!(v.status_code, Some(101));
    assert_eq!(v.error.as_ref().unwrap().id, 20413);
    assert_eq!(v.error.as_ref().unwrap().message, "boom");
    assert!(v.job.as_ref().unwrap().is_failed());

    let grant = script::grant_from_json(json!({
        "id": "g", "address": "10.0.0.9", "prefixLength": 24, "gateway": "10.0.0.1",
        "dnsServers": "10.0.0.2", "dnsSuffix": ""
    }))
    .unwrap();
    assert_eq!(grant.dns_servers, vec!["10.0.0.2"]);
    assert_eq!(grant.dns_suffix, None);
    assert_eq!(script::count_from_json(&json!(3)).unwrap(), 3);
    assert!(script::count_from_json(&json!("x")).is_err());
}

#[test]
fn the_description_ends_with_the_marker() {
    assert_eq!(
        script::description_with_marker(Some("hello"), "abc"),
        "hello\ncapi-scvmm-instance-id=abc"
    );
    assert_eq!(
        script::description_with_marker(None, "abc"),
        "capi-scvmm-instance-id=abc"
    );
}

proptest! {
    #[test]
    fn parameters_survive_encoding(
        strings in proptest::collection::vec(any::<String>(), 0..8),
        number in any::<i64>(),
    ) {
        let doc = json!({ "strings": strings, "number": number, "nested": { "s": strings.first() } });
        let encoded = script::encode_params(&doc);
        prop_assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')));
        prop_assert_eq!(script::decode_params(&encoded).unwrap(), doc.clone());
        let text = script::render(Operation::CreateVm, &doc);
        prop_assert_eq!(script::params_of(&text), Some(encoded.as_str()));
    }

    #[test]
    fn results_survive_decoding(name in any::<String>(), addresses in proptest::collection::vec("[0-9.]{1,15}", 0..4)) {
        let doc = json!({ "result": [{ "id": "i", "name": name, "status": "Running",
            "adapters": [{ "mac": "m", "ipv4": addresses }] }] });
        let out = output(&format!("{}\r\n", serde_json::to_string(&doc).unwrap()));
        let result = script::decode_result("list_vms", &out).unwrap();
        let vms = script::vms_from_json(result).unwrap();
        prop_assert_eq!(&vms[0].name, &name);
        let expected: Vec<String> = addresses.iter().filter(|a| !a.trim().is_empty()).cloned().collect();
        prop_assert_eq!(&vms[0].adapters[0].ipv4_addresses, &expected);
    }
}

/// A list carrying refresh asks: VMM reads the guest's addresses at once
/// (its light refresher is slowed to an hour here), a VM whose refresh job
/// still runs is not refreshed twice, and an ID that is not a GUID is
/// refused before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_refreshes_the_vms_it_is_asked_to() {
    let rig = rig().await;
    {
        let mut vmm = rig.sim.vmm.lock().unwrap();
        vmm.latencies_mut().light_refresh_interval = 360_000.0;
        // 1 s at scale 0.01: long enough to ask again while it runs.
        vmm.latencies_mut()
            .seconds
            .insert(scvmm_sim::vmm::config::Op::ReadVm, 100.0);
    }
    let id = new_id();
    let vm = rig
        .client
        .create_vm(&template_request(&id, "refresh-1"))
        .await
        .unwrap();
    wait_for(&rig.client, &vm.id, "running", |v| {
        v.status == "Running" && !v.is_busy()
    })
    .await;
    // The guest boots 0.2 s after its start and reports then.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let find = |vms: Vec<VmInfo>| vms.into_iter().find(|v| v.id == vm.id).unwrap();
    let listed = find(rig.client.list_vms().await.unwrap());
    assert_eq!(
        listed.ipv4_addresses().count(),
        0,
        "without a refresh VMM shows nothing yet: {listed:#?}"
    );
    let read_jobs = || {
        rig.sim
            .vmm
            .lock()
            .unwrap()
            .state()
            .jobs
            .iter()
            .filter(|j| j.cmdlet_name == "Read-SCVirtualMachine")
            .count()
    };

    let (listed, runs, _) = measure(
        &rig,
        rig.client.list_vms_refreshing(std::slice::from_ref(&vm.id)),
    )
    .await;
    assert_eq!(runs, 1, "the refresh rides on the list");
    let listed = find(listed.unwrap());
    let job = listed.job.clone().expect("the VM shows its refresh job");
    assert!(job.is_running(), "{job:#?}");
    rig.client
        .list_vms_refreshing(&[vm.id.to_uppercase()])
        .await
        .unwrap();
    assert_eq!(read_jobs(), 1, "a VM whose job runs is not refreshed again");

    let refreshed = wait_for(&rig.client, &vm.id, "addresses after the refresh", |v| {
        v.ipv4_addresses().any(|a| a == "10.10.100.77")
    })
    .await;
    assert_eq!(refreshed.status, "Running");

    let (refused, runs, _) = measure(
        &rig,
        rig.client.list_vms_refreshing(&["not-a-guid".to_string()]),
    )
    .await;
    assert!(matches!(refused, Err(ScvmmError::Config(_))), "{refused:?}");
    assert_eq!(runs, 0);
}
