//! `ConvertTo-Json` and `ConvertFrom-Json` exactly as Windows PowerShell
//! 5.1 behaves: default depth 2 with silent truncation to strings, enums
//! as numbers, `\/Date(ms)\/`, JavaScriptSerializer escaping, single-item
//! unwrapping, the 5.1 pretty-printer, and `ConvertFrom-Json`'s
//! PSCustomObjects and unenumerated arrays.

use scvmm_sim::ps::eval::{NoCommands, RunResult, SessionOptions, run_script};

fn run(src: &str) -> RunResult {
    run_script(src, &mut NoCommands, SessionOptions::default())
}

/// The single string a script outputs (CR LF kept), asserting no errors.
fn json(src: &str) -> String {
    let r = run(src);
    assert!(
        r.errors().next().is_none(),
        "unexpected errors for {src:?}:\n{}",
        r.stderr_text()
    );
    let out = r.output();
    assert_eq!(out.len(), 1, "expected one output object for {src:?}");
    match &out[0] {
        scvmm_sim::ps::eval::Value::String(s) => s.to_string(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn lines(src: &str) -> String {
    let r = run(src);
    assert!(r.errors().next().is_none(), "{}", r.stderr_text());
    r.stdout_text().replace("\r\n", "\n").trim_end().to_owned()
}

#[test]
fn primitives() {
    assert_eq!(json("'x' | ConvertTo-Json"), "\"x\"");
    assert_eq!(json("42 | ConvertTo-Json"), "42");
    assert_eq!(json("(0.1 + 0.2) | ConvertTo-Json"), "0.30000000000000004");
    assert_eq!(json("1.5 | ConvertTo-Json"), "1.5");
    assert_eq!(json("1e20 | ConvertTo-Json"), "1E+20");
    assert_eq!(json("5000000000 | ConvertTo-Json"), "5000000000");
    assert_eq!(json("$true | ConvertTo-Json"), "true");
    assert_eq!(json("$null | ConvertTo-Json"), "null");
    assert_eq!(json("ConvertTo-Json -InputObject $null"), "null");
    assert_eq!(json("[char]'c' | ConvertTo-Json"), "\"c\"");
    assert_eq!(
        json("[guid]'0f8fad5b-d9cb-469f-a165-70867728950e' | ConvertTo-Json"),
        "\"0f8fad5b-d9cb-469f-a165-70867728950e\""
    );
}

#[test]
fn strings_are_escaped_like_javascript_serializer() {
    assert_eq!(
        json("\"<b>Tom's & Jerry's</b>\" | ConvertTo-Json"),
        "\"\\u003cb\\u003eTom\\u0027s \\u0026 Jerry\\u0027s\\u003c/b\\u003e\""
    );
    assert_eq!(
        json("\"a`tb`nc`r\\d`\"e\" | ConvertTo-Json"),
        "\"a\\tb\\nc\\r\\\\d\\\"e\""
    );
    assert_eq!(json("[string][char]1 | ConvertTo-Json"), "\"\\u0001\"");
    assert_eq!(json("'é€😀' | ConvertTo-Json"), "\"é€😀\"");
}

#[test]
fn dates_and_enums() {
    assert_eq!(
        json("[datetime]'2025-01-01T00:00:00Z' | ConvertTo-Json"),
        "\"\\/Date(1735689600000)\\/\""
    );
    assert_eq!(
        json("@{When = [datetime]'2017-10-30T20:47:41.647Z'} | ConvertTo-Json -Compress"),
        "{\"When\":\"\\/Date(1509396461647)\\/\"}"
    );
    assert_eq!(
        json(
            "@{Options = [System.StringSplitOptions]::RemoveEmptyEntries; Pref = $ErrorActionPreference} | ConvertTo-Json -Compress"
        ),
        "{\"Options\":1,\"Pref\":2}"
    );
    // Stringify explicitly to keep the name (what scripts do).
    assert_eq!(
        json(
            "@{Options = \"$([System.StringSplitOptions]::RemoveEmptyEntries)\"} | ConvertTo-Json -Compress"
        ),
        "{\"Options\":\"RemoveEmptyEntries\"}"
    );
}

#[test]
fn default_depth_is_two_and_truncation_is_silent() {
    let r = run("@{a = @{b = @{c = @{d = 1}}}} | ConvertTo-Json");
    assert_eq!(r.errors().count(), 0);
    assert!(
        !r.records
            .iter()
            .any(|rec| matches!(rec, scvmm_sim::ps::eval::OutputRecord::Warning(_)))
    );
    assert_eq!(
        json("@{a = @{b = @{c = @{d = 1}}}} | ConvertTo-Json -Compress"),
        "{\"a\":{\"b\":{\"c\":\"System.Collections.Hashtable\"}}}"
    );
    assert_eq!(
        json("@{a = @{b = @{c = @{d = 1}}}} | ConvertTo-Json -Compress -Depth 5"),
        "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}"
    );
    assert_eq!(
        json("@{a = @{b = 1}} | ConvertTo-Json -Compress -Depth 1"),
        "{\"a\":{\"b\":1}}"
    );
    assert_eq!(
        json("@{a = @{b = @{c = 1}}} | ConvertTo-Json -Compress -Depth 1"),
        "{\"a\":{\"b\":\"System.Collections.Hashtable\"}}"
    );
    // Collections below the depth become space-joined strings; objects
    // their @{...} form; ordered dictionaries their type name.
    assert_eq!(
        json(
            "[pscustomobject]@{L1 = [pscustomobject]@{L2 = [pscustomobject]@{Ips = @('10.0.0.1', '10.0.0.2'); Obj = [pscustomobject]@{x = 1}; Ord = [ordered]@{y = 2}}}} | ConvertTo-Json -Compress"
        ),
        "{\"L1\":{\"L2\":{\"Ips\":\"10.0.0.1 10.0.0.2\",\"Obj\":\"@{x=1}\",\"Ord\":\"System.Collections.Specialized.OrderedDictionary\"}}}"
    );
}

#[test]
fn depth_is_validated() {
    let r = run("@{} | ConvertTo-Json -Depth 0");
    assert!(r.errors().next().is_some_and(|e| {
        e.message
            .contains("less than the minimum allowed range of 1")
    }));
    let r = run("@{} | ConvertTo-Json -Depth 101");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message == "The maximum depth allowed for serialization is 100.")
    );
}

#[test]
fn single_items_are_unwrapped_only_from_the_pipeline() {
    assert_eq!(json("@(1) | ConvertTo-Json"), "1");
    assert_eq!(json("ConvertTo-Json -InputObject @(1)"), "[\r\n    1\r\n]");
    assert_eq!(json("ConvertTo-Json -InputObject @(1) -Compress"), "[1]");
    assert_eq!(json("@(1, 2) | ConvertTo-Json -Compress"), "[1,2]");
    assert_eq!(json(",@(1) | ConvertTo-Json -Compress"), "[1]");
    // A one-element array inside an object stays an array.
    assert_eq!(
        json("@{Ips = @('10.0.0.1')} | ConvertTo-Json -Compress"),
        "{\"Ips\":[\"10.0.0.1\"]}"
    );
    // Nothing piped: nothing written.
    assert_eq!(run("@() | ConvertTo-Json").output().len(), 0);
}

#[test]
fn pretty_printing_matches_powershell_5_1() {
    assert_eq!(
        json("[ordered]@{Name = 'vm1'; Cpu = 2} | ConvertTo-Json"),
        "{\r\n    \"Name\":  \"vm1\",\r\n    \"Cpu\":  2\r\n}"
    );
    assert_eq!(
        json("[ordered]@{a = [ordered]@{b = [ordered]@{c = 'x'}}} | ConvertTo-Json"),
        "{\r\n    \"a\":  {\r\n              \"b\":  {\r\n                        \"c\":  \"x\"\r\n                    }\r\n          }\r\n}"
    );
    assert_eq!(
        json("[ordered]@{fruits = @('apple', 'banana')} | ConvertTo-Json"),
        "{\r\n    \"fruits\":  [\r\n                   \"apple\",\r\n                   \"banana\"\r\n               ]\r\n}"
    );
    assert_eq!(
        json("@([ordered]@{a = 1}, [ordered]@{a = 2}) | ConvertTo-Json"),
        "[\r\n    {\r\n        \"a\":  1\r\n    },\r\n    {\r\n        \"a\":  2\r\n    }\r\n]"
    );
    assert_eq!(json("@{} | ConvertTo-Json"), "{\r\n\r\n}");
    assert_eq!(
        json("[ordered]@{Empty = @(); Null = $null} | ConvertTo-Json"),
        "{\r\n    \"Empty\":  [\r\n\r\n              ],\r\n    \"Null\":  null\r\n}"
    );
    assert_eq!(
        json("[ordered]@{m = @(@(1, 2), 3)} | ConvertTo-Json"),
        "{\r\n    \"m\":  [\r\n              [\r\n                  1,\r\n                  2\r\n              ],\r\n              3\r\n          ]\r\n}"
    );
    // Brackets and quotes inside strings do not confuse the indenter.
    assert_eq!(
        json("[ordered]@{s = 'a{b}[c],\"d\":'} | ConvertTo-Json"),
        "{\r\n    \"s\":  \"a{b}[c],\\\"d\\\":\"\r\n}"
    );
}

#[test]
fn compress_writes_no_whitespace() {
    assert_eq!(
        json(
            "[ordered]@{Name = 'vm'; Disks = @([ordered]@{Lun = 0; Size = 10GB}, [ordered]@{Lun = 1; Size = 1.5}); Ok = $true} | ConvertTo-Json -Compress"
        ),
        "{\"Name\":\"vm\",\"Disks\":[{\"Lun\":0,\"Size\":10737418240},{\"Lun\":1,\"Size\":1.5}],\"Ok\":true}"
    );
}

#[test]
fn custom_objects_keep_property_order() {
    assert_eq!(
        json("[pscustomobject]@{z = 1; a = 2; m = @{k = 'v'}} | ConvertTo-Json -Compress"),
        "{\"z\":1,\"a\":2,\"m\":{\"k\":\"v\"}}"
    );
    assert_eq!(
        json(
            "Get-Content C:\\none -ErrorAction SilentlyContinue; [pscustomobject]@{a = 1} | Select-Object a | ConvertTo-Json -Compress"
        ),
        "{\"a\":1}"
    );
}

#[test]
fn non_string_keys_are_rejected() {
    let r = run("@{1 = 'x'} | ConvertTo-Json");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("Keys must be strings")),
        "{}",
        r.stderr_text()
    );
}

#[test]
fn error_records_serialize_their_properties() {
    let out = json("try { throw 'boom' } catch { $_ | ConvertTo-Json -Depth 1 -Compress }");
    assert!(out.contains("\"FullyQualifiedErrorId\":\"boom\""), "{out}");
    assert!(out.starts_with("{\"Exception\":"), "{out}");
}

#[test]
fn willemm_style_error_json() {
    // ErrorToJson from the existing provider.
    let out = json(
        "function ErrorToJson($what, $err) { @{ Message = \"$what Failed: $($err.Exception.Message)\"; Error = \"$err\" } | ConvertTo-Json -Depth 2 -Compress }; try { throw 'no template' } catch { ErrorToJson 'CreateVM' $_ }",
    );
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(parsed["Message"], "CreateVM Failed: no template");
    assert_eq!(parsed["Error"], "no template");
}

#[test]
fn convert_from_json_gives_custom_objects() {
    assert_eq!(
        lines(
            "$o = '{\"name\":\"vm\",\"cpu\":2,\"tags\":[\"a\",\"b\"],\"inner\":{\"x\":true},\"none\":null}' | ConvertFrom-Json; $o.name; $o.cpu + 1; $o.tags[1]; $o.inner.x; $o.none -eq $null; $o.GetType().Name"
        ),
        "vm\n3\nb\nTrue\nTrue\nPSCustomObject"
    );
    assert_eq!(
        lines(
            "$o = '{\"i\":1,\"l\":5000000000,\"d\":1.5}' | ConvertFrom-Json; $o.i.GetType().Name; $o.l.GetType().Name; $o.d.GetType().Name"
        ),
        "Int32\nInt64\nDecimal"
    );
    assert_eq!(
        lines("$d = '\"\\/Date(1735689600000)\\/\"' | ConvertFrom-Json; $d.ToString('o')"),
        "2025-01-01T00:00:00.0000000Z"
    );
    assert_eq!(
        lines("$s = '\"a\\u0026b\\n\"' | ConvertFrom-Json; $s.Length"),
        "4"
    );
}

#[test]
fn convert_from_json_writes_arrays_as_one_object() {
    assert_eq!(
        lines("('[1,2,3]' | ConvertFrom-Json | Measure-Object).Count"),
        "1"
    );
    assert_eq!(lines("$a = '[1,2,3]' | ConvertFrom-Json; $a.Count"), "3");
    assert_eq!(
        lines("('[{\"n\":1},{\"n\":2}]' | ConvertFrom-Json).n -join ','"),
        "1,2"
    );
    // Piped lines are joined before parsing.
    assert_eq!(lines("('{', '\"a\": 1', '}' | ConvertFrom-Json).a"), "1");
}

#[test]
fn convert_from_json_errors() {
    let r = run("'{\"a\": nope}' | ConvertFrom-Json");
    let e = r.errors().next().cloned();
    assert_eq!(
        e.as_ref().map(|e| e.message.as_str()),
        Some("Invalid JSON primitive: nope.")
    );
    assert_eq!(
        e.map(|e| e.fully_qualified_error_id),
        Some(
            "System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand".into()
        )
    );
    let r = run("'{\"a\":1,\"A\":2}' | ConvertFrom-Json");
    assert!(
        r.errors()
            .next()
            .is_some_and(|e| e.message.contains("duplicated keys"))
    );
}

#[test]
fn round_trips() {
    for value in [
        "[ordered]@{a = 1; b = 'x'; c = @(1, 2); d = [ordered]@{e = $null; f = $false}}",
        "@(1, 'two', 3.5, $true, $null)",
        "[ordered]@{s = '<&>''\"\\'}",
    ] {
        let src = format!(
            "$j = ConvertTo-Json -InputObject ({value}) -Compress -Depth 5; $k = $j | ConvertFrom-Json | ConvertTo-Json -Compress -Depth 5; $j; $k"
        );
        let out = lines(&src);
        let mut parts = out.split('\n');
        let first = parts.next().unwrap_or_default();
        let second = parts.next().unwrap_or_default();
        assert_eq!(first, second, "round trip of {value}");
    }
}

#[test]
fn pretty_output_is_valid_json() {
    let text = json(
        "[ordered]@{name = 'vm'; nics = @([ordered]@{ips = @('10.0.0.1'); mac = '00:15:5D:00:00:01'}); disks = @(); meta = [ordered]@{a = [ordered]@{}}} | ConvertTo-Json -Depth 4",
    );
    let parsed: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(parsed["nics"][0]["ips"][0], "10.0.0.1");
    assert_eq!(parsed["disks"], serde_json::json!([]));
}
