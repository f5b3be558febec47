    # get_job: one job by ID; null when VMM does not know it.
    $jobErrors = $null
    $jobs = @(Get-SCJob -ID $p.jobId -ErrorAction SilentlyContinue -ErrorVariable jobErrors)
    foreach ($e in @($jobErrors)) {
        if ($null -ne $e -and (Get-CapiErrorId $e) -ne 801) { throw $e }
    }
    foreach ($job in $jobs) {
        if ($null -ne $job -and $null -eq $result) { $result = ConvertTo-CapiJob $job }
    }
