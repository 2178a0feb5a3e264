//! The node adapter used by the binary: the `Node` port over the native JMX client
//! (`crates/cassandra` on `crates/jmx`).
//!
//! Owns connecting per operation, the mapping of `cassandra::NodeError` onto our `NodeError`
//! (the Java throwable kept verbatim for `failureCause`) and the timeouts. It must not contain
//! protocol code or version logic: the `cassandra` crate picks signatures per version.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::Credentials;
use crate::node::{ImportCall, Node, NodeConnector, NodeError, NodeErrorKind};
// Maintenance operations (cleanup ... truncate).
use crate::node::{CompactionTask, RebuildCall, ScrubCall};

/// Bound on `importNewSSTables`, which blocks until Cassandra has imported everything and may
/// legitimately take far longer than `--jmx-timeout`.
pub const IMPORT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Connects to `--jmx-service` afresh for each operation, so a node restart between operations
/// needs no reconnection logic here.
#[derive(Debug, Clone)]
pub struct JmxConnector {
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    /// Bound on connecting and on every call but the import.
    timeout: Duration,
    /// `--jmx-ssl-ca`: JMX over TLS, trusting this PEM file.
    tls_ca: Option<PathBuf>,
    /// Read endpoints: one shared connection for every GET (see `facts_jmx.rs`).
    facts: Arc<crate::facts_jmx::JmxFacts>,
}

impl JmxConnector {
    /// `address` is `HOST:PORT` (`[v6]:PORT` for IPv6).
    pub fn new(
        address: &str,
        credentials: Option<Credentials>,
        timeout: Duration,
    ) -> Result<Self, String> {
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
        let facts = Arc::new(crate::facts_jmx::JmxFacts::new(
            host,
            port,
            credentials.as_ref(),
            timeout,
        ));
        Ok(JmxConnector {
            host: host.to_string(),
            port,
            credentials,
            timeout,
            tls_ca: None,
            facts,
        })
    }

    /// JMX over TLS (Cassandra's `com.sun.management.jmxremote.ssl=true`), trusting the CA or
    /// server certificates in `ca_file` (PEM), for operations and read endpoints alike.
    pub fn with_tls(mut self, ca_file: Option<PathBuf>) -> Self {
        self.tls_ca = ca_file;
        let cassandra_config = self.facts.cassandra_config_path();
        self.with_cassandra_config(cassandra_config)
    }

    // --- Read endpoints ---
    /// The shared connection the read endpoints use.
    pub fn jmx_facts(&self) -> &Arc<crate::facts_jmx::JmxFacts> {
        &self.facts
    }

    /// Where `GET /config` finds the node's `cassandra.yaml` (`--cassandra-config FILE|DIR`).
    pub fn with_cassandra_config(mut self, path: Option<std::path::PathBuf>) -> Self {
        let facts = crate::facts_jmx::JmxFacts::new(
            &self.host,
            self.port,
            self.credentials.as_ref(),
            self.timeout,
        )
        .with_tls(self.tls_ca.clone())
        .with_cassandra_config(path);
        self.facts = Arc::new(facts);
        self
    }
}

#[async_trait]
impl NodeConnector for JmxConnector {
    fn facts(&self) -> Option<Arc<dyn crate::facts::NodeFacts>> {
        Some(self.facts.clone())
    }

    async fn connect(&self) -> Result<Arc<dyn Node>, NodeError> {
        let mut config = jmx::JmxConfig::new(self.host.clone(), self.port);
        config.credentials = self.credentials.as_ref().map(|c| jmx::Credentials {
            user: c.user.clone(),
            password: c.password.clone(),
        });
        config.connect_timeout = self.timeout;
        config.call_timeout = IMPORT_TIMEOUT;
        config.tls = self.tls_ca.clone().map(jmx::TlsConfig::new);
        let client = jmx::JmxClient::connect(config)
            .await
            .map_err(|e| convert(cassandra::jmx_adapter::map_error(e, None)))?;
        let node = bounded(
            self.timeout,
            cassandra::Node::connect(Arc::new(client.clone())),
        )
        .await;
        match node {
            Ok(node) => Ok(Arc::new(JmxNode {
                node,
                client,
                timeout: self.timeout,
            })),
            Err(e) => {
                close(client);
                Err(e)
            }
        }
    }
}

/// One operation's connection; closed when the operation drops it.
struct JmxNode {
    node: cassandra::Node,
    client: jmx::JmxClient,
    timeout: Duration,
}

impl Drop for JmxNode {
    fn drop(&mut self) {
        close(self.client.clone());
    }
}

fn close(client: jmx::JmxClient) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = client.close().await;
        });
    }
}

#[async_trait]
impl Node for JmxNode {
    async fn release_version(&self) -> Result<String, NodeError> {
        Ok(self.node.version().raw.clone())
    }

    async fn schema_version(&self) -> Result<String, NodeError> {
        bounded(self.timeout, self.node.schema_version()).await
    }

    async fn operation_mode(&self) -> Result<String, NodeError> {
        let mode = bounded(self.timeout, self.node.operation_mode()).await?;
        Ok(mode.as_str().to_string())
    }

    async fn table_exists(&self, keyspace: &str, table: &str) -> Result<bool, NodeError> {
        let found = bounded(self.timeout, self.node.table_mbean(keyspace, table)).await?;
        Ok(found.is_some())
    }

    async fn import_sstables(
        &self,
        keyspace: &str,
        table: &str,
        call: &ImportCall,
    ) -> Result<Vec<String>, NodeError> {
        let options = cassandra::ImportOptions {
            src_paths: call.src_paths.clone(),
            reset_level: call.reset_level,
            clear_repaired: call.clear_repaired,
            verify_sstables: call.verify_sstables,
            verify_tokens: call.verify_tokens,
            invalidate_caches: call.invalidate_caches,
            extended_verify: call.extended_verify,
            copy_data: call.copy_data,
            ..cassandra::ImportOptions::new(Vec::new())
        };
        self.node
            .import_new_sstables(keyspace, table, &options)
            .await
            .map_err(convert)
    }

    // --- Maintenance and topology operations. Reads are bounded by `--jmx-timeout`; the
    // operations themselves block in Cassandra for as long as the work takes, so they get the
    // connection's long call bound (`IMPORT_TIMEOUT`) instead.

    async fn compactions(&self) -> Result<Vec<CompactionTask>, NodeError> {
        let tasks = bounded(self.timeout, self.node.compactions()).await?;
        Ok(tasks
            .into_iter()
            .map(|t| CompactionTask {
                id: t.id,
                keyspace: t.keyspace,
                table: t.table,
                completed: t.completed,
                total: t.total,
                unit: t.unit,
                task_type: t.task_type,
            })
            .collect())
    }

    async fn cleanup(
        &self,
        keyspace: &str,
        tables: &[String],
        jobs: i32,
    ) -> Result<i32, NodeError> {
        let status = self
            .node
            .cleanup(keyspace, tables, jobs)
            .await
            .map_err(convert)?;
        Ok(status_code(status))
    }

    async fn flush(&self, keyspace: &str, tables: &[String]) -> Result<(), NodeError> {
        self.node.flush(keyspace, tables).await.map_err(convert)
    }

    async fn scrub(
        &self,
        keyspace: &str,
        tables: &[String],
        call: &ScrubCall,
    ) -> Result<i32, NodeError> {
        let options = cassandra::ScrubOptions {
            disable_snapshot: call.disable_snapshot,
            skip_corrupted: call.skip_corrupted,
            check_data: call.check_data,
            reinsert_overflowed_ttl: call.reinsert_overflowed_ttl,
            jobs: call.jobs,
        };
        let status = self
            .node
            .scrub(keyspace, tables, options)
            .await
            .map_err(convert)?;
        Ok(status_code(status))
    }

    async fn upgrade_sstables(
        &self,
        keyspace: &str,
        tables: &[String],
        include_all: bool,
        jobs: i32,
    ) -> Result<i32, NodeError> {
        let options = cassandra::UpgradeOptions {
            include_all,
            jobs,
            max_timestamp: None,
        };
        let status = self
            .node
            .upgrade_sstables(keyspace, tables, options)
            .await
            .map_err(convert)?;
        Ok(status_code(status))
    }

    async fn rebuild(&self, call: &RebuildCall) -> Result<(), NodeError> {
        let options = cassandra::RebuildOptions {
            source_dc: call.source_dc.clone(),
            keyspace: call.keyspace.clone(),
            tokens: call
                .tokens
                .iter()
                .map(|(start, end)| cassandra::TokenRange {
                    start: start.clone(),
                    end: end.clone(),
                })
                .collect(),
            specific_sources: call.specific_sources.clone(),
            exclude_local_dc: false,
        };
        self.node.rebuild(&options).await.map_err(convert)
    }

    async fn refresh(&self, keyspace: &str, table: &str) -> Result<(), NodeError> {
        self.node.refresh(keyspace, table).await.map_err(convert)
    }

    async fn decommission(&self, force: bool) -> Result<(), NodeError> {
        self.node.decommission(force).await.map_err(convert)
    }

    async fn drain(&self) -> Result<(), NodeError> {
        self.node.drain().await.map_err(convert)
    }

    async fn truncate(&self, keyspace: &str, table: &str) -> Result<(), NodeError> {
        self.node.truncate(keyspace, table).await.map_err(convert)
    }
    // --- end of maintenance and topology operations
}

/// Cassandra's `AllSSTableOpStatus` code; the operations map it to an outcome.
fn status_code(status: cassandra::AllSSTableOpStatus) -> i32 {
    match status {
        cassandra::AllSSTableOpStatus::Successful => 0,
        cassandra::AllSSTableOpStatus::Aborted => 1,
        cassandra::AllSSTableOpStatus::UnableToCancel => 2,
        cassandra::AllSSTableOpStatus::Other(code) => code,
    }
}

async fn bounded<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, cassandra::NodeError>>,
) -> Result<T, NodeError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(convert),
        Err(_) => Err(NodeError::new(
            NodeErrorKind::Timeout,
            format!("no answer from the node within {timeout:?}"),
        )),
    }
}

/// Our error for theirs; a Java throwable is kept whole for `failureCause`.
pub(crate) fn convert(e: cassandra::NodeError) -> NodeError {
    let message = e.to_string();
    let kind = match &e {
        cassandra::NodeError::Unreachable { .. } => NodeErrorKind::Unreachable,
        cassandra::NodeError::Timeout { .. } => NodeErrorKind::Timeout,
        cassandra::NodeError::Auth { .. } => NodeErrorKind::Auth,
        cassandra::NodeError::Java { throwable } => {
            let java = serde_json::to_value(throwable.as_ref()).unwrap_or_else(
                |_| serde_json::json!({ "class": throwable.class, "message": throwable.message }),
            );
            return NodeError::java(message, java);
        }
        cassandra::NodeError::Protocol { .. } => NodeErrorKind::Protocol,
        _ => NodeErrorKind::Unsupported,
    };
    NodeError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let c = JmxConnector::new("10.0.0.5:7199", None, Duration::from_secs(1)).unwrap();
        assert_eq!((c.host.as_str(), c.port), ("10.0.0.5", 7199));
        let c = JmxConnector::new("[::1]:7199", None, Duration::from_secs(1)).unwrap();
        assert_eq!(c.host, "::1");
        assert!(JmxConnector::new("nohost", None, Duration::from_secs(1)).is_err());
        assert!(JmxConnector::new("h:port", None, Duration::from_secs(1)).is_err());
        assert!(JmxConnector::new(":7199", None, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn java_errors_keep_the_throwable() {
        let mut t = cassandra::JavaThrowable::new("java.lang.RuntimeException", Some("boom"));
        t.cause = Some(Box::new(cassandra::JavaThrowable::new(
            "java.io.IOException",
            None,
        )));
        let e = convert(cassandra::NodeError::java(t));
        assert_eq!(e.kind, NodeErrorKind::Java);
        let cause = e.failure_cause();
        assert_eq!(cause["class"], "java.lang.RuntimeException");
        assert_eq!(cause["cause"]["class"], "java.io.IOException");
        let e = convert(cassandra::NodeError::Unreachable {
            message: "refused".into(),
        });
        assert_eq!(e.kind, NodeErrorKind::Unreachable);
    }
}
