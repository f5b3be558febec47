//! What the client needs from a connection: post a SOAP body, get the HTTP
//! status and body back. HTTP, TLS, authentication and sealing implement it
//! (see `crate::transport`); tests can connect straight to a server.

use crate::error::Result;
use std::future::Future;
use std::pin::Pin;

/// The answer to one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// HTTP status (200 response, 500 fault, anything else an error).
    pub status: u16,
    /// The (unsealed) body.
    pub body: Vec<u8>,
}

/// A boxed future, so transports can be used as trait objects.
pub type SoapFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpReply>> + Send + 'a>>;

/// One connection to a WinRM endpoint.
pub trait SoapTransport: Send + 'static {
    /// Posts one SOAP envelope. Must not retry on its own: the caller
    /// decides what may be sent twice.
    fn post(&mut self, body: Vec<u8>) -> SoapFuture<'_>;
}

/// Opens new connections for a [`crate::client::Pool`].
pub trait TransportFactory: Send + Sync + 'static {
    /// The connection type.
    type Transport: SoapTransport;
    /// Opens (and, where needed, authenticates) a connection.
    fn connect(&self) -> Pin<Box<dyn Future<Output = Result<Self::Transport>> + Send + '_>>;
}
