    # find_vm: every VM carrying the machine's marker (normally one).
    $result = @(foreach ($vm in @(Find-CapiVm $p.instanceId)) { ConvertTo-CapiVm $vm })
