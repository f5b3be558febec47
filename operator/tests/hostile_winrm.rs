//! A hostile "WinRM server" on loopback, speaking raw TCP: whatever it
//! sends (a gigabyte announced, an endless body, endless headers, XML nested
//! a million deep, bytes that are not HTTP), the operator's SCVMM client
//! fails with an error that says what happened, in bounded time and bounded
//! memory (measured with the fuzz harness's counting allocator). Rows of
//! docs/security.md ("Hostile input").

#![allow(clippy::unwrap_used, clippy::expect_used)]

use operator::scvmm::{EndpointConfig, ScvmmClient, ScvmmError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use wsman::fuzzing::PeakAlloc;
use wsman::transport::{ClientAuth, Encryption, TlsTrust};

wsman::fuzz_allocator!();

/// The peak-heap measurements of one test must not see another's.
static SERIAL: Mutex<()> = Mutex::new(());

/// The client's default cap on one HTTP response body.
const RESPONSE_LIMIT: usize = 64 * 1024 * 1024;

/// What the server sends after reading (some of) a request.
#[derive(Clone, Copy)]
enum Hostile {
    /// Headers announcing 1 GiB, then silence.
    GigabyteAnnounced,
    /// A chunked body that never ends.
    EndlessChunks,
    /// A status line, then header lines forever.
    EndlessHeaders,
    /// A 200 SOAP response whose body nests `<a>` 150 000 deep (450 KB,
    /// under the envelope size limit, so the parser sees it).
    DeepXml,
    /// A 200 SOAP response of 3 MB, over the envelope size limit.
    HugeEnvelope,
    /// Not HTTP at all.
    NotHttp,
}

/// The bytes a hostile kind repeats or sends, made before memory is measured.
fn payload(hostile: Hostile) -> Vec<u8> {
    match hostile {
        Hostile::EndlessChunks => vec![b'x'; 1 << 20],
        Hostile::EndlessHeaders => {
            format!("WWW-Authenticate: Negotiate {}\r\n", "A".repeat(1000)).into_bytes()
        }
        Hostile::DeepXml => "<a>".repeat(150_000).into_bytes(),
        Hostile::HugeEnvelope => format!(
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>{}</s:Body></s:Envelope>",
            "x".repeat(3 << 20)
        )
        .into_bytes(),
        Hostile::GigabyteAnnounced | Hostile::NotHttp => Vec::new(),
    }
}

async fn serve(listener: TcpListener, hostile: Hostile, payload: Arc<Vec<u8>>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let payload = payload.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 16 * 1024];
            let _ = socket.read(&mut buf).await;
            let _ = match hostile {
                Hostile::GigabyteAnnounced => {
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
                              Content-Length: 1073741824\r\n\r\n<s:Envelope",
                        )
                        .await;
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    Ok(())
                }
                Hostile::EndlessChunks => {
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
                              Transfer-Encoding: chunked\r\n\r\n",
                        )
                        .await;
                    loop {
                        // 1 MiB in hex: no allocation per chunk.
                        if socket.write_all(b"100000\r\n").await.is_err()
                            || socket.write_all(&payload).await.is_err()
                            || socket.write_all(b"\r\n").await.is_err()
                        {
                            break Ok(());
                        }
                    }
                }
                Hostile::EndlessHeaders => {
                    let _ = socket.write_all(b"HTTP/1.1 401 Unauthorized\r\n").await;
                    loop {
                        if socket.write_all(&payload).await.is_err() {
                            break Ok(());
                        }
                    }
                }
                Hostile::DeepXml | Hostile::HugeEnvelope => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
                         Content-Length: {}\r\n\r\n",
                        payload.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    socket.write_all(&payload).await
                }
                Hostile::NotHttp => {
                    socket
                        .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\0\0\0\xff\xfe garbage\r\n\r\n")
                        .await
                }
            };
        });
    }
}

fn client(port: u16, hostile: Hostile) -> ScvmmClient {
    // NTLM refuses anything but a 401 challenge before any SOAP is read; to
    // get a body parsed, the XML case talks Basic without encryption (as
    // an endpoint with AllowUnencrypted=true would).
    let (auth, encryption) = match hostile {
        Hostile::DeepXml | Hostile::HugeEnvelope => (
            ClientAuth::Basic {
                user: "capi-svc".into(),
                password: "secret".into(),
            },
            Encryption::Never,
        ),
        _ => (
            ClientAuth::Ntlm {
                user: "CORP\\capi-svc".into(),
                password: "secret".into(),
            },
            Encryption::Auto,
        ),
    };
    ScvmmClient::new(EndpointConfig {
        url: format!("http://127.0.0.1:{port}/wsman"),
        auth,
        encryption,
        tls: TlsTrust::default(),
        library_share: "\\\\vmm01\\MSSCVMMLibrary\\capi-seeds".into(),
        vmm_server: None,
        max_connections: 1,
        operation_timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(20),
        lock_retry: Duration::from_millis(50),
    })
    .unwrap()
}

/// Runs `server_info` against `hostile`: the error, how long it took and
/// the peak heap growth meanwhile (the server's included).
fn against(hostile: Hostile) -> (ScvmmError, Duration, usize) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = rt.spawn(serve(listener, hostile, Arc::new(payload(hostile))));
    let c = {
        // The client's pool belongs to the runtime it is used on.
        let _runtime = rt.enter();
        client(port, hostile)
    };
    let base = PeakAlloc.current_usage();
    PeakAlloc.reset_peak_usage();
    let started = Instant::now();
    let result = rt.block_on(async {
        let result = tokio::time::timeout(Duration::from_secs(60), c.server_info()).await;
        drop(c);
        result
    });
    let took = started.elapsed();
    let peak = PeakAlloc.peak_usage().saturating_sub(base);
    server.abort();
    rt.shutdown_timeout(Duration::from_secs(1));
    let err = result
        .expect("the client gives up by itself, well before a minute")
        .expect_err("a hostile server is never a VMM server");
    (err, took, peak)
}

fn mib(bytes: usize) -> usize {
    bytes >> 20
}

#[test]
fn a_gigabyte_content_length_is_refused_before_reading() {
    let (err, took, peak) = against(Hostile::GigabyteAnnounced);
    let text = err.to_string();
    assert!(matches!(err, ScvmmError::Protocol { .. }), "{text}");
    assert!(
        !err.is_transient(),
        "the same answer would come again: {text}"
    );
    assert!(
        text.contains(&format!("exceeds the {RESPONSE_LIMIT}-byte limit")),
        "{text}"
    );
    assert!(text.contains("server_info"), "names the operation: {text}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(mib(peak) < 8, "peak heap +{} MiB", mib(peak));
}

#[test]
fn an_endless_body_stops_at_the_response_limit() {
    let (err, took, peak) = against(Hostile::EndlessChunks);
    let text = err.to_string();
    assert!(matches!(err, ScvmmError::Protocol { .. }), "{text}");
    assert!(
        text.contains(&format!("exceeds the {RESPONSE_LIMIT}-byte limit")),
        "{text}"
    );
    assert!(took < Duration::from_secs(45), "{took:?}");
    // The body is held up to the limit, and not copied.
    assert!(
        peak < RESPONSE_LIMIT + (24 << 20),
        "peak heap +{} MiB",
        mib(peak)
    );
}

#[test]
fn endless_headers_are_cut_off() {
    let (err, took, peak) = against(Hostile::EndlessHeaders);
    let text = err.to_string();
    assert!(text.contains("127.0.0.1"), "names the endpoint: {text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(mib(peak) < 8, "peak heap +{} MiB: {text}", mib(peak));
}

#[test]
fn deeply_nested_xml_is_refused_not_recursed() {
    let (err, took, peak) = against(Hostile::DeepXml);
    let text = err.to_string();
    assert!(matches!(err, ScvmmError::Protocol { .. }), "{text}");
    assert!(text.contains("nests more than"), "{text}");
    assert!(text.contains("malformed or hostile"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(mib(peak) < 8, "peak heap +{} MiB", mib(peak));
}

#[test]
fn an_envelope_over_the_size_limit_is_not_parsed() {
    let (err, took, peak) = against(Hostile::HugeEnvelope);
    let text = err.to_string();
    assert!(matches!(err, ScvmmError::Protocol { .. }), "{text}");
    assert!(text.contains("over the 524288-byte limit"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // The body once, not a tree of it.
    assert!(mib(peak) < 12, "peak heap +{} MiB", mib(peak));
}

#[test]
fn bytes_that_are_not_http_are_a_connection_error() {
    let (err, took, _) = against(Hostile::NotHttp);
    let text = err.to_string();
    assert!(matches!(err, ScvmmError::Unreachable { .. }), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
