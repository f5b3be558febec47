//! PowerShell's conversions between values: to string (invariant culture,
//! as `"$x"`, `-join` and `[string]` do), to boolean (`if`), to numbers
//! (arithmetic and comparisons), and casts to a [`PsType`].
//!
//! Live host objects ([`HostRef`]) need the host to say what they look like;
//! conversions take a [`Resolver`] for that. The evaluator passes its host;
//! code without one passes [`NoHost`].

use std::sync::Arc;

use uuid::Uuid;

use super::errors::{PsError, exception};
use super::format;
use super::types::PsType;
use super::value::{
    ArrayData, ArrayKind, Credential, DateKind, DateTime, HashtableData, HostObject, HostRef,
    ObjectData, Shared, TimeSpan, Value,
};

/// Looks up live host objects.
pub(crate) trait Resolver {
    /// The current state of `r`, or `None` if the host no longer knows it.
    fn resolve(&mut self, r: &HostRef) -> Option<HostObject>;
}

/// A resolver for contexts without a host: host objects show their type
/// name and have no properties.
#[cfg(test)]
pub(crate) struct NoHost;

#[cfg(test)]
impl Resolver for NoHost {
    fn resolve(&mut self, _r: &HostRef) -> Option<HostObject> {
        None
    }
}

/// How deep string conversion looks into nested property bags before
/// giving the type name. It keeps self-containing objects finite, and
/// small because each level multiplies by the number of properties.
const MAX_TEXT_DEPTH: usize = 3;

/// PowerShell's string conversion (`"$x"`, `[string]$x`, `-join`).
pub(crate) fn to_text(v: &Value, hosts: &mut dyn Resolver) -> String {
    to_text_depth(v, hosts, 0)
}

fn to_text_depth(v: &Value, hosts: &mut dyn Resolver, depth: usize) -> String {
    match v {
        Value::Array(a) => {
            if depth > 0 {
                return v.type_name();
            }
            let items = a.read(|d| d.items.clone());
            items
                .iter()
                .map(|x| to_text_depth(x, hosts, depth + 1))
                .collect::<Vec<_>>()
                .join(" ")
        }
        Value::Bytes(b) => {
            if depth > 0 {
                return v.type_name();
            }
            b.read(|d| d.iter().map(u8::to_string).collect::<Vec<_>>().join(" "))
        }
        Value::Object(o) => {
            let (display, props) = o.read(|d| (d.display.clone(), d.properties.clone()));
            match display {
                Some(text) => text,
                None if depth >= MAX_TEXT_DEPTH => v.type_name(),
                None => {
                    let parts: Vec<String> = props
                        .iter()
                        .map(|(k, val)| {
                            let text = match val {
                                Value::Array(_) | Value::Bytes(_) => val.type_name(),
                                other => to_text_depth(other, hosts, depth + 1),
                            };
                            format!("{k}={text}")
                        })
                        .collect();
                    format!("@{{{}}}", parts.join("; "))
                }
            }
        }
        Value::HostRef(r) => hosts
            .resolve(r)
            .map_or_else(|| r.type_name().to_owned(), |o| o.display),
        other => scalar_text(other),
    }
}

/// String conversion of values that need no host and hold no collections.
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Int(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Byte(n) => n.to_string(),
        Value::Double(d) => format::double_to_string(*d),
        Value::Decimal(d) => format::decimal_to_string(*d),
        Value::Char(c) => c.to_string(),
        Value::String(s) => s.to_string(),
        Value::DateTime(dt) => format::date_to_invariant_string(dt),
        Value::TimeSpan(t) => format::timespan_to_string(t.0),
        Value::Guid(g) => g.to_string(),
        Value::Enum(e) => e.name.to_string(),
        Value::ScriptBlock(sb) => sb.text(),
        Value::ErrorRecord(e) | Value::Exception(e) => e.message.clone(),
        Value::Type(t) => t.full_name.clone(),
        Value::HostRef(r) => r.type_name().to_owned(),
        other => other.type_name(),
    }
}

/// `.ToString()` without arguments: like string conversion, except where
/// .NET differs (en-US dates, type names for collections, an empty string
/// for a `PSCustomObject` in Windows PowerShell 5.1).
pub(crate) fn to_string_method(v: &Value, hosts: &mut dyn Resolver) -> String {
    match v {
        Value::DateTime(dt) => format::format_date(dt, ""),
        Value::Array(_) | Value::Bytes(_) | Value::Hashtable(_) => v.type_name(),
        Value::Object(o) => o.read(|d| d.display.clone()).unwrap_or_default(),
        Value::Exception(e) => format!("{}: {}", e.exception_type, e.message),
        other => to_text(other, hosts),
    }
}

/// PowerShell's truth value.
pub(crate) fn to_bool(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(n) => *n != 0,
        Value::Long(n) => *n != 0,
        Value::Byte(n) => *n != 0,
        Value::Double(d) | Value::Decimal(d) => *d != 0.0,
        Value::Char(c) => *c != '\0',
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => {
            let first = a.read(|d| match d.items.len() {
                0 => Some(None),
                1 => Some(d.items.first().cloned()),
                _ => None,
            });
            match first {
                Some(None) => false,
                Some(Some(only)) => {
                    // One level only: an array holding itself stays finite.
                    !matches!(only, Value::Array(_)) && to_bool(&only)
                        || matches!(&only, Value::Array(inner) if inner.read(|d| !d.items.is_empty()))
                }
                None => true,
            }
        }
        Value::Bytes(b) => b.read(|d| match d.as_slice() {
            [] => false,
            [only] => *only != 0,
            _ => true,
        }),
        Value::SecureString(_) | Value::Credential(_) => true,
        _ => true,
    }
}

/// A number for arithmetic, typed as PowerShell types it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i32),
    Long(i64),
    Double(f64),
    Decimal(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(n) => f64::from(n),
            Num::Long(n) => n as f64,
            Num::Double(d) | Num::Decimal(d) => d,
        }
    }

    pub(crate) fn into_value(self) -> Value {
        match self {
            Num::Int(n) => Value::Int(n),
            Num::Long(n) => Value::Long(n),
            Num::Double(d) => Value::Double(d),
            Num::Decimal(d) => Value::Decimal(d),
        }
    }
}

/// Parses numeric text the way PowerShell converts strings to numbers:
/// surrounding blanks allowed, `0x` hex, exponents, `kb`/`mb`/`gb`/`tb`/`pb`
/// multipliers, empty text is 0.
pub(crate) fn parse_number(text: &str) -> Option<Num> {
    let t = text.trim();
    if t.is_empty() {
        return Some(Num::Int(0));
    }
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let (lower, multiplier) = [
        ("kb", 1i64 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("tb", 1 << 40),
        ("pb", 1 << 50),
    ]
    .iter()
    .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|r| (r.to_owned(), *m)))
    .unwrap_or((lower, 1));
    if let Some(hex) = lower.strip_prefix("0x") {
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let n = u64::from_str_radix(hex, 16).ok()?;
        // Hex literals of up to 8 digits are Int32 bit patterns.
        let value = if hex.len() <= 8 {
            i64::from(u32::try_from(n).ok()?.cast_signed())
        } else {
            n.cast_signed()
        };
        let value = if negative { -value } else { value };
        return Some(narrow(value.checked_mul(multiplier)?));
    }
    if lower.is_empty()
        || !lower
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
        || !lower
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    if lower.chars().all(|c| c.is_ascii_digit())
        && let Ok(n) = lower.parse::<i64>()
    {
        let n = if negative { -n } else { n };
        if let Some(m) = n.checked_mul(multiplier) {
            return Some(narrow(m));
        }
    }
    let d: f64 = lower.parse().ok()?;
    let d = if negative { -d } else { d };
    Some(Num::Double(d * multiplier as f64))
}

fn narrow(n: i64) -> Num {
    i32::try_from(n).map_or(Num::Long(n), Num::Int)
}

/// The arithmetic operand value of `v`.
///
/// # Errors
///
/// PowerShell's conversion error when `v` is not numeric.
pub(crate) fn to_num(v: &Value, hosts: &mut dyn Resolver) -> Result<Num, PsError> {
    Ok(match v {
        Value::Null => Num::Int(0),
        Value::Bool(b) => Num::Int(i32::from(*b)),
        Value::Int(n) => Num::Int(*n),
        Value::Long(n) => Num::Long(*n),
        Value::Byte(n) => Num::Int(i32::from(*n)),
        Value::Double(d) => Num::Double(*d),
        Value::Decimal(d) => Num::Decimal(*d),
        Value::Char(c) => Num::Int(i32::try_from(u32::from(*c)).unwrap_or(0)),
        Value::Enum(e) => narrow(e.value),
        Value::String(s) => parse_number(s).ok_or_else(|| {
            PsError::conversion(
                s,
                "System.Int32",
                "Input string was not in a correct format.",
            )
        })?,
        Value::Array(a) if a.read(|d| d.items.len() == 1) => {
            let only = a.read(|d| d.items.first().cloned()).unwrap_or(Value::Null);
            if matches!(only, Value::Array(_)) {
                return Err(not_numeric(v, hosts));
            }
            to_num(&only, hosts)?
        }
        other => return Err(not_numeric(other, hosts)),
    })
}

fn not_numeric(v: &Value, hosts: &mut dyn Resolver) -> PsError {
    PsError::new(
        format!(
            "Cannot convert the \"{}\" value of type \"{}\" to type \"System.Int32\".",
            to_text(v, hosts),
            v.type_name()
        ),
        "ConvertToFinalInvalidCastException",
    )
    .with_exception(exception::INVALID_CAST)
    .with_category(super::errors::ErrorCategory::InvalidArgument)
}

/// Round half to even, as .NET's `Convert.ToInt32(double)` does.
pub(crate) fn round_half_even(d: f64) -> f64 {
    d.round_ties_even()
}

fn to_i64_checked(v: &Value, type_name: &str, hosts: &mut dyn Resolver) -> Result<i64, PsError> {
    let text = to_text(v, hosts);
    let overflow = || {
        PsError::conversion(
            &text,
            type_name,
            &format!(
                "Value was either too large or too small for an {}.",
                type_name.trim_start_matches("System.")
            ),
        )
    };
    let num = match v {
        Value::String(s) => parse_number(s).ok_or_else(|| {
            PsError::conversion(s, type_name, "Input string was not in a correct format.")
        })?,
        Value::Object(_) | Value::Hashtable(_) | Value::HostRef(_) | Value::ScriptBlock(_) => {
            return Err(PsError::conversion(&text, type_name, ""));
        }
        other => to_num(other, hosts)?,
    };
    match num {
        Num::Int(n) => Ok(i64::from(n)),
        Num::Long(n) => Ok(n),
        Num::Double(d) | Num::Decimal(d) => {
            let r = round_half_even(d);
            if r.is_finite() && r >= i64::MIN as f64 && r <= i64::MAX as f64 {
                // In range: the cast is exact for integral doubles.
                Ok(r as i64)
            } else {
                Err(overflow())
            }
        }
    }
}

/// Parses a date the way `[datetime]'text'` does (invariant culture):
/// ISO 8601 with or without zone, `MM/dd/yyyy [HH:mm[:ss]]`, `yyyy-MM-dd`.
pub(crate) fn parse_date(text: &str) -> Option<DateTime> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        let kind = if t.ends_with('Z') || t.ends_with('z') {
            DateKind::Utc
        } else {
            DateKind::Local
        };
        return Some(DateTime { instant: ts, kind });
    }
    if let Ok(civil) = t.parse::<jiff::civil::DateTime>() {
        return civil_to_date(civil);
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        return civil_to_date(date.to_datetime(jiff::civil::Time::midnight()));
    }
    // MM/dd/yyyy [h:mm[:ss] [AM|PM]]
    let mut parts = t.split_whitespace();
    let date = parts.next()?;
    let mut fields = date.split('/');
    let month: i8 = fields.next()?.parse().ok()?;
    let day: i8 = fields.next()?.parse().ok()?;
    let year: i16 = fields.next()?.parse().ok()?;
    let (mut hour, mut minute, mut second) = (0i8, 0i8, 0i8);
    if let Some(time) = parts.next() {
        let mut tf = time.split(':');
        hour = tf.next()?.parse().ok()?;
        minute = tf.next().unwrap_or("0").parse().ok()?;
        second = tf.next().unwrap_or("0").parse().ok()?;
        match parts.next().map(str::to_ascii_uppercase).as_deref() {
            Some("PM") if hour < 12 => hour += 12,
            Some("AM") if hour == 12 => hour = 0,
            _ => {}
        }
    }
    let civil = jiff::civil::DateTime::new(year, month, day, hour, minute, second, 0).ok()?;
    civil_to_date(civil)
}

fn civil_to_date(civil: jiff::civil::DateTime) -> Option<DateTime> {
    let ts = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(DateTime {
        instant: ts,
        kind: DateKind::Unspecified,
    })
}

/// `[type]value`.
///
/// # Errors
///
/// PowerShell's conversion errors (`Cannot convert value "x" to type
/// "System.Int32". Error: "..."`).
pub(crate) fn convert_to(
    v: &Value,
    ty: &PsType,
    hosts: &mut dyn Resolver,
) -> Result<Value, PsError> {
    let fail = |hosts: &mut dyn Resolver, detail: &str| {
        PsError::conversion(&to_text(v, hosts), &ty.full_name(), detail)
    };
    // A one-element array converts like its element for scalar targets.
    let scalar_target = !matches!(
        ty,
        PsType::Object
            | PsType::PsObject
            | PsType::Array(_)
            | PsType::ByteArray
            | PsType::ArrayList
            | PsType::List(_)
            | PsType::String
            | PsType::Bool
            | PsType::Void
            | PsType::Named(_)
    );
    if scalar_target
        && let Value::Array(a) = v
        && let Some(only) = a.read(|d| (d.items.len() == 1).then(|| d.items[0].clone()))
        && !matches!(only, Value::Array(_))
    {
        return convert_to(&only, ty, hosts);
    }
    Ok(match ty {
        PsType::Object | PsType::PsObject | PsType::Void | PsType::Regex => v.clone(),
        PsType::Bool | PsType::Switch => Value::Bool(to_bool(v)),
        PsType::String => match v {
            Value::Null => Value::str(""),
            other => Value::from(to_text(other, hosts)),
        },
        PsType::Int => {
            let n = to_i64_checked(v, "System.Int32", hosts)?;
            Value::Int(i32::try_from(n).map_err(|_| {
                fail(hosts, "Value was either too large or too small for an Int32.")
            })?)
        }
        PsType::Long => Value::Long(to_i64_checked(v, "System.Int64", hosts)?),
        PsType::Byte => {
            let n = to_i64_checked(v, "System.Byte", hosts)?;
            Value::Byte(u8::try_from(n).map_err(|_| {
                fail(hosts, "Value was either too large or too small for an unsigned byte.")
            })?)
        }
        PsType::Double | PsType::Decimal => {
            let d = match v {
                Value::String(s) => parse_number(s)
                    .ok_or_else(|| fail(hosts, "Input string was not in a correct format."))?
                    .as_f64(),
                Value::Object(_) | Value::Hashtable(_) | Value::HostRef(_) => {
                    return Err(fail(hosts, ""));
                }
                other => to_num(other, hosts)?.as_f64(),
            };
            if *ty == PsType::Double {
                Value::Double(d)
            } else {
                Value::Decimal(d)
            }
        }
        PsType::Char => match v {
            Value::Char(c) => Value::Char(*c),
            Value::String(s) if s.chars().count() == 1 => {
                Value::Char(s.chars().next().unwrap_or('\0'))
            }
            Value::Int(_) | Value::Long(_) | Value::Byte(_) => {
                let n = to_i64_checked(v, "System.Char", hosts)?;
                Value::Char(
                    u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| fail(hosts, ""))?,
                )
            }
            _ => {
                return Err(fail(
                    hosts,
                    "String must be exactly one character long.",
                ));
            }
        },
        PsType::DateTime => match v {
            Value::DateTime(d) => Value::DateTime(*d),
            Value::String(s) => Value::DateTime(parse_date(s).ok_or_else(|| {
                fail(
                    hosts,
                    "String was not recognized as a valid DateTime.",
                )
            })?),
            _ => return Err(fail(hosts, "")),
        },
        PsType::TimeSpan => match v {
            Value::TimeSpan(t) => Value::TimeSpan(*t),
            Value::Int(_) | Value::Long(_) => {
                Value::TimeSpan(TimeSpan(to_i64_checked(v, "System.TimeSpan", hosts)?))
            }
            _ => return Err(fail(hosts, "")),
        },
        PsType::Guid => match v {
            Value::Guid(g) => Value::Guid(*g),
            Value::String(s) => Value::Guid(Uuid::parse_str(s.trim()).map_err(|_| {
                fail(
                    hosts,
                    "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).",
                )
            })?),
            _ => return Err(fail(hosts, "")),
        },
        PsType::Array(element) => match v {
            Value::Null => Value::Null,
            other => {
                let items = other.enumerate();
                let mut out = Vec::with_capacity(items.len());
                for item in &items {
                    out.push(convert_to(item, element, hosts)?);
                }
                Value::array(out)
            }
        },
        PsType::ByteArray => match v {
            Value::Null => Value::Null,
            Value::Bytes(b) => Value::Bytes(b.clone()),
            other => {
                let mut out = Vec::new();
                for item in other.enumerate() {
                    match convert_to(&item, &PsType::Byte, hosts)? {
                        Value::Byte(b) => out.push(b),
                        _ => return Err(fail(hosts, "")),
                    }
                }
                Value::bytes(out)
            }
        },
        PsType::ArrayList | PsType::List(_) => {
            let items = match v {
                Value::Null => Vec::new(),
                other => other.enumerate(),
            };
            let (items, kind) = match ty {
                PsType::List(element) => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in &items {
                        out.push(convert_to(item, element, hosts)?);
                    }
                    (out, ArrayKind::List(element.full_name()))
                }
                _ => (items, ArrayKind::ArrayList),
            };
            Value::Array(Shared::new(ArrayData { items, kind }))
        }
        PsType::Hashtable => match v {
            Value::Hashtable(h) => {
                if h.read(|d| d.ordered) {
                    let entries = h.read(|d| d.entries().to_vec());
                    let mut data = HashtableData::new(false);
                    for (k, val) in entries {
                        data.insert(k, val);
                    }
                    Value::Hashtable(Shared::new(data))
                } else {
                    Value::Hashtable(h.clone())
                }
            }
            _ => return Err(fail(hosts, "")),
        },
        PsType::Ordered => match v {
            Value::Hashtable(h) if h.read(|d| d.ordered) => Value::Hashtable(h.clone()),
            _ => {
                return Err(PsError::new(
                    "The ordered attribute can be specified only on a hash literal node.",
                    "OrderedAttributeOnlyOnHashLiteralNode",
                ));
            }
        },
        PsType::PsCustomObject => match v {
            Value::Hashtable(h) => {
                let entries = h.read(|d| d.entries().to_vec());
                let props = entries
                    .into_iter()
                    .map(|(k, val)| (to_text(&k, hosts), val))
                    .collect();
                Value::Object(Shared::new(ObjectData::custom(props)))
            }
            other => other.clone(),
        },
        PsType::ScriptBlock => match v {
            Value::ScriptBlock(_) => v.clone(),
            _ => return Err(fail(hosts, "")),
        },
        PsType::SecureString => match v {
            Value::SecureString(_) => v.clone(),
            _ => return Err(fail(hosts, "")),
        },
        PsType::Credential => match v {
            Value::Credential(_) => v.clone(),
            _ => return Err(fail(hosts, "")),
        },
        PsType::Named(_) | PsType::Math | PsType::Convert | PsType::Encoding | PsType::File
        | PsType::Path | PsType::Environment => {
            if v.is_null() || ty.matches(v) {
                v.clone()
            } else {
                return Err(fail(hosts, ""));
            }
        }
    })
}

/// A `PSCredential` from a user name and a secure string.
pub(crate) fn credential(user: &str, password: &str) -> Value {
    Value::Credential(Arc::new(Credential {
        user_name: user.to_owned(),
        password: password.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_like_powershell() {
        assert_eq!(parse_number(" 42 "), Some(Num::Int(42)));
        assert_eq!(parse_number("0x10"), Some(Num::Int(16)));
        assert_eq!(parse_number("1kb"), Some(Num::Int(1024)));
        assert_eq!(parse_number("1.5"), Some(Num::Double(1.5)));
        assert_eq!(parse_number("3000000000"), Some(Num::Long(3_000_000_000)));
        assert_eq!(parse_number("-7"), Some(Num::Int(-7)));
        assert_eq!(parse_number(""), Some(Num::Int(0)));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("1e3"), Some(Num::Double(1000.0)));
    }

    #[test]
    fn casts() {
        let mut h = NoHost;
        let int = |v: Value, h: &mut NoHost| match convert_to(&v, &PsType::Int, h) {
            Ok(Value::Int(n)) => Some(n),
            _ => None,
        };
        assert_eq!(int(Value::Double(2.5), &mut h), Some(2));
        assert_eq!(int(Value::Double(3.5), &mut h), Some(4));
        assert_eq!(int(Value::str("12"), &mut h), Some(12));
        assert_eq!(int(Value::str("x"), &mut h), None);
        assert!(matches!(
            convert_to(&Value::str("false"), &PsType::Bool, &mut h),
            Ok(Value::Bool(true))
        ));
        let err = convert_to(&Value::str("abc"), &PsType::Int, &mut h).err();
        assert_eq!(
            err.map(|e| e.message).unwrap_or_default(),
            "Cannot convert value \"abc\" to type \"System.Int32\". Error: \"Input string was not in a correct format.\""
        );
    }

    #[test]
    fn dates_parse() {
        let d = parse_date("2025-01-02T03:04:05Z");
        assert_eq!(d.map(|d| d.kind), Some(DateKind::Utc));
        assert!(parse_date("01/31/2025 14:05:09").is_some());
        assert!(parse_date("2025-01-31").is_some());
        assert!(parse_date("nope").is_none());
    }
}
