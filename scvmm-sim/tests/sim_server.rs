//! The emulator's process wiring, with the interpreter replaced by a runner
//! that echoes scripts: WinRM over HTTP with NTLM sealing reaches the
//! backend in each invocation style (EncodedCommand, a `-Command -` stdin
//! session, cmd builtins), and the inspection API shares the listener and
//! insists on credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use scvmm_sim::backend::{ErrorStyle, PowerShellBackend, ScriptOutcome, ScriptRunner};
use scvmm_sim::cli::Args;
use scvmm_sim::server::start;
use std::sync::Arc;
use std::time::Duration;
use wsman::client::{Pool, RunOptions, run_command, run_powershell};
use wsman::soap::CommandLine;
use wsman::transport::{ClientAuth, ClientConfig, Connector, Encryption};

struct Echo {
    runs: usize,
}

impl ScriptRunner for Echo {
    fn run(&mut self, script: &str, errors: ErrorStyle) -> ScriptOutcome {
        self.runs += 1;
        let mut out = ScriptOutcome {
            stdout: format!("run {}: {}\r\n", self.runs, script.trim()),
            ..ScriptOutcome::default()
        };
        if script.contains("fail") {
            out.stderr = match errors {
                ErrorStyle::Clixml => wsman::clixml::encode_error("it failed"),
                ErrorStyle::Text => "it failed\r\n".into(),
            };
            out.exit_code = Some(1);
        }
        out
    }
}

async fn sim() -> (scvmm_sim::server::RunningSim, String) {
    let args = Args::parse_from([
        "scvmm-sim",
        "--listen",
        "127.0.0.1:0",
        "--latency-scale",
        "0.01",
        "--user",
        "CORP\\tester:s3cret-‘pw’",
    ]);
    let running = start(&args, |_vmm| {
        Arc::new(PowerShellBackend::new(Arc::new(|| {
            Box::new(Echo { runs: 0 }) as Box<dyn ScriptRunner>
        })))
    })
    .await
    .unwrap();
    let url = format!(
        "http://127.0.0.1:{}/wsman",
        running.handle.local_addr().port()
    );
    (running, url)
}

fn pool(url: &str) -> Arc<Pool<Connector>> {
    let mut config = ClientConfig::new(
        url,
        ClientAuth::Ntlm {
            user: "CORP\\tester".into(),
            password: "s3cret-‘pw’".into(),
        },
    );
    config.encryption = Encryption::Auto;
    Pool::new(Connector::new(config).unwrap(), url, 2)
}

#[tokio::test]
async fn encoded_commands_run_once_and_report_clixml_errors() {
    let (sim, url) = sim().await;
    let pool = pool(&url);
    let options = RunOptions {
        operation_timeout: Duration::from_millis(500),
        ..RunOptions::default()
    };
    let out = run_powershell(&pool, "Get-SCVMMServer localhost", &options)
        .await
        .unwrap();
    assert_eq!(out.stdout, "run 1: Get-SCVMMServer localhost\r\n");
    assert_eq!(out.exit_code, Some(0));
    let out = run_powershell(&pool, "fail now", &options).await.unwrap();
    assert_eq!(out.exit_code, Some(1));
    assert_eq!(out.stderr.trim(), "it failed");
    assert!(out.stderr_raw.starts_with("#< CLIXML"));
    assert_eq!(sim.service.open_shells(), 0);
}

#[tokio::test]
async fn a_stdin_session_keeps_running_across_sends() {
    let (sim, url) = sim().await;
    let pool = pool(&url);
    let mut conn = pool.get().await.unwrap();
    let mut s = wsman::client::ShellSession::new(&mut conn, url.clone(), pool.stats());
    let shell = s.create(Default::default()).await.unwrap();
    let cmd = s
        .command(
            &shell,
            CommandLine::new(
                "powershell.exe",
                vec!["-NoProfile".into(), "-Command".into(), "-".into()],
            ),
        )
        .await
        .unwrap();
    s.send(&shell, &cmd, b"$a = 1\n".to_vec(), false)
        .await
        .unwrap();
    s.send(&shell, &cmd, b"Write-Output $a\n".to_vec(), true)
        .await
        .unwrap();
    let mut text = String::new();
    loop {
        let r = s
            .receive(&shell, &cmd, Duration::from_secs(2))
            .await
            .unwrap();
        for c in &r.streams {
            text.push_str(&String::from_utf8_lossy(&c.data));
        }
        if r.is_done() {
            assert_eq!(r.exit_code(), Some(0));
            break;
        }
    }
    // One session: the second chunk is the runner's second run.
    assert_eq!(text, "run 1: $a = 1\r\nrun 2: Write-Output $a\r\n");
    s.delete(&shell).await.unwrap();
    drop(conn);
    assert_eq!(sim.service.open_shells(), 0);
}

#[tokio::test]
async fn cmd_builtins_answer_and_unknown_programs_fail() {
    let (_sim, url) = sim().await;
    let pool = pool(&url);
    let options = RunOptions::default();
    let out = run_command(&pool, CommandLine::new("hostname", vec![]), None, &options)
        .await
        .unwrap();
    assert_eq!(out.stdout, "SCVMM-SIM\r\n");
    let out = run_command(
        &pool,
        CommandLine::new("ipconfig", vec!["/all".into()]),
        None,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(out.exit_code, Some(1));
    assert!(out.stderr.contains("is not recognized"), "{}", out.stderr);
}

async fn http_get(url: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/wsman")
        .to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let auth = auth
        .map(|a| {
            use base64::Engine as _;
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(a)
            )
        })
        .unwrap_or_default();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_inspection_api_needs_credentials_and_metrics_are_public() {
    let (_sim, url) = sim().await;
    let (status, body) = http_get(&url, "/sim/v1/vms", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("WWW-Authenticate: Basic") || body.contains("www-authenticate: Basic"),
        "{body}"
    );
    let (status, _) = http_get(&url, "/sim/v1/vms", Some("CORP\\tester:wrong")).await;
    assert_eq!(status, 401);
    let (status, body) = http_get(&url, "/sim/v1/vms", Some("CORP\\tester:s3cret-‘pw’")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.trim_end().ends_with("[]"), "{body}");
    let (status, body) = http_get(&url, "/sim/", Some("CORP\\tester:s3cret-‘pw’")).await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>scvmm-sim</title>"));
    let (status, body) = http_get(&url, "/metrics", None).await;
    assert_eq!(status, 200);
    assert!(body.contains("scvmm_sim_vms 0"), "{body}");
}
