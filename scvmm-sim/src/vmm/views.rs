//! Property views of every object kind, with VMM's property names
//! (reference §2, §4.2, §6). Views are built on demand from the model, so
//! a held reference always shows the current state, like the VMM client's
//! object cache. Removed VMs still resolve (from tombstones) with
//! `MarkedForDeletion`.

use uuid::Uuid;

use super::Vmm;
use super::cmdlets::{CustomPropertyValue, ServerConnection};
use super::enums::{
    AdapterType, AddressFamily, CommunicationState, DvdConnection, HostOverallState, JobStatus,
    TaskUiState, VmState, VmmEnum,
};
use super::errors::VmmError;
use super::inventory::same_name;
use super::objects::library::{file_name, parent_dir};
use super::objects::{
    Cidr, CustomPropertyDef, DiskDrive, DvdDrive, FibreChannelAdapter, FibreChannelSan,
    HardwareProfile, Host, HostGroup, Iso, Job, NetworkAdapter, StaticIpPool, Template,
    VirtualHardDisk, Vm, path_is_under,
};
use super::value::{EnumValue, ObjectKind, ObjectRef, ObjectView, Value};

/// `State` of library objects and templates: always "Normal" here.
fn normal_state() -> Value {
    Value::Enum(EnumValue::raw(
        "Microsoft.VirtualManager.Utils.ObjectState",
        0,
        "Normal",
    ))
}

/// The start of every view: identity and `ObjectType`.
fn base(kind: ObjectKind, id: Uuid, name: &str, description: &str) -> ObjectView {
    ObjectView::new(kind.type_name(), name)
        .with("ID", Value::Guid(id))
        .with("Name", Value::str(name))
        .with("Description", Value::str(description))
        .with("ObjectType", Value::enumeration(kind.object_type()))
}

fn dictionary(map: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Dictionary(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect(),
    )
}

fn operating_system(name: &str) -> Value {
    if name.is_empty() {
        return Value::Null;
    }
    Value::Object(Box::new(
        ObjectView::new(
            "Microsoft.SystemCenter.VirtualMachineManager.OperatingSystem",
            name,
        )
        .with("Name", Value::str(name))
        .with("Description", Value::str(name)),
    ))
}

/// `ErrorInfo` of a job: success, or the job's error.
pub fn error_info(error: Option<&VmmError>) -> ObjectView {
    let (code, id, problem, action, success, terminating) = match error {
        None => (
            "Success".to_string(),
            0,
            String::new(),
            String::new(),
            true,
            false,
        ),
        Some(e) => (
            e.code.clone(),
            e.id,
            e.problem.clone(),
            e.recommended_action.clone(),
            false,
            e.terminating,
        ),
    };
    ObjectView::new(
        "Microsoft.VirtualManager.Utils.ErrorInfo",
        format!("{code} ({id})"),
    )
    .with(
        "Code",
        Value::Enum(EnumValue::raw(
            "Microsoft.VirtualManager.Utils.ErrorCode",
            i64::from(id),
            code.clone(),
        )),
    )
    .with("DisplayableErrorCode", Value::int(id))
    .with("ErrorCodeString", Value::str(id.to_string()))
    .with(
        "ErrorType",
        Value::str(if success { "Success" } else { "Error" }),
    )
    .with("Problem", Value::str(problem.clone()))
    .with("CloudProblem", Value::str(problem.clone()))
    .with("RecommendedAction", Value::str(action.clone()))
    .with("RecommendedActionCLI", Value::str(""))
    .with("DetailedCode", Value::int(0))
    .with("DetailedSource", Value::str("None"))
    .with("DetailedErrorCode", Value::str(""))
    .with("ExceptionDetails", Value::str(""))
    .with("MessageParameters", Value::Dictionary(Vec::new()))
    .with("IsSuccess", Value::Bool(success))
    .with("IsTerminating", Value::Bool(terminating))
    .with("IsConditionallyTerminating", Value::Bool(false))
    .with("IsDeploymentBlocker", Value::Bool(false))
    .with("ShowDetailedError", Value::Bool(false))
    .with("IsMomAlert", Value::Bool(false))
    .with(
        "CSMMessageString",
        Value::str(format!(
            "Error Code : {code} ; Message : {problem} ; Recommended Action : {action}"
        )),
    )
}

impl Vmm {
    /// The property view of an object, or `None` if it does not exist
    /// (removed VMs still resolve). Call after the model has settled (any
    /// operation does that) for up-to-date job progress.
    pub fn view(&self, r: ObjectRef) -> Option<ObjectView> {
        let id = r.id;
        let inv = &self.inventory;
        match r.kind {
            ObjectKind::ServerConnection => Some(self.server_view(None)),
            ObjectKind::HostGroup => inv.host_group(id).map(|g| self.host_group_view(g)),
            ObjectKind::Host => inv.host(id).map(|h| self.host_view(h)),
            ObjectKind::HostCluster => inv
                .host_clusters
                .iter()
                .find(|c| c.id == id)
                .map(|c| self.host_cluster_view(c)),
            ObjectKind::Cloud => inv.cloud(id).map(|c| self.cloud_view(c)),
            ObjectKind::Template => inv.template(id).map(|t| self.template_view(t)),
            ObjectKind::HardwareProfile => inv
                .hardware_profiles
                .iter()
                .find(|p| p.id == id)
                .map(|p| self.hardware_profile_view(p)),
            ObjectKind::VirtualHardDisk => self.find_vhd(id).map(|v| self.vhd_view(v)),
            ObjectKind::LogicalNetwork => inv
                .logical_networks
                .iter()
                .find(|n| n.id == id)
                .map(|n| self.logical_network_view(n)),
            ObjectKind::VmNetwork => inv.vm_network(id).map(|n| self.vm_network_view(n)),
            ObjectKind::VmSubnet => inv.vm_subnet(id).map(|s| self.vm_subnet_view(s)),
            ObjectKind::StaticIpPool => inv.ip_pool(id).map(|p| self.ip_pool_view(p)),
            ObjectKind::AllocatedIpAddress => self
                .state
                .allocations
                .iter()
                .find(|a| a.id == id)
                .map(|a| self.allocation_view(a)),
            ObjectKind::LibraryShare => inv.share(id).map(|s| self.share_view(s)),
            ObjectKind::Iso => self.state.iso(id).map(|i| self.iso_view(i)),
            ObjectKind::VirtualMachine => self.any_vm(id).map(|v| self.vm_view(v)),
            ObjectKind::VirtualNetworkAdapter => self.all_vms().find_map(|v| {
                v.adapters
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| self.adapter_view(v, a))
            }),
            ObjectKind::VirtualDvdDrive => self.all_vms().find_map(|v| {
                v.dvd_drives
                    .iter()
                    .find(|d| d.id == id)
                    .map(|d| self.dvd_view(v, d))
            }),
            ObjectKind::VirtualDiskDrive => self.all_vms().find_map(|v| {
                v.disks
                    .iter()
                    .find(|d| d.id == id)
                    .map(|d| self.disk_drive_view(v, d))
            }),
            ObjectKind::Job => self.state.job(id).map(|j| self.job_view(j)),
            ObjectKind::CustomProperty => inv
                .custom_properties
                .iter()
                .find(|c| c.id == id)
                .map(custom_property_view),
            ObjectKind::VmConfiguration => self
                .state
                .configurations
                .iter()
                .find(|c| c.id == id)
                .map(|c| self.configuration_view(c)),
            ObjectKind::StorageFabricClassification => inv
                .storage_fabric_classifications
                .iter()
                .find(|c| c.id == id)
                .map(|c| {
                    base(
                        ObjectKind::StorageFabricClassification,
                        c.id,
                        &c.name,
                        &c.description,
                    )
                    .with("ServerConnection", self.server_ref())
                }),
            ObjectKind::FibreChannelSan => inv
                .fibre_channel_sans
                .iter()
                .find(|s| s.id == id)
                .map(|s| self.fibre_channel_san_view(s)),
            ObjectKind::VirtualFibreChannelAdapter => self.all_vms().find_map(|v| {
                v.fibre_channel_adapters
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| self.fibre_channel_adapter_view(v, a))
            }),
        }
    }

    /// Live VMs, then tombstones.
    fn all_vms(&self) -> impl Iterator<Item = &Vm> {
        self.state
            .vms
            .iter()
            .chain(self.state.removed_vms.iter().rev())
    }

    fn any_vm(&self, id: Uuid) -> Option<&Vm> {
        self.all_vms().find(|v| v.id == id)
    }

    fn find_vhd(&self, id: Uuid) -> Option<&VirtualHardDisk> {
        self.inventory.vhd(id).or_else(|| {
            self.all_vms()
                .flat_map(|v| v.disks.iter())
                .map(|d| &d.vhd)
                .find(|v| v.id == id)
        })
    }

    fn server_ref(&self) -> Value {
        Value::Ref(ObjectRef::new(
            ObjectKind::ServerConnection,
            self.inventory.server.id,
        ))
    }

    /// The `ServerConnection` view (with the connected user, if known).
    pub fn server_view(&self, connection: Option<&ServerConnection>) -> ObjectView {
        let s = &self.inventory.server;
        let (user, role, role_name) = match connection {
            Some(c) => (c.user.clone(), c.role, c.role_name.clone()),
            None => {
                let u = self.inventory.users.first();
                (
                    u.map(|u| u.name.clone()).unwrap_or_default(),
                    u.map_or(super::enums::UserRoleProfile::Administrator, |u| u.role),
                    u.map_or_else(|| "Administrator".to_string(), |u| u.role_name.clone()),
                )
            }
        };
        ObjectView::new(ObjectKind::ServerConnection.type_name(), s.name.clone())
            .with("Name", Value::str(&s.name))
            .with("FullyQualifiedDomainName", Value::str(&s.name))
            .with("FQDN", Value::str(&s.name))
            .with("Port", Value::int(s.port))
            .with("IsConnected", Value::Bool(true))
            .with("ServerInterfaceVersion", Value::str("2.1.0"))
            .with("ProductVersion", Value::str(&s.product_version))
            .with("UserRole", Value::str(role_name))
            .with(
                "UserRoleId",
                Value::Guid(super::ids::stable_id("userrole", role.name())),
            )
            .with("Profile", Value::enumeration(role))
            .with("ConnectedUserName", Value::str(user))
            .with(
                "ManagedComputer",
                Value::Object(Box::new(
                    ObjectView::new(
                        "Microsoft.SystemCenter.VirtualMachineManager.VMMManagedComputer",
                        s.name.clone(),
                    )
                    .with("ID", Value::Guid(s.id))
                    .with("Name", Value::str(&s.name)),
                )),
            )
            .with("LibraryRefresherEnabled", Value::Bool(true))
            .with(
                "LibraryRefresherFrequency",
                Value::int(s.library_refresher_frequency_hours),
            )
            .with("DatabaseServerName", Value::str(&s.database_server_name))
            .with("DatabaseName", Value::str("VirtualManagerDB"))
            .with("VMConnectDefaultPort", Value::int(2179))
            .with("IsHighlyAvailable", Value::Bool(false))
            .with("LicenseType", Value::str("Retail"))
    }

    fn host_group_view(&self, g: &HostGroup) -> ObjectView {
        let inv = &self.inventory;
        let parent = g
            .parent_path()
            .and_then(|p| inv.host_group_by_path(p))
            .map(|p| ObjectRef::new(ObjectKind::HostGroup, p.id));
        let direct_hosts = inv
            .hosts
            .iter()
            .filter(|h| same_name(&h.host_group, &g.path))
            .map(|h| ObjectRef::new(ObjectKind::Host, h.id));
        let all_hosts = inv
            .hosts_under(&g.path)
            .map(|h| ObjectRef::new(ObjectKind::Host, h.id));
        let children = inv
            .host_groups
            .iter()
            .filter(|c| c.parent_path().is_some_and(|p| same_name(p, &g.path)))
            .map(|c| ObjectRef::new(ObjectKind::HostGroup, c.id));
        let all_children = inv
            .host_groups
            .iter()
            .filter(|c| c.id != g.id && path_is_under(&c.path, &g.path))
            .map(|c| ObjectRef::new(ObjectKind::HostGroup, c.id));
        let clusters = inv
            .host_clusters
            .iter()
            .filter(|c| path_is_under(&c.host_group, &g.path))
            .map(|c| ObjectRef::new(ObjectKind::HostCluster, c.id));
        base(ObjectKind::HostGroup, g.id, g.name(), &g.description)
            .with("Path", Value::str(&g.path))
            .with("ParentHostGroup", Value::opt_ref(parent))
            .with("IsRoot", Value::Bool(g.is_root()))
            .with("Hosts", Value::refs(direct_hosts))
            .with("AllChildHosts", Value::refs(all_hosts))
            .with("ChildGroups", Value::refs(children))
            .with("AllChildGroups", Value::refs(all_children))
            .with("AllChildClusters", Value::refs(clusters))
            .with("CustomProperty", dictionary(&g.custom_properties))
            .with("MarkedForDeletion", Value::Bool(false))
            .with("ServerConnection", self.server_ref())
    }

    fn host_view(&self, h: &Host) -> ObjectView {
        let available = h
            .memory_mb
            .saturating_sub(h.reserve_memory_mb)
            .saturating_sub(
                self.state
                    .vms
                    .iter()
                    .filter(|v| v.host == Some(h.id) && v.power == VmState::Running)
                    .map(|v| v.memory_mb)
                    .sum(),
            );
        let used_storage: u64 = self
            .state
            .vms
            .iter()
            .filter(|v| v.host == Some(h.id))
            .map(Vm::total_size)
            .sum();
        let total_storage = h.storage_gb * 1024 * 1024 * 1024;
        let cluster = h
            .cluster
            .as_deref()
            .and_then(|c| self.inventory.host_cluster_by_name(c))
            .map(|c| ObjectRef::new(ObjectKind::HostCluster, c.id));
        let overall = if h.maintenance {
            HostOverallState::MaintenanceMode
        } else if !h.responding {
            HostOverallState::NotResponding
        } else {
            HostOverallState::OK
        };
        let vms = self
            .state
            .vms
            .iter()
            .filter(|v| v.host == Some(h.id))
            .map(|v| ObjectRef::new(ObjectKind::VirtualMachine, v.id));
        base(ObjectKind::Host, h.id, &h.name, &h.description)
            .with("ComputerName", Value::str(h.computer_name()))
            .with("FullyQualifiedDomainName", Value::str(&h.name))
            .with("VMHostGroup", Value::str(&h.host_group))
            .with("HostCluster", Value::opt_ref(cluster))
            .with("OverallState", Value::enumeration(overall))
            .with(
                "CommunicationState",
                Value::enumeration(if h.responding {
                    CommunicationState::Responding
                } else {
                    CommunicationState::NotResponding
                }),
            )
            .with(
                "ComputerState",
                Value::str(if h.responding {
                    "Responding"
                } else {
                    "NotResponding"
                }),
            )
            .with("HyperVState", Value::str("Running"))
            .with(
                "AvailableForPlacement",
                Value::Bool(h.available_for_placement && !h.maintenance && h.responding),
            )
            .with("MaintenanceHost", Value::Bool(h.maintenance))
            .with("VMPaths", Value::strings(h.vm_paths.iter().cloned()))
            .with(
                "TotalMemory",
                Value::Int(i64::try_from(h.memory_mb * 1024 * 1024).unwrap_or(i64::MAX)),
            )
            .with(
                "AvailableMemory",
                Value::Int(i64::try_from(available).unwrap_or(i64::MAX)),
            )
            .with("LogicalProcessorCount", Value::int(h.logical_processors))
            .with("CoresPerCPU", Value::int(h.cores_per_cpu))
            .with(
                "TotalStorageCapacity",
                Value::Int(i64::try_from(total_storage).unwrap_or(i64::MAX)),
            )
            .with(
                "AvailableStorageCapacity",
                Value::Int(i64::try_from(total_storage.saturating_sub(used_storage)).unwrap_or(0)),
            )
            .with("LiveMigrationMaximum", Value::int(2))
            .with("LiveStorageMigrationMaximum", Value::int(2))
            .with("OperatingSystem", operating_system(&h.operating_system))
            .with("VMs", Value::refs(vms))
            .with("CustomProperty", dictionary(&h.custom_properties))
            .with("MostRecentTask", Value::Null)
            .with("MarkedForDeletion", Value::Bool(false))
            .with("ServerConnection", self.server_ref())
    }

    fn host_cluster_view(&self, c: &super::objects::HostCluster) -> ObjectView {
        let group = self
            .inventory
            .host_group_by_path(&c.host_group)
            .map(|g| ObjectRef::new(ObjectKind::HostGroup, g.id));
        let nodes = self
            .inventory
            .hosts
            .iter()
            .filter(|h| h.cluster.as_deref().is_some_and(|n| same_name(n, &c.name)))
            .map(|h| ObjectRef::new(ObjectKind::Host, h.id));
        base(ObjectKind::HostCluster, c.id, &c.name, &c.description)
            .with("ClusterName", Value::str(&c.name))
            .with("HostGroup", Value::opt_ref(group))
            .with("Nodes", Value::refs(nodes))
            .with(
                "SharedVolumes",
                Value::strings(c.shared_volumes.iter().cloned()),
            )
            .with("ServerConnection", self.server_ref())
    }

    fn cloud_view(&self, c: &super::objects::Cloud) -> ObjectView {
        let groups = c
            .host_groups
            .iter()
            .filter_map(|p| self.inventory.host_group_by_path(p))
            .map(|g| ObjectRef::new(ObjectKind::HostGroup, g.id));
        let usage = self.cloud_usage(c.id, None);
        let opt = |x: Option<u64>| {
            x.map_or(Value::Null, |n| {
                Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
            })
        };
        base(ObjectKind::Cloud, c.id, &c.name, &c.description)
            .with("HostGroup", Value::refs(groups))
            .with(
                "LogicalNetworks",
                Value::strings(c.logical_networks.iter().cloned()),
            )
            .with("VMCountLimit", opt(c.capacity.vm_count.map(u64::from)))
            .with("CPUCountLimit", opt(c.capacity.cpu_count.map(u64::from)))
            .with("MemoryMBLimit", opt(c.capacity.memory_mb))
            .with("VMCountUsage", Value::int(usage.vms))
            .with("CPUCountUsage", Value::int(usage.cpus))
            .with(
                "MemoryMBUsage",
                Value::Int(i64::try_from(usage.memory_mb).unwrap_or(i64::MAX)),
            )
            .with("CustomProperty", dictionary(&c.custom_properties))
            .with("ServerConnection", self.server_ref())
    }

    fn spec_nics(&self, nics: &[super::objects::NicSpec]) -> Value {
        Value::Array(
            nics.iter()
                .enumerate()
                .map(|(slot, n)| {
                    let net = n
                        .vm_network
                        .as_deref()
                        .and_then(|x| self.inventory.vm_network_by_name(x))
                        .map(|x| ObjectRef::new(ObjectKind::VmNetwork, x.id));
                    Value::Object(Box::new(
                        ObjectView::new(ObjectKind::VirtualNetworkAdapter.type_name(), "")
                            .with("SlotId", Value::int(u32::try_from(slot).unwrap_or(0)))
                            .with("VMNetwork", Value::opt_ref(net))
                            .with("MACAddressType", Value::enumeration(n.mac_address_type))
                            .with("MACAddress", Value::str("00:00:00:00:00:00"))
                            .with("IPv4AddressType", Value::enumeration(n.ipv4_address_type))
                            .with("VLanEnabled", Value::Bool(n.vlan_enabled))
                            .with("VLanID", Value::int(n.vlan_id)),
                    ))
                })
                .collect(),
        )
    }

    fn spec_dvds(dvds: &[super::objects::DvdSpec]) -> Value {
        Value::Array(
            dvds.iter()
                .map(|d| {
                    Value::Object(Box::new(
                        ObjectView::new(ObjectKind::VirtualDvdDrive.type_name(), "")
                            .with("BusType", Value::enumeration(d.bus_type))
                            .with("Bus", Value::int(d.bus))
                            .with("Lun", Value::int(d.lun))
                            .with(
                                "Connection",
                                Value::enumeration(super::enums::DvdConnection::None),
                            ),
                    ))
                })
                .collect(),
        )
    }

    fn template_view(&self, t: &Template) -> ObjectView {
        let vhds: Vec<ObjectRef> = t
            .disks
            .iter()
            .filter_map(|d| d.vhd.as_deref())
            .filter_map(|n| self.inventory.vhd_by_name(n))
            .map(|v| ObjectRef::new(ObjectKind::VirtualHardDisk, v.id))
            .collect();
        let disks = Value::Array(
            t.disks
                .iter()
                .map(|d| {
                    let vhd = d
                        .vhd
                        .as_deref()
                        .and_then(|n| self.inventory.vhd_by_name(n))
                        .map(|v| ObjectRef::new(ObjectKind::VirtualHardDisk, v.id));
                    Value::Object(Box::new(
                        ObjectView::new(ObjectKind::VirtualDiskDrive.type_name(), "")
                            .with("BusType", Value::enumeration(d.bus_type))
                            .with("Bus", Value::int(d.bus))
                            .with("Lun", Value::int(d.lun))
                            .with("VolumeType", Value::enumeration(d.volume_type))
                            .with("VirtualHardDisk", Value::opt_ref(vhd)),
                    ))
                })
                .collect(),
        );
        let profile = t
            .hardware_profile
            .as_deref()
            .and_then(|n| self.inventory.hardware_profile_by_name(n))
            .map(|p| ObjectRef::new(ObjectKind::HardwareProfile, p.id));
        base(ObjectKind::Template, t.id, &t.name, &t.description)
            .with("Generation", Value::int(t.generation))
            .with("CPUCount", Value::int(t.cpu_count))
            .with(
                "Memory",
                Value::Int(i64::try_from(t.memory_mb).unwrap_or(i64::MAX)),
            )
            .with(
                "DynamicMemoryEnabled",
                Value::Bool(t.dynamic_memory.enabled),
            )
            .with("OperatingSystem", operating_system(&t.operating_system))
            .with("IsCustomizable", Value::Bool(t.is_customizable))
            .with("ComputerName", Value::str("*"))
            .with("Status", normal_state())
            .with("VirtualDiskDrives", disks)
            .with("VirtualHardDisks", Value::refs(vhds))
            .with("VirtualNetworkAdapters", self.spec_nics(&t.nics))
            .with("VirtualDVDDrives", Self::spec_dvds(&t.dvd_drives))
            .with("HardwareProfile", Value::opt_ref(profile))
            .with(
                "Tag",
                Value::str(if t.tag.is_empty() { "(none)" } else { &t.tag }),
            )
            .with("Owner", Value::str(&t.owner))
            .with("Enabled", Value::Bool(true))
            .with("CustomProperty", dictionary(&t.custom_properties))
            .with("MarkedForDeletion", Value::Bool(false))
            .with("ServerConnection", self.server_ref())
    }

    fn hardware_profile_view(&self, p: &HardwareProfile) -> ObjectView {
        base(ObjectKind::HardwareProfile, p.id, &p.name, &p.description)
            .with("Generation", Value::int(p.generation))
            .with("CPUCount", Value::int(p.cpu_count))
            .with(
                "Memory",
                Value::Int(i64::try_from(p.memory_mb).unwrap_or(i64::MAX)),
            )
            .with(
                "DynamicMemoryEnabled",
                Value::Bool(p.dynamic_memory.enabled),
            )
            .with(
                "DynamicMemoryMinimumMB",
                Value::Int(i64::try_from(p.dynamic_memory.minimum_mb).unwrap_or(0)),
            )
            .with(
                "DynamicMemoryMaximumMB",
                Value::Int(i64::try_from(p.dynamic_memory.maximum_mb).unwrap_or(0)),
            )
            .with(
                "DynamicMemoryBufferPercentage",
                Value::int(p.dynamic_memory.buffer_percentage),
            )
            .with("IsHighlyAvailable", Value::Bool(p.highly_available))
            .with("SecureBootEnabled", Value::Bool(p.secure_boot))
            .with("VirtualNetworkAdapters", self.spec_nics(&p.nics))
            .with("VirtualDVDDrives", Self::spec_dvds(&p.dvd_drives))
            .with("Owner", Value::str(&p.owner))
            .with("ServerConnection", self.server_ref())
    }

    fn vhd_view(&self, v: &VirtualHardDisk) -> ObjectView {
        let share = v
            .share
            .as_deref()
            .and_then(|s| self.inventory.share_by_name(s));
        let host = v.host.and_then(|h| self.inventory.host(h));
        base(ObjectKind::VirtualHardDisk, v.id, &v.name, "")
            .with("Location", Value::str(&v.location))
            .with("SharePath", Value::str(&v.location))
            .with("Directory", Value::str(parent_dir(&v.location)))
            .with(
                "Size",
                Value::Int(i64::try_from(v.size_bytes).unwrap_or(i64::MAX)),
            )
            .with(
                "MaximumSize",
                Value::Int(i64::try_from(v.maximum_size_bytes).unwrap_or(i64::MAX)),
            )
            .with("VHDType", Value::enumeration(v.vhd_type))
            .with("VHDFormatType", Value::enumeration(v.format))
            .with("OperatingSystem", operating_system(&v.operating_system))
            .with(
                "LibraryServer",
                Value::opt_str(share.map(|s| s.library_server.clone())),
            )
            .with(
                "LibraryShareId",
                share.map_or(Value::Null, |s| Value::Guid(s.id)),
            )
            .with(
                "HostName",
                Value::str(host.map_or_else(
                    || share.map(|s| s.library_server.clone()).unwrap_or_default(),
                    |h| h.name.clone(),
                )),
            )
            .with(
                "VMHost",
                Value::opt_ref(host.map(|h| ObjectRef::new(ObjectKind::Host, h.id))),
            )
            .with(
                "HostType",
                Value::str(if host.is_some() {
                    "VMHost"
                } else {
                    "LibraryServer"
                }),
            )
            .with("State", normal_state())
            .with("IsOrphaned", Value::Bool(false))
            .with("ParentDisk", Value::opt_str(v.parent.clone()))
            .with("Namespace", Value::str("Global"))
            .with("FamilyName", Value::str(&v.family_name))
            .with("Release", Value::str(&v.release))
            .with("Enabled", Value::Bool(true))
            .with("ServerConnection", self.server_ref())
    }

    fn logical_network_view(&self, n: &super::objects::LogicalNetwork) -> ObjectView {
        let groups = n
            .host_groups
            .iter()
            .filter_map(|p| self.inventory.host_group_by_path(p))
            .map(|g| ObjectRef::new(ObjectKind::HostGroup, g.id));
        base(ObjectKind::LogicalNetwork, n.id, &n.name, &n.description)
            .with("Subnets", Value::strings(n.subnets.iter().cloned()))
            .with("HostGroups", Value::refs(groups))
            .with("NetworkVirtualizationEnabled", Value::Bool(false))
            .with("IsPVLAN", Value::Bool(false))
            .with("ServerConnection", self.server_ref())
    }

    fn vm_network_view(&self, n: &super::objects::VmNetwork) -> ObjectView {
        let logical = self
            .inventory
            .logical_network_by_name(&n.logical_network)
            .map(|l| ObjectRef::new(ObjectKind::LogicalNetwork, l.id));
        let subnets = self
            .inventory
            .vm_subnets
            .iter()
            .filter(|s| same_name(&s.vm_network, &n.name))
            .map(|s| ObjectRef::new(ObjectKind::VmSubnet, s.id));
        base(ObjectKind::VmNetwork, n.id, &n.name, &n.description)
            .with("LogicalNetwork", Value::opt_ref(logical))
            .with("VMSubnet", Value::refs(subnets))
            .with("IsolationType", Value::str(&n.isolation_type))
            .with("ServerConnection", self.server_ref())
    }

    fn vm_subnet_view(&self, s: &super::objects::VmSubnet) -> ObjectView {
        let network = self
            .inventory
            .vm_network_by_name(&s.vm_network)
            .map(|n| ObjectRef::new(ObjectKind::VmNetwork, n.id));
        let vlan = ObjectView::new(
            "Microsoft.SystemCenter.VirtualMachineManager.SubnetVLan",
            s.subnet_vlan(),
        )
        .with("Subnet", Value::str(&s.subnet))
        .with("VLanID", Value::int(s.vlan_id));
        base(ObjectKind::VmSubnet, s.id, &s.name, "")
            .with("VMNetwork", Value::opt_ref(network))
            .with(
                "SubnetVLans",
                Value::Array(vec![Value::Object(Box::new(vlan))]),
            )
            .with(
                "LogicalNetworkDefinition",
                Value::str(format!("{}_0", s.vm_network)),
            )
            .with("VMSubnetID", Value::int(s.vlan_id))
            .with("ServerConnection", self.server_ref())
    }

    fn ip_pool_view(&self, p: &StaticIpPool) -> ObjectView {
        let used = self
            .state
            .allocations
            .iter()
            .filter(|a| a.pool == p.id)
            .count() as u64;
        let subnet = p
            .vm_subnet
            .as_deref()
            .and_then(|s| self.inventory.vm_subnet_by_name(s))
            .map(|s| ObjectRef::new(ObjectKind::VmSubnet, s.id));
        let gateways = p
            .gateways
            .iter()
            .map(|g| {
                Value::Object(Box::new(
                    ObjectView::new(
                        "Microsoft.SystemCenter.VirtualMachineManager.DefaultGateway",
                        g.to_string(),
                    )
                    .with("IPAddress", Value::str(g.to_string()))
                    .with("Metric", Value::Null),
                ))
            })
            .collect();
        let total = p.total_addresses();
        base(ObjectKind::StaticIpPool, p.id, &p.name, &p.description)
            .with("Subnet", Value::str(&p.subnet))
            .with("IPAddressRangeStart", Value::str(p.range_start.to_string()))
            .with("IPAddressRangeEnd", Value::str(p.range_end.to_string()))
            .with("DefaultGateways", Value::Array(gateways))
            .with(
                "DNSServers",
                Value::strings(p.dns_servers.iter().map(ToString::to_string)),
            )
            .with("DNSSuffix", Value::str(&p.dns_suffix))
            .with(
                "DNSSearchSuffixes",
                Value::strings(p.dns_search_suffixes.iter().cloned()),
            )
            .with(
                "AddressFamily",
                Value::enumeration(AddressFamily::InterNetwork),
            )
            .with(
                "TotalAddresses",
                Value::Int(i64::try_from(total).unwrap_or(i64::MAX)),
            )
            .with(
                "AvailableAddresses",
                Value::Int(i64::try_from(total.saturating_sub(used)).unwrap_or(0)),
            )
            .with("VMSubnet", Value::opt_ref(subnet))
            .with(
                "LogicalNetworkDefinition",
                Value::opt_str(p.logical_network.as_ref().map(|l| format!("{l}_0"))),
            )
            .with(
                "IPAddressReservedSet",
                Value::str(
                    p.reserved
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            )
            .with("ServerConnection", self.server_ref())
    }

    fn allocation_view(&self, a: &super::objects::AllocatedIpAddress) -> ObjectView {
        let address = a.address.to_string();
        base(
            ObjectKind::AllocatedIpAddress,
            a.id,
            &address,
            &a.description,
        )
        .with("Address", Value::str(&address))
        .with(
            "AllocatingAddressPool",
            Value::Ref(ObjectRef::new(ObjectKind::StaticIpPool, a.pool)),
        )
        .with("AssignedToType", Value::str(&a.assigned_to_type))
        .with(
            "AssignedToID",
            a.assigned_to_id.map_or(Value::Null, Value::Guid),
        )
        .with("State", Value::str("Assigned"))
        .with("AddedTime", Value::DateTime(a.granted))
        .with("ServerConnection", self.server_ref())
    }

    fn share_view(&self, s: &super::objects::LibraryShare) -> ObjectView {
        base(ObjectKind::LibraryShare, s.id, &s.name, &s.description)
            .with("Path", Value::str(&s.path))
            .with("LibraryServer", Value::str(&s.library_server))
            .with("IsViewOnly", Value::Bool(s.is_view_only))
            .with("MarkedForDeletion", Value::Bool(false))
            .with("UseAlternateDataStream", Value::Bool(false))
            .with("ServerConnection", self.server_ref())
    }

    fn iso_view(&self, i: &Iso) -> ObjectView {
        let share = i.library_share.and_then(|s| self.inventory.share(s));
        let host = i.host.and_then(|h| self.inventory.host(h));
        base(ObjectKind::Iso, i.id, &i.name, "")
            .with("SharePath", Value::str(&i.share_path))
            .with("Directory", Value::str(parent_dir(&i.share_path)))
            .with(
                "Size",
                Value::Int(i64::try_from(i.size).unwrap_or(i64::MAX)),
            )
            .with(
                "LibraryServer",
                Value::opt_str(share.map(|s| s.library_server.clone())),
            )
            .with(
                "LibraryShareId",
                share.map_or(Value::Null, |s| Value::Guid(s.id)),
            )
            .with(
                "HostName",
                Value::str(host.map_or_else(
                    || share.map(|s| s.library_server.clone()).unwrap_or_default(),
                    |h| h.name.clone(),
                )),
            )
            .with(
                "VMHost",
                Value::opt_ref(host.map(|h| ObjectRef::new(ObjectKind::Host, h.id))),
            )
            .with(
                "HostType",
                Value::str(if host.is_some() {
                    "VMHost"
                } else {
                    "LibraryServer"
                }),
            )
            .with("State", normal_state())
            .with("IsOrphaned", Value::Bool(false))
            .with("FamilyName", Value::str(&i.family_name))
            .with("Release", Value::str(&i.release))
            .with("Enabled", Value::Bool(true))
            .with("AddedTime", Value::DateTime(i.added))
            .with("MarkedForDeletion", Value::Bool(i.marked_for_deletion))
            .with("ServerConnection", self.server_ref())
    }

    fn vm_view(&self, v: &Vm) -> ObjectView {
        let host = v.host.and_then(|h| self.inventory.host(h));
        let cloud = v.cloud.and_then(|c| self.inventory.cloud(c));
        let task = v.most_recent_task.and_then(|t| self.state.job(t));
        let task_ref = task.map(|t| ObjectRef::new(ObjectKind::Job, t.id));
        let adapters = v
            .adapters
            .iter()
            .map(|a| ObjectRef::new(ObjectKind::VirtualNetworkAdapter, a.id));
        let disks = v
            .disks
            .iter()
            .map(|d| ObjectRef::new(ObjectKind::VirtualDiskDrive, d.id));
        let vhds = v
            .disks
            .iter()
            .map(|d| ObjectRef::new(ObjectKind::VirtualHardDisk, d.vhd.id));
        let dvds = v
            .dvd_drives
            .iter()
            .map(|d| ObjectRef::new(ObjectKind::VirtualDvdDrive, d.id));
        let vm_id = v.vm_id.to_string().to_uppercase();
        let running = matches!(v.power, VmState::Running | VmState::Paused);
        base(ObjectKind::VirtualMachine, v.id, &v.name, &v.description)
            .with("Status", Value::enumeration(v.status))
            .with("StatusString", Value::str(v.status.status_string()))
            .with("VirtualMachineState", Value::enumeration(v.power))
            .with("VMId", Value::str(&vm_id))
            .with("BiosGuid", Value::Guid(v.bios_guid))
            .with(
                "ComputerName",
                Value::str(
                    v.computer_name
                        .clone()
                        .unwrap_or_else(|| "Unknown".to_string()),
                ),
            )
            .with(
                "ComputerNameString",
                Value::str(
                    v.computer_name
                        .clone()
                        .unwrap_or_else(|| "Unknown".to_string()),
                ),
            )
            .with("Owner", Value::str(&v.owner))
            .with("Tag", Value::str(v.tag_display()))
            .with("IsTagEmpty", Value::Bool(v.tag.is_empty()))
            .with("CustomProperty", dictionary(&v.custom_properties))
            .with("MostRecentTask", Value::opt_ref(task_ref))
            .with(
                "MostRecentTaskID",
                task.map_or(Value::Null, |t| Value::Guid(t.id)),
            )
            .with(
                "MostRecentTaskUIState",
                task.map_or(Value::Null, |t| Value::enumeration(t.status.ui_state())),
            )
            .with("MostRecentTaskIfLocal", Value::opt_ref(task_ref))
            .with("FailedJobID", v.failed_job.map_or(Value::Null, Value::Guid))
            .with("HasSavedState", Value::Bool(v.power == VmState::Saved))
            .with("IsOrphaned", Value::Bool(false))
            .with("MarkedForDeletion", Value::Bool(v.marked_for_deletion))
            .with(
                "VMHost",
                Value::opt_ref(host.map(|h| ObjectRef::new(ObjectKind::Host, h.id))),
            )
            .with("HostName", Value::opt_str(host.map(|h| h.name.clone())))
            .with("HostId", host.map_or(Value::Null, |h| Value::Guid(h.id)))
            .with("HostType", Value::str("VMHost"))
            .with(
                "HostGroupPath",
                Value::opt_str(host.map(|h| h.host_group.clone())),
            )
            .with(
                "Cloud",
                Value::opt_ref(cloud.map(|c| ObjectRef::new(ObjectKind::Cloud, c.id))),
            )
            .with("CloudId", cloud.map_or(Value::Null, |c| Value::Guid(c.id)))
            .with("Location", Value::str(&v.location))
            .with(
                "VMCPath",
                Value::str(if v.location.is_empty() {
                    String::new()
                } else {
                    format!("{}\\Virtual Machines\\{vm_id}.vmcx", v.location)
                }),
            )
            .with("IsHighlyAvailable", Value::Bool(v.highly_available))
            .with(
                "AvailabilitySetNames",
                Value::strings(v.availability_sets.iter().cloned()),
            )
            .with("CPUCount", Value::int(v.cpu_count))
            .with(
                "Memory",
                Value::Int(i64::try_from(v.memory_mb).unwrap_or(i64::MAX)),
            )
            .with(
                "MemoryAssignedMB",
                Value::Int(if running {
                    i64::try_from(v.memory_mb).unwrap_or(0)
                } else {
                    0
                }),
            )
            .with(
                "DynamicMemoryEnabled",
                Value::Bool(v.dynamic_memory.enabled),
            )
            .with(
                "DynamicMemoryMinimumMB",
                Value::Int(i64::try_from(v.dynamic_memory.minimum_mb).unwrap_or(0)),
            )
            .with(
                "DynamicMemoryMaximumMB",
                Value::Int(i64::try_from(v.dynamic_memory.maximum_mb).unwrap_or(0)),
            )
            .with(
                "DynamicMemoryBufferPercentage",
                Value::int(v.dynamic_memory.buffer_percentage),
            )
            .with("Generation", Value::int(v.generation))
            .with(
                "LimitCPUForMigration",
                Value::Bool(v.cpu_limit_for_migration),
            )
            .with(
                "LimitCPUFunctionality",
                Value::Bool(v.cpu_limit_functionality),
            )
            // Hyper-V's name for it (Get-VMProcessor); VMM's VM object
            // surfaces the processor setting under the same name [INF].
            .with(
                "ExposeVirtualizationExtensions",
                Value::Bool(v.nested_virtualization),
            )
            .with(
                "TotalSize",
                Value::Int(i64::try_from(v.total_size()).unwrap_or(i64::MAX)),
            )
            .with("VirtualNetworkAdapters", Value::refs(adapters))
            .with("VirtualDiskDrives", Value::refs(disks))
            .with("VirtualHardDisks", Value::refs(vhds))
            .with("VirtualDVDDrives", Value::refs(dvds))
            .with(
                "VirtualFibreChannelAdapters",
                Value::refs(
                    v.fibre_channel_adapters
                        .iter()
                        .map(|a| ObjectRef::new(ObjectKind::VirtualFibreChannelAdapter, a.id)),
                ),
            )
            .with("OperatingSystem", operating_system(&v.operating_system))
            .with("StartAction", Value::str(&v.start_action))
            .with("StopAction", Value::str(&v.stop_action))
            .with("CreationTime", Value::DateTime(v.creation_time))
            .with("AddedTime", Value::DateTime(v.creation_time))
            .with("ModifiedTime", Value::DateTime(v.modified_time))
            .with("CreationSource", Value::str(&v.creation_source))
            .with("SourceObjectType", Value::str(&v.source_object_type))
            .with("OperatingSystemShutdownEnabled", Value::Bool(true))
            .with("HeartbeatEnabled", Value::Bool(true))
            .with("DataExchangeEnabled", Value::Bool(true))
            .with("TimeSynchronizationEnabled", Value::Bool(true))
            .with("Enabled", Value::Bool(true))
            .with("IsViewOnly", Value::Bool(false))
            .with("ServerConnection", self.server_ref())
    }

    fn adapter_view(&self, v: &Vm, a: &NetworkAdapter) -> ObjectView {
        let network = a.vm_network.and_then(|n| self.inventory.vm_network(n));
        let logical = network
            .and_then(|n| self.inventory.logical_network_by_name(&n.logical_network))
            .map(|l| ObjectRef::new(ObjectKind::LogicalNetwork, l.id));
        let mac = a
            .mac_address
            .clone()
            .unwrap_or_else(|| "00:00:00:00:00:00".to_string());
        let mut view = base(ObjectKind::VirtualNetworkAdapter, a.id, &v.name, "")
            .with("SlotId", Value::int(a.slot_id))
            .with("MACAddress", Value::str(&mac))
            .with("MACAddressType", Value::enumeration(a.mac_address_type))
            .with("EthernetAddress", Value::str(&mac))
            .with("PhysicalAddress", Value::str(mac.replace(':', "-")))
            .with(
                "VirtualNetworkAdapterType",
                Value::enumeration(if a.synthetic {
                    AdapterType::Synthetic
                } else {
                    AdapterType::Emulated
                }),
            )
            .with(
                "VMNetwork",
                Value::opt_ref(network.map(|n| ObjectRef::new(ObjectKind::VmNetwork, n.id))),
            )
            .with(
                "VMSubnet",
                Value::opt_ref(a.vm_subnet.map(|s| ObjectRef::new(ObjectKind::VmSubnet, s))),
            )
            .with("LogicalNetwork", Value::opt_ref(logical))
            .with(
                "VirtualNetwork",
                Value::opt_str(network.map(|_| "ConvergedSwitch".to_string())),
            )
            .with("PortClassification", Value::Null)
            .with("VLanEnabled", Value::Bool(a.vlan_enabled))
            .with("VLanID", Value::int(a.vlan_id))
            .with("IPv4AddressType", Value::enumeration(a.ipv4_address_type))
            .with(
                "IPv6AddressType",
                Value::enumeration(super::enums::AddressType::Dynamic),
            )
            .with(
                "IPv4Addresses",
                Value::strings(a.ipv4_addresses.iter().cloned()),
            )
            .with("IPv6Addresses", Value::Array(Vec::new()));
        if self.behaviour.modern_adapter_properties {
            let (subnets, gateways) = self.adapter_subnets(a);
            view = view
                .with("IPv4Subnets", Value::Array(subnets))
                .with("DefaultIPGateways", Value::strings(gateways));
        }
        view.with(
            "DeviceID",
            Value::str(format!(
                "Microsoft:{}\\{}",
                v.vm_id.to_string().to_uppercase(),
                a.id.to_string().to_uppercase()
            )),
        )
        .with("MACAddressSpoofingEnabled", Value::Bool(false))
        .with("VMNetworkOptimizationEnabled", Value::Bool(false))
        .with("Enabled", Value::Bool(true))
        .with("ServerConnection", self.server_ref())
    }

    /// `IPv4Subnets` and `DefaultIPGateways` of an adapter: from the pools
    /// its static addresses came from, else from its VM subnet.
    fn adapter_subnets(&self, a: &NetworkAdapter) -> (Vec<Value>, Vec<String>) {
        let mut pools: Vec<&StaticIpPool> = a
            .allocations
            .iter()
            .filter_map(|id| self.state.allocations.iter().find(|x| x.id == *id))
            .filter_map(|x| self.inventory.ip_pool(x.pool))
            .collect();
        pools.dedup_by_key(|p| p.id);
        let mut cidrs: Vec<Cidr> = pools
            .iter()
            .filter_map(|p| Cidr::parse(&p.subnet))
            .collect();
        let mut gateways: Vec<String> = pools
            .iter()
            .flat_map(|p| p.gateways.iter().map(ToString::to_string))
            .collect();
        if cidrs.is_empty()
            && !a.ipv4_addresses.is_empty()
            && let Some(s) = a.vm_subnet.and_then(|s| self.inventory.vm_subnet(s))
            && let Some(c) = Cidr::parse(&s.subnet)
        {
            cidrs.push(c);
            gateways.extend(
                self.inventory
                    .pools_for_subnet(&s.name)
                    .flat_map(|p| p.gateways.iter().map(ToString::to_string)),
            );
        }
        gateways.dedup();
        let subnets = cidrs
            .into_iter()
            .map(|c| {
                Value::Object(Box::new(
                    ObjectView::new("System.Net.IPNetwork", c.to_string())
                        .with("Subnet", Value::str(c.network.to_string()))
                        .with("PrefixLength", Value::int(c.prefix)),
                ))
            })
            .collect();
        (subnets, gateways)
    }

    fn dvd_view(&self, v: &Vm, d: &DvdDrive) -> ObjectView {
        base(ObjectKind::VirtualDvdDrive, d.id, &v.name, "")
            .with(
                "Connection",
                Value::enumeration(if d.iso.is_some() {
                    DvdConnection::ISO
                } else {
                    DvdConnection::None
                }),
            )
            .with(
                "ISO",
                Value::opt_ref(d.iso.map(|i| ObjectRef::new(ObjectKind::Iso, i))),
            )
            .with("ISOId", d.iso.map_or(Value::Null, Value::Guid))
            .with("ISOLinked", Value::Bool(d.linked))
            .with("HostDrive", Value::Null)
            .with("BusType", Value::enumeration(d.bus_type))
            .with("Bus", Value::int(d.bus))
            .with("Lun", Value::int(d.lun))
            .with("ServerConnection", self.server_ref())
    }

    fn fibre_channel_san_view(&self, s: &FibreChannelSan) -> ObjectView {
        let host = self
            .inventory
            .hosts
            .iter()
            .find(|h| same_name(&h.name, &s.host))
            .map(|h| ObjectRef::new(ObjectKind::Host, h.id));
        let classification = s.classification.as_deref().and_then(|c| {
            self.inventory
                .storage_fabric_classifications
                .iter()
                .find(|k| same_name(&k.name, c))
                .map(|k| ObjectRef::new(ObjectKind::StorageFabricClassification, k.id))
        });
        base(ObjectKind::FibreChannelSan, s.id, &s.name, "")
            .with("VMHost", Value::opt_ref(host))
            .with(
                "StorageFabricClassification",
                Value::opt_ref(classification),
            )
            .with("ServerConnection", self.server_ref())
    }

    fn fibre_channel_adapter_view(&self, v: &Vm, a: &FibreChannelAdapter) -> ObjectView {
        base(ObjectKind::VirtualFibreChannelAdapter, a.id, &v.name, "")
            .with(
                "VirtualFibreChannelSAN",
                Value::opt_ref(
                    a.virtual_san
                        .map(|s| ObjectRef::new(ObjectKind::FibreChannelSan, s)),
                ),
            )
            .with(
                "StorageFabricClassification",
                Value::opt_ref(
                    a.classification
                        .map(|c| ObjectRef::new(ObjectKind::StorageFabricClassification, c)),
                ),
            )
            .with("PrimaryWorldWidePortName", Value::str(&a.wwpn))
            .with("ServerConnection", self.server_ref())
    }

    fn disk_drive_view(&self, v: &Vm, d: &DiskDrive) -> ObjectView {
        base(ObjectKind::VirtualDiskDrive, d.id, &v.name, "")
            .with("BusType", Value::enumeration(d.bus_type))
            .with("Bus", Value::int(d.bus))
            .with("Lun", Value::int(d.lun))
            .with("VolumeType", Value::enumeration(d.volume_type))
            .with(
                "VirtualHardDisk",
                Value::Ref(ObjectRef::new(ObjectKind::VirtualHardDisk, d.vhd.id)),
            )
            .with("VirtualHardDiskId", Value::Guid(d.vhd.id))
            .with("IsVHD", Value::Bool(true))
            .with("HasSharedStorage", Value::Bool(false))
            .with("CreateDiffDisk", Value::Bool(false))
            .with(
                "IOPSMaximum",
                Value::Int(i64::try_from(d.iops_maximum).unwrap_or(i64::MAX)),
            )
            .with("FileName", Value::str(file_name(&d.vhd.location)))
            .with("ServerConnection", self.server_ref())
    }

    fn job_view(&self, j: &Job) -> ObjectView {
        let error = if j.status.is_success() {
            j.info.as_ref()
        } else {
            j.error.as_ref()
        };
        let info = if j.status == JobStatus::SucceedWithInfo
            || !j.status.is_success() && !j.is_running()
        {
            error_info(error)
        } else {
            error_info(None)
        };
        let type_name = |r: Option<ObjectRef>| match r.map(|r| r.kind) {
            Some(ObjectKind::VirtualMachine) => "Virtual Machine",
            Some(ObjectKind::LibraryShare) => "Library Share",
            Some(ObjectKind::Iso) => "ISO",
            Some(ObjectKind::Template) => "VM Template",
            Some(ObjectKind::Host) => "Host",
            Some(_) => "Object",
            None => "",
        };
        let mut view = base(ObjectKind::Job, j.id, &j.name, &j.description)
            .with("Status", Value::enumeration(j.status))
            .with("StatusString", Value::str(j.status.name()))
            .with("ErrorInfo", Value::Object(Box::new(info)))
            .with("StartTime", Value::DateTime(j.start_time))
            .with("EndTime", j.end_time.map_or(Value::Null, Value::DateTime))
            .with("Progress", Value::str(j.progress_text()))
            .with("ProgressValue", Value::int(j.progress))
            .with("IsCompleted", Value::Bool(!j.is_running()))
            .with(
                "IsRestartable",
                Value::Bool(matches!(j.status, JobStatus::Failed | JobStatus::Canceled)),
            )
            .with("IsStoppable", Value::Bool(j.is_running()))
            .with("CmdletName", Value::str(&j.cmdlet_name))
            .with(
                "ResultObjectID",
                j.result.map_or(Value::Null, |r| Value::Guid(r.id)),
            )
            .with(
                "ResultObjectType",
                j.result
                    .map_or(Value::Null, |r| Value::enumeration(r.kind.object_type())),
            )
            .with("ResultObjectTypeName", Value::str(type_name(j.result)))
            .with("ResultName", Value::str(&j.result_name))
            .with(
                "TargetObjectID",
                j.target.map_or(Value::Null, |r| Value::Guid(r.id)),
            )
            .with(
                "TargetObjectType",
                j.target
                    .map_or(Value::Null, |r| Value::enumeration(r.kind.object_type())),
            )
            .with("Owner", Value::str(&j.owner))
            .with("SessionOwner", Value::str(&j.owner))
            .with("Source", Value::str(&self.inventory.server.name))
            .with("Target", Value::str(&j.result_name))
            .with("AdditionalMessages", Value::Array(Vec::new()))
            .with("IsVisible", Value::Bool(true))
            .with(
                "WasNotifiedOfCancel",
                Value::Bool(j.status == JobStatus::Canceled),
            );
        view.display = j.name.clone();
        view.with("ServerConnection", self.server_ref())
    }

    fn configuration_view(&self, c: &super::objects::VmConfiguration) -> ObjectView {
        base(ObjectKind::VmConfiguration, c.id, &c.name, &c.description)
            .with(
                "VMTemplate",
                Value::Ref(ObjectRef::new(ObjectKind::Template, c.template)),
            )
            .with(
                "VMHostGroup",
                Value::opt_ref(
                    c.host_group
                        .map(|g| ObjectRef::new(ObjectKind::HostGroup, g)),
                ),
            )
            .with(
                "Cloud",
                Value::opt_ref(c.cloud.map(|x| ObjectRef::new(ObjectKind::Cloud, x))),
            )
            .with(
                "VMHost",
                Value::opt_ref(c.host.map(|h| ObjectRef::new(ObjectKind::Host, h))),
            )
            .with("PinVMHost", Value::Bool(c.pin_host))
            .with("VMLocation", Value::opt_str(c.location.clone()))
            .with("ComputerName", Value::opt_str(c.computer_name.clone()))
            .with(
                "AvailabilitySetNames",
                Value::strings(c.availability_set_names.iter().cloned()),
            )
            .with(
                "Tag",
                Value::str(if c.tag.is_empty() { "(none)" } else { &c.tag }),
            )
            .with("IsValid", Value::Bool(c.is_valid))
            .with(
                "ValidationErrors",
                Value::strings(c.validation_errors.iter().cloned()),
            )
            .with("ServerConnection", self.server_ref())
    }

    /// The view of a `CustomPropertyValue` (which has no identity).
    pub fn custom_property_value_view(&self, v: &CustomPropertyValue) -> ObjectView {
        ObjectView::new(
            "Microsoft.SystemCenter.VirtualMachineManager.CustomPropertyValue",
            v.value.clone(),
        )
        .with("Value", Value::str(&v.value))
        .with(
            "CustomProperty",
            Value::Ref(ObjectRef::new(ObjectKind::CustomProperty, v.property.id)),
        )
        .with("CustomPropertyID", Value::Guid(v.property.id))
        .with("Name", Value::str(&v.property.name))
        .with("ObjectID", Value::Guid(v.object.id))
        .with(
            "ObjectType",
            Value::enumeration(v.object.kind.object_type()),
        )
    }

    /// `MostRecentTaskUIState` of a VM, if it has a most recent task.
    pub fn most_recent_task_state(&self, vm: Uuid) -> Option<TaskUiState> {
        let v = self.any_vm(vm)?;
        Some(self.state.job(v.most_recent_task?)?.status.ui_state())
    }
}

fn custom_property_view(c: &CustomPropertyDef) -> ObjectView {
    base(ObjectKind::CustomProperty, c.id, &c.name, &c.description).with(
        "Members",
        Value::Array(c.members.iter().map(|m| Value::enumeration(*m)).collect()),
    )
}
