//! `ConvertTo-Json` and `ConvertFrom-Json` exactly as Windows PowerShell
//! 5.1 behaves (reference §8), because clients parse what real servers
//! print:
//!
//! - objects are walked to `-Depth` (default 2); deeper objects become
//!   their string conversion (`"System.Collections.Hashtable"`, a
//!   space-joined array, `@{a=1}`), silently;
//! - enums are numbers, dates are `"\/Date(ms)\/"`, doubles use .NET's
//!   round-trip format;
//! - strings are escaped like .NET's `JavaScriptSerializer` (`<`, `>`,
//!   `'`, `&` become `\u003c`, `\u003e`, `\u0027`, `\u0026`);
//! - one piped object is written bare (`@(1) | ConvertTo-Json` is `1`),
//!   several as an array; `-InputObject @(1)` is an array;
//! - without `-Compress` the compact text is re-indented by PowerShell
//!   5.1's own pretty-printer: four spaces per level, two spaces after the
//!   colon, nested containers aligned under the key that holds them,
//!   CR LF line ends, and empty containers split over two lines.
//!
//! `ConvertFrom-Json` returns `PSCustomObject`s and `object[]`s and, like
//! 5.1, writes a top-level JSON array as one object (not enumerated).

use super::{BuiltinDef, Kind, input_or_argument};
use crate::ps::eval::convert;
use crate::ps::eval::errors::{ErrorCategory, Flow, PsError, R, exception};
use crate::ps::eval::format;
use crate::ps::eval::host::CommandSignature;
use crate::ps::eval::interp::Interp;
use crate::ps::eval::pipeline::CmdCtx;
use crate::ps::eval::types::PsType;
use crate::ps::eval::value::{DateKind, DateTime, ObjectData, Shared, Value};

pub(super) fn builtins() -> Vec<BuiltinDef> {
    vec![
        BuiltinDef {
            name: "ConvertTo-Json",
            signature: || {
                CommandSignature::new()
                    .positional("InputObject", 0)
                    .param("Depth")
                    .switch("Compress")
            },
            kind: Kind::Collect(convert_to_json),
        },
        BuiltinDef {
            name: "ConvertFrom-Json",
            signature: || CommandSignature::new().positional("InputObject", 0),
            kind: Kind::Collect(convert_from_json),
        },
    ]
}

/// PowerShell 5.1's limit on `-Depth`.
const MAX_DEPTH: i32 = 100;

/// A JSON value on its way out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A number, already formatted.
    Number(String),
    String(String),
    /// A `DateTime`: `"\/Date(ms)\/"`.
    Date(i64),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

fn convert_to_json(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
) -> R<Vec<Value>> {
    let depth = match cx.args.get("Depth") {
        Some(v) => match convert::convert_to(v, &PsType::Int, it) {
            Ok(Value::Int(n)) if n >= 1 => n,
            _ => {
                let text = convert::to_text(v, it);
                return Err(Flow::statement(it.locate(
                    PsError::binding(
                        &cx.name,
                        format!(
                            "Cannot validate argument on parameter 'Depth'. The {text} argument is less than the minimum allowed range of 1. Supply an argument that is greater than or equal to 1 and then try the command again."
                        ),
                        "ParameterArgumentValidationError",
                    ),
                    cx.span,
                )));
            }
        },
        None => 2,
    };
    if depth > MAX_DEPTH {
        return Err(Flow::statement(
            it.locate(
                PsError::new(
                    format!("The maximum depth allowed for serialization is {MAX_DEPTH}."),
                    "ReachedMaximumDepthAllowed,Microsoft.PowerShell.Commands.ConvertToJsonCommand",
                )
                .with_category(ErrorCategory::InvalidOperation)
                .with_exception(exception::INVALID_OPERATION)
                .with_command(cx.name.clone()),
                cx.span,
            ),
        ));
    }
    let items = if had {
        input
    } else {
        match cx.args.get("InputObject") {
            Some(v) => vec![v.clone()],
            None => Vec::new(),
        }
    };
    let value = match items.len() {
        0 => return Ok(Vec::new()),
        1 => items.into_iter().next().unwrap_or(Value::Null),
        _ => Value::array(items),
    };
    let json = to_json(it, &value, 0, depth)
        .map_err(|e| Flow::statement(it.locate(e.with_command(cx.name.clone()), cx.span)))?;
    let compact = write_compact(&json);
    let text = if cx.args.switch("Compress") {
        compact
    } else {
        pretty(&compact)
    };
    it.check_size(text.len(), "A JSON document")?;
    Ok(vec![Value::from(text)])
}

/// The JSON form of `v` at `depth` (PowerShell 5.1's `ProcessValue`).
///
/// # Errors
///
/// Hashtables with non-string keys, as PowerShell rejects them.
pub(crate) fn to_json(
    it: &mut Interp<'_>,
    v: &Value,
    depth: i32,
    max_depth: i32,
) -> Result<Json, PsError> {
    it.step().map_err(|f| match f {
        Flow::Error(e, _) | Flow::Abort(e) => *e,
        _ => PsError::new("stopped", "Stopped"),
    })?;
    Ok(match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => Json::Number(n.to_string()),
        Value::Long(n) => Json::Number(n.to_string()),
        Value::Byte(n) => Json::Number(n.to_string()),
        Value::Double(d) => Json::Number(format::double_round_trip(*d)),
        Value::Decimal(d) => Json::Number(format::decimal_to_string(*d)),
        Value::Char(c) => Json::String(c.to_string()),
        Value::String(s) => Json::String(s.to_string()),
        Value::DateTime(dt) => Json::Date(dt.unix_millis()),
        Value::Guid(g) => Json::String(g.to_string()),
        Value::Enum(e) => Json::Number(e.value.to_string()),
        _ if depth > max_depth => Json::String(convert::to_text(v, it)),
        Value::Array(_) | Value::Bytes(_) => {
            let items = v.enumerate();
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                out.push(to_json(it, item, depth + 1, max_depth)?);
            }
            Json::Array(out)
        }
        Value::Hashtable(h) => {
            let entries = h.read(|d| d.entries().to_vec());
            let mut out = Vec::with_capacity(entries.len());
            for (k, val) in &entries {
                let Value::String(key) = k else {
                    return Err(PsError::new(
                        format!(
                            "The type '{}' is not supported for serialization or deserialization of a dictionary. Keys must be strings.",
                            v.type_name()
                        ),
                        "NonStringKeyInDictionary,Microsoft.PowerShell.Commands.ConvertToJsonCommand",
                    )
                    .with_category(ErrorCategory::InvalidOperation)
                    .with_exception(exception::INVALID_OPERATION));
                };
                out.push((key.to_string(), to_json(it, val, depth + 1, max_depth)?));
            }
            Json::Object(out)
        }
        Value::ScriptBlock(sb) => Json::String(sb.text()),
        Value::Type(t) => Json::String(t.full_name.clone()),
        Value::Encoding(_) => Json::String(v.type_name()),
        Value::SecureString(s) => Json::Object(vec![(
            "Length".into(),
            Json::Number(s.chars().count().to_string()),
        )]),
        other => {
            let props = it.properties_of(other);
            let mut out = Vec::with_capacity(props.len());
            for (name, val) in &props {
                out.push((name.clone(), to_json(it, val, depth + 1, max_depth)?));
            }
            Json::Object(out)
        }
    })
}

/// .NET `JavaScriptSerializer` string quoting.
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\'' | '<' | '>' | '&' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(j: &Json, out: &mut String) {
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => quote(s, out),
        Json::Date(ms) => out.push_str(&format!("\"\\/Date({ms})\\/\"")),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Json::Object(props) => {
            out.push('{');
            for (i, (k, v)) in props.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote(k, out);
                out.push(':');
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

/// The compact text, as `JavaScriptSerializer` writes it.
pub(crate) fn write_compact(j: &Json) -> String {
    let mut out = String::new();
    write_json(j, &mut out);
    out
}

/// Windows PowerShell 5.1's re-indentation of compact JSON.
pub(crate) fn pretty(json: &str) -> String {
    let chars: Vec<char> = json.chars().collect();
    let mut out = String::with_capacity(json.len() * 2);
    match chars.first() {
        Some('{') => {
            out.push('{');
            dictionary(&chars, 1, &mut out, "", 0);
        }
        Some('[') => {
            out.push('[');
            list(&chars, 1, &mut out, "", 0);
        }
        _ => return json.to_owned(),
    }
    out
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// Copies a quoted string starting after its opening quote; returns the
/// index of the closing quote.
fn quoted(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start;
    while i < chars.len() {
        out.push(chars[i]);
        if chars[i] == '"' {
            let mut backslashes = 0;
            let mut j = i;
            while j > 0 && chars[j - 1] == '\\' {
                backslashes += 1;
                j -= 1;
            }
            if backslashes % 2 == 0 {
                return i;
            }
        }
        i += 1;
    }
    chars.len()
}

/// `{ ... }` after its `{`; `pad` + `indent` is where its closing brace
/// goes.
fn dictionary(chars: &[char], start: usize, out: &mut String, pad: &str, indent: usize) -> usize {
    out.push_str("\r\n");
    let new_pad = format!("{pad}{}    ", spaces(indent));
    let mut at_line_start = true;
    let mut key_width = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '{' => {
                out.push('{');
                i = dictionary(chars, i + 1, out, &new_pad, key_width + 3);
            }
            '[' => {
                out.push('[');
                i = list(chars, i + 1, out, &new_pad, key_width + 3);
            }
            '}' => {
                out.push_str("\r\n");
                out.push_str(pad);
                out.push_str(&spaces(indent));
                out.push('}');
                return i;
            }
            '"' => {
                let is_key = at_line_start;
                if at_line_start {
                    out.push_str(&new_pad);
                }
                let open = i;
                out.push('"');
                i = quoted(chars, i + 1, out);
                if is_key {
                    // The quoted key, quotes included, as copied.
                    key_width = i.min(chars.len() - 1) - open + 1;
                }
                at_line_start = false;
            }
            ':' => out.push_str(":  "),
            ',' => {
                out.push_str(",\r\n");
                at_line_start = true;
            }
            c => {
                if at_line_start {
                    out.push_str(&new_pad);
                    at_line_start = false;
                }
                out.push(c);
            }
        }
        i += 1;
    }
    chars.len()
}

/// `[ ... ]` after its `[`.
fn list(chars: &[char], start: usize, out: &mut String, pad: &str, indent: usize) -> usize {
    out.push_str("\r\n");
    let new_pad = format!("{pad}{}    ", spaces(indent));
    let mut at_line_start = true;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '{' => {
                out.push_str(&new_pad);
                out.push('{');
                i = dictionary(chars, i + 1, out, &new_pad, 0);
                at_line_start = false;
            }
            '[' => {
                out.push_str(&new_pad);
                out.push('[');
                i = list(chars, i + 1, out, &new_pad, 0);
                at_line_start = false;
            }
            ']' => {
                out.push_str("\r\n");
                out.push_str(pad);
                out.push_str(&spaces(indent));
                out.push(']');
                return i;
            }
            '"' => {
                if at_line_start {
                    out.push_str(&new_pad);
                }
                out.push('"');
                i = quoted(chars, i + 1, out);
                at_line_start = false;
            }
            ',' => {
                out.push_str(",\r\n");
                at_line_start = true;
            }
            c => {
                if at_line_start {
                    out.push_str(&new_pad);
                    at_line_start = false;
                }
                out.push(c);
            }
        }
        i += 1;
    }
    chars.len()
}

fn convert_from_json(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let mut texts = Vec::with_capacity(items.len());
    for item in &items {
        for v in if item.is_enumerable() {
            item.enumerate()
        } else {
            vec![item.clone()]
        } {
            texts.push(convert::to_text(&v, it));
        }
    }
    // 5.1 joins piped lines before parsing, so `Get-Content f | ConvertFrom-Json` works.
    let text = texts.join("\n");
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut parser = JsonParser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let value = parser.document().map_err(|message| {
        Flow::statement(
            it.locate(
                PsError::new(
                    message,
                    "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand",
                )
                .with_exception(exception::ARGUMENT)
                .with_category(ErrorCategory::NotSpecified)
                .with_command(cx.name.clone()),
                cx.span,
            ),
        )
    })?;
    Ok(vec![value])
}

/// A JSON reader with `JavaScriptSerializer`'s typing: integers as
/// `Int32`/`Int64`, other numbers as `Decimal`, `"\/Date(ms)\/"` as a
/// `DateTime`.
struct JsonParser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl JsonParser {
    fn document(&mut self) -> Result<Value, String> {
        let v = self.value()?;
        self.skip_ws();
        if self.pos < self.chars.len() {
            return Err(self.invalid());
        }
        Ok(v)
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn invalid(&self) -> String {
        let rest: String = self.chars[self.pos.min(self.chars.len())..]
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '}' | ']'))
            .collect();
        format!("Invalid JSON primitive: {rest}.")
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        let Some(&c) = self.chars.get(self.pos) else {
            return Err("Invalid JSON primitive: .".into());
        };
        match c {
            '{' => self.object(),
            '[' => self.array(),
            '"' | '\'' => {
                let raw = self.string(c)?;
                Ok(raw)
            }
            _ => {
                let start = self.pos;
                while self.pos < self.chars.len()
                    && !self.chars[self.pos].is_whitespace()
                    && !matches!(self.chars[self.pos], ',' | '}' | ']')
                {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "null" => Ok(Value::Null),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => number(&word).ok_or_else(|| format!("Invalid JSON primitive: {word}.")),
                }
            }
        }
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > 100 {
            return Err("RecursionLimit exceeded.".into());
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, String> {
        self.nest()?;
        self.pos += 1;
        let mut props: Vec<(String, Value)> = Vec::new();
        loop {
            self.skip_ws();
            match self.chars.get(self.pos) {
                Some('}') => {
                    self.pos += 1;
                    break;
                }
                Some(&q @ ('"' | '\'')) => {
                    let key = match self.string(q)? {
                        Value::String(s) => s.to_string(),
                        other => convert::scalar_text(&other),
                    };
                    self.skip_ws();
                    if self.chars.get(self.pos) != Some(&':') {
                        return Err(self.invalid());
                    }
                    self.pos += 1;
                    let v = self.value()?;
                    if key.is_empty() {
                        return Err("Cannot convert the JSON string because a dictionary that was converted from the string contains the empty key.".into());
                    }
                    if props.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key)) {
                        return Err(format!(
                            "Cannot convert the JSON string because a dictionary that was converted from the string contains the duplicated keys '{key}'."
                        ));
                    }
                    props.push((key, v));
                    self.skip_ws();
                    match self.chars.get(self.pos) {
                        Some(',') => self.pos += 1,
                        Some('}') => {}
                        _ => return Err(self.invalid()),
                    }
                }
                _ => return Err(self.invalid()),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(Shared::new(ObjectData::custom(props))))
    }

    fn array(&mut self) -> Result<Value, String> {
        self.nest()?;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.chars.get(self.pos) == Some(&']') {
                self.pos += 1;
                break;
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.chars.get(self.pos) {
                Some(',') => self.pos += 1,
                Some(']') => {}
                _ => return Err(self.invalid()),
            }
        }
        self.depth -= 1;
        Ok(Value::array(items))
    }

    fn string(&mut self, quote: char) -> Result<Value, String> {
        self.pos += 1;
        let mut s = String::new();
        let mut escaped_slash_date = false;
        loop {
            let Some(&c) = self.chars.get(self.pos) else {
                return Err("Invalid string: unterminated.".into());
            };
            self.pos += 1;
            match c {
                c if c == quote => break,
                '\\' => {
                    let Some(&e) = self.chars.get(self.pos) else {
                        return Err("Invalid string: unterminated.".into());
                    };
                    self.pos += 1;
                    match e {
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'u' => {
                            let hex: String = self
                                .chars
                                .get(self.pos..self.pos + 4)
                                .unwrap_or(&[])
                                .iter()
                                .collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .map_err(|_| "Invalid JSON primitive: \\u.".to_owned())?;
                            self.pos += 4;
                            // Surrogate pairs.
                            if (0xD800..0xDC00).contains(&code)
                                && self.chars.get(self.pos) == Some(&'\\')
                                && self.chars.get(self.pos + 1) == Some(&'u')
                            {
                                let low: String = self
                                    .chars
                                    .get(self.pos + 2..self.pos + 6)
                                    .unwrap_or(&[])
                                    .iter()
                                    .collect();
                                if let Ok(low) = u32::from_str_radix(&low, 16)
                                    && (0xDC00..0xE000).contains(&low)
                                {
                                    self.pos += 6;
                                    let combined =
                                        0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                    s.push(char::from_u32(combined).unwrap_or('\u{FFFD}'));
                                    continue;
                                }
                            }
                            s.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        '/' => {
                            if s.is_empty() {
                                escaped_slash_date = true;
                            }
                            s.push('/');
                        }
                        other => s.push(other),
                    }
                }
                c => s.push(c),
            }
        }
        if escaped_slash_date
            && let Some(inner) = s.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/"))
        {
            // `\/Date(ms[+zone])\/`: the zone suffix does not change the instant.
            let digits: String = inner
                .char_indices()
                .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
                .map(|(_, c)| c)
                .collect();
            if let Some(ts) = digits
                .parse::<i64>()
                .ok()
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            {
                return Ok(Value::DateTime(DateTime {
                    instant: ts,
                    kind: DateKind::Utc,
                }));
            }
        }
        Ok(Value::from(s))
    }
}

fn number(word: &str) -> Option<Value> {
    if word.is_empty() {
        return None;
    }
    let valid = word
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if !valid {
        return None;
    }
    if let Ok(n) = word.parse::<i32>() {
        return Some(Value::Int(n));
    }
    if let Ok(n) = word.parse::<i64>() {
        return Some(Value::Long(n));
    }
    word.parse::<f64>().ok().map(Value::Decimal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_matches_powershell_5_1() {
        assert_eq!(
            pretty(r#"{"a":{"b":{"c":"x"}}}"#),
            "{\r\n    \"a\":  {\r\n              \"b\":  {\r\n                        \"c\":  \"x\"\r\n                    }\r\n          }\r\n}"
        );
        assert_eq!(pretty("[1,2]"), "[\r\n    1,\r\n    2\r\n]");
        assert_eq!(pretty("{}"), "{\r\n\r\n}");
        assert_eq!(
            pretty(r#"{"fruits":["apple","banana"]}"#),
            "{\r\n    \"fruits\":  [\r\n                   \"apple\",\r\n                   \"banana\"\r\n               ]\r\n}"
        );
        assert_eq!(
            pretty(r#"[{"a":1},{"a":2}]"#),
            "[\r\n    {\r\n        \"a\":  1\r\n    },\r\n    {\r\n        \"a\":  2\r\n    }\r\n]"
        );
        assert_eq!(pretty("5"), "5");
        assert_eq!(pretty("\"x\""), "\"x\"");
    }

    #[test]
    fn quoting_like_javascript_serializer() {
        let mut s = String::new();
        quote("<a href='x'>&\"\\\n\u{1}", &mut s);
        assert_eq!(
            s,
            "\"\\u003ca href=\\u0027x\\u0027\\u003e\\u0026\\\"\\\\\\n\\u0001\""
        );
    }

    #[test]
    fn numbers_parse_with_serializer_types() {
        assert!(matches!(number("5"), Some(Value::Int(5))));
        assert!(matches!(number("5000000000"), Some(Value::Long(_))));
        assert!(matches!(number("1.5"), Some(Value::Decimal(_))));
        assert!(number("abc").is_none());
    }
}
