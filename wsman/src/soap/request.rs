//! Whole request envelopes: built by the client, parsed by the server.

use std::time::Duration;

use super::command::CommandLine;
use super::header::{Header, HeaderStyle};
use super::ns;
use super::operation::Operation;
use super::shell::CreateShell;
use super::signal::SignalRequest;
use super::streams::{ReceiveRequest, SendInput};
use super::tree::{Limits, parse_envelope};
use super::writer::{XmlWriter, open_envelope};
use crate::error::{Error, Result};

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// Create a shell.
    Create(CreateShell),
    /// Start a command in the shell.
    Command(CommandLine),
    /// Write to a command's stdin.
    Send(SendInput),
    /// Poll a command's output.
    Receive(ReceiveRequest),
    /// Signal a command.
    Signal(SignalRequest),
    /// Delete the shell (empty body).
    Delete,
}

impl RequestBody {
    /// The operation this body belongs to.
    pub fn operation(&self) -> Operation {
        match self {
            RequestBody::Create(_) => Operation::Create,
            RequestBody::Command(_) => Operation::Command,
            RequestBody::Send(_) => Operation::Send,
            RequestBody::Receive(_) => Operation::Receive,
            RequestBody::Signal(_) => Operation::Signal,
            RequestBody::Delete => Operation::Delete,
        }
    }
}

/// A WS-Management request: header plus typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The SOAP header.
    pub header: Header,
    /// The operation-specific body.
    pub body: RequestBody,
}

impl Request {
    /// A request to `endpoint` (the `/wsman` URL) with the default header for
    /// the body's operation (see [`Header::request`]).
    pub fn new(endpoint: impl Into<String>, body: RequestBody) -> Self {
        Request {
            header: Header::request(endpoint, body.operation().request_action()),
            body,
        }
    }

    /// Addresses an existing shell (every operation except Create needs this).
    pub fn with_shell_id(mut self, shell_id: impl Into<String>) -> Self {
        self.header.shell_id = Some(shell_id.into());
        self
    }

    /// Sets how long the server may hold the request (the Receive long-poll).
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.header.operation_timeout = Some(timeout);
        self
    }

    /// The operation, from the body.
    pub fn operation(&self) -> Operation {
        self.body.operation()
    }

    /// The MessageID, which the response's RelatesTo must echo.
    pub fn message_id(&self) -> Option<&str> {
        self.header.message_id.as_deref()
    }

    /// Writes the envelope. The body's WinRS options go into the header's
    /// OptionSet, after any generic options already there; a missing Action
    /// is filled in from the body.
    pub fn to_xml(&self) -> Result<String> {
        let mut header = self.header.clone();
        if header.action.is_none() {
            header.action = Some(self.operation().request_action().to_string());
        }
        let typed = match &self.body {
            RequestBody::Create(shell) => shell.header_options(),
            RequestBody::Command(cmd) => cmd.header_options(),
            _ => Default::default(),
        };
        header.options.0.extend(typed.0);

        let mut w = XmlWriter::new();
        open_envelope(&mut w);
        header.write(&mut w, HeaderStyle::Request);
        match &self.body {
            RequestBody::Delete => w.empty("s:Body", &[]),
            body => {
                w.open("s:Body", &[]);
                match body {
                    RequestBody::Create(shell) => shell.write(&mut w),
                    RequestBody::Command(cmd) => cmd.write(&mut w),
                    RequestBody::Send(send) => send.write(&mut w),
                    RequestBody::Receive(recv) => recv.write(&mut w),
                    RequestBody::Signal(sig) => sig.write(&mut w),
                    RequestBody::Delete => {}
                }
                w.close("s:Body");
            }
        }
        w.close("s:Envelope");
        w.finish()
    }

    /// Parses a request (the server half). The operation comes from the
    /// Action header; unknown header blocks, unknown body elements and an
    /// OptionSet outside the header are tolerated.
    pub fn parse(xml: impl AsRef<[u8]>, limits: &Limits) -> Result<Request> {
        let root = parse_envelope(xml.as_ref(), limits)?;
        let mut header = Header::read(&root)?;
        let action = header.action.as_deref().ok_or(Error::Missing {
            context: "request header",
            item: "a:Action",
        })?;
        let op = Operation::from_request_action(action)
            .ok_or_else(|| Error::unsupported_action(action))?;
        let body_el = root.child(ns::SOAP, "Body");
        let item = |name: &'static str, item: &'static str| {
            body_el
                .and_then(|b| b.child(ns::SHELL, name))
                .ok_or(Error::Missing {
                    context: "request body",
                    item,
                })
        };
        let body = match op {
            Operation::Create => RequestBody::Create(CreateShell::read(
                item("Shell", "rsp:Shell")?,
                &mut header.options,
            )?),
            Operation::Command => RequestBody::Command(CommandLine::read(
                item("CommandLine", "rsp:CommandLine")?,
                &mut header.options,
            )?),
            Operation::Send => RequestBody::Send(SendInput::read(item("Send", "rsp:Send")?)?),
            Operation::Receive => {
                RequestBody::Receive(ReceiveRequest::read(item("Receive", "rsp:Receive")?)?)
            }
            Operation::Signal => {
                RequestBody::Signal(SignalRequest::read(item("Signal", "rsp:Signal")?)?)
            }
            Operation::Delete => RequestBody::Delete,
        };
        Ok(Request { header, body })
    }
}
