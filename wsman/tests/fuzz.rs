//! A lightweight fuzz: no parser in the crate panics, whatever it is fed.

use proptest::prelude::*;
use wsman::soap::{Limits, Request, Response, parse_duration};
use wsman::{Fault, clixml, powershell, stream::Utf8Decoder};

const SEEDS: &[&str] = &[
    include_str!("fixtures/create_response_windows.xml"),
    include_str!("fixtures/receive_cdata_default_ns.xml"),
    include_str!("fixtures/receive_done_exit1.xml"),
    include_str!("fixtures/fault_invalid_selectors.xml"),
    include_str!("fixtures/fault_provider.xml"),
    include_str!("fixtures/request_create_pywinrm_style.xml"),
    include_str!("fixtures/request_command_go_cdata.xml"),
    include_str!("fixtures/request_receive.xml"),
    "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">a_x000D__x000A_</S><Obj S=\"progress\" RefId=\"0\"><MS><PR N=\"Record\"><AV>x</AV></PR></MS></Obj></Objs>",
];

fn feed(input: &[u8]) {
    let limits = Limits::default();
    let _ = Request::parse(input, &limits);
    let _ = Response::parse(input, &limits);
    let _ = Fault::parse(input, &limits);
    let text = String::from_utf8_lossy(input);
    let _ = clixml::parse(&text);
    let _ = clixml::decode_errors(&text);
    let _ = clixml::decode_escapes(&text);
    let _ = powershell::split_command_line(&text);
    let _ = powershell::parse_invocation(&text, &[text.to_string()]);
    let _ = powershell::decode_encoded_command(&text);
    let _ = powershell::decode_stdin_script(input);
    let _ = parse_duration(&text);
    let mut d = Utf8Decoder::new();
    let half = input.len() / 2;
    let _ = d.push(&input[..half]);
    let _ = d.push(&input[half..]);
    let _ = d.finish();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        feed(&input);
    }

    #[test]
    fn arbitrary_strings(input in "\\PC{0,300}") {
        feed(input.as_bytes());
    }

    #[test]
    fn xml_ish_strings(input in "[<>/=\"' a-zA-Z:_&#;x0-9\\[\\]!-]{0,200}") {
        feed(input.as_bytes());
    }

    #[test]
    fn mutated_fixtures(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        feed(&bytes);
    }
}

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
    assert!(matches!(err, wsman::Error::TooDeep { limit: 32 }), "{err}");
    let deep_clixml = format!("#< CLIXML\r\n<Objs>{}</Objs>", "<Obj>".repeat(100_000));
    assert_eq!(clixml::decode_errors(&deep_clixml), deep_clixml);
}
