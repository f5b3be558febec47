//! The server half against requests shaped as pywinrm, the Go client and
//! winrm-rs send them (hand-written from their documented wire shapes).

use std::time::Duration;

use wsman::powershell::{ScriptSource, parse_invocation};
use wsman::soap::{
    Limits, Operation, Request, RequestBody, Response, ResponseBody, SignalCode, ns,
};

fn parse(xml: &str) -> Request {
    Request::parse(xml, &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

#[test]
fn pywinrm_create_with_env_prefix_and_unprefixed_must_understand() {
    let r = parse(include_str!("fixtures/request_create_pywinrm_style.xml"));
    assert_eq!(r.operation(), Operation::Create);
    assert_eq!(
        r.header.to.as_deref(),
        Some("http://windows-host:5985/wsman")
    );
    assert_eq!(r.header.max_envelope_size, Some(153_600));
    assert_eq!(r.header.operation_timeout, Some(Duration::from_secs(20)));
    assert_eq!(r.header.locale.as_deref(), Some("en-US"));
    assert_eq!(r.header.data_locale.as_deref(), Some("en-US"));
    assert_eq!(r.header.resource_uri.as_deref(), Some(ns::RESOURCE_URI_CMD));
    assert!(r.header.options.is_empty(), "typed options are taken out");
    let RequestBody::Create(shell) = r.body else {
        panic!("not a create")
    };
    assert_eq!(shell.no_profile, Some(false));
    assert_eq!(shell.codepage, Some(437));
    assert_eq!(shell.working_directory.as_deref(), Some(r"C:\Temp"));
    assert_eq!(shell.idle_timeout, Some(Duration::from_secs(600)));
    assert_eq!(shell.environment.len(), 2);
    assert_eq!(shell.environment[0].name, "VMM_SERVER");
    assert_eq!(shell.environment[1].value, "");
}

#[test]
fn winrm_rs_create_with_option_set_outside_the_header() {
    let r = parse(include_str!(
        "fixtures/request_create_optionset_outside_header.xml"
    ));
    let RequestBody::Create(shell) = r.body else {
        panic!("not a create")
    };
    assert_eq!(shell.no_profile, Some(true));
    assert_eq!(shell.codepage, Some(65001));
    assert_eq!(shell.input_streams, ["stdin"]);
    assert_eq!(r.header.operation_timeout, Some(Duration::from_secs(60)));
}

#[test]
fn create_with_option_set_inside_the_body() {
    let r = parse(include_str!(
        "fixtures/request_create_optionset_in_body.xml"
    ));
    assert_eq!(r.header.options.get("CUSTOM_OPTION"), Some("x"));
    let RequestBody::Create(shell) = r.body else {
        panic!("not a create")
    };
    assert_eq!(shell.codepage, Some(65001));
    assert_eq!(
        r.header.max_envelope_size, None,
        "optional headers may be missing"
    );
}

#[test]
fn go_command_in_cdata() {
    let r = parse(include_str!("fixtures/request_command_go_cdata.xml"));
    assert_eq!(
        r.header.shell_id.as_deref(),
        Some("9F0E1D2C-3B4A-4958-8776-A5B4C3D2E1F0")
    );
    let RequestBody::Command(cmd) = r.body else {
        panic!("not a command")
    };
    assert_eq!(cmd.command, r#"echo "a <b> & 'c'""#);
    assert!(cmd.arguments.is_empty());
    assert_eq!(cmd.console_mode_stdin, Some(true));
    assert_eq!(cmd.skip_cmd_shell, Some(false));
}

#[test]
fn winrm_rs_command_with_split_arguments_runs_powershell() {
    let r = parse(include_str!("fixtures/request_command_split_arguments.xml"));
    assert_eq!(
        r.header.session_id.as_deref(),
        Some("uuid:5E55104D-0000-4000-8000-000000000000")
    );
    assert_eq!(r.header.operation_timeout, Some(Duration::from_secs(60)));
    let RequestBody::Command(cmd) = r.body else {
        panic!("not a command")
    };
    assert_eq!(cmd.arguments.len(), 4);
    assert_eq!(cmd.console_mode_stdin, None);
    let inv = parse_invocation(&cmd.command, &cmd.arguments).unwrap();
    assert_eq!(inv.script, ScriptSource::Encoded("Get-Date".into()));
}

#[test]
fn receive_with_unknown_mandatory_header_and_extra_option() {
    let r = parse(include_str!("fixtures/request_receive.xml"));
    assert_eq!(r.header.operation_timeout, Some(Duration::from_secs(5)));
    assert_eq!(r.header.unknown_mandatory, ["{urn:example:x}Unknown"]);
    assert_eq!(
        r.header.options.get("WSMAN_CMDSHELL_OPTION_KEEPALIVE"),
        Some("TRUE")
    );
    let RequestBody::Receive(recv) = r.body else {
        panic!("not a receive")
    };
    assert_eq!(
        recv.command_id.as_deref(),
        Some("B7C8D9E0-F1A2-4B3C-9D4E-5F6A7B8C9D0E")
    );
    assert_eq!(recv.streams, ["stdout", "stderr"]);
}

#[test]
fn send_signal_delete() {
    let RequestBody::Send(send) = parse(include_str!("fixtures/request_send.xml")).body else {
        panic!("not a send")
    };
    assert_eq!(send.streams[0].data, b"Get-Date\r\n");
    assert!(send.streams[0].end);

    let RequestBody::Signal(sig) = parse(include_str!("fixtures/request_signal.xml")).body else {
        panic!("not a signal")
    };
    assert_eq!(sig.code, SignalCode::CtrlC);

    let del = parse(include_str!("fixtures/request_delete.xml"));
    assert_eq!(del.body, RequestBody::Delete);
    assert!(del.header.shell_id.is_some());
}

#[test]
fn responses_relate_to_the_request() {
    let req = parse(include_str!("fixtures/request_delete.xml"));
    let resp = Response::to_request(&req, ResponseBody::Delete);
    let xml = resp.to_xml().unwrap();
    let back = Response::parse(&xml, &Limits::default()).unwrap();
    assert_eq!(
        back.header.relates_to.as_deref(),
        Some("uuid:de1e7e00-0000-4000-8000-000000000000")
    );
    assert_ne!(back.header.message_id, req.header.message_id);
}

#[test]
fn bad_requests_fail_clearly() {
    let send = include_str!("fixtures/request_send.xml");
    let unknown = send.replace("windows/shell/Send", "windows/shell/Reconnect");
    let err = Request::parse(&unknown, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("Reconnect"), "{err}");
    let no_action = send.replace(
        "<a:Action mustUnderstand=\"true\">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send</a:Action>",
        "",
    );
    let err = Request::parse(&no_action, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("a:Action"), "{err}");
    let no_body = send
        .replace("<rsp:Send>", "<rsp:Other>")
        .replace("</rsp:Send>", "</rsp:Other>");
    let err = Request::parse(&no_body, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("rsp:Send"), "{err}");
    let bad_timeout = include_str!("fixtures/request_receive.xml").replace("PT5S", "5 seconds");
    assert!(Request::parse(&bad_timeout, &Limits::default()).is_err());
}
