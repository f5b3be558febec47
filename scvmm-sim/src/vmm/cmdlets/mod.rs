//! The cmdlet families as typed methods on [`Vmm`]: request structs in,
//! VMM objects or a [`VmmError`] out.
//!
//! Conventions shared by every family:
//! - Object parameters are [`Ref`]s: an object (its id) or a name string,
//!   which VMM's parameter binding resolves (reference §1.1). No match is
//!   801; an ambiguous name is 12416.
//! - `-Name` filters of Get cmdlets are PowerShell wildcards
//!   (`Behaviour::name_matching`).
//! - Mutating cmdlets return [`Submitted`]: the object in its transitional
//!   state and the job. `-RunAsynchronously` returns that; blocking mode
//!   calls [`Vmm::wait_for_job`] and then reads the object again.
//! - Every call first settles the model (completes due jobs).

use std::time::Duration;

use uuid::Uuid;

use super::Vmm;
use super::config::NameMatching;
use super::errors::{VmmError, VmmResult};
use super::faults::Injected;
use super::inventory::same_name;
use super::objects::{
    AllocatedIpAddress, Cloud, CustomPropertyDef, DiskDrive, DvdDrive, HardwareProfile, Host,
    HostCluster, HostGroup, Iso, Job, LibraryShare, LogicalNetwork, NetworkAdapter, ServerInfo,
    StaticIpPool, Template, VirtualHardDisk, Vm, VmConfiguration, VmNetwork, VmSubnet,
};
use super::objects::{FibreChannelSan, StorageFabricClassification};
use super::value::{ObjectKind, ObjectRef};
use super::wildcard::like;

pub mod configuration;
pub mod custom_property;
pub mod devices;
pub mod ip;
pub mod library;
pub mod query;
pub mod server;
pub mod vm;

pub use configuration::{NewVmConfiguration, SetVmConfiguration};
pub use custom_property::{CustomPropertyValue, NewCustomProperty, SetCustomPropertyValue};
pub use devices::{
    AdapterTarget, DeviceTarget, DiskSourceRequest, DvdMediaRequest, DvdTarget, ExpandDisk,
    NewDiskDrive, NewDvdDrive, NewFibreChannelAdapter, NewHardwareProfile, NewNetworkAdapter,
    SetDiskDrive, SetDvdDrive, SetNetworkAdapter,
};
pub use ip::{GrantIp, IpQuery, RevokeIp};
pub use library::{ReadLibraryShare, RemoveIso};
pub use query::{
    AdapterQuery, HostQuery, IpPoolQuery, JobQuery, NameId, VhdQuery, VmNetworkQuery, VmQuery,
    VmSubnetQuery,
};
pub use server::{GetVmmServer, ServerConnection};
pub use vm::{NewVm, RepairVm, SetVm, StopMode, StopVm, VmSource};

/// An object parameter: an object already in hand (its id), or a name
/// that VMM resolves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ref {
    /// By id (an object, or `-ID`).
    Id(Uuid),
    /// By name (a string where an object is expected).
    Name(String),
}

impl From<Uuid> for Ref {
    fn from(id: Uuid) -> Self {
        Ref::Id(id)
    }
}

impl From<&str> for Ref {
    fn from(name: &str) -> Self {
        Ref::Name(name.to_string())
    }
}

impl From<String> for Ref {
    fn from(name: String) -> Self {
        Ref::Name(name)
    }
}

impl From<ObjectRef> for Ref {
    fn from(r: ObjectRef) -> Self {
        Ref::Id(r.id)
    }
}

/// The result of a mutating cmdlet: the object as it is right after
/// submission, and the job (`-JobVariable`), if one was created.
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted<T> {
    /// The object.
    pub object: T,
    /// The job.
    pub job: Option<Job>,
}

/// A device with the VM it belongs to (its views need the VM).
#[derive(Clone, Debug, PartialEq)]
pub struct Device<T> {
    /// The VM.
    pub vm: Uuid,
    /// The device.
    pub device: T,
}

/// Anything a cmdlet returns that has a VMM identity.
pub trait VmmObject {
    /// The reference to pass to [`Vmm::view`].
    fn object_ref(&self) -> ObjectRef;
}

macro_rules! vmm_object {
    ($($t:ty => $kind:ident),+ $(,)?) => {
        $(impl VmmObject for $t {
            fn object_ref(&self) -> ObjectRef {
                ObjectRef::new(ObjectKind::$kind, self.id)
            }
        })+
    };
}

vmm_object! {
    Vm => VirtualMachine,
    Host => Host,
    HostGroup => HostGroup,
    HostCluster => HostCluster,
    Cloud => Cloud,
    Template => Template,
    HardwareProfile => HardwareProfile,
    VirtualHardDisk => VirtualHardDisk,
    LogicalNetwork => LogicalNetwork,
    VmNetwork => VmNetwork,
    VmSubnet => VmSubnet,
    StaticIpPool => StaticIpPool,
    AllocatedIpAddress => AllocatedIpAddress,
    LibraryShare => LibraryShare,
    Iso => Iso,
    Job => Job,
    CustomPropertyDef => CustomProperty,
    VmConfiguration => VmConfiguration,
    ServerInfo => ServerConnection,
    StorageFabricClassification => StorageFabricClassification,
    FibreChannelSan => FibreChannelSan,
}

impl VmmObject for Device<NetworkAdapter> {
    fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(ObjectKind::VirtualNetworkAdapter, self.device.id)
    }
}

impl VmmObject for Device<DvdDrive> {
    fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(ObjectKind::VirtualDvdDrive, self.device.id)
    }
}

impl VmmObject for Device<DiskDrive> {
    fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(ObjectKind::VirtualDiskDrive, self.device.id)
    }
}

impl<T: VmmObject> VmmObject for Submitted<T> {
    fn object_ref(&self) -> ObjectRef {
        self.object.object_ref()
    }
}

/// Picks the one candidate `r` names: by id, or by (case-insensitive,
/// exact) name. VMM's binder does the same for strings given where an
/// object is expected \[INF\].
fn pick(
    r: &Ref,
    kind: ObjectKind,
    cmdlet: &str,
    candidates: impl Iterator<Item = (Uuid, Vec<String>)>,
) -> VmmResult<Uuid> {
    match r {
        Ref::Id(id) => candidates
            .map(|(c, _)| c)
            .find(|c| c == id)
            .ok_or_else(|| VmmError::not_found(kind.display_name(), &id.to_string())),
        Ref::Name(name) => {
            let found: Vec<Uuid> = candidates
                .filter(|(_, names)| names.iter().any(|n| same_name(n, name)))
                .map(|(c, _)| c)
                .collect();
            match found.as_slice() {
                [one] => Ok(*one),
                [] => Err(VmmError::not_found(kind.display_name(), name)),
                many => Err(VmmError::invalid_parameter(
                    cmdlet,
                    &format!(
                        "Cannot bind parameter. The name '{name}' matches {} {} objects; pass the object instead.",
                        many.len(),
                        kind.display_name()
                    ),
                )),
            }
        }
    }
}

impl Vmm {
    /// Whether `name` passes a `-Name` filter.
    pub fn name_matches(&self, name: &str, pattern: &str) -> bool {
        match self.behaviour.name_matching {
            NameMatching::Wildcard => like(name, pattern),
            NameMatching::Exact => same_name(name, pattern),
        }
    }

    /// Applies fault rules for `cmdlet` on `object`: fails now for an
    /// `Error` effect, puts `host` into maintenance for `HostMaintenance`,
    /// and returns what the job should carry.
    pub(crate) fn inject(
        &mut self,
        cmdlet: &str,
        object: &str,
        host: Option<Uuid>,
    ) -> VmmResult<Injected> {
        let injected = self.faults.check(cmdlet, object);
        if injected.host_maintenance
            && let Some(h) = host.and_then(|h| self.inventory.host_mut(h))
        {
            h.maintenance = true;
        }
        match injected.error.clone() {
            Some(e) => Err(e),
            None => Ok(injected),
        }
    }

    /// The owner recorded on objects and jobs when a request names none.
    pub(crate) fn default_owner(&self) -> String {
        self.inventory
            .users
            .first()
            .map_or_else(|| "CONTOSO\\Administrator".to_string(), |u| u.name.clone())
    }

    /// Resolves a VM.
    pub fn resolve_vm(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::VirtualMachine,
            cmdlet,
            self.state.vms.iter().map(|v| (v.id, vec![v.name.clone()])),
        )
    }

    /// Resolves a host (FQDN or computer name).
    pub fn resolve_host(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::Host,
            cmdlet,
            self.inventory
                .hosts
                .iter()
                .map(|h| (h.id, vec![h.name.clone(), h.computer_name().to_string()])),
        )
    }

    /// Resolves a host group (path or name; names may be ambiguous).
    pub fn resolve_host_group(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        if let Ref::Name(n) = r
            && let Some(g) = self.inventory.host_group_by_path(n)
        {
            return Ok(g.id);
        }
        pick(
            r,
            ObjectKind::HostGroup,
            cmdlet,
            self.inventory
                .host_groups
                .iter()
                .map(|g| (g.id, vec![g.name().to_string()])),
        )
    }

    /// Resolves a cloud.
    pub fn resolve_cloud(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::Cloud,
            cmdlet,
            self.inventory
                .clouds
                .iter()
                .map(|c| (c.id, vec![c.name.clone()])),
        )
    }

    /// Resolves a VM template.
    pub fn resolve_template(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::Template,
            cmdlet,
            self.inventory
                .templates
                .iter()
                .map(|t| (t.id, vec![t.name.clone()])),
        )
    }

    /// Resolves a hardware profile.
    pub fn resolve_hardware_profile(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::HardwareProfile,
            cmdlet,
            self.inventory
                .hardware_profiles
                .iter()
                .map(|p| (p.id, vec![p.name.clone()])),
        )
    }

    /// Resolves a library VHD.
    pub fn resolve_vhd(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::VirtualHardDisk,
            cmdlet,
            self.inventory
                .vhds
                .iter()
                .map(|v| (v.id, vec![v.name.clone(), v.location.clone()])),
        )
    }

    /// Resolves a logical network.
    pub fn resolve_logical_network(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::LogicalNetwork,
            cmdlet,
            self.inventory
                .logical_networks
                .iter()
                .map(|n| (n.id, vec![n.name.clone()])),
        )
    }

    /// Resolves a VM network.
    pub fn resolve_vm_network(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::VmNetwork,
            cmdlet,
            self.inventory
                .vm_networks
                .iter()
                .map(|n| (n.id, vec![n.name.clone()])),
        )
    }

    /// Resolves a VM subnet.
    pub fn resolve_vm_subnet(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::VmSubnet,
            cmdlet,
            self.inventory
                .vm_subnets
                .iter()
                .map(|s| (s.id, vec![s.name.clone()])),
        )
    }

    /// Resolves a static IP pool.
    pub fn resolve_ip_pool(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::StaticIpPool,
            cmdlet,
            self.inventory
                .ip_pools
                .iter()
                .map(|p| (p.id, vec![p.name.clone()])),
        )
    }

    /// Resolves a library share (name or UNC path).
    pub fn resolve_share(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::LibraryShare,
            cmdlet,
            self.inventory
                .library_shares
                .iter()
                .map(|s| (s.id, vec![s.name.clone(), s.path.clone()])),
        )
    }

    /// Resolves an ISO (name or share path).
    pub fn resolve_iso(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::Iso,
            cmdlet,
            self.state
                .isos
                .iter()
                .map(|i| (i.id, vec![i.name.clone(), i.share_path.clone()])),
        )
    }

    /// Resolves a custom property definition.
    pub fn resolve_custom_property(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::CustomProperty,
            cmdlet,
            self.inventory
                .custom_properties
                .iter()
                .map(|c| (c.id, vec![c.name.clone()])),
        )
    }

    /// Resolves a VM configuration.
    pub fn resolve_configuration(&self, r: &Ref, cmdlet: &str) -> VmmResult<Uuid> {
        pick(
            r,
            ObjectKind::VmConfiguration,
            cmdlet,
            self.state
                .configurations
                .iter()
                .map(|c| (c.id, vec![c.name.clone()])),
        )
    }

    /// The VM and adapter for an adapter id.
    pub(crate) fn find_adapter(&self, id: Uuid) -> VmmResult<(Uuid, NetworkAdapter)> {
        self.state
            .vms
            .iter()
            .find_map(|v| {
                v.adapters
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| (v.id, a.clone()))
            })
            .ok_or_else(|| VmmError::not_found("VirtualNetworkAdapter", &id.to_string()))
    }

    /// Scaled job duration helper for cmdlets.
    pub(crate) fn job_duration(&mut self, op: super::config::Op, injected: &Injected) -> Duration {
        self.op_duration(op, injected.delay)
    }
}
