//! PowerShell operators with PowerShell's conversion rules: the left
//! operand decides (`"5" + 1` is `"51"`, `5 + "1"` is `6`), comparisons are
//! case-insensitive unless written `-c...`, a collection on the left makes
//! a comparison a filter (`@(1,2,3) -gt 1` is `2, 3`), `-match` fills
//! `$Matches`, integer overflow widens to double.

use std::cmp::Ordering;

use super::convert::{self, Num};
use super::errors::{ErrorCategory, PsError, exception};
use super::format;
use super::interp::Interp;
use super::members::{date_diff, dotnet_equals};
use super::types::PsType;
use super::value::{DateTime, HashtableData, Shared, TimeSpan, Value};
use crate::ps::ast::{BinaryOp, CompareOp, UnaryOp};

/// Applies a binary operator (`-and`/`-or` are short-circuited by the
/// caller).
pub(crate) fn binary(
    it: &mut Interp<'_>,
    op: BinaryOp,
    l: Value,
    r: Value,
) -> Result<Value, PsError> {
    match op {
        BinaryOp::Add => add(it, l, r),
        BinaryOp::Subtract => arith(it, ArithOp::Sub, &l, &r),
        BinaryOp::Multiply => multiply(it, l, r),
        BinaryOp::Divide => arith(it, ArithOp::Div, &l, &r),
        BinaryOp::Remainder => arith(it, ArithOp::Rem, &l, &r),
        BinaryOp::Range => range(it, &l, &r),
        BinaryOp::Format => {
            let fmt = convert::to_text(&l, it);
            let args = if r.is_enumerable() {
                r.enumerate()
            } else {
                vec![r]
            };
            let mut texts = Vec::with_capacity(args.len());
            for a in &args {
                texts.push(convert::to_text(a, it));
            }
            let lookup = |v: &Value| {
                args.iter()
                    .position(|a| std::ptr::eq(a, v))
                    .and_then(|i| texts.get(i).cloned())
                    .unwrap_or_else(|| convert::scalar_text(v))
            };
            format::composite(&fmt, &args, &lookup).map(Value::from)
        }
        BinaryOp::And => Ok(Value::Bool(convert::to_bool(&l) && convert::to_bool(&r))),
        BinaryOp::Or => Ok(Value::Bool(convert::to_bool(&l) || convert::to_bool(&r))),
        BinaryOp::Xor => Ok(Value::Bool(convert::to_bool(&l) ^ convert::to_bool(&r))),
        BinaryOp::BitAnd
        | BinaryOp::BitOr
        | BinaryOp::BitXor
        | BinaryOp::ShiftLeft
        | BinaryOp::ShiftRight => {
            let a = int_operand(it, &l)?;
            let b = int_operand(it, &r)?;
            let v = match op {
                BinaryOp::BitAnd => a & b,
                BinaryOp::BitOr => a | b,
                BinaryOp::BitXor => a ^ b,
                BinaryOp::ShiftLeft => a.wrapping_shl(u32::try_from(b & 63).unwrap_or(0)),
                _ => a.wrapping_shr(u32::try_from(b & 63).unwrap_or(0)),
            };
            Ok(narrow(v))
        }
        BinaryOp::Is | BinaryOp::IsNot => {
            let ty = type_operand(it, &r)?;
            let is = ty.matches(&l);
            Ok(Value::Bool(if op == BinaryOp::Is { is } else { !is }))
        }
        BinaryOp::As => {
            let ty = type_operand(it, &r)?;
            Ok(convert::convert_to(&l, &ty, it).unwrap_or(Value::Null))
        }
        BinaryOp::Join => {
            let sep = convert::to_text(&r, it);
            let items = if l.is_enumerable() {
                l.enumerate()
            } else {
                vec![l]
            };
            let mut parts = Vec::with_capacity(items.len());
            for item in &items {
                parts.push(convert::to_text(item, it));
            }
            let total: usize =
                parts.iter().map(String::len).sum::<usize>() + sep.len() * parts.len();
            it.check_size(total, "A joined string")
                .map_err(flow_error)?;
            Ok(Value::from(parts.join(&sep)))
        }
        BinaryOp::Compare { op, case_sensitive } => compare(it, op, l, r, case_sensitive),
    }
}

fn flow_error(f: super::errors::Flow) -> PsError {
    match f {
        super::errors::Flow::Error(e, _) | super::errors::Flow::Abort(e) => *e,
        _ => PsError::new("unexpected control flow", "InternalError"),
    }
}

/// The type named by the right operand of `-is` / `-as`.
fn type_operand(it: &mut Interp<'_>, r: &Value) -> Result<PsType, PsError> {
    match r {
        Value::Type(t) => Ok(t.ty.clone()),
        other => {
            let name = convert::to_text(other, it);
            let name = name.trim_start_matches('[').trim_end_matches(']');
            Ok(PsType::resolve(&crate::ps::ast::TypeName::Named(
                name.to_owned(),
            )))
        }
    }
}

fn int_operand(it: &mut Interp<'_>, v: &Value) -> Result<i64, PsError> {
    match convert::to_num(v, it)? {
        Num::Int(n) => Ok(i64::from(n)),
        Num::Long(n) => Ok(n),
        Num::Double(d) | Num::Decimal(d) => Ok(convert::round_half_even(d) as i64),
    }
}

fn narrow(n: i64) -> Value {
    i32::try_from(n).map_or(Value::Long(n), Value::Int)
}

/// Applies a unary operator (increments are handled by the caller).
pub(crate) fn unary(it: &mut Interp<'_>, op: UnaryOp, v: Value) -> Result<Value, PsError> {
    match op {
        UnaryOp::Not => Ok(Value::Bool(!convert::to_bool(&v))),
        UnaryOp::Negate => match convert::to_num(&v, it)? {
            Num::Int(n) => Ok(n
                .checked_neg()
                .map_or(Value::Double(-f64::from(n)), Value::Int)),
            Num::Long(n) => Ok(n
                .checked_neg()
                .map_or(Value::Double(-(n as f64)), Value::Long)),
            Num::Double(d) => Ok(Value::Double(-d)),
            Num::Decimal(d) => Ok(Value::Decimal(-d)),
        },
        UnaryOp::Plus => Ok(convert::to_num(&v, it)?.into_value()),
        UnaryOp::BitNot => Ok(narrow(!int_operand(it, &v)?)),
        UnaryOp::Split => {
            let items = if v.is_enumerable() {
                v.enumerate()
            } else {
                vec![v]
            };
            let mut out = Vec::new();
            for item in &items {
                let text = convert::to_text(item, it);
                out.extend(text.split_whitespace().map(Value::from));
            }
            Ok(Value::array(out))
        }
        UnaryOp::Join => {
            let items = if v.is_enumerable() {
                v.enumerate()
            } else {
                vec![v]
            };
            let mut s = String::new();
            for item in &items {
                s.push_str(&convert::to_text(item, it));
            }
            Ok(Value::from(s))
        }
        UnaryOp::PreIncrement
        | UnaryOp::PreDecrement
        | UnaryOp::PostIncrement
        | UnaryOp::PostDecrement => Err(PsError::unsupported(
            "increment of a non-assignable expression",
        )),
    }
}

// ---- arithmetic -----------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

fn op_name(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "op_Addition",
        ArithOp::Sub => "op_Subtraction",
        ArithOp::Mul => "op_Multiply",
        ArithOp::Div => "op_Division",
        ArithOp::Rem => "op_Modulus",
    }
}

fn add(it: &mut Interp<'_>, l: Value, r: Value) -> Result<Value, PsError> {
    match &l {
        Value::Null => Ok(match r {
            Value::Array(a) => Value::array(a.read(|d| d.items.clone())),
            other => other,
        }),
        Value::String(s) => {
            let rt = convert::to_text(&r, it);
            it.check_size(s.len() + rt.len(), "A string")
                .map_err(flow_error)?;
            Ok(Value::from(format!("{s}{rt}")))
        }
        Value::Char(c) if matches!(r, Value::String(_) | Value::Char(_)) => {
            Ok(Value::from(format!("{c}{}", convert::to_text(&r, it))))
        }
        Value::Array(a) => {
            let mut items = a.read(|d| d.items.clone());
            if r.is_enumerable() {
                items.extend(r.enumerate());
            } else {
                items.push(r);
            }
            it.check_size(items.len(), "An array").map_err(flow_error)?;
            Ok(Value::array(items))
        }
        Value::Bytes(b) => {
            let mut items: Vec<Value> = b.read(|d| d.iter().map(|&x| Value::Byte(x)).collect());
            if r.is_enumerable() {
                items.extend(r.enumerate());
            } else {
                items.push(r);
            }
            Ok(Value::array(items))
        }
        Value::Hashtable(h) => match &r {
            Value::Hashtable(o) => {
                let mut data = h.read(|d| {
                    let mut n = HashtableData::new(d.ordered);
                    for (k, v) in d.entries() {
                        n.insert(k.clone(), v.clone());
                    }
                    n
                });
                for (k, v) in o.read(|d| d.entries().to_vec()) {
                    if data.contains_key(&k) {
                        let key = convert::to_text(&k, it);
                        return Err(PsError::new(
                            format!("Item has already been added. Key in dictionary: '{key}'  Key being added: '{key}'"),
                            "System.ArgumentException",
                        )
                        .with_exception(exception::ARGUMENT)
                        .with_category(ErrorCategory::InvalidOperation));
                    }
                    data.insert(k, v);
                }
                Ok(Value::Hashtable(Shared::new(data)))
            }
            _ => Err(PsError::new(
                "A hash table can only be added to another hash table.",
                "AddHashTableToNonHashTable",
            )
            .with_category(ErrorCategory::InvalidOperation)),
        },
        Value::DateTime(dt) => match &r {
            Value::TimeSpan(t) => add_span(dt, t.0),
            _ => Err(no_operator(&l, ArithOp::Add)),
        },
        Value::TimeSpan(t) => match &r {
            Value::TimeSpan(o) => Ok(Value::TimeSpan(TimeSpan(t.0.saturating_add(o.0)))),
            _ => Err(no_operator(&l, ArithOp::Add)),
        },
        _ => arith(it, ArithOp::Add, &l, &r),
    }
}

fn add_span(dt: &DateTime, ticks: i64) -> Result<Value, PsError> {
    let span = jiff::SignedDuration::from_nanos(ticks.saturating_mul(100));
    dt.instant
        .checked_add(span)
        .map(|t| {
            Value::DateTime(DateTime {
                instant: t,
                kind: dt.kind,
            })
        })
        .map_err(|_| {
            PsError::new(
                "The added or subtracted value results in an un-representable DateTime.",
                "ArgumentOutOfRange",
            )
        })
}

fn no_operator(l: &Value, op: ArithOp) -> PsError {
    PsError::method_not_found(&l.type_name(), op_name(op))
}

fn multiply(it: &mut Interp<'_>, l: Value, r: Value) -> Result<Value, PsError> {
    match &l {
        Value::String(s) => {
            let n = repeat_count(it, &r)?;
            it.check_size(s.len().saturating_mul(n), "A string")
                .map_err(flow_error)?;
            Ok(Value::from(s.repeat(n)))
        }
        Value::Array(a) => {
            let n = repeat_count(it, &r)?;
            let items = a.read(|d| d.items.clone());
            it.check_size(items.len().saturating_mul(n), "An array")
                .map_err(flow_error)?;
            let mut out = Vec::with_capacity(items.len() * n);
            for _ in 0..n {
                out.extend(items.iter().cloned());
            }
            Ok(Value::array(out))
        }
        _ => arith(it, ArithOp::Mul, &l, &r),
    }
}

fn repeat_count(it: &mut Interp<'_>, r: &Value) -> Result<usize, PsError> {
    match convert::convert_to(r, &PsType::Int, it)? {
        Value::Int(n) => usize::try_from(n).map_err(|_| {
            PsError::new(
                "The value of the count argument must be greater than or equal to 0.",
                "ArgumentOutOfRange",
            )
        }),
        _ => Ok(0),
    }
}

fn arith(it: &mut Interp<'_>, op: ArithOp, l: &Value, r: &Value) -> Result<Value, PsError> {
    match (l, r, op) {
        (Value::DateTime(a), Value::DateTime(b), ArithOp::Sub) => {
            return Ok(Value::TimeSpan(date_diff(a, b)));
        }
        (Value::DateTime(a), Value::TimeSpan(t), ArithOp::Sub) => return add_span(a, -t.0),
        (Value::TimeSpan(a), Value::TimeSpan(b), ArithOp::Sub) => {
            return Ok(Value::TimeSpan(TimeSpan(a.0.saturating_sub(b.0))));
        }
        (
            Value::Object(_)
            | Value::Hashtable(_)
            | Value::HostRef(_)
            | Value::ScriptBlock(_)
            | Value::DateTime(_)
            | Value::TimeSpan(_)
            | Value::Guid(_),
            _,
            _,
        ) => {
            return Err(no_operator(l, op));
        }
        (Value::Array(_) | Value::Bytes(_), _, _) if op != ArithOp::Add => {
            return Err(no_operator(l, op));
        }
        _ => {}
    }
    let a = convert::to_num(l, it)?;
    let b = convert::to_num(r, it).map_err(|_| {
        PsError::conversion(
            &convert::to_text(r, it),
            num_type_name(a),
            "Input string was not in a correct format.",
        )
    })?;
    num_op(op, a, b)
}

fn num_type_name(n: Num) -> &'static str {
    match n {
        Num::Int(_) => "System.Int32",
        Num::Long(_) => "System.Int64",
        Num::Double(_) => "System.Double",
        Num::Decimal(_) => "System.Decimal",
    }
}

fn divide_by_zero() -> PsError {
    PsError::new("Attempted to divide by zero.", "RuntimeException")
        .with_exception(exception::DIVIDE_BY_ZERO)
        .with_category(ErrorCategory::NotSpecified)
}

fn num_op(op: ArithOp, a: Num, b: Num) -> Result<Value, PsError> {
    let float = |x: f64, y: f64, decimal: bool| -> Result<Value, PsError> {
        let v = match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => {
                if y == 0.0 {
                    return Err(divide_by_zero());
                }
                x / y
            }
            ArithOp::Rem => {
                if y == 0.0 {
                    return Err(divide_by_zero());
                }
                x % y
            }
        };
        Ok(if decimal {
            Value::Decimal(v)
        } else {
            Value::Double(v)
        })
    };
    match (a, b) {
        (Num::Decimal(x), other) | (other, Num::Decimal(x))
            if matches!(a, Num::Decimal(_)) || matches!(b, Num::Decimal(_)) =>
        {
            let (x, y) = if matches!(a, Num::Decimal(_)) {
                (x, other.as_f64())
            } else {
                (other.as_f64(), x)
            };
            float(x, y, true)
        }
        (Num::Double(_), _) | (_, Num::Double(_)) => float(a.as_f64(), b.as_f64(), false),
        (Num::Int(x), Num::Int(y)) => {
            let (x, y) = (i64::from(x), i64::from(y));
            let r = int_op(op, x, y)?;
            Ok(match r {
                IntResult::Exact(v) => i32::try_from(v).map_or(Value::Double(v as f64), Value::Int),
                IntResult::Float(f) => Value::Double(f),
            })
        }
        _ => {
            let x = match a {
                Num::Int(n) => i64::from(n),
                Num::Long(n) => n,
                _ => 0,
            };
            let y = match b {
                Num::Int(n) => i64::from(n),
                Num::Long(n) => n,
                _ => 0,
            };
            Ok(match int_op(op, x, y)? {
                IntResult::Exact(v) => Value::Long(v),
                IntResult::Float(f) => Value::Double(f),
            })
        }
    }
}

enum IntResult {
    Exact(i64),
    Float(f64),
}

fn int_op(op: ArithOp, x: i64, y: i64) -> Result<IntResult, PsError> {
    let overflow = |f: f64| Ok(IntResult::Float(f));
    match op {
        ArithOp::Add => x.checked_add(y).map_or_else(
            || overflow(x as f64 + y as f64),
            |v| Ok(IntResult::Exact(v)),
        ),
        ArithOp::Sub => x.checked_sub(y).map_or_else(
            || overflow(x as f64 - y as f64),
            |v| Ok(IntResult::Exact(v)),
        ),
        ArithOp::Mul => x.checked_mul(y).map_or_else(
            || overflow(x as f64 * y as f64),
            |v| Ok(IntResult::Exact(v)),
        ),
        ArithOp::Div => {
            if y == 0 {
                return Err(divide_by_zero());
            }
            if x.checked_rem(y) == Some(0) {
                x.checked_div(y).map_or_else(
                    || overflow(x as f64 / y as f64),
                    |v| Ok(IntResult::Exact(v)),
                )
            } else {
                overflow(x as f64 / y as f64)
            }
        }
        ArithOp::Rem => {
            if y == 0 {
                return Err(divide_by_zero());
            }
            Ok(IntResult::Exact(x.checked_rem(y).unwrap_or(0)))
        }
    }
}

fn range(it: &mut Interp<'_>, l: &Value, r: &Value) -> Result<Value, PsError> {
    let a = match convert::convert_to(l, &PsType::Int, it)? {
        Value::Int(n) => i64::from(n),
        _ => 0,
    };
    let b = match convert::convert_to(r, &PsType::Int, it)? {
        Value::Int(n) => i64::from(n),
        _ => 0,
    };
    let len = usize::try_from((a - b).abs() + 1).unwrap_or(usize::MAX);
    it.check_size(len, "A range").map_err(flow_error)?;
    let items: Vec<Value> = if a <= b {
        (a..=b).map(narrow).collect()
    } else {
        (b..=a).rev().map(narrow).collect()
    };
    Ok(Value::array(items))
}

// ---- comparison -----------------------------------------------------------

fn compare(
    it: &mut Interp<'_>,
    op: CompareOp,
    l: Value,
    r: Value,
    cs: bool,
) -> Result<Value, PsError> {
    match op {
        CompareOp::Contains | CompareOp::NotContains => {
            let items = if l.is_enumerable() {
                l.enumerate()
            } else {
                vec![l]
            };
            let mut found = false;
            for item in &items {
                if equals(it, item, &r, cs)? {
                    found = true;
                    break;
                }
            }
            Ok(Value::Bool(found == (op == CompareOp::Contains)))
        }
        CompareOp::In | CompareOp::NotIn => {
            let items = if r.is_enumerable() {
                r.enumerate()
            } else {
                vec![r]
            };
            let mut found = false;
            for item in &items {
                if equals(it, item, &l, cs)? {
                    found = true;
                    break;
                }
            }
            Ok(Value::Bool(found == (op == CompareOp::In)))
        }
        CompareOp::Replace => {
            let (pattern, replacement) = match &r {
                Value::Array(a) => {
                    let items = a.read(|d| d.items.clone());
                    match items.as_slice() {
                        [p] => (convert::to_text(p, it), String::new()),
                        [p, rep] => (convert::to_text(p, it), convert::to_text(rep, it)),
                        _ => {
                            return Err(PsError::new(
                                format!(
                                    "The -replace operator allows only two elements to follow it, not {}.",
                                    items.len()
                                ),
                                "BadReplaceArgument",
                            )
                            .with_category(ErrorCategory::InvalidOperation));
                        }
                    }
                }
                other => (convert::to_text(other, it), String::new()),
            };
            let re = it.regex(&pattern, cs)?;
            let rep = dotnet_replacement(&replacement);
            let replace = |it: &mut Interp<'_>, v: &Value| -> Result<Value, PsError> {
                let text = convert::to_text(v, it);
                let out = re.replace_all(&text, rep.as_str()).into_owned();
                it.check_size(out.len(), "A string").map_err(flow_error)?;
                Ok(Value::from(out))
            };
            if l.is_enumerable() {
                let mut out = Vec::new();
                for item in l.enumerate() {
                    out.push(replace(it, &item)?);
                }
                Ok(Value::array(out))
            } else {
                replace(it, &l)
            }
        }
        CompareOp::Split => {
            let (pattern, max) = match &r {
                Value::Array(a) => {
                    let items = a.read(|d| d.items.clone());
                    let pattern = items
                        .first()
                        .map(|p| convert::to_text(p, it))
                        .unwrap_or_default();
                    let max = match items.get(1) {
                        Some(m) => match convert::convert_to(m, &PsType::Int, it)? {
                            Value::Int(n) => n,
                            _ => 0,
                        },
                        None => 0,
                    };
                    (pattern, max)
                }
                other => (convert::to_text(other, it), 0),
            };
            let re = it.regex(&pattern, cs)?;
            let items = if l.is_enumerable() {
                l.enumerate()
            } else {
                vec![l]
            };
            let mut out = Vec::new();
            for item in &items {
                let text = convert::to_text(item, it);
                out.extend(regex_split(&re, &text, max).into_iter().map(Value::from));
                it.check_size(out.len(), "A split result")
                    .map_err(flow_error)?;
            }
            Ok(Value::array(out))
        }
        _ => {
            if l.is_enumerable() {
                let mut out = Vec::new();
                for item in l.enumerate() {
                    if compare_scalar_inner(it, op, &item, &r, cs, false)? {
                        out.push(item);
                    }
                }
                Ok(Value::array(out))
            } else {
                Ok(Value::Bool(compare_scalar_inner(it, op, &l, &r, cs, true)?))
            }
        }
    }
}

/// A comparison of one left value (the `switch` statement and
/// `Where-Object Name -eq x` use it), setting `$Matches` for `-match`.
pub(crate) fn compare_scalar(
    it: &mut Interp<'_>,
    op: CompareOp,
    l: &Value,
    r: &Value,
    cs: bool,
) -> Result<bool, PsError> {
    match op {
        CompareOp::Contains | CompareOp::NotContains | CompareOp::In | CompareOp::NotIn => {
            let v = compare(it, op, l.clone(), r.clone(), cs)?;
            Ok(convert::to_bool(&v))
        }
        _ => compare_scalar_inner(it, op, l, r, cs, true),
    }
}

fn compare_scalar_inner(
    it: &mut Interp<'_>,
    op: CompareOp,
    l: &Value,
    r: &Value,
    cs: bool,
    set_matches: bool,
) -> Result<bool, PsError> {
    Ok(match op {
        CompareOp::Eq => equals(it, l, r, cs)?,
        CompareOp::Ne => !equals(it, l, r, cs)?,
        CompareOp::Gt => compare_for_op(it, l, r, cs)? == Ordering::Greater,
        CompareOp::Ge => compare_for_op(it, l, r, cs)? != Ordering::Less,
        CompareOp::Lt => compare_for_op(it, l, r, cs)? == Ordering::Less,
        CompareOp::Le => compare_for_op(it, l, r, cs)? != Ordering::Greater,
        CompareOp::Like | CompareOp::NotLike => {
            let text = convert::to_text(l, it);
            let pattern = convert::to_text(r, it);
            like(&text, &pattern, cs) == (op == CompareOp::Like)
        }
        CompareOp::Match | CompareOp::NotMatch => {
            let text = convert::to_text(l, it);
            let pattern = convert::to_text(r, it);
            let re = it.regex(&pattern, cs)?;
            let hit = match re.captures(&text) {
                Some(caps) => {
                    if set_matches {
                        let mut table = HashtableData::new(false);
                        let names: Vec<Option<&str>> = re.capture_names().collect();
                        // Numbered groups first (descending, as .NET's
                        // hashtable happens to list them), then names.
                        for (i, name) in names.iter().enumerate().rev() {
                            if let Some(m) = caps.get(i) {
                                match name {
                                    Some(n) => {
                                        table.insert(Value::from(*n), Value::from(m.as_str()))
                                    }
                                    None => table.insert(
                                        Value::Int(i32::try_from(i).unwrap_or(0)),
                                        Value::from(m.as_str()),
                                    ),
                                }
                            }
                        }
                        it.st
                            .scopes
                            .set_local("Matches", Value::Hashtable(Shared::new(table)));
                    }
                    true
                }
                None => false,
            };
            hit == (op == CompareOp::Match)
        }
        CompareOp::Contains | CompareOp::NotContains | CompareOp::In | CompareOp::NotIn => {
            compare_scalar(it, op, l, r, cs)?
        }
        CompareOp::Replace | CompareOp::Split => false,
    })
}

fn compare_for_op(
    it: &mut Interp<'_>,
    l: &Value,
    r: &Value,
    cs: bool,
) -> Result<Ordering, PsError> {
    compare_values(it, l, r, cs).map_err(|e| {
        let lt = convert::to_text(l, it);
        let rt = convert::to_text(r, it);
        PsError::new(
            format!(
                "Could not compare \"{lt}\" to \"{rt}\". Error: \"{}\"",
                e.message
            ),
            "ComparisonFailure",
        )
        .with_category(ErrorCategory::InvalidOperation)
    })
}

fn num_cmp(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(_) | Num::Long(_), Num::Int(_) | Num::Long(_)) => {
            let x = match a {
                Num::Int(n) => i64::from(n),
                Num::Long(n) => n,
                _ => 0,
            };
            let y = match b {
                Num::Int(n) => i64::from(n),
                Num::Long(n) => n,
                _ => 0,
            };
            x.cmp(&y)
        }
        _ => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
    }
}

fn string_cmp(a: &str, b: &str, cs: bool) -> Ordering {
    let (la, lb) = (a.to_lowercase(), b.to_lowercase());
    match la.cmp(&lb) {
        Ordering::Equal if cs => {
            // Culture order puts lower case before upper case.
            b.cmp(a)
        }
        other => other,
    }
}

/// PowerShell equality with the left operand's conversion rules.
pub(crate) fn equals(it: &mut Interp<'_>, l: &Value, r: &Value, cs: bool) -> Result<bool, PsError> {
    Ok(match (l, r) {
        (Value::Null, r) => r.is_null(),
        (_, Value::Null) => false,
        (Value::String(a), r) => {
            let b = convert::to_text(r, it);
            if cs {
                **a == *b
            } else {
                a.to_lowercase() == b.to_lowercase()
            }
        }
        (Value::Char(a), Value::String(_) | Value::Char(_)) => {
            let b = convert::to_text(r, it);
            let a = a.to_string();
            if cs {
                a == b
            } else {
                a.to_lowercase() == b.to_lowercase()
            }
        }
        (Value::Bool(a), r) => *a == convert::to_bool(r),
        (
            Value::Int(_)
            | Value::Long(_)
            | Value::Byte(_)
            | Value::Double(_)
            | Value::Decimal(_)
            | Value::Char(_),
            r,
        ) => {
            let a = convert::to_num(l, it)?;
            match r {
                Value::String(s) => match convert::parse_number(s) {
                    Some(b) => num_cmp(a, b) == Ordering::Equal,
                    None => false,
                },
                Value::Int(_)
                | Value::Long(_)
                | Value::Byte(_)
                | Value::Double(_)
                | Value::Decimal(_)
                | Value::Bool(_)
                | Value::Char(_)
                | Value::Enum(_) => num_cmp(a, convert::to_num(r, it)?) == Ordering::Equal,
                _ => false,
            }
        }
        (Value::Enum(e), r) => match r {
            Value::Enum(o) => e.value == o.value,
            Value::String(s) => match convert::parse_number(s) {
                Some(n) => num_cmp(Num::Long(e.value), n) == Ordering::Equal,
                None => {
                    // Enum names may be combined flags ("A, B"); compare
                    // the whole text.
                    e.name.eq_ignore_ascii_case(s.trim())
                }
            },
            Value::Int(_)
            | Value::Long(_)
            | Value::Byte(_)
            | Value::Double(_)
            | Value::Decimal(_) => {
                num_cmp(Num::Long(e.value), convert::to_num(r, it)?) == Ordering::Equal
            }
            _ => false,
        },
        (Value::DateTime(a), r) => match r {
            Value::DateTime(b) => a.instant == b.instant,
            Value::String(s) => convert::parse_date(s).is_some_and(|b| b.instant == a.instant),
            _ => false,
        },
        (Value::Guid(a), r) => match r {
            Value::Guid(b) => a == b,
            Value::String(s) => uuid::Uuid::parse_str(s.trim()).is_ok_and(|b| &b == a),
            _ => false,
        },
        (Value::TimeSpan(a), Value::TimeSpan(b)) => a == b,
        (Value::Type(a), Value::Type(b)) => a.full_name == b.full_name,
        (Value::SecureString(a), Value::SecureString(b)) => a == b,
        (Value::Credential(a), Value::Credential(b)) => std::sync::Arc::ptr_eq(a, b),
        (l, r) => dotnet_equals(l, r),
    })
}

/// PowerShell ordering with the left operand's conversion rules (for
/// `-lt`/`-gt` and `Sort-Object`).
///
/// # Errors
///
/// When the right value does not convert to the left one's type, or the
/// left one is not comparable.
pub(crate) fn compare_values(
    it: &mut Interp<'_>,
    l: &Value,
    r: &Value,
    cs: bool,
) -> Result<Ordering, PsError> {
    Ok(match (l, r) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, Value::String(s)) if s.is_empty() => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (Value::String(a), r) => {
            let b = convert::to_text(r, it);
            string_cmp(a, &b, cs)
        }
        (Value::Char(a), Value::String(_) | Value::Char(_)) => {
            let b = convert::to_text(r, it);
            string_cmp(&a.to_string(), &b, cs)
        }
        (
            Value::Int(_)
            | Value::Long(_)
            | Value::Byte(_)
            | Value::Double(_)
            | Value::Decimal(_)
            | Value::Char(_)
            | Value::Bool(_),
            r,
        ) => {
            let a = convert::to_num(l, it)?;
            let b = match r {
                Value::Null => Num::Int(0),
                Value::String(s) => convert::parse_number(s).ok_or_else(|| {
                    PsError::conversion(
                        s,
                        num_type_name(a),
                        "Input string was not in a correct format.",
                    )
                })?,
                other => convert::to_num(other, it)?,
            };
            num_cmp(a, b)
        }
        (Value::Enum(e), r) => match r {
            Value::Enum(o) => e.value.cmp(&o.value),
            Value::String(s) => match convert::parse_number(s) {
                Some(n) => num_cmp(Num::Long(e.value), n),
                None => string_cmp(&e.name, s, cs),
            },
            other => num_cmp(Num::Long(e.value), convert::to_num(other, it)?),
        },
        (Value::DateTime(a), r) => {
            let b = match r {
                Value::DateTime(b) => *b,
                Value::String(s) => convert::parse_date(s).ok_or_else(|| {
                    PsError::conversion(
                        s,
                        "System.DateTime",
                        "String was not recognized as a valid DateTime.",
                    )
                })?,
                Value::Null => return Ok(Ordering::Greater),
                other => {
                    return Err(PsError::conversion(
                        &convert::to_text(other, it),
                        "System.DateTime",
                        "",
                    ));
                }
            };
            a.instant.cmp(&b.instant)
        }
        (Value::TimeSpan(a), Value::TimeSpan(b)) => a.cmp(b),
        (Value::Guid(a), r) => a.to_string().cmp(&convert::to_text(r, it).to_lowercase()),
        (l, _) => {
            let text = convert::to_text(l, it);
            return Err(PsError::new(
                format!("Cannot compare \"{text}\" because it is not IComparable."),
                "NotIcomparable",
            )
            .with_category(ErrorCategory::InvalidOperation));
        }
    })
}

/// A stable merge sort. PowerShell's comparisons convert the right
/// operand to the left one's type, so they are not always a consistent
/// total order; `slice::sort_by` may panic on such comparators, this
/// never does.
pub(crate) fn merge_sort<T>(mut items: Vec<T>, cmp: &mut dyn FnMut(&T, &T) -> Ordering) -> Vec<T> {
    if items.len() <= 1 {
        return items;
    }
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, cmp);
    let right = merge_sort(right, cmp);
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_right = match (left.peek(), right.peek()) {
            (Some(a), Some(b)) => cmp(b, a) == Ordering::Less,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_right {
            right.next()
        } else {
            left.next()
        };
        if let Some(item) = next {
            out.push(item);
        }
    }
    out
}

/// PowerShell wildcard matching: `*`, `?`, `[abc]`, `[a-z]`, and the
/// backtick escape.
pub(crate) fn like(text: &str, pattern: &str, case_sensitive: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if case_sensitive {
        (text.chars().collect(), pattern.chars().collect())
    } else {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    };
    // Iterative matcher with backtracking on the last `*`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    ti += 1;
                    pi += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = bracket(&p, pi, t[ti]) {
                        if matched {
                            ti += 1;
                            pi = next;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        ti += 1;
                        pi += 1;
                        continue;
                    }
                }
                '`' if pi + 1 < p.len() => {
                    if p[pi + 1] == t[ti] {
                        ti += 1;
                        pi += 2;
                        continue;
                    }
                }
                c => {
                    if c == t[ti] {
                        ti += 1;
                        pi += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Matches `c` against the bracket expression at `p[start]`; returns
/// whether it matched and the index after `]`, or `None` if unterminated.
fn bracket(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let mut matched = false;
    while i < p.len() && p[i] != ']' {
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    (i < p.len()).then_some((matched, i + 1))
}

/// Translates a .NET replacement string (`$1`, `${name}`, `$$`, `$&`,
/// `$0`) to the `regex` crate's syntax.
fn dotnet_replacement(rep: &str) -> String {
    let chars: Vec<char> = rep.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && i + 1 < chars.len() {
            let next = chars[i + 1];
            if next == '$' {
                out.push_str("$$");
                i += 2;
                continue;
            }
            if next == '&' {
                out.push_str("${0}");
                i += 2;
                continue;
            }
            if next.is_ascii_digit() {
                let mut j = i + 1;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let n: String = chars[i + 1..j].iter().collect();
                out.push_str(&format!("${{{n}}}"));
                i = j;
                continue;
            }
            if next == '{'
                && let Some(end) = chars[i..].iter().position(|&c| c == '}')
            {
                let name: String = chars[i + 2..i + end].iter().collect();
                out.push_str(&format!("${{{name}}}"));
                i += end + 1;
                continue;
            }
            out.push_str("$$");
            i += 1;
            continue;
        }
        if chars[i] == '$' {
            out.push_str("$$");
        } else {
            out.push(chars[i]);
        }
        i += 1;
    }
    out
}

/// .NET `Regex.Split`: captured groups are included; `max` > 0 limits the
/// number of pieces.
fn regex_split(re: &regex::Regex, text: &str, max: i32) -> Vec<String> {
    let mut out = Vec::new();
    let mut last = 0;
    for caps in re.captures_iter(text) {
        if max > 0 && out.len() + 1 >= usize::try_from(max).unwrap_or(usize::MAX) {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        if m.start() == m.end() && (m.start() == 0 || m.start() == text.len()) {
            continue;
        }
        out.push(text[last..m.start()].to_owned());
        for g in caps.iter().skip(1).flatten() {
            out.push(g.as_str().to_owned());
        }
        last = m.end();
    }
    out.push(text[last..].to_owned());
    out
}

impl Interp<'_> {
    /// A compiled regular expression (cached), case-insensitive unless
    /// `case_sensitive`.
    pub(crate) fn regex(
        &mut self,
        pattern: &str,
        case_sensitive: bool,
    ) -> Result<regex::Regex, PsError> {
        let key = (pattern.to_owned(), case_sensitive);
        if let Some(re) = self.st.regex_cache.get(&key) {
            return Ok(re.clone());
        }
        let re = regex::RegexBuilder::new(pattern)
            .case_insensitive(!case_sensitive)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                PsError::new(
                    format!(
                        "The regular expression pattern {pattern} is not valid (or uses .NET regex features scvmm-sim does not support, such as look-around or back-references): {e}"
                    ),
                    "InvalidRegularExpression",
                )
                .with_category(ErrorCategory::InvalidArgument)
                .with_exception(exception::ARGUMENT)
            })?;
        if self.st.regex_cache.len() > 256 {
            self.st.regex_cache.clear();
        }
        self.st.regex_cache.insert(key, re.clone());
        Ok(re)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(like("Hello", "h*", false));
        assert!(!like("Hello", "h*", true));
        assert!(like("abc", "a?c", false));
        assert!(like("abc", "[a-c]b[xyzc]", false));
        assert!(like("a*c", "a`*c", false));
        assert!(!like("abc", "a`*c", false));
        assert!(like("", "*", false));
        assert!(like("vm-01.iso", "*.iso", false));
        assert!(!like("vm-01.iso", "*.vhdx", false));
    }

    #[test]
    fn replacement_translation() {
        assert_eq!(dotnet_replacement("$1x"), "${1}x");
        assert_eq!(dotnet_replacement("${name}-$$"), "${name}-$$");
        assert_eq!(dotnet_replacement("a$&b"), "a${0}b");
        assert_eq!(dotnet_replacement("cost $ 5"), "cost $$ 5");
    }
}
