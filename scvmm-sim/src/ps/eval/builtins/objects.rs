//! Object cmdlets: Where-Object, ForEach-Object, Select-Object,
//! Sort-Object, Measure-Object, Group-Object, Get-Member, Add-Member,
//! New-Object.

use std::cmp::Ordering;

use super::{BuiltinDef, Cmdlet, Kind, input_or_argument};
use crate::ps::ast::CompareOp;
use crate::ps::eval::convert;
use crate::ps::eval::errors::{ErrorCategory, Flow, PsError, R};
use crate::ps::eval::host::CommandSignature;
use crate::ps::eval::interp::Interp;
use crate::ps::eval::operators;
use crate::ps::eval::pipeline::{CmdCtx, Processed};
use crate::ps::eval::types::{PsType, parse_type_name};
use crate::ps::eval::value::{HashtableData, ObjectData, ScriptBlockValue, Shared, Value};

pub(super) fn builtins() -> Vec<BuiltinDef> {
    vec![
        BuiltinDef {
            name: "Where-Object",
            signature: where_signature,
            kind: Kind::Stream(make_where),
        },
        BuiltinDef {
            name: "ForEach-Object",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .param("Begin")
                    .param("End")
                    .param("ArgumentList")
                    .param("RemainingScripts")
                    .positional("Process", 0)
                    .remaining()
            },
            kind: Kind::Stream(make_foreach),
        },
        BuiltinDef {
            name: "Select-Object",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Property", 0)
                    .param("ExcludeProperty")
                    .param("ExpandProperty")
                    .param("First")
                    .param("Last")
                    .param("Skip")
                    .param("Index")
                    .switch("Unique")
                    .switch("Wait")
            },
            kind: Kind::Stream(make_select),
        },
        BuiltinDef {
            name: "Sort-Object",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Property", 0)
                    .switch("Descending")
                    .switch("Unique")
                    .switch("CaseSensitive")
                    .param("Culture")
            },
            kind: Kind::Collect(sort_object),
        },
        BuiltinDef {
            name: "Measure-Object",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Property", 0)
                    .switch("Sum")
                    .switch("Average")
                    .switch("Maximum")
                    .switch("Minimum")
            },
            kind: Kind::Collect(measure_object),
        },
        BuiltinDef {
            name: "Group-Object",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Property", 0)
                    .switch("NoElement")
                    .switch("AsHashTable")
                    .switch("AsString")
                    .switch("CaseSensitive")
            },
            kind: Kind::Collect(group_object),
        },
        BuiltinDef {
            name: "Get-Member",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Name", 0)
                    .param("MemberType")
                    .alias("Type")
                    .param("View")
                    .switch("Static")
                    .switch("Force")
            },
            kind: Kind::Collect(get_member),
        },
        BuiltinDef {
            name: "Add-Member",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("MemberType", 0)
                    .alias("Type")
                    .positional("Name", 1)
                    .positional("Value", 2)
                    .positional("SecondValue", 3)
                    .param("NotePropertyName")
                    .param("NotePropertyValue")
                    .param("NotePropertyMembers")
                    .param("TypeName")
                    .switch("PassThru")
                    .switch("Force")
            },
            kind: Kind::Collect(add_member),
        },
        BuiltinDef {
            name: "New-Object",
            signature: || {
                CommandSignature::new()
                    .positional("TypeName", 0)
                    .positional("ArgumentList", 1)
                    .alias("Args")
                    .remaining()
                    .param("Property")
                    .param("ComObject")
                    .switch("Strict")
            },
            kind: Kind::Collect(new_object),
        },
    ]
}

/// Where-Object's comparison switches: name, operator, case-sensitive.
const WHERE_OPERATORS: &[(&str, CompareOp, bool)] = &[
    ("EQ", CompareOp::Eq, false),
    ("NE", CompareOp::Ne, false),
    ("GT", CompareOp::Gt, false),
    ("GE", CompareOp::Ge, false),
    ("LT", CompareOp::Lt, false),
    ("LE", CompareOp::Le, false),
    ("Like", CompareOp::Like, false),
    ("NotLike", CompareOp::NotLike, false),
    ("Match", CompareOp::Match, false),
    ("NotMatch", CompareOp::NotMatch, false),
    ("Contains", CompareOp::Contains, false),
    ("NotContains", CompareOp::NotContains, false),
    ("In", CompareOp::In, false),
    ("NotIn", CompareOp::NotIn, false),
    ("CEQ", CompareOp::Eq, true),
    ("CNE", CompareOp::Ne, true),
    ("CGT", CompareOp::Gt, true),
    ("CGE", CompareOp::Ge, true),
    ("CLT", CompareOp::Lt, true),
    ("CLE", CompareOp::Le, true),
    ("CLike", CompareOp::Like, true),
    ("CNotLike", CompareOp::NotLike, true),
    ("CMatch", CompareOp::Match, true),
    ("CNotMatch", CompareOp::NotMatch, true),
    ("CContains", CompareOp::Contains, true),
    ("CNotContains", CompareOp::NotContains, true),
    ("CIn", CompareOp::In, true),
    ("CNotIn", CompareOp::NotIn, true),
];

fn where_signature() -> CommandSignature {
    let mut sig = CommandSignature::new()
        .param("InputObject")
        .positional("Property", 0)
        .alias("FilterScript")
        .positional("Value", 1)
        .switch("Is")
        .switch("IsNot")
        .switch("Not");
    for (name, _, _) in WHERE_OPERATORS {
        sig = sig.switch(name);
    }
    sig
}

enum WhereFilter {
    Script(ScriptBlockValue),
    Compare {
        property: String,
        op: Option<(CompareOp, bool)>,
        is: Option<bool>,
        negate: bool,
        value: Value,
    },
}

struct WhereObject {
    filter: WhereFilter,
}

fn make_where(it: &mut Interp<'_>, cx: &CmdCtx) -> R<Box<dyn Cmdlet>> {
    let filter = match cx.args.get("Property") {
        Some(Value::ScriptBlock(sb)) => WhereFilter::Script(sb.clone()),
        Some(other) => {
            let property = convert::to_text(other, it);
            let op = WHERE_OPERATORS
                .iter()
                .find(|(name, _, _)| cx.args.switch(name))
                .map(|(_, op, cs)| (*op, *cs));
            let is = if cx.args.switch("Is") {
                Some(true)
            } else if cx.args.switch("IsNot") {
                Some(false)
            } else {
                None
            };
            WhereFilter::Compare {
                property,
                op,
                is,
                negate: cx.args.switch("Not"),
                value: cx.args.get("Value").cloned().unwrap_or(Value::Null),
            }
        }
        None => {
            return Err(Flow::statement(PsError::binding(
                &cx.name,
                "Cannot process command because of one or more missing mandatory parameters: FilterScript.",
                "MissingMandatoryParameter",
            )));
        }
    };
    Ok(Box::new(WhereObject { filter }))
}

impl Cmdlet for WhereObject {
    fn process(&mut self, it: &mut Interp<'_>, cx: &CmdCtx, input: Option<Value>) -> R<Processed> {
        let item = match input {
            Some(v) => v,
            None => match cx.args.get("InputObject") {
                Some(v) => v.clone(),
                None => return Ok(Processed::items(Vec::new())),
            },
        };
        let keep = match &self.filter {
            WhereFilter::Script(sb) => {
                let out = it.run_block_here(sb, Some(item.clone()))?;
                convert::to_bool(&Value::from_output(out))
            }
            WhereFilter::Compare {
                property,
                op,
                is,
                negate,
                value,
            } => {
                let actual = it
                    .get_member(&item, property)
                    .map_err(|e| it.fail(e, cx.span))?;
                let result = match (op, is) {
                    (Some((op, cs)), _) => operators::compare_scalar(it, *op, &actual, value, *cs)
                        .map_err(|e| it.fail(e, cx.span))?,
                    (None, Some(want)) => {
                        let ty = match value {
                            Value::Type(t) => t.ty.clone(),
                            other => {
                                PsType::resolve(&parse_type_name(&convert::to_text(other, it)))
                            }
                        };
                        ty.matches(&actual) == *want
                    }
                    (None, None) => convert::to_bool(&actual),
                };
                result != *negate
            }
        };
        Ok(Processed::items(if keep { vec![item] } else { Vec::new() }))
    }
}

struct ForEachObject {
    begin: Option<ScriptBlockValue>,
    process: Vec<ScriptBlockValue>,
    end: Option<ScriptBlockValue>,
    member: Option<String>,
    arguments: Vec<Value>,
}

fn as_block(v: &Value) -> Option<ScriptBlockValue> {
    match v {
        Value::ScriptBlock(sb) => Some(sb.clone()),
        _ => None,
    }
}

fn make_foreach(it: &mut Interp<'_>, cx: &CmdCtx) -> R<Box<dyn Cmdlet>> {
    let mut begin = cx.args.get("Begin").and_then(as_block);
    let mut end = cx.args.get("End").and_then(as_block);
    let mut arguments = cx
        .args
        .get("ArgumentList")
        .map(Value::enumerate)
        .unwrap_or_default();
    let mut member = None;
    let mut process = Vec::new();
    match cx.args.get("Process") {
        Some(Value::ScriptBlock(sb)) => process.push(sb.clone()),
        Some(Value::Array(a))
            if !a.read(|d| {
                d.items
                    .first()
                    .is_some_and(|f| matches!(f, Value::ScriptBlock(_)))
            }) =>
        {
            // `% Name arg1 arg2`: a member name and its arguments.
            let items = a.read(|d| d.items.clone());
            member = items.first().map(|m| convert::to_text(m, it));
            arguments.extend(items.into_iter().skip(1));
        }
        Some(Value::Array(a)) => {
            let items = a.read(|d| d.items.clone());
            let blocks: Vec<ScriptBlockValue> = items.iter().filter_map(as_block).collect();
            if blocks.len() != items.len() {
                return Err(Flow::statement(PsError::binding(
                    &cx.name,
                    "Cannot bind parameter 'Process'. Cannot convert the value to type \"System.Management.Automation.ScriptBlock\".",
                    "CannotConvertArgument",
                )));
            }
            // Positional blocks: begin, process..., end, as PowerShell
            // assigns them.
            match blocks.len() {
                0 => {}
                1 => process = blocks,
                2 if begin.is_none() => {
                    begin = Some(blocks[0].clone());
                    process.push(blocks[1].clone());
                }
                n if begin.is_none() && end.is_none() => {
                    begin = Some(blocks[0].clone());
                    end = Some(blocks[n - 1].clone());
                    process.extend(blocks[1..n - 1].iter().cloned());
                }
                _ => process = blocks,
            }
        }
        Some(other) => member = Some(convert::to_text(other, it)),
        None => {}
    }
    Ok(Box::new(ForEachObject {
        begin,
        process,
        end,
        member,
        arguments,
    }))
}

impl Cmdlet for ForEachObject {
    fn begin(&mut self, it: &mut Interp<'_>, _cx: &CmdCtx) -> R<Vec<Value>> {
        match &self.begin {
            Some(sb) => it.run_block_here(sb, None),
            None => Ok(Vec::new()),
        }
    }

    fn process(&mut self, it: &mut Interp<'_>, cx: &CmdCtx, input: Option<Value>) -> R<Processed> {
        let item = match input {
            Some(v) => v,
            None => cx.args.get("InputObject").cloned().unwrap_or(Value::Null),
        };
        let mut out = Vec::new();
        if let Some(member) = &self.member {
            if it
                .get_member_opt(&item, member)
                .map_err(|e| it.fail(e, cx.span))?
                .is_some()
                && self.arguments.is_empty()
            {
                let v = it
                    .get_member(&item, member)
                    .map_err(|e| it.fail(e, cx.span))?;
                out.extend(if v.is_enumerable() {
                    v.enumerate()
                } else {
                    vec![v]
                });
            } else if !item.is_null() {
                let v = it.call_method(&item, member, self.arguments.clone(), cx.span)?;
                out.extend(if v.is_enumerable() {
                    v.enumerate()
                } else {
                    vec![v]
                });
            }
            return Ok(Processed::items(out));
        }
        for sb in &self.process {
            out.extend(it.run_block_here(sb, Some(item.clone()))?);
        }
        Ok(Processed::items(out))
    }

    fn end(&mut self, it: &mut Interp<'_>, _cx: &CmdCtx) -> R<Vec<Value>> {
        match &self.end {
            Some(sb) => it.run_block_here(sb, None),
            None => Ok(Vec::new()),
        }
    }
}

/// One entry of `-Property`: a name (possibly a wildcard) or a calculated
/// property.
#[derive(Clone)]
enum PropertySpec {
    Name(String),
    Calculated { name: String, expression: Value },
}

fn property_specs(it: &mut Interp<'_>, v: &Value, command: &str) -> R<Vec<PropertySpec>> {
    let mut specs = Vec::new();
    for item in v.enumerate() {
        match &item {
            Value::Hashtable(h) => {
                let entries = h.read(|d| d.entries().to_vec());
                let mut name = None;
                let mut expression = None;
                for (k, val) in entries {
                    let key = convert::to_text(&k, it).to_ascii_lowercase();
                    if "name".starts_with(&key) || "label".starts_with(&key) {
                        name = Some(convert::to_text(&val, it));
                    } else if "expression".starts_with(&key) {
                        expression = Some(val);
                    } else if !("ascending".starts_with(&key) || "descending".starts_with(&key)) {
                        return Err(Flow::statement(
                            PsError::new(
                                format!("The {key} key is not valid."),
                                format!(
                                    "DictionaryKeyIllegal,Microsoft.PowerShell.Commands.{}Command",
                                    command.replace('-', "")
                                ),
                            )
                            .with_category(ErrorCategory::InvalidArgument),
                        ));
                    }
                }
                let expression = expression.unwrap_or(Value::Null);
                let name = name.unwrap_or_else(|| match &expression {
                    Value::ScriptBlock(sb) => sb.text(),
                    other => convert::scalar_text(other),
                });
                specs.push(PropertySpec::Calculated { name, expression });
            }
            Value::ScriptBlock(sb) => specs.push(PropertySpec::Calculated {
                name: sb.text(),
                expression: item.clone(),
            }),
            other => specs.push(PropertySpec::Name(convert::to_text(other, it))),
        }
    }
    Ok(specs)
}

/// The value of a calculated property's expression for `item`.
fn expression_value(
    it: &mut Interp<'_>,
    expression: &Value,
    item: &Value,
    cx: &CmdCtx,
) -> R<Value> {
    match expression {
        Value::ScriptBlock(sb) => {
            let out = it.invoke_block(sb, Vec::new(), Some(item.clone()), cx.span)?;
            Ok(Value::from_output(out))
        }
        other => {
            let name = convert::to_text(other, it);
            it.get_member(item, &name).map_err(|e| it.fail(e, cx.span))
        }
    }
}

fn has_wildcard(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

struct SelectObject {
    properties: Option<Vec<PropertySpec>>,
    exclude: Vec<String>,
    expand: Option<String>,
    first: Option<usize>,
    last: Option<usize>,
    skip: usize,
    unique: bool,
    index: Option<Vec<i64>>,
    seen: usize,
    emitted: usize,
    held: Vec<Value>,
}

fn count_arg(it: &mut Interp<'_>, cx: &CmdCtx, name: &str) -> R<Option<usize>> {
    match cx.args.get(name) {
        None => Ok(None),
        Some(v) => match convert::convert_to(v, &PsType::Int, it) {
            Ok(Value::Int(n)) if n >= 0 => Ok(usize::try_from(n).ok()),
            _ => Err(Flow::statement(PsError::binding(
                &cx.name,
                format!(
                    "Cannot validate argument on parameter '{name}'. The {} argument is less than the minimum allowed range of 0. Supply an argument that is greater than or equal to 0 and then try the command again.",
                    convert::to_text(v, it)
                ),
                "ParameterArgumentValidationError",
            ))),
        },
    }
}

fn make_select(it: &mut Interp<'_>, cx: &CmdCtx) -> R<Box<dyn Cmdlet>> {
    let properties = match cx.args.get("Property") {
        Some(v) => Some(property_specs(it, v, "Select-Object")?),
        None => None,
    };
    let exclude = cx
        .args
        .get("ExcludeProperty")
        .map(|v| v.enumerate().iter().map(convert::scalar_text).collect())
        .unwrap_or_default();
    let expand = cx
        .args
        .get("ExpandProperty")
        .map(|v| convert::to_text(v, it));
    let index = cx.args.get("Index").map(|v| {
        v.enumerate()
            .iter()
            .filter_map(|x| match x {
                Value::Int(n) => Some(i64::from(*n)),
                Value::Long(n) => Some(*n),
                other => {
                    convert::parse_number(&convert::scalar_text(other)).map(|n| n.as_f64() as i64)
                }
            })
            .collect()
    });
    Ok(Box::new(SelectObject {
        properties,
        exclude,
        expand,
        first: count_arg(it, cx, "First")?,
        last: count_arg(it, cx, "Last")?,
        skip: count_arg(it, cx, "Skip")?.unwrap_or(0),
        unique: cx.args.switch("Unique"),
        index,
        seen: 0,
        emitted: 0,
        held: Vec::new(),
    }))
}

impl SelectObject {
    fn buffering(&self) -> bool {
        self.last.is_some() || self.unique || self.index.is_some()
    }

    /// The selected form of one object (possibly several objects, for
    /// `-ExpandProperty` of a collection).
    fn transform(&self, it: &mut Interp<'_>, cx: &CmdCtx, item: Value) -> R<Vec<Value>> {
        if let Some(name) = &self.expand {
            let found = it
                .get_member_opt(&item, name)
                .map_err(|e| it.fail(e, cx.span))?;
            return match found {
                Some(v) => Ok(if v.is_enumerable() {
                    v.enumerate()
                } else {
                    vec![v]
                }),
                None => {
                    let e = PsError::new(
                        format!("Property \"{name}\" cannot be found."),
                        "ExpandPropertyNotFound,Microsoft.PowerShell.Commands.SelectObjectCommand",
                    )
                    .with_category(ErrorCategory::InvalidArgument)
                    .with_command(cx.name.clone())
                    .with_target(
                        convert::to_text(&item, it),
                        item.type_name().rsplit('.').next().unwrap_or("").to_owned(),
                    );
                    let e = it.locate(e, cx.span);
                    it.write_error(e, cx.error_action)?;
                    Ok(Vec::new())
                }
            };
        }
        let Some(specs) = &self.properties else {
            return Ok(vec![item]);
        };
        let mut props: Vec<(String, Value)> = Vec::new();
        let mut available: Option<Vec<(String, Value)>> = None;
        for spec in specs {
            match spec {
                PropertySpec::Name(name) if has_wildcard(name) => {
                    let all = match &available {
                        Some(a) => a.clone(),
                        None => {
                            let a = it.properties_of(&item);
                            available = Some(a.clone());
                            a
                        }
                    };
                    for (n, v) in all {
                        if operators::like(&n, name, false)
                            && !props.iter().any(|(p, _)| p.eq_ignore_ascii_case(&n))
                        {
                            props.push((n, v));
                        }
                    }
                }
                PropertySpec::Name(name) => {
                    let v = it
                        .get_member_opt(&item, name)
                        .map_err(|e| it.fail(e, cx.span))?
                        .unwrap_or(Value::Null);
                    props.push((name.clone(), v));
                }
                PropertySpec::Calculated { name, expression } => {
                    let v = expression_value(it, expression, &item, cx)?;
                    props.push((name.clone(), v));
                }
            }
        }
        props.retain(|(n, _)| !self.exclude.iter().any(|x| operators::like(n, x, false)));
        let original = item.type_name();
        Ok(vec![Value::Object(Shared::new(ObjectData {
            type_names: vec![
                format!("Selected.{original}"),
                "System.Management.Automation.PSCustomObject".into(),
                "System.Object".into(),
            ],
            properties: props,
            display: None,
        }))])
    }
}

impl Cmdlet for SelectObject {
    fn process(&mut self, it: &mut Interp<'_>, cx: &CmdCtx, input: Option<Value>) -> R<Processed> {
        let item = match input {
            Some(v) => v,
            None => match cx.args.get("InputObject") {
                Some(v) => v.clone(),
                None => return Ok(Processed::items(Vec::new())),
            },
        };
        self.seen += 1;
        if self.buffering() {
            self.held.push(item);
            return Ok(Processed::items(Vec::new()));
        }
        if self.seen <= self.skip {
            return Ok(Processed::items(Vec::new()));
        }
        if let Some(first) = self.first
            && self.emitted >= first
        {
            return Ok(Processed {
                items: Vec::new(),
                stop: true,
            });
        }
        self.emitted += 1;
        let items = self.transform(it, cx, item)?;
        let stop = self.first.is_some_and(|f| self.emitted >= f);
        Ok(Processed { items, stop })
    }

    fn end(&mut self, it: &mut Interp<'_>, cx: &CmdCtx) -> R<Vec<Value>> {
        if !self.buffering() {
            return Ok(Vec::new());
        }
        let mut items = std::mem::take(&mut self.held);
        if let Some(index) = &self.index {
            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
            items = index
                .iter()
                .filter_map(|&i| {
                    let k = if i < 0 { len + i } else { i };
                    usize::try_from(k).ok().and_then(|k| items.get(k).cloned())
                })
                .collect();
        }
        let mut selected = Vec::new();
        for item in items {
            selected.extend(self.transform(it, cx, item)?);
        }
        if self.unique {
            let mut keys: std::collections::HashSet<String> = std::collections::HashSet::new();
            let mut unique = Vec::new();
            for item in selected {
                let key = match &item {
                    Value::Object(_) => it
                        .properties_of(&item)
                        .iter()
                        .map(|(k, v)| format!("{k}={}", convert::scalar_text(v)))
                        .collect::<Vec<_>>()
                        .join(";"),
                    other => convert::to_text(other, it),
                };
                if keys.insert(key) {
                    unique.push(item);
                }
            }
            selected = unique;
        }
        let selected: Vec<Value> = selected.into_iter().skip(self.skip).collect();
        let selected = match self.first {
            Some(n) => selected.into_iter().take(n).collect(),
            None => selected,
        };
        Ok(match self.last {
            Some(n) => {
                let skip = selected.len().saturating_sub(n);
                selected.into_iter().skip(skip).collect()
            }
            None => selected,
        })
    }
}

/// A sort key: its values and per-key direction.
fn sort_keys(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    item: &Value,
    specs: &[(PropertySpec, Option<bool>)],
) -> R<Vec<Value>> {
    if specs.is_empty() {
        return Ok(vec![item.clone()]);
    }
    let mut keys = Vec::with_capacity(specs.len());
    for (spec, _) in specs {
        keys.push(match spec {
            PropertySpec::Name(name) => it
                .get_member_opt(item, name)
                .map_err(|e| it.fail(e, cx.span))?
                .unwrap_or(Value::Null),
            PropertySpec::Calculated { expression, .. } => {
                expression_value(it, expression, item, cx)?
            }
        });
    }
    Ok(keys)
}

fn sort_specs(it: &mut Interp<'_>, cx: &CmdCtx) -> R<Vec<(PropertySpec, Option<bool>)>> {
    let Some(v) = cx.args.get("Property") else {
        return Ok(Vec::new());
    };
    let mut specs = Vec::new();
    for item in v.enumerate() {
        let descending = match &item {
            Value::Hashtable(h) => {
                let entries = h.read(|d| d.entries().to_vec());
                let mut d = None;
                for (k, val) in entries {
                    let key = convert::scalar_text(&k).to_ascii_lowercase();
                    if key == "descending" {
                        d = Some(convert::to_bool(&val));
                    } else if key == "ascending" {
                        d = Some(!convert::to_bool(&val));
                    }
                }
                d
            }
            _ => None,
        };
        let spec = property_specs(it, &item, &cx.name)?
            .pop()
            .unwrap_or(PropertySpec::Name(String::new()));
        specs.push((spec, descending));
    }
    Ok(specs)
}

fn sort_object(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let specs = sort_specs(it, cx)?;
    let descending = cx.args.switch("Descending");
    let cs = cx.args.switch("CaseSensitive");
    let mut keyed = Vec::with_capacity(items.len());
    for item in items {
        it.step()?;
        let keys = sort_keys(it, cx, &item, &specs)?;
        keyed.push((keys, item));
    }
    it.charge(
        keyed
            .len()
            .saturating_mul(keyed.len().max(2).ilog2() as usize),
    )?;
    let mut cmp = |a: &(Vec<Value>, Value), b: &(Vec<Value>, Value)| -> Ordering {
        for (i, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
            let o = match (x, y) {
                (Value::Null, Value::Null) => Ordering::Equal,
                (Value::Null, _) => Ordering::Less,
                (_, Value::Null) => Ordering::Greater,
                _ => operators::compare_values(it, x, y, cs).unwrap_or_else(|_| {
                    // Incomparable values order by their text, as
                    // PowerShell falls back to string comparison.
                    let xs = convert::to_text(x, it);
                    let ys = convert::to_text(y, it);
                    xs.to_lowercase().cmp(&ys.to_lowercase())
                }),
            };
            let desc = specs.get(i).and_then(|(_, d)| *d).unwrap_or(descending);
            let o = if desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    };
    let mut sorted = operators::merge_sort(keyed, &mut cmp);
    if cx.args.switch("Unique") {
        let mut out: Vec<(Vec<Value>, Value)> = Vec::new();
        for entry in sorted {
            let dup = match out.last() {
                Some(last) => {
                    let mut same = true;
                    for (x, y) in last.0.iter().zip(entry.0.iter()) {
                        if !operators::equals(it, x, y, cs).unwrap_or(false) {
                            same = false;
                            break;
                        }
                    }
                    same
                }
                None => false,
            };
            if !dup {
                out.push(entry);
            }
        }
        sorted = out;
    }
    Ok(sorted.into_iter().map(|(_, v)| v).collect())
}

fn measure_object(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let property = cx.args.get("Property").map(|v| convert::to_text(v, it));
    let mut values = Vec::new();
    for item in &items {
        let v = match &property {
            Some(p) => match it
                .get_member_opt(item, p)
                .map_err(|e| it.fail(e, cx.span))?
            {
                Some(v) => v,
                None => continue,
            },
            None => item.clone(),
        };
        values.push(v);
    }
    let wants_numbers = ["Sum", "Average", "Maximum", "Minimum"]
        .iter()
        .any(|s| cx.args.switch(s));
    let mut numbers = Vec::new();
    if wants_numbers {
        for v in values.iter().filter(|v| !v.is_null()) {
            let n = convert::to_num(v, it).map_err(|_| {
                it.fail(
                    PsError::new(
                        format!(
                            "Input object \"{}\" is not numeric.",
                            convert::scalar_text(v)
                        ),
                        "NonNumericInputObject,Microsoft.PowerShell.Commands.MeasureObjectCommand",
                    )
                    .with_category(ErrorCategory::InvalidType)
                    .with_command(cx.name.clone()),
                    cx.span,
                )
            })?;
            numbers.push(n.as_f64());
        }
    }
    let count = i32::try_from(if property.is_some() {
        values.len()
    } else {
        items.len()
    })
    .unwrap_or(i32::MAX);
    let stat = |on: bool, f: &dyn Fn(&[f64]) -> f64| {
        if on && !numbers.is_empty() {
            Value::Double(f(&numbers))
        } else {
            Value::Null
        }
    };
    let sum: f64 = numbers.iter().sum();
    let result = vec![
        ("Count".to_owned(), Value::Int(count)),
        (
            "Average".into(),
            stat(cx.args.switch("Average"), &|n| sum / n.len() as f64),
        ),
        ("Sum".into(), stat(cx.args.switch("Sum"), &|_| sum)),
        (
            "Maximum".into(),
            stat(cx.args.switch("Maximum"), &|n| {
                n.iter().copied().fold(f64::MIN, f64::max)
            }),
        ),
        (
            "Minimum".into(),
            stat(cx.args.switch("Minimum"), &|n| {
                n.iter().copied().fold(f64::MAX, f64::min)
            }),
        ),
        ("Property".into(), property.map_or(Value::Null, Value::from)),
    ];
    Ok(vec![Value::Object(Shared::new(ObjectData::typed(
        "Microsoft.PowerShell.Commands.GenericMeasureInfo",
        result,
        Some("Microsoft.PowerShell.Commands.GenericMeasureInfo".into()),
    )))])
}

fn group_object(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let specs = match cx.args.get("Property") {
        Some(v) => property_specs(it, v, &cx.name)?,
        None => Vec::new(),
    };
    let cs = cx.args.switch("CaseSensitive");
    let mut groups: Vec<(String, Vec<Value>, Vec<Value>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for item in items {
        let mut values = Vec::new();
        for spec in &specs {
            values.push(match spec {
                PropertySpec::Name(n) => it
                    .get_member_opt(&item, n)
                    .map_err(|e| it.fail(e, cx.span))?
                    .unwrap_or(Value::Null),
                PropertySpec::Calculated { expression, .. } => {
                    expression_value(it, expression, &item, cx)?
                }
            });
        }
        if specs.is_empty() {
            values.push(item.clone());
        }
        let name = values
            .iter()
            .map(|v| convert::to_text(v, it))
            .collect::<Vec<_>>()
            .join(", ");
        let key = if cs {
            name.clone()
        } else {
            name.to_lowercase()
        };
        match index.get(&key) {
            Some(&i) => groups[i].1.push(item),
            None => {
                index.insert(key, groups.len());
                groups.push((name, vec![item], values));
            }
        }
    }
    if cx.args.switch("AsHashTable") {
        let mut table = HashtableData::new(false);
        for (name, members, values) in groups {
            let key = if cx.args.switch("AsString") || values.len() != 1 {
                Value::from(name)
            } else {
                values.into_iter().next().unwrap_or(Value::Null)
            };
            table.insert(key, Value::array(members));
        }
        return Ok(vec![Value::Hashtable(Shared::new(table))]);
    }
    let no_element = cx.args.switch("NoElement");
    Ok(groups
        .into_iter()
        .map(|(name, members, values)| {
            let mut props = vec![
                (
                    "Count".to_owned(),
                    Value::Int(i32::try_from(members.len()).unwrap_or(i32::MAX)),
                ),
                ("Name".to_owned(), Value::from(name.as_str())),
            ];
            if !no_element {
                props.push(("Group".to_owned(), Value::array(members)));
            }
            props.push(("Values".to_owned(), Value::array(values)));
            Value::Object(Shared::new(ObjectData::typed(
                "Microsoft.PowerShell.Commands.GroupInfo",
                props,
                Some("Microsoft.PowerShell.Commands.GroupInfo".into()),
            )))
        })
        .collect())
}

fn get_member(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let filter: Vec<String> = cx
        .args
        .get("MemberType")
        .map(|v| {
            v.enumerate()
                .iter()
                .map(|x| convert::scalar_text(x).to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<String> = cx
        .args
        .get("Name")
        .map(|v| v.enumerate().iter().map(convert::scalar_text).collect())
        .unwrap_or_default();
    let mut seen_types: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for item in &items {
        let type_name = item.type_name();
        if seen_types.contains(&type_name) {
            continue;
        }
        seen_types.push(type_name.clone());
        let member_type = match item {
            Value::Object(o) if o.read(ObjectData::is_custom) => "NoteProperty",
            _ => "Property",
        };
        let wanted = filter.is_empty()
            || filter.iter().any(|f| {
                f == &member_type.to_ascii_lowercase()
                    || f == "properties"
                    || f == "all"
                    || (f == "property" && member_type == "Property")
            });
        if !wanted {
            continue;
        }
        let mut props = it.properties_of(item);
        props.sort_by_key(|(n, _)| n.to_lowercase());
        for (name, value) in props {
            if !names.is_empty() && !names.iter().any(|n| operators::like(&name, n, false)) {
                continue;
            }
            let short = value
                .type_name()
                .rsplit('.')
                .next()
                .unwrap_or("Object")
                .to_owned();
            let definition = if member_type == "NoteProperty" {
                format!("{short} {name}={}", convert::to_text(&value, it))
            } else {
                format!("{short} {name} {{get;}}")
            };
            out.push(Value::Object(Shared::new(ObjectData::typed(
                "Microsoft.PowerShell.Commands.MemberDefinition",
                vec![
                    ("TypeName".into(), Value::from(type_name.as_str())),
                    ("Name".into(), Value::from(name.as_str())),
                    (
                        "MemberType".into(),
                        Value::enumeration(
                            "System.Management.Automation.PSMemberTypes",
                            member_type,
                            if member_type == "NoteProperty" { 2 } else { 4 },
                        ),
                    ),
                    ("Definition".into(), Value::from(definition)),
                ],
                Some(name.clone()),
            ))));
        }
    }
    Ok(out)
}

fn add_member(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let force = cx.args.switch("Force");
    let mut members: Vec<(String, Value)> = Vec::new();
    if let Some(name) = cx.args.get("NotePropertyName") {
        members.push((
            convert::to_text(name, it),
            cx.args
                .get("NotePropertyValue")
                .cloned()
                .unwrap_or(Value::Null),
        ));
    } else if let Some(Value::Hashtable(h)) = cx.args.get("NotePropertyMembers") {
        for (k, v) in h.read(|d| d.entries().to_vec()) {
            members.push((convert::to_text(&k, it), v));
        }
    } else if let Some(kind) = cx.args.get("MemberType") {
        let kind = convert::to_text(kind, it);
        if !kind.eq_ignore_ascii_case("NoteProperty") {
            return Err(it.fail(
                PsError::unsupported(format!("Add-Member -MemberType {kind} (only NoteProperty)")),
                cx.span,
            ));
        }
        let name = cx
            .args
            .get("Name")
            .map(|v| convert::to_text(v, it))
            .unwrap_or_default();
        members.push((name, cx.args.get("Value").cloned().unwrap_or(Value::Null)));
    }
    let mut out = Vec::new();
    for item in items {
        match &item {
            Value::Object(o) => {
                for (name, value) in &members {
                    let exists = o.read(|d| d.get(name).is_some());
                    if exists && !force {
                        let e = PsError::new(
                            format!(
                                "Cannot add a member with the name \"{name}\" because a member with that name already exists. To overwrite the member anyway, add the Force parameter to your command."
                            ),
                            "MemberAlreadyExists,Microsoft.PowerShell.Commands.AddMemberCommand",
                        )
                        .with_category(ErrorCategory::InvalidOperation)
                        .with_command(cx.name.clone());
                        let e = it.locate(e, cx.span);
                        it.write_error(e, cx.error_action)?;
                        continue;
                    }
                    o.write(|d| d.set(name, value.clone()));
                }
                if let Some(t) = cx.args.get("TypeName") {
                    let t = convert::to_text(t, it);
                    o.write(|d| d.type_names.insert(0, t));
                }
            }
            Value::Hashtable(h) => {
                // The emulator has no PSObject wrapper for hashtables; a
                // note property becomes a key, which reads the same way.
                for (name, value) in &members {
                    h.write(|d| d.insert(Value::from(name.as_str()), value.clone()));
                }
            }
            other => {
                return Err(it.fail(
                    PsError::unsupported(format!(
                        "Add-Member on a {} (only objects and hashtables)",
                        other.type_name()
                    )),
                    cx.span,
                ));
            }
        }
        if cx.args.switch("PassThru") {
            out.push(item);
        }
    }
    Ok(out)
}

fn new_object(it: &mut Interp<'_>, cx: &CmdCtx, _input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    if cx.args.has("ComObject") {
        return Err(it.fail(
            PsError::unsupported("COM objects (New-Object -ComObject)"),
            cx.span,
        ));
    }
    let Some(type_arg) = cx.args.get("TypeName") else {
        return Err(Flow::statement(it.locate(
            PsError::binding(
                &cx.name,
                "Cannot process command because of one or more missing mandatory parameters: TypeName.",
                "MissingMandatoryParameter",
            ),
            cx.span,
        )));
    };
    let type_text = convert::to_text(type_arg, it);
    let ty = PsType::resolve(&parse_type_name(&type_text));
    let args = cx
        .args
        .get("ArgumentList")
        .map(|v| {
            if v.is_enumerable() {
                v.enumerate()
            } else {
                vec![v.clone()]
            }
        })
        .unwrap_or_default();
    let value = crate::ps::eval::statics::construct(it, &ty, args).map_err(|mut e| {
        if e.fully_qualified_error_id == "TypeNotFound" {
            e.message = format!(
                "Cannot find type [{type_text}]: verify that the assembly containing this type is loaded."
            );
            e.fully_qualified_error_id = "TypeNotFound,Microsoft.PowerShell.Commands.NewObjectCommand".into();
            e.command = Some(cx.name.clone());
        }
        Flow::statement(it.locate(e, cx.span))
    })?;
    if let Some(Value::Hashtable(h)) = cx.args.get("Property") {
        for (k, v) in h.read(|d| d.entries().to_vec()) {
            let name = convert::to_text(&k, it);
            match &value {
                Value::Object(o) => o.write(|d| d.set(&name, v)),
                other => it
                    .set_member(other, &name, v)
                    .map_err(|e| it.fail(e, cx.span))?,
            }
        }
    }
    Ok(vec![value])
}
