//! The inventory: the fabric and library objects a VMM server manages
//! (host groups, hosts, clusters, clouds, networks, IP pools, library shares
//! and VHDs, hardware profiles, templates, custom properties, users).
//!
//! Inventory files are meant to be written by hand, so objects refer to each
//! other by name (host groups by path) and ids may be left out: they are
//! derived from the name, and stay the same on every load.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::enums::{BusType, MemberType, UserRoleProfile, VolumeType};
use super::errors::{VmmError, VmmResult};
use super::ids::stable_id;
use super::objects::library::join_path;
use super::objects::{
    Cidr, Cloud, CloudCapacity, CustomPropertyDef, DiskSpec, DvdSpec, DynamicMemory,
    FibreChannelSan, HardwareProfile, Host, HostCluster, HostGroup, LibraryShare, LogicalNetwork,
    NicSpec, ROOT_HOST_GROUP, ServerInfo, StaticIpPool, StorageFabricClassification, Template,
    User, VirtualHardDisk, VmNetwork, VmSubnet, path_is_under,
};

/// The range VMM hands static MAC addresses out of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MacPool {
    /// First address, `00:1D:D8:B7:1C:00` (VMM's default global pool).
    pub start: String,
    /// Last address.
    pub end: String,
}

impl Default for MacPool {
    fn default() -> Self {
        Self {
            start: "00:1D:D8:B7:1C:00".to_string(),
            end: "00:1D:D8:F4:1F:FF".to_string(),
        }
    }
}

/// Parses `AA:BB:CC:DD:EE:FF` (or with dashes) into a number.
pub fn parse_mac(mac: &str) -> Option<u64> {
    let hex: String = mac.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if hex.len() != 12 {
        return None;
    }
    u64::from_str_radix(&hex, 16).ok()
}

/// Formats a number as VMM shows MACs: `00:1D:D8:B7:1C:00`.
pub fn format_mac(n: u64) -> String {
    let b = n.to_be_bytes();
    format!(
        "{:02X}:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// Everything the VMM server manages except VMs and jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// The VMM server.
    pub server: ServerInfo,
    /// Host groups (`All Hosts` is added when missing).
    #[serde(default)]
    pub host_groups: Vec<HostGroup>,
    /// Hosts.
    #[serde(default)]
    pub hosts: Vec<Host>,
    /// Host clusters.
    #[serde(default)]
    pub host_clusters: Vec<HostCluster>,
    /// Clouds.
    #[serde(default)]
    pub clouds: Vec<Cloud>,
    /// Logical networks.
    #[serde(default)]
    pub logical_networks: Vec<LogicalNetwork>,
    /// VM networks.
    #[serde(default)]
    pub vm_networks: Vec<VmNetwork>,
    /// VM subnets.
    #[serde(default)]
    pub vm_subnets: Vec<VmSubnet>,
    /// Static IP pools.
    #[serde(default)]
    pub ip_pools: Vec<StaticIpPool>,
    /// Library shares.
    #[serde(default)]
    pub library_shares: Vec<LibraryShare>,
    /// Library VHDs.
    #[serde(default)]
    pub vhds: Vec<VirtualHardDisk>,
    /// Hardware profiles.
    #[serde(default)]
    pub hardware_profiles: Vec<HardwareProfile>,
    /// VM templates.
    #[serde(default)]
    pub templates: Vec<Template>,
    /// Custom property definitions.
    #[serde(default)]
    pub custom_properties: Vec<CustomPropertyDef>,
    /// Users.
    #[serde(default)]
    pub users: Vec<User>,
    /// Static MAC address pool.
    #[serde(default)]
    pub mac_pool: MacPool,
    /// Storage fabric classifications.
    #[serde(default)]
    pub storage_fabric_classifications: Vec<StorageFabricClassification>,
    /// Virtual Fibre Channel SANs on the hosts.
    #[serde(default)]
    pub fibre_channel_sans: Vec<FibreChannelSan>,
}

/// Case-insensitive name equality, as VMM compares names.
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

fn fill_id(id: &mut Uuid, kind: &str, key: &str) {
    if id.is_nil() {
        *id = stable_id(kind, key);
    }
}

impl Inventory {
    /// Parses an inventory from YAML (JSON is YAML too), fills in ids and
    /// derived fields, and checks every reference.
    pub fn from_yaml(text: &str) -> VmmResult<Inventory> {
        let mut inv: Inventory = serde_saphyr::from_str(text)
            .map_err(|e| VmmError::configuration(&format!("inventory YAML: {e}")))?;
        inv.normalise();
        inv.validate()?;
        Ok(inv)
    }

    /// Parses an inventory from JSON.
    pub fn from_json(text: &str) -> VmmResult<Inventory> {
        let mut inv: Inventory = serde_json::from_str(text)
            .map_err(|e| VmmError::configuration(&format!("inventory JSON: {e}")))?;
        inv.normalise();
        inv.validate()?;
        Ok(inv)
    }

    /// The inventory as YAML.
    pub fn to_yaml(&self) -> VmmResult<String> {
        serde_saphyr::to_string(self)
            .map_err(|e| VmmError::configuration(&format!("inventory YAML: {e}")))
    }

    /// The inventory as JSON.
    pub fn to_json(&self) -> VmmResult<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| VmmError::configuration(&format!("inventory JSON: {e}")))
    }

    /// Fills in what a hand-written file may leave out: the root host
    /// group, ids, library VHD locations, host groups' missing ancestors.
    pub fn normalise(&mut self) {
        fill_id(&mut self.server.id, "server", &self.server.name.clone());
        // Every ancestor of every referenced path must exist as a group.
        let mut paths: BTreeSet<String> = BTreeSet::new();
        paths.insert(ROOT_HOST_GROUP.to_string());
        let referenced = self
            .host_groups
            .iter()
            .map(|g| g.path.clone())
            .chain(self.hosts.iter().map(|h| h.host_group.clone()))
            .chain(self.host_clusters.iter().map(|c| c.host_group.clone()))
            .collect::<Vec<_>>();
        for path in referenced {
            let mut prefix = String::new();
            for seg in path.split('\\') {
                if !prefix.is_empty() {
                    prefix.push('\\');
                }
                prefix.push_str(seg);
                paths.insert(prefix.clone());
            }
        }
        for path in paths {
            if path_is_under(&path, ROOT_HOST_GROUP)
                && !self.host_groups.iter().any(|g| same_name(&g.path, &path))
            {
                self.host_groups.push(HostGroup {
                    id: Uuid::nil(),
                    path,
                    description: String::new(),
                    custom_properties: Default::default(),
                });
            }
        }
        self.host_groups
            .sort_by_key(|g| (g.path.matches('\\').count(), g.path.to_lowercase()));
        for g in &mut self.host_groups {
            fill_id(&mut g.id, "hostgroup", &g.path);
        }
        for h in &mut self.hosts {
            fill_id(&mut h.id, "host", &h.name);
        }
        for c in &mut self.host_clusters {
            fill_id(&mut c.id, "cluster", &c.name);
        }
        for c in &mut self.clouds {
            fill_id(&mut c.id, "cloud", &c.name);
        }
        for n in &mut self.logical_networks {
            fill_id(&mut n.id, "logicalnetwork", &n.name);
        }
        for n in &mut self.vm_networks {
            fill_id(&mut n.id, "vmnetwork", &n.name);
        }
        for s in &mut self.vm_subnets {
            fill_id(&mut s.id, "vmsubnet", &s.name);
        }
        for p in &mut self.ip_pools {
            fill_id(&mut p.id, "ippool", &p.name);
        }
        for s in &mut self.library_shares {
            fill_id(&mut s.id, "libraryshare", &s.path);
        }
        let shares = self.library_shares.clone();
        for v in &mut self.vhds {
            if v.location.is_empty()
                && let Some(share) = v
                    .share
                    .as_deref()
                    .and_then(|n| shares.iter().find(|s| same_name(&s.name, n)))
            {
                v.location = format!("{}\\{}", share.path, join_path(&[&v.directory, &v.name]));
            }
            fill_id(&mut v.id, "vhd", &v.location.clone());
            if v.family_name.is_empty() {
                v.family_name = v.name.clone();
            }
        }
        for p in &mut self.hardware_profiles {
            fill_id(&mut p.id, "hardwareprofile", &p.name);
        }
        for t in &mut self.templates {
            fill_id(&mut t.id, "template", &t.name);
        }
        for c in &mut self.custom_properties {
            fill_id(&mut c.id, "customproperty", &c.name);
        }
        for c in &mut self.storage_fabric_classifications {
            fill_id(&mut c.id, "fabricclassification", &c.name);
        }
        for s in &mut self.fibre_channel_sans {
            fill_id(
                &mut s.id,
                "fibrechannelsan",
                &format!("{}\\{}", s.host, s.name),
            );
        }
    }

    /// Checks that every reference resolves and ids are unique.
    pub fn validate(&self) -> VmmResult<()> {
        let mut problems = Vec::new();
        let mut ids = BTreeSet::new();
        let mut all_ids: Vec<(Uuid, String)> = Vec::new();
        all_ids.extend(self.host_groups.iter().map(|g| (g.id, g.path.clone())));
        all_ids.extend(self.hosts.iter().map(|h| (h.id, h.name.clone())));
        all_ids.extend(self.host_clusters.iter().map(|c| (c.id, c.name.clone())));
        all_ids.extend(self.clouds.iter().map(|c| (c.id, c.name.clone())));
        all_ids.extend(self.logical_networks.iter().map(|n| (n.id, n.name.clone())));
        all_ids.extend(self.vm_networks.iter().map(|n| (n.id, n.name.clone())));
        all_ids.extend(self.vm_subnets.iter().map(|s| (s.id, s.name.clone())));
        all_ids.extend(self.ip_pools.iter().map(|p| (p.id, p.name.clone())));
        all_ids.extend(self.library_shares.iter().map(|s| (s.id, s.path.clone())));
        all_ids.extend(self.vhds.iter().map(|v| (v.id, v.location.clone())));
        all_ids.extend(
            self.hardware_profiles
                .iter()
                .map(|p| (p.id, p.name.clone())),
        );
        all_ids.extend(self.templates.iter().map(|t| (t.id, t.name.clone())));
        all_ids.extend(
            self.custom_properties
                .iter()
                .map(|c| (c.id, c.name.clone())),
        );
        for (id, what) in &all_ids {
            if !ids.insert(*id) {
                problems.push(format!("duplicate id {id} ({what})"));
            }
        }
        for g in &self.host_groups {
            if !path_is_under(&g.path, ROOT_HOST_GROUP) {
                problems.push(format!(
                    "host group {} is not under {ROOT_HOST_GROUP}",
                    g.path
                ));
            }
        }
        let group = |p: &str| self.host_group_by_path(p).is_some();
        for h in &self.hosts {
            if !group(&h.host_group) {
                problems.push(format!("host {}: no host group {}", h.name, h.host_group));
            }
            if let Some(c) = &h.cluster
                && self.host_cluster_by_name(c).is_none()
            {
                problems.push(format!("host {}: no host cluster {c}", h.name));
            }
        }
        for san in &self.fibre_channel_sans {
            if !self.hosts.iter().any(|h| same_name(&h.name, &san.host)) {
                problems.push(format!(
                    "Fibre Channel SAN {}: no host {}",
                    san.name, san.host
                ));
            }
            if let Some(c) = &san.classification
                && !self
                    .storage_fabric_classifications
                    .iter()
                    .any(|k| same_name(&k.name, c))
            {
                problems.push(format!(
                    "Fibre Channel SAN {} on {}: no storage fabric classification {c}",
                    san.name, san.host
                ));
            }
        }
        for c in &self.clouds {
            for g in &c.host_groups {
                if !group(g) {
                    problems.push(format!("cloud {}: no host group {g}", c.name));
                }
            }
        }
        for n in &self.vm_networks {
            if self.logical_network_by_name(&n.logical_network).is_none() {
                problems.push(format!(
                    "VM network {}: no logical network {}",
                    n.name, n.logical_network
                ));
            }
        }
        for s in &self.vm_subnets {
            if self.vm_network_by_name(&s.vm_network).is_none() {
                problems.push(format!(
                    "VM subnet {}: no VM network {}",
                    s.name, s.vm_network
                ));
            }
            if Cidr::parse(&s.subnet).is_none() {
                problems.push(format!("VM subnet {}: bad subnet {}", s.name, s.subnet));
            }
        }
        for p in &self.ip_pools {
            match Cidr::parse(&p.subnet) {
                None => problems.push(format!("IP pool {}: bad subnet {}", p.name, p.subnet)),
                Some(c) => {
                    if !c.contains(p.range_start) || !c.contains(p.range_end) {
                        problems.push(format!("IP pool {}: range outside {}", p.name, p.subnet));
                    }
                }
            }
            if u32::from(p.range_start) > u32::from(p.range_end) {
                problems.push(format!("IP pool {}: range start after end", p.name));
            }
            if let Some(s) = &p.vm_subnet
                && self.vm_subnet_by_name(s).is_none()
            {
                problems.push(format!("IP pool {}: no VM subnet {s}", p.name));
            }
            if let Some(n) = &p.logical_network
                && self.logical_network_by_name(n).is_none()
            {
                problems.push(format!("IP pool {}: no logical network {n}", p.name));
            }
        }
        for v in &self.vhds {
            if let Some(s) = &v.share
                && self.share_by_name(s).is_none()
            {
                problems.push(format!("VHD {}: no library share {s}", v.name));
            }
        }
        let check_nics = |owner: &str, nics: &[NicSpec], problems: &mut Vec<String>| {
            for n in nics {
                if let Some(net) = &n.vm_network
                    && self.vm_network_by_name(net).is_none()
                {
                    problems.push(format!("{owner}: no VM network {net}"));
                }
                if let Some(s) = &n.vm_subnet
                    && self.vm_subnet_by_name(s).is_none()
                {
                    problems.push(format!("{owner}: no VM subnet {s}"));
                }
            }
        };
        for p in &self.hardware_profiles {
            check_nics(
                &format!("hardware profile {}", p.name),
                &p.nics,
                &mut problems,
            );
        }
        for t in &self.templates {
            check_nics(&format!("template {}", t.name), &t.nics, &mut problems);
            if let Some(hw) = &t.hardware_profile
                && self.hardware_profile_by_name(hw).is_none()
            {
                problems.push(format!("template {}: no hardware profile {hw}", t.name));
            }
            for d in &t.disks {
                if let Some(v) = &d.vhd
                    && self.vhd_by_name(v).is_none()
                {
                    problems.push(format!("template {}: no VHD {v}", t.name));
                }
            }
        }
        if parse_mac(&self.mac_pool.start).is_none() || parse_mac(&self.mac_pool.end).is_none() {
            problems.push("MAC pool: bad start or end address".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(VmmError::configuration(&problems.join("; ")))
        }
    }

    // ---- lookups (names compare case-insensitively) --------------------

    /// Host group by path.
    pub fn host_group_by_path(&self, path: &str) -> Option<&HostGroup> {
        let path = path.trim_end_matches('\\');
        self.host_groups.iter().find(|g| same_name(&g.path, path))
    }

    /// Host group by id.
    pub fn host_group(&self, id: Uuid) -> Option<&HostGroup> {
        self.host_groups.iter().find(|g| g.id == id)
    }

    /// Host by id.
    pub fn host(&self, id: Uuid) -> Option<&Host> {
        self.hosts.iter().find(|h| h.id == id)
    }

    /// Host by id, mutable.
    pub fn host_mut(&mut self, id: Uuid) -> Option<&mut Host> {
        self.hosts.iter_mut().find(|h| h.id == id)
    }

    /// Host cluster by name.
    pub fn host_cluster_by_name(&self, name: &str) -> Option<&HostCluster> {
        self.host_clusters.iter().find(|c| same_name(&c.name, name))
    }

    /// Cloud by id.
    pub fn cloud(&self, id: Uuid) -> Option<&Cloud> {
        self.clouds.iter().find(|c| c.id == id)
    }

    /// Logical network by name.
    pub fn logical_network_by_name(&self, name: &str) -> Option<&LogicalNetwork> {
        self.logical_networks
            .iter()
            .find(|n| same_name(&n.name, name))
    }

    /// VM network by name.
    pub fn vm_network_by_name(&self, name: &str) -> Option<&VmNetwork> {
        self.vm_networks.iter().find(|n| same_name(&n.name, name))
    }

    /// VM network by id.
    pub fn vm_network(&self, id: Uuid) -> Option<&VmNetwork> {
        self.vm_networks.iter().find(|n| n.id == id)
    }

    /// VM subnet by name.
    pub fn vm_subnet_by_name(&self, name: &str) -> Option<&VmSubnet> {
        self.vm_subnets.iter().find(|s| same_name(&s.name, name))
    }

    /// VM subnet by id.
    pub fn vm_subnet(&self, id: Uuid) -> Option<&VmSubnet> {
        self.vm_subnets.iter().find(|s| s.id == id)
    }

    /// IP pool by id.
    pub fn ip_pool(&self, id: Uuid) -> Option<&StaticIpPool> {
        self.ip_pools.iter().find(|p| p.id == id)
    }

    /// Library share by name.
    pub fn share_by_name(&self, name: &str) -> Option<&LibraryShare> {
        self.library_shares
            .iter()
            .find(|s| same_name(&s.name, name))
    }

    /// Library share by id.
    pub fn share(&self, id: Uuid) -> Option<&LibraryShare> {
        self.library_shares.iter().find(|s| s.id == id)
    }

    /// Library VHD by name.
    pub fn vhd_by_name(&self, name: &str) -> Option<&VirtualHardDisk> {
        self.vhds.iter().find(|v| same_name(&v.name, name))
    }

    /// Library VHD by id.
    pub fn vhd(&self, id: Uuid) -> Option<&VirtualHardDisk> {
        self.vhds.iter().find(|v| v.id == id)
    }

    /// Hardware profile by name.
    pub fn hardware_profile_by_name(&self, name: &str) -> Option<&HardwareProfile> {
        self.hardware_profiles
            .iter()
            .find(|p| same_name(&p.name, name))
    }

    /// Template by id.
    pub fn template(&self, id: Uuid) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// Custom property definition by name.
    pub fn custom_property_by_name(&self, name: &str) -> Option<&CustomPropertyDef> {
        self.custom_properties
            .iter()
            .find(|c| same_name(&c.name, name))
    }

    /// Hosts in the host group at `path` or below it.
    pub fn hosts_under<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Host> + 'a {
        self.hosts
            .iter()
            .filter(move |h| path_is_under(&h.host_group, path))
    }

    /// Pools that can serve a VM subnet (by the subnet's name).
    pub fn pools_for_subnet<'a>(
        &'a self,
        subnet: &'a str,
    ) -> impl Iterator<Item = &'a StaticIpPool> + 'a {
        self.ip_pools
            .iter()
            .filter(move |p| p.vm_subnet.as_deref().is_some_and(|s| same_name(s, subnet)))
    }

    /// A realistic default inventory: two production racks and a dev group
    /// (five hosts, one cluster), a cloud, an Ubuntu template with its
    /// hardware profile and VHD, networks, an IP pool and a library share.
    pub fn default_inventory() -> Inventory {
        let gb = 1024 * 1024 * 1024u64;
        let host = |name: &str, group: &str, cluster: Option<&str>, lps: u32, mem_gb: u64| Host {
            id: Uuid::nil(),
            name: name.to_string(),
            host_group: group.to_string(),
            cluster: cluster.map(str::to_string),
            logical_processors: lps,
            cores_per_cpu: lps / 4,
            memory_mb: mem_gb * 1024,
            reserve_memory_mb: 4096,
            storage_gb: 4000,
            vm_paths: vec![if cluster.is_some() {
                "C:\\ClusterStorage\\Volume1".to_string()
            } else {
                "D:\\Hyper-V".to_string()
            }],
            maintenance: false,
            responding: true,
            available_for_placement: true,
            operating_system: "Windows Server 2022 Datacenter".to_string(),
            description: String::new(),
            custom_properties: Default::default(),
        };
        let group = |path: &str| HostGroup {
            id: Uuid::nil(),
            path: path.to_string(),
            description: String::new(),
            custom_properties: Default::default(),
        };
        let ubuntu_nic = NicSpec {
            vm_network: Some("Prod-VLAN100".to_string()),
            vm_subnet: Some("Prod-VLAN100_0".to_string()),
            mac_address_type: crate::vmm::enums::MacAddressType::Dynamic,
            ipv4_address_type: crate::vmm::enums::AddressType::Dynamic,
            synthetic: true,
            vlan_enabled: true,
            vlan_id: 100,
        };
        let ubuntu_dvd = DvdSpec {
            bus_type: BusType::SCSI,
            bus: 0,
            lun: 1,
        };
        let mut inv = Inventory {
            server: ServerInfo {
                id: Uuid::nil(),
                name: "vmm01.contoso.com".to_string(),
                port: 8100,
                product_version: "10.22.1287.0".to_string(),
                database_server_name: "sql01.contoso.com".to_string(),
                library_refresher_frequency_hours: 1,
                responding: true,
            },
            host_groups: vec![
                group("All Hosts"),
                group("All Hosts\\Prod"),
                group("All Hosts\\Prod\\Rack1"),
                group("All Hosts\\Prod\\Rack2"),
                group("All Hosts\\Dev"),
            ],
            hosts: vec![
                host(
                    "hv01.contoso.com",
                    "All Hosts\\Prod\\Rack1",
                    Some("PRODCL01.contoso.com"),
                    32,
                    256,
                ),
                host(
                    "hv02.contoso.com",
                    "All Hosts\\Prod\\Rack1",
                    Some("PRODCL01.contoso.com"),
                    32,
                    256,
                ),
                host("hv03.contoso.com", "All Hosts\\Prod\\Rack2", None, 32, 256),
                host("hv04.contoso.com", "All Hosts\\Prod\\Rack2", None, 32, 256),
                host("hv05.contoso.com", "All Hosts\\Dev", None, 16, 128),
            ],
            host_clusters: vec![HostCluster {
                id: Uuid::nil(),
                name: "PRODCL01.contoso.com".to_string(),
                host_group: "All Hosts\\Prod\\Rack1".to_string(),
                description: String::new(),
                shared_volumes: vec!["C:\\ClusterStorage\\Volume1".to_string()],
            }],
            clouds: vec![Cloud {
                id: Uuid::nil(),
                name: "Prod Cloud".to_string(),
                description: "Production workloads".to_string(),
                host_groups: vec!["All Hosts\\Prod".to_string()],
                logical_networks: vec!["Datacenter".to_string()],
                capacity: CloudCapacity {
                    vm_count: Some(100),
                    cpu_count: Some(400),
                    memory_mb: Some(1024 * 1024),
                },
                custom_properties: Default::default(),
            }],
            logical_networks: vec![LogicalNetwork {
                id: Uuid::nil(),
                name: "Datacenter".to_string(),
                description: String::new(),
                host_groups: vec!["All Hosts".to_string()],
                subnets: vec!["10.10.100.0/24".to_string(), "10.10.200.0/24".to_string()],
            }],
            vm_networks: vec![
                VmNetwork {
                    id: Uuid::nil(),
                    name: "Prod-VLAN100".to_string(),
                    logical_network: "Datacenter".to_string(),
                    isolation_type: "VLANNetwork".to_string(),
                    description: String::new(),
                },
                VmNetwork {
                    id: Uuid::nil(),
                    name: "Dev-VLAN200".to_string(),
                    logical_network: "Datacenter".to_string(),
                    isolation_type: "VLANNetwork".to_string(),
                    description: String::new(),
                },
            ],
            vm_subnets: vec![
                VmSubnet {
                    id: Uuid::nil(),
                    name: "Prod-VLAN100_0".to_string(),
                    vm_network: "Prod-VLAN100".to_string(),
                    subnet: "10.10.100.0/24".to_string(),
                    vlan_id: 100,
                },
                VmSubnet {
                    id: Uuid::nil(),
                    name: "Dev-VLAN200_0".to_string(),
                    vm_network: "Dev-VLAN200".to_string(),
                    subnet: "10.10.200.0/24".to_string(),
                    vlan_id: 200,
                },
            ],
            ip_pools: vec![StaticIpPool {
                id: Uuid::nil(),
                name: "Prod-VLAN100-Pool".to_string(),
                vm_subnet: Some("Prod-VLAN100_0".to_string()),
                logical_network: Some("Datacenter".to_string()),
                subnet: "10.10.100.0/24".to_string(),
                range_start: Ipv4Addr::new(10, 10, 100, 50),
                range_end: Ipv4Addr::new(10, 10, 100, 250),
                gateways: vec![Ipv4Addr::new(10, 10, 100, 1)],
                dns_servers: vec![Ipv4Addr::new(10, 10, 0, 10), Ipv4Addr::new(10, 10, 0, 11)],
                dns_suffix: "contoso.com".to_string(),
                dns_search_suffixes: vec!["contoso.com".to_string()],
                host_groups: vec!["All Hosts\\Prod".to_string()],
                reserved: vec![],
                description: String::new(),
            }],
            library_shares: vec![LibraryShare {
                id: Uuid::nil(),
                name: "MSSCVMMLibrary".to_string(),
                path: "\\\\vmm01.contoso.com\\MSSCVMMLibrary".to_string(),
                library_server: "vmm01.contoso.com".to_string(),
                description: "Default library share".to_string(),
                is_view_only: false,
            }],
            vhds: vec![VirtualHardDisk {
                id: Uuid::nil(),
                name: "ubuntu-24.04-server-cloudimg-amd64.vhdx".to_string(),
                share: Some("MSSCVMMLibrary".to_string()),
                directory: "VHDs".to_string(),
                location: String::new(),
                host: None,
                size_bytes: 2 * gb,
                maximum_size_bytes: 30 * gb,
                vhd_type: crate::vmm::enums::VhdType::DynamicallyExpanding,
                format: crate::vmm::enums::VhdFormat::VHDX,
                operating_system: "Ubuntu Linux 24.04 (64 bit)".to_string(),
                parent: None,
                family_name: "Ubuntu 24.04".to_string(),
                release: "24.04".to_string(),
            }],
            hardware_profiles: vec![HardwareProfile {
                id: Uuid::nil(),
                name: "Ubuntu-HW".to_string(),
                description: "2 vCPU, 4 GB, Gen 2".to_string(),
                generation: 2,
                cpu_count: 2,
                memory_mb: 4096,
                dynamic_memory: DynamicMemory::default(),
                highly_available: false,
                secure_boot: false,
                nics: vec![ubuntu_nic.clone()],
                dvd_drives: vec![ubuntu_dvd.clone()],
                owner: "CONTOSO\\Administrator".to_string(),
            }],
            templates: vec![Template {
                id: Uuid::nil(),
                name: "Ubuntu 24.04".to_string(),
                description: "Ubuntu 24.04 LTS cloud image".to_string(),
                generation: 2,
                cpu_count: 2,
                memory_mb: 4096,
                dynamic_memory: DynamicMemory::default(),
                operating_system: "Ubuntu Linux 24.04 (64 bit)".to_string(),
                hardware_profile: Some("Ubuntu-HW".to_string()),
                disks: vec![DiskSpec {
                    bus_type: BusType::SCSI,
                    bus: 0,
                    lun: 0,
                    volume_type: VolumeType::BootAndSystem,
                    vhd: Some("ubuntu-24.04-server-cloudimg-amd64.vhdx".to_string()),
                    size_mb: 0,
                    dynamic: true,
                }],
                nics: vec![ubuntu_nic],
                dvd_drives: vec![ubuntu_dvd],
                is_customizable: true,
                tag: String::new(),
                owner: "CONTOSO\\Administrator".to_string(),
                custom_properties: Default::default(),
            }],
            custom_properties: vec![CustomPropertyDef {
                id: Uuid::nil(),
                name: "Environment".to_string(),
                description: "Deployment environment".to_string(),
                members: vec![MemberType::VM, MemberType::Template],
            }],
            users: vec![
                User {
                    name: "CONTOSO\\Administrator".to_string(),
                    role: UserRoleProfile::Administrator,
                    role_name: "Administrator".to_string(),
                },
                User {
                    name: "CONTOSO\\svc-capi".to_string(),
                    role: UserRoleProfile::DelegatedAdmin,
                    role_name: "CAPI Delegated Admin".to_string(),
                },
            ],
            mac_pool: MacPool::default(),
            storage_fabric_classifications: vec![StorageFabricClassification {
                id: Uuid::nil(),
                name: "Gold FC".to_string(),
                description: "Production Fibre Channel fabric".to_string(),
            }],
            // Fabric A is zoned to every Prod host; Dev hosts have no FC.
            fibre_channel_sans: [
                "hv01.contoso.com",
                "hv02.contoso.com",
                "hv03.contoso.com",
                "hv04.contoso.com",
            ]
            .iter()
            .map(|h| FibreChannelSan {
                id: Uuid::nil(),
                name: "FabricA".to_string(),
                host: (*h).to_string(),
                classification: Some("Gold FC".to_string()),
            })
            .collect(),
        };
        inv.normalise();
        inv
    }
}
