//! The Cluster API core manager and the kubeadm bootstrap manager (and, on
//! request, the kubeadm control-plane manager and the in-cluster IPAM
//! provider) on the local control plane: their CRDs (with conversion pointed
//! at the local webhook server), the processes, and their admission webhooks
//! rewritten from in-cluster Services to loopback URLs, as envtest does.

use super::pki::Ca;
use super::{Error, TestCluster, free_port, http_ok, install_crds, kube_err, read_crds};
use base64::Engine as _;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which command line a manager takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flags {
    /// The managers of `sigs.k8s.io/cluster-api` (core, bootstrap, KCP).
    ClusterApi,
    /// The in-cluster IPAM provider: kubebuilder-style probe flag, no
    /// feature gates, no klog verbosity flag.
    IpamInCluster,
}

struct Manager {
    name: &'static str,
    binary: PathBuf,
    crds: PathBuf,
    webhooks: PathBuf,
    webhook_port: u16,
    health_port: u16,
    flags: Flags,
}

impl Manager {
    fn new(
        name: &'static str,
        binary: &Path,
        crds: &Path,
        webhooks: &Path,
        flags: Flags,
    ) -> Result<Self, Error> {
        Ok(Self {
            name,
            binary: binary.to_path_buf(),
            crds: crds.to_path_buf(),
            webhooks: webhooks.to_path_buf(),
            webhook_port: free_port()?,
            health_port: free_port()?,
            flags,
        })
    }

    fn args(&self, cert_dir: &Path) -> Result<Vec<String>, Error> {
        let diagnostics = free_port()?;
        let mut args = vec![
            "--leader-elect=false".into(),
            format!("--webhook-port={}", self.webhook_port),
            format!("--webhook-cert-dir={}", cert_dir.display()),
            format!("--diagnostics-address=127.0.0.1:{diagnostics}"),
            "--insecure-diagnostics=true".into(),
        ];
        match self.flags {
            Flags::ClusterApi => args.extend([
                format!("--health-addr=127.0.0.1:{}", self.health_port),
                // Runtime extensions are not part of the test bed.
                "--feature-gates=MachinePool=true,ClusterTopology=true".into(),
                "--v=2".into(),
            ]),
            Flags::IpamInCluster => args.push(format!(
                "--health-probe-bind-address=127.0.0.1:{}",
                self.health_port
            )),
        }
        Ok(args)
    }
}

/// The optional managers that run beside the CAPI core and kubeadm
/// bootstrap managers.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Addons {
    pub kcp: bool,
    pub ipam_in_cluster: bool,
}

pub(super) async fn start(
    cluster: &mut TestCluster,
    client: &Client,
    ca: &Ca,
    addons: Addons,
) -> Result<(), Error> {
    let b = cluster.binaries().clone();
    let cert_dir = cluster.dir().join("webhook-certs");
    std::fs::create_dir_all(&cert_dir).map_err(|source| Error::Io {
        path: cert_dir.clone(),
        source,
    })?;
    let serving = ca.server("capi-webhooks", &[])?;
    for (file, contents) in [
        ("tls.crt", &serving.cert_pem),
        ("tls.key", &serving.key_pem),
    ] {
        let path = cert_dir.join(file);
        std::fs::write(&path, contents).map_err(|source| Error::Io { path, source })?;
    }
    let ca_bundle = base64::engine::general_purpose::STANDARD.encode(ca.cert_pem.as_bytes());

    let mut managers = vec![
        Manager::new(
            "capi-manager",
            &b.capi_manager,
            &b.capi_core_crds,
            &b.capi_core_webhooks,
            Flags::ClusterApi,
        )?,
        Manager::new(
            "kubeadm-bootstrap-manager",
            &b.kubeadm_bootstrap_manager,
            &b.capi_kubeadm_crds,
            &b.capi_kubeadm_webhooks,
            Flags::ClusterApi,
        )?,
    ];
    if addons.kcp {
        managers.push(Manager::new(
            "kubeadm-control-plane-manager",
            &b.kcp_manager,
            &b.kcp_crds,
            &b.kcp_webhooks,
            Flags::ClusterApi,
        )?);
    }
    if addons.ipam_in_cluster {
        managers.push(Manager::new(
            "ipam-in-cluster-manager",
            &b.ipam_in_cluster_manager,
            &b.ipam_in_cluster_crds,
            &b.ipam_in_cluster_webhooks,
            Flags::IpamInCluster,
        )?);
    }

    for m in &managers {
        let mut crds = read_crds(&m.crds)?;
        for crd in &mut crds {
            // The contract labels kustomize adds in a release (clusterctl
            // installs them so): Cluster API finds the version of a
            // referenced kind (a KubeadmControlPlane, a KubeadmConfigTemplate)
            // by them, and refuses to convert references without them.
            if m.flags == Flags::ClusterApi {
                let labels = crd.metadata.labels.get_or_insert_with(Default::default);
                for v in ["v1beta1", "v1beta2"] {
                    labels.insert(format!("cluster.x-k8s.io/{v}"), v.to_string());
                }
            }
            if crd.spec.versions.len() > 1 {
                crd.spec.conversion = Some(
                    serde_json::from_value(json!({
                        "strategy": "Webhook",
                        "webhook": {
                            "clientConfig": {
                                "url": format!("https://127.0.0.1:{}/convert", m.webhook_port),
                                "caBundle": ca_bundle,
                            },
                            "conversionReviewVersions": ["v1", "v1beta1"],
                        }
                    }))
                    .map_err(|e| Error::Manifest {
                        path: m.crds.clone(),
                        detail: e.to_string(),
                    })?,
                );
            }
        }
        install_crds(client, &crds).await?;
    }

    let kubeconfig = cluster.kubeconfig_path().display().to_string();
    for m in &managers {
        let args = m.args(&cert_dir)?;
        cluster.supervisor_mut().spawn(
            m.name,
            &m.binary,
            &args,
            &[("KUBECONFIG", kubeconfig.clone())],
        )?;
    }

    let limit = Duration::from_secs(120);
    for m in &managers {
        let deadline = Instant::now() + limit;
        // Not every manager's /readyz covers its webhook server (the IPAM
        // provider's is a plain ping), so the webhook port must accept too:
        // admission webhooks fail closed.
        while !(http_ok(m.health_port, "/readyz").await && port_open(m.webhook_port).await) {
            cluster.check_alive()?;
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: m.name.into(),
                    seconds: limit.as_secs(),
                    detail: format!(
                        "/readyz never answered 200 or the webhook port {} never opened; log:\n{}",
                        m.webhook_port,
                        cluster.log_tail(m.name, 40)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        install_webhooks(client, m, &ca_bundle).await?;
    }
    Ok(())
}

async fn port_open(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

/// Applies a manager's admission webhook configurations with every
/// `clientConfig.service` replaced by a loopback URL.
async fn install_webhooks(client: &Client, m: &Manager, ca_bundle: &str) -> Result<(), Error> {
    let docs = read_manifests(&m.webhooks)?;
    for mut doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        if kind != "MutatingWebhookConfiguration" && kind != "ValidatingWebhookConfiguration" {
            continue;
        }
        let name = format!(
            "{}-{}",
            m.name,
            doc["metadata"]["name"].as_str().unwrap_or(&kind)
        );
        doc["metadata"] = json!({ "name": name });
        if let Some(hooks) = doc["webhooks"].as_array_mut() {
            for hook in hooks {
                let path = hook["clientConfig"]["service"]["path"]
                    .as_str()
                    .unwrap_or("/")
                    .to_string();
                hook["clientConfig"] = json!({
                    "url": format!("https://127.0.0.1:{}{path}", m.webhook_port),
                    "caBundle": ca_bundle,
                });
            }
        }
        let gvk = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", &kind);
        let ar = ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        api.patch(
            &name,
            &PatchParams::apply("scvmm-testbed").force(),
            &Patch::Apply(&doc),
        )
        .await
        .map_err(kube_err(format!("installing {kind} {name}")))?;
    }
    Ok(())
}

fn read_manifests(path: &Path) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).map_err(|e| Error::Manifest {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}
