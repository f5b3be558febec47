//! Output cmdlets: the Write-* family, Out-Null, Out-String,
//! Out-Default/Out-Host, Format-List, Format-Table.

use super::{BuiltinDef, Cmdlet, Kind, input_or_argument};
use crate::ps::eval::OutputRecord;
use crate::ps::eval::convert;
use crate::ps::eval::errors::{ErrorCategory, PsError, R, exception};
use crate::ps::eval::host::CommandSignature;
use crate::ps::eval::interp::{Interp, position_in};
use crate::ps::eval::pipeline::{CmdCtx, Processed};
use crate::ps::eval::render;
use crate::ps::eval::value::Value;

pub(super) fn builtins() -> Vec<BuiltinDef> {
    let message = || CommandSignature::new().positional("Message", 0);
    vec![
        BuiltinDef {
            name: "Write-Output",
            signature: || {
                CommandSignature::new()
                    .positional("InputObject", 0)
                    .remaining()
                    .switch("NoEnumerate")
            },
            kind: Kind::Stream(|_, _| Ok(Box::new(WriteOutput))),
        },
        BuiltinDef {
            name: "Write-Host",
            signature: || {
                CommandSignature::new()
                    .positional("Object", 0)
                    .remaining()
                    .switch("NoNewline")
                    .param("Separator")
                    .param("ForegroundColor")
                    .param("BackgroundColor")
            },
            kind: Kind::Collect(write_host),
        },
        BuiltinDef {
            name: "Write-Error",
            signature: || {
                CommandSignature::new()
                    .positional("Message", 0)
                    .alias("Msg")
                    .param("Exception")
                    .param("ErrorRecord")
                    .param("Category")
                    .param("ErrorId")
                    .param("TargetObject")
                    .param("RecommendedAction")
                    .param("CategoryActivity")
                    .param("CategoryReason")
                    .param("CategoryTargetName")
                    .param("CategoryTargetType")
            },
            kind: Kind::Collect(write_error),
        },
        BuiltinDef {
            name: "Write-Warning",
            signature: message,
            kind: Kind::Collect(|it, cx, input, had| {
                write_stream(it, cx, input, had, "WarningPreference")
            }),
        },
        BuiltinDef {
            name: "Write-Verbose",
            signature: message,
            kind: Kind::Collect(|it, cx, input, had| {
                write_stream(it, cx, input, had, "VerbosePreference")
            }),
        },
        BuiltinDef {
            name: "Write-Debug",
            signature: message,
            kind: Kind::Collect(|it, cx, input, had| {
                write_stream(it, cx, input, had, "DebugPreference")
            }),
        },
        BuiltinDef {
            name: "Write-Information",
            signature: || {
                CommandSignature::new()
                    .positional("MessageData", 0)
                    .alias("Msg")
                    .positional("Tags", 1)
            },
            kind: Kind::Collect(write_information),
        },
        BuiltinDef {
            name: "Write-Progress",
            signature: || {
                CommandSignature::new()
                    .positional("Activity", 0)
                    .positional("Status", 1)
                    .positional("Id", 2)
                    .param("PercentComplete")
                    .param("SecondsRemaining")
                    .param("CurrentOperation")
                    .param("ParentId")
                    .param("SourceId")
                    .switch("Completed")
            },
            // Progress records are noise for WinRM clients (they set
            // $ProgressPreference to hide them); the emulator drops them.
            kind: Kind::Collect(|_, _, _, _| Ok(Vec::new())),
        },
        BuiltinDef {
            name: "Out-Null",
            signature: || CommandSignature::new().param("InputObject"),
            kind: Kind::Collect(|_, _, _, _| Ok(Vec::new())),
        },
        BuiltinDef {
            name: "Out-String",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .switch("Stream")
                    .param("Width")
            },
            kind: Kind::Collect(out_string),
        },
        BuiltinDef {
            name: "Out-Default",
            signature: || CommandSignature::new().param("InputObject"),
            kind: Kind::Collect(out_host),
        },
        BuiltinDef {
            name: "Out-Host",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .switch("Paging")
            },
            kind: Kind::Collect(out_host),
        },
        BuiltinDef {
            name: "Format-List",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Property", 0)
                    .switch("Force")
            },
            kind: Kind::Collect(|it, cx, input, had| format(it, cx, input, had, false)),
        },
        BuiltinDef {
            name: "Format-Table",
            signature: || {
                CommandSignature::new()
                    .param("InputObject")
                    .positional("Property", 0)
                    .switch("AutoSize")
                    .switch("HideTableHeaders")
                    .switch("Wrap")
                    .switch("Force")
            },
            kind: Kind::Collect(|it, cx, input, had| format(it, cx, input, had, true)),
        },
    ]
}

struct WriteOutput;

impl Cmdlet for WriteOutput {
    fn process(&mut self, _it: &mut Interp<'_>, cx: &CmdCtx, input: Option<Value>) -> R<Processed> {
        let value = match input {
            Some(v) => v,
            None => match cx.args.get("InputObject") {
                Some(v) => v.clone(),
                None => return Ok(Processed::items(Vec::new())),
            },
        };
        let items = if cx.args.switch("NoEnumerate") || !value.is_enumerable() {
            vec![value]
        } else {
            value.enumerate()
        };
        Ok(Processed::items(items))
    }
}

fn write_host(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let separator = cx
        .args
        .get("Separator")
        .map_or_else(|| " ".to_owned(), |v| convert::to_text(v, it));
    let objects = if had {
        input
    } else {
        cx.args
            .get("Object")
            .map(|v| v.enumerate())
            .unwrap_or_default()
    };
    let mut parts = Vec::with_capacity(objects.len());
    for o in &objects {
        parts.push(convert::to_text(o, it));
    }
    let text = parts.join(&separator);
    it.record(OutputRecord::Host {
        text,
        newline: !cx.args.switch("NoNewline"),
    })?;
    Ok(Vec::new())
}

fn message_text(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
    name: &str,
) -> String {
    let value = if had {
        Value::from_output(input)
    } else {
        cx.args.get(name).cloned().unwrap_or(Value::Null)
    };
    convert::to_text(&value, it)
}

fn write_stream(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
    preference: &str,
) -> R<Vec<Value>> {
    let text = message_text(it, cx, input, had, "Message");
    let overridden = match preference {
        "WarningPreference" => cx.args.common.warning_action,
        "VerbosePreference" => cx.args.common.verbose.map(|v| {
            if v {
                crate::ps::eval::errors::ActionPreference::Continue
            } else {
                crate::ps::eval::errors::ActionPreference::SilentlyContinue
            }
        }),
        "DebugPreference" => cx.args.common.debug.map(|v| {
            if v {
                crate::ps::eval::errors::ActionPreference::Continue
            } else {
                crate::ps::eval::errors::ActionPreference::SilentlyContinue
            }
        }),
        _ => None,
    };
    match overridden {
        Some(p) => {
            let saved = it.st.scopes.get(preference);
            it.st.scopes.set_local(preference, Value::str(p.name()));
            let r = it.write_stream(preference, text);
            it.st
                .scopes
                .set_local(preference, saved.unwrap_or(Value::Null));
            r?;
        }
        None => it.write_stream(preference, text)?,
    }
    Ok(Vec::new())
}

fn write_information(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
) -> R<Vec<Value>> {
    let text = message_text(it, cx, input, had, "MessageData");
    it.write_stream("InformationPreference", text)?;
    Ok(Vec::new())
}

/// `Write-Error`: a non-terminating `WriteErrorException`, attributed the
/// way PowerShell 5.1 attributes it: inside a function to the function
/// (`f : message`, FullyQualifiedErrorId suffixed `,f`, the position of
/// the call), at the top level to the script text itself.
fn write_error(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let mut e = if let Some(Value::ErrorRecord(record)) = cx.args.get("ErrorRecord") {
        (**record).clone()
    } else {
        let from_exception = cx.args.get("Exception").cloned();
        let message = if cx.args.has("Message") || had {
            message_text(it, cx, input, had, "Message")
        } else {
            match &from_exception {
                Some(Value::Exception(x)) => x.message.clone(),
                Some(other) => convert::to_text(other, it),
                None => String::new(),
            }
        };
        let mut e = PsError::new(message, "Microsoft.PowerShell.Commands.WriteErrorException")
            .with_exception(exception::WRITE_ERROR)
            .with_category(ErrorCategory::NotSpecified);
        if let Some(Value::Exception(x)) = &from_exception {
            e.exception_type = x.exception_type.clone();
        }
        if let Some(id) = cx.args.get("ErrorId") {
            e.fully_qualified_error_id = convert::to_text(id, it);
        }
        if let Some(c) = cx.args.get("Category") {
            e.category = ErrorCategory::from_name(&convert::to_text(c, it))
                .unwrap_or(ErrorCategory::NotSpecified);
        }
        if let Some(t) = cx.args.get("TargetObject") {
            e.target_name = convert::to_text(t, it);
            e.target_type = t.type_name().rsplit('.').next().unwrap_or("").to_owned();
        }
        if let Some(t) = cx.args.get("CategoryTargetName") {
            e.target_name = convert::to_text(t, it);
        }
        if let Some(t) = cx.args.get("CategoryTargetType") {
            e.target_type = convert::to_text(t, it);
        }
        if let Some(t) = cx.args.get("CategoryReason") {
            e.exception_type = convert::to_text(t, it);
        }
        e.command = Some(
            cx.args
                .get("CategoryActivity")
                .map_or_else(|| "Write-Error".to_owned(), |a| convert::to_text(a, it)),
        );
        e
    };
    let caller = it
        .frames
        .iter()
        .rev()
        .find(|f| f.call_site.is_some() && f.name != "<ScriptBlock>")
        .cloned();
    match caller {
        Some(frame) => {
            e.prefix_override = Some(frame.name.clone());
            e.fully_qualified_error_id = format!("{},{}", e.fully_qualified_error_id, frame.name);
            if let Some((source, span)) = &frame.call_site {
                e.position = Some(position_in(source, *span));
            }
        }
        None => {
            e.prefix_override = Some(
                it.frames
                    .first()
                    .map_or_else(String::new, |f| f.source.trim().to_owned()),
            );
        }
    }
    e.script_stack_trace = it.stack_trace();
    it.write_error(e, cx.error_action)?;
    Ok(Vec::new())
}

fn out_string(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let text = render::render_for_file(&items, it);
    if cx.args.switch("Stream") {
        Ok(text
            .split("\r\n")
            .map(Value::from)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .skip_while(|v| matches!(v, Value::String(s) if s.is_empty()))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect())
    } else {
        Ok(vec![Value::from(text)])
    }
}

fn out_host(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    for item in input_or_argument(cx, input, had) {
        let text = render::render_value(&item, it);
        it.record(OutputRecord::Output { value: item, text })?;
    }
    Ok(Vec::new())
}

/// Format-List / Format-Table: the emulator formats straight to text
/// (PowerShell emits format objects that Out-Default renders; the text is
/// the same once printed).
fn format(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
    table: bool,
) -> R<Vec<Value>> {
    let items = input_or_argument(cx, input, had);
    let wanted: Option<Vec<String>> = cx
        .args
        .get("Property")
        .map(|v| v.enumerate().iter().map(convert::scalar_text).collect());
    let text = if table {
        render::render_table(&items, wanted.as_deref(), it)
    } else {
        let mut out = String::new();
        for item in &items {
            out.push_str(&render::render_list(item, wanted.as_deref(), it));
            out.push_str("\r\n");
        }
        out
    };
    Ok(vec![Value::from(text.trim_end_matches("\r\n").to_owned())])
}
