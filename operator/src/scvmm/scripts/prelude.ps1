# cluster-api-provider-scvmm: __OPERATION__
# Parameters arrive as one base64 UTF-8 JSON document ($p); nothing a user
# typed is part of this text. The script prints exactly one JSON document:
# {"result": ...} or {"error": {"id": <VMM error ID>, "message": ..., "cmdlet": ...}}.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$capi = @{ error = $null }

# An error we raise ourselves, with the VMM error ID it stands for.
function Stop-Capi([int]$id, [string]$message) {
    $capi.error = @{ id = $id; message = $message; cmdlet = '' }
    throw $message
}

# The VMM error ID of an error record: from FullyQualifiedErrorId
# ("640,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets...") when VMM
# raised it, else 0 (the client then reads "(Error ID: n" from the text).
function Get-CapiErrorId($record) {
    $fqid = [string]$record.FullyQualifiedErrorId
    if ($fqid -match '^(\d+),') { return [int]$Matches[1] }
    0
}

function ConvertTo-CapiError($record) {
    $cmdlet = ''
    if ($record.InvocationInfo -and $record.InvocationInfo.MyCommand) {
        $cmdlet = [string]$record.InvocationInfo.MyCommand.Name
    }
    @{ id = (Get-CapiErrorId $record); message = [string]$record.Exception.Message; cmdlet = $cmdlet }
}

function Get-CapiName($object) {
    if ($null -eq $object) { return $null }
    [string]$object.Name
}

# Exactly one object, or a VMM-style "cannot find" (801) / ambiguity error.
function Get-CapiOne($items, [string]$kind, [string]$name) {
    $list = @(foreach ($i in @($items)) { if ($null -ne $i) { $i } })
    if ($list.Count -eq 0) {
        Stop-Capi 801 "VMM cannot find $kind object '$name'. Check the name and that the VMM user role of the account can see it. (Error ID: 801)"
    }
    if ($list.Count -gt 1) {
        Stop-Capi 0 "$($list.Count) $kind objects are named '$name'; names used by the provider must be unique."
    }
    $list[0]
}

# Host groups by path ("All Hosts\Prod\Rack1"), else by name: every match.
function Find-CapiHostGroups([string]$name) {
    $groups = @(Get-SCVMHostGroup | Where-Object { [string]$_.Path -eq $name })
    if ($groups.Count -eq 0) { $groups = @(Get-SCVMHostGroup | Where-Object { $_.Name -eq $name }) }
    $groups
}

# Exactly one host group by path, else by (unique) name.
function Get-CapiHostGroup([string]$name) {
    Get-CapiOne (Find-CapiHostGroups $name) 'VMHostGroup' $name
}

# The machine's instance UUID on a VM: the custom property, else the last
# line of the description.
function Get-CapiMarker($vm) {
    $values = $vm.CustomProperty
    if ($values) {
        # A dictionary without the key may throw rather than answer $null.
        $v = $null
        try { $v = $values['CapiScvmmInstanceId'] } catch { $v = $null }
        if ($v) { return [string]$v }
    }
    $lines = @(([string]$vm.Description) -split "`n")
    $last = ([string]$lines[$lines.Count - 1]).Trim()
    if ($last.StartsWith('capi-scvmm-instance-id=')) { return $last.Substring(23) }
    $null
}

# The cluster marker on a VM (<namespace>/<cluster>), or $null.
function Get-CapiClusterMarker($vm) {
    $values = $vm.CustomProperty
    if (-not $values) { return $null }
    $v = $null
    try { $v = $values['CapiScvmmCluster'] } catch { $v = $null }
    if ($v) { return [string]$v }
    $null
}

function Find-CapiVm([string]$instanceId) {
    @(Get-SCVirtualMachine -All | Where-Object { (Get-CapiMarker $_) -eq $instanceId })
}

# The VM with this VMM ID, or $null. "Not found" (801) is absence; any
# other error is an error.
function Get-CapiVmById([string]$id) {
    $vmErrors = $null
    $found = @(Get-SCVirtualMachine -ID $id -ErrorAction SilentlyContinue -ErrorVariable vmErrors)
    foreach ($e in @($vmErrors)) {
        if ($null -ne $e -and (Get-CapiErrorId $e) -ne 801) { throw $e }
    }
    foreach ($vm in $found) { if ($null -ne $vm) { return $vm } }
    $null
}

function ConvertTo-CapiErrorInfo($info) {
    if ($null -eq $info) { return $null }
    $message = [string]$info.Problem
    $action = [string]$info.RecommendedAction
    if ($action) { $message = $message + "`n`n" + $action }
    @{ id = [int]$info.DisplayableErrorCode; message = $message }
}

function ConvertTo-CapiJob($job) {
    if ($null -eq $job) { return $null }
    $status = [string]$job.Status
    $jobError = $null
    if ($status -eq 'Failed' -or $status -eq 'Canceled') { $jobError = ConvertTo-CapiErrorInfo $job.ErrorInfo }
    @{ id = [string]$job.ID; name = [string]$job.Name; status = $status; progress = [string]$job.Progress; error = $jobError }
}

function ConvertTo-CapiVm($vm) {
    $adapters = @(foreach ($a in @($vm.VirtualNetworkAdapters)) {
        if ($null -eq $a) { continue }
        @{
            mac = [string]$a.MACAddress
            vmNetwork = (Get-CapiName $a.VMNetwork)
            ipv4 = @(foreach ($x in @($a.IPv4Addresses)) { if ($x) { [string]$x } })
            ipv6 = @(foreach ($x in @($a.IPv6Addresses)) { if ($x) { [string]$x } })
        }
    })
    $dvdIso = $null
    foreach ($d in @($vm.VirtualDVDDrives)) {
        if ($null -ne $d -and $null -ne $d.ISO) { $dvdIso = [string]$d.ISO.Name }
    }
    $job = ConvertTo-CapiJob $vm.MostRecentTask
    $status = [string]$vm.Status
    $vmError = $null
    if ($status -like '*Failed') {
        if ($job -and $job.error) {
            $vmError = $job.error
        } elseif ($vm.FailedJobID) {
            $failed = @(Get-SCJob -ID $vm.FailedJobID -ErrorAction SilentlyContinue)
            if ($failed.Count -gt 0 -and $null -ne $failed[0]) { $vmError = ConvertTo-CapiErrorInfo $failed[0].ErrorInfo }
        }
    }
    @{
        id = [string]$vm.ID
        name = [string]$vm.Name
        instanceId = (Get-CapiMarker $vm)
        cluster = (Get-CapiClusterMarker $vm)
        status = $status
        statusCode = [int]$vm.Status
        host = [string]$vm.HostName
        hostGroup = [string]$vm.HostGroupPath
        cloud = (Get-CapiName $vm.Cloud)
        biosGuid = [string]$vm.BiosGuid
        computerName = [string]$vm.ComputerName
        adapters = $adapters
        dvdIso = $dvdIso
        job = $job
        error = $vmError
    }
}

# Deletes a seed from the library: the ISO object (Remove-SCISO deletes the
# file too) and a file that was never indexed. True when anything was there.
function Remove-CapiSeed([string]$path) {
    $removed = $false
    foreach ($iso in @(Get-SCISO | Where-Object { [string]$_.SharePath -eq $path })) {
        if ($null -ne $iso -and -not $iso.MarkedForDeletion) {
            $null = Remove-SCISO -ISO $iso -Force
            $removed = $true
        }
    }
    if ([IO.File]::Exists($path)) {
        [IO.File]::Delete($path)
        $removed = $true
    }
    $removed
}

$result = $null
try {
    $p = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('__PARAMS__')) | ConvertFrom-Json
    Import-Module VirtualMachineManager
    $null = Get-SCVMMServer -ComputerName $p.server
