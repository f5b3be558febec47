#Requires -Modules virtualmachinemanager
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$VMName,
    [ValidateSet('Small', 'Large')][string]$Size = 'Small',
    [int[]]$Disks = @(40, 100),
    [switch]$Start
)
$ErrorActionPreference = 'Stop'
$server = Get-SCVMMServer -ComputerName "vmm01.corp.example"
$jobGroup = [guid]::NewGuid().ToString()
$sizes = @{ Small = @{ Cpu = 2; MemoryMB = 4096 }; Large = @{ Cpu = 8; MemoryMB = 32768 } }
$template = Get-SCVMTemplate -VMMServer $server | Where-Object { $_.Name -like 'Ubuntu*' -and -not $_.IsDeleted } | Select-Object -First 1
if (-not $template) { throw "no template found on $($server.Name)" }
$params = @{
    VMMServer    = $server
    JobGroup     = $jobGroup
    CPUCount     = $sizes[$Size].Cpu
    MemoryMB     = $sizes[$Size]['MemoryMB']
}
Set-SCVirtualCOMPort -NoAttach -VMMServer $server -GuestPort 1 -JobGroup $jobGroup | Out-Null
foreach ($i in 0..($Disks.Count - 1)) {
    New-SCVirtualDiskDrive -VMMServer $server -SCSI -Bus 0 -LUN $i -JobGroup $jobGroup `
        -VirtualHardDiskSizeMB ($Disks[$i] * 1024) -Dynamic -Filename ("{0}_disk_{1}" -f $VMName, $i) | Out-Null
}
$hw = New-SCHardwareProfile @params -Name "Profile$([DateTime]::Now.Ticks)" -Description @"
Created for $VMName on $(Get-Date -Format o)
  size: $Size
"@
try {
    $vm = New-SCVirtualMachine -Name $VMName -VMTemplate $template -HardwareProfile $hw -VMHostGroup (Get-SCVMHostGroup -Name 'Rack1') -RunAsynchronously -ErrorAction Stop
    $job = $vm.MostRecentTask
    while ($job.Status -eq 'Running') { Start-Sleep -Milliseconds 500; $job = Get-SCJob -ID $job.ID }
    switch -Regex ($job.Status) {
        '^Completed$' { Write-Verbose "created $VMName" }
        'Failed|Canceled' { throw ('job {0} ended {1}: {2}' -f $job.ID, $job.Status, $job.ErrorInfo.DisplayableErrorCode) }
        default { Write-Warning "unexpected job state $($job.Status)" }
    }
    if ($Start) { Start-SCVirtualMachine -VM $vm -RunAsynchronously | Out-Null }
} catch [System.Exception] {
    Write-Error -Message $_.Exception.Message
    exit 2
} finally {
    Remove-SCHardwareProfile -HardwareProfile $hw -ErrorAction SilentlyContinue | Out-Null
}
[pscustomobject]@{ Name = $vm.Name; ID = $vm.ID.Guid; Status = [string]$vm.Status } | ConvertTo-Json -Compress
