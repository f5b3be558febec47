//! The evaluator driving host commands: a small fake VMM implements
//! [`CommandHost`] (Get-SCVMMServer, Get-SCVirtualMachine, New-SCVirtualMachine,
//! ...) with live objects, jobs, VMM errors and a clock; scripts in the style
//! of real VMM automation run against it unchanged.

// `PsError` is large; the `CommandHost` contract returns it by value.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use scvmm_sim::ps::eval::{
    BoundArguments, CommandHost, CommandSignature, ErrorCategory, FileStore, HostContext,
    HostObject, HostRef, MemoryFiles, PsError, RunResult, Session, SessionOptions, Value,
};
use uuid::Uuid;

const STATE_TYPE: &str = "Microsoft.VirtualManager.Utils.VMComputerSystemState";
const JOB_STATE_TYPE: &str = "Microsoft.VirtualManager.Remoting.TaskStatus";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Obj {
    Server,
    Vm(Uuid),
    Nic(Uuid, usize),
    Job(Uuid),
    Template,
}

#[derive(Debug, Clone)]
struct Vm {
    id: Uuid,
    name: String,
    description: String,
    status: (&'static str, i64),
    cpu: i32,
    memory: i32,
    nics: Vec<(String, Vec<String>)>,
    created_ms: i64,
    job: Option<Uuid>,
}

#[derive(Debug, Clone)]
struct Job {
    id: Uuid,
    name: String,
    status: (&'static str, i64),
}

/// A fake VMM: enough state and behaviour for scripts to run against.
#[derive(Default)]
struct FakeVmm {
    vms: Vec<Vm>,
    jobs: Vec<Job>,
    next_id: u128,
    calls: Vec<String>,
    slept: Duration,
    now_ms: i64,
    files: MemoryFiles,
    use_host_files: bool,
}

const RUNNING: (&str, i64) = ("Running", 0);
const POWER_OFF: (&str, i64) = ("PowerOff", 1);
const UNDER_CREATION: (&str, i64) = ("UnderCreation", 105);

impl FakeVmm {
    fn new() -> Self {
        let mut fake = FakeVmm {
            now_ms: 1_735_689_600_000,
            ..FakeVmm::default()
        };
        fake.add_vm("existing-vm", "capi:old-marker", RUNNING);
        fake
    }

    fn id(&mut self) -> Uuid {
        self.next_id += 1;
        Uuid::from_u128(0x1111_0000_0000_0000_0000_0000_0000_0000 + self.next_id)
    }

    fn add_vm(&mut self, name: &str, description: &str, status: (&'static str, i64)) -> Uuid {
        let id = self.id();
        self.vms.push(Vm {
            id,
            name: name.into(),
            description: description.into(),
            status,
            cpu: 2,
            memory: 4096,
            nics: vec![("00:15:5D:00:00:01".into(), vec!["10.0.0.5".into()])],
            created_ms: self.now_ms,
            job: None,
        });
        id
    }

    fn vm_mut(&mut self, id: Uuid) -> Option<&mut Vm> {
        self.vms.iter_mut().find(|v| v.id == id)
    }

    fn obj(o: Obj, type_name: &str, key: String) -> Value {
        Value::HostRef(HostRef::new(type_name, &key, o))
    }

    fn vm_value(id: Uuid) -> Value {
        Self::obj(
            Obj::Vm(id),
            "Microsoft.SystemCenter.VirtualMachineManager.VM",
            id.to_string(),
        )
    }

    /// The VM a `-VM` argument names: an object or a name.
    fn target_vm(&self, v: Option<&Value>) -> Option<Uuid> {
        match v? {
            Value::HostRef(r) => match r.payload::<Obj>() {
                Some(Obj::Vm(id)) => Some(*id),
                _ => None,
            },
            Value::String(name) => self.vms.iter().find(|vm| vm.name == **name).map(|vm| vm.id),
            _ => None,
        }
    }

    fn start_job(&mut self, name: &str, done: bool) -> Uuid {
        let id = self.id();
        self.jobs.push(Job {
            id,
            name: name.into(),
            status: if done {
                ("Completed", 3)
            } else {
                ("Running", 1)
            },
        });
        id
    }

    fn job_var(ctx: &mut HostContext<'_>, args: &BoundArguments, job: Uuid) {
        if let Some(Value::String(var)) = args.get("JobVariable") {
            ctx.set_variable(
                var,
                Self::obj(
                    Obj::Job(job),
                    "Microsoft.SystemCenter.VirtualMachineManager.Task",
                    job.to_string(),
                ),
            );
        }
    }

    fn not_found(command: &str, class: &str, what: &str) -> PsError {
        PsError::vmm(
            command,
            class,
            801,
            format!("VMM cannot find the VirtualMachine object {what}. (Error ID: 801, Detailed Error: )\n\nEnsure the library object is valid, and then try the operation again."),
        )
        .with_category(ErrorCategory::ObjectNotFound)
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.to_string()),
        Value::Int(n) => Some(n.to_string()),
        Value::Guid(g) => Some(g.to_string()),
        _ => None,
    }
}

fn int(v: Option<&Value>) -> Option<i32> {
    match v? {
        Value::Int(n) => Some(*n),
        Value::Long(n) => i32::try_from(*n).ok(),
        Value::String(s) => s.parse().ok(),
        Value::Decimal(d) | Value::Double(d) => Some(*d as i32),
        _ => None,
    }
}

impl CommandHost for FakeVmm {
    fn signature(&self, name: &str) -> Option<CommandSignature> {
        let sig = match name.to_ascii_lowercase().as_str() {
            "get-scvmmserver" => CommandSignature::new()
                .positional("ComputerName", 0)
                .param("Credential"),
            "get-scvirtualmachine" => CommandSignature::new()
                .positional("Name", 0)
                .param("ID")
                .switch("All"),
            "get-scvmtemplate" => CommandSignature::new().param("Name").param("ID"),
            "new-scvirtualmachine" => CommandSignature::new()
                .param("Name")
                .param("VMTemplate")
                .param("CPUCount")
                .param("MemoryMB")
                .param("Description")
                .param("JobGroup")
                .param("JobVariable")
                .switch("RunAsynchronously"),
            "start-scvirtualmachine" | "read-scvirtualmachine" | "remove-scvirtualmachine" => {
                CommandSignature::new()
                    .positional("VM", 0)
                    .param("JobVariable")
                    .switch("RunAsynchronously")
            }
            "stop-scvirtualmachine" => CommandSignature::new()
                .positional("VM", 0)
                .switch("Force")
                .switch("Shutdown")
                .switch("RunAsynchronously"),
            _ => return None,
        };
        Some(sig)
    }

    fn invoke(
        &mut self,
        name: &str,
        args: &BoundArguments,
        input: Vec<Value>,
        ctx: &mut HostContext<'_>,
    ) -> Option<Result<Vec<Value>, PsError>> {
        self.calls.push(name.to_owned());
        let result = match name.to_ascii_lowercase().as_str() {
            "get-scvmmserver" => {
                let server = text(args.get("ComputerName")).unwrap_or_default();
                if server == "down" {
                    Err(PsError::vmm(
                        ctx.invocation_name(),
                        "ConnectVMMServerCmdlet",
                        1602,
                        "Unable to connect to the VMM management server down. The Virtual Machine Manager service on that server did not respond. (Error ID: 1602)",
                    )
                    .with_category(ErrorCategory::ConnectionError))
                } else {
                    Ok(vec![Self::obj(
                        Obj::Server,
                        "Microsoft.SystemCenter.VirtualMachineManager.Remoting.ServerConnection",
                        "server".into(),
                    )])
                }
            }
            "get-scvirtualmachine" => {
                let name_filter = text(args.get("Name"));
                let id_filter = text(args.get("ID"));
                Ok(self
                    .vms
                    .iter()
                    .filter(|vm| {
                        name_filter
                            .as_ref()
                            .is_none_or(|n| vm.name.eq_ignore_ascii_case(n))
                    })
                    .filter(|vm| id_filter.as_ref().is_none_or(|i| vm.id.to_string() == *i))
                    .map(|vm| Self::vm_value(vm.id))
                    .collect())
            }
            "get-scvmtemplate" => {
                let n = text(args.get("Name")).unwrap_or_default();
                Ok(if n == "ubuntu-2204" {
                    vec![Self::obj(
                        Obj::Template,
                        "Microsoft.SystemCenter.VirtualMachineManager.Template",
                        "tpl".into(),
                    )]
                } else {
                    Vec::new()
                })
            }
            "new-scvirtualmachine" => {
                let async_ = args.switch("RunAsynchronously");
                let vm_name = text(args.get("Name")).unwrap_or_default();
                let description = text(args.get("Description")).unwrap_or_default();
                let status = if async_ { UNDER_CREATION } else { POWER_OFF };
                let id = self.add_vm(&vm_name, &description, status);
                let cpu = int(args.get("CPUCount")).unwrap_or(1);
                let memory = int(args.get("MemoryMB")).unwrap_or(1024);
                let job = self.start_job("Create virtual machine", !async_);
                if let Some(vm) = self.vm_mut(id) {
                    vm.cpu = cpu;
                    vm.memory = memory;
                    vm.nics = vec![("00:15:5D:00:00:09".into(), Vec::new())];
                    vm.job = Some(job);
                }
                Self::job_var(ctx, args, job);
                Ok(vec![Self::vm_value(id)])
            }
            "start-scvirtualmachine" | "stop-scvirtualmachine" => {
                let targets: Vec<Option<Uuid>> = if input.is_empty() {
                    vec![self.target_vm(args.get("VM"))]
                } else {
                    input.iter().map(|v| self.target_vm(Some(v))).collect()
                };
                let running = name.eq_ignore_ascii_case("start-scvirtualmachine");
                let mut out = Vec::new();
                for target in targets {
                    match target {
                        Some(id) => {
                            if let Some(vm) = self.vm_mut(id) {
                                vm.status = if running { RUNNING } else { POWER_OFF };
                            }
                            out.push(Self::vm_value(id));
                        }
                        None => {
                            return Some(Err(Self::not_found(
                                ctx.invocation_name(),
                                "StartVMCmdlet",
                                "?",
                            )));
                        }
                    }
                }
                Ok(out)
            }
            "read-scvirtualmachine" => match self.target_vm(args.get("VM")) {
                Some(id) => Ok(vec![Self::vm_value(id)]),
                None => {
                    let what = text(args.get("VM")).unwrap_or_default();
                    ctx.write_error(Self::not_found(
                        ctx.invocation_name(),
                        "RefreshVMCmdlet",
                        &what,
                    ));
                    Ok(Vec::new())
                }
            },
            "remove-scvirtualmachine" => match self.target_vm(args.get("VM")) {
                Some(id) => {
                    let status = self.vms.iter().find(|v| v.id == id).map(|v| v.status);
                    if status == Some(RUNNING) {
                        Err(PsError::vmm(
                            ctx.invocation_name(),
                            "RemoveVMCmdlet",
                            1730,
                            "The selected action could not be completed because the virtual machine is not in a state in which the action is valid. (Error ID: 1730, Detailed Error: Running)",
                        ))
                    } else {
                        self.vms.retain(|v| v.id != id);
                        Ok(Vec::new())
                    }
                }
                None => Err(Self::not_found(
                    ctx.invocation_name(),
                    "RemoveVMCmdlet",
                    "?",
                )),
            },
            _ => return None,
        };
        Some(result)
    }

    fn has_command(&self, name: &str) -> bool {
        self.signature(name).is_some()
    }

    fn resolve(&mut self, object: &HostRef) -> Option<HostObject> {
        let o = *object.payload::<Obj>()?;
        let typed = |type_name: &str, display: String, properties: Vec<(&str, Value)>| HostObject {
            type_names: vec![type_name.into(), "System.Object".into()],
            display,
            properties: properties
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        };
        Some(match o {
            Obj::Server => typed(
                "Microsoft.SystemCenter.VirtualMachineManager.Remoting.ServerConnection",
                "localhost".into(),
                vec![
                    ("Name", Value::str("localhost")),
                    ("Port", Value::Int(8100)),
                ],
            ),
            Obj::Template => typed(
                "Microsoft.SystemCenter.VirtualMachineManager.Template",
                "ubuntu-2204".into(),
                vec![("Name", Value::str("ubuntu-2204"))],
            ),
            Obj::Vm(id) => {
                let vm = self.vms.iter().find(|v| v.id == id)?;
                typed(
                    "Microsoft.SystemCenter.VirtualMachineManager.VM",
                    vm.name.clone(),
                    vec![
                        ("Name", Value::str(&vm.name)),
                        ("ID", Value::Guid(vm.id)),
                        ("Description", Value::str(&vm.description)),
                        ("Status", Value::enumeration(STATE_TYPE, vm.status.0, vm.status.1)),
                        ("CPUCount", Value::Int(vm.cpu)),
                        ("Memory", Value::Int(vm.memory)),
                        (
                            "VirtualNetworkAdapters",
                            Value::array(
                                (0..vm.nics.len())
                                    .map(|i| Self::obj(Obj::Nic(id, i), "Microsoft.SystemCenter.VirtualMachineManager.VirtualNetworkAdapter", format!("{id}/{i}")))
                                    .collect(),
                            ),
                        ),
                        (
                            "CreationTime",
                            Value::DateTime(scvmm_sim::ps::eval::DateTime {
                                instant: jiff::Timestamp::from_millisecond(vm.created_ms).unwrap_or_default(),
                                kind: scvmm_sim::ps::eval::DateKind::Local,
                            }),
                        ),
                        (
                            "MostRecentTask",
                            vm.job.map_or(Value::Null, |j| Self::obj(Obj::Job(j), "Microsoft.SystemCenter.VirtualMachineManager.Task", j.to_string())),
                        ),
                    ],
                )
            }
            Obj::Nic(id, i) => {
                let vm = self.vms.iter().find(|v| v.id == id)?;
                let (mac, ips) = vm.nics.get(i)?.clone();
                typed(
                    "Microsoft.SystemCenter.VirtualMachineManager.VirtualNetworkAdapter",
                    mac.clone(),
                    vec![
                        ("MACAddress", Value::str(&mac)),
                        (
                            "IPv4Addresses",
                            Value::array(ips.iter().map(|s| Value::str(s)).collect()),
                        ),
                    ],
                )
            }
            Obj::Job(id) => {
                let job = self.jobs.iter().find(|j| j.id == id)?;
                typed(
                    "Microsoft.SystemCenter.VirtualMachineManager.Task",
                    job.name.clone(),
                    vec![
                        ("ID", Value::Guid(job.id)),
                        ("Name", Value::str(&job.name)),
                        (
                            "Status",
                            Value::enumeration(JOB_STATE_TYPE, job.status.0, job.status.1),
                        ),
                    ],
                )
            }
        })
    }

    fn call_method(
        &mut self,
        object: &HostRef,
        method: &str,
        args: &[Value],
    ) -> Option<Result<Value, PsError>> {
        match (
            object.payload::<Obj>()?,
            method.to_ascii_lowercase().as_str(),
        ) {
            (Obj::Vm(_), "getcpucount") if args.is_empty() => {
                let o = self.resolve(object)?;
                o.properties
                    .into_iter()
                    .find(|(n, _)| n == "CPUCount")
                    .map(|(_, v)| Ok(v))
            }
            _ => None,
        }
    }

    fn static_member(&mut self, type_name: &str, member: &str) -> Option<Value> {
        if !type_name.eq_ignore_ascii_case(STATE_TYPE) {
            return None;
        }
        [RUNNING, POWER_OFF, UNDER_CREATION]
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(member))
            .map(|(n, v)| Value::enumeration(STATE_TYPE, n, v))
    }

    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.now_ms).unwrap_or_default()
    }

    fn sleep(&mut self, duration: Duration) {
        self.slept += duration;
        self.now_ms += i64::try_from(duration.as_millis()).unwrap_or(0);
        // Jobs finish while the script sleeps.
        for job in &mut self.jobs {
            job.status = ("Completed", 3);
        }
        for vm in &mut self.vms {
            if vm.status == UNDER_CREATION {
                vm.status = POWER_OFF;
            }
        }
    }

    fn files(&mut self) -> Option<&mut dyn FileStore> {
        if self.use_host_files {
            Some(&mut self.files)
        } else {
            None
        }
    }
}

fn run(host: &mut FakeVmm, src: &str) -> RunResult {
    Session::new(SessionOptions::default()).run(src, host)
}

fn ok(host: &mut FakeVmm, src: &str) -> String {
    let r = run(host, src);
    assert!(
        r.errors().next().is_none(),
        "unexpected errors for {src:?}:\n{}",
        r.stderr_text()
    );
    r.stdout_text().replace("\r\n", "\n").trim_end().to_owned()
}

fn b64(s: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

/// A create script in the style the provider (and the existing Go
/// provider) uses: base64 JSON parameters in, one compact JSON document
/// out, failures as JSON carrying the error.
const CREATE_SCRIPT: &str = r#"
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
try {
    $p = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('__PARAMS__')) | ConvertFrom-Json
    Import-Module VirtualMachineManager
    $null = Get-SCVMMServer -ComputerName $p.Server
    $existing = @(Get-SCVirtualMachine -Name $p.Name | Where-Object { $_.Description -like "*$($p.Marker)*" })
    $job = $null
    if ($existing.Count -gt 0) {
        $vm = $existing[0]
        $created = $false
    } else {
        $template = Get-SCVMTemplate -Name $p.Template
        if (-not $template) { throw "VM template '$($p.Template)' not found" }
        $jobGroup = [guid]::NewGuid()
        $vmArgs = @{
            Name = $p.Name
            VMTemplate = $template
            CPUCount = $p.Cpu
            MemoryMB = $p.MemoryMB
            Description = "capi:$($p.Marker)"
        }
        $vm = New-SCVirtualMachine @vmArgs -JobGroup $jobGroup -RunAsynchronously -JobVariable job
        $created = $true
    }
    $nics = @($vm.VirtualNetworkAdapters | ForEach-Object {
        [ordered]@{ Mac = $_.MACAddress; IPv4 = @($_.IPv4Addresses) }
    })
    [ordered]@{
        Id = $vm.ID.ToString()
        Name = $vm.Name
        Status = "$($vm.Status)"
        StatusCode = $vm.Status
        Cpu = $vm.CPUCount
        Created = $created
        JobId = if ($job) { $job.ID.Guid } else { $null }
        Busy = [bool]($vm.MostRecentTask -and $vm.MostRecentTask.Status -notin 'Completed', 'SucceedWithInfo')
        Nics = $nics
        CreationTime = $vm.CreationTime.ToString('o')
    } | ConvertTo-Json -Depth 4 -Compress
} catch {
    [ordered]@{
        Message = "CreateVM Failed: $($_.Exception.Message)"
        ErrorId = $_.FullyQualifiedErrorId
    } | ConvertTo-Json -Compress
}
"#;

fn create_script(params: &str) -> String {
    CREATE_SCRIPT.replace("__PARAMS__", &b64(params))
}

#[test]
fn realistic_create_script_creates_then_adopts() {
    let mut host = FakeVmm::new();
    let params = r#"{"Server":"localhost","Name":"worker-1","Marker":"8f2c","Template":"ubuntu-2204","Cpu":4,"MemoryMB":8192}"#;
    let r = run(&mut host, &create_script(params));
    assert!(r.errors().next().is_none(), "{}", r.stderr_text());
    assert_eq!(
        r.stdout_text(),
        "{\"Id\":\"11110000-0000-0000-0000-000000000002\",\"Name\":\"worker-1\",\"Status\":\"UnderCreation\",\"StatusCode\":105,\"Cpu\":4,\"Created\":true,\"JobId\":\"11110000-0000-0000-0000-000000000003\",\"Busy\":true,\"Nics\":[{\"Mac\":\"00:15:5D:00:00:09\",\"IPv4\":[]}],\"CreationTime\":\"2025-01-01T00:00:00.0000000+00:00\"}\r\n"
    );
    assert_eq!(
        host.calls,
        [
            "Get-SCVMMServer",
            "Get-SCVirtualMachine",
            "Get-SCVMTemplate",
            "New-SCVirtualMachine"
        ]
    );
    // Running the same script again adopts the VM instead of creating a
    // second one (the marker matches), and sees the job finished.
    host.sleep(Duration::from_secs(30));
    let r = run(&mut host, &create_script(params));
    assert_eq!(
        r.stdout_text(),
        "{\"Id\":\"11110000-0000-0000-0000-000000000002\",\"Name\":\"worker-1\",\"Status\":\"PowerOff\",\"StatusCode\":1,\"Cpu\":4,\"Created\":false,\"JobId\":null,\"Busy\":false,\"Nics\":[{\"Mac\":\"00:15:5D:00:00:09\",\"IPv4\":[]}],\"CreationTime\":\"2025-01-01T00:00:00.0000000+00:00\"}\r\n"
    );
    assert_eq!(host.vms.len(), 2);
}

#[test]
fn realistic_create_script_reports_failures_as_json() {
    let mut host = FakeVmm::new();
    let params = r#"{"Server":"localhost","Name":"worker-2","Marker":"x","Template":"missing","Cpu":1,"MemoryMB":512}"#;
    let r = run(&mut host, &create_script(params));
    assert_eq!(
        r.stdout_text(),
        "{\"Message\":\"CreateVM Failed: VM template \\u0027missing\\u0027 not found\",\"ErrorId\":\"VM template \\u0027missing\\u0027 not found\"}\r\n"
    );
    let params = r#"{"Server":"down","Name":"worker-2","Marker":"x","Template":"ubuntu-2204","Cpu":1,"MemoryMB":512}"#;
    let r = run(&mut host, &create_script(params));
    assert_eq!(
        r.stdout_text(),
        "{\"Message\":\"CreateVM Failed: Unable to connect to the VMM management server down. The Virtual Machine Manager service on that server did not respond. (Error ID: 1602)\",\"ErrorId\":\"1602,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.ConnectVMMServerCmdlet\"}\r\n"
    );
    assert_eq!(r.exit_code, 0);
    assert!(r.stderr_clixml().is_empty());
}

#[test]
fn host_objects_are_live() {
    let mut host = FakeVmm::new();
    let out = ok(
        &mut host,
        "$vm = Get-SCVirtualMachine -Name existing-vm; $vm.Status; Stop-SCVirtualMachine -VM $vm -Force | Out-Null; $vm.Status; \"$vm\"; $vm.ToString()",
    );
    assert_eq!(out, "Running\nPowerOff\nexisting-vm\nexisting-vm");
}

#[test]
fn enum_values_compare_by_name_and_number() {
    let mut host = FakeVmm::new();
    assert_eq!(
        ok(
            &mut host,
            "$vm = Get-SCVirtualMachine existing-vm; $vm.Status -eq 'running'; $vm.Status -eq 0; $vm.Status -in 'PowerOff', 'Running'; $vm.Status.value__; [int]$vm.Status; $vm.Status.GetType().FullName"
        ),
        format!("True\nTrue\nTrue\n0\n0\n{STATE_TYPE}")
    );
    assert_eq!(
        ok(
            &mut host,
            "(Get-SCVirtualMachine existing-vm | Select-Object Name, Status | ConvertTo-Json -Compress)"
        ),
        "{\"Name\":\"existing-vm\",\"Status\":0}"
    );
}

#[test]
fn host_types_and_enum_statics() {
    let mut host = FakeVmm::new();
    assert_eq!(
        ok(
            &mut host,
            "$vm = Get-SCVirtualMachine existing-vm; $vm.Status -eq [Microsoft.VirtualManager.Utils.VMComputerSystemState]::Running; $vm -is [Microsoft.SystemCenter.VirtualMachineManager.VM]; $vm -is [string]"
        ),
        "True\nTrue\nFalse"
    );
    let r = run(
        &mut host,
        "[Microsoft.VirtualManager.Utils.VMComputerSystemState]::Bogus",
    );
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("does not support the static member"))
    );
}

#[test]
fn member_enumeration_over_host_objects() {
    let mut host = FakeVmm::new();
    host.add_vm("second", "", POWER_OFF);
    assert_eq!(
        ok(&mut host, "(Get-SCVirtualMachine).Name -join ','"),
        "existing-vm,second"
    );
    assert_eq!(
        ok(
            &mut host,
            "(Get-SCVirtualMachine).VirtualNetworkAdapters.IPv4Addresses -join ','"
        ),
        "10.0.0.5,10.0.0.5"
    );
    assert_eq!(
        ok(
            &mut host,
            "(Get-SCVirtualMachine -Name nope).Count; (Get-SCVirtualMachine -Name second).Count"
        ),
        "0\n1"
    );
    assert_eq!(
        ok(
            &mut host,
            "(Get-SCVirtualMachine existing-vm).GetCpuCount()"
        ),
        "2"
    );
}

#[test]
fn raw_vmm_objects_serialize_with_depth_truncation() {
    let mut host = FakeVmm::new();
    let out = ok(
        &mut host,
        "Get-SCVirtualMachine existing-vm | ConvertTo-Json -Compress",
    );
    assert!(
        out.starts_with("{\"Name\":\"existing-vm\",\"ID\":\"11110000-0000-0000-0000-000000000001\",\"Description\":\"capi:old-marker\",\"Status\":0,\"CPUCount\":2,\"Memory\":4096,\"VirtualNetworkAdapters\":[{\"MACAddress\":\"00:15:5D:00:00:01\",\"IPv4Addresses\":\"10.0.0.5\"}],\"CreationTime\":\"\\/Date(1735689600000)\\/\""),
        "{out}"
    );
}

#[test]
fn switches_bind_positionally_with_a_signature() {
    let mut host = FakeVmm::new();
    // `-Force $vm`: Force is a switch, so $vm is the positional VM.
    assert_eq!(
        ok(
            &mut host,
            "$vm = Get-SCVirtualMachine existing-vm; Stop-SCVirtualMachine -Force $vm -RunAsync | % Name; $vm.Status"
        ),
        "existing-vm\nPowerOff"
    );
    let r = run(&mut host, "Stop-SCVirtualMachine -Bogus 1");
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| PsError::new("", ""));
    assert_eq!(
        e.message,
        "A parameter cannot be found that matches parameter name 'Bogus'."
    );
    assert_eq!(
        e.fully_qualified_error_id,
        "NamedParameterNotFound,Stop-SCVirtualMachine"
    );
}

#[test]
fn pipeline_input_reaches_host_commands() {
    let mut host = FakeVmm::new();
    host.add_vm("second", "", POWER_OFF);
    assert_eq!(
        ok(
            &mut host,
            "Get-SCVirtualMachine | Stop-SCVirtualMachine | % Status"
        ),
        "PowerOff\nPowerOff"
    );
    assert_eq!(
        ok(&mut host, "'second' | Start-SCVirtualMachine | % Name"),
        "second"
    );
}

#[test]
fn job_variable_is_set_in_the_callers_scope() {
    let mut host = FakeVmm::new();
    assert_eq!(
        ok(
            &mut host,
            "function New-It { $vm = New-SCVirtualMachine -Name n -RunAsynchronously -JobVariable j; \"$($j.Status)\" }; New-It; $j -eq $null"
        ),
        "Running\nTrue"
    );
    assert_eq!(
        ok(
            &mut host,
            "$null = New-SCVirtualMachine -Name m -JobVariable jv; $jv.Name; \"$($jv.Status)\""
        ),
        "Create virtual machine\nCompleted"
    );
}

#[test]
fn host_non_terminating_errors_follow_error_action() {
    let mut host = FakeVmm::new();
    let r = run(&mut host, "Read-SCVirtualMachine -VM ghost; 'after'");
    assert_eq!(r.stdout_text(), "after\r\n");
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| PsError::new("", ""));
    assert_eq!(e.command.as_deref(), Some("Read-SCVirtualMachine"));
    assert_eq!(e.vmm_error_id, Some(801));
    assert!(e.position.is_some());
    assert_eq!(
        ok(
            &mut host,
            "Read-SCVirtualMachine -VM ghost -ErrorAction SilentlyContinue; 'quiet'"
        ),
        "quiet"
    );
    assert_eq!(
        ok(
            &mut host,
            "try { Read-SCVirtualMachine -VM ghost -ErrorAction Stop; 'no' } catch { $_.Exception.Message.Split([Environment]::NewLine)[0]; $_.CategoryInfo.Category }"
        ),
        "VMM cannot find the VirtualMachine object ghost. (Error ID: 801, Detailed Error: )\nObjectNotFound"
    );
}

#[test]
fn host_terminating_errors_are_catchable_and_render_like_vmm() {
    let mut host = FakeVmm::new();
    let r = run(
        &mut host,
        "$vm = Get-SCVirtualMachine existing-vm\nRemove-SCVirtualMachine -VM $vm\n'next'",
    );
    assert_eq!(r.stdout_text(), "next\r\n");
    assert_eq!(
        r.stderr_text(),
        "Remove-SCVirtualMachine : The selected action could not be completed because the virtual machine is not in a state in \r\nwhich the action is valid. (Error ID: 1730, Detailed Error: Running)\r\nAt line:2 char:1\r\n+ Remove-SCVirtualMachine -VM $vm\r\n+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n    + CategoryInfo          : ReadError: (:) [Remove-SCVirtualMachine], CarmineException\r\n    + FullyQualifiedErrorId : 1730,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.RemoveVMCmdlet\r\n \r\n"
    );
    assert_eq!(
        ok(
            &mut host,
            "try { Remove-SCVirtualMachine -VM existing-vm } catch [Microsoft.VirtualManager.Utils.CarmineException] { 'vmm ' + $_.FullyQualifiedErrorId.Split(',')[0] }"
        ),
        "vmm 1730"
    );
}

#[test]
fn unknown_commands_are_not_silently_accepted() {
    let mut host = FakeVmm::new();
    let r = run(&mut host, "Get-SCNothing -Name x");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.fully_qualified_error_id.clone())
            .unwrap_or_default(),
        "CommandNotFoundException"
    );
    assert_eq!(host.calls, ["Get-SCNothing"]);
    assert_eq!(
        ok(
            &mut host,
            "if (Get-Command Get-SCVirtualMachine -ErrorAction SilentlyContinue) { 'has vmm' }"
        ),
        "has vmm"
    );
}

#[test]
fn start_sleep_and_get_date_use_the_host_clock() {
    let mut host = FakeVmm::new();
    let out = ok(
        &mut host,
        "$start = Get-Date; $vm = New-SCVirtualMachine -Name w -RunAsynchronously; while ($vm.Status -eq 'UnderCreation') { Start-Sleep -Seconds 15 }; ((Get-Date) - $start).TotalSeconds; \"$($vm.Status)\"",
    );
    assert_eq!(out, "15\nPowerOff");
    assert_eq!(host.slept, Duration::from_secs(15));
    assert_eq!(
        ok(
            &mut host,
            "Start-Sleep -Milliseconds 250; (Get-Date).ToUniversalTime().ToString('HH:mm:ss.fff')"
        ),
        "00:00:15.250"
    );
}

#[test]
fn a_host_may_provide_the_file_system() {
    let mut host = FakeVmm::new();
    host.use_host_files = true;
    ok(
        &mut host,
        "$bytes = [Convert]::FromBase64String('aGVsbG8='); [IO.File]::WriteAllBytes('\\\\lib\\share\\ISOs\\seed.iso', $bytes); Add-Content '\\\\lib\\share\\ISOs\\seed.iso' -Value ([byte[]](33)) -Encoding Byte",
    );
    assert_eq!(
        host.files.read("\\\\LIB\\share\\isos\\seed.iso"),
        Some(b"hello!".to_vec())
    );
}

#[test]
fn splatting_into_host_commands() {
    let mut host = FakeVmm::new();
    assert_eq!(
        ok(
            &mut host,
            "$a = @{Name = 'splat'; CPUCount = 3}; $vm = New-SCVirtualMachine @a -RunAsynchronously; $vm.CPUCount"
        ),
        "3"
    );
}

#[test]
fn a_stdin_session_keeps_functions_and_the_connection_across_runs() {
    let mut host = FakeVmm::new();
    let mut session = Session::default();
    for line in [
        "$ProgressPreference = 'SilentlyContinue'",
        "function GetVM($id) { $vm = Get-SCVirtualMachine -ID $id -ErrorAction SilentlyContinue; if (-not $vm) { @{Message = \"VM with id $id not found\"} | ConvertTo-Json -Compress } else { @{Name = $vm.Name} | ConvertTo-Json -Compress } }",
        "Write-Host 'OK'",
    ] {
        let r = session.run(line, &mut host);
        assert!(r.errors().next().is_none(), "{}", r.stderr_text());
    }
    let r = session.run("GetVM '11110000-0000-0000-0000-000000000001'", &mut host);
    assert_eq!(r.stdout_text(), "{\"Name\":\"existing-vm\"}\r\n");
    let r = session.run("GetVM 'nope'", &mut host);
    assert_eq!(
        r.stdout_text(),
        "{\"Message\":\"VM with id nope not found\"}\r\n"
    );
    let r = session.run("exit 4", &mut host);
    assert!(r.exited);
    assert_eq!(r.exit_code, 4);
}
