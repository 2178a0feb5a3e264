//! Backups of the real node and their restores, rows checked by CQL before and after: IMPORT,
//! HARDLINKS and IN_PLACE, on `file://` and the local S3 server, on a keyspace with several
//! tables, one of them with a secondary index. The uploaded files are compared with those
//! Cassandra wrote.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{keyspace, shared, work_root, Cql, RealNode, Sidecar, SHARED_NODE};

/// The tables of a backed-up keyspace: `t` (with an index on `v`) and `u`.
const TABLES: [&str; 2] = ["t", "u"];

/// A keyspace of two tables with rows 0..40 each and an index on `t.v`.
async fn seed(cql: &Cql, ks: &str) {
    for table in TABLES {
        cql.create_table(ks, table).await;
    }
    // Before the rows, so that the index is written with them rather than built in the
    // background while a backup runs.
    cql.exec(&format!(
        "CREATE INDEX IF NOT EXISTS {ks}_t_v ON {ks}.t (v)"
    ))
    .await;
    for table in TABLES {
        cql.insert(ks, table, 0..40).await;
    }
}

/// SHA-256 of every regular file under `dir`, recursively, skipping `snapshots` and `backups`.
fn hashes_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                if name != "snapshots" && name != "backups" {
                    stack.push(path);
                }
            } else {
                out.insert(hex(&Sha256::digest(std::fs::read(&path).unwrap())));
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where one test keeps its bucket and restore directories (the sidecar's import root).
fn test_root(ks: &str) -> PathBuf {
    let root = work_root().join(format!("backup-{ks}"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// The storage a test backs up to: the local S3 server (kept running while the returned server
/// lives) or a `file://` bucket under `root`; its location naming one node, and the environment
/// that reaches it.
fn storage(
    on_s3: bool,
    root: &Path,
    ks: &str,
) -> (
    Option<testkit::storage::Server>,
    String,
    Vec<(String, String)>,
) {
    if !on_s3 {
        let location = format!("file://{}/bucket/daedalus-test/dc1/node1", root.display());
        return (None, location, Vec::new());
    }
    let server = testkit::storage::Server::s3();
    let location = format!(
        "s3://bucket-{}/daedalus-test/dc1/node1",
        ks.replace('_', "-")
    );
    let env = server.settings.clone().into_iter().collect();
    (Some(server), location, env)
}

/// Backs up `ks` as `tag`; returns the record.
async fn back_up(sidecar: &Sidecar, location: &str, ks: &str, tag: &str, extra: &Value) -> Value {
    let mut body = json!({"type": "backup", "storageLocation": location, "snapshotTag": tag,
                          "entities": ks, "createMissingBucket": true});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    sidecar.run_ok(&body).await
}

/// Runs a phased restore (DOWNLOAD, TRUNCATE, IMPORT, CLEANUP) of `ks` with `strategy`.
async fn restore_phases(
    sidecar: &Sidecar,
    location: &str,
    ks: &str,
    tag: &str,
    strategy: &str,
    source_dir: &Path,
    extra: &Value,
) {
    for phase in ["INIT", "DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"] {
        let mut body = json!({"type": "restore", "storageLocation": location, "snapshotTag": tag,
                              "restorationStrategyType": strategy, "restorationPhase": phase,
                              "entities": ks,
                              "import": {"type": "import", "sourceDir": source_dir}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        sidecar.run_ok(&body).await;
    }
}

/// Backs up, changes the rows (some deleted, one added), restores with `strategy`, and checks
/// that exactly the backed-up rows are served again, the index answering too.
async fn round_trip(strategy: &str, on_s3: bool) {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace(&format!("rt_{}", strategy.to_lowercase()));
    seed(&cql, &ks).await;
    let root = test_root(&ks);
    let (s3, location, env) = storage(on_s3, &root, &ks);
    let root_flag = root.display().to_string();
    let sidecar =
        Sidecar::start_with_env(node, "127.0.0.1:0", &["--allowed-root", &root_flag], &env).await;

    back_up(&sidecar, &location, &ks, "rt", &json!({})).await;
    if s3.is_none() {
        // What was uploaded is what Cassandra wrote: every live file of each table (its index
        // included) is stored byte for byte.
        let stored = hashes_under(&root.join("bucket"));
        for table in TABLES {
            let live = hashes_under(&node.table_dir(&ks, table));
            assert!(!live.is_empty());
            assert!(
                live.is_subset(&stored),
                "{ks}.{table}: live files missing from the backup"
            );
        }
    }

    cql.exec(&format!("DELETE FROM {ks}.t WHERE id IN (1, 2, 3)"))
        .await;
    cql.exec(&format!("TRUNCATE {ks}.u")).await;
    cql.insert(&ks, "t", 100..101).await;
    assert_ne!(cql.rows(&ks, "t").await, Cql::expected(0..40));

    let source_dir = root.join("restore");
    restore_phases(
        &sidecar,
        &location,
        &ks,
        "rt",
        strategy,
        &source_dir,
        &json!({}),
    )
    .await;
    for table in TABLES {
        assert_eq!(
            cql.rows(&ks, table).await,
            Cql::expected(0..40),
            "{ks}.{table} after the {strategy} restore"
        );
    }
    list_and_remove(&sidecar, &location, &ks).await;
    let by_index = cql
        .texts(&format!("SELECT v FROM {ks}.t WHERE v = 'v7'"))
        .await;
    assert_eq!(
        by_index,
        vec!["v7".to_string()],
        "the index serves the rows"
    );
    assert!(
        !source_dir.exists() || std::fs::read_dir(&source_dir).unwrap().next().is_none(),
        "CLEANUP removed the downloads"
    );
}

/// A second backup, then `list` shows both; removing the first keeps every object the second
/// needs, and the second still restores its manifest's files (checked by a dry removal of it).
async fn list_and_remove(sidecar: &Sidecar, location: &str, ks: &str) {
    back_up(sidecar, location, ks, "rt2", &json!({})).await;
    let listed = sidecar
        .run_ok(&json!({"type": "list", "storageLocation": location}))
        .await;
    let names: Vec<String> = listed["response"]
        .as_array()
        .unwrap_or_else(|| panic!("no listing in {listed}"))
        .iter()
        .map(|b| b["snapshotTag"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["rt", "rt2"], "{listed}");
    let first = listed["response"][0]["name"].as_str().unwrap();
    let removed = sidecar
        .run_ok(
            &json!({"type": "remove-backup", "storageLocation": location,
                        "backupName": first}),
        )
        .await;
    assert_eq!(
        removed["removal"]["removedBackups"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{removed}"
    );
    let listed = sidecar
        .run_ok(&json!({"type": "list", "storageLocation": location}))
        .await;
    assert_eq!(listed["backups"], 1, "{listed}");
    assert_eq!(listed["response"][0]["snapshotTag"], "rt2", "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_round_trip_on_file_storage() {
    round_trip("IMPORT", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardlinks_round_trip_on_file_storage() {
    round_trip("HARDLINKS", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_round_trip_on_s3() {
    round_trip("IMPORT", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardlinks_round_trip_on_s3() {
    round_trip("HARDLINKS", true).await;
}

/// IN_PLACE: the node is stopped, its tables synced with the backup, started again, and serves
/// exactly the backed-up rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_restores_a_stopped_node_from_file_storage() {
    in_place(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_restores_a_stopped_node_from_s3() {
    in_place(true).await;
}

async fn in_place(on_s3: bool) {
    let _node = SHARED_NODE.write().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("in_place");
    seed(&cql, &ks).await;
    let root = test_root(&ks);
    let (_s3, location, env) = storage(on_s3, &root, &ks);
    // Confinement on: the node's own directories are known from its cassandra.yaml.
    let sidecar = Sidecar::start_with_env(
        node,
        "127.0.0.1:0",
        &[
            "--allowed-root",
            &root.display().to_string(),
            "--cassandra-config",
            &node.conf_dir().display().to_string(),
        ],
        &env,
    )
    .await;
    back_up(&sidecar, &location, &ks, "ip", &json!({})).await;

    cql.exec(&format!(
        "DELETE FROM {ks}.t WHERE id IN (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)"
    ))
    .await;
    cql.insert(&ks, "u", 200..210).await;
    drop(cql);
    let body = in_place_body(node, &location, &ks);
    let refused = sidecar.run(&body).await;
    assert_eq!(
        refused["state"], "FAILED",
        "a running node is refused: {refused}"
    );

    node.stop();
    let record = sidecar.run_ok(&body).await;
    node.start();
    let cql = Cql::connect(&node.native_address()).await;
    for table in TABLES {
        assert_eq!(
            cql.rows(&ks, table).await,
            Cql::expected(0..40),
            "{ks}.{table} after IN_PLACE: {record}"
        );
    }
}

fn in_place_body(node: &RealNode, location: &str, ks: &str) -> Value {
    json!({"type": "restore", "storageLocation": location, "snapshotTag": "ip",
           "restorationStrategyType": "IN_PLACE", "cassandraDirectory": node.dir,
           "dataDirs": [node.data_dir()], "cassandraConfigDirectory": node.conf_dir(),
           "entities": ks, "updateCassandraYaml": false})
}
