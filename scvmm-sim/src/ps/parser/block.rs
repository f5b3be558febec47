//! Script blocks and what can head them: attributes, `param(...)`, named
//! `begin`/`process`/`end` blocks; function definitions; type names.

use super::{Close, Parser, Result};
use crate::ps::ast::{
    Attribute, AttributeArgument, FunctionDefinition, NamedBlocks, ParamBlock, Parameter,
    ParameterAttribute, ScriptBlock, ScriptBody, TypeName,
};
use crate::ps::chars::{is_ident_start, is_newline};
use crate::ps::error::ParseErrorKind;
use crate::ps::span::Span;
use crate::ps::token::{LexMode, TokenKind};

impl Parser<'_> {
    /// The inside of a script block (or a whole script) up to `close`, which
    /// is not consumed. `start` is where the block starts, for its span.
    pub(crate) fn parse_script_body(&mut self, close: Close, start: usize) -> Result<ScriptBlock> {
        self.skip_newlines()?;
        let mut attributes = Vec::new();
        while self.attribute_ahead() {
            attributes.push(self.parse_attribute()?);
            self.skip_newlines()?;
        }
        let param_block = if self.at_word("param")? {
            Some(self.parse_param_block(attributes)?)
        } else if let Some(first) = attributes.first() {
            return Err(self.error(
                first.span.start,
                ParseErrorKind::Unexpected,
                format!(
                    "the attribute [{}(...)] must be followed by a param block",
                    first.name
                ),
            ));
        } else {
            None
        };
        let body = if self.named_block_ahead()? {
            ScriptBody::Named(self.parse_named_blocks(close)?)
        } else {
            ScriptBody::Statements(self.parse_statements(close)?)
        };
        Ok(ScriptBlock {
            param_block,
            body,
            span: Span::new(start, self.last_end.max(start)),
        })
    }

    /// Whether `[Name(` is next: an attribute, never a cast or type literal.
    fn attribute_ahead(&self) -> bool {
        let mut probe = self.lexer;
        if probe.peek_char() != Some('[') {
            return false;
        }
        probe.bump_char();
        if probe.skip_trivia().is_err() || probe.scan_type_identifier().is_empty() {
            return false;
        }
        probe.skip_trivia().is_ok() && probe.peek_char() == Some('(')
    }

    fn named_block_ahead(&mut self) -> Result<bool> {
        self.skip_newlines()?;
        let Some(word) = self.peek_plain_word()? else {
            return Ok(false);
        };
        let word_end = self.peek(LexMode::Command)?.span.end;
        if !["begin", "process", "end", "dynamicparam"]
            .iter()
            .any(|name| word.eq_ignore_ascii_case(name))
        {
            return Ok(false);
        }
        let mut probe = self.lexer;
        probe.set_position(word_end);
        loop {
            if probe.skip_trivia().is_err() {
                return Ok(false);
            }
            match probe.peek_char() {
                Some(c) if is_newline(c) => probe.bump_newline(),
                Some('{') => return Ok(true),
                _ => return Ok(false),
            }
        }
    }

    fn parse_named_blocks(&mut self, close: Close) -> Result<NamedBlocks> {
        let mut blocks = NamedBlocks::default();
        loop {
            self.skip_separators()?;
            match (self.raw_char(), close) {
                (None, Close::End) | (Some('}'), Close::Brace(_)) => return Ok(blocks),
                (None, Close::Brace(open) | Close::Paren(open)) => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing '}' for the block that starts here",
                    ));
                }
                _ => {}
            }
            let at = self.pos();
            let word = self
                .peek_plain_word()?
                .unwrap_or_default()
                .to_ascii_lowercase();
            let slot = match word.as_str() {
                "begin" => &mut blocks.begin,
                "process" => &mut blocks.process,
                "end" => &mut blocks.end,
                "dynamicparam" => {
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unsupported,
                        "dynamicparam blocks are not supported by this PowerShell subset",
                    ));
                }
                _ => {
                    let found = self.describe_next();
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!(
                            "expected a begin, process or end block, found {found}; a script \
                             block with named blocks cannot also have loose statements"
                        ),
                    ));
                }
            };
            if slot.is_some() {
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!("the '{word}' block appears twice"),
                ));
            }
            self.bump(LexMode::Command)?;
            let body = self.parse_block(&format!("'{word}' block"))?;
            match word.as_str() {
                "begin" => blocks.begin = Some(body),
                "process" => blocks.process = Some(body),
                _ => blocks.end = Some(body),
            }
        }
    }

    /// `param( parameters )`, with the attributes that preceded it.
    fn parse_param_block(&mut self, attributes: Vec<Attribute>) -> Result<ParamBlock> {
        let start = attributes
            .first()
            .map_or_else(|| self.pos(), |a| a.span.start);
        self.bump(LexMode::Command)?;
        let open = self.expect_open('(', "after 'param'")?;
        let parameters = self.parse_parameter_list(open)?;
        Ok(ParamBlock {
            attributes,
            parameters,
            span: self.span_from(start),
        })
    }

    /// Parameters up to and including the `)` closing the `(` at `open`.
    fn parse_parameter_list(&mut self, open: usize) -> Result<Vec<Parameter>> {
        let mut parameters = Vec::new();
        self.skip_newlines()?;
        if self.raw_char() == Some(')') {
            self.bump_raw();
            return Ok(parameters);
        }
        loop {
            parameters.push(self.parse_parameter()?);
            self.skip_newlines()?;
            match self.raw_char() {
                Some(',') => {
                    self.bump_raw();
                    self.skip_newlines()?;
                }
                Some(')') => {
                    self.bump_raw();
                    return Ok(parameters);
                }
                None => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::MissingClose,
                        "missing closing ')' for the parameter list that starts here",
                    ));
                }
                Some(_) => {
                    let at = self.pos();
                    let found = self.describe_next();
                    return Err(self.error(
                        at,
                        ParseErrorKind::Unexpected,
                        format!("expected ',' or ')' between parameters, found {found}"),
                    ));
                }
            }
        }
    }

    /// `[attributes][type]$Name = default`.
    fn parse_parameter(&mut self) -> Result<Parameter> {
        self.skip_newlines()?;
        let start = self.pos();
        let mut attributes = Vec::new();
        while self.raw_char() == Some('[') {
            attributes.push(self.parse_parameter_attribute()?);
            self.skip_newlines()?;
        }
        let at = self.pos();
        let variable = match self.bump(LexMode::Expression)?.kind {
            TokenKind::Variable(variable) => variable,
            _ => {
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    "expected a parameter variable such as '$Name'",
                ));
            }
        };
        self.skip_blanks()?;
        let default = if self.raw_char() == Some('=') {
            self.bump_raw();
            self.skip_newlines()?;
            Some(self.parse_expression_no_comma()?)
        } else {
            None
        };
        Ok(Parameter {
            attributes,
            variable,
            default,
            span: self.span_from(start),
        })
    }

    fn parse_parameter_attribute(&mut self) -> Result<ParameterAttribute> {
        if self.attribute_ahead() {
            Ok(ParameterAttribute::Attribute(self.parse_attribute()?))
        } else {
            Ok(ParameterAttribute::Type(self.parse_bracketed_type()?))
        }
    }

    /// `[Name(arguments)]`.
    fn parse_attribute(&mut self) -> Result<Attribute> {
        let start = self.pos();
        self.bump_raw();
        self.skip_blanks()?;
        let name = self.lexer.scan_type_identifier();
        self.last_end = self.pos();
        self.skip_blanks()?;
        let open = self.pos();
        self.bump_raw();
        let mut arguments = Vec::new();
        self.skip_newlines()?;
        if self.raw_char() == Some(')') {
            self.bump_raw();
        } else {
            loop {
                self.skip_newlines()?;
                arguments.push(self.parse_attribute_argument()?);
                self.skip_newlines()?;
                match self.raw_char() {
                    Some(',') => self.bump_raw(),
                    Some(')') => {
                        self.bump_raw();
                        break;
                    }
                    None => {
                        return Err(self.error(
                            open,
                            ParseErrorKind::MissingClose,
                            "missing closing ')' for the attribute arguments that start here",
                        ));
                    }
                    Some(_) => {
                        let at = self.pos();
                        let found = self.describe_next();
                        return Err(self.error(
                            at,
                            ParseErrorKind::Unexpected,
                            format!("expected ',' or ')' in attribute arguments, found {found}"),
                        ));
                    }
                }
            }
        }
        self.skip_blanks()?;
        self.expect_close(']', start, "attribute")?;
        Ok(Attribute {
            name,
            arguments,
            span: self.span_from(start),
        })
    }

    /// `Name = value`, bare `Name` (meaning `$true`), or a positional value.
    fn parse_attribute_argument(&mut self) -> Result<AttributeArgument> {
        if self.raw_char().is_some_and(is_ident_start) {
            let mut probe = self.lexer;
            let name = probe.scan_identifier();
            let mut next = None;
            while probe.skip_trivia().is_ok() {
                match probe.peek_char() {
                    Some(c) if is_newline(c) => probe.bump_newline(),
                    other => {
                        next = other;
                        break;
                    }
                }
            }
            if matches!(next, Some('=' | ',' | ')')) {
                self.lexer.scan_identifier();
                self.last_end = self.pos();
                self.skip_newlines()?;
                if self.raw_char() != Some('=') {
                    return Ok(AttributeArgument::Named { name, value: None });
                }
                self.bump_raw();
                self.skip_newlines()?;
                let value = self.parse_expression_no_comma()?;
                return Ok(AttributeArgument::Named {
                    name,
                    value: Some(value),
                });
            }
        }
        Ok(AttributeArgument::Positional(
            self.parse_expression_no_comma()?,
        ))
    }

    /// After `function` or `filter`: the name, optional `( parameters )` and
    /// the body.
    pub(crate) fn parse_function(&mut self, is_filter: bool) -> Result<FunctionDefinition> {
        self.skip_blanks()?;
        let at = self.pos();
        let name = match self.bump(LexMode::Command)?.kind {
            TokenKind::Word(name) => name,
            _ => {
                return Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    "expected a function name after 'function'",
                ));
            }
        };
        self.skip_blanks()?;
        let parameters = if self.raw_char() == Some('(') {
            let open = self.pos();
            self.bump_raw();
            Some((open, self.parse_parameter_list(open)?))
        } else {
            None
        };
        let open = self.expect_open('{', "to start the function body")?;
        let mut body = self.parse_script_body(Close::Brace(open), open)?;
        self.expect_close('}', open, "function body")?;
        body.span = self.span_from(open);
        if let Some((paren_at, parameters)) = parameters {
            if body.param_block.is_some() {
                return Err(self.error(
                    paren_at,
                    ParseErrorKind::Unexpected,
                    format!(
                        "function '{name}' declares parameters both in '( )' and in a param block"
                    ),
                ));
            }
            body.param_block = Some(ParamBlock {
                attributes: Vec::new(),
                parameters,
                span: Span::new(paren_at, open),
            });
        }
        Ok(FunctionDefinition {
            name,
            is_filter,
            body,
        })
    }

    /// `[type]`, starting at the `[`.
    pub(crate) fn parse_bracketed_type(&mut self) -> Result<TypeName> {
        let open = self.pos();
        self.bump_raw();
        let ty = self.parse_type_name()?;
        self.skip_blanks()?;
        if self.raw_char() == Some('(') {
            return Err(self.error(
                open,
                ParseErrorKind::Unexpected,
                "an attribute is not allowed here; attributes go before parameters and param blocks",
            ));
        }
        self.expect_close(']', open, "type name")?;
        Ok(ty)
    }

    /// A type name after `[`: a dotted name, then any generic arguments
    /// `[string]` and array suffixes `[]`, `[,]`.
    fn parse_type_name(&mut self) -> Result<TypeName> {
        self.nested(|p| {
            p.skip_blanks()?;
            let at = p.pos();
            let name = p.lexer.scan_type_identifier();
            p.last_end = p.pos();
            if name.is_empty() {
                let found = p.describe_next();
                return Err(p.error(
                    at,
                    ParseErrorKind::InvalidLiteral,
                    format!("expected a type name after '[', found {found}"),
                ));
            }
            let mut ty = TypeName::Named(name);
            loop {
                p.skip_blanks()?;
                if p.raw_char() != Some('[') {
                    return Ok(ty);
                }
                let open = p.pos();
                p.bump_raw();
                p.skip_blanks()?;
                match p.raw_char() {
                    Some(']' | ',') => {
                        let mut rank = 1;
                        while p.raw_char() == Some(',') {
                            rank += 1;
                            p.bump_raw();
                            p.skip_blanks()?;
                        }
                        p.expect_close(']', open, "array type suffix")?;
                        ty = TypeName::Array {
                            element: Box::new(ty),
                            rank,
                        };
                    }
                    _ => {
                        let TypeName::Named(name) = ty else {
                            return Err(p.error(
                                open,
                                ParseErrorKind::InvalidLiteral,
                                "generic type arguments must follow a plain type name",
                            ));
                        };
                        let mut arguments = Vec::new();
                        loop {
                            p.skip_blanks()?;
                            let argument = if p.raw_char() == Some('[') {
                                let inner = p.pos();
                                p.bump_raw();
                                let argument = p.parse_type_name()?;
                                p.skip_blanks()?;
                                p.expect_close(']', inner, "generic type argument")?;
                                argument
                            } else {
                                p.parse_type_name()?
                            };
                            arguments.push(argument);
                            p.skip_blanks()?;
                            if p.raw_char() == Some(',') {
                                p.bump_raw();
                            } else {
                                break;
                            }
                        }
                        p.expect_close(']', open, "generic type arguments")?;
                        ty = TypeName::Generic { name, arguments };
                    }
                }
            }
        })
    }
}
