//! The emulator's PowerShell subset, front end: tokens, syntax tree, parser
//! and pretty-printer.
//!
//! Real VMM automation sends whole scripts (function bundles, one-shot
//! scripts that decode base64 JSON parameters and print JSON), so the
//! emulator parses PowerShell 5.1 rather than pattern-matching command lines.
//! The subset covers what such scripts use: both parsing modes (commands with
//! bare-word arguments, `-Param:value`, splatting; expressions with the full
//! operator table), all string forms including here-strings and the Unicode
//! quotes and dashes PowerShell accepts, hashtables, script blocks,
//! functions with `param` blocks, and the control-flow statements.
//!
//! Anything outside the subset is an error that names the construct and its
//! line:column — never silently skipped — because a script that "runs" here
//! but not on a real VMM server would defeat the emulator's purpose.
//!
//! - [`parse`] turns source into an [`ast::ScriptBlock`];
//! - [`print`] turns a syntax tree back into source that parses to the same
//!   tree;
//! - [`lexer`] and [`token`] are the tokenizer, usable on their own;
//! - [`ParseError`] is the one error type;
//! - [`eval`] is the evaluator: sessions, values, cmdlets, `ConvertTo-Json`.

pub mod ast;
mod chars;
pub mod error;
pub mod eval;
pub mod lexer;
mod parser;
pub mod print;
pub mod span;
pub mod token;

pub use ast::ScriptBlock;
pub use error::{ParseError, ParseErrorKind};
pub use parser::parse;
pub use print::{print, print_expr, print_statement};
pub use span::{Position, Span};

/// How deeply constructs may nest (parentheses, blocks, unary operators,
/// strings inside subexpressions, ...) before parsing fails with
/// [`ParseErrorKind::TooDeep`]. Real scripts stay far below it; the limit
/// keeps hostile input from overflowing the stack (each level costs a few
/// recursive calls, and test threads have 2 MiB stacks).
pub const MAX_NESTING: usize = 100;

/// How many links chains of member accesses, indexes, method calls and
/// binary operators (`$a.b[0].c()`, `1 + 2 + 3`) may add up to along any
/// path of a script, before parsing fails with [`ParseErrorKind::TooDeep`].
/// The parser builds chains in a loop, but each link makes the syntax tree
/// one level deeper, and the printer and the evaluator recurse down it: a
/// 60 KB `$a.b.b.b...` overflowed the evaluator's stack and took the whole
/// emulator down (found by the `ps` fuzz target). Real scripts chain a few
/// links (the operator's longest, about ten); in a debug build the
/// evaluator has room for about ten thousand, the printer on a 2 MiB thread
/// for about five hundred, and chains can stack (a member chain under an
/// operator chain).
pub const MAX_CHAIN: usize = 200;
