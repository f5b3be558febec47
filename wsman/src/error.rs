//! The crate's one error type.
//!
//! Messages name what was wrong with the message on the wire and, where there
//! is one, what the user can change; the operator surfaces them in conditions.

use crate::fault::Fault;
use crate::soap::Operation;

/// Shorthand for results with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building or reading WS-Management
/// messages, PowerShell command lines and command output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The envelope is bigger than the configured parse limit.
    #[error(
        "the WS-Management message is {size} bytes, over the {limit}-byte limit; \
         if the peer is configured with a larger MaxEnvelopeSize, raise the parse limit to match"
    )]
    EnvelopeTooLarge {
        /// Size of the message that was refused.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// The XML nests deeper than the configured limit.
    #[error(
        "the XML nests more than {limit} elements deep; WS-Management envelopes are shallow, \
         so the message is malformed or hostile"
    )]
    TooDeep {
        /// The configured depth limit.
        limit: usize,
    },

    /// The message is not well-formed XML, or not UTF-8.
    #[error(
        "the message is not well-formed XML ({detail}); check that the peer is a WinRM \
         endpoint and that the body was not truncated"
    )]
    Xml {
        /// What the XML reader reported, with the byte position when known.
        detail: String,
    },

    /// A required element or attribute is absent.
    #[error("{context}: required {item} is missing")]
    Missing {
        /// Which message or element was being read.
        context: &'static str,
        /// The element or attribute that was expected.
        item: &'static str,
    },

    /// A value is present but unusable.
    #[error("{what} has the invalid value {value:?}: {reason}")]
    InvalidValue {
        /// Which element, attribute or argument held the value.
        what: &'static str,
        /// The value as received (possibly shortened).
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// Base64 content (a stream chunk or an encoded command) does not decode.
    #[error("{what} is not valid base64 ({source}); the message was corrupted or truncated")]
    InvalidBase64 {
        /// Which content failed to decode.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: base64::DecodeError,
    },

    /// A request carries an Action this crate does not implement.
    #[error(
        "unsupported WS-Management action {action:?}; only the WinRS shell operations \
         (Create, Command, Send, Receive, Signal, Delete) are handled"
    )]
    UnsupportedAction {
        /// The Action URI as received.
        action: String,
    },

    /// A response answers a different operation than the one that was sent.
    #[error(
        "expected a {expected} response but the server sent a {got} response; \
         the connection may be shared with another request or the server is misbehaving"
    )]
    UnexpectedResponse {
        /// The operation the caller sent.
        expected: Operation,
        /// The operation the response belongs to.
        got: Operation,
    },

    /// A string that must go into XML holds a character XML 1.0 cannot carry.
    #[error(
        "{field} contains the character U+{code:04X}, which XML 1.0 cannot carry even \
         escaped; remove control characters from it (pass binary data through stdin instead)"
    )]
    UnrepresentableChar {
        /// The element or attribute the string was meant for.
        field: String,
        /// The offending code point.
        code: u32,
    },

    /// The transport (HTTP, TLS, authentication) failed; the message says
    /// which endpoint and which step.
    #[error("{0}")]
    Transport(String),
    /// The HTTP connection failed: connect, TLS, authentication, sealing or
    /// a broken exchange (the message names the endpoint and the step).
    #[error(transparent)]
    Connection(#[from] crate::transport::TransportError),
    /// The server answered with an HTTP status that is neither a SOAP
    /// response nor a SOAP fault.
    #[error(
        "the WinRM endpoint answered HTTP {status} to a {operation} request ({excerpt}); \
         check that the URL points at /wsman on a WinRM listener"
    )]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
        /// The operation that was sent.
        operation: Operation,
        /// The start of the body, for diagnosis.
        excerpt: String,
    },
    /// A command did not finish within the caller's deadline; it was
    /// terminated and its shell deleted.
    #[error(
        "the command did not finish within {seconds} s and was terminated; \
         raise the deadline if the operation is known to be slow"
    )]
    Deadline {
        /// The deadline in seconds.
        seconds: u64,
    },
    /// The server answered with a SOAP fault.
    #[error("{0}")]
    Fault(Box<Fault>),

    /// Command output went over the configured cap.
    #[error(
        "the command produced more than {limit} bytes of output (stdout and stderr together); \
         make the script print less (for example emit compact JSON only) or raise the output cap"
    )]
    OutputTooLarge {
        /// The configured cap in bytes.
        limit: usize,
    },

    /// A command line does not invoke PowerShell in a way this crate understands.
    #[error("{0}")]
    NotPowerShell(String),

    /// A CLIXML document could not be decoded.
    #[error("the CLIXML stream is malformed ({detail})")]
    Clixml {
        /// What was wrong with it.
        detail: String,
    },
}

impl Error {
    /// The SOAP fault carried by this error, if the server sent one.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            Error::Fault(fault) => Some(fault),
            _ => None,
        }
    }

    /// True when the server reported that a Receive long-poll expired with no
    /// output; the client should simply poll again.
    pub fn is_operation_timeout(&self) -> bool {
        self.fault()
            .is_some_and(|f| f.kind == crate::fault::FaultKind::OperationTimeout)
    }

    pub(crate) fn xml(detail: impl std::fmt::Display) -> Self {
        // The XML reader quotes the input in its messages (an unmatched end
        // tag's expected name, found by fuzzing, is as long as the peer
        // made it), and these messages end up in Kubernetes conditions,
        // whose message is capped at 32 KiB: keep them short.
        Error::Xml {
            detail: shorten(&detail.to_string(), MAX_DETAIL_CHARS),
        }
    }

    /// An Action URI from the wire, quoted in bounded space.
    pub(crate) fn unsupported_action(action: &str) -> Self {
        Error::UnsupportedAction {
            action: shorten(action, MAX_DETAIL_CHARS),
        }
    }

    pub(crate) fn invalid(what: &'static str, value: &str, reason: &'static str) -> Self {
        // Values from the wire can be huge; the message only needs enough to recognise one.
        Error::InvalidValue {
            what,
            value: shorten(value, 80),
            reason,
        }
    }
}

/// Most characters of wire-derived detail an error message quotes.
pub(crate) const MAX_DETAIL_CHARS: usize = 300;

/// The first `max` characters of `text`, with `…` when it was longer.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let mut shown: String = text.chars().take(max).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

impl From<Fault> for Error {
    fn from(fault: Fault) -> Self {
        Error::Fault(Box::new(fault))
    }
}

#[cfg(test)]
mod tests {
    use crate::soap::{Limits, Request, Response};

    /// Regression (fuzz_envelope): messages quoted wire text whole, and
    /// they end up in Kubernetes conditions, which hold at most 32 KiB.
    #[test]
    fn messages_quote_wire_text_shortened() {
        let name = "n".repeat(100_000);
        let unmatched = format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><{name}></x></s:Envelope>"
        );
        let action = format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"><s:Header><a:Action>{name}</a:Action></s:Header><s:Body/></s:Envelope>"
        );
        for err in [
            Response::parse(&unmatched, &Limits::default()).err(),
            Request::parse(&action, &Limits::default()).err(),
            crate::powershell::parse_invocation(&name, &[]).err(),
            crate::clixml::parse(&format!("#< CLIXML\r\n<{name}></Objs>")).err(),
        ] {
            let text = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                !text.is_empty() && text.len() < 1024,
                "{} bytes",
                text.len()
            );
        }
    }
}
