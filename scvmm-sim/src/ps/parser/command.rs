//! Command invocations: names, arguments, parameters, splatting and
//! redirections, all read in command mode.

use super::{Parser, Result};
use crate::ps::ast::{
    Command, CommandArgument, CommandName, Expr, ExprKind, Invocation, Number, Redirection,
    RedirectionTarget, UnaryOp,
};
use crate::ps::chars::{is_blank, is_quote};
use crate::ps::error::ParseErrorKind;
use crate::ps::span::Span;
use crate::ps::token::{LexMode, TokenKind};

/// Tokens that end a command's argument list.
fn ends_arguments(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Newline
            | TokenKind::Semicolon
            | TokenKind::RParen
            | TokenKind::RBrace
            | TokenKind::Eof
            | TokenKind::Pipe
    )
}

impl Parser<'_> {
    /// A command: `Name args`, `& expr args` or `. expr args`.
    pub(super) fn parse_command(&mut self) -> Result<Command> {
        self.skip_blanks()?;
        let start = self.pos();
        let dot_source = self.raw_char() == Some('.')
            && self
                .raw_char_at(1)
                .is_some_and(|c| is_blank(c) || is_quote(c) || matches!(c, '{' | '(' | '$'));
        let (invocation, name) = if self.raw_char() == Some('&') {
            self.bump(LexMode::Command)?;
            self.skip_blanks()?;
            (Invocation::Call, self.parse_invoked("&")?)
        } else if dot_source {
            self.bump_raw();
            self.skip_blanks()?;
            (Invocation::DotSource, self.parse_invoked(".")?)
        } else {
            let token = self.bump(LexMode::Command)?;
            match token.kind {
                TokenKind::Word(word) => (Invocation::Direct, CommandName::Bare(word)),
                TokenKind::ExpandableWord(_) => {
                    return Err(self.error(
                        token.span.start,
                        ParseErrorKind::Unsupported,
                        "a command name containing variables is not supported; \
                         use the call operator: & \"name\"",
                    ));
                }
                other => {
                    return Err(self.error(
                        token.span.start,
                        ParseErrorKind::Unexpected,
                        format!("expected a command name, found {}", other.describe()),
                    ));
                }
            }
        };
        let mut arguments = Vec::new();
        let mut redirections = Vec::new();
        loop {
            let token = self.peek(LexMode::Command)?;
            let at = token.span.start;
            match token.kind.clone() {
                kind if ends_arguments(&kind) => break,
                TokenKind::Redirection { .. } => {
                    redirections.push(self.parse_redirection(LexMode::Command)?);
                }
                TokenKind::Parameter { name, colon } => {
                    self.bump(LexMode::Command)?;
                    let span = self.span_from(at);
                    let value = if colon {
                        self.skip_blanks()?;
                        if ends_arguments(&self.peek_kind(LexMode::Command)?) {
                            return Err(self.error(
                                at,
                                ParseErrorKind::Unexpected,
                                format!("the parameter '-{name}:' needs a value after the colon"),
                            ));
                        }
                        Some(self.parse_command_argument()?)
                    } else {
                        None
                    };
                    arguments.push(CommandArgument::Parameter { name, value, span });
                }
                TokenKind::Splat(variable) => {
                    self.bump(LexMode::Command)?;
                    arguments.push(CommandArgument::Splat {
                        variable,
                        span: self.span_from(at),
                    });
                }
                TokenKind::Ampersand => {
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unsupported,
                        "the background operator '&' after a command is not supported",
                    ));
                }
                TokenKind::DashDash => {
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unsupported,
                        "the end-of-parameters marker '--' is not supported",
                    ));
                }
                _ => arguments.push(CommandArgument::Positional(self.parse_command_argument()?)),
            }
        }
        Ok(Command {
            invocation,
            name,
            arguments,
            redirections,
            span: self.span_from(start),
        })
    }

    /// The operand of `&` or `.`.
    fn parse_invoked(&mut self, operator: &str) -> Result<CommandName> {
        if ends_arguments(&self.peek_kind(LexMode::Command)?) {
            let at = self.pos();
            return Err(self.error(
                at,
                ParseErrorKind::Unexpected,
                format!("expected a command, script block or path after '{operator}'"),
            ));
        }
        Ok(CommandName::Expr(self.parse_command_arg_element()?))
    }

    /// Redirections in `mode` (after an expression, or among arguments).
    pub(super) fn parse_redirections(&mut self, mode: LexMode) -> Result<Vec<Redirection>> {
        let mut redirections = Vec::new();
        while matches!(self.peek(mode)?.kind, TokenKind::Redirection { .. }) {
            redirections.push(self.parse_redirection(mode)?);
        }
        Ok(redirections)
    }

    fn parse_redirection(&mut self, mode: LexMode) -> Result<Redirection> {
        let token = self.bump(mode)?;
        let TokenKind::Redirection {
            from,
            append,
            merge_into,
        } = token.kind
        else {
            return Err(self.error(
                token.span.start,
                ParseErrorKind::Unexpected,
                "expected a redirection",
            ));
        };
        if let Some(stream) = merge_into {
            return Ok(Redirection {
                from,
                target: RedirectionTarget::Merge(stream),
            });
        }
        self.skip_blanks()?;
        if ends_arguments(&self.peek_kind(LexMode::Command)?) {
            return Err(self.error(
                token.span.start,
                ParseErrorKind::Unexpected,
                "expected a file name (or $null) after the redirection operator",
            ));
        }
        let path = self.parse_command_arg_element()?;
        Ok(Redirection {
            from,
            target: RedirectionTarget::File { path, append },
        })
    }

    /// One argument value, which may be a comma list: `-Property Name, Status`.
    pub(super) fn parse_command_argument(&mut self) -> Result<Expr> {
        let first = self.parse_command_arg_element()?;
        if self.peek_kind(LexMode::Command)? != TokenKind::Comma {
            return Ok(first);
        }
        let start = first.span.start;
        let mut items = vec![first];
        while self.peek_kind(LexMode::Command)? == TokenKind::Comma {
            self.bump(LexMode::Command)?;
            self.skip_newlines()?;
            items.push(self.parse_command_arg_element()?);
        }
        Ok(Expr::new(ExprKind::Array(items), self.span_from(start)))
    }

    /// One argument value without commas: a bare word, a number, or a
    /// primary expression with member access and indexing.
    pub(crate) fn parse_command_arg_element(&mut self) -> Result<Expr> {
        self.nested(|p| {
            let token = p.peek(LexMode::Command)?;
            let start = token.span.start;
            match token.kind.clone() {
                TokenKind::Word(word) => {
                    p.bump(LexMode::Command)?;
                    Ok(Expr::new(ExprKind::String(word), p.span_from(start)))
                }
                TokenKind::ExpandableWord(parts) => {
                    p.bump(LexMode::Command)?;
                    let parts = p.convert_parts(parts)?;
                    Ok(Expr::new(ExprKind::Expandable(parts), p.span_from(start)))
                }
                TokenKind::Number { value, negative } => {
                    p.bump(LexMode::Command)?;
                    let span = p.span_from(start);
                    Ok(signed_number(value, negative, span))
                }
                TokenKind::Comma => {
                    p.bump(LexMode::Command)?;
                    p.skip_newlines()?;
                    let item = p.parse_command_arg_element()?;
                    Ok(Expr::new(ExprKind::Array(vec![item]), p.span_from(start)))
                }
                TokenKind::Variable(_)
                | TokenKind::StringLiteral(_)
                | TokenKind::ExpandableString(_)
                | TokenKind::LParen
                | TokenKind::DollarParen
                | TokenKind::AtParen
                | TokenKind::AtBrace
                | TokenKind::LBrace => {
                    let primary = p.parse_primary(LexMode::Command)?;
                    p.parse_postfix(primary)
                }
                other => {
                    let found = p.describe_next();
                    Err(p.error(
                        start,
                        ParseErrorKind::Unexpected,
                        format!(
                            "unexpected {found} ({}) where a command argument was expected",
                            other.describe()
                        ),
                    ))
                }
            }
        })
    }
}

/// `-5` in command mode is one token; it becomes the same tree as `-5` in
/// expression mode, so printing and re-parsing agree.
fn signed_number(value: Number, negative: bool, span: Span) -> Expr {
    let number = Expr::new(ExprKind::Number(value), span);
    if negative {
        Expr::new(
            ExprKind::Unary {
                op: UnaryOp::Negate,
                operand: Box::new(number),
            },
            span,
        )
    } else {
        number
    }
}
