//! A bounded, namespace-resolved element tree read with quick-xml's `NsReader`.
//!
//! Envelopes are small and their children arrive in any order, with unknown
//! extras, so typed extraction from a tree is simpler and more tolerant than a
//! streaming state machine. Names are resolved to (namespace URI, local name)
//! here, once, so nothing downstream ever looks at a prefix.
//!
//! Namespace URIs are shared between the elements that use them: copied
//! into each, a long `xmlns` over many small elements made the tree grow
//! with the square of the input (found by the envelope fuzz target: 33 KB
//! of XML took 5 MB, a 512 KiB envelope could have asked for gigabytes).

use std::collections::HashSet;
use std::rc::Rc;

use quick_xml::NsReader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::error::{Error, Result};

/// Bounds applied before and during parsing, so a hostile or broken peer
/// cannot make us allocate without limit or recurse deeply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in bytes, that is parsed at all.
    pub max_bytes: usize,
    /// Deepest element nesting accepted.
    pub max_depth: usize,
}

impl Limits {
    /// Windows' default `MaxEnvelopeSizekb` is 500 KiB; a little over that
    /// leaves room for peers configured near the default.
    pub const DEFAULT_MAX_BYTES: usize = 512 * 1024;
    /// SOAP envelopes nest about eight deep; 32 leaves room for extensions.
    pub const DEFAULT_MAX_DEPTH: usize = 32;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }
}

/// An attribute with its resolved namespace (None when unprefixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub(crate) ns: Option<Rc<str>>,
    pub(crate) name: String,
    pub(crate) value: String,
}

/// An element; `text` is all character data directly inside it (text, CDATA
/// and references, concatenated), which is all WS-Management ever needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub(crate) ns: Option<Rc<str>>,
    pub(crate) name: String,
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

impl Element {
    pub(crate) fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    pub(crate) fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// First element in document order (self included) with this name.
    pub(crate) fn descendant(&self, ns: &str, name: &str) -> Option<&Element> {
        if self.is(ns, name) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.descendant(ns, name))
    }

    /// All elements (self included) with this name, in document order.
    pub(crate) fn descendants<'a>(&'a self, ns: &str, name: &str, out: &mut Vec<&'a Element>) {
        if self.is(ns, name) {
            out.push(self);
        }
        for c in &self.children {
            c.descendants(ns, name, out);
        }
    }

    /// An attribute by local name. Attributes on these elements are unqualified,
    /// but clients disagree about prefixing some (`mustUnderstand`), so the
    /// namespace is deliberately not checked.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Text with surrounding XML whitespace removed, for identifiers and URIs
    /// that some peers pretty-print.
    pub(crate) fn trimmed(&self) -> &str {
        self.text.trim_matches(is_xml_space)
    }

    pub(crate) fn child_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.child(ns, name).map(Element::trimmed)
    }
}

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Checks the size, decodes UTF-8 (tolerating a BOM) and builds the tree.
pub(crate) fn parse(input: &[u8], limits: &Limits) -> Result<Element> {
    if input.len() > limits.max_bytes {
        return Err(Error::EnvelopeTooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        Error::xml(format!(
            "not UTF-8 at byte {}; WinRM messages must be sent with charset=UTF-8",
            e.valid_up_to()
        ))
    })?;
    parse_str(text, limits.max_depth)
}

/// Parses and checks that the root is a SOAP 1.2 Envelope.
pub(crate) fn parse_envelope(xml: &[u8], limits: &Limits) -> Result<Element> {
    let root = parse(xml, limits)?;
    if !root.is(super::ns::SOAP, "Envelope") {
        return Err(Error::xml(format!(
            "the root element is {{{}}}{}, not a SOAP 1.2 Envelope",
            root.ns.as_deref().unwrap_or(""),
            root.name
        )));
    }
    Ok(root)
}

/// Longest namespace URI accepted. WS-Management's are under 100 bytes;
/// the bound keeps interning (which hashes each element's URI) linear.
const MAX_NAMESPACE_LEN: usize = 2048;

/// The namespace URIs of one document, each stored once and shared by the
/// elements and attributes in it.
#[derive(Default)]
struct Namespaces(HashSet<Rc<str>>);

impl Namespaces {
    fn intern(&mut self, uri: &[u8]) -> Result<Rc<str>> {
        if uri.len() > MAX_NAMESPACE_LEN {
            return Err(Error::xml(format!(
                "a namespace URI is {} bytes long, over the {MAX_NAMESPACE_LEN}-byte limit",
                uri.len()
            )));
        }
        let text = String::from_utf8_lossy(uri);
        if let Some(shared) = self.0.get(text.as_ref()) {
            return Ok(shared.clone());
        }
        let shared: Rc<str> = Rc::from(text.as_ref());
        self.0.insert(shared.clone());
        Ok(shared)
    }
}

fn parse_str(text: &str, max_depth: usize) -> Result<Element> {
    let mut reader = NsReader::from_str(text);
    let mut namespaces = Namespaces::default();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(e) => {
                return Err(Error::xml(format!(
                    "{e} at byte {}",
                    reader.error_position()
                )));
            }
        };
        let ns = match &event {
            Event::Start(start) | Event::Empty(start) => {
                resolved_ns(&mut namespaces, resolved, start)?
            }
            _ => None,
        };
        match event {
            Event::Start(start) => {
                let el = new_element(&reader, &mut namespaces, ns, &start)?;
                stack.push(el);
                if stack.len() > max_depth {
                    return Err(Error::TooDeep { limit: max_depth });
                }
            }
            Event::Empty(start) => {
                if stack.len() + 1 > max_depth {
                    return Err(Error::TooDeep { limit: max_depth });
                }
                let el = new_element(&reader, &mut namespaces, ns, &start)?;
                attach(&mut stack, &mut root, el)?;
            }
            Event::End(_) => match stack.pop() {
                Some(el) => attach(&mut stack, &mut root, el)?,
                None => return Err(Error::xml("closing tag without an opening tag")),
            },
            Event::Text(t) => {
                let content = t.xml10_content().map_err(Error::xml)?;
                push_text(&mut stack, &content)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content().map_err(Error::xml)?;
                push_text(&mut stack, &content)?;
            }
            Event::GeneralRef(r) => {
                let resolved_char = r.resolve_char_ref().map_err(Error::xml)?;
                let name = r.decode().map_err(Error::xml)?;
                let value = match resolved_char {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&name)
                        .ok_or_else(|| Error::xml(format!("unknown entity &{name};")))?
                        .to_string(),
                };
                push_text(&mut stack, &value)?;
            }
            // SOAP forbids DTDs, and refusing them rules out entity tricks.
            Event::DocType(_) => return Err(Error::xml("a DOCTYPE is not allowed in SOAP")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(Error::xml(
            "the document ends inside an element (truncated?)",
        ));
    }
    root.ok_or_else(|| Error::xml("the document has no root element"))
}

fn resolved_ns(
    namespaces: &mut Namespaces,
    resolved: ResolveResult<'_>,
    start: &BytesStart<'_>,
) -> Result<Option<Rc<str>>> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(Some(namespaces.intern(ns.0)?)),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(Error::xml(format!(
            "element <{}> uses the undeclared prefix {:?}",
            String::from_utf8_lossy(start.name().0),
            String::from_utf8_lossy(&prefix)
        ))),
    }
}

fn new_element(
    reader: &NsReader<&[u8]>,
    namespaces: &mut Namespaces,
    ns: Option<Rc<str>>,
    start: &BytesStart<'_>,
) -> Result<Element> {
    let name = String::from_utf8_lossy(start.local_name().into_inner()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(Error::xml)?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = reader.resolve_attribute(attr.key);
        let attr_ns = match resolved {
            ResolveResult::Bound(ns) => Some(namespaces.intern(ns.0)?),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(Error::xml(format!(
                    "attribute uses the undeclared prefix {:?}",
                    String::from_utf8_lossy(&prefix)
                )));
            }
        };
        let value = attr.unescape_value().map_err(Error::xml)?.into_owned();
        attrs.push(Attribute {
            ns: attr_ns,
            name: String::from_utf8_lossy(local.into_inner()).into_owned(),
            value,
        });
    }
    Ok(Element {
        ns,
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) -> Result<()> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None if root.is_none() => *root = Some(el),
        None => return Err(Error::xml("more than one root element")),
    }
    Ok(())
}

fn push_text(stack: &mut [Element], content: &str) -> Result<()> {
    match stack.last_mut() {
        Some(top) => top.text.push_str(content),
        None if content.chars().all(is_xml_space) => {}
        None => return Err(Error::xml("text outside the root element")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(xml: &str) -> Element {
        parse(xml.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn resolves_prefixes_and_default_namespaces() {
        let a = parse_ok(r#"<e:Envelope xmlns:e="urn:x"><e:B k="1"/></e:Envelope>"#);
        let b = parse_ok(r#"<Envelope xmlns="urn:x"><B k="1"/></Envelope>"#);
        assert!(a.is("urn:x", "Envelope") && b.is("urn:x", "Envelope"));
        assert_eq!(a.child("urn:x", "B").unwrap().attr("k"), Some("1"));
        assert_eq!(b.child("urn:x", "B").unwrap().attr("k"), Some("1"));
    }

    #[test]
    fn joins_text_cdata_and_references() {
        let el = parse_ok("<a>x &amp; <![CDATA[<y>]]>&#x1F600;&#xD;\r\n</a>");
        assert_eq!(el.text, "x & <y>\u{1F600}\r\n");
    }

    #[test]
    fn enforces_limits_and_rejects_dtd() {
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(matches!(
            parse(deep.as_bytes(), &Limits::default()),
            Err(Error::TooDeep { limit: 32 })
        ));
        let limits = Limits {
            max_bytes: 10,
            max_depth: 4,
        };
        assert!(matches!(
            parse(b"<a>0123456789</a>", &limits),
            Err(Error::EnvelopeTooLarge {
                size: 17,
                limit: 10
            })
        ));
        let dtd = r#"<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>"#;
        assert!(matches!(
            parse(dtd.as_bytes(), &Limits::default()),
            Err(Error::Xml { .. })
        ));
    }

    #[test]
    fn a_long_namespace_is_stored_once() {
        // Regression (fuzz_envelope "amplification"): every element held its
        // own copy of the namespace URI.
        let uri = "u".repeat(2000);
        let xml = format!("<a xmlns=\"urn:{uri}\">{}</a>", "<b/>".repeat(1000));
        let root = parse_ok(&xml);
        let first = root.children[0].ns.clone().unwrap();
        assert!(
            root.children
                .iter()
                .all(|c| Rc::ptr_eq(c.ns.as_ref().unwrap(), &first))
        );
        let too_long = format!("<a xmlns=\"urn:{}\"/>", "u".repeat(MAX_NAMESPACE_LEN));
        assert!(matches!(
            parse(too_long.as_bytes(), &Limits::default()),
            Err(Error::Xml { .. })
        ));
    }

    #[test]
    fn rejects_truncated_and_undeclared() {
        for bad in ["<a><b></b>", "<p:a/>", "", "<a></b>", "<a/><b/>", "text"] {
            assert!(
                matches!(
                    parse(bad.as_bytes(), &Limits::default()),
                    Err(Error::Xml { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
