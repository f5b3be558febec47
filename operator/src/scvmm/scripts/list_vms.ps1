    # list_vms: every VM carrying a marker, in one call (batched observation).
    # The VMs named in refresh (machines waiting for their guest's addresses)
    # are refreshed first, unless a job works on them: a refresh rides on the
    # list those machines wait on anyway instead of costing a call of its
    # own, and one VMM refuses only costs that VM its refresh. A refreshed
    # VM carries the ID of the job its refresh started (refreshJob), so that
    # the controller never takes another job for it.
    $refresh = @{}
    foreach ($id in @($p.refresh)) { if ($id) { $refresh[([string]$id).ToLowerInvariant()] = $true } }
    $result = @(foreach ($vm in @(Get-SCVirtualMachine -All)) {
        if ($null -eq $vm -or -not (Get-CapiMarker $vm)) { continue }
        $refreshJob = $null
        if ($refresh.Count -gt 0 -and $refresh.ContainsKey(([string]$vm.ID).ToLowerInvariant())) {
            $task = $vm.MostRecentTask
            if ($null -eq $task -or [string]$task.Status -ne 'Running') {
                try {
                    $vm = Read-SCVirtualMachine -VM $vm -RunAsynchronously
                    if ($null -ne $vm.MostRecentTask) { $refreshJob = [string]$vm.MostRecentTask.ID }
                } catch { }
            }
        }
        $converted = ConvertTo-CapiVm $vm
        if ($refreshJob) { $converted['refreshJob'] = $refreshJob }
        $converted
    })
