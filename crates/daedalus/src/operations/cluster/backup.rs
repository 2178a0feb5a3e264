//! A cluster-wide backup (`backup` with `globalRequest: true`), as Icarus coordinates one: the
//! coordinator checks the bucket once, fixes ONE full tag `<snapshotTag>-<schemaVersion>-<millis>`
//! for every node, sends each node's sidecar (itself included, through its own address like the
//! others) a plain backup under that tag, to that node's own location (`cluster/dc/hostId`), with
//! `skipBucketVerification`, and uploads the cluster topology once every node completed.
//!
//! Owns the making of each node's request and the topology of the backup. The plan, the peers
//! and the record's `nodes` are the roll's (`roll.rs`); the backup itself is each node's
//! `backup` operation. It must not upload SSTables nor know the engine or HTTP.

use std::collections::BTreeMap;

use async_trait::async_trait;
use backup::location::{NodeFacts, StorageLocation};
use backup::manifest::ClusterTopology;
use backup::request::BackupRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::backup_set::{self, put_topology, TopologyNode};
use super::super::backup_storage::open_storage;
use super::super::context::{OperationError, RunContext};
use super::super::finding::Finding;
use super::super::operation::Operation;
use super::super::settings::OperationSettings;
use super::super::storage_op::{check_secrets, node_request};
use super::super::validation::ValidationError;
use super::coordinator::{self, RunSpec};
use super::plan::Step;
use super::roll;
use super::spread::Spread;

/// What every node's backup shares, journaled with the plan before anything is sent: a
/// restarted coordinator sends the nodes not yet sent the same tag as the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    full_tag: String,
    schema_version: String,
    cluster_name: String,
}

/// A validated cluster-wide backup.
#[derive(Debug, Clone)]
pub struct GlobalBackup {
    spread: Spread,
    /// The node part of the request, typed: its secrets are the ones received (withheld when
    /// read back from the journal).
    request: BackupRequest,
}

impl GlobalBackup {
    pub fn new(spread: Spread, request: BackupRequest) -> GlobalBackup {
        GlobalBackup { spread, request }
    }

    fn location(&self) -> Result<StorageLocation, OperationError> {
        self.request
            .common
            .location()
            .map_err(|e| OperationError::failed("Configuration", e.to_string()))
    }

    /// Before the plan: the bucket checked (or created) once, here; the full tag fixed.
    async fn prepare(&self, ctx: &RunContext) -> Result<Header, OperationError> {
        let cluster_name = ctx.read(|n| async move { n.cluster_name().await }).await?;
        let location = self.location()?;
        open_storage(
            ctx,
            &self.request.common,
            &location,
            &cluster_name,
            self.request.create_missing_bucket,
        )
        .await?;
        let tag = self.request.snapshot_tag.as_deref().unwrap_or("autosnap");
        let (full_tag, schema_version) = backup_set::full_tag(ctx, tag).await?;
        Ok(Header {
            full_tag,
            schema_version,
            cluster_name,
        })
    }

    /// Each node's location: the request's bucket with the node's `cluster/dc/hostId`
    /// (Esop's `StorageLocation.update`), by plan position. A node whose facts cannot name
    /// a location fails the whole backup before anything is sent.
    fn node_locations(
        &self,
        header: &Header,
        steps: &[Step],
    ) -> Result<BTreeMap<u32, String>, OperationError> {
        let location = self.location()?;
        steps
            .iter()
            .map(|step| {
                let facts = NodeFacts {
                    cluster: header.cluster_name.clone(),
                    dc: step.dc.clone(),
                    node: step.host_id.clone(),
                };
                let node = location.for_node(&facts).map_err(|e| {
                    OperationError::failed(
                        "Topology",
                        format!("node {} cannot be backed up: {e}", step.endpoint),
                    )
                })?;
                Ok((step.position, node.raw))
            })
            .collect()
    }

    /// The request a node's sidecar gets: a plain backup (as an Icarus coordinator sends it)
    /// under the full tag, to the node's location, its bucket already checked.
    fn node_request(&self, header: &Header, location: &str) -> Value {
        let mut node = self.request.clone();
        node.common.storage_location = Some(location.to_string());
        node.snapshot_tag = Some(header.full_tag.clone());
        node.schema_version = Some(header.schema_version.clone());
        node.global_request = false;
        node.common.skip_bucket_verification = true;
        node.create_missing_bucket = false;
        // The topology is the coordinator's, once, at the end.
        node.upload_cluster_topology = false;
        // A node's own bound is the request's, in the whole hours a backup's timeout counts.
        let hours = self.spread.timeout.as_secs().div_ceil(3600).max(1);
        node.timeout = Some(hours as i64);
        node_request("backup", &node, &[])
    }

    /// The nodes backed up, as Esop's topology file lists them.
    fn topology(header: &Header, steps: &[Step]) -> ClusterTopology {
        backup_set::topology(
            &header.cluster_name,
            &header.schema_version,
            steps.iter().map(|s| TopologyNode {
                ip: s.ip.clone(),
                dc: Some(s.dc.clone()),
                rack: Some(s.rack.clone()),
                host_id: s.host_id.clone(),
            }),
        )
    }
}

#[async_trait]
impl Operation for GlobalBackup {
    fn conflict_key(&self) -> Option<String> {
        self.spread.conflict_key(None)
    }

    /// The coordinator opens the store itself, so it needs the credentials too.
    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        Spread::allowed(settings)?;
        check_secrets(&self.request.common, settings.backup_secrets_dir.as_deref())
    }

    fn resumable(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        let coordination = coordinator::coordination(ctx)?;
        let (steps, header) = coordinator::load_or_create(
            ctx,
            &coordination,
            self.spread.dc.as_deref(),
            async { Ok(Some(self.prepare(ctx).await?)) },
            |nodes| nodes,
        )
        .await?;
        let header: Header = header.ok_or_else(|| {
            OperationError::internal(
                "the cluster-wide backup's plan has no full tag; submit it again",
            )
        })?;
        // A node whose facts cannot name a location fails the backup before anything is sent.
        let locations = self.node_locations(&header, &steps)?;
        ctx.report(Finding::SnapshotName(header.full_tag.clone()));

        let bodies = steps
            .iter()
            .map(|step| {
                let location = locations
                    .get(&step.position)
                    .map(String::as_str)
                    .unwrap_or_default();
                self.node_request(&header, location)
            })
            .collect();
        let spec = RunSpec {
            type_name: "backup",
            stages: roll::stages(&steps, self.spread.concurrency),
            timeout: self.spread.timeout,
            wait_for_up: false,
            render: roll::render,
            bodies,
        };
        coordinator::run(ctx, &coordination, steps.clone(), spec).await?;

        // Every node's manifest is written: the topology says which nodes make the backup.
        let location = self.location()?;
        let mut common = self.request.common.clone();
        common.skip_bucket_verification = true;
        let storage = open_storage(ctx, &common, &location, &header.cluster_name, false).await?;
        let key = put_topology(&storage, &header.full_tag, &Self::topology(&header, &steps))
            .await
            .map_err(|e| {
                OperationError::failed(
                    "Storage",
                    format!(
                        "{e}; every node's backup {} is written, submit the backup again to \
                         write the topology",
                        header.full_tag
                    ),
                )
            })?;
        ctx.report(Finding::Topology(key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::cluster::plan::StepState;
    use crate::operations::OperationType;
    use crate::operations::{BackupOperation, ValidationPolicy};
    use backup::layout;
    use serde_json::json;
    use uuid::Uuid;

    /// The coordinator of `body` as submitted.
    fn global(body: Value) -> GlobalBackup {
        let (spread, node) = super::super::parse_spread(
            "backup",
            super::super::ClusterMode::Coordinated,
            &[],
            &body,
        )
        .unwrap();
        let op = BackupOperation::parse(&node, &ValidationPolicy::default()).unwrap();
        GlobalBackup::new(spread, op.request)
    }

    /// The coordinator of a record read back from the journal.
    fn from_journal(shown: Value) -> GlobalBackup {
        let (spread, node) = super::super::parse_spread(
            "backup",
            super::super::ClusterMode::Coordinated,
            &[],
            &shown,
        )
        .unwrap();
        let op: BackupOperation = serde_json::from_value(node).unwrap();
        GlobalBackup::new(spread, op.request)
    }

    /// The record fields of `body` as submitted.
    fn shown(body: &Value) -> Value {
        let registration = crate::operations::REGISTRY
            .iter()
            .find(|r| r.type_name == "backup")
            .unwrap();
        let request =
            crate::operations::Request::from_json(body, &ValidationPolicy::default()).unwrap();
        assert_eq!(request.type_name(), registration.type_name);
        Value::Object(request.fields().clone())
    }

    fn step(position: u32, dc: &str, host_id: &str) -> Step {
        Step {
            position,
            endpoint: format!("10.0.0.{position}:7000"),
            ip: format!("10.0.0.{position}"),
            host_id: host_id.into(),
            dc: dc.into(),
            rack: "r1".into(),
            sub_id: Uuid::new_v4(),
            state: StepState::Pending,
            error: None,
            phase: None,
        }
    }

    fn header() -> Header {
        Header {
            full_tag: "snap1-f1159959-593d-33d1-9ade-712ea55b31ef-1700000000000".into(),
            schema_version: "f1159959-593d-33d1-9ade-712ea55b31ef".into(),
            cluster_name: "Test Cluster".into(),
        }
    }

    #[test]
    fn each_node_gets_a_plain_backup_under_the_full_tag_at_its_own_location() {
        let backup = global(json!({"type": "backup", "storageLocation": "s3://bucket",
            "snapshotTag": "snap1", "globalRequest": true, "uploadClusterTopology": true,
            "createMissingBucket": true, "entities": "ks1", "timeout": 2}));
        let steps = [step(0, "dc1", "h-0"), step(1, "dc2", "h-1")];
        let locations = backup.node_locations(&header(), &steps).unwrap();
        assert_eq!(locations[&0], "s3://bucket/Test Cluster/dc1/h-0");
        assert_eq!(locations[&1], "s3://bucket/Test Cluster/dc2/h-1");
        let body = backup.node_request(&header(), &locations[&1]);
        assert_eq!(body["type"], "backup");
        assert_eq!(body["storageLocation"], "s3://bucket/Test Cluster/dc2/h-1");
        assert_eq!(body["snapshotTag"], header().full_tag);
        assert_eq!(body["schemaVersion"], header().schema_version);
        assert_eq!(body["globalRequest"], false);
        assert_eq!(body["skipBucketVerification"], true);
        assert_eq!(body["uploadClusterTopology"], false);
        assert_eq!(body["entities"], "ks1");
        assert_eq!(body["timeout"], 2);
        assert!(body.get("dc").is_none() && body.get("concurrency").is_none());
        // What the node makes of it: the same full tag, not a new one.
        let node = BackupOperation::parse(&body, &ValidationPolicy::default()).unwrap();
        assert_eq!(
            layout::parse_full_tag(node.request.snapshot_tag.as_deref().unwrap())
                .unwrap()
                .name,
            header().full_tag
        );
    }

    /// The record shows `"***"`, but each node is sent the password it needs; read back from
    /// the journal (no password there), a node is never sent the placeholder as a password.
    #[test]
    fn each_node_gets_the_real_proxy_password_never_the_placeholder() {
        let body = json!({"type": "backup", "storageLocation": "s3://bucket",
            "snapshotTag": "snap1", "globalRequest": true, "entities": "ks1",
            "proxySettings": {"useProxy": true, "proxyHost": "proxy", "proxyPort": 3128,
                              "proxyUsername": "u", "proxyPassword": "s3cr@t"}});
        let shown = shown(&body);
        assert_eq!(shown["proxySettings"]["proxyPassword"], "***");
        let sent = global(body).node_request(&header(), "s3://bucket/c/dc1/h-0");
        assert_eq!(sent["proxySettings"]["proxyPassword"], "s3cr@t");
        assert_eq!(sent["proxySettings"]["proxyUsername"], "u");

        let read_back = from_journal(shown).node_request(&header(), "s3://bucket/c/dc1/h-0");
        assert!(
            read_back["proxySettings"].get("proxyPassword").is_none(),
            "{read_back}"
        );
    }

    #[test]
    fn a_node_is_given_whole_hours_never_less_than_the_request() {
        for (timeout, hours) in [(json!("90m"), 2), (json!("10s"), 1), (json!(3), 3)] {
            let backup = global(json!({"type": "backup", "storageLocation": "s3://bucket",
                "globalRequest": true, "timeout": timeout}));
            let body = backup.node_request(&header(), "s3://bucket/c/d/n");
            assert_eq!(body["timeout"], hours, "{timeout}");
        }
    }

    #[test]
    fn a_file_location_is_rewritten_per_node_and_a_node_without_host_id_is_refused() {
        let backup = global(json!({"type": "backup", "globalRequest": true,
            "storageLocation": "file:///var/backups/bucket/c/d/n"}));
        let locations = backup
            .node_locations(&header(), &[step(0, "dc1", "h-0")])
            .unwrap();
        assert_eq!(
            locations[&0],
            "file:///var/backups/bucket/Test Cluster/dc1/h-0"
        );
        let e = backup
            .node_locations(&header(), &[step(0, "dc1", "h-0"), step(7, "dc1", "")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.0.0.7:7000"), "{e}");
    }

    #[test]
    fn the_topology_lists_the_nodes_backed_up() {
        let steps = [step(0, "dc1", "h-0"), step(1, "dc2", "h-1")];
        let topology = GlobalBackup::topology(&header(), &steps);
        let json: Value = serde_json::from_slice(&topology.to_json()).unwrap();
        assert_eq!(json["clusterName"], "Test Cluster");
        assert_eq!(json["schemaVersion"], header().schema_version);
        let nodes = json["topology"].as_array().unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1]["nodeId"], "h-1");
        assert_eq!(nodes[1]["dc"], "dc2");
        assert_eq!(nodes[1]["ipAddress"], "10.0.0.1");
    }
}
