//! The client half of the WinRM transport: one HTTP/1.1 connection with its
//! authentication state, and a small pool of them.
//!
//! - Basic is sent preemptively on every request.
//! - NTLM (under `Negotiate`, as Windows expects) authenticates the
//!   connection: Type 1 with an empty body → 401 with the challenge → Type 3
//!   with an empty body → later requests carry no `Authorization` and, on
//!   plain HTTP, are sealed (MS-WSMV 2.2.9.1).
//! - A request is never resent. When the server has closed an idle
//!   connection, the next [`Connection::post`] opens a new one and
//!   authenticates again *before* sending; once a request has gone out, any
//!   failure is returned and the caller decides whether a retry is safe.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT, WWW_AUTHENTICATE,
};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::auth::{self, Password, Scheme};
use super::error::{HandshakeStep, TransportError};
use super::kerberos::{
    self, KerberosFailure, KerberosInitiator, KerberosSession, KerberosSettings,
};
use super::ntlm::{NtlmInitiator, NtlmSession};
use super::sealing;
use super::server::SOAP_CONTENT_TYPE;
use super::tls::{self, TlsTrust};

const USER_AGENT_VALUE: &str = concat!("wsman-rs/", env!("CARGO_PKG_VERSION"));

/// How the client authenticates.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// HTTP Basic: local accounts only, needs `Auth/Basic=true` on the server.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Password,
    },
    /// NTLM under the `Negotiate` scheme.
    Ntlm {
        /// User name: `user`, `DOMAIN\user` or `user@domain`.
        user: String,
        /// Password.
        password: Password,
    },
    /// Kerberos (raw krb5 tokens under the `Negotiate` scheme, as pywinrm
    /// sends them), with mutual authentication and Kerberos sealing.
    Kerberos {
        /// User name: `user@REALM`, `REALM\user`, or `user` with a realm set.
        user: String,
        /// Password.
        password: Password,
        /// Realm, KDC and service principal.
        settings: KerberosSettings,
    },
    /// Kerberos when a ticket can be had from the KDC, else NTLM; both under
    /// the `Negotiate` scheme.
    Negotiate {
        /// User name: `user@REALM`, `REALM\user` (also the NTLM domain), or `user`.
        user: String,
        /// Password.
        password: Password,
        /// Realm, KDC and service principal for the Kerberos attempt.
        settings: KerberosSettings,
    },
}

impl ClientAuth {
    fn scheme_name(&self) -> &'static str {
        match self {
            ClientAuth::Basic { .. } => "Basic",
            ClientAuth::Ntlm { .. } => "NTLM",
            ClientAuth::Kerberos { .. } => "Kerberos",
            ClientAuth::Negotiate { .. } => "Negotiate",
        }
    }
}

/// The keys a link seals with.
enum Session {
    Ntlm(Box<NtlmSession>),
    Kerberos(Box<KerberosSession>),
}

impl Session {
    fn seal(&mut self, body: &[u8]) -> Result<Vec<u8>, super::error::SealingError> {
        match self {
            Session::Ntlm(session) => sealing::seal_body(session.as_mut(), body),
            Session::Kerberos(session) => kerberos::seal_body(session, body),
        }
    }

    fn unseal(&mut self, body: &[u8]) -> Result<Vec<u8>, super::error::SealingError> {
        match self {
            Session::Ntlm(session) => sealing::unseal_body(session.as_mut(), body),
            Session::Kerberos(session) => kerberos::unseal_body(session, body),
        }
    }
}

/// Whether SOAP messages are sealed (encrypted with the NTLM session keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encryption {
    /// Seal with NTLM on plain HTTP; rely on TLS on HTTPS.
    #[default]
    Auto,
    /// Always seal (NTLM only), even inside TLS.
    Always,
    /// Never seal; on plain HTTP the server needs `AllowUnencrypted=true`.
    Never,
}

/// Everything needed to reach one WinRM endpoint.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http://host:5985/wsman` or `https://host:5986/wsman`; the port and
    /// path default to those.
    pub endpoint: String,
    /// Credentials and scheme.
    pub auth: ClientAuth,
    /// Message sealing policy.
    pub encryption: Encryption,
    /// Certificate trust for HTTPS.
    pub tls: TlsTrust,
    /// Limit for TCP connect plus TLS handshake.
    pub connect_timeout: Duration,
    /// Limit for one HTTP exchange (request sent, response read).
    pub request_timeout: Duration,
    /// Largest response body accepted, as on the wire.
    pub max_response_bytes: usize,
}

impl ClientConfig {
    /// Defaults: sealing `Auto`, system roots, 10 s connect, 120 s per
    /// request, 64 MiB responses.
    pub fn new(endpoint: impl Into<String>, auth: ClientAuth) -> Self {
        Self {
            endpoint: endpoint.into(),
            auth,
            encryption: Encryption::Auto,
            tls: TlsTrust::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

#[derive(Debug)]
struct Target {
    /// The endpoint as the user wrote it, for messages.
    display: String,
    host: String,
    port: u16,
    path: String,
    host_header: HeaderValue,
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// A validated [`ClientConfig`] with its TLS configuration built: makes
/// connections to one endpoint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

#[derive(Debug)]
struct ConnectorInner {
    target: Target,
    config: ClientConfig,
    seal: bool,
}

fn parse_target(config: &ClientConfig) -> Result<Target, TransportError> {
    let bad = |reason: String| TransportError::Config { reason };
    let uri: Uri = config
        .endpoint
        .parse()
        .map_err(|_| bad(format!("endpoint {:?} is not a URL", config.endpoint)))?;
    let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("http") => false,
        Some("https") => true,
        _ => {
            return Err(bad(format!(
                "endpoint {:?} must start with http:// or https://",
                config.endpoint
            )));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| bad(format!("endpoint {:?} has no host", config.endpoint)))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 5986 } else { 5985 });
    let path = match uri.path() {
        "" | "/" => "/wsman".to_owned(),
        path => path.to_owned(),
    };
    let host_header = HeaderValue::from_str(&format!("{host}:{port}"))
        .map_err(|_| bad(format!("host {host:?} cannot be sent in a Host header")))?;
    let tls = if https {
        Some(tls::client_config(&config.tls)?)
    } else {
        None
    };
    Ok(Target {
        display: format!(
            "{}://{host}:{port}{path}",
            if https { "https" } else { "http" }
        ),
        host,
        port,
        path,
        host_header,
        tls,
    })
}

impl Connector {
    /// Validates the configuration and prepares TLS.
    pub fn new(config: ClientConfig) -> Result<Self, TransportError> {
        let target = parse_target(&config)?;
        let ntlm = !matches!(config.auth, ClientAuth::Basic { .. });
        let seal = match config.encryption {
            Encryption::Auto => ntlm && target.tls.is_none(),
            Encryption::Always if !ntlm => {
                return Err(TransportError::Config {
                    reason: "message encryption needs NTLM or Kerberos; Basic can only be protected by HTTPS"
                        .into(),
                });
            }
            Encryption::Always => true,
            Encryption::Never => false,
        };
        Ok(Self {
            inner: Arc::new(ConnectorInner {
                target,
                config,
                seal,
            }),
        })
    }

    /// The endpoint URL, normalised, for messages and metrics.
    pub fn endpoint(&self) -> &str {
        &self.inner.target.display
    }

    /// Opens and authenticates a connection.
    pub async fn connect(&self) -> Result<Connection, TransportError> {
        let link = Link::open(&self.inner).await?;
        Ok(Connection {
            connector: self.clone(),
            link: Some(link),
        })
    }
}

/// One open HTTP connection and its authentication state.
struct Link {
    sender: SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    /// Present when requests on this link are sealed.
    session: Option<Session>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // Closing the socket now, not whenever the driver notices, so a
        // server never sees a half-dead connection with our NTLM context.
        self.driver.abort();
    }
}

struct Exchange {
    status: u16,
    content_type: String,
    challenges: Vec<auth::Challenge>,
    body: Bytes,
}

impl Link {
    async fn open(inner: &ConnectorInner) -> Result<Self, TransportError> {
        let target = &inner.target;
        let timeout = inner.config.connect_timeout;
        let endpoint = || target.display.clone();
        let connected = tokio::time::timeout(timeout, async {
            // IPv6 literals come bracketed from the URL; sockets want them bare.
            let host = target.host.trim_start_matches('[').trim_end_matches(']');
            let tcp = TcpStream::connect((host, target.port))
                .await
                .map_err(|source| TransportError::Connect {
                    endpoint: endpoint(),
                    source,
                })?;
            let _ = tcp.set_nodelay(true);
            match &target.tls {
                None => Self::handshake_http(inner, tcp).await,
                Some(config) => {
                    let name = tls::server_name(&target.host)?;
                    let stream = tokio_rustls::TlsConnector::from(config.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(|err| TransportError::Tls {
                            endpoint: endpoint(),
                            detail: err.to_string(),
                        })?;
                    Self::handshake_http(inner, stream).await
                }
            }
        })
        .await
        .map_err(|_| TransportError::Timeout {
            endpoint: endpoint(),
            step: "connecting",
            after: timeout,
        })??;
        let mut link = connected;
        match &inner.config.auth {
            ClientAuth::Basic { .. } => {}
            ClientAuth::Ntlm { user, password } => {
                link.authenticate_ntlm(inner, user, password).await?;
            }
            ClientAuth::Kerberos {
                user,
                password,
                settings,
            } => {
                let initiator = kerberos_ticket(inner, user, password, settings)
                    .await
                    .map_err(|f| kerberos_error(inner, f))?;
                link.authenticate_kerberos(inner, initiator).await?;
            }
            ClientAuth::Negotiate {
                user,
                password,
                settings,
            } => match kerberos_ticket(inner, user, password, settings).await {
                Ok(initiator) => link.authenticate_kerberos(inner, initiator).await?,
                Err(failure) => {
                    tracing::debug!(
                        endpoint = %inner.target.display,
                        step = %failure.step,
                        detail = %failure.detail,
                        "no Kerberos ticket; Negotiate falls back to NTLM"
                    );
                    link.authenticate_ntlm(inner, user, password).await?;
                }
            },
        }
        Ok(link)
    }

    async fn handshake_http<I>(inner: &ConnectorInner, io: I) -> Result<Self, TransportError>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|err| TransportError::Connection {
                endpoint: inner.target.display.clone(),
                step: "starting HTTP/1.1",
                detail: err.to_string(),
            })?;
        let driver = tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "WinRM client connection ended with an error");
            }
        });
        Ok(Self {
            sender,
            driver,
            session: None,
        })
    }

    fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    async fn authenticate_ntlm(
        &mut self,
        inner: &ConnectorInner,
        user: &str,
        password: &Password,
    ) -> Result<(), TransportError> {
        let endpoint = || inner.target.display.clone();
        let handshake = |step, source| TransportError::Handshake {
            endpoint: endpoint(),
            step,
            source,
        };
        let mut scheme = Scheme::Negotiate;
        let mut attempts = 0;
        let (initiator, challenge) = loop {
            attempts += 1;
            let mut initiator = NtlmInitiator::new(user, password)
                .map_err(|e| handshake(HandshakeStep::Negotiate, e))?;
            let type1 = initiator
                .negotiate()
                .map_err(|e| handshake(HandshakeStep::Negotiate, e))?;
            let reply = self
                .exchange(
                    inner,
                    Some(auth::token_header(&scheme, &type1)),
                    SOAP_CONTENT_TYPE,
                    Bytes::new(),
                )
                .await?;
            if reply.status != 401 {
                return Err(TransportError::Protocol {
                    endpoint: endpoint(),
                    detail: format!(
                        "the NTLM negotiate message was answered with HTTP {} instead of a 401 challenge",
                        reply.status
                    ),
                });
            }
            let token = reply
                .challenges
                .iter()
                .find(|c| c.scheme == scheme && c.token.is_some())
                .and_then(|c| c.token.clone());
            if let Some(token) = token {
                break (initiator, token);
            }
            // Some servers offer only the bare NTLM scheme; Windows offers
            // Negotiate. Try the other spelling once before giving up.
            let offers_ntlm = reply.challenges.iter().any(|c| c.scheme == Scheme::Ntlm);
            if attempts == 1 && scheme == Scheme::Negotiate && offers_ntlm {
                scheme = Scheme::Ntlm;
                continue;
            }
            let offered = reply
                .challenges
                .iter()
                .map(|c| c.scheme.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(TransportError::SchemeNotOffered {
                endpoint: endpoint(),
                wanted: "Negotiate (NTLM)",
                offered: if offered.is_empty() {
                    "nothing".into()
                } else {
                    offered
                },
            });
        };
        let (type3, session) = initiator
            .authenticate(&challenge)
            .map_err(|e| handshake(HandshakeStep::Challenge, e))?;
        let reply = self
            .exchange(
                inner,
                Some(auth::token_header(&scheme, &type3)),
                SOAP_CONTENT_TYPE,
                Bytes::new(),
            )
            .await?;
        if reply.status == 401 {
            return Err(TransportError::Unauthorized {
                endpoint: endpoint(),
                scheme: "NTLM",
                hint: "check the user name (user, DOMAIN\\user or user@domain) and the password, \
                       and that the account may log on over WinRM",
            });
        }
        if inner.seal {
            self.session = Some(Session::Ntlm(Box::new(session)));
        }
        Ok(())
    }

    /// Sends the AP-REQ under `Negotiate` and verifies the server's AP-REP.
    async fn authenticate_kerberos(
        &mut self,
        inner: &ConnectorInner,
        mut initiator: TicketedInitiator,
    ) -> Result<(), TransportError> {
        let ap_req = std::mem::take(&mut initiator.ap_req);
        let reply = self
            .exchange(
                inner,
                Some(auth::token_header(&Scheme::Negotiate, &ap_req.0)),
                SOAP_CONTENT_TYPE,
                Bytes::new(),
            )
            .await?;
        if reply.status == 401 {
            return Err(kerberos_error(
                inner,
                KerberosFailure::new(
                    kerberos::KerberosStep::ApRequest,
                    format!(
                        "the server answered the ticket for {} with HTTP 401; check that the \
                         service principal and its keytab match and that the clocks agree",
                        initiator.inner.service_principal()
                    ),
                ),
            ));
        }
        if !(200..300).contains(&reply.status) {
            return Err(kerberos_error(
                inner,
                KerberosFailure::new(
                    kerberos::KerberosStep::ApRequest,
                    format!("the server answered the ticket with HTTP {}", reply.status),
                ),
            ));
        }
        let ap_rep = reply
            .challenges
            .iter()
            .find(|c| c.scheme == Scheme::Negotiate || c.scheme == Scheme::Kerberos)
            .and_then(|c| c.token.clone())
            .unwrap_or_default();
        let session = initiator
            .inner
            .finish(&ap_rep)
            .map_err(|f| kerberos_error(inner, f))?;
        if inner.seal {
            self.session = Some(Session::Kerberos(Box::new(session)));
        }
        Ok(())
    }

    /// One request/response on this link, body read under the size cap.
    async fn exchange(
        &mut self,
        inner: &ConnectorInner,
        authorization: Option<String>,
        content_type: &str,
        body: Bytes,
    ) -> Result<Exchange, TransportError> {
        let target = &inner.target;
        let endpoint = || target.display.clone();
        let timeout = inner.config.request_timeout;
        let limit = inner.config.max_response_bytes;
        let run = async {
            let mut builder = Request::builder()
                .method(Method::POST)
                .uri(target.path.as_str())
                .header(HOST, target.host_header.clone())
                .header(USER_AGENT, USER_AGENT_VALUE)
                .header(CONTENT_TYPE, content_type)
                .header(CONTENT_LENGTH, body.len());
            if let Some(value) = authorization {
                builder = builder.header(AUTHORIZATION, value);
            }
            let request = builder
                .body(Full::new(body))
                .map_err(|err| TransportError::Config {
                    reason: format!("cannot build the HTTP request: {err}"),
                })?;
            let connection_error = |step, err: hyper::Error| TransportError::Connection {
                endpoint: endpoint(),
                step,
                detail: err.to_string(),
            };
            self.sender
                .ready()
                .await
                .map_err(|e| connection_error("waiting for the connection", e))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| connection_error("sending the request", e))?;
            let status = response.status().as_u16();
            let headers = response.headers();
            let declared = headers
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > limit as u64) {
                return Err(TransportError::ResponseTooLarge {
                    endpoint: endpoint(),
                    limit,
                });
            }
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let challenges = if status == 401 || headers.contains_key(WWW_AUTHENTICATE) {
                auth::parse_www_authenticate(
                    headers
                        .get_all(WWW_AUTHENTICATE)
                        .iter()
                        .map(HeaderValue::as_bytes),
                )?
            } else {
                Vec::new()
            };
            let body = match Limited::new(response.into_body(), limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(err)
                    if err
                        .downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some() =>
                {
                    return Err(TransportError::ResponseTooLarge {
                        endpoint: endpoint(),
                        limit,
                    });
                }
                Err(err) => {
                    return Err(TransportError::Connection {
                        endpoint: endpoint(),
                        step: "reading the response body",
                        detail: err.to_string(),
                    });
                }
            };
            Ok(Exchange {
                status,
                content_type,
                challenges,
                body,
            })
        };
        tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| TransportError::Timeout {
                endpoint: endpoint(),
                step: "the HTTP request",
                after: timeout,
            })?
    }
}

/// One authenticated connection to a WinRM endpoint.
pub struct Connection {
    connector: Connector,
    link: Option<Link>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.connector.endpoint())
            .field("open", &self.is_open())
            .finish()
    }
}

impl Connection {
    /// Whether the underlying connection is still usable without
    /// re-authenticating.
    pub fn is_open(&self) -> bool {
        self.link.as_ref().is_some_and(Link::is_open)
    }

    /// The endpoint this connection talks to.
    pub fn endpoint(&self) -> &str {
        self.connector.endpoint()
    }

    /// Sends one SOAP message and returns the HTTP status and the (unsealed)
    /// response body. SOAP faults come back as status 500 with their body.
    ///
    /// A closed connection is reopened and re-authenticated before sending.
    /// After a failure the connection is dropped; the request is not resent.
    pub async fn post(&mut self, body: Bytes) -> Result<(u16, Bytes), TransportError> {
        let inner = self.connector.inner.clone();
        if !self.is_open() {
            self.link = None;
            self.link = Some(Link::open(&inner).await?);
        }
        let Some(link) = self.link.as_mut() else {
            return Err(TransportError::Protocol {
                endpoint: inner.target.display.clone(),
                detail: "no connection".into(),
            });
        };
        let result = send(link, &inner, body).await;
        if result.is_err() {
            self.link = None;
        }
        result
    }
}

async fn send(
    link: &mut Link,
    inner: &ConnectorInner,
    body: Bytes,
) -> Result<(u16, Bytes), TransportError> {
    let endpoint = || inner.target.display.clone();
    let sealing_error = |source| TransportError::Sealing {
        endpoint: endpoint(),
        source,
    };
    let sealed = link.session.is_some();
    let (authorization, content_type, wire) = match (&inner.config.auth, link.session.as_mut()) {
        (_, Some(session)) => {
            let framed = session.seal(&body).map_err(sealing_error)?;
            (None, sealing::CONTENT_TYPE, Bytes::from(framed))
        }
        (ClientAuth::Basic { user, password }, None) => (
            Some(auth::basic_authorization(user, password)),
            SOAP_CONTENT_TYPE,
            body,
        ),
        (
            ClientAuth::Ntlm { .. } | ClientAuth::Kerberos { .. } | ClientAuth::Negotiate { .. },
            None,
        ) => (None, SOAP_CONTENT_TYPE, body),
    };
    let reply = link
        .exchange(inner, authorization, content_type, wire)
        .await?;
    if reply.status == 401 {
        return Err(TransportError::Unauthorized {
            endpoint: endpoint(),
            scheme: inner.config.auth.scheme_name(),
            hint: match inner.config.auth {
                ClientAuth::Basic { .. } => {
                    "check the user name and password; Basic needs a local account, \
                     Auth/Basic=true and, over HTTP, AllowUnencrypted=true"
                }
                ClientAuth::Ntlm { .. }
                | ClientAuth::Kerberos { .. }
                | ClientAuth::Negotiate { .. } => {
                    "the server dropped the authenticated session; a new connection \
                     authenticates again"
                }
            },
        });
    }
    if sealing::is_sealed_content_type(&reply.content_type) {
        let Some(session) = link.session.as_mut() else {
            return Err(TransportError::Protocol {
                endpoint: endpoint(),
                detail: "the server sent an encrypted body on an unencrypted session".into(),
            });
        };
        let plain = session.unseal(&reply.body).map_err(sealing_error)?;
        return Ok((reply.status, Bytes::from(plain)));
    }
    if sealed && !reply.body.is_empty() {
        return Err(TransportError::UnsealedResponse {
            endpoint: endpoint(),
            status: reply.status,
        });
    }
    if !sealed && inner.target.tls.is_none() && reply.status == 500 && reply.body.is_empty() {
        return Err(TransportError::EncryptionRequired {
            endpoint: endpoint(),
            status: reply.status,
        });
    }
    Ok((reply.status, reply.body))
}

/// A Kerberos initiator that already holds a service ticket and its AP-REQ.
struct TicketedInitiator {
    inner: KerberosInitiator,
    ap_req: ApReq,
}

#[derive(Default)]
struct ApReq(Vec<u8>);

fn kerberos_error(inner: &ConnectorInner, failure: KerberosFailure) -> TransportError {
    TransportError::Kerberos {
        endpoint: inner.target.display.clone(),
        step: failure.step,
        detail: failure.detail,
    }
}

/// AS and TGS exchanges with the KDC, on a blocking thread (sspi's KDC
/// client interface is synchronous).
async fn kerberos_ticket(
    inner: &ConnectorInner,
    user: &str,
    password: &Password,
    settings: &KerberosSettings,
) -> Result<TicketedInitiator, KerberosFailure> {
    let mut initiator = KerberosInitiator::new(user, password, settings, &inner.target.host)?;
    tokio::task::spawn_blocking(move || {
        let ap_req = initiator.ap_request()?;
        Ok(TicketedInitiator {
            inner: initiator,
            ap_req: ApReq(ap_req),
        })
    })
    .await
    .map_err(|e| {
        KerberosFailure::new(
            kerberos::KerberosStep::AsExchange,
            format!("the KDC exchange task failed: {e}"),
        )
    })?
}

/// A bounded set of authenticated connections to one endpoint.
///
/// [`Pool::get`] waits while `max_size` connections are in use, reuses an
/// idle open connection when there is one and opens a new one otherwise.
/// Connections that broke are dropped when they come back.
#[derive(Debug, Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    connector: Connector,
    idle: StdMutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    /// A pool of at most `max_size` connections (at least one).
    pub fn new(connector: Connector, max_size: usize) -> Self {
        Self {
            inner: Arc::new(PoolInner {
                connector,
                idle: StdMutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(max_size.max(1))),
            }),
        }
    }

    /// The endpoint of this pool.
    pub fn endpoint(&self) -> &str {
        self.inner.connector.endpoint()
    }

    /// Number of idle connections kept.
    pub fn idle_count(&self) -> usize {
        self.inner.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    /// An authenticated connection, waiting for a free slot if needed.
    pub async fn get(&self) -> Result<PooledConnection, TransportError> {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| TransportError::Config {
                reason: "the connection pool was closed".into(),
            })?;
        let reused = {
            let mut idle = self.inner.idle.lock().map_err(|_| TransportError::Config {
                reason: "the connection pool lock was poisoned".into(),
            })?;
            idle.retain(Connection::is_open);
            idle.pop()
        };
        let connection = match reused {
            Some(connection) => connection,
            None => self.inner.connector.connect().await?,
        };
        Ok(PooledConnection {
            connection: Some(connection),
            pool: self.inner.clone(),
            _permit: permit,
        })
    }
}

/// A connection borrowed from a [`Pool`]; goes back when dropped if still open.
#[derive(Debug)]
pub struct PooledConnection {
    connection: Option<Connection>,
    pool: Arc<PoolInner>,
    _permit: OwnedSemaphorePermit,
}

impl PooledConnection {
    /// Sends one SOAP message; see [`Connection::post`].
    pub async fn post(&mut self, body: Bytes) -> Result<(u16, Bytes), TransportError> {
        match self.connection.as_mut() {
            Some(connection) => connection.post(body).await,
            None => Err(TransportError::Config {
                reason: "the pooled connection was already returned".into(),
            }),
        }
    }

    /// Drops the connection instead of returning it to the pool.
    pub fn discard(mut self) {
        self.connection = None;
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take()
            && connection.is_open()
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(connection);
        }
    }
}
