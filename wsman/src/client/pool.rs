//! Connections to one endpoint, reused (an NTLM handshake authenticates the
//! connection, so reuse saves two round trips per request) under a ceiling
//! on how many exist at once.

use super::stats::ClientStats;
use super::transport::{HttpReply, SoapFuture, SoapTransport, TransportFactory};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A pool of connections to one endpoint.
pub struct Pool<F: TransportFactory> {
    factory: F,
    idle: Mutex<Vec<F::Transport>>,
    permits: Arc<Semaphore>,
    stats: Arc<ClientStats>,
    endpoint: String,
}

impl<F: TransportFactory> Pool<F> {
    /// A pool for `endpoint` (the `/wsman` URL) with at most `max_connections`
    /// connections in use or idle.
    pub fn new(factory: F, endpoint: impl Into<String>, max_connections: usize) -> Arc<Self> {
        Arc::new(Self {
            factory,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            stats: Arc::new(ClientStats::default()),
            endpoint: endpoint.into(),
        })
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Counters of every connection of this pool.
    pub fn stats(&self) -> Arc<ClientStats> {
        self.stats.clone()
    }

    /// Connections idle in the pool now.
    pub fn idle_connections(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// A connection: an idle one if there is one, else a new one; waits
    /// while the ceiling is reached.
    pub async fn get(self: &Arc<Self>) -> Result<PooledTransport<F>> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Transport("the connection pool was closed".into()))?;
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match reused {
            Some(c) => c,
            None => self.factory.connect().await?,
        };
        Ok(PooledTransport {
            conn: Some(conn),
            pool: self.clone(),
            healthy: true,
            _permit: permit,
        })
    }
}

/// A connection on loan from a [`Pool`]. It goes back to the pool when
/// dropped, unless a request on it failed or was interrupted: its state
/// (authentication, half-read response) is then unknown, so it is closed.
pub struct PooledTransport<F: TransportFactory> {
    conn: Option<F::Transport>,
    pool: Arc<Pool<F>>,
    healthy: bool,
    _permit: OwnedSemaphorePermit,
}

impl<F: TransportFactory> PooledTransport<F> {
    /// The pool this connection belongs to.
    pub fn pool(&self) -> &Arc<Pool<F>> {
        &self.pool
    }
}

impl<F: TransportFactory> SoapTransport for PooledTransport<F> {
    fn post(&mut self, body: Vec<u8>) -> SoapFuture<'_> {
        Box::pin(async move {
            self.healthy = false;
            let conn = self.conn.as_mut().ok_or_else(|| {
                Error::Transport("connection already returned to the pool".into())
            })?;
            let reply: HttpReply = conn.post(body).await?;
            self.healthy = true;
            Ok(reply)
        })
    }
}

impl<F: TransportFactory> Drop for PooledTransport<F> {
    fn drop(&mut self) {
        if self.healthy
            && let Some(conn) = self.conn.take()
        {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }
}
