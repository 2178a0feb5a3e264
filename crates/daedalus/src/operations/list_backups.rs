//! The `list` operation: the backups under a `storageLocation` (one node's, or every node's of
//! a bucket for `proto://bucket`), read from their manifests; the record carries the listing
//! in `response`, as Esop's list request does.
//!
//! With archived commit logs, the record also has `recoveryWindows`: per node, the moments a
//! restore with `pointInTime` can reach.
//!
//! Owns the request's filters (`fromTimestamp`, `lastN`) and the shape of `response`. Reading
//! manifests is the `backup` crate's `catalog`; this module must not change the bucket.

use async_trait::async_trait;
use backup::catalog::{self, BackupSummary, Scope};
use backup::commitlog::{self, RecoveryWindow};
use backup::request::ListRequest;
use object_store::ObjectStore;

use super::backup_storage::{catalog_failure, open_catalog, STORAGE_LOCATION};
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::path_field::{PathField, PathKind, UsedPath};
use super::settings::ValidationPolicy;
use super::storage_op::{StorageKind, StorageOp};
use super::validation::ValidationError;

/// An accepted `list` request (Esop's `ListOperationRequest`).
pub type ListBackupsOperation = StorageOp<List>;

/// The `list` operation.
pub struct List;

#[async_trait]
impl StorageKind for List {
    type Request = ListRequest;
    const TYPE: &'static str = "list";

    /// The bucket read; Esop's `toFile`, accepted and unused (the listing is the record's), is
    /// still confined, as a file the sidecar would write.
    const PATH_FIELDS: &'static [PathField] = &[
        STORAGE_LOCATION,
        PathField::new("toFile", PathKind::Confined),
    ];

    fn paths(request: &ListRequest) -> Vec<UsedPath> {
        let to_file = request.to_file.iter();
        to_file
            .map(|f| UsedPath::new("toFile", f.clone()))
            .collect()
    }

    fn accept(request: &mut ListRequest, _: &ValidationPolicy) -> Result<(), ValidationError> {
        // The listing is the operation's answer, never a request field.
        request.response = None;
        request.echo_defaults();
        Ok(())
    }

    fn restart_advice(_: &ListRequest) -> Option<String> {
        Some("list only reads the bucket: submit it again".to_string())
    }

    /// It only reads the bucket.
    fn resumable(_: &ListRequest) -> bool {
        true
    }

    async fn run(op: &ListBackupsOperation, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let (storage, scope) = open_catalog(ctx, &op.request.common).await?;
        let listed = tokio::select! {
            listed = catalog::list_backups(storage.store(), &scope) => listed.map_err(catalog_failure)?,
            _ = ctx.cancelled().cancelled() => return Err(OperationError::Cancelled),
        };
        let windows = tokio::select! {
            windows = recovery_windows(storage.store().as_ref(), &scope, &listed) => windows?,
            _ = ctx.cancelled().cancelled() => return Err(OperationError::Cancelled),
        };
        if !windows.is_empty() {
            ctx.report(Finding::RecoveryWindows(windows));
        }
        let shown = filter(listed, &op.request);
        ctx.report(Finding::Backups(shown.len()));
        ctx.report(Finding::Response(shown));
        Ok(())
    }
}

/// The recovery window of every node of the scope that has archived commit logs (one listing
/// of its `commitlog/` each): the moments a restore with `pointInTime` can reach.
async fn recovery_windows(
    store: &dyn ObjectStore,
    scope: &Scope,
    backups: &[BackupSummary],
) -> Result<Vec<RecoveryWindow>, OperationError> {
    let mut windows = Vec::new();
    for node in catalog::nodes(store, scope)
        .await
        .map_err(catalog_failure)?
    {
        let segments = commitlog::list_segments(store, &node).await.map_err(|e| {
            OperationError::failed(
                "Storage",
                format!("listing {}/commitlog failed: {e}", node.prefix()),
            )
        })?;
        let prefix = node.prefix();
        let times: Vec<u64> = backups
            .iter()
            .filter(|b| b.nodes.contains(&prefix))
            .map(|b| b.timestamp)
            .collect();
        windows.extend(commitlog::recovery_window(&node, &times, &segments));
    }
    Ok(windows)
}

/// Applies `fromTimestamp` (taken at or before it) and `lastN` (the newest N; 0 = all) to a
/// listing sorted oldest first.
pub fn filter(mut backups: Vec<BackupSummary>, request: &ListRequest) -> Vec<BackupSummary> {
    if let Some(until) = request.from_timestamp.and_then(|t| u64::try_from(t).ok()) {
        backups.retain(|b| b.timestamp <= until);
    }
    if let Some(n) = request
        .last_n
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
    {
        let skip = backups.len().saturating_sub(n);
        backups.drain(..skip);
    }
    backups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(name: &str, timestamp: u64) -> BackupSummary {
        BackupSummary {
            name: name.to_string(),
            snapshot_tag: name.to_string(),
            schema_version: None,
            timestamp,
            size: 1,
            files: 1,
            nodes: vec!["c/d/n".to_string()],
        }
    }

    #[test]
    fn last_n_keeps_the_newest_and_from_timestamp_the_older() {
        let all = vec![summary("a", 10), summary("b", 20), summary("c", 30)];
        let request = ListRequest {
            last_n: Some(2),
            ..ListRequest::default()
        };
        let names: Vec<String> = filter(all.clone(), &request)
            .into_iter()
            .map(|b| b.name)
            .collect();
        assert_eq!(names, ["b", "c"]);
        let request = ListRequest {
            from_timestamp: Some(20),
            last_n: Some(0),
            ..ListRequest::default()
        };
        let names: Vec<String> = filter(all, &request).into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
