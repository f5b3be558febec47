//! Statements: statement lists, keyword statements, pipelines, assignments.

use super::{Close, Parser, Result};
use crate::ps::ast::{
    Assignment, CatchClause, DoLoop, Expr, ExprKind, ExpressionElement, ForEachLoop, ForLoop,
    IfClause, IfStatement, Pipeline, PipelineElement, Statement, StatementKind, SwitchClause,
    SwitchFlags, SwitchStatement, TryStatement, WhileLoop,
};
use crate::ps::chars::{is_dash, is_ident_char, is_ident_start, is_quote};
use crate::ps::error::ParseErrorKind;
use crate::ps::lexer::scan_number;
use crate::ps::token::{LexMode, TokenKind};

/// The keywords that start statements. Keywords are only recognised where a
/// statement starts; after `|`, `foreach` is the `ForEach-Object` alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    If,
    ElseIf,
    Else,
    Switch,
    ForEach,
    For,
    While,
    Do,
    Until,
    In,
    Try,
    Catch,
    Finally,
    Function,
    Filter,
    Return,
    Throw,
    Break,
    Continue,
    Exit,
    Param,
    Begin,
    Process,
    End,
    /// Valid PowerShell outside the subset; the name is for the message.
    Unsupported(&'static str),
}

/// Whether `word` starts a statement when written plainly at the start of
/// one (the printer escapes command names that are keywords).
pub(crate) fn is_keyword(word: &str) -> bool {
    Keyword::from_word(word).is_some()
}

impl Keyword {
    fn from_word(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "if" => Self::If,
            "elseif" => Self::ElseIf,
            "else" => Self::Else,
            "switch" => Self::Switch,
            "foreach" => Self::ForEach,
            "for" => Self::For,
            "while" => Self::While,
            "do" => Self::Do,
            "until" => Self::Until,
            "in" => Self::In,
            "try" => Self::Try,
            "catch" => Self::Catch,
            "finally" => Self::Finally,
            "function" => Self::Function,
            "filter" => Self::Filter,
            "return" => Self::Return,
            "throw" => Self::Throw,
            "break" => Self::Break,
            "continue" => Self::Continue,
            "exit" => Self::Exit,
            "param" => Self::Param,
            "begin" => Self::Begin,
            "process" => Self::Process,
            "end" => Self::End,
            "trap" => Self::Unsupported("trap"),
            "data" => Self::Unsupported("data"),
            "class" => Self::Unsupported("class"),
            "enum" => Self::Unsupported("enum"),
            "using" => Self::Unsupported("using"),
            "configuration" => Self::Unsupported("configuration"),
            "workflow" => Self::Unsupported("workflow"),
            "parallel" => Self::Unsupported("parallel"),
            "sequence" => Self::Unsupported("sequence"),
            "inlinescript" => Self::Unsupported("inlinescript"),
            "dynamicparam" => Self::Unsupported("dynamicparam"),
            _ => return None,
        })
    }
}

/// How a pipeline's first element starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    Expression,
    Command,
}

impl Parser<'_> {
    /// Statements up to `close` (not consumed).
    pub(crate) fn parse_statements(&mut self, close: Close) -> Result<Vec<Statement>> {
        let mut statements = Vec::new();
        loop {
            self.skip_separators()?;
            match (self.raw_char(), close) {
                (None, Close::End) => break,
                (None, Close::Brace(open)) => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing '}' for the block that starts here",
                    ));
                }
                (None, Close::Paren(open)) => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing ')' for the subexpression that starts here",
                    ));
                }
                (Some('}'), Close::Brace(_)) | (Some(')'), Close::Paren(_)) => break,
                (Some(c @ ('}' | ')')), _) => {
                    let at = self.pos();
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!("unexpected '{c}': nothing here is open"),
                    ));
                }
                _ => {}
            }
            statements.push(self.parse_statement()?);
            self.skip_blanks()?;
            match self.raw_char() {
                None | Some('\n' | '\r' | ';' | '}' | ')') => {}
                Some(_) => {
                    let at = self.pos();
                    // Lexing in expression mode gives the precise error for
                    // things like `$a -foo` (an unknown operator).
                    self.peek(LexMode::Expression)?;
                    let found = self.describe_next();
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!(
                            "unexpected {found} after the end of a statement; separate \
                             statements with a line break or ';'"
                        ),
                    ));
                }
            }
        }
        Ok(statements)
    }

    /// One statement.
    pub(crate) fn parse_statement(&mut self) -> Result<Statement> {
        self.nested(|p| {
            p.skip_blanks()?;
            let start = p.pos();
            let label = p.parse_label()?;
            if let Some(keyword) = p.peek_keyword()? {
                return p.parse_keyword_statement(keyword, label, start);
            }
            if label.is_some() {
                return Err(p.error(
                    start,
                    ParseErrorKind::Unexpected,
                    "a label must be followed by foreach, for, while, do or switch",
                ));
            }
            p.parse_pipeline_or_assignment()
        })
    }

    /// `:name` before a loop.
    fn parse_label(&mut self) -> Result<Option<String>> {
        if self.raw_char() != Some(':') || !self.raw_char_at(1).is_some_and(is_ident_start) {
            return Ok(None);
        }
        self.bump_raw();
        let name = self.lexer.scan_identifier();
        self.last_end = self.pos();
        self.skip_blanks()?;
        Ok(Some(name))
    }

    pub(super) fn peek_keyword(&mut self) -> Result<Option<Keyword>> {
        Ok(self
            .peek_plain_word()?
            .and_then(|word| Keyword::from_word(&word)))
    }

    fn parse_keyword_statement(
        &mut self,
        keyword: Keyword,
        label: Option<String>,
        start: usize,
    ) -> Result<Statement> {
        let loops = matches!(
            keyword,
            Keyword::ForEach | Keyword::For | Keyword::While | Keyword::Do | Keyword::Switch
        );
        if label.is_some() && !loops {
            return Err(self.error(
                start,
                ParseErrorKind::Unexpected,
                "a label must be followed by foreach, for, while, do or switch",
            ));
        }
        let word = self.bump(LexMode::Command)?;
        let word_text = self
            .src
            .get(word.span.start..word.span.end)
            .unwrap_or("")
            .to_owned();
        let kind = match keyword {
            Keyword::If => StatementKind::If(self.parse_if()?),
            Keyword::ForEach => StatementKind::ForEach(self.parse_foreach(label)?),
            Keyword::For => StatementKind::For(self.parse_for(label)?),
            Keyword::While => {
                let condition = self.parse_condition("while")?;
                let body = self.parse_block("while loop")?;
                StatementKind::While(WhileLoop {
                    label,
                    condition,
                    body,
                })
            }
            Keyword::Do => StatementKind::Do(self.parse_do(label)?),
            Keyword::Switch => StatementKind::Switch(self.parse_switch(label)?),
            Keyword::Try => StatementKind::Try(self.parse_try(start)?),
            Keyword::Function | Keyword::Filter => {
                StatementKind::Function(self.parse_function(keyword == Keyword::Filter)?)
            }
            Keyword::Return => StatementKind::Return(self.parse_optional_value()?),
            Keyword::Throw => StatementKind::Throw(self.parse_optional_value()?),
            Keyword::Exit => StatementKind::Exit(self.parse_optional_value()?),
            Keyword::Break => StatementKind::Break(self.parse_optional_label()?),
            Keyword::Continue => StatementKind::Continue(self.parse_optional_label()?),
            Keyword::Param => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Unexpected,
                    "a param block must come first in a script, function or script block",
                ));
            }
            Keyword::Begin | Keyword::Process | Keyword::End => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Unexpected,
                    format!(
                        "'{word_text}' blocks must be the only content of a script block \
                         (after its param block)"
                    ),
                ));
            }
            Keyword::ElseIf | Keyword::Else | Keyword::Until | Keyword::In => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Unexpected,
                    format!("unexpected keyword '{word_text}'"),
                ));
            }
            Keyword::Catch | Keyword::Finally => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Unexpected,
                    format!("unexpected keyword '{word_text}': it must follow a try block"),
                ));
            }
            Keyword::Unsupported(name) => {
                return Err(self.error(
                    start,
                    ParseErrorKind::Unsupported,
                    format!("the '{name}' statement is not supported by this PowerShell subset"),
                ));
            }
        };
        Ok(Statement {
            kind,
            span: self.span_from(start),
        })
    }

    /// `{ statements }`, after optional line breaks.
    pub(crate) fn parse_block(&mut self, what: &str) -> Result<Vec<Statement>> {
        let open = self.expect_open('{', &format!("to start the {what} body"))?;
        let body = self.parse_statements(Close::Brace(open))?;
        self.expect_close('}', open, &format!("{what} body"))?;
        Ok(body)
    }

    /// `( pipeline )` after a keyword.
    fn parse_condition(&mut self, keyword: &str) -> Result<Box<Statement>> {
        let open = self.expect_open('(', &format!("after '{keyword}'"))?;
        self.skip_newlines()?;
        let condition = self.parse_pipeline_or_assignment()?;
        self.expect_close(')', open, &format!("'{keyword}' condition"))?;
        Ok(Box::new(condition))
    }

    fn parse_if(&mut self) -> Result<IfStatement> {
        let condition = self.parse_condition("if")?;
        let body = self.parse_block("if")?;
        let mut clauses = vec![IfClause { condition, body }];
        let mut else_body = None;
        loop {
            let before = self.checkpoint();
            self.skip_newlines()?;
            match self.peek_keyword()? {
                Some(Keyword::ElseIf) => {
                    self.bump(LexMode::Command)?;
                    let condition = self.parse_condition("elseif")?;
                    let body = self.parse_block("elseif")?;
                    clauses.push(IfClause { condition, body });
                }
                Some(Keyword::Else) => {
                    self.bump(LexMode::Command)?;
                    else_body = Some(self.parse_block("else")?);
                    break;
                }
                _ => {
                    self.restore(before);
                    break;
                }
            }
        }
        Ok(IfStatement { clauses, else_body })
    }

    fn parse_foreach(&mut self, label: Option<String>) -> Result<ForEachLoop> {
        let open = self.expect_open('(', "after 'foreach'")?;
        self.skip_newlines()?;
        let at = self.pos();
        let variable = match self.bump(LexMode::Expression)?.kind {
            TokenKind::Variable(variable) => variable,
            _ => {
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    "expected the loop variable (like '$item') after 'foreach ('",
                ));
            }
        };
        self.skip_newlines()?;
        if !self.at_word("in")? {
            let at = self.pos();
            let found = self.describe_next();
            return Err(self.error(
                at,
                ParseErrorKind::Unexpected,
                format!("expected 'in' after the foreach variable, found {found}"),
            ));
        }
        self.bump(LexMode::Command)?;
        self.skip_newlines()?;
        let iterable = Box::new(self.parse_pipeline_or_assignment()?);
        self.expect_close(')', open, "'foreach' header")?;
        let body = self.parse_block("foreach loop")?;
        Ok(ForEachLoop {
            label,
            variable,
            iterable,
            body,
        })
    }

    fn parse_for(&mut self, label: Option<String>) -> Result<ForLoop> {
        let open = self.expect_open('(', "after 'for'")?;
        let mut parts: [Option<Box<Statement>>; 3] = [None, None, None];
        for (i, part) in parts.iter_mut().enumerate() {
            self.skip_newlines()?;
            if !matches!(self.raw_char(), Some(';' | ')') | None) {
                *part = Some(Box::new(self.parse_pipeline_or_assignment()?));
            }
            self.skip_newlines()?;
            if i < 2 && self.raw_char() == Some(';') {
                self.bump_raw();
            }
        }
        self.expect_close(')', open, "'for' header")?;
        let body = self.parse_block("for loop")?;
        let [init, condition, step] = parts;
        Ok(ForLoop {
            label,
            init,
            condition,
            step,
            body,
        })
    }

    fn parse_do(&mut self, label: Option<String>) -> Result<DoLoop> {
        let body = self.parse_block("do loop")?;
        self.skip_newlines()?;
        let until = match self.peek_keyword()? {
            Some(Keyword::While) => false,
            Some(Keyword::Until) => true,
            _ => {
                let at = self.pos();
                let found = self.describe_next();
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!("expected 'while' or 'until' after the do loop body, found {found}"),
                ));
            }
        };
        self.bump(LexMode::Command)?;
        let condition = self.parse_condition(if until { "until" } else { "while" })?;
        Ok(DoLoop {
            label,
            body,
            condition,
            until,
        })
    }

    fn parse_switch(&mut self, label: Option<String>) -> Result<SwitchStatement> {
        let mut flags = SwitchFlags::default();
        loop {
            self.skip_blanks()?;
            let at = self.pos();
            let TokenKind::Parameter { name, colon: false } = self.peek_kind(LexMode::Command)?
            else {
                break;
            };
            match name.to_ascii_lowercase().as_str() {
                "regex" => flags.regex = true,
                "wildcard" => flags.wildcard = true,
                "exact" => flags.exact = true,
                "casesensitive" => flags.case_sensitive = true,
                "file" | "parallel" => {
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unsupported,
                        format!("'switch -{name}' is not supported by this PowerShell subset"),
                    ));
                }
                _ => {
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!("unknown switch option '-{name}'"),
                    ));
                }
            }
            self.bump(LexMode::Command)?;
        }
        let value = self.parse_condition("switch")?;
        let open = self.expect_open('{', "to start the switch body")?;
        let mut clauses = Vec::new();
        let mut default = None;
        loop {
            self.skip_separators()?;
            match self.raw_char() {
                Some('}') => break,
                None => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing '}' for the switch body that starts here",
                    ));
                }
                _ => {}
            }
            let at = self.pos();
            if self.at_word("default")? {
                self.bump(LexMode::Command)?;
                if default.is_some() {
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        "a switch can have only one default clause",
                    ));
                }
                default = Some(self.parse_block("switch default clause")?);
            } else {
                let condition = self.parse_command_arg_element()?;
                let body = self.parse_block("switch clause")?;
                clauses.push(SwitchClause { condition, body });
            }
        }
        self.expect_close('}', open, "switch body")?;
        Ok(SwitchStatement {
            label,
            flags,
            value,
            clauses,
            default,
        })
    }

    fn parse_try(&mut self, try_at: usize) -> Result<TryStatement> {
        let body = self.parse_block("try")?;
        let mut catches = Vec::new();
        let mut finally = None;
        loop {
            let before = self.checkpoint();
            self.skip_newlines()?;
            match self.peek_keyword()? {
                Some(Keyword::Catch) => {
                    self.bump(LexMode::Command)?;
                    let mut types = Vec::new();
                    loop {
                        self.skip_blanks()?;
                        if self.raw_char() != Some('[') {
                            break;
                        }
                        types.push(self.parse_bracketed_type()?);
                        self.skip_blanks()?;
                        if self.raw_char() == Some(',') {
                            self.bump_raw();
                            self.skip_newlines()?;
                        } else {
                            break;
                        }
                    }
                    let body = self.parse_block("catch")?;
                    catches.push(CatchClause { types, body });
                }
                Some(Keyword::Finally) => {
                    self.bump(LexMode::Command)?;
                    finally = Some(self.parse_block("finally")?);
                    break;
                }
                _ => {
                    self.restore(before);
                    break;
                }
            }
        }
        if catches.is_empty() && finally.is_none() {
            return Err(self.error(
                try_at,
                ParseErrorKind::Unexpected,
                "a try block needs a catch or finally block after it",
            ));
        }
        Ok(TryStatement {
            body,
            catches,
            finally,
        })
    }

    /// The value of `return`, `throw` or `exit`, if the statement has one.
    fn parse_optional_value(&mut self) -> Result<Option<Box<Statement>>> {
        self.skip_blanks()?;
        if matches!(self.raw_char(), None | Some('\n' | '\r' | ';' | '}' | ')')) {
            return Ok(None);
        }
        Ok(Some(Box::new(self.parse_pipeline_or_assignment()?)))
    }

    fn parse_optional_label(&mut self) -> Result<Option<String>> {
        self.skip_blanks()?;
        if !self.raw_char().is_some_and(is_ident_start) {
            return Ok(None);
        }
        match self.bump(LexMode::Command)?.kind {
            TokenKind::Word(word) => Ok(Some(word)),
            _ => Err(self.error(
                self.last_end,
                ParseErrorKind::Unexpected,
                "expected a loop label",
            )),
        }
    }

    /// How the pipeline element at the current position starts: PowerShell
    /// decides from the first characters whether it is an expression or a
    /// command.
    pub(super) fn classify_start(&mut self) -> Result<Start> {
        self.skip_blanks()?;
        let c = self.raw_char();
        let next = self.raw_char_at(1);
        Ok(match c {
            None => Start::Expression,
            Some('$' | '(' | '[' | '{' | '!' | '+' | ',' | '@') => Start::Expression,
            Some(q) if is_quote(q) => Start::Expression,
            Some(d) if is_dash(d) => Start::Expression,
            Some('.') if next.is_some_and(|n| n.is_ascii_digit()) => self.number_or_command(),
            Some(d) if d.is_ascii_digit() => self.number_or_command(),
            _ => Start::Command,
        })
    }

    /// A statement starting with a digit is an expression when it starts
    /// with a number (`1..5 | ...`, `5 * 2`), and a command otherwise (`7z`).
    fn number_or_command(&self) -> Start {
        let at = self.pos();
        match scan_number(self.src, at, self.lexer.end()) {
            Some((_, end))
                if !self
                    .src
                    .get(end..)
                    .and_then(|s| s.chars().next())
                    .is_some_and(is_ident_char) =>
            {
                Start::Expression
            }
            _ => Start::Command,
        }
    }

    /// A pipeline, or an assignment (which PowerShell parses in the same
    /// place).
    pub(crate) fn parse_pipeline_or_assignment(&mut self) -> Result<Statement> {
        self.skip_blanks()?;
        let start = self.pos();
        if self.peek_keyword()?.is_some() {
            let word = self.describe_next();
            return Err(self.error(
                start,
                ParseErrorKind::Unexpected,
                format!(
                    "the keyword {word} cannot be used here; wrap the statement in '$( )' \
                     to use its output as a value"
                ),
            ));
        }
        let first = match self.classify_start()? {
            Start::Expression => {
                let expr = self.parse_expression()?;
                if let TokenKind::Assign(op) = self.peek_kind(LexMode::Expression)? {
                    self.check_assignable(&expr)?;
                    self.bump(LexMode::Expression)?;
                    self.skip_newlines()?;
                    let value = self.parse_statement()?;
                    return Ok(Statement {
                        kind: StatementKind::Assignment(Assignment {
                            target: expr,
                            op,
                            value: Box::new(value),
                        }),
                        span: self.span_from(start),
                    });
                }
                let redirections = self.parse_redirections(LexMode::Expression)?;
                PipelineElement::Expression(ExpressionElement { expr, redirections })
            }
            Start::Command => PipelineElement::Command(self.parse_command()?),
        };
        let mut elements = vec![first];
        while self.peek_kind(LexMode::Expression)? == TokenKind::Pipe {
            self.bump(LexMode::Expression)?;
            self.skip_newlines()?;
            let at = self.pos();
            if self.classify_start()? != Start::Command {
                let found = self.describe_next();
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!(
                        "expected a command after '|', found {found}; expressions are only \
                         allowed as the first element of a pipeline"
                    ),
                ));
            }
            elements.push(PipelineElement::Command(self.parse_command()?));
        }
        Ok(Statement {
            kind: StatementKind::Pipeline(Pipeline { elements }),
            span: self.span_from(start),
        })
    }

    /// Only variables, properties, indexes, typed variables (`[int]$x`) and
    /// lists of those (`$a, $b = ...`) can be assigned to.
    fn check_assignable(&self, target: &Expr) -> Result<()> {
        let ok = match &target.kind {
            ExprKind::Variable(_) | ExprKind::Member { .. } | ExprKind::Index { .. } => true,
            ExprKind::Cast { operand, .. } => matches!(operand.kind, ExprKind::Variable(_)),
            ExprKind::Array(items) => {
                return items
                    .iter()
                    .try_for_each(|item| self.check_assignable(item));
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.error(
                target.span.start,
                ParseErrorKind::Unexpected,
                "the left side of an assignment must be a variable, a property or an index",
            ))
        }
    }
}
