//! Our client against our server over 127.0.0.1, plus raw-HTTP checks of the
//! server's wire behaviour and a hostile fake server for the client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsman::transport::auth::{self, Scheme};
use wsman::transport::ntlm::{NtlmAcceptor, NtlmInitiator};
use wsman::transport::server::handler_fn;
use wsman::transport::{
    ClientAuth, ClientConfig, Connector, Disconnect, Encryption, Password, Pool, ServerConfig,
    ServerHandle, SoapReply, StaticCredentials, TlsTrust, TransportError, WsmanServer, sealing,
    tls,
};

const LOCAL: &str = "127.0.0.1:0";

fn credentials() -> Arc<StaticCredentials> {
    Arc::new(StaticCredentials::new().with_user("vagrant", "vagrant"))
}

/// Echoes `user:` + body; a few magic bodies trigger faults.
async fn start(config: ServerConfig) -> ServerHandle {
    let handler = handler_fn(|user: String, body: Bytes| async move {
        match &body[..] {
            b"fault" => SoapReply::fault("<s:Fault>boom</s:Fault>"),
            b"truncate" => SoapReply::ok(vec![b'x'; 100_000])
                .with_disconnect(Disconnect::Truncate { after: 1000 }),
            b"abort" => SoapReply::ok("never sent").with_disconnect(Disconnect::Abort),
            b"close" => SoapReply::ok("bye").with_disconnect(Disconnect::AfterResponse),
            b"slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                SoapReply::ok("late")
            }
            b"big" => SoapReply::ok(vec![b'y'; 1 << 20]),
            _ => {
                let mut reply = format!("{user}:").into_bytes();
                reply.extend_from_slice(&body);
                SoapReply::ok(reply)
            }
        }
    });
    WsmanServer::new(config, handler)
        .bind(LOCAL.parse().unwrap())
        .await
        .unwrap()
}

fn server_config() -> ServerConfig {
    ServerConfig::new(credentials())
}

fn client(addr: SocketAddr, auth: ClientAuth) -> ClientConfig {
    let mut config = ClientConfig::new(format!("http://{addr}/wsman"), auth);
    config.request_timeout = Duration::from_secs(20);
    config
}

fn basic(user: &str, password: &str) -> ClientAuth {
    ClientAuth::Basic {
        user: user.into(),
        password: Password::new(password),
    }
}

fn ntlm(user: &str, password: &str) -> ClientAuth {
    ClientAuth::Ntlm {
        user: user.into(),
        password: Password::new(password),
    }
}

#[tokio::test]
async fn basic_round_trip() {
    let server = start(server_config()).await;
    let connector =
        Connector::new(client(server.local_addr(), basic("vagrant", "vagrant"))).unwrap();
    let mut conn = connector.connect().await.unwrap();
    let (status, body) = conn.post(Bytes::from_static(b"<hello/>")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"vagrant:<hello/>");
    let (status, body) = conn.post(Bytes::from_static(b"fault")).await.unwrap();
    assert_eq!((status, &body[..]), (500, &b"<s:Fault>boom</s:Fault>"[..]));
    let stats = server.stats().snapshot();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.connections, 1);
    assert_eq!(stats.auth_failures, 0);
}

#[tokio::test]
async fn basic_bad_password_is_a_clear_error() {
    let server = start(server_config()).await;
    let connector = Connector::new(client(server.local_addr(), basic("vagrant", "nope"))).unwrap();
    let mut conn = connector.connect().await.unwrap();
    let err = conn
        .post(Bytes::from_static(b"<hello/>"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TransportError::Unauthorized {
                scheme: "Basic",
                ..
            }
        ),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("rejected the Basic credentials"),
        "{message}"
    );
    assert!(
        !message.contains("nope"),
        "the password leaked into {message}"
    );
    assert_eq!(server.stats().auth_failures.load(Ordering::Relaxed), 1);
}

fn multibyte_body(size: usize) -> Bytes {
    let unit = "<s:Envelope>日本語 ✓ é 🙂</s:Envelope>\n";
    let mut text = String::with_capacity(size + unit.len());
    while text.len() < size {
        text.push_str(unit);
    }
    Bytes::from(text)
}

#[tokio::test]
async fn ntlm_sealed_round_trip_of_two_mib() {
    let server = start(server_config()).await;
    let connector =
        Connector::new(client(server.local_addr(), ntlm("vagrant", "vagrant"))).unwrap();
    let mut conn = connector.connect().await.unwrap();
    let body = multibyte_body(2 << 20);
    let (status, reply) = conn.post(body.clone()).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(&reply[..8], b"vagrant:");
    assert_eq!(&reply[8..], &body[..]);
    // Faults come back sealed too, and the RC4 streams stay in step.
    for _ in 0..3 {
        let (status, reply) = conn.post(Bytes::from_static(b"fault")).await.unwrap();
        assert_eq!((status, &reply[..]), (500, &b"<s:Fault>boom</s:Fault>"[..]));
    }
    let stats = server.stats().snapshot();
    assert_eq!(stats.handshakes, 1, "one handshake per connection");
    assert_eq!(stats.sealed_requests, 4);
    assert_eq!(stats.connections, 1);
    assert!(stats.bytes_in > body.len() as u64);
}

#[tokio::test]
async fn ntlm_bad_password_is_a_clear_error() {
    let server = start(server_config()).await;
    let connector = Connector::new(client(server.local_addr(), ntlm("vagrant", "wrong"))).unwrap();
    let err = connector.connect().await.unwrap_err();
    assert!(
        matches!(err, TransportError::Unauthorized { scheme: "NTLM", .. }),
        "{err}"
    );
    assert_eq!(server.stats().auth_failures.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn ntlm_unsealed_when_encryption_is_never() {
    let server = start(server_config()).await;
    let mut config = client(server.local_addr(), ntlm("vagrant", "vagrant"));
    config.encryption = Encryption::Never;
    let mut conn = Connector::new(config).unwrap().connect().await.unwrap();
    let (_, reply) = conn.post(Bytes::from_static(b"plain")).await.unwrap();
    assert_eq!(&reply[..], b"vagrant:plain");
    assert_eq!(server.stats().sealed_requests.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn allow_unencrypted_false_refuses_plain_requests() {
    let mut config = server_config();
    config.allow_unencrypted = false;
    let server = start(config).await;
    let mut plain = client(server.local_addr(), ntlm("vagrant", "vagrant"));
    plain.encryption = Encryption::Never;
    let mut conn = Connector::new(plain).unwrap().connect().await.unwrap();
    let err = conn.post(Bytes::from_static(b"x")).await.unwrap_err();
    assert!(
        matches!(err, TransportError::EncryptionRequired { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("AllowUnencrypted"));
    // Sealed requests are fine.
    let mut conn = Connector::new(client(server.local_addr(), ntlm("vagrant", "vagrant")))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(
        &conn.post(Bytes::from_static(b"x")).await.unwrap().1[..],
        b"vagrant:x"
    );
}

#[tokio::test]
async fn connection_reset_mid_response_is_an_error_not_a_hang() {
    let server = start(server_config()).await;
    for auth in [basic("vagrant", "vagrant"), ntlm("vagrant", "vagrant")] {
        let mut conn = Connector::new(client(server.local_addr(), auth))
            .unwrap()
            .connect()
            .await
            .unwrap();
        for fault in [&b"truncate"[..], b"abort"] {
            let result = tokio::time::timeout(
                Duration::from_secs(10),
                conn.post(Bytes::from_static(fault)),
            )
            .await
            .expect("the client hung on a broken connection");
            let err = result.unwrap_err();
            assert!(matches!(err, TransportError::Connection { .. }), "{err}");
            assert!(!conn.is_open());
            // The next request opens a new connection (and re-authenticates).
            assert!(conn.post(Bytes::from_static(b"again")).await.is_ok());
        }
    }
    // NTLM: the first handshake plus one per broken connection.
    assert_eq!(server.stats().handshakes.load(Ordering::Relaxed), 3);
}

/// The client notices a server-side close when its connection task reads
/// EOF; give it a moment rather than racing it.
async fn wait_closed(conn: &wsman::transport::Connection) {
    for _ in 0..500 {
        if !conn.is_open() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the client did not notice that the server closed the connection");
}

#[tokio::test]
async fn server_closing_the_connection_means_a_new_handshake() {
    let server = start(server_config()).await;
    let mut conn = Connector::new(client(server.local_addr(), ntlm("vagrant", "vagrant")))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let (_, reply) = conn.post(Bytes::from_static(b"close")).await.unwrap();
    assert_eq!(&reply[..], b"bye");
    wait_closed(&conn).await;
    assert_eq!(
        &conn.post(Bytes::from_static(b"x")).await.unwrap().1[..],
        b"vagrant:x"
    );

    server.drop_connections();
    wait_closed(&conn).await;
    assert_eq!(
        &conn.post(Bytes::from_static(b"y")).await.unwrap().1[..],
        b"vagrant:y"
    );
    assert_eq!(server.stats().handshakes.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn timeouts_and_size_limits() {
    let mut config = server_config();
    config.max_body_bytes = 4096;
    let server = start(config).await;
    let mut settings = client(server.local_addr(), basic("vagrant", "vagrant"));
    settings.request_timeout = Duration::from_millis(300);
    settings.max_response_bytes = 64 * 1024;
    let mut conn = Connector::new(settings).unwrap().connect().await.unwrap();

    let err = conn.post(Bytes::from_static(b"slow")).await.unwrap_err();
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");

    let err = conn.post(Bytes::from_static(b"big")).await.unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooLarge { .. }),
        "{err}"
    );

    let (status, body) = conn.post(Bytes::from(vec![b'a'; 8192])).await.unwrap();
    assert_eq!((status, body.len()), (413, 0));
}

#[tokio::test]
async fn pool_reuses_authenticated_connections() {
    let server = start(server_config()).await;
    let connector =
        Connector::new(client(server.local_addr(), ntlm("vagrant", "vagrant"))).unwrap();
    let pool = Pool::new(connector, 2);
    {
        let mut a = pool.get().await.unwrap();
        let mut b = pool.get().await.unwrap();
        // A third caller waits until one comes back.
        assert!(
            tokio::time::timeout(Duration::from_millis(100), pool.get())
                .await
                .is_err()
        );
        a.post(Bytes::from_static(b"1")).await.unwrap();
        b.post(Bytes::from_static(b"2")).await.unwrap();
    }
    assert_eq!(pool.idle_count(), 2);
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut conn = pool.get().await.unwrap();
                let body = format!("req{i}");
                let (_, reply) = conn.post(Bytes::from(body.clone())).await.unwrap();
                assert_eq!(reply, format!("vagrant:{body}"));
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.stats().handshakes.load(Ordering::Relaxed), 2);
    // A broken connection is not handed out again.
    {
        let mut c = pool.get().await.unwrap();
        assert!(c.post(Bytes::from_static(b"abort")).await.is_err());
    }
    assert_eq!(pool.idle_count(), 1);
}

// --- HTTPS --------------------------------------------------------------

fn rand_suffix() -> u32 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct names, so a wrong CA is an unknown issuer, not a bad signature.
    let name = format!(
        "wsman test CA {}",
        std::process::id() as u128 * 1_000_000 + u128::from(rand_suffix())
    );
    ca_params.distinguished_name.push(DnType::CommonName, name);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

async fn start_tls(pki: &Pki) -> ServerHandle {
    let mut config = server_config();
    config.tls =
        Some(tls::server_config_from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap());
    config.allow_unencrypted = false;
    start(config).await
}

fn https(addr: SocketAddr, auth: ClientAuth, trust: TlsTrust) -> ClientConfig {
    let mut config = ClientConfig::new(format!("https://{addr}/wsman"), auth);
    config.tls = trust;
    config
}

#[tokio::test]
async fn https_with_ca_bundle() {
    let pki = pki();
    let server = start_tls(&pki).await;
    let trust = TlsTrust {
        ca_bundle_pem: Some(pki.ca_pem.clone().into_bytes()),
        insecure_skip_verify: false,
    };
    for auth in [basic("vagrant", "vagrant"), ntlm("vagrant", "vagrant")] {
        let mut conn = Connector::new(https(server.local_addr(), auth, trust.clone()))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let (status, reply) = conn.post(Bytes::from_static(b"<tls/>")).await.unwrap();
        assert_eq!((status, &reply[..]), (200, &b"vagrant:<tls/>"[..]));
    }
    // Auto encryption relies on TLS: nothing was sealed.
    assert_eq!(server.stats().sealed_requests.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn https_without_the_ca_is_a_clear_tls_error() {
    let pki = pki();
    let other = self::pki();
    let server = start_tls(&pki).await;
    let trust = TlsTrust {
        ca_bundle_pem: Some(other.ca_pem.into_bytes()),
        insecure_skip_verify: false,
    };
    let err = Connector::new(https(
        server.local_addr(),
        basic("vagrant", "vagrant"),
        trust,
    ))
    .unwrap()
    .connect()
    .await
    .unwrap_err();
    assert!(matches!(err, TransportError::Tls { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("CA bundle") && message.contains("UnknownIssuer"),
        "{message}"
    );

    // System roots do not know our CA either.
    let result = Connector::new(https(
        server.local_addr(),
        basic("vagrant", "vagrant"),
        TlsTrust::default(),
    ));
    match result {
        Ok(connector) => {
            let err = connector.connect().await.unwrap_err();
            assert!(matches!(err, TransportError::Tls { .. }), "{err}");
        }
        // A machine without a system trust store says so up front.
        Err(err) => assert!(matches!(err, TransportError::TlsMaterial { .. }), "{err}"),
    }
}

#[tokio::test]
async fn https_with_insecure_skip_verify() {
    let pki = pki();
    let server = start_tls(&pki).await;
    let trust = TlsTrust {
        ca_bundle_pem: None,
        insecure_skip_verify: true,
    };
    let mut conn = Connector::new(https(
        server.local_addr(),
        basic("vagrant", "vagrant"),
        trust,
    ))
    .unwrap()
    .connect()
    .await
    .unwrap();
    assert_eq!(
        &conn.post(Bytes::from_static(b"z")).await.unwrap().1[..],
        b"vagrant:z"
    );
}

#[test]
fn bad_configuration_is_refused_early() {
    for endpoint in ["ftp://host/wsman", "not a url", "http:///wsman"] {
        let err = Connector::new(ClientConfig::new(endpoint, basic("u", "p"))).unwrap_err();
        assert!(
            matches!(err, TransportError::Config { .. }),
            "{endpoint}: {err}"
        );
    }
    let mut config = ClientConfig::new("http://h", basic("u", "p"));
    config.encryption = Encryption::Always;
    assert!(Connector::new(config).is_err());
    let connector = Connector::new(ClientConfig::new("http://h", basic("u", "p"))).unwrap();
    assert_eq!(connector.endpoint(), "http://h:5985/wsman");
    let connector = Connector::new(ClientConfig::new("HTTP://[::1]", basic("u", "p"))).unwrap();
    assert_eq!(connector.endpoint(), "http://[::1]:5985/wsman");
    let err = tls::server_config_from_pem(b"garbage", b"garbage").unwrap_err();
    assert!(matches!(err, TransportError::TlsMaterial { .. }));
}

// --- The server's wire behaviour, seen through raw HTTP --------------------

struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Reads one HTTP message (head + Content-Length body) from `stream`.
async fn read_message(stream: &mut TcpStream) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = vec![0u8; len - body.len()];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((start, headers, body))
}

async fn raw_post(
    stream: &mut TcpStream,
    authorization: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> RawResponse {
    let mut request = format!(
        "POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(value) = authorization {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let (start, headers, body) = read_message(stream).await.expect("a response");
    let status = start.split(' ').nth(1).unwrap().parse().unwrap();
    RawResponse {
        status,
        headers,
        body,
    }
}

const SOAP: &str = "application/soap+xml;charset=UTF-8";

#[tokio::test]
async fn unauthenticated_request_gets_a_windows_shaped_401() {
    let server = start(server_config()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let res = raw_post(&mut stream, None, SOAP, b"<s:Envelope/>").await;
    assert_eq!(res.status, 401);
    assert!(res.body.is_empty());
    assert_eq!(res.header("content-length"), Some("0"));
    assert_eq!(res.header("content-type"), Some(SOAP));
    assert_eq!(
        res.all("www-authenticate"),
        ["Negotiate", "Basic realm=\"WSMAN\""]
    );
    // Still on the same keep-alive connection: a probe with no body.
    let res = raw_post(&mut stream, None, SOAP, b"").await;
    assert_eq!(res.status, 401);

    // The offered schemes are configurable.
    let mut config = server_config();
    config.basic = false;
    config.ntlm = true;
    let server = start(config).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let res = raw_post(
        &mut stream,
        Some(&auth::basic_authorization("vagrant", &"vagrant".into())),
        SOAP,
        b"x",
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.all("www-authenticate"), ["Negotiate", "NTLM"]);
}

/// The Go client's flow: every handshake leg carries the full SOAP body, the
/// last leg's body is processed, then requests go without Authorization.
#[tokio::test]
async fn handshake_legs_with_bodies_and_header_less_requests() {
    let server = start(server_config()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let soap = "<s:Envelope>ü</s:Envelope>".as_bytes();
    let res = raw_post(&mut stream, None, SOAP, soap).await;
    assert_eq!(res.status, 401);

    let mut initiator = NtlmInitiator::new("vagrant", &"vagrant".into()).unwrap();
    let type1 = initiator.negotiate().unwrap();
    let res = raw_post(
        &mut stream,
        Some(&auth::token_header(&Scheme::Negotiate, &type1)),
        SOAP,
        soap,
    )
    .await;
    assert_eq!(res.status, 401);
    assert!(res.body.is_empty());
    let challenges =
        auth::parse_www_authenticate(res.all("www-authenticate").into_iter().map(str::as_bytes))
            .unwrap();
    let type2 = challenges[0].token.clone().unwrap();
    assert_eq!(challenges[0].scheme, Scheme::Negotiate);

    let (type3, _session) = initiator.authenticate(&type2).unwrap();
    let res = raw_post(
        &mut stream,
        Some(&auth::token_header(&Scheme::Negotiate, &type3)),
        SOAP,
        soap,
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some(SOAP));
    assert_eq!(res.body, "vagrant:<s:Envelope>ü</s:Envelope>".as_bytes());

    let res = raw_post(&mut stream, None, SOAP, b"next").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"vagrant:next");

    // A new TCP connection is not authenticated.
    let mut fresh = TcpStream::connect(server.local_addr()).await.unwrap();
    assert_eq!(raw_post(&mut fresh, None, SOAP, b"next").await.status, 401);
}

/// A sealed body that does not verify closes the connection on the server.
#[tokio::test]
async fn server_refuses_a_tampered_sealed_request() {
    let server = start(server_config()).await;
    let mut stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let mut initiator = NtlmInitiator::new("vagrant", &"vagrant".into()).unwrap();
    let type1 = initiator.negotiate().unwrap();
    let res = raw_post(
        &mut stream,
        Some(&auth::token_header(&Scheme::Ntlm, &type1)),
        SOAP,
        b"",
    )
    .await;
    let challenges =
        auth::parse_www_authenticate(res.all("www-authenticate").into_iter().map(str::as_bytes))
            .unwrap();
    assert_eq!(
        challenges[0].scheme,
        Scheme::Ntlm,
        "the server answers in the client's scheme"
    );
    let (type3, mut session) = initiator
        .authenticate(challenges[0].token.as_deref().unwrap())
        .unwrap();
    let res = raw_post(
        &mut stream,
        Some(&auth::token_header(&Scheme::Ntlm, &type3)),
        "",
        b"",
    )
    .await;
    assert_eq!(res.status, 200);

    let mut sealed = sealing::seal_body(&mut session, b"<s:Envelope/>").unwrap();
    let at = sealed.len() - 30;
    sealed[at] ^= 1;
    let res = raw_post(&mut stream, None, sealing::CONTENT_TYPE, &sealed).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.header("connection"), Some("close"));
    assert!(
        read_message(&mut stream).await.is_none(),
        "the connection stays open"
    );
}

// --- A hostile server for the client ------------------------------------

#[derive(Clone, Copy)]
enum Evil {
    /// Flip a byte of the sealed response.
    Tamper,
    /// Answer a sealed request in plain text.
    Plain,
}

async fn evil_server(mode: Evil) -> SocketAddr {
    let listener = TcpListener::bind(LOCAL).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut acceptor = Some(NtlmAcceptor::new(credentials()));
        let mut session = None;
        while let Some((_, headers, body)) = read_message(&mut stream).await {
            let authz = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                .map(|(_, v)| v.clone());
            let response = match authz.map(|v| auth::parse_authorization(v.as_bytes()).unwrap()) {
                Some(auth::Authorization::Token { token, .. })
                    if session.is_none() && token[8] == 1 =>
                {
                    let type2 = acceptor.as_mut().unwrap().challenge(&token).unwrap();
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {}\r\nContent-Length: 0\r\n\r\n",
                        auth::token_header(&Scheme::Negotiate, &type2)
                    )
                    .into_bytes()
                }
                Some(auth::Authorization::Token { token, .. }) => {
                    let (_, s) = acceptor.take().unwrap().accept(&token).unwrap();
                    session = Some(s);
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec()
                }
                _ => {
                    let s = session.as_mut().unwrap();
                    let plain = sealing::unseal_body(s, &body).unwrap();
                    let (content_type, payload) = match mode {
                        Evil::Tamper => {
                            let mut sealed = sealing::seal_body(s, &plain).unwrap();
                            let at = sealed.len() - 26;
                            sealed[at] ^= 0x01;
                            (sealing::CONTENT_TYPE, sealed)
                        }
                        Evil::Plain => (SOAP, b"<forged/>".to_vec()),
                    };
                    let mut out = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                        payload.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(&payload);
                    out
                }
            };
            stream.write_all(&response).await.unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn client_fails_closed_on_a_tampered_sealed_response() {
    let addr = evil_server(Evil::Tamper).await;
    let mut conn = Connector::new(client(addr, ntlm("vagrant", "vagrant")))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let err = conn
        .post(Bytes::from_static(b"<s:Envelope/>"))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Sealing { .. }), "{err}");
    assert!(!conn.is_open(), "the session must not be reused");
}

#[tokio::test]
async fn client_refuses_a_plain_answer_on_a_sealed_session() {
    let addr = evil_server(Evil::Plain).await;
    let mut conn = Connector::new(client(addr, ntlm("vagrant", "vagrant")))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let err = conn
        .post(Bytes::from_static(b"<s:Envelope/>"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::UnsealedResponse { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn client_reports_a_server_that_offers_no_usable_scheme() {
    let listener = TcpListener::bind(LOCAL).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        while read_message(&mut stream).await.is_some() {
            let res = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"WSMAN\"\r\nContent-Length: 0\r\n\r\n";
            stream.write_all(res.as_bytes()).await.unwrap();
        }
    });
    let err = Connector::new(client(addr, ntlm("vagrant", "vagrant")))
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::SchemeNotOffered { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Basic"), "{err}");
}
