    # stop_vm: guest shutdown (-Shutdown) or power off (-Force), asynchronous.
    # A VM that is off is left alone, and so is one shutting down unless
    # power off is asked for: then the shutdown job is canceled first (it
    # holds the VM's lock), which is how a graceful stop escalates. A saved
    # VM has its saved state discarded (there is no running guest to stop).
    $vm = Get-CapiVmById $p.vmId
    if ($null -eq $vm) { Stop-Capi 801 "VMM cannot find VirtualMachine object '$($p.vmId)'. (Error ID: 801)" }
    $status = [string]$vm.Status
    $force = $p.mode -eq 'Force'
    if ($force -and $status -eq 'PoweringOff') {
        $task = $vm.MostRecentTask
        if ($null -ne $task -and [string]$task.Status -eq 'Running') {
            $null = Stop-SCJob -Job $task
            $vm = Get-CapiVmById $p.vmId
            $status = [string]$vm.Status
        }
    }
    if ($status -eq 'Saved') {
        $vm = Stop-SCVirtualMachine -VM $vm -DiscardSavedState -RunAsynchronously
    } elseif ($status -ne 'PowerOff' -and $status -ne 'Stored' -and ($force -or $status -ne 'PoweringOff')) {
        if ($force) {
            $vm = Stop-SCVirtualMachine -VM $vm -Force -RunAsynchronously
        } else {
            $vm = Stop-SCVirtualMachine -VM $vm -Shutdown -RunAsynchronously
        }
    }
    $result = ConvertTo-CapiVm $vm
