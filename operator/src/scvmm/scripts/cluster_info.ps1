    # cluster_info: what the ScvmmCluster controller checks on every poll, in
    # one run: the server and its version, each failure domain's cloud or
    # host group (and how many hosts there take new VMs), the VM networks and
    # static IP pools its networking defaults name, and the VMs that
    # carry this cluster's marker (for orphan detection).
    $server = Get-SCVMMServer -ComputerName $p.server
    $domains = @(foreach ($fd in @($p.failureDomains)) {
        if ($null -eq $fd) { continue }
        $problem = $null
        $hosts = 0
        if ([string]$fd.cloud) {
            # Exact names: -Name would take [ ] * ? as wildcards.
            $clouds = @(Get-SCCloud | Where-Object { $null -ne $_ -and $_.Name -eq [string]$fd.cloud })
            if ($clouds.Count -eq 0) {
                $problem = "VMM has no cloud named '$($fd.cloud)' that the account can see"
            } elseif ($clouds.Count -gt 1) {
                $problem = "$($clouds.Count) clouds are named '$($fd.cloud)'; cloud names used by the provider must be unique"
            } else {
                foreach ($g in @($clouds[0].HostGroup)) {
                    if ($null -eq $g) { continue }
                    foreach ($h in @($g.AllChildHosts)) {
                        if ($null -ne $h -and -not $h.MaintenanceHost -and $h.AvailableForPlacement -ne $false) { $hosts++ }
                    }
                }
            }
        }
        if ($null -eq $problem -and [string]$fd.hostGroup) {
            # Looked up as create_vm does: by path, else by unique name.
            $groups = @(Find-CapiHostGroups ([string]$fd.hostGroup))
            if ($groups.Count -eq 0) {
                $problem = "VMM has no host group with the path or name '$($fd.hostGroup)' that the account can see"
            } elseif ($groups.Count -gt 1) {
                $problem = "$($groups.Count) host groups are named '$($fd.hostGroup)'; use the full path (All Hosts\...)"
            } else {
                $hosts = 0
                foreach ($h in @($groups[0].AllChildHosts)) {
                    if ($null -ne $h -and -not $h.MaintenanceHost -and $h.AvailableForPlacement -ne $false) { $hosts++ }
                }
                if ($hosts -eq 0) {
                    $problem = "host group '$($fd.hostGroup)' has no host that takes new VMs (all are in maintenance mode or excluded from placement)"
                }
            }
        }
        # The domain's networking defaults name VM networks and VMM static
        # IP pools that must exist too.
        if ($null -eq $problem) {
            foreach ($net in @($fd.vmNetworks)) {
                if ($net -and @(Get-SCVMNetwork | Where-Object { $_.Name -eq [string]$net }).Count -eq 0) {
                    $problem = "VMM has no VM network named '$net' (networking.devices[].vmNetwork) that the account can see"
                    break
                }
            }
        }
        if ($null -eq $problem) {
            foreach ($pool in @($fd.ipPools)) {
                if ($pool -and @(Get-SCStaticIPAddressPool | Where-Object { $_.Name -eq [string]$pool }).Count -eq 0) {
                    $problem = "VMM has no static IP address pool named '$pool' (networking.devices[].scvmmIPPool)"
                    break
                }
            }
        }
        @{ name = [string]$fd.name; problem = $problem; hosts = $hosts }
    })
    $vms = @()
    if ([string]$p.cluster) {
        $vms = @(foreach ($vm in @(Get-SCVirtualMachine -All)) {
            if ($null -ne $vm -and (Get-CapiClusterMarker $vm) -eq [string]$p.cluster) {
                @{ id = [string]$vm.ID; name = [string]$vm.Name; instanceId = (Get-CapiMarker $vm); status = [string]$vm.Status; host = [string]$vm.HostName }
            }
        })
    }
    $result = @{
        server = @{ name = [string]$server.Name; productVersion = [string]$server.ProductVersion }
        failureDomains = $domains
        vms = $vms
    }
