    # eject_seed: empty the DVD drive that holds the seed, and delete the
    # library copy of the seed if it is still there.
    $vm = Get-CapiVmById $p.vmId
    $ejected = $false
    if ($null -ne $vm) {
        foreach ($drive in @(Get-SCVirtualDVDDrive -VM $vm)) {
            if ($null -ne $drive -and $null -ne $drive.ISO -and [string]$drive.ISO.Name -eq $p.isoName) {
                $null = Set-SCVirtualDVDDrive -VirtualDVDDrive $drive -NoMedia
                $ejected = $true
            }
        }
    }
    $removed = Remove-CapiSeed ([string]$p.isoPath)
    $result = @{ ejected = $ejected; removed = $removed }
