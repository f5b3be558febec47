//! Text rendering: objects for stdout, and error records the two ways
//! `powershell.exe` writes them to stderr.
//!
//! # Objects on stdout
//!
//! A simplified Out-Default, documented here because clients may parse it:
//!
//! - `$null` writes nothing; a string is written as is (an empty string is
//!   an empty line); numbers, booleans, GUIDs, enums and time spans as
//!   their invariant-culture text; dates as the long en-US form
//!   (`Wednesday, January 1, 2025 12:00:00 AM`);
//! - a hashtable as PowerShell's two-column table (`Name` padded to 30,
//!   then `Value`), preceded by an empty line;
//! - any other object in a Format-List style: an empty line, then one
//!   `Name : value` line per property with the names padded to the longest
//!   one; collection values print as `{a, b, c}` (at most four items, then
//!   `...`), nested objects as their string form;
//! - every record ends in CR LF.
//!
//! Real PowerShell picks a table for objects with fewer than five
//! properties and groups consecutive objects of one type under one header;
//! the emulator always uses the list form.
//!
//! # Errors on stderr
//!
//! [`render_error_text`] reproduces Windows PowerShell 5.1's `NormalView`:
//! `<command> : <message>`, the `At line:L char:C` position with the
//! source line and `~~~` underline (shortened the way PowerShell shortens
//! lines longer than 69 characters), the `+ CategoryInfo` and
//! `+ FullyQualifiedErrorId` lines, and a final line holding one space;
//! lines are word-wrapped at the console width (120 for WinRM shells).
//! [`render_clixml`] writes the same lines as CLIXML error records, as an
//! `-EncodedCommand` run does.

use super::OutputRecord;
use super::convert;
use super::errors::{ErrorCategory, ErrorPosition, PsError};
use super::format;
use super::interp::Interp;
use super::value::Value;

/// The console width of a WinRM PowerShell host.
pub const DEFAULT_WIDTH: usize = 120;

/// How many collection items Format-List shows (`$FormatEnumerationLimit`).
const ENUMERATION_LIMIT: usize = 4;

/// A property value as a formatted field.
fn field(v: &Value, it: &mut Interp<'_>) -> String {
    match v {
        Value::Array(_) | Value::Bytes(_) => {
            let items = v.enumerate();
            let mut parts: Vec<String> = items
                .iter()
                .take(ENUMERATION_LIMIT)
                .map(|x| match x {
                    Value::Array(_) | Value::Bytes(_) => x.type_name(),
                    other => convert::to_text(other, it),
                })
                .collect();
            if items.len() > ENUMERATION_LIMIT
                && let Some(last) = parts.last_mut()
            {
                last.push_str("...");
            }
            format!("{{{}}}", parts.join(", "))
        }
        Value::DateTime(dt) => format::format_date(dt, ""),
        other => convert::to_text(other, it),
    }
}

/// One object as stdout shows it (without the final line break).
pub(crate) fn render_value(v: &Value, it: &mut Interp<'_>) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.to_string(),
        Value::DateTime(dt) => format::format_date(dt, "F"),
        Value::Hashtable(h) => {
            let entries = h.read(|d| d.entries().to_vec());
            let mut lines = vec![
                String::new(),
                format!("{:<30} Value", "Name"),
                format!("{:<30} -----", "----"),
            ];
            for (k, val) in &entries {
                let key = convert::to_text(k, it);
                let value = field(val, it);
                lines.push(format!("{key:<30} {value}").trim_end().to_owned());
            }
            lines.join("\r\n") + "\r\n"
        }
        // One level only: a nested collection (or an array holding
        // itself) prints as a formatted field, not recursively.
        Value::Array(_) | Value::Bytes(_) => v
            .enumerate()
            .iter()
            .map(|x| match x {
                Value::Array(_) | Value::Bytes(_) => field(x, it),
                other => render_value(other, it),
            })
            .collect::<Vec<_>>()
            .join("\r\n"),
        Value::ErrorRecord(e) => render_error_text(e, it.st.width)
            .trim_end_matches("\r\n")
            .to_owned(),
        Value::Object(_) | Value::HostRef(_) | Value::Exception(_) | Value::Credential(_) => {
            render_list(v, None, it)
        }
        other => convert::to_text(other, it),
    }
}

/// Format-List of one object: an empty line, then `Name : value` lines.
pub(crate) fn render_list(v: &Value, wanted: Option<&[String]>, it: &mut Interp<'_>) -> String {
    let props = selected_properties(v, wanted, it);
    let width = props
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = vec![String::new()];
    for (name, value) in &props {
        let text = field(value, it);
        lines.push(format!("{name:<width$} : {text}").trim_end().to_owned());
    }
    lines.join("\r\n") + "\r\n"
}

fn selected_properties(
    v: &Value,
    wanted: Option<&[String]>,
    it: &mut Interp<'_>,
) -> Vec<(String, Value)> {
    let all = it.properties_of(v);
    match wanted {
        None => all,
        Some(names) => {
            let mut out = Vec::new();
            for pattern in names {
                for (n, val) in &all {
                    if super::operators::like(n, pattern, false)
                        && !out.iter().any(|(o, _): &(String, Value)| o == n)
                    {
                        out.push((n.clone(), val.clone()));
                    }
                }
            }
            out
        }
    }
}

/// Format-Table of objects: a header from the first object's properties,
/// columns as wide as their widest cell.
pub(crate) fn render_table(
    items: &[Value],
    wanted: Option<&[String]>,
    it: &mut Interp<'_>,
) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let headers: Vec<String> = selected_properties(first, wanted, it)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    if headers.is_empty() {
        return items
            .iter()
            .map(|i| render_value(i, it))
            .collect::<Vec<_>>()
            .join("\r\n");
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for item in items {
        let mut row = Vec::new();
        for h in &headers {
            let v = it
                .get_member_opt(item, h)
                .ok()
                .flatten()
                .unwrap_or(Value::Null);
            row.push(field(&v, it));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain(std::iter::once(h.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" ")
            .trim_end()
            .to_owned()
    };
    let mut lines = vec![String::new(), line(&headers)];
    lines.push(line(
        &headers
            .iter()
            .map(|h| "-".repeat(h.chars().count()))
            .collect::<Vec<_>>(),
    ));
    for r in &rows {
        lines.push(line(r));
    }
    lines.join("\r\n") + "\r\n"
}

/// Objects as `Out-String` / `Out-File` / `>` write them: each rendered
/// object followed by CR LF (`$null` writes nothing).
pub(crate) fn render_for_file(items: &[Value], it: &mut Interp<'_>) -> String {
    let mut out = String::new();
    for item in items {
        if item.is_null() {
            continue;
        }
        out.push_str(&render_value(item, it));
        out.push_str("\r\n");
    }
    out
}

/// `InvocationInfo.PositionMessage`: `At line:L char:C`, the source line
/// and an underline (lines separated by `\n`), shortened like PowerShell
/// does for lines over 69 characters.
#[must_use]
pub fn position_message(p: &ErrorPosition) -> String {
    let source = p.line_text.trim_end();
    let header = format!("At line:{} char:{}", p.line, p.column);
    if source.is_empty() {
        return header;
    }
    let mut chars: Vec<char> = source.chars().collect();
    let mut before = p.column.saturating_sub(1).min(chars.len());
    let mut length = p.length.min(chars.len() - before);
    // Tabs count as four spaces, before the line is shortened.
    if chars.contains(&'\t') {
        let expand = |s: &[char]| -> Vec<char> {
            s.iter()
                .flat_map(|&c| if c == '\t' { vec![' '; 4] } else { vec![c] })
                .collect()
        };
        let head = expand(&chars[..before]);
        let mid = expand(&chars[before..before + length]);
        let tail = expand(&chars[before + length..]);
        before = head.len();
        length = mid.len();
        chars = [head, mid, tail].concat();
    }
    const MAX: usize = 69;
    let mut prefix_dots = false;
    let mut suffix_dots = false;
    if chars.len() > MAX {
        let total_prefix = before;
        let mut prefix = total_prefix.min(12);
        let total_suffix = chars.len() - length - before;
        let mut suffix = total_suffix.min(8);
        let candidate = prefix + length + suffix;
        if candidate >= MAX {
            if prefix + length >= MAX {
                length = MAX - prefix;
            }
            suffix_dots = true;
        } else {
            let available = total_prefix - prefix;
            let mut candidate = candidate;
            if available > 0 {
                prefix += available.min(MAX - candidate);
                candidate = prefix + length + suffix;
            }
            if candidate < MAX && total_suffix > 0 {
                suffix += total_suffix.min(MAX - candidate);
            }
            suffix_dots = suffix < total_suffix;
        }
        prefix_dots = prefix < total_prefix;
        let start = before.saturating_sub(prefix);
        let end = (start + MAX).min(chars.len());
        chars = chars[start..end].to_vec();
        before = before.min(prefix);
        length = length.min(MAX - before);
    }
    let mut text = String::new();
    if prefix_dots {
        text.push_str("... ");
    }
    text.extend(&chars);
    if suffix_dots {
        text.push_str(" ...");
    }
    let pad = before + if prefix_dots { 4 } else { 0 };
    format!(
        "{header}\n+ {text}\n+ {}{}",
        " ".repeat(pad),
        "~".repeat(length.max(1))
    )
}

/// Word-wraps one line at `width` columns, keeping the spaces at the end
/// of the broken line (as the console host does).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let limit = width.saturating_sub(1).max(10);
    if line.chars().count() <= limit {
        return vec![line.to_owned()];
    }
    // Words with their trailing spaces.
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in line.chars() {
        if c == ' ' {
            in_space = true;
            current.push(c);
        } else {
            if in_space {
                words.push(std::mem::take(&mut current));
                in_space = false;
            }
            current.push(c);
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut lines = Vec::new();
    let mut line_buf = String::new();
    for word in words {
        let visible = line_buf.chars().count() + word.trim_end().chars().count();
        if !line_buf.is_empty() && visible > limit {
            lines.push(std::mem::take(&mut line_buf));
        }
        if word.trim_end().chars().count() > limit {
            let chars: Vec<char> = word.chars().collect();
            for chunk in chars.chunks(limit) {
                if !line_buf.is_empty() {
                    lines.push(std::mem::take(&mut line_buf));
                }
                line_buf = chunk.iter().collect();
            }
        } else {
            line_buf.push_str(&word);
        }
    }
    if !line_buf.is_empty() {
        lines.push(line_buf);
    }
    lines
}

/// The lines of an error record as PowerShell 5.1 prints it (no line
/// ends).
fn error_lines(e: &PsError, width: usize) -> Vec<String> {
    let mut text = String::new();
    if e.category == ErrorCategory::ParserError {
        // A parse error's message carries its position first.
        if let Some(p) = &e.position {
            text.push_str(&position_message(p));
            text.push('\n');
        }
        text.push_str(&e.message);
    } else {
        match (&e.prefix_override, &e.command) {
            (Some(prefix), _) if !prefix.is_empty() => {
                text.push_str(prefix);
                text.push_str(" : ");
            }
            (None, Some(command)) => {
                text.push_str(command);
                text.push_str(" : ");
            }
            _ => {}
        }
        text.push_str(&e.message);
        if let Some(p) = &e.position {
            text.push('\n');
            text.push_str(&position_message(p));
        }
    }
    let chunk_width = width.saturating_sub(6).max(10);
    for item in [
        format!("+ CategoryInfo          : {}", e.category_info()),
        format!("+ FullyQualifiedErrorId : {}", e.fully_qualified_error_id),
    ] {
        text.push('\n');
        // PowerShell's view splits long lines into (width - 6)-character
        // pieces, each indented by four spaces, without line breaks.
        let chars: Vec<char> = item.chars().collect();
        for chunk in chars.chunks(chunk_width) {
            text.push_str("    ");
            text.extend(chunk);
        }
    }
    text.push_str("\n ");
    text.replace("\r\n", "\n")
        .split('\n')
        .flat_map(|l| wrap(l, width))
        .collect()
}

/// An error record as PowerShell 5.1 writes it to stderr in a `-Command -`
/// session: lines ending in CR LF.
#[must_use]
pub fn render_error_text(e: &PsError, width: usize) -> String {
    let mut out = String::new();
    for line in error_lines(e, width) {
        out.push_str(&line);
        out.push_str("\r\n");
    }
    out
}

/// Stderr of an `-EncodedCommand` run: the error, warning, verbose, debug
/// and information records as one CLIXML document (empty when there are
/// none).
#[must_use]
pub fn render_clixml(records: &[OutputRecord], width: usize) -> String {
    use wsman::clixml::{ClixmlStream, Record, encode};
    let mut out = Vec::new();
    for r in records {
        match r {
            OutputRecord::Error(e) => {
                for line in error_lines(e, width) {
                    out.push(Record {
                        stream: ClixmlStream::Error,
                        text: format!("{line}\r\n"),
                    });
                }
            }
            OutputRecord::Warning(t) => out.push(Record {
                stream: ClixmlStream::Warning,
                text: format!("{t}\r\n"),
            }),
            OutputRecord::Verbose(t) => out.push(Record {
                stream: ClixmlStream::Verbose,
                text: format!("{t}\r\n"),
            }),
            OutputRecord::Debug(t) => out.push(Record {
                stream: ClixmlStream::Debug,
                text: format!("{t}\r\n"),
            }),
            OutputRecord::Information(t) => out.push(Record {
                stream: ClixmlStream::Information,
                text: format!("{t}\r\n"),
            }),
            OutputRecord::Output { .. } | OutputRecord::Host { .. } => {}
        }
    }
    if out.is_empty() {
        String::new()
    } else {
        encode(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: &str, column: usize, length: usize) -> ErrorPosition {
        ErrorPosition {
            line: 1,
            column,
            line_text: line.to_owned(),
            length,
        }
    }

    #[test]
    fn short_position() {
        assert_eq!(
            position_message(&pos("throw \"boom\"", 1, 12)),
            "At line:1 char:1\n+ throw \"boom\"\n+ ~~~~~~~~~~~~"
        );
        assert_eq!(
            position_message(&pos("$x = foo", 6, 3)),
            "At line:1 char:6\n+ $x = foo\n+      ~~~"
        );
    }

    #[test]
    fn long_lines_are_shortened_like_powershell() {
        let line = format!(
            "{}$NIC = New-SCVirtualNetworkAdapter -VM $VM -VMNetwork $VMNetwork {}",
            "x".repeat(420),
            "y".repeat(40)
        );
        let col = 421;
        let msg = position_message(&pos(&line, col, 56));
        let lines: Vec<&str> = msg.split('\n').collect();
        assert!(lines[1].starts_with("+ ... "));
        assert!(lines[1].ends_with(" ..."));
        assert!(lines[2].trim_start_matches(['+', ' ']).starts_with('~'));
    }

    #[test]
    fn wrapping_keeps_trailing_space() {
        let line = "foo : The term 'foo' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.";
        let lines = wrap(line, 120);
        assert_eq!(
            lines[0],
            "foo : The term 'foo' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the "
        );
        assert!(lines[1].starts_with("spelling of the name"));
    }
}
