//! Fault rules at the WinRM level: a [`SoapHandler`] around the WinRS
//! service that names each request, asks the fault rules (the same list the
//! VMM model keeps, see [`crate::vmm::faults`]) what fires, and carries it
//! out on the wire.
//!
//! A request is named by its operation and its object:
//!
//! - operation: `WinRM:Create`, `WinRM:Command`, `WinRM:Send`,
//!   `WinRM:Receive`, `WinRM:Signal`, `WinRM:Delete` (so `WinRM:*` matches
//!   them all);
//! - object: for Command, Send, Receive and Signal the command's text —
//!   its command line, then on a new line the script of an
//!   `-EncodedCommand`, then on further lines what was sent to its stdin
//!   (a `run_powershell` stdin payload decoded to its script). So
//!   `*New-SCVirtualMachine*` picks out the requests of the command that
//!   creates VMs however the script travelled. Create and Delete have an
//!   empty object (`*` matches it).
//!
//! Effects on the wire (see [`crate::vmm::FaultEffect`]): `OperationTimeout`
//! holds the request for its OperationTimeout and answers `w:TimedOut`;
//! `DropConnection` closes the connection without handling the request;
//! `DropReply` handles it and closes the connection instead of replying;
//! `Http500` answers a `w:InternalError` fault with HTTP 500; `Delay` holds
//! the reply. Only `DropReply` and `Delay` let the operation happen.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use wsman::fault::{Fault, FaultKind};
use wsman::powershell::{ScriptSource, decode_stdin_script, parse_invocation};
use wsman::server::ServiceConfig;
use wsman::soap::{CommandLine, Limits, Request, RequestBody, Response, ResponseBody, SignalCode};
use wsman::transport::{Disconnect, SoapHandler, SoapReply};

use crate::vmm::Vmm;
use crate::vmm::faults::{WINRM_PREFIX, WinrmFault, WinrmInjected};

/// Commands whose text is remembered for matching their later requests.
const MAX_COMMANDS: usize = 1024;
/// Longest command text kept, in bytes; stdin beyond it is not matched.
const MAX_TEXT: usize = 64 * 1024;

/// The operation name of a WinRS operation, e.g. `WinRM:Receive`.
pub fn operation_name(op: wsman::soap::Operation) -> String {
    format!("{WINRM_PREFIX}{op}")
}

/// The text a Command's rules match: the command line and, for
/// `-EncodedCommand`, the decoded script on the next line.
pub fn command_text(cmd: &CommandLine) -> String {
    let mut text = cmd.full_line();
    if let Ok(invocation) = parse_invocation(&cmd.command, &cmd.arguments)
        && let ScriptSource::Encoded(script) = invocation.script
    {
        text.push('\n');
        text.push_str(&script);
    }
    text
}

fn append_capped(text: &mut String, more: &str) {
    if text.len() >= MAX_TEXT {
        return;
    }
    text.push('\n');
    let mut end = more.len().min(MAX_TEXT - text.len().min(MAX_TEXT));
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    text.push_str(&more[..end]);
}

/// The text of recent commands by CommandId, oldest forgotten first.
#[derive(Debug, Default)]
pub struct CommandTexts {
    texts: HashMap<String, String>,
    order: VecDeque<String>,
}

impl CommandTexts {
    /// Remembers a started command.
    pub fn started(&mut self, command_id: &str, text: String) {
        if self.texts.insert(command_id.to_string(), text).is_none() {
            self.order.push_back(command_id.to_string());
        }
        while self.order.len() > MAX_COMMANDS {
            if let Some(old) = self.order.pop_front() {
                self.texts.remove(&old);
            }
        }
    }

    /// Appends stdin that reached a command.
    pub fn sent(&mut self, command_id: &str, stdin: &str) {
        if let Some(text) = self.texts.get_mut(command_id) {
            append_capped(text, stdin);
        }
    }

    /// Forgets a terminated command.
    pub fn forget(&mut self, command_id: &str) {
        if self.texts.remove(command_id).is_some() {
            self.order.retain(|id| id != command_id);
        }
    }

    /// The text of a command; empty when unknown.
    pub fn text(&self, command_id: &str) -> &str {
        self.texts.get(command_id).map_or("", String::as_str)
    }
}

/// Stdin a Send carries, as text (stdin payloads decoded to their script).
fn sent_text(request: &Request) -> Option<(String, String)> {
    let RequestBody::Send(input) = &request.body else {
        return None;
    };
    let command_id = input
        .streams
        .iter()
        .find_map(|c| c.command_id.clone())
        .unwrap_or_default();
    let text = input
        .streams
        .iter()
        .filter(|c| !c.data.is_empty())
        .map(|c| decode_stdin_script(&c.data))
        .collect::<Vec<_>>()
        .join("\n");
    Some((command_id, text))
}

/// The operation name and object of a request (pure).
pub fn subject(request: &Request, commands: &CommandTexts) -> (String, String) {
    let operation = operation_name(request.operation());
    let object = match &request.body {
        RequestBody::Create(_) | RequestBody::Delete => String::new(),
        RequestBody::Command(cmd) => command_text(cmd),
        RequestBody::Send(_) => {
            let (id, stdin) = sent_text(request).unwrap_or_default();
            let mut text = commands.text(&id).to_string();
            append_capped(&mut text, &stdin);
            text
        }
        RequestBody::Receive(r) => commands
            .text(r.command_id.as_deref().unwrap_or_default())
            .to_string(),
        RequestBody::Signal(s) => commands
            .text(s.command_id.as_deref().unwrap_or_default())
            .to_string(),
    };
    (operation, object)
}

/// How long an `OperationTimeout` fault holds a request: its
/// OperationTimeout, as the service would bound it.
pub fn hold_time(request: &Request, config: &ServiceConfig) -> Duration {
    request
        .header
        .operation_timeout
        .unwrap_or(config.default_operation_timeout)
        .min(config.max_operation_timeout)
}

/// The fault an `Http500` rule answers with: `s:Receiver`/`w:InternalError`.
pub fn internal_error(operation: &str) -> Fault {
    let text = format!(
        "The WS-Management service cannot process the request because of an internal error \
         (injected by an scvmm-sim fault rule for {operation}). "
    );
    Fault {
        kind: FaultKind::Unknown { code: None },
        code: "Receiver".into(),
        subcode: Some("InternalError".into()),
        reason: text.clone(),
        wsman_code: None,
        machine: None,
        message: Some(text),
        provider_fault: None,
        fault_detail: None,
        relates_to: None,
    }
}

/// The WinRS service behind WinRM fault rules.
pub struct WinrmFaults<H> {
    inner: H,
    vmm: Arc<Mutex<Vmm>>,
    commands: Mutex<CommandTexts>,
    config: ServiceConfig,
}

impl<H> WinrmFaults<H> {
    /// Wraps `inner` (normally `Arc<WinrsService>`); rules come from the
    /// model's fault list; `config` is the service's (timeouts, machine
    /// name, parse limits).
    pub fn new(inner: H, vmm: Arc<Mutex<Vmm>>, config: ServiceConfig) -> Self {
        Self {
            inner,
            vmm,
            commands: Mutex::default(),
            config,
        }
    }

    fn decide(&self, request: &Request) -> (String, WinrmInjected) {
        let (operation, object) = match self.commands.lock() {
            Ok(commands) => subject(request, &commands),
            Err(_) => subject(request, &CommandTexts::default()),
        };
        let injected = match self.vmm.lock() {
            Ok(mut vmm) => vmm.faults_mut().check_winrm(&operation, &object),
            Err(_) => WinrmInjected::default(),
        };
        (operation, injected)
    }

    /// Remembers what a handled request tells about its command.
    fn record(&self, request: &Request, reply: &SoapReply, limits: &Limits) {
        if reply.status != 200 {
            return;
        }
        let Ok(mut commands) = self.commands.lock() else {
            return;
        };
        match &request.body {
            RequestBody::Command(cmd) => {
                if let Ok(Response {
                    body: ResponseBody::Command(c),
                    ..
                }) = Response::parse(&reply.body, limits)
                {
                    commands.started(&c.command_id, command_text(cmd));
                }
            }
            RequestBody::Send(_) => {
                if let Some((id, text)) = sent_text(request) {
                    commands.sent(&id, &text);
                }
            }
            RequestBody::Signal(s) if s.code == SignalCode::Terminate => {
                commands.forget(s.command_id.as_deref().unwrap_or_default());
            }
            _ => {}
        }
    }

    fn fault_reply(&self, fault: Fault, request: &Request) -> SoapReply {
        let body = fault
            .with_machine(self.config.machine.clone())
            .with_relates_to(request.header.message_id.clone())
            .to_xml()
            .unwrap_or_default();
        SoapReply::fault(body)
    }
}

impl<H: SoapHandler> SoapHandler for WinrmFaults<H> {
    async fn handle(&self, user: &str, body: Bytes) -> SoapReply {
        // What the service cannot parse it answers itself.
        let Ok(request) = Request::parse(&body, &self.config.parse_limits) else {
            return self.inner.handle(user, body).await;
        };
        let (operation, injected) = self.decide(&request);
        if let Some(fault) = injected.fault {
            tracing::info!(%operation, ?fault, delay = ?injected.delay, "WinRM fault rule fired");
        }
        let reply = match injected.fault {
            None | Some(WinrmFault::DropReply) => {
                let reply = self.inner.handle(user, body).await;
                self.record(&request, &reply, &self.config.parse_limits);
                reply
            }
            Some(WinrmFault::DropConnection) => SoapReply::new(500, Bytes::new()),
            Some(WinrmFault::Http500) => self.fault_reply(internal_error(&operation), &request),
            Some(WinrmFault::OperationTimeout) => {
                tokio::time::sleep(hold_time(&request, &self.config)).await;
                self.fault_reply(Fault::operation_timeout(), &request)
            }
        };
        if !injected.delay.is_zero() {
            tokio::time::sleep(injected.delay).await;
        }
        match injected.fault {
            Some(WinrmFault::DropConnection | WinrmFault::DropReply) => {
                reply.with_disconnect(Disconnect::Abort)
            }
            _ => reply,
        }
    }
}
