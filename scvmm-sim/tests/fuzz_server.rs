//! Fuzz target `server`: what the emulator does with a client's request
//! body, end to end below HTTP — `WinrmFaults` (which parses the request to
//! match fault rules) over `WinrsService` (parse, shell table, commands,
//! Receive long-poll, the response writer) over the PowerShell backend
//! (`parse_invocation` of the command line, stdin sessions), with a runner
//! that echoes scripts instead of evaluating them.
//!
//! A case is a short session: one to four requests, each a corpus request
//! or a mutation of one, with the corpus's shell and command IDs replaced
//! by the ones the emulator handed out, so mutations reach Send, Receive,
//! Signal and Delete on live shells and commands.
//!
//! Properties: no panic, no hang (Receive waits at most the configured
//! OperationTimeout), bounded heap; every reply is 200 with a response to
//! the same operation that relates to the request's MessageID, or 500 with
//! a well-formed fault.
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p scvmm-sim --test fuzz_server -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use scvmm_sim::backend::{ErrorStyle, PowerShellBackend, ScriptOutcome, ScriptRunner};
use scvmm_sim::vmm::{Inventory, Options, Vmm};
use scvmm_sim::winrm_faults::WinrmFaults;
use wsman::Fault;
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, Mutations, kind, mutations};
use wsman::powershell::{PowerShellCommand, stdin_payload};
use wsman::server::{ServiceConfig, WinrsService};
use wsman::soap::{
    CommandLine, CreateShell, Limits, ReceiveRequest, Request, RequestBody, Response, SendInput,
    SignalRequest,
};
use wsman::transport::SoapHandler as _;

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");
const ENDPOINT: &str = "http://127.0.0.1:5985/wsman";
/// Shell and command IDs the corpus uses, replaced by live ones.
const SHELL_IDS: &[&str] = &[
    "11111111-2222-4333-8444-666666666666",
    "9F0E1D2C-3B4A-4958-8776-A5B4C3D2E1F0",
];
const COMMAND_IDS: &[&str] = &[
    "77777777-8888-4999-8AAA-BBBBBBBBBBBB",
    "B7C8D9E0-F1A2-4B3C-9D4E-5F6A7B8C9D0E",
];

struct Echo;

impl ScriptRunner for Echo {
    fn run(&mut self, script: &str, _errors: ErrorStyle) -> ScriptOutcome {
        ScriptOutcome {
            stdout: format!("ran {} bytes\r\n", script.len()),
            ..ScriptOutcome::default()
        }
    }
}

fn corpus() -> Corpus {
    let mut corpus = Corpus::from_dir(Path::new(DIR).join("tests/fuzz-corpus/server"));
    let wsman = Path::new(DIR).join("../wsman/tests");
    for dir in ["fixtures", "fuzz-corpus/envelope"] {
        for (name, bytes) in Corpus::from_dir(wsman.join(dir)).entries() {
            if name.starts_with("request") {
                corpus.push(format!("wsman-{name}"), bytes);
            }
        }
    }
    let (shell, command) = (SHELL_IDS[0], COMMAND_IDS[0]);
    // An operator script, as the operator sends it.
    let script = operator::scvmm::script::render(
        operator::scvmm::script::Operation::ListVms,
        &serde_json::json!({ "server": "vmm01" }),
    );
    let bodies = [
        RequestBody::Create(CreateShell::default()),
        RequestBody::Command(PowerShellCommand::new(&script).command_line()),
        RequestBody::Command(CommandLine::new(
            "powershell.exe",
            vec![
                "-NoProfile".into(),
                "-NonInteractive".into(),
                "-Command".into(),
                "-".into(),
            ],
        )),
        RequestBody::Command(CommandLine::new(
            "cmd.exe",
            vec!["/c".into(), "echo hi".into()],
        )),
        RequestBody::Send(SendInput::stdin(
            command,
            stdin_payload("$x = 1\r\n$x\r\n"),
            false,
        )),
        RequestBody::Send(SendInput::stdin(command, stdin_payload("exit 3\r\n"), true)),
        RequestBody::Receive(ReceiveRequest::new(command)),
        RequestBody::Signal(SignalRequest::terminate(command)),
        RequestBody::Delete,
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        let create = matches!(body, RequestBody::Create(_));
        let mut request =
            Request::new(ENDPOINT, body).with_operation_timeout(Duration::from_secs(1));
        if !create {
            request = request.with_shell_id(shell);
        }
        corpus.push(format!("built-{i}"), request.to_xml().unwrap());
    }
    corpus
}

fn dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            "<w:Selector Name=\"ShellId\">",
            "</w:Selector>",
            "CommandId=\"",
            "<rsp:Stream Name=\"stdin\" CommandId=\"77777777-8888-4999-8AAA-BBBBBBBBBBBB\" End=\"true\">",
            "</rsp:Stream>",
            "<rsp:Arguments>-EncodedCommand</rsp:Arguments>",
            "<rsp:Arguments>-Command</rsp:Arguments><rsp:Arguments>-</rsp:Arguments>",
            "<rsp:Arguments>-File</rsp:Arguments>",
            "<rsp:Command>powershell.exe</rsp:Command>",
            "<rsp:Command>pwsh</rsp:Command>",
            "<rsp:Code>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/ctrl_c</rsp:Code>",
            "<w:OperationTimeout>PT0.001S</w:OperationTimeout>",
            "<w:OperationTimeout>PT99999999S</w:OperationTimeout>",
            "<w:Option Name=\"WINRS_CONSOLEMODE_STDIN\">TRUE</w:Option>",
            "<w:Option Name=\"WINRS_CODEPAGE\">437</w:Option>",
            "<rsp:IdleTimeOut>PT0S</rsp:IdleTimeOut>",
            "<a:MessageID>uuid:</a:MessageID>",
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive",
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send",
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete",
            SHELL_IDS[0],
            COMMAND_IDS[0],
            "&#x0;",
            "<![CDATA[",
            "]]>",
        ])
        .pairs([("<a>", "</a>"), ("<rsp:Stream Name=\"stdin\">", "</rsp:Stream>")])
}

/// `text` with every character XML 1.0 cannot carry replaced by U+FFFD.
fn xml_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t'
            | '\n'
            | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'.. => c,
            _ => char::REPLACEMENT_CHARACTER,
        })
        .collect()
}

/// Live IDs so far in a session.
#[derive(Default)]
struct Ids {
    shell: Option<String>,
    command: Option<String>,
}

fn substitute(mut input: Vec<u8>, ids: &Ids) -> Vec<u8> {
    let replace = |input: Vec<u8>, from: &str, to: &str| -> Vec<u8> {
        let text = String::from_utf8(input);
        match text {
            Ok(t) => t.replace(from, to).into_bytes(),
            Err(e) => e.into_bytes(),
        }
    };
    for (known, live) in [(SHELL_IDS, &ids.shell), (COMMAND_IDS, &ids.command)] {
        if let Some(live) = live {
            for id in known {
                input = replace(input, id, live);
            }
        }
    }
    input
}

struct Rig {
    runtime: tokio::runtime::Runtime,
    vmm: Arc<Mutex<Vmm>>,
    config: ServiceConfig,
}

fn rig() -> Rig {
    let (vmm, _clock) = Vmm::with_manual_clock(Inventory::default_inventory(), Options::default());
    let config = ServiceConfig {
        machine: "SCVMM-SIM".into(),
        address: ENDPOINT.into(),
        // Receive long-polls end quickly, so a session of four requests
        // stays fast; what matters is that they end.
        default_operation_timeout: Duration::from_millis(20),
        max_operation_timeout: Duration::from_millis(20),
        ..ServiceConfig::default()
    };
    Rig {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
        vmm: Arc::new(Mutex::new(vmm)),
        config,
    }
}

/// One session against a fresh service.
fn session(
    rig: &Rig,
    steps: &[Mutations],
    corpus: &Corpus,
    dict: &Dictionary,
) -> Result<String, TestCaseError> {
    let backend = Arc::new(PowerShellBackend::new(Arc::new(|| {
        Box::new(Echo) as Box<dyn ScriptRunner>
    })));
    let service = Arc::new(WinrsService::new(backend, rig.config.clone()));
    let handler = WinrmFaults::new(service, rig.vmm.clone(), rig.config.clone());
    let limits = Limits::default();
    let mut ids = Ids::default();
    let mut kinds = Vec::new();
    for step in steps {
        let body = substitute(step.apply(corpus, dict), &ids);
        let request = Request::parse(&body, &limits);
        let reply = rig
            .runtime
            .block_on(handler.handle("CORP\\tester", Bytes::from(body.clone())));
        match reply.status {
            200 => {
                let response = Response::parse(&reply.body, &limits);
                prop_assert!(
                    response.is_ok(),
                    "a 200 reply does not parse: {response:?}\n{}",
                    String::from_utf8_lossy(&reply.body)
                );
                let response = response.unwrap();
                let request = request.as_ref();
                prop_assert!(
                    request.is_ok(),
                    "a request that does not parse was answered 200"
                );
                let request = request.unwrap();
                prop_assert_eq!(response.operation(), request.operation());
                prop_assert_eq!(&response.header.relates_to, &request.header.message_id);
                match &response.body {
                    wsman::soap::ResponseBody::Create(c) => ids.shell = Some(c.shell_id.clone()),
                    wsman::soap::ResponseBody::Command(c) => {
                        ids.command = Some(c.command_id.clone())
                    }
                    _ => {}
                }
                kinds.push(format!("ok:{}", response.operation()));
            }
            500 => {
                let fault = Fault::parse(&reply.body, &limits);
                prop_assert!(
                    fault.is_ok(),
                    "a 500 reply is not a fault: {fault:?}\n{}\nrequest: {}",
                    String::from_utf8_lossy(&reply.body),
                    wsman::fuzzing::preview(&body, 3000)
                );
                let fault = fault.unwrap();
                if let Ok(request) = &request {
                    // A MessageID with characters XML cannot carry comes
                    // back with U+FFFD in their place.
                    let expected = request.header.message_id.as_deref().map(xml_safe);
                    prop_assert_eq!(&fault.relates_to, &expected);
                }
                prop_assert!(
                    fault.text().len() <= 4096,
                    "a {}-byte fault text: {}…",
                    fault.text().len(),
                    fault.text().chars().take(400).collect::<String>()
                );
                // The service answers every unreadable request with
                // InvalidSelectors; what it could not read is in the text.
                let text = fault.text();
                match text.split_once("cannot process the request: ") {
                    Some((_, why)) => {
                        let why: String = why
                            .chars()
                            .take_while(|c| !matches!(c, '(' | ':' | '"'))
                            .take(48)
                            .collect();
                        kinds.push(format!("Fault(request: {})", why.trim()));
                    }
                    None => kinds.push(format!("Fault({})", kind(&fault.kind))),
                }
            }
            other => prop_assert!(false, "unexpected status {other}"),
        }
    }
    Ok(kinds.join("+"))
}

#[test]
fn fuzz_server() {
    let corpus = corpus();
    assert!(corpus.len() >= 15, "corpus too small: {}", corpus.len());
    let dict = dictionary();
    let rig = rig();
    let mut fuzz = Fuzz::new(
        "server",
        file!(),
        Path::new(DIR).join("tests/fuzz-corpus/server"),
        1,
    );
    // A session starts with a real Create half of the time, so the
    // requests after it meet a live shell.
    let create = corpus
        .entries()
        .position(|(name, _)| name == "built-0")
        .unwrap();
    let steps = (
        any::<bool>(),
        prop::collection::vec(mutations(corpus.len(), &dict), 1..4),
    );
    fuzz.note_corpus(corpus.len());
    let create_case = Mutations {
        seed: wsman::fuzzing::Seed::Bytes(corpus.bytes(create).to_vec()),
        steps: Vec::new(),
    };
    fuzz.values(
        "session",
        steps,
        32 << 20,
        |(start_with_create, mut steps)| {
            if start_with_create {
                steps.insert(0, create_case.clone());
            }
            session(&rig, &steps, &corpus, &dict)
        },
    );
    fuzz.finish();
}

/// Regression (found by this target): a request whose parse error quotes a
/// control character got an empty HTTP 500 instead of a fault.
#[test]
fn a_request_with_control_characters_gets_a_fault() {
    let rig = rig();
    let backend = Arc::new(PowerShellBackend::new(Arc::new(|| {
        Box::new(Echo) as Box<dyn ScriptRunner>
    })));
    let service = Arc::new(WinrsService::new(backend, rig.config.clone()));
    let handler = WinrmFaults::new(service, rig.vmm.clone(), rig.config.clone());
    let body = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header></\u{1f}x></s:Envelope>";
    let reply = rig
        .runtime
        .block_on(handler.handle("CORP\\tester", Bytes::from(body)));
    assert_eq!(reply.status, 500);
    let fault = Fault::parse(&reply.body, &Limits::default()).unwrap();
    assert!(
        fault.text().contains("cannot process the request"),
        "{}",
        fault.text()
    );
}
