//! Parse → print → parse gives the same tree, for a corpus of realistic VMM
//! scripts; and typographic quotes and dashes give the same tree as ASCII.

use proptest::prelude::*;
use scvmm_sim::ps;

/// Creates a VM from a template in one job group, the way a CAPI provider
/// does: parameters arrive as base64 JSON, devices are staged with
/// -JobGroup, the result is one compressed JSON document.
const CREATE_VM: &str = r#"
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Payload
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$p = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Payload)) | ConvertFrom-Json

try {
    $existing = @(Get-SCVirtualMachine -VMMServer localhost | Where-Object { $_.Description -like "*capi:$($p.MachineId)*" })
    if ($existing.Count -gt 0) {
        @{ Result = 'Adopted'; Id = "$($existing[0].ID)" } | ConvertTo-Json -Compress
        return
    }
    $jobGroup = [guid]::NewGuid().ToString()
    $template = Get-SCVMTemplate -Name $p.Template
    if (-not $template) { throw "template '$($p.Template)' not found" }
    foreach ($nic in $p.Networks) {
        $vmNetwork = Get-SCVMNetwork -Name $nic.Network
        New-SCVirtualNetworkAdapter -JobGroup $jobGroup -VMNetwork $vmNetwork -Synthetic | Out-Null
    }
    for ($lun = 1; $lun -lt $p.Disks.Count; $lun++) {
        $disk = $p.Disks[$lun]
        New-SCVirtualDiskDrive -SCSI -Bus 0 -LUN $lun -JobGroup $jobGroup `
            -VirtualHardDiskSizeMB ([int]($disk.SizeBytes / 1MB)) -Dynamic `
            -Filename "$($p.Name)_disk_$($lun + 1)" -VolumeType None | Out-Null
    }
    $config = New-SCVMConfiguration -VMTemplate $template -Name $p.Name -VMHostGroup $p.HostGroup
    $vmArgs = @{
        Name = $p.Name
        VMConfiguration = $config
        CPUCount = $p.CpuCount
        MemoryMB = [int]($p.MemoryBytes / 1MB)
        Description = "capi:$($p.MachineId)"
        JobGroup = $jobGroup
        RunAsynchronously = $true
    }
    if ($p.Cloud) { $vmArgs['Cloud'] = Get-SCCloud -Name $p.Cloud }
    $vm = New-SCVirtualMachine @vmArgs -ErrorAction Stop
    @{
        Result = 'Creating'
        Id = $vm.ID.ToString()
        JobId = "$($vm.MostRecentTask.ID)"
        Networks = @($p.Networks | ForEach-Object { $_.Network })
    } | ConvertTo-Json -Compress -Depth 3
} catch {
    @{ Error = $_.Exception.Message; Stack = "$_ $($_.ScriptStackTrace)" } | ConvertTo-Json -Compress
}
"#;

/// Turns a VM into plain data before ConvertTo-Json (raw VMM objects do not
/// serialise well), with one-element arrays kept as arrays.
const VM_TO_JSON: &str = r#"
function VMToJson($vm, $message = '') {
    $adapters = foreach ($na in $vm.VirtualNetworkAdapters) {
        @{
            Name = $na.Name
            MAC = "$($na.MACAddress)"
            IPv4Addresses = @($na.IPv4Addresses | ForEach-Object { "$_" })
            VMNetwork = if ($na.VMNetwork) { $na.VMNetwork.Name } else { $null }
        }
    }
    $disks = @()
    foreach ($d in $vm.VirtualDiskDrives) {
        $disks += @{ LUN = $d.LUN; Size = $d.VirtualHardDisk.Size; Path = $d.VirtualHardDisk.Location }
    }
    $props = @{}
    foreach ($cp in (Get-SCCustomPropertyValue -InputObject $vm)) {
        $props[$cp.CustomProperty.Name] = $cp.Value
    }
    @{
        Id = $vm.ID.ToString()
        Name = $vm.Name
        Status = "$($vm.Status)"
        Busy = [bool]($vm.MostRecentTask -and $vm.MostRecentTask.Status -notin 'Completed', 'SucceedWithInfo')
        NetworkAdapters = @($adapters)
        VirtualDisks = $disks
        CustomProperty = $props
        CreationTime = $vm.CreationTime.ToString('o')
        Message = $message
    } | ConvertTo-Json -Depth 3 -Compress
}

$vm = Get-SCVirtualMachine -ID $args[0] -ErrorAction SilentlyContinue
if ($null -eq $vm) {
    '{"Message":"not found"}'
} else {
    VMToJson $vm 'ok'
}
"#;

/// The function bundle and connection of a long-lived session.
const CONNECT: &str = r#"
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'; $VerbosePreference = 'SilentlyContinue'
${env:SCVMM_USERNAME} = 'CORP\svc-capi'
${env:SCVMM_PASSWORD} = 'p@ss''word'

function ConnectSCVMM {
    param([string]$Computername)
    $credparam = @{}
    if ($env:SCVMM_USERNAME -and $env:SCVMM_PASSWORD) {
        $secure = ConvertTo-SecureString -String $env:SCVMM_PASSWORD -Force -AsPlainText
        $credparam['Credential'] = New-Object System.Management.Automation.PSCredential($env:SCVMM_USERNAME, $secure)
    }
    Get-SCVMMServer -ComputerName $Computername @credparam | Out-Null
}

ConnectSCVMM -Computername 'vmm01.corp.example'
Write-Host 'OK'
"#;

/// Deleting a VM: busy guard, graceful stop with a fallback, remove.
const REMOVE_VM: &str = r#"
param([string]$Id, [int]$TimeoutSeconds = 300)
$vm = Get-SCVirtualMachine -ID $Id
if (!$vm) { return (@{ Message = 'Removed' } | ConvertTo-Json -Compress) }
if ($vm.MostRecentTask -and $vm.MostRecentTask.Status -notin 'Completed', 'SucceedWithInfo', 'Failed') {
    return (@{ Message = 'Machine is busy'; Status = "$($vm.Status)" } | ConvertTo-Json -Compress)
}
switch ("$($vm.Status)") {
    'Running' {
        $job = Stop-SCVirtualMachine -VM $vm -Shutdown -RunAsynchronously
        $message = 'Stopping'
    }
    'Stopping' { $message = 'Stopping' }
    { $_ -in 'PowerOff', 'Stored', 'Saved', 'CreationFailed' } {
        Remove-SCVirtualMachine -VM $vm -RunAsynchronously -Confirm:$false | Out-Null
        $message = 'Removing'
    }
    default { $message = "Unexpected status $($vm.Status)" }
}
$deadline = (Get-Date).AddSeconds($TimeoutSeconds)
do {
    Start-Sleep -Milliseconds 500
    $vm = Get-SCVirtualMachine -ID $Id
} until ($null -eq $vm -or (Get-Date) -gt $deadline)
@{ Message = $message } | ConvertTo-Json -Compress
"#;

/// Seed ISO upload in chunks, then attach to the DVD drive.
const SEED_ISO: &str = r#"
param($Share, $Name, $Chunk, [int]$Index, [switch]$Last)
$path = Join-Path $Share "$Name.iso"
$bytes = [Convert]::FromBase64String($Chunk)
$mode = if ($Index -eq 0) { [System.IO.FileMode]::Create } else { [System.IO.FileMode]::Append }
$stream = New-Object System.IO.FileStream($path, $mode)
try {
    $stream.Write($bytes, 0, $bytes.Length)
} finally {
    $stream.Dispose()
}
if (-not $Last) { return }
$libraryShare = Get-SCLibraryShare | Where-Object { $_.Path -eq $Share } | Select-Object -First 1
Read-SCLibraryShare -LibraryShare $libraryShare -Path $Share -RunAsynchronously:$false | Out-Null
$iso = Get-SCISO | ? { $_.SharePath -eq $path }
$dvd = Get-SCVirtualDVDDrive -VM $Name | Select-Object -First 1
if ($dvd.ISO) { Set-SCVirtualDVDDrive -VirtualDVDDrive $dvd -NoMedia | Out-Null }
Set-SCVirtualDVDDrive -VirtualDVDDrive $dvd -ISO $iso -Link:$false | Out-Null
Remove-SCISO -ISO $iso -RunAsynchronously > $null 2>&1
$userData = @"
#cloud-config
hostname: $Name
write_files:
  - path: /etc/motd
    content: "Provisioned by `"capi`" at $((Get-Date).ToString('o'))"
"@
$metaData = @'
instance-id: $literal
local-hostname: not-expanded
'@
"{0} bytes, {1}" -f $bytes.Length, ($userData.Length + $metaData.Length)
"#;

/// Host-group walk and network lookup with the pipeline cmdlets.
const NETWORKS: &str = r#"
function Get-HostGroupChain([string]$Name) {
    $chain = New-Object System.Collections.Generic.List[string]
    $group = Get-SCVMHostGroup -Name $Name
    while ($group) {
        [void]$chain.Add($group.Name)
        $group = $group.ParentHostGroup
    }
    , $chain.ToArray()
}

$candidates = Get-SCVMHostCluster -VMHostGroup $hostGroup |
    ForEach-Object { Get-SCVirtualNetwork -VMHostCluster $_ } |
    Select-Object -ExpandProperty LogicalNetworks |
    ForEach-Object { Get-SCVMNetwork -LogicalNetwork $_ -Name $device.VMNetwork } |
    Sort-Object -Property Name -Unique
if (@($candidates).Count -ne 1) {
    throw ('expected exactly one VM network named {0}, found {1}' -f $device.VMNetwork, @($candidates).Count)
}
$subnet = $candidates[0].VMSubnet | Select -First 1
$pools = @(Get-SCStaticIPAddressPool -VMSubnet $subnet | Where-Object Name -Like "$($device.Pool)*")
$summary = $pools | Select-Object Name, @{ Name = 'Free'; Expression = { $_.TotalAddresses - $_.AvailableAddresses } }, @{ n = 'Range'; e = { "$($_.IPAddressRangeStart)-$($_.IPAddressRangeEnd)" } }
$names = ($pools | ForEach-Object Name) -join ','
$parts = 'a,b,,c' -split ',' | Where-Object { $_ }
$clean = $names -replace '\s+', ' ' -creplace 'X', 'x'
$size = [math]::Round(($pools.Count * 1.5GB) / 1GB, 2)
"#;

/// Control flow and odds and ends.
const MISC: &str = r#"
Set-StrictMode -Version Latest
$i = 0; $total = 0L
:outer for ($i = 0; $i -lt 10; $i++) {
    foreach ($j in 1..3) {
        if ($i * $j -gt 12) { break outer }
        elseif (($i + $j) % 2 -eq 0) { continue }
        $total += $i * $j
    }
}
while ($total -gt 100) { $total -= 7 }
$flags = 0x10 -bor 0x01
$mask = -bnot 0 -band 0xFF
$ratio = 3 / 4 * 1e2
$neg = -$ratio + +1 - -2
$list = [System.Collections.ArrayList]@()
$x = $list.Count
$x++; --$x
$h = [ordered]@{ 'first key' = 1; second = @{ nested = @(1, 2, @(3, 4)) }; 3 = 'three' }
$h.'first key' = $h['second'].nested[-1][0]
$s = "tab`there, `$notvar, ""quoted"", $($h.second.nested.Count) items, ${i}th"
$obj = [pscustomobject]@{ Name = 'n'; Value = $null }
$type = $obj.GetType().FullName
$isString = $type -is [string] -and $type -isnot [int]
$asInt = '42' -as [int]
$joined = -join ('a', 'b')
$split = -split ' a b '
$matched = 'vm-01' -match '^vm-(\d+)$'
$num = $Matches[1]
$scope = $script:total + $global:i
& { param($a, $b) $a + $b } 1 2
. { $dot = 'sourced' }
$sb = { param([int]$n) if ($n -le 1) { 1 } else { $n * (& $sb ($n - 1)) } }
$fact = & $sb 5
try {
    [int]'not a number'
} catch [System.Management.Automation.RuntimeException], [System.FormatException] {
    Write-Warning "conversion failed: $($_.Exception.Message)"
} catch {
    throw
} finally {
    Remove-Variable -Name sb -ErrorAction SilentlyContinue
}
exit 0
"#;

const CORPUS: [(&str, &str); 7] = [
    ("create_vm", CREATE_VM),
    ("vm_to_json", VM_TO_JSON),
    ("connect", CONNECT),
    ("remove_vm", REMOVE_VM),
    ("seed_iso", SEED_ISO),
    ("networks", NETWORKS),
    ("misc", MISC),
];

fn parse(name: &str, src: &str) -> ps::ScriptBlock {
    ps::parse(src).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn corpus_round_trips_through_the_printer() {
    for (name, src) in CORPUS {
        let first = parse(name, src);
        let printed = ps::print(&first);
        let second = ps::parse(&printed)
            .unwrap_or_else(|e| panic!("{name}: printed script does not parse: {e}\n{printed}"));
        assert_eq!(first, second, "{name}: tree changed; printed:\n{printed}");
        assert_eq!(
            ps::print(&second),
            printed,
            "{name}: printing is not idempotent"
        );
    }
}

#[test]
fn corpus_scripts_have_the_expected_statement_counts() {
    let top_level = |src: &str| match parse("count", src).body {
        ps::ast::ScriptBody::Statements(s) => s.len(),
        ps::ast::ScriptBody::Named(_) => 0,
    };
    assert_eq!(top_level(CREATE_VM), 4);
    assert_eq!(top_level(VM_TO_JSON), 3);
    assert_eq!(top_level(CONNECT), 8);
    assert_eq!(top_level(REMOVE_VM), 7);
}

#[test]
fn printed_output_reads_naturally() {
    let printed = ps::print(&parse("connect", CONNECT));
    assert!(printed.contains("Get-SCVMMServer -ComputerName $Computername @credparam | Out-Null"));
    assert!(printed.contains("$env:SCVMM_PASSWORD = 'p@ss''word'"));
    assert!(
        printed
            .contains("function ConnectSCVMM {\n    param(\n        [string]$Computername\n    )")
    );
}

/// A script with a marker where every quote (`{s}` single, `{d}` double) and
/// dash (`{-}`) goes, so each can be replaced on its own.
const TEMPLATE: &str = r#"
$name = {s}vm-01{s}
$greeting = {d}Hello $name, $($name.Length) chars{d}
$here = @{s}
literal $name
{s}@
$expanded = @{d}
Dear $name
{d}@
Get-SCVirtualMachine {-}Name $name {-}ErrorAction {s}Stop{s} | Where-Object { $_.Status {-}eq {d}Running{d} }
if ($a {-}and {-}not $b {-}or $c {-}notin {s}x{s}, {d}y{d}) { $n {-}= 1; $m = {-}5; {-}{-}$n }
$f = {s}{0}-{1}{s} {-}f {-}1, $n
Stop-SCVirtualMachine {-}VM $vm {-}Force:$true {-}Timeout {-}30
$h = @{ {s}key{s} = {d}value $n{d}; Other = {s}o{s} }
$h.{s}key{s}
"#;

fn render(template: &str, singles: &[char], doubles: &[char], dashes: &[char]) -> String {
    let mut out = String::new();
    let (mut s, mut d, mut h) = (0, 0, 0);
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (text, len) = if rest.starts_with("{s}") {
            s += 1;
            (singles[(s - 1) % singles.len()], 3)
        } else if rest.starts_with("{d}") {
            d += 1;
            (doubles[(d - 1) % doubles.len()], 3)
        } else if rest.starts_with("{-}") {
            h += 1;
            (dashes[(h - 1) % dashes.len()], 3)
        } else {
            out.push('{');
            rest = &rest[1..];
            continue;
        };
        out.push(text);
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

#[test]
fn ascii_template_parses() {
    let ascii = render(TEMPLATE, &['\''], &['"'], &['-']);
    let tree = ps::parse(&ascii).unwrap_or_else(|e| panic!("{e}\n{ascii}"));
    let printed = ps::print(&tree);
    assert_eq!(ps::parse(&printed).unwrap(), tree);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// PowerShell treats U+2018–U+201B as single quotes, U+201C–U+201E as
    /// double quotes and U+2013–U+2015 as dashes, opening and closing alike.
    #[test]
    fn unicode_quotes_and_dashes_parse_like_ascii(
        singles in prop::collection::vec(
            prop::sample::select(vec!['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}']), 1..40),
        doubles in prop::collection::vec(
            prop::sample::select(vec!['"', '\u{201C}', '\u{201D}', '\u{201E}']), 1..40),
        dashes in prop::collection::vec(
            prop::sample::select(vec!['-', '\u{2013}', '\u{2014}', '\u{2015}']), 1..40),
    ) {
        let ascii = ps::parse(&render(TEMPLATE, &['\''], &['"'], &['-'])).unwrap();
        let fancy_src = render(TEMPLATE, &singles, &doubles, &dashes);
        let fancy = ps::parse(&fancy_src).unwrap_or_else(|e| panic!("{e}\n{fancy_src}"));
        prop_assert_eq!(fancy, ascii);
    }
}

/// An edit to a corpus script: delete a range, or insert a fragment.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: &'static str },
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for edit in edits {
        match edit {
            Edit::Delete { at, len } => {
                let at = at % (chars.len() + 1);
                let end = (at + len).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Insert { at, text } => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, text.chars());
            }
        }
    }
    chars.into_iter().collect()
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Edit::Delete { at, len }),
        (
            any::<usize>(),
            prop::sample::select(vec![
                "(", ")", "{", "}", "'", "\"", "$(", "@{", "`", "\n", ";", "|", ",", "-", "–", "’",
                "“", "[int]", "-eq", "$x", " ", "#", "<#", "@'\n", "\n'@", "else", "$",
            ])
        )
            .prop_map(|(at, text)| Edit::Insert { at, text }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Damaged real scripts either fail with a positioned error or parse to a
    /// tree that survives printing.
    #[test]
    fn damaged_corpus_scripts_fail_cleanly_or_round_trip(
        which in 0..CORPUS.len(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let src = apply(CORPUS[which].1, &edits);
        match ps::parse(&src) {
            Ok(tree) => {
                let printed = ps::print(&tree);
                let again = ps::parse(&printed);
                prop_assert!(again.is_ok(), "{:?}\nprinted:\n{}", again.err(), printed);
                prop_assert_eq!(again.ok(), Some(tree), "printed:\n{}", printed);
            }
            Err(err) => {
                prop_assert!(err.line >= 1 && err.column >= 1);
                let _ = err.to_string();
            }
        }
    }
}
