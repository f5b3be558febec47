//! One shell's worth of WinRS round trips over one connection. Each method
//! is exactly one request; nothing here retries.

use super::stats::ClientStats;
use super::transport::SoapTransport;
use crate::error::{Error, Result};
use crate::soap::{
    CommandLine, CreateShell, Limits, Operation, ReceiveRequest, ReceiveResponse, Request,
    RequestBody, Response, ResponseBody, SendInput, SignalRequest,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Round trips for one shell over a borrowed connection.
pub struct ShellSession<'t, T: SoapTransport> {
    transport: &'t mut T,
    endpoint: String,
    stats: Arc<ClientStats>,
    limits: Limits,
    max_envelope_size: u32,
}

impl<'t, T: SoapTransport> ShellSession<'t, T> {
    /// A session addressing `endpoint` (the `/wsman` URL written into `wsa:To`).
    pub fn new(transport: &'t mut T, endpoint: impl Into<String>, stats: Arc<ClientStats>) -> Self {
        Self {
            transport,
            endpoint: endpoint.into(),
            stats,
            limits: Limits::default(),
            max_envelope_size: crate::soap::DEFAULT_MAX_ENVELOPE_SIZE,
        }
    }

    /// Sets the response parse limits and the MaxEnvelopeSize we announce.
    pub fn with_limits(mut self, limits: Limits, max_envelope_size: u32) -> Self {
        self.limits = limits;
        self.max_envelope_size = max_envelope_size;
        self
    }

    fn request(&self, body: RequestBody, shell_id: Option<&str>) -> Request {
        let mut r = Request::new(self.endpoint.clone(), body);
        r.header.max_envelope_size = Some(self.max_envelope_size);
        if let Some(id) = shell_id {
            r = r.with_shell_id(id);
        }
        r
    }

    /// Sends one request and returns the typed response; a SOAP fault is
    /// `Error::Fault`, anything that is neither is `Error::HttpStatus`.
    pub async fn call(&mut self, request: Request) -> Result<Response> {
        let operation = request.operation();
        let xml = request.to_xml()?;
        let sent = xml.len();
        let started = Instant::now();
        let reply = self.transport.post(xml.into_bytes()).await?;
        self.stats
            .round_trip(sent, reply.body.len(), started.elapsed());
        match reply.status {
            200 | 500 => match Response::parse(&reply.body, &self.limits) {
                Ok(r) => r.expect(operation),
                Err(Error::Fault(f)) => {
                    if f.kind == crate::fault::FaultKind::OperationTimeout {
                        self.stats.receive_timeout();
                    } else {
                        self.stats.fault(format!("{:?}", f.kind));
                    }
                    Err(Error::Fault(f))
                }
                Err(e) => Err(e),
            },
            status => Err(Error::HttpStatus {
                status,
                operation,
                excerpt: String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)])
                    .into_owned(),
            }),
        }
    }

    /// Creates a shell; returns its ShellId.
    pub async fn create(&mut self, shell: CreateShell) -> Result<String> {
        let r = self
            .call(self.request(RequestBody::Create(shell), None))
            .await?;
        match r.body {
            ResponseBody::Create(c) => Ok(c.shell_id),
            other => Err(Error::UnexpectedResponse {
                expected: Operation::Create,
                got: other.operation(),
            }),
        }
    }

    /// Starts a command; returns its CommandId.
    pub async fn command(&mut self, shell_id: &str, command: CommandLine) -> Result<String> {
        let r = self
            .call(self.request(RequestBody::Command(command), Some(shell_id)))
            .await?;
        match r.body {
            ResponseBody::Command(c) => Ok(c.command_id),
            other => Err(Error::UnexpectedResponse {
                expected: Operation::Command,
                got: other.operation(),
            }),
        }
    }

    /// Writes to the command's stdin.
    pub async fn send(
        &mut self,
        shell_id: &str,
        command_id: &str,
        data: Vec<u8>,
        end: bool,
    ) -> Result<()> {
        let body = RequestBody::Send(SendInput::stdin(command_id, data, end));
        self.call(self.request(body, Some(shell_id)))
            .await
            .map(|_| ())
    }

    /// Polls output, waiting at most `operation_timeout` on the server.
    pub async fn receive(
        &mut self,
        shell_id: &str,
        command_id: &str,
        operation_timeout: Duration,
    ) -> Result<ReceiveResponse> {
        let request = self
            .request(
                RequestBody::Receive(ReceiveRequest::new(command_id)),
                Some(shell_id),
            )
            .with_operation_timeout(operation_timeout);
        let r = self.call(request).await?;
        match r.body {
            ResponseBody::Receive(rr) => Ok(rr),
            other => Err(Error::UnexpectedResponse {
                expected: Operation::Receive,
                got: other.operation(),
            }),
        }
    }

    /// Terminates the command.
    pub async fn terminate(&mut self, shell_id: &str, command_id: &str) -> Result<()> {
        let body = RequestBody::Signal(SignalRequest::terminate(command_id));
        self.call(self.request(body, Some(shell_id)))
            .await
            .map(|_| ())
    }

    /// Deletes the shell.
    pub async fn delete(&mut self, shell_id: &str) -> Result<()> {
        self.call(self.request(RequestBody::Delete, Some(shell_id)))
            .await
            .map(|_| ())
    }
}
