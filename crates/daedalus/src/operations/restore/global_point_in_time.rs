//! A cluster-wide restore to a moment (`globalRequest` with `pointInTime`, IN_PLACE): every node
//! of the cluster stopped, each restored to the same second by its own sidecar, all at once.
//! The nodes are those of the topology file of the latest cluster-wide backup taken at or before
//! the moment: the coordinator's own node is stopped too and cannot tell the ring.
//!
//! Owns finding the nodes and what each is sent (the request made non-global, with that node's
//! location). The run over the cluster is `cluster::phased`'s (one phase, every node at once);
//! each node's restore is `in_place`'s. It must not restore anything itself.

use backup::catalog::{self, CatalogError};
use backup::location::{NodeFacts, StorageLocation};
use backup::request::RestoreRequest;
use backup::store::Storage;
use serde_json::Value;
use uuid::Uuid;

use super::super::cluster::phased::{self, Phase, PhasedRequest};
use super::super::cluster::plan::{Step, StepState};
use super::super::commitlog_replay::{
    choose_segments, refuse_unreachable_point, unreachable_point,
};
use super::super::context::{OperationError, RunContext};
use super::super::storage_op;
use super::super::validation::ValidationError;
use super::source::{failed, open_restore_store};

/// The one phase every node runs.
const PHASE: &str = "RESTORE";

pub async fn run(request: &RestoreRequest, ctx: &RunContext) -> Result<(), OperationError> {
    let cluster = Cluster::find(request, ctx).await?;
    let sub_request = |step: &Step| -> Result<Value, String> {
        let location = cluster.location_of(step).map_err(|e| e.to_string())?;
        Ok(node_request(request, &location.raw))
    };
    let hours = request.timeout_hours();
    phased::run(
        PhasedRequest {
            type_name: "restore",
            phases: vec![Phase {
                name: PHASE.to_string(),
                one_node: false,
            }],
            dc: request.dc.as_deref(),
            timeout: std::time::Duration::from_secs(hours.saturating_mul(3600)),
            sub_request: &sub_request,
            nodes: Some(cluster.steps.clone()),
        },
        ctx,
    )
    .await
}

/// Before the request is accepted: every node of the cluster at that moment has a backup to
/// start from and archived commit logs up to the moment, or it is refused (400).
pub async fn check(request: &RestoreRequest, ctx: &RunContext) -> Result<(), ValidationError> {
    let Some(point) = request.point_in_time_seconds() else {
        return Ok(());
    };
    let outcome = async {
        let cluster = Cluster::find(request, ctx).await?;
        let at = u64::try_from(point).unwrap_or(0) * 1000;
        for step in &cluster.steps {
            let location = cluster.location_of(step)?;
            let node = location
                .node
                .clone()
                .unwrap_or_else(|| location.node_path(&cluster.facts(step)));
            let store = cluster.storage.store().as_ref();
            let tag = request.snapshot_tag.as_deref();
            let backup = catalog::choose_backup_before(store, &node, tag, at)
                .await
                .map_err(|e| match e {
                    CatalogError::NoBackupBefore { .. } => unreachable_point(e.to_string()),
                    other => failed(other.to_string()),
                })?;
            let start = backup.name.timestamp_millis;
            choose_segments(ctx, &cluster.storage, &node, start, point).await?;
        }
        Ok(())
    }
    .await;
    refuse_unreachable_point("pointInTime", outcome)
}

/// The cluster as the backup's topology file names it.
struct Cluster {
    storage: Storage,
    location: StorageLocation,
    name: String,
    steps: Vec<Step>,
}

impl Cluster {
    async fn find(request: &RestoreRequest, ctx: &RunContext) -> Result<Cluster, OperationError> {
        let location = request
            .common
            .location()
            .map_err(|e| failed(format!("storageLocation: {}", e.reason)))?;
        let storage = open_restore_store(request, &location, "", ctx).await?;
        let point = request.point_in_time_seconds().unwrap_or(0);
        let at = u64::try_from(point).unwrap_or(0) * 1000;
        let tag = request.snapshot_tag.as_deref();
        let found = catalog::topology_before(storage.store().as_ref(), tag, at)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let Some((backup, topology)) = found else {
            return Err(unreachable_point(format!(
                "no cluster-wide backup{} taken at or before {} wrote a topology file \
                 (topology/<tag>-<schema>-<millis>.json): a restore of the whole cluster finds \
                 its stopped nodes there. Back up with globalRequest (or uploadClusterTopology), \
                 or restore each stopped node with its own request",
                tag.map(|t| format!(" tagged {t:?}")).unwrap_or_default(),
                backup::commitlog::millis_text(at)
            )));
        };
        let dcs: Option<Vec<&str>> = request
            .dc
            .as_deref()
            .map(|d| d.split(',').map(str::trim).collect());
        let mut nodes: Vec<_> = topology
            .topology
            .iter()
            .filter(|n| {
                dcs.as_ref()
                    .is_none_or(|d| d.contains(&n.dc.as_deref().unwrap_or("")))
            })
            .collect();
        nodes.sort_by(|a, b| (&a.dc, &a.rack, &a.ip_address).cmp(&(&b.dc, &b.rack, &b.ip_address)));
        let mut steps = Vec::new();
        for node in nodes {
            let (Some(ip), Some(host_id)) = (&node.ip_address, &node.node_id) else {
                return Err(failed(format!(
                    "topology/{}.json has a node without an address or a host id: {node:?}",
                    backup.name
                )));
            };
            steps.push(Step {
                position: steps.len() as u32,
                endpoint: ip.clone(),
                ip: ip.clone(),
                host_id: host_id.clone(),
                dc: node.dc.clone().unwrap_or_default(),
                rack: node.rack.clone().unwrap_or_default(),
                sub_id: Uuid::new_v4(),
                state: StepState::Pending,
                error: None,
                phase: None,
            });
        }
        if steps.is_empty() {
            return Err(failed(format!(
                "topology/{}.json names no node{}",
                backup.name,
                request
                    .dc
                    .as_deref()
                    .map(|d| format!(" of datacenter {d}"))
                    .unwrap_or_default()
            )));
        }
        let name = topology
            .cluster_name
            .clone()
            .or_else(|| topology.topology.iter().find_map(|n| n.cluster.clone()))
            .unwrap_or_default();
        Ok(Cluster {
            storage,
            location,
            name,
            steps,
        })
    }

    /// `step`'s own location: the request's bucket with that node's part in place of whatever
    /// the request named (a cluster-wide backup writes exactly there).
    fn location_of(&self, step: &Step) -> Result<StorageLocation, OperationError> {
        self.location
            .for_node(&self.facts(step))
            .map_err(|e| failed(format!("the location of {}: {e}", step.ip)))
    }

    /// The facts that name `step`'s backups (its location's node part).
    fn facts(&self, step: &Step) -> NodeFacts {
        NodeFacts {
            cluster: self.name.clone(),
            dc: step.dc.clone(),
            node: step.host_id.clone(),
        }
    }
}

/// The request one node gets: the cluster-wide request made non-global, with the node's own
/// location; its secrets revealed (only the record form hides them).
fn node_request(request: &RestoreRequest, storage_location: &str) -> Value {
    let mut node = request.clone();
    node.global_request = false;
    node.common.storage_location = Some(storage_location.to_string());
    storage_op::node_request("restore", &node, &["globalRequest", "singlePhase", "dc"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_node_gets_the_same_moment_non_global_with_its_location() {
        let body = json!({"type": "restore", "storageLocation": "s3://bucket",
            "restorationStrategyType": "IN_PLACE", "globalRequest": true, "dc": "dc1",
            "pointInTime": "2026-12-07T14:05:07Z", "cassandraDirectory": "/var/lib/cassandra"});
        let request: RestoreRequest =
            backup::request::from_json(&serde_json::to_vec(&body).unwrap()).unwrap();
        request.validate().unwrap();
        let sent = node_request(&request, "s3://bucket/c/dc1/host-1");
        assert_eq!(sent["storageLocation"], "s3://bucket/c/dc1/host-1");
        assert_eq!(sent["pointInTime"], "2026-12-07T14:05:07Z");
        for gone in ["globalRequest", "dc", "restorationPhase"] {
            assert!(sent.get(gone).is_none(), "{gone}: {sent}");
        }
        let node: RestoreRequest =
            backup::request::from_json(&serde_json::to_vec(&sent).unwrap()).unwrap();
        node.validate().unwrap();
        assert!(!node.global_request);
    }
}
