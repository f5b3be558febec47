    # remove_seed: delete the library copy of a seed (indexed or not).
    $removed = Remove-CapiSeed ([string]$p.isoPath)
    $result = @{ removed = $removed }
