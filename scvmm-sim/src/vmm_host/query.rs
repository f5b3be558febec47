//! The Get cmdlets of the fabric, library and VMs.

use crate::ps::eval::HostContext;
use crate::vmm::cmdlets::{
    HostQuery, IpPoolQuery, NameId, VhdQuery, VmNetworkQuery, VmQuery, VmSubnetQuery,
};
use crate::vmm::enums::MemberType;
use crate::vmm::{ObjectKind, VmmObject};

use super::args::Args;
use super::convert::object_value;
use super::{Cmd, Res, VmmHost};

const fn get(
    name: &'static str,
    class: &'static str,
    positional: &'static [&'static str],
    params: &'static [&'static str],
    switches: &'static [&'static str],
    pipeline: Option<&'static str>,
    run: super::Run,
) -> Cmd {
    Cmd {
        name,
        class,
        positional,
        params,
        switches,
        pipeline,
        mutating: false,
        run,
    }
}

pub(crate) const CMDS: &[Cmd] = &[
    get(
        "Get-SCVMHostGroup",
        "GetHostGroupCmdlet",
        &["Name"],
        &["ID", "ParentHostGroup"],
        &["All"],
        None,
        host_groups,
    ),
    get(
        "Get-SCVMHost",
        "GetHostCmdlet",
        &["ComputerName"],
        &["ID", "VMHostGroup", "VMHostCluster"],
        &["All"],
        None,
        hosts,
    ),
    get(
        "Get-SCVMHostCluster",
        "GetHostClusterCmdlet",
        &["Name"],
        &["ID", "VMHostGroup"],
        &["All"],
        None,
        host_clusters,
    ),
    get(
        "Get-SCCloud",
        "GetCloudCmdlet",
        &["Name"],
        &["ID", "VMHostGroup"],
        &["All"],
        None,
        clouds,
    ),
    get(
        "Get-SCVMTemplate",
        "GetTemplateCmdlet",
        &["Name"],
        &["ID"],
        &["All"],
        None,
        templates,
    ),
    get(
        "Get-SCHardwareProfile",
        "GetHardwareProfileCmdlet",
        &["Name"],
        &["ID"],
        &["All"],
        None,
        hardware_profiles,
    ),
    get(
        "Get-SCVirtualHardDisk",
        "GetVirtualHardDiskCmdlet",
        &["Name"],
        &["ID", "VM", "VMTemplate"],
        &["All"],
        Some("VM"),
        vhds,
    ),
    get(
        "Get-SCLogicalNetwork",
        "GetLogicalNetworkCmdlet",
        &["Name"],
        &["ID"],
        &["All"],
        None,
        logical_networks,
    ),
    get(
        "Get-SCVMNetwork",
        "GetVMNetworkCmdlet",
        &["Name"],
        &["ID", "LogicalNetwork"],
        &["All"],
        None,
        vm_networks,
    ),
    get(
        "Get-SCVMSubnet",
        "GetVMSubnetCmdlet",
        &["Name"],
        &["ID", "VMNetwork", "Subnet"],
        &["All"],
        None,
        vm_subnets,
    ),
    get(
        "Get-SCStaticIPAddressPool",
        "GetStaticIPAddressPoolCmdlet",
        &["Name"],
        &["ID", "VMSubnet", "VMHostGroup", "Subnet"],
        &["All", "IPv4", "IPv6"],
        None,
        ip_pools,
    ),
    get(
        "Get-SCLibraryShare",
        "GetLibraryShareCmdlet",
        &[],
        &["ID"],
        &["All"],
        None,
        shares,
    ),
    get(
        "Get-SCISO",
        "GetISOCmdlet",
        &["Name"],
        &["ID"],
        &["All"],
        None,
        isos,
    ),
    get(
        "Get-SCCustomProperty",
        "GetCustomPropertyCmdlet",
        &["Name"],
        &["ID", "Member"],
        &["All"],
        None,
        custom_properties,
    ),
    get(
        "Get-SCVirtualMachine",
        "GetVMCmdlet",
        &["Name"],
        &["ID", "VMHost", "Cloud"],
        &["All"],
        None,
        vms,
    ),
];

fn name_id(a: &Args<'_>) -> Result<NameId, super::Fail> {
    Ok(NameId {
        name: a.string("Name")?,
        id: a.guid("ID")?,
    })
}

fn out<T: VmmObject>(items: &[T]) -> Res {
    Ok(items.iter().map(|i| object_value(i.object_ref())).collect())
}

fn host_groups(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    let parent = a.object("ParentHostGroup", ObjectKind::HostGroup)?;
    out(&h.lock().get_host_groups(&q, parent.as_ref())?)
}

fn hosts(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = HostQuery {
        computer_name: a.string("ComputerName")?,
        id: a.guid("ID")?,
        host_group: a.object("VMHostGroup", ObjectKind::HostGroup)?,
        host_cluster: a.string("VMHostCluster")?,
    };
    out(&h.lock().get_hosts(&q)?)
}

fn host_clusters(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    let group = a.object("VMHostGroup", ObjectKind::HostGroup)?;
    let mut vmm = h.lock();
    let path = match group {
        Some(g) => {
            let id = vmm.resolve_host_group(&g, a.cmd)?;
            vmm.inventory().host_group(id).map(|g| g.path.clone())
        }
        None => None,
    };
    let clusters: Vec<_> = vmm
        .get_host_clusters(&q)?
        .into_iter()
        .filter(|c| {
            path.as_deref()
                .is_none_or(|p| c.host_group.eq_ignore_ascii_case(p))
        })
        .collect();
    out(&clusters)
}

fn clouds(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    out(&h.lock().get_clouds(&q)?)
}

fn templates(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    out(&h.lock().get_templates(&q)?)
}

fn hardware_profiles(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    out(&h.lock().get_hardware_profiles(&q)?)
}

fn vhds(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = VhdQuery {
        name: a.string("Name")?,
        id: a.guid("ID")?,
        vm: a.object("VM", ObjectKind::VirtualMachine)?,
        template: a.object("VMTemplate", ObjectKind::Template)?,
    };
    out(&h.lock().get_virtual_hard_disks(&q)?)
}

fn logical_networks(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    out(&h.lock().get_logical_networks(&q)?)
}

fn vm_networks(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = VmNetworkQuery {
        name: a.string("Name")?,
        id: a.guid("ID")?,
        logical_network: a.object("LogicalNetwork", ObjectKind::LogicalNetwork)?,
    };
    out(&h.lock().get_vm_networks(&q)?)
}

fn vm_subnets(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = VmSubnetQuery {
        name: a.string("Name")?,
        id: a.guid("ID")?,
        vm_network: a.object("VMNetwork", ObjectKind::VmNetwork)?,
        subnet: a.string("Subnet")?,
    };
    out(&h.lock().get_vm_subnets(&q)?)
}

fn ip_pools(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = IpPoolQuery {
        name: a.string("Name")?,
        id: a.guid("ID")?,
        vm_subnet: a.object("VMSubnet", ObjectKind::VmSubnet)?,
        host_group: a.object("VMHostGroup", ObjectKind::HostGroup)?,
        subnet: a.string("Subnet")?,
    };
    out(&h.lock().get_ip_pools(&q)?)
}

fn shares(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let id = a.guid("ID")?;
    out(&h.lock().get_library_shares(id)?)
}

fn isos(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    out(&h.lock().get_isos(&q)?)
}

fn custom_properties(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = name_id(a)?;
    let member = a.enumeration(
        "Member",
        "Microsoft.SystemCenter.VirtualMachineManager.CustomPropertyMemberType",
        MemberType::parse,
    )?;
    out(&h.lock().get_custom_properties(&q, member)?)
}

fn vms(h: &mut VmmHost, a: &Args<'_>, _c: &mut HostContext<'_>) -> Res {
    let q = VmQuery {
        name: a.string("Name")?,
        id: a.guid("ID")?,
        host: a.object("VMHost", ObjectKind::Host)?,
        cloud: a.object("Cloud", ObjectKind::Cloud)?,
    };
    out(&h.lock().get_vms(&q)?)
}
