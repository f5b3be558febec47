//! docs/security.md's "Hostile input" table is a claim about tests: every
//! row names `path/to/file.rs::test_name`, and that test must exist, be a
//! test (`#[test]`, `#[tokio::test]`, or inside `proptest!`) and not be
//! ignored. Every category of hostile input the table must cover keeps at
//! least one row, and the kinds of bootstrap Secret and WinRM abuse listed
//! in issue #10 keep theirs, so a category cannot vanish silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const CATEGORIES: &[&str] = &[
    "injection",
    "validation",
    "bootstrap",
    "ipam",
    "scvmm-json",
    "winrm",
    "emulator",
    "secrets",
];

/// (category, words that some row's Input cell of that category must hold).
const REQUIRED_INPUTS: &[(&str, &str)] = &[
    ("injection", "VM name"),
    ("injection", "host group"),
    ("injection", "any parameter"),
    ("bootstrap", "missing"),
    ("bootstrap", "empty"),
    ("bootstrap", "huge"),
    ("bootstrap", "binary"),
    ("bootstrap", "not UTF-8"),
    ("ipam", "IPAddress"),
    ("scvmm-json", "not what the scripts print"),
    ("winrm", "huge body"),
    ("winrm", "never ends"),
    ("winrm", "nested"),
    ("winrm", "output"),
    (
        "secrets",
        "everywhere a user without Secret access can look",
    ),
    ("secrets", "errors and restarts"),
    ("secrets", "TLS verification"),
    ("secrets", "RBAC"),
    ("secrets", "inspection API"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// One table row: its cells, trimmed, with `\|` unescaped.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                out.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out.iter().map(|c| c.trim().to_string()).collect()
}

#[derive(Debug)]
struct Row {
    line: usize,
    category: String,
    input: String,
    test: String,
}

/// The rows of the tables under `## Hostile input` and `## Secrets`.
fn rows(text: &str) -> Result<Vec<Row>, String> {
    let mut in_section = false;
    let mut header: Option<Vec<String>> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("## ") {
            // Both tables have the same columns; each has its own header.
            in_section = matches!(line.trim(), "## Hostile input" | "## Secrets");
            header = None;
            continue;
        }
        if !in_section || !line.trim_start().starts_with('|') {
            continue;
        }
        let row = cells(line);
        if row
            .iter()
            .all(|c| c.chars().all(|x| matches!(x, '-' | ':')))
        {
            continue;
        }
        let Some(h) = &header else {
            header = Some(row);
            continue;
        };
        let col = |name: &str| {
            h.iter()
                .position(|c| c.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("the table has no {name:?} column: {h:?}"))
        };
        let (c, n, t) = (col("Category")?, col("Input")?, col("Test")?);
        if row.len() != h.len() {
            return Err(format!(
                "docs/security.md:{}: {} cells where the header has {}",
                i + 1,
                row.len(),
                h.len()
            ));
        }
        out.push(Row {
            line: i + 1,
            category: row[c].clone(),
            input: row[n].clone(),
            test: row[t].trim_matches('`').to_string(),
        });
    }
    if out.is_empty() {
        return Err("docs/security.md has no table under \"## Hostile input\"".into());
    }
    Ok(out)
}

/// Why `name` in `source` is not a runnable test, if it is not.
fn not_a_test(source: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let decl = |l: &str| {
        let l = l.trim_start();
        [format!("fn {name}("), format!("async fn {name}(")]
            .iter()
            .any(|d| l.starts_with(d.as_str()))
    };
    let Some(at) = lines.iter().position(|l| decl(l)) else {
        return Some(format!("has no `fn {name}(`"));
    };
    // The attributes and doc comments right above the function.
    let mut attributes = Vec::new();
    for l in lines[..at].iter().rev().take(12) {
        let t = l.trim();
        if t.starts_with("#[") || t.starts_with("///") || t.starts_with("//") || t.ends_with(")]") {
            attributes.push(t);
        } else {
            break;
        }
    }
    if attributes.iter().any(|a| a.starts_with("#[ignore")) {
        return Some(format!("`{name}` is #[ignore]d"));
    }
    let attributed = attributes
        .iter()
        .any(|a| a.starts_with("#[test]") || a.starts_with("#[tokio::test"));
    if attributed || inside_proptest(&lines[..at]) {
        None
    } else {
        Some(format!(
            "`{name}` is not a #[test], #[tokio::test] or proptest"
        ))
    }
}

/// Whether the end of `before` is inside an open `proptest! {` block.
fn inside_proptest(before: &[&str]) -> bool {
    let Some(start) = before
        .iter()
        .rposition(|l| l.trim_start().starts_with("proptest!"))
    else {
        return false;
    };
    let depth: i64 = before[start..]
        .iter()
        .flat_map(|l| l.chars())
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum();
    depth > 0
}

/// Every problem with the table in `text`, files read under `root`.
fn problems(root: &Path, text: &str) -> Vec<String> {
    let rows = match rows(text) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let mut out = Vec::new();
    for row in &rows {
        let at = format!("docs/security.md:{}", row.line);
        if !CATEGORIES.contains(&row.category.as_str()) {
            out.push(format!(
                "{at}: unknown category {:?} (one of {CATEGORIES:?})",
                row.category
            ));
        }
        let Some((path, name)) = row.test.rsplit_once("::") else {
            out.push(format!(
                "{at}: the Test cell {:?} is not `path/to/file.rs::test_name`",
                row.test
            ));
            continue;
        };
        match std::fs::read_to_string(root.join(path)) {
            Err(e) => out.push(format!("{at}: {path}: {e}")),
            Ok(source) => {
                if let Some(why) = not_a_test(&source, name) {
                    out.push(format!("{at}: {path} {why}"));
                }
            }
        }
    }
    let present: BTreeSet<&str> = rows.iter().map(|r| r.category.as_str()).collect();
    for c in CATEGORIES {
        if !present.contains(c) {
            out.push(format!("category {c:?} has no row"));
        }
    }
    for (category, words) in REQUIRED_INPUTS {
        let covered = rows.iter().any(|r| {
            r.category == *category && r.input.to_lowercase().contains(&words.to_lowercase())
        });
        if !covered {
            out.push(format!(
                "no {category} row whose Input mentions {words:?} (issue #10 asks for it)"
            ));
        }
    }
    out
}

#[test]
fn every_row_names_a_test_that_runs() {
    let root = root();
    let text = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let found = problems(&root, &text);
    assert!(found.is_empty(), "docs/security.md:\n{}", found.join("\n"));
    assert!(rows(&text).unwrap().len() >= 30);
}

#[test]
fn the_checker_catches_missing_ignored_and_untested_rows() {
    let root = root();
    let text = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let this = "operator/tests/security_docs.rs";
    for (test, expect) in [
        (format!("{this}::no_such_test"), "has no `fn no_such_test(`"),
        (format!("{this}::problems"), "is not a #[test]"),
        (format!("{this}::ignored_on_purpose"), "is #[ignore]d"),
        ("operator/tests/nowhere.rs::x".to_string(), "nowhere.rs"),
    ] {
        let bad = text.replacen(
            "`operator/tests/hostile_input.rs::a_missing_bootstrap_secret_is_named_and_waited_for`",
            &format!("`{test}`"),
            1,
        );
        let found = problems(&root, &bad).join("\n");
        assert!(found.contains(expect), "{expect:?} in {found}");
    }
    // A proptest counts as a test.
    let prop = text.replacen(
        "`operator/tests/seed.rs::user_data_is_carried_verbatim`",
        "`operator/tests/hostile_input.rs::any_ipam_address_is_used_or_refused`",
        1,
    );
    assert_eq!(problems(&root, &prop), Vec::<String>::new());
    // Deleting a category's rows is noticed.
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("| ipam |"))
        .map(|l| format!("{l}\n"))
        .collect();
    let found = problems(&root, &without).join("\n");
    assert!(found.contains("category \"ipam\" has no row"), "{found}");
    let without: String = text
        .lines()
        .filter(|l| !(l.starts_with("| bootstrap |") && l.contains("huge")))
        .map(|l| format!("{l}\n"))
        .collect();
    let found = problems(&root, &without).join("\n");
    assert!(found.contains("\"huge\""), "{found}");
}

/// Referenced by the checker's own test: an ignored test must not count.
#[test]
#[ignore = "exists so the checker can be shown to refuse ignored tests"]
fn ignored_on_purpose() {}
