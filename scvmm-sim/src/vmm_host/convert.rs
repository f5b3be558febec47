//! VMM model values ↔ evaluator values.
//!
//! VMM objects with identity become [`HostRef`]s carrying their
//! [`ObjectRef`], so member access resolves them again and always shows the
//! current state; inline objects (`ErrorInfo`, custom property values)
//! become property-bag objects; enums keep type name, member name and
//! number; dates become `System.DateTime`.

use crate::ps::eval::{DateKind, DateTime, HostObject, HostRef, ObjectData, Shared, Value};
use crate::vmm::value::EnumValue;
use crate::vmm::{self, ObjectRef, ObjectView, Time};

/// The live object for `r`.
pub fn object_value(r: ObjectRef) -> Value {
    Value::HostRef(HostRef::new(r.kind.type_name(), &r.id.to_string(), r))
}

/// The VMM object a value stands for, if it is one of ours.
pub fn object_ref_of(v: &Value) -> Option<ObjectRef> {
    match v {
        Value::HostRef(h) => h.payload::<ObjectRef>().copied(),
        _ => None,
    }
}

/// A model time as a `System.DateTime`.
pub fn time_value(t: Time) -> Value {
    match t.to_timestamp() {
        Some(instant) => Value::DateTime(DateTime {
            instant,
            kind: DateKind::Local,
        }),
        None => Value::Null,
    }
}

/// An enum value.
pub fn enum_value(e: &EnumValue) -> Value {
    Value::enumeration(e.type_name, &e.name, e.value)
}

/// A model value as an evaluator value.
pub fn to_ps(v: &vmm::Value) -> Value {
    match v {
        vmm::Value::Null => Value::Null,
        vmm::Value::Bool(b) => Value::Bool(*b),
        vmm::Value::Int(n) => match i32::try_from(*n) {
            Ok(n) => Value::Int(n),
            Err(_) => Value::Long(*n),
        },
        vmm::Value::Float(f) => Value::Double(*f),
        vmm::Value::String(s) => Value::str(s),
        vmm::Value::Guid(g) => Value::Guid(*g),
        vmm::Value::DateTime(t) => time_value(*t),
        vmm::Value::Enum(e) => enum_value(e),
        vmm::Value::Object(view) => inline_object(view),
        vmm::Value::Ref(r) => object_value(*r),
        vmm::Value::Array(items) => Value::array(items.iter().map(to_ps).collect()),
        vmm::Value::Dictionary(entries) => Value::hashtable_from(
            false,
            entries
                .iter()
                .map(|(k, v)| (k.as_str(), to_ps(v)))
                .collect(),
        ),
    }
}

/// An object without identity, as a property bag with its type name and
/// `ToString()` text.
pub fn inline_object(view: &ObjectView) -> Value {
    Value::Object(Shared::new(ObjectData::typed(
        view.type_name,
        view.properties
            .iter()
            .map(|p| (p.name.to_string(), to_ps(&p.value)))
            .collect(),
        Some(view.display.clone()),
    )))
}

/// A view as the evaluator's description of a live object.
pub fn host_object(view: &ObjectView) -> HostObject {
    HostObject {
        type_names: vec![view.type_name.to_string(), "System.Object".to_string()],
        display: view.display.clone(),
        properties: view
            .properties
            .iter()
            .map(|p| (p.name.to_string(), to_ps(&p.value)))
            .collect(),
    }
}

/// An evaluator value as a model value (for values a script hands back:
/// objects by reference, scalars, enums, dates, arrays). Script-only
/// values (hashtables, script blocks, credentials...) have no model form.
pub fn from_ps(v: &Value) -> Option<vmm::Value> {
    Some(match v {
        Value::Null => vmm::Value::Null,
        Value::Bool(b) => vmm::Value::Bool(*b),
        Value::Int(n) => vmm::Value::Int(i64::from(*n)),
        Value::Long(n) => vmm::Value::Int(*n),
        Value::Byte(n) => vmm::Value::Int(i64::from(*n)),
        Value::Double(d) | Value::Decimal(d) => vmm::Value::Float(*d),
        Value::Char(c) => vmm::Value::String(c.to_string()),
        Value::String(s) => vmm::Value::String(s.to_string()),
        Value::Guid(g) => vmm::Value::Guid(*g),
        Value::DateTime(d) => vmm::Value::DateTime(Time(d.unix_millis())),
        Value::HostRef(_) => vmm::Value::Ref(object_ref_of(v)?),
        Value::Array(a) => vmm::Value::Array(
            a.read(|d| d.items.clone())
                .iter()
                .map(from_ps)
                .collect::<Option<Vec<_>>>()?,
        ),
        Value::Enum(e) => vmm::Value::String(e.name.to_string()),
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::vmm::ObjectKind;
    use uuid::Uuid;

    #[test]
    fn round_trips() {
        let r = ObjectRef::new(ObjectKind::VirtualMachine, Uuid::from_u128(9));
        let v = object_value(r);
        assert_eq!(object_ref_of(&v), Some(r));
        assert_eq!(from_ps(&v), Some(vmm::Value::Ref(r)));
        let t = Time::DEFAULT_START;
        assert_eq!(from_ps(&time_value(t)), Some(vmm::Value::DateTime(t)));
        let e = to_ps(&vmm::Value::enumeration(crate::vmm::VmState::PowerOff));
        match e {
            Value::Enum(e) => {
                assert_eq!(&*e.name, "PowerOff");
                assert_eq!(e.value, 1);
                assert_eq!(
                    &*e.type_name,
                    "Microsoft.VirtualManager.Utils.VMComputerSystemState"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(to_ps(&vmm::Value::Int(1 << 40)), Value::Long(_)));
    }
}
