//! Downloading objects to local files, verified as they stream: each object goes to a
//! temporary file beside its destination while its SHA-256 is computed, and is renamed into
//! place only when size and hash match the manifest's, so a destination is either absent, the
//! earlier file, or exactly the object. A destination already holding the right bytes is not
//! fetched again, which makes an interrupted download resumable. Choosing destinations is the
//! restore's job.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectKey;
use object_store::{GetOptions, GetResultPayload, ObjectStore};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::batch::{self, Batch};
use super::buffers::BufferPool;
use super::error::TransferError;
use super::hashing::{self, CHANNEL_DEPTH};
use super::options::TransferOptions;
use super::progress::FileProgress;

/// An object and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadFile {
    pub key: ObjectKey,
    pub destination: PathBuf,
    /// SHA-256 in hex from the manifest (either case). `None` for an object no manifest
    /// hashes (an archived commit-log segment, whose sections carry CRCs that Cassandra checks
    /// as it replays): only its size is checked.
    pub sha256: Option<String>,
    pub size: u64,
}

impl DownloadFile {
    /// Whether bytes of SHA-256 `sha256` (hex, either case) are this object's, as far as its
    /// known hash tells (always, for an object without one).
    pub fn has_hash(&self, sha256: &str) -> bool {
        self.sha256
            .as_ref()
            .is_none_or(|e| e.eq_ignore_ascii_case(sha256))
    }
}

/// Whether an object's bytes were fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadOutcome {
    Downloaded,
    /// The destination already held the object's bytes.
    AlreadyPresent,
}

/// One object's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    pub key: ObjectKey,
    pub destination: PathBuf,
    pub size: u64,
    pub outcome: DownloadOutcome,
}

/// Downloads `files` from `store`, verifying each, and returns the results in the same order.
/// Fails with the first object that failed (after its retries), having stopped the others and
/// removed their temporary files.
pub async fn download(
    store: Arc<dyn ObjectStore>,
    files: Vec<DownloadFile>,
    options: &TransferOptions,
    cancel: &CancellationToken,
) -> Result<Vec<DownloadedFile>, TransferError> {
    let mut checked = Vec::with_capacity(files.len());
    for mut file in files {
        if let Some(sha256) = &mut file.sha256 {
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(TransferError::InvalidHash {
                    key: file.key.to_string(),
                    value: std::mem::take(sha256),
                });
            }
            sha256.make_ascii_lowercase();
        }
        checked.push(file);
    }
    let total = checked.iter().map(|f| f.size).sum();
    batch::run(options, cancel, total, checked, |batch, file| {
        let store = store.clone();
        async move { download_with_retries(&batch, store.as_ref(), &file).await }
    })
    .await
}

async fn download_with_retries(
    batch: &Batch,
    store: &dyn ObjectStore,
    file: &DownloadFile,
) -> Result<DownloadedFile, TransferError> {
    let mut progress = FileProgress::new(&batch.progress);
    let mut attempt = 1;
    loop {
        batch.check_cancelled()?;
        progress.restart();
        match download_once(batch, store, file, &mut progress).await {
            Ok(done) => return Ok(done),
            Err(error) => batch.before_retry(attempt, error).await?,
        }
        attempt += 1;
    }
}

async fn download_once(
    batch: &Batch,
    store: &dyn ObjectStore,
    file: &DownloadFile,
    progress: &mut FileProgress<'_>,
) -> Result<DownloadedFile, TransferError> {
    let within = &batch.options.write_within;
    check_within(&file.destination, within)?;
    if already_present(file, &batch.buffers).await? {
        progress.complete(file.size);
        return Ok(done(file, DownloadOutcome::AlreadyPresent));
    }
    let temp = temporary_beside(&file.destination, within).await?;
    let temp_path = temp.path().to_path_buf();
    let writer_file = temp
        .as_file()
        .try_clone()
        .map_err(|source| TransferError::Write {
            path: temp_path.clone(),
            source,
        })?;

    let fetched = tokio::select! {
        fetched = store.get_opts(&file.key, GetOptions::default()) => fetched,
        _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
    };
    let fetched = fetched.map_err(|e| TransferError::store(&file.key, "GET", e))?;
    if fetched.meta.size != file.size {
        return Err(TransferError::ObjectSize {
            key: file.key.to_string(),
            expected: file.size,
            actual: fetched.meta.size,
        });
    }
    let mut body = body_stream(fetched.payload, &file.key, &batch.buffers);

    let (hash_tx, hash_rx) = mpsc::channel(CHANNEL_DEPTH);
    let (write_tx, write_rx) = mpsc::channel(CHANNEL_DEPTH);
    let hasher = hashing::spawn_hasher(hash_rx, Some(write_tx));
    let writer = spawn_writer(writer_file, temp_path, write_rx);
    loop {
        let next = tokio::select! {
            next = body.next() => next,
            _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
        };
        let Some(chunk) = next else { break };
        let chunk = chunk?;
        let length = chunk.len() as u64;
        batch.throttle(length).await?;
        tokio::select! {
            sent = hash_tx.send(Ok(chunk)) => if sent.is_err() { break },
            _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
        }
        progress.advance(length);
    }
    drop(hash_tx);
    let hashed = hashing::join_hasher(hasher).await;
    // A failed write (a full disk) stops the hasher too: report the write, not the stop.
    writer
        .await
        .map_err(|e| TransferError::Worker(e.to_string()))??;
    let digest = hashed?;

    if digest.size != file.size {
        return Err(TransferError::ObjectSize {
            key: file.key.to_string(),
            expected: file.size,
            actual: digest.size,
        });
    }
    if let Some(expected) = file.sha256.as_ref().filter(|&e| *e != digest.sha256) {
        return Err(TransferError::HashMismatch {
            key: file.key.to_string(),
            expected: expected.clone(),
            actual: digest.sha256,
        });
    }
    let destination = file.destination.clone();
    tokio::task::spawn_blocking(move || temp.persist(&destination))
        .await
        .map_err(|e| TransferError::Worker(e.to_string()))?
        .map_err(|e| TransferError::Write {
            path: file.destination.clone(),
            source: e.error,
        })?;
    Ok(done(file, DownloadOutcome::Downloaded))
}

/// Whether the destination already holds exactly the object's bytes.
async fn already_present(
    file: &DownloadFile,
    buffers: &Arc<BufferPool>,
) -> Result<bool, TransferError> {
    match tokio::fs::metadata(&file.destination).await {
        Ok(meta) if meta.is_file() && meta.len() == file.size => {}
        _ => return Ok(false),
    }
    match hashing::hash_file_with(&file.destination, buffers).await {
        Ok(digest) => Ok(file.has_hash(&digest.sha256)),
        // Removed or replaced while we looked: fetch it.
        Err(TransferError::FileVanished { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Fails when `path` resolves outside every directory of `within` (none: anywhere).
fn check_within(path: &Path, within: &[PathBuf]) -> Result<(), TransferError> {
    if within.is_empty() || crate::confine::is_inside(path, within) {
        return Ok(());
    }
    Err(TransferError::Outside {
        path: path.to_path_buf(),
        resolved: crate::confine::resolve(path).unwrap_or_else(|_| path.to_path_buf()),
        allowed: within
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Whether `candidate` is a temporary file a download of `destination` writes before renaming
/// it into place (one a crash may have left behind): `.<file name>.<random>.partial` beside it.
pub fn is_temporary_of(destination: &Path, candidate: &Path) -> bool {
    let (Some(name), Some(other)) = (destination.file_name(), candidate.file_name()) else {
        return false;
    };
    let (name, other) = (name.to_string_lossy(), other.to_string_lossy());
    destination.parent() == candidate.parent()
        && other
            .strip_prefix(&format!(".{name}."))
            .and_then(|rest| rest.strip_suffix(".partial"))
            // The random part has no dot: `X.db`'s temporaries are not `X`'s.
            .is_some_and(|random| !random.is_empty() && !random.contains('.'))
}

/// A temporary file in the destination's directory (created if missing), so the final rename
/// stays on one file system. It is removed when dropped unless persisted. The directory, once
/// it exists, must resolve inside `within`.
async fn temporary_beside(
    destination: &Path,
    within: &[PathBuf],
) -> Result<tempfile::NamedTempFile, TransferError> {
    let destination = destination.to_path_buf();
    let within = within.to_vec();
    tokio::task::spawn_blocking(move || {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::create_dir_all(&directory).map_err(|source| TransferError::Write {
            path: directory.clone(),
            source,
        })?;
        check_within(&directory, &within)?;
        tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(&directory)
            .map_err(|source| TransferError::Write {
                path: directory,
                source,
            })
    })
    .await
    .map_err(|e| TransferError::Worker(e.to_string()))?
}

/// The object's bytes as a stream. A local store hands over an open file, which one reader
/// thread reads in large chunks rather than the store's small ones.
fn body_stream(
    payload: GetResultPayload,
    key: &ObjectKey,
    buffers: &Arc<BufferPool>,
) -> BoxStream<'static, Result<Bytes, TransferError>> {
    match payload {
        GetResultPayload::File(file, path) => {
            let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
            hashing::spawn_reader(file, path, None, buffers.clone(), tx);
            futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            })
            .boxed()
        }
        GetResultPayload::Stream(stream) => {
            let key = key.clone();
            stream
                .map_err(move |e| TransferError::store(&key, "GET", e))
                .boxed()
        }
    }
}

/// Writes every chunk it receives to `file`.
fn spawn_writer(
    mut file: File,
    path: PathBuf,
    mut input: mpsc::Receiver<Bytes>,
) -> JoinHandle<Result<(), TransferError>> {
    tokio::task::spawn_blocking(move || {
        while let Some(chunk) = input.blocking_recv() {
            file.write_all(&chunk)
                .map_err(|source| TransferError::Write {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    })
}

fn done(file: &DownloadFile, outcome: DownloadOutcome) -> DownloadedFile {
    DownloadedFile {
        key: file.key.clone(),
        destination: file.destination.clone(),
        size: file.size,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn temporary_files_are_told_by_their_destination() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("nb-1-big-Data.db");
        let temp = temporary_beside(&destination, &[]).await.unwrap();
        assert!(
            is_temporary_of(&destination, temp.path()),
            "{:?}",
            temp.path()
        );
        assert!(!is_temporary_of(&destination, &destination));
        assert!(!is_temporary_of(
            &destination,
            &dir.path().join(".nb-1-big-Data.db.partial")
        ));
        assert!(!is_temporary_of(
            &dir.path().join("nb-1-big-Data"),
            temp.path()
        ));
    }
}
