//! How the emulator runs what a WinRM client asks for, the way a Windows
//! host would: `powershell.exe -EncodedCommand …` runs one script and
//! reports errors as CLIXML on stderr; `powershell.exe -Command -` is a
//! long-lived process that runs what arrives on stdin, Send after Send, and
//! reports errors as text; anything else goes to a tiny `cmd.exe` with the
//! few builtins scripts use.
//!
//! The PowerShell itself is behind [`ScriptRunner`], so this logic is
//! independent of the interpreter and testable on its own.

use std::sync::Arc;
use wsman::powershell::{ScriptSource, parse_invocation};
use wsman::server::{CommandBackend, CommandIo, CommandSpec, Output};

/// How errors are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// CLIXML error records, as `-EncodedCommand` runs produce.
    Clixml,
    /// PowerShell's plain console text, as `-Command -` sessions produce.
    Text,
}

/// The result of running one script (or one chunk of a stdin session).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptOutcome {
    /// The success stream, rendered as text.
    pub stdout: String,
    /// Errors and warnings, already rendered in the requested style.
    pub stderr: String,
    /// Set when the script called `exit N` (or failed terminally: 1).
    pub exit_code: Option<i64>,
}

/// A PowerShell session: keeps variables across runs.
pub trait ScriptRunner: Send {
    /// Runs `script` in this session.
    fn run(&mut self, script: &str, errors: ErrorStyle) -> ScriptOutcome;
}

/// Makes a fresh session per process (per WinRS command).
pub type RunnerFactory = Arc<dyn Fn() -> Box<dyn ScriptRunner> + Send + Sync>;

/// The backend the emulator serves WinRM with.
#[derive(Clone)]
pub struct PowerShellBackend {
    runners: RunnerFactory,
}

impl PowerShellBackend {
    /// A backend that starts sessions with `runners`.
    pub fn new(runners: RunnerFactory) -> Self {
        Self { runners }
    }
}

impl CommandBackend for PowerShellBackend {
    fn start(&self, spec: CommandSpec, io: CommandIo) {
        let runners = self.runners.clone();
        tokio::spawn(run_process(runners, spec, io));
    }
}

async fn emit(io: &CommandIo, outcome: &ScriptOutcome) -> bool {
    if !outcome.stdout.is_empty()
        && io
            .output
            .send(Output::Stdout(outcome.stdout.clone().into_bytes()))
            .await
            .is_err()
    {
        return false;
    }
    if !outcome.stderr.is_empty()
        && io
            .output
            .send(Output::Stderr(outcome.stderr.clone().into_bytes()))
            .await
            .is_err()
    {
        return false;
    }
    true
}

/// Runs `script` on a blocking thread (the interpreter is synchronous and
/// cmdlets may wait for VMM jobs).
async fn run_blocking(
    mut runner: Box<dyn ScriptRunner>,
    script: String,
    style: ErrorStyle,
) -> (Box<dyn ScriptRunner>, ScriptOutcome) {
    match tokio::task::spawn_blocking(move || {
        let outcome = runner.run(&script, style);
        (runner, outcome)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => {
            // The interpreter panicked: report it like a crashed process.
            let outcome = ScriptOutcome {
                stdout: String::new(),
                stderr: format!("scvmm-sim: the PowerShell interpreter failed: {e}\r\n"),
                exit_code: Some(1),
            };
            (Box::new(Crashed), outcome)
        }
    }
}

struct Crashed;

impl ScriptRunner for Crashed {
    fn run(&mut self, _script: &str, _errors: ErrorStyle) -> ScriptOutcome {
        ScriptOutcome {
            exit_code: Some(1),
            ..ScriptOutcome::default()
        }
    }
}

async fn run_process(runners: RunnerFactory, spec: CommandSpec, mut io: CommandIo) {
    let mut cancelled = io.cancelled.clone();
    let work = async {
        let code = match parse_invocation(&spec.command, &spec.arguments) {
            Ok(invocation) => match invocation.script {
                ScriptSource::Encoded(script) | ScriptSource::Command(script) => {
                    let (_, outcome) = run_blocking(runners(), script, ErrorStyle::Clixml).await;
                    emit(&io, &outcome).await;
                    outcome.exit_code.unwrap_or(0)
                }
                ScriptSource::Stdin | ScriptSource::Interactive => {
                    stdin_session(runners(), &mut io).await
                }
                ScriptSource::File { path, .. } => {
                    let outcome = ScriptOutcome {
                        stderr: wsman::clixml::encode_error(&format!(
                            "The argument '{path}' to the -File parameter does not exist: scvmm-sim has no script files"
                        )),
                        ..ScriptOutcome::default()
                    };
                    emit(&io, &outcome).await;
                    -196_608
                }
            },
            Err(_) => cmd(&spec, &io).await,
        };
        let _ = io.output.send(Output::Exit(code)).await;
    };
    tokio::select! {
        _ = work => {}
        _ = cancelled.wait_for(|c| *c) => {}
    }
}

/// `powershell -Command -`: statements arrive on stdin across several
/// Sends; each complete chunk (ending in a newline) runs in the same
/// session, like the console host reading its input.
async fn stdin_session(mut runner: Box<dyn ScriptRunner>, io: &mut CommandIo) -> i64 {
    let mut pending = String::new();
    let mut last_exit = 0;
    while let Some(chunk) = io.stdin.recv().await {
        pending.push_str(&String::from_utf8_lossy(&chunk.data));
        let complete = pending.ends_with('\n') || chunk.end;
        if complete && !pending.trim().is_empty() {
            // Payloads built by our client decode to a whole script.
            let script = wsman::powershell::decode_stdin_script(pending.as_bytes());
            pending.clear();
            let (r, outcome) = run_blocking(runner, script, ErrorStyle::Text).await;
            runner = r;
            if !emit(io, &outcome).await {
                return 1;
            }
            if let Some(code) = outcome.exit_code {
                return code;
            }
            last_exit = 0;
        }
        if chunk.end {
            break;
        }
    }
    last_exit
}

/// The `cmd.exe` builtins scripts and clients use for probing.
async fn cmd(spec: &CommandSpec, io: &CommandIo) -> i64 {
    let line = spec.command_line();
    let line = line
        .strip_prefix("cmd /c ")
        .or_else(|| line.strip_prefix("cmd.exe /c "))
        .unwrap_or(&line)
        .trim()
        .to_string();
    let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
    let (stdout, stderr, code) = match word.to_ascii_lowercase().as_str() {
        "echo" => (format!("{rest}\r\n"), String::new(), 0),
        "hostname" => ("SCVMM-SIM\r\n".to_string(), String::new(), 0),
        "whoami" => (
            format!("{}\r\n", spec.user.to_lowercase()),
            String::new(),
            0,
        ),
        "ver" => (
            "\r\nMicrosoft Windows [Version 10.0.20348.2340]\r\n".to_string(),
            String::new(),
            0,
        ),
        "exit" => (
            String::new(),
            String::new(),
            rest.trim().parse().unwrap_or(0),
        ),
        "" => (String::new(), String::new(), 0),
        _ => (
            String::new(),
            format!(
                "'{word}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
            ),
            1,
        ),
    };
    emit(
        io,
        &ScriptOutcome {
            stdout,
            stderr,
            exit_code: None,
        },
    )
    .await;
    code
}
