//! The client half against hand-written fixtures shaped like the responses
//! and faults real Windows hosts send, with several namespace prefixes.

use std::time::Duration;

use wsman::fault::Quota;
use wsman::soap::{CommandStatus, Limits, Operation, Response, ResponseBody};
use wsman::stream::OutputCollector;
use wsman::{Error, Fault, FaultKind};

fn parse(xml: &str) -> Response {
    Response::parse(xml, &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn fault(xml: &str) -> Fault {
    match Response::parse(xml, &Limits::default()) {
        Err(Error::Fault(f)) => {
            match Fault::parse(xml, &Limits::default()) {
                Ok(alone) => assert_eq!(*f, alone),
                Err(e) => panic!("Fault::parse disagrees with Response::parse: {e}"),
            }
            *f
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn create_response_with_shell_and_resource_created() {
    let r = parse(include_str!("fixtures/create_response_windows.xml"));
    assert_eq!(r.operation(), Operation::Create);
    assert_eq!(
        r.header.relates_to.as_deref(),
        Some("uuid:11111111-2222-3333-4444-555555555555")
    );
    let ResponseBody::Create(c) = r.body else {
        panic!("not a create")
    };
    assert_eq!(c.shell_id, "9F0E1D2C-3B4A-4958-8776-A5B4C3D2E1F0");
    assert_eq!(
        c.address.as_deref(),
        Some("http://vmm01.corp.example:5985/wsman")
    );
    assert_eq!(c.owner.as_deref(), Some(r"CORP\svc-capi"));
    assert_eq!(c.client_ip.as_deref(), Some("10.20.30.40"));
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(7200)));
    assert_eq!(c.input_streams, ["stdin"]);
    assert_eq!(c.output_streams, ["stdout", "stderr"]);
}

#[test]
fn create_response_with_only_resource_created() {
    let r = parse(include_str!(
        "fixtures/create_response_resource_created_only.xml"
    ));
    let ResponseBody::Create(c) = r.body else {
        panic!("not a create")
    };
    assert_eq!(c.shell_id, "uuid:0C1D2E3F-4A5B-6C7D-8E9F-A0B1C2D3E4F5");
    assert_eq!(
        c.resource_uri.as_deref(),
        Some("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd")
    );
    assert!(c.output_streams.is_empty());
}

#[test]
fn create_response_with_only_shell_in_default_namespace() {
    let r = parse(include_str!("fixtures/create_response_shell_only.xml"));
    let ResponseBody::Create(c) = r.body else {
        panic!("not a create")
    };
    assert_eq!(c.shell_id, "5D6E7F80-91A2-4B3C-8D4E-5F6071829304");
    assert_eq!(r.header.message_id, None);
}

#[test]
fn command_response() {
    let r = parse(include_str!("fixtures/command_response.xml"))
        .expect(Operation::Command)
        .unwrap();
    let ResponseBody::Command(c) = r.body else {
        panic!("not a command")
    };
    assert_eq!(c.command_id, "B7C8D9E0-F1A2-4B3C-9D4E-5F6A7B8C9D0E");
}

#[test]
fn unexpected_response_is_reported() {
    let r = parse(include_str!("fixtures/command_response.xml"));
    let err = r.expect(Operation::Receive).unwrap_err();
    assert!(matches!(
        err,
        Error::UnexpectedResponse {
            expected: Operation::Receive,
            got: Operation::Command
        }
    ));
}

#[test]
fn receive_running_with_several_streams() {
    let ResponseBody::Receive(r) = parse(include_str!("fixtures/receive_running.xml")).body else {
        panic!("not a receive")
    };
    assert_eq!(r.streams.len(), 3);
    assert_eq!(r.streams[0].data, b"VM web-01 ");
    assert_eq!(r.streams[1].data, b"Running\r\n");
    assert_eq!(r.streams[2].name, "stderr");
    assert!(r.streams.iter().all(|s| !s.end));
    let state = r.state.as_ref().unwrap();
    assert_eq!(state.status, CommandStatus::Running);
    assert_eq!(state.exit_code, None);
    assert!(!r.is_done());
}

#[test]
fn receive_done_with_empty_output_and_exit_zero() {
    let ResponseBody::Receive(r) = parse(include_str!("fixtures/receive_done_empty.xml")).body
    else {
        panic!("not a receive")
    };
    assert_eq!(r.streams.len(), 2);
    assert!(r.streams.iter().all(|s| s.end && s.data.is_empty()));
    assert!(r.is_done());
    assert_eq!(r.exit_code(), Some(0));
}

#[test]
fn receive_done_with_output_and_exit_one() {
    let ResponseBody::Receive(r) = parse(include_str!("fixtures/receive_done_exit1.xml")).body
    else {
        panic!("not a receive")
    };
    assert_eq!(r.exit_code(), Some(1));
    let mut collector =
        OutputCollector::for_command("E1F2A3B4-C5D6-47E8-99FA-0B1C2D3E4F50", 1 << 20);
    assert!(collector.push_response(&r).unwrap());
    let out = collector.finish();
    assert_eq!(out.stdout, "out \r\n");
    assert_eq!(out.stderr, "err \r\n");
    assert_eq!(out.exit_code, Some(1));
}

#[test]
fn receive_with_cdata_default_namespace_and_unknown_elements() {
    let r = parse(include_str!("fixtures/receive_cdata_default_ns.xml"));
    assert!(r.header.unknown_mandatory.is_empty());
    let ResponseBody::Receive(r) = r.body else {
        panic!("not a receive")
    };
    let text: Vec<u8> = r.streams.iter().flat_map(|s| s.data.clone()).collect();
    assert_eq!(String::from_utf8(text).unwrap(), "こんにちは\n");
    assert_eq!(r.sequence_id, Some(7));
    assert_eq!(r.exit_code(), Some(-1_073_741_510));
}

#[test]
fn signal_and_delete_responses() {
    let s = parse(include_str!("fixtures/signal_response.xml"));
    assert_eq!(s.body, ResponseBody::Signal);
    assert_eq!(
        s.header.relates_to.as_deref(),
        Some("uuid:66666666-7777-8888-9999-AAAAAAAAAAAA")
    );
    let d = parse(include_str!("fixtures/delete_response.xml"));
    assert_eq!(d.body, ResponseBody::Delete);
}

#[test]
fn operation_timeout_fault() {
    let f = fault(include_str!("fixtures/fault_operation_timeout.xml"));
    assert_eq!(f.kind, FaultKind::OperationTimeout);
    assert_eq!(f.code, "Receiver");
    assert_eq!(f.subcode.as_deref(), Some("TimedOut"));
    assert_eq!(f.wsman_code, Some(2_150_858_793));
    assert_eq!(f.machine.as_deref(), Some("vmm01.corp.example"));
    assert!(f.reason.ends_with("OperationTimeout.  "));
    assert_eq!(
        f.relates_to.as_deref(),
        Some("uuid:88888888-9999-AAAA-BBBB-CCCCCCCCCCCC")
    );
    let err = Response::parse(
        include_str!("fixtures/fault_operation_timeout.xml"),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(err.is_operation_timeout());
    // The Go client recognises this fault by this word in the text.
    assert!(err.to_string().contains("OperationTimeout"));
}

#[test]
fn invalid_selectors_fault_with_default_namespace_detail() {
    let f = fault(include_str!("fixtures/fault_invalid_selectors.xml"));
    assert_eq!(f.kind, FaultKind::ShellNotFound);
    assert_eq!(f.code, "Sender");
    assert_eq!(f.subcode.as_deref(), Some("InvalidSelectors"));
    assert_eq!(f.wsman_code, Some(2_150_858_843));
    assert_eq!(
        f.fault_detail.as_deref(),
        Some("http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors")
    );
    assert!(f.text().contains("shell was not found"));
    assert!(f.to_string().contains("open a new shell"), "{f}");
}

#[test]
fn access_denied_fault() {
    let f = fault(include_str!("fixtures/fault_access_denied.xml"));
    assert_eq!(f.kind, FaultKind::AccessDenied);
    assert_eq!(f.wsman_code, Some(5));
    assert_eq!(f.relates_to, None);
}

#[test]
fn shell_quota_fault() {
    let f = fault(include_str!("fixtures/fault_shell_quota.xml"));
    assert_eq!(f.kind, FaultKind::QuotaExceeded(Quota::ShellsPerUser));
    assert!(f.to_string().contains("0x803381A5"), "{f}");
}

#[test]
fn provider_fault_and_sparse_fault() {
    let f = fault(include_str!("fixtures/fault_provider.xml"));
    assert_eq!(f.kind, FaultKind::Unknown { code: Some(87) });
    let p = f.provider_fault.as_ref().unwrap();
    assert_eq!(p.provider.as_deref(), Some("Shell cmd plugin"));
    assert_eq!(
        p.path.as_deref(),
        Some(r"%systemroot%\system32\winrscmd.dll")
    );
    assert_eq!(f.message, None);
    assert_eq!(f.text(), "The parameter is incorrect.");

    let f = fault(include_str!("fixtures/fault_no_reason.xml"));
    assert_eq!(f.kind, FaultKind::Unknown { code: None });
    assert_eq!(f.reason, "");
    assert!(f.to_string().contains("Receiver"));
}

#[test]
fn non_soap_and_oversized_bodies_fail_clearly() {
    let html = "<html><body>Bad Request</body></html>";
    let err = Response::parse(html, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("not a SOAP 1.2 Envelope"), "{err}");

    let big = include_str!("fixtures/receive_running.xml");
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        Response::parse(big, &limits),
        Err(Error::EnvelopeTooLarge { limit: 100, .. })
    ));
    assert!(matches!(
        Response::parse(b"\xff\xfe<\x00", &Limits::default()),
        Err(Error::Xml { .. })
    ));
    let bad_b64 = big.replace("ZXJy", "Z!Jy");
    assert!(matches!(
        Response::parse(bad_b64, &Limits::default()),
        Err(Error::InvalidBase64 { .. })
    ));
    let bad_exit = include_str!("fixtures/receive_done_exit1.xml").replace(">1<", ">one<");
    assert!(matches!(
        Response::parse(bad_exit, &Limits::default()),
        Err(Error::InvalidValue {
            what: "rsp:ExitCode",
            ..
        })
    ));
}

#[test]
fn operation_is_inferred_when_the_action_is_missing() {
    let strip = |xml: &str| {
        let start = xml.find("<a:Action>").unwrap();
        let end = xml.find("</a:Action>").unwrap() + "</a:Action>".len();
        format!("{}{}", &xml[..start], &xml[end..])
    };
    let cases = [
        (
            include_str!("fixtures/create_response_windows.xml"),
            Operation::Create,
        ),
        (
            include_str!("fixtures/command_response.xml"),
            Operation::Command,
        ),
        (
            include_str!("fixtures/receive_running.xml"),
            Operation::Receive,
        ),
        (
            include_str!("fixtures/signal_response.xml"),
            Operation::Signal,
        ),
        (
            include_str!("fixtures/delete_response.xml"),
            Operation::Delete,
        ),
    ];
    for (xml, op) in cases {
        let r = parse(&strip(xml));
        assert_eq!(r.header.action, None);
        assert_eq!(r.operation(), op);
    }
}
