//! Our CRDs against a real kube-apiserver (the local test bed): they install,
//! valid objects are accepted unchanged, every schema and CEL rule rejects
//! the bad input it targets with a message a user can act on, immutable
//! fields stay immutable, and status is a separate subresource.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::testbed::TestCluster;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use operator::api;
use serde_json::{Value, json};

async fn cluster() -> TestCluster {
    TestCluster::builder()
        .without_controller_manager()
        .with_crds(api::crds())
        .start()
        .await
        .expect("test bed starts")
}

fn dynamic(client: &Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(api::GROUP, api::VERSION, kind);
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

fn object(kind: &str, name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": format!("{}/{}", api::GROUP, api::VERSION),
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap()
}

fn cluster_spec() -> Value {
    json!({
        "controlPlaneEndpoint": {"host": "10.0.0.100", "port": 6443},
        "server": {
            "endpoint": "vmm01.corp.example",
            "credentialsRef": {"name": "vmm-credentials"},
            "libraryShare": "\\\\lib01\\MSSCVMMLibrary\\capi-seeds",
        },
        "failureDomains": [
            {"name": "rack1", "controlPlane": true, "hostGroup": "All Hosts\\Prod\\Rack1"},
            {"name": "cloud-a", "cloud": "Tenant Cloud A",
             "networking": {"devices": [{"name": "eth0", "vmNetwork": "Prod", "dhcp4": true}]}},
        ],
    })
}

fn machine_spec() -> Value {
    json!({
        "vmTemplate": "ubuntu-2404-k8s",
        "cpuCount": 4,
        "memory": "8Gi",
        "disks": [{"size": "60Gi"}],
        "network": {
            "domain": "corp.example",
            "devices": [{
                "name": "eth0",
                "vmNetwork": "Prod",
                "addresses": ["10.0.0.21/24"],
                "gateway4": "10.0.0.1",
                "nameservers": ["10.0.0.2", "fd00::53"],
                "searchDomains": ["corp.example"],
                "mtu": 1500,
            }],
        },
        "customProperties": {"CostCenter": "42"},
        "powerOffMode": "TrySoft",
    })
}

fn machine_spec_from_profile() -> Value {
    json!({
        "hardwareProfile": "k8s-worker",
        "generation": 2,
        "cpuCount": 2,
        "dynamicMemory": {"minimum": "2Gi", "maximum": "16Gi", "bufferPercentage": 20},
        "disks": [{"vhd": "ubuntu-2404.vhdx", "size": "40Gi"}, {"size": "100Gi", "dynamic": false}],
        "network": {"devices": [
            {"name": "eth0", "vmNetwork": "Prod", "scvmmIPPool": "Prod-Pool"},
            {"name": "eth1", "vmNetwork": "Storage",
             "addressesFromPools": [{"apiGroup": "ipam.cluster.x-k8s.io", "kind": "InClusterIPPool", "name": "storage"}]},
        ]},
        "availabilitySets": ["k8s-workers"],
        "vmOptions": {"checkpointType": "Disabled", "enableNestedVirtualization": false},
    })
}

#[tokio::test]
async fn valid_objects_are_accepted_unchanged() {
    let tb = cluster().await;
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("valid").await.unwrap();

    let cases = [
        ("ScvmmCluster", cluster_spec()),
        (
            "ScvmmClusterTemplate",
            json!({"template": {"spec": cluster_spec()}}),
        ),
        ("ScvmmMachine", machine_spec()),
        ("ScvmmMachine", machine_spec_from_profile()),
        (
            "ScvmmMachineTemplate",
            json!({"template": {"metadata": {"labels": {"tier": "worker"}}, "spec": machine_spec()}}),
        ),
    ];
    for (i, (kind, spec)) in cases.into_iter().enumerate() {
        let api = dynamic(&client, &ns, kind);
        let name = format!("ok-{i}");
        let created = api
            .create(&PostParams::default(), &object(kind, &name, spec.clone()))
            .await
            .unwrap_or_else(|e| panic!("valid {kind} #{i} rejected: {e}"));
        assert_eq!(
            created.data["spec"], spec,
            "{kind} #{i} changed on the way in"
        );
    }
}

type Mutation = fn(&mut Value);

struct Case {
    what: &'static str,
    kind: &'static str,
    mutate: Mutation,
    /// A fragment of the message the user must see.
    expect: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "cluster without a server",
            kind: "ScvmmCluster",
            mutate: |s| {
                s.as_object_mut().unwrap().remove("server");
            },
            expect: "spec.server: Required value",
        },
        Case {
            what: "Basic auth over HTTP",
            kind: "ScvmmCluster",
            mutate: |s| {
                s["server"]["scheme"] = json!("HTTP");
                s["server"]["auth"] = json!("Basic");
            },
            expect: "clear text",
        },
        Case {
            what: "unknown auth mechanism",
            kind: "ScvmmCluster",
            mutate: |s| s["server"]["auth"] = json!("Digest"),
            expect: "supported values: \"Negotiate\", \"Kerberos\", \"NTLM\", \"Basic\"",
        },
        Case {
            what: "CA bundle together with skipping verification",
            kind: "ScvmmCluster",
            mutate: |s| {
                s["server"]["caBundleRef"] = json!({"kind": "Secret", "name": "ca"});
                s["server"]["insecureSkipTLSVerify"] = json!(true);
            },
            expect: "caBundleRef and insecureSkipTLSVerify exclude each other",
        },
        Case {
            what: "library share that is not a UNC path",
            kind: "ScvmmCluster",
            mutate: |s| s["server"]["libraryShare"] = json!("C:\\Library\\seeds"),
            expect: "libraryShare must be a UNC path",
        },
        Case {
            what: "WinRM port out of range",
            kind: "ScvmmCluster",
            mutate: |s| s["server"]["port"] = json!(70000),
            expect: "spec.server.port: Invalid value",
        },
        Case {
            what: "endpoint port out of range",
            kind: "ScvmmCluster",
            mutate: |s| s["controlPlaneEndpoint"]["port"] = json!(0),
            expect: "spec.controlPlaneEndpoint.port: Invalid value",
        },
        Case {
            what: "failure domain without a cloud or host group",
            kind: "ScvmmCluster",
            mutate: |s| s["failureDomains"][0] = json!({"name": "empty"}),
            expect: "needs a cloud or a hostGroup",
        },
        Case {
            what: "two failure domains with one name",
            kind: "ScvmmCluster",
            mutate: |s| s["failureDomains"][1]["name"] = json!("rack1"),
            expect: "Duplicate value",
        },
        Case {
            what: "an unknown orphaned-VM policy",
            kind: "ScvmmCluster",
            mutate: |s| s["orphanedVMPolicy"] = json!("Purge"),
            expect: "Unsupported value",
        },
        Case {
            what: "machine without a source",
            kind: "ScvmmMachine",
            mutate: |s| {
                s.as_object_mut().unwrap().remove("vmTemplate");
            },
            expect: "set spec.vmTemplate, or spec.hardwareProfile",
        },
        Case {
            what: "hardware profile without an OS disk",
            kind: "ScvmmMachine",
            mutate: |s| {
                s.as_object_mut().unwrap().remove("vmTemplate");
                s["hardwareProfile"] = json!("k8s");
            },
            expect: "set spec.vmTemplate, or spec.hardwareProfile",
        },
        Case {
            what: "zero CPUs",
            kind: "ScvmmMachine",
            mutate: |s| s["cpuCount"] = json!(0),
            expect: "spec.cpuCount: Invalid value",
        },
        Case {
            what: "too many CPUs",
            kind: "ScvmmMachine",
            mutate: |s| s["cpuCount"] = json!(241),
            expect: "spec.cpuCount: Invalid value",
        },
        Case {
            what: "memory that is not a quantity",
            kind: "ScvmmMachine",
            mutate: |s| s["memory"] = json!("eight gigs"),
            expect: "spec.memory must be a quantity between 32Mi and 12Ti",
        },
        Case {
            what: "memory below the minimum",
            kind: "ScvmmMachine",
            mutate: |s| s["memory"] = json!("16Mi"),
            expect: "spec.memory must be a quantity between 32Mi and 12Ti",
        },
        Case {
            what: "dynamic memory minimum above maximum",
            kind: "ScvmmMachine",
            mutate: |s| s["dynamicMemory"] = json!({"minimum": "8Gi", "maximum": "4Gi"}),
            expect: "minimum must not exceed dynamicMemory.maximum",
        },
        Case {
            what: "dynamic memory buffer out of range",
            kind: "ScvmmMachine",
            mutate: |s| {
                s["dynamicMemory"] =
                    json!({"minimum": "1Gi", "maximum": "4Gi", "bufferPercentage": 1})
            },
            expect: "spec.dynamicMemory.bufferPercentage: Invalid value",
        },
        Case {
            what: "disk with neither size nor vhd",
            kind: "ScvmmMachine",
            mutate: |s| s["disks"] = json!([{"dynamic": true}]),
            expect: "a disk needs a size",
        },
        Case {
            what: "disk size not a quantity",
            kind: "ScvmmMachine",
            mutate: |s| s["disks"] = json!([{"size": "big"}]),
            expect: "disk size must be a quantity between 1Gi and 64Ti",
        },
        Case {
            what: "unknown volume type",
            kind: "ScvmmMachine",
            mutate: |s| s["disks"] = json!([{"size": "10Gi", "volumeType": "Data"}]),
            expect: "supported values: \"BootAndSystem\"",
        },
        Case {
            what: "generation 3",
            kind: "ScvmmMachine",
            mutate: |s| s["generation"] = json!(3),
            expect: "spec.generation: Invalid value",
        },
        Case {
            what: "VM name with spaces",
            kind: "ScvmmMachine",
            mutate: |s| s["vmName"] = json!("my vm"),
            expect: "spec.vmName may hold letters, digits",
        },
        Case {
            what: "VM name too long",
            kind: "ScvmmMachine",
            mutate: |s| s["vmName"] = json!("a".repeat(65)),
            expect: "spec.vmName: Too long",
        },
        Case {
            what: "host name with upper case",
            kind: "ScvmmMachine",
            mutate: |s| s["hostname"] = json!("Node_1"),
            expect: "spec.hostname must be a lower-case DNS name",
        },
        Case {
            what: "provider ID in another scheme",
            kind: "ScvmmMachine",
            mutate: |s| s["providerID"] = json!("vsphere://4217c2a5-0a5e-4b9c-9c1e-0123456789ab"),
            expect: "providerID must be scvmm://",
        },
        Case {
            what: "VM ID that is not a GUID",
            kind: "ScvmmMachine",
            mutate: |s| s["vmId"] = json!("vm-42"),
            expect: "vmId must be an SCVMM object GUID",
        },
        Case {
            what: "reserved custom property",
            kind: "ScvmmMachine",
            mutate: |s| s["customProperties"]["CapiScvmmInstanceId"] = json!("x"),
            expect: "CapiScvmmInstanceId and CapiScvmmCluster are reserved",
        },
        Case {
            what: "DHCP together with static addresses",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["dhcp4"] = json!(true),
            expect: "dhcp4 cannot be combined with addresses",
        },
        Case {
            what: "adapter without any addressing",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0] = json!({"name": "eth0", "vmNetwork": "Prod"}),
            expect: "give the adapter an address",
        },
        Case {
            what: "address without a prefix length",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["addresses"] = json!(["10.0.0.21"]),
            expect: "addresses must be in CIDR notation",
        },
        Case {
            what: "IPv6 gateway in gateway4",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["gateway4"] = json!("fd00::1"),
            expect: "gateway4 must be an IPv4 address",
        },
        Case {
            what: "name server that is a host name",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["nameservers"] = json!(["dns.corp.example"]),
            expect: "nameservers must be IP addresses",
        },
        Case {
            what: "malformed MAC address",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["macAddress"] = json!("00:15:5D"),
            expect: "macAddress must look like 00:15:5D:01:02:03",
        },
        Case {
            what: "interface name longer than Linux allows",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["name"] = json!("a-very-long-interface"),
            expect: "spec.network.devices[0].name: Too long: may not be more than 15 bytes",
        },
        Case {
            what: "MTU below the IPv4 minimum",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["mtu"] = json!(100),
            expect: "mtu: Invalid value",
        },
        Case {
            what: "two adapters with one name",
            kind: "ScvmmMachine",
            mutate: |s| {
                let d = s["network"]["devices"][0].clone();
                s["network"]["devices"].as_array_mut().unwrap().push(d);
            },
            expect: "Duplicate value",
        },
        Case {
            what: "unknown power-off mode",
            kind: "ScvmmMachine",
            mutate: |s| s["powerOffMode"] = json!("Yank"),
            expect: "supported values: \"Hard\", \"Soft\", \"TrySoft\"",
        },
        Case {
            what: "shutdown timeout of zero",
            kind: "ScvmmMachine",
            mutate: |s| s["guestShutdownTimeoutSeconds"] = json!(0),
            expect: "guestShutdownTimeoutSeconds: Invalid value",
        },
        Case {
            what: "machine template with a provider ID",
            kind: "ScvmmMachineTemplate",
            mutate: |s| {
                s["template"]["spec"]["providerID"] =
                    json!("scvmm://4217c2a5-0a5e-4b9c-9c1e-0123456789ab")
            },
            expect: "a machine template must not set providerID or vmId",
        },
        Case {
            what: "machine template with an invalid machine spec",
            kind: "ScvmmMachineTemplate",
            mutate: |s| s["template"]["spec"]["cpuCount"] = json!(0),
            expect: "spec.template.spec.cpuCount: Invalid value",
        },
        Case {
            what: "cluster template with an invalid cluster spec",
            kind: "ScvmmClusterTemplate",
            mutate: |s| s["template"]["spec"]["server"]["libraryShare"] = json!("/srv/seeds"),
            expect: "libraryShare must be a UNC path",
        },
    ]
}

fn base_spec(kind: &str) -> Value {
    match kind {
        "ScvmmCluster" => cluster_spec(),
        "ScvmmClusterTemplate" => json!({"template": {"spec": cluster_spec()}}),
        "ScvmmMachine" => machine_spec(),
        "ScvmmMachineTemplate" => json!({"template": {"spec": machine_spec()}}),
        other => panic!("no base spec for {other}"),
    }
}

#[tokio::test]
async fn each_rule_rejects_its_bad_input_with_an_actionable_message() {
    let tb = cluster().await;
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("invalid").await.unwrap();
    let mut failures = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let mut spec = base_spec(case.kind);
        (case.mutate)(&mut spec);
        let api = dynamic(&client, &ns, case.kind);
        let result = api
            .create(
                &PostParams::default(),
                &object(case.kind, &format!("bad-{i}"), spec),
            )
            .await;
        match result {
            Ok(_) => failures.push(format!("{}: accepted", case.what)),
            Err(kube::Error::Api(status)) if status.code == 422 => {
                if !status.message.contains(case.expect) {
                    failures.push(format!(
                        "{}: message lacks {:?}:\n    {}",
                        case.what, case.expect, status.message
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: unexpected error {e}", case.what)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} rule(s) misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

struct Update {
    what: &'static str,
    kind: &'static str,
    mutate: Mutation,
    /// None: the update must be accepted; Some: the message fragment.
    expect: Option<&'static str>,
}

fn updates() -> Vec<Update> {
    vec![
        Update {
            what: "controller writes providerID and vmId the first time",
            kind: "ScvmmMachine",
            mutate: |s| {
                s["providerID"] = json!("scvmm://4217c2a5-0a5e-4b9c-9c1e-0123456789ab");
                s["vmId"] = json!("7a1a3b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
            },
            expect: None,
        },
        Update {
            what: "changing the CPU count of a VM",
            kind: "ScvmmMachine",
            mutate: |s| s["cpuCount"] = json!(8),
            expect: Some("spec.cpuCount cannot change on an existing VM"),
        },
        Update {
            what: "changing memory",
            kind: "ScvmmMachine",
            mutate: |s| s["memory"] = json!("16Gi"),
            expect: Some("spec.memory cannot change on an existing VM"),
        },
        Update {
            what: "adding a VM name after creation",
            kind: "ScvmmMachine",
            mutate: |s| s["vmName"] = json!("renamed"),
            expect: Some("cannot be added or removed after creation"),
        },
        Update {
            what: "removing the network",
            kind: "ScvmmMachine",
            mutate: |s| {
                s.as_object_mut().unwrap().remove("network");
            },
            expect: Some("cannot be added or removed after creation"),
        },
        Update {
            what: "changing an address",
            kind: "ScvmmMachine",
            mutate: |s| s["network"]["devices"][0]["addresses"] = json!(["10.0.0.99/24"]),
            expect: Some("spec.network cannot change on an existing VM"),
        },
        Update {
            what: "removing a disk",
            kind: "ScvmmMachine",
            mutate: |s| s["disks"] = json!([]),
            expect: Some("disks cannot be removed"),
        },
        Update {
            what: "growing an existing disk",
            kind: "ScvmmMachine",
            mutate: |s| s["disks"][0]["size"] = json!("80Gi"),
            expect: Some("the disks of an existing VM cannot change"),
        },
        Update {
            what: "capping an existing disk",
            kind: "ScvmmMachine",
            mutate: |s| s["disks"][0]["iopsMaximum"] = json!(500),
            expect: Some("the disks of an existing VM cannot change"),
        },
        Update {
            what: "appending a disk (accepted, as before)",
            kind: "ScvmmMachine",
            mutate: |s| {
                s["disks"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"size": "10Gi"}))
            },
            expect: None,
        },
        Update {
            what: "adding VM options",
            kind: "ScvmmMachine",
            mutate: |s| s["vmOptions"] = json!({"enableNestedVirtualization": true}),
            expect: Some("spec.vmOptions and spec.fibreChannel are applied when the VM is created"),
        },
        Update {
            what: "adding a Fibre Channel adapter",
            kind: "ScvmmMachine",
            mutate: |s| s["fibreChannel"] = json!([{"virtualSan": "FabricA"}]),
            expect: Some("spec.vmOptions and spec.fibreChannel are applied when the VM is created"),
        },
        Update {
            what: "changing the tag, description and power-off mode (mutable)",
            kind: "ScvmmMachine",
            mutate: |s| {
                s["tag"] = json!("blue");
                s["description"] = json!("worker");
                s["powerOffMode"] = json!("Hard");
            },
            expect: None,
        },
        Update {
            what: "moving the control-plane endpoint",
            kind: "ScvmmCluster",
            mutate: |s| s["controlPlaneEndpoint"]["host"] = json!("10.0.0.200"),
            expect: Some("spec.controlPlaneEndpoint.host cannot be changed or removed once set"),
        },
        Update {
            what: "removing the control-plane endpoint",
            kind: "ScvmmCluster",
            mutate: |s| {
                s.as_object_mut().unwrap().remove("controlPlaneEndpoint");
            },
            expect: Some("spec.controlPlaneEndpoint.host cannot be changed or removed once set"),
        },
        Update {
            what: "adding an endpoint pool (the controller writes the claimed VIP next to it)",
            kind: "ScvmmCluster",
            mutate: |s| s["controlPlaneEndpointPool"] = json!({"apiGroup": "ipam.cluster.x-k8s.io", "kind": "InClusterIPPool", "name": "vip"}),
            expect: None,
        },
        Update {
            what: "adding a failure domain",
            kind: "ScvmmCluster",
            mutate: |s| {
                s["failureDomains"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "rack2", "hostGroup": "All Hosts\\Prod\\Rack2"}))
            },
            expect: None,
        },
    ]
}

/// Each update starts from a fresh valid object, so one case never depends
/// on another; the provider-ID case is additionally checked for the second
/// write that must fail.
#[tokio::test]
async fn immutable_fields_reject_changes_and_mutable_ones_accept_them() {
    let tb = cluster().await;
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("update").await.unwrap();
    let mut failures = Vec::new();
    for (i, u) in updates().into_iter().enumerate() {
        let api = dynamic(&client, &ns, u.kind);
        let name = format!("upd-{i}");
        let mut obj = api
            .create(
                &PostParams::default(),
                &object(u.kind, &name, base_spec(u.kind)),
            )
            .await
            .unwrap();
        (u.mutate)(&mut obj.data["spec"]);
        match (
            api.replace(&name, &PostParams::default(), &obj).await,
            u.expect,
        ) {
            (Ok(_), None) => {}
            (Ok(_), Some(msg)) => failures.push(format!("{}: accepted, wanted {msg:?}", u.what)),
            (Err(e), None) => failures.push(format!("{}: rejected: {e}", u.what)),
            (Err(kube::Error::Api(s)), Some(msg)) if s.message.contains(msg) => {}
            (Err(e), Some(msg)) => failures.push(format!("{}: wanted {msg:?}, got {e}", u.what)),
        }
    }

    // Once written, the identity fields cannot be rewritten or dropped.
    let api = dynamic(&client, &ns, "ScvmmMachine");
    let mut spec = machine_spec();
    spec["providerID"] = json!("scvmm://4217c2a5-0a5e-4b9c-9c1e-0123456789ab");
    spec["vmId"] = json!("7a1a3b9e-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
    let created = api
        .create(
            &PostParams::default(),
            &object("ScvmmMachine", "identity", spec),
        )
        .await
        .unwrap();
    let mut changed = created.clone();
    changed.data["spec"]["providerID"] = json!("scvmm://00000000-0a5e-4b9c-9c1e-0123456789ab");
    match api
        .replace("identity", &PostParams::default(), &changed)
        .await
    {
        Err(kube::Error::Api(s)) if s.message.contains("spec.providerID is set once") => {}
        other => failures.push(format!("rewriting providerID: {other:?}")),
    }
    let mut dropped = created.clone();
    dropped.data["spec"].as_object_mut().unwrap().remove("vmId");
    match api
        .replace("identity", &PostParams::default(), &dropped)
        .await
    {
        Err(kube::Error::Api(s)) if s.message.contains("spec.vmId is set once") => {}
        other => failures.push(format!("removing vmId: {other:?}")),
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn status_is_a_subresource_with_per_type_conditions() {
    let tb = cluster().await;
    let client = tb.client().await.unwrap();
    let ns = tb.create_namespace("status").await.unwrap();
    let api = dynamic(&client, &ns, "ScvmmMachine");
    api.create(
        &PostParams::default(),
        &object("ScvmmMachine", "m", machine_spec()),
    )
    .await
    .unwrap();

    let condition = |type_: &str, status: &str, reason: &str| {
        json!({"type": type_, "status": status, "reason": reason, "message": "",
               "lastTransitionTime": "2026-11-25T12:00:00Z"})
    };
    let apply = |manager: &'static str, status: Value| {
        let api = api.clone();
        async move {
            let body = json!({
                "apiVersion": format!("{}/{}", api::GROUP, api::VERSION),
                "kind": "ScvmmMachine",
                "status": status,
            });
            api.patch_status(
                "m",
                &PatchParams::apply(manager).force(),
                &Patch::Apply(&body),
            )
            .await
        }
    };
    apply(
        "first",
        json!({"initialization": {"provisioned": true},
               "addresses": [{"type": "InternalIP", "address": "10.0.0.21"}],
               "conditions": [condition("Ready", "True", "Provisioned")]}),
    )
    .await
    .unwrap();
    // A second field manager owning another condition type merges into the
    // list instead of replacing it: conditions are a list-map keyed by type.
    apply(
        "second",
        json!({"conditions": [condition("Paused", "False", "NotPaused")]}),
    )
    .await
    .unwrap();

    let got = api.get("m").await.unwrap();
    let types: Vec<&str> = got.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Ready", "Paused"]);
    assert_eq!(
        got.data["status"]["initialization"]["provisioned"],
        json!(true)
    );
    assert_eq!(
        got.data["spec"],
        machine_spec(),
        "a status write must not touch spec"
    );

    // A write to the main resource cannot change status.
    let mut obj = got.clone();
    obj.data["status"]["initialization"]["provisioned"] = json!(false);
    obj.data["spec"]["tag"] = json!("t");
    let replaced = api
        .replace("m", &PostParams::default(), &obj)
        .await
        .unwrap();
    assert_eq!(
        replaced.data["status"]["initialization"]["provisioned"],
        json!(true)
    );
    assert_eq!(replaced.data["spec"]["tag"], json!("t"));

    // Bad status values are rejected too.
    let err = apply(
        "first",
        json!({"addresses": [{"type": "PublicIP", "address": "1.2.3.4"}]}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("supported values"), "{err}");
}
