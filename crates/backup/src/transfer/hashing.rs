//! Reading a local file once while computing its SHA-256: one reader thread fills chunks, one
//! hasher thread hashes them, and bounded channels join the two and whatever consumes the bytes
//! next (an upload, a file being written), so reading, hashing and sending overlap and at most
//! a few chunks per file are in memory. Used alone, it hashes a file for a manifest or a resume
//! check. It opens and reads files only; it knows nothing of object stores.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::buffers::BufferPool;
use super::error::TransferError;

/// Chunks waiting in each channel of the pipeline.
pub(crate) const CHANNEL_DEPTH: usize = 2;

/// Read size of [`hash_file`]: big enough that system calls cost nothing next to hashing.
const HASH_READ_CHUNK: usize = 1024 * 1024;

/// Size and SHA-256 of a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    /// Lowercase hex, as Esop writes it in manifests.
    pub sha256: String,
}

/// SHA-256 of a local file, read once with reading and hashing overlapped.
pub async fn hash_file(path: &Path) -> Result<FileDigest, TransferError> {
    hash_file_with(path, &BufferPool::new(HASH_READ_CHUNK)).await
}

/// [`hash_file`] reading into buffers of `pool`.
pub(crate) async fn hash_file_with(
    path: &Path,
    pool: &Arc<BufferPool>,
) -> Result<FileDigest, TransferError> {
    let file = open(path.to_path_buf()).await?;
    let (chunks, hasher_input) = mpsc::channel(CHANNEL_DEPTH);
    spawn_reader(file, path.to_path_buf(), None, pool.clone(), chunks);
    join_hasher(spawn_hasher(hasher_input, None)).await
}

/// Opens a file to read, reporting a missing one as [`TransferError::FileVanished`].
pub(crate) async fn open(path: PathBuf) -> Result<File, TransferError> {
    tokio::task::spawn_blocking(move || {
        File::open(&path).map_err(|source| match source.kind() {
            ErrorKind::NotFound => TransferError::FileVanished { path },
            _ => TransferError::Read { path, source },
        })
    })
    .await
    .map_err(|e| TransferError::Worker(e.to_string()))?
}

/// The length of an open file.
pub(crate) fn length(file: &File, path: &Path) -> Result<u64, TransferError> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|source| TransferError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// Reads `file` from where it stands to its end into buffers of `pool` and sends them.
/// With `expected`, a file that turns out longer or shorter ends the stream with
/// [`TransferError::FileChanged`]. Stops quietly when the receiver goes away.
pub(crate) fn spawn_reader(
    mut file: File,
    path: PathBuf,
    expected: Option<u64>,
    pool: Arc<BufferPool>,
    out: mpsc::Sender<Result<Bytes, TransferError>>,
) {
    tokio::task::spawn_blocking(move || {
        let chunk = pool.buffer_size();
        let mut read_total: u64 = 0;
        loop {
            let mut buffer = pool.take();
            let mut filled = 0;
            while filled < chunk {
                match file.read(&mut buffer[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(source) => {
                        let _ = out.blocking_send(Err(TransferError::Read { path, source }));
                        return;
                    }
                }
            }
            read_total += filled as u64;
            if let Some(expected) = expected {
                if read_total > expected || (filled < chunk && read_total != expected) {
                    let _ = out.blocking_send(Err(TransferError::FileChanged {
                        path,
                        expected,
                        actual: file.metadata().map(|m| m.len()).unwrap_or(read_total),
                    }));
                    return;
                }
            }
            let bytes = pool.freeze(buffer, filled);
            if filled > 0 && out.blocking_send(Ok(bytes)).is_err() {
                return;
            }
            if filled < chunk {
                return;
            }
        }
    });
}

/// Hashes every chunk it receives, forwarding each to `forward` once hashed, and returns the
/// digest at the end of the stream, or the first error the stream carried. A `forward` receiver
/// that goes away ends it with [`TransferError::Cancelled`].
pub(crate) fn spawn_hasher(
    mut input: mpsc::Receiver<Result<Bytes, TransferError>>,
    forward: Option<mpsc::Sender<Bytes>>,
) -> JoinHandle<Result<FileDigest, TransferError>> {
    tokio::task::spawn_blocking(move || {
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) = input.blocking_recv() {
            let chunk = chunk?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if let Some(forward) = &forward {
                forward
                    .blocking_send(chunk)
                    .map_err(|_| TransferError::Cancelled)?;
            }
        }
        Ok(FileDigest {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    })
}

/// Waits for a hasher, turning a dead thread into an error.
pub(crate) async fn join_hasher(
    hasher: JoinHandle<Result<FileDigest, TransferError>>,
) -> Result<FileDigest, TransferError> {
    hasher
        .await
        .map_err(|e| TransferError::Worker(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn matches_known_digests() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(
            hash_file(&empty).await.unwrap(),
            FileDigest {
                size: 0,
                sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
            }
        );
        // Longer than one read, and not a multiple of it.
        let big = dir.path().join("big");
        let bytes: Vec<u8> = (0..(3 * HASH_READ_CHUNK + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&big, &bytes).unwrap();
        let digest = hash_file(&big).await.unwrap();
        assert_eq!(digest.size, bytes.len() as u64);
        assert_eq!(digest.sha256, hex::encode(Sha256::digest(&bytes)));
    }

    #[tokio::test]
    async fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        match hash_file(&gone).await {
            Err(TransferError::FileVanished { path }) => assert_eq!(path, gone),
            other => panic!("expected FileVanished, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_file_longer_than_listed_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grown");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let file = open(path.clone()).await.unwrap();
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        spawn_reader(file, path.clone(), Some(600), BufferPool::new(256), tx);
        match join_hasher(spawn_hasher(rx, None)).await {
            Err(TransferError::FileChanged {
                expected: 600,
                actual: 1000,
                ..
            }) => {}
            other => panic!("expected FileChanged, got {other:?}"),
        }
    }
}
