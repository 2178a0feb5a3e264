//! Point-in-time recovery on the real server: a node archiving its commit-log segments
//! (`archive_command` hard-links each closed segment), a backup, writes before and after a
//! chosen second, the segments uploaded by `commitlog-backup`, then a `restore` with
//! `pointInTime` on the stopped node. The sidecar restores the backup, has Cassandra replay the
//! archived segments up to that second as it starts it, and removes the restore settings; CQL
//! then shows exactly the rows written up to that second. Moments the archive cannot reach are
//! refused (400) before anything is accepted.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::harness::node::version;
use scylla::statement::Consistency;

use crate::cluster::sidecars;
use crate::harness::{keyspace, work_root, Cql, NodeOptions, RealNode, Sidecar, RING};

/// A value of about 20 KiB, so that a few dozen rows fill a 1 MiB segment.
fn pad() -> String {
    "x".repeat(20_000)
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn rfc3339(epoch_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

/// The small segments that make a few writes span several of them (the setting's name changed
/// in 4.1).
fn segment_size_setting() -> String {
    match version() {
        Some(v) if v.starts_with("4.0") || v.starts_with("3.") => {
            "commitlog_segment_size_in_mb=1".to_string()
        }
        _ => "commitlog_segment_size=1MiB".to_string(),
    }
}

/// The last-modified time (epoch millis) of the newest segment stored in a `file://` node's
/// `commitlog/` (the suffix of its key).
fn newest_stored(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.rsplit_once('.')?.1.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// The last write (epoch millis) of the newest segment in an archive directory.
fn newest_in(archive: &Path) -> u64 {
    std::fs::read_dir(archive)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64)
        .max()
        .unwrap_or(0)
}

/// Until continuous archiving has taken every segment out of the archive directory.
async fn wait_until_empty(archive: &Path) {
    for _ in 0..600 {
        if std::fs::read_dir(archive).unwrap().next().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segments still waiting in {archive:?}");
}

/// One figure of the sidecar's `/metrics`.
async fn metric(sidecar: &Sidecar, name: &str) -> f64 {
    let text = sidecar.get_text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

async fn insert(cql: &Cql, ks: &str, table: &str, ids: std::ops::Range<i32>) {
    let pad = pad();
    for id in ids {
        cql.exec(&format!(
            "INSERT INTO {ks}.{table} (id, v) VALUES ({id}, '{pad}')"
        ))
        .await;
    }
}

async fn ids(cql: &Cql, ks: &str) -> Vec<i32> {
    let mut ids: Vec<i32> = cql
        .texts(&format!("SELECT CAST(id AS text) FROM {ks}.t"))
        .await
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// `archive_command` in the configuration of the node in `dir`, linking each closed segment into
/// `dir/commitlog_archive`, which is returned.
fn archive_into(dir: &Path) -> PathBuf {
    let archive = dir.join("commitlog_archive");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::write(
        dir.join("conf/commitlog_archiving.properties"),
        format!(
            "archive_command=/bin/ln %path {}/%name\n",
            archive.display()
        ),
    )
    .unwrap();
    archive
}

/// A fresh node of its own that archives its small segments, started; and its archive.
fn archiving_node(name: &str, address: &str, jmx_port: u16) -> (RealNode, PathBuf) {
    let node = RealNode::fresh(
        name,
        &NodeOptions {
            address: address.into(),
            jmx_port,
            extra: vec!["--yaml".into(), segment_size_setting()],
            ..NodeOptions::default()
        },
    );
    let archive = archive_into(&node.dir);
    node.start();
    (node, archive)
}

/// An empty `file://` bucket under `target/real/<name>`: the location of one node in it, and
/// the directory its archived segments go to.
fn fresh_store(name: &str) -> (String, PathBuf) {
    let root = work_root().join(name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bucket")).unwrap();
    let location = format!("file://{}/bucket/daedalus-test/dc1/node1", root.display());
    (
        location,
        root.join("bucket/daedalus-test/dc1/node1/commitlog"),
    )
}

fn restore_body(node: &RealNode, location: &str, ks: &str, point: &str) -> Value {
    json!({"type": "restore", "storageLocation": location,
           "restorationStrategyType": "IN_PLACE", "cassandraDirectory": node.dir,
           "dataDirs": [node.data_dir()], "cassandraConfigDirectory": node.conf_dir(),
           "commitlogDownloadDir": node.dir.join("commitlog_restore"),
           "entities": ks, "pointInTime": point})
}

fn properties(node: &RealNode) -> String {
    std::fs::read_to_string(node.conf_dir().join("commitlog_archiving.properties")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_is_restored_to_a_second_between_two_writes() {
    let (node, archive) = archiving_node("pitr", "127.0.0.12", 7799);

    let (location, stored_dir) = fresh_store("pitr-store");
    let restart = node.restart_command();
    // Continuous archiving: every segment Cassandra links into the archive goes up at once.
    let archive_flag = archive.display().to_string();
    let sidecar = Sidecar::start(
        &node,
        "127.0.0.1:0",
        &[
            "--restart-command",
            &restart,
            "--restart-timeout",
            "5m",
            "--commitlog-archive",
            &archive_flag,
            "--commitlog-archive-location",
            &location,
        ],
    )
    .await;

    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("pitr");
    cql.create_table(&ks, "t").await;
    cql.create_table(&ks, "filler").await;
    insert(&cql, &ks, "t", 0..20).await;
    sidecar
        .run_ok(&json!({"type": "backup", "storageLocation": location,
                         "snapshotTag": "base", "entities": ks, "createMissingBucket": true}))
        .await;

    // Written after the backup and before the point: the replay must bring these back.
    insert(&cql, &ks, "t", 100..130).await;
    let point = (now_millis() / 1000 + 1) as i64;
    let after_point =
        Duration::from_millis((point as u64 * 1000 + 300).saturating_sub(now_millis()));
    tokio::time::sleep(after_point).await;
    // Written after the point: the replay must leave these out.
    insert(&cql, &ks, "t", 200..230).await;
    // Until the segment holding the point is closed and uploaded; the recovery point lag is
    // sampled meanwhile (printed, not asserted).
    let mut lag = Vec::new();
    for round in 0.. {
        if newest_stored(&stored_dir) > point as u64 * 1000 {
            break;
        }
        assert!(
            round < 100,
            "no segment closed after the point reached {stored_dir:?}"
        );
        insert(&cql, &ks, "filler", round * 20..round * 20 + 20).await;
        lag.push(metric(&sidecar, "daedalus_commitlog_archive_lag_seconds").await);
    }
    drop(cql);
    eprintln!("recovery point lag while writing, seconds: {lag:?}");
    wait_until_empty(&archive).await;
    let archived = metric(&sidecar, "daedalus_commitlog_archived_segments_total").await;
    assert!(archived >= 2.0, "{archived} segments archived");
    let stored: Vec<String> = std::fs::read_dir(&stored_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        stored
            .iter()
            .all(|k| k.starts_with("CommitLog-") && k.contains(".log.")),
        "Esop's keys <segment>.<millis>: {stored:?}"
    );

    let listed = sidecar
        .run_ok(&json!({"type": "list", "storageLocation": location}))
        .await;
    let window = &listed["recoveryWindows"][0];
    assert_eq!(window["node"], "daedalus-test/dc1/node1", "{listed}");
    let (earliest, latest) = (
        window["earliest"].as_str().unwrap_or_default(),
        window["latest"].as_str().unwrap_or_default(),
    );
    assert!(
        earliest <= rfc3339(point).as_str() && rfc3339(point).as_str() <= latest,
        "{} inside the recovery window {earliest} .. {latest}",
        rfc3339(point)
    );

    // The stop archives the open segment, which goes up too.
    node.stop();
    wait_until_empty(&archive).await;
    let table_files = |node: &RealNode| {
        let mut files: Vec<_> = std::fs::read_dir(node.table_dir(&ks, "t"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        files.sort();
        files
    };
    let before = table_files(&node);

    // Moments the archive cannot reach are refused before anything is accepted.
    let too_late = rfc3339((newest_stored(&stored_dir) / 1000) as i64 + 3600);
    let late = sidecar
        .post(&restore_body(&node, &location, &ks, &too_late))
        .await;
    assert_eq!(late.status, 400, "{:?}", late.body);
    assert_eq!(late.body["field"], "pointInTime", "{:?}", late.body);
    let message = late.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("later than the last archived commit-log segment"),
        "{message}"
    );
    // An hour before the backup: no backup to start from.
    let early = sidecar
        .post(&restore_body(&node, &location, &ks, &rfc3339(point - 3600)))
        .await;
    assert_eq!(early.status, 400, "{:?}", early.body);
    let message = early.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("no backup"), "{message}");
    let listed = sidecar.get("/operations").await;
    assert!(
        !listed.body.to_string().contains("pointInTime"),
        "nothing was journaled for the refused restores: {:?}",
        listed.body
    );
    assert_eq!(
        table_files(&node),
        before,
        "refused restores left the table alone"
    );
    assert!(
        !properties(&node).contains("restore_"),
        "{}",
        properties(&node)
    );

    let record = sidecar
        .run_ok(&restore_body(&node, &location, &ks, &rfc3339(point)))
        .await;
    // For the record of what a restore to a moment costs (not asserted).
    eprintln!(
        "restore to {}: {} .. {}, {} segment(s), {} bytes",
        rfc3339(point),
        record["startTime"],
        record["completionTime"],
        record["segments"],
        record["segmentBytes"]
    );
    assert_eq!(record["restoreSettingsRemoved"], true, "{record}");
    assert!(record["segments"].as_u64().unwrap() >= 1, "{record}");
    assert!(node.running(), "the restore started the node to replay");

    let cql = Cql::connect(&node.native_address()).await;
    let expected: Vec<i32> = (0..20).chain(100..130).collect();
    assert_eq!(
        ids(&cql, &ks).await,
        expected,
        "exactly the rows written up to {}: {record}",
        rfc3339(point)
    );
    let settings = properties(&node);
    assert!(
        settings.contains("archive_command=") && !settings.contains("restore_"),
        "archiving kept, restore settings gone: {settings}"
    );
}

/// The three-node ring, every node archiving its commit logs: a cluster-wide backup, writes
/// before and after a chosen second, every node stopped, then one cluster-wide `restore` with
/// `pointInTime` sent to one sidecar whose node is stopped too. It finds the nodes in the
/// backup's topology file, and each node's sidecar restores and starts its node: CQL at ALL
/// through every node shows exactly the rows written up to that second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_ring_is_restored_to_one_second_on_every_node() {
    let _ring = RING.lock().await;
    let small_segments = ["--yaml".to_string(), segment_size_setting()];
    let nodes = RealNode::cluster_fresh_prepared("cluster-pitr", &small_segments, |dir| {
        archive_into(dir);
    });
    let root = work_root().join("cluster-pitr");
    let cars = sidecars(&nodes, &root.display().to_string()).await;
    let cql = Cql::connect(&nodes[0].native_address()).await;
    let ks = "pitr_ring";
    cql.create_ring_table(ks, "t").await;
    cql.insert_at(ks, "t", 0..30, Consistency::All).await;
    let location = format!(
        "file://{}/backups/bucket/daedalus-test/dc1/node",
        root.display()
    );
    let backup = cars[0]
        .run_ok(
            &json!({"type": "backup", "globalRequest": true, "storageLocation": location,
                    "snapshotTag": "g1", "entities": ks, "createMissingBucket": true}),
        )
        .await;

    cql.insert_at(ks, "t", 100..130, Consistency::All).await;
    let point = (now_millis() / 1000 + 1) as i64;
    tokio::time::sleep(Duration::from_millis(
        (point as u64 * 1000 + 300).saturating_sub(now_millis()),
    ))
    .await;
    cql.insert_at(ks, "t", 200..230, Consistency::All).await;
    // Until every node has closed (and so archived) the segment holding the point. A clean stop
    // archives the open segment too, but not always before the process is gone.
    cql.exec(&format!(
        "CREATE TABLE {ks}.filler (id int PRIMARY KEY, v text)"
    ))
    .await;
    let covered =
        |node: &RealNode| newest_in(&node.dir.join("commitlog_archive")) > point as u64 * 1000;
    for round in 0.. {
        if nodes.iter().all(covered) {
            break;
        }
        assert!(
            round < 100,
            "no segment closed after the point on every node"
        );
        let pad = pad();
        for id in round * 20..round * 20 + 20 {
            cql.exec_at(
                &format!("INSERT INTO {ks}.filler (id, v) VALUES ({id}, '{pad}')"),
                Consistency::All,
            )
            .await;
        }
    }
    drop(cql);
    for node in &nodes {
        node.stop();
    }
    // Each node's segments go up under its own prefix, as the backup named it.
    for entry in backup["nodes"].as_array().unwrap() {
        let endpoint = entry["endpoint"].as_str().unwrap();
        let i = nodes
            .iter()
            .position(|n| endpoint.starts_with(&n.options.address))
            .unwrap();
        let own = format!(
            "file://{}/backups/bucket/daedalus-test/{}/{}",
            root.display(),
            entry["dc"].as_str().unwrap(),
            entry["hostId"].as_str().unwrap()
        );
        cars[i]
            .run_ok(&json!({"type": "commitlog-backup", "storageLocation": own,
                            "commitLogArchiveOverride": nodes[i].dir.join("commitlog_archive")}))
            .await;
    }

    let restore = cars[0]
        .run_ok(
            &json!({"type": "restore", "globalRequest": true, "storageLocation": location,
            "restorationStrategyType": "IN_PLACE", "pointInTime": rfc3339(point),
            "entities": ks,
            // Each sidecar runs in its node's directory, as each host of a real ring has its own.
            "cassandraDirectory": "/proc/self/cwd",
            "cassandraConfigDirectory": "/proc/self/cwd/conf",
            "commitlogDownloadDir": "/proc/self/cwd/commitlog_restore"}),
        )
        .await;
    let states: Vec<&str> = restore["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["state"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(states, ["COMPLETED"; 3], "{restore}");
    let expected: Vec<(i32, String)> = Cql::expected(0..30)
        .into_iter()
        .chain(Cql::expected(100..130))
        .collect();
    // Each sidecar waited for its own node; the nodes must also see each other UP again
    // before a read at ALL can reach all three.
    for node in &nodes {
        for round in 0.. {
            let status = node.nodetool(&["status"]);
            if status.lines().filter(|l| l.starts_with("UN ")).count() == 3 {
                break;
            }
            assert!(round < 120, "the ring did not come back UP: {status}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    for node in &nodes {
        assert!(node.running(), "{:?} was started by its sidecar", node.dir);
        let cql = Cql::connect(&node.native_address()).await;
        assert_eq!(
            cql.rows_at(ks, "t", Consistency::All).await,
            expected,
            "through {}: exactly the rows written up to {}",
            node.options.address,
            rfc3339(point)
        );
    }
    for node in &nodes {
        node.kill();
    }
}

/// A segment damaged in the store: Cassandra will not start on it, and the restore ends FAILED
/// saying that the data directories hold the backup, that the restore section is still in
/// place, and what to do; the section is left for the operator, not removed behind their back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_segment_stops_the_start_and_the_record_says_what_to_do() {
    let (node, archive) = archiving_node("pitr-damaged", "127.0.0.13", 7899);
    let (location, stored_dir) = fresh_store("pitr-damaged-store");
    let (restart, archive_flag) = (node.restart_command(), archive.display().to_string());
    let sidecar = Sidecar::start(
        &node,
        "127.0.0.1:0",
        &[
            "--restart-command",
            &restart,
            "--commitlog-archive",
            &archive_flag,
            "--commitlog-archive-location",
            &location,
        ],
    )
    .await;
    let cql = Cql::connect(&node.native_address()).await;
    let ks = keyspace("pitr_damaged");
    cql.create_table(&ks, "t").await;
    insert(&cql, &ks, "t", 0..10).await;
    sidecar
        .run_ok(&json!({"type": "backup", "storageLocation": location,
                         "snapshotTag": "base", "entities": ks}))
        .await;
    insert(&cql, &ks, "t", 100..140).await;
    let point = (now_millis() / 1000 + 1) as i64;
    tokio::time::sleep(Duration::from_millis(
        (point as u64 * 1000 + 300).saturating_sub(now_millis()),
    ))
    .await;
    insert(&cql, &ks, "t", 200..240).await;
    drop(cql);
    node.stop();
    wait_until_empty(&archive).await;

    // Every stored segment gets a damaged header (its size unchanged).
    for entry in std::fs::read_dir(&stored_dir).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..64].fill(0xFF);
        std::fs::write(&path, bytes).unwrap();
    }
    let record = sidecar
        .run(&restore_body(&node, &location, &ks, &rfc3339(point)))
        .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let message = record["failureCause"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("still has the restore section") && message.contains("restore_*"),
        "{message}"
    );
    assert!(
        !node.running(),
        "Cassandra did not start on the damaged segment"
    );
    assert!(
        properties(&node).contains("restore_point_in_time="),
        "the restore section is left for the operator: {}",
        properties(&node)
    );
}
