//! Error handling as Windows PowerShell 5.1 does it: non-terminating vs
//! terminating errors, `-ErrorAction` and `$ErrorActionPreference`,
//! try/catch/finally (typed catches, ordering, rethrow), `throw`, `$Error`,
//! `$?`, `-ErrorVariable`; the two stderr renderings (console text for
//! `-Command -`, CLIXML for `-EncodedCommand`); and the evaluator's limits.

use scvmm_sim::ps::eval::{
    ErrorCategory, Limits, NoCommands, OutputRecord, PsError, RunResult, SessionOptions,
    render_error_text, run_script,
};

fn run(src: &str) -> RunResult {
    run_script(src, &mut NoCommands, SessionOptions::default())
}

fn run_with(src: &str, limits: Limits) -> RunResult {
    run_script(
        src,
        &mut NoCommands,
        SessionOptions {
            limits,
            ..SessionOptions::default()
        },
    )
}

fn stdout(r: &RunResult) -> String {
    r.stdout_text().replace("\r\n", "\n").trim_end().to_owned()
}

fn ok(src: &str) -> String {
    let r = run(src);
    assert!(
        r.errors().next().is_none(),
        "unexpected errors for {src:?}:\n{}",
        r.stderr_text()
    );
    stdout(&r)
}

// ---- non-terminating vs terminating ------------------------------------------------

#[test]
fn non_terminating_errors_are_reported_and_the_script_goes_on() {
    let r = run("Write-Error 'first'; 'after'");
    assert_eq!(stdout(&r), "after");
    assert_eq!(r.errors().count(), 1);
    assert_eq!(r.exit_code, 0);
}

#[test]
fn error_action_controls_non_terminating_errors() {
    // Continue (default): reported.
    assert_eq!(run("Get-Content C:\\nope").errors().count(), 1);
    // SilentlyContinue: not reported, but recorded in $Error.
    let r = run(
        "Get-Content C:\\nope -ErrorAction SilentlyContinue; $Error.Count; $Error[0].FullyQualifiedErrorId",
    );
    assert_eq!(r.errors().count(), 0);
    assert_eq!(
        stdout(&r),
        "1\nPathNotFound,Microsoft.PowerShell.Commands.GetContentCommand"
    );
    // Ignore: not even recorded.
    assert_eq!(ok("Get-Content C:\\nope -ea Ignore; $Error.Count"), "0");
    // Stop: terminating, so the rest of the script does not run.
    let r = run("Get-Content C:\\nope -ErrorAction Stop; 'after'");
    assert_eq!(stdout(&r), "");
    assert_eq!(r.errors().count(), 1);
    assert_eq!(r.exit_code, 1);
}

#[test]
fn error_action_preference_applies_to_everything_below() {
    assert_eq!(
        ok(
            "$ErrorActionPreference = 'Stop'; try { Write-Error 'x'; 'not here' } catch { 'caught ' + $_ }"
        ),
        "caught x"
    );
    assert_eq!(
        ok("$ErrorActionPreference = 'SilentlyContinue'; Write-Error 'quiet'; 'went on'"),
        "went on"
    );
    // -ErrorAction on an advanced function sets the preference inside it.
    assert_eq!(
        ok(
            "function f { [CmdletBinding()] param() Write-Error 'inner'; 'rest of f' }; try { f -ErrorAction Stop } catch { 'caught ' + $_.Exception.Message }"
        ),
        "caught inner"
    );
    let r = run("$ErrorActionPreference = 'Bogus'");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("Bogus"))
    );
}

#[test]
fn non_terminating_errors_do_not_trigger_catch() {
    let r = run("try { Write-Error 'nt'; 'still in try' } catch { 'caught' }");
    assert_eq!(stdout(&r), "still in try");
    assert_eq!(r.errors().count(), 1);
}

#[test]
fn statement_terminating_errors_end_only_the_statement() {
    let r = run("NoSuchCommand; 'next statement'");
    assert_eq!(stdout(&r), "next statement");
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| PsError::new("", ""));
    assert_eq!(e.fully_qualified_error_id, "CommandNotFoundException");
    assert_eq!(e.category, ErrorCategory::ObjectNotFound);
    // Inside a function too.
    assert_eq!(stdout(&run("function f { NoSuch; 'in f' }; f")), "in f");
    // But `try` catches them.
    assert_eq!(
        ok("try { NoSuch } catch { 'caught ' + $_.FullyQualifiedErrorId }"),
        "caught CommandNotFoundException"
    );
}

#[test]
fn runtime_exceptions_end_only_the_statement() {
    // .NET exceptions inside expressions are statement-terminating, as in
    // PowerShell: the script goes on with the next statement.
    let r = run("1 / 0; 'after'; $null.Foo(); 'next'; [int]'x'; 'last'");
    assert_eq!(stdout(&r), "after\nnext\nlast");
    assert_eq!(r.errors().count(), 3);
    assert_eq!(
        stdout(&run("function f { 1 / 0; 'rest of f' }; f")),
        "rest of f"
    );
    // With $ErrorActionPreference = 'Stop' the first one ends the script.
    assert_eq!(
        stdout(&run("$ErrorActionPreference = 'Stop'; 1 / 0; 'after'")),
        ""
    );
}

#[test]
fn throw_terminates_the_script() {
    let r = run("'one'; throw 'boom'; 'two'");
    assert_eq!(stdout(&r), "one");
    assert_eq!(r.exit_code, 1);
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| PsError::new("", ""));
    assert_eq!(e.message, "boom");
    assert_eq!(e.fully_qualified_error_id, "boom");
    assert_eq!(e.category, ErrorCategory::OperationStopped);
}

// ---- try / catch / finally ---------------------------------------------------------

#[test]
fn try_catch_finally_order() {
    assert_eq!(
        ok(
            "$log = @(); try { $log += 'try'; throw 'x'; $log += 'not' } catch { $log += 'catch' } finally { $log += 'finally' }; $log -join ','"
        ),
        "try,catch,finally"
    );
    assert_eq!(ok("try { 'body' } finally { 'finally' }"), "body\nfinally");
    assert_eq!(
        ok(
            "try { try { throw 'inner' } finally { 'inner finally' } } catch { \"outer caught $_\" }"
        ),
        "inner finally\nouter caught inner"
    );
    assert_eq!(
        ok("function t { try { return 'ret' } finally { 'fin' } }; t"),
        "ret\nfin"
    );
    assert_eq!(
        ok("foreach ($i in 1..3) { try { if ($i -eq 2) { break } ; $i } finally { \"f$i\" } }"),
        "1\nf1\nf2"
    );
    assert_eq!(
        ok("$r = try { 1; throw 'x' } catch { 2 }; $r -join ','"),
        "1,2"
    );
}

#[test]
fn catch_exposes_the_error_record() {
    assert_eq!(
        ok(
            "try { throw 'bad input' } catch { $_.Exception.Message; $_.FullyQualifiedErrorId; \"$_\"; $_.CategoryInfo.Category; $_.InvocationInfo.ScriptLineNumber }"
        ),
        "bad input\nbad input\nbad input\nOperationStopped\n1"
    );
    assert_eq!(
        ok(
            "try { Get-Content C:\\x.txt -ErrorAction Stop } catch { $_.Exception.GetType().FullName; $_.CategoryInfo.ToString(); $_.TargetObject }"
        ),
        "System.Management.Automation.ItemNotFoundException\nObjectNotFound: (C:\\x.txt:String) [Get-Content], ItemNotFoundException\nC:\\x.txt"
    );
    assert_eq!(
        ok(
            "function inner { throw 'deep' }\nfunction outer { inner }\ntry { outer } catch { $_.ScriptStackTrace }"
        ),
        "at inner, <No file>: line 1\nat outer, <No file>: line 2\nat <ScriptBlock>, <No file>: line 3"
    );
}

#[test]
fn typed_catch_clauses() {
    assert_eq!(
        ok(
            "try { NoSuch } catch [System.Management.Automation.CommandNotFoundException] { 'cnf' } catch { 'other' }"
        ),
        "cnf"
    );
    assert_eq!(
        ok("try { throw 'x' } catch [System.IO.IOException] { 'io' } catch [Exception] { 'any' }"),
        "any"
    );
    assert_eq!(
        ok("try { 1 / 0 } catch [System.DivideByZeroException] { 'div' }"),
        "div"
    );
    assert_eq!(
        ok("try { [int]'x' } catch [InvalidCastException] { 'cast' }"),
        "cast"
    );
    assert_eq!(
        ok(
            "try { Get-Content C:\\none -ErrorAction Stop } catch [System.Management.Automation.ItemNotFoundException] { 'not found' }"
        ),
        "not found"
    );
    // No matching clause: the error goes on.
    let r = run("try { throw 'x' } catch [System.IO.IOException] { 'io' }; 'after'");
    assert_eq!(stdout(&r), "");
    assert_eq!(r.errors().count(), 1);
}

#[test]
fn rethrow_and_throwing_objects() {
    assert_eq!(
        ok("try { try { throw 'orig' } catch { throw } } catch { 'outer: ' + $_ }"),
        "outer: orig"
    );
    assert_eq!(
        ok("try { try { throw 'orig' } catch { throw $_ } } catch { $_.FullyQualifiedErrorId }"),
        "orig"
    );
    assert_eq!(
        ok(
            "try { throw [System.ArgumentException]::new('bad arg') } catch [System.ArgumentException] { $_.Exception.Message }"
        ),
        "bad arg"
    );
    assert_eq!(
        ok(
            "try { throw (New-Object System.Exception 'from new-object') } catch { $_.Exception.Message }"
        ),
        "from new-object"
    );
    assert_eq!(
        ok("try { throw @{code = 5} } catch { $_.TargetObject -ne $null }"),
        "True"
    );
    assert_eq!(
        ok(
            "try { try { throw 'a' } catch { throw \"wrapped: $($_.Exception.Message)\" } } catch { $_.Exception.Message }"
        ),
        "wrapped: a"
    );
}

#[test]
fn dollar_question_mark_and_error_variable() {
    assert_eq!(ok("Write-Output 1 | Out-Null; $?"), "True");
    assert_eq!(
        ok("Get-Content C:\\nope -ErrorAction SilentlyContinue; $?"),
        "False"
    );
    assert_eq!(
        ok(
            "Get-Content C:\\nope -ErrorAction SilentlyContinue -ErrorVariable ev; $ev.Count; $ev[0].Exception.Message"
        ),
        "1\nCannot find path 'C:\\nope' because it does not exist."
    );
    assert_eq!(
        ok("try { NoSuch } catch { }; $Error[0].FullyQualifiedErrorId"),
        "CommandNotFoundException"
    );
}

// ---- renderings ---------------------------------------------------------------------

#[test]
fn text_rendering_of_throw() {
    let r = run("throw \"boom\"");
    assert_eq!(
        r.stderr_text(),
        "boom\r\nAt line:1 char:1\r\n+ throw \"boom\"\r\n+ ~~~~~~~~~~~~\r\n    + CategoryInfo          : OperationStopped: (boom:String) [], RuntimeException\r\n    + FullyQualifiedErrorId : boom\r\n \r\n"
    );
}

#[test]
fn text_rendering_of_a_cmdlet_error() {
    let r = run("Get-Content C:\\nope");
    assert_eq!(
        r.stderr_text(),
        "Get-Content : Cannot find path 'C:\\nope' because it does not exist.\r\nAt line:1 char:1\r\n+ Get-Content C:\\nope\r\n+ ~~~~~~~~~~~~~~~~~~~\r\n    + CategoryInfo          : ObjectNotFound: (C:\\nope:String) [Get-Content], ItemNotFoundException\r\n    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand\r\n \r\n"
    );
}

#[test]
fn text_rendering_of_an_unknown_command_wraps_at_120_columns() {
    let r = run("foo");
    assert_eq!(
        r.stderr_text(),
        "foo : The term 'foo' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the \r\nspelling of the name, or if a path was included, verify that the path is correct and try again.\r\nAt line:1 char:1\r\n+ foo\r\n+ ~~~\r\n    + CategoryInfo          : ObjectNotFound: (foo:String) [], CommandNotFoundException\r\n    + FullyQualifiedErrorId : CommandNotFoundException\r\n \r\n"
    );
}

#[test]
fn clixml_rendering_of_an_unknown_command() {
    let r = run("foo");
    assert_eq!(
        r.stderr_clixml(),
        "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">foo : The term 'foo' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the _x000D__x000A_</S><S S=\"Error\">spelling of the name, or if a path was included, verify that the path is correct and try again._x000D__x000A_</S><S S=\"Error\">At line:1 char:1_x000D__x000A_</S><S S=\"Error\">+ foo_x000D__x000A_</S><S S=\"Error\">+ ~~~_x000D__x000A_</S><S S=\"Error\">    + CategoryInfo          : ObjectNotFound: (foo:String) [], CommandNotFoundException_x000D__x000A_</S><S S=\"Error\">    + FullyQualifiedErrorId : CommandNotFoundException_x000D__x000A_</S><S S=\"Error\"> _x000D__x000A_</S></Objs>"
    );
    // The CLIXML decodes back to the text rendering.
    assert_eq!(
        wsman::clixml::decode_errors(&r.stderr_clixml())
            .replace("\r\n", "\n")
            .trim_end(),
        r.stderr_text().replace("\r\n", "\n").trim_end()
    );
    // No errors, no CLIXML.
    assert_eq!(run("'fine'").stderr_clixml(), "");
}

#[test]
fn clixml_carries_warnings_and_verbose() {
    let r = run(
        "Write-Warning 'careful'; $VerbosePreference = 'Continue'; Write-Verbose 'details'; Write-Debug 'hidden'",
    );
    let clixml = r.stderr_clixml();
    assert!(
        clixml.contains("<S S=\"warning\">careful_x000D__x000A_</S>"),
        "{clixml}"
    );
    assert!(
        clixml.contains("<S S=\"verbose\">details_x000D__x000A_</S>"),
        "{clixml}"
    );
    assert!(!clixml.contains("hidden"));
    assert_eq!(r.stdout_text(), "WARNING: careful\r\nVERBOSE: details\r\n");
    assert_eq!(r.stdout_plain(), "");
}

#[test]
fn write_error_is_attributed_to_the_enclosing_function() {
    let r = run("function Get-Thing { Write-Error 'no thing' }\nGet-Thing");
    assert_eq!(
        r.stderr_text(),
        "Get-Thing : no thing\r\nAt line:2 char:1\r\n+ Get-Thing\r\n+ ~~~~~~~~~\r\n    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException\r\n    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException,Get-Thing\r\n \r\n"
    );
    // At the top level PowerShell prints the script text instead.
    let r = run("Write-Error 'top'");
    assert_eq!(
        r.stderr_text(),
        "Write-Error 'top' : top\r\n    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException\r\n    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorException\r\n \r\n"
    );
}

#[test]
fn vmm_error_rendering() {
    let mut e = PsError::vmm(
        "New-SCVirtualNetworkAdapter",
        "NewNICCmdlet",
        640,
        "The virtual machine must be in either the Poweroff or Stored state before SCVMM can perform the specified hardware changes. (Error ID: 640, Detailed Error: )\n\nTurn off the virtual machine or store it to the library, and then try the operation again.",
    );
    e.position = Some(scvmm_sim::ps::eval::ErrorPosition {
        line: 1,
        column: 8,
        line_text: "$NIC = New-SCVirtualNetworkAdapter -VM $VM".into(),
        length: 34,
    });
    assert_eq!(
        render_error_text(&e, 120),
        "New-SCVirtualNetworkAdapter : The virtual machine must be in either the Poweroff or Stored state before SCVMM can \r\nperform the specified hardware changes. (Error ID: 640, Detailed Error: )\r\n\r\nTurn off the virtual machine or store it to the library, and then try the operation again.\r\nAt line:1 char:8\r\n+ $NIC = New-SCVirtualNetworkAdapter -VM $VM\r\n+        ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\r\n    + CategoryInfo          : ReadError: (:) [New-SCVirtualNetworkAdapter], CarmineException\r\n    + FullyQualifiedErrorId : 640,Microsoft.SystemCenter.VirtualMachineManager.Cmdlets.NewNICCmdlet\r\n \r\n"
    );
    assert_eq!(e.vmm_error_id, Some(640));
    assert!(e.is_instance_of("Microsoft.VirtualManager.Utils.CarmineException"));
}

#[test]
fn long_source_lines_are_shortened_in_positions() {
    let long = format!(
        "$x = 1; {}NoSuchCommand -Arg 1; {}",
        "$a = 1; ".repeat(20),
        "$b = 2; ".repeat(10)
    );
    let r = run(&long);
    let text = r.stderr_text();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert!(lines[3].starts_with("+ ... "), "{text}");
    assert!(lines[3].ends_with(" ..."), "{text}");
    assert!(lines[3].chars().count() <= 2 + 4 + 69 + 4, "{text}");
    let underline = lines[4];
    let column = underline.find('~').unwrap_or(0);
    assert_eq!(&lines[3][column..column + 13], "NoSuchCommand", "{text}");
}

#[test]
fn parse_errors_are_reported_as_parser_errors() {
    let r = run("if ($x) { 'unclosed'");
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| PsError::new("", ""));
    assert_eq!(e.category, ErrorCategory::ParserError);
    assert!(
        r.stderr_text().starts_with("At line:1 char:"),
        "{}",
        r.stderr_text()
    );
    assert!(
        r.stderr_text()
            .contains("ParserError: (:) [], ParentContainsErrorRecordException")
    );
    assert_eq!(r.exit_code, 1);
    assert!(scvmm_sim::ps::eval::needs_more_input("function f {"));
    assert!(!scvmm_sim::ps::eval::needs_more_input("function f { }"));
}

// ---- unsupported things fail loudly -------------------------------------------------

#[test]
fn unsupported_constructs_and_cmdlets_fail_with_a_clear_message() {
    let r = run("class Foo { }");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("class")),
        "{}",
        r.stderr_text()
    );
    let r = run("Get-ChildItem C:\\");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "scvmm-sim does not support the cmdlet 'Get-ChildItem'"
    );
    let r = run("$using:x");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("'using:'"))
    );
    let r = run("Import-Module FailoverClusters");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "The specified module 'FailoverClusters' was not loaded because no valid module file was found in any module directory."
    );
    assert!(
        ok("Import-Module VirtualMachineManager; Import-Module virtualmachinemanager -Force")
            .is_empty()
    );
    let r = run("[ref]$x");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "scvmm-sim does not support the .NET type [ref]"
    );
    let r = run("[Foo.Bar]::Baz");
    assert_eq!(
        r.errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_default(),
        "Unable to find type [Foo.Bar]."
    );
    let r = run("'x' | Format-Wide");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("Format-Wide"))
    );
}

// ---- limits ------------------------------------------------------------------------

#[test]
fn the_step_budget_stops_endless_loops() {
    let r = run_with(
        "while ($true) { }",
        Limits {
            max_steps: 10_000,
            ..Limits::default()
        },
    );
    assert!(r.limit_exceeded);
    assert_eq!(r.exit_code, 1);
    let e = r
        .errors()
        .next()
        .cloned()
        .unwrap_or_else(|| PsError::new("", ""));
    assert!(
        e.message.contains("step budget of 10000 steps"),
        "{}",
        e.message
    );
    assert_eq!(e.category, ErrorCategory::LimitsExceeded);
}

#[test]
fn limits_cannot_be_caught_or_finally_ed() {
    let r = run_with(
        "try { while ($true) { } } catch { 'caught' } finally { 'finally' }; 'after'",
        Limits {
            max_steps: 1_000,
            ..Limits::default()
        },
    );
    assert!(r.limit_exceeded);
    assert_eq!(stdout(&r), "");
}

#[test]
fn runaway_recursion_is_stopped() {
    let r = run("function f { f }; f");
    assert!(r.limit_exceeded);
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("call depth overflow"))
    );
    // Legitimate deep recursion within the limit works.
    assert_eq!(
        ok("function down($n) { if ($n -gt 0) { down ($n - 1) } else { 'bottom' } }; down 300"),
        "bottom"
    );
}

#[test]
fn output_and_collection_limits() {
    let r = run_with(
        "while ($true) { 'x' * 100 }",
        Limits {
            max_output_bytes: 10_000,
            ..Limits::default()
        },
    );
    assert!(r.limit_exceeded);
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("output limit"))
    );
    let small = Limits {
        max_collection: 1_000,
        ..Limits::default()
    };
    assert!(run_with("$r = 1..100000", small).limit_exceeded);
    assert!(run_with("$s = 'x' * 100000", small).limit_exceeded);
    assert!(run_with("$s = 'abc'.PadLeft(100000)", small).limit_exceeded);
}

#[test]
fn records_keep_stream_order() {
    let r = run("'a'; Write-Host 'b'; Write-Error 'c'; 'd'");
    let kinds: Vec<&str> = r
        .records
        .iter()
        .map(|rec| match rec {
            OutputRecord::Output { .. } => "out",
            OutputRecord::Host { .. } => "host",
            OutputRecord::Error(_) => "err",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["out", "host", "err", "out"]);
    // Write-Host interleaves with pipeline output item by item.
    assert_eq!(ok("1..2 | % { Write-Host \"h$_\"; $_ }"), "h1\n1\nh2\n2");
}

#[test]
fn redirections() {
    assert_eq!(
        ok("$r = Write-Error 'x' 2>&1; $r.GetType().Name; \"$r\""),
        "ErrorRecord\nx"
    );
    assert_eq!(ok("Write-Error 'gone' 2>$null; 'a'"), "a");
    assert_eq!(ok("Write-Warning 'w' 3>$null; 'b'"), "b");
    assert_eq!(ok("Write-Error 'all' *> $null; 'c'"), "c");
    assert_eq!(
        ok("function f { Write-Error 'fe'; 'fout' }; $o = f 2>&1; $o.Count"),
        "2"
    );
    assert_eq!(
        ok("'x' > $null; 1..3 | % { $_ } > C:\\f.txt; Get-Content C:\\f.txt"),
        "1\n2\n3"
    );
    // Redirected errors still land in $Error.
    assert_eq!(ok("Write-Error 'e' 2>$null; $Error.Count"), "1");
}
