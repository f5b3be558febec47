//! Pure builders from the ScvmmMachine spec (plus the failure domain, the
//! resolved addresses and the seed) to what SCVMM and cloud-init get.

use crate::api::ScvmmMachine;
use crate::api::cluster::ScvmmFailureDomain;
use crate::api::machine::{Network, NetworkDevice, ScvmmMachineSpec};
use crate::bootstrap::DeviceConfig;
use crate::controller::quantity;
use crate::scvmm::{
    CreateVm, DiskFollowUp, DiskRequest, DynamicMemoryMb, FibreChannelRequest, HardwareOptions,
    NicRequest, Placement, VmSource,
};
use std::collections::BTreeMap;

/// Addresses resolved for one device beyond what the spec states.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedDevice {
    /// CIDRs from IPAM claims and SCVMM pool grants.
    pub addresses: Vec<String>,
    /// Gateway from the pool, when the spec gives none.
    pub gateway4: Option<String>,
    /// DNS servers from the pool, when the spec gives none.
    pub nameservers: Vec<String>,
}

/// The VM name in SCVMM.
pub fn vm_name(sm: &ScvmmMachine) -> String {
    sm.spec
        .vm_name
        .clone()
        .or_else(|| sm.metadata.name.clone())
        .unwrap_or_default()
}

/// The guest host name.
pub fn hostname(sm: &ScvmmMachine) -> String {
    sm.spec
        .hostname
        .clone()
        .unwrap_or_else(|| vm_name(sm).to_ascii_lowercase())
}

/// The network settings that apply: the machine's own, else the failure
/// domain's defaults.
pub fn network<'a>(
    spec: &'a ScvmmMachineSpec,
    fd: Option<&'a ScvmmFailureDomain>,
) -> Option<&'a Network> {
    spec.network
        .as_ref()
        .or_else(|| fd.and_then(|f| f.networking.as_ref()))
}

/// Where the VM goes: the machine's cloud or host group, else the failure
/// domain's.
pub fn placement(
    spec: &ScvmmMachineSpec,
    fd: Option<&ScvmmFailureDomain>,
    fd_name: Option<&str>,
) -> Result<Placement, String> {
    if let Some(c) = &spec.cloud {
        return Ok(Placement::Cloud(c.clone()));
    }
    if let Some(h) = &spec.host_group {
        return Ok(Placement::HostGroup(h.clone()));
    }
    match (fd, fd_name) {
        (Some(f), _) => f
            .cloud
            .clone()
            .map(Placement::Cloud)
            .or_else(|| f.host_group.clone().map(Placement::HostGroup))
            .ok_or_else(|| format!("failure domain {:?} has neither cloud nor hostGroup", f.name)),
        (None, Some(name)) => Err(format!(
            "the Machine asks for failure domain {name:?}, which the ScvmmCluster does not define in spec.failureDomains"
        )),
        (None, None) => Err(
            "no placement: set spec.cloud or spec.hostGroup on the ScvmmMachine(Template), or define failure domains on the ScvmmCluster".into(),
        ),
    }
}

/// The seed's view of the network devices.
pub fn seed_devices(net: Option<&Network>, resolved: &[ResolvedDevice]) -> Vec<DeviceConfig> {
    let Some(net) = net else { return vec![] };
    net.devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let r = resolved.get(i).cloned().unwrap_or_default();
            device_config(d, net, r)
        })
        .collect()
}

fn device_config(d: &NetworkDevice, net: &Network, r: ResolvedDevice) -> DeviceConfig {
    let mut addresses = d.addresses.clone();
    addresses.extend(r.addresses);
    let mut search = d.search_domains.clone();
    if search.is_empty()
        && let Some(domain) = &net.domain
    {
        search.push(domain.clone());
    }
    DeviceConfig {
        name: d.name.clone(),
        mac_address: d.mac_address.clone(),
        dhcp4: d.dhcp4.unwrap_or(false),
        addresses,
        gateway4: d.gateway4.clone().or(r.gateway4),
        gateway6: d.gateway6.clone(),
        nameservers: if d.nameservers.is_empty() {
            r.nameservers
        } else {
            d.nameservers.clone()
        },
        search_domains: search,
        mtu: d.mtu,
    }
}

/// The create request. `pool_addresses[i]` holds the SCVMM-pool addresses
/// (plain IPs) granted to device `i`.
#[allow(clippy::too_many_arguments)]
pub fn create_request(
    sm: &ScvmmMachine,
    placement: Placement,
    net: Option<&Network>,
    pool_addresses: &[Vec<String>],
    instance_id: &str,
    cluster_name: &str,
    cluster_marker: Option<&str>,
    seed_iso: Vec<u8>,
) -> Result<CreateVm, String> {
    let spec = &sm.spec;
    let source = match (&spec.vm_template, &spec.hardware_profile) {
        (Some(t), _) => VmSource::Template { name: t.clone() },
        (None, Some(p)) => VmSource::HardwareProfile {
            profile: p.clone(),
            generation: spec.generation,
            operating_system: spec.operating_system.clone(),
        },
        (None, None) => {
            return Err(
                "set spec.vmTemplate, or spec.hardwareProfile with a disk naming a vhd".into(),
            );
        }
    };
    let memory_mb = spec
        .memory
        .as_deref()
        .map(quantity::mebibytes)
        .transpose()
        .map_err(|e| format!("spec.memory: {e}"))?;
    let dynamic_memory = spec
        .dynamic_memory
        .as_ref()
        .map(|d| -> Result<DynamicMemoryMb, String> {
            Ok(DynamicMemoryMb {
                minimum_mb: quantity::mebibytes(&d.minimum)
                    .map_err(|e| format!("spec.dynamicMemory.minimum: {e}"))?,
                maximum_mb: quantity::mebibytes(&d.maximum)
                    .map_err(|e| format!("spec.dynamicMemory.maximum: {e}"))?,
                buffer_percentage: d.buffer_percentage,
            })
        })
        .transpose()?;
    let disks = disk_requests(spec)?;
    let nics = net
        .map(|n| {
            n.devices
                .iter()
                .enumerate()
                .map(|(i, d)| NicRequest {
                    vm_network: d.vm_network.clone(),
                    vm_subnet: d.vm_subnet.clone(),
                    mac_address: d.mac_address.clone(),
                    ipv4_addresses: pool_addresses.get(i).cloned().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    // The marker property is set by the create script from instance_id.
    let custom_properties: BTreeMap<String, String> = spec.custom_properties.clone();
    let options = spec.vm_options.clone().unwrap_or_default();
    let description = match &spec.description {
        Some(d) => d.clone(),
        None => format!(
            "Cluster API machine {}/{} of cluster {cluster_name}",
            sm.metadata.namespace.clone().unwrap_or_default(),
            sm.metadata.name.clone().unwrap_or_default()
        ),
    };
    let cluster = cluster_marker.unwrap_or_default().to_string();
    Ok(CreateVm {
        instance_id: instance_id.to_string(),
        cluster,
        name: vm_name(sm),
        source,
        placement,
        cpu_count: spec.cpu_count,
        memory_mb,
        dynamic_memory,
        disks,
        nics,
        availability_sets: spec.availability_sets.clone(),
        custom_properties,
        tag: spec.tag.clone(),
        description: Some(description),
        start_action: options.start_action.map(|a| format!("{a:?}")),
        stop_action: options.stop_action.map(|a| format!("{a:?}")),
        checkpoint_type: options.checkpoint_type.map(|a| format!("{a:?}")),
        hardware: HardwareOptions {
            cpu_limit_for_migration: options.cpu_limit_for_migration,
            cpu_limit_functionality: options.cpu_limit_functionality,
            nested_virtualization: options.enable_nested_virtualization,
            fibre_channel: spec
                .fibre_channel
                .iter()
                .map(|f| FibreChannelRequest {
                    virtual_san: f.virtual_san.clone(),
                    storage_fabric_classification: f.storage_fabric_classification.clone(),
                })
                .collect(),
        },
        seed_iso,
        seed_iso_name: seed_iso_name(instance_id),
    })
}

/// The disks as SCVMM gets them.
pub fn disk_requests(spec: &ScvmmMachineSpec) -> Result<Vec<DiskRequest>, String> {
    spec.disks
        .iter()
        .enumerate()
        .map(|(i, d)| -> Result<DiskRequest, String> {
            Ok(DiskRequest {
                size_gb: d
                    .size
                    .as_deref()
                    .map(quantity::gibibytes)
                    .transpose()
                    .map_err(|e| format!("spec.disks[{i}].size: {e}"))?,
                vhd: d.vhd.clone(),
                dynamic: d.dynamic.unwrap_or(true),
                volume_type: d.volume_type.map(|v| format!("{v:?}")),
                storage_qos_policy: d.storage_qos_policy.clone(),
                iops_maximum: d.iops_maximum,
            })
        })
        .collect()
}

/// What the first start must still do to the disks: grow library copies
/// and set IOPS caps, which VMM takes only on the drives of an existing
/// VM.
pub fn disk_follow_ups(spec: &ScvmmMachineSpec) -> Result<Vec<DiskFollowUp>, String> {
    Ok(disk_requests(spec)?
        .into_iter()
        .enumerate()
        .filter(|(_, d)| d.needs_follow_up())
        .map(|(index, d)| DiskFollowUp {
            index,
            // A new blank disk is made at its size already.
            size_gb: d.size_gb.filter(|_| d.vhd.is_some()),
            iops_maximum: d.iops_maximum,
        })
        .collect())
}

/// The seed's file name in the library share.
pub fn seed_iso_name(instance_id: &str) -> String {
    format!("capi-seed-{instance_id}.iso")
}

/// The owner string SCVMM pool grants carry, so they can be found and
/// revoked again (also after `clusterctl move`).
pub fn grant_owner(instance_id: &str, device: &str) -> String {
    format!("capi-scvmm:{instance_id}:{device}")
}

/// The instance UUID inside a providerID.
pub fn instance_id(provider_id: &str) -> Option<&str> {
    provider_id.strip_prefix("scvmm://")
}
