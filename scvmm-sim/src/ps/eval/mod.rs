//! The evaluator: runs parsed PowerShell with Windows PowerShell 5.1's
//! semantics.
//!
//! - [`Session`] keeps variables, functions, `$env:` and files across
//!   [`Session::run`] calls, like the long-lived `powershell -Command -`
//!   process WinRM clients feed line by line; [`run_script`] is the
//!   one-shot form (`-EncodedCommand`).
//! - The embedding application supplies commands and live objects through
//!   [`CommandHost`]; commands receive [`BoundArguments`] and a
//!   [`HostContext`].
//! - Everything a run writes comes back as [`OutputRecord`]s in a
//!   [`RunResult`], which renders stdout and stderr the way
//!   `powershell.exe` does: errors as text for stdin sessions
//!   ([`RunResult::stderr_text`]) or CLIXML for encoded commands
//!   ([`RunResult::stderr_clixml`]).
//! - [`Limits`] bound steps, call depth, output size and collection sizes,
//!   so a hostile script cannot hang or exhaust the emulator; exceeding one
//!   is an uncatchable error naming the limit.
//!
//! Module map: [`value`] (values), `convert` (conversions), `types`
//! (type names), `operators`, `members` (member access and methods),
//! `statics` (`[type]::Member`, constructors), `interp` (statements and
//! expressions), `pipeline` (commands and streaming), `binding`
//! (parameter binding), `builtins` (the generic cmdlets), [`render`]
//! (text output), [`errors`], `scope`, `format` (.NET formatting).
//!
//! # What differs from Windows PowerShell 5.1
//!
//! - Hashtables (`@{}`) enumerate in insertion order; real ones use hash
//!   order. `ConvertTo-Json` of a hashtable therefore lists keys as written.
//! - Objects stream between pipeline stages one input object at a time,
//!   but what one stage invocation writes is passed on when it returns;
//!   host commands receive all their pipeline input in one call.
//! - `Get-Date` returns a plain `DateTime` (no `DisplayHint` note
//!   property), so `Get-Date | ConvertTo-Json` is `"\/Date(ms)\/"` rather
//!   than 5.1's `{"value": ..., "DisplayHint": 2, "DateTime": ...}`; arrays
//!   never carry the `value`/`Count` wrapper 5.1 adds to PSObject-wrapped
//!   arrays.
//! - Stdout formatting is a simplified Out-Default (see [`render`]).
//! - Regular expressions use the `regex` crate: look-around and
//!   back-references are rejected with a clear error.
//! - Integer types are `Int32`, `Int64` and `Byte`; `Decimal` is held as a
//!   double; other widths convert through `Int64`.
//! - Not implemented (a clear error, never silently skipped): classes,
//!   `trap`, workflows, DSC, `$using:`, COM, `Add-Type`, most provider
//!   cmdlets (`Get-ChildItem`, `Get-Item`), remoting sessions; `[ref]`
//!   arguments; `-UFormat`.
//! - `Invoke-Command -ComputerName` runs the block locally: the emulator is
//!   the machine such scripts address.
//! - The environment is a fixed Windows-like one (`SessionOptions`); the
//!   local time zone is UTC.

// `PsError` is large and returned by value: it is the error type of the
// public `CommandHost` contract, and errors are the slow path anyway.
#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

mod binding;
pub(crate) mod builtins;
mod convert;
pub mod errors;
mod format;
mod host;
mod interp;
mod members;
mod operators;
mod pipeline;
pub mod render;
mod scope;
mod statics;
mod types;
pub mod value;

pub use errors::{ActionPreference, ErrorCategory, ErrorPosition, PsError};
pub use host::{
    BoundArguments, CommandHost, CommandSignature, CommonParameters, FileStore, HostContext,
    MemoryFiles, NoCommands, ParameterSpec,
};
pub use render::{DEFAULT_WIDTH, render_clixml, render_error_text};
pub use value::{
    Array, ArrayData, ArrayKind, Credential, DateKind, DateTime, EnumValue, Hashtable,
    HashtableData, HostObject, HostRef, ObjectData, PsObject, ScriptBlockValue, Shared, Str,
    TextEncoding, TimeSpan, TypeValue, Value,
};

use errors::{Flow, Reach};
use interp::{Interp, Out, SessionState};

/// Bounds on what one run may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Statements, loop iterations, pipeline objects and calls one run may
    /// take.
    pub max_steps: u64,
    /// Nested function / script block calls.
    pub max_call_depth: usize,
    /// Bytes a run may write to its streams.
    pub max_output_bytes: usize,
    /// Elements of one array or range, and characters of one string.
    pub max_collection: usize,
    /// Stack size of the thread a run evaluates on. Each nested call takes
    /// some tens of kilobytes (more in debug builds), so the stack, not the
    /// caller's thread, bounds how deep `max_call_depth` may safely go.
    pub stack_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps: 5_000_000,
            max_call_depth: 500,
            max_output_bytes: 64 << 20,
            max_collection: 64 << 20,
            stack_bytes: 64 << 20,
        }
    }
}

/// How a session is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// Execution limits, per run.
    pub limits: Limits,
    /// Console width used to wrap error text (120 for WinRM hosts).
    pub width: usize,
    /// `$env:COMPUTERNAME`.
    pub computer_name: String,
    /// `$env:USERNAME`.
    pub user_name: String,
    /// `$env:USERDOMAIN`.
    pub user_domain: String,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            width: DEFAULT_WIDTH,
            computer_name: "VMM01".into(),
            user_name: "Administrator".into(),
            user_domain: "CONTOSO".into(),
            env: Vec::new(),
        }
    }
}

/// Something a run wrote, in order.
#[derive(Debug, Clone)]
pub enum OutputRecord {
    /// An object on the success stream, with its stdout text.
    Output {
        /// The object.
        value: Value,
        /// How stdout shows it (see [`render`]).
        text: String,
    },
    /// An error record (non-terminating, or the error that stopped the
    /// run).
    Error(PsError),
    /// `Write-Warning` (shown when `$WarningPreference` allows).
    Warning(String),
    /// `Write-Verbose` (shown when `$VerbosePreference` allows).
    Verbose(String),
    /// `Write-Debug`.
    Debug(String),
    /// `Write-Information`.
    Information(String),
    /// `Write-Host` text.
    Host {
        /// The text.
        text: String,
        /// False for `-NoNewline`.
        newline: bool,
    },
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Everything written, in order.
    pub records: Vec<OutputRecord>,
    /// The process exit code this run implies: the `exit` code, 1 after an
    /// error that stopped the script or when the last statement failed,
    /// else 0.
    pub exit_code: i32,
    /// The script called `exit` (a `-Command -` session ends).
    pub exited: bool,
    /// The run hit a [`Limits`] bound.
    pub limit_exceeded: bool,
    width: usize,
}

impl RunResult {
    /// The objects written to the success stream.
    #[must_use]
    pub fn output(&self) -> Vec<Value> {
        self.records
            .iter()
            .filter_map(|r| match r {
                OutputRecord::Output { value, .. } => Some(value.clone()),
                _ => None,
            })
            .collect()
    }

    /// The error records written.
    pub fn errors(&self) -> impl Iterator<Item = &PsError> {
        self.records.iter().filter_map(|r| match r {
            OutputRecord::Error(e) => Some(e),
            _ => None,
        })
    }

    /// Stdout of a `-Command -` session: success objects and `Write-Host`
    /// text, plus `WARNING:`/`VERBOSE:`/`DEBUG:` lines, each ending in CR LF.
    #[must_use]
    pub fn stdout_text(&self) -> String {
        self.stdout(true)
    }

    /// Stdout of an `-EncodedCommand` run: success objects and
    /// `Write-Host` text (the other streams go to CLIXML stderr).
    #[must_use]
    pub fn stdout_plain(&self) -> String {
        self.stdout(false)
    }

    fn stdout(&self, with_streams: bool) -> String {
        let mut out = String::new();
        for r in &self.records {
            match r {
                OutputRecord::Output { value, text } if !value.is_null() => {
                    out.push_str(text);
                    out.push_str("\r\n");
                }
                OutputRecord::Host { text, newline } => {
                    out.push_str(text);
                    if *newline {
                        out.push_str("\r\n");
                    }
                }
                OutputRecord::Warning(t) if with_streams => {
                    out.push_str(&format!("WARNING: {t}\r\n"))
                }
                OutputRecord::Verbose(t) if with_streams => {
                    out.push_str(&format!("VERBOSE: {t}\r\n"))
                }
                OutputRecord::Debug(t) if with_streams => out.push_str(&format!("DEBUG: {t}\r\n")),
                OutputRecord::Information(t) if with_streams => {
                    out.push_str(t);
                    out.push_str("\r\n");
                }
                _ => {}
            }
        }
        out
    }

    /// Stderr of a `-Command -` session: every error record as PowerShell
    /// 5.1's console text.
    #[must_use]
    pub fn stderr_text(&self) -> String {
        self.errors()
            .map(|e| render_error_text(e, self.width))
            .collect()
    }

    /// Stderr of an `-EncodedCommand` run: `#< CLIXML` and the error,
    /// warning, verbose, debug and information records; empty when there
    /// are none.
    #[must_use]
    pub fn stderr_clixml(&self) -> String {
        render_clixml(&self.records, self.width)
    }

    /// Stdout and stderr as `powershell.exe` writes them: for an
    /// `-EncodedCommand` run (`clixml`), [`RunResult::stdout_plain`] and
    /// [`RunResult::stderr_clixml`]; for a `-Command -` session,
    /// [`RunResult::stdout_text`] and [`RunResult::stderr_text`].
    #[must_use]
    pub fn streams(&self, clixml: bool) -> (String, String) {
        if clixml {
            (self.stdout_plain(), self.stderr_clixml())
        } else {
            (self.stdout_text(), self.stderr_text())
        }
    }
}

/// A PowerShell session: variables, functions, `$env:`, the current
/// location and an in-memory file store, kept across runs.
#[derive(Debug)]
pub struct Session {
    state: SessionState,
    options: SessionOptions,
}

impl Default for Session {
    fn default() -> Self {
        Self::new(SessionOptions::default())
    }
}

/// `System.Version` as an object (`$PSVersionTable.PSVersion`).
pub(crate) fn version_value(major: i32, minor: i32, build: i32, revision: i32) -> Value {
    Value::Object(Shared::new(ObjectData::typed(
        "System.Version",
        vec![
            ("Major".into(), Value::Int(major)),
            ("Minor".into(), Value::Int(minor)),
            ("Build".into(), Value::Int(build)),
            ("Revision".into(), Value::Int(revision)),
        ],
        Some(format!("{major}.{minor}.{build}.{revision}")),
    )))
}

/// A parse error as the error record PowerShell reports.
pub(crate) fn parse_error(e: &crate::ps::ParseError) -> PsError {
    use crate::ps::ParseErrorKind;
    let id = match e.kind {
        ParseErrorKind::Unterminated => "TerminatorExpectedAtEndOfString",
        ParseErrorKind::MissingClose => "MissingEndCurlyBrace",
        ParseErrorKind::Unexpected | ParseErrorKind::UnknownOperator => "UnexpectedToken",
        ParseErrorKind::InvalidLiteral => "BadNumericConstant",
        ParseErrorKind::Unsupported => "NotSupportedByEmulator",
        ParseErrorKind::TooDeep => "ScriptBlockTooDeeplyNested",
    };
    let mut err = PsError::new(e.message.clone(), id)
        .with_category(ErrorCategory::ParserError)
        .with_exception("System.Management.Automation.ParentContainsErrorRecordException");
    err.position = Some(ErrorPosition {
        line: e.line,
        column: e.column,
        line_text: e.source_line.clone(),
        length: 1,
    });
    err
}

fn preference(name: &str, p: ActionPreference) -> (String, Value) {
    (
        name.to_owned(),
        Value::enumeration(
            "System.Management.Automation.ActionPreference",
            p.name(),
            p.number(),
        ),
    )
}

impl Session {
    /// A new session with PowerShell's automatic variables and a Windows
    /// environment.
    #[must_use]
    pub fn new(options: SessionOptions) -> Self {
        let mut scopes = scope::Scopes::default();
        let psversion = Value::hashtable_from(
            false,
            vec![
                ("PSVersion", version_value(5, 1, 17763, 1)),
                ("PSEdition", Value::str("Desktop")),
                ("BuildVersion", version_value(10, 0, 17763, 1)),
                ("CLRVersion", version_value(4, 0, 30319, 42000)),
                ("WSManStackVersion", version_value(3, 0, -1, -1)),
                ("PSRemotingProtocolVersion", version_value(2, 3, -1, -1)),
                ("SerializationVersion", version_value(1, 1, 0, 1)),
            ],
        );
        let home = format!("C:\\Users\\{}", options.user_name);
        let globals: Vec<(String, Value)> = vec![
            preference("ErrorActionPreference", ActionPreference::Continue),
            preference("WarningPreference", ActionPreference::Continue),
            preference("VerbosePreference", ActionPreference::SilentlyContinue),
            preference("DebugPreference", ActionPreference::SilentlyContinue),
            preference("InformationPreference", ActionPreference::SilentlyContinue),
            preference("ProgressPreference", ActionPreference::Continue),
            ("ConfirmPreference".into(), Value::str("High")),
            ("WhatIfPreference".into(), Value::Bool(false)),
            ("PSVersionTable".into(), psversion),
            ("Host".into(), builtins::misc::host_object()),
            ("PID".into(), Value::Int(4242)),
            ("HOME".into(), Value::from(home.as_str())),
            (
                "PSHOME".into(),
                Value::str("C:\\Windows\\System32\\WindowsPowerShell\\v1.0"),
            ),
            ("PSCulture".into(), Value::str("en-US")),
            ("PSUICulture".into(), Value::str("en-US")),
            ("ShellId".into(), Value::str("Microsoft.PowerShell")),
            ("PSScriptRoot".into(), Value::str("")),
            ("PSCommandPath".into(), Value::str("")),
            ("FormatEnumerationLimit".into(), Value::Int(4)),
            ("MaximumErrorCount".into(), Value::Int(256)),
            (
                "Error".into(),
                Value::Array(Shared::new(ArrayData {
                    items: Vec::new(),
                    kind: ArrayKind::ArrayList,
                })),
            ),
        ];
        for (name, value) in globals {
            scopes.set_global(&name, value);
        }
        let mut env = std::collections::BTreeMap::new();
        let mut set_env = |k: &str, v: &str| {
            env.insert(k.to_lowercase(), (k.to_owned(), v.to_owned()));
        };
        set_env("COMPUTERNAME", &options.computer_name);
        set_env("USERNAME", &options.user_name);
        set_env("USERDOMAIN", &options.user_domain);
        set_env("USERPROFILE", &home);
        set_env("HOMEDRIVE", "C:");
        set_env("HOMEPATH", &home[2..]);
        set_env("TEMP", &format!("{home}\\AppData\\Local\\Temp"));
        set_env("TMP", &format!("{home}\\AppData\\Local\\Temp"));
        set_env("SystemRoot", "C:\\Windows");
        set_env("windir", "C:\\Windows");
        set_env("SystemDrive", "C:");
        set_env("ProgramFiles", "C:\\Program Files");
        set_env("OS", "Windows_NT");
        set_env("PROCESSOR_ARCHITECTURE", "AMD64");
        set_env("NUMBER_OF_PROCESSORS", "4");
        set_env(
            "PSModulePath",
            "C:\\Program Files\\WindowsPowerShell\\Modules;C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules;C:\\Program Files\\Microsoft System Center\\Virtual Machine Manager\\bin\\psModules",
        );
        set_env(
            "PATH",
            "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\",
        );
        for (k, v) in &options.env {
            set_env(k, v);
        }
        Self {
            state: SessionState {
                scopes,
                env,
                files: MemoryFiles::new(),
                cwd: home,
                modules: Vec::new(),
                width: options.width,
                regex_cache: std::collections::HashMap::new(),
            },
            options,
        }
    }

    /// Runs `script` at the top level of the session with `host`
    /// supplying commands. Always returns: parse errors, unhandled errors
    /// and exceeded limits are error records.
    ///
    /// The script is evaluated on a helper thread with
    /// [`Limits::stack_bytes`] of stack, so deep (but allowed) recursion
    /// never overflows the caller's stack; the call blocks until it ends.
    pub fn run(&mut self, script: &str, host: &mut dyn CommandHost) -> RunResult {
        let stack = self.options.limits.stack_bytes;
        let width = self.options.width;
        let attempt = std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("ps-eval".into())
                .stack_size(stack)
                .spawn_scoped(scope, || self.run_here(script, host));
            match worker {
                Ok(handle) => Some(handle.join().unwrap_or_else(|_| internal_failure(width))),
                Err(_) => None,
            }
        });
        match attempt {
            Some(result) => result,
            // No thread could be started: run on the caller's stack.
            None => self.run_here(script, host),
        }
    }

    /// [`Session::run`] on the current thread.
    fn run_here(&mut self, script: &str, host: &mut dyn CommandHost) -> RunResult {
        let width = self.options.width;
        let block = match crate::ps::parse(script) {
            Ok(block) => block,
            Err(e) => {
                let err = parse_error(&e);
                return RunResult {
                    records: vec![OutputRecord::Error(err)],
                    exit_code: 1,
                    exited: false,
                    limit_exceeded: false,
                    width,
                };
            }
        };
        let source: Str = script.into();
        let depth = self.state.scopes.depth();
        let mut it = Interp::new(host, &mut self.state, source.clone(), self.options.limits);
        let result = run_top(&mut it, &block);
        let last_ok = it.last_ok;
        let mut records = std::mem::take(&mut it.records);
        let (exit_code, exited, limit_exceeded) = match result {
            Ok(()) | Err(Flow::Return | Flow::Break(_) | Flow::Continue(_)) => {
                (i32::from(!last_ok), false, false)
            }
            Err(Flow::Exit(code)) => {
                it.st.scopes.set_global("LASTEXITCODE", Value::Int(code));
                (code, true, false)
            }
            Err(Flow::Error(e, _)) => {
                it.add_to_error_list(&e);
                records.push(OutputRecord::Error(*e));
                (1, false, false)
            }
            Err(Flow::Abort(e)) => {
                records.push(OutputRecord::Error(*e));
                (1, false, true)
            }
        };
        drop(it);
        // An aborted run may leave function scopes behind.
        self.state.scopes.truncate(depth);
        RunResult {
            records,
            exit_code,
            exited,
            limit_exceeded,
            width,
        }
    }

    /// A variable of the global scope.
    #[must_use]
    pub fn variable(&self, name: &str) -> Option<Value> {
        self.state.scopes.get_global(name)
    }

    /// Sets a variable in the global scope.
    pub fn set_variable(&mut self, name: &str, value: Value) {
        self.state.scopes.set_global(name, value);
    }

    /// An environment variable.
    #[must_use]
    pub fn env(&self, name: &str) -> Option<&str> {
        self.state
            .env
            .get(&name.to_lowercase())
            .map(|(_, v)| v.as_str())
    }

    /// Sets an environment variable.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.state
            .env
            .insert(name.to_lowercase(), (name.to_owned(), value.to_owned()));
    }

    /// The session's own file store (used when the host has none).
    #[must_use]
    pub fn files(&self) -> &MemoryFiles {
        &self.state.files
    }

    /// The session's own file store, to seed or inspect files.
    pub fn files_mut(&mut self) -> &mut MemoryFiles {
        &mut self.state.files
    }

    /// The options the session was made with.
    #[must_use]
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }
}

/// The result of a run whose evaluation panicked (a bug in the emulator):
/// reported as an error instead of taking the server down.
fn internal_failure(width: usize) -> RunResult {
    RunResult {
        records: vec![OutputRecord::Error(
            PsError::new(
                "scvmm-sim: internal error in the PowerShell evaluator (see the emulator's log)",
                "InternalError",
            )
            .with_category(ErrorCategory::NotSpecified),
        )],
        exit_code: 1,
        exited: false,
        limit_exceeded: false,
        width,
    }
}

/// Runs a parsed top-level script: its `param` block gets its defaults,
/// named blocks run begin, process (once), end.
fn run_top(it: &mut Interp<'_>, block: &crate::ps::ast::ScriptBlock) -> Result<(), Flow> {
    let mut out = Out::top();
    if block.param_block.is_some() {
        let params = it.param_infos(block)?;
        for p in params {
            let v = match &p.default {
                Some(d) => it.eval_expr(d)?,
                None if p.switch => Value::Bool(false),
                None => Value::Null,
            };
            it.st.scopes.set_global(&p.name, v);
        }
    }
    let run =
        |it: &mut Interp<'_>, statements: &[crate::ps::ast::Statement], out: &mut Out| match it
            .exec_block(statements, out)
        {
            Err(Flow::Error(e, Reach::Statement)) => Err(Flow::Error(e, Reach::Statement)),
            other => other,
        };
    match &block.body {
        crate::ps::ast::ScriptBody::Statements(s) => run(it, s, &mut out),
        crate::ps::ast::ScriptBody::Named(n) => {
            for part in [&n.begin, &n.process, &n.end].into_iter().flatten() {
                run(it, part, &mut out)?;
            }
            Ok(())
        }
    }
}

/// Runs one script in a fresh session (what `powershell -EncodedCommand`
/// does).
pub fn run_script(script: &str, host: &mut dyn CommandHost, options: SessionOptions) -> RunResult {
    Session::new(options).run(script, host)
}

/// Whether `script` is incomplete (an unterminated string or block) and a
/// `-Command -` reader should wait for more lines before running it.
#[must_use]
pub fn needs_more_input(script: &str) -> bool {
    matches!(
        crate::ps::parse(script),
        Err(e) if matches!(e.kind, crate::ps::ParseErrorKind::Unterminated | crate::ps::ParseErrorKind::MissingClose)
    )
}

// The session crosses threads in the WinRM server.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Session>();
};
