//! Type names as the evaluator understands them: `[int]`, `[string[]]`,
//! `[System.Collections.Generic.List[string]]`, the static classes scripts
//! call (`[math]`, `[Convert]`, `[System.Text.Encoding]`), and `-is`.
//!
//! PowerShell resolves type names case-insensitively, with or without the
//! `System.` prefix, and through accelerators (`int`, `hashtable`,
//! `pscustomobject`); the table here follows that.

use super::value::{ArrayKind, Value};
use crate::ps::ast::TypeName;

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PsType {
    Object,
    PsObject,
    PsCustomObject,
    Bool,
    Char,
    Byte,
    Int,
    Long,
    Double,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    /// `T[]`.
    Array(Box<PsType>),
    /// `byte[]`.
    ByteArray,
    Hashtable,
    Ordered,
    ScriptBlock,
    Switch,
    SecureString,
    Credential,
    ArrayList,
    /// `List[T]`, with the element type's full name.
    List(Box<PsType>),
    Void,
    Regex,
    /// Static-only classes.
    Math,
    Convert,
    Encoding,
    File,
    Path,
    Environment,
    /// `System.Exception` and friends, `System.Version`, VMM types, ...:
    /// matched by name against objects' type names.
    Named(String),
}

/// Accelerators and well-known names, lower case without `System.`.
fn lookup(name: &str) -> Option<PsType> {
    let lower = name.to_ascii_lowercase();
    let short = lower.strip_prefix("system.").unwrap_or(&lower);
    Some(match short {
        "object" => PsType::Object,
        "psobject" | "management.automation.psobject" => PsType::PsObject,
        "pscustomobject" | "management.automation.pscustomobject" => PsType::PsCustomObject,
        "bool" | "boolean" => PsType::Bool,
        "char" => PsType::Char,
        "byte" => PsType::Byte,
        "int" | "int32" => PsType::Int,
        // The emulator has one 64-bit integer type; the other integer
        // widths convert through it.
        "long" | "int64" | "uint32" | "uint64" | "int16" | "uint16" | "sbyte" | "short"
        | "ushort" | "uint" | "ulong" => PsType::Long,
        "double" | "single" | "float" => PsType::Double,
        "decimal" => PsType::Decimal,
        "string" => PsType::String,
        "datetime" => PsType::DateTime,
        "timespan" => PsType::TimeSpan,
        "guid" => PsType::Guid,
        "array" => PsType::Array(Box::new(PsType::Object)),
        "hashtable" | "collections.hashtable" => PsType::Hashtable,
        "ordered" | "collections.specialized.ordereddictionary" => PsType::Ordered,
        "scriptblock" | "management.automation.scriptblock" => PsType::ScriptBlock,
        "switch" | "switchparameter" | "management.automation.switchparameter" => PsType::Switch,
        "securestring" | "security.securestring" => PsType::SecureString,
        "pscredential" | "management.automation.pscredential" => PsType::Credential,
        "collections.arraylist" => PsType::ArrayList,
        "void" => PsType::Void,
        "regex" | "text.regularexpressions.regex" => PsType::Regex,
        "math" => PsType::Math,
        "convert" => PsType::Convert,
        "text.encoding" => PsType::Encoding,
        "io.file" => PsType::File,
        "io.path" => PsType::Path,
        "environment" => PsType::Environment,
        _ => return None,
    })
}

impl PsType {
    /// Resolves a type name as written. Unknown names become
    /// [`PsType::Named`] with the text as written.
    pub(crate) fn resolve(name: &TypeName) -> PsType {
        match name {
            TypeName::Named(n) => lookup(n).unwrap_or_else(|| PsType::Named(n.clone())),
            TypeName::Array { element, .. } => {
                let element = PsType::resolve(element);
                if element == PsType::Byte {
                    PsType::ByteArray
                } else {
                    PsType::Array(Box::new(element))
                }
            }
            TypeName::Generic { name, arguments } => {
                let lower = name.to_ascii_lowercase();
                let short = lower.strip_prefix("system.").unwrap_or(&lower);
                match (short, arguments.as_slice()) {
                    ("collections.generic.list", [element]) => {
                        PsType::List(Box::new(PsType::resolve(element)))
                    }
                    _ => PsType::Named(type_name_text(&TypeName::Generic {
                        name: name.clone(),
                        arguments: arguments.clone(),
                    })),
                }
            }
        }
    }

    /// The full .NET name (`System.Int32`), for messages and `.FullName`.
    pub(crate) fn full_name(&self) -> String {
        match self {
            PsType::Object => "System.Object".into(),
            PsType::PsObject => "System.Management.Automation.PSObject".into(),
            PsType::PsCustomObject => "System.Management.Automation.PSCustomObject".into(),
            PsType::Bool => "System.Boolean".into(),
            PsType::Char => "System.Char".into(),
            PsType::Byte => "System.Byte".into(),
            PsType::Int => "System.Int32".into(),
            PsType::Long => "System.Int64".into(),
            PsType::Double => "System.Double".into(),
            PsType::Decimal => "System.Decimal".into(),
            PsType::String => "System.String".into(),
            PsType::DateTime => "System.DateTime".into(),
            PsType::TimeSpan => "System.TimeSpan".into(),
            PsType::Guid => "System.Guid".into(),
            PsType::Array(e) => format!("{}[]", e.full_name()),
            PsType::ByteArray => "System.Byte[]".into(),
            PsType::Hashtable => "System.Collections.Hashtable".into(),
            PsType::Ordered => "System.Collections.Specialized.OrderedDictionary".into(),
            PsType::ScriptBlock => "System.Management.Automation.ScriptBlock".into(),
            PsType::Switch => "System.Management.Automation.SwitchParameter".into(),
            PsType::SecureString => "System.Security.SecureString".into(),
            PsType::Credential => "System.Management.Automation.PSCredential".into(),
            PsType::ArrayList => "System.Collections.ArrayList".into(),
            PsType::List(e) => format!("System.Collections.Generic.List`1[[{}]]", e.full_name()),
            PsType::Void => "System.Void".into(),
            PsType::Regex => "System.Text.RegularExpressions.Regex".into(),
            PsType::Math => "System.Math".into(),
            PsType::Convert => "System.Convert".into(),
            PsType::Encoding => "System.Text.Encoding".into(),
            PsType::File => "System.IO.File".into(),
            PsType::Path => "System.IO.Path".into(),
            PsType::Environment => "System.Environment".into(),
            PsType::Named(n) => n.clone(),
        }
    }

    /// The type of a value, for `.GetType()`.
    pub(crate) fn of(value: &Value) -> PsType {
        match value {
            Value::Null => PsType::Object,
            Value::Bool(_) => PsType::Bool,
            Value::Int(_) => PsType::Int,
            Value::Long(_) => PsType::Long,
            Value::Byte(_) => PsType::Byte,
            Value::Double(_) => PsType::Double,
            Value::Decimal(_) => PsType::Decimal,
            Value::Char(_) => PsType::Char,
            Value::String(_) => PsType::String,
            Value::DateTime(_) => PsType::DateTime,
            Value::TimeSpan(_) => PsType::TimeSpan,
            Value::Guid(_) => PsType::Guid,
            Value::Bytes(_) => PsType::ByteArray,
            Value::Hashtable(h) => {
                if h.read(|d| d.ordered) {
                    PsType::Ordered
                } else {
                    PsType::Hashtable
                }
            }
            Value::ScriptBlock(_) => PsType::ScriptBlock,
            Value::SecureString(_) => PsType::SecureString,
            Value::Credential(_) => PsType::Credential,
            Value::Array(a) => match a.read(|d| d.kind.clone()) {
                ArrayKind::Fixed | ArrayKind::PropertyCollection => {
                    PsType::Array(Box::new(PsType::Object))
                }
                ArrayKind::ArrayList => PsType::ArrayList,
                ArrayKind::List(t) => PsType::List(Box::new(PsType::Named(t))),
            },
            other => PsType::Named(other.type_name()),
        }
    }

    /// `value -is [self]`.
    pub(crate) fn matches(&self, value: &Value) -> bool {
        if value.is_null() {
            return false;
        }
        match self {
            PsType::Object | PsType::PsObject => true,
            PsType::PsCustomObject => {
                matches!(value, Value::Object(o) if o.read(|d| d.is_custom()))
            }
            PsType::Bool => matches!(value, Value::Bool(_)),
            PsType::Char => matches!(value, Value::Char(_)),
            PsType::Byte => matches!(value, Value::Byte(_)),
            PsType::Int => matches!(value, Value::Int(_)),
            PsType::Long => matches!(value, Value::Long(_)),
            PsType::Double => matches!(value, Value::Double(_)),
            PsType::Decimal => matches!(value, Value::Decimal(_)),
            PsType::String => matches!(value, Value::String(_)),
            PsType::DateTime => matches!(value, Value::DateTime(_)),
            PsType::TimeSpan => matches!(value, Value::TimeSpan(_)),
            PsType::Guid => matches!(value, Value::Guid(_)),
            PsType::Array(_) => {
                matches!(value, Value::Array(a) if a.read(|d| d.kind == ArrayKind::Fixed))
                    || matches!(value, Value::Bytes(_))
            }
            PsType::ByteArray => matches!(value, Value::Bytes(_)),
            PsType::Hashtable => {
                matches!(value, Value::Hashtable(h) if !h.read(|d| d.ordered))
            }
            PsType::Ordered => matches!(value, Value::Hashtable(h) if h.read(|d| d.ordered)),
            PsType::ScriptBlock => matches!(value, Value::ScriptBlock(_)),
            PsType::Switch => false,
            PsType::SecureString => matches!(value, Value::SecureString(_)),
            PsType::Credential => matches!(value, Value::Credential(_)),
            PsType::ArrayList => {
                matches!(value, Value::Array(a) if a.read(|d| d.kind == ArrayKind::ArrayList))
            }
            PsType::List(_) => {
                matches!(value, Value::Array(a) if a.read(|d| matches!(d.kind, ArrayKind::List(_))))
            }
            PsType::Named(name) => named_matches(name, value),
            _ => false,
        }
    }
}

/// `-is` against a type the evaluator has no variant for: interfaces that
/// scripts test for, exception types, and objects' own type names.
fn named_matches(name: &str, value: &Value) -> bool {
    let lower = name.to_ascii_lowercase();
    let short = lower.strip_prefix("system.").unwrap_or(&lower).to_owned();
    match short.as_str() {
        "collections.idictionary" => return matches!(value, Value::Hashtable(_)),
        "collections.ienumerable" => {
            return matches!(
                value,
                Value::Array(_) | Value::Bytes(_) | Value::Hashtable(_) | Value::String(_)
            );
        }
        "collections.icollection" | "collections.ilist" => {
            return matches!(value, Value::Array(_) | Value::Bytes(_));
        }
        "valuetype" => {
            return value.is_number()
                || matches!(
                    value,
                    Value::Bool(_)
                        | Value::Char(_)
                        | Value::DateTime(_)
                        | Value::Guid(_)
                        | Value::Enum(_)
                        | Value::TimeSpan(_)
                );
        }
        "enum" => return matches!(value, Value::Enum(_)),
        "management.automation.errorrecord" => return matches!(value, Value::ErrorRecord(_)),
        _ => {}
    }
    let same = |candidate: &str| {
        candidate.eq_ignore_ascii_case(name)
            || candidate
                .to_ascii_lowercase()
                .strip_prefix("system.")
                .is_some_and(|c| c == short)
    };
    match value {
        Value::Object(o) => o.read(|d| d.type_names.iter().any(|t| same(t))),
        Value::HostRef(r) => same(r.type_name()),
        Value::Enum(e) => same(&e.type_name),
        Value::Exception(e) | Value::ErrorRecord(e) if matches!(value, Value::Exception(_)) => {
            e.is_instance_of(name)
        }
        other => same(&other.type_name()),
    }
}

/// A type name as written (`List[string]`, `int[]`), for messages.
pub(crate) fn type_name_text(t: &TypeName) -> String {
    match t {
        TypeName::Named(n) => n.clone(),
        TypeName::Array { element, rank } => format!(
            "{}[{}]",
            type_name_text(element),
            ",".repeat(rank.saturating_sub(1) as usize)
        ),
        TypeName::Generic { name, arguments } => format!(
            "{name}[{}]",
            arguments
                .iter()
                .map(type_name_text)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// Parses a type name given as text (`New-Object -TypeName`, `-is 'int'`):
/// `System.Collections.Generic.List[string]`, `string[]`, `int`.
pub(crate) fn parse_type_name(text: &str) -> TypeName {
    let t = text.trim().trim_start_matches('[');
    let t = if t.ends_with("]]") || (t.ends_with(']') && !t.contains('[')) {
        t.strip_suffix(']').unwrap_or(t)
    } else {
        t
    };
    if let Some(element) = t.strip_suffix("[]") {
        return TypeName::Array {
            element: Box::new(parse_type_name(element)),
            rank: 1,
        };
    }
    if let (Some(open), true) = (t.find('['), t.ends_with(']')) {
        let name = t[..open].to_owned();
        let inner = &t[open + 1..t.len() - 1];
        let mut arguments = Vec::new();
        let mut depth = 0usize;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    arguments.push(parse_type_name(&inner[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        arguments.push(parse_type_name(&inner[start..]));
        return TypeName::Generic { name, arguments };
    }
    TypeName::Named(t.to_owned())
}
