//! Parameter binding: turning a command's written arguments into
//! [`BoundArguments`] for cmdlets (built-in or host), and into parameter
//! variables for script functions.
//!
//! The rules are PowerShell's: `-Name value` and `-Name:value`, unique
//! prefixes of parameter names, aliases, switches that take no value unless
//! written `-Switch:$false`, positional values filling positional
//! parameters in order, splatted hashtables (named) and arrays (positional),
//! and the common parameters (`-ErrorAction`, `-ErrorVariable`, `-Verbose`,
//! ...) that every cmdlet and advanced function accepts.

use super::convert;
use super::errors::{ActionPreference, PsError};
use super::host::{BoundArguments, CommandSignature, CommonParameters};
use super::value::Value;

/// One argument as written, after evaluation.
#[derive(Debug, Clone)]
pub(crate) enum ArgItem {
    /// `-Name` or `-Name:value`.
    Named { name: String, value: Option<Value> },
    /// A value.
    Positional(Value),
}

/// Common parameters: name, aliases, switch.
pub(crate) const COMMON: &[(&str, &[&str], bool)] = &[
    ("ErrorAction", &["ea"], false),
    ("WarningAction", &["wa"], false),
    ("InformationAction", &["infa"], false),
    ("ErrorVariable", &["ev"], false),
    ("WarningVariable", &["wv"], false),
    ("InformationVariable", &["iv"], false),
    ("OutVariable", &["ov"], false),
    ("OutBuffer", &["ob"], false),
    ("PipelineVariable", &["pv"], false),
    ("Verbose", &["vb"], true),
    ("Debug", &["db"], true),
    ("WhatIf", &["wi"], true),
    ("Confirm", &["cf"], true),
];

/// What a written parameter name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Match {
    Declared(usize),
    Common(usize),
    Ambiguous(Vec<String>),
    Unknown,
}

/// Finds parameter `written` among `names` (each with aliases) and, if
/// `common`, the common parameters; exact names first, then unique
/// prefixes.
pub(crate) fn match_parameter(
    written: &str,
    names: &[(String, Vec<String>)],
    common: bool,
    common_prefixes: bool,
) -> Match {
    for (i, (name, aliases)) in names.iter().enumerate() {
        if name.eq_ignore_ascii_case(written)
            || aliases.iter().any(|a| a.eq_ignore_ascii_case(written))
        {
            return Match::Declared(i);
        }
    }
    if common {
        for (i, (name, aliases, _)) in COMMON.iter().enumerate() {
            if name.eq_ignore_ascii_case(written)
                || aliases.iter().any(|a| a.eq_ignore_ascii_case(written))
            {
                return Match::Common(i);
            }
        }
    }
    let lower = written.to_ascii_lowercase();
    let mut found: Vec<Match> = Vec::new();
    let mut found_names = Vec::new();
    for (i, (name, _)) in names.iter().enumerate() {
        if name.to_ascii_lowercase().starts_with(&lower) {
            found.push(Match::Declared(i));
            found_names.push(name.clone());
        }
    }
    if common && common_prefixes {
        for (i, (name, _, _)) in COMMON.iter().enumerate() {
            if name.to_ascii_lowercase().starts_with(&lower) {
                found.push(Match::Common(i));
                found_names.push((*name).to_owned());
            }
        }
    }
    match found.len() {
        0 => Match::Unknown,
        1 => found.pop().unwrap_or(Match::Unknown),
        _ => Match::Ambiguous(found_names),
    }
}

/// Sets common parameter `index` from its value.
pub(crate) fn set_common(
    common: &mut CommonParameters,
    command: &str,
    index: usize,
    value: &Value,
) -> Result<(), PsError> {
    let Some((name, _, _)) = COMMON.get(index) else {
        return Ok(());
    };
    let text = convert::scalar_text(value);
    let preference = |text: &str| {
        ActionPreference::parse(text).ok_or_else(|| {
            PsError::binding(
                command,
                format!(
                    "Cannot bind parameter '{name}'. Cannot convert value \"{text}\" to type \"System.Management.Automation.ActionPreference\". Error: \"Unable to match the identifier name {text} to a valid enumerator name. Specify one of the following enumerator names and try again:\nSilentlyContinue, Stop, Continue, Inquire, Ignore, Suspend\""
                ),
                "CannotConvertArgumentNoMessage",
            )
        })
    };
    match *name {
        "ErrorAction" => common.error_action = Some(preference(&text)?),
        "WarningAction" => common.warning_action = Some(preference(&text)?),
        "InformationAction" => common.information_action = Some(preference(&text)?),
        "ErrorVariable" => common.error_variable = Some(text),
        "WarningVariable" => common.warning_variable = Some(text),
        "OutVariable" => common.out_variable = Some(text),
        "Verbose" => common.verbose = Some(convert::to_bool(value)),
        "Debug" => common.debug = Some(convert::to_bool(value)),
        "WhatIf" => common.what_if = Some(convert::to_bool(value)),
        "Confirm" => common.confirm = Some(convert::to_bool(value)),
        _ => {}
    }
    Ok(())
}

fn ambiguous(command: &str, written: &str, names: &[String]) -> PsError {
    PsError::binding(
        command,
        format!(
            "Parameter cannot be processed because the parameter name '{written}' is ambiguous. Possible matches include: {}.",
            names
                .iter()
                .map(|n| format!("-{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "AmbiguousParameter",
    )
}

/// `A parameter cannot be found that matches parameter name 'X'.`
pub(crate) fn unknown_parameter(command: &str, written: &str) -> PsError {
    PsError::binding(
        command,
        format!("A parameter cannot be found that matches parameter name '{written}'."),
        "NamedParameterNotFound",
    )
}

/// `Missing an argument for parameter 'X'. ...`
pub(crate) fn missing_argument(command: &str, name: &str, type_name: &str) -> PsError {
    PsError::binding(
        command,
        format!(
            "Missing an argument for parameter '{name}'. Specify a parameter of type '{type_name}' and try again."
        ),
        "MissingArgument",
    )
}

/// `A positional parameter cannot be found that accepts argument 'x'.`
pub(crate) fn extra_positional(command: &str, value: &Value) -> PsError {
    PsError::binding(
        command,
        format!(
            "A positional parameter cannot be found that accepts argument '{}'.",
            convert::scalar_text(value)
        ),
        "PositionalParameterNotFound",
    )
}

/// Binds arguments against a cmdlet signature.
///
/// # Errors
///
/// PowerShell's binding errors for unknown or ambiguous names, missing
/// values and left-over positional values (strict signatures only).
pub(crate) fn bind_signature(
    command: &str,
    sig: &CommandSignature,
    items: Vec<ArgItem>,
) -> Result<BoundArguments, PsError> {
    let names: Vec<(String, Vec<String>)> = sig
        .parameters
        .iter()
        .map(|p| (p.name.clone(), p.aliases.clone()))
        .collect();
    let mut bound = BoundArguments::new();
    let mut positional: Vec<Value> = Vec::new();
    let mut iter = items.into_iter().peekable();
    while let Some(item) = iter.next() {
        match item {
            ArgItem::Positional(v) => positional.push(v),
            ArgItem::Named { name, value } => {
                match match_parameter(&name, &names, true, sig.strict) {
                    Match::Declared(i) => {
                        let spec = &sig.parameters[i];
                        let v = if spec.switch {
                            Value::Bool(value.as_ref().is_none_or(convert::to_bool))
                        } else {
                            match value {
                                Some(v) => v,
                                None => match iter.next_if(|n| matches!(n, ArgItem::Positional(_)))
                                {
                                    Some(ArgItem::Positional(v)) => v,
                                    _ => {
                                        return Err(missing_argument(
                                            command,
                                            &spec.name,
                                            "System.Object",
                                        ));
                                    }
                                },
                            }
                        };
                        bound.set(&spec.name, v);
                    }
                    Match::Common(i) => {
                        let switch = COMMON.get(i).is_some_and(|c| c.2);
                        let v = if switch {
                            Value::Bool(value.as_ref().is_none_or(convert::to_bool))
                        } else {
                            match value {
                                Some(v) => v,
                                None => match iter.next_if(|n| matches!(n, ArgItem::Positional(_)))
                                {
                                    Some(ArgItem::Positional(v)) => v,
                                    _ => {
                                        let name = COMMON.get(i).map_or("", |c| c.0);
                                        return Err(missing_argument(
                                            command,
                                            name,
                                            "System.Object",
                                        ));
                                    }
                                },
                            }
                        };
                        set_common(&mut bound.common, command, i, &v)?;
                    }
                    Match::Ambiguous(found) => return Err(ambiguous(command, &name, &found)),
                    Match::Unknown => {
                        if sig.strict {
                            return Err(unknown_parameter(command, &name));
                        }
                        // Lenient: a following value belongs to the name.
                        let v = match value {
                            Some(v) => v,
                            None => match iter.next_if(|n| matches!(n, ArgItem::Positional(_))) {
                                Some(ArgItem::Positional(v)) => v,
                                _ => Value::Bool(true),
                            },
                        };
                        bound.set(&name, v);
                    }
                }
            }
        }
    }
    // Positional values fill positional parameters in order.
    let mut slots: Vec<(usize, &str)> = sig
        .parameters
        .iter()
        .filter_map(|p| p.position.map(|pos| (pos, p.name.as_str())))
        .filter(|(_, name)| !bound.has(name))
        .collect();
    slots.sort_by_key(|(pos, _)| *pos);
    let mut slots = slots.into_iter();
    let mut leftover = Vec::new();
    for v in positional {
        match slots.next() {
            Some((_, name)) => bound.set(name, v),
            None => leftover.push(v),
        }
    }
    if leftover.is_empty() {
        return Ok(bound);
    }
    if let Some(name) = &sig.remaining {
        // The collecting parameter gets its own value (if bound by
        // position) followed by the rest, as one array.
        let mut items = match bound.get(name) {
            Some(first) => vec![first.clone()],
            None => Vec::new(),
        };
        items.extend(leftover);
        bound.set(name, Value::array(items));
        return Ok(bound);
    }
    for v in leftover {
        if sig.strict {
            return Err(extra_positional(command, &v));
        }
        bound.push_positional(v);
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, value: Option<Value>) -> ArgItem {
        ArgItem::Named {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn switches_do_not_take_values() {
        let sig = CommandSignature::new()
            .positional("VM", 0)
            .switch("Force")
            .switch("RunAsynchronously");
        let b = bind_signature(
            "Stop-SCVirtualMachine",
            &sig,
            vec![
                named("Force", None),
                ArgItem::Positional(Value::str("vm1")),
                named("RunAsync", None),
                named("ea", None),
                ArgItem::Positional(Value::str("Stop")),
            ],
        );
        let b = b.unwrap_or_default();
        assert!(b.switch("force"));
        assert!(b.switch("RunAsynchronously"));
        assert_eq!(b.get("vm").map(convert::scalar_text), Some("vm1".into()));
        assert_eq!(b.common.error_action, Some(ActionPreference::Stop));
    }

    #[test]
    fn strict_errors() {
        let sig = CommandSignature::new().param("Name");
        let e = bind_signature("X", &sig, vec![named("Nope", None)]).err();
        assert_eq!(
            e.map(|e| e.message).unwrap_or_default(),
            "A parameter cannot be found that matches parameter name 'Nope'."
        );
        let e = bind_signature("X", &sig, vec![named("Name", None)]).err();
        assert!(e.is_some_and(|e| e.fully_qualified_error_id == "MissingArgument,X"));
        let e = bind_signature("X", &sig, vec![named("e", Some(Value::Int(1)))]).err();
        assert!(e.is_some_and(|e| e.message.contains("ambiguous")));
    }

    #[test]
    fn lenient_passes_through() {
        let b = bind_signature(
            "Get-Thing",
            &CommandSignature::lenient(),
            vec![
                named("Name", None),
                ArgItem::Positional(Value::str("a")),
                named("All", None),
                ArgItem::Positional(Value::Int(3)),
            ],
        )
        .unwrap_or_default();
        assert_eq!(b.get("name").map(convert::scalar_text), Some("a".into()));
        assert!(b.switch("All") || b.get("All").is_some());
    }
}
