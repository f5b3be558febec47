//! The release artefacts (`just release`: infrastructure-components.yaml,
//! metadata.yaml, the cluster templates) as a user gets them, checked with
//! the programs that consume them:
//!
//! - the real `clusterctl generate provider`, reading them from a clusterctl
//!   local repository, does what `clusterctl init` does before applying:
//!   metadata and contract checks, variables, `--target-namespace`, image
//!   overrides, labels. Its output follows the provider contract, every
//!   variable it finds is documented in docs/install.md, and two renders
//!   are byte-identical;
//! - that output is server-side applied to a fresh control plane with
//!   Cluster API (no CRDs of ours installed beforehand): the CRDs become
//!   Established, the Deployment, Service and RBAC exist, and the template
//!   admission policy denies a template change;
//! - the API server's authorizer is asked about every call the manager
//!   makes (allowed) and about calls it must not be able to make (denied),
//!   and its ClusterRole grants exactly the calls listed here;
//! - the real `manager` binary runs out of cluster with the Deployment's
//!   flags and environment and a token of its ServiceAccount, against
//!   scvmm-sim, through one machine's lifecycle with an IPAM address, and
//!   never meets a "forbidden".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::access::{self, Access};
use e2e::harness::sim_api::SimApi;
use e2e::harness::{SIM_PASSWORD, SIM_USER, product_binary};
use e2e::manifests;
use e2e::release::{self, LocalRepository};
use e2e::testbed::{Binaries, TestCluster, free_port};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Container, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));
/// Not the default (capscvmm-system): clusterctl's rewrite of namespaces
/// and RBAC subjects is part of what is tested.
const TARGET_NS: &str = "capscvmm-e2e";
const SERVICE_ACCOUNT: &str = "capscvmm-manager";
const DEPLOYMENT: &str = "capscvmm-controller-manager";
const IMAGE: &str = "ghcr.io/scvmm-capi/capscvmm-manager";
const LEASE: &str = "capi-scvmm-manager";

const INFRA: &str = "infrastructure.cluster.x-k8s.io";
const CAPI: &str = "cluster.x-k8s.io";
const IPAM: &str = "ipam.cluster.x-k8s.io";
const EVENTS: &str = "events.k8s.io";
const LEASES: &str = "coordination.k8s.io";
const RBAC: &str = "rbac.authorization.k8s.io";

/// Every Kubernetes call the manager makes (operator/src: the `Api` uses,
/// the controllers' watches, kube-runtime's event recorder), as (verb,
/// group, resource, subresource), cluster-wide. The ClusterRole must grant
/// exactly these.
const NEEDED: &[(&str, &str, &str, &str)] = &[
    ("get", INFRA, "scvmmclusters", ""),
    ("list", INFRA, "scvmmclusters", ""),
    ("watch", INFRA, "scvmmclusters", ""),
    ("patch", INFRA, "scvmmclusters", ""),
    ("patch", INFRA, "scvmmclusters", "status"),
    ("update", INFRA, "scvmmclusters", "finalizers"),
    ("list", INFRA, "scvmmmachines", ""),
    ("watch", INFRA, "scvmmmachines", ""),
    ("patch", INFRA, "scvmmmachines", ""),
    ("delete", INFRA, "scvmmmachines", ""),
    ("patch", INFRA, "scvmmmachines", "status"),
    ("update", INFRA, "scvmmmachines", "finalizers"),
    ("list", INFRA, "scvmmmachinetemplates", ""),
    ("watch", INFRA, "scvmmmachinetemplates", ""),
    ("patch", INFRA, "scvmmmachinetemplates", "status"),
    ("get", CAPI, "clusters", ""),
    ("list", CAPI, "clusters", ""),
    ("watch", CAPI, "clusters", ""),
    ("get", CAPI, "machines", ""),
    ("list", CAPI, "machines", ""),
    ("watch", CAPI, "machines", ""),
    ("patch", CAPI, "machines", ""),
    ("get", IPAM, "ipaddressclaims", ""),
    ("list", IPAM, "ipaddressclaims", ""),
    ("watch", IPAM, "ipaddressclaims", ""),
    ("create", IPAM, "ipaddressclaims", ""),
    ("patch", IPAM, "ipaddressclaims", ""),
    ("delete", IPAM, "ipaddressclaims", ""),
    ("get", IPAM, "ipaddresses", ""),
    ("get", "", "secrets", ""),
    ("get", "", "configmaps", ""),
    ("create", EVENTS, "events", ""),
    ("patch", EVENTS, "events", ""),
];

/// Calls the manager must not be able to make, in any namespace.
const FORBIDDEN: &[(&str, &str, &str, &str)] = &[
    // Secrets are read by name only.
    ("list", "", "secrets", ""),
    ("watch", "", "secrets", ""),
    ("create", "", "secrets", ""),
    ("update", "", "secrets", ""),
    ("patch", "", "secrets", ""),
    ("delete", "", "secrets", ""),
    ("list", "", "configmaps", ""),
    ("update", "", "configmaps", ""),
    // Nothing on workloads, nodes or identities.
    ("get", "", "nodes", ""),
    ("list", "", "nodes", ""),
    ("get", "", "pods", ""),
    ("create", "", "pods", "exec"),
    ("create", "", "serviceaccounts", "token"),
    ("impersonate", "", "serviceaccounts", ""),
    ("create", "", "events", ""),
    ("delete", EVENTS, "events", ""),
    // Cluster API objects belong to Cluster API.
    ("create", CAPI, "machines", ""),
    ("update", CAPI, "machines", ""),
    ("delete", CAPI, "machines", ""),
    ("patch", CAPI, "clusters", ""),
    ("delete", CAPI, "clusters", ""),
    ("patch", CAPI, "machines", "status"),
    // Our own objects are created by users and Cluster API.
    ("create", INFRA, "scvmmclusters", ""),
    ("delete", INFRA, "scvmmclusters", ""),
    ("create", INFRA, "scvmmmachines", ""),
    ("update", INFRA, "scvmmmachines", ""),
    ("patch", INFRA, "scvmmmachinetemplates", ""),
    ("patch", INFRA, "scvmmclustertemplates", ""),
    // Addresses are the IPAM provider's.
    ("create", IPAM, "ipaddresses", ""),
    ("delete", IPAM, "ipaddresses", ""),
    ("patch", IPAM, "ipaddressclaims", "status"),
    // No way to widen its own rights.
    (
        "create",
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "",
    ),
    ("create", RBAC, "clusterrolebindings", ""),
    ("bind", RBAC, "clusterroles", ""),
    ("escalate", RBAC, "clusterroles", ""),
    (
        "create",
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
        "",
    ),
];

fn at<'a>(
    (verb, group, resource, subresource): (&'a str, &'a str, &'a str, &'a str),
    namespace: &'a str,
) -> Access<'a> {
    Access {
        verb,
        group,
        resource,
        subresource,
        namespace,
    }
}

/// Renders the release into a temporary directory and lays it out as a
/// clusterctl local repository (image override as `extra_config`).
fn repository(extra_config: &str) -> (tempfile::TempDir, LocalRepository) {
    let out = tempfile::tempdir().unwrap();
    release::render(out.path()).expect("deploy/release/build.sh renders the release");
    let repo = release::local_repository(out.path(), VERSION, extra_config).unwrap();
    (out, repo)
}

fn clusterctl() -> std::path::PathBuf {
    let b = Binaries::locate();
    assert!(
        b.clusterctl.is_file(),
        "clusterctl is not built at {} (run `just testbed`)",
        b.clusterctl.display()
    );
    b.clusterctl
}

fn documents(yaml: &str) -> Vec<Value> {
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(yaml).unwrap();
    docs.retain(|d| !d.is_null());
    docs
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn manager_container(docs: &[Value]) -> Container {
    let deployments = of_kind(docs, "Deployment");
    assert_eq!(deployments.len(), 1, "one Deployment");
    let d: Deployment = serde_json::from_value(deployments[0].clone()).unwrap();
    let containers = d.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(containers.len(), 1);
    containers.into_iter().next().unwrap()
}

#[test]
fn artefacts_follow_the_clusterctl_contract() {
    let clusterctl = clusterctl();
    // What a mirror registry user writes into clusterctl.yaml.
    let (out, repo) = repository(
        "images:\n  infrastructure-scvmm:\n    repository: mirror.example.internal/capi\n",
    );

    // clusterctl accepts the metadata (a release series for this version,
    // a contract it supports) and finds the variables and the image.
    let describe = repo
        .generate_provider(&clusterctl, &["--describe"], &[])
        .unwrap();
    let variables = release::described_variables(&describe);
    assert!(
        variables.contains(&"SCVMM_CAPI_WATCH_FILTER".to_string()),
        "{describe}"
    );
    let install_doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/install.md"))
            .unwrap();
    let documented = variables_table(&install_doc);
    let found: BTreeSet<String> = variables.iter().cloned().collect();
    assert_eq!(
        documented, found,
        "docs/install.md's Variables table and the components' variables differ"
    );

    // The metadata names the contract the CRDs are labelled with.
    let metadata: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(out.path().join("metadata.yaml")).unwrap())
            .unwrap();
    assert_eq!(
        metadata["apiVersion"],
        "clusterctl.cluster.x-k8s.io/v1alpha3"
    );
    let (major, minor) = (
        env!("CARGO_PKG_VERSION_MAJOR").parse::<u64>().unwrap(),
        env!("CARGO_PKG_VERSION_MINOR").parse::<u64>().unwrap(),
    );
    let series = metadata["releaseSeries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["major"] == major && s["minor"] == minor)
        .expect("a release series for the workspace version");
    let contract = operator::api::CONTRACT_LABEL.0.rsplit('/').next().unwrap();
    assert_eq!(series["contract"], contract);

    // The templates, and the ClusterClasses the topology flavour refers
    // to, travel with the components, unchanged.
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/templates");
    let mut copied = BTreeSet::new();
    for entry in std::fs::read_dir(&templates).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if release::is_shipped_template(&name) {
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(out.path().join(&name)).unwrap_or_default(),
                "{name} is not in the release as it is in deploy/templates"
            );
            copied.insert(name);
        }
    }
    for name in [
        "cluster-template.yaml",
        "cluster-template-external-lb.yaml",
        "cluster-template-ipam.yaml",
        "cluster-template-topology.yaml",
        "clusterclass-scvmm.yaml",
    ] {
        assert!(copied.contains(name), "{name} is not shipped: {copied:?}");
    }
    // clusterctl finds the ClusterClass of the topology flavour in the
    // release (clusterclass-<class>.yaml) and puts it before the Cluster.
    let vars: Vec<(String, String)> = [
        ("CONTROL_PLANE_ENDPOINT_IP", "10.20.0.100"),
        ("SCVMM_SERVER", "vmm01.corp.example"),
        ("SCVMM_USERNAME", r"CORP\capi-svc"),
        ("SCVMM_PASSWORD", "secret"),
        ("SCVMM_LIBRARY_SHARE", r"\\lib01\MSSCVMMLibrary\capi-seeds"),
        ("SCVMM_HOST_GROUP", "All Hosts"),
        ("SCVMM_VM_TEMPLATE", "Ubuntu 24.04"),
        ("SCVMM_VM_NETWORK", "Prod"),
        ("SCVMM_SSH_AUTHORIZED_KEY", "ssh-ed25519 AAAA capi@example"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let topology =
        e2e::harness::clusterctl::generate_cluster(&e2e::harness::clusterctl::Generate {
            clusterctl: &clusterctl,
            source: e2e::harness::clusterctl::Source::Repository {
                repository: &repo,
                flavour: Some("topology"),
            },
            name: "demo",
            namespace: TARGET_NS,
            kubernetes_version: "v1.33.0",
            control_plane: 1,
            workers: 1,
            vars: &vars,
        })
        .unwrap();
    let kinds: Vec<String> = documents(&topology)
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("ClusterClass scvmm"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("Cluster demo"),
        "{kinds:?}"
    );

    // What `clusterctl init` would apply, with two variables set.
    let yaml = repo
        .generate_provider(
            &clusterctl,
            &["--target-namespace", TARGET_NS],
            &[
                ("SCVMM_CAPI_MACHINE_CONCURRENCY", "3"),
                ("SCVMM_CAPI_LOG_FORMAT", "json"),
            ],
        )
        .unwrap();
    assert!(!yaml.contains("${"), "a variable was left unresolved");
    let docs = documents(&yaml);
    let namespaces = of_kind(&docs, "Namespace");
    assert_eq!(namespaces.len(), 1, "exactly one Namespace");
    assert_eq!(namespaces[0]["metadata"]["name"], TARGET_NS);
    for d in &docs {
        let name = format!("{} {}", d["kind"], d["metadata"]["name"]);
        assert_eq!(
            d["metadata"]["labels"]["cluster.x-k8s.io/provider"], "infrastructure-scvmm",
            "{name} lacks the provider label"
        );
        let ns = &d["metadata"]["namespace"];
        assert!(
            ns.is_null() || *ns == TARGET_NS,
            "{name} is in namespace {ns}"
        );
    }
    let manager = manager_container(&docs);
    assert_eq!(manager.name, "manager", "clusterctl requires this name");
    assert_eq!(
        manager.image.as_deref(),
        Some(format!("mirror.example.internal/capi/capscvmm-manager:{VERSION}").as_str()),
        "the image override applies to a canonical image of this release"
    );
    let args = manager.args.clone().unwrap_or_default();
    for want in [
        "--machine-concurrency=3",
        "--log-format=json",
        "--cluster-concurrency=4",
        "--restart-powered-off-vms=false",
    ] {
        assert!(args.iter().any(|a| a == want), "{want} not in {args:?}");
    }

    // Without overrides the image is the canonical one of this version.
    let (_out, plain) = repository("");
    let plain_docs = documents(&plain.generate_provider(&clusterctl, &[], &[]).unwrap());
    assert_eq!(
        manager_container(&plain_docs).image.as_deref(),
        Some(format!("{IMAGE}:{VERSION}").as_str())
    );

    // Reproducible: a second render is byte-for-byte the same.
    let again = tempfile::tempdir().unwrap();
    release::render(again.path()).unwrap();
    for f in ["infrastructure-components.yaml", "metadata.yaml"] {
        assert_eq!(
            std::fs::read(out.path().join(f)).unwrap(),
            std::fs::read(again.path().join(f)).unwrap(),
            "{f} differs between two renders"
        );
    }
}

/// The first column of the table under "## Variables" in docs/install.md.
fn variables_table(doc: &str) -> BTreeSet<String> {
    doc.lines()
        .skip_while(|l| *l != "## Variables")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `")?.split_once('`'))
        .map(|(name, _)| name.to_string())
        .collect()
}

fn dynamic(
    client: &Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

/// Polls `check` every 250 ms until it returns `Ok`, or panics after
/// `limit` with the last `Err` it described.
async fn wait_until<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) => assert!(
                Instant::now() < deadline,
                "timed out after {} s waiting until {what}; last seen: {last}",
                limit.as_secs()
            ),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn json_of(api: &Api<DynamicObject>, name: &str) -> Result<Value, String> {
    match api.get_opt(name).await {
        Ok(Some(o)) => Ok(serde_json::to_value(o).unwrap()),
        Ok(None) => Err(format!("{name} does not exist")),
        Err(e) => Err(e.to_string()),
    }
}

fn condition_true(v: &Value, type_: &str) -> bool {
    v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == type_ && c["status"] == "True")
}

/// The set of (verb, group, resource) a list of RBAC rules grants,
/// resources written `resource/subresource`. Wildcards fail the test.
fn grants(rules: &[PolicyRule]) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for r in rules {
        let groups = r.api_groups.clone().unwrap_or_default();
        let resources = r.resources.clone().unwrap_or_default();
        for verb in &r.verbs {
            for g in &groups {
                for res in &resources {
                    for part in [verb, g, res] {
                        assert_ne!(part, "*", "wildcard in rule {r:?}");
                    }
                    out.insert((verb.clone(), g.clone(), res.clone()));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_install_and_the_manager_runs_on_its_own_rbac() {
    let manager_bin = product_binary("manager").unwrap();
    let sim_bin = product_binary("scvmm-sim").unwrap();
    let (_out, repo) = repository("");
    // Our CRDs come from the components, not from the test bed.
    let mut bed = TestCluster::builder()
        .with_crds(Vec::new())
        .with_capi()
        .start()
        .await
        .unwrap();
    let admin = bed.client().await.unwrap();
    let yaml = repo
        .generate_provider(
            &bed.binaries().clusterctl,
            &["--target-namespace", TARGET_NS],
            &[],
        )
        .unwrap();
    manifests::apply(&admin, TARGET_NS, &yaml, "clusterctl")
        .await
        .expect("the components apply cleanly");

    installed_objects_are_there(&admin, &documents(&yaml)).await;
    template_changes_are_denied(&admin).await;
    rbac_is_exactly_what_the_manager_needs(&admin).await;
    the_manager_runs_a_machine_as_its_service_account(&mut bed, &admin, &manager_bin, &sim_bin)
        .await;
}

async fn installed_objects_are_there(admin: &Client, docs: &[Value]) {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let names: Vec<String> = of_kind(docs, "CustomResourceDefinition")
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 4, "four CRDs: {names:?}");
    for name in &names {
        wait_until(
            &format!("CRD {name} is Established"),
            Duration::from_secs(60),
            async || {
                let crd = crds.get(name).await.map_err(|e| e.to_string())?;
                let established = crd
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .into_iter()
                    .flatten()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                established
                    .then_some(())
                    .ok_or_else(|| format!("{:?}", crd.status))
            },
        )
        .await;
    }
    let deployment = Api::<Deployment>::namespaced(admin.clone(), TARGET_NS)
        .get(DEPLOYMENT)
        .await
        .unwrap();
    let pod = deployment.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some(SERVICE_ACCOUNT));
    let c = &pod.containers[0];
    assert_eq!(c.name, "manager");
    let sc = c.security_context.clone().unwrap();
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.capabilities.unwrap().drop, Some(vec!["ALL".to_string()]));
    let pod_sc = pod.security_context.unwrap();
    assert_eq!(pod_sc.run_as_non_root, Some(true));
    assert_eq!(pod_sc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    for (probe, path) in [
        (&c.liveness_probe, "/healthz"),
        (&c.readiness_probe, "/readyz"),
    ] {
        let get = probe.clone().unwrap().http_get.unwrap();
        assert_eq!(get.path.as_deref(), Some(path));
    }
    Api::<Service>::namespaced(admin.clone(), TARGET_NS)
        .get("capscvmm-controller-manager-metrics")
        .await
        .unwrap();
    Api::<ServiceAccount>::namespaced(admin.clone(), TARGET_NS)
        .get(SERVICE_ACCOUNT)
        .await
        .unwrap();
    Api::<Role>::namespaced(admin.clone(), TARGET_NS)
        .get("capscvmm-leader-election-role")
        .await
        .unwrap();
    let rb = Api::<RoleBinding>::namespaced(admin.clone(), TARGET_NS)
        .get("capscvmm-leader-election-rolebinding")
        .await
        .unwrap();
    let crb = Api::<ClusterRoleBinding>::all(admin.clone())
        .get("capscvmm-manager-rolebinding")
        .await
        .unwrap();
    // clusterctl moved the subjects into the target namespace.
    for subjects in [rb.subjects, crb.subjects] {
        let s = &subjects.unwrap()[0];
        assert_eq!(
            (s.name.as_str(), s.namespace.as_deref()),
            (SERVICE_ACCOUNT, Some(TARGET_NS))
        );
    }
    let aggregated = Api::<ClusterRole>::all(admin.clone())
        .get("capscvmm-aggregated-to-capi")
        .await
        .unwrap();
    assert_eq!(
        aggregated
            .metadata
            .labels
            .unwrap_or_default()
            .get("cluster.x-k8s.io/aggregate-to-manager")
            .map(String::as_str),
        Some("true"),
        "Cluster API's aggregated role picks it up by this label"
    );
    let aggregated_grants = grants(&aggregated.rules.unwrap_or_default());
    for kind in [
        "scvmmclusters",
        "scvmmmachines",
        "scvmmmachinetemplates",
        "scvmmclustertemplates",
    ] {
        assert!(aggregated_grants.contains(&("get".into(), INFRA.into(), kind.into())));
    }
}

/// The ValidatingAdmissionPolicy and its binding came with the components
/// and are in force: a template's spec.template cannot change.
async fn template_changes_are_denied(admin: &Client) {
    let ns = "release-vap";
    manifests::apply(
        admin,
        ns,
        &serde_saphyr::to_string(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .unwrap(),
        "e2e",
    )
    .await
    .unwrap();
    let templates = dynamic(admin, ns, INFRA, "v1alpha1", "ScvmmMachineTemplate");
    let template = |cpus: u32| {
        json!({
            "apiVersion": format!("{INFRA}/v1alpha1"), "kind": "ScvmmMachineTemplate",
            "metadata": {"name": "workers"},
            "spec": {"template": {"spec": {"vmTemplate": "Ubuntu 24.04", "cpuCount": cpus, "memory": "4Gi"}}},
        })
    };
    templates
        .patch(
            "workers",
            &PatchParams::apply("e2e"),
            &Patch::Apply(template(2)),
        )
        .await
        .unwrap();
    // Policies take effect once the API server has compiled them: until
    // then changes go through, so each try changes whatever is there now.
    let message = wait_until(
        "the admission policy denies a template change",
        Duration::from_secs(60),
        async || {
            let now = templates.get("workers").await.map_err(|e| e.to_string())?;
            let cpus = now.data["spec"]["template"]["spec"]["cpuCount"].as_u64();
            let other = if cpus == Some(2) { 3 } else { 2 };
            match templates
                .patch(
                    "workers",
                    &PatchParams::apply("e2e").force(),
                    &Patch::Apply(template(other)),
                )
                .await
            {
                Err(kube::Error::Api(e)) if e.code == 422 => Ok(e.message),
                Err(e) => Err(e.to_string()),
                Ok(_) => Err(format!("the change to {other} CPUs was accepted")),
            }
        },
    )
    .await;
    assert!(
        message.contains("spec.template cannot be changed"),
        "{message}"
    );
}

async fn rbac_is_exactly_what_the_manager_needs(admin: &Client) {
    let (user, groups) = access::service_account_user(TARGET_NS, SERVICE_ACCOUNT);
    let mut wrong = Vec::new();
    for &need in NEEDED {
        // Cluster-wide (the watches) and in an arbitrary workload namespace.
        for ns in ["", "some-workload-namespace"] {
            let a = at(need, ns);
            if !access::allowed(admin, &user, &groups, &a).await.unwrap() {
                wrong.push(format!("denied: {a}"));
            }
        }
    }
    for verb in ["get", "create", "update"] {
        let lease = (verb, LEASES, "leases", "");
        if !access::allowed(admin, &user, &groups, &at(lease, TARGET_NS))
            .await
            .unwrap()
        {
            wrong.push(format!("denied: {}", at(lease, TARGET_NS)));
        }
        // The Lease role is namespaced: no other namespace's Leases.
        for ns in ["kube-system", ""] {
            if access::allowed(admin, &user, &groups, &at(lease, ns))
                .await
                .unwrap()
            {
                wrong.push(format!("allowed: {}", at(lease, ns)));
            }
        }
    }
    for &never in FORBIDDEN {
        for ns in ["", "some-workload-namespace", TARGET_NS] {
            let a = at(never, ns);
            if access::allowed(admin, &user, &groups, &a).await.unwrap() {
                wrong.push(format!("allowed: {a}"));
            }
        }
    }
    assert!(wrong.is_empty(), "RBAC of {user}:\n{}", wrong.join("\n"));

    // And the ClusterRole holds nothing beyond NEEDED.
    let role = Api::<ClusterRole>::all(admin.clone())
        .get("capscvmm-manager-role")
        .await
        .unwrap();
    let granted = grants(&role.rules.unwrap_or_default());
    let needed: BTreeSet<(String, String, String)> = NEEDED
        .iter()
        .map(|(v, g, r, s)| {
            let res = if s.is_empty() {
                r.to_string()
            } else {
                format!("{r}/{s}")
            };
            (v.to_string(), g.to_string(), res)
        })
        .collect();
    assert_eq!(
        granted.difference(&needed).collect::<Vec<_>>(),
        Vec::<&(String, String, String)>::new(),
        "capscvmm-manager-role grants more than the manager uses"
    );
}

/// The manager's command line and environment as the kubelet would give
/// them from the installed Deployment, bound to loopback ports.
async fn deployment_command(
    admin: &Client,
    pod_name: &str,
) -> (Vec<String>, Vec<(String, String)>) {
    let deployment = Api::<Deployment>::namespaced(admin.clone(), TARGET_NS)
        .get(DEPLOYMENT)
        .await
        .unwrap();
    let c = deployment
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .containers
        .remove(0);
    let mut args: Vec<String> = c
        .args
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.contains("-bind-address="))
        .collect();
    args.push(format!(
        "--metrics-bind-address=127.0.0.1:{}",
        free_port().unwrap()
    ));
    args.push(format!(
        "--health-probe-bind-address=127.0.0.1:{}",
        free_port().unwrap()
    ));
    let mut env = Vec::new();
    for e in c.env.unwrap_or_default() {
        let field = e.value_from.and_then(|f| f.field_ref).map(|f| f.field_path);
        let value = match field.as_deref() {
            Some("metadata.namespace") => TARGET_NS.to_string(),
            Some("metadata.name") => pod_name.to_string(),
            Some(other) => panic!("the test does not resolve fieldRef {other}"),
            None => e.value.unwrap_or_default(),
        };
        env.push((e.name, value));
    }
    (args, env)
}

async fn the_manager_runs_a_machine_as_its_service_account(
    bed: &mut TestCluster,
    admin: &Client,
    manager_bin: &Path,
    sim_bin: &Path,
) {
    let sim_port = free_port().unwrap();
    bed.spawn(
        "scvmm-sim",
        sim_bin,
        &[
            "--listen".into(),
            format!("127.0.0.1:{sim_port}"),
            "--latency-scale".into(),
            "0.02".into(),
            "--user".into(),
            e2e::harness::sim_account(),
        ],
        &[("RUST_LOG", "info".into()), ("NO_COLOR", "1".into())],
    )
    .unwrap();
    let sim = SimApi::new(sim_port, SIM_USER, SIM_PASSWORD);

    let kubeconfig = access::service_account_kubeconfig(bed, TARGET_NS, SERVICE_ACCOUNT, bed.dir())
        .await
        .unwrap();
    let pod = "capscvmm-controller-manager-0";
    let (args, env) = deployment_command(admin, pod).await;
    let mut envs: Vec<(&str, String)> = env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    envs.push(("KUBECONFIG", kubeconfig.display().to_string()));
    envs.push(("NO_COLOR", "1".into()));
    bed.spawn("manager", manager_bin, &args, &envs).unwrap();

    let ns = "release-workload";
    let objects = workload_objects(ns, sim_port);
    manifests::apply(admin, ns, &objects, "e2e").await.unwrap();

    // The manager claims the machine's address; play the IPAM provider.
    let claims = dynamic(admin, ns, IPAM, "v1beta2", "IPAddressClaim");
    let limit = Duration::from_secs(90);
    wait_until(
        "the manager creates the IPAddressClaim",
        limit,
        async || {
            bed.check_alive().map_err(|e| e.to_string())?;
            json_of(&claims, "m1-eth0-0").await
        },
    )
    .await;
    manifests::apply(
        admin,
        ns,
        &serde_saphyr::to_string(&json!({
            "apiVersion": "ipam.cluster.x-k8s.io/v1beta2", "kind": "IPAddress",
            "metadata": {"name": "m1-eth0-0"},
            "spec": {"claimRef": {"name": "m1-eth0-0"},
                     "poolRef": {"apiGroup": IPAM, "kind": "InClusterIPPool", "name": "nodes"},
                     "address": "10.20.0.77", "prefix": 24, "gateway": "10.20.0.1"},
        }))
        .unwrap(),
        "e2e",
    )
    .await
    .unwrap();
    claims
        .patch_status(
            "m1-eth0-0",
            &PatchParams::apply("fake-ipam").force(),
            &Patch::Apply(json!({
                "apiVersion": "ipam.cluster.x-k8s.io/v1beta2", "kind": "IPAddressClaim",
                "status": {"addressRef": {"name": "m1-eth0-0"}},
            })),
        )
        .await
        .unwrap();

    let scvmm_machines = dynamic(admin, ns, INFRA, "v1alpha1", "ScvmmMachine");
    let sm = wait_until(
        "the ScvmmMachine is provisioned and Ready",
        limit,
        async || {
            bed.check_alive().map_err(|e| e.to_string())?;
            let v = json_of(&scvmm_machines, "m1").await?;
            (v["status"]["initialization"]["provisioned"] == true && condition_true(&v, "Ready"))
                .then(|| v.clone())
                .ok_or_else(|| format!("{:#}", v["status"]))
        },
    )
    .await;
    assert!(
        sm["status"]["addresses"].to_string().contains("10.20.0.77"),
        "the IPAM address: {:#}",
        sm["status"]
    );
    let sc = json_of(&dynamic(admin, ns, INFRA, "v1alpha1", "ScvmmCluster"), "c1")
        .await
        .unwrap();
    assert_eq!(
        sc["status"]["initialization"]["provisioned"], true,
        "{:#}",
        sc["status"]
    );
    let vms = sim.vms().await.unwrap();
    assert_eq!(
        vms.iter().filter(|v| v["name"] == "m1").count(),
        1,
        "one VM"
    );

    // Writes that only its RBAC allows: Machine labels, Events, the Lease.
    let machines = dynamic(admin, ns, CAPI, "v1beta2", "Machine");
    wait_until("the Machine carries the host label", limit, async || {
        let m = json_of(&machines, "m1").await?;
        m["metadata"]["labels"]["node.cluster.x-k8s.io/scvmm-host"]
            .is_string()
            .then_some(())
            .ok_or_else(|| format!("{:#}", m["metadata"]["labels"]))
    })
    .await;
    let events = dynamic(admin, ns, EVENTS, "v1", "Event")
        .list(&Default::default())
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.data["reportingController"] == "scvmm-capi-manager"
                && e.data["reportingInstance"] == pod),
        "no Event from the manager"
    );
    let lease = Api::<Lease>::namespaced(admin.clone(), TARGET_NS)
        .get(LEASE)
        .await
        .unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity.as_deref(), Some(pod));

    // Deleting: the VM goes, finalizers are released, claims follow.
    machines
        .delete("m1", &DeleteParams::background())
        .await
        .unwrap();
    wait_until("the ScvmmMachine and its VM are gone", limit, async || {
        bed.check_alive().map_err(|e| e.to_string())?;
        let left = scvmm_machines
            .get_opt("m1")
            .await
            .map_err(|e| e.to_string())?;
        let vms = sim.vms().await.map_err(|e| e.to_string())?;
        let vm = vms.iter().any(|v| v["name"] == "m1");
        (left.is_none() && !vm)
            .then_some(())
            .ok_or_else(|| format!("ScvmmMachine left: {}, VM left: {vm}", left.is_some()))
    })
    .await;
    dynamic(admin, ns, CAPI, "v1beta2", "Cluster")
        .delete("c1", &DeleteParams::background())
        .await
        .unwrap();
    let scvmm_clusters = dynamic(admin, ns, INFRA, "v1alpha1", "ScvmmCluster");
    wait_until(
        "the ScvmmCluster is gone",
        limit,
        async || match scvmm_clusters.get_opt("c1").await {
            Ok(None) => Ok(()),
            Ok(Some(o)) => Err(format!("{:?}", o.metadata.finalizers)),
            Err(e) => Err(e.to_string()),
        },
    )
    .await;

    bed.check_alive().unwrap();
    let log = std::fs::read_to_string(bed.log_path("manager")).unwrap();
    let denied: Vec<&str> = log
        .lines()
        .filter(|l| l.to_lowercase().contains("forbidden"))
        .collect();
    assert!(
        denied.is_empty(),
        "the manager was refused something:\n{}",
        denied.join("\n")
    );
}

/// One cluster with one machine whose address comes from an IPAM pool, as
/// a user (and Cluster API's bootstrap provider) would create them.
fn workload_objects(ns: &str, sim_port: u16) -> String {
    let infra = format!("{INFRA}/v1alpha1");
    let docs = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c1-vmm", "namespace": ns},
               "stringData": {"username": SIM_USER, "password": SIM_PASSWORD}}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "cluster.x-k8s.io/secret",
               "metadata": {"name": "m1-bootstrap", "namespace": ns, "labels": {"cluster.x-k8s.io/cluster-name": "c1"}},
               "stringData": {"value": "#cloud-config\nruncmd:\n  - echo hello\n", "format": "cloud-config"}}),
        json!({"apiVersion": infra, "kind": "ScvmmCluster", "metadata": {"name": "c1", "namespace": ns},
        "spec": {
            "controlPlaneEndpoint": {"host": "10.20.0.10", "port": 6443},
            "server": {"endpoint": format!("http://127.0.0.1:{sim_port}"), "scheme": "HTTP", "auth": "NTLM",
                       "credentialsRef": {"name": "c1-vmm"},
                       "libraryShare": "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds"},
            "failureDomains": [{"name": "rack1", "controlPlane": true, "hostGroup": "All Hosts\\Prod\\Rack1"}],
        }}),
        json!({"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "metadata": {"name": "c1", "namespace": ns},
               "spec": {"clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}},
                        "infrastructureRef": {"apiGroup": INFRA, "kind": "ScvmmCluster", "name": "c1"}}}),
        json!({"apiVersion": infra, "kind": "ScvmmMachine",
               "metadata": {"name": "m1", "namespace": ns, "labels": {"cluster.x-k8s.io/cluster-name": "c1"}},
               "spec": {"vmTemplate": "Ubuntu 24.04", "cpuCount": 2, "memory": "4Gi",
                        "network": {"devices": [{"name": "eth0", "vmNetwork": "Prod-VLAN100",
                            "addressesFromPools": [{"apiGroup": IPAM, "kind": "InClusterIPPool", "name": "nodes"}]}]}}}),
        json!({"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
               "metadata": {"name": "m1", "namespace": ns, "labels": {"cluster.x-k8s.io/cluster-name": "c1"}},
               "spec": {"clusterName": "c1", "failureDomain": "rack1",
                        "bootstrap": {"dataSecretName": "m1-bootstrap"},
                        "infrastructureRef": {"apiGroup": INFRA, "kind": "ScvmmMachine", "name": "m1"}}}),
    ];
    docs.iter()
        .map(|d| format!("---\n{}", serde_saphyr::to_string(d).unwrap()))
        .collect()
}
