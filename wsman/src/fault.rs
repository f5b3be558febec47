//! SOAP faults as Windows' WinRM service sends them: parsed into a typed
//! [`Fault`] for the client, built in the same shape for the emulator.
//!
//! The fault catalogue (codes, subcodes, texts) follows what real Windows
//! hosts were recorded sending; see the WinRM reference, section 2.10.

use std::fmt;

use crate::error::{Error, Result};
use crate::soap::{
    Element, Header, HeaderStyle, Limits, XmlWriter, ns, open_envelope, parse_envelope,
};

/// WSManFault code: a Receive long-poll expired (0x80338029).
pub const CODE_OPERATION_TIMEOUT: u32 = 2_150_858_793;
/// WSManFault code: the selectors (ShellId, CommandId) match nothing (0x8033805B).
pub const CODE_INVALID_SELECTORS: u32 = 2_150_858_843;
/// WSManFault code: the per-user shell quota is exhausted (0x803381A5).
pub const CODE_SHELL_QUOTA: u32 = 2_150_859_173;
/// WSManFault code: the per-user concurrent-operation quota is exhausted (0x803381A6).
pub const CODE_OPERATIONS_QUOTA: u32 = 2_150_859_174;
/// Win32 `ERROR_ACCESS_DENIED`, as WinRM reports it in WSManFault.
pub const CODE_ACCESS_DENIED: u32 = 5;
/// `E_ACCESSDENIED` (0x80070005), the HRESULT spelling of the same.
pub const CODE_ACCESS_DENIED_HRESULT: u32 = 0x8007_0005;

const TIMEOUT_TEXT: &str = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ";

/// Which WinRM quota a [`FaultKind::QuotaExceeded`] fault is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    /// `MaxShellsPerUser`.
    ShellsPerUser,
    /// `MaxConcurrentOperationsPerUser`.
    ConcurrentOperations,
    /// `MaxConcurrentCommandsPerShell`.
    CommandsPerShell,
    /// A quota fault whose quota could not be identified.
    Other,
}

/// What a fault means for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The Receive long-poll expired with no output (`w:TimedOut`): poll again.
    OperationTimeout,
    /// The shell or command does not exist (`w:InvalidSelectors`): it was
    /// deleted or reaped for idleness.
    ShellNotFound,
    /// The account may not do this (`w:AccessDenied`).
    AccessDenied,
    /// A WinRM quota is exhausted.
    QuotaExceeded(Quota),
    /// A message exceeded MaxEnvelopeSize (`w:EncodingLimit`).
    EncodingLimit,
    /// Anything else; `code` is the WSManFault code when there was one.
    Unknown {
        /// The numeric WSManFault code.
        code: Option<u32>,
    },
}

impl FaultKind {
    /// Classifies by WSManFault code first (the most specific), then by
    /// subcode, then by the text Windows uses for quotas that have no
    /// distinctive code.
    pub fn classify(subcode: Option<&str>, code: Option<u32>, text: &str) -> FaultKind {
        match code {
            Some(CODE_OPERATION_TIMEOUT) => return FaultKind::OperationTimeout,
            Some(CODE_INVALID_SELECTORS) => return FaultKind::ShellNotFound,
            Some(CODE_SHELL_QUOTA) => return FaultKind::QuotaExceeded(Quota::ShellsPerUser),
            Some(CODE_OPERATIONS_QUOTA) => {
                return FaultKind::QuotaExceeded(Quota::ConcurrentOperations);
            }
            Some(CODE_ACCESS_DENIED | CODE_ACCESS_DENIED_HRESULT) => {
                return FaultKind::AccessDenied;
            }
            _ => {}
        }
        let lower = text.to_ascii_lowercase();
        if lower.contains("concurrent commands per shell") {
            return FaultKind::QuotaExceeded(Quota::CommandsPerShell);
        }
        if lower.contains("concurrent shells") {
            return FaultKind::QuotaExceeded(Quota::ShellsPerUser);
        }
        match subcode {
            Some("TimedOut") => FaultKind::OperationTimeout,
            Some("InvalidSelectors") => FaultKind::ShellNotFound,
            Some("AccessDenied") => FaultKind::AccessDenied,
            Some("QuotaLimit") => FaultKind::QuotaExceeded(Quota::Other),
            Some("EncodingLimit") => FaultKind::EncodingLimit,
            _ => FaultKind::Unknown { code },
        }
    }
}

/// `<f:ProviderFault>`: an error reported by the shell plugin itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFault {
    /// `provider` attribute, e.g. `Shell cmd plugin`.
    pub provider: Option<String>,
    /// `path` attribute, the plugin DLL.
    pub path: Option<String>,
    /// The provider's message.
    pub text: String,
}

/// A SOAP fault from a WS-Management service.
///
/// QName values such as `s:Receiver` and `w:TimedOut` are kept as their
/// local part (`Receiver`, `TimedOut`), since the prefix is arbitrary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What the fault means for the client.
    pub kind: FaultKind,
    /// `s:Code/s:Value`: `Sender`, `Receiver` or `MustUnderstand`.
    pub code: String,
    /// `s:Code/s:Subcode/s:Value`, e.g. `TimedOut`, `InvalidSelectors`.
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`, exactly as sent (Windows leaves trailing spaces).
    pub reason: String,
    /// `f:WSManFault/@Code`.
    pub wsman_code: Option<u32>,
    /// `f:WSManFault/@Machine`.
    pub machine: Option<String>,
    /// `f:WSManFault/f:Message` text.
    pub message: Option<String>,
    /// `f:WSManFault/f:Message/f:ProviderFault`.
    pub provider_fault: Option<ProviderFault>,
    /// `w:FaultDetail` URI.
    pub fault_detail: Option<String>,
    /// `a:RelatesTo`: the MessageID of the request that failed.
    pub relates_to: Option<String>,
}

impl Fault {
    /// A fault of the given kind with SOAP code and subcode; details empty.
    fn base(kind: FaultKind, code: &str, subcode: &str, reason: String) -> Fault {
        Fault {
            kind,
            code: code.to_string(),
            subcode: Some(subcode.to_string()),
            message: Some(reason.clone()),
            reason,
            wsman_code: None,
            machine: None,
            provider_fault: None,
            fault_detail: None,
            relates_to: None,
        }
    }

    /// Windows' answer to a Receive that saw no output within OperationTimeout.
    pub fn operation_timeout() -> Fault {
        let mut f = Self::base(
            FaultKind::OperationTimeout,
            "Receiver",
            "TimedOut",
            TIMEOUT_TEXT.to_string(),
        );
        f.wsman_code = Some(CODE_OPERATION_TIMEOUT);
        f
    }

    /// The ShellId selector names no shell. The ID is the client's and is
    /// quoted shortened (shell IDs are GUIDs; the server fuzz target sent a
    /// 4 KB one and got it all back).
    pub fn shell_not_found(shell_id: &str) -> Fault {
        let shell_id = crate::error::shorten(shell_id, 100);
        Self::invalid_selectors(format!(
            "The request for the Windows Remote Shell with ShellId {shell_id} failed because the \
             shell was not found on the server. Possible causes are: the specified ShellId is \
             incorrect or the shell no longer exists on the server. Provide the correct ShellId \
             or create a new shell and retry the operation. "
        ))
    }

    /// The CommandId names no command in the shell.
    pub fn command_not_found() -> Fault {
        Self::invalid_selectors(
            "The Windows Remote Shell received a request to perform an operation on a command \
             identifier that does not exist. Either the command has completed execution or the \
             client specified an invalid command identifier. Check the command identifier and \
             retry the operation. "
                .to_string(),
        )
    }

    /// `w:InvalidSelectors` with the given text.
    pub fn invalid_selectors(text: String) -> Fault {
        let mut f = Self::base(FaultKind::ShellNotFound, "Sender", "InvalidSelectors", text);
        f.wsman_code = Some(CODE_INVALID_SELECTORS);
        f.fault_detail = Some(ns::fault_detail::UNEXPECTED_SELECTORS.to_string());
        f
    }

    /// The account may not use the shell.
    pub fn access_denied() -> Fault {
        let mut f = Self::base(
            FaultKind::AccessDenied,
            "Sender",
            "AccessDenied",
            "Access is denied. ".to_string(),
        );
        f.wsman_code = Some(CODE_ACCESS_DENIED);
        f
    }

    /// The user already has `max_shells` shells open.
    pub fn shell_quota(max_shells: u32) -> Fault {
        let mut f = Self::base(
            FaultKind::QuotaExceeded(Quota::ShellsPerUser),
            "Receiver",
            "InternalError",
            format!(
                "The WS-Management service cannot process the request. This user is allowed a \
                 maximum number of {max_shells} concurrent shells, which has been exceeded. Close \
                 existing shells or raise the quota for this user. "
            ),
        );
        f.wsman_code = Some(CODE_SHELL_QUOTA);
        f
    }

    /// The user already has `max_operations` operations in flight.
    pub fn operations_quota(max_operations: u32) -> Fault {
        let mut f = Self::base(
            FaultKind::QuotaExceeded(Quota::ConcurrentOperations),
            "Receiver",
            "InternalError",
            format!(
                "The WS-Management service cannot process the request. This user is allowed a \
                 maximum number of {max_operations} concurrent operations, which has been \
                 exceeded. Close existing operations for this user, or raise the quota for this \
                 user. "
            ),
        );
        f.wsman_code = Some(CODE_OPERATIONS_QUOTA);
        f
    }

    /// The shell already runs as many commands as `MaxConcurrentCommandsPerShell` allows.
    pub fn commands_per_shell_quota() -> Fault {
        Self::base(
            FaultKind::QuotaExceeded(Quota::CommandsPerShell),
            "Receiver",
            "InternalError",
            "The WS-Management service cannot process the request. The maximum number of \
             concurrent commands per shell has been exceeded. Retry the request later or raise \
             the Maximum Commands per Shell quota. "
                .to_string(),
        )
    }

    /// A response would not fit the client's MaxEnvelopeSize.
    pub fn encoding_limit(max_envelope_size: u32) -> Fault {
        let mut f = Self::base(
            FaultKind::EncodingLimit,
            "Sender",
            "EncodingLimit",
            format!(
                "The WS-Management service cannot process the request because the response \
                 would exceed the maximum envelope size of {max_envelope_size} bytes requested \
                 by the client. "
            ),
        );
        f.fault_detail = Some(ns::fault_detail::MAX_ENVELOPE_SIZE.to_string());
        f
    }

    /// Names the machine in the WSManFault detail.
    pub fn with_machine(mut self, machine: impl Into<String>) -> Fault {
        self.machine = Some(machine.into());
        self
    }

    /// Relates the fault to the request that caused it.
    pub fn with_relates_to(mut self, message_id: Option<String>) -> Fault {
        self.relates_to = message_id;
        self
    }

    /// The most specific human-readable text: the WSManFault message, the
    /// provider's message, or the SOAP reason.
    pub fn text(&self) -> &str {
        fn pick(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|t| !t.is_empty())
        }
        pick(&self.message)
            .or_else(|| {
                self.provider_fault
                    .as_ref()
                    .map(|p| p.text.trim())
                    .filter(|t| !t.is_empty())
            })
            .unwrap_or_else(|| self.reason.trim())
    }

    /// Parses a fault envelope on its own (when the caller already knows the
    /// HTTP 500 body is a fault). Fails if the body holds no Fault.
    pub fn parse(xml: impl AsRef<[u8]>, limits: &Limits) -> Result<Fault> {
        let root = parse_envelope(xml.as_ref(), limits)?;
        let header = Header::read(&root)?;
        root.child(ns::SOAP, "Body")
            .and_then(|b| b.child(ns::SOAP, "Fault"))
            .map(|f| Fault::from_element(f, &header))
            .ok_or(Error::Missing {
                context: "fault envelope",
                item: "s:Body/s:Fault",
            })
    }

    /// Reads `<s:Fault>`; never fails, since even a sparse fault is worth reporting.
    pub(crate) fn from_element(fault: &Element, header: &Header) -> Fault {
        let code_el = fault.child(ns::SOAP, "Code");
        let value = |el: Option<&Element>| {
            el.and_then(|e| e.child_text(ns::SOAP, "Value"))
                .map(local_part)
        };
        let code = value(code_el).unwrap_or_default();
        let subcode = value(code_el.and_then(|c| c.child(ns::SOAP, "Subcode")));
        let reason = fault
            .child(ns::SOAP, "Reason")
            .and_then(|r| r.child(ns::SOAP, "Text"))
            .map(|t| t.text.clone())
            .unwrap_or_default();
        let detail = fault.child(ns::SOAP, "Detail");
        let wsman = detail.and_then(|d| d.descendant(ns::WSMANFAULT, "WSManFault"));
        let message_el = wsman.and_then(|w| w.child(ns::WSMANFAULT, "Message"));
        let provider_fault = message_el
            .and_then(|m| m.child(ns::WSMANFAULT, "ProviderFault"))
            .map(|p| ProviderFault {
                provider: p.attr("provider").map(str::to_string),
                path: p.attr("path").map(str::to_string),
                text: p.text.clone(),
            });
        let message = message_el
            .map(|m| m.text.clone())
            .filter(|t| !t.trim().is_empty());
        let wsman_code = wsman
            .and_then(|w| w.attr("Code"))
            .and_then(|c| c.trim().parse().ok());
        let fault_detail = detail
            .and_then(|d| d.child_text(ns::WSMAN, "FaultDetail"))
            .map(str::to_string);
        let mut fault = Fault {
            kind: FaultKind::Unknown { code: None },
            code,
            subcode,
            reason,
            wsman_code,
            machine: wsman.and_then(|w| w.attr("Machine")).map(str::to_string),
            message,
            provider_fault,
            fault_detail,
            relates_to: header.relates_to.clone(),
        };
        fault.kind = FaultKind::classify(fault.subcode.as_deref(), wsman_code, fault.text());
        fault
    }

    /// Writes the fault envelope Windows sends with HTTP 500. Characters
    /// XML cannot carry (faults quote what the peer sent, which may hold
    /// them) are written as U+FFFD, so a fault can always be sent.
    pub fn to_xml(&self) -> Result<String> {
        let mut header = Header::response(ns::action::FAULT, self.relates_to.clone());
        if self.code == "MustUnderstand" {
            header.action = Some(ns::action::ADDRESSING_FAULT.to_string());
        }
        let mut w = XmlWriter::lossy();
        open_envelope(&mut w);
        header.write(&mut w, HeaderStyle::Response);
        w.open("s:Body", &[]);
        w.open("s:Fault", &[]);
        w.open("s:Code", &[]);
        w.leaf("s:Value", &[], &format!("s:{}", self.code));
        if let Some(sub) = &self.subcode {
            w.open("s:Subcode", &[]);
            w.leaf("s:Value", &[], &format!("w:{sub}"));
            w.close("s:Subcode");
        }
        w.close("s:Code");
        w.open("s:Reason", &[]);
        w.leaf("s:Text", &[("xml:lang", "en-US")], &self.reason);
        w.close("s:Reason");
        let has_wsman = self.wsman_code.is_some()
            || self.machine.is_some()
            || self.message.is_some()
            || self.provider_fault.is_some();
        if self.fault_detail.is_some() || has_wsman {
            w.open("s:Detail", &[]);
            if let Some(detail) = &self.fault_detail {
                w.leaf("w:FaultDetail", &[], detail);
            }
            if has_wsman {
                let code = self.wsman_code.map(|c| c.to_string());
                let mut attrs: Vec<(&str, &str)> = vec![("xmlns:f", ns::WSMANFAULT)];
                if let Some(c) = &code {
                    attrs.push(("Code", c));
                }
                if let Some(m) = &self.machine {
                    attrs.push(("Machine", m));
                }
                w.open("f:WSManFault", &attrs);
                w.open("f:Message", &[]);
                if let Some(m) = &self.message {
                    w.text("f:Message", m);
                }
                if let Some(p) = &self.provider_fault {
                    let mut attrs: Vec<(&str, &str)> = Vec::new();
                    if let Some(v) = &p.provider {
                        attrs.push(("provider", v));
                    }
                    if let Some(v) = &p.path {
                        attrs.push(("path", v));
                    }
                    w.leaf("f:ProviderFault", &attrs, &p.text);
                }
                w.close("f:Message");
                w.close("f:WSManFault");
            }
            w.close("s:Detail");
        }
        w.close("s:Fault");
        w.close("s:Body");
        w.close("s:Envelope");
        w.finish()
    }
}

/// `w:TimedOut` → `TimedOut`.
fn local_part(qname: &str) -> String {
    qname.rsplit(':').next().unwrap_or(qname).trim().to_string()
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FaultKind::OperationTimeout => {
                "no output arrived within OperationTimeout (normal for a silent command; poll again)"
            }
            FaultKind::ShellNotFound => {
                "the remote shell or command no longer exists (deleted, or reaped after its idle \
                 timeout); open a new shell and retry"
            }
            FaultKind::AccessDenied => {
                "access denied; check the credentials and that the account may use WinRM \
                 (Administrators or Remote Management Users)"
            }
            FaultKind::QuotaExceeded(_) => {
                "a WinRM quota is exhausted; close unused shells (leaked shells count until their \
                 idle timeout) or raise the quota in winrm/config/winrs"
            }
            FaultKind::EncodingLimit => {
                "a message exceeded MaxEnvelopeSize; send smaller chunks or raise MaxEnvelopeSizekb"
            }
            FaultKind::Unknown { .. } => "the WinRM service reported an error",
        };
        write!(f, "{what}: {}", self.text())?;
        write!(f, " [fault {}", self.code)?;
        if let Some(sub) = &self.subcode {
            write!(f, "/{sub}")?;
        }
        if let Some(code) = self.wsman_code {
            write!(f, ", code {code} (0x{code:08X})")?;
        }
        if let Some(m) = &self.machine {
            write!(f, ", machine {m}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_prefers_code_then_subcode_then_text() {
        assert_eq!(
            FaultKind::classify(Some("InternalError"), Some(CODE_SHELL_QUOTA), ""),
            FaultKind::QuotaExceeded(Quota::ShellsPerUser)
        );
        assert_eq!(
            FaultKind::classify(Some("TimedOut"), None, ""),
            FaultKind::OperationTimeout
        );
        assert_eq!(
            FaultKind::classify(
                Some("InternalError"),
                None,
                "The maximum number of concurrent commands per shell has been exceeded."
            ),
            FaultKind::QuotaExceeded(Quota::CommandsPerShell)
        );
        assert_eq!(
            FaultKind::classify(Some("SchemaValidationError"), Some(2_150_858_817), ""),
            FaultKind::Unknown {
                code: Some(2_150_858_817)
            }
        );
    }

    #[test]
    fn a_fault_quoting_control_characters_is_still_written() {
        // Regression (fuzz_server): the emulator answered a request whose
        // parse error quoted a control character with an empty HTTP 500.
        let fault = Fault::invalid_selectors("bad element <\u{1f}\u{5}Locale>".into())
            .with_relates_to(Some("uuid:\u{1}".into()));
        let xml = fault.to_xml().unwrap();
        let back = Fault::parse(&xml, &Limits::default()).unwrap();
        assert_eq!(back.reason, "bad element <\u{FFFD}\u{FFFD}Locale>");
        assert_eq!(back.relates_to.as_deref(), Some("uuid:\u{FFFD}"));
    }

    #[test]
    fn shell_not_found_quotes_a_short_id() {
        let fault = Fault::shell_not_found(&"x".repeat(100_000));
        assert!(fault.text().len() < 500, "{}", fault.text().len());
    }

    #[test]
    fn every_builder_round_trips() {
        let faults = [
            Fault::operation_timeout(),
            Fault::shell_not_found("4283CBDC-3706-415B-88BD-B385F3E51A53"),
            Fault::command_not_found(),
            Fault::access_denied(),
            Fault::shell_quota(30),
            Fault::operations_quota(15),
            Fault::commands_per_shell_quota(),
            Fault::encoding_limit(153_600),
        ];
        for fault in faults {
            let fault = fault
                .with_machine("vmm01.example.com")
                .with_relates_to(Some("uuid:ABC".into()));
            let xml = fault.to_xml().unwrap();
            let back = Fault::parse(&xml, &Limits::default()).unwrap();
            assert_eq!(back, fault, "{xml}");
        }
    }

    #[test]
    fn display_explains_and_carries_the_code() {
        let text = Fault::operation_timeout().with_machine("h").to_string();
        assert!(text.contains("poll again"), "{text}");
        assert!(text.contains("2150858793 (0x80338029)"), "{text}");
        assert!(text.contains("Receiver/TimedOut"), "{text}");
    }
}
