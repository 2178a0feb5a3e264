//! Uploading local files to an object store, each read once and hashed as it streams. An
//! object whose key already exists is not sent again (keys name content, as in Esop's layout)
//! but refreshed in place when the options carry a refresher;
//! what exists is learnt from one listing per directory of keys (in Esop's layout, one SSTable
//! generation), made when its first file starts, so a directory costs one request, not one per
//! file; files up to one part go in a single put, larger ones in a multipart upload that is completed
//! only after the whole file was read at its listed size, and aborted on any failure or
//! cancellation so that no partial object becomes visible. Choosing keys is the layout's job.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectKey;
use object_store::{MultipartUpload, ObjectStore, PutOptions, PutPayload};
use tokio::sync::{mpsc, OnceCell};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::batch::{self, Batch};
use super::error::TransferError;
use super::hashing::{self, FileDigest, CHANNEL_DEPTH};
use super::options::TransferOptions;
use super::progress::FileProgress;

/// Parts of one file being sent at once, at most (the memory budget may allow fewer).
const PARTS_IN_FLIGHT_PER_FILE: usize = 4;

/// Parts of one multipart upload, at most (S3, GCS and Azure blocks alike).
const MAX_PARTS: u64 = 10_000;

/// A local file and the key it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    pub path: PathBuf,
    pub key: ObjectKey,
    /// The size the file was listed with; a file of another size is refused as changing.
    pub size: u64,
}

/// Whether a file's bytes were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    Uploaded,
    /// The key existed already; the file was only hashed.
    AlreadyPresent,
    /// The key existed already; the file was hashed and the object refreshed in place.
    Refreshed,
}

/// One file's result: what a manifest entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    pub key: ObjectKey,
    pub size: u64,
    /// Lowercase hex SHA-256 of the local file.
    pub sha256: String,
    pub outcome: UploadOutcome,
}

/// Uploads `files` to `store` and returns their hashes in the same order. Fails with the first
/// file that failed (after its retries), having stopped and cleaned up the others.
pub async fn upload(
    store: Arc<dyn ObjectStore>,
    files: Vec<UploadFile>,
    options: &TransferOptions,
    cancel: &CancellationToken,
) -> Result<Vec<UploadedFile>, TransferError> {
    let total = files.iter().map(|f| f.size).sum();
    let listings = Arc::new(Listings::of(&files));
    batch::run(options, cancel, total, files, |batch, file| {
        let store = store.clone();
        let listings = listings.clone();
        async move { upload_with_retries(&batch, store.as_ref(), &listings, &file).await }
    })
    .await
}

/// The keys present in each directory (the part of a key before its last `/`) that files of
/// the batch go to, each directory listed once, by the first file that needs it; the others
/// wait for that listing. A failed listing is not kept: the next file (or the retry of this
/// one) lists again.
struct Listings {
    directories: HashMap<Option<ObjectKey>, OnceCell<HashSet<ObjectKey>>>,
}

impl Listings {
    fn of(files: &[UploadFile]) -> Self {
        Listings {
            directories: files
                .iter()
                .map(|file| (directory_of(&file.key), OnceCell::new()))
                .collect(),
        }
    }

    /// Whether `key` exists in the store, as its directory's listing says.
    async fn contains(
        &self,
        batch: &Batch,
        store: &dyn ObjectStore,
        key: &ObjectKey,
    ) -> Result<bool, TransferError> {
        let directory = directory_of(key);
        let Some(cell) = self.directories.get(&directory) else {
            return Err(TransferError::Worker(format!(
                "no listing planned for the directory of {key}"
            )));
        };
        let list = async {
            let listed = store.list_with_delimiter(directory.as_ref()).await;
            match listed {
                Ok(listed) => Ok(listed.objects.into_iter().map(|o| o.location).collect()),
                // A directory that does not exist yet holds nothing.
                Err(object_store::Error::NotFound { .. }) => Ok(HashSet::new()),
                Err(error) => Err(TransferError::store(
                    directory.as_ref().unwrap_or(key),
                    "LIST",
                    error,
                )),
            }
        };
        let present = tokio::select! {
            present = cell.get_or_try_init(|| list) => present?,
            _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
        };
        Ok(present.contains(key))
    }
}

/// The directory part of a key (`a/b` of `a/b/c`), `None` for a key at the root. Built from
/// the key's parts, which are already encoded, so nothing is encoded twice.
fn directory_of(key: &ObjectKey) -> Option<ObjectKey> {
    let parts: Vec<_> = key.parts().collect();
    match parts.split_last() {
        Some((_, directory)) if !directory.is_empty() => Some(directory.iter().cloned().collect()),
        _ => None,
    }
}

async fn upload_with_retries(
    batch: &Batch,
    store: &dyn ObjectStore,
    listings: &Listings,
    file: &UploadFile,
) -> Result<UploadedFile, TransferError> {
    let mut progress = FileProgress::new(&batch.progress);
    let mut attempt = 1;
    loop {
        batch.check_cancelled()?;
        progress.restart();
        match upload_once(batch, store, listings, file, &mut progress).await {
            Ok(done) => return Ok(done),
            Err(error) => batch.before_retry(attempt, error).await?,
        }
        attempt += 1;
    }
}

async fn upload_once(
    batch: &Batch,
    store: &dyn ObjectStore,
    listings: &Listings,
    file: &UploadFile,
    progress: &mut FileProgress<'_>,
) -> Result<UploadedFile, TransferError> {
    if listings.contains(batch, store, &file.key).await? {
        let digest = hashing::hash_file_with(&file.path, &batch.buffers).await?;
        check_size(file, digest.size)?;
        let outcome = match &batch.options.refresh {
            Some(refresher) => {
                let refreshed = tokio::select! {
                    refreshed = refresher.refresh(&file.key, file.size) => refreshed,
                    _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
                };
                match refreshed {
                    Ok(()) => Some(UploadOutcome::Refreshed),
                    // Removed since the listing (a removal of another backup): send it again.
                    Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => return Err(TransferError::store(&file.key, "refresh", e)),
                }
            }
            None => Some(UploadOutcome::AlreadyPresent),
        };
        if let Some(outcome) = outcome {
            progress.complete(file.size);
            return Ok(done(file, digest, outcome));
        }
    }

    let opened = hashing::open(file.path.clone()).await?;
    check_size(file, hashing::length(&opened, &file.path)?)?;
    let (read_tx, read_rx) = mpsc::channel(CHANNEL_DEPTH);
    hashing::spawn_reader(
        opened,
        file.path.clone(),
        Some(file.size),
        batch.buffers.clone(),
        read_tx,
    );
    let (hashed_tx, hashed_rx) = mpsc::channel(CHANNEL_DEPTH);
    let hasher = hashing::spawn_hasher(read_rx, Some(hashed_tx));
    let mut chunks = Chunks {
        input: hashed_rx,
        carry: None,
    };

    let digest = if file.size <= batch.options.part_size as u64 {
        let _buffer = batch.reserve(file.size as usize).await?;
        let Some(payload) = chunks.take(batch, file.size as usize).await? else {
            hashing::join_hasher(hasher).await?;
            return Err(changed(file));
        };
        let digest = hashing::join_hasher(hasher).await?;
        check_size(file, digest.size)?;
        batch.check_cancelled()?;
        let put = store.put_opts(
            &file.key,
            PutPayload::from_iter(payload),
            PutOptions::default(),
        );
        tokio::select! {
            put = put => put.map_err(|e| TransferError::store(&file.key, "PUT", e))?,
            _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
        };
        progress.advance(file.size);
        digest
    } else {
        let created = tokio::select! {
            created = store.put_multipart_opts(&file.key, Default::default()) => created,
            _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
        };
        let mut upload =
            created.map_err(|e| TransferError::store(&file.key, "create multipart upload", e))?;
        match send_parts(batch, file, upload.as_mut(), &mut chunks, hasher, progress).await {
            Ok(digest) => match upload.complete().await {
                Ok(_) => digest,
                Err(error) => {
                    abort(upload.as_mut(), &file.key).await;
                    return Err(TransferError::store(
                        &file.key,
                        "complete multipart upload",
                        error,
                    ));
                }
            },
            Err(error) => {
                abort(upload.as_mut(), &file.key).await;
                return Err(error);
            }
        }
    };
    Ok(done(file, digest, UploadOutcome::Uploaded))
}

/// Sends the file part by part and returns its digest once every part is stored. Each part
/// holds its share of the memory budget until the store has it.
async fn send_parts(
    batch: &Batch,
    file: &UploadFile,
    upload: &mut dyn MultipartUpload,
    chunks: &mut Chunks,
    hasher: tokio::task::JoinHandle<Result<FileDigest, TransferError>>,
    progress: &mut FileProgress<'_>,
) -> Result<FileDigest, TransferError> {
    // Stores allow at most 10 000 parts: a file too large for that gets larger parts.
    let part_size = (batch.options.part_size as u64).max(file.size.div_ceil(MAX_PARTS));
    let mut in_flight: JoinSet<Result<u64, object_store::Error>> = JoinSet::new();
    let mut remaining = file.size;
    while remaining > 0 {
        while in_flight.len() >= PARTS_IN_FLIGHT_PER_FILE {
            part_finished(batch, file, &mut in_flight, progress).await?;
        }
        let length = remaining.min(part_size);
        let buffer = batch.reserve(length as usize).await?;
        let Some(part) = chunks.take(batch, length as usize).await? else {
            // The reader stopped early: the hasher holds the reason.
            hashing::join_hasher(hasher).await?;
            return Err(changed(file));
        };
        let sending = upload.put_part(PutPayload::from_iter(part));
        in_flight.spawn(async move {
            let _buffer = buffer;
            sending.await.map(|()| length)
        });
        remaining -= length;
    }
    let digest = hashing::join_hasher(hasher).await?;
    check_size(file, digest.size)?;
    while !in_flight.is_empty() {
        part_finished(batch, file, &mut in_flight, progress).await?;
    }
    Ok(digest)
}

async fn part_finished(
    batch: &Batch,
    file: &UploadFile,
    in_flight: &mut JoinSet<Result<u64, object_store::Error>>,
    progress: &mut FileProgress<'_>,
) -> Result<(), TransferError> {
    let finished = tokio::select! {
        finished = in_flight.join_next() => finished,
        _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
    };
    match finished {
        Some(Ok(Ok(length))) => {
            progress.advance(length);
            Ok(())
        }
        Some(Ok(Err(error))) => Err(TransferError::store(&file.key, "upload part", error)),
        Some(Err(join)) => Err(TransferError::Worker(join.to_string())),
        None => Ok(()),
    }
}

async fn abort(upload: &mut dyn MultipartUpload, key: &ObjectKey) {
    if let Err(error) = upload.abort().await {
        tracing::warn!(%key, %error, "could not abort a multipart upload; the store's lifecycle rules must remove its parts");
    }
}

/// The hashed chunks of a file, cut into parts without copying.
struct Chunks {
    input: mpsc::Receiver<Bytes>,
    carry: Option<Bytes>,
}

impl Chunks {
    /// The next `length` bytes, each chunk through the throttle; `None` when the stream ends
    /// first, in which case the hasher says why.
    async fn take(
        &mut self,
        batch: &Batch,
        length: usize,
    ) -> Result<Option<Vec<Bytes>>, TransferError> {
        let mut part = Vec::new();
        let mut have = 0;
        while have < length {
            let mut chunk = match self.carry.take() {
                Some(chunk) => chunk,
                None => {
                    let next = tokio::select! {
                        next = self.input.recv() => next,
                        _ = batch.cancel.cancelled() => return Err(TransferError::Cancelled),
                    };
                    match next {
                        Some(chunk) => {
                            batch.throttle(chunk.len() as u64).await?;
                            chunk
                        }
                        None => return Ok(None),
                    }
                }
            };
            if chunk.len() > length - have {
                self.carry = Some(chunk.split_off(length - have));
            }
            have += chunk.len();
            part.push(chunk);
        }
        Ok(Some(part))
    }
}

fn check_size(file: &UploadFile, actual: u64) -> Result<(), TransferError> {
    if actual == file.size {
        Ok(())
    } else {
        Err(TransferError::FileChanged {
            path: file.path.clone(),
            expected: file.size,
            actual,
        })
    }
}

fn changed(file: &UploadFile) -> TransferError {
    TransferError::FileChanged {
        path: file.path.clone(),
        expected: file.size,
        actual: std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0),
    }
}

fn done(file: &UploadFile, digest: FileDigest, outcome: UploadOutcome) -> UploadedFile {
    UploadedFile {
        key: file.key.clone(),
        size: digest.size,
        sha256: digest.sha256,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_directory_is_its_parts_but_the_last() {
        let key = ObjectKey::from_iter(["Test Cluster", "dc1", "a%b", "nb-1-big-Data.db"]);
        let directory = directory_of(&key).unwrap();
        assert_eq!(
            directory,
            ObjectKey::from_iter(["Test Cluster", "dc1", "a%b"])
        );
        assert!(key.prefix_matches(&directory));
        assert_eq!(directory_of(&ObjectKey::from("top")), None);
    }
}
