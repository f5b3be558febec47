    # upload_seed: one chunk of a seed ISO too large to travel with create_vm.
    # The first chunk looks for the machine's VM first: when it exists there
    # is nothing to upload. A chunk that arrives twice is written once.
    $vms = @()
    if ($p.checkMarker) { $vms = @(foreach ($vm in @(Find-CapiVm $p.instanceId)) { ConvertTo-CapiVm $vm }) }
    if ($vms.Count -eq 0) {
        $path = [string]$p.path
        $bytes = [Convert]::FromBase64String([string]$p.data)
        $offset = [long]$p.offset
        if ($offset -eq 0) {
            $folder = [string]$p.folder
            if (-not (Test-Path -LiteralPath $folder)) { $null = New-Item -ItemType Directory -Path $folder -Force }
            [IO.File]::WriteAllBytes($path, $bytes)
        } else {
            $length = -1
            if ([IO.File]::Exists($path)) { $length = [IO.File]::ReadAllBytes($path).Length }
            if ($length -eq $offset) {
                Add-Content -LiteralPath $path -Value $bytes -Encoding Byte
            } elseif ($length -ne $offset + $bytes.Length) {
                Stop-Capi 0 "The seed upload to '$path' is out of step: the file holds $length bytes where $offset were expected; the upload starts again."
            }
        }
    }
    $result = @{ vms = $vms }
