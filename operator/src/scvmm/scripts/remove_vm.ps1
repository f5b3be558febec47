    # remove_vm: Remove-SCVirtualMachine -RunAsynchronously; a VM that is gone
    # or being deleted already is fine.
    $vm = Get-CapiVmById $p.vmId
    $removing = $false
    if ($null -ne $vm -and [string]$vm.Status -ne 'Deleting' -and -not $vm.MarkedForDeletion) {
        $null = Remove-SCVirtualMachine -VM $vm -RunAsynchronously
        $removing = $true
    }
    $result = @{ removing = $removing }
