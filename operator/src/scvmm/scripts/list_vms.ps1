    # list_vms: every VM carrying a marker, in one call (batched observation).
    $result = @(foreach ($vm in @(Get-SCVirtualMachine -All)) {
        if ($null -ne $vm -and (Get-CapiMarker $vm)) { ConvertTo-CapiVm $vm }
    })
