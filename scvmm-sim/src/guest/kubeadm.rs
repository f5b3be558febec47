//! What a guest's kubeadm would do with its bootstrap data, as far as the
//! API objects go: the kubeadm bootstrap provider writes a cloud-config
//! whose `write_files` hold `/run/kubeadm/kubeadm.yaml` (`kubeadm init`) or
//! `/run/kubeadm/kubeadm-join-config.yaml` (`kubeadm join`), and, on
//! control-plane machines, the cluster CA (`/etc/kubernetes/pki/ca.{crt,key}`).
//!
//! From that the emulator learns which cluster the guest joins (the
//! endpoint its configuration names) and how to talk to it: a control-plane
//! guest carries the CA, from which the emulator mints itself a client
//! certificate, and remembers it for that endpoint; a worker only carries a
//! bootstrap token, so it joins through what an earlier control-plane guest
//! of the same endpoint left. This module is the pure half: parsing.

use serde_json::Value;
use std::fmt;

/// Where kubeadm's own configuration is written by the bootstrap provider.
pub const INIT_CONFIG_PATH: &str = "/run/kubeadm/kubeadm.yaml";
/// The join configuration's path.
pub const JOIN_CONFIG_PATH: &str = "/run/kubeadm/kubeadm-join-config.yaml";
/// The cluster CA certificate on a control-plane machine.
pub const CA_CERT_PATH: &str = "/etc/kubernetes/pki/ca.crt";
/// The cluster CA key on a control-plane machine.
pub const CA_KEY_PATH: &str = "/etc/kubernetes/pki/ca.key";

/// What the guest's kubeadm runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KubeadmRole {
    /// `kubeadm init`: the first control-plane machine.
    Init,
    /// `kubeadm join --control-plane`.
    JoinControlPlane,
    /// `kubeadm join` as a worker.
    JoinWorker,
}

impl KubeadmRole {
    /// Whether the Node carries the control-plane role label.
    pub fn control_plane(self) -> bool {
        !matches!(self, Self::JoinWorker)
    }
}

/// A PEM private key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretPem(pub String);

impl fmt::Debug for SecretPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretPem(<redacted>)")
    }
}

/// What kubeadm in the guest would act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeadmBootstrap {
    /// Init, or join as control plane or worker.
    pub role: KubeadmRole,
    /// `host:port` of the API server the guest talks to: the
    /// ClusterConfiguration's `controlPlaneEndpoint` on init, the
    /// bootstrap-token discovery endpoint on join.
    pub endpoint: String,
    /// The cluster CA certificate (control-plane machines).
    pub ca_cert_pem: Option<String>,
    /// The cluster CA key (control-plane machines).
    pub ca_key_pem: Option<SecretPem>,
    /// The ClusterConfiguration document (init only), uploaded as the
    /// `kubeadm-config` ConfigMap as `kubeadm init` does.
    pub cluster_configuration: Option<String>,
}

/// Why bootstrap data that looks like kubeadm's cannot be followed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KubeadmError {
    /// The kubeadm configuration file is not YAML.
    #[error("{path} in the bootstrap data is not valid YAML: {detail}")]
    Yaml {
        /// Which file.
        path: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// No endpoint to join.
    #[error(
        "{path} in the bootstrap data names no API server endpoint ({field}); kubeadm would not know where to go"
    )]
    NoEndpoint {
        /// Which file.
        path: &'static str,
        /// The field that should hold it.
        field: &'static str,
    },
}

/// The cloud-config as YAML, skipping the `## template: jinja` line the
/// kubeadm bootstrap provider puts first. `None` when the user data is not
/// a cloud-config (a shell script, MIME multipart, Ignition).
fn cloud_config(user_data: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(user_data).ok()?;
    let body: String = text
        .lines()
        .skip_while(|l| l.trim_start().starts_with("## template:") || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if !body.trim_start().starts_with("#cloud-config") {
        return None;
    }
    serde_saphyr::from_str::<Value>(&body).ok()
}

/// The decoded content of `write_files` entry `path`, if present.
fn written_file(config: &Value, path: &str) -> Option<String> {
    let entry = config
        .get("write_files")?
        .as_array()?
        .iter()
        .find(|f| f.get("path").and_then(Value::as_str) == Some(path))?;
    let content = entry.get("content").and_then(Value::as_str).unwrap_or("");
    match entry.get("encoding").and_then(Value::as_str) {
        Some("b64" | "base64") => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(content.split_whitespace().collect::<String>())
                .ok()?;
            String::from_utf8(bytes).ok()
        }
        // gzip is not something the bootstrap provider writes.
        Some(other) if !other.eq_ignore_ascii_case("text/plain") => None,
        _ => Some(content.to_string()),
    }
}

/// The YAML documents of a multi-document file, each with its text.
fn documents(path: &'static str, text: &str) -> Result<Vec<(Value, String)>, KubeadmError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut flush = |doc: &mut String| -> Result<(), KubeadmError> {
        if doc.trim().is_empty() {
            doc.clear();
            return Ok(());
        }
        let value = serde_saphyr::from_str::<Value>(doc).map_err(|e| KubeadmError::Yaml {
            path,
            detail: super::seed::yaml_detail(&e),
        })?;
        out.push((value, std::mem::take(doc)));
        Ok(())
    };
    for line in text.lines() {
        if line.trim_end() == "---" {
            flush(&mut current)?;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&mut current)?;
    Ok(out)
}

fn kind_of(doc: &Value) -> &str {
    doc.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads kubeadm's part of a guest's user data. `Ok(None)`: the guest does
/// not run kubeadm.
pub fn read_kubeadm(user_data: &[u8]) -> Result<Option<KubeadmBootstrap>, KubeadmError> {
    let Some(config) = cloud_config(user_data) else {
        return Ok(None);
    };
    let ca_cert_pem = written_file(&config, CA_CERT_PATH).filter(|s| !s.trim().is_empty());
    let ca_key_pem = written_file(&config, CA_KEY_PATH)
        .filter(|s| !s.trim().is_empty())
        .map(SecretPem);
    if let Some(init) = written_file(&config, INIT_CONFIG_PATH) {
        let docs = documents(INIT_CONFIG_PATH, &init)?;
        let cluster = docs
            .iter()
            .find(|(d, _)| kind_of(d) == "ClusterConfiguration");
        let endpoint = cluster
            .and_then(|(d, _)| non_empty(d.get("controlPlaneEndpoint")))
            .ok_or(KubeadmError::NoEndpoint {
                path: INIT_CONFIG_PATH,
                field: "ClusterConfiguration.controlPlaneEndpoint",
            })?;
        return Ok(Some(KubeadmBootstrap {
            role: KubeadmRole::Init,
            endpoint,
            ca_cert_pem,
            ca_key_pem,
            cluster_configuration: cluster.map(|(_, text)| text.clone()),
        }));
    }
    if let Some(join) = written_file(&config, JOIN_CONFIG_PATH) {
        let docs = documents(JOIN_CONFIG_PATH, &join)?;
        let join = docs.iter().find(|(d, _)| kind_of(d) == "JoinConfiguration");
        let endpoint = join
            .and_then(|(d, _)| {
                non_empty(
                    d.get("discovery")
                        .and_then(|x| x.get("bootstrapToken"))
                        .and_then(|x| x.get("apiServerEndpoint")),
                )
            })
            .ok_or(KubeadmError::NoEndpoint {
                path: JOIN_CONFIG_PATH,
                field: "JoinConfiguration.discovery.bootstrapToken.apiServerEndpoint",
            })?;
        let control_plane = join.is_some_and(|(d, _)| d.get("controlPlane").is_some());
        return Ok(Some(KubeadmBootstrap {
            role: if control_plane {
                KubeadmRole::JoinControlPlane
            } else {
                KubeadmRole::JoinWorker
            },
            endpoint,
            ca_cert_pem,
            ca_key_pem,
            cluster_configuration: None,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn indent(s: &str) -> String {
        s.lines().map(|l| format!("      {l}\n")).collect()
    }

    /// User data shaped as the kubeadm bootstrap provider writes it.
    fn user_data(files: &[(&str, &str)]) -> Vec<u8> {
        let mut out = String::from("## template: jinja\n#cloud-config\n\nwrite_files:\n");
        for (path, content) in files {
            out.push_str(&format!(
                "-   path: {path}\n    owner: root:root\n    permissions: '0640'\n    content: |\n{}",
                indent(content)
            ));
        }
        out.push_str("runcmd:\n  - 'kubeadm init --config /run/kubeadm/kubeadm.yaml'\n");
        out.into_bytes()
    }

    const CLUSTER: &str = "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nclusterName: demo\ncontrolPlaneEndpoint: 127.0.0.1:43111\nkubernetesVersion: v1.33.0\n";
    const INIT: &str = "---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\nnodeRegistration:\n  name: '{{ ds.meta_data.local_hostname }}'\n";

    #[test]
    fn init_names_the_control_plane_endpoint_and_carries_the_ca() {
        let data = user_data(&[
            (
                CA_CERT_PATH,
                "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----",
            ),
            (
                CA_KEY_PATH,
                "-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----",
            ),
            (INIT_CONFIG_PATH, &format!("{CLUSTER}{INIT}")),
        ]);
        let k = read_kubeadm(&data).unwrap().unwrap();
        assert_eq!(k.role, KubeadmRole::Init);
        assert_eq!(k.endpoint, "127.0.0.1:43111");
        assert!(k.ca_cert_pem.unwrap().contains("BEGIN CERTIFICATE"));
        assert!(k.ca_key_pem.is_some());
        let cc = k.cluster_configuration.unwrap();
        assert!(cc.contains("kind: ClusterConfiguration"));
        assert!(!cc.contains("InitConfiguration"));
    }

    #[test]
    fn the_key_is_never_printed() {
        let data = user_data(&[
            (
                CA_KEY_PATH,
                "-----BEGIN PRIVATE KEY-----\nsecret-bits\n-----END PRIVATE KEY-----",
            ),
            (INIT_CONFIG_PATH, CLUSTER),
        ]);
        let k = read_kubeadm(&data).unwrap().unwrap();
        assert!(!format!("{k:?}").contains("secret-bits"));
    }

    #[test]
    fn a_join_is_a_worker_unless_it_has_a_control_plane_section() {
        let worker = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 127.0.0.1:43111\n    token: abcdef.0123456789abcdef\n    caCertHashes:\n    - sha256:00\n";
        let k = read_kubeadm(&user_data(&[(JOIN_CONFIG_PATH, worker)]))
            .unwrap()
            .unwrap();
        assert_eq!(k.role, KubeadmRole::JoinWorker);
        assert_eq!(k.endpoint, "127.0.0.1:43111");
        assert!(k.ca_key_pem.is_none());
        let cp = format!("{worker}controlPlane:\n  localAPIEndpoint:\n    bindPort: 6443\n");
        let k = read_kubeadm(&user_data(&[(JOIN_CONFIG_PATH, &cp)]))
            .unwrap()
            .unwrap();
        assert_eq!(k.role, KubeadmRole::JoinControlPlane);
        assert!(k.role.control_plane());
    }

    #[test]
    fn other_user_data_is_not_kubeadm() {
        for data in [
            &b"#!/bin/sh\necho hi\n"[..],
            b"#cloud-config\nruncmd: [echo]\n",
            b"{\"ignition\":{}}",
            b"\xff\xfe",
        ] {
            assert_eq!(read_kubeadm(data).unwrap(), None);
        }
    }

    #[test]
    fn a_configuration_without_an_endpoint_is_an_error_naming_the_field() {
        let data = user_data(&[(INIT_CONFIG_PATH, "kind: ClusterConfiguration\n")]);
        let e = read_kubeadm(&data).unwrap_err();
        assert!(e.to_string().contains("controlPlaneEndpoint"), "{e}");
    }

    #[test]
    fn base64_files_are_decoded() {
        let text = "#cloud-config\nwrite_files:\n- path: /run/kubeadm/kubeadm.yaml\n  encoding: b64\n  content: a2luZDogQ2x1c3RlckNvbmZpZ3VyYXRpb24KY29udHJvbFBsYW5lRW5kcG9pbnQ6IDEwLjAuMC4xOjY0NDMK\n";
        let k = read_kubeadm(text.as_bytes()).unwrap().unwrap();
        assert_eq!(k.endpoint, "10.0.0.1:6443");
    }
}
