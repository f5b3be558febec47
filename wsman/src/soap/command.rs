//! Starting a command: the Command request body and the CommandResponse.

use super::header::{OptionSet, bool_option, parse_bool_option};
use super::ns;
use super::tree::Element;
use super::writer::XmlWriter;
use crate::error::{Error, Result};

/// The body of a Command request: `<rsp:CommandLine>` plus the WinRS options
/// that travel in the header's OptionSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// `rsp:Command`: the program, or (as the Go client sends it) a whole command line.
    pub command: String,
    /// `rsp:Arguments`, one element each. pywinrm sends all arguments joined
    /// into one element, so a server should not assume one per argument.
    pub arguments: Vec<String>,
    /// A client-chosen CommandId (PSRP only; WinRS servers choose their own).
    pub command_id: Option<String>,
    /// `WINRS_CONSOLEMODE_STDIN`.
    pub console_mode_stdin: Option<bool>,
    /// `WINRS_SKIP_CMD_SHELL`: run the program directly instead of via `cmd.exe /c`.
    pub skip_cmd_shell: Option<bool>,
}

impl CommandLine {
    /// A command with the options pywinrm and Go send
    /// (`WINRS_CONSOLEMODE_STDIN=TRUE`, `WINRS_SKIP_CMD_SHELL=FALSE`).
    pub fn new(command: impl Into<String>, arguments: Vec<String>) -> Self {
        CommandLine {
            command: command.into(),
            arguments,
            command_id: None,
            console_mode_stdin: Some(true),
            skip_cmd_shell: Some(false),
        }
    }

    /// The line the shell would run: Command and Arguments joined by spaces,
    /// which is how Windows assembles it whichever way the client split it.
    pub fn full_line(&self) -> String {
        let mut line = self.command.clone();
        for arg in &self.arguments {
            line.push(' ');
            line.push_str(arg);
        }
        line
    }

    pub(crate) fn header_options(&self) -> OptionSet {
        let mut set = OptionSet::default();
        if let Some(v) = self.console_mode_stdin {
            set.set(ns::option::CONSOLEMODE_STDIN, bool_option(v));
        }
        if let Some(v) = self.skip_cmd_shell {
            set.set(ns::option::SKIP_CMD_SHELL, bool_option(v));
        }
        set
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match &self.command_id {
            Some(id) => w.open("rsp:CommandLine", &[("CommandId", id)]),
            None => w.open("rsp:CommandLine", &[]),
        }
        w.leaf("rsp:Command", &[], &self.command);
        for arg in &self.arguments {
            w.leaf("rsp:Arguments", &[], arg);
        }
        w.close("rsp:CommandLine");
    }

    /// Reads `<rsp:CommandLine>`, taking the WinRS options out of `options`.
    /// Command and argument text is kept exactly, whitespace included.
    pub(crate) fn read(el: &Element, options: &mut OptionSet) -> Result<Self> {
        let command = el
            .child(ns::SHELL, "Command")
            .ok_or(Error::Missing {
                context: "Command request",
                item: "rsp:Command",
            })?
            .text
            .clone();
        let flag = |options: &mut OptionSet, name: &'static str| {
            options
                .remove(name)
                .map(|v| parse_bool_option(name, &v))
                .transpose()
        };
        Ok(CommandLine {
            command,
            arguments: el
                .children_named(ns::SHELL, "Arguments")
                .map(|a| a.text.clone())
                .collect(),
            command_id: el.attr("CommandId").map(str::to_string),
            console_mode_stdin: flag(options, ns::option::CONSOLEMODE_STDIN)?,
            skip_cmd_shell: flag(options, ns::option::SKIP_CMD_SHELL)?,
        })
    }
}

/// The body of a CommandResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResponse {
    /// The identifier of the started command, for Send/Receive/Signal.
    pub command_id: String,
}

impl CommandResponse {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("rsp:CommandResponse", &[]);
        w.leaf("rsp:CommandId", &[], &self.command_id);
        w.close("rsp:CommandResponse");
    }

    pub(crate) fn read(body: &Element) -> Result<Self> {
        body.descendant(ns::SHELL, "CommandId")
            .map(|id| id.trimmed())
            .filter(|id| !id.is_empty())
            .map(|id| CommandResponse {
                command_id: id.to_string(),
            })
            .ok_or(Error::Missing {
                context: "CommandResponse",
                item: "rsp:CommandId",
            })
    }
}
