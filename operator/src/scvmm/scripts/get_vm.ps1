    # get_vm: one VM by its VMM ID; null when it does not exist.
    $vm = Get-CapiVmById $p.vmId
    if ($null -ne $vm) { $result = ConvertTo-CapiVm $vm }
