//! Fault rules at the WinRM level, seen from a client: the emulator runs
//! in process (with a runner that echoes scripts), wsman's client drives it,
//! and each test asserts what a user of the client would see — a
//! connection error, a SOAP fault, a Receive timeout, a slow reply — and
//! that the rules fire as often as they say, from the `--faults` file and
//! from the inspection API alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use scvmm_sim::backend::{ErrorStyle, PowerShellBackend, ScriptOutcome, ScriptRunner};
use scvmm_sim::cli::Args;
use scvmm_sim::server::{RunningSim, StartError, start};
use scvmm_sim::vmm::faults::{WinrmFault, WinrmInjected};
use scvmm_sim::vmm::{FaultEffect, FaultRule, Faults};
use scvmm_sim::winrm_faults::{CommandTexts, command_text, subject};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};
use wsman::Error;
use wsman::client::{Pool, RunOptions, ShellSession, run_command, run_powershell};
use wsman::powershell::PowerShellCommand;
use wsman::soap::{CommandLine, CreateShell, Request, RequestBody};
use wsman::transport::{ClientAuth, ClientConfig, Connector, Encryption, TransportError};

const USER: &str = "CORP\\tester";
const PASSWORD: &str = "s3cret";

struct Echo;

impl ScriptRunner for Echo {
    fn run(&mut self, script: &str, _errors: ErrorStyle) -> ScriptOutcome {
        ScriptOutcome {
            stdout: format!("ran: {}\r\n", script.trim()),
            ..ScriptOutcome::default()
        }
    }
}

async fn try_sim(extra: &[&str]) -> Result<(RunningSim, String), StartError> {
    let user = format!("{USER}:{PASSWORD}");
    let mut argv = vec![
        "scvmm-sim",
        "--listen",
        "127.0.0.1:0",
        "--latency-scale",
        "0.01",
        "--user",
        &user,
    ];
    argv.extend_from_slice(extra);
    let args = Args::parse_from(argv);
    let running = start(&args, |_vmm| {
        Arc::new(PowerShellBackend::new(Arc::new(|| {
            Box::new(Echo) as Box<dyn ScriptRunner>
        })))
    })
    .await?;
    let url = format!(
        "http://127.0.0.1:{}/wsman",
        running.handle.local_addr().port()
    );
    Ok((running, url))
}

async fn sim() -> (RunningSim, String) {
    try_sim(&[]).await.unwrap()
}

fn pool_with(url: &str, request_timeout: Duration) -> Arc<Pool<Connector>> {
    let mut config = ClientConfig::new(
        url,
        ClientAuth::Ntlm {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    config.encryption = Encryption::Auto;
    config.request_timeout = request_timeout;
    Pool::new(Connector::new(config).unwrap(), url, 2)
}

fn pool(url: &str) -> Arc<Pool<Connector>> {
    pool_with(url, Duration::from_secs(30))
}

fn options() -> RunOptions {
    RunOptions {
        operation_timeout: Duration::from_millis(500),
        deadline: Duration::from_secs(30),
        ..RunOptions::default()
    }
}

fn rule(operation: &str, object: &str, count: Option<u32>, effect: FaultEffect) -> FaultRule {
    FaultRule {
        operation: operation.into(),
        object: object.into(),
        probability: None,
        count,
        effect,
    }
}

fn add(sim: &RunningSim, rule: FaultRule) {
    rule.validate().unwrap();
    sim.vmm.lock().unwrap().faults_mut().add(rule);
}

fn fired(sim: &RunningSim) -> Vec<u32> {
    sim.vmm
        .lock()
        .unwrap()
        .faults_mut()
        .rules()
        .map(|(_, n)| n)
        .collect()
}

/// One HTTP/1.1 exchange on a fresh connection, Basic-authenticated.
async fn http(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/wsman")
        .to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}").as_bytes());
    let content_type = if path == "/wsman" {
        "application/soap+xml;charset=UTF-8"
    } else {
        "application/json"
    };
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
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
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn is_connection_error(e: &Error) -> bool {
    matches!(e, Error::Connection(_) | Error::Transport(_))
}

// ---- the decision, without a network ----

#[test]
fn winrm_rules_and_cmdlet_rules_keep_to_their_scope() {
    let mut faults = Faults::new(
        vec![
            rule("*", "*", None, FaultEffect::Error { id: 1602 }),
            rule("WinRM:*", "*", None, FaultEffect::Delay { seconds: 0.5 }),
            rule("winrm:receive", "*", Some(1), FaultEffect::DropReply),
            rule("WinRM:Receive", "*", None, FaultEffect::Http500),
            rule("WinRM:R*", "*", None, FaultEffect::Delay { seconds: 0.25 }),
        ],
        1,
    );
    // Cmdlets see only the cmdlet rule.
    let injected = faults.check("Start-SCVirtualMachine", "vm");
    assert_eq!(injected.error.map(|e| e.id), Some(1602));
    assert!(injected.delay.is_zero());
    // WinRM sees only WinRM rules: the first fault wins, delays add up.
    let injected = faults.check_winrm("WinRM:Receive", "");
    assert_eq!(
        injected,
        WinrmInjected {
            fault: Some(WinrmFault::DropReply),
            delay: Duration::from_millis(750),
        }
    );
    // The count=1 rule is spent; the next fault in line takes over.
    let injected = faults.check_winrm("WinRM:Receive", "");
    assert_eq!(injected.fault, Some(WinrmFault::Http500));
    let injected = faults.check_winrm("WinRM:Create", "");
    assert_eq!(injected.fault, None);
    assert_eq!(injected.delay, Duration::from_millis(500));
    let counts: Vec<u32> = faults.rules().map(|(_, n)| n).collect();
    assert_eq!(counts, vec![1, 3, 1, 2, 2]);
}

#[test]
fn rules_whose_effect_does_not_fit_the_operation_are_refused() {
    for (op, effect) in [
        ("WinRM:Receive", FaultEffect::VmVanishes),
        ("WinRM:*", FaultEffect::Error { id: 1602 }),
        ("Start-SCVirtualMachine", FaultEffect::DropConnection),
        ("*", FaultEffect::OperationTimeout),
    ] {
        let e = rule(op, "*", None, effect).validate().unwrap_err();
        assert!(e.contains(op), "{e}");
    }
    let mut bad = rule("WinRM:Send", "*", None, FaultEffect::Http500);
    bad.probability = Some(1.5);
    assert!(bad.validate().unwrap_err().contains("probability"));
    let bad = rule(
        "WinRM:Send",
        "*",
        None,
        FaultEffect::Delay { seconds: -1.0 },
    );
    assert!(bad.validate().unwrap_err().contains("Delay"));
    for effect in [
        FaultEffect::OperationTimeout,
        FaultEffect::DropConnection,
        FaultEffect::DropReply,
        FaultEffect::Http500,
        FaultEffect::Delay { seconds: 1.0 },
    ] {
        rule("WinRM:Create", "*", Some(1), effect)
            .validate()
            .unwrap();
    }
}

#[test]
fn probability_rules_are_deterministic_per_seed() {
    let pattern = |seed: u64| {
        let mut rules = rule("WinRM:Command", "*", None, FaultEffect::DropConnection);
        rules.probability = Some(0.5);
        let mut faults = Faults::new(vec![rules], seed);
        (0..64)
            .map(|_| faults.check_winrm("WinRM:Command", "x").fault.is_some())
            .collect::<Vec<bool>>()
    };
    let a = pattern(7);
    assert_eq!(a, pattern(7));
    assert_ne!(a, pattern(8));
    assert!(a.iter().any(|f| *f) && a.iter().any(|f| !*f), "{a:?}");
}

#[test]
fn the_object_of_a_command_is_its_line_and_its_decoded_script() {
    let plan = PowerShellCommand::new("Get-SCVirtualMachine -Name 'web-1'");
    let text = command_text(&plan.command_line());
    assert!(text.starts_with("powershell.exe -NoProfile"), "{text}");
    assert!(
        text.ends_with("\nGet-SCVirtualMachine -Name 'web-1'"),
        "{text}"
    );
    // Receive and Signal name the command they address.
    let mut commands = CommandTexts::default();
    commands.started("C1", text.clone());
    let receive = Request::new(
        "http://x/wsman",
        RequestBody::Receive(wsman::soap::ReceiveRequest::new("C1")),
    )
    .with_shell_id("S1");
    let (operation, object) = subject(&receive, &commands);
    assert_eq!(operation, "WinRM:Receive");
    assert_eq!(object, text);
    let create = Request::new(
        "http://x/wsman",
        RequestBody::Create(CreateShell::default()),
    );
    assert_eq!(
        subject(&create, &commands),
        ("WinRM:Create".to_string(), String::new())
    );
}

// ---- on the wire ----

#[tokio::test]
async fn a_dropped_connection_fails_the_request_and_a_new_connection_succeeds() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule(
            "WinRM:Command",
            "*Get-Dropped*",
            Some(1),
            FaultEffect::DropConnection,
        ),
    );
    let pool = pool(&url);
    let err = run_powershell(&pool, "Get-Dropped", &options())
        .await
        .unwrap_err();
    assert!(is_connection_error(&err), "{err:?}");
    // Dropped before it was handled: no command ran.
    assert_eq!(sim.service.stats().commands_started.load(Relaxed), 0);
    // The failed connection is not reused; the retry opens a new one.
    let out = run_powershell(&pool, "Get-Dropped", &options())
        .await
        .unwrap();
    assert_eq!(out.stdout, "ran: Get-Dropped\r\n");
    assert_eq!(fired(&sim), vec![1]);
}

#[tokio::test]
async fn a_count_1_rule_on_every_operation_fires_exactly_once() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule("WinRM:*", "*", Some(1), FaultEffect::DropConnection),
    );
    let pool = pool(&url);
    let err = run_powershell(&pool, "Get-One", &options())
        .await
        .unwrap_err();
    assert!(is_connection_error(&err), "{err:?}");
    for i in 0..3 {
        let out = run_powershell(&pool, &format!("Get-Next {i}"), &options())
            .await
            .unwrap();
        assert_eq!(out.stdout, format!("ran: Get-Next {i}\r\n"));
    }
    assert_eq!(fired(&sim), vec![1]);
}

#[tokio::test]
async fn a_dropped_reply_loses_the_answer_but_the_command_ran() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule("WinRM:Command", "*", Some(1), FaultEffect::DropReply),
    );
    let pool = pool(&url);
    let err = run_powershell(&pool, "New-Thing", &options())
        .await
        .unwrap_err();
    assert!(is_connection_error(&err), "{err:?}");
    // The server started the command although the client never heard so:
    // the lost-reply case a client must not turn into a duplicate.
    assert_eq!(sim.service.stats().commands_started.load(Relaxed), 1);
    let out = run_powershell(&pool, "New-Thing", &options())
        .await
        .unwrap();
    assert_eq!(out.stdout, "ran: New-Thing\r\n");
    assert_eq!(sim.service.stats().commands_started.load(Relaxed), 2);
}

#[tokio::test]
async fn http_500_is_a_soap_fault_the_client_reports() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule("WinRM:Create", "*", Some(1), FaultEffect::Http500),
    );
    let pool = pool(&url);
    let err = run_powershell(&pool, "Get-Anything", &options())
        .await
        .unwrap_err();
    let fault = err.fault().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(fault.code, "Receiver");
    assert_eq!(fault.subcode.as_deref(), Some("InternalError"));
    assert_eq!(fault.machine.as_deref(), Some("SCVMM-SIM"));
    assert!(fault.text().contains("WinRM:Create"), "{fault}");
    assert_eq!(sim.service.stats().shells_created.load(Relaxed), 0);
    run_powershell(&pool, "Get-Anything", &options())
        .await
        .unwrap();

    // On the wire: HTTP 500, the fault related to the request.
    add(
        &sim,
        rule("WinRM:Create", "*", Some(1), FaultEffect::Http500),
    );
    let request = Request::new(&url, RequestBody::Create(CreateShell::default()));
    let message_id = request.message_id().unwrap().to_string();
    let (status, body) = http(&url, "POST", "/wsman", &request.to_xml().unwrap()).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("w:InternalError"), "{body}");
    assert!(body.contains(&message_id), "{body}");
    assert_eq!(fired(&sim), vec![1, 1]);
}

#[tokio::test]
async fn an_operation_timeout_on_receive_is_polled_again_and_loses_no_output() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule("WinRM:Receive", "*", Some(1), FaultEffect::OperationTimeout),
    );
    let pool = pool(&url);
    let mut conn = pool.get().await.unwrap();
    let mut s = ShellSession::new(&mut conn, url.clone(), pool.stats());
    let shell = s.create(CreateShell::default()).await.unwrap();
    let cmd = s
        .command(&shell, CommandLine::new("hostname", vec![]))
        .await
        .unwrap();
    let started = Instant::now();
    let err = s
        .receive(&shell, &cmd, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(err.is_operation_timeout(), "{err:?}");
    // Held for the Receive's OperationTimeout, as Windows would.
    assert!(started.elapsed() >= Duration::from_millis(300));
    // WinRM semantics: poll again, the output is still there.
    let r = s
        .receive(&shell, &cmd, Duration::from_secs(2))
        .await
        .unwrap();
    let text: String = r
        .streams
        .iter()
        .map(|c| String::from_utf8_lossy(&c.data).into_owned())
        .collect();
    assert_eq!(text, "SCVMM-SIM\r\n");
    assert!(r.is_done());
    s.delete(&shell).await.unwrap();
    drop(conn);
    assert_eq!(fired(&sim), vec![1]);

    // run_powershell polls through timeouts on its own.
    let before = pool.stats().snapshot().receive_timeouts;
    add(
        &sim,
        rule("WinRM:Receive", "*", Some(2), FaultEffect::OperationTimeout),
    );
    let out = run_powershell(&pool, "Get-Patient", &options())
        .await
        .unwrap();
    assert_eq!(out.stdout, "ran: Get-Patient\r\n");
    assert_eq!(pool.stats().snapshot().receive_timeouts - before, 2);
    assert_eq!(fired(&sim), vec![1, 2]);
}

#[tokio::test]
async fn rules_pick_requests_by_the_script_however_it_travels() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule(
            "WinRM:Receive",
            "*Get-Slow*",
            Some(1),
            FaultEffect::OperationTimeout,
        ),
    );
    add(
        &sim,
        rule("WinRM:Send", "*Long-Marker*", Some(1), FaultEffect::Http500),
    );
    let pool = pool(&url);
    run_powershell(&pool, "Get-Fast", &options()).await.unwrap();
    assert_eq!(fired(&sim), vec![0, 0]);
    run_powershell(&pool, "Get-Slow", &options()).await.unwrap();
    assert_eq!(fired(&sim), vec![1, 0]);
    // Too long for the command line: the script goes to stdin.
    let long = format!("Long-Marker # {}", "x".repeat(4000));
    assert!(PowerShellCommand::new(&long).uses_stdin());
    let err = run_powershell(&pool, &long, &options()).await.unwrap_err();
    assert!(err.fault().is_some(), "{err:?}");
    assert_eq!(fired(&sim), vec![1, 1]);
    assert!(run_powershell(&pool, &long, &options()).await.is_ok());
}

#[tokio::test]
async fn a_delay_holds_the_reply_and_past_the_client_timeout_the_reply_is_lost() {
    let (sim, url) = sim().await;
    add(
        &sim,
        rule(
            "WinRM:Create",
            "*",
            Some(1),
            FaultEffect::Delay { seconds: 0.4 },
        ),
    );
    let pool = pool(&url);
    let started = Instant::now();
    run_command(
        &pool,
        CommandLine::new("hostname", vec![]),
        None,
        &options(),
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));

    // Held past the client's HTTP timeout: the client gives up, the shell
    // exists all the same.
    add(
        &sim,
        rule(
            "WinRM:Create",
            "*",
            Some(1),
            FaultEffect::Delay { seconds: 1.0 },
        ),
    );
    let impatient = pool_with(&url, Duration::from_millis(300));
    let err = run_command(
        &impatient,
        CommandLine::new("hostname", vec![]),
        None,
        &options(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Connection(TransportError::Timeout { .. })),
        "{err:?}"
    );
    assert_eq!(sim.service.stats().shells_created.load(Relaxed), 2);
    assert_eq!(fired(&sim), vec![1, 1]);
}

#[tokio::test]
async fn rules_posted_through_the_api_take_effect_and_delete_clears_them() {
    let (_sim, url) = sim().await;
    let (status, body) = http(
        &url,
        "POST",
        "/sim/v1/faults",
        r#"{"operation": "WinRM:*", "effect": "Http500"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(
        &url,
        "POST",
        "/sim/v1/faults",
        r#"{"operation": "WinRM:Receive", "effect": "VmVanishes"}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("WinRM"), "{body}");
    let pool = pool(&url);
    let err = run_powershell(&pool, "Get-Blocked", &options())
        .await
        .unwrap_err();
    assert_eq!(
        err.fault().and_then(|f| f.subcode.clone()).as_deref(),
        Some("InternalError"),
        "{err:?}"
    );
    let (status, body) = http(&url, "GET", "/sim/v1/faults", "").await;
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        list,
        serde_json::json!([{
            "rule": {"operation": "WinRM:*", "object": "*", "probability": null, "count": null, "effect": "Http500"},
            "fired": 1,
        }])
    );
    let (status, _) = http(&url, "DELETE", "/sim/v1/faults", "").await;
    assert_eq!(status, 204);
    let out = run_powershell(&pool, "Get-Blocked", &options())
        .await
        .unwrap();
    assert_eq!(out.stdout, "ran: Get-Blocked\r\n");
    let (_, body) = http(&url, "GET", "/sim/v1/faults", "").await;
    assert_eq!(body.trim(), "[]");
}

#[tokio::test]
async fn the_faults_file_sets_rules_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faults.yaml");
    std::fs::write(
        &path,
        r#"
- operation: "WinRM:Command"
  object: "*Get-Flaky*"
  count: 1
  effect: DropConnection
- operation: "WinRM:Receive"
  effect:
    Delay:
      seconds: 0.05
- operation: Start-SCVirtualMachine
  object: "web-*"
  effect:
    FailJob:
      id: 2912
"#,
    )
    .unwrap();
    let (sim, url) = try_sim(&["--faults", path.to_str().unwrap()])
        .await
        .unwrap();
    let pool = pool(&url);
    run_powershell(&pool, "Get-Steady", &options())
        .await
        .unwrap();
    let err = run_powershell(&pool, "Get-Flaky", &options())
        .await
        .unwrap_err();
    assert!(is_connection_error(&err), "{err:?}");
    run_powershell(&pool, "Get-Flaky", &options())
        .await
        .unwrap();
    let counts = fired(&sim);
    assert_eq!(counts[0], 1);
    assert!(counts[1] >= 2, "{counts:?}");
    assert_eq!(counts[2], 0);

    // A rule whose effect does not fit its operation stops the start.
    std::fs::write(
        &path,
        "- operation: \"WinRM:Receive\"\n  effect: VmMissing\n",
    )
    .unwrap();
    let err = try_sim(&["--faults", path.to_str().unwrap()])
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, StartError::Invalid { what, .. } if *what == "fault rules file"),
        "{err}"
    );
}

#[tokio::test]
async fn probability_rules_fire_alike_for_the_same_seed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faults.yaml");
    std::fs::write(
        &path,
        "- operation: \"WinRM:Create\"\n  probability: 0.5\n  effect: Http500\n",
    )
    .unwrap();
    let path = path.to_str().unwrap().to_string();
    let outcomes = |seed: &'static str| {
        let path = path.clone();
        async move {
            let (_sim, url) = try_sim(&["--faults", &path, "--seed", seed]).await.unwrap();
            let pool = pool(&url);
            let mut out = Vec::new();
            for i in 0..12 {
                out.push(
                    run_powershell(&pool, &format!("Get-Try {i}"), &options())
                        .await
                        .is_ok(),
                );
            }
            out
        }
    };
    let a = outcomes("7").await;
    let b = outcomes("7").await;
    assert_eq!(a, b);
    assert!(a.iter().any(|ok| *ok) && a.iter().any(|ok| !*ok), "{a:?}");
}

#[test]
fn the_documented_faults_file_is_valid() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/emulator.md"))
        .unwrap();
    let section = doc.split("## Fault rules").nth(1).unwrap();
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let rules: Vec<FaultRule> = serde_saphyr::from_str(yaml).unwrap();
    assert_eq!(rules.len(), 4);
    for rule in &rules {
        rule.validate().unwrap();
    }
    assert_eq!(rules[0].effect, FaultEffect::DropReply);
    assert!(rules[1].is_winrm() && !rules[3].is_winrm());
}
