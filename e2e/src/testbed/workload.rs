//! The API server of a workload cluster, standing in for the one its first
//! control-plane machine would run behind the control-plane endpoint.
//!
//! Cluster API reaches a workload cluster through the kubeconfig the kubeadm
//! control plane provider writes, signed by the cluster CA (the
//! `<cluster>-ca` Secret). So the test bed makes that CA itself, hands it to
//! Cluster API as a user-provided CA Secret (which the provider adopts
//! instead of generating one), and starts a kube-apiserver on a loopback
//! port that trusts it and serves with a certificate it signed. The server
//! keeps its data in the test bed's etcd under its own prefix, so a workload
//! cluster costs one process. Guests (scvmm-sim with
//! `--join-kubeadm-clusters`) then register their Nodes there, and Cluster
//! API finds them by provider ID.

use super::pki::Ca;
use super::{
    Error, TestCluster, free_port, io_err, kube_apiserver_args, kubeconfig_yaml, pki, write,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::ObjectMeta;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::time::{Duration, Instant};

/// A running workload-cluster API server.
pub struct WorkloadApiServer {
    /// Namespace of the Cluster in the management cluster.
    pub namespace: String,
    /// Name of the Cluster.
    pub cluster: String,
    /// Loopback port: the control-plane endpoint is `127.0.0.1:<port>`.
    pub port: u16,
    /// Process name under the test bed's supervisor.
    pub process: String,
    ca: Ca,
    kubeconfig: String,
}

impl TestCluster {
    /// Starts the API server of workload cluster `namespace/cluster`.
    pub async fn start_workload_api_server(
        &mut self,
        namespace: &str,
        cluster: &str,
    ) -> Result<WorkloadApiServer, Error> {
        let ca = Ca::new("kubernetes")?;
        let serving = ca.server("kube-apiserver", &["kubernetes", "kubernetes.default"])?;
        let admin = ca.client("kubernetes-admin", &["system:masters"])?;
        let (sa_key, sa_pub) = pki::service_account_keys()?;
        let process = format!("workload-apiserver-{namespace}-{cluster}");
        let dir = self.dir().join(&process);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        for (name, contents) in [
            ("ca.crt", &ca.cert_pem),
            ("apiserver.crt", &serving.cert_pem),
            ("apiserver.key", &serving.key_pem),
            ("sa.key", &sa_key),
            ("sa.pub", &sa_pub),
        ] {
            write(&dir.join(name), contents)?;
        }
        let port = free_port()?;
        let args = kube_apiserver_args(
            self.etcd_url(),
            Some(&format!("/workload/{namespace}/{cluster}")),
            &dir,
            &dir.join("certs"),
            port,
        );
        let binary = self.binaries().kube_apiserver.clone();
        self.spawn(&process, &binary, &args, &[])?;
        let kubeconfig =
            kubeconfig_yaml(&format!("https://127.0.0.1:{port}"), &ca.cert_pem, &admin)?;
        let server = WorkloadApiServer {
            namespace: namespace.to_string(),
            cluster: cluster.to_string(),
            port,
            process,
            ca,
            kubeconfig,
        };
        server.wait_ready(self, Duration::from_secs(90)).await?;
        Ok(server)
    }
}

impl WorkloadApiServer {
    /// `127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The cluster CA as Cluster API reads a user-provided one: Secret
    /// `<cluster>-ca` with `tls.crt` and `tls.key`.
    pub fn ca_secret(&self) -> Secret {
        let b = |s: &str| k8s_openapi::ByteString(s.as_bytes().to_vec());
        Secret {
            metadata: ObjectMeta {
                name: Some(format!("{}-ca", self.cluster)),
                namespace: Some(self.namespace.clone()),
                labels: Some(
                    [(
                        "cluster.x-k8s.io/cluster-name".to_string(),
                        self.cluster.clone(),
                    )]
                    .into_iter()
                    .collect(),
                ),
                ..ObjectMeta::default()
            },
            type_: Some("cluster.x-k8s.io/secret".into()),
            data: Some(
                [
                    ("tls.crt".to_string(), b(&self.ca.cert_pem)),
                    ("tls.key".to_string(), b(&self.ca.key_pem)),
                ]
                .into_iter()
                .collect(),
            ),
            ..Secret::default()
        }
    }

    /// The admin kubeconfig of the workload cluster (YAML).
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    /// A client for the workload cluster, as its admin.
    pub async fn client(&self) -> Result<Client, Error> {
        let kubeconfig = Kubeconfig::from_yaml(&self.kubeconfig)
            .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| Error::Kubeconfig(e.to_string()))?;
        Client::try_from(config).map_err(|e| Error::Kubeconfig(e.to_string()))
    }

    async fn wait_ready(&self, bed: &mut TestCluster, limit: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + limit;
        let mut last = String::from("no answer yet");
        loop {
            bed.check_alive()?;
            if let Ok(client) = self.client().await
                && let Ok(req) = http::Request::get("/readyz").body(Vec::new())
            {
                match client.request_text(req).await {
                    Ok(body) if body.trim() == "ok" => return Ok(()),
                    Ok(body) => last = body,
                    Err(e) => last = e.to_string(),
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: self.process.clone(),
                    seconds: limit.as_secs(),
                    detail: last,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
