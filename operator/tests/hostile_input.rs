//! Hostile input, one test per row of docs/security.md ("Hostile input"):
//! user strings on their way into PowerShell, the bootstrap Secret, IPAM
//! objects, and SCVMM answering with output no VMM server prints. Each test
//! asserts what the user sees (the error text, the condition reason), not
//! only that nothing panics. `operator/tests/security_docs.rs` keeps the
//! table and these tests in step.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use operator::api::machine::PowerOffMode;
use operator::capi::{IPAddress, IPAddressSpec, IpPoolReference, LocalRef};
use operator::controller::conditions::reasons;
use operator::controller::machine::ipam::address_from;
use operator::controller::machine::observe::{MAX_BOOTSTRAP_DATA_BYTES, bootstrap_from_secret};
use operator::controller::machine::plan::{
    Action, Addresses, BootstrapData, Observed, Scvmm, plan,
};
use operator::scvmm::script::{self, Operation};
use operator::scvmm::{
    CreateVm, DiskRequest, EndpointConfig, NicRequest, Placement, ScvmmClient, ScvmmError, VmSource,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scvmm_sim::backend::{ErrorStyle, PowerShellBackend, ScriptOutcome, ScriptRunner};
use scvmm_sim::cli::Args;
use scvmm_sim::server::RunningSim;
use scvmm_sim::vmm::SystemClock;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wsman::transport::{ClientAuth, Encryption, TlsTrust};

const SEEDS: &str = "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds";

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
        max_connections: 2,
        operation_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(60),
        lock_retry: Duration::from_millis(50),
    }
}

fn sim_args() -> Args {
    Args::parse_from([
        "scvmm-sim",
        "--listen",
        "127.0.0.1:0",
        "--latency-scale",
        "0",
    ])
}

async fn emulator() -> (RunningSim, ScvmmClient) {
    let sim = scvmm_sim::server::start(&sim_args(), |vmm| {
        Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
            vmm,
            Arc::new(SystemClock),
        )))
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{}/wsman", sim.handle.local_addr().port());
    let client = ScvmmClient::new(endpoint(&url)).unwrap();
    (sim, client)
}

fn request(name: &str) -> CreateVm {
    let id = uuid::Uuid::new_v4().to_string();
    CreateVm {
        instance_id: id.clone(),
        cluster: "default/hostile".into(),
        name: name.to_string(),
        source: VmSource::Template {
            name: "Ubuntu 24.04".into(),
        },
        placement: Placement::HostGroup("All Hosts\\Prod\\Rack1".into()),
        cpu_count: 2,
        memory_mb: Some(2048),
        dynamic_memory: None,
        disks: vec![],
        nics: vec![NicRequest {
            vm_network: "Prod-VLAN100".into(),
            ..Default::default()
        }],
        availability_sets: vec![],
        custom_properties: BTreeMap::new(),
        tag: None,
        description: None,
        start_action: None,
        stop_action: None,
        checkpoint_type: None,
        hardware: Default::default(),
        // The emulator reads the seed only when the guest boots.
        seed_iso: b"CD001 seed".to_vec(),
        seed_iso_name: format!("capi-seed-{id}.iso"),
    }
}

// ---- injection ---------------------------------------------------------------

/// What PowerShell could take for code: every quote it knows (the Unicode
/// ones included), escapes, subexpressions, separators, redirections,
/// here-string and comment markers, wildcards (`-Name` and `-like` would
/// match them), format items, and a real command to run.
const FRAGMENTS: &[&str] = &[
    "'",
    "\"",
    "\u{2018}",
    "\u{2019}",
    "\u{201A}",
    "\u{201B}",
    "\u{201C}",
    "\u{201D}",
    "\u{201E}",
    "`",
    "`n",
    "$",
    "$(Remove-SCVirtualMachine -VM (Get-SCVirtualMachine) -Force)",
    "${env:USERNAME}",
    "@(Stop-Computer)",
    "; Remove-SCVirtualMachine -Force; ",
    "'; Remove-SCVirtualMachine -Force; '",
    "\u{2019}; Stop-Computer; \u{2018}",
    "\"; Stop-Computer; \"",
    " | Out-Null",
    " & ",
    " && ",
    " > x.txt",
    "\n",
    "\r\n",
    "@'\n",
    "\n'@",
    "<#",
    "#>",
    "# ",
    "*",
    "?",
    "[a-z]",
    "{0}",
    "%PATH%",
    "\\\\evil\\share",
    "\u{1F600}",
    "\u{200B}",
];

/// A string that holds at least one fragment, among arbitrary text.
fn hostile_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
        1 => "\\PC{0,6}",
        1 => any::<char>().prop_map(String::from),
    ];
    (
        proptest::collection::vec(piece, 0..5),
        proptest::sample::select(FRAGMENTS),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut parts, must, at)| {
            parts.insert(at.index(parts.len() + 1), must.to_string());
            parts.concat()
        })
}

/// Every string field of the spec (or the cluster's) that a script receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    // Stored by VMM as given.
    VmName,
    Description,
    Tag,
    CustomProperty,
    AvailabilitySet,
    IpOwner,
    // Passed to VMM as a name it resolves itself (`-OperatingSystem`).
    OperatingSystem,
    // Looked up by name: a name VMM does not know.
    CustomPropertyName,
    Template,
    HardwareProfile,
    Vhd,
    HostGroup,
    Cloud,
    VmNetwork,
    VmSubnet,
    IpPool,
    ClusterCloud,
    ClusterHostGroup,
    ClusterVmNetwork,
    ClusterIpPool,
}

const FIELDS: &[Field] = &[
    Field::VmName,
    Field::Description,
    Field::Tag,
    Field::CustomProperty,
    Field::CustomPropertyName,
    Field::AvailabilitySet,
    Field::IpOwner,
    Field::Template,
    Field::HardwareProfile,
    Field::OperatingSystem,
    Field::Vhd,
    Field::HostGroup,
    Field::Cloud,
    Field::VmNetwork,
    Field::VmSubnet,
    Field::IpPool,
    Field::ClusterCloud,
    Field::ClusterHostGroup,
    Field::ClusterVmNetwork,
    Field::ClusterIpPool,
];

/// Jobs a create may leave behind; anything else ran because of the input.
const CREATE_JOBS: &[&str] = &[
    "New-SCVirtualMachine",
    "Read-SCLibraryShare",
    "New-SCCustomProperty",
    "(Refresh VM - System Job)",
];

fn hardware_profile_request(name: &str) -> CreateVm {
    let mut req = request(name);
    req.source = VmSource::HardwareProfile {
        profile: "Ubuntu-HW".into(),
        generation: Some(2),
        operating_system: Some("Ubuntu Linux 24.04 (64 bit)".into()),
    };
    req.placement = Placement::HostGroup("All Hosts\\Prod\\Rack2".into());
    req.disks = vec![DiskRequest {
        vhd: Some("ubuntu-24.04-server-cloudimg-amd64.vhdx".into()),
        ..Default::default()
    }];
    req
}

/// Runs one operation with `value` in `field`; checks what VMM holds after.
async fn inject(
    sim: &RunningSim,
    client: &ScvmmClient,
    field: Field,
    value: &str,
) -> Result<(), TestCaseError> {
    let (vms_before, jobs_before, grants_before) = {
        let vmm = sim.vmm.lock().unwrap();
        let s = vmm.state();
        (s.vms.len(), s.jobs.len(), s.allocations.len())
    };
    let mut req = request("hostile-probe");
    let outcome = match field {
        Field::IpOwner => {
            let grant = client.grant_ip("Prod-VLAN100-Pool", value).await;
            if value.trim().is_empty() {
                // Revoking by a blank owner would match unrelated grants,
                // so the client refuses it before any script runs.
                prop_assert!(
                    matches!(&grant, Err(ScvmmError::Config(m)) if m.contains("empty")),
                    "a blank owner is refused: {:?}",
                    grant
                );
                let vmm = sim.vmm.lock().unwrap();
                prop_assert_eq!(vmm.state().allocations.len(), grants_before);
                return Ok(());
            }
            prop_assert!(grant.is_ok(), "grant_ip: {:?}", grant);
            let (grants, verbatim) = {
                let vmm = sim.vmm.lock().unwrap();
                let s = vmm.state();
                let verbatim = s.allocations.iter().any(|a| a.description == value);
                (s.allocations.len(), verbatim)
            };
            prop_assert_eq!(grants, grants_before + 1);
            prop_assert!(verbatim, "the owner is stored verbatim");
            prop_assert_eq!(client.revoke_ips(value).await.unwrap(), 1);
            return Ok(());
        }
        Field::IpPool => client.grant_ip(value, "owner").await.map(|_| ()),
        Field::ClusterCloud
        | Field::ClusterHostGroup
        | Field::ClusterVmNetwork
        | Field::ClusterIpPool => {
            let mut d = operator::scvmm::DomainQuery {
                name: "fd".into(),
                cloud: None,
                host_group: Some("All Hosts\\Prod\\Rack1".into()),
                vm_networks: vec!["Prod-VLAN100".into()],
                ip_pools: vec![],
            };
            match field {
                Field::ClusterCloud => {
                    d.host_group = None;
                    d.cloud = Some(value.to_string());
                }
                Field::ClusterHostGroup => d.host_group = Some(value.to_string()),
                Field::ClusterVmNetwork => d.vm_networks = vec![value.to_string()],
                _ => d.ip_pools = vec![value.to_string()],
            }
            let info = client.cluster_info(&[d], value).await;
            prop_assert!(info.is_ok(), "cluster_info: {:?}", info);
            let info = info.unwrap();
            // A name VMM does not know is a finding about the domain, with
            // the name verbatim, not a failure of the script.
            let problem = info.failure_domains[0].problem.clone().unwrap_or_default();
            prop_assert!(
                problem.contains(value),
                "the problem names the value verbatim: {}",
                problem
            );
            prop_assert!(
                info.vms.is_empty(),
                "no VM carries a hostile cluster marker"
            );
            let vmm = sim.vmm.lock().unwrap();
            prop_assert_eq!(vmm.state().jobs.len(), jobs_before, "a check runs no job");
            return Ok(());
        }
        _ => {
            match field {
                Field::VmName => {
                    // VMM refuses control characters in VM names (and the
                    // API schema does too), so those are not a name to try.
                    req.name = value.chars().filter(|c| !c.is_control()).collect();
                    if req.name.trim().is_empty() {
                        req.name = format!("x{value:?}");
                    }
                }
                Field::Description => req.description = Some(value.to_string()),
                Field::Tag => req.tag = Some(value.to_string()),
                Field::CustomProperty => {
                    req.custom_properties = BTreeMap::from([("Environment".into(), value.into())]);
                }
                Field::CustomPropertyName => {
                    req.custom_properties = BTreeMap::from([(value.into(), "v".into())]);
                }
                Field::AvailabilitySet => req.availability_sets = vec![value.to_string()],
                Field::Template => req.source = VmSource::Template { name: value.into() },
                Field::HardwareProfile => {
                    req = hardware_profile_request("hostile-probe");
                    req.source = VmSource::HardwareProfile {
                        profile: value.into(),
                        generation: Some(2),
                        operating_system: None,
                    };
                }
                Field::OperatingSystem => {
                    req = hardware_profile_request("hostile-probe");
                    req.source = VmSource::HardwareProfile {
                        profile: "Ubuntu-HW".into(),
                        generation: Some(2),
                        operating_system: Some(value.into()),
                    };
                }
                Field::Vhd => {
                    req = hardware_profile_request("hostile-probe");
                    req.disks[0].vhd = Some(value.into());
                }
                Field::HostGroup => req.placement = Placement::HostGroup(value.into()),
                Field::Cloud => req.placement = Placement::Cloud(value.into()),
                Field::VmNetwork => req.nics[0].vm_network = value.into(),
                Field::VmSubnet => req.nics[0].vm_subnet = Some(value.into()),
                _ => unreachable!(),
            }
            client.create_vm(&req).await.map(|vm| {
                assert_eq!(vm.name, req.name);
            })
        }
    };

    let vmm = sim.vmm.lock().unwrap();
    let s = vmm.state();
    prop_assert!(s.removed_vms.is_empty(), "nothing was removed");
    for job in &s.jobs[jobs_before..] {
        prop_assert!(
            CREATE_JOBS.contains(&job.cmdlet_name.as_str()),
            "an unexpected job ran: {} ({})",
            job.name,
            job.cmdlet_name
        );
    }
    let stored = matches!(
        field,
        Field::VmName
            | Field::Description
            | Field::Tag
            | Field::CustomProperty
            | Field::AvailabilitySet
            | Field::OperatingSystem
    );
    if stored {
        prop_assert!(outcome.is_ok(), "{:?}: {:?}", field, outcome);
        prop_assert_eq!(s.vms.len(), vms_before + 1);
        let vm = s
            .vms
            .iter()
            .find(|v| v.custom_properties.get("CapiScvmmInstanceId") == Some(&req.instance_id))
            .unwrap();
        match field {
            Field::VmName => prop_assert_eq!(&vm.name, &req.name),
            Field::Description => prop_assert_eq!(
                &vm.description,
                &format!("{value}\ncapi-scvmm-instance-id={}", req.instance_id)
            ),
            Field::Tag => prop_assert_eq!(&vm.tag, value),
            Field::CustomProperty => {
                prop_assert_eq!(vm.custom_properties.get("Environment").unwrap(), value)
            }
            Field::OperatingSystem => prop_assert_eq!(&vm.operating_system, value),
            _ => prop_assert_eq!(&vm.availability_sets, &vec![value.to_string()]),
        }
    } else {
        // A name VMM does not know: refused by VMM (never matched as a
        // wildcard, never run), with the name verbatim in the message.
        let err = match outcome {
            Ok(()) => {
                return Err(TestCaseError::fail(format!(
                    "{field:?}: {value:?} was accepted"
                )));
            }
            Err(e) => e,
        };
        if value.trim().is_empty() {
            // A blank name is refused either by the client's own checks,
            // before any script is rendered, or by VMM as a name it cannot
            // find (the CRD refuses most of them earlier still).
            let config = matches!(err, ScvmmError::Config(_)) && err.to_string().contains("empty");
            prop_assert!(
                config || err.is_not_found(),
                "{:?}: a blank name is refused: {}",
                field,
                err
            );
            prop_assert_eq!(s.vms.len(), vms_before, "no VM was made");
            return Ok(());
        }
        prop_assert!(
            err.is_not_found(),
            "{:?}: VMM finds nothing by that name (error 801), the script did not break: {}",
            field,
            err
        );
        prop_assert!(
            err.to_string().contains(value.trim_end()),
            "{:?}: the message names the value verbatim: {}",
            field,
            err
        );
        prop_assert_eq!(s.vms.len(), vms_before, "no VM was made");
    }
    Ok(())
}

/// Every user-controlled string that reaches a script, with arbitrary
/// hostile text, against the emulator's PowerShell: stored verbatim or
/// refused by VMM naming it verbatim; nothing else runs.
#[test]
fn every_user_string_reaches_vmm_as_data() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (sim, client) = rt.block_on(emulator());
    let cases = std::env::var("SCVMM_INJECTION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // Each field with every fragment at once, and with patterns that match
    // every name were they taken as wildcards; then random ones.
    let worst = FRAGMENTS.concat();
    for field in FIELDS {
        for value in [worst.as_str(), "*", "?*", "[A-Za-z]*"] {
            rt.block_on(inject(&sim, &client, *field, value))
                .unwrap_or_else(|e| panic!("{field:?} = {value:?}: {e}"));
        }
    }
    let strategy = (proptest::sample::select(FIELDS), hostile_string());
    runner
        .run(&strategy, |(field, value)| {
            rt.block_on(inject(&sim, &client, field, &value))
        })
        .unwrap();
}

/// The script text never depends on the parameters: for every operation,
/// whatever the document holds, the rendered script differs from the one
/// rendered with `{}` only inside the base64 literal, parses with the
/// emulator's PowerShell parser, and the literal decodes to the document.
#[test]
fn scripts_are_the_same_code_whatever_the_parameters() {
    let value = prop_oneof![
        hostile_string().prop_map(Value::String),
        proptest::collection::vec(hostile_string(), 0..3).prop_map(|v| json!(v)),
    ];
    let doc = proptest::collection::btree_map(hostile_string(), value, 1..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()));
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(proptest::sample::select(&Operation::ALL[..]), doc),
            |(op, doc)| {
                let text = script::render(op, &doc);
                let literal = script::params_of(&text).unwrap();
                prop_assert!(
                    literal
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
                );
                prop_assert_eq!(script::decode_params(literal).unwrap(), doc);
                let baseline = script::render(op, &json!({}));
                prop_assert_eq!(
                    text.replacen(literal, "P", 1),
                    baseline.replacen(script::params_of(&baseline).unwrap(), "P", 1)
                );
                prop_assert!(scvmm_sim::ps::parse(&text).is_ok());
                Ok(())
            },
        )
        .unwrap();
}

// ---- the bootstrap Secret ----------------------------------------------------

fn secret(data: &[(&str, &[u8])]) -> Secret {
    Secret {
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

fn refused(secret: Option<&Secret>) -> String {
    bootstrap_from_secret(secret, "ns1", "m1-bootstrap").unwrap_err()
}

#[test]
fn a_missing_bootstrap_secret_is_named_and_waited_for() {
    let m = refused(None);
    assert!(m.contains("ns1/m1-bootstrap"), "{m}");
    assert!(m.contains("does not exist"), "{m}");
    assert!(m.contains("bootstrap provider"), "says who creates it: {m}");
}

#[test]
fn an_empty_bootstrap_secret_names_the_key() {
    for s in [
        secret(&[]),
        secret(&[("value", b"")]),
        secret(&[("value", b" \n\t ")]),
        secret(&[("format", b"cloud-config")]),
        Secret::default(),
    ] {
        let m = refused(Some(&s));
        assert!(m.contains("ns1/m1-bootstrap"), "{m}");
        assert!(m.contains("\"value\""), "names the key: {m}");
    }
}

#[test]
fn a_huge_bootstrap_secret_is_refused_with_the_limit() {
    let mut big = b"#cloud-config\n".to_vec();
    big.resize(MAX_BOOTSTRAP_DATA_BYTES + 1, b'a');
    let m = refused(Some(&secret(&[("value", &big)])));
    assert!(m.contains("ns1/m1-bootstrap"), "{m}");
    assert!(m.contains(&format!("{} bytes", big.len())), "{m}");
    assert!(m.contains("1 MiB"), "{m}");
    assert!(m.len() < 512, "the message stays short");
    // At the limit, it is used.
    big.truncate(MAX_BOOTSTRAP_DATA_BYTES);
    assert_eq!(
        bootstrap_from_secret(Some(&secret(&[("value", &big)])), "ns1", "m1")
            .unwrap()
            .len(),
        MAX_BOOTSTRAP_DATA_BYTES
    );
}

#[test]
fn binary_or_non_utf8_bootstrap_data_is_refused_unless_gzip() {
    let not_utf8: &[u8] = b"#cloud-config\nruncmd: [\xff\xfe]\n";
    let m = refused(Some(&secret(&[("value", not_utf8)])));
    assert!(m.contains("ns1/m1-bootstrap"), "{m}");
    assert!(m.contains("not UTF-8"), "{m}");
    assert!(m.contains("offset 23"), "{m}");
    let nul: &[u8] = b"#cloud-config\n\0\0\0";
    let m = refused(Some(&secret(&[("value", nul)])));
    assert!(m.contains("binary"), "{m}");
    assert!(m.contains("cloud-init"), "says why it matters: {m}");
    // cloud-init unpacks gzip user-data itself.
    let gzip: &[u8] = &[0x1f, 0x8b, 0x08, 0x00, 0xff, 0x00, 0xfe];
    assert_eq!(
        bootstrap_from_secret(Some(&secret(&[("value", gzip)])), "ns1", "m1").unwrap(),
        gzip
    );
    // Text with any Unicode is fine.
    let text = "#cloud-config\nwrite_files: [{content: \"ü \u{1F600} '\\\"\"}]\n";
    assert!(bootstrap_from_secret(Some(&secret(&[("value", text.as_bytes())])), "n", "m").is_ok());
}

#[test]
fn an_unsupported_bootstrap_format_is_named_briefly() {
    let m = refused(Some(&secret(&[("format", b"ignition"), ("value", b"{}")])));
    assert!(m.contains("ignition"), "{m}");
    let long = "x".repeat(100_000);
    let m = refused(Some(&secret(&[
        ("format", long.as_bytes()),
        ("value", b"#cloud-config\n"),
    ])));
    assert!(m.contains("unknown format"), "{m}");
    assert!(m.len() < 512, "a hostile format is not echoed whole");
}

/// What the user sees on the ScvmmMachine: a False VM condition with reason
/// BootstrapDataInvalid carrying the message, no create, and a look again.
#[test]
fn invalid_bootstrap_data_becomes_a_condition_not_a_vm() {
    let message = refused(Some(&secret(&[("value", b"\xff")])));
    let observed = Observed {
        deleting: false,
        has_finalizer: true,
        paused: false,
        has_owner: true,
        cluster_ready: true,
        bootstrap: BootstrapData::Invalid(message.clone()),
        addresses: Addresses::Ready,
        has_identity: true,
        has_vm_id: false,
        provisioned: false,
        seed_cleaned: false,
        scvmm: Scvmm::Absent,
        create_attempts: 0,
        power_off_mode: PowerOffMode::TrySoft,
        shutdown_elapsed: None,
        shutdown_timeout: Duration::from_secs(300),
        restart_powered_off: false,
        skip_vm_deletion: false,
        address_refresh_in: None,
    };
    let p = plan(&observed);
    assert_eq!(p.action, Action::Wait);
    assert!(p.requeue.is_some());
    let c = p
        .conditions
        .iter()
        .find(|c| c.reason == reasons::BOOTSTRAP_DATA_INVALID)
        .unwrap();
    assert_eq!(c.message, message);
}

// ---- IPAM objects -------------------------------------------------------------

fn ip(claim: &str, address: &str, prefix: Option<i32>, gateway: Option<&str>) -> IPAddress {
    IPAddress::new(
        "m1-eth0-0",
        IPAddressSpec {
            claim_ref: LocalRef { name: claim.into() },
            pool_ref: IpPoolReference {
                api_group: "ipam.cluster.x-k8s.io".into(),
                kind: "InClusterIPPool".into(),
                name: "pool".into(),
            },
            address: address.into(),
            prefix,
            gateway: gateway.map(str::to_string),
        },
    )
}

fn ipam_refused(ip: &IPAddress) -> String {
    let m = address_from("ns1", "m1-eth0-0", ip).unwrap_err();
    assert!(
        m.contains("IPAddress ns1/m1-eth0-0"),
        "names the object: {m}"
    );
    assert!(m.contains("IPAM provider"), "says who must fix it: {m}");
    assert!(m.len() < 600, "stays short: {m}");
    m
}

#[test]
fn malformed_ipam_addresses_are_refused_by_field() {
    let ok = address_from(
        "ns1",
        "m1-eth0-0",
        &ip("m1-eth0-0", "10.0.0.5", Some(24), Some("10.0.0.1")),
    )
    .unwrap();
    assert_eq!(ok.cidr, "10.0.0.5/24");
    assert_eq!(ok.gateway.as_deref(), Some("10.0.0.1"));
    let v6 = address_from(
        "ns1",
        "m1-eth0-0",
        &ip("m1-eth0-0", "fd00::5", Some(64), Some("")),
    )
    .unwrap();
    assert_eq!((v6.cidr.as_str(), v6.gateway), ("fd00::5/64", None));

    let cases: &[(IPAddress, &str)] = &[
        (ip("m1-eth0-0", "", Some(24), None), "spec.address \"\""),
        (
            ip("m1-eth0-0", "10.0.0.300", Some(24), None),
            "not an IP address",
        ),
        (
            ip("m1-eth0-0", "10.0.0.5/24", Some(24), None),
            "not an IP address",
        ),
        (
            ip("m1-eth0-0", "10.0.0.5\n  evil: yaml", Some(24), None),
            "spec.address",
        ),
        (ip("m1-eth0-0", "10.0.0.5", None, None), "spec.prefix None"),
        (ip("m1-eth0-0", "10.0.0.5", Some(33), None), "from 0 to 32"),
        (
            ip("m1-eth0-0", "10.0.0.5", Some(-1), None),
            "spec.prefix Some(-1)",
        ),
        (ip("m1-eth0-0", "fd00::5", Some(129), None), "from 0 to 128"),
        (
            ip("m1-eth0-0", "10.0.0.5", Some(24), Some("gateway")),
            "spec.gateway",
        ),
        (
            ip("m1-eth0-0", "10.0.0.5", Some(24), Some("fd00::1")),
            "same family",
        ),
        (
            ip("other-claim", "10.0.0.5", Some(24), None),
            "answers IPAddressClaim \"other-claim\"",
        ),
    ];
    for (bad, expect) in cases {
        let m = ipam_refused(bad);
        assert!(m.contains(expect), "{expect:?} in {m}");
    }
    // A huge value is cut short in the message.
    let m = ipam_refused(&ip("m1-eth0-0", &"9".repeat(1 << 20), Some(24), None));
    assert!(m.contains("..."), "{m}");
}

proptest! {
    /// Whatever an IPAM provider writes, the answer is a usable CIDR or a
    /// bounded message, never a panic.
    #[test]
    fn any_ipam_address_is_used_or_refused(
        address in "\\PC{0,40}|[0-9.:a-f]{1,40}",
        prefix in proptest::option::of(any::<i32>()),
        gateway in proptest::option::of("\\PC{0,40}|[0-9.:a-f]{1,40}"),
    ) {
        match address_from("ns", "c", &ip("c", &address, prefix, gateway.as_deref())) {
            Ok(a) => {
                let (addr, len) = a.cidr.split_once('/').unwrap();
                prop_assert!(addr.parse::<std::net::IpAddr>().is_ok());
                prop_assert!(len.parse::<u8>().unwrap() <= 128);
            }
            Err(m) => prop_assert!(m.len() < 800),
        }
    }
}

// ---- SCVMM answering with output no VMM server prints ------------------------

/// A "VMM server" whose every script prints what the test says.
#[derive(Clone, Default)]
struct Canned(Arc<Mutex<ScriptOutcome>>);

impl ScriptRunner for Canned {
    fn run(&mut self, _script: &str, _errors: ErrorStyle) -> ScriptOutcome {
        self.0.lock().unwrap().clone()
    }
}

async fn canned_server() -> (RunningSim, ScvmmClient, Canned) {
    let canned = Canned::default();
    let runner = canned.clone();
    let sim = scvmm_sim::server::start(&sim_args(), move |_| {
        let runner = runner.clone();
        Arc::new(PowerShellBackend::new(Arc::new(move || {
            Box::new(runner.clone()) as Box<dyn ScriptRunner>
        })))
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{}/wsman", sim.handle.local_addr().port());
    let client = ScvmmClient::new(endpoint(&url)).unwrap();
    (sim, client, canned)
}

const VM_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

fn vm_json(id: &str) -> Value {
    json!({"id": id, "name": "m1", "status": "Running", "adapters": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_json_from_scvmm_is_a_protocol_error_naming_the_operation() {
    let (_sim, client, canned) = canned_server().await;
    let set = |stdout: String, stderr: &str| {
        *canned.0.lock().unwrap() = ScriptOutcome {
            stdout,
            stderr: stderr.to_string(),
            exit_code: Some(0),
        };
    };
    let protocol = |e: ScvmmError, expect: &str| {
        let text = e.to_string();
        assert!(matches!(e, ScvmmError::Protocol { .. }), "{text}");
        assert!(!e.is_transient(), "retrying would not help: {text}");
        assert!(text.contains("get_vm"), "names the operation: {text}");
        assert!(
            text.contains("check that the endpoint is a VMM server"),
            "{text}"
        );
        assert!(text.contains(expect), "{expect:?} in {text}");
        assert!(text.len() < 4096, "{} bytes", text.len());
    };

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not JSON",
            "<html><body>503 Service Unavailable</body></html>".into(),
            "not JSON",
        ),
        ("a JSON array", "[1,2,3]".into(), "not a JSON object"),
        (
            "neither result nor error",
            json!({"status": "ok"}).to_string(),
            "neither result nor error",
        ),
        (
            "wrong type: id is a number",
            json!({"result": {"id": 5, "name": "m1"}}).to_string(),
            "not a GUID",
        ),
        (
            "wrong type: adapters is a string",
            json!({"result": {"id": VM_ID, "name": "m1", "adapters": "eth0"}}).to_string(),
            "VM",
        ),
        (
            "missing id",
            json!({"result": {"name": "m1"}}).to_string(),
            "not a GUID",
        ),
        (
            "a malformed error report",
            json!({"error": "boom"}).to_string(),
            "error report is malformed",
        ),
        (
            "nested 100k deep",
            format!("{{\"result\":{}", "[".repeat(100_000)),
            "not JSON",
        ),
        (
            "a 1 MiB string",
            json!({"result": "x".repeat(1 << 20)}).to_string(),
            "VM",
        ),
    ];
    for (what, stdout, expect) in cases {
        set(stdout, "");
        let started = Instant::now();
        let err = client.get_vm(VM_ID).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: bounded time"
        );
        protocol(err, expect);
    }

    set(
        String::new(),
        "Get-SCVirtualMachine : The term is not recognized",
    );
    let err = client.get_vm(VM_ID).await.unwrap_err();
    protocol(err, "printed nothing");
    assert!(
        client
            .get_vm(VM_ID)
            .await
            .unwrap_err()
            .to_string()
            .contains("not recognized")
    );

    // Extra fields (a newer VMM, a wrapper) are ignored.
    let mut vm = vm_json(VM_ID);
    vm["somethingNew"] = json!({"deep": [1, 2, {"x": null}]});
    set(json!({"result": vm, "extra": true}).to_string(), "");
    assert_eq!(client.get_vm(VM_ID).await.unwrap().unwrap().id, VM_ID);

    // A huge list decodes in bounded time (20 000 VMs, 1.5 MB of JSON).
    let vms: Vec<Value> = (0..20_000)
        .map(|i| vm_json(&format!("00000000-0000-0000-0000-{i:012}")))
        .collect();
    set(json!({"result": vms}).to_string(), "");
    let started = Instant::now();
    assert_eq!(client.list_vms().await.unwrap().len(), 20_000);
    assert!(started.elapsed() < Duration::from_secs(30));

    // A VMM-looking error with a hostile message stays a VMM error, bounded.
    set(
        json!({"error": {"id": "not a number", "message": "x".repeat(1 << 20), "cmdlet": 7}})
            .to_string(),
        "",
    );
    let err = client.get_vm(VM_ID).await.unwrap_err();
    assert!(matches!(err, ScvmmError::Vmm { id: 0, .. }), "{err}");
}
