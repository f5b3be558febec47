//! File and path cmdlets over the session's [`FileStore`]: Test-Path,
//! Get-Content, Set-Content, Add-Content, Out-File, Remove-Item, New-Item,
//! Split-Path, Join-Path, Get-Location, Set-Location. The `env:`,
//! `variable:` and `function:` drives work for Test-Path, Get-Content and
//! Remove-Item.
//!
//! [`FileStore`]: crate::ps::eval::FileStore

use super::{BuiltinDef, Kind};
use crate::ps::eval::convert;
use crate::ps::eval::errors::{ErrorCategory, PsError, R, exception};
use crate::ps::eval::host::CommandSignature;
use crate::ps::eval::interp::Interp;
use crate::ps::eval::members::encode;
use crate::ps::eval::pipeline::CmdCtx;
use crate::ps::eval::render;
use crate::ps::eval::statics::{decode_with_bom, split_lines};
use crate::ps::eval::value::{ObjectData, Shared, TextEncoding, Value};

pub(super) fn builtins() -> Vec<BuiltinDef> {
    let content = || {
        CommandSignature::new()
            .positional("Path", 0)
            .param("LiteralPath")
            .alias("PSPath")
            .positional("Value", 1)
            .param("Encoding")
            .switch("NoNewline")
            .switch("Force")
            .switch("PassThru")
    };
    vec![
        BuiltinDef {
            name: "Test-Path",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .param("LiteralPath")
                    .alias("PSPath")
                    .param("PathType")
                    .alias("Type")
                    .switch("IsValid")
            },
            kind: Kind::Collect(test_path),
        },
        BuiltinDef {
            name: "Get-Content",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .param("LiteralPath")
                    .alias("PSPath")
                    .param("Encoding")
                    .param("ReadCount")
                    .param("TotalCount")
                    .alias("First")
                    .alias("Head")
                    .param("Tail")
                    .alias("Last")
                    .switch("Raw")
                    .switch("Force")
            },
            kind: Kind::Collect(get_content),
        },
        BuiltinDef {
            name: "Set-Content",
            signature: content,
            kind: Kind::Collect(|it, cx, input, had| set_content(it, cx, input, had, false)),
        },
        BuiltinDef {
            name: "Add-Content",
            signature: content,
            kind: Kind::Collect(|it, cx, input, had| set_content(it, cx, input, had, true)),
        },
        BuiltinDef {
            name: "Out-File",
            signature: || {
                CommandSignature::new()
                    .positional("FilePath", 0)
                    .alias("Path")
                    .param("LiteralPath")
                    .positional("Encoding", 1)
                    .param("InputObject")
                    .param("Width")
                    .switch("Append")
                    .switch("NoNewline")
                    .switch("Force")
                    .switch("NoClobber")
            },
            kind: Kind::Collect(out_file),
        },
        BuiltinDef {
            name: "Remove-Item",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .param("LiteralPath")
                    .alias("PSPath")
                    .switch("Recurse")
                    .switch("Force")
            },
            kind: Kind::Collect(remove_item),
        },
        BuiltinDef {
            name: "New-Item",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .param("Name")
                    .param("ItemType")
                    .alias("Type")
                    .param("Value")
                    .switch("Force")
            },
            kind: Kind::Collect(new_item),
        },
        BuiltinDef {
            name: "Split-Path",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .param("LiteralPath")
                    .switch("Parent")
                    .switch("Leaf")
                    .switch("Qualifier")
                    .switch("NoQualifier")
                    .switch("IsAbsolute")
                    .switch("Resolve")
            },
            kind: Kind::Collect(split_path),
        },
        BuiltinDef {
            name: "Join-Path",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .positional("ChildPath", 1)
                    .positional("AdditionalChildPath", 2)
                    .remaining()
                    .switch("Resolve")
            },
            kind: Kind::Collect(join_path),
        },
        BuiltinDef {
            name: "Get-Location",
            signature: CommandSignature::new,
            kind: Kind::Collect(|it, _, _, _| Ok(vec![location(it)])),
        },
        BuiltinDef {
            name: "Set-Location",
            signature: || {
                CommandSignature::new()
                    .positional("Path", 0)
                    .param("LiteralPath")
                    .switch("PassThru")
            },
            kind: Kind::Collect(set_location),
        },
    ]
}

fn location(it: &Interp<'_>) -> Value {
    Value::Object(Shared::new(ObjectData::typed(
        "System.Management.Automation.PathInfo",
        vec![
            ("Path".into(), Value::from(it.st.cwd.as_str())),
            ("ProviderPath".into(), Value::from(it.st.cwd.as_str())),
        ],
        Some(it.st.cwd.clone()),
    )))
}

/// The paths a command was given (`-Path` or `-LiteralPath`).
fn paths(it: &mut Interp<'_>, cx: &CmdCtx, input: &[Value], name: &str) -> Vec<String> {
    let given = cx
        .args
        .get(name)
        .or_else(|| cx.args.get("LiteralPath"))
        .cloned();
    let values = match given {
        Some(v) => v.enumerate(),
        None => input.to_vec(),
    };
    values.iter().map(|v| convert::to_text(v, it)).collect()
}

/// A provider path: `env:X`, `variable:x`, `function:f`, or a file path.
enum Item<'a> {
    Env(&'a str),
    Variable(&'a str),
    Function(&'a str),
    File(String),
}

fn item<'a>(it: &Interp<'_>, path: &'a str) -> Item<'a> {
    let lower = path.to_ascii_lowercase();
    for (prefix, make) in [
        ("env:", Item::Env as fn(&'a str) -> Item<'a>),
        ("variable:", Item::Variable),
        ("function:", Item::Function),
    ] {
        if lower.starts_with(prefix) {
            let rest = path[prefix.len()..].trim_start_matches(['\\', '/']);
            return make(rest);
        }
    }
    Item::File(it.full_path(path))
}

fn not_found(cx: &CmdCtx, path: &str, class: &str) -> PsError {
    PsError::new(
        format!("Cannot find path '{path}' because it does not exist."),
        format!("PathNotFound,Microsoft.PowerShell.Commands.{class}"),
    )
    .with_exception(exception::ITEM_NOT_FOUND)
    .with_category(ErrorCategory::ObjectNotFound)
    .with_command(cx.name.clone())
    .with_target(path, "String")
}

fn test_path(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let kind = cx
        .args
        .get("PathType")
        .map(|v| convert::to_text(v, it).to_ascii_lowercase())
        .unwrap_or_else(|| "any".into());
    let mut out = Vec::new();
    for p in paths(it, cx, &input, "Path") {
        if cx.args.switch("IsValid") {
            out.push(Value::Bool(!p.contains(['<', '>', '|', '"'])));
            continue;
        }
        let exists = match item(it, &p) {
            Item::Env(name) => it.st.env.contains_key(&name.to_lowercase()),
            Item::Variable(name) => it.st.scopes.get(name).is_some(),
            Item::Function(name) => it.st.scopes.function(name).is_some(),
            Item::File(full) => {
                let is_file = it.files().is_file(&full);
                let is_dir = it.files().is_dir(&full);
                match kind.as_str() {
                    "leaf" => is_file,
                    "container" => is_dir,
                    _ => is_file || is_dir,
                }
            }
        };
        out.push(Value::Bool(exists));
    }
    Ok(out)
}

fn encoding_name(it: &mut Interp<'_>, cx: &CmdCtx) -> String {
    cx.args
        .get("Encoding")
        .map(|v| convert::to_text(v, it).to_ascii_lowercase())
        .unwrap_or_default()
}

fn get_content(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let encoding = encoding_name(it, cx);
    let raw = cx.args.switch("Raw");
    let read_all = cx
        .args
        .get("ReadCount")
        .is_some_and(|v| convert::scalar_text(v) == "0");
    let mut out = Vec::new();
    for p in paths(it, cx, &input, "Path") {
        let bytes = match item(it, &p) {
            Item::Env(name) => match it.st.env.get(&name.to_lowercase()) {
                Some((_, v)) => {
                    out.push(Value::from(v.as_str()));
                    continue;
                }
                None => None,
            },
            Item::Variable(name) => match it.st.scopes.get(name) {
                Some(v) => {
                    out.push(v);
                    continue;
                }
                None => None,
            },
            Item::Function(_) => None,
            Item::File(full) => it.files().read(&full),
        };
        let Some(bytes) = bytes else {
            let e = it.locate(not_found(cx, &p, "GetContentCommand"), cx.span);
            it.write_error(e, cx.error_action)?;
            continue;
        };
        if encoding == "byte" {
            if raw || read_all {
                out.push(Value::bytes(bytes));
            } else {
                out.extend(bytes.into_iter().map(Value::Byte));
            }
            continue;
        }
        let enc = match encoding.as_str() {
            "unicode" => TextEncoding::Unicode,
            "bigendianunicode" => TextEncoding::BigEndianUnicode,
            "ascii" => TextEncoding::Ascii,
            _ => TextEncoding::Utf8,
        };
        let text = decode_with_bom(&bytes, enc);
        if raw {
            out.push(Value::from(text));
            continue;
        }
        let mut lines: Vec<Value> = split_lines(&text).into_iter().map(Value::from).collect();
        if let Some(n) = cx
            .args
            .get("TotalCount")
            .and_then(|v| convert::parse_number(&convert::scalar_text(v)))
        {
            lines.truncate(usize::try_from(n.as_f64() as i64).unwrap_or(0));
        }
        if let Some(n) = cx
            .args
            .get("Tail")
            .and_then(|v| convert::parse_number(&convert::scalar_text(v)))
        {
            let keep = usize::try_from(n.as_f64() as i64).unwrap_or(0);
            let skip = lines.len().saturating_sub(keep);
            lines.drain(..skip);
        }
        if read_all {
            out.push(Value::array(lines));
        } else {
            out.extend(lines);
        }
    }
    Ok(out)
}

/// Bytes for content cmdlets: `-Encoding Byte` takes bytes; text encodings
/// write a BOM the way Windows PowerShell 5.1 does (UTF8 and Unicode have
/// one; the default ANSI encoding is written as UTF-8 without a BOM).
fn content_bytes(
    it: &mut Interp<'_>,
    encoding: &str,
    values: &[Value],
    no_newline: bool,
    bom: bool,
) -> Vec<u8> {
    if encoding == "byte" {
        let mut out = Vec::new();
        for v in values {
            match v {
                Value::Bytes(b) => out.extend(b.read(Clone::clone)),
                other => {
                    for x in other.enumerate() {
                        if let Ok(Value::Byte(b)) =
                            convert::convert_to(&x, &crate::ps::eval::types::PsType::Byte, it)
                        {
                            out.push(b);
                        }
                    }
                }
            }
        }
        return out;
    }
    let mut text = String::new();
    for v in values {
        for x in if v.is_enumerable() {
            v.enumerate()
        } else {
            vec![v.clone()]
        } {
            text.push_str(&convert::to_text(&x, it));
            if !no_newline {
                text.push_str("\r\n");
            }
        }
    }
    let (enc, prefix): (TextEncoding, &[u8]) = match encoding {
        "utf8" => (TextEncoding::Utf8, &[0xEF, 0xBB, 0xBF]),
        "unicode" => (TextEncoding::Unicode, &[0xFF, 0xFE]),
        "bigendianunicode" => (TextEncoding::BigEndianUnicode, &[0xFE, 0xFF]),
        "ascii" => (TextEncoding::Ascii, &[]),
        _ => (TextEncoding::Utf8, &[]),
    };
    let mut bytes = if bom { prefix.to_vec() } else { Vec::new() };
    bytes.extend(encode(enc, &text));
    bytes
}

fn set_content(
    it: &mut Interp<'_>,
    cx: &CmdCtx,
    input: Vec<Value>,
    had: bool,
    append: bool,
) -> R<Vec<Value>> {
    let values = if had {
        input
    } else {
        cx.args.get("Value").cloned().into_iter().collect()
    };
    let encoding = encoding_name(it, cx);
    for p in paths(it, cx, &[], "Path") {
        match item(it, &p) {
            Item::Env(name) => {
                let text = values
                    .iter()
                    .map(|v| convert::to_text(v, it))
                    .collect::<Vec<_>>()
                    .join("");
                it.st
                    .env
                    .insert(name.to_lowercase(), (name.to_owned(), text));
            }
            Item::Variable(name) => it
                .st
                .scopes
                .set_local(name, Value::from_output(values.clone())),
            Item::Function(_) => {
                return Err(it.fail(
                    PsError::unsupported("Set-Content on the function: drive"),
                    cx.span,
                ));
            }
            Item::File(full) => {
                let exists = it.files().is_file(&full);
                let bytes = content_bytes(
                    it,
                    &encoding,
                    &values,
                    cx.args.switch("NoNewline"),
                    !(append && exists),
                );
                it.check_size(bytes.len(), "A file")?;
                let result = if append {
                    it.files().append(&full, &bytes)
                } else {
                    it.files().write(&full, bytes)
                };
                if let Err(m) = result {
                    let e = PsError::new(m, "WriteError")
                        .with_category(ErrorCategory::WriteError)
                        .with_command(cx.name.clone());
                    let e = it.locate(e, cx.span);
                    it.write_error(e, cx.error_action)?;
                }
            }
        }
    }
    Ok(if cx.args.switch("PassThru") {
        values
    } else {
        Vec::new()
    })
}

fn out_file(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, had: bool) -> R<Vec<Value>> {
    let items = super::input_or_argument(cx, input, had);
    let path = cx
        .args
        .get("FilePath")
        .or_else(|| cx.args.get("LiteralPath"))
        .map(|v| convert::to_text(v, it))
        .unwrap_or_default();
    let full = it.full_path(&path);
    let mut text = render::render_for_file(&items, it);
    if cx.args.switch("NoNewline") {
        text = text.replace("\r\n", "");
    }
    // Out-File's default encoding in Windows PowerShell 5.1 is UTF-16 LE.
    let encoding = match encoding_name(it, cx).as_str() {
        "" => "unicode".to_owned(),
        other => other.to_owned(),
    };
    let exists = it.files().is_file(&full);
    let append = cx.args.switch("Append");
    let bytes = {
        let (enc, bom): (TextEncoding, &[u8]) = match encoding.as_str() {
            "utf8" => (TextEncoding::Utf8, &[0xEF, 0xBB, 0xBF]),
            "ascii" | "default" | "oem" => (TextEncoding::Ascii, &[]),
            "bigendianunicode" => (TextEncoding::BigEndianUnicode, &[0xFE, 0xFF]),
            _ => (TextEncoding::Unicode, &[0xFF, 0xFE]),
        };
        let mut b = if append && exists {
            Vec::new()
        } else {
            bom.to_vec()
        };
        b.extend(encode(enc, &text));
        b
    };
    let result = if append {
        it.files().append(&full, &bytes)
    } else {
        it.files().write(&full, bytes)
    };
    result.map_err(|m| it.fail(PsError::new(m, "WriteError"), cx.span))?;
    Ok(Vec::new())
}

fn remove_item(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    for p in paths(it, cx, &input, "Path") {
        let removed = match item(it, &p) {
            Item::Env(name) => it.st.env.remove(&name.to_lowercase()).is_some(),
            Item::Variable(name) => it.st.scopes.remove(name),
            Item::Function(name) => it.st.scopes.remove_function(name),
            Item::File(full) => it.files().delete(&full),
        };
        if !removed {
            let e = it.locate(not_found(cx, &p, "RemoveItemCommand"), cx.span);
            it.write_error(e, cx.error_action)?;
        }
    }
    Ok(Vec::new())
}

fn file_item(full: &str, directory: bool) -> Value {
    let name = full.rsplit('\\').next().unwrap_or(full).to_owned();
    let parent = full.rsplit_once('\\').map_or("", |(p, _)| p).to_owned();
    Value::Object(Shared::new(ObjectData::typed(
        if directory {
            "System.IO.DirectoryInfo"
        } else {
            "System.IO.FileInfo"
        },
        vec![
            ("Name".into(), Value::from(name)),
            ("FullName".into(), Value::from(full)),
            (
                if directory { "Parent" } else { "DirectoryName" }.into(),
                Value::from(parent),
            ),
        ],
        Some(full.to_owned()),
    )))
}

fn new_item(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let kind = cx
        .args
        .get("ItemType")
        .map(|v| convert::to_text(v, it).to_ascii_lowercase())
        .unwrap_or_else(|| "file".into());
    let name = cx.args.get("Name").map(|v| convert::to_text(v, it));
    let mut out = Vec::new();
    let mut targets = paths(it, cx, &input, "Path");
    if targets.is_empty() {
        targets.push(".".into());
    }
    for p in targets {
        let p = match &name {
            Some(n) => format!("{}\\{n}", p.trim_end_matches('\\')),
            None => p,
        };
        let full = it.full_path(&p);
        let directory = kind == "directory" || kind == "container";
        if !directory && kind != "file" {
            return Err(it.fail(
                PsError::unsupported(format!("New-Item -ItemType {kind}")),
                cx.span,
            ));
        }
        let exists = it.files().is_file(&full) || it.files().is_dir(&full);
        if exists && !cx.args.switch("Force") {
            let message = if directory {
                format!("An item with the specified name {full} already exists.")
            } else {
                format!("The file '{full}' already exists.")
            };
            let e = PsError::new(
                message,
                if directory {
                    "DirectoryExist,Microsoft.PowerShell.Commands.NewItemCommand"
                } else {
                    "NewItemIOError,Microsoft.PowerShell.Commands.NewItemCommand"
                },
            )
            .with_category(ErrorCategory::ResourceExists)
            .with_exception("System.IO.IOException")
            .with_command(cx.name.clone())
            .with_target(full.clone(), "String");
            let e = it.locate(e, cx.span);
            it.write_error(e, cx.error_action)?;
            continue;
        }
        let result = if directory {
            it.files().create_dir(&full)
        } else {
            let value = cx
                .args
                .get("Value")
                .map(|v| convert::to_text(v, it))
                .unwrap_or_default();
            it.files().write(&full, value.into_bytes())
        };
        result.map_err(|m| it.fail(PsError::new(m, "NewItemIOError"), cx.span))?;
        out.push(file_item(&full, directory));
    }
    Ok(out)
}

fn split_path(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let mut out = Vec::new();
    for p in paths(it, cx, &input, "Path") {
        let norm = p.replace('/', "\\");
        let trimmed = norm.trim_end_matches('\\');
        let qualifier = if norm.len() >= 2 && norm.as_bytes()[1] == b':' {
            norm[..2].to_owned()
        } else {
            String::new()
        };
        let v = if cx.args.switch("Leaf") {
            Value::from(trimmed.rsplit('\\').next().unwrap_or(trimmed))
        } else if cx.args.switch("Qualifier") {
            Value::from(qualifier)
        } else if cx.args.switch("NoQualifier") {
            Value::from(norm[qualifier.len()..].to_owned())
        } else if cx.args.switch("IsAbsolute") {
            Value::Bool(!qualifier.is_empty() || norm.starts_with("\\\\"))
        } else {
            match trimmed.rfind('\\') {
                Some(0) => Value::str("\\"),
                Some(i) => {
                    let parent = &trimmed[..i];
                    if parent.len() == 2 && parent.ends_with(':') {
                        Value::from(format!("{parent}\\"))
                    } else {
                        Value::from(parent)
                    }
                }
                None => Value::str(""),
            }
        };
        out.push(v);
    }
    Ok(out)
}

fn join_path(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    let children: Vec<String> = ["ChildPath", "AdditionalChildPath"]
        .iter()
        .filter_map(|n| cx.args.get(n))
        .flat_map(Value::enumerate)
        .map(|v| convert::scalar_text(&v))
        .collect();
    let mut out = Vec::new();
    for p in paths(it, cx, &input, "Path") {
        let mut joined = p.trim_end_matches(['\\', '/']).to_owned();
        for c in &children {
            joined.push('\\');
            joined.push_str(c.trim_start_matches(['\\', '/']));
        }
        out.push(Value::from(joined));
    }
    Ok(out)
}

fn set_location(it: &mut Interp<'_>, cx: &CmdCtx, input: Vec<Value>, _had: bool) -> R<Vec<Value>> {
    if let Some(p) = paths(it, cx, &input, "Path").into_iter().next() {
        it.st.cwd = it.full_path(&p);
    }
    Ok(if cx.args.switch("PassThru") {
        vec![location(it)]
    } else {
        Vec::new()
    })
}
