//! Static members of .NET types that scripts use (`[guid]::NewGuid()`,
//! `[Convert]::FromBase64String()`, `[System.Text.Encoding]::UTF8`,
//! `[System.IO.File]::WriteAllBytes()`, `[math]::Round()`, `[int]::MaxValue`,
//! ...), constructors (`New-Object`, `[T]::new()`), and the set of type names
//! the emulator knows.
//!
//! Files live in the session's [`FileStore`](super::FileStore) (or the
//! host's), never on the machine running the emulator.

use base64::Engine as _;

use super::convert::{self, Num};
use super::errors::{ErrorCategory, Flow, PsError, R, exception};
use super::format;
use super::interp::Interp;
use super::members::{decode, encode, len_i32};
use super::types::PsType;
use super::value::{
    ArrayData, ArrayKind, DateKind, DateTime, HashtableData, ObjectData, Shared, TextEncoding,
    TimeSpan, Value,
};
use crate::ps::span::Span;

/// Type names (lower case, without `system.`) the emulator accepts besides
/// the [`PsType`] variants: exceptions, enums, interfaces, and everything
/// in the VMM module's namespaces.
const KNOWN_NAMED: &[&str] = &[
    "exception",
    "systemexception",
    "argumentexception",
    "argumentnullexception",
    "argumentoutofrangeexception",
    "invalidoperationexception",
    "notsupportedexception",
    "notimplementedexception",
    "formatexception",
    "invalidcastexception",
    "nullreferenceexception",
    "indexoutofrangeexception",
    "dividebyzeroexception",
    "arithmeticexception",
    "timeoutexception",
    "io.ioexception",
    "io.filenotfoundexception",
    "io.directorynotfoundexception",
    "unauthorizedaccessexception",
    "management.automation.runtimeexception",
    "management.automation.commandnotfoundexception",
    "management.automation.parameterbindingexception",
    "management.automation.itemnotfoundexception",
    "management.automation.actionpreferencestopexception",
    "management.automation.methodinvocationexception",
    "management.automation.psinvalidcastexception",
    "management.automation.errorrecord",
    "management.automation.errorcategory",
    "management.automation.actionpreference",
    "management.automation.psobject",
    "stringsplitoptions",
    "stringcomparison",
    "dayofweek",
    "datetimekind",
    "midpointrounding",
    "collections.idictionary",
    "collections.ienumerable",
    "collections.icollection",
    "collections.ilist",
    "valuetype",
    "enum",
    "net.networkcredential",
    "text.utf8encoding",
    "text.asciiencoding",
    "text.unicodeencoding",
    "io.directory",
    "bitconverter",
    "char",
    "runtimeexception",
    "commandnotfoundexception",
    "parameterbindingexception",
    "itemnotfoundexception",
    "actionpreferencestopexception",
    "methodinvocationexception",
    "errorrecord",
    "actionpreference",
    "errorcategory",
];

fn short_lower(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    lower.strip_prefix("system.").unwrap_or(&lower).to_owned()
}

/// Whether `[name]` resolves to a type (else `Unable to find type`).
pub(crate) fn is_known_type(name: &str) -> bool {
    let short = short_lower(name);
    KNOWN_NAMED.contains(&short.as_str())
        || short.starts_with("microsoft.systemcenter.virtualmachinemanager")
        || short.starts_with("microsoft.virtualmanager")
}

fn enum_value(type_name: &str, members: &[&str], name: &str) -> Option<Value> {
    members
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .map(|i| Value::enumeration(type_name, members[i], i64::try_from(i).unwrap_or(0)))
}

const STRING_COMPARISON: &[&str] = &[
    "CurrentCulture",
    "CurrentCultureIgnoreCase",
    "InvariantCulture",
    "InvariantCultureIgnoreCase",
    "Ordinal",
    "OrdinalIgnoreCase",
];

fn now(it: &Interp<'_>, kind: DateKind) -> Value {
    Value::DateTime(DateTime {
        instant: it.host.now(),
        kind,
    })
}

fn arg_count(method: &str, n: usize) -> PsError {
    PsError::new(
        format!("Cannot find an overload for \"{method}\" and the argument count: \"{n}\"."),
        "MethodCountCouldNotFindBest",
    )
    .with_exception(exception::METHOD)
}

/// `[T]::Name`.
pub(crate) fn get_static(it: &mut Interp<'_>, ty: &PsType, name: &str) -> Result<Value, PsError> {
    let lower = name.to_ascii_lowercase();
    Ok(match (ty, lower.as_str()) {
        (PsType::Int, "maxvalue") => Value::Int(i32::MAX),
        (PsType::Int, "minvalue") => Value::Int(i32::MIN),
        (PsType::Long, "maxvalue") => Value::Long(i64::MAX),
        (PsType::Long, "minvalue") => Value::Long(i64::MIN),
        (PsType::Byte, "maxvalue") => Value::Byte(u8::MAX),
        (PsType::Byte, "minvalue") => Value::Byte(0),
        (PsType::Double, "maxvalue") => Value::Double(f64::MAX),
        (PsType::Double, "minvalue") => Value::Double(f64::MIN),
        (PsType::Double, "nan") => Value::Double(f64::NAN),
        (PsType::Double, "positiveinfinity") => Value::Double(f64::INFINITY),
        (PsType::Double, "negativeinfinity") => Value::Double(f64::NEG_INFINITY),
        (PsType::Double, "epsilon") => Value::Double(f64::from_bits(1)),
        (PsType::String, "empty") => Value::str(""),
        (PsType::Bool, "truestring") => Value::str("True"),
        (PsType::Bool, "falsestring") => Value::str("False"),
        (PsType::Guid, "empty") => Value::Guid(uuid::Uuid::nil()),
        (PsType::DateTime, "now") => now(it, DateKind::Local),
        (PsType::DateTime, "utcnow") => now(it, DateKind::Utc),
        (PsType::DateTime, "today") => {
            let t = it.host.now();
            let day = t.to_zoned(jiff::tz::TimeZone::UTC).date();
            let midnight = day
                .to_datetime(jiff::civil::Time::midnight())
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| z.timestamp())
                .unwrap_or(t);
            Value::DateTime(DateTime {
                instant: midnight,
                kind: DateKind::Local,
            })
        }
        (PsType::DateTime, "minvalue") => Value::DateTime(DateTime {
            instant: jiff::Timestamp::MIN,
            kind: DateKind::Unspecified,
        }),
        (PsType::DateTime, "maxvalue") => Value::DateTime(DateTime {
            instant: jiff::Timestamp::MAX,
            kind: DateKind::Unspecified,
        }),
        (PsType::TimeSpan, "zero") => Value::TimeSpan(TimeSpan(0)),
        (PsType::Math, "pi") => Value::Double(std::f64::consts::PI),
        (PsType::Math, "e") => Value::Double(std::f64::consts::E),
        (PsType::Environment, "newline") => Value::str("\r\n"),
        (PsType::Environment, "machinename") => env_value(it, "COMPUTERNAME"),
        (PsType::Environment, "username") => env_value(it, "USERNAME"),
        (PsType::Environment, "userdomainname") => env_value(it, "USERDOMAIN"),
        (PsType::Environment, "processorcount") => Value::Int(4),
        (PsType::Environment, "is64bitprocess" | "is64bitoperatingsystem") => Value::Bool(true),
        (PsType::Environment, "currentdirectory") => Value::from(it.st.cwd.as_str()),
        (PsType::Environment, "systemdirectory") => Value::str("C:\\Windows\\system32"),
        (PsType::Environment, "osversion") => Value::Object(Shared::new(ObjectData::typed(
            "System.OperatingSystem",
            vec![
                (
                    "Platform".into(),
                    Value::enumeration("System.PlatformID", "Win32NT", 2),
                ),
                (
                    "VersionString".into(),
                    Value::str("Microsoft Windows NT 10.0.17763.0"),
                ),
            ],
            Some("Microsoft Windows NT 10.0.17763.0".into()),
        ))),
        (PsType::Encoding, "utf8" | "default") => Value::Encoding(TextEncoding::Utf8),
        (PsType::Encoding, "ascii") => Value::Encoding(TextEncoding::Ascii),
        (PsType::Encoding, "unicode") => Value::Encoding(TextEncoding::Unicode),
        (PsType::Encoding, "bigendianunicode") => Value::Encoding(TextEncoding::BigEndianUnicode),
        (PsType::Path, "directoryseparatorchar") => Value::Char('\\'),
        (PsType::Path, "altdirectoryseparatorchar") => Value::Char('/'),
        (PsType::Path, "pathseparator") => Value::Char(';'),
        (PsType::Named(n), _) => {
            let short = short_lower(n);
            let found = match short.as_str() {
                "stringsplitoptions" => enum_value(
                    "System.StringSplitOptions",
                    &["None", "RemoveEmptyEntries"],
                    name,
                ),
                "stringcomparison" => {
                    enum_value("System.StringComparison", STRING_COMPARISON, name)
                }
                "midpointrounding" => {
                    enum_value("System.MidpointRounding", &["ToEven", "AwayFromZero"], name)
                }
                "management.automation.actionpreference" | "actionpreference" => {
                    super::errors::ActionPreference::parse(name).map(|p| {
                        Value::enumeration(
                            "System.Management.Automation.ActionPreference",
                            p.name(),
                            p.number(),
                        )
                    })
                }
                "management.automation.errorcategory" | "errorcategory" => {
                    ErrorCategory::from_name(name).map(|c| {
                        Value::enumeration(
                            "System.Management.Automation.ErrorCategory",
                            c.name(),
                            c as i64,
                        )
                    })
                }
                _ => None,
            };
            match found {
                Some(v) => v,
                None if short.starts_with("microsoft.") => {
                    // The host's own types (VMM enums): the host knows them.
                    return it.host.static_member(n, name).ok_or_else(|| {
                        PsError::unsupported(format!("the static member [{n}]::{name}"))
                    });
                }
                None => Value::Null,
            }
        }
        _ => Value::Null,
    })
}

fn env_value(it: &Interp<'_>, name: &str) -> Value {
    it.st
        .env
        .get(&name.to_lowercase())
        .map_or(Value::Null, |(_, v)| Value::from(v.as_str()))
}

fn method_failure(method: &str, n: usize, inner: &str) -> PsError {
    PsError::method_exception(method, n, inner)
}

fn to_bytes(it: &mut Interp<'_>, v: &Value) -> Result<Vec<u8>, PsError> {
    match v {
        Value::Bytes(b) => Ok(b.read(Clone::clone)),
        Value::Null => Ok(Vec::new()),
        other => match convert::convert_to(other, &PsType::ByteArray, it)? {
            Value::Bytes(b) => Ok(b.read(Clone::clone)),
            _ => Ok(Vec::new()),
        },
    }
}

/// `[T]::Method(args)`.
pub(crate) fn call_static(
    it: &mut Interp<'_>,
    ty: &PsType,
    name: &str,
    args: Vec<Value>,
    span: Span,
) -> R<Value> {
    it.step()?;
    let lower = name.to_ascii_lowercase();
    if lower == "new" {
        return construct(it, ty, args).map_err(|e| it.fail(e, span));
    }
    if let (PsType::ScriptBlock, "create") = (ty, lower.as_str()) {
        let text = args
            .first()
            .map(|a| convert::to_text(a, it))
            .unwrap_or_default();
        let block = crate::ps::parse(&text)
            .map_err(|e| it.fail(method_failure(name, args.len(), &e.message), span))?;
        let mut block = block;
        block.span = Span::new(0, text.len());
        return Ok(Value::ScriptBlock(super::value::ScriptBlockValue {
            block: std::sync::Arc::new(block),
            source: text.into(),
        }));
    }
    static_method(it, ty, name, &lower, args).map_err(|e| it.fail(e, span))
}

fn static_method(
    it: &mut Interp<'_>,
    ty: &PsType,
    name: &str,
    lower: &str,
    args: Vec<Value>,
) -> Result<Value, PsError> {
    let n = args.len();
    let text = |it: &mut Interp<'_>, i: usize| {
        args.get(i)
            .map(|a| convert::to_text(a, it))
            .unwrap_or_default()
    };
    let num = |it: &mut Interp<'_>, i: usize| -> Result<Num, PsError> {
        convert::to_num(args.get(i).unwrap_or(&Value::Null), it)
    };
    match ty {
        PsType::Guid => match (lower, n) {
            ("newguid", 0) => Ok(Value::Guid(uuid::Uuid::new_v4())),
            ("parse", 1) => {
                let t = text(it, 0);
                uuid::Uuid::parse_str(t.trim())
                    .map(Value::Guid)
                    .map_err(|_| method_failure(name, n, "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."))
            }
            _ => Err(PsError::method_not_found("System.Guid", name)),
        },
        PsType::Convert => match (lower, n) {
            ("tobase64string", 1..=3) => {
                let bytes = to_bytes(it, &args[0])?;
                let bytes = if n == 3 {
                    let start = usize::try_from(convert::to_num(&args[1], it)?.as_f64() as i64)
                        .unwrap_or(0);
                    let count = usize::try_from(convert::to_num(&args[2], it)?.as_f64() as i64)
                        .unwrap_or(0);
                    bytes.get(start..start.saturating_add(count)).map(<[u8]>::to_vec).ok_or_else(|| {
                        method_failure(name, n, "Index was out of range. Must be non-negative and less than the size of the collection.")
                    })?
                } else {
                    bytes
                };
                Ok(Value::from(
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                ))
            }
            ("frombase64string", 1) => {
                let t: String = text(it, 0).chars().filter(|c| !c.is_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(t.as_bytes())
                    .map(Value::bytes)
                    .map_err(|_| {
                        method_failure(
                            name,
                            n,
                            "The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters. ",
                        )
                    })
            }
            ("toint32" | "toint64" | "toint16" | "tobyte", 1 | 2) => {
                let target = if lower == "toint64" {
                    PsType::Long
                } else if lower == "tobyte" {
                    PsType::Byte
                } else {
                    PsType::Int
                };
                if n == 2 {
                    let base = num(it, 1)?.as_f64() as u32;
                    let t = text(it, 0);
                    let t = t.trim().trim_start_matches("0x").trim_start_matches("0X");
                    let v = i64::from_str_radix(t, base).map_err(|_| {
                        method_failure(name, n, "Could not find any recognizable digits.")
                    })?;
                    return convert::convert_to(&Value::Long(v), &target, it);
                }
                convert::convert_to(&args[0], &target, it)
                    .map_err(|e| method_failure(name, n, &e.message))
            }
            ("todouble" | "todecimal", 1) => convert::convert_to(&args[0], &PsType::Double, it),
            ("toboolean", 1) => match &args[0] {
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(method_failure(
                        name,
                        n,
                        "String was not recognized as a valid Boolean.",
                    )),
                },
                other => Ok(Value::Bool(convert::to_bool(other))),
            },
            ("tostring", 1) => Ok(Value::from(convert::to_text(&args[0], it))),
            ("tostring", 2) => {
                let v = num(it, 0)?.as_f64() as i64;
                let base = num(it, 1)?.as_f64() as u32;
                Ok(Value::from(match base {
                    2 => format!("{v:b}"),
                    8 => format!("{v:o}"),
                    16 => format!("{v:x}"),
                    _ => v.to_string(),
                }))
            }
            ("todatetime", 1) => convert::convert_to(&args[0], &PsType::DateTime, it),
            _ => Err(PsError::method_not_found("System.Convert", name)),
        },
        PsType::Math => math(it, name, lower, &args),
        PsType::String => match (lower, n) {
            ("isnullorempty", 1) => Ok(Value::Bool(match &args[0] {
                Value::Null => true,
                other => convert::to_text(other, it).is_empty(),
            })),
            ("isnullorwhitespace", 1) => Ok(Value::Bool(match &args[0] {
                Value::Null => true,
                other => convert::to_text(other, it).trim().is_empty(),
            })),
            ("join", _) if n >= 2 => {
                let sep = text(it, 0);
                let items: Vec<Value> = if n == 2 {
                    args[1].enumerate()
                } else {
                    args[1..].to_vec()
                };
                let mut parts = Vec::with_capacity(items.len());
                for item in &items {
                    parts.push(convert::to_text(item, it));
                }
                Ok(Value::from(parts.join(&sep)))
            }
            ("format", _) if n >= 1 => {
                let fmt = text(it, 0);
                let rest: Vec<Value> = if n == 2 && args[1].is_enumerable() {
                    args[1].enumerate()
                } else {
                    args[1..].to_vec()
                };
                let texts: Vec<String> = rest.iter().map(|a| convert::to_text(a, it)).collect();
                let lookup = |v: &Value| {
                    rest.iter()
                        .position(|a| std::ptr::eq(a, v))
                        .and_then(|i| texts.get(i).cloned())
                        .unwrap_or_default()
                };
                format::composite(&fmt, &rest, &lookup).map(Value::from)
            }
            ("concat", _) => {
                let mut s = String::new();
                for a in &args {
                    for item in if a.is_enumerable() {
                        a.enumerate()
                    } else {
                        vec![a.clone()]
                    } {
                        s.push_str(&convert::to_text(&item, it));
                    }
                }
                Ok(Value::from(s))
            }
            ("equals", 2 | 3) => {
                let (a, b) = (text(it, 0), text(it, 1));
                let ignore = n == 3 && text(it, 2).to_ascii_lowercase().contains("ignorecase");
                Ok(Value::Bool(if ignore {
                    a.to_lowercase() == b.to_lowercase()
                } else {
                    a == b
                }))
            }
            ("compare", 2 | 3) => {
                let (a, b) = (text(it, 0), text(it, 1));
                let ignore = n == 3 && convert::to_bool(&args[2]);
                let o = if ignore {
                    a.to_lowercase().cmp(&b.to_lowercase())
                } else {
                    a.cmp(&b)
                };
                Ok(Value::Int(o as i32))
            }
            _ => Err(PsError::method_not_found("System.String", name)),
        },
        PsType::Int
        | PsType::Long
        | PsType::Double
        | PsType::Decimal
        | PsType::Byte
        | PsType::Bool
        | PsType::DateTime
        | PsType::TimeSpan
            if lower == "parse" || lower == "parseexact" =>
        {
            let value = args.first().cloned().unwrap_or(Value::Null);
            if *ty == PsType::Bool {
                return match convert::to_text(&value, it)
                    .trim()
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(method_failure(
                        name,
                        n,
                        "String was not recognized as a valid Boolean.",
                    )),
                };
            }
            let value = Value::from(convert::to_text(&value, it));
            convert::convert_to(&value, ty, it).map_err(|e| method_failure(name, n, &e.message))
        }
        PsType::DateTime if lower == "specifykind" && n == 2 => match &args[0] {
            Value::DateTime(dt) => {
                let kind = match text(it, 1).to_ascii_lowercase().as_str() {
                    "utc" | "1" => DateKind::Utc,
                    "local" | "2" => DateKind::Local,
                    _ => DateKind::Unspecified,
                };
                Ok(Value::DateTime(DateTime {
                    instant: dt.instant,
                    kind,
                }))
            }
            _ => Err(arg_count(name, n)),
        },
        PsType::TimeSpan => {
            let factor = match lower {
                "fromdays" => 864_000_000_000.0,
                "fromhours" => 36_000_000_000.0,
                "fromminutes" => 600_000_000.0,
                "fromseconds" => 10_000_000.0,
                "frommilliseconds" => 10_000.0,
                "fromticks" => 1.0,
                _ => return Err(PsError::method_not_found("System.TimeSpan", name)),
            };
            let v = num(it, 0)?.as_f64();
            Ok(Value::TimeSpan(TimeSpan((v * factor) as i64)))
        }
        PsType::Regex => regex_static(it, name, lower, &args),
        PsType::Environment => match (lower, n) {
            ("getenvironmentvariable", 1 | 2) => {
                let key = text(it, 0);
                Ok(env_value(it, &key))
            }
            ("setenvironmentvariable", 2 | 3) => {
                let key = text(it, 0);
                let value = text(it, 1);
                if value.is_empty() {
                    it.st.env.remove(&key.to_lowercase());
                } else {
                    it.st.env.insert(key.to_lowercase(), (key, value));
                }
                Ok(Value::Null)
            }
            ("getfolderpath", 1) => Ok(Value::str("C:\\Users\\Administrator\\Documents")),
            _ => Err(PsError::method_not_found("System.Environment", name)),
        },
        PsType::Encoding => match (lower, n) {
            ("getencoding", 1) => {
                let t = text(it, 0).to_ascii_lowercase();
                Ok(Value::Encoding(match t.as_str() {
                    "utf-8" | "utf8" | "65001" => TextEncoding::Utf8,
                    "us-ascii" | "ascii" | "20127" => TextEncoding::Ascii,
                    "utf-16" | "unicode" | "1200" => TextEncoding::Unicode,
                    "utf-16be" | "1201" => TextEncoding::BigEndianUnicode,
                    _ => {
                        return Err(method_failure(
                            name,
                            n,
                            &format!("'{t}' is not a supported encoding name."),
                        ));
                    }
                }))
            }
            _ => Err(PsError::method_not_found("System.Text.Encoding", name)),
        },
        PsType::File => file_static(it, name, lower, &args),
        PsType::Path => path_static(it, name, lower, &args),
        PsType::Array(_) => match (lower, n) {
            ("reverse", 1) => {
                if let Value::Array(a) = &args[0] {
                    a.write(|d| d.items.reverse());
                }
                Ok(Value::Null)
            }
            ("indexof", 2) => {
                let items = args[0].enumerate();
                Ok(Value::Int(
                    items
                        .iter()
                        .position(|x| super::members::dotnet_equals(x, &args[1]))
                        .map_or(-1, len_i32),
                ))
            }
            ("sort", 1) => {
                if let Value::Array(a) = &args[0] {
                    let items = a.read(|d| d.items.clone());
                    let mut err = None;
                    let items = super::operators::merge_sort(items, &mut |x, y| {
                        super::operators::compare_values(it, x, y, false).unwrap_or_else(|e| {
                            err = Some(e);
                            std::cmp::Ordering::Equal
                        })
                    });
                    if let Some(e) = err {
                        return Err(e);
                    }
                    a.write(|d| d.items = items);
                }
                Ok(Value::Null)
            }
            _ => Err(PsError::method_not_found("System.Array", name)),
        },
        PsType::Char => match (lower, n) {
            (
                "isdigit" | "isletter" | "iswhitespace" | "isupper" | "islower" | "isletterordigit",
                1,
            ) => {
                let c = text(it, 0).chars().next().unwrap_or('\0');
                Ok(Value::Bool(match lower {
                    "isdigit" => c.is_ascii_digit(),
                    "isletter" => c.is_alphabetic(),
                    "iswhitespace" => c.is_whitespace(),
                    "isupper" => c.is_uppercase(),
                    "islower" => c.is_lowercase(),
                    _ => c.is_alphanumeric(),
                }))
            }
            _ => Err(PsError::method_not_found("System.Char", name)),
        },
        PsType::Named(type_name) => {
            let short = short_lower(type_name);
            match (short.as_str(), lower, n) {
                ("io.directory", "exists", 1) => {
                    let t = text(it, 0);
                    let p = it.full_path(&t);
                    Ok(Value::Bool(it.files().is_dir(&p)))
                }
                ("io.directory", "createdirectory", 1) => {
                    let t = text(it, 0);
                    let p = it.full_path(&t);
                    it.files()
                        .create_dir(&p)
                        .map_err(|m| method_failure(name, n, &m))?;
                    Ok(Value::Null)
                }
                ("bitconverter", "tostring", 1) => {
                    let bytes = to_bytes(it, &args[0])?;
                    Ok(Value::from(
                        bytes
                            .iter()
                            .map(|b| format!("{b:02X}"))
                            .collect::<Vec<_>>()
                            .join("-"),
                    ))
                }
                _ => Err(PsError::method_not_found(type_name, name)),
            }
        }
        other => Err(PsError::method_not_found(&other.full_name(), name)),
    }
}

fn math(it: &mut Interp<'_>, name: &str, lower: &str, args: &[Value]) -> Result<Value, PsError> {
    let n = args.len();
    let mut nums = Vec::with_capacity(n);
    for a in args.iter().filter(|a| {
        !matches!(a, Value::Enum(_) | Value::String(_))
            || convert::parse_number(&convert::scalar_text(a)).is_some()
    }) {
        nums.push(convert::to_num(a, it)?);
    }
    let x = nums.first().copied().unwrap_or(Num::Int(0));
    let f = x.as_f64();
    let keep_type = |v: f64| match x {
        Num::Decimal(_) => Value::Decimal(v),
        _ => Value::Double(v),
    };
    Ok(match (lower, nums.len()) {
        ("round", 1 | 2) => {
            let digits = nums.get(1).map_or(0, |d| d.as_f64() as i32);
            let away = args
                .iter()
                .any(|a| convert::scalar_text(a).eq_ignore_ascii_case("AwayFromZero"));
            let scale = 10f64.powi(digits);
            let scaled = f * scale;
            let r = if away {
                scaled.round()
            } else {
                scaled.round_ties_even()
            };
            keep_type(r / scale)
        }
        ("floor", 1) => keep_type(f.floor()),
        ("ceiling", 1) => keep_type(f.ceil()),
        ("truncate", 1) => keep_type(f.trunc()),
        ("abs", 1) => match x {
            Num::Int(i) => Value::Int(i.checked_abs().ok_or_else(|| {
                method_failure(
                    name,
                    n,
                    "Negating the minimum value of a twos complement number is invalid.",
                )
            })?),
            Num::Long(i) => Value::Long(i.checked_abs().ok_or_else(|| {
                method_failure(
                    name,
                    n,
                    "Negating the minimum value of a twos complement number is invalid.",
                )
            })?),
            _ => keep_type(f.abs()),
        },
        ("sign", 1) => Value::Int(if f > 0.0 {
            1
        } else if f < 0.0 {
            -1
        } else {
            0
        }),
        ("max" | "min", 2) => {
            let y = nums[1];
            let pick_first = if lower == "max" {
                f >= y.as_f64()
            } else {
                f <= y.as_f64()
            };
            match (x, y) {
                (Num::Int(_), Num::Int(_)) | (Num::Long(_), Num::Long(_)) => {
                    if pick_first {
                        x.into_value()
                    } else {
                        y.into_value()
                    }
                }
                _ => Value::Double(if pick_first { f } else { y.as_f64() }),
            }
        }
        ("pow", 2) => Value::Double(f.powf(nums[1].as_f64())),
        ("sqrt", 1) => Value::Double(f.sqrt()),
        ("exp", 1) => Value::Double(f.exp()),
        ("log", 1) => Value::Double(f.ln()),
        ("log", 2) => Value::Double(f.ln() / nums[1].as_f64().ln()),
        ("log10", 1) => Value::Double(f.log10()),
        _ => return Err(PsError::method_not_found("System.Math", name)),
    })
}

fn regex_static(
    it: &mut Interp<'_>,
    name: &str,
    lower: &str,
    args: &[Value],
) -> Result<Value, PsError> {
    let n = args.len();
    let text = |it: &mut Interp<'_>, i: usize| {
        args.get(i)
            .map(|a| convert::to_text(a, it))
            .unwrap_or_default()
    };
    match (lower, n) {
        ("escape", 1) => Ok(Value::from(dotnet_regex_escape(&text(it, 0)))),
        ("unescape", 1) => Ok(Value::from(text(it, 0).replace('\\', ""))),
        ("ismatch", 2) => {
            let pattern = text(it, 1);
            let re = it.regex(&pattern, true)?;
            Ok(Value::Bool(re.is_match(&text(it, 0))))
        }
        ("match" | "matches", 2) => {
            let input = text(it, 0);
            let pattern = text(it, 1);
            let re = it.regex(&pattern, true)?;
            let to_obj = |caps: regex::Captures<'_>| -> Value {
                let whole = caps.get(0);
                let groups: Vec<Value> = caps
                    .iter()
                    .enumerate()
                    .map(|(i, g)| {
                        let v = g.map_or("", |m| m.as_str());
                        Value::Object(Shared::new(ObjectData::typed(
                            "System.Text.RegularExpressions.Group",
                            vec![
                                ("Name".into(), Value::from(i.to_string())),
                                ("Success".into(), Value::Bool(g.is_some())),
                                ("Value".into(), Value::from(v)),
                                (
                                    "Index".into(),
                                    Value::Int(len_i32(g.map_or(0, |m| m.start()))),
                                ),
                                ("Length".into(), Value::Int(len_i32(v.len()))),
                            ],
                            Some(v.to_owned()),
                        )))
                    })
                    .collect();
                let value = whole.map_or("", |m| m.as_str());
                Value::Object(Shared::new(ObjectData::typed(
                    "System.Text.RegularExpressions.Match",
                    vec![
                        ("Groups".into(), Value::array(groups)),
                        ("Success".into(), Value::Bool(true)),
                        ("Value".into(), Value::from(value)),
                        (
                            "Index".into(),
                            Value::Int(len_i32(whole.map_or(0, |m| m.start()))),
                        ),
                        ("Length".into(), Value::Int(len_i32(value.len()))),
                    ],
                    Some(value.to_owned()),
                )))
            };
            if lower == "match" {
                Ok(match re.captures(&input) {
                    Some(c) => to_obj(c),
                    None => Value::Object(Shared::new(ObjectData::typed(
                        "System.Text.RegularExpressions.Match",
                        vec![
                            ("Groups".into(), Value::array(Vec::new())),
                            ("Success".into(), Value::Bool(false)),
                            ("Value".into(), Value::str("")),
                            ("Index".into(), Value::Int(0)),
                            ("Length".into(), Value::Int(0)),
                        ],
                        Some(String::new()),
                    ))),
                })
            } else {
                Ok(Value::array(re.captures_iter(&input).map(to_obj).collect()))
            }
        }
        ("replace", 3) => {
            let v = super::operators::binary(
                it,
                crate::ps::ast::BinaryOp::Compare {
                    op: crate::ps::ast::CompareOp::Replace,
                    case_sensitive: true,
                },
                args[0].clone(),
                Value::array(vec![args[1].clone(), args[2].clone()]),
            )?;
            Ok(v)
        }
        ("split", 2) => super::operators::binary(
            it,
            crate::ps::ast::BinaryOp::Compare {
                op: crate::ps::ast::CompareOp::Split,
                case_sensitive: true,
            },
            args[0].clone(),
            args[1].clone(),
        ),
        _ => Err(PsError::method_not_found(
            "System.Text.RegularExpressions.Regex",
            name,
        )),
    }
}

fn dotnet_regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' | '*' | '+' | '?' | '|' | '{' | '[' | '(' | ')' | '^' | '$' | '.' | '#' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn file_static(
    it: &mut Interp<'_>,
    name: &str,
    lower: &str,
    args: &[Value],
) -> Result<Value, PsError> {
    let n = args.len();
    let path_arg = |it: &mut Interp<'_>, i: usize| {
        let p = args
            .get(i)
            .map(|a| convert::to_text(a, it))
            .unwrap_or_default();
        it.full_path(&p)
    };
    let not_found = |path: &str| method_failure(name, n, &format!("Could not find file '{path}'."));
    let encoding_of = |i: usize| match args.get(i) {
        Some(Value::Encoding(e)) => *e,
        _ => TextEncoding::Utf8,
    };
    match (lower, n) {
        ("exists", 1) => {
            let p = path_arg(it, 0);
            Ok(Value::Bool(it.files().is_file(&p)))
        }
        ("readallbytes", 1) => {
            let p = path_arg(it, 0);
            it.files()
                .read(&p)
                .map(Value::bytes)
                .ok_or_else(|| not_found(&p))
        }
        ("readalltext", 1 | 2) => {
            let p = path_arg(it, 0);
            let bytes = it.files().read(&p).ok_or_else(|| not_found(&p))?;
            Ok(Value::from(decode_with_bom(&bytes, encoding_of(1))))
        }
        ("readalllines", 1 | 2) => {
            let p = path_arg(it, 0);
            let bytes = it.files().read(&p).ok_or_else(|| not_found(&p))?;
            let text = decode_with_bom(&bytes, encoding_of(1));
            Ok(Value::array(
                split_lines(&text).into_iter().map(Value::from).collect(),
            ))
        }
        ("writeallbytes", 2) => {
            let p = path_arg(it, 0);
            let bytes = to_bytes(it, &args[1])?;
            it.check_size(bytes.len(), "A file").map_err(flow_error)?;
            it.files()
                .write(&p, bytes)
                .map_err(|m| method_failure(name, n, &m))?;
            Ok(Value::Null)
        }
        ("writealltext" | "appendalltext", 2 | 3) => {
            let p = path_arg(it, 0);
            let text = convert::to_text(&args[1], it);
            let bytes = encode(encoding_of(2), &text);
            let result = if lower == "writealltext" {
                it.files().write(&p, bytes)
            } else {
                it.files().append(&p, &bytes)
            };
            result.map_err(|m| method_failure(name, n, &m))?;
            Ok(Value::Null)
        }
        ("writealllines", 2 | 3) => {
            let p = path_arg(it, 0);
            let mut text = String::new();
            for line in args[1].enumerate() {
                text.push_str(&convert::to_text(&line, it));
                text.push_str("\r\n");
            }
            it.files()
                .write(&p, encode(encoding_of(2), &text))
                .map_err(|m| method_failure(name, n, &m))?;
            Ok(Value::Null)
        }
        ("delete", 1) => {
            let p = path_arg(it, 0);
            it.files().delete(&p);
            Ok(Value::Null)
        }
        ("copy" | "move", 2 | 3) => {
            let from = path_arg(it, 0);
            let to = path_arg(it, 1);
            let bytes = it.files().read(&from).ok_or_else(|| not_found(&from))?;
            if it.files().is_file(&to) && !(n == 3 && convert::to_bool(&args[2])) {
                return Err(method_failure(
                    name,
                    n,
                    &format!("The file '{to}' already exists."),
                ));
            }
            it.files()
                .write(&to, bytes)
                .map_err(|m| method_failure(name, n, &m))?;
            if lower == "move" {
                it.files().delete(&from);
            }
            Ok(Value::Null)
        }
        _ => Err(PsError::method_not_found("System.IO.File", name)),
    }
}

fn flow_error(f: Flow) -> PsError {
    match f {
        Flow::Error(e, _) | Flow::Abort(e) => *e,
        _ => PsError::new("unexpected control flow", "InternalError"),
    }
}

/// Text from file bytes: a BOM wins over the requested encoding, as in
/// .NET's `File.ReadAllText`.
pub(crate) fn decode_with_bom(bytes: &[u8], default: TextEncoding) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return decode(TextEncoding::Utf8, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode(TextEncoding::Unicode, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode(TextEncoding::BigEndianUnicode, rest);
    }
    decode(default, bytes)
}

/// Lines of a text, without a final empty line.
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn path_static(
    it: &mut Interp<'_>,
    name: &str,
    lower: &str,
    args: &[Value],
) -> Result<Value, PsError> {
    let n = args.len();
    let text = |it: &mut Interp<'_>, i: usize| {
        args.get(i)
            .map(|a| convert::to_text(a, it))
            .unwrap_or_default()
            .replace('/', "\\")
    };
    let p = text(it, 0);
    let file_name = p.rsplit('\\').next().unwrap_or(&p).to_owned();
    let extension = file_name
        .rfind('.')
        .map_or(String::new(), |i| file_name[i..].to_owned());
    Ok(match (lower, n) {
        ("getfilename", 1) => Value::from(file_name),
        ("getextension", 1) => Value::from(extension),
        ("getfilenamewithoutextension", 1) => Value::from(match file_name.rfind('.') {
            Some(i) => file_name[..i].to_owned(),
            None => file_name,
        }),
        ("getdirectoryname", 1) => match p.rfind('\\') {
            Some(i) if i > 0 => Value::from(p[..i].trim_end_matches('\\').to_owned()),
            _ => Value::Null,
        },
        ("combine", _) if n >= 1 => {
            let mut out = String::new();
            for i in 0..n {
                let part = text(it, i);
                if part.starts_with('\\') || (part.len() >= 2 && part.as_bytes()[1] == b':') {
                    out = part;
                } else if out.is_empty() || out.ends_with('\\') {
                    out.push_str(&part);
                } else {
                    out.push('\\');
                    out.push_str(&part);
                }
            }
            Value::from(out)
        }
        ("gettemppath", 0) => Value::str("C:\\Users\\Administrator\\AppData\\Local\\Temp\\"),
        ("getrandomfilename", 0) => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            Value::from(format!("{}.{}", &id[..8], &id[8..11]))
        }
        ("gettempfilename", 0) => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let path = format!(
                "C:\\Users\\Administrator\\AppData\\Local\\Temp\\tmp{}.tmp",
                &id[..4].to_uppercase()
            );
            it.files()
                .write(&path, Vec::new())
                .map_err(|m| method_failure(name, n, &m))?;
            Value::from(path)
        }
        ("ispathrooted", 1) => {
            Value::Bool(p.starts_with('\\') || (p.len() >= 2 && p.as_bytes()[1] == b':'))
        }
        ("changeextension", 2) => {
            let ext = text(it, 1);
            let base = match p.rfind('.') {
                Some(i) if i > p.rfind('\\').map_or(0, |s| s + 1) => p[..i].to_owned(),
                _ => p.clone(),
            };
            let ext = ext.trim_start_matches('.');
            Value::from(if ext.is_empty() {
                base
            } else {
                format!("{base}.{ext}")
            })
        }
        ("getfullpath", 1) => Value::from(it.full_path(&p)),
        ("getpathroot", 1) => Value::from(if p.len() >= 2 && p.as_bytes()[1] == b':' {
            format!("{}\\", &p[..2])
        } else {
            String::new()
        }),
        _ => return Err(PsError::method_not_found("System.IO.Path", name)),
    })
}

/// Exception type names `New-Object`/`::new` can build, in full.
fn exception_type(short: &str) -> Option<String> {
    let full = match short {
        "exception" => "System.Exception",
        "systemexception" => "System.SystemException",
        "argumentexception" => "System.ArgumentException",
        "argumentnullexception" => "System.ArgumentNullException",
        "argumentoutofrangeexception" => "System.ArgumentOutOfRangeException",
        "invalidoperationexception" => "System.InvalidOperationException",
        "notsupportedexception" => "System.NotSupportedException",
        "notimplementedexception" => "System.NotImplementedException",
        "formatexception" => "System.FormatException",
        "timeoutexception" => "System.TimeoutException",
        "io.ioexception" => "System.IO.IOException",
        "io.filenotfoundexception" => "System.IO.FileNotFoundException",
        "unauthorizedaccessexception" => "System.UnauthorizedAccessException",
        "management.automation.runtimeexception" | "runtimeexception" => {
            "System.Management.Automation.RuntimeException"
        }
        "management.automation.itemnotfoundexception" | "itemnotfoundexception" => {
            "System.Management.Automation.ItemNotFoundException"
        }
        _ => return None,
    };
    Some(full.to_owned())
}

/// `New-Object T args` / `[T]::new(args)`.
pub(crate) fn construct(
    it: &mut Interp<'_>,
    ty: &PsType,
    args: Vec<Value>,
) -> Result<Value, PsError> {
    let n = args.len();
    let text = |it: &mut Interp<'_>, i: usize| {
        args.get(i)
            .map(|a| convert::to_text(a, it))
            .unwrap_or_default()
    };
    Ok(match ty {
        PsType::Object | PsType::PsObject | PsType::PsCustomObject => {
            Value::Object(Shared::new(ObjectData::custom(Vec::new())))
        }
        PsType::ArrayList | PsType::List(_) => {
            let items = match args.first() {
                Some(v) if v.is_enumerable() => v.enumerate(),
                _ => Vec::new(),
            };
            let kind = match ty {
                PsType::List(e) => ArrayKind::List(e.full_name()),
                _ => ArrayKind::ArrayList,
            };
            Value::Array(Shared::new(ArrayData { items, kind }))
        }
        PsType::Hashtable => Value::Hashtable(Shared::new(HashtableData::new(false))),
        PsType::Ordered => Value::Hashtable(Shared::new(HashtableData::new(true))),
        PsType::Credential => {
            if n != 2 {
                return Err(arg_count("PSCredential", n));
            }
            let user = text(it, 0);
            match &args[1] {
                Value::SecureString(s) => convert::credential(&user, s),
                _ => {
                    return Err(PsError::new(
                        format!(
                            "Cannot find an overload for \"PSCredential\" and the argument count: \"{n}\"."
                        ),
                        "ConstructorInvokedThrowException",
                    ));
                }
            }
        }
        PsType::Guid => match args.first() {
            None => Value::Guid(uuid::Uuid::nil()),
            Some(v) => convert::convert_to(v, &PsType::Guid, it)?,
        },
        PsType::String => Value::from(text(it, 0)),
        PsType::DateTime if n >= 3 => {
            let mut parts = [0i64; 6];
            for (i, slot) in parts.iter_mut().enumerate().take(n.min(6)) {
                *slot = convert::to_num(&args[i], it)?.as_f64() as i64;
            }
            let civil = jiff::civil::DateTime::new(
                i16::try_from(parts[0]).unwrap_or(1),
                i8::try_from(parts[1]).unwrap_or(1),
                i8::try_from(parts[2]).unwrap_or(1),
                i8::try_from(parts[3]).unwrap_or(0),
                i8::try_from(parts[4]).unwrap_or(0),
                i8::try_from(parts[5]).unwrap_or(0),
                0,
            )
            .map_err(|e| method_failure(".ctor", n, &e.to_string()))?;
            let ts = civil
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| method_failure(".ctor", n, &e.to_string()))?
                .timestamp();
            Value::DateTime(DateTime {
                instant: ts,
                kind: DateKind::Unspecified,
            })
        }
        PsType::TimeSpan => {
            let mut parts = Vec::with_capacity(n);
            for a in &args {
                parts.push(convert::to_num(a, it)?.as_f64() as i64);
            }
            let ticks = match parts.as_slice() {
                [t] => *t,
                [h, m, s] => (h * 3600 + m * 60 + s) * TimeSpan::TICKS_PER_SECOND,
                [d, h, m, s] => (d * 86400 + h * 3600 + m * 60 + s) * TimeSpan::TICKS_PER_SECOND,
                _ => return Err(arg_count("TimeSpan", n)),
            };
            Value::TimeSpan(TimeSpan(ticks))
        }
        PsType::Named(name) => {
            let short = short_lower(name);
            if let Some(full) = exception_type(&short) {
                let message = if n == 0 {
                    format!("Exception of type '{full}' was thrown.")
                } else {
                    text(it, 0)
                };
                return Ok(Value::Exception(std::sync::Arc::new(
                    PsError::new(message, "").with_exception(full),
                )));
            }
            match short.as_str() {
                "net.networkcredential" => Value::Object(Shared::new(ObjectData::typed(
                    "System.Net.NetworkCredential",
                    vec![
                        ("UserName".into(), Value::from(text(it, 0))),
                        ("Password".into(), Value::from(text(it, 1))),
                        ("Domain".into(), Value::from(text(it, 2))),
                    ],
                    Some("System.Net.NetworkCredential".into()),
                ))),
                "text.utf8encoding" => Value::Encoding(TextEncoding::Utf8),
                "text.asciiencoding" => Value::Encoding(TextEncoding::Ascii),
                "text.unicodeencoding" => Value::Encoding(TextEncoding::Unicode),
                "management.automation.errorrecord" | "errorrecord" => {
                    let mut e = match args.first() {
                        Some(Value::Exception(e)) => (**e).clone(),
                        Some(other) => PsError::new(convert::to_text(other, it), ""),
                        None => return Err(arg_count("ErrorRecord", 0)),
                    };
                    e.fully_qualified_error_id = text(it, 1);
                    if let Some(c) = args.get(2) {
                        e.category = ErrorCategory::from_name(&convert::to_text(c, it))
                            .unwrap_or(ErrorCategory::NotSpecified);
                    }
                    if let Some(target) = args.get(3).filter(|t| !t.is_null()) {
                        let type_short = target
                            .type_name()
                            .rsplit('.')
                            .next()
                            .unwrap_or("")
                            .to_owned();
                        e.target_name = convert::to_text(target, it);
                        e.target_type = type_short;
                    }
                    Value::ErrorRecord(std::sync::Arc::new(e))
                }
                _ => return Err(cannot_construct(name)),
            }
        }
        other => return Err(cannot_construct(&other.full_name())),
    })
}

fn cannot_construct(name: &str) -> PsError {
    PsError::new(
        format!(
            "Cannot find type [{name}]: verify that the assembly containing this type is loaded."
        ),
        "TypeNotFound",
    )
    .with_category(ErrorCategory::InvalidType)
    .with_target(name, "String")
    .with_exception("System.Management.Automation.PSArgumentException")
}

/// A `SecureString` from plain text.
pub(crate) fn secure_string(text: &str) -> Value {
    Value::SecureString(text.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_escape_like_dotnet() {
        assert_eq!(dotnet_regex_escape("a.b*c (1)"), "a\\.b\\*c\\ \\(1\\)");
    }

    #[test]
    fn lines() {
        assert_eq!(
            split_lines("a\r\nb\n"),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(
            decode_with_bom(&[0xEF, 0xBB, 0xBF, b'x'], TextEncoding::Ascii),
            "x"
        );
    }

    #[test]
    fn known_types() {
        assert!(is_known_type("System.Exception"));
        assert!(is_known_type(
            "Microsoft.SystemCenter.VirtualMachineManager.VM"
        ));
        assert!(!is_known_type("Foo.Bar"));
    }
}
