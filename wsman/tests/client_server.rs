//! Our client against our server with the HTTP layer taken out (each post is
//! a direct call into the WinRS service): the WinRS edge cases that do not
//! depend on transport. Each test asserts what a caller sees and that the
//! server is left with no shell behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use wsman::client::{
    HttpReply, Pool, RunOptions, SoapFuture, SoapTransport, TransportFactory, run_command,
    run_powershell,
};
use wsman::server::{ScriptedBackend, ServiceConfig, ShellLimits, WinrsService};
use wsman::soap::CommandLine;
use wsman::{Error, FaultKind};

/// A connection straight into the service; `fail_at` makes the Nth post
/// (counted across all connections) fail as if the network dropped it.
struct Direct {
    service: Arc<WinrsService>,
    posts: Arc<AtomicUsize>,
    fail_at: Option<usize>,
}

impl SoapTransport for Direct {
    fn post(&mut self, body: Vec<u8>) -> SoapFuture<'_> {
        Box::pin(async move {
            let n = self.posts.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail_at == Some(n) {
                return Err(Error::Transport(
                    "connection reset by peer (injected)".into(),
                ));
            }
            let reply = self.service.handle("tester", &body).await;
            Ok(HttpReply {
                status: reply.status,
                body: reply.body.into_bytes(),
            })
        })
    }
}

struct Factory {
    service: Arc<WinrsService>,
    posts: Arc<AtomicUsize>,
    fail_at: Option<usize>,
}

impl TransportFactory for Factory {
    type Transport = Direct;
    fn connect(
        &self,
    ) -> Pin<Box<dyn std::future::Future<Output = wsman::Result<Direct>> + Send + '_>> {
        Box::pin(async move {
            Ok(Direct {
                service: self.service.clone(),
                posts: self.posts.clone(),
                fail_at: self.fail_at,
            })
        })
    }
}

struct Rig {
    service: Arc<WinrsService>,
    pool: Arc<Pool<Factory>>,
    posts: Arc<AtomicUsize>,
}

fn rig_with(config: ServiceConfig, fail_at: Option<usize>) -> Rig {
    let service = Arc::new(WinrsService::new(Arc::new(ScriptedBackend), config));
    let posts = Arc::new(AtomicUsize::new(0));
    let pool = Pool::new(
        Factory {
            service: service.clone(),
            posts: posts.clone(),
            fail_at,
        },
        "http://127.0.0.1:5985/wsman",
        4,
    );
    Rig {
        service,
        pool,
        posts,
    }
}

fn rig() -> Rig {
    rig_with(ServiceConfig::default(), None)
}

fn cmd(line: &str) -> CommandLine {
    CommandLine::new(line, vec![])
}

fn fast() -> RunOptions {
    RunOptions {
        operation_timeout: Duration::from_millis(300),
        deadline: Duration::from_secs(20),
        ..RunOptions::default()
    }
}

#[tokio::test]
async fn a_command_runs_and_its_shell_is_deleted() {
    let r = rig();
    let out = run_command(&r.pool, cmd("echo hello"), None, &fast())
        .await
        .unwrap();
    assert_eq!(out.stdout, "hello\r\n");
    assert_eq!(out.stderr, "");
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(r.service.open_shells(), 0);
    // Create, Command, Receive, Signal, Delete.
    assert_eq!(r.pool.stats().snapshot().round_trips, 5);
}

#[tokio::test]
async fn stderr_only_non_zero_exit_and_empty_output_are_reported() {
    let r = rig();
    let out = run_command(&r.pool, cmd("warn disk full\nexit 3"), None, &fast())
        .await
        .unwrap();
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "disk full\r\n");
    assert_eq!(out.exit_code, Some(3));
    let out = run_command(&r.pool, cmd("exit 0"), None, &fast())
        .await
        .unwrap();
    assert_eq!((out.stdout.as_str(), out.exit_code), ("", Some(0)));
}

#[tokio::test]
async fn large_output_arrives_over_many_receives_within_the_envelope_size() {
    let r = rig();
    let options = RunOptions {
        max_envelope_size: 16 * 1024,
        ..fast()
    };
    let out = run_command(&r.pool, cmd("big 2097152"), None, &options)
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 2 * 1024 * 1024);
    assert!(out.stdout.bytes().all(|b| b == b'x'));
    let trips = r.pool.stats().snapshot().round_trips;
    assert!(
        trips > 2 * 1024 * 1024 / (16 * 1024),
        "only {trips} round trips"
    );
}

#[tokio::test]
async fn multibyte_characters_split_across_chunks_are_reassembled() {
    let r = rig();
    let text = "héllo ✓ 😀 – ‘quotes’";
    let out = run_command(&r.pool, cmd(&format!("trickle {text}")), None, &fast())
        .await
        .unwrap();
    assert_eq!(out.stdout, text);
}

#[tokio::test]
async fn operation_timeouts_in_a_row_mean_poll_again() {
    let r = rig();
    let options = RunOptions {
        operation_timeout: Duration::from_millis(100),
        ..fast()
    };
    let out = run_command(&r.pool, cmd("sleep 700\necho late"), None, &options)
        .await
        .unwrap();
    assert_eq!(out.stdout, "late\r\n");
    let snap = r.pool.stats().snapshot();
    assert!(snap.receive_timeouts >= 4, "{snap:?}");
    assert!(
        snap.faults.is_empty(),
        "timeouts are not failures: {snap:?}"
    );
}

#[tokio::test]
async fn the_deadline_terminates_the_command_and_deletes_the_shell() {
    let r = rig();
    let options = RunOptions {
        operation_timeout: Duration::from_millis(100),
        deadline: Duration::from_millis(500),
        ..fast()
    };
    let err = run_command(&r.pool, cmd("hang"), None, &options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Deadline { .. }), "{err}");
    assert!(err.to_string().contains("was terminated"), "{err}");
    assert_eq!(r.service.open_shells(), 0);
}

#[tokio::test]
async fn a_cancelled_run_still_cleans_up_its_shell() {
    let r = rig();
    let options = fast();
    let run = run_command(&r.pool, cmd("hang"), None, &options);
    assert!(
        tokio::time::timeout(Duration::from_millis(400), run)
            .await
            .is_err()
    );
    for _ in 0..50 {
        if r.service.open_shells() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the shell of a cancelled run was left open");
}

#[tokio::test]
async fn the_output_cap_stops_a_chatty_command() {
    let r = rig();
    let options = RunOptions {
        max_output: 1024 * 1024,
        ..fast()
    };
    let err = run_command(&r.pool, cmd("big 3000000"), None, &options)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutputTooLarge { .. }), "{err}");
    assert_eq!(r.service.open_shells(), 0);
}

#[tokio::test]
async fn a_lost_reply_is_not_retried() {
    // Post 3 is the first Receive after Command: the command has started, so
    // sending it again could run it twice. The run must fail instead.
    let r = rig_with(ServiceConfig::default(), Some(3));
    let err = run_command(&r.pool, cmd("echo once"), None, &fast())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert_eq!(r.service.stats().commands_started.load(Ordering::SeqCst), 1);
    for _ in 0..50 {
        if r.service.open_shells() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        r.service.open_shells(),
        0,
        "cleanup must still delete the shell"
    );
    assert!(r.posts.load(Ordering::SeqCst) >= 4);
}

#[tokio::test]
async fn the_shell_quota_is_reported_as_a_fault() {
    let config = ServiceConfig {
        limits: ShellLimits {
            max_shells_per_user: 1,
            ..ShellLimits::default()
        },
        ..ServiceConfig::default()
    };
    let r = rig_with(config, None);
    let slow = tokio::spawn({
        let pool = r.pool.clone();
        async move { run_command(&pool, cmd("sleep 500"), None, &fast()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = run_command(&r.pool, cmd("echo second"), None, &fast())
        .await
        .unwrap_err();
    match &err {
        Error::Fault(f) => assert!(matches!(f.kind, FaultKind::QuotaExceeded(_)), "{f:?}"),
        other => panic!("expected a quota fault, got {other}"),
    }
    assert!(slow.await.unwrap().is_ok());
}

#[tokio::test]
async fn powershell_scripts_travel_encoded_or_on_stdin_and_errors_are_decoded() {
    let r = rig();
    let out = run_powershell(
        &r.pool,
        "echo from powershell\nwarn it broke\nexit 2",
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(out.stdout, "from powershell\r\n");
    assert!(out.stderr.contains("it broke"), "{:?}", out.stderr);
    assert!(!out.stderr.contains("CLIXML"), "{:?}", out.stderr);
    assert_eq!(out.exit_code, Some(2));

    // Over cmd.exe's 8191-character limit: the script goes through stdin.
    let long = format!("echo start\n{}echo end", "echo ‘padding’ ✓\n".repeat(600));
    let out = run_powershell(&r.pool, &long, &fast()).await.unwrap();
    assert!(out.stdout.starts_with("start\r\n") && out.stdout.ends_with("end\r\n"));
    assert_eq!(out.stdout.matches("‘padding’ ✓").count(), 600);
    assert_eq!(r.service.open_shells(), 0);
}

#[tokio::test]
async fn connections_are_reused_not_reopened() {
    let r = rig();
    for _ in 0..5 {
        run_command(&r.pool, cmd("echo x"), None, &fast())
            .await
            .unwrap();
    }
    assert_eq!(r.pool.idle_connections(), 1);
}

#[tokio::test]
async fn idle_shells_are_reaped() {
    let config = ServiceConfig {
        limits: ShellLimits {
            idle_timeout: Duration::from_millis(50),
            ..ShellLimits::default()
        },
        ..ServiceConfig::default()
    };
    let r = rig_with(config, None);
    let mut conn = r.pool.get().await.unwrap();
    let mut session = wsman::client::ShellSession::new(&mut conn, "http://x/wsman", r.pool.stats());
    let shell = session.create(Default::default()).await.unwrap();
    assert_eq!(r.service.open_shells(), 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(r.service.reap_idle(), 1);
    let err = session.delete(&shell).await.unwrap_err();
    match err {
        Error::Fault(f) => assert_eq!(f.kind, FaultKind::ShellNotFound),
        other => panic!("expected ShellNotFound, got {other}"),
    }
}

#[tokio::test]
async fn ten_mebibytes_of_output_arrive_intact_within_the_default_cap() {
    let r = rig();
    let out = run_command(&r.pool, cmd("big 10485760"), None, &fast())
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 10 * 1024 * 1024);
    assert_eq!(r.service.open_shells(), 0);
}

#[tokio::test]
async fn negative_and_large_exit_codes_are_reported_as_sent() {
    let r = rig();
    for code in [1i64, 255, -1_073_741_510, 3_221_225_786] {
        let out = run_command(&r.pool, cmd(&format!("exit {code}")), None, &fast())
            .await
            .unwrap();
        assert_eq!(out.exit_code, Some(code));
    }
}

#[tokio::test]
async fn stdin_reaches_a_command_over_several_sends() {
    let r = rig();
    let mut conn = r.pool.get().await.unwrap();
    let mut s = wsman::client::ShellSession::new(&mut conn, "http://x/wsman", r.pool.stats());
    let shell = s.create(Default::default()).await.unwrap();
    let command = s.command(&shell, cmd("cat")).await.unwrap();
    s.send(
        &shell,
        &command,
        "first ‘chunk’ ".as_bytes().to_vec(),
        false,
    )
    .await
    .unwrap();
    s.send(&shell, &command, "second ✓".as_bytes().to_vec(), true)
        .await
        .unwrap();
    let mut collected = Vec::new();
    loop {
        let rr = s
            .receive(&shell, &command, Duration::from_secs(2))
            .await
            .unwrap();
        for chunk in &rr.streams {
            collected.extend_from_slice(&chunk.data);
        }
        if rr.is_done() {
            break;
        }
    }
    assert_eq!(
        String::from_utf8(collected).unwrap(),
        "first ‘chunk’ second ✓"
    );
    s.terminate(&shell, &command).await.unwrap();
    s.delete(&shell).await.unwrap();
}

#[tokio::test]
async fn signal_and_delete_semantics_match_windows() {
    let r = rig();
    let mut conn = r.pool.get().await.unwrap();
    let mut s = wsman::client::ShellSession::new(&mut conn, "http://x/wsman", r.pool.stats());
    let shell = s.create(Default::default()).await.unwrap();
    // Terminate after Done is accepted.
    let done = s.command(&shell, cmd("exit 0")).await.unwrap();
    while !s
        .receive(&shell, &done, Duration::from_secs(2))
        .await
        .unwrap()
        .is_done()
    {}
    s.terminate(&shell, &done).await.unwrap();
    // Signal for a command that does not exist: a fault, not silence.
    let err = s
        .terminate(&shell, "00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Fault(_)), "{err}");
    // Delete with a command still running stops it; a second Delete is InvalidSelectors.
    let _running = s.command(&shell, cmd("hang")).await.unwrap();
    s.delete(&shell).await.unwrap();
    match s.delete(&shell).await.unwrap_err() {
        Error::Fault(f) => assert_eq!(f.kind, FaultKind::ShellNotFound),
        other => panic!("expected ShellNotFound, got {other}"),
    }
    assert_eq!(r.service.open_shells(), 0);
}

#[tokio::test]
async fn every_response_relates_to_its_request_and_message_ids_are_unique() {
    use wsman::soap::{CreateShell, Limits, Request, RequestBody, Response};
    let r = rig();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        let req = Request::new(
            "http://x/wsman",
            RequestBody::Create(CreateShell::default()),
        );
        let id = req.header.message_id.clone().unwrap();
        assert!(ids.insert(id.clone()), "MessageID {id} repeated");
        let reply = r
            .service
            .handle("tester", req.to_xml().unwrap().as_bytes())
            .await;
        let resp = Response::parse(reply.body.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(resp.header.relates_to.as_deref(), Some(id.as_str()));
    }
}

#[tokio::test]
async fn garbage_requests_get_a_fault_not_a_crash() {
    let r = rig();
    for body in [
        &b"<not-xml"[..],
        b"",
        &[0xff, 0xfe, 0x00][..],
        b"<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'/>",
    ] {
        let reply = r.service.handle("tester", body).await;
        assert_eq!(reply.status, 500, "{:?}", String::from_utf8_lossy(body));
        assert!(reply.body.contains("Fault"), "{}", reply.body);
    }
}
