//! Continuous commit-log archiving (`--commitlog-archive DIR` with
//! `--commitlog-archive-location`): a background task that uploads every commit-log segment
//! Cassandra's `archive_command` hard-links into DIR to the node's backup location, in Esop's
//! layout (`<cluster>/<dc>/<node>/commitlog/<segment file name>.<last-modified millis>`, so Esop
//! and Daedalus read each other's), confirms it there, and only then removes the link. What is
//! left in DIR while the sidecar is down is uploaded when it comes back: DIR itself is the queue.
//!
//! Owns DIR's segment files (reading them, and removing those confirmed uploaded), the
//! start-up checks of the two settings, the retry loop and the archiving metrics' figures. It
//! must not touch operations, the journal or any other directory of the node; keys are
//! `backup::commitlog`'s, uploading is `backup::transfer`'s, opening the store and reading the
//! node's facts are `operations::backup_storage`'s (so credentials and confinement work as for
//! the backup operations).
//!
//! DIR is scanned at start and then every [`SCAN_INTERVAL`], rather than watched with inotify:
//! a segment closes every few seconds at the most, one listing of a near-empty directory a
//! second costs nothing, a watcher would still need the full scan at start and after a queue
//! overflow, and it sees nothing on some network file systems. The recovery point lag is
//! dominated by how long a segment stays open, not by a second of polling.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backup::commitlog::{is_segment_name, segment_key};
use backup::confine;
use backup::location::{LocationError, NodePath, Provider, StorageLocation};
use backup::request::CommonStorageFields;
use backup::store::{Storage, StoreError};
use backup::transfer::{self, BackoffStrategy, RetryPolicy, TransferError, TransferOptions};
use backup::transfer::{UploadFile, UploadedFile};
use object_store::path::Path as ObjectKey;
use object_store::ObjectStoreExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::node::NodeHandle;
use crate::operations::backup_storage::{self, ClientRetry};
use crate::operations::OperationSettings;

/// How often DIR is looked at when it was empty or everything in it was uploaded.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait between two attempts after failures in a row.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Segments uploaded in one batch: one listing of the store's commit-log directory serves
/// them all, and the oldest are removed locally without waiting for a long backlog.
const BATCH: usize = 16;
/// Segments sent at once within a batch (they start oldest first).
const CONCURRENCY: usize = 4;

/// The two settings, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSettings {
    /// Where Cassandra's `archive_command` links closed segments.
    pub dir: PathBuf,
    /// Where they go; a bucket-only cloud location is completed with the node's facts.
    pub location: StorageLocation,
}

/// Why archiving cannot be configured or started; each says which setting to change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    #[error("--commitlog-archive needs --commitlog-archive-location (config key `commitlog-archive-location`, variable DAEDALUS_COMMITLOG_ARCHIVE_LOCATION): where to upload the segments")]
    MissingLocation,
    #[error("--commitlog-archive-location is given without --commitlog-archive (config key `commitlog-archive`, variable DAEDALUS_COMMITLOG_ARCHIVE): the directory Cassandra's archive_command links segments into")]
    MissingDir,
    #[error("--commitlog-archive {} must be an absolute path", .0.display())]
    RelativeDir(PathBuf),
    #[error("{0}")]
    Location(#[from] LocationError),
    #[error("--commitlog-archive {}: {reason}", dir.display())]
    Dir { dir: PathBuf, reason: String },
    #[error("--commitlog-archive-location {location}: its bucket directory {} resolves outside every allowed root ({roots}): archive into a directory inside one, or allow it with --allowed-root (config key `allowed-root`, variable DAEDALUS_ALLOWED_ROOT)", bucket.display())]
    OutsideRoots {
        location: String,
        bucket: PathBuf,
        roots: String,
    },
}

impl ArchiveError {
    /// The setting (config key) to change.
    pub fn setting(&self) -> &'static str {
        match self {
            ArchiveError::MissingDir | ArchiveError::RelativeDir(_) | ArchiveError::Dir { .. } => {
                "commitlog-archive"
            }
            _ => "commitlog-archive-location",
        }
    }
}

impl ArchiveSettings {
    /// The settings from the two flags: both or neither; `None` when archiving is off.
    pub fn from_flags(
        dir: Option<PathBuf>,
        location: Option<String>,
    ) -> Result<Option<ArchiveSettings>, ArchiveError> {
        let location = location.filter(|l| !l.trim().is_empty());
        match (dir, location) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(ArchiveError::MissingLocation),
            (None, Some(_)) => Err(ArchiveError::MissingDir),
            (Some(dir), Some(location)) => {
                if !dir.is_absolute() {
                    return Err(ArchiveError::RelativeDir(dir));
                }
                let location = StorageLocation::parse(&location)?;
                Ok(Some(ArchiveSettings { dir, location }))
            }
        }
    }

    /// What must hold before the sidecar serves: DIR is a directory, and a `file://` bucket
    /// resolves inside the allowed roots (when there are any, as for every request's
    /// location). Later failures are retried instead: the store may come and go.
    pub fn check(&self, allowed_roots: &[PathBuf]) -> Result<(), ArchiveError> {
        match std::fs::metadata(&self.dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(ArchiveError::Dir {
                    dir: self.dir.clone(),
                    reason: "is not a directory".into(),
                })
            }
            Err(e) => {
                return Err(ArchiveError::Dir {
                    dir: self.dir.clone(),
                    reason: format!(
                        "{e}: create it on the file system of the commit log (Cassandra's \
                         archive_command hard-links segments into it)"
                    ),
                })
            }
        }
        if let (Provider::File, Some(directory)) =
            (self.location.provider, &self.location.directory)
        {
            let bucket = directory.join(&self.location.bucket);
            if !allowed_roots.is_empty() && !confine::is_inside(&bucket, allowed_roots) {
                return Err(ArchiveError::OutsideRoots {
                    location: self.location.raw.clone(),
                    bucket: confine::resolve(&bucket).unwrap_or(bucket),
                    roots: allowed_roots
                        .iter()
                        .map(|r| r.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }
}

/// The running archiver.
#[derive(Debug)]
pub struct Archiver {
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Archiver {
    /// Checks the settings ([`ArchiveSettings::check`]) and starts archiving. `operations`
    /// gives the secrets directory and the instance metadata switch; `allowed_roots` confine a
    /// `file://` store's objects, checked again at every write.
    pub fn start(
        settings: &ArchiveSettings,
        node: NodeHandle,
        operations: OperationSettings,
        allowed_roots: Vec<PathBuf>,
    ) -> Result<Archiver, ArchiveError> {
        settings.check(&allowed_roots)?;
        let cancel = CancellationToken::new();
        let worker = Worker {
            dir: settings.dir.clone(),
            location: settings.location.clone(),
            node,
            operations,
            allowed_roots,
            store: None,
            cancel: cancel.clone(),
            metrics: crate::metrics::global(),
        };
        let task = tokio::spawn(worker.run());
        Ok(Archiver { cancel, task })
    }

    /// Stops archiving: an upload under way is abandoned (its multipart upload aborted) and its
    /// segment stays in DIR for the next start. Waits at most `within` for the task to end.
    pub async fn stop(self, within: Duration) {
        self.cancel.cancel();
        if tokio::time::timeout(within, self.task).await.is_err() {
            tracing::warn!("commit-log archiving did not stop in time; abandoned");
        }
    }
}

/// One segment in DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    path: PathBuf,
    name: String,
    /// The id of `CommitLog-<version>-<id>.log`: the order within one run of the node.
    id: u64,
    size: u64,
    /// Last write, epoch millis (the file's mtime, as Esop's key has it).
    modified: u64,
}

/// Why one round failed, saying what to fix. The segments stay in DIR whatever it is.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("cannot read the archive directory {}: {source}; the sidecar must be able to read and write it", dir.display())]
    Scan {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the node's cluster name, datacenter and host id over JMX, which complete the bucket-only location {location}: {source}; waiting for the node to answer (or give the full location, bucket/cluster/dc/node)")]
    NodeFacts {
        location: String,
        source: cassandra::NodeError,
    },
    #[error("{0}")]
    Location(#[from] LocationError),
    #[error("--commitlog-archive-location: {0}")]
    Request(backup::request::RequestError),
    #[error("cannot open the archive store: {source}{hint}")]
    Open {
        source: StoreError,
        hint: &'static str,
    },
    #[error("upload failed: {0}; check that the storage is reachable and the credentials may write the bucket")]
    Upload(TransferError),
    #[error("{key} is not confirmed: {detail}; the segment {} is kept and sent again", path.display())]
    NotConfirmed {
        key: ObjectKey,
        path: PathBuf,
        detail: String,
    },
    #[error("{} was confirmed uploaded as {key}, but cannot be removed: {source}; the sidecar needs write permission on the archive directory", path.display())]
    Remove {
        key: ObjectKey,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How a round ended when nothing failed.
enum Round {
    /// DIR holds nothing more to upload now.
    Done,
    /// More segments wait than one batch took: go on at once.
    More,
    Cancelled,
}

struct Worker {
    dir: PathBuf,
    location: StorageLocation,
    node: NodeHandle,
    operations: OperationSettings,
    allowed_roots: Vec<PathBuf>,
    /// Opened on first need and kept; the node's prefix in it.
    store: Option<(Storage, NodePath)>,
    cancel: CancellationToken,
    metrics: &'static Metrics,
}

impl Worker {
    async fn run(mut self) {
        tracing::info!(
            dir = %self.dir.display(),
            location = %self.location,
            "commit-log archiving on"
        );
        let mut failures: u32 = 0;
        loop {
            let wait = match self.round().await {
                Ok(Round::Cancelled) => break,
                Ok(Round::More) => {
                    failures = 0;
                    Duration::ZERO
                }
                Ok(Round::Done) => {
                    failures = 0;
                    SCAN_INTERVAL
                }
                Err(error) => {
                    // Opened again next time: credentials from a mounted secret are read at
                    // opening (a rotated secret then applies), and a file:// bucket is checked
                    // against the roots again.
                    self.store = None;
                    failures = failures.saturating_add(1);
                    self.metrics.commitlog_archive_failed();
                    let wait = backoff(failures);
                    tracing::warn!(
                        %error,
                        retry_in = ?wait,
                        failures_in_a_row = failures,
                        "commit-log archiving failed; the segments stay in the archive directory \
                         and are tried again"
                    );
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.cancel.cancelled() => break,
            }
        }
        tracing::info!("commit-log archiving stopped");
    }

    /// Looks at DIR, uploads the oldest batch, confirms and removes each segment in turn.
    async fn round(&mut self) -> Result<Round, RoundError> {
        let segments = scan(&self.dir).await.map_err(|source| RoundError::Scan {
            dir: self.dir.clone(),
            source,
        })?;
        self.report_waiting(&segments);
        if segments.is_empty() {
            return Ok(Round::Done);
        }
        let (storage, node) = match self.store().await? {
            Some(opened) => opened,
            None => return Ok(Round::Cancelled),
        };
        let batch = &segments[..segments.len().min(BATCH)];
        let files: Vec<UploadFile> = batch
            .iter()
            .map(|s| UploadFile {
                path: s.path.clone(),
                key: storage.node_object(&node, &segment_key(&s.name, s.modified)),
                size: s.size,
            })
            .collect();
        let uploaded = match transfer::upload(
            storage.store().clone(),
            files,
            &options(),
            &self.cancel,
        )
        .await
        {
            Ok(uploaded) => uploaded,
            Err(TransferError::Cancelled) => return Ok(Round::Cancelled),
            Err(e) => return Err(RoundError::Upload(e)),
        };
        for (done, (segment, result)) in batch.iter().zip(&uploaded).enumerate() {
            if self.cancel.is_cancelled() {
                return Ok(Round::Cancelled);
            }
            self.confirm_and_remove(&storage, segment, result).await?;
            self.report_waiting(&segments[done + 1..]);
        }
        Ok(if segments.len() > batch.len() {
            Round::More
        } else {
            Round::Done
        })
    }

    /// The upload said it is there; the store must say so too (a HEAD with the right size),
    /// and the local file must still be the one uploaded; only then is the link removed.
    async fn confirm_and_remove(
        &self,
        storage: &Storage,
        segment: &Segment,
        uploaded: &UploadedFile,
    ) -> Result<(), RoundError> {
        let key = &uploaded.key;
        let not_confirmed = |detail: String| RoundError::NotConfirmed {
            key: key.clone(),
            path: segment.path.clone(),
            detail,
        };
        let meta = tokio::select! {
            head = storage.store().head(key) => head,
            _ = self.cancel.cancelled() => return Ok(()),
        };
        match meta {
            Ok(meta) if meta.size == segment.size => {}
            Ok(meta) => {
                return Err(not_confirmed(format!(
                    "the store holds {} bytes there, the segment has {}; remove the object if it \
                     is damaged",
                    meta.size, segment.size
                )))
            }
            Err(e) => return Err(not_confirmed(format!("reading it back failed: {e}"))),
        }
        match stat(&segment.path) {
            Ok(Some((size, modified))) if size == segment.size && modified == segment.modified => {}
            Ok(Some(_)) => {
                return Err(not_confirmed(
                    "the local file changed while it was uploaded (it goes again under its new \
                     time)"
                        .into(),
                ))
            }
            // Gone meanwhile (removed by hand): nothing left to remove.
            Ok(None) => return Ok(()),
            Err(e) => return Err(not_confirmed(format!("cannot look at the local file: {e}"))),
        }
        match tokio::fs::remove_file(&segment.path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(RoundError::Remove {
                    key: key.clone(),
                    path: segment.path.clone(),
                    source,
                })
            }
        }
        self.metrics.commitlog_archived(segment.size);
        tracing::debug!(
            segment = %segment.name,
            %key,
            bytes = segment.size,
            sha256 = %uploaded.sha256,
            outcome = ?uploaded.outcome,
            "commit-log segment archived"
        );
        Ok(())
    }

    /// The store and the node's prefix in it, opened once. `None` when cancelled.
    async fn store(&mut self) -> Result<Option<(Storage, NodePath)>, RoundError> {
        if let Some(opened) = &self.store {
            return Ok(Some(opened.clone()));
        }
        let location = if self.location.is_global() {
            let facts = tokio::select! {
                facts = backup_storage::read_node_facts(&self.node) => facts,
                _ = self.cancel.cancelled() => return Ok(None),
            };
            let facts = facts.map_err(|source| RoundError::NodeFacts {
                location: self.location.raw.clone(),
                source,
            })?;
            self.location.for_node(&facts)?
        } else {
            self.location.clone()
        };
        let Some(node) = location.node.clone() else {
            // for_node always names the node; a location without one cannot be archived to.
            return Err(RoundError::Location(LocationError::FileForm {
                location: location.raw.clone(),
            }));
        };
        let common = CommonStorageFields {
            storage_location: Some(location.raw.clone()),
            ..CommonStorageFields::default()
        };
        let options = backup_storage::store_options(
            &common,
            &self.operations,
            &self.allowed_roots,
            &node.cluster,
            false,
            ClientRetry::Quick,
        )
        .map_err(RoundError::Request)?;
        let opened = tokio::select! {
            opened = Storage::open(&location, &options) => opened,
            _ = self.cancel.cancelled() => return Ok(None),
        };
        let storage = opened.map_err(|source| RoundError::Open {
            hint: open_hint(&source),
            source,
        })?;
        tracing::info!(location = %location, "commit-log archive store open");
        self.store = Some((storage.clone(), node.clone()));
        Ok(Some((storage, node)))
    }

    fn report_waiting(&self, waiting: &[Segment]) {
        let oldest = waiting.iter().map(|s| s.modified).min();
        self.metrics.commitlog_waiting(waiting.len(), oldest);
    }
}

/// What to do about a store that cannot be opened, for the archiver's settings.
fn open_hint(error: &StoreError) -> &'static str {
    match error {
        StoreError::BucketMissing { .. } => {
            " (the archiver never creates buckets: create it, or correct \
             --commitlog-archive-location)"
        }
        other => backup_storage::store_hint(other),
    }
}

/// The transfer options of every batch: whole-file retries inside the batch for passing
/// trouble; longer outages are the worker's backoff, which retries forever.
fn options() -> TransferOptions {
    TransferOptions {
        concurrency: CONCURRENCY,
        retry: RetryPolicy {
            enabled: true,
            strategy: BackoffStrategy::Exponential,
            interval: Duration::from_secs(1),
            max_attempts: 3,
        },
        ..TransferOptions::default()
    }
}

/// The wait after `failures` failed rounds in a row: 1 s, doubling, at most [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << doublings).min(MAX_BACKOFF)
}

/// The segments in `dir`, oldest first (last write, then id). Anything else is left alone:
/// other files, directories, and symbolic links (a symbolic link is not a closed segment's
/// bytes: Cassandra deletes the segment it points to; `archive_command` must hard-link).
async fn scan(dir: &Path) -> std::io::Result<Vec<Segment>> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut segments = Vec::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !is_segment_name(&name) {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue; // removed since the listing
            };
            if !meta.is_file() {
                continue;
            }
            segments.push(Segment {
                id: segment_id(&name),
                size: meta.len(),
                modified: millis(meta.modified()?),
                name,
                path,
            });
        }
        segments.sort_by_key(|s| (s.modified, s.id));
        Ok(segments)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Size and last write (epoch millis) of a file, `None` when it is gone.
fn stat(path: &Path) -> std::io::Result<Option<(u64, u64)>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some((meta.len(), millis(meta.modified()?)))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A file time as epoch millis, truncated as Java's `File.lastModified` (Esop's key) is.
fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `<id>` of `CommitLog-<version>-<id>.log` (0 if the name, already matched, had none).
fn segment_id(name: &str) -> u64 {
    name.trim_end_matches(".log")
        .rsplit('-')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_in_pairs() {
        assert_eq!(ArchiveSettings::from_flags(None, None).unwrap(), None);
        let err = ArchiveSettings::from_flags(Some("/a".into()), None).unwrap_err();
        assert_eq!(err.setting(), "commitlog-archive-location");
        let err = ArchiveSettings::from_flags(None, Some("s3://b".into())).unwrap_err();
        assert_eq!(err.setting(), "commitlog-archive");
        let err = ArchiveSettings::from_flags(Some("a".into()), Some("s3://b".into())).unwrap_err();
        assert!(err.to_string().contains("absolute"), "{err}");
        let err =
            ArchiveSettings::from_flags(Some("/a".into()), Some("s3://b/c".into())).unwrap_err();
        assert_eq!(err.setting(), "commitlog-archive-location");
    }

    #[test]
    fn a_file_bucket_outside_the_roots_is_refused_at_start() {
        let tmp = tempfile::tempdir().unwrap();
        let (root, other, dir) = (
            tmp.path().join("root"),
            tmp.path().join("other"),
            tmp.path().join("archive"),
        );
        for d in [&root, &other, &dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        let settings = |bucket_parent: &Path| ArchiveSettings {
            dir: dir.clone(),
            location: StorageLocation::parse(&format!(
                "file://{}/bucket/c/dc/n",
                bucket_parent.display()
            ))
            .unwrap(),
        };
        let roots = vec![root.clone()];
        settings(&root).check(&roots).unwrap();
        settings(&other).check(&[]).unwrap();
        let err = settings(&other).check(&roots).unwrap_err();
        assert!(
            matches!(err, ArchiveError::OutsideRoots { .. })
                && err.to_string().contains("--allowed-root"),
            "{err}"
        );
        let missing = ArchiveSettings {
            dir: tmp.path().join("absent"),
            ..settings(&root)
        };
        let err = missing.check(&roots).unwrap_err();
        assert_eq!(err.setting(), "commitlog-archive", "{err}");
    }

    #[tokio::test]
    async fn the_scan_takes_segments_oldest_first_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let write = |name: &str, millis: u64| {
            let path = dir.join(name);
            std::fs::write(&path, name).unwrap();
            let time = UNIX_EPOCH + Duration::from_millis(millis);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(time)
                .unwrap();
        };
        write("CommitLog-7-30.log", 1_700_000_003_000);
        write("CommitLog-7-10.log", 1_700_000_001_000);
        write("CommitLog-7-20.log", 1_700_000_001_000);
        write("CommitLog-7-40.log.tmp", 1);
        write("notes.txt", 1);
        std::fs::create_dir(dir.join("CommitLog-7-50.log")).unwrap();
        std::os::unix::fs::symlink(dir.join("notes.txt"), dir.join("CommitLog-7-60.log")).unwrap();
        let found = scan(dir).await.unwrap();
        let names: Vec<_> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "CommitLog-7-10.log",
                "CommitLog-7-20.log",
                "CommitLog-7-30.log"
            ]
        );
        assert_eq!(found[0].modified, 1_700_000_001_000);
        assert_eq!(found[0].id, 10);
        assert_eq!(found[2].size, "CommitLog-7-30.log".len() as u64);
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let waits: Vec<_> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
