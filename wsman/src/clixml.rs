//! PowerShell's CLIXML, as `powershell.exe` writes its error, warning,
//! verbose and progress streams to a redirected stderr:
//! `#< CLIXML` on one line, then an `<Objs>` document.
//!
//! Strings in CLIXML escape characters XML cannot carry as `_xHHHH_` (UTF-16
//! code units, so characters outside the BMP become two escapes) and a
//! literal `_x` as `_x005F_x`. The decoder here never panics; the
//! convenience [`decode_errors`] falls back to the raw text for anything
//! that is not (well-formed) CLIXML, so no diagnostic is ever lost.

use crate::error::{Error, Result};
use crate::soap::{Element, Limits};

/// The line that introduces a CLIXML document on stderr.
pub const MARKER: &str = "#< CLIXML";
/// The namespace of `<Objs>`.
pub const NAMESPACE: &str = "http://schemas.microsoft.com/powershell/2004/04";

/// ErrorRecords nest exceptions several levels deep; 64 is ample.
const MAX_DEPTH: usize = 64;
/// A child powershell's CLIXML can come back wrapped in the parent's; stop
/// unwrapping at a depth no real pipeline reaches.
const MAX_NESTING: usize = 4;

/// The PowerShell stream a record was written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClixmlStream {
    /// `Write-Error`, `throw`, native stderr.
    Error,
    /// `Write-Warning`.
    Warning,
    /// `Write-Verbose`.
    Verbose,
    /// `Write-Debug`.
    Debug,
    /// `Write-Information` / `Write-Host`.
    Information,
    /// Progress records (module loading noise, `Write-Progress`).
    Progress,
    /// A string with no stream tag.
    Output,
    /// Any other tag, as written.
    Other(String),
}

impl ClixmlStream {
    fn from_tag(tag: Option<&str>) -> Self {
        let Some(tag) = tag else {
            return ClixmlStream::Output;
        };
        match tag.to_ascii_lowercase().as_str() {
            "error" => ClixmlStream::Error,
            "warning" => ClixmlStream::Warning,
            "verbose" => ClixmlStream::Verbose,
            "debug" => ClixmlStream::Debug,
            "information" => ClixmlStream::Information,
            "progress" => ClixmlStream::Progress,
            _ => ClixmlStream::Other(tag.to_string()),
        }
    }

    /// The `S` attribute PowerShell writes for this stream.
    fn tag(&self) -> Option<&str> {
        match self {
            ClixmlStream::Error => Some("Error"),
            ClixmlStream::Warning => Some("warning"),
            ClixmlStream::Verbose => Some("verbose"),
            ClixmlStream::Debug => Some("debug"),
            ClixmlStream::Information => Some("information"),
            ClixmlStream::Progress => Some("progress"),
            ClixmlStream::Output => None,
            ClixmlStream::Other(tag) => Some(tag),
        }
    }
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The stream it belongs to.
    pub stream: ClixmlStream,
    /// Its text with `_xHHHH_` escapes decoded. Error lines keep the CR LF
    /// PowerShell ends them with.
    pub text: String,
}

/// True if `text` starts (after a BOM or whitespace) with the CLIXML marker.
pub fn is_clixml(text: &str) -> bool {
    text.trim_start_matches(['\u{FEFF}', ' ', '\t', '\r', '\n'])
        .starts_with(MARKER)
}

/// Decodes every record of every CLIXML document in `text`. Plain text
/// between documents comes back as [`ClixmlStream::Output`] records.
pub fn parse(text: &str) -> Result<Vec<Record>> {
    if !is_clixml(text) {
        return Err(Error::Clixml {
            detail: format!("it does not start with {MARKER:?}"),
        });
    }
    let mut records = Vec::new();
    // Split by hand rather than on every marker: a nested document's marker
    // appears literally inside the outer document's strings, while a real
    // `</Objs>` end tag cannot (it would be escaped as text).
    let mut rest = text;
    while let Some(start) = rest.find(MARKER) {
        let before = &rest[..start];
        if !before
            .trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
            .is_empty()
        {
            records.push(Record {
                stream: ClixmlStream::Output,
                text: before.to_string(),
            });
        }
        let segment = rest[start + MARKER.len()..].trim_start_matches(['\r', '\n', ' ', '\t']);
        let end = segment
            .find("</Objs>")
            .map(|i| i + "</Objs>".len())
            .ok_or_else(|| Error::Clixml {
                detail: "the <Objs> document is not closed (truncated?)".to_string(),
            })?;
        let (doc, after) = segment.split_at(end);
        records.extend(parse_document(doc)?);
        rest = after;
    }
    if !rest.trim().is_empty() {
        records.push(Record {
            stream: ClixmlStream::Output,
            text: rest.to_string(),
        });
    }
    Ok(records)
}

fn parse_document(doc: &str) -> Result<Vec<Record>> {
    let limits = Limits {
        max_bytes: usize::MAX,
        max_depth: MAX_DEPTH,
    };
    let root = crate::soap::tree_parse(doc.as_bytes(), &limits).map_err(|e| Error::Clixml {
        detail: e.to_string(),
    })?;
    if root.name != "Objs" {
        return Err(Error::Clixml {
            detail: format!(
                "the root element is <{}>, not <Objs>",
                crate::error::shorten(&root.name, crate::error::MAX_DETAIL_CHARS)
            ),
        });
    }
    Ok(root.children.iter().filter_map(record_of).collect())
}

fn record_of(el: &Element) -> Option<Record> {
    let stream = ClixmlStream::from_tag(el.attr("S"));
    match el.name.as_str() {
        "S" => Some(Record {
            stream,
            text: decode_escapes(&el.text),
        }),
        "Obj" => {
            let text = if stream == ClixmlStream::Progress {
                // The activity text of a ProgressRecord.
                el.children
                    .iter()
                    .find(|c| c.name == "MS")
                    .and_then(|ms| ms.children.iter().find(|c| c.name == "PR"))
                    .and_then(|pr| pr.children.iter().find(|c| c.name == "AV"))
                    .map(|av| decode_escapes(&av.text))
                    .unwrap_or_default()
            } else {
                el.children
                    .iter()
                    .find(|c| c.name == "ToString")
                    .map(|t| decode_escapes(&t.text))?
            };
            Some(Record { stream, text })
        }
        _ => None,
    }
}

/// The error stream of `text` as readable lines: the Error records joined,
/// CR LF turned into LF, trailing blank lines dropped. Returns `text`
/// unchanged when it is not CLIXML or does not decode.
pub fn decode_errors(text: &str) -> String {
    decode_errors_nested(text, 0)
}

fn decode_errors_nested(text: &str, depth: usize) -> String {
    let Ok(records) = parse(text) else {
        return text.to_string();
    };
    let mut joined = String::new();
    for r in records {
        if matches!(r.stream, ClixmlStream::Error | ClixmlStream::Output) {
            joined.push_str(&r.text);
        }
    }
    // A child powershell's CLIXML on its stderr reaches us re-wrapped as the
    // parent's error lines; unwrap it too.
    if is_clixml(&joined) && depth < MAX_NESTING {
        joined = decode_errors_nested(&joined, depth + 1);
    }
    joined.replace("\r\n", "\n").trim_end().to_string()
}

/// Decodes `_xHHHH_` (UTF-16 code unit) and `_xHHHHHHHH_` (code point)
/// escapes. Surrogate pairs are joined; lone surrogates and invalid code
/// points become U+FFFD; anything that only looks like an escape is kept.
pub fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut high: Option<u16> = None;
    let flush = |out: &mut String, high: &mut Option<u16>| {
        if high.take().is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    };
    let mut i = 0;
    while i < s.len() {
        match escape_at(&s.as_bytes()[i..]) {
            Some((Escape::Unit(u), len)) => {
                match u {
                    0xD800..=0xDBFF => {
                        flush(&mut out, &mut high);
                        high = Some(u);
                    }
                    0xDC00..=0xDFFF => match high.take() {
                        Some(h) => {
                            let cp =
                                0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                            out.push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                        }
                        None => out.push(char::REPLACEMENT_CHARACTER),
                    },
                    _ => {
                        flush(&mut out, &mut high);
                        out.push(
                            char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER),
                        );
                    }
                }
                i += len;
            }
            Some((Escape::Scalar(cp), len)) => {
                flush(&mut out, &mut high);
                out.push(char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER));
                i += len;
            }
            None => {
                flush(&mut out, &mut high);
                // `i` only ever advances by whole escapes (ASCII) or whole chars.
                let Some(ch) = s[i..].chars().next() else {
                    break;
                };
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    flush(&mut out, &mut high);
    out
}

enum Escape {
    Unit(u16),
    Scalar(u32),
}

fn escape_at(b: &[u8]) -> Option<(Escape, usize)> {
    if !b.starts_with(b"_x") {
        return None;
    }
    let hex_run = b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let parse = |digits: usize| -> Option<u32> {
        let text = std::str::from_utf8(&b[2..2 + digits]).ok()?;
        u32::from_str_radix(text, 16).ok()
    };
    if hex_run >= 8 && b.get(10) == Some(&b'_') {
        return parse(8).map(|cp| (Escape::Scalar(cp), 11));
    }
    if hex_run >= 4 && b.get(6) == Some(&b'_') {
        return parse(4)
            .and_then(|u| u16::try_from(u).ok())
            .map(|u| (Escape::Unit(u), 7));
    }
    None
}

/// Escapes a string the way PowerShell's serializer does: control
/// characters (C0 and C1), surrogate halves (so non-BMP characters become a
/// pair of escapes), U+FFFE/U+FFFF, and `_` before `x`/`X`.
pub fn encode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let needs = matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
            || (c == '_' && matches!(chars.peek(), Some('x' | 'X')));
        if needs {
            out.push_str(&format!("_x{:04X}_", u32::from(c)));
        } else if u32::from(c) > 0xFFFF {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("_x{unit:04X}_"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes records as PowerShell does on stderr: the marker line, then one
/// `<Objs>` document.
pub fn encode(records: &[Record]) -> String {
    let mut out = format!("{MARKER}\r\n<Objs Version=\"1.1.0.1\" xmlns=\"{NAMESPACE}\">");
    for (ref_id, r) in records.iter().enumerate() {
        let text = xml_escape(&encode_escapes(&r.text));
        match (&r.stream, r.stream.tag()) {
            (ClixmlStream::Progress, _) => out.push_str(&format!(
                "<Obj S=\"progress\" RefId=\"{ref_id}\"><TN RefId=\"{ref_id}\">\
                 <T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN>\
                 <MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>{text}</AV><AI>0</AI>\
                 <Nil /><PI>-1</PI><PC>-1</PC><T>Processing</T><SR>-1</SR><SD> </SD></PR>\
                 </MS></Obj>"
            )),
            (_, Some(tag)) => {
                out.push_str(&format!("<S S=\"{}\">{text}</S>", xml_escape_attr(tag)));
            }
            (_, None) => out.push_str(&format!("<S>{text}</S>")),
        }
    }
    out.push_str("</Objs>");
    out
}

/// An error message as PowerShell writes it to stderr: one Error record per
/// line, each ending in CR LF.
pub fn encode_error(message: &str) -> String {
    let records: Vec<Record> = message
        .lines()
        .map(|line| Record {
            stream: ClixmlStream::Error,
            text: format!("{line}\r\n"),
        })
        .collect();
    encode(&records)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_escape_attr(s: &str) -> String {
    xml_escape(s).replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Write-Error "Error"` in Windows PowerShell 5.1, wrapped at console width.
    const WRITE_ERROR: &str = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">Write-Error \"Error\" : Error_x000D__x000A_</S><S S=\"Error\">    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorExcep _x000D__x000A_</S><S S=\"Error\">   tion_x000D__x000A_</S><S S=\"Error\">    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorExceptio _x000D__x000A_</S><S S=\"Error\">   n_x000D__x000A_</S><S S=\"Error\"> _x000D__x000A_</S></Objs>";

    /// `throw "VM 'web-01' not found"` after a module import that printed progress.
    const THROW_WITH_PROGRESS: &str = "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj><S S=\"Error\">VM 'web-01' not found_x000D__x000A_</S><S S=\"Error\">At line:1 char:1_x000D__x000A_</S><S S=\"Error\">+ throw \"VM 'web-01' not found\"_x000D__x000A_</S><S S=\"Error\">+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~_x000D__x000A_</S><S S=\"Error\">    + CategoryInfo          : OperationStopped: (VM 'web-01' not found:String) [], RuntimeException_x000D__x000A_</S><S S=\"Error\">    + FullyQualifiedErrorId : VM 'web-01' not found_x000D__x000A_</S><S S=\"Error\"> _x000D__x000A_</S><S S=\"warning\">deprecated_x000D__x000A_</S></Objs>";

    #[test]
    fn write_error_becomes_readable_lines() {
        let text = decode_errors(WRITE_ERROR);
        assert_eq!(
            text,
            "Write-Error \"Error\" : Error\n    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorExcep \n   tion\n    + FullyQualifiedErrorId : Microsoft.PowerShell.Commands.WriteErrorExceptio \n   n"
        );
    }

    #[test]
    fn throw_skips_progress_and_warnings() {
        let text = decode_errors(THROW_WITH_PROGRESS);
        assert!(
            text.starts_with("VM 'web-01' not found\nAt line:1 char:1\n"),
            "{text}"
        );
        assert!(!text.contains("Preparing modules"));
        assert!(!text.contains("deprecated"));
        let records = parse(THROW_WITH_PROGRESS).unwrap();
        assert_eq!(records[0].stream, ClixmlStream::Progress);
        assert_eq!(records[0].text, "Preparing modules for first use.");
        assert_eq!(records.last().unwrap().stream, ClixmlStream::Warning);
    }

    #[test]
    fn escapes_decode_including_surrogates_and_underscore() {
        assert_eq!(decode_escapes("a_x000D__x000A_b"), "a\r\nb");
        assert_eq!(decode_escapes("_xD83D__xDE00_"), "\u{1F600}");
        assert_eq!(decode_escapes("_x0001F600_"), "\u{1F600}");
        assert_eq!(decode_escapes("my_x005F_xvar"), "my_xvar");
        assert_eq!(decode_escapes("_xD83D_x"), "\u{FFFD}x");
        assert_eq!(decode_escapes("_xDE00_"), "\u{FFFD}");
        assert_eq!(decode_escapes("_xZZZZ_ _x12_ _x"), "_xZZZZ_ _x12_ _x");
        assert_eq!(decode_escapes("_x001B_[0m_x0009__x0000_"), "\u{1B}[0m\t\0");
    }

    #[test]
    fn encoder_matches_powershell_rules() {
        assert_eq!(encode_escapes("a\r\nb"), "a_x000D__x000A_b");
        assert_eq!(encode_escapes("\u{1F600}"), "_xD83D__xDE00_");
        assert_eq!(encode_escapes("my_xvar my_y"), "my_x005F_xvar my_y");
        for s in ["plain", "é ü ✓ 日本", "_x0041_", "tab\there", "\u{1F600}_X"] {
            assert_eq!(decode_escapes(&encode_escapes(s)), s);
        }
    }

    #[test]
    fn encode_error_round_trips() {
        let msg = "Get-SCVirtualMachine : VM <web&01> \"not\" found\r\nAt line:1 ✓ \u{1F600}";
        let clixml = encode_error(msg);
        assert!(clixml.starts_with("#< CLIXML\r\n<Objs "));
        assert_eq!(decode_errors(&clixml), msg.replace("\r\n", "\n"));
    }

    #[test]
    fn bom_and_text_around_documents() {
        let doc = encode_error("boom");
        assert_eq!(decode_errors(&format!("\u{FEFF}{doc}")), "boom");
        let mixed = format!("{doc}native stderr line\r\n{doc}");
        assert_eq!(decode_errors(&mixed), "boom\nnative stderr line\nboom");
    }

    #[test]
    fn nested_clixml_is_unwrapped() {
        let inner = encode_error("inner failure");
        let outer = encode_error(&inner);
        assert_eq!(decode_errors(&outer), "inner failure");
    }

    #[test]
    fn malformed_or_plain_input_comes_back_raw() {
        for raw in [
            "plain stderr\r\n",
            "#< CLIXML\r\n<Objs><S S=\"Error\">trunc",
            "#< CLIXML\r\n<Objs><S S=\"Error\">x</T></Objs>",
            "#< CLIXML\r\n",
            "#< CLIXML\r\n<Other/></Objs>",
            "",
        ] {
            assert_eq!(decode_errors(raw), raw);
        }
    }

    #[test]
    fn marker_and_document_may_arrive_separately() {
        // The marker and the document come in separate Stream elements; once
        // the collector has joined the bytes, the text decodes as one.
        let joined = format!(
            "{}{}",
            "#< CLIXML\r\n",
            &WRITE_ERROR["#< CLIXML\r\n".len()..]
        );
        assert!(decode_errors(&joined).starts_with("Write-Error"));
    }
}
