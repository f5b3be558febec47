//! The PowerShell language as the evaluator runs it: operators with
//! PowerShell's conversion rules, variables and scopes, functions and
//! parameter binding, script blocks, control flow, strings, member access,
//! methods, casts and static members.
//!
//! Expected values are what Windows PowerShell 5.1 prints for the same
//! script.

use scvmm_sim::ps::eval::{NoCommands, RunResult, Session, SessionOptions, Value, run_script};

fn run(src: &str) -> RunResult {
    run_script(src, &mut NoCommands, SessionOptions::default())
}

/// Stdout of a script that must not fail, with LF line ends and no final
/// line break.
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

/// The first error message of a script that must fail.
fn first_error(src: &str) -> String {
    let r = run(src);
    r.errors()
        .next()
        .map(|e| e.message.clone())
        .unwrap_or_else(|| panic!("expected an error for {src:?}, got:\n{}", r.stdout_text()))
}

// ---- arithmetic ---------------------------------------------------------

#[test]
fn arithmetic_follows_the_left_operand() {
    assert_eq!(ok("1 + 2 * 3"), "7");
    assert_eq!(ok("'5' + 1"), "51");
    assert_eq!(ok("5 + '1'"), "6");
    assert_eq!(ok("'10' - 1"), "9");
    assert_eq!(ok("10 / 4"), "2.5");
    assert_eq!(ok("(10 / 5).GetType().Name"), "Int32");
    assert_eq!(ok("7 % 3"), "1");
    assert_eq!(ok("-7 % 3"), "-1");
    assert_eq!(ok("2.5 * 2"), "5");
    assert_eq!(ok("0.1 + 0.2"), "0.3");
    assert_eq!(ok("$null + 5"), "5");
    assert_eq!(ok("1 + $true"), "2");
}

#[test]
fn integer_overflow_widens_to_double() {
    assert_eq!(ok("[int]::MaxValue + 1"), "2147483648");
    assert_eq!(ok("([int]::MaxValue + 1).GetType().Name"), "Double");
    assert_eq!(ok("([long]::MaxValue + 1).GetType().Name"), "Double");
    assert_eq!(ok("(2147483647L + 1).GetType().Name"), "Int64");
}

#[test]
fn string_and_array_multiplication_and_addition() {
    assert_eq!(ok("'ab' * 3"), "ababab");
    assert_eq!(ok("(@(1, 2) * 2) -join ','"), "1,2,1,2");
    assert_eq!(ok("(@(1) + @(2, 3)) -join ','"), "1,2,3");
    assert_eq!(ok("$a = @(); $a += 'x'; $a += 'y'; $a.Count"), "2");
    assert_eq!(ok("$h = @{a = 1} + @{b = 2}; $h.Count"), "2");
    assert!(first_error("@{a = 1} + @{a = 2}").starts_with("Item has already been added."));
}

#[test]
fn division_by_zero_is_an_error() {
    assert_eq!(first_error("1 / 0"), "Attempted to divide by zero.");
    assert_eq!(first_error("5 % 0"), "Attempted to divide by zero.");
}

#[test]
fn arithmetic_on_non_numbers_fails_like_powershell() {
    assert_eq!(
        first_error("5 + 'abc'"),
        "Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""
    );
    assert!(first_error("$o = [pscustomobject]@{a=1}; $o - 1").contains("op_Subtraction"));
}

#[test]
fn numeric_literals() {
    assert_eq!(ok("0x10"), "16");
    assert_eq!(ok("1kb"), "1024");
    assert_eq!(ok("1.5e2"), "150");
    assert_eq!(ok("(5L).GetType().Name"), "Int64");
    assert_eq!(ok("(1.0).GetType().Name"), "Double");
    assert_eq!(ok("(1d).GetType().Name"), "Decimal");
}

#[test]
fn unary_operators_and_increments() {
    assert_eq!(ok("$i = 1; $i++; $i"), "2");
    assert_eq!(ok("$i = 1; $j = $i++; \"$i $j\""), "2 1");
    assert_eq!(ok("$i = 1; $j = ++$i; \"$i $j\""), "2 2");
    assert_eq!(ok("$i = 5; $i--; --$i; $i"), "3");
    assert_eq!(ok("$u++; $u"), "1");
    assert_eq!(ok("-(3)"), "-3");
    assert_eq!(ok("-'4'"), "-4");
    assert_eq!(
        ok("-not $true; !$false; -not 0; -not ''"),
        "False\nTrue\nTrue\nTrue"
    );
    assert_eq!(ok("-bnot 0"), "-1");
}

#[test]
fn compound_assignment() {
    assert_eq!(
        ok("$x = 10; $x += 5; $x -= 3; $x *= 2; $x /= 4; $x %= 4; $x"),
        "2"
    );
    assert_eq!(ok("$s = 'a'; $s += 'b'; $s *= 2; $s"), "abab");
}

#[test]
fn bitwise_and_logical_operators() {
    assert_eq!(
        ok("6 -band 3; 6 -bor 3; 6 -bxor 3; 1 -shl 4; 256 -shr 2"),
        "2\n7\n5\n16\n64"
    );
    assert_eq!(ok("$true -xor $true; $true -xor $false"), "False\nTrue");
    // Short-circuit: the right side is not evaluated.
    assert_eq!(ok("$false -and (1 / 0); $true -or (1 / 0)"), "False\nTrue");
}

// ---- comparison -----------------------------------------------------------

#[test]
fn comparisons_are_case_insensitive_by_default() {
    assert_eq!(
        ok("'abc' -eq 'ABC'; 'abc' -ceq 'ABC'; 'abc' -ieq 'ABC'"),
        "True\nFalse\nTrue"
    );
    assert_eq!(ok("'a' -lt 'B'; 'a' -clt 'A'"), "True\nTrue");
    assert_eq!(ok("'abc' -ne 'abd'"), "True");
}

#[test]
fn comparisons_convert_the_right_operand_to_the_left_type() {
    // String on the left: string comparison ("10" sorts before "9").
    assert_eq!(ok("'10' -gt 9"), "False");
    // Number on the left: numeric comparison.
    assert_eq!(ok("10 -gt '9'"), "True");
    assert_eq!(ok("1 -eq '1.0'; '1.0' -eq 1"), "True\nFalse");
    assert_eq!(ok("$true -eq 'false'"), "True");
    assert_eq!(ok("5 -eq 'five'"), "False");
    assert_eq!(
        ok("$null -eq 0; 0 -eq $null; $null -lt 1"),
        "False\nFalse\nTrue"
    );
    assert_eq!(
        first_error("5 -gt 'abc'"),
        "Could not compare \"5\" to \"abc\". Error: \"Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\"\""
    );
}

#[test]
fn comparisons_filter_collections() {
    assert_eq!(ok("(1, 2, 3 -gt 1) -join ','"), "2,3");
    assert_eq!(ok("(@('a', 'B', 'c') -eq 'b') -join ','"), "B");
    assert_eq!(
        ok("@(1, $null, 2, $null) -eq $null | Measure-Object | % Count"),
        "2"
    );
    assert_eq!(ok("(@(1, 2) -eq 5).GetType().Name"), "Object[]");
    assert_eq!(ok("if (@() -eq 'x') { 'yes' } else { 'no' }"), "no");
    assert_eq!(
        ok("(@('apple', 'banana', 'cherry') -like '*an*') -join ','"),
        "banana"
    );
}

#[test]
fn containment_operators() {
    assert_eq!(ok("1, 2 -contains 2; 1, 2 -notcontains 3"), "True\nTrue");
    assert_eq!(
        ok("2 -in 1, 2; 'B' -in 'a', 'b'; 'B' -cin 'a', 'b'; 3 -notin 1, 2"),
        "True\nTrue\nFalse\nTrue"
    );
    assert_eq!(ok("'Completed' -in 'completed', 'SucceedWithInfo'"), "True");
}

#[test]
fn wildcard_matching() {
    assert_eq!(
        ok("'server01' -like 'SERVER*'; 'server01' -clike 'SERVER*'"),
        "True\nFalse"
    );
    assert_eq!(
        ok("'a.iso' -like '*.iso'; 'abc' -like 'a?c'; 'abc' -like '[a-c]b[c]'"),
        "True\nTrue\nTrue"
    );
    assert_eq!(ok("'a*c' -like 'a`*c'; 'abc' -notlike 'x*'"), "True\nTrue");
}

#[test]
fn match_sets_matches() {
    assert_eq!(
        ok("'vm-042' -match 'vm-(\\d+)'; $Matches[1]; $Matches[0]"),
        "True\n042\nvm-042"
    );
    assert_eq!(
        ok("'a=b' -match '(?<key>\\w)=(?<value>\\w)'; $Matches.key + $Matches.value"),
        "True\nab"
    );
    assert_eq!(
        ok("'ABC' -match 'b'; 'ABC' -cmatch 'b'; 'ABC' -notmatch 'z'"),
        "True\nFalse\nTrue"
    );
    assert_eq!(ok("(@('a1', 'b', 'c2') -match '\\d') -join ','"), "a1,c2");
}

#[test]
fn replace_split_join() {
    assert_eq!(ok("'a1b2' -replace '\\d', '#'"), "a#b#");
    assert_eq!(
        ok("'john smith' -replace '(\\w+) (\\w+)', '$2, $1'"),
        "smith, john"
    );
    assert_eq!(ok("'HELLO' -replace 'l'"), "HEO");
    assert_eq!(ok("'HELLO' -creplace 'l', 'x'"), "HELLO");
    assert_eq!(ok("('a,b,,c' -split ',') -join '|'"), "a|b||c");
    assert_eq!(ok("('a1b2c' -split '\\d', 2) -join '|'"), "a|b2c");
    assert_eq!(
        ok("(-split '  one two  three ') -join '|'"),
        "one|two|three"
    );
    assert_eq!(ok("('a-b' -split '(-)') -join '|'"), "a|-|b");
    assert_eq!(ok("1, 2, 3 -join ', '; -join ('x', 'y')"), "1, 2, 3\nxy");
}

#[test]
fn type_operators() {
    assert_eq!(
        ok("5 -is [int]; '5' -is [string]; 5 -isnot [string]; @() -is [array]"),
        "True\nTrue\nTrue\nTrue"
    );
    assert_eq!(
        ok("'5' -as [int]; ('x' -as [int]) -eq $null; (1 -as [string]).GetType().Name"),
        "5\nTrue\nString"
    );
    assert_eq!(
        ok("@{} -is [hashtable]; [ordered]@{} -is [hashtable]"),
        "True\nFalse"
    );
    assert_eq!(ok("[pscustomobject]@{a=1} -is [pscustomobject]"), "True");
}

#[test]
fn format_operator() {
    assert_eq!(ok("'{0} has {1} CPUs' -f 'vm1', 4"), "vm1 has 4 CPUs");
    assert_eq!(
        ok("'{0:N2}|{1:D3}|{2:X}|{0:F1}' -f 1234.567, 7, 255"),
        "1,234.57|007|FF|1234.6"
    );
    assert_eq!(ok("'[{0,5}][{0,-5}]' -f 'ab'"), "[   ab][ab   ]");
    assert_eq!(ok("'{{literal}} {0}' -f 1"), "{literal} 1");
    assert!(first_error("'{1}' -f 'a'").contains("Index (zero based)"));
}

#[test]
fn ranges() {
    assert_eq!(ok("(1..5) -join ','"), "1,2,3,4,5");
    assert_eq!(ok("(3..1) -join ','"), "3,2,1");
    assert_eq!(ok("(-1..1) -join ','"), "-1,0,1");
}

// ---- strings ----------------------------------------------------------------

#[test]
fn string_expansion() {
    assert_eq!(ok("$n = 'vm1'; \"name: $n\""), "name: vm1");
    assert_eq!(ok("$o = @{Name = 'vm1'}; \"$($o.Name)\""), "vm1");
    // Only the variable expands, not the member access.
    assert_eq!(
        ok("$o = @{Name = 'vm1'}; \"$o.Name\""),
        "System.Collections.Hashtable.Name"
    );
    assert_eq!(ok("\"tab`there\""), "tab\there");
    assert_eq!(ok("'no $expansion here'"), "no $expansion here");
    assert_eq!(ok("$a = 1, 2, 3; \"$a\""), "1 2 3");
    assert_eq!(
        ok("\"$([pscustomobject]@{a = 1; b = 'x'})\""),
        "@{a=1; b=x}"
    );
    assert_eq!(ok("\"${env:COMPUTERNAME}\""), "VMM01");
}

#[test]
fn here_strings() {
    assert_eq!(ok("$v = 'x'\n@\"\nline $v\n\"@"), "line x");
    assert_eq!(ok("@'\nliteral $v\n'@"), "literal $v");
}

#[test]
fn string_methods() {
    assert_eq!(ok("'  Hello World  '.Trim()"), "Hello World");
    assert_eq!(ok("'Hello'.ToUpper(); 'Hello'.ToLower()"), "HELLO\nhello");
    assert_eq!(ok("'a,b;c'.Split(',;') -join '|'"), "a|b|c");
    assert_eq!(ok("'a--b'.Split(@('--'), 'None') -join '|'"), "a|b");
    assert_eq!(
        ok("'a,,b'.Split(',', [System.StringSplitOptions]::RemoveEmptyEntries).Count"),
        "2"
    );
    assert_eq!(ok("'hello'.Replace('l', 'L')"), "heLLo");
    assert_eq!(
        ok("'abcdef'.Substring(2); 'abcdef'.Substring(1, 3)"),
        "cdef\nbcd"
    );
    assert_eq!(
        ok(
            "'abc'.StartsWith('a'); 'abc'.StartsWith('A'); 'abc'.EndsWith('c'); 'abc'.Contains('b')"
        ),
        "True\nFalse\nTrue\nTrue"
    );
    assert_eq!(ok("'abc'.StartsWith('A', 'OrdinalIgnoreCase')"), "True");
    assert_eq!(
        ok("'abcabc'.IndexOf('c'); 'abcabc'.LastIndexOf('c'); 'abc'.IndexOf('z')"),
        "2\n5\n-1"
    );
    assert_eq!(
        ok("'7'.PadLeft(3, '0'); 'x'.PadRight(3) + '|'"),
        "007\nx  |"
    );
    assert_eq!(
        ok("'abc'.Length; 'hello'.Remove(1, 3); 'ac'.Insert(1, 'b')"),
        "3\nho\nabc"
    );
    assert_eq!(ok("'abc'[0]; 'abc'[-1]"), "a\nc");
    assert_eq!(
        first_error("'abc'.Substring(5)"),
        "Exception calling \"Substring\" with \"1\" argument(s): \"startIndex cannot be larger than length of string.\r\nParameter name: startIndex\""
    );
}

// ---- collections ------------------------------------------------------------

#[test]
fn arrays_index_and_slice() {
    assert_eq!(
        ok("$a = 10, 20, 30; $a[0]; $a[-1]; ($a[0, 2]) -join ','; $a.Count; $a.Length"),
        "10\n30\n10,30\n3\n3"
    );
    assert_eq!(ok("$a = 1, 2, 3; $a[1] = 9; $a -join ','"), "1,9,3");
    assert_eq!(ok("$a = 1, 2; $a[5] -eq $null"), "True");
    assert_eq!(
        first_error("$a = 1, 2; $a[5] = 1"),
        "Index was outside the bounds of the array."
    );
    assert_eq!(
        first_error("$n = $null; $n[0]"),
        "Cannot index into a null array."
    );
    assert_eq!(
        ok("@(1, 2, 3).Contains(2); @('a').Contains('A'); @(5, 6).IndexOf(6)"),
        "True\nFalse\n1"
    );
    assert_eq!(ok("$b = 1, 2; $c = $b; $c[0] = 5; $b[0]"), "5");
}

#[test]
fn array_subexpression_and_unrolling() {
    assert_eq!(
        ok("@(1).Count; @().Count; @($null).Count; @(@(1, 2)).Count"),
        "1\n0\n1\n2"
    );
    assert_eq!(ok("$x = ,1; $x.Count; $x.GetType().Name"), "1\nObject[]");
    assert_eq!(
        ok("function f { 1 }; (f).GetType().Name; @(f).GetType().Name"),
        "Int32\nObject[]"
    );
    assert_eq!(ok("function f { }; $r = f; $r -eq $null"), "True");
    assert_eq!(ok("function f { ,@(1, 2) }; (f).Count"), "2");
    assert_eq!(ok("$(1; 2).Count"), "2");
}

#[test]
fn lists() {
    assert_eq!(
        ok(
            "$l = New-Object System.Collections.ArrayList; [void]$l.Add('a'); $l.Add('b') | Out-Null; $l.Count; $l -join ','"
        ),
        "2\na,b"
    );
    assert_eq!(
        ok("$l = New-Object System.Collections.ArrayList; $l.Add('a')"),
        "0"
    );
    assert_eq!(
        ok(
            "$l = [System.Collections.Generic.List[string]]::new(); $l.Add(5); $l[0].GetType().Name; $l.Remove('5'); $l.Count"
        ),
        "String\nTrue\n0"
    );
    assert_eq!(
        first_error("$a = @(1); $a.Add(2)"),
        "Exception calling \"Add\" with \"1\" argument(s): \"Collection was of a fixed size.\""
    );
}

#[test]
fn hashtables() {
    assert_eq!(
        ok("$h = @{Name = 'a'}; $h.name; $h['NAME']; $h.Count"),
        "a\na\n1"
    );
    assert_eq!(
        ok("$h = @{}; $h.Add('k', 1); $h.k += 1; $h['j'] = 3; $h.ContainsKey('K'); $h.k + $h.j"),
        "True\n5"
    );
    assert_eq!(
        ok("$h = @{a = 1; b = 2}; $h.Remove('a'); $h.Keys -join ','"),
        "b"
    );
    assert_eq!(
        ok("$h = [ordered]@{z = 1; a = 2; m = 3}; $h.Keys -join ','; $h[0]; $h[1]"),
        "z,a,m\n1\n2"
    );
    assert_eq!(
        ok("$h = @{a = 1}; $h.b -eq $null; $h.ContainsValue(1)"),
        "True\nTrue"
    );
    // Keys keep their type: 1 and '1' are different keys.
    assert_eq!(
        ok("$h = @{}; $h[1] = 'int'; $h['1'] = 'string'; $h.Count; $h[1]"),
        "2\nint"
    );
    assert_eq!(
        first_error("$h = @{a = 1}; $h.Add('A', 2)"),
        "Exception calling \"Add\" with \"2\" argument(s): \"Item has already been added. Key in dictionary: 'A'  Key being added: 'A'\""
    );
    assert_eq!(
        ok("$h = @{a = 1}; ($h.GetEnumerator() | % { \"$($_.Key)=$($_.Value)\" })"),
        "a=1"
    );
    assert_eq!(ok("$t = @{a = 1}; $u = $t; $u.b = 2; $t.Count"), "2");
    assert!(first_error("@{a = 1; a = 2}").starts_with("Duplicate keys 'a'"));
}

#[test]
fn custom_objects_and_member_enumeration() {
    assert_eq!(
        ok("$o = [pscustomobject]@{Name = 'vm1'; CPU = 2}; $o.Name; $o.CPU; $o.Missing -eq $null"),
        "vm1\n2\nTrue"
    );
    assert_eq!(
        ok(
            "$vms = @([pscustomobject]@{Name = 'a'; Tags = 1, 2}, [pscustomobject]@{Name = 'b'; Tags = 3}); $vms.Name -join ','; $vms.Tags -join ','"
        ),
        "a,b\n1,2,3"
    );
    assert_eq!(ok("@([pscustomobject]@{Name = 'only'}).Name"), "only");
    assert_eq!(ok("$o = [pscustomobject]@{a = 1}; $o.a = 5; $o.a"), "5");
    assert!(
        first_error("$o = [pscustomobject]@{a = 1}; $o.b = 5")
            .starts_with("The property 'b' cannot be found on this object.")
    );
    assert_eq!(
        ok("$o = [pscustomobject]@{a = 1; b = 2}; ($o.PSObject.Properties | % Name) -join ','"),
        "a,b"
    );
    assert_eq!(
        ok("$o = [pscustomobject]@{a = 1}; $o.PSObject.Properties['a'].Value"),
        "1"
    );
    assert_eq!(ok("(1, 2, 3).Count; 'abc'.Length"), "3\n3");
}

#[test]
fn magic_foreach_and_where_methods() {
    assert_eq!(ok("(1, 2, 3).ForEach({ $_ * 10 }) -join ','"), "10,20,30");
    assert_eq!(ok("(1, 2, 3, 4).Where({ $_ % 2 -eq 0 }) -join ','"), "2,4");
    assert_eq!(
        ok("(1, 2, 3, 4).Where({ $_ -gt 1 }, 'First') -join ','"),
        "2"
    );
    assert_eq!(ok("('a', 'bb').ForEach('Length') -join ','"), "1,2");
}

// ---- casts --------------------------------------------------------------------

#[test]
fn casts() {
    assert_eq!(
        ok("[int]'42' + 1; [string]42 + 1; [int]2.5; [int]3.5; [int]-2.5"),
        "43\n421\n2\n4\n-2"
    );
    assert_eq!(
        ok("[bool]'false'; [bool]''; [bool]0; [bool]@(); [bool]@(0); [bool]@(1, 0)"),
        "True\nFalse\nFalse\nFalse\nFalse\nTrue"
    );
    assert_eq!(ok("[string[]]$a = 1, 2; $a[0].GetType().Name"), "String");
    assert_eq!(ok("[int[]]('1', '2') | % { $_ + 1 }"), "2\n3");
    assert_eq!(ok("[char]65; [int][char]'A'"), "A\n65");
    assert_eq!(
        ok("[datetime]'2025-01-02' -lt [datetime]'2025-01-03'"),
        "True"
    );
    assert_eq!(
        ok("([guid]'11111111-2222-3333-4444-555555555555').Guid"),
        "11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(ok("[int]$x = '7'; $x = '8'; $x.GetType().Name"), "Int32");
    assert_eq!(
        first_error("[int]$x = 1; $x = 'abc'"),
        "Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""
    );
    assert_eq!(
        ok("$o = [pscustomobject]@{z = 1; a = 2}; ($o.PSObject.Properties.Name) -join ','"),
        "z,a"
    );
    assert_eq!(ok("[void](1 + 1); 'after'"), "after");
    assert_eq!(
        first_error("[NoSuchType]1"),
        "Unable to find type [NoSuchType]."
    );
}

// ---- variables and scopes ---------------------------------------------------

#[test]
fn automatic_variables() {
    assert_eq!(ok("$true; $false; $null -eq $null"), "True\nFalse\nTrue");
    assert_eq!(
        ok("$PSVersionTable.PSVersion.Major; $PSVersionTable.PSEdition"),
        "5\nDesktop"
    );
    assert_eq!(ok("$env:COMPUTERNAME; $env:NOPE -eq $null"), "VMM01\nTrue");
    assert_eq!(ok("$env:MY_VAR = 'x'; $env:my_var"), "x");
    assert_eq!(ok("1..3 | % { $PSItem }"), "1\n2\n3");
    assert!(first_error("$true = 1").starts_with("Cannot overwrite variable true"));
    assert_eq!(ok("$null = 5; 'discarded'"), "discarded");
}

#[test]
fn function_scopes_are_dynamic_and_local_by_default() {
    assert_eq!(
        ok("$x = 1; function f { $x; $x = 2; $x }; f; $x"),
        "1\n2\n1"
    );
    assert_eq!(
        ok("function f { $script:y = 3; $global:z = 4 }; f; $y; $z"),
        "3\n4"
    );
    assert_eq!(
        ok("function outer { $v = 'outer'; inner }; function inner { $v }; outer"),
        "outer"
    );
    assert_eq!(ok(". { $d = 5 }; $d"), "5");
    assert_eq!(ok("& { $e = 6 }; $e -eq $null"), "True");
    assert_eq!(
        ok("function f { function g { 'inner g' }; g }; f"),
        "inner g"
    );
}

#[test]
fn session_keeps_state_between_runs() {
    let mut session = Session::default();
    let mut host = NoCommands;
    let r = session.run("function Get-Answer { 42 }; $counter = 1", &mut host);
    assert!(r.errors().next().is_none());
    let r = session.run("$counter += 1; Get-Answer; $counter", &mut host);
    assert_eq!(r.stdout_text(), "42\r\n2\r\n");
    assert!(matches!(session.variable("counter"), Some(Value::Int(2))));
    session.set_variable("fromHost", Value::str("hi"));
    assert_eq!(session.run("$fromHost", &mut host).stdout_text(), "hi\r\n");
}

// ---- functions and parameters -------------------------------------------------

#[test]
fn parameters_named_positional_defaults_switches() {
    let f = "function f { param([string]$Name, [int]$Count = 2, [switch]$Force) \"$Name|$Count|$Force\" }; ";
    assert_eq!(ok(&format!("{f} f -Name x")), "x|2|False");
    assert_eq!(ok(&format!("{f} f y 5 -Force")), "y|5|True");
    assert_eq!(ok(&format!("{f} f -Force:$false -Co 3 -N z")), "z|3|False");
    assert_eq!(ok(&format!("{f} f")), "|2|False");
    assert_eq!(ok("function f($a, $b) { \"$a-$b\" }; f 1 2"), "1-2");
    assert_eq!(
        ok("function f { \"$($args.Count): $args\" }; f a b c"),
        "3: a b c"
    );
    assert_eq!(
        ok("function f($a) { $args -join ',' }; f 1 2 -x 3"),
        "2,-x,3"
    );
}

#[test]
fn parameter_defaults_see_earlier_parameters() {
    assert_eq!(
        ok("function f($a = 2, $b = $a * 10) { $b }; f; f 3"),
        "20\n30"
    );
}

#[test]
fn mandatory_parameters_fail_non_interactively() {
    let r =
        run("function Get-It { param([Parameter(Mandatory = $true)]$Name) $Name }; Get-It; 'next'");
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(
        e.message,
        "Cannot process command because of one or more missing mandatory parameters: Name."
    );
    assert_eq!(
        e.fully_qualified_error_id,
        "MissingMandatoryParameter,Get-It"
    );
    // A binding error ends the statement, not the script.
    assert_eq!(r.stdout_text(), "next\r\n");
}

#[test]
fn advanced_functions_bind_strictly_and_take_common_parameters() {
    let f = "function f { [CmdletBinding()] param([string]$Name) \"[$Name]\" }; ";
    assert_eq!(
        ok(&format!("{f} f -Name a -Verbose -ErrorAction Stop")),
        "[a]"
    );
    assert_eq!(
        first_error(&format!("{f} f -Nope 1")),
        "A parameter cannot be found that matches parameter name 'Nope'."
    );
    assert_eq!(
        first_error(&format!("{f} f a b")),
        "A positional parameter cannot be found that accepts argument 'b'."
    );
    assert_eq!(
        first_error("function f { param([Parameter()][int]$n) $n }; f -n abc"),
        "Cannot process argument transformation on parameter 'n'. Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""
    );
    assert_eq!(
        first_error("function f { param([ValidateSet('a', 'b')]$x) $x }; f c"),
        "Cannot validate argument on parameter 'x'. The argument \"c\" does not belong to the set \"a,b\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again."
    );
}

#[test]
fn bound_parameters_and_splatting() {
    assert_eq!(
        ok(
            "function f($a, $b) { $PSBoundParameters.ContainsKey('a'); $PSBoundParameters.ContainsKey('b') }; f -a 1"
        ),
        "True\nFalse"
    );
    assert_eq!(
        ok("function f($a, $b) { \"$a $b\" }; $p = @{b = 2; a = 1}; f @p"),
        "1 2"
    );
    assert_eq!(
        ok("function f($a, $b) { \"$a $b\" }; $p = 'x', 'y'; f @p"),
        "x y"
    );
    assert_eq!(
        ok("function f { param([switch]$On) $On.IsPresent }; $p = @{On = $true}; f @p"),
        "True"
    );
}

#[test]
fn pipeline_functions() {
    assert_eq!(
        ok("function p { begin { 'b' } process { \"p$_\" } end { 'e' } }; 1, 2 | p"),
        "b\np1\np2\ne"
    );
    assert_eq!(
        ok("function q { \"in: $($input -join '+')\" }; 1, 2, 3 | q"),
        "in: 1+2+3"
    );
    assert_eq!(ok("filter dbl { $_ * 2 }; 1..3 | dbl"), "2\n4\n6");
    assert_eq!(
        ok(
            "function v { param([Parameter(ValueFromPipeline)]$Item) process { \"<$Item>\" } }; 'a', 'b' | v"
        ),
        "<a>\n<b>"
    );
    assert_eq!(
        ok(
            "function n { param([Parameter(ValueFromPipelineByPropertyName)]$Name) process { $Name } }; [pscustomobject]@{Name = 'x'} | n"
        ),
        "x"
    );
}

#[test]
fn return_and_output() {
    assert_eq!(ok("function r { return 7; 'never' }; r"), "7");
    assert_eq!(ok("function m { 1; 2; return 3 }; (m).Count"), "3");
    assert_eq!(
        ok("function e { 'x' | Out-Null; [void]1; $null = 2 }; @(e).Count"),
        "0"
    );
}

#[test]
fn script_blocks() {
    assert_eq!(ok("$sb = { param($x) $x * 2 }; & $sb 21"), "42");
    assert_eq!(ok("$sb = { $args[0] + $args[1] }; & $sb 1 2"), "3");
    assert_eq!(
        ok("$sb = { 'hi' }; $sb.Invoke(); $sb.ToString()"),
        "hi\n 'hi' "
    );
    assert_eq!(ok("$sb = [scriptblock]::Create('1 + 1'); & $sb"), "2");
    assert_eq!(ok("$f = 'Write-Output'; & $f 'dynamic'"), "dynamic");
    assert_eq!(ok("Invoke-Expression '$q = 3'; $q"), "3");
}

// ---- control flow ---------------------------------------------------------------

#[test]
fn if_elseif_else() {
    assert_eq!(
        ok("$n = 5; if ($n -lt 3) { 'small' } elseif ($n -lt 10) { 'medium' } else { 'large' }"),
        "medium"
    );
    assert_eq!(ok("if ($x = 'assigned') { $x }"), "assigned");
    assert_eq!(ok("$v = if ($true) { 'a' } else { 'b' }; $v"), "a");
}

#[test]
fn loops() {
    assert_eq!(ok("foreach ($i in 1..3) { $i * 2 }"), "2\n4\n6");
    assert_eq!(ok("foreach ($i in $null) { 'never' }; 'done'"), "done");
    assert_eq!(ok("for ($i = 0; $i -lt 3; $i++) { $i }"), "0\n1\n2");
    assert_eq!(ok("$i = 0; while ($i -lt 3) { $i++ }; $i"), "3");
    assert_eq!(ok("$k = 0; do { $k += 2 } until ($k -ge 5); $k"), "6");
    assert_eq!(ok("$k = 10; do { $k++ } while ($k -lt 5); $k"), "11");
    assert_eq!(ok("$r = foreach ($i in 1..3) { $i }; $r.Count"), "3");
}

#[test]
fn break_and_continue_with_labels() {
    assert_eq!(
        ok(
            ":outer foreach ($i in 1..3) { foreach ($j in 1..3) { if ($j -eq 2) { continue outer }; if ($i -eq 3) { break outer }; \"$i$j\" } }"
        ),
        "11\n21"
    );
    assert_eq!(
        ok("foreach ($i in 1..5) { if ($i -eq 2) { continue }; if ($i -eq 4) { break }; $i }"),
        "1\n3"
    );
    // `break` in ForEach-Object leaves the enclosing loop, as in PowerShell.
    assert_eq!(
        ok("foreach ($i in 1..2) { 1..3 | % { if ($_ -eq 2) { break }; \"$i-$_\" } }; 'end'"),
        "1-1\nend"
    );
}

#[test]
fn switch_statement() {
    assert_eq!(
        ok(
            "switch (1, 'b', 5) { 1 { 'one' } 'B' { 'bee' } { $_ -gt 4 } { \"big $_\" } default { \"default $_\" } }"
        ),
        "one\nbee\nbig b\nbig 5"
    );
    assert_eq!(
        ok("switch ('x') { 'y' { 'y' } default { 'none' } }"),
        "none"
    );
    assert_eq!(
        ok("switch -Wildcard ('abc') { 'a*' { 'starts'; break } '*c' { 'ends' } }"),
        "starts"
    );
    assert_eq!(
        ok("switch -Regex ('vm-12') { '^vm-(\\d+)$' { $Matches[1] } }"),
        "12"
    );
    assert_eq!(
        ok("switch -CaseSensitive ('A') { 'a' { 'lower' } 'A' { 'upper' } }"),
        "upper"
    );
    assert_eq!(
        ok("switch (1, 2, 3) { 2 { continue } default { $_ } }"),
        "1\n3"
    );
}

#[test]
fn exit_sets_the_exit_code() {
    let r = run("'before'; exit 3; 'after'");
    assert_eq!(r.stdout_text(), "before\r\n");
    assert_eq!(r.exit_code, 3);
    assert!(r.exited);
    assert_eq!(run("'fine'").exit_code, 0);
}

// ---- static members and .NET -------------------------------------------------------

#[test]
fn guids() {
    let g = ok("[guid]::NewGuid().ToString()");
    assert_eq!(g.len(), 36);
    assert_eq!(g.chars().filter(|&c| c == '-').count(), 4);
    assert_eq!(ok("[guid]::NewGuid().Guid.Length"), "36");
    assert_eq!(ok("[guid]::Empty"), "00000000-0000-0000-0000-000000000000");
    assert_eq!(ok("$g = [guid]::NewGuid(); $g -eq $g.ToString()"), "True");
}

#[test]
fn base64_and_encodings() {
    assert_eq!(
        ok("[Convert]::ToBase64String([System.Text.Encoding]::UTF8.GetBytes('héllo'))"),
        "aMOpbGxv"
    );
    assert_eq!(
        ok("[System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('aMOpbGxv'))"),
        "héllo"
    );
    assert_eq!(ok("[Text.Encoding]::Unicode.GetBytes('A').Count"), "2");
    assert_eq!(
        ok("[System.Text.Encoding]::ASCII.GetString([byte[]](72, 105))"),
        "Hi"
    );
    assert!(first_error("[Convert]::FromBase64String('***')").starts_with(
        "Exception calling \"FromBase64String\" with \"1\" argument(s): \"The input is not a valid Base-64 string"
    ));
}

#[test]
fn base64_json_parameters_like_the_provider_scripts() {
    // What operator scripts do: parameters arrive as base64 JSON.
    let json = r#"{"Name":"vm-1","Cpu":2,"Disks":[{"SizeGB":20},{"SizeGB":40}]}"#;
    let b64 = base64_encode(json.as_bytes());
    let src = format!(
        "$p = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{b64}')) | ConvertFrom-Json; $p.Name; $p.Cpu + 1; ($p.Disks | % SizeGB) -join ','"
    );
    assert_eq!(ok(&src), "vm-1\n3\n20,40");
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn math_and_numbers() {
    assert_eq!(
        ok("[math]::Round(2.5); [math]::Round(3.5); [math]::Round(3.456, 2)"),
        "2\n4\n3.46"
    );
    assert_eq!(
        ok("[math]::Round(2.5, [MidpointRounding]::AwayFromZero)"),
        "3"
    );
    assert_eq!(
        ok(
            "[math]::Max(3, 7); [math]::Min(3, 7); [math]::Abs(-4); [math]::Floor(2.7); [math]::Ceiling(2.1)"
        ),
        "7\n3\n4\n2\n3"
    );
    assert_eq!(ok("[math]::Pow(2, 10); [math]::Sqrt(16)"), "1024\n4");
    assert_eq!(
        ok("[int]::MaxValue; [int]::Parse('12') + 1"),
        "2147483647\n13"
    );
    assert_eq!(
        ok("(1234.5).ToString('N1'); (42).ToString('D5'); (255).ToString('x')"),
        "1,234.5\n00042\nff"
    );
    assert_eq!(ok("1/3"), "0.333333333333333");
}

#[test]
fn string_statics() {
    assert_eq!(
        ok(
            "[string]::IsNullOrEmpty(''); [string]::IsNullOrEmpty($null); [string]::IsNullOrWhiteSpace(' x ')"
        ),
        "True\nTrue\nFalse"
    );
    assert_eq!(
        ok("[string]::Join(',', @('a', 'b')); [string]::Format('{0}-{1}', 'x', 'y')"),
        "a,b\nx-y"
    );
    assert_eq!(ok("[string]::Empty -eq ''"), "True");
}

#[test]
fn dates_and_timespans() {
    assert_eq!(
        ok("([datetime]'2025-03-04T05:06:07Z').ToString('o')"),
        "2025-03-04T05:06:07.0000000Z"
    );
    assert_eq!(
        ok("([datetime]'2025-03-04').ToString('yyyy-MM-dd HH:mm:ss')"),
        "2025-03-04 00:00:00"
    );
    assert_eq!(
        ok("([datetime]'2025-03-04').AddDays(1).Day; ([datetime]'2025-03-04').DayOfWeek"),
        "5\nTuesday"
    );
    assert_eq!(
        ok("(([datetime]'2025-01-02') - ([datetime]'2025-01-01')).TotalHours"),
        "24"
    );
    assert_eq!(
        ok("(New-TimeSpan -Minutes 90).TotalHours; [timespan]::FromSeconds(75).ToString()"),
        "1.5\n00:01:15"
    );
    assert_eq!(
        ok("\"$([datetime]'2025-03-04T05:06:07')\""),
        "03/04/2025 05:06:07"
    );
}

#[test]
fn credentials_and_secure_strings() {
    assert_eq!(
        ok(
            "$p = ConvertTo-SecureString 's3cret' -AsPlainText -Force; $c = New-Object System.Management.Automation.PSCredential('CONTOSO\\admin', $p); $c.UserName; $c.GetNetworkCredential().Password; $c.GetNetworkCredential().UserName"
        ),
        "CONTOSO\\admin\ns3cret\nadmin"
    );
    assert_eq!(
        ok(
            "$p = ConvertTo-SecureString 'x' -AsPlainText -Force; $c = New-Object PSCredential -ArgumentList 'u', $p; $c.GetType().Name"
        ),
        "PSCredential"
    );
    assert!(first_error("ConvertTo-SecureString 'x' -AsPlainText").contains("Force parameter"));
}

#[test]
fn file_statics_and_paths() {
    assert_eq!(
        ok(
            "[System.IO.File]::WriteAllBytes('C:\\t\\a.bin', [byte[]](1, 2, 3)); [System.IO.File]::Exists('C:\\t\\a.bin'); ([System.IO.File]::ReadAllBytes('c:\\T\\A.BIN')) -join ','"
        ),
        "True\n1,2,3"
    );
    assert_eq!(
        ok("[IO.File]::WriteAllText('C:\\t\\x.txt', 'hi'); [IO.File]::ReadAllText('C:\\t\\x.txt')"),
        "hi"
    );
    assert_eq!(ok("[IO.File]::Exists('C:\\nothing')"), "False");
    assert_eq!(
        ok(
            "[IO.Path]::GetFileName('C:\\a\\b.iso'); [IO.Path]::GetExtension('b.iso'); [IO.Path]::GetFileNameWithoutExtension('C:\\b.iso'); [IO.Path]::Combine('\\\\lib\\share', 'ISOs', 'x.iso'); [IO.Path]::GetDirectoryName('C:\\a\\b.iso')"
        ),
        "b.iso\n.iso\nb\n\\\\lib\\share\\ISOs\\x.iso\nC:\\a"
    );
    assert!(
        first_error("[IO.File]::ReadAllBytes('C:\\missing.bin')")
            .contains("Could not find file 'C:\\missing.bin'.")
    );
}

#[test]
fn regex_statics() {
    assert_eq!(
        ok(
            "[regex]::Escape('a.b*c'); [regex]::IsMatch('abc', 'B'); [regex]::Match('x12y', '\\d+').Value"
        ),
        "a\\.b\\*c\nFalse\n12"
    );
    assert_eq!(ok("[regex]::Replace('aaa', 'a', 'b')"), "bbb");
}

#[test]
fn get_type_and_type_literals() {
    assert_eq!(
        ok(
            "(1).GetType().FullName; 'x'.GetType().Name; @{}.GetType().Name; @().GetType().FullName"
        ),
        "System.Int32\nString\nHashtable\nSystem.Object[]"
    );
    assert_eq!(ok("[int].FullName; [string].Name"), "System.Int32\nString");
}
