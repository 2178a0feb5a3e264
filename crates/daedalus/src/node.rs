//! The node port: the narrow, dyn-compatible interface the engine needs from a Cassandra node.
//!
//! Owns the trait shapes (`NodeConnector`, `Node`), the call arguments (`ImportCall`) and the error
//! (`NodeError`). It must not know how the node is reached: the JMX adapter lives in `node_jmx.rs`,
//! test doubles live in the tests.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What went wrong talking to the node, coarse enough for an operator to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeErrorKind {
    /// Nothing answers at the JMX address, or the connection dropped.
    Unreachable,
    /// The node did not answer within `--jmx-timeout`.
    Timeout,
    /// The node answered with a Java exception.
    Java,
    /// The node lacks what the call needs (version, MBean, signature).
    Unsupported,
    /// The bytes on the wire made no sense.
    Protocol,
    /// The node refused our credentials.
    Auth,
}

impl fmt::Display for NodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A failed node call: a kind, a message, and the Java throwable when Cassandra threw.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct NodeError {
    pub kind: NodeErrorKind,
    pub message: String,
    /// The Java throwable (`class`, `message`, `stack`, `cause`...) as the node sent it; used
    /// verbatim as the operation's `failureCause`.
    pub java: Option<Value>,
}

impl NodeError {
    pub fn new(kind: NodeErrorKind, message: impl Into<String>) -> Self {
        NodeError {
            kind,
            message: message.into(),
            java: None,
        }
    }

    /// A Java exception thrown by the node.
    pub fn java(message: impl Into<String>, throwable: Value) -> Self {
        NodeError {
            kind: NodeErrorKind::Java,
            message: message.into(),
            java: Some(throwable),
        }
    }

    /// The `failureCause` an operation records for this error: the Java throwable when there is
    /// one, else our own `{kind, message}`.
    pub fn failure_cause(&self) -> Value {
        match &self.java {
            Some(java) => java.clone(),
            None => json!({ "kind": self.kind.to_string(), "message": self.message }),
        }
    }
}

/// The arguments of `ColumnFamilyStoreMBean.importNewSSTables`, already mapped from the request
/// (`resetLevel = !keepLevel` and so on). The adapter picks the signature that fits the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCall {
    pub src_paths: Vec<String>,
    pub reset_level: bool,
    pub clear_repaired: bool,
    pub verify_sstables: bool,
    pub verify_tokens: bool,
    pub invalidate_caches: bool,
    pub extended_verify: bool,
    pub copy_data: bool,
}

/// A connected node. Every method is one management call; none retries on its own. Methods with
/// a default answer `Unsupported`, so a new call can be added without touching every double.
#[async_trait]
pub trait Node: Send + Sync {
    /// `StorageService.ReleaseVersion`, e.g. `"4.1.3"`.
    async fn release_version(&self) -> Result<String, NodeError>;

    /// Whether the table's `ColumnFamilies` MBean is registered.
    async fn table_exists(&self, keyspace: &str, table: &str) -> Result<bool, NodeError>;

    /// `StorageService.SchemaVersion` (a UUID string).
    async fn schema_version(&self) -> Result<String, NodeError> {
        Err(NodeError::new(
            NodeErrorKind::Unsupported,
            "schema version is not available",
        ))
    }

    /// `StorageService.OperationMode` (`NORMAL`, `DRAINED`, ...).
    async fn operation_mode(&self) -> Result<String, NodeError> {
        Err(NodeError::new(
            NodeErrorKind::Unsupported,
            "operation mode is not available",
        ))
    }

    /// Calls `importNewSSTables`; returns the directories Cassandra failed to import.
    async fn import_sstables(
        &self,
        keyspace: &str,
        table: &str,
        call: &ImportCall,
    ) -> Result<Vec<String>, NodeError>;

    // --- Maintenance and topology operations (cleanup ... restart). Each default answers
    // `Unsupported`, so a node double implements only what its test needs. Empty `tables` means
    // every table of the keyspace; compaction-style calls return Cassandra's status code.

    // (`operation_mode` above is shared with the read endpoints.)

    /// `CompactionManager.Compactions`: the tasks running now.
    async fn compactions(&self) -> Result<Vec<CompactionTask>, NodeError> {
        Err(unsupported("compactions"))
    }

    /// `forceKeyspaceCleanup(int, String, String[])` → status code.
    async fn cleanup(
        &self,
        _keyspace: &str,
        _tables: &[String],
        _jobs: i32,
    ) -> Result<i32, NodeError> {
        Err(unsupported("cleanup"))
    }

    /// `forceKeyspaceFlush(String, String[])`.
    async fn flush(&self, _keyspace: &str, _tables: &[String]) -> Result<(), NodeError> {
        Err(unsupported("flush"))
    }

    /// `scrub(...)` → status code.
    async fn scrub(
        &self,
        _keyspace: &str,
        _tables: &[String],
        _call: &ScrubCall,
    ) -> Result<i32, NodeError> {
        Err(unsupported("scrub"))
    }

    /// `upgradeSSTables(...)` → status code.
    async fn upgrade_sstables(
        &self,
        _keyspace: &str,
        _tables: &[String],
        _include_all: bool,
        _jobs: i32,
    ) -> Result<i32, NodeError> {
        Err(unsupported("upgrade_sstables"))
    }

    /// `rebuild(...)`; blocks until streaming ends.
    async fn rebuild(&self, _call: &RebuildCall) -> Result<(), NodeError> {
        Err(unsupported("rebuild"))
    }

    /// `loadNewSSTables(String, String)`.
    async fn refresh(&self, _keyspace: &str, _table: &str) -> Result<(), NodeError> {
        Err(unsupported("refresh"))
    }

    /// `decommission(boolean)` (4.0+) or `decommission()` (3.x); blocks.
    async fn decommission(&self, _force: bool) -> Result<(), NodeError> {
        Err(unsupported("decommission"))
    }

    /// `drain()`; blocks.
    async fn drain(&self) -> Result<(), NodeError> {
        Err(unsupported("drain"))
    }

    /// `StorageService.truncate(String, String)`.
    async fn truncate(&self, _keyspace: &str, _table: &str) -> Result<(), NodeError> {
        Err(unsupported("truncate"))
    }
    // --- end of maintenance and topology operations
}

// --- Arguments of the maintenance operations (see the trait block above).

fn unsupported(what: &str) -> NodeError {
    NodeError::new(
        NodeErrorKind::Unsupported,
        format!("this node adapter cannot {what}"),
    )
}

/// One running compaction-manager task: the progress signal of cleanup, scrub, upgradesstables.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompactionTask {
    /// `compactionId`, stable while the task runs.
    pub id: Option<String>,
    pub keyspace: Option<String>,
    pub table: Option<String>,
    pub completed: Option<u64>,
    pub total: Option<u64>,
    pub unit: Option<String>,
    /// `taskType`: `Cleanup`, `Scrub`, `Upgrade sstables`, `Compaction`...
    pub task_type: Option<String>,
}

/// `scrub` flags other than keyspace and tables, as Cassandra names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScrubCall {
    pub disable_snapshot: bool,
    pub skip_corrupted: bool,
    pub check_data: bool,
    pub reinsert_overflowed_ttl: bool,
    pub jobs: i32,
}

/// `rebuild` arguments; `None`/empty means "any"/"all".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RebuildCall {
    pub keyspace: Option<String>,
    pub source_dc: Option<String>,
    /// `(start, end]` token ranges.
    pub tokens: Vec<(String, String)>,
    pub specific_sources: Vec<String>,
}
// --- end of maintenance arguments

/// Makes a `Node` for one operation. Implementations may connect anew each time or hand out a
/// shared handle; the engine does not care.
#[async_trait]
pub trait NodeConnector: Send + Sync {
    async fn connect(&self) -> Result<Arc<dyn Node>, NodeError>;

    // --- Read endpoints: the node-facts part of the port (see `facts.rs`). ---
    /// The source of the read endpoints' facts (`/status`, `/version/*`, `/topology`, `/config`);
    /// `None` when this connector offers none (they then answer 503).
    fn facts(&self) -> Option<Arc<dyn crate::facts::NodeFacts>> {
        None
    }
}

/// A Cassandra release version, compared by its numeric prefix (`"4.0.11"`, `"5.0-beta1"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReleaseVersion {
    pub major: u32,
    pub minor: u32,
}

impl ReleaseVersion {
    /// Parses the leading `major.minor`; `None` when the text does not start that way.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        Some(ReleaseVersion { major, minor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        let v = |s| ReleaseVersion::parse(s).unwrap();
        assert!(v("3.11.16") < v("4.0"));
        assert!(v("4.0.11") >= v("4.0"));
        assert!(v("5.0-beta1") > v("4.1.3"));
        assert_eq!(
            v("10.2"),
            ReleaseVersion {
                major: 10,
                minor: 2
            }
        );
        assert!(ReleaseVersion::parse("unknown").is_none());
    }

    #[test]
    fn failure_cause_prefers_the_java_throwable() {
        let own = NodeError::new(NodeErrorKind::Timeout, "no answer in 30s");
        assert_eq!(
            own.failure_cause(),
            json!({"kind": "Timeout", "message": "no answer in 30s"})
        );
        let java = NodeError::java("boom", json!({"class": "java.lang.RuntimeException"}));
        assert_eq!(
            java.failure_cause(),
            json!({"class": "java.lang.RuntimeException"})
        );
    }
}
