//! What runs a command: the seam between the WinRS protocol and whatever
//! plays the Windows side (the emulator's PowerShell, a test script).
//!
//! A backend gets the command line and channels: stdin chunks in (from Send),
//! stdout/stderr/exit out (to Receive), and a cancellation flag (Signal or
//! Delete). It spawns its own task; the output channel is bounded, so a
//! command producing faster than clients poll is slowed down, not buffered
//! without limit.

use tokio::sync::{mpsc, watch};

/// Everything a backend needs to know about the command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    /// The authenticated user that owns the shell.
    pub user: String,
    /// The shell the command runs in.
    pub shell_id: String,
    /// The command's identifier.
    pub command_id: String,
    /// `rsp:Command` as sent.
    pub command: String,
    /// `rsp:Arguments` as sent (pywinrm joins them into one element).
    pub arguments: Vec<String>,
    /// The shell's environment variables.
    pub environment: Vec<(String, String)>,
    /// The shell's working directory.
    pub working_directory: Option<String>,
}

impl CommandSpec {
    /// The line Windows would run: command and arguments joined by spaces.
    pub fn command_line(&self) -> String {
        std::iter::once(self.command.as_str())
            .chain(self.arguments.iter().map(String::as_str))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One piece of stdin, as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdinChunk {
    /// Raw bytes.
    pub data: Vec<u8>,
    /// The client closed stdin after this chunk.
    pub end: bool,
}

/// Something a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Bytes on stdout.
    Stdout(Vec<u8>),
    /// Bytes on stderr.
    Stderr(Vec<u8>),
    /// The command finished with this exit code; nothing follows.
    Exit(i64),
}

/// The channels a running command talks through.
#[derive(Debug)]
pub struct CommandIo {
    /// Stdin chunks from Send requests.
    pub stdin: mpsc::UnboundedReceiver<StdinChunk>,
    /// Where output goes; closing it without `Exit` reports exit code 1.
    pub output: mpsc::Sender<Output>,
    /// Becomes true when the client terminates the command or deletes the shell.
    pub cancelled: watch::Receiver<bool>,
}

/// Runs commands for the WinRS service.
pub trait CommandBackend: Send + Sync + 'static {
    /// Starts `spec`; must return promptly and do the work on its own task.
    fn start(&self, spec: CommandSpec, io: CommandIo);
}
