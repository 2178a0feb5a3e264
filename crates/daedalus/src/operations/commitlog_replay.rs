//! Getting a stopped node ready to replay archived commit logs up to a moment, shared by
//! `commitlog-restore` and `restore` with `pointInTime`: choosing the segments (refusing a
//! moment they cannot reach), moving the node's own segments aside, downloading the chosen
//! ones, and writing (later removing) the restore section of `commitlog_archiving.properties`.
//!
//! Owns those steps and their failure causes. It must not start or stop Cassandra (the
//! callers do, or the operator).

use std::path::{Path, PathBuf};

use backup::commitlog::{self, ArchivedSegment, CoverageError};
use backup::location::NodePath;
use backup::request::CommonStorageFields;
use backup::store::Storage;
use backup::transfer::{self, DownloadFile, DownloadOutcome, TransferError};

use super::backup_storage::now_millis;
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::validation::ValidationError;

/// Cassandra reads its archiving settings from this file on its classpath (the configuration
/// directory).
pub(super) const PROPERTIES: &str = "commitlog_archiving.properties";

/// The archived segments of `node` that bring a snapshot taken at `start` to the moment
/// `point_seconds`, or why they cannot.
pub(super) async fn choose_segments(
    ctx: &RunContext,
    storage: &Storage,
    node: &NodePath,
    start_millis: u64,
    point_seconds: i64,
) -> Result<Vec<ArchivedSegment>, OperationError> {
    let listed = tokio::select! {
        listed = commitlog::list_segments(storage.store().as_ref(), node) => listed,
        () = ctx.cancelled().cancelled() => return Err(OperationError::Cancelled),
    };
    let segments = listed.map_err(|e| {
        OperationError::failed(
            "Storage",
            format!("listing {}/commitlog failed: {e}", node.prefix()),
        )
    })?;
    // Cassandra replays writes stamped at or before the point's whole second (.000).
    let point_millis = u64::try_from(point_seconds).unwrap_or(0) * 1000;
    commitlog::cover(&segments, node, start_millis, point_millis).map_err(uncovered)
}

/// Kind of the failure cause of a moment the archive cannot reach.
const UNREACHABLE_POINT_KIND: &str = "PointInTime";

/// The failure of a restore to a moment the archive cannot reach, saying why.
pub(super) fn unreachable_point(message: String) -> OperationError {
    OperationError::failed(UNREACHABLE_POINT_KIND, message)
}

/// A pre-acceptance check's outcome: a moment the archive cannot reach is refused, naming
/// `field`; any other failure (a store that does not answer) is left to the run.
pub(super) fn refuse_unreachable_point(
    field: &str,
    outcome: Result<(), OperationError>,
) -> Result<(), ValidationError> {
    match outcome {
        Err(OperationError::Failed { kind, message }) if kind == UNREACHABLE_POINT_KIND => Err(
            ValidationError::invalid(field, format!("'{field}' cannot be reached: {message}")),
        ),
        _ => Ok(()),
    }
}

/// A moment the archive cannot reach, as a failure cause saying what to do.
fn uncovered(error: CoverageError) -> OperationError {
    let advice = match &error {
        CoverageError::NoSegments { .. } => {
            "; enable continuous archiving (--commitlog-archive) before the backups a restore to a moment starts from"
        }
        CoverageError::PastLastSegment { .. } => {
            "; choose an earlier moment, or wait until the node closes that segment (it does when it fills, or when the node is drained)"
        }
        CoverageError::Gap { .. } => {
            "; a moment before the gap can still be reached, one after it cannot from this backup"
        }
        _ => "",
    };
    unreachable_point(format!("{error}{advice}"))
}

/// Moves the segments in the node's commit-log directory to `commitlogs-<millis>` beside it,
/// as Esop does: a restore replays the archived segments, not these, and they are kept for the
/// operator rather than removed. Returns where they went, `None` when there were none.
pub(super) fn move_aside(commit_log_dir: &Path) -> Result<Option<PathBuf>, OperationError> {
    let files = match std::fs::read_dir(commit_log_dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(local_failure(commit_log_dir, e)),
    };
    if files.is_empty() {
        return Ok(None);
    }
    let parent = commit_log_dir.parent().unwrap_or(commit_log_dir);
    let aside = parent.join(format!("commitlogs-{}", now_millis()));
    std::fs::create_dir_all(&aside).map_err(|e| local_failure(&aside, e))?;
    for file in files {
        let to = aside.join(file.file_name().unwrap_or_default());
        std::fs::rename(&file, &to).map_err(|e| local_failure(&file, e))?;
    }
    Ok(Some(aside))
}

/// Downloads `segments` into `dir` under the names Cassandra gave them, each checked for
/// size (a segment's sections carry their own CRCs, which Cassandra checks as it replays), with
/// the request's transfer settings; progress moves from `base` over `share` of the operation.
pub(super) async fn download_segments(
    ctx: &RunContext,
    storage: &Storage,
    segments: &[ArchivedSegment],
    dir: &Path,
    common: &CommonStorageFields,
    (base, share): (f64, f64),
) -> Result<usize, OperationError> {
    let progress = ctx.clone();
    let options = common.transfer_options().with_progress(move |done, total| {
        if total > 0 {
            progress.set_progress(base + share * done as f64 / total as f64);
        }
    });
    std::fs::create_dir_all(dir).map_err(|e| local_failure(dir, e))?;
    let files = segments
        .iter()
        .map(|s| DownloadFile {
            key: s.path.clone(),
            destination: dir.join(&s.name),
            sha256: None,
            size: s.size,
        })
        .collect();
    let done = transfer::download(storage.store().clone(), files, &options, ctx.cancelled())
        .await
        .map_err(|e| match e {
            TransferError::Cancelled => OperationError::Cancelled,
            other => OperationError::failed(
                "Storage",
                format!(
                    "downloading commit-log segments into {}: {other}",
                    dir.display()
                ),
            ),
        })?;
    ctx.report(Finding::Segments(done.len()));
    ctx.report(Finding::SegmentBytes(done.iter().map(|d| d.size).sum()));
    Ok(done
        .iter()
        .filter(|d| d.outcome == DownloadOutcome::Downloaded)
        .count())
}

/// Writes the restore section of the node's `commitlog_archiving.properties` (its other lines,
/// `archive_command` among them, kept) so that its next start copies the segments of
/// `download_dir` and replays them up to `point_seconds`.
pub(super) fn write_restore_section(
    ctx: &RunContext,
    config_dir: &Path,
    download_dir: &Path,
    point_seconds: i64,
) -> Result<PathBuf, OperationError> {
    let file = config_dir.join(PROPERTIES);
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(local_failure(&file, e)),
    };
    let text = commitlog::with_restore_section(&existing, download_dir, point_seconds);
    write_atomically(&file, &text)?;
    ctx.report(Finding::RestoreSettings(file.display().to_string()));
    ctx.report(Finding::ReplayUpTo(commitlog::point_in_time_text(
        point_seconds,
    )));
    Ok(file)
}

/// Removes the restore section again, so that a later start of the node does not replay the
/// same segments once more. Returns whether there was one.
pub(super) fn remove_restore_section(file: &Path) -> Result<bool, OperationError> {
    let existing = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(local_failure(file, e)),
    };
    if !commitlog::has_restore_section(&existing) {
        return Ok(false);
    }
    write_atomically(file, &commitlog::without_restore_section(&existing))?;
    Ok(true)
}

fn write_atomically(file: &Path, text: &str) -> Result<(), OperationError> {
    let temporary = file.with_extension("properties.daedalus-tmp");
    std::fs::write(&temporary, text).map_err(|e| local_failure(&temporary, e))?;
    std::fs::rename(&temporary, file).map_err(|e| local_failure(file, e))
}

fn local_failure(path: &Path, error: std::io::Error) -> OperationError {
    OperationError::failed(
        "CommitLog",
        format!(
            "{}: {error}; the sidecar must be able to write the node's commit-log and configuration directories",
            path.display()
        ),
    )
}
