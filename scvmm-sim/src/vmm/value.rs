//! The generic property view of VMM objects: what PowerShell member access
//! (`$vm.Status`) and `ConvertTo-Json` see.
//!
//! Every object can be turned into an ordered list of (property name, typed
//! value) using VMM's real property names. Values keep their .NET shape
//! (enum number and name, GUID, DateTime, nested object, array) so the
//! interpreter can reproduce Windows PowerShell 5.1 output: enums as numbers,
//! dates as `/Date(ms)/`, depth truncation through each object's display
//! string (`ToString()`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clock::Time;
use super::enums::{ObjectType, VmmEnum};

/// A typed property value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `$null`.
    Null,
    /// `System.Boolean`.
    Bool(bool),
    /// Any .NET integer type.
    Int(i64),
    /// `System.Double`.
    Float(f64),
    /// `System.String`.
    String(String),
    /// `System.Guid`.
    Guid(Uuid),
    /// `System.DateTime` (UTC).
    DateTime(Time),
    /// A .NET enum value.
    Enum(EnumValue),
    /// An object without identity of its own (`ErrorInfo`, an IPv4 subnet,
    /// a custom property value), inline.
    Object(Box<ObjectView>),
    /// A VMM object with identity; resolve it with `Vmm::view`. Resolving
    /// lazily keeps the object graph finite (a host lists its VMs, a VM
    /// names its host) and makes held objects "live", like the VMM client's
    /// object cache.
    Ref(ObjectRef),
    /// A collection (`List<T>`, arrays).
    Array(Vec<Value>),
    /// A dictionary (`CustomProperty`: name → value).
    Dictionary(Vec<(String, Value)>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A string, or `$null` when absent.
    pub fn opt_str(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// An integer.
    pub fn int(n: impl Into<i64>) -> Value {
        Value::Int(n.into())
    }

    /// An enum value.
    pub fn enumeration<E: VmmEnum>(e: E) -> Value {
        Value::Enum(EnumValue::of(e))
    }

    /// A reference, or `$null`.
    pub fn opt_ref(r: Option<ObjectRef>) -> Value {
        r.map_or(Value::Null, Value::Ref)
    }

    /// An array of strings.
    pub fn strings<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
    }

    /// An array of references.
    pub fn refs(items: impl IntoIterator<Item = ObjectRef>) -> Value {
        Value::Array(items.into_iter().map(Value::Ref).collect())
    }
}

/// A .NET enum value: type, number and member name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// Full .NET type name.
    pub type_name: &'static str,
    /// Numeric value.
    pub value: i64,
    /// Member name.
    pub name: String,
}

impl EnumValue {
    /// The value of `e`.
    pub fn of<E: VmmEnum>(e: E) -> Self {
        Self {
            type_name: E::TYPE_NAME,
            value: e.value(),
            name: e.name().to_string(),
        }
    }

    /// A value of an enum the model has no Rust type for (e.g. VMM's
    /// `ErrorCode`, whose numbers are the error ids).
    pub fn raw(type_name: &'static str, value: i64, name: impl Into<String>) -> Self {
        Self {
            type_name,
            value,
            name: name.into(),
        }
    }
}

/// One property of a view.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// VMM's property name.
    pub name: &'static str,
    /// Its value.
    pub value: Value,
}

/// An object as PowerShell sees it: type, `ToString()` text and ordered
/// properties.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectView {
    /// Full .NET type name (first entry of `PSObject.TypeNames`).
    pub type_name: &'static str,
    /// What `ToString()` returns (used by depth truncation and `"$x"`).
    pub display: String,
    /// Properties in VMM's order.
    pub properties: Vec<Property>,
}

impl ObjectView {
    /// An empty view.
    pub fn new(type_name: &'static str, display: impl Into<String>) -> Self {
        Self {
            type_name,
            display: display.into(),
            properties: Vec::new(),
        }
    }

    /// Appends a property (builder style).
    pub fn with(mut self, name: &'static str, value: Value) -> Self {
        self.properties.push(Property { name, value });
        self
    }

    /// Appends a property.
    pub fn push(&mut self, name: &'static str, value: Value) {
        self.properties.push(Property { name, value });
    }

    /// A property by name, case-insensitively (PowerShell member access).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| &p.value)
    }

    /// The property names in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.properties.iter().map(|p| p.name).collect()
    }
}

/// The kinds of VMM objects with identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectKind {
    /// `ServerConnection` (Get-SCVMMServer).
    ServerConnection,
    /// Host group.
    HostGroup,
    /// Hyper-V host.
    Host,
    /// Host cluster.
    HostCluster,
    /// Private cloud.
    Cloud,
    /// VM template.
    Template,
    /// Hardware profile.
    HardwareProfile,
    /// Virtual hard disk (library or VM-attached).
    VirtualHardDisk,
    /// Logical network.
    LogicalNetwork,
    /// VM network.
    VmNetwork,
    /// VM subnet.
    VmSubnet,
    /// Static IP address pool.
    StaticIpPool,
    /// Allocated IP address.
    AllocatedIpAddress,
    /// Library share.
    LibraryShare,
    /// ISO image.
    Iso,
    /// Virtual machine.
    VirtualMachine,
    /// Virtual network adapter.
    VirtualNetworkAdapter,
    /// Virtual DVD drive.
    VirtualDvdDrive,
    /// Virtual disk drive.
    VirtualDiskDrive,
    /// Job (task).
    Job,
    /// Custom property definition.
    CustomProperty,
    /// VM configuration (New-SCVMConfiguration).
    VmConfiguration,
    /// Storage fabric classification.
    StorageFabricClassification,
    /// A host's virtual Fibre Channel SAN.
    FibreChannelSan,
    /// Virtual Fibre Channel adapter.
    VirtualFibreChannelAdapter,
}

impl ObjectKind {
    /// The .NET type name VMM's module gives objects of this kind.
    pub fn type_name(self) -> &'static str {
        match self {
            ObjectKind::ServerConnection => {
                "Microsoft.SystemCenter.VirtualMachineManager.Remoting.ServerConnection"
            }
            ObjectKind::HostGroup => "Microsoft.SystemCenter.VirtualMachineManager.HostGroup",
            ObjectKind::Host => "Microsoft.SystemCenter.VirtualMachineManager.Host",
            ObjectKind::HostCluster => "Microsoft.SystemCenter.VirtualMachineManager.HostCluster",
            ObjectKind::Cloud => "Microsoft.SystemCenter.VirtualMachineManager.Cloud",
            ObjectKind::Template => "Microsoft.SystemCenter.VirtualMachineManager.Template",
            ObjectKind::HardwareProfile => {
                "Microsoft.SystemCenter.VirtualMachineManager.HardwareProfile"
            }
            ObjectKind::VirtualHardDisk => {
                "Microsoft.SystemCenter.VirtualMachineManager.VirtualHardDisk"
            }
            ObjectKind::LogicalNetwork => {
                "Microsoft.SystemCenter.VirtualMachineManager.LogicalNetwork"
            }
            ObjectKind::VmNetwork => "Microsoft.SystemCenter.VirtualMachineManager.VMNetwork",
            ObjectKind::VmSubnet => "Microsoft.SystemCenter.VirtualMachineManager.VMSubnet",
            ObjectKind::StaticIpPool => {
                "Microsoft.SystemCenter.VirtualMachineManager.StaticIPAddressPool"
            }
            ObjectKind::AllocatedIpAddress => {
                "Microsoft.SystemCenter.VirtualMachineManager.AllocatedIPAddress"
            }
            ObjectKind::LibraryShare => "Microsoft.SystemCenter.VirtualMachineManager.LibraryShare",
            ObjectKind::Iso => "Microsoft.SystemCenter.VirtualMachineManager.ISO",
            ObjectKind::VirtualMachine => "Microsoft.SystemCenter.VirtualMachineManager.VM",
            ObjectKind::VirtualNetworkAdapter => {
                "Microsoft.SystemCenter.VirtualMachineManager.VirtualNetworkAdapter"
            }
            ObjectKind::VirtualDvdDrive => {
                "Microsoft.SystemCenter.VirtualMachineManager.VirtualDVDDrive"
            }
            ObjectKind::VirtualDiskDrive => {
                "Microsoft.SystemCenter.VirtualMachineManager.VirtualDiskDrive"
            }
            ObjectKind::Job => "Microsoft.SystemCenter.VirtualMachineManager.Task",
            ObjectKind::CustomProperty => {
                "Microsoft.SystemCenter.VirtualMachineManager.CustomProperty"
            }
            ObjectKind::VmConfiguration => {
                "Microsoft.SystemCenter.VirtualMachineManager.BaseVMConfiguration"
            }
            ObjectKind::StorageFabricClassification => {
                "Microsoft.SystemCenter.VirtualMachineManager.StorageFabricClassification"
            }
            ObjectKind::FibreChannelSan => {
                "Microsoft.SystemCenter.VirtualMachineManager.HostFibreChannelVirtualSAN"
            }
            ObjectKind::VirtualFibreChannelAdapter => {
                "Microsoft.SystemCenter.VirtualMachineManager.VirtualFibreChannelAdapter"
            }
        }
    }

    /// `ObjectType` of objects of this kind.
    pub fn object_type(self) -> ObjectType {
        match self {
            ObjectKind::ServerConnection => ObjectType::VMMManagedComputer,
            ObjectKind::HostGroup => ObjectType::VMHostGroup,
            ObjectKind::Host => ObjectType::VMHost,
            ObjectKind::HostCluster => ObjectType::HostCluster,
            ObjectKind::Cloud => ObjectType::Cloud,
            ObjectKind::Template => ObjectType::Template,
            ObjectKind::HardwareProfile => ObjectType::HardwareProfile,
            ObjectKind::VirtualHardDisk => ObjectType::VirtualHardDisk,
            ObjectKind::LogicalNetwork => ObjectType::LogicalNetwork,
            ObjectKind::VmNetwork => ObjectType::VMNetwork,
            ObjectKind::VmSubnet => ObjectType::VMSubnet,
            ObjectKind::StaticIpPool => ObjectType::StaticIPAddressPool,
            ObjectKind::AllocatedIpAddress => ObjectType::AllocatedIPAddress,
            ObjectKind::LibraryShare => ObjectType::LibraryShare,
            ObjectKind::Iso => ObjectType::ISO,
            ObjectKind::VirtualMachine => ObjectType::VM,
            ObjectKind::VirtualNetworkAdapter => ObjectType::VirtualNetworkAdapter,
            ObjectKind::VirtualDvdDrive => ObjectType::VirtualDVDDrive,
            ObjectKind::VirtualDiskDrive => ObjectType::VirtualDiskDrive,
            ObjectKind::Job => ObjectType::Job,
            ObjectKind::CustomProperty => ObjectType::CustomProperty,
            ObjectKind::VmConfiguration => ObjectType::VMConfiguration,
            ObjectKind::StorageFabricClassification => ObjectType::StorageFabricClassification,
            ObjectKind::FibreChannelSan => ObjectType::HostFibreChannelVirtualSAN,
            ObjectKind::VirtualFibreChannelAdapter => ObjectType::VirtualFibreChannelAdapter,
        }
    }

    /// The name VMM uses for this kind in messages ("VirtualMachine", ...).
    pub fn display_name(self) -> &'static str {
        match self {
            ObjectKind::ServerConnection => "ServerConnection",
            ObjectKind::HostGroup => "VMHostGroup",
            ObjectKind::Host => "VMHost",
            ObjectKind::HostCluster => "VMHostCluster",
            ObjectKind::Cloud => "Cloud",
            ObjectKind::Template => "VMTemplate",
            ObjectKind::HardwareProfile => "HardwareProfile",
            ObjectKind::VirtualHardDisk => "VirtualHardDisk",
            ObjectKind::LogicalNetwork => "LogicalNetwork",
            ObjectKind::VmNetwork => "VMNetwork",
            ObjectKind::VmSubnet => "VMSubnet",
            ObjectKind::StaticIpPool => "StaticIPAddressPool",
            ObjectKind::AllocatedIpAddress => "AllocatedIPAddress",
            ObjectKind::LibraryShare => "LibraryShare",
            ObjectKind::Iso => "ISO",
            ObjectKind::VirtualMachine => "VirtualMachine",
            ObjectKind::VirtualNetworkAdapter => "VirtualNetworkAdapter",
            ObjectKind::VirtualDvdDrive => "VirtualDVDDrive",
            ObjectKind::VirtualDiskDrive => "VirtualDiskDrive",
            ObjectKind::Job => "Job",
            ObjectKind::CustomProperty => "CustomProperty",
            ObjectKind::VmConfiguration => "VMConfiguration",
            ObjectKind::StorageFabricClassification => "StorageFabricClassification",
            ObjectKind::FibreChannelSan => "HostFibreChannelVirtualSAN",
            ObjectKind::VirtualFibreChannelAdapter => "VirtualFibreChannelAdapter",
        }
    }
}

/// A reference to a VMM object with identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// What kind of object.
    pub kind: ObjectKind,
    /// Its VMM id.
    pub id: Uuid,
}

impl ObjectRef {
    /// A reference to object `id` of `kind`.
    pub fn new(kind: ObjectKind, id: Uuid) -> Self {
        Self { kind, id }
    }
}
