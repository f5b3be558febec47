//! `ScvmmCluster` and `ScvmmClusterTemplate`: the CAPI InfraCluster of an
//! SCVMM-hosted cluster. It says which VMM server to talk to, how to reach it,
//! where machines may be placed (failure domains) and where the cluster's API
//! endpoint lives.

// Each `printcolumn(...)` repeats `type_ = ...`; clippy reads the derive's
// nested attributes as duplicates of one another.
#![allow(clippy::duplicated_attributes)]

use super::common::{
    ApiEndpoint, FailureDomain, Initialization, KeyRef, SecretRef, TemplateObjectMeta,
    TypedLocalObjectReference,
};
use super::machine::NetworkDefaults;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an SCVMM-backed cluster's infrastructure.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "ScvmmCluster",
    doc = "An SCVMM-backed cluster's infrastructure: the VMM server to use, failure domains and the API endpoint (CAPI InfraCluster).",
    namespaced,
    status = "ScvmmClusterStatus",
    shortname = "scvmmc",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
        description = "Cluster API Cluster this infrastructure belongs to"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the cluster is or is not ready"
    ),
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".spec.controlPlaneEndpoint.host",
        description = "Control-plane endpoint host"
    ),
    printcolumn(
        name = "Server",
        type_ = "string",
        json_path = ".spec.server.endpoint",
        description = "SCVMM server (WinRM endpoint)",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(
    "!has(oldSelf.controlPlaneEndpoint) || !has(oldSelf.controlPlaneEndpoint.host) || (has(self.controlPlaneEndpoint) && has(self.controlPlaneEndpoint.host) && self.controlPlaneEndpoint.host == oldSelf.controlPlaneEndpoint.host)"
).message("spec.controlPlaneEndpoint.host cannot be changed or removed once set: every node's kubeconfig and certificates name it"))]
#[x_kube(validation = kube::core::Rule::new(
    "!has(oldSelf.controlPlaneEndpointPool) || (has(self.controlPlaneEndpointPool) && self.controlPlaneEndpointPool == oldSelf.controlPlaneEndpointPool)"
).message("spec.controlPlaneEndpointPool cannot be changed or removed: the VIP already claimed from it is the cluster's endpoint"))]
pub struct ScvmmClusterSpec {
    /// Host and port of the workload cluster's API server. Leave the host
    /// empty to have a VIP claimed from `controlPlaneEndpointPool` (the
    /// controller then writes it here; the port defaults to 6443), or when
    /// the control-plane provider supplies the endpoint itself. The host
    /// cannot change once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_endpoint: Option<ApiEndpoint>,

    /// A CAPI IPAM pool (for example an `InClusterIPPool`) from which the
    /// control-plane VIP is claimed when `controlPlaneEndpoint.host` is
    /// empty. The claim is named `<ScvmmCluster name>-control-plane-endpoint`,
    /// is owned by the ScvmmCluster and released when it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_endpoint_pool: Option<TypedLocalObjectReference>,

    /// How to reach the SCVMM server.
    pub server: ScvmmServer,

    /// Where machines of this cluster may be placed. Each entry maps a
    /// failure-domain name to an SCVMM cloud or host group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub failure_domains: Vec<ScvmmFailureDomain>,

    /// What to do with VMs that carry this cluster's marker but whose
    /// ScvmmMachine no longer exists (for example after a ScvmmMachine was
    /// deleted with the skip-vm-deletion annotation, or removed by hand).
    /// `Report` (the default) counts them in the `scvmm_orphaned_vms`
    /// metric, lists them in `status.orphanedVMs` and emits a Warning
    /// Event; `Delete` also powers them off and removes them once they have
    /// been orphaned for 5 minutes. Nothing is deleted while the cluster is
    /// paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "orphanedVMPolicy")]
    pub orphaned_vm_policy: Option<OrphanedVmPolicy>,
}

/// What to do with orphaned VMs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum OrphanedVmPolicy {
    /// Report them (metric, status, Event); never touch them.
    Report,
    /// Report them, then power them off and remove them.
    Delete,
}

/// Connection settings of an SCVMM server (reached over WinRM).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(
    "!(has(self.scheme) && self.scheme == 'HTTP' && has(self.auth) && self.auth == 'Basic')"
).message("auth Basic over scheme HTTP would send the SCVMM password in clear text; use scheme HTTPS, or NTLM/Negotiate/Kerberos (which seal messages over HTTP)"))]
#[x_kube(validation = kube::core::Rule::new(
    "!(has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify && has(self.caBundleRef))"
).message("caBundleRef and insecureSkipTLSVerify exclude each other: with a CA bundle the certificate can be verified"))]
pub struct ScvmmServer {
    /// Host name, IP address or URL (`https://vmm01.corp.example:5986/wsman`)
    /// of the WinRM endpoint on the VMM server or on a jump host with the VMM
    /// console installed.
    #[schemars(length(min = 1, max = 512))]
    pub endpoint: String,

    /// WinRM port. Default: 5986 for HTTPS, 5985 for HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,

    /// Transport. Default: HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<WinrmScheme>,

    /// Authentication. Default: Negotiate (Kerberos, falling back to NTLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<WinrmAuth>,

    /// Secret (same namespace) with keys `username` (`DOMAIN\user` or
    /// `user@REALM`) and `password`.
    pub credentials_ref: SecretRef,

    /// PEM CA bundle used to verify the server's TLS certificate, instead of
    /// the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "caBundleRef")]
    pub ca_bundle_ref: Option<KeyRef>,

    /// Skip TLS certificate verification. Only for labs: anyone on the path
    /// can then read the SCVMM credentials. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: Option<bool>,

    /// Name of the VMM server passed to `Get-SCVMMServer`, when the WinRM
    /// endpoint is a jump host rather than the VMM server itself. Default:
    /// `localhost`: without this field the WinRM endpoint is taken to be
    /// the VMM server itself, so the scripts connect to the VMM service on
    /// the machine they run on (no second hop for the credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub vmm_server: Option<String>,

    /// UNC path of the library share folder that receives the machines'
    /// cloud-init seed ISOs, for example `\\lib01\MSSCVMMLibrary\capi-seeds`.
    /// Seeds are deleted from it as soon as they are attached.
    #[x_kube(validation = kube::core::Rule::new(r#"self.matches(r'^\\\\[^\\]+\\[^\\]+')"#)
        .message(r"libraryShare must be a UNC path such as \\lib01\MSSCVMMLibrary\capi-seeds"))]
    #[schemars(length(min = 5, max = 260))]
    pub library_share: String,
}

/// WinRM transport.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WinrmScheme {
    /// WinRM over TLS (port 5986).
    #[serde(rename = "HTTPS")]
    Https,
    /// WinRM over plain HTTP (port 5985); messages are sealed by NTLM or Kerberos.
    #[serde(rename = "HTTP")]
    Http,
}

/// WinRM authentication mechanism.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WinrmAuth {
    /// SPNEGO: Kerberos when a ticket can be had, NTLM otherwise.
    Negotiate,
    /// Kerberos only.
    Kerberos,
    /// NTLMv2 only.
    #[serde(rename = "NTLM")]
    Ntlm,
    /// HTTP Basic (local accounts only; requires HTTPS).
    Basic,
}

/// A failure domain: a named placement target in SCVMM.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.cloud) || has(self.hostGroup)")
    .message("a failure domain needs a cloud or a hostGroup to place machines in"))]
pub struct ScvmmFailureDomain {
    /// Name that Machines use in `spec.failureDomain`.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// Whether control-plane machines may be placed here. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<bool>,
    /// VMM cloud to place machines in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub cloud: Option<String>,
    /// VMM host group path (for example `All Hosts\Prod\Rack1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub host_group: Option<String>,
    /// Network defaults for machines in this failure domain that do not set
    /// their own `spec.network`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networking: Option<NetworkDefaults>,
}

/// Observed state of an SCVMM cluster's infrastructure.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScvmmClusterStatus {
    /// CAPI v1beta2 initialization: `provisioned` becomes true once the
    /// server is reachable and the endpoint is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization: Option<Initialization>,

    /// Failure domains validated against SCVMM, as CAPI reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub failure_domains: Vec<FailureDomain>,

    /// Conditions: `Ready` (summary), `ScvmmAvailable`, `FailureDomainsReady`,
    /// `ControlPlaneEndpointReady`, `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,

    /// Version reported by the VMM server (`Get-SCVMMServer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,

    /// VMs that carry this cluster's marker but belong to no ScvmmMachine
    /// (at most 50 are listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[serde(rename = "orphanedVMs")]
    #[schemars(length(max = 50))]
    pub orphaned_vms: Vec<OrphanedVm>,

    /// The `metadata.generation` this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A VM carrying the cluster's marker without a ScvmmMachine.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedVm {
    /// VMM ID of the VM.
    pub id: String,
    /// VM name.
    pub name: String,
    /// The provider ID the VM was created for (`scvmm://<uuid>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "providerID")]
    pub provider_id: Option<String>,
}

/// A template for `ScvmmCluster`, used by ClusterClass.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "ScvmmClusterTemplate",
    doc = "A template for ScvmmCluster, used by ClusterClass (CAPI InfraClusterTemplate).",
    namespaced,
    shortname = "scvmmct",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ScvmmClusterTemplateSpec {
    /// The ScvmmCluster to create from this template.
    pub template: ScvmmClusterTemplateResource,
}

/// Metadata and spec of the ScvmmCluster a template produces.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScvmmClusterTemplateResource {
    /// Labels and annotations for the created ScvmmCluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateObjectMeta>,
    /// Spec of the created ScvmmCluster.
    pub spec: ScvmmClusterSpec,
}
