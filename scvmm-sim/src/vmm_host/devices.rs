//! Network adapters, DVD drives, disk drives and hardware profiles.

use uuid::Uuid;

use crate::ps::eval::HostContext;
use crate::vmm::cmdlets::{
    AdapterQuery, AdapterTarget, DeviceTarget, DiskSourceRequest, DvdMediaRequest, DvdTarget,
    ExpandDisk, NewDiskDrive, NewDvdDrive, NewFibreChannelAdapter, NewHardwareProfile,
    NewNetworkAdapter, SetDiskDrive, SetDvdDrive, SetNetworkAdapter,
};
use crate::vmm::enums::{AddressType, BusType, MacAddressType, VmmEnum, VolumeType};
use crate::vmm::objects::DynamicMemory;
use crate::vmm::{ObjectKind, ObjectRef, Ref, VmmObject};

use super::args::{self, Args};
use super::convert::object_value;
use super::{Cmd, Fail, Res, VmmHost};

#[allow(clippy::too_many_arguments)]
const fn cmd(
    name: &'static str,
    class: &'static str,
    positional: &'static [&'static str],
    params: &'static [&'static str],
    switches: &'static [&'static str],
    pipeline: Option<&'static str>,
    mutating: bool,
    run: super::Run,
) -> Cmd {
    Cmd {
        name,
        class,
        positional,
        params,
        switches,
        pipeline,
        mutating,
        run,
    }
}

pub(crate) const CMDS: &[Cmd] = &[
    cmd(
        "New-SCVirtualNetworkAdapter",
        "NewNICCmdlet",
        &[],
        &[
            "VM",
            "JobGroup",
            "HardwareProfile",
            "VMNetwork",
            "VMSubnet",
            "MACAddressType",
            "MACAddress",
            "IPv4AddressType",
            "VLanEnabled",
            "VLanID",
            "SlotID",
            "Description",
        ],
        &["Synthetic", "NoConnection"],
        Some("VM"),
        true,
        new_adapter,
    ),
    cmd(
        "Set-SCVirtualNetworkAdapter",
        "SetNICCmdlet",
        &["VirtualNetworkAdapter"],
        &[
            "SlotID",
            "JobGroup",
            "VMNetwork",
            "VMSubnet",
            "IPv4AddressType",
            "IPv4AddressPools",
            "IPv4Addresses",
            "MACAddressType",
            "MACAddress",
            "VLanEnabled",
            "VLanID",
            "Description",
        ],
        &["NoConnection"],
        Some("VirtualNetworkAdapter"),
        true,
        set_adapter,
    ),
    cmd(
        "Get-SCVirtualNetworkAdapter",
        "GetNICCmdlet",
        &[],
        &["VM", "ID"],
        &["All"],
        Some("VM"),
        false,
        get_adapters,
    ),
    cmd(
        "New-SCVirtualDVDDrive",
        "NewDVDCmdlet",
        &[],
        &["VM", "JobGroup", "HardwareProfile", "Bus", "LUN", "ISO"],
        &["Link"],
        Some("VM"),
        true,
        new_dvd,
    ),
    cmd(
        "Set-SCVirtualDVDDrive",
        "SetDVDCmdlet",
        &["VirtualDVDDrive"],
        &["JobGroup", "SourceBus", "SourceLUN", "ISO", "Bus", "LUN"],
        &["Link", "NoMedia"],
        Some("VirtualDVDDrive"),
        true,
        set_dvd,
    ),
    cmd(
        "Get-SCVirtualDVDDrive",
        "GetDVDCmdlet",
        &[],
        &["VM", "ID"],
        &["All"],
        Some("VM"),
        false,
        get_dvds,
    ),
    cmd(
        "New-SCVirtualDiskDrive",
        "NewVirtualDiskDriveCmdlet",
        &[],
        &[
            "VM",
            "JobGroup",
            "Bus",
            "LUN",
            "VolumeType",
            "VirtualHardDisk",
            "VirtualHardDiskSizeMB",
            "FileName",
            "Path",
        ],
        &["IDE", "SCSI", "Dynamic", "Fixed"],
        Some("VM"),
        true,
        new_disk,
    ),
    cmd(
        "Get-SCVirtualDiskDrive",
        "GetVirtualDiskDriveCmdlet",
        &[],
        &["VM", "ID"],
        &["All"],
        Some("VM"),
        false,
        get_disks,
    ),
    cmd(
        "Expand-SCVirtualDiskDrive",
        "ExpandVirtualDiskDriveCmdlet",
        &["VirtualDiskDrive"],
        &["VirtualHardDiskSizeGB"],
        &[],
        Some("VirtualDiskDrive"),
        true,
        expand_disk,
    ),
    cmd(
        "Set-SCVirtualDiskDrive",
        "SetVirtualDiskDriveCmdlet",
        &["VirtualDiskDrive"],
        &["IOPSMaximum"],
        &[],
        Some("VirtualDiskDrive"),
        true,
        set_disk,
    ),
    cmd(
        "Get-SCStorageFabricClassification",
        "GetStorageFabricClassificationCmdlet",
        &["Name"],
        &["Name"],
        &[],
        None,
        false,
        get_fabric_classifications,
    ),
    cmd(
        "Get-SCVMHostFibreChannelVirtualSAN",
        "GetVMHostFibreChannelVirtualSANCmdlet",
        &[],
        &["VMHost", "Name"],
        &[],
        Some("VMHost"),
        false,
        get_fibre_channel_sans,
    ),
    cmd(
        "New-SCVirtualFibreChannelAdapter",
        "NewVirtualFibreChannelAdapterCmdlet",
        &[],
        &[
            "VM",
            "JobGroup",
            "HardwareProfile",
            "VirtualFibreChannelSAN",
            "StorageFabricClassification",
        ],
        &["DynamicWorldWideName"],
        Some("VM"),
        true,
        new_fibre_channel,
    ),
    cmd(
        "New-SCHardwareProfile",
        "NewHardwareProfileCmdlet",
        &[],
        &[
            "Name",
            "Description",
            "Generation",
            "CPUCount",
            "MemoryMB",
            "DynamicMemoryEnabled",
            "DynamicMemoryMinimumMB",
            "DynamicMemoryMaximumMB",
            "DynamicMemoryBufferPercentage",
            "HighlyAvailable",
            "SecureBootEnabled",
            "JobGroup",
            "Owner",
        ],
        &[],
        None,
        true,
        new_profile,
    ),
];

fn device_id(a: &Args<'_>, name: &str, kind: ObjectKind) -> Result<Uuid, Fail> {
    match a.req_object(name, kind)? {
        Ref::Id(id) => Ok(id),
        Ref::Name(n) => Err(args::cannot_convert(
            a.cmd,
            name,
            &crate::ps::eval::Value::str(&n),
            kind.type_name(),
        )
        .into()),
    }
}

/// `-VM`, `-JobGroup` or `-HardwareProfile`; `-VM` with `-JobGroup`
/// stages for `Set-SCVirtualMachine -JobGroup`.
fn device_target(a: &Args<'_>) -> Result<Option<DeviceTarget>, Fail> {
    let job_group = a.guid("JobGroup")?;
    if let Some(p) = a.object("HardwareProfile", ObjectKind::HardwareProfile)? {
        return Ok(Some(DeviceTarget::HardwareProfile(p)));
    }
    let vm = a.object("VM", ObjectKind::VirtualMachine)?;
    Ok(match (vm, job_group) {
        (_, Some(g)) => Some(DeviceTarget::JobGroup(g)),
        (Some(vm), None) => Some(DeviceTarget::Vm(vm)),
        (None, None) => None,
    })
}

fn mac_type(a: &Args<'_>) -> Result<Option<MacAddressType>, Fail> {
    Ok(a.enumeration(
        "MACAddressType",
        MacAddressType::TYPE_NAME,
        MacAddressType::parse,
    )?)
}

fn ip_type(a: &Args<'_>) -> Result<Option<AddressType>, Fail> {
    Ok(a.enumeration(
        "IPv4AddressType",
        AddressType::TYPE_NAME,
        AddressType::parse,
    )?)
}

fn submitted_opt<T: VmmObject>(
    h: &mut VmmHost,
    a: &Args<'_>,
    ctx: &mut HostContext<'_>,
    s: Option<crate::vmm::Submitted<T>>,
) -> Res {
    match s {
        None => {
            h.finish_job(a, ctx, None)?;
            Ok(Vec::new())
        }
        Some(s) => h.submitted(a, ctx, s.object_ref(), s.job.as_ref()),
    }
}

fn new_adapter(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let req = NewNetworkAdapter {
        target: device_target(a)?,
        vm_network: a.object("VMNetwork", ObjectKind::VmNetwork)?,
        vm_subnet: a.object("VMSubnet", ObjectKind::VmSubnet)?,
        mac_address_type: mac_type(a)?,
        mac_address: a.string("MACAddress")?,
        ipv4_address_type: ip_type(a)?,
        emulated: false,
        vlan_enabled: a.boolean("VLanEnabled")?,
        vlan_id: a.int("VLanID", "System.UInt16")?,
    };
    let s = h.lock().new_network_adapter(&req)?;
    submitted_opt(h, a, ctx, s)
}

fn set_adapter(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let target = match (a.int::<u32>("SlotID", "System.Int32")?, a.guid("JobGroup")?) {
        (Some(slot_id), Some(job_group)) => AdapterTarget::Slot { slot_id, job_group },
        (Some(_), None) => return Err(args::missing(a.cmd, "JobGroup").into()),
        _ => AdapterTarget::Adapter(device_id(
            a,
            "VirtualNetworkAdapter",
            ObjectKind::VirtualNetworkAdapter,
        )?),
    };
    let mut req = SetNetworkAdapter::new(target);
    req.vm_network = a.object("VMNetwork", ObjectKind::VmNetwork)?;
    req.vm_subnet = a.object("VMSubnet", ObjectKind::VmSubnet)?;
    req.no_connection = a.switch("NoConnection");
    req.ipv4_address_type = ip_type(a)?;
    req.ipv4_address_pools = a.objects("IPv4AddressPools", ObjectKind::StaticIpPool)?;
    req.ipv4_addresses = a.strings("IPv4Addresses")?;
    req.mac_address_type = mac_type(a)?;
    req.mac_address = a.string("MACAddress")?;
    req.vlan_enabled = a.boolean("VLanEnabled")?;
    req.vlan_id = a.int("VLanID", "System.UInt16")?;
    let s = h.lock().set_network_adapter(&req)?;
    submitted_opt(h, a, ctx, s)
}

fn device_query(a: &Args<'_>) -> Result<AdapterQuery, Fail> {
    Ok(AdapterQuery {
        vm: a.object("VM", ObjectKind::VirtualMachine)?,
        id: a.guid("ID")?,
    })
}

fn refs<T: VmmObject>(items: &[T]) -> Res {
    Ok(items.iter().map(|i| object_value(i.object_ref())).collect())
}

fn get_adapters(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let q = device_query(a)?;
    refs(&h.lock().get_network_adapters(&q)?)
}

fn get_dvds(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let q = device_query(a)?;
    refs(&h.lock().get_dvd_drives(&q)?)
}

fn get_disks(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let q = device_query(a)?;
    refs(&h.lock().get_disk_drives(&q)?)
}

fn new_dvd(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let req = NewDvdDrive {
        target: device_target(a)?.ok_or_else(|| args::ambiguous_set(a.cmd))?,
        bus_type: None,
        bus: a.int("Bus", "System.Byte")?.unwrap_or(1),
        lun: a.int("LUN", "System.Byte")?.unwrap_or(0),
        iso: a.object("ISO", ObjectKind::Iso)?,
        link: a.switch("Link"),
    };
    let s = h.lock().new_dvd_drive(&req)?;
    submitted_opt(h, a, ctx, s)
}

fn set_dvd(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let target = match a.guid("JobGroup")? {
        Some(job_group) if !a.has("VirtualDVDDrive") => DvdTarget::Staged {
            job_group,
            bus: a.int("SourceBus", "System.Byte")?.unwrap_or(1),
            lun: a.int("SourceLUN", "System.Byte")?.unwrap_or(0),
        },
        _ => DvdTarget::Drive(device_id(
            a,
            "VirtualDVDDrive",
            ObjectKind::VirtualDvdDrive,
        )?),
    };
    let media = match (a.switch("NoMedia"), a.object("ISO", ObjectKind::Iso)?) {
        (true, None) => DvdMediaRequest::NoMedia,
        (false, Some(iso)) => DvdMediaRequest::Iso {
            iso,
            link: a.switch("Link"),
        },
        _ => return Err(args::ambiguous_set(a.cmd).into()),
    };
    let s = h.lock().set_dvd_drive(&SetDvdDrive { target, media })?;
    submitted_opt(h, a, ctx, s)
}

fn new_disk(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let bus_type = match (a.switch("IDE"), a.switch("SCSI")) {
        (true, false) => BusType::IDE,
        (false, true) => BusType::SCSI,
        _ => return Err(args::ambiguous_set(a.cmd).into()),
    };
    let source = match a.object("VirtualHardDisk", ObjectKind::VirtualHardDisk)? {
        Some(vhd) => match a.string("FileName")? {
            Some(file_name) => DiskSourceRequest::VhdAs { vhd, file_name },
            None => DiskSourceRequest::Vhd(vhd),
        },
        None => DiskSourceRequest::Blank {
            size_mb: a
                .int("VirtualHardDiskSizeMB", "System.Int32")?
                .ok_or_else(|| args::missing(a.cmd, "VirtualHardDiskSizeMB"))?,
            dynamic: !a.switch("Fixed"),
            file_name: a.string("FileName")?,
        },
    };
    let req = NewDiskDrive {
        target: device_target(a)?.ok_or_else(|| args::ambiguous_set(a.cmd))?,
        bus_type,
        bus: a.int("Bus", "System.Byte")?.unwrap_or(0),
        lun: a.int("LUN", "System.Byte")?.unwrap_or(0),
        volume_type: a
            .enumeration("VolumeType", VolumeType::TYPE_NAME, VolumeType::parse)?
            .unwrap_or(VolumeType::None),
        source,
    };
    let s = h.lock().new_disk_drive(&req)?;
    submitted_opt(h, a, ctx, s)
}

fn expand_disk(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let drive = device_id(a, "VirtualDiskDrive", ObjectKind::VirtualDiskDrive)?;
    let size_gb = a
        .int("VirtualHardDiskSizeGB", "System.Int32")?
        .ok_or_else(|| args::missing(a.cmd, "VirtualHardDiskSizeGB"))?;
    let s = h.lock().expand_disk(&ExpandDisk { drive, size_gb })?;
    h.submitted(
        a,
        ctx,
        ObjectRef::new(ObjectKind::VirtualDiskDrive, drive),
        s.job.as_ref(),
    )
}

fn set_disk(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let drive = device_id(a, "VirtualDiskDrive", ObjectKind::VirtualDiskDrive)?;
    let iops_maximum = a.int::<u64>("IOPSMaximum", "System.UInt64")?;
    if iops_maximum.is_none() {
        return Err(args::missing(a.cmd, "IOPSMaximum").into());
    }
    let s = h.lock().set_disk_drive(&SetDiskDrive {
        drive,
        iops_maximum,
    })?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn get_fabric_classifications(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let name = a.string("Name")?;
    refs(&h.lock().get_fabric_classifications(name.as_deref()))
}

fn get_fibre_channel_sans(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let host = a.object("VMHost", ObjectKind::Host)?;
    let name = a.string("Name")?;
    refs(
        &h.lock()
            .get_fibre_channel_sans(host.as_ref(), name.as_deref())?,
    )
}

fn new_fibre_channel(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let req = NewFibreChannelAdapter {
        target: device_target(a)?.ok_or_else(|| args::ambiguous_set(a.cmd))?,
        virtual_san: a.object("VirtualFibreChannelSAN", ObjectKind::FibreChannelSan)?,
        classification: a.object(
            "StorageFabricClassification",
            ObjectKind::StorageFabricClassification,
        )?,
    };
    let s = h.lock().new_fibre_channel_adapter(&req)?;
    submitted_opt(h, a, ctx, s)
}

fn new_profile(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let dynamic_memory = match a.boolean("DynamicMemoryEnabled")? {
        Some(enabled) => Some(DynamicMemory {
            enabled,
            minimum_mb: a
                .int("DynamicMemoryMinimumMB", "System.Int32")?
                .unwrap_or(0),
            maximum_mb: a
                .int("DynamicMemoryMaximumMB", "System.Int32")?
                .unwrap_or(0),
            buffer_percentage: a
                .int("DynamicMemoryBufferPercentage", "System.Int32")?
                .unwrap_or(20),
        }),
        None => None,
    };
    let req = NewHardwareProfile {
        name: a.req_string("Name")?,
        description: a.string("Description")?.unwrap_or_default(),
        generation: a.int("Generation", "System.Int32")?,
        cpu_count: a.int("CPUCount", "System.Int32")?,
        memory_mb: a.int("MemoryMB", "System.Int32")?,
        dynamic_memory,
        highly_available: a.boolean("HighlyAvailable")?.unwrap_or(false),
        secure_boot: a.boolean("SecureBootEnabled")?.unwrap_or(false),
        job_group: a.guid("JobGroup")?,
    };
    let p = h.lock().new_hardware_profile(&req)?;
    h.finish_job(a, ctx, None)?;
    Ok(vec![object_value(p.object_ref())])
}
