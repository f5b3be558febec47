    # start_vm: Start-SCVirtualMachine -RunAsynchronously; a VM that is
    # running or starting already is left alone. With isoPath, the library
    # copy of the seed is deleted too (the VM has its own copy on the host).
    # With disks (a new VM that create_vm left powered off), the disks are
    # first grown and capped as the machine asks: one change job per run,
    # because a second job on the VM would fail on the first one's lock
    # (2602); the VM starts on the run that finds nothing left to change.
    $vm = Get-CapiVmById $p.vmId
    if ($null -eq $vm) { Stop-Capi 801 "VMM cannot find VirtualMachine object '$($p.vmId)'. (Error ID: 801)" }
    $status = [string]$vm.Status
    $changing = $false
    if ($status -ne 'Running' -and $status -ne 'Starting') {
        foreach ($d in @($p.disks)) {
            if ($null -eq $d -or $changing) { continue }
            $stem = [string]$p.instanceId + '-disk' + [int]$d.index + '.'
            $drive = $null
            foreach ($candidate in @($vm.VirtualDiskDrives)) {
                if ($null -ne $candidate -and ([string]$candidate.VirtualHardDisk.Name).StartsWith($stem)) { $drive = $candidate }
            }
            if ($null -eq $drive) {
                Stop-Capi 801 "VMM cannot find VirtualDiskDrive object '$($stem)vhdx' on the VM: disk $([int]$d.index) was not created with the machine, or was renamed in VMM. (Error ID: 801)"
            }
            if ($null -ne $d.sizeGb -and [long]$drive.VirtualHardDisk.MaximumSize -lt ([long]$d.sizeGb * 1073741824)) {
                # Expand-SCVirtualDiskDrive takes whole GB (Int32).
                $null = Expand-SCVirtualDiskDrive -VirtualDiskDrive $drive -VirtualHardDiskSizeGB ([int]$d.sizeGb) -RunAsynchronously
                $changing = $true
            } elseif ($null -ne $d.iopsMaximum -and [long]$drive.IOPSMaximum -ne [long]$d.iopsMaximum) {
                $null = Set-SCVirtualDiskDrive -VirtualDiskDrive $drive -IOPSMaximum ([long]$d.iopsMaximum) -RunAsynchronously
                $changing = $true
            }
        }
        if ($changing) {
            $vm = Get-CapiVmById $p.vmId
        } else {
            $vm = Start-SCVirtualMachine -VM $vm -RunAsynchronously
        }
    }
    if ($p.isoPath) { $null = Remove-CapiSeed ([string]$p.isoPath) }
    $result = ConvertTo-CapiVm $vm
