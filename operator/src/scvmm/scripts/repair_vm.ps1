    # repair_vm: dismiss a failed state (Repair-SCVirtualMachine -Dismiss -Force).
    $vm = Get-CapiVmById $p.vmId
    if ($null -eq $vm) { Stop-Capi 801 "VMM cannot find VirtualMachine object '$($p.vmId)'. (Error ID: 801)" }
    $vm = Repair-SCVirtualMachine -VM $vm -Dismiss -Force -RunAsynchronously
    $result = ConvertTo-CapiVm $vm
