//! SCVMM connection settings: the ScvmmCluster's `spec.server` plus the
//! credentials Secret (and CA bundle) become an [`EndpointConfig`]; clients
//! are cached per endpoint and rebuilt when the Secret changes, so rotated
//! credentials are picked up without a restart.

use crate::api::cluster::{ScvmmServer, WinrmAuth, WinrmScheme};
use crate::api::common::ConfigKind;
use crate::scvmm::{EndpointConfig, ScvmmClient};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use wsman::transport::{ClientAuth, Encryption, KerberosSettings, Password, TlsTrust};

/// Username and password from the credentials Secret.
#[derive(Clone)]
pub struct Credentials {
    /// `DOMAIN\user`, `user@domain` or a local user.
    pub username: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Never print the password, whatever the log level.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Manager-wide connection defaults.
#[derive(Debug, Clone)]
pub struct ConnectionDefaults {
    /// WinRM connections per endpoint.
    pub max_connections: usize,
    /// How long a Receive may wait on the server.
    pub operation_timeout: Duration,
    /// Total time one script may take.
    pub deadline: Duration,
    /// Pause of a script between looks at a VMM object another job holds.
    pub lock_retry: Duration,
}

impl Default for ConnectionDefaults {
    fn default() -> Self {
        Self {
            max_connections: 8,
            operation_timeout: Duration::from_secs(20),
            deadline: Duration::from_secs(10 * 60),
            lock_retry: Duration::from_secs(1),
        }
    }
}

/// The WinRM URL for `server`: the endpoint may be a host name, `host:port`
/// or a full URL.
pub fn winrm_url(server: &ScvmmServer) -> Result<String, String> {
    let endpoint = server.endpoint.trim();
    if endpoint.contains("://") {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(format!(
                "spec.server.endpoint {endpoint:?} must be a host name or an http(s):// URL"
            ));
        }
        return Ok(if endpoint.trim_end_matches('/').ends_with("/wsman") {
            endpoint.to_string()
        } else {
            format!("{}/wsman", endpoint.trim_end_matches('/'))
        });
    }
    let https = !matches!(server.scheme, Some(WinrmScheme::Http));
    let scheme = if https { "https" } else { "http" };
    let port = server.port.unwrap_or(if https { 5986 } else { 5985 });
    if endpoint.is_empty() || endpoint.contains('/') {
        return Err(format!(
            "spec.server.endpoint {endpoint:?} must be a host name (vmm01.corp.example) or a URL"
        ));
    }
    // A bare IPv6 address needs brackets in a URL.
    let host = if endpoint.contains(':') && !endpoint.starts_with('[') {
        format!("[{endpoint}]")
    } else {
        endpoint.to_string()
    };
    Ok(format!("{scheme}://{host}:{port}/wsman"))
}

/// Builds the endpoint configuration. Pure: no I/O.
pub fn endpoint_config(
    server: &ScvmmServer,
    credentials: &Credentials,
    ca_bundle: Option<Vec<u8>>,
    defaults: &ConnectionDefaults,
) -> Result<EndpointConfig, String> {
    let url = winrm_url(server)?;
    let user = credentials.username.clone();
    let password = Password::new(credentials.password.clone());
    let auth = match server.auth.unwrap_or(WinrmAuth::Negotiate) {
        WinrmAuth::Basic => ClientAuth::Basic { user, password },
        WinrmAuth::Ntlm => ClientAuth::Ntlm { user, password },
        WinrmAuth::Kerberos => ClientAuth::Kerberos {
            user,
            password,
            settings: KerberosSettings::default(),
        },
        WinrmAuth::Negotiate => ClientAuth::Negotiate {
            user,
            password,
            settings: KerberosSettings::default(),
        },
    };
    Ok(EndpointConfig {
        url,
        auth,
        encryption: Encryption::Auto,
        tls: TlsTrust {
            ca_bundle_pem: ca_bundle,
            insecure_skip_verify: server.insecure_skip_tls_verify.unwrap_or(false),
        },
        library_share: server.library_share.clone(),
        vmm_server: server.vmm_server.clone(),
        max_connections: defaults.max_connections,
        operation_timeout: defaults.operation_timeout,
        deadline: defaults.deadline,
        lock_retry: defaults.lock_retry,
    })
}

/// Reads `username` and `password` from a Secret's data.
pub fn credentials_from_secret(secret: &Secret, ns: &str) -> Result<Credentials, String> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let get = |key: &str| -> Result<String, String> {
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .ok_or_else(|| {
                format!("Secret {ns}/{name} has no key {key:?}; it needs username and password")
            })?;
        String::from_utf8(data.0.clone())
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|_| format!("Secret {ns}/{name} key {key:?} is not UTF-8 text"))
    };
    let username = get("username")?;
    let password = get("password")?;
    if username.is_empty() || password.is_empty() {
        return Err(format!(
            "Secret {ns}/{name} has an empty username or password"
        ));
    }
    Ok(Credentials { username, password })
}

/// Everything read from the API server for one endpoint, and a fingerprint
/// of it that changes when the Secret (or CA bundle) changes.
pub struct ResolvedEndpoint {
    /// The configuration.
    pub config: EndpointConfig,
    /// SHA-256 over the inputs (never logged with the inputs).
    pub fingerprint: String,
}

/// Reads the Secret(s) the ScvmmCluster names and builds the configuration.
pub async fn resolve(
    client: &kube::Client,
    ns: &str,
    server: &ScvmmServer,
    defaults: &ConnectionDefaults,
) -> Result<ResolvedEndpoint, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = secrets
        .get_opt(&server.credentials_ref.name)
        .await
        .map_err(|e| {
            format!(
                "reading Secret {ns}/{}: {e}",
                server.credentials_ref.name
            )
        })?
        .ok_or_else(|| {
            format!(
                "the credentials Secret {ns}/{} named by spec.server.credentialsRef does not exist; create it with keys username and password",
                server.credentials_ref.name
            )
        })?;
    let credentials = credentials_from_secret(&secret, ns)?;
    let ca = match &server.ca_bundle_ref {
        None => None,
        Some(r) => {
            let key = r.key.clone().unwrap_or_else(|| "ca.crt".to_string());
            let bytes = match r.kind {
                ConfigKind::Secret => secrets
                    .get_opt(&r.name)
                    .await
                    .map_err(|e| format!("reading Secret {ns}/{}: {e}", r.name))?
                    .and_then(|s| s.data)
                    .and_then(|d| d.get(&key).map(|b| b.0.clone())),
                ConfigKind::ConfigMap => Api::<ConfigMap>::namespaced(client.clone(), ns)
                    .get_opt(&r.name)
                    .await
                    .map_err(|e| format!("reading ConfigMap {ns}/{}: {e}", r.name))?
                    .and_then(|c| c.data)
                    .and_then(|d| d.get(&key).map(|s| s.clone().into_bytes())),
            };
            Some(bytes.ok_or_else(|| {
                format!(
                    "spec.server.caBundleRef: {:?} {ns}/{} has no key {key:?}",
                    r.kind, r.name
                )
            })?)
        }
    };
    let mut h = Sha256::new();
    h.update(credentials.username.as_bytes());
    h.update([0]);
    h.update(credentials.password.as_bytes());
    h.update([0]);
    h.update(ca.as_deref().unwrap_or_default());
    h.update([0]);
    h.update(format!("{server:?}").as_bytes());
    let fingerprint = format!("{:x}", h.finalize());
    let config = endpoint_config(server, &credentials, ca, defaults)?;
    Ok(ResolvedEndpoint {
        config,
        fingerprint,
    })
}

/// Clients per endpoint, shared by every reconcile: one connection pool per
/// SCVMM server whatever the number of machines.
#[derive(Default)]
pub struct ClientCache {
    clients: Mutex<HashMap<String, (String, ScvmmClient)>>,
    /// (namespace, server spec) → the client it resolved to, and when: lets
    /// machine reconciles skip re-reading the credentials Secret for
    /// [`RESOLVED_TTL`].
    recent: Mutex<HashMap<String, (std::time::Instant, ScvmmClient)>>,
    /// (namespace, server spec) → a lock held while one reconcile reads the
    /// Secret for it: when the cached resolution expires, the reconciles
    /// running at that moment wait for that one read instead of each
    /// reading the Secret (with 1,000 idle machines that was most of the
    /// operator's API requests).
    resolving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// How long a resolved connection is reused before its Secret is read
/// again. A rotated password is picked up after at most this long, or at
/// once when SCVMM refuses the old one ([`ClientCache::forget_recent`]).
pub const RESOLVED_TTL: Duration = Duration::from_secs(30);

fn recent_key(ns: &str, server: &ScvmmServer) -> String {
    format!("{ns}\n{server:?}")
}

impl ClientCache {
    /// The client `server` (in `ns`) resolved to within the last `ttl`.
    fn recent(&self, ns: &str, server: &ScvmmServer, ttl: Duration) -> Option<ScvmmClient> {
        let recent = self.recent.lock().ok()?;
        let (at, client) = recent.get(&recent_key(ns, server))?;
        (at.elapsed() < ttl).then(|| client.clone())
    }

    /// Remembers what `server` (in `ns`) resolved to.
    fn remember(&self, ns: &str, server: &ScvmmServer, client: &ScvmmClient) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.insert(
                recent_key(ns, server),
                (std::time::Instant::now(), client.clone()),
            );
        }
    }

    /// The client for `server` (in `ns`): the one resolved within
    /// [`RESOLVED_TTL`], else the Secret is read ([`resolve`]) by one
    /// caller while the others wait and share its result.
    pub async fn connect(
        &self,
        client: &kube::Client,
        ns: &str,
        server: &ScvmmServer,
        defaults: &ConnectionDefaults,
    ) -> Result<ScvmmClient, String> {
        if let Some(c) = self.recent(ns, server, RESOLVED_TTL) {
            return Ok(c);
        }
        let gate = {
            let mut resolving = self
                .resolving
                .lock()
                .map_err(|_| "the SCVMM client cache is poisoned".to_string())?;
            resolving.entry(recent_key(ns, server)).or_default().clone()
        };
        let _turn = gate.lock().await;
        // Whoever held the gate before may have resolved it meanwhile.
        if let Some(c) = self.recent(ns, server, RESOLVED_TTL) {
            return Ok(c);
        }
        let made = self.get(resolve(client, ns, server, defaults).await?)?;
        self.remember(ns, server, &made);
        Ok(made)
    }

    /// Drops what `server` (in `ns`) resolved to: its credentials were
    /// refused, so the Secret must be read again.
    pub fn forget_recent(&self, ns: &str, server: &ScvmmServer) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.remove(&recent_key(ns, server));
        }
    }

    /// The client for `resolved`, reusing the cached one unless the
    /// settings or credentials changed.
    pub fn get(&self, resolved: ResolvedEndpoint) -> Result<ScvmmClient, String> {
        let key = resolved.config.url.clone();
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| "the SCVMM client cache is poisoned".to_string())?;
        if let Some((fp, c)) = clients.get(&key)
            && *fp == resolved.fingerprint
        {
            return Ok(c.clone());
        }
        let client = ScvmmClient::new(resolved.config).map_err(|e| e.to_string())?;
        clients.insert(key, (resolved.fingerprint, client.clone()));
        Ok(client)
    }

    /// Every cached client (for metrics).
    pub fn all(&self) -> Vec<ScvmmClient> {
        self.clients
            .lock()
            .map(|c| c.values().map(|(_, c)| c.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::SecretRef;

    fn server(endpoint: &str) -> ScvmmServer {
        ScvmmServer {
            endpoint: endpoint.into(),
            port: None,
            scheme: None,
            auth: None,
            credentials_ref: SecretRef { name: "vmm".into() },
            ca_bundle_ref: None,
            insecure_skip_tls_verify: None,
            vmm_server: None,
            library_share: "\\\\lib\\share".into(),
        }
    }

    /// A Kubernetes client whose API server answers every request with the
    /// credentials Secret `vmm` after 50 ms, counting the requests.
    fn counting_client() -> (kube::Client, Arc<std::sync::atomic::AtomicUsize>) {
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        let client = crate::controller::test_api::client(Duration::from_millis(50), move |_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            serde_json::json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "vmm", "namespace": "ns"},
                "data": {"username": "Q09SUFxjYXBp", "password": "c2VjcmV0"},
            })
        });
        (client, count)
    }

    #[tokio::test]
    async fn reconciles_that_connect_at_once_read_the_secret_once() {
        let (client, reads) = counting_client();
        let cache = Arc::new(ClientCache::default());
        let s = server("http://127.0.0.1:5985");
        let defaults = ConnectionDefaults::default();
        let connects = (0..10).map(|_| cache.connect(&client, "ns", &s, &defaults));
        for made in futures::future::join_all(connects).await {
            made.unwrap();
        }
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Refused credentials are read again at the next connect.
        cache.forget_recent("ns", &s);
        cache.connect(&client, "ns", &s, &defaults).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn urls_default_to_https_on_5986() {
        assert_eq!(
            winrm_url(&server("vmm01")).unwrap(),
            "https://vmm01:5986/wsman"
        );
        let mut s = server("vmm01");
        s.scheme = Some(WinrmScheme::Http);
        assert_eq!(winrm_url(&s).unwrap(), "http://vmm01:5985/wsman");
        s.port = Some(15985);
        assert_eq!(winrm_url(&s).unwrap(), "http://vmm01:15985/wsman");
        assert_eq!(
            winrm_url(&server("http://127.0.0.1:5985")).unwrap(),
            "http://127.0.0.1:5985/wsman"
        );
        assert_eq!(
            winrm_url(&server("fd00::5")).unwrap(),
            "https://[fd00::5]:5986/wsman"
        );
        assert!(winrm_url(&server("ftp://x")).is_err());
    }

    #[test]
    fn credentials_never_print() {
        let c = Credentials {
            username: "CORP\\svc".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn tls_is_verified_unless_the_spec_turns_it_off() {
        let c = Credentials {
            username: "CORP\\svc".into(),
            password: "hunter2".into(),
        };
        let defaults = ConnectionDefaults::default();
        let verify = |s: &ScvmmServer| {
            !endpoint_config(s, &c, None, &defaults)
                .unwrap()
                .tls
                .insecure_skip_verify
        };
        let mut s = server("vmm01");
        assert!(verify(&s), "a spec that says nothing verifies");
        s.insecure_skip_tls_verify = Some(false);
        assert!(verify(&s));
        s.insecure_skip_tls_verify = Some(true);
        assert!(!verify(&s), "only an explicit opt-out skips verification");
        let config = endpoint_config(&server("vmm01"), &c, None, &defaults).unwrap();
        assert!(
            config.url.starts_with("https://"),
            "HTTPS unless asked otherwise"
        );
        assert!(
            !format!("{:?}", config.auth).contains("hunter2"),
            "the endpoint's Debug output hides the password"
        );
    }
}
