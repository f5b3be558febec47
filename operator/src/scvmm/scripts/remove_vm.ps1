    # remove_vm: Remove-SCVirtualMachine -RunAsynchronously; a VM that is gone
    # or being deleted already is fine. A VM VMM can no longer manage through
    # its host (Missing, HostNotResponding, a failed creation) is removed with
    # -Force, which drops it from VMM's database.
    $vm = Get-CapiVmById $p.vmId
    $removing = $false
    if ($null -ne $vm -and [string]$vm.Status -ne 'Deleting' -and -not $vm.MarkedForDeletion) {
        $broken = @('Missing', 'HostNotResponding', 'CreationFailed', 'Incomplete') -contains [string]$vm.Status
        if ($broken) {
            $null = Remove-SCVirtualMachine -VM $vm -Force -RunAsynchronously
        } else {
            $null = Remove-SCVirtualMachine -VM $vm -RunAsynchronously
        }
        $removing = $true
    }
    $result = @{ removing = $removing }
