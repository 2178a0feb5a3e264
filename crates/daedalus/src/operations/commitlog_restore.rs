//! The `commitlog-restore` operation (Esop's `commitlog-restore`): on a stopped node, downloads
//! the archived segments from `timestampStart` (the node's snapshot) up to `timestampEnd`,
//! moves the node's own segments aside and writes the restore section of
//! `commitlog_archiving.properties`, so that Cassandra's next start replays exactly up to that
//! moment. A `restore` with `pointInTime` does all of this and the snapshot too.
//!
//! Owns the request's checks and its order of steps; the steps are `commitlog_replay`'s. It
//! must not start Cassandra.

use async_trait::async_trait;
use backup::location::NodePath;
use backup::request::CommitLogRestoreRequest;
use backup::store::Storage;

use super::backup_storage::{open_storage, STORAGE_LOCATION};
use super::commitlog_replay::{self, choose_segments, download_segments, move_aside};
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::path_field::{PathField, PathKind, UsedPath};
use super::restore::refuse_running_node;
use super::settings::ValidationPolicy;
use super::storage_op::{StorageKind, StorageOp};
use super::validation::ValidationError;

/// An accepted `commitlog-restore` request.
pub type CommitLogRestoreOperation = StorageOp<CommitLogRestore>;

/// The `commitlog-restore` operation.
pub struct CommitLogRestore;

#[async_trait]
impl StorageKind for CommitLogRestore {
    type Request = CommitLogRestoreRequest;
    const TYPE: &'static str = "commitlog-restore";

    const PATH_FIELDS: &'static [PathField] = &[
        STORAGE_LOCATION,
        PathField::new("cassandraCommitLogDirectory", PathKind::Confined),
        PathField::new("cassandraConfigDirectory", PathKind::NodeConfig),
        PathField::new("commitlogDownloadDir", PathKind::Confined),
        // Esop's container prefix, unused here; confined as any path the API accepts.
        PathField::new("sharedContainerPath", PathKind::Confined),
    ];

    /// The record shows the defaults the request runs with.
    fn accept(
        request: &mut CommitLogRestoreRequest,
        _: &ValidationPolicy,
    ) -> Result<(), ValidationError> {
        request.echo_defaults();
        Ok(())
    }

    fn paths(request: &CommitLogRestoreRequest) -> Vec<UsedPath> {
        vec![
            UsedPath::new(
                "cassandraCommitLogDirectory",
                request.commit_log_directory().display().to_string(),
            ),
            UsedPath::new(
                "cassandraConfigDirectory",
                request.config_directory().display().to_string(),
            ),
            UsedPath::new(
                "commitlogDownloadDir",
                request.download_dir().display().to_string(),
            ),
        ]
    }

    fn conflict_key(_: &CommitLogRestoreRequest) -> Option<String> {
        Some("commitlog_archiving.properties".to_string())
    }

    /// Downloads are checked and kept, and the restore section of the properties is written
    /// whole each time.
    fn resumable(_: &CommitLogRestoreRequest) -> bool {
        true
    }

    fn restart_advice(_: &CommitLogRestoreRequest) -> Option<String> {
        Some(
            "commitlog-restore was interrupted: keep Cassandra stopped and submit it again \
             (segments already downloaded are kept)"
                .to_string(),
        )
    }

    /// A moment the archive cannot reach is refused before it is accepted.
    async fn preflight(
        op: &CommitLogRestoreOperation,
        ctx: &RunContext,
    ) -> Result<(), ValidationError> {
        let outcome = async {
            let (storage, node) = open(&op.request, ctx).await?;
            let (start, point) = span(&op.request);
            choose_segments(ctx, &storage, &node, start, point).await?;
            Ok(())
        }
        .await;
        commitlog_replay::refuse_unreachable_point("timestampEnd", outcome)
    }

    async fn run(op: &CommitLogRestoreOperation, ctx: &RunContext) -> Result<(), OperationError> {
        let request = &op.request;
        refuse_running_node(ctx, "commitlog-restore").await?;
        let (storage, node) = open(request, ctx).await?;
        let (start, point_seconds) = span(request);
        let segments = choose_segments(ctx, &storage, &node, start, point_seconds).await?;
        ctx.set_progress(0.1);
        ctx.checkpoint()?;

        if let Some(aside) = move_aside(&request.commit_log_directory())? {
            ctx.report(Finding::CommitLogsMovedTo(aside.display().to_string()));
        }
        let dir = request.download_dir();
        download_segments(ctx, &storage, &segments, &dir, &request.common, (0.1, 0.8)).await?;
        ctx.checkpoint()?;
        commitlog_replay::write_restore_section(
            ctx,
            &request.config_directory(),
            &request.download_dir(),
            point_seconds,
        )?;
        ctx.set_progress(1.0);
        Ok(())
    }
}

/// The store and the node prefix the segments are under (the location must name the node:
/// the node is stopped and cannot tell its own).
async fn open(
    request: &CommitLogRestoreRequest,
    ctx: &RunContext,
) -> Result<(Storage, NodePath), OperationError> {
    let location = request
        .common
        .location()
        .map_err(|e| OperationError::failed("Configuration", e.to_string()))?;
    let Some(node) = location.node.clone() else {
        return Err(OperationError::failed(
            "Configuration",
            format!(
                "storageLocation {} names no node (cluster/dc/node), and the stopped node \
                 cannot tell its own: give the full location",
                location.raw
            ),
        ));
    };
    let storage = open_storage(ctx, &request.common, &location, &node.cluster, false).await?;
    Ok((storage, node))
}

/// `timestampStart` in epoch millis and `timestampEnd` in whole epoch seconds (Cassandra
/// replays to the second).
fn span(request: &CommitLogRestoreRequest) -> (u64, i64) {
    let start = u64::try_from(request.timestamp_start.unwrap_or(0)).unwrap_or(0);
    (start, request.timestamp_end.unwrap_or(0).div_euclid(1000))
}
