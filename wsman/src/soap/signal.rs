//! Signalling a command: terminate, ctrl_c, ctrl_break.

use super::ns;
use super::tree::Element;
use super::writer::XmlWriter;
use crate::error::{Error, Result};

/// A signal code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalCode {
    /// Stop the command. MS-WSMV requires this after all output of a cmd-shell
    /// command was received, so it is also the normal clean-up.
    Terminate,
    /// Ctrl+C.
    CtrlC,
    /// Ctrl+Break.
    CtrlBreak,
    /// The PSRP ctrl+c (`.../powershell/signal/crtl_c`).
    PsCtrlC,
    /// Any other code URI.
    Other(String),
}

impl SignalCode {
    /// The code URI.
    pub fn uri(&self) -> &str {
        match self {
            SignalCode::Terminate => ns::signal::TERMINATE,
            SignalCode::CtrlC => ns::signal::CTRL_C,
            SignalCode::CtrlBreak => ns::signal::CTRL_BREAK,
            SignalCode::PsCtrlC => ns::signal::PS_CTRL_C,
            SignalCode::Other(uri) => uri,
        }
    }

    /// Recognises the known URIs.
    pub fn from_uri(uri: &str) -> Self {
        match uri.trim() {
            ns::signal::TERMINATE => SignalCode::Terminate,
            ns::signal::CTRL_C => SignalCode::CtrlC,
            ns::signal::CTRL_BREAK => SignalCode::CtrlBreak,
            ns::signal::PS_CTRL_C => SignalCode::PsCtrlC,
            other => SignalCode::Other(other.to_string()),
        }
    }
}

/// The body of a Signal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalRequest {
    /// The command to signal.
    pub command_id: Option<String>,
    /// What to send it.
    pub code: SignalCode,
}

impl SignalRequest {
    /// Terminate a command.
    pub fn terminate(command_id: impl Into<String>) -> Self {
        SignalRequest {
            command_id: Some(command_id.into()),
            code: SignalCode::Terminate,
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match &self.command_id {
            Some(id) => w.open("rsp:Signal", &[("CommandId", id)]),
            None => w.open("rsp:Signal", &[]),
        }
        w.leaf("rsp:Code", &[], self.code.uri());
        w.close("rsp:Signal");
    }

    pub(crate) fn read(el: &Element) -> Result<Self> {
        let code = el.child_text(ns::SHELL, "Code").ok_or(Error::Missing {
            context: "Signal request",
            item: "rsp:Code",
        })?;
        Ok(SignalRequest {
            command_id: el.attr("CommandId").map(str::to_string),
            code: SignalCode::from_uri(code),
        })
    }
}
