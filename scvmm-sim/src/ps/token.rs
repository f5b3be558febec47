//! Tokens, and the two modes they are read in.
//!
//! PowerShell has no single token stream: the same text means different
//! things at the start of a command argument and inside an expression
//! (`-Name` is a parameter in one and an unknown operator in the other;
//! `1..5` is a string in one and a range in the other). The parser therefore
//! asks the [`Lexer`](super::lexer::Lexer) for the next token *in a mode*.

use super::ast::{AssignOp, BinaryOp, CompareOp, Number, Stream, UnaryOp, Variable};
use super::span::Span;

/// How to read the next token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexMode {
    /// Inside expressions: operators, member names, numbers.
    Expression,
    /// Command names and arguments: bare words, `-Parameter`, `@splat`.
    Command,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What was read.
    pub kind: TokenKind,
    /// Where, without leading whitespace and comments.
    pub span: Span,
}

/// What the lexer can read.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// End of the input (or of the sub-range being read).
    Eof,
    /// A line break; it ends statements.
    Newline,
    /// `;`
    Semicolon,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[` (expression mode)
    LBracket,
    /// `]` (expression mode)
    RBracket,
    /// `$(`
    DollarParen,
    /// `@(`
    AtParen,
    /// `@{`
    AtBrace,
    /// `|`
    Pipe,
    /// `&`, the call operator.
    Ampersand,
    /// `.` (expression mode)
    Dot,
    /// `..` (expression mode)
    DotDot,
    /// `::` (expression mode)
    DoubleColon,
    /// `,`
    Comma,
    /// `=`, `+=`, `-=`, `*=`, `/=`, `%=` (expression mode)
    Assign(AssignOp),
    /// `+` (expression mode)
    Plus,
    /// `-` (expression mode)
    Minus,
    /// `*` (expression mode)
    Star,
    /// `/` (expression mode)
    Slash,
    /// `%` (expression mode)
    Percent,
    /// `!` (expression mode)
    Exclaim,
    /// `++` (expression mode)
    PlusPlus,
    /// `--` (expression mode)
    MinusMinus,
    /// `--` on its own in command mode (end of parameters; unsupported).
    DashDash,
    /// A dash operator such as `-eq` or `-not` (expression mode).
    Operator(DashOperator),
    /// `>`, `>>`, `2>&1`, `*> $null`, ...
    Redirection {
        /// The stream redirected.
        from: Stream,
        /// `>>`
        append: bool,
        /// `&1`: merged into this stream instead of a file.
        merge_into: Option<Stream>,
    },
    /// `$name`, `$scope:name`, `${any name}`.
    Variable(Variable),
    /// `@name` (command mode).
    Splat(Variable),
    /// A numeric literal. In command mode `-5` is one token, with `negative`
    /// set; in expression mode the minus is a separate token.
    Number {
        /// The value, without the sign.
        value: Number,
        /// Written with a leading dash (command mode only).
        negative: bool,
    },
    /// A string with nothing to expand: `'...'`, `"..."` without `$`,
    /// `@'...'@`.
    StringLiteral(String),
    /// A double-quoted string or here-string with `$` expansions.
    ExpandableString(Vec<TextPart>),
    /// A bare word in command mode, escapes and quotes applied.
    Word(String),
    /// A bare word in command mode that contains `$` expansions.
    ExpandableWord(Vec<TextPart>),
    /// A name in expression mode: a keyword, member or type name.
    Identifier(String),
    /// `-Name` or `-Name:` (command mode).
    Parameter {
        /// The name without dash or colon.
        name: String,
        /// Written as `-Name:`, so the next argument is its value.
        colon: bool,
    },
}

/// A piece of an expandable string as the lexer sees it. Subexpressions are
/// kept as source ranges; the parser parses them in place, so positions in
/// their error messages are those of the whole script.
#[derive(Debug, Clone, PartialEq)]
pub enum TextPart {
    /// Literal text with escapes applied.
    Literal(String),
    /// `$name` or `${name}`.
    Variable(Variable),
    /// The source range between `$(` and its `)`.
    SubExpression(Span),
}

/// The dash operators of expression mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashOperator {
    /// A comparison-family operator with its case prefix.
    Compare {
        /// Which comparison.
        op: CompareOp,
        /// `-c...`
        case_sensitive: bool,
        /// Written with a `c` or `i` prefix (unary `-split` takes none).
        prefixed: bool,
    },
    /// `-join`
    Join,
    /// `-is`
    Is,
    /// `-isnot`
    IsNot,
    /// `-as`
    As,
    /// `-and`
    And,
    /// `-or`
    Or,
    /// `-xor`
    Xor,
    /// `-not`
    Not,
    /// `-band`
    BitAnd,
    /// `-bor`
    BitOr,
    /// `-bxor`
    BitXor,
    /// `-bnot`
    BitNot,
    /// `-shl`
    ShiftLeft,
    /// `-shr`
    ShiftRight,
    /// `-f`
    Format,
}

impl DashOperator {
    /// The operator called `name` (without the dash), case-insensitively.
    #[must_use]
    pub fn lookup(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        let plain = match name.as_str() {
            "join" => Some(Self::Join),
            "is" => Some(Self::Is),
            "isnot" => Some(Self::IsNot),
            "as" => Some(Self::As),
            "and" => Some(Self::And),
            "or" => Some(Self::Or),
            "xor" => Some(Self::Xor),
            "not" => Some(Self::Not),
            "band" => Some(Self::BitAnd),
            "bor" => Some(Self::BitOr),
            "bxor" => Some(Self::BitXor),
            "bnot" => Some(Self::BitNot),
            "shl" => Some(Self::ShiftLeft),
            "shr" => Some(Self::ShiftRight),
            "f" => Some(Self::Format),
            _ => None,
        };
        if plain.is_some() {
            return plain;
        }
        let compare = |n: &str| CompareOp::ALL.into_iter().find(|op| op.name() == n);
        // A full name wins over a prefix reading, so `-contains` is not `-c` + `ontains`.
        if let Some(op) = compare(&name) {
            return Some(Self::Compare {
                op,
                case_sensitive: false,
                prefixed: false,
            });
        }
        let (prefix, rest) = name.split_at_checked(1)?;
        let case_sensitive = match prefix {
            "c" => true,
            "i" => false,
            _ => return None,
        };
        compare(rest).map(|op| Self::Compare {
            op,
            case_sensitive,
            prefixed: true,
        })
    }

    /// The binary operator this token stands for, if it has a binary form.
    #[must_use]
    pub fn binary(self) -> Option<BinaryOp> {
        Some(match self {
            Self::Compare {
                op, case_sensitive, ..
            } => BinaryOp::Compare { op, case_sensitive },
            Self::Join => BinaryOp::Join,
            Self::Is => BinaryOp::Is,
            Self::IsNot => BinaryOp::IsNot,
            Self::As => BinaryOp::As,
            Self::And => BinaryOp::And,
            Self::Or => BinaryOp::Or,
            Self::Xor => BinaryOp::Xor,
            Self::BitAnd => BinaryOp::BitAnd,
            Self::BitOr => BinaryOp::BitOr,
            Self::BitXor => BinaryOp::BitXor,
            Self::ShiftLeft => BinaryOp::ShiftLeft,
            Self::ShiftRight => BinaryOp::ShiftRight,
            Self::Format => BinaryOp::Format,
            Self::Not | Self::BitNot => return None,
        })
    }

    /// The unary operator this token stands for, if it has a unary form.
    #[must_use]
    pub fn unary(self) -> Option<UnaryOp> {
        Some(match self {
            Self::Not => UnaryOp::Not,
            Self::BitNot => UnaryOp::BitNot,
            Self::Join => UnaryOp::Join,
            Self::Compare {
                op: CompareOp::Split,
                prefixed: false,
                ..
            } => UnaryOp::Split,
            _ => return None,
        })
    }
}

impl TokenKind {
    /// A short description for error messages when the source text is not
    /// at hand.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self {
            Self::Eof => "end of input",
            Self::Newline => "end of line",
            Self::Semicolon => "';'",
            Self::LParen => "'('",
            Self::RParen => "')'",
            Self::LBrace => "'{'",
            Self::RBrace => "'}'",
            Self::LBracket => "'['",
            Self::RBracket => "']'",
            Self::DollarParen => "'$('",
            Self::AtParen => "'@('",
            Self::AtBrace => "'@{'",
            Self::Pipe => "'|'",
            Self::Ampersand => "'&'",
            Self::Dot => "'.'",
            Self::DotDot => "'..'",
            Self::DoubleColon => "'::'",
            Self::Comma => "','",
            Self::Assign(_) => "an assignment operator",
            Self::Plus
            | Self::Minus
            | Self::Star
            | Self::Slash
            | Self::Percent
            | Self::Exclaim
            | Self::PlusPlus
            | Self::MinusMinus
            | Self::Operator(_) => "an operator",
            Self::DashDash => "'--'",
            Self::Redirection { .. } => "a redirection",
            Self::Variable(_) => "a variable",
            Self::Splat(_) => "a splatted variable",
            Self::Number { .. } => "a number",
            Self::StringLiteral(_) | Self::ExpandableString(_) => "a string",
            Self::Word(_) | Self::ExpandableWord(_) => "a bare word",
            Self::Identifier(_) => "a name",
            Self::Parameter { .. } => "a parameter",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_lookup_handles_case_prefixes() {
        let cmp = |op, case_sensitive, prefixed| {
            Some(DashOperator::Compare {
                op,
                case_sensitive,
                prefixed,
            })
        };
        assert_eq!(DashOperator::lookup("EQ"), cmp(CompareOp::Eq, false, false));
        assert_eq!(DashOperator::lookup("ceq"), cmp(CompareOp::Eq, true, true));
        assert_eq!(
            DashOperator::lookup("INotLike"),
            cmp(CompareOp::NotLike, false, true)
        );
        assert_eq!(
            DashOperator::lookup("contains"),
            cmp(CompareOp::Contains, false, false)
        );
        assert_eq!(
            DashOperator::lookup("ccontains"),
            cmp(CompareOp::Contains, true, true)
        );
        assert_eq!(DashOperator::lookup("in"), cmp(CompareOp::In, false, false));
        assert_eq!(DashOperator::lookup("is"), Some(DashOperator::Is));
        assert_eq!(DashOperator::lookup("F"), Some(DashOperator::Format));
        assert_eq!(DashOperator::lookup("cjoin"), None);
        assert_eq!(DashOperator::lookup("foo"), None);
        assert_eq!(DashOperator::lookup(""), None);
    }
}
