//! Moving SSTable files between local disk and an object store: uploads that hash as they
//! stream, downloads verified before they land, and plain local hashing, with Esop's knobs
//! (`concurrentConnections`, `bandwidth`, `duration`, `retry`), progress and cancellation.
//!
//! Works against any [`object_store::ObjectStore`] and [`object_store::path::Path`] keys; it
//! must not choose keys or destinations (the layout and restore do), parse requests, or write
//! manifests.
//!
//! - Every file is read once: a reader thread, a hasher thread and the sender joined by
//!   bounded channels ([`hash_file`] uses the same pipeline), so reading, hashing and sending
//!   overlap and memory stays bounded: a few read chunks per file in flight plus part buffers
//!   limited by [`TransferOptions::memory_budget`] across the batch.
//! - [`upload`]: an existing key is not sent again (the file is still hashed for the manifest)
//!   but refreshed in place when [`TransferOptions::refresh`] is set; files
//!   up to [`TransferOptions::part_size`] go in one put, larger ones as a multipart upload,
//!   completed only once the whole file was read at its listed size and aborted on failure or
//!   cancellation. A file that vanished or changed size is an error naming it.
//! - [`download`]: to a temporary file beside the destination, renamed into place only when
//!   size and SHA-256 match; a destination already holding the right bytes is kept.
//! - A batch runs `concurrency` files at once under one token-bucket throttle; the first
//!   failure (after retries of store errors) or the `duration` deadline or the caller's
//!   [`tokio_util::sync::CancellationToken`] stops every transfer at its next chunk.

mod batch;
mod buffers;
mod download;
mod error;
mod hashing;
mod options;
mod progress;
mod refresh;
mod throttle;
mod upload;

pub use download::{download, is_temporary_of, DownloadFile, DownloadOutcome, DownloadedFile};
pub use error::TransferError;
pub use hashing::{hash_file, FileDigest};
pub use options::{BackoffStrategy, RetryPolicy, TransferOptions, MIN_PART_SIZE};
pub use progress::ProgressFn;
pub use refresh::RefreshObject;
pub use upload::{upload, UploadFile, UploadOutcome, UploadedFile};
