//! The manager's HTTP endpoints: `/healthz` and `/readyz` on the probe
//! address, `/metrics` on the metrics address.

use crate::controller::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Readiness: set once the controllers run (and, with leader election, once
/// this replica leads or waits as a healthy standby).
#[derive(Default)]
pub struct Readiness(AtomicBool);

impl Readiness {
    /// Marks the manager ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

async fn readyz(State(r): State<Arc<Readiness>>) -> (StatusCode, &'static str) {
    if r.is_ready() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

/// Serves the probes on `addr`.
pub async fn serve_probes(addr: SocketAddr, readiness: Arc<Readiness>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(readiness);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

async fn metrics(State(ctx): State<Arc<Context>>) -> String {
    let mut text = ctx.metrics.render();
    // WinRM round trips come from the clients' own counters.
    let clients = ctx.scvmm.all();
    let counts: Vec<(String, u64)> = clients
        .iter()
        .map(|c| (c.endpoint().to_string(), c.stats().snapshot().round_trips))
        .collect();
    text.push_str(&crate::metrics::render_winrm(
        counts.iter().map(|(e, n)| (e.as_str(), *n)),
    ));
    text
}

/// Serves `/metrics` on `addr`.
pub async fn serve_metrics(addr: SocketAddr, ctx: Arc<Context>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(ctx);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}
