//! Certificates for one local control plane: a CA, the API server's serving
//! certificate, an admin client certificate, the service-account signing key
//! and webhook serving certificates. Everything is generated fresh per test
//! bed, so no test ever trusts a key another test could have.

use super::Error;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr};

/// A PEM certificate and its PEM (PKCS#8) private key.
#[derive(Clone)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The certificate authority of one test bed.
pub struct Ca {
    pub cert_pem: String,
    /// PKCS#8 PEM; Cluster API accepts it as a cluster CA key.
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn pki(what: &'static str) -> impl FnOnce(rcgen::Error) -> Error {
    move |source| Error::Pki { what, source }
}

impl Ca {
    /// Creates a new self-signed CA.
    pub fn new(common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate().map_err(pki("CA key"))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(pki("CA params"))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        let cert = params.self_signed(&key).map_err(pki("CA certificate"))?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Issues a TLS server certificate for loopback (and extra DNS names).
    pub fn server(&self, common_name: &str, dns: &[&str]) -> Result<CertPair, Error> {
        let mut names: Vec<String> = vec!["localhost".into()];
        names.extend(dns.iter().map(|d| d.to_string()));
        let mut params = CertificateParams::new(names).map_err(pki("server params"))?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        self.sign(params, "server certificate")
    }

    /// Issues a client certificate; Kubernetes maps CN to the user name and
    /// O to groups (`system:masters` makes a cluster admin).
    pub fn client(&self, user: &str, groups: &[&str]) -> Result<CertPair, Error> {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(pki("client params"))?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, user);
        for g in groups {
            dn.push(DnType::OrganizationName, *g);
        }
        params.distinguished_name = dn;
        self.sign(params, "client certificate")
    }

    fn sign(&self, params: CertificateParams, what: &'static str) -> Result<CertPair, Error> {
        let key = KeyPair::generate().map_err(pki(what))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(pki(what))?;
        Ok(CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// A key pair for signing service-account tokens: (private PEM, public PEM).
pub fn service_account_keys() -> Result<(String, String), Error> {
    let key = KeyPair::generate().map_err(pki("service-account key"))?;
    Ok((key.serialize_pem(), key.public_key_pem()))
}
