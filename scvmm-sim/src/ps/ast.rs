//! The syntax tree of the PowerShell subset.
//!
//! The shapes follow PowerShell's own grammar closely enough that an
//! evaluator can walk them with PowerShell's rules: a script block holds
//! statements; a statement is a pipeline, an assignment or a keyword
//! statement; a pipeline holds at most one leading expression and then
//! commands; command arguments keep the difference between `-Name value`,
//! `-Name:value`, positional values and `@splat`, because parameter binding
//! needs it.
//!
//! Things that differ only in spelling are folded: bare words, quoted strings
//! and here-strings are all [`ExprKind::String`]; `!` and `-not` are one
//! operator; `-ieq` is `-eq`; `function f($a)` becomes a `param($a)` block.
//! Positions live in [`Span`]s, which `==` ignores.

use super::span::Span;

/// A script, a script block `{ ... }` or a function body.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptBlock {
    /// `[CmdletBinding()] param(...)`, if present.
    pub param_block: Option<ParamBlock>,
    /// The code.
    pub body: ScriptBody,
    /// Where the block is in the source.
    pub span: Span,
}

/// The code of a script block.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptBody {
    /// Plain statements; PowerShell runs them as the `end` block.
    Statements(Vec<Statement>),
    /// Explicit `begin` / `process` / `end` blocks.
    Named(NamedBlocks),
}

/// The named blocks of a script block; each is optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamedBlocks {
    /// Runs once before pipeline input.
    pub begin: Option<Vec<Statement>>,
    /// Runs once per pipeline input object, with `$_` set.
    pub process: Option<Vec<Statement>>,
    /// Runs once after pipeline input.
    pub end: Option<Vec<Statement>>,
}

/// `[attributes] param(parameters)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamBlock {
    /// Attributes before `param`, such as `[CmdletBinding()]`.
    pub attributes: Vec<Attribute>,
    /// The declared parameters, in order.
    pub parameters: Vec<Parameter>,
    /// Where the block is in the source.
    pub span: Span,
}

/// One declared parameter: `[Parameter(Mandatory)][string]$Name = 'x'`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Attributes and type constraints, in source order.
    pub attributes: Vec<ParameterAttribute>,
    /// The parameter's variable; its name is the parameter name.
    pub variable: Variable,
    /// The default value, evaluated when the caller passes nothing.
    pub default: Option<Expr>,
    /// Where the parameter is in the source.
    pub span: Span,
}

/// Something in brackets before a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterAttribute {
    /// `[Name(arguments)]`, such as `[Parameter(Mandatory)]`.
    Attribute(Attribute),
    /// `[type]`, a type constraint such as `[string]` or `[switch]`.
    Type(TypeName),
}

/// An attribute: `[Name(arguments)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute type name, as written (`Parameter`, `CmdletBinding`).
    pub name: String,
    /// The arguments, in source order.
    pub arguments: Vec<AttributeArgument>,
    /// Where the attribute is in the source.
    pub span: Span,
}

/// One argument of an attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeArgument {
    /// A constructor argument: `[ValidateSet('a', 'b')]`.
    Positional(Expr),
    /// A property: `Mandatory = $true`, or bare `Mandatory` (which means
    /// `$true`, and is `value: None`).
    Named {
        /// Property name, as written.
        name: String,
        /// The value, if one was written.
        value: Option<Expr>,
    },
}

/// A .NET type name as written in brackets: `[int]`, `[string[]]`,
/// `[System.Collections.Generic.List[string]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeName {
    /// A plain, possibly namespace-qualified name: `System.Text.Encoding`.
    Named(String),
    /// An array of the element type; `rank` is 1 for `[]`, 2 for `[,]`.
    Array {
        /// The element type.
        element: Box<TypeName>,
        /// Number of dimensions.
        rank: u32,
    },
    /// A generic type with arguments: `List[string]`.
    Generic {
        /// The generic type's name.
        name: String,
        /// The type arguments.
        arguments: Vec<TypeName>,
    },
}

/// A statement: what a script block holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What kind of statement.
    pub kind: StatementKind,
    /// Where the statement is in the source.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// Commands and an optional leading expression joined by `|`.
    Pipeline(Pipeline),
    /// `target = value`, `target += value`, ...
    Assignment(Assignment),
    /// `if / elseif / else`.
    If(IfStatement),
    /// `foreach ($x in $items) { }`.
    ForEach(ForEachLoop),
    /// `for (init; condition; step) { }`.
    For(ForLoop),
    /// `while (condition) { }`.
    While(WhileLoop),
    /// `do { } while (condition)` and `do { } until (condition)`.
    Do(DoLoop),
    /// `switch (value) { case { } default { } }`.
    Switch(SwitchStatement),
    /// `try { } catch [T] { } finally { }`.
    Try(TryStatement),
    /// `function name { }` and `filter name { }`.
    Function(FunctionDefinition),
    /// `break`, with an optional loop label.
    Break(Option<String>),
    /// `continue`, with an optional loop label.
    Continue(Option<String>),
    /// `return`, with an optional value (a pipeline or assignment).
    Return(Option<Box<Statement>>),
    /// `throw`, with an optional value.
    Throw(Option<Box<Statement>>),
    /// `exit`, with an optional exit code.
    Exit(Option<Box<Statement>>),
}

/// An assignment. PowerShell's right-hand side is a whole statement, so
/// `$x = Get-Foo | Select -First 1` and `$x = if ($a) { 1 } else { 2 }` work.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// A variable, member, index, cast variable (`[int]$x`), or an array of
    /// those (`$a, $b = 1, 2`).
    pub target: Expr,
    /// Which assignment operator.
    pub op: AssignOp,
    /// The value.
    pub value: Box<Statement>,
}

/// Assignment operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    /// `=`
    Assign,
    /// `+=`
    Add,
    /// `-=`
    Subtract,
    /// `*=`
    Multiply,
    /// `/=`
    Divide,
    /// `%=`
    Remainder,
}

/// `element | element | ...`; only the first element may be an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// The elements, at least one.
    pub elements: Vec<PipelineElement>,
}

/// One element of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineElement {
    /// An expression whose value feeds the pipeline (first element only).
    Expression(ExpressionElement),
    /// A command invocation.
    Command(Command),
}

/// An expression used as a pipeline element, with its redirections.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressionElement {
    /// The expression.
    pub expr: Expr,
    /// Redirections such as `> $null`.
    pub redirections: Vec<Redirection>,
}

/// A command invocation: `Get-SCVirtualMachine -Name $n`, `& $sb 1 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Plain, `&` or `.` invocation.
    pub invocation: Invocation,
    /// What is invoked.
    pub name: CommandName,
    /// Arguments in source order.
    pub arguments: Vec<CommandArgument>,
    /// Redirections such as `2>&1`.
    pub redirections: Vec<Redirection>,
    /// Where the command is in the source.
    pub span: Span,
}

/// How a command is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// By name: `Get-Foo`.
    Direct,
    /// With the call operator: `& $sb`, in a new scope.
    Call,
    /// Dot-sourced: `. $sb`, in the caller's scope.
    DotSource,
}

/// What a command invocation names.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandName {
    /// A bare command name, as written (lookups are case-insensitive).
    Bare(String),
    /// The operand of `&` or `.`: a name, path, script block or command info.
    Expr(Expr),
}

/// A command argument.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandArgument {
    /// `-Name`, or `-Name:value`. With a space (`-Name value`) the value is
    /// the following [`CommandArgument::Positional`]; only the binder knows
    /// whether `-Name` is a switch, so the parser keeps them apart.
    Parameter {
        /// The name without the dash, as written.
        name: String,
        /// The value given with a colon.
        value: Option<Expr>,
        /// Where the parameter token is in the source.
        span: Span,
    },
    /// A value not introduced by a colon parameter.
    Positional(Expr),
    /// `@name`: splat a hashtable (named) or array (positional).
    Splat {
        /// The splatted variable.
        variable: Variable,
        /// Where it is in the source.
        span: Span,
    },
}

/// `2>&1`, `> $null`, `>> log.txt`.
#[derive(Debug, Clone, PartialEq)]
pub struct Redirection {
    /// The stream redirected.
    pub from: Stream,
    /// Where it goes.
    pub target: RedirectionTarget,
}

/// Output streams, numbered as PowerShell numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `*`: every stream.
    All,
    /// 1: success output.
    Output,
    /// 2: errors.
    Error,
    /// 3: warnings.
    Warning,
    /// 4: verbose.
    Verbose,
    /// 5: debug.
    Debug,
    /// 6: information (`Write-Host`, `Write-Information`).
    Information,
}

/// Where a redirection sends its stream.
#[derive(Debug, Clone, PartialEq)]
pub enum RedirectionTarget {
    /// A file (`$null` discards).
    File {
        /// The path expression.
        path: Expr,
        /// `>>` appends, `>` overwrites.
        append: bool,
    },
    /// Into another stream: `2>&1` merges errors into output.
    Merge(Stream),
}

/// `if (c) { } elseif (c) { } else { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct IfStatement {
    /// The `if` and `elseif` clauses, in order.
    pub clauses: Vec<IfClause>,
    /// The `else` block.
    pub else_body: Option<Vec<Statement>>,
}

/// One condition and its block.
#[derive(Debug, Clone, PartialEq)]
pub struct IfClause {
    /// The condition: a pipeline or assignment.
    pub condition: Box<Statement>,
    /// The block run when the condition is true.
    pub body: Vec<Statement>,
}

/// `:label foreach ($variable in iterable) { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEachLoop {
    /// The loop label, for `break label`.
    pub label: Option<String>,
    /// The loop variable.
    pub variable: Variable,
    /// What is iterated: a pipeline or assignment.
    pub iterable: Box<Statement>,
    /// The loop body.
    pub body: Vec<Statement>,
}

/// `for (init; condition; step) { body }`; every part is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct ForLoop {
    /// The loop label.
    pub label: Option<String>,
    /// Runs once first.
    pub init: Option<Box<Statement>>,
    /// Checked before each iteration; absent means forever.
    pub condition: Option<Box<Statement>>,
    /// Runs after each iteration.
    pub step: Option<Box<Statement>>,
    /// The loop body.
    pub body: Vec<Statement>,
}

/// `while (condition) { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct WhileLoop {
    /// The loop label.
    pub label: Option<String>,
    /// Checked before each iteration.
    pub condition: Box<Statement>,
    /// The loop body.
    pub body: Vec<Statement>,
}

/// `do { body } while (condition)` or `do { body } until (condition)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DoLoop {
    /// The loop label.
    pub label: Option<String>,
    /// The loop body, run at least once.
    pub body: Vec<Statement>,
    /// Checked after each iteration.
    pub condition: Box<Statement>,
    /// `until` loops while the condition is false; `while` while it is true.
    pub until: bool,
}

/// `switch -flags (value) { condition { body } default { body } }`.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchStatement {
    /// The statement label.
    pub label: Option<String>,
    /// Matching options.
    pub flags: SwitchFlags,
    /// The value switched on: a pipeline or assignment.
    pub value: Box<Statement>,
    /// The clauses, in order.
    pub clauses: Vec<SwitchClause>,
    /// The `default` block.
    pub default: Option<Vec<Statement>>,
}

/// Options of a `switch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchFlags {
    /// `-Regex`: conditions are regular expressions.
    pub regex: bool,
    /// `-Wildcard`: conditions are wildcard patterns.
    pub wildcard: bool,
    /// `-Exact`: plain equality (the default).
    pub exact: bool,
    /// `-CaseSensitive`.
    pub case_sensitive: bool,
}

/// One `condition { body }` of a switch.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchClause {
    /// A value (compared), or a script block (run with `$_` set).
    pub condition: Expr,
    /// The block run on a match.
    pub body: Vec<Statement>,
}

/// `try { } catch [T1], [T2] { } catch { } finally { }`.
#[derive(Debug, Clone, PartialEq)]
pub struct TryStatement {
    /// The protected block.
    pub body: Vec<Statement>,
    /// The catch clauses, in order.
    pub catches: Vec<CatchClause>,
    /// The `finally` block.
    pub finally: Option<Vec<Statement>>,
}

/// One `catch` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct CatchClause {
    /// Exception types caught; empty catches everything.
    pub types: Vec<TypeName>,
    /// The handler, run with `$_` set to the error record.
    pub body: Vec<Statement>,
}

/// `function Name { ... }` or `function Name($a, $b) { ... }`; the
/// parenthesised form is folded into the body's `param` block.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDefinition {
    /// The function name, as written.
    pub name: String,
    /// `filter` rather than `function` (the body is a `process` block).
    pub is_filter: bool,
    /// Parameters and code.
    pub body: ScriptBlock,
}

/// A variable reference: `$x`, `$script:x`, `$env:PATH`, `${a b}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The scope or drive qualifier (`script`, `global`, `env`, ...).
    pub scope: Option<String>,
    /// The name, as written (lookups are case-insensitive).
    pub name: String,
}

impl Variable {
    /// An unqualified variable.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            scope: None,
            name: name.into(),
        }
    }

    /// A scope- or drive-qualified variable.
    #[must_use]
    pub fn scoped(scope: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            scope: Some(scope.into()),
            name: name.into(),
        }
    }
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// Where the expression is in the source.
    pub span: Span,
}

impl Expr {
    /// An expression of `kind` at `span`.
    #[must_use]
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Self { kind, span }
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A numeric literal.
    Number(Number),
    /// A string without expansion: `'x'`, `"x"`, a bare word, `@'...'@`.
    String(String),
    /// A string with `$var` or `$(...)` inside: `"Name: $($vm.Name)"`.
    Expandable(Vec<StringPart>),
    /// `$x`. `$true`, `$false` and `$null` are variables too, as in
    /// PowerShell (`$null = ...` discards).
    Variable(Variable),
    /// The comma operator: `1, 2, 3`, or the unary `,$x` (one element).
    Array(Vec<Expr>),
    /// `( pipeline )`.
    Paren(Box<Statement>),
    /// `$( statements )`.
    SubExpression(Vec<Statement>),
    /// `@( statements )`, always an array.
    ArraySubExpression(Vec<Statement>),
    /// `@{ key = value; ... }`, entries in source order.
    Hashtable(Vec<HashEntry>),
    /// `{ ... }` as a value.
    ScriptBlock(Box<ScriptBlock>),
    /// `[type]` as a value, usually before `::`.
    TypeLiteral(TypeName),
    /// `[type]operand`.
    Cast {
        /// Target type.
        ty: TypeName,
        /// The converted value.
        operand: Box<Expr>,
    },
    /// `target.Name` or `[type]::Name`.
    Member {
        /// The object (or type literal).
        target: Box<Expr>,
        /// The member name.
        name: MemberName,
        /// `::` rather than `.`.
        is_static: bool,
    },
    /// `target.Name(args)` or `[type]::Name(args)`.
    MethodCall {
        /// The object (or type literal).
        target: Box<Expr>,
        /// The method name.
        name: MemberName,
        /// The arguments.
        arguments: Vec<Expr>,
        /// `::` rather than `.`.
        is_static: bool,
    },
    /// `target[index]`.
    Index {
        /// The indexed value.
        target: Box<Expr>,
        /// The index; an array index selects several elements.
        index: Box<Expr>,
    },
    /// A prefix or postfix unary operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

/// A member name after `.` or `::`.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberName {
    /// A literal name: `.Status`, `.'odd name'`.
    Name(String),
    /// A computed name: `.$prop`, `.($expr)`, `."$x"`.
    Expr(Box<Expr>),
}

/// A piece of an expandable string.
#[derive(Debug, Clone, PartialEq)]
pub enum StringPart {
    /// Literal text, escapes already applied.
    Literal(String),
    /// `$name`: only the variable; `"$vm.Name"` expands `$vm` then `.Name`.
    Variable(Variable),
    /// `$( statements )`.
    SubExpression(Vec<Statement>),
}

/// One `key = value` of a hashtable literal.
#[derive(Debug, Clone, PartialEq)]
pub struct HashEntry {
    /// The key; a bare word is a [`ExprKind::String`].
    pub key: Expr,
    /// The value: a statement, so `@{ a = Get-Foo }` works.
    pub value: Statement,
}

/// A numeric literal, typed as PowerShell types it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// `[int]`: integers that fit, and hex with up to 8 digits.
    Int(i32),
    /// `[long]`: larger integers, `4GB`, and the `L` suffix.
    Long(i64),
    /// `[double]`: literals with a point or exponent, and integers too large
    /// for `[long]`.
    Double(f64),
    /// `[decimal]` (the `d` suffix). Held as a double: VMM scripts do not do
    /// decimal arithmetic, and a double keeps the evaluator simple.
    Decimal(f64),
}

/// Comparison-family operators; each has `-c` and `-i` forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `-eq`
    Eq,
    /// `-ne`
    Ne,
    /// `-gt`
    Gt,
    /// `-ge`
    Ge,
    /// `-lt`
    Lt,
    /// `-le`
    Le,
    /// `-like`
    Like,
    /// `-notlike`
    NotLike,
    /// `-match`
    Match,
    /// `-notmatch`
    NotMatch,
    /// `-contains`
    Contains,
    /// `-notcontains`
    NotContains,
    /// `-in`
    In,
    /// `-notin`
    NotIn,
    /// `-replace`
    Replace,
    /// `-split` (binary)
    Split,
}

impl CompareOp {
    /// Every comparison operator, for lookups.
    pub const ALL: [CompareOp; 16] = [
        Self::Eq,
        Self::Ne,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
        Self::Like,
        Self::NotLike,
        Self::Match,
        Self::NotMatch,
        Self::Contains,
        Self::NotContains,
        Self::In,
        Self::NotIn,
        Self::Replace,
        Self::Split,
    ];

    /// The operator's name without dash or case prefix: `eq`, `notlike`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
            Self::Like => "like",
            Self::NotLike => "notlike",
            Self::Match => "match",
            Self::NotMatch => "notmatch",
            Self::Contains => "contains",
            Self::NotContains => "notcontains",
            Self::In => "in",
            Self::NotIn => "notin",
            Self::Replace => "replace",
            Self::Split => "split",
        }
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Subtract,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%`
    Remainder,
    /// `..`
    Range,
    /// `-f`
    Format,
    /// `-and`
    And,
    /// `-or`
    Or,
    /// `-xor`
    Xor,
    /// `-band`
    BitAnd,
    /// `-bor`
    BitOr,
    /// `-bxor`
    BitXor,
    /// `-shl`
    ShiftLeft,
    /// `-shr`
    ShiftRight,
    /// `-is`
    Is,
    /// `-isnot`
    IsNot,
    /// `-as`
    As,
    /// `-join` (binary)
    Join,
    /// A comparison-family operator; `-ceq` is case-sensitive, `-eq` and
    /// `-ieq` are not.
    Compare {
        /// Which comparison.
        op: CompareOp,
        /// The `c` prefix was given.
        case_sensitive: bool,
    },
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Negate,
    /// `+x`
    Plus,
    /// `-not x` and `!x`
    Not,
    /// `-bnot x`
    BitNot,
    /// `-split x`
    Split,
    /// `-join x`
    Join,
    /// `++x`
    PreIncrement,
    /// `--x`
    PreDecrement,
    /// `x++`
    PostIncrement,
    /// `x--`
    PostDecrement,
}
