//! The boundary between the evaluator and the application embedding it.
//!
//! The evaluator implements the PowerShell language and the generic
//! cmdlets; everything else — the VMM cmdlets above all — comes from a
//! [`CommandHost`]. A host:
//!
//! - runs commands ([`CommandHost::invoke`]) with arguments already bound
//!   ([`BoundArguments`]): named values, switches, positional values left
//!   over, and the common parameters (`-ErrorAction`, `-ErrorVariable`, ...)
//!   separated out;
//! - optionally declares each command's parameters
//!   ([`CommandHost::signature`]) so `-Force $vm` binds `$vm` positionally
//!   when `-Force` is a switch, exactly as PowerShell's binder does;
//! - describes its live objects on demand ([`CommandHost::resolve`]), so
//!   `$vm.Status` reads the current state;
//! - provides time, sleeping and (optionally) the file system.
//!
//! During a call the host sees a [`HostContext`]: it sets variables there
//! (`-JobVariable job` → `$job`) and writes non-terminating errors,
//! warnings and verbose text, which then follow the caller's
//! `-ErrorAction`/preference variables like any cmdlet's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::errors::{ActionPreference, PsError};
use super::scope::Scopes;
use super::value::{HostObject, HostRef, Value};

/// The common parameters every cmdlet accepts, taken out of the argument
/// list by the binder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonParameters {
    /// `-ErrorAction` / `-ea`.
    pub error_action: Option<ActionPreference>,
    /// `-WarningAction` / `-wa`.
    pub warning_action: Option<ActionPreference>,
    /// `-InformationAction` / `-infa`.
    pub information_action: Option<ActionPreference>,
    /// `-ErrorVariable` / `-ev` (a leading `+` appends, as in PowerShell).
    pub error_variable: Option<String>,
    /// `-WarningVariable` / `-wv`.
    pub warning_variable: Option<String>,
    /// `-OutVariable` / `-ov`.
    pub out_variable: Option<String>,
    /// `-Verbose` / `-vb`.
    pub verbose: Option<bool>,
    /// `-Debug` / `-db`.
    pub debug: Option<bool>,
    /// `-WhatIf` / `-wi`.
    pub what_if: Option<bool>,
    /// `-Confirm` / `-cf`.
    pub confirm: Option<bool>,
}

/// A command's arguments after parameter binding.
///
/// Names are the declared parameter names when the command has a
/// [`CommandSignature`] (so `-vm` arrives as `VM`), and as written
/// otherwise. Switch parameters are `Value::Bool` (`-Force` is `true`,
/// `-Force:$false` is `false`). Lookups are case-insensitive.
#[derive(Debug, Clone, Default)]
pub struct BoundArguments {
    named: Vec<(String, Value)>,
    positional: Vec<Value>,
    /// The common parameters.
    pub common: CommonParameters,
}

impl BoundArguments {
    /// No arguments.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a named argument (builder style, for tests and hosts that call
    /// each other).
    #[must_use]
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.set(name, value);
        self
    }

    /// Adds a positional argument (builder style).
    #[must_use]
    pub fn with_positional(mut self, value: Value) -> Self {
        self.positional.push(value);
        self
    }

    /// Sets a named argument, replacing an earlier one of the same name.
    pub fn set(&mut self, name: &str, value: Value) {
        match self
            .named
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.named.push((name.to_owned(), value)),
        }
    }

    pub(crate) fn push_positional(&mut self, value: Value) {
        self.positional.push(value);
    }

    /// The value of named parameter `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.named
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether `name` was given.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether switch `name` was given and not turned off (`-X:$false`).
    #[must_use]
    pub fn switch(&self, name: &str) -> bool {
        self.get(name).is_some_and(super::convert::to_bool)
    }

    /// Named arguments in the order given.
    #[must_use]
    pub fn named(&self) -> &[(String, Value)] {
        &self.named
    }

    /// Positional arguments no declared parameter took, in order.
    #[must_use]
    pub fn positional(&self) -> &[Value] {
        &self.positional
    }
}

/// One parameter of a [`CommandSignature`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSpec {
    /// The parameter name (`VM`).
    pub name: String,
    /// Other names (`Id` for `ID`, `Name` for `ComputerName`).
    pub aliases: Vec<String>,
    /// A switch: takes no value unless written `-X:value`.
    pub switch: bool,
    /// The positional slot, if the parameter can be given by position.
    pub position: Option<usize>,
}

/// The parameters of a command, for the binder.
///
/// With `strict`, unknown parameter names and left-over positional values
/// are binding errors, as for a real cmdlet. Without it (what
/// [`CommandSignature::lenient`] gives), unknown `-Name value` pairs are
/// passed through as written: a `-Name` followed by a value takes it, a
/// `-Name` followed by another parameter or nothing is a switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandSignature {
    /// Declared parameters.
    pub parameters: Vec<ParameterSpec>,
    /// Reject what is not declared.
    pub strict: bool,
    /// The parameter that collects positional values left over after the
    /// positional parameters are filled (`ValueFromRemainingArguments`).
    pub remaining: Option<String>,
}

impl CommandSignature {
    /// A strict signature with no parameters yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            parameters: Vec::new(),
            strict: true,
            remaining: None,
        }
    }

    /// A signature that binds whatever it is given.
    #[must_use]
    pub fn lenient() -> Self {
        Self {
            parameters: Vec::new(),
            strict: false,
            remaining: None,
        }
    }

    /// Makes the most recently added parameter collect left-over
    /// positional values.
    #[must_use]
    pub fn remaining(mut self) -> Self {
        self.remaining = self.parameters.last().map(|p| p.name.clone());
        self
    }

    /// Adds a named value parameter.
    #[must_use]
    pub fn param(mut self, name: &str) -> Self {
        self.parameters.push(ParameterSpec {
            name: name.to_owned(),
            aliases: Vec::new(),
            switch: false,
            position: None,
        });
        self
    }

    /// Adds a value parameter that can also be given at `position`.
    #[must_use]
    pub fn positional(mut self, name: &str, position: usize) -> Self {
        self.parameters.push(ParameterSpec {
            name: name.to_owned(),
            aliases: Vec::new(),
            switch: false,
            position: Some(position),
        });
        self
    }

    /// Adds a switch parameter.
    #[must_use]
    pub fn switch(mut self, name: &str) -> Self {
        self.parameters.push(ParameterSpec {
            name: name.to_owned(),
            aliases: Vec::new(),
            switch: true,
            position: None,
        });
        self
    }

    /// Adds an alias to the most recently added parameter.
    #[must_use]
    pub fn alias(mut self, alias: &str) -> Self {
        if let Some(last) = self.parameters.last_mut() {
            last.aliases.push(alias.to_owned());
        }
        self
    }
}

/// A record written by a command to one of PowerShell's streams other
/// than the success stream.
#[derive(Debug, Clone)]
pub(crate) enum SideRecord {
    Error(Box<PsError>),
    Warning(String),
    Verbose(String),
    Debug(String),
    Information(String),
    Host(String),
}

/// What a host command can do to the session while it runs.
pub struct HostContext<'a> {
    pub(crate) scopes: &'a mut Scopes,
    pub(crate) side: Vec<SideRecord>,
    pub(crate) error_action: ActionPreference,
    pub(crate) invocation_name: String,
}

impl HostContext<'_> {
    /// Sets a variable in the caller's scope (what `-JobVariable job`
    /// does for `$job`).
    pub fn set_variable(&mut self, name: &str, value: Value) {
        self.scopes.set_local(name, value);
    }

    /// A variable visible to the caller.
    #[must_use]
    pub fn variable(&self, name: &str) -> Option<Value> {
        self.scopes.get(name)
    }

    /// Writes a non-terminating error. After the command returns it is
    /// handled per the caller's `-ErrorAction` / `$ErrorActionPreference`
    /// (reported, silenced, or turned into a terminating error). The
    /// command name is filled in if missing.
    pub fn write_error(&mut self, error: PsError) {
        self.side.push(SideRecord::Error(Box::new(error)));
    }

    /// `WriteWarning` (shown as `WARNING: text` unless silenced).
    pub fn write_warning(&mut self, text: impl Into<String>) {
        self.side.push(SideRecord::Warning(text.into()));
    }

    /// `WriteVerbose`.
    pub fn write_verbose(&mut self, text: impl Into<String>) {
        self.side.push(SideRecord::Verbose(text.into()));
    }

    /// `WriteDebug`.
    pub fn write_debug(&mut self, text: impl Into<String>) {
        self.side.push(SideRecord::Debug(text.into()));
    }

    /// `WriteInformation`.
    pub fn write_information(&mut self, text: impl Into<String>) {
        self.side.push(SideRecord::Information(text.into()));
    }

    /// Text written straight to the console, like `Write-Host`.
    pub fn write_host(&mut self, text: impl Into<String>) {
        self.side.push(SideRecord::Host(text.into()));
    }

    /// The effective error action of this call (its `-ErrorAction`, else
    /// `$ErrorActionPreference`).
    #[must_use]
    pub fn error_action(&self) -> ActionPreference {
        self.error_action
    }

    /// The command name as the script wrote it.
    #[must_use]
    pub fn invocation_name(&self) -> &str {
        &self.invocation_name
    }
}

/// The application that embeds the evaluator: its commands, objects, clock
/// and files. Only [`CommandHost::invoke`] is required.
///
/// Hosts are `Send` because a run evaluates on a helper thread with a
/// large stack (see [`Limits::stack_bytes`](super::Limits::stack_bytes)).
pub trait CommandHost: Send {
    /// Runs command `name` (as written, any case) with bound `args` and the
    /// objects piped into it (collected; empty when nothing was piped).
    /// Returns the objects the command writes, a terminating error, or
    /// `None` when the host has no such command (the evaluator then raises
    /// PowerShell's "is not recognized" error).
    fn invoke(
        &mut self,
        name: &str,
        args: &BoundArguments,
        input: Vec<Value>,
        ctx: &mut HostContext<'_>,
    ) -> Option<Result<Vec<Value>, PsError>>;

    /// The parameters of command `name`, for binding. `None` (the default)
    /// binds leniently (see [`CommandSignature`]); commands that have
    /// switch parameters should declare them.
    fn signature(&self, name: &str) -> Option<CommandSignature> {
        let _ = name;
        None
    }

    /// Whether the host has command `name` (for `Get-Command`). Defaults
    /// to "has a signature".
    fn has_command(&self, name: &str) -> bool {
        self.signature(name).is_some()
    }

    /// The current state of a live object. `None` when it no longer
    /// exists; member access then yields `$null`.
    fn resolve(&mut self, object: &HostRef) -> Option<HostObject> {
        let _ = object;
        None
    }

    /// Calls a method of a live object (other than `ToString`/`GetType`,
    /// which the evaluator answers). `None` means "no such method".
    fn call_method(
        &mut self,
        object: &HostRef,
        method: &str,
        args: &[Value],
    ) -> Option<Result<Value, PsError>> {
        let _ = (object, method, args);
        None
    }

    /// A static member of one of the host's types, such as an enum value
    /// (`[Microsoft.VirtualManager.Utils.VMComputerSystemState]::Running`).
    /// `None` (the default) makes the access fail as unsupported.
    fn static_member(&mut self, type_name: &str, member: &str) -> Option<Value> {
        let _ = (type_name, member);
        None
    }

    /// The current time (`Get-Date`, `[datetime]::Now`).
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    /// `Start-Sleep`. The default returns at once, so scripts run at full
    /// speed; a host with a model clock advances it here, a live host may
    /// really sleep.
    fn sleep(&mut self, duration: Duration) {
        let _ = duration;
    }

    /// The file system scripts see (`[IO.File]`, `Set-Content`,
    /// `Test-Path`, ...). `None` (the default) uses the session's own
    /// in-memory store.
    fn files(&mut self) -> Option<&mut dyn FileStore> {
        None
    }
}

/// A host with no commands of its own: only the built-in cmdlets work.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCommands;

impl CommandHost for NoCommands {
    fn invoke(
        &mut self,
        _name: &str,
        _args: &BoundArguments,
        _input: Vec<Value>,
        _ctx: &mut HostContext<'_>,
    ) -> Option<Result<Vec<Value>, PsError>> {
        None
    }
}

/// Files as scripts see them. Paths arrive absolute (`C:\x\y`,
/// `\\server\share\x`), with `\` separators; implementations compare them
/// case-insensitively, as Windows does.
pub trait FileStore {
    /// The bytes of file `path`.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// Creates or replaces file `path`.
    ///
    /// # Errors
    ///
    /// A message for the script (e.g. the directory does not exist).
    fn write(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), String>;
    /// Appends to file `path`, creating it if missing.
    ///
    /// # Errors
    ///
    /// As for [`FileStore::write`].
    fn append(&mut self, path: &str, bytes: &[u8]) -> Result<(), String>;
    /// Deletes file or directory `path`; whether something was deleted.
    fn delete(&mut self, path: &str) -> bool;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;
    /// Creates directory `path` (and its parents).
    ///
    /// # Errors
    ///
    /// A message for the script.
    fn create_dir(&mut self, path: &str) -> Result<(), String>;
    /// Whether `path` is a file.
    fn is_file(&self, path: &str) -> bool {
        self.read(path).is_some()
    }
}

/// The session's default file store: everything in memory.
///
/// Any path may be written (missing directories are implied), because the
/// scripts that matter write to library shares and temp folders whose
/// existence the emulator cannot know.
#[derive(Debug, Clone, Default)]
pub struct MemoryFiles {
    files: BTreeMap<String, (String, Vec<u8>)>,
    dirs: BTreeSet<String>,
}

impl MemoryFiles {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn key(path: &str) -> String {
        path.trim_end_matches('\\').to_lowercase()
    }

    /// Every file as (path as first written, contents).
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.values().map(|(p, b)| (p.as_str(), b.as_slice()))
    }
}

impl FileStore for MemoryFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.files.get(&Self::key(path)).map(|(_, b)| b.clone())
    }

    fn write(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.files.insert(Self::key(path), (path.to_owned(), bytes));
        Ok(())
    }

    fn append(&mut self, path: &str, bytes: &[u8]) -> Result<(), String> {
        self.files
            .entry(Self::key(path))
            .or_insert_with(|| (path.to_owned(), Vec::new()))
            .1
            .extend_from_slice(bytes);
        Ok(())
    }

    fn delete(&mut self, path: &str) -> bool {
        let key = Self::key(path);
        let file = self.files.remove(&key).is_some();
        let prefix = format!("{key}\\");
        let before = self.files.len() + self.dirs.len();
        self.files.retain(|k, _| !k.starts_with(&prefix));
        self.dirs.retain(|k| k != &key && !k.starts_with(&prefix));
        file || before != self.files.len() + self.dirs.len()
    }

    fn is_dir(&self, path: &str) -> bool {
        let key = Self::key(path);
        if key.len() == 2 && key.ends_with(':') {
            return true; // a drive root
        }
        let prefix = format!("{key}\\");
        self.dirs.contains(&key)
            || self.dirs.iter().any(|d| d.starts_with(&prefix))
            || self.files.keys().any(|k| k.starts_with(&prefix))
    }

    fn create_dir(&mut self, path: &str) -> Result<(), String> {
        self.dirs.insert(Self::key(path));
        Ok(())
    }
}
