//! Our CRDs, `infrastructure.cluster.x-k8s.io/v1alpha1`, meeting the Cluster
//! API v1beta2 InfraCluster and InfraMachine contracts.

pub mod cluster;
pub mod common;
pub mod machine;
pub mod policies;

pub use cluster::{ScvmmCluster, ScvmmClusterSpec, ScvmmClusterStatus, ScvmmClusterTemplate};
pub use machine::{ScvmmMachine, ScvmmMachineSpec, ScvmmMachineStatus, ScvmmMachineTemplate};
pub use policies::admission_policies;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every kind we define.
pub const GROUP: &str = "infrastructure.cluster.x-k8s.io";
/// The one version we serve.
pub const VERSION: &str = "v1alpha1";
/// Label through which Cluster API learns which of our versions speaks its
/// v1beta2 contract; must agree with `metadata.yaml`.
pub const CONTRACT_LABEL: (&str, &str) = ("cluster.x-k8s.io/v1beta2", "v1alpha1");

/// Every CRD we ship, in a stable order (the order of `crds/`).
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        ScvmmCluster::crd(),
        without_transition_rules(ScvmmClusterTemplate::crd()),
        ScvmmMachine::crd(),
        without_transition_rules(ScvmmMachineTemplate::crd()),
    ]
}

/// A template embeds the spec of the object it stamps out, including that
/// spec's transition rules (`self == oldSelf`: "cpuCount cannot change on an
/// existing VM"). On a template those rules would refuse Cluster API's
/// topology dry runs, which send the desired template to find out whether it
/// must be rotated. Templates are kept immutable by the admission policy in
/// [`policies`] instead, which lets those dry runs through.
fn without_transition_rules(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(rules)) =
                    map.get_mut("x-kubernetes-validations")
                {
                    rules.retain(|r| {
                        !r.get("rule")
                            .and_then(serde_json::Value::as_str)
                            .is_some_and(|rule| rule.contains("oldSelf"))
                    });
                    if rules.is_empty() {
                        map.remove("x-kubernetes-validations");
                    }
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&crd) else {
        return crd;
    };
    strip(&mut value);
    serde_json::from_value(value).unwrap_or(crd)
}
