//! Every request and response the crate builds parses back to the same
//! values, for arbitrary text (markup characters, quotes including
//! U+2018-U+201B, CR/LF/TAB, non-BMP) and arbitrary bytes.

use std::time::Duration;

use proptest::prelude::*;
use wsman::fault::Fault;
use wsman::soap::{
    CommandLine, CommandResponse, CommandState, CommandStatus, CreateResponse, CreateShell, EnvVar,
    Limits, ReceiveRequest, ReceiveResponse, Request, RequestBody, Response, ResponseBody,
    SendInput, SignalCode, SignalRequest, StreamChunk,
};

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Any text XML can carry, biased towards the characters that break naive
/// escaping and PowerShell quoting.
fn text() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('<'),
        Just('>'),
        Just('&'),
        Just('"'),
        Just('\''),
        Just(']'),
        Just(';'),
        Just('\r'),
        Just('\n'),
        Just('\t'),
        Just(' '),
        Just('_'),
        Just('$'),
        Just('`'),
        Just('\u{2018}'),
        Just('\u{2019}'),
        Just('\u{201A}'),
        Just('\u{201B}'),
        Just('\u{201C}'),
        Just('\u{201D}'),
        Just('é'),
        Just('日'),
        Just('\u{1F600}'),
        Just('\u{FEFF}'),
    ];
    let ch = prop_oneof![
        3 => special,
        2 => any::<char>().prop_filter("XML char", |c| is_xml_char(*c)),
        2 => proptest::char::range('a', 'z'),
    ];
    proptest::collection::vec(ch, 0..40).prop_map(String::from_iter)
}

/// Text without surrounding whitespace: identifiers and URIs are trimmed
/// when parsed, since peers pretty-print them.
fn id() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.trim_matches([' ', '\t', '\r', '\n']).to_string())
}

fn nonempty_id() -> impl Strategy<Value = String> {
    id().prop_filter("non-empty", |s| !s.is_empty())
}

/// Whitespace-free names for space-separated lists.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:-]{1,12}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..200)
}

fn duration() -> impl Strategy<Value = Duration> {
    (0u64..10_000_000, 0u32..1000).prop_map(|(s, ms)| Duration::new(s, ms * 1_000_000))
}

fn chunk() -> impl Strategy<Value = StreamChunk> {
    (text(), proptest::option::of(text()), bytes(), any::<bool>()).prop_map(
        |(name, command_id, data, end)| StreamChunk {
            name,
            command_id,
            data,
            end,
        },
    )
}

fn request_body() -> impl Strategy<Value = RequestBody> {
    let create = (
        proptest::collection::vec(name(), 0..3),
        proptest::collection::vec(name(), 0..3),
        proptest::option::of(text()),
        proptest::collection::vec((text(), text()), 0..3),
        proptest::option::of(duration()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(i, o, wd, env, idle, np, cp)| {
            RequestBody::Create(CreateShell {
                input_streams: i,
                output_streams: o,
                working_directory: wd,
                environment: env
                    .into_iter()
                    .map(|(name, value)| EnvVar { name, value })
                    .collect(),
                idle_timeout: idle,
                no_profile: np,
                codepage: cp,
            })
        });
    let command = (
        text(),
        proptest::collection::vec(text(), 0..4),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(command, arguments, command_id, stdin, skip)| {
            RequestBody::Command(CommandLine {
                command,
                arguments,
                command_id,
                console_mode_stdin: stdin,
                skip_cmd_shell: skip,
            })
        });
    let send = proptest::collection::vec(chunk(), 0..3)
        .prop_map(|streams| RequestBody::Send(SendInput { streams }));
    let receive = (
        proptest::option::of(text()),
        proptest::collection::vec(name(), 0..3),
    )
        .prop_map(|(command_id, streams)| {
            RequestBody::Receive(ReceiveRequest {
                command_id,
                streams,
            })
        });
    let code = prop_oneof![
        Just(SignalCode::Terminate),
        Just(SignalCode::CtrlC),
        Just(SignalCode::CtrlBreak),
        Just(SignalCode::PsCtrlC),
        id().prop_map(|s| SignalCode::from_uri(&s)),
    ];
    let signal = (proptest::option::of(text()), code)
        .prop_map(|(command_id, code)| RequestBody::Signal(SignalRequest { command_id, code }));
    prop_oneof![
        create,
        command,
        send,
        receive,
        signal,
        Just(RequestBody::Delete)
    ]
}

fn response_body() -> impl Strategy<Value = ResponseBody> {
    let create = (
        nonempty_id(),
        proptest::option::of(id()),
        proptest::option::of(id()),
        proptest::option::of(id()),
        proptest::option::of(id()),
        proptest::option::of(duration()),
        proptest::collection::vec(name(), 0..3),
        proptest::collection::vec(name(), 0..3),
    )
        .prop_map(
            |(shell_id, address, resource_uri, owner, client_ip, idle, i, o)| {
                ResponseBody::Create(CreateResponse {
                    shell_id,
                    address,
                    resource_uri,
                    owner,
                    client_ip,
                    idle_timeout: idle,
                    input_streams: i,
                    output_streams: o,
                })
            },
        );
    let command =
        nonempty_id().prop_map(|command_id| ResponseBody::Command(CommandResponse { command_id }));
    let status = prop_oneof![
        Just(CommandStatus::Running),
        Just(CommandStatus::Done),
        Just(CommandStatus::Pending),
        id().prop_map(|s| CommandStatus::from_uri(&s)),
    ];
    let state = (
        proptest::option::of(text()),
        status,
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(command_id, status, exit_code)| CommandState {
            command_id,
            status,
            exit_code,
        });
    let receive = (
        proptest::collection::vec(chunk(), 0..4),
        proptest::option::of(state),
        proptest::option::of(any::<u64>()),
    )
        .prop_map(|(streams, state, sequence_id)| {
            ResponseBody::Receive(ReceiveResponse {
                streams,
                state,
                sequence_id,
            })
        });
    prop_oneof![
        create,
        command,
        receive,
        Just(ResponseBody::Send),
        Just(ResponseBody::Signal),
        Just(ResponseBody::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(
        body in request_body(),
        endpoint in id(),
        shell_id in proptest::option::of(id()),
        timeout in proptest::option::of(duration()),
        locale in proptest::option::of(text()),
        extra in proptest::collection::vec(("[A-Z_]{1,10}", id()), 0..2),
    ) {
        let mut req = Request::new(endpoint, body);
        req.header.shell_id = shell_id;
        req.header.operation_timeout = timeout;
        req.header.locale = locale;
        for (name, value) in extra {
            // Typed options live on the body; keep generic ones distinct.
            if !name.starts_with("WINRS") {
                req.header.options.set(&name, value);
            }
        }
        let xml = req.to_xml().unwrap();
        let back = Request::parse(&xml, &Limits::default()).unwrap();
        prop_assert_eq!(back, req, "{}", xml);
    }

    #[test]
    fn responses_round_trip(body in response_body(), relates_to in proptest::option::of(id())) {
        let resp = Response::new(body, relates_to);
        let xml = resp.to_xml().unwrap();
        let back = Response::parse(&xml, &Limits::default()).unwrap();
        prop_assert_eq!(back, resp, "{}", xml);
    }

    #[test]
    fn faults_round_trip(
        code in "[A-Za-z]{1,12}",
        subcode in proptest::option::of("[A-Za-z]{1,16}"),
        reason in text(),
        message in proptest::option::of(text().prop_filter("not blank", |t| !t.trim().is_empty())),
        wsman_code in proptest::option::of(any::<u32>()),
        machine in proptest::option::of(text()),
        relates_to in proptest::option::of(id()),
    ) {
        let kind = wsman::FaultKind::classify(
            subcode.as_deref(),
            wsman_code,
            message.as_deref().map(str::trim).unwrap_or(reason.trim()),
        );
        let fault = Fault {
            kind,
            code,
            subcode,
            reason,
            wsman_code,
            machine,
            message,
            provider_fault: None,
            fault_detail: None,
            relates_to,
        };
        let xml = fault.to_xml().unwrap();
        let back = Fault::parse(&xml, &Limits::default()).unwrap();
        prop_assert_eq!(back, fault, "{}", xml);
    }

    #[test]
    fn command_lines_with_control_characters_are_refused(
        before in text(),
        bad in prop_oneof![0u32..9, 11u32..13, 14u32..32, Just(0xFFFE), Just(0xFFFF)],
        after in text(),
    ) {
        let bad = char::from_u32(bad).unwrap();
        let cmd = CommandLine::new(format!("{before}{bad}{after}"), vec![]);
        let req = Request::new("http://h:5985/wsman", RequestBody::Command(cmd));
        let err = req.to_xml().unwrap_err();
        prop_assert!(err.to_string().contains("rsp:Command"), "{}", err);
    }
}

fn fixed_request(body: RequestBody) -> Request {
    let mut req = Request::new("http://vmm01:5985/wsman", body);
    req.header.message_id = Some("uuid:00000000-0000-4000-8000-000000000001".into());
    req
}

const ENVELOPE_OPEN: &str = r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">"#;

#[test]
fn create_request_has_the_exact_shape() {
    let xml = fixed_request(RequestBody::Create(CreateShell::default()))
        .to_xml()
        .unwrap();
    let want = [
        ENVELOPE_OPEN,
        "<s:Header>",
        "<a:To>http://vmm01:5985/wsman</a:To>",
        r#"<w:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>"#,
        r#"<a:ReplyTo><a:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"#,
        r#"<a:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>"#,
        r#"<w:MaxEnvelopeSize s:mustUnderstand="true">153600</w:MaxEnvelopeSize>"#,
        "<a:MessageID>uuid:00000000-0000-4000-8000-000000000001</a:MessageID>",
        r#"<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>"#,
        r#"<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>"#,
        "<w:OperationTimeout>PT20S</w:OperationTimeout>",
        r#"<w:OptionSet><w:Option Name="WINRS_NOPROFILE">TRUE</w:Option><w:Option Name="WINRS_CODEPAGE">65001</w:Option></w:OptionSet>"#,
        "</s:Header>",
        "<s:Body><rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell></s:Body>",
        "</s:Envelope>",
    ]
    .concat();
    assert_eq!(xml, want);
}

#[test]
fn command_send_receive_signal_delete_bodies_have_the_exact_shape() {
    let shell = "9F0E1D2C-3B4A-4958-8776-A5B4C3D2E1F0";
    let cases = [
        (
            RequestBody::Command(CommandLine::new(
                "powershell.exe",
                vec!["-EncodedCommand".into(), "QQA=".into()],
            )),
            r#"<w:OptionSet><w:Option Name="WINRS_CONSOLEMODE_STDIN">TRUE</w:Option><w:Option Name="WINRS_SKIP_CMD_SHELL">FALSE</w:Option></w:OptionSet></s:Header><s:Body><rsp:CommandLine><rsp:Command>powershell.exe</rsp:Command><rsp:Arguments>-EncodedCommand</rsp:Arguments><rsp:Arguments>QQA=</rsp:Arguments></rsp:CommandLine></s:Body>"#,
        ),
        (
            RequestBody::Send(SendInput::stdin("C1", b"Get-Date\r\n".to_vec(), true)),
            r#"</w:SelectorSet></s:Header><s:Body><rsp:Send><rsp:Stream Name="stdin" CommandId="C1" End="true">R2V0LURhdGUNCg==</rsp:Stream></rsp:Send></s:Body>"#,
        ),
        (
            RequestBody::Receive(ReceiveRequest::new("C1")),
            r#"</w:SelectorSet></s:Header><s:Body><rsp:Receive><rsp:DesiredStream CommandId="C1">stdout stderr</rsp:DesiredStream></rsp:Receive></s:Body>"#,
        ),
        (
            RequestBody::Signal(SignalRequest::terminate("C1")),
            r#"</w:SelectorSet></s:Header><s:Body><rsp:Signal CommandId="C1"><rsp:Code>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate</rsp:Code></rsp:Signal></s:Body>"#,
        ),
        (RequestBody::Delete, "</w:SelectorSet></s:Header><s:Body/>"),
    ];
    for (body, tail) in cases {
        let xml = fixed_request(body).with_shell_id(shell).to_xml().unwrap();
        let selector = format!(
            r#"<w:SelectorSet><w:Selector Name="ShellId">{shell}</w:Selector></w:SelectorSet>"#
        );
        assert!(xml.contains(&selector), "{xml}");
        assert!(xml.ends_with(&format!("{tail}</s:Envelope>")), "{xml}");
    }
}

#[test]
fn responses_have_the_windows_shape() {
    let created = Response::new(
        ResponseBody::Create(CreateResponse {
            shell_id: "S1".into(),
            address: Some("http://vmm01:5985/wsman".into()),
            resource_uri: Some(wsman::soap::ns::RESOURCE_URI_CMD.into()),
            input_streams: vec!["stdin".into()],
            output_streams: vec!["stdout".into(), "stderr".into()],
            ..Default::default()
        }),
        Some("uuid:R".into()),
    );
    let mut created = created;
    created.header.message_id = Some("uuid:M".into());
    let xml = created.to_xml().unwrap();
    let want = [
        ENVELOPE_OPEN,
        "<s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse</a:Action>",
        "<a:MessageID>uuid:M</a:MessageID>",
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>",
        "<a:RelatesTo>uuid:R</a:RelatesTo></s:Header>",
        "<s:Body><x:ResourceCreated><a:Address>http://vmm01:5985/wsman</a:Address><a:ReferenceParameters>",
        "<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>",
        r#"<w:SelectorSet><w:Selector Name="ShellId">S1</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"#,
        "<rsp:Shell><rsp:ShellId>S1</rsp:ShellId><rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri>",
        "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
        "</s:Body></s:Envelope>",
    ]
    .concat();
    assert_eq!(xml, want);

    let done = Response::new(
        ResponseBody::Receive(ReceiveResponse {
            streams: vec![StreamChunk {
                name: "stdout".into(),
                command_id: Some("C1".into()),
                data: vec![],
                end: true,
            }],
            state: Some(CommandState {
                command_id: Some("C1".into()),
                status: CommandStatus::Done,
                exit_code: Some(0),
            }),
            sequence_id: None,
        }),
        None,
    )
    .to_xml()
    .unwrap();
    assert!(done.ends_with(r#"<s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C1" End="true"></rsp:Stream><rsp:CommandState CommandId="C1" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"#), "{done}");

    let delete = Response::new(ResponseBody::Delete, None).to_xml().unwrap();
    assert!(
        delete.ends_with("<s:Body></s:Body></s:Envelope>"),
        "{delete}"
    );
}

#[test]
fn timeout_fault_has_the_windows_shape() {
    let mut fault = Fault::operation_timeout()
        .with_machine("vmm01")
        .with_relates_to(Some("uuid:R".into()));
    fault.message = Some(fault.reason.clone());
    let xml = fault.to_xml().unwrap();
    let body = xml.split("<s:Body>").nth(1).unwrap();
    assert_eq!(
        body,
        concat!(
            "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code>",
            r#"<s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason>"#,
            r#"<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="vmm01">"#,
            "<f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail>",
            "</s:Fault></s:Body></s:Envelope>"
        )
    );
    assert!(xml.contains("<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>"));
    assert!(xml.contains("<a:RelatesTo>uuid:R</a:RelatesTo>"));
}
