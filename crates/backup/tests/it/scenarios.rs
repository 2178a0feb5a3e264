//! Behaviours every storage kind must show, run against `file://` and each server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use backup::catalog::{self, CatalogError, Scope};
use backup::layout::{self, UploadItem};
use backup::location::{NodePath, StorageLocation};
use backup::manifest::{EntryType, Keyspace, Manifest, ManifestEntry, Snapshot, Table};
use backup::request::RemovalSelector;
use backup::store::{Storage, StoreError, StoreOptions};
use backup::transfer::{upload, TransferOptions, UploadFile, UploadOutcome};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use testkit::storage::Server;

pub const TABLE_ID: &str = "52d74870fb9911eaa75583ff20369112";
pub const SCHEMA: &str = "f1159959-593d-33d1-9ade-712ea55b31ef";

/// How to reach one storage kind.
pub struct Backend {
    /// `s3://`, `gcp://`, `azure://` or `file:///some/dir/`.
    base: String,
    settings: BTreeMap<String, String>,
}

impl Backend {
    pub fn file(dir: &FsPath) -> Backend {
        Backend {
            base: format!("file://{}/", dir.display()),
            settings: BTreeMap::new(),
        }
    }

    pub fn server(protocol: &str, server: &Server) -> Backend {
        Backend::with_settings(protocol, server.settings.clone())
    }

    pub fn with_settings(protocol: &str, settings: BTreeMap<String, String>) -> Backend {
        Backend {
            base: format!("{protocol}://"),
            settings,
        }
    }

    pub fn node() -> NodePath {
        NodePath {
            cluster: "Test Cluster".into(),
            dc: "dc1".into(),
            node: "node-a".into(),
        }
    }

    pub fn location(&self, bucket: &str) -> StorageLocation {
        StorageLocation::parse(&format!("{}{bucket}/{}", self.base, Backend::node())).unwrap()
    }

    pub fn options(&self, create: bool, skip_check: bool) -> StoreOptions {
        StoreOptions {
            read_environment: false,
            settings: self.settings.clone(),
            create_missing_bucket: create,
            skip_bucket_verification: skip_check,
            request_timeout: Duration::from_secs(30),
            retry: RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            },
            ..StoreOptions::default()
        }
    }

    pub async fn open(&self, bucket: &str) -> Storage {
        Storage::open(&self.location(bucket), &self.options(true, false))
            .await
            .unwrap_or_else(|e| panic!("open {bucket}: {e}"))
    }
}

pub async fn bucket_lifecycle(backend: &Backend) {
    let missing = Storage::open(
        &backend.location("missing-bucket"),
        &backend.options(false, false),
    )
    .await;
    match missing {
        Err(StoreError::BucketMissing { bucket, .. }) => assert_eq!(bucket, "missing-bucket"),
        other => panic!("a missing bucket must be reported, got {other:?}"),
    }
    let created = Storage::open(
        &backend.location("made-bucket"),
        &backend.options(true, false),
    )
    .await
    .unwrap();
    assert!(created.bucket_exists().await.unwrap());
    // Creating what exists is not an error; opening without creation now finds it.
    created.create_bucket().await.unwrap();
    Storage::open(
        &backend.location("made-bucket"),
        &backend.options(false, false),
    )
    .await
    .unwrap();
    // Skipping the check opens without asking the server about the bucket.
    Storage::open(
        &backend.location("never-checked"),
        &backend.options(false, true),
    )
    .await
    .unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A table snapshot as Cassandra leaves it: two SSTables (one with a digest, one empty without),
/// a secondary index, and the files Esop does not upload.
fn write_snapshot(dir: &FsPath) {
    std::fs::create_dir_all(dir.join(".t1_idx")).unwrap();
    let files: [(&str, &[u8]); 9] = [
        ("nb-1-big-Data.db", b"row data of generation one"),
        ("nb-1-big-Digest.crc32", b"2620247400"),
        ("nb-1-big-TOC.txt", b"Data.db\nDigest.crc32\nTOC.txt\n"),
        ("nb-2-big-Data.db", b""),
        ("nb-2-big-Statistics.db", b"stats"),
        (".t1_idx/nb-1-big-Data.db", b"index data"),
        (".t1_idx/nb-1-big-Digest.crc32", b"77"),
        ("manifest.json", b"{\"files\":[]}"),
        (
            "schema.cql",
            b"CREATE TABLE IF NOT EXISTS ks1.t1 (k int PRIMARY KEY);",
        ),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

async fn put(store: &Arc<dyn ObjectStore>, path: &Path, bytes: Vec<u8>) {
    store
        .put(path, PutPayload::from(Bytes::from(bytes)))
        .await
        .unwrap_or_else(|e| panic!("put {path}: {e}"));
}

async fn get(store: &Arc<dyn ObjectStore>, path: &Path) -> Bytes {
    store
        .get(path)
        .await
        .unwrap_or_else(|e| panic!("get {path}: {e}"))
        .bytes()
        .await
        .unwrap()
}

/// An uploaded file and its SHA-256.
type Uploaded = (UploadItem, String);

fn manifest_of(name: &str, tables: Vec<(&str, &str, Vec<Uploaded>)>) -> Manifest {
    let mut keyspaces: BTreeMap<String, Keyspace> = BTreeMap::new();
    for (ks, table, items) in tables {
        let mut sstables: BTreeMap<String, Vec<ManifestEntry>> = BTreeMap::new();
        for (item, hash) in items {
            sstables
                .entry(item.sstable.clone())
                .or_default()
                .push(ManifestEntry {
                    object_key: item.key.clone(),
                    entry_type: EntryType::File,
                    size: item.size,
                    hash: Some(hash),
                    kms_key_id: None,
                });
        }
        keyspaces.entry(ks.to_string()).or_default().tables.insert(
            table.to_string(),
            Table {
                sstables,
                id: Some(TABLE_ID.to_string()),
                schema_content: Some(format!("CREATE TABLE {ks}.{table};")),
            },
        );
    }
    let mut manifest = Manifest {
        snapshot: Snapshot {
            name: Some(name.to_string()),
            keyspaces,
        },
        tokens: Some(vec!["-9223372036854775808".into(), "0".into()]),
        schema_version: Some(SCHEMA.to_string()),
        size: 0,
    };
    manifest.size = manifest.total_size();
    manifest
}

pub async fn backup_round_trip(backend: &Backend) {
    let storage = backend.open("round-trip").await;
    let store = storage.store().clone();
    let node = Backend::node();
    let data = tempfile::tempdir().unwrap();
    let snapshot = data
        .path()
        .join(format!("ks1/t1-{TABLE_ID}/snapshots/snap1"));
    write_snapshot(&snapshot);

    let plan = layout::plan_table_upload("ks1", "t1", TABLE_ID, &snapshot).unwrap();
    let keys: Vec<&str> = plan.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            format!("data/ks1/t1-{TABLE_ID}/.t1_idx/1-77/nb-1-big-Data.db"),
            format!("data/ks1/t1-{TABLE_ID}/.t1_idx/1-77/nb-1-big-Digest.crc32"),
            format!("data/ks1/t1-{TABLE_ID}/1-2620247400/nb-1-big-Data.db"),
            format!("data/ks1/t1-{TABLE_ID}/1-2620247400/nb-1-big-Digest.crc32"),
            format!("data/ks1/t1-{TABLE_ID}/1-2620247400/nb-1-big-TOC.txt"),
            // No digest: the Adler32 of the (empty) Data.db, 1.
            format!("data/ks1/t1-{TABLE_ID}/2-1/nb-2-big-Data.db"),
            format!("data/ks1/t1-{TABLE_ID}/2-1/nb-2-big-Statistics.db"),
        ]
    );
    let mut uploaded = Vec::new();
    for item in &plan {
        let bytes = std::fs::read(&item.local).unwrap();
        assert_eq!(bytes.len() as u64, item.size);
        let hash = sha256_hex(&bytes);
        put(&store, &storage.node_object(&node, &item.key), bytes).await;
        uploaded.push((item.clone(), hash));
    }
    let full_tag = layout::full_tag("snap1", SCHEMA, 1_700_000_000_000);
    let mut manifest = manifest_of(&full_tag, vec![("ks1", "t1", uploaded)]);
    manifest
        .snapshot
        .keyspaces
        .get_mut("ks1")
        .unwrap()
        .tables
        .insert("empty".into(), Table::default());
    let manifest_path = storage.node_object(&node, &layout::manifest_key(&full_tag));
    put(&store, &manifest_path, manifest.to_json()).await;

    // Read back: the manifest, then every object it lists, by hash.
    let read = Manifest::from_json("read back", &get(&store, &manifest_path).await).unwrap();
    assert_eq!(read, manifest);
    for entry in read.entries() {
        let bytes = get(&store, &storage.node_object(&node, &entry.object_key)).await;
        assert_eq!(Some(sha256_hex(&bytes)), entry.hash, "{}", entry.object_key);
        assert_eq!(bytes.len() as u64, entry.size);
    }

    // A manifest of Esop before 2.0 (legacy `entries`) beside it is listed too.
    let legacy = format!(
        r#"{{"snapshot" : {{"name" : "old", "keyspaces" : {{"ks1" : {{"tables" : {{"t1" : {{"entries" : [ {{
            "objectKey" : "data/ks1/t1-{TABLE_ID}/1-2620247400/nb-1-big-Data.db", "type" : "FILE", "size" : 26 }} ],
            "id" : "{TABLE_ID}"}} }} }} }} }}, "tokens" : [ "0" ], "schemaVersion" : "{SCHEMA}" }}"#
    );
    let legacy_tag = layout::full_tag("old", SCHEMA, 1_600_000_000_000);
    put(
        &store,
        &storage.node_object(&node, &layout::manifest_key(&legacy_tag)),
        legacy.into_bytes(),
    )
    .await;

    let listed = catalog::list_backups(&store, &Scope::Node(node.clone()))
        .await
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].name, legacy_tag);
    assert_eq!((listed[0].size, listed[0].files), (26, 1));
    let newest = &listed[1];
    assert_eq!(newest.name, full_tag);
    assert_eq!(newest.snapshot_tag, "snap1");
    assert_eq!(newest.schema_version.as_deref(), Some(SCHEMA));
    assert_eq!(newest.timestamp, 1_700_000_000_000);
    assert_eq!(newest.size, manifest.total_size());
    assert_eq!(newest.files, plan.len());
    assert_eq!(newest.nodes, vec!["Test Cluster/dc1/node-a".to_string()]);
    let whole_bucket = catalog::list_backups(&store, &Scope::Bucket).await.unwrap();
    assert_eq!(whole_bucket, listed);
}

pub async fn listing_past_1000_keys(backend: &Backend, count: usize) {
    let storage = backend.open("many-keys").await;
    let store = storage.store().clone();
    let node = Backend::node();
    let empty = manifest_of("x", vec![]).to_json();
    futures::stream::iter(0..count)
        .map(|i| {
            let store = store.clone();
            let path = storage.node_object(
                &node,
                &layout::manifest_key(&layout::full_tag("many", SCHEMA, 1_000 + i as u64)),
            );
            let body = empty.clone();
            async move { put(&store, &path, body).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let prefix = Path::from(format!("{}/manifests", node.prefix()));
    let raw: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
    assert_eq!(raw.len(), count);
    let listed = catalog::list_backups(&store, &Scope::Bucket).await.unwrap();
    assert_eq!(listed.len(), count);
    assert_eq!(listed.first().unwrap().timestamp, 1_000);
    assert_eq!(listed.last().unwrap().timestamp, 1_000 + count as u64 - 1);
}

fn item(key: &str, size: u64) -> Uploaded {
    let file = key.rsplit('/').next().unwrap();
    let sstable = layout::parse_sstable_name(file).unwrap().prefix;
    (
        UploadItem {
            local: "/unused".into(),
            key: key.to_string(),
            size,
            sstable,
        },
        "00".repeat(32),
    )
}

async fn exists(store: &Arc<dyn ObjectStore>, path: &Path) -> bool {
    match store.head(path).await {
        Ok(_) => true,
        Err(object_store::Error::NotFound { .. }) => false,
        Err(e) => panic!("head {path}: {e}"),
    }
}

pub async fn removal_keeps_shared_objects(backend: &Backend) {
    let storage = backend.open("removal").await;
    let store = storage.store().clone();
    let a = Backend::node();
    let b = NodePath {
        node: "node-b".into(),
        ..Backend::node()
    };
    let key = |gen: u32, file: &str| format!("data/ks1/t1-{TABLE_ID}/{gen}-10/nb-{gen}-big-{file}");
    let (shared, only1, only2, only3) = (
        key(1, "Data.db"),
        key(2, "Data.db"),
        key(3, "Data.db"),
        key(4, "Data.db"),
    );
    let backups = [
        (&a, "first", 1_000u64, vec![&shared, &only1]),
        (&a, "second", 2_000, vec![&shared, &only2]),
        (&a, "third", 3_000, vec![&only3]),
        (&b, "first", 1_000, vec![&shared]),
    ];
    let mut names = BTreeMap::new();
    for (node, tag, millis, keys) in &backups {
        let name = layout::full_tag(tag, SCHEMA, *millis);
        for key in keys {
            put(&store, &storage.node_object(node, key), vec![7u8; 10]).await;
        }
        let items = keys.iter().map(|k| item(k, 10)).collect();
        let manifest = manifest_of(&name, vec![("ks1", "t1", items)]);
        put(
            &store,
            &storage.node_object(node, &layout::manifest_key(&name)),
            manifest.to_json(),
        )
        .await;
        names.insert((node.node.clone(), tag.to_string()), name);
    }
    let first = names[&("node-a".to_string(), "first".to_string())].clone();
    let third = names[&("node-a".to_string(), "third".to_string())].clone();
    // Global backups' topology files at the bucket root.
    for name in [&first, &third] {
        put(
            &store,
            &storage.bucket_object(&layout::topology_key(name)),
            b"{}".to_vec(),
        )
        .await;
    }
    let in_dc = catalog::nodes(store.as_ref(), &Scope::Datacenters(vec!["dc1".into()]))
        .await
        .unwrap();
    assert_eq!(in_dc, vec![Backend::node(), b.clone()]);
    assert!(
        catalog::nodes(store.as_ref(), &Scope::Datacenters(vec!["dc2".into()]))
            .await
            .unwrap()
            .is_empty()
    );
    let at = |node: &NodePath, key: &str| storage.node_object(node, key);

    // The global listing groups the shared name over both nodes.
    let listed = catalog::list_backups(&store, &Scope::Bucket).await.unwrap();
    let global = listed.iter().find(|s| s.name == first).unwrap();
    assert_eq!(
        global.nodes,
        vec!["Test Cluster/dc1/node-a", "Test Cluster/dc1/node-b"]
    );
    assert_eq!(global.size, 30);

    // Dry: the plan, nothing deleted.
    let scope = Scope::Node(a.clone());
    let dry = catalog::remove_backups(
        &store,
        &scope,
        &RemovalSelector::Name(first.clone()),
        10_000,
        true,
    )
    .await
    .unwrap();
    assert_eq!(dry.objects, vec![at(&a, &only1).to_string()]);
    assert_eq!(dry.kept_shared, 1);
    assert_eq!(dry.freed_bytes, 10);
    assert!(dry.topologies.is_empty(), "node B still holds it: {dry:?}");
    assert!(exists(&store, &at(&a, &only1)).await);
    assert!(exists(&store, &at(&a, &layout::manifest_key(&first))).await);

    // By name: its own object goes, the one the second backup needs stays, node B untouched.
    let removed = catalog::remove_backups(
        &store,
        &scope,
        &RemovalSelector::Name(first.clone()),
        10_000,
        false,
    )
    .await
    .unwrap();
    assert_eq!(removed.removed_backups.len(), 1);
    assert!(!exists(&store, &at(&a, &only1)).await);
    assert!(!exists(&store, &at(&a, &layout::manifest_key(&first))).await);
    assert!(exists(&store, &at(&a, &shared)).await);
    assert!(exists(&store, &at(&b, &shared)).await);
    assert!(exists(&store, &at(&b, &layout::manifest_key(&first))).await);
    // Node B still holds the first backup: its topology stays.
    assert!(removed.topologies.is_empty());
    assert!(
        exists(
            &store,
            &storage.bucket_object(&layout::topology_key(&first))
        )
        .await
    );

    // An unknown name names the backups that do exist.
    match catalog::remove_backups(
        &store,
        &scope,
        &RemovalSelector::Name("nope".into()),
        10_000,
        false,
    )
    .await
    {
        Err(CatalogError::NotFound { existing, .. }) => {
            assert!(existing.contains("second-"), "{existing}")
        }
        other => panic!("expected NotFound, got {other:?}"),
    }

    // An age beyond the epoch removes nothing (no overflow); a 25-day-plus gap is compared right.
    let none = catalog::remove_backups(
        &store,
        &scope,
        &RemovalSelector::OlderThanMillis(u64::MAX),
        10_000,
        false,
    )
    .await
    .unwrap();
    assert!(none.removed_backups.is_empty());
    let month = 31 * 24 * 3600 * 1000u64;
    let none = catalog::remove_backups(
        &store,
        &scope,
        &RemovalSelector::OlderThanMillis(month),
        month + 1_500,
        false,
    )
    .await
    .unwrap();
    assert!(none.removed_backups.is_empty(), "{none:?}");

    // Oldest remaining on node A is the second: now nothing needs the shared object there.
    let oldest = catalog::remove_backups(&store, &scope, &RemovalSelector::Oldest, 10_000, false)
        .await
        .unwrap();
    assert_eq!(
        oldest.removed_backups,
        vec![format!(
            "{a}: {}",
            names[&("node-a".to_string(), "second".to_string())]
        )]
    );
    assert!(!exists(&store, &at(&a, &shared)).await);
    assert!(!exists(&store, &at(&a, &only2)).await);
    assert!(exists(&store, &at(&a, &only3)).await);

    // Older than 2.5 s at t=5.6 s: the third (t=3 s) on A, and node B's first (t=1 s) when global.
    let dry_older = catalog::remove_backups(
        &store,
        &Scope::Bucket,
        &RemovalSelector::OlderThanMillis(2_500),
        5_600,
        true,
    )
    .await
    .unwrap();
    assert_eq!(dry_older.topologies.len(), 2, "{dry_older:?}");
    assert!(
        exists(
            &store,
            &storage.bucket_object(&layout::topology_key(&first))
        )
        .await
    );
    let older = catalog::remove_backups(
        &store,
        &Scope::Bucket,
        &RemovalSelector::OlderThanMillis(2_500),
        5_600,
        false,
    )
    .await
    .unwrap();
    let gone: BTreeSet<_> = older.removed_backups.iter().cloned().collect();
    assert_eq!(gone.len(), 2, "{gone:?}");
    // No node holds the first or the third backup any more: their topology files went too.
    assert_eq!(older.topologies.len(), 2, "{older:?}");
    assert!(
        !exists(
            &store,
            &storage.bucket_object(&layout::topology_key(&first))
        )
        .await
    );
    assert!(
        !exists(
            &store,
            &storage.bucket_object(&layout::topology_key(&third))
        )
        .await
    );
    assert!(!exists(&store, &at(&a, &only3)).await);
    assert!(!exists(&store, &at(&b, &shared)).await);
    assert!(catalog::list_backups(&store, &Scope::Bucket)
        .await
        .unwrap()
        .is_empty());
}

/// A manifest that cannot be read stops a removal before anything is deleted: what it
/// references is unknown, so any object could be one it needs.
pub async fn unreadable_manifest_blocks_removal(backend: &Backend) {
    let storage = backend.open("corrupt").await;
    let store = storage.store().clone();
    let node = Backend::node();
    let data = format!("data/ks1/t1-{TABLE_ID}/1-10/nb-1-big-Data.db");
    put(&store, &storage.node_object(&node, &data), vec![1; 4]).await;
    let good = layout::full_tag("good", SCHEMA, 1_000);
    let manifest = manifest_of(&good, vec![("ks1", "t1", vec![item(&data, 4)])]);
    put(
        &store,
        &storage.node_object(&node, &layout::manifest_key(&good)),
        manifest.to_json(),
    )
    .await;
    let bad = layout::manifest_key(&layout::full_tag("bad", SCHEMA, 2_000));
    put(
        &store,
        &storage.node_object(&node, &bad),
        b"{ not json".to_vec(),
    )
    .await;
    let err = catalog::remove_backups(
        &store,
        &Scope::Node(node.clone()),
        &RemovalSelector::Oldest,
        5_000,
        false,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("bad-"),
        "the error names the manifest: {err}"
    );
    assert!(exists(&store, &storage.node_object(&node, &data)).await);
    assert!(
        exists(
            &store,
            &storage.node_object(&node, &layout::manifest_key(&good))
        )
        .await
    );
}

/// A restore's choice: the exact tag (not a prefix), the schema version when asked, the latest.
pub async fn choosing_a_backup(backend: &Backend) {
    let storage = backend.open("choice").await;
    let store = storage.store().clone();
    let node = Backend::node();
    let other_schema = "0b7e5b3a-1d51-4a1b-9c57-3d1e1a0a9a11";
    for (tag, schema, millis) in [
        ("snap1", SCHEMA, 1_000u64),
        ("snap1", SCHEMA, 3_000),
        ("snap1", other_schema, 5_000),
        ("snap10", SCHEMA, 9_000),
    ] {
        let name = layout::full_tag(tag, schema, millis);
        put(
            &store,
            &storage.node_object(&node, &layout::manifest_key(&name)),
            manifest_of(&name, vec![]).to_json(),
        )
        .await;
    }
    let latest = catalog::choose_backup(store.as_ref(), &node, "snap1", None)
        .await
        .unwrap();
    assert_eq!(
        latest.name.name,
        layout::full_tag("snap1", other_schema, 5_000)
    );
    let exact = catalog::choose_backup(store.as_ref(), &node, "snap1", Some(SCHEMA))
        .await
        .unwrap();
    assert_eq!(exact.name.name, layout::full_tag("snap1", SCHEMA, 3_000));
    assert_eq!(
        exact.manifest.snapshot.name.as_deref(),
        Some(exact.name.name.as_str())
    );
    let err = catalog::choose_backup(store.as_ref(), &node, "snap", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"snap\"") && err.contains("snap10-"), "{err}");
}

/// A second upload of files whose keys are stored refreshes them in place (last-modified moves
/// forward, bytes and size stay) when asked, and leaves them alone otherwise; refreshing a
/// missing object is `NotFound`.
pub async fn refresh_moves_last_modified(backend: &Backend) {
    let storage = backend.open("refresh").await;
    let store = storage.store().clone();
    let node = Backend::node();
    let data = tempfile::tempdir().unwrap();
    let contents: [&[u8]; 2] = [b"row data to keep", b""];
    let files: Vec<UploadFile> = contents
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = data.path().join(format!("nb-{i}-big-Data.db"));
            std::fs::write(&path, bytes).unwrap();
            UploadFile {
                path,
                key: storage.node_object(
                    &node,
                    &format!("data/ks1/t1-{TABLE_ID}/{i}-1/nb-{i}-big-Data.db"),
                ),
                size: bytes.len() as u64,
            }
        })
        .collect();
    let cancel = CancellationToken::new();
    let refreshing = TransferOptions {
        refresh: Some(Arc::new(storage.clone())),
        ..TransferOptions::default()
    };
    let first = upload(store.clone(), files.clone(), &refreshing, &cancel)
        .await
        .unwrap();
    assert!(first.iter().all(|f| f.outcome == UploadOutcome::Uploaded));
    let modified = |key: Path| {
        let store = store.clone();
        async move { store.head(&key).await.unwrap().last_modified }
    };
    let written = modified(files[0].key.clone()).await;

    // Last-modified has a resolution of one second on some stores.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let skipped = upload(
        store.clone(),
        files.clone(),
        &TransferOptions::default(),
        &cancel,
    )
    .await
    .unwrap();
    assert!(skipped
        .iter()
        .all(|f| f.outcome == UploadOutcome::AlreadyPresent));
    assert_eq!(
        modified(files[0].key.clone()).await,
        written,
        "skipRefreshing touches nothing"
    );

    let refreshed = upload(store.clone(), files.clone(), &refreshing, &cancel)
        .await
        .unwrap();
    assert!(refreshed
        .iter()
        .all(|f| f.outcome == UploadOutcome::Refreshed));
    let moved = modified(files[0].key.clone()).await;
    assert!(moved > written, "last-modified {moved} not after {written}");
    for (file, bytes) in files.iter().zip(contents) {
        assert_eq!(get(&store, &file.key).await, bytes, "{}", file.key);
        assert_eq!(
            store.head(&file.key).await.unwrap().size,
            bytes.len() as u64
        );
    }
    assert_eq!(
        refreshed.iter().map(|f| &f.sha256).collect::<Vec<_>>(),
        first.iter().map(|f| &f.sha256).collect::<Vec<_>>()
    );

    let missing = storage.node_object(&node, "data/ks1/never-written");
    match storage.refresh(&missing, 1).await {
        Err(object_store::Error::NotFound { .. }) => {}
        other => panic!("refreshing a missing object must be NotFound, got {other:?}"),
    }
}

/// Every scenario, in turn, against one backend.
pub async fn all(backend: &Backend, many_keys: usize) {
    bucket_lifecycle(backend).await;
    refresh_moves_last_modified(backend).await;
    backup_round_trip(backend).await;
    removal_keeps_shared_objects(backend).await;
    unreadable_manifest_blocks_removal(backend).await;
    choosing_a_backup(backend).await;
    listing_past_1000_keys(backend, many_keys).await;
}

/// A bucket outside us-east-1 (created with a LocationConstraint), with credentials read
/// from a mounted secret directory under Icarus' key names.
pub async fn s3_region_and_credentials_dir(server: &Server) {
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("awsaccesskeyid"), "from-secret\n").unwrap();
    std::fs::write(secret.path().join("awssecretaccesskey"), "secret").unwrap();
    std::fs::write(secret.path().join("awsregion"), "eu-west-1").unwrap();
    let endpoint = server.settings["AWS_ENDPOINT_URL"].clone();
    let options = StoreOptions {
        read_environment: false,
        credentials_dir: Some(secret.path().to_path_buf()),
        settings: BTreeMap::from([("AWS_ENDPOINT_URL".to_string(), endpoint)]),
        create_missing_bucket: true,
        ..StoreOptions::default()
    };
    let location = StorageLocation::parse("s3://eu-bucket/c/d/n").unwrap();
    let storage = Storage::open(&location, &options).await.unwrap();
    assert!(storage.bucket_exists().await.unwrap());
    let path = storage.node_object(location.node.as_ref().unwrap(), "manifests/x-1.json");
    put(storage.store(), &path, b"{}".to_vec()).await;
    assert_eq!(&get(storage.store(), &path).await[..], b"{}");
}

/// A multipart upload declares SHA256 (and sends each part's SHA-256), so the server keeps a
/// checksum built from the parts' and need not checksum the whole object again when the upload
/// completes.
pub async fn s3_multipart_uploads_carry_sha256(server: &Server) {
    use backup::transfer::{upload, TransferOptions, UploadFile, MIN_PART_SIZE};
    use object_store::signer::Signer;

    let backend = Backend::server("s3", server);
    let storage = backend.open("checksums").await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("nb-1-big-Data.db");
    std::fs::write(&local, vec![7u8; MIN_PART_SIZE + 1000]).unwrap();
    let key = storage.node_object(&Backend::node(), "data/ks/t-1/1-2/nb-1-big-Data.db");
    let options = TransferOptions {
        part_size: MIN_PART_SIZE,
        ..TransferOptions::default()
    };
    let file = UploadFile {
        path: local,
        key: key.clone(),
        size: (MIN_PART_SIZE + 1000) as u64,
    };
    upload(
        storage.store().clone(),
        vec![file],
        &options,
        &tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap();

    // The server reports an object's checksum on a HEAD that asks for it.
    let mut signer = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name("checksums")
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false);
    for (name, value) in &server.settings {
        if let Ok(config) = name.to_ascii_lowercase().parse() {
            signer = signer.with_config(config, value);
        }
    }
    let url = signer
        .build()
        .unwrap()
        .signed_url(reqwest::Method::HEAD, &key, Duration::from_secs(60))
        .await
        .unwrap();
    let head = testkit::http_client()
        .head(url)
        .header("x-amz-checksum-mode", "ENABLED")
        .send()
        .await
        .unwrap();
    assert!(head.status().is_success(), "{}", head.status());
    let header = |name: &str| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("x-amz-checksum-algorithm").as_deref(),
        Some("SHA256"),
        "{:?}",
        head.headers()
    );
    assert!(
        header("x-amz-checksum-sha256").is_some_and(|c| !c.is_empty()),
        "{:?}",
        head.headers()
    );
}

/// Azurite checks Shared Key signatures: a wrong key is refused, and the error says how to
/// go on without the bucket check.
pub async fn azure_wrong_key_is_refused(server: &Server) {
    let mut settings = server.settings.clone();
    settings.insert("AZURE_STORAGE_ACCOUNT_KEY".into(), "d3Jvbmcta2V5".into());
    let options = StoreOptions {
        read_environment: false,
        settings,
        ..StoreOptions::default()
    };
    let err = Storage::open(
        &StorageLocation::parse("azure://made-bucket/c/d/n").unwrap(),
        &options,
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("403") && text.contains("skipBucketVerification"),
        "{text}"
    );
}

/// With the server gone, listing fails with an error that names what it was reading.
pub async fn unreachable_store_is_named(server: Server, protocol: &str) {
    let backend = Backend::server(protocol, &server);
    let storage = backend.open("gone-later").await;
    let store = storage.store().clone();
    drop(server);
    let err = catalog::list_backups(&store, &Scope::Node(Backend::node()))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Test Cluster/dc1/node-a/manifests"), "{text}");
}

/// `AZURE_STORAGE_USE_EMULATOR` with the emulator's URL as a setting (object_store alone reads
/// that URL from the process environment only).
pub async fn azure_use_emulator_setting(server: &Server) {
    let endpoint = &server.settings["AZURE_STORAGE_ENDPOINT"];
    let url = endpoint.trim_end_matches("/devstoreaccount1").to_string();
    let settings = BTreeMap::from([
        ("AZURE_STORAGE_USE_EMULATOR".to_string(), "true".to_string()),
        ("AZURITE_BLOB_STORAGE_URL".to_string(), url),
    ]);
    let options = StoreOptions {
        read_environment: false,
        settings,
        create_missing_bucket: true,
        ..StoreOptions::default()
    };
    let location = StorageLocation::parse("azure://emulated/c/d/n").unwrap();
    let storage = Storage::open(&location, &options).await.unwrap();
    assert!(storage.bucket_exists().await.unwrap());
    let path = storage.node_object(location.node.as_ref().unwrap(), "manifests/x-1.json");
    put(storage.store(), &path, b"{}".to_vec()).await;
    assert_eq!(&get(storage.store(), &path).await[..], b"{}");
}
