//! What stops or reloads the node: refresh (SSTables dropped into the table's directory are
//! loaded), drain (the node stops serving writes: mode DRAINED) and restart through a
//! `--restart-command` that really restarts the process.

use serde_json::json;

use crate::harness::node::data_files;
use crate::harness::{keyspace, shared, Cql, Sidecar, SHARED_NODE};

/// SSTables the server wrote for one table, copied into another table's directory, are served
/// after a `refresh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_loads_sstables_dropped_into_the_table_directory() {
    let _node = SHARED_NODE.read().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("refresh");
    cql.create_table(&ks, "source").await;
    cql.create_table(&ks, "target").await;
    cql.insert(&ks, "source", 0..25).await;
    let sidecar = Sidecar::start(node, "127.0.0.1:0", &[]).await;
    sidecar
        .run_ok(&json!({"type": "flush", "keyspace": ks, "tables": ["source"]}))
        .await;
    let target_dir = node.table_dir(&ks, "target");
    for file in std::fs::read_dir(node.table_dir(&ks, "source"))
        .unwrap()
        .flatten()
    {
        if file.file_type().unwrap().is_file() {
            std::fs::copy(file.path(), target_dir.join(file.file_name())).unwrap();
        }
    }
    assert!(cql.rows(&ks, "target").await.is_empty(), "not loaded yet");
    sidecar
        .run_ok(&json!({"type": "refresh", "keyspace": ks, "table": "target"}))
        .await;
    assert_eq!(cql.rows(&ks, "target").await, Cql::expected(0..25));
    assert_eq!(data_files(&target_dir).len(), 1);
}

/// `restart` drains the node, runs the restart command (the process really stops and starts on
/// its data), and completes once the node is NORMAL again; rows written before are served.
/// Then `drain` leaves the node DRAINED (it takes no more writes) until it is started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_and_drain_act_on_the_real_process() {
    let _node = SHARED_NODE.write().await;
    let node = shared();
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("restart");
    cql.create_table(&ks, "t").await;
    cql.insert(&ks, "t", 0..10).await;
    drop(cql);
    assert!(node.running(), "the shared node runs");
    let pid_before = std::fs::read_to_string(node.dir.join("pid")).unwrap();
    let command = node.restart_command();
    let sidecar = Sidecar::start(
        node,
        "127.0.0.1:0",
        &["--restart-command", &command, "--restart-timeout", "5m"],
    )
    .await;

    let record = sidecar.run_ok(&json!({"type": "restart"})).await;
    let pid_after = std::fs::read_to_string(node.dir.join("pid")).unwrap();
    assert_ne!(pid_before, pid_after, "a new process: {record}");
    assert_eq!(sidecar.get("/status").await.body["nodeState"], "NORMAL");
    let cql = Cql::connect(&node.native_address()).await;
    assert_eq!(cql.rows(&ks, "t").await, Cql::expected(0..10));
    drop(cql);

    sidecar.run_ok(&json!({"type": "drain"})).await;
    assert_eq!(sidecar.get("/status").await.body["nodeState"], "DRAINED");
    let netstats = node.nodetool(&["netstats"]);
    assert!(netstats.contains("Mode: DRAINED"), "{netstats}");
    node.stop();
    node.start();
    let cql = Cql::connect(&node.native_address()).await;
    assert_eq!(cql.rows(&ks, "t").await, Cql::expected(0..10));
}
