    # revoke_ips: give back every address granted to an owner, in every pool.
    $count = 0
    foreach ($pool in @(Get-SCStaticIPAddressPool)) {
        if ($null -eq $pool) { continue }
        foreach ($a in @(Get-SCIPAddress -StaticIPAddressPool $pool)) {
            if ($null -ne $a -and [string]$a.Description -eq $p.owner) {
                $null = Revoke-SCIPAddress -AllocatedIPAddress $a
                $count++
            }
        }
    }
    $result = $count
