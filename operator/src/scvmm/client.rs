//! [`ScvmmClient`]: the SCVMM operations over a pool of WinRM connections
//! to one endpoint.

use crate::scvmm::error::ScvmmError;
use crate::scvmm::script::{self, Operation, ScriptOutput};
use crate::scvmm::types::{
    ClusterInfo, CreateVm, DiskFollowUp, DomainQuery, EndpointConfig, IpGrant, JobInfo, Placement,
    ServerInfo, StopMode, VmInfo, VmSource,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use wsman::client::{ClientStats, Pool, RunOptions, run_powershell};
use wsman::powershell::PowerShellCommand;
use wsman::transport::{ClientConfig, Connector, TransportError};

/// Largest script payload (base64 of the stdin a long script travels on)
/// sent in one WinRM Send. Windows refuses messages over MaxEnvelopeSizekb
/// (500 KiB by default since Windows Server 2012); this leaves room for the
/// envelope and sealing.
pub const MAX_SCRIPT_PAYLOAD_BYTES: usize = 400_000;

/// SCVMM operations against one endpoint. Cheap to clone (the connection
/// pool is shared).
#[derive(Clone)]
pub struct ScvmmClient {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Arc<Pool<Connector>>,
    endpoint: String,
    library_folder: String,
    vmm_server: String,
    lock_retry: std::time::Duration,
    options: RunOptions,
}

impl std::fmt::Debug for ScvmmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScvmmClient")
            .field("endpoint", &self.inner.endpoint)
            .field("library_folder", &self.inner.library_folder)
            .field("vmm_server", &self.inner.vmm_server)
            .finish_non_exhaustive()
    }
}

fn config_error(what: impl Into<String>) -> ScvmmError {
    ScvmmError::Config(what.into())
}

fn check_guid(what: &str, value: &str) -> Result<(), ScvmmError> {
    uuid::Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| config_error(format!("{what} {value:?} is not a GUID")))
}

/// A seed file name: plain, ASCII, `.iso`, so it is safe in a UNC path and
/// in VMM's library.
fn check_iso_name(name: &str) -> Result<(), ScvmmError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.to_ascii_lowercase().ends_with(".iso")
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(config_error(format!(
            "seed ISO name {name:?} must be a plain file name ending in .iso \
             (letters, digits, '.', '-', '_')"
        )))
    }
}

fn check_owner(owner: &str) -> Result<(), ScvmmError> {
    if owner.trim().is_empty() {
        return Err(config_error(
            "an IP grant owner must not be empty (it is the grant's description, \
             and revoking by an empty owner would touch unrelated grants)",
        ));
    }
    Ok(())
}

/// The script's bytes in the message that carries it: the base64 of its
/// stdin payload in a Send (long scripts), or its command line.
fn payload_len(script: &str) -> usize {
    let plan = PowerShellCommand::new(script);
    match &plan.stdin {
        Some(stdin) => stdin.len().div_ceil(3) * 4,
        None => plan.line_len() * 2,
    }
}

/// Whether a script can go to the server in one message.
fn fits_one_message(script: &str) -> bool {
    payload_len(script) <= MAX_SCRIPT_PAYLOAD_BYTES
}

fn check_create(req: &CreateVm) -> Result<(), ScvmmError> {
    check_guid("instance_id", &req.instance_id)?;
    if req.name.trim().is_empty() {
        return Err(config_error("the VM name must not be empty"));
    }
    if !(1..=255).contains(&req.cpu_count) {
        return Err(config_error(format!(
            "cpu_count {} is out of range (1–255)",
            req.cpu_count
        )));
    }
    let mb = |what: &str, v: u64| {
        if v == 0 || v > i32::MAX as u64 {
            Err(config_error(format!("{what} {v} MB is out of range")))
        } else {
            Ok(())
        }
    };
    if let Some(m) = req.memory_mb {
        mb("memory_mb", m)?;
    }
    if let Some(d) = &req.dynamic_memory {
        mb("dynamic_memory.minimum_mb", d.minimum_mb)?;
        mb("dynamic_memory.maximum_mb", d.maximum_mb)?;
        if d.minimum_mb > d.maximum_mb {
            return Err(config_error(
                "dynamic_memory.minimum_mb is larger than dynamic_memory.maximum_mb",
            ));
        }
    }
    for (i, d) in req.disks.iter().enumerate() {
        match (&d.vhd, d.size_gb) {
            (None, None) => {
                return Err(config_error(format!(
                    "disk {i}: give a VHD to copy, a size for a new disk, or both to grow the copy"
                )));
            }
            // Expand-SCVirtualDiskDrive takes whole GB as an Int32, and a
            // new disk's size travels in MB as an Int32.
            (_, Some(gb)) if gb == 0 || gb.saturating_mul(1024) > i32::MAX as u64 => {
                return Err(config_error(format!(
                    "disk {i}: size {gb} GB is out of range (1 GB to 2 PB)"
                )));
            }
            _ => {}
        }
        if let Some(iops) = d.iops_maximum
            && iops < 0
        {
            return Err(config_error(format!(
                "disk {i}: iops_maximum {iops} is negative; give 0 for no limit"
            )));
        }
    }
    // Hyper-V gives a VM at most four virtual Fibre Channel adapters.
    if req.hardware.fibre_channel.len() > 4 {
        return Err(config_error(format!(
            "{} Fibre Channel adapters asked for; Hyper-V allows at most 4 per VM",
            req.hardware.fibre_channel.len()
        )));
    }
    for (i, f) in req.hardware.fibre_channel.iter().enumerate() {
        if f.virtual_san.trim().is_empty() {
            return Err(config_error(format!(
                "Fibre Channel adapter {i}: virtual_san is empty; name the hosts' virtual SAN"
            )));
        }
        if f.storage_fabric_classification
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            return Err(config_error(format!(
                "Fibre Channel adapter {i}: storage_fabric_classification is empty; name one or leave it out"
            )));
        }
    }
    for (i, n) in req.nics.iter().enumerate() {
        if n.vm_network.trim().is_empty() {
            return Err(config_error(format!(
                "network adapter {i}: vm_network is empty"
            )));
        }
    }
    if req.custom_properties.keys().any(|k| k.trim().is_empty()) {
        return Err(config_error("a custom property name is empty"));
    }
    if let VmSource::HardwareProfile { .. } = req.source {
        let mut unsupported = Vec::new();
        if matches!(req.placement, Placement::Cloud(_)) {
            unsupported.push("cloud placement");
        }
        if req.tag.is_some() {
            unsupported.push("a tag");
        }
        if !req.availability_sets.is_empty() {
            unsupported.push("availability sets");
        }
        if !unsupported.is_empty() {
            return Err(config_error(format!(
                "a VM built from a hardware profile is placed on a host of a host group and \
                 cannot have {} (VMM applies those through a VM configuration, which needs a \
                 VM template); use a VM template",
                unsupported.join(", ")
            )));
        }
    }
    if req.seed_iso.is_empty() {
        return Err(config_error("the seed ISO is empty"));
    }
    check_iso_name(&req.seed_iso_name)
}

/// The error for a WinRM failure, by what the caller can do about it.
fn transport_error(endpoint: &str, operation: Operation, error: wsman::Error) -> ScvmmError {
    use wsman::FaultKind;
    let unreachable = |detail: String| ScvmmError::Unreachable {
        endpoint: endpoint.to_string(),
        detail,
    };
    match error {
        wsman::Error::Connection(TransportError::Unauthorized { .. }) => ScvmmError::Unauthorized {
            endpoint: endpoint.to_string(),
        },
        wsman::Error::Connection(
            e @ (TransportError::Config { .. }
            | TransportError::TlsMaterial { .. }
            | TransportError::SchemeNotOffered { .. }),
        ) => ScvmmError::Config(e.to_string()),
        // Not "unreachable": the endpoint answered, with more than a WinRM
        // server sends, and would again on a retry.
        wsman::Error::Connection(e @ TransportError::ResponseTooLarge { .. }) => {
            ScvmmError::Protocol {
                operation: operation.name(),
                detail: e.to_string(),
            }
        }
        wsman::Error::Fault(fault) => match fault.kind {
            FaultKind::AccessDenied => ScvmmError::Unauthorized {
                endpoint: endpoint.to_string(),
            },
            FaultKind::EncodingLimit => ScvmmError::Protocol {
                operation: operation.name(),
                detail: fault.to_string(),
            },
            _ => unreachable(fault.to_string()),
        },
        wsman::Error::HttpStatus { status: 401, .. } => ScvmmError::Unauthorized {
            endpoint: endpoint.to_string(),
        },
        e @ (wsman::Error::Connection(_)
        | wsman::Error::Transport(_)
        | wsman::Error::HttpStatus { .. }
        | wsman::Error::Deadline { .. }) => unreachable(e.to_string()),
        other => ScvmmError::Protocol {
            operation: operation.name(),
            detail: other.to_string(),
        },
    }
}

impl ScvmmClient {
    /// A client for one endpoint. Checks the configuration and prepares TLS;
    /// connects lazily.
    pub fn new(cfg: EndpointConfig) -> Result<Self, ScvmmError> {
        let folder = cfg.library_share.trim().trim_end_matches('\\').to_string();
        if !folder.starts_with("\\\\") || folder.len() < 5 || folder.contains(['\0', '\n', '\r']) {
            return Err(config_error(format!(
                "library share {:?} must be a UNC path such as \
                 \\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds",
                cfg.library_share
            )));
        }
        if cfg.max_connections == 0 {
            return Err(config_error("max_connections must be at least 1"));
        }
        let vmm_server = cfg
            .vmm_server
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        let mut client = ClientConfig::new(cfg.url.clone(), cfg.auth);
        client.encryption = cfg.encryption;
        client.tls = cfg.tls;
        // One HTTP exchange may be a Receive held for the whole operation
        // timeout.
        client.request_timeout = client
            .request_timeout
            .max(cfg.operation_timeout + std::time::Duration::from_secs(30));
        let connector = Connector::new(client).map_err(|e| config_error(e.to_string()))?;
        let endpoint = connector.endpoint().to_string();
        let pool = Pool::new(connector, endpoint.clone(), cfg.max_connections);
        let options = RunOptions {
            operation_timeout: cfg.operation_timeout,
            deadline: cfg.deadline,
            ..RunOptions::default()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                endpoint,
                library_folder: folder,
                vmm_server,
                lock_retry: cfg.lock_retry,
                options,
            }),
        })
    }

    /// The WinRM endpoint URL (normalised).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// WinRM round trips, bytes and faults, for metrics.
    pub fn stats(&self) -> Arc<ClientStats> {
        self.inner.pool.stats()
    }

    /// The UNC path of a seed in the library folder.
    fn seed_path(&self, iso_name: &str) -> String {
        format!("{}\\{iso_name}", self.inner.library_folder)
    }

    fn render(&self, operation: Operation, mut params: Map<String, Value>) -> String {
        params.insert(
            "server".into(),
            Value::String(self.inner.vmm_server.clone()),
        );
        script::render(operation, &Value::Object(params))
    }

    async fn run_script(&self, operation: Operation, script: &str) -> Result<Value, ScvmmError> {
        // The parameters hold bootstrap data: only sizes are logged.
        tracing::debug!(
            operation = operation.name(),
            endpoint = %self.inner.endpoint,
            script_bytes = script.len(),
            "running SCVMM script"
        );
        let out = run_powershell(&self.inner.pool, script, &self.inner.options)
            .await
            .map_err(|e| transport_error(&self.inner.endpoint, operation, e))?;
        let out = ScriptOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            exit_code: out.exit_code,
        };
        let result = script::decode_result(operation.name(), &out);
        if let Err(e) = &result {
            tracing::debug!(operation = operation.name(), error = %e, "SCVMM script failed");
        }
        result
    }

    async fn run(
        &self,
        operation: Operation,
        params: Map<String, Value>,
    ) -> Result<Value, ScvmmError> {
        let script = self.render(operation, params);
        self.run_script(operation, &script).await
    }

    fn protocol(operation: Operation, detail: String) -> ScvmmError {
        ScvmmError::Protocol {
            operation: operation.name(),
            detail,
        }
    }

    fn vm_result(operation: Operation, value: Value) -> Result<VmInfo, ScvmmError> {
        let vm = script::vm_from_json(value)
            .map_err(|d| Self::protocol(operation, d))?
            .ok_or_else(|| Self::protocol(operation, "the script returned no VM".into()))?;
        Self::checked_vm(operation, vm)
    }

    /// A VM whose ID is a GUID, as VMM's always are. Any other ID would be
    /// recorded in spec.vmId and every later operation on the VM would fail
    /// with a confusing "not a GUID" configuration error.
    fn checked_vm(operation: Operation, vm: VmInfo) -> Result<VmInfo, ScvmmError> {
        if uuid::Uuid::parse_str(&vm.id).is_err() {
            let mut id = vm.id;
            if let Some((at, _)) = id.char_indices().nth(64) {
                id.truncate(at);
                id.push_str("...");
            }
            return Err(Self::protocol(
                operation,
                format!("a VM has the ID {id:?}, which is not a GUID"),
            ));
        }
        Ok(vm)
    }

    fn checked_vms(operation: Operation, value: Value) -> Result<Vec<VmInfo>, ScvmmError> {
        script::vms_from_json(value)
            .map_err(|d| Self::protocol(operation, d))?
            .into_iter()
            .map(|vm| Self::checked_vm(operation, vm))
            .collect()
    }

    /// The VMM server's name and version (`Get-SCVMMServer`).
    pub async fn server_info(&self) -> Result<ServerInfo, ScvmmError> {
        let op = Operation::ServerInfo;
        let value = self.run(op, Map::new()).await?;
        script::server_from_json(value).map_err(|d| Self::protocol(op, d))
    }

    /// The server, a check of each failure domain, and the VMs carrying the
    /// cluster marker `cluster` (`<namespace>/<name>`), in one script run.
    pub async fn cluster_info(
        &self,
        domains: &[DomainQuery],
        cluster: &str,
    ) -> Result<ClusterInfo, ScvmmError> {
        let op = Operation::ClusterInfo;
        let mut params = Map::new();
        params.insert(
            "failureDomains".into(),
            Value::Array(
                domains
                    .iter()
                    .map(|d| {
                        json!({"name": d.name, "cloud": d.cloud, "hostGroup": d.host_group,
                               "vmNetworks": d.vm_networks, "ipPools": d.ip_pools})
                    })
                    .collect(),
            ),
        );
        params.insert("cluster".into(), cluster.into());
        let value = self.run(op, params).await?;
        script::cluster_info_from_json(value).map_err(|d| Self::protocol(op, d))
    }

    /// The VM carrying the machine's marker, if any. When VMM holds more
    /// than one (made outside this provider), the first is returned.
    pub async fn find_vm(&self, instance_id: &str) -> Result<Option<VmInfo>, ScvmmError> {
        check_guid("instance_id", instance_id)?;
        let op = Operation::FindVm;
        let mut params = Map::new();
        params.insert("instanceId".into(), instance_id.into());
        let vms = Self::checked_vms(op, self.run(op, params).await?)?;
        Ok(pick(instance_id, vms))
    }

    /// A VM by its VMM ID.
    pub async fn get_vm(&self, vm_id: &str) -> Result<Option<VmInfo>, ScvmmError> {
        check_guid("VM ID", vm_id)?;
        let op = Operation::GetVm;
        let value = self.run(op, vm_params(vm_id)).await?;
        script::vm_from_json(value)
            .map_err(|d| Self::protocol(op, d))?
            .map(|vm| Self::checked_vm(op, vm))
            .transpose()
    }

    /// Every VM carrying a marker, in one script run.
    pub async fn list_vms(&self) -> Result<Vec<VmInfo>, ScvmmError> {
        self.list_vms_refreshing(&[]).await
    }

    /// Every VM carrying a marker, in one script run, after asking VMM to
    /// refresh the VMs with the IDs in `refresh` (`Read-SCVirtualMachine
    /// -RunAsynchronously`: VMM reads what their guests reported now rather
    /// than at its next light refresh). A VM that a job works on is not
    /// refreshed (a second job would fail on the lock); a refresh VMM
    /// refuses is skipped, not an error of the list. The refreshed VMs are
    /// listed with their refresh job.
    pub async fn list_vms_refreshing(&self, refresh: &[String]) -> Result<Vec<VmInfo>, ScvmmError> {
        for id in refresh {
            check_guid("VM ID", id)?;
        }
        let op = Operation::ListVms;
        let mut params = Map::new();
        if !refresh.is_empty() {
            params.insert("refresh".into(), json!(refresh));
        }
        let value = self.run(op, params).await?;
        Self::checked_vms(op, value)
    }

    /// Creates the machine's VM, or adopts the one that carries its marker.
    /// The create job starts the VM, except when a disk is still to be
    /// grown or capped ([`crate::scvmm::DiskRequest::needs_follow_up`]): that VM is left
    /// powered off for [`ScvmmClient::start_new_vm`].
    ///
    /// One script run when the seed fits into the create script with
    /// everything else (seeds up to about 115 KiB). A larger seed is split:
    /// its head is uploaded by `upload_seed` runs of up to about 120 KiB
    /// each, the tail travels with the create script, so seeds up to about
    /// 235 KiB take two runs. The first upload run looks for the VM too, so
    /// an adoption never uploads. Safe to repeat after any failure,
    /// including a lost reply: the marker is looked up before anything is
    /// written.
    pub async fn create_vm(&self, req: &CreateVm) -> Result<VmInfo, ScvmmError> {
        check_create(req)?;
        let op = Operation::CreateVm;
        let (tail_start, script) = self.create_script(req)?;
        if tail_start > 0
            && let Some(adopted) = self.upload_seed(req, tail_start).await?
        {
            tracing::info!(
                instance_id = %req.instance_id,
                vm_id = %adopted.id,
                "adopted the existing VM carrying the machine's marker"
            );
            return Ok(adopted);
        }
        let value = self.run_script(op, &script).await?;
        let outcome = script::create_outcome_from_json(value).map_err(|d| Self::protocol(op, d))?;
        if outcome.adopted {
            tracing::info!(
                instance_id = %req.instance_id,
                "adopted the existing VM carrying the machine's marker"
            );
        }
        pick(&req.instance_id, outcome.vms)
            .ok_or_else(|| Self::protocol(op, "the script returned no VM".into()))
    }

    /// The create script carrying as much of the seed as fits, and where
    /// the part it carries starts (0: all of it).
    fn create_script(&self, req: &CreateVm) -> Result<(usize, String), ScvmmError> {
        let op = Operation::CreateVm;
        let folder = &self.inner.library_folder;
        let total = req.seed_iso.len();
        let retry = self.inner.lock_retry;
        let with_tail =
            |start: usize| self.render(op, script::create_document(req, folder, start, retry));
        let inline = with_tail(0);
        if fits_one_message(&inline) {
            return Ok((0, inline));
        }
        let bare = with_tail(total);
        let spare = MAX_SCRIPT_PAYLOAD_BYTES.saturating_sub(payload_len(&bare));
        // Every seed byte costs (4/3)^4 on the wire (base64 four times over).
        let mut tail = (spare * 81 / 256).min(total);
        loop {
            let script = with_tail(total - tail);
            if fits_one_message(&script) {
                return Ok((total - tail, script));
            }
            if tail == 0 {
                return Err(config_error(
                    "the VM's parameters (description, tag, custom properties, ...) are too \
                     large for one WinRM message; shorten them",
                ));
            }
            tail = tail * 9 / 10;
        }
    }

    /// Uploads `seed[..end]` in chunks; returns the VM instead when one
    /// carries the marker already.
    async fn upload_seed(&self, req: &CreateVm, end: usize) -> Result<Option<VmInfo>, ScvmmError> {
        let op = Operation::UploadSeed;
        let path = self.seed_path(&req.seed_iso_name);
        let params = |offset: usize, chunk: &[u8]| {
            let doc = json!({
                "instanceId": req.instance_id,
                "checkMarker": offset == 0,
                "folder": self.inner.library_folder,
                "path": path,
                "offset": offset,
                "data": STANDARD.encode(chunk),
            });
            match doc {
                Value::Object(map) => map,
                _ => Map::new(),
            }
        };
        let spare =
            MAX_SCRIPT_PAYLOAD_BYTES.saturating_sub(payload_len(&self.render(op, params(0, &[]))));
        let mut chunk_len = (spare * 81 / 256).max(1);
        while chunk_len > 1
            && !fits_one_message(&self.render(op, params(1, &req.seed_iso[..chunk_len.min(end)])))
        {
            chunk_len = chunk_len * 9 / 10;
        }
        let mut offset = 0;
        while offset < end {
            let chunk = &req.seed_iso[offset..(offset + chunk_len).min(end)];
            let value = self.run(op, params(offset, chunk)).await?;
            let outcome =
                script::create_outcome_from_json(value).map_err(|d| Self::protocol(op, d))?;
            if let Some(vm) = pick(&req.instance_id, outcome.vms) {
                return Ok(Some(vm));
            }
            offset += chunk.len();
        }
        Ok(None)
    }

    /// Starts a VM (asynchronously); a running VM is fine.
    pub async fn start_vm(&self, vm_id: &str) -> Result<VmInfo, ScvmmError> {
        check_guid("VM ID", vm_id)?;
        let op = Operation::StartVm;
        let value = self.run(op, vm_params(vm_id)).await?;
        Self::vm_result(op, value)
    }

    /// The first start of a machine's VM, which also deletes the library
    /// copy of its seed: VMM copied the ISO to the host when it created the
    /// VM, so the bootstrap data need not stay in the library while the
    /// guest boots.
    ///
    /// With `disks` (a VM that `create_vm` left powered off because a disk
    /// is grown or capped), a run that finds a disk not yet as asked starts
    /// that change as a job and leaves the VM off; call again once the VM
    /// is no longer busy. The run that finds nothing to change starts the
    /// VM.
    pub async fn start_new_vm(
        &self,
        vm_id: &str,
        instance_id: &str,
        iso_name: &str,
        disks: &[DiskFollowUp],
    ) -> Result<VmInfo, ScvmmError> {
        check_guid("VM ID", vm_id)?;
        check_guid("instance_id", instance_id)?;
        check_iso_name(iso_name)?;
        let op = Operation::StartVm;
        let mut params = vm_params(vm_id);
        params.insert("isoPath".into(), self.seed_path(iso_name).into());
        if !disks.is_empty() {
            params.insert("instanceId".into(), instance_id.into());
            params.insert(
                "disks".into(),
                Value::Array(
                    disks
                        .iter()
                        .map(|d| {
                            json!({"index": d.index, "sizeGb": d.size_gb,
                                   "iopsMaximum": d.iops_maximum})
                        })
                        .collect(),
                ),
            );
        }
        let value = self.run(op, params).await?;
        Self::vm_result(op, value)
    }

    /// Stops a VM (asynchronously): guest shutdown or power off; a VM that
    /// is off is fine.
    pub async fn stop_vm(&self, vm_id: &str, mode: StopMode) -> Result<VmInfo, ScvmmError> {
        check_guid("VM ID", vm_id)?;
        let op = Operation::StopVm;
        let mut params = vm_params(vm_id);
        params.insert(
            "mode".into(),
            match mode {
                StopMode::Shutdown => "Shutdown",
                StopMode::Force => "Force",
            }
            .into(),
        );
        let value = self.run(op, params).await?;
        Self::vm_result(op, value)
    }

    /// Removes a VM (asynchronously); a VM that does not exist is fine.
    pub async fn remove_vm(&self, vm_id: &str) -> Result<(), ScvmmError> {
        check_guid("VM ID", vm_id)?;
        self.run(Operation::RemoveVm, vm_params(vm_id)).await?;
        Ok(())
    }

    /// Empties the DVD drive holding the seed `iso_name` and deletes the
    /// seed's library copy if it is still there. Idempotent.
    pub async fn eject_seed(&self, vm_id: &str, iso_name: &str) -> Result<(), ScvmmError> {
        check_guid("VM ID", vm_id)?;
        check_iso_name(iso_name)?;
        let mut params = vm_params(vm_id);
        params.insert("isoName".into(), iso_name.into());
        params.insert("isoPath".into(), self.seed_path(iso_name).into());
        self.run(Operation::EjectSeed, params).await?;
        Ok(())
    }

    /// Deletes the library copy of a seed. Idempotent.
    pub async fn remove_seed(&self, iso_name: &str) -> Result<(), ScvmmError> {
        check_iso_name(iso_name)?;
        let mut params = Map::new();
        params.insert("isoPath".into(), self.seed_path(iso_name).into());
        self.run(Operation::RemoveSeed, params).await?;
        Ok(())
    }

    /// Dismisses a failed state (`Repair-SCVirtualMachine -Dismiss -Force`,
    /// asynchronously).
    pub async fn repair_vm(&self, vm_id: &str) -> Result<VmInfo, ScvmmError> {
        check_guid("VM ID", vm_id)?;
        let op = Operation::RepairVm;
        let value = self.run(op, vm_params(vm_id)).await?;
        Self::vm_result(op, value)
    }

    /// An address from a VMM static IP pool for `owner` (the grant's
    /// description); the owner's existing grant in that pool is reused.
    pub async fn grant_ip(&self, pool: &str, owner: &str) -> Result<IpGrant, ScvmmError> {
        check_owner(owner)?;
        if pool.trim().is_empty() {
            return Err(config_error("the IP pool name is empty"));
        }
        let op = Operation::GrantIp;
        let mut params = Map::new();
        params.insert("pool".into(), pool.into());
        params.insert("owner".into(), owner.into());
        let value = self.run(op, params).await?;
        script::grant_from_json(value).map_err(|d| Self::protocol(op, d))
    }

    /// Revokes every grant whose description is `owner`, in every pool;
    /// returns how many.
    pub async fn revoke_ips(&self, owner: &str) -> Result<u32, ScvmmError> {
        check_owner(owner)?;
        let op = Operation::RevokeIps;
        let mut params = Map::new();
        params.insert("owner".into(), owner.into());
        let value = self.run(op, params).await?;
        script::count_from_json(&value).map_err(|d| Self::protocol(op, d))
    }

    /// Gives back every address granted to any owner starting with
    /// `prefix` (all devices of one machine: `capi-scvmm:<uuid>:`).
    pub async fn revoke_ips_with_prefix(&self, prefix: &str) -> Result<u32, ScvmmError> {
        check_owner(prefix)?;
        let op = Operation::RevokeIps;
        let mut params = Map::new();
        params.insert("ownerPrefix".into(), prefix.into());
        let value = self.run(op, params).await?;
        script::count_from_json(&value).map_err(|d| Self::protocol(op, d))
    }

    /// A VMM job by ID.
    pub async fn get_job(&self, job_id: &str) -> Result<Option<JobInfo>, ScvmmError> {
        check_guid("job ID", job_id)?;
        let op = Operation::GetJob;
        let mut params = Map::new();
        params.insert("jobId".into(), job_id.into());
        let value = self.run(op, params).await?;
        script::job_from_json(value).map_err(|d| Self::protocol(op, d))
    }
}

fn vm_params(vm_id: &str) -> Map<String, Value> {
    let mut params = Map::new();
    params.insert("vmId".into(), vm_id.into());
    params
}

/// One VM of those carrying a marker. More than one means someone copied
/// the marker (or VMM kept a ghost): the first is used, and it is logged.
fn pick(instance_id: &str, mut vms: Vec<VmInfo>) -> Option<VmInfo> {
    if vms.len() > 1 {
        tracing::warn!(
            instance_id,
            count = vms.len(),
            ids = ?vms.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
            "more than one VM carries the machine's marker; using the first"
        );
    }
    if vms.is_empty() {
        None
    } else {
        Some(vms.swap_remove(0))
    }
}
