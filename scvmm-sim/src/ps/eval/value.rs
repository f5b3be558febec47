//! Runtime values: what variables hold and pipelines carry.
//!
//! PowerShell's reference types (arrays, hashtables, objects, byte arrays)
//! are shared: `$b = $a; $b[0] = 1` changes `$a` too, and scripts rely on it
//! (a function filling a hashtable it was given). They live behind
//! [`Shared`], an `Arc<Mutex<_>>`, so a [`Session`](super::Session) can move
//! between threads (the WinRM endpoint keeps one per shell). Locks are only
//! ever held for a copy or an element access, never while evaluating, so a
//! collection that contains itself cannot deadlock the evaluator.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

use super::errors::PsError;
use crate::ps::ast;

/// Immutable shared string.
pub type Str = Arc<str>;

/// A mutable value shared by reference, like a .NET object.
pub struct Shared<T>(Arc<Mutex<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // try_lock: Debug of a structure that contains itself must not hang.
        match self.0.try_lock() {
            Ok(inner) => inner.fmt(f),
            Err(_) => f.write_str("<shared: in use>"),
        }
    }
}

impl<T> Shared<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Shared(Arc::new(Mutex::new(value)))
    }

    /// The lock. A panic while holding it cannot leave the data half
    /// written in a way that matters to a script, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads through `f`. `f` must not touch other shared values that
    /// could be this one.
    pub fn read<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.lock())
    }

    /// Writes through `f`, with the same rule as [`Shared::read`].
    pub fn write<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.lock())
    }

    /// Whether both handles point at the same object (reference equality).
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// An address identifying the object, for hashing by reference.
    #[must_use]
    pub fn addr(&self) -> usize {
        Arc::as_ptr(&self.0).cast::<()>() as usize
    }
}

/// What kind of .NET collection an [`ArrayData`] stands for; it changes
/// the type name and whether `.Add` works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArrayKind {
    /// `object[]`: fixed size (`.Add` fails, `+=` makes a new array).
    Fixed,
    /// `System.Collections.ArrayList`: `.Add` appends and returns the index.
    ArrayList,
    /// `System.Collections.Generic.List[T]` with the element type name;
    /// `.Add` appends and returns nothing.
    List(String),
    /// `$obj.PSObject.Properties`: indexable by property name.
    PropertyCollection,
}

/// The contents of an array value.
#[derive(Debug, Clone)]
pub struct ArrayData {
    /// The elements.
    pub items: Vec<Value>,
    /// The collection type.
    pub kind: ArrayKind,
}

/// An array, ArrayList or List (shared).
pub type Array = Shared<ArrayData>;

/// A hashtable key as an index key: strings fold case (PowerShell
/// hashtables are case-insensitive), other types keep their type, so `1`
/// and `'1'` are different keys as in .NET.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyRepr {
    Str(String),
    Int(i64),
    Bits(u64),
    Bool(bool),
    Guid(Uuid),
    Other(String),
}

/// The contents of a hashtable: entries in insertion order, plus an index.
#[derive(Debug, Clone, Default)]
pub struct HashtableData {
    /// `[ordered]` (`OrderedDictionary`): also indexable by position.
    pub ordered: bool,
    entries: Vec<(Value, Value)>,
    index: HashMap<KeyRepr, usize>,
}

impl HashtableData {
    /// An empty table.
    #[must_use]
    pub fn new(ordered: bool) -> Self {
        Self {
            ordered,
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn key_repr(key: &Value) -> KeyRepr {
        match key {
            Value::String(s) => KeyRepr::Str(s.to_lowercase()),
            Value::Char(c) => KeyRepr::Other(format!("char:{c}")),
            Value::Int(n) => KeyRepr::Int(i64::from(*n)),
            Value::Long(n) => KeyRepr::Other(format!("long:{n}")),
            Value::Byte(n) => KeyRepr::Other(format!("byte:{n}")),
            Value::Double(d) | Value::Decimal(d) => KeyRepr::Bits(d.to_bits()),
            Value::Bool(b) => KeyRepr::Bool(*b),
            Value::Guid(g) => KeyRepr::Guid(*g),
            Value::Enum(e) => KeyRepr::Other(format!("enum:{}:{}", e.type_name, e.value)),
            Value::Null => KeyRepr::Other("null".into()),
            Value::Array(a) => KeyRepr::Other(format!("ref:{}", a.addr())),
            Value::Hashtable(h) => KeyRepr::Other(format!("ref:{}", h.addr())),
            Value::Object(o) => KeyRepr::Other(format!("ref:{}", o.addr())),
            Value::Bytes(b) => KeyRepr::Other(format!("ref:{}", b.addr())),
            Value::HostRef(r) => KeyRepr::Other(format!("host:{}:{}", r.type_name(), r.key())),
            Value::DateTime(t) => KeyRepr::Other(format!("date:{}", t.instant.as_nanosecond())),
            Value::TimeSpan(t) => KeyRepr::Other(format!("span:{}", t.0)),
            other => KeyRepr::Other(format!("{other:?}")),
        }
    }

    /// The value under `key`.
    #[must_use]
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.index
            .get(&Self::key_repr(key))
            .and_then(|&i| self.entries.get(i))
            .map(|(_, v)| v)
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &Value) -> bool {
        self.index.contains_key(&Self::key_repr(key))
    }

    /// Sets `key` (replacing, keeping the position, if present).
    pub fn insert(&mut self, key: Value, value: Value) {
        let repr = Self::key_repr(&key);
        if let Some(&i) = self.index.get(&repr) {
            if let Some(entry) = self.entries.get_mut(i) {
                entry.1 = value;
            }
        } else {
            self.index.insert(repr, self.entries.len());
            self.entries.push((key, value));
        }
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &Value) -> bool {
        let repr = Self::key_repr(key);
        let Some(i) = self.index.remove(&repr) else {
            return false;
        };
        self.entries.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        true
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in order.
    #[must_use]
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }

    /// The entry at `position` (ordered dictionaries index by position).
    #[must_use]
    pub fn at(&self, position: usize) -> Option<&(Value, Value)> {
        self.entries.get(position)
    }

    /// Sets the value at `position`.
    pub fn set_at(&mut self, position: usize, value: Value) -> bool {
        match self.entries.get_mut(position) {
            Some(entry) => {
                entry.1 = value;
                true
            }
            None => false,
        }
    }
}

/// A hashtable or ordered dictionary (shared).
pub type Hashtable = Shared<HashtableData>;

/// A property bag object: `[pscustomobject]`, `New-Object PSObject`,
/// `Select-Object` output, `ConvertFrom-Json` output, and the small .NET
/// objects the evaluator models (versions, match info, measure results).
#[derive(Debug, Clone)]
pub struct ObjectData {
    /// `PSObject.TypeNames`, most specific first.
    pub type_names: Vec<String>,
    /// Properties in order; names compare case-insensitively.
    pub properties: Vec<(String, Value)>,
    /// What `ToString()` returns; `None` gives PowerShell's `@{a=1; b=2}`
    /// form for `"$obj"` and an empty string for `.ToString()`, as for a
    /// `PSCustomObject` in Windows PowerShell 5.1.
    pub display: Option<String>,
}

impl ObjectData {
    /// A `PSCustomObject` with `properties`.
    #[must_use]
    pub fn custom(properties: Vec<(String, Value)>) -> Self {
        Self {
            type_names: vec![
                "System.Management.Automation.PSCustomObject".into(),
                "System.Object".into(),
            ],
            properties,
            display: None,
        }
    }

    /// An object of type `type_name` (then `System.Object`) with
    /// `properties` and a `ToString()` text.
    #[must_use]
    pub fn typed(
        type_name: impl Into<String>,
        properties: Vec<(String, Value)>,
        display: Option<String>,
    ) -> Self {
        Self {
            type_names: vec![type_name.into(), "System.Object".into()],
            properties,
            display,
        }
    }

    /// A property by name (case-insensitive).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Sets a property, adding it if missing.
    pub fn set(&mut self, name: &str, value: Value) {
        match self
            .properties
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.properties.push((name.to_owned(), value)),
        }
    }

    /// Whether this is a `PSCustomObject` (including `Select-Object`
    /// output, whose first type name is `Selected.<type>`).
    #[must_use]
    pub fn is_custom(&self) -> bool {
        self.type_names
            .iter()
            .any(|t| t == "System.Management.Automation.PSCustomObject")
    }
}

/// A property bag object (shared).
pub type PsObject = Shared<ObjectData>;

/// A .NET enum value: type, member name and number. Compares equal to its
/// name (case-insensitively) and to its number; `ToString()` is the name;
/// `ConvertTo-Json` writes the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    /// Full .NET type name.
    pub type_name: Str,
    /// Member name.
    pub name: Str,
    /// Numeric value.
    pub value: i64,
}

impl EnumValue {
    /// An enum value.
    #[must_use]
    pub fn new(type_name: &str, name: &str, value: i64) -> Self {
        Self {
            type_name: type_name.into(),
            name: name.into(),
            value,
        }
    }
}

/// A live object owned by the embedding application (a VMM VM, job,
/// host...). Its properties are read through
/// [`CommandHost::resolve`](super::CommandHost::resolve) every time, so an
/// object a script holds shows the current state, like VMM's client cache,
/// and object graphs with cycles (a host lists its VMs, a VM names its host)
/// stay finite.
#[derive(Clone)]
pub struct HostRef {
    type_name: Str,
    key: Str,
    payload: Arc<dyn Any + Send + Sync>,
}

impl HostRef {
    /// A reference to an object of .NET type `type_name`, identified by
    /// `key` (two references are the same object when type and key match),
    /// carrying `payload` for the host to find the object again.
    pub fn new(type_name: &str, key: &str, payload: impl Any + Send + Sync) -> Self {
        Self {
            type_name: type_name.into(),
            key: key.into(),
            payload: Arc::new(payload),
        }
    }

    /// The object's .NET type name.
    #[must_use]
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The identity key.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The payload, if it is a `T`.
    #[must_use]
    pub fn payload<T: Any>(&self) -> Option<&T> {
        self.payload.downcast_ref::<T>()
    }
}

impl fmt::Debug for HostRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostRef({}:{})", self.type_name, self.key)
    }
}

impl PartialEq for HostRef {
    fn eq(&self, other: &Self) -> bool {
        self.type_name == other.type_name && self.key == other.key
    }
}

/// What the host reports about a [`HostRef`]: its type names, `ToString()`
/// text and current properties (nested objects as further `HostRef`s).
#[derive(Debug, Clone, Default)]
pub struct HostObject {
    /// Type names, most specific first.
    pub type_names: Vec<String>,
    /// What `ToString()` returns.
    pub display: String,
    /// Properties in order.
    pub properties: Vec<(String, Value)>,
}

/// A script block value: the code and the source text its spans point
/// into (for error positions and `ToString()`).
#[derive(Clone)]
pub struct ScriptBlockValue {
    /// The parsed block.
    pub block: Arc<ast::ScriptBlock>,
    /// The whole source the block was parsed from.
    pub source: Str,
}

impl ScriptBlockValue {
    /// The block's text between its braces, as `ToString()` gives it.
    #[must_use]
    pub fn text(&self) -> String {
        let span = self.block.span;
        let text = self.source.get(span.start..span.end).unwrap_or("");
        let trimmed = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        trimmed.to_owned()
    }
}

impl fmt::Debug for ScriptBlockValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScriptBlock {{{}}}", self.text())
    }
}

/// A `PSCredential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// `.UserName`.
    pub user_name: String,
    /// The password (`.GetNetworkCredential().Password`).
    pub password: String,
}

/// Text encodings reachable as `[System.Text.Encoding]::X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8.
    Utf8,
    /// 7-bit ASCII (other characters become `?`).
    Ascii,
    /// UTF-16 little endian (`Unicode`).
    Unicode,
    /// UTF-16 big endian.
    BigEndianUnicode,
}

/// A type as a value (`[int]`, `$x.GetType()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeValue {
    /// Full .NET name (`System.Int32`).
    pub full_name: String,
    pub(crate) ty: super::types::PsType,
}

impl TypeValue {
    pub(crate) fn new(ty: super::types::PsType) -> Self {
        Self {
            full_name: ty.full_name(),
            ty,
        }
    }

    /// The short name (`Int32`).
    #[must_use]
    pub fn name(&self) -> &str {
        self.full_name.rsplit('.').next().unwrap_or(&self.full_name)
    }
}

/// `DateTime.Kind`: which suffix `ToString('o')` writes. The emulator's
/// local time zone is UTC, so only the text differs between kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateKind {
    /// Parsed from text without a zone.
    Unspecified,
    /// `[datetime]::UtcNow`, `.ToUniversalTime()`.
    Utc,
    /// `Get-Date`, `[datetime]::Now`.
    Local,
}

/// A `System.DateTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// The instant.
    pub instant: jiff::Timestamp,
    /// The kind.
    pub kind: DateKind,
}

impl DateTime {
    /// A local-kind date at `instant`.
    #[must_use]
    pub fn local(instant: jiff::Timestamp) -> Self {
        Self {
            instant,
            kind: DateKind::Local,
        }
    }

    /// Milliseconds since the Unix epoch (what `/Date(ms)/` carries).
    #[must_use]
    pub fn unix_millis(&self) -> i64 {
        self.instant.as_millisecond()
    }
}

/// A `System.TimeSpan`, in 100 ns ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeSpan(pub i64);

impl TimeSpan {
    /// Ticks per second.
    pub const TICKS_PER_SECOND: i64 = 10_000_000;

    /// A span of `seconds` (fractional).
    #[must_use]
    pub fn from_seconds_f64(seconds: f64) -> Self {
        // Saturating float-to-int cast: absurd spans clamp, they do not wrap.
        TimeSpan((seconds * Self::TICKS_PER_SECOND as f64) as i64)
    }

    /// Total seconds.
    #[must_use]
    pub fn total_seconds(self) -> f64 {
        self.0 as f64 / Self::TICKS_PER_SECOND as f64
    }
}

/// A PowerShell value.
#[derive(Clone, Debug)]
pub enum Value {
    /// `$null`.
    Null,
    /// `System.Boolean`.
    Bool(bool),
    /// `System.Int32`.
    Int(i32),
    /// `System.Int64`.
    Long(i64),
    /// `System.Byte`.
    Byte(u8),
    /// `System.Double`.
    Double(f64),
    /// `System.Decimal` (held as a double; see the module docs of `ast`).
    Decimal(f64),
    /// `System.Char`.
    Char(char),
    /// `System.String`.
    String(Str),
    /// `System.DateTime`.
    DateTime(DateTime),
    /// `System.TimeSpan`.
    TimeSpan(TimeSpan),
    /// `System.Guid`.
    Guid(Uuid),
    /// A .NET enum value.
    Enum(EnumValue),
    /// `object[]`, `ArrayList`, `List[T]`.
    Array(Array),
    /// `byte[]`.
    Bytes(Shared<Vec<u8>>),
    /// `Hashtable` / `OrderedDictionary`.
    Hashtable(Hashtable),
    /// A property bag object.
    Object(PsObject),
    /// A live object of the host (VMM objects).
    HostRef(HostRef),
    /// `{ ... }`.
    ScriptBlock(ScriptBlockValue),
    /// An `ErrorRecord` (`$_` in `catch`, `$Error[0]`).
    ErrorRecord(Arc<PsError>),
    /// The exception of an error record (`$_.Exception`).
    Exception(Arc<PsError>),
    /// A `SecureString` (the emulator keeps the plain text).
    SecureString(Str),
    /// A `PSCredential`.
    Credential(Arc<Credential>),
    /// `[System.Text.Encoding]::UTF8` and friends.
    Encoding(TextEncoding),
    /// A type.
    Type(TypeValue),
}

impl Value {
    /// A string value.
    #[must_use]
    pub fn str(s: &str) -> Self {
        Value::String(s.into())
    }

    /// A fixed `object[]` array.
    #[must_use]
    pub fn array(items: Vec<Value>) -> Self {
        Value::Array(Shared::new(ArrayData {
            items,
            kind: ArrayKind::Fixed,
        }))
    }

    /// An empty hashtable (`@{}`), or `[ordered]@{}`.
    #[must_use]
    pub fn hashtable(ordered: bool) -> Self {
        Value::Hashtable(Shared::new(HashtableData::new(ordered)))
    }

    /// A hashtable with string keys, in order (`[ordered]` when `ordered`).
    #[must_use]
    pub fn hashtable_from(ordered: bool, entries: Vec<(&str, Value)>) -> Self {
        let mut data = HashtableData::new(ordered);
        for (k, v) in entries {
            data.insert(Value::str(k), v);
        }
        Value::Hashtable(Shared::new(data))
    }

    /// A `PSCustomObject` with `properties` in order.
    #[must_use]
    pub fn custom_object(properties: Vec<(&str, Value)>) -> Self {
        Value::Object(Shared::new(ObjectData::custom(
            properties
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )))
    }

    /// A `byte[]`.
    #[must_use]
    pub fn bytes(bytes: Vec<u8>) -> Self {
        Value::Bytes(Shared::new(bytes))
    }

    /// An enum value.
    #[must_use]
    pub fn enumeration(type_name: &str, name: &str, value: i64) -> Self {
        Value::Enum(EnumValue::new(type_name, name, value))
    }

    /// Whether this is `$null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is enumerated when written to a pipeline (arrays,
    /// lists and byte arrays; not hashtables or strings).
    #[must_use]
    pub fn is_enumerable(&self) -> bool {
        matches!(self, Value::Array(_) | Value::Bytes(_))
    }

    /// The items a pipeline sees: an array's elements, or the value itself.
    #[must_use]
    pub fn enumerate(&self) -> Vec<Value> {
        match self {
            Value::Array(a) => a.read(|d| d.items.clone()),
            Value::Bytes(b) => b.read(|d| d.iter().map(|&x| Value::Byte(x)).collect()),
            other => vec![other.clone()],
        }
    }

    /// Collapses command output the way assignment does: nothing is
    /// `$null`, one object is itself, more are an `object[]`.
    #[must_use]
    pub fn from_output(mut items: Vec<Value>) -> Value {
        match items.len() {
            0 => Value::Null,
            1 => items.pop().unwrap_or(Value::Null),
            _ => Value::array(items),
        }
    }

    /// The .NET type name of the value (`System.Int32`, `System.Object[]`,
    /// the first type name of an object).
    #[must_use]
    pub fn type_name(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(_) => "System.Boolean".into(),
            Value::Int(_) => "System.Int32".into(),
            Value::Long(_) => "System.Int64".into(),
            Value::Byte(_) => "System.Byte".into(),
            Value::Double(_) => "System.Double".into(),
            Value::Decimal(_) => "System.Decimal".into(),
            Value::Char(_) => "System.Char".into(),
            Value::String(_) => "System.String".into(),
            Value::DateTime(_) => "System.DateTime".into(),
            Value::TimeSpan(_) => "System.TimeSpan".into(),
            Value::Guid(_) => "System.Guid".into(),
            Value::Enum(e) => e.type_name.to_string(),
            Value::Array(a) => a.read(|d| match &d.kind {
                ArrayKind::Fixed => "System.Object[]".to_owned(),
                ArrayKind::ArrayList => "System.Collections.ArrayList".to_owned(),
                ArrayKind::List(t) => format!("System.Collections.Generic.List`1[[{t}]]"),
                ArrayKind::PropertyCollection => {
                    "System.Management.Automation.PSMemberInfoIntegratingCollection`1[[System.Management.Automation.PSPropertyInfo]]".to_owned()
                }
            }),
            Value::Bytes(_) => "System.Byte[]".into(),
            Value::Hashtable(h) => {
                if h.read(|d| d.ordered) {
                    "System.Collections.Specialized.OrderedDictionary".into()
                } else {
                    "System.Collections.Hashtable".into()
                }
            }
            Value::Object(o) => o.read(|d| {
                d.type_names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "System.Object".into())
            }),
            Value::HostRef(r) => r.type_name().to_owned(),
            Value::ScriptBlock(_) => "System.Management.Automation.ScriptBlock".into(),
            Value::ErrorRecord(_) => "System.Management.Automation.ErrorRecord".into(),
            Value::Exception(e) => e.exception_type.clone(),
            Value::SecureString(_) => "System.Security.SecureString".into(),
            Value::Credential(_) => "System.Management.Automation.PSCredential".into(),
            Value::Encoding(e) => match e {
                TextEncoding::Utf8 => "System.Text.UTF8Encoding".into(),
                TextEncoding::Ascii => "System.Text.ASCIIEncoding".into(),
                TextEncoding::Unicode | TextEncoding::BigEndianUnicode => {
                    "System.Text.UnicodeEncoding".into()
                }
            },
            Value::Type(_) => "System.RuntimeType".into(),
        }
    }

    /// Whether the value is a number (`Int`, `Long`, `Byte`, `Double`,
    /// `Decimal`).
    #[must_use]
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Int(_) | Value::Long(_) | Value::Byte(_) | Value::Double(_) | Value::Decimal(_)
        )
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Int(n)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Long(n)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Double(n)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}

impl From<Uuid> for Value {
    fn from(g: Uuid) -> Self {
        Value::Guid(g)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::array(items)
    }
}

impl From<Option<Value>> for Value {
    fn from(v: Option<Value>) -> Self {
        v.unwrap_or(Value::Null)
    }
}
