//! Reassembling command output from many Receive responses.
//!
//! Each `rsp:Stream` carries arbitrary slices of the process's raw bytes, so
//! a UTF-8 character (or the CLIXML marker and its document) can be split
//! between chunks and between responses. Bytes are therefore joined first and
//! decoded once; [`Utf8Decoder`] does the same incrementally for callers that
//! want text as it arrives.

use crate::clixml;
use crate::error::{Error, Result};
use crate::soap::{ReceiveResponse, StreamChunk};

/// Default cap on stdout plus stderr: far above any JSON an SCVMM script
/// prints, low enough that a runaway command cannot exhaust memory.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

/// Collects one command's stdout and stderr across Receive responses.
#[derive(Debug, Clone)]
pub struct OutputCollector {
    command_id: Option<String>,
    limit: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit_code: Option<i64>,
    done: bool,
}

impl OutputCollector {
    /// A collector that accepts chunks of any command, capped at `limit` bytes.
    pub fn new(limit: usize) -> Self {
        OutputCollector {
            command_id: None,
            limit,
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit_code: None,
            done: false,
        }
    }

    /// A collector that ignores chunks tagged with another CommandId.
    pub fn for_command(command_id: impl Into<String>, limit: usize) -> Self {
        OutputCollector {
            command_id: Some(command_id.into()),
            ..Self::new(limit)
        }
    }

    /// Adds one chunk. Streams other than stdout/stderr are ignored.
    /// Fails with [`Error::OutputTooLarge`] once the cap would be passed; the
    /// caller should then terminate the command and delete the shell.
    pub fn push_chunk(&mut self, chunk: &StreamChunk) -> Result<()> {
        if let (Some(want), Some(got)) = (&self.command_id, &chunk.command_id)
            && !want.eq_ignore_ascii_case(got)
        {
            return Ok(());
        }
        if chunk.name != "stdout" && chunk.name != "stderr" {
            return Ok(());
        }
        if self.len().saturating_add(chunk.data.len()) > self.limit {
            return Err(Error::OutputTooLarge { limit: self.limit });
        }
        let target = if chunk.name == "stdout" {
            &mut self.stdout
        } else {
            &mut self.stderr
        };
        target.extend_from_slice(&chunk.data);
        Ok(())
    }

    /// Adds every chunk of a response and records the command state.
    /// Returns true once the command is done.
    pub fn push_response(&mut self, response: &ReceiveResponse) -> Result<bool> {
        for chunk in &response.streams {
            self.push_chunk(chunk)?;
        }
        if response.is_done() {
            self.done = true;
            self.exit_code = response.exit_code();
        }
        Ok(self.done)
    }

    /// True once a response reported the command Done.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Bytes collected so far (stdout plus stderr).
    pub fn len(&self) -> usize {
        self.stdout.len() + self.stderr.len()
    }

    /// True when nothing has been collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes what was collected.
    pub fn finish(self) -> CommandOutput {
        let stderr_raw = decode_utf8(&self.stderr);
        CommandOutput {
            stdout: decode_utf8(&self.stdout),
            stderr: clixml::decode_errors(&stderr_raw),
            stderr_raw,
            exit_code: self.exit_code,
        }
    }
}

/// A finished command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// stdout as text (UTF-8; a BOM is dropped; invalid bytes become U+FFFD).
    pub stdout: String,
    /// stderr as readable text: CLIXML error records decoded, else as sent.
    pub stderr: String,
    /// stderr exactly as sent (CLIXML undecoded).
    pub stderr_raw: String,
    /// The exit code, if the command reported Done with one.
    pub exit_code: Option<i64>,
}

fn decode_utf8(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Incremental UTF-8 decoding that holds back an incomplete trailing
/// sequence until the next chunk completes it.
#[derive(Debug, Clone, Default)]
pub struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// A decoder with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes as much as is complete; invalid sequences become U+FFFD.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(valid) => {
                    out.push_str(valid);
                    start = self.pending.len();
                    break;
                }
                Err(e) => {
                    let valid_end = start + e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[start..valid_end]));
                    match e.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            start = valid_end + bad;
                        }
                        // An incomplete sequence at the end: wait for more.
                        None => {
                            start = valid_end;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
        out
    }

    /// Flushes whatever is pending (an incomplete sequence becomes U+FFFD).
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::{CommandState, CommandStatus};

    fn chunk(name: &str, data: &[u8]) -> StreamChunk {
        StreamChunk {
            name: name.to_string(),
            command_id: Some("C1".to_string()),
            data: data.to_vec(),
            end: false,
        }
    }

    #[test]
    fn multibyte_char_split_across_responses() {
        let text = "こんにちは ✓ \u{1F600}\r\n";
        let bytes = text.as_bytes();
        let mut c = OutputCollector::for_command("C1", 1024);
        // Split inside the 3-byte "こ" and inside the 4-byte emoji.
        let cuts = [1, 8, bytes.len() - 4, bytes.len() - 3];
        let mut last = 0;
        for cut in cuts {
            let resp = ReceiveResponse {
                streams: vec![chunk("stdout", &bytes[last..cut])],
                ..Default::default()
            };
            assert!(!c.push_response(&resp).unwrap());
            last = cut;
        }
        let done = ReceiveResponse {
            streams: vec![
                chunk("stdout", &bytes[last..]),
                StreamChunk {
                    end: true,
                    ..chunk("stdout", b"")
                },
            ],
            state: Some(CommandState {
                command_id: Some("C1".into()),
                status: CommandStatus::Done,
                exit_code: Some(0),
            }),
            sequence_id: None,
        };
        assert!(c.push_response(&done).unwrap());
        let out = c.finish();
        assert_eq!(out.stdout, text);
        assert_eq!(out.exit_code, Some(0));
    }

    #[test]
    fn incremental_decoder_holds_back_partial_sequences() {
        let bytes = "é\u{1F600}".as_bytes();
        let mut d = Utf8Decoder::new();
        assert_eq!(d.push(&bytes[..1]), "");
        assert_eq!(d.push(&bytes[1..3]), "é");
        assert_eq!(d.push(&bytes[3..5]), "");
        assert_eq!(d.push(&bytes[5..]), "\u{1F600}");
        assert_eq!(d.push(b"a\xFFb"), "a\u{FFFD}b");
        assert_eq!(d.push(b"\xE3\x81"), "");
        assert_eq!(d.finish(), "\u{FFFD}");
    }

    #[test]
    fn cap_exceeded_errors_clearly() {
        let mut c = OutputCollector::new(10);
        c.push_chunk(&chunk("stdout", b"12345")).unwrap();
        c.push_chunk(&chunk("stderr", b"12345")).unwrap();
        let err = c.push_chunk(&chunk("stdout", b"x")).unwrap_err();
        assert!(matches!(err, Error::OutputTooLarge { limit: 10 }));
        assert!(err.to_string().contains("more than 10 bytes"), "{err}");
        assert_eq!(c.len(), 10);
    }

    #[test]
    fn ignores_other_commands_and_streams_and_decodes_clixml() {
        let mut c = OutputCollector::for_command("C1", 1024);
        c.push_chunk(&StreamChunk {
            command_id: Some("OTHER".into()),
            ..chunk("stdout", b"nope")
        })
        .unwrap();
        c.push_chunk(&chunk("pr", b"nope")).unwrap();
        c.push_chunk(&chunk("stdout", b"\xEF\xBB\xBF{}")).unwrap();
        let clixml = crate::clixml::encode_error("boom");
        let (marker, doc) = clixml.split_at(11);
        c.push_chunk(&chunk("stderr", marker.as_bytes())).unwrap();
        c.push_chunk(&chunk("stderr", doc.as_bytes())).unwrap();
        let out = c.finish();
        assert_eq!(out.stdout, "{}");
        assert_eq!(out.stderr, "boom");
        assert!(out.stderr_raw.starts_with("#< CLIXML"));
        assert_eq!(out.exit_code, None);
    }
}
