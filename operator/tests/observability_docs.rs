//! Keeps what we tell operators about observability true to the code:
//!
//! - every metric docs/observability.md names, and every metric the Grafana
//!   dashboard queries, is one the manager or scvmm-sim renders at
//!   `/metrics`, or one our kube-state-metrics config defines; the labels
//!   the dashboard selects and groups by exist on those metrics; every
//!   exported metric is described (with its type and labels) and every
//!   manager metric is on the dashboard;
//! - every metric name the operator's code passes to its metrics registry is
//!   one the registry renders, and every one it renders is used;
//! - the dashboard is JSON and the kube-state-metrics config is YAML, and
//!   every field path in that config exists in the CRD schemas in crds/;
//! - every condition type and reason in operator/src/controller/conditions.rs
//!   has its own row in docs/troubleshooting.md, and every Event reason the
//!   controllers send as a literal is listed in docs/observability.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// What a metric is: its type and the label names its samples carry.
#[derive(Debug, Clone, Default)]
struct Metric {
    kind: String,
    labels: BTreeSet<String>,
}

type Catalogue = BTreeMap<String, Metric>;

/// Reads a text exposition: `# TYPE` lines give the names and types,
/// samples the label names (histogram series fold into their base name).
fn parse_exposition(text: &str, into: &mut Catalogue) {
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap().to_string();
            let kind = parts.next().unwrap().to_string();
            into.entry(name).or_default().kind = kind;
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap();
        let series = &line[..name_end];
        let base = base_name(series, into);
        let metric = into
            .get_mut(&base)
            .unwrap_or_else(|| panic!("sample {series} before its # TYPE line"));
        if let Some(open) = line.find('{') {
            let close = line.rfind('}').unwrap();
            for pair in split_label_pairs(&line[open + 1..close]) {
                let key = pair.split('=').next().unwrap().trim().to_string();
                if key != "le" {
                    metric.labels.insert(key);
                }
            }
        }
    }
}

/// `a="x",b="y,z"` → `["a=\"x\"", "b=\"y,z\""]`, commas inside quotes kept.
fn split_label_pairs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// The metric a series belongs to: `x_bucket`, `x_sum` and `x_count` of a
/// histogram `x` are `x`.
fn base_name(series: &str, known: &Catalogue) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = series.strip_suffix(suffix)
            && known.get(base).is_some_and(|m| m.kind == "histogram")
        {
            return base.to_string();
        }
    }
    series.to_string()
}

/// The manager's `/metrics`: the registry with one sample of each metric,
/// labelled as the controllers label them, plus the WinRM counters.
fn manager_metrics() -> Catalogue {
    let m = operator::metrics::Metrics::default();
    m.reconciled("machine", Some("vmm_error"), Duration::from_millis(20));
    m.reconciled("cluster", None, Duration::from_millis(20));
    m.operation("create_vm", false, Duration::from_millis(200));
    // As the ScvmmCluster controller sets it (controller/cluster/mod.rs).
    m.set(
        "capi_scvmm_orphaned_vms",
        vec![("cluster", "default/c1".to_string())],
        2.0,
    );
    let mut text = m.render();
    text.push_str(&operator::metrics::render_winrm([(
        "https://vmm01.corp.example:5986/wsman",
        7,
    )]));
    let mut out = Catalogue::new();
    parse_exposition(&text, &mut out);
    out
}

/// scvmm-sim's `/metrics`.
fn emulator_metrics() -> Catalogue {
    let http = wsman::transport::server::StatsSnapshot::default();
    let text = scvmm_sim::admin::render_metrics(
        &wsman::server::ServiceStats::default(),
        Some(&http),
        3,
        1,
    );
    let mut out = Catalogue::new();
    parse_exposition(&text, &mut out);
    out
}

fn ksm_config() -> Value {
    let text = read("deploy/observability/kube-state-metrics-crs.yaml");
    serde_saphyr::from_str(&text).expect("kube-state-metrics-crs.yaml is not valid YAML")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list of path segments, got {v}"))
        .iter()
        .map(|s| match s {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn label_keys(v: Option<&Value>) -> BTreeSet<String> {
    v.and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The metrics our kube-state-metrics config makes, with their labels.
fn ksm_metrics(config: &Value) -> Catalogue {
    let mut out = Catalogue::new();
    for resource in config["spec"]["resources"].as_array().unwrap() {
        let prefix = resource["metricNamePrefix"]
            .as_str()
            .expect("every resource sets metricNamePrefix (the default name is unwieldy)");
        let mut common: BTreeSet<String> = label_keys(resource.get("labelsFromPath"));
        common.extend(label_keys(resource.get("commonLabels")));
        for l in [
            "customresource_group",
            "customresource_kind",
            "customresource_version",
        ] {
            common.insert(l.to_string());
        }
        for metric in resource["metrics"].as_array().unwrap() {
            let name = format!("{prefix}_{}", metric["name"].as_str().unwrap());
            let each = &metric["each"];
            let kind = each["type"].as_str().unwrap();
            let body = &each[type_key(kind)];
            let mut labels = common.clone();
            labels.extend(label_keys(metric.get("labelsFromPath")));
            labels.extend(label_keys(metric.get("commonLabels")));
            labels.extend(label_keys(body.get("labelsFromPath")));
            for key in ["labelName", "labelFromKey"] {
                if let Some(l) = body.get(key).and_then(Value::as_str) {
                    labels.insert(l.to_string());
                }
            }
            let previous = out.insert(
                name.clone(),
                Metric {
                    kind: kind.to_ascii_lowercase(),
                    labels,
                },
            );
            assert!(previous.is_none(), "{name} is defined twice");
        }
    }
    out
}

fn type_key(kind: &str) -> &'static str {
    match kind {
        "Gauge" => "gauge",
        "StateSet" => "stateSet",
        "Info" => "info",
        other => panic!("unknown kube-state-metrics metric type {other}"),
    }
}

fn everything() -> Catalogue {
    let mut all = manager_metrics();
    for (k, v) in emulator_metrics()
        .into_iter()
        .chain(ksm_metrics(&ksm_config()))
    {
        assert!(all.insert(k.clone(), v).is_none(), "{k} is defined twice");
    }
    all
}

fn is_metric_like(ident: &str) -> bool {
    ident.starts_with("capi_scvmm") || ident.starts_with("scvmm_sim_")
}

/// Words (maximal runs of `[A-Za-z0-9_]`) in `text`, in order.
fn identifiers(text: &str) -> Vec<String> {
    text.split(|c: char| !is_word(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Resolves a name found in a query or a document to a known metric.
fn resolve<'a>(name: &str, all: &'a Catalogue) -> Option<(String, &'a Metric)> {
    let base = base_name(name, all);
    all.get(&base).map(|m| (base, m))
}

// ---------------------------------------------------------------- PromQL

/// A query with string literals blanked (`"a{b}"` → `""`).
fn without_strings(expr: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                    out.push(c);
                }
            }
            None => {
                if c == '"' || c == '\'' || c == '`' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// What a query uses: metric names, label names in selectors (per metric),
/// label names in `by`/`without`/`on`/`ignoring`/`group_*` clauses.
#[derive(Debug, Default)]
struct QueryUse {
    metrics: Vec<String>,
    selector_labels: Vec<(String, String)>,
    grouping_labels: Vec<String>,
}

fn analyse(expr: &str) -> QueryUse {
    let text = without_strings(expr);
    let chars: Vec<char> = text.chars().collect();
    let mut out = QueryUse::default();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !(c.is_ascii_alphabetic() || c == '_') || (i > 0 && is_word(chars[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_word(chars[i]) {
            i += 1;
        }
        let ident: String = chars[start..i].iter().collect();
        // `$__rate_interval` and friends are Grafana variables.
        if start > 0 && chars[start - 1] == '$' {
            continue;
        }
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let grouping = matches!(
            ident.as_str(),
            "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
        );
        if grouping && j < chars.len() && chars[j] == '(' {
            let close = j + chars[j..].iter().position(|&c| c == ')').unwrap();
            let inner: String = chars[j + 1..close].iter().collect();
            out.grouping_labels.extend(
                inner
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            i = close + 1;
            continue;
        }
        if is_metric_like(&ident) {
            if j < chars.len() && chars[j] == '{' {
                let close = j + chars[j..].iter().position(|&c| c == '}').unwrap();
                let inner: String = chars[j + 1..close].iter().collect();
                for matcher in inner.split(',') {
                    let label: String =
                        matcher.trim().chars().take_while(|c| is_word(*c)).collect();
                    if !label.is_empty() {
                        out.selector_labels.push((ident.clone(), label));
                    }
                }
                i = close + 1;
            }
            out.metrics.push(ident);
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Checks one query against the catalogue; returns the problems.
fn check_query(expr: &str, all: &Catalogue) -> Vec<String> {
    let used = analyse(expr);
    let mut problems = Vec::new();
    if used.metrics.is_empty() {
        problems.push(format!("`{expr}` queries none of our metrics"));
    }
    let mut labels_in_play: BTreeSet<String> = BTreeSet::from(["le".to_string()]);
    for name in &used.metrics {
        match resolve(name, all) {
            Some((_, m)) => labels_in_play.extend(m.labels.iter().cloned()),
            None => problems.push(format!("`{expr}` uses {name}, which nothing exports")),
        }
    }
    for (name, label) in &used.selector_labels {
        if let Some((base, m)) = resolve(name, all)
            && !m.labels.contains(label)
            && label != "le"
        {
            problems.push(format!(
                "`{expr}` selects {base} by label {label}; it has {:?}",
                m.labels
            ));
        }
    }
    for label in &used.grouping_labels {
        if !labels_in_play.contains(label) {
            problems.push(format!(
                "`{expr}` groups by {label}, a label none of its metrics has"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------- dashboard

fn dashboard() -> Value {
    serde_json::from_str(&read("deploy/observability/grafana-dashboard.json"))
        .expect("grafana-dashboard.json is not valid JSON")
}

fn panels(dash: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(children) = p.get("panels") {
                walk(children, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dash["panels"], &mut out);
    out
}

#[test]
fn the_dashboard_queries_only_metrics_that_exist() {
    let all = everything();
    let dash = dashboard();
    assert!(dash["title"].is_string() && dash["uid"].is_string());
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    let mut used = BTreeSet::new();
    let mut queries = 0;
    for panel in panels(&dash) {
        let id = panel["id"].as_u64().expect("every panel has a numeric id");
        assert!(ids.insert(id), "panel id {id} is used twice");
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or("?");
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("panel {title:?} has no query"));
        }
        for t in targets {
            let expr = t["expr"].as_str().expect("every target has an expr");
            queries += 1;
            for p in check_query(expr, &all) {
                problems.push(format!("panel {title:?}: {p}"));
            }
            for name in analyse(expr).metrics {
                if let Some((base, _)) = resolve(&name, &all) {
                    used.insert(base);
                }
            }
        }
    }
    assert!(queries > 10, "the dashboard has only {queries} queries");
    for name in manager_metrics().keys() {
        if !used.contains(name) {
            problems.push(format!("the manager exports {name} but no panel shows it"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------- the doc

/// A row of a Markdown metrics table: the metric named in its first cell,
/// its `Type` cell and, when the table has one, its `Labels` cell.
struct MetricRow {
    name: String,
    kind: String,
    labels: Option<String>,
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

fn metric_rows(doc: &str) -> Vec<MetricRow> {
    let mut out = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in doc.lines() {
        if !line.trim_start().starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        let Some(h) = &header else {
            header = Some(row);
            continue;
        };
        let column = |title: &str| h.iter().position(|c| c == title);
        let (Some(first), Some(kind)) = (backticked(&row[0]).into_iter().next(), column("Type"))
        else {
            continue;
        };
        if !is_metric_like(&first) {
            continue;
        }
        out.push(MetricRow {
            name: first,
            kind: row.get(kind).cloned().unwrap_or_default(),
            labels: column("Labels").and_then(|i| row.get(i).cloned()),
        });
    }
    out
}

/// The `code spans` of a piece of Markdown, outside parentheses.
fn backticked(s: &str) -> Vec<String> {
    let mut depth = 0;
    let mut outside = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    outside
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_observability_doc_names_only_exported_metrics_and_all_of_them() {
    let all = everything();
    let doc = read("docs/observability.md");
    let mut problems = Vec::new();
    let mut mentioned = BTreeSet::new();
    for ident in identifiers(&doc) {
        if !is_metric_like(&ident) {
            continue;
        }
        match resolve(&ident, &all) {
            Some((base, _)) => {
                mentioned.insert(base);
            }
            None => problems.push(format!(
                "docs/observability.md names {ident}, which nothing exports"
            )),
        }
    }
    for name in all.keys() {
        if !mentioned.contains(name) {
            problems.push(format!(
                "{name} is exported but not described in docs/observability.md"
            ));
        }
    }
    // Type and label columns of the tables match the code.
    let common: BTreeSet<String> = [
        "name",
        "namespace",
        "uid",
        "customresource_group",
        "customresource_kind",
        "customresource_version",
    ]
    .map(String::from)
    .into();
    let mut described = BTreeSet::new();
    for row in metric_rows(&doc) {
        let Some((base, m)) = resolve(&row.name, &all) else {
            continue;
        };
        described.insert(base.clone());
        if row.kind != m.kind {
            problems.push(format!(
                "docs/observability.md says {base} is a {:?}; it is a {}",
                row.kind, m.kind
            ));
        }
        if let Some(labels) = &row.labels {
            let documented: BTreeSet<String> = backticked(labels).into_iter().collect();
            let actual: BTreeSet<String> = m.labels.difference(&common).cloned().collect();
            if documented != actual {
                problems.push(format!(
                    "docs/observability.md gives {base} the labels {documented:?}; it has {actual:?}"
                ));
            }
        }
    }
    for name in all.keys() {
        if !described.contains(name) {
            problems.push(format!(
                "{name} has no row in a metrics table of docs/observability.md"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_doc_s_example_queries_use_real_metrics_and_labels() {
    let all = everything();
    let doc = read("docs/observability.md");
    let mut problems = Vec::new();
    let mut in_promql = false;
    let mut current = String::new();
    let mut queries = Vec::new();
    for line in doc.lines() {
        if line.starts_with("```") {
            if in_promql && !current.trim().is_empty() {
                queries.push(std::mem::take(&mut current));
            }
            in_promql = line.trim() == "```promql";
            current.clear();
            continue;
        }
        if in_promql {
            // One query per paragraph; comments start with #.
            if line.trim().is_empty() {
                if !current.trim().is_empty() {
                    queries.push(std::mem::take(&mut current));
                }
            } else if !line.trim_start().starts_with('#') {
                current.push_str(line);
                current.push('\n');
            }
        }
    }
    // The alert rules' expressions too.
    for line in doc.lines() {
        if let Some(expr) = line.trim_start().strip_prefix("expr: ") {
            queries.push(expr.to_string());
        }
    }
    assert!(
        queries.len() > 10,
        "found only {} example queries",
        queries.len()
    );
    for q in &queries {
        // A rule expression continued on the next line is checked as far as it goes.
        problems.extend(check_query(q, &all));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------- the code

/// Rust sources under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// String literals `"capi_scvmm_…"` that are whole metric names.
fn metric_literals(text: &str) -> Vec<String> {
    text.match_indices("\"capi_scvmm_")
        .filter_map(|(i, _)| {
            let rest = &text[i + 1..];
            let name: String = rest.chars().take_while(|c| is_word(*c)).collect();
            rest[name.len()..].starts_with('"').then_some(name)
        })
        .collect()
}

#[test]
fn every_metric_the_code_names_is_rendered_and_every_rendered_one_is_used() {
    let rendered = manager_metrics();
    let src = root().join("operator/src");
    // Metric name → files that name it; the helpers of metrics.rs and the
    // files that call them.
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut calls: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let helpers: [(&str, &[&str]); 3] = [
        (
            ".reconciled(",
            &[
                "capi_scvmm_reconcile_total",
                "capi_scvmm_reconcile_errors_total",
                "capi_scvmm_reconcile_duration_seconds",
            ],
        ),
        (
            ".operation(",
            &[
                "capi_scvmm_operations_total",
                "capi_scvmm_operation_duration_seconds",
            ],
        ),
        ("render_winrm(", &["capi_scvmm_winrm_round_trips_total"]),
    ];
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        // The test module of metrics.rs records names of its own.
        let code = match text.find("#[cfg(test)]") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        for name in metric_literals(code) {
            named.entry(name).or_default().insert(rel.clone());
        }
        for (call, _) in helpers {
            if rel != "metrics.rs" && code.contains(call) {
                calls.entry(call).or_default().insert(rel.clone());
            }
        }
    }
    let mut problems = Vec::new();
    for (name, files) in &named {
        if !rendered.contains_key(name) {
            problems.push(format!(
                "{name} is used in {files:?} but the manager never renders it (add it to HELP in metrics.rs)"
            ));
        }
    }
    for name in rendered.keys() {
        let by_helper = helpers
            .iter()
            .any(|(call, names)| names.contains(&name.as_str()) && calls.contains_key(call));
        let directly = named
            .get(name)
            .is_some_and(|files| files.iter().any(|f| f != "metrics.rs"));
        if !by_helper && !directly {
            problems.push(format!(
                "{name} is declared in metrics.rs but no code records it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------- KSM paths

/// Each CRD's kind → (group, versions, root schema).
fn crd_schemas() -> BTreeMap<String, (String, BTreeMap<String, Value>)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("crds")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs {
            if doc["kind"] != "CustomResourceDefinition" {
                continue;
            }
            let kind = doc["spec"]["names"]["kind"].as_str().unwrap().to_string();
            let group = doc["spec"]["group"].as_str().unwrap().to_string();
            let versions = doc["spec"]["versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["name"].as_str().unwrap().to_string(),
                        v["schema"]["openAPIV3Schema"].clone(),
                    )
                })
                .collect();
            out.insert(kind, (group, versions));
        }
    }
    out
}

/// The part of ObjectMeta the config may read (not in CRD schemas).
fn object_meta() -> Value {
    let string = serde_json::json!({"type": "string"});
    let map = serde_json::json!({"type": "object", "additionalProperties": {"type": "string"}});
    serde_json::json!({
        "type": "object",
        "properties": {
            "name": string, "namespace": string, "uid": string,
            "generation": {"type": "integer"}, "resourceVersion": string,
            "creationTimestamp": string, "deletionTimestamp": string,
            "labels": map, "annotations": map,
            "finalizers": {"type": "array", "items": string},
            "ownerReferences": {"type": "array", "items": {"type": "object", "properties": {
                "apiVersion": string, "kind": string, "name": string, "uid": string,
                "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"}
            }}}
        }
    })
}

/// Follows `path` from `schema`; `Err` names the first segment that does
/// not exist.
fn follow(schema: &Value, path: &[String]) -> Result<Value, String> {
    let mut here = schema.clone();
    for (i, seg) in path.iter().enumerate() {
        if here["x-kubernetes-preserve-unknown-fields"] == true {
            return Ok(Value::Null);
        }
        let next = if here["type"] == "array" {
            let index = seg.parse::<usize>().is_ok()
                || (seg.starts_with('[') && seg.ends_with(']') && seg.contains('='));
            if !index {
                return Err(format!(
                    "{} is a list: segment {seg:?} must be an index or [key=value]",
                    path[..i].join(".")
                ));
            }
            here["items"].clone()
        } else if let Some(p) = here["properties"].get(seg.as_str()) {
            p.clone()
        } else if here["additionalProperties"].is_object() {
            here["additionalProperties"].clone()
        } else {
            return Err(format!(
                "{} has no field {seg:?}",
                if i == 0 {
                    "the object".to_string()
                } else {
                    path[..i].join(".")
                }
            ));
        };
        here = next;
    }
    Ok(here)
}

fn resolve_path(root_schema: &Value, path: &[String]) -> Result<Value, String> {
    match path.split_first() {
        Some((first, rest)) if first == "metadata" => follow(&object_meta(), rest),
        _ => follow(root_schema, path),
    }
}

fn is_scalar(schema: &Value) -> bool {
    matches!(
        schema["type"].as_str(),
        Some("string" | "integer" | "number" | "boolean")
    ) || schema.is_null()
        || schema["x-kubernetes-int-or-string"] == true
}

/// The element a relative path starts from: a list's item, or the object.
fn element(schema: &Value) -> Value {
    if schema["type"] == "array" {
        schema["items"].clone()
    } else {
        schema.clone()
    }
}

#[test]
fn the_kube_state_metrics_config_reads_only_fields_the_crds_have() {
    let config = ksm_config();
    assert_eq!(config["kind"], "CustomResourceStateMetrics");
    let crds = crd_schemas();
    let mut problems = Vec::new();
    let mut kinds = BTreeSet::new();
    for resource in config["spec"]["resources"].as_array().unwrap() {
        let gvk = &resource["groupVersionKind"];
        let kind = gvk["kind"].as_str().unwrap();
        kinds.insert(kind.to_string());
        let Some((group, versions)) = crds.get(kind) else {
            problems.push(format!("no CRD in crds/ has kind {kind}"));
            continue;
        };
        assert_eq!(gvk["group"].as_str(), Some(group.as_str()), "{kind}: group");
        let version = gvk["version"].as_str().unwrap();
        let Some(schema) = versions.get(version) else {
            problems.push(format!("{kind} has no version {version}"));
            continue;
        };
        let root_paths = |v: Option<&Value>| -> Vec<(String, Vec<String>)> {
            v.and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, p)| (k.clone(), strings(p)))
                .collect()
        };
        for (label, path) in root_paths(resource.get("labelsFromPath")) {
            if let Err(e) = resolve_path(schema, &path) {
                problems.push(format!("{kind} label {label}: {e}"));
            }
        }
        for metric in resource["metrics"].as_array().unwrap() {
            let name = metric["name"].as_str().unwrap();
            for (label, path) in root_paths(metric.get("labelsFromPath")) {
                if let Err(e) = resolve_path(schema, &path) {
                    problems.push(format!("{kind} {name} label {label}: {e}"));
                }
            }
            let each = &metric["each"];
            let t = each["type"].as_str().unwrap();
            let body = &each[type_key(t)];
            let path = body.get("path").map(strings).unwrap_or_default();
            // Paths under metadata resolve against ObjectMeta.
            let (base, rel): (Value, Vec<String>) = match path.split_first() {
                Some((first, rest)) if first == "metadata" => (object_meta(), rest.to_vec()),
                _ => (schema.clone(), path.clone()),
            };
            let target = match follow(&base, &rel) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{kind} {name} path: {e}"));
                    continue;
                }
            };
            let item = element(&target);
            for (label, p) in root_paths(body.get("labelsFromPath")) {
                // Without a path, labels are read from the object itself.
                let from = if path.is_empty() {
                    resolve_path(schema, &p)
                } else {
                    follow(&item, &p)
                };
                if let Err(e) = from {
                    problems.push(format!("{kind} {name} label {label}: {e}"));
                }
            }
            let value = match body.get("valueFrom") {
                Some(v) => match follow(&item, &strings(v)) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        problems.push(format!("{kind} {name} valueFrom: {e}"));
                        None
                    }
                },
                None if body.get("labelFromKey").is_some() => {
                    if !target["additionalProperties"].is_object() {
                        problems.push(format!(
                            "{kind} {name}: labelFromKey needs a map at {}",
                            path.join(".")
                        ));
                    }
                    Some(target["additionalProperties"].clone())
                }
                None => Some(target.clone()),
            };
            match t {
                "Gauge" => {
                    if let Some(v) = value
                        && !is_scalar(&element(&v))
                    {
                        problems.push(format!(
                            "{kind} {name}: a gauge needs a number, boolean, quantity or time, not {}",
                            v["type"]
                        ));
                    }
                }
                "StateSet" => {
                    assert!(body["labelName"].is_string(), "{kind} {name}: labelName");
                    assert!(body["list"].is_array(), "{kind} {name}: list");
                    if let Some(v) = value
                        && let Some(allowed) = element(&v)["enum"].as_array()
                    {
                        for s in body["list"].as_array().unwrap() {
                            if !allowed.contains(s) {
                                problems.push(format!(
                                    "{kind} {name}: state {s} is not one of {allowed:?}"
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for kind in crds.keys() {
        if !kinds.contains(kind) {
            problems.push(format!(
                "the kube-state-metrics config does not cover {kind}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The path checker itself: wrong paths are caught, right ones pass.
#[test]
fn the_path_checker_catches_a_wrong_field() {
    let crds = crd_schemas();
    let (_, versions) = &crds["ScvmmMachine"];
    let schema = &versions["v1alpha1"];
    let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
    assert!(resolve_path(schema, &p("spec.providerID")).is_ok());
    assert!(resolve_path(schema, &p("status.vm.host")).is_ok());
    assert!(resolve_path(schema, &p("status.conditions.0.reason")).is_ok());
    assert!(resolve_path(schema, &p("metadata.labels.anything")).is_ok());
    assert!(resolve_path(schema, &p("spec.providerId")).is_err());
    assert!(resolve_path(schema, &p("status.vmStatus")).is_err());
    assert!(resolve_path(schema, &p("status.conditions.reason")).is_err());
}

// ---------------------------------------------------------------- conditions

/// `pub const NAME: &str = "Value";` inside `pub mod <module> { ... }`.
fn constants(source: &str, module: &str) -> Vec<String> {
    let start = source
        .find(&format!("pub mod {module} {{"))
        .unwrap_or_else(|| panic!("conditions.rs has no module {module}"));
    let body = &source[start..];
    let end = body.find("\n}").unwrap();
    body[..end]
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.starts_with("pub const ")
                .then(|| l.split('"').nth(1).map(str::to_string))
                .flatten()
        })
        .collect()
}

/// First cells of the Markdown table rows of `doc`.
fn first_cells(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .filter_map(|l| {
            let l = l.trim();
            l.starts_with('|')
                .then(|| l.trim_matches('|').split('|').next().map(str::trim))
                .flatten()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn every_condition_type_and_reason_has_a_row_in_troubleshooting() {
    let source = read("operator/src/controller/conditions.rs");
    let doc = read("docs/troubleshooting.md");
    let rows = first_cells(&doc);
    let mut missing = Vec::new();
    for (module, what) in [("types", "condition type"), ("reasons", "reason")] {
        let values = constants(&source, module);
        assert!(values.len() >= 5, "found only {values:?} in mod {module}");
        for v in values {
            if !rows.contains(&format!("`{v}`")) {
                missing.push(format!(
                    "{what} {v} has no row (| `{v}` | ...) in docs/troubleshooting.md"
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_event_reason_the_controllers_send_is_documented() {
    let doc = read("docs/observability.md");
    let rows = first_cells(&doc);
    let src = root().join("operator/src/controller");
    let mut reasons = BTreeSet::new();
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).unwrap();
        // publish(ctx, obj, EventType::X, "Reason", ...): the literal reasons.
        for (i, _) in text.match_indices("EventType::") {
            let rest = &text[i + "EventType::".len()..];
            let variant: String = rest.chars().take_while(|c| is_word(*c)).collect();
            let Some(after) = rest[variant.len()..].trim_start().strip_prefix(',') else {
                continue;
            };
            if let Some(lit) = after.trim_start().strip_prefix('"') {
                reasons.insert(lit.chars().take_while(|c| *c != '"').collect::<String>());
            }
        }
    }
    assert!(
        reasons.contains("Deleted") && reasons.contains("OrphanedVMs"),
        "the Event reasons were not found in the source: {reasons:?}"
    );
    let missing: Vec<_> = reasons
        .iter()
        .filter(|r| !rows.contains(&format!("`{r}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "Event reasons without a row in docs/observability.md#events: {missing:?}"
    );
}
