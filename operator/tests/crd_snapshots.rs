//! The generated CRDs are reviewed as YAML snapshots: any schema change shows
//! up as a diff in `tests/snapshots/`, and CI fails until it is accepted.

use operator::api::{self, CONTRACT_LABEL, GROUP, VERSION};
use operator::crdgen;

#[test]
fn crd_yaml_matches_snapshots() {
    for crd in crdgen::render_all().unwrap() {
        insta::assert_snapshot!(crd.file_name.clone(), crd.yaml);
    }
}

/// Cluster API finds our CRDs by a computed name (lower-case plural of the
/// kind, then the group) and reads our API version from the contract label;
/// a CRD that fails either is invisible to it.
#[test]
fn crds_are_named_and_labelled_as_cluster_api_expects() {
    for crd in api::crds() {
        let kind = crd.spec.names.kind.clone();
        let expected = format!("{}s.{GROUP}", kind.to_lowercase());
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some(expected.as_str()),
            "{kind}"
        );
        let labels = crd.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(CONTRACT_LABEL.0).map(String::as_str),
            Some(CONTRACT_LABEL.1),
            "{kind} lacks the CAPI contract label"
        );
        assert_eq!(crd.spec.scope, "Namespaced", "{kind}");
        assert!(
            crd.spec
                .names
                .categories
                .clone()
                .unwrap_or_default()
                .contains(&"cluster-api".to_string()),
            "{kind} is not in the cluster-api category"
        );
        assert_eq!(crd.spec.versions.len(), 1);
        assert_eq!(crd.spec.versions[0].name, VERSION);
    }
}

/// The checked-in files are exactly what the code renders (the same check
/// `just crds-check` runs).
#[test]
fn checked_in_crds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    let problems = crdgen::check(&dir).unwrap();
    assert!(problems.is_empty(), "run `just crds`: {problems:#?}");
}
