    # server_info: the VMM server this endpoint connects to.
    $server = Get-SCVMMServer -ComputerName $p.server
    $result = @{ name = [string]$server.Name; productVersion = [string]$server.ProductVersion }
