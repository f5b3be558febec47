//! Real-shaped VMM scripts run through the evaluator against `VmmHost`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use scvmm_sim::ps::eval::{Session, SessionOptions};
use scvmm_sim::vmm::{Inventory, Latencies, ManualClock, Options, Vmm};
use scvmm_sim::vmm_host::VmmHost;

const SHARE: &str = "\\\\vmm01.contoso.com\\MSSCVMMLibrary";

struct Rig {
    vmm: Arc<Mutex<Vmm>>,
    host: VmmHost,
    session: Session,
    #[allow(dead_code)]
    clock: ManualClock,
}

/// What a run printed: success output and error messages.
struct Run {
    out: String,
    errors: Vec<String>,
}

fn rig_with(latencies: Latencies) -> Rig {
    let (mut vmm, clock) = Vmm::with_manual_clock(
        Inventory::default_inventory(),
        Options {
            latencies,
            ..Options::default()
        },
    );
    vmm.write_library_file(&format!("{SHARE}\\ISO\\seed.iso"), b"seed".to_vec())
        .unwrap();
    let vmm = Arc::new(Mutex::new(vmm));
    let host = VmmHost::new(vmm.clone(), Arc::new(clock.clone()));
    Rig {
        vmm,
        host,
        session: Session::new(SessionOptions::default()),
        clock,
    }
}

/// Real latencies (minutes-long jobs) on the manual clock: blocking waits
/// and `Start-Sleep` move it.
fn rig() -> Rig {
    rig_with(Latencies::default())
}

impl Rig {
    fn run(&mut self, script: &str) -> Run {
        let outcome = self.session.run(script, &mut self.host);
        Run {
            out: outcome.stdout_text(),
            errors: outcome.errors().map(|e| e.message.clone()).collect(),
        }
    }
}

fn lines(s: &str) -> Vec<&str> {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn full_create_flow_as_automation_writes_it() {
    let mut r = rig();
    let run = r.run(
        r#"
$ErrorActionPreference = 'Stop'
$server = Get-SCVMMServer -ComputerName 'vmm01.contoso.com'
$jg = [guid]::NewGuid()
$template = Get-SCVMTemplate -VMMServer $server -Name 'Ubuntu 24.04'
$net = Get-SCVMNetwork -VMMServer $server -Name 'Prod-VLAN100'
$hostGroup = Get-SCVMHostGroup -VMMServer $server -Name 'Rack1'
New-SCVirtualNetworkAdapter -VMMServer $server -JobGroup $jg -VMNetwork $net -MACAddressType Dynamic | Out-Null
New-SCVirtualDVDDrive -VMMServer $server -JobGroup $jg -Bus 0 -LUN 5 | Out-Null
$config = New-SCVMConfiguration -VMTemplate $template -Name 'web01' -VMHostGroup $hostGroup
$vm = New-SCVirtualMachine -Name 'web01' -VMConfiguration $config -JobGroup $jg -RunAsynchronously -JobVariable createJob -VMMServer $server
"created:$($vm.Name):$($vm.Status)"
"job:$($createJob.Status)"
$n = 0
while ((Get-SCVirtualMachine -VMMServer $server -ID $vm.ID).Status -ne 'PowerOff') {
    Start-Sleep -Seconds 10
    $n++
    if ($n -gt 500) { throw 'never finished' }
}
"polled:$($n -gt 0)"
"job:$($createJob.Status)"
$share = Get-SCLibraryShare -VMMServer $server | Where-Object { $_.Path -eq '\\vmm01.contoso.com\MSSCVMMLibrary' }
Read-SCLibraryShare -LibraryShare $share -Path '\\vmm01.contoso.com\MSSCVMMLibrary\ISO' | Out-Null
$iso = Get-SCISO -VMMServer $server | Where-Object { $_.Name -eq 'seed.iso' }
$dvd = Get-SCVirtualDVDDrive -VM $vm | Select-Object -First 1
Set-SCVirtualDVDDrive -VirtualDVDDrive $dvd -ISO $iso | Out-Null
Start-SCVirtualMachine -VM $vm | Out-Null
"nics:$(@(Get-SCVirtualNetworkAdapter -VM $vm).Count)"
$vm | Select-Object Name, Status, VirtualMachineState | ConvertTo-Json -Compress
"#,
    );
    assert!(run.errors.is_empty(), "{:?}\n{}", run.errors, run.out);
    let l = lines(&run.out);
    assert_eq!(l[0], "created:web01:UnderCreation", "{}", run.out);
    assert_eq!(l[1], "job:Running");
    assert_eq!(l[2], "polled:True");
    assert_eq!(l[3], "job:Completed");
    assert!(l[4].starts_with("nics:"), "{}", run.out);
    assert_eq!(
        l[5],
        r#"{"Name":"web01","Status":0,"VirtualMachineState":0}"#
    );
}

#[test]
fn pipeline_input_and_blocking_mode() {
    let mut r = rig();
    let run = r.run(
        r#"
$vm = New-SCVirtualMachine -Name 'p1' -VMTemplate 'Ubuntu 24.04' -VMHost 'hv01.contoso.com'
"after-create:$($vm.Status)"
Get-SCVirtualMachine -Name 'p1' | Start-SCVirtualMachine | Out-Null
"started:$((Get-SCVirtualMachine -Name p1).Status)"
Stop-SCVirtualMachine $vm -Force | Out-Null
"stopped:$($vm.Status)"
$vm | Remove-SCVirtualMachine | Out-Null
"left:$(@(Get-SCVirtualMachine -Name 'p1').Count)"
"#,
    );
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    assert_eq!(
        lines(&run.out),
        [
            "after-create:PowerOff",
            "started:Running",
            "stopped:PowerOff",
            "left:0"
        ]
    );
}

#[test]
fn locked_vm_gives_2602_and_running_vm_removal_1730() {
    let mut r = rig();
    let run = r.run(
        r#"
$vm = New-SCVirtualMachine -Name 'busy' -VMTemplate 'Ubuntu 24.04' -VMHost 'hv01.contoso.com' -RunAsynchronously
try {
    Start-SCVirtualMachine -VM $vm -ErrorAction Stop | Out-Null
    'no error'
} catch {
    "caught:$($_.Exception.Message -match 'Error ID: 2602')"
    "fqid:$($_.FullyQualifiedErrorId)"
}
Start-Sleep -Seconds 3600
Start-SCVirtualMachine -VM $vm | Out-Null
try {
    Remove-SCVirtualMachine -VM $vm -ErrorAction Stop | Out-Null
} catch {
    "remove:$($_.Exception.Message -match '\(Error ID: 1730')"
}
"#,
    );
    let l = lines(&run.out);
    assert_eq!(l[0], "caught:True", "{}", run.out);
    assert!(l[1].starts_with("fqid:2602,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets."));
    assert_eq!(l[2], "remove:True", "{}", run.out);
}

#[test]
fn not_found_and_error_action() {
    let mut r = rig();
    let run = r.run(
        r#"
$x = Get-SCVirtualMachine -Name 'nope'
"empty:$($null -eq $x)"
try { Start-SCVirtualMachine -VM 'nope' -ErrorAction Stop } catch { "nf:$($_.Exception.Message -match 'Error ID: 801')" }
Start-SCVirtualMachine -VM 'nope' -ErrorAction SilentlyContinue
"silent:$($Error.Count -gt 0)"
try { Get-SCVirtualMachine -Bogus 1 } catch { "bind:$($_.Exception.Message)" }
"#,
    );
    let l = lines(&run.out);
    assert_eq!(l[0], "empty:True", "{}", run.out);
    assert_eq!(l[1], "nf:True", "{}", run.out);
    assert_eq!(l[2], "silent:True", "{}", run.out);
    assert_eq!(
        l[3],
        "bind:A parameter cannot be found that matches parameter name 'Bogus'."
    );
}

#[test]
fn member_enumeration_and_json_property_names() {
    let mut r = rig_with(Latencies::instant());
    let run = r.run(
        r#"
foreach ($n in 'a1','a2','a3') { New-SCVirtualMachine -Name $n -VMTemplate 'Ubuntu 24.04' -VMHost 'hv01.contoso.com' | Out-Null }
(Get-SCVirtualMachine).Name -join ','
@((Get-SCVirtualMachine).Status | Where-Object { $_ -eq 'PowerOff' }).Count
$vm = Get-SCVirtualMachine -Name 'a1'
$j = $vm | ConvertTo-Json -Depth 1 | ConvertFrom-Json
@('Name','ID','Status','StatusString','VMHost','CPUCount','Memory','VirtualNetworkAdapters') | ForEach-Object { "$($_)=$($null -ne $j.PSObject.Properties[$_])" }
"#,
    );
    assert!(run.errors.is_empty(), "{:?}", run.errors);
    let l = lines(&run.out);
    assert_eq!(l[0], "a1,a2,a3");
    assert_eq!(l[1], "3");
    for line in &l[2..] {
        assert!(line.ends_with("=True"), "{}", run.out);
    }
}

#[test]
fn grant_ip_never_grants_twice() {
    let mut r = rig_with(Latencies::instant());
    let run = r.run(
        r#"
$pool = Get-SCStaticIPAddressPool -Name 'Prod-VLAN100-Pool'
$ips = 1..5 | ForEach-Object { (Grant-SCIPAddress -GrantToObjectType VirtualMachine -StaticIPAddressPool $pool -Description "n$_").Address }
"count:$($ips.Count)"
"unique:$(@($ips | Sort-Object -Unique).Count)"
try { Grant-SCIPAddress -GrantToObjectType VirtualMachine -StaticIPAddressPool $pool -IPAddress $ips[0] -ErrorAction Stop } catch { "dup:$($_.Exception.Message -match 'Error ID')" }
"#,
    );
    let l = lines(&run.out);
    assert_eq!(l[0], "count:5", "{}\n{:?}", run.out, run.errors);
    assert_eq!(l[1], "unique:5");
    assert_eq!(l[2], "dup:True");
}

#[test]
fn host_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<VmmHost>();
    let _ = Rig::vmm_field_used;
}

impl Rig {
    fn vmm_field_used(&self) -> usize {
        self.vmm.lock().unwrap().state().vms.len()
    }
}

#[test]
fn devices_custom_properties_and_jobs() {
    let mut r = rig();
    let run = r.run(
        r#"
$ErrorActionPreference = 'Stop'
$vm = New-SCVirtualMachine -Name 'd1' -VMTemplate 'Ubuntu 24.04' -VMHost 'hv01.contoso.com'
$cp = Get-SCCustomProperty -Name 'Environment'
Set-SCCustomPropertyValue -InputObject $vm -CustomProperty $cp -Value 'prod' -JobVariable cpj | Out-Null
"cp:$((Get-SCCustomPropertyValue -InputObject $vm -CustomProperty $cp).Value):$($cpj.Status)"
$pool = Get-SCStaticIPAddressPool 'Prod-VLAN100-Pool'
$vna = Get-SCVirtualNetworkAdapter -VM $vm | Select-Object -First 1
Set-SCVirtualNetworkAdapter -VirtualNetworkAdapter $vna -IPv4AddressType static -IPv4AddressPools $pool | Out-Null
"ips:$(@((Get-SCVirtualNetworkAdapter -VM $vm | Select-Object -First 1).IPv4Addresses).Count)"
$disk = Get-SCVirtualDiskDrive -VM $vm | Select-Object -First 1
Expand-SCVirtualDiskDrive -VirtualDiskDrive $disk -VirtualHardDiskSizeGB 40 -JobVariable ej | Out-Null
"expand:$($ej.Status)"
$v2 = New-SCVirtualMachine -Name 'd2' -VMTemplate 'Ubuntu 24.04' -VMHost 'hv01.contoso.com' -RunAsynchronously -JobVariable cj
$cj | Stop-SCJob | Out-Null
"cancel:$($cj.Status)"
try {
    Start-SCVirtualMachine -VM (Get-SCVMHost -ComputerName 'hv01.contoso.com')
} catch {
    $m = $_.Exception.Message
    "bind:$($m -like 'Cannot bind parameter ''VM''*')"
}
try { Get-SCVMMServer -ComputerName 'elsewhere' } catch { "conn:$($_.Exception.Message -match 'Error ID: 1602')" }
"clusters:$(@(Get-SCVMHostCluster -VMHostGroup (Get-SCVMHostGroup -Name 'Rack1')).Count)"
Stop-SCVirtualMachine $vm -Force -RunAsynchronously | Out-Null
"#,
    );
    assert!(run.errors.is_empty(), "{:?}\n{}", run.errors, run.out);
    assert_eq!(
        lines(&run.out),
        [
            "cp:prod:Completed",
            "ips:1",
            "expand:Completed",
            "cancel:Canceled",
            "bind:True",
            "conn:True",
            "clusters:1",
        ]
    );
}

#[test]
fn staged_devices_with_set_vm_job_group_and_profiles() {
    let mut r = rig_with(Latencies::instant());
    let run = r.run(
        r#"
$ErrorActionPreference = 'Stop'
$jg = [guid]::NewGuid().ToString()
New-SCVirtualNetworkAdapter -JobGroup $jg -VMNetwork 'Dev-VLAN200' | Out-Null
$hw = New-SCHardwareProfile -Name 'HW-Test' -CPUCount 4 -MemoryMB 8192 -Generation 2 -JobGroup $jg
"hw:$($hw.Name):$($hw.CPUCount)"
$vm = New-SCVirtualMachine -Name 'h1' -VMTemplate 'Ubuntu 24.04' -VMHost 'hv05.contoso.com'
$jg2 = [guid]::NewGuid()
New-SCVirtualNetworkAdapter -VM $vm -JobGroup $jg2 -VMNetwork 'Dev-VLAN200' | Out-Null
Set-SCVirtualMachine -VM $vm -CPUCount 4 -JobGroup $jg2 | Out-Null
"vm:$($vm.CPUCount):$(@(Get-SCVirtualNetworkAdapter -VM $vm).Count)"
"#,
    );
    assert!(run.errors.is_empty(), "{:?}\n{}", run.errors, run.out);
    assert_eq!(lines(&run.out), ["hw:HW-Test:4", "vm:4:2"]);
}

#[test]
fn blocking_wait_releases_the_model_lock() {
    use scvmm_sim::vmm::{SeededIds, SystemClock, VmState};
    use std::time::Duration;
    let vmm = Vmm::new(
        Inventory::default_inventory(),
        Options {
            latencies: Latencies {
                factor: 0.005,
                jitter: 0.0,
                ..Latencies::default()
            },
            ..Options::default()
        },
        Arc::new(SystemClock),
        Box::new(SeededIds::new(1)),
    );
    let vmm = Arc::new(Mutex::new(vmm));
    let mut host =
        VmmHost::new(vmm.clone(), Arc::new(SystemClock)).poll_interval(Duration::from_millis(5));
    let script = std::thread::spawn(move || {
        let mut s = Session::new(SessionOptions::default());
        let r = s.run(
            "$vm = New-SCVirtualMachine -Name 't1' -VMTemplate 'Ubuntu 24.04' -VMHost 'hv01.contoso.com'; \"$($vm.Status)\"",
            &mut host,
        );
        r.stdout_text()
    });
    let mut saw_under_creation = false;
    while !script.is_finished() {
        {
            let v = vmm.lock().unwrap();
            saw_under_creation |= v
                .state()
                .vms
                .iter()
                .any(|x| x.status == VmState::UnderCreation);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let out = script.join().unwrap();
    assert_eq!(out.trim(), "PowerOff");
    assert!(saw_under_creation, "the model was locked during the wait");
}

#[test]
fn non_terminating_lookup_errors_follow_error_action() {
    let mut r = rig_with(Latencies::instant());
    r.vmm.lock().unwrap().behaviour_mut().unknown_id_lookup =
        scvmm_sim::vmm::config::UnknownIdLookup::NonTerminatingError;
    let run = r.run(
        r#"
$x = Get-SCVirtualMachine -ID ([guid]::NewGuid()) -ErrorAction SilentlyContinue
"x:$($null -eq $x)"
$y = Get-SCVirtualMachine -ID ([guid]::NewGuid()) -ErrorVariable ev -ErrorAction SilentlyContinue
"ev:$($ev.Count):$($ev[0].Exception.Message -match 'Error ID: 801')"
Get-SCVirtualMachine -ID ([guid]::NewGuid())
"continued"
try { Get-SCVirtualMachine -ID ([guid]::NewGuid()) -ErrorAction Stop } catch { "stop:$($_.FullyQualifiedErrorId)" }
"#,
    );
    let l = lines(&run.out);
    assert_eq!(l[0], "x:True", "{}", run.out);
    assert_eq!(l[1], "ev:1:True");
    assert_eq!(l[2], "continued");
    assert_eq!(
        l[3],
        "stop:801,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.GetVMCmdlet"
    );
    assert_eq!(run.errors.len(), 1, "{:?}", run.errors);
}

#[test]
fn fibre_channel_processor_options_and_iops_through_the_cmdlets() {
    let mut r = rig_with(Latencies::instant());
    let run = r.run(
        r#"
$ErrorActionPreference = 'Stop'
$jg = [guid]::NewGuid()
$class = Get-SCStorageFabricClassification -Name 'Gold FC'
$vmHost = Get-SCVMHost -ComputerName 'hv01.contoso.com'
$san = Get-SCVMHostFibreChannelVirtualSAN -VMHost $vmHost | Where-Object { $_.Name -eq 'FabricA' }
"san:$($san.Name):$($san.VMHost.Name):$($san.StorageFabricClassification.Name)"
New-SCVirtualFibreChannelAdapter -JobGroup $jg -VirtualFibreChannelSAN $san -StorageFabricClassification $class | Out-Null
$vhd = Get-SCVirtualHardDisk -All | Where-Object { $_.Name -eq 'ubuntu-24.04-server-cloudimg-amd64.vhdx' }
New-SCVirtualDiskDrive -JobGroup $jg -SCSI -Bus 0 -LUN 4 -VirtualHardDisk $vhd -FileName 'm1-disk0.vhdx' | Out-Null
$vm = New-SCVirtualMachine -Name 'fc01' -VMTemplate 'Ubuntu 24.04' -VMHost $vmHost -JobGroup $jg -CPULimitForMigration $true -CPULimitFunctionality $false -EnableNestedVirtualization $true
"cpu:$($vm.LimitCPUForMigration):$($vm.LimitCPUFunctionality):$($vm.ExposeVirtualizationExtensions)"
$fc = @($vm.VirtualFibreChannelAdapters)
"fc:$($fc.Count):$($fc[0].VirtualFibreChannelSAN.Name):$($fc[0].StorageFabricClassification.Name)"
$drive = @($vm.VirtualDiskDrives) | Where-Object { $_.VirtualHardDisk.Name -eq 'm1-disk0.vhdx' }
Expand-SCVirtualDiskDrive -VirtualDiskDrive $drive -VirtualHardDiskSizeGB 50 | Out-Null
Set-SCVirtualDiskDrive -VirtualDiskDrive $drive -IOPSMaximum 900 | Out-Null
$drive = @((Get-SCVirtualMachine -ID $vm.ID).VirtualDiskDrives) | Where-Object { $_.VirtualHardDisk.Name -eq 'm1-disk0.vhdx' }
"disk:$($drive.IOPSMaximum):$($drive.VirtualHardDisk.MaximumSize / 1GB)"
try {
    Get-SCStorageFabricClassification | Where-Object { $_.Name -eq 'Tin FC' } | Out-Null
    New-SCVirtualFibreChannelAdapter -JobGroup $jg -StorageFabricClassification 'Tin FC' | Out-Null
} catch {
    "missing:$(([string]$_.FullyQualifiedErrorId).Split(',')[0])"
}
try {
    Expand-SCVirtualDiskDrive -VirtualDiskDrive $drive -VirtualHardDiskSizeGB 10 | Out-Null
} catch {
    "shrink:$(([string]$_.FullyQualifiedErrorId).Split(',')[0])"
}
"#,
    );
    assert!(run.errors.is_empty(), "{:?}\n{}", run.errors, run.out);
    let l = lines(&run.out);
    assert_eq!(l[0], "san:FabricA:hv01.contoso.com:Gold FC", "{}", run.out);
    assert_eq!(l[1], "cpu:True:False:True");
    assert_eq!(l[2], "fc:1:FabricA:Gold FC");
    assert_eq!(l[3], "disk:900:50");
    assert_eq!(l[4], "missing:801");
    assert_eq!(l[5], "shrink:9108");
}
