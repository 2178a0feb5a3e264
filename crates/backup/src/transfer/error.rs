//! The one error type of transfers. It names the local file or the object key that failed and
//! says whether trying again can help; it does not decide whether to retry (that is `retry`).

use std::path::PathBuf;
use std::time::Duration;

/// Why an upload, a download or a local hash failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// An option is out of range; `field` is the request field it comes from.
    #[error("invalid transfer option `{field}`: {reason}")]
    InvalidOption { field: &'static str, reason: String },

    /// The expected SHA-256 given for an object is not 64 hexadecimal digits.
    #[error("object {key}: expected hash `{value}` is not a SHA-256 in hex (64 hex digits)")]
    InvalidHash { key: String, value: String },

    /// A local file to upload or hash no longer exists (a snapshot cleared under us, for example).
    #[error("file {} vanished before it could be read", path.display())]
    FileVanished { path: PathBuf },

    /// A local file does not have the size it was listed with, so it is being written to.
    #[error("file {} changed size while being read: expected {expected} bytes, found {actual}", path.display())]
    FileChanged {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    /// Reading a local file failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing a downloaded file (its temporary file, its directory or the final rename) failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The object store refused or failed an operation on one object.
    #[error("object {key}: {operation} failed: {source}")]
    Store {
        key: String,
        operation: &'static str,
        #[source]
        source: object_store::Error,
    },

    /// A download's destination resolves outside the directories it may write to (a symbolic
    /// link on the way leads out of them); nothing was written there.
    #[error("{} resolves to {}, outside the directories this download may write to ({}): a symbolic link leads out of them; nothing was written there", path.display(), resolved.display(), allowed)]
    Outside {
        path: PathBuf,
        resolved: PathBuf,
        /// The allowed directories, as shown.
        allowed: String,
    },

    /// A downloaded object does not have the size the manifest gives it.
    #[error("object {key} has {actual} bytes, expected {expected}: the backup is damaged or the manifest is not the one it was written with")]
    ObjectSize {
        key: String,
        expected: u64,
        actual: u64,
    },

    /// A downloaded object's SHA-256 differs from the manifest's; nothing was written.
    #[error("object {key} failed its hash check: expected SHA-256 {expected}, got {actual}; the object in storage is damaged, nothing was written")]
    HashMismatch {
        key: String,
        expected: String,
        actual: String,
    },

    /// The transfer was cancelled; nothing half-written was left.
    #[error("transfer cancelled")]
    Cancelled,

    /// The transfer did not finish within its `duration`.
    #[error("transfer did not finish within its duration of {0:?}")]
    DeadlineExceeded(Duration),

    /// A worker thread of the pipeline died; a bug, not an input problem.
    #[error("transfer worker failed: {0}")]
    Worker(String),
}

impl TransferError {
    /// Whether the same attempt may succeed later: failures of the store itself (network, 5xx,
    /// throttling), never missing objects, refused credentials, bad input or damaged data.
    pub fn is_retryable(&self) -> bool {
        match self {
            TransferError::Store { source, .. } => matches!(
                source,
                object_store::Error::Generic { .. } | object_store::Error::JoinError { .. }
            ),
            _ => false,
        }
    }

    pub(crate) fn store(
        key: &object_store::path::Path,
        operation: &'static str,
        source: object_store::Error,
    ) -> Self {
        TransferError::Store {
            key: key.to_string(),
            operation,
            source,
        }
    }
}
