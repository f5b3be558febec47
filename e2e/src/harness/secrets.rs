//! Secret scanning (issue #10): everything an operator of the provider can
//! read without access to Secrets — the logs of our processes, Events,
//! the objects' status and conditions, and both `/metrics` endpoints — must
//! not contain credentials or bootstrap material. The suites collect what
//! is secret from the Secrets themselves (so new Secrets are covered
//! without a list to maintain) and look for it everywhere else.
//!
//! A secret can leak in more shapes than its plain text: a Basic
//! `Authorization` header carries `base64(user:password)`, a seed ISO is
//! uploaded as base64 at an unknown alignment, a kubeconfig carries its
//! client key base64-encoded. Each shape is a needle of its own.

use super::E2eEnv;
use crate::testbed::{Error, kube_err};
use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};

/// Kinds whose whole objects are scanned (ours: spec, annotations and
/// status are all written by the provider) and Cluster API kinds whose
/// status is (their conditions mirror ours).
const SCANNED_KINDS: &[(&str, &str, &str, bool)] = &[
    (
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmMachine",
        true,
    ),
    (
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmCluster",
        true,
    ),
    (
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmMachineTemplate",
        true,
    ),
    (
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmClusterTemplate",
        true,
    ),
    ("cluster.x-k8s.io", "v1beta2", "Machine", false),
    ("cluster.x-k8s.io", "v1beta2", "Cluster", false),
    ("cluster.x-k8s.io", "v1beta2", "MachineSet", false),
    ("cluster.x-k8s.io", "v1beta2", "MachineDeployment", false),
];

/// Shorter needles would match by chance (and a short password is a
/// finding of its own, not a leak).
const MIN_NEEDLE: usize = 8;
/// Length of the windows cut from long values (bootstrap data, keys):
/// long enough to be unique, short enough to survive truncation.
const WINDOW: usize = 36;

/// Something secret, in one of the shapes it could leak in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    /// Which Secret and key it comes from, and in what shape (never the
    /// value itself, so a report of a leak does not leak again).
    pub origin: String,
    /// The text to look for.
    pub text: String,
}

/// Where a needle was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// The needle's origin.
    pub secret: String,
    /// Where it was found (file and line, object, metrics endpoint).
    pub place: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} found in {}", self.secret, self.place)
    }
}

/// The needles of one Secret.
pub fn needles(secret: &Secret) -> Vec<Needle> {
    let name = format!(
        "Secret {}/{}",
        secret.metadata.namespace.as_deref().unwrap_or_default(),
        secret.metadata.name.as_deref().unwrap_or_default()
    );
    let Some(data) = &secret.data else {
        return Vec::new();
    };
    let text = |key: &str| {
        data.get(key)
            .map(|v| String::from_utf8_lossy(&v.0).into_owned())
    };
    let mut out = Vec::new();
    let mut push = |origin: String, text: String| {
        if text.len() >= MIN_NEEDLE && !out.iter().any(|n: &Needle| n.text == text) {
            out.push(Needle { origin, text });
        }
    };
    for (key, value) in data {
        let value = &value.0;
        let at = |shape: &str| format!("{name} key {key} ({shape})");
        let plain = String::from_utf8_lossy(value);
        if key == "password" {
            push(at("plain"), plain.to_string());
            push(at("base64"), STANDARD.encode(value));
            if let Some(user) = text("username") {
                // What a Basic Authorization header would carry.
                push(
                    at("Basic credentials"),
                    STANDARD.encode(format!("{user}:{plain}")),
                );
            }
            continue;
        }
        for body in private_key_bodies(&plain) {
            push(at("private key"), body);
        }
        for token in bootstrap_tokens(&plain) {
            push(at("bootstrap token"), token);
        }
        for data in kubeconfig_key_data(&plain) {
            // Past the base64 of the PEM header, which every key shares.
            push(
                at("kubeconfig client key"),
                window(&data, data.len().saturating_sub(WINDOW) / 2),
            );
        }
        if key == "value" && data.contains_key("format") && value.len() >= 3 * WINDOW {
            // Bootstrap data: cut from its middle (past boilerplate such as
            // `#cloud-config`), plain and as base64 at all three alignments
            // it can have inside a larger base64 upload.
            let middle = value.len() / 2;
            push(
                at("bootstrap data"),
                window(&String::from_utf8_lossy(&value[middle..]), 0),
            );
            for shift in 0..3 {
                let chunk = &value[middle + shift..middle + shift + WINDOW];
                push(at("bootstrap data, base64"), STANDARD.encode(chunk));
            }
        }
    }
    out
}

fn window(text: &str, from: usize) -> String {
    text.chars().skip(from).take(WINDOW).collect()
}

/// A window from the middle of every PEM private key's body in `text`
/// (its start is an ASN.1 header that many keys share).
fn private_key_bodies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") {
            body = Some(String::new());
        } else if line.contains("-----END") {
            if let Some(b) = body.take() {
                out.push(window(&b, b.len().saturating_sub(WINDOW) / 2));
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    out
}

/// kubeadm bootstrap tokens (`[a-z0-9]{6}.[a-z0-9]{16}`): the secret half
/// alone, since the ID is public.
fn bootstrap_tokens(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let is_token_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut out = Vec::new();
    for (dot, _) in text.match_indices('.') {
        let (Some(start), Some(end)) = (dot.checked_sub(6), dot.checked_add(17)) else {
            continue;
        };
        if end > bytes.len() {
            continue;
        }
        let bounded = |i: Option<usize>| {
            i.and_then(|i| bytes.get(i))
                .is_none_or(|b| !is_token_char(*b))
        };
        if bytes[start..dot].iter().all(|b| is_token_char(*b))
            && bytes[dot + 1..end].iter().all(|b| is_token_char(*b))
            && bounded(start.checked_sub(1))
            && bounded(Some(end))
        {
            out.push(text[dot + 1..end].to_string());
        }
    }
    out
}

/// `client-key-data` values of a kubeconfig.
fn kubeconfig_key_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("client-key-data:"))
        .map(|v| v.trim().to_string())
        .collect()
}

/// Every occurrence of any needle in `haystack` (a text called `place`);
/// lines are counted so a report points at the log line.
pub fn scan(needles: &[Needle], place: &str, haystack: &[u8]) -> Vec<Leak> {
    let Ok(matcher) = AhoCorasick::new(needles.iter().map(|n| n.text.as_bytes())) else {
        return vec![Leak {
            secret: "(the needles)".into(),
            place: "the scanner could not be built".into(),
        }];
    };
    let mut out = Vec::new();
    for m in matcher.find_iter(haystack) {
        let line = 1 + haystack[..m.start()]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        let leak = Leak {
            secret: needles[m.pattern().as_usize()].origin.clone(),
            place: format!("{place}, line {line}"),
        };
        if !out.contains(&leak) {
            out.push(leak);
        }
    }
    out
}

/// What one scan looked at and found.
#[derive(Debug, Default)]
pub struct Report {
    /// Needles looked for.
    pub needles: usize,
    /// Of which from credentials (`password` keys).
    pub credential_needles: usize,
    /// Of which from bootstrap data.
    pub bootstrap_needles: usize,
    /// Bytes of logs, objects, Events and metrics scanned.
    pub bytes: usize,
    /// Places scanned.
    pub places: usize,
    /// What was found.
    pub leaks: Vec<Leak>,
}

impl Report {
    fn scan(&mut self, needles: &[Needle], place: &str, haystack: &[u8]) {
        self.bytes += haystack.len();
        self.places += 1;
        self.leaks.extend(scan(needles, place, haystack));
    }
}

/// The needles of every Secret in the management cluster now.
pub async fn current_needles(env: &E2eEnv) -> Result<Vec<Needle>, Error> {
    let secrets: Api<Secret> = Api::all(env.client.clone());
    Ok(secrets
        .list(&ListParams::default())
        .await
        .map_err(kube_err("listing Secrets to scan for"))?
        .iter()
        .flat_map(needles)
        .collect())
}

/// Scans the environment: every Secret in the management cluster, now or
/// when [`E2eEnv::remember_secrets`] ran, gives the needles; the logs of the manager runs and the emulator, every Event,
/// the objects of [`SCANNED_KINDS`] and both metrics endpoints are the
/// haystack.
pub async fn scan_env(env: &mut E2eEnv) -> Result<Report, Error> {
    env.remember_secrets().await?;
    let needles = env.secret_needles().to_vec();
    let mut report = Report {
        needles: needles.len(),
        credential_needles: needles
            .iter()
            .filter(|n| n.origin.contains("key password"))
            .count(),
        bootstrap_needles: needles
            .iter()
            .filter(|n| n.origin.contains("bootstrap"))
            .count(),
        ..Report::default()
    };
    for path in env.own_logs() {
        // A process that never logged has no file; that is not a finding.
        if let Ok(bytes) = std::fs::read(&path) {
            report.scan(&needles, &path.display().to_string(), &bytes);
        }
    }
    let events: Api<Event> = Api::all(env.client.clone());
    for e in events
        .list(&ListParams::default())
        .await
        .map_err(kube_err("listing Events to scan"))?
    {
        let place = format!(
            "Event {}/{} ({} on {})",
            e.metadata.namespace.as_deref().unwrap_or_default(),
            e.metadata.name.as_deref().unwrap_or_default(),
            e.reason.as_deref().unwrap_or_default(),
            e.involved_object.name.as_deref().unwrap_or_default()
        );
        let json = serde_json::to_vec(&e).unwrap_or_default();
        report.scan(&needles, &place, &json);
    }
    for (group, version, kind, whole) in SCANNED_KINDS {
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        let api: Api<DynamicObject> = Api::all_with(env.client.clone(), &resource);
        for o in api
            .list(&ListParams::default())
            .await
            .map_err(kube_err(format!("listing {kind} objects to scan")))?
        {
            let place = format!(
                "{kind} {}/{}{}",
                o.metadata.namespace.as_deref().unwrap_or_default(),
                o.metadata.name.as_deref().unwrap_or_default(),
                if *whole { "" } else { " (status)" }
            );
            let json = if *whole {
                serde_json::to_vec(&o)
            } else {
                serde_json::to_vec(&o.data["status"])
            }
            .unwrap_or_default();
            report.scan(&needles, &place, &json);
        }
    }
    if let Some(metrics) = env.manager_metrics().await? {
        report.scan(&needles, "the manager's /metrics", metrics.as_bytes());
    }
    let metrics = env.sim.metrics().await?;
    report.scan(&needles, "scvmm-sim's /metrics", metrics.as_bytes());
    Ok(report)
}

/// [`scan_env`], as a suite's check: an error names each leak (by Secret,
/// key and shape, never the value), or that there was nothing to look
/// for, which would make the check vacuous.
pub async fn assert_no_leaks(env: &mut E2eEnv) -> Result<Report, String> {
    let report = scan_env(env).await.map_err(|e| e.to_string())?;
    if report.credential_needles == 0 || report.bootstrap_needles == 0 {
        return Err(format!(
            "the secret scan found nothing to look for ({} credential and {} bootstrap needles): the suite must have a credentials Secret and bootstrap data",
            report.credential_needles, report.bootstrap_needles
        ));
    }
    if !report.leaks.is_empty() {
        // The first places are enough to find the cause; thousands of
        // log lines would bury it.
        let list: Vec<String> = report.leaks.iter().take(20).map(Leak::to_string).collect();
        return Err(format!(
            "secrets leaked ({} places; the first {}):\n{}",
            report.leaks.len(),
            list.len(),
            list.join("\n")
        ));
    }
    eprintln!(
        "secret scan: {} needles ({} from credentials, {} from bootstrap data) in {} places, {:.1} MB: no leak",
        report.needles,
        report.credential_needles,
        report.bootstrap_needles,
        report.places,
        report.bytes as f64 / 1e6
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use std::collections::BTreeMap;

    fn secret(data: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: kube::api::ObjectMeta {
                name: Some("s".into()),
                namespace: Some("ns".into()),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    const FORMAT: (&str, &str) = ("format", "cloud-config");
    const BOOTSTRAP: &str = "#cloud-config\nwrite_files:\n- path: /etc/kubernetes/pki/ca.key\n  content: |\n    -----BEGIN RSA PRIVATE KEY-----\n    MIIEowIBAAKCAQEAtq1cXLbN6Q0kz3vH8sR1pqZ2yWm7uX4a9bC0dE1fG2hI3jK4\n    -----END RSA PRIVATE KEY-----\nruncmd:\n- kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:00\n- echo done and some more text so the value is long enough to cut windows from\n";

    #[test]
    fn a_password_is_found_plain_and_inside_a_basic_header() {
        let n = needles(&secret(&[
            ("username", "CORP\\svc"),
            ("password", "Hunter2-long"),
        ]));
        let header = format!(
            "Authorization: Basic {}",
            STANDARD.encode("CORP\\svc:Hunter2-long")
        );
        let log = format!("line one\nconnecting with {header}\nerror: bad password Hunter2-long\n");
        let leaks = scan(&n, "manager.log", log.as_bytes());
        assert_eq!(leaks.len(), 2, "{leaks:?}");
        assert!(leaks[0].to_string().contains("Basic credentials"));
        assert!(leaks[0].place.ends_with("line 2"));
        assert!(leaks[1].place.ends_with("line 3"));
        assert!(leaks.iter().all(|l| !l.to_string().contains("Hunter2")));
    }

    #[test]
    fn bootstrap_data_is_found_by_token_key_and_as_base64_at_any_alignment() {
        let n = needles(&secret(&[("value", BOOTSTRAP), FORMAT]));
        let found = |text: &[u8]| !scan(&n, "x", text).is_empty();
        assert!(found(b"token 0123456789abcdef in an error"));
        assert!(found(
            b"MIIEowIBAAKCAQEAtq1cXLbN6Q0kz3vH8sR1pqZ2yWm7uX4a9bC0dE1fG2hI3jK4"
        ));
        assert!(!found(b"MIIEowIBAAKCAQEA is the header many keys share"));
        assert!(!found(b"the token abcdef alone is public"));
        for prefix in 0..3 {
            let mut upload = vec![b'x'; prefix];
            upload.extend_from_slice(BOOTSTRAP.as_bytes());
            assert!(
                found(STANDARD.encode(&upload).as_bytes()),
                "alignment {prefix}"
            );
        }
        assert!(!found(b"#cloud-config\nwrite_files:\n"));
    }

    #[test]
    fn short_values_and_empty_secrets_give_no_needles() {
        assert!(
            needles(&secret(&[("password", "short")]))
                .iter()
                .all(|n| n.text != "short")
        );
        assert!(needles(&Secret::default()).is_empty());
    }
}
