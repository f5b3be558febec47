//! Kerberos for the client side of WinRM, on top of `sspi`'s Kerberos client.
//!
//! - [`KerberosSettings`]: realm, KDC and service principal.
//! - [`KerberosInitiator`]: AS and TGS exchanges with the KDC (our own small
//!   TCP/UDP client, so no `sspi/network_client`, reqwest or second rustls
//!   provider), then the AP-REQ for `HTTP/<host>` and verification of the
//!   server's AP-REP (mutual authentication).
//! - [`KerberosSession`]: the established keys. Sealing uses RFC 4121 wrap
//!   tokens in the Windows SSPI layout (`EncryptMessage`: a 60-byte header
//!   with RRC 28 for AES, then the ciphertext), framed like NTLM sealing
//!   (MS-WSMV 2.2.9.1.1) except that the header length is not 16; see
//!   [`seal_body`]/[`unseal_body`].
//!
//! The token goes in the HTTP `Negotiate` scheme as a raw krb5 GSS token (as
//! pywinrm's Kerberos transport sends it; Windows and MIT acceptors both take
//! it). Only the client side exists: our server does not accept Kerberos.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use sspi::network_client::NetworkClient;
use sspi::{
    AuthIdentity, BufferType, ClientRequestFlags, CredentialUse, Credentials, CredentialsBuffers,
    DataRepresentation, EncryptionFlags, Kerberos, KerberosConfig, NetworkProtocol, NetworkRequest,
    SecurityBuffer, SecurityBufferRef, SecurityStatus, Sspi as _, SspiImpl as _, Username,
};

use super::auth::Password;
use super::error::SealingError;
use super::sealing::{CONTENT_TYPE, ORIGINAL_TYPE};

/// Largest reply we read from a KDC (Windows' default maximum token size).
const MAX_KDC_REPLY: usize = 48_000;
/// Largest wrap-token header we accept in a sealed body.
const MAX_HEADER_LEN: usize = 1024;

/// Where the KDC is and which principals to use.
#[derive(Debug, Clone, Default)]
pub struct KerberosSettings {
    /// The realm. Default: the part after `@` in the user name, upper-cased.
    pub realm: Option<String>,
    /// The KDC: `host:port`, `tcp://host:port` or `udp://host:port`.
    /// Default: `tcp://<realm>:88`.
    pub kdc: Option<String>,
    /// The service principal. Default: `HTTP/<endpoint host>`.
    pub service_principal: Option<String>,
    /// Limit for each KDC round trip. Default: 10 s.
    pub kdc_timeout: Option<Duration>,
}

/// Which leg of the Kerberos exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerberosStep {
    /// Reading the settings or user name.
    Settings,
    /// Getting a ticket-granting ticket from the KDC (checks the password).
    AsExchange,
    /// Getting a service ticket for the WinRM service principal.
    TgsExchange,
    /// The WinRM server refused our AP-REQ.
    ApRequest,
    /// The server's AP-REP was missing or did not verify.
    MutualAuth,
}

impl fmt::Display for KerberosStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KerberosStep::Settings => "Kerberos settings",
            KerberosStep::AsExchange => {
                "Kerberos AS exchange (ticket-granting ticket from the KDC)"
            }
            KerberosStep::TgsExchange => "Kerberos TGS exchange (service ticket from the KDC)",
            KerberosStep::ApRequest => "Kerberos AP exchange (server accepting the ticket)",
            KerberosStep::MutualAuth => "Kerberos mutual authentication (server's AP-REP)",
        })
    }
}

/// A Kerberos failure: which step, and what was reported (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosFailure {
    /// The failing step.
    pub step: KerberosStep,
    /// Library or KDC message.
    pub detail: String,
}

impl KerberosFailure {
    pub(crate) fn new(step: KerberosStep, detail: impl Into<String>) -> Self {
        Self {
            step,
            detail: detail.into(),
        }
    }
}

const LEG_NONE: u8 = 0;
const LEG_AS: u8 = 1;
const LEG_TGS: u8 = 2;

/// A blocking KDC client for sspi's generator: Kerberos over TCP (RFC 4120
/// 7.2.2, length-prefixed) or UDP. It remembers which exchange it last
/// carried so a failure can name the step.
#[derive(Debug)]
struct KdcClient {
    timeout: Duration,
    last_leg: Arc<AtomicU8>,
}

fn kdc_error(detail: String) -> sspi::Error {
    sspi::Error::new(sspi::ErrorKind::NoAuthenticatingAuthority, detail)
}

impl NetworkClient for KdcClient {
    fn send(&self, request: &NetworkRequest) -> sspi::Result<Vec<u8>> {
        // The KDC-REQ's APPLICATION tag: 10 = AS-REQ, 12 = TGS-REQ.
        let body = match request.protocol {
            NetworkProtocol::Tcp => request.data.get(4..).unwrap_or_default(),
            _ => request.data.as_slice(),
        };
        match body.first() {
            Some(0x6a) => self.last_leg.store(LEG_AS, Ordering::Relaxed),
            Some(0x6c) => self.last_leg.store(LEG_TGS, Ordering::Relaxed),
            _ => {}
        }
        let host = request.url.host_str().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = request.url.port().unwrap_or(88);
        let addrs: Vec<_> = (host, port)
            .to_socket_addrs()
            .map_err(|e| kdc_error(format!("cannot resolve the KDC {host}:{port}: {e}")))?
            .collect();
        let mut last = kdc_error(format!("the KDC {host}:{port} has no address"));
        for addr in addrs {
            let result = match request.protocol {
                NetworkProtocol::Tcp => self.tcp(addr, &request.data),
                NetworkProtocol::Udp => self.udp(addr, &request.data),
                _ => {
                    return Err(kdc_error(
                        "KDC proxy (http/https) URLs are not supported; use tcp:// or udp://"
                            .into(),
                    ));
                }
            };
            match result {
                Ok(reply) => return Ok(reply),
                Err(e) => last = kdc_error(format!("KDC {addr}: {e}")),
            }
        }
        Err(last)
    }
}

impl KdcClient {
    fn tcp(&self, addr: std::net::SocketAddr, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect_timeout(&addr, self.timeout)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        stream.write_all(data)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len)?;
        let n = u32::from_be_bytes(len) as usize;
        if n > MAX_KDC_REPLY {
            return Err(std::io::Error::other("the KDC reply is too large"));
        }
        let mut reply = Vec::with_capacity(n + 4);
        reply.extend_from_slice(&len);
        reply.resize(n + 4, 0);
        stream.read_exact(&mut reply[4..])?;
        Ok(reply)
    }

    fn udp(&self, addr: std::net::SocketAddr, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let local: std::net::SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)?;
        socket.set_read_timeout(Some(self.timeout))?;
        socket.connect(addr)?;
        socket.send(data)?;
        let mut buf = vec![0u8; MAX_KDC_REPLY];
        let n = socket.recv(&mut buf)?;
        // sspi expects the TCP length prefix on every reply.
        let mut reply = Vec::with_capacity(n + 4);
        reply.extend_from_slice(&(n as u32).to_be_bytes());
        reply.extend_from_slice(&buf[..n]);
        Ok(reply)
    }
}

/// The client side of the Kerberos handshake.
pub struct KerberosInitiator {
    kerberos: Kerberos,
    credentials: Option<CredentialsBuffers>,
    spn: String,
    kdc: KdcClient,
    sent_ap_req: bool,
}

impl fmt::Debug for KerberosInitiator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KerberosInitiator")
            .field("spn", &self.spn)
            .field("sent_ap_req", &self.sent_ap_req)
            .finish_non_exhaustive()
    }
}

fn flags() -> ClientRequestFlags {
    ClientRequestFlags::MUTUAL_AUTH
        | ClientRequestFlags::CONFIDENTIALITY
        | ClientRequestFlags::INTEGRITY
        | ClientRequestFlags::SEQUENCE_DETECT
        | ClientRequestFlags::REPLAY_DETECT
        | ClientRequestFlags::ALLOCATE_MEMORY
}

/// Splits `user@REALM`, `REALM\user` or `user` (+ settings) into the
/// principal name and realm.
pub fn principal(user: &str, settings: &KerberosSettings) -> Result<(String, String), String> {
    let (name, realm) = if let Some((realm, name)) = user.split_once('\\') {
        (name, Some(realm))
    } else if let Some((name, realm)) = user.rsplit_once('@') {
        (name, Some(realm))
    } else {
        (user, None)
    };
    let realm = settings
        .realm
        .as_deref()
        .or(realm)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| "no realm: write the user as user@REALM or set the realm".to_owned())?;
    if name.is_empty() {
        return Err("the user name is empty".into());
    }
    Ok((name.to_owned(), realm.to_ascii_uppercase()))
}

impl KerberosInitiator {
    /// Prepares a handshake for `user` against the service on `host`.
    pub fn new(
        user: &str,
        password: &Password,
        settings: &KerberosSettings,
        host: &str,
    ) -> Result<Self, KerberosFailure> {
        let bad = |detail: String| KerberosFailure::new(KerberosStep::Settings, detail);
        let (name, realm) = principal(user, settings).map_err(bad)?;
        let kdc = settings
            .kdc
            .clone()
            .unwrap_or_else(|| format!("tcp://{}:88", realm.to_ascii_lowercase()));
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let spn = settings
            .service_principal
            .clone()
            .unwrap_or_else(|| format!("HTTP/{host}"));
        let config = KerberosConfig::new_with_kdc_url(&kdc, "wsman-rs".into());
        if matches!(&config.kdc_resolution, sspi::KdcResolution::KdcUrl(None)) {
            return Err(bad(format!("the KDC address {kdc:?} is not a URL")));
        }
        let mut kerberos =
            Kerberos::new_client_from_config(config).map_err(|e| bad(e.to_string()))?;
        // Down-level form: a plain NT-PRINCIPAL name and the realm as the salt
        // prefix, which is what MIT and AD both use for password keys.
        let username =
            Username::new_down_level_logon_name(&name, &realm).map_err(|e| bad(e.to_string()))?;
        let identity = Credentials::AuthIdentity(AuthIdentity {
            username,
            password: password.expose().to_owned().into(),
        });
        let acquired = kerberos
            .acquire_credentials_handle()
            .with_credential_use(CredentialUse::Outbound)
            .with_auth_data(&identity)
            .execute(&mut kerberos)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            kerberos,
            credentials: acquired.credentials_handle,
            spn,
            kdc: KdcClient {
                timeout: settings.kdc_timeout.unwrap_or(Duration::from_secs(10)),
                last_leg: Arc::new(AtomicU8::new(LEG_NONE)),
            },
            sent_ap_req: false,
        })
    }

    /// The service principal the ticket is for.
    pub fn service_principal(&self) -> &str {
        &self.spn
    }

    fn step(&mut self, input: &[u8]) -> sspi::Result<(SecurityStatus, Vec<u8>)> {
        let mut input = vec![SecurityBuffer::new(input.to_vec(), BufferType::Token)];
        let mut output = vec![SecurityBuffer::new(Vec::new(), BufferType::Token)];
        let mut builder = self
            .kerberos
            .initialize_security_context()
            .with_credentials_handle(&mut self.credentials)
            .with_context_requirements(flags())
            .with_target_data_representation(DataRepresentation::Native)
            .with_target_name(&self.spn)
            .with_input(&mut input)
            .with_output(&mut output);
        let result = self
            .kerberos
            .initialize_security_context_impl(&mut builder)?
            .resolve_with_client(&self.kdc)?;
        let token = output.pop().map(|b| b.buffer).unwrap_or_default();
        Ok((result.status, token))
    }

    /// Talks to the KDC (blocking; run it off the async runtime) and returns
    /// the AP-REQ token for the server.
    pub fn ap_request(&mut self) -> Result<Vec<u8>, KerberosFailure> {
        let result = self.step(&[]);
        let (status, token) = result.map_err(|e| {
            let step = match self.kdc.last_leg.load(Ordering::Relaxed) {
                LEG_TGS => KerberosStep::TgsExchange,
                LEG_AS => KerberosStep::AsExchange,
                _ => KerberosStep::Settings,
            };
            KerberosFailure::new(step, describe(&e))
        })?;
        if status != SecurityStatus::ContinueNeeded || token.is_empty() {
            return Err(KerberosFailure::new(
                KerberosStep::TgsExchange,
                format!("sspi ended the exchange with {status:?} and no AP-REQ"),
            ));
        }
        self.sent_ap_req = true;
        Ok(token)
    }

    /// Verifies the server's AP-REP (mutual authentication) and returns the
    /// established session.
    pub fn finish(mut self, ap_rep: &[u8]) -> Result<KerberosSession, KerberosFailure> {
        let fail = |detail: String| KerberosFailure::new(KerberosStep::MutualAuth, detail);
        if !self.sent_ap_req {
            return Err(fail("no AP-REQ was sent".into()));
        }
        if ap_rep.is_empty() {
            return Err(fail(
                "the server accepted the ticket but sent no AP-REP, so it did not prove its identity"
                    .into(),
            ));
        }
        let (status, _) = self.step(ap_rep).map_err(|e| fail(describe(&e)))?;
        if status != SecurityStatus::Ok {
            return Err(fail(format!("the AP-REP left the context in {status:?}")));
        }
        let header_len = self
            .kerberos
            .query_context_sizes()
            .map_err(|e| fail(describe(&e)))?
            .security_trailer as usize;
        Ok(KerberosSession {
            kerberos: self.kerberos,
            header_len,
        })
    }
}

fn describe(err: &sspi::Error) -> String {
    // KRB-ERROR e-data (salts, padata lists) is noise in a user message.
    let text = err
        .description
        .split(". Additional error data")
        .next()
        .unwrap_or_default();
    format!("{:?}: {text}", err.error_type)
}

/// An established Kerberos context, sealing with its session keys.
pub struct KerberosSession {
    kerberos: Kerberos,
    header_len: usize,
}

impl fmt::Debug for KerberosSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KerberosSession")
            .field("header_len", &self.header_len)
            .finish_non_exhaustive()
    }
}

impl KerberosSession {
    /// Encrypts `plaintext`: (wrap-token header, ciphertext).
    pub fn wrap(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SealingError> {
        let mut header = vec![0u8; self.header_len];
        let mut data = plaintext.to_vec();
        let mut buffers = [
            SecurityBufferRef::token_buf(&mut header),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.kerberos
            .encrypt_message(EncryptionFlags::empty(), &mut buffers)
            .map_err(|err| SealingError::Seal {
                detail: describe(&err),
            })?;
        let written = buffers[0].data().len();
        header.truncate(written);
        Ok((header, data))
    }

    /// Decrypts and verifies (header, ciphertext).
    pub fn unwrap(&mut self, header: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, SealingError> {
        let mut header = header.to_vec();
        let mut data = ciphertext.to_vec();
        let mut buffers = [
            SecurityBufferRef::token_buf(&mut header),
            SecurityBufferRef::data_buf(&mut data),
        ];
        self.kerberos
            .decrypt_message(&mut buffers)
            .map_err(|err| SealingError::Integrity {
                detail: describe(&err),
            })?;
        let plain = buffers[1].data().to_vec();
        Ok(plain)
    }
}

const OPEN: &[u8] = b"--Encrypted Boundary\r\n";
const CLOSE: &[u8] = b"--Encrypted Boundary--\r\n";

/// Seals and frames `plaintext` (MS-WSMV 2.2.9.1.1 with a Kerberos header).
/// The result goes out with [`CONTENT_TYPE`].
pub fn seal_body(session: &mut KerberosSession, plaintext: &[u8]) -> Result<Vec<u8>, SealingError> {
    let (header, data) = session.wrap(plaintext)?;
    let header_len = u32::try_from(header.len()).map_err(|_| SealingError::Seal {
        detail: "the wrap header is too long".into(),
    })?;
    let mut out = Vec::with_capacity(data.len() + header.len() + 256);
    out.extend_from_slice(OPEN);
    out.extend_from_slice(b"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n");
    out.extend_from_slice(
        format!(
            "\tOriginalContent: type={ORIGINAL_TYPE};Length={}\r\n",
            plaintext.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(OPEN);
    out.extend_from_slice(b"\tContent-Type: application/octet-stream\r\n");
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    out.extend_from_slice(CLOSE);
    Ok(out)
}

/// The pieces of a Kerberos-sealed body, borrowed from it, before any
/// crypto runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosSealed<'a> {
    /// The plaintext length declared by `OriginalContent: ...;Length=`.
    pub declared_length: usize,
    /// The GSS wrap token header.
    pub header: &'a [u8],
    /// The sealed payload.
    pub ciphertext: &'a [u8],
}

/// Splits a body sealed with Kerberos into its parts, without crypto (kept
/// apart from [`unseal_body`] so the framing, which reads the server's
/// bytes, can be fuzzed without a KDC).
pub fn parse_sealed(body: &[u8]) -> Result<KerberosSealed<'_>, SealingError> {
    let framing = |reason| SealingError::Framing { reason };
    let rest = body
        .strip_prefix(OPEN)
        .ok_or(framing("the body does not start with --Encrypted Boundary"))?;
    let (line, rest) =
        header_line(rest).ok_or(framing("the first part has no Content-Type line"))?;
    if !line.eq_ignore_ascii_case(b"Content-Type: application/HTTP-SPNEGO-session-encrypted") {
        return Err(framing(
            "the first part is not application/HTTP-SPNEGO-session-encrypted",
        ));
    }
    let (line, rest) =
        header_line(rest).ok_or(framing("the first part has no OriginalContent line"))?;
    let text = std::str::from_utf8(line).map_err(|_| framing("OriginalContent is not UTF-8"))?;
    let declared_length = text
        .rsplit_once(";Length=")
        .filter(|(head, _)| {
            head.len() >= 22 && head[..22].eq_ignore_ascii_case("OriginalContent: type=")
        })
        .and_then(|(_, digits)| {
            (digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<usize>().ok())
                .flatten()
        })
        .ok_or(framing("OriginalContent has no decimal Length parameter"))?;
    let rest = rest.strip_prefix(OPEN).ok_or(framing(
        "the second part does not start with --Encrypted Boundary",
    ))?;
    let (line, rest) =
        header_line(rest).ok_or(framing("the second part has no Content-Type line"))?;
    if !line.eq_ignore_ascii_case(b"Content-Type: application/octet-stream") {
        return Err(framing("the second part is not application/octet-stream"));
    }
    let rest = rest
        .strip_suffix(b"\r\n")
        .unwrap_or(rest)
        .strip_suffix(b"--Encrypted Boundary--")
        .ok_or(framing("the body does not end with --Encrypted Boundary--"))?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or(framing("the payload has no header length field"))?;
    let header_len = u32::from_le_bytes(*len) as usize;
    if header_len == 0 || header_len > MAX_HEADER_LEN || header_len > rest.len() {
        return Err(framing("the wrap header length is out of range"));
    }
    let (header, ciphertext) = rest.split_at(header_len);
    Ok(KerberosSealed {
        declared_length,
        header,
        ciphertext,
    })
}

/// Parses and unseals a body sealed with Kerberos; fails closed.
pub fn unseal_body(session: &mut KerberosSession, body: &[u8]) -> Result<Vec<u8>, SealingError> {
    let parts = parse_sealed(body)?;
    let plain = session.unwrap(parts.header, parts.ciphertext)?;
    if plain.len() != parts.declared_length {
        return Err(SealingError::LengthMismatch {
            declared: parts.declared_length,
            actual: plain.len(),
        });
    }
    Ok(plain)
}

fn header_line(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let input = input.strip_prefix(b"\t").unwrap_or(input);
    let window = &input[..input.len().min(512)];
    let end = window.windows(2).position(|w| w == b"\r\n")?;
    Some((&input[..end], &input[end + 2..]))
}

/// The Content-Type sealed Kerberos bodies use (same as NTLM's).
pub const SEALED_CONTENT_TYPE: &str = CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_forms() {
        let s = KerberosSettings::default();
        assert_eq!(
            principal("alice@wsman.test", &s).unwrap(),
            ("alice".into(), "WSMAN.TEST".into())
        );
        assert_eq!(
            principal("WSMAN.TEST\\alice", &s).unwrap(),
            ("alice".into(), "WSMAN.TEST".into())
        );
        assert!(principal("alice", &s).is_err());
        let s = KerberosSettings {
            realm: Some("other.test".into()),
            ..Default::default()
        };
        assert_eq!(
            principal("alice", &s).unwrap(),
            ("alice".into(), "OTHER.TEST".into())
        );
    }

    #[test]
    fn wrong_kdc_url_is_a_settings_error() {
        let settings = KerberosSettings {
            kdc: Some("tcp://[::1".into()),
            ..Default::default()
        };
        let err = KerberosInitiator::new("a@B", &Password::new("x"), &settings, "h").unwrap_err();
        assert_eq!(err.step, KerberosStep::Settings);
    }
}
