//! The read cmdlets: Get-SCVirtualMachine, Get-SCVMHostGroup, Get-SCVMHost,
//! Get-SCVMHostCluster, Get-SCCloud, Get-SCVMTemplate,
//! Get-SCHardwareProfile, Get-SCVirtualHardDisk, Get-SCLogicalNetwork,
//! Get-SCVMNetwork, Get-SCVMSubnet, Get-SCStaticIPAddressPool,
//! Get-SCLibraryShare, Get-SCISO, Get-SCJob, Get-SCCustomProperty,
//! Get-SCVirtualNetworkAdapter, Get-SCVirtualDVDDrive,
//! Get-SCVirtualDiskDrive, Get-SCVMConfiguration.
//!
//! No match is not an error (reference §5.2): the result is empty. Only an
//! unknown `-ID` can be made a non-terminating 801 error
//! (`Behaviour::unknown_id_lookup`).

use uuid::Uuid;

use super::super::Vmm;
use super::super::config::UnknownIdLookup;
use super::super::enums::MemberType;
use super::super::errors::{VmmError, VmmResult};
use super::super::inventory::same_name;
use super::super::objects::library::path_within;
use super::super::objects::{
    Cloud, CustomPropertyDef, DiskDrive, DvdDrive, HardwareProfile, Host, HostCluster, HostGroup,
    Iso, Job, LibraryShare, LogicalNetwork, NetworkAdapter, StaticIpPool, Template,
    VirtualHardDisk, Vm, VmConfiguration, VmNetwork, VmSubnet, path_is_under,
};
use super::super::value::ObjectKind;
use super::{Device, Ref};

/// The `[[-Name] <String>]` / `-ID <Guid>` filters most Get cmdlets have.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NameId {
    /// `-Name` (wildcard).
    pub name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
}

impl NameId {
    /// Filter by name.
    pub fn name(name: &str) -> Self {
        Self {
            name: Some(name.to_string()),
            id: None,
        }
    }

    /// Filter by id.
    pub fn id(id: Uuid) -> Self {
        Self {
            name: None,
            id: Some(id),
        }
    }
}

/// Get-SCVirtualMachine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmQuery {
    /// `-Name` (wildcard; names are not unique, so several may match).
    pub name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-VMHost` (object or name).
    pub host: Option<Ref>,
    /// `-Cloud`.
    pub cloud: Option<Ref>,
}

/// Get-SCVMHost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostQuery {
    /// `-ComputerName` (FQDN or short name, wildcard).
    pub computer_name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-VMHostGroup` (hosts in it and below).
    pub host_group: Option<Ref>,
    /// `-VMHostCluster` (by name).
    pub host_cluster: Option<String>,
}

/// Get-SCVirtualHardDisk.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VhdQuery {
    /// `-Name`.
    pub name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-VM`: the VM's disks instead of the library's.
    pub vm: Option<Ref>,
    /// `-VMTemplate`: the template's library disks.
    pub template: Option<Ref>,
}

/// Get-SCVMNetwork.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmNetworkQuery {
    /// `-Name`.
    pub name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-LogicalNetwork`.
    pub logical_network: Option<Ref>,
}

/// Get-SCVMSubnet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmSubnetQuery {
    /// `-Name`.
    pub name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-VMNetwork`.
    pub vm_network: Option<Ref>,
    /// `-Subnet` (CIDR, exact).
    pub subnet: Option<String>,
}

/// Get-SCStaticIPAddressPool.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IpPoolQuery {
    /// `-Name` (positional).
    pub name: Option<String>,
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-VMSubnet`.
    pub vm_subnet: Option<Ref>,
    /// `-VMHostGroup`: pools available to the group.
    pub host_group: Option<Ref>,
    /// `-Subnet` (CIDR, exact).
    pub subnet: Option<String>,
}

/// Get-SCJob.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobQuery {
    /// `-ID`.
    pub id: Option<Uuid>,
    /// `-Name` (wildcard on the job name).
    pub name: Option<String>,
    /// `-Running`.
    pub running: bool,
    /// `-Newest <hours>`: jobs started in the last N hours (hours, not a
    /// count — reference §4.3).
    pub newest_hours: Option<u32>,
}

/// Get-SCVirtualNetworkAdapter / Get-SCVirtualDVDDrive /
/// Get-SCVirtualDiskDrive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdapterQuery {
    /// `-VM`.
    pub vm: Option<Ref>,
    /// `-ID`.
    pub id: Option<Uuid>,
}

impl Vmm {
    fn opt_name_matches(&self, name: &str, pattern: &Option<String>) -> bool {
        pattern
            .as_deref()
            .is_none_or(|p| self.name_matches(name, p))
    }

    /// Applies `Behaviour::unknown_id_lookup` to an `-ID` lookup result.
    fn id_lookup<T>(&self, items: Vec<T>, id: Option<Uuid>, kind: ObjectKind) -> VmmResult<Vec<T>> {
        match id {
            Some(id)
                if items.is_empty()
                    && self.behaviour.unknown_id_lookup == UnknownIdLookup::NonTerminatingError =>
            {
                Err(VmmError::not_found(kind.display_name(), &id.to_string()).non_terminating())
            }
            _ => Ok(items),
        }
    }

    /// Get-SCVirtualMachine.
    pub fn get_vms(&mut self, q: &VmQuery) -> VmmResult<Vec<Vm>> {
        self.settle();
        let host = q
            .host
            .as_ref()
            .map(|h| self.resolve_host(h, "Get-SCVirtualMachine"))
            .transpose()?;
        let cloud = q
            .cloud
            .as_ref()
            .map(|c| self.resolve_cloud(c, "Get-SCVirtualMachine"))
            .transpose()?;
        let vms = self
            .state
            .vms
            .iter()
            .filter(|v| q.id.is_none_or(|id| v.id == id))
            .filter(|v| self.opt_name_matches(&v.name, &q.name))
            .filter(|v| host.is_none_or(|h| v.host == Some(h)))
            .filter(|v| cloud.is_none_or(|c| v.cloud == Some(c)))
            .cloned()
            .collect();
        self.id_lookup(vms, q.id, ObjectKind::VirtualMachine)
    }

    /// Get-SCVMHostGroup [-Name] [-ID] [-ParentHostGroup] (children of the
    /// parent only).
    pub fn get_host_groups(
        &mut self,
        q: &NameId,
        parent: Option<&Ref>,
    ) -> VmmResult<Vec<HostGroup>> {
        self.settle();
        let parent = parent
            .map(|p| self.resolve_host_group(p, "Get-SCVMHostGroup"))
            .transpose()?
            .and_then(|p| self.inventory.host_group(p))
            .map(|g| g.path.clone());
        let groups = self
            .inventory
            .host_groups
            .iter()
            .filter(|g| q.id.is_none_or(|id| g.id == id))
            .filter(|g| self.opt_name_matches(g.name(), &q.name))
            .filter(|g| {
                parent
                    .as_deref()
                    .is_none_or(|p| g.parent_path().is_some_and(|gp| same_name(gp, p)))
            })
            .cloned()
            .collect();
        self.id_lookup(groups, q.id, ObjectKind::HostGroup)
    }

    /// Get-SCVMHost.
    pub fn get_hosts(&mut self, q: &HostQuery) -> VmmResult<Vec<Host>> {
        self.settle();
        let group = q
            .host_group
            .as_ref()
            .map(|g| self.resolve_host_group(g, "Get-SCVMHost"))
            .transpose()?
            .and_then(|g| self.inventory.host_group(g))
            .map(|g| g.path.clone());
        let hosts = self
            .inventory
            .hosts
            .iter()
            .filter(|h| q.id.is_none_or(|id| h.id == id))
            .filter(|h| {
                q.computer_name.as_deref().is_none_or(|n| {
                    self.name_matches(&h.name, n) || self.name_matches(h.computer_name(), n)
                })
            })
            .filter(|h| {
                group
                    .as_deref()
                    .is_none_or(|g| path_is_under(&h.host_group, g))
            })
            .filter(|h| {
                q.host_cluster.as_deref().is_none_or(|c| {
                    h.cluster.as_deref().is_some_and(|hc| {
                        same_name(hc, c) || same_name(hc.split('.').next().unwrap_or(hc), c)
                    })
                })
            })
            .cloned()
            .collect();
        self.id_lookup(hosts, q.id, ObjectKind::Host)
    }

    /// Get-SCVMHostCluster [-Name] [-ID].
    pub fn get_host_clusters(&mut self, q: &NameId) -> VmmResult<Vec<HostCluster>> {
        self.settle();
        let items = self
            .inventory
            .host_clusters
            .iter()
            .filter(|c| q.id.is_none_or(|id| c.id == id))
            .filter(|c| self.opt_name_matches(&c.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::HostCluster)
    }

    /// Get-SCCloud [-Name] [-ID].
    pub fn get_clouds(&mut self, q: &NameId) -> VmmResult<Vec<Cloud>> {
        self.settle();
        let items = self
            .inventory
            .clouds
            .iter()
            .filter(|c| q.id.is_none_or(|id| c.id == id))
            .filter(|c| self.opt_name_matches(&c.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::Cloud)
    }

    /// Get-SCVMTemplate [-Name] [-ID] [-All].
    pub fn get_templates(&mut self, q: &NameId) -> VmmResult<Vec<Template>> {
        self.settle();
        let items = self
            .inventory
            .templates
            .iter()
            .filter(|t| q.id.is_none_or(|id| t.id == id))
            .filter(|t| self.opt_name_matches(&t.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::Template)
    }

    /// Get-SCHardwareProfile [-Name] [-ID].
    pub fn get_hardware_profiles(&mut self, q: &NameId) -> VmmResult<Vec<HardwareProfile>> {
        self.settle();
        let items = self
            .inventory
            .hardware_profiles
            .iter()
            .filter(|p| q.id.is_none_or(|id| p.id == id))
            .filter(|p| self.opt_name_matches(&p.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::HardwareProfile)
    }

    /// Get-SCVirtualHardDisk: library disks, or a VM's / template's disks.
    pub fn get_virtual_hard_disks(&mut self, q: &VhdQuery) -> VmmResult<Vec<VirtualHardDisk>> {
        self.settle();
        let pool: Vec<VirtualHardDisk> = if let Some(vm) = &q.vm {
            let vm = self.resolve_vm(vm, "Get-SCVirtualHardDisk")?;
            self.state
                .vm(vm)
                .map(|v| v.disks.iter().map(|d| d.vhd.clone()).collect())
                .unwrap_or_default()
        } else if let Some(t) = &q.template {
            let t = self.resolve_template(t, "Get-SCVirtualHardDisk")?;
            self.inventory
                .template(t)
                .map(|t| {
                    t.disks
                        .iter()
                        .filter_map(|d| d.vhd.as_deref())
                        .filter_map(|n| self.inventory.vhd_by_name(n))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        } else {
            let mut all = self.inventory.vhds.clone();
            if q.id.is_some() {
                // -ID also finds disks attached to VMs.
                all.extend(
                    self.state
                        .vms
                        .iter()
                        .flat_map(|v| v.disks.iter().map(|d| d.vhd.clone())),
                );
            }
            all
        };
        let items = pool
            .into_iter()
            .filter(|v| q.id.is_none_or(|id| v.id == id))
            .filter(|v| self.opt_name_matches(&v.name, &q.name))
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VirtualHardDisk)
    }

    /// Get-SCLogicalNetwork [-Name] [-ID].
    pub fn get_logical_networks(&mut self, q: &NameId) -> VmmResult<Vec<LogicalNetwork>> {
        self.settle();
        let items = self
            .inventory
            .logical_networks
            .iter()
            .filter(|n| q.id.is_none_or(|id| n.id == id))
            .filter(|n| self.opt_name_matches(&n.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::LogicalNetwork)
    }

    /// Get-SCVMNetwork [-Name] [-ID] [-LogicalNetwork].
    pub fn get_vm_networks(&mut self, q: &VmNetworkQuery) -> VmmResult<Vec<VmNetwork>> {
        self.settle();
        let logical = q
            .logical_network
            .as_ref()
            .map(|l| self.resolve_logical_network(l, "Get-SCVMNetwork"))
            .transpose()?
            .and_then(|l| self.inventory.logical_networks.iter().find(|n| n.id == l))
            .map(|l| l.name.clone());
        let items = self
            .inventory
            .vm_networks
            .iter()
            .filter(|n| q.id.is_none_or(|id| n.id == id))
            .filter(|n| self.opt_name_matches(&n.name, &q.name))
            .filter(|n| {
                logical
                    .as_deref()
                    .is_none_or(|l| same_name(&n.logical_network, l))
            })
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VmNetwork)
    }

    /// Get-SCVMSubnet [-Name] [-ID] [-VMNetwork] [-Subnet].
    pub fn get_vm_subnets(&mut self, q: &VmSubnetQuery) -> VmmResult<Vec<VmSubnet>> {
        self.settle();
        let network = q
            .vm_network
            .as_ref()
            .map(|n| self.resolve_vm_network(n, "Get-SCVMSubnet"))
            .transpose()?
            .and_then(|n| self.inventory.vm_network(n))
            .map(|n| n.name.clone());
        let items = self
            .inventory
            .vm_subnets
            .iter()
            .filter(|s| q.id.is_none_or(|id| s.id == id))
            .filter(|s| self.opt_name_matches(&s.name, &q.name))
            .filter(|s| {
                network
                    .as_deref()
                    .is_none_or(|n| same_name(&s.vm_network, n))
            })
            .filter(|s| q.subnet.as_deref().is_none_or(|c| same_name(&s.subnet, c)))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VmSubnet)
    }

    /// Get-SCStaticIPAddressPool.
    pub fn get_ip_pools(&mut self, q: &IpPoolQuery) -> VmmResult<Vec<StaticIpPool>> {
        self.settle();
        let subnet = q
            .vm_subnet
            .as_ref()
            .map(|s| self.resolve_vm_subnet(s, "Get-SCStaticIPAddressPool"))
            .transpose()?
            .and_then(|s| self.inventory.vm_subnet(s))
            .map(|s| s.name.clone());
        let group = q
            .host_group
            .as_ref()
            .map(|g| self.resolve_host_group(g, "Get-SCStaticIPAddressPool"))
            .transpose()?
            .and_then(|g| self.inventory.host_group(g))
            .map(|g| g.path.clone());
        let items = self
            .inventory
            .ip_pools
            .iter()
            .filter(|p| q.id.is_none_or(|id| p.id == id))
            .filter(|p| self.opt_name_matches(&p.name, &q.name))
            .filter(|p| {
                subnet
                    .as_deref()
                    .is_none_or(|s| p.vm_subnet.as_deref().is_some_and(|ps| same_name(ps, s)))
            })
            .filter(|p| {
                group
                    .as_deref()
                    .is_none_or(|g| p.host_groups.iter().any(|pg| path_is_under(g, pg)))
            })
            .filter(|p| q.subnet.as_deref().is_none_or(|c| same_name(&p.subnet, c)))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::StaticIpPool)
    }

    /// Get-SCLibraryShare [-ID] (no `-Name`; clients filter themselves).
    pub fn get_library_shares(&mut self, id: Option<Uuid>) -> VmmResult<Vec<LibraryShare>> {
        self.settle();
        let items = self
            .inventory
            .library_shares
            .iter()
            .filter(|s| id.is_none_or(|id| s.id == id))
            .cloned()
            .collect();
        self.id_lookup(items, id, ObjectKind::LibraryShare)
    }

    /// Get-SCISO [-Name] [-ID] [-All]: library ISOs and host copies.
    pub fn get_isos(&mut self, q: &NameId) -> VmmResult<Vec<Iso>> {
        self.settle();
        let items = self
            .state
            .isos
            .iter()
            .filter(|i| q.id.is_none_or(|id| i.id == id))
            .filter(|i| self.opt_name_matches(&i.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::Iso)
    }

    /// ISOs whose file lies under `dir` (a helper for `where SharePath`).
    pub fn isos_under(&self, dir: &str) -> Vec<Iso> {
        self.state
            .isos
            .iter()
            .filter(|i| path_within(&i.share_path, dir))
            .cloned()
            .collect()
    }

    /// Get-SCJob.
    pub fn get_jobs(&mut self, q: &JobQuery) -> VmmResult<Vec<Job>> {
        self.settle();
        let now = self.now();
        let items = self
            .state
            .jobs
            .iter()
            .filter(|j| q.id.is_none_or(|id| j.id == id))
            .filter(|j| self.opt_name_matches(&j.name, &q.name))
            .filter(|j| !q.running || j.is_running())
            .filter(|j| {
                q.newest_hours.is_none_or(|h| {
                    now.since(j.start_time) <= std::time::Duration::from_secs(u64::from(h) * 3600)
                })
            })
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::Job)
    }

    /// Get-SCCustomProperty [-Name] [-ID] [-Member].
    pub fn get_custom_properties(
        &mut self,
        q: &NameId,
        member: Option<MemberType>,
    ) -> VmmResult<Vec<CustomPropertyDef>> {
        self.settle();
        let items = self
            .inventory
            .custom_properties
            .iter()
            .filter(|c| q.id.is_none_or(|id| c.id == id))
            .filter(|c| self.opt_name_matches(&c.name, &q.name))
            .filter(|c| member.is_none_or(|m| c.members.contains(&m)))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::CustomProperty)
    }

    /// VMs a device query covers.
    fn device_vms(&self, q: &AdapterQuery, cmdlet: &str) -> VmmResult<Vec<&Vm>> {
        Ok(match &q.vm {
            Some(r) => {
                let id = self.resolve_vm(r, cmdlet)?;
                self.state.vms.iter().filter(|v| v.id == id).collect()
            }
            None => self.state.vms.iter().collect(),
        })
    }

    /// Get-SCVirtualNetworkAdapter [-VM] [-ID] [-All].
    pub fn get_network_adapters(
        &mut self,
        q: &AdapterQuery,
    ) -> VmmResult<Vec<Device<NetworkAdapter>>> {
        self.settle();
        let items = self
            .device_vms(q, "Get-SCVirtualNetworkAdapter")?
            .into_iter()
            .flat_map(|v| {
                v.adapters.iter().map(move |a| Device {
                    vm: v.id,
                    device: a.clone(),
                })
            })
            .filter(|d| q.id.is_none_or(|id| d.device.id == id))
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VirtualNetworkAdapter)
    }

    /// Get-SCVirtualDVDDrive [-VM] [-ID] [-All].
    pub fn get_dvd_drives(&mut self, q: &AdapterQuery) -> VmmResult<Vec<Device<DvdDrive>>> {
        self.settle();
        let items = self
            .device_vms(q, "Get-SCVirtualDVDDrive")?
            .into_iter()
            .flat_map(|v| {
                v.dvd_drives.iter().map(move |d| Device {
                    vm: v.id,
                    device: d.clone(),
                })
            })
            .filter(|d| q.id.is_none_or(|id| d.device.id == id))
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VirtualDvdDrive)
    }

    /// Get-SCVirtualDiskDrive [-VM] [-ID] [-All].
    pub fn get_disk_drives(&mut self, q: &AdapterQuery) -> VmmResult<Vec<Device<DiskDrive>>> {
        self.settle();
        let items = self
            .device_vms(q, "Get-SCVirtualDiskDrive")?
            .into_iter()
            .flat_map(|v| {
                v.disks.iter().map(move |d| Device {
                    vm: v.id,
                    device: d.clone(),
                })
            })
            .filter(|d| q.id.is_none_or(|id| d.device.id == id))
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VirtualDiskDrive)
    }

    /// Get-SCVMConfiguration [-Name] [-ID] [-All].
    pub fn get_vm_configurations(&mut self, q: &NameId) -> VmmResult<Vec<VmConfiguration>> {
        self.settle();
        let items = self
            .state
            .configurations
            .iter()
            .filter(|c| q.id.is_none_or(|id| c.id == id))
            .filter(|c| self.opt_name_matches(&c.name, &q.name))
            .cloned()
            .collect();
        self.id_lookup(items, q.id, ObjectKind::VmConfiguration)
    }
}
