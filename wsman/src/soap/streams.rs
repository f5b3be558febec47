//! Stream traffic: Send (stdin) and Receive (stdout/stderr plus command state).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use super::ns;
use super::shell::split_names;
use super::tree::{Element, is_xml_space};
use super::writer::XmlWriter;
use crate::error::{Error, Result};

/// Decodes padded or unpadded base64; peers differ and neither is ambiguous.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `<rsp:Stream>`: a base64 chunk of raw bytes on a named stream.
///
/// Chunk boundaries are arbitrary (a UTF-8 character may be split between
/// chunks); see [`crate::stream`] for reassembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamChunk {
    /// Stream name: `stdin`, `stdout` or `stderr`.
    pub name: String,
    /// The command the chunk belongs to.
    pub command_id: Option<String>,
    /// The raw bytes (empty for a bare end marker).
    pub data: Vec<u8>,
    /// `End="true"`: no more data will follow on this stream.
    pub end: bool,
}

impl StreamChunk {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        let mut attrs: Vec<(&str, &str)> = vec![("Name", &self.name)];
        if let Some(id) = &self.command_id {
            attrs.push(("CommandId", id));
        }
        if self.end {
            attrs.push(("End", "true"));
        }
        w.leaf("rsp:Stream", &attrs, &STANDARD.encode(&self.data));
    }

    pub(crate) fn read(el: &Element) -> Result<Self> {
        let name = el.attr("Name").ok_or(Error::Missing {
            context: "rsp:Stream",
            item: "Name attribute",
        })?;
        // Some encoders wrap base64 lines; whitespace carries no data.
        let compact: String = el.text.chars().filter(|c| !is_xml_space(*c)).collect();
        let data = LENIENT
            .decode(compact.as_bytes())
            .map_err(|source| Error::InvalidBase64 {
                what: "rsp:Stream content",
                source,
            })?;
        Ok(StreamChunk {
            name: name.to_string(),
            command_id: el.attr("CommandId").map(str::to_string),
            data,
            end: el.attr("End").is_some_and(is_true),
        })
    }
}

fn is_true(v: &str) -> bool {
    let v = v.trim();
    v.eq_ignore_ascii_case("true") || v == "1"
}

/// The body of a Send request: stdin data for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendInput {
    /// The chunks to deliver, normally one `stdin` chunk.
    pub streams: Vec<StreamChunk>,
}

impl SendInput {
    /// One stdin chunk for a command; `end` closes stdin after it.
    pub fn stdin(command_id: impl Into<String>, data: Vec<u8>, end: bool) -> Self {
        SendInput {
            streams: vec![StreamChunk {
                name: "stdin".to_string(),
                command_id: Some(command_id.into()),
                data,
                end,
            }],
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("rsp:Send", &[]);
        for chunk in &self.streams {
            chunk.write(w);
        }
        w.close("rsp:Send");
    }

    pub(crate) fn read(el: &Element) -> Result<Self> {
        Ok(SendInput {
            streams: el
                .children_named(ns::SHELL, "Stream")
                .map(StreamChunk::read)
                .collect::<Result<_>>()?,
        })
    }
}

/// The body of a Receive request: which streams of which command to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveRequest {
    /// The command to read from.
    pub command_id: Option<String>,
    /// Desired stream names, normally `stdout stderr`.
    pub streams: Vec<String>,
}

impl ReceiveRequest {
    /// Poll stdout and stderr of a command.
    pub fn new(command_id: impl Into<String>) -> Self {
        ReceiveRequest {
            command_id: Some(command_id.into()),
            streams: vec!["stdout".to_string(), "stderr".to_string()],
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("rsp:Receive", &[]);
        let names = self.streams.join(" ");
        match &self.command_id {
            Some(id) => w.leaf("rsp:DesiredStream", &[("CommandId", id)], &names),
            None => w.leaf("rsp:DesiredStream", &[], &names),
        }
        w.close("rsp:Receive");
    }

    pub(crate) fn read(el: &Element) -> Result<Self> {
        let desired = el.child(ns::SHELL, "DesiredStream");
        Ok(ReceiveRequest {
            command_id: desired
                .and_then(|d| d.attr("CommandId"))
                .map(str::to_string),
            streams: desired.map(|d| split_names(&d.text)).unwrap_or_default(),
        })
    }
}

/// Where a command is in its life, from `rsp:CommandState/@State`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandStatus {
    /// Still running; poll again.
    Running,
    /// Finished; the exit code accompanies it.
    Done,
    /// Not started yet.
    Pending,
    /// A state URI this crate does not know.
    Other(String),
}

impl CommandStatus {
    /// The state URI.
    pub fn uri(&self) -> &str {
        match self {
            CommandStatus::Running => ns::command_state::RUNNING,
            CommandStatus::Done => ns::command_state::DONE,
            CommandStatus::Pending => ns::command_state::PENDING,
            CommandStatus::Other(uri) => uri,
        }
    }

    /// Classifies a state URI by its last segment, as pywinrm does, so a
    /// variant base URI still reads as Done.
    pub fn from_uri(uri: &str) -> Self {
        let uri = uri.trim();
        match uri.rsplit('/').next() {
            Some("Running") if uri.contains("CommandState") => CommandStatus::Running,
            Some("Done") if uri.contains("CommandState") => CommandStatus::Done,
            Some("Pending") if uri.contains("CommandState") => CommandStatus::Pending,
            _ => CommandStatus::Other(uri.to_string()),
        }
    }
}

/// `<rsp:CommandState>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandState {
    /// The command the state belongs to.
    pub command_id: Option<String>,
    /// Running, Done, Pending.
    pub status: CommandStatus,
    /// The process exit code; Windows sends it only with Done. Wide enough for
    /// both NTSTATUS spellings (`-1073741510` and `3221225786`).
    pub exit_code: Option<i64>,
}

/// The body of a ReceiveResponse.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiveResponse {
    /// Stream chunks in the order received.
    pub streams: Vec<StreamChunk>,
    /// The command's state, if reported.
    pub state: Option<CommandState>,
    /// `SequenceID` (optional and reserved in MS-WSMV; kept for completeness).
    pub sequence_id: Option<u64>,
}

impl ReceiveResponse {
    /// True when the command has finished.
    pub fn is_done(&self) -> bool {
        self.state
            .as_ref()
            .is_some_and(|s| s.status == CommandStatus::Done)
    }

    /// The exit code, once the command is done.
    pub fn exit_code(&self) -> Option<i64> {
        self.state.as_ref().and_then(|s| s.exit_code)
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        let seq = self.sequence_id.map(|s| s.to_string());
        match &seq {
            Some(s) => w.open("rsp:ReceiveResponse", &[("SequenceID", s)]),
            None => w.open("rsp:ReceiveResponse", &[]),
        }
        for chunk in &self.streams {
            chunk.write(w);
        }
        if let Some(state) = &self.state {
            let mut attrs: Vec<(&str, &str)> = Vec::new();
            if let Some(id) = &state.command_id {
                attrs.push(("CommandId", id));
            }
            attrs.push(("State", state.status.uri()));
            w.open("rsp:CommandState", &attrs);
            if let Some(code) = state.exit_code {
                w.leaf("rsp:ExitCode", &[], &code.to_string());
            }
            w.close("rsp:CommandState");
        }
        w.close("rsp:ReceiveResponse");
    }

    pub(crate) fn read(body: &Element) -> Result<Self> {
        let resp = body
            .descendant(ns::SHELL, "ReceiveResponse")
            .ok_or(Error::Missing {
                context: "ReceiveResponse",
                item: "rsp:ReceiveResponse",
            })?;
        let state = resp
            .child(ns::SHELL, "CommandState")
            .map(|st| -> Result<CommandState> {
                let exit_code = st
                    .child_text(ns::SHELL, "ExitCode")
                    .filter(|t| !t.is_empty())
                    .map(|t| {
                        t.parse::<i64>()
                            .map_err(|_| Error::invalid("rsp:ExitCode", t, "expected an integer"))
                    })
                    .transpose()?;
                Ok(CommandState {
                    command_id: st.attr("CommandId").map(str::to_string),
                    status: CommandStatus::from_uri(st.attr("State").unwrap_or_default()),
                    exit_code,
                })
            })
            .transpose()?;
        let sequence_id = resp
            .attr("SequenceID")
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|_| Error::invalid("SequenceID", s, "expected a number"))
            })
            .transpose()?;
        Ok(ReceiveResponse {
            streams: resp
                .children_named(ns::SHELL, "Stream")
                .map(StreamChunk::read)
                .collect::<Result<_>>()?,
            state,
            sequence_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_uris_classify_by_suffix() {
        assert_eq!(
            CommandStatus::from_uri(ns::command_state::DONE),
            CommandStatus::Done
        );
        assert_eq!(
            CommandStatus::from_uri(" http://example/CommandState/Running "),
            CommandStatus::Running
        );
        assert!(matches!(
            CommandStatus::from_uri("Done"),
            CommandStatus::Other(_)
        ));
        for s in [
            CommandStatus::Running,
            CommandStatus::Done,
            CommandStatus::Pending,
        ] {
            assert_eq!(CommandStatus::from_uri(s.uri()), s);
        }
    }
}
