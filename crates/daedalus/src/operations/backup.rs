//! The `backup` operation: snapshot the node, upload the snapshot's SSTables in Esop's layout,
//! write the manifest last, and clear the snapshot whatever happened.
//!
//! Owns the flow of one node's backup (Esop's: schema version → full tag → bucket check → data
//! directories → tokens → snapshot → upload with dedup → manifest → topology → clear). Keys,
//! manifests, stores and transfers are the `backup` crate's; this module must not build object
//! keys or JSON of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backup::layout::{self, UploadItem};
use backup::location::{NodeFacts, NodePath};
use backup::manifest::{EntryType, Manifest, ManifestEntry};
use backup::request::{BackupRequest, Entities};
use backup::store::Storage;
use backup::transfer::{self, TransferError, TransferOptions, UploadFile, UploadOutcome};
use cassandra::{Node, SnapshotOptions};
use object_store::{ObjectStoreExt, PutPayload};

use super::backup_set::{self, put_topology, TopologyNode};
use super::backup_storage::{node_facts, now_millis, open_storage, STORAGE_LOCATION};
use super::cluster::backup::GlobalBackup;
use super::cluster::{ClusterMode, Spread};
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::operation::Operation;
use super::path_field::{PathField, PathKind, UsedPath};
use super::settings::ValidationPolicy;
use super::storage_op::{StorageKind, StorageOp};
use super::validation::ValidationError;

/// An accepted `backup` request: Esop's and Icarus' fields, with `snapshotTag` defaulted to
/// `autosnap-<epochSeconds>` of the submission (so a retry after a crash names the same tag).
pub type BackupOperation = StorageOp<Backup>;

/// The `backup` operation.
pub struct Backup;

#[async_trait]
impl StorageKind for Backup {
    type Request = BackupRequest;
    const TYPE: &'static str = "backup";

    /// The bucket written to; the data directories whose snapshots are read and uploaded;
    /// `cassandraDirectory`, accepted as Esop's and unused, still named the node's.
    const PATH_FIELDS: &'static [PathField] = &[
        STORAGE_LOCATION,
        PathField::new("dataDirs", PathKind::NodeData),
        PathField::new("cassandraDirectory", PathKind::CassandraHome),
    ];

    const CLUSTER: ClusterMode = ClusterMode::Coordinated;

    fn paths(request: &BackupRequest) -> Vec<UsedPath> {
        let data_dirs = request.data_dirs.iter().flatten();
        data_dirs
            .map(|d| UsedPath::new("dataDirs", d.clone()))
            .chain(
                request
                    .cassandra_directory
                    .iter()
                    .map(|d| UsedPath::new("cassandraDirectory", d.clone())),
            )
            .collect()
    }

    fn accept(request: &mut BackupRequest, _: &ValidationPolicy) -> Result<(), ValidationError> {
        let seconds = now_millis() / 1000;
        request.snapshot_tag = Some(request.snapshot_tag_or_default(seconds));
        request.echo_defaults();
        Ok(())
    }

    /// The coordinator always writes the topology (Esop forces it on for a global backup).
    fn coordinator(request: &mut BackupRequest, spread: Spread) -> Option<Arc<dyn Operation>> {
        request.upload_cluster_topology = true;
        Some(Arc::new(GlobalBackup::new(spread, request.clone())))
    }

    fn restart_advice(request: &BackupRequest) -> Option<String> {
        Some(format!(
            "the backup to {} was interrupted before its manifest was written, so it is not a \
             backup; submit it again: objects already uploaded are skipped. The snapshot it \
             took is cleared by the sidecar (the record's snapshotCleared; else its \
             snapshotNotCleared says how to clear it by hand)",
            request.common.storage_location.as_deref().unwrap_or(""),
        ))
    }

    /// The full tag is kept in the journal before the snapshot is taken, so a resumed run uses
    /// the same snapshot; objects already uploaded are skipped, and the manifest is written
    /// last, once.
    fn resumable(_: &BackupRequest) -> bool {
        true
    }

    fn leaves_behind(_: &BackupRequest) -> bool {
        true
    }

    /// Clears the snapshot an interrupted run kept the name of.
    async fn clean_up(op: &BackupOperation, ctx: &RunContext) {
        if let Some(full_tag) = kept_snapshot(ctx) {
            op.clear_snapshot(ctx, &full_tag, true).await;
        }
    }

    async fn run(op: &BackupOperation, ctx: &RunContext) -> Result<(), OperationError> {
        op.back_up(ctx).await
    }
}

/// What one backup uploaded, for the record.
struct Uploaded {
    files: usize,
    sent: usize,
    sent_bytes: u64,
    /// Files already stored whose objects were refreshed in place (not with `skipRefreshing`).
    refreshed: usize,
}

/// The snapshot tag (defaulted at parse time).
fn tag(request: &BackupRequest) -> &str {
    request.snapshot_tag.as_deref().unwrap_or("autosnap")
}

/// The full tag an interrupted run of this backup kept before it took its snapshot.
fn kept_snapshot(ctx: &RunContext) -> Option<String> {
    let name = Finding::SnapshotName(String::new()).into_field()?.0;
    ctx.kept(&name)?.as_str().map(str::to_string)
}

impl BackupOperation {
    /// The backup, and its snapshot cleared whatever happened once it may exist.
    async fn back_up(&self, ctx: &RunContext) -> Result<(), OperationError> {
        let resumed = kept_snapshot(ctx);
        let (full_tag, schema_version) = match &resumed {
            // A cancel of a resumed backup still clears the snapshot below.
            Some(kept) => backup_set::full_tag(ctx, kept).await?,
            None => {
                ctx.checkpoint()?;
                let (full_tag, schema_version) = backup_set::full_tag(ctx, self.tag()).await?;
                // Journaled before the snapshot is taken: whatever stops this run, the
                // sidecar knows which snapshot to carry on with or to clear.
                ctx.keep(Finding::SnapshotName(full_tag.clone())).await?;
                (full_tag, schema_version)
            }
        };
        let snapshot = Snapshot {
            full_tag,
            resumed: resumed.is_some(),
            may_exist: AtomicBool::new(resumed.is_some()),
        };
        let outcome = self.back_up_with(ctx, &snapshot, &schema_version).await;
        if snapshot.may_exist.load(Ordering::SeqCst) {
            self.clear_snapshot(ctx, &snapshot.full_tag, outcome.is_err())
                .await;
        }
        outcome
    }

    async fn back_up_with(
        &self,
        ctx: &RunContext,
        snapshot: &Snapshot,
        schema_version: &str,
    ) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let request = &self.request;
        let node = ctx.node().await?;
        let full_tag = snapshot.full_tag.clone();
        let schema_version = schema_version.to_string();

        let facts = node_facts(ctx).await?;
        let location = request.common.location().map_err(configuration)?;
        let location = if location.is_global() {
            location
                .for_node(&facts)
                .map_err(|e| OperationError::failed("Topology", e.to_string()))?
        } else {
            location
        };
        let node_path = location.node_path(&facts);
        let storage = open_storage(
            ctx,
            &request.common,
            &location,
            &facts.cluster,
            request.create_missing_bucket,
        )
        .await?;
        let entities = request.entities().map_err(configuration)?;
        let data_dirs = self.data_dirs(ctx, &node, &entities).await?;
        let tokens = ctx.read(|n| async move { n.tokens().await }).await?;
        ctx.checkpoint()?;

        let taken = if snapshot.resumed && snapshot.exists(ctx).await {
            tracing::info!(snapshot = %full_tag, "the interrupted run's snapshot is there; its upload carries on");
            Ok(Ok(()))
        } else {
            snapshot.may_exist.store(true, Ordering::SeqCst);
            ctx.uninterruptible(
                "takeSnapshot",
                node.take_snapshot(
                    &full_tag,
                    &snapshot_entities(&entities),
                    &SnapshotOptions::default(),
                ),
            )
            .await
        };
        let outcome = match taken {
            Err(cancelled) => Err(cancelled),
            Ok(Err(refused)) => Err(OperationError::from(refused)),
            Ok(Ok(())) => {
                let hours = Duration::from_secs(request.timeout_hours().saturating_mul(3600));
                let upload = SnapshotUpload {
                    ctx,
                    storage: &storage,
                    node_path: &node_path,
                    full_tag: &full_tag,
                    schema_version: &schema_version,
                };
                match tokio::time::timeout(hours, upload.run(request, &data_dirs, &entities, tokens))
                    .await
                {
                    Ok(done) => done,
                    Err(_) => Err(OperationError::failed(
                        "Timeout",
                        format!(
                            "the backup did not finish within its timeout of {} hours; no manifest was written. Raise timeout, or bandwidth",
                            request.timeout_hours()
                        ),
                    )),
                }
            }
        };
        let uploaded = outcome?;
        if request.uploads_topology() {
            upload_topology(ctx, &storage, &facts, &full_tag, &schema_version).await?;
        }
        ctx.report(Finding::UploadedFiles(uploaded.sent));
        ctx.report(Finding::SkippedFiles(uploaded.files - uploaded.sent));
        ctx.report(Finding::RefreshedFiles(uploaded.refreshed));
        ctx.report(Finding::UploadedBytes(uploaded.sent_bytes));
        Ok(())
    }

    fn tag(&self) -> &str {
        tag(&self.request)
    }

    /// The data directories to walk: the request's `dataDirs`, else `--backup-data-dir`, else
    /// the parents of the tables' `DataPaths` (4.0+).
    async fn data_dirs(
        &self,
        ctx: &RunContext,
        node: &Node,
        entities: &Entities,
    ) -> Result<Vec<PathBuf>, OperationError> {
        if let Some(dirs) = self.request.data_dirs.as_ref().filter(|d| !d.is_empty()) {
            return Ok(dirs.iter().map(PathBuf::from).collect());
        }
        if !ctx.settings().backup_data_dirs.is_empty() {
            return Ok(ctx.settings().backup_data_dirs.clone());
        }
        if !node.version().at_least(4, 0) {
            return Err(OperationError::failed(
                "Configuration",
                format!(
                    "Cassandra {} does not report its data directories over JMX (DataPaths is 4.0+): give dataDirs in the request or start the sidecar with --backup-data-dir",
                    node.version().raw
                ),
            ));
        }
        let tables = ctx.read(|n| async move { n.tables().await }).await?;
        let mut dirs = BTreeSet::new();
        for table in tables
            .into_iter()
            .filter(|t| entities.includes(&t.keyspace, &t.table))
        {
            let (ks, t) = (table.keyspace.clone(), table.table.clone());
            let paths = ctx
                .read(|n| async move { n.table_data_paths(&ks, &t).await })
                .await?;
            // Each path is `<data dir>/<ks>/<table>-<id>`.
            dirs.extend(
                paths
                    .iter()
                    .filter_map(|p| Path::new(p).parent()?.parent().map(Path::to_path_buf)),
            );
        }
        Ok(dirs.into_iter().collect())
    }

    /// Clears the backup's snapshot. A failure is kept in the record, not raised over the
    /// backup's own outcome; the record of a backup that did not complete (`ended`) says
    /// whether the snapshot went (that of a completed one is as Icarus shows it).
    async fn clear_snapshot(&self, ctx: &RunContext, full_tag: &str, ended: bool) {
        let tag = full_tag.to_string();
        let cleared = ctx
            .read(|n| async move { n.clear_snapshot(Some(&tag), &[]).await })
            .await;
        if ended || cleared.is_err() {
            ctx.report(Finding::SnapshotCleared(cleared.is_ok()));
        }
        if let Err(error) = cleared {
            tracing::warn!(snapshot = full_tag, %error, "could not clear the backup's snapshot");
            ctx.report(Finding::SnapshotNotCleared(format!(
                "{error}; clear it with nodetool clearsnapshot -t {full_tag}"
            )));
        }
    }
}

/// The snapshot of one backup, named by its full tag.
struct Snapshot {
    full_tag: String,
    /// Named by an interrupted run of this backup, which may have taken it.
    resumed: bool,
    /// Whether it may be on the node (taken, or being taken): then it is cleared at the end.
    may_exist: AtomicBool,
}

impl Snapshot {
    /// Whether the node lists it; `false` when the node cannot say (then it is taken again,
    /// which Cassandra refuses only if it is there after all).
    async fn exists(&self, ctx: &RunContext) -> bool {
        match ctx.read(|n| async move { n.snapshot_tags().await }).await {
            Ok(tags) => tags.contains(&self.full_tag),
            Err(error) => {
                tracing::warn!(%error, "cannot list the node's snapshots");
                false
            }
        }
    }
}

/// The snapshot's part of a backup: walking, uploading and the manifest.
struct SnapshotUpload<'a> {
    ctx: &'a RunContext,
    storage: &'a Storage,
    node_path: &'a NodePath,
    full_tag: &'a str,
    schema_version: &'a str,
}

impl SnapshotUpload<'_> {
    async fn run(
        &self,
        request: &BackupRequest,
        data_dirs: &[PathBuf],
        entities: &Entities,
        tokens: Vec<String>,
    ) -> Result<Uploaded, OperationError> {
        let mut manifest = Manifest::new(self.full_tag, tokens, self.schema_version);
        let plan = {
            let (dirs, tag) = (data_dirs.to_vec(), self.full_tag.to_string());
            let entities = entities.clone();
            let mut manifest_tables = Vec::new();
            let plan = tokio::task::spawn_blocking(move || {
                plan_snapshot(&dirs, &tag, &entities, &mut manifest_tables)
                    .map(|plan| (plan, manifest_tables))
            })
            .await
            .map_err(|e| OperationError::internal(format!("snapshot walk failed: {e}")))??;
            for (ks, table, id, schema) in plan.1 {
                let entry = manifest.table_mut(&ks, &table);
                entry.id = Some(id);
                if entry.schema_content.is_none() {
                    entry.schema_content = schema;
                }
            }
            plan.0
        };
        let total: u64 = plan.iter().map(|(_, _, item)| item.size).sum();
        self.ctx.report(Finding::Files(plan.len()));
        self.ctx.report(Finding::Bytes(total));

        let files: Vec<UploadFile> = plan
            .iter()
            .map(|(_, _, item)| UploadFile {
                path: item.local.clone(),
                key: self.storage.node_object(self.node_path, &item.key),
                size: item.size,
            })
            .collect();
        let progress_ctx = self.ctx.clone();
        let mut options = transfer_options(request).with_progress(move |done, total| {
            if total > 0 {
                progress_ctx.set_progress(done as f64 / total as f64);
            }
        });
        if !request.skip_refreshing {
            options.refresh = Some(Arc::new(self.storage.clone()));
        }
        let results = transfer::upload(
            self.storage.store().clone(),
            files,
            &options,
            self.ctx.cancelled(),
        )
        .await
        .map_err(|e| transfer_failure(e, self.full_tag))?;

        let mut uploaded = Uploaded {
            files: results.len(),
            sent: 0,
            sent_bytes: 0,
            refreshed: 0,
        };
        for ((ks, table, item), result) in plan.into_iter().zip(results) {
            match result.outcome {
                UploadOutcome::Uploaded => {
                    uploaded.sent += 1;
                    uploaded.sent_bytes += result.size;
                }
                UploadOutcome::Refreshed => uploaded.refreshed += 1,
                UploadOutcome::AlreadyPresent => {}
            }
            manifest.table_mut(&ks, &table).add_entry(
                &item.sstable,
                ManifestEntry {
                    object_key: item.key,
                    entry_type: EntryType::File,
                    size: result.size,
                    hash: Some(result.sha256),
                    kms_key_id: request.common.kms_key_id.clone(),
                },
            );
        }
        manifest.update_size();
        self.ctx.set_progress(1.0);
        // The manifest marks a finished backup: never written once a cancel was asked for.
        self.ctx.checkpoint()?;
        let path = self
            .storage
            .node_object(self.node_path, &layout::manifest_key(self.full_tag));
        let payload = PutPayload::from(manifest.to_json());
        tokio::select! {
            put = self.storage.store().put(&path, payload) => put.map_err(|e| OperationError::failed(
                "Storage",
                format!("writing manifest {path} failed: {e}; every data object is uploaded, run the backup again to write it"),
            ))?,
            _ = self.ctx.cancelled().cancelled() => return Err(OperationError::Cancelled),
        };
        self.ctx.report(Finding::Manifest(path.to_string()));
        Ok(uploaded)
    }
}

/// One table found in the snapshot: keyspace, table, id, `schema.cql`.
type SnapshotTableFacts = (String, String, String, Option<String>);

/// Every file of the snapshot under `data_dirs` to upload, with its keyspace and table; fills
/// `tables` with each table found (empty ones too, so they appear in the manifest).
fn plan_snapshot(
    data_dirs: &[PathBuf],
    full_tag: &str,
    entities: &Entities,
    tables: &mut Vec<SnapshotTableFacts>,
) -> Result<Vec<(String, String, UploadItem)>, OperationError> {
    let mut plan = Vec::new();
    for dir in data_dirs {
        let found = layout::snapshot_tables(dir, full_tag).map_err(|e| {
            OperationError::failed(
                "Snapshot",
                format!(
                    "{e}; check dataDirs (or --backup-data-dir) names Cassandra's data directories"
                ),
            )
        })?;
        for table in found
            .into_iter()
            .filter(|t| entities.includes(&t.keyspace, &t.table))
        {
            let schema = table.schema().map_err(snapshot_failure)?;
            let items = layout::plan_table_upload(
                &table.keyspace,
                &table.table,
                &table.table_id,
                &table.dir,
            )
            .map_err(snapshot_failure)?;
            plan.extend(
                items
                    .into_iter()
                    .map(|item| (table.keyspace.clone(), table.table.clone(), item)),
            );
            tables.push((table.keyspace, table.table, table.table_id, schema));
        }
    }
    Ok(plan)
}

fn snapshot_failure(error: layout::LayoutError) -> OperationError {
    OperationError::failed(
        "Snapshot",
        format!("{error}; the snapshot's files must stay readable until the backup ends"),
    )
}

/// The transfer knobs of the request (Esop's names): the shared ones, and the upload's rate.
fn transfer_options(request: &BackupRequest) -> TransferOptions {
    request
        .common
        .upload_options(request.duration, request.bandwidth)
}

fn transfer_failure(error: TransferError, full_tag: &str) -> OperationError {
    let no_manifest = "no manifest was written";
    match error {
        TransferError::Cancelled => OperationError::Cancelled,
        TransferError::FileVanished { .. } | TransferError::FileChanged { .. } => {
            OperationError::failed(
                "Snapshot",
                format!(
                    "{error}: something removed or changed snapshot {full_tag} while it was uploaded (nodetool clearsnapshot, a cleanup job); {no_manifest}. Run the backup again"
                ),
            )
        }
        TransferError::Read { .. } => OperationError::failed(
            "Snapshot",
            format!("{error}; the sidecar must be able to read Cassandra's data directories; {no_manifest}"),
        ),
        TransferError::Store {
            operation: "refresh",
            ..
        } => OperationError::failed(
            "Storage",
            format!(
                "{error}: the object is already stored, and refreshing it (so that lifecycle rules by age keep it) failed; {no_manifest}. Check that the credentials may copy objects (S3, GCS) or write blob metadata (Azure) and run the backup again, or set skipRefreshing to leave stored objects untouched"
            ),
        ),
        TransferError::Store { .. } => OperationError::failed(
            "Storage",
            format!(
                "{error}; {no_manifest}. Check that the storage is reachable, has room and accepts the credentials, then run the backup again: objects already uploaded are skipped (set retry to retry transient failures)"
            ),
        ),
        TransferError::DeadlineExceeded(_) => OperationError::failed(
            "Timeout",
            format!("{error}; {no_manifest}. Raise duration or bandwidth"),
        ),
        TransferError::InvalidOption { .. } => OperationError::failed("Configuration", error.to_string()),
        other => OperationError::failed("Transfer", format!("{other}; {no_manifest}")),
    }
}

/// `topology/<fullTag>.json` at the bucket root: every node of the ring.
async fn upload_topology(
    ctx: &RunContext,
    storage: &Storage,
    facts: &NodeFacts,
    full_tag: &str,
    schema_version: &str,
) -> Result<(), OperationError> {
    let ring = ctx.read(|n| async move { n.topology().await }).await?;
    let topology = backup_set::topology(
        &facts.cluster,
        schema_version,
        ring.into_iter().map(|e| TopologyNode {
            ip: e.ip,
            dc: e.datacenter,
            rack: e.rack,
            host_id: e.host_id,
        }),
    );
    put_topology(storage, full_tag, &topology)
        .await
        .map_err(|e| match e {
            OperationError::Failed { kind, message } => {
                OperationError::failed(kind, format!("{message}; the backup's manifest is written"))
            }
            other => other,
        })?;
    Ok(())
}

/// `takeSnapshot`'s entities: keyspaces or `ks.table` items; none = every keyspace.
fn snapshot_entities(entities: &Entities) -> Vec<String> {
    match entities {
        Entities::All => Vec::new(),
        Entities::Keyspaces(kss) => kss.clone(),
        Entities::Tables(tables) => tables.iter().map(|(k, t)| format!("{k}.{t}")).collect(),
    }
}

fn configuration(error: backup::request::RequestError) -> OperationError {
    OperationError::failed("Configuration", error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::storage_op::{check_secrets_kept, scrub_secrets};
    use crate::operations::OperationType;
    use serde_json::json;

    #[test]
    fn the_default_tag_is_fixed_at_submission_and_kept_by_the_journal() {
        let body = json!({"type": "backup", "storageLocation": "s3://b/c/d/n"});
        let op = BackupOperation::parse(&body, &ValidationPolicy::default()).unwrap();
        let tag = op.tag().to_string();
        let seconds: u64 = tag.strip_prefix("autosnap-").unwrap().parse().unwrap();
        assert!(seconds > 1_600_000_000, "{tag}");
        let stored = serde_json::to_value(&op).unwrap();
        assert!(
            stored.get("dataDirs").is_none(),
            "absent fields are left out: {stored}"
        );
        let back: BackupOperation = serde_json::from_value(stored).unwrap();
        assert_eq!(back, op);
    }

    #[test]
    fn the_proxy_password_is_redacted_in_the_record_and_missing_after_the_journal() {
        let body = json!({"type": "backup", "storageLocation": "s3://b/c/d/n",
            "proxySettings": {"useProxy": true, "proxyHost": "proxy", "proxyPort": 3128,
                              "proxyUsername": "u", "proxyPassword": "hunter2-secret"}});
        let op = BackupOperation::parse(&body, &ValidationPolicy::default()).unwrap();
        let url = op.request.common.store_options().unwrap().proxy_url;
        assert_eq!(
            url.as_deref(),
            Some("https://u:hunter2-secret@proxy:3128"),
            "the running operation uses the real password"
        );
        let stored = serde_json::to_value(&op).unwrap();
        assert_eq!(stored["proxySettings"]["proxyPassword"], "***");
        assert_eq!(stored["proxySettings"]["proxyUsername"], "u");
        assert!(!stored.to_string().contains("hunter2"), "{stored}");
        assert!(!format!("{op:?}").contains("hunter2"), "{op:?}");

        let back: BackupOperation = serde_json::from_value(stored).unwrap();
        assert!(back.request.common.has_withheld_secret());
        let e = check_secrets_kept(back.request.common.has_withheld_secret()).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("proxySettings.proxyPassword")
                && text.contains("submit the request again"),
            "{text}"
        );
        assert!(check_secrets_kept(op.request.common.has_withheld_secret()).is_ok());

        // A password given as "***" in a request is the password.
        let mut literal = body.clone();
        literal["proxySettings"]["proxyPassword"] = json!("***");
        let op = BackupOperation::parse(&literal, &ValidationPolicy::default()).unwrap();
        assert!(!op.request.common.has_withheld_secret());
        assert!(op
            .request
            .common
            .store_options()
            .unwrap()
            .proxy_url
            .unwrap()
            .contains(":%2A%2A%2A@"));
    }

    #[test]
    fn failure_messages_lose_the_proxy_password() {
        let body = json!({"type": "backup", "storageLocation": "s3://b/c/d/n",
            "proxySettings": {"useProxy": true, "proxyHost": "proxy",
                              "proxyUsername": "u", "proxyPassword": "p@ss word"}});
        let op = BackupOperation::parse(&body, &ValidationPolicy::default()).unwrap();
        let failed = Err(OperationError::failed(
            "Storage",
            "proxy https://u:p%40ss%20word@proxy refused; raw p@ss word",
        ));
        let text = scrub_secrets(failed, &op.request.common)
            .unwrap_err()
            .to_string();
        assert!(!text.contains("p%40ss") && !text.contains("p@ss"), "{text}");
        assert!(text.contains("https://u:***@proxy"), "{text}");
        let short = json!({"type": "backup", "storageLocation": "s3://b/c/d/n",
            "proxySettings": {"useProxy": true, "proxyHost": "proxy",
                              "proxyUsername": "u", "proxyPassword": "a"}});
        let op = BackupOperation::parse(&short, &ValidationPolicy::default()).unwrap();
        let failed = Err(OperationError::failed("Storage", "at https://u:a@proxy"));
        let text = scrub_secrets(failed, &op.request.common)
            .unwrap_err()
            .to_string();
        assert_eq!(
            text, "at https://u:***@proxy",
            "only the URL's password goes"
        );
    }

    #[test]
    fn entities_become_take_snapshot_arguments() {
        let tables = Entities::parse(Some("ks1.t1, ks2.t2")).unwrap();
        assert_eq!(snapshot_entities(&tables), ["ks1.t1", "ks2.t2"]);
        assert!(snapshot_entities(&Entities::All).is_empty());
        let keyspaces = Entities::parse(Some("ks1,ks2")).unwrap();
        assert_eq!(snapshot_entities(&keyspaces), ["ks1", "ks2"]);
    }

    #[test]
    fn a_failed_refresh_names_the_object_and_skip_refreshing() {
        let e = transfer_failure(
            TransferError::Store {
                key: "c/d/n/data/ks/t-1/1-2/nb-1-big-Data.db".into(),
                operation: "refresh",
                source: object_store::Error::PermissionDenied {
                    path: "c/d/n/data/ks/t-1/1-2/nb-1-big-Data.db".into(),
                    source: "HTTP 403".into(),
                },
            },
            "s-1",
        );
        let text = e.to_string();
        assert!(text.contains("nb-1-big-Data.db"), "{text}");
        assert!(
            text.contains("skipRefreshing") && text.contains("no manifest"),
            "{text}"
        );
    }

    #[test]
    fn a_vanished_file_names_the_snapshot_and_what_to_do() {
        let e = transfer_failure(
            TransferError::FileVanished {
                path: PathBuf::from("/data/ks/t-1/snapshots/s-1/nb-1-big-Data.db"),
            },
            "s-1",
        );
        let text = e.to_string();
        assert!(
            text.contains("nb-1-big-Data.db") && text.contains("snapshot s-1"),
            "{text}"
        );
        assert!(text.contains("no manifest"), "{text}");
        assert!(transfer_failure(TransferError::Cancelled, "s").is_cancelled());
    }
}
