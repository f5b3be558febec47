//! What goes into and comes out of the SCVMM operations: plain data, no I/O.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The VMM custom property that carries a machine's instance UUID.
pub const MARKER_PROPERTY: &str = "CapiScvmmInstanceId";

/// The prefix of the description line that mirrors the marker, for lookups
/// where custom properties are not available.
pub const MARKER_DESCRIPTION_PREFIX: &str = "capi-scvmm-instance-id=";
/// VMM custom property naming the cluster a VM belongs to,
/// `<namespace>/<cluster name>`: how orphaned VMs are attributed to a
/// ScvmmCluster.
pub const CLUSTER_PROPERTY: &str = "CapiScvmmCluster";

/// How to reach one SCVMM server over WinRM.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The WinRM endpoint, e.g. `https://vmm01:5986/wsman`.
    pub url: String,
    /// Scheme and credentials.
    pub auth: wsman::transport::ClientAuth,
    /// Message sealing policy.
    pub encryption: wsman::transport::Encryption,
    /// Certificate trust for HTTPS.
    pub tls: wsman::transport::TlsTrust,
    /// UNC folder the seed ISOs are written to, e.g.
    /// `\\vmm01.contoso.com\MSSCVMMLibrary\capi-seeds`; it must be inside a
    /// VMM library share.
    pub library_share: String,
    /// The VMM server the scripts connect to (`Get-SCVMMServer
    /// -ComputerName`); `localhost` when the WinRM endpoint is the VMM
    /// server itself.
    pub vmm_server: Option<String>,
    /// Most WinRM connections (and so scripts) in flight at once.
    pub max_connections: usize,
    /// How long the server may hold one Receive (WinRM OperationTimeout).
    pub operation_timeout: Duration,
    /// How long one script may run in total.
    pub deadline: Duration,
    /// How long a script waits before looking again at a VMM object another
    /// job holds (error 2602): the library share while other creates
    /// refresh it.
    pub lock_retry: Duration,
}

/// How `stop_vm` stops a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopMode {
    /// Guest OS shutdown (`Stop-SCVirtualMachine -Shutdown`).
    Shutdown,
    /// Power off (`Stop-SCVirtualMachine -Force`).
    Force,
}

/// What the VM is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmSource {
    /// A VMM VM template (by name).
    Template {
        /// Template name.
        name: String,
    },
    /// A hardware profile (by name) plus the disks in [`CreateVm::disks`]
    /// (the first one, usually a library VHD, is the boot disk).
    HardwareProfile {
        /// Hardware profile name.
        profile: String,
        /// VM generation (1 or 2); default: the profile's.
        generation: Option<i32>,
        /// VMM operating system name, e.g. `Ubuntu Linux 24.04 (64 bit)`.
        operating_system: Option<String>,
    },
}

/// Where the VM is placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Placement {
    /// A VMM cloud (by name).
    Cloud(String),
    /// A host group by path (`All Hosts\Prod\Rack1`), or by name when the
    /// name is unique.
    HostGroup(String),
}

/// Dynamic memory settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DynamicMemoryMb {
    /// Minimum in MB.
    pub minimum_mb: u64,
    /// Maximum in MB.
    pub maximum_mb: u64,
    /// Buffer percentage (VMM's default when absent).
    pub buffer_percentage: Option<i32>,
}

/// A disk to add.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskRequest {
    /// Size in GB: of a new blank disk, or, with `vhd`, the size the copy
    /// is grown to (`Expand-SCVirtualDiskDrive`) before the VM first
    /// starts. Smaller than the VHD is refused: VMM cannot shrink a disk.
    pub size_gb: Option<u64>,
    /// A library VHD/VHDX (by name) to copy.
    pub vhd: Option<String>,
    /// Dynamically expanding (else fixed) for a blank disk.
    pub dynamic: bool,
    /// `BootAndSystem`, `System` or `None`; default: `BootAndSystem` for the
    /// first disk of a hardware-profile VM, else `None`.
    pub volume_type: Option<String>,
    /// A VMM storage QoS policy (by name).
    pub storage_qos_policy: Option<String>,
    /// Per-disk IOPS cap (Hyper-V storage QoS; 0 removes it). VMM takes it
    /// only on an existing drive (`Set-SCVirtualDiskDrive -IOPSMaximum`),
    /// so it is applied after the create job, before the VM first starts.
    pub iops_maximum: Option<i64>,
}

impl DiskRequest {
    /// Whether the disk needs a change once the VM exists: a grown copy
    /// or an IOPS cap. Such a VM is created powered off and the changes
    /// are made by [`crate::scvmm::ScvmmClient::start_new_vm`].
    pub fn needs_follow_up(&self) -> bool {
        self.iops_maximum.is_some() || (self.vhd.is_some() && self.size_gb.is_some())
    }
}

/// What a disk of a new VM must look like before its first start (see
/// [`DiskRequest::needs_follow_up`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskFollowUp {
    /// The disk's position in [`CreateVm::disks`] (the create script names
    /// its VHD `<instance id>-disk<index>.<vhdx|vhd>`, which is how the
    /// drive is found again).
    pub index: usize,
    /// Grow the VHD to this many GB when it is smaller.
    pub size_gb: Option<u64>,
    /// Set this IOPS cap.
    pub iops_maximum: Option<i64>,
}

/// A virtual Fibre Channel adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FibreChannelRequest {
    /// The hosts' virtual SAN (by name; each host of the fabric has one).
    pub virtual_san: String,
    /// A VMM storage fabric classification (by name) the SAN must carry.
    pub storage_fabric_classification: Option<String>,
}

/// Processor and Fibre Channel settings passed to the create job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareOptions {
    /// `New-SCVirtualMachine -CPULimitForMigration`.
    pub cpu_limit_for_migration: Option<bool>,
    /// `New-SCVirtualMachine -CPULimitFunctionality`.
    pub cpu_limit_functionality: Option<bool>,
    /// `New-SCVirtualMachine -EnableNestedVirtualization`.
    pub nested_virtualization: Option<bool>,
    /// Virtual Fibre Channel adapters, staged in the create job group.
    pub fibre_channel: Vec<FibreChannelRequest>,
}

/// A network adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NicRequest {
    /// VM network (by name).
    pub vm_network: String,
    /// VM subnet (by name); default: the network's only subnet.
    pub vm_subnet: Option<String>,
    /// A static MAC (`00:1D:D8:B7:1C:05` or with dashes); dynamic otherwise.
    pub mac_address: Option<String>,
    /// Static IPv4 addresses for the adapter. Addresses not yet allocated
    /// in VMM are allocated to the adapter (`-IPv4AddressType Static`);
    /// addresses already granted (by [`crate::scvmm::ScvmmClient::grant_ip`])
    /// stay with their grant and reach the guest through the seed only,
    /// so VMM never hands the same address out twice.
    pub ipv4_addresses: Vec<String>,
}

/// Everything `create_vm` needs. The identity (`instance_id`) is chosen
/// before the first call and never changes, which makes the call
/// idempotent.
///
/// Not serialisable, and `Debug` leaves the seed out: the ISO carries the
/// bootstrap data (tokens, keys), which must not reach logs or status.
#[derive(Clone, PartialEq, Eq)]
pub struct CreateVm {
    /// The machine's instance UUID (our marker).
    pub instance_id: String,
    /// `<namespace>/<cluster name>` of the Cluster the machine belongs to
    /// (the cluster marker).
    pub cluster: String,
    /// VM name (not unique in VMM).
    pub name: String,
    /// Template or hardware profile.
    pub source: VmSource,
    /// Cloud or host group.
    pub placement: Placement,
    /// Virtual processors (1–255).
    pub cpu_count: i32,
    /// Startup memory in MB; default: the source's.
    pub memory_mb: Option<u64>,
    /// Dynamic memory; `None` leaves the source's setting.
    pub dynamic_memory: Option<DynamicMemoryMb>,
    /// Extra disks (template) or all disks (hardware profile).
    pub disks: Vec<DiskRequest>,
    /// Adapters: the first ones reconfigure the source's adapters slot by
    /// slot, the rest are added.
    pub nics: Vec<NicRequest>,
    /// Availability set names.
    pub availability_sets: Vec<String>,
    /// Custom property values (the property definitions must exist in VMM).
    pub custom_properties: BTreeMap<String, String>,
    /// VMM tag.
    pub tag: Option<String>,
    /// Description (the marker line is appended).
    pub description: Option<String>,
    /// `AlwaysAutoTurnOnVM`, `NeverAutoTurnOnVM`, `TurnOnVMIfRunningWhenVSStopped`.
    pub start_action: Option<String>,
    /// `SaveVM`, `TurnOffVM`, `ShutdownGuestOS`.
    pub stop_action: Option<String>,
    /// `Disabled`, `Production`, `ProductionOnly`, `Standard`.
    pub checkpoint_type: Option<String>,
    /// Processor flags and Fibre Channel adapters.
    pub hardware: HardwareOptions,
    /// The NoCloud seed ISO.
    pub seed_iso: Vec<u8>,
    /// Its file name in the library folder, e.g. `<instance-id>.iso`.
    pub seed_iso_name: String,
}

impl std::fmt::Debug for CreateVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateVm")
            .field("instance_id", &self.instance_id)
            .field("cluster", &self.cluster)
            .field("name", &self.name)
            .field("source", &self.source)
            .field("placement", &self.placement)
            .field("cpu_count", &self.cpu_count)
            .field("memory_mb", &self.memory_mb)
            .field("dynamic_memory", &self.dynamic_memory)
            .field("disks", &self.disks)
            .field("nics", &self.nics)
            .field("availability_sets", &self.availability_sets)
            .field("custom_properties", &self.custom_properties)
            .field("tag", &self.tag)
            .field("description", &self.description)
            .field("start_action", &self.start_action)
            .field("stop_action", &self.stop_action)
            .field("checkpoint_type", &self.checkpoint_type)
            .field("hardware", &self.hardware)
            .field("seed_iso", &format_args!("<{} bytes>", self.seed_iso.len()))
            .field("seed_iso_name", &self.seed_iso_name)
            .finish()
    }
}

/// A network adapter as VMM reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdapterInfo {
    /// MAC address (`00:1D:D8:B7:1C:05`); none until assigned.
    pub mac_address: Option<String>,
    /// VM network name.
    pub vm_network: Option<String>,
    /// IPv4 addresses (guest-reported, or allocated from a pool).
    pub ipv4_addresses: Vec<String>,
    /// IPv6 addresses.
    pub ipv6_addresses: Vec<String>,
}

/// A VMM error: its ID and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmmErrorInfo {
    /// VMM's error ID (`DisplayableErrorCode`), 0 when unknown.
    pub id: u32,
    /// The problem and, when VMM gives one, the recommended action.
    pub message: String,
}

/// A VMM job (task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobInfo {
    /// Job ID (GUID).
    pub id: String,
    /// Job name, e.g. `Create virtual machine`.
    pub name: String,
    /// `Running`, `Completed`, `SucceedWithInfo`, `Failed`, `Canceled`, ...
    pub status: String,
    /// Progress text, e.g. `45 %`.
    pub progress: Option<String>,
    /// The error of a failed or canceled job.
    pub error: Option<VmmErrorInfo>,
}

impl JobInfo {
    /// Still running (anything that is not a terminal state).
    pub fn is_running(&self) -> bool {
        !matches!(
            self.status.as_str(),
            "Completed" | "SucceedWithInfo" | "Failed" | "Canceled"
        )
    }

    /// Ended in failure.
    pub fn is_failed(&self) -> bool {
        matches!(self.status.as_str(), "Failed" | "Canceled")
    }
}

/// A VM as VMM reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmInfo {
    /// VMM ID (GUID).
    pub id: String,
    /// VM name.
    pub name: String,
    /// Our marker, when the VM carries one.
    pub instance_id: Option<String>,
    /// The cluster marker (`<namespace>/<cluster name>`), when the VM
    /// carries one.
    #[serde(default)]
    pub cluster: Option<String>,
    /// VMM `Status` by name: `UnderCreation`, `PowerOff`, `Running`,
    /// `CreationFailed`, `UpdateFailed`, `Missing`, ...
    pub status: String,
    /// The same as a number (VMComputerSystemState).
    pub status_code: Option<i64>,
    /// Host name.
    pub host: Option<String>,
    /// Host group path.
    pub host_group: Option<String>,
    /// Cloud name.
    pub cloud: Option<String>,
    /// BIOS GUID.
    pub bios_guid: Option<String>,
    /// Guest computer name, once the guest reported one.
    pub computer_name: Option<String>,
    /// Network adapters in slot order.
    pub adapters: Vec<AdapterInfo>,
    /// Name of the ISO in a DVD drive, if any.
    pub dvd_iso: Option<String>,
    /// The most recent job.
    pub job: Option<JobInfo>,
    /// Why the VM is in a failed state (`*Failed` statuses).
    pub error: Option<VmmErrorInfo>,
    /// The refresh job (`Read-SCVirtualMachine`) the list that returned
    /// this VM started on it ([`crate::scvmm::ScvmmClient::list_vms_refreshing`]).
    #[serde(default)]
    pub refresh_job: Option<String>,
}

impl VmInfo {
    /// Whether VMM shows the VM in a failed state (`CreationFailed`,
    /// `UpdateFailed`, `MigrationFailed`, ...).
    pub fn is_failed(&self) -> bool {
        self.status.ends_with("Failed")
    }

    /// Whether a job is still working on the VM (its objects are locked).
    pub fn is_busy(&self) -> bool {
        self.job.as_ref().is_some_and(JobInfo::is_running)
            || matches!(
                self.status.as_str(),
                "UnderCreation" | "UnderUpdate" | "Starting" | "PoweringOff" | "Deleting"
            )
    }

    /// Every IPv4 address the adapters report.
    pub fn ipv4_addresses(&self) -> impl Iterator<Item = &str> {
        self.adapters
            .iter()
            .flat_map(|a| a.ipv4_addresses.iter().map(String::as_str))
    }
}

/// An address granted from a VMM static IP pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpGrant {
    /// The address.
    pub address: String,
    /// Prefix length of the pool's subnet.
    pub prefix_length: Option<u8>,
    /// The pool's first default gateway.
    pub gateway: Option<String>,
    /// The pool's DNS servers.
    pub dns_servers: Vec<String>,
    /// The pool's DNS suffix.
    pub dns_suffix: Option<String>,
    /// The allocation's VMM ID (GUID).
    pub id: String,
}

/// The VMM server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// Server name.
    pub name: String,
    /// Product version, e.g. `10.22.1287.0` (VMM 2022).
    pub product_version: String,
}

/// A failure domain as SCVMM sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainCheck {
    /// Failure-domain name.
    pub name: String,
    /// Why the domain cannot take machines (missing cloud or host group,
    /// no usable host); `None` when it can.
    pub problem: Option<String>,
    /// Hosts that take new VMs.
    pub hosts: u32,
}

/// A VM carrying a cluster's marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkedVm {
    /// VMM ID.
    pub id: String,
    /// VM name.
    pub name: String,
    /// The machine marker (instance UUID), if any.
    pub instance_id: Option<String>,
    /// VMM status by name.
    pub status: String,
    /// Host name.
    pub host: Option<String>,
}

/// What the cluster controller learns from SCVMM in one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// The server.
    pub server: ServerInfo,
    /// One check per failure domain asked about, in order.
    pub failure_domains: Vec<DomainCheck>,
    /// VMs carrying the cluster's marker.
    pub vms: Vec<MarkedVm>,
}

/// A failure domain to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainQuery {
    /// Name.
    pub name: String,
    /// VMM cloud.
    pub cloud: Option<String>,
    /// VMM host group path.
    pub host_group: Option<String>,
    /// VM networks the domain's networking defaults use.
    pub vm_networks: Vec<String>,
    /// VMM static IP pools the domain's networking defaults use.
    pub ip_pools: Vec<String>,
}
