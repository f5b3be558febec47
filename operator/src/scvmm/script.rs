//! The pure half of the SCVMM operations: parameters become script text,
//! script output becomes typed results. No I/O, so all of it is tested
//! without a server.
//!
//! The wire format, both ways:
//!
//! - **In**: one JSON document, UTF-8, base64-encoded, spliced into the
//!   script as a single-quoted literal. Base64's alphabet (`A–Z a–z 0–9 + /
//!   =`) cannot end a PowerShell string, so nothing a user typed (quotes of
//!   any kind, backticks, `$(...)`, newlines, NUL) is ever part of the
//!   script's code; the script decodes the document with
//!   `[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String(...))
//!   | ConvertFrom-Json`.
//! - **Out**: the script prints one line of JSON built from plain hashtables
//!   (`ConvertTo-Json -Compress -Depth 6`): `{"result": ...}` or
//!   `{"error": {"id": n, "message": "...", "cmdlet": "..."}}`. Windows
//!   PowerShell 5.1 quirks are tolerated here: a one-element array may
//!   arrive as the element, an empty one as `null`, an array wrapped in a
//!   PSObject as `{"value": [...], "Count": n}`.

use crate::scvmm::error::ScvmmError;
use crate::scvmm::types::{
    AdapterInfo, CLUSTER_PROPERTY, ClusterInfo, CreateVm, DomainCheck, IpGrant, JobInfo,
    MARKER_DESCRIPTION_PREFIX, MARKER_PROPERTY, MarkedVm, Placement, ServerInfo, VmInfo, VmSource,
    VmmErrorInfo,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

const PRELUDE: &str = include_str!("scripts/prelude.ps1");
const EPILOGUE: &str = include_str!("scripts/epilogue.ps1");
const PARAMS_PLACEHOLDER: &str = "__PARAMS__";
const OPERATION_PLACEHOLDER: &str = "__OPERATION__";

/// One SCVMM operation: a script of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `Get-SCVMMServer`: name and version.
    ServerInfo,
    /// VMs carrying one machine's marker.
    FindVm,
    /// One VM by VMM ID.
    GetVm,
    /// Every VM carrying a marker.
    ListVms,
    /// Adopt or create a VM (seed upload, indexing, staging, creation).
    CreateVm,
    /// One chunk of a seed too large to travel with `CreateVm`.
    UploadSeed,
    /// `Start-SCVirtualMachine`.
    StartVm,
    /// `Stop-SCVirtualMachine -Shutdown | -Force`.
    StopVm,
    /// `Remove-SCVirtualMachine`.
    RemoveVm,
    /// Empty the seed's DVD drive and delete the library copy.
    EjectSeed,
    /// Delete the library copy of a seed.
    RemoveSeed,
    /// `Repair-SCVirtualMachine -Dismiss -Force`.
    RepairVm,
    /// `Grant-SCIPAddress` (idempotent per owner).
    GrantIp,
    /// `Revoke-SCIPAddress` for every grant of an owner.
    RevokeIps,
    /// `Get-SCJob -ID`.
    GetJob,
    /// Server version, failure-domain checks and the cluster's marked VMs.
    ClusterInfo,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 16] = [
        Operation::ServerInfo,
        Operation::FindVm,
        Operation::GetVm,
        Operation::ListVms,
        Operation::CreateVm,
        Operation::UploadSeed,
        Operation::StartVm,
        Operation::StopVm,
        Operation::RemoveVm,
        Operation::EjectSeed,
        Operation::RemoveSeed,
        Operation::RepairVm,
        Operation::GrantIp,
        Operation::RevokeIps,
        Operation::GetJob,
        Operation::ClusterInfo,
    ];

    /// The operation's name in errors, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Operation::ServerInfo => "server_info",
            Operation::FindVm => "find_vm",
            Operation::GetVm => "get_vm",
            Operation::ListVms => "list_vms",
            Operation::CreateVm => "create_vm",
            Operation::UploadSeed => "upload_seed",
            Operation::StartVm => "start_vm",
            Operation::StopVm => "stop_vm",
            Operation::RemoveVm => "remove_vm",
            Operation::EjectSeed => "eject_seed",
            Operation::RemoveSeed => "remove_seed",
            Operation::RepairVm => "repair_vm",
            Operation::GrantIp => "grant_ip",
            Operation::RevokeIps => "revoke_ips",
            Operation::GetJob => "get_job",
            Operation::ClusterInfo => "cluster_info",
        }
    }

    /// The operation's own part of the script.
    fn body(self) -> &'static str {
        match self {
            Operation::ServerInfo => include_str!("scripts/server_info.ps1"),
            Operation::FindVm => include_str!("scripts/find_vm.ps1"),
            Operation::GetVm => include_str!("scripts/get_vm.ps1"),
            Operation::ListVms => include_str!("scripts/list_vms.ps1"),
            Operation::CreateVm => include_str!("scripts/create_vm.ps1"),
            Operation::UploadSeed => include_str!("scripts/upload_seed.ps1"),
            Operation::StartVm => include_str!("scripts/start_vm.ps1"),
            Operation::StopVm => include_str!("scripts/stop_vm.ps1"),
            Operation::RemoveVm => include_str!("scripts/remove_vm.ps1"),
            Operation::EjectSeed => include_str!("scripts/eject_seed.ps1"),
            Operation::RemoveSeed => include_str!("scripts/remove_seed.ps1"),
            Operation::RepairVm => include_str!("scripts/repair_vm.ps1"),
            Operation::GrantIp => include_str!("scripts/grant_ip.ps1"),
            Operation::RevokeIps => include_str!("scripts/revoke_ips.ps1"),
            Operation::GetJob => include_str!("scripts/get_job.ps1"),
            Operation::ClusterInfo => include_str!("scripts/cluster_info.ps1"),
        }
    }
}

/// The parameter document as it travels: base64 of its UTF-8 JSON.
pub fn encode_params(params: &Value) -> String {
    STANDARD.encode(params.to_string().as_bytes())
}

/// The inverse of [`encode_params`] (what the script's first line does).
pub fn decode_params(encoded: &str) -> Result<Value, String> {
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| format!("not base64: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

/// The complete script of `operation` with `params` spliced in as base64.
pub fn render(operation: Operation, params: &Value) -> String {
    let prelude = PRELUDE
        .replacen(OPERATION_PLACEHOLDER, operation.name(), 1)
        .replacen(PARAMS_PLACEHOLDER, &encode_params(params), 1);
    let mut script = String::with_capacity(prelude.len() + operation.body().len() + EPILOGUE.len());
    script.push_str(&prelude);
    script.push_str(operation.body());
    script.push_str(EPILOGUE);
    script
}

/// The base64 parameter literal of a rendered script (tests, diagnostics).
pub fn params_of(script: &str) -> Option<&str> {
    let start = script.find("FromBase64String('")? + "FromBase64String('".len();
    let len = script[start..].find('\'')?;
    Some(&script[start..start + len])
}

/// The description VMM stores: the user's text, then the marker line.
pub fn description_with_marker(description: Option<&str>, instance_id: &str) -> String {
    match description {
        Some(d) if !d.is_empty() => format!("{d}\n{MARKER_DESCRIPTION_PREFIX}{instance_id}"),
        _ => format!("{MARKER_DESCRIPTION_PREFIX}{instance_id}"),
    }
}

/// The parameter document of `create_vm` (without `server`). The script
/// carries the seed from byte `seed_from` on (0: all of it; the length: none
/// of it); the bytes before were uploaded by `upload_seed` runs.
pub fn create_document(
    req: &CreateVm,
    folder: &str,
    seed_from: usize,
    lock_retry: std::time::Duration,
) -> Map<String, Value> {
    let seed_from = seed_from.min(req.seed_iso.len());
    let seed_data =
        (seed_from < req.seed_iso.len()).then(|| STANDARD.encode(&req.seed_iso[seed_from..]));
    let source = match &req.source {
        VmSource::Template { name } => json!({ "kind": "template", "name": name }),
        VmSource::HardwareProfile {
            profile,
            generation,
            operating_system,
        } => json!({
            "kind": "hardwareProfile",
            "profile": profile,
            "generation": generation,
            "operatingSystem": operating_system,
        }),
    };
    let placement = match &req.placement {
        Placement::Cloud(name) => json!({ "kind": "cloud", "name": name }),
        Placement::HostGroup(name) => json!({ "kind": "hostGroup", "name": name }),
    };
    let disks: Vec<Value> = req
        .disks
        .iter()
        .map(|d| {
            json!({
                "sizeMb": d.size_gb.map(|gb| gb * 1024),
                "vhd": d.vhd,
                "dynamic": d.dynamic,
                "volumeType": d.volume_type,
                "storageQosPolicy": d.storage_qos_policy,
                "iopsMaximum": d.iops_maximum,
            })
        })
        .collect();
    let nics: Vec<Value> = req
        .nics
        .iter()
        .map(|n| {
            json!({
                "vmNetwork": n.vm_network,
                "vmSubnet": n.vm_subnet,
                "macAddress": n.mac_address,
                "ipv4": n.ipv4_addresses,
            })
        })
        .collect();
    // The marker is set by the script itself, from instance_id.
    let properties: Vec<Value> = req
        .custom_properties
        .iter()
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case(MARKER_PROPERTY)
                && !name.eq_ignore_ascii_case(CLUSTER_PROPERTY)
        })
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    let doc = json!({
        "instanceId": req.instance_id,
        "cluster": req.cluster,
        "name": req.name,
        "description": description_with_marker(req.description.as_deref(), &req.instance_id),
        "tag": req.tag,
        "source": source,
        "placement": placement,
        "cpuCount": req.cpu_count,
        "memoryMb": req.memory_mb,
        "dynamicMemory": req.dynamic_memory.map(|d| json!({
            "minimumMb": d.minimum_mb,
            "maximumMb": d.maximum_mb,
            "bufferPercentage": d.buffer_percentage,
        })),
        "disks": disks,
        "nics": nics,
        "availabilitySets": req.availability_sets,
        "customProperties": properties,
        "startAction": req.start_action,
        "stopAction": req.stop_action,
        "checkpointType": req.checkpoint_type,
        "cpuLimitForMigration": req.hardware.cpu_limit_for_migration,
        "cpuLimitFunctionality": req.hardware.cpu_limit_functionality,
        "nestedVirtualization": req.hardware.nested_virtualization,
        "fibreChannel": req.hardware.fibre_channel.iter().map(|f| json!({
            "virtualSan": f.virtual_san,
            "classification": f.storage_fabric_classification,
        })).collect::<Vec<_>>(),
        "seed": {
            "folder": folder,
            "name": req.seed_iso_name,
            "size": req.seed_iso.len(),
            "offset": seed_from,
            "data": seed_data,
        },
        // Whole milliseconds, at least 10: the script sleeps this long
        // between looks at a library share another create refreshes.
        "lockRetryMs": lock_retry.as_millis().clamp(10, 60_000) as u64,
    });
    match doc {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// What a script run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptOutput {
    /// stdout as text.
    pub stdout: String,
    /// stderr as text (CLIXML decoded).
    pub stderr: String,
    /// Exit code, when the command reported one.
    pub exit_code: Option<i64>,
}

/// The VMM error ID in a VMM message: the last `(Error ID: n` of its first
/// paragraph (VMM writes `<problem> (Error ID: n, Detailed Error: ...)`,
/// then a blank line and the recommended action). Names quoted in the
/// problem come before VMM's own marker, so the last one is VMM's.
pub fn vmm_error_id(message: &str) -> Option<u32> {
    const MARK: &str = "(Error ID: ";
    let first = message
        .replace("\r\n", "\n")
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .to_string();
    let at = first.rfind(MARK)? + MARK.len();
    let digits: String = first[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// VMM's message without the "To restart the job, run ..." paragraph
/// (a console hint, noise in a Kubernetes condition) and trailing blanks.
pub fn clean_vmm_message(message: &str) -> String {
    let cut = ["\r\n\r\nTo restart the job", "\n\nTo restart the job"]
        .iter()
        .filter_map(|m| message.find(m))
        .min()
        .unwrap_or(message.len());
    message[..cut].trim_end().to_string()
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default, deserialize_with = "lenient_u32")]
    id: u32,
    #[serde(default, deserialize_with = "lenient_string")]
    message: String,
    #[serde(default, deserialize_with = "lenient_string")]
    cmdlet: String,
}

/// The `result` of a run, or the error it reported.
pub fn decode_result(operation: &'static str, out: &ScriptOutput) -> Result<Value, ScvmmError> {
    let protocol = |detail: String| ScvmmError::Protocol { operation, detail };
    // The document is the last line; anything before it is stray output
    // (a profile, a module printing a banner) that is not ours.
    let line = out
        .stdout
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty());
    let Some(line) = line else {
        let stderr = out.stderr.trim();
        return Err(protocol(if stderr.is_empty() {
            format!("the script printed nothing (exit code {:?})", out.exit_code)
        } else {
            format!(
                "the script printed nothing (exit code {:?}); stderr: {}",
                out.exit_code,
                shorten(stderr, 2000)
            )
        }));
    };
    let doc: Value = serde_json::from_str(line).map_err(|e| {
        protocol(format!(
            "the output is not JSON ({e}): {}",
            shorten(line, 300)
        ))
    })?;
    let Value::Object(mut map) = doc else {
        return Err(protocol(format!(
            "the output is not a JSON object: {}",
            shorten(line, 300)
        )));
    };
    if let Some(error) = map.remove("error").filter(|e| !e.is_null()) {
        let wire: WireError = serde_json::from_value(error).map_err(|e| {
            protocol(format!(
                "the error report is malformed ({})",
                shorten(&e.to_string(), 300)
            ))
        })?;
        let id = if wire.id != 0 {
            wire.id
        } else {
            vmm_error_id(&wire.message).unwrap_or(0)
        };
        if !wire.cmdlet.is_empty() {
            tracing::debug!(operation, cmdlet = %wire.cmdlet, id, "VMM cmdlet failed");
        }
        return Err(ScvmmError::Vmm {
            operation,
            id,
            message: clean_vmm_message(&wire.message),
        });
    }
    match map.remove("result") {
        Some(result) => Ok(result),
        None => Err(protocol(format!(
            "the output has neither result nor error: {}",
            shorten(line, 300)
        ))),
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max).collect();
    s.push('…');
    s
}

/// The elements of what PowerShell 5.1 made of an array.
fn elements(value: Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(mut map)
            if map.len() <= 2
                && map.get("value").is_some_and(Value::is_array)
                && map.keys().all(|k| k == "value" || k == "Count") =>
        {
            match map.remove("value") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            }
        }
        other => vec![other],
    }
}

fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    elements(value)
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| serde_json::from_value(v).map_err(serde::de::Error::custom))
        .collect()
}

fn scalar_text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(scalar_text(Value::deserialize(d)?).unwrap_or_default())
}

fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(scalar_text(Value::deserialize(d)?).filter(|s| !s.trim().is_empty()))
}

fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(elements(Value::deserialize(d)?)
        .into_iter()
        .filter_map(scalar_text)
        .filter(|s| !s.trim().is_empty())
        .collect())
}

fn lenient_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(lenient_i64(&Value::deserialize(d)?))
}

fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(lenient_i64(&Value::deserialize(d)?)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0))
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    })
}

#[derive(Deserialize)]
struct WireErrorInfo {
    #[serde(default, deserialize_with = "lenient_u32")]
    id: u32,
    #[serde(default, deserialize_with = "lenient_string")]
    message: String,
}

impl From<WireErrorInfo> for VmmErrorInfo {
    fn from(w: WireErrorInfo) -> Self {
        VmmErrorInfo {
            id: w.id,
            message: clean_vmm_message(&w.message),
        }
    }
}

#[derive(Deserialize)]
struct WireJob {
    #[serde(default, deserialize_with = "lenient_string")]
    id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    status: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    progress: Option<String>,
    #[serde(default)]
    error: Option<WireErrorInfo>,
}

impl From<WireJob> for JobInfo {
    fn from(w: WireJob) -> Self {
        JobInfo {
            id: w.id,
            name: w.name,
            status: w.status,
            progress: w.progress,
            error: w.error.map(Into::into),
        }
    }
}

#[derive(Deserialize)]
struct WireAdapter {
    #[serde(default, deserialize_with = "lenient_opt_string")]
    mac: Option<String>,
    #[serde(default, rename = "vmNetwork", deserialize_with = "lenient_opt_string")]
    vm_network: Option<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    ipv4: Vec<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    ipv6: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVm {
    #[serde(default, deserialize_with = "lenient_string")]
    id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    name: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    instance_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    cluster: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    status: String,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    status_code: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    host: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    host_group: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    cloud: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    bios_guid: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    computer_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    adapters: Vec<WireAdapter>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    dvd_iso: Option<String>,
    #[serde(default)]
    job: Option<WireJob>,
    #[serde(default)]
    error: Option<WireErrorInfo>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    refresh_job: Option<String>,
}

impl From<WireVm> for VmInfo {
    fn from(w: WireVm) -> Self {
        VmInfo {
            id: w.id,
            name: w.name,
            instance_id: w.instance_id,
            cluster: w.cluster.filter(|c| !c.is_empty()),
            status: w.status,
            status_code: w.status_code,
            host: w.host,
            host_group: w.host_group,
            cloud: w.cloud,
            bios_guid: w.bios_guid,
            // VMM shows "Unknown" until the guest reports its name.
            computer_name: w.computer_name.filter(|n| n != "Unknown"),
            adapters: w
                .adapters
                .into_iter()
                .map(|a| AdapterInfo {
                    mac_address: a.mac.filter(|m| m != "00:00:00:00:00:00"),
                    vm_network: a.vm_network,
                    ipv4_addresses: a.ipv4,
                    ipv6_addresses: a.ipv6,
                })
                .collect(),
            dvd_iso: w.dvd_iso,
            job: w.job.map(Into::into),
            error: w.error.map(Into::into),
            refresh_job: w.refresh_job.filter(|j| !j.is_empty()),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, String> {
    // serde_json quotes a mistyped string whole; the script-results fuzz
    // target got 8 KB messages from a long one.
    serde_json::from_value(value)
        .map_err(|e| format!("{what} is malformed ({})", shorten(&e.to_string(), 300)))
}

/// A VM from a script's result (`null` is none).
pub fn vm_from_json(value: Value) -> Result<Option<VmInfo>, String> {
    if value.is_null() {
        return Ok(None);
    }
    parse::<WireVm>(value, "the VM").map(|w| Some(w.into()))
}

/// VMs from a script's result: an array, or what PowerShell 5.1 made of
/// one (a single object, `null`, `{"value": [...]}`).
pub fn vms_from_json(value: Value) -> Result<Vec<VmInfo>, String> {
    elements(value)
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| parse::<WireVm>(v, "a VM").map(Into::into))
        .collect()
}

/// A job from a script's result (`null` is none).
pub fn job_from_json(value: Value) -> Result<Option<JobInfo>, String> {
    if value.is_null() {
        return Ok(None);
    }
    parse::<WireJob>(value, "the job").map(|w| Some(w.into()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireGrant {
    #[serde(default, deserialize_with = "lenient_string")]
    id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    address: String,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    prefix_length: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    gateway: Option<String>,
    #[serde(default, deserialize_with = "lenient_strings")]
    dns_servers: Vec<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    dns_suffix: Option<String>,
}

/// An IP grant from a script's result.
pub fn grant_from_json(value: Value) -> Result<IpGrant, String> {
    let w: WireGrant = parse(value, "the IP grant")?;
    if w.address.is_empty() {
        return Err("the IP grant has no address".into());
    }
    Ok(IpGrant {
        address: w.address,
        prefix_length: w.prefix_length.and_then(|n| u8::try_from(n).ok()),
        gateway: w.gateway,
        dns_servers: w.dns_servers,
        dns_suffix: w.dns_suffix,
        id: w.id,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireServer {
    #[serde(default, deserialize_with = "lenient_string")]
    name: String,
    #[serde(default, deserialize_with = "lenient_string")]
    product_version: String,
}

/// The server from a script's result.
pub fn server_from_json(value: Value) -> Result<ServerInfo, String> {
    let w: WireServer = parse(value, "the server")?;
    Ok(ServerInfo {
        name: w.name,
        product_version: w.product_version,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDomainCheck {
    #[serde(default, deserialize_with = "lenient_string")]
    name: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    problem: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    hosts: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMarkedVm {
    #[serde(default, deserialize_with = "lenient_string")]
    id: String,
    #[serde(default, deserialize_with = "lenient_string")]
    name: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    instance_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    status: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    host: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireClusterInfo {
    server: Value,
    #[serde(default)]
    failure_domains: Value,
    #[serde(default)]
    vms: Value,
}

/// The answer of `cluster_info`.
pub fn cluster_info_from_json(value: Value) -> Result<ClusterInfo, String> {
    let w: WireClusterInfo = parse(value, "the cluster check")?;
    let failure_domains = elements(w.failure_domains)
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| {
            parse::<WireDomainCheck>(v, "a failure-domain check").map(|d| DomainCheck {
                name: d.name,
                problem: d.problem.filter(|p| !p.is_empty()),
                hosts: d.hosts.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vms = elements(w.vms)
        .into_iter()
        .filter(|v| !v.is_null())
        .map(|v| {
            parse::<WireMarkedVm>(v, "a marked VM").map(|m| MarkedVm {
                id: m.id,
                name: m.name,
                instance_id: m.instance_id.filter(|i| !i.is_empty()),
                status: m.status,
                host: m.host.filter(|h| !h.is_empty()),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClusterInfo {
        server: server_from_json(w.server)?,
        failure_domains,
        vms,
    })
}

/// The `{ "vms": [...], "adopted": bool }` answer of create and upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOutcome {
    /// The VM existed already (found by its marker).
    pub adopted: bool,
    /// The VMs carrying the marker (normally one).
    pub vms: Vec<VmInfo>,
}

#[derive(Deserialize)]
struct WireCreate {
    #[serde(default, deserialize_with = "lenient_bool")]
    adopted: bool,
    #[serde(default)]
    vms: Value,
}

/// The answer of `create_vm` or `upload_seed`.
pub fn create_outcome_from_json(value: Value) -> Result<CreateOutcome, String> {
    let w: WireCreate = parse(value, "the create result")?;
    Ok(CreateOutcome {
        adopted: w.adopted,
        vms: vms_from_json(w.vms)?,
    })
}

/// A count from a script's result.
pub fn count_from_json(value: &Value) -> Result<u32, String> {
    lenient_i64(value)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("expected a count, got {}", shorten(&value.to_string(), 100)))
}
