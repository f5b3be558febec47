//! Running one command or PowerShell script from Create to Delete.

use super::pool::Pool;
use super::session::ShellSession;
use super::transport::TransportFactory;
use crate::error::{Error, Result};
use crate::powershell::PowerShellCommand;
use crate::soap::{CommandLine, CreateShell, Limits};
use crate::stream::{CommandOutput, DEFAULT_MAX_OUTPUT_BYTES, OutputCollector};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long the server may hold a Receive before answering "no output
    /// yet" (the OperationTimeout fault, after which we poll again).
    pub operation_timeout: Duration,
    /// Total time the command may take, from Create to its exit code.
    pub deadline: Duration,
    /// Cap on stdout plus stderr.
    pub max_output: usize,
    /// MaxEnvelopeSize we announce (the server splits output to fit).
    pub max_envelope_size: u32,
    /// Parse limits for responses.
    pub limits: Limits,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            operation_timeout: Duration::from_secs(20),
            deadline: Duration::from_secs(30 * 60),
            max_output: DEFAULT_MAX_OUTPUT_BYTES,
            max_envelope_size: crate::soap::DEFAULT_MAX_ENVELOPE_SIZE,
            limits: Limits::default(),
        }
    }
}

/// Cleans up a shell when a run is cancelled (its future dropped) before it
/// could do so itself: a fresh pooled connection sends Signal and Delete.
struct CancelGuard<F: TransportFactory> {
    pool: Arc<Pool<F>>,
    shell_id: Option<String>,
    command_id: Option<String>,
    options: RunOptions,
}

impl<F: TransportFactory> Drop for CancelGuard<F> {
    fn drop(&mut self) {
        let Some(shell_id) = self.shell_id.take() else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = self.pool.clone();
        let command_id = self.command_id.take();
        let options = self.options.clone();
        handle.spawn(async move {
            if let Ok(mut conn) = pool.get().await {
                let mut s = ShellSession::new(&mut conn, pool.endpoint().to_string(), pool.stats())
                    .with_limits(options.limits, options.max_envelope_size);
                cleanup(&mut s, &shell_id, command_id.as_deref()).await;
            }
        });
    }
}

/// Terminate (if a command was started) and Delete; best effort, because
/// the run's own result matters more and the server reaps idle shells.
async fn cleanup<T: super::SoapTransport>(
    s: &mut ShellSession<'_, T>,
    shell_id: &str,
    command_id: Option<&str>,
) {
    if let Some(cmd) = command_id
        && let Err(e) = s.terminate(shell_id, cmd).await
    {
        tracing::debug!(shell_id, error = %e, "terminate during cleanup failed");
    }
    if let Err(e) = s.delete(shell_id).await {
        tracing::debug!(shell_id, error = %e, "shell delete during cleanup failed");
    }
}

/// Runs `command` (with optional stdin) in a new shell and returns its output.
pub async fn run_command<F: TransportFactory>(
    pool: &Arc<Pool<F>>,
    command: CommandLine,
    stdin: Option<Vec<u8>>,
    options: &RunOptions,
) -> Result<CommandOutput> {
    let started = Instant::now();
    let mut guard = CancelGuard {
        pool: pool.clone(),
        shell_id: None,
        command_id: None,
        options: options.clone(),
    };
    let mut conn = pool.get().await?;
    let mut session = ShellSession::new(&mut conn, pool.endpoint().to_string(), pool.stats())
        .with_limits(options.limits, options.max_envelope_size);

    let shell_id = session.create(CreateShell::default()).await?;
    guard.shell_id = Some(shell_id.clone());

    let result = drive(
        &mut session,
        &mut guard,
        &shell_id,
        command,
        stdin,
        options,
        started,
    )
    .await;
    cleanup(&mut session, &shell_id, guard.command_id.as_deref()).await;
    guard.shell_id = None;
    result
}

async fn drive<F: TransportFactory, T: super::SoapTransport>(
    session: &mut ShellSession<'_, T>,
    guard: &mut CancelGuard<F>,
    shell_id: &str,
    command: CommandLine,
    stdin: Option<Vec<u8>>,
    options: &RunOptions,
    started: Instant,
) -> Result<CommandOutput> {
    let command_id = session.command(shell_id, command).await?;
    guard.command_id = Some(command_id.clone());
    if let Some(data) = stdin {
        session.send(shell_id, &command_id, data, true).await?;
    }
    let deadline = started + options.deadline;
    let mut output = OutputCollector::for_command(command_id.clone(), options.max_output);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Error::Deadline {
                seconds: options.deadline.as_secs(),
            });
        }
        let wait = options
            .operation_timeout
            .min(remaining)
            .max(Duration::from_millis(100));
        // The server answers within `wait`; a response that never comes is a
        // dead connection, which the deadline must still catch.
        let polled = tokio::time::timeout(
            remaining + Duration::from_secs(5),
            session.receive(shell_id, &command_id, wait),
        )
        .await;
        match polled {
            Err(_) => {
                return Err(Error::Deadline {
                    seconds: options.deadline.as_secs(),
                });
            }
            Ok(Err(e)) if e.is_operation_timeout() => continue,
            Ok(Err(e)) => return Err(e),
            Ok(Ok(response)) => {
                if output.push_response(&response)? {
                    return Ok(output.finish());
                }
            }
        }
    }
}

/// Runs a PowerShell script: `-EncodedCommand` when it fits cmd.exe's
/// command-line limit, else a PowerShell reading the script from stdin.
/// stderr comes back with CLIXML error records decoded.
pub async fn run_powershell<F: TransportFactory>(
    pool: &Arc<Pool<F>>,
    script: &str,
    options: &RunOptions,
) -> Result<CommandOutput> {
    let plan = PowerShellCommand::new(script);
    let stdin = plan.stdin.clone();
    run_command(pool, plan.command_line(), stdin, options).await
}
