//! The one error type of the PowerShell front end.
//!
//! A script that a real VMM server would reject must be rejected here too, and
//! the person reading the message is usually debugging a script they did not
//! write; so every error says what construct was wrong, where (line:column),
//! and shows the line with a caret under the spot.

use super::span::{Position, line_text};

/// What kind of problem a [`ParseError`] reports, for callers that react to
/// some kinds differently (an interactive shell waits for more input after an
/// unterminated string, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A string, here-string, braced variable or block comment runs to the
    /// end of the input.
    Unterminated,
    /// A closing `)`, `}` or `]` is missing.
    MissingClose,
    /// A token that cannot appear where it does.
    Unexpected,
    /// `-name` in expression mode where `name` is not a PowerShell operator.
    UnknownOperator,
    /// A malformed literal: number, variable reference, type name.
    InvalidLiteral,
    /// Valid PowerShell that this subset does not implement.
    Unsupported,
    /// Nesting deeper than [`MAX_NESTING`](super::MAX_NESTING).
    TooDeep,
}

/// A script that could not be tokenized or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}\n{}", snippet(.line, .column, .source_line))]
pub struct ParseError {
    /// The kind of problem.
    pub kind: ParseErrorKind,
    /// What is wrong, naming the construct.
    pub message: String,
    /// Line of the problem, from 1.
    pub line: usize,
    /// Column of the problem, from 1 (in characters).
    pub column: usize,
    /// Byte offset of the problem in the source.
    pub offset: usize,
    /// The source line the problem is on, without its line break.
    pub source_line: String,
}

impl ParseError {
    /// An error at byte `offset` of `source`.
    #[must_use]
    pub fn new(
        source: &str,
        offset: usize,
        kind: ParseErrorKind,
        message: impl Into<String>,
    ) -> Self {
        let Position { line, column } = Position::locate(source, offset);
        Self {
            kind,
            message: message.into(),
            line,
            column,
            offset,
            source_line: line_text(source, offset).to_owned(),
        }
    }
}

/// The offending line with a caret under the column. Tabs before the column
/// are kept as tabs so the caret lines up in a terminal.
fn snippet(line: &usize, column: &usize, source_line: &str) -> String {
    let gutter = line.to_string();
    let pad: String = source_line
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "{gutter} | {source_line}\n{blank} | {pad}^",
        blank = " ".repeat(gutter.len())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_position_line_and_caret() {
        let err = ParseError::new(
            "$a = 1\n\t$b = 'x",
            12,
            ParseErrorKind::Unterminated,
            "unterminated string",
        );
        assert_eq!((err.line, err.column), (2, 6));
        assert_eq!(
            err.to_string(),
            "2:6: unterminated string\n2 | \t$b = 'x\n  | \t    ^"
        );
    }
}
