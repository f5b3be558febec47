    # stop_vm: guest shutdown (-Shutdown) or power off (-Force), asynchronous;
    # a VM that is off or stopping already is left alone, a saved VM has its
    # saved state discarded (there is no running guest to shut down).
    $vm = Get-CapiVmById $p.vmId
    if ($null -eq $vm) { Stop-Capi 801 "VMM cannot find VirtualMachine object '$($p.vmId)'. (Error ID: 801)" }
    $status = [string]$vm.Status
    if ($status -eq 'Saved') {
        $vm = Stop-SCVirtualMachine -VM $vm -DiscardSavedState -RunAsynchronously
    } elseif ($status -ne 'PowerOff' -and $status -ne 'PoweringOff' -and $status -ne 'Stored') {
        if ($p.mode -eq 'Force') {
            $vm = Stop-SCVirtualMachine -VM $vm -Force -RunAsynchronously
        } else {
            $vm = Stop-SCVirtualMachine -VM $vm -Shutdown -RunAsynchronously
        }
    }
    $result = ConvertTo-CapiVm $vm
