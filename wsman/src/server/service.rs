//! The WinRS service: one SOAP request in, one SOAP response (or fault) out,
//! behaving the way Windows does: shells owned by the user who created them,
//! quotas, Receive long-polling that answers with the OperationTimeout fault
//! when nothing arrived, output split to fit the client's MaxEnvelopeSize,
//! and `RelatesTo` on every answer. Transport (HTTP, auth, sealing) is not
//! its business: it gets the authenticated user and the plain body.

use super::backend::{CommandBackend, CommandIo, CommandSpec, Output, StdinChunk};
use super::shells::{CommandEntry, Lookup, OutputState, Shell, ShellLimits, ShellTable};
use crate::fault::{Fault, FaultKind};
use crate::soap::{
    CommandLine, CommandResponse, CommandState, CommandStatus, CreateResponse, CreateShell, Limits,
    ReceiveRequest, ReceiveResponse, Request, RequestBody, Response, ResponseBody, SendInput,
    SignalCode, SignalRequest, StreamChunk, new_guid,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The shell resource URI Windows reports for cmd shells.
const CMD_RESOURCE_URI: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";

/// How the service behaves.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Quotas and timeouts of the shell table.
    pub limits: ShellLimits,
    /// Machine name reported in faults.
    pub machine: String,
    /// `x:ResourceCreated/a:Address` of new shells (the server's URL).
    pub address: String,
    /// OperationTimeout used when a Receive does not carry one.
    pub default_operation_timeout: Duration,
    /// Upper bound on the OperationTimeout a client may ask for.
    pub max_operation_timeout: Duration,
    /// Size and depth limits for parsing requests.
    pub parse_limits: Limits,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            limits: ShellLimits::default(),
            machine: "localhost".into(),
            address: "http://localhost:5985/wsman".into(),
            default_operation_timeout: Duration::from_secs(60),
            max_operation_timeout: Duration::from_secs(600),
            parse_limits: Limits::default(),
        }
    }
}

/// An HTTP-level answer: status and SOAP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// 200 for responses, 500 for faults (as Windows answers), 400 for
    /// requests that are not SOAP at all.
    pub status: u16,
    /// The envelope.
    pub body: String,
}

/// Counters a server exports.
#[derive(Debug, Default)]
pub struct ServiceStats {
    /// Requests handled, all operations.
    pub requests: AtomicU64,
    /// Shells created.
    pub shells_created: AtomicU64,
    /// Commands started.
    pub commands_started: AtomicU64,
    /// Receives answered with the OperationTimeout fault.
    pub receive_timeouts: AtomicU64,
    /// Other faults returned.
    pub faults: AtomicU64,
    /// Shells deleted by the idle reaper.
    pub shells_reaped: AtomicU64,
}

/// The WinRS shell service.
pub struct WinrsService {
    backend: Arc<dyn CommandBackend>,
    table: ShellTable,
    config: ServiceConfig,
    stats: Arc<ServiceStats>,
}

impl WinrsService {
    /// A service running commands on `backend`.
    pub fn new(backend: Arc<dyn CommandBackend>, config: ServiceConfig) -> Self {
        Self {
            backend,
            table: ShellTable::default(),
            config,
            stats: Arc::new(ServiceStats::default()),
        }
    }

    /// The service's counters.
    pub fn stats(&self) -> Arc<ServiceStats> {
        self.stats.clone()
    }

    /// Shells currently open, for tests that check clients clean up.
    pub fn open_shells(&self) -> usize {
        self.table.len()
    }

    /// Deletes idle shells; a server calls this periodically.
    pub fn reap_idle(&self) -> usize {
        let n = self.table.reap_idle(Instant::now());
        self.stats
            .shells_reaped
            .fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Handles one request from `user`.
    pub async fn handle(&self, user: &str, body: &[u8]) -> Reply {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.table.reap_idle(Instant::now());
        let request = match Request::parse(body, &self.config.parse_limits) {
            Ok(r) => r,
            Err(e) => {
                self.stats.faults.fetch_add(1, Ordering::Relaxed);
                return self.fault_reply(
                    Fault::invalid_selectors(format!(
                        "The WS-Management service cannot process the request: {e}"
                    )),
                    None,
                );
            }
        };
        let relates_to = request.header.message_id.clone();
        let result = match &request.body {
            RequestBody::Create(create) => self.create(user, create),
            RequestBody::Command(cmd) => self.command(user, &request, cmd),
            RequestBody::Send(input) => self.send(user, &request, input),
            RequestBody::Receive(recv) => self.receive(user, &request, recv).await,
            RequestBody::Signal(signal) => self.signal(user, &request, signal),
            RequestBody::Delete => self.delete(user, &request),
        };
        match result {
            Ok(body) => match Response::to_request(&request, body).to_xml() {
                Ok(xml) => Reply {
                    status: 200,
                    body: xml,
                },
                Err(e) => self.fault_reply(
                    Fault::invalid_selectors(format!("The response could not be written: {e}")),
                    relates_to,
                ),
            },
            Err(fault) => {
                if fault.kind == FaultKind::OperationTimeout {
                    self.stats.receive_timeouts.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.stats.faults.fetch_add(1, Ordering::Relaxed);
                }
                self.fault_reply(*fault, relates_to)
            }
        }
    }

    fn fault_reply(&self, fault: Fault, relates_to: Option<String>) -> Reply {
        let fault = fault
            .with_machine(self.config.machine.clone())
            .with_relates_to(relates_to);
        // A fault that cannot be serialised still has to reach the client as a 500.
        let body = fault.to_xml().unwrap_or_default();
        Reply { status: 500, body }
    }

    fn shell_id<'a>(&self, request: &'a Request) -> Result<&'a str, Box<Fault>> {
        request.header.shell_id.as_deref().ok_or_else(|| {
            Box::new(Fault::invalid_selectors(
                "The request did not name a shell (ShellId selector missing).".into(),
            ))
        })
    }

    fn create(&self, user: &str, create: &CreateShell) -> Result<ResponseBody, Box<Fault>> {
        let limits = &self.config.limits;
        if self.table.count_for(user) >= limits.max_shells_per_user {
            return Err(Box::new(Fault::shell_quota(
                u32::try_from(limits.max_shells_per_user).unwrap_or(u32::MAX),
            )));
        }
        let idle_timeout = create
            .idle_timeout
            .map_or(limits.idle_timeout, |t| t.min(limits.idle_timeout));
        let shell_id = new_guid().to_uppercase();
        self.table.insert(
            shell_id.clone(),
            Shell {
                owner: user.to_string(),
                idle_timeout,
                last_used: Instant::now(),
                environment: create
                    .environment
                    .iter()
                    .map(|e| (e.name.clone(), e.value.clone()))
                    .collect(),
                working_directory: create.working_directory.clone(),
                commands: Default::default(),
            },
        );
        self.stats.shells_created.fetch_add(1, Ordering::Relaxed);
        Ok(ResponseBody::Create(CreateResponse {
            shell_id,
            address: Some(self.config.address.clone()),
            resource_uri: Some(CMD_RESOURCE_URI.into()),
            owner: Some(user.to_string()),
            client_ip: None,
            idle_timeout: Some(idle_timeout),
            input_streams: create.input_streams.clone(),
            output_streams: create.output_streams.clone(),
        }))
    }

    fn command(
        &self,
        user: &str,
        request: &Request,
        cmd: &CommandLine,
    ) -> Result<ResponseBody, Box<Fault>> {
        let shell_id = self.shell_id(request)?;
        let command_id = new_guid().to_uppercase();
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::channel(self.config.limits.output_queue.max(1));
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let max = self.config.limits.max_commands_per_shell;
        let spec = self
            .table
            .with_shell(shell_id, user, |shell| {
                if shell.commands.len() >= max {
                    return None;
                }
                shell.commands.insert(
                    command_id.clone(),
                    Arc::new(CommandEntry {
                        stdin: stdin_tx,
                        output: tokio::sync::Mutex::new(OutputState {
                            rx: out_rx,
                            pending: VecDeque::new(),
                            finished: false,
                        }),
                        cancel: cancel_tx,
                    }),
                );
                Some(CommandSpec {
                    user: user.to_string(),
                    shell_id: shell_id.to_string(),
                    command_id: command_id.clone(),
                    command: cmd.command.clone(),
                    arguments: cmd.arguments.clone(),
                    environment: shell.environment.clone(),
                    working_directory: shell.working_directory.clone(),
                })
            })
            .map_err(|_| Box::new(Fault::shell_not_found(shell_id)))?
            .ok_or_else(|| Box::new(Fault::commands_per_shell_quota()))?;
        self.backend.start(
            spec,
            CommandIo {
                stdin: stdin_rx,
                output: out_tx,
                cancelled: cancel_rx,
            },
        );
        self.stats.commands_started.fetch_add(1, Ordering::Relaxed);
        Ok(ResponseBody::Command(CommandResponse { command_id }))
    }

    fn lookup_fault(&self, shell_id: &str, e: Lookup) -> Box<Fault> {
        Box::new(match e {
            Lookup::NoShell => Fault::shell_not_found(shell_id),
            Lookup::NoCommand => Fault::command_not_found(),
        })
    }

    fn send(
        &self,
        user: &str,
        request: &Request,
        input: &SendInput,
    ) -> Result<ResponseBody, Box<Fault>> {
        let shell_id = self.shell_id(request)?;
        for chunk in &input.streams {
            let command_id = chunk.command_id.as_deref().unwrap_or_default();
            let entry = self
                .table
                .command(shell_id, user, command_id)
                .map_err(|e| self.lookup_fault(shell_id, e))?;
            // A command that already exited no longer reads stdin; Windows
            // accepts the Send all the same.
            let _ = entry.stdin.send(StdinChunk {
                data: chunk.data.clone(),
                end: chunk.end,
            });
        }
        Ok(ResponseBody::Send)
    }

    /// Raw output bytes that fit one envelope: base64 grows data by 4/3 and
    /// the envelope around it takes a few KiB.
    fn output_budget(&self, request: &Request) -> usize {
        let max_envelope = request
            .header
            .max_envelope_size
            .unwrap_or(crate::soap::DEFAULT_MAX_ENVELOPE_SIZE) as usize;
        (max_envelope.saturating_sub(4096) / 4 * 3).max(1024)
    }

    async fn receive(
        &self,
        user: &str,
        request: &Request,
        recv: &ReceiveRequest,
    ) -> Result<ResponseBody, Box<Fault>> {
        let shell_id = self.shell_id(request)?;
        let command_id = recv.command_id.clone().unwrap_or_default();
        let entry = self
            .table
            .command(shell_id, user, &command_id)
            .map_err(|e| self.lookup_fault(shell_id, e))?;
        let timeout = request
            .header
            .operation_timeout
            .unwrap_or(self.config.default_operation_timeout)
            .min(self.config.max_operation_timeout);
        let budget = self.output_budget(request);

        // One Receive at a time per command keeps output in order.
        let mut state = entry.output.lock().await;
        if state.finished {
            return Err(Box::new(Fault::command_not_found()));
        }
        if state.pending.is_empty() {
            match tokio::time::timeout(timeout, state.rx.recv()).await {
                Err(_) => return Err(Box::new(Fault::operation_timeout())),
                Ok(Some(o)) => state.pending.push_back(o),
                // The backend dropped its sender without an exit code.
                Ok(None) => state.pending.push_back(Output::Exit(1)),
            }
        }
        let mut queued: usize = state.pending.iter().map(output_len).sum();
        while queued < budget {
            match state.rx.try_recv() {
                Ok(o) => {
                    queued += output_len(&o);
                    let exit = matches!(o, Output::Exit(_));
                    state.pending.push_back(o);
                    if exit {
                        break;
                    }
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    if !state.pending.iter().any(|o| matches!(o, Output::Exit(_))) {
                        state.pending.push_back(Output::Exit(1));
                    }
                    break;
                }
            }
        }
        let (streams, exit) = take_chunks(&mut state.pending, budget, &command_id);
        let mut response = ReceiveResponse {
            streams,
            state: Some(CommandState {
                command_id: Some(command_id.clone()),
                status: CommandStatus::Running,
                exit_code: None,
            }),
            sequence_id: None,
        };
        if let Some(code) = exit {
            state.finished = true;
            for name in ["stdout", "stderr"] {
                response.streams.push(StreamChunk {
                    name: name.into(),
                    command_id: Some(command_id.clone()),
                    data: Vec::new(),
                    end: true,
                });
            }
            response.state = Some(CommandState {
                command_id: Some(command_id),
                status: CommandStatus::Done,
                exit_code: Some(code),
            });
        }
        Ok(ResponseBody::Receive(response))
    }

    fn signal(
        &self,
        user: &str,
        request: &Request,
        signal: &SignalRequest,
    ) -> Result<ResponseBody, Box<Fault>> {
        let shell_id = self.shell_id(request)?;
        let command_id = signal.command_id.clone().unwrap_or_default();
        match signal.code {
            SignalCode::Terminate => self
                .table
                .remove_command(shell_id, user, &command_id)
                .map_err(|e| self.lookup_fault(shell_id, e))?,
            _ => {
                let entry = self
                    .table
                    .command(shell_id, user, &command_id)
                    .map_err(|e| self.lookup_fault(shell_id, e))?;
                let _ = entry.cancel.send(true);
            }
        }
        Ok(ResponseBody::Signal)
    }

    fn delete(&self, user: &str, request: &Request) -> Result<ResponseBody, Box<Fault>> {
        let shell_id = self.shell_id(request)?;
        self.table
            .remove(shell_id, user)
            .map_err(|e| self.lookup_fault(shell_id, e))?;
        Ok(ResponseBody::Delete)
    }
}

fn output_len(o: &Output) -> usize {
    match o {
        Output::Stdout(d) | Output::Stderr(d) => d.len(),
        Output::Exit(_) => 0,
    }
}

/// Moves output from `pending` into stream chunks of at most `budget` bytes
/// in all, merging neighbours on the same stream; stops at the exit code.
fn take_chunks(
    pending: &mut VecDeque<Output>,
    budget: usize,
    command_id: &str,
) -> (Vec<StreamChunk>, Option<i64>) {
    let mut chunks: Vec<StreamChunk> = Vec::new();
    let mut used = 0usize;
    while let Some(o) = pending.pop_front() {
        let (name, mut data) = match o {
            Output::Exit(code) => return (chunks, Some(code)),
            Output::Stdout(d) => ("stdout", d),
            Output::Stderr(d) => ("stderr", d),
        };
        let room = budget.saturating_sub(used);
        if room == 0 {
            pending.push_front(if name == "stdout" {
                Output::Stdout(data)
            } else {
                Output::Stderr(data)
            });
            break;
        }
        if data.len() > room {
            let rest = data.split_off(room);
            pending.push_front(if name == "stdout" {
                Output::Stdout(rest)
            } else {
                Output::Stderr(rest)
            });
        }
        used += data.len();
        match chunks.last_mut() {
            Some(last) if last.name == name => last.data.extend_from_slice(&data),
            _ => chunks.push(StreamChunk {
                name: name.into(),
                command_id: Some(command_id.to_string()),
                data,
                end: false,
            }),
        }
    }
    (chunks, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_the_budget_and_keep_order() {
        let mut pending: VecDeque<Output> = VecDeque::from(vec![
            Output::Stdout(vec![b'a'; 700]),
            Output::Stdout(vec![b'b'; 700]),
            Output::Stderr(vec![b'e'; 10]),
            Output::Exit(3),
        ]);
        let (chunks, exit) = take_chunks(&mut pending, 1024, "C");
        assert_eq!(exit, None);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].data.len(), 1024);
        let (chunks, exit) = take_chunks(&mut pending, 1024, "C");
        assert_eq!(exit, Some(3));
        assert_eq!(chunks[0].name, "stdout");
        assert_eq!(chunks[0].data.len(), 376);
        assert_eq!(chunks[1].name, "stderr");
        assert!(pending.is_empty());
    }
}
