//! The server half of the WinRM transport: HTTP/1.1 on hyper, `POST /wsman`,
//! authentication and message sealing, handing plain SOAP bytes to a
//! [`SoapHandler`].
//!
//! NTLM authenticates the TCP connection, not the request, so every
//! connection gets its own service instance and auth state
//! (unauthenticated → NTLM pending → authenticated, possibly sealed). The
//! rules follow what real clients do (transport reference §2.2, §3.1):
//!
//! - 401 answers have an empty body, `Content-Length: 0`, the SOAP
//!   Content-Type (the Go client insists) and one `WWW-Authenticate` header per
//!   offered scheme, `Negotiate` first.
//! - Handshake legs may carry the SOAP body (Go) or not (pywinrm, winrm-rs);
//!   a body on the final leg is processed.
//! - Requests without `Authorization` on an NTLM-authenticated connection are
//!   accepted; Basic authenticates each request on its own.
//! - A sealed request gets a sealed answer, faults included. A sealed body that
//!   does not verify closes the connection: its RC4 state is spent.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::auth::{self, Authorization, Challenge, CredentialStore, Scheme};
use super::error::TransportError;
use super::ntlm::{self, MessageType, NtlmAcceptor, NtlmSession};
use super::sealing;

/// The Content-Type of every plain response, as Windows sends it.
pub const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves requests for paths other than `/wsman` on the same listener (the
/// emulator's inspection API, its web page, `/metrics`). It sees the whole
/// request, does its own authentication, and its answers are never sealed.
pub trait HttpFallback: Send + Sync + 'static {
    /// Answers one request.
    fn call(
        &self,
        request: http::Request<Bytes>,
    ) -> std::pin::Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send + 'static>>;
}

/// What the server needs besides the handler.
#[derive(Clone)]
pub struct ServerConfig {
    /// Accounts for Basic and NTLM.
    pub credentials: Arc<dyn CredentialStore>,
    /// Offer and accept Basic.
    pub basic: bool,
    /// Offer and accept NTLM under the `Negotiate` scheme (what Windows does).
    pub negotiate: bool,
    /// Also offer the bare `NTLM` scheme, which Windows does not; NTLM tokens
    /// under `NTLM` are accepted whenever `negotiate` or this is set.
    pub ntlm: bool,
    /// The Basic realm.
    pub realm: String,
    /// Largest request body accepted, in bytes; bigger ones get 413 and the
    /// connection is closed.
    pub max_body_bytes: usize,
    /// Whether unsealed SOAP is accepted on plain HTTP (WinRM's
    /// `AllowUnencrypted`). When false such requests get Windows' answer, a
    /// 500 with an empty body.
    pub allow_unencrypted: bool,
    /// TLS (HTTPS) when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Where requests for other paths go; without it they get 404.
    pub fallback: Option<Arc<dyn HttpFallback>>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("basic", &self.basic)
            .field("negotiate", &self.negotiate)
            .field("ntlm", &self.ntlm)
            .field("realm", &self.realm)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_unencrypted", &self.allow_unencrypted)
            .field("tls", &self.tls.is_some())
            .field("fallback", &self.fallback.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Basic and Negotiate offered, realm `WSMAN`, 64 MiB bodies, unencrypted
    /// allowed, plain HTTP.
    pub fn new(credentials: Arc<dyn CredentialStore>) -> Self {
        Self {
            credentials,
            basic: true,
            negotiate: true,
            ntlm: false,
            realm: "WSMAN".into(),
            max_body_bytes: 64 * 1024 * 1024,
            allow_unencrypted: true,
            tls: None,
            fallback: None,
        }
    }

    fn challenges(&self) -> Vec<Challenge> {
        let mut out = Vec::new();
        if self.negotiate {
            out.push(Challenge::bare(Scheme::Negotiate));
        }
        if self.ntlm {
            out.push(Challenge::bare(Scheme::Ntlm));
        }
        if self.basic {
            out.push(Challenge::basic(&self.realm));
        }
        out
    }
}

/// What the handler answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapReply {
    /// HTTP status: 200 for responses, 500 for faults.
    pub status: u16,
    /// The SOAP envelope (sealed by the server when the request was).
    pub body: Bytes,
    /// What to do with the connection, for fault injection.
    pub disconnect: Disconnect,
}

impl SoapReply {
    /// A reply with the given status and body.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            body: body.into(),
            disconnect: Disconnect::No,
        }
    }

    /// A 200 reply.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Self::new(200, body)
    }

    /// A 500 reply, the status of SOAP faults.
    pub fn fault(body: impl Into<Bytes>) -> Self {
        Self::new(500, body)
    }

    /// The same reply, with a connection fault.
    pub fn with_disconnect(mut self, disconnect: Disconnect) -> Self {
        self.disconnect = disconnect;
        self
    }
}

/// How a reply treats the connection; everything but `No` is fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disconnect {
    /// Keep the connection.
    #[default]
    No,
    /// Send the reply with `Connection: close`, then close.
    AfterResponse,
    /// Close the connection without any response.
    Abort,
    /// Announce the full `Content-Length`, send only this many body bytes,
    /// then close: a reset mid-response.
    Truncate {
        /// Body bytes sent before the connection is cut.
        after: usize,
    },
}

/// The application behind the transport: gets plain SOAP bytes, answers.
pub trait SoapHandler: Send + Sync + 'static {
    /// Handles one request from the authenticated `user` (the account name,
    /// without domain). Not called for empty bodies, which handshake legs
    /// and probes send.
    fn handle(&self, user: &str, body: Bytes) -> impl Future<Output = SoapReply> + Send;
}

/// A [`SoapHandler`] from a closure, for tests and small tools.
pub fn handler_fn<F, Fut>(f: F) -> FnHandler<F>
where
    F: Fn(String, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = SoapReply> + Send,
{
    FnHandler(f)
}

/// See [`handler_fn`].
#[derive(Debug, Clone)]
pub struct FnHandler<F>(F);

impl<F, Fut> SoapHandler for FnHandler<F>
where
    F: Fn(String, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = SoapReply> + Send,
{
    fn handle(&self, user: &str, body: Bytes) -> impl Future<Output = SoapReply> + Send {
        (self.0)(user.to_owned(), body)
    }
}

/// Counters the server keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// TCP connections accepted (TLS failures included).
    pub connections: AtomicU64,
    /// HTTP requests received.
    pub requests: AtomicU64,
    /// NTLM handshakes completed.
    pub handshakes: AtomicU64,
    /// Requests refused for bad credentials or a failed handshake.
    pub auth_failures: AtomicU64,
    /// Sealed requests that unsealed correctly.
    pub sealed_requests: AtomicU64,
    /// Request body bytes received (as on the wire).
    pub bytes_in: AtomicU64,
    /// Response body bytes sent (as on the wire).
    pub bytes_out: AtomicU64,
}

/// A point-in-time copy of [`ServerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`ServerStats::connections`].
    pub connections: u64,
    /// See [`ServerStats::requests`].
    pub requests: u64,
    /// See [`ServerStats::handshakes`].
    pub handshakes: u64,
    /// See [`ServerStats::auth_failures`].
    pub auth_failures: u64,
    /// See [`ServerStats::sealed_requests`].
    pub sealed_requests: u64,
    /// See [`ServerStats::bytes_in`].
    pub bytes_in: u64,
    /// See [`ServerStats::bytes_out`].
    pub bytes_out: u64,
}

impl ServerStats {
    /// Reads all counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            connections: get(&self.connections),
            requests: get(&self.requests),
            handshakes: get(&self.handshakes),
            auth_failures: get(&self.auth_failures),
            sealed_requests: get(&self.sealed_requests),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
        }
    }
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// The WinRM HTTP server.
pub struct WsmanServer<H> {
    shared: Arc<Shared<H>>,
}

struct Shared<H> {
    config: ServerConfig,
    handler: H,
    stats: Arc<ServerStats>,
}

impl<H> std::fmt::Debug for WsmanServer<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsmanServer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// Controls a running server; dropping it stops the server and closes its
/// open connections.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stats: Arc<ServerStats>,
    kill: watch::Sender<u64>,
    accept_task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server's counters.
    pub fn stats(&self) -> &Arc<ServerStats> {
        &self.stats
    }

    /// Closes every open connection now, mid-request or idle; new connections
    /// are still accepted. For fault injection.
    pub fn drop_connections(&self) {
        self.kill.send_modify(|generation| *generation += 1);
    }

    /// Stops accepting and closes every open connection.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.kill.send_modify(|generation| *generation += 1);
    }
}

impl<H: SoapHandler> WsmanServer<H> {
    /// A server with this configuration and handler.
    pub fn new(config: ServerConfig, handler: H) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                handler,
                stats: Arc::new(ServerStats::default()),
            }),
        }
    }

    /// Binds `addr` and serves in a background task.
    pub async fn bind(self, addr: SocketAddr) -> Result<ServerHandle, TransportError> {
        let listener =
            TcpListener::bind(addr)
                .await
                .map_err(|source| TransportError::ServerIo {
                    step: "binding the listener",
                    source,
                })?;
        self.serve(listener)
    }

    /// Serves connections from `listener` in a background task.
    pub fn serve(self, listener: TcpListener) -> Result<ServerHandle, TransportError> {
        let local_addr = listener
            .local_addr()
            .map_err(|source| TransportError::ServerIo {
                step: "reading the listener address",
                source,
            })?;
        let (kill, mut kill_rx) = watch::channel(0u64);
        let shared = self.shared.clone();
        let accept_task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning.
                        tracing::warn!(error = %err, "accepting a WinRM connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                bump(&shared.stats.connections, 1);
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                // Only kills requested after this connection arrived apply to it.
                kill_rx.borrow_and_update();
                let kill_rx = kill_rx.clone();
                tokio::spawn(async move {
                    match shared.config.tls.clone() {
                        Some(tls) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                            match tokio::time::timeout(
                                TLS_HANDSHAKE_TIMEOUT,
                                acceptor.accept(stream),
                            )
                            .await
                            {
                                Ok(Ok(tls_stream)) => {
                                    serve_io(shared, tls_stream, peer, true, kill_rx).await
                                }
                                Ok(Err(err)) => {
                                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                }
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                        None => serve_io(shared, stream, peer, false, kill_rx).await,
                    }
                });
            }
        });
        Ok(ServerHandle {
            local_addr,
            stats: self.shared.stats.clone(),
            kill,
            accept_task,
        })
    }
}

/// Per-connection authentication state.
enum ConnAuth {
    None,
    Pending { acceptor: NtlmAcceptor },
    Ntlm { user: String, session: NtlmSession },
}

struct ConnState {
    auth: ConnAuth,
    tls: bool,
    peer: SocketAddr,
}

type ResBody = BoxBody<Bytes, std::io::Error>;

/// Why a request ends the connection without a response.
#[derive(Debug)]
struct AbortConnection;

impl std::fmt::Display for AbortConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted")
    }
}

impl std::error::Error for AbortConnection {}

async fn serve_io<H, I>(
    shared: Arc<Shared<H>>,
    io: I,
    peer: SocketAddr,
    tls: bool,
    mut kill: watch::Receiver<u64>,
) where
    H: SoapHandler,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let state = Arc::new(Mutex::new(ConnState {
        auth: ConnAuth::None,
        tls,
        peer,
    }));
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let state = state.clone();
        async move { handle_request(&shared, &state, req).await }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        result = connection => {
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "WinRM connection ended with an error");
            }
        }
        _ = kill.changed() => {
            tracing::debug!(%peer, "WinRM connection dropped on request");
        }
    }
}

fn response(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ResBody> {
    let mut res = Response::new(
        Full::new(body)
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn empty(status: StatusCode) -> Response<ResBody> {
    response(status, SOAP_CONTENT_TYPE, Bytes::new())
}

fn close(mut res: Response<ResBody>) -> Response<ResBody> {
    res.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    res
}

fn unauthorized(challenges: &[Challenge]) -> Response<ResBody> {
    let mut res = empty(StatusCode::UNAUTHORIZED);
    for challenge in challenges {
        if let Ok(value) = HeaderValue::from_str(&challenge.to_header_value()) {
            res.headers_mut().append(WWW_AUTHENTICATE, value);
        }
    }
    res
}

async fn serve_fallback(
    fallback: &dyn HttpFallback,
    req: Request<Incoming>,
    limit: usize,
) -> Response<ResBody> {
    let (parts, body) = req.into_parts();
    let Ok(collected) = Limited::new(body, limit).collect().await else {
        return close(empty(StatusCode::PAYLOAD_TOO_LARGE));
    };
    let response = fallback
        .call(Request::from_parts(parts, collected.to_bytes()))
        .await;
    let (parts, body) = response.into_parts();
    Response::from_parts(
        parts,
        Full::new(body).map_err(|never| match never {}).boxed(),
    )
}

async fn handle_request<H: SoapHandler>(
    shared: &Shared<H>,
    state: &Mutex<ConnState>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, AbortConnection> {
    let stats = &shared.stats;
    let config = &shared.config;
    bump(&stats.requests, 1);
    // One request at a time per HTTP/1.1 connection, so this never waits; it
    // keeps unseal, handler and seal in wire order for the RC4 streams.
    let mut conn = state.lock().await;

    if !req.uri().path().eq_ignore_ascii_case("/wsman") {
        if let Some(fallback) = config.fallback.clone() {
            drop(conn);
            return Ok(serve_fallback(fallback.as_ref(), req, config.max_body_bytes).await);
        }
        return Ok(close(empty(StatusCode::NOT_FOUND)));
    }
    if req.method() != Method::POST {
        return Ok(close(empty(StatusCode::METHOD_NOT_ALLOWED)));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > config.max_body_bytes as u64) {
        return Ok(close(empty(StatusCode::PAYLOAD_TOO_LARGE)));
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    let body = match Limited::new(req.into_body(), config.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Ok(close(empty(StatusCode::PAYLOAD_TOO_LARGE)));
            }
            tracing::debug!(peer = %conn.peer, error = %err, "reading a WinRM request body failed");
            return Err(AbortConnection);
        }
    };
    bump(&stats.bytes_in, body.len() as u64);
    let challenges = config.challenges();

    let Some(authorization) = authorization else {
        if matches!(conn.auth, ConnAuth::Ntlm { .. }) {
            return process(shared, &mut conn, &content_type, body).await;
        }
        return Ok(unauthorized(&challenges));
    };

    let parsed = match auth::parse_authorization(&authorization) {
        Ok(parsed) => parsed,
        Err(err) => {
            tracing::info!(peer = %conn.peer, error = %err, "refusing a malformed Authorization header");
            bump(&stats.auth_failures, 1);
            return Ok(unauthorized(&challenges));
        }
    };
    match parsed {
        Authorization::Basic { user, password } if config.basic => {
            if !auth::verify_basic(config.credentials.as_ref(), &user, &password) {
                tracing::info!(peer = %conn.peer, %user, "Basic authentication failed");
                bump(&stats.auth_failures, 1);
                return Ok(unauthorized(&challenges));
            }
            let account = auth::split_user(&user).0.to_owned();
            respond_plain(shared, &conn, &account, body).await
        }
        Authorization::Token { scheme, token }
            if (scheme == Scheme::Negotiate && config.negotiate)
                || (scheme == Scheme::Ntlm && (config.negotiate || config.ntlm)) =>
        {
            match ntlm::message_type(&token) {
                Some(MessageType::Negotiate) => {
                    let mut acceptor = NtlmAcceptor::new(config.credentials.clone());
                    match acceptor.challenge(&token) {
                        Ok(challenge) => {
                            conn.auth = ConnAuth::Pending { acceptor };
                            let offer = Challenge {
                                scheme,
                                token: Some(challenge),
                                params: Vec::new(),
                            };
                            Ok(unauthorized(&[offer]))
                        }
                        Err(err) => {
                            tracing::info!(peer = %conn.peer, error = %err, "NTLM negotiate refused");
                            conn.auth = ConnAuth::None;
                            bump(&stats.auth_failures, 1);
                            Ok(unauthorized(&challenges))
                        }
                    }
                }
                Some(MessageType::Authenticate) => {
                    let ConnAuth::Pending { acceptor } =
                        std::mem::replace(&mut conn.auth, ConnAuth::None)
                    else {
                        tracing::info!(peer = %conn.peer, "NTLM authenticate without a pending challenge");
                        bump(&stats.auth_failures, 1);
                        return Ok(unauthorized(&challenges));
                    };
                    match acceptor.accept(&token) {
                        Ok((who, session)) => {
                            bump(&stats.handshakes, 1);
                            tracing::debug!(peer = %conn.peer, user = %who.user, domain = %who.domain, "NTLM authenticated");
                            conn.auth = ConnAuth::Ntlm {
                                user: who.user,
                                session,
                            };
                            process(shared, &mut conn, &content_type, body).await
                        }
                        Err(err) => {
                            tracing::info!(peer = %conn.peer, error = %err, "NTLM authentication failed");
                            bump(&stats.auth_failures, 1);
                            Ok(unauthorized(&challenges))
                        }
                    }
                }
                _ => {
                    // SPNEGO (Kerberos or wrapped NTLM), a Type 2 or garbage.
                    tracing::info!(peer = %conn.peer, "unsupported Negotiate token (only raw NTLM is accepted)");
                    conn.auth = ConnAuth::None;
                    bump(&stats.auth_failures, 1);
                    Ok(unauthorized(&challenges))
                }
            }
        }
        Authorization::Basic { .. } | Authorization::Token { .. } => {
            bump(&stats.auth_failures, 1);
            Ok(unauthorized(&challenges))
        }
    }
}

/// A request on an NTLM-authenticated connection: unseal if sealed, run the
/// handler, seal the answer if the request was sealed.
async fn process<H: SoapHandler>(
    shared: &Shared<H>,
    conn: &mut ConnState,
    content_type: &str,
    body: Bytes,
) -> Result<Response<ResBody>, AbortConnection> {
    let ConnAuth::Ntlm { user, session } = &mut conn.auth else {
        return Ok(unauthorized(&shared.config.challenges()));
    };
    if body.is_empty() {
        return Ok(empty(StatusCode::OK));
    }
    if !sealing::is_sealed_content_type(content_type) {
        let user = user.clone();
        return respond_plain(shared, conn, &user, body).await;
    }
    let plaintext = match sealing::unseal_body(session, &body) {
        Ok(plaintext) => plaintext,
        Err(err) => {
            tracing::warn!(peer = %conn.peer, %user, error = %err, "refusing a sealed request");
            conn.auth = ConnAuth::None;
            return Ok(close(empty(StatusCode::BAD_REQUEST)));
        }
    };
    bump(&shared.stats.sealed_requests, 1);
    let reply = shared.handler.handle(user, Bytes::from(plaintext)).await;
    if reply.body.is_empty() {
        return finish(shared, reply, SOAP_CONTENT_TYPE, Bytes::new());
    }
    match sealing::seal_body(session, &reply.body) {
        Ok(sealed) => finish(shared, reply, sealing::CONTENT_TYPE, Bytes::from(sealed)),
        Err(err) => {
            tracing::warn!(peer = %conn.peer, error = %err, "sealing a response failed");
            Err(AbortConnection)
        }
    }
}

async fn respond_plain<H: SoapHandler>(
    shared: &Shared<H>,
    conn: &ConnState,
    user: &str,
    body: Bytes,
) -> Result<Response<ResBody>, AbortConnection> {
    if body.is_empty() {
        return Ok(empty(StatusCode::OK));
    }
    if !shared.config.allow_unencrypted && !conn.tls {
        return Ok(empty(StatusCode::INTERNAL_SERVER_ERROR));
    }
    let reply = shared.handler.handle(user, body).await;
    let body = reply.body.clone();
    finish(shared, reply, SOAP_CONTENT_TYPE, body)
}

fn finish<H>(
    shared: &Shared<H>,
    reply: SoapReply,
    content_type: &'static str,
    wire_body: Bytes,
) -> Result<Response<ResBody>, AbortConnection> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let full_len = wire_body.len();
    match reply.disconnect {
        Disconnect::Abort => Err(AbortConnection),
        Disconnect::Truncate { after } => {
            let sent = wire_body.slice(..after.min(full_len));
            bump(&shared.stats.bytes_out, sent.len() as u64);
            let mut res = Response::new(TruncatedBody { data: Some(sent) }.boxed());
            *res.status_mut() = status;
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            res.headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(full_len));
            Ok(res)
        }
        Disconnect::No | Disconnect::AfterResponse => {
            bump(&shared.stats.bytes_out, full_len as u64);
            let res = response(status, content_type, wire_body);
            Ok(if reply.disconnect == Disconnect::AfterResponse {
                close(res)
            } else {
                res
            })
        }
    }
}

/// A body that sends its bytes and then fails, so hyper cuts the connection
/// short of the announced Content-Length.
struct TruncatedBody {
    data: Option<Bytes>,
}

impl Body for TruncatedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.data.take() {
            Some(data) if !data.is_empty() => Poll::Ready(Some(Ok(Frame::data(data)))),
            _ => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "fault injection: response truncated",
            )))),
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
