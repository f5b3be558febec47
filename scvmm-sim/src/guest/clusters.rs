//! The workload clusters guests join (`--join-kubeadm-clusters`), by the
//! endpoint their bootstrap data names.
//!
//! A control-plane guest carries the cluster CA; the emulator mints itself a
//! short-lived admin client certificate from it (as `kubeadm init` writes
//! `admin.conf`) and keeps a client for that endpoint. Workers carry only a
//! bootstrap token, so they go through the client an earlier control-plane
//! guest of the same endpoint left, and wait (with the kubelet's retries)
//! until there is one, as a real `kubeadm join` waits for its API server.
//! The token's CA pin (`caCertHashes`) is not checked.

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The user the emulator's certificates name (group `system:masters`).
pub const CLIENT_USER: &str = "scvmm-sim:kubeadm";

/// Clients for the clusters guests joined, by `host:port`.
#[derive(Default)]
pub struct Clusters {
    known: Mutex<HashMap<String, (String, Client)>>,
}

fn pem_block(pem: &str) -> Result<(String, Vec<u8>), String> {
    let start = pem
        .find("-----BEGIN ")
        .ok_or_else(|| "no PEM block".to_string())?;
    let rest = &pem[start + "-----BEGIN ".len()..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| "malformed PEM header".to_string())?;
    let label = rest[..label_end].to_string();
    let body_start = label_end + 5;
    let end = rest
        .find("-----END ")
        .ok_or_else(|| "no PEM END line".to_string())?;
    let body: String = rest[body_start..end].split_whitespace().collect();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("PEM body is not base64: {e}"))?;
    Ok((label, der))
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

/// PKCS#8 `PrivateKeyInfo` around a PKCS#1 `RSAPrivateKey` (what Cluster
/// API writes as `RSA PRIVATE KEY`): ring only reads PKCS#8.
fn rsa_pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    const VERSION: [u8; 3] = [0x02, 0x01, 0x00];
    // AlgorithmIdentifier { rsaEncryption, NULL }
    const RSA_ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut octets = vec![0x04];
    octets.extend(der_len(pkcs1.len()));
    octets.extend_from_slice(pkcs1);
    let body_len = VERSION.len() + RSA_ALGORITHM.len() + octets.len();
    let mut out = vec![0x30];
    out.extend(der_len(body_len));
    out.extend_from_slice(&VERSION);
    out.extend_from_slice(&RSA_ALGORITHM);
    out.extend(octets);
    out
}

/// The CA's signing key, from PKCS#8 (`PRIVATE KEY`) or PKCS#1
/// (`RSA PRIVATE KEY`) PEM.
fn signing_key(key_pem: &str) -> Result<KeyPair, String> {
    let (label, der) = pem_block(key_pem)?;
    match label.as_str() {
        "PRIVATE KEY" => KeyPair::try_from(der.as_slice())
            .map_err(|e| format!("the CA key is not a usable PKCS#8 key: {e}")),
        "RSA PRIVATE KEY" => {
            let pkcs8 = rsa_pkcs1_to_pkcs8(&der);
            KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_slice().into(), &PKCS_RSA_SHA256)
                .map_err(|e| format!("the CA key is not a usable RSA key: {e}"))
        }
        other => Err(format!(
            "the CA key is a {other:?} PEM block; only PKCS#8 and PKCS#1 RSA keys are supported"
        )),
    }
}

/// An admin client certificate and key (PEM) signed by the cluster CA.
pub fn mint_admin(ca_cert_pem: &str, ca_key_pem: &str) -> Result<(String, String), String> {
    let key = signing_key(ca_key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, key)
        .map_err(|e| format!("the CA certificate is not usable: {e}"))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CLIENT_USER);
    dn.push(DnType::OrganizationName, "system:masters");
    params.distinguished_name = dn;
    let client_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params
        .signed_by(&client_key, &issuer)
        .map_err(|e| format!("signing the client certificate failed: {e}"))?;
    Ok((cert.pem(), client_key.serialize_pem()))
}

/// A client for `https://<endpoint>` trusting `ca_cert_pem`, authenticated
/// by a certificate minted from the CA.
async fn client_for(endpoint: &str, ca_cert_pem: &str, ca_key_pem: &str) -> Result<Client, String> {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (cert, key) = mint_admin(ca_cert_pem, ca_key_pem)?;
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://{endpoint}\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n",
        b64(ca_cert_pem),
        b64(&cert),
        b64(&key)
    );
    let kubeconfig = Kubeconfig::from_yaml(&yaml).map_err(|e| e.to_string())?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(20));
    Client::try_from(config).map_err(|e| e.to_string())
}

impl Clusters {
    /// A control-plane guest of `endpoint` booted with this CA: keep a
    /// client for it (replacing one built from another CA: the cluster was
    /// re-created at the same address).
    pub async fn learn(
        &self,
        endpoint: &str,
        ca_cert_pem: &str,
        ca_key_pem: &str,
    ) -> Result<Client, String> {
        if let Ok(known) = self.known.lock()
            && let Some((ca, client)) = known.get(endpoint)
            && ca == ca_cert_pem
        {
            return Ok(client.clone());
        }
        let client = client_for(endpoint, ca_cert_pem, ca_key_pem).await?;
        if let Ok(mut known) = self.known.lock() {
            known.insert(
                endpoint.to_string(),
                (ca_cert_pem.to_string(), client.clone()),
            );
        }
        Ok(client)
    }

    /// The client a control-plane guest of `endpoint` left, if any.
    pub fn client(&self, endpoint: &str) -> Option<Client> {
        self.known
            .lock()
            .ok()
            .and_then(|k| k.get(endpoint).map(|(_, c)| c.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use rcgen::{BasicConstraints, IsCa};

    fn ca() -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "kubernetes");
        params.distinguished_name = dn;
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_client_certificate_is_minted_from_a_pkcs8_ca() {
        let (cert, key) = ca();
        let (client, client_key) = mint_admin(&cert, &key).unwrap();
        assert!(client.contains("BEGIN CERTIFICATE"));
        assert!(client_key.contains("PRIVATE KEY"));
    }

    /// What Cluster API generates when no CA is given: RSA 2048 in PKCS#1
    /// (a throw-away test key, made with `openssl genrsa -traditional`).
    #[test]
    fn a_client_certificate_is_minted_from_a_pkcs1_rsa_ca() {
        let cert = include_str!("testdata/rsa-ca.crt");
        let key = include_str!("testdata/rsa-ca.key");
        assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let (client, _) = mint_admin(cert, key).unwrap();
        assert!(client.contains("BEGIN CERTIFICATE"));
    }

    #[test]
    fn der_lengths_use_the_long_form_past_127() {
        assert_eq!(der_len(5), vec![5]);
        assert_eq!(der_len(200), vec![0x81, 200]);
        assert_eq!(der_len(1190), vec![0x82, 0x04, 0xa6]);
    }

    #[test]
    fn other_key_kinds_are_refused_by_name() {
        let e = signing_key("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
            .err()
            .unwrap();
        assert!(e.contains("EC PRIVATE KEY"), "{e}");
        assert!(signing_key("not pem").is_err());
    }
}
