//! Request bodies of the `backup`, `list`, `remove-backup` and `restore` operations, with
//! every field of the Icarus contract and of Esop, Esop's defaults, and validation that names
//! the field at fault.
//!
//! Parsing is as lenient as Esop's: unknown fields are ignored, `null` means the default, and
//! booleans and numbers written as strings (`"globalRequest": "true"`, as in the contract's
//! own example) are accepted. Validation returns the first [`RequestError`] as
//! `(field, reason)`, which the sidecar turns into a 400 body. Owns the request shapes only:
//! it must not touch storage or Cassandra.

mod backup;
mod common;
mod lenient;
mod measure;
mod restore;

pub use backup::{BackupRequest, ListRequest, RemovalSelector, RemoveBackupRequest};
pub use common::{CommonStorageFields, Entities};
pub use measure::{
    DataRate, ProxySettings, RateUnit, RetrySpec, RetryStrategy, TimeSpan, TimeUnit,
};
pub use restore::{ImportFlags, ImportSpec, RestorationPhase, RestorationStrategy, RestoreRequest};

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

#[cfg(test)]
mod tests;
