//! Fuzz target `ps`: the emulator's PowerShell front end (`ps::parse`,
//! `lexer::tokenize` in both modes, `ps::print`), fed the operator's
//! scripts, the scripts it renders, VMM automation samples, and mutations
//! of them (token splices, deep nesting, truncations, invalid UTF-8).
//!
//! Properties: no panic, no hang (and no super-linear parse: a case is
//! timed), no stack overflow on deep nesting (an error instead), bounded
//! heap; an error names a line and column inside the script; whatever
//! parses prints back to a script that parses to the same tree (corpus
//! scripts exactly; mutated ones at least stably, see
//! `ps_robustness::unary_comma_after_a_redirection`).
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p scvmm-sim --test fuzz_ps -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;

use operator::scvmm::script::{Operation, render};
use proptest::prelude::*;
use scvmm_sim::ps;
use scvmm_sim::ps::lexer::tokenize;
use scvmm_sim::ps::token::LexMode;
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, kind};

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");

fn corpus() -> Corpus {
    let mut corpus = Corpus::from_dir(Path::new(DIR).join("tests/fuzz-corpus/ps"));
    corpus.add_dir(Path::new(DIR).join("../operator/src/scvmm/scripts"));
    let params = serde_json::json!({
        "server": "vmm01.corp.example",
        "vmId": "7c3b0d2e-1f4a-4b5c-9d6e-7f8091a2b3c4",
        "instanceId": "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9",
        "name": "web-01 ‘quoted’ $(not code)",
        "seed": { "folder": "\\\\lib\\share", "name": "seed.iso", "data": "AAAA" },
    });
    for op in Operation::ALL {
        corpus.push(format!("rendered-{}", op.name()), render(op, &params));
    }
    corpus
}

fn dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            " ",
            "\n",
            "\r\n",
            ";",
            "$x",
            "$_",
            "${a b}",
            "$env:X",
            "@a",
            "(",
            ")",
            "{",
            "}",
            "[",
            "]",
            "@(",
            "@{",
            "$(",
            "'",
            "''",
            "\"",
            "`",
            "`n",
            "-eq",
            "-Name",
            "-x:",
            "--",
            "-",
            "+",
            "*",
            "/",
            "%",
            "=",
            "+=",
            "!",
            "..",
            ".",
            "::",
            ",",
            "|",
            "&",
            ">",
            "2>&1",
            "<#",
            "#>",
            "#",
            "1",
            "0x1F",
            "4GB",
            "1.5e3",
            "7L",
            "if",
            "else",
            "elseif",
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
            "function",
            "filter",
            "param",
            "begin",
            "process",
            "end",
            "return",
            "throw",
            "break",
            "continue",
            "exit",
            "trap",
            "[int]",
            "[string[]]",
            "[Parameter(Mandatory)]",
            "Get-SCVirtualMachine",
            "?",
            "@'\n",
            "\n'@",
            "@\"\n",
            "\n\"@",
            "\u{2018}",
            "\u{2019}",
            "\u{201C}",
            "\u{201D}",
            "\u{2013}",
            "\u{2014}",
            "\u{feff}",
            "\t",
            ":lbl",
            "-not",
            "-f",
            "-join",
            "-split",
            "-replace",
            "$x.Name",
            "$a[0]",
            ".Method(",
            "$true",
            "$null",
            "99999999999999999999",
            "0x",
            "1..",
            "[Convert]::FromBase64String('",
            "ConvertTo-Json -Compress -Depth 6",
        ])
        .pairs([
            ("(", ")"),
            ("{", "}"),
            ("@(", ")"),
            ("$(", ")"),
            ("@{a=", "}"),
            ("[", "]"),
            ("\"$(", ")\""),
            ("if ($x) {", "}"),
            ("- ", ""),
            ("!", ""),
            (",", ""),
            ("[int]", ""),
            ("& {", "}"),
        ])
}

/// Everything that must hold for any script; `exact` asks print → parse
/// to give the same tree (realistic scripts), otherwise printing must
/// settle after one round (the known printer bug on noise).
fn check(src: &str, exact: bool) -> Result<String, TestCaseError> {
    let parsed = ps::parse(src);
    for mode in [LexMode::Expression, LexMode::Command] {
        let _ = tokenize(src, mode);
    }
    match parsed {
        Ok(tree) => {
            let printed = ps::print(&tree);
            let again = ps::parse(&printed);
            prop_assert!(
                again.is_ok(),
                "the printed script does not parse: {:?}\nprinted:\n{printed}",
                again.err()
            );
            let again = again.ok();
            if exact {
                prop_assert_eq!(again.as_ref(), Some(&tree), "printed:\n{}", printed);
            } else if again.as_ref() != Some(&tree) {
                let second = again.as_ref().map(ps::print).unwrap_or_default();
                let third = ps::parse(&second).ok();
                prop_assert_eq!(third.as_ref(), again.as_ref(), "printing does not settle");
            }
            Ok("ok".into())
        }
        Err(err) => {
            // PowerShell ends lines at CR LF, LF and a lone CR.
            let lines = src.replace("\r\n", "\n").split(['\n', '\r']).count();
            prop_assert!(
                err.line >= 1 && err.line <= lines + 1,
                "line {} of {lines}",
                err.line
            );
            prop_assert!(err.column >= 1);
            prop_assert!(!err.message.trim().is_empty());
            prop_assert!(err.offset <= src.len());
            let shown = err.to_string();
            prop_assert!(
                shown.len() <= 4 * src.len() + 2048,
                "a {}-byte error message",
                shown.len()
            );
            Ok(kind(&err.kind))
        }
    }
}

#[test]
fn fuzz_ps() {
    let corpus = corpus();
    assert!(corpus.len() >= 30, "corpus too small: {}", corpus.len());
    let known: HashSet<Vec<u8>> = corpus.entries().map(|(_, b)| b.to_vec()).collect();
    let dict = dictionary();
    let mut fuzz = Fuzz::new(
        "ps",
        file!(),
        Path::new(DIR).join("tests/fuzz-corpus/ps"),
        1,
    );
    // A syntax tree costs up to a few hundred bytes per token, a token can
    // be a single character (`1,1,1,...`), and a case holds two trees (the
    // script's and the printed script's) and two token lists.
    fuzz.bytes("parse", &corpus, &dict, 1024, |input| {
        let src = String::from_utf8_lossy(input);
        let exact = known.contains(input) && std::str::from_utf8(input).is_ok();
        check(&src, exact)
    });
    fuzz.finish();
}

/// Regression (found by this target): a script block with one statement
/// too long for one line printed that statement twice, so nested blocks
/// took 2^depth; 221 bytes of script never finished printing.
#[test]
fn nested_script_blocks_print_in_linear_time() {
    let depth = 30;
    let src = format!("{}1{}", "Invoke-Command {".repeat(depth), "}".repeat(depth));
    let tree = ps::parse(&src).unwrap();
    let started = std::time::Instant::now();
    let printed = ps::print(&tree);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ps::parse(&printed).unwrap(), tree);
}

/// Regression (found by this target): chains of member accesses, indexes
/// and operators were parsed in a loop, unbounded, into a tree as deep as
/// the chain was long; printing it (and evaluating it, in the emulator)
/// overflowed the stack. They are now an error past `ps::MAX_CHAIN`.
#[test]
fn long_chains_are_an_error_not_a_stack_overflow() {
    for (what, src) in [
        ("members", format!("$a{}", ".b".repeat(20_000))),
        ("indexes", format!("$a{}", "[0]".repeat(20_000))),
        ("calls", format!("$a{}", ".b()".repeat(20_000))),
        ("operators", format!("1{}", "+1".repeat(20_000))),
        (
            "nested",
            format!(
                "$a{}",
                "[$a.b.b.b.b.b.b.b.b.b".repeat(2_000) + &"]".repeat(2_000)
            ),
        ),
    ] {
        let err = ps::parse(&src).expect_err(what);
        assert_eq!(err.kind, ps::ParseErrorKind::TooDeep, "{what}: {err}");
    }
    // A chain as long as allowed still parses, prints and parses back, on
    // the 2 MiB stack of a test thread.
    let src = format!(
        "$a{}",
        ".b".repeat(ps::MAX_CHAIN / 2) + &"+1".repeat(ps::MAX_CHAIN / 2 - 1)
    );
    let tree = ps::parse(&src).unwrap();
    assert_eq!(ps::parse(&ps::print(&tree)).unwrap(), tree);
}
