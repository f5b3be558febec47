//! The inspection API (`/sim/v1/…`, JSON), a small live web page (`/sim/`)
//! and Prometheus metrics (`/metrics`), served on the WinRM listener for
//! every path other than `/wsman`. Everything but `/metrics` needs the same
//! credentials as WinRM (HTTP Basic), because the API shows and changes
//! what a test or a user runs against.

use crate::guest::GuestTable;
use crate::vmm::{FaultRule, Vmm};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tower::ServiceExt as _;
use wsman::server::ServiceStats;
use wsman::transport::auth::{Authorization, CredentialStore, parse_authorization, verify_basic};
use wsman::transport::{HttpFallback, server::ServerStats};

/// What the API reads and changes.
#[derive(Clone)]
pub struct AdminState {
    /// The VMM model.
    pub vmm: Arc<Mutex<Vmm>>,
    /// What the guests did.
    pub guests: GuestTable,
    /// Accounts allowed to use the API.
    pub credentials: Arc<dyn CredentialStore>,
    /// Builds the model as it was at start, for `reset`.
    pub fresh: Arc<dyn Fn() -> Vmm + Send + Sync>,
    /// WinRS counters.
    pub winrs: Arc<ServiceStats>,
    /// HTTP counters, once the server is up.
    pub http: Arc<Mutex<Option<Arc<ServerStats>>>>,
}

fn authorized(state: &AdminState, headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    match parse_authorization(value.as_bytes()) {
        Ok(Authorization::Basic { user, password }) => {
            verify_basic(state.credentials.as_ref(), &user, &password)
        }
        _ => false,
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"scvmm-sim\"")],
        "the scvmm-sim inspection API needs the same credentials as WinRM (HTTP Basic)\n",
    )
        .into_response()
}

fn model_error(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the VMM model is unavailable: {e}\n"),
    )
        .into_response()
}

macro_rules! guarded {
    ($state:expr, $headers:expr) => {
        if !authorized(&$state, &$headers) {
            return unauthorized();
        }
    };
}

async fn vms(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let guests = state.guests.lock().map(|g| g.clone()).unwrap_or_default();
    let Ok(vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    let hosts = &vmm.inventory().hosts;
    let list: Vec<Value> = vmm
        .state()
        .vms
        .iter()
        .map(|vm| {
            let guest = guests.get(&vm.id);
            let host = vm.host.and_then(|h| hosts.iter().find(|x| x.id == h));
            json!({
                "id": vm.id,
                "name": vm.name,
                "status": format!("{:?}", vm.status),
                "power": format!("{:?}", vm.power),
                "host": host.map(|h| h.name.clone()),
                "hostGroup": host.map(|h| h.host_group.clone()),
                "biosGuid": vm.bios_guid,
                "cpuCount": vm.cpu_count,
                "memoryMB": vm.memory_mb,
                "customProperties": vm.custom_properties,
                "guestAddresses": vm.guest.addresses.values().flatten().collect::<Vec<_>>(),
                "computerName": vm.guest.computer_name,
                "seed": guest,
            })
        })
        .collect();
    axum::Json(list).into_response()
}

async fn jobs(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let Ok(vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    let list: Vec<Value> = vmm
        .state()
        .jobs
        .iter()
        .rev()
        .take(500)
        .map(|j| {
            json!({
                "id": j.id,
                "name": j.name,
                "cmdlet": j.cmdlet_name,
                "status": format!("{:?}", j.status),
                "progress": j.progress,
                "resultName": j.result_name,
                "error": j.error.as_ref().map(|e| e.to_string()),
            })
        })
        .collect();
    axum::Json(list).into_response()
}

async fn library(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let Ok(vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    let s = vmm.state();
    axum::Json(json!({
        "files": s.files.iter().map(|f| json!({"path": f.path, "bytes": f.bytes.len()})).collect::<Vec<_>>(),
        "isos": s.isos.iter().map(|i| json!({"id": i.id, "name": i.name, "path": i.share_path, "vm": i.vm})).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn ip_grants(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let Ok(vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    let list: Vec<Value> = vmm
        .state()
        .allocations
        .iter()
        .map(|a| json!({"id": a.id, "address": a.address, "pool": a.pool, "assignedTo": a.assigned_to_id, "description": a.description}))
        .collect();
    axum::Json(list).into_response()
}

async fn faults(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let Ok(mut vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    let list: Vec<Value> = vmm
        .faults_mut()
        .rules()
        .map(|(rule, fired)| json!({"rule": rule, "fired": fired}))
        .collect();
    axum::Json(list).into_response()
}

async fn add_fault(State(state): State<AdminState>, headers: HeaderMap, body: Bytes) -> Response {
    guarded!(state, headers);
    let rule: FaultRule = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("a fault rule is {{\"operation\": \"Start-SCVirtualMachine\", \"object\": \"*\", \"count\": 1, \"effect\": {{\"Error\": {{\"id\": 2602}}}}}} or {{\"operation\": \"WinRM:Receive\", \"effect\": \"DropConnection\"}}: {e}\n"),
            )
                .into_response();
        }
    };
    if let Err(e) = rule.validate() {
        return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response();
    }
    let Ok(mut vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    vmm.faults_mut().add(rule);
    StatusCode::CREATED.into_response()
}

async fn clear_faults(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let Ok(mut vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    vmm.faults_mut().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    let Ok(mut vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    *vmm = (state.fresh)();
    if let Ok(mut g) = state.guests.lock() {
        g.clear();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn host_maintenance(
    State(state): State<AdminState>,
    headers: HeaderMap,
    Path((host, on)): Path<(String, bool)>,
) -> Response {
    guarded!(state, headers);
    let Ok(mut vmm) = state.vmm.lock() else {
        return model_error("lock poisoned");
    };
    let id = vmm
        .inventory()
        .hosts
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(&host))
        .map(|h| h.id);
    match id.map(|id| vmm.set_host_maintenance(id, on)) {
        Some(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Some(Err(e)) => (StatusCode::CONFLICT, e.to_string()).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no host named {host}\n")).into_response(),
    }
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let http = state
        .http
        .lock()
        .ok()
        .and_then(|h| h.clone())
        .map(|h| h.snapshot());
    let (vms, jobs_running) = match state.vmm.lock() {
        Ok(vmm) => (
            vmm.state().vms.len(),
            vmm.state()
                .jobs
                .iter()
                .filter(|j| j.end_time.is_none())
                .count(),
        ),
        Err(_) => (0, 0),
    };
    let out = render_metrics(&state.winrs, http.as_ref(), vms, jobs_running);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The Prometheus text exposition of `/metrics`: WinRS and HTTP counters,
/// VMs in the model and jobs not finished. The HTTP counters are left out
/// until the server is up (`http` is `None`).
pub fn render_metrics(
    winrs: &ServiceStats,
    http: Option<&wsman::transport::server::StatsSnapshot>,
    vms: usize,
    jobs_running: usize,
) -> String {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP scvmm_sim_{name} {help}\n# TYPE scvmm_sim_{name} counter\nscvmm_sim_{name} {value}"
        );
    };
    counter(
        "winrs_requests_total",
        "WinRS requests handled.",
        winrs.requests.load(Relaxed),
    );
    counter(
        "winrs_shells_created_total",
        "Shells created.",
        winrs.shells_created.load(Relaxed),
    );
    counter(
        "winrs_commands_total",
        "Commands started.",
        winrs.commands_started.load(Relaxed),
    );
    counter(
        "winrs_receive_timeouts_total",
        "Receives that timed out (long-poll expiry).",
        winrs.receive_timeouts.load(Relaxed),
    );
    counter(
        "winrs_faults_total",
        "SOAP faults returned, timeouts excluded.",
        winrs.faults.load(Relaxed),
    );
    if let Some(s) = http {
        counter("http_requests_total", "HTTP requests received.", s.requests);
        counter(
            "http_auth_failures_total",
            "Authentication failures.",
            s.auth_failures,
        );
    }
    let _ = writeln!(
        out,
        "# HELP scvmm_sim_vms Virtual machines in the model.\n# TYPE scvmm_sim_vms gauge\nscvmm_sim_vms {vms}"
    );
    let _ = writeln!(
        out,
        "# HELP scvmm_sim_jobs_running Jobs not finished.\n# TYPE scvmm_sim_jobs_running gauge\nscvmm_sim_jobs_running {jobs_running}"
    );
    out
}

async fn page(State(state): State<AdminState>, headers: HeaderMap) -> Response {
    guarded!(state, headers);
    Html(include_str!("admin_page.html")).into_response()
}

/// The router for everything but `/wsman`.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/sim/", get(page))
        .route("/sim", get(page))
        .route("/sim/v1/vms", get(vms))
        .route("/sim/v1/jobs", get(jobs))
        .route("/sim/v1/library", get(library))
        .route("/sim/v1/ip-grants", get(ip_grants))
        .route(
            "/sim/v1/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/sim/v1/reset", post(reset))
        .route(
            "/sim/v1/hosts/{host}/maintenance/{on}",
            post(host_maintenance),
        )
        .route("/sim/v1/faults/all", delete(clear_faults))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Adapts the router to the WinRM server's fallback hook.
pub struct AdminFallback(pub Router);

impl HttpFallback for AdminFallback {
    fn call(
        &self,
        request: http::Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send + 'static>> {
        let router = self.0.clone();
        Box::pin(async move {
            let request = request.map(axum::body::Body::from);
            let response = match router.oneshot(request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
                .await
                .unwrap_or_default();
            http::Response::from_parts(parts, bytes)
        })
    }
}
