//! Every single-node operation type on the real node, each checked by its effect: rows through
//! CQL, SSTables on disk, the node's own answers.

use serde_json::json;

use crate::harness::node::{data_files, table_dir_under};
use crate::harness::{keyspace, shared, Cql, Sidecar, SHARED_NODE};

/// A flush writes the memtable into a new SSTable on disk; the rows are still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_writes_a_new_sstable() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("flush");
    cql.create_table(&ks, "t").await;
    cql.insert(&ks, "t", 0..20).await;
    let table_dir = node.table_dir(&ks, "t");
    assert!(data_files(&table_dir).is_empty(), "nothing flushed yet");

    let sidecar = Sidecar::start(node, "127.0.0.1:0", &[]).await;
    sidecar
        .run_ok(&json!({"type": "flush", "keyspace": ks, "tables": ["t"]}))
        .await;
    assert_eq!(
        data_files(&table_dir).len(),
        1,
        "one SSTable in {table_dir:?}"
    );
    assert_eq!(cql.rows(&ks, "t").await, Cql::expected(0..20));
}

/// A truncate removes every row (only with `--enable-truncate`), and Cassandra's automatic
/// snapshot keeps them on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncate_removes_the_rows() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("truncate");
    cql.create_table(&ks, "t").await;
    cql.insert(&ks, "t", 0..10).await;

    let refused = Sidecar::start(node, "127.0.0.1:0", &[]).await;
    let resp = refused
        .post(&json!({"type": "truncate", "keyspace": ks, "table": "t"}))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(cql.rows(&ks, "t").await.len(), 10);

    let sidecar = Sidecar::start(node, "127.0.0.1:0", &["--enable-truncate"]).await;
    sidecar
        .run_ok(&json!({"type": "truncate", "keyspace": ks, "table": "t"}))
        .await;
    assert!(cql.rows(&ks, "t").await.is_empty(), "rows gone");
    let snapshots = node.table_dir(&ks, "t").join("snapshots");
    let names: Vec<String> = std::fs::read_dir(&snapshots)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        names.iter().any(|n| n.starts_with("truncated-")),
        "auto_snapshot took truncated-…: {names:?}"
    );
}

/// SSTables the real server wrote for one table are imported into others of the same schema from
/// a directory of any name (Cassandra's importer itself takes only `<keyspace>/<table>`; the
/// sidecar stages the files): the rows are served afterwards; `copyData: false` moves the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_serves_sstables_the_server_wrote() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("import");
    for table in ["source", "copied", "moved", "named"] {
        cql.create_table(&ks, table).await;
    }
    cql.insert(&ks, "source", 0..50).await;
    let import_root = crate::harness::work_root().join(format!("import-{ks}"));
    let _ = std::fs::remove_dir_all(&import_root);
    let sidecar = Sidecar::start(
        node,
        "127.0.0.1:0",
        &["--allowed-root", &import_root.display().to_string()],
    )
    .await;
    sidecar
        .run_ok(&json!({"type": "flush", "keyspace": ks, "tables": ["source"]}))
        .await;
    let source_dir = node.table_dir(&ks, "source");
    let stage = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir).unwrap();
        for file in std::fs::read_dir(&source_dir).unwrap().flatten() {
            if file.file_type().unwrap().is_file() {
                std::fs::copy(file.path(), dir.join(file.file_name())).unwrap();
            }
        }
    };

    for (table, dir, copy) in [
        ("copied", import_root.join("upload"), true),
        ("moved", import_root.join("upload-moved"), false),
        ("named", import_root.join(&ks).join("named"), true),
    ] {
        stage(&dir);
        let before = std::fs::read_dir(&dir).unwrap().count();
        assert!(cql.rows(&ks, table).await.is_empty());
        let record = sidecar
            .run_ok(&json!({"type": "import", "keyspace": ks, "table": table,
                             "sourceDir": dir, "copyData": copy}))
            .await;
        assert_eq!(cql.rows(&ks, table).await, Cql::expected(0..50), "{record}");
        let target_dir = table_dir_under(&node.data_dir().join(&ks), table).unwrap();
        assert_eq!(data_files(&target_dir).len(), 1, "{target_dir:?}");
        let left = std::fs::read_dir(&dir).unwrap().count();
        if copy {
            assert_eq!(left, before, "copyData keeps every file of {dir:?}");
        } else {
            assert!(
                data_files(&dir).is_empty(),
                "the SSTables moved out of {dir:?}"
            );
        }
    }
}

/// cleanup, scrub and upgradesstables complete on a table with data, which keeps its rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactions_complete_and_keep_the_rows() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("compaction");
    cql.create_table(&ks, "t").await;
    cql.insert(&ks, "t", 0..30).await;
    let sidecar = Sidecar::start(node, "127.0.0.1:0", &[]).await;
    sidecar
        .run_ok(&json!({"type": "flush", "keyspace": ks}))
        .await;
    for body in [
        json!({"type": "cleanup", "keyspace": ks, "tables": ["t"]}),
        json!({"type": "scrub", "keyspace": ks, "tables": ["t"]}),
        json!({"type": "upgradesstables", "keyspace": ks, "tables": ["t"], "includeAllSStables": true}),
    ] {
        let record = sidecar.run_ok(&body).await;
        assert_eq!(record["progress"], 1.0, "{record}");
        assert_eq!(
            cql.rows(&ks, "t").await,
            Cql::expected(0..30),
            "after {body}"
        );
    }
    // scrub snapshots the table first unless told not to (`pre-scrub-<millis>`).
    let snapshots = node.table_dir(&ks, "t").join("snapshots");
    assert!(
        std::fs::read_dir(&snapshots)
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("pre-scrub-")),
        "scrub's snapshot in {snapshots:?}"
    );
}

/// An unknown keyspace fails with the node's own exception as the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_keyspace_fails_with_the_java_exception() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let sidecar = Sidecar::start(node, "127.0.0.1:0", &[]).await;
    let record = sidecar
        .run(&json!({"type": "flush", "keyspace": "no_such_keyspace"}))
        .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let cause = &record["failureCause"];
    assert_eq!(
        cause["class"], "java.lang.IllegalArgumentException",
        "{record}"
    );
    assert!(
        cause["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no_such_keyspace"),
        "{record}"
    );
}
