//! What a booting guest takes from its NoCloud seed: identity from
//! `meta-data`, addresses from `network-config` (netplan v2, or v1), and a
//! digest of `user-data`, and what kubeadm would do with it (see
//! `super::kubeadm`; of the bootstrap data only that is kept).

use super::iso::{IsoError, read_root};
use super::kubeadm::{KubeadmBootstrap, read_kubeadm};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a seed could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    /// The image is not readable ISO 9660.
    #[error(transparent)]
    Iso(#[from] IsoError),
    /// The volume is not labelled `cidata`, so cloud-init would ignore it.
    #[error(
        "the attached ISO is labelled {0:?}, not \"cidata\"; cloud-init's NoCloud source would not read it"
    )]
    NotNoCloud(String),
    /// A required file is missing.
    #[error("the seed has no {0} file")]
    Missing(&'static str),
    /// A file is not valid YAML.
    #[error("{file} is not valid YAML: {detail}")]
    Yaml {
        /// Which file.
        file: &'static str,
        /// The parser's message.
        detail: String,
    },
}

/// One interface as the guest configures it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestInterface {
    /// Interface name (`eth0`).
    pub name: String,
    /// MAC the configuration matches, if any.
    pub mac_address: Option<String>,
    /// DHCP on IPv4.
    pub dhcp4: bool,
    /// Static addresses (CIDR).
    pub addresses: Vec<String>,
}

/// What the guest learned from its seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestSeed {
    /// `instance-id`.
    pub instance_id: Option<String>,
    /// `local-hostname` (or `hostname`).
    pub hostname: Option<String>,
    /// `provider-id`, when the seed carries one.
    pub provider_id: Option<String>,
    /// Interfaces from network-config, in name order.
    pub interfaces: Vec<GuestInterface>,
    /// SHA-256 of user-data, hex.
    pub user_data_sha256: String,
    /// Length of user-data in bytes.
    pub user_data_len: usize,
    /// What kubeadm in the guest runs, when the user-data is the kubeadm
    /// bootstrap provider's cloud-config.
    pub kubeadm: Option<KubeadmBootstrap>,
    /// Why the user-data's kubeadm configuration cannot be followed.
    pub kubeadm_error: Option<String>,
}

fn yaml(file: &'static str, bytes: &[u8]) -> Result<Value, SeedError> {
    let text = String::from_utf8_lossy(bytes);
    serde_saphyr::from_str::<Value>(&text).map_err(|e| SeedError::Yaml {
        file,
        detail: yaml_detail(&e),
    })
}

/// A YAML parser's message, shortened: it quotes the offending scalar
/// whole, however long the seed made it (the ISO fuzz target found 4 KB
/// messages), and it ends up in logs and the inspection API.
pub(super) fn yaml_detail(error: &dyn std::fmt::Display) -> String {
    const MAX_CHARS: usize = 500;
    let text = error.to_string();
    let mut shown: String = text.chars().take(MAX_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

fn string(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn interfaces(nc: &Value) -> Vec<GuestInterface> {
    let mut out = Vec::new();
    if let Some(eths) = nc.get("ethernets").and_then(Value::as_object) {
        for (key, e) in eths {
            out.push(GuestInterface {
                name: e
                    .get("set-name")
                    .and_then(Value::as_str)
                    .unwrap_or(key)
                    .to_string(),
                mac_address: e
                    .get("match")
                    .and_then(|m| m.get("macaddress"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                dhcp4: e
                    .get("dhcp4")
                    .is_some_and(|d| d == &Value::Bool(true) || d == "true" || d == "yes"),
                addresses: strings(e.get("addresses")),
            });
        }
    } else if let Some(config) = nc.get("config").and_then(Value::as_array) {
        // Version 1: a list of physical interfaces with subnets.
        for item in config
            .iter()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("physical"))
        {
            let subnets = item
                .get("subnets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            out.push(GuestInterface {
                name: item
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                mac_address: item
                    .get("mac_address")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                dhcp4: subnets
                    .iter()
                    .any(|s| s.get("type").and_then(Value::as_str) == Some("dhcp")),
                addresses: subnets
                    .iter()
                    .filter_map(|s| s.get("address").and_then(Value::as_str).map(str::to_string))
                    .collect(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Reads a seed image the way cloud-init's NoCloud source would.
pub fn read_seed(image: &[u8]) -> Result<GuestSeed, SeedError> {
    let root = read_root(image)?;
    if !root.label.eq_ignore_ascii_case("cidata") {
        return Err(SeedError::NotNoCloud(root.label));
    }
    let meta = root
        .files
        .get("meta-data")
        .copied()
        .ok_or(SeedError::Missing("meta-data"))?;
    let user_data = root
        .files
        .get("user-data")
        .copied()
        .ok_or(SeedError::Missing("user-data"))?;
    let meta = yaml("meta-data", meta)?;
    let interfaces = match root.files.get("network-config") {
        Some(nc) => interfaces(&yaml("network-config", nc)?),
        None => Vec::new(),
    };
    let digest = Sha256::digest(user_data);
    let (kubeadm, kubeadm_error) = match read_kubeadm(user_data) {
        Ok(k) => (k, None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(GuestSeed {
        kubeadm,
        kubeadm_error,
        instance_id: string(&meta, "instance-id"),
        hostname: string(&meta, "local-hostname").or_else(|| string(&meta, "hostname")),
        provider_id: string(&meta, "provider-id"),
        interfaces,
        user_data_sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        user_data_len: user_data.len(),
    })
}
