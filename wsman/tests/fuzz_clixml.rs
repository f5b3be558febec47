//! Fuzz target `clixml`: the CLIXML decoder the client runs on every
//! PowerShell stderr (`clixml::parse`, `decode_errors`, `decode_escapes`).
//!
//! Properties: no panic, no hang, bounded heap; decoding never makes text
//! longer than it was, and input that does not decode comes back unchanged
//! (no diagnostic is lost); round trips: `encode_escapes` → `decode_escapes`,
//! `encode` → `parse`, `encode_error` → `decode_errors`.
//!
//! `SCVMM_FUZZ_SECONDS=60 cargo test -p wsman --test fuzz_clixml -- --nocapture`
//! runs it longer; docs/testing.md ("Fuzzing") says more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use wsman::clixml::{self, ClixmlStream, Record};
use wsman::fuzzing::{Corpus, Dictionary, Fuzz, kind};

wsman::fuzz_allocator!();

const DIR: &str = env!("CARGO_MANIFEST_DIR");

fn corpus() -> Corpus {
    let mut corpus = Corpus::from_dir(Path::new(DIR).join("tests/fuzz-corpus/clixml"));
    corpus.push(
        "encode-error",
        clixml::encode_error("Get-SCVMHost : <host> \"not\" found & gone\r\nAt line:1 ✓ \u{1F600}"),
    );
    corpus.push(
        "encode-nested",
        clixml::encode_error(&clixml::encode_error("inner failure")),
    );
    let streams = [
        ClixmlStream::Error,
        ClixmlStream::Warning,
        ClixmlStream::Verbose,
        ClixmlStream::Debug,
        ClixmlStream::Information,
        ClixmlStream::Progress,
        ClixmlStream::Output,
        ClixmlStream::Other("host".into()),
    ];
    let records: Vec<Record> = streams
        .into_iter()
        .map(|stream| Record {
            text: format!("{stream:?} _x0041_ \u{0}\u{1b}[0m\r\n"),
            stream,
        })
        .collect();
    corpus.push("encode-all-streams", clixml::encode(&records));
    corpus
}

fn dictionary() -> Dictionary {
    Dictionary::new()
        .words([
            "#< CLIXML\r\n",
            "#< CLIXML",
            "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">",
            "</Objs>",
            "<S S=\"Error\">",
            "<S S=\"warning\">",
            "<S>",
            "</S>",
            "<Obj S=\"progress\" RefId=\"0\"><MS><PR N=\"Record\"><AV>",
            "</AV></PR></MS></Obj>",
            "<ToString>",
            "</ToString>",
            "_x000D__x000A_",
            "_x005F_",
            "_xD83D_",
            "_xDE00_",
            "_x0001F600_",
            "_x110000_",
            "_xFFFFFFFF_",
            "_x",
            "_",
            "&amp;",
            "&lt;",
            "&#0;",
            "\u{feff}",
            "\r\n",
        ])
        .pairs([
            ("<Obj>", "</Obj>"),
            ("<Objs>", "</Objs>"),
            ("#< CLIXML\r\n<Objs><S S=\"Error\">", "</S></Objs>"),
        ])
}

/// Whatever stderr held.
fn decode(input: &[u8]) -> Result<String, TestCaseError> {
    let text = String::from_utf8_lossy(input);
    let escapes = clixml::decode_escapes(&text);
    prop_assert!(
        escapes.len() <= text.len(),
        "decoding escapes made text longer"
    );
    let errors = clixml::decode_errors(&text);
    let parsed = clixml::parse(&text);
    match &parsed {
        Ok(records) => {
            let total: usize = records.iter().map(|r| r.text.len()).sum();
            prop_assert!(total <= text.len(), "records hold more text than the input");
            prop_assert!(errors.len() <= text.len());
        }
        Err(e) => {
            // Nothing is lost: what does not decode comes back as it was.
            prop_assert_eq!(&errors, &*text);
            prop_assert!(
                !e.to_string().is_empty() && e.to_string().len() <= 2048,
                "{e}"
            );
        }
    }
    Ok(match parsed {
        Ok(records) if records.is_empty() => "ok:empty".into(),
        Ok(_) => "ok".into(),
        Err(e) => match &e {
            wsman::Error::Clixml { detail } => {
                // The detail says what was wrong; count them by that.
                let what = [
                    ("does not start with", "not CLIXML"),
                    ("is not closed", "unclosed <Objs>"),
                    ("root element", "root is not <Objs>"),
                    ("nests more than", "too deep"),
                    ("not well-formed", "malformed XML"),
                ]
                .iter()
                .find(|(needle, _)| detail.contains(needle))
                .map_or("other", |(_, name)| name);
                format!("Clixml({what})")
            }
            other => kind(other),
        },
    })
}

fn stream() -> impl Strategy<Value = ClixmlStream> {
    prop_oneof![
        Just(ClixmlStream::Error),
        Just(ClixmlStream::Warning),
        Just(ClixmlStream::Verbose),
        Just(ClixmlStream::Debug),
        Just(ClixmlStream::Information),
        Just(ClixmlStream::Progress),
        Just(ClixmlStream::Output),
        // Other tags, but not spellings of the known ones (those come back
        // as the known stream, by design).
        "[A-Za-z][A-Za-z0-9]{0,9}"
            .prop_filter("a known stream tag", |t| {
                !matches!(
                    t.to_ascii_lowercase().as_str(),
                    "error" | "warning" | "verbose" | "debug" | "information" | "progress"
                )
            })
            .prop_map(ClixmlStream::Other),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_xX0-9A-F \r\n\t<>&\"'#]{0,40}",
        "(_x[0-9A-Fa-f]{4}_|_x[0-9A-F]{8}_|_x|_|x|\u{1F600}|é|\r\n|#< CLIXML)*",
    ]
}

/// Encoders against the decoder.
fn round_trip(
    records: Vec<(ClixmlStream, String)>,
    message: String,
) -> Result<String, TestCaseError> {
    for (_, t) in &records {
        prop_assert_eq!(&clixml::decode_escapes(&clixml::encode_escapes(t)), t);
    }
    let records: Vec<Record> = records
        .into_iter()
        .map(|(stream, text)| Record { stream, text })
        .collect();
    let encoded = clixml::encode(&records);
    let parsed = clixml::parse(&encoded);
    prop_assert_eq!(parsed.as_ref().ok(), Some(&records), "encoded: {}", encoded);

    // encode_error writes one Error record per line; decode_errors joins
    // them with LF and drops trailing blanks (and would unwrap a message
    // that is itself CLIXML, which `lines` cannot rebuild: skipped).
    let joined: String = message.lines().map(|l| format!("{l}\r\n")).collect();
    if !clixml::is_clixml(&joined) {
        let expected = joined.replace("\r\n", "\n").trim_end().to_string();
        let decoded = clixml::decode_errors(&clixml::encode_error(&message));
        prop_assert_eq!(decoded, expected);
    }
    Ok("ok".into())
}

#[test]
fn fuzz_clixml() {
    let corpus = corpus();
    let dict = dictionary();
    let mut fuzz = Fuzz::new(
        "clixml",
        file!(),
        Path::new(DIR).join("tests/fuzz-corpus/clixml"),
        2,
    );
    // Tree overhead, as for envelopes (see fuzz_envelope.rs).
    fuzz.bytes("decode", &corpus, &dict, 128, decode);
    fuzz.values(
        "round-trip",
        (prop::collection::vec((stream(), text()), 0..8), text()),
        16 << 20,
        |(records, message)| round_trip(records, message),
    );
    fuzz.finish();
}

/// Deep nesting is refused by the tree's depth limit; the text comes back.
#[test]
fn deep_nesting_comes_back_raw() {
    let deep = format!("#< CLIXML\r\n<Objs>{}</Objs>", "<Obj>".repeat(100_000));
    assert_eq!(clixml::decode_errors(&deep), deep);
}
