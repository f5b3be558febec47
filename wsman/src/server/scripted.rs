//! A command backend with a tiny, predictable command language, for protocol
//! tests of both halves and for conformance runs with other people's
//! clients. It is not a shell: each command line (or each line of a
//! PowerShell script, however it arrived) is one of:
//!
//! | line | effect |
//! |---|---|
//! | `echo TEXT` | TEXT and CRLF on stdout |
//! | `warn TEXT` | TEXT and CRLF on stderr |
//! | `exit N` | stop with exit code N |
//! | `big N` | N bytes of `x` on stdout, in 64 KiB pieces |
//! | `trickle TEXT` | TEXT on stdout one byte per message (splits UTF-8) |
//! | `sleep MS` | wait MS milliseconds |
//! | `cat` | copy stdin to stdout until stdin ends |
//! | `hang` | wait until cancelled |
//!
//! Statements are separated by newlines or `;`; `$variable = …`
//! assignments are skipped. Unknown lines write an error to stderr and exit 1; a PowerShell
//! invocation reports errors as CLIXML on stderr, as Windows does.

use super::backend::{CommandBackend, CommandIo, CommandSpec, Output};
use crate::clixml;
use crate::powershell::{ScriptSource, decode_stdin_script, parse_invocation};
use std::time::Duration;

/// The scripted backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScriptedBackend;

impl CommandBackend for ScriptedBackend {
    fn start(&self, spec: CommandSpec, io: CommandIo) {
        tokio::spawn(run(spec, io));
    }
}

async fn run(spec: CommandSpec, mut io: CommandIo) {
    let mut cancelled = io.cancelled.clone();
    let work = async {
        let invocation = parse_invocation(&spec.command, &spec.arguments).ok();
        let (script, powershell) = match invocation.map(|i| i.script) {
            Some(ScriptSource::Encoded(s)) | Some(ScriptSource::Command(s)) => (s, true),
            Some(ScriptSource::Stdin) => {
                let mut payload = Vec::new();
                while let Some(chunk) = io.stdin.recv().await {
                    payload.extend_from_slice(&chunk.data);
                    if chunk.end {
                        break;
                    }
                }
                (decode_stdin_script(&payload), true)
            }
            _ => (spec.command_line(), false),
        };
        let code = interpret(&script, powershell, &mut io).await;
        let _ = io.output.send(Output::Exit(code)).await;
    };
    tokio::select! {
        _ = work => {}
        _ = cancelled.wait_for(|c| *c) => {}
    }
}

async fn interpret(script: &str, powershell: bool, io: &mut CommandIo) -> i64 {
    // Clients prepend their own statements (Go sets $ProgressPreference), so
    // `;` separates statements too, and variable assignments are ignored.
    let statements = script
        .lines()
        .flat_map(|l| l.split(';'))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('$'));
    for line in statements {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let out = &io.output;
        match word {
            "echo" => {
                let _ = out
                    .send(Output::Stdout(format!("{rest}\r\n").into_bytes()))
                    .await;
            }
            "warn" => {
                let bytes = if powershell {
                    clixml::encode_error(rest).into_bytes()
                } else {
                    format!("{rest}\r\n").into_bytes()
                };
                let _ = out.send(Output::Stderr(bytes)).await;
            }
            "exit" => return rest.trim().parse().unwrap_or(1),
            "big" => {
                let mut left: usize = rest.trim().parse().unwrap_or(0);
                while left > 0 {
                    let n = left.min(64 * 1024);
                    if out.send(Output::Stdout(vec![b'x'; n])).await.is_err() {
                        return 1;
                    }
                    left -= n;
                }
            }
            "trickle" => {
                for b in rest.as_bytes() {
                    let _ = out.send(Output::Stdout(vec![*b])).await;
                }
            }
            "sleep" => {
                let ms: u64 = rest.trim().parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            "cat" => {
                while let Some(chunk) = io.stdin.recv().await {
                    if !chunk.data.is_empty() {
                        let _ = io.output.send(Output::Stdout(chunk.data)).await;
                    }
                    if chunk.end {
                        break;
                    }
                }
            }
            "hang" => std::future::pending::<()>().await,
            _ => {
                let msg =
                    format!("'{word}' is not recognized as a command in the scripted backend");
                let bytes = if powershell {
                    clixml::encode_error(&msg).into_bytes()
                } else {
                    format!("{msg}\r\n").into_bytes()
                };
                let _ = out.send(Output::Stderr(bytes)).await;
                return 1;
            }
        }
    }
    0
}
