//! Pipelines and commands: resolving a command name (alias, function,
//! built-in cmdlet, host command), evaluating and binding its arguments,
//! and streaming objects through the stages.
//!
//! Objects stream one at a time: each input object is pushed through every
//! stage before the next one is read, so `Write-Host` output interleaves
//! with pipeline output as in PowerShell. Within one invocation of a stage
//! (one `process` call of a function, say) the objects it writes are
//! buffered and passed on when it returns. `Select-Object -First n` stops
//! the stages before it, as PowerShell does. Host commands receive all
//! their pipeline input in one call.

use std::sync::Arc;

use super::binding::{self, ArgItem, Match};
use super::builtins::{self, Cmdlet};
use super::convert;
use super::errors::{ActionPreference, ErrorCategory, Flow, PsError, R, Reach};
use super::host::{BoundArguments, CommandSignature, CommonParameters, HostContext};
use super::interp::{Frame, Interp, Out, StreamTarget, is_silent_expression};
use super::scope::{FunctionDef, Scope};
use super::types::PsType;
use super::value::{HashtableData, ScriptBlockValue, Shared, Str, Value};
use crate::ps::ast::{
    AttributeArgument, Command, CommandArgument, CommandName, Expr, Invocation, ParameterAttribute,
    PipelineElement, Redirection, RedirectionTarget, ScriptBlock, ScriptBody, Statement, Stream,
};
use crate::ps::span::Span;

/// Context of one cmdlet invocation (built-in or host).
pub(crate) struct CmdCtx {
    /// The name as the script wrote it.
    pub(crate) name: String,
    pub(crate) args: BoundArguments,
    pub(crate) span: Span,
    pub(crate) error_action: ActionPreference,
}

/// What a stage produced for one input object.
pub(crate) struct Processed {
    pub(crate) items: Vec<Value>,
    /// Stop the stages before this one (`Select-Object -First`).
    pub(crate) stop: bool,
}

impl Processed {
    pub(crate) fn items(items: Vec<Value>) -> Self {
        Self { items, stop: false }
    }
}

/// Where a stage's output redirection sends its objects.
#[derive(Debug, Clone)]
enum OutputTarget {
    Pass,
    Discard,
    File { path: String, append: bool },
}

struct StageRedirects {
    output: OutputTarget,
    error: Option<StreamTarget>,
    /// Streams 3..6 discarded.
    quiet: bool,
    /// Text collected for a file redirection.
    file_text: Vec<Value>,
}

enum StageKind {
    Cmdlet(Box<dyn Cmdlet>, CmdCtx),
    Host { ctx: CmdCtx, input: Vec<Value> },
    Function(Box<FunctionStage>),
}

struct Stage {
    kind: StageKind,
    redirects: StageRedirects,
    error_variable: Option<String>,
    out_variable: Option<(String, Vec<Value>)>,
}

/// A function or script block running as a pipeline stage.
pub(crate) struct FunctionStage {
    name: String,
    body: Arc<ScriptBlock>,
    source: Str,
    is_filter: bool,
    /// Dot-sourced: runs in the caller's scope.
    dot: bool,
    items: Vec<ArgItem>,
    call_span: Span,
    call_source: Str,
    scope: Option<Scope>,
    params: Vec<ParamInfo>,
    /// Objects for `$input` when there is no process block.
    input: Vec<Value>,
    /// Mandatory parameters to check once pipeline input is known.
    pending_mandatory: Vec<String>,
    /// `$_` for a block invoked with one (calculated properties,
    /// `Invoke-Command -InputObject`).
    dollar_under: Option<Value>,
}

/// A declared parameter of a function or script block.
#[derive(Debug, Clone)]
pub(crate) struct ParamInfo {
    pub(crate) name: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) ty: Option<PsType>,
    pub(crate) switch: bool,
    pub(crate) mandatory: bool,
    pub(crate) position: Option<usize>,
    pub(crate) from_pipeline: bool,
    pub(crate) by_property_name: bool,
    pub(crate) validate_set: Option<Vec<String>>,
    pub(crate) not_null_or_empty: bool,
    pub(crate) default: Option<Expr>,
}

const ALIASES: &[(&str, &str)] = &[
    ("?", "Where-Object"),
    ("where", "Where-Object"),
    ("%", "ForEach-Object"),
    ("foreach", "ForEach-Object"),
    ("select", "Select-Object"),
    ("sort", "Sort-Object"),
    ("measure", "Measure-Object"),
    ("group", "Group-Object"),
    ("echo", "Write-Output"),
    ("write", "Write-Output"),
    ("gm", "Get-Member"),
    ("sleep", "Start-Sleep"),
    ("cat", "Get-Content"),
    ("gc", "Get-Content"),
    ("type", "Get-Content"),
    ("sc", "Set-Content"),
    ("ac", "Add-Content"),
    ("rm", "Remove-Item"),
    ("del", "Remove-Item"),
    ("erase", "Remove-Item"),
    ("ri", "Remove-Item"),
    ("rd", "Remove-Item"),
    ("rmdir", "Remove-Item"),
    ("ni", "New-Item"),
    ("md", "New-Item"),
    ("iex", "Invoke-Expression"),
    ("icm", "Invoke-Command"),
    ("gcm", "Get-Command"),
    ("gv", "Get-Variable"),
    ("sv", "Set-Variable"),
    ("set", "Set-Variable"),
    ("cd", "Set-Location"),
    ("sl", "Set-Location"),
    ("chdir", "Set-Location"),
    ("pwd", "Get-Location"),
    ("gl", "Get-Location"),
    ("fl", "Format-List"),
    ("ft", "Format-Table"),
    ("ipmo", "Import-Module"),
    ("epal", "Export-Alias"),
    ("ls", "Get-ChildItem"),
    ("dir", "Get-ChildItem"),
    ("gci", "Get-ChildItem"),
    ("clear", "Clear-Host"),
    ("cls", "Clear-Host"),
];

/// The command an alias stands for, or the name itself; a module
/// qualifier (`VirtualMachineManager\Get-SCVirtualMachine`) is dropped.
pub(crate) fn canonical_name(name: &str) -> &str {
    let name = name.rsplit('\\').next().unwrap_or(name);
    ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
        .map_or(name, |(_, full)| full)
}

impl Interp<'_> {
    /// Runs a pipeline statement, writing its output to `out`.
    pub(crate) fn exec_pipeline(&mut self, elements: &[PipelineElement], out: &mut Out) -> R<()> {
        let (source, commands) = match elements.split_first() {
            Some((PipelineElement::Expression(e), rest)) => {
                if rest.is_empty() && e.redirections.is_empty() {
                    let value = self.eval_expr(&e.expr)?;
                    if is_silent_expression(&e.expr) {
                        return Ok(());
                    }
                    return self.emit_unrolled(out, value);
                }
                if rest.is_empty() {
                    // An expression with redirections: `$x > $null`.
                    let value = self.eval_expr(&e.expr)?;
                    let redirects = self.stage_redirects(&e.redirections)?;
                    let mut stage_out = Out::collect();
                    if !is_silent_expression(&e.expr) {
                        self.emit_unrolled(&mut stage_out, value)?;
                    }
                    return self.finish_redirected_output(redirects, stage_out.items, out);
                }
                let value = self.eval_expr(&e.expr)?;
                let items = if value.is_enumerable() {
                    value.enumerate()
                } else {
                    vec![value]
                };
                (Some(items), rest)
            }
            Some(_) => (None, elements),
            None => return Ok(()),
        };
        let mut stages = Vec::with_capacity(commands.len());
        for element in commands {
            match element {
                PipelineElement::Command(c) => stages.push(self.build_stage(c)?),
                PipelineElement::Expression(e) => {
                    return Err(self.fail(
                        PsError::new(
                            "Expressions are only allowed as the first element of a pipeline.",
                            "ExpressionsMustBeFirstInPipeline",
                        )
                        .with_category(ErrorCategory::ParserError),
                        e.expr.span,
                    ));
                }
            }
        }
        self.run_stages(&mut stages, source, out)
    }

    fn finish_redirected_output(
        &mut self,
        redirects: StageRedirects,
        items: Vec<Value>,
        out: &mut Out,
    ) -> R<()> {
        match redirects.output {
            OutputTarget::Pass => {
                for item in items {
                    self.emit(out, item)?;
                }
                Ok(())
            }
            OutputTarget::Discard => Ok(()),
            OutputTarget::File { path, append } => {
                let text = super::render::render_for_file(&items, self);
                self.write_text_file(&path, &text, append, Span::default())
            }
        }
    }

    /// Writes text to a file (UTF-16 like PowerShell 5.1's `>` would be
    /// overkill for the emulator: files are written as UTF-8).
    pub(crate) fn write_text_file(
        &mut self,
        path: &str,
        text: &str,
        append: bool,
        span: Span,
    ) -> R<()> {
        let full = self.full_path(path);
        let result = if append {
            self.files().append(&full, text.as_bytes())
        } else {
            self.files().write(&full, text.as_bytes().to_vec())
        };
        result.map_err(|m| self.fail(PsError::new(m, "FileWriteError"), span))
    }

    fn stage_redirects(&mut self, redirections: &[Redirection]) -> R<StageRedirects> {
        let mut r = StageRedirects {
            output: OutputTarget::Pass,
            error: None,
            quiet: false,
            file_text: Vec::new(),
        };
        for redirection in redirections {
            let target = match &redirection.target {
                RedirectionTarget::Merge(Stream::Output) => Some(StreamTarget::Merge),
                RedirectionTarget::Merge(_) => {
                    return Err(self.fail(
                        PsError::unsupported(
                            "redirections merging into streams other than output (n>&1)",
                        ),
                        Span::default(),
                    ));
                }
                RedirectionTarget::File { path, append } => {
                    let p = self.eval_expr(path)?;
                    if p.is_null() {
                        Some(StreamTarget::Discard)
                    } else {
                        let path = convert::to_text(&p, self);
                        if matches!(redirection.from, Stream::Output | Stream::All) {
                            r.output = OutputTarget::File {
                                path,
                                append: *append,
                            };
                        }
                        None
                    }
                }
            };
            match (redirection.from, target) {
                (Stream::Output, Some(StreamTarget::Discard)) => r.output = OutputTarget::Discard,
                (Stream::Error, t @ Some(_)) => r.error = t,
                (Stream::All, Some(StreamTarget::Discard)) => {
                    r.output = OutputTarget::Discard;
                    r.error = Some(StreamTarget::Discard);
                    r.quiet = true;
                }
                (Stream::All, Some(StreamTarget::Merge)) => r.error = Some(StreamTarget::Merge),
                (
                    Stream::Warning | Stream::Verbose | Stream::Debug | Stream::Information,
                    Some(StreamTarget::Discard),
                ) => r.quiet = true,
                (_, None) => {}
                (_, Some(_)) => {}
            }
        }
        Ok(r)
    }

    /// Evaluates a command's arguments in order.
    pub(crate) fn eval_arguments(&mut self, args: &[CommandArgument]) -> R<Vec<ArgItem>> {
        let mut items = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                CommandArgument::Parameter { name, value, .. } => {
                    let value = match value {
                        Some(v) => Some(self.eval_expr(v)?),
                        None => None,
                    };
                    items.push(ArgItem::Named {
                        name: name.clone(),
                        value,
                    });
                }
                CommandArgument::Positional(e) => {
                    items.push(ArgItem::Positional(self.eval_expr(e)?))
                }
                CommandArgument::Splat { variable, span } => {
                    match self.get_variable(variable, *span)? {
                        Value::Hashtable(h) => {
                            for (k, v) in h.read(|d| d.entries().to_vec()) {
                                items.push(ArgItem::Named {
                                    name: convert::to_text(&k, self),
                                    value: Some(v),
                                });
                            }
                        }
                        Value::Null => {}
                        other => {
                            for v in other.enumerate() {
                                items.push(ArgItem::Positional(v));
                            }
                        }
                    }
                }
            }
        }
        Ok(items)
    }

    fn build_stage(&mut self, c: &Command) -> R<Stage> {
        let redirects = self.stage_redirects(&c.redirections)?;
        let (kind, common) = match &c.name {
            CommandName::Bare(name) => {
                let items = self.eval_arguments(&c.arguments)?;
                self.resolve_command(name, items, c.span, c.invocation == Invocation::DotSource)?
            }
            CommandName::Expr(target) => {
                let target_value = self.eval_expr(target)?;
                let items = self.eval_arguments(&c.arguments)?;
                let dot = c.invocation == Invocation::DotSource;
                match target_value {
                    Value::ScriptBlock(sb) => {
                        let stage = FunctionStage::new(
                            "<ScriptBlock>".into(),
                            sb.block.clone(),
                            sb.source.clone(),
                            false,
                            dot,
                            items,
                            c.span,
                            self.src.clone(),
                        );
                        (
                            StageKind::Function(Box::new(stage)),
                            CommonParameters::default(),
                        )
                    }
                    Value::Object(o) if o.read(|d| d.get("CommandType").is_some()) => {
                        let name = o
                            .read(|d| d.get("Name").cloned())
                            .map(|v| convert::scalar_text(&v))
                            .unwrap_or_default();
                        self.resolve_command(&name, items, c.span, dot)?
                    }
                    other => {
                        let name = convert::to_text(&other, self);
                        self.resolve_command(&name, items, c.span, dot)?
                    }
                }
            }
        };
        let error_variable = common.error_variable.clone();
        let out_variable = common.out_variable.clone().map(|n| (n, Vec::new()));
        Ok(Stage {
            kind,
            redirects,
            error_variable,
            out_variable,
        })
    }

    /// Finds what `name` runs and binds its arguments.
    fn resolve_command(
        &mut self,
        name: &str,
        items: Vec<ArgItem>,
        span: Span,
        dot: bool,
    ) -> R<(StageKind, CommonParameters)> {
        let canonical = canonical_name(name);
        if let Some(def) = self.st.scopes.function(canonical) {
            let stage = FunctionStage::from_def(&def, dot, items, span, self.src.clone());
            return Ok((
                StageKind::Function(Box::new(stage)),
                CommonParameters::default(),
            ));
        }
        if let Some(def) = builtins::lookup(canonical) {
            let sig = (def.signature)();
            let args = binding::bind_signature(name, &sig, items)
                .map_err(|e| Flow::statement(self.locate(e.with_command(name), span)))?;
            let common = args.common.clone();
            let error_action = common
                .error_action
                .unwrap_or_else(|| self.preference("ErrorActionPreference"));
            let ctx = CmdCtx {
                name: name.to_owned(),
                args,
                span,
                error_action,
            };
            let cmdlet = def.make(self, &ctx)?;
            return Ok((StageKind::Cmdlet(cmdlet, ctx), common));
        }
        if is_script_path(name) {
            let path = self.full_path(name);
            let Some(bytes) = self.files().read(&path) else {
                return Err(Flow::statement(self.locate(not_found(name), span)));
            };
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let block = crate::ps::parse(&text).map_err(|e| {
                self.fail(
                    PsError::new(e.to_string(), "ParseError")
                        .with_category(ErrorCategory::ParserError)
                        .with_exception(super::errors::exception::PARSE),
                    span,
                )
            })?;
            let stage = FunctionStage::new(
                path,
                Arc::new(block),
                Str::from(text),
                false,
                dot,
                items,
                span,
                self.src.clone(),
            );
            return Ok((
                StageKind::Function(Box::new(stage)),
                CommonParameters::default(),
            ));
        }
        let sig = self
            .host
            .signature(canonical)
            .unwrap_or_else(CommandSignature::lenient);
        let args = binding::bind_signature(name, &sig, items)
            .map_err(|e| Flow::statement(self.locate(e.with_command(name), span)))?;
        let common = args.common.clone();
        let error_action = common
            .error_action
            .unwrap_or_else(|| self.preference("ErrorActionPreference"));
        Ok((
            StageKind::Host {
                ctx: CmdCtx {
                    name: name.to_owned(),
                    args,
                    span,
                    error_action,
                },
                input: Vec::new(),
            },
            common,
        ))
    }

    fn run_stages(
        &mut self,
        stages: &mut [Stage],
        source: Option<Vec<Value>>,
        out: &mut Out,
    ) -> R<()> {
        let n = stages.len();
        for i in 0..n {
            let items = self.stage_call(&mut stages[i], Call::Begin)?;
            for item in items.items {
                self.push(stages, i + 1, item, out)?;
            }
        }
        let mut stopped_at = 0;
        match source {
            Some(items) => {
                for item in items {
                    self.step()?;
                    if let Some(at) = self.push(stages, 0, item, out)? {
                        stopped_at = at;
                        break;
                    }
                }
            }
            None => {
                if let Some(first) = stages.first_mut() {
                    let processed = self.stage_call(first, Call::Process(None))?;
                    for item in processed.items {
                        if let Some(at) = self.push(stages, 1, item, out)? {
                            stopped_at = stopped_at.max(at);
                            break;
                        }
                    }
                }
            }
        }
        for i in stopped_at..n {
            let items = self.stage_call(&mut stages[i], Call::End)?;
            for item in items.items {
                self.push(stages, i + 1, item, out)?;
            }
        }
        for stage in stages.iter_mut() {
            if let Some((name, items)) = stage.out_variable.take() {
                self.st.scopes.set_local(&name, Value::array(items));
            }
        }
        Ok(())
    }

    /// Pushes one object into stage `i` (or the output after the last);
    /// returns the index of a stage that asked to stop its upstream.
    fn push(
        &mut self,
        stages: &mut [Stage],
        i: usize,
        item: Value,
        out: &mut Out,
    ) -> R<Option<usize>> {
        if i >= stages.len() {
            self.emit(out, item)?;
            return Ok(None);
        }
        let processed = self.stage_call(&mut stages[i], Call::Process(Some(item)))?;
        let mut stop = processed.stop.then_some(i);
        for item in processed.items {
            if let Some(at) = self.push(stages, i + 1, item, out)? {
                stop = Some(stop.map_or(at, |s: usize| s.max(at)));
                break;
            }
        }
        Ok(stop)
    }

    /// One call into a stage, with its redirections in force.
    fn stage_call(&mut self, stage: &mut Stage, call: Call) -> R<Processed> {
        let is_end = matches!(call, Call::End);
        if let Some(target) = stage.redirects.error {
            self.error_redirects.push((target, Vec::new()));
        }
        let quiet = stage.redirects.quiet;
        let saved_prefs = if quiet {
            Some(self.silence_streams())
        } else {
            None
        };
        let errors_before = self.error_list_len();
        let result = match &mut stage.kind {
            StageKind::Cmdlet(cmdlet, ctx) => match call {
                Call::Begin => cmdlet.begin(self, ctx).map(Processed::items),
                Call::Process(item) => cmdlet.process(self, ctx, item),
                Call::End => cmdlet.end(self, ctx).map(Processed::items),
            }
            .map_err(|f| self.attribute_flow(f, &ctx.name, ctx.span)),
            StageKind::Host { ctx, input } => match call {
                Call::Begin => Ok(Processed::items(Vec::new())),
                Call::Process(item) => {
                    if let Some(item) = item {
                        input.push(item);
                    }
                    Ok(Processed::items(Vec::new()))
                }
                Call::End => {
                    let input = std::mem::take(input);
                    self.invoke_host(ctx, input).map(Processed::items)
                }
            },
            StageKind::Function(f) => match call {
                Call::Begin => self.function_begin(f).map(Processed::items),
                Call::Process(item) => self.function_process(f, item).map(Processed::items),
                Call::End => self.function_end(f).map(Processed::items),
            },
        };
        if let Some(saved) = saved_prefs {
            self.restore_streams(saved);
        }
        let merged = if stage.redirects.error.is_some() {
            self.error_redirects
                .pop()
                .map(|(_, m)| m)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if let Some(name) = &stage.error_variable {
            self.capture_error_variable(name, errors_before);
        }
        let mut processed = result?;
        processed.items.extend(merged);
        if let Some((_, captured)) = &mut stage.out_variable {
            captured.extend(processed.items.iter().cloned());
        }
        match &stage.redirects.output {
            OutputTarget::Pass => Ok(processed),
            OutputTarget::Discard => Ok(Processed {
                items: Vec::new(),
                stop: processed.stop,
            }),
            OutputTarget::File { path, append } => {
                stage.redirects.file_text.extend(processed.items);
                if is_end {
                    let items = std::mem::take(&mut stage.redirects.file_text);
                    let text = super::render::render_for_file(&items, self);
                    let (path, append) = (path.clone(), *append);
                    self.write_text_file(&path, &text, append, Span::default())?;
                }
                Ok(Processed {
                    items: Vec::new(),
                    stop: processed.stop,
                })
            }
        }
    }

    fn silence_streams(&mut self) -> Vec<(String, Option<Value>)> {
        let names = [
            "WarningPreference",
            "VerbosePreference",
            "InformationPreference",
        ];
        let saved = names
            .iter()
            .map(|n| ((*n).to_owned(), self.st.scopes.get(n)))
            .collect();
        for n in names {
            self.st.scopes.set_local(n, Value::str("SilentlyContinue"));
        }
        saved
    }

    fn restore_streams(&mut self, saved: Vec<(String, Option<Value>)>) {
        for (name, value) in saved {
            self.st
                .scopes
                .set_local(&name, value.unwrap_or(Value::str("Continue")));
        }
    }

    fn error_list_len(&self) -> usize {
        match self.st.scopes.get_global("Error") {
            Some(Value::Array(a)) => a.read(|d| d.items.len()),
            _ => 0,
        }
    }

    /// `-ErrorVariable name`: the errors added to `$Error` during the call.
    fn capture_error_variable(&mut self, name: &str, before: usize) {
        let now = self.error_list_len();
        let new: Vec<Value> = match self.st.scopes.get_global("Error") {
            Some(Value::Array(a)) => a.read(|d| {
                let n = now.saturating_sub(before).min(d.items.len());
                d.items[..n].iter().rev().cloned().collect()
            }),
            _ => Vec::new(),
        };
        let (append, name) = match name.strip_prefix('+') {
            Some(n) => (true, n),
            None => (false, name),
        };
        let mut items = if append {
            self.st
                .scopes
                .get(name)
                .map(|v| v.enumerate())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        items.extend(new);
        self.st.scopes.set_local(
            name,
            Value::Array(Shared::new(super::value::ArrayData {
                items,
                kind: super::value::ArrayKind::ArrayList,
            })),
        );
    }

    /// Attributes an error raised inside a cmdlet to it.
    fn attribute_flow(&self, flow: Flow, name: &str, span: Span) -> Flow {
        match flow {
            Flow::Error(e, reach) => {
                let mut e = *e;
                if e.command.is_none() && e.exception_type != super::errors::exception::RUNTIME {
                    e.command = Some(name.to_owned());
                }
                Flow::Error(Box::new(self.locate(e, span)), reach)
            }
            other => other,
        }
    }

    fn invoke_host(&mut self, ctx: &CmdCtx, input: Vec<Value>) -> R<Vec<Value>> {
        self.step()?;
        let mut host_ctx = HostContext {
            scopes: &mut self.st.scopes,
            side: Vec::new(),
            error_action: ctx.error_action,
            invocation_name: ctx.name.clone(),
        };
        let canonical = canonical_name(&ctx.name).to_owned();
        let result = self
            .host
            .invoke(&canonical, &ctx.args, input, &mut host_ctx);
        let side = std::mem::take(&mut host_ctx.side);
        self.replay_side(side, &ctx.name, ctx.span, ctx.error_action)?;
        match result {
            None if builtins::misc::is_known_unsupported(&canonical) => Err(Flow::statement(
                self.locate(
                    PsError::unsupported(format!("the cmdlet '{}'", ctx.name))
                        .with_command(ctx.name.clone()),
                    ctx.span,
                ),
            )),
            None => Err(Flow::statement(self.locate(not_found(&ctx.name), ctx.span))),
            Some(Ok(values)) => Ok(values),
            Some(Err(mut e)) => {
                if e.command.is_none() {
                    e.command = Some(ctx.name.clone());
                }
                self.pipeline_failed = true;
                Err(Flow::Error(
                    Box::new(self.locate(e, ctx.span)),
                    Reach::Statement,
                ))
            }
        }
    }

    // ---- functions and script blocks ------------------------------------

    fn enter_call(&mut self, name: &str, source: &Str, call: Option<(Str, Span)>) -> R<()> {
        self.depth += 1;
        if self.depth > self.limits.max_call_depth {
            self.depth -= 1;
            return Err(Flow::Abort(Box::new(PsError::limit(format!(
                "The script failed due to call depth overflow: more than {} nested calls (runaway recursion?).",
                self.limits.max_call_depth
            )))));
        }
        self.frames.push(Frame {
            name: name.to_owned(),
            source: source.clone(),
            offset: 0,
            call_site: call,
        });
        Ok(())
    }

    fn leave_call(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.frames.pop();
    }

    /// Runs `statements` of a function stage in its scope, catching
    /// `return`.
    fn run_in_stage(
        &mut self,
        f: &mut FunctionStage,
        statements: &[Statement],
        setup: impl FnOnce(&mut Interp<'_>) -> R<()>,
    ) -> R<Vec<Value>> {
        self.enter_call(
            &f.name,
            &f.source,
            Some((f.call_source.clone(), f.call_span)),
        )?;
        let saved_src = std::mem::replace(&mut self.src, f.source.clone());
        if !f.dot {
            self.st.scopes.push(f.scope.take().unwrap_or_default());
        }
        let mut out = Out::collect();
        let mut result = setup(self);
        if result.is_ok() {
            result = match self.exec_block(statements, &mut out) {
                Err(Flow::Return) => Ok(()),
                other => other,
            };
        }
        if !f.dot {
            f.scope = Some(self.st.scopes.pop());
        }
        self.src = saved_src;
        self.leave_call();
        result.map(|()| out.items)
    }

    fn function_begin(&mut self, f: &mut FunctionStage) -> R<Vec<Value>> {
        let body = f.body.clone();
        let items = std::mem::take(&mut f.items);
        let name = f.name.clone();
        let span = f.call_span;
        let call_source = f.call_source.clone();
        let params = self.param_infos(&body)?;
        f.params = params.clone();
        let advanced = is_advanced(&body);
        let begin: Vec<Statement> = match &body.body {
            ScriptBody::Named(named) => named.begin.clone().unwrap_or_default(),
            ScriptBody::Statements(_) => Vec::new(),
        };
        let mut pending = Vec::new();
        let dollar_under = f.dollar_under.take();
        let result = self.run_in_stage(f, &begin, |it| {
            pending = it.bind_function(&name, &params, advanced, items, span, &call_source)?;
            if let Some(v) = dollar_under {
                it.st.scopes.set_local("_", v);
            }
            Ok(())
        });
        f.pending_mandatory = pending;
        result
    }

    fn has_process_block(f: &FunctionStage) -> bool {
        f.is_filter || matches!(&f.body.body, ScriptBody::Named(n) if n.process.is_some())
    }

    fn function_process(&mut self, f: &mut FunctionStage, item: Option<Value>) -> R<Vec<Value>> {
        if !Self::has_process_block(f) {
            if let Some(item) = item {
                f.input.push(item);
            }
            return Ok(Vec::new());
        }
        self.check_mandatory(f, item.is_some())?;
        f.pending_mandatory.clear();
        let body = f.body.clone();
        let statements: Vec<Statement> = match &body.body {
            ScriptBody::Named(n) => n.process.clone().unwrap_or_default(),
            ScriptBody::Statements(s) => s.clone(),
        };
        let params = f.params.clone();
        let name = f.name.clone();
        self.run_in_stage(f, &statements, |it| {
            if let Some(item) = item {
                it.st.scopes.set_local("_", item.clone());
                it.bind_pipeline_input(&name, &params, &item)?;
            }
            Ok(())
        })
    }

    fn function_end(&mut self, f: &mut FunctionStage) -> R<Vec<Value>> {
        let body = f.body.clone();
        let (statements, set_input): (Vec<Statement>, bool) = match &body.body {
            ScriptBody::Statements(s) if !f.is_filter => (s.clone(), true),
            ScriptBody::Statements(_) => (Vec::new(), false),
            ScriptBody::Named(n) => (n.end.clone().unwrap_or_default(), true),
        };
        let input = std::mem::take(&mut f.input);
        if !Self::has_process_block(f) {
            self.check_mandatory(f, !input.is_empty())?;
        }
        if statements.is_empty() && !set_input {
            return Ok(Vec::new());
        }
        let params = f.params.clone();
        let name = f.name.clone();
        self.run_in_stage(f, &statements, |it| {
            if set_input {
                // The last input object also binds pipeline parameters for
                // an end-only function, as PowerShell does.
                if let Some(last) = input.last() {
                    it.bind_pipeline_input(&name, &params, last)?;
                }
                it.st.scopes.set_local("input", Value::array(input));
            }
            Ok(())
        })
    }

    fn check_mandatory(&mut self, f: &FunctionStage, has_input: bool) -> R<()> {
        let missing: Vec<&String> = f
            .pending_mandatory
            .iter()
            .filter(|name| {
                let from_pipeline = f.params.iter().any(|p| {
                    p.name.eq_ignore_ascii_case(name) && (p.from_pipeline || p.by_property_name)
                });
                !(has_input && from_pipeline)
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names = missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let e = PsError::binding(
            &f.name,
            format!(
                "Cannot process command because of one or more missing mandatory parameters: {names}."
            ),
            "MissingMandatoryParameter",
        );
        Err(Flow::statement(self.locate_in(
            e,
            &f.call_source,
            f.call_span,
        )))
    }

    /// The declared parameters of a block.
    pub(crate) fn param_infos(&mut self, block: &ScriptBlock) -> R<Vec<ParamInfo>> {
        let Some(pb) = &block.param_block else {
            return Ok(Vec::new());
        };
        let mut infos = Vec::with_capacity(pb.parameters.len());
        for p in &pb.parameters {
            let mut info = ParamInfo {
                name: p.variable.name.clone(),
                aliases: Vec::new(),
                ty: None,
                switch: false,
                mandatory: false,
                position: None,
                from_pipeline: false,
                by_property_name: false,
                validate_set: None,
                not_null_or_empty: false,
                default: p.default.clone(),
            };
            for attr in &p.attributes {
                match attr {
                    ParameterAttribute::Type(t) => {
                        let ty = PsType::resolve(t);
                        info.switch = ty == PsType::Switch;
                        info.ty = Some(ty);
                    }
                    ParameterAttribute::Attribute(a) => {
                        let name = a.name.to_ascii_lowercase();
                        let name = name
                            .strip_prefix("system.management.automation.")
                            .unwrap_or(&name)
                            .trim_end_matches("attribute")
                            .to_owned();
                        match name.as_str() {
                            "parameter" => {
                                for arg in &a.arguments {
                                    if let AttributeArgument::Named { name, value } = arg {
                                        let v = match value {
                                            Some(e) => self.eval_expr(e)?,
                                            None => Value::Bool(true),
                                        };
                                        match name.to_ascii_lowercase().as_str() {
                                            "mandatory" => info.mandatory = convert::to_bool(&v),
                                            "position" => {
                                                info.position = match convert::convert_to(
                                                    &v,
                                                    &PsType::Int,
                                                    self,
                                                ) {
                                                    Ok(Value::Int(n)) => usize::try_from(n).ok(),
                                                    _ => None,
                                                };
                                            }
                                            "valuefrompipeline" => {
                                                info.from_pipeline = convert::to_bool(&v);
                                            }
                                            "valuefrompipelinebypropertyname" => {
                                                info.by_property_name = convert::to_bool(&v);
                                            }
                                            _ => {}
                                        }
                                    }
                                }
                            }
                            "alias" => {
                                for arg in &a.arguments {
                                    if let AttributeArgument::Positional(e) = arg {
                                        let v = self.eval_expr(e)?;
                                        for item in v.enumerate() {
                                            info.aliases.push(convert::scalar_text(&item));
                                        }
                                    }
                                }
                            }
                            "validateset" => {
                                let mut set = Vec::new();
                                for arg in &a.arguments {
                                    if let AttributeArgument::Positional(e) = arg {
                                        let v = self.eval_expr(e)?;
                                        for item in v.enumerate() {
                                            set.push(convert::scalar_text(&item));
                                        }
                                    }
                                }
                                info.validate_set = Some(set);
                            }
                            "validatenotnullorempty" | "validatenotnull" => {
                                info.not_null_or_empty = true;
                            }
                            // Other validation attributes are accepted and
                            // not enforced.
                            _ => {}
                        }
                    }
                }
            }
            infos.push(info);
        }
        Ok(infos)
    }

    /// Binds a function's arguments into the current (its own) scope;
    /// returns the mandatory parameters still missing.
    fn bind_function(
        &mut self,
        command: &str,
        params: &[ParamInfo],
        advanced: bool,
        items: Vec<ArgItem>,
        span: Span,
        call_source: &Str,
    ) -> R<Vec<String>> {
        let names: Vec<(String, Vec<String>)> = params
            .iter()
            .map(|p| (p.name.clone(), p.aliases.clone()))
            .collect();
        let mut values: Vec<Option<Value>> = vec![None; params.len()];
        // Positional values and unknown parameters keep their source order
        // (`$args` lists them as written).
        let mut positional: Vec<(usize, Value)> = Vec::new();
        let mut extra: Vec<(usize, Value)> = Vec::new();
        let mut order_no = 0usize;
        let mut common = CommonParameters::default();
        let err = |it: &Interp<'_>, e: PsError| Flow::statement(it.locate_in(e, call_source, span));
        let mut iter = items.into_iter().peekable();
        while let Some(item) = iter.next() {
            order_no += 1;
            match item {
                ArgItem::Positional(v) => positional.push((order_no, v)),
                ArgItem::Named { name, value } => {
                    match binding::match_parameter(&name, &names, advanced, true) {
                        Match::Declared(i) => {
                            let p = &params[i];
                            let v = if p.switch {
                                Value::Bool(value.as_ref().is_none_or(convert::to_bool))
                            } else {
                                match value {
                                    Some(v) => v,
                                    None => match iter
                                        .next_if(|n| matches!(n, ArgItem::Positional(_)))
                                    {
                                        Some(ArgItem::Positional(v)) => v,
                                        _ => {
                                            let ty = p.ty.as_ref().map_or(
                                                "System.Object".to_owned(),
                                                PsType::full_name,
                                            );
                                            return Err(err(
                                                self,
                                                binding::missing_argument(command, &p.name, &ty),
                                            ));
                                        }
                                    },
                                }
                            };
                            values[i] = Some(v);
                        }
                        Match::Common(i) => {
                            let switch = binding::COMMON.get(i).is_some_and(|c| c.2);
                            let v = if switch {
                                Value::Bool(value.as_ref().is_none_or(convert::to_bool))
                            } else {
                                match value {
                                    Some(v) => v,
                                    None => match iter
                                        .next_if(|n| matches!(n, ArgItem::Positional(_)))
                                    {
                                        Some(ArgItem::Positional(v)) => v,
                                        _ => Value::Null,
                                    },
                                }
                            };
                            binding::set_common(&mut common, command, i, &v)
                                .map_err(|e| err(self, e))?;
                        }
                        Match::Ambiguous(found) => {
                            return Err(err(
                                self,
                                PsError::binding(
                                    command,
                                    format!(
                                        "Parameter cannot be processed because the parameter name '{name}' is ambiguous. Possible matches include: {}.",
                                        found
                                            .iter()
                                            .map(|n| format!("-{n}"))
                                            .collect::<Vec<_>>()
                                            .join(" ")
                                    ),
                                    "AmbiguousParameter",
                                ),
                            ));
                        }
                        Match::Unknown => {
                            if advanced {
                                return Err(err(self, binding::unknown_parameter(command, &name)));
                            }
                            // A simple function gets unknown parameters in
                            // $args, as written.
                            match value {
                                Some(v) => {
                                    extra.push((order_no, Value::from(format!("-{name}:"))));
                                    extra.push((order_no, v));
                                }
                                None => extra.push((order_no, Value::from(format!("-{name}")))),
                            }
                        }
                    }
                }
            }
        }
        // Positional binding.
        let explicit = params.iter().any(|p| p.position.is_some());
        let mut order: Vec<usize> = (0..params.len())
            .filter(|&i| !params[i].switch)
            .filter(|&i| !explicit || params[i].position.is_some())
            .collect();
        if explicit {
            order.sort_by_key(|&i| params[i].position.unwrap_or(usize::MAX));
        }
        let free: Vec<usize> = order.into_iter().filter(|&i| values[i].is_none()).collect();
        let mut slots = free.into_iter();
        let mut leftover = Vec::new();
        for (n, v) in positional {
            match slots.next() {
                Some(i) => values[i] = Some(v),
                None => leftover.push((n, v)),
            }
        }
        if advanced && let Some((_, v)) = leftover.first() {
            return Err(err(self, binding::extra_positional(command, v)));
        }
        extra.extend(leftover);
        extra.sort_by_key(|(n, _)| *n);
        let extra: Vec<Value> = extra.into_iter().map(|(_, v)| v).collect();
        // Set variables: bound values (converted and validated), then
        // defaults in declaration order.
        let mut bound = HashtableData::new(false);
        let mut missing = Vec::new();
        for (i, p) in params.iter().enumerate() {
            match values[i].take() {
                Some(v) => {
                    let v = self.convert_parameter(command, p, v, span, call_source)?;
                    bound.insert(Value::from(p.name.as_str()), v.clone());
                    self.set_parameter(p, v);
                }
                None => {
                    if p.mandatory {
                        missing.push(p.name.clone());
                    }
                    let v =
                        match &p.default {
                            Some(default) => {
                                let v = self.eval_expr(default)?;
                                match &p.ty {
                                    Some(ty) => convert::convert_to(&v, ty, self)
                                        .map_err(|e| err(self, e))?,
                                    None => v,
                                }
                            }
                            None if p.switch => Value::Bool(false),
                            None => match &p.ty {
                                Some(ty) => convert::convert_to(&Value::Null, ty, self)
                                    .unwrap_or(Value::Null),
                                None => Value::Null,
                            },
                        };
                    self.set_parameter(p, v);
                }
            }
        }
        self.st
            .scopes
            .set_local("PSBoundParameters", Value::Hashtable(Shared::new(bound)));
        self.st.scopes.set_local("args", Value::array(extra));
        if let Some(action) = common.error_action {
            self.st.scopes.set_local(
                "ErrorActionPreference",
                Value::enumeration(
                    "System.Management.Automation.ActionPreference",
                    action.name(),
                    action.number(),
                ),
            );
        }
        if let Some(action) = common.warning_action {
            self.st.scopes.set_local(
                "WarningPreference",
                Value::enumeration(
                    "System.Management.Automation.ActionPreference",
                    action.name(),
                    action.number(),
                ),
            );
        }
        if common.verbose == Some(true) {
            self.st
                .scopes
                .set_local("VerbosePreference", Value::str("Continue"));
        }
        Ok(missing)
    }

    fn set_parameter(&mut self, p: &ParamInfo, v: Value) {
        match &p.ty {
            Some(ty) if !p.switch => self.st.scopes.set_local_constrained(&p.name, v, ty.clone()),
            _ => self.st.scopes.set_local(&p.name, v),
        }
    }

    fn convert_parameter(
        &mut self,
        command: &str,
        p: &ParamInfo,
        v: Value,
        span: Span,
        source: &Str,
    ) -> R<Value> {
        let v = match &p.ty {
            Some(ty) if !p.switch => convert::convert_to(&v, ty, self).map_err(|e| {
                Flow::statement(self.locate_in(
                    PsError::binding(
                        command,
                        format!(
                            "Cannot process argument transformation on parameter '{}'. {}",
                            p.name, e.message
                        ),
                        "ParameterArgumentTransformationError",
                    ),
                    source,
                    span,
                ))
            })?,
            _ => v,
        };
        if p.not_null_or_empty {
            let empty = match &v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.read(|d| d.items.is_empty()),
                _ => false,
            };
            if empty {
                return Err(Flow::statement(self.locate_in(
                    PsError::binding(
                        command,
                        format!(
                            "Cannot validate argument on parameter '{}'. The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.",
                            p.name
                        ),
                        "ParameterArgumentValidationError",
                    ),
                    source,
                    span,
                )));
            }
        }
        if let Some(set) = &p.validate_set {
            for item in v.enumerate() {
                let text = convert::to_text(&item, self);
                if !set.iter().any(|s| s.eq_ignore_ascii_case(&text)) {
                    return Err(Flow::statement(self.locate_in(
                        PsError::binding(
                            command,
                            format!(
                                "Cannot validate argument on parameter '{}'. The argument \"{text}\" does not belong to the set \"{}\" specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command again.",
                                p.name,
                                set.join(",")
                            ),
                            "ParameterArgumentValidationError",
                        ),
                        source,
                        span,
                    )));
                }
            }
        }
        Ok(v)
    }

    /// Binds a pipeline object to `ValueFromPipeline` /
    /// `ValueFromPipelineByPropertyName` parameters.
    fn bind_pipeline_input(&mut self, command: &str, params: &[ParamInfo], item: &Value) -> R<()> {
        for p in params {
            if p.from_pipeline {
                let v = self.convert_parameter(
                    command,
                    p,
                    item.clone(),
                    Span::default(),
                    &self.src.clone(),
                )?;
                self.set_parameter(p, v);
            } else if p.by_property_name {
                let found = self
                    .get_member_opt(item, &p.name)
                    .map_err(Flow::statement)?;
                if let Some(v) = found {
                    let v =
                        self.convert_parameter(command, p, v, Span::default(), &self.src.clone())?;
                    self.set_parameter(p, v);
                }
            }
        }
        Ok(())
    }

    /// Runs a script block's body in the current scope with `$_` set (the
    /// way `ForEach-Object` and `Where-Object` run their blocks), returning
    /// its output.
    pub(crate) fn run_block_here(
        &mut self,
        sb: &ScriptBlockValue,
        dollar_under: Option<Value>,
    ) -> R<Vec<Value>> {
        let statements: &[Statement] = match &sb.block.body {
            ScriptBody::Statements(s) => s,
            ScriptBody::Named(n) => n.process.as_deref().or(n.end.as_deref()).unwrap_or(&[]),
        };
        self.enter_call("<ScriptBlock>", &sb.source, None)?;
        let saved_src = std::mem::replace(&mut self.src, sb.source.clone());
        let saved_under = self.st.scopes.get("_");
        if let Some(v) = dollar_under {
            self.st.scopes.set_local("_", v);
        }
        let mut out = Out::collect();
        let result = match self.exec_block(statements, &mut out) {
            Err(Flow::Return) => Ok(()),
            other => other,
        };
        self.st
            .scopes
            .set_local("_", saved_under.unwrap_or(Value::Null));
        self.src = saved_src;
        self.leave_call();
        result.map(|()| out.items)
    }

    /// Invokes a script block in a new scope with positional `args` (what
    /// `& $sb a b` and `$sb.Invoke(a, b)` do) and optional `$_`.
    pub(crate) fn invoke_block(
        &mut self,
        sb: &ScriptBlockValue,
        args: Vec<Value>,
        dollar_under: Option<Value>,
        span: Span,
    ) -> R<Vec<Value>> {
        let items = args.into_iter().map(ArgItem::Positional).collect();
        let mut function = FunctionStage::new(
            "<ScriptBlock>".into(),
            sb.block.clone(),
            sb.source.clone(),
            false,
            false,
            items,
            span,
            self.src.clone(),
        );
        function.dollar_under = dollar_under;
        let mut stage = Stage {
            kind: StageKind::Function(Box::new(function)),
            redirects: StageRedirects {
                output: OutputTarget::Pass,
                error: None,
                quiet: false,
                file_text: Vec::new(),
            },
            error_variable: None,
            out_variable: None,
        };
        let mut out = Out::collect();
        self.run_stages(std::slice::from_mut(&mut stage), None, &mut out)?;
        Ok(out.items)
    }
}

#[derive(Debug)]
enum Call {
    Begin,
    Process(Option<Value>),
    End,
}

impl FunctionStage {
    #[allow(clippy::too_many_arguments)] // one constructor for every kind of callable
    fn new(
        name: String,
        body: Arc<ScriptBlock>,
        source: Str,
        is_filter: bool,
        dot: bool,
        items: Vec<ArgItem>,
        call_span: Span,
        call_source: Str,
    ) -> Self {
        Self {
            name,
            body,
            source,
            is_filter,
            dot,
            items,
            call_span,
            call_source,
            scope: None,
            params: Vec::new(),
            input: Vec::new(),
            pending_mandatory: Vec::new(),
            dollar_under: None,
        }
    }

    fn from_def(
        def: &FunctionDef,
        dot: bool,
        items: Vec<ArgItem>,
        span: Span,
        call_source: Str,
    ) -> Self {
        Self::new(
            def.name.clone(),
            def.body.clone(),
            def.source.clone(),
            def.is_filter,
            dot,
            items,
            span,
            call_source,
        )
    }
}

/// Whether a block is an advanced function (`[CmdletBinding()]` or a
/// `[Parameter()]` attribute), which makes binding strict and accepts
/// the common parameters.
fn is_advanced(block: &ScriptBlock) -> bool {
    let Some(pb) = &block.param_block else {
        return false;
    };
    pb.attributes
        .iter()
        .any(|a| a.name.eq_ignore_ascii_case("CmdletBinding"))
        || pb.parameters.iter().any(|p| {
            p.attributes.iter().any(|a| {
                matches!(a, ParameterAttribute::Attribute(attr) if attr.name.eq_ignore_ascii_case("Parameter"))
            })
        })
}

fn is_script_path(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".ps1")
}

/// PowerShell's unknown-command error, prefixed with the name as written.
fn not_found(name: &str) -> PsError {
    let mut e = PsError::command_not_found(name);
    e.prefix_override = Some(name.to_owned());
    e
}
