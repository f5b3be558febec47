//! The pretty-printer: syntax trees back to PowerShell source.
//!
//! The output is canonical rather than faithful: strings are single-quoted
//! (or double-quoted when they expand), numbers are written in decimal,
//! blocks are indented four spaces. Parsing the output gives back the same
//! tree (spans aside), which the round-trip tests check; so the printer adds
//! parentheses only where the tree needs them, and escapes whatever would
//! otherwise read differently.

use std::fmt;

use super::ast::{
    AssignOp, Attribute, AttributeArgument, BinaryOp, Command, CommandArgument, CommandName, Expr,
    ExprKind, HashEntry, Invocation, MemberName, Number, ParamBlock, Parameter, ParameterAttribute,
    PipelineElement, Redirection, RedirectionTarget, ScriptBlock, ScriptBody, Statement,
    StatementKind, Stream, StringPart, TypeName, UnaryOp, Variable,
};
use super::chars::{
    ends_word, is_dash, is_double_quote, is_ident_char, is_ident_start, is_quote, is_single_quote,
    is_var_char,
};
use super::lexer::scan_number;
use super::parser::{is_keyword, precedence};

const INDENT: &str = "    ";
/// Binding strength of postfix forms and primaries (tighter than any binary
/// operator, whose strengths are 1..=7 — see the parser's `precedence`).
const POSTFIX: u8 = 10;
const UNARY: u8 = 9;
const ARRAY: u8 = 8;

/// Prints a whole script.
#[must_use]
pub fn print(script: &ScriptBlock) -> String {
    block_body(script, 0)
}

/// Prints one statement on one line (nested blocks span several).
#[must_use]
pub fn print_statement(statement: &Statement) -> String {
    self::statement(statement, 0)
}

/// Prints one expression.
#[must_use]
pub fn print_expr(expr: &Expr) -> String {
    self::expr(expr, 0)
}

impl fmt::Display for ScriptBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&script_block(self, 0))
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&statement(self, 0))
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&expr(self, 0))
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&type_name(self))
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&variable(self))
    }
}

fn pad(level: usize) -> String {
    INDENT.repeat(level)
}

// ---- blocks and statements ---------------------------------------------------

/// The lines of a script block's inside, each indented to `level`.
fn block_body(block: &ScriptBlock, level: usize) -> String {
    let mut out = String::new();
    if let Some(params) = &block.param_block {
        out.push_str(&param_block(params, level));
    }
    match &block.body {
        ScriptBody::Statements(statements) => out.push_str(&statement_lines(statements, level)),
        ScriptBody::Named(named) => {
            for (name, body) in [
                ("begin", &named.begin),
                ("process", &named.process),
                ("end", &named.end),
            ] {
                if let Some(body) = body {
                    out.push_str(&format!("{}{name} {}\n", pad(level), braced(body, level)));
                }
            }
        }
    }
    out
}

fn statement_lines(statements: &[Statement], level: usize) -> String {
    statements
        .iter()
        .map(|s| format!("{}{}\n", pad(level), statement(s, level)))
        .collect()
}

/// `{ statements }` whose first line continues the current one.
fn braced(statements: &[Statement], level: usize) -> String {
    if statements.is_empty() {
        return "{}".to_owned();
    }
    format!(
        "{{\n{}{}}}",
        statement_lines(statements, level + 1),
        pad(level)
    )
}

fn inline_statements(statements: &[Statement], level: usize) -> String {
    statements
        .iter()
        .map(|s| statement(s, level))
        .collect::<Vec<_>>()
        .join("; ")
}

fn script_block(block: &ScriptBlock, level: usize) -> String {
    if block.param_block.is_none()
        && let ScriptBody::Statements(statements) = &block.body
    {
        match statements.as_slice() {
            [] => return "{}".to_owned(),
            [only] => {
                let text = statement(only, level + 1);
                if !text.contains(['\n', '\r']) && text.len() <= 80 {
                    return format!("{{ {text} }}");
                }
                // What `block_body` would write, from the text we have:
                // printing the statement again made every nested block
                // double the work (2^depth; the ps fuzz target's script of
                // 221 bytes never finished printing).
                return format!("{{\n{}{text}\n{}}}", pad(level + 1), pad(level));
            }
            _ => {}
        }
    }
    format!("{{\n{}{}}}", block_body(block, level + 1), pad(level))
}

fn param_block(block: &ParamBlock, level: usize) -> String {
    let mut out = String::new();
    for a in &block.attributes {
        out.push_str(&format!("{}{}\n", pad(level), attribute(a, level)));
    }
    if block.parameters.is_empty() {
        out.push_str(&format!("{}param()\n", pad(level)));
        return out;
    }
    out.push_str(&format!("{}param(\n", pad(level)));
    let last = block.parameters.len() - 1;
    for (i, p) in block.parameters.iter().enumerate() {
        let comma = if i == last { "" } else { "," };
        out.push_str(&format!(
            "{}{}{comma}\n",
            pad(level + 1),
            parameter(p, level + 1)
        ));
    }
    out.push_str(&format!("{})\n", pad(level)));
    out
}

fn parameter(p: &Parameter, level: usize) -> String {
    let mut out = String::new();
    for a in &p.attributes {
        match a {
            ParameterAttribute::Attribute(a) => out.push_str(&attribute(a, level)),
            ParameterAttribute::Type(t) => out.push_str(&format!("[{}]", type_name(t))),
        }
    }
    out.push_str(&variable(&p.variable));
    if let Some(default) = &p.default {
        out.push_str(" = ");
        out.push_str(&no_comma(default, level));
    }
    out
}

fn attribute(a: &Attribute, level: usize) -> String {
    let arguments: Vec<String> = a
        .arguments
        .iter()
        .map(|arg| match arg {
            AttributeArgument::Positional(e) => no_comma(e, level),
            AttributeArgument::Named { name, value: None } => name.clone(),
            AttributeArgument::Named {
                name,
                value: Some(v),
            } => format!("{name} = {}", no_comma(v, level)),
        })
        .collect();
    format!("[{}({})]", a.name, arguments.join(", "))
}

fn label(label: Option<&String>) -> String {
    label.map_or_else(String::new, |l| format!(":{l} "))
}

fn statement(s: &Statement, level: usize) -> String {
    match &s.kind {
        StatementKind::Pipeline(p) => p
            .elements
            .iter()
            .map(|e| element(e, level))
            .collect::<Vec<_>>()
            .join(" | "),
        StatementKind::Assignment(a) => format!(
            "{} {} {}",
            expr(&a.target, level),
            assign_op(a.op),
            statement(&a.value, level)
        ),
        StatementKind::If(i) => {
            let mut out = String::new();
            for (n, clause) in i.clauses.iter().enumerate() {
                let keyword = if n == 0 { "if" } else { " elseif" };
                out.push_str(&format!(
                    "{keyword} ({}) {}",
                    statement(&clause.condition, level),
                    braced(&clause.body, level)
                ));
            }
            if let Some(body) = &i.else_body {
                out.push_str(&format!(" else {}", braced(body, level)));
            }
            out
        }
        StatementKind::ForEach(f) => format!(
            "{}foreach ({} in {}) {}",
            label(f.label.as_ref()),
            variable(&f.variable),
            statement(&f.iterable, level),
            braced(&f.body, level)
        ),
        StatementKind::For(f) => {
            let part = |p: &Option<Box<Statement>>| {
                p.as_ref().map_or_else(String::new, |s| statement(s, level))
            };
            format!(
                "{}for ({}; {}; {}) {}",
                label(f.label.as_ref()),
                part(&f.init),
                part(&f.condition),
                part(&f.step),
                braced(&f.body, level)
            )
        }
        StatementKind::While(w) => format!(
            "{}while ({}) {}",
            label(w.label.as_ref()),
            statement(&w.condition, level),
            braced(&w.body, level)
        ),
        StatementKind::Do(d) => format!(
            "{}do {} {} ({})",
            label(d.label.as_ref()),
            braced(&d.body, level),
            if d.until { "until" } else { "while" },
            statement(&d.condition, level)
        ),
        StatementKind::Switch(s) => {
            let mut out = format!("{}switch", label(s.label.as_ref()));
            for (on, flag) in [
                (s.flags.regex, " -Regex"),
                (s.flags.wildcard, " -Wildcard"),
                (s.flags.exact, " -Exact"),
                (s.flags.case_sensitive, " -CaseSensitive"),
            ] {
                if on {
                    out.push_str(flag);
                }
            }
            out.push_str(&format!(" ({}) {{\n", statement(&s.value, level)));
            for clause in &s.clauses {
                // Quoted even when a bare word would do: a bare `default`
                // is the default clause.
                let condition = match &clause.condition.kind {
                    ExprKind::String(text) => single_quoted(text),
                    _ => argument(&clause.condition, level + 1),
                };
                out.push_str(&format!(
                    "{}{condition} {}\n",
                    pad(level + 1),
                    braced(&clause.body, level + 1)
                ));
            }
            if let Some(body) = &s.default {
                out.push_str(&format!(
                    "{}default {}\n",
                    pad(level + 1),
                    braced(body, level + 1)
                ));
            }
            out.push_str(&format!("{}}}", pad(level)));
            out
        }
        StatementKind::Try(t) => {
            let mut out = format!("try {}", braced(&t.body, level));
            for c in &t.catches {
                out.push_str(" catch ");
                let types: Vec<String> = c
                    .types
                    .iter()
                    .map(|t| format!("[{}]", type_name(t)))
                    .collect();
                if !types.is_empty() {
                    out.push_str(&types.join(", "));
                    out.push(' ');
                }
                out.push_str(&braced(&c.body, level));
            }
            if let Some(body) = &t.finally {
                out.push_str(&format!(" finally {}", braced(body, level)));
            }
            out
        }
        StatementKind::Function(f) => {
            let keyword = if f.is_filter { "filter" } else { "function" };
            let body = block_body(&f.body, level + 1);
            if body.is_empty() {
                format!("{keyword} {} {{}}", bare_word(&f.name))
            } else {
                format!(
                    "{keyword} {} {{\n{body}{}}}",
                    bare_word(&f.name),
                    pad(level)
                )
            }
        }
        StatementKind::Break(l) => keyword_with_label("break", l.as_ref()),
        StatementKind::Continue(l) => keyword_with_label("continue", l.as_ref()),
        StatementKind::Return(v) => keyword_with_value("return", v.as_deref(), level),
        StatementKind::Throw(v) => keyword_with_value("throw", v.as_deref(), level),
        StatementKind::Exit(v) => keyword_with_value("exit", v.as_deref(), level),
    }
}

fn keyword_with_label(keyword: &str, label: Option<&String>) -> String {
    match label {
        Some(l) => format!("{keyword} {l}"),
        None => keyword.to_owned(),
    }
}

fn keyword_with_value(keyword: &str, value: Option<&Statement>, level: usize) -> String {
    match value {
        Some(v) => format!("{keyword} {}", statement(v, level)),
        None => keyword.to_owned(),
    }
}

fn assign_op(op: AssignOp) -> &'static str {
    match op {
        AssignOp::Assign => "=",
        AssignOp::Add => "+=",
        AssignOp::Subtract => "-=",
        AssignOp::Multiply => "*=",
        AssignOp::Divide => "/=",
        AssignOp::Remainder => "%=",
    }
}

// ---- pipelines and commands ----------------------------------------------------

fn element(e: &PipelineElement, level: usize) -> String {
    match e {
        PipelineElement::Expression(e) => {
            let mut out = expr(&e.expr, level);
            for r in &e.redirections {
                out.push(' ');
                out.push_str(&redirection(r, level));
            }
            out
        }
        PipelineElement::Command(c) => command(c, level),
    }
}

fn command(c: &Command, level: usize) -> String {
    let mut out = match (&c.invocation, &c.name) {
        (Invocation::Direct, CommandName::Bare(name)) => bare_word(name),
        (Invocation::DotSource, CommandName::Expr(e)) => format!(". {}", argument(e, level)),
        (Invocation::DotSource, CommandName::Bare(name)) => format!(". {}", single_quoted(name)),
        (_, CommandName::Expr(e)) => format!("& {}", argument(e, level)),
        (_, CommandName::Bare(name)) => format!("& {}", single_quoted(name)),
    };
    for a in &c.arguments {
        out.push(' ');
        match a {
            CommandArgument::Parameter { name, value, .. } => {
                out.push('-');
                out.push_str(name);
                if let Some(v) = value {
                    out.push(':');
                    out.push_str(&argument(v, level));
                }
            }
            CommandArgument::Positional(e) => out.push_str(&argument(e, level)),
            CommandArgument::Splat { variable: v, .. } => {
                out.push('@');
                if let Some(scope) = &v.scope {
                    out.push_str(scope);
                    out.push(':');
                }
                out.push_str(&v.name);
            }
        }
    }
    for r in &c.redirections {
        out.push(' ');
        out.push_str(&redirection(r, level));
    }
    out
}

fn redirection(r: &Redirection, level: usize) -> String {
    let stream = match r.from {
        Stream::All => "*",
        Stream::Output => "",
        Stream::Error => "2",
        Stream::Warning => "3",
        Stream::Verbose => "4",
        Stream::Debug => "5",
        Stream::Information => "6",
    };
    match &r.target {
        RedirectionTarget::Merge(_) => format!("{stream}>&1"),
        RedirectionTarget::File { path, append } => {
            let op = if *append { ">>" } else { ">" };
            format!("{stream}{op} {}", argument_element(path, level))
        }
    }
}

/// A command argument, written so command mode reads it back the same way.
fn argument(e: &Expr, level: usize) -> String {
    match &e.kind {
        ExprKind::Array(items) if items.len() > 1 => items
            .iter()
            .map(|i| argument_element(i, level))
            .collect::<Vec<_>>()
            .join(", "),
        _ => argument_element(e, level),
    }
}

fn argument_element(e: &Expr, level: usize) -> String {
    match &e.kind {
        ExprKind::String(text) if reads_as_bare_word(text) => text.clone(),
        ExprKind::Number(_) => expr(e, level),
        ExprKind::Unary {
            op: UnaryOp::Negate,
            operand,
        } if matches!(operand.kind, ExprKind::Number(_)) => format!("-{}", expr(operand, level)),
        ExprKind::Array(items) if items.len() == 1 => items
            .iter()
            .map(|only| format!(",{}", argument_element(only, level)))
            .collect(),
        _ if command_safe(e) => expr(e, level),
        _ => format!("({})", expr(e, level)),
    }
}

/// Whether a string can be written as a bare word in command mode and read
/// back as the same string: `Stop`, `Name`, `C:\temp\x.iso`, `*.txt`.
fn reads_as_bare_word(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(char::is_alphabetic)
        && chars.all(|c| {
            c.is_alphanumeric()
                || matches!(
                    c,
                    '_' | '-' | '.' | '\\' | '/' | ':' | '*' | '?' | '+' | '~' | '%'
                )
        })
}

/// Whether `e` printed as is starts a primary in command mode (a type
/// literal or operator would be read as a bare word there).
fn command_safe(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Variable(_)
        | ExprKind::String(_)
        | ExprKind::Expandable(_)
        | ExprKind::Paren(_)
        | ExprKind::SubExpression(_)
        | ExprKind::ArraySubExpression(_)
        | ExprKind::Hashtable(_)
        | ExprKind::ScriptBlock(_) => true,
        ExprKind::Member { target, .. }
        | ExprKind::MethodCall { target, .. }
        | ExprKind::Index { target, .. } => command_safe(target),
        _ => false,
    }
}

/// A command or function name, with backticks before characters that would
/// end the word or change how it reads.
fn bare_word(name: &str) -> String {
    let mut out = String::new();
    if is_keyword(name) {
        // An empty quoted section keeps the text and stops it being read as
        // the keyword (a backtick could turn `f` or `t` into a control char).
        let mut chars = name.chars();
        if let Some(first) = chars.next() {
            out.push(first);
            out.push_str("''");
            out.push_str(chars.as_str());
        }
        return out;
    }
    for (i, c) in name.chars().enumerate() {
        let first_special = i == 0
            && (matches!(
                c,
                '$' | '(' | '[' | '{' | '!' | '+' | ',' | '@' | '&' | ':' | '#'
            ) || is_dash(c)
                || starts_like_number(name));
        match c {
            '\n' => out.push_str("`n"),
            '\r' => out.push_str("`r"),
            c if first_special || ends_word(c) || is_quote(c) || matches!(c, '$' | '`') => {
                out.push('`');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a statement starting with `name` would be read as a number (an
/// expression) or as `.` dot-sourcing, rather than as a command name.
/// (A name starting with `0` cannot come from a parse: `` `0 `` is NUL.)
fn starts_like_number(name: &str) -> bool {
    let mut chars = name.chars();
    let first = chars.next();
    let second = chars.next();
    match (first, second) {
        (Some('.'), None) => true,
        (Some('.'), Some(d)) if d.is_ascii_digit() => number_then_delimiter(name),
        (Some(d), _) if d.is_ascii_digit() && d != '0' => number_then_delimiter(name),
        _ => false,
    }
}

fn number_then_delimiter(text: &str) -> bool {
    scan_number(text, 0, text.len()).is_some_and(|(_, end)| {
        !text
            .get(end..)
            .is_some_and(|rest| rest.starts_with(is_ident_char))
    })
}

// ---- expressions -----------------------------------------------------------------

fn strength(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary { op, .. } => precedence(*op),
        ExprKind::Array(items) if items.len() > 1 => ARRAY,
        ExprKind::Array(items) if items.len() == 1 => UNARY,
        ExprKind::Unary { .. } | ExprKind::Cast { .. } => UNARY,
        _ => POSTFIX,
    }
}

/// `e`, in parentheses if it binds more loosely than `min`.
fn operand(e: &Expr, min: u8, level: usize) -> String {
    let text = expr(e, level);
    if strength(e) < min {
        format!("({text})")
    } else {
        text
    }
}

/// An expression where a comma would separate items rather than build an
/// array (method and attribute arguments, parameter defaults).
fn no_comma(e: &Expr, level: usize) -> String {
    match &e.kind {
        ExprKind::Array(items) if items.len() > 1 => format!("({})", expr(e, level)),
        _ => expr(e, level),
    }
}

fn expr(e: &Expr, level: usize) -> String {
    match &e.kind {
        ExprKind::Number(n) => number(*n),
        ExprKind::String(s) => single_quoted(s),
        ExprKind::Expandable(parts) => double_quoted(parts, level),
        ExprKind::Variable(v) => variable(v),
        ExprKind::Array(items) => match items.as_slice() {
            [] => "@()".to_owned(),
            [only] => format!(",{}", operand(only, UNARY, level)),
            _ => items
                .iter()
                .map(|i| operand(i, UNARY, level))
                .collect::<Vec<_>>()
                .join(", "),
        },
        ExprKind::Paren(s) => format!("({})", statement(s, level)),
        ExprKind::SubExpression(s) => format!("$({})", inline_statements(s, level)),
        ExprKind::ArraySubExpression(s) => format!("@({})", inline_statements(s, level)),
        ExprKind::Hashtable(entries) => hashtable(entries, level),
        ExprKind::ScriptBlock(b) => script_block(b, level),
        ExprKind::TypeLiteral(t) => format!("[{}]", type_name(t)),
        ExprKind::Cast { ty, operand: o } => {
            format!("[{}]{}", type_name(ty), operand(o, UNARY, level))
        }
        ExprKind::Member {
            target,
            name,
            is_static,
        } => format!(
            "{}{}{}",
            operand(target, POSTFIX, level),
            if *is_static { "::" } else { "." },
            member_name(name, level)
        ),
        ExprKind::MethodCall {
            target,
            name,
            arguments,
            is_static,
        } => format!(
            "{}{}{}({})",
            operand(target, POSTFIX, level),
            if *is_static { "::" } else { "." },
            member_name(name, level),
            arguments
                .iter()
                .map(|a| no_comma(a, level))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Index { target, index } => format!(
            "{}[{}]",
            operand(target, POSTFIX, level),
            expr(index, level)
        ),
        ExprKind::Unary { op, operand: o } => unary(*op, o, level),
        ExprKind::Binary { op, lhs, rhs } => {
            let p = precedence(*op);
            let l = operand(lhs, p, level);
            let r = operand(rhs, p + 1, level);
            match op {
                BinaryOp::Range => format!("{l}..{r}"),
                _ => format!("{l} {} {r}", binary_op(*op)),
            }
        }
    }
}

fn unary(op: UnaryOp, o: &Expr, level: usize) -> String {
    let symbol = match op {
        UnaryOp::PostIncrement => return format!("{}++", operand(o, POSTFIX, level)),
        UnaryOp::PostDecrement => return format!("{}--", operand(o, POSTFIX, level)),
        UnaryOp::Not => return format!("-not {}", operand(o, UNARY, level)),
        UnaryOp::BitNot => return format!("-bnot {}", operand(o, UNARY, level)),
        UnaryOp::Split => return format!("-split {}", operand(o, UNARY, level)),
        UnaryOp::Join => return format!("-join {}", operand(o, UNARY, level)),
        UnaryOp::Negate => "-",
        UnaryOp::Plus => "+",
        UnaryOp::PreIncrement => "++",
        UnaryOp::PreDecrement => "--",
    };
    let text = operand(o, UNARY, level);
    // `- -5` must not become `--5` (a decrement).
    let gap = if text.starts_with(['-', '+']) || text.starts_with(is_dash) {
        " "
    } else {
        ""
    };
    format!("{symbol}{gap}{text}")
}

fn binary_op(op: BinaryOp) -> String {
    match op {
        BinaryOp::Add => "+".into(),
        BinaryOp::Subtract => "-".into(),
        BinaryOp::Multiply => "*".into(),
        BinaryOp::Divide => "/".into(),
        BinaryOp::Remainder => "%".into(),
        BinaryOp::Range => "..".into(),
        BinaryOp::Format => "-f".into(),
        BinaryOp::And => "-and".into(),
        BinaryOp::Or => "-or".into(),
        BinaryOp::Xor => "-xor".into(),
        BinaryOp::BitAnd => "-band".into(),
        BinaryOp::BitOr => "-bor".into(),
        BinaryOp::BitXor => "-bxor".into(),
        BinaryOp::ShiftLeft => "-shl".into(),
        BinaryOp::ShiftRight => "-shr".into(),
        BinaryOp::Is => "-is".into(),
        BinaryOp::IsNot => "-isnot".into(),
        BinaryOp::As => "-as".into(),
        BinaryOp::Join => "-join".into(),
        BinaryOp::Compare { op, case_sensitive } => {
            format!("-{}{}", if case_sensitive { "c" } else { "" }, op.name())
        }
    }
}

fn member_name(name: &MemberName, level: usize) -> String {
    match name {
        MemberName::Name(n) => {
            let mut chars = n.chars();
            if chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char) {
                n.clone()
            } else {
                single_quoted(n)
            }
        }
        MemberName::Expr(e) => match &e.kind {
            ExprKind::Variable(_)
            | ExprKind::Expandable(_)
            | ExprKind::String(_)
            | ExprKind::Paren(_)
            | ExprKind::SubExpression(_) => expr(e, level),
            _ => format!("({})", expr(e, level)),
        },
    }
}

fn hashtable(entries: &[HashEntry], level: usize) -> String {
    if entries.is_empty() {
        return "@{}".to_owned();
    }
    let items: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{} = {}",
                hash_key(&e.key, level + 1),
                statement(&e.value, level + 1)
            )
        })
        .collect();
    let inline = items.iter().all(|i| !i.contains(['\n', '\r']))
        && items.iter().map(String::len).sum::<usize>() <= 80;
    if inline {
        return format!("@{{ {} }}", items.join("; "));
    }
    let mut out = "@{\n".to_owned();
    for item in items {
        out.push_str(&format!("{}{item}\n", pad(level + 1)));
    }
    out.push_str(&format!("{}}}", pad(level)));
    out
}

fn hash_key(key: &Expr, level: usize) -> String {
    if let ExprKind::String(s) = &key.kind {
        let mut chars = s.chars();
        if chars.next().is_some_and(is_ident_start) && chars.all(|c| is_ident_char(c) || c == '-') {
            return s.clone();
        }
    }
    operand(key, UNARY, level)
}

// ---- literals ------------------------------------------------------------------

fn number(n: Number) -> String {
    match n {
        Number::Int(i) if i < 0 => format!("0x{:X}", i as u32),
        Number::Int(i) => i.to_string(),
        Number::Long(l) if l < 0 => format!("0x{:X}L", l as u64),
        Number::Long(l) if i32::try_from(l).is_ok() => format!("{l}L"),
        Number::Long(l) => l.to_string(),
        Number::Double(d) => format!("{d:?}"),
        Number::Decimal(d) => format!("{d:?}d"),
    }
}

/// A string constant: single-quoted, unless it holds control characters
/// that would be invisible (or, for `\r`, mangled) in the printed script.
fn single_quoted(s: &str) -> String {
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return double_quoted(&[StringPart::Literal(s.to_owned())], 0);
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if is_single_quote(c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// How a literal character is written inside double quotes.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '`' | '$' => {
            out.push('`');
            out.push(c);
        }
        '\0' => out.push_str("`0"),
        '\u{7}' => out.push_str("`a"),
        '\u{8}' => out.push_str("`b"),
        '\u{c}' => out.push_str("`f"),
        '\n' => out.push_str("`n"),
        '\r' => out.push_str("`r"),
        '\t' => out.push_str("`t"),
        '\u{b}' => out.push_str("`v"),
        c if is_double_quote(c) => {
            out.push('`');
            out.push(c);
        }
        c => out.push(c),
    }
}

fn double_quoted(parts: &[StringPart], level: usize) -> String {
    let mut out = String::from("\"");
    for (i, part) in parts.iter().enumerate() {
        match part {
            StringPart::Literal(text) => {
                for c in text.chars() {
                    push_escaped(&mut out, c);
                }
            }
            StringPart::Variable(v) => {
                // `"$a:b"` or `"${a}x"` would read a different name back.
                let glued = matches!(
                    parts.get(i + 1),
                    Some(StringPart::Literal(next)) if next.starts_with(|c: char| is_var_char(c) || c == ':')
                );
                if glued {
                    out.push_str(&braced_variable(v));
                } else {
                    out.push_str(&variable(v));
                }
            }
            StringPart::SubExpression(statements) => {
                out.push_str(&format!("$({})", inline_statements(statements, level)));
            }
        }
    }
    out.push('"');
    out
}

fn variable(v: &Variable) -> String {
    if v.scope.is_none() && (v.name == "$" || v.name == "^") {
        return format!("${}", v.name);
    }
    let simple = |s: &str| !s.is_empty() && s.chars().all(is_var_char);
    match &v.scope {
        None if simple(&v.name) => format!("${}", v.name),
        Some(scope) if simple(scope) && simple(&v.name) => format!("${scope}:{}", v.name),
        _ => braced_variable(v),
    }
}

fn braced_variable(v: &Variable) -> String {
    let mut out = String::from("${");
    if let Some(scope) = &v.scope {
        out.push_str(scope);
        out.push(':');
    }
    for c in v.name.chars() {
        if matches!(c, '}' | '`') {
            out.push('`');
        }
        out.push(c);
    }
    out.push('}');
    out
}

fn type_name(t: &TypeName) -> String {
    match t {
        TypeName::Named(n) => n.clone(),
        TypeName::Array { element, rank } => format!(
            "{}[{}]",
            type_name(element),
            ",".repeat(rank.saturating_sub(1) as usize)
        ),
        TypeName::Generic { name, arguments } => format!(
            "{name}[{}]",
            arguments
                .iter()
                .map(type_name)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}
