//! `testbed`: builds, inspects and runs the local control plane.
//!
//! - `testbed build`: build (once) and cache the binaries, then print their versions.
//! - `testbed versions`: print the pinned versions and where the binaries are.
//! - `testbed up [--capi] [--kcp] [--ipam-in-cluster]`: start a control plane,
//!   print its kubeconfig path, and keep it running until Ctrl-C.

use clap::{Parser, Subcommand};
use e2e::testbed::{Binaries, Builder, Component, TestCluster, cache_dir};
use std::process::{Command, ExitCode};

#[derive(Parser)]
#[command(version, about = "Local Kubernetes control plane for scvmm-capi tests")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build and cache the control-plane binaries (first run: 15-40 min), then print versions.
    Build,
    /// Print the versions in use and the cache directory, without building.
    Versions,
    /// Measure start-up time: start and stop the control plane RUNS times
    /// (alone, with the Cluster API managers, and with KCP and in-cluster
    /// IPAM too) and print the figures.
    Bench {
        /// How many starts to time per configuration.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Start a control plane and keep it running until Ctrl-C.
    Up {
        /// Also run the Cluster API core and kubeadm bootstrap managers.
        #[arg(long)]
        capi: bool,
        /// Also run the kubeadm control-plane manager (implies --capi).
        #[arg(long)]
        kcp: bool,
        /// Also run the in-cluster IPAM provider (implies --capi).
        #[arg(long)]
        ipam_in_cluster: bool,
    },
}

fn version_of(path: &std::path::Path, args: &[&str]) -> String {
    match Command::new(path).args(args).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            text.lines().next().unwrap_or("").trim().to_string()
        }
        Err(e) => format!("not runnable: {e}"),
    }
}

fn print_versions(b: &Binaries) {
    let built = |c: Component| {
        if b.present(c) { "" } else { " (not built)" }
    };
    println!("cache:                         {}", cache_dir().display());
    println!(
        "pinned:                        Kubernetes {}, etcd {}, Cluster API {}, in-cluster IPAM {}",
        b.versions.kubernetes, b.versions.etcd, b.versions.capi, b.versions.ipam_in_cluster
    );
    println!(
        "etcd:                          {}",
        version_of(&b.etcd, &["--version"])
    );
    println!(
        "kube-apiserver:                {}",
        version_of(&b.kube_apiserver, &["--version"])
    );
    println!(
        "kube-controller-manager:       {}",
        version_of(&b.kube_controller_manager, &["--version"])
    );
    println!(
        "clusterctl:                    {}",
        version_of(&b.clusterctl, &["version", "-o", "short"])
    );
    println!(
        "capi-manager:                  {}",
        b.capi_manager.display()
    );
    println!(
        "kubeadm-bootstrap-manager:     {}",
        b.kubeadm_bootstrap_manager.display()
    );
    println!(
        "kubeadm-control-plane-manager: {} ({}){}",
        b.kcp_manager.display(),
        b.versions.capi,
        built(Component::Kcp)
    );
    println!(
        "ipam-in-cluster-manager:       {} ({}){}",
        b.ipam_in_cluster_manager.display(),
        b.versions.ipam_in_cluster,
        built(Component::IpamInCluster)
    );
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Cmd::Build => match Binaries::ensure() {
            Ok(b) => {
                print_versions(&b);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("testbed: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Versions => {
            print_versions(&Binaries::locate());
            ExitCode::SUCCESS
        }
        Cmd::Bench { runs } => bench(runs).await,
        Cmd::Up {
            capi,
            kcp,
            ipam_in_cluster,
        } => {
            let mut builder = TestCluster::builder();
            if capi {
                builder = builder.with_capi();
            }
            if kcp {
                builder = builder.with_kcp();
            }
            if ipam_in_cluster {
                builder = builder.with_ipam_in_cluster();
            }
            let cluster = match builder.start().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("testbed: {e}");
                    return ExitCode::FAILURE;
                }
            };
            println!(
                "control plane ready in {:.1} s at {}",
                cluster.started_in().as_secs_f64(),
                cluster.api_url()
            );
            println!("export KUBECONFIG={}", cluster.kubeconfig_path().display());
            println!("logs: {}", cluster.dir().display());
            println!("press Ctrl-C to stop");
            if let Err(e) = tokio::signal::ctrl_c().await {
                eprintln!("testbed: cannot wait for Ctrl-C: {e}");
            }
            drop(cluster);
            ExitCode::SUCCESS
        }
    }
}

/// How one benchmarked configuration is built.
type MakeBuilder = fn() -> Builder;

/// Times `runs` cold starts of each configuration and prints min / median /
/// max, in seconds. Binaries must already be built (`testbed build`).
async fn bench(runs: usize) -> ExitCode {
    let runs = runs.max(1);
    println!("test bed start-up time over {runs} runs (seconds; binaries already cached)");
    println!("| configuration | min | median | max |");
    println!("|---|---|---|---|");
    let configurations: [(&str, MakeBuilder); 3] = [
        (
            "etcd + kube-apiserver + kube-controller-manager + our CRDs",
            TestCluster::builder,
        ),
        (
            "… + Cluster API core and kubeadm bootstrap managers",
            || TestCluster::builder().with_capi(),
        ),
        (
            "… + kubeadm control-plane manager + in-cluster IPAM provider",
            || TestCluster::builder().with_kcp().with_ipam_in_cluster(),
        ),
    ];
    for (label, builder) in configurations {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let builder = builder();
            match builder.start().await {
                Ok(c) => times.push(c.started_in().as_secs_f64()),
                Err(e) => {
                    eprintln!("testbed bench: start failed: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} |",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    ExitCode::SUCCESS
}
