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
