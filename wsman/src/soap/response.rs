//! Whole response envelopes: built by the server, parsed by the client.

use super::command::CommandResponse;
use super::header::{Header, HeaderStyle};
use super::ns;
use super::operation::Operation;
use super::request::Request;
use super::shell::CreateResponse;
use super::streams::ReceiveResponse;
use super::tree::{Element, Limits, parse_envelope};
use super::writer::{XmlWriter, open_envelope};
use crate::error::{Error, Result};
use crate::fault::Fault;

/// What a response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// The shell was created.
    Create(CreateResponse),
    /// The command was started.
    Command(CommandResponse),
    /// Output and state of a command.
    Receive(ReceiveResponse),
    /// Input accepted.
    Send,
    /// Signal delivered.
    Signal,
    /// Shell deleted.
    Delete,
}

impl ResponseBody {
    /// The operation this body answers.
    pub fn operation(&self) -> Operation {
        match self {
            ResponseBody::Create(_) => Operation::Create,
            ResponseBody::Command(_) => Operation::Command,
            ResponseBody::Receive(_) => Operation::Receive,
            ResponseBody::Send => Operation::Send,
            ResponseBody::Signal => Operation::Signal,
            ResponseBody::Delete => Operation::Delete,
        }
    }
}

/// A WS-Management response: header plus typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The SOAP header.
    pub header: Header,
    /// The operation-specific body.
    pub body: ResponseBody,
}

impl Response {
    /// A response with the header Windows writes (see [`Header::response`]).
    pub fn new(body: ResponseBody, relates_to: Option<String>) -> Self {
        Response {
            header: Header::response(body.operation().response_action(), relates_to),
            body,
        }
    }

    /// A response to `request`, relating to its MessageID (pywinrm asserts
    /// RelatesTo on Signal and Delete).
    pub fn to_request(request: &Request, body: ResponseBody) -> Self {
        Self::new(body, request.header.message_id.clone())
    }

    /// The operation answered.
    pub fn operation(&self) -> Operation {
        self.body.operation()
    }

    /// Checks that this answers `expected`.
    pub fn expect(self, expected: Operation) -> Result<Response> {
        let got = self.operation();
        if got == expected {
            Ok(self)
        } else {
            Err(Error::UnexpectedResponse { expected, got })
        }
    }

    /// Writes the envelope.
    pub fn to_xml(&self) -> Result<String> {
        let mut w = XmlWriter::new();
        open_envelope(&mut w);
        let mut header = self.header.clone();
        if header.action.is_none() {
            header.action = Some(self.operation().response_action().to_string());
        }
        header.write(&mut w, HeaderStyle::Response);
        w.open("s:Body", &[]);
        match &self.body {
            ResponseBody::Create(created) => created.write(&mut w),
            ResponseBody::Command(cmd) => cmd.write(&mut w),
            ResponseBody::Receive(recv) => recv.write(&mut w),
            ResponseBody::Send => w.empty("rsp:SendResponse", &[]),
            ResponseBody::Signal => w.empty("rsp:SignalResponse", &[]),
            // Windows answers Delete with an empty Body.
            ResponseBody::Delete => {}
        }
        w.close("s:Body");
        w.close("s:Envelope");
        w.finish()
    }

    /// Parses a response (the client half). A SOAP Fault comes back as
    /// [`Error::Fault`]. The operation is taken from the Action header, or
    /// from the body when a server leaves the Action out.
    pub fn parse(xml: impl AsRef<[u8]>, limits: &Limits) -> Result<Response> {
        let root = parse_envelope(xml.as_ref(), limits)?;
        let header = Header::read(&root)?;
        let body_el = root.child(ns::SOAP, "Body");
        if let Some(fault) = body_el.and_then(|b| b.child(ns::SOAP, "Fault")) {
            return Err(Fault::from_element(fault, &header).into());
        }
        let empty = Element::default();
        let body_el = body_el.unwrap_or(&empty);
        let op = header
            .action
            .as_deref()
            .and_then(Operation::from_response_action)
            .or_else(|| infer_operation(body_el))
            .ok_or_else(|| {
                Error::unsupported_action(header.action.as_deref().unwrap_or_default())
            })?;
        let body = match op {
            Operation::Create => ResponseBody::Create(CreateResponse::read(body_el)?),
            Operation::Command => ResponseBody::Command(CommandResponse::read(body_el)?),
            Operation::Receive => ResponseBody::Receive(ReceiveResponse::read(body_el)?),
            Operation::Send => ResponseBody::Send,
            Operation::Signal => ResponseBody::Signal,
            Operation::Delete => ResponseBody::Delete,
        };
        Ok(Response { header, body })
    }
}

/// Recognises a response by its body when the Action is missing or unknown.
/// An empty body is taken as Delete, the only response that has one.
fn infer_operation(body: &Element) -> Option<Operation> {
    let has = |ns: &str, name: &str| body.children.iter().any(|c| c.is(ns, name));
    if has(ns::TRANSFER, "ResourceCreated") || has(ns::SHELL, "Shell") {
        Some(Operation::Create)
    } else if has(ns::SHELL, "CommandResponse") {
        Some(Operation::Command)
    } else if has(ns::SHELL, "ReceiveResponse") {
        Some(Operation::Receive)
    } else if has(ns::SHELL, "SendResponse") {
        Some(Operation::Send)
    } else if has(ns::SHELL, "SignalResponse") {
        Some(Operation::Signal)
    } else if body.children.is_empty() {
        Some(Operation::Delete)
    } else {
        None
    }
}
