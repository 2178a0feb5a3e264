//! Continuous commit-log archiving by the real `daedalus` binary into a `file://` location:
//! segments hard-linked into the archive directory (as Cassandra's `archive_command` does) are
//! uploaded under Esop's key with their last-modified millis, byte for byte, and only then
//! removed; segments left while the sidecar was down go when it is back; a store that refuses
//! keeps the segment and counts the failure, and takes it once fixed; the metrics show counts
//! and the recovery point lag. A location outside the allowed roots is refused at start-up.
//!
//! No node is needed: a `file://` location names the node itself, so the sidecar runs against
//! a JMX address nobody listens on.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::process::Child;

use crate::common::spawn::*;
use crate::common::*;

const NODE_PREFIX: &str = "Test Cluster/dc1/4b3c2a10-0000-4000-8000-000000000001";

/// A temporary deployment: an allowed root holding the bucket, the archive directory and a
/// staging directory (the "commit log" segments are written in, then hard-linked from).
struct Setup {
    tmp: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let setup = Setup {
            tmp: tempfile::tempdir().unwrap(),
        };
        for dir in [setup.bucket(), setup.archive(), setup.staging()] {
            std::fs::create_dir_all(dir).unwrap();
        }
        setup
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    fn bucket(&self) -> PathBuf {
        self.root().join("store/bucket")
    }

    fn archive(&self) -> PathBuf {
        self.tmp.path().join("commitlog_archive")
    }

    fn staging(&self) -> PathBuf {
        self.tmp.path().join("commitlog")
    }

    fn location(&self) -> String {
        format!("file://{}/{NODE_PREFIX}", self.bucket().display())
    }

    /// The node's commit-log directory in the store.
    fn archived_dir(&self) -> PathBuf {
        self.bucket().join(NODE_PREFIX).join("commitlog")
    }

    /// Where a segment last written at `millis` must be: Esop's key.
    fn archived(&self, name: &str, millis: u64) -> PathBuf {
        self.archived_dir().join(format!("{name}.{millis}"))
    }

    /// A closed segment of `len` bytes last written at `millis`, hard-linked into the archive
    /// directory as `archive_command=/bin/ln %path DIR/%name` does; its original then goes, as
    /// Cassandra deletes an archived segment. Returns its bytes.
    fn close_segment(&self, name: &str, len: usize, millis: u64) -> Vec<u8> {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + name.len()) as u8).collect();
        let original = self.staging().join(name);
        std::fs::write(&original, &bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&original)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_millis(millis))
            .unwrap();
        std::fs::hard_link(&original, self.archive().join(name)).unwrap();
        std::fs::remove_file(&original).unwrap();
        bytes
    }

    fn command(&self, location: &str) -> tokio::process::Command {
        let mut command = sidecar_command();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--jmx-timeout", "1s"])
            .args(["--jmx-service", &dead_address().to_string()])
            .arg("--data-dir")
            .arg(self.tmp.path().join("data"))
            .arg("--allowed-root")
            .arg(self.root())
            .arg("--commitlog-archive")
            .arg(self.archive())
            .args(["--commitlog-archive-location", location])
            .env("DAEDALUS_LOG", "info,daedalus::commitlog_archive=debug")
            .stdout(Stdio::null());
        command
    }

    /// The sidecar archiving into this setup's location; its log goes to `log-<n>.txt`.
    async fn start(&self, n: usize) -> (Child, SocketAddr) {
        let log = self.tmp.path().join(format!("log-{n}.txt"));
        spawn_sidecar(&mut self.command(&self.location()), Some(log)).await
    }

    fn log(&self, n: usize) -> String {
        std::fs::read_to_string(self.tmp.path().join(format!("log-{n}.txt"))).unwrap_or_default()
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The value of the unlabelled series `name` on `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let resp = request(addr, "GET", "/metrics", None).await;
    let text = resp.body.as_str().expect("metrics are text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
}

/// Waits until the metric satisfies `pred`; panics after `PATIENCE`, naming its last value.
async fn metric_until(addr: SocketAddr, name: &str, pred: impl Fn(f64) -> bool) -> f64 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let value = metric(addr, name).await;
        if pred(value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed at {value}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn terminate(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("daedalus exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit: {status:?}");
}

#[tokio::test]
async fn closed_segments_are_uploaded_under_esops_key_verified_then_removed() {
    let setup = Setup::new();
    let (child, addr) = setup.start(1).await;
    assert_eq!(
        metric(addr, "daedalus_commitlog_archived_segments_total").await,
        0.0
    );
    // Two small segments and one larger than a part (a multipart upload), closed in turn.
    let base = now_millis() - 60_000;
    let segments = [
        ("CommitLog-7-1700000000001.log", 64 * 1024, base + 1_001),
        (
            "CommitLog-7-1700000000002.log",
            9 * 1024 * 1024 + 7,
            base + 2_002,
        ),
        ("CommitLog-7-1700000000003.log", 1, base + 3_003),
    ];
    let mut expected = Vec::new();
    for (name, len, millis) in segments {
        expected.push((name, millis, setup.close_segment(name, len, millis)));
    }
    for (name, millis, bytes) in &expected {
        let archived = setup.archived(name, *millis);
        let local = setup.archive().join(name);
        eventually(&format!("{name} uploaded and removed locally"), || {
            archived.is_file() && !local.exists()
        })
        .await;
        assert!(
            std::fs::read(&archived).unwrap() == *bytes,
            "{} holds other bytes than the segment",
            archived.display()
        );
    }
    let mut stored: Vec<String> = std::fs::read_dir(setup.archived_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        expected
            .iter()
            .map(|(n, m, _)| format!("{n}.{m}"))
            .collect::<Vec<_>>(),
        "exactly the segments, nothing partial left behind"
    );
    let total: usize = expected.iter().map(|(_, _, b)| b.len()).sum();
    metric_until(addr, "daedalus_commitlog_archived_segments_total", |v| {
        v == 3.0
    })
    .await;
    assert_eq!(
        metric(addr, "daedalus_commitlog_archived_bytes_total").await,
        total as f64
    );
    assert_eq!(
        metric(addr, "daedalus_commitlog_archive_pending_segments").await,
        0.0
    );
    assert_eq!(
        metric(addr, "daedalus_commitlog_archive_lag_seconds").await,
        0.0
    );
    assert_eq!(
        metric(addr, "daedalus_commitlog_archive_failures_total").await,
        0.0,
        "{}",
        setup.log(1)
    );
    // Files that are not segments are none of the archiver's business.
    std::fs::write(setup.archive().join("README"), "operator notes").unwrap();
    setup.close_segment("CommitLog-7-1700000000004.log", 10, base + 4_004);
    eventually("the fourth segment uploaded", || {
        setup
            .archived("CommitLog-7-1700000000004.log", base + 4_004)
            .is_file()
    })
    .await;
    assert!(setup.archive().join("README").is_file());
    terminate(child).await;
}

#[tokio::test]
async fn segments_left_while_the_sidecar_was_down_are_uploaded_when_it_comes_back() {
    let setup = Setup::new();
    let base = now_millis() - 3_600_000;
    // Present before the first start.
    setup.close_segment("CommitLog-7-1700000000010.log", 2048, base);
    let (child, addr) = setup.start(1).await;
    eventually("the segment present at start is uploaded", || {
        setup
            .archived("CommitLog-7-1700000000010.log", base)
            .is_file()
            && !setup
                .archive()
                .join("CommitLog-7-1700000000010.log")
                .exists()
    })
    .await;
    metric_until(addr, "daedalus_commitlog_archived_segments_total", |v| {
        v == 1.0
    })
    .await;
    terminate(child).await;

    // Closed while the sidecar is down; and one re-archived after a replay at node start (the
    // same segment again, already in the store): it is only confirmed and removed.
    let bytes = setup.close_segment("CommitLog-7-1700000000011.log", 4096, base + 1_000);
    setup.close_segment("CommitLog-7-1700000000010.log", 2048, base);
    let (child, addr) = setup.start(2).await;
    eventually("both are gone from the archive directory", || {
        std::fs::read_dir(setup.archive()).unwrap().count() == 0
    })
    .await;
    let archived = setup.archived("CommitLog-7-1700000000011.log", base + 1_000);
    assert_eq!(std::fs::read(archived).unwrap(), bytes);
    metric_until(addr, "daedalus_commitlog_archived_segments_total", |v| {
        v == 2.0
    })
    .await;
    assert_eq!(
        metric(addr, "daedalus_commitlog_archive_failures_total").await,
        0.0,
        "{}",
        setup.log(2)
    );
    terminate(child).await;
}

#[tokio::test]
async fn a_store_that_refuses_keeps_the_segment_counts_the_failure_and_takes_it_once_fixed() {
    let setup = Setup::new();
    // The node's commit-log "directory" in the store is a file: every write there fails.
    std::fs::create_dir_all(setup.archived_dir().parent().unwrap()).unwrap();
    std::fs::write(setup.archived_dir(), "in the way").unwrap();
    let (child, addr) = setup.start(1).await;
    let hour_ago = now_millis() - 3_600_000;
    let name = "CommitLog-7-1700000000020.log";
    let bytes = setup.close_segment(name, 1000, hour_ago);
    metric_until(addr, "daedalus_commitlog_archive_failures_total", |v| {
        v >= 1.0
    })
    .await;
    assert!(
        setup.archive().join(name).is_file(),
        "a segment not confirmed uploaded is kept"
    );
    assert_eq!(
        metric(addr, "daedalus_commitlog_archived_segments_total").await,
        0.0
    );
    assert_eq!(
        metric(addr, "daedalus_commitlog_archive_pending_segments").await,
        1.0
    );
    let lag = metric(addr, "daedalus_commitlog_archive_lag_seconds").await;
    assert!(
        (3600.0..3600.0 + 600.0).contains(&lag),
        "the lag is the waiting segment's age: {lag}"
    );
    let log = setup.log(1);
    assert!(
        log.contains("commit-log archiving failed") && log.contains("tried again"),
        "the failure is logged with what happens next:\n{log}"
    );

    std::fs::remove_file(setup.archived_dir()).unwrap();
    let archived = setup.archived(name, hour_ago);
    eventually("uploaded once the store takes it", || {
        archived.is_file() && !setup.archive().join(name).exists()
    })
    .await;
    assert_eq!(std::fs::read(&archived).unwrap(), bytes);
    metric_until(addr, "daedalus_commitlog_archived_segments_total", |v| {
        v == 1.0
    })
    .await;
    assert_eq!(
        metric(addr, "daedalus_commitlog_archive_lag_seconds").await,
        0.0
    );
    terminate(child).await;
}

#[tokio::test]
async fn a_bucket_that_leads_outside_the_allowed_roots_at_upload_time_gets_nothing() {
    let setup = Setup::new();
    let (child, addr) = setup.start(1).await;
    // After start, the bucket becomes a link to a directory outside every root.
    let outside = setup.tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::remove_dir(setup.bucket()).unwrap();
    std::os::unix::fs::symlink(&outside, setup.bucket()).unwrap();
    let name = "CommitLog-7-1700000000030.log";
    let millis = now_millis() - 5_000;
    setup.close_segment(name, 100, millis);
    metric_until(addr, "daedalus_commitlog_archive_failures_total", |v| {
        v >= 1.0
    })
    .await;
    assert!(setup.archive().join(name).is_file(), "kept");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing was written outside the roots"
    );
    let log = setup.log(1);
    assert!(log.contains("--allowed-root"), "the fix is named:\n{log}");

    std::fs::remove_file(setup.bucket()).unwrap();
    std::fs::create_dir(setup.bucket()).unwrap();
    eventually("uploaded once the bucket is inside the roots again", || {
        setup.archived(name, millis).is_file() && !setup.archive().join(name).exists()
    })
    .await;
    terminate(child).await;
}

/// The sidecar's exit and what it said, for settings it must refuse before serving.
async fn refused(command: &mut tokio::process::Command) -> String {
    let output = tokio::time::timeout(PATIENCE, command.stderr(Stdio::piped()).output())
        .await
        .expect("daedalus exits")
        .unwrap();
    assert!(!output.status.success(), "refused: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("daedalus serving"), "{stderr}");
    stderr
}

#[tokio::test]
async fn archiving_settings_that_cannot_work_are_refused_at_start() {
    let setup = Setup::new();
    let outside = format!(
        "file://{}/elsewhere/bucket/{NODE_PREFIX}",
        setup.tmp.path().display()
    );
    let said = refused(&mut setup.command(&outside)).await;
    assert!(
        said.contains("commitlog-archive-location")
            && said.contains("outside every allowed root")
            && said.contains("--allowed-root"),
        "{said}"
    );

    let mut without_location = sidecar_command();
    without_location
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(setup.tmp.path().join("data"))
        .arg("--commitlog-archive")
        .arg(setup.archive())
        .stdout(Stdio::null());
    let said = refused(&mut without_location).await;
    assert!(said.contains("--commitlog-archive-location"), "{said}");

    std::fs::remove_dir(setup.archive()).unwrap();
    let said = refused(&mut setup.command(&setup.location())).await;
    assert!(
        said.contains("--commitlog-archive")
            && said.contains(&setup.archive().display().to_string()),
        "{said}"
    );
}

/// The key is the segment's own last write, not the time of the upload: a segment closed long
/// ago and uploaded now lands under its closing time, which is what a restore to a moment reads.
#[tokio::test]
async fn the_key_carries_the_segments_last_write_not_the_upload_time() {
    let setup = Setup::new();
    let long_ago = 1_600_000_000_123;
    let name = "CommitLog-7-1600000000000.log";
    setup.close_segment(name, 10, long_ago);
    let (child, _addr) = setup.start(1).await;
    eventually("uploaded", || setup.archived(name, long_ago).is_file()).await;
    assert_key_path_is_esops(&setup.archived(name, long_ago), &setup);
    terminate(child).await;
}

fn assert_key_path_is_esops(archived: &Path, setup: &Setup) {
    let relative = archived.strip_prefix(setup.bucket()).unwrap();
    let parts: Vec<_> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    assert_eq!(parts.len(), 5, "{parts:?}");
    assert_eq!(parts[3], "commitlog");
    assert_eq!(parts[4], "CommitLog-7-1600000000000.log.1600000000123");
}
