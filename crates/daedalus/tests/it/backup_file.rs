//! `backup`, `list` and `remove-backup` against the Java test node (real snapshots: hard links,
//! `manifest.json`, `schema.cql`) with `file://` storage: the Esop layout and manifest, dedup,
//! progress, cancellation, the snapshot always cleared, faults, and a SIGKILL of the binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use backup::manifest::{ClusterTopology, Manifest};
use daedalus::engine::EngineConfig;
use daedalus::operations::OperationSettings;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::spawn::*;
use crate::common::testnode::TestNode;
use crate::common::*;

pub struct Setup {
    pub tmp: tempfile::TempDir,
    pub node: TestNode,
    pub server: TestServer,
}

/// A 4.1 test node whose `spark_test.test3` holds the fixture's live SSTables, and the sidecar.
pub async fn setup(settings: OperationSettings) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let seed = shared_dir().join("fixtures/sstables").join(NB_SETS);
    let node = TestNode::start_with(
        "4.1",
        tmp.path(),
        &[
            "--seed".to_string(),
            format!("spark_test.test3={}", seed.display()),
        ],
    )
    .await;
    let config = EngineConfig {
        workers: 2,
        operations: settings,
        ..EngineConfig::default()
    };
    let server = TestServer::start(node.connector(), config, &tmp.path().join("journal")).await;
    Setup { tmp, node, server }
}

impl Setup {
    /// `file:///<tmp>/store/bucket/cluster/dc1/node1`.
    pub fn location(&self) -> String {
        format!("file://{}/bucket/cluster/dc1/node1", self.store().display())
    }

    pub fn store(&self) -> PathBuf {
        self.tmp.path().join("store")
    }

    pub fn node_dir(&self) -> PathBuf {
        self.store().join("bucket/cluster/dc1/node1")
    }

    /// The snapshot directories of `spark_test.test3` that exist now.
    pub fn snapshots(&self) -> Vec<String> {
        let dir = self.node.table_dir("spark_test", "test3").join("snapshots");
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn manifests(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.node_dir().join("manifests"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn failure_message(record: &Value) -> String {
    assert_eq!(record["state"], "FAILED", "{record}");
    record["failureCause"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The backup body with every field of the Icarus contract and Esop.
fn full_backup_body(location: &str, tag: &str) -> Value {
    json!({
        "type": "backup",
        "storageLocation": location,
        "snapshotTag": tag,
        "entities": "spark_test",
        "createMissingBucket": true,
        "skipBucketVerification": false,
        "skipRefreshing": false,
        "uploadClusterTopology": true,
        "concurrentConnections": 2,
        "bandwidth": {"value": 100, "unit": "MBPS"},
        "duration": "1 HOURS",
        "timeout": 2,
        "retry": {"interval": 1, "strategy": "EXPONENTIAL", "maxAttempts": 2, "enabled": true},
        "metadataDirective": "COPY",
        "insecure": false,
        "globalRequest": false,
        "dc": null,
        "k8sNamespace": "default",
        "schemaVersion": "ignored",
        "someFieldEsopDoesNotKnow": {"ignored": true}
    })
}

/// Every entry of the manifest is an object of the Esop layout whose bytes have the hash the
/// manifest gives; returns the object keys.
fn check_manifest(setup: &Setup, manifest: &Manifest, table_id: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for entry in manifest.entries() {
        let key = &entry.object_key;
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(
            parts.len(),
            5,
            "data/<ks>/<table>-<id>/<gen>-<checksum>/<file>: {key}"
        );
        assert_eq!(parts[0], "data");
        assert_eq!(parts[1], "spark_test");
        assert_eq!(parts[2], format!("test3-{table_id}"));
        let (generation, checksum) = parts[3].split_once('-').expect("gen-checksum");
        let sstable = backup::layout::parse_sstable_name(parts[4]).expect("an SSTable file");
        assert_eq!(generation, sstable.generation, "{key}");
        assert!(checksum.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
        let object = setup.node_dir().join(key);
        assert_eq!(
            entry.size,
            std::fs::metadata(&object).unwrap().len(),
            "{key}"
        );
        assert_eq!(
            entry.hash.as_deref(),
            Some(sha256_hex(&object).as_str()),
            "{key}"
        );
        keys.push(key.clone());
    }
    keys
}

#[tokio::test]
async fn backup_writes_esop_layout_then_a_second_uploads_only_new_sstables_and_removal_keeps_shared(
) {
    let setup = setup(OperationSettings::default()).await;
    let server = &setup.server;
    let table_dir = setup.node.table_dir("spark_test", "test3");
    let table_id = table_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1
        .to_string();

    let first = server
        .run(&full_backup_body(&setup.location(), "snap1"))
        .await;
    assert_eq!(first["state"], "COMPLETED", "{first}");
    assert_eq!(first["progress"], 1.0);
    let name = first["snapshotName"].as_str().unwrap().to_string();
    let schema_version = name
        .strip_prefix("snap1-")
        .and_then(|rest| rest.rsplit_once('-'))
        .map(|(sv, millis)| {
            assert!(millis.parse::<u64>().is_ok(), "{name}");
            sv.to_string()
        })
        .expect("snap1-<schemaVersion>-<millis>");
    assert_eq!(schema_version.len(), 36, "{name}");
    assert_eq!(setup.manifests(), [format!("{name}.json")]);
    let text = std::fs::read(setup.node_dir().join(format!("manifests/{name}.json"))).unwrap();
    let manifest = Manifest::from_json(&name, &text).unwrap();
    assert_eq!(manifest.snapshot.name.as_deref(), Some(name.as_str()));
    assert_eq!(
        manifest.schema_version.as_deref(),
        Some(schema_version.as_str())
    );
    assert!(!manifest.tokens.as_ref().unwrap().is_empty());
    let table = &manifest.snapshot.keyspaces["spark_test"].tables["test3"];
    assert_eq!(table.id.as_deref(), Some(table_id.as_str()));
    assert!(table
        .schema_content
        .as_deref()
        .is_some_and(|s| s.contains("CREATE TABLE") && s.contains("test3")));
    // Every table of the snapshotted keyspace appears, the one without SSTables too.
    assert!(manifest.snapshot.keyspaces["spark_test"]
        .tables
        .contains_key("testtable"));
    // The manifest is written as Esop writes it: only fields Esop knows.
    let raw: Value = serde_json::from_slice(&text).unwrap();
    let fields: Vec<&String> = raw.as_object().unwrap().keys().collect();
    for field in fields {
        assert!(
            ["snapshot", "tokens", "schemaVersion", "size"].contains(&field.as_str()),
            "{field}"
        );
    }
    assert_eq!(raw["size"], manifest.total_size());
    let first_keys = check_manifest(&setup, &manifest, &table_id);
    assert!(!first_keys.is_empty());
    assert_eq!(first["files"], first_keys.len());
    assert_eq!(first["uploadedFiles"], first_keys.len());
    assert_eq!(first["skippedFiles"], 0);
    let topology =
        std::fs::read(setup.store().join(format!("bucket/topology/{name}.json"))).unwrap();
    let topology = ClusterTopology::from_json(&name, &topology).unwrap();
    assert_eq!(topology.cluster_name.as_deref(), Some("Test Cluster"));
    assert!(!topology.topology.is_empty());
    // The snapshot is gone, through clearSnapshot.
    assert!(setup.snapshots().is_empty(), "{:?}", setup.snapshots());
    assert!(setup
        .node
        .calls("clearSnapshot")
        .iter()
        .any(|c| c.to_string().contains(&name)));

    // New SSTables, then a second backup: only they are sent.
    let more = copy_fixture(NB_SETS, setup.tmp.path());
    let imported = server.run(&import_body(&more)).await;
    assert_eq!(imported["state"], "COMPLETED", "{imported}");
    let second = server
        .run(
            &json!({"type": "backup", "storageLocation": setup.location(),
                     "snapshotTag": "snap2", "entities": "spark_test.test3"}),
        )
        .await;
    assert_eq!(second["state"], "COMPLETED", "{second}");
    let second_name = second["snapshotName"].as_str().unwrap().to_string();
    let text = std::fs::read(
        setup
            .node_dir()
            .join(format!("manifests/{second_name}.json")),
    )
    .unwrap();
    let second_keys = check_manifest(
        &setup,
        &Manifest::from_json(&second_name, &text).unwrap(),
        &table_id,
    );
    let new_keys = second_keys
        .iter()
        .filter(|k| !first_keys.contains(k))
        .count();
    assert!(new_keys > 0, "the import added SSTables");
    assert_eq!(second["uploadedFiles"], new_keys, "{second}");
    assert_eq!(second["skippedFiles"], first_keys.len(), "{second}");

    // list: both, oldest first, with their node.
    let listed = server
        .run(&json!({"type": "list", "storageLocation": setup.location()}))
        .await;
    assert_eq!(listed["state"], "COMPLETED", "{listed}");
    let response = listed["response"].as_array().expect("response").clone();
    let names: Vec<&str> = response
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [name.as_str(), second_name.as_str()]);
    assert_eq!(response[0]["snapshotTag"], "snap1");
    assert_eq!(response[0]["schemaVersion"], schema_version.as_str());
    assert_eq!(response[0]["nodes"], json!(["cluster/dc1/node1"]));
    assert_eq!(response[0]["files"], first_keys.len());
    assert_eq!(response[0]["size"], manifest.total_size());
    let last = server
        .run(&json!({"type": "list", "storageLocation": setup.location(), "lastN": 1}))
        .await;
    assert_eq!(last["response"].as_array().unwrap().len(), 1);
    assert_eq!(last["response"][0]["name"], second_name.as_str());

    // The CLI prints the listing as a table.
    let out = sidecar_command()
        .args(["op", "list-backups", &setup.location(), "--url"])
        .arg(format!("http://{}", server.addr))
        .env_remove("DAEDALUS_URL")
        .env_remove("DAEDALUS_TOKEN")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("NODES"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(&name) && lines[1].contains("cluster/dc1/node1"),
        "{table}"
    );
    assert!(lines[2].starts_with(&second_name), "{table}");

    // remove-backup: exactly one selector.
    let both = server
        .post(
            &json!({"type": "remove-backup", "storageLocation": setup.location(),
                      "backupName": name, "removeOldest": true}),
        )
        .await;
    assert_eq!(both.status, 400, "{}", both.body);
    assert!(both.body["message"]
        .as_str()
        .unwrap()
        .contains("exactly one"));

    // Dry: says what would go, deletes nothing.
    let dry = server
        .run(
            &json!({"type": "remove-backup", "storageLocation": setup.location(),
                     "removeOldest": true, "dry": true}),
        )
        .await;
    assert_eq!(dry["state"], "COMPLETED", "{dry}");
    assert_eq!(dry["removal"]["dry"], true);
    assert_eq!(setup.manifests().len(), 2);

    // The oldest goes; every object it had is needed by the second, so all stay.
    let removed = server
        .run(
            &json!({"type": "remove-backup", "storageLocation": setup.location(),
                     "backupName": name}),
        )
        .await;
    assert_eq!(removed["state"], "COMPLETED", "{removed}");
    assert_eq!(removed["removal"]["keptShared"], first_keys.len());
    assert_eq!(removed["removal"]["objects"], json!([]));
    assert_eq!(setup.manifests(), [format!("{second_name}.json")]);
    for key in &second_keys {
        assert!(setup.node_dir().join(key).is_file(), "{key} still needed");
    }
    // The last one goes with every object.
    let removed = server
        .run(
            &json!({"type": "remove-backup", "storageLocation": setup.location(),
                     "olderThan": "0 DAYS", "removeOldest": true}),
        )
        .await;
    assert_eq!(removed["state"], "COMPLETED", "{removed}");
    assert_eq!(
        removed["removal"]["objects"].as_array().unwrap().len(),
        second_keys.len()
    );
    assert!(setup.manifests().is_empty());
    let missing = server
        .run(
            &json!({"type": "remove-backup", "storageLocation": setup.location(),
                     "backupName": "nope-1"}),
        )
        .await;
    assert!(
        failure_message(&missing).contains("does not exist"),
        "{missing}"
    );
}

/// What an Icarus coordinator sends each node of a global backup: the full tag it chose
/// (`<tag>-<schemaVersion>-<millis>`, the schema version also in `schemaVersion`), non-global,
/// the bucket not to be checked. The node takes the tag as it is, for its snapshot and its
/// manifest, and records that schema version.
#[tokio::test]
async fn a_full_tag_from_a_coordinator_is_used_as_it_is() {
    let setup = setup(OperationSettings::default()).await;
    std::fs::create_dir_all(setup.store().join("bucket")).unwrap();
    let schema_version = "0b2c3d4e-1111-2222-3333-444455556666";
    let tag = format!("nightly-{schema_version}-1764540000000");
    let record = setup
        .server
        .run(
            &json!({"type": "backup", "storageLocation": setup.location(),
                     "snapshotTag": tag, "schemaVersion": schema_version,
                     "globalRequest": false, "skipBucketVerification": true,
                     "uploadClusterTopology": false, "entities": "spark_test"}),
        )
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["snapshotName"], tag);
    assert_eq!(setup.manifests(), vec![format!("{tag}.json")]);
    let path = setup
        .node_dir()
        .join("manifests")
        .join(format!("{tag}.json"));
    let manifest = Manifest::from_json("m", &std::fs::read(path).unwrap()).unwrap();
    assert_eq!(manifest.schema_version.as_deref(), Some(schema_version));
    assert_eq!(manifest.snapshot.name.as_deref(), Some(tag.as_str()));
    assert!(setup.snapshots().is_empty());
    // A tag that only ends in digits is a name, completed as usual.
    let record = setup
        .server
        .run(
            &json!({"type": "backup", "storageLocation": setup.location(),
                     "snapshotTag": "daily-2024", "entities": "spark_test"}),
        )
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    let name = record["snapshotName"].as_str().unwrap();
    assert!(
        name.starts_with("daily-2024-") && name.len() > "daily-2024-".len() + 36,
        "{name}"
    );
}

/// Modification time of every stored data object of the node, by path.
fn data_object_times(setup: &Setup) -> Vec<(PathBuf, std::time::SystemTime)> {
    let mut times = Vec::new();
    let mut dirs = vec![setup.node_dir().join("data")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                times.push((entry.path(), meta.modified().unwrap()));
            }
        }
    }
    times.sort();
    times
}

/// A backup whose objects are already stored refreshes them (their modification time moves
/// forward, their bytes stay), unless `skipRefreshing` is set; the record counts them.
#[tokio::test]
async fn a_second_backup_refreshes_stored_objects_unless_skip_refreshing() {
    let setup = setup(OperationSettings::default()).await;
    let server = &setup.server;
    let body = |tag: &str, skip: bool| {
        json!({"type": "backup", "storageLocation": setup.location(), "snapshotTag": tag,
               "entities": "spark_test.test3", "createMissingBucket": true,
               "skipRefreshing": skip})
    };
    let first = server.run(&body("r1", false)).await;
    assert_eq!(first["state"], "COMPLETED", "{first}");
    assert_eq!(
        first["refreshedFiles"], 0,
        "nothing was stored before: {first}"
    );
    let files = first["files"].as_u64().unwrap();
    let written = data_object_times(&setup);
    assert_eq!(written.len() as u64, files);

    std::thread::sleep(Duration::from_millis(50));
    let untouched = server.run(&body("r2", true)).await;
    assert_eq!(untouched["state"], "COMPLETED", "{untouched}");
    assert_eq!(untouched["skippedFiles"], files, "{untouched}");
    assert_eq!(untouched["refreshedFiles"], 0, "{untouched}");
    assert_eq!(
        data_object_times(&setup),
        written,
        "skipRefreshing touches nothing"
    );

    let refreshed = server.run(&body("r3", false)).await;
    assert_eq!(refreshed["state"], "COMPLETED", "{refreshed}");
    assert_eq!(refreshed["uploadedFiles"], 0, "{refreshed}");
    assert_eq!(refreshed["refreshedFiles"], files, "{refreshed}");
    let after = data_object_times(&setup);
    assert_eq!(after.len(), written.len());
    for ((path, before), (_, now)) in written.iter().zip(&after) {
        assert!(now > before, "{} was not refreshed", path.display());
    }
    // The refreshed objects still hold what the manifest says.
    let name = refreshed["snapshotName"].as_str().unwrap();
    let text = std::fs::read(setup.node_dir().join(format!("manifests/{name}.json"))).unwrap();
    let table_id = setup
        .node
        .table_dir("spark_test", "test3")
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1
        .to_string();
    let keys = check_manifest(
        &setup,
        &Manifest::from_json(name, &text).unwrap(),
        &table_id,
    );
    assert_eq!(keys.len() as u64, files);
}

#[tokio::test]
async fn cancel_stops_the_upload_writes_no_manifest_and_clears_the_snapshot() {
    let setup = setup(OperationSettings::default()).await;
    let server = &setup.server;
    // About 1 kB/s over tens of kB: the upload would take over a minute.
    let body = json!({"type": "backup", "storageLocation": setup.location(),
                      "snapshotTag": "slow", "entities": "spark_test.test3",
                      "createMissingBucket": true, "concurrentConnections": 1,
                      "bandwidth": {"value": 1, "unit": "KBPS"}});
    let id = server.submit_id(&body).await;
    let moving = server
        .wait_for(&id, "progress between 0 and 1", |r| {
            r["state"] == "RUNNING" && r["progress"].as_f64().is_some_and(|p| p > 0.0 && p < 1.0)
        })
        .await;
    assert!(moving["bytes"].as_u64().unwrap() > 1000, "{moving}");
    let asked = Instant::now();
    assert_eq!(
        server.delete(&format!("/operations/{id}")).await.status,
        202
    );
    let done = server.wait_finished(&id).await;
    let took = asked.elapsed();
    assert_eq!(done["state"], "CANCELLED", "{done}");
    // A bound against an upload that ignored the cancel (it had a minute left), not a timing test.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(setup.manifests().is_empty());
    eventually("snapshot cleared", || setup.snapshots().is_empty()).await;
}

#[tokio::test]
async fn a_refused_snapshot_fails_with_the_node_cause_and_writes_nothing() {
    let setup = setup(OperationSettings::default()).await;
    setup
        .node
        .fault(
            "fail",
            &[
                "takeSnapshot",
                "java.io.IOException",
                "No space left on device",
            ],
        )
        .await;
    let record = setup
        .server
        .run(
            &json!({"type": "backup", "storageLocation": setup.location(),
                     "createMissingBucket": true}),
        )
        .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    assert!(
        record["failureCause"]
            .to_string()
            .contains("No space left on device"),
        "{record}"
    );
    assert!(setup.manifests().is_empty());
    assert!(setup.snapshots().is_empty());
    assert!(
        !setup.node.calls("clearSnapshot").is_empty(),
        "cleared anyway"
    );
}

#[tokio::test]
async fn a_file_vanishing_from_the_snapshot_fails_naming_it() {
    let setup = setup(OperationSettings::default()).await;
    let server = &setup.server;
    let body = json!({"type": "backup", "storageLocation": setup.location(),
                      "snapshotTag": "vanish", "entities": "spark_test.test3",
                      "createMissingBucket": true, "concurrentConnections": 1,
                      "bandwidth": {"value": 2, "unit": "KBPS"}});
    let id = server.submit_id(&body).await;
    server
        .wait_for(&id, "uploading", |r| {
            r["state"] == "RUNNING" && r["progress"].as_f64().is_some_and(|p| p > 0.0)
        })
        .await;
    // Keys sort by generation then file name: Statistics.db of the last SSTable goes late.
    let snapshot = setup
        .node
        .table_dir("spark_test", "test3")
        .join("snapshots")
        .join(setup.snapshots().first().expect("the snapshot").clone());
    let mut victims: Vec<PathBuf> = std::fs::read_dir(&snapshot)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-TOC.txt"))
        .collect();
    victims.sort();
    let victim = victims.pop().expect("a TOC.txt");
    std::fs::remove_file(&victim).unwrap();
    let record = server.wait_finished(&id).await;
    let message = failure_message(&record);
    assert_eq!(record["failureCause"]["kind"], "Snapshot", "{record}");
    assert!(
        message.contains(victim.file_name().unwrap().to_str().unwrap()),
        "{message}"
    );
    assert!(message.contains("vanished"), "{message}");
    assert!(setup.manifests().is_empty());
    assert!(setup.snapshots().is_empty());
}

#[tokio::test]
async fn storage_and_request_faults_are_named() {
    let setup = setup(OperationSettings::default()).await;
    let server = &setup.server;
    // The bucket is missing and may not be created.
    let record = server
        .run(&json!({"type": "backup", "storageLocation": setup.location()}))
        .await;
    let message = failure_message(&record);
    assert!(message.contains("createMissingBucket"), "{message}");
    assert!(setup.snapshots().is_empty());

    // A secret without a secrets directory: 400 saying how to give credentials.
    let resp = server
        .post(&json!({"type": "backup", "storageLocation": "s3://bucket",
                      "k8sSecretName": "creds"}))
        .await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.body["field"], "k8sSecretName");
    assert!(resp.body["message"]
        .as_str()
        .unwrap()
        .contains("--backup-secrets-dir"));

    for (body, field) in [
        (json!({"type": "backup"}), "storageLocation"),
        (
            json!({"type": "backup", "storageLocation": "ftp://x"}),
            "storageLocation",
        ),
        (
            json!({"type": "backup", "storageLocation": "s3://b", "entities": "ks1,ks2.t"}),
            "entities",
        ),
        (
            json!({"type": "backup", "storageLocation": "s3://b", "concurrentConnections": "many"}),
            "concurrentConnections",
        ),
        (
            json!({"type": "list", "storageLocation": "s3://b", "lastN": -1}),
            "lastN",
        ),
        (
            json!({"type": "remove-backup", "storageLocation": "s3://b"}),
            "olderThan",
        ),
    ] {
        let resp = server.post(&body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(resp.body["field"], field, "{body}: {}", resp.body);
    }
}

/// The backup of a node that does not report its data directories (3.11) needs them given.
#[tokio::test]
async fn cassandra_3_11_needs_data_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("3.11", tmp.path()).await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("j")).await;
    let location = format!("file://{}/store/b/c/d/n", tmp.path().display());
    let record = server
        .run(
            &json!({"type": "backup", "storageLocation": location, "createMissingBucket": true,
                     "entities": "spark_test"}),
        )
        .await;
    assert!(failure_message(&record).contains("dataDirs"), "{record}");
    let record = server
        .run(
            &json!({"type": "backup", "storageLocation": location, "createMissingBucket": true,
                     "entities": "spark_test", "dataDirs": [node.data_dir]}),
        )
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("store/b/c/d/n/manifests"))
            .unwrap()
            .count(),
        1
    );
}

/// A SIGKILL of the sidecar in the middle of a backup: at the restart the same record carries
/// on (still RUNNING, `attempts` 2) and uploads only what is missing; one manifest.
#[tokio::test]
async fn a_backup_killed_with_the_sidecar_resumes_on_restart_uploading_only_what_is_missing() {
    let setup = setup(OperationSettings::default()).await;
    let journal = setup.tmp.path().join("binary-journal");
    let body = json!({"type": "backup", "storageLocation": setup.location(),
                      "snapshotTag": "killed", "entities": "spark_test.test3",
                      "createMissingBucket": true, "concurrentConnections": 1,
                      "bandwidth": {"value": 2, "unit": "KBPS"}});

    let (mut child, addr) = spawn_sidecar(&setup, &journal).await;
    let created = request(addr, "POST", "/operations", Some(body.to_string())).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let partly = wait_until(addr, &id, "some bytes uploaded", |r| {
        r["progress"].as_f64().is_some_and(|p| p > 0.1)
    })
    .await;
    assert_eq!(partly["state"], "RUNNING");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!(setup.manifests().is_empty());
    let uploaded_before = count_files(&setup.node_dir().join("data"));
    assert!(uploaded_before > 0);

    let (_child, addr) = spawn_sidecar(&setup, &journal).await;
    let done = wait_until(addr, &id, "finished", |r| {
        r["state"] != "PENDING" && r["state"] != "RUNNING"
    })
    .await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["snapshotName"], partly["snapshotName"], "{done}");
    assert_eq!(done["skippedFiles"], uploaded_before, "{done}");
    assert_eq!(
        done["uploadedFiles"].as_u64().unwrap() + uploaded_before as u64,
        done["files"].as_u64().unwrap()
    );
    assert_eq!(setup.manifests().len(), 1);
}

fn count_files(dir: &Path) -> usize {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                count += 1;
            }
        }
    }
    count
}

async fn spawn_sidecar(
    setup: &Setup,
    journal: &Path,
) -> (tokio::process::Child, std::net::SocketAddr) {
    let mut command = sidecar_command();
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--jmx-service")
        .arg(setup.node.address())
        .arg("--data-dir")
        .arg(journal)
        .env("DAEDALUS_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    crate::common::spawn::spawn_sidecar(&mut command, None).await
}

/// 4.0 and 5.0 (whose `clearSnapshot` takes an options map) back up as 4.1 does; a keyspace
/// without tables is an empty backup, not a failure (Esop's #83).
#[tokio::test]
async fn other_versions_and_a_keyspace_without_tables() {
    let seed = shared_dir().join("fixtures/sstables").join(NB_SETS);
    for version in ["4.0", "5.0"] {
        let tmp = tempfile::tempdir().unwrap();
        let schema = tmp.path().join("schema");
        std::fs::write(&schema, "spark_test.test3\nkeyspace empty_ks\n").unwrap();
        let node = TestNode::start_with(
            version,
            tmp.path(),
            &[
                "--schema".to_string(),
                schema.display().to_string(),
                "--seed".to_string(),
                format!("spark_test.test3={}", seed.display()),
            ],
        )
        .await;
        let server = TestServer::start(node.connector(), config(1), &tmp.path().join("j")).await;
        let location = format!("file://{}/store/b/c/d/n", tmp.path().display());
        let record = server
            .run(&json!({"type": "backup", "storageLocation": location,
                         "createMissingBucket": true, "entities": "spark_test"}))
            .await;
        assert_eq!(record["state"], "COMPLETED", "{version}: {record}");
        assert!(record["files"].as_u64().unwrap() > 0, "{record}");
        let snapshots = node.table_dir("spark_test", "test3").join("snapshots");
        assert_eq!(
            std::fs::read_dir(&snapshots)
                .map(|d| d.count())
                .unwrap_or(0),
            0,
            "{version}: snapshot cleared"
        );
        let empty = server
            .run(&json!({"type": "backup", "storageLocation": location,
                         "entities": "empty_ks", "snapshotTag": "empty"}))
            .await;
        assert_eq!(empty["state"], "COMPLETED", "{version}: {empty}");
        assert_eq!(empty["files"], 0);
        let listed = server
            .run(&json!({"type": "list", "storageLocation": location}))
            .await;
        assert_eq!(listed["response"].as_array().unwrap().len(), 2, "{listed}");
    }
}
