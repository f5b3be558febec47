    $out = @{ result = $result }
} catch {
    if ($capi.error) {
        $out = @{ error = $capi.error }
    } else {
        $out = @{ error = (ConvertTo-CapiError $_) }
    }
}
ConvertTo-Json -InputObject $out -Compress -Depth 6
