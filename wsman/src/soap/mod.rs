//! The WinRS shell resource as SOAP: typed requests and responses for both
//! directions, with builders that write exactly-shaped envelopes and parsers
//! that match on namespace URIs (never prefixes) and tolerate what real
//! clients and servers send: any prefixes, CDATA, whitespace, unknown
//! elements, missing optional headers and an OptionSet outside the header.
//!
//! The client builds a [`Request`] and parses a [`Response`]; the server
//! parses a [`Request`] and builds a [`Response`] (or a
//! [`Fault`](crate::fault::Fault)).

mod command;
mod duration;
mod header;
pub mod ns;
mod operation;
mod request;
mod response;
mod shell;
mod signal;
mod streams;
mod tree;
mod writer;

pub use command::{CommandLine, CommandResponse};
pub use duration::{format_duration, parse_duration};
pub use header::{
    DEFAULT_LOCALE, DEFAULT_MAX_ENVELOPE_SIZE, DEFAULT_OPERATION_TIMEOUT, Header, OptionSet,
    ShellOption, new_guid, new_message_id,
};
pub use operation::Operation;
pub use request::{Request, RequestBody};
pub use response::{Response, ResponseBody};
pub use shell::{CODEPAGE_UTF8, CreateResponse, CreateShell, EnvVar};
pub use signal::{SignalCode, SignalRequest};
pub use streams::{
    CommandState, CommandStatus, ReceiveRequest, ReceiveResponse, SendInput, StreamChunk,
};
pub use tree::Limits;

pub(crate) use header::HeaderStyle;
pub(crate) use tree::{Element, parse as tree_parse, parse_envelope};
pub(crate) use writer::{XmlWriter, open_envelope};
