//! The clusterctl cluster templates in `deploy/templates/`, checked with the
//! programs that will consume them:
//!
//! - the real `clusterctl generate cluster --infrastructure scvmm --flavor F`
//!   (built into the test bed cache by `just testbed`), reading the
//!   templates from a clusterctl local repository laid out as a release
//!   ships them, renders every flavour offline, with no variable left
//!   unresolved; for the `topology` flavour it adds the ClusterClass from
//!   `clusterclass-scvmm.yaml`, as it does for users. The output is
//!   snapshotted, so a change to a template shows in review as a change to
//!   what users get;
//! - `clusterctl generate cluster --list-variables` finds exactly the
//!   variables each template's header lists, and docs/control-plane-endpoint.md
//!   has a table row for every one of them; the ClusterClass has none;
//! - every rendered object passes a server-side apply with `dryRun=All` on
//!   the real local control plane with our CRDs and admission policy,
//!   Cluster API core (ClusterTopology on), kubeadm bootstrap and control
//!   plane, and the in-cluster IPAM provider, so their schemas, CEL rules
//!   and admission webhooks all accept it;
//! - the ClusterClass, really applied, is reconciled by Cluster API, which
//!   then refuses Clusters whose variables break the class's rules; a
//!   Cluster of the `topology` flavour, really applied, is expanded by the
//!   topology controller into the same ScvmmCluster, machine templates,
//!   kubeadm settings and kube-vip manifest that the default flavour
//!   renders from the same variables;
//! - the kube-vip preparation script of the kube-vip flavours does what its
//!   comments claim (super-admin.conf on `kubeadm init` only, and only from
//!   kubeadm 1.29 on; the VIP read from the kubeadm configuration in the
//!   `ipam` flavour), run with `sh` against the files the bootstrap provider
//!   would have written; the ClusterClass carries the same script.
//!
//! Nothing is skipped: without the clusterctl binary the tests fail and say
//! how to build it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::harness::RELEASE_VERSION;
use e2e::testbed::{Binaries, TestCluster};
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const CLUSTER_NAME: &str = "demo";
const NAMESPACE: &str = "capi-templates";
const KUBERNETES_VERSION: &str = "v1.33.0";

/// One `cluster-template*.yaml`.
struct Flavour {
    /// `--flavor` value, and the snapshot name.
    name: &'static str,
    file: &'static str,
    /// Its letter in the "Flavours" column of the docs' variable table.
    doc_letter: char,
    /// Values of the variables only this flavour has.
    vars: &'static [(&'static str, &'static str)],
    /// Whether it runs kube-vip.
    kube_vip: bool,
    /// Whether its Cluster is made from the ClusterClass (`spec.topology`):
    /// the rendered output then holds the class and its templates instead
    /// of a KubeadmControlPlane and MachineDeployment.
    topology: bool,
}

const FLAVOURS: &[Flavour] = &[
    Flavour {
        name: "default",
        file: "cluster-template.yaml",
        doc_letter: 'D',
        vars: &[("CONTROL_PLANE_ENDPOINT_IP", "10.20.0.100")],
        kube_vip: true,
        topology: false,
    },
    Flavour {
        name: "external-lb",
        file: "cluster-template-external-lb.yaml",
        doc_letter: 'E',
        vars: &[("CONTROL_PLANE_ENDPOINT_HOST", "k8s-api.demo.corp.example")],
        kube_vip: false,
        topology: false,
    },
    Flavour {
        name: "ipam",
        file: "cluster-template-ipam.yaml",
        doc_letter: 'I',
        vars: &[
            (
                "CONTROL_PLANE_ENDPOINT_POOL_ADDRESSES",
                "10.20.0.100-10.20.0.109",
            ),
            ("NODE_IPAM_POOL_ADDRESSES", "10.20.0.110-10.20.0.199"),
            ("NODE_IPAM_POOL_PREFIX", "24"),
            ("NODE_IPAM_POOL_GATEWAY", "10.20.0.1"),
            ("SCVMM_NAMESERVERS", "10.20.0.2, 10.20.0.3"),
        ],
        kube_vip: true,
        topology: false,
    },
    Flavour {
        name: "topology",
        file: "cluster-template-topology.yaml",
        doc_letter: 'T',
        // The same value as the default flavour's: the two must render the
        // same cluster.
        vars: &[("CONTROL_PLANE_ENDPOINT_IP", "10.20.0.100")],
        kube_vip: true,
        topology: true,
    },
];

/// The ClusterClass the `topology` flavour refers to, and its file
/// (clusterctl's convention: `clusterclass-<class name>.yaml`).
const CLASS_NAME: &str = "scvmm";
const CLASS_FILE: &str = "clusterclass-scvmm.yaml";

fn flavour(name: &str) -> &'static Flavour {
    FLAVOURS.iter().find(|f| f.name == name).unwrap()
}

/// Values of the variables every flavour has and that have no default.
/// Optional variables stay unset, so the snapshots show the defaults. The
/// credentials, share and host group carry the characters that break naive
/// YAML quoting (backslashes, both quotes, '#', a literal "\n").
const COMMON_VARS: &[(&str, &str)] = &[
    ("SCVMM_SERVER", "https://vmm01.corp.example:5986/wsman"),
    ("SCVMM_USERNAME", r"CORP\capi-svc"),
    ("SCVMM_PASSWORD", r#"it's "quoted" #1 \n: x"#),
    ("SCVMM_LIBRARY_SHARE", r"\\lib01\MSSCVMMLibrary\capi-seeds"),
    ("SCVMM_HOST_GROUP", r"All Hosts\Prod\Rack1"),
    ("SCVMM_VM_TEMPLATE", "Ubuntu 24.04 Kubernetes v1.33.0"),
    ("SCVMM_VM_NETWORK", "Prod-VLAN100"),
    (
        "SCVMM_SSH_AUTHORIZED_KEY",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH7yb2NrLXNvbGlkLXRlc3Qta2V5LW5vdC1yZWFs capi@example",
    ),
];

fn template_path(f: &Flavour) -> PathBuf {
    templates_dir().join(f.file)
}

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/templates")
}

fn clusterctl_binary() -> PathBuf {
    let bin = Binaries::locate().clusterctl;
    assert!(
        bin.is_file(),
        "clusterctl is not in the test bed cache (looked for {}); run `just testbed` \
         (or `bash e2e/testbed/build.sh`) to build it",
        bin.display()
    );
    bin
}

/// `clusterctl generate cluster demo --infrastructure scvmm:<version>
/// [--flavor F] <args>`, reading the templates from a fresh local
/// repository holding what a release ships, with `vars` as the only
/// environment variables. clusterctl runs cut off from the caller's
/// environment (see `e2e::harness::clusterctl::isolated`), so any attempt
/// to reach the network (or a management cluster) fails the test instead of
/// depending on it.
fn clusterctl(f: &Flavour, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let bin = clusterctl_binary();
    let repository = e2e::release::templates_repository(RELEASE_VERSION).unwrap();
    let mut run = e2e::harness::clusterctl::isolated(&bin).unwrap();
    run.command
        .envs(vars.iter().copied())
        .args(["generate", "cluster", CLUSTER_NAME])
        .args(repository.provider_args());
    if f.name != "default" {
        run.command.args(["--flavor", f.name]);
    }
    run.command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
}

fn all_vars(f: &Flavour) -> Vec<(&'static str, &'static str)> {
    COMMON_VARS.iter().chain(f.vars).copied().collect()
}

/// `clusterctl generate cluster demo --flavor F ...` with `vars`.
fn generate(f: &Flavour, vars: &[(&str, &str)]) -> Output {
    clusterctl(
        f,
        &[
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--control-plane-machine-count",
            "3",
            "--worker-machine-count",
            "2",
            "--target-namespace",
            NAMESPACE,
        ],
        vars,
    )
}

/// The flavour rendered with every variable set; panics with clusterctl's
/// message otherwise.
fn render(f: &Flavour) -> String {
    let out = generate(f, &all_vars(f));
    assert!(
        out.status.success(),
        "clusterctl generate cluster --flavor {} failed ({}):\n{}",
        f.name,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn documents(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(yaml).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the rendered template"))
}

fn provider_id_arg() -> Value {
    serde_json::json!([{"name": "provider-id", "value": "{{ ds.meta_data.provider_id }}"}])
}

/// The content of the KubeadmControlPlane's file at `path`.
fn kcp_file(docs: &[Value], path: &str) -> Option<String> {
    let kcp = find(docs, "KubeadmControlPlane", "demo-control-plane");
    kcp["spec"]["kubeadmConfigSpec"]["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)
        .map(|f| f["content"].as_str().unwrap().to_string())
}

#[test]
fn every_flavour_renders_offline_with_every_variable_resolved() {
    for f in FLAVOURS.iter().filter(|f| !f.topology) {
        let yaml = render(f);
        assert!(
            !yaml.contains("${"),
            "{}: unresolved variable left in the output:\n{yaml}",
            f.file
        );
        insta::assert_snapshot!(f.name, yaml);

        let docs = documents(&yaml);
        let mut kinds: Vec<String> = docs
            .iter()
            .map(|d| d["kind"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        let mut expected = vec![
            "Cluster",
            "KubeadmConfigTemplate",
            "KubeadmControlPlane",
            "MachineDeployment",
            "ScvmmCluster",
            "ScvmmMachineTemplate",
            "ScvmmMachineTemplate",
            "Secret",
        ];
        if f.name == "ipam" {
            expected.extend(["InClusterIPPool", "InClusterIPPool"]);
        }
        expected.sort();
        assert_eq!(kinds, expected, "{}", f.file);
        for d in &docs {
            assert_eq!(
                d["metadata"]["namespace"], NAMESPACE,
                "{}: {} {} is not in the target namespace",
                f.file, d["kind"], d["metadata"]["name"]
            );
        }

        // Values with backslashes, quotes and '#' arrive unchanged.
        let secret = find(&docs, "Secret", "demo-scvmm-credentials");
        assert_eq!(secret["stringData"]["username"], r"CORP\capi-svc");
        assert_eq!(
            secret["stringData"]["password"],
            r#"it's "quoted" #1 \n: x"#
        );
        assert_eq!(
            secret["metadata"]["labels"]["clusterctl.cluster.x-k8s.io/move"],
            ""
        );
        let sc = find(&docs, "ScvmmCluster", "demo");
        assert_eq!(
            sc["spec"]["server"]["libraryShare"],
            r"\\lib01\MSSCVMMLibrary\capi-seeds"
        );
        assert_eq!(
            sc["spec"]["server"]["credentialsRef"]["name"],
            "demo-scvmm-credentials"
        );
        for t in ["demo-control-plane", "demo-worker"] {
            let mt = find(&docs, "ScvmmMachineTemplate", t);
            assert_eq!(
                mt["spec"]["template"]["spec"]["hostGroup"],
                r"All Hosts\Prod\Rack1"
            );
        }

        // Every kubelet is given the providerID from the seed's meta-data.
        let kcp = find(&docs, "KubeadmControlPlane", "demo-control-plane");
        assert_eq!(kcp["spec"]["replicas"], 3);
        assert_eq!(kcp["spec"]["version"], KUBERNETES_VERSION);
        for phase in ["initConfiguration", "joinConfiguration"] {
            let reg = &kcp["spec"]["kubeadmConfigSpec"][phase]["nodeRegistration"];
            assert_eq!(reg["kubeletExtraArgs"], provider_id_arg(), "{phase}");
            assert_eq!(reg["name"], "{{ ds.meta_data.local_hostname }}");
        }
        let kct = find(&docs, "KubeadmConfigTemplate", "demo-md-0");
        assert_eq!(
            kct["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"],
            provider_id_arg()
        );
        let md = find(&docs, "MachineDeployment", "demo-md-0");
        assert_eq!(md["spec"]["replicas"], 2);

        // The endpoint and what answers on it.
        let endpoint = &sc["spec"]["controlPlaneEndpoint"];
        let kube_vip = kcp_file(&docs, "/etc/kubernetes/manifests/kube-vip.yaml");
        match f.name {
            "default" => {
                assert_eq!(endpoint["host"], "10.20.0.100");
                assert_eq!(endpoint["port"], 6443);
                let pod = documents(kube_vip.as_deref().expect("kube-vip manifest"));
                assert_eq!(env_value(&pod[0], "address"), "10.20.0.100");
            }
            "external-lb" => {
                assert_eq!(endpoint["host"], "k8s-api.demo.corp.example");
                assert_eq!(
                    endpoint["port"], 6443,
                    "CONTROL_PLANE_ENDPOINT_PORT default"
                );
                assert!(kube_vip.is_none(), "no kube-vip behind an external LB");
                assert!(kcp["spec"]["kubeadmConfigSpec"]["preKubeadmCommands"].is_null());
            }
            "ipam" => {
                assert!(endpoint.is_null(), "the host is claimed, not given");
                assert_eq!(
                    sc["spec"]["controlPlaneEndpointPool"],
                    serde_json::json!({"apiGroup": "ipam.cluster.x-k8s.io",
                        "kind": "InClusterIPPool", "name": "demo-vip"})
                );
                for pool in ["demo-vip", "demo-nodes"] {
                    let p = find(&docs, "InClusterIPPool", pool);
                    assert_eq!(
                        p["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"],
                        "demo"
                    );
                    assert_eq!(p["spec"]["prefix"], 24);
                }
                for t in ["demo-control-plane", "demo-worker"] {
                    let mt = find(&docs, "ScvmmMachineTemplate", t);
                    let dev = &mt["spec"]["template"]["spec"]["network"]["devices"][0];
                    assert_eq!(dev["addressesFromPools"][0]["name"], "demo-nodes");
                    assert_eq!(
                        dev["nameservers"],
                        serde_json::json!(["10.20.0.2", "10.20.0.3"])
                    );
                    assert!(dev["dhcp4"].is_null());
                }
                let pod = documents(kube_vip.as_deref().expect("kube-vip manifest"));
                assert_eq!(env_value(&pod[0], "address"), "@control-plane-vip@");
            }
            other => panic!("unknown flavour {other}"),
        }
        if f.kube_vip {
            let pod = documents(kube_vip.as_deref().unwrap());
            assert_eq!(env_value(&pod[0], "kubernetes_addr"), "kubernetes:6443");
            assert_eq!(
                env_value(&pod[0], "vip_interface"),
                "",
                "KUBE_VIP_INTERFACE default"
            );
            assert_eq!(
                pod[0]["spec"]["containers"][0]["image"],
                "ghcr.io/kube-vip/kube-vip:v1.1.2"
            );
            assert_eq!(
                kcp["spec"]["kubeadmConfigSpec"]["preKubeadmCommands"],
                serde_json::json!(["/etc/kube-vip-prepare.sh before-kubeadm"])
            );
            assert_eq!(
                kcp["spec"]["kubeadmConfigSpec"]["postKubeadmCommands"],
                serde_json::json!(["/etc/kube-vip-prepare.sh after-kubeadm"])
            );
        }
    }
}

fn env_value(pod: &Value, name: &str) -> String {
    pod["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("kube-vip has no env {name}"))["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The file at `path` of a kubeadmConfigSpec.
fn spec_file(spec: &Value, path: &str) -> Option<String> {
    spec["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == path)
        .map(|f| f["content"].as_str().unwrap().to_string())
}

/// The openAPIV3Schema of our CRD for `kind`.
fn crd_schema(kind: &str) -> Value {
    let crd = operator::api::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let schema = crd.spec.versions[0].schema.clone().unwrap();
    serde_json::to_value(schema.open_api_v3_schema.unwrap()).unwrap()
}

/// The schema of the field at `path` (property names) in `schema`.
fn schema_at<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(schema, |s, p| &s["properties"][*p])
}

/// The schema of the ClusterClass variable `name`.
fn class_variable<'a>(class: &'a Value, name: &str) -> &'a Value {
    &class["spec"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("the ClusterClass has no variable {name}"))["schema"]["openAPIV3Schema"]
}

/// The Cluster's topology variables, by name.
fn topology_variables(cluster: &Value) -> BTreeMap<String, Value> {
    cluster["spec"]["topology"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v["value"].clone()))
        .collect()
}

#[test]
fn the_topology_flavour_renders_its_cluster_class_with_the_default_flavours_settings() {
    let f = flavour("topology");
    let yaml = render(f);
    assert!(
        !yaml.contains("${"),
        "unresolved variable left in the output:\n{yaml}"
    );
    insta::assert_snapshot!(f.name, yaml);

    // clusterctl found clusterclass-scvmm.yaml next to the template and put
    // the class and its templates in front of the Cluster, all in the
    // target namespace.
    let docs = documents(&yaml);
    let objects: Vec<String> = docs
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
        objects,
        [
            "ClusterClass scvmm",
            "ScvmmClusterTemplate scvmm",
            "KubeadmControlPlaneTemplate scvmm-control-plane",
            "ScvmmMachineTemplate scvmm-control-plane",
            "ScvmmMachineTemplate scvmm-worker",
            "KubeadmConfigTemplate scvmm-worker",
            "Secret demo-scvmm-credentials",
            "Cluster demo",
        ]
    );
    for d in &docs {
        assert_eq!(
            d["metadata"]["namespace"], NAMESPACE,
            "{} {} is not in the target namespace",
            d["kind"], d["metadata"]["name"]
        );
    }

    // clusterctl's rules for a ClusterClass file: no clusterctl variables
    // (every Cluster of the class shares it) and no namespaces (clusterctl
    // puts it into the target namespace).
    let class_text = std::fs::read_to_string(templates_dir().join(CLASS_FILE)).unwrap();
    assert!(!class_text.contains("${"), "{CLASS_FILE} has a variable");
    for d in documents(&class_text) {
        assert!(
            d["metadata"]["namespace"].is_null(),
            "{CLASS_FILE}: {} {} names a namespace",
            d["kind"],
            d["metadata"]["name"]
        );
    }

    // Every template the class names is there.
    let class = find(&docs, "ClusterClass", CLASS_NAME);
    let mut refs = vec![
        &class["spec"]["infrastructure"]["templateRef"],
        &class["spec"]["controlPlane"]["templateRef"],
        &class["spec"]["controlPlane"]["machineInfrastructure"]["templateRef"],
    ];
    for md in class["spec"]["workers"]["machineDeployments"]
        .as_array()
        .unwrap()
    {
        refs.push(&md["bootstrap"]["templateRef"]);
        refs.push(&md["infrastructure"]["templateRef"]);
    }
    for r in refs {
        let t = find(
            &docs,
            r["kind"].as_str().unwrap(),
            r["name"].as_str().unwrap(),
        );
        assert_eq!(t["apiVersion"], r["apiVersion"], "{r}");
    }

    // The Cluster: the class, counts, version, and the variables with the
    // values given (backslashes, quotes and '#' unchanged).
    let cluster = find(&docs, "Cluster", "demo");
    let topology = &cluster["spec"]["topology"];
    assert_eq!(
        topology["classRef"],
        serde_json::json!({"name": CLASS_NAME})
    );
    assert_eq!(topology["version"], KUBERNETES_VERSION);
    assert_eq!(topology["controlPlane"]["replicas"], 3);
    assert_eq!(
        topology["workers"]["machineDeployments"],
        serde_json::json!([{"class": "default-worker", "name": "md-0", "replicas": 2}])
    );
    let vars = topology_variables(cluster);
    let declared: BTreeSet<String> = class["spec"]["variables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        vars.keys().cloned().collect::<BTreeSet<_>>(),
        declared,
        "the template sets every variable of the class, and only those"
    );
    assert_eq!(
        vars["controlPlaneEndpoint"],
        serde_json::json!({"host": "10.20.0.100", "port": 6443})
    );
    assert_eq!(
        vars["scvmmServer"]["libraryShare"],
        r"\\lib01\MSSCVMMLibrary\capi-seeds"
    );
    assert_eq!(
        vars["scvmmServer"]["credentialsRef"]["name"],
        "demo-scvmm-credentials"
    );
    assert_eq!(
        vars["placement"],
        serde_json::json!({"hostGroup": r"All Hosts\Prod\Rack1"})
    );
    assert_eq!(
        vars["sshAuthorizedKeys"],
        serde_json::json!([COMMON_VARS
            .iter()
            .find(|(k, _)| *k == "SCVMM_SSH_AUTHORIZED_KEY")
            .unwrap()
            .1])
    );
    let secret = find(&docs, "Secret", "demo-scvmm-credentials");
    assert_eq!(secret["stringData"]["username"], r"CORP\capi-svc");
    assert_eq!(
        secret["stringData"]["password"],
        r#"it's "quoted" #1 \n: x"#
    );

    // Every kubelet is given the providerID from the seed's meta-data, as
    // in the default flavour.
    let kcpt = find(
        &docs,
        "KubeadmControlPlaneTemplate",
        &format!("{CLASS_NAME}-control-plane"),
    );
    let spec = &kcpt["spec"]["template"]["spec"]["kubeadmConfigSpec"];
    for phase in ["initConfiguration", "joinConfiguration"] {
        let reg = &spec[phase]["nodeRegistration"];
        assert_eq!(reg["kubeletExtraArgs"], provider_id_arg(), "{phase}");
        assert_eq!(reg["name"], "{{ ds.meta_data.local_hostname }}");
    }
    let kct = find(
        &docs,
        "KubeadmConfigTemplate",
        &format!("{CLASS_NAME}-worker"),
    );
    assert_eq!(
        kct["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]["kubeletExtraArgs"],
        provider_id_arg()
    );

    // kube-vip: the default flavour's hosts file, preparation script (its
    // behaviour is tested on the default flavour) and commands; the
    // manifest itself comes from a patch (compared once Cluster API has
    // applied it, in every_rendered_object_is_accepted_...).
    let default = documents(&render(flavour("default")));
    for path in ["/etc/kube-vip.hosts", "/etc/kube-vip-prepare.sh"] {
        assert_eq!(spec_file(spec, path), kcp_file(&default, path), "{path}");
    }
    let default_spec =
        &find(&default, "KubeadmControlPlane", "demo-control-plane")["spec"]["kubeadmConfigSpec"];
    for commands in ["preKubeadmCommands", "postKubeadmCommands"] {
        assert_eq!(spec[commands], default_spec[commands], "{commands}");
    }

    // The class agrees with our CRDs: scvmmServer is the ScvmmCluster's
    // spec.server, field for field, and every patch into our templates
    // writes a field their schema has.
    let cluster_schema = crd_schema("ScvmmCluster");
    let server = schema_at(&cluster_schema, &["spec", "server"]);
    let variable = class_variable(class, "scvmmServer");
    let names = |schema: &Value| -> BTreeSet<String> {
        schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(names(variable), names(server), "scvmmServer's fields");
    let required = |schema: &Value| -> BTreeSet<String> {
        schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(required(variable), required(server));
    // The class repeats the CEL rules, so that a Cluster breaking them is
    // refused when it is created rather than when the ScvmmCluster is.
    let rules = |schema: &Value| -> BTreeSet<(String, String)> {
        schema["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (r["rule"].to_string(), r["message"].to_string()))
            .collect()
    };
    assert_eq!(rules(variable), rules(server), "scvmmServer's rules");
    for (name, field) in variable["properties"].as_object().unwrap() {
        let in_crd = &server["properties"][name];
        assert_eq!(field["type"], in_crd["type"], "scvmmServer.{name}");
        assert_eq!(field["enum"], in_crd["enum"], "scvmmServer.{name}");
        assert_eq!(rules(field), rules(in_crd), "scvmmServer.{name}'s rules");
    }
    for patch in class["spec"]["patches"].as_array().unwrap() {
        for definition in patch["definitions"].as_array().unwrap() {
            let kind = definition["selector"]["kind"].as_str().unwrap();
            if !kind.starts_with("Scvmm") {
                continue;
            }
            let schema = crd_schema(kind);
            for op in definition["jsonPatches"].as_array().unwrap() {
                let path = op["path"].as_str().unwrap();
                let fields: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                assert!(
                    !schema_at(&schema, &fields).is_null(),
                    "patch {}: {kind} has no field {path}",
                    patch["name"]
                );
            }
        }
    }
}

/// Drops one pair of surrounding double quotes.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn is_variable_name(s: &str) -> bool {
    s.len() > 1
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Variables in a template's header comment (lines `#   NAME  = default ...`
/// or `#   NAME  description`): name to default (None: required).
fn header_variables(template: &str) -> BTreeMap<String, Option<String>> {
    template
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("#   "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let name = words.next().filter(|n| is_variable_name(n))?;
            let default = match words.next() {
                Some("=") => Some(unquote(words.next().unwrap_or_default()).to_string()),
                _ => None,
            };
            Some((name.to_string(), default))
        })
        .collect()
}

/// `clusterctl generate cluster --list-variables`: name to default (None:
/// required). clusterctl prints a "Required Variables:" and an "Optional
/// Variables:" section of `  - NAME   (defaults to VALUE)` lines.
fn listed_variables(f: &Flavour) -> BTreeMap<String, Option<String>> {
    let out = clusterctl(
        f,
        &["--target-namespace", NAMESPACE, "--list-variables"],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "clusterctl --list-variables failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut required = None;
    let mut vars = BTreeMap::new();
    for line in stdout.lines() {
        if line.starts_with("Required Variables") {
            required = Some(true);
        } else if line.starts_with("Optional Variables") {
            required = Some(false);
        } else if let Some(item) = line.trim_start().strip_prefix("- ") {
            let (name, rest) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
            let default = match required {
                Some(true) => None,
                Some(false) => {
                    let d = rest
                        .trim()
                        .strip_prefix("(defaults to ")
                        .and_then(|d| d.strip_suffix(')'))
                        .unwrap_or_else(|| panic!("unexpected line {line:?}:\n{stdout}"));
                    Some(unquote(d).to_string())
                }
                None => panic!("unexpected --list-variables output:\n{stdout}"),
            };
            vars.insert(name.to_string(), default);
        }
    }
    assert!(
        vars.contains_key("SCVMM_SERVER"),
        "could not read --list-variables output:\n{stdout}"
    );
    vars
}

/// One row of the docs' variable table.
struct DocRow {
    name: String,
    flavours: String,
    default: String,
}

fn documented_variables() -> Vec<DocRow> {
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/control-plane-endpoint.md"),
    )
    .unwrap();
    docs.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let name = cells.first()?.strip_suffix('`')?;
            (is_variable_name(name) && cells.len() >= 4).then(|| DocRow {
                name: name.to_string(),
                flavours: cells[1].to_string(),
                default: cells[2].to_string(),
            })
        })
        .collect()
}

/// clusterctl fills these from its own flags and arguments (and lists them
/// with those values as defaults); the headers and docs call them required
/// because they have no default in the template.
const FROM_FLAGS: [&str; 5] = [
    "CLUSTER_NAME",
    "NAMESPACE",
    "KUBERNETES_VERSION",
    "CONTROL_PLANE_MACHINE_COUNT",
    "WORKER_MACHINE_COUNT",
];

#[test]
fn each_template_lists_exactly_its_variables_and_the_docs_table_has_them() {
    let documented = documented_variables();
    let mut used_anywhere = BTreeSet::new();
    for f in FLAVOURS {
        let listed = listed_variables(f);
        let header = header_variables(&std::fs::read_to_string(template_path(f)).unwrap());
        assert_eq!(
            header.keys().collect::<Vec<_>>(),
            listed.keys().collect::<Vec<_>>(),
            "{}: the header comment must list exactly the variables clusterctl finds",
            f.file
        );
        for (name, default) in &listed {
            let row = documented
                .iter()
                .find(|r| &r.name == name)
                .unwrap_or_else(|| {
                    panic!("docs/control-plane-endpoint.md has no table row for {name}")
                });
            assert!(
                row.flavours.contains(f.doc_letter),
                "docs/control-plane-endpoint.md: {name} is used by {} but its row says flavours {:?}",
                f.file,
                row.flavours
            );
            if FROM_FLAGS.contains(&name.as_str()) {
                assert_eq!(header[name], None, "{}: {name}", f.file);
                continue;
            }
            assert_eq!(
                &header[name], default,
                "{}: the header's default of {name} is not the template's",
                f.file
            );
            let documented_default = match default {
                None => "required".to_string(),
                Some(d) => format!("`{}`", if d.is_empty() { "\"\"" } else { d }),
            };
            assert_eq!(
                row.default, documented_default,
                "docs/control-plane-endpoint.md: default of {name} in {}",
                f.file
            );
        }
        used_anywhere.extend(listed.into_keys());
    }
    for row in &documented {
        assert!(
            used_anywhere.contains(&row.name),
            "docs/control-plane-endpoint.md documents {}, which no template uses",
            row.name
        );
        for f in FLAVOURS {
            if row.flavours.contains(f.doc_letter) {
                let header = header_variables(&std::fs::read_to_string(template_path(f)).unwrap());
                assert!(
                    header.contains_key(&row.name),
                    "docs/control-plane-endpoint.md says {} uses {}; it does not",
                    f.file,
                    row.name
                );
            }
        }
    }
}

#[test]
fn a_required_variable_left_unset_is_named_in_the_error() {
    for f in FLAVOURS {
        for missing in ["SCVMM_SERVER", f.vars[0].0] {
            let vars: Vec<(&str, &str)> = all_vars(f)
                .into_iter()
                .filter(|(k, _)| *k != missing)
                .collect();
            let out = generate(f, &vars);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "{}: rendered without {missing}",
                f.file
            );
            assert!(
                stderr.contains(missing) && stderr.contains("is not set"),
                "{}: the error does not name {missing}:\n{stderr}",
                f.file
            );
        }
    }
}

/// A throwaway file system for one run of /etc/kube-vip-prepare.sh: the
/// kubeadm configuration the bootstrap provider would have written, the
/// kube-vip manifest from the template, and a fake `kubeadm` that reports a
/// version.
struct PrepareRun {
    dir: tempfile::TempDir,
}

impl PrepareRun {
    fn new(manifest: &str, kubeadm_files: &[(&str, &str)], kubeadm_version: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in ["run/kubeadm", "manifests", "bin"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("manifests/kube-vip.yaml"), manifest).unwrap();
        for (name, content) in kubeadm_files {
            std::fs::write(root.join("run/kubeadm").join(name), content).unwrap();
        }
        let kubeadm = root.join("bin/kubeadm");
        std::fs::write(&kubeadm, format!("#!/bin/sh\necho {kubeadm_version}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&kubeadm, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    /// Runs the script with its absolute paths moved into the sandbox.
    fn run(&self, script: &str, step: &str) -> Output {
        let root = self.dir.path().display().to_string();
        assert!(script.contains("/run/kubeadm/") && script.contains("/etc/kubernetes/manifests/"));
        let script = script
            .replace("/run/kubeadm/", &format!("{root}/run/kubeadm/"))
            .replace("/etc/kubernetes/manifests/", &format!("{root}/manifests/"));
        let path = self.dir.path().join("kube-vip-prepare.sh");
        std::fs::write(&path, script).unwrap();
        let search_path = format!("{root}/bin:{}", std::env::var("PATH").unwrap_or_default());
        Command::new("sh")
            .arg(&path)
            .arg(step)
            .env("PATH", search_path)
            .output()
            .unwrap()
    }

    fn manifest(&self) -> Value {
        let text =
            std::fs::read_to_string(self.dir.path().join("manifests/kube-vip.yaml")).unwrap();
        documents(&text).remove(0)
    }
}

/// Host path and mount path of kube-vip's kubeconfig volume.
fn kubeconfig_paths(pod: &Value) -> (String, String) {
    let host = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "kubeconfig")
        .unwrap()["hostPath"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    let mount = pod["spec"]["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "kubeconfig")
        .unwrap()["mountPath"]
        .as_str()
        .unwrap()
        .to_string();
    (host, mount)
}

/// What the kubeadm bootstrap provider writes on the first control-plane
/// machine (the parts that matter here).
fn init_config(endpoint: &str) -> String {
    format!(
        "---\napiServer: {{}}\napiVersion: kubeadm.k8s.io/v1beta4\nclusterName: demo\n\
         controlPlaneEndpoint: {endpoint}\nkind: ClusterConfiguration\n\
         kubernetesVersion: v1.33.0\nnetworking:\n  podSubnet: 192.168.0.0/16\n\
         ---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n\
         localAPIEndpoint: {{}}\nnodeRegistration:\n  kubeletExtraArgs:\n\
         \x20 - name: provider-id\n    value: scvmm://0b7c6f0e-8d3a-4c55-9c1e-2f4a8f1d9e21\n"
    )
}

/// ... and on every machine that joins as a control-plane machine.
fn join_config(endpoint: &str) -> String {
    format!(
        "apiVersion: kubeadm.k8s.io/v1beta4\ncontrolPlane:\n  localAPIEndpoint: {{}}\n\
         discovery:\n  bootstrapToken:\n    apiServerEndpoint: {endpoint}\n\
         \x20   caCertHashes:\n    - sha256:4f1c0bd1a3a5e3f4e4b1f6e1b7a2c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f\n\
         \x20   token: abcdef.0123456789abcdef\nkind: JoinConfiguration\n"
    )
}

#[test]
fn kube_vip_starts_on_super_admin_conf_only_for_kubeadm_init_and_finds_a_claimed_vip() {
    // The ClusterClass carries the default flavour's script (checked by
    // the_topology_flavour_renders_its_cluster_class_with_the_default_flavours_settings).
    for f in FLAVOURS.iter().filter(|f| f.kube_vip && !f.topology) {
        let docs = documents(&render(f));
        let script = kcp_file(&docs, "/etc/kube-vip-prepare.sh").expect("prepare script");
        let manifest = kcp_file(&docs, "/etc/kubernetes/manifests/kube-vip.yaml").unwrap();
        let ipam = f.name == "ipam";
        let admin = "/etc/kubernetes/admin.conf".to_string();
        let super_admin = "/etc/kubernetes/super-admin.conf".to_string();
        let ok = |out: &Output, what: &str| {
            assert!(
                out.status.success(),
                "{}: {what}: {}",
                f.file,
                String::from_utf8_lossy(&out.stderr)
            )
        };

        // kubeadm init with kubeadm >= 1.29: super-admin.conf until init is
        // done, then admin.conf again; the mount point never changes.
        let m = PrepareRun::new(
            &manifest,
            &[("kubeadm.yaml", &init_config("10.20.0.105:6443"))],
            "v1.33.0",
        );
        ok(&m.run(&script, "before-kubeadm"), "init, before");
        assert_eq!(
            kubeconfig_paths(&m.manifest()),
            (super_admin.clone(), admin.clone()),
            "{}",
            f.file
        );
        if ipam {
            assert_eq!(env_value(&m.manifest(), "address"), "10.20.0.105");
        } else {
            assert_eq!(env_value(&m.manifest(), "address"), "10.20.0.100");
        }
        ok(&m.run(&script, "after-kubeadm"), "init, after");
        assert_eq!(
            kubeconfig_paths(&m.manifest()),
            (admin.clone(), admin.clone())
        );

        // kubeadm join: admin.conf throughout.
        let m = PrepareRun::new(
            &manifest,
            &[("kubeadm-join-config.yaml", &join_config("10.20.0.105:6443"))],
            "v1.33.0",
        );
        ok(&m.run(&script, "before-kubeadm"), "join, before");
        assert_eq!(
            kubeconfig_paths(&m.manifest()),
            (admin.clone(), admin.clone())
        );
        if ipam {
            assert_eq!(env_value(&m.manifest(), "address"), "10.20.0.105");
        }
        ok(&m.run(&script, "after-kubeadm"), "join, after");
        assert_eq!(
            kubeconfig_paths(&m.manifest()),
            (admin.clone(), admin.clone())
        );

        // kubeadm init before 1.29 has no super-admin.conf.
        let m = PrepareRun::new(
            &manifest,
            &[("kubeadm.yaml", &init_config("10.20.0.105:6443"))],
            "v1.28.15",
        );
        ok(&m.run(&script, "before-kubeadm"), "init 1.28, before");
        assert_eq!(
            kubeconfig_paths(&m.manifest()),
            (admin.clone(), admin.clone())
        );

        let out = m.run(&script, "sideways");
        assert!(!out.status.success(), "an unknown step is an error");

        if ipam {
            // An IPv6 VIP, quoted the way a YAML encoder quotes "[...]".
            let m = PrepareRun::new(
                &manifest,
                &[("kubeadm.yaml", &init_config("'[fd00:20::105]:6443'"))],
                "v1.33.0",
            );
            ok(&m.run(&script, "before-kubeadm"), "IPv6 init, before");
            assert_eq!(env_value(&m.manifest(), "address"), "fd00:20::105");

            // No kubeadm configuration at all: fail loudly, leave the manifest.
            let m = PrepareRun::new(&manifest, &[], "v1.33.0");
            let out = m.run(&script, "before-kubeadm");
            assert!(!out.status.success());
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("no control-plane endpoint"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(env_value(&m.manifest(), "address"), "@control-plane-vip@");
        }
    }
}

/// Server-side applies one rendered object with strict field validation,
/// with `dryRun=All` when `dry_run` (schema, CEL and admission webhooks
/// run, nothing is stored).
async fn server_side_apply(client: &Client, doc: &Value, dry_run: bool) -> Result<Value, String> {
    let obj: DynamicObject = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let types = obj.types.clone().ok_or("no apiVersion/kind")?;
    let name = obj.metadata.name.clone().ok_or("no metadata.name")?;
    let gvk = GroupVersionKind::try_from(&types).map_err(|e| e.to_string())?;
    let (resource, caps) = pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("discovering {}: {e}", types.kind))?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => {
            let ns = obj.metadata.namespace.as_deref().ok_or("no namespace")?;
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    let mut pp = PatchParams::apply("scvmm-templates-test").validation_strict();
    if dry_run {
        pp = pp.dry_run();
    }
    let applied = api
        .patch(&name, &pp, &Patch::Apply(doc))
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_value(applied).map_err(|e| e.to_string())
}

async fn dry_run_apply(client: &Client, doc: &Value) -> Result<Value, String> {
    server_side_apply(client, doc, true).await
}

/// The objects of `kind` in the test namespace.
async fn list(client: &Client, group: &str, version: &str, kind: &str) -> Vec<Value> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, _) = pinned_kind(client, &gvk).await.unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    api.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect()
}

/// The object of `kind` named `name` in the test namespace.
async fn get(client: &Client, group: &str, version: &str, kind: &str, name: &str) -> Value {
    list(client, group, version, kind)
        .await
        .into_iter()
        .find(|o| o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn condition_true(object: &Value, type_: &str) -> bool {
    object["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == type_ && c["status"] == "True")
    })
}

/// A kubeadmConfigSpec's files by path, YAML contents (the kube-vip
/// manifest) parsed: the topology flavour writes its manifest with a Go
/// template, the default flavour with clusterctl variables, and the two
/// quote values differently.
fn files_by_path(spec: &Value) -> BTreeMap<String, Value> {
    spec["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let path = f["path"].as_str().unwrap().to_string();
            if path.ends_with(".yaml") {
                f["content"] = Value::Array(documents(f["content"].as_str().unwrap()));
            }
            (path, f)
        })
        .collect()
}

#[tokio::test]
async fn every_rendered_object_is_accepted_by_the_api_server_and_webhooks() {
    // Render first: a template problem should not wait for the control plane.
    let rendered: Vec<(&Flavour, Vec<Value>)> = FLAVOURS
        .iter()
        .map(|f| (f, documents(&render(f))))
        .collect();

    let tb = TestCluster::builder()
        .with_crds(operator::api::crds())
        .with_kcp()
        .with_ipam_in_cluster()
        .start()
        .await
        .expect("test bed with CAPI, KCP and in-cluster IPAM starts");
    let client = tb.client().await.unwrap();
    // As shipped: Cluster API's topology controller must get its dry runs
    // of our templates through it.
    e2e::harness::install_admission_policies(&client)
        .await
        .unwrap();
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some(NAMESPACE.into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let mut failures = Vec::new();
    let mut accepted = 0;
    for (f, docs) in &rendered {
        for doc in docs {
            let what = format!("{}: {} {}", f.file, doc["kind"], doc["metadata"]["name"]);
            match dry_run_apply(&client, doc).await {
                Ok(applied) => {
                    assert_eq!(applied["kind"], doc["kind"], "{what}");
                    accepted += 1;
                }
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the API server refused rendered objects:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        accepted,
        rendered.iter().map(|(_, d)| d.len()).sum::<usize>()
    );

    // Dry run stored nothing.
    let gvk = GroupVersionKind::gvk("cluster.x-k8s.io", "v1beta2", "Cluster");
    let (resource, _) = pinned_kind(&client, &gvk).await.unwrap();
    let clusters: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    assert!(clusters.get_opt("demo").await.unwrap().is_none());

    let of = |name: &str| {
        rendered
            .iter()
            .find(|(f, _)| f.name == name)
            .map(|(_, d)| d.as_slice())
            .unwrap()
    };
    a_topology_cluster_is_made_from_the_class(&tb, &client, of("topology"), of("default")).await;
}

/// Polls `check` every 500 ms for up to `limit`; panics with the last state
/// and Cluster API's log otherwise.
async fn wait_until<T>(
    tb: &TestCluster,
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(state) => state,
        };
        if Instant::now() > deadline {
            panic!(
                "{what}: not within {} s; last seen: {last}\n--- capi-manager\n{}",
                limit.as_secs(),
                tb.log_tail("capi-manager", 40)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The topology flavour applied for real: Cluster API reconciles the
/// ClusterClass, checks Clusters' variables against it, and its topology
/// controller (through our admission policy) stamps out the same cluster as
/// the default flavour renders from the same values. No manager runs, so
/// nothing is provisioned.
async fn a_topology_cluster_is_made_from_the_class(
    tb: &TestCluster,
    client: &Client,
    topology: &[Value],
    default: &[Value],
) {
    const CAPI: (&str, &str) = ("cluster.x-k8s.io", "v1beta2");
    const INFRA: (&str, &str) = ("infrastructure.cluster.x-k8s.io", "v1alpha1");
    const KCP: (&str, &str) = ("controlplane.cluster.x-k8s.io", "v1beta2");
    const BOOTSTRAP: (&str, &str) = ("bootstrap.cluster.x-k8s.io", "v1beta2");

    // The class first, and only once Cluster API has reconciled it (its
    // templates found, its variables' schemas accepted) does the Cluster
    // webhook check a Cluster's variables against it.
    for doc in topology.iter().filter(|d| d["kind"] != "Cluster") {
        server_side_apply(client, doc, false).await.unwrap();
    }
    wait_until(
        tb,
        "the ClusterClass reconciled",
        Duration::from_secs(90),
        async || {
            let class = get(client, CAPI.0, CAPI.1, "ClusterClass", CLASS_NAME).await;
            let current = class["status"]["observedGeneration"] == class["metadata"]["generation"];
            if current && condition_true(&class, "VariablesReady") {
                Ok(())
            } else {
                Err(class["status"].to_string())
            }
        },
    )
    .await;

    // Variables that break the class's rules are refused up front.
    let cluster = find(topology, "Cluster", "demo").clone();
    let with = |name: &str, value: Option<Value>| {
        let mut c = cluster.clone();
        let vars = c["spec"]["topology"]["variables"].as_array_mut().unwrap();
        vars.retain(|v| v["name"] != name);
        if let Some(value) = value {
            vars.push(serde_json::json!({"name": name, "value": value}));
        }
        c
    };
    let mut http_basic = topology_variables(&cluster)["scvmmServer"].clone();
    http_basic["scheme"] = "HTTP".into();
    http_basic["auth"] = "Basic".into();
    for (bad, expected) in [
        (
            with(
                "placement",
                Some(serde_json::json!({"hostGroup": "All Hosts", "cloud": "Prod"})),
            ),
            "exactly one of placement.hostGroup and placement.cloud",
        ),
        (
            with("scvmmServer", Some(http_basic)),
            "would send the SCVMM password in clear text",
        ),
        (
            with("vmTemplate", None),
            "required variable \"vmTemplate\" must be set",
        ),
    ] {
        let refused = dry_run_apply(client, &bad).await.unwrap_err();
        assert!(refused.contains(expected), "{expected}: {refused}");
    }

    // The Cluster; Cluster API makes the rest.
    server_side_apply(client, &cluster, false).await.unwrap();
    wait_until(
        tb,
        "the topology reconciled",
        Duration::from_secs(120),
        async || {
            let c = get(client, CAPI.0, CAPI.1, "Cluster", "demo").await;
            let made = [
                list(client, INFRA.0, INFRA.1, "ScvmmCluster").await.len(),
                list(client, KCP.0, KCP.1, "KubeadmControlPlane")
                    .await
                    .len(),
                list(client, CAPI.0, CAPI.1, "MachineDeployment")
                    .await
                    .len(),
            ];
            if condition_true(&c, "TopologyReconciled") && made == [1, 1, 1] {
                Ok(())
            } else {
                Err(format!("ScvmmCluster, KCP, MD: {made:?}; {}", c["status"]))
            }
        },
    )
    .await;

    // The ScvmmCluster: made by Cluster API from the ScvmmClusterTemplate,
    // controlled by the Cluster, and the default flavour's.
    // (The topology controller first hangs it on a shim Secret; the
    // Cluster controller then adds the Cluster as its controller.)
    let sc = wait_until(
        tb,
        "the ScvmmCluster owned by the Cluster",
        Duration::from_secs(60),
        async || {
            let sc = list(client, INFRA.0, INFRA.1, "ScvmmCluster")
                .await
                .remove(0);
            let owners = sc["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let controlled = owners
                .iter()
                .any(|o| o["kind"] == "Cluster" && o["name"] == "demo" && o["controller"] == true);
            let labelled = sc["metadata"]["labels"]["cluster.x-k8s.io/cluster-name"] == "demo";
            if controlled && labelled {
                Ok(sc)
            } else {
                Err(sc["metadata"].to_string())
            }
        },
    )
    .await;
    assert_eq!(sc["spec"], find(default, "ScvmmCluster", "demo")["spec"]);

    // The control plane: counts, version, machine template and kubeadm
    // settings (kube-vip manifest included) as in the default flavour.
    let kcp = list(client, KCP.0, KCP.1, "KubeadmControlPlane")
        .await
        .remove(0);
    let default_kcp = find(default, "KubeadmControlPlane", "demo-control-plane");
    assert_eq!(kcp["spec"]["replicas"], 3);
    assert_eq!(kcp["spec"]["version"], KUBERNETES_VERSION);
    let (spec, default_spec) = (
        &kcp["spec"]["kubeadmConfigSpec"],
        &default_kcp["spec"]["kubeadmConfigSpec"],
    );
    assert_eq!(files_by_path(spec), files_by_path(default_spec));
    let order = |spec: &Value| -> Vec<Value> {
        spec["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].clone())
            .collect()
    };
    assert_eq!(order(spec), order(default_spec), "files in the same order");
    for field in [
        "initConfiguration",
        "joinConfiguration",
        "users",
        "preKubeadmCommands",
        "postKubeadmCommands",
    ] {
        assert_eq!(
            spec[field], default_spec[field],
            "kubeadmConfigSpec.{field}"
        );
    }
    let cp_template = kcp["spec"]["machineTemplate"]["spec"]["infrastructureRef"]["name"]
        .as_str()
        .unwrap();
    let cp_template = get(
        client,
        INFRA.0,
        INFRA.1,
        "ScvmmMachineTemplate",
        cp_template,
    )
    .await;
    assert_eq!(
        cp_template["spec"]["template"]["spec"],
        find(default, "ScvmmMachineTemplate", "demo-control-plane")["spec"]["template"]["spec"]
    );

    // The workers: a MachineDeployment with the worker template and the
    // kubeadm join settings of the default flavour.
    let md = list(client, CAPI.0, CAPI.1, "MachineDeployment")
        .await
        .remove(0);
    assert_eq!(md["spec"]["replicas"], 2);
    let md_spec = &md["spec"]["template"]["spec"];
    let worker = md_spec["infrastructureRef"]["name"].as_str().unwrap();
    let worker = get(client, INFRA.0, INFRA.1, "ScvmmMachineTemplate", worker).await;
    assert_eq!(
        worker["spec"]["template"]["spec"],
        find(default, "ScvmmMachineTemplate", "demo-worker")["spec"]["template"]["spec"]
    );
    let bootstrap = md_spec["bootstrap"]["configRef"]["name"].as_str().unwrap();
    let bootstrap = get(
        client,
        BOOTSTRAP.0,
        BOOTSTRAP.1,
        "KubeadmConfigTemplate",
        bootstrap,
    )
    .await;
    assert_eq!(
        bootstrap["spec"]["template"]["spec"],
        find(default, "KubeadmConfigTemplate", "demo-md-0")["spec"]["template"]["spec"]
    );

    // A changed variable rotates the worker template (templates are
    // immutable): the topology controller's dry run of the changed template
    // gets through our admission policy, which refuses the same change as
    // a real update, and the MachineDeployment moves to a new template.
    let old_name = worker["metadata"]["name"].as_str().unwrap().to_string();
    let bigger = with(
        "workerMachine",
        Some(serde_json::json!({"cpuCount": 4, "memory": "4Gi", "diskSize": "40Gi"})),
    );
    server_side_apply(client, &bigger, false).await.unwrap();
    let rotated = wait_until(
        tb,
        "the worker template rotated",
        Duration::from_secs(90),
        async || {
            let md = list(client, CAPI.0, CAPI.1, "MachineDeployment")
                .await
                .remove(0);
            let name = md["spec"]["template"]["spec"]["infrastructureRef"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if name == old_name {
                return Err(format!("still on {name}"));
            }
            Ok(get(client, INFRA.0, INFRA.1, "ScvmmMachineTemplate", &name).await)
        },
    )
    .await;
    assert_eq!(rotated["spec"]["template"]["spec"]["cpuCount"], 4);
    // (The template in use, not the old one, which Cluster API may already
    // have deleted.)
    let gvk = GroupVersionKind::gvk(INFRA.0, INFRA.1, "ScvmmMachineTemplate");
    let (resource, _) = pinned_kind(client, &gvk).await.unwrap();
    let templates: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    let refused = templates
        .patch(
            rotated["metadata"]["name"].as_str().unwrap(),
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"template": {"spec": {"cpuCount": 8}}}})),
        )
        .await
        .map_err(|e| e.to_string());
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("spec.template cannot be changed")),
        "{refused:?}"
    );
}
