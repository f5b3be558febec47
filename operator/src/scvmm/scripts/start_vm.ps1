    # start_vm: Start-SCVirtualMachine -RunAsynchronously; a VM that is
    # running or starting already is left alone.
    $vm = Get-CapiVmById $p.vmId
    if ($null -eq $vm) { Stop-Capi 801 "VMM cannot find VirtualMachine object '$($p.vmId)'. (Error ID: 801)" }
    $status = [string]$vm.Status
    if ($status -ne 'Running' -and $status -ne 'Starting') {
        $vm = Start-SCVirtualMachine -VM $vm -RunAsynchronously
    }
    $result = ConvertTo-CapiVm $vm
