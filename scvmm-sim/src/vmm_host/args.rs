//! Typed accessors over [`BoundArguments`] that fail the way PowerShell's
//! parameter binder does ("Cannot bind parameter 'X'. ...").

use uuid::Uuid;

use crate::ps::eval::{BoundArguments, PsError, Value};
use crate::vmm::{ObjectKind, Ref};

use super::convert::object_ref_of;

/// The arguments of one cmdlet call.
pub struct Args<'a> {
    /// The cmdlet, as VMM names it.
    pub cmd: &'a str,
    /// The bound arguments.
    pub bound: &'a BoundArguments,
}

/// `ParameterBindingException`s.
pub fn cannot_convert(cmd: &str, param: &str, value: &Value, to: &str) -> PsError {
    PsError::binding(
        cmd,
        format!(
            "Cannot bind parameter '{param}'. Cannot convert the \"{}\" value of type \"{}\" to type \"{to}\".",
            text(value).unwrap_or_default(),
            value.type_name()
        ),
        "CannotConvertArgumentNoMessage",
    )
    .with_target(text(value).unwrap_or_default(), short_type(&value.type_name()))
}

/// `A parameter cannot be found that matches parameter name 'X'.`
pub fn unknown_parameter(cmd: &str, name: &str) -> PsError {
    PsError::binding(
        cmd,
        format!("A parameter cannot be found that matches parameter name '{name}'."),
        "NamedParameterNotFound",
    )
}

/// `Cannot validate argument on parameter 'X'. The argument is null ...`
pub fn null_argument(cmd: &str, param: &str) -> PsError {
    PsError::binding(
        cmd,
        format!(
            "Cannot validate argument on parameter '{param}'. The argument is null or empty. Provide an argument that is not null or empty, and then try the command again."
        ),
        "ParameterArgumentValidationError",
    )
}

/// A mandatory parameter was not given.
pub fn missing(cmd: &str, param: &str) -> PsError {
    PsError::binding(
        cmd,
        format!(
            "Cannot process command because of one or more missing mandatory parameters: {param}."
        ),
        "MissingMandatoryParameter",
    )
}

/// No parameter set fits the parameters given.
pub fn ambiguous_set(cmd: &str) -> PsError {
    PsError::binding(
        cmd,
        "Parameter set cannot be resolved using the specified named parameters.",
        "AmbiguousParameterSet",
    )
}

fn short_type(t: &str) -> String {
    t.rsplit('.').next().unwrap_or(t).to_string()
}

/// The text of a scalar value, as PowerShell converts it to a string.
pub fn text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Byte(n) => n.to_string(),
        Value::Double(d) | Value::Decimal(d) => d.to_string(),
        Value::Char(c) => c.to_string(),
        Value::String(s) | Value::SecureString(s) => s.to_string(),
        Value::Guid(g) => g.to_string(),
        Value::Enum(e) => e.name.to_string(),
        Value::HostRef(r) => r.key().to_string(),
        _ => return None,
    })
}

/// Unwraps a one-element array (PowerShell binds `@($x)` to a scalar
/// parameter).
fn scalar(v: &Value) -> Option<Value> {
    match v {
        Value::Array(a) => {
            let items = a.read(|d| d.items.clone());
            match items.len() {
                1 => items.into_iter().next(),
                _ => None,
            }
        }
        other => Some(other.clone()),
    }
}

impl Args<'_> {
    /// The raw value, `None` when absent.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.bound.get(name)
    }

    /// Whether `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.bound.has(name)
    }

    /// A switch.
    pub fn switch(&self, name: &str) -> bool {
        self.bound.switch(name)
    }

    fn value(&self, name: &str, to: &str) -> Result<Option<Value>, PsError> {
        match self.bound.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(null_argument(self.cmd, name)),
            Some(v) => scalar(v)
                .map(Some)
                .ok_or_else(|| cannot_convert(self.cmd, name, v, to)),
        }
    }

    /// A string parameter.
    pub fn string(&self, name: &str) -> Result<Option<String>, PsError> {
        match self.value(name, "System.String")? {
            None => Ok(None),
            Some(v) => text(&v)
                .map(Some)
                .ok_or_else(|| cannot_convert(self.cmd, name, &v, "System.String")),
        }
    }

    /// A mandatory string parameter.
    pub fn req_string(&self, name: &str) -> Result<String, PsError> {
        self.string(name)?.ok_or_else(|| missing(self.cmd, name))
    }

    /// A string array parameter.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<String>>, PsError> {
        match self.bound.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(null_argument(self.cmd, name)),
            Some(v) => {
                let items = match v {
                    Value::Array(a) => a.read(|d| d.items.clone()),
                    other => vec![other.clone()],
                };
                items
                    .iter()
                    .map(|i| {
                        text(i).ok_or_else(|| cannot_convert(self.cmd, name, i, "System.String[]"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
        }
    }

    /// An integer parameter within `T`'s range.
    pub fn int<T: TryFrom<i64>>(&self, name: &str, to: &str) -> Result<Option<T>, PsError> {
        let Some(v) = self.value(name, to)? else {
            return Ok(None);
        };
        let n = match &v {
            Value::Int(n) => Some(i64::from(*n)),
            Value::Long(n) => Some(*n),
            Value::Byte(n) => Some(i64::from(*n)),
            Value::Double(d) | Value::Decimal(d) if d.fract() == 0.0 => Some(*d as i64),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Enum(e) => Some(e.value),
            _ => None,
        };
        n.and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| cannot_convert(self.cmd, name, &v, to))
    }

    /// A `[bool]` (not switch) parameter.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, PsError> {
        let Some(v) = self.value(name, "System.Boolean")? else {
            return Ok(None);
        };
        match &v {
            Value::Bool(b) => Ok(Some(*b)),
            Value::Int(n) => Ok(Some(*n != 0)),
            Value::Long(n) => Ok(Some(*n != 0)),
            _ => Err(PsError::binding(
                self.cmd,
                format!(
                    "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
                    text(&v).unwrap_or_default()
                ),
                "ParameterArgumentTransformationError",
            )),
        }
    }

    /// A GUID parameter (`-ID`, `-JobGroup`).
    pub fn guid(&self, name: &str) -> Result<Option<Uuid>, PsError> {
        let Some(v) = self.value(name, "System.Guid")? else {
            return Ok(None);
        };
        let parsed = match &v {
            Value::Guid(g) => Some(*g),
            Value::String(s) => Uuid::parse_str(s.trim().trim_matches(['{', '}'])).ok(),
            Value::HostRef(_) => object_ref_of(&v).map(|r| r.id),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| cannot_convert(self.cmd, name, &v, "System.Guid"))
    }

    /// An enum parameter, parsed by `parse` (names or numbers).
    pub fn enumeration<E>(
        &self,
        name: &str,
        type_name: &str,
        parse: impl Fn(&str) -> Option<E>,
    ) -> Result<Option<E>, PsError> {
        let Some(v) = self.value(name, type_name)? else {
            return Ok(None);
        };
        text(&v)
            .and_then(|t| parse(&t))
            .map(Some)
            .ok_or_else(|| {
                PsError::binding(
                    self.cmd,
                    format!(
                        "Cannot bind parameter '{name}'. Cannot convert value \"{}\" to type \"{type_name}\". Error: \"Unable to match the identifier name {} to a valid enumerator name.\"",
                        text(&v).unwrap_or_default(),
                        text(&v).unwrap_or_default()
                    ),
                    "CannotConvertArgumentNoMessage",
                )
            })
    }

    /// An object parameter: a VMM object of `kind`, a name, or an id.
    pub fn object(&self, name: &str, kind: ObjectKind) -> Result<Option<Ref>, PsError> {
        let Some(v) = self.value(name, kind.type_name())? else {
            return Ok(None);
        };
        to_ref(self.cmd, name, &v, kind).map(Some)
    }

    /// A mandatory object parameter.
    pub fn req_object(&self, name: &str, kind: ObjectKind) -> Result<Ref, PsError> {
        self.object(name, kind)?
            .ok_or_else(|| missing(self.cmd, name))
    }

    /// An object array parameter.
    pub fn objects(&self, name: &str, kind: ObjectKind) -> Result<Option<Vec<Ref>>, PsError> {
        match self.bound.get(name) {
            None => Ok(None),
            Some(Value::Null) => Err(null_argument(self.cmd, name)),
            Some(v) => {
                let items = match v {
                    Value::Array(a) => a.read(|d| d.items.clone()),
                    other => vec![other.clone()],
                };
                items
                    .iter()
                    .map(|i| to_ref(self.cmd, name, i, kind))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
        }
    }
}

/// Converts one value to an object reference of `kind`.
pub fn to_ref(cmd: &str, param: &str, v: &Value, kind: ObjectKind) -> Result<Ref, PsError> {
    if let Some(r) = object_ref_of(v) {
        return if r.kind == kind {
            Ok(Ref::Id(r.id))
        } else {
            Err(cannot_convert(cmd, param, v, kind.type_name()))
        };
    }
    match v {
        Value::Guid(g) => Ok(Ref::Id(*g)),
        Value::String(s) => Ok(Ref::Name(s.to_string())),
        Value::Object(o) => {
            // A deserialized object: use its ID, else its Name.
            let (id, name) = o.read(|d| (d.get("ID").cloned(), d.get("Name").cloned()));
            match (id, name) {
                (Some(Value::Guid(g)), _) => Ok(Ref::Id(g)),
                (Some(Value::String(s)), _) if Uuid::parse_str(&s).is_ok() => {
                    Ok(Ref::Id(Uuid::parse_str(&s).unwrap_or_default()))
                }
                (_, Some(Value::String(n))) => Ok(Ref::Name(n.to_string())),
                _ => Err(cannot_convert(cmd, param, v, kind.type_name())),
            }
        }
        _ => Err(cannot_convert(cmd, param, v, kind.type_name())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::vmm::ObjectRef;
    use crate::vmm_host::convert::object_value;

    fn args(b: &BoundArguments) -> Args<'_> {
        Args {
            cmd: "Get-SCVirtualMachine",
            bound: b,
        }
    }

    #[test]
    fn typed_accessors() {
        let id = Uuid::from_u128(7);
        let b = BoundArguments::new()
            .with("Name", Value::str("web01"))
            .with("CPUCount", Value::Int(4))
            .with("MemoryMB", Value::str("2048"))
            .with("ID", Value::str(&id.to_string()))
            .with(
                "VM",
                object_value(ObjectRef::new(ObjectKind::VirtualMachine, id)),
            )
            .with("VMHost", Value::str("hv01"))
            .with("Force", Value::Bool(true));
        let a = args(&b);
        assert_eq!(a.string("name").unwrap().as_deref(), Some("web01"));
        assert_eq!(a.int::<u32>("CPUCount", "System.Int32").unwrap(), Some(4));
        assert_eq!(
            a.int::<u64>("MemoryMB", "System.Int32").unwrap(),
            Some(2048)
        );
        assert_eq!(a.guid("ID").unwrap(), Some(id));
        assert_eq!(
            a.object("VM", ObjectKind::VirtualMachine).unwrap(),
            Some(Ref::Id(id))
        );
        assert_eq!(
            a.object("VMHost", ObjectKind::Host).unwrap(),
            Some(Ref::Name("hv01".into()))
        );
        assert!(a.switch("Force"));
        assert!(a.string("Missing").unwrap().is_none());
    }

    #[test]
    fn binding_errors() {
        let b = BoundArguments::new()
            .with("CPUCount", Value::str("four"))
            .with(
                "VM",
                object_value(ObjectRef::new(ObjectKind::Host, Uuid::nil())),
            )
            .with("Name", Value::Null);
        let a = args(&b);
        let e = a.int::<u32>("CPUCount", "System.Int32").unwrap_err();
        assert!(
            e.message.starts_with("Cannot bind parameter 'CPUCount'."),
            "{}",
            e.message
        );
        let e = a.object("VM", ObjectKind::VirtualMachine).unwrap_err();
        assert!(
            e.message.starts_with("Cannot bind parameter 'VM'."),
            "{}",
            e.message
        );
        let e = a.string("Name").unwrap_err();
        assert!(e.message.contains("The argument is null"), "{}", e.message);
        assert_eq!(
            unknown_parameter("X", "Nope").message,
            "A parameter cannot be found that matches parameter name 'Nope'."
        );
    }
}
