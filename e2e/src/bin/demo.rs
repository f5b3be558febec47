//! `just demo`: the product end to end on one machine. Starts the
//! end-to-end environment ([`e2e::harness::E2eEnv`]: the local management
//! cluster with the Cluster API core, kubeadm bootstrap and kubeadm
//! control-plane managers, our `manager` binary and the `scvmm-sim` binary),
//! creates cluster `demo` in namespace `demo` from our default cluster
//! template (rendered by `clusterctl generate cluster`, with a workload API
//! server at its control-plane endpoint), and shows its machines coming up
//! until each is Running with a Node in the workload cluster. It then prints
//! where to look and keeps running.
//!
//! Ctrl-C deletes the cluster (waiting up to 60 s for its VMs to go; a
//! second Ctrl-C skips the wait), then stops every process and removes the
//! test bed directory. SIGTERM skips the deletion.
//!
//! Flags (each also read from an environment variable):
//! - `--latency-scale` (`SCVMM_DEMO_LATENCY_SCALE`, 0.05): scvmm-sim's job
//!   durations (1.0: VM create 30 s, start 10 s);
//! - `--control-plane-machines` (`SCVMM_DEMO_CONTROL_PLANE_MACHINES`, 1;
//!   only 1 works for now: KCP adds machines once the first one's etcd
//!   member and control-plane Pods are healthy, and emulated guests run
//!   neither);
//! - `--worker-machines` (`SCVMM_DEMO_WORKER_MACHINES`, 2);
//! - `--exit-when-running SECONDS` (`SCVMM_DEMO_EXIT_WHEN_RUNNING`): exit 0
//!   as soon as every machine is Running with a Node (tearing down without
//!   deleting the cluster), exit 1 if that takes longer than SECONDS from
//!   the start (used by the tests).
//!
//! The `manager` and `scvmm-sim` binaries must be built (`just binaries`);
//! the test bed is built on first use (`just testbed`).

use clap::Parser;
use e2e::harness::checks::{self, MachineView};
use e2e::harness::{E2eEnv, Options, SIM_PASSWORD, SIM_USER};
use e2e::testbed::Error;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};

const NAMESPACE: &str = "demo";
const CLUSTER: &str = "demo";
/// Printed once every machine is up; the tests look for it.
const ALL_RUNNING: &str = "every machine is Running with a Node";
/// How long a Ctrl-C waits for the cluster's VMs to be deleted.
const DELETE_LIMIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(2);
/// Without a terminal, an unchanged table is printed again this often, so
/// a log still shows the demo is alive.
const PLAIN_REPEAT: Duration = Duration::from_secs(30);

/// Runs a cluster on scvmm-sim with the real Cluster API controllers and
/// our operator, and shows its machines coming up.
#[derive(Debug, Parser)]
#[command(name = "demo")]
struct Args {
    /// scvmm-sim's job durations (1.0: VM create 30 s, start 10 s); small
    /// enough to be quick, large enough to watch the jobs progress.
    #[arg(long, env = "SCVMM_DEMO_LATENCY_SCALE", default_value_t = 0.05)]
    latency_scale: f64,
    /// Control-plane machines of the sample cluster; only 1 works on
    /// scvmm-sim for now (its guests run no etcd for KCP to check before
    /// it adds a second).
    #[arg(long, env = "SCVMM_DEMO_CONTROL_PLANE_MACHINES", default_value_t = 1)]
    control_plane_machines: u32,
    /// Worker machines of the sample cluster.
    #[arg(long, env = "SCVMM_DEMO_WORKER_MACHINES", default_value_t = 2)]
    worker_machines: u32,
    /// Exit 0 once every machine is Running with a Node; exit 1 if that
    /// takes longer than this many seconds.
    #[arg(long, env = "SCVMM_DEMO_EXIT_WHEN_RUNNING", value_name = "SECONDS")]
    exit_when_running: Option<u64>,
}

/// A failure as the user sees it: what failed, the error, what to do.
struct Failure {
    what: String,
    error: String,
    hint: String,
}

impl Failure {
    fn new(what: impl Into<String>, error: impl ToString, hint: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            error: error.to_string(),
            hint: hint.into(),
        }
    }

    /// A harness error, with the advice that fits its kind.
    fn from_env(what: &str, e: &Error) -> Self {
        let text = e.to_string();
        let hint = match e {
            Error::NotBuilt { .. } => {
                "for the demo, `bash .ci/just binaries` builds both (`bash .ci/just demo` builds them, then starts)"
                    .to_string()
            }
            Error::Build { .. } => {
                "run `bash .ci/just testbed` to build the test bed and see the whole build output"
                    .into()
            }
            Error::Spawn { .. } | Error::Clusterctl { .. } => {
                "a test bed binary is missing or broken; `bash .ci/just testbed binaries` rebuilds what is missing"
                    .into()
            }
            _ if text.to_ascii_lowercase().contains("address already in use") => {
                "another process took a port the demo had picked; run the demo again".into()
            }
            Error::Exited { .. } => "its last log lines are below".into(),
            Error::Timeout { .. } => {
                "the machine may be too busy (everything runs on it): stop other test runs and run the demo again"
                    .into()
            }
            _ => "run the demo again, and report it if it keeps failing".into(),
        };
        Self::new(format!("{what} failed"), text, hint)
    }

    fn print(&self) {
        let mut lines = self.error.lines();
        let head = lines
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', ':', ' ']);
        eprintln!("demo: {}: {head} — {}", self.what, self.hint);
        let rest: Vec<&str> = lines.collect();
        if !rest.is_empty() {
            eprintln!("{}", rest.join("\n"));
        }
    }
}

/// Why the demo stops.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupt,
    Terminate,
}

struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> Result<Self, Failure> {
        let listen = |kind| {
            signal(kind).map_err(|e| {
                Failure::new(
                    "listening for Ctrl-C and SIGTERM",
                    e,
                    "the demo needs them to clean up; run it from an ordinary shell",
                )
            })
        };
        Ok(Self {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(failure) => {
            failure.print();
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, Failure> {
    check_args(&args)?;
    let started = Instant::now();
    let mut signals = Signals::new()?;
    println!(
        "demo: starting the management cluster (etcd, kube-apiserver, Cluster API core, kubeadm bootstrap and control plane), our manager and scvmm-sim …"
    );
    let options = Options {
        latency_scale: args.latency_scale,
        ..Options::default()
    };
    // Dropping a half-started environment stops what it had started.
    let mut env = tokio::select! {
        env = E2eEnv::start(options) => {
            env.map_err(|e| Failure::from_env("starting the environment", &e))?
        }
        _ = signals.next() => {
            println!("demo: stopped before the environment was up; nothing is left running");
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!(
        "demo: management cluster up in {:.1} s; creating cluster {NAMESPACE}/{CLUSTER} ({}) …",
        env.bed.started_in().as_secs_f64(),
        machine_counts(args.control_plane_machines, args.worker_machines)
    );

    let created = tokio::select! {
        r = create(&mut env, &args) => Some(r),
        _ = signals.next() => None,
    };
    let workload = match created {
        Some(Ok(w)) => w,
        Some(Err(f)) => return Err(f.keep_logs(&env)),
        None => {
            println!("demo: stopped while creating the cluster");
            teardown(env);
            return Ok(ExitCode::SUCCESS);
        }
    };

    let info = where_to_look(&env, &args, &workload.kubeconfig_path);
    let outcome = watch(
        &mut env,
        &args,
        &workload.client,
        &info,
        started,
        &mut signals,
    )
    .await;
    match outcome {
        Ok(Watched::AllRunning) => {
            teardown(env);
            Ok(ExitCode::SUCCESS)
        }
        Ok(Watched::Stopped(stop)) => {
            if stop == Stop::Interrupt {
                delete_cluster(&env, &mut signals).await;
            }
            teardown(env);
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => Err(f.keep_logs(&env)),
    }
}

fn check_args(args: &Args) -> Result<(), Failure> {
    if !args.latency_scale.is_finite() || args.latency_scale < 0.0 {
        return Err(Failure::new(
            "checking --latency-scale",
            format!("{} is not a number ≥ 0", args.latency_scale),
            "pass e.g. --latency-scale 0.05 (the default)",
        ));
    }
    // KCP adds a control-plane machine only once the existing ones have a
    // healthy etcd member and control-plane Pods; the emulator's guests run
    // neither, so a second machine would never come and the demo would wait
    // for ever.
    if args.control_plane_machines != 1 {
        return Err(Failure::new(
            "checking --control-plane-machines",
            "only 1 works on scvmm-sim: the kubeadm control plane adds machines once etcd and the control-plane Pods of the first are healthy, and the emulated guests run neither",
            "use --control-plane-machines 1 (the default)",
        ));
    }
    Ok(())
}

fn machine_counts(control_plane: u32, workers: u32) -> String {
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}",
        plural(
            control_plane,
            "control-plane machine",
            "control-plane machines"
        ),
        plural(workers, "worker", "workers")
    )
}

/// The workload cluster as the demo uses it.
struct Workload {
    client: Client,
    kubeconfig_path: PathBuf,
}

async fn create(env: &mut E2eEnv, args: &Args) -> Result<Workload, Failure> {
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    let absent = namespaces
        .get_opt(NAMESPACE)
        .await
        .map_err(|e| Failure::from_env("reading namespace demo", &kube_error(e)))?
        .is_none();
    if absent {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(NAMESPACE.into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .map_err(|e| Failure::from_env("creating namespace demo", &kube_error(e)))?;
    }
    let server = env
        .create_cluster(
            NAMESPACE,
            CLUSTER,
            args.control_plane_machines,
            args.worker_machines,
            |_| {},
        )
        .await
        .map_err(|e| Failure::from_env("creating the cluster", &e))?;
    let kubeconfig_path = env.bed.dir().join(format!("{CLUSTER}.kubeconfig"));
    std::fs::write(&kubeconfig_path, server.kubeconfig()).map_err(|e| {
        Failure::new(
            format!("writing {}", kubeconfig_path.display()),
            e,
            "check the free space in the temporary directory",
        )
    })?;
    let client = server
        .client()
        .await
        .map_err(|e| Failure::from_env("connecting to the workload cluster", &e))?;
    Ok(Workload {
        client,
        kubeconfig_path,
    })
}

fn kube_error(source: kube::Error) -> Error {
    Error::Kube {
        doing: "talking to the management cluster".into(),
        source,
    }
}

impl Failure {
    /// The test bed directory goes with the environment; a failure keeps a
    /// copy of its logs so that the advice "look at the logs" can be taken.
    fn keep_logs(mut self, env: &E2eEnv) -> Self {
        if let Some(dir) = copy_logs(env.bed.dir()) {
            self.hint = format!("{}; logs kept in {}", self.hint, dir.display());
        }
        self
    }
}

fn copy_logs(from: &Path) -> Option<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let to = std::env::temp_dir().join(format!("scvmm-demo-logs-{stamp}"));
    std::fs::create_dir_all(&to).ok()?;
    for entry in std::fs::read_dir(from).ok()?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            std::fs::copy(&path, to.join(entry.file_name())).ok()?;
        }
    }
    Some(to)
}

/// The lines that tell a user where to look, shown above the table.
fn where_to_look(env: &E2eEnv, args: &Args, workload_kubeconfig: &Path) -> Vec<String> {
    let mgmt = env.bed.kubeconfig_path().display().to_string();
    let sim = format!("http://127.0.0.1:{}", env.sim_port);
    vec![
        format!(
            "cluster {NAMESPACE}/{CLUSTER}: {}, default template, scvmm-sim latency scale {}",
            machine_counts(args.control_plane_machines, args.worker_machines),
            args.latency_scale
        ),
        String::new(),
        format!("  management cluster  export KUBECONFIG={mgmt}"),
        format!("                      kubectl get cluster,machines,scvmmmachines -n {NAMESPACE}"),
        format!(
            "                      {} describe cluster {CLUSTER} -n {NAMESPACE}",
            env.bed.binaries().clusterctl.display()
        ),
        format!(
            "  workload cluster    export KUBECONFIG={}",
            workload_kubeconfig.display()
        ),
        "                      kubectl get nodes".into(),
        format!(
            "  scvmm-sim           {sim}/sim/ (user {SIM_USER}, password {SIM_PASSWORD}); WinRM at {sim}/wsman"
        ),
        format!(
            "  logs                {}/ (manager-1.log, scvmm-sim.log, capi-manager.log, …)",
            env.bed.dir().display()
        ),
        String::new(),
        if args.exit_when_running.is_some() {
            "The demo exits once every machine is Running with a Node.".into()
        } else {
            "Ctrl-C deletes the cluster, then stops everything and removes the logs directory."
                .into()
        },
    ]
}

enum Watched {
    AllRunning,
    Stopped(Stop),
}

/// One Machine's row and how long it has taken so far.
struct Row {
    machine: MachineView,
    vm: Option<Vm>,
}

#[derive(Clone)]
struct Vm {
    name: String,
    instance: Option<String>,
    state: String,
    addresses: Vec<String>,
}

/// What the table shows, read once per redraw.
#[derive(Default)]
struct Snapshot {
    cluster_phase: Option<String>,
    /// (initialized, ready, desired)
    control_plane: Option<(bool, i64, i64)>,
    /// (ready, desired) over every MachineDeployment
    workers: Option<(i64, i64)>,
    /// (Nodes, Ready Nodes) in the workload cluster
    nodes: Option<(usize, usize)>,
    rows: Vec<Row>,
    waiting_on: Option<String>,
    problems: Vec<String>,
}

impl Snapshot {
    fn all_running(&self, control_plane: u32, workers: u32) -> bool {
        let want = |cp: bool, n: u32| {
            self.rows
                .iter()
                .filter(|r| r.machine.control_plane == cp)
                .count()
                == n as usize
        };
        want(true, control_plane)
            && want(false, workers)
            && self.rows.iter().all(|r| r.machine.running())
    }
}

async fn snapshot(env: &E2eEnv, workload: &Client) -> Snapshot {
    let mut snap = Snapshot::default();
    match env
        .api(NAMESPACE, "cluster.x-k8s.io", "v1beta2", "Cluster")
        .get_opt(CLUSTER)
        .await
    {
        Ok(c) => {
            snap.cluster_phase = c.and_then(|c| text(&c.data["status"]["phase"]));
        }
        Err(e) => snap.problems.push(format!("reading the Cluster: {e}")),
    }
    match env
        .api(
            NAMESPACE,
            "controlplane.cluster.x-k8s.io",
            "v1beta2",
            "KubeadmControlPlane",
        )
        .list(&ListParams::default())
        .await
    {
        Ok(list) => {
            snap.control_plane = list.items.first().map(|kcp| {
                let v = &kcp.data;
                (
                    v["status"]["initialization"]["controlPlaneInitialized"] == true,
                    v["status"]["readyReplicas"].as_i64().unwrap_or(0),
                    v["spec"]["replicas"].as_i64().unwrap_or(0),
                )
            });
        }
        Err(e) => snap
            .problems
            .push(format!("listing KubeadmControlPlanes: {e}")),
    }
    match env
        .api(
            NAMESPACE,
            "cluster.x-k8s.io",
            "v1beta2",
            "MachineDeployment",
        )
        .list(&ListParams::default())
        .await
    {
        Ok(list) => {
            snap.workers = Some(list.items.iter().fold((0, 0), |(ready, want), md| {
                (
                    ready + md.data["status"]["readyReplicas"].as_i64().unwrap_or(0),
                    want + md.data["spec"]["replicas"].as_i64().unwrap_or(0),
                )
            }));
        }
        Err(e) => snap
            .problems
            .push(format!("listing MachineDeployments: {e}")),
    }
    match Api::<Node>::all(workload.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(list) => {
            let ready = list.items.iter().filter(|n| node_ready(n)).count();
            snap.nodes = Some((list.items.len(), ready));
        }
        Err(e) => snap
            .problems
            .push(format!("listing the workload cluster's Nodes: {e}")),
    }
    let vms = match env.sim.vms().await {
        Ok(list) => list.iter().map(vm_view).collect(),
        Err(e) => {
            snap.problems.push(e.to_string());
            Vec::new()
        }
    };
    match checks::machines(env, NAMESPACE).await {
        Ok(machines) => {
            snap.rows = machines
                .into_iter()
                .map(|m| {
                    let instance = m
                        .provider_id
                        .as_deref()
                        .and_then(|p| p.strip_prefix("scvmm://"));
                    // The provider names the VM after the ScvmmMachine;
                    // the instance ID finds it even if it was renamed.
                    let vm = vms
                        .iter()
                        .find(|v| v.name == m.infrastructure)
                        .or_else(|| {
                            vms.iter()
                                .find(|v| instance.is_some() && v.instance.as_deref() == instance)
                        })
                        .cloned();
                    Row { machine: m, vm }
                })
                .collect();
            // Control plane first: it comes up first and the workers wait for it.
            snap.rows
                .sort_by_key(|r| (!r.machine.control_plane, r.machine.name.clone()));
        }
        Err(e) => snap.problems.push(e.to_string()),
    }
    let up: Vec<&str> = snap
        .rows
        .iter()
        .filter(|r| r.machine.running())
        .flat_map(|r| [r.machine.name.as_str(), r.machine.infrastructure.as_str()])
        .collect();
    snap.waiting_on = waiting_on(&checks::not_ready(env, NAMESPACE).await, &up);
    snap
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn vm_view(v: &Value) -> Vm {
    let power = text(&v["power"]).unwrap_or_default();
    let status = text(&v["status"]).unwrap_or_default();
    Vm {
        name: text(&v["name"]).unwrap_or_default(),
        instance: text(&v["customProperties"][checks::INSTANCE_PROPERTY]),
        // VMM's status says what a job is doing to the VM (UnderCreation,
        // UpdateFailed …); once it is settled it is the power state.
        state: if status.is_empty() || status == power {
            power
        } else {
            status
        },
        addresses: v["guestAddresses"]
            .as_array()
            .map(|a| a.iter().filter_map(text).collect())
            .unwrap_or_default(),
    }
}

/// The one object the user should look at first, from
/// [`checks::not_ready`]'s lines (`  Kind name: Type=Status/Reason: message;
/// ...`), with its first open condition. The deepest object explains the
/// others (a Machine waits on its ScvmmMachine, the Cluster on its
/// Machines); objects of machines that are up are left out, since Cluster
/// API keeps reporting on a control-plane machine what the emulator does not
/// run (etcd, control-plane Pods).
fn waiting_on(not_ready: &str, up: &[&str]) -> Option<String> {
    const DEPTH: [&str; 7] = [
        "ScvmmMachine",
        "Machine",
        "KubeadmConfig",
        "KubeadmControlPlane",
        "MachineDeployment",
        "ScvmmCluster",
        "Cluster",
    ];
    let pending: Vec<(&str, &str, Vec<String>)> = not_ready
        .lines()
        .filter_map(|l| {
            let (object, conditions) = l.trim().split_once(": ")?;
            let (kind, name) = object.split_once(' ')?;
            if conditions == "ok" {
                return None;
            }
            let open = open_conditions(conditions);
            (!open.is_empty() && !up.contains(&name)).then_some((kind, name, open))
        })
        .collect();
    DEPTH.iter().find_map(|depth| {
        let (kind, name, open) = pending.iter().find(|(kind, ..)| kind == depth)?;
        let more = match open.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        Some(format!("{kind} {name}: {}{more}", open[0]))
    })
}

/// `Type=Status/Reason: message` items of one [`checks::not_ready`] line
/// (messages may hold `; ` too), without the conditions that are False when
/// all is well, and without a Ready or Available condition that only
/// repeats another one.
fn open_conditions(line: &str) -> Vec<String> {
    const FALSE_WHEN_FINE: [&str; 6] = [
        "RollingOut",
        "ScalingUp",
        "ScalingDown",
        "Remediating",
        "Deleting",
        "Paused",
    ];
    let starts_condition = |piece: &str| {
        piece.split_once('=').is_some_and(|(t, rest)| {
            !t.is_empty()
                && t.chars().all(|c| c.is_ascii_alphanumeric())
                && ["True/", "False/", "Unknown/"]
                    .iter()
                    .any(|s| rest.starts_with(s))
        })
    };
    let mut items: Vec<String> = Vec::new();
    for piece in line.split("; ") {
        match items.last_mut() {
            Some(last) if !starts_condition(piece) => {
                last.push_str("; ");
                last.push_str(piece);
            }
            _ => items.push(piece.to_string()),
        }
    }
    let split = |c: &str| -> (String, String) {
        let (t, rest) = c.split_once('=').unwrap_or((c, ""));
        (t.to_string(), rest.trim_end().to_string())
    };
    let parsed: Vec<(String, String)> = items.iter().map(|c| split(c)).collect();
    parsed
        .iter()
        .filter(|(t, rest)| !(FALSE_WHEN_FINE.contains(&t.as_str()) && rest.starts_with("False/")))
        .filter(|(t, rest)| {
            !((t == "Ready" || t == "Available") && parsed.iter().any(|(o, r)| o != t && r == rest))
        })
        .map(|(t, rest)| format!("{t}={}", rest.trim_end_matches(':')))
        .collect()
}

async fn watch(
    env: &mut E2eEnv,
    args: &Args,
    workload: &Client,
    info: &[String],
    started: Instant,
    signals: &mut Signals,
) -> Result<Watched, Failure> {
    let terminal = std::io::stdout().is_terminal();
    let applied = started.elapsed();
    let deadline = args
        .exit_when_running
        .map(|s| started + Duration::from_secs(s));
    // First seen, and how long it took to be Running, per Machine.
    let mut timers: HashMap<String, (Instant, Option<Duration>)> = HashMap::new();
    let mut all_running_after: Option<Duration> = None;
    let mut last_plain: Option<(String, Instant)> = None;
    if terminal {
        print!("\x1b[2J\x1b[H");
    } else {
        println!("{}", info.join("\n"));
    }
    loop {
        env.bed
            .check_alive()
            .map_err(|e| Failure::from_env("running the cluster", &e))?;
        // A stuck API call must not keep a Ctrl-C waiting.
        let snap = tokio::select! {
            snap = snapshot(env, workload) => snap,
            stop = signals.next() => return Ok(Watched::Stopped(stop)),
        };
        let now = Instant::now();
        for r in &snap.rows {
            let t = timers.entry(r.machine.name.clone()).or_insert((now, None));
            if r.machine.running() && t.1.is_none() {
                t.1 = Some(now - t.0);
            }
        }
        let all_running = snap.all_running(args.control_plane_machines, args.worker_machines);
        if !all_running {
            all_running_after = None;
        } else if all_running_after.is_none() {
            all_running_after = Some(started.elapsed());
        }
        let status = match all_running_after {
            Some(after) => format!(
                "{ALL_RUNNING}: {} after the start ({} after the cluster was applied)",
                short(after),
                short(after.saturating_sub(applied))
            ),
            None => format!(
                "waiting on: {}",
                snap.waiting_on
                    .clone()
                    .unwrap_or_else(|| "the first objects to appear".into())
            ),
        };
        let status = match snap.control_plane {
            // KCP's ready count needs each control-plane machine's etcd
            // member and static Pods to be healthy; emulated guests run
            // neither, so a user would otherwise wait for it in vain.
            Some((true, ready, want)) if all_running && ready < want => format!(
                "{status}\nnote: the KubeadmControlPlane counts {ready}/{want} ready because it checks etcd and the control-plane Pods on its machines, which scvmm-sim's guests do not run"
            ),
            _ => status,
        };
        let table = render(&snap, &timers, now);
        if terminal {
            let header = format!("{}   up {}", summary(&snap), short(started.elapsed()));
            let mut notes = status.clone();
            for p in &snap.problems {
                notes.push_str(&format!("\nproblem: {p}"));
            }
            draw(info, &header, &table, &notes);
        } else {
            // Printed when something changed (counters aside) and now and
            // then, so that logs stay short.
            let key = format!("{}\n{}\n{}", summary(&snap), render_key(&snap), status);
            let due = match &last_plain {
                Some((last, at)) => *last != key || now.duration_since(*at) >= PLAIN_REPEAT,
                None => true,
            };
            if due {
                println!(
                    "\n[{}] {}\n{table}{status}",
                    short(started.elapsed()),
                    summary(&snap)
                );
                for p in &snap.problems {
                    println!("problem: {p}");
                }
                last_plain = Some((key, now));
            }
        }
        if all_running && deadline.is_some() {
            println!("demo: {ALL_RUNNING}");
            return Ok(Watched::AllRunning);
        }
        if let Some(deadline) = deadline
            && now > deadline
        {
            let seconds = args.exit_when_running.unwrap_or_default();
            let detail = checks::not_ready(env, NAMESPACE).await;
            return Err(Failure::new(
                format!("waiting {seconds} s for every machine to be Running with a Node"),
                format!(
                    "not every machine is Running with a Node ({})\nwhat is not ready:\n{detail}",
                    checks::describe(
                        &snap
                            .rows
                            .iter()
                            .map(|r| r.machine.clone())
                            .collect::<Vec<_>>()
                    )
                ),
                "the table and the conditions below say what is missing; a busy machine may need a larger --exit-when-running",
            ));
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            stop = signals.next() => return Ok(Watched::Stopped(stop)),
        }
    }
}

/// Redraws the frame in place: every line fits the width (commands and
/// messages wrapped, table rows cut) and the frame fits the height, so
/// drawing from the top left corner overwrites all of the last one.
fn draw(info: &[String], header: &str, table: &str, notes: &str) {
    let (rows, cols) = terminal_size();
    let mut frame: Vec<String> = Vec::new();
    push_wrapped(&mut frame, &info.join("\n"), cols);
    frame.push(String::new());
    push_wrapped(&mut frame, header, cols);
    frame.push(String::new());
    frame.extend(table.lines().map(|l| cut(l, cols).to_string()));
    frame.push(String::new());
    push_wrapped(&mut frame, notes, cols);
    frame.truncate(rows.saturating_sub(1));
    let mut out = String::from("\x1b[H");
    for line in &frame {
        let _ = writeln!(out, "{line}\x1b[K");
    }
    out.push_str("\x1b[J");
    print!("{out}");
    let _ = std::io::stdout().flush();
}

/// The cluster line above the table.
fn summary(snap: &Snapshot) -> String {
    let mut out = format!(
        "Cluster {CLUSTER}: {}",
        snap.cluster_phase.as_deref().unwrap_or("-")
    );
    if let Some((initialized, ready, want)) = snap.control_plane {
        let _ = write!(
            out,
            "   control plane: {}, {ready}/{want} ready",
            if initialized {
                "initialized"
            } else {
                "not initialized"
            }
        );
    }
    if let Some((ready, want)) = snap.workers {
        let _ = write!(out, "   workers: {ready}/{want} ready");
    }
    if let Some((nodes, ready)) = snap.nodes {
        let _ = write!(out, "   workload Nodes: {nodes} ({ready} Ready)");
    }
    out
}

const HEADERS: [&str; 8] = [
    "MACHINE",
    "ROLE",
    "PHASE",
    "TIME",
    "VM",
    "ADDRESS",
    "NODE",
    "PROVIDER ID",
];

fn cells(r: &Row, time: String) -> [String; 8] {
    let m = &r.machine;
    let dash = || "-".to_string();
    [
        m.name.clone(),
        if m.control_plane {
            "control-plane"
        } else {
            "worker"
        }
        .into(),
        match (m.phase.is_empty(), m.deleting) {
            (true, _) => dash(),
            (false, true) => format!("{} (deleting)", m.phase),
            (false, false) => m.phase.clone(),
        },
        time,
        r.vm.as_ref().map_or_else(dash, |v| v.state.clone()),
        r.vm.as_ref()
            .filter(|v| !v.addresses.is_empty())
            .map_or_else(dash, |v| v.addresses.join(",")),
        m.node.clone().unwrap_or_else(dash),
        m.provider_id.clone().unwrap_or_else(dash),
    ]
}

/// The machine table; TIME counts from when the demo first saw a Machine
/// until it was Running with a Node.
fn render(
    snap: &Snapshot,
    timers: &HashMap<String, (Instant, Option<Duration>)>,
    now: Instant,
) -> String {
    let rows: Vec<[String; 8]> = snap
        .rows
        .iter()
        .map(|r| {
            let time = match timers.get(&r.machine.name) {
                Some((_, Some(took))) => short(*took),
                Some((seen, None)) => short(now.duration_since(*seen)),
                None => "-".into(),
            };
            cells(r, time)
        })
        .collect();
    if rows.is_empty() {
        return "(no Machines yet)\n".into();
    }
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (c, w) in cells.iter().zip(widths) {
            let _ = write!(l, "{c:<w$}  ");
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(&HEADERS.map(str::to_string));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// The table without its counters, to tell whether anything changed.
fn render_key(snap: &Snapshot) -> String {
    snap.rows
        .iter()
        .map(|r| cells(r, String::new()).join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `42s`, `3m05s`, `1h02m`.
fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Appends the lines of `text`, each in pieces of at most `width`
/// characters.
fn push_wrapped(frame: &mut Vec<String>, text: &str, width: usize) {
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            frame.push(String::new());
        }
        frame.extend(chars.chunks(width.max(1)).map(|c| c.iter().collect()));
    }
}

/// At most `width` characters of `line`.
fn cut(line: &str, width: usize) -> &str {
    match line.char_indices().nth(width) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// The terminal's rows and columns (`stty size` on the controlling
/// terminal), asked each redraw so that a resized window is followed.
fn terminal_size() -> (usize, usize) {
    let fallback = (40, 120);
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return fallback;
    };
    let Ok(out) = std::process::Command::new("stty")
        .arg("size")
        .stdin(tty)
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return fallback;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(str::parse::<usize>);
    match (parts.next(), parts.next()) {
        (Some(Ok(rows)), Some(Ok(cols))) if rows > 0 && cols > 0 => (rows, cols),
        _ => fallback,
    }
}

/// Deletes the Cluster and waits until it and its VMs are gone, so that
/// a user sees the provider clean up before the processes stop. A second
/// Ctrl-C (or SIGTERM) ends the wait at once, whatever call is pending.
async fn delete_cluster(env: &E2eEnv, signals: &mut Signals) {
    println!(
        "\ndemo: deleting cluster {NAMESPACE}/{CLUSTER}: Cluster API deletes its machines, our manager their VMs (up to {} s; Ctrl-C again to skip) …",
        DELETE_LIMIT.as_secs()
    );
    let start = Instant::now();
    tokio::select! {
        done = tokio::time::timeout(DELETE_LIMIT, delete_and_wait(env)) => match done {
            Ok(Ok(())) => println!(
                "demo: cluster deleted and its VMs gone in {}",
                short(start.elapsed())
            ),
            Ok(Err(e)) => println!("demo: deleting the Cluster failed ({e}); stopping anyway"),
            Err(_) => println!(
                "demo: the cluster is not gone after {} s; stopping anyway",
                DELETE_LIMIT.as_secs()
            ),
        },
        _ = signals.next() => println!("demo: skipping the rest of the deletion"),
    }
}

/// Deletes the Cluster, then prints what is left whenever it changes until
/// neither the Cluster, its Machines nor its VMs are left.
async fn delete_and_wait(env: &E2eEnv) -> Result<(), kube::Error> {
    let clusters = env.api(NAMESPACE, "cluster.x-k8s.io", "v1beta2", "Cluster");
    match clusters.delete(CLUSTER, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e),
    }
    let mut last = String::new();
    loop {
        let cluster = clusters.get_opt(CLUSTER).await;
        let machines = checks::machines(env, NAMESPACE).await;
        let vms = checks::cluster_vms(env, NAMESPACE, CLUSTER).await;
        let state = match (&cluster, &machines, &vms) {
            (Ok(None), Ok(m), Ok(v)) if m.is_empty() && v.is_empty() => return Ok(()),
            (Ok(c), Ok(m), Ok(v)) => format!(
                "  {}{}, {} left",
                if c.is_some() { "the Cluster, " } else { "" },
                count(m.len(), "machine"),
                count(v.len(), "VM")
            ),
            // Passing API hiccups while things are being deleted.
            _ => "  (cannot read the cluster or the emulator right now)".into(),
        };
        if state != last {
            println!("{state}");
            last = state;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `1 VM`, `2 VMs`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Stops every process (dropping the environment does) and says so.
fn teardown(env: E2eEnv) {
    let dir = env.bed.dir().to_path_buf();
    println!(
        "demo: tearing down: stopping the manager, scvmm-sim, the Cluster API managers and the API servers; removing {}",
        dir.display()
    );
    drop(env);
    if dir.exists() {
        println!(
            "demo: stopped; {} could not be removed (remove it by hand)",
            dir.display()
        );
    } else {
        println!("demo: stopped; nothing is left running");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_READY: &str = "  Cluster demo: Available=False/NotAvailable: * ControlPlaneAvailable: Control plane not yet initialized; RollingOut=False/NotRollingOut: 
  ScvmmCluster demo: ok
  MachineDeployment demo-md-0: RollingOut=False/NotRollingOut: ; ScalingDown=False/NotScalingDown: 
  Machine demo-control-plane-abcde: Ready=False/NotReady: * EtcdMemberHealthy: no etcd; EtcdMemberHealthy=Unknown/InspectionFailed: no etcd
  Machine demo-md-0-x-1: Ready=False/NotReady: * NodeHealthy: Waiting; a; b; NodeHealthy=False/NodeNotFound: Waiting; a; b
  ScvmmMachine demo-control-plane-abcde: ok
  ScvmmMachine demo-md-0-x-1: Ready=False/WaitingForGuestAddresses: the VM runs; waiting for its addresses; VMProvisioned=False/WaitingForGuestAddresses: the VM runs; waiting for its addresses
";

    #[test]
    fn the_hint_names_the_deepest_object_with_its_specific_condition() {
        assert_eq!(
            waiting_on(NOT_READY, &[]).as_deref(),
            Some(
                "ScvmmMachine demo-md-0-x-1: VMProvisioned=False/WaitingForGuestAddresses: the VM runs; waiting for its addresses"
            )
        );
    }

    #[test]
    fn the_hint_leaves_out_machines_that_are_up_and_conditions_false_when_fine() {
        let up = ["demo-control-plane-abcde", "demo-md-0-x-1"];
        assert_eq!(
            waiting_on(NOT_READY, &up).as_deref(),
            Some(
                "Cluster demo: Available=False/NotAvailable: * ControlPlaneAvailable: Control plane not yet initialized"
            )
        );
        assert_eq!(
            open_conditions("RollingOut=False/NotRollingOut: ; ScalingUp=False/NotScalingUp:"),
            Vec::<String>::new()
        );
        assert_eq!(waiting_on("  ScvmmCluster demo: ok\n", &[]), None);
    }

    #[test]
    fn a_hint_with_several_open_conditions_counts_the_others() {
        let line = "  Machine m: NodeHealthy=False/NodeNotFound: x; BootstrapConfigReady=False/NotReady: y\n";
        assert_eq!(
            waiting_on(line, &[]).as_deref(),
            Some("Machine m: NodeHealthy=False/NodeNotFound: x (+1 more)")
        );
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short(Duration::from_secs(42)), "42s");
        assert_eq!(short(Duration::from_secs(185)), "3m05s");
        assert_eq!(short(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn frame_lines_fit_the_width() {
        let mut frame = Vec::new();
        push_wrapped(&mut frame, "abcdé\n\nxy", 2);
        assert_eq!(frame, ["ab", "cd", "é", "", "xy"]);
        assert_eq!(cut("abcdé", 5), "abcdé");
        assert_eq!(cut("abcdé", 4), "abcd");
    }
}
