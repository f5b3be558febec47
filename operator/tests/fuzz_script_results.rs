//! Fuzz target `script-results`: the operator's decoding of what its
//! PowerShell scripts print (`scvmm::script`): `decode_result` on stdout
//! and stderr, then every result decoder (`vm_from_json`, `vms_from_json`,
//! `job_from_json`, `grant_from_json`, `server_from_json`,
//! `cluster_info_from_json`, `create_outcome_from_json`,
//! `count_from_json`), the VMM error helpers (`vmm_error_id`,
//! `clean_vmm_message`) and the parameter codec (`decode_params`).
//!
//! Properties: no panic, no hang, bounded heap, errors that say what is
//! wrong in bounded text (they become Kubernetes condition messages);
//! round trips: `encode_params` → `decode_params`, and a VM as the scripts
//! print it — in every shape PowerShell 5.1 gives arrays — decodes to the
//! VM it describes.
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p operator --test fuzz_script_results -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use operator::scvmm::script::{
    ScriptOutput, clean_vmm_message, cluster_info_from_json, count_from_json,
    create_outcome_from_json, decode_params, decode_result, encode_params, grant_from_json,
    job_from_json, server_from_json, vm_from_json, vmm_error_id, vms_from_json,
};
use operator::scvmm::{AdapterInfo, JobInfo, ScvmmError, VmInfo, VmmErrorInfo};
use proptest::prelude::*;
use serde_json::{Value, json};
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, kind};

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");
/// A condition message may hold 32 KiB; errors must leave room.
const MAX_ERROR_TEXT: usize = 8 * 1024;

const STDERR: &str = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">boom_x000D__x000A_</S></Objs>";

fn dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            "{\"result\":",
            "{\"error\":",
            "{\"value\":[",
            "],\"Count\":2}",
            "null",
            "true",
            "\"True\"",
            "\"\"",
            "[]",
            "{}",
            "\"id\":",
            "\"message\":",
            "\"cmdlet\":",
            "\"status\":\"Failed\"",
            "\"statusCode\":\"105\"",
            "\"adapters\":",
            "\"ipv4\":",
            "\"job\":",
            "\"error\":",
            "\"vms\":",
            "\"adopted\":",
            "\"prefixLength\":300",
            "(Error ID: ",
            "\\n\\n",
            "\\r\\n\\r\\nTo restart the job",
            "\\u0000",
            "\\ud800",
            "1e999",
            "-0",
            "\n",
            "\u{feff}",
        ])
        .pairs([
            ("[", "]"),
            ("{\"a\":", "}"),
            ("{\"value\":[", "],\"Count\":1}"),
        ])
}

fn protocol_kind(e: &ScvmmError) -> String {
    match e {
        ScvmmError::Protocol { detail, .. } => {
            let what: String = detail
                .chars()
                .take_while(|c| *c != '(' && *c != ':')
                .take(40)
                .collect();
            format!("Protocol({})", what.trim())
        }
        ScvmmError::Vmm { id, .. } if *id != 0 => "Vmm(id)".into(),
        other => kind(other),
    }
}

fn bounded(text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!text.trim().is_empty(), "an empty error message");
    prop_assert!(
        text.len() <= MAX_ERROR_TEXT,
        "a {}-byte error message: {}…",
        text.len(),
        text.chars().take(200).collect::<String>()
    );
    Ok(())
}

/// A result decoder with its output dropped.
type Decoder = fn(Value) -> Result<(), String>;

/// One script's output, through everything the client does with it.
fn decode(input: &[u8]) -> Result<String, TestCaseError> {
    let text = String::from_utf8_lossy(input).into_owned();
    let stderr = if input.len().is_multiple_of(2) {
        STDERR.to_string()
    } else {
        String::new()
    };
    let out = ScriptOutput {
        stdout: text.clone(),
        stderr,
        exit_code: Some(i64::from(input.first().copied().unwrap_or(0) % 3)),
    };
    let mut kinds = Vec::new();
    let _ = vmm_error_id(&text);
    prop_assert!(clean_vmm_message(&text).len() <= text.len());
    if let Err(e) = decode_params(&text) {
        prop_assert!(!e.is_empty());
    }
    match decode_result("fuzz", &out) {
        Ok(value) => {
            let decoders: [(&str, Decoder); 8] = [
                ("vm", |v| vm_from_json(v).map(drop)),
                ("vms", |v| vms_from_json(v).map(drop)),
                ("job", |v| job_from_json(v).map(drop)),
                ("grant", |v| grant_from_json(v).map(drop)),
                ("server", |v| server_from_json(v).map(drop)),
                ("cluster", |v| cluster_info_from_json(v).map(drop)),
                ("create", |v| create_outcome_from_json(v).map(drop)),
                ("count", |v| count_from_json(&v).map(drop)),
            ];
            for (name, decoder) in decoders {
                match decoder(value.clone()) {
                    Ok(()) => kinds.push(format!("ok:{name}")),
                    Err(e) => {
                        bounded(&e)?;
                        kinds.push(format!("{name}-malformed"));
                    }
                }
            }
        }
        Err(e) => {
            // A VMM error carries the server's own message, whatever its
            // length (conditions and Events shorten it when shown);
            // the operator's own wording must stay short.
            if matches!(e, ScvmmError::Vmm { .. }) {
                prop_assert!(!e.to_string().trim().is_empty());
            } else {
                bounded(&e.to_string())?;
            }
            kinds.push(protocol_kind(&e));
        }
    }
    Ok(kinds.join("+"))
}

/// JSON values like the parameter documents: no floats (the operator
/// sends none, and serde_json without its `float_roundtrip` feature reads
/// some back one unit in the last place off).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A string field as the scripts and the decoder agree on it: no text
/// that reads as absent (blank) and none of the values VMM uses for "none".
fn field() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ._:\\\\/-]{0,20}[A-Za-z0-9]".prop_filter("VMM's placeholders", |s| {
        s != "Unknown" && s != "00:00:00:00:00:00"
    })
}

fn vm_info() -> impl Strategy<Value = VmInfo> {
    let adapter = (
        prop::option::of(field()),
        prop::option::of(field()),
        prop::collection::vec(field(), 0..3),
        prop::collection::vec(field(), 0..3),
    )
        .prop_map(
            |(mac_address, vm_network, ipv4_addresses, ipv6_addresses)| AdapterInfo {
                mac_address,
                vm_network,
                ipv4_addresses,
                ipv6_addresses,
            },
        );
    let error = || (any::<u32>(), field()).prop_map(|(id, message)| VmmErrorInfo { id, message });
    let job = (
        field(),
        field(),
        field(),
        prop::option::of(field()),
        prop::option::of(error()),
    )
        .prop_map(|(id, name, status, progress, error)| JobInfo {
            id,
            name,
            status,
            progress,
            error,
        });
    (
        (
            field(),
            field(),
            prop::option::of(field()),
            prop::option::of(field()),
            field(),
            prop::option::of(any::<i64>()),
        ),
        (
            prop::option::of(field()),
            prop::option::of(field()),
            prop::option::of(field()),
            prop::option::of(field()),
            prop::option::of(field()),
        ),
        (
            prop::collection::vec(adapter, 0..3),
            prop::option::of(field()),
            prop::option::of(job),
            prop::option::of(error()),
        ),
    )
        .prop_map(
            |(
                (id, name, instance_id, cluster, status, status_code),
                (host, host_group, cloud, bios_guid, computer_name),
                (adapters, dvd_iso, job, error),
            )| VmInfo {
                id,
                name,
                instance_id,
                cluster,
                status,
                status_code,
                host,
                host_group,
                cloud,
                bios_guid,
                computer_name,
                adapters,
                dvd_iso,
                job,
                error,
                refresh_job: None,
            },
        )
}

/// How PowerShell 5.1's `ConvertTo-Json` may render an array: as it is,
/// a one-element array as the element, an empty one as `null`, or wrapped
/// in a PSObject.
fn ps_array(items: Vec<Value>, shape: u8) -> Value {
    match (shape % 4, items.len()) {
        (1, 1) => items.into_iter().next().unwrap_or(Value::Null),
        (1, 0) => Value::Null,
        (2, n) => json!({ "value": items, "Count": n }),
        _ => Value::Array(items),
    }
}

/// The JSON `ConvertTo-CapiVm` prints for `vm`, PowerShell quirks chosen by
/// `shape` (numbers and booleans as strings too).
fn wire_vm(vm: &VmInfo, shape: u8) -> Value {
    let text = |s: &Option<String>| s.as_ref().map_or(Value::Null, |s| json!(s));
    let error = |e: &Option<VmmErrorInfo>| match e {
        Some(e) if shape.is_multiple_of(3) => {
            json!({ "id": e.id.to_string(), "message": e.message })
        }
        Some(e) => json!({ "id": e.id, "message": e.message }),
        None => Value::Null,
    };
    let adapters: Vec<Value> = vm
        .adapters
        .iter()
        .map(|a| {
            json!({
                "mac": text(&a.mac_address),
                "vmNetwork": text(&a.vm_network),
                "ipv4": ps_array(a.ipv4_addresses.iter().map(|s| json!(s)).collect(), shape),
                "ipv6": ps_array(a.ipv6_addresses.iter().map(|s| json!(s)).collect(), shape / 4),
            })
        })
        .collect();
    json!({
        "id": vm.id,
        "name": vm.name,
        "instanceId": text(&vm.instance_id),
        "cluster": vm.cluster.as_deref().unwrap_or(""),
        "status": vm.status,
        "statusCode": match vm.status_code {
            Some(n) if shape.is_multiple_of(2) => json!(n.to_string()),
            Some(n) => json!(n),
            None => Value::Null,
        },
        "host": text(&vm.host),
        "hostGroup": text(&vm.host_group),
        "cloud": text(&vm.cloud),
        "biosGuid": text(&vm.bios_guid),
        "computerName": vm.computer_name.as_deref().unwrap_or("Unknown"),
        "adapters": ps_array(adapters, shape / 16),
        "dvdIso": text(&vm.dvd_iso),
        "job": vm.job.as_ref().map_or(Value::Null, |j| json!({
            "id": j.id, "name": j.name, "status": j.status,
            "progress": j.progress.as_deref().unwrap_or(""),
            "error": error(&j.error),
        })),
        "error": error(&vm.error),
    })
}

fn vm_round_trip(vm: VmInfo, shape: u8, banner: bool) -> Result<String, TestCaseError> {
    let doc = json!({ "result": wire_vm(&vm, shape) });
    let stdout = if banner {
        format!("\u{feff}Loading personal profile\r\n\r\n{doc}\r\n")
    } else {
        format!("{doc}\r\n")
    };
    let out = ScriptOutput {
        stdout,
        stderr: String::new(),
        exit_code: Some(0),
    };
    let value = decode_result("get_vm", &out);
    prop_assert!(value.is_ok(), "{:?}", value.err());
    let decoded = vm_from_json(value.unwrap());
    prop_assert_eq!(decoded, Ok(Some(vm.clone())));
    // The same VM in a list, in every array shape.
    let list = json!({ "result": ps_array(vec![wire_vm(&vm, shape)], shape / 2) });
    let out = ScriptOutput {
        stdout: list.to_string(),
        stderr: String::new(),
        exit_code: Some(0),
    };
    let vms = vms_from_json(decode_result("list_vms", &out).unwrap());
    prop_assert_eq!(vms, Ok(vec![vm]));
    Ok("ok".into())
}

fn error_round_trip(problem: String, id: u32, action: String) -> Result<String, TestCaseError> {
    let message = format!(
        "{problem} (Error ID: {id}, Detailed Error: Unknown error (0x8000FFFF))\r\n\r\n{action}"
    );
    prop_assert_eq!(vmm_error_id(&message), Some(id));
    let doc =
        json!({ "error": { "id": 0, "message": message, "cmdlet": "Start-SCVirtualMachine" } });
    let out = ScriptOutput {
        stdout: doc.to_string(),
        stderr: String::new(),
        exit_code: Some(1),
    };
    match decode_result("start_vm", &out) {
        Err(ScvmmError::Vmm {
            id: got,
            message: m,
            ..
        }) => {
            prop_assert_eq!(got, id);
            prop_assert!(m.starts_with(problem.trim_end()));
        }
        other => prop_assert!(false, "{other:?}"),
    }
    Ok("ok".into())
}

#[test]
fn fuzz_script_results() {
    let corpus = Corpus::from_dir(Path::new(DIR).join("tests/fuzz-corpus/script-results"));
    assert!(corpus.len() >= 15, "corpus too small: {}", corpus.len());
    let dict = dictionary();
    let mut fuzz = Fuzz::new(
        "script-results",
        file!(),
        Path::new(DIR).join("tests/fuzz-corpus/script-results"),
        4,
    );
    // serde_json values cost a few dozen bytes per input byte (`[0,0,...]`).
    fuzz.bytes("decode", &corpus, &dict, 256, decode);
    fuzz.values("params-round-trip", json_value(), 32 << 20, |v| {
        prop_assert_eq!(decode_params(&encode_params(&v)), Ok(v));
        Ok("ok".into())
    });
    fuzz.values(
        "vm-round-trip",
        (vm_info(), any::<u8>(), any::<bool>()),
        32 << 20,
        |(vm, shape, banner)| vm_round_trip(vm, shape, banner),
    );
    let problem = "[^\\r\\n]{0,60}".prop_filter("another error ID after ours", |p| {
        !p.contains("(Error ID: ")
    });
    fuzz.values(
        "vmm-error",
        (problem, any::<u32>(), "[^\\r\\n]{0,40}"),
        8 << 20,
        |(p, id, a)| error_round_trip(p, id, a),
    );
    fuzz.finish();
}

/// Regression (found by this target): serde_json quotes a mistyped string
/// whole, and our "… is malformed" messages carried it.
#[test]
fn malformed_results_are_reported_briefly() {
    let long = "[".repeat(50_000);
    let err = cluster_info_from_json(json!({ "server": long })).unwrap_err();
    assert!(err.len() < 1024, "{} bytes", err.len());
    let out = ScriptOutput {
        stdout: json!({ "error": long }).to_string(),
        stderr: String::new(),
        exit_code: Some(1),
    };
    let err = decode_result("get_vm", &out).unwrap_err().to_string();
    assert!(err.len() < 1024, "{} bytes", err.len());
}
