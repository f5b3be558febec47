//! The machine lifecycle against the real local API server with the real
//! Cluster API core manager, scvmm-sim and our controller: a Machine with
//! bootstrap data becomes a running VM with a providerID, addresses and
//! Ready=True; deleting the Machine removes the VM, then the finalizer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sha2::{Digest, Sha256};
use std::time::Duration;
use support::*;

const T: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_machine_becomes_a_running_vm_and_goes_away_with_it() {
    let mut env = Env::start("lifecycle").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    env.create_machine("c1", "m1", machine_spec("10.20.0.50"))
        .await;

    let sm = eventually(
        &env.api("ScvmmMachine"),
        "m1",
        "the ScvmmMachine is provisioned and Ready",
        T,
        |v| {
            v["status"]["initialization"]["provisioned"] == true
                && condition(v, "Ready").is_some_and(|c| c["status"] == "True")
        },
    )
    .await;
    let provider_id = sm["spec"]["providerID"].as_str().unwrap().to_string();
    assert!(provider_id.starts_with("scvmm://"), "{sm:#}");
    assert!(sm["spec"]["vmId"].is_string(), "{sm:#}");
    let addresses = sm["status"]["addresses"].as_array().unwrap();
    assert!(
        addresses
            .iter()
            .any(|a| a["type"] == "InternalIP" && a["address"] == "10.20.0.50"),
        "{sm:#}"
    );
    assert!(
        addresses
            .iter()
            .any(|a| a["type"] == "Hostname" && a["address"] == "m1"),
        "{sm:#}"
    );
    assert_eq!(sm["status"]["failureDomain"], "rack1");
    assert_eq!(sm["status"]["vm"]["status"], "Running");
    // Failure domain rack1 is host group All Hosts\Prod\Rack1: hv01 or hv02.
    let host = sm["status"]["vm"]["host"].as_str().unwrap();
    assert!(
        host.starts_with("hv01") || host.starts_with("hv02"),
        "{sm:#}"
    );

    // CAPI copies what we publish into the Machine.
    let machine = eventually(
        &env.api("Machine"),
        "m1",
        "the Machine sees provisioned infrastructure",
        T,
        |v| v["status"]["initialization"]["infrastructureProvisioned"] == true,
    )
    .await;
    assert_eq!(machine["spec"]["providerID"], provider_id.as_str());

    // Exactly one VM, booted with exactly the bootstrap data; the seed is
    // ejected and gone from the library.
    eventually(
        &env.api("ScvmmMachine"),
        "m1",
        "the seed is ejected",
        T,
        |v| v["status"]["seed"]["ejected"] == true,
    )
    .await;
    {
        let vmm = env.sim.vmm.lock().unwrap();
        let vms: Vec<_> = vmm.state().vms.iter().filter(|v| v.name == "m1").collect();
        assert_eq!(vms.len(), 1, "exactly one VM");
        assert!(
            vmm.state()
                .isos
                .iter()
                .all(|i| !i.name.contains("capi-seed")),
            "{:?}",
            vmm.state().isos
        );
    }
    let digest = format!("{:x}", Sha256::digest(USER_DATA.as_bytes()));
    let guests = env.sim.guests.lock().unwrap().clone();
    let record = guests
        .values()
        .find(|g| g.provider_id.as_deref() == Some(provider_id.as_str()))
        .expect("the guest booted from our seed");
    assert_eq!(record.user_data_sha256.as_deref(), Some(digest.as_str()));
    assert_eq!(record.hostname.as_deref(), Some("m1"));

    // Delete the Machine: CAPI deletes the ScvmmMachine, we remove the VM,
    // then the finalizer, then CAPI lets the Machine go.
    env.api("Machine")
        .delete("m1", &Default::default())
        .await
        .unwrap();
    gone(
        &env.api("ScvmmMachine"),
        "m1",
        "the ScvmmMachine is gone",
        T,
    )
    .await;
    gone(&env.api("Machine"), "m1", "the Machine is gone", T).await;
    assert_eq!(env.vms_named("m1"), 0, "the VM is removed");
    env.kill_controller().await;
}

/// With VMM's light refresher slowed to an hour, only a Read-SCVirtualMachine
/// shows the guest's address: the machine asks for one once its VM has run
/// without addresses for the refresh interval, and is provisioned at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vm_without_addresses_is_refreshed_rather_than_waited_for() {
    let mut env = Env::start("refresh").await;
    {
        let mut vmm = env.sim.vmm.lock().unwrap();
        vmm.latencies_mut().light_refresh_interval = 360_000.0;
        // 3 s at scale 0.01: long enough to look at the machine meanwhile.
        vmm.latencies_mut()
            .seconds
            .insert(scvmm_sim::vmm::config::Op::ReadVm, 300.0);
    }
    env.start_controller_with(
        env.client.clone(),
        operator::controller::Settings {
            resync: Duration::from_secs(30),
            poll_interval: Duration::from_secs(5),
            busy_poll_interval: Duration::from_millis(200),
            address_refresh_interval: Some(Duration::from_millis(500)),
            ..Default::default()
        },
        4,
    );
    env.create_cluster("c1", PASSWORD).await;
    env.create_machine("c1", "m1", machine_spec("10.20.0.51"))
        .await;
    // While the refresh job runs, the machine shows it and is not blocked
    // from a move (the job only reads the VM).
    eventually(
        &env.api("ScvmmMachine"),
        "m1",
        "the refresh job shows in status",
        T,
        |v| v["status"]["job"]["operation"] == "Refresh virtual machine",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let during = env.api("ScvmmMachine").get("m1").await.unwrap();
    let during = serde_json::to_value(&during).unwrap();
    assert_eq!(
        during["status"]["job"]["operation"], "Refresh virtual machine",
        "{during:#}"
    );
    assert!(
        during["metadata"]["annotations"]["clusterctl.cluster.x-k8s.io/block-move"].is_null(),
        "{during:#}"
    );
    let sm = provisioned(&env, "m1", T).await;
    assert!(
        sm["status"]["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["type"] == "InternalIP" && a["address"] == "10.20.0.51"),
        "{sm:#}"
    );
    let refreshes: Vec<_> = {
        let vmm = env.sim.vmm.lock().unwrap();
        let vm = vmm
            .state()
            .vms
            .iter()
            .find(|v| v.name == "m1")
            .map(|v| v.id)
            .expect("the VM exists");
        vmm.state()
            .jobs
            .iter()
            .filter(|j| j.cmdlet_name == "Read-SCVirtualMachine")
            .filter(|j| j.target.as_ref().is_some_and(|t| t.id == vm))
            .map(|j| j.status)
            .collect()
    };
    // One ask per interval while the guest boots: a few, not one per look.
    assert!(
        (1..=6).contains(&refreshes.len()),
        "refresh jobs of m1: {refreshes:?}"
    );
    env.kill_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn addresses_come_from_ipam_claims_and_scvmm_pools_and_are_released() {
    use kube::api::{Patch, PatchParams, PostParams};
    use serde_json::json;
    let mut env = Env::start("addresses").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    env.create_machine(
        "c1",
        "m3",
        json!({
            "vmTemplate": "Ubuntu 24.04", "cpuCount": 2, "memory": "4Gi",
            "network": {"devices": [
                {"name": "eth0", "vmNetwork": "Prod-VLAN100",
                 "addressesFromPools": [{"apiGroup": "ipam.cluster.x-k8s.io", "kind": "InClusterIPPool", "name": "nodes"}]},
                {"name": "eth1", "vmNetwork": "Prod-VLAN100", "scvmmIPPool": "Prod-VLAN100-Pool"},
            ]},
        }),
    )
    .await;

    // The controller claims an address, owned by the ScvmmMachine, and waits.
    let claims = dynamic_api(
        &env.client,
        &env.ns,
        "ipam.cluster.x-k8s.io",
        "v1beta2",
        "IPAddressClaim",
    );
    let claim = eventually(&claims, "m3-eth0-0", "the IPAddressClaim exists", T, |_| {
        true
    })
    .await;
    assert_eq!(claim["spec"]["clusterName"], "c1");
    assert_eq!(claim["spec"]["poolRef"]["name"], "nodes");
    let owner = &claim["metadata"]["ownerReferences"][0];
    assert_eq!(
        (
            owner["kind"].as_str(),
            owner["name"].as_str(),
            owner["controller"].as_bool()
        ),
        (Some("ScvmmMachine"), Some("m3"), Some(true))
    );
    reason(&env, "m3", "VMProvisioned", "WaitingForIPAddresses", T).await;
    assert_eq!(env.vms_named("m3"), 0, "no VM before the address is known");

    // Play the IPAM provider: allocate and point the claim at the address.
    dynamic_api(&env.client, &env.ns, "ipam.cluster.x-k8s.io", "v1beta2", "IPAddress")
        .create(&PostParams::default(), &obj(json!({
            "apiVersion": "ipam.cluster.x-k8s.io/v1beta2", "kind": "IPAddress",
            "metadata": {"name": "m3-eth0-0"},
            "spec": {"claimRef": {"name": "m3-eth0-0"},
                     "poolRef": {"apiGroup": "ipam.cluster.x-k8s.io", "kind": "InClusterIPPool", "name": "nodes"},
                     "address": "10.20.0.77", "prefix": 24, "gateway": "10.20.0.1"},
        })))
        .await
        .unwrap();
    claims
        .patch_status(
            "m3-eth0-0",
            &PatchParams::apply("fake-ipam").force(),
            &Patch::Apply(json!({
                "apiVersion": "ipam.cluster.x-k8s.io/v1beta2", "kind": "IPAddressClaim",
                "status": {"addressRef": {"name": "m3-eth0-0"}},
            })),
        )
        .await
        .unwrap();

    let sm = provisioned(&env, "m3", T).await;
    let ips: Vec<&str> = sm["status"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "InternalIP")
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert!(ips.contains(&"10.20.0.77"), "the IPAM address: {sm:#}");
    assert!(
        ips.contains(&"10.10.100.50"),
        "the SCVMM pool address (first of the range): {sm:#}"
    );
    {
        let vmm = env.sim.vmm.lock().unwrap();
        let grants: Vec<_> = vmm
            .state()
            .allocations
            .iter()
            .filter(|a| a.description.starts_with("capi-scvmm:"))
            .collect();
        assert_eq!(grants.len(), 1, "one SCVMM grant: {grants:?}");
    }

    env.api("Machine")
        .delete("m3", &Default::default())
        .await
        .unwrap();
    gone(
        &env.api("ScvmmMachine"),
        "m3",
        "the ScvmmMachine is gone",
        T,
    )
    .await;
    {
        let vmm = env.sim.vmm.lock().unwrap();
        assert!(
            vmm.state()
                .allocations
                .iter()
                .all(|a| !a.description.starts_with("capi-scvmm:")),
            "the SCVMM grant is revoked"
        );
        assert_eq!(vmm.state().vms.iter().filter(|v| v.name == "m3").count(), 0);
    }
    env.kill_controller().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vm_options_disk_growth_iops_and_fibre_channel_reach_the_vm() {
    let mut env = Env::start("hwopts").await;
    env.start_controller();
    env.create_cluster("c1", PASSWORD).await;
    let mut spec = machine_spec("10.20.0.51");
    spec["vmOptions"] = serde_json::json!({
        "cpuLimitForMigration": true,
        "cpuLimitFunctionality": false,
        "enableNestedVirtualization": true,
    });
    // Extra disks beside the template's: a copy of the 30 GB image grown
    // to 40 GiB and capped, and a new disk capped.
    spec["disks"] = serde_json::json!([
        {"vhd": "ubuntu-24.04-server-cloudimg-amd64.vhdx", "size": "40Gi", "iopsMaximum": 500},
        {"size": "20Gi", "iopsMaximum": 1000},
    ]);
    spec["fibreChannel"] = serde_json::json!([
        {"virtualSan": "FabricA", "storageFabricClassification": "Gold FC"},
    ]);
    env.create_machine("c1", "m2", spec).await;
    eventually(
        &env.api("ScvmmMachine"),
        "m2",
        "the ScvmmMachine is provisioned and Ready",
        T,
        |v| {
            v["status"]["initialization"]["provisioned"] == true
                && condition(v, "Ready").is_some_and(|c| c["status"] == "True")
        },
    )
    .await;
    {
        let vmm = env.sim.vmm.lock().unwrap();
        let vms: Vec<_> = vmm.state().vms.iter().filter(|v| v.name == "m2").collect();
        assert_eq!(vms.len(), 1, "exactly one VM");
        let vm = vms[0];
        assert!(vm.cpu_limit_for_migration);
        assert!(!vm.cpu_limit_functionality);
        assert!(vm.nested_virtualization);
        const GIB: u64 = 1 << 30;
        // The template's own disk, then ours in spec order.
        assert_eq!(vm.disks.len(), 3, "{:#?}", vm.disks);
        assert_eq!(vm.disks[0].iops_maximum, 0);
        assert_eq!(vm.disks[1].vhd.maximum_size_bytes, 40 * GIB);
        assert_eq!(vm.disks[1].iops_maximum, 500);
        assert_eq!(vm.disks[2].vhd.maximum_size_bytes, 20 * GIB);
        assert_eq!(vm.disks[2].iops_maximum, 1000);
        assert_eq!(vm.fibre_channel_adapters.len(), 1);
        let san = vmm
            .inventory()
            .fibre_channel_sans
            .iter()
            .find(|s| Some(s.id) == vm.fibre_channel_adapters[0].virtual_san)
            .expect("the adapter is connected");
        let host = vmm.inventory().host(vm.host.unwrap()).unwrap();
        assert_eq!(
            (san.name.as_str(), san.host.as_str()),
            ("FabricA", host.name.as_str())
        );
    }
    env.kill_controller().await;
}
