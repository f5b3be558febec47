//! One test per construct of the PowerShell subset, asserting on the shape
//! of the syntax tree; and the exact text of the main error messages.
//!
//! Expected trees are built with default spans: spans never take part in
//! `==`, so only the shape is compared.

use scvmm_sim::ps::ast::*;
use scvmm_sim::ps::{self, ParseError, ParseErrorKind, Span};

// ---- helpers ---------------------------------------------------------------------

fn parse(src: &str) -> ScriptBlock {
    ps::parse(src).unwrap_or_else(|e| panic!("parse failed:\n{e}\n--- source ---\n{src}"))
}

fn statements(src: &str) -> Vec<Statement> {
    match parse(src).body {
        ScriptBody::Statements(s) => s,
        ScriptBody::Named(_) => panic!("unexpected named blocks"),
    }
}

fn only(src: &str) -> StatementKind {
    let mut all = statements(src);
    assert_eq!(all.len(), 1, "expected one statement in {src:?}: {all:#?}");
    all.remove(0).kind
}

fn pipeline(src: &str) -> Vec<PipelineElement> {
    match only(src) {
        StatementKind::Pipeline(p) => p.elements,
        other => panic!("expected a pipeline, got {other:#?}"),
    }
}

/// The expression of a one-expression statement.
fn expr(src: &str) -> ExprKind {
    match pipeline(src).as_slice() {
        [PipelineElement::Expression(e)] if e.redirections.is_empty() => e.expr.kind.clone(),
        other => panic!("expected one expression, got {other:#?}"),
    }
}

fn command(src: &str) -> Command {
    match pipeline(src).as_slice() {
        [PipelineElement::Command(c)] => c.clone(),
        other => panic!("expected one command, got {other:#?}"),
    }
}

fn assignment(src: &str) -> Assignment {
    match only(src) {
        StatementKind::Assignment(a) => a,
        other => panic!("expected an assignment, got {other:#?}"),
    }
}

fn error(src: &str) -> ParseError {
    match ps::parse(src) {
        Ok(ast) => panic!("expected an error for {src:?}, got {ast:#?}"),
        Err(e) => e,
    }
}

fn e(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

fn b(kind: ExprKind) -> Box<Expr> {
    Box::new(e(kind))
}

fn s(text: &str) -> ExprKind {
    ExprKind::String(text.to_owned())
}

fn v(name: &str) -> ExprKind {
    ExprKind::Variable(Variable::new(name))
}

fn int(i: i32) -> ExprKind {
    ExprKind::Number(Number::Int(i))
}

fn bin(op: BinaryOp, lhs: ExprKind, rhs: ExprKind) -> ExprKind {
    ExprKind::Binary {
        op,
        lhs: b(lhs),
        rhs: b(rhs),
    }
}

fn cmp(op: CompareOp, lhs: ExprKind, rhs: ExprKind) -> ExprKind {
    bin(
        BinaryOp::Compare {
            op,
            case_sensitive: false,
        },
        lhs,
        rhs,
    )
}

fn member(target: ExprKind, name: &str) -> ExprKind {
    ExprKind::Member {
        target: b(target),
        name: MemberName::Name(name.to_owned()),
        is_static: false,
    }
}

fn param(name: &str) -> CommandArgument {
    CommandArgument::Parameter {
        name: name.to_owned(),
        value: None,
        span: Span::default(),
    }
}

fn positional(kind: ExprKind) -> CommandArgument {
    CommandArgument::Positional(e(kind))
}

fn expr_statement(kind: ExprKind) -> Statement {
    Statement {
        kind: StatementKind::Pipeline(Pipeline {
            elements: vec![PipelineElement::Expression(ExpressionElement {
                expr: e(kind),
                redirections: vec![],
            })],
        }),
        span: Span::default(),
    }
}

fn bare_command(name: &str, arguments: Vec<CommandArgument>) -> Command {
    Command {
        invocation: Invocation::Direct,
        name: CommandName::Bare(name.to_owned()),
        arguments,
        redirections: vec![],
        span: Span::default(),
    }
}

fn command_statement(c: Command) -> Statement {
    Statement {
        kind: StatementKind::Pipeline(Pipeline {
            elements: vec![PipelineElement::Command(c)],
        }),
        span: Span::default(),
    }
}

fn script_block_body(kind: &ExprKind) -> Vec<Statement> {
    match kind {
        ExprKind::ScriptBlock(sb) => match &sb.body {
            ScriptBody::Statements(s) => s.clone(),
            ScriptBody::Named(_) => panic!("named blocks"),
        },
        other => panic!("expected a script block, got {other:#?}"),
    }
}

// ---- command mode ------------------------------------------------------------------

#[test]
fn command_with_named_parameters() {
    let c = command("Get-SCVirtualMachine -Name $n -VMMServer $s");
    assert_eq!(
        c,
        bare_command(
            "Get-SCVirtualMachine",
            vec![
                param("Name"),
                positional(v("n")),
                param("VMMServer"),
                positional(v("s"))
            ]
        )
    );
}

#[test]
fn pipeline_into_where_object_script_block() {
    let elements = pipeline("Get-SCVirtualMachine | Where-Object { $_.Status -eq 'Running' }");
    let [
        PipelineElement::Command(get),
        PipelineElement::Command(filter),
    ] = elements.as_slice()
    else {
        panic!("{elements:#?}");
    };
    assert_eq!(get, &bare_command("Get-SCVirtualMachine", vec![]));
    assert_eq!(filter.name, CommandName::Bare("Where-Object".into()));
    let [CommandArgument::Positional(block)] = filter.arguments.as_slice() else {
        panic!("{filter:#?}");
    };
    assert_eq!(
        script_block_body(&block.kind),
        vec![expr_statement(cmp(
            CompareOp::Eq,
            member(v("_"), "Status"),
            s("Running")
        ))]
    );
}

#[test]
fn bare_words_are_strings_and_numbers_are_numbers() {
    let c = command("Where Name -eq Running.Now 42 -1 1..5 4GB C:\\x\\y.iso");
    assert_eq!(
        c.arguments,
        vec![
            positional(s("Name")),
            param("eq"),
            positional(s("Running.Now")),
            positional(int(42)),
            positional(ExprKind::Unary {
                op: UnaryOp::Negate,
                operand: b(int(1))
            }),
            positional(s("1..5")),
            positional(ExprKind::Number(Number::Long(4 << 30))),
            positional(s("C:\\x\\y.iso")),
        ]
    );
}

#[test]
fn colon_parameters_switches_and_positionals() {
    let c = command("Stop-SCVirtualMachine $vm -Force -RunAsynchronously:$true -Count:3 'x'");
    assert_eq!(
        c.arguments,
        vec![
            positional(v("vm")),
            param("Force"),
            CommandArgument::Parameter {
                name: "RunAsynchronously".into(),
                value: Some(e(v("true"))),
                span: Span::default()
            },
            CommandArgument::Parameter {
                name: "Count".into(),
                value: Some(e(int(3))),
                span: Span::default()
            },
            positional(s("x")),
        ]
    );
}

#[test]
fn comma_lists_in_arguments() {
    let c = command("Select-Object -Property Name, Status,ID");
    assert_eq!(
        c.arguments,
        vec![
            param("Property"),
            positional(ExprKind::Array(vec![
                e(s("Name")),
                e(s("Status")),
                e(s("ID"))
            ])),
        ]
    );
}

#[test]
fn splatting_in_arguments() {
    let c = command("New-SCVirtualMachine @vmargs -JobGroup $g @script:more");
    assert_eq!(
        c.arguments,
        vec![
            CommandArgument::Splat {
                variable: Variable::new("vmargs"),
                span: Span::default()
            },
            param("JobGroup"),
            positional(v("g")),
            CommandArgument::Splat {
                variable: Variable::scoped("script", "more"),
                span: Span::default()
            },
        ]
    );
}

#[test]
fn arguments_with_member_access_index_and_parens() {
    let c = command("Start-SCVirtualMachine -VM $vm.Name $list[0] (Get-Foo).Id");
    assert_eq!(
        c.arguments,
        vec![
            param("VM"),
            positional(member(v("vm"), "Name")),
            positional(ExprKind::Index {
                target: b(v("list")),
                index: b(int(0))
            }),
            positional(member(
                ExprKind::Paren(Box::new(command_statement(bare_command("Get-Foo", vec![])))),
                "Id"
            )),
        ]
    );
}

#[test]
fn words_with_variables_expand() {
    let c = command("Get-Item $env:TEMP\\seed.iso x$y");
    assert_eq!(
        c.arguments,
        vec![
            positional(ExprKind::Expandable(vec![
                StringPart::Variable(Variable::scoped("env", "TEMP")),
                StringPart::Literal("\\seed.iso".into()),
            ])),
            positional(ExprKind::Expandable(vec![
                StringPart::Literal("x".into()),
                StringPart::Variable(Variable::new("y")),
            ])),
        ]
    );
}

#[test]
fn type_name_then_parenthesised_arguments() {
    // The New-Object idiom: the word ends at '(' and the list is a second argument.
    let c = command("New-Object System.Management.Automation.PSCredential($user, $pass)");
    assert_eq!(
        c.arguments,
        vec![
            positional(s("System.Management.Automation.PSCredential")),
            positional(ExprKind::Paren(Box::new(expr_statement(ExprKind::Array(
                vec![e(v("user")), e(v("pass"))]
            ))))),
        ]
    );
}

#[test]
fn percent_and_question_mark_aliases_take_script_blocks() {
    let elements = pipeline("$list | %{ $_ * 2 } | ?{ $_ }");
    let names: Vec<_> = elements
        .iter()
        .filter_map(|el| match el {
            PipelineElement::Command(c) => Some(c.name.clone()),
            PipelineElement::Expression(_) => None,
        })
        .collect();
    assert_eq!(
        names,
        vec![CommandName::Bare("%".into()), CommandName::Bare("?".into())]
    );
}

#[test]
fn commands_and_keywords_are_case_insensitive_but_kept_as_written() {
    let c = command("get-scvirtualmachine -NAME x");
    assert_eq!(c.name, CommandName::Bare("get-scvirtualmachine".into()));
    assert!(matches!(only("IF ($x) { } ELSE { }"), StatementKind::If(_)));
    assert!(matches!(
        only("ForEach ($a in $b) { }"),
        StatementKind::ForEach(_)
    ));
    // After a pipe, `foreach` is the ForEach-Object alias, not the keyword.
    let elements = pipeline("$a | foreach { $_ }");
    assert!(
        matches!(&elements[1], PipelineElement::Command(c) if c.name == CommandName::Bare("foreach".into()))
    );
}

#[test]
fn call_and_dot_source_operators() {
    let c = command("& $sb 1 'two'");
    assert_eq!(c.invocation, Invocation::Call);
    assert_eq!(c.name, CommandName::Expr(e(v("sb"))));
    assert_eq!(c.arguments, vec![positional(int(1)), positional(s("two"))]);

    let c = command(". $sb");
    assert_eq!(c.invocation, Invocation::DotSource);
    assert_eq!(c.name, CommandName::Expr(e(v("sb"))));

    let c = command("& { param($a) $a } 5");
    assert_eq!(c.invocation, Invocation::Call);
    assert!(matches!(&c.name, CommandName::Expr(x) if matches!(x.kind, ExprKind::ScriptBlock(_))));

    let c = command(".\\setup.ps1 -Quiet");
    assert_eq!(c.invocation, Invocation::Direct);
    assert_eq!(c.name, CommandName::Bare(".\\setup.ps1".into()));
}

#[test]
fn redirections() {
    let c = command("Get-SCVMMServer localhost 2>&1 > $null");
    assert_eq!(
        c.redirections,
        vec![
            Redirection {
                from: Stream::Error,
                target: RedirectionTarget::Merge(Stream::Output)
            },
            Redirection {
                from: Stream::Output,
                target: RedirectionTarget::File {
                    path: e(v("null")),
                    append: false
                }
            },
        ]
    );
    let c = command("Write-Warning x 3>> log.txt *>&1");
    assert_eq!(
        c.redirections,
        vec![
            Redirection {
                from: Stream::Warning,
                target: RedirectionTarget::File {
                    path: e(s("log.txt")),
                    append: true
                }
            },
            Redirection {
                from: Stream::All,
                target: RedirectionTarget::Merge(Stream::Output)
            },
        ]
    );
    let elements = pipeline("$x > $null");
    assert!(matches!(&elements[0], PipelineElement::Expression(el) if el.redirections.len() == 1));
    let elements = pipeline("Remove-Item x | Out-Null");
    assert!(
        matches!(&elements[1], PipelineElement::Command(c) if c.name == CommandName::Bare("Out-Null".into()))
    );
}

// ---- expression mode -----------------------------------------------------------------

#[test]
fn arithmetic_precedence() {
    let a = assignment("$x = 1 + 2 * 3 - 4 / 2 % 3");
    assert_eq!(a.target, e(v("x")));
    assert_eq!(a.op, AssignOp::Assign);
    let mul = bin(BinaryOp::Multiply, int(2), int(3));
    let rem = bin(
        BinaryOp::Remainder,
        bin(BinaryOp::Divide, int(4), int(2)),
        int(3),
    );
    assert_eq!(
        *a.value,
        expr_statement(bin(
            BinaryOp::Subtract,
            bin(BinaryOp::Add, int(1), mul),
            rem
        ))
    );
}

#[test]
fn comma_binds_tighter_than_arithmetic_and_format() {
    assert_eq!(
        expr("1, 2 + 3"),
        bin(
            BinaryOp::Add,
            ExprKind::Array(vec![e(int(1)), e(int(2))]),
            int(3)
        )
    );
    assert_eq!(
        expr("'{0}-{1}' -f $a, $b"),
        bin(
            BinaryOp::Format,
            s("{0}-{1}"),
            ExprKind::Array(vec![e(v("a")), e(v("b"))])
        )
    );
    assert_eq!(expr(",$x"), ExprKind::Array(vec![e(v("x"))]));
}

#[test]
fn assignment_operators() {
    for (src, op) in [
        ("$x = 1", AssignOp::Assign),
        ("$x += 1", AssignOp::Add),
        ("$x -= 1", AssignOp::Subtract),
        ("$x *= 1", AssignOp::Multiply),
        ("$x /= 1", AssignOp::Divide),
        ("$x %= 1", AssignOp::Remainder),
    ] {
        assert_eq!(assignment(src).op, op, "{src}");
    }
}

#[test]
fn assignment_value_is_a_statement() {
    let a = assignment("$vm = Get-SCVirtualMachine -ID $id | Select-Object -First 1");
    assert!(matches!(&a.value.kind, StatementKind::Pipeline(p) if p.elements.len() == 2));
    let a = assignment("$x = if ($a) { 1 } else { 2 }");
    assert!(matches!(a.value.kind, StatementKind::If(_)));
    let a = assignment("$a = $b = 3");
    assert!(matches!(a.value.kind, StatementKind::Assignment(_)));
    let a = assignment("$first, $rest = 1, 2, 3");
    assert_eq!(
        a.target,
        e(ExprKind::Array(vec![e(v("first")), e(v("rest"))]))
    );
    let a = assignment("[int]$n = '5'");
    assert!(matches!(a.target.kind, ExprKind::Cast { .. }));
    let a = assignment("$h['k'].Name = 1");
    assert!(matches!(a.target.kind, ExprKind::Member { .. }));
}

#[test]
fn comparison_operators_with_case_prefixes() {
    let ops = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
        ("like", CompareOp::Like),
        ("notlike", CompareOp::NotLike),
        ("match", CompareOp::Match),
        ("notmatch", CompareOp::NotMatch),
        ("contains", CompareOp::Contains),
        ("notcontains", CompareOp::NotContains),
        ("in", CompareOp::In),
        ("notin", CompareOp::NotIn),
        ("replace", CompareOp::Replace),
        ("split", CompareOp::Split),
    ];
    for (name, op) in ops {
        for (prefix, case_sensitive) in [("", false), ("i", false), ("c", true)] {
            let src = format!("$a -{prefix}{} $b", name.to_uppercase());
            assert_eq!(
                expr(&src),
                bin(BinaryOp::Compare { op, case_sensitive }, v("a"), v("b")),
                "{src}"
            );
        }
    }
}

#[test]
fn other_binary_operators() {
    for (name, op) in [
        ("join", BinaryOp::Join),
        ("is", BinaryOp::Is),
        ("isnot", BinaryOp::IsNot),
        ("as", BinaryOp::As),
        ("and", BinaryOp::And),
        ("or", BinaryOp::Or),
        ("xor", BinaryOp::Xor),
        ("band", BinaryOp::BitAnd),
        ("bor", BinaryOp::BitOr),
        ("bxor", BinaryOp::BitXor),
        ("shl", BinaryOp::ShiftLeft),
        ("shr", BinaryOp::ShiftRight),
        ("f", BinaryOp::Format),
    ] {
        assert_eq!(
            expr(&format!("$a -{name} $b")),
            bin(op, v("a"), v("b")),
            "{name}"
        );
    }
    assert_eq!(
        expr("$x -is [string]"),
        bin(
            BinaryOp::Is,
            v("x"),
            ExprKind::TypeLiteral(TypeName::Named("string".into()))
        )
    );
}

#[test]
fn logical_operators_and_not() {
    // -not binds tighter than -and, -and/-or/-xor are left-associative peers.
    assert_eq!(
        expr("-not $a -and !$b -or $c"),
        bin(
            BinaryOp::Or,
            bin(
                BinaryOp::And,
                ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: b(v("a"))
                },
                ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: b(v("b"))
                }
            ),
            v("c")
        )
    );
    // Comparison binds tighter than logical operators.
    assert_eq!(
        expr("$a -eq 1 -and $b -ne 2"),
        bin(
            BinaryOp::And,
            cmp(CompareOp::Eq, v("a"), int(1)),
            cmp(CompareOp::Ne, v("b"), int(2))
        )
    );
}

#[test]
fn unary_operators() {
    let unary = |op, operand| ExprKind::Unary {
        op,
        operand: b(operand),
    };
    assert_eq!(expr("-$x"), unary(UnaryOp::Negate, v("x")));
    assert_eq!(expr("+5"), unary(UnaryOp::Plus, int(5)));
    assert_eq!(expr("-bnot 5"), unary(UnaryOp::BitNot, int(5)));
    assert_eq!(expr("-split $line"), unary(UnaryOp::Split, v("line")));
    assert_eq!(expr("-join $parts"), unary(UnaryOp::Join, v("parts")));
    assert_eq!(expr("++$i"), unary(UnaryOp::PreIncrement, v("i")));
    assert_eq!(expr("--$i"), unary(UnaryOp::PreDecrement, v("i")));
    assert_eq!(expr("$i++"), unary(UnaryOp::PostIncrement, v("i")));
    assert_eq!(expr("$i--"), unary(UnaryOp::PostDecrement, v("i")));
    assert_eq!(
        expr("$a - -1"),
        bin(BinaryOp::Subtract, v("a"), unary(UnaryOp::Negate, int(1)))
    );
}

#[test]
fn range_operator() {
    assert_eq!(expr("1..5"), bin(BinaryOp::Range, int(1), int(5)));
    assert_eq!(
        expr("0..($n - 1)"),
        bin(
            BinaryOp::Range,
            int(0),
            ExprKind::Paren(Box::new(expr_statement(bin(
                BinaryOp::Subtract,
                v("n"),
                int(1)
            ))))
        )
    );
}

#[test]
fn paren_member_and_index() {
    assert_eq!(
        expr("(Get-Foo).Bar"),
        member(
            ExprKind::Paren(Box::new(command_statement(bare_command("Get-Foo", vec![])))),
            "Bar"
        )
    );
    assert_eq!(
        expr("$a[0]"),
        ExprKind::Index {
            target: b(v("a")),
            index: b(int(0))
        }
    );
    assert_eq!(
        expr("$obj.Prop.Sub"),
        member(member(v("obj"), "Prop"), "Sub")
    );
    assert_eq!(
        expr("$x.'odd name'.$dyn"),
        ExprKind::Member {
            target: b(member(v("x"), "odd name")),
            name: MemberName::Expr(b(v("dyn"))),
            is_static: false
        }
    );
}

#[test]
fn method_calls_instance_and_static() {
    assert_eq!(
        expr("$obj.Method(1, 'a')"),
        ExprKind::MethodCall {
            target: b(v("obj")),
            name: MemberName::Name("Method".into()),
            arguments: vec![e(int(1)), e(s("a"))],
            is_static: false
        }
    );
    assert_eq!(
        expr("[Convert]::FromBase64String($p)"),
        ExprKind::MethodCall {
            target: b(ExprKind::TypeLiteral(TypeName::Named("Convert".into()))),
            name: MemberName::Name("FromBase64String".into()),
            arguments: vec![e(v("p"))],
            is_static: true
        }
    );
    assert_eq!(
        expr("$s.Trim()"),
        ExprKind::MethodCall {
            target: b(v("s")),
            name: MemberName::Name("Trim".into()),
            arguments: vec![],
            is_static: false
        }
    );
}

#[test]
fn type_literals_and_static_members() {
    assert_eq!(
        expr("[System.Text.Encoding]::UTF8"),
        ExprKind::Member {
            target: b(ExprKind::TypeLiteral(TypeName::Named(
                "System.Text.Encoding".into()
            ))),
            name: MemberName::Name("UTF8".into()),
            is_static: true
        }
    );
    let decode = expr("[System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($p))");
    let ExprKind::MethodCall {
        target, arguments, ..
    } = decode
    else {
        panic!();
    };
    assert!(matches!(
        target.kind,
        ExprKind::Member {
            is_static: true,
            ..
        }
    ));
    assert!(matches!(
        arguments[0].kind,
        ExprKind::MethodCall {
            is_static: true,
            ..
        }
    ));
}

#[test]
fn casts_and_type_names() {
    let named = |n: &str| TypeName::Named(n.into());
    assert_eq!(
        expr("[int]$x"),
        ExprKind::Cast {
            ty: named("int"),
            operand: b(v("x"))
        }
    );
    assert_eq!(
        expr("[string[]]$list"),
        ExprKind::Cast {
            ty: TypeName::Array {
                element: Box::new(named("string")),
                rank: 1
            },
            operand: b(v("list"))
        }
    );
    assert_eq!(
        expr("[int] $x.Count"),
        ExprKind::Cast {
            ty: named("int"),
            operand: b(member(v("x"), "Count"))
        }
    );
    assert_eq!(
        expr("[System.Collections.Generic.List[string]]::new()"),
        ExprKind::MethodCall {
            target: b(ExprKind::TypeLiteral(TypeName::Generic {
                name: "System.Collections.Generic.List".into(),
                arguments: vec![named("string")]
            })),
            name: MemberName::Name("new".into()),
            arguments: vec![],
            is_static: true
        }
    );
    assert_eq!(
        expr("[Dictionary[string,int][]]"),
        ExprKind::TypeLiteral(TypeName::Array {
            element: Box::new(TypeName::Generic {
                name: "Dictionary".into(),
                arguments: vec![named("string"), named("int")]
            }),
            rank: 1
        })
    );
    assert!(matches!(
        expr("[pscustomobject]@{ a = 1 }"),
        ExprKind::Cast { operand, .. } if matches!(operand.kind, ExprKind::Hashtable(_))
    ));
    assert!(matches!(expr("[void]$list.Add(1)"), ExprKind::Cast { .. }));
}

#[test]
fn array_subexpression_and_subexpression() {
    assert_eq!(
        expr("@(1, 2)"),
        ExprKind::ArraySubExpression(vec![expr_statement(ExprKind::Array(vec![
            e(int(1)),
            e(int(2))
        ]))])
    );
    assert_eq!(expr("@()"), ExprKind::ArraySubExpression(vec![]));
    assert_eq!(
        expr("$(Get-Date; 2)"),
        ExprKind::SubExpression(vec![
            command_statement(bare_command("Get-Date", vec![])),
            expr_statement(int(2))
        ])
    );
}

#[test]
fn hashtables() {
    let ExprKind::Hashtable(entries) =
        expr("@{ a = 1; 'b' = 2\n Content-Type = Get-Foo -X 1\n 3 = @(1, 2) }")
    else {
        panic!();
    };
    let keys: Vec<_> = entries.iter().map(|en| en.key.kind.clone()).collect();
    assert_eq!(keys, vec![s("a"), s("b"), s("Content-Type"), int(3)]);
    assert_eq!(entries[0].value, expr_statement(int(1)));
    assert_eq!(
        entries[2].value,
        command_statement(bare_command(
            "Get-Foo",
            vec![param("X"), positional(int(1))]
        ))
    );
    assert_eq!(expr("@{}"), ExprKind::Hashtable(vec![]));
    let ExprKind::Hashtable(nested) =
        expr("@{\n  Disks = @(@{ Size = 10GB }, @{ Size = 20GB })\n}")
    else {
        panic!();
    };
    assert_eq!(nested.len(), 1);
}

#[test]
fn script_blocks_as_values() {
    let a = assignment("$sb = { param($x) $x * 2 }");
    let StatementKind::Pipeline(p) = &a.value.kind else {
        panic!();
    };
    let PipelineElement::Expression(el) = &p.elements[0] else {
        panic!();
    };
    let ExprKind::ScriptBlock(sb) = &el.expr.kind else {
        panic!();
    };
    assert_eq!(
        sb.param_block
            .as_ref()
            .map(|pb| pb.parameters[0].variable.clone()),
        Some(Variable::new("x"))
    );
}

// ---- statements, comments, continuation --------------------------------------------------

#[test]
fn statement_separators_comments_and_continuations() {
    let src =
        "$a = 1; $b = 2 # trailing comment\n<# block\n comment #>\nGet-Foo `\n  -Name x\n\n\n";
    let all = statements(src);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[2],
        command_statement(bare_command(
            "Get-Foo",
            vec![param("Name"), positional(s("x"))]
        ))
    );
    assert_eq!(statements("#requires -Version 5\r\n$x = 1\r\n").len(), 1);
}

#[test]
fn line_breaks_after_operators_and_pipes_continue() {
    let all = statements("$ok = $a -and\n    $b\nGet-Foo |\n  Select-Object -First 1");
    assert_eq!(all.len(), 2);
    assert!(matches!(&all[1].kind, StatementKind::Pipeline(p) if p.elements.len() == 2));
}

// ---- variables -------------------------------------------------------------------------------

#[test]
fn variable_forms() {
    assert_eq!(expr("$x"), v("x"));
    assert_eq!(
        expr("$script:x"),
        ExprKind::Variable(Variable::scoped("script", "x"))
    );
    assert_eq!(
        expr("$global:x"),
        ExprKind::Variable(Variable::scoped("global", "x"))
    );
    assert_eq!(
        expr("$env:SCVMM_USERNAME"),
        ExprKind::Variable(Variable::scoped("env", "SCVMM_USERNAME"))
    );
    assert_eq!(expr("${braced name}"), v("braced name"));
    assert_eq!(
        expr("${env:PROGRAMFILES(X86)}"),
        ExprKind::Variable(Variable::scoped("env", "PROGRAMFILES(X86)"))
    );
    assert_eq!(expr("$_"), v("_"));
    assert_eq!(expr("$true"), v("true"));
    assert_eq!(expr("$null"), v("null"));
    assert_eq!(expr("$?"), v("?"));
    assert_eq!(expr("$$"), v("$"));
}

// ---- strings ---------------------------------------------------------------------------------

#[test]
fn single_quoted_strings() {
    assert_eq!(expr("'it''s $x'"), s("it's $x"));
    assert_eq!(expr("''"), s(""));
    assert_eq!(expr("'line1\nline2'"), s("line1\nline2"));
}

#[test]
fn double_quoted_strings_expand_variables_only() {
    assert_eq!(expr("\"plain\""), s("plain"));
    assert_eq!(
        expr("\"Name: $vm.Name!\""),
        ExprKind::Expandable(vec![
            StringPart::Literal("Name: ".into()),
            StringPart::Variable(Variable::new("vm")),
            StringPart::Literal(".Name!".into()),
        ])
    );
    assert_eq!(
        expr("\"$($vm.Name) is $env:X[0]\""),
        ExprKind::Expandable(vec![
            StringPart::SubExpression(vec![expr_statement(member(v("vm"), "Name"))]),
            StringPart::Literal(" is ".into()),
            StringPart::Variable(Variable::scoped("env", "X")),
            StringPart::Literal("[0]".into()),
        ])
    );
    assert_eq!(
        expr("\"${a}b and $ alone\""),
        ExprKind::Expandable(vec![
            StringPart::Variable(Variable::new("a")),
            StringPart::Literal("b and $ alone".into()),
        ])
    );
}

#[test]
fn double_quoted_escapes() {
    assert_eq!(
        expr("\"a`tb`nc`r`0`\"q`$x``\"\"\""),
        s("a\tb\nc\r\0\"q$x`\"")
    );
}

#[test]
fn subexpression_in_string_may_contain_quotes_and_parens() {
    assert_eq!(
        expr("\"$(\"(\" + ')')\""),
        ExprKind::Expandable(vec![StringPart::SubExpression(vec![expr_statement(bin(
            BinaryOp::Add,
            s("("),
            s(")")
        ))])])
    );
}

#[test]
fn here_strings() {
    assert_eq!(
        expr("@'\nliteral $x 'quoted'\n  indented\n'@"),
        s("literal $x 'quoted'\n  indented")
    );
    assert_eq!(
        expr("@\"\nHello $name\n\"q\" $($n + 1)\n\"@"),
        ExprKind::Expandable(vec![
            StringPart::Literal("Hello ".into()),
            StringPart::Variable(Variable::new("name")),
            StringPart::Literal("\n\"q\" ".into()),
            StringPart::SubExpression(vec![expr_statement(bin(BinaryOp::Add, v("n"), int(1)))]),
        ])
    );
    assert_eq!(expr("@'\r\n'@"), s(""));
}

// ---- unicode quotes and dashes -----------------------------------------------------------------

#[test]
fn unicode_quotes_are_quotes() {
    assert_eq!(expr("\u{2018}a\u{2019}"), s("a"));
    assert_eq!(expr("\u{201A}a\u{201B}"), s("a"));
    assert_eq!(expr("\u{201C}a\u{201D}"), s("a"));
    assert_eq!(expr("\u{201E}a\""), s("a"));
    // A typographic quote inside an ASCII-quoted string also ends it, as in
    // PowerShell (the reason user input must never be spliced into scripts).
    assert_eq!(expr("'it\u{2019}\u{2019}s'"), s("it\u{2019}s"));
    assert_eq!(expr("@\u{2018}\nbody\n\u{2019}@"), s("body"));
}

#[test]
fn unicode_dashes_are_dashes() {
    for dash in ['\u{2013}', '\u{2014}', '\u{2015}'] {
        assert_eq!(
            command(&format!("Get-Foo {dash}Name x {dash}Force")).arguments,
            vec![param("Name"), positional(s("x")), param("Force")]
        );
        assert_eq!(
            expr(&format!("$a {dash}eq 1")),
            cmp(CompareOp::Eq, v("a"), int(1))
        );
        assert_eq!(assignment(&format!("$a {dash}= 1")).op, AssignOp::Subtract);
        assert_eq!(
            expr(&format!("{dash}not $a")),
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand: b(v("a"))
            }
        );
    }
}

// ---- numbers -----------------------------------------------------------------------------------

#[test]
fn numeric_literals() {
    let n = |src: &str| match expr(src) {
        ExprKind::Number(n) => n,
        other => panic!("{src}: {other:#?}"),
    };
    assert_eq!(n("42"), Number::Int(42));
    assert_eq!(n("3000000000"), Number::Long(3_000_000_000));
    assert_eq!(n("7L"), Number::Long(7));
    assert_eq!(n("1.5"), Number::Double(1.5));
    assert_eq!(n("1e3"), Number::Double(1000.0));
    assert_eq!(n("2.5d"), Number::Decimal(2.5));
    assert_eq!(n("0xff"), Number::Int(255));
    assert_eq!(n("4GB"), Number::Long(4 << 30));
    assert_eq!(n("512mb"), Number::Int(512 << 20));
    assert_eq!(n("1KB"), Number::Int(1024));
    assert_eq!(n("2TB"), Number::Long(2 << 40));
    assert_eq!(n("1PB"), Number::Long(1 << 50));
}

// ---- control flow --------------------------------------------------------------------------

#[test]
fn if_elseif_else_across_lines() {
    let StatementKind::If(i) = only("if ($a) { 1 }\nelseif ($b -eq 2) { 2 }\nelse\n{ 3 }") else {
        panic!();
    };
    assert_eq!(i.clauses.len(), 2);
    assert_eq!(*i.clauses[0].condition, expr_statement(v("a")));
    assert_eq!(i.clauses[1].body, vec![expr_statement(int(2))]);
    assert_eq!(i.else_body, Some(vec![expr_statement(int(3))]));
    // A statement after `}` on the next line is not an else.
    assert_eq!(statements("if ($a) { 1 }\n$b").len(), 2);
}

#[test]
fn foreach_loop() {
    let StatementKind::ForEach(f) = only("foreach ($vm in Get-SCVirtualMachine) { $vm.Name }")
    else {
        panic!();
    };
    assert_eq!(f.variable, Variable::new("vm"));
    assert_eq!(
        *f.iterable,
        command_statement(bare_command("Get-SCVirtualMachine", vec![]))
    );
    assert_eq!(f.body, vec![expr_statement(member(v("vm"), "Name"))]);
    assert_eq!(f.label, None);
}

#[test]
fn for_loop() {
    let StatementKind::For(f) = only("for ($i = 0; $i -lt 3; $i++) { $i }") else {
        panic!();
    };
    assert!(matches!(
        f.init.as_deref().map(|s| &s.kind),
        Some(StatementKind::Assignment(_))
    ));
    assert_eq!(
        f.condition.as_deref(),
        Some(&expr_statement(cmp(CompareOp::Lt, v("i"), int(3))))
    );
    assert!(f.step.is_some());
    let StatementKind::For(f) = only("for (;;) { break }") else {
        panic!();
    };
    assert!(f.init.is_none() && f.condition.is_none() && f.step.is_none());
}

#[test]
fn while_and_do_loops() {
    let StatementKind::While(w) = only("while ($true) { continue }") else {
        panic!();
    };
    assert_eq!(
        w.body,
        vec![Statement {
            kind: StatementKind::Continue(None),
            span: Span::default()
        }]
    );
    let StatementKind::Do(d) = only("do { $i++ }\nwhile ($i -lt 5)") else {
        panic!();
    };
    assert!(!d.until);
    let StatementKind::Do(d) = only("do { $i++ } until ($i -ge 5)") else {
        panic!();
    };
    assert!(d.until);
}

#[test]
fn switch_statement() {
    let src = "switch -Regex ($status) {\n  'Running' { 1 }\n  PowerOff { 2; break }\n  5 { 3 }\n  { $_ -like 'Under*' } { 4 }\n  default { 0 }\n}";
    let StatementKind::Switch(sw) = only(src) else {
        panic!();
    };
    assert!(sw.flags.regex && !sw.flags.wildcard);
    assert_eq!(*sw.value, expr_statement(v("status")));
    let conditions: Vec<_> = sw
        .clauses
        .iter()
        .map(|c| c.condition.kind.clone())
        .collect();
    assert_eq!(conditions[..3], [s("Running"), s("PowerOff"), int(5)]);
    assert!(matches!(conditions[3], ExprKind::ScriptBlock(_)));
    assert_eq!(sw.default, Some(vec![expr_statement(int(0))]));
}

#[test]
fn break_continue_return_throw_exit() {
    let all =
        statements("break; continue outer; return; return $x; throw \"bad $x\"; throw; exit 1");
    let kinds: Vec<_> = all.into_iter().map(|st| st.kind).collect();
    assert_eq!(kinds[0], StatementKind::Break(None));
    assert_eq!(kinds[1], StatementKind::Continue(Some("outer".into())));
    assert_eq!(kinds[2], StatementKind::Return(None));
    assert_eq!(
        kinds[3],
        StatementKind::Return(Some(Box::new(expr_statement(v("x")))))
    );
    assert!(matches!(&kinds[4], StatementKind::Throw(Some(_))));
    assert_eq!(kinds[5], StatementKind::Throw(None));
    assert_eq!(
        kinds[6],
        StatementKind::Exit(Some(Box::new(expr_statement(int(1)))))
    );
}

#[test]
fn loop_labels() {
    let StatementKind::ForEach(f) = only(":outer foreach ($a in $b) { break outer }") else {
        panic!();
    };
    assert_eq!(f.label.as_deref(), Some("outer"));
}

#[test]
fn try_catch_finally() {
    let src = "try { Get-Foo -ErrorAction Stop }\ncatch [System.IO.IOException], [TimeoutException] { 'io' }\ncatch { $_.Exception.Message }\nfinally { 'done' }";
    let StatementKind::Try(t) = only(src) else {
        panic!();
    };
    assert_eq!(t.catches.len(), 2);
    assert_eq!(
        t.catches[0].types,
        vec![
            TypeName::Named("System.IO.IOException".into()),
            TypeName::Named("TimeoutException".into())
        ]
    );
    assert!(t.catches[1].types.is_empty());
    assert_eq!(
        t.catches[1].body,
        vec![expr_statement(member(
            member(v("_"), "Exception"),
            "Message"
        ))]
    );
    assert_eq!(t.finally, Some(vec![expr_statement(s("done"))]));
    assert!(
        matches!(only("try { 1 } finally { 2 }"), StatementKind::Try(t) if t.catches.is_empty())
    );
}

// ---- functions and param blocks ----------------------------------------------------------------

#[test]
fn function_with_param_block() {
    let src = "function Get-VMInfo {\n  [CmdletBinding()]\n  param(\n    [Parameter(Mandatory)][string]$Name,\n    [Parameter(Mandatory = $true, Position = 1)]\n    [ValidateSet('a', 'b')]\n    [string[]]$Kind = 'a',\n    [switch]$Force\n  )\n  \"$Name\"\n}";
    let StatementKind::Function(f) = only(src) else {
        panic!();
    };
    assert_eq!(f.name, "Get-VMInfo");
    assert!(!f.is_filter);
    let pb = f.body.param_block.as_ref().unwrap();
    assert_eq!(pb.attributes.len(), 1);
    assert_eq!(pb.attributes[0].name, "CmdletBinding");
    assert!(pb.attributes[0].arguments.is_empty());
    assert_eq!(pb.parameters.len(), 3);
    let name = &pb.parameters[0];
    assert_eq!(name.variable, Variable::new("Name"));
    assert_eq!(
        name.attributes,
        vec![
            ParameterAttribute::Attribute(Attribute {
                name: "Parameter".into(),
                arguments: vec![AttributeArgument::Named {
                    name: "Mandatory".into(),
                    value: None
                }],
                span: Span::default()
            }),
            ParameterAttribute::Type(TypeName::Named("string".into())),
        ]
    );
    let kind = &pb.parameters[1];
    assert_eq!(kind.default, Some(e(s("a"))));
    let ParameterAttribute::Attribute(first) = &kind.attributes[0] else {
        panic!();
    };
    assert_eq!(
        first.arguments,
        vec![
            AttributeArgument::Named {
                name: "Mandatory".into(),
                value: Some(e(v("true")))
            },
            AttributeArgument::Named {
                name: "Position".into(),
                value: Some(e(int(1)))
            },
        ]
    );
    let ParameterAttribute::Attribute(set) = &kind.attributes[1] else {
        panic!();
    };
    assert_eq!(
        set.arguments,
        vec![
            AttributeArgument::Positional(e(s("a"))),
            AttributeArgument::Positional(e(s("b")))
        ]
    );
}

#[test]
fn function_with_parenthesised_parameters() {
    let StatementKind::Function(f) = only("function Add($a, [int]$b = 2) { $a + $b }") else {
        panic!();
    };
    let pb = f.body.param_block.unwrap();
    assert_eq!(pb.parameters.len(), 2);
    assert_eq!(pb.parameters[1].default, Some(e(int(2))));
    assert_eq!(
        f.body.body,
        ScriptBody::Statements(vec![expr_statement(bin(BinaryOp::Add, v("a"), v("b")))])
    );
}

#[test]
fn script_level_param_block_and_named_blocks() {
    let sb = parse(
        "[CmdletBinding()]\nparam([string]$Payload)\nbegin { $n = 0 }\nprocess { $n++ }\nend { $n }",
    );
    assert_eq!(sb.param_block.as_ref().map(|p| p.parameters.len()), Some(1));
    let ScriptBody::Named(named) = sb.body else {
        panic!();
    };
    assert!(named.begin.is_some() && named.process.is_some() && named.end.is_some());
    let StatementKind::Function(f) = only("filter Double { $_ * 2 }") else {
        panic!();
    };
    assert!(f.is_filter);
}

// ---- errors ------------------------------------------------------------------------------------

#[test]
fn error_unterminated_string() {
    let err = error("$vm = Get-Foo\n$x = 'abc");
    assert_eq!(err.kind, ParseErrorKind::Unterminated);
    assert_eq!(
        err.to_string(),
        "2:6: unterminated string: the single-quoted string starting here has no closing quote\n\
         2 | $x = 'abc\n  \
           |      ^"
    );
    let err = error("Write-Host \"value: $x");
    assert_eq!(
        err.to_string(),
        "1:12: unterminated string: the double-quoted string starting here has no closing quote\n\
         1 | Write-Host \"value: $x\n  \
           |            ^"
    );
}

#[test]
fn error_missing_closing_brace() {
    let err = error("function f {\n    if ($x) {\n        'y'\n}\n");
    assert_eq!(err.kind, ParseErrorKind::MissingClose);
    assert_eq!(
        err.to_string(),
        "1:12: missing closing '}' for the block that starts here\n\
         1 | function f {\n  \
           |            ^"
    );
    let err = error("$h = @{ a = 1");
    assert_eq!(
        err.to_string(),
        "1:6: missing closing '}' for the hashtable that starts here\n\
         1 | $h = @{ a = 1\n  \
           |      ^"
    );
}

#[test]
fn error_unknown_operator() {
    let err = error("if ($a -foo $b) { }");
    assert_eq!(err.kind, ParseErrorKind::UnknownOperator);
    assert_eq!(
        err.to_string(),
        "1:8: unknown operator '-foo'\n\
         1 | if ($a -foo $b) { }\n  \
           |        ^"
    );
}

#[test]
fn errors_name_unsupported_constructs() {
    for (src, needle) in [
        ("trap { continue }", "'trap' statement is not supported"),
        ("class Foo { }", "'class' statement is not supported"),
        ("Get-Foo && Get-Bar", "'&&'"),
        ("Get-Foo || Get-Bar", "'||'"),
        ("Get-Foo < in.txt", "'<' operator is reserved"),
        ("Start-Job { } &", "background operator"),
        ("Write-Output -- -x", "'--'"),
        ("switch -File (x) { }", "switch -File"),
        ("1 | Get-Foo 2>&2", "unsupported redirection"),
    ] {
        let err = error(src);
        assert!(
            err.message.contains(needle),
            "{src}: expected {needle:?} in {err}"
        );
    }
}

#[test]
fn errors_for_malformed_input() {
    for (src, needle) in [
        ("$x = (1 + )", "expected a value after the '+' operator"),
        ("Get-Foo | 5", "expected a command after '|'"),
        ("$x = @{ a = 1 b = 2 }", "after a hashtable entry"),
        ("\"$name: failed\"", "invalid variable reference '$name:'"),
        ("else { }", "unexpected keyword 'else'"),
        ("try { }", "needs a catch or finally"),
        ("$a = 1; param($b)", "param block must come first"),
        ("5 = 3", "left side of an assignment"),
        ("$x.", "member name"),
        ("[int", "missing closing ']'"),
        ("$x = 1 2", "unexpected '2'"),
        ("foreach ($a of $b) { }", "expected 'in'"),
        ("@\"abc\"@", "here-string"),
        ("@'\nnever closed", "unterminated here-string"),
        ("<# open", "unterminated block comment"),
        ("$a = (1 + 0x)", "invalid numeric literal '0x'"),
        ("$a = (1 + 5abc)", "invalid numeric literal '5abc'"),
        ("$x = 1 + foo", "unexpected bare word 'foo'"),
        ("$a = 1 +", "expected a value after the '+' operator"),
        ("}", "unexpected '}'"),
    ] {
        let err = error(src);
        assert!(
            err.to_string().contains(needle),
            "{src:?}: expected {needle:?} in\n{err}"
        );
        assert!(err.line >= 1 && err.column >= 1);
    }
}

#[test]
fn error_positions_inside_string_subexpressions_are_absolute() {
    let err = error("$ok = 1\n$s = \"a $(1 + ) b\"");
    assert_eq!((err.line, err.column), (2, 15));
    assert_eq!(err.source_line, "$s = \"a $(1 + ) b\"");
}
