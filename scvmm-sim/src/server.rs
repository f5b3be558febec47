//! The running emulator: the VMM model, the guest simulator, the WinRM
//! endpoint (wsman's server half) with the PowerShell backend, and the
//! inspection API on the same listener.

use crate::admin::{AdminFallback, AdminState, router};
use crate::cli::Args;
use crate::guest::{GuestSimulator, GuestTable, KubeletInfo, NodeError, NodeRegistrar};
use crate::vmm::{FaultRule, Inventory, Options, RandomIds, Snapshot, SystemClock, Vmm};
use crate::winrm_faults::WinrmFaults;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wsman::server::{CommandBackend, ServiceConfig, WinrsService};
use wsman::transport::{
    CredentialStore, Password, ServerConfig, ServerHandle, StaticCredentials, WsmanServer,
};

/// Everything that can stop the emulator from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A file named on the command line could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The inventory or state file is not valid.
    #[error("{path} is not a valid {what}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Inventory or state.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A flag is malformed.
    #[error("{0}")]
    Flag(String),
    /// The listener could not start (port in use, bad TLS material).
    #[error("cannot serve on {addr}: {detail}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        detail: String,
    },
}

/// A running emulator; dropping it stops the listener.
pub struct RunningSim {
    /// The WinRM listener.
    pub handle: ServerHandle,
    /// The model.
    pub vmm: Arc<Mutex<Vmm>>,
    /// The WinRS service (counters, open shells).
    pub service: Arc<WinrsService>,
    /// What each booted guest took from its seed (host name, provider ID,
    /// user-data digest, addresses), by VM id.
    pub guests: GuestTable,
    /// The accounts WinRM and the inspection API accept.
    pub accounts: Arc<Accounts>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// The emulator's accounts. A password can change while the emulator runs,
/// as an administrator rotating a service account's password in AD would:
/// connections already authenticated stay so, new handshakes need the new
/// password.
#[derive(Debug, Default)]
pub struct Accounts {
    list: Mutex<Vec<(String, String)>>,
    store: std::sync::RwLock<StaticCredentials>,
}

impl Accounts {
    /// Accounts as `(NAME, PASSWORD)`; NAME may be `DOMAIN\user` or
    /// `user@domain`, which accept only that domain.
    pub fn new(accounts: Vec<(String, String)>) -> Self {
        let store = std::sync::RwLock::new(build_store(&accounts));
        Self {
            list: Mutex::new(accounts),
            store,
        }
    }

    /// Changes the password of the account `name` (as given at start,
    /// compared case-insensitively); false when there is no such account.
    pub fn set_password(&self, name: &str, password: &str) -> bool {
        let Ok(mut list) = self.list.lock() else {
            return false;
        };
        let Some(account) = list.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            return false;
        };
        account.1 = password.to_string();
        if let Ok(mut store) = self.store.write() {
            *store = build_store(&list);
        }
        true
    }
}

impl CredentialStore for Accounts {
    fn password(&self, user: &str, domain: &str) -> Option<Password> {
        self.store.read().ok()?.password(user, domain)
    }
}

fn build_store(accounts: &[(String, String)]) -> StaticCredentials {
    let mut creds = StaticCredentials::new();
    for (name, password) in accounts {
        // `DOMAIN\user` and `user@domain` accept only that domain; a bare
        // name accepts any, as a local account on a workgroup host would.
        let (user, domain) = wsman::transport::auth::split_user(name);
        creds = if domain.is_empty() {
            creds.with_user(user, password.as_str())
        } else {
            creds.with_domain_user(domain, user, password.as_str())
        };
    }
    creds
}

fn read(path: &PathBuf) -> Result<String, StartError> {
    std::fs::read_to_string(path).map_err(|source| StartError::Read {
        path: path.clone(),
        source,
    })
}

/// Parses a `--faults` file: a YAML (or JSON) list of fault rules, each
/// checked the way `POST /sim/v1/faults` checks it.
fn load_faults(path: &Path, text: &str) -> Result<Vec<FaultRule>, StartError> {
    let invalid = |detail: String| StartError::Invalid {
        path: path.to_path_buf(),
        what: "fault rules file",
        detail,
    };
    let rules: Vec<FaultRule> = serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
    for rule in &rules {
        rule.validate().map_err(invalid)?;
    }
    Ok(rules)
}

/// Builds the model from the flags: inventory file or the built-in lab,
/// then the saved state when `--state` names an existing file.
pub fn build_model(args: &Args) -> Result<(Snapshot, Options), StartError> {
    let inventory = match &args.inventory {
        Some(path) => Inventory::from_yaml(&read(path)?).map_err(|e| StartError::Invalid {
            path: path.clone(),
            what: "inventory",
            detail: e.to_string(),
        })?,
        None => Inventory::default_inventory(),
    };
    let mut options = Options {
        seed: args.seed,
        ..Options::default()
    };
    if !(args.latency_scale >= 0.0 && args.latency_scale.is_finite()) {
        return Err(StartError::Flag(format!(
            "--latency-scale must be a finite number >= 0, got {}",
            args.latency_scale
        )));
    }
    options.latencies.factor = args.latency_scale;
    if let Some(path) = &args.faults {
        options.faults = load_faults(path, &read(path)?)?;
    }
    let snapshot = match &args.state {
        Some(path) if path.exists() => {
            Snapshot::parse(&read(path)?).map_err(|e| StartError::Invalid {
                path: path.clone(),
                what: "state file",
                detail: e.to_string(),
            })?
        }
        _ => Snapshot {
            inventory,
            state: Default::default(),
        },
    };
    Ok((snapshot, options))
}

/// Starts the emulator with `backend` running the commands (normally the
/// PowerShell backend over the same model, see `crate::backend`).
pub async fn start(
    args: &Args,
    make_backend: impl FnOnce(Arc<Mutex<Vmm>>) -> Arc<dyn CommandBackend>,
) -> Result<RunningSim, StartError> {
    let (snapshot, options) = build_model(args)?;
    let accounts = args.accounts().map_err(StartError::Flag)?;
    let vmm = Arc::new(Mutex::new(Vmm::from_snapshot(
        snapshot.clone(),
        options.clone(),
        Arc::new(SystemClock),
        Box::new(RandomIds),
    )));
    let guests: GuestTable = Arc::default();
    let guests_out = guests.clone();
    // A booted guest takes a few (scaled) seconds before KVP reports addresses.
    let boot_delay = Duration::from_secs_f64((20.0 * args.latency_scale).clamp(0.05, 60.0));
    // One registrar (one client) for the process; a reset's fresh guest
    // simulator shares it.
    let kubelet = KubeletInfo::new(args.node_kubelet_version.clone());
    let nodes = match &args.register_nodes_kubeconfig {
        None if args.join_kubeadm_clusters => Some(
            NodeRegistrar::new(None, true, kubelet, guests.clone())
                .map_err(|e| StartError::Flag(e.to_string()))?,
        ),
        Some(path) => Some(
            NodeRegistrar::from_kubeconfig(
                path,
                args.join_kubeadm_clusters,
                kubelet,
                guests.clone(),
            )
            .await
            .map_err(|e| match e {
                NodeError::Kubeconfig { path, detail } => StartError::Invalid {
                    path,
                    what: "kubeconfig (--register-nodes-kubeconfig)",
                    detail,
                },
                NodeError::NoRuntime => StartError::Flag(e.to_string()),
            })?,
        ),
        None => None,
    };
    if let Some(hook) = GuestSimulator::new(&vmm, guests.clone(), boot_delay, nodes.clone())
        && let Ok(mut m) = vmm.lock()
    {
        m.set_guest_hook(hook);
    }

    let creds = Arc::new(Accounts::new(accounts));

    let service_config = ServiceConfig {
        machine: "SCVMM-SIM".into(),
        address: format!("http://{}/wsman", args.listen),
        ..ServiceConfig::default()
    };
    let service = Arc::new(WinrsService::new(
        make_backend(vmm.clone()),
        service_config.clone(),
    ));

    let fresh = {
        let vmm = Arc::downgrade(&vmm);
        let guests = guests.clone();
        let nodes = nodes.clone();
        let snapshot = snapshot.clone();
        let options = options.clone();
        move || {
            // Only a reset builds a fresh model: the guests of the old one
            // vanish, so do their Nodes.
            if let Some(nodes) = &nodes {
                nodes.remove_all();
            }
            let mut fresh = Vmm::from_snapshot(
                snapshot.clone(),
                options.clone(),
                Arc::new(SystemClock),
                Box::new(RandomIds),
            );
            if let Some(vmm) = vmm.upgrade()
                && let Some(hook) =
                    GuestSimulator::new(&vmm, guests.clone(), boot_delay, nodes.clone())
            {
                fresh.set_guest_hook(hook);
            }
            fresh
        }
    };
    let http_stats = Arc::new(Mutex::new(None));
    let admin = AdminState {
        vmm: vmm.clone(),
        guests,
        credentials: creds.clone(),
        fresh: Arc::new(fresh),
        winrs: service.stats(),
        http: http_stats.clone(),
    };

    let mut config = ServerConfig::new(creds.clone());
    config.fallback = Some(Arc::new(AdminFallback(router(admin))));
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let cert = std::fs::read(cert).map_err(|source| StartError::Read {
            path: cert.clone(),
            source,
        })?;
        let key = std::fs::read(key).map_err(|source| StartError::Read {
            path: key.clone(),
            source,
        })?;
        config.tls = Some(
            wsman::transport::tls::server_config_from_pem(&cert, &key).map_err(|e| {
                StartError::Listen {
                    addr: args.listen,
                    detail: e.to_string(),
                }
            })?,
        );
    }
    // WinRM fault rules sit between the transport and the WinRS service.
    let handler = WinrmFaults::new(service.clone(), vmm.clone(), service_config);
    let handle = WsmanServer::new(config, handler)
        .bind(args.listen)
        .await
        .map_err(|e| StartError::Listen {
            addr: args.listen,
            detail: e.to_string(),
        })?;
    if let Ok(mut s) = http_stats.lock() {
        *s = Some(handle.stats().clone());
    }

    // The model completes jobs when touched; a ticker touches it so jobs
    // finish (and guests boot) on time even when nobody is polling, and
    // reaps idle WinRM shells.
    let ticker = {
        let vmm = Arc::downgrade(&vmm);
        let service = Arc::downgrade(&service);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let Some(vmm) = vmm.upgrade() else { break };
                if let Ok(mut m) = vmm.lock() {
                    m.settle();
                }
                if let Some(s) = service.upgrade() {
                    s.reap_idle();
                }
            }
        })
    };
    Ok(RunningSim {
        handle,
        vmm,
        service,
        guests: guests_out,
        accounts: creds,
        ticker,
    })
}

/// Writes the model to `--state`, if given.
pub fn save_state(args: &Args, vmm: &Mutex<Vmm>) -> Result<(), String> {
    let Some(path) = &args.state else {
        return Ok(());
    };
    let snapshot = vmm
        .lock()
        .map_err(|_| "the model lock is poisoned".to_string())?
        .snapshot();
    // JSON (which is also YAML): the YAML parser's node budget refuses
    // states of a few thousand VMs, the JSON parser has none.
    let json = snapshot.to_json().map_err(|e| e.to_string())?;
    std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
