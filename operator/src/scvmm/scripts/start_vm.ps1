    # start_vm: Start-SCVirtualMachine -RunAsynchronously; a VM that is
    # running or starting already is left alone. With isoPath, the library
    # copy of the seed is deleted too (the VM has its own copy on the host).
    $vm = Get-CapiVmById $p.vmId
    if ($null -eq $vm) { Stop-Capi 801 "VMM cannot find VirtualMachine object '$($p.vmId)'. (Error ID: 801)" }
    $status = [string]$vm.Status
    if ($status -ne 'Running' -and $status -ne 'Starting') {
        $vm = Start-SCVirtualMachine -VM $vm -RunAsynchronously
    }
    if ($p.isoPath) { $null = Remove-CapiSeed ([string]$p.isoPath) }
    $result = ConvertTo-CapiVm $vm
