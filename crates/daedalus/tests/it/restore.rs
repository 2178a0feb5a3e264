//! The `restore` operation end to end: backups written with the backup crate from the test
//! node's real snapshot files (and by hand in Esop's layout, both manifest forms) are restored
//! through HTTP with IMPORT, HARDLINKS and IN_PLACE, on `file://`, on a local S3 server and on
//! Azurite (credentials from a mounted secret directory), and checked by the SHA-256 of the
//! SSTables the node serves afterwards. Also: a backup found through its topology file under
//! another host id (`newCluster`, `resolveHostIdFromTopology`), `noDownloadData`, and faults: a
//! damaged object, foreign tokens, a missing object and a rerun, a node refusing the import.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use backup::layout;
use backup::location::{NodePath, StorageLocation};
use backup::manifest::{ClusterTopology, EntryType, Manifest, ManifestEntry, NodeTopology};
use backup::store::{Storage, StoreOptions};
use backup::transfer::{self, TransferOptions, UploadFile};
use cassandra::SnapshotOptions;
use object_store::{ObjectStoreExt, PutPayload};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use daedalus::engine::EngineConfig;

use crate::backup_servers::mount_secret;
use crate::common::testnode::TestNode;
use crate::common::*;

use testkit::storage as servers;

pub(crate) const KS: &str = "spark_test";
pub(crate) const TABLE: &str = "test3";
const NODE_PREFIX: [&str; 3] = ["test-cluster", "dc1", "node1"];

/// A test node seeded with two real `nb` SSTables in `spark_test.test3`.
pub(crate) async fn seeded_node(version: &str, dir: &Path) -> TestNode {
    let seed = copy_fixture(NB_SETS, dir);
    TestNode::start_with(
        version,
        dir,
        &[
            "--seed".to_string(),
            format!("{KS}.{TABLE}={}", seed.display()),
        ],
    )
    .await
}

/// The SHA-256 of every component of the SSTables the node serves for `spark_test.test3`.
pub(crate) async fn live_hashes(node: &TestNode) -> Vec<String> {
    crate::common::testnode::live_hashes(
        "127.0.0.1",
        node.port,
        &node.table_dir(KS, TABLE),
        KS,
        TABLE,
    )
    .await
}

/// Where a backup lives and what it holds.
pub(crate) struct Backup {
    pub(crate) storage: Storage,
    pub(crate) node: NodePath,
    pub(crate) manifest: Manifest,
    pub(crate) full_tag: String,
}

impl Backup {
    fn hashes(&self) -> Vec<String> {
        let mut h: Vec<String> = self
            .manifest
            .entries()
            .map(|e| e.hash.clone().unwrap())
            .collect();
        h.sort();
        h
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        self.manifest
            .entries()
            .map(|e| e.object_key.clone())
            .collect()
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.storage
            .store()
            .put(
                &self.storage.node_object(&self.node, key),
                PutPayload::from(bytes),
            )
            .await
            .expect("put");
    }

    async fn delete(&self, key: &str) {
        self.storage
            .store()
            .delete(&self.storage.node_object(&self.node, key))
            .await
            .expect("delete");
    }

    async fn write_manifest(&self) {
        let key = layout::manifest_key(&self.full_tag);
        self.put(&key, self.manifest.to_json()).await;
    }
}

pub(crate) fn file_location(root: &Path) -> String {
    format!("file://{}/bucket/{}", root.display(), NODE_PREFIX.join("/"))
}

async fn open(location: &str, options: &StoreOptions) -> (Storage, NodePath) {
    let parsed = StorageLocation::parse(location).expect("location");
    let node = parsed.node.clone().expect("a node location");
    if let Some(dir) = &parsed.directory {
        std::fs::create_dir_all(dir.join(&parsed.bucket)).unwrap();
    }
    let mut options = options.clone();
    options.create_missing_bucket = true;
    (Storage::open(&parsed, &options).await.expect("store"), node)
}

/// Snapshots `spark_test.test3` on the node and uploads it as Daedalus (and Esop) back up:
/// components by key, then the manifest with the node's tokens.
pub(crate) async fn back_up(
    node: &TestNode,
    location: &str,
    options: &StoreOptions,
    tag: &str,
) -> Backup {
    let handle = node.connector();
    let (tokens, schema_version) = handle
        .read(|n| async move {
            n.take_snapshot(tag, &[format!("{KS}.{TABLE}")], &SnapshotOptions::default())
                .await?;
            Ok((n.tokens().await?, n.schema_version().await?))
        })
        .await
        .expect("snapshot");
    let (storage, node_path) = open(location, options).await;
    let full_tag = layout::full_tag(tag, &schema_version, 1_700_000_000_000);
    let mut manifest = Manifest::new(&full_tag, tokens, &schema_version);
    for table in layout::snapshot_tables(&node.data_dir, tag).expect("snapshot tables") {
        let plan =
            layout::plan_table_upload(&table.keyspace, &table.table, &table.table_id, &table.dir)
                .expect("plan");
        let files = plan
            .iter()
            .map(|item| UploadFile {
                path: item.local.clone(),
                key: storage.node_object(&node_path, &item.key),
                size: item.size,
            })
            .collect();
        let uploaded = transfer::upload(
            storage.store().clone(),
            files,
            &TransferOptions::default(),
            &CancellationToken::new(),
        )
        .await
        .expect("upload");
        let entry = manifest.table_mut(&table.keyspace, &table.table);
        entry.id = Some(table.table_id.clone());
        entry.schema_content = table.schema().unwrap();
        for (item, done) in plan.iter().zip(uploaded) {
            entry.add_entry(
                &item.sstable,
                ManifestEntry {
                    object_key: item.key.clone(),
                    entry_type: EntryType::File,
                    size: item.size,
                    hash: Some(done.sha256),
                    kms_key_id: None,
                },
            );
        }
    }
    manifest.update_size();
    let backup = Backup {
        storage,
        node: node_path,
        manifest,
        full_tag,
    };
    backup.write_manifest().await;
    backup
}

/// Regular files under `dir`, its subdirectories included.
pub(crate) fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                files_under(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// The names of the regular files under `dir` (none when it is gone).
fn walkdir_files(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            names.extend(walkdir_files(&entry.path()));
        } else {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

pub(crate) fn restore_body(
    location: &str,
    strategy: &str,
    phase: &str,
    source_dir: &Path,
) -> Value {
    json!({
        "type": "restore",
        "storageLocation": location,
        "snapshotTag": "snap1",
        "restorationStrategyType": strategy,
        "restorationPhase": phase,
        "entities": format!("{KS}.{TABLE}"),
        "import": {"type": "import", "sourceDir": source_dir},
        "concurrentConnections": 1,
    })
}

/// The sidecar's settings with `storage`'s credentials mounted as the secret `creds`, which
/// `body` now names; the directory lives as long as the returned guard.
fn with_secret(
    storage: &servers::Server,
    body: &mut Value,
) -> (EngineConfig, Option<tempfile::TempDir>) {
    let secrets = tempfile::tempdir().unwrap();
    mount_secret(storage, secrets.path());
    body["k8sSecretName"] = json!("creds");
    body["k8sNamespace"] = json!("default");
    let mut config = config(1);
    config.operations.backup_secrets_dir = Some(secrets.path().to_path_buf());
    (config, Some(secrets))
}

fn failure(record: &Value) -> (String, String) {
    assert_eq!(record["state"], "FAILED", "{record}");
    let cause = &record["failureCause"];
    (
        cause["kind"].as_str().unwrap_or_default().to_string(),
        cause["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Runs `body` as `phase` and expects it COMPLETED.
async fn phase(server: &TestServer, body: &Value, phase: &str) -> Value {
    let mut body = body.clone();
    body["restorationPhase"] = json!(phase);
    let record = server.run(&body).await;
    assert_eq!(record["state"], "COMPLETED", "{phase}: {record}");
    assert_eq!(record["phase"], phase, "{record}");
    assert_eq!(record["progress"], 1.0, "{record}");
    record
}

/// Backup → DOWNLOAD → TRUNCATE → IMPORT → CLEANUP, then the node serves the backed-up bytes.
async fn round_trip(
    strategy: &str,
    version: &str,
    location_of: impl Fn(&Path) -> String,
    options: StoreOptions,
) {
    round_trip_with(
        strategy,
        version,
        seed_flags,
        location_of,
        options,
        None,
        16,
    )
    .await;
}

/// The `--seed` flags of `seeded_node`.
fn seed_flags(dir: &Path) -> Vec<String> {
    let seed = copy_fixture(NB_SETS, dir);
    vec![
        "--seed".to_string(),
        format!("{KS}.{TABLE}={}", seed.display()),
    ]
}

async fn round_trip_with(
    strategy: &str,
    version: &str,
    node_flags: impl Fn(&Path) -> Vec<String>,
    location_of: impl Fn(&Path) -> String,
    options: StoreOptions,
    secret: Option<&servers::Server>,
    components: usize,
) {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_with(version, tmp.path(), &node_flags(tmp.path())).await;
    let before = live_hashes(&node).await;
    assert_eq!(before.len(), components, "the seed is live");
    let location = location_of(tmp.path());
    let backup = back_up(&node, &location, &options, "snap1").await;
    assert_eq!(backup.hashes(), before, "the backup holds the live bytes");

    let src = tmp.path().join("restore-src");
    let mut body = restore_body(&location, strategy, "INIT", &src);
    let (config, _secrets) = match secret {
        Some(storage) => with_secret(storage, &mut body),
        None => (config(1), None),
    };
    let server = TestServer::start(node.connector(), config, &tmp.path().join("journal")).await;
    let record = phase(&server, &body, "INIT").await;
    assert_eq!(record["backup"], backup.full_tag.as_str());
    phase(&server, &body, "CLUSTER_HEALTHCHECK").await;
    let record = phase(&server, &body, "DOWNLOAD").await;
    assert_eq!(record["filesDownloaded"], components, "{record}");
    assert_eq!(record["downloadedBytes"], backup.manifest.size, "{record}");
    let table_dir_name = node.table_dir(KS, TABLE).file_name().unwrap().to_owned();
    let download_dir = src.join(KS).join(&table_dir_name);
    assert_eq!(files_under(&download_dir), components);

    phase(&server, &body, "TRUNCATE").await;
    assert!(live_hashes(&node).await.is_empty(), "truncated");
    let record = phase(&server, &body, "IMPORT").await;
    assert_eq!(record["tablesImported"], 1, "{record}");
    assert_eq!(
        live_hashes(&node).await,
        before,
        "the node serves the backed-up bytes"
    );
    if strategy == "IMPORT" {
        let calls = node.calls("importNewSSTables");
        let dir = download_dir.to_string_lossy().into_owned();
        assert_eq!(
            calls.last().unwrap()["args"],
            json!([[dir], true, true, true, true, true, false, true]),
            "Esop's flags, copyData=true"
        );
    } else {
        assert_eq!(node.calls("loadNewSSTables").len(), 1);
    }
    phase(&server, &body, "CLEANUP").await;
    assert!(!src.exists(), "downloads deleted");
    let truncated: Vec<_> = std::fs::read_dir(node.table_dir(KS, TABLE).join("snapshots"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("truncated-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(truncated.is_empty(), "truncated-* snapshots cleared");
    assert_eq!(live_hashes(&node).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_round_trip_on_file_storage() {
    round_trip("IMPORT", "4.1", file_location, StoreOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardlinks_round_trip_on_file_storage() {
    round_trip("HARDLINKS", "4.0", file_location, StoreOptions::default()).await;
}

/// A table with a secondary index: its `.<index>/` components are backed up, downloaded into
/// the download directory's `.<index>/`, linked into the table's, and served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardlinks_round_trip_with_a_secondary_index() {
    let flags = |dir: &Path| {
        let schema = dir.join("schema.txt");
        std::fs::write(
            &schema,
            "spark_test.test3 (id int PRIMARY KEY, col1 int, col2 int)\n\
             index col1_idx on spark_test.test3 (col1)\n",
        )
        .unwrap();
        let seed = copy_fixture(NB_SETS, dir);
        vec![
            "--schema".to_string(),
            schema.display().to_string(),
            "--seed".to_string(),
            format!("{KS}.{TABLE}={}", seed.display()),
            "--seed".to_string(),
            format!("{KS}.{TABLE}.col1_idx={}", seed.display()),
        ]
    };
    round_trip_with(
        "HARDLINKS",
        "4.1",
        flags,
        file_location,
        StoreOptions::default(),
        None,
        32,
    )
    .await;
}

/// IMPORT then HARDLINKS through a cloud store, the sidecar reading its credentials from a
/// mounted secret (no process-wide settings another test could see).
async fn cloud_round_trips(server: &servers::Server, protocol: &str) {
    let options = StoreOptions {
        settings: server.settings.clone(),
        ..StoreOptions::default()
    };
    for (strategy, bucket) in [
        ("IMPORT", "restore-import"),
        ("HARDLINKS", "restore-hardlinks"),
    ] {
        round_trip_with(
            strategy,
            "4.1",
            seed_flags,
            |_| format!("{protocol}://{bucket}/test-cluster/dc1/node1"),
            options.clone(),
            Some(server),
            16,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_round_trips_then_unreachable_storage() {
    let server = servers::Server::s3();
    cloud_round_trips(&server, "s3").await;
    unreachable_storage_fails_or_is_cancelled(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_round_trips() {
    cloud_round_trips(&servers::Server::azure(), "azure").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_round_trips() {
    cloud_round_trips(&servers::Server::gcs(), "gcp").await;
}

/// With the S3 server gone: the bucket check fails naming the storage; without the check the
/// store's client retries, and a cancel stops that wait at once.
async fn unreachable_storage_fails_or_is_cancelled(server: servers::Server) {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let location = "s3://restore-gone/test-cluster/dc1/node1";
    let options = StoreOptions {
        settings: server.settings.clone(),
        ..StoreOptions::default()
    };
    back_up(&node, location, &options, "snap1").await;
    let src = tmp.path().join("src");
    let mut body = restore_body(location, "IMPORT", "DOWNLOAD", &src);
    let (config, _secrets) = with_secret(&server, &mut body);
    drop(server);
    let sidecar = TestServer::start(node.connector(), config, &tmp.path().join("journal")).await;
    let (kind, message) = failure(&sidecar.run(&body).await);
    assert_eq!(kind, "Restore");
    assert!(message.contains("storage s3://restore-gone"), "{message}");

    body["skipBucketVerification"] = json!(true);
    let id = sidecar.submit_id(&body).await;
    sidecar.wait_state(&id, "RUNNING").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let asked = std::time::Instant::now();
    let resp = sidecar.delete(&format!("/operations/{id}")).await;
    assert!(resp.status < 300, "{}", resp.body);
    let record = sidecar.wait_finished(&id).await;
    assert_eq!(record["state"], "CANCELLED", "{record}");
    // The store's client would keep retrying for minutes; the cancel cut that short.
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert!(!src.exists(), "nothing downloaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_syncs_a_stopped_node_which_then_serves_the_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let before = live_hashes(&node).await;
    let location = file_location(tmp.path());
    let backup = back_up(&node, &location, &StoreOptions::default(), "snap1").await;
    let table_dir = node.table_dir(KS, TABLE);
    let data_dir = node.data_dir.clone();
    let cassandra_dir = tmp.path().join("cassandra");
    std::fs::create_dir_all(cassandra_dir.join("hints")).unwrap();
    std::fs::write(cassandra_dir.join("hints/h-1.hints"), "x").unwrap();
    let config_dir = tmp.path().join("conf");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("cassandra.yaml"),
        "cluster_name: 'Test Cluster'\n",
    )
    .unwrap();
    let body = json!({
        "type": "restore",
        "storageLocation": location,
        "snapshotTag": "snap1",
        "restorationStrategyType": "IN_PLACE",
        "cassandraDirectory": cassandra_dir,
        "cassandraConfigDirectory": config_dir,
        "dataDirs": [data_dir],
        "entities": format!("{KS}.{TABLE}"),
        "updateCassandraYaml": true,
    });

    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("journal")).await;
    let (kind, message) = failure(&server.run(&body).await);
    assert_eq!(kind, "Restore");
    assert!(message.contains("stopped node"), "{message}");

    // Stop the node, damage its table: one file gone, one stray SSTable.
    drop(node);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let data_file = std::fs::read_dir(&table_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-Data.db"))
        .unwrap();
    std::fs::remove_file(&data_file).unwrap();
    std::fs::write(table_dir.join("nb-99-big-Data.db"), "stray").unwrap();

    let record = server.run(&body).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["filesRemoved"], 1, "{record}");
    assert!(!cassandra_dir.join("hints/h-1.hints").exists());
    let yaml = std::fs::read_to_string(config_dir.join("cassandra.yaml")).unwrap();
    let tokens = backup.manifest.tokens.clone().unwrap().join(",");
    assert!(
        yaml.contains("auto_bootstrap: false")
            && yaml.contains(&format!("initial_token: {tokens}")),
        "{yaml}"
    );

    let restarted = TestNode::start("4.1", tmp.path()).await;
    assert_eq!(restarted.data_dir, data_dir);
    assert_eq!(
        live_hashes(&restarted).await,
        before,
        "the restarted node serves the backup"
    );
}

/// A backup written in Esop's layout by hand, in the `sstables` form and the legacy `entries`
/// form, restores with IMPORT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esop_layout_in_both_manifest_forms() {
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start("4.1", tmp.path()).await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("journal")).await;
    let (tokens, schema_version) = node
        .connector()
        .read(|n| async move { Ok((n.tokens().await?, n.schema_version().await?)) })
        .await
        .unwrap();
    let fixture = copy_fixture(NB_SETS, tmp.path());
    let table_id = "52d74870fb9911eaa75583ff20369112";
    let mut entries = Vec::new();
    let mut expected = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&fixture)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for (i, form) in ["sstables", "entries"].iter().enumerate() {
        let root = tmp.path().join(format!("esop-{form}"));
        let location = file_location(&root);
        let node_dir = root.join("bucket").join(NODE_PREFIX.join("/"));
        entries.clear();
        expected.clear();
        for name in &names {
            let generation = if name.starts_with("nb-1-") { "1" } else { "2" };
            let digest =
                std::fs::read_to_string(fixture.join(format!("nb-{generation}-big-Digest.crc32")))
                    .unwrap();
            let key = format!("data/{KS}/{TABLE}-{table_id}/{generation}-{digest}/{name}");
            let target = node_dir.join(&key);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(fixture.join(name), &target).unwrap();
            let digest = transfer::hash_file(&target).await.unwrap();
            expected.push(digest.sha256.clone());
            entries.push(json!({"objectKey": key, "type": "FILE", "size": digest.size, "hash": digest.sha256}));
        }
        expected.sort();
        let table = if *form == "sstables" {
            let mut by_sstable = serde_json::Map::new();
            for e in &entries {
                let file = e["objectKey"].as_str().unwrap().rsplit('/').next().unwrap();
                let prefix = &file[..8];
                by_sstable
                    .entry(prefix.to_string())
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                    .unwrap()
                    .push(e.clone());
            }
            json!({"sstables": by_sstable, "id": table_id, "schemaContent": "CREATE TABLE spark_test.test3 (id int PRIMARY KEY, col1 int, col2 int);"})
        } else {
            json!({"entries": entries, "id": table_id})
        };
        let name = format!("snap1-{schema_version}-{}", 1_600_000_000_000u64 + i as u64);
        let manifest = json!({
            "snapshot": {"name": name, "keyspaces": {KS: {"tables": {TABLE: table}}, "empty_ks": {"tables": {}}}},
            "tokens": tokens,
            "schemaVersion": schema_version,
        });
        let manifest_path = node_dir.join(format!("manifests/{name}.json"));
        std::fs::create_dir_all(manifest_path.parent().unwrap()).unwrap();
        std::fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).unwrap(),
        )
        .unwrap();

        let src = tmp.path().join(format!("src-{form}"));
        let mut body = restore_body(&location, "IMPORT", "DOWNLOAD", &src);
        body["entities"] = Value::Null;
        for p in ["DOWNLOAD", "TRUNCATE", "IMPORT"] {
            body["restorationPhase"] = json!(p);
            let record = server.run(&body).await;
            assert_eq!(record["state"], "COMPLETED", "{form} {p}: {record}");
        }
        assert_eq!(live_hashes(&node).await, expected, "{form}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_name_what_to_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let before = live_hashes(&node).await;
    let location = file_location(tmp.path());
    let mut backup = back_up(&node, &location, &StoreOptions::default(), "snap1").await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("journal")).await;
    let src = tmp.path().join("src");
    let body = |phase: &str| restore_body(&location, "IMPORT", phase, &src);

    // Unknown tag: the error lists the tags that exist.
    let mut unknown = body("INIT");
    unknown["snapshotTag"] = json!("snap");
    let (_, message) = failure(&server.run(&unknown).await);
    assert!(
        message.contains("\"snap\"") && message.contains(&backup.full_tag),
        "{message}"
    );

    // A damaged object: FAILED naming it, nothing usable downloaded, IMPORT refuses to run.
    let keys = backup.keys();
    let damaged = keys[3].clone();
    let path = backup.storage.node_object(&backup.node, &damaged);
    let original = backup
        .storage
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let mut bad = original.clone();
    bad[0] ^= 0xff;
    backup.put(&damaged, bad).await;
    let (kind, message) = failure(&server.run(&body("DOWNLOAD")).await);
    assert_eq!(kind, "Download");
    assert!(
        message.contains(&damaged) && message.contains("hash"),
        "{message}"
    );
    let (_, message) = failure(&server.run(&body("IMPORT")).await);
    assert!(message.contains("run phase DOWNLOAD first"), "{message}");
    assert!(
        node.calls("importNewSSTables").is_empty(),
        "nothing imported"
    );
    backup.put(&damaged, original).await;

    // A missing object (storage failing mid-download): FAILED naming it; with
    // noDeleteDownloads the files already verified stay and the rerun fetches only what is
    // missing (without it they are removed: see below). One connection: the objects before it
    // arrive first.
    let last = keys.iter().max().unwrap().clone();
    let path = backup.storage.node_object(&backup.node, &last);
    let original = backup
        .storage
        .store()
        .get(&path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    backup.delete(&last).await;
    let mut keep = body("DOWNLOAD");
    keep["noDeleteDownloads"] = json!(true);
    let (_, message) = failure(&server.run(&keep).await);
    assert!(message.contains(&last), "{message}");
    // Without noDeleteDownloads, a DOWNLOAD that fails removes what it wrote.
    let removed = server.run(&body("DOWNLOAD")).await;
    assert_eq!(removed["state"], "FAILED", "{removed}");
    assert_eq!(removed["filesRemoved"], 15, "{removed}");
    let left = walkdir_files(&src);
    assert!(
        left.iter().all(|name| name.starts_with('.')),
        "only the ledger is left: {left:?}"
    );
    let (_, message) = failure(&server.run(&keep).await);
    assert!(message.contains(&last), "{message}");
    backup.put(&last, original).await;
    let record = server.run(&body("DOWNLOAD")).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["filesAlreadyPresent"], 15, "{record}");
    assert_eq!(record["filesDownloaded"], 1, "{record}");

    // The node refuses the import: FAILED with the Java class and message.
    node.fault(
        "fail",
        &[
            "importNewSSTables",
            "java.lang.IllegalStateException",
            "disk full",
        ],
    )
    .await;
    let record = server.run(&body("IMPORT")).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let cause = record["failureCause"].to_string();
    assert!(
        cause.contains("java.lang.IllegalStateException") && cause.contains("disk full"),
        "{cause}"
    );
    node.fault("clear", &[]).await;
    assert_eq!(live_hashes(&node).await, before, "nothing changed");

    // Tokens differ: FAILED before any download.
    std::fs::remove_dir_all(&src).unwrap();
    backup.manifest.tokens = Some(vec!["42".to_string()]);
    backup.write_manifest().await;
    let (kind, message) = failure(&server.run(&body("DOWNLOAD")).await);
    assert_eq!(kind, "Tokens");
    assert!(message.contains("[42]"), "{message}");
    assert!(!src.exists(), "nothing downloaded");

    // An unhealthy cluster stops TRUNCATE before it changes anything.
    node.fault("setOperationMode", &["JOINING"]).await;
    let (kind, message) = failure(&server.run(&body("TRUNCATE")).await);
    assert_eq!(kind, "HealthCheck");
    assert!(
        message.contains("JOINING") && message.contains("TRUNCATE"),
        "{message}"
    );
    assert!(node.calls("truncate").is_empty());
}

/// Every Esop validation rule is a 400 naming its field, through HTTP.
#[tokio::test]
async fn esop_rules_are_400s_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(1), tmp.path()).await;
    let src = PathBuf::from("/tmp/restore-src");
    let mut body = restore_body("file:///tmp/b/c/d/n", "HARDLINKS", "DOWNLOAD", &src);
    body["restorationPhase"] = Value::Null;
    let resp = server.post(&body).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.body["field"], "restorationPhase");
    let mut body = restore_body("file:///tmp/b/c/d/n", "IMPORT", "DOWNLOAD", &src);
    body["import"]["sourceDir"] = json!("/var/lib/cassandra/data/ks");
    let resp = server.post(&body).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.body["field"], "import.sourceDir");
}

/// The sidecar stopping dead in the middle of IMPORT: at the next start the restore is FAILED
/// with advice naming the phase to run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_cut_short_by_a_crash_names_the_phase_to_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let location = file_location(tmp.path());
    back_up(&node, &location, &StoreOptions::default(), "snap1").await;
    let journal = tmp.path().join("journal");
    let server = TestServer::start(node.connector(), config(1), &journal).await;
    let src = tmp.path().join("src");
    let body = restore_body(&location, "IMPORT", "DOWNLOAD", &src);
    phase(&server, &body, "DOWNLOAD").await;
    node.fault("hang", &["importNewSSTables"]).await;
    let id = server
        .submit_id(&restore_body(&location, "IMPORT", "IMPORT", &src))
        .await;
    server.wait_state(&id, "RUNNING").await;
    eventually("import in flight", || {
        !node.calls("importNewSSTables").is_empty()
    })
    .await;
    server.halt();

    let server = TestServer::start(node.connector(), config(1), &journal).await;
    let record = server.get(&format!("/operations/{id}")).await.body;
    let (kind, message) = failure(&record);
    assert_eq!(kind, "SidecarRestart");
    assert!(message.contains("rerun phase IMPORT"), "{message}");
    node.fault("clear", &[]).await;
}

/// Writes `topology/<full tag>.json` at the bucket's root, as a backup with
/// `uploadClusterTopology` does: this node's address under `host_id` of `cluster`, beside
/// another node.
async fn write_topology(backup: &Backup, cluster: &str, dc: &str, host_id: &str, address: &str) {
    let entry = |id: &str, ip: &str| NodeTopology {
        hostname: None,
        cluster: Some(cluster.to_string()),
        dc: Some(dc.to_string()),
        rack: Some("rack1".to_string()),
        node_id: Some(id.to_string()),
        ip_address: Some(ip.to_string()),
    };
    let topology = ClusterTopology {
        timestamp: 1_700_000_000_000,
        cluster_name: Some(cluster.to_string()),
        schema_version: backup.manifest.schema_version.clone(),
        topology: vec![
            entry("5d0c4b8e-1111-4c2a-9a57-0e6f2a7f0b01", "192.0.2.10"),
            entry(host_id, address),
        ],
    };
    backup
        .storage
        .store()
        .put(
            &object_store::path::Path::from(layout::topology_key(&backup.full_tag)),
            PutPayload::from(topology.to_json()),
        )
        .await
        .expect("put topology");
}

/// A backup taken by a node whose host id was another (a cluster rebuilt, or a new cluster):
/// with a global location, `newCluster` finds this node's entry in the backup's topology by
/// address and restores from that node's prefix, its cluster name included;
/// `resolveHostIdFromTopology` does the same within this node's own cluster. Without either
/// the restore looks under this node's own host id and finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_cluster_restores_the_backup_of_this_node_under_its_old_host_id() {
    let storage = servers::Server::azure();
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let before = live_hashes(&node).await;
    let (cluster, address, dc, host_id) = node
        .connector()
        .read(|n| async move {
            let host_id = n.local_host_id().await?;
            let me = n
                .topology()
                .await?
                .into_iter()
                .find(|e| e.host_id == host_id)
                .expect("the node is in its own ring");
            let dc = me.datacenter.expect("a datacenter");
            Ok((n.cluster_name().await?, me.ip, dc, host_id))
        })
        .await
        .expect("node facts");
    let old_id = "0b7e1f6a-2222-4d3b-8c11-5f4e3d2c1b0a";
    assert_ne!(host_id, old_id);
    let options = StoreOptions {
        settings: storage.settings.clone(),
        ..StoreOptions::default()
    };
    let old_location = format!("azure://restore-topology/old-cluster/{dc}/{old_id}");
    let old = back_up(&node, &old_location, &options, "snap1").await;
    write_topology(&old, "old-cluster", &dc, old_id, &address).await;
    let same_cluster = format!("azure://restore-topology/{cluster}/{dc}/{old_id}");
    let rebuilt = back_up(&node, &same_cluster, &options, "snap2").await;
    write_topology(&rebuilt, &cluster, &dc, old_id, &address).await;

    let src = tmp.path().join("src");
    let mut body = restore_body("azure://restore-topology", "IMPORT", "INIT", &src);
    let (config, _secrets) = with_secret(&storage, &mut body);
    let server = TestServer::start(node.connector(), config, &tmp.path().join("journal")).await;

    let (kind, message) = failure(&server.run(&body).await);
    assert_eq!(kind, "Restore");
    assert!(message.contains("snap1"), "{message}");

    let mut resolved = body.clone();
    resolved["resolveHostIdFromTopology"] = json!(true);
    resolved["snapshotTag"] = json!("snap2");
    let record = phase(&server, &resolved, "INIT").await;
    assert_eq!(record["backup"], rebuilt.full_tag.as_str(), "{record}");

    body["newCluster"] = json!(true);
    let record = phase(&server, &body, "INIT").await;
    assert_eq!(record["backup"], old.full_tag.as_str(), "{record}");
    let record = phase(&server, &body, "DOWNLOAD").await;
    assert_eq!(record["filesDownloaded"], 16, "{record}");
    phase(&server, &body, "TRUNCATE").await;
    assert!(live_hashes(&node).await.is_empty(), "truncated");
    phase(&server, &body, "IMPORT").await;
    assert_eq!(
        live_hashes(&node).await,
        before,
        "the node serves the bytes backed up under its old host id"
    );
}

/// `noDownloadData`: DOWNLOAD fetches nothing and only checks the files already in the download
/// directory against the manifest's hashes, so it passes with the store's objects gone and
/// fails naming a file that is missing or holds other bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_download_data_only_checks_the_files_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let node = seeded_node("4.1", tmp.path()).await;
    let before = live_hashes(&node).await;
    let location = file_location(tmp.path());
    let backup = back_up(&node, &location, &StoreOptions::default(), "snap1").await;
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("journal")).await;
    let src = tmp.path().join("src");
    let fetch = restore_body(&location, "IMPORT", "DOWNLOAD", &src);
    let mut check = fetch.clone();
    check["noDownloadData"] = json!(true);

    let (kind, message) = failure(&server.run(&check).await);
    assert_eq!(kind, "Restore");
    assert!(
        message.contains("noDownloadData") && message.contains(&*src.to_string_lossy()),
        "{message}"
    );
    assert!(!src.exists() || files_under(&src) == 0, "nothing fetched");

    phase(&server, &fetch, "DOWNLOAD").await;
    for key in backup.keys() {
        backup.delete(&key).await;
    }
    let record = phase(&server, &check, "DOWNLOAD").await;
    assert_eq!(record["filesAlreadyPresent"], 16, "{record}");
    assert!(record["filesDownloaded"].is_null(), "{record}");

    let download_dir = src
        .join(KS)
        .join(node.table_dir(KS, TABLE).file_name().unwrap());
    let mut downloaded: Vec<PathBuf> = std::fs::read_dir(&download_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    downloaded.sort();
    let damaged = &downloaded[0];
    let original = std::fs::read(damaged).unwrap();
    std::fs::write(damaged, b"other bytes").unwrap();
    let (_, message) = failure(&server.run(&check).await);
    assert!(
        message.contains(&*damaged.to_string_lossy()) && message.contains("hash"),
        "{message}"
    );
    std::fs::write(damaged, original).unwrap();

    phase(&server, &check, "DOWNLOAD").await;
    phase(&server, &check, "TRUNCATE").await;
    phase(&server, &check, "IMPORT").await;
    assert_eq!(
        live_hashes(&node).await,
        before,
        "the checked files imported"
    );
}
