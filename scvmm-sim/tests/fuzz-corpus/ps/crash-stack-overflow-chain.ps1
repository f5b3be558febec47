# cluster-api-provider-scvmm: create_vm
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
    $p = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('eyJpbnN0YW5jZUlkIjoiMGExYjJjM2QtNGU1Zi00MDYxLTgyOTMtYTRiNWM2ZDdlOGY5IiwibmFtZSI6IndlYi0wMSDigJhxdW90ZWTigJkgJChub3QgY29kZSkiLCJzZWVkIjp7ImRhdGEiOiJBQUFBIiwiZm9sZGVyIjoiXFxcXGxpYlxcc2hhcmUiLCJuYW1lIjoic2VlZC5pc28ifSwic2VydmVyIjoidm1tMDEuY29ycC5leGFtcGxlIiwidm1JZCI6IjdjM2IwZDJlLTFmNGEtNGI1Yy05ZDZlLTdmODA5MWEyYjNjNCJ9')) | ConvertFrom-Json
    Import-Module VirtualMachineManager
    $null = Get-SCVMMServer -ComputerName $p.server
    # create_vm: adopt the VM that carries the machine's marker, or write the
    # seed ISO into the library, index it, and create the VM with disks,
    # adapters, the seed in its DVD drive and the marker staged in one job
    # group, asynchronously; the job starts the VM when it is created.

    # The library share that contains a folder (the longest match).
    function Get-CapiLibraryShare([string]$folder) {
        $best = $null
        $bestLength = -1
        $wanted = $folder.ToLowerInvariant()
        foreach ($share in @(Get-SCLibraryShare)) {
            if ($null -eq $share) { continue }
            $root = ([string]$share.Path).TrimEnd('\').ToLowerInvariant()
            if (($wanted -eq $root -or $wanted.StartsWith($root + '\')) -and $root.Length -gt $bestLength) {
                $best = $share
                $bestLength = $root.Length
            }
        }
        if ($null -eq $best) {
            Stop-Capi 801 "No VMM library share contains '$folder'. Set the seed folder to a folder inside a share that Get-SCLibraryShare lists. (Error ID: 801)"
        }
        $best
    }

    # The ISO object of the seed: refresh the seed's folder until VMM has
    # indexed the file. A refresh of the same share by another job (2602)
    # is waited out: it may index this seed too, as it indexes what the
    # share holds when it ends.
    function Get-CapiSeedIso($share, [string]$folder, [string]$isoPath) {
        $root = ([string]$share.Path).TrimEnd('\')
        $refresh = @{ LibraryShare = $share }
        $sub = $folder.Substring($root.Length).Trim('\')
        if ($sub) { $refresh.Path = $sub }
        for ($attempt = 0; $attempt -lt 60; $attempt++) {
            foreach ($iso in @(Get-SCISO | Where-Object { [string]$_.SharePath -eq $isoPath })) {
                if ($null -ne $iso -and -not $iso.MarkedForDeletion) { return $iso }
            }
            try {
                $null = Read-SCLibraryShare @refresh
            } catch {
                if ((Get-CapiErrorId $_) -ne 2602) { throw }
                Start-Sleep -Milliseconds ([int]$p.lockRetryMs)
            }
        }
        Stop-Capi 801 "VMM did not index the seed ISO '$isoPath' after refreshing its library share. (Error ID: 801)"
    }

    # A marker property's definition, created on first use.
    function Get-CapiMarkerProperty([string]$name, [string]$description) {
        foreach ($def in @(Get-SCCustomProperty | Where-Object { $_.Name -eq $name })) {
            if ($null -ne $def) { return $def }
        }
        try {
            return New-SCCustomProperty -Name $name -Description $description -AddMember @('VM')
        } catch {
            # Another create made it at the same moment.
            foreach ($def in @(Get-SCCustomProperty | Where-Object { $_.Name -eq $name })) {
                if ($null -ne $def) { return $def }
            }
            throw
        }
    }

    # The lowest free LUN on SCSI bus 0; marks it taken.
    function Get-CapiFreeLun($taken) {
        for ($lun = 0; $lun -lt 64; $lun++) {
            $key = '0:' + $lun
            if (-not $taken.ContainsKey($key)) {
                $taken[$key] = $true
                return $lun
            }
        }
        Stop-Capi 0 'SCSI bus 0 has no free LUN left for another disk or DVD drive.'
    }

    $existing = @(foreach ($vm in @(Find-CapiVm $p.instanceId)) { ConvertTo-CapiVm $vm })
    if ($existing.Count -gt 0) {
        $result = @{ adopted = $true; vms = $existing }
    } else {
        # 1. Resolve every name before anything is written, so a typo costs
        #    nothing but this error.
        $cloud = $null
        $hostGroup = $null
        if ($p.placement.kind -eq 'cloud') {
            $cloud = Get-CapiOne @(Get-SCCloud | Where-Object { $_.Name -eq $p.placement.name }) 'Cloud' $p.placement.name
        } else {
            $hostGroup = Get-CapiHostGroup ([string]$p.placement.name)
        }
        $template = $null
        $hwProfile = $null
        if ($p.source.kind -eq 'template') {
            $template = Get-CapiOne @(Get-SCVMTemplate -All | Where-Object { $_.Name -eq $p.source.name }) 'VMTemplate' $p.source.name
            $generation = [int]$template.Generation
            $sourceNics = @(foreach ($n in @($template.VirtualNetworkAdapters)) { if ($null -ne $n) { $n } })
            $sourceDvds = @(foreach ($d in @($template.VirtualDVDDrives)) { if ($null -ne $d) { $d } })
            $usedSlots = @(@($template.VirtualDiskDrives) + $sourceDvds)
        } else {
            $hwProfile = Get-CapiOne @(Get-SCHardwareProfile | Where-Object { $_.Name -eq $p.source.profile }) 'HardwareProfile' $p.source.profile
            $generation = [int]$hwProfile.Generation
            if ($p.source.generation) { $generation = [int]$p.source.generation }
            $sourceNics = @(foreach ($n in @($hwProfile.VirtualNetworkAdapters)) { if ($null -ne $n) { $n } })
            $sourceDvds = @(foreach ($d in @($hwProfile.VirtualDVDDrives)) { if ($null -ne $d) { $d } })
            $usedSlots = $sourceDvds
        }
        $disks = @(foreach ($d in @($p.disks)) {
            if ($null -eq $d) { continue }
            $vhd = $null
            if ($d.vhd) {
                $vhd = Get-CapiOne @(Get-SCVirtualHardDisk -All | Where-Object { $_.Name -eq $d.vhd -and [string]$_.HostType -ne 'VMHost' }) 'VirtualHardDisk' $d.vhd
            }
            $qos = $null
            if ($d.storageQosPolicy) {
                $qos = Get-CapiOne @(Get-SCStorageQoSPolicy | Where-Object { $_.Name -eq $d.storageQosPolicy }) 'StorageQoSPolicy' $d.storageQosPolicy
            }
            @{ vhd = $vhd; qos = $qos; sizeMb = $d.sizeMb; dynamic = [bool]$d.dynamic; volumeType = [string]$d.volumeType }
        })
        $nics = @(foreach ($n in @($p.nics)) {
            if ($null -eq $n) { continue }
            $network = Get-CapiOne @(Get-SCVMNetwork | Where-Object { $_.Name -eq $n.vmNetwork }) 'VMNetwork' $n.vmNetwork
            $subnet = $null
            if ($n.vmSubnet) {
                $subnet = Get-CapiOne @(Get-SCVMSubnet | Where-Object { $_.Name -eq $n.vmSubnet }) 'VMSubnet' $n.vmSubnet
            }
            # Addresses VMM has granted already (grant_ip) keep their grant and
            # reach the guest through the seed; the others VMM allocates to
            # the adapter.
            $static = @(foreach ($a in @($n.ipv4)) {
                if ($a -and @(Get-SCIPAddress -IPAddress ([string]$a)).Count -eq 0) { [string]$a }
            })
            @{ network = $network; subnet = $subnet; mac = [string]$n.macAddress; ipv4 = $static }
        })
        $markerProperty = Get-CapiMarkerProperty 'CapiScvmmInstanceId' 'Instance UUID of the Cluster API machine (cluster-api-provider-scvmm)'
        $clusterProperty = $null
        if ([string]$p.cluster) {
            $clusterProperty = Get-CapiMarkerProperty 'CapiScvmmCluster' 'Namespace/name of the Cluster API cluster the VM belongs to (cluster-api-provider-scvmm)'
        }
        $properties = @(foreach ($cp in @($p.customProperties)) {
            if ($null -eq $cp -or [string]$cp.value -eq '') { continue }
            $def = Get-CapiOne @(Get-SCCustomProperty | Where-Object { $_.Name -eq $cp.name }) 'CustomProperty' $cp.name
            @{ property = $def; value = [string]$cp.value }
        })
        $vmHost = $null
        $vmPath = $null
        if ($null -ne $hwProfile) {
            # A hardware-profile VM is placed on a host: the host of the group
            # with the most free memory that takes new VMs.
            foreach ($h in @($hostGroup.AllChildHosts)) {
                if ($null -eq $h -or $h.MaintenanceHost -or $h.AvailableForPlacement -eq $false) { continue }
                if ($null -eq $vmHost -or [long]$h.AvailableMemory -gt [long]$vmHost.AvailableMemory) { $vmHost = $h }
            }
            if ($null -eq $vmHost) {
                Stop-Capi 0 "Host group '$($p.placement.name)' has no host available for placement."
            }
            $vmPath = [string]@($vmHost.VMPaths)[0]
        }

        # 2. The seed: all of it travels with this script, or the head was
        #    uploaded before (upload_seed) and the tail travels here.
        $folder = ([string]$p.seed.folder).TrimEnd('\')
        $isoPath = $folder + '\' + [string]$p.seed.name
        $share = Get-CapiLibraryShare $folder
        $total = [long]$p.seed.size
        if ($p.seed.data) {
            $bytes = [Convert]::FromBase64String([string]$p.seed.data)
            $offset = [long]$p.seed.offset
            if ($offset -eq 0) {
                if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -ItemType Directory -Path $folder -Force }
                [IO.File]::WriteAllBytes($isoPath, $bytes)
            } else {
                $length = -1
                if ([IO.File]::Exists($isoPath)) { $length = [IO.File]::ReadAllBytes($isoPath).Length }
                if ($length -eq $offset) {
                    Add-Content -LiteralPath $isoPath -Value $bytes -Encoding Byte
                }
            }
        }
        $size = -1
        if ([IO.File]::Exists($isoPath)) { $size = [IO.File]::ReadAllBytes($isoPath).Length }
        if ($size -ne $total) {
            Stop-Capi 0 "The seed ISO '$isoPath' holds $size bytes where $total were expected; it is uploaded again on the next attempt."
        }
        $iso = Get-CapiSeedIso $share $folder $isoPath

        # 3. Stage devices and properties in one job group.
        $jobGroup = [guid]::NewGuid()
        $taken = @{}
        foreach ($s in $usedSlots) {
            if ($null -ne $s -and [string]$s.BusType -eq 'SCSI') { $taken['' + $s.Bus + ':' + $s.Lun] = $true }
        }
        $index = 0
        foreach ($d in $disks) {
            $diskArgs = @{ JobGroup = $jobGroup; Bus = 0 }
            if ($null -ne $hwProfile -and $index -eq 0 -and $generation -lt 2) {
                $diskArgs.IDE = $true
                $diskArgs.LUN = 0
            } else {
                $diskArgs.SCSI = $true
                $diskArgs.LUN = Get-CapiFreeLun $taken
            }
            if ($d.volumeType) {
                $diskArgs.VolumeType = $d.volumeType
            } elseif ($null -ne $hwProfile -and $index -eq 0) {
                $diskArgs.VolumeType = 'BootAndSystem'
            }
            if ($null -ne $d.vhd) {
                $diskArgs.VirtualHardDisk = $d.vhd
            } else {
                $diskArgs.VirtualHardDiskSizeMB = [int]$d.sizeMb
                $diskArgs.FileName = [string]$p.instanceId + '-disk' + $index + '.vhdx'
                if ($d.dynamic) { $diskArgs.Dynamic = $true } else { $diskArgs.Fixed = $true }
            }
            if ($null -ne $d.qos) { $diskArgs.StorageQoSPolicy = $d.qos }
            $null = New-SCVirtualDiskDrive @diskArgs
            $index++
        }
        $slot = 0
        foreach ($n in $nics) {
            $nicArgs = @{ JobGroup = $jobGroup; VMNetwork = $n.network }
            if ($null -ne $n.subnet) { $nicArgs.VMSubnet = $n.subnet }
            if ($n.mac) {
                $nicArgs.MACAddressType = 'Static'
                $nicArgs.MACAddress = $n.mac
            }
            if ($slot -lt $sourceNics.Count) {
                $slotId = [int]$sourceNics[$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot][$slot].SlotId
                if ($n.ipv4.Count -gt 0) {
                    $nicArgs.IPv4AddressType = 'Static'
                    $nicArgs.IPv4Addresses = [string[]]$n.ipv4
                }
                $null = Set-SCVirtualNetworkAdapter -SlotID $slotId @nicArgs
            } else {
                $slotId = $slot
                $null = New-SCVirtualNetworkAdapter -Synthetic @nicArgs
                if ($n.ipv4.Count -gt 0) {
                    $null = Set-SCVirtualNetworkAdapter -JobGroup $jobGroup -SlotID $slotId -IPv4AddressType 'Static' -IPv4Addresses ([string[]]$n.ipv4)
                }
            }
            $slot++
        }
        if ($sourceDvds.Count -gt 0) {
            $dvd = $sourceDvds[0]
            $null = Set-SCVirtualDVDDrive -JobGroup $jobGroup -SourceBus ([int]$dvd.Bus) -SourceLUN ([int]$dvd.Lun) -ISO $iso
        } elseif ($generation -ge 2) {
            $null = New-SCVirtualDVDDrive -JobGroup $jobGroup -Bus 0 -LUN (Get-CapiFreeLun $taken) -ISO $iso
        } else {
            $null = New-SCVirtualDVDDrive -JobGroup $jobGroup -Bus 1 -LUN 0 -ISO $iso
        }
        $null = Set-SCCustomPropertyValue -JobGroup $jobGroup -CustomProperty $markerProperty -Value ([string]$p.instanceId)
        if ($null -ne $clusterProperty) {
            $null = Set-SCCustomPropertyValue -JobGroup $jobGroup -CustomProperty $clusterProperty -Value ([string]$p.cluster)
        }
        foreach ($cp in $properties) {
            $null = Set-SCCustomPropertyValue -JobGroup $jobGroup -CustomProperty $cp.property -Value $cp.value
        }

        # 4. Create. Template VMs go through a VM configuration (placement in
        #    a host group or cloud, availability sets, tag); hardware-profile
        #    VMs go to the chosen host.
        # Started by the create job itself: one call less per machine, and
        # no window in which a created VM sits powered off.
        $vmArgs = @{
            Name = [string]$p.name
            Description = [string]$p.description
            CPUCount = [int]$p.cpuCount
            JobGroup = $jobGroup
            StartVM = $true
            RunAsynchronously = $true
        }
        if ($null -ne $template) {
            $configName = 'capi-' + [string]$p.instanceId
            foreach ($old in @(Get-SCVMConfiguration -All | Where-Object { $_.Name -eq $configName })) {
                if ($null -ne $old) { $null = Remove-SCVMConfiguration -VMConfiguration $old }
            }
            $configArgs = @{ VMTemplate = $template; Name = $configName }
            if ($null -ne $cloud) { $configArgs.Cloud = $cloud } else { $configArgs.VMHostGroup = $hostGroup }
            $sets = @(foreach ($s in @($p.availabilitySets)) { if ($null -ne $s) { [string]$s } })
            if ($sets.Count -gt 0) { $configArgs.AvailabilitySetNames = [string[]]$sets }
            $config = New-SCVMConfiguration @configArgs
            if ($null -ne $p.tag) { $null = Set-SCVMConfiguration -VMConfiguration $config -Tag ([string]$p.tag) }
            $vmArgs.VMConfiguration = $config
            if ($null -ne $cloud) { $vmArgs.Cloud = $cloud }
        } else {
            $vmArgs.VMHost = $vmHost
            $vmArgs.Path = $vmPath
            $vmArgs.HardwareProfile = $hwProfile
            if ($p.source.generation) { $vmArgs.Generation = [int]$p.source.generation }
            if ($p.source.operatingSystem) { $vmArgs.OperatingSystem = [string]$p.source.operatingSystem }
        }
        if ($null -ne $p.memoryMb) { $vmArgs.MemoryMB = [int]$p.memoryMb }
        if ($null -ne $p.dynamicMemory) {
            $vmArgs.DynamicMemoryEnabled = $true
            $vmArgs.DynamicMemoryMinimumMB = [int]$p.dynamicMemory.minimumMb
            $vmArgs.DynamicMemoryMaximumMB = [int]$p.dynamicMemory.maximumMb
            if ($null -ne $p.dynamicMemory.bufferPercentage) {
                $vmArgs.DynamicMemoryBufferPercentage = [int]$p.dynamicMemory.bufferPercentage
            }
        }
        if ($p.startAction) { $vmArgs.StartAction = [string]$p.startAction }
        if ($p.stopAction) { $vmArgs.StopAction = [string]$p.stopAction }
        if ($p.checkpointType) { $vmArgs.CheckpointType = [string]$p.checkpointType }
        $vm = New-SCVirtualMachine @vmArgs
        $result = @{ adopted = $false; vms = @(ConvertTo-CapiVm $vm) }
    }
    $out = @{ result = $result }
} catch {
    if ($capi.error) {
        $out = @{ error = $capi.error }
    } else {
        $out = @{ error = (ConvertTo-CapiError $_) }
    }
}
ConvertTo-Json -InputObject $out -Compress -Depth 6
