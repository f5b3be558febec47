//! Command-line flags of the `scvmm-sim` binary. Every flag can also be set
//! with an environment variable (`SCVMM_SIM_*`), which is how the container
//! image is configured.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An SCVMM emulator that speaks WinRM and runs VMM PowerShell.
#[derive(Debug, Clone, Parser)]
#[command(name = "scvmm-sim", version, about)]
pub struct Args {
    /// Address to listen on for WinRM (`/wsman`), the inspection API
    /// (`/sim/v1/`), the web page (`/sim/`) and metrics (`/metrics`).
    #[arg(long, env = "SCVMM_SIM_LISTEN", default_value = "127.0.0.1:5985")]
    pub listen: SocketAddr,

    /// Inventory file (YAML): host groups, hosts, clouds, templates,
    /// networks, IP pools, library shares. Default: the built-in lab.
    #[arg(long, env = "SCVMM_SIM_INVENTORY")]
    pub inventory: Option<PathBuf>,

    /// An account as NAME:PASSWORD (repeatable; NAME may be DOMAIN\user).
    /// Default: one account, `CORP\capi-svc` with password `scvmm-sim`.
    #[arg(long = "user", env = "SCVMM_SIM_USERS", value_delimiter = ',')]
    pub users: Vec<String>,

    /// PEM certificate for HTTPS (with --tls-key). Without it, plain HTTP
    /// with NTLM message sealing.
    #[arg(long, env = "SCVMM_SIM_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for HTTPS.
    #[arg(long, env = "SCVMM_SIM_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Multiplies every simulated job duration (create 30 s, start/stop/
    /// remove 10 s at 1.0); 0.01 makes a create take 0.3 s.
    #[arg(long, env = "SCVMM_SIM_LATENCY_SCALE", default_value_t = 1.0)]
    pub latency_scale: f64,

    /// State file: loaded at start when it exists, written on shutdown.
    #[arg(long, env = "SCVMM_SIM_STATE")]
    pub state: Option<PathBuf>,

    /// Fault rules active from the start: a YAML (or JSON) list of rules,
    /// cmdlet rules and WinRM rules alike (see docs/emulator.md).
    #[arg(long, env = "SCVMM_SIM_FAULTS")]
    pub faults: Option<PathBuf>,

    /// Seed for jitter, MAC addresses and fault probabilities.
    #[arg(long, env = "SCVMM_SIM_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SCVMM_SIM_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// Play the kubelet: when a guest boots from a seed whose meta-data has
    /// a `provider-id`, register a Ready Node with that provider ID in the
    /// cluster this kubeconfig names (and keep its Lease renewed); mark it
    /// Ready=Unknown when the VM stops, delete it when the VM is removed.
    #[arg(long, env = "SCVMM_SIM_REGISTER_NODES_KUBECONFIG")]
    pub register_nodes_kubeconfig: Option<PathBuf>,

    /// Play kubeadm too: a guest whose bootstrap data is the kubeadm
    /// bootstrap provider's cloud-config registers its Node in the cluster
    /// at the endpoint that data names (`controlPlaneEndpoint` on init, the
    /// discovery endpoint on join), with a client certificate minted from
    /// the cluster CA a control-plane machine carries; `kubeadm init` also
    /// uploads the `kubeadm-config` ConfigMap, and control-plane Nodes carry
    /// `node-role.kubernetes.io/control-plane`. Workers join through the
    /// credentials of a control-plane guest of the same endpoint. Guests
    /// without kubeadm data still go to `--register-nodes-kubeconfig`.
    #[arg(long, env = "SCVMM_SIM_JOIN_KUBEADM_CLUSTERS")]
    pub join_kubeadm_clusters: bool,

    /// `status.nodeInfo.kubeletVersion` of registered Nodes.
    #[arg(
        long,
        env = "SCVMM_SIM_NODE_KUBELET_VERSION",
        default_value = "v1.33.0"
    )]
    pub node_kubelet_version: String,
}

/// The account used when no `--user` is given.
pub const DEFAULT_USER: (&str, &str) = ("CORP\\capi-svc", "scvmm-sim");

impl Args {
    /// `--user` values split into (name, password); the default account
    /// when none is given.
    pub fn accounts(&self) -> Result<Vec<(String, String)>, String> {
        if self.users.is_empty() {
            return Ok(vec![(DEFAULT_USER.0.into(), DEFAULT_USER.1.into())]);
        }
        self.users
            .iter()
            .map(|u| {
                u.split_once(':')
                    .map(|(n, p)| (n.to_string(), p.to_string()))
                    .filter(|(n, p)| !n.is_empty() && !p.is_empty())
                    .ok_or_else(|| {
                        "--user must be NAME:PASSWORD with both parts non-empty (for example --user 'CORP\\capi-svc:secret')"
                            .to_string()
                    })
            })
            .collect()
    }
}
