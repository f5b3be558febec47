//! Shared set-up of the lifecycle tests: the real local control plane with
//! Cluster API, scvmm-sim in process, our controller in process, and the
//! objects a user applies for one cluster.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use clap::Parser;
use e2e::testbed::TestCluster;
use kube::Client;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use operator::api;
use operator::controller::{Context, Settings, cluster, template};
use operator::controller::{WatchOptions, machine};
use operator::metrics::Metrics;
use scvmm_sim::backend::PowerShellBackend;
use scvmm_sim::cli::Args;
use scvmm_sim::vmm::SystemClock;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const USER: &str = "CORP\\capi-svc";
pub const PASSWORD: &str = "scvmm-sim";
pub const USER_DATA: &str = "#cloud-config\nruncmd:\n  - echo hello\n";

pub fn dynamic_api(
    client: &Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

pub fn obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

/// The world of one test.
pub struct Env {
    pub tb: TestCluster,
    pub client: Client,
    pub ns: String,
    pub sim: scvmm_sim::server::RunningSim,
    pub sim_url: String,
    pub controller: Option<tokio::task::JoinHandle<()>>,
    pub ctx: Option<Arc<Context>>,
}

impl Env {
    pub async fn start(prefix: &str) -> Env {
        Env::start_with(prefix, false).await
    }

    /// Like [`Env::start`], with the in-cluster IPAM provider running too
    /// when `ipam` is set.
    pub async fn start_with(prefix: &str, ipam: bool) -> Env {
        Env::start_scaled(prefix, ipam, 0.01).await
    }

    /// Like [`Env::start_with`], with the emulator's latency model scaled
    /// by `latency_scale` (job durations, guest boot delay, light refresh).
    pub async fn start_scaled(prefix: &str, ipam: bool, latency_scale: f64) -> Env {
        // RUST_LOG=operator=debug shows the controllers' logs with the test's.
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let mut builder = TestCluster::builder().with_crds(api::crds()).with_capi();
        if ipam {
            builder = builder.with_ipam_in_cluster();
        }
        let tb = builder
            .start()
            .await
            .expect("test bed with Cluster API starts");
        let client = tb.client().await.unwrap();
        let ns = tb.create_namespace(prefix).await.unwrap();
        let scale = latency_scale.to_string();
        let args = Args::parse_from([
            "scvmm-sim",
            "--listen",
            "127.0.0.1:0",
            "--latency-scale",
            scale.as_str(),
        ]);
        let sim = scvmm_sim::server::start(&args, |vmm| {
            Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
                vmm,
                Arc::new(SystemClock),
            )))
        })
        .await
        .unwrap();
        let sim_url = format!("http://127.0.0.1:{}", sim.handle.local_addr().port());
        Env {
            tb,
            client,
            ns,
            sim,
            sim_url,
            controller: None,
            ctx: None,
        }
    }

    pub fn api(&self, kind: &str) -> Api<DynamicObject> {
        match kind {
            "Cluster" | "Machine" => {
                dynamic_api(&self.client, &self.ns, "cluster.x-k8s.io", "v1beta2", kind)
            }
            _ => dynamic_api(&self.client, &self.ns, api::GROUP, api::VERSION, kind),
        }
    }

    /// Starts our controller in this process.
    pub fn start_controller(&mut self) {
        self.start_controller_with(
            self.client.clone(),
            Settings {
                resync: Duration::from_secs(30),
                poll_interval: Duration::from_secs(5),
                orphan_grace: Duration::from_secs(3),
                busy_poll_interval: Duration::from_millis(200),
                ..Settings::default()
            },
            4,
        );
    }

    /// Starts our controller in this process with its own client (a
    /// benchmark counts that client's requests), settings and concurrency.
    pub fn start_controller_with(&mut self, client: Client, settings: Settings, concurrency: u16) {
        let ctx = Context::new(client, Arc::new(Metrics::default()), settings);
        let opts = WatchOptions {
            namespace: Some(self.ns.clone()),
            watch_filter: None,
            concurrency,
        };
        self.ctx = Some(ctx.clone());
        self.controller = Some(tokio::spawn(async move {
            futures::future::join3(
                machine::run(ctx.clone(), opts.clone(), std::future::pending()),
                cluster::run(ctx.clone(), opts.clone(), std::future::pending()),
                template::run(ctx, opts, std::future::pending()),
            )
            .await;
        }));
    }

    /// Kills the controller abruptly (the task is aborted wherever it is).
    pub async fn kill_controller(&mut self) {
        if let Some(h) = self.controller.take() {
            h.abort();
            let _ = h.await;
        }
    }

    /// Rotates the password in the credentials Secret `secret`, as an
    /// operator would with `kubectl patch` (the controllers must pick it up
    /// without a restart).
    pub async fn set_password(&self, secret: &str, password: &str) {
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), &self.ns);
        secrets
            .patch(
                secret,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"stringData": {"password": password}})),
            )
            .await
            .unwrap();
    }

    /// Credentials Secret, ScvmmCluster and Cluster (the ScvmmCluster
    /// controller reports the infrastructure provisioned).
    pub async fn create_cluster(&self, name: &str, password: &str) {
        let pp = PostParams::default();
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), &self.ns);
        secrets
            .create(
                &pp,
                &serde_json::from_value(json!({
                    "metadata": {"name": format!("{name}-vmm")},
                    "stringData": {"username": USER, "password": password},
                }))
                .unwrap(),
            )
            .await
            .unwrap();
        let gv = format!("{}/{}", api::GROUP, api::VERSION);
        self.api("ScvmmCluster")
            .create(&pp, &obj(json!({
                "apiVersion": gv, "kind": "ScvmmCluster",
                "metadata": {"name": name},
                "spec": {
                    "controlPlaneEndpoint": {"host": "10.20.0.10", "port": 6443},
                    "server": {"endpoint": self.sim_url, "scheme": "HTTP", "auth": "NTLM",
                               "credentialsRef": {"name": format!("{name}-vmm")},
                               "libraryShare": "\\\\vmm01.contoso.com\\MSSCVMMLibrary\\capi-seeds"},
                    "failureDomains": [
                        {"name": "rack1", "controlPlane": true, "hostGroup": "All Hosts\\Prod\\Rack1"},
                        {"name": "rack2", "hostGroup": "All Hosts\\Prod\\Rack2"},
                    ],
                },
            })))
            .await
            .unwrap();
        self.api("Cluster")
            .create(&pp, &obj(json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster",
                "metadata": {"name": name},
                "spec": {
                    "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}},
                    "infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmCluster", "name": name},
                },
            })))
            .await
            .unwrap();
    }

    /// Bootstrap Secret, ScvmmMachine and Machine.
    pub async fn create_machine(&self, cluster: &str, name: &str, spec: Value) {
        let pp = PostParams::default();
        let secrets: Api<k8s_openapi::api::core::v1::Secret> =
            Api::namespaced(self.client.clone(), &self.ns);
        secrets
            .create(&pp, &serde_json::from_value(json!({
                "metadata": {"name": format!("{name}-bootstrap"), "labels": {"cluster.x-k8s.io/cluster-name": cluster}},
                "type": "cluster.x-k8s.io/secret",
                "stringData": {"value": USER_DATA, "format": "cloud-config"},
            })).unwrap())
            .await
            .unwrap();
        let gv = format!("{}/{}", api::GROUP, api::VERSION);
        self.api("ScvmmMachine")
            .create(&pp, &obj(json!({
                "apiVersion": gv, "kind": "ScvmmMachine",
                "metadata": {"name": name, "labels": {"cluster.x-k8s.io/cluster-name": cluster}},
                "spec": spec,
            })))
            .await
            .unwrap();
        self.api("Machine")
            .create(&pp, &obj(json!({
                "apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine",
                "metadata": {"name": name, "labels": {"cluster.x-k8s.io/cluster-name": cluster}},
                "spec": {
                    "clusterName": cluster,
                    "failureDomain": "rack1",
                    "bootstrap": {"dataSecretName": format!("{name}-bootstrap")},
                    "infrastructureRef": {"apiGroup": api::GROUP, "kind": "ScvmmMachine", "name": name},
                },
            })))
            .await
            .unwrap();
    }

    /// VMs in the emulator whose name is `name`.
    pub fn vms_named(&self, name: &str) -> usize {
        let vmm = self.sim.vmm.lock().unwrap();
        vmm.state().vms.iter().filter(|v| v.name == name).count()
    }
}

/// The default machine spec: a template VM on one static address.
pub fn machine_spec(ip: &str) -> Value {
    json!({
        "vmTemplate": "Ubuntu 24.04",
        "cpuCount": 2,
        "memory": "4Gi",
        "network": {"devices": [{
            "name": "eth0", "vmNetwork": "Prod-VLAN100",
            "addresses": [format!("{ip}/24")], "gateway4": "10.20.0.1", "nameservers": ["10.20.0.2"],
        }]},
    })
}

/// Polls until `check` holds, or fails with the last object seen.
pub async fn eventually(
    api: &Api<DynamicObject>,
    name: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let current = api
            .get_opt(name)
            .await
            .map(|o| o.map(|o| serde_json::to_value(o).unwrap()));
        if let Ok(Some(v)) = &current
            && check(v)
        {
            return v.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; last seen: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls until `name` is gone.
pub async fn gone(api: &Api<DynamicObject>, name: &str, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let current = api.get_opt(name).await.unwrap();
        if current.is_none() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}; last seen: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The condition `type_` of an object.
pub fn condition(v: &Value, type_: &str) -> Option<Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

/// Runs PowerShell on the emulator as an administrator would, behind the
/// controller's back.
pub async fn admin_ps(env: &Env, script: &str) -> String {
    use wsman::client::{Pool, RunOptions, run_powershell};
    use wsman::transport::{ClientAuth, ClientConfig, Connector};
    let url = format!("{}/wsman", env.sim_url);
    let config = ClientConfig::new(
        &url,
        ClientAuth::Ntlm {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    let pool = Pool::new(Connector::new(config).unwrap(), &url, 1);
    let out = run_powershell(&pool, script, &RunOptions::default())
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0), "admin script failed: {out:?}");
    out.stdout.trim().to_string()
}

/// Adds a fault rule to the emulator.
pub fn add_fault(env: &Env, rule: Value) {
    let rule: scvmm_sim::vmm::FaultRule = serde_json::from_value(rule).unwrap();
    rule.validate().unwrap();
    env.sim.vmm.lock().unwrap().faults_mut().add(rule);
}

/// Removes every fault rule.
pub fn clear_faults(env: &Env) {
    env.sim.vmm.lock().unwrap().faults_mut().clear();
}

/// Waits until the machine is provisioned and Ready.
pub async fn provisioned(env: &Env, name: &str, timeout: Duration) -> Value {
    eventually(
        &env.api("ScvmmMachine"),
        name,
        &format!("{name} is provisioned and Ready"),
        timeout,
        |v| {
            v["status"]["initialization"]["provisioned"] == true
                && condition(v, "Ready").is_some_and(|c| c["status"] == "True")
        },
    )
    .await
}

/// Waits until the machine's `type_` condition has `reason`.
pub async fn reason(env: &Env, name: &str, type_: &str, reason: &str, timeout: Duration) -> Value {
    eventually(
        &env.api("ScvmmMachine"),
        name,
        &format!("{name} has {type_} reason {reason}"),
        timeout,
        |v| condition(v, type_).is_some_and(|c| c["reason"] == reason),
    )
    .await
}

/// A fingerprint of every write SCVMM has seen: jobs submitted, VMs, files
/// in libraries and on hosts, and IP grants. Reads leave it unchanged.
pub fn scvmm_writes(env: &Env) -> (u64, usize, usize, usize) {
    let vmm = env.sim.vmm.lock().unwrap();
    let s = vmm.state();
    (s.job_seq, s.vms.len(), s.files.len(), s.allocations.len())
}

/// Applies an object with server-side apply (as `kubectl apply
/// --server-side` would).
pub async fn apply(env: &Env, api: &Api<DynamicObject>, v: Value) {
    let name = v["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(
        &name,
        &kube::api::PatchParams::apply("cluster-test").force(),
        &kube::api::Patch::Apply(v),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {name} in {}: {e}", env.ns));
}

/// A machine spec whose address is granted from the emulator's static IP
/// pool, so deleting the machine has an SCVMM IP grant to revoke.
pub fn pool_machine_spec() -> Value {
    json!({
        "vmTemplate": "Ubuntu 24.04",
        "cpuCount": 2,
        "memory": "4Gi",
        "network": {"devices": [{
            "name": "eth0", "vmNetwork": "Prod-VLAN100", "scvmmIPPool": "Prod-VLAN100-Pool",
        }]},
    })
}

/// Takes the emulator's WinRM endpoint down: from now on every WinRM
/// request is dropped without an answer, and the connections already open
/// are closed (kept-alive ones would otherwise see nothing until their
/// next request). The rule's fire count is the number of requests that
/// reached the endpoint meanwhile, see [`requests_while_down`].
pub fn scvmm_down(env: &Env) {
    add_fault(
        env,
        json!({"operation": "WinRM:*", "effect": "DropConnection"}),
    );
    env.sim.handle.drop_connections();
}

/// WinRM requests the endpoint received (and dropped) since [`scvmm_down`].
pub fn requests_while_down(env: &Env) -> u32 {
    env.sim
        .vmm
        .lock()
        .unwrap()
        .faults_mut()
        .rules()
        .filter(|(r, _)| {
            r.operation == "WinRM:*" && r.effect == scvmm_sim::vmm::FaultEffect::DropConnection
        })
        .map(|(_, n)| n)
        .sum()
}

/// The emulator's VMs: (name, status).
pub fn vms(env: &Env) -> Vec<(String, String)> {
    let vmm = env.sim.vmm.lock().unwrap();
    vmm.state()
        .vms
        .iter()
        .map(|v| (v.name.clone(), v.status.to_string()))
        .collect()
}

/// The status of the VM named `name`, if there is one.
pub fn vm_status(env: &Env, name: &str) -> Option<String> {
    vms(env)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
}

/// The instance UUID of a machine's `spec.providerID`.
pub fn instance_of(sm: &Value) -> Option<String> {
    sm["spec"]["providerID"]
        .as_str()
        .and_then(|p| p.strip_prefix("scvmm://"))
        .map(str::to_ascii_lowercase)
}

/// The invariant every outage and restart test ends with: nothing lost
/// (each ScvmmMachine in the namespace is one of `live`, provisioned and
/// Ready, with exactly one VM), nothing leaked (no VM, seed ISO, library
/// seed file or IP grant of ours without a live machine, and every
/// machine of `deleted` is gone, so no finalizer is stuck).
pub async fn assert_nothing_lost_nothing_leaked(env: &Env, live: &[&str], deleted: &[&str]) {
    let machines = env
        .api("ScvmmMachine")
        .list(&Default::default())
        .await
        .unwrap();
    let mut names: Vec<String> = machines
        .items
        .iter()
        .map(|m| m.metadata.name.clone().unwrap_or_default())
        .collect();
    names.sort();
    let mut want: Vec<String> = live.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "exactly the live machines remain");
    let mut instances = Vec::new();
    for m in &machines.items {
        let v = serde_json::to_value(m).unwrap();
        let name = m.metadata.name.clone().unwrap_or_default();
        assert!(
            m.metadata.deletion_timestamp.is_none(),
            "{name} is not stuck in deletion: {v:#}"
        );
        assert_eq!(
            v["status"]["initialization"]["provisioned"], true,
            "{name} is provisioned: {v:#}"
        );
        assert_eq!(
            condition(&v, "Ready").map(|c| c["status"].clone()),
            Some(json!("True")),
            "{name} is Ready: {v:#}"
        );
        assert_eq!(env.vms_named(&name), 1, "exactly one VM for {name}");
        instances.push(instance_of(&v).unwrap_or_else(|| panic!("{name} has an identity")));
    }
    for name in deleted {
        assert!(
            env.api("ScvmmMachine")
                .get_opt(name)
                .await
                .unwrap()
                .is_none(),
            "{name} is gone (no finalizer stuck)"
        );
        assert!(
            env.api("Machine").get_opt(name).await.unwrap().is_none(),
            "the Machine {name} is gone"
        );
    }
    let vmm = env.sim.vmm.lock().unwrap();
    let s = vmm.state();
    let mine = |text: &str| {
        let text = text.to_ascii_lowercase();
        instances.iter().any(|i| text.contains(i.as_str()))
    };
    let stray_vms: Vec<&str> = s
        .vms
        .iter()
        .filter(|v| !live.contains(&v.name.as_str()))
        .map(|v| v.name.as_str())
        .collect();
    assert!(
        stray_vms.is_empty(),
        "no VM without a machine: {stray_vms:?}"
    );
    // Every live machine is provisioned, so its seed was ejected and
    // deleted too: no seed of anyone may be left.
    let seeds: Vec<&str> = s
        .isos
        .iter()
        .map(|i| i.name.as_str())
        .filter(|n| n.contains("capi-seed"))
        .collect();
    assert!(seeds.is_empty(), "no seed ISO left: {seeds:?}");
    let seed_files: Vec<&str> = s
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| p.contains("capi-seed"))
        .collect();
    assert!(
        seed_files.is_empty(),
        "no seed file left in a library: {seed_files:?}"
    );
    let stray_grants: Vec<&str> = s
        .allocations
        .iter()
        .map(|a| a.description.as_str())
        .filter(|d| d.starts_with("capi-scvmm:") && !mine(d))
        .collect();
    assert!(
        stray_grants.is_empty(),
        "no IP grant without a machine: {stray_grants:?}"
    );
    let grants = s
        .allocations
        .iter()
        .filter(|a| a.description.starts_with("capi-scvmm:"))
        .count();
    assert!(
        grants <= live.len(),
        "at most one grant per live machine: {grants}"
    );
}

/// Everything logged in this test process since [`capture_logs`], as text.
pub fn captured_logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).into_owned())
        .unwrap_or_default()
}

static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends the logs of every test in this process (our crates at debug) to
/// a buffer [`captured_logs`] reads, for assertions on what a log must
/// never contain. The first call installs the global subscriber; later
/// calls do nothing.
pub fn capture_logs() {
    let buffer = LOGS.get_or_init(Arc::default).clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,operator=debug,wsman=debug,scvmm_sim=debug",
        ))
        .with_ansi(false)
        .with_writer(move || LogBuffer(buffer.clone()))
        .try_init();
}
