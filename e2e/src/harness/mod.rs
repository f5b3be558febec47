//! The end-to-end environment: the local control plane with the Cluster API
//! core, kubeadm bootstrap and kubeadm control-plane managers, our `manager`
//! binary and the `scvmm-sim` binary as processes, and for each workload
//! cluster an API server at its control-plane endpoint (see
//! [`crate::testbed::WorkloadApiServer`]). Guests join their cluster as
//! kubeadm would (`scvmm-sim --join-kubeadm-clusters`), so Machines get a
//! nodeRef and reach Running through Cluster API's own controllers.
//!
//! Everything a user would do goes through the same doors: clusters come
//! from `clusterctl generate cluster` on our templates and are applied with
//! server-side apply; the emulator is inspected and broken through its HTTP
//! API; the operator is killed with SIGKILL and started again.

pub mod checks;
pub mod clusterctl;
pub mod secrets;
pub mod sim_api;

use crate::manifests;
use crate::testbed::{Error, TestCluster, WorkloadApiServer, free_port, kube_err};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use sim_api::SimApi;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The emulator account the suites use.
pub const SIM_USER: &str = "CORP\\capi-svc";
/// Its password: distinctive, so that the secret scan
/// ([`secrets::assert_no_leaks`]) cannot mistake a mention of the emulator
/// for a leak, and passed to the emulator with `--user`.
pub const SIM_PASSWORD: &str = "e2e-Pw-7Kq9Lm2x";
/// The emulator's `--user` value for [`SIM_USER`] / [`SIM_PASSWORD`].
pub fn sim_account() -> String {
    format!("{SIM_USER}:{SIM_PASSWORD}")
}
/// The Kubernetes version clusters are created with (the emulator's
/// kubelets report it too).
pub const KUBERNETES_VERSION: &str = "v1.33.0";
/// The default cluster template.
pub const DEFAULT_TEMPLATE: &str = "cluster-template.yaml";
/// The version the templates are offered as in clusterctl local
/// repositories (the workspace's).
pub const RELEASE_VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

/// Knobs of one environment.
#[derive(Clone, Debug)]
pub struct Options {
    /// scvmm-sim `--latency-scale` (1.0: create 30 s, start 10 s ...).
    pub latency_scale: f64,
    /// scvmm-sim `--seed`.
    pub seed: u64,
    /// Extra flags for every start of the manager.
    pub manager_args: Vec<String>,
    /// The manager's `RUST_LOG` (`SCVMM_E2E_MANAGER_LOG` overrides it).
    /// The lifecycle suites use `trace`, the most a user can turn on, so
    /// that their secret scan covers every log level.
    pub manager_log: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            latency_scale: 0.02,
            seed: 1,
            manager_args: Vec::new(),
            manager_log: "info".into(),
        }
    }
}

/// Where our own binaries are: `SCVMM_E2E_BIN_DIR`, else the cargo target
/// directory of the running executable (`target/debug` for both a test in
/// `target/debug/deps` and a binary in `target/debug`).
pub fn product_binary(name: &str) -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("SCVMM_E2E_BIN_DIR") {
        let path = PathBuf::from(dir).join(name);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::NotBuilt {
                name: name.into(),
                path,
            })
        };
    }
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    let mut candidates = Vec::new();
    if let Some(dir) = exe.parent() {
        candidates.push(dir.join(name));
        if let Some(up) = dir.parent() {
            candidates.push(up.join(name));
        }
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| Error::NotBuilt {
            name: name.into(),
            path: candidates.last().cloned().unwrap_or_default(),
        })
}

/// A running end-to-end environment; everything stops when it is dropped.
pub struct E2eEnv {
    /// The management cluster (and every process).
    pub bed: TestCluster,
    /// Admin client of the management cluster.
    pub client: Client,
    /// The emulator's inspection API.
    pub sim: SimApi,
    /// The emulator's port (WinRM at `/wsman`).
    pub sim_port: u16,
    manager_bin: PathBuf,
    manager_runs: u32,
    manager: Option<String>,
    /// The running manager's metrics port.
    metrics_port: Option<u16>,
    /// What the secret scan looks for, gathered while the Secrets existed
    /// (bootstrap data goes with its Machine).
    secret_needles: Vec<secrets::Needle>,
    options: Options,
}

/// The name the suites give the manager process of run `n`.
fn manager_process(n: u32) -> String {
    format!("manager-{n}")
}

impl E2eEnv {
    /// Starts the control plane with Cluster API (core, kubeadm bootstrap,
    /// KCP), our CRDs and admission policy, scvmm-sim and the manager.
    pub async fn start(options: Options) -> Result<Self, Error> {
        let manager_bin = product_binary("manager")?;
        let sim_bin = product_binary("scvmm-sim")?;
        let mut bed = TestCluster::builder()
            .with_capi()
            .with_kcp()
            .start()
            .await?;
        let client = bed.client().await?;
        install_admission_policies(&client).await?;

        let sim_port = free_port()?;
        bed.spawn(
            "scvmm-sim",
            &sim_bin,
            &[
                "--listen".into(),
                format!("127.0.0.1:{sim_port}"),
                "--latency-scale".into(),
                options.latency_scale.to_string(),
                "--seed".into(),
                options.seed.to_string(),
                "--join-kubeadm-clusters".into(),
                "--user".into(),
                sim_account(),
            ],
            &[("RUST_LOG", "info".into()), ("NO_COLOR", "1".into())],
        )?;
        let sim = SimApi::new(sim_port, SIM_USER, SIM_PASSWORD);
        let deadline = Instant::now() + Duration::from_secs(30);
        while sim.get("/sim/v1/faults").await.is_err() {
            bed.check_alive()?;
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "scvmm-sim".into(),
                    seconds: 30,
                    detail: bed.log_tail("scvmm-sim", 20),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut env = Self {
            bed,
            client,
            sim,
            sim_port,
            manager_bin,
            manager_runs: 0,
            manager: None,
            metrics_port: None,
            secret_needles: Vec::new(),
            options,
        };
        env.start_manager()?;
        Ok(env)
    }

    /// Starts the manager (a new process, logging to `manager-<n>.log`).
    pub fn start_manager(&mut self) -> Result<(), Error> {
        if self.manager.is_some() {
            return Ok(());
        }
        self.manager_runs += 1;
        let name = manager_process(self.manager_runs);
        let kubeconfig = self.bed.kubeconfig_path().display().to_string();
        let metrics_port = free_port()?;
        let mut args = vec![
            "--leader-elect=false".to_string(),
            format!("--metrics-bind-address=127.0.0.1:{metrics_port}"),
            format!("--health-probe-bind-address=127.0.0.1:{}", free_port()?),
            // Short so the suites see SCVMM-side changes within seconds.
            "--scvmm-poll-interval-seconds=5".into(),
            "--resync-seconds=30".into(),
        ];
        args.extend(self.options.manager_args.iter().cloned());
        self.bed.spawn(
            &name,
            &self.manager_bin,
            &args,
            &[
                ("KUBECONFIG", kubeconfig),
                ("NO_COLOR", "1".into()),
                (
                    "RUST_LOG",
                    std::env::var("SCVMM_E2E_MANAGER_LOG")
                        .unwrap_or_else(|_| self.options.manager_log.clone()),
                ),
            ],
        )?;
        self.manager = Some(name);
        self.metrics_port = Some(metrics_port);
        Ok(())
    }

    /// Kills the manager with SIGKILL: no clean-up, as a crash or an OOM
    /// kill would leave things.
    pub fn kill_manager(&mut self) {
        if let Some(name) = self.manager.take() {
            self.metrics_port = None;
            self.bed.kill(&name);
        }
    }

    /// Whether the manager is running.
    pub fn manager_running(&self) -> bool {
        self.manager.is_some()
    }

    /// The log files of our own processes: every manager run and the
    /// emulator.
    pub fn own_logs(&self) -> Vec<PathBuf> {
        (1..=self.manager_runs)
            .map(|n| self.bed.log_path(&manager_process(n)))
            .chain([self.bed.log_path("scvmm-sim")])
            .collect()
    }

    /// Adds the needles of every Secret that exists now to those the
    /// secret scan looks for (call it while machines are up: their
    /// bootstrap data is deleted with them).
    pub async fn remember_secrets(&mut self) -> Result<(), Error> {
        for n in secrets::current_needles(self).await? {
            if !self.secret_needles.contains(&n) {
                self.secret_needles.push(n);
            }
        }
        Ok(())
    }

    /// Every needle remembered so far.
    pub fn secret_needles(&self) -> &[secrets::Needle] {
        &self.secret_needles
    }

    /// The running manager's `/metrics` text, if it runs.
    pub async fn manager_metrics(&self) -> Result<Option<String>, Error> {
        match self.metrics_port {
            Some(port) => sim_api::request(port, "GET", "/metrics", None, "")
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    /// The last lines of every manager run's log and the emulator's.
    pub fn logs(&self, lines: usize) -> String {
        let mut out = String::new();
        for n in 1..=self.manager_runs {
            let name = manager_process(n);
            out.push_str(&format!(
                "--- {name}\n{}\n",
                crate::testbed::log_tail_of(&self.bed.log_path(&name), lines)
            ));
        }
        out.push_str(&format!(
            "--- scvmm-sim\n{}\n",
            crate::testbed::log_tail_of(&self.bed.log_path("scvmm-sim"), lines)
        ));
        // Cluster API's managers log a lot; their errors are what explains
        // a stuck suite.
        for name in [
            "capi-manager",
            "kubeadm-bootstrap-manager",
            "kubeadm-control-plane-manager",
        ] {
            let text = std::fs::read_to_string(self.bed.log_path(name)).unwrap_or_default();
            let errors: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with('E') || l.contains("\"error\""))
                .collect();
            out.push_str(&format!(
                "--- {name} (errors)\n{}\n",
                errors[errors.len().saturating_sub(lines / 3)..].join("\n")
            ));
        }
        out
    }

    /// A namespace for one suite.
    pub async fn namespace(&self, prefix: &str) -> Result<String, Error> {
        self.bed.create_namespace(prefix).await
    }

    /// `Api` for a kind in a namespace.
    pub fn api(
        &self,
        namespace: &str,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        Api::namespaced_with(self.client.clone(), namespace, &ApiResource::from_gvk(&gvk))
    }

    /// Cluster API's Machines in `namespace`.
    pub fn machines(&self, namespace: &str) -> Api<DynamicObject> {
        self.api(namespace, "cluster.x-k8s.io", "v1beta2", "Machine")
    }

    /// The variables of our templates that point at this emulator.
    pub fn template_vars(&self, workload: &WorkloadApiServer) -> Vec<(String, String)> {
        [
            ("CONTROL_PLANE_ENDPOINT_IP", "127.0.0.1".to_string()),
            ("CONTROL_PLANE_ENDPOINT_PORT", workload.port.to_string()),
            (
                "SCVMM_SERVER",
                format!("http://127.0.0.1:{}/wsman", self.sim_port),
            ),
            ("SCVMM_SCHEME", "HTTP".into()),
            ("SCVMM_AUTH", "NTLM".into()),
            ("SCVMM_USERNAME", SIM_USER.into()),
            ("SCVMM_PASSWORD", SIM_PASSWORD.into()),
            (
                "SCVMM_LIBRARY_SHARE",
                "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds".into(),
            ),
            ("SCVMM_HOST_GROUP", "All Hosts\\Prod".into()),
            ("SCVMM_VM_TEMPLATE", "Ubuntu 24.04".into()),
            ("SCVMM_VM_NETWORK", "Prod-VLAN100".into()),
            ("SCVMM_CONTROL_PLANE_MEMORY", "2Gi".into()),
            ("SCVMM_WORKER_MEMORY", "2Gi".into()),
            (
                "SCVMM_SSH_AUTHORIZED_KEY",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eTestKeyNotARealOne capi@e2e".into(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Starts the workload cluster's API server, hands its CA to Cluster
    /// API, renders the default template with `clusterctl generate cluster`
    /// and applies it: what a user does, with the endpoint pointing at the
    /// workload API server. `edit` may change the rendered documents.
    pub async fn create_cluster(
        &mut self,
        namespace: &str,
        name: &str,
        control_plane: u32,
        workers: u32,
        edit: impl FnOnce(&mut Vec<Value>),
    ) -> Result<WorkloadApiServer, Error> {
        let template = template_path(DEFAULT_TEMPLATE);
        self.create_cluster_from(
            namespace,
            name,
            clusterctl::Source::File(&template),
            control_plane,
            workers,
            edit,
        )
        .await
    }

    /// [`Self::create_cluster`] with flavour `flavour` of the templates as
    /// a release ships them, read by clusterctl from a local repository,
    /// ClusterClass included (`topology`).
    pub async fn create_cluster_from_flavour(
        &mut self,
        namespace: &str,
        name: &str,
        flavour: &str,
        control_plane: u32,
        workers: u32,
        edit: impl FnOnce(&mut Vec<Value>),
    ) -> Result<WorkloadApiServer, Error> {
        let repository = crate::release::templates_repository(RELEASE_VERSION)?;
        self.create_cluster_from(
            namespace,
            name,
            clusterctl::Source::Repository {
                repository: &repository,
                flavour: Some(flavour),
            },
            control_plane,
            workers,
            edit,
        )
        .await
    }

    async fn create_cluster_from(
        &mut self,
        namespace: &str,
        name: &str,
        source: clusterctl::Source<'_>,
        control_plane: u32,
        workers: u32,
        edit: impl FnOnce(&mut Vec<Value>),
    ) -> Result<WorkloadApiServer, Error> {
        let workload = self.bed.start_workload_api_server(namespace, name).await?;
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), namespace);
        secrets
            .create(&PostParams::default(), &workload.ca_secret())
            .await
            .map_err(kube_err(format!("creating Secret {namespace}/{name}-ca")))?;
        let vars = self.template_vars(&workload);
        let yaml = clusterctl::generate_cluster(&clusterctl::Generate {
            clusterctl: &self.bed.binaries().clusterctl,
            source,
            name,
            namespace,
            kubernetes_version: KUBERNETES_VERSION,
            control_plane,
            workers,
            vars: &vars,
        })?;
        let mut docs: Vec<Value> =
            serde_saphyr::from_multiple(&yaml).map_err(|e| Error::Clusterctl {
                detail: format!("the rendered template is not YAML: {e}"),
            })?;
        docs.retain(|d| !d.is_null());
        edit(&mut docs);
        let mut text = String::new();
        for d in &docs {
            text.push_str("---\n");
            text.push_str(&serde_saphyr::to_string(d).map_err(|e| Error::Clusterctl {
                detail: e.to_string(),
            })?);
        }
        manifests::apply(&self.client, namespace, &text, "e2e").await?;
        Ok(workload)
    }

    /// Server-side applies one object (as `kubectl apply --server-side`).
    pub async fn apply(&self, namespace: &str, doc: &Value) -> Result<(), Error> {
        let text = serde_saphyr::to_string(doc).map_err(|e| Error::Manifest {
            path: PathBuf::from("<object>"),
            detail: e.to_string(),
        })?;
        manifests::apply(&self.client, namespace, &text, "e2e").await?;
        Ok(())
    }

    /// Merge-patches one object.
    pub async fn patch(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
        patch: &Value,
    ) -> Result<(), Error> {
        api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map_err(kube_err(format!("patching {name}")))?;
        Ok(())
    }

    /// Runs a PowerShell script on the emulator as its administrator would
    /// (through WinRM, not through the provider).
    pub async fn admin_ps(&self, script: &str) -> Result<String, Error> {
        use wsman::client::{Pool, RunOptions, run_powershell};
        use wsman::transport::{ClientAuth, ClientConfig, Connector};
        let url = format!("http://127.0.0.1:{}/wsman", self.sim_port);
        let err = |detail: String| Error::SimApi {
            request: format!("WinRM {script}"),
            detail,
        };
        let config = ClientConfig::new(
            &url,
            ClientAuth::Ntlm {
                user: SIM_USER.into(),
                password: SIM_PASSWORD.into(),
            },
        );
        let pool = Pool::new(
            Connector::new(config).map_err(|e| err(e.to_string()))?,
            &url,
            1,
        );
        let out = run_powershell(&pool, script, &RunOptions::default())
            .await
            .map_err(|e| err(e.to_string()))?;
        if out.exit_code != Some(0) {
            return Err(err(format!(
                "exit code {:?}: {}",
                out.exit_code, out.stderr
            )));
        }
        Ok(out.stdout.trim().to_string())
    }

    /// Polls `check` every 500 ms until it returns `Some`, or fails after
    /// `limit` with `what`, the last state `check` described and the logs.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut check: impl AsyncFnMut(&Self) -> Result<T, String>,
    ) -> Result<T, Error> {
        let deadline = Instant::now() + limit;
        loop {
            self.bed.check_alive()?;
            let last = match check(self).await {
                Ok(v) => return Ok(v),
                Err(state) => state,
            };
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: what.into(),
                    seconds: limit.as_secs(),
                    detail: format!("last seen: {last}\n{}", self.logs(25)),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A template in `deploy/templates/`.
pub fn template_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/templates")
        .join(file)
}

/// The ValidatingAdmissionPolicy (and binding) that ship with the CRDs.
pub async fn install_admission_policies(client: &Client) -> Result<(), Error> {
    for doc in operator::api::admission_policies() {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let gvk = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", &kind);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ApiResource::from_gvk(&gvk));
        api.patch(
            &name,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&doc),
        )
        .await
        .map_err(kube_err(format!("installing the {kind} {name}")))?;
    }
    Ok(())
}
