//! The pure half of running PowerShell over WinRS.
//!
//! Client side: a script becomes `powershell.exe -NoProfile -NonInteractive
//! -EncodedCommand <base64 of UTF-16LE>`, which survives any quoting because
//! the script never appears in the command line. The WinRS cmd shell runs
//! commands through `cmd.exe`, whose command line is capped at 8191
//! characters (about 3 KB of script once encoded), so longer scripts go to
//! `powershell.exe -Command -` on stdin instead.
//!
//! Server side: the way back, from a command line to the script it carries.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};
use crate::soap::CommandLine;

/// cmd.exe's command-line limit in characters.
pub const CMD_LINE_LIMIT: usize = 8191;
/// The program we launch.
pub const PROGRAM: &str = "powershell.exe";
/// Switches that keep a remote, non-interactive run predictable: no profile
/// scripts, and prompts fail at once instead of hanging.
pub const BASE_ARGUMENTS: [&str; 2] = ["-NoProfile", "-NonInteractive"];

/// Base64 of the script's UTF-16LE bytes, as `-EncodedCommand` expects.
pub fn encode_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    STANDARD.encode(bytes)
}

/// The script inside an `-EncodedCommand` argument. Invalid UTF-16 (a lone
/// surrogate, an odd trailing byte) becomes U+FFFD rather than an error,
/// because some clients send mangled text and the server should still run
/// what it can, as Windows does.
pub fn decode_encoded_command(encoded: &str) -> Result<String> {
    let bytes = STANDARD
        .decode(encoded.trim())
        .map_err(|source| Error::InvalidBase64 {
            what: "the -EncodedCommand argument",
            source,
        })?;
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| match pair {
            [lo, hi] => u16::from_le_bytes([*lo, *hi]),
            _ => 0xFFFD,
        })
        .collect();
    Ok(String::from_utf16_lossy(&units))
}

/// A planned PowerShell run: the command to start and, for long scripts,
/// what to write to its stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerShellCommand {
    /// The program (`powershell.exe`).
    pub command: String,
    /// Its arguments, one per `rsp:Arguments` element.
    pub arguments: Vec<String>,
    /// Bytes to Send on stdin (with End) when the script did not fit the
    /// command line; None when it travels as `-EncodedCommand`.
    pub stdin: Option<Vec<u8>>,
}

impl PowerShellCommand {
    /// Plans a script against cmd.exe's limit ([`CMD_LINE_LIMIT`]).
    pub fn new(script: &str) -> Self {
        Self::with_limit(script, CMD_LINE_LIMIT)
    }

    /// Plans a script against a given command-line limit, e.g. 32767 when the
    /// shell skips cmd.exe (`WINRS_SKIP_CMD_SHELL`).
    pub fn with_limit(script: &str, limit: usize) -> Self {
        let mut arguments: Vec<String> = BASE_ARGUMENTS.iter().map(|s| s.to_string()).collect();
        arguments.push("-EncodedCommand".to_string());
        arguments.push(encode_command(script));
        let encoded = PowerShellCommand {
            command: PROGRAM.to_string(),
            arguments,
            stdin: None,
        };
        if encoded.line_len() <= limit {
            return encoded;
        }
        let mut arguments: Vec<String> = BASE_ARGUMENTS.iter().map(|s| s.to_string()).collect();
        arguments.push("-Command".to_string());
        arguments.push("-".to_string());
        PowerShellCommand {
            command: PROGRAM.to_string(),
            arguments,
            stdin: Some(stdin_payload(script)),
        }
    }

    /// True when the script goes through stdin.
    pub fn uses_stdin(&self) -> bool {
        self.stdin.is_some()
    }

    /// Length in UTF-16 units of the line the shell assembles (command and
    /// arguments joined by spaces), which is what the limit applies to.
    pub fn line_len(&self) -> usize {
        self.command.encode_utf16().count()
            + self
                .arguments
                .iter()
                .map(|a| 1 + a.encode_utf16().count())
                .sum::<usize>()
    }

    /// The Command request body for this run.
    pub fn command_line(&self) -> CommandLine {
        CommandLine::new(self.command.clone(), self.arguments.clone())
    }
}

const STDIN_PREFIX: &str = "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('";
const STDIN_SUFFIX: &str = "'))";

/// What `powershell.exe -Command -` reads for a long script.
///
/// `-Command -` executes stdin line by line like an interactive prompt: a
/// multi-line statement needs a blank line to end it, and non-ASCII text is
/// read in the console code page. So the script travels as one line of
/// base64 (UTF-8) that is decoded and run as a script block; then the
/// process exits with the script's exit code (1 if it threw, as
/// `-EncodedCommand` would), instead of waiting for more input.
pub fn stdin_payload(script: &str) -> Vec<u8> {
    let encoded = STANDARD.encode(script.as_bytes());
    format!(
        "{STDIN_PREFIX}{encoded}{STDIN_SUFFIX}\r\n\
         try {{ & ([ScriptBlock]::Create($s)) }} catch {{ Write-Error -ErrorRecord $_ -ErrorAction Continue; exit 1 }}\r\n\
         exit $LASTEXITCODE\r\n"
    )
    .into_bytes()
}

/// The script carried by a stdin payload: the original script when it is a
/// [`stdin_payload`], otherwise the text itself (scripts other clients pipe
/// in line by line). Invalid UTF-8 becomes U+FFFD.
pub fn decode_stdin_script(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let first = text.lines().next().unwrap_or_default();
    let inner = first
        .strip_prefix(STDIN_PREFIX)
        .and_then(|rest| rest.strip_suffix(STDIN_SUFFIX))
        .and_then(|b64| STANDARD.decode(b64).ok());
    match inner {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => text.into_owned(),
    }
}

/// Splits a command line into program and arguments the way Windows'
/// C runtime does (the rules `CommandLineToArgvW` documents): the program
/// name ends at whitespace or its closing quote; in arguments, quotes group,
/// `2n` backslashes before a quote are `n` backslashes, `2n+1` escape the
/// quote, and `""` inside quotes is a literal quote.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
        chars.next();
    }
    if chars.peek().is_none() {
        return out;
    }
    let mut program = String::new();
    if chars.peek() == Some(&'"') {
        chars.next();
        for c in chars.by_ref() {
            if c == '"' {
                break;
            }
            program.push(c);
        }
    }
    while let Some(&c) = chars.peek() {
        if c == ' ' || c == '\t' {
            break;
        }
        program.push(c);
        chars.next();
    }
    out.push(program);

    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            match c {
                '\\' => {
                    let mut slashes = 0;
                    while chars.peek() == Some(&'\\') {
                        chars.next();
                        slashes += 1;
                    }
                    if chars.peek() == Some(&'"') {
                        arg.extend(std::iter::repeat_n('\\', slashes / 2));
                        if slashes % 2 == 1 {
                            arg.push('"');
                            chars.next();
                        }
                    } else {
                        arg.extend(std::iter::repeat_n('\\', slashes));
                    }
                }
                '"' => {
                    chars.next();
                    if quoted && chars.peek() == Some(&'"') {
                        arg.push('"');
                        chars.next();
                    } else {
                        quoted = !quoted;
                    }
                }
                ' ' | '\t' if !quoted => break,
                _ => {
                    arg.push(c);
                    chars.next();
                }
            }
        }
        out.push(arg);
    }
    out
}

/// Where a PowerShell invocation takes its script from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSource {
    /// `-EncodedCommand`: the decoded script.
    Encoded(String),
    /// `-Command -`: the script arrives on stdin.
    Stdin,
    /// `-Command <text>` (or bare text): the script is the rest of the line.
    Command(String),
    /// `-File <path> [args]`.
    File {
        /// The script path.
        path: String,
        /// Arguments after the path.
        arguments: Vec<String>,
    },
    /// No script: an interactive session was asked for.
    Interactive,
}

/// A `powershell.exe` command line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerShellInvocation {
    /// The program as written (`powershell`, `powershell.exe`, a full path, `pwsh`).
    pub program: String,
    /// `-NoProfile` was given.
    pub no_profile: bool,
    /// `-NonInteractive` was given.
    pub non_interactive: bool,
    /// `-ExecutionPolicy` value.
    pub execution_policy: Option<String>,
    /// Where the script comes from.
    pub script: ScriptSource,
}

/// True when `name` abbreviates `full` with at least `min` characters;
/// powershell.exe accepts any unambiguous prefix of its parameters.
fn abbreviates(name: &str, full: &str, min: usize) -> bool {
    name.len() >= min && full.starts_with(name)
}

/// Parameters of powershell.exe that take a value we do not need.
const VALUE_PARAMETERS: [(&str, usize); 6] = [
    ("inputformat", 2),
    ("outputformat", 1),
    ("windowstyle", 1),
    ("version", 1),
    ("psconsolefile", 2),
    ("configurationname", 4),
];

/// Understands a WinRS command as a PowerShell invocation. The line is
/// assembled as Windows does (Command and Arguments joined by spaces), so
/// it does not matter whether a client put everything in Command (pywinrm,
/// Go) or split the arguments (winrm-rs).
pub fn parse_invocation(command: &str, arguments: &[String]) -> Result<PowerShellInvocation> {
    let mut line = command.to_string();
    for a in arguments {
        line.push(' ');
        line.push_str(a);
    }
    let tokens = split_command_line(&line);
    let Some(program) = tokens.first() else {
        return Err(Error::NotPowerShell(
            "the command line is empty".to_string(),
        ));
    };
    let base = program
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase();
    if !matches!(
        base.as_str(),
        "powershell" | "powershell.exe" | "pwsh" | "pwsh.exe"
    ) {
        // The program name is the client's and may be any length.
        return Err(Error::NotPowerShell(format!(
            "the command runs {:?}, not powershell.exe",
            crate::error::shorten(program, crate::error::MAX_DETAIL_CHARS)
        )));
    }
    let mut inv = PowerShellInvocation {
        program: program.clone(),
        no_profile: false,
        non_interactive: false,
        execution_policy: None,
        script: ScriptSource::Interactive,
    };
    let mut rest = tokens[1..].iter();
    while let Some(token) = rest.next() {
        let Some(name) = token.strip_prefix(['-', '/']) else {
            // Bare text is an implicit -Command with the rest of the line.
            let mut script = vec![token.clone()];
            script.extend(rest.cloned());
            inv.script = ScriptSource::Command(script.join(" "));
            break;
        };
        let name = name.to_ascii_lowercase();
        let mut value = |what: &'static str| {
            rest.next().cloned().ok_or_else(|| {
                Error::NotPowerShell(format!("powershell.exe {what} is missing its value"))
            })
        };
        if name == "ec" || abbreviates(&name, "encodedcommand", 1) {
            let encoded = value("-EncodedCommand")?;
            inv.script = ScriptSource::Encoded(decode_encoded_command(&encoded)?);
            break;
        } else if abbreviates(&name, "command", 1) {
            let script: Vec<String> = rest.cloned().collect();
            inv.script = if script.len() == 1 && script[0] == "-" {
                ScriptSource::Stdin
            } else {
                ScriptSource::Command(script.join(" "))
            };
            break;
        } else if abbreviates(&name, "file", 1) {
            let path = value("-File")?;
            inv.script = ScriptSource::File {
                path,
                arguments: rest.cloned().collect(),
            };
            break;
        } else if name == "ep" || abbreviates(&name, "executionpolicy", 2) {
            inv.execution_policy = Some(value("-ExecutionPolicy")?);
        } else if abbreviates(&name, "noprofile", 3) {
            inv.no_profile = true;
        } else if abbreviates(&name, "noninteractive", 4) {
            inv.non_interactive = true;
        } else if VALUE_PARAMETERS
            .iter()
            .any(|(full, min)| abbreviates(&name, full, *min))
        {
            value("parameter")?;
        }
        // Other switches (-NoLogo, -Sta, -Mta, -NoExit) change nothing here.
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Script lengths (in UTF-16 units) around the default limit: the fixed
    /// part `powershell.exe -NoProfile -NonInteractive -EncodedCommand ` is
    /// 58 characters, leaving 8133 for base64, i.e. at most 6099 bytes.
    #[test]
    fn default_limit_boundary() {
        let fits = PowerShellCommand::new(&"a".repeat(3049));
        assert_eq!(fits.line_len(), 8190);
        assert!(!fits.uses_stdin());
        let too_long = PowerShellCommand::new(&"a".repeat(3050));
        assert!(too_long.uses_stdin());
        assert_eq!(
            too_long.arguments,
            ["-NoProfile", "-NonInteractive", "-Command", "-"]
        );
    }

    #[test]
    fn exact_limit_goes_each_way() {
        let script = "Get-SCVirtualMachine | ConvertTo-Json -Compress # ü";
        let len = PowerShellCommand::with_limit(script, usize::MAX).line_len();
        assert!(!PowerShellCommand::with_limit(script, len).uses_stdin());
        assert!(PowerShellCommand::with_limit(script, len - 1).uses_stdin());
    }

    #[test]
    fn utf16_round_trip_with_non_bmp() {
        let script = "Write-Output '\u{1F600} é 日本 \u{2018}quoted\u{2019} \u{10FFFF}'";
        let encoded = encode_command(script);
        assert_eq!(decode_encoded_command(&encoded).unwrap(), script);
        // 'A' is 41 00 in UTF-16LE.
        assert_eq!(encode_command("A"), "QQA=");
    }

    #[test]
    fn decode_tolerates_bad_utf16_but_not_bad_base64() {
        let lone = STANDARD.encode([0x3D, 0xD8, 0x41, 0x00, 0x42]);
        assert_eq!(decode_encoded_command(&lone).unwrap(), "\u{FFFD}A\u{FFFD}");
        assert!(matches!(
            decode_encoded_command("not base64!"),
            Err(Error::InvalidBase64 { .. })
        ));
    }

    #[test]
    fn stdin_payload_round_trips_and_exits() {
        let script = "$vm = Get-SCVirtualMachine -Name 'web-01'\nif ($vm) {\n  'found ✓'\n}\n";
        let payload = stdin_payload(script);
        let text = String::from_utf8(payload.clone()).unwrap();
        assert!(
            text.is_ascii(),
            "the payload must not depend on the console code page"
        );
        assert!(text.ends_with("exit $LASTEXITCODE\r\n"));
        assert_eq!(decode_stdin_script(&payload), script);
        assert_eq!(
            decode_stdin_script(b"Get-Date\r\nexit\r\n"),
            "Get-Date\r\nexit\r\n"
        );
    }

    #[test]
    fn splits_like_the_c_runtime() {
        let cases: [(&str, &[&str]); 8] = [
            ("ipconfig /all", &["ipconfig", "/all"]),
            ("  a   b\tc ", &["a", "b", "c"]),
            (
                r#""C:\Program Files\x.exe" "a b" c"#,
                &[r"C:\Program Files\x.exe", "a b", "c"],
            ),
            (r#"p a\\\"b"#, &["p", r#"a\"b"#]),
            (r#"p a\\"b c""#, &["p", r"a\b c"]),
            (r#"p "a""b""#, &["p", r#"a"b"#]),
            (r"p C:\dir\ x", &["p", r"C:\dir\", "x"]),
            ("", &[]),
        ];
        for (line, want) in cases {
            assert_eq!(split_command_line(line), want, "{line:?}");
        }
    }

    #[test]
    fn recognises_each_client_style() {
        let script = "Get-Date";
        let enc = encode_command(script);
        // pywinrm: everything in Command.
        let py = parse_invocation(&format!("powershell -encodedcommand {enc}"), &[]).unwrap();
        assert_eq!(py.script, ScriptSource::Encoded(script.into()));
        // winrm-rs 2.x: full path, split arguments.
        let args: Vec<String> = ["-NoProfile", "-NonInteractive", "-EncodedCommand", &enc]
            .map(String::from)
            .to_vec();
        let rs = parse_invocation(
            r"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe",
            &args,
        )
        .unwrap();
        assert!(rs.no_profile && rs.non_interactive);
        assert_eq!(rs.script, ScriptSource::Encoded(script.into()));
        // Our own stdin plan.
        let plan = PowerShellCommand::with_limit(script, 10);
        let ours = parse_invocation(&plan.command, &plan.arguments).unwrap();
        assert_eq!(ours.script, ScriptSource::Stdin);
        // Abbreviations and other sources.
        let e = parse_invocation(&format!("PowerShell.EXE -ep Bypass -enc {enc}"), &[]).unwrap();
        assert_eq!(e.execution_policy.as_deref(), Some("Bypass"));
        assert_eq!(e.script, ScriptSource::Encoded(script.into()));
        let c = parse_invocation("powershell -c Get-Date -Format o", &[]).unwrap();
        assert_eq!(c.script, ScriptSource::Command("Get-Date -Format o".into()));
        let f = parse_invocation(r#"pwsh -File "C:\s.ps1" x"#, &[]).unwrap();
        assert_eq!(
            f.script,
            ScriptSource::File {
                path: r"C:\s.ps1".into(),
                arguments: vec!["x".into()]
            }
        );
        assert!(matches!(
            parse_invocation("ipconfig /all", &[]),
            Err(Error::NotPowerShell(_))
        ));
        assert!(matches!(
            parse_invocation("powershell -enc", &[]),
            Err(Error::NotPowerShell(_))
        ));
    }
}
