//! rustls configuration for both halves, always with the ring provider.
//!
//! The provider is passed explicitly instead of relying on a process-wide
//! default, so a second TLS stack in the same binary cannot change which
//! crypto WinRM uses, and nothing panics for lack of a default.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::TransportError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn material(what: &'static str, reason: impl ToString) -> TransportError {
    TransportError::TlsMaterial {
        what,
        reason: reason.to_string(),
    }
}

/// Parses every certificate in a PEM bundle.
pub fn certificates_from_pem(
    what: &'static str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| material(what, err))?;
    if certs.is_empty() {
        return Err(material(what, "no PEM CERTIFICATE block found"));
    }
    Ok(certs)
}

/// A TLS server configuration from a PEM certificate chain and private key.
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TransportError> {
    let certs = certificates_from_pem("server certificate", cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|err| material("server key", err))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|err| material("server certificate", err))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| material("server key", err))?;
    // WinRM is HTTP/1.1 only; announcing it keeps ALPN-aware clients honest.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How a client decides whether to trust the server's certificate.
#[derive(Debug, Clone, Default)]
pub struct TlsTrust {
    /// PEM bundle of CA certificates to trust. When set, the system roots are
    /// not used, so an internal CA cannot be bypassed by a public one.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Accept any certificate. For labs only: it removes all protection
    /// against an attacker in the middle.
    pub insecure_skip_verify: bool,
}

/// A TLS client configuration for the given trust settings.
pub fn client_config(trust: &TlsTrust) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| material("client TLS settings", err))?;
    let config = if trust.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        match &trust.ca_bundle_pem {
            Some(pem) => {
                for cert in certificates_from_pem("CA bundle", pem)? {
                    roots.add(cert).map_err(|err| material("CA bundle", err))?;
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                let (added, _ignored) = roots.add_parsable_certificates(native.certs);
                if added == 0 {
                    return Err(material(
                        "system trust store",
                        "no CA certificates could be loaded; give a CA bundle",
                    ));
                }
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The server name to verify: an IP address or a DNS name.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TransportError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|_| TransportError::Config {
        reason: format!("{host:?} is not a valid host name for TLS"),
    })
}

/// Skips certificate validation but still checks handshake signatures, so
/// the session keys at least belong to whoever holds the presented key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
