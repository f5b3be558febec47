//! Labels that tell where a machine's VM runs. They go on the CAPI Machine
//! in the `node.cluster.x-k8s.io/` domain, which Cluster API copies to the
//! Node, so workloads can spread over Hyper-V hosts and host groups. Pure.

use std::collections::BTreeMap;

/// Hyper-V host running the VM (its name, shortened to the first DNS label
/// when the FQDN is longer than a label value may be).
pub const HOST_LABEL: &str = "node.cluster.x-k8s.io/scvmm-host";
/// VMM host group of that host, `\` turned into `.` (`All_Hosts.Prod.Rack1`).
pub const HOST_GROUP_LABEL: &str = "node.cluster.x-k8s.io/scvmm-host-group";

const MAX: usize = 63;

/// A valid label value for `raw` (at most 63 characters of `[A-Za-z0-9._-]`,
/// starting and ending with a letter or digit), or `None` when nothing of
/// it is usable. Path separators become `.`, everything else unusable `_`;
/// when too long, the end (the most specific part) is kept.
pub fn label_value(raw: &str) -> Option<String> {
    let mapped: String = raw
        .chars()
        .map(|c| match c {
            '\\' | '/' => '.',
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' => c,
            _ => '_',
        })
        .collect();
    let tail: String = if mapped.len() > MAX {
        mapped[mapped.len() - MAX..].to_string()
    } else {
        mapped
    };
    let trimmed = tail.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// The host label value: the host name, or its first DNS label when the
/// FQDN does not fit.
pub fn host_value(host: &str) -> Option<String> {
    if host.len() > MAX {
        host.split('.').next().and_then(label_value)
    } else {
        label_value(host)
    }
}

/// The labels for a VM on `host` in `host_group`.
pub fn placement_labels(host: Option<&str>, host_group: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(v) = host.and_then(host_value) {
        out.insert(HOST_LABEL.to_string(), v);
    }
    if let Some(v) = host_group.and_then(label_value) {
        out.insert(HOST_GROUP_LABEL.to_string(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_values() {
        assert_eq!(
            label_value("All Hosts\\Prod\\Rack1").as_deref(),
            Some("All_Hosts.Prod.Rack1")
        );
        assert_eq!(
            host_value("hv01.contoso.com").as_deref(),
            Some("hv01.contoso.com")
        );
        let long = format!("{}.corp.example", "h".repeat(60));
        assert_eq!(host_value(&long).as_deref(), Some("h".repeat(60).as_str()));
        assert_eq!(label_value("\\\\"), None);
    }

    proptest::proptest! {
        /// Whatever VMM reports, the value is a valid label value or none,
        /// and a valid value is kept as it is.
        #[test]
        fn values_are_always_valid_label_values(raw in "\\PC{0,100}") {
            if let Some(v) = label_value(&raw) {
                proptest::prop_assert!(v.len() <= 63 && !v.is_empty());
                proptest::prop_assert!(v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
                proptest::prop_assert!(v.starts_with(|c: char| c.is_ascii_alphanumeric()));
                proptest::prop_assert!(v.ends_with(|c: char| c.is_ascii_alphanumeric()));
            }
        }

        #[test]
        fn valid_values_are_kept(raw in "[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?") {
            proptest::prop_assert_eq!(label_value(&raw), Some(raw.clone()));
        }
    }
}
