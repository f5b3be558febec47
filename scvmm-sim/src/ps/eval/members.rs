//! Member access, indexing and method calls on values.
//!
//! `$x.Name` reads a property, a hashtable key, or — on a collection that
//! has no such member itself — the property of every element (member
//! enumeration: `$vms.Name`). Methods cover what scripts call on strings,
//! arrays, hashtables, dates, GUIDs, credentials, encodings and script
//! blocks; host objects answer through the host.

use std::sync::Arc;

use super::convert;
use super::errors::{ErrorCategory, Flow, PsError, R, exception};
use super::format;
use super::interp::Interp;
use super::types::PsType;
use super::value::{
    ArrayData, ArrayKind, DateKind, DateTime, HashtableData, ObjectData, Shared, TextEncoding,
    TimeSpan, TypeValue, Value,
};
use crate::ps::span::Span;

fn obj(type_name: &str, props: Vec<(&str, Value)>, display: Option<String>) -> Value {
    Value::Object(Shared::new(ObjectData::typed(
        type_name,
        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        display,
    )))
}

fn property_not_found(name: &str) -> PsError {
    PsError::new(
        format!(
            "The property '{name}' cannot be found on this object. Verify that the property exists and can be set."
        ),
        "PropertyNotFound",
    )
    .with_exception(exception::PROPERTY_NOT_FOUND)
    .with_category(ErrorCategory::InvalidOperation)
}

fn arg_error(method: &str, n: usize, message: &str) -> PsError {
    PsError::method_exception(method, n, message)
}

fn wrong_arg_count(method: &str, n: usize) -> PsError {
    PsError::new(
        format!("Cannot find an overload for \"{method}\" and the argument count: \"{n}\"."),
        "MethodCountCouldNotFindBest",
    )
    .with_exception(exception::METHOD)
    .with_category(ErrorCategory::NotSpecified)
}

/// .NET `Object.Equals`: same type and value; strings ordinal; shared
/// values by reference.
pub(crate) fn dotnet_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Long(x), Value::Long(y)) => x == y,
        (Value::Byte(x), Value::Byte(y)) => x == y,
        (Value::Double(x), Value::Double(y)) | (Value::Decimal(x), Value::Decimal(y)) => x == y,
        (Value::Char(x), Value::Char(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::DateTime(x), Value::DateTime(y)) => x.instant == y.instant,
        (Value::TimeSpan(x), Value::TimeSpan(y)) => x == y,
        (Value::Guid(x), Value::Guid(y)) => x == y,
        (Value::Enum(x), Value::Enum(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => x.ptr_eq(y),
        (Value::Bytes(x), Value::Bytes(y)) => x.ptr_eq(y),
        (Value::Hashtable(x), Value::Hashtable(y)) => x.ptr_eq(y),
        (Value::Object(x), Value::Object(y)) => x.ptr_eq(y),
        (Value::HostRef(x), Value::HostRef(y)) => x == y,
        (Value::ErrorRecord(x), Value::ErrorRecord(y))
        | (Value::Exception(x), Value::Exception(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}

fn as_index(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(i64::from(*n)),
        Value::Long(n) => Some(*n),
        Value::Byte(n) => Some(i64::from(*n)),
        Value::Double(d) | Value::Decimal(d) => Some(convert::round_half_even(*d) as i64),
        Value::String(s) => convert::parse_number(s).map(|n| match n {
            convert::Num::Int(i) => i64::from(i),
            convert::Num::Long(l) => l,
            convert::Num::Double(d) | convert::Num::Decimal(d) => d as i64,
        }),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Char(c) => Some(i64::from(u32::from(*c))),
        _ => None,
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let idx = if i < 0 { len_i + i } else { i };
    if idx >= 0 && idx < len_i {
        usize::try_from(idx).ok()
    } else {
        None
    }
}

fn int_arg(v: Option<&Value>, method: &str, n: usize) -> Result<i64, PsError> {
    v.and_then(as_index)
        .ok_or_else(|| arg_error(method, n, "Input string was not in a correct format."))
}

impl Interp<'_> {
    /// `$x.name`, with member enumeration on collections.
    pub(crate) fn get_member(&mut self, v: &Value, name: &str) -> Result<Value, PsError> {
        if let Some(found) = self.get_member_opt(v, name)? {
            return Ok(found);
        }
        if let Value::Array(a) = v {
            let items = a.read(|d| d.items.clone());
            let mut results = Vec::new();
            for item in &items {
                if let Some(found) = self.get_member_opt(item, name)? {
                    if found.is_enumerable() {
                        results.extend(found.enumerate());
                    } else {
                        results.push(found);
                    }
                }
            }
            return Ok(Value::from_output(results));
        }
        // PowerShell 3+ gives every object an intrinsic Count and Length:
        // 1 for a scalar, 0 for $null, so `(Get-Thing).Count` works
        // whatever the command returned.
        if name.eq_ignore_ascii_case("Count") || name.eq_ignore_ascii_case("Length") {
            return Ok(Value::Int(i32::from(!v.is_null())));
        }
        Ok(Value::Null)
    }

    /// The value's own member `name`, if it has one.
    pub(crate) fn get_member_opt(
        &mut self,
        v: &Value,
        name: &str,
    ) -> Result<Option<Value>, PsError> {
        let lower = name.to_ascii_lowercase();
        if lower == "psobject" && !v.is_null() {
            return Ok(Some(self.psobject_view(v)));
        }
        if lower == "pstypenames" && !v.is_null() {
            return Ok(Some(Value::array(
                self.type_names(v).into_iter().map(Value::from).collect(),
            )));
        }
        Ok(match v {
            Value::Null => None,
            Value::Hashtable(h) => {
                let key = Value::from(name);
                if let Some(found) = h.read(|d| d.get(&key).cloned()) {
                    return Ok(Some(found));
                }
                match lower.as_str() {
                    "count" => Some(Value::Int(len_i32(h.read(HashtableData::len)))),
                    "keys" => {
                        Some(Value::array(h.read(|d| {
                            d.entries().iter().map(|(k, _)| k.clone()).collect()
                        })))
                    }
                    "values" => {
                        Some(Value::array(h.read(|d| {
                            d.entries().iter().map(|(_, v)| v.clone()).collect()
                        })))
                    }
                    "isreadonly" | "isfixedsize" | "issynchronized" => Some(Value::Bool(false)),
                    _ => None,
                }
            }
            Value::Object(o) => o.read(|d| d.get(name).cloned()),
            Value::HostRef(r) => match self.host.resolve(r) {
                Some(obj) => obj
                    .properties
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone()),
                None => None,
            },
            Value::Array(a) => match lower.as_str() {
                "count" | "length" => Some(Value::Int(len_i32(a.read(|d| d.items.len())))),
                "longlength" => Some(Value::Long(
                    i64::try_from(a.read(|d| d.items.len())).unwrap_or(i64::MAX),
                )),
                "rank" => Some(Value::Int(1)),
                "isfixedsize" => Some(Value::Bool(a.read(|d| d.kind == ArrayKind::Fixed))),
                "isreadonly" | "issynchronized" => Some(Value::Bool(false)),
                _ => None,
            },
            Value::Bytes(b) => match lower.as_str() {
                "count" | "length" => Some(Value::Int(len_i32(b.read(Vec::len)))),
                _ => None,
            },
            Value::String(s) => match lower.as_str() {
                "length" => Some(Value::Int(len_i32(s.encode_utf16().count()))),
                _ => None,
            },
            Value::Bool(b) => match lower.as_str() {
                "ispresent" => Some(Value::Bool(*b)),
                _ => None,
            },
            Value::ErrorRecord(e) => self.error_record_member(e, &lower),
            Value::Exception(e) => match lower.as_str() {
                "message" => Some(Value::from(e.message.as_str())),
                "errorrecord" => Some(Value::ErrorRecord(e.clone())),
                "innerexception" | "stacktrace" | "targetsite" | "helplink" => Some(Value::Null),
                "hresult" => Some(Value::Int(-2_146_233_087)),
                "source" => Some(Value::str("System.Management.Automation")),
                "data" => Some(Value::hashtable(false)),
                "wasthrownfromthrowstatement" => Some(Value::Bool(false)),
                _ => None,
            },
            Value::DateTime(dt) => date_member(dt, &lower),
            Value::TimeSpan(t) => timespan_member(*t, &lower),
            Value::Guid(g) => match lower.as_str() {
                "guid" => Some(Value::from(g.to_string())),
                _ => None,
            },
            Value::Enum(e) => match lower.as_str() {
                "value__" => Some(Value::Long(e.value)),
                _ => None,
            },
            Value::Credential(c) => match lower.as_str() {
                "username" => Some(Value::from(c.user_name.as_str())),
                "password" => Some(Value::SecureString(c.password.as_str().into())),
                _ => None,
            },
            Value::SecureString(s) => match lower.as_str() {
                "length" => Some(Value::Int(len_i32(s.chars().count()))),
                _ => None,
            },
            Value::Type(t) => match lower.as_str() {
                "name" => Some(Value::from(t.name())),
                "fullname" => Some(Value::from(t.full_name.as_str())),
                "namespace" => Some(Value::from(
                    t.full_name.rsplit_once('.').map_or("", |(ns, _)| ns),
                )),
                _ => None,
            },
            Value::Encoding(e) => match lower.as_str() {
                "encodingname" | "webname" | "bodyname" => Some(Value::from(match e {
                    TextEncoding::Utf8 => "utf-8",
                    TextEncoding::Ascii => "us-ascii",
                    TextEncoding::Unicode => "utf-16",
                    TextEncoding::BigEndianUnicode => "utf-16BE",
                })),
                _ => None,
            },
            _ => None,
        })
    }

    fn type_names(&mut self, v: &Value) -> Vec<String> {
        match v {
            Value::Object(o) => o.read(|d| d.type_names.clone()),
            Value::HostRef(r) => self
                .host
                .resolve(r)
                .map(|o| o.type_names)
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| vec![r.type_name().to_owned(), "System.Object".into()]),
            other => vec![other.type_name(), "System.Object".into()],
        }
    }

    /// The properties a value shows to `Select-Object *`, `Format-List`,
    /// `Get-Member` and `ConvertTo-Json`, in order.
    pub(crate) fn properties_of(&mut self, v: &Value) -> Vec<(String, Value)> {
        match v {
            Value::Object(o) => o.read(|d| d.properties.clone()),
            Value::HostRef(r) => self
                .host
                .resolve(r)
                .map(|o| o.properties)
                .unwrap_or_default(),
            Value::ErrorRecord(e) => {
                let names = [
                    "Exception",
                    "TargetObject",
                    "CategoryInfo",
                    "FullyQualifiedErrorId",
                    "ErrorDetails",
                    "InvocationInfo",
                    "ScriptStackTrace",
                    "PipelineIterationInfo",
                ];
                names
                    .iter()
                    .map(|n| {
                        (
                            (*n).to_owned(),
                            self.error_record_member(e, &n.to_ascii_lowercase())
                                .unwrap_or(Value::Null),
                        )
                    })
                    .collect()
            }
            Value::Exception(e) => vec![
                ("Message".into(), Value::from(e.message.as_str())),
                ("Data".into(), Value::hashtable(false)),
                ("InnerException".into(), Value::Null),
                ("TargetSite".into(), Value::Null),
                ("StackTrace".into(), Value::Null),
                ("HelpLink".into(), Value::Null),
                ("Source".into(), Value::str("System.Management.Automation")),
                ("HResult".into(), Value::Int(-2_146_233_087)),
            ],
            Value::DateTime(dt) => [
                "Date",
                "Day",
                "DayOfWeek",
                "DayOfYear",
                "Hour",
                "Kind",
                "Millisecond",
                "Minute",
                "Month",
                "Second",
                "Ticks",
                "TimeOfDay",
                "Year",
                "DateTime",
            ]
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    date_member(dt, &n.to_ascii_lowercase()).unwrap_or(Value::Null),
                )
            })
            .collect(),
            Value::TimeSpan(t) => [
                "Ticks",
                "Days",
                "Hours",
                "Milliseconds",
                "Minutes",
                "Seconds",
                "TotalDays",
                "TotalHours",
                "TotalMilliseconds",
                "TotalMinutes",
                "TotalSeconds",
            ]
            .iter()
            .map(|n| {
                (
                    (*n).to_owned(),
                    timespan_member(*t, &n.to_ascii_lowercase()).unwrap_or(Value::Null),
                )
            })
            .collect(),
            Value::Guid(g) => vec![("Guid".into(), Value::from(g.to_string()))],
            Value::Credential(c) => vec![
                ("UserName".into(), Value::from(c.user_name.as_str())),
                (
                    "Password".into(),
                    Value::SecureString(c.password.as_str().into()),
                ),
            ],
            Value::String(s) => vec![(
                "Length".into(),
                Value::Int(len_i32(s.encode_utf16().count())),
            )],
            Value::Hashtable(h) => vec![
                ("IsReadOnly".into(), Value::Bool(false)),
                ("IsFixedSize".into(), Value::Bool(false)),
                ("IsSynchronized".into(), Value::Bool(false)),
                (
                    "Keys".into(),
                    Value::array(h.read(|d| d.entries().iter().map(|(k, _)| k.clone()).collect())),
                ),
                (
                    "Values".into(),
                    Value::array(h.read(|d| d.entries().iter().map(|(_, v)| v.clone()).collect())),
                ),
                ("SyncRoot".into(), Value::Hashtable(h.clone())),
                (
                    "Count".into(),
                    Value::Int(len_i32(h.read(HashtableData::len))),
                ),
            ],
            Value::Array(a) => vec![
                (
                    "Length".into(),
                    Value::Int(len_i32(a.read(|d| d.items.len()))),
                ),
                ("Rank".into(), Value::Int(1)),
                (
                    "IsFixedSize".into(),
                    Value::Bool(a.read(|d| d.kind == ArrayKind::Fixed)),
                ),
                ("IsReadOnly".into(), Value::Bool(false)),
                ("IsSynchronized".into(), Value::Bool(false)),
                (
                    "Count".into(),
                    Value::Int(len_i32(a.read(|d| d.items.len()))),
                ),
            ],
            _ => Vec::new(),
        }
    }

    /// `$x.PSObject`: Properties (indexable by name), TypeNames,
    /// BaseObject.
    fn psobject_view(&mut self, v: &Value) -> Value {
        let member_type = match v {
            Value::Object(o) if o.read(ObjectData::is_custom) => "NoteProperty",
            _ => "Property",
        };
        let props: Vec<Value> = self
            .properties_of(v)
            .into_iter()
            .map(|(name, value)| {
                let type_name = value.type_name();
                obj(
                    "System.Management.Automation.PSNoteProperty",
                    vec![
                        ("Name", Value::from(name.as_str())),
                        ("Value", value.clone()),
                        ("MemberType", Value::str(member_type)),
                        ("TypeNameOfValue", Value::from(type_name)),
                        ("IsSettable", Value::Bool(true)),
                        ("IsGettable", Value::Bool(true)),
                        ("IsInstance", Value::Bool(true)),
                    ],
                    Some(format!("{name}={}", convert::scalar_text(&value))),
                )
            })
            .collect();
        let type_names: Vec<Value> = self.type_names(v).into_iter().map(Value::from).collect();
        obj(
            "System.Management.Automation.PSObject",
            vec![
                (
                    "Properties",
                    Value::Array(Shared::new(ArrayData {
                        items: props,
                        kind: ArrayKind::PropertyCollection,
                    })),
                ),
                ("TypeNames", Value::array(type_names)),
                ("BaseObject", v.clone()),
                ("ImmediateBaseObject", v.clone()),
            ],
            None,
        )
    }

    fn error_record_member(
        &mut self,
        e: &Arc<super::errors::PsError>,
        lower: &str,
    ) -> Option<Value> {
        Some(match lower {
            "exception" => Value::Exception(e.clone()),
            "fullyqualifiederrorid" => Value::from(e.fully_qualified_error_id.as_str()),
            "categoryinfo" => obj(
                "System.Management.Automation.ErrorCategoryInfo",
                vec![
                    (
                        "Category",
                        Value::enumeration(
                            "System.Management.Automation.ErrorCategory",
                            e.category.name(),
                            e.category as i64,
                        ),
                    ),
                    ("Activity", Value::from(e.command.as_deref().unwrap_or(""))),
                    ("Reason", Value::from(e.reason())),
                    ("TargetName", Value::from(e.target_name.as_str())),
                    ("TargetType", Value::from(e.target_type.as_str())),
                ],
                Some(e.category_info()),
            ),
            "targetobject" => {
                if e.target_name.is_empty() {
                    Value::Null
                } else {
                    Value::from(e.target_name.as_str())
                }
            }
            "invocationinfo" => {
                let (line, column, text, position_message) = match &e.position {
                    Some(p) => (
                        i32::try_from(p.line).unwrap_or(0),
                        i32::try_from(p.column).unwrap_or(0),
                        p.line_text.clone(),
                        super::render::position_message(p),
                    ),
                    None => (0, 0, String::new(), String::new()),
                };
                let command = e.command.as_deref().map_or(Value::Null, |c| {
                    obj(
                        "System.Management.Automation.CmdletInfo",
                        vec![("Name", Value::from(c))],
                        Some(c.to_owned()),
                    )
                });
                obj(
                    "System.Management.Automation.InvocationInfo",
                    vec![
                        ("MyCommand", command),
                        ("ScriptLineNumber", Value::Int(line)),
                        ("OffsetInLine", Value::Int(column)),
                        ("Line", Value::from(text)),
                        ("PositionMessage", Value::from(position_message)),
                        (
                            "InvocationName",
                            Value::from(e.command.as_deref().unwrap_or("")),
                        ),
                        ("ScriptName", Value::str("")),
                    ],
                    None,
                )
            }
            "scriptstacktrace" => Value::from(e.script_stack_trace.as_str()),
            "errordetails" => Value::Null,
            "pipelineiterationinfo" => Value::array(Vec::new()),
            "vmmerrorid" | "errorid" => e
                .vmm_error_id
                .map_or(Value::Null, |id| Value::Long(i64::from(id))),
            _ => return None,
        })
    }

    /// `$x.name = value`.
    pub(crate) fn set_member(
        &mut self,
        v: &Value,
        name: &str,
        value: Value,
    ) -> Result<(), PsError> {
        match v {
            Value::Hashtable(h) => {
                h.write(|d| d.insert(Value::from(name), value));
                Ok(())
            }
            Value::Object(o) => {
                let found = o.write(|d| {
                    if d.get(name).is_some() {
                        d.set(name, value);
                        true
                    } else {
                        false
                    }
                });
                if found {
                    Ok(())
                } else {
                    Err(property_not_found(name))
                }
            }
            Value::HostRef(_) => Err(PsError::new(
                format!("'{name}' is a ReadOnly property."),
                "PropertyAssignmentException",
            )
            .with_category(ErrorCategory::InvalidOperation)),
            _ => Err(property_not_found(name)),
        }
    }

    /// `$x[index]`.
    pub(crate) fn index(&mut self, v: &Value, index: &Value) -> Result<Value, PsError> {
        // Several indices select several elements.
        if let Value::Array(indices) = index
            && !matches!(v, Value::Hashtable(_))
        {
            let indices = indices.read(|d| d.items.clone());
            let mut out = Vec::new();
            for i in &indices {
                let r = self.index(v, i)?;
                if !r.is_null() {
                    out.push(r);
                }
            }
            return Ok(Value::array(out));
        }
        match v {
            Value::Null => Err(PsError::new("Cannot index into a null array.", "NullArray")
                .with_category(ErrorCategory::InvalidOperation)),
            Value::Array(a) => {
                let kind = a.read(|d| d.kind.clone());
                if kind == ArrayKind::PropertyCollection
                    && let Value::String(name) = index
                {
                    let items = a.read(|d| d.items.clone());
                    for item in items {
                        if let Value::Object(o) = &item {
                            let hit = o.read(|d| {
                                d.get("Name").is_some_and(|n| {
                                    convert::scalar_text(n).eq_ignore_ascii_case(name)
                                })
                            });
                            if hit {
                                return Ok(item);
                            }
                        }
                    }
                    return Ok(Value::Null);
                }
                let i = as_index(index).ok_or_else(|| {
                    PsError::conversion(
                        &convert::to_text(index, self),
                        "System.Int32",
                        "Input string was not in a correct format.",
                    )
                })?;
                Ok(
                    a.read(|d| resolve_index(i, d.items.len()).map(|k| d.items[k].clone()))
                        .unwrap_or(Value::Null),
                )
            }
            Value::Bytes(b) => {
                let i = as_index(index).unwrap_or(i64::MAX);
                Ok(
                    b.read(|d| resolve_index(i, d.len()).map(|k| Value::Byte(d[k])))
                        .unwrap_or(Value::Null),
                )
            }
            Value::Hashtable(h) => {
                if let Value::Array(keys) = index {
                    let keys = keys.read(|d| d.items.clone());
                    let values = h.read(|d| {
                        keys.iter()
                            .map(|k| d.get(k).cloned().unwrap_or(Value::Null))
                            .collect()
                    });
                    return Ok(Value::array(values));
                }
                let (ordered, found) = h.read(|d| (d.ordered, d.get(index).cloned()));
                if let Some(found) = found {
                    return Ok(found);
                }
                if ordered && let Value::Int(i) = index {
                    return Ok(h
                        .read(|d| {
                            resolve_index(i64::from(*i), d.len())
                                .and_then(|k| d.at(k).map(|(_, v)| v.clone()))
                        })
                        .unwrap_or(Value::Null));
                }
                Ok(Value::Null)
            }
            Value::String(s) => {
                let i = as_index(index).unwrap_or(i64::MAX);
                let chars: Vec<char> = s.chars().collect();
                Ok(resolve_index(i, chars.len()).map_or(Value::Null, |k| Value::Char(chars[k])))
            }
            Value::Object(o) if !o.read(ObjectData::is_custom) => {
                // Typed objects (match results, ...) index like scalars.
                Ok(scalar_index(v, index))
            }
            Value::Object(_) => Err(PsError::new(
                "Unable to index into an object of type System.Management.Automation.PSObject.",
                "CannotIndex",
            )
            .with_category(ErrorCategory::InvalidOperation)),
            other => Ok(scalar_index(other, index)),
        }
    }

    /// `$x[index] = value`.
    pub(crate) fn set_index(
        &mut self,
        v: &Value,
        index: Value,
        value: Value,
    ) -> Result<(), PsError> {
        match v {
            Value::Null => Err(PsError::new("Cannot index into a null array.", "NullArray")
                .with_category(ErrorCategory::InvalidOperation)),
            Value::Array(a) => {
                let i = as_index(&index).ok_or_else(|| {
                    PsError::conversion(
                        &convert::scalar_text(&index),
                        "System.Int32",
                        "Input string was not in a correct format.",
                    )
                })?;
                let ok = a.write(|d| match resolve_index(i, d.items.len()) {
                    Some(k) => {
                        d.items[k] = value;
                        true
                    }
                    None => false,
                });
                if ok {
                    Ok(())
                } else {
                    Err(PsError::new(
                        "Index was outside the bounds of the array.",
                        "System.IndexOutOfRangeException",
                    )
                    .with_exception(exception::INDEX_OUT_OF_RANGE)
                    .with_category(ErrorCategory::InvalidOperation))
                }
            }
            Value::Bytes(b) => {
                let i = as_index(&index).unwrap_or(i64::MAX);
                let byte = match convert::convert_to(&value, &PsType::Byte, self)? {
                    Value::Byte(x) => x,
                    _ => 0,
                };
                let ok = b.write(|d| match resolve_index(i, d.len()) {
                    Some(k) => {
                        d[k] = byte;
                        true
                    }
                    None => false,
                });
                if ok {
                    Ok(())
                } else {
                    Err(PsError::new(
                        "Index was outside the bounds of the array.",
                        "System.IndexOutOfRangeException",
                    )
                    .with_exception(exception::INDEX_OUT_OF_RANGE))
                }
            }
            Value::Hashtable(h) => {
                let (ordered, present) = h.read(|d| (d.ordered, d.contains_key(&index)));
                if ordered
                    && !present
                    && let Value::Int(i) = index
                {
                    let ok = h.write(|d| match resolve_index(i64::from(i), d.len()) {
                        Some(k) => d.set_at(k, value.clone()),
                        None => false,
                    });
                    if ok {
                        return Ok(());
                    }
                }
                h.write(|d| d.insert(index, value));
                Ok(())
            }
            Value::Object(o) => {
                let name = convert::scalar_text(&index);
                o.write(|d| d.set(&name, value));
                Ok(())
            }
            other => Err(PsError::new(
                format!(
                    "Unable to index into an object of type {}.",
                    other.type_name()
                ),
                "CannotIndex",
            )
            .with_category(ErrorCategory::InvalidOperation)),
        }
    }

    /// `$x.Method(args)`.
    pub(crate) fn call_method(
        &mut self,
        v: &Value,
        name: &str,
        args: Vec<Value>,
        span: Span,
    ) -> R<Value> {
        self.step()?;
        let lower = name.to_ascii_lowercase();
        // Script-block taking "magic" methods work on any value.
        match lower.as_str() {
            "foreach" if !matches!(v, Value::Hashtable(_)) => {
                return self.magic_foreach(v, args, span);
            }
            "where" if !matches!(v, Value::Hashtable(_)) => return self.magic_where(v, args, span),
            _ => {}
        }
        if let Value::ScriptBlock(sb) = v {
            match lower.as_str() {
                "invoke" | "invokereturnasis" => {
                    let out = self.invoke_block(sb, args, None, span)?;
                    return Ok(if lower == "invoke" {
                        Value::array(out)
                    } else {
                        Value::from_output(out)
                    });
                }
                "getnewclosure" => return Ok(v.clone()),
                _ => {}
            }
        }
        let result = self.call_method_plain(v, name, &lower, args);
        result.map_err(|e| self.fail(e, span))
    }

    fn magic_foreach(&mut self, v: &Value, args: Vec<Value>, span: Span) -> R<Value> {
        let items = match v {
            Value::Null => Vec::new(),
            other => other.enumerate(),
        };
        let mut out = Vec::new();
        match args.first() {
            Some(Value::ScriptBlock(sb)) => {
                for item in items {
                    self.step()?;
                    out.extend(self.run_block_here(sb, Some(item))?);
                }
            }
            Some(Value::Type(t)) => {
                for item in items {
                    out.push(
                        convert::convert_to(&item, &t.ty, self).map_err(|e| self.fail(e, span))?,
                    );
                }
            }
            Some(other) => {
                let member = convert::to_text(other, self);
                let rest: Vec<Value> = args[1..].to_vec();
                for item in items {
                    let has_method = !rest.is_empty();
                    let r = if has_method {
                        self.call_method(&item, &member, rest.clone(), span)?
                    } else {
                        self.get_member(&item, &member)
                            .map_err(|e| self.fail(e, span))?
                    };
                    out.push(r);
                }
            }
            None => return Err(self.fail(wrong_arg_count("ForEach", 0), span)),
        }
        Ok(Value::array(out))
    }

    fn magic_where(&mut self, v: &Value, args: Vec<Value>, span: Span) -> R<Value> {
        let items = match v {
            Value::Null => Vec::new(),
            other => other.enumerate(),
        };
        let Some(Value::ScriptBlock(sb)) = args.first() else {
            return Err(self.fail(wrong_arg_count("Where", args.len()), span));
        };
        let mode = args
            .get(1)
            .map(|m| convert::scalar_text(m).to_ascii_lowercase())
            .unwrap_or_else(|| "default".into());
        let limit = args
            .get(2)
            .and_then(as_index)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let mut out = Vec::new();
        for item in items {
            self.step()?;
            let r = self.run_block_here(sb, Some(item.clone()))?;
            if convert::to_bool(&Value::from_output(r)) {
                out.push(item);
                if mode == "first" && out.len() >= limit.max(1) {
                    break;
                }
            }
        }
        if mode == "last" {
            let keep = limit.max(1);
            let skip = out.len().saturating_sub(keep);
            out.drain(..skip);
        } else if limit > 0 && mode == "default" {
            out.truncate(limit);
        }
        Ok(Value::array(out))
    }

    fn call_method_plain(
        &mut self,
        v: &Value,
        name: &str,
        lower: &str,
        args: Vec<Value>,
    ) -> Result<Value, PsError> {
        let n = args.len();
        // Members every object has.
        match (lower, n) {
            ("gettype", 0) => {
                return Ok(match v {
                    Value::Null => {
                        return Err(PsError::new(
                            "You cannot call a method on a null-valued expression.",
                            "InvokeMethodOnNull",
                        )
                        .with_category(ErrorCategory::InvalidOperation));
                    }
                    Value::Object(_) | Value::HostRef(_) | Value::Exception(_) | Value::Enum(_) => {
                        Value::Type(TypeValue {
                            full_name: v.type_name(),
                            ty: PsType::Named(v.type_name()),
                        })
                    }
                    other => Value::Type(TypeValue::new(PsType::of(other))),
                });
            }
            ("equals", 1) if !matches!(v, Value::String(_)) => {
                return Ok(Value::Bool(dotnet_equals(v, &args[0])));
            }
            ("gethashcode", 0) => {
                let text = convert::to_text(v, self);
                let h = text.bytes().fold(5381i32, |h, b| {
                    h.wrapping_mul(33).wrapping_add(i32::from(b))
                });
                return Ok(Value::Int(h));
            }
            _ => {}
        }
        match v {
            Value::Null => Err(PsError::new(
                "You cannot call a method on a null-valued expression.",
                "InvokeMethodOnNull",
            )
            .with_category(ErrorCategory::InvalidOperation)
            .with_exception(exception::RUNTIME)),
            Value::String(s) => self.string_method(s, name, lower, &args),
            Value::Array(a) => self.array_method(a, v, name, lower, args),
            Value::Hashtable(h) => self.hashtable_method(h, name, lower, args),
            Value::DateTime(dt) => self.date_method(dt, name, lower, &args),
            Value::TimeSpan(t) => match (lower, n) {
                ("tostring", _) => Ok(Value::from(format::timespan_to_string(t.0))),
                ("add", 1) | ("subtract", 1) => match &args[0] {
                    Value::TimeSpan(o) => Ok(Value::TimeSpan(TimeSpan(if lower == "add" {
                        t.0.saturating_add(o.0)
                    } else {
                        t.0.saturating_sub(o.0)
                    }))),
                    _ => Err(wrong_arg_count(name, n)),
                },
                _ => Err(PsError::method_not_found("System.TimeSpan", name)),
            },
            Value::Guid(g) => match lower {
                "tostring" => {
                    let f = args.first().map(convert::scalar_text).unwrap_or_default();
                    format::format_with(v, &f, &convert::scalar_text)
                        .map(Value::from)
                        .map(|x| {
                            if f.is_empty() {
                                Value::from(g.to_string())
                            } else {
                                x
                            }
                        })
                }
                "equals" => Ok(Value::Bool(match &args.first() {
                    Some(Value::Guid(o)) => o == g,
                    Some(Value::String(s)) => uuid::Uuid::parse_str(s).is_ok_and(|o| &o == g),
                    _ => false,
                })),
                _ => Err(PsError::method_not_found("System.Guid", name)),
            },
            Value::Credential(c) => match lower {
                "getnetworkcredential" => {
                    let (domain, user) = match c.user_name.split_once('\\') {
                        Some((d, u)) => (d.to_owned(), u.to_owned()),
                        None => (String::new(), c.user_name.clone()),
                    };
                    Ok(obj(
                        "System.Net.NetworkCredential",
                        vec![
                            ("UserName", Value::from(user)),
                            ("Password", Value::from(c.password.as_str())),
                            (
                                "SecurePassword",
                                Value::SecureString(c.password.as_str().into()),
                            ),
                            ("Domain", Value::from(domain)),
                        ],
                        Some("System.Net.NetworkCredential".into()),
                    ))
                }
                "tostring" => Ok(Value::str("System.Management.Automation.PSCredential")),
                _ => Err(PsError::method_not_found(
                    "System.Management.Automation.PSCredential",
                    name,
                )),
            },
            Value::SecureString(_) => match lower {
                "dispose" | "makereadonly" | "clear" => Ok(Value::Null),
                "tostring" => Ok(Value::str("System.Security.SecureString")),
                _ => Err(PsError::method_not_found(
                    "System.Security.SecureString",
                    name,
                )),
            },
            Value::Encoding(e) => encoding_method(*e, name, lower, &args, self),
            Value::HostRef(r) => {
                if lower == "tostring" && n == 0 {
                    return Ok(Value::from(convert::to_text(v, self)));
                }
                match self.host.call_method(r, name, &args) {
                    Some(result) => result,
                    None => Err(PsError::method_not_found(r.type_name(), name)),
                }
            }
            Value::Bytes(b) => match lower {
                "clone" => Ok(Value::bytes(b.read(Clone::clone))),
                "tostring" => Ok(Value::str("System.Byte[]")),
                _ => Err(PsError::method_not_found("System.Byte[]", name)),
            },
            Value::Int(_)
            | Value::Long(_)
            | Value::Byte(_)
            | Value::Double(_)
            | Value::Decimal(_) => match lower {
                "tostring" => {
                    let f = args.first().map(convert::scalar_text).unwrap_or_default();
                    format::format_number(v, &f)
                        .unwrap_or_else(|| Ok(convert::scalar_text(v)))
                        .map(Value::from)
                }
                "compareto" if n == 1 => {
                    let a = convert::to_num(v, self)?.as_f64();
                    let b = convert::to_num(&args[0], self)?.as_f64();
                    Ok(Value::Int(a.partial_cmp(&b).map_or(0, |o| o as i32)))
                }
                _ => Err(PsError::method_not_found(&v.type_name(), name)),
            },
            Value::Exception(e) => match lower {
                "tostring" => Ok(Value::from(format!("{}: {}", e.exception_type, e.message))),
                "getbaseexception" => Ok(v.clone()),
                _ => Err(PsError::method_not_found(&e.exception_type, name)),
            },
            Value::Type(t) => match lower {
                "tostring" => Ok(Value::from(t.full_name.as_str())),
                _ => Err(PsError::method_not_found("System.RuntimeType", name)),
            },
            Value::Object(o) => {
                if lower == "tostring" && n == 0 {
                    return Ok(Value::from(convert::to_string_method(v, self)));
                }
                // A script method stored as a property holding a script
                // block is not modelled; report the missing method.
                let type_name = o.read(|d| d.type_names.first().cloned().unwrap_or_default());
                Err(PsError::method_not_found(&type_name, name))
            }
            other => {
                if lower == "tostring" && n == 0 {
                    return Ok(Value::from(convert::to_string_method(other, self)));
                }
                if lower == "tostring" {
                    let f = convert::scalar_text(&args[0]);
                    return format::format_with(other, &f, &convert::scalar_text).map(Value::from);
                }
                if lower == "compareto" && n == 1 {
                    let o = super::operators::compare_values(self, other, &args[0], false)?;
                    return Ok(Value::Int(o as i32));
                }
                Err(PsError::method_not_found(&other.type_name(), name))
            }
        }
    }

    fn string_method(
        &mut self,
        s: &str,
        name: &str,
        lower: &str,
        args: &[Value],
    ) -> Result<Value, PsError> {
        let n = args.len();
        let text = |i: usize| args.get(i).map(convert::scalar_text).unwrap_or_default();
        let comparison_ignores_case = |i: usize| {
            args.get(i).is_some_and(|v| {
                let t = convert::scalar_text(v).to_ascii_lowercase();
                t.contains("ignorecase")
                    || matches!(v, Value::Int(1 | 3 | 5))
                    || matches!(v, Value::Enum(e) if e.value % 2 == 1)
            })
        };
        let chars: Vec<char> = s.chars().collect();
        let len = chars.len();
        let out_of_range = |param: &str, msg: &str| {
            arg_error(name, n, &format!("{msg}\r\nParameter name: {param}"))
        };
        Ok(match (lower, n) {
            ("tostring", _) => Value::from(s),
            ("toupper" | "toupperinvariant", _) => Value::from(s.to_uppercase()),
            ("tolower" | "tolowerinvariant", _) => Value::from(s.to_lowercase()),
            ("trim" | "trimstart" | "trimend", _) => {
                let set: Vec<char> = if n == 0 {
                    Vec::new()
                } else {
                    args.iter()
                        .flat_map(|a| convert::scalar_text(a).chars().collect::<Vec<_>>())
                        .collect()
                };
                let matches = |c: char| {
                    if set.is_empty() {
                        c.is_whitespace()
                    } else {
                        set.contains(&c)
                    }
                };
                Value::from(match lower {
                    "trim" => s.trim_matches(matches),
                    "trimstart" => s.trim_start_matches(matches),
                    _ => s.trim_end_matches(matches),
                })
            }
            ("contains", 1) => Value::Bool(s.contains(&text(0))),
            ("startswith", 1 | 2) => Value::Bool(if comparison_ignores_case(1) {
                s.to_lowercase().starts_with(&text(0).to_lowercase())
            } else {
                s.starts_with(&text(0))
            }),
            ("endswith", 1 | 2) => Value::Bool(if comparison_ignores_case(1) {
                s.to_lowercase().ends_with(&text(0).to_lowercase())
            } else {
                s.ends_with(&text(0))
            }),
            ("equals", 1 | 2) => Value::Bool(if comparison_ignores_case(1) {
                s.to_lowercase() == text(0).to_lowercase()
            } else {
                matches!(&args[0], Value::String(o) if **o == *s)
            }),
            ("indexof" | "lastindexof", 1..=3) => {
                let needle: Vec<char> = text(0).chars().collect();
                let ignore = args.iter().skip(1).any(|a| {
                    matches!(a, Value::Enum(_) | Value::String(_))
                        && convert::scalar_text(a)
                            .to_ascii_lowercase()
                            .contains("ignorecase")
                });
                let hay: Vec<char> = if ignore {
                    s.to_lowercase().chars().collect()
                } else {
                    chars.clone()
                };
                let needle: Vec<char> = if ignore {
                    needle
                        .iter()
                        .collect::<String>()
                        .to_lowercase()
                        .chars()
                        .collect()
                } else {
                    needle
                };
                let start = match args.get(1) {
                    Some(v) if !matches!(v, Value::Enum(_) | Value::String(_)) => {
                        usize::try_from(int_arg(Some(v), name, n)?).unwrap_or(0)
                    }
                    _ => 0,
                };
                let found = if needle.is_empty() {
                    Some(if lower == "indexof" {
                        start.min(len)
                    } else {
                        len.saturating_sub(1)
                    })
                } else if lower == "indexof" {
                    (start..hay.len().saturating_sub(needle.len() - 1))
                        .find(|&i| hay[i..].starts_with(&needle))
                } else {
                    (0..hay.len().saturating_sub(needle.len() - 1))
                        .rev()
                        .find(|&i| hay[i..].starts_with(&needle))
                };
                Value::Int(found.map_or(-1, len_i32))
            }
            ("substring", 1 | 2) => {
                let start = int_arg(args.first(), name, n)?;
                let start = usize::try_from(start)
                    .ok()
                    .filter(|&st| st <= len)
                    .ok_or_else(|| {
                        out_of_range(
                            "startIndex",
                            "startIndex cannot be larger than length of string.",
                        )
                    })?;
                let end = if n == 2 {
                    let count = usize::try_from(int_arg(args.get(1), name, n)?)
                        .map_err(|_| out_of_range("length", "Length cannot be less than zero."))?;
                    if start.saturating_add(count) > len {
                        return Err(out_of_range(
                            "length",
                            "Index and length must refer to a location within the string.",
                        ));
                    }
                    start.saturating_add(count)
                } else {
                    len
                };
                Value::from(chars[start..end].iter().collect::<String>())
            }
            ("remove", 1 | 2) => {
                let start = usize::try_from(int_arg(args.first(), name, n)?)
                    .ok()
                    .filter(|&st| st <= len)
                    .ok_or_else(|| {
                        out_of_range(
                            "startIndex",
                            "startIndex must be less than length of string.",
                        )
                    })?;
                let end = if n == 2 {
                    start
                        .saturating_add(
                            usize::try_from(int_arg(args.get(1), name, n)?).unwrap_or(0),
                        )
                        .min(len)
                } else {
                    len
                };
                let mut out: String = chars[..start].iter().collect();
                out.extend(&chars[end..]);
                Value::from(out)
            }
            ("insert", 2) => {
                let at = usize::try_from(int_arg(args.first(), name, n)?)
                    .ok()
                    .filter(|&st| st <= len)
                    .ok_or_else(|| out_of_range("startIndex", "Index was out of range."))?;
                let mut out: String = chars[..at].iter().collect();
                out.push_str(&text(1));
                out.extend(&chars[at..]);
                Value::from(out)
            }
            ("replace", 2) => {
                let from = text(0);
                if from.is_empty() {
                    return Err(arg_error(
                        name,
                        n,
                        "String cannot be of zero length.\r\nParameter name: oldValue",
                    ));
                }
                Value::from(s.replace(&from, &text(1)))
            }
            ("split", _) => {
                let (separators, options) = split_args(args);
                let remove_empty = options;
                let mut parts: Vec<String> = Vec::new();
                if separators.is_empty() {
                    parts = s.split(char::is_whitespace).map(str::to_owned).collect();
                } else {
                    let mut current = String::new();
                    let mut i = 0;
                    while i < len {
                        let hit = separators.iter().find(|sep| {
                            let sc: Vec<char> = sep.chars().collect();
                            !sc.is_empty() && chars[i..].starts_with(&sc)
                        });
                        match hit {
                            Some(sep) => {
                                parts.push(std::mem::take(&mut current));
                                i += sep.chars().count();
                            }
                            None => {
                                current.push(chars[i]);
                                i += 1;
                            }
                        }
                    }
                    parts.push(current);
                }
                if remove_empty {
                    parts.retain(|p| !p.is_empty());
                }
                self.check_size(parts.len(), "A split result")
                    .map_err(flow_to_error)?;
                Value::array(parts.into_iter().map(Value::from).collect())
            }
            ("padleft" | "padright", 1 | 2) => {
                let width = usize::try_from(int_arg(args.first(), name, n)?).unwrap_or(0);
                self.check_size(width, "A padded string")
                    .map_err(flow_to_error)?;
                let pad = args
                    .get(1)
                    .map(convert::scalar_text)
                    .and_then(|t| t.chars().next())
                    .unwrap_or(' ');
                let fill: String = std::iter::repeat_n(pad, width.saturating_sub(len)).collect();
                Value::from(if lower == "padleft" {
                    format!("{fill}{s}")
                } else {
                    format!("{s}{fill}")
                })
            }
            ("tochararray", 0) => Value::array(chars.iter().map(|&c| Value::Char(c)).collect()),
            ("chars", 1) => {
                let i = int_arg(args.first(), name, n)?;
                resolve_index(i, len)
                    .filter(|_| i >= 0)
                    .map(|k| Value::Char(chars[k]))
                    .ok_or_else(|| {
                        out_of_range("index", "Index was outside the bounds of the array.")
                    })?
            }
            ("compareto", 1) => Value::Int(match s.to_lowercase().cmp(&text(0).to_lowercase()) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            }),
            ("normalize", _) | ("clone", 0) => Value::from(s),
            ("getenumerator", 0) => Value::array(chars.iter().map(|&c| Value::Char(c)).collect()),
            ("toint32", _) | ("toint64", _) => {
                return convert::convert_to(&Value::from(s), &PsType::Long, self);
            }
            _ => {
                let known = [
                    "tostring",
                    "toupper",
                    "tolower",
                    "trim",
                    "trimstart",
                    "trimend",
                    "contains",
                    "startswith",
                    "endswith",
                    "equals",
                    "indexof",
                    "lastindexof",
                    "substring",
                    "remove",
                    "insert",
                    "replace",
                    "split",
                    "padleft",
                    "padright",
                    "tochararray",
                    "compareto",
                ];
                if known.contains(&lower) {
                    return Err(wrong_arg_count(name, n));
                }
                return Err(PsError::method_not_found("System.String", name));
            }
        })
    }

    fn array_method(
        &mut self,
        a: &super::value::Array,
        v: &Value,
        name: &str,
        lower: &str,
        args: Vec<Value>,
    ) -> Result<Value, PsError> {
        let n = args.len();
        let kind = a.read(|d| d.kind.clone());
        let fixed = matches!(kind, ArrayKind::Fixed | ArrayKind::PropertyCollection);
        let fixed_size = || arg_error(name, n, "Collection was of a fixed size.");
        Ok(match (lower, n) {
            ("tostring", 0) => Value::from(v.type_name()),
            ("contains", 1) => {
                Value::Bool(a.read(|d| d.items.iter().any(|x| dotnet_equals(x, &args[0]))))
            }
            ("indexof", 1) => Value::Int(
                a.read(|d| d.items.iter().position(|x| dotnet_equals(x, &args[0])))
                    .map_or(-1, len_i32),
            ),
            ("clone", 0) => Value::Array(Shared::new(a.read(Clone::clone))),
            ("toarray", 0) => Value::array(a.read(|d| d.items.clone())),
            ("getenumerator", 0) => Value::array(a.read(|d| d.items.clone())),
            ("add", 1) => {
                if fixed {
                    return Err(fixed_size());
                }
                let item = match &kind {
                    ArrayKind::List(t) => {
                        let ty = PsType::resolve(&crate::ps::ast::TypeName::Named(t.clone()));
                        convert::convert_to(&args[0], &ty, self)?
                    }
                    _ => args[0].clone(),
                };
                let index = a.write(|d| {
                    d.items.push(item);
                    d.items.len() - 1
                });
                self.check_size(index, "A list").map_err(flow_to_error)?;
                if kind == ArrayKind::ArrayList {
                    Value::Int(len_i32(index))
                } else {
                    return Ok(Value::Null);
                }
            }
            ("addrange", 1) => {
                if fixed {
                    return Err(fixed_size());
                }
                let items = args[0].enumerate();
                a.write(|d| d.items.extend(items));
                Value::Null
            }
            ("remove", 1) => {
                if fixed {
                    return Err(fixed_size());
                }
                let removed =
                    a.write(
                        |d| match d.items.iter().position(|x| dotnet_equals(x, &args[0])) {
                            Some(i) => {
                                d.items.remove(i);
                                true
                            }
                            None => false,
                        },
                    );
                if matches!(kind, ArrayKind::List(_)) {
                    Value::Bool(removed)
                } else {
                    Value::Null
                }
            }
            ("removeat", 1) => {
                if fixed {
                    return Err(fixed_size());
                }
                let i = int_arg(args.first(), name, n)?;
                let ok =
                    a.write(
                        |d| match usize::try_from(i).ok().filter(|&k| k < d.items.len()) {
                            Some(k) => {
                                d.items.remove(k);
                                true
                            }
                            None => false,
                        },
                    );
                if !ok {
                    return Err(arg_error(
                        name,
                        n,
                        "Index was out of range. Must be non-negative and less than the size of the collection.\r\nParameter name: index",
                    ));
                }
                Value::Null
            }
            ("insert", 2) => {
                if fixed {
                    return Err(fixed_size());
                }
                let i = int_arg(args.first(), name, n)?;
                let item = args[1].clone();
                let ok =
                    a.write(
                        |d| match usize::try_from(i).ok().filter(|&k| k <= d.items.len()) {
                            Some(k) => {
                                d.items.insert(k, item);
                                true
                            }
                            None => false,
                        },
                    );
                if !ok {
                    return Err(arg_error(
                        name,
                        n,
                        "Index must be within the bounds of the List.\r\nParameter name: index",
                    ));
                }
                Value::Null
            }
            ("clear", 0) => {
                if fixed {
                    a.write(|d| {
                        for x in &mut d.items {
                            *x = Value::Null;
                        }
                    });
                } else {
                    a.write(|d| d.items.clear());
                }
                Value::Null
            }
            ("reverse", 0) if !fixed => {
                a.write(|d| d.items.reverse());
                Value::Null
            }
            ("sort", 0) if !fixed => {
                let items = a.read(|d| d.items.clone());
                let mut err = None;
                let items = super::operators::merge_sort(items, &mut |x, y| {
                    super::operators::compare_values(self, x, y, false).unwrap_or_else(|e| {
                        err = Some(e);
                        std::cmp::Ordering::Equal
                    })
                });
                if let Some(e) = err {
                    return Err(e);
                }
                a.write(|d| d.items = items);
                Value::Null
            }
            _ => return Err(PsError::method_not_found(&v.type_name(), name)),
        })
    }

    fn hashtable_method(
        &mut self,
        h: &super::value::Hashtable,
        name: &str,
        lower: &str,
        args: Vec<Value>,
    ) -> Result<Value, PsError> {
        let n = args.len();
        let type_name = Value::Hashtable(h.clone()).type_name();
        Ok(match (lower, n) {
            ("containskey" | "contains", 1) => Value::Bool(h.read(|d| d.contains_key(&args[0]))),
            ("containsvalue", 1) => {
                Value::Bool(h.read(|d| d.entries().iter().any(|(_, v)| dotnet_equals(v, &args[0]))))
            }
            ("add", 2) => {
                let dup = h.read(|d| d.contains_key(&args[0]));
                if dup {
                    let k = convert::to_text(&args[0], self);
                    return Err(arg_error(
                        name,
                        n,
                        &format!(
                            "Item has already been added. Key in dictionary: '{k}'  Key being added: '{k}'"
                        ),
                    ));
                }
                if args[0].is_null() {
                    return Err(arg_error(
                        name,
                        n,
                        "Key cannot be null.\r\nParameter name: key",
                    ));
                }
                let (k, v) = (args[0].clone(), args[1].clone());
                h.write(|d| d.insert(k, v));
                Value::Null
            }
            ("remove", 1) => {
                h.write(|d| d.remove(&args[0]));
                Value::Null
            }
            ("clear", 0) => {
                h.write(HashtableData::clear);
                Value::Null
            }
            ("clone", 0) => Value::Hashtable(Shared::new(h.read(Clone::clone))),
            ("getenumerator", 0) => {
                let entries = h.read(|d| d.entries().to_vec());
                Value::array(
                    entries
                        .into_iter()
                        .map(|(k, v)| {
                            let display = format!(
                                "[{}, {}]",
                                convert::scalar_text(&k),
                                convert::scalar_text(&v)
                            );
                            obj(
                                "System.Collections.DictionaryEntry",
                                vec![("Name", k.clone()), ("Key", k), ("Value", v)],
                                Some(display),
                            )
                        })
                        .collect(),
                )
            }
            ("tostring", 0) => Value::from(type_name),
            ("item", 1) => h.read(|d| d.get(&args[0]).cloned()).unwrap_or(Value::Null),
            _ => return Err(PsError::method_not_found(&type_name, name)),
        })
    }

    fn date_method(
        &mut self,
        dt: &DateTime,
        name: &str,
        lower: &str,
        args: &[Value],
    ) -> Result<Value, PsError> {
        let n = args.len();
        let num = |it: &mut Self, i: usize| -> Result<f64, PsError> {
            Ok(convert::to_num(args.get(i).unwrap_or(&Value::Null), it)?.as_f64())
        };
        let add_ns = |ns: f64| -> Result<Value, PsError> {
            // Saturating conversion: absurd offsets clamp instead of wrapping.
            let span = jiff::SignedDuration::from_nanos(ns as i64);
            dt.instant
                .checked_add(span)
                .map(|t| Value::DateTime(DateTime { instant: t, kind: dt.kind }))
                .map_err(|_| arg_error(name, n, "The added or subtracted value results in an un-representable DateTime.\r\nParameter name: value"))
        };
        match (lower, n) {
            ("tostring", 0) => Ok(Value::from(format::format_date(dt, ""))),
            ("tostring", _) => Ok(Value::from(format::format_date(
                dt,
                &convert::scalar_text(&args[0]),
            ))),
            ("addmilliseconds", 1) => add_ns(num(self, 0)? * 1e6),
            ("addseconds", 1) => add_ns(num(self, 0)? * 1e9),
            ("addminutes", 1) => add_ns(num(self, 0)? * 60e9),
            ("addhours", 1) => add_ns(num(self, 0)? * 3600e9),
            ("adddays", 1) => add_ns(num(self, 0)? * 86400e9),
            ("addticks", 1) => add_ns(num(self, 0)? * 100.0),
            ("addmonths" | "addyears", 1) => {
                let k = num(self, 0)? as i64;
                let zoned = dt.instant.to_zoned(jiff::tz::TimeZone::UTC);
                let span = if lower == "addmonths" {
                    jiff::Span::new().try_months(k)
                } else {
                    jiff::Span::new().try_years(k)
                }
                .map_err(|e| arg_error(name, n, &e.to_string()))?;
                let t = zoned
                    .checked_add(span)
                    .map_err(|e| arg_error(name, n, &e.to_string()))?;
                Ok(Value::DateTime(DateTime {
                    instant: t.timestamp(),
                    kind: dt.kind,
                }))
            }
            ("add", 1) => match &args[0] {
                Value::TimeSpan(t) => add_ns(t.0 as f64 * 100.0),
                _ => Err(wrong_arg_count(name, n)),
            },
            ("subtract", 1) => match &args[0] {
                Value::TimeSpan(t) => add_ns(-(t.0 as f64) * 100.0),
                Value::DateTime(o) => Ok(Value::TimeSpan(date_diff(dt, o))),
                _ => Err(wrong_arg_count(name, n)),
            },
            ("touniversaltime", 0) => Ok(Value::DateTime(DateTime {
                instant: dt.instant,
                kind: DateKind::Utc,
            })),
            ("tolocaltime", 0) => Ok(Value::DateTime(DateTime {
                instant: dt.instant,
                kind: DateKind::Local,
            })),
            ("toshortdatestring", 0) => Ok(Value::from(format::format_date(dt, "d"))),
            ("tolongdatestring", 0) => Ok(Value::from(format::format_date(dt, "D"))),
            ("toshorttimestring", 0) => Ok(Value::from(format::format_date(dt, "t"))),
            ("tolongtimestring", 0) => Ok(Value::from(format::format_date(dt, "T"))),
            ("tofiletime" | "tofiletimeutc", 0) => Ok(Value::Long(
                dt.instant.as_millisecond() * 10_000 + 116_444_736_000_000_000,
            )),
            ("compareto", 1) => match &args[0] {
                Value::DateTime(o) => Ok(Value::Int(dt.instant.cmp(&o.instant) as i32)),
                _ => Err(wrong_arg_count(name, n)),
            },
            _ => Err(PsError::method_not_found("System.DateTime", name)),
        }
    }
}

/// `.Split(...)` arguments: separators (a string splits on each of its
/// characters, a string array on whole strings) and RemoveEmptyEntries.
fn split_args(args: &[Value]) -> (Vec<String>, bool) {
    let mut seps = Vec::new();
    let mut remove_empty = false;
    for (i, a) in args.iter().enumerate() {
        match a {
            Value::Enum(e) if e.type_name.contains("StringSplitOptions") => {
                remove_empty = e.value == 1;
            }
            Value::String(s) if i > 0 && s.eq_ignore_ascii_case("RemoveEmptyEntries") => {
                remove_empty = true;
            }
            Value::String(s) if i > 0 && s.eq_ignore_ascii_case("None") => {}
            Value::Int(n) if i > 0 => remove_empty = *n == 1,
            Value::String(s) => seps.extend(s.chars().map(String::from)),
            Value::Char(c) => seps.push(c.to_string()),
            Value::Array(arr) => {
                let items = arr.read(|d| d.items.clone());
                let whole_strings = items
                    .iter()
                    .any(|x| matches!(x, Value::String(s) if s.chars().count() > 1));
                for item in items {
                    let t = convert::scalar_text(&item);
                    if whole_strings {
                        seps.push(t);
                    } else {
                        seps.extend(t.chars().map(String::from));
                    }
                }
            }
            _ => {}
        }
    }
    (seps, remove_empty)
}

fn encoding_method(
    e: TextEncoding,
    name: &str,
    lower: &str,
    args: &[Value],
    it: &mut Interp<'_>,
) -> Result<Value, PsError> {
    match lower {
        "getbytes" => {
            let text = match args.first() {
                Some(Value::Array(a)) => a
                    .read(|d| d.items.clone())
                    .iter()
                    .map(convert::scalar_text)
                    .collect(),
                Some(v) => convert::to_text(v, it),
                None => return Err(wrong_arg_count(name, 0)),
            };
            Ok(Value::bytes(encode(e, &text)))
        }
        "getstring" => {
            let bytes: Vec<u8> = match args.first() {
                Some(Value::Bytes(b)) => b.read(Clone::clone),
                Some(other) => match convert::convert_to(other, &PsType::ByteArray, it)? {
                    Value::Bytes(b) => b.read(Clone::clone),
                    _ => Vec::new(),
                },
                None => return Err(wrong_arg_count(name, 0)),
            };
            let bytes = if args.len() == 3 {
                let start = usize::try_from(as_index(&args[1]).unwrap_or(0)).unwrap_or(0);
                let count = usize::try_from(as_index(&args[2]).unwrap_or(0)).unwrap_or(0);
                if start.saturating_add(count) > bytes.len() {
                    return Err(arg_error(
                        name,
                        3,
                        "Index and count must refer to a location within the buffer.\r\nParameter name: bytes",
                    ));
                }
                bytes[start..start + count].to_vec()
            } else {
                bytes
            };
            Ok(Value::from(decode(e, &bytes)))
        }
        "getbytecount" => {
            let text = args
                .first()
                .map(|v| convert::to_text(v, it))
                .unwrap_or_default();
            Ok(Value::Int(len_i32(encode(e, &text).len())))
        }
        "getpreamble" => Ok(Value::bytes(match e {
            TextEncoding::Utf8 => vec![0xEF, 0xBB, 0xBF],
            TextEncoding::Unicode => vec![0xFF, 0xFE],
            TextEncoding::BigEndianUnicode => vec![0xFE, 0xFF],
            TextEncoding::Ascii => Vec::new(),
        })),
        "tostring" => Ok(Value::from(Value::Encoding(e).type_name())),
        _ => Err(PsError::method_not_found(
            &Value::Encoding(e).type_name(),
            name,
        )),
    }
}

/// Text to bytes in encoding `e`.
pub(crate) fn encode(e: TextEncoding, text: &str) -> Vec<u8> {
    match e {
        TextEncoding::Utf8 => text.as_bytes().to_vec(),
        TextEncoding::Ascii => text
            .chars()
            .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
            .collect(),
        TextEncoding::Unicode => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        TextEncoding::BigEndianUnicode => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
    }
}

/// Bytes in encoding `e` to text (invalid sequences become U+FFFD).
pub(crate) fn decode(e: TextEncoding, bytes: &[u8]) -> String {
    match e {
        TextEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        TextEncoding::Ascii => bytes
            .iter()
            .map(|&b| if b < 128 { char::from(b) } else { '?' })
            .collect(),
        TextEncoding::Unicode | TextEncoding::BigEndianUnicode => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| {
                    let pair = [c[0], c.get(1).copied().unwrap_or(0)];
                    if e == TextEncoding::Unicode {
                        u16::from_le_bytes(pair)
                    } else {
                        u16::from_be_bytes(pair)
                    }
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
    }
}

fn scalar_index(v: &Value, index: &Value) -> Value {
    match as_index(index) {
        Some(0 | -1) => v.clone(),
        _ => Value::Null,
    }
}

pub(crate) fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn flow_to_error(f: Flow) -> PsError {
    match f {
        Flow::Error(e, _) | Flow::Abort(e) => *e,
        _ => PsError::new("unexpected control flow", "InternalError"),
    }
}

/// `b - a` as a TimeSpan.
pub(crate) fn date_diff(a: &DateTime, b: &DateTime) -> TimeSpan {
    let ns = a.instant.as_nanosecond() - b.instant.as_nanosecond();
    TimeSpan(i64::try_from(ns / 100).unwrap_or(i64::MAX))
}

fn date_member(dt: &DateTime, lower: &str) -> Option<Value> {
    let z = dt.instant.to_zoned(jiff::tz::TimeZone::UTC);
    let c = z.datetime();
    Some(match lower {
        "year" => Value::Int(i32::from(c.year())),
        "month" => Value::Int(i32::from(c.month())),
        "day" => Value::Int(i32::from(c.day())),
        "hour" => Value::Int(i32::from(c.hour())),
        "minute" => Value::Int(i32::from(c.minute())),
        "second" => Value::Int(i32::from(c.second())),
        "millisecond" => Value::Int(c.subsec_nanosecond() / 1_000_000),
        "dayofyear" => Value::Int(i32::from(c.day_of_year())),
        "dayofweek" => {
            let w = c.weekday();
            let n = i64::from(w.to_sunday_zero_offset());
            let name = format::format_date(dt, "dddd");
            Value::enumeration("System.DayOfWeek", &name, n)
        }
        "kind" => {
            let (name, n) = match dt.kind {
                DateKind::Unspecified => ("Unspecified", 0),
                DateKind::Utc => ("Utc", 1),
                DateKind::Local => ("Local", 2),
            };
            Value::enumeration("System.DateTimeKind", name, n)
        }
        "date" => {
            let midnight = c.date().to_datetime(jiff::civil::Time::midnight());
            let ts = midnight.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
            Value::DateTime(DateTime {
                instant: ts,
                kind: dt.kind,
            })
        }
        "ticks" => Value::Long(
            i64::try_from(dt.instant.as_nanosecond() / 100).unwrap_or(0) + 621_355_968_000_000_000,
        ),
        "timeofday" => {
            let ns = i64::from(c.hour()) * 3_600_000_000_000
                + i64::from(c.minute()) * 60_000_000_000
                + i64::from(c.second()) * 1_000_000_000
                + i64::from(c.subsec_nanosecond());
            Value::TimeSpan(TimeSpan(ns / 100))
        }
        "datetime" => Value::from(format::format_date(dt, "F")),
        "unixtimeseconds" => Value::Long(dt.instant.as_second()),
        _ => return None,
    })
}

fn timespan_member(t: TimeSpan, lower: &str) -> Option<Value> {
    let ticks = t.0;
    let per_ms = 10_000i64;
    let per_s = per_ms * 1000;
    let per_m = per_s * 60;
    let per_h = per_m * 60;
    let per_d = per_h * 24;
    Some(match lower {
        "ticks" => Value::Long(ticks),
        "days" => Value::Int(i32::try_from(ticks / per_d).unwrap_or(0)),
        "hours" => Value::Int(i32::try_from((ticks / per_h) % 24).unwrap_or(0)),
        "minutes" => Value::Int(i32::try_from((ticks / per_m) % 60).unwrap_or(0)),
        "seconds" => Value::Int(i32::try_from((ticks / per_s) % 60).unwrap_or(0)),
        "milliseconds" => Value::Int(i32::try_from((ticks / per_ms) % 1000).unwrap_or(0)),
        "totaldays" => Value::Double(ticks as f64 / per_d as f64),
        "totalhours" => Value::Double(ticks as f64 / per_h as f64),
        "totalminutes" => Value::Double(ticks as f64 / per_m as f64),
        "totalseconds" => Value::Double(ticks as f64 / per_s as f64),
        "totalmilliseconds" => Value::Double(ticks as f64 / per_ms as f64),
        _ => return None,
    })
}
