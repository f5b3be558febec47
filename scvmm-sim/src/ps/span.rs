//! Source positions: byte ranges, and their line:column form for messages.

/// A byte range `start..end` of the source that a token or syntax node came
/// from.
///
/// Spans never take part in `==`: two syntax trees are equal when they have
/// the same shape, wherever their parts sit in the text (the same choice `syn`
/// makes). That is what lets "parse, print, parse again" be compared with a
/// plain `assert_eq!`. Compare `start`/`end` directly when position matters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    #[must_use]
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

impl PartialEq for Span {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Span {}

/// A 1-based line and column. Columns count characters, not bytes, so they
/// match what an editor shows for non-ASCII text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `source`. An offset past the end (or
    /// inside a character) is clamped, because positions only feed messages.
    #[must_use]
    pub fn locate(source: &str, offset: usize) -> Self {
        let offset = floor_char_boundary(source, offset);
        let mut line = 1;
        let mut column = 1;
        let mut chars = source[..offset].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                // `\r\n` is one break; a lone `\r` is one too (old Mac files).
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' | '\r' => {
                    line += 1;
                    column = 1;
                }
                _ => column += 1,
            }
        }
        Self { line, column }
    }
}

/// The text of the line that contains byte `offset`, without its line break.
#[must_use]
pub fn line_text(source: &str, offset: usize) -> &str {
    let offset = floor_char_boundary(source, offset);
    let start = source[..offset].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let end = source[offset..]
        .find(['\n', '\r'])
        .map_or(source.len(), |i| offset + i);
    &source[start..end]
}

fn floor_char_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "ab\r\ncd\né€x";
        assert_eq!(Position::locate(src, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::locate(src, 4), Position { line: 2, column: 1 });
        let x = src.find('x').unwrap();
        assert_eq!(Position::locate(src, x), Position { line: 3, column: 3 });
        assert_eq!(line_text(src, x), "é€x");
        assert_eq!(line_text(src, 1), "ab");
        assert_eq!(Position::locate(src, 999).line, 3);
    }
}
