//! The `remove-backup` operation: removes the backups one selector picks (`backupName`,
//! `olderThan` or `removeOldest`, exactly one) and every object no remaining backup of the node
//! references; `dry` only says what would go.
//!
//! Owns the request's run and the record's `removal` field. Choosing and deleting is the
//! `backup` crate's `catalog` (manifests first, shared objects kept); this module must not
//! delete anything itself.

use async_trait::async_trait;
use backup::catalog;
use backup::request::{RemovalSelector, RemoveBackupRequest};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::backup_storage::{
    catalog_failure, check_secrets, check_secrets_kept, invalid, now_millis, open_catalog,
    parse_request, record_fields, scrub_secrets, STORAGE_LOCATION,
};
use super::cluster::ClusterMode;
use super::context::{OperationError, RunContext};
use super::operation::{Operation, OperationType};
use super::path_field::{PathField, UsedPath};
use super::settings::{OperationSettings, ValidationPolicy};
use super::validation::ValidationError;

/// An accepted `remove-backup` request (Esop's `RemoveBackupRequest`); the record and the
/// journal show the proxy password as `"***"`.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoveBackupOperation {
    pub request: RemoveBackupRequest,
    /// Read back from the journal, which never holds the proxy password: it is gone.
    secret_withheld: bool,
}

impl<'de> Deserialize<'de> for RemoveBackupOperation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let request = RemoveBackupRequest::deserialize(deserializer)?;
        let secret_withheld = request.common.has_withheld_secret();
        Ok(RemoveBackupOperation {
            request,
            secret_withheld,
        })
    }
}

impl RemoveBackupOperation {
    fn selector(&self) -> Result<RemovalSelector, OperationError> {
        self.request
            .validate()
            .map_err(|e| OperationError::failed("Configuration", e.to_string()))
    }
}

impl Serialize for RemoveBackupOperation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        record_fields(&self.request).serialize(serializer)
    }
}

impl OperationType for RemoveBackupOperation {
    const TYPE: &'static str = "remove-backup";

    const CLUSTER: ClusterMode = ClusterMode::Own;

    /// The bucket whose objects are deleted.
    const PATH_FIELDS: &'static [PathField] = &[STORAGE_LOCATION];

    fn paths(&self) -> Vec<UsedPath> {
        self.request
            .common
            .storage_location
            .iter()
            .map(|l| UsedPath::new("storageLocation", l.clone()))
            .collect()
    }

    fn parse(body: &Value, _policy: &ValidationPolicy) -> Result<Self, ValidationError> {
        let mut request: RemoveBackupRequest = parse_request(body)?;
        request.common.accept_given_secrets();
        request.validate().map_err(invalid)?;
        Ok(RemoveBackupOperation {
            request,
            secret_withheld: false,
        })
    }
}

#[async_trait]
impl Operation for RemoveBackupOperation {
    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        check_secrets(&self.request.common, settings.backup_secrets_dir.as_deref())
    }

    /// Two removals in the same bucket could each keep an object only the other's backup still
    /// needed; one at a time per location.
    fn conflict_key(&self) -> Option<String> {
        self.request.common.storage_location.clone()
    }

    fn restart_advice(&self) -> Option<String> {
        Some(
            "the removal was interrupted: manifests go first, so every backup still listed is \
             whole; submit it again (list shows what is left) to delete the rest"
                .to_string(),
        )
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        check_secrets_kept(self.secret_withheld)?;
        scrub_secrets(self.remove(ctx).await, &self.request.common)
    }
}

impl RemoveBackupOperation {
    async fn remove(&self, ctx: &RunContext) -> Result<(), OperationError> {
        ctx.checkpoint()?;
        let selector = self.selector()?;
        let common = &self.request.common;
        let (storage, scope) = open_catalog(ctx, common).await?;
        // Deletions run to the end once started: a half-done removal is whole again only when
        // submitted anew, so the cancel is honoured before, not during.
        ctx.checkpoint()?;
        let removal = catalog::remove_backups(
            storage.store(),
            &scope,
            &selector,
            now_millis(),
            self.request.dry,
        )
        .await
        .map_err(catalog_failure)?;
        ctx.set_extra(
            "removal",
            serde_json::to_value(&removal).unwrap_or(Value::Null),
        );
        Ok(())
    }
}
