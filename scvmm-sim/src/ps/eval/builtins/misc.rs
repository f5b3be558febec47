//! Session and utility cmdlets: Import-Module, Get-Module, Start-Sleep,
//! Get-Date, New-TimeSpan, Set-StrictMode, Get-/Set-/New-/Remove-Variable,
//! ConvertTo-SecureString, Invoke-Expression, Invoke-Command, Get-Command,
//! Get-Random, Get-Host, Clear-Host, Export-ModuleMember; and the list of
//! real cmdlets the emulator knows it does not implement.

use std::time::Duration;

use super::{BuiltinDef, Kind};
use crate::ps::eval::convert;
use crate::ps::eval::errors::{ErrorCategory, Flow, PsError, R, exception};
use crate::ps::eval::format;
use crate::ps::eval::host::CommandSignature;
use crate::ps::eval::interp::Interp;
use crate::ps::eval::pipeline::{CmdCtx, canonical_name};
use crate::ps::eval::statics;
use crate::ps::eval::types::PsType;
use crate::ps::eval::value::{
    DateKind, DateTime, ObjectData, ScriptBlockValue, Shared, TimeSpan, Value,
};

/// Modules `Import-Module` accepts: the VMM module and PowerShell's own.
const KNOWN_MODULES: &[&str] = &[
    "virtualmachinemanager",
    "microsoft.powershell.utility",
    "microsoft.powershell.management",
    "microsoft.powershell.security",
];

pub(super) fn builtins() -> Vec<BuiltinDef> {
    vec![
        BuiltinDef {
            name: "Import-Module",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .remaining()
                    .switch("Force")
                    .switch("Global")
                    .switch("PassThru")
                    .switch("DisableNameChecking")
                    .switch("NoClobber")
                    .param("Prefix")
                    .param("MinimumVersion")
                    .param("RequiredVersion")
                    .param("Scope")
            },
            kind: Kind::Collect(import_module),
        },
        BuiltinDef {
            name: "Get-Module",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .switch("ListAvailable")
                    .switch("All")
            },
            kind: Kind::Collect(get_module),
        },
        BuiltinDef {
            name: "Remove-Module",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .switch("Force")
            },
            kind: Kind::Collect(|_, _, _, _| Ok(Vec::new())),
        },
        BuiltinDef {
            name: "Start-Sleep",
            signature: || {
                CommandSignature::new()
                    .positional("Seconds", 0)
                    .alias("s")
                    .param("Milliseconds")
                    .alias("ms")
            },
            kind: Kind::Collect(start_sleep),
        },
        BuiltinDef {
            name: "Get-Date",
            signature: || {
                CommandSignature::new()
                    .positional("Date", 0)
                    .param("Format")
                    .param("UFormat")
                    .param("Year")
                    .param("Month")
                    .param("Day")
                    .param("Hour")
                    .param("Minute")
                    .param("Second")
                    .param("Millisecond")
                    .param("DisplayHint")
            },
            kind: Kind::Collect(get_date),
        },
        BuiltinDef {
            name: "New-TimeSpan",
            signature: || {
                CommandSignature::new()
                    .positional("Start", 0)
                    .positional("End", 1)
                    .param("Days")
                    .param("Hours")
                    .param("Minutes")
                    .param("Seconds")
                    .param("Milliseconds")
            },
            kind: Kind::Collect(new_timespan),
        },
        BuiltinDef {
            name: "Set-StrictMode",
            signature: || CommandSignature::new().param("Version").switch("Off"),
            // Strict mode would only turn silent $null reads into errors;
            // scripts that pass under it pass without it.
            kind: Kind::Collect(|_, _, _, _| Ok(Vec::new())),
        },
        BuiltinDef {
            name: "Get-Variable",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .switch("ValueOnly")
                    .param("Scope")
                    .param("Include")
                    .param("Exclude")
            },
            kind: Kind::Collect(get_variable),
        },
        BuiltinDef {
            name: "Set-Variable",
            signature: variable_signature,
            kind: Kind::Collect(set_variable),
        },
        BuiltinDef {
            name: "New-Variable",
            signature: variable_signature,
            kind: Kind::Collect(set_variable),
        },
        BuiltinDef {
            name: "Remove-Variable",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .param("Scope")
                    .switch("Force")
            },
            kind: Kind::Collect(remove_variable),
        },
        BuiltinDef {
            name: "Clear-Variable",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .param("Scope")
                    .switch("Force")
            },
            kind: Kind::Collect(clear_variable),
        },
        BuiltinDef {
            name: "ConvertTo-SecureString",
            signature: || {
                CommandSignature::new()
                    .positional("String", 0)
                    .switch("AsPlainText")
                    .switch("Force")
                    .param("Key")
                    .param("SecureKey")
            },
            kind: Kind::Collect(convert_to_secure_string),
        },
        BuiltinDef {
            name: "Invoke-Expression",
            signature: || CommandSignature::new().positional("Command", 0),
            kind: Kind::Collect(invoke_expression),
        },
        BuiltinDef {
            name: "Invoke-Command",
            signature: || {
                CommandSignature::new()
                    .positional("ScriptBlock", 0)
                    .param("ArgumentList")
                    .alias("Args")
                    .param("ComputerName")
                    .alias("Cn")
                    .param("Credential")
                    .param("Session")
                    .param("Authentication")
                    .param("InputObject")
                    .param("ConfigurationName")
                    .switch("NoNewScope")
                    .switch("HideComputerName")
                    .switch("EnableNetworkAccess")
            },
            kind: Kind::Collect(invoke_command),
        },
        BuiltinDef {
            name: "Get-Command",
            signature: || {
                CommandSignature::new()
                    .positional("Name", 0)
                    .remaining()
                    .param("Module")
                    .param("CommandType")
                    .switch("ListImported")
            },
            kind: Kind::Collect(get_command),
        },
        BuiltinDef {
            name: "Get-Random",
            signature: || {
                CommandSignature::new()
                    .positional("Maximum", 0)
                    .param("Minimum")
                    .param("InputObject")
                    .param("Count")
                    .param("SetSeed")
            },
            kind: Kind::Collect(get_random),
        },
        BuiltinDef {
            name: "Get-Host",
            signature: CommandSignature::new,
            kind: Kind::Collect(|_, _, _, _| Ok(vec![host_object()])),
        },
        BuiltinDef {
            name: "Clear-Host",
            signature: CommandSignature::new,
            kind: Kind::Collect(|_, _, _, _| Ok(Vec::new())),
        },
        BuiltinDef {
            name: "Export-ModuleMember",
            signature: || {
                CommandSignature::new()
                    .positional("Function", 0)
                    .param("Variable")
                    .param("Alias")
                    .param("Cmdlet")
            },
            kind: Kind::Collect(|_, _, _, _| Ok(Vec::new())),
        },
    ]
}

fn variable_signature() -> CommandSignature {
    CommandSignature::new()
        .positional("Name", 0)
        .positional("Value", 1)
        .param("Scope")
        .param("Option")
        .param("Description")
        .param("Visibility")
        .switch("Force")
        .switch("PassThru")
}

/// `$Host`: enough of `ConsoleHost` for scripts that look at it.
pub(crate) fn host_object() -> Value {
    let size = Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.Host.Size",
        vec![
            ("Width".into(), Value::Int(120)),
            ("Height".into(), Value::Int(50)),
        ],
        Some("120,50".into()),
    )));
    let raw = Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.Internal.Host.InternalHostRawUserInterface",
        vec![
            ("BufferSize".into(), size.clone()),
            ("WindowSize".into(), size),
        ],
        None,
    )));
    let ui = Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.Internal.Host.InternalHostUserInterface",
        vec![("RawUI".into(), raw)],
        None,
    )));
    Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.Internal.Host.InternalHost",
        vec![
            ("Name".into(), Value::str("ConsoleHost")),
            (
                "Version".into(),
                crate::ps::eval::version_value(5, 1, 17763, 1),
            ),
            ("UI".into(), ui),
            ("CurrentCulture".into(), Value::str("en-US")),
        ],
        Some("System.Management.Automation.Internal.Host.InternalHost".into()),
    )))
}

fn import_module(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let names: Vec<Value> = if had {
        input
    } else {
        cx.args
            .get("Name")
            .map(Value::enumerate)
            .unwrap_or_default()
    };
    for name in names {
        let text = convert::to_text(&name, it);
        let short = text
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&text)
            .trim_end_matches(".psd1")
            .trim_end_matches(".psm1")
            .to_ascii_lowercase();
        if KNOWN_MODULES.contains(&short.as_str()) {
            if !it.st.modules.contains(&short) {
                it.st.modules.push(short);
            }
            continue;
        }
        let e = PsError::new(
            format!(
                "The specified module '{text}' was not loaded because no valid module file was found in any module directory."
            ),
            "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
        )
        .with_category(ErrorCategory::ResourceUnavailable)
        .with_exception(exception::FILE_NOT_FOUND)
        .with_command(cx.name.clone())
        .with_target(text.clone(), "String");
        let e = it.locate(e, cx.span);
        it.write_error(e, cx.error_action)?;
    }
    Ok(Vec::new())
}

fn module_info(name: &str) -> Value {
    let display = if name == "virtualmachinemanager" {
        "virtualmachinemanager".to_owned()
    } else {
        name.to_owned()
    };
    Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.PSModuleInfo",
        vec![
            ("Name".into(), Value::from(display.as_str())),
            (
                "ModuleType".into(),
                Value::enumeration("System.Management.Automation.ModuleType", "Manifest", 1),
            ),
            (
                "Version".into(),
                crate::ps::eval::version_value(
                    if name == "virtualmachinemanager" {
                        10
                    } else {
                        3
                    },
                    0,
                    0,
                    0,
                ),
            ),
        ],
        Some(display),
    )))
}

fn get_module(it: &mut Interp<'_>, cx: &CmdCtx, _input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let pool: Vec<String> = if cx.args.switch("ListAvailable") {
        KNOWN_MODULES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        it.st.modules.clone()
    };
    let patterns: Vec<String> = cx
        .args
        .get("Name")
        .map(|v| v.enumerate().iter().map(convert::scalar_text).collect())
        .unwrap_or_default();
    Ok(pool
        .iter()
        .filter(|m| {
            patterns.is_empty()
                || patterns
                    .iter()
                    .any(|p| crate::ps::eval::operators::like(m, p, false))
        })
        .map(|m| module_info(m))
        .collect())
}

fn number_arg(it: &mut Interp<'_>, cx: &CmdCtx, name: &str) -> R<Option<f64>> {
    match cx.args.get(name) {
        None => Ok(None),
        Some(v) => match convert::convert_to(v, &PsType::Double, it) {
            Ok(Value::Double(d)) => Ok(Some(d)),
            Ok(_) => Ok(None),
            Err(e) => Err(Flow::statement(it.locate(
                PsError::binding(
                    &cx.name,
                    format!("Cannot bind parameter '{name}'. {}", e.message),
                    "CannotConvertArgumentNoMessage",
                ),
                cx.span,
            ))),
        },
    }
}

fn start_sleep(it: &mut Interp<'_>, cx: &CmdCtx, _input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let ms = match (
        number_arg(it, cx, "Seconds")?,
        number_arg(it, cx, "Milliseconds")?,
    ) {
        (Some(s), _) => (s * 1000.0).round(),
        (None, Some(ms)) => ms,
        (None, None) => {
            return Err(Flow::statement(it.locate(
                PsError::binding(
                    &cx.name,
                    "Cannot process command because of one or more missing mandatory parameters: Seconds.",
                    "MissingMandatoryParameter",
                ),
                cx.span,
            )));
        }
    };
    // Saturating float-to-int: negative or absurd values clamp.
    let duration = Duration::from_millis(ms.max(0.0) as u64);
    it.step()?;
    it.host.sleep(duration);
    Ok(Vec::new())
}

fn get_date(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let base = if had {
        input.into_iter().next()
    } else {
        cx.args.get("Date").cloned()
    };
    let mut dt = match base {
        Some(v) => match convert::convert_to(&v, &PsType::DateTime, it) {
            Ok(Value::DateTime(d)) => d,
            _ => {
                let text = convert::to_text(&v, it);
                return Err(Flow::statement(it.locate(
                    PsError::binding(
                        &cx.name,
                        format!(
                            "Cannot bind parameter 'Date'. Cannot convert value \"{text}\" to type \"System.DateTime\". Error: \"String was not recognized as a valid DateTime.\""
                        ),
                        "CannotConvertArgumentNoMessage",
                    ),
                    cx.span,
                )));
            }
        },
        None => DateTime {
            instant: it.host.now(),
            kind: DateKind::Local,
        },
    };
    let fields = [
        "Year",
        "Month",
        "Day",
        "Hour",
        "Minute",
        "Second",
        "Millisecond",
    ];
    if fields.iter().any(|f| cx.args.has(f)) {
        let civil = dt.instant.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        let get = |it: &mut Interp<'_>, name: &str, current: i64| -> i64 {
            cx.args
                .get(name)
                .and_then(|v| convert::to_num(v, it).ok())
                .map_or(current, |n| n.as_f64() as i64)
        };
        let year = get(it, "Year", i64::from(civil.year()));
        let month = get(it, "Month", i64::from(civil.month()));
        let day = get(it, "Day", i64::from(civil.day()));
        let hour = get(it, "Hour", i64::from(civil.hour()));
        let minute = get(it, "Minute", i64::from(civil.minute()));
        let second = get(it, "Second", i64::from(civil.second()));
        let ms = get(
            it,
            "Millisecond",
            i64::from(civil.subsec_nanosecond() / 1_000_000),
        );
        let built = jiff::civil::DateTime::new(
            i16::try_from(year).unwrap_or(1),
            i8::try_from(month).unwrap_or(1),
            i8::try_from(day).unwrap_or(1),
            i8::try_from(hour).unwrap_or(0),
            i8::try_from(minute).unwrap_or(0),
            i8::try_from(second).unwrap_or(0),
            i32::try_from(ms * 1_000_000).unwrap_or(0),
        )
        .and_then(|c| c.to_zoned(jiff::tz::TimeZone::UTC))
        .map_err(|e| {
            it.fail(
                PsError::new(e.to_string(), "ParameterArgumentValidationError"),
                cx.span,
            )
        })?;
        dt.instant = built.timestamp();
    }
    if cx.args.has("UFormat") {
        return Err(it.fail(PsError::unsupported("Get-Date -UFormat"), cx.span));
    }
    Ok(vec![match cx.args.get("Format") {
        Some(f) => {
            let f = convert::to_text(f, it);
            Value::from(format::format_date(&dt, &f))
        }
        None => Value::DateTime(dt),
    }])
}

fn new_timespan(it: &mut Interp<'_>, cx: &CmdCtx, _input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let now = DateTime {
        instant: it.host.now(),
        kind: DateKind::Local,
    };
    let date = |it: &mut Interp<'_>, name: &str| -> R<Option<DateTime>> {
        match cx.args.get(name) {
            Some(v) => match convert::convert_to(v, &PsType::DateTime, it) {
                Ok(Value::DateTime(d)) => Ok(Some(d)),
                Ok(_) => Ok(None),
                Err(e) => Err(it.fail(e, cx.span)),
            },
            None => Ok(None),
        }
    };
    if cx.args.has("Start") || cx.args.has("End") {
        let start = date(it, "Start")?.unwrap_or(now);
        let end = date(it, "End")?.unwrap_or(now);
        return Ok(vec![Value::TimeSpan(crate::ps::eval::members::date_diff(
            &end, &start,
        ))]);
    }
    let mut ticks = 0f64;
    for (name, factor) in [
        ("Days", 864_000_000_000.0),
        ("Hours", 36_000_000_000.0),
        ("Minutes", 600_000_000.0),
        ("Seconds", 10_000_000.0),
        ("Milliseconds", 10_000.0),
    ] {
        if let Some(n) = number_arg(it, cx, name)? {
            ticks += n * factor;
        }
    }
    Ok(vec![Value::TimeSpan(TimeSpan(ticks as i64))])
}

fn names_arg(it: &mut Interp<'_>, cx: &CmdCtx) -> Vec<String> {
    cx.args
        .get("Name")
        .map(|v| {
            v.enumerate()
                .iter()
                .map(|x| convert::to_text(x, it))
                .collect()
        })
        .unwrap_or_default()
}

fn variable_object(name: &str, value: Value) -> Value {
    Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.PSVariable",
        vec![
            ("Name".into(), Value::from(name)),
            ("Description".into(), Value::str("")),
            ("Value".into(), value),
            (
                "Options".into(),
                Value::enumeration("System.Management.Automation.ScopedItemOptions", "None", 0),
            ),
        ],
        Some(name.to_owned()),
    )))
}

fn variable_not_found(cx: &CmdCtx, name: &str, class: &str) -> PsError {
    PsError::new(
        format!("Cannot find a variable with the name '{name}'."),
        format!("VariableNotFound,Microsoft.PowerShell.Commands.{class}"),
    )
    .with_category(ErrorCategory::ObjectNotFound)
    .with_exception(exception::ITEM_NOT_FOUND)
    .with_command(cx.name.clone())
    .with_target(name, "String")
}

fn get_variable(it: &mut Interp<'_>, cx: &CmdCtx, _input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let mut names = names_arg(it, cx);
    if names.is_empty() {
        names.push("*".into());
    }
    let value_only = cx.args.switch("ValueOnly");
    let mut out = Vec::new();
    for name in names {
        let matches: Vec<String> = if name.contains(['*', '?']) {
            it.st
                .scopes
                .visible_names()
                .into_iter()
                .filter(|n| crate::ps::eval::operators::like(n, &name, false))
                .collect()
        } else {
            vec![name.clone()]
        };
        let mut found = false;
        for n in matches {
            if let Some(v) = it.st.scopes.get(&n) {
                found = true;
                out.push(if value_only {
                    v
                } else {
                    variable_object(&n, v)
                });
            }
        }
        if !found && !name.contains(['*', '?']) {
            let e = it.locate(variable_not_found(cx, &name, "GetVariableCommand"), cx.span);
            it.write_error(e, cx.error_action)?;
        }
    }
    Ok(out)
}

fn set_variable(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let value = if had {
        Value::from_output(input)
    } else {
        cx.args.get("Value").cloned().unwrap_or(Value::Null)
    };
    let scope = cx
        .args
        .get("Scope")
        .map(|v| convert::to_text(v, it).to_ascii_lowercase())
        .unwrap_or_default();
    let mut out = Vec::new();
    for name in names_arg(it, cx) {
        if cx.name.eq_ignore_ascii_case("New-Variable")
            && it.st.scopes.get(&name).is_some()
            && !cx.args.switch("Force")
        {
            let e = PsError::new(
                format!("A variable with name '{name}' already exists."),
                "VariableAlreadyExists,Microsoft.PowerShell.Commands.NewVariableCommand",
            )
            .with_category(ErrorCategory::ResourceExists)
            .with_command(cx.name.clone())
            .with_target(name.clone(), "String");
            let e = it.locate(e, cx.span);
            it.write_error(e, cx.error_action)?;
            continue;
        }
        match scope.as_str() {
            "global" | "script" => it.st.scopes.set_global(&name, value.clone()),
            _ => it.st.scopes.set_local(&name, value.clone()),
        }
        if cx.args.switch("PassThru") {
            out.push(variable_object(&name, value.clone()));
        }
    }
    Ok(out)
}

fn remove_variable(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    _input: Vec<Value>,
    _had: bool,
) -> R<Vec<Value>> {
    for name in names_arg(it, cx) {
        if !it.st.scopes.remove(&name) {
            let e = it.locate(
                variable_not_found(cx, &name, "RemoveVariableCommand"),
                cx.span,
            );
            it.write_error(e, cx.error_action)?;
        }
    }
    Ok(Vec::new())
}

fn clear_variable(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    _input: Vec<Value>,
    _had: bool,
) -> R<Vec<Value>> {
    for name in names_arg(it, cx) {
        it.st.scopes.set_local(&name, Value::Null);
    }
    Ok(Vec::new())
}

fn convert_to_secure_string(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
) -> R<Vec<Value>> {
    let values = if had {
        input
    } else {
        cx.args.get("String").cloned().into_iter().collect()
    };
    if !cx.args.switch("AsPlainText") {
        return Err(it.fail(
            PsError::unsupported(
                "ConvertTo-SecureString of an encrypted standard string (the emulator has no DPAPI key); use -AsPlainText -Force",
            ),
            cx.span,
        ));
    }
    if !cx.args.switch("Force") {
        return Err(Flow::statement(it.locate(
            PsError::new(
                "The system cannot protect plain text input. To suppress this warning and convert the plain text to a SecureString, reissue the command specifying the Force parameter. For more information ,type: get-help ConvertTo-SecureString.",
                "ImportSecureString_ForceRequired,Microsoft.PowerShell.Commands.ConvertToSecureStringCommand",
            )
            .with_category(ErrorCategory::InvalidArgument)
            .with_command(cx.name.clone()),
            cx.span,
        )));
    }
    let mut out = Vec::new();
    for v in values {
        let text = convert::to_text(&v, it);
        out.push(statics::secure_string(&text));
    }
    Ok(out)
}

fn invoke_expression(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
) -> R<Vec<Value>> {
    let texts: Vec<String> = if had {
        input.iter().map(|v| convert::to_text(v, it)).collect()
    } else {
        cx.args
            .get("Command")
            .map(|v| vec![convert::to_text(v, it)])
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for text in texts {
        let block = crate::ps::parse(&text)
            .map_err(|e| Flow::statement(it.locate(crate::ps::eval::parse_error(&e), cx.span)))?;
        let sb = ScriptBlockValue {
            block: std::sync::Arc::new(block),
            source: text.into(),
        };
        out.extend(it.run_block_here(&sb, None)?);
    }
    Ok(out)
}

fn invoke_command(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let Some(Value::ScriptBlock(sb)) = cx.args.get("ScriptBlock").cloned() else {
        return Err(it.fail(
            PsError::unsupported("Invoke-Command without -ScriptBlock (-FilePath, -Session reuse)"),
            cx.span,
        ));
    };
    // The emulator is the machine scripts address with -ComputerName; the
    // block runs here either way.
    let args = cx
        .args
        .get("ArgumentList")
        .map(Value::enumerate)
        .unwrap_or_default();
    let mut out = Vec::new();
    if had {
        for item in input {
            out.extend(it.invoke_block(&sb, args.clone(), Some(item), cx.span)?);
        }
    } else if cx.args.switch("NoNewScope") {
        out.extend(it.run_block_here(&sb, None)?);
    } else {
        out.extend(it.invoke_block(&sb, args, None, cx.span)?);
    }
    Ok(out)
}

fn command_info(name: &str, kind: &str, module: &str) -> Value {
    Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.CmdletInfo",
        vec![
            (
                "CommandType".into(),
                Value::enumeration(
                    "System.Management.Automation.CommandTypes",
                    kind,
                    if kind == "Function" { 2 } else { 8 },
                ),
            ),
            ("Name".into(), Value::from(name)),
            ("Source".into(), Value::from(module)),
            ("ModuleName".into(), Value::from(module)),
        ],
        Some(name.to_owned()),
    )))
}

fn get_command(it: &mut Interp<'_>, cx: &CmdCtx, _input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let mut out = Vec::new();
    for name in names_arg(it, cx) {
        let canonical = canonical_name(&name).to_owned();
        if let Some(f) = it.st.scopes.function(&canonical) {
            out.push(command_info(&f.name, "Function", ""));
        } else if let Some(def) = super::lookup(&canonical) {
            out.push(command_info(
                def.name,
                "Cmdlet",
                "Microsoft.PowerShell.Utility",
            ));
        } else if it.host.has_command(&canonical) {
            out.push(command_info(&canonical, "Cmdlet", "virtualmachinemanager"));
        } else if name.contains('*') {
            for n in super::names() {
                if crate::ps::eval::operators::like(n, &name, false) {
                    out.push(command_info(n, "Cmdlet", "Microsoft.PowerShell.Utility"));
                }
            }
        } else {
            let mut e = PsError::command_not_found(&name);
            e.fully_qualified_error_id =
                "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand".into();
            e.command = Some(cx.name.clone());
            let e = it.locate(e, cx.span);
            it.write_error(e, cx.error_action)?;
        }
    }
    Ok(out)
}

fn get_random(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let random = || {
        u64::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..8]
                .try_into()
                .unwrap_or([0; 8]),
        )
    };
    let pool: Vec<Value> = if had {
        input
    } else {
        cx.args
            .get("InputObject")
            .map(Value::enumerate)
            .unwrap_or_default()
    };
    if !pool.is_empty() {
        let count = number_arg(it, cx, "Count")?.map_or(1, |c| c.max(1.0) as usize);
        let mut pool = pool;
        let mut out = Vec::new();
        while out.len() < count && !pool.is_empty() {
            let i = usize::try_from(random() % (pool.len() as u64)).unwrap_or(0);
            out.push(pool.remove(i));
        }
        return Ok(out);
    }
    let min = number_arg(it, cx, "Minimum")?.unwrap_or(0.0) as i64;
    let max = number_arg(it, cx, "Maximum")?.map_or(i64::from(i32::MAX), |m| m as i64);
    if max <= min {
        return Err(it.fail(
            PsError::new(
                format!("The Minimum value ({min}) cannot be greater than or equal to the Maximum value ({max})."),
                "MinGreaterThanOrEqualMax,Microsoft.PowerShell.Commands.GetRandomCommand",
            )
            .with_category(ErrorCategory::InvalidArgument),
            cx.span,
        ));
    }
    let span = u64::try_from(max - min).unwrap_or(1);
    let n = min + i64::try_from(random() % span).unwrap_or(0);
    Ok(vec![i32::try_from(n).map_or(Value::Long(n), Value::Int)])
}

/// Real cmdlets the emulator does not implement: they fail with a clear
/// "not supported" error rather than PowerShell's "not recognized", so a
/// script author knows the emulator, not the script, is at fault.
const UNSUPPORTED: &[&str] = &[
    "Get-ChildItem",
    "Get-Item",
    "Get-ItemProperty",
    "Set-ItemProperty",
    "Copy-Item",
    "Move-Item",
    "Rename-Item",
    "Resolve-Path",
    "Get-Process",
    "Start-Process",
    "Stop-Process",
    "Get-Service",
    "Start-Service",
    "Stop-Service",
    "Restart-Service",
    "Invoke-WebRequest",
    "Invoke-RestMethod",
    "Export-Csv",
    "Import-Csv",
    "ConvertTo-Csv",
    "ConvertFrom-Csv",
    "Export-Clixml",
    "Import-Clixml",
    "ConvertTo-Xml",
    "ConvertFrom-SecureString",
    "Select-String",
    "Compare-Object",
    "Tee-Object",
    "Format-Wide",
    "Format-Custom",
    "Get-Credential",
    "Read-Host",
    "Get-WmiObject",
    "Get-CimInstance",
    "Invoke-WmiMethod",
    "New-PSSession",
    "Enter-PSSession",
    "Remove-PSSession",
    "Start-Job",
    "Receive-Job",
    "Wait-Job",
    "Update-TypeData",
    "Remove-TypeData",
    "Add-Type",
    "Register-ObjectEvent",
    "Wait-Event",
    "Test-Connection",
    "Get-PSDrive",
    "New-PSDrive",
    "Get-FileHash",
    "Measure-Command",
    "Trace-Command",
];

/// Whether `name` is a real cmdlet the emulator knowingly lacks.
pub(crate) fn is_known_unsupported(name: &str) -> bool {
    UNSUPPORTED.iter().any(|n| n.eq_ignore_ascii_case(name))
}
