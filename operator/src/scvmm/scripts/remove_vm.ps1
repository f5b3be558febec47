    # remove_vm: Remove-SCVirtualMachine -RunAsynchronously; a VM that is gone
    # or being deleted already is fine. A VM that VMM reports Missing (gone
    # from its host) is removed with -Force, which only drops VMM's database
    # record: for any other status -Force would leave the VM and its disks
    # on the host.
    $vm = Get-CapiVmById $p.vmId
    $removing = $false
    if ($null -ne $vm -and [string]$vm.Status -ne 'Deleting' -and -not $vm.MarkedForDeletion) {
        if ([string]$vm.Status -eq 'Missing') {
            $null = Remove-SCVirtualMachine -VM $vm -Force -RunAsynchronously
        } else {
            $null = Remove-SCVirtualMachine -VM $vm -RunAsynchronously
        }
        $removing = $true
    }
    $result = @{ removing = $removing }
