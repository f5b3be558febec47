//! Child processes of one test bed, kept in one process group so they can be
//! stopped together: on drop (also while a test panics), and by a watchdog if
//! the test process itself is killed and never gets to run its destructors.

use super::Error;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Managed {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Owns every process of one test bed.
pub struct Supervisor {
    children: Vec<Managed>,
    pgid: Option<i32>,
    watchdog: Option<Child>,
    /// Directory the watchdog removes if the test process dies.
    dir: PathBuf,
}

impl Supervisor {
    pub fn new(dir: &Path) -> Self {
        Self {
            children: Vec::new(),
            pgid: None,
            watchdog: None,
            dir: dir.to_path_buf(),
        }
    }

    /// Starts `program` with `args`, logging stdout and stderr to
    /// `<dir>/<name>.log`.
    pub fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(&str, String)],
    ) -> Result<(), Error> {
        let log = self.dir.join(format!("{name}.log"));
        let spawn_err = |source: std::io::Error| Error::Spawn {
            name: name.to_string(),
            program: program.to_path_buf(),
            source,
        };
        let out = File::create(&log).map_err(spawn_err)?;
        let err = out.try_clone().map_err(spawn_err)?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(self.pgid.unwrap_or(0));
        let child = cmd.spawn().map_err(spawn_err)?;
        if self.pgid.is_none() {
            let pgid = i32::try_from(child.id()).map_err(|_| Error::Spawn {
                name: name.to_string(),
                program: program.to_path_buf(),
                source: std::io::Error::other("pid out of range"),
            })?;
            self.pgid = Some(pgid);
            self.start_watchdog(pgid)?;
        }
        self.children.push(Managed {
            name: name.to_string(),
            child,
            log,
        });
        Ok(())
    }

    /// A shell loop outside our process group that kills the group and
    /// removes the directory once the test process is gone.
    fn start_watchdog(&mut self, pgid: i32) -> Result<(), Error> {
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill -KILL -- -{pgid} 2>/dev/null; sleep 1; rm -rf '{dir}'",
            parent = std::process::id(),
            dir = self.dir.display()
        );
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn {
                name: "watchdog".into(),
                program: "bash".into(),
                source,
            })?;
        self.watchdog = Some(child);
        Ok(())
    }

    /// Fails with the log tail of the first child that has exited.
    pub fn check_alive(&mut self) -> Result<(), Error> {
        for m in &mut self.children {
            if let Ok(Some(status)) = m.child.try_wait() {
                return Err(Error::Exited {
                    name: m.name.clone(),
                    status: status.to_string(),
                    log_tail: log_tail(&m.log, 30),
                });
            }
        }
        Ok(())
    }

    /// The last lines of a child's log, for error messages.
    pub fn log_tail(&self, name: &str, lines: usize) -> String {
        self.children
            .iter()
            .find(|m| m.name == name)
            .map(|m| log_tail(&m.log, lines))
            .unwrap_or_default()
    }

    /// Stops one child (SIGTERM, then SIGKILL after `grace`).
    pub fn stop(&mut self, name: &str, grace: Duration) {
        if let Some(pos) = self.children.iter().position(|m| m.name == name) {
            let mut m = self.children.remove(pos);
            terminate(&mut m.child, grace);
        }
    }

    /// Kills one child with SIGKILL (no chance to clean up).
    pub fn kill(&mut self, name: &str) {
        if let Some(pos) = self.children.iter().position(|m| m.name == name) {
            let mut m = self.children.remove(pos);
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }

    /// Stops everything: SIGTERM to the group, SIGKILL after a grace period.
    pub fn shutdown(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline
                && self
                    .children
                    .iter_mut()
                    .any(|m| matches!(m.child.try_wait(), Ok(None)))
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        for m in &mut self.children {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
        self.children.clear();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn terminate(child: &mut Child, grace: Duration) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The last `lines` lines of a file (empty if unreadable).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
