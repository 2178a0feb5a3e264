//! Test support for the real-Cassandra suite: the nodes (`node`), CQL (`cql`), the sidecar binary
//! beside them (`sidecar`), Esop's command line (`esop`) and the lock that keeps tests off a node another test is stopping.
//! Nothing here asserts behaviour; the test modules do.

#![allow(dead_code)]

pub mod cql;
pub mod esop;
pub mod node;
pub mod sidecar;
#[path = "../../it/common/spawn.rs"]
pub mod spawn;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

pub use cql::Cql;
pub use node::{NodeOptions, RealNode};
pub use sidecar::Sidecar;

/// Longest the sidecar may take to serve (a bound against hangs, not a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Held for reading by every test that uses the shared node, for writing by one that stops,
/// drains or restarts it, so no test sees a node another test took down.
pub static SHARED_NODE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by a test that runs the three-node ring: every ring uses 127.0.0.2-4 and the same ports.
pub static RING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The repository's root (the tests run in `crates/daedalus`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Where this binary's nodes live: `target/real/`, kept after the run for post-mortems and
/// cleared by the next run.
pub fn work_root() -> PathBuf {
    static CLEARED: std::sync::Once = std::sync::Once::new();
    let dir = repo_root().join("target/real");
    std::fs::create_dir_all(&dir).expect("target/real");
    // The previous run's sidecar logs go once per run; node and test directories are cleared
    // by name when they are used again.
    CLEARED.call_once(|| {
        wait_for_earlier_watchers();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("sidecar") && name.ends_with(".log") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    });
    dir
}

/// Waits (a minute at most) until the exit watchers of an earlier run of this binary are gone:
/// they kill its nodes a moment after it ended, and must not meet this run's nodes, which start
/// in the same directories (none of this run's watchers exists yet).
fn wait_for_earlier_watchers() {
    for _ in 0..300 {
        let found = std::process::Command::new("pgrep")
            .args(["-f", node::WATCHER_MARK])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The single node every test of this binary shares: 127.0.0.10, its own JMX port, started once,
/// killed when the test process exits.
pub fn shared() -> &'static RealNode {
    static NODE: OnceLock<RealNode> = OnceLock::new();
    NODE.get_or_init(|| {
        RealNode::start_fresh(
            "single",
            &NodeOptions {
                address: "127.0.0.10".into(),
                jmx_port: 7599,
                ..NodeOptions::default()
            },
        )
    })
}

/// A fresh name for a keyspace of one test: `<prefix>_<n>`, unique within the run.
pub fn keyspace(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}_{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
