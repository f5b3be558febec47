//! The shell table: which shells exist, who owns them, their commands, the
//! quotas Windows enforces, and idle reaping.

use super::backend::{Output, StdinChunk};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Windows' defaults (`winrm get winrm/config/winrs`).
#[derive(Debug, Clone)]
pub struct ShellLimits {
    /// `MaxShellsPerUser`.
    pub max_shells_per_user: usize,
    /// `MaxProcessesPerShell` (commands that have not been reaped).
    pub max_commands_per_shell: usize,
    /// `IdleTimeout`: a shell nobody touched for this long is deleted. A
    /// client may ask for less in its Create request.
    pub idle_timeout: Duration,
    /// Output queued per command before the command is slowed down.
    pub output_queue: usize,
}

impl Default for ShellLimits {
    fn default() -> Self {
        Self {
            max_shells_per_user: 30,
            max_commands_per_shell: 25,
            idle_timeout: Duration::from_secs(7200),
            output_queue: 64,
        }
    }
}

/// What the output side of a command has seen so far.
#[derive(Debug)]
pub(crate) struct OutputState {
    pub rx: mpsc::Receiver<Output>,
    /// Output taken from `rx` but not yet delivered (a chunk larger than one
    /// envelope is split and its rest waits here).
    pub pending: VecDeque<Output>,
    /// Set once the exit code has been delivered to a client.
    pub finished: bool,
}

/// A running (or finished, not yet reaped) command.
#[derive(Debug)]
pub(crate) struct CommandEntry {
    pub stdin: mpsc::UnboundedSender<StdinChunk>,
    pub output: tokio::sync::Mutex<OutputState>,
    pub cancel: watch::Sender<bool>,
}

#[derive(Debug)]
pub(crate) struct Shell {
    pub owner: String,
    pub idle_timeout: Duration,
    pub last_used: Instant,
    pub environment: Vec<(String, String)>,
    pub working_directory: Option<String>,
    pub commands: HashMap<String, Arc<CommandEntry>>,
}

/// Why a shell or command lookup failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    NoShell,
    NoCommand,
}

/// All shells of one server.
#[derive(Debug, Default)]
pub(crate) struct ShellTable {
    shells: Mutex<HashMap<String, Shell>>,
}

impl ShellTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Shell>> {
        // A panic while holding the lock leaves the map consistent (every
        // mutation is a single insert/remove), so recovering is safe.
        self.shells.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn count_for(&self, user: &str) -> usize {
        self.lock().values().filter(|s| s.owner == user).count()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn insert(&self, id: String, shell: Shell) {
        self.lock().insert(id, shell);
    }

    /// Runs `f` on the user's shell, refreshing its idle clock. Another
    /// user's shell is reported as missing, as Windows does.
    pub fn with_shell<T>(
        &self,
        id: &str,
        user: &str,
        f: impl FnOnce(&mut Shell) -> T,
    ) -> Result<T, Lookup> {
        let mut shells = self.lock();
        let shell = shells
            .get_mut(id)
            .filter(|s| s.owner == user)
            .ok_or(Lookup::NoShell)?;
        shell.last_used = Instant::now();
        Ok(f(shell))
    }

    pub fn command(
        &self,
        shell_id: &str,
        user: &str,
        command_id: &str,
    ) -> Result<Arc<CommandEntry>, Lookup> {
        self.with_shell(shell_id, user, |s| s.commands.get(command_id).cloned())?
            .ok_or(Lookup::NoCommand)
    }

    pub fn remove_command(
        &self,
        shell_id: &str,
        user: &str,
        command_id: &str,
    ) -> Result<(), Lookup> {
        let entry = self.with_shell(shell_id, user, |s| s.commands.remove(command_id))?;
        match entry {
            Some(e) => {
                let _ = e.cancel.send(true);
                Ok(())
            }
            None => Err(Lookup::NoCommand),
        }
    }

    /// Removes a shell and cancels everything still running in it.
    pub fn remove(&self, id: &str, user: &str) -> Result<(), Lookup> {
        let mut shells = self.lock();
        match shells.get(id) {
            Some(s) if s.owner == user => {}
            _ => return Err(Lookup::NoShell),
        }
        if let Some(shell) = shells.remove(id) {
            for cmd in shell.commands.values() {
                let _ = cmd.cancel.send(true);
            }
        }
        Ok(())
    }

    /// Deletes shells idle for longer than their timeout; returns how many.
    pub fn reap_idle(&self, now: Instant) -> usize {
        let mut shells = self.lock();
        let expired: Vec<String> = shells
            .iter()
            .filter(|(_, s)| now.saturating_duration_since(s.last_used) > s.idle_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            if let Some(shell) = shells.remove(id) {
                for cmd in shell.commands.values() {
                    let _ = cmd.cancel.send(true);
                }
            }
        }
        expired.len()
    }
}
