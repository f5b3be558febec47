# Quotes and dashes PowerShell accepts besides the ASCII ones.
$name = ‘web-01’
$desc = “said “hello” and ‘bye’”
Get-SCVirtualMachine –Name $name — -ErrorAction SilentlyContinue
Write-Output "$name: ${desc}"
$here = @‘
  literal $not expanded
‘@
