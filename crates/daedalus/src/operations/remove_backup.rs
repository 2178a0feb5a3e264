//! The `remove-backup` operation: removes the backups one selector picks (`backupName`,
//! `olderThan` or `removeOldest`, exactly one) and every object no remaining backup of the node
//! references; `dry` only says what would go.
//!
//! Owns the request's run and the record's `removal` field. Choosing and deleting is the
//! `backup` crate's `catalog` (manifests first, shared objects kept); this module must not
//! delete anything itself.

use async_trait::async_trait;
use backup::catalog;
use backup::request::RemoveBackupRequest;

use super::backup_storage::{catalog_failure, now_millis, open_catalog, STORAGE_LOCATION};
use super::context::{OperationError, RunContext};
use super::finding::Finding;
use super::path_field::PathField;
use super::storage_op::{StorageKind, StorageOp};

/// An accepted `remove-backup` request (Esop's `RemoveBackupRequest`).
pub type RemoveBackupOperation = StorageOp<RemoveBackup>;

/// The `remove-backup` operation.
pub struct RemoveBackup;

#[async_trait]
impl StorageKind for RemoveBackup {
    type Request = RemoveBackupRequest;
    const TYPE: &'static str = "remove-backup";

    /// The bucket whose objects are deleted.
    const PATH_FIELDS: &'static [PathField] = &[STORAGE_LOCATION];

    /// Two removals in the same bucket could each keep an object only the other's backup still
    /// needed; one at a time per location.
    fn conflict_key(request: &RemoveBackupRequest) -> Option<String> {
        request.common.storage_location.clone()
    }

    fn not_resumed_because(_: &RemoveBackupRequest) -> Option<String> {
        Some(
            "which backups go is chosen when it runs (removeOldest, olderThan): a second run \
             could remove more than the request meant"
                .to_string(),
        )
    }

    fn restart_advice(_: &RemoveBackupRequest) -> Option<String> {
        Some(
            "the removal was interrupted: manifests go first, so every backup still listed is \
             whole; submit it again (list shows what is left) to delete the rest"
                .to_string(),
        )
    }

    async fn run(op: &RemoveBackupOperation, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let selector = op
            .request
            .validate()
            .map_err(|e| OperationError::failed("Configuration", e.to_string()))?;
        let (storage, scope) = open_catalog(ctx, &op.request.common).await?;
        // Deletions run to the end once started: a half-done removal is whole again only when
        // submitted anew, so the cancel is honoured before, not during.
        ctx.checkpoint()?;
        let removal = catalog::remove_backups(
            storage.store(),
            &scope,
            &selector,
            now_millis(),
            op.request.dry,
        )
        .await
        .map_err(catalog_failure)?;
        ctx.report(Finding::Removal(removal));
        Ok(())
    }
}
