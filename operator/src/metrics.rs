//! Prometheus metrics of the manager, rendered in the text exposition
//! format at `/metrics`. Hand-rolled (a few counters and histograms) to keep
//! the dependency tree small; names follow Prometheus conventions and are
//! documented in docs/observability.md (a test keeps the two in step).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if v <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += v;
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Inner {
    counters: BTreeMap<(&'static str, Labels), f64>,
    gauges: BTreeMap<(&'static str, Labels), f64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

/// The manager's metrics.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

const HELP: &[(&str, &str, &str)] = &[
    (
        "capi_scvmm_reconcile_total",
        "counter",
        "Reconciles by controller and result (ok, error).",
    ),
    (
        "capi_scvmm_reconcile_errors_total",
        "counter",
        "Reconcile errors by controller and category (scvmm_unreachable, scvmm_unauthorized, vmm_error, kubernetes, configuration).",
    ),
    (
        "capi_scvmm_reconcile_duration_seconds",
        "histogram",
        "Reconcile duration by controller.",
    ),
    (
        "capi_scvmm_operations_total",
        "counter",
        "SCVMM operations by operation and result.",
    ),
    (
        "capi_scvmm_operation_duration_seconds",
        "histogram",
        "SCVMM operation latency by operation.",
    ),
    (
        "capi_scvmm_orphaned_vms",
        "gauge",
        "VMs carrying a cluster's marker without a ScvmmMachine, by cluster (namespace/name), as of the cluster's last SCVMM poll.",
    ),
];

impl Metrics {
    /// Adds `v` to a counter.
    pub fn inc(&self, name: &'static str, labels: Labels, v: f64) {
        if let Ok(mut m) = self.inner.lock() {
            *m.counters.entry((name, labels)).or_default() += v;
        }
    }

    /// Sets a gauge (counters that only the latest value matters for).
    pub fn set(&self, name: &'static str, labels: Labels, v: f64) {
        if let Ok(mut m) = self.inner.lock() {
            m.gauges.insert((name, labels), v);
        }
    }

    /// Records a duration in a histogram.
    pub fn observe(&self, name: &'static str, labels: Labels, d: Duration) {
        if let Ok(mut m) = self.inner.lock() {
            m.histograms
                .entry((name, labels))
                .or_default()
                .observe(d.as_secs_f64());
        }
    }

    /// A reconcile finished.
    pub fn reconciled(&self, controller: &str, error_category: Option<&str>, took: Duration) {
        let result = if error_category.is_some() {
            "error"
        } else {
            "ok"
        };
        self.inc(
            "capi_scvmm_reconcile_total",
            vec![("controller", controller.into()), ("result", result.into())],
            1.0,
        );
        if let Some(c) = error_category {
            self.inc(
                "capi_scvmm_reconcile_errors_total",
                vec![("controller", controller.into()), ("category", c.into())],
                1.0,
            );
        }
        self.observe(
            "capi_scvmm_reconcile_duration_seconds",
            vec![("controller", controller.into())],
            took,
        );
    }

    /// An SCVMM operation finished.
    pub fn operation(&self, op: &str, ok: bool, took: Duration) {
        self.inc(
            "capi_scvmm_operations_total",
            vec![
                ("operation", op.into()),
                ("result", if ok { "ok" } else { "error" }.into()),
            ],
            1.0,
        );
        self.observe(
            "capi_scvmm_operation_duration_seconds",
            vec![("operation", op.into())],
            took,
        );
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else {
            return out;
        };
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, labels), v) in m.counters.iter().chain(m.gauges.iter()) {
                if n == name {
                    let _ = writeln!(out, "{n}{} {v}", fmt_labels(labels, None));
                }
            }
            for ((n, labels), h) in &m.histograms {
                if n != name {
                    continue;
                }
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{n}_bucket{} {}",
                        fmt_labels(labels, Some(&b.to_string())),
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "{n}_bucket{} {}",
                    fmt_labels(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{n}_sum{} {}", fmt_labels(labels, None), h.sum);
                let _ = writeln!(out, "{n}_count{} {}", fmt_labels(labels, None), h.count);
            }
        }
        out
    }
}

/// Name of the counter of WinRM round trips, which come from the clients'
/// own statistics rather than from [`Metrics`].
pub const WINRM_ROUND_TRIPS: &str = "capi_scvmm_winrm_round_trips_total";

/// The text exposition of the WinRM clients' counters: one sample per SCVMM
/// endpoint (`endpoint`, round trips so far).
pub fn render_winrm<'a>(endpoints: impl IntoIterator<Item = (&'a str, u64)>) -> String {
    let mut out = format!(
        "# HELP {WINRM_ROUND_TRIPS} WinRM SOAP round trips, by endpoint.\n# TYPE {WINRM_ROUND_TRIPS} counter\n"
    );
    for (endpoint, round_trips) in endpoints {
        let _ = writeln!(
            out,
            "{WINRM_ROUND_TRIPS}{} {round_trips}",
            fmt_labels(&vec![("endpoint", endpoint.to_string())], None)
        );
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_help_type_and_samples() {
        let m = Metrics::default();
        m.reconciled("machine", Some("vmm_error"), Duration::from_millis(30));
        m.operation("create_vm", true, Duration::from_millis(200));
        let text = m.render();
        assert!(text.contains("# TYPE capi_scvmm_reconcile_total counter"));
        assert!(
            text.contains("capi_scvmm_reconcile_total{controller=\"machine\",result=\"error\"} 1")
        );
        assert!(text.contains(
            "capi_scvmm_reconcile_errors_total{controller=\"machine\",category=\"vmm_error\"} 1"
        ));
        assert!(text.contains(
            "capi_scvmm_operation_duration_seconds_bucket{operation=\"create_vm\",le=\"0.25\"} 1"
        ));
        assert!(
            text.contains("capi_scvmm_operation_duration_seconds_count{operation=\"create_vm\"} 1")
        );
    }

    #[test]
    fn winrm_counters_are_one_sample_per_endpoint() {
        let text = render_winrm([
            ("https://vmm01:5986/wsman", 12),
            ("http://\"odd\"/wsman", 3),
        ]);
        assert!(text.contains("# TYPE capi_scvmm_winrm_round_trips_total counter"));
        assert!(text.contains(
            "capi_scvmm_winrm_round_trips_total{endpoint=\"https://vmm01:5986/wsman\"} 12"
        ));
        assert!(text.contains(
            "capi_scvmm_winrm_round_trips_total{endpoint=\"http://\\\"odd\\\"/wsman\"} 3"
        ));
    }
}
