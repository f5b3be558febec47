//! The tokenizer.
//!
//! The lexer reads one token at a time in the [`LexMode`] the parser asks for
//! (see [`token`](super::token) for why). It never looks further than the
//! token it reads, with one exception: a `$(` inside a double-quoted string
//! is matched to its `)` by lexing the code in between, so that a `)` inside
//! a nested string does not end the subexpression early. That nesting is
//! bounded by [`MAX_NESTING`].
//!
//! Whitespace, comments and backtick line continuations are skipped before
//! each token; line breaks are tokens, because they end statements.

use super::MAX_NESTING;
use super::ast::{AssignOp, Number, Stream, Variable};
use super::chars::{
    ends_word, escaped, is_blank, is_dash, is_double_quote, is_ident_char, is_ident_start,
    is_newline, is_quote, is_single_quote, is_var_char,
};
use super::error::{ParseError, ParseErrorKind};
use super::span::Span;
use super::token::{DashOperator, LexMode, TextPart, Token, TokenKind};

type Result<T> = std::result::Result<T, ParseError>;

/// Reads tokens from a source text (or a sub-range of it).
#[derive(Debug, Clone, Copy)]
pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    end: usize,
    depth: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer over all of `src`.
    #[must_use]
    pub fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            end: src.len(),
            depth: 0,
        }
    }

    /// A lexer over `src[start..end]`, at nesting `depth`. Offsets stay those
    /// of the whole source, so error positions are right.
    pub(crate) fn with_range(src: &'a str, start: usize, end: usize, depth: usize) -> Self {
        let end = end.min(src.len());
        Self {
            src,
            pos: start.min(end),
            end,
            depth,
        }
    }

    /// The byte offset of the next character to read.
    #[must_use]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The offset where this lexer's range ends.
    pub(crate) fn end(&self) -> usize {
        self.end
    }

    pub(crate) fn set_depth(&mut self, depth: usize) {
        self.depth = depth;
    }

    pub(crate) fn set_position(&mut self, pos: usize) {
        self.pos = pos.min(self.end);
    }

    /// Reads the next token in `mode`.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] for text no token can start with in `mode`, and for
    /// unterminated strings, here-strings, braced variables and comments.
    pub fn next_token(&mut self, mode: LexMode) -> Result<Token> {
        self.skip_trivia()?;
        let start = self.pos;
        let kind = self.scan(mode, start)?;
        Ok(Token {
            kind,
            span: Span::new(start, self.pos),
        })
    }

    // ---- characters ------------------------------------------------------

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..self.end).unwrap_or("")
    }

    pub(crate) fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn char_at(&self, offset: usize) -> Option<char> {
        if offset >= self.end {
            return None;
        }
        self.src.get(offset..self.end)?.chars().next()
    }

    pub(crate) fn bump_char(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes one line break (`\r\n` counts as one).
    pub(crate) fn bump_newline(&mut self) {
        if self.peek_char() == Some('\r') {
            self.bump_char();
        }
        if self.peek_char() == Some('\n') {
            self.bump_char();
        }
    }

    fn error(&self, at: usize, kind: ParseErrorKind, message: impl Into<String>) -> ParseError {
        ParseError::new(self.src, at, kind, message)
    }

    /// The source text from `start` to the end of the word there, for
    /// messages.
    fn word_at(&self, start: usize) -> &'a str {
        let text = self.src.get(start..self.end).unwrap_or("");
        let mut end = 0;
        for (i, c) in text.char_indices() {
            if i > 0 && (ends_word(c) || is_quote(c)) || i >= 40 {
                break;
            }
            end = i + c.len_utf8();
        }
        &text[..end]
    }

    // ---- trivia ----------------------------------------------------------

    /// Skips blanks, comments and backtick line continuations, but not line
    /// breaks.
    pub(crate) fn skip_trivia(&mut self) -> Result<()> {
        loop {
            match (self.peek_char(), self.peek_nth(1)) {
                (Some(c), _) if is_blank(c) => {
                    self.bump_char();
                }
                (Some('#'), _) => {
                    while let Some(c) = self.peek_char() {
                        if is_newline(c) {
                            break;
                        }
                        self.bump_char();
                    }
                }
                (Some('<'), Some('#')) => self.skip_block_comment()?,
                (Some('`'), Some(c)) if is_newline(c) => {
                    self.bump_char();
                    self.bump_newline();
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_block_comment(&mut self) -> Result<()> {
        let start = self.pos;
        self.pos += 2;
        match self.rest().find("#>") {
            Some(i) => {
                self.pos += i + 2;
                Ok(())
            }
            None => Err(self.error(
                start,
                ParseErrorKind::Unterminated,
                "unterminated block comment: '<#' has no closing '#>'",
            )),
        }
    }

    // ---- tokens ----------------------------------------------------------

    fn single(&mut self, kind: TokenKind) -> Result<TokenKind> {
        self.bump_char();
        Ok(kind)
    }

    fn scan(&mut self, mode: LexMode, start: usize) -> Result<TokenKind> {
        let Some(c) = self.peek_char() else {
            return Ok(TokenKind::Eof);
        };
        let next = self.peek_nth(1);
        match c {
            '\n' | '\r' => {
                self.bump_newline();
                Ok(TokenKind::Newline)
            }
            ';' => self.single(TokenKind::Semicolon),
            '(' => self.single(TokenKind::LParen),
            ')' => self.single(TokenKind::RParen),
            '{' => self.single(TokenKind::LBrace),
            '}' => self.single(TokenKind::RBrace),
            ',' => self.single(TokenKind::Comma),
            '|' if next == Some('|') => Err(self.error(
                start,
                ParseErrorKind::Unsupported,
                "the '||' pipeline chain operator is PowerShell 7 only; use if/else",
            )),
            '|' => self.single(TokenKind::Pipe),
            '&' if next == Some('&') => Err(self.error(
                start,
                ParseErrorKind::Unsupported,
                "the '&&' pipeline chain operator is PowerShell 7 only; use if/else",
            )),
            '&' => self.single(TokenKind::Ampersand),
            '$' => self.scan_dollar(mode, start),
            '@' => self.scan_at(mode, start),
            q if is_single_quote(q) => {
                self.bump_char();
                Ok(TokenKind::StringLiteral(self.scan_single_quoted(start)?))
            }
            q if is_double_quote(q) => {
                self.bump_char();
                let mut parts = Parts::default();
                self.scan_double_quoted(&mut parts, start, false)?;
                Ok(parts.into_string_token())
            }
            '>' => self.scan_redirection(start),
            '1'..='6' | '*' if next == Some('>') => self.scan_redirection(start),
            '<' => Err(self.error(
                start,
                ParseErrorKind::Unsupported,
                "the '<' operator is reserved for future use in PowerShell; \
                 use Get-Content to read a file",
            )),
            _ => match mode {
                LexMode::Expression => self.scan_expression_token(c, next, start),
                LexMode::Command => self.scan_command_token(c, next, start),
            },
        }
    }

    fn scan_expression_token(
        &mut self,
        c: char,
        next: Option<char>,
        start: usize,
    ) -> Result<TokenKind> {
        let assign_or = |lexer: &mut Self, op: AssignOp, plain: TokenKind| {
            lexer.bump_char();
            if lexer.peek_char() == Some('=') {
                lexer.bump_char();
                Ok(TokenKind::Assign(op))
            } else {
                Ok(plain)
            }
        };
        match c {
            '[' => self.single(TokenKind::LBracket),
            ']' => self.single(TokenKind::RBracket),
            '.' if next == Some('.') => {
                self.pos += 2;
                Ok(TokenKind::DotDot)
            }
            '.' if next.is_some_and(|n| n.is_ascii_digit()) => self.scan_number_expression(start),
            '.' => self.single(TokenKind::Dot),
            ':' if next == Some(':') => {
                self.pos += 2;
                Ok(TokenKind::DoubleColon)
            }
            '=' => self.single(TokenKind::Assign(AssignOp::Assign)),
            '+' if next == Some('+') => {
                self.pos += 2;
                Ok(TokenKind::PlusPlus)
            }
            '+' => assign_or(self, AssignOp::Add, TokenKind::Plus),
            '*' => assign_or(self, AssignOp::Multiply, TokenKind::Star),
            '/' => assign_or(self, AssignOp::Divide, TokenKind::Slash),
            '%' => assign_or(self, AssignOp::Remainder, TokenKind::Percent),
            '!' => self.single(TokenKind::Exclaim),
            d if is_dash(d) => {
                self.bump_char();
                match self.peek_char() {
                    Some(n) if is_dash(n) => {
                        self.bump_char();
                        Ok(TokenKind::MinusMinus)
                    }
                    Some('=') => {
                        self.bump_char();
                        Ok(TokenKind::Assign(AssignOp::Subtract))
                    }
                    Some(n) if n.is_alphabetic() => self.scan_operator(start),
                    _ => Ok(TokenKind::Minus),
                }
            }
            d if d.is_ascii_digit() => self.scan_number_expression(start),
            i if is_ident_start(i) => Ok(TokenKind::Identifier(self.scan_identifier())),
            '`' => Err(self.error(
                start,
                ParseErrorKind::Unexpected,
                "unexpected '`': a backtick outside a string only continues a line \
                 when it is the last character on the line",
            )),
            other => Err(self.error(
                start,
                ParseErrorKind::Unexpected,
                format!("unexpected character '{other}' in an expression"),
            )),
        }
    }

    /// After the dash: reads the operator name.
    fn scan_operator(&mut self, start: usize) -> Result<TokenKind> {
        let name_start = self.pos;
        while self.peek_char().is_some_and(char::is_alphabetic) {
            self.bump_char();
        }
        let name = self.src.get(name_start..self.pos).unwrap_or("");
        match DashOperator::lookup(name) {
            Some(op) => Ok(TokenKind::Operator(op)),
            None => Err(self.error(
                start,
                ParseErrorKind::UnknownOperator,
                format!("unknown operator '-{name}'"),
            )),
        }
    }

    pub(crate) fn scan_identifier(&mut self) -> String {
        let start = self.pos;
        while self.peek_char().is_some_and(is_ident_char) {
            self.bump_char();
        }
        self.src.get(start..self.pos).unwrap_or("").to_owned()
    }

    /// The characters of a type name inside `[...]`: `System.Text.Encoding`.
    pub(crate) fn scan_type_identifier(&mut self) -> String {
        let start = self.pos;
        while self
            .peek_char()
            .is_some_and(|c| is_ident_char(c) || c == '.' || c == '+')
        {
            self.bump_char();
        }
        self.src.get(start..self.pos).unwrap_or("").to_owned()
    }

    fn scan_command_token(
        &mut self,
        c: char,
        next: Option<char>,
        start: usize,
    ) -> Result<TokenKind> {
        let digit_follows = |n: Option<char>, after: Option<char>| {
            n.is_some_and(|n| n.is_ascii_digit())
                || (n == Some('.') && after.is_some_and(|a| a.is_ascii_digit()))
        };
        if is_dash(c) {
            let dash_len = c.len_utf8();
            if digit_follows(next, self.peek_nth(2))
                && let Some((value, end)) = scan_number(self.src, start + dash_len, self.end)
                && self.delimited(end)
            {
                self.pos = end;
                return Ok(TokenKind::Number {
                    value,
                    negative: true,
                });
            }
            if next.is_some_and(|n| n.is_alphabetic() || n == '_' || n == '?') {
                return self.scan_parameter(start, dash_len);
            }
            if next.is_some_and(is_dash) {
                let after = start + dash_len + next.map_or(0, char::len_utf8);
                if self.delimited(after) {
                    self.pos = after;
                    return Ok(TokenKind::DashDash);
                }
            }
            return self.scan_word(start);
        }
        if digit_follows(Some(c), next)
            && let Some((value, end)) = scan_number(self.src, start, self.end)
            && self.delimited(end)
        {
            self.pos = end;
            return Ok(TokenKind::Number {
                value,
                negative: false,
            });
        }
        self.scan_word(start)
    }

    /// Whether a command-mode token ending at `end` stands alone (otherwise
    /// `5abc` or `1..5` is a bare word).
    fn delimited(&self, end: usize) -> bool {
        self.char_at(end).is_none_or(ends_word)
    }

    fn scan_parameter(&mut self, start: usize, dash_len: usize) -> Result<TokenKind> {
        let name_start = start + dash_len;
        let mut end = name_start;
        while let Some(c) = self.char_at(end) {
            if c.is_alphanumeric() || matches!(c, '_' | '?' | '-') {
                end += c.len_utf8();
            } else {
                break;
            }
        }
        let name = self.src.get(name_start..end).unwrap_or("").to_owned();
        match self.char_at(end) {
            Some(':') => {
                self.pos = end + 1;
                Ok(TokenKind::Parameter { name, colon: true })
            }
            c if c.is_none_or(ends_word) => {
                self.pos = end;
                Ok(TokenKind::Parameter { name, colon: false })
            }
            // `-foo.txt` and the like are arguments, not parameters.
            _ => self.scan_word(start),
        }
    }

    /// A bare word (PowerShell's "generic token"): everything up to a word
    /// delimiter, with backtick escapes, embedded quotes and `$` expansions.
    fn scan_word(&mut self, start: usize) -> Result<TokenKind> {
        self.pos = start;
        let mut parts = Parts::default();
        while let Some(c) = self.peek_char() {
            if ends_word(c) {
                break;
            }
            match c {
                '`' => match self.peek_nth(1) {
                    Some(n) if is_newline(n) => break,
                    Some(n) => {
                        self.pos += 1 + n.len_utf8();
                        parts.push(escaped(n));
                    }
                    None => {
                        self.bump_char();
                        parts.push('`');
                    }
                },
                '$' => self.scan_dollar_part(&mut parts)?,
                q if is_single_quote(q) => {
                    let open = self.pos;
                    self.bump_char();
                    let text = self.scan_single_quoted(open)?;
                    parts.push_str(&text);
                }
                q if is_double_quote(q) => {
                    let open = self.pos;
                    self.bump_char();
                    self.scan_double_quoted(&mut parts, open, false)?;
                }
                other => {
                    self.bump_char();
                    parts.push(other);
                }
            }
        }
        if self.pos == start {
            // Only reachable for a character no token can start with; never
            // return an empty token, or the caller would loop forever.
            let c = self.peek_char().unwrap_or(' ');
            return Err(self.error(
                start,
                ParseErrorKind::Unexpected,
                format!("unexpected character '{c}'"),
            ));
        }
        Ok(parts.into_word_token())
    }

    // ---- variables -------------------------------------------------------

    fn scan_dollar(&mut self, mode: LexMode, start: usize) -> Result<TokenKind> {
        if self.peek_nth(1) == Some('(') {
            self.pos += 2;
            return Ok(TokenKind::DollarParen);
        }
        let Some(variable) = self.scan_variable(start)? else {
            return match mode {
                LexMode::Command => self.scan_word(start),
                LexMode::Expression => Err(self.error(
                    start,
                    ParseErrorKind::InvalidLiteral,
                    "'$' must be followed by a variable name, '{name}' or '('",
                )),
            };
        };
        // In command mode `$dir\file.txt` is one expandable word, while
        // `$vm.Name` and `$a[0]` stay a variable with member access or index.
        if mode == LexMode::Command
            && self
                .peek_char()
                .is_some_and(|c| !ends_word(c) && !matches!(c, '.' | '[' | ':'))
        {
            return self.scan_word(start);
        }
        Ok(TokenKind::Variable(variable))
    }

    /// Reads a variable reference at `start` (the `$`). Returns `None`, with
    /// nothing consumed, when the `$` is not followed by a name.
    fn scan_variable(&mut self, start: usize) -> Result<Option<Variable>> {
        match self.char_at(start + 1) {
            Some('{') => self.scan_braced_variable(start).map(Some),
            Some(c @ ('$' | '^')) => {
                self.pos = start + 2;
                Ok(Some(Variable::new(c.to_string())))
            }
            Some(c) if is_var_char(c) => {
                self.pos = start + 1;
                let name = self.scan_var_name();
                if self.peek_char() != Some(':') {
                    return Ok(Some(Variable::new(name)));
                }
                match self.peek_nth(1) {
                    Some(':') => Ok(Some(Variable::new(name))),
                    Some(c) if is_var_char(c) => {
                        self.bump_char();
                        let inner = self.scan_var_name();
                        Ok(Some(Variable::scoped(name, inner)))
                    }
                    _ => Err(self.error(
                        start,
                        ParseErrorKind::InvalidLiteral,
                        format!(
                            "invalid variable reference '${name}:': ':' is not followed by a \
                             variable name; write '${{{name}}}:' to end the name before the colon"
                        ),
                    )),
                }
            }
            _ => Ok(None),
        }
    }

    fn scan_var_name(&mut self) -> String {
        let start = self.pos;
        while self.peek_char().is_some_and(is_var_char) {
            self.bump_char();
        }
        self.src.get(start..self.pos).unwrap_or("").to_owned()
    }

    /// `${any text}`, with backtick escapes, optionally `${scope:name}`.
    fn scan_braced_variable(&mut self, start: usize) -> Result<Variable> {
        self.pos = start + 2;
        let mut name = String::new();
        loop {
            match self.bump_char() {
                None => {
                    return Err(self.error(
                        start,
                        ParseErrorKind::Unterminated,
                        "unterminated variable name: '${' has no closing '}'",
                    ));
                }
                Some('}') => break,
                Some('`') => match self.bump_char() {
                    Some(c) => name.push(c),
                    None => name.push('`'),
                },
                Some(c) => name.push(c),
            }
        }
        if name.is_empty() {
            return Err(self.error(
                start,
                ParseErrorKind::InvalidLiteral,
                "empty variable name '${}'",
            ));
        }
        if let Some((scope, rest)) = name.split_once(':')
            && !scope.is_empty()
            && !rest.is_empty()
            && scope.chars().all(is_ident_char)
        {
            return Ok(Variable::scoped(scope, rest));
        }
        Ok(Variable::new(name))
    }

    fn scan_at(&mut self, mode: LexMode, start: usize) -> Result<TokenKind> {
        match self.peek_nth(1) {
            Some('(') => {
                self.pos += 2;
                Ok(TokenKind::AtParen)
            }
            Some('{') => {
                self.pos += 2;
                Ok(TokenKind::AtBrace)
            }
            Some(q) if is_quote(q) => self.scan_here_string(start, q),
            Some(c) if is_ident_char(c) => match mode {
                LexMode::Command => {
                    let Some(variable) = self.scan_variable(start)? else {
                        return Err(self.error(
                            start,
                            ParseErrorKind::Unexpected,
                            "unexpected '@'",
                        ));
                    };
                    Ok(TokenKind::Splat(variable))
                }
                LexMode::Expression => Err(self.error(
                    start,
                    ParseErrorKind::Unexpected,
                    "splatting ('@name') is only allowed as a command argument",
                )),
            },
            _ => Err(self.error(
                start,
                ParseErrorKind::Unexpected,
                "unexpected '@': expected '@(', '@{', a here-string or '@name' (splatting)",
            )),
        }
    }

    // ---- strings ---------------------------------------------------------

    /// After the opening quote at `open`: the text up to the closing quote,
    /// where two quotes in a row stand for one.
    fn scan_single_quoted(&mut self, open: usize) -> Result<String> {
        let mut text = String::new();
        loop {
            match self.bump_char() {
                None => {
                    return Err(self.error(
                        open,
                        ParseErrorKind::Unterminated,
                        "unterminated string: the single-quoted string starting here has no \
                         closing quote",
                    ));
                }
                Some(c) if is_single_quote(c) => match self.peek_char() {
                    Some(n) if is_single_quote(n) => {
                        self.bump_char();
                        text.push(n);
                    }
                    _ => return Ok(text),
                },
                Some(c) => text.push(c),
            }
        }
    }

    /// After the opening quote at `open`: the parts of a double-quoted string
    /// up to its closing quote, or (for a here-string body, `here`) up to the
    /// end of the lexer's range.
    fn scan_double_quoted(&mut self, parts: &mut Parts, open: usize, here: bool) -> Result<()> {
        let unterminated = |lexer: &Self| {
            lexer.error(
                open,
                ParseErrorKind::Unterminated,
                "unterminated string: the double-quoted string starting here has no closing quote",
            )
        };
        loop {
            let Some(c) = self.peek_char() else {
                return if here {
                    Ok(())
                } else {
                    Err(unterminated(self))
                };
            };
            match c {
                q if !here && is_double_quote(q) => {
                    self.bump_char();
                    match self.peek_char() {
                        Some(n) if is_double_quote(n) => {
                            self.bump_char();
                            parts.push(n);
                        }
                        _ => return Ok(()),
                    }
                }
                '`' => {
                    self.bump_char();
                    match self.bump_char() {
                        Some(n) => parts.push(escaped(n)),
                        None if here => parts.push('`'),
                        None => return Err(unterminated(self)),
                    }
                }
                '$' => self.scan_dollar_part(parts)?,
                other => {
                    self.bump_char();
                    parts.push(other);
                }
            }
        }
    }

    /// A `$` inside a string or word: a variable, a `$( )` subexpression, or
    /// a literal dollar sign.
    fn scan_dollar_part(&mut self, parts: &mut Parts) -> Result<()> {
        let start = self.pos;
        if self.peek_nth(1) == Some('(') {
            let inner = start + 2;
            let close = self.find_subexpression_end(inner)?;
            parts.push_part(TextPart::SubExpression(Span::new(inner, close)));
            self.pos = close + 1;
            return Ok(());
        }
        match self.scan_variable(start)? {
            Some(variable) => parts.push_part(TextPart::Variable(variable)),
            None => {
                self.pos = start + 1;
                parts.push('$');
            }
        }
        Ok(())
    }

    /// The offset of the `)` that closes a `$(` whose contents start at
    /// `inner`. Tokens are read in command mode because it accepts the most
    /// text without error; only parentheses matter here.
    fn find_subexpression_end(&self, inner: usize) -> Result<usize> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(
                inner.saturating_sub(2),
                ParseErrorKind::TooDeep,
                format!("strings and subexpressions nest more than {MAX_NESTING} levels deep"),
            ));
        }
        let mut sub = Lexer::with_range(self.src, inner, self.end, self.depth + 1);
        let mut level = 1usize;
        loop {
            let token = sub.next_token(LexMode::Command)?;
            match token.kind {
                TokenKind::LParen | TokenKind::DollarParen | TokenKind::AtParen => level += 1,
                TokenKind::RParen => {
                    level -= 1;
                    if level == 0 {
                        return Ok(token.span.start);
                    }
                }
                TokenKind::Eof => {
                    return Err(self.error(
                        inner.saturating_sub(2),
                        ParseErrorKind::MissingClose,
                        "missing closing ')' for the '$(' subexpression in this string",
                    ));
                }
                _ => {}
            }
        }
    }

    /// `@'...'@` or `@"..."@` at `start`; `quote` is the opening quote.
    fn scan_here_string(&mut self, start: usize, quote: char) -> Result<TokenKind> {
        let expandable = is_double_quote(quote);
        let closes = |c: char| {
            if expandable {
                is_double_quote(c)
            } else {
                is_single_quote(c)
            }
        };
        self.pos = start + 1 + quote.len_utf8();
        while self.peek_char().is_some_and(is_blank) {
            self.bump_char();
        }
        if !self.peek_char().is_some_and(is_newline) {
            return Err(self.error(
                start,
                ParseErrorKind::InvalidLiteral,
                "a here-string's opening quote must be the last thing on its line",
            ));
        }
        self.bump_newline();
        let content_start = self.pos;
        // The closing quote must start a line; find that line first, then read
        // the body as a string in that range.
        let mut line_start = content_start;
        let close_at = loop {
            if line_start >= self.end {
                return Err(self.error(
                    start,
                    ParseErrorKind::Unterminated,
                    format!("unterminated here-string: no line starts with the closing '{quote}@'"),
                ));
            }
            if self.char_at(line_start).is_some_and(closes) {
                let at = line_start + self.char_at(line_start).map_or(1, char::len_utf8);
                if self.char_at(at) == Some('@') {
                    break line_start;
                }
            }
            let rest = self.src.get(line_start..self.end).unwrap_or("");
            match rest.find(['\n', '\r']) {
                Some(i) => {
                    let mut next = line_start + i + 1;
                    if rest.as_bytes().get(i) == Some(&b'\r')
                        && rest.as_bytes().get(i + 1) == Some(&b'\n')
                    {
                        next += 1;
                    }
                    line_start = next;
                }
                None => line_start = self.end,
            }
        };
        // The line break before the closing quote is not part of the text.
        let mut content_end = close_at;
        if content_end > content_start {
            let before = self.src.get(content_start..content_end).unwrap_or("");
            if before.ends_with("\r\n") {
                content_end -= 2;
            } else if before.ends_with(['\n', '\r']) {
                content_end -= 1;
            }
        }
        let after = close_at + self.char_at(close_at).map_or(1, char::len_utf8) + 1;
        let kind = if expandable {
            let mut body = Lexer::with_range(self.src, content_start, content_end, self.depth);
            let mut parts = Parts::default();
            body.scan_double_quoted(&mut parts, start, true)?;
            parts.into_string_token()
        } else {
            TokenKind::StringLiteral(
                self.src
                    .get(content_start..content_end)
                    .unwrap_or("")
                    .to_owned(),
            )
        };
        self.pos = after;
        Ok(kind)
    }

    // ---- numbers and redirections -----------------------------------------

    fn scan_number_expression(&mut self, start: usize) -> Result<TokenKind> {
        match scan_number(self.src, start, self.end) {
            Some((value, end)) if !self.char_at(end).is_some_and(is_ident_char) => {
                self.pos = end;
                Ok(TokenKind::Number {
                    value,
                    negative: false,
                })
            }
            _ => Err(self.error(
                start,
                ParseErrorKind::InvalidLiteral,
                format!("invalid numeric literal '{}'", self.word_at(start)),
            )),
        }
    }

    fn scan_redirection(&mut self, start: usize) -> Result<TokenKind> {
        let from = match self.peek_char() {
            Some('*') => Stream::All,
            Some('2') => Stream::Error,
            Some('3') => Stream::Warning,
            Some('4') => Stream::Verbose,
            Some('5') => Stream::Debug,
            Some('6') => Stream::Information,
            _ => Stream::Output,
        };
        if self.peek_char() != Some('>') {
            self.bump_char();
        }
        self.bump_char();
        match self.peek_char() {
            Some('>') => {
                self.bump_char();
                Ok(TokenKind::Redirection {
                    from,
                    append: true,
                    merge_into: None,
                })
            }
            Some('&') => {
                self.bump_char();
                match self.bump_char() {
                    Some('1') if from != Stream::Output => Ok(TokenKind::Redirection {
                        from,
                        append: false,
                        merge_into: Some(Stream::Output),
                    }),
                    _ => Err(self.error(
                        start,
                        ParseErrorKind::Unsupported,
                        format!(
                            "unsupported redirection '{}': only merging into the output \
                             stream ('2>&1', '*>&1') is supported",
                            self.word_at(start)
                        ),
                    )),
                }
            }
            _ => Ok(TokenKind::Redirection {
                from,
                append: false,
                merge_into: None,
            }),
        }
    }
}

/// Reads a numeric literal at `start` (which must be a digit, or a point
/// before a digit). Returns the value and the offset after the literal, or
/// `None` when the text there is not a well-formed number. Whether the next
/// character may follow a number is the caller's business.
pub(crate) fn scan_number(src: &str, start: usize, limit: usize) -> Option<(Number, usize)> {
    let bytes = src.as_bytes();
    let at = |i: usize| {
        if i < limit {
            bytes.get(i).copied()
        } else {
            None
        }
    };
    let lower = |i: usize| at(i).map(|b| b.to_ascii_lowercase());
    let multiplier = |i: usize| -> (u128, usize) {
        if lower(i + 1) != Some(b'b') {
            return (1, i);
        }
        let shift = match lower(i) {
            Some(b'k') => 10,
            Some(b'm') => 20,
            Some(b'g') => 30,
            Some(b't') => 40,
            Some(b'p') => 50,
            _ => return (1, i),
        };
        (1u128 << shift, i + 2)
    };

    if at(start) == Some(b'0') && lower(start + 1) == Some(b'x') {
        let digits = start + 2;
        let mut i = digits;
        while at(i).is_some_and(|b| b.is_ascii_hexdigit()) {
            i += 1;
        }
        if i == digits || i - digits > 16 {
            return None;
        }
        let raw = u64::from_str_radix(src.get(digits..i)?, 16).ok()?;
        let long = lower(i) == Some(b'l');
        if long {
            i += 1;
        }
        let (mult, end) = multiplier(i);
        // Hex literals wrap like PowerShell's: 0xFFFFFFFF is the int -1.
        let small = !long && i - digits <= 8;
        let base = if small {
            i64::from(raw as u32 as i32)
        } else {
            raw as i64
        };
        let value = base.checked_mul(i64::try_from(mult).ok()?)?;
        let number = match i32::try_from(value) {
            Ok(v) if small => Number::Int(v),
            _ => Number::Long(value),
        };
        return Some((number, end));
    }

    let mut i = start;
    while at(i).is_some_and(|b| b.is_ascii_digit()) {
        i += 1;
    }
    let int_digits = i - start;
    let mut real = false;
    if at(i) == Some(b'.') && at(i + 1).is_some_and(|b| b.is_ascii_digit()) {
        real = true;
        i += 1;
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
    }
    if int_digits == 0 && !real {
        return None;
    }
    if lower(i) == Some(b'e') {
        let mut j = i + 1;
        if matches!(at(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if at(j).is_some_and(|b| b.is_ascii_digit()) {
            while at(j).is_some_and(|b| b.is_ascii_digit()) {
                j += 1;
            }
            real = true;
            i = j;
        }
    }
    let text = src.get(start..i)?;
    let (long, decimal) = match lower(i) {
        Some(b'l') => (true, false),
        Some(b'd') => (false, true),
        _ => (false, false),
    };
    if long || decimal {
        i += 1;
    }
    let (mult, end) = multiplier(i);

    if real || decimal {
        if long {
            return None;
        }
        let value = text.parse::<f64>().ok()? * mult as f64;
        if !value.is_finite() {
            return None;
        }
        let number = if decimal {
            Number::Decimal(value)
        } else {
            Number::Double(value)
        };
        return Some((number, end));
    }
    let number = match text.parse::<u128>().ok().and_then(|v| v.checked_mul(mult)) {
        Some(v) if long => Number::Long(i64::try_from(v).ok()?),
        Some(v) => match (i32::try_from(v), i64::try_from(v)) {
            (Ok(v), _) => Number::Int(v),
            (_, Ok(v)) => Number::Long(v),
            _ => Number::Double(v as f64),
        },
        None if long => return None,
        None => {
            let value = text.parse::<f64>().ok()? * mult as f64;
            if !value.is_finite() {
                return None;
            }
            Number::Double(value)
        }
    };
    Some((number, end))
}

/// Collects the pieces of a string or word, merging adjacent literal text.
#[derive(Default)]
struct Parts {
    parts: Vec<TextPart>,
    literal: String,
    expands: bool,
}

impl Parts {
    fn push(&mut self, c: char) {
        self.literal.push(c);
    }

    fn push_str(&mut self, s: &str) {
        self.literal.push_str(s);
    }

    fn push_part(&mut self, part: TextPart) {
        self.flush();
        self.expands = true;
        self.parts.push(part);
    }

    fn flush(&mut self) {
        if !self.literal.is_empty() {
            self.parts
                .push(TextPart::Literal(std::mem::take(&mut self.literal)));
        }
    }

    fn finish(mut self) -> std::result::Result<Vec<TextPart>, String> {
        if self.expands {
            self.flush();
            Ok(self.parts)
        } else {
            Err(self.literal)
        }
    }

    fn into_string_token(self) -> TokenKind {
        match self.finish() {
            Ok(parts) => TokenKind::ExpandableString(parts),
            Err(text) => TokenKind::StringLiteral(text),
        }
    }

    fn into_word_token(self) -> TokenKind {
        match self.finish() {
            Ok(parts) => TokenKind::ExpandableWord(parts),
            Err(text) => TokenKind::Word(text),
        }
    }
}

/// Reads all of `src` as tokens in one `mode`, up to and including `Eof`.
/// Real scripts switch modes as they go (the parser does that); this is for
/// tests and for looking at how a fragment lexes.
///
/// # Errors
///
/// The first error [`Lexer::next_token`] reports.
pub fn tokenize(src: &str, mode: LexMode) -> Result<Vec<Token>> {
    let mut lexer = Lexer::new(src);
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token(mode)?;
        lexer.set_position(token.span.end);
        let done = token.kind == TokenKind::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, mode: LexMode) -> Vec<TokenKind> {
        tokenize(src, mode)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn number(src: &str) -> Option<Number> {
        scan_number(src, 0, src.len()).map(|(n, _)| n)
    }

    #[test]
    fn numbers_are_typed_like_powershell() {
        assert_eq!(number("42"), Some(Number::Int(42)));
        assert_eq!(number("2147483648"), Some(Number::Long(2_147_483_648)));
        assert_eq!(number("4GB"), Some(Number::Long(4 << 30)));
        assert_eq!(number("1gb"), Some(Number::Int(1 << 30)));
        assert_eq!(number("512Kb"), Some(Number::Int(512 << 10)));
        assert_eq!(number("5L"), Some(Number::Long(5)));
        assert_eq!(number("1.5"), Some(Number::Double(1.5)));
        assert_eq!(number(".5"), Some(Number::Double(0.5)));
        assert_eq!(number("1e3"), Some(Number::Double(1000.0)));
        assert_eq!(number("2.5d"), Some(Number::Decimal(2.5)));
        assert_eq!(number("0x1F"), Some(Number::Int(31)));
        assert_eq!(number("0xFFFFFFFF"), Some(Number::Int(-1)));
        assert_eq!(number("0x100000000"), Some(Number::Long(1 << 32)));
        assert_eq!(
            number("1.5GB"),
            Some(Number::Double(1.5 * f64::from(1 << 30)))
        );
        assert_eq!(number("0x"), None);
        assert_eq!(number("1e999"), None);
        assert_eq!(number("99999999999999999999L"), None);
    }

    #[test]
    fn the_same_text_lexes_differently_by_mode() {
        assert_eq!(
            kinds("-Name 1..5", LexMode::Command),
            vec![
                TokenKind::Parameter {
                    name: "Name".into(),
                    colon: false
                },
                TokenKind::Word("1..5".into()),
                TokenKind::Eof
            ]
        );
        assert!(matches!(
            kinds("1..5", LexMode::Expression).as_slice(),
            [
                TokenKind::Number { .. },
                TokenKind::DotDot,
                TokenKind::Number { .. },
                TokenKind::Eof
            ]
        ));
    }

    #[test]
    fn subexpression_end_skips_parens_in_nested_strings() {
        let tokens = kinds(r#""a $(")" + ')') b""#, LexMode::Expression);
        let [TokenKind::ExpandableString(parts), TokenKind::Eof] = tokens.as_slice() else {
            panic!("{tokens:?}");
        };
        assert_eq!(parts.len(), 3);
    }

    #[test]
    fn here_strings_drop_the_line_breaks_around_the_body() {
        assert_eq!(
            kinds("@'\r\nline1\r\n'x'\r\n'@", LexMode::Expression),
            vec![
                TokenKind::StringLiteral("line1\r\n'x'".into()),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds("@\"\n\"@", LexMode::Expression),
            vec![TokenKind::StringLiteral(String::new()), TokenKind::Eof]
        );
    }
}
