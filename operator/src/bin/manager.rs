//! `manager`: the Cluster API infrastructure provider for SCVMM. Every flag
//! has an environment variable (`SCVMM_CAPI_*`); see `manager --help` and
//! docs/operations.md.

use clap::Parser;
use operator::controller::connection::ConnectionDefaults;
use operator::controller::{Context, Settings};
use operator::controller::{WatchOptions, machine};
use operator::controller::{cluster, template};
use operator::http::{Readiness, serve_metrics, serve_probes};
use operator::leader::LeaderElector;
use operator::metrics::Metrics;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tracing::{error, info};

/// Cluster API infrastructure provider for Microsoft SCVMM.
#[derive(Debug, Parser)]
#[command(name = "manager", version, about)]
struct Args {
    /// Only watch objects in this namespace (default: all namespaces).
    #[arg(long, env = "SCVMM_CAPI_NAMESPACE")]
    namespace: Option<String>,

    /// Only reconcile objects labelled cluster.x-k8s.io/watch-filter=<value>.
    #[arg(long, env = "SCVMM_CAPI_WATCH_FILTER")]
    watch_filter: Option<String>,

    /// ScvmmMachines reconciled at once.
    #[arg(long, env = "SCVMM_CAPI_MACHINE_CONCURRENCY", default_value_t = 10)]
    machine_concurrency: u16,

    /// ScvmmClusters reconciled at once.
    #[arg(long, env = "SCVMM_CAPI_CLUSTER_CONCURRENCY", default_value_t = 4)]
    cluster_concurrency: u16,

    /// ScvmmMachineTemplates reconciled at once.
    #[arg(long, env = "SCVMM_CAPI_TEMPLATE_CONCURRENCY", default_value_t = 2)]
    template_concurrency: u16,

    /// How often each ScvmmCluster checks SCVMM (server version, failure
    /// domains, orphaned VMs), in seconds: one WinRM call per cluster per
    /// interval.
    #[arg(
        long,
        env = "SCVMM_CAPI_SCVMM_POLL_INTERVAL_SECONDS",
        default_value_t = 60
    )]
    scvmm_poll_interval_seconds: u64,

    /// While machines wait on SCVMM (a create, start, shutdown or removal
    /// job, a guest boot), one background task per endpoint lists its VMs
    /// this often (milliseconds) and wakes the machines whose VM changed.
    /// It slows down on its own when a list takes more than a quarter of
    /// the interval, and stops when no machine waits.
    #[arg(
        long,
        env = "SCVMM_CAPI_SCVMM_BUSY_POLL_INTERVAL_MS",
        default_value_t = 2000
    )]
    scvmm_busy_poll_interval_ms: u64,

    /// Seconds a running VM may go without showing its guest's IP addresses
    /// before VMM is asked to read them at once (`Read-SCVirtualMachine`, a
    /// short "Refresh virtual machine" job), and between two such asks
    /// while they are still missing. Without it VMM shows them at its next
    /// light refresh, up to about two minutes after the guest reported.
    /// 0 turns the asks off.
    #[arg(
        long,
        env = "SCVMM_CAPI_ADDRESS_REFRESH_INTERVAL_SECONDS",
        default_value_t = 30
    )]
    address_refresh_interval_seconds: u64,

    /// Seconds a VM must have been seen orphaned before a ScvmmCluster with
    /// `orphanedVMPolicy: Delete` removes it (at least 60).
    #[arg(long, env = "SCVMM_CAPI_ORPHAN_GRACE_SECONDS", default_value_t = 300)]
    orphan_grace_seconds: u64,

    /// WinRM connections per SCVMM endpoint (shared by every machine).
    #[arg(long, env = "SCVMM_CAPI_MAX_CONNECTIONS", default_value_t = 8)]
    max_connections_per_endpoint: usize,

    /// How often an idle machine is looked at again (seconds).
    #[arg(long, env = "SCVMM_CAPI_RESYNC_SECONDS", default_value_t = 300)]
    resync_seconds: u64,

    /// Longest time one SCVMM script may run (seconds).
    #[arg(
        long,
        env = "SCVMM_CAPI_SCRIPT_DEADLINE_SECONDS",
        default_value_t = 600
    )]
    script_deadline_seconds: u64,

    /// Start provisioned VMs again that were powered off outside Cluster
    /// API (default: report them and leave them alone). Takes an optional
    /// value (`--restart-powered-off-vms=false`) so that the shipped
    /// Deployment can pass a clusterctl variable.
    #[arg(
        long,
        env = "SCVMM_CAPI_RESTART_POWERED_OFF_VMS",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    restart_powered_off_vms: bool,

    /// Address of /metrics.
    #[arg(
        long,
        env = "SCVMM_CAPI_METRICS_BIND_ADDRESS",
        default_value = "0.0.0.0:8080"
    )]
    metrics_bind_address: SocketAddr,

    /// Address of /healthz and /readyz.
    #[arg(
        long,
        env = "SCVMM_CAPI_HEALTH_PROBE_BIND_ADDRESS",
        default_value = "0.0.0.0:8081"
    )]
    health_probe_bind_address: SocketAddr,

    /// Elect a leader among replicas through a Lease.
    #[arg(long, env = "SCVMM_CAPI_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,

    /// Namespace of the leader-election Lease (default: the pod's namespace,
    /// from POD_NAMESPACE, else the --namespace, else `default`).
    #[arg(long, env = "SCVMM_CAPI_LEADER_ELECTION_NAMESPACE")]
    leader_election_namespace: Option<String>,

    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "SCVMM_CAPI_LEADER_ELECTION_ID",
        default_value = "capi-scvmm-manager"
    )]
    leader_election_id: String,

    /// Log format: text or json.
    #[arg(long, env = "SCVMM_CAPI_LOG_FORMAT", default_value = "text")]
    log_format: String,
}

impl Args {
    /// Empty means unset: clusterctl installs providers with
    /// `--namespace=""` (watch everything), and the shipped Deployment
    /// passes the watch filter as an environment variable whose clusterctl
    /// default is "".
    fn without_empty_values(mut self) -> Self {
        for opt in [
            &mut self.namespace,
            &mut self.watch_filter,
            &mut self.leader_election_namespace,
        ] {
            if opt.as_deref().is_some_and(str::is_empty) {
                *opt = None;
            }
        }
        self
    }
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse().without_empty_values();
    init_logs(&args.log_format);
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "manager: cannot build a Kubernetes client (in-cluster config or KUBECONFIG): {e}"
            );
            return ExitCode::FAILURE;
        }
    };
    let settings = Settings {
        connection: ConnectionDefaults {
            max_connections: args.max_connections_per_endpoint.max(1),
            deadline: Duration::from_secs(args.script_deadline_seconds.max(10)),
            // Scripts waiting on a locked library share look again at half
            // the busy interval (1 s by default).
            lock_retry: Duration::from_millis(args.scvmm_busy_poll_interval_ms.max(100) / 2),
            ..ConnectionDefaults::default()
        },
        resync: Duration::from_secs(args.resync_seconds.max(10)),
        restart_powered_off: args.restart_powered_off_vms,
        poll_interval: Duration::from_secs(args.scvmm_poll_interval_seconds.max(5)),
        // Below 100 ms the lists would only load SCVMM.
        busy_poll_interval: Duration::from_millis(args.scvmm_busy_poll_interval_ms.max(100)),
        // Shorter would let a VM go before `clusterctl move` or a restore
        // has re-created its ScvmmMachine.
        orphan_grace: Duration::from_secs(args.orphan_grace_seconds.max(60)),
        address_refresh_interval: Some(Duration::from_secs(args.address_refresh_interval_seconds))
            .filter(|d| !d.is_zero()),
    };
    let metrics = Arc::new(Metrics::default());
    let ctx = Context::new(client.clone(), metrics, settings);
    let readiness = Arc::new(Readiness::default());

    let probes = tokio::spawn(serve_probes(
        args.health_probe_bind_address,
        readiness.clone(),
    ));
    let metrics_server = tokio::spawn(serve_metrics(args.metrics_bind_address, ctx.clone()));

    let elector = if args.leader_elect {
        let ns = args
            .leader_election_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .or_else(|| args.namespace.clone())
            .unwrap_or_else(|| "default".into());
        let identity = std::env::var("POD_NAME")
            .unwrap_or_else(|_| format!("manager-{}", uuid::Uuid::new_v4()));
        Some(LeaderElector::new(
            client.clone(),
            &ns,
            &args.leader_election_id,
            &identity,
        ))
    } else {
        None
    };
    // A standby replica is ready (it can take over); it just does not reconcile.
    readiness.set_ready();
    if let Some(e) = &elector {
        tokio::select! {
            _ = e.acquire() => {}
            _ = shutdown_signal() => return ExitCode::SUCCESS,
        }
    }
    info!(namespace = ?args.namespace, watch_filter = ?args.watch_filter, "starting the ScvmmCluster, ScvmmMachine and ScvmmMachineTemplate controllers");
    let opts = |concurrency| WatchOptions {
        namespace: args.namespace.clone(),
        watch_filter: args.watch_filter.clone(),
        concurrency,
    };
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let stopped = |tx: &tokio::sync::broadcast::Sender<()>| {
        let mut rx = tx.subscribe();
        async move {
            let _ = rx.recv().await;
        }
    };
    let controllers = tokio::spawn(futures::future::join3(
        machine::run(
            ctx.clone(),
            opts(args.machine_concurrency),
            stopped(&stop_tx),
        ),
        cluster::run(
            ctx.clone(),
            opts(args.cluster_concurrency),
            stopped(&stop_tx),
        ),
        template::run(
            ctx.clone(),
            opts(args.template_concurrency),
            stopped(&stop_tx),
        ),
    ));
    let lost = async {
        match &elector {
            Some(e) => e.hold().await,
            None => std::future::pending().await,
        }
    };
    let code = tokio::select! {
        _ = shutdown_signal() => ExitCode::SUCCESS,
        _ = lost => {
            error!("leadership lost; exiting so another replica takes over");
            ExitCode::FAILURE
        }
        r = probes => { error!(result = ?r, "the probe server stopped"); ExitCode::FAILURE }
        r = metrics_server => { error!(result = ?r, "the metrics server stopped"); ExitCode::FAILURE }
    };
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), controllers).await;
    code
}

#[cfg(test)]
mod tests {
    use super::Args;
    use clap::Parser;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("manager").chain(args.iter().copied()))
            .expect("the flags parse")
            .without_empty_values()
    }

    /// The shipped Deployment (deploy/config/manager/manager.yaml) passes
    /// these exact forms after clusterctl substituted its defaults.
    #[test]
    fn the_deployment_flags_parse() {
        let a = parse(&["--restart-powered-off-vms=false", "--namespace="]);
        assert!(!a.restart_powered_off_vms);
        assert_eq!(a.namespace, None, "empty means all namespaces");
        assert!(parse(&["--restart-powered-off-vms=true"]).restart_powered_off_vms);
        assert!(parse(&["--restart-powered-off-vms"]).restart_powered_off_vms);
        assert!(!parse(&[]).restart_powered_off_vms);
        assert_eq!(parse(&["--watch-filter="]).watch_filter, None);
        assert_eq!(
            parse(&["--watch-filter=team-a"]).watch_filter.as_deref(),
            Some("team-a")
        );
    }
}
