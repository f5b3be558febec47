//! The cmdlets the evaluator implements itself (the generic PowerShell
//! ones; VMM cmdlets come from the host).
//!
//! - `objects`: Where-Object, ForEach-Object, Select-Object, Sort-Object,
//!   Measure-Object, Group-Object, Get-Member, Add-Member, New-Object;
//! - `output`: Write-Output/-Host/-Error/-Warning/-Verbose/-Debug/
//!   -Information/-Progress, Out-Null, Out-String, Out-Default/-Host,
//!   Format-List, Format-Table;
//! - `json`: ConvertTo-Json and ConvertFrom-Json, as Windows PowerShell
//!   5.1 writes and reads JSON;
//! - `files`: Test-Path, Get-/Set-/Add-Content, Out-File, Remove-Item,
//!   New-Item, Split-Path, Join-Path, Get-/Set-Location;
//! - `misc`: Import-Module, Get-Module, Start-Sleep, Get-Date,
//!   New-TimeSpan, Set-StrictMode, variables, ConvertTo-SecureString,
//!   Invoke-Expression, Invoke-Command, Get-Command, Get-Random, and a list
//!   of real cmdlets that fail with a clear "not supported" error.
//!
//! Each cmdlet declares a strict [`CommandSignature`], so misspelt
//! parameters fail the way they do in PowerShell.

pub(crate) mod files;
pub(crate) mod json;
pub(crate) mod misc;
pub(crate) mod objects;
pub(crate) mod output;

use super::errors::R;
use super::host::CommandSignature;
use super::interp::Interp;
use super::pipeline::{CmdCtx, Processed};
use super::value::Value;

/// A running cmdlet: PowerShell's BeginProcessing / ProcessRecord /
/// EndProcessing.
pub(crate) trait Cmdlet {
    /// Before any input.
    fn begin(&mut self, _it: &mut Interp<'_>, _cx: &CmdCtx) -> R<Vec<Value>> {
        Ok(Vec::new())
    }

    /// Once per input object; `None` when the cmdlet starts the pipeline.
    fn process(&mut self, it: &mut Interp<'_>, cx: &CmdCtx, input: Option<Value>) -> R<Processed>;

    /// After the last input.
    fn end(&mut self, _it: &mut Interp<'_>, _cx: &CmdCtx) -> R<Vec<Value>> {
        Ok(Vec::new())
    }
}

/// A cmdlet that gathers its input and does its work once at the end:
/// `run(interp, ctx, input, had_pipeline_input)`.
pub(crate) type CollectFn = fn(&mut Interp<'_>, &CmdCtx, Vec<Value>, bool) -> R<Vec<Value>>;

/// Builds a streaming cmdlet.
pub(crate) type MakeFn = fn(&mut Interp<'_>, &CmdCtx) -> R<Box<dyn Cmdlet>>;

/// How a built-in runs.
pub(crate) enum Kind {
    Collect(CollectFn),
    Stream(MakeFn),
}

/// A built-in cmdlet.
pub(crate) struct BuiltinDef {
    pub(crate) name: &'static str,
    pub(crate) signature: fn() -> CommandSignature,
    pub(crate) kind: Kind,
}

impl BuiltinDef {
    pub(crate) fn make(&self, it: &mut Interp<'_>, cx: &CmdCtx) -> R<Box<dyn Cmdlet>> {
        match self.kind {
            Kind::Collect(run) => Ok(Box::new(Collect {
                input: Vec::new(),
                had_input: false,
                run,
            })),
            Kind::Stream(make) => make(it, cx),
        }
    }
}

struct Collect {
    input: Vec<Value>,
    had_input: bool,
    run: CollectFn,
}

impl Cmdlet for Collect {
    fn process(&mut self, it: &mut Interp<'_>, _cx: &CmdCtx, input: Option<Value>) -> R<Processed> {
        if let Some(v) = input {
            self.had_input = true;
            self.input.push(v);
            it.check_len(self.input.len(), "Pipeline input")?;
        }
        Ok(Processed::items(Vec::new()))
    }

    fn end(&mut self, it: &mut Interp<'_>, cx: &CmdCtx) -> R<Vec<Value>> {
        let input = std::mem::take(&mut self.input);
        (self.run)(it, cx, input, self.had_input)
    }
}

/// Every built-in, by name.
fn table() -> &'static [BuiltinDef] {
    static TABLE: std::sync::OnceLock<Vec<BuiltinDef>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut all = Vec::new();
        all.extend(objects::builtins());
        all.extend(output::builtins());
        all.extend(json::builtins());
        all.extend(files::builtins());
        all.extend(misc::builtins());
        all
    })
}

/// The built-in named `name` (case-insensitive).
pub(crate) fn lookup(name: &str) -> Option<&'static BuiltinDef> {
    table().iter().find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Names of every built-in (for `Get-Command`).
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    table().iter().map(|d| d.name)
}

/// The input object, or the `-InputObject` argument when nothing was
/// piped (not enumerated, as PowerShell binds it).
pub(crate) fn input_or_argument(cx: &CmdCtx, input: Vec<Value>, had_input: bool) -> Vec<Value> {
    if had_input {
        input
    } else {
        cx.args.get("InputObject").cloned().into_iter().collect()
    }
}
