    # grant_ip: an address from a static IP pool for an owner; a grant whose
    # description is the owner already is reused.
    $pool = Get-CapiOne @(Get-SCStaticIPAddressPool | Where-Object { $_.Name -eq $p.pool }) 'StaticIPAddressPool' $p.pool
    $ip = $null
    foreach ($a in @(Get-SCIPAddress -StaticIPAddressPool $pool)) {
        if ($null -ne $a -and $null -eq $ip -and [string]$a.Description -eq $p.owner) { $ip = $a }
    }
    if ($null -eq $ip) {
        $ip = Grant-SCIPAddress -GrantToObjectType 'VirtualMachine' -StaticIPAddressPool $pool -Description ([string]$p.owner)
    }
    $prefix = $null
    if (([string]$pool.Subnet) -match '/(\d+)$') { $prefix = [int]$Matches[1] }
    $gateway = $null
    foreach ($g in @($pool.DefaultGateways)) {
        if ($null -ne $g -and $null -eq $gateway) { $gateway = [string]$g.IPAddress }
    }
    $result = @{
        id = [string]$ip.ID
        address = [string]$ip.Address
        prefixLength = $prefix
        gateway = $gateway
        dnsServers = @(foreach ($d in @($pool.DNSServers)) { if ($d) { [string]$d } })
        dnsSuffix = [string]$pool.DNSSuffix
    }
