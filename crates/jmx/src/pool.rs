//! A pool of idle JRMP connections to one endpoint: one in-flight call per connection.
//!
//! Owns connection reuse: a caller takes a connection (an idle one, pinged first if it has been
//! idle a while, or a new one under the connect timeout), and gives it back only after a complete
//! exchange. A connection that failed is simply dropped. It must not know about calls or sessions.

use std::sync::Mutex;
use std::time::Duration;

use crate::transport::{Connection, Endpoint};
use crate::JmxError;

/// Idle connections kept per endpoint.
const MAX_IDLE: usize = 16;
/// A connection idle longer than this is pinged before reuse (the server may have closed it).
const PING_AFTER: Duration = Duration::from_millis(500);
/// A connection idle longer than this is dropped instead of reused.
const MAX_IDLE_TIME: Duration = Duration::from_secs(60);

pub(crate) struct Pool {
    pub endpoint: Endpoint,
    tls: Option<tokio_rustls::TlsConnector>,
    connect_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub fn new(
        endpoint: Endpoint,
        tls: Option<tokio_rustls::TlsConnector>,
        connect_timeout: Duration,
    ) -> Pool {
        Pool {
            endpoint,
            tls,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection that answered a ping (when needed), or a new one.
    pub async fn get(&self) -> Result<Connection, JmxError> {
        loop {
            let candidate = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(mut conn) = candidate else { break };
            let idle_for = conn.last_used.elapsed();
            if idle_for < PING_AFTER {
                return Ok(conn);
            }
            if idle_for > MAX_IDLE_TIME {
                continue;
            }
            if let Ok(Ok(())) = tokio::time::timeout(self.connect_timeout, conn.ping()).await {
                return Ok(conn);
            }
        }
        self.open().await
    }

    /// A new connection, never a pooled one.
    pub async fn open(&self) -> Result<Connection, JmxError> {
        match tokio::time::timeout(
            self.connect_timeout,
            Connection::open(&self.endpoint, self.tls.as_ref()),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(JmxError::Timeout {
                during: "connect",
                after: self.connect_timeout,
            }),
        }
    }

    /// Returns a connection after a complete exchange.
    pub fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Drops every idle connection.
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
