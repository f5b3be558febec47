//! `just demo`: the product on its embedded defaults. Starts the local
//! control plane with the Cluster API managers, installs our CRDs, starts
//! scvmm-sim and our machine controller in this process, applies the sample
//! cluster (`deploy/samples/demo-cluster.yaml`) and shows a live table of
//! the cluster, its machines and their VMs until Ctrl-C, then tears it all
//! down. `--exit-when-provisioned` stops once every machine is provisioned
//! (used by the tests).
//!
//! Not yet: Nodes joining a workload cluster (issue #7), so Machines stop
//! at Provisioned.

use clap::Parser;
use e2e::manifests;
use e2e::testbed::TestCluster;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const SAMPLE: &str = include_str!("../../../deploy/samples/demo-cluster.yaml");

/// Runs the provider on its embedded defaults.
#[derive(Debug, Parser)]
#[command(name = "demo", about)]
struct Args {
    /// Port of scvmm-sim (WinRM, inspection API and web page); 0 picks a free one.
    #[arg(long, env = "SCVMM_DEMO_SIM_PORT", default_value_t = 5985)]
    sim_port: u16,
    /// Exit (successfully) once every machine is provisioned, or fail after
    /// this many seconds.
    #[arg(long)]
    exit_when_provisioned: Option<u64>,
}
const NAMESPACE: &str = "default";

fn api(client: &Client, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(client.clone(), NAMESPACE, &ApiResource::from_gvk(&gvk))
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn condition(v: &Value, type_: &str) -> String {
    v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .map(|c| format!("{}/{}", text(&c["status"]), text(&c["reason"])))
        .unwrap_or_else(|| "-".into())
}

async fn table(client: &Client) -> Result<String, kube::Error> {
    let clusters = api(client, "cluster.x-k8s.io", "v1beta2", "Cluster")
        .list(&ListParams::default())
        .await?;
    let machines = api(client, "cluster.x-k8s.io", "v1beta2", "Machine")
        .list(&ListParams::default())
        .await?;
    let infra = api(
        client,
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmMachine",
    )
    .list(&ListParams::default())
    .await?;
    let mut out = String::new();
    out.push_str(&format!(
        "{:<24} {:<14} {:<28}\n",
        "CLUSTER", "PHASE", "INFRASTRUCTURE PROVISIONED"
    ));
    for c in clusters.items {
        let v = serde_json::to_value(&c).unwrap_or_default();
        out.push_str(&format!(
            "{:<24} {:<14} {:<28}\n",
            text(&v["metadata"]["name"]),
            text(&v["status"]["phase"]),
            text(&v["status"]["initialization"]["infrastructureProvisioned"])
        ));
    }
    out.push_str(&format!(
        "\n{:<34} {:<14} {:<34} {:<34} {:<12} {:<16}\n",
        "MACHINE", "PHASE", "SCVMMMACHINE", "READY", "VM", "IP"
    ));
    for m in machines.items {
        let v = serde_json::to_value(&m).unwrap_or_default();
        let infra_name = text(&v["spec"]["infrastructureRef"]["name"]);
        let sm = infra
            .items
            .iter()
            .find(|i| i.metadata.name.as_deref() == Some(infra_name.as_str()))
            .map(|i| serde_json::to_value(i).unwrap_or_default());
        let (ready, vm, ip) = match &sm {
            Some(sm) => (
                condition(sm, "Ready"),
                text(&sm["status"]["vm"]["status"]),
                sm["status"]["addresses"]
                    .as_array()
                    .and_then(|a| a.iter().find(|a| a["type"] == "InternalIP"))
                    .map(|a| text(&a["address"]))
                    .unwrap_or_else(|| "-".into()),
            ),
            None => ("(not created yet)".into(), "-".into(), "-".into()),
        };
        out.push_str(&format!(
            "{:<34} {:<14} {:<34} {:<34} {:<12} {:<16}\n",
            text(&v["metadata"]["name"]),
            text(&v["status"]["phase"]),
            infra_name,
            ready,
            vm,
            ip
        ));
    }
    Ok(out)
}

async fn all_provisioned(client: &Client) -> bool {
    let Ok(list) = api(
        client,
        "infrastructure.cluster.x-k8s.io",
        "v1alpha1",
        "ScvmmMachine",
    )
    .list(&ListParams::default())
    .await
    else {
        return false;
    };
    !list.items.is_empty()
        && list
            .items
            .iter()
            .all(|m| m.data["status"]["initialization"]["provisioned"] == Value::Bool(true))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Logs only when asked for (RUST_LOG): they would scroll the live table away.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    eprintln!(
        "starting the local control plane (etcd, kube-apiserver, Cluster API); the first run builds it from the Go module proxy …"
    );
    let cluster = match TestCluster::builder().with_capi().start().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = match cluster.client().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::FAILURE;
        }
    };

    // The admission policy that ships with the CRDs (template immutability).
    for doc in operator::api::admission_policies() {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let name = doc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let gvk = GroupVersionKind::gvk("admissionregistration.k8s.io", "v1", &kind);
        let policies: Api<DynamicObject> =
            Api::all_with(client.clone(), &ApiResource::from_gvk(&gvk));
        if let Err(e) = policies
            .patch(
                &name,
                &kube::api::PatchParams::apply("scvmm-demo").force(),
                &kube::api::Patch::Apply(&doc),
            )
            .await
        {
            eprintln!("demo: installing the {kind} {name} failed: {e}");
            return ExitCode::FAILURE;
        }
    }

    // The emulator, on its built-in inventory.
    let sim_args = scvmm_sim::cli::Args::parse_from([
        "scvmm-sim".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{}", args.sim_port),
        "--latency-scale".into(),
        "0.05".into(),
    ]);
    let sim = match scvmm_sim::server::start(&sim_args, |vmm| {
        Arc::new(scvmm_sim::backend::PowerShellBackend::new(
            scvmm_sim::runner::factory(vmm, Arc::new(scvmm_sim::vmm::SystemClock)),
        ))
    })
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "demo: starting scvmm-sim failed: {e} (another process on port {}? set SCVMM_DEMO_SIM_PORT=0 for a free port)",
                args.sim_port
            );
            return ExitCode::FAILURE;
        }
    };
    let sim_port = sim.handle.local_addr().port();

    // Our controllers: ScvmmCluster, ScvmmMachine, ScvmmMachineTemplate.
    let ctx = operator::controller::Context::new(
        client.clone(),
        Arc::new(operator::metrics::Metrics::default()),
        operator::controller::Settings {
            poll_interval: Duration::from_secs(10),
            ..operator::controller::Settings::default()
        },
    );
    let opts = operator::controller::WatchOptions {
        namespace: Some(NAMESPACE.into()),
        watch_filter: None,
        concurrency: 10,
    };
    let controller = tokio::spawn(futures::future::join3(
        operator::controller::machine::run(ctx.clone(), opts.clone(), std::future::pending()),
        operator::controller::cluster::run(ctx.clone(), opts.clone(), std::future::pending()),
        operator::controller::template::run(ctx, opts, std::future::pending()),
    ));

    let sample = SAMPLE.replace("port: 5985", &format!("port: {sim_port}"));
    match manifests::apply(&client, NAMESPACE, &sample, "scvmm-demo").await {
        Ok(applied) => {
            for a in applied {
                eprintln!("applied {} {}", a.kind, a.name);
            }
        }
        Err(e) => {
            eprintln!("demo: applying the sample cluster failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    let header = format!(
        "control plane ready in {:.1} s\n  export KUBECONFIG={}\n  logs: {}\n\
         scvmm-sim: http://127.0.0.1:{sim_port}/sim/ (live page; user CORP\\capi-svc, password scvmm-sim), WinRM at /wsman\n\
         not yet: Nodes joining a workload cluster (issue #7), so Machines stop at Provisioned.\n\
         Press Ctrl-C to stop and remove everything.\n",
        cluster.started_in().as_secs_f64(),
        cluster.kubeconfig_path().display(),
        cluster.dir().display()
    );
    let interactive = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let deadline = args
        .exit_when_provisioned
        .map(|s| std::time::Instant::now() + Duration::from_secs(s));
    let code = loop {
        let body = table(&client)
            .await
            .unwrap_or_else(|e| format!("(cannot list objects: {e})\n"));
        if interactive {
            print!("\x1b[2J\x1b[H{header}\n{body}");
        } else {
            println!("{header}\n{body}");
        }
        if let Some(deadline) = deadline {
            if all_provisioned(&client).await {
                println!("every machine is provisioned");
                break ExitCode::SUCCESS;
            }
            if std::time::Instant::now() > deadline {
                eprintln!("demo: machines were not provisioned in time");
                break ExitCode::FAILURE;
            }
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
            _ = tokio::time::sleep(Duration::from_secs(if interactive || deadline.is_some() { 2 } else { 10 })) => {}
        }
    };
    eprintln!("stopping the controller, scvmm-sim and the control plane …");
    controller.abort();
    drop(sim);
    drop(cluster);
    code
}
