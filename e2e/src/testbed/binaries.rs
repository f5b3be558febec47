//! Where the control-plane binaries live, and building them when they are not
//! there yet. The build itself is `e2e/testbed/build.sh` (Go module proxy →
//! per-user cache keyed by version); this module only finds its output.

use super::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned versions, read at compile time from `e2e/testbed/versions.env`
/// so the Rust side and the build script can never disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub kubernetes: String,
    pub etcd: String,
    /// Cluster API: core, kubeadm bootstrap and kubeadm control-plane managers.
    pub capi: String,
    /// `sigs.k8s.io/cluster-api-ipam-provider-in-cluster`.
    pub ipam_in_cluster: String,
}

const VERSIONS_ENV: &str = include_str!("../../testbed/versions.env");

impl Versions {
    /// The versions this build of the test bed uses.
    pub fn pinned() -> Self {
        let get = |key: &str| {
            VERSIONS_ENV
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        Self {
            kubernetes: get("KUBERNETES_VERSION"),
            etcd: get("ETCD_VERSION"),
            capi: get("CAPI_VERSION"),
            ipam_in_cluster: get("IPAM_IN_CLUSTER_VERSION"),
        }
    }
}

/// Paths of every binary and manifest the test bed runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub versions: Versions,
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kube_controller_manager: PathBuf,
    pub capi_manager: PathBuf,
    pub kubeadm_bootstrap_manager: PathBuf,
    pub clusterctl: PathBuf,
    /// CAPI core CRDs (`*.yaml`).
    pub capi_core_crds: PathBuf,
    /// Kubeadm bootstrap CRDs (`*.yaml`).
    pub capi_kubeadm_crds: PathBuf,
    /// CAPI core admission webhooks (`manifests.yaml`), if the build shipped them.
    pub capi_core_webhooks: PathBuf,
    /// Kubeadm bootstrap admission webhooks (`manifests.yaml`).
    pub capi_kubeadm_webhooks: PathBuf,
    /// Kubeadm control-plane manager (KCP), component [`Component::Kcp`].
    pub kcp_manager: PathBuf,
    /// KCP CRDs (`*.yaml`).
    pub kcp_crds: PathBuf,
    /// KCP admission webhooks (`manifests.yaml`).
    pub kcp_webhooks: PathBuf,
    /// In-cluster IPAM provider manager, component [`Component::IpamInCluster`].
    pub ipam_in_cluster_manager: PathBuf,
    /// In-cluster IPAM CRDs (`*.yaml`: InClusterIPPool, GlobalInClusterIPPool
    /// and the prefix pools).
    pub ipam_in_cluster_crds: PathBuf,
    /// In-cluster IPAM admission webhooks (`manifests.yaml`).
    pub ipam_in_cluster_webhooks: PathBuf,
}

/// A separately built and cached part of the test bed: one argument of
/// `build.sh`, one or more `<cache>/<name>-<version>/` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    /// etcd, kube-apiserver, kube-controller-manager, the CAPI core and
    /// kubeadm bootstrap managers, clusterctl.
    Core,
    /// The CAPI kubeadm control-plane manager (`<cache>/capi-kcp-<CAPI_VERSION>`).
    Kcp,
    /// The in-cluster IPAM provider (`<cache>/ipam-in-cluster-<version>`).
    IpamInCluster,
}

impl Component {
    /// Every component, in build order.
    pub const ALL: [Component; 3] = [Component::Core, Component::Kcp, Component::IpamInCluster];

    /// The component's name on `build.sh`'s command line.
    pub fn build_arg(self) -> &'static str {
        match self {
            Component::Core => "core",
            Component::Kcp => "kcp",
            Component::IpamInCluster => "ipam-in-cluster",
        }
    }
}

fn build_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testbed/build.sh")
}

/// The cache root: `$SCVMM_TESTBED_CACHE`, else `$XDG_CACHE_HOME` or
/// `~/.cache`, plus `scvmm-capi-testbed`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SCVMM_TESTBED_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("scvmm-capi-testbed")
}

impl Binaries {
    /// Locates the binaries for the pinned versions without building.
    pub fn locate() -> Self {
        let v = Versions::pinned();
        let root = cache_dir();
        let k8s = root.join(format!("kubernetes-{}", v.kubernetes));
        let etcd = root.join(format!("etcd-{}", v.etcd));
        let capi = root.join(format!("capi-{}", v.capi));
        let kcp = root.join(format!("capi-kcp-{}", v.capi));
        let ipam = root.join(format!("ipam-in-cluster-{}", v.ipam_in_cluster));
        Self {
            etcd: etcd.join("bin/etcd"),
            kube_apiserver: k8s.join("bin/kube-apiserver"),
            kube_controller_manager: k8s.join("bin/kube-controller-manager"),
            capi_manager: capi.join("bin/capi-manager"),
            kubeadm_bootstrap_manager: capi.join("bin/kubeadm-bootstrap-manager"),
            clusterctl: capi.join("bin/clusterctl"),
            capi_core_crds: capi.join("crds/core"),
            capi_kubeadm_crds: capi.join("crds/bootstrap-kubeadm"),
            capi_core_webhooks: capi.join("webhooks/core/manifests.yaml"),
            capi_kubeadm_webhooks: capi.join("webhooks/bootstrap-kubeadm/manifests.yaml"),
            kcp_manager: kcp.join("bin/kubeadm-control-plane-manager"),
            kcp_crds: kcp.join("crds"),
            kcp_webhooks: kcp.join("webhooks/manifests.yaml"),
            ipam_in_cluster_manager: ipam.join("bin/ipam-in-cluster-manager"),
            ipam_in_cluster_crds: ipam.join("crds"),
            ipam_in_cluster_webhooks: ipam.join("webhooks/manifests.yaml"),
            versions: v,
        }
    }

    /// Whether every file of `component` is in the cache.
    pub fn present(&self, component: Component) -> bool {
        let files: &[&PathBuf] = match component {
            Component::Core => &[
                &self.etcd,
                &self.kube_apiserver,
                &self.kube_controller_manager,
                &self.capi_manager,
                &self.kubeadm_bootstrap_manager,
                &self.clusterctl,
                &self.capi_core_webhooks,
                &self.capi_kubeadm_webhooks,
            ],
            Component::Kcp => &[&self.kcp_manager, &self.kcp_webhooks],
            Component::IpamInCluster => &[
                &self.ipam_in_cluster_manager,
                &self.ipam_in_cluster_webhooks,
            ],
        };
        files.iter().all(|p| p.is_file())
    }

    /// Locates every component, building the missing ones first (once per
    /// machine and version; 15-40 minutes on 2 cores for the core).
    pub fn ensure() -> Result<Self, Error> {
        Self::ensure_components(&Component::ALL)
    }

    /// Locates the binaries, building the missing ones among `components`
    /// first; other components are neither built nor checked.
    pub fn ensure_components(components: &[Component]) -> Result<Self, Error> {
        let found = Self::locate();
        let missing: Vec<Component> = components
            .iter()
            .copied()
            .filter(|c| !found.present(*c))
            .collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let script = build_script();
        let args: Vec<&str> = missing.iter().map(|c| c.build_arg()).collect();
        eprintln!(
            "test bed: {} missing in {}; building with {} (first run only)",
            args.join(", "),
            cache_dir().display(),
            script.display()
        );
        let status = Command::new("bash")
            .arg(&script)
            .args(&args)
            .status()
            .map_err(|source| Error::Build {
                detail: format!("could not run {}: {source}", script.display()),
            })?;
        if !status.success() {
            return Err(Error::Build {
                detail: format!(
                    "{} {} exited with {status}; run `just testbed` to see the whole build log",
                    script.display(),
                    args.join(" ")
                ),
            });
        }
        let built = Self::locate();
        if missing.iter().all(|c| built.present(*c)) {
            Ok(built)
        } else {
            Err(Error::Build {
                detail: format!(
                    "{} finished but binaries are missing under {}; remove that directory and run `just testbed`",
                    script.display(),
                    cache_dir().display()
                ),
            })
        }
    }
}
