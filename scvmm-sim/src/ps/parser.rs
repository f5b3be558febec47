//! The parser: a hand-written recursive-descent parser that drives the lexer
//! in the mode each position needs.
//!
//! The grammar is split by what it builds: [`statement`] (keyword statements,
//! statement lists, pipelines and assignments), [`command`] (command
//! invocations and their arguments), [`expression`] (operators, postfix
//! access, primaries, strings) and [`block`] (script blocks, `param`,
//! attributes and type names). This file holds the shared machinery: token
//! look-ahead, raw character access, checkpoints and the nesting limit.

mod block;
mod command;
mod expression;
mod statement;

pub(crate) use expression::precedence;
pub(crate) use statement::is_keyword;

use super::ast::ScriptBlock;
use super::error::{ParseError, ParseErrorKind};
use super::lexer::Lexer;
use super::span::Span;
use super::token::{LexMode, Token, TokenKind};
use super::{MAX_CHAIN, MAX_NESTING};

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

/// Parses a whole script.
///
/// # Errors
///
/// A [`ParseError`] naming the first construct that is malformed or outside
/// the supported subset, with its line and column.
pub fn parse(source: &str) -> Result<ScriptBlock> {
    let mut parser = Parser::new(source, 0, source.len(), 0);
    parser.parse_script_body(Close::End, 0)
}

/// What ends a statement list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Close {
    /// The end of the input (or of the sub-range being parsed).
    End,
    /// A `}`; the offset is that of the opening `{`, for messages.
    Brace(usize),
    /// A `)`; the offset is that of the opening `(`, `$(` or `@(`.
    Paren(usize),
}

struct Peeked {
    at: usize,
    mode: LexMode,
    token: Token,
}

/// Parser state: a lexer position, one cached look-ahead token, the end of
/// the last consumed token (spans and adjacency checks use it) and the
/// nesting depth.
pub(crate) struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    peeked: Option<Peeked>,
    last_end: usize,
    depth: usize,
    /// Links of the chains being built around the current position (see
    /// [`MAX_CHAIN`]).
    links: usize,
}

/// A saved parser position, to look past optional line breaks (before
/// `else`, `catch`, `while` of a `do` loop) and come back if nothing is there.
#[derive(Clone, Copy)]
pub(crate) struct Checkpoint {
    pos: usize,
    last_end: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, start: usize, end: usize, depth: usize) -> Self {
        Self {
            src,
            lexer: Lexer::with_range(src, start, end, depth),
            peeked: None,
            last_end: start,
            depth,
            links: 0,
        }
    }

    /// A parser for a piece of the source (a subexpression inside a
    /// string) that shares this one's nesting and chain budgets.
    pub(crate) fn sub_parser(&self, start: usize, end: usize) -> Parser<'a> {
        let mut sub = Parser::new(self.src, start, end, self.depth);
        sub.links = self.links;
        sub
    }

    pub(crate) fn error(
        &self,
        at: usize,
        kind: ParseErrorKind,
        message: impl Into<String>,
    ) -> ParseError {
        ParseError::new(self.src, at, kind, message)
    }

    /// The next token in `mode`, without consuming it.
    pub(crate) fn peek(&mut self, mode: LexMode) -> Result<&Token> {
        let at = self.lexer.position();
        let cached = matches!(&self.peeked, Some(p) if p.at == at && p.mode == mode);
        if !cached {
            let token = self.lexer_here().next_token(mode)?;
            self.peeked = Some(Peeked { at, mode, token });
        }
        match &self.peeked {
            Some(p) => Ok(&p.token),
            None => Err(self.error(at, ParseErrorKind::Unexpected, "internal: no token")),
        }
    }

    /// A copy of the lexer that knows the current nesting depth, so strings
    /// nested inside deeply nested code share one depth budget with it.
    fn lexer_here(&self) -> Lexer<'a> {
        let mut lexer = self.lexer;
        lexer.set_depth(self.depth);
        lexer
    }

    /// The kind of the next token in `mode`, cloned so the parser can keep
    /// going while it looks at it.
    pub(crate) fn peek_kind(&mut self, mode: LexMode) -> Result<TokenKind> {
        Ok(self.peek(mode)?.kind.clone())
    }

    /// Consumes the next token in `mode`.
    pub(crate) fn bump(&mut self, mode: LexMode) -> Result<Token> {
        let at = self.lexer.position();
        let token = match self.peeked.take() {
            Some(p) if p.at == at && p.mode == mode => p.token,
            _ => self.lexer_here().next_token(mode)?,
        };
        self.lexer.set_position(token.span.end);
        self.last_end = token.span.end;
        Ok(token)
    }

    /// The lexer position: where the next token (or its leading blanks) starts.
    pub(crate) fn pos(&self) -> usize {
        self.lexer.position()
    }

    /// The next character, without skipping anything.
    pub(crate) fn raw_char(&self) -> Option<char> {
        self.lexer.peek_char()
    }

    /// The character `n` places after the next one, without skipping anything.
    pub(crate) fn raw_char_at(&self, n: usize) -> Option<char> {
        self.lexer.peek_nth(n)
    }

    /// Consumes one character that the caller has looked at.
    pub(crate) fn bump_raw(&mut self) {
        self.lexer.bump_char();
        self.last_end = self.lexer.position();
    }

    /// Whether the next character touches the last token (no blank between);
    /// member access, indexing and method calls need that.
    pub(crate) fn adjacent(&self) -> bool {
        self.lexer.position() == self.last_end
    }

    /// Skips blanks, comments and line continuations.
    pub(crate) fn skip_blanks(&mut self) -> Result<()> {
        self.lexer.skip_trivia()
    }

    /// Skips blanks, comments and line breaks.
    pub(crate) fn skip_newlines(&mut self) -> Result<()> {
        loop {
            self.lexer.skip_trivia()?;
            match self.lexer.peek_char() {
                Some('\n' | '\r') => self.lexer.bump_newline(),
                _ => return Ok(()),
            }
        }
    }

    /// Skips blanks, comments, line breaks and semicolons.
    pub(crate) fn skip_separators(&mut self) -> Result<()> {
        loop {
            self.skip_newlines()?;
            if self.lexer.peek_char() == Some(';') {
                self.lexer.bump_char();
            } else {
                return Ok(());
            }
        }
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            pos: self.lexer.position(),
            last_end: self.last_end,
        }
    }

    pub(crate) fn restore(&mut self, checkpoint: Checkpoint) {
        self.lexer.set_position(checkpoint.pos);
        self.last_end = checkpoint.last_end;
    }

    /// A span from `start` to the end of the last consumed token.
    pub(crate) fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.last_end.max(start))
    }

    /// Runs `f` with the chain links it adds counted against
    /// [`MAX_CHAIN`], and forgotten again when it returns.
    pub(crate) fn chain<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let links = self.links;
        let result = f(self);
        self.links = links;
        result
    }

    /// Counts one more link of the chain being built (inside [`Self::chain`]).
    pub(crate) fn link(&mut self, at: usize) -> Result<()> {
        if self.links >= MAX_CHAIN {
            return Err(self.error(
                at,
                ParseErrorKind::TooDeep,
                format!(
                    "the expression chains more than {MAX_CHAIN} member accesses, indexes, calls and operators"
                ),
            ));
        }
        self.links += 1;
        Ok(())
    }

    /// Runs `f` one nesting level deeper, failing cleanly instead of
    /// overflowing the stack on pathological input.
    pub(crate) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_NESTING {
            let at = self.pos();
            return Err(self.error(
                at,
                ParseErrorKind::TooDeep,
                format!("the script nests more than {MAX_NESTING} levels deep"),
            ));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// How to show what is at the current position in a message: the source
    /// text of the next token, or "end of input" / "end of line".
    pub(crate) fn describe_next(&mut self) -> String {
        // Only for a message: an unterminated comment here is reported by
        // whoever reads on, so its error can be dropped.
        let _ = self.skip_blanks();
        let at = self.pos();
        match self.lexer_here().next_token(LexMode::Command) {
            Ok(token) => match token.kind {
                // Inside a string's `$( )` the range ends at its `)`.
                TokenKind::Eof if self.lexer.end() < self.src.len() => "')'".to_owned(),
                TokenKind::Eof | TokenKind::Newline => token.kind.describe().to_owned(),
                _ => {
                    let text = self.src.get(token.span.start..token.span.end).unwrap_or("");
                    let short: String = text.chars().take(40).collect();
                    format!("'{short}'")
                }
            },
            Err(_) => match self.src.get(at..).and_then(|s| s.chars().next()) {
                Some(c) => format!("'{c}'"),
                None => "end of input".to_owned(),
            },
        }
    }

    /// Consumes the closing character `close` after skipping line breaks, or
    /// fails: at the opening `open` when the input ends first (the useful
    /// place to look), at the stray token otherwise.
    pub(crate) fn expect_close(&mut self, close: char, open: usize, what: &str) -> Result<()> {
        self.skip_newlines()?;
        match self.raw_char() {
            Some(c) if c == close => {
                self.bump_raw();
                Ok(())
            }
            None => Err(self.error(
                open,
                ParseErrorKind::MissingClose,
                format!("missing closing '{close}' for the {what} that starts here"),
            )),
            Some(_) => {
                let at = self.pos();
                let found = self.describe_next();
                Err(self.error(
                    at,
                    ParseErrorKind::Unexpected,
                    format!("expected '{close}' to close the {what}, found {found}"),
                ))
            }
        }
    }

    /// Consumes `open` (after blanks and line breaks) or fails naming what
    /// needed it.
    pub(crate) fn expect_open(&mut self, open: char, what: &str) -> Result<usize> {
        self.skip_newlines()?;
        let at = self.pos();
        if self.raw_char() == Some(open) {
            self.bump_raw();
            return Ok(at);
        }
        let found = self.describe_next();
        Err(self.error(
            at,
            ParseErrorKind::Unexpected,
            format!("expected '{open}' {what}, found {found}"),
        ))
    }

    /// The next token if it is a bare word written plainly, without escapes
    /// or quotes: only such words can be keywords (`` `if `` runs a command
    /// named `if`, as in PowerShell).
    pub(crate) fn peek_plain_word(&mut self) -> Result<Option<String>> {
        self.skip_blanks()?;
        if !self.raw_char().is_some_and(super::chars::is_ident_start) {
            return Ok(None);
        }
        let src = self.src;
        let token = self.peek(LexMode::Command)?;
        Ok(match &token.kind {
            TokenKind::Word(word) if src.get(token.span.start..token.span.end) == Some(word) => {
                Some(word.clone())
            }
            _ => None,
        })
    }

    /// Whether the next token is the plain bare word `word` (case-insensitive).
    pub(crate) fn at_word(&mut self, word: &str) -> Result<bool> {
        Ok(self
            .peek_plain_word()?
            .is_some_and(|w| w.eq_ignore_ascii_case(word)))
    }
}
