//! The transport's one error type, [`TransportError`], and the two detail
//! types it carries for the pure codecs ([`SealingError`], [`NtlmError`]).
//!
//! Messages say which endpoint, which step, and what the user can check.
//! They never contain passwords, NTLM tokens or sealed bytes: these errors end
//! up in Kubernetes conditions and logs.

use std::time::Duration;

/// Shorthand for results with a [`TransportError`].
pub type Result<T, E = TransportError> = std::result::Result<T, E>;

/// Where in the NTLM exchange a failure happened, so the message can say
/// which leg the server or the local NTLM code refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeStep {
    /// Building or sending the Negotiate (Type 1) message.
    Negotiate,
    /// Reading the server's Challenge (Type 2) message.
    Challenge,
    /// Building or sending the Authenticate (Type 3) message.
    Authenticate,
}

impl std::fmt::Display for HandshakeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HandshakeStep::Negotiate => "NTLM negotiate (type 1)",
            HandshakeStep::Challenge => "NTLM challenge (type 2)",
            HandshakeStep::Authenticate => "NTLM authenticate (type 3)",
        })
    }
}

/// Everything that can go wrong between SOAP bytes and the network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The endpoint URL or a client setting cannot work.
    #[error("invalid WinRM client configuration: {reason}")]
    Config {
        /// What is wrong, in terms of the setting the user wrote.
        reason: String,
    },

    /// TLS material (certificate, key or CA bundle) could not be loaded.
    #[error("invalid TLS material ({what}): {reason}")]
    TlsMaterial {
        /// Which input: "CA bundle", "server certificate", "server key".
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// The TCP connection could not be opened.
    #[error(
        "could not connect to {endpoint}: {source}; check the host name, the port \
         (5985 for HTTP, 5986 for HTTPS), firewalls, and that a WinRM listener is configured"
    )]
    Connect {
        /// The endpoint URL.
        endpoint: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },

    /// The TLS handshake failed, usually because the certificate is not trusted.
    #[error(
        "TLS handshake with {endpoint} failed: {detail}; check that the CA bundle contains the \
         CA that signed the WinRM listener's certificate and that the certificate names this host \
         (insecure_skip_verify exists for labs only)"
    )]
    Tls {
        /// The endpoint URL.
        endpoint: String,
        /// What rustls reported.
        detail: String,
    },

    /// A step took longer than the configured timeout.
    #[error(
        "{step} with {endpoint} timed out after {after:?}; the request may still have been \
         executed by the server, so only idempotent requests are safe to retry"
    )]
    Timeout {
        /// The endpoint URL.
        endpoint: String,
        /// What was being waited for.
        step: &'static str,
        /// The timeout that expired.
        after: Duration,
    },

    /// The connection failed or was closed while a request was in flight.
    #[error(
        "connection to {endpoint} failed during {step}: {detail}; the request may or may not \
         have been executed by the server"
    )]
    Connection {
        /// The endpoint URL.
        endpoint: String,
        /// What was in progress.
        step: &'static str,
        /// What hyper or the socket reported.
        detail: String,
    },

    /// The server refused the credentials (HTTP 401).
    #[error("{endpoint} rejected the {scheme} credentials (HTTP 401): {hint}")]
    Unauthorized {
        /// The endpoint URL.
        endpoint: String,
        /// The authentication scheme that was tried.
        scheme: &'static str,
        /// What to check, specific to the scheme and step.
        hint: &'static str,
    },

    /// The server does not offer an authentication scheme we can use.
    #[error(
        "{endpoint} does not offer {wanted} authentication (it offers: {offered}); enable it on \
         the WinRM service (winrm set winrm/config/service/auth) or choose another scheme"
    )]
    SchemeNotOffered {
        /// The endpoint URL.
        endpoint: String,
        /// The scheme we wanted.
        wanted: &'static str,
        /// The schemes the server listed, comma-separated (no tokens).
        offered: String,
    },

    /// The NTLM exchange failed locally or was answered with something unusable.
    #[error("NTLM authentication with {endpoint} failed at the {step} step: {source}")]
    Handshake {
        /// The endpoint URL.
        endpoint: String,
        /// Which leg failed.
        step: HandshakeStep,
        /// What went wrong.
        #[source]
        source: NtlmError,
    },

    /// The Kerberos exchange failed (KDC, server or mutual authentication).
    #[error("Kerberos authentication with {endpoint} failed at the {step} step: {detail}")]
    Kerberos {
        /// The endpoint URL.
        endpoint: String,
        /// Which leg failed.
        step: super::kerberos::KerberosStep,
        /// What the KDC, the server or sspi reported (no keys or tickets).
        detail: String,
    },

    /// A sealed (encrypted) message could not be built or did not verify.
    #[error(
        "message sealing with {endpoint} failed: {source}; the connection is closed because its \
         encryption state can no longer be trusted"
    )]
    Sealing {
        /// The endpoint URL.
        endpoint: String,
        /// The codec or crypto failure.
        #[source]
        source: SealingError,
    },

    /// The server answered a sealed request in plain text.
    #[error(
        "{endpoint} answered an encrypted request with an unencrypted body (HTTP {status}); \
         refusing it, because a plain-text answer on an encrypted session can be forged"
    )]
    UnsealedResponse {
        /// The endpoint URL.
        endpoint: String,
        /// The HTTP status of the refused response.
        status: u16,
    },

    /// The server refused an unencrypted request on plain HTTP.
    #[error(
        "{endpoint} refused an unencrypted request (HTTP {status} with an empty body); the \
         server has AllowUnencrypted=false: use NTLM with message encryption, or HTTPS"
    )]
    EncryptionRequired {
        /// The endpoint URL.
        endpoint: String,
        /// The HTTP status (500 on Windows).
        status: u16,
    },

    /// The response is larger than the configured cap.
    #[error(
        "the response from {endpoint} exceeds the {limit}-byte limit; raise the client's \
         response size limit if the server legitimately sends this much (MaxEnvelopeSize)"
    )]
    ResponseTooLarge {
        /// The endpoint URL.
        endpoint: String,
        /// The configured cap.
        limit: usize,
    },

    /// The server's HTTP response is not something WinRM sends.
    #[error("unexpected response from {endpoint}: {detail}")]
    Protocol {
        /// The endpoint URL.
        endpoint: String,
        /// What was unexpected.
        detail: String,
    },

    /// An `Authorization` or `WWW-Authenticate` header could not be parsed.
    #[error("malformed {header} header: {reason}")]
    AuthHeader {
        /// Which header.
        header: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// Binding or accepting on the server's listener failed.
    #[error("WinRM server I/O failed ({step}): {source}")]
    ServerIo {
        /// What the server was doing.
        step: &'static str,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a sealed (MS-WSMV `multipart/encrypted`) body was refused.
///
/// The codec fails closed: any deviation from the framing, a signature that
/// does not verify or a length that does not match is an error, never a
/// fallback to treating the bytes as plain text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealingError {
    /// The Content-Type is not the SPNEGO-session-encrypted multipart type.
    #[error("Content-Type {content_type:?} is not an HTTP-SPNEGO-session-encrypted multipart body")]
    ContentType {
        /// The Content-Type that was received (header values carry no secrets).
        content_type: String,
    },
    /// The MIME framing is wrong; `reason` says which part.
    #[error("malformed encrypted body: {reason}")]
    Framing {
        /// Which structural rule was broken.
        reason: &'static str,
    },
    /// The framing puts a CRLF before the closing boundary, as winrm-rs 1.1.2 does.
    #[error(
        "malformed encrypted body: a CRLF precedes the closing MIME boundary (the framing of \
         winrm-rs before 1.3); the payload must end directly with --Encrypted Boundary--"
    )]
    CrlfBeforeClosingBoundary,
    /// The unsealed payload is not as long as the `Length=` parameter says.
    #[error(
        "the encrypted body declares Length={declared} but unseals to {actual} bytes; it was tampered with or truncated"
    )]
    LengthMismatch {
        /// The declared plaintext length.
        declared: usize,
        /// The length after unsealing.
        actual: usize,
    },
    /// The signature or sequence number did not verify.
    #[error(
        "the message signature does not verify ({detail}); it was tampered with, replayed or sealed with other keys"
    )]
    Integrity {
        /// What the NTLM layer reported (no key material).
        detail: String,
    },
    /// Sealing failed locally.
    #[error("sealing the message failed: {detail}")]
    Seal {
        /// What the NTLM layer reported.
        detail: String,
    },
}

/// Why the NTLM exchange failed, on either side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NtlmError {
    /// A token is not the NTLM message expected at this point.
    #[error("malformed NTLM message: {reason}")]
    Malformed {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The user name cannot be used for NTLM.
    #[error(
        "the user name cannot be used for NTLM: {reason}; use user, DOMAIN\\user or user@domain"
    )]
    UserName {
        /// Why it was rejected.
        reason: String,
    },
    /// The acceptor does not know the user.
    #[error("unknown user")]
    UnknownUser,
    /// The NTProofStr does not match the password on record.
    #[error("the NTLMv2 response does not match the password on record")]
    BadPassword,
    /// The client sent an NTLMv1 or anonymous response, which we never accept.
    #[error("the client sent an NTLMv1 or anonymous response; only NTLMv2 is accepted")]
    NotNtlmV2,
    /// The message integrity check (MIC) or another sspi-side check failed.
    #[error("the authenticate message did not verify: {detail}")]
    Rejected {
        /// What sspi reported.
        detail: String,
    },
    /// A message arrived in a state that does not expect it.
    #[error("NTLM message out of sequence: {detail}")]
    OutOfSequence {
        /// Which message came when.
        detail: &'static str,
    },
    /// The sspi crate failed in a way not covered above.
    #[error("NTLM library error: {detail}")]
    Library {
        /// What sspi reported.
        detail: String,
    },
}
