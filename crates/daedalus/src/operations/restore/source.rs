//! Where the backup to restore is: the storage opened from the request, the node prefix the
//! backup lives under (the location's own, this node's facts for a global location, or the
//! topology file's entry for this node), and the manifest chosen by exact tag, or for a
//! restore to a moment the latest taken at or before it.
//!
//! Owns that resolution and its error messages. It must not download or change anything.

use backup::catalog::{self, CatalogError, NodeBackup};
use backup::location::{NodeFacts, NodePath, StorageLocation};
use backup::request::RestoreRequest;
use backup::store::Storage;

use super::super::backup_storage::{open_store, store_hint, ClientRetry, OpenError};
use super::super::commitlog_replay::unreachable_point;
use super::super::context::{OperationError, RunContext};

/// The backup a restore reads, with its open store.
pub struct Source {
    pub storage: Storage,
    pub node: NodePath,
    pub backup: NodeBackup,
}

/// How the node prefix of a global location is found.
pub enum NodeLookup<'a> {
    /// The node's own facts (cluster name, datacenter, host id; with its address for the
    /// topology lookup).
    Live { facts: NodeFacts, address: &'a str },
    /// The node is stopped: the location must name the node.
    Stopped,
}

pub fn failed(message: impl Into<String>) -> OperationError {
    OperationError::failed("Restore", message)
}

/// This node's address in its own ring, by which the backup's topology file names it.
pub async fn own_address(ctx: &RunContext, host_id: &str) -> Result<String, OperationError> {
    let ring = ctx.read(|n| async move { n.topology().await }).await?;
    ring.into_iter()
        .find(|e| e.host_id == host_id)
        .map(|e| e.ip)
        .ok_or_else(|| failed(format!("host id {host_id} is not in the node's own ring")))
}

impl Source {
    /// Opens the store as every storage operation does (`backup_storage::open_store`: the
    /// request's credentials, a cancel cutting the wait short; the client's own patience with
    /// an outage, the restore's reads having no retry of their own) and chooses the backup
    /// (INIT's work).
    pub async fn open(
        request: &RestoreRequest,
        lookup: NodeLookup<'_>,
        ctx: &RunContext,
    ) -> Result<Source, OperationError> {
        let location = request
            .common
            .location()
            .map_err(|e| failed(format!("storageLocation: {}", e.reason)))?;
        let cluster = match (&lookup, &location.node) {
            (NodeLookup::Live { facts, .. }, _) => facts.cluster.as_str(),
            (NodeLookup::Stopped, Some(node)) => node.cluster.as_str(),
            (NodeLookup::Stopped, None) => "",
        };
        let storage = open_restore_store(request, &location, cluster, ctx).await?;
        let node = match (&location.node, lookup) {
            (Some(node), _) => node.clone(),
            (None, NodeLookup::Stopped) => {
                return Err(failed(format!(
                    "storageLocation {} names no node (cluster/dc/node), and the stopped node \
                     cannot tell its own: give the full location",
                    location.raw
                )))
            }
            (None, NodeLookup::Live { facts, address }) => {
                if request.resolve_host_id_from_topology || request.new_cluster {
                    from_topology(&storage, request, &facts, address).await?
                } else {
                    location.node_path(&facts)
                }
            }
        };
        let tag = request.snapshot_tag.as_deref().unwrap_or_default();
        let schema_version = if request.exact_schema_version {
            request.schema_version.as_deref()
        } else {
            None
        };
        let store = storage.store().as_ref();
        let chosen = match request.point_in_time_seconds() {
            Some(point) => {
                let at = u64::try_from(point).unwrap_or(0) * 1000;
                catalog::choose_backup_before(store, &node, request.snapshot_tag.as_deref(), at)
                    .await
            }
            None => catalog::choose_backup(store, &node, tag, schema_version).await,
        };
        let backup = chosen.map_err(|e| match e {
            CatalogError::NoBackupBefore { .. } => unreachable_point(e.to_string()),
            other => failed(other.to_string()),
        })?;
        Ok(Source {
            storage,
            node,
            backup,
        })
    }
}

/// Opens a restore's store as every storage operation does (`backup_storage::open_store`: the
/// request's credentials, a cancel cutting the wait short), with the client's own patience with
/// an outage (a restore's reads have no retry of their own); `cluster` names the default secret.
pub async fn open_restore_store(
    request: &RestoreRequest,
    location: &StorageLocation,
    cluster: &str,
    ctx: &RunContext,
) -> Result<Storage, OperationError> {
    open_store(
        ctx,
        &request.common,
        location,
        cluster,
        false,
        ClientRetry::Patient,
    )
    .await
    .map_err(|e| match e {
        OpenError::Request(e) => failed(format!("{}: {}", e.field, e.reason)),
        OpenError::Store(e) => failed(format!("storage {}: {e}{}", location.raw, store_hint(&e))),
        OpenError::Cancelled => OperationError::Cancelled,
    })
}

/// The node prefix of the backup's topology entry for this node: the entry with this node's
/// address (or host name), its cluster name kept from the topology with `newCluster` (the new
/// cluster may be named otherwise), this node's otherwise.
async fn from_topology(
    storage: &Storage,
    request: &RestoreRequest,
    facts: &NodeFacts,
    address: &str,
) -> Result<NodePath, OperationError> {
    let tag = request.snapshot_tag.as_deref().unwrap_or_default();
    let (name, topology) = catalog::latest_topology(storage.store().as_ref(), tag)
        .await
        .map_err(|e| failed(e.to_string()))?
        .ok_or_else(|| {
            failed(format!(
                "resolveHostIdFromTopology: no topology/{tag}-*.json in the bucket (the backup \
                 must be taken with uploadClusterTopology or as a global backup)"
            ))
        })?;
    let entry = topology
        .topology
        .iter()
        .find(|n| n.ip_address.as_deref() == Some(address))
        .or_else(|| {
            topology
                .topology
                .iter()
                .find(|n| n.hostname.as_deref() == Some(address))
        })
        .ok_or_else(|| {
            failed(format!(
                "resolveHostIdFromTopology: topology/{}.json has no node with address {address}",
                name.name
            ))
        })?;
    let node_id = entry.node_id.clone().ok_or_else(|| {
        failed(format!(
            "topology/{}.json: the entry of {address} has no nodeId",
            name.name
        ))
    })?;
    let cluster = if request.new_cluster {
        entry
            .cluster
            .clone()
            .or_else(|| topology.cluster_name.clone())
            .unwrap_or_else(|| facts.cluster.clone())
    } else {
        facts.cluster.clone()
    };
    Ok(NodePath {
        cluster,
        dc: entry.dc.clone().unwrap_or_else(|| facts.dc.clone()),
        node: node_id,
    })
}
