//! Admission policies shipped with the CRDs. Templates must not change once
//! created (CAPI rolls machines by pointing at a new template), but Cluster
//! API's topology controller decides whether a ClusterClass-managed template
//! needs rotating by sending a server-side-apply *dry run* of the desired
//! template, marked with the `topology.cluster.x-k8s.io/dry-run` annotation.
//! A CRD CEL rule cannot see annotations or whether a request is a dry run,
//! so the rule is a ValidatingAdmissionPolicy instead: no webhook, no
//! certificates, and the dry runs still answer.

use serde_json::{Value, json};

/// Name of the policy and of its binding.
pub const TEMPLATE_POLICY: &str = "scvmm-templates-immutable.infrastructure.cluster.x-k8s.io";
/// The annotation CAPI's topology controller puts on dry-run requests.
pub const TOPOLOGY_DRY_RUN_ANNOTATION: &str = "topology.cluster.x-k8s.io/dry-run";

/// The policy and its binding, in the order they must be applied.
pub fn admission_policies() -> Vec<Value> {
    let expression = format!(
        "object.spec.template == oldObject.spec.template || (request.dryRun == true && has(object.metadata.annotations) && '{TOPOLOGY_DRY_RUN_ANNOTATION}' in object.metadata.annotations)"
    );
    vec![
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {
                "name": TEMPLATE_POLICY,
                "labels": {super::CONTRACT_LABEL.0: super::CONTRACT_LABEL.1},
            },
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [{
                        "apiGroups": [super::GROUP],
                        "apiVersions": [super::VERSION],
                        "operations": ["UPDATE"],
                        "resources": ["scvmmmachinetemplates", "scvmmclustertemplates"],
                    }],
                },
                "validations": [{
                    "expression": expression,
                    "messageExpression": "object.kind + ' ' + object.metadata.name + ': spec.template cannot be changed; create a new template and point the MachineDeployment, control plane or ClusterClass at it'",
                    "reason": "Invalid",
                }],
            },
        }),
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {
                "name": TEMPLATE_POLICY,
                "labels": {super::CONTRACT_LABEL.0: super::CONTRACT_LABEL.1},
            },
            "spec": {
                "policyName": TEMPLATE_POLICY,
                "validationActions": ["Deny"],
            },
        }),
    ]
}
