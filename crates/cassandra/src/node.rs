//! [`Node`]: one Cassandra node reached through an [`MBeanServer`], with its version cached.
//!
//! Owns the node handle, the read-only StorageService facts (version, mode, schema, cluster
//! name, host id, keyspaces) and the table-MBean existence check. Operations live in sibling
//! modules (`import`, `maintenance`, `topology`, `compaction`) as further `impl Node` blocks.
//! It must not know the transport or anything about HTTP/operations records.

use std::sync::Arc;

use javaser::Value;

use crate::error::NodeError;
use crate::mbean_server::MBeanServer;
use crate::mode::OperationMode;
use crate::names::{table_mbean_name, STORAGE_SERVICE};
use crate::values::{expect_string, expect_strings};
use crate::version::CassandraVersion;

/// One Cassandra node. Cheap to clone (the connection is shared).
#[derive(Clone)]
pub struct Node {
    server: Arc<dyn MBeanServer>,
    version: CassandraVersion,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("version", &self.version.raw)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Reads `ReleaseVersion` once and keeps it; every version-dependent call uses it.
    pub async fn connect(server: Arc<dyn MBeanServer>) -> Result<Node, NodeError> {
        let version = read_version(server.as_ref()).await?;
        Ok(Node { server, version })
    }

    /// A node whose version is already known (e.g. cached from an earlier connection).
    pub fn with_version(server: Arc<dyn MBeanServer>, version: CassandraVersion) -> Node {
        Node { server, version }
    }

    /// The version read when the node was connected.
    pub fn version(&self) -> &CassandraVersion {
        &self.version
    }

    /// Reads `ReleaseVersion` again (after a restart the node may run another version).
    pub async fn read_version(&self) -> Result<CassandraVersion, NodeError> {
        read_version(self.server.as_ref()).await
    }

    /// The underlying MBean server, for calls this crate does not type.
    pub fn server(&self) -> &Arc<dyn MBeanServer> {
        &self.server
    }

    /// `StorageService.OperationMode`.
    pub async fn operation_mode(&self) -> Result<OperationMode, NodeError> {
        let mode = self.ss_string("OperationMode").await?;
        Ok(OperationMode::parse(&mode))
    }

    /// `StorageService.SchemaVersion` (a UUID string).
    pub async fn schema_version(&self) -> Result<String, NodeError> {
        self.ss_string("SchemaVersion").await
    }

    /// `StorageService.ClusterName`.
    pub async fn cluster_name(&self) -> Result<String, NodeError> {
        self.ss_string("ClusterName").await
    }

    /// `StorageService.LocalHostId` (a UUID string).
    pub async fn local_host_id(&self) -> Result<String, NodeError> {
        self.ss_string("LocalHostId").await
    }

    /// `StorageService.DrainProgress`, e.g. `"Drained 3/12 ColumnFamilies"`.
    pub async fn drain_progress(&self) -> Result<String, NodeError> {
        self.ss_string("DrainProgress").await
    }

    /// `StorageService.Keyspaces`: every keyspace, system ones included.
    pub async fn keyspaces(&self) -> Result<Vec<String>, NodeError> {
        let v = self.ss_attribute("Keyspaces").await?;
        expect_strings(v, "StorageService.Keyspaces")
    }

    /// `StorageService.NonSystemKeyspaces`.
    pub async fn non_system_keyspaces(&self) -> Result<Vec<String>, NodeError> {
        let v = self.ss_attribute("NonSystemKeyspaces").await?;
        expect_strings(v, "StorageService.NonSystemKeyspaces")
    }

    /// The table's ColumnFamilyStore ObjectName (`type=Tables,keyspace=K,table=T`) when it is
    /// registered, `None` when the table does not exist on this node.
    pub async fn table_mbean(
        &self,
        keyspace: &str,
        table: &str,
    ) -> Result<Option<String>, NodeError> {
        let name = table_mbean_name(keyspace, table)?;
        Ok(self.server.is_registered(&name).await?.then_some(name))
    }

    pub(crate) fn unsupported(&self, what: impl Into<String>) -> NodeError {
        NodeError::Unsupported {
            what: what.into(),
            version: self.version.raw.clone(),
        }
    }

    pub(crate) async fn ss_attribute(&self, attribute: &str) -> Result<Value, NodeError> {
        self.server.get_attribute(STORAGE_SERVICE, attribute).await
    }

    async fn ss_string(&self, attribute: &str) -> Result<String, NodeError> {
        let v = self.ss_attribute(attribute).await?;
        expect_string(v, &format!("StorageService.{attribute}"))
    }

    pub(crate) async fn ss_invoke(
        &self,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, NodeError> {
        self.server
            .invoke(STORAGE_SERVICE, operation, params, signature)
            .await
    }
}

async fn read_version(server: &dyn MBeanServer) -> Result<CassandraVersion, NodeError> {
    let raw = server
        .get_attribute(STORAGE_SERVICE, "ReleaseVersion")
        .await?;
    let raw = expect_string(raw, "StorageService.ReleaseVersion")?;
    CassandraVersion::parse(&raw).map_err(|e| NodeError::protocol(e.to_string()))
}
