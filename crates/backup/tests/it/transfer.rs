//! Uploads and downloads against `LocalFileSystem` and `InMemory` stores, and against a
//! wrapper that fails, delays and counts calls of a real store.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backup::transfer::{
    download, hash_file, upload, BackoffStrategy, DownloadFile, DownloadOutcome, RefreshObject,
    RetryPolicy, TransferError, TransferOptions, UploadFile, UploadOutcome, UploadedFile,
};

use futures::stream::BoxStream;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectKey;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

const KIB: usize = 1024;

/// Small parts and chunks so that a few hundred KiB exercise multipart uploads.
fn small_parts() -> TransferOptions {
    TransferOptions {
        part_size: 64 * KIB,
        memory_budget: 256 * KIB,
        read_chunk: 16 * KIB,
        ..TransferOptions::default()
    }
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        enabled: true,
        strategy: BackoffStrategy::Exponential,
        interval: Duration::from_millis(5),
        max_attempts,
    }
}

/// Bytes that differ from file to file (a simple LCG, seeded).
fn content(seed: u64, size: usize) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..size)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct Fixture {
    _dir: tempfile::TempDir,
    source: PathBuf,
    bucket: PathBuf,
    restore: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source");
        let bucket = dir.path().join("bucket");
        let restore = dir.path().join("restore");
        for d in [&source, &bucket, &restore] {
            std::fs::create_dir_all(d).unwrap();
        }
        Fixture {
            _dir: dir,
            source,
            bucket,
            restore,
        }
    }

    fn local_store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(LocalFileSystem::new_with_prefix(&self.bucket).unwrap())
    }

    /// Writes files of the given sizes and returns what to upload, with their bytes.
    fn files(&self, sizes: &[usize]) -> Vec<(UploadFile, Vec<u8>)> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let bytes = content(i as u64 + 1, size);
                let path = self.source.join(format!("nb-{i}-big-Data.db"));
                std::fs::write(&path, &bytes).unwrap();
                let file = UploadFile {
                    path,
                    key: ObjectKey::from(format!("data/ks/t-0123/{i}-42/nb-{i}-big-Data.db")),
                    size: size as u64,
                };
                (file, bytes)
            })
            .collect()
    }

    fn downloads(&self, uploaded: &[UploadedFile]) -> Vec<DownloadFile> {
        uploaded
            .iter()
            .map(|u| DownloadFile {
                key: u.key.clone(),
                destination: self.restore.join("ks").join(u.key.filename().unwrap()),
                sha256: Some(u.sha256.clone()),
                size: u.size,
            })
            .collect()
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

async fn objects(store: &dyn ObjectStore) -> Vec<ObjectMeta> {
    store.list(None).try_collect().await.unwrap()
}

const SIZES: &[usize] = &[0, 1, 1000, 64 * KIB, 64 * KIB + 1, 300 * KIB + 7];

async fn round_trip(store: Arc<dyn ObjectStore>, fixture: &Fixture) {
    let files = fixture.files(SIZES);
    let cancel = CancellationToken::new();
    let uploaded = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &small_parts(),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(uploaded.len(), files.len());
    for ((file, bytes), result) in files.iter().zip(&uploaded) {
        assert_eq!(result.key, file.key);
        assert_eq!(result.size, bytes.len() as u64);
        assert_eq!(result.sha256, sha256_hex(bytes));
        assert_eq!(result.outcome, UploadOutcome::Uploaded);
        let stored = store.get(&file.key).await.unwrap().bytes().await.unwrap();
        assert_eq!(stored.as_ref(), bytes.as_slice(), "object {}", file.key);
    }

    let downloaded = download(store, fixture.downloads(&uploaded), &small_parts(), &cancel)
        .await
        .unwrap();
    for ((_, bytes), result) in files.iter().zip(&downloaded) {
        assert_eq!(result.outcome, DownloadOutcome::Downloaded);
        assert_eq!(std::fs::read(&result.destination).unwrap(), *bytes);
    }
    // Nothing but the destinations: no temporary files left beside them.
    assert_eq!(files_under(&fixture.restore).len(), files.len());
}

#[tokio::test]
async fn round_trip_through_a_local_file_system() {
    let fixture = Fixture::new();
    round_trip(fixture.local_store(), &fixture).await;
    // Nothing but the objects in the bucket directory: no staging files of multipart uploads.
    assert_eq!(files_under(&fixture.bucket).len(), SIZES.len());
}

#[tokio::test]
async fn round_trip_through_memory() {
    let fixture = Fixture::new();
    round_trip(Arc::new(InMemory::new()), &fixture).await;
}

#[tokio::test]
async fn hashing_a_file_matches_sha256() {
    let fixture = Fixture::new();
    for (file, bytes) in fixture.files(&[0, 5, 3 * 1024 * KIB + 3]) {
        let digest = hash_file(&file.path).await.unwrap();
        assert_eq!(digest.size, bytes.len() as u64);
        assert_eq!(digest.sha256, sha256_hex(&bytes));
    }
}

#[tokio::test]
async fn files_of_one_directory_share_one_listing() {
    let fixture = Fixture::new();
    let store = Faulty::new(Arc::new(InMemory::new()));
    let mut list: Vec<UploadFile> = fixture
        .files(&[10, 20, 30, 40])
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    for file in &mut list {
        let name = file.key.filename().unwrap().to_string();
        file.key = ObjectKey::from(format!("data/ks/t-0123/1-42/{name}"));
    }
    // One of them is there already: only it is skipped.
    store
        .put(&list[2].key, PutPayload::from_static(b"old"))
        .await
        .unwrap();
    let options = TransferOptions {
        concurrency: 4,
        ..small_parts()
    };
    let uploaded = upload(store.clone(), list, &options, &CancellationToken::new())
        .await
        .unwrap();
    let outcomes: Vec<UploadOutcome> = uploaded.iter().map(|u| u.outcome).collect();
    assert_eq!(
        outcomes,
        [
            UploadOutcome::Uploaded,
            UploadOutcome::Uploaded,
            UploadOutcome::AlreadyPresent,
            UploadOutcome::Uploaded
        ]
    );
    assert_eq!(store.count("list"), 1);
    assert_eq!(store.count("head"), 0);
    assert_eq!(store.count("put"), 1 + 3);
}

#[tokio::test]
async fn an_existing_key_is_not_uploaded_again() {
    let fixture = Fixture::new();
    let store = Faulty::new(Arc::new(InMemory::new()));
    let files = fixture.files(&[10, 200 * KIB]);
    let list: Vec<UploadFile> = files.iter().map(|(f, _)| f.clone()).collect();
    let cancel = CancellationToken::new();
    upload(store.clone(), list.clone(), &small_parts(), &cancel)
        .await
        .unwrap();
    let sent = store.count("put") + store.count("put_part");
    assert!(sent > 0);

    // The same keys again, even with other bytes behind them (keys name content in Esop's
    // layout): nothing is sent, and the hashes are those of the local files.
    std::fs::write(&files[0].0.path, b"0123456789").unwrap();
    let again = upload(store.clone(), list, &small_parts(), &cancel)
        .await
        .unwrap();
    assert!(again
        .iter()
        .all(|u| u.outcome == UploadOutcome::AlreadyPresent));
    assert_eq!(store.count("put") + store.count("put_part"), sent);
    // What exists is learnt by listing each key's directory (two here, per upload), never by
    // a request per file.
    assert_eq!(store.count("list"), 4);
    assert_eq!(store.count("head"), 0);
    assert_eq!(again[0].sha256, sha256_hex(b"0123456789"));
    assert_eq!(again[1].sha256, sha256_hex(&files[1].1));
    let stored = store
        .get(&files[0].0.key)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), files[0].1.as_slice());
}

/// A refresh that fails: refused, as by a store that does not allow the copy, or finding the
/// object gone, as when a removal of another backup deleted it after the upload listed it
/// (`delete_first` deletes it there first).
struct FailingRefresh {
    delete_first: Option<Arc<dyn ObjectStore>>,
}

impl RefreshObject for FailingRefresh {
    fn refresh<'a>(
        &'a self,
        key: &'a ObjectKey,
        _size: u64,
    ) -> futures::future::BoxFuture<'a, Result<(), object_store::Error>> {
        Box::pin(async move {
            match &self.delete_first {
                Some(store) => {
                    store.delete(key).await?;
                    Err(object_store::Error::NotFound {
                        path: key.to_string(),
                        source: "deleted since the listing".into(),
                    })
                }
                None => Err(object_store::Error::PermissionDenied {
                    path: key.to_string(),
                    source: "copy refused".into(),
                }),
            }
        })
    }
}

/// Two files of which the first is already stored, uploaded with `refresh`: the store, the
/// files (with their bytes) and the outcome.
async fn upload_with_one_stored(
    fixture: &Fixture,
    refresh: impl Fn(Arc<dyn ObjectStore>) -> FailingRefresh,
) -> (
    Arc<dyn ObjectStore>,
    Vec<(UploadFile, Vec<u8>)>,
    Result<Vec<UploadedFile>, TransferError>,
) {
    let store = fixture.local_store();
    let files = fixture.files(&[10, 20]);
    let list: Vec<UploadFile> = files.iter().map(|(f, _)| f.clone()).collect();
    let cancel = CancellationToken::new();
    upload(store.clone(), list[..1].to_vec(), &small_parts(), &cancel)
        .await
        .unwrap();
    let options = TransferOptions {
        refresh: Some(Arc::new(refresh(store.clone()))),
        ..small_parts()
    };
    let outcome = upload(store.clone(), list, &options, &cancel).await;
    (store, files, outcome)
}

#[tokio::test]
async fn a_refresh_that_fails_fails_the_upload_naming_the_object() {
    let fixture = Fixture::new();
    let (_, files, outcome) =
        upload_with_one_stored(&fixture, |_| FailingRefresh { delete_first: None }).await;
    let error = outcome.unwrap_err();
    match &error {
        TransferError::Store { key, operation, .. } => {
            assert_eq!(key, files[0].0.key.as_ref());
            assert_eq!(*operation, "refresh");
        }
        other => panic!("expected a store error, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains(files[0].0.key.as_ref()) && text.contains("copy refused"),
        "{text}"
    );
    assert!(
        !error.is_retryable(),
        "a refused refresh does not heal by retrying"
    );
}

#[tokio::test]
async fn an_object_gone_before_its_refresh_is_uploaded_again() {
    let fixture = Fixture::new();
    let (store, files, outcome) = upload_with_one_stored(&fixture, |store| FailingRefresh {
        delete_first: Some(store),
    })
    .await;
    let uploaded = outcome.unwrap();
    let first = uploaded.iter().find(|u| u.key == files[0].0.key).unwrap();
    assert_eq!(first.outcome, UploadOutcome::Uploaded);
    let stored = store
        .get(&files[0].0.key)
        .await
        .expect("the object is stored again")
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), files[0].1.as_slice());
}

#[tokio::test]
async fn a_zero_size_file_uploads_and_downloads() {
    let fixture = Fixture::new();
    let store = fixture.local_store();
    let files = fixture.files(&[0]);
    let cancel = CancellationToken::new();
    let uploaded = upload(
        store.clone(),
        vec![files[0].0.clone()],
        &TransferOptions::default(),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(uploaded[0].size, 0);
    assert_eq!(uploaded[0].sha256, sha256_hex(b""));
    assert_eq!(store.head(&files[0].0.key).await.unwrap().size, 0);
    let downloaded = download(
        store,
        fixture.downloads(&uploaded),
        &TransferOptions::default(),
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::metadata(&downloaded[0].destination).unwrap().len(),
        0
    );
}

#[tokio::test]
async fn a_vanished_file_is_named_and_nothing_is_stored() {
    let fixture = Fixture::new();
    let store = fixture.local_store();
    let files = fixture.files(&[100, 200 * KIB]);
    std::fs::remove_file(&files[1].0.path).unwrap();
    let result = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &TransferOptions {
            concurrency: 1,
            ..small_parts()
        },
        &CancellationToken::new(),
    )
    .await;
    match result {
        Err(TransferError::FileVanished { path }) => assert_eq!(path, files[1].0.path),
        other => panic!("expected FileVanished, got {other:?}"),
    }
    assert!(store.head(&files[1].0.key).await.is_err());
}

#[tokio::test]
async fn a_file_of_another_size_than_listed_is_refused() {
    let fixture = Fixture::new();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for (listed, actual) in [(50u64, 100usize), (300 * KIB as u64, 200 * KIB)] {
        let (mut file, _) = fixture.files(&[actual]).remove(0);
        file.size = listed;
        match upload(
            store.clone(),
            vec![file.clone()],
            &small_parts(),
            &CancellationToken::new(),
        )
        .await
        {
            Err(TransferError::FileChanged {
                path,
                expected,
                actual: found,
            }) => {
                assert_eq!(path, file.path);
                assert_eq!(expected, listed);
                assert_eq!(found, actual as u64);
            }
            other => panic!("expected FileChanged, got {other:?}"),
        }
        assert!(objects(store.as_ref()).await.is_empty());
    }
}

#[tokio::test]
async fn a_hash_mismatch_names_the_object_and_leaves_no_file() {
    let fixture = Fixture::new();
    let store = fixture.local_store();
    for size in [10, 200 * KIB] {
        let key = ObjectKey::from(format!("data/ks/t/1-1/damaged-{size}"));
        let bytes = content(9, size);
        store
            .put(&key, PutPayload::from(bytes.clone()))
            .await
            .unwrap();
        let claimed = sha256_hex(b"what the manifest says");
        let destination = fixture.restore.join(format!("damaged-{size}"));
        let result = download(
            store.clone(),
            vec![DownloadFile {
                key: key.clone(),
                destination: destination.clone(),
                sha256: Some(claimed.to_uppercase()),
                size: size as u64,
            }],
            &small_parts(),
            &CancellationToken::new(),
        )
        .await;
        match result {
            Err(TransferError::HashMismatch {
                key: named,
                expected,
                actual,
            }) => {
                assert_eq!(named, key.to_string());
                assert_eq!(expected, claimed);
                assert_eq!(actual, sha256_hex(&bytes));
            }
            other => panic!("expected HashMismatch, got {other:?}"),
        }
        assert!(
            files_under(&fixture.restore).is_empty(),
            "{:?}",
            files_under(&fixture.restore)
        );
    }
}

#[tokio::test]
async fn a_wrong_object_size_is_refused() {
    let fixture = Fixture::new();
    let store = fixture.local_store();
    let key = ObjectKey::from("data/short");
    store
        .put(&key, PutPayload::from(vec![1u8; 10]))
        .await
        .unwrap();
    let result = download(
        store,
        vec![DownloadFile {
            key,
            destination: fixture.restore.join("short"),
            sha256: Some(sha256_hex(&[1u8; 10])),
            size: 11,
        }],
        &TransferOptions::default(),
        &CancellationToken::new(),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(TransferError::ObjectSize {
                expected: 11,
                actual: 10,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(files_under(&fixture.restore).is_empty());
}

#[tokio::test]
async fn a_resumed_download_fetches_only_what_is_missing_or_wrong() {
    let fixture = Fixture::new();
    let store = Faulty::new(fixture.local_store());
    let files = fixture.files(&[100, 200 * KIB, 70 * KIB, 0]);
    let cancel = CancellationToken::new();
    let uploaded = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &small_parts(),
        &cancel,
    )
    .await
    .unwrap();
    let wanted = fixture.downloads(&uploaded);
    download(store.clone(), wanted.clone(), &small_parts(), &cancel)
        .await
        .unwrap();
    let fetched = store.count("get");
    assert_eq!(fetched, 4);

    std::fs::remove_file(&wanted[1].destination).unwrap();
    let mut damaged = std::fs::read(&wanted[2].destination).unwrap();
    damaged[5] ^= 1;
    std::fs::write(&wanted[2].destination, damaged).unwrap();

    let resumed = download(store.clone(), wanted.clone(), &small_parts(), &cancel)
        .await
        .unwrap();
    let outcomes: Vec<_> = resumed.iter().map(|d| d.outcome).collect();
    assert_eq!(
        outcomes,
        [
            DownloadOutcome::AlreadyPresent,
            DownloadOutcome::Downloaded,
            DownloadOutcome::Downloaded,
            DownloadOutcome::AlreadyPresent
        ]
    );
    assert_eq!(store.count("get"), fetched + 2);
    for ((_, bytes), d) in files.iter().zip(&wanted) {
        assert_eq!(std::fs::read(&d.destination).unwrap(), *bytes);
    }
}

/// Large files under a slow throttle, cancelled half a second in.
async fn cancel_upload_midway(store: Arc<dyn ObjectStore>, fixture: &Fixture) {
    let files = fixture.files(&[3 * 1024 * KIB, 3 * 1024 * KIB, 2 * 1024 * KIB]);
    let cancel = CancellationToken::new();
    let options = TransferOptions {
        bandwidth: Some(1_000_000),
        ..small_parts()
    };
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        canceller.cancel();
    });
    let started = Instant::now();
    let result = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &options,
        &cancel,
    )
    .await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(TransferError::Cancelled)),
        "{result:?}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "cancellation took {took:?}"
    );
    assert!(objects(store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn cancelling_an_upload_stops_within_a_second_and_leaves_no_object() {
    let fixture = Fixture::new();
    cancel_upload_midway(fixture.local_store(), &fixture).await;
    // No staging file of an aborted multipart upload either.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        files_under(&fixture.bucket).is_empty(),
        "{:?}",
        files_under(&fixture.bucket)
    );

    let fixture = Fixture::new();
    let memory = Faulty::new(Arc::new(InMemory::new()));
    cancel_upload_midway(memory.clone(), &fixture).await;
    assert!(
        memory.count("abort") > 0,
        "multipart uploads were not aborted"
    );
}

#[tokio::test]
async fn cancelling_a_download_stops_within_a_second_and_leaves_no_file() {
    let fixture = Fixture::new();
    let store = fixture.local_store();
    let files = fixture.files(&[3 * 1024 * KIB, 2 * 1024 * KIB]);
    let cancel = CancellationToken::new();
    let uploaded = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &small_parts(),
        &cancel,
    )
    .await
    .unwrap();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        canceller.cancel();
    });
    let options = TransferOptions {
        bandwidth: Some(1_000_000),
        ..small_parts()
    };
    let started = Instant::now();
    let result = download(store, fixture.downloads(&uploaded), &options, &cancel).await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(TransferError::Cancelled)),
        "{result:?}"
    );
    assert!(
        took < Duration::from_millis(1500),
        "cancellation took {took:?}"
    );
    assert!(
        files_under(&fixture.restore).is_empty(),
        "{:?}",
        files_under(&fixture.restore)
    );
}

#[tokio::test]
async fn store_failures_are_retried_when_retry_is_enabled() {
    for operation in ["put", "put_part", "create_multipart", "list", "complete"] {
        let fixture = Fixture::new();
        let store = Faulty::new(fixture.local_store());
        store.fail(operation, 2, server_error);
        let files = fixture.files(&[100, 200 * KIB]);
        let options = TransferOptions {
            retry: fast_retry(3),
            concurrency: 1,
            ..small_parts()
        };
        let uploaded = upload(
            store.clone(),
            files.iter().map(|(f, _)| f.clone()).collect(),
            &options,
            &CancellationToken::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"));
        assert_eq!(store.failures_left(), 0, "{operation}");
        for ((_, bytes), u) in files.iter().zip(&uploaded) {
            let stored = store.get(&u.key).await.unwrap().bytes().await.unwrap();
            assert_eq!(stored.as_ref(), bytes.as_slice(), "{operation}");
        }
        assert_eq!(
            files_under(&fixture.bucket).len(),
            2,
            "{operation}: {:?}",
            files_under(&fixture.bucket)
        );
    }

    let fixture = Fixture::new();
    let store = Faulty::new(fixture.local_store());
    let files = fixture.files(&[200 * KIB]);
    let cancel = CancellationToken::new();
    let uploaded = upload(
        store.clone(),
        vec![files[0].0.clone()],
        &small_parts(),
        &cancel,
    )
    .await
    .unwrap();
    store.fail("get", 2, server_error);
    let options = TransferOptions {
        retry: fast_retry(3),
        ..small_parts()
    };
    download(
        store.clone(),
        fixture.downloads(&uploaded),
        &options,
        &cancel,
    )
    .await
    .unwrap();
    assert_eq!(store.count("get"), 3);
}

#[tokio::test]
async fn retries_stop_at_max_attempts_and_skip_errors_that_cannot_heal() {
    let fixture = Fixture::new();
    let files = fixture.files(&[100]);
    let list = vec![files[0].0.clone()];

    // Disabled: one attempt.
    let store = Faulty::new(fixture.local_store());
    store.fail("put", 5, server_error);
    let result = upload(
        store.clone(),
        list.clone(),
        &small_parts(),
        &CancellationToken::new(),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(TransferError::Store {
                operation: "PUT",
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(store.count("put"), 1);

    // Enabled with 3 attempts against 5 failures.
    let store = Faulty::new(fixture.local_store());
    store.fail("put", 5, server_error);
    let options = TransferOptions {
        retry: fast_retry(3),
        ..small_parts()
    };
    let result = upload(
        store.clone(),
        list.clone(),
        &options,
        &CancellationToken::new(),
    )
    .await;
    match result {
        Err(error @ TransferError::Store { .. }) => {
            assert!(error.to_string().contains(files[0].0.key.as_ref()))
        }
        other => panic!("expected a store error, got {other:?}"),
    }
    assert_eq!(store.count("put"), 3);

    // Refused credentials do not heal by waiting.
    let store = Faulty::new(fixture.local_store());
    store.fail("put", 1, |path| object_store::Error::PermissionDenied {
        path: path.into(),
        source: "403 Forbidden".into(),
    });
    let result = upload(store.clone(), list, &options, &CancellationToken::new()).await;
    assert!(
        matches!(result, Err(TransferError::Store { .. })),
        "{result:?}"
    );
    assert_eq!(store.count("put"), 1);
}

#[tokio::test]
async fn the_throttle_holds_the_bandwidth() {
    let fixture = Fixture::new();
    let store = fixture.local_store();
    let files = fixture.files(&[1024 * KIB, 1024 * KIB, 1024 * KIB]);
    let options = TransferOptions {
        bandwidth: Some(1_000_000),
        ..small_parts()
    };
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let uploaded = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &options,
        &cancel,
    )
    .await
    .unwrap();
    // 3 MiB at 1 MB/s, a quarter second of burst at most.
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(2), "upload took {took:?}");

    let started = Instant::now();
    download(store, fixture.downloads(&uploaded), &options, &cancel)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(2), "download took {took:?}");
}

#[tokio::test]
async fn progress_only_grows_and_ends_at_the_total() {
    let fixture = Fixture::new();
    let store = Faulty::new(fixture.local_store());
    // A part failing once makes a file start again: progress must not count it twice.
    store.fail("put_part", 1, server_error);
    let files = fixture.files(&[0, 100, 200 * KIB, 500 * KIB]);
    let total: u64 = files.iter().map(|(f, _)| f.size).sum();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = TransferOptions {
        retry: fast_retry(2),
        ..small_parts()
    }
    .with_progress(move |done, all| sink.lock().unwrap().push((done, all)));
    let cancel = CancellationToken::new();
    let uploaded = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &options,
        &cancel,
    )
    .await
    .unwrap();
    let check = |reports: &[(u64, u64)]| {
        assert!(reports.len() > 3, "{reports:?}");
        assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0), "{reports:?}");
        assert!(reports.iter().all(|&(_, all)| all == total));
        assert_eq!(reports.last().unwrap().0, total);
    };
    check(&seen.lock().unwrap());

    seen.lock().unwrap().clear();
    download(store, fixture.downloads(&uploaded), &options, &cancel)
        .await
        .unwrap();
    check(&seen.lock().unwrap());
}

#[tokio::test]
async fn no_more_files_than_concurrent_connections_are_in_flight() {
    let fixture = Fixture::new();
    let store = Faulty::new(Arc::new(InMemory::new()));
    store.delay(Duration::from_millis(30));
    let files = fixture.files(&[10; 12]);
    let options = TransferOptions {
        concurrency: 3,
        ..small_parts()
    };
    upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(store.max_in_flight(), 3);
}

#[tokio::test]
async fn a_file_needing_more_than_ten_thousand_parts_gets_larger_parts() {
    let fixture = Fixture::new();
    let store = Faulty::new(Arc::new(InMemory::new()));
    let files = fixture.files(&[25_000]);
    let options = TransferOptions {
        part_size: 1,
        memory_budget: 64,
        read_chunk: 1024,
        ..TransferOptions::default()
    };
    let uploaded = upload(
        store.clone(),
        vec![files[0].0.clone()],
        &options,
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    // 25 000 bytes in at most 10 000 parts: parts of 3 bytes.
    assert_eq!(store.count("put_part"), 8_334);
    assert_eq!(uploaded[0].sha256, sha256_hex(&files[0].1));
    let stored = store
        .get(&files[0].0.key)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), files[0].1.as_slice());
}

#[tokio::test]
async fn a_batch_past_its_duration_fails_and_leaves_no_object() {
    let fixture = Fixture::new();
    let store = Faulty::new(Arc::new(InMemory::new()));
    store.delay(Duration::from_secs(5));
    let files = fixture.files(&[10, 200 * KIB]);
    let options = TransferOptions {
        duration: Some(Duration::from_millis(300)),
        ..small_parts()
    };
    let started = Instant::now();
    let result = upload(
        store.clone(),
        files.iter().map(|(f, _)| f.clone()).collect(),
        &options,
        &CancellationToken::new(),
    )
    .await;
    assert!(
        matches!(result, Err(TransferError::DeadlineExceeded(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(objects(store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let fixture = Fixture::new();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let cancel = CancellationToken::new();
    let options = TransferOptions {
        concurrency: 0,
        ..TransferOptions::default()
    };
    let result = upload(store.clone(), vec![], &options, &cancel).await;
    assert!(matches!(
        result,
        Err(TransferError::InvalidOption {
            field: "concurrentConnections",
            ..
        })
    ));

    let result = download(
        store,
        vec![DownloadFile {
            key: ObjectKey::from("a"),
            destination: fixture.restore.join("a"),
            sha256: Some("not-a-hash".into()),
            size: 1,
        }],
        &TransferOptions::default(),
        &cancel,
    )
    .await;
    match result {
        Err(TransferError::InvalidHash { key, value }) => {
            assert_eq!(key, "a");
            assert_eq!(value, "not-a-hash");
        }
        other => panic!("expected InvalidHash, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A store wrapper that fails the first calls of an operation, delays writes and counts calls.

fn server_error(path: &str) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: format!("503 Service Unavailable for {path}").into(),
    }
}

type MakeError = fn(&str) -> object_store::Error;

#[derive(Debug, Default)]
struct Shared {
    counts: Mutex<HashMap<&'static str, u32>>,
    failing: Mutex<Option<(&'static str, MakeError)>>,
    failures: AtomicU32,
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Shared {
    /// Counts a call of `operation` and fails it while failures remain.
    fn call(&self, operation: &'static str, path: &str) -> object_store::Result<()> {
        *self.counts.lock().unwrap().entry(operation).or_default() += 1;
        if let Some((failing, make)) = *self.failing.lock().unwrap() {
            if failing == operation
                && self
                    .failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                return Err(make(path));
            }
        }
        Ok(())
    }

    async fn slow_write(&self) {
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

struct Faulty {
    inner: Arc<dyn ObjectStore>,
    shared: Arc<Shared>,
}

impl Faulty {
    fn new(inner: Arc<dyn ObjectStore>) -> Arc<Self> {
        Arc::new(Faulty {
            inner,
            shared: Arc::default(),
        })
    }

    fn fail(&self, operation: &'static str, times: u32, make: MakeError) {
        *self.shared.failing.lock().unwrap() = Some((operation, make));
        self.shared.failures.store(times, Ordering::SeqCst);
    }

    fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    fn count(&self, operation: &str) -> u32 {
        self.shared
            .counts
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    fn failures_left(&self) -> u32 {
        self.shared.failures.load(Ordering::SeqCst)
    }

    fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl fmt::Debug for Faulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

impl fmt::Display for Faulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Faulty({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Faulty {
    async fn put_opts(
        &self,
        location: &ObjectKey,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.shared.call("put", location.as_ref())?;
        let now = self.shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.shared.slow_write().await;
        let result = self.inner.put_opts(location, payload, opts).await;
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectKey,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.shared.call("create_multipart", location.as_ref())?;
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FaultyUpload {
            inner,
            shared: self.shared.clone(),
            path: location.to_string(),
        }))
    }

    async fn get_opts(
        &self,
        location: &ObjectKey,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.shared
            .call(if options.head { "head" } else { "get" }, location.as_ref())?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectKey>>,
    ) -> BoxStream<'static, object_store::Result<ObjectKey>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&ObjectKey>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectKey>,
    ) -> object_store::Result<ListResult> {
        self.shared
            .call("list", prefix.map(|p| p.as_ref()).unwrap_or_default())?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectKey,
        to: &ObjectKey,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct FaultyUpload {
    inner: Box<dyn MultipartUpload>,
    shared: Arc<Shared>,
    path: String,
}

#[async_trait]
impl MultipartUpload for FaultyUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let failed = self.shared.call("put_part", &self.path);
        let shared = self.shared.clone();
        let sending = self.inner.put_part(data);
        Box::pin(async move {
            failed?;
            shared.slow_write().await;
            sending.await
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.shared.call("complete", &self.path)?;
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        *self
            .shared
            .counts
            .lock()
            .unwrap()
            .entry("abort")
            .or_default() += 1;
        self.inner.abort().await
    }
}
