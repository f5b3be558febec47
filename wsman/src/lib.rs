//! WS-Management and WinRS (the WinRM remote shell) for both sides of the
//! wire: the operator's client and the emulator's server.
//!
//! This part of the crate is the pure protocol core: it builds and parses
//! SOAP envelopes, faults, PowerShell command lines and CLIXML, and assembles
//! command output. It does no I/O, so both halves (and their tests) share one
//! model of the wire and cannot drift apart.
//!
//! - [`soap`]: the WinRS shell resource (Create, Command, Send, Receive,
//!   Signal, Delete) as typed requests and responses, with builders and
//!   namespace-aware, bounded parsers for both directions.
//! - [`fault`]: SOAP faults as a typed [`fault::Fault`], parsed and built in
//!   the shape Windows uses.
//! - [`clixml`]: PowerShell's CLIXML error stream, decoded and encoded.
//! - [`powershell`]: how a script becomes a `powershell.exe` command line
//!   (or a stdin payload when it is too long), and the way back.
//! - [`stream`]: reassembly of stdout/stderr from many Receive responses.
//! - [`error`]: the crate's one [`Error`] type.
//!
//! With the `fuzzing` feature (tests only), `fuzzing` is the fuzz harness
//! every crate's `tests/fuzz_*.rs` share.

#![deny(missing_docs)]

pub mod client;
pub mod clixml;
pub mod error;
pub mod fault;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod powershell;
pub mod server;
pub mod soap;
pub mod stream;

pub use error::{Error, Result};
pub use fault::{Fault, FaultKind};

pub mod transport;
