//! `ScvmmMachine` and `ScvmmMachineTemplate`: the CAPI InfraMachine, one
//! Hyper-V VM managed by SCVMM.
//!
//! Spec is what the user wants; the only controller-written spec fields are
//! `providerID` and `vmId`, because `clusterctl move` does not carry status
//! and the VM must be found again after a move.

// Each `printcolumn(...)` repeats `type_ = ...`; clippy reads the derive's
// nested attributes as duplicates of one another.
#![allow(clippy::duplicated_attributes)]

use super::common::{
    Initialization, MachineAddress, TemplateObjectMeta, TypedLocalObjectReference,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Desired state of one SCVMM virtual machine.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "ScvmmMachine",
    doc = "One Hyper-V VM managed by SCVMM (CAPI InfraMachine).",
    namespaced,
    status = "ScvmmMachineStatus",
    shortname = "scvmmm",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
        description = "Cluster API Cluster this machine belongs to"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"VMProvisioned\")].reason",
        description = "Provisioning phase (reason of the VMProvisioned condition)"
    ),
    printcolumn(
        name = "VM",
        type_ = "string",
        json_path = ".status.vm.name",
        description = "VM name in SCVMM"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.vm.status",
        description = "VM status reported by SCVMM"
    ),
    printcolumn(
        name = "Host",
        type_ = "string",
        json_path = ".status.vm.host",
        description = "Hyper-V host running the VM"
    ),
    printcolumn(
        name = "IP",
        type_ = "string",
        json_path = ".status.addresses[?(@.type==\"InternalIP\")].address",
        description = "Internal IP addresses"
    ),
    printcolumn(
        name = "ProviderID",
        type_ = "string",
        json_path = ".spec.providerID",
        description = "Provider ID (scvmm://<instance UUID>)",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.vmTemplate) || (has(self.hardwareProfile) && has(self.disks) && self.disks.exists(d, has(d.vhd)))")
    .message("set spec.vmTemplate, or spec.hardwareProfile together with a disk whose vhd names the OS image in the library"))]
#[x_kube(validation = kube::core::Rule::new("has(self.memory) || has(self.dynamicMemory) || has(self.vmTemplate)")
    .message("set spec.memory or spec.dynamicMemory (a hardware profile alone does not fix the memory size)"))]
#[x_kube(validation = kube::core::Rule::new("!has(oldSelf.providerID) || (has(self.providerID) && self.providerID == oldSelf.providerID)")
    .message("spec.providerID is set once by the controller and cannot be changed or removed; it is how the VM is found again"))]
#[x_kube(validation = kube::core::Rule::new("!has(oldSelf.vmId) || (has(self.vmId) && self.vmId == oldSelf.vmId)")
    .message("spec.vmId is set once by the controller and cannot be changed or removed"))]
#[x_kube(validation = kube::core::Rule::new("!has(oldSelf.disks) || (has(self.disks) && size(self.disks) >= size(oldSelf.disks))")
    .message("disks cannot be removed from an existing VM; roll a new template instead"))]
#[x_kube(validation = kube::core::Rule::new("!has(oldSelf.disks) || (has(self.disks) && oldSelf.disks.all(d, d in self.disks))")
    .message("the disks of an existing VM cannot change (size, vhd, iopsMaximum and the rest are applied when the VM is created); roll a new template instead"))]
#[x_kube(validation = kube::core::Rule::new("has(self.vmOptions) == has(oldSelf.vmOptions) && has(self.fibreChannel) == has(oldSelf.fibreChannel)")
    .message("spec.vmOptions and spec.fibreChannel are applied when the VM is created and cannot be added or removed afterwards; create a new ScvmmMachineTemplate and roll the MachineDeployment"))]
#[x_kube(validation = kube::core::Rule::new("has(self.vmName) == has(oldSelf.vmName) && has(self.cloud) == has(oldSelf.cloud) && has(self.hostGroup) == has(oldSelf.hostGroup) && has(self.vmTemplate) == has(oldSelf.vmTemplate) && has(self.hardwareProfile) == has(oldSelf.hardwareProfile) && has(self.memory) == has(oldSelf.memory) && has(self.dynamicMemory) == has(oldSelf.dynamicMemory) && has(self.network) == has(oldSelf.network)")
    .message("the VM's placement, source, memory and network settings cannot be added or removed after creation; create a new ScvmmMachineTemplate and roll the MachineDeployment"))]
pub struct ScvmmMachineSpec {
    /// Provider ID, `scvmm://<instance UUID>`. Chosen and written by the
    /// controller before the VM is created, so that a lost reply never
    /// leads to a second VM; never set it yourself.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "providerID"
    )]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^scvmm://[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')")
        .message("providerID must be scvmm://<lower-case UUID>; it is written by the controller"))]
    #[schemars(length(min = 1, max = 512))]
    pub provider_id: Option<String>,

    /// SCVMM object ID of the VM. Written by the controller once the VM
    /// exists; kept in spec so that `clusterctl move` carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')")
        .message("vmId must be an SCVMM object GUID; it is written by the controller"))]
    #[schemars(length(max = 36))]
    pub vm_id: Option<String>,

    /// Name of the VM in SCVMM. Default: the ScvmmMachine's name. Names need
    /// not be unique in SCVMM; the controller finds its VM by ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.vmName cannot change after creation"))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$')")
        .message("spec.vmName may hold letters, digits, '.', '_' and '-', and must start and end with a letter or digit"))]
    #[schemars(length(min = 1, max = 64))]
    pub vm_name: Option<String>,

    /// Guest host name (cloud-init `local-hostname`). Default: `vmName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.hostname cannot change after creation"))]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')")
        .message("spec.hostname must be a lower-case DNS name (RFC 1123), for example node-1 or node-1.corp.example"))]
    #[schemars(length(min = 1, max = 253))]
    pub hostname: Option<String>,

    /// VMM cloud to create the VM in. Default: the failure domain's cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.cloud cannot change after creation"))]
    #[schemars(length(min = 1, max = 256))]
    pub cloud: Option<String>,

    /// VMM host group to place the VM in. Default: the failure domain's
    /// host group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.hostGroup cannot change after creation"))]
    #[schemars(length(min = 1, max = 1024))]
    pub host_group: Option<String>,

    /// VM template in the VMM library to create the VM from. Alternative to
    /// `hardwareProfile` + a disk with `vhd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.vmTemplate cannot change after creation; roll a new template instead"))]
    #[schemars(length(min = 1, max = 256))]
    pub vm_template: Option<String>,

    /// Hardware profile in the VMM library, used when no `vmTemplate` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.hardwareProfile cannot change after creation"))]
    #[schemars(length(min = 1, max = 256))]
    pub hardware_profile: Option<String>,

    /// Hyper-V VM generation. Default: 2 (UEFI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.generation cannot change after creation"))]
    #[schemars(range(min = 1, max = 2))]
    pub generation: Option<i32>,

    /// VMM operating-system name (`Get-SCOperatingSystem`). Default: the
    /// VHD's, else `Other Linux (64 bit)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub operating_system: Option<String>,

    /// Number of virtual processors.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.cpuCount cannot change on an existing VM; roll a new template instead"))]
    #[schemars(range(min = 1, max = 240))]
    pub cpu_count: i32,

    /// Static memory, as a Kubernetes quantity (`4Gi`, `8192Mi`). At least 32Mi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.memory cannot change on an existing VM; roll a new template instead"))]
    #[x_kube(validation = kube::core::Rule::new("isQuantity(self) && quantity(self).compareTo(quantity('32Mi')) >= 0 && quantity(self).compareTo(quantity('12Ti')) <= 0")
        .message("spec.memory must be a quantity between 32Mi and 12Ti, for example 4Gi"))]
    #[schemars(length(max = 32))]
    pub memory: Option<String>,

    /// Dynamic memory. When set, `memory` (or `minimum`) is the startup size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.dynamicMemory cannot change on an existing VM"))]
    pub dynamic_memory: Option<DynamicMemory>,

    /// Virtual disks, in controller order. Disk 0 is the boot disk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub disks: Vec<Disk>,

    /// Network adapters and guest network configuration. Default: the
    /// failure domain's networking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.network cannot change on an existing VM; roll a new template instead"))]
    pub network: Option<Network>,

    /// Virtual Fibre Channel adapters (at most 4, Hyper-V's limit), added
    /// by the create job (`New-SCVirtualFibreChannelAdapter -JobGroup`).
    /// Cannot change on an existing VM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.fibreChannel cannot change on an existing VM; roll a new template instead"))]
    pub fibre_channel: Vec<FibreChannelAdapter>,

    /// VMM availability sets (anti-affinity across hosts of a cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(length(min = 1, max = 256)))]
    pub availability_sets: Vec<String>,

    /// VMM custom properties to set on the VM (name to value). The
    /// controller also sets its own marker properties (`CapiScvmmInstanceId`,
    /// `CapiScvmmCluster`); those names are reserved.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = kube::core::Rule::new("!('CapiScvmmInstanceId' in self) && !('CapiScvmmCluster' in self)")
        .message("the custom properties CapiScvmmInstanceId and CapiScvmmCluster are reserved: the controller marks its VMs with them"))]
    #[schemars(extend("maxProperties" = 64))]
    pub custom_properties: BTreeMap<String, String>,

    /// VMM tag of the VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub tag: Option<String>,

    /// Description of the VM in VMM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,

    /// VM options passed to `New-SCVirtualMachine`. Cannot change on an
    /// existing VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("spec.vmOptions cannot change on an existing VM; roll a new template instead"))]
    pub vm_options: Option<VmOptions>,

    /// How the VM is stopped before it is removed. `TrySoft` (the default)
    /// asks the guest to shut down and turns the VM off after
    /// `guestShutdownTimeoutSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_off_mode: Option<PowerOffMode>,

    /// Seconds to wait for a guest shutdown before turning the VM off
    /// (`TrySoft`) or giving up and reporting it (`Soft`). Default: 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub guest_shutdown_timeout_seconds: Option<i32>,
}

/// Dynamic memory settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("quantity(self.minimum).compareTo(quantity(self.maximum)) <= 0")
    .message("dynamicMemory.minimum must not exceed dynamicMemory.maximum"))]
pub struct DynamicMemory {
    /// Minimum memory (quantity, at least 32Mi).
    #[x_kube(validation = kube::core::Rule::new("isQuantity(self) && quantity(self).compareTo(quantity('32Mi')) >= 0")
        .message("dynamicMemory.minimum must be a quantity of at least 32Mi, for example 2Gi"))]
    #[schemars(length(max = 32))]
    pub minimum: String,
    /// Maximum memory (quantity, at most 12Ti).
    #[x_kube(validation = kube::core::Rule::new("isQuantity(self) && quantity(self).compareTo(quantity('12Ti')) <= 0")
        .message("dynamicMemory.maximum must be a quantity of at most 12Ti, for example 16Gi"))]
    #[schemars(length(max = 32))]
    pub maximum: String,
    /// Percentage of memory Hyper-V keeps as a buffer. Default: 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 2000))]
    pub buffer_percentage: Option<i32>,
}

/// A virtual disk.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.size) || has(self.vhd)")
    .message("a disk needs a size (a new empty disk) or a vhd (a copy of a library disk), or both to grow the copy"))]
pub struct Disk {
    /// Size as a quantity (`40Gi`), rounded up to whole GiB. With `vhd`, the copy is
    /// grown to this size (`Expand-SCVirtualDiskDrive`) before the VM first
    /// starts; a size smaller than the image is refused when the VM is
    /// created (VMM cannot shrink a disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("isQuantity(self) && quantity(self).compareTo(quantity('1Gi')) >= 0 && quantity(self).compareTo(quantity('64Ti')) <= 0")
        .message("disk size must be a quantity between 1Gi and 64Ti, for example 40Gi"))]
    #[schemars(length(max = 32))]
    pub size: Option<String>,
    /// Name of a virtual hard disk (VHD/VHDX) in the VMM library to copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub vhd: Option<String>,
    /// Dynamically expanding (true, the default) or fixed size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<bool>,
    /// Volume type. Default: BootAndSystem for disk 0, None for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
    /// Storage QoS policy name (`Get-SCStorageQoSPolicy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub storage_qos_policy: Option<String>,
    /// Maximum normalized IOPS of the disk (Hyper-V storage QoS); 0 means
    /// no limit. Set with `Set-SCVirtualDiskDrive -IOPSMaximum` once the VM
    /// exists and before it first starts (VMM takes it only on an existing
    /// drive), so such a VM is created powered off and started after the
    /// change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "iopsMaximum")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub iops_maximum: Option<i64>,
}

/// A virtual Fibre Channel adapter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FibreChannelAdapter {
    /// Name of the hosts' virtual Fibre Channel SAN to connect to
    /// (`Get-SCVMHostFibreChannelVirtualSAN`); the adapter connects to the
    /// SAN of that name on the host the VM is placed on. An unknown name
    /// fails the creation with VMM error 801.
    #[schemars(length(min = 1, max = 256))]
    pub virtual_san: String,
    /// VMM storage fabric classification (`Get-SCStorageFabricClassification`)
    /// the SAN must carry. An unknown name fails the creation with VMM
    /// error 801.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub storage_fabric_classification: Option<String>,
}

/// Volume type of a disk, as VMM names it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum VolumeType {
    BootAndSystem,
    Boot,
    System,
    None,
}

/// Network adapters and the guest's network configuration.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// DNS domain of the guest (used for the FQDN and IPAM claims).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')")
        .message("network.domain must be a lower-case DNS name, for example corp.example"))]
    #[schemars(length(min = 1, max = 253))]
    pub domain: Option<String>,
    /// One entry per virtual network adapter, in slot order.
    #[schemars(length(min = 1, max = 8))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub devices: Vec<NetworkDevice>,
}

/// Network defaults a failure domain supplies to machines without their own.
pub type NetworkDefaults = Network;

/// One virtual network adapter and how the guest configures it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!(has(self.dhcp4) && self.dhcp4) || ((!has(self.addresses) || size(self.addresses) == 0) && (!has(self.addressesFromPools) || size(self.addressesFromPools) == 0) && !has(self.scvmmIPPool))")
    .message("dhcp4 cannot be combined with addresses, addressesFromPools or scvmmIPPool: choose one way to address the adapter"))]
#[x_kube(validation = kube::core::Rule::new("(has(self.dhcp4) && self.dhcp4) || (has(self.addresses) && size(self.addresses) > 0) || (has(self.addressesFromPools) && size(self.addressesFromPools) > 0) || has(self.scvmmIPPool)")
    .message("give the adapter an address: set dhcp4: true, addresses, addressesFromPools or scvmmIPPool"))]
pub struct NetworkDevice {
    /// Interface name in the guest's network-config (for example `eth0`).
    #[x_kube(validation = kube::core::Rule::new("self.matches('^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$')")
        .message("device name must be a Linux interface name of at most 15 characters, for example eth0"))]
    #[schemars(length(min = 1, max = 15))]
    pub name: String,
    /// VMM VM network to connect the adapter to.
    #[schemars(length(min = 1, max = 256))]
    pub vm_network: String,
    /// VMM VM subnet within the VM network, when it has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub vm_subnet: Option<String>,
    /// Static MAC address. Default: assigned by VMM from its MAC pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self.matches('^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$')")
        .message("macAddress must look like 00:15:5D:01:02:03"))]
    #[schemars(length(max = 17))]
    pub mac_address: Option<String>,
    /// Configure IPv4 by DHCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp4: Option<bool>,
    /// Static addresses in CIDR notation (`10.0.0.10/24`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = kube::core::Rule::new("self.all(a, isCIDR(a))")
        .message("addresses must be in CIDR notation, for example 10.0.0.10/24"))]
    #[schemars(length(max = 16), inner(length(max = 49)))]
    pub addresses: Vec<String>,
    /// IPv4 default gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("isIP(self) && ip(self).family() == 4")
        .message("gateway4 must be an IPv4 address, for example 10.0.0.1"))]
    #[schemars(length(max = 15))]
    pub gateway4: Option<String>,
    /// IPv6 default gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("isIP(self) && ip(self).family() == 6")
        .message("gateway6 must be an IPv6 address, for example fd00::1"))]
    #[schemars(length(max = 45))]
    pub gateway6: Option<String>,
    /// DNS servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = kube::core::Rule::new("self.all(a, isIP(a))")
        .message("nameservers must be IP addresses"))]
    #[schemars(length(max = 8), inner(length(max = 45)))]
    pub nameservers: Vec<String>,
    /// DNS search domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8), inner(length(max = 253)))]
    pub search_domains: Vec<String>,
    /// CAPI IPAM pools to claim one address each from (`IPAddressClaim`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4))]
    pub addresses_from_pools: Vec<TypedLocalObjectReference>,
    /// Name of a VMM static IP address pool to take the address from
    /// (`Grant-SCIPAddress`); it is revoked when the machine is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "scvmmIPPool")]
    #[schemars(length(min = 1, max = 256))]
    pub scvmm_ip_pool: Option<String>,
    /// MTU of the interface in the guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 576, max = 9216))]
    pub mtu: Option<i32>,
}

/// Options passed through to `New-SCVirtualMachine`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VmOptions {
    /// What Hyper-V does with the VM when the host starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_action: Option<StartAction>,
    /// What Hyper-V does with the VM when the host shuts down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_action: Option<StopAction>,
    /// Checkpoint type. Default: Disabled would be the safe choice for
    /// Kubernetes nodes; VMM's own default is Production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_type: Option<CheckpointType>,
    /// Limit CPU features so the VM can live-migrate between host
    /// generations (`New-SCVirtualMachine -CPULimitForMigration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit_for_migration: Option<bool>,
    /// Limit the processor to an older feature set, for very old guests
    /// (`New-SCVirtualMachine -CPULimitFunctionality`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit_functionality: Option<bool>,
    /// Expose virtualization extensions to the guest
    /// (`New-SCVirtualMachine -EnableNestedVirtualization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_nested_virtualization: Option<bool>,
}

/// Hyper-V automatic start action.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum StartAction {
    NeverAutoTurnOnVM,
    AlwaysAutoTurnOnVM,
    TurnOnVMIfRunningWhenVSStopped,
}

/// Hyper-V automatic stop action.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum StopAction {
    ShutdownGuestOS,
    TurnOffVM,
    SaveVM,
}

/// Hyper-V checkpoint type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CheckpointType {
    Disabled,
    Production,
    ProductionOnly,
    Standard,
}

/// How a VM is stopped before removal.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PowerOffMode {
    /// Turn the VM off at once (data in the guest's page cache is lost).
    Hard,
    /// Shut the guest down and wait; never turn it off.
    Soft,
    /// Shut the guest down; turn it off after the timeout.
    TrySoft,
}

/// Observed state of an SCVMM machine.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScvmmMachineStatus {
    /// CAPI v1beta2 initialization: `provisioned` becomes true once the VM
    /// runs with its bootstrap data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization: Option<Initialization>,

    /// Addresses of the machine (host name and guest-reported IPs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<MachineAddress>,

    /// Failure domain the machine was placed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_domain: Option<String>,

    /// Conditions: `Ready` (summary), `VMProvisioned`, `ScvmmAvailable`,
    /// `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// The VM as SCVMM last reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<VmObserved>,

    /// Per adapter: MAC address and addresses reported by the guest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkDeviceStatus>,

    /// Where the cloud-init seed ISO is in its short life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<SeedStatus>,

    /// The SCVMM job currently running on this VM, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRef>,

    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Failed VM creations so far; creation is retried at most 3 times and
    /// only before the machine was ever provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub creation_attempts: Option<i32>,

    /// When the guest was asked to shut down during deletion (the start of
    /// `guestShutdownTimeoutSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_started_at: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
}

/// The VM as SCVMM reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VmObserved {
    /// VM name in SCVMM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// VMM status (`Running`, `PowerOff`, `UnderCreation`, `CreationFailed`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Hyper-V host running the VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Host group of that host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_group: Option<String>,
    /// BIOS GUID of the VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bios_guid: Option<String>,
}

/// Observed state of one network adapter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkDeviceStatus {
    /// Device name from the spec.
    pub name: String,
    /// MAC address assigned by VMM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Addresses the guest reports on this adapter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

/// Life of the cloud-init seed ISO.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedStatus {
    /// File name of the seed in the library share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso_name: Option<String>,
    /// The seed was uploaded to the library share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<bool>,
    /// The seed is attached to the VM's DVD drive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<bool>,
    /// The seed was ejected from the VM after provisioning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ejected: Option<bool>,
}

/// An SCVMM job in flight.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobRef {
    /// SCVMM job ID.
    pub id: String,
    /// What the job does (`Create`, `Start`, `Stop`, `Remove`).
    pub operation: String,
}

/// A template for `ScvmmMachine`, referenced by MachineDeployments,
/// MachineSets and control planes.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "ScvmmMachineTemplate",
    doc = "A template for ScvmmMachines, referenced by MachineDeployments and control planes (CAPI InfraMachineTemplate).",
    namespaced,
    status = "ScvmmMachineTemplateStatus",
    shortname = "scvmmmt",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
    printcolumn(
        name = "CPU",
        type_ = "integer",
        json_path = ".spec.template.spec.cpuCount",
        description = "Virtual processors per machine"
    ),
    printcolumn(
        name = "Memory",
        type_ = "string",
        json_path = ".spec.template.spec.memory",
        description = "Memory per machine"
    ),
    printcolumn(
        name = "Template",
        type_ = "string",
        json_path = ".spec.template.spec.vmTemplate",
        description = "VMM VM template"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("!has(self.template.spec.providerID) && !has(self.template.spec.vmId)")
    .message("a machine template must not set providerID or vmId: they identify one VM and are written by the controller"))]
pub struct ScvmmMachineTemplateSpec {
    /// The ScvmmMachine to create from this template.
    pub template: ScvmmMachineTemplateResource,
}

/// Metadata and spec of the ScvmmMachines a template produces.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScvmmMachineTemplateResource {
    /// Labels and annotations for the created ScvmmMachines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateObjectMeta>,
    /// Spec of the created ScvmmMachines.
    pub spec: ScvmmMachineSpec,
}

/// Observed state of a machine template: what a machine from it offers, so
/// the cluster autoscaler can scale a node group up from zero.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScvmmMachineTemplateStatus {
    /// Resources of one machine (`cpu`, `memory`), as quantities.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, String>,
    /// Node architecture and operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_info: Option<NodeInfo>,
}

/// Node facts for scale-from-zero.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// CPU architecture (`amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Operating system (`linux`, `windows`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<String>,
}
