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
        # A disk that is grown or capped needs its drive, which exists only
        # once the create job has made the VM: such a VM is created powered
        # off and start_vm makes the changes before its first start.
        $deferStart = $false
        $diskIndex = 0
        $disks = @(foreach ($d in @($p.disks)) {
            if ($null -eq $d) { continue }
            $vhd = $null
            $grow = $false
            if ($d.vhd) {
                $vhd = Get-CapiOne @(Get-SCVirtualHardDisk -All | Where-Object { $_.Name -eq $d.vhd -and [string]$_.HostType -ne 'VMHost' }) 'VirtualHardDisk' $d.vhd
                if ($d.sizeMb) {
                    $wanted = [long]$d.sizeMb * 1048576
                    $current = [long]$vhd.MaximumSize
                    if ($wanted -lt $current) {
                        # VMM refuses to shrink a disk, and would say so
                        # only after the VM exists; say it before.
                        $currentGb = [long][Math]::Ceiling($current / 1073741824)
                        Stop-Capi 0 "spec.disks[$diskIndex].size ($([long]$d.sizeMb / 1024) GiB) is smaller than the VHD '$($d.vhd)' ($currentGb GiB), and VMM cannot shrink a disk; set spec.disks[$diskIndex].size to at least $($currentGb)Gi, or leave it out to keep the VHD's size."
                    }
                    $grow = $wanted -gt $current
                }
            }
            $qos = $null
            if ($d.storageQosPolicy) {
                $qos = Get-CapiOne @(Get-SCStorageQoSPolicy | Where-Object { $_.Name -eq $d.storageQosPolicy }) 'StorageQoSPolicy' $d.storageQosPolicy
            }
            if ($grow -or $null -ne $d.iopsMaximum) { $deferStart = $true }
            $followUp = ($null -ne $d.iopsMaximum) -or ($null -ne $vhd -and $d.sizeMb)
            @{ vhd = $vhd; qos = $qos; sizeMb = $d.sizeMb; dynamic = [bool]$d.dynamic; volumeType = [string]$d.volumeType; followUp = $followUp }
            $diskIndex++
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
        $fibreChannel = @(foreach ($f in @($p.fibreChannel)) {
            if ($null -eq $f) { continue }
            # Every host of a fabric has a SAN of that name; the adapter
            # connects to the one on the host VMM places the VM on.
            $sans = @(Get-SCVMHostFibreChannelVirtualSAN | Where-Object { $_.Name -eq $f.virtualSan })
            if ($null -ne $vmHost) { $sans = @($sans | Where-Object { [string]$_.VMHost.Name -eq [string]$vmHost.Name }) }
            if ($sans.Count -eq 0) {
                Stop-Capi 801 "VMM cannot find HostFibreChannelVirtualSAN object '$($f.virtualSan)'. Check the name in spec.fibreChannel[].virtualSan against Get-SCVMHostFibreChannelVirtualSAN on the hosts of the placement. (Error ID: 801)"
            }
            $class = $null
            if ($f.classification) {
                $class = Get-CapiOne @(Get-SCStorageFabricClassification | Where-Object { $_.Name -eq $f.classification }) 'StorageFabricClassification' $f.classification
            }
            @{ san = $sans[0]; classification = $class }
        })

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
                if ($d.followUp) {
                    # Named after the machine so that start_vm finds the
                    # drive to grow or cap again.
                    $extension = '.vhdx'
                    if ([string]$d.vhd.Name -match '\.vhd$') { $extension = '.vhd' }
                    $diskArgs.FileName = [string]$p.instanceId + '-disk' + $index + $extension
                }
            } else {
                $diskArgs.VirtualHardDiskSizeMB = [int]$d.sizeMb
                $diskArgs.FileName = [string]$p.instanceId + '-disk' + $index + '.vhdx'
                if ($d.dynamic) { $diskArgs.Dynamic = $true } else { $diskArgs.Fixed = $true }
            }
            if ($null -ne $d.qos) { $diskArgs.StorageQoSPolicy = $d.qos }
            $null = New-SCVirtualDiskDrive @diskArgs
            $index++
        }
        # Staged like the other devices, so the create job makes the adapter
        # on the VM; the Go provider adds it to the template with
        # -VMTemplate, which would change a template all machines share.
        # New-SCVirtualFibreChannelAdapter documents -JobGroup parameter
        # sets; that they take both the SAN and the classification is
        # inferred from the VM and hardware-profile sets.
        foreach ($f in $fibreChannel) {
            $fcArgs = @{ JobGroup = $jobGroup; VirtualFibreChannelSAN = $f.san }
            if ($null -ne $f.classification) { $fcArgs.StorageFabricClassification = $f.classification }
            $null = New-SCVirtualFibreChannelAdapter @fcArgs
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
                $slotId = [int]$sourceNics[$slot].SlotId
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
        # no window in which a created VM sits powered off. Not when a disk
        # still has to be grown or capped (see $deferStart).
        $vmArgs = @{
            Name = [string]$p.name
            Description = [string]$p.description
            CPUCount = [int]$p.cpuCount
            JobGroup = $jobGroup
            RunAsynchronously = $true
        }
        if (-not $deferStart) { $vmArgs.StartVM = $true }
        if ($null -ne $p.cpuLimitForMigration) { $vmArgs.CPULimitForMigration = [bool]$p.cpuLimitForMigration }
        if ($null -ne $p.cpuLimitFunctionality) { $vmArgs.CPULimitFunctionality = [bool]$p.cpuLimitFunctionality }
        if ($null -ne $p.nestedVirtualization) { $vmArgs.EnableNestedVirtualization = [bool]$p.nestedVirtualization }
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
