//! Placement: choosing a host for a VM in a host group or cloud, and the
//! capacity checks behind it.
//!
//! A host can take a VM when its agent responds, it is not in maintenance
//! mode, it is available for placement, it has at least as many logical
//! processors as the VM has virtual CPUs, and the startup memory of every
//! VM placed on it (running or not, as VMM reserves it for them) plus the
//! new VM's fits in its memory less the host reserve. Among those, the host
//! with the most free memory wins (VMM's default "load balance" goal);
//! hosts already running a VM of the same availability set rate lower.

use uuid::Uuid;

use super::Vmm;
use super::config::DuplicateNames;
use super::errors::{VmmError, VmmResult};
use super::inventory::same_name;
use super::objects::{Host, path_is_under};

/// Where a VM should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlacementTarget {
    /// This host.
    Host(Uuid),
    /// Any host in this host group or below.
    HostGroup(Uuid),
    /// Any host in the cloud's host groups.
    Cloud(Uuid),
}

/// What the VM needs.
#[derive(Clone, Debug)]
pub struct Demand<'a> {
    /// VM name (for messages and the duplicate-name switch).
    pub name: &'a str,
    /// Virtual CPUs.
    pub cpu_count: u32,
    /// Startup memory (MB).
    pub memory_mb: u64,
    /// Availability sets.
    pub availability_sets: &'a [String],
    /// A VM to leave out of the usage figures (the VM being resized).
    pub exclude: Option<Uuid>,
}

/// How much of a host VMs use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostUsage {
    /// VMs placed on the host.
    pub vms: u32,
    /// Their virtual CPUs.
    pub cpus: u32,
    /// Their startup memory (MB).
    pub memory_mb: u64,
}

impl Vmm {
    /// Usage of `host` by the VMs placed on it, leaving out `exclude`.
    pub fn host_usage(&self, host: Uuid, exclude: Option<Uuid>) -> HostUsage {
        self.state
            .vms
            .iter()
            .filter(|v| v.host == Some(host) && Some(v.id) != exclude)
            .fold(HostUsage::default(), |u, v| HostUsage {
                vms: u.vms + 1,
                cpus: u.cpus + v.cpu_count,
                memory_mb: u.memory_mb + v.memory_mb,
            })
    }

    /// Usage of a cloud by its VMs, leaving out `exclude`.
    pub fn cloud_usage(&self, cloud: Uuid, exclude: Option<Uuid>) -> HostUsage {
        self.state
            .vms
            .iter()
            .filter(|v| v.cloud == Some(cloud) && Some(v.id) != exclude)
            .fold(HostUsage::default(), |u, v| HostUsage {
                vms: u.vms + 1,
                cpus: u.cpus + v.cpu_count,
                memory_mb: u.memory_mb + v.memory_mb,
            })
    }

    /// Error 9102 when `demand` would exceed the cloud's limits.
    pub(crate) fn check_cloud_capacity(&self, cloud: Uuid, demand: &Demand<'_>) -> VmmResult<()> {
        let Some(c) = self.inventory.cloud(cloud) else {
            return Err(VmmError::not_found("Cloud", &cloud.to_string()));
        };
        let used = self.cloud_usage(cloud, demand.exclude);
        if c.capacity.vm_count.is_some_and(|max| used.vms + 1 > max) {
            return Err(VmmError::cloud_capacity(&c.name, "virtual machine count"));
        }
        if c.capacity
            .cpu_count
            .is_some_and(|max| used.cpus + demand.cpu_count > max)
        {
            return Err(VmmError::cloud_capacity(&c.name, "virtual CPU"));
        }
        if c.capacity
            .memory_mb
            .is_some_and(|max| used.memory_mb + demand.memory_mb > max)
        {
            return Err(VmmError::cloud_capacity(&c.name, "memory"));
        }
        Ok(())
    }

    /// Why `host` cannot take `demand`, or `None` when it can.
    fn unsuitable(&self, host: &Host, demand: &Demand<'_>) -> Option<VmmError> {
        if host.maintenance {
            return Some(VmmError::host_in_maintenance(&host.name));
        }
        if !host.responding {
            return Some(VmmError::host_unreachable(&host.name));
        }
        if !host.available_for_placement {
            return Some(VmmError::no_suitable_host(
                demand.name,
                &format!("{} is not available for placement", host.name),
            ));
        }
        if demand.cpu_count > host.logical_processors {
            return Some(VmmError::no_suitable_host(
                demand.name,
                &format!(
                    "{} has {} logical processors, the virtual machine needs {}",
                    host.name, host.logical_processors, demand.cpu_count
                ),
            ));
        }
        let used = self.host_usage(host.id, demand.exclude);
        let capacity = host.memory_mb.saturating_sub(host.reserve_memory_mb);
        if used.memory_mb + demand.memory_mb > capacity {
            return Some(VmmError::no_suitable_host(
                demand.name,
                &format!(
                    "{} has {} MB of memory available, the virtual machine needs {} MB",
                    host.name,
                    capacity.saturating_sub(used.memory_mb),
                    demand.memory_mb
                ),
            ));
        }
        if self.behaviour.duplicate_names == DuplicateNames::RejectOnSameHost
            && self.state.vms.iter().any(|v| {
                v.host == Some(host.id)
                    && Some(v.id) != demand.exclude
                    && same_name(&v.name, demand.name)
            })
        {
            return Some(VmmError::duplicate_name_on_host(demand.name, &host.name));
        }
        None
    }

    /// Chooses a host for `demand` in `target`, or says why none fits.
    pub fn place(&self, target: PlacementTarget, demand: &Demand<'_>) -> VmmResult<Uuid> {
        let candidates: Vec<&Host> = match target {
            PlacementTarget::Host(id) => {
                let host = self
                    .inventory
                    .host(id)
                    .ok_or_else(|| VmmError::not_found("VMHost", &id.to_string()))?;
                return match self.unsuitable(host, demand) {
                    Some(e) => Err(e),
                    None => Ok(id),
                };
            }
            PlacementTarget::HostGroup(id) => {
                let group = self
                    .inventory
                    .host_group(id)
                    .ok_or_else(|| VmmError::not_found("VMHostGroup", &id.to_string()))?;
                self.inventory.hosts_under(&group.path).collect()
            }
            PlacementTarget::Cloud(id) => {
                let cloud = self
                    .inventory
                    .cloud(id)
                    .ok_or_else(|| VmmError::not_found("Cloud", &id.to_string()))?;
                self.check_cloud_capacity(id, demand)?;
                self.inventory
                    .hosts
                    .iter()
                    .filter(|h| {
                        cloud
                            .host_groups
                            .iter()
                            .any(|g| path_is_under(&h.host_group, g))
                    })
                    .collect()
            }
        };
        if candidates.is_empty() {
            return Err(VmmError::no_suitable_host(
                demand.name,
                "there are no hosts in the target",
            ));
        }
        let mut reasons = Vec::new();
        let mut best: Option<(i64, &Host)> = None;
        for host in candidates {
            if let Some(e) = self.unsuitable(host, demand) {
                reasons.push(e.problem);
                continue;
            }
            let used = self.host_usage(host.id, demand.exclude);
            let free = host
                .memory_mb
                .saturating_sub(host.reserve_memory_mb)
                .saturating_sub(used.memory_mb);
            let same_set = self.state.vms.iter().any(|v| {
                v.host == Some(host.id)
                    && v.availability_sets
                        .iter()
                        .any(|s| demand.availability_sets.iter().any(|d| same_name(s, d)))
            });
            // Availability sets spread VMs: a host already holding a member
            // of the set only wins when nothing else fits.
            let rating =
                i64::try_from(free).unwrap_or(i64::MAX) - if same_set { 1 << 40 } else { 0 };
            let better = match best {
                None => true,
                Some((r, b)) => {
                    rating > r || (rating == r && host.name.to_lowercase() < b.name.to_lowercase())
                }
            };
            if better {
                best = Some((rating, host));
            }
        }
        match best {
            Some((_, host)) => Ok(host.id),
            None => Err(VmmError::no_suitable_host(demand.name, &reasons.join(" "))),
        }
    }
}
