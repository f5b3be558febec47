function Get-Capacity {
    param([Parameter(ValueFromPipeline)]$VMHost)
    begin { $total = 0L }
    process {
        $free = $VMHost.AvailableMemory * 1MB
        $total += $free
        [ordered]@{ Host = $VMHost.Name; FreeGB = [math]::Round($free / 1GB, 2); Cores = $VMHost.LogicalProcessorCount }
    }
    end { Write-Verbose ("total free: {0:N1} GB" -f ($total / 1GB)) }
}
$hosts = @(Get-SCVMHost | Sort-Object -Property Name -Descending)
$report = $hosts | Get-Capacity | ForEach-Object { New-Object PSObject -Property $_ }
$byGroup = $hosts | Group-Object { $_.VMHostGroup.Path.Split('\')[-1] }
$lines = foreach ($g in $byGroup) { "{0,-20} {1,3}" -f $g.Name, $g.Count }
$lines -join "`r`n"
$vms = Get-SCVirtualMachine -All | ? { $_.Status -ne 'PowerOff' -and $_.CustomProperty['CapiScvmmInstanceId'] } | % { $_.Name }
$count = ($vms | Measure-Object).Count
for ($i = 0; $i -lt $count; $i += 2) { $vms[$i..([math]::Min($i + 1, $count - 1))] -join ',' }
$text = 'it''s quoted'; $double = "tab`there $($count * 2) `$notvar"
$matches = [regex]::Matches($text, '\w+')
$null = $report.Count; [void]$lines
do { $count-- } until ($count -le 0)
$env:TEMP; ${env:ProgramFiles(x86)}; $script:state = $global:x ?? 1
exit $LASTEXITCODE
