//! Character classes of the PowerShell tokenizer.
//!
//! PowerShell treats the typographic quotes and dashes that word processors and
//! chat tools substitute (U+2018–U+201B, U+201C–U+201E, U+2013–U+2015) exactly
//! like their ASCII forms. Every place that asks "is this a quote / a dash"
//! goes through here, so a script pasted from a document parses the same as
//! the one typed by hand.

/// `'` and its typographic forms.
pub(crate) fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// `"` and its typographic forms.
pub(crate) fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

/// Either kind of quote.
pub(crate) fn is_quote(c: char) -> bool {
    is_single_quote(c) || is_double_quote(c)
}

/// `-` and the en dash, em dash and horizontal bar.
pub(crate) fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

/// A line break character (`\r\n` is handled by the caller as one break).
pub(crate) fn is_newline(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// Whitespace that separates tokens without ending a statement. The byte
/// order mark counts, so a script saved by Notepad parses.
pub(crate) fn is_blank(c: char) -> bool {
    !is_newline(c) && (c.is_whitespace() || c == '\u{feff}')
}

/// A character of a `$name` variable. PowerShell 5.1 allows `?` inside names
/// (`$a?` is one variable), which is why PowerShell 7 needs `${a}?.b`.
pub(crate) fn is_var_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '?'
}

/// First character of a member name, keyword or hashtable key.
pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// Following characters of a member name.
pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Characters that end a bare word (a command-mode "generic token").
pub(crate) fn ends_word(c: char) -> bool {
    is_blank(c)
        || is_newline(c)
        || matches!(c, ';' | '(' | ')' | '{' | '}' | '|' | '&' | ',' | '>' | '<')
}

/// The character a backtick escape stands for (`` `n `` is a newline, and
/// any other escaped character stands for itself).
pub(crate) fn escaped(c: char) -> char {
    match c {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        other => other,
    }
}
