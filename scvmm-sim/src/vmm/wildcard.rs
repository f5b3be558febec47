//! PowerShell wildcard matching (`-like`, and VMM's `-Name` filters).
//!
//! VMM treats `-Name` as a wildcard pattern (a cloud named `[Test Cloud]`
//! cannot be found by name because brackets are wildcard syntax, KB2690609),
//! case-insensitively. Supported: `*`, `?`, `[abc]`, `[a-z]`, and the
//! backtick escape.

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// A literal character (already lower-cased).
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters.
    Star,
    /// `[...]`: one character from a set of ranges (lower-cased).
    Set(Vec<(char, char)>),
}

/// Parses `pattern`; `None` if it is malformed (an unclosed `[`), which
/// PowerShell reports as an error and which then matches nothing.
fn compile(pattern: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' => out.push(Token::Char(lower(chars.next().unwrap_or('`')))),
            '?' => out.push(Token::Any),
            '*' => {
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
            }
            '[' => {
                let mut ranges = Vec::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    let c = match c {
                        ']' => {
                            closed = true;
                            break;
                        }
                        '`' => chars.next().unwrap_or('`'),
                        c => c,
                    };
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        match chars.peek() {
                            Some(&']') | None => {
                                ranges.push((lower(c), lower(c)));
                                ranges.push(('-', '-'));
                            }
                            Some(&hi) => {
                                chars.next();
                                ranges.push((lower(c), lower(hi)));
                            }
                        }
                    } else {
                        ranges.push((lower(c), lower(c)));
                    }
                }
                if !closed {
                    return None;
                }
                out.push(Token::Set(ranges));
            }
            c => out.push(Token::Char(lower(c))),
        }
    }
    Some(out)
}

fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Whether `text` matches the PowerShell wildcard `pattern`
/// (case-insensitive, whole string).
pub fn like(text: &str, pattern: &str) -> bool {
    // No wildcard syntax and no escapes: a plain case-insensitive
    // comparison, without compiling the pattern or copying the text. This
    // is `-Name <exact name>`, which filters runs once per object.
    if !pattern.contains(['*', '?', '[', '`']) {
        if text.is_ascii() && pattern.is_ascii() {
            return text.eq_ignore_ascii_case(pattern);
        }
        return text.chars().map(lower).eq(pattern.chars().map(lower));
    }
    let Some(tokens) = compile(pattern) else {
        return false;
    };
    let text: Vec<char> = text.chars().map(lower).collect();
    matches(&tokens, &text)
}

/// Whether `pattern` contains wildcard syntax at all.
pub fn has_wildcards(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Iterative matcher with single-star backtracking (linear for the usual
/// patterns, never exponential).
fn matches(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while s < text.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, s));
                t += 1;
                continue;
            }
            Some(tok) if one(tok, text[s]) => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((st, ss)) => {
                t = st + 1;
                s = ss + 1;
                star = Some((st, ss + 1));
            }
            None => return false,
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Star)
}

fn one(tok: &Token, c: char) -> bool {
    match tok {
        Token::Char(x) => *x == c,
        Token::Any => true,
        Token::Star => false,
        Token::Set(ranges) => ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi),
    }
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn basics() {
        assert!(like("Prod Cloud", "prod*"));
        assert!(like("vm-01", "vm-0?"));
        assert!(like("vm-01", "vm-0[0-3]"));
        assert!(!like("vm-05", "vm-0[0-3]"));
        assert!(like("abc", "*"));
        assert!(like("", "*"));
        assert!(!like("abc", "ab"));
        assert!(like("a*c", "a`*c"));
        assert!(!like("abc", "a`*c"));
        // Brackets are wildcard syntax, so a literal "[Test Cloud]" does not match itself.
        assert!(!like("[Test Cloud]", "[Test Cloud]"));
        assert!(like("[Test Cloud]", "`[Test Cloud`]"));
        assert!(!like("x", "[abc"));
        assert!(like("aXbXc", "a*b*c"));
        assert!(!like("aXbXd", "a*b*c"));
    }

    #[test]
    fn plain_names_compare_case_insensitively() {
        assert!(like("Worker-01", "worker-01"));
        assert!(like("ÄRGER", "ärger"));
        // U+212A KELVIN SIGN lower-cases to an ASCII "k".
        assert!(like("\u{212A}8s", "k8s"));
        assert!(like("", ""));
        assert!(!like("worker-01", "worker-0"));
        assert!(!like("worker-0", "worker-01"));
        assert!(!like("worker-01", ""));
    }
}
