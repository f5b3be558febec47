    # revoke_ips: give back every address granted to an owner (or, with
    # ownerPrefix, to every owner starting with it), in every pool.
    $count = 0
    foreach ($pool in @(Get-SCStaticIPAddressPool)) {
        if ($null -eq $pool) { continue }
        foreach ($a in @(Get-SCIPAddress -StaticIPAddressPool $pool)) {
            $description = [string]$a.Description
            $mine = ([string]$p.owner -and $description -eq [string]$p.owner) -or ([string]$p.ownerPrefix -and $description.StartsWith([string]$p.ownerPrefix))
            if ($null -ne $a -and $mine) {
                $null = Revoke-SCIPAddress -AllocatedIPAddress $a
                $count++
            }
        }
    }
    $result = $count
