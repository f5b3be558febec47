//! The SOAP header: addressing, resource, timeouts, selectors and options.
//!
//! One struct serves requests and responses; which fields are set (and the
//! element order when written) is what differs.

use std::time::Duration;

use super::duration::{format_duration, parse_duration};
use super::ns;
use super::tree::Element;
use super::writer::XmlWriter;
use crate::error::{Error, Result};

/// MaxEnvelopeSize every known client sends, and Windows' own default.
pub const DEFAULT_MAX_ENVELOPE_SIZE: u32 = 153_600;
/// OperationTimeout we send by default: pywinrm's choice, short enough that a
/// silent command is polled again well before HTTP read timeouts.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Locale we send and report.
pub const DEFAULT_LOCALE: &str = "en-US";

/// A fresh `uuid:`-prefixed MessageID.
pub fn new_message_id() -> String {
    format!("uuid:{}", new_guid())
}

/// A fresh upper-case GUID, the form Windows uses for ShellId and CommandId.
pub fn new_guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase()
}

/// One `<w:Option Name="...">value</w:Option>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellOption {
    /// The option name, such as `WINRS_CODEPAGE`.
    pub name: String,
    /// The option value as text.
    pub value: String,
}

/// A `w:OptionSet`: options in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionSet(pub Vec<ShellOption>);

impl OptionSet {
    /// Value of the first option with this name (names compare case-insensitively,
    /// as clients disagree on case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
            .map(|o| o.value.as_str())
    }

    /// Replaces or appends an option.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .0
            .iter_mut()
            .find(|o| o.name.eq_ignore_ascii_case(name))
        {
            Some(o) => o.value = value,
            None => self.0.push(ShellOption {
                name: name.to_string(),
                value,
            }),
        }
    }

    /// Removes every option with this name and returns the first value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let mut found = None;
        self.0.retain(|o| {
            if o.name.eq_ignore_ascii_case(name) {
                if found.is_none() {
                    found = Some(o.value.clone());
                }
                false
            } else {
                true
            }
        });
        found
    }

    /// True when there are no options.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        if self.is_empty() {
            return;
        }
        w.open("w:OptionSet", &[]);
        for o in &self.0 {
            w.leaf("w:Option", &[("Name", &o.name)], &o.value);
        }
        w.close("w:OptionSet");
    }

    fn read_into(&mut self, set: &Element) {
        for o in set.children_named(ns::WSMAN, "Option") {
            if let Some(name) = o.attr("Name") {
                self.0.push(ShellOption {
                    name: name.to_string(),
                    value: o.trimmed().to_string(),
                });
            }
        }
    }
}

/// Parses an option value as WinRS booleans (`TRUE`/`FALSE`, any case).
pub(crate) fn parse_bool_option(name: &'static str, value: &str) -> Result<bool> {
    match value.trim() {
        v if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
        v if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
        _ => Err(Error::invalid(name, value, "expected TRUE or FALSE")),
    }
}

pub(crate) fn bool_option(value: bool) -> &'static str {
    if value { "TRUE" } else { "FALSE" }
}

/// The SOAP header of a WS-Management message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// `a:To`: the endpoint URL in requests, the anonymous role in responses.
    /// Never validated when parsing, since pywinrm writes a placeholder host.
    pub to: Option<String>,
    /// `a:ReplyTo/a:Address`.
    pub reply_to: Option<String>,
    /// `a:Action`.
    pub action: Option<String>,
    /// `a:MessageID`, `uuid:`-prefixed.
    pub message_id: Option<String>,
    /// `a:RelatesTo`: the request's MessageID, in responses.
    pub relates_to: Option<String>,
    /// `w:ResourceURI`.
    pub resource_uri: Option<String>,
    /// `w:MaxEnvelopeSize` in bytes: the largest response the client accepts.
    pub max_envelope_size: Option<u32>,
    /// `w:OperationTimeout`: how long the server may hold a request (Receive long-poll).
    pub operation_timeout: Option<Duration>,
    /// `w:Locale/@xml:lang`.
    pub locale: Option<String>,
    /// `p:DataLocale/@xml:lang`.
    pub data_locale: Option<String>,
    /// `p:SessionId`, sent by pypsrp and newer winrm-rs.
    pub session_id: Option<String>,
    /// `w:SelectorSet/w:Selector[@Name="ShellId"]`.
    pub shell_id: Option<String>,
    /// Options the typed request bodies do not model (the WinRS ones live on
    /// [`CreateShell`](super::CreateShell) and [`CommandLine`](super::CommandLine)).
    pub options: OptionSet,
    /// Header blocks marked `mustUnderstand="true"` that this crate does not
    /// know, as `{namespace}local` names; a server may answer MustUnderstand.
    pub unknown_mandatory: Vec<String>,
}

/// Which element order and attributes to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderStyle {
    /// Client requests: addressing with mustUnderstand, as pywinrm/winrm-rs write.
    Request,
    /// Server responses: Action, MessageID, To, RelatesTo, as Windows writes.
    Response,
}

impl Header {
    /// A request header with the defaults real clients send: anonymous ReplyTo,
    /// the cmd ResourceURI, MaxEnvelopeSize 153600, en-US locales, a 20 s
    /// OperationTimeout and a fresh MessageID.
    pub fn request(to: impl Into<String>, action: impl Into<String>) -> Self {
        Header {
            to: Some(to.into()),
            reply_to: Some(ns::ANONYMOUS.to_string()),
            action: Some(action.into()),
            message_id: Some(new_message_id()),
            resource_uri: Some(ns::RESOURCE_URI_CMD.to_string()),
            max_envelope_size: Some(DEFAULT_MAX_ENVELOPE_SIZE),
            operation_timeout: Some(DEFAULT_OPERATION_TIMEOUT),
            locale: Some(DEFAULT_LOCALE.to_string()),
            data_locale: Some(DEFAULT_LOCALE.to_string()),
            ..Header::default()
        }
    }

    /// A response header as Windows writes it: the Action, a fresh MessageID,
    /// the anonymous To and RelatesTo = the request's MessageID.
    pub fn response(action: impl Into<String>, relates_to: Option<String>) -> Self {
        Header {
            action: Some(action.into()),
            message_id: Some(new_message_id()),
            to: Some(ns::ANONYMOUS.to_string()),
            relates_to,
            ..Header::default()
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter, style: HeaderStyle) {
        const MU: (&str, &str) = ("s:mustUnderstand", "true");
        const NOT_MU: (&str, &str) = ("s:mustUnderstand", "false");
        w.open("s:Header", &[]);
        let leaf = |w: &mut XmlWriter, name: &str, attrs: &[(&str, &str)], v: &Option<String>| {
            if let Some(v) = v {
                w.leaf(name, attrs, v);
            }
        };
        match style {
            HeaderStyle::Request => {
                leaf(w, "a:To", &[], &self.to);
                leaf(w, "w:ResourceURI", &[MU], &self.resource_uri);
                if let Some(addr) = &self.reply_to {
                    w.open("a:ReplyTo", &[]);
                    w.leaf("a:Address", &[MU], addr);
                    w.close("a:ReplyTo");
                }
                leaf(w, "a:Action", &[MU], &self.action);
                if let Some(size) = self.max_envelope_size {
                    w.leaf("w:MaxEnvelopeSize", &[MU], &size.to_string());
                }
                leaf(w, "a:MessageID", &[], &self.message_id);
                leaf(w, "a:RelatesTo", &[], &self.relates_to);
            }
            HeaderStyle::Response => {
                leaf(w, "a:Action", &[], &self.action);
                leaf(w, "a:MessageID", &[], &self.message_id);
                leaf(w, "a:To", &[], &self.to);
                leaf(w, "a:RelatesTo", &[], &self.relates_to);
                if let Some(addr) = &self.reply_to {
                    w.open("a:ReplyTo", &[]);
                    w.leaf("a:Address", &[], addr);
                    w.close("a:ReplyTo");
                }
                leaf(w, "w:ResourceURI", &[], &self.resource_uri);
                if let Some(size) = self.max_envelope_size {
                    w.leaf("w:MaxEnvelopeSize", &[], &size.to_string());
                }
            }
        }
        if let Some(lang) = &self.locale {
            w.empty("w:Locale", &[("xml:lang", lang), NOT_MU]);
        }
        if let Some(lang) = &self.data_locale {
            w.empty("p:DataLocale", &[("xml:lang", lang), NOT_MU]);
        }
        leaf(w, "p:SessionId", &[NOT_MU], &self.session_id);
        if let Some(t) = self.operation_timeout {
            w.leaf("w:OperationTimeout", &[], &format_duration(t));
        }
        if let Some(id) = &self.shell_id {
            w.open("w:SelectorSet", &[]);
            w.leaf("w:Selector", &[("Name", "ShellId")], id);
            w.close("w:SelectorSet");
        }
        self.options.write(w);
        w.close("s:Header");
    }

    /// Reads the header of an envelope, plus any OptionSet a client put outside
    /// it (winrm-rs writes it between Header and Body; some put it in Body).
    pub(crate) fn read(envelope: &Element) -> Result<Header> {
        let mut h = Header::default();
        if let Some(header) = envelope.child(ns::SOAP, "Header") {
            for el in &header.children {
                h.read_block(el)?;
            }
        }
        let body = envelope.child(ns::SOAP, "Body");
        let stray = envelope
            .children
            .iter()
            .chain(body.into_iter().flat_map(|b| b.children.iter()));
        for el in stray {
            if el.is(ns::WSMAN, "OptionSet") {
                h.options.read_into(el);
            }
        }
        Ok(h)
    }

    fn read_block(&mut self, el: &Element) -> Result<()> {
        let text = || Some(el.trimmed().to_string());
        match (el.ns.as_deref().unwrap_or(""), el.name.as_str()) {
            (ns::ADDRESSING, "To") => self.to = text(),
            (ns::ADDRESSING, "ReplyTo") => {
                self.reply_to = el.child_text(ns::ADDRESSING, "Address").map(str::to_string);
            }
            (ns::ADDRESSING, "Action") => self.action = text(),
            (ns::ADDRESSING, "MessageID") => self.message_id = text(),
            (ns::ADDRESSING, "RelatesTo") => self.relates_to = text(),
            (ns::WSMAN, "ResourceURI") => self.resource_uri = text(),
            (ns::WSMAN, "MaxEnvelopeSize") => {
                let v = el.trimmed();
                self.max_envelope_size =
                    Some(v.parse().map_err(|_| {
                        Error::invalid("MaxEnvelopeSize", v, "expected a byte count")
                    })?);
            }
            (ns::WSMAN, "OperationTimeout") => {
                self.operation_timeout = Some(parse_duration(el.trimmed())?);
            }
            (ns::WSMAN, "Locale") => self.locale = el.attr("lang").map(str::to_string),
            (ns::WSMV, "DataLocale") => self.data_locale = el.attr("lang").map(str::to_string),
            (ns::WSMV, "SessionId") => self.session_id = text(),
            (ns::WSMAN, "SelectorSet") => {
                self.shell_id = el
                    .children_named(ns::WSMAN, "Selector")
                    .find(|s| s.attr("Name") == Some("ShellId"))
                    .map(|s| s.trimmed().to_string());
            }
            (ns::WSMAN, "OptionSet") => self.options.read_into(el),
            (uri, local) => {
                let mandatory = el
                    .attr("mustUnderstand")
                    .is_some_and(|v| v.trim() == "true" || v.trim() == "1");
                if mandatory {
                    self.unknown_mandatory.push(format!("{{{uri}}}{local}"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_set_is_case_insensitive_and_ordered() {
        let mut set = OptionSet::default();
        set.set("WINRS_CODEPAGE", "437");
        set.set("winrs_codepage", "65001");
        set.set("B", "x");
        assert_eq!(set.get("Winrs_Codepage"), Some("65001"));
        assert_eq!(set.remove("WINRS_CODEPAGE").as_deref(), Some("65001"));
        assert_eq!(set.0.len(), 1);
    }

    #[test]
    fn guids_are_upper_case_and_unique() {
        let (a, b) = (new_message_id(), new_message_id());
        assert!(a.starts_with("uuid:") && a.len() == 41 && a != b);
        assert_eq!(a, a.to_uppercase().replace("UUID:", "uuid:"));
    }

    #[test]
    fn bool_options_accept_common_spellings() {
        assert!(parse_bool_option("X", "TRUE").unwrap());
        assert!(!parse_bool_option("X", " false ").unwrap());
        assert!(parse_bool_option("X", "yes").is_err());
    }
}
