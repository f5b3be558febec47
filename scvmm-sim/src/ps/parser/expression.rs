//! Expressions: binary operators by precedence, the comma operator, unary
//! operators and casts, postfix member access / calls / indexing, primaries
//! and expandable strings.

use super::{Close, Parser, Result};
use crate::ps::ast::{
    AssignOp, BinaryOp, Expr, ExprKind, HashEntry, MemberName, StringPart, UnaryOp,
};
use crate::ps::chars::{is_dash, is_ident_char, is_ident_start, is_quote};
use crate::ps::error::ParseErrorKind;
use crate::ps::token::{LexMode, TextPart, TokenKind};

/// Binding strength of binary operators, loosest first, as in PowerShell:
/// logical < bitwise < comparison < additive < multiplicative < `-f` < `..`.
/// The comma operator binds tighter than all of them (`1, 2 + 3` is
/// `(1, 2) + 3`), and unary operators tighter still.
pub(crate) fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => 1,
        BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => 2,
        BinaryOp::Compare { .. }
        | BinaryOp::Is
        | BinaryOp::IsNot
        | BinaryOp::As
        | BinaryOp::Join
        | BinaryOp::ShiftLeft
        | BinaryOp::ShiftRight => 3,
        BinaryOp::Add | BinaryOp::Subtract => 4,
        BinaryOp::Multiply | BinaryOp::Divide | BinaryOp::Remainder => 5,
        BinaryOp::Format => 6,
        BinaryOp::Range => 7,
    }
}

fn binary_operator(kind: &TokenKind) -> Option<BinaryOp> {
    match kind {
        TokenKind::Plus => Some(BinaryOp::Add),
        TokenKind::Minus => Some(BinaryOp::Subtract),
        TokenKind::Star => Some(BinaryOp::Multiply),
        TokenKind::Slash => Some(BinaryOp::Divide),
        TokenKind::Percent => Some(BinaryOp::Remainder),
        TokenKind::DotDot => Some(BinaryOp::Range),
        TokenKind::Operator(op) => op.binary(),
        _ => None,
    }
}

impl Parser<'_> {
    /// A full expression, comma lists included.
    pub(crate) fn parse_expression(&mut self) -> Result<Expr> {
        self.parse_binary(1, true)
    }

    /// An expression where a comma separates items instead of building an
    /// array: method arguments, attribute arguments, parameter defaults.
    pub(crate) fn parse_expression_no_comma(&mut self) -> Result<Expr> {
        self.parse_binary(1, false)
    }

    fn parse_binary(&mut self, min_precedence: u8, comma: bool) -> Result<Expr> {
        self.chain(|p| p.parse_binary_chain(min_precedence, comma))
    }

    /// `lhs op rhs op rhs ...`, left-deep: each operator is a chain link.
    fn parse_binary_chain(&mut self, min_precedence: u8, comma: bool) -> Result<Expr> {
        let mut lhs = self.parse_array_literal(comma)?;
        loop {
            let token = self.peek(LexMode::Expression)?;
            let Some(op) = binary_operator(&token.kind) else {
                break;
            };
            let op_at = token.span.start;
            let prec = precedence(op);
            if prec < min_precedence {
                break;
            }
            self.link(op_at)?;
            self.bump(LexMode::Expression)?;
            self.skip_newlines()?;
            if self.at_expression_end()? {
                let text = self.src.get(op_at..self.last_end).unwrap_or("");
                let at = self.pos();
                let found = self.describe_next();
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!("expected a value after the '{text}' operator, found {found}"),
                ));
            }
            let rhs = self.parse_binary(prec + 1, comma)?;
            let span = self.span_from(lhs.span.start);
            lhs = Expr::new(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            );
        }
        Ok(lhs)
    }

    /// Whether the input (or the current construct) ends here, so no operand
    /// can follow.
    fn at_expression_end(&mut self) -> Result<bool> {
        self.skip_blanks()?;
        Ok(matches!(
            self.raw_char(),
            None | Some(')' | '}' | ']' | ';' | '|')
        ))
    }

    fn parse_array_literal(&mut self, comma: bool) -> Result<Expr> {
        let first = self.parse_unary()?;
        if !comma || self.peek_kind(LexMode::Expression)? != TokenKind::Comma {
            return Ok(first);
        }
        let start = first.span.start;
        let mut items = vec![first];
        while self.peek_kind(LexMode::Expression)? == TokenKind::Comma {
            self.bump(LexMode::Expression)?;
            self.skip_newlines()?;
            items.push(self.parse_unary()?);
        }
        Ok(Expr::new(ExprKind::Array(items), self.span_from(start)))
    }

    fn parse_unary(&mut self) -> Result<Expr> {
        self.nested(|p| {
            let token = p.peek(LexMode::Expression)?;
            let start = token.span.start;
            let prefix = match &token.kind {
                TokenKind::Comma => {
                    p.bump(LexMode::Expression)?;
                    p.skip_newlines()?;
                    let item = p.parse_unary()?;
                    return Ok(Expr::new(ExprKind::Array(vec![item]), p.span_from(start)));
                }
                TokenKind::LBracket => return p.parse_type_or_cast(),
                TokenKind::Exclaim => Some(UnaryOp::Not),
                TokenKind::Minus => Some(UnaryOp::Negate),
                TokenKind::Plus => Some(UnaryOp::Plus),
                TokenKind::PlusPlus => Some(UnaryOp::PreIncrement),
                TokenKind::MinusMinus => Some(UnaryOp::PreDecrement),
                TokenKind::Operator(op) => op.unary(),
                _ => None,
            };
            if let Some(op) = prefix {
                p.bump(LexMode::Expression)?;
                p.skip_blanks()?;
                let operand = p.parse_unary()?;
                return Ok(Expr::new(
                    ExprKind::Unary {
                        op,
                        operand: Box::new(operand),
                    },
                    p.span_from(start),
                ));
            }
            let primary = p.parse_primary(LexMode::Expression)?;
            let expr = p.parse_postfix(primary)?;
            let post = match p.peek_kind(LexMode::Expression)? {
                TokenKind::PlusPlus => UnaryOp::PostIncrement,
                TokenKind::MinusMinus => UnaryOp::PostDecrement,
                _ => return Ok(expr),
            };
            p.bump(LexMode::Expression)?;
            Ok(Expr::new(
                ExprKind::Unary {
                    op: post,
                    operand: Box::new(expr),
                },
                p.span_from(start),
            ))
        })
    }

    /// `[type]` in expression position: a cast when an operand follows, a
    /// type literal otherwise (`[int]::MaxValue`, `$x -is [string]`).
    fn parse_type_or_cast(&mut self) -> Result<Expr> {
        let start = self.pos();
        let ty = self.parse_bracketed_type()?;
        let literal = Expr::new(ExprKind::TypeLiteral(ty.clone()), self.span_from(start));
        let member_follows = self.adjacent()
            && match (self.raw_char(), self.raw_char_at(1)) {
                (Some('.'), Some(c)) => c != '.',
                (Some(':'), Some(':')) => true,
                _ => false,
            };
        if member_follows {
            return self.parse_postfix(literal);
        }
        if self.starts_operand()? {
            let operand = self.parse_unary()?;
            return Ok(Expr::new(
                ExprKind::Cast {
                    ty,
                    operand: Box::new(operand),
                },
                self.span_from(start),
            ));
        }
        Ok(literal)
    }

    /// Whether the next token (on this line) can start an operand, which
    /// makes a preceding `[type]` a cast.
    fn starts_operand(&mut self) -> Result<bool> {
        self.skip_blanks()?;
        if self.raw_char().is_some_and(is_dash)
            && self.raw_char_at(1).is_some_and(char::is_alphabetic)
        {
            // `[int] -eq 1` compares a type literal; `[int] -not $x` casts.
            return Ok(matches!(
                self.peek(LexMode::Expression)?.kind,
                TokenKind::Operator(op) if op.unary().is_some()
            ));
        }
        Ok(matches!(
            self.peek(LexMode::Expression)?.kind,
            TokenKind::Variable(_)
                | TokenKind::Number { .. }
                | TokenKind::StringLiteral(_)
                | TokenKind::ExpandableString(_)
                | TokenKind::LParen
                | TokenKind::DollarParen
                | TokenKind::AtParen
                | TokenKind::AtBrace
                | TokenKind::LBrace
                | TokenKind::LBracket
                | TokenKind::Minus
                | TokenKind::Plus
                | TokenKind::Exclaim
                | TokenKind::PlusPlus
                | TokenKind::MinusMinus
        ))
    }

    /// A primary expression, reading its first token in `mode`.
    pub(crate) fn parse_primary(&mut self, mode: LexMode) -> Result<Expr> {
        self.nested(|p| {
            let token = p.bump(mode)?;
            let start = token.span.start;
            let kind = match token.kind {
                TokenKind::Variable(variable) => ExprKind::Variable(variable),
                TokenKind::Number { value, .. } => ExprKind::Number(value),
                TokenKind::StringLiteral(text) => ExprKind::String(text),
                TokenKind::ExpandableString(parts) => ExprKind::Expandable(p.convert_parts(parts)?),
                TokenKind::LParen => {
                    p.skip_newlines()?;
                    if p.raw_char() == Some(')') {
                        return Err(p.error(
                            start,
                            ParseErrorKind::Unexpected,
                            "empty parentheses: expected an expression inside '( )'",
                        ));
                    }
                    let inner = p.parse_pipeline_or_assignment()?;
                    p.expect_close(')', start, "parenthesised expression")?;
                    ExprKind::Paren(Box::new(inner))
                }
                TokenKind::DollarParen => {
                    let statements = p.parse_statements(Close::Paren(start))?;
                    p.expect_close(')', start, "'$( )' subexpression")?;
                    ExprKind::SubExpression(statements)
                }
                TokenKind::AtParen => {
                    let statements = p.parse_statements(Close::Paren(start))?;
                    p.expect_close(')', start, "'@( )' array expression")?;
                    ExprKind::ArraySubExpression(statements)
                }
                TokenKind::AtBrace => ExprKind::Hashtable(p.parse_hashtable(start)?),
                TokenKind::LBrace => {
                    let block = p.parse_script_body(Close::Brace(start), start)?;
                    p.expect_close('}', start, "script block")?;
                    let mut block = block;
                    block.span = p.span_from(start);
                    ExprKind::ScriptBlock(Box::new(block))
                }
                TokenKind::Identifier(name) => {
                    return Err(p.error(
                        start,
                        ParseErrorKind::Unexpected,
                        format!(
                            "unexpected bare word '{name}' in an expression; quote it if it \
                             is a string, or wrap a command in '( )'"
                        ),
                    ));
                }
                other => {
                    let text = p.src.get(start..token.span.end).unwrap_or("");
                    let found = if text.is_empty() {
                        other.describe().to_owned()
                    } else {
                        format!("'{text}'")
                    };
                    return Err(p.error(
                        start,
                        ParseErrorKind::Unexpected,
                        format!("expected a value expression, found {found}"),
                    ));
                }
            };
            Ok(Expr::new(kind, p.span_from(start)))
        })
    }

    /// Member access, method calls, static members and indexing, which must
    /// touch what they follow: `$a.b`, `$a[0]`, `[t]::m()`.
    pub(crate) fn parse_postfix(&mut self, expr: Expr) -> Result<Expr> {
        self.chain(|p| p.parse_postfix_chain(expr))
    }

    /// The postfix operators after `expr`; each is a chain link.
    fn parse_postfix_chain(&mut self, mut expr: Expr) -> Result<Expr> {
        loop {
            if !self.adjacent() {
                return Ok(expr);
            }
            let start = expr.span.start;
            let at = self.pos();
            let is_static = match (self.raw_char(), self.raw_char_at(1)) {
                (Some('.'), Some('.')) => return Ok(expr),
                (Some('.'), _) => {
                    self.link(at)?;
                    self.bump_raw();
                    false
                }
                (Some(':'), Some(':')) => {
                    self.link(at)?;
                    self.bump_raw();
                    self.bump_raw();
                    true
                }
                (Some('['), _) => {
                    self.link(at)?;
                    self.bump(LexMode::Expression)?;
                    let open = self.last_end - 1;
                    self.skip_newlines()?;
                    if self.raw_char() == Some(']') {
                        return Err(self.error(
                            open,
                            ParseErrorKind::Unexpected,
                            "empty index: expected an expression inside '[ ]'",
                        ));
                    }
                    let index = self.parse_expression()?;
                    self.expect_close(']', open, "index")?;
                    expr = Expr::new(
                        ExprKind::Index {
                            target: Box::new(expr),
                            index: Box::new(index),
                        },
                        self.span_from(start),
                    );
                    continue;
                }
                _ => return Ok(expr),
            };
            let name = self.parse_member_name(is_static)?;
            if self.adjacent() && self.raw_char() == Some('(') {
                let arguments = self.parse_call_arguments()?;
                expr = Expr::new(
                    ExprKind::MethodCall {
                        target: Box::new(expr),
                        name,
                        arguments,
                        is_static,
                    },
                    self.span_from(start),
                );
            } else {
                expr = Expr::new(
                    ExprKind::Member {
                        target: Box::new(expr),
                        name,
                        is_static,
                    },
                    self.span_from(start),
                );
            }
        }
    }

    fn parse_member_name(&mut self, is_static: bool) -> Result<MemberName> {
        let at = self.pos();
        let operator = if is_static { "::" } else { "." };
        match self.raw_char() {
            Some(c) if is_ident_start(c) || c.is_ascii_digit() => {
                let start = self.pos();
                while self.raw_char().is_some_and(is_ident_char) {
                    self.bump_raw();
                }
                Ok(MemberName::Name(
                    self.src.get(start..self.last_end).unwrap_or("").to_owned(),
                ))
            }
            Some(c) if is_quote(c) || c == '$' || c == '(' => {
                let name = self.parse_primary(LexMode::Expression)?;
                match name.kind {
                    ExprKind::String(text) => Ok(MemberName::Name(text)),
                    ExprKind::Variable(_)
                    | ExprKind::Expandable(_)
                    | ExprKind::Paren(_)
                    | ExprKind::SubExpression(_) => Ok(MemberName::Expr(Box::new(name))),
                    _ => Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!("expected a member name after '{operator}'"),
                    )),
                }
            }
            _ => Err(self.error(
                at,
                ParseErrorKind::Unexpected,
                format!("expected a member name right after '{operator}'"),
            )),
        }
    }

    /// `( arg, arg )` of a method call; commas separate arguments here.
    fn parse_call_arguments(&mut self) -> Result<Vec<Expr>> {
        let open = self.pos();
        self.bump_raw();
        let mut arguments = Vec::new();
        self.skip_newlines()?;
        if self.raw_char() == Some(')') {
            self.bump_raw();
            return Ok(arguments);
        }
        loop {
            self.skip_newlines()?;
            arguments.push(self.parse_expression_no_comma()?);
            self.skip_newlines()?;
            match self.raw_char() {
                Some(',') => self.bump_raw(),
                Some(')') => {
                    self.bump_raw();
                    return Ok(arguments);
                }
                None => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing ')' for the method call arguments that start here",
                    ));
                }
                Some(_) => {
                    let at = self.pos();
                    let found = self.describe_next();
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!("expected ',' or ')' in method call arguments, found {found}"),
                    ));
                }
            }
        }
    }

    /// The entries of `@{ ... }`, after the `@{` at `open`.
    fn parse_hashtable(&mut self, open: usize) -> Result<Vec<HashEntry>> {
        let mut entries = Vec::new();
        loop {
            self.skip_separators()?;
            match self.raw_char() {
                Some('}') => {
                    self.bump_raw();
                    return Ok(entries);
                }
                None => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing '}' for the hashtable that starts here",
                    ));
                }
                _ => {}
            }
            let key = self.parse_hash_key()?;
            self.skip_blanks()?;
            if self.peek_kind(LexMode::Expression)? != TokenKind::Assign(AssignOp::Assign) {
                let at = self.pos();
                let found = self.describe_next();
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!("expected '=' after the hashtable key, found {found}"),
                ));
            }
            self.bump(LexMode::Expression)?;
            self.skip_newlines()?;
            let value = self.parse_statement()?;
            entries.push(HashEntry { key, value });
            self.skip_blanks()?;
            if !matches!(self.raw_char(), None | Some('\n' | '\r' | ';' | '}')) {
                let at = self.pos();
                let found = self.describe_next();
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!(
                        "expected ';', a line break or '}}' after a hashtable entry, found {found}"
                    ),
                ));
            }
        }
    }

    /// A hashtable key: a bare word (which may contain dashes, like
    /// `Content-Type`) or a unary expression.
    fn parse_hash_key(&mut self) -> Result<Expr> {
        let start = self.pos();
        if self.raw_char().is_some_and(is_ident_start) {
            while self
                .raw_char()
                .is_some_and(|c| is_ident_char(c) || c == '-')
            {
                self.bump_raw();
            }
            let key = self.src.get(start..self.last_end).unwrap_or("").to_owned();
            return Ok(Expr::new(ExprKind::String(key), self.span_from(start)));
        }
        self.parse_unary()
    }

    /// Turns the lexer's string pieces into syntax, parsing each `$( )` in
    /// place (one nesting level deeper).
    pub(crate) fn convert_parts(&mut self, parts: Vec<TextPart>) -> Result<Vec<StringPart>> {
        parts
            .into_iter()
            .map(|part| {
                Ok(match part {
                    TextPart::Literal(text) => StringPart::Literal(text),
                    TextPart::Variable(variable) => StringPart::Variable(variable),
                    TextPart::SubExpression(span) => {
                        let statements = self.nested(|p| {
                            let mut sub = p.sub_parser(span.start, span.end);
                            sub.parse_statements(Close::End)
                        })?;
                        StringPart::SubExpression(statements)
                    }
                })
            })
            .collect()
    }
}
