//! Fuzz target `envelope`: the WS-Management envelope parsers of wsman.
//!
//! - client half: [`Response::parse`] (with SOAP faults), [`Fault::parse`],
//!   and what the client does with a Receive response
//!   ([`OutputCollector`]);
//! - the pure server half: [`Request::parse`], and what the server does
//!   with a parsed Command (`powershell::parse_invocation`) or Send
//!   (`powershell::decode_stdin_script`). The emulator's whole request path
//!   is `scvmm-sim/tests/fuzz_server.rs`.
//!
//! Properties: no panic, no hang, heap bounded by the input, the size and
//! depth limits enforced, errors that say what is wrong in bounded text, and
//! parse → write → parse giving back what was parsed.
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p wsman --test fuzz_envelope -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, kind};
use wsman::soap::{
    CommandLine, CommandResponse, CommandState, CommandStatus, CreateResponse, CreateShell, EnvVar,
    Limits, ReceiveRequest, ReceiveResponse, Request, RequestBody, Response, ResponseBody,
    SendInput, SignalRequest, StreamChunk,
};
use wsman::stream::OutputCollector;
use wsman::{Error, Fault, powershell};

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The longest error text a caller may have to show (a Kubernetes condition,
/// a log line); fault text is the server's own and is not held to it.
const MAX_ERROR_TEXT: usize = 2048;

/// Heap a parse may use per input byte (see `fuzz_envelope`).
const HEAP_PER_BYTE: usize = 128;

fn corpus() -> Corpus {
    let mut corpus = Corpus::from_dir(Path::new(DIR).join("tests/fuzz-corpus/envelope"));
    corpus.add_dir(Path::new(DIR).join("tests/fixtures"));
    for (name, xml) in built_envelopes() {
        corpus.push(name, xml);
    }
    corpus
}

/// Every envelope our own builders write, requests and responses.
fn built_envelopes() -> Vec<(String, String)> {
    let endpoint = "http://vmm01.corp.example:5985/wsman";
    let shell = "11111111-2222-4333-8444-666666666666";
    let command = "77777777-8888-4999-8AAA-BBBBBBBBBBBB";
    let create = CreateShell {
        working_directory: Some("C:\\Users\\capi-svc".into()),
        environment: vec![EnvVar {
            name: "X".into(),
            value: "a & <b>".into(),
        }],
        idle_timeout: Some(Duration::from_secs(1800)),
        ..CreateShell::default()
    };
    let script = "$r = @{ result = 1 }; ConvertTo-Json $r -Compress";
    let invocation = powershell::PowerShellCommand::new(script).command_line();
    let requests = [
        RequestBody::Create(create),
        RequestBody::Command(invocation),
        RequestBody::Command(CommandLine::new(
            "powershell.exe",
            vec!["-NoProfile".into(), "-Command".into(), "-".into()],
        )),
        RequestBody::Send(SendInput::stdin(
            command,
            powershell::stdin_payload(script),
            true,
        )),
        RequestBody::Receive(ReceiveRequest::new(command)),
        RequestBody::Signal(SignalRequest::terminate(command)),
        RequestBody::Delete,
    ];
    let mut out = Vec::new();
    for (i, body) in requests.into_iter().enumerate() {
        let create = matches!(body, RequestBody::Create(_));
        let mut request =
            Request::new(endpoint, body).with_operation_timeout(Duration::from_secs(20));
        if !create {
            request = request.with_shell_id(shell);
        }
        out.push((format!("built-request-{i}"), request.to_xml().unwrap()));
    }
    let chunk = |name: &str, data: &[u8], end| StreamChunk {
        name: name.into(),
        command_id: Some(command.into()),
        data: data.to_vec(),
        end,
    };
    let responses = [
        ResponseBody::Create(CreateResponse {
            shell_id: shell.into(),
            address: Some(endpoint.into()),
            resource_uri: Some(wsman::soap::ns::RESOURCE_URI_CMD.into()),
            owner: Some("CORP\\capi-svc".into()),
            client_ip: Some("10.0.0.9".into()),
            idle_timeout: Some(Duration::from_secs(7200)),
            input_streams: vec!["stdin".into()],
            output_streams: vec!["stdout".into(), "stderr".into()],
        }),
        ResponseBody::Command(CommandResponse {
            command_id: command.into(),
        }),
        ResponseBody::Receive(ReceiveResponse {
            streams: vec![
                chunk(
                    "stdout",
                    "{\"result\":{\"id\":\"é\"}}\r\n".as_bytes(),
                    false,
                ),
                chunk(
                    "stderr",
                    wsman::clixml::encode_error("VM not found").as_bytes(),
                    false,
                ),
                chunk("stdout", b"", true),
            ],
            state: Some(CommandState {
                command_id: Some(command.into()),
                status: CommandStatus::Done,
                exit_code: Some(-1_073_741_510),
            }),
            sequence_id: Some(7),
        }),
        ResponseBody::Send,
        ResponseBody::Signal,
        ResponseBody::Delete,
    ];
    for (i, body) in responses.into_iter().enumerate() {
        let response = Response::new(
            body,
            Some("uuid:0A1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9".into()),
        );
        out.push((format!("built-response-{i}"), response.to_xml().unwrap()));
    }
    let faults = [
        Fault::operation_timeout(),
        Fault::shell_not_found(shell),
        Fault::access_denied(),
        Fault::shell_quota(5),
        Fault::encoding_limit(153_600),
        Fault::invalid_selectors("The request did not name a shell.".into()),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let fault = fault
            .with_machine("vmm01.corp.example")
            .with_relates_to(Some("uuid:12345678-9ABC-4DEF-8012-3456789ABCDE".into()));
        out.push((format!("built-fault-{i}"), fault.to_xml().unwrap()));
    }
    out
}

fn dictionary() -> Dictionary {
    use wsman::soap::ns;
    Dictionary::new()
        .words([
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">",
            "</s:Envelope>",
            "<s:Header>",
            "</s:Header>",
            "<s:Body>",
            "</s:Body>",
            "<s:Fault>",
            "<rsp:Stream Name=\"stdout\" CommandId=\"77777777-8888-4999-8AAA-BBBBBBBBBBBB\">",
            "<rsp:Stream Name=\"stderr\" End=\"true\"/>",
            "</rsp:Stream>",
            "<rsp:CommandState State=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done\">",
            "<rsp:ExitCode>",
            "</rsp:ExitCode>",
            "<a:Action>",
            "</a:Action>",
            "<a:RelatesTo>uuid:x</a:RelatesTo>",
            "<w:Selector Name=\"ShellId\">",
            "<w:OptionSet><w:Option Name=\"WINRS_CODEPAGE\">65001</w:Option></w:OptionSet>",
            "<w:OperationTimeout>PT60.000S</w:OperationTimeout>",
            "<w:MaxEnvelopeSize>153600</w:MaxEnvelopeSize>",
            "<rsp:CommandLine><rsp:Command>powershell.exe</rsp:Command><rsp:Arguments>-EncodedCommand</rsp:Arguments></rsp:CommandLine>",
            "<![CDATA[",
            "]]>",
            "&amp;",
            "&lt;",
            "&#x0;",
            "&#xD800;",
            "&#1114111;",
            "&nosuch;",
            "&",
            "<!DOCTYPE a [<!ENTITY x \"y\">]>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
            "<!--",
            "-->",
            "<?pi?>",
            "xmlns=\"\"",
            "xmlns:s=\"urn:other\"",
            "xml:lang=\"en-US\"",
            " s:mustUnderstand=\"true\"",
            "End=\"true\"",
            "End=\"TRUE\"",
            "PT0S",
            "P1Y2M3DT4H5M6.7S",
            "PT99999999999999999999S",
            "-PT5S",
            "=",
            "\"",
            "'",
            ">",
            "<",
            "/>",
            "</",
            "\r\n",
            "\u{feff}",
        ])
        .words([
            ns::SOAP,
            ns::ADDRESSING,
            ns::WSMAN,
            ns::SHELL,
            ns::TRANSFER,
            ns::WSMANFAULT,
            ns::action::CREATE_RESPONSE,
            ns::action::FAULT,
            ns::command_state::DONE,
        ])
        .pairs([
            ("<a>", "</a>"),
            ("<s:Body>", "</s:Body>"),
            ("<rsp:Stream Name=\"stdout\">", "</rsp:Stream>"),
            ("<x:y xmlns:x=\"urn:x\">", "</x:y>"),
            ("<![CDATA[", "]]>"),
            ("<!--", "-->"),
        ])
}

/// A wsman error's kind, with the static detail where there is one, so
/// "distinct error kinds" means something.
fn error_kind(e: &Error) -> String {
    match e {
        Error::Missing { item, .. } => format!("Missing({item})"),
        Error::InvalidValue { what, .. } => format!("InvalidValue({what})"),
        Error::InvalidBase64 { what, .. } => format!("InvalidBase64({what})"),
        Error::Fault(f) => format!("Fault({})", kind(&f.kind)),
        other => kind(other),
    }
}

/// An error must say something, and (unless it is the peer's own fault
/// text) say it in bounded space whatever the input was.
fn check_error(e: &Error) -> Result<String, TestCaseError> {
    let text = e.to_string();
    prop_assert!(!text.trim().is_empty(), "empty error message: {e:?}");
    if !matches!(e, Error::Fault(_)) {
        prop_assert!(
            text.len() <= MAX_ERROR_TEXT,
            "a {}-byte error message: {}…",
            text.len(),
            text.chars().take(300).collect::<String>()
        );
    }
    Ok(error_kind(e))
}

/// The client half: a server's answer.
fn response(input: &[u8]) -> Result<String, TestCaseError> {
    let limits = Limits::default();
    let fault = Fault::parse(input, &limits);
    match &fault {
        Ok(f) => {
            // A fault that was read writes out and reads back the same.
            if let Ok(xml) = f.to_xml() {
                let again = Fault::parse(&xml, &limits);
                prop_assert!(
                    again.is_ok(),
                    "written fault does not parse: {again:?}\n{xml}"
                );
                let again = again.unwrap();
                // The fault writer puts U+FFFD for what XML cannot carry.
                prop_assert_eq!(&again.reason, &xml_safe(&f.reason));
                prop_assert_eq!(&again.message, &f.message.as_deref().map(xml_safe));
                if xml_safe(&f.reason) == f.reason {
                    prop_assert_eq!(&again.kind, &f.kind);
                }
            }
        }
        Err(e) => {
            check_error(e)?;
        }
    }
    match Response::parse(input, &limits) {
        Ok(r) => {
            prop_assert!(fault.is_err(), "parsed both as a fault and as a response");
            if let ResponseBody::Receive(recv) = &r.body {
                // What the client does with output: bounded by its cap.
                let mut collector = OutputCollector::new(4096);
                match collector.push_response(recv) {
                    Ok(_) => prop_assert!(collector.len() <= 4096),
                    Err(e) => {
                        check_error(&e)?;
                    }
                }
                let out = collector.finish();
                prop_assert!(out.stdout.len() + out.stderr.len() <= 3 * 4096);
            }
            round_trip_response(&r)?;
            Ok(format!("ok:{}", r.operation()))
        }
        Err(e) => check_error(&e),
    }
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

/// Written back and read again, a response is what was read (up to the
/// Action header, which the writer fills in when it was missing).
fn round_trip_response(r: &Response) -> Result<(), TestCaseError> {
    let Ok(xml) = r.to_xml() else {
        // Only text XML cannot carry (control characters) refuses to be written.
        return Ok(());
    };
    let again = Response::parse(&xml, &Limits::default());
    prop_assert!(
        again.is_ok(),
        "written response does not parse: {again:?}\n{xml}"
    );
    let again = again.unwrap();
    prop_assert_eq!(&again.body, &r.body, "body changed; written:\n{}", xml);
    let mut header = r.header.clone();
    header.action = again.header.action.clone();
    // Unknown mandatory headers are remembered, never written.
    header.unknown_mandatory.clear();
    prop_assert_eq!(&again.header, &header, "header changed; written:\n{}", xml);
    Ok(())
}

/// The server half (pure part): a client's request.
fn request(input: &[u8]) -> Result<String, TestCaseError> {
    match Request::parse(input, &Limits::default()) {
        Ok(r) => {
            match &r.body {
                RequestBody::Command(cmd) => {
                    if let Err(e) = powershell::parse_invocation(&cmd.command, &cmd.arguments) {
                        check_error(&e)?;
                    }
                    let _ = powershell::split_command_line(&cmd.full_line());
                }
                RequestBody::Send(send) => {
                    for chunk in &send.streams {
                        let script = powershell::decode_stdin_script(&chunk.data);
                        prop_assert!(script.len() <= 3 * chunk.data.len() + 3);
                    }
                }
                _ => {}
            }
            if let Ok(xml) = r.to_xml() {
                let again = Request::parse(&xml, &Limits::default());
                prop_assert!(
                    again.is_ok(),
                    "written request does not parse: {again:?}\n{xml}"
                );
                // Unknown mandatory headers are remembered (so the server can
                // fault) but never written.
                let mut expected = r.clone();
                expected.header.unknown_mandatory.clear();
                prop_assert_eq!(
                    &again.unwrap(),
                    &expected,
                    "request changed; written:\n{}",
                    xml
                );
            }
            Ok(format!("ok:{}", r.operation()))
        }
        Err(e) => check_error(&e),
    }
}

/// Any limits: a message over the size limit is refused before parsing,
/// and what parses under tight limits parses the same under the defaults.
fn limits(input: &[u8], max_bytes: usize, max_depth: usize) -> Result<String, TestCaseError> {
    let tight = Limits {
        max_bytes,
        max_depth,
    };
    let result = Response::parse(input, &tight);
    if input.len() > max_bytes {
        prop_assert!(
            matches!(result, Err(Error::EnvelopeTooLarge { .. })),
            "{} bytes over a {max_bytes}-byte limit gave {result:?}",
            input.len()
        );
    }
    match result {
        Ok(r) => {
            let roomy = Response::parse(input, &Limits::default()).ok();
            prop_assert_eq!(roomy.as_ref(), Some(&r));
            Ok("ok".into())
        }
        Err(e) => check_error(&e),
    }
}

#[test]
fn fuzz_envelope() {
    let corpus = corpus();
    assert!(corpus.len() > 30, "corpus too small: {}", corpus.len());
    let dict = dictionary();
    let mut fuzz = Fuzz::new(
        "envelope",
        file!(),
        Path::new(DIR).join("tests/fuzz-corpus/envelope"),
        4,
    );
    // An element costs about 110 bytes of tree however short its text
    // (`<a/>` is 4 bytes), so heap use is linear with a factor near 90;
    // amplification (a long namespace copied into every element) is not.
    fuzz.bytes("response", &corpus, &dict, HEAP_PER_BYTE, response);
    fuzz.bytes("request", &corpus, &dict, HEAP_PER_BYTE, request);
    let mutated = wsman::fuzzing::mutations(corpus.len(), &dict);
    fuzz.values(
        "limits",
        (mutated, 0usize..4096, 1usize..40),
        64 << 20,
        |(m, max_bytes, max_depth)| limits(&m.apply(&corpus, &dict), max_bytes, max_depth),
    );
    fuzz.values(
        "amplification",
        (1usize..4096, 1usize..20_000, 0usize..3),
        64 << 20,
        |(ns_len, elements, shape)| amplification(ns_len, elements, shape),
    );
    fuzz.finish();
}

/// Inputs built to make a parser allocate much more than it read: a long
/// namespace URI or attribute on many small elements.
fn amplification(ns_len: usize, elements: usize, shape: usize) -> Result<String, TestCaseError> {
    let long = "u".repeat(ns_len);
    let body = match shape {
        0 => "<a/>".repeat(elements),
        1 => "<b:a/>".repeat(elements),
        _ => "<a x='1'/>".repeat(elements),
    };
    let xml = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns=\"urn:{long}\" xmlns:b=\"urn:b{long}\"><s:Body>{body}</s:Body></s:Envelope>"
    );
    let before = wsman::fuzzing::PeakAlloc.current_usage();
    wsman::fuzzing::PeakAlloc.reset_peak_usage();
    let result = Response::parse(&xml, &Limits::default());
    let extra = wsman::fuzzing::PeakAlloc
        .peak_usage()
        .saturating_sub(before);
    prop_assert!(
        extra <= HEAP_PER_BYTE * xml.len() + (1 << 20),
        "{} bytes of XML took {extra} bytes of heap",
        xml.len()
    );
    Ok(match result {
        Ok(_) => "ok".into(),
        Err(e) => error_kind(&e),
    })
}

/// Nesting past the limit is an error, not a deep recursion.
#[test]
fn deep_nesting_is_refused_not_recursed() {
    let deep = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">{}{}</s:Envelope>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let err = Response::parse(
        &deep,
        &Limits {
            max_bytes: usize::MAX,
            max_depth: 32,
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::TooDeep { limit: 32 }), "{err}");
}
