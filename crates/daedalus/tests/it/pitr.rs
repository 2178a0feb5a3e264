//! Point-in-time recovery through HTTP against the test node and `file://` storage: the rules of
//! `pointInTime` and of the two commit-log operations as 400s naming their field, a moment the
//! archive cannot reach refused before anything is accepted, and `commitlog-backup` then
//! `commitlog-restore` on segment files, read back byte for byte with the restore section
//! written. Replay itself is the real server's: `tests/real/pitr.rs`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backup::commitlog;
use backup::store::StoreOptions;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::{json, Value};

use crate::common::*;
use crate::restore::{back_up, file_location, seeded_node};

fn in_place(location: &str, point: &str) -> Value {
    json!({"type": "restore", "storageLocation": location, "restorationStrategyType": "IN_PLACE",
           "cassandraDirectory": "/tmp/pitr-cassandra", "pointInTime": point})
}

fn rfc3339(epoch_seconds: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(epoch_seconds as i64).unwrap();
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn refused(server: &TestServer, body: &Value, field: &str, says: &str) {
    let resp = server.post(body).await;
    assert_eq!(resp.status, 400, "{body}: {}", resp.body);
    assert_eq!(resp.body["field"], field, "{}", resp.body);
    let message = resp.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn point_in_time_and_commit_log_rules_are_400s_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let node = std::sync::Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(1), tmp.path()).await;
    let location = "file:///tmp/pitr-rules/bucket/c/dc1/n1";
    refused(
        &server,
        &in_place(location, "2026-12-07 14:05:07"),
        "pointInTime",
        "RFC 3339",
    )
    .await;
    refused(
        &server,
        &in_place(location, "2026-12-07T14:05:07.250Z"),
        "pointInTime",
        "whole seconds",
    )
    .await;
    let mut phased = in_place(location, "2026-12-07T14:05:07Z");
    phased["restorationStrategyType"] = json!("HARDLINKS");
    phased["restorationPhase"] = json!("DOWNLOAD");
    phased["import"] = json!({"type": "import", "sourceDir": "/tmp/pitr-src"});
    refused(&server, &phased, "pointInTime", "IN_PLACE").await;
    // Without pointInTime the tag stays required, as Esop has it.
    let mut tagless = in_place(location, "x");
    tagless.as_object_mut().unwrap().remove("pointInTime");
    refused(&server, &tagless, "snapshotTag", "required").await;

    let restore = json!({"type": "commitlog-restore", "storageLocation": location,
                         "timestampEnd": 1_000});
    refused(&server, &restore, "commitlogDownloadDir", "required").await;
    let mut replay_list = restore.clone();
    replay_list["commitlogDownloadDir"] = json!("/tmp/pitr-download");
    replay_list["keyspaceTables"] = json!({"ks": ["t"]});
    refused(&server, &replay_list, "keyspaceTables", "not supported").await;
    let mut backwards = replay_list.clone();
    backwards["keyspaceTables"] = json!({});
    backwards["timestampStart"] = json!(2_000);
    refused(&server, &backwards, "timestampEnd", "before timestampStart").await;
    assert!(
        node.calls().is_empty(),
        "nothing reached the node: {:?}",
        node.calls()
    );
}

/// Archived segment objects under the node's prefix: `(id, last-modified millis)` each.
async fn archive(location: &str, segments: &[(u64, u64)]) {
    let parsed = backup::location::StorageLocation::parse(location).unwrap();
    let node = parsed.node.clone().unwrap();
    let storage = backup::store::Storage::open(&parsed, &StoreOptions::default())
        .await
        .unwrap();
    for (id, millis) in segments {
        let key = commitlog::segment_key(&format!("CommitLog-7-{id}.log"), *millis);
        storage
            .store()
            .put(
                &storage.node_object(&node, &key),
                PutPayload::from(vec![7u8; 64]),
            )
            .await
            .unwrap();
    }
}

/// Each reason a moment cannot be reached is a 400 before anything is journaled; a moment
/// the archive covers is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moment_the_archive_cannot_reach_is_refused_before_it_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let location = file_location(tmp.path());
    let backup = back_up(&node, &location, &StoreOptions::default(), "snap1").await;
    let taken = backup::layout::parse_manifest_name(&backup.full_tag)
        .unwrap()
        .timestamp_millis;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("journal")).await;
    let after = |seconds: u64| rfc3339(taken / 1000 + seconds);

    refused(
        &server,
        &in_place(&location, &after(5)),
        "pointInTime",
        "no commit-log segment is archived",
    )
    .await;
    refused(
        &server,
        &in_place(&location, &rfc3339(taken / 1000 - 3600)),
        "pointInTime",
        "no backup",
    )
    .await;
    // One run: segments 100.. closed 10 s apart from the backup on; 102 is missing.
    let run = |i: u64| (100 + i, taken + 10_000 * (i + 1));
    archive(&location, &[run(0), run(1), run(3), run(4)]).await;
    refused(
        &server,
        &in_place(&location, &after(35)),
        "pointInTime",
        "gap",
    )
    .await;
    refused(
        &server,
        &in_place(&location, &after(120)),
        "pointInTime",
        "later than the last archived",
    )
    .await;
    let listed = server.get("/operations").await;
    assert_eq!(listed.body, json!([]), "nothing was journaled");

    // Before the gap the moment is reached: accepted (its run then needs the node stopped).
    let resp = server.post(&in_place(&location, &after(15))).await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let mut tagged = in_place(&location, &after(15));
    tagged["snapshotTag"] = json!("other");
    refused(&server, &tagged, "pointInTime", "snapshot tag \"other\"").await;
    drop(node);
}

fn write_segment(dir: &Path, id: u64, byte: u8, modified: SystemTime) -> String {
    let name = format!("CommitLog-7-{id}.log");
    let path = dir.join(&name);
    std::fs::write(&path, vec![byte; 4096 + id as usize]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    name
}

/// `commitlog-backup` uploads segments under Esop's keys without asking the node anything (the
/// location names it); `commitlog-restore` on the stopped node downloads those up to the moment,
/// moves the node's own segments aside and writes the restore section, keeping the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_logs_go_up_and_come_back_for_a_stopped_node() {
    let tmp = tempfile::tempdir().unwrap();
    let archive_dir = tmp.path().join("archive");
    std::fs::create_dir_all(&archive_dir).unwrap();
    let start = UNIX_EPOCH + Duration::from_secs(now_seconds() - 600);
    let names: Vec<String> = (0..3)
        .map(|i| {
            write_segment(
                &archive_dir,
                50 + i,
                i as u8,
                start + Duration::from_secs(10 * i),
            )
        })
        .collect();
    let location = file_location(tmp.path());
    std::fs::create_dir_all(tmp.path().join("bucket")).unwrap();
    // A stopped node: JMX does not answer.
    let node = std::sync::Arc::new(FakeNode::new());
    *node.connect_error.lock().unwrap() = Some(cassandra::NodeError::Unreachable {
        message: "connection refused".into(),
    });
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("journal")).await;

    let record = server
        .run(
            &json!({"type": "commitlog-backup", "storageLocation": location,
                      "commitLogArchiveOverride": archive_dir}),
        )
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["segments"], 3, "{record}");
    assert_eq!(record["uploadedFiles"], 3, "{record}");
    let stored = tmp.path().join("bucket/test-cluster/dc1/node1/commitlog");
    let start_millis = start.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    for (i, name) in names.iter().enumerate() {
        let key = format!("{name}.{}", start_millis + 10_000 * i as u64);
        assert!(stored.join(&key).is_file(), "{key} in {stored:?}");
    }
    let again = server
        .run(
            &json!({"type": "commitlog-backup", "storageLocation": location,
                      "commitLogArchiveOverride": archive_dir}),
        )
        .await;
    assert_eq!(
        again["skippedFiles"], 3,
        "stored segments are skipped: {again}"
    );

    let live = tmp.path().join("cassandra/commitlog");
    std::fs::create_dir_all(&live).unwrap();
    std::fs::write(live.join("CommitLog-7-99.log"), "live").unwrap();
    let conf = tmp.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("commitlog_archiving.properties"),
        "archive_command=/bin/ln %path /archive/%name\n",
    )
    .unwrap();
    let download = tmp.path().join("download");
    // Between the first segment's close and the second's.
    let end = start_millis + 5_000;
    let record = server
        .run(
            &json!({"type": "commitlog-restore", "storageLocation": location,
                      "commitlogDownloadDir": download, "cassandraConfigDirectory": conf,
                      "cassandraCommitLogDirectory": live, "timestampEnd": end}),
        )
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(
        record["segments"], 2,
        "the first and the one closing after: {record}"
    );
    for name in &names[..2] {
        assert_eq!(
            std::fs::read(download.join(name)).unwrap(),
            std::fs::read(archive_dir.join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(
        !download.join(&names[2]).exists(),
        "not needed: {}",
        names[2]
    );
    let aside = record["commitLogsMovedTo"].as_str().unwrap();
    assert!(Path::new(aside).join("CommitLog-7-99.log").is_file());
    assert!(!live.join("CommitLog-7-99.log").exists());
    let settings = std::fs::read_to_string(conf.join("commitlog_archiving.properties")).unwrap();
    let point = commitlog::point_in_time_text((end / 1000) as i64);
    assert_eq!(
        settings,
        format!(
            "archive_command=/bin/ln %path /archive/%name\nrestore_command=cp -f %from %to\n\
             restore_directories={}\nrestore_point_in_time={point}\n",
            download.display()
        )
    );
}
