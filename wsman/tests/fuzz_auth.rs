//! Fuzz target `auth`: WinRM authentication, both halves.
//!
//! - headers: `parse_authorization` (server), `parse_www_authenticate`
//!   (client), `check_content_type` (both), with round trips through
//!   `basic_authorization`, `token_header` and `Challenge::to_header_value`;
//! - NTLM messages: the acceptor's `challenge` (a client's Type 1) and
//!   `accept` (a client's Type 3, mutated from a real one for a real
//!   challenge), the initiator's `authenticate` (a server's Type 2);
//! - sealing: `sealing::parse` and `unseal_body` on bodies sealed by a real
//!   NTLM session and then mutated, both directions: an accepted body must
//!   unseal to exactly what was sealed; `kerberos::parse_sealed`;
//! - the server: raw HTTP requests with mutated Authorization headers and
//!   NTLM handshakes against a running `WsmanServer`, which must answer
//!   sensibly and keep serving.
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p wsman --test fuzz_auth -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, Mutations, kind, mutations};
use wsman::transport::auth::{
    Authorization, Challenge, CredentialStore, Password, Scheme, StaticCredentials,
    basic_authorization, parse_authorization, parse_www_authenticate, token_header,
};
use wsman::transport::kerberos;
use wsman::transport::ntlm::{self, MessageType, NtlmAcceptor, NtlmInitiator, NtlmSession};
use wsman::transport::sealing::{self, Sealer};
use wsman::transport::server::handler_fn;
use wsman::transport::{ServerConfig, SoapReply, TransportError, WsmanServer};

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");
const USER: &str = "vagrant";
const PASSWORD: &str = "s3cret-é";

fn corpus_dir(name: &str) -> PathBuf {
    Path::new(DIR).join("tests/fuzz-corpus").join(name)
}

fn store() -> Arc<dyn CredentialStore> {
    Arc::new(StaticCredentials::new().with_user(USER, PASSWORD))
}

/// A real NTLM handshake: (type1, type2, type3, client session, server session).
fn handshake() -> (Vec<u8>, Vec<u8>, Vec<u8>, NtlmSession, NtlmSession) {
    let mut initiator =
        NtlmInitiator::new(&format!("LAB\\{USER}"), &Password::new(PASSWORD)).unwrap();
    let type1 = initiator.negotiate().unwrap();
    let mut acceptor = NtlmAcceptor::new(store());
    let type2 = acceptor.challenge(&type1).unwrap();
    let (type3, client) = initiator.authenticate(&type2).unwrap();
    let (_, server) = acceptor.accept(&type3).unwrap();
    (type1, type2, type3, client, server)
}

/// The MS-WSMV framing with a Kerberos wrap header, written the way
/// `kerberos::seal_body` writes it (which needs a KDC to run).
fn kerberos_frame(header: &[u8], ciphertext: &[u8], declared: usize) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"--Encrypted Boundary\r\n");
    out.extend_from_slice(b"\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n");
    out.extend_from_slice(
        format!("\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length={declared}\r\n")
            .as_bytes(),
    );
    out.extend_from_slice(b"--Encrypted Boundary\r\n");
    out.extend_from_slice(b"\tContent-Type: application/octet-stream\r\n");
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(ciphertext);
    out.extend_from_slice(b"--Encrypted Boundary--\r\n");
    out
}

const SOAP: &[u8] = br#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body/></s:Envelope>"#;

/// Writes the generated corpora (NTLM tokens, sealed bodies); run it after
/// a change to what our NTLM or sealing code writes, and check the files in.
#[test]
#[ignore = "writes the generated corpus files"]
fn regenerate_corpus() {
    let ntlm_dir = corpus_dir("ntlm");
    let sealed_dir = corpus_dir("sealed");
    std::fs::create_dir_all(&ntlm_dir).unwrap();
    std::fs::create_dir_all(&sealed_dir).unwrap();
    let (type1, type2, type3, mut client, mut server) = handshake();
    std::fs::write(ntlm_dir.join("type1-wsman.bin"), &type1).unwrap();
    std::fs::write(ntlm_dir.join("type2-wsman.bin"), &type2).unwrap();
    std::fs::write(ntlm_dir.join("type3-wsman.bin"), &type3).unwrap();
    let sealed = sealing::seal_body(&mut client, SOAP).unwrap();
    std::fs::write(sealed_dir.join("ntlm-request.bin"), &sealed).unwrap();
    let reply = sealing::seal_body(&mut server, b"<s:Envelope/>").unwrap();
    std::fs::write(sealed_dir.join("ntlm-reply.bin"), &reply).unwrap();
    let header: Vec<u8> = (0u8..60).collect();
    std::fs::write(
        sealed_dir.join("kerberos-shaped.bin"),
        kerberos_frame(&header, b"ciphertext-of-the-envelope", 26),
    )
    .unwrap();
}

fn header_corpus() -> Corpus {
    let mut corpus = Corpus::from_dir(corpus_dir("auth-headers"));
    let (type1, type2, type3, _, _) = handshake();
    corpus.push("authz-type1", token_header(&Scheme::Negotiate, &type1));
    corpus.push("www-type2", token_header(&Scheme::Negotiate, &type2));
    corpus.push("authz-type3", token_header(&Scheme::Negotiate, &type3));
    corpus.push(
        "authz-basic-built",
        basic_authorization("CORP\\capi-svc", &Password::new("p:ä ß")),
    );
    corpus.push("content-type-built", sealing::CONTENT_TYPE);
    corpus
}

fn header_dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            "Negotiate",
            "NTLM",
            "Kerberos",
            "Basic",
            "CredSSP",
            "Digest",
            " ",
            ", ",
            ",",
            "=",
            "\"",
            "\\",
            "\\\"",
            "realm=",
            "realm=\"WSMAN\"",
            "charset=UTF-8",
            "TlRMTVNTUAAB",
            "TlRMTVNTUAAC",
            "TlRMTVNTUAAD",
            "==",
            "=",
            "\t",
            "\u{e9}",
            "multipart/encrypted",
            ";protocol=",
            ";boundary=\"Encrypted Boundary\"",
            "application/HTTP-SPNEGO-session-encrypted",
            "\n",
        ])
        .pairs([("\"", "\""), ("realm=\"", "\", ")])
        .max_len(70 * 1024)
}

fn transport_kind(e: &TransportError) -> String {
    match e {
        TransportError::AuthHeader { reason, .. } => format!("AuthHeader({reason})"),
        other => kind(other),
    }
}

/// One header value through every header parser.
fn headers(input: &[u8]) -> Result<String, TestCaseError> {
    let mut kinds = Vec::new();
    match parse_authorization(input) {
        Ok(Authorization::Basic { user, password }) => {
            // Written and read back: the same credentials.
            let again = parse_authorization(basic_authorization(&user, &password).as_bytes());
            prop_assert!(
                matches!(&again, Ok(Authorization::Basic { user: u, password: p }) if *u == user && *p == password),
                "Basic round trip: {again:?}"
            );
            kinds.push("ok:basic".to_string());
        }
        Ok(Authorization::Token { scheme, token }) => {
            let again = parse_authorization(token_header(&scheme, &token).as_bytes());
            prop_assert_eq!(
                again.ok(),
                Some(Authorization::Token {
                    scheme: scheme.clone(),
                    token: token.clone()
                })
            );
            if let Some(t) = ntlm::message_type(&token) {
                kinds.push(format!("ok:token:{t:?}"));
            } else {
                kinds.push("ok:token".into());
            }
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            kinds.push(transport_kind(&e));
        }
    }
    // Several WWW-Authenticate values, one per line.
    let values: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    match parse_www_authenticate(values.iter().copied()) {
        Ok(challenges) => {
            prop_assert!(challenges.len() <= 16);
            let written: Vec<String> = challenges.iter().map(Challenge::to_header_value).collect();
            // Writing escapes quotes and backslashes, which can take a
            // value past the 64 KiB a header may have.
            let total: usize = written.iter().map(String::len).sum();
            if total <= wsman::transport::auth::MAX_AUTH_HEADER_LEN {
                let again = parse_www_authenticate(written.iter().map(|w| w.as_bytes()));
                prop_assert_eq!(
                    again.as_ref().ok(),
                    Some(&challenges),
                    "challenge round trip via {:?}",
                    written
                );
            }
        }
        Err(e) => kinds.push(transport_kind(&e)),
    }
    if let Err(e) = sealing::check_content_type(&String::from_utf8_lossy(input)) {
        // At most 200 characters of the value, each escaped to at most 10.
        prop_assert!(e.to_string().len() <= 2100, "{e}");
    }
    Ok(kinds.join("+"))
}

fn ntlm_kind(e: &wsman::transport::NtlmError) -> String {
    match e {
        wsman::transport::NtlmError::Malformed { reason } => format!("Malformed({reason})"),
        other => kind(other),
    }
}

fn ntlm_corpus() -> Corpus {
    let mut corpus = Corpus::from_dir(corpus_dir("ntlm"));
    let (type1, type2, type3, _, _) = handshake();
    corpus.push("type1", type1);
    corpus.push("type2", type2);
    corpus.push("type3", type3);
    corpus
}

fn ntlm_dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            &b"NTLMSSP\0"[..],
            b"\x01\0\0\0",
            b"\x02\0\0\0",
            b"\x03\0\0\0",
            b"\x01\x01\0\0",
            b"\x07\0\x08\0",
            b"\0\0\0\0",
            b"\xff\xff\xff\xff",
        ])
        .max_len(20 * 1024)
}

/// A client's Type 1, as the server gets it.
fn negotiate(input: &[u8]) -> Result<String, TestCaseError> {
    let mut acceptor = NtlmAcceptor::new(store());
    Ok(match acceptor.challenge(input) {
        Ok(type2) => {
            prop_assert_eq!(ntlm::message_type(&type2), Some(MessageType::Challenge));
            "ok".into()
        }
        Err(e) => ntlm_kind(&e),
    })
}

/// A server's Type 2, as the client gets it (sspi parses it).
fn challenge(input: &[u8]) -> Result<String, TestCaseError> {
    let mut initiator = NtlmInitiator::new("LAB\\vagrant", &Password::new(PASSWORD)).unwrap();
    initiator.negotiate().unwrap();
    Ok(match initiator.authenticate(input) {
        Ok((type3, _)) => {
            prop_assert_eq!(ntlm::message_type(&type3), Some(MessageType::Authenticate));
            "ok".into()
        }
        Err(e) => ntlm_kind(&e),
    })
}

/// A client's Type 3 for a real challenge, mutated: only the unmutated one
/// (or a mutation that leaves what is checked intact) may log in, and
/// never as anyone else.
fn authenticate(
    m: &Mutations,
    corpus: &Corpus,
    dict: &Dictionary,
) -> Result<String, TestCaseError> {
    let mut initiator =
        NtlmInitiator::new(&format!("LAB\\{USER}"), &Password::new(PASSWORD)).unwrap();
    let type1 = initiator.negotiate().unwrap();
    let mut acceptor = NtlmAcceptor::new(store());
    let type2 = acceptor.challenge(&type1).unwrap();
    let (type3, _) = initiator.authenticate(&type2).unwrap();
    let mutated = m.apply_steps(type3.clone(), corpus, dict);
    Ok(match acceptor.accept(&mutated) {
        Ok((user, _)) => {
            prop_assert!(
                user.user.eq_ignore_ascii_case(USER),
                "logged in as {user:?}"
            );
            if mutated == type3 {
                "ok".into()
            } else {
                "ok:mutated".into()
            }
        }
        Err(e) => {
            prop_assert!(mutated != type3, "the real Type 3 was refused: {e}");
            ntlm_kind(&e)
        }
    })
}

fn sealing_kind(e: &wsman::transport::SealingError) -> String {
    match e {
        wsman::transport::SealingError::Framing { reason } => format!("Framing({reason})"),
        other => kind(other),
    }
}

/// A body sealed by a real session, mutated, unsealed by the peer: either
/// refused, or exactly what was sealed. `to_server` picks the direction.
fn sealed(
    m: &Mutations,
    to_server: bool,
    corpus: &Corpus,
    dict: &Dictionary,
) -> Result<String, TestCaseError> {
    let (_, _, _, mut client, mut server) = handshake();
    let plaintext = corpus.bytes(0);
    let plaintext = if plaintext.is_empty() {
        SOAP
    } else {
        plaintext
    };
    let (sender, receiver): (&mut dyn Sealer, &mut dyn Sealer) = if to_server {
        (&mut client, &mut server)
    } else {
        (&mut server, &mut client)
    };
    let body = sealing::seal_body(sender, plaintext).unwrap();
    let mutated = m.apply_steps(body.clone(), corpus, dict);
    let parsed = sealing::parse(&mutated).map(|p| p.declared_length);
    Ok(match sealing::unseal_body(receiver, &mutated) {
        Ok(plain) => {
            prop_assert_eq!(
                &plain[..],
                plaintext,
                "a tampered body unsealed to other bytes"
            );
            prop_assert!(parsed.is_ok());
            if mutated == body {
                "ok".into()
            } else {
                "ok:equivalent-framing".into()
            }
        }
        Err(e) => {
            prop_assert!(mutated != body, "the real sealed body was refused: {e}");
            sealing_kind(&e)
        }
    })
}

/// The Kerberos framing parser (no session needed): parts come back as
/// they were framed.
fn kerberos_frame_case(input: &[u8]) -> Result<String, TestCaseError> {
    Ok(match kerberos::parse_sealed(input) {
        Ok(parts) => {
            prop_assert!(!parts.header.is_empty() && parts.header.len() <= 1024);
            let again = kerberos_frame(parts.header, parts.ciphertext, parts.declared_length);
            let reparsed = kerberos::parse_sealed(&again);
            prop_assert_eq!(reparsed.ok(), Some(parts));
            "ok".into()
        }
        Err(e) => sealing_kind(&e),
    })
}

/// What one raw HTTP exchange produced.
#[derive(Debug)]
struct HttpAnswer {
    status: u16,
    www_authenticate: Vec<String>,
}

/// Sends `request` on `stream` and reads one response (None: the server
/// closed the connection, which it may do after a bad request).
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    request: &[u8],
) -> Result<Option<HttpAnswer>, String> {
    stream.write_all(request).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| "no answer within 10 s".to_string())?
            .map_err(|e| e.to_string());
        match n {
            Ok(0) | Err(_) if buf.is_empty() => return Ok(None),
            Ok(0) | Err(_) => {
                return Err(format!(
                    "truncated response: {:?}",
                    String::from_utf8_lossy(&buf)
                ));
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let mut length = 0usize;
    let mut www_authenticate = Vec::new();
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("www-authenticate") {
                www_authenticate.push(value.trim().to_string());
            }
        }
    }
    while buf.len() < head_end + length {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| "body not sent within 10 s".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(HttpAnswer {
        status,
        www_authenticate,
    }))
}

fn http_request(authorization: &[u8], body: &[u8]) -> Vec<u8> {
    // Line breaks would end the header early (that is hyper's to refuse,
    // and the request-line fuzzing is not ours); everything else goes.
    let auth: Vec<u8> = authorization
        .iter()
        .copied()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    let mut out = b"POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ".to_vec();
    out.extend_from_slice(&auth);
    out.extend_from_slice(
        format!(
            "\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

/// One connection to the running server: a mutated Authorization header,
/// or a real NTLM handshake whose Type 3 is mutated. The server must
/// answer with a sensible status (or close), admit only valid credentials,
/// and keep serving.
async fn server_case(
    addr: std::net::SocketAddr,
    m: &Mutations,
    ntlm_flow: bool,
    corpus: &Corpus,
    dict: &Dictionary,
) -> Result<String, String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let allowed = |s: u16| matches!(s, 200 | 400 | 401 | 413 | 431 | 500);
    if !ntlm_flow {
        let header = m.apply(corpus, dict);
        let Some(answer) = exchange(&mut stream, &http_request(&header, SOAP)).await? else {
            return Ok("closed".into());
        };
        if !allowed(answer.status) {
            return Err(format!(
                "status {} for Authorization {:?}",
                answer.status,
                String::from_utf8_lossy(&header)
            ));
        }
        if answer.status == 200 {
            // Only the real account's Basic credentials get through.
            match parse_authorization(&header) {
                Ok(Authorization::Basic { user, password })
                    if password.expose() == PASSWORD
                        && wsman::transport::auth::split_user(&user)
                            .0
                            .eq_ignore_ascii_case(USER) => {}
                other => return Err(format!("200 for {:?}", other.map(|a| format!("{a:?}")))),
            }
        }
        return Ok(format!("http-{}", answer.status));
    }
    let mut initiator =
        NtlmInitiator::new(&format!("LAB\\{USER}"), &Password::new(PASSWORD)).unwrap();
    let type1 = initiator.negotiate().unwrap();
    let Some(answer) = exchange(
        &mut stream,
        &http_request(token_header(&Scheme::Negotiate, &type1).as_bytes(), b""),
    )
    .await?
    else {
        return Err("the server closed the connection on a real Type 1".into());
    };
    if answer.status != 401 {
        return Err(format!("status {} for a real Type 1", answer.status));
    }
    let challenges = parse_www_authenticate(answer.www_authenticate.iter().map(|v| v.as_bytes()))
        .map_err(|e| format!("the server's challenge does not parse: {e}"))?;
    let type2 = challenges
        .iter()
        .find_map(|c| c.token.clone())
        .ok_or("no Type 2 in the challenge")?;
    let (type3, _) = initiator.authenticate(&type2).map_err(|e| e.to_string())?;
    let mutated = m.apply_steps(type3.clone(), corpus, dict);
    let header = token_header(&Scheme::Negotiate, &mutated);
    let Some(answer) = exchange(&mut stream, &http_request(header.as_bytes(), SOAP)).await? else {
        return Ok("closed".into());
    };
    if !allowed(answer.status) || (mutated == type3 && answer.status != 200) {
        return Err(format!(
            "status {} after a Type 3 (mutated: {})",
            answer.status,
            mutated != type3
        ));
    }
    Ok(format!("ntlm-http-{}", answer.status))
}

#[test]
fn fuzz_auth() {
    let mut fuzz = Fuzz::new("auth", file!(), corpus_dir("auth-headers"), 7);

    let headers_corpus = header_corpus();
    let headers_dict = header_dictionary();
    fuzz.bytes("headers", &headers_corpus, &headers_dict, 64, headers);

    let ntlm_corpus = ntlm_corpus();
    let ntlm_dict = ntlm_dictionary();
    fuzz.bytes("ntlm-negotiate", &ntlm_corpus, &ntlm_dict, 64, negotiate);
    fuzz.bytes("ntlm-challenge", &ntlm_corpus, &ntlm_dict, 64, challenge);
    let steps = mutations(ntlm_corpus.len(), &ntlm_dict);
    fuzz.values("ntlm-authenticate", steps, 16 << 20, |m| {
        authenticate(&m, &ntlm_corpus, &ntlm_dict)
    });

    let mut sealed_corpus = Corpus::default();
    sealed_corpus.push("soap", SOAP);
    sealed_corpus.add_dir(corpus_dir("sealed"));
    let sealed_dict = Dictionary::new()
        .words([
            "--Encrypted Boundary\r\n",
            "--Encrypted Boundary--",
            "\r\n",
            "\t",
            ";Length=",
            "Length=99999999999",
        ])
        .max_len(64 * 1024);
    let steps = (mutations(sealed_corpus.len(), &sealed_dict), any::<bool>());
    fuzz.values("sealed", steps, 16 << 20, |(m, to_server)| {
        sealed(&m, to_server, &sealed_corpus, &sealed_dict)
    });
    fuzz.bytes(
        "kerberos-frame",
        &sealed_corpus,
        &sealed_dict,
        16,
        kerberos_frame_case,
    );

    // The server, over loopback: one runtime and one server for the phase.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = ServerConfig::new(store());
        config.max_body_bytes = 1 << 20;
        let handler = handler_fn(|_user, body: Bytes| async move { SoapReply::ok(body) });
        WsmanServer::new(config, handler).serve(listener).unwrap()
    });
    let addr = handle.local_addr();
    let steps = (
        mutations(headers_corpus.len(), &headers_dict),
        any::<bool>(),
    );
    fuzz.values("server", steps, 32 << 20, |(m, ntlm_flow)| {
        let dict = if ntlm_flow { &ntlm_dict } else { &headers_dict };
        let corpus = if ntlm_flow {
            &ntlm_corpus
        } else {
            &headers_corpus
        };
        runtime
            .block_on(server_case(addr, &m, ntlm_flow, corpus, dict))
            .map_err(TestCaseError::fail)
    });
    // Still serving: a valid Basic request goes through.
    let alive = runtime.block_on(async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let header = basic_authorization(USER, &Password::new(PASSWORD));
        exchange(&mut stream, &http_request(header.as_bytes(), SOAP)).await
    });
    assert!(
        matches!(alive, Ok(Some(HttpAnswer { status: 200, .. }))),
        "the server no longer serves: {alive:?}"
    );
    handle.shutdown();
    fuzz.finish();
}
