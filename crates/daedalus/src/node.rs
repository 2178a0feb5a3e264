//! The one handle on the Cassandra node: a long-lived [`cassandra::Node`] over one MBean server
//! connection, shared by operations, their progress polling and the read endpoints.
//!
//! Owns connecting lazily (the sidecar starts while the node is down), re-reading the version
//! when the connection was established anew (a node upgraded in place is noticed), bounding
//! short reads by `--jmx-timeout`, and the metering of every call. It must not know operations,
//! records or HTTP; management calls themselves are `cassandra::Node`'s.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cassandra::{MBeanServer, Node, NodeError};
use tokio::sync::Mutex;

use crate::metrics::MeteredServer;

/// Bound on a call that blocks in Cassandra until the work is done (`importNewSSTables`,
/// `drain`, `decommission`...), which may legitimately take far longer than `--jmx-timeout`.
pub const LONG_CALL_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Where the MBean server comes from.
enum Source {
    /// The native JMX client, connected on first use; it pools and reconnects by itself.
    Jmx(Box<jmx::JmxConfig>),
    /// A server given whole (tests use `cassandra::fake::FakeServer`).
    Server(Arc<dyn MBeanServer>),
}

struct Connected {
    server: Arc<dyn MBeanServer>,
    node: Node,
    /// `MBeanServer::session` when the version was read.
    session: u64,
}

struct Inner {
    source: Source,
    timeout: Duration,
    /// JMX connections opened so far (one while the node stays reachable).
    connects: std::sync::atomic::AtomicU64,
    connected: Mutex<Option<Connected>>,
}

/// The shared node handle. Cheap to clone.
#[derive(Clone)]
pub struct NodeHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.inner.source {
            Source::Jmx(config) => format!("jmx {}:{}", config.host, config.port),
            Source::Server(_) => "server".to_string(),
        };
        f.debug_struct("NodeHandle")
            .field("source", &source)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// A node reached over JMX with `config` (its call timeout is raised to
    /// [`LONG_CALL_TIMEOUT`]; `timeout` bounds connecting and every short read).
    pub fn jmx(mut config: jmx::JmxConfig, timeout: Duration) -> NodeHandle {
        config.connect_timeout = timeout;
        config.call_timeout = LONG_CALL_TIMEOUT;
        NodeHandle::from_source(Source::Jmx(Box::new(config)), timeout)
    }

    /// A node over an MBean server that is already there (a fake, in tests).
    pub fn with_server(server: Arc<dyn MBeanServer>, timeout: Duration) -> NodeHandle {
        let metered: Arc<dyn MBeanServer> = Arc::new(MeteredServer::new(server));
        NodeHandle::from_source(Source::Server(metered), timeout)
    }

    fn from_source(source: Source, timeout: Duration) -> NodeHandle {
        NodeHandle {
            inner: Arc::new(Inner {
                source,
                timeout,
                connects: std::sync::atomic::AtomicU64::new(0),
                connected: Mutex::new(None),
            }),
        }
    }

    /// How many JMX connections this handle has opened (the client reconnects by itself; a
    /// new one is dialled only after a transport failure).
    pub fn connections_opened(&self) -> u64 {
        self.inner
            .connects
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `--jmx-timeout`: the bound on connecting and on short reads.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The node, connecting first when needed and re-reading its version when the connection
    /// was established anew since. Bounded by the timeout.
    pub async fn node(&self) -> Result<Node, NodeError> {
        self.bounded(self.node_unbounded()).await
    }

    async fn node_unbounded(&self) -> Result<Node, NodeError> {
        let mut slot = self.inner.connected.lock().await;
        if let Some(connected) = slot.as_mut() {
            let session = connected.server.session();
            if session == connected.session {
                return Ok(connected.node.clone());
            }
            let version = connected.node.read_version().await?;
            if &version != connected.node.version() {
                tracing::info!(version = %version.raw, "the node answers with another version now");
            }
            connected.node = Node::with_version(connected.server.clone(), version);
            connected.session = session;
            return Ok(connected.node.clone());
        }
        let server = self.server().await?;
        let session = server.session();
        let node = match Node::connect(server.clone()).await {
            Ok(node) => node,
            Err(e) => {
                close(server);
                return Err(e);
            }
        };
        *slot = Some(Connected {
            server,
            node: node.clone(),
            session,
        });
        Ok(node)
    }

    async fn server(&self) -> Result<Arc<dyn MBeanServer>, NodeError> {
        match &self.inner.source {
            Source::Server(server) => Ok(server.clone()),
            Source::Jmx(config) => {
                let started = std::time::Instant::now();
                let client = jmx::JmxClient::connect((**config).clone()).await;
                crate::metrics::global().jmx_call(
                    "connect",
                    started.elapsed().as_secs_f64(),
                    client.is_ok(),
                );
                let client = client.map_err(|e| cassandra::jmx_adapter::map_error(e, None))?;
                self.inner
                    .connects
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(Arc::new(MeteredServer::new(Arc::new(client))))
            }
        }
    }

    /// Runs a short read on the node (connect included), bounded by the timeout. After a
    /// transport failure the connection is dropped, so the next call dials anew.
    pub async fn read<T, F, Fut>(&self, read: F) -> Result<T, NodeError>
    where
        F: FnOnce(Node) -> Fut,
        Fut: Future<Output = Result<T, NodeError>>,
    {
        let result = self
            .bounded(async {
                let node = self.node_unbounded().await?;
                read(node).await
            })
            .await;
        if let Err(e) = &result {
            if e.is_transport() {
                self.forget().await;
            }
        }
        result
    }

    /// `ReleaseVersion` read afresh; the handle keeps using it for version-dependent calls.
    pub async fn release_version(&self) -> Result<cassandra::CassandraVersion, NodeError> {
        let version = self
            .read(|node| async move { node.read_version().await })
            .await?;
        if let Some(connected) = self.inner.connected.lock().await.as_mut() {
            if connected.node.version() != &version {
                connected.node = Node::with_version(connected.server.clone(), version.clone());
            }
        }
        Ok(version)
    }

    /// `future` bounded by the timeout; running out is `NodeError::Timeout`.
    pub async fn bounded<T>(
        &self,
        future: impl Future<Output = Result<T, NodeError>>,
    ) -> Result<T, NodeError> {
        let timeout = self.inner.timeout;
        match tokio::time::timeout(timeout, future).await {
            Ok(result) => result,
            Err(_) => Err(NodeError::Timeout {
                message: format!("no answer from the node within {timeout:?}"),
            }),
        }
    }

    /// Drops the connection (when nobody else is using the slot right now).
    async fn forget(&self) {
        if let Ok(mut slot) = self.inner.connected.try_lock() {
            if let Some(connected) = slot.take() {
                if matches!(self.inner.source, Source::Jmx(_)) {
                    close(connected.server);
                }
            }
        }
    }
}

/// `HOST:PORT` (`[v6]:PORT` for IPv6) as `--jmx-service` gives it.
pub fn parse_address(address: &str) -> Result<(String, u16), String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("JMX address {address:?} is not HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("JMX address {address:?} has no valid port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("JMX address {address:?} has no host"));
    }
    Ok((host.to_string(), port))
}

fn close(server: Arc<dyn MBeanServer>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = server.close().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cassandra::fake::FakeServer;
    use jmx::Value;

    const SS: &str = "org.apache.cassandra.db:type=StorageService";

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("10.0.0.5:7199").unwrap(),
            ("10.0.0.5".into(), 7199)
        );
        assert_eq!(parse_address("[::1]:7199").unwrap().0, "::1");
        assert!(parse_address("nohost").is_err());
        assert!(parse_address("h:port").is_err());
        assert!(parse_address(":7199").is_err());
    }

    #[tokio::test]
    async fn a_new_session_makes_the_version_read_again() {
        let fake = Arc::new(FakeServer::cassandra("4.0.6"));
        let handle = NodeHandle::with_server(fake.clone(), Duration::from_secs(5));
        assert_eq!(handle.node().await.unwrap().version().raw, "4.0.6");
        fake.set_attr(SS, "ReleaseVersion", Value::String("5.0.2".into()));
        // Same session: the cached version stands.
        assert_eq!(handle.node().await.unwrap().version().raw, "4.0.6");
        fake.reconnect();
        assert_eq!(handle.node().await.unwrap().version().raw, "5.0.2");
    }

    #[tokio::test]
    async fn a_dead_address_fails_fast_as_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let handle = NodeHandle::jmx(
            jmx::JmxConfig::new("127.0.0.1", port),
            Duration::from_secs(5),
        );
        let e = handle.node().await.unwrap_err();
        assert!(e.is_unreachable(), "{e}");
    }
}
