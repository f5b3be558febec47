//! The WinRM transport, below SOAP: bytes in, bytes out, for both halves.
//!
//! - [`sealing`]: the MS-WSMV `multipart/encrypted` codec over a [`Sealer`].
//! - [`ntlm`]: NTLM initiator and acceptor (sspi) and the session that seals.
//! - [`kerberos`]: Kerberos initiator (client only; sspi) and its sealing session.
//! - [`auth`]: `Authorization`/`WWW-Authenticate` headers, credentials.
//! - [`tls`]: rustls (ring) configuration for both sides.
//! - [`server`]: hyper server with per-connection auth state, for the emulator.
//! - [`client`]: one authenticated connection, and a pool of them.
//! - [`error`]: [`TransportError`] and its detail types.
//!
//! Unlike the rest of the crate this module does I/O; it knows nothing about
//! SOAP beyond the Content-Type it sends.

pub mod auth;
pub mod client;
pub mod error;
pub mod kerberos;
pub mod ntlm;
pub mod sealing;
pub mod server;
pub mod tls;

pub use auth::{CredentialStore, Password, StaticCredentials};
pub use client::{
    ClientAuth, ClientConfig, Connection, Connector, Encryption, Pool, PooledConnection,
};
pub use error::{HandshakeStep, NtlmError, SealingError, TransportError};
pub use kerberos::{KerberosSettings, KerberosStep};
pub use sealing::Sealer;
pub use server::{
    Disconnect, HttpFallback, ServerConfig, ServerHandle, SoapHandler, SoapReply, WsmanServer,
};
pub use tls::TlsTrust;
