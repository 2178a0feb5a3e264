//! A journal on a full disk: an operation whose RUNNING state the journal cannot take must not
//! run, a final state it cannot take must not show, and after a crash and a restart (space
//! freed) nothing runs twice. The journal lives on a real, small tmpfs filled to the last byte.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use serde_json::json;

/// A tmpfs of `size` mounted at a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// `None` when this process may not mount (not root): the test says so and stops.
    fn mount(parent: &Path, size: &str) -> Option<Tmpfs> {
        let dir = parent.join("tmpfs");
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs { dir })
    }

    /// Writes a file until the file system refuses more; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 16 * 1024];
        while file.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn flushes_made(node: &FakeNode) -> usize {
    node.server
        .invocations()
        .iter()
        .filter(|c| {
            matches!(c, cassandra::fake::Call::Invoke { operation, .. }
                if operation == "forceKeyspaceFlush")
        })
        .count()
}

/// One worker busy with an import held in Cassandra, five flushes PENDING behind it (journaled
/// while there was room), then the disk filled to the last byte.
async fn import_and_flushes_then_full(
    disk: &Tmpfs,
    node: &Arc<FakeNode>,
    fixtures: &Path,
) -> (TestServer, String, Vec<String>, PathBuf) {
    let server = TestServer::start(node.connector(), config(1), &disk.dir.join("journal")).await;
    let import = server.submit_id(&import_body(fixtures)).await;
    eventually("the import is in its call", || node.entered() == 1).await;
    let mut flushes = Vec::new();
    for i in 0..5 {
        let body = json!({"type": "flush", "keyspace": format!("ks{i}")});
        flushes.push(server.submit_id(&body).await);
    }
    let filler = disk.fill();
    // Admission refuses what it could not keep.
    let refused = server
        .post(&json!({"type": "flush", "keyspace": "refused"}))
        .await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    // The import returns; COMPLETED cannot be journaled, so it keeps showing RUNNING and its
    // worker is not handed to a flush.
    node.release_imports(1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = server.get(&format!("/operations/{import}")).await.body;
    assert_eq!(
        r["state"], "RUNNING",
        "shown finished though not journaled: {r}"
    );
    assert_eq!(flushes_made(node), 0, "a flush ran unjournaled");
    for id in &flushes {
        let r = server.get(&format!("/operations/{id}")).await.body;
        assert_eq!(r["state"], "PENDING", "{r}");
    }
    (server, import, flushes, filler)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_runs_unjournaled_and_nothing_runs_twice_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(tmp.path(), "4m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root; this test runs as root in CI");
        return;
    };
    let fixtures = copy_fixture(NB_SETS, tmp.path());
    let before = Arc::new(FakeNode::gated());
    let (server, import, flushes, filler) =
        import_and_flushes_then_full(&disk, &before, &fixtures).await;

    // A crash; then the space comes back and the sidecar starts again.
    server.halt();
    std::fs::remove_file(&filler).unwrap();
    let after = Arc::new(FakeNode::new());
    let server = TestServer::start(after.connector(), config(1), &disk.dir.join("journal")).await;
    for id in &flushes {
        let r = server.wait_finished(id).await;
        assert_eq!(r["state"], "COMPLETED", "{r}");
    }
    let r = server.get(&format!("/operations/{import}")).await.body;
    assert_eq!(r["state"], "FAILED", "its outcome is unknown: {r}");
    assert_eq!(r["failureCause"]["kind"], "SidecarRestart", "{r}");
    assert_eq!(flushes_made(&before), 0);
    assert_eq!(flushes_made(&after), 5, "each flush ran exactly once");
    server.halt();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_space_is_back_everything_finishes_once() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(tmp.path(), "4m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root; this test runs as root in CI");
        return;
    };
    let fixtures = copy_fixture(NB_SETS, tmp.path());
    let node = Arc::new(FakeNode::gated());
    let (server, import, flushes, filler) =
        import_and_flushes_then_full(&disk, &node, &fixtures).await;

    std::fs::remove_file(&filler).unwrap();
    let r = server.wait_finished(&import).await;
    assert_eq!(r["state"], "COMPLETED", "{r}");
    for id in &flushes {
        let r = server.wait_finished(id).await;
        assert_eq!(r["state"], "COMPLETED", "{r}");
    }
    assert_eq!(flushes_made(&node), 5, "each flush ran exactly once");
    // What was shown is what the journal holds.
    let journal = server.engine.journal().clone();
    for id in flushes.iter().chain([&import]) {
        let stored = journal
            .get(id.parse().unwrap())
            .unwrap()
            .expect("journaled");
        assert_eq!(stored.state.as_str(), "COMPLETED");
    }
    server.halt();
}
