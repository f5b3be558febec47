//! The tree-walking evaluator: statements, expressions and assignments.
//!
//! [`Interp`] lives for one `run` of a [`Session`](super::Session); the
//! session's variables, functions and files persist in [`SessionState`].
//! Commands and pipelines are in [`super::pipeline`], member access in
//! [`super::members`], operators in [`super::operators`].

use std::sync::Arc;

use super::convert::{self, Resolver};
use super::errors::{ActionPreference, ErrorPosition, Flow, PsError, R, Reach, exception};
use super::host::{CommandHost, FileStore, MemoryFiles, SideRecord};
use super::operators;
use super::render;
use super::scope::{FunctionDef, Scopes};
use super::types::{PsType, type_name_text};
use super::value::{HashtableData, HostObject, HostRef, ScriptBlockValue, Shared, Str, Value};
use super::{Limits, OutputRecord};
use crate::ps::ast::{
    AssignOp, Assignment, BinaryOp, CompareOp, DoLoop, Expr, ExprKind, ForEachLoop, ForLoop,
    IfStatement, MemberName, Number, PipelineElement, Statement, StatementKind, StringPart,
    SwitchStatement, TryStatement, TypeName, UnaryOp, Variable, WhileLoop,
};
use crate::ps::span::{Position, Span, line_text};

/// Everything that persists between runs of a session.
#[derive(Debug)]
pub(crate) struct SessionState {
    pub(crate) scopes: Scopes,
    /// `$env:` variables: lower-case name → (name as set, value).
    pub(crate) env: std::collections::BTreeMap<String, (String, String)>,
    pub(crate) files: MemoryFiles,
    /// The current location (`Set-Location`), for relative paths.
    pub(crate) cwd: String,
    pub(crate) modules: Vec<String>,
    pub(crate) width: usize,
    /// Compiled regular expressions by (pattern, case-sensitive).
    pub(crate) regex_cache: std::collections::HashMap<(String, bool), regex::Regex>,
}

/// A call frame, for `$_.ScriptStackTrace` and `Write-Error` attribution.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Function name, or `<ScriptBlock>`.
    pub(crate) name: String,
    /// The source the frame's code comes from.
    pub(crate) source: Str,
    /// Offset of the statement being run.
    pub(crate) offset: usize,
    /// Where the frame was called from (source and span), if it is a call.
    pub(crate) call_site: Option<(Str, Span)>,
}

/// Where command output goes.
pub(crate) struct Out {
    pub(crate) items: Vec<Value>,
    /// Top level: render each object to the records as it arrives.
    pub(crate) top: bool,
}

impl Out {
    pub(crate) fn collect() -> Self {
        Self {
            items: Vec::new(),
            top: false,
        }
    }

    pub(crate) fn top() -> Self {
        Self {
            items: Vec::new(),
            top: true,
        }
    }
}

/// A redirection in force while a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamTarget {
    Discard,
    /// Into the success output (`2>&1`), collected here.
    Merge,
}

/// The evaluator for one run.
pub(crate) struct Interp<'a> {
    pub(crate) host: &'a mut dyn CommandHost,
    pub(crate) st: &'a mut SessionState,
    /// Source text of the code running now (spans point into it).
    pub(crate) src: Str,
    pub(crate) records: Vec<OutputRecord>,
    pub(crate) limits: Limits,
    steps: u64,
    /// Bulk work not yet converted to steps.
    work: usize,
    pub(crate) depth: usize,
    pub(crate) try_depth: usize,
    output_bytes: usize,
    pub(crate) frames: Vec<Frame>,
    /// Error stream redirections, innermost last, with merged records.
    pub(crate) error_redirects: Vec<(StreamTarget, Vec<Value>)>,
    /// Whether the current pipeline reported an error (for `$?`).
    pub(crate) pipeline_failed: bool,
    pub(crate) last_ok: bool,
}

/// Resolving host objects through the host, for conversions.
impl Resolver for Interp<'_> {
    fn resolve(&mut self, r: &HostRef) -> Option<HostObject> {
        self.host.resolve(r)
    }
}

pub(crate) const PREFERENCE_VARIABLES: [&str; 6] = [
    "ErrorActionPreference",
    "WarningPreference",
    "VerbosePreference",
    "DebugPreference",
    "InformationPreference",
    "ProgressPreference",
];

impl<'a> Interp<'a> {
    pub(crate) fn new(
        host: &'a mut dyn CommandHost,
        st: &'a mut SessionState,
        src: Str,
        limits: Limits,
    ) -> Self {
        Self {
            host,
            st,
            src: src.clone(),
            records: Vec::new(),
            limits,
            steps: 0,
            work: 0,
            depth: 0,
            try_depth: 0,
            output_bytes: 0,
            frames: vec![Frame {
                name: "<ScriptBlock>".into(),
                source: src,
                offset: 0,
                call_site: None,
            }],
            error_redirects: Vec::new(),
            pipeline_failed: false,
            last_ok: true,
        }
    }

    // ---- limits ------------------------------------------------------

    /// Counts one evaluation step; aborts past the budget.
    pub(crate) fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(Flow::Abort(Box::new(PsError::limit(format!(
                "The script exceeded the emulator's step budget of {} steps (an endless loop?). Raise Limits::max_steps if the script is legitimate.",
                self.limits.max_steps
            )))));
        }
        Ok(())
    }

    /// Charges `units` of bulk work (elements copied, characters built) to
    /// the step budget, eight units a step, so quadratic scripts (`$a += $x`
    /// in a loop) stay bounded in time.
    pub(crate) fn charge(&mut self, units: usize) -> R<()> {
        self.work += units;
        if self.work >= 8 {
            let steps = self.work / 8;
            self.work %= 8;
            self.steps += u64::try_from(steps).unwrap_or(u64::MAX);
            if self.steps > self.limits.max_steps {
                self.steps -= 1;
                return self.step();
            }
        }
        Ok(())
    }

    /// Checks that a collection or string of `len` elements may be built,
    /// and charges building it to the step budget.
    pub(crate) fn check_size(&mut self, len: usize, what: &str) -> R<()> {
        self.check_len(len, what)?;
        self.charge(len)
    }

    /// Checks that a collection or string of `len` elements may exist.
    pub(crate) fn check_len(&self, len: usize, what: &str) -> R<()> {
        if len > self.limits.max_collection {
            return Err(Flow::Abort(Box::new(PsError::limit(format!(
                "{what} of {len} elements exceeds the emulator's limit of {}",
                self.limits.max_collection
            )))));
        }
        Ok(())
    }

    fn count_output(&mut self, bytes: usize) -> R<()> {
        self.output_bytes += bytes;
        if self.output_bytes > self.limits.max_output_bytes {
            return Err(Flow::Abort(Box::new(PsError::limit(format!(
                "The script wrote more than the emulator's output limit of {} bytes",
                self.limits.max_output_bytes
            )))));
        }
        Ok(())
    }

    // ---- output ------------------------------------------------------

    /// Writes one object to `out`.
    pub(crate) fn emit(&mut self, out: &mut Out, value: Value) -> R<()> {
        if out.top {
            let text = render::render_value(&value, self);
            self.count_output(text.len())?;
            self.records.push(OutputRecord::Output { value, text });
        } else {
            out.items.push(value);
        }
        Ok(())
    }

    /// Writes a value, enumerating arrays (what a statement does with its
    /// value).
    pub(crate) fn emit_unrolled(&mut self, out: &mut Out, value: Value) -> R<()> {
        if value.is_enumerable() {
            for item in value.enumerate() {
                self.emit(out, item)?;
            }
            Ok(())
        } else {
            self.emit(out, value)
        }
    }

    /// Records a stream message (not errors), honouring redirections of
    /// the error stream only; other streams go to the records.
    pub(crate) fn record(&mut self, record: OutputRecord) -> R<()> {
        let bytes = match &record {
            OutputRecord::Warning(t)
            | OutputRecord::Verbose(t)
            | OutputRecord::Debug(t)
            | OutputRecord::Information(t) => t.len(),
            OutputRecord::Host { text, .. } => text.len(),
            OutputRecord::Output { text, .. } => text.len(),
            OutputRecord::Error(e) => e.message.len(),
        };
        self.count_output(bytes)?;
        self.records.push(record);
        Ok(())
    }

    // ---- positions and errors -----------------------------------------

    /// The position of `span` in the current source.
    pub(crate) fn position(&self, span: Span) -> ErrorPosition {
        position_in(&self.src, span)
    }

    /// Fills in what a raised error lacks: position, stack trace.
    pub(crate) fn locate(&self, mut e: PsError, span: Span) -> PsError {
        if e.position.is_none() && span.end > span.start {
            e.position = Some(self.position(span));
        }
        if e.script_stack_trace.is_empty() {
            e.script_stack_trace = self.stack_trace();
        }
        e
    }

    /// Like [`Interp::locate`], for a span of another source.
    pub(crate) fn locate_in(&self, mut e: PsError, source: &str, span: Span) -> PsError {
        if e.position.is_none() && span.end > span.start {
            e.position = Some(position_in(source, span));
        }
        if e.script_stack_trace.is_empty() {
            e.script_stack_trace = self.stack_trace();
        }
        e
    }

    /// `$_.ScriptStackTrace` for the current frames.
    pub(crate) fn stack_trace(&self) -> String {
        self.frames
            .iter()
            .rev()
            .map(|f| {
                let line = Position::locate(&f.source, f.offset).line;
                format!("at {}, <No file>: line {line}", f.name)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A terminating error at `span`. Errors raised while evaluating
    /// (conversions, methods, operators) end the statement, as .NET
    /// exceptions do in PowerShell; only `throw` and `-ErrorAction Stop`
    /// end the script.
    pub(crate) fn fail(&self, e: PsError, span: Span) -> Flow {
        Flow::statement(self.locate(e, span))
    }

    /// The effective value of a preference variable.
    pub(crate) fn preference(&self, name: &str) -> ActionPreference {
        let default = match name {
            "ErrorActionPreference" | "WarningPreference" | "ProgressPreference" => {
                ActionPreference::Continue
            }
            _ => ActionPreference::SilentlyContinue,
        };
        self.st
            .scopes
            .get(name)
            .and_then(|v| ActionPreference::parse(&convert::scalar_text(&v)))
            .unwrap_or(default)
    }

    /// Handles a non-terminating error per `action`: report, record in
    /// `$Error`, or turn it into a terminating error.
    pub(crate) fn write_error(&mut self, e: PsError, action: ActionPreference) -> R<()> {
        self.pipeline_failed = true;
        match action {
            ActionPreference::Stop => Err(Flow::script(e)),
            ActionPreference::Ignore => Ok(()),
            ActionPreference::SilentlyContinue => {
                self.add_to_error_list(&e);
                Ok(())
            }
            ActionPreference::Continue | ActionPreference::Inquire => {
                self.add_to_error_list(&e);
                self.report_error(e)
            }
        }
    }

    /// Writes an error record to the error stream (or where it is
    /// redirected).
    pub(crate) fn report_error(&mut self, e: PsError) -> R<()> {
        match self.error_redirects.last_mut() {
            Some((StreamTarget::Discard, _)) => Ok(()),
            Some((StreamTarget::Merge, merged)) => {
                merged.push(Value::ErrorRecord(Arc::new(e)));
                Ok(())
            }
            None => self.record(OutputRecord::Error(e)),
        }
    }

    /// Prepends `e` to `$Error` (capped at 256 entries, like
    /// `$MaximumErrorCount`).
    pub(crate) fn add_to_error_list(&mut self, e: &PsError) {
        let record = Value::ErrorRecord(Arc::new(e.clone()));
        match self.st.scopes.get_global("Error") {
            Some(Value::Array(list)) => list.write(|d| {
                d.items.insert(0, record);
                d.items.truncate(256);
            }),
            _ => self.st.scopes.set_global(
                "Error",
                Value::Array(Shared::new(super::value::ArrayData {
                    items: vec![record],
                    kind: super::value::ArrayKind::ArrayList,
                })),
            ),
        }
    }

    /// Replays what a host or builtin wrote to the side streams.
    pub(crate) fn replay_side(
        &mut self,
        side: Vec<SideRecord>,
        command: &str,
        span: Span,
        action: ActionPreference,
    ) -> R<()> {
        for record in side {
            match record {
                SideRecord::Error(e) => {
                    let mut e = *e;
                    if e.command.is_none() {
                        e.command = Some(command.to_owned());
                    }
                    let e = self.locate(e, span);
                    self.write_error(e, action)?;
                }
                SideRecord::Warning(t) => self.write_stream("WarningPreference", t)?,
                SideRecord::Verbose(t) => self.write_stream("VerbosePreference", t)?,
                SideRecord::Debug(t) => self.write_stream("DebugPreference", t)?,
                SideRecord::Information(t) => self.write_stream("InformationPreference", t)?,
                SideRecord::Host(text) => self.record(OutputRecord::Host {
                    text,
                    newline: true,
                })?,
            }
        }
        Ok(())
    }

    /// Writes to the warning/verbose/debug/information stream if its
    /// preference lets it through.
    pub(crate) fn write_stream(&mut self, preference: &str, text: String) -> R<()> {
        match self.preference(preference) {
            ActionPreference::SilentlyContinue | ActionPreference::Ignore => Ok(()),
            ActionPreference::Stop => Err(Flow::script(PsError::new(
                format!(
                    "The running command stopped because the preference variable \"{preference}\" or common parameter is set to Stop: {text}"
                ),
                "ActionPreferenceStop",
            )
            .with_exception("System.Management.Automation.ActionPreferenceStopException")
            .with_category(super::errors::ErrorCategory::OperationStopped))),
            ActionPreference::Continue | ActionPreference::Inquire => {
                let record = match preference {
                    "WarningPreference" => OutputRecord::Warning(text),
                    "VerbosePreference" => OutputRecord::Verbose(text),
                    "DebugPreference" => OutputRecord::Debug(text),
                    _ => OutputRecord::Information(text),
                };
                self.record(record)
            }
        }
    }

    // ---- files -------------------------------------------------------

    /// The file store in use: the host's, else the session's.
    pub(crate) fn files(&mut self) -> &mut dyn FileStore {
        // Two-step borrow: asking the host first would keep `self.host`
        // borrowed in the fallback branch.
        if self.host.files().is_some()
            && let Some(f) = self.host.files()
        {
            return f;
        }
        &mut self.st.files
    }

    /// An absolute Windows path for `path` (relative to the current
    /// location), with `\` separators.
    pub(crate) fn full_path(&self, path: &str) -> String {
        let p = path.replace('/', "\\");
        let absolute = p.starts_with("\\\\")
            || (p.len() >= 2 && p.as_bytes()[1] == b':')
            || p.starts_with('\\');
        let joined = if absolute {
            if p.starts_with('\\') && !p.starts_with("\\\\") {
                format!("{}{}", &self.st.cwd[..2.min(self.st.cwd.len())], p)
            } else {
                p
            }
        } else {
            let rel = p.trim_start_matches(".\\");
            if rel == "." {
                self.st.cwd.clone()
            } else {
                format!("{}\\{}", self.st.cwd.trim_end_matches('\\'), rel)
            }
        };
        normalize_path(&joined)
    }

    // ---- statements --------------------------------------------------

    /// Runs statements in order. A statement-terminating error that no
    /// `try` is waiting for is reported and the block goes on, as in
    /// PowerShell.
    pub(crate) fn exec_block(&mut self, statements: &[Statement], out: &mut Out) -> R<()> {
        for statement in statements {
            self.step()?;
            if let Some(frame) = self.frames.last_mut() {
                frame.offset = statement.span.start;
            }
            match self.exec_statement(statement, out) {
                Ok(()) => {}
                Err(Flow::Error(e, Reach::Statement))
                    if self.try_depth == 0
                        && self.preference("ErrorActionPreference") != ActionPreference::Stop =>
                {
                    self.last_ok = false;
                    self.add_to_error_list(&e);
                    self.report_error(*e)?;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    pub(crate) fn exec_statement(&mut self, statement: &Statement, out: &mut Out) -> R<()> {
        match &statement.kind {
            StatementKind::Pipeline(p) => {
                self.pipeline_failed = false;
                let result = self.exec_pipeline(&p.elements, out);
                self.last_ok = result.is_ok() && !self.pipeline_failed;
                result
            }
            StatementKind::Assignment(a) => {
                self.exec_assignment(a, statement.span)?;
                Ok(())
            }
            StatementKind::If(s) => self.exec_if(s, out),
            StatementKind::ForEach(l) => self.exec_foreach(l, out),
            StatementKind::For(l) => self.exec_for(l, out),
            StatementKind::While(l) => self.exec_while(l, out),
            StatementKind::Do(l) => self.exec_do(l, out),
            StatementKind::Switch(s) => self.exec_switch(s, out),
            StatementKind::Try(t) => self.exec_try(t, out),
            StatementKind::Function(f) => {
                self.st.scopes.define_function(FunctionDef {
                    name: f.name.clone(),
                    body: Arc::new(f.body.clone()),
                    source: self.src.clone(),
                    is_filter: f.is_filter,
                });
                Ok(())
            }
            StatementKind::Break(label) => Err(Flow::Break(label.clone())),
            StatementKind::Continue(label) => Err(Flow::Continue(label.clone())),
            StatementKind::Return(value) => {
                if let Some(value) = value {
                    self.exec_statement(value, out)?;
                }
                Err(Flow::Return)
            }
            StatementKind::Throw(value) => Err(self.exec_throw(value.as_deref(), statement.span)),
            StatementKind::Exit(code) => {
                let code = match code {
                    Some(c) => {
                        let v = self.eval_statement_value(c)?;
                        match convert::convert_to(&v, &PsType::Int, self) {
                            Ok(Value::Int(n)) => n,
                            _ => 0,
                        }
                    }
                    None => 0,
                };
                Err(Flow::Exit(code))
            }
        }
    }

    /// A statement's value: an expression statement gives its value as is
    /// (arrays stay arrays); anything else gives its collected output
    /// (none → `$null`, one → the object, more → an array).
    pub(crate) fn eval_statement_value(&mut self, statement: &Statement) -> R<Value> {
        match &statement.kind {
            StatementKind::Pipeline(p) => {
                if let [PipelineElement::Expression(e)] = p.elements.as_slice()
                    && e.redirections.is_empty()
                {
                    self.pipeline_failed = false;
                    let v = self.eval_expr(&e.expr)?;
                    self.last_ok = !self.pipeline_failed;
                    return Ok(v);
                }
                let mut out = Out::collect();
                self.exec_statement(statement, &mut out)?;
                Ok(Value::from_output(out.items))
            }
            StatementKind::Assignment(a) => self.exec_assignment(a, statement.span),
            _ => {
                let mut out = Out::collect();
                self.exec_statement(statement, &mut out)?;
                Ok(Value::from_output(out.items))
            }
        }
    }

    fn exec_throw(&mut self, value: Option<&Statement>, span: Span) -> Flow {
        let value = match value {
            Some(v) => match self.eval_statement_value(v) {
                Ok(v) => v,
                Err(flow) => return flow,
            },
            None => {
                // A bare `throw` in a catch block rethrows the current error.
                if let Some(Value::ErrorRecord(e)) = self.st.scopes.get("_") {
                    return Flow::script((*e).clone());
                }
                Value::Null
            }
        };
        let e = match &value {
            Value::ErrorRecord(e) => return Flow::script((**e).clone()),
            Value::Exception(e) => {
                let mut e = (**e).clone();
                e.position = None;
                e.fully_qualified_error_id = e.message.clone();
                e.category = super::errors::ErrorCategory::OperationStopped;
                e.command = None;
                e
            }
            Value::Null => PsError::new("ScriptHalted", "ScriptHalted")
                .with_category(super::errors::ErrorCategory::OperationStopped),
            other => {
                let text = convert::to_text(other, self);
                let type_short = other
                    .type_name()
                    .rsplit('.')
                    .next()
                    .unwrap_or("")
                    .to_owned();
                PsError::new(text.clone(), text.clone())
                    .with_category(super::errors::ErrorCategory::OperationStopped)
                    .with_target(text, type_short)
            }
        };
        Flow::script(self.locate(e, span))
    }

    fn exec_if(&mut self, s: &IfStatement, out: &mut Out) -> R<()> {
        for clause in &s.clauses {
            let v = self.eval_statement_value(&clause.condition)?;
            if convert::to_bool(&v) {
                return self.exec_block(&clause.body, out);
            }
        }
        if let Some(body) = &s.else_body {
            self.exec_block(body, out)?;
        }
        Ok(())
    }

    /// Runs a loop body; returns `Ok(true)` to stop the loop.
    fn loop_body(&mut self, body: &[Statement], label: Option<&String>, out: &mut Out) -> R<bool> {
        self.step()?;
        match self.exec_block(body, out) {
            Ok(()) => Ok(false),
            Err(Flow::Break(l)) if label_matches(l.as_ref(), label) => Ok(true),
            Err(Flow::Continue(l)) if label_matches(l.as_ref(), label) => Ok(false),
            Err(other) => Err(other),
        }
    }

    fn exec_foreach(&mut self, l: &ForEachLoop, out: &mut Out) -> R<()> {
        let iterable = self.eval_statement_value(&l.iterable)?;
        let items = match &iterable {
            Value::Null => Vec::new(),
            other => other.enumerate(),
        };
        for item in items {
            self.assign_variable(&l.variable, item, Span::default())?;
            if self.loop_body(&l.body, l.label.as_ref(), out)? {
                break;
            }
        }
        Ok(())
    }

    fn exec_for(&mut self, l: &ForLoop, out: &mut Out) -> R<()> {
        if let Some(init) = &l.init {
            self.exec_statement(init, out)?;
        }
        loop {
            if let Some(cond) = &l.condition {
                let v = self.eval_statement_value(cond)?;
                if !convert::to_bool(&v) {
                    break;
                }
            }
            if self.loop_body(&l.body, l.label.as_ref(), out)? {
                break;
            }
            if let Some(step) = &l.step {
                self.exec_statement(step, out)?;
            }
        }
        Ok(())
    }

    fn exec_while(&mut self, l: &WhileLoop, out: &mut Out) -> R<()> {
        loop {
            let v = self.eval_statement_value(&l.condition)?;
            if !convert::to_bool(&v) {
                break;
            }
            if self.loop_body(&l.body, l.label.as_ref(), out)? {
                break;
            }
        }
        Ok(())
    }

    fn exec_do(&mut self, l: &DoLoop, out: &mut Out) -> R<()> {
        loop {
            if self.loop_body(&l.body, l.label.as_ref(), out)? {
                break;
            }
            let v = self.eval_statement_value(&l.condition)?;
            if convert::to_bool(&v) == l.until {
                break;
            }
        }
        Ok(())
    }

    fn exec_switch(&mut self, s: &SwitchStatement, out: &mut Out) -> R<()> {
        let value = self.eval_statement_value(&s.value)?;
        let items = value.enumerate();
        let saved = self.st.scopes.get("_");
        let result = self.switch_items(s, items, out);
        self.st.scopes.set_local("_", saved.unwrap_or(Value::Null));
        result
    }

    fn switch_items(&mut self, s: &SwitchStatement, items: Vec<Value>, out: &mut Out) -> R<()> {
        'items: for item in items {
            self.step()?;
            self.st.scopes.set_local("_", item.clone());
            let mut matched = false;
            for clause in &s.clauses {
                let hit = match &clause.condition.kind {
                    ExprKind::ScriptBlock(_) => {
                        let sb = self.eval_expr(&clause.condition)?;
                        let Value::ScriptBlock(sb) = sb else {
                            continue;
                        };
                        let v = self.run_block_here(&sb, Some(item.clone()))?;
                        convert::to_bool(&Value::from_output(v))
                    }
                    _ => {
                        let cond = self.eval_expr(&clause.condition)?;
                        let op = if s.flags.regex {
                            CompareOp::Match
                        } else if s.flags.wildcard {
                            CompareOp::Like
                        } else {
                            CompareOp::Eq
                        };

                        operators::compare_scalar(self, op, &item, &cond, s.flags.case_sensitive)
                            .map_err(|e| self.fail(e, clause.condition.span))?
                    }
                };
                if hit {
                    matched = true;
                    match self.exec_block(&clause.body, out) {
                        Ok(()) => {}
                        Err(Flow::Break(l)) if label_matches(l.as_ref(), s.label.as_ref()) => {
                            break 'items;
                        }
                        Err(Flow::Continue(l)) if label_matches(l.as_ref(), s.label.as_ref()) => {
                            continue 'items;
                        }
                        Err(other) => return Err(other),
                    }
                }
            }
            if !matched && let Some(default) = &s.default {
                match self.exec_block(default, out) {
                    Ok(()) => {}
                    Err(Flow::Break(l)) if label_matches(l.as_ref(), s.label.as_ref()) => {
                        break 'items;
                    }
                    Err(Flow::Continue(l)) if label_matches(l.as_ref(), s.label.as_ref()) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(())
    }

    fn exec_try(&mut self, t: &TryStatement, out: &mut Out) -> R<()> {
        self.try_depth += 1;
        let result = self.exec_block(&t.body, out);
        self.try_depth -= 1;
        let result = match result {
            Err(Flow::Error(e, reach)) => {
                let clause = t.catches.iter().find(|c| {
                    c.types.is_empty()
                        || c.types
                            .iter()
                            .any(|ty| e.is_instance_of(&type_name_text(ty)))
                });
                match clause {
                    Some(clause) => {
                        self.add_to_error_list(&e);
                        let saved = self.st.scopes.get("_");
                        self.st
                            .scopes
                            .set_local("_", Value::ErrorRecord(Arc::new(*e)));
                        let r = self.exec_block(&clause.body, out);
                        self.st.scopes.set_local("_", saved.unwrap_or(Value::Null));
                        r
                    }
                    None => Err(Flow::Error(e, reach)),
                }
            }
            other => other,
        };
        if let Some(finally) = &t.finally {
            if matches!(result, Err(Flow::Abort(_))) {
                return result;
            }
            self.exec_block(finally, out)?;
        }
        result
    }

    // ---- assignment --------------------------------------------------

    pub(crate) fn exec_assignment(&mut self, a: &Assignment, span: Span) -> R<Value> {
        let rhs = self.eval_statement_value(&a.value)?;
        let value = if a.op == AssignOp::Assign {
            rhs
        } else {
            let current = self.eval_expr(&a.target)?;
            let op = match a.op {
                AssignOp::Add => BinaryOp::Add,
                AssignOp::Subtract => BinaryOp::Subtract,
                AssignOp::Multiply => BinaryOp::Multiply,
                AssignOp::Divide => BinaryOp::Divide,
                AssignOp::Remainder | AssignOp::Assign => BinaryOp::Remainder,
            };
            operators::binary(self, op, current, rhs).map_err(|e| self.fail(e, span))?
        };
        self.assign(&a.target, value.clone(), span)?;
        Ok(value)
    }

    /// Stores `value` into an assignable expression.
    pub(crate) fn assign(&mut self, target: &Expr, value: Value, span: Span) -> R<()> {
        match &target.kind {
            ExprKind::Variable(v) => self.assign_variable(v, value, target.span),
            ExprKind::Cast { ty, operand } => {
                let ExprKind::Variable(v) = &operand.kind else {
                    return Err(self.fail(
                        PsError::unsupported("assigning to a cast of anything but a variable"),
                        target.span,
                    ));
                };
                let ty = PsType::resolve(ty);
                let converted =
                    convert::convert_to(&value, &ty, self).map_err(|e| self.fail(e, span))?;
                self.set_variable_constrained(v, converted, ty, target.span)
            }
            ExprKind::Member {
                target: object,
                name,
                is_static: false,
            } => {
                let object = self.eval_expr(object)?;
                let name = self.member_name(name)?;
                self.set_member(&object, &name, value)
                    .map_err(|e| self.fail(e, target.span))
            }
            ExprKind::Index {
                target: object,
                index,
            } => {
                let object = self.eval_expr(object)?;
                let index = self.eval_expr(index)?;
                self.set_index(&object, index, value)
                    .map_err(|e| self.fail(e, target.span))
            }
            ExprKind::Array(targets) => {
                let mut items = value.enumerate();
                if matches!(value, Value::Null) {
                    items = vec![Value::Null];
                }
                let n = targets.len();
                for (i, t) in targets.iter().enumerate() {
                    let v = if i + 1 == n {
                        let rest: Vec<Value> = if items.len() > i {
                            items[i..].to_vec()
                        } else {
                            Vec::new()
                        };
                        match rest.len() {
                            0 => Value::Null,
                            1 => rest.into_iter().next().unwrap_or(Value::Null),
                            _ => Value::array(rest),
                        }
                    } else {
                        items.get(i).cloned().unwrap_or(Value::Null)
                    };
                    self.assign(t, v, span)?;
                }
                Ok(())
            }
            ExprKind::Paren(inner) => {
                if let StatementKind::Pipeline(p) = &inner.kind
                    && let [PipelineElement::Expression(e)] = p.elements.as_slice() {
                        return self.assign(&e.expr, value, span);
                    }
                Err(self.fail(
                    PsError::new(
                        "The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.",
                        "InvalidLeftHandSide",
                    ),
                    target.span,
                ))
            }
            _ => Err(self.fail(
                PsError::new(
                    "The assignment expression is not valid. The input to an assignment operator must be an object that is able to accept assignments, such as a variable or a property.",
                    "InvalidLeftHandSide",
                ),
                target.span,
            )),
        }
    }

    /// Sets a variable, honouring scope qualifiers and type constraints.
    pub(crate) fn assign_variable(&mut self, v: &Variable, value: Value, span: Span) -> R<()> {
        let name = v.name.as_str();
        let lower = name.to_ascii_lowercase();
        let scope = v.scope.as_deref().map(str::to_ascii_lowercase);
        match scope.as_deref() {
            Some("env") => {
                let key = name.to_lowercase();
                if value.is_null() || matches!(&value, Value::String(s) if s.is_empty()) {
                    self.st.env.remove(&key);
                } else {
                    let text = convert::to_text(&value, self);
                    self.st.env.insert(key, (name.to_owned(), text));
                }
                return Ok(());
            }
            Some("global" | "script") => {
                let value = self.check_variable_value(name, value, span, true)?;
                self.st.scopes.set_global(name, value);
                return Ok(());
            }
            None | Some("local" | "private" | "variable") => {}
            Some(other) => {
                return Err(self.fail(
                    PsError::unsupported(format!("the variable scope or drive '{other}:'")),
                    span,
                ));
            }
        }
        match lower.as_str() {
            "null" => return Ok(()),
            "true" | "false" | "?" | "pid" | "home" | "host" => {
                return Err(self.fail(
                    PsError::new(
                        format!(
                            "Cannot overwrite variable {name} because it is read-only or constant."
                        ),
                        "VariableNotWritable",
                    )
                    .with_category(super::errors::ErrorCategory::WriteError)
                    .with_exception(
                        "System.Management.Automation.SessionStateUnauthorizedAccessException",
                    )
                    .with_target(name, "String"),
                    span,
                ));
            }
            _ => {}
        }
        let value = self.check_variable_value(name, value, span, false)?;
        self.st.scopes.set_local(name, value);
        Ok(())
    }

    /// Converts a value for a constrained variable (preference variables
    /// are `ActionPreference`-typed).
    fn check_variable_value(
        &mut self,
        name: &str,
        value: Value,
        span: Span,
        global: bool,
    ) -> R<Value> {
        if PREFERENCE_VARIABLES
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
        {
            let text = convert::to_text(&value, self);
            return match ActionPreference::parse(&text) {
                Some(p) => Ok(Value::enumeration(
                    "System.Management.Automation.ActionPreference",
                    p.name(),
                    p.number(),
                )),
                None => Err(self.fail(
                    PsError::conversion(
                        &text,
                        "System.Management.Automation.ActionPreference",
                        "Unable to match the identifier name to a valid enumerator name. Specify one of the following enumerator names and try again:\nSilentlyContinue, Stop, Continue, Inquire, Ignore, Suspend",
                    ),
                    span,
                )),
            };
        }
        let constraint = if global {
            self.st.scopes.global_constraint(name)
        } else {
            self.st.scopes.local_constraint(name)
        };
        match constraint {
            Some(ty) => convert::convert_to(&value, &ty, self).map_err(|e| self.fail(e, span)),
            None => Ok(value),
        }
    }

    fn set_variable_constrained(
        &mut self,
        v: &Variable,
        value: Value,
        ty: PsType,
        span: Span,
    ) -> R<()> {
        match v.scope.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("global" | "script") => {
                self.st.scopes.set_global(&v.name, value);
                Ok(())
            }
            Some("env") => self.assign_variable(v, value, span),
            _ => {
                self.st.scopes.set_local_constrained(&v.name, value, ty);
                Ok(())
            }
        }
    }

    // ---- expressions ---------------------------------------------------

    pub(crate) fn eval_expr(&mut self, e: &Expr) -> R<Value> {
        match &e.kind {
            ExprKind::Number(n) => Ok(number_value(*n)),
            ExprKind::String(s) => Ok(Value::from(s.as_str())),
            ExprKind::Expandable(parts) => self.expand(parts).map(Value::from),
            ExprKind::Variable(v) => self.get_variable(v, e.span),
            ExprKind::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval_expr(item)?);
                }
                Ok(Value::array(values))
            }
            ExprKind::Paren(statement) => self.eval_statement_value(statement),
            ExprKind::SubExpression(statements) => {
                let mut out = Out::collect();
                self.exec_block(statements, &mut out)?;
                Ok(Value::from_output(out.items))
            }
            ExprKind::ArraySubExpression(statements) => {
                let mut out = Out::collect();
                self.exec_block(statements, &mut out)?;
                Ok(Value::array(out.items))
            }
            ExprKind::Hashtable(entries) => self.eval_hashtable(entries, false, e.span),
            ExprKind::ScriptBlock(block) => Ok(Value::ScriptBlock(ScriptBlockValue {
                block: Arc::new((**block).clone()),
                source: self.src.clone(),
            })),
            ExprKind::TypeLiteral(t) => self.type_literal(t, e.span),
            ExprKind::Cast { ty, operand } => self.eval_cast(ty, operand, e.span),
            ExprKind::Member {
                target,
                name,
                is_static,
            } => {
                if *is_static {
                    let ty = self.static_target(target)?;
                    let name = self.member_name(name)?;
                    super::statics::get_static(self, &ty, &name)
                        .map_err(|err| self.fail(err, e.span))
                } else {
                    let object = self.eval_expr(target)?;
                    let name = self.member_name(name)?;
                    self.get_member(&object, &name)
                        .map_err(|err| self.fail(err, e.span))
                }
            }
            ExprKind::MethodCall {
                target,
                name,
                arguments,
                is_static,
            } => {
                let name = self.member_name(name)?;
                if *is_static {
                    let ty = self.static_target(target)?;
                    let args = self.eval_args(arguments)?;
                    super::statics::call_static(self, &ty, &name, args, e.span)
                } else {
                    let object = self.eval_expr(target)?;
                    let args = self.eval_args(arguments)?;
                    self.call_method(&object, &name, args, e.span)
                }
            }
            ExprKind::Index { target, index } => {
                let object = self.eval_expr(target)?;
                let index = self.eval_expr(index)?;
                self.index(&object, &index)
                    .map_err(|err| self.fail(err, e.span))
            }
            ExprKind::Unary { op, operand } => self.eval_unary(*op, operand, e.span),
            ExprKind::Binary { op, lhs, rhs } => self.eval_binary(*op, lhs, rhs, e.span),
        }
    }

    fn eval_args(&mut self, arguments: &[Expr]) -> R<Vec<Value>> {
        let mut args = Vec::with_capacity(arguments.len());
        for a in arguments {
            args.push(self.eval_expr(a)?);
        }
        Ok(args)
    }

    pub(crate) fn member_name(&mut self, name: &MemberName) -> R<String> {
        match name {
            MemberName::Name(n) => Ok(n.clone()),
            MemberName::Expr(e) => {
                let v = self.eval_expr(e)?;
                Ok(convert::to_text(&v, self))
            }
        }
    }

    fn static_target(&mut self, target: &Expr) -> R<PsType> {
        match &target.kind {
            ExprKind::TypeLiteral(t) => {
                let ty = PsType::resolve(t);
                if let PsType::Named(name) = &ty
                    && !super::statics::is_known_type(name)
                {
                    return Err(self.fail(type_not_found(name), target.span));
                }
                Ok(ty)
            }
            _ => match self.eval_expr(target)? {
                Value::Type(t) => Ok(t.ty),
                _ => Err(self.fail(
                    PsError::unsupported("'::' on something other than a type literal"),
                    target.span,
                )),
            },
        }
    }

    fn type_literal(&mut self, t: &TypeName, span: Span) -> R<Value> {
        let ty = PsType::resolve(t);
        if let PsType::Named(name) = &ty
            && !super::statics::is_known_type(name)
        {
            return Err(self.fail(type_not_found(name), span));
        }
        Ok(Value::Type(super::value::TypeValue::new(ty)))
    }

    fn eval_cast(&mut self, ty: &TypeName, operand: &Expr, span: Span) -> R<Value> {
        let target = PsType::resolve(ty);
        match (&target, &operand.kind) {
            (PsType::Ordered, ExprKind::Hashtable(entries)) => {
                return self.eval_hashtable(entries, true, operand.span);
            }
            (PsType::PsCustomObject, ExprKind::Hashtable(entries)) => {
                let table = self.eval_hashtable(entries, true, operand.span)?;
                return convert::convert_to(&table, &PsType::PsCustomObject, self)
                    .map_err(|e| self.fail(e, span));
            }
            (PsType::Named(name), _) if !super::statics::is_known_type(name) => {
                return Err(self.fail(type_not_found(name), span));
            }
            _ => {}
        }
        let value = self.eval_expr(operand)?;
        if target == PsType::Void {
            return Ok(Value::Null);
        }
        convert::convert_to(&value, &target, self).map_err(|e| self.fail(e, span))
    }

    fn eval_hashtable(
        &mut self,
        entries: &[crate::ps::ast::HashEntry],
        ordered: bool,
        span: Span,
    ) -> R<Value> {
        let mut data = HashtableData::new(ordered);
        for entry in entries {
            let key = self.eval_expr(&entry.key)?;
            let value = self.eval_statement_value(&entry.value)?;
            if data.contains_key(&key) {
                let text = convert::to_text(&key, self);
                return Err(self.fail(
                    PsError::new(
                        format!("Duplicate keys '{text}' are not allowed in hash literals."),
                        "DuplicateKeyInHashLiteral",
                    )
                    .with_category(super::errors::ErrorCategory::ParserError),
                    span,
                ));
            }
            data.insert(key, value);
        }
        Ok(Value::Hashtable(Shared::new(data)))
    }

    /// Expands `"text $var $(...)"`.
    pub(crate) fn expand(&mut self, parts: &[StringPart]) -> R<String> {
        let mut s = String::new();
        for part in parts {
            match part {
                StringPart::Literal(t) => s.push_str(t),
                StringPart::Variable(v) => {
                    let value = self.get_variable(v, Span::default())?;
                    s.push_str(&convert::to_text(&value, self));
                }
                StringPart::SubExpression(statements) => {
                    let mut out = Out::collect();
                    self.exec_block(statements, &mut out)?;
                    let value = Value::from_output(out.items);
                    s.push_str(&convert::to_text(&value, self));
                }
            }
            self.check_len(s.len(), "A string")?;
        }
        self.charge(s.len())?;
        Ok(s)
    }

    /// Reads a variable.
    pub(crate) fn get_variable(&mut self, v: &Variable, span: Span) -> R<Value> {
        let name = v.name.as_str();
        match v.scope.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("env") => {
                return Ok(self
                    .st
                    .env
                    .get(&name.to_lowercase())
                    .map_or(Value::Null, |(_, val)| Value::from(val.as_str())));
            }
            Some("global" | "script") => {
                return Ok(self.st.scopes.get_global(name).unwrap_or(Value::Null));
            }
            None | Some("local" | "private" | "variable") => {}
            Some(other) => {
                return Err(self.fail(
                    PsError::unsupported(format!("the variable scope or drive '{other}:'")),
                    span,
                ));
            }
        }
        Ok(match name.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            "?" => Value::Bool(self.last_ok),
            "psitem" => self.st.scopes.get("_").unwrap_or(Value::Null),
            "pwd" => Value::Object(Shared::new(super::value::ObjectData::typed(
                "System.Management.Automation.PathInfo",
                vec![
                    (
                        "Drive".into(),
                        Value::from(&self.st.cwd[..1.min(self.st.cwd.len())]),
                    ),
                    ("Path".into(), Value::from(self.st.cwd.as_str())),
                    ("ProviderPath".into(), Value::from(self.st.cwd.as_str())),
                ],
                Some(self.st.cwd.clone()),
            ))),
            "myinvocation" => {
                let name = self
                    .frames
                    .last()
                    .map_or_else(String::new, |f| f.name.clone());
                let command = Value::Object(Shared::new(super::value::ObjectData::typed(
                    "System.Management.Automation.FunctionInfo",
                    vec![("Name".into(), Value::from(name.as_str()))],
                    Some(name.clone()),
                )));
                Value::Object(Shared::new(super::value::ObjectData::typed(
                    "System.Management.Automation.InvocationInfo",
                    vec![
                        ("MyCommand".into(), command),
                        ("InvocationName".into(), Value::from(name.as_str())),
                        ("ScriptName".into(), Value::str("")),
                        ("PSScriptRoot".into(), Value::str("")),
                    ],
                    None,
                )))
            }
            _ => self.st.scopes.get(name).unwrap_or(Value::Null),
        })
    }

    fn eval_unary(&mut self, op: UnaryOp, operand: &Expr, span: Span) -> R<Value> {
        match op {
            UnaryOp::PreIncrement
            | UnaryOp::PreDecrement
            | UnaryOp::PostIncrement
            | UnaryOp::PostDecrement => {
                let current = self.eval_expr(operand)?;
                let delta = if matches!(op, UnaryOp::PreIncrement | UnaryOp::PostIncrement) {
                    BinaryOp::Add
                } else {
                    BinaryOp::Subtract
                };
                let base = if current.is_null() {
                    Value::Int(0)
                } else {
                    current.clone()
                };
                let updated = operators::binary(self, delta, base, Value::Int(1))
                    .map_err(|e| self.fail(e, span))?;
                self.assign(operand, updated.clone(), span)?;
                Ok(
                    if matches!(op, UnaryOp::PreIncrement | UnaryOp::PreDecrement) {
                        updated
                    } else {
                        current
                    },
                )
            }
            _ => {
                let v = self.eval_expr(operand)?;
                operators::unary(self, op, v).map_err(|e| self.fail(e, span))
            }
        }
    }

    fn eval_binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> R<Value> {
        match op {
            BinaryOp::And => {
                let l = self.eval_expr(lhs)?;
                if !convert::to_bool(&l) {
                    return Ok(Value::Bool(false));
                }
                let r = self.eval_expr(rhs)?;
                Ok(Value::Bool(convert::to_bool(&r)))
            }
            BinaryOp::Or => {
                let l = self.eval_expr(lhs)?;
                if convert::to_bool(&l) {
                    return Ok(Value::Bool(true));
                }
                let r = self.eval_expr(rhs)?;
                Ok(Value::Bool(convert::to_bool(&r)))
            }
            _ => {
                let l = self.eval_expr(lhs)?;
                let r = self.eval_expr(rhs)?;
                operators::binary(self, op, l, r).map_err(|e| self.fail(e, span))
            }
        }
    }
}

fn label_matches(given: Option<&String>, label: Option<&String>) -> bool {
    match given {
        None => true,
        Some(g) => label.is_some_and(|l| l.eq_ignore_ascii_case(g)),
    }
}

fn number_value(n: Number) -> Value {
    match n {
        Number::Int(i) => Value::Int(i),
        Number::Long(l) => Value::Long(l),
        Number::Double(d) => Value::Double(d),
        Number::Decimal(d) => Value::Decimal(d),
    }
}

/// Real .NET types the emulator does not model: naming them fails with
/// "not supported" rather than PowerShell's "Unable to find type".
const UNMODELLED_TYPES: &[&str] = &[
    "ref",
    "version",
    "system.version",
    "uri",
    "system.uri",
    "ipaddress",
    "system.net.ipaddress",
    "xml",
    "system.xml.xmldocument",
    "wmi",
    "wmiclass",
    "adsi",
    "system.text.stringbuilder",
    "text.stringbuilder",
    "system.collections.generic.dictionary",
];

/// `Unable to find type [X].`, or "not supported" for a real type the
/// emulator does not model.
pub(crate) fn type_not_found(name: &str) -> PsError {
    let lower = name.to_ascii_lowercase();
    let base = lower.split('[').next().unwrap_or(&lower);
    if UNMODELLED_TYPES.contains(&base) {
        return PsError::unsupported(format!("the .NET type [{name}]"));
    }
    PsError::new(format!("Unable to find type [{name}]."), "TypeNotFound")
        .with_category(super::errors::ErrorCategory::InvalidOperation)
        .with_exception(exception::RUNTIME)
        .with_target(name, "TypeName")
}

/// The position of `span` in `source`.
pub(crate) fn position_in(source: &str, span: Span) -> ErrorPosition {
    let start = Position::locate(source, span.start);
    let end = Position::locate(source, span.end);
    let text = line_text(source, span.start).to_owned();
    let length = if start.line == end.line {
        end.column.saturating_sub(start.column)
    } else {
        text.trim_end().chars().count().saturating_sub(start.column) + 1
    };
    ErrorPosition {
        line: start.line,
        column: start.column,
        line_text: text,
        length,
    }
}

/// `C:\a\.\b\..\c` → `C:\a\c`; keeps a UNC `\\` prefix.
pub(crate) fn normalize_path(path: &str) -> String {
    let (prefix, rest) = if let Some(rest) = path.strip_prefix("\\\\") {
        ("\\\\", rest)
    } else {
        ("", path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('\\') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.len() > 1
                    || (prefix.is_empty() && parts.len() == 1 && !parts[0].ends_with(':'))
                {
                    parts.pop();
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("\\");
    if prefix.is_empty() && joined.len() == 2 && joined.ends_with(':') {
        format!("{joined}\\")
    } else {
        format!("{prefix}{joined}")
    }
}

/// Whether the value of an expression statement should not be written
/// (`$i++`, `[void]...`).
pub(crate) fn is_silent_expression(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Unary { op, .. } => matches!(
            op,
            UnaryOp::PreIncrement
                | UnaryOp::PreDecrement
                | UnaryOp::PostIncrement
                | UnaryOp::PostDecrement
        ),
        ExprKind::Cast { ty, .. } => PsType::resolve(ty) == PsType::Void,
        _ => false,
    }
}
