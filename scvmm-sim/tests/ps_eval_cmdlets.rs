//! The built-in cmdlets: object cmdlets (Where-Object, ForEach-Object,
//! Select-Object, Sort-Object, Measure-Object, Group-Object, Get-Member,
//! Add-Member, New-Object), output cmdlets and stdout rendering, files and
//! paths over the in-memory store, and the session utilities.

use scvmm_sim::ps::eval::{FileStore, NoCommands, RunResult, Session, SessionOptions, run_script};

fn run(src: &str) -> RunResult {
    run_script(src, &mut NoCommands, SessionOptions::default())
}

fn ok(src: &str) -> String {
    let r = run(src);
    assert!(
        r.errors().next().is_none(),
        "unexpected errors for {src:?}:\n{}",
        r.stderr_text()
    );
    r.stdout_text()
        .replace("\r\n", "\n")
        .trim_end_matches('\n')
        .to_owned()
}

const VMS: &str = "$vms = @([pscustomobject]@{Name = 'b'; Cpu = 4; Status = 'Running'}, [pscustomobject]@{Name = 'a'; Cpu = 2; Status = 'PowerOff'}, [pscustomobject]@{Name = 'c'; Cpu = 4; Status = 'Running'}); ";

fn with_vms(src: &str) -> String {
    ok(&format!("{VMS}{src}"))
}

// ---- Where-Object / ForEach-Object ---------------------------------------------------

#[test]
fn where_object_script_block_and_simplified_forms() {
    assert_eq!(
        with_vms("($vms | Where-Object { $_.Cpu -gt 2 } | % Name) -join ','"),
        "b,c"
    );
    assert_eq!(
        with_vms("($vms | ? Status -eq 'running' | % Name) -join ','"),
        "b,c"
    );
    assert_eq!(with_vms("($vms | where Status -ceq 'running').Count"), "0");
    assert_eq!(
        with_vms("($vms | Where-Object Name -in 'a', 'c' | % Name) -join ','"),
        "a,c"
    );
    assert_eq!(
        with_vms("($vms | Where-Object Name -like '[ab]' | % Name) -join ','"),
        "b,a"
    );
    assert_eq!(
        with_vms("($vms | Where-Object -Property Cpu -GT -Value 3).Count"),
        "2"
    );
    assert_eq!(
        ok("(@([pscustomobject]@{On = $true}, [pscustomobject]@{On = $false}) | ? On).Count"),
        "1"
    );
    assert_eq!(
        ok("('a', 1, 'b' | Where-Object { $_ -is [string] }) -join ''"),
        "ab"
    );
}

#[test]
fn foreach_object_forms() {
    assert_eq!(ok("1..3 | ForEach-Object { $_ * 2 }"), "2\n4\n6");
    assert_eq!(
        ok("1..3 | % -Begin { 'start' } -Process { $_ } -End { 'end' }"),
        "start\n1\n2\n3\nend"
    );
    assert_eq!(ok("1..2 | % { 'b' } { $_ } { 'e' }"), "b\n1\n2\ne");
    assert_eq!(with_vms("$vms | % Name"), "b\na\nc");
    assert_eq!(ok("'a', 'b' | % ToUpper"), "A\nB");
    assert_eq!(ok("'a-b' | % Split '-'"), "a\nb");
    // Blocks run in the caller's scope.
    assert_eq!(ok("$sum = 0; 1..4 | % { $sum += $_ }; $sum"), "10");
    assert_eq!(ok("ForEach-Object { 'no input' }"), "no input");
}

// ---- Select-Object --------------------------------------------------------------------

#[test]
fn select_object_properties_and_calculated_properties() {
    assert_eq!(
        with_vms(
            "$vms | Select-Object Name, @{Name = 'Cores'; Expression = { $_.Cpu * 2 }}, @{N = 'S'; E = 'Status'} -First 1 | ConvertTo-Json -Compress"
        ),
        "{\"Name\":\"b\",\"Cores\":8,\"S\":\"Running\"}"
    );
    assert_eq!(
        with_vms("($vms | Select-Object -ExpandProperty Name) -join ','"),
        "b,a,c"
    );
    assert_eq!(
        with_vms(
            "($vms | Select-Object * -ExcludeProperty Cpu | Select-Object -First 1).PSObject.Properties.Name -join ','"
        ),
        "Name,Status"
    );
    assert_eq!(
        with_vms("($vms | Select-Object N*)[0].PSObject.Properties.Name"),
        "Name"
    );
    assert_eq!(
        with_vms("($vms | Select-Object Name, Missing)[0].Missing -eq $null"),
        "True"
    );
    assert_eq!(
        with_vms("($vms | Select-Object Name)[0].PSObject.TypeNames[0]"),
        "Selected.System.Management.Automation.PSCustomObject"
    );
    assert_eq!(
        ok("[pscustomobject]@{Ips = @('1', '2')} | Select-Object -ExpandProperty Ips"),
        "1\n2"
    );
    let r = run(&format!("{VMS} $vms | Select-Object -ExpandProperty Nope"));
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "Property \"Nope\" cannot be found."
    );
}

#[test]
fn select_object_first_last_skip_unique_index() {
    assert_eq!(ok("1..10 | Select-Object -First 3 -Skip 2"), "3\n4\n5");
    assert_eq!(ok("1..5 | Select-Object -Last 2"), "4\n5");
    assert_eq!(ok("1, 1, 2, 2, 3 | Select-Object -Unique"), "1\n2\n3");
    assert_eq!(ok("'a', 'b', 'c' | Select-Object -Index 0, 2"), "a\nc");
    assert_eq!(ok("@() | Select-Object -First 1"), "");
}

#[test]
fn select_first_stops_the_upstream_pipeline() {
    // Only the first object is produced; the rest of the upstream never
    // runs (its Write-Host would show).
    assert_eq!(
        ok("1..5 | % { Write-Host \"made $_\"; $_ } | Select-Object -First 1"),
        "made 1\n1"
    );
    // Even a long producer stops promptly.
    assert_eq!(ok("1..1000000 | Select-Object -First 2"), "1\n2");
}

// ---- Sort / Measure / Group -----------------------------------------------------------

#[test]
fn sort_object() {
    assert_eq!(ok("3, 1, 2 | Sort-Object"), "1\n2\n3");
    assert_eq!(ok("'b', 'A', 'c' | Sort-Object"), "A\nb\nc");
    assert_eq!(ok("10, 9, 100 | Sort-Object -Descending"), "100\n10\n9");
    assert_eq!(
        with_vms("($vms | Sort-Object Name | % Name) -join ','"),
        "a,b,c"
    );
    assert_eq!(
        with_vms("($vms | Sort-Object Cpu, Name -Descending | % Name) -join ','"),
        "c,b,a"
    );
    assert_eq!(
        with_vms(
            "($vms | Sort-Object @{Expression = 'Cpu'; Descending = $true}, Name | % Name) -join ','"
        ),
        "b,c,a"
    );
    assert_eq!(
        with_vms("($vms | Sort-Object { $_.Name } -Descending | % Name) -join ','"),
        "c,b,a"
    );
    assert_eq!(ok("3, 1, 3, 2 | Sort-Object -Unique"), "1\n2\n3");
    // Stable for equal keys.
    assert_eq!(
        with_vms("($vms | Sort-Object Cpu | % Name) -join ','"),
        "a,b,c"
    );
}

#[test]
fn measure_object() {
    assert_eq!(ok("(1..4 | Measure-Object).Count"), "4");
    assert_eq!(
        ok(
            "$m = 1..4 | Measure-Object -Sum -Average -Maximum -Minimum; $m.Sum; $m.Average; $m.Maximum; $m.Minimum"
        ),
        "10\n2.5\n4\n1"
    );
    assert_eq!(with_vms("($vms | Measure-Object Cpu -Sum).Sum"), "10");
    assert_eq!(ok("(@() | Measure-Object).Count"), "0");
    assert_eq!(ok("(Measure-Object -InputObject 5).Count"), "1");
}

#[test]
fn group_object() {
    assert_eq!(
        with_vms("$vms | Group-Object Status | % { \"$($_.Name)=$($_.Count)\" }"),
        "Running=2\nPowerOff=1"
    );
    assert_eq!(
        with_vms("($vms | Group-Object Status -AsHashTable)['PowerOff'].Name"),
        "a"
    );
    assert_eq!(
        with_vms("($vms | Group-Object Cpu)[0].Group.Name -join ','"),
        "b,c"
    );
}

// ---- members ---------------------------------------------------------------------------

#[test]
fn get_member_and_add_member() {
    assert_eq!(
        with_vms("$vms[0] | Get-Member -MemberType NoteProperty | % Name"),
        "Cpu\nName\nStatus"
    );
    assert_eq!(
        with_vms("($vms[0] | Get-Member -Type NoteProperty | ? Name -eq 'Cpu').Definition"),
        "Int32 Cpu=4"
    );
    assert_eq!(
        ok(
            "$x = [pscustomobject]@{a = 1}; $x | Add-Member -NotePropertyName b -NotePropertyValue 2; $x.b"
        ),
        "2"
    );
    assert_eq!(
        ok(
            "$x = [pscustomobject]@{}; Add-Member -InputObject $x -MemberType NoteProperty -Name c -Value 3 -PassThru | % c"
        ),
        "3"
    );
    assert_eq!(
        ok(
            "$x = New-Object PSObject; $x | Add-Member -NotePropertyMembers @{p = 1; q = 2}; $x.p + $x.q"
        ),
        "3"
    );
    let r = run(
        "$x = [pscustomobject]@{a = 1}; $x | Add-Member -NotePropertyName a -NotePropertyValue 2",
    );
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("already exists"))
    );
    assert_eq!(
        ok(
            "$x = [pscustomobject]@{a = 1}; $x | Add-Member -NotePropertyName a -NotePropertyValue 2 -Force; $x.a"
        ),
        "2"
    );
}

#[test]
fn new_object() {
    assert_eq!(
        ok("$o = New-Object PSObject -Property @{Name = 'x'}; $o.Name"),
        "x"
    );
    assert_eq!(
        ok("(New-Object System.Collections.ArrayList).GetType().Name"),
        "ArrayList"
    );
    assert_eq!(
        ok("$l = New-Object 'System.Collections.Generic.List[string]'; $l.Add('a'); $l.Count"),
        "1"
    );
    assert_eq!(ok("(New-Object System.Exception 'msg').Message"), "msg");
    assert_eq!(
        ok("(New-Object -TypeName System.Net.NetworkCredential -ArgumentList 'u', 'p').Password"),
        "p"
    );
    let r = run("New-Object Foo.Bar");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "Cannot find type [Foo.Bar]: verify that the assembly containing this type is loaded."
    );
}

// ---- output ------------------------------------------------------------------------------

#[test]
fn write_cmdlets() {
    assert_eq!(ok("Write-Output 1, 2 | % { $_ * 10 }"), "10\n20");
    assert_eq!(ok("Write-Output a b c"), "a\nb\nc");
    assert_eq!(
        ok("Write-Output @(1, 2) -NoEnumerate | % { $_.Count }"),
        "2"
    );
    assert_eq!(
        ok("Write-Host a b -Separator '-'; Write-Host x -NoNewline; Write-Host y"),
        "a-b\nxy"
    );
    assert_eq!(ok("Write-Host @(1, 2)"), "1 2");
    assert_eq!(
        ok("'x' | Out-Null; Write-Progress -Activity a -Status b; 'y'"),
        "y"
    );
    // Warnings show by default; verbose and debug do not.
    assert_eq!(
        ok("Write-Warning 'w'; Write-Verbose 'v'; Write-Debug 'd'"),
        "WARNING: w"
    );
    assert_eq!(ok("Write-Verbose 'v' -Verbose"), "VERBOSE: v");
    assert_eq!(
        ok("$WarningPreference = 'SilentlyContinue'; Write-Warning 'hidden'; 'shown'"),
        "shown"
    );
    assert_eq!(
        ok("Write-Warning 'quiet' -WarningAction SilentlyContinue; 'x'"),
        "x"
    );
    assert_eq!(
        ok(
            "Write-Information 'info'; $InformationPreference = 'Continue'; Write-Information 'shown'"
        ),
        "shown"
    );
}

#[test]
fn out_string_and_formatting() {
    assert_eq!(ok("(1, 2 | Out-String)"), "1\n2");
    assert_eq!(ok("(1, 2 | Out-String -Stream).Count"), "2");
    assert_eq!(
        with_vms("$vms[0] | Format-List Name, Cpu"),
        "\nName : b\nCpu  : 4"
    );
    assert_eq!(
        with_vms("$vms | Format-Table Name, Cpu"),
        "\nName Cpu\n---- ---\nb    4\na    2\nc    4"
    );
}

#[test]
fn stdout_rendering_of_objects() {
    assert_eq!(
        ok(
            "[pscustomobject]@{Name = 'vm1'; Status = 'Running'; Ips = @('10.0.0.1', '10.0.0.2', '3', '4', '5')}"
        ),
        "\nName   : vm1\nStatus : Running\nIps    : {10.0.0.1, 10.0.0.2, 3, 4...}"
    );
    assert_eq!(
        ok("@{Name = 'x'}"),
        "\nName                           Value\n----                           -----\nName                           x"
    );
    assert_eq!(ok("$null; ''; 'after'"), "\nafter");
    assert_eq!(
        ok("$true; 1.5; [guid]::Empty"),
        "True\n1.5\n00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(
        ok("[datetime]'2025-01-01T13:14:15Z'"),
        "Wednesday, January 1, 2025 1:14:15 PM"
    );
}

// ---- files ----------------------------------------------------------------------------------

#[test]
fn content_cmdlets() {
    assert_eq!(
        ok(
            "Set-Content C:\\t\\a.txt 'line1', 'line2'; (Get-Content C:\\t\\a.txt).Count; Add-Content C:\\t\\a.txt 'line3'; (Get-Content C:\\t\\a.txt)[-1]"
        ),
        "2\nline3"
    );
    assert_eq!(
        ok("Set-Content C:\\t\\b.txt 'x' -NoNewline; Get-Content C:\\t\\b.txt -Raw"),
        "x"
    );
    assert_eq!(
        ok("'a', 'b' | Set-Content C:\\p.txt; Get-Content C:\\p.txt"),
        "a\nb"
    );
    assert_eq!(
        ok(
            "Set-Content C:\\bin.dat -Value ([byte[]](1, 2, 255)) -Encoding Byte; (Get-Content C:\\bin.dat -Encoding Byte -Raw) -join ','"
        ),
        "1,2,255"
    );
    assert_eq!(
        ok("Set-Content C:\\u.txt 'é' -Encoding UTF8; [IO.File]::ReadAllBytes('C:\\u.txt')[0]"),
        "239"
    );
    assert_eq!(
        ok(
            "'x' | Out-File C:\\o.txt; [IO.File]::ReadAllBytes('C:\\o.txt').Count; Get-Content C:\\o.txt"
        ),
        "8\nx"
    );
    assert_eq!(
        ok("'a' > C:\\r.txt; 'b' >> C:\\r.txt; Get-Content C:\\r.txt"),
        "a\nb"
    );
    assert_eq!(
        ok("$env:X = 'v'; Get-Content env:X; Test-Path env:X; Remove-Item env:X; Test-Path env:X"),
        "v\nTrue\nFalse"
    );
}

#[test]
fn path_cmdlets() {
    assert_eq!(
        ok(
            "Set-Content C:\\d\\f.txt 'x'; Test-Path C:\\d\\f.txt; Test-Path C:\\d; Test-Path C:\\d -PathType Leaf; Test-Path C:\\nope"
        ),
        "True\nTrue\nFalse\nFalse"
    );
    assert_eq!(
        ok("Set-Content C:\\g.txt 'x'; Remove-Item C:\\g.txt; Test-Path C:\\g.txt"),
        "False"
    );
    let r = run("Remove-Item C:\\nothing.txt");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.fully_qualified_error_id.clone())
            .unwrap_or_default(),
        "PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand"
    );
    assert_eq!(
        ok(
            "New-Item -ItemType Directory C:\\newdir | Out-Null; Test-Path C:\\newdir -PathType Container"
        ),
        "True"
    );
    assert_eq!(
        ok("(New-Item C:\\n.txt -ItemType File -Value 'v').FullName; Get-Content C:\\n.txt"),
        "C:\\n.txt\nv"
    );
    assert_eq!(
        ok(
            "Split-Path 'C:\\a\\b\\c.iso'; Split-Path 'C:\\a\\b\\c.iso' -Leaf; Split-Path 'C:\\a' ; Split-Path '\\\\srv\\share\\x.iso' -Parent"
        ),
        "C:\\a\\b\nc.iso\nC:\\\n\\\\srv\\share"
    );
    assert_eq!(
        ok("Join-Path 'C:\\a' 'b.txt'; Join-Path '\\\\lib\\share\\' '\\ISOs' 'x.iso'"),
        "C:\\a\\b.txt\n\\\\lib\\share\\ISOs\\x.iso"
    );
    assert_eq!(
        ok(
            "Set-Location C:\\work; (Get-Location).Path; Set-Content rel.txt 'r'; Test-Path C:\\work\\rel.txt"
        ),
        "C:\\work\nTrue"
    );
}

#[test]
fn the_session_file_store_is_visible_to_the_embedder() {
    let mut session = Session::default();
    session
        .files_mut()
        .write("C:\\seed\\user-data", b"#cloud-config".to_vec())
        .unwrap_or_default();
    let r = session.run("Get-Content C:\\seed\\user-data; [IO.File]::WriteAllBytes('\\\\lib\\share\\a.iso', [byte[]](1, 2))", &mut NoCommands);
    assert_eq!(r.stdout_text(), "#cloud-config\r\n");
    assert_eq!(
        session.files().read("\\\\LIB\\share\\a.iso"),
        Some(vec![1, 2])
    );
}

// ---- session utilities ------------------------------------------------------------------------

#[test]
fn variable_cmdlets() {
    assert_eq!(
        ok("$v = 5; Get-Variable v -ValueOnly; (Get-Variable v).Value"),
        "5\n5"
    );
    assert_eq!(
        ok("Set-Variable -Name w -Value 6; $w; New-Variable z 7; $z"),
        "6\n7"
    );
    assert_eq!(ok("$r = 1; Remove-Variable r; $r -eq $null"), "True");
    let r = run("Get-Variable nope");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "Cannot find a variable with the name 'nope'."
    );
    assert_eq!(
        ok("Get-Variable nope -ErrorAction SilentlyContinue; 'ok'"),
        "ok"
    );
}

#[test]
fn command_cmdlets() {
    assert_eq!(
        ok("(Get-Command Write-Output).Name; (Get-Command ConvertTo-Json).CommandType"),
        "Write-Output\nCmdlet"
    );
    assert_eq!(
        ok("function Get-Mine { }; (Get-Command Get-Mine).CommandType"),
        "Function"
    );
    assert_eq!(
        ok(
            "if (Get-Command Get-SCVirtualMachine -ErrorAction SilentlyContinue) { 'has vmm' } else { 'no vmm' }"
        ),
        "no vmm"
    );
    assert_eq!(
        ok("Invoke-Command -ScriptBlock { param($a) $a * 2 } -ArgumentList 4"),
        "8"
    );
    assert_eq!(
        ok("Invoke-Command -ComputerName vmm01 -ScriptBlock { 'remote' }"),
        "remote"
    );
    assert_eq!(ok("Invoke-Expression '1 + 1'; iex '$y = 2'; $y"), "2\n2");
    assert_eq!(
        ok(
            "Set-StrictMode -Version Latest; Import-Module virtualmachinemanager; (Get-Module).Name"
        ),
        "virtualmachinemanager"
    );
    assert_eq!(
        ok("(Get-Module -ListAvailable VirtualMachineManager).Count"),
        "1"
    );
    let n: i64 = ok("Get-Random -Minimum 5 -Maximum 10")
        .parse()
        .unwrap_or(-1);
    assert!((5..10).contains(&n));
    assert_eq!(
        ok("(1, 2, 3 | Get-Random -Count 3 | Measure-Object -Sum).Sum"),
        "6"
    );
}

#[test]
fn aliases_and_module_qualified_names() {
    assert_eq!(
        ok("1, 2 | where { $_ -gt 1 } | foreach { $_ } | select -First 1"),
        "2"
    );
    assert_eq!(
        ok("echo hi; Microsoft.PowerShell.Utility\\Write-Output qualified"),
        "hi\nqualified"
    );
}

#[test]
fn dates_use_the_hosts_clock_format() {
    assert_eq!(
        ok("Get-Date -Date '2025-01-01T00:00:00Z' -Format 'yyyy-MM-ddTHH:mm:ss'"),
        "2025-01-01T00:00:00"
    );
    assert_eq!(
        ok("(Get-Date -Date '2025-01-01T00:00:00Z' -Year 2030).Year"),
        "2030"
    );
    assert_eq!(
        ok("(New-TimeSpan -Start '2025-01-01' -End '2025-01-03').Days"),
        "2"
    );
}
