//! Virtual machines, VM configurations and custom property values.

use crate::ps::eval::{HostContext, Value};
use crate::vmm::cmdlets::{
    NameId, NewCustomProperty, NewVm, NewVmConfiguration, RepairVm, SetCustomPropertyValue, SetVm,
    SetVmConfiguration, StopMode, StopVm, VmSource,
};
use crate::vmm::enums::MemberType;
use crate::vmm::specs::VmPropertyChange;
use crate::vmm::{ObjectKind, ObjectRef, Ref, VmmObject};

use super::args::{self, Args};
use super::convert::{inline_object, object_ref_of, object_value};
use super::{Cmd, Fail, Res, VmmHost};

const fn mutating(
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
        mutating: true,
        run,
    }
}

const NEW_VM_PARAMS: &[&str] = &[
    "VMTemplate",
    "VMHost",
    "Path",
    "VMConfiguration",
    "Cloud",
    "VirtualHardDisk",
    "HardwareProfile",
    "Generation",
    "Description",
    "Owner",
    "UserRole",
    "CPUCount",
    "ProcessorCount",
    "MemoryMB",
    "DynamicMemoryEnabled",
    "DynamicMemoryMinimumMB",
    "DynamicMemoryMaximumMB",
    "DynamicMemoryBufferPercentage",
    "OperatingSystem",
    "ComputerName",
    "StartAction",
    "StopAction",
    "HighlyAvailable",
    "JobGroup",
    "DelayStartSeconds",
    "Tag",
    "CPULimitForMigration",
    "CPULimitFunctionality",
    "EnableNestedVirtualization",
    // Accepted, not modelled: guest customization and Hyper-V options.
    "SecureBootEnabled",
    "CheckpointType",
    "GuestOSProfile",
    "LocalAdministratorCredential",
    "Domain",
    "LinuxDomainName",
    "ProductKey",
    "TimeZone",
];

const SET_VM_PARAMS: &[&str] = &[
    "Name",
    "Description",
    "Owner",
    "UserRole",
    "Tag",
    "CPUCount",
    "ProcessorCount",
    "MemoryMB",
    "DynamicMemoryEnabled",
    "DynamicMemoryMinimumMB",
    "DynamicMemoryMaximumMB",
    "DynamicMemoryBufferPercentage",
    "StartAction",
    "StopAction",
    "AvailabilitySetNames",
    "HighlyAvailable",
    "JobGroup",
    "DelayStartSeconds",
];

pub(crate) const CMDS: &[Cmd] = &[
    mutating(
        "New-SCVirtualMachine",
        "NewVMCmdlet",
        &["Name"],
        NEW_VM_PARAMS,
        &[
            "StartVM",
            "UseDiffDiskOptimization",
            "SkipInstallVirtualizationGuestServices",
            "BlockDynamicOptimization",
            "ReturnImmediately",
            "UseLocalVirtualHardDisk",
        ],
        Some("VMConfiguration"),
        new_vm,
    ),
    mutating(
        "Set-SCVirtualMachine",
        "SetVMCmdlet",
        &["VM"],
        SET_VM_PARAMS,
        &[],
        Some("VM"),
        set_vm,
    ),
    mutating(
        "Start-SCVirtualMachine",
        "StartVMCmdlet",
        &["VM"],
        &[],
        &[],
        Some("VM"),
        start_vm,
    ),
    mutating(
        "Stop-SCVirtualMachine",
        "StopVMCmdlet",
        &["VM"],
        &[],
        &["Force", "Shutdown", "SaveState", "DiscardSavedState"],
        Some("VM"),
        stop_vm,
    ),
    mutating(
        "Suspend-SCVirtualMachine",
        "SuspendVMCmdlet",
        &["VM"],
        &[],
        &[],
        Some("VM"),
        suspend_vm,
    ),
    mutating(
        "Resume-SCVirtualMachine",
        "ResumeVMCmdlet",
        &["VM"],
        &[],
        &[],
        Some("VM"),
        resume_vm,
    ),
    mutating(
        "Remove-SCVirtualMachine",
        "RemoveVMCmdlet",
        &["VM"],
        &[],
        &["Force", "SkipFileRemoval"],
        Some("VM"),
        remove_vm,
    ),
    mutating(
        "Read-SCVirtualMachine",
        "RefreshVMCmdlet",
        &["VM"],
        &[],
        &["Force"],
        Some("VM"),
        read_vm,
    ),
    mutating(
        "Repair-SCVirtualMachine",
        "RepairVMCmdlet",
        &["VM"],
        &[],
        &[
            "Dismiss",
            "Force",
            "Retry",
            "Undo",
            "Agent",
            "MigrateSuccess",
        ],
        Some("VM"),
        repair_vm,
    ),
    mutating(
        "New-SCVMConfiguration",
        "NewVMConfigurationCmdlet",
        &[],
        &[
            "VMTemplate",
            "Name",
            "VMHostGroup",
            "Cloud",
            "Description",
            "AvailabilitySetNames",
        ],
        &[],
        None,
        new_config,
    ),
    mutating(
        "Set-SCVMConfiguration",
        "SetVMConfigurationCmdlet",
        &["VMConfiguration"],
        &[
            "VMHost",
            "PinVMHost",
            "VMHostGroup",
            "Cloud",
            "VMLocation",
            "ComputerName",
            "Name",
            "Description",
            "Tag",
            "AvailabilitySetNames",
        ],
        &[],
        Some("VMConfiguration"),
        set_config,
    ),
    mutating(
        "Update-SCVMConfiguration",
        "UpdateVMConfigurationCmdlet",
        &["VMConfiguration"],
        &[],
        &["ValidationOnly"],
        Some("VMConfiguration"),
        update_config,
    ),
    mutating(
        "Remove-SCVMConfiguration",
        "RemoveVMConfigurationCmdlet",
        &["VMConfiguration"],
        &[],
        &[],
        Some("VMConfiguration"),
        remove_config,
    ),
    Cmd {
        name: "Get-SCVMConfiguration",
        class: "GetVMConfigurationCmdlet",
        positional: &["Name"],
        params: &["ID"],
        switches: &["All"],
        pipeline: None,
        mutating: false,
        run: get_config,
    },
    mutating(
        "New-SCCustomProperty",
        "NewCustomPropertyCmdlet",
        &["Name"],
        &["Description", "AddMember"],
        &[],
        None,
        new_custom_property,
    ),
    mutating(
        "Set-SCCustomPropertyValue",
        "SetCustomPropertyValueCmdlet",
        &[],
        &["InputObject", "CustomProperty", "Value", "JobGroup"],
        &[],
        Some("InputObject"),
        set_cp_value,
    ),
    Cmd {
        name: "Get-SCCustomPropertyValue",
        class: "GetCustomPropertyValueCmdlet",
        positional: &[],
        params: &["InputObject", "CustomProperty"],
        switches: &[],
        pipeline: Some("InputObject"),
        mutating: false,
        run: get_cp_value,
    },
    mutating(
        "Remove-SCCustomPropertyValue",
        "RemoveCustomPropertyValueCmdlet",
        &[],
        &["InputObject", "CustomProperty"],
        &[],
        Some("InputObject"),
        remove_cp_value,
    ),
];

fn vm_ref(a: &Args<'_>) -> Result<Ref, Fail> {
    Ok(a.req_object("VM", ObjectKind::VirtualMachine)?)
}

fn u32p(a: &Args<'_>, n: &str) -> Result<Option<u32>, Fail> {
    Ok(a.int(n, "System.Int32")?)
}

/// `-CPUCount` or its alias `-ProcessorCount`.
fn cpu_count(a: &Args<'_>) -> Result<Option<u32>, Fail> {
    match u32p(a, "CPUCount")? {
        Some(n) => Ok(Some(n)),
        None => u32p(a, "ProcessorCount"),
    }
}

fn u64p(a: &Args<'_>, n: &str) -> Result<Option<u64>, Fail> {
    Ok(a.int(n, "System.Int32")?)
}

fn new_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let generation = a.int::<u8>("Generation", "System.Int32")?;
    let host = a.object("VMHost", ObjectKind::Host)?;
    let path = a.string("Path")?;
    let source =
        if let Some(configuration) = a.object("VMConfiguration", ObjectKind::VmConfiguration)? {
            VmSource::Configuration {
                configuration,
                cloud: a.object("Cloud", ObjectKind::Cloud)?,
            }
        } else if let Some(template) = a.object("VMTemplate", ObjectKind::Template)? {
            VmSource::Template {
                template,
                host: host.ok_or_else(|| args::missing(a.cmd, "VMHost"))?,
                path,
            }
        } else if let Some(vhd) = a.object("VirtualHardDisk", ObjectKind::VirtualHardDisk)? {
            VmSource::VirtualHardDisk {
                vhd,
                host: host.ok_or_else(|| args::missing(a.cmd, "VMHost"))?,
                path,
                generation,
            }
        } else if let Some(host) = host {
            VmSource::HardwareProfile {
                hardware_profile: a.object("HardwareProfile", ObjectKind::HardwareProfile)?,
                host,
                path,
                generation,
            }
        } else {
            return Err(args::ambiguous_set(a.cmd).into());
        };
    let mut req = NewVm::new(&a.req_string("Name")?, source);
    req.description = a.string("Description")?;
    req.owner = a.string("Owner")?;
    req.cpu_count = cpu_count(a)?;
    req.memory_mb = u64p(a, "MemoryMB")?;
    req.dynamic_memory_enabled = a.boolean("DynamicMemoryEnabled")?;
    req.dynamic_memory_minimum_mb = u64p(a, "DynamicMemoryMinimumMB")?;
    req.dynamic_memory_maximum_mb = u64p(a, "DynamicMemoryMaximumMB")?;
    req.dynamic_memory_buffer_percentage = u32p(a, "DynamicMemoryBufferPercentage")?;
    req.operating_system = a.string("OperatingSystem")?;
    req.computer_name = a.string("ComputerName")?;
    req.start_vm = a.switch("StartVM");
    req.start_action = a.string("StartAction")?;
    req.stop_action = a.string("StopAction")?;
    req.highly_available = a.boolean("HighlyAvailable")?;
    req.cpu_limit_for_migration = a.boolean("CPULimitForMigration")?;
    req.cpu_limit_functionality = a.boolean("CPULimitFunctionality")?;
    req.enable_nested_virtualization = a.boolean("EnableNestedVirtualization")?;
    req.job_group = a.guid("JobGroup")?;
    let s = h.lock().new_vm(&req)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn set_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let change = VmPropertyChange {
        name: a.string("Name")?,
        description: a.string("Description")?,
        owner: a.string("Owner")?,
        tag: a.string("Tag")?,
        cpu_count: cpu_count(a)?,
        memory_mb: u64p(a, "MemoryMB")?,
        dynamic_memory_enabled: a.boolean("DynamicMemoryEnabled")?,
        dynamic_memory_minimum_mb: u64p(a, "DynamicMemoryMinimumMB")?,
        dynamic_memory_maximum_mb: u64p(a, "DynamicMemoryMaximumMB")?,
        dynamic_memory_buffer_percentage: u32p(a, "DynamicMemoryBufferPercentage")?,
        start_action: a.string("StartAction")?,
        stop_action: a.string("StopAction")?,
        availability_set_names: a.strings("AvailabilitySetNames")?,
        highly_available: a.boolean("HighlyAvailable")?,
    };
    let req = SetVm {
        vm: vm_ref(a)?,
        change,
        job_group: a.guid("JobGroup")?,
    };
    let s = h.lock().set_vm(&req)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn start_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let vm = vm_ref(a)?;
    let s = h.lock().start_vm(&vm)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn stop_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let modes = [
        ("Force", StopMode::Force),
        ("Shutdown", StopMode::Shutdown),
        ("SaveState", StopMode::SaveState),
        ("DiscardSavedState", StopMode::DiscardSavedState),
    ];
    let chosen: Vec<StopMode> = modes
        .iter()
        .filter(|(n, _)| a.switch(n))
        .map(|(_, m)| *m)
        .collect();
    let mode = match chosen.as_slice() {
        [] => StopMode::Default,
        [m] => *m,
        _ => return Err(args::ambiguous_set(a.cmd).into()),
    };
    let req = StopVm {
        vm: vm_ref(a)?,
        mode,
    };
    let s = h.lock().stop_vm(&req)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn suspend_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let vm = vm_ref(a)?;
    let s = h.lock().suspend_vm(&vm)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn resume_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let vm = vm_ref(a)?;
    let s = h.lock().resume_vm(&vm)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn remove_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let vm = vm_ref(a)?;
    let s = h.lock().remove_vm(&vm, a.switch("Force"))?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn read_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let vm = vm_ref(a)?;
    let s = h.lock().read_vm(&vm)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn repair_vm(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    for unsupported in ["Retry", "Undo", "Agent", "MigrateSuccess"] {
        if a.switch(unsupported) {
            return Err(crate::ps::eval::PsError::unsupported(format!(
                "Repair-SCVirtualMachine -{unsupported}"
            ))
            .into());
        }
    }
    let req = RepairVm {
        vm: vm_ref(a)?,
        dismiss: a.switch("Dismiss"),
        force: a.switch("Force"),
    };
    let s = h.lock().repair_vm(&req)?;
    h.submitted(a, ctx, s.object_ref(), s.job.as_ref())
}

fn config_ref(a: &Args<'_>) -> Result<Ref, Fail> {
    Ok(a.req_object("VMConfiguration", ObjectKind::VmConfiguration)?)
}

fn new_config(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let req = NewVmConfiguration {
        template: a.req_object("VMTemplate", ObjectKind::Template)?,
        name: a.req_string("Name")?,
        host_group: a.object("VMHostGroup", ObjectKind::HostGroup)?,
        cloud: a.object("Cloud", ObjectKind::Cloud)?,
        description: a.string("Description")?.unwrap_or_default(),
        availability_set_names: a.strings("AvailabilitySetNames")?.unwrap_or_default(),
    };
    let c = h.lock().new_vm_configuration(&req)?;
    Ok(vec![object_value(c.object_ref())])
}

fn set_config(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let cfg = config_ref(a)?;
    let req = SetVmConfiguration {
        host: a.object("VMHost", ObjectKind::Host)?,
        pin_host: a.boolean("PinVMHost")?,
        host_group: a.object("VMHostGroup", ObjectKind::HostGroup)?,
        cloud: a.object("Cloud", ObjectKind::Cloud)?,
        location: a.string("VMLocation")?,
        computer_name: a.string("ComputerName")?,
        name: a.string("Name")?,
        description: a.string("Description")?,
        tag: a.string("Tag")?,
        availability_set_names: a.strings("AvailabilitySetNames")?,
    };
    let c = h.lock().set_vm_configuration(&cfg, &req)?;
    Ok(vec![object_value(c.object_ref())])
}

fn update_config(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let cfg = config_ref(a)?;
    let c = h
        .lock()
        .update_vm_configuration(&cfg, a.switch("ValidationOnly"), None)?;
    Ok(vec![object_value(c.object_ref())])
}

fn remove_config(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let cfg = config_ref(a)?;
    let c = h.lock().remove_vm_configuration(&cfg)?;
    Ok(vec![object_value(c.object_ref())])
}

fn get_config(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let q = NameId {
        name: a.string("Name")?,
        id: a.guid("ID")?,
    };
    let items = h.lock().get_vm_configurations(&q)?;
    Ok(items.iter().map(|c| object_value(c.object_ref())).collect())
}

fn new_custom_property(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let members = a
        .strings("AddMember")?
        .unwrap_or_default()
        .iter()
        .map(|m| {
            MemberType::parse(m).ok_or_else(|| {
                args::cannot_convert(
                    a.cmd,
                    "AddMember",
                    &Value::str(m),
                    "CustomPropertyMemberType",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let req = NewCustomProperty {
        name: a.req_string("Name")?,
        description: a.string("Description")?.unwrap_or_default(),
        members,
    };
    let c = h.lock().new_custom_property(&req)?;
    Ok(vec![object_value(c.object_ref())])
}

fn input_object(a: &Args<'_>) -> Result<ObjectRef, Fail> {
    let v = a
        .raw("InputObject")
        .ok_or_else(|| args::missing(a.cmd, "InputObject"))?;
    let v = match v {
        Value::Array(arr) => arr
            .read(|d| d.items.first().cloned())
            .unwrap_or(Value::Null),
        other => other.clone(),
    };
    object_ref_of(&v).ok_or_else(|| {
        args::cannot_convert(
            a.cmd,
            "InputObject",
            &v,
            "Microsoft.SystemCenter.VirtualMachineManager.ClientObject",
        )
        .into()
    })
}

fn cp_ref(a: &Args<'_>) -> Result<Ref, Fail> {
    Ok(a.req_object("CustomProperty", ObjectKind::CustomProperty)?)
}

fn set_cp_value(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let job_group = a.guid("JobGroup")?;
    let input = if job_group.is_some() && !a.has("InputObject") {
        None
    } else {
        Some(input_object(a)?)
    };
    let req = SetCustomPropertyValue {
        input,
        property: cp_ref(a)?,
        value: a.string("Value")?.unwrap_or_default(),
        job_group,
    };
    let r = h.lock().set_custom_property_value(&req)?;
    match r {
        None => Ok(Vec::new()),
        Some((value, job)) => {
            h.finish_job(a, ctx, Some(&job))?;
            let view = h.lock().custom_property_value_view(&value);
            Ok(vec![inline_object(&view)])
        }
    }
}

fn get_cp_value(h: &mut VmmHost, a: &Args<'_>, _ctx: &mut HostContext<'_>) -> Res {
    let input = input_object(a)?;
    let property = cp_ref(a)?;
    let mut vmm = h.lock();
    Ok(vmm
        .get_custom_property_value(input, &property)?
        .map(|v| inline_object(&vmm.custom_property_value_view(&v)))
        .into_iter()
        .collect())
}

fn remove_cp_value(h: &mut VmmHost, a: &Args<'_>, ctx: &mut HostContext<'_>) -> Res {
    let input = input_object(a)?;
    let property = cp_ref(a)?;
    let job = h.lock().remove_custom_property_value(input, &property)?;
    h.finish_job(a, ctx, Some(&job))?;
    Ok(Vec::new())
}
