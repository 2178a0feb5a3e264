//! The `commitlog-backup` operation (Esop's `commitlog-backup`): uploads the closed commit-log
//! segments of a directory, or one segment, to `commitlog/<name>.<last-modified millis>` below
//! the node's prefix, where a restore to a point in time (ours or Esop's) finds them.
//!
//! Owns choosing the files and the record of what went up. The keys and the listing are the
//! `backup` crate's `commitlog`; it must not remove local files (continuous archiving does,
//! once an upload is confirmed).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use backup::commitlog::{self, LocalSegment};
use backup::request::CommitLogBackupRequest;
use backup::transfer::{self, TransferError, UploadFile, UploadOutcome};

use super::backup_storage::{node_facts, open_storage, STORAGE_LOCATION};
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::path_field::{PathField, PathKind, UsedPath};
use super::settings::ValidationPolicy;
use super::storage_op::{StorageKind, StorageOp};
use super::validation::ValidationError;

/// An accepted `commitlog-backup` request.
pub type CommitLogBackupOperation = StorageOp<CommitLogBackup>;

/// The `commitlog-backup` operation.
pub struct CommitLogBackup;

#[async_trait]
impl StorageKind for CommitLogBackup {
    type Request = CommitLogBackupRequest;
    const TYPE: &'static str = "commitlog-backup";

    /// The bucket written to, and the segments read (confined: the sidecar reads them).
    const PATH_FIELDS: &'static [PathField] = &[
        STORAGE_LOCATION,
        PathField::new("cassandraCommitLogDirectory", PathKind::Confined),
        PathField::new("commitLogArchiveOverride", PathKind::Confined),
        PathField::new("commitLog", PathKind::Confined),
    ];

    /// The record shows the defaults the request runs with.
    fn accept(
        request: &mut CommitLogBackupRequest,
        _: &ValidationPolicy,
    ) -> Result<(), ValidationError> {
        request.echo_defaults();
        Ok(())
    }

    fn paths(request: &CommitLogBackupRequest) -> Vec<UsedPath> {
        let (field, path) = source(request);
        vec![UsedPath::new(field, path.display().to_string())]
    }

    /// It only uploads, and segments already stored are skipped.
    fn resumable(_: &CommitLogBackupRequest) -> bool {
        true
    }

    fn restart_advice(_: &CommitLogBackupRequest) -> Option<String> {
        Some(
            "commitlog-backup only uploads: submit it again, segments already stored are skipped"
                .to_string(),
        )
    }

    async fn run(op: &CommitLogBackupOperation, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let request = &op.request;
        let segments = segments(request)?;
        ctx.report(Finding::Segments(segments.len()));
        ctx.report(Finding::SegmentBytes(segments.iter().map(|s| s.size).sum()));

        let location = request
            .common
            .location()
            .map_err(|e| OperationError::failed("Configuration", e.to_string()))?;
        // A location naming the node needs nothing from it: segments of a stopped node can be
        // archived too.
        let location = match location.node {
            Some(_) => location,
            None => location
                .for_node(&node_facts(ctx).await?)
                .map_err(|e| OperationError::failed("Topology", e.to_string()))?,
        };
        let node = location.node.clone().ok_or_else(|| {
            OperationError::internal("a location completed for the node names it")
        })?;
        let storage = open_storage(
            ctx,
            &request.common,
            &location,
            &node.cluster,
            request.create_missing_bucket,
        )
        .await?;
        let files = segments
            .iter()
            .map(|s| UploadFile {
                path: s.path.clone(),
                key: storage.node_object(&node, &s.key),
                size: s.size,
            })
            .collect();
        let progress = ctx.clone();
        let options = request
            .common
            .upload_options(request.duration, request.bandwidth)
            .with_progress(move |done, total| {
                if total > 0 {
                    progress.set_progress(done as f64 / total as f64);
                }
            });
        let results = transfer::upload(storage.store().clone(), files, &options, ctx.cancelled())
            .await
            .map_err(upload_failure)?;
        let sent: Vec<_> = results
            .iter()
            .filter(|r| r.outcome == UploadOutcome::Uploaded)
            .collect();
        ctx.report(Finding::UploadedFiles(sent.len()));
        ctx.report(Finding::SkippedFiles(results.len() - sent.len()));
        ctx.report(Finding::UploadedBytes(sent.iter().map(|r| r.size).sum()));
        ctx.set_progress(1.0);
        Ok(())
    }
}

/// Where the segments are read, and the field that named it: `commitLog` (one file), else
/// `commitLogArchiveOverride` when that directory exists (Esop's rule), else the commit-log
/// directory.
fn source(request: &CommitLogBackupRequest) -> (&'static str, PathBuf) {
    if let Some(file) = &request.commit_log {
        return ("commitLog", PathBuf::from(file));
    }
    if let Some(dir) = &request.commit_log_archive_override {
        if Path::new(dir).exists() {
            return ("commitLogArchiveOverride", PathBuf::from(dir));
        }
    }
    (
        "cassandraCommitLogDirectory",
        request.commit_log_directory(),
    )
}

fn segments(request: &CommitLogBackupRequest) -> Result<Vec<LocalSegment>, OperationError> {
    let (field, path) = source(request);
    let found = if field == "commitLog" {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !commitlog::is_segment_name(&name) {
            return Err(OperationError::failed(
                "CommitLog",
                format!(
                    "commitLog {} is not a commit-log segment (CommitLog-<version>-<id>.log)",
                    path.display()
                ),
            ));
        }
        commitlog::local_segment(&path).map(|s| vec![s])
    } else {
        commitlog::local_segments(&path)
    };
    found.map_err(|e| {
        OperationError::failed(
            "CommitLog",
            format!(
                "{field} {}: {e}; the sidecar must be able to read the node's commit-log segments",
                path.display()
            ),
        )
    })
}

fn upload_failure(error: TransferError) -> OperationError {
    match error {
        TransferError::Cancelled => OperationError::Cancelled,
        TransferError::FileChanged { .. } => OperationError::failed(
            "CommitLog",
            format!(
                "{error}: a segment still being written was read; upload only closed segments \
                 (the directory archive_command links them into, commitLogArchiveOverride)"
            ),
        ),
        other => OperationError::failed(
            "Storage",
            format!(
                "{other}; check that the storage is reachable and accepts the credentials, then \
                 submit it again: segments already stored are skipped"
            ),
        ),
    }
}
