//! The real three-node cluster (127.0.0.2 and .3 in dc1, .4 in dc2, NetworkTopologyStrategy), a
//! sidecar beside each node on the same port: a global backup then a global restore (rows at
//! consistency ALL through every node), Esop's backups of every node restored cluster-wide, a rolling restart through real restarts, a node killed
//! during a global request named in the record, rebuild, and a real decommission. One scenario in
//! order, since each step leaves the ring as the next needs it.

use std::collections::BTreeSet;

use scylla::statement::Consistency;
use serde_json::{json, Value};

use crate::harness::esop::esop;
use crate::harness::{work_root, Cql, RealNode, Sidecar, RING};

/// The API port every sidecar of the cluster listens on, at its node's address.
const PORT: u16 = 4599;

pub(crate) async fn sidecars(nodes: &[RealNode], root: &str) -> Vec<Sidecar> {
    let mut out = Vec::new();
    for node in nodes {
        let listen = format!("{}:{PORT}", node.options.address);
        let restart = node.restart_command();
        out.push(
            Sidecar::start(
                node,
                &listen,
                &[
                    "--allowed-root",
                    root,
                    "--restart-command",
                    &restart,
                    "--peer-timeout",
                    "20s",
                ],
            )
            .await,
        );
    }
    out
}

/// Every row of `ks.t` read at ALL through each node.
async fn rows_everywhere(nodes: &[RealNode], ks: &str) -> Vec<Vec<(i32, String)>> {
    let mut out = Vec::new();
    for node in nodes {
        let cql = Cql::connect(&node.native_address()).await;
        out.push(cql.rows_at(ks, "t", Consistency::All).await);
    }
    out
}

fn states(record: &Value) -> Vec<(String, String)> {
    record["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes in {record}"))
        .iter()
        .map(|n| {
            (
                n["endpoint"].as_str().unwrap_or_default().to_string(),
                n["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pid(node: &RealNode) -> String {
    std::fs::read_to_string(node.dir.join("pid")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_real_nodes_back_up_restore_roll_and_shrink() {
    let _ring = RING.lock().await;
    let nodes = RealNode::cluster_fresh("cluster");
    let root = work_root().join("cluster");
    let root_flag = root.display().to_string();
    let cars = sidecars(&nodes, &root_flag).await;
    let coordinator = &cars[0];

    // Every node holds every row: dc1 has two replicas, dc2 one.
    let cql = Cql::connect(&nodes[0].native_address()).await;
    let ks = "cluster_ks";
    cql.create_ring_table(ks, "t").await;
    cql.insert_at(ks, "t", 0..60, Consistency::All).await;

    // The ring as the sidecars see it is what nodetool says.
    let topology = coordinator.get("/topology").await.body;
    let seen: BTreeSet<String> = topology["topology"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("{} {} {}", n["ipAddress"], n["dc"], n["rack"]))
        .collect();
    assert_eq!(seen.len(), 3, "{topology}");
    let status = nodes[0].nodetool(&["status"]);
    assert_eq!(
        status.lines().filter(|l| l.starts_with("UN ")).count(),
        3,
        "{status}"
    );

    // A global backup, then changes, then a global restore: every node serves the backup again.
    // A file:// location always names cluster, dc and node; each node gets its own in their place.
    let location = format!(
        "file://{}/backups/bucket/daedalus-test/dc1/node",
        root.display()
    );
    let backup = coordinator
        .run_ok(
            &json!({"type": "backup", "globalRequest": true, "storageLocation": location,
                        "snapshotTag": "g1", "entities": ks, "createMissingBucket": true}),
        )
        .await;
    assert!(
        states(&backup).iter().all(|(_, s)| s == "COMPLETED"),
        "{backup}"
    );
    assert_eq!(states(&backup).len(), 3, "{backup}");
    cql.exec_at(
        &format!("DELETE FROM {ks}.t WHERE id IN (5, 6, 7)"),
        Consistency::All,
    )
    .await;
    cql.insert_at(ks, "t", 100..105, Consistency::All).await;
    let restore = coordinator
        .run_ok(
            &json!({"type": "restore", "globalRequest": true, "storageLocation": location,
                        "snapshotTag": "g1", "restorationStrategyType": "IMPORT",
                        "restorationPhase": "INIT", "entities": ks,
                        // Each node downloads into its own directory (its sidecar runs in
                        // its node's directory), as each host of a real ring has its own disk.
                        "import": {"type": "import", "sourceDir": "/proc/self/cwd/restore"}}),
        )
        .await;
    for rows in rows_everywhere(&nodes, ks).await {
        assert_eq!(
            rows,
            Cql::expected(0..60),
            "after the global restore: {restore}"
        );
    }

    // Esop's backup of every node, laid out as Icarus's cluster-wide backup lays it out (cluster,
    // dc, host id), restores cluster-wide through Daedalus.
    let esop_bucket = root.join("esop").join("bucket");
    let cluster_name = topology["topology"][0]["cluster"].as_str().unwrap();
    for node in &nodes {
        let entry = topology["topology"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["ipAddress"] == node.options.address.as_str())
            .unwrap_or_else(|| panic!("{} in {topology}", node.options.address));
        let location = format!(
            "file://{}/{cluster_name}/{}/{}",
            esop_bucket.display(),
            entry["dc"].as_str().unwrap(),
            entry["nodeId"].as_str().unwrap()
        );
        let data = node.data_dir().display().to_string();
        esop(&[
            "backup",
            "--jmx-service",
            &node.jmx_service(),
            "--storage-location",
            &location,
            "--data-dir",
            &data,
            "--entities",
            ks,
            "--snapshot-tag",
            "esopg",
            "--create-missing-bucket",
        ]);
    }
    cql.exec_at(
        &format!("DELETE FROM {ks}.t WHERE id IN (10, 11)"),
        Consistency::All,
    )
    .await;
    cql.insert_at(ks, "t", 200..203, Consistency::All).await;
    let from_esop = coordinator
        .run_ok(&json!({"type": "restore", "globalRequest": true,
                        "storageLocation": format!("file://{}/{cluster_name}/dc1/node", esop_bucket.display()),
                        "snapshotTag": "esopg", "restorationStrategyType": "IMPORT",
                        "restorationPhase": "INIT", "entities": ks,
                        "import": {"type": "import", "sourceDir": "/proc/self/cwd/restore-esop"}}))
        .await;
    assert_eq!(states(&from_esop).len(), 3, "{from_esop}");
    for rows in rows_everywhere(&nodes, ks).await {
        assert_eq!(
            rows,
            Cql::expected(0..60),
            "after the global restore of Esop's backups: {from_esop}"
        );
    }

    // A rolling restart through real restarts: every process is new, every node NORMAL again.
    let before: Vec<String> = nodes.iter().map(pid).collect();
    let roll = coordinator
        .run_ok(&json!({"type": "restart", "globalRequest": true}))
        .await;
    let after: Vec<String> = nodes.iter().map(pid).collect();
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a, "every node restarted: {roll}");
    }
    // No two nodes were down at once: each node's own restart (in its sidecar's record, under
    // the id the coordinator gave it) ended before the next one started.
    let mut spans = Vec::new();
    for entry in roll["nodes"].as_array().unwrap() {
        let id = entry["operationId"].as_str().unwrap();
        let owner = cars
            .iter()
            .zip(&nodes)
            .find(|(_, n)| {
                entry["endpoint"]
                    .as_str()
                    .unwrap()
                    .starts_with(&n.options.address)
            })
            .map(|(car, _)| car)
            .unwrap();
        let record = owner.get(&format!("/operations/{id}")).await.body;
        let (start, end) = (
            record["startTime"].as_str().unwrap().to_string(),
            record["completionTime"].as_str().unwrap().to_string(),
        );
        spans.push((start, end));
    }
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two restarts overlapped: {spans:?}");
    }
    let status = nodes[0].nodetool(&["status"]);
    assert_eq!(
        status.lines().filter(|l| l.starts_with("UN ")).count(),
        3,
        "{status}"
    );
    assert_eq!(rows_everywhere(&nodes, ks).await[0], Cql::expected(0..60));

    // rebuild of dc2's node from dc1 completes and leaves it serving the rows.
    cars[2]
        .run_ok(&json!({"type": "rebuild", "sourceDC": "dc1", "keyspace": ks}))
        .await;

    // A node killed (SIGKILL) during a global request is named in the record.
    nodes[2].kill();
    let flush = coordinator
        .run(&json!({"type": "flush", "keyspace": ks, "globalRequest": true}))
        .await;
    assert_eq!(flush["state"], "FAILED", "{flush}");
    let failed: Vec<(String, String)> = states(&flush)
        .into_iter()
        .filter(|(_, s)| s != "COMPLETED")
        .collect();
    assert_eq!(failed.len(), 1, "{flush}");
    assert!(failed[0].0.starts_with("127.0.0.4"), "{flush}");
    nodes[2].start();

    // A real decommission. Cassandra refuses it while a keyspace would lose a replica
    // (system_distributed has RF 3 on three nodes) and says so in the record; `force` goes on,
    // and 127.0.0.3 leaves: the ring shrinks to two.
    cql.exec(&format!("DROP KEYSPACE {ks}")).await;
    let refused = cars[1].run(&json!({"type": "decommission"})).await;
    assert_eq!(refused["state"], "FAILED", "{refused}");
    assert_eq!(
        refused["failureCause"]["class"], "java.lang.UnsupportedOperationException",
        "{refused}"
    );
    assert!(
        refused["failureCause"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Not enough live nodes"),
        "{refused}"
    );
    let decommission = cars[1]
        .run_ok(&json!({"type": "decommission", "force": true}))
        .await;
    let status = nodes[0].nodetool(&["status"]);
    assert!(!status.contains("127.0.0.3 "), "{status}\n{decommission}");
    assert_eq!(
        status.lines().filter(|l| l.starts_with("UN ")).count(),
        2,
        "{status}"
    );
    let topology = coordinator.get("/topology").await.body;
    assert_eq!(
        topology["topology"].as_array().unwrap().len(),
        2,
        "{topology}"
    );
    for node in &nodes {
        node.kill();
    }
}
