//! A real local Kubernetes control plane for tests: etcd, kube-apiserver and
//! kube-controller-manager (and, on request, the Cluster API core and kubeadm
//! bootstrap managers, the kubeadm control-plane manager and the in-cluster
//! IPAM provider) as local processes on loopback, in the spirit of
//! controller-runtime's envtest. No Docker engine is needed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), e2e::testbed::Error> {
//! let cluster = e2e::testbed::TestCluster::start().await?;
//! let client = cluster.client().await?;
//! // ... use the client; everything stops when `cluster` is dropped.
//! # Ok(()) }
//! ```

mod binaries;
mod capi;
mod pki;
mod supervisor;
mod workload;

pub use binaries::{Binaries, Component, Versions, cache_dir};
pub use supervisor::log_tail as log_tail_of;
pub use workload::WorkloadApiServer;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use supervisor::Supervisor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Everything that can go wrong while starting or using the test bed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("building the control-plane binaries failed: {detail}")]
    Build { detail: String },
    #[error("could not start {name} ({}): {source}", program.display())]
    Spawn {
        name: String,
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} exited ({status}) while the test bed was running; last log lines:\n{log_tail}")]
    Exited {
        name: String,
        status: String,
        log_tail: String,
    },
    #[error("{what} did not become ready within {seconds} s: {detail}")]
    Timeout {
        what: String,
        seconds: u64,
        detail: String,
    },
    #[error("generating the {what} failed: {source}")]
    Pki {
        what: &'static str,
        source: rcgen::Error,
    },
    #[error("file system error at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("Kubernetes API call failed while {doing}: {source}")]
    Kube { doing: String, source: kube::Error },
    #[error("manifest {}: {detail}", path.display())]
    Manifest { path: PathBuf, detail: String },
    #[error("scvmm-sim inspection API {request}: {detail}")]
    SimApi { request: String, detail: String },
    #[error(
        "{name} is not built at {} (run `just e2e`, or `cargo build -p operator --bin manager -p scvmm-sim` first)",
        path.display()
    )]
    NotBuilt { name: String, path: PathBuf },
    #[error("clusterctl generate cluster failed: {detail}")]
    Clusterctl { detail: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { path, source }
}

pub(crate) fn kube_err(doing: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let doing = doing.into();
    move |source| Error::Kube { doing, source }
}

/// What to run besides etcd and kube-apiserver.
#[derive(Debug, Clone)]
pub struct Builder {
    controller_manager: bool,
    capi: bool,
    kcp: bool,
    ipam_in_cluster: bool,
    crds: Option<Vec<CustomResourceDefinition>>,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            controller_manager: true,
            capi: false,
            kcp: false,
            ipam_in_cluster: false,
            crds: None,
        }
    }
}

impl Builder {
    /// Also run the Cluster API core and kubeadm bootstrap managers (with
    /// their CRDs, conversion and admission webhooks).
    pub fn with_capi(mut self) -> Self {
        self.capi = true;
        self
    }

    /// Also run the Cluster API kubeadm control-plane manager (KCP) at the
    /// same version, with its CRDs, conversion and admission webhooks.
    /// Implies [`Builder::with_capi`].
    pub fn with_kcp(mut self) -> Self {
        self.capi = true;
        self.kcp = true;
        self
    }

    /// Also run the in-cluster IPAM provider (`InClusterIPPool`,
    /// `GlobalInClusterIPPool` and the prefix pools), with its CRDs,
    /// conversion and admission webhooks; it fulfils
    /// `ipam.cluster.x-k8s.io/v1beta2` IPAddressClaims. Implies
    /// [`Builder::with_capi`] (the claims, addresses and the Cluster it
    /// checks for a pause are CAPI core types).
    pub fn with_ipam_in_cluster(mut self) -> Self {
        self.capi = true;
        self.ipam_in_cluster = true;
        self
    }

    /// The cached components this configuration runs.
    pub fn components(&self) -> Vec<Component> {
        let mut c = vec![Component::Core];
        if self.kcp {
            c.push(Component::Kcp);
        }
        if self.ipam_in_cluster {
            c.push(Component::IpamInCluster);
        }
        c
    }

    /// Skip kube-controller-manager (no garbage collection, no namespace
    /// deletion) for a faster start.
    pub fn without_controller_manager(mut self) -> Self {
        self.controller_manager = false;
        self
    }

    /// Install these CRDs instead of the checked-in `crds/*.yaml` (tests of
    /// the API types pass the CRDs generated from the code under test).
    pub fn with_crds(mut self, crds: Vec<CustomResourceDefinition>) -> Self {
        self.crds = Some(crds);
        self
    }

    /// Starts the control plane and waits until it serves requests.
    pub async fn start(self) -> Result<TestCluster, Error> {
        TestCluster::start_with(self).await
    }
}

/// One running local control plane. Dropping it stops every process and
/// removes its directory.
pub struct TestCluster {
    supervisor: Supervisor,
    etcd_url: String,
    kubeconfig_path: PathBuf,
    kubeconfig: Kubeconfig,
    api_url: String,
    /// The flags kube-apiserver was started with, to start it again the
    /// same way (same port, certificates and etcd).
    api_args: Vec<String>,
    /// How many times kube-apiserver was started.
    api_starts: u32,
    binaries: Binaries,
    started_in: Duration,
    // Declared last so it is removed after the processes have stopped.
    dir: tempfile::TempDir,
}

/// A free TCP port on 127.0.0.1 (released before use; callers start their
/// server right away to keep the race window small).
///
/// Ports come from below the kernel's ephemeral range when there is room
/// there: a port that `bind(0)` handed out and we released can be taken by
/// the next outgoing connection of any process (every manager keeps several
/// open to the API server), and the component meant to listen on it then
/// fails with "address already in use". Candidates start at a random offset
/// per process and never repeat within one, so parallel test beds rarely try
/// the same port.
pub fn free_port() -> Result<u16, Error> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);

    let (low, high) = (10_000_u32, ephemeral_range_start().min(60_000));
    if high <= low + 1_000 {
        return any_port();
    }
    let span = high - low;
    if NEXT.load(Ordering::Relaxed) == u32::MAX {
        let _ = NEXT.compare_exchange(
            u32::MAX,
            random_u32() % span,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }
    for _ in 0..512 {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % span;
        let Ok(port) = u16::try_from(low + offset) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    any_port()
}

/// A port chosen by the kernel (`bind(0)`).
fn any_port() -> Result<u16, Error> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(Error::Port)?;
    Ok(l.local_addr().map_err(Error::Port)?.port())
}

/// First port of the kernel's ephemeral range (Linux default 32768).
fn ephemeral_range_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// Randomness enough to spread processes over the port range.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    #[allow(clippy::cast_possible_truncation)]
    let r = h.finish() as u32;
    r
}

fn write(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(io_err(path))
}

/// The checked-in CRDs of this repository (`crds/*.yaml`).
pub fn repository_crds() -> Result<Vec<CustomResourceDefinition>, Error> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds");
    read_crds(&dir)
}

/// Reads every CustomResourceDefinition in the `*.yaml` files of a directory,
/// sorted by file name. Other documents (the admission policies that
/// `crds/` also holds) are skipped.
pub fn read_crds(dir: &Path) -> Result<Vec<CustomResourceDefinition>, Error> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    let mut crds = Vec::new();
    for p in &paths {
        let bad = |detail: String| Error::Manifest {
            path: p.clone(),
            detail,
        };
        let text = std::fs::read_to_string(p).map_err(io_err(p))?;
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| bad(e.to_string()))?;
        for doc in docs {
            if doc["kind"] == "CustomResourceDefinition" {
                crds.push(serde_json::from_value(doc).map_err(|e| bad(e.to_string()))?);
            }
        }
    }
    Ok(crds)
}

impl TestCluster {
    /// etcd + kube-apiserver + kube-controller-manager with our CRDs.
    pub async fn start() -> Result<Self, Error> {
        Builder::default().start().await
    }

    /// A builder for other combinations.
    pub fn builder() -> Builder {
        Builder::default()
    }

    async fn start_with(opts: Builder) -> Result<Self, Error> {
        let started = Instant::now();
        let components = opts.components();
        let binaries =
            tokio::task::spawn_blocking(move || Binaries::ensure_components(&components))
                .await
                .map_err(|e| Error::Build {
                    detail: e.to_string(),
                })??;
        let dir = tempfile::Builder::new()
            .prefix("scvmm-testbed-")
            .tempdir()
            .map_err(io_err(&std::env::temp_dir()))?;
        let root = dir.path().to_path_buf();
        let mut supervisor = Supervisor::new(&root);

        // PKI.
        let ca = pki::Ca::new("scvmm-testbed-ca")?;
        let serving = ca.server("kube-apiserver", &["kubernetes", "kubernetes.default"])?;
        let admin = ca.client("testbed-admin", &["system:masters"])?;
        let (sa_key, sa_pub) = pki::service_account_keys()?;
        let pki_dir = root.join("pki");
        std::fs::create_dir_all(&pki_dir).map_err(io_err(&pki_dir))?;
        for (name, contents) in [
            ("ca.crt", &ca.cert_pem),
            ("apiserver.crt", &serving.cert_pem),
            ("apiserver.key", &serving.key_pem),
            ("sa.key", &sa_key),
            ("sa.pub", &sa_pub),
        ] {
            write(&pki_dir.join(name), contents)?;
        }

        // etcd.
        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        supervisor.spawn(
            "etcd",
            &binaries.etcd,
            &[
                format!("--data-dir={}", root.join("etcd").display()),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=default={peer_url}"),
                // Test data is thrown away; fsync only costs time.
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
            &[],
        )?;
        wait_for_port(&mut supervisor, "etcd", etcd_port, Duration::from_secs(30)).await?;

        // kube-apiserver.
        let api_port = free_port()?;
        let api_args = kube_apiserver_args(
            &etcd_url,
            None,
            &pki_dir,
            &root.join("apiserver-certs"),
            api_port,
        );
        supervisor.spawn("kube-apiserver", &binaries.kube_apiserver, &api_args, &[])?;
        let api_url = format!("https://127.0.0.1:{api_port}");

        let kubeconfig = kubeconfig_yaml(&api_url, &ca.cert_pem, &admin)?;
        let kubeconfig_path = root.join("kubeconfig");
        write(&kubeconfig_path, &kubeconfig)?;
        let kubeconfig =
            Kubeconfig::from_yaml(&kubeconfig).map_err(|e| Error::Kubeconfig(e.to_string()))?;

        let mut cluster = TestCluster {
            supervisor,
            etcd_url: etcd_url.clone(),
            kubeconfig_path,
            kubeconfig,
            api_url,
            api_args,
            api_starts: 1,
            binaries,
            started_in: Duration::ZERO,
            dir,
        };
        cluster.wait_ready(Duration::from_secs(90)).await?;

        if opts.controller_manager {
            let kcm_port = free_port()?;
            let kubeconfig = cluster.kubeconfig_path.display().to_string();
            let kcm = cluster.binaries.kube_controller_manager.clone();
            cluster.supervisor.spawn(
                "kube-controller-manager",
                &kcm,
                &[
                    format!("--kubeconfig={kubeconfig}"),
                    format!("--authentication-kubeconfig={kubeconfig}"),
                    format!("--authorization-kubeconfig={kubeconfig}"),
                    "--controllers=garbage-collector-controller,namespace-controller".into(),
                    "--leader-elect=false".into(),
                    "--bind-address=127.0.0.1".into(),
                    format!("--secure-port={kcm_port}"),
                    format!("--cert-dir={}", root.join("kcm-certs").display()),
                    "--v=1".into(),
                ],
                &[],
            )?;
        }

        let crds = match opts.crds {
            Some(c) => c,
            None => repository_crds()?,
        };
        let client = cluster.client().await?;
        install_crds(&client, &crds).await?;

        if opts.capi {
            let addons = capi::Addons {
                kcp: opts.kcp,
                ipam_in_cluster: opts.ipam_in_cluster,
            };
            capi::start(&mut cluster, &client, &ca, addons).await?;
        }
        cluster.supervisor.check_alive()?;
        cluster.started_in = started.elapsed();
        Ok(cluster)
    }

    /// Polls `/readyz` until the API server answers ok.
    async fn wait_ready(&mut self, limit: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + limit;
        let mut last = String::from("no answer yet");
        loop {
            self.supervisor.check_alive()?;
            if let Ok(client) = self.client().await {
                let req = http::Request::get("/readyz").body(Vec::new());
                if let Ok(req) = req {
                    match client.request_text(req).await {
                        Ok(body) if body.trim() == "ok" => return Ok(()),
                        Ok(body) => last = body,
                        Err(e) => last = e.to_string(),
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: "kube-apiserver".into(),
                    seconds: limit.as_secs(),
                    detail: format!(
                        "{last}\nlast log lines:\n{}",
                        self.supervisor.log_tail("kube-apiserver", 30)
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// A client authenticated as cluster admin.
    pub async fn client(&self) -> Result<Client, Error> {
        let config =
            Config::from_custom_kubeconfig(self.kubeconfig.clone(), &KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        Client::try_from(config).map_err(kube_err("building a client"))
    }

    /// Path of an admin kubeconfig (for kubectl, clusterctl, the operator).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The API server URL, `https://127.0.0.1:<port>`.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// Directory holding logs, certificates and etcd data of this test bed.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The binaries and versions in use.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// Wall time from `start()` to ready.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The last lines of one component's log (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`, `capi-manager`, `kubeadm-bootstrap-manager`,
    /// `kubeadm-control-plane-manager`, `ipam-in-cluster-manager`).
    pub fn log_tail(&self, component: &str, lines: usize) -> String {
        self.supervisor.log_tail(component, lines)
    }

    /// Fails if any component has exited.
    pub fn check_alive(&mut self) -> Result<(), Error> {
        self.supervisor.check_alive()
    }

    /// Creates a namespace with a generated name starting with `prefix` and
    /// returns its name; tests use one each to stay independent.
    pub async fn create_namespace(&self, prefix: &str) -> Result<String, Error> {
        let client = self.client().await?;
        let api: Api<Namespace> = Api::all(client);
        let ns = Namespace {
            metadata: ObjectMeta {
                generate_name: Some(format!("{prefix}-")),
                ..Default::default()
            },
            ..Default::default()
        };
        let created = api
            .create(&PostParams::default(), &ns)
            .await
            .map_err(kube_err("creating a namespace"))?;
        created
            .metadata
            .name
            .ok_or_else(|| Error::Kubeconfig("created namespace has no name".into()))
    }

    /// Stops one component (SIGTERM, SIGKILL after 10 s), for tests of
    /// what happens when it goes away.
    pub fn stop_component(&mut self, component: &str) {
        self.supervisor.stop(component, Duration::from_secs(10));
    }

    /// Stops kube-apiserver (SIGTERM, SIGKILL after 10 s); etcd and every
    /// other process keep running, so the cluster's data survives. For
    /// tests of clients that must ride out an API server restart.
    pub fn stop_api_server(&mut self) {
        self.supervisor
            .stop("kube-apiserver", Duration::from_secs(10));
    }

    /// Starts kube-apiserver again after [`stop_api_server`](Self::stop_api_server),
    /// with the flags of the first start (same port, certificates, service
    /// account keys and etcd), and waits until it is ready. The log of the
    /// previous run is kept as `kube-apiserver.<n>.log`.
    pub async fn start_api_server(&mut self) -> Result<(), Error> {
        let log = self.log_path("kube-apiserver");
        let kept = self.log_path(&format!("kube-apiserver.{}", self.api_starts));
        std::fs::rename(&log, &kept).map_err(io_err(&log))?;
        let program = self.binaries.kube_apiserver.clone();
        let args = self.api_args.clone();
        self.supervisor
            .spawn("kube-apiserver", &program, &args, &[])?;
        self.api_starts += 1;
        self.wait_ready(Duration::from_secs(90)).await
    }

    /// Runs another process under the test bed's supervision (stopped with
    /// it; its output goes to `<dir>/<name>.log`).
    pub fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        envs: &[(&str, String)],
    ) -> Result<(), Error> {
        self.supervisor.spawn(name, program, args, envs)
    }

    /// Kills one process at once (SIGKILL), as a crash or an OOM kill would.
    pub fn kill(&mut self, name: &str) {
        self.supervisor.kill(name);
    }

    /// The log file of a process started by the test bed.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.log"))
    }

    pub(crate) fn etcd_url(&self) -> &str {
        &self.etcd_url
    }

    pub(crate) fn supervisor_mut(&mut self) -> &mut Supervisor {
        &mut self.supervisor
    }
}

/// The flags of a test bed kube-apiserver: `pki` holds ca.crt (clients'
/// CA), apiserver.crt/.key and sa.key/.pub; `etcd_prefix` gives a workload
/// cluster its own key space in the shared etcd.
fn kube_apiserver_args(
    etcd_url: &str,
    etcd_prefix: Option<&str>,
    pki: &Path,
    cert_dir: &Path,
    port: u16,
) -> Vec<String> {
    let p = |f: &str| pki.join(f).display().to_string();
    let mut args = vec![format!("--etcd-servers={etcd_url}")];
    if let Some(prefix) = etcd_prefix {
        args.push(format!("--etcd-prefix={prefix}"));
    }
    args.extend([
        format!("--cert-dir={}", cert_dir.display()),
        format!("--tls-cert-file={}", p("apiserver.crt")),
        format!("--tls-private-key-file={}", p("apiserver.key")),
        format!("--client-ca-file={}", p("ca.crt")),
        format!("--service-account-key-file={}", p("sa.pub")),
        format!("--service-account-signing-key-file={}", p("sa.key")),
        "--service-account-issuer=https://kubernetes.default.svc".into(),
        format!("--secure-port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        "--service-cluster-ip-range=10.96.0.0/16".into(),
        "--allow-privileged=true".into(),
        "--authorization-mode=RBAC".into(),
        "--disable-admission-plugins=ServiceAccount".into(),
        "--v=1".into(),
    ]);
    args
}

fn kubeconfig_yaml(api_url: &str, ca_pem: &str, admin: &pki::CertPair) -> Result<String, Error> {
    use base64::Engine as _;
    let encode = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "testbed", "cluster": {
            "server": api_url,
            "certificate-authority-data": encode(ca_pem.as_bytes()),
        }}],
        "users": [{"name": "testbed-admin", "user": {
            "client-certificate-data": encode(admin.cert_pem.as_bytes()),
            "client-key-data": encode(admin.key_pem.as_bytes()),
        }}],
        "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": "testbed-admin"}}],
        "current-context": "testbed",
    });
    serde_saphyr::to_string(&doc).map_err(|e| Error::Kubeconfig(e.to_string()))
}

/// Sends an idempotent request again when it failed in transport: with
/// several test beds starting at once on 2 cores, a fresh API server now
/// and then closes a connection mid-request ("peer closed connection
/// without sending TLS close_notify"). An answer from the API server, even
/// an error, is returned at once.
async fn retry_transport<T, F, Fut>(mut send: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut attempt: u32 = 0;
    loop {
        match send().await {
            Err(e) if attempt < 5 && !matches!(e, kube::Error::Api(_)) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            answer => return answer,
        }
    }
}

/// Server-side applies CRDs and waits until each is Established.
pub async fn install_crds(client: &Client, crds: &[CustomResourceDefinition]) -> Result<(), Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("scvmm-testbed").force();
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let mut body = serde_json::to_value(crd).map_err(|e| Error::Manifest {
            path: PathBuf::from(&name),
            detail: e.to_string(),
        })?;
        body["apiVersion"] = "apiextensions.k8s.io/v1".into();
        body["kind"] = "CustomResourceDefinition".into();
        let patch = Patch::Apply(&body);
        retry_transport(|| api.patch(&name, &pp, &patch))
            .await
            .map_err(kube_err(format!("installing CRD {name}")))?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        loop {
            let current = retry_transport(|| api.get(&name))
                .await
                .map_err(kube_err(format!("reading CRD {name}")))?;
            let established = current
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: format!("CRD {name}"),
                    seconds: 60,
                    detail: "not Established".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

async fn wait_for_port(
    supervisor: &mut Supervisor,
    name: &str,
    port: u16,
    limit: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + limit;
    loop {
        supervisor.check_alive()?;
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: name.into(),
                seconds: limit.as_secs(),
                detail: format!(
                    "port {port} never opened; log:\n{}",
                    supervisor.log_tail(name, 30)
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET path` over plain HTTP on loopback; true on a 200 answer.
pub(crate) async fn http_ok(port: u16, path: &str) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200")
        || String::from_utf8_lossy(&buf).starts_with("HTTP/1.0 200")
}
