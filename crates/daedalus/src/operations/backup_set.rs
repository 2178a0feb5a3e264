//! What one backup of several nodes shares, whoever takes it (a node's `backup`, or the
//! coordinator of a cluster-wide one): the full tag `<tag>-<schemaVersion>-<millis>`, fixed
//! once, and the topology file that lists the nodes backed up.
//!
//! Owns the derivation of the full tag and the writing of `topology/<fullTag>.json`. It must
//! not upload SSTables nor send anything to a node.

use backup::layout;
use backup::manifest::{ClusterTopology, NodeTopology};
use backup::store::Storage;
use object_store::{ObjectStoreExt, PutPayload};

use super::backup_storage::now_millis;
use super::context::{OperationError, RunContext};

/// The full tag of a backup tagged `tag`, and the schema version in it: a coordinator's full
/// tag (every node of a cluster-wide backup names it alike) is kept, a plain tag gets the
/// node's schema version and the time.
pub async fn full_tag(ctx: &RunContext, tag: &str) -> Result<(String, String), OperationError> {
    if let Some(given) = layout::parse_full_tag(tag) {
        return Ok((given.name, given.schema_version.unwrap_or_default()));
    }
    let schema_version = ctx
        .read(|n| async move { n.schema_version().await })
        .await?;
    let full_tag = layout::full_tag(tag, &schema_version, now_millis());
    Ok((full_tag, schema_version))
}

/// One node of a topology file.
pub struct TopologyNode {
    pub ip: String,
    pub dc: Option<String>,
    pub rack: Option<String>,
    pub host_id: String,
}

/// The topology file of the backup: the nodes, as Esop's topology file lists them.
pub fn topology(
    cluster: &str,
    schema_version: &str,
    nodes: impl IntoIterator<Item = TopologyNode>,
) -> ClusterTopology {
    ClusterTopology {
        timestamp: now_millis(),
        cluster_name: Some(cluster.to_string()),
        schema_version: Some(schema_version.to_string()),
        topology: nodes
            .into_iter()
            .map(|n| NodeTopology {
                hostname: Some(n.ip.clone()),
                cluster: Some(cluster.to_string()),
                dc: n.dc,
                rack: n.rack,
                node_id: Some(n.host_id),
                ip_address: Some(n.ip),
            })
            .collect(),
    }
}

/// Writes `topology/<fullTag>.json` at the bucket root; returns its key.
pub async fn put_topology(
    storage: &Storage,
    full_tag: &str,
    topology: &ClusterTopology,
) -> Result<String, OperationError> {
    let path = storage.bucket_object(&layout::topology_key(full_tag));
    storage
        .store()
        .put(&path, PutPayload::from(topology.to_json()))
        .await
        .map_err(|e| {
            OperationError::failed("Storage", format!("writing topology {path} failed: {e}"))
        })?;
    Ok(path.to_string())
}
