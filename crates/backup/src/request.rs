//! Request bodies of the `backup`, `list`, `remove-backup`, `restore`, `commitlog-backup` and
//! `commitlog-restore` operations, with
//! every field of the Icarus contract and of Esop, Esop's defaults, and validation that names
//! the field at fault.
//!
//! Parsing is as lenient as Esop's: unknown fields are ignored, `null` means the default, and
//! booleans and numbers written as strings (`"globalRequest": "true"`, as in the contract's
//! own example) are accepted. Validation returns the first [`RequestError`] as
//! `(field, reason)`, which the sidecar turns into a 400 body. Owns the request shapes only:
//! it must not touch storage or Cassandra.

mod backup;
mod commitlog;
mod common;
mod lenient;
mod measure;
mod restore;
mod secret;

pub use backup::{BackupRequest, ListRequest, RemovalSelector, RemoveBackupRequest};
pub use commitlog::{parse_point_in_time, CommitLogBackupRequest, CommitLogRestoreRequest};
pub use common::{timeout_hours, CommonStorageFields, Entities, DEFAULT_TIMEOUT_HOURS};
pub use measure::{
    userinfo_encoded, DataRate, ProxySettings, RateUnit, RetrySpec, RetryStrategy, TimeSpan,
    TimeUnit,
};
pub use restore::{ImportFlags, ImportSpec, RestorationPhase, RestorationStrategy, RestoreRequest};
pub use secret::{Secret, REDACTED};

/// What every storage request has: the shared fields, and a validation naming the field at
/// fault. The sidecar's one storage-operation core is written against it.
pub trait StorageRequest:
    serde::Serialize
    + serde::de::DeserializeOwned
    + Clone
    + PartialEq
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    fn common(&self) -> &CommonStorageFields;
    fn common_mut(&mut self) -> &mut CommonStorageFields;
    /// Checks every field; the first fault is returned.
    fn check(&self) -> Result<(), RequestError>;
}

macro_rules! storage_request {
    ($($request:ty),*) => {$(
        impl StorageRequest for $request {
            fn common(&self) -> &CommonStorageFields {
                &self.common
            }
            fn common_mut(&mut self) -> &mut CommonStorageFields {
                &mut self.common
            }
            fn check(&self) -> Result<(), RequestError> {
                self.validate().map(drop)
            }
        }
    )*};
}

storage_request!(
    BackupRequest,
    ListRequest,
    RemoveBackupRequest,
    RestoreRequest,
    CommitLogBackupRequest,
    CommitLogRestoreRequest
);

/// A request field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RequestError {
    /// The JSON field at fault (`storageLocation`, `import.sourceDir`, …).
    pub field: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> RequestError {
    RequestError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Parses a request body, naming the field at fault when a value has the wrong type
/// (`retry.strategy`, `import.quick`, …); `body` when it is not a JSON object. Call the
/// request's `validate()` next.
pub fn from_json<T: serde::de::DeserializeOwned>(json: &[u8]) -> Result<T, RequestError> {
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| invalid("body", format!("is not valid JSON: {e}")))?;
    from_value(&value)
}

/// [`from_json`] for a body already parsed (the sidecar's, which its HTTP edge has read).
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
) -> Result<T, RequestError> {
    if !value.is_object() {
        return Err(invalid("body", "must be a JSON object"));
    }
    // The fields every request shares are flattened into each request type, where a type
    // error loses its field's name: they are read on their own first.
    with_path::<CommonStorageFields>(value)?;
    with_path::<T>(value)
}

fn with_path<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, RequestError> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let field = if path.is_empty() || path == "." {
            "body".to_string()
        } else {
            path
        };
        RequestError {
            field,
            reason: e.into_inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests;
