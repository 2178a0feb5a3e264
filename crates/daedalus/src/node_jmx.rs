//! The node adapter used by the binary: reaches Cassandra's JMX address.
//!
//! This is the seam where the native JMX client (`crates/cassandra` over `crates/jmx`) plugs in.
//! Until then it only checks that something listens at the address: nothing listening →
//! `Unreachable`; something listening → `Unsupported`, because no management call can be made
//! yet. It must not contain protocol code of its own.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::net::TcpStream;

use crate::config::Credentials;
use crate::node::{Node, NodeConnector, NodeError, NodeErrorKind};

/// Connects to `--jmx-service` for each operation.
#[derive(Debug, Clone)]
pub struct JmxConnector {
    pub address: String,
    pub credentials: Option<Credentials>,
    pub timeout: Duration,
}

#[async_trait]
impl NodeConnector for JmxConnector {
    async fn connect(&self) -> Result<Arc<dyn Node>, NodeError> {
        match tokio::time::timeout(self.timeout, TcpStream::connect(&self.address)).await {
            Err(_) => Err(NodeError::new(
                NodeErrorKind::Timeout,
                format!(
                    "no answer from JMX at {} within {:?}",
                    self.address, self.timeout
                ),
            )),
            Ok(Err(e)) => Err(NodeError::new(
                NodeErrorKind::Unreachable,
                format!("cannot connect to JMX at {}: {e}", self.address),
            )),
            Ok(Ok(_)) => Err(NodeError::new(
                NodeErrorKind::Unsupported,
                format!(
                    "JMX at {} answers, but this build has no JMX client wired in yet",
                    self.address
                ),
            )),
        }
    }
}
