//! Property tests: evaluating any script — random text, token soup, and
//! well-formed statements built from real constructs — never panics, never
//! hangs (the step budget bounds it), and always produces a result; and a
//! few algebraic properties of the operators and JSON.

use proptest::prelude::*;
use scvmm_sim::ps::eval::{Limits, NoCommands, RunResult, SessionOptions, Value, run_script};

fn limits() -> Limits {
    Limits {
        max_steps: 20_000,
        max_call_depth: 40,
        max_output_bytes: 1 << 20,
        max_collection: 50_000,
        ..Limits::default()
    }
}

fn eval(src: &str) -> RunResult {
    run_script(
        src,
        &mut NoCommands,
        SessionOptions {
            limits: limits(),
            ..SessionOptions::default()
        },
    )
}

fn check(src: &str) -> Result<(), TestCaseError> {
    let r = eval(src);
    prop_assert!(
        !r.errors()
            .any(|e| e.fully_qualified_error_id == "InternalError"),
        "the evaluator panicked on {:?}",
        src
    );
    // Rendering never panics either.
    let _ = r.stdout_text();
    let _ = r.stderr_text();
    let _ = r.stderr_clixml();
    Ok(())
}

/// Fragments that glue into scripts exercising the evaluator's paths.
fn fragments() -> Vec<&'static str> {
    vec![
        " ",
        " ",
        "\n",
        ";",
        "$x",
        "$y",
        "$_",
        "$null",
        "$true",
        "$args",
        "$env:X",
        "$Error",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        "@(",
        "@{",
        "$(",
        "'a'",
        "\"b $x\"",
        "1",
        "0",
        "-1",
        "2.5",
        "0x10",
        "1kb",
        "=",
        "+=",
        "-=",
        "++",
        "--",
        "+",
        "-",
        "*",
        "/",
        "%",
        "..",
        ",",
        "|",
        "&",
        ".",
        "::",
        "!",
        "-not",
        "-and",
        "-or",
        "-eq",
        "-ne",
        "-gt",
        "-lt",
        "-like",
        "-match",
        "-replace",
        "-split",
        "-join",
        "-f",
        "-in",
        "-contains",
        "-is",
        "-as",
        "-band",
        "[int]",
        "[string]",
        "[array]",
        "[hashtable]",
        "[ordered]",
        "[pscustomobject]",
        "[guid]",
        "[datetime]",
        "[math]",
        "[Convert]",
        "if",
        "else",
        "foreach",
        "in",
        "for",
        "while",
        "do",
        "until",
        "switch",
        "default",
        "try",
        "catch",
        "finally",
        "function f",
        "filter g",
        "param",
        "begin",
        "process",
        "end",
        "return",
        "throw",
        "break",
        "continue",
        "exit",
        "f",
        "g",
        "%",
        "?",
        "Where-Object",
        "ForEach-Object",
        "Select-Object",
        "Sort-Object",
        "Measure-Object",
        "Group-Object",
        "ConvertTo-Json",
        "ConvertFrom-Json",
        "Write-Output",
        "Write-Host",
        "Write-Error",
        "Out-String",
        "Out-Null",
        "Get-Member",
        "Add-Member",
        "New-Object",
        "Test-Path",
        "Set-Content",
        "Get-Content",
        "Remove-Item",
        "Start-Sleep",
        "Get-Date",
        "-Depth",
        "-Compress",
        "-First",
        "-Property",
        "-ErrorAction",
        "Stop",
        "SilentlyContinue",
        "-Name",
        ".Count",
        ".Length",
        ".Name",
        "[0]",
        "[-1]",
        ".ToString()",
        ".Split(',')",
        ".Substring(1)",
        ".Add(1)",
        ".Keys",
        ".PSObject",
        "::NewGuid()",
        "::Round(1.5)",
        "2>&1",
        "> $null",
        "$x = 1..3",
        "$h = @{a = 1}",
        "{ $_ }",
        "{ param($p) $p }",
        "Get-Nothing",
        "Invoke-Expression",
        "'$x'",
        "'1,2'",
        "'{\"a\":[1]}'",
    ]
}

/// Well-formed statements, so that long, deep and looping programs run.
fn statements() -> Vec<&'static str> {
    vec![
        "$x = 1",
        "$x += 2",
        "$y = @($x, 'a', $null)",
        "$h = @{k = $x; l = @(1, 2)}",
        "$h.k = $y",
        "$o = [pscustomobject]@{a = $x; b = $h}",
        "$s = \"v: $($x) $y\"",
        "$x = $x * 2",
        "$y = $y + $y",
        "$x = 'ab' * 3",
        "$y | % { $_ }",
        "$y | ? { $_ } | Select-Object -First 2",
        "$o | ConvertTo-Json -Depth 3",
        "$h | ConvertTo-Json -Compress | ConvertFrom-Json",
        "$y | Sort-Object -Descending",
        "$y | Measure-Object",
        "$y | Group-Object",
        "if ($x -gt 3) { 'big' } else { 'small' }",
        "foreach ($i in $y) { $i }",
        "while ($x -lt 100) { $x++ }",
        "for ($i = 0; $i -lt 5; $i++) { $i }",
        "switch ($x) { 1 { 'one' } default { 'other' } }",
        "try { throw 'e' } catch { $_.Exception.Message } finally { 'f' }",
        "function f($a) { if ($a -gt 0) { f ($a - 1) }; $a }",
        "f 3",
        "f 100",
        "Write-Error 'w'",
        "Get-Nothing",
        "$x = [int]'abc'",
        "$x.NoSuchMethod()",
        "$null.Foo()",
        "$y[10] = 1",
        "1 / 0",
        "$x = $y -join ','",
        "$x -split ','",
        "$x -replace 'a', 'b'",
        "$x -match '(a)'",
        "[math]::Round($x)",
        "[guid]::NewGuid().Guid",
        "Set-Content C:\\p.txt $x; Get-Content C:\\p.txt",
        "while ($true) { }",
        "$z = 1..10000",
        "$a = @(); foreach ($i in 1..200) { $a += $i }",
        "return",
        "break",
        "exit 2",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        check(&src)?;
    }

    #[test]
    fn token_soup_never_panics(
        parts in prop::collection::vec(prop::sample::select(fragments()), 0..40)
    ) {
        check(&parts.join(" "))?;
    }

    #[test]
    fn statement_programs_never_panic(
        parts in prop::collection::vec(prop::sample::select(statements()), 0..25)
    ) {
        check(&parts.join("\n"))?;
    }

    #[test]
    fn nested_blocks_never_panic(
        parts in prop::collection::vec(prop::sample::select(statements()), 1..6),
        depth in 0usize..12,
    ) {
        let body = parts.join("; ");
        let src = format!("{}{}{}", "& { ".repeat(depth), body, " }".repeat(depth));
        check(&src)?;
    }

    #[test]
    fn integer_addition_matches_rust(a in -1_000_000i32..1_000_000, b in -1_000_000i32..1_000_000) {
        let r = eval(&format!("{a} + {b}"));
        prop_assert_eq!(r.stdout_text(), format!("{}\r\n", i64::from(a) + i64::from(b)));
    }

    #[test]
    fn strings_round_trip_through_json(s in "[ -~\u{e9}\u{20ac}\n\t]{0,40}") {
        let quoted = s.replace('\'', "''");
        let r = eval(&format!("$j = ConvertTo-Json -InputObject '{quoted}'; $j | ConvertFrom-Json"));
        prop_assert!(r.errors().next().is_none(), "{}", r.stderr_text());
        let out = r.output();
        prop_assert_eq!(out.len(), 1);
        match &out[0] {
            Value::String(back) => prop_assert_eq!(back.as_ref(), s.as_str()),
            other => prop_assert!(false, "not a string: {:?}", other),
        }
    }

    #[test]
    fn compact_json_is_valid_json(
        values in prop::collection::vec(prop::sample::select(vec!["1", "'x'", "$null", "$true", "@(1, 2)", "@{a = 1}", "2.5", "'<&>'"]), 0..6)
    ) {
        let entries: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("k{i} = {v}")).collect();
        let src = format!("[ordered]@{{ {} }} | ConvertTo-Json", entries.join("; "));
        let r = eval(&src);
        prop_assert!(r.errors().next().is_none(), "{}", r.stderr_text());
        let text = match r.output().first() {
            Some(Value::String(s)) => s.to_string(),
            _ => String::new(),
        };
        prop_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "invalid JSON: {}", text);
    }

    #[test]
    fn like_star_matches_everything(s in "[a-z]{0,10}") {
        let r = eval(&format!("'{s}' -like '*'; '{s}' -like '{s}'"));
        prop_assert_eq!(r.stdout_text(), "True\r\nTrue\r\n");
    }
}
