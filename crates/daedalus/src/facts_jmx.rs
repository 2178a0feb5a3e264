//! The node-facts adapter over the native JMX client: one shared connection for every read
//! endpoint, opened on first use and kept.
//!
//! Owns connecting lazily, reusing the connection (the JMX client reconnects by itself), dropping
//! it after a transport failure, and bounding every answer by `--jmx-timeout`. It must not shape
//! HTTP responses or know protocol details (the `cassandra` crate picks attributes per version).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::config::Credentials;
use crate::facts::{
    read_cassandra_yaml, ConfigFileError, EndpointFacts, NodeFacts, TopologyFacts, VersionFacts,
};
use crate::node::{NodeError, NodeErrorKind};
use crate::node_jmx::convert;

/// Facts read over one lazily opened, shared JMX connection.
pub struct JmxFacts {
    config: jmx::JmxConfig,
    timeout: Duration,
    cassandra_config: Option<PathBuf>,
    node: tokio::sync::Mutex<Option<cassandra::Node>>,
    /// Connections opened so far (one while the node stays reachable).
    connects: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for JmxFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JmxFacts")
            .field("host", &self.config.host)
            .field("port", &self.config.port)
            .field("timeout", &self.timeout)
            .field("cassandra_config", &self.cassandra_config)
            .finish_non_exhaustive()
    }
}

impl JmxFacts {
    /// Nothing is connected until the first call.
    pub fn new(
        host: &str,
        port: u16,
        credentials: Option<&Credentials>,
        timeout: Duration,
    ) -> JmxFacts {
        let mut config = jmx::JmxConfig::new(host.to_string(), port);
        config.credentials = credentials.map(|c| jmx::Credentials {
            user: c.user.clone(),
            password: c.password.clone(),
        });
        config.connect_timeout = timeout;
        config.call_timeout = timeout;
        JmxFacts {
            config,
            timeout,
            cassandra_config: None,
            node: tokio::sync::Mutex::new(None),
            connects: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The `--cassandra-config` path, when one was given.
    pub fn cassandra_config_path(&self) -> Option<PathBuf> {
        self.cassandra_config.clone()
    }

    /// JMX over TLS (`--jmx-ssl-ca`), trusting the certificates in `ca_file`.
    pub fn with_tls(mut self, ca_file: Option<PathBuf>) -> JmxFacts {
        self.config.tls = ca_file.map(jmx::TlsConfig::new);
        self
    }

    /// Where `GET /config` finds `cassandra.yaml` (the file, or a directory holding it).
    pub fn with_cassandra_config(mut self, path: Option<PathBuf>) -> JmxFacts {
        self.cassandra_config = path;
        self
    }

    /// The shared node, connecting first when there is none.
    async fn node(&self) -> Result<cassandra::Node, NodeError> {
        let mut slot = self.node.lock().await;
        if let Some(node) = slot.as_ref() {
            return Ok(node.clone());
        }
        let node = cassandra::Node::connect_jmx(self.config.clone())
            .await
            .map_err(convert)?;
        self.connects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *slot = Some(node.clone());
        Ok(node)
    }

    /// How many JMX connections the reads have opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets the shared connection after a transport failure, so the next call dials anew.
    fn forget(&self) {
        // Another request holding the slot is connecting anew anyway.
        let Ok(mut slot) = self.node.try_lock() else {
            return;
        };
        if let Some(node) = slot.take() {
            let server = node.server().clone();
            tokio::spawn(async move {
                let _ = server.close().await;
            });
        }
    }

    /// Runs `read` on the shared node, the whole (connect included) bounded by the timeout.
    async fn read<T, F, Fut>(&self, read: F) -> Result<T, NodeError>
    where
        F: FnOnce(cassandra::Node) -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, cassandra::NodeError>> + Send,
        T: Send,
    {
        let attempt = async {
            let node = self.node().await?;
            read(node).await.map_err(convert)
        };
        let result = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(NodeError::new(
                NodeErrorKind::Timeout,
                format!(
                    "no answer from the node at {}:{} within {:?}",
                    self.config.host, self.config.port, self.timeout
                ),
            )),
        };
        if let Err(e) = &result {
            if matches!(
                e.kind,
                NodeErrorKind::Unreachable | NodeErrorKind::Timeout | NodeErrorKind::Protocol
            ) {
                self.forget();
            }
        }
        result
    }
}

#[async_trait]
impl NodeFacts for JmxFacts {
    async fn operation_mode(&self) -> Result<String, NodeError> {
        self.read(|node| async move { node.operation_mode().await })
            .await
            .map(|mode| mode.as_str().to_string())
    }

    async fn release_version(&self) -> Result<VersionFacts, NodeError> {
        let version = self
            .read(|node| async move { node.read_version().await })
            .await?;
        // After a node upgrade, version-dependent reads must use the new version.
        let mut slot = self.node.lock().await;
        if let Some(node) = slot.as_ref() {
            if node.version() != &version {
                *slot = Some(cassandra::Node::with_version(
                    node.server().clone(),
                    version.clone(),
                ));
            }
        }
        Ok(VersionFacts {
            major: version.major,
            minor: version.minor,
            patch: version.patch,
            dse_patch: version.dse_patch,
            pre_release: version.pre_release.clone(),
            raw: version.raw.clone(),
        })
    }

    async fn schema_version(&self) -> Result<String, NodeError> {
        self.read(|node| async move { node.schema_version().await })
            .await
    }

    async fn topology(&self) -> Result<TopologyFacts, NodeError> {
        self.read(|node| async move {
            let cluster_name = node.cluster_name().await?;
            let schema_version = node.schema_version().await?;
            let endpoints = node
                .topology()
                .await?
                .into_iter()
                .map(|e| EndpointFacts {
                    hostname: e.ip.clone(),
                    ip: e.ip,
                    host_id: e.host_id,
                    datacenter: e.datacenter,
                    rack: e.rack,
                })
                .collect();
            Ok(TopologyFacts {
                cluster_name,
                schema_version,
                endpoints,
            })
        })
        .await
    }

    fn cassandra_yaml(&self) -> Result<Value, ConfigFileError> {
        read_cassandra_yaml(self.cassandra_config.as_deref())
    }
}
