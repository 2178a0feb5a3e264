//! A sidecar SIGKILLed in the middle of an operation and started again on the same journal: what
//! is safe to run again carries on in the same record (a backup under the snapshot it kept, a
//! restore's DOWNLOAD from the files verified on disk, a cluster-wide backup whose coordinator
//! was killed), what is not ends FAILED saying why, its node call made once. The real binary
//! against the Java test node; "mid-way" is made certain by a throttled upload, a download that
//! blocks on a pipe, or a node call held by the test node's `hang` fault.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::process::Child;

use crate::common::cluster::{self, Cluster, SidecarOptions, ONE_CLUSTER, RING};
use crate::common::spawn::{sidecar_command, spawn_sidecar};
use crate::common::testnode::TestNode;
use crate::common::{request, shared_dir, wait_until, NB_SETS};
use crate::restore::{back_up, file_location, restore_body, seeded_node, KS, TABLE};

/// One `daedalus` process beside a test node.
struct Sidecar {
    child: Child,
    addr: SocketAddr,
}

impl Sidecar {
    async fn start(node: &TestNode, journal: &Path, extra: &[&str]) -> Sidecar {
        let mut command = sidecar_command();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--workers", "10"])
            .args(["--jmx-service", &node.address()])
            .arg("--data-dir")
            .arg(journal)
            .args(extra)
            .env("DAEDALUS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let log = journal.with_extension(format!("{}.log", std::process::id()));
        let (child, addr) = spawn_sidecar(&mut command, Some(log)).await;
        Sidecar { child, addr }
    }

    async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.unwrap();
    }

    async fn submit(&self, body: &Value) -> String {
        let r = request(self.addr, "POST", "/operations", Some(body.to_string())).await;
        assert_eq!(r.status, 201, "{body} → {}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    async fn get(&self, id: &str) -> Value {
        request(self.addr, "GET", &format!("/operations/{id}"), None)
            .await
            .body
    }

    async fn wait(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        wait_until(self.addr, id, what, pred).await
    }

    async fn finished(&self, id: &str) -> Value {
        self.wait(id, "the end of the operation", |r| {
            matches!(
                r["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            )
        })
        .await
    }
}

/// Every file under `dir` whose name is `name`, at any depth.
fn find_named(dir: &Path, pred: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(find_named(&path, pred));
        } else if pred(&entry.file_name().to_string_lossy()) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// Bytes of the regular files under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    // Not the temporary file of an upload in flight.
    find_named(dir, &|n| !n.contains('#'))
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn snapshots_of(table_dir: &Path) -> Vec<String> {
    std::fs::read_dir(table_dir.join("snapshots"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A backup uploading at 1 KB/s, SIGKILLed mid-way: after the restart it carries on in the same
/// record under the snapshot it kept (taken once), writes one manifest, and the snapshot is
/// cleared. The bytes sent again are those of the file in flight at the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_killed_mid_upload_completes_under_its_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let journal = tmp.path().join("journal");
    let store = tmp.path().join("store");
    let location = format!("file://{}/bucket/c/dc1/n1", store.display());
    let sidecar = Sidecar::start(&node, &journal, &[]).await;
    let id = sidecar
        .submit(&json!({"type": "backup", "storageLocation": location,
            "createMissingBucket": true, "snapshotTag": "resumed",
            "entities": format!("{KS}.{TABLE}"), "concurrentConnections": 1,
            "bandwidth": {"value": 1, "unit": "KBPS"}}))
        .await;
    let mid = sidecar
        .wait(&id, "half of the upload done", |r| {
            r["state"] == "RUNNING" && r["progress"].as_f64() >= Some(0.5)
        })
        .await;
    let tag = mid["snapshotName"].as_str().unwrap().to_string();
    sidecar.kill().await;
    let table_dir = node.table_dir(KS, TABLE);
    assert_eq!(
        snapshots_of(&table_dir),
        vec![tag.clone()],
        "left by the kill"
    );
    let stored_at_kill = bytes_under(&store.join("bucket"));

    let restarted = std::time::Instant::now();
    let sidecar = Sidecar::start(&node, &journal, &[]).await;
    let record = sidecar.finished(&id).await;
    let took = restarted.elapsed();
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["attempts"], 2, "{record}");
    assert_eq!(record["snapshotName"], tag, "the same snapshot: {record}");
    assert_eq!(
        node.calls("takeSnapshot").len(),
        1,
        "the snapshot taken once"
    );
    assert!(snapshots_of(&table_dir).is_empty(), "no snapshot left");
    let manifests = find_named(&store, &|n| {
        n.ends_with(".json") && n.starts_with("resumed")
    });
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    assert!(manifests[0].ends_with(format!("manifests/{tag}.json")));

    let total = record["bytes"].as_u64().unwrap();
    let sent_after = record["uploadedBytes"].as_u64().unwrap();
    let resent = (stored_at_kill + sent_after).saturating_sub(total);
    eprintln!(
        "RESUME COST backup: {total} bytes in the snapshot, {stored_at_kill} stored at the \
         kill, {sent_after} sent after the restart ({} files skipped): {resent} bytes sent \
         twice; {took:?} from the restart to COMPLETED at 1 KB/s",
        record["skippedFiles"]
    );
    sidecar.kill().await;
}

/// A DOWNLOAD whose last object blocks (a pipe in the bucket) is SIGKILLed with every other
/// file on disk: after the restart it downloads only that one, keeps the others, and every
/// file matches the manifest's hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_download_killed_mid_way_completes_from_what_is_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let location = file_location(tmp.path());
    let backup = back_up(
        &node,
        &location,
        &backup::store::StoreOptions::default(),
        "snap1",
    )
    .await;
    let bucket = tmp.path().join("bucket");
    // The largest object of the backup blocks its reader until the test puts it back.
    let objects: Vec<(PathBuf, u64)> = backup
        .keys()
        .iter()
        .map(|key| {
            let path = find_named(&bucket, &|n| key.ends_with(n))
                .into_iter()
                .find(|p| p.to_string_lossy().ends_with(key.as_str()))
                .unwrap_or_else(|| panic!("{key} in the bucket"));
            let size = std::fs::metadata(&path).unwrap().len();
            (path, size)
        })
        .collect();
    let (blocked, blocked_size) = objects.iter().max_by_key(|(_, s)| *s).cloned().unwrap();
    let saved = std::fs::read(&blocked).unwrap();
    std::fs::remove_file(&blocked).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&blocked)
        .status()
        .unwrap();
    assert!(made.success());
    let blocked_name = blocked.file_name().unwrap().to_string_lossy().into_owned();
    let others: BTreeSet<String> = objects
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| *n != blocked_name)
        .collect();

    let journal = tmp.path().join("journal");
    let src = tmp.path().join("src");
    let mut body = restore_body(&location, "IMPORT", "DOWNLOAD", &src);
    body["concurrentConnections"] = json!(4);
    let sidecar = Sidecar::start(&node, &journal, &[]).await;
    let id = sidecar.submit(&body).await;
    crate::common::eventually("every object but the blocked one downloaded", || {
        let on_disk: BTreeSet<String> = find_named(&src, &|n| others.contains(n))
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk == others
    })
    .await;
    assert_eq!(sidecar.get(&id).await["state"], "RUNNING");
    sidecar.kill().await;
    std::fs::remove_file(&blocked).unwrap();
    std::fs::write(&blocked, &saved).unwrap();

    let sidecar = Sidecar::start(&node, &journal, &[]).await;
    let record = sidecar.finished(&id).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["attempts"], 2, "{record}");
    assert_eq!(record["filesAlreadyPresent"], others.len(), "{record}");
    assert_eq!(record["filesDownloaded"], 1, "{record}");
    let hashes: BTreeSet<String> = backup
        .manifest
        .entries()
        .map(|e| e.hash.clone().unwrap())
        .collect();
    let on_disk: BTreeSet<String> = find_named(&src, &|n| !n.starts_with('.'))
        .iter()
        .map(|p| sha256_hex(p))
        .collect();
    assert_eq!(on_disk, hashes, "every file as the manifest hashes it");
    let total: u64 = objects.iter().map(|(_, s)| s).sum();
    eprintln!(
        "RESUME COST restore DOWNLOAD: {total} bytes in the backup; after the restart one \
         object fetched ({blocked_size} bytes, the one in flight at the kill), {} files \
         ({} bytes) kept after checking their hashes",
        others.len(),
        total - blocked_size
    );
    sidecar.kill().await;
}

/// The node calls the non-resumable types make, each held by the test node (`hang`) when the
/// sidecar is SIGKILLed: after the restart every one is FAILED, saying why it is not run again,
/// and the node saw each call once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_safe_to_run_twice_ends_failed_after_one_call() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let seed = crate::common::copy_fixture(NB_SETS, &tmp.path().join("import"));
    let journal = tmp.path().join("journal");
    let flags = ["--enable-truncate", "--restart-command", "true"];
    // Those that run side by side first, then each type that holds the node alone. The held
    // calls stay held (the node dies with the test), so that none changes the node's mode.
    let rounds: Vec<Vec<(Value, &str, &str)>> = vec![
        vec![
            (
                json!({"type": "truncate", "keyspace": KS, "table": TABLE}),
                "truncate",
                "truncat",
            ),
            (
                json!({"type": "import", "keyspace": KS, "table": TABLE,
                       "sourceDir": seed}),
                "importNewSSTables",
                "second time",
            ),
            (
                json!({"type": "cleanup", "keyspace": KS}),
                "forceKeyspaceCleanup",
                "twice",
            ),
            (json!({"type": "scrub", "keyspace": "ks"}), "scrub", "twice"),
            (
                json!({"type": "upgradesstables", "keyspace": "legacy_tables"}),
                "upgradeSSTables",
                "twice",
            ),
            (json!({"type": "rebuild"}), "rebuild", "twice"),
            (
                json!({"type": "refresh", "keyspace": KS, "table": "testtable"}),
                "loadNewSSTables",
                "twice",
            ),
        ],
        vec![(json!({"type": "drain"}), "drain", "drain")],
        // `restart` drains first: held there, it is not drained or restarted a second time.
        vec![(json!({"type": "restart"}), "drain", "take it down again")],
        vec![(
            json!({"type": "decommission"}),
            "decommission",
            "decommission",
        )],
    ];
    for round in rounds {
        let sidecar = Sidecar::start(&node, &journal, &flags).await;
        let mut ids = Vec::new();
        for (body, call, _) in &round {
            node.fault("hang", &[*call]).await;
            let before = node.calls(call).len();
            let id = sidecar.submit(body).await;
            crate::common::eventually(&format!("{call} held by the node"), || {
                node.calls(call).len() == before + 1
            })
            .await;
            ids.push((id, before));
        }
        sidecar.kill().await;
        let sidecar = Sidecar::start(&node, &journal, &flags).await;
        for ((id, before), (body, call, why)) in ids.iter().zip(&round) {
            let record = sidecar.finished(id).await;
            assert_eq!(record["state"], "FAILED", "{body}: {record}");
            assert_eq!(record["failureCause"]["kind"], "SidecarRestart", "{record}");
            let message = record["failureCause"]["message"].as_str().unwrap();
            assert!(
                message.contains("not run again") && message.contains(why),
                "{body}: {message}"
            );
            assert_eq!(node.calls(call).len(), before + 1, "{call} made once");
        }
        sidecar.kill().await;
    }
}

/// With `--no-resume` a backup killed mid-way ends FAILED, and the sidecar clears the snapshot
/// it kept the name of before it says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_resuming_a_killed_backup_fails_and_its_snapshot_is_cleared() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let journal = tmp.path().join("journal");
    let store = tmp.path().join("store");
    let location = format!("file://{}/bucket/c/dc1/n1", store.display());
    let sidecar = Sidecar::start(&node, &journal, &["--no-resume"]).await;
    let id = sidecar
        .submit(&json!({"type": "backup", "storageLocation": location,
            "createMissingBucket": true, "entities": format!("{KS}.{TABLE}"),
            "concurrentConnections": 1, "bandwidth": {"value": 1, "unit": "KBPS"}}))
        .await;
    sidecar
        .wait(&id, "the upload under way", |r| {
            r["progress"].as_f64() > Some(0.0)
        })
        .await;
    sidecar.kill().await;
    let table_dir = node.table_dir(KS, TABLE);
    assert_eq!(snapshots_of(&table_dir).len(), 1);
    let sidecar = Sidecar::start(&node, &journal, &["--no-resume"]).await;
    let record = sidecar.finished(&id).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    assert_eq!(record["failureCause"]["kind"], "SidecarRestart", "{record}");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(message.contains("--no-resume"), "{message}");
    assert_eq!(record["snapshotCleared"], true, "{record}");
    assert!(
        snapshots_of(&table_dir).is_empty(),
        "the snapshot is cleared"
    );
    assert!(find_named(&store, &|n| n.ends_with(".json")).is_empty());
    sidecar.kill().await;
}

/// The coordinator of a cluster-wide backup SIGKILLed while its own node uploads: after the
/// restart its node's backup carries on under the same tag, the others are followed, and the
/// backup completes with one manifest per node, the topology, and no snapshot left anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_backup_survives_its_coordinators_restart() {
    let _one = ONE_CLUSTER.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let seed = shared_dir().join("fixtures/sstables").join(NB_SETS);
    let flags = [
        "--seed".to_string(),
        format!("{KS}.{TABLE}={}", seed.display()),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut cluster = Cluster::start(tmp.path(), &flags, SidecarOptions::default()).await;
    let coordinator = cluster.sidecar(0).addr;
    let store = tmp.path().join("store");
    let location = format!("file://{}/bucket/any/any/any", store.display());
    let accepted = cluster::submit(
        coordinator,
        &json!({"type": "backup", "globalRequest": true, "snapshotTag": "survives",
                "createMissingBucket": true, "storageLocation": location,
                "entities": format!("{KS}.{TABLE}"), "concurrentConnections": 1,
                "bandwidth": {"value": 1, "unit": "KBPS"}}),
    )
    .await;
    let id = accepted["id"].as_str().unwrap().to_string();
    let own = cluster.nodes[0].endpoint();
    let mid = cluster::wait_for(coordinator, &id, "the coordinator's node uploading", |r| {
        r["nodes"].as_array().is_some_and(|nodes| {
            nodes
                .iter()
                .any(|n| n["endpoint"] == own.as_str() && n["progress"].as_f64() > Some(0.0))
        })
    })
    .await;
    let tag = mid["snapshotName"].as_str().unwrap().to_string();
    let own_sub = cluster::node(&mid, &own)["operationId"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.kill_sidecar(0).await;
    let restarted = cluster.start_sidecar(0).await;
    cluster.sidecars[0] = Some(restarted);

    let record = cluster::finished(coordinator, &id).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["snapshotName"], tag);
    assert_eq!(record["attempts"], 2, "{record}");
    for (i, n) in cluster.nodes.iter().enumerate() {
        let shown = cluster::node(&record, &n.endpoint());
        assert_eq!(shown["state"], "COMPLETED", "{record}");
        let sub = cluster::get(
            cluster.sidecar(i).addr,
            shown["operationId"].as_str().unwrap(),
        )
        .await;
        assert_eq!(sub["state"], "COMPLETED", "{sub}");
        assert_eq!(sub["snapshotName"], tag, "{sub}");
    }
    let sub = cluster::get(coordinator, &own_sub).await;
    assert_eq!(sub["attempts"], 2, "the own node's backup resumed: {sub}");
    assert_eq!(sub["snapshotName"], tag, "{sub}");
    for (i, n) in cluster.nodes.iter().enumerate() {
        let node_dir = store.join("bucket/Test Cluster").join(n.dc).join(n.host_id);
        let manifests = find_named(&node_dir.join("manifests"), &|_| true);
        assert_eq!(manifests.len(), 1, "{}: {manifests:?}", n.ip);
        assert!(manifests[0].ends_with(format!("{tag}.json")));
        let table_dir = crate::common::testnode::table_dir_under(&n.data_dir, KS, TABLE);
        assert!(
            snapshots_of(&table_dir).is_empty(),
            "no snapshot left on {}",
            n.ip
        );
        assert_eq!(n.calls("takeSnapshot").len(), 1, "{}", n.ip);
        let backups = request(
            cluster.sidecar(i).addr,
            "GET",
            "/operations?type=backup",
            None,
        )
        .await;
        let count = backups.body.as_array().map(Vec::len).unwrap_or(0);
        // The coordinator's own list holds the cluster-wide record too.
        assert_eq!(count, if i == 0 { 2 } else { 1 }, "{}", backups.body);
    }
    assert_eq!(
        find_named(&store.join("bucket/topology"), &|_| true).len(),
        1,
        "one topology"
    );
    assert_eq!(RING.len(), cluster.nodes.len());
    eprintln!(
        "RESUME COST cluster backup: own node's attempt 2 sent {} bytes of {} ({} files \
         skipped)",
        sub["uploadedBytes"], sub["bytes"], sub["skippedFiles"]
    );
}
