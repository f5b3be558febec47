//! The `scvmm-sim` binary: an SCVMM emulator serving WinRM on the address
//! given by `--listen` (see `scvmm-sim --help`), until Ctrl-C or SIGTERM.

use clap::Parser;
use scvmm_sim::backend::PowerShellBackend;
use scvmm_sim::cli::Args;
use scvmm_sim::vmm::SystemClock;
use std::process::ExitCode;
use std::sync::Arc;

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

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logs(&args.log_format);
    let sim = scvmm_sim::server::start(&args, |vmm| {
        Arc::new(PowerShellBackend::new(scvmm_sim::runner::factory(
            vmm,
            Arc::new(SystemClock),
        )))
    })
    .await;
    let sim = match sim {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scvmm-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = sim.handle.local_addr();
    let users: Vec<String> = args
        .accounts()
        .unwrap_or_default()
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    tracing::info!(%addr, users = ?users, latency_scale = args.latency_scale, "scvmm-sim is serving WinRM at http://{addr}/wsman, the inspection API at /sim/v1/, a live page at /sim/ and metrics at /metrics");
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scvmm-sim: cannot listen for SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    if let Err(e) = scvmm_sim::server::save_state(&args, &sim.vmm) {
        eprintln!("scvmm-sim: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
