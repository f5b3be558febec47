//! The server half of WinRS, used by scvmm-sim: a shell table with Windows'
//! quotas and idle reaping, commands run by a [`CommandBackend`] the caller
//! supplies, and Receive long-polling. HTTP, authentication and sealing live
//! in the transport layer; this part sees the authenticated user and the
//! plain SOAP body.

mod backend;
mod http;
mod scripted;
mod service;
mod shells;

pub use backend::{CommandBackend, CommandIo, CommandSpec, Output, StdinChunk};
pub use scripted::ScriptedBackend;
pub use service::{Reply, ServiceConfig, ServiceStats, WinrsService};
pub use shells::ShellLimits;
