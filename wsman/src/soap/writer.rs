//! A small XML writer that owns the exact shape of every envelope we emit.
//!
//! quick-xml's writer escapes only markup characters; we also need to keep
//! carriage returns and attribute whitespace intact through XML's end-of-line
//! and attribute normalisation, and to refuse characters XML 1.0 cannot carry
//! at all. Doing it here keeps that logic in one place.

use crate::error::{Error, Result};

/// The namespace declarations every envelope carries, so any element below
/// can use the conventional Windows prefixes.
pub(crate) const ENVELOPE_NAMESPACES: &[(&str, &str)] = &[
    ("xmlns:s", super::ns::SOAP),
    ("xmlns:a", super::ns::ADDRESSING),
    ("xmlns:x", super::ns::TRANSFER),
    ("xmlns:w", super::ns::WSMAN),
    ("xmlns:p", super::ns::WSMV),
    ("xmlns:rsp", super::ns::SHELL),
];

/// Accumulates markup; the first unrepresentable character poisons the
/// writer so builders can stay linear and report once at [`XmlWriter::finish`].
#[derive(Debug, Default)]
pub(crate) struct XmlWriter {
    out: String,
    error: Option<Error>,
    lossy: bool,
}

impl XmlWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A writer that puts U+FFFD where a character XML cannot carry would
    /// go, instead of failing: for faults, which quote what a peer sent
    /// (a control character in a request once made the emulator answer
    /// with an empty HTTP 500, as the fault could not be written).
    pub(crate) fn lossy() -> Self {
        Self {
            lossy: true,
            ..Self::default()
        }
    }

    /// `<name a="v" ...>`; attribute values are escaped.
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag_start(name, attrs);
        self.out.push('>');
    }

    /// `<name a="v" .../>`.
    pub(crate) fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag_start(name, attrs);
        self.out.push_str("/>");
    }

    /// `</name>`.
    pub(crate) fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Escaped character data; `field` names the value in error messages.
    pub(crate) fn text(&mut self, field: &str, value: &str) {
        self.escape_into(field, value, false);
    }

    /// `<name attrs>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], value: &str) {
        self.open(name, attrs);
        self.text(name, value);
        self.close(name);
    }

    /// Hands back the document, or the first escaping error.
    pub(crate) fn finish(self) -> Result<String> {
        match self.error {
            Some(err) => Err(err),
            None => Ok(self.out),
        }
    }

    fn tag_start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.escape_into(key, value, true);
            self.out.push('"');
        }
    }

    fn escape_into(&mut self, field: &str, value: &str, attribute: bool) {
        for ch in value.chars() {
            match ch {
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '&' => self.out.push_str("&amp;"),
                '"' if attribute => self.out.push_str("&quot;"),
                // A literal CR would become LF under end-of-line normalisation,
                // and literal TAB/LF in an attribute would become spaces.
                '\r' => self.out.push_str("&#xD;"),
                '\n' if attribute => self.out.push_str("&#xA;"),
                '\t' if attribute => self.out.push_str("&#x9;"),
                c if is_xml_char(c) => self.out.push(c),
                _ if self.lossy => self.out.push(char::REPLACEMENT_CHARACTER),
                c => {
                    if self.error.is_none() {
                        self.error = Some(Error::UnrepresentableChar {
                            field: field.to_string(),
                            code: u32::from(c),
                        });
                    }
                }
            }
        }
    }
}

/// XML 1.0 `Char`: what may appear in a document, escaped or not.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Writes `<s:Envelope ...>` with all namespace declarations.
pub(crate) fn open_envelope(w: &mut XmlWriter) {
    let mut attrs: Vec<(&str, &str)> = vec![("xml:lang", "en-US")];
    attrs.extend_from_slice(ENVELOPE_NAMESPACES);
    w.open("s:Envelope", &attrs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_preserves_line_ends() {
        let mut w = XmlWriter::new();
        w.leaf("a", &[("k", "x\"<\t\n\r")], "<&>\"'\r\n");
        assert_eq!(
            w.finish().unwrap(),
            "<a k=\"x&quot;&lt;&#x9;&#xA;&#xD;\">&lt;&amp;&gt;\"'&#xD;\n</a>"
        );
    }

    #[test]
    fn refuses_control_characters() {
        let mut w = XmlWriter::new();
        w.leaf("rsp:Command", &[], "a\u{1}b");
        let err = w.finish().unwrap_err();
        assert!(
            matches!(err, Error::UnrepresentableChar { code: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("rsp:Command"));
    }

    #[test]
    fn a_lossy_writer_replaces_control_characters() {
        let mut w = XmlWriter::lossy();
        w.leaf("s:Text", &[("k", "\u{0}")], "a\u{1}b\u{FFFE}");
        assert_eq!(
            w.finish().unwrap(),
            "<s:Text k=\"\u{FFFD}\">a\u{FFFD}b\u{FFFD}</s:Text>"
        );
    }
}
