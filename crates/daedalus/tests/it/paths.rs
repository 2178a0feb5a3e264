//! The path rule through the real binary (docs/PRODUCTION.md, "Paths a request names"): every
//! declared path field of every registered type, local and cluster-wide, is refused outside
//! `--allowed-root` (by `..`, by a symbolic link, plainly) with a 400 naming the field and the
//! setting, and accepted inside a root or as the node's own directory; without a root the same
//! requests are accepted as before. Every field of the API document whose name says it is a
//! path is declared. A restore writes and deletes only inside its roots and only its own files;
//! missing storage credentials are named.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use backup::store::StoreOptions;
use daedalus::operations::{PathKind, REGISTRY};
use object_store::ObjectStoreExt;
use serde_json::{json, Value};

use crate::common::spawn::{sidecar_command, spawn_sidecar};
use crate::common::*;
use crate::restore::{
    back_up, file_location, files_under, live_hashes, restore_body, seeded_node, KS, TABLE,
};

/// A sidecar binary, killed when dropped.
struct Sidecar {
    _child: tokio::process::Child,
    addr: SocketAddr,
}

async fn sidecar(jmx: &str, journal: &Path, args: &[String]) -> Sidecar {
    let mut command = sidecar_command();
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--jmx-service", jmx])
        .arg("--data-dir")
        .arg(journal)
        .args(args)
        .env("DAEDALUS_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    for variable in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_SKIP_SIGNATURE",
        "DAEDALUS_ALLOWED_ROOT",
        "DAEDALUS_IMPORT_ROOT",
    ] {
        command.env_remove(variable);
    }
    let (child, addr) = spawn_sidecar(&mut command, None).await;
    Sidecar {
        _child: child,
        addr,
    }
}

impl Sidecar {
    async fn post(&self, body: &Value) -> Resp {
        request(self.addr, "POST", "/operations", Some(body.to_string())).await
    }

    /// Submits, expects 201, waits for the end.
    async fn run(&self, body: &Value) -> Value {
        let resp = self.post(body).await;
        assert_eq!(resp.status, 201, "{body} answered {}", resp.body);
        let id = resp.body["id"].as_str().unwrap().to_string();
        wait_until(self.addr, &id, "finished", |r| {
            matches!(
                r["state"].as_str(),
                Some("COMPLETED" | "FAILED" | "CANCELLED")
            )
        })
        .await
    }

    /// Expects a 400 naming `field` and the setting to change.
    async fn refused(&self, body: &Value, field: &str) {
        let resp = self.post(body).await;
        assert_eq!(resp.status, 400, "{body} answered {}", resp.body);
        assert_eq!(resp.body["field"], field, "{body}: {}", resp.body);
        let message = resp.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("--allowed-root"), "{message}");
    }
}

/// `body` with the (dotted) `field` set to `value`.
fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    let mut at = &mut body;
    let parts: Vec<&str> = field.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        at = &mut at[*part];
    }
    at[parts[parts.len() - 1]] = value;
    body
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// The directories of the enumerating test: an allowed root holding a directory and a link
/// leading out of it, a directory outside, and the node's own directories as its
/// cassandra.yaml names them.
struct Layout {
    _tmp: tempfile::TempDir,
    base: PathBuf,
}

impl Layout {
    fn new() -> Layout {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        for dir in ["root/in", "outside", "cassandra/data", "conf"] {
            std::fs::create_dir_all(base.join(dir)).unwrap();
        }
        std::os::unix::fs::symlink(base.join("outside"), base.join("root/link-out")).unwrap();
        std::fs::write(
            base.join("conf/cassandra.yaml"),
            format!(
                "cluster_name: 'Test Cluster'\ndata_file_directories:\n  - {}\n",
                text(&base.join("cassandra/data"))
            ),
        )
        .unwrap();
        Layout { _tmp: tmp, base }
    }

    fn at(&self, relative: &str) -> String {
        text(&self.base.join(relative))
    }

    /// Where a request may not lead: plainly outside, by `..`, through the link, below it.
    fn outside(&self) -> Vec<String> {
        vec![
            self.at("outside"),
            self.at("root/../outside"),
            self.at("root/link-out"),
            self.at("root/link-out/new"),
        ]
    }

    /// The values of a field of `kind` that name `dir`.
    fn value(kind: PathKind, dir: &str) -> Value {
        match kind {
            PathKind::Location => json!(format!("file://{dir}/bucket/c/d/n")),
            PathKind::NodeData => json!([dir]),
            _ => json!(dir),
        }
    }

    /// Values a field of `kind` is accepted with under confinement: inside the root, and the
    /// node's own directory.
    fn accepted(&self, kind: PathKind) -> Vec<Value> {
        let mut values = vec![Layout::value(kind, &self.at("root/in"))];
        match kind {
            PathKind::NodeData => values.push(json!([self.at("cassandra/data")])),
            PathKind::CassandraHome => values.push(json!(self.at("cassandra"))),
            PathKind::NodeConfig => values.push(json!(self.at("conf"))),
            PathKind::Confined | PathKind::Location => {}
        }
        values
    }

    /// A valid body of each type that has path fields (a new such type must add one).
    fn base_body(&self, type_name: &str) -> Option<Value> {
        let store = format!("file://{}/bucket/c/d/n", self.at("root/store"));
        Some(match type_name {
            "import" => json!({"type": "import", "keyspace": "ks", "table": "t",
                               "sourceDir": self.at("root/in")}),
            "backup" => json!({"type": "backup", "storageLocation": store}),
            "list" => json!({"type": "list", "storageLocation": store}),
            "commitlog-backup" => json!({"type": "commitlog-backup", "storageLocation": store,
                "cassandraCommitLogDirectory": self.at("root/in")}),
            "commitlog-restore" => json!({"type": "commitlog-restore", "storageLocation": store,
                "cassandraCommitLogDirectory": self.at("root/in"),
                "cassandraConfigDirectory": self.at("conf"),
                "commitlogDownloadDir": self.at("root/in"), "timestampEnd": 1000}),
            "remove-backup" => json!({"type": "remove-backup", "storageLocation": store,
                                      "backupName": "x", "dry": true}),
            "restore" => json!({"type": "restore", "storageLocation": store,
                "snapshotTag": "snap1", "restorationStrategyType": "IMPORT",
                "restorationPhase": "DOWNLOAD",
                "import": {"type": "import", "sourceDir": self.at("root/staging")}}),
            _ => return None,
        })
    }

    /// The cluster-wide form of a type's body, for the types that have one with path fields.
    fn global_body(&self, type_name: &str) -> Option<Value> {
        let mut body = self.base_body(type_name)?;
        match type_name {
            "backup" => body["globalRequest"] = json!(true),
            "restore" => {
                body["globalRequest"] = json!(true);
                body["restorationPhase"] = json!("INIT");
            }
            _ => return None,
        }
        Some(body)
    }
}

/// Every declared path field of every registered type, local and cluster-wide: refused outside
/// the allowed root, accepted inside it or as the node's own directory; and without a root,
/// accepted wherever it leads, as before. The node is not running: nothing accepted can do
/// anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_path_field_of_every_type_is_confined() {
    let layout = Layout::new();
    let dead = dead_address().to_string();
    let confined = sidecar(
        &dead,
        &layout.base.join("journal-confined"),
        &[
            "--allowed-root".into(),
            layout.at("root"),
            "--cassandra-config".into(),
            layout.at("conf"),
        ],
    )
    .await;
    let open = sidecar(&dead, &layout.base.join("journal-open"), &[]).await;

    let mut checked = 0;
    for registration in REGISTRY {
        if registration.path_fields.is_empty() {
            continue;
        }
        let base = layout.base_body(registration.type_name).unwrap_or_else(|| {
            panic!(
                "type {} declares path fields: give it a base body in this test",
                registration.type_name
            )
        });
        let forms: Vec<Value> = std::iter::once(base.clone())
            .chain(layout.global_body(registration.type_name))
            .collect();
        for body in &forms {
            // The base body itself is accepted.
            confined.run(body).await;
            for field in registration.path_fields {
                for dir in layout.outside() {
                    let bad = with(body, field.name, Layout::value(field.kind, &dir));
                    confined.refused(&bad, field.name).await;
                    checked += 1;
                }
                for value in layout.accepted(field.kind) {
                    let good = with(body, field.name, value);
                    let record = confined.run(&good).await;
                    assert_ne!(
                        record["failureCause"]["kind"], "Configuration",
                        "{good}: {record}"
                    );
                }
            }
        }
        // Without a root: the same values are the type's own business, as before (the import's
        // directory must exist, so only those that do are sent).
        for field in registration.path_fields {
            for dir in &layout.outside()[..3] {
                let body = with(&base, field.name, Layout::value(field.kind, dir));
                open.run(&body).await;
            }
        }
    }
    assert!(checked >= 60, "{checked} refusals checked");
    assert!(
        !layout.base.join("outside/bucket").exists(),
        "nothing was created outside by the confined sidecar or a refused request"
    );
}

/// The request schemas of `api/openapi.yaml` by type.
fn api_document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../api/openapi.yaml");
    let yaml: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(yaml).unwrap()
}

/// Every property of schema `name`, dotted below objects it refers to.
fn properties(doc: &Value, name: &str, prefix: &str, out: &mut Vec<String>, depth: usize) {
    assert!(depth < 6, "schema {name} nests too deep");
    let schema = &doc["components"]["schemas"][name];
    let refs_of = |value: &Value| -> Vec<String> {
        let mut refs = Vec::new();
        if let Some(r) = value["$ref"].as_str() {
            refs.push(r.to_string());
        }
        for part in value["allOf"].as_array().into_iter().flatten() {
            if let Some(r) = part["$ref"].as_str() {
                refs.push(r.to_string());
            }
        }
        if let Some(r) = value["items"]["$ref"].as_str() {
            refs.push(r.to_string());
        }
        refs.into_iter()
            .map(|r| r.trim_start_matches("#/components/schemas/").to_string())
            .collect()
    };
    for inherited in refs_of(schema) {
        properties(doc, &inherited, prefix, out, depth + 1);
    }
    for (property, value) in schema["properties"].as_object().into_iter().flatten() {
        let full = format!("{prefix}{property}");
        out.push(full.clone());
        for nested in refs_of(value) {
            properties(doc, &nested, &format!("{full}."), out, depth + 1);
        }
    }
}

/// What a field's name says it is: a path on this host (or a location holding one).
fn names_a_path(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    [
        "Dir",
        "Dirs",
        "Directory",
        "Directories",
        "Path",
        "Paths",
        "File",
        "Files",
    ]
    .iter()
    .any(|end| last.ends_with(end))
        || last == "storageLocation"
}

/// Every request field of the API document whose name says it is a path is declared by its
/// type, and every declared path field is in the document.
#[test]
fn every_path_field_of_the_api_document_is_declared() {
    let doc = api_document();
    let mapping = doc["paths"]["/operations"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["discriminator"]["mapping"]
        .as_object()
        .expect("the request bodies by type")
        .clone();
    for registration in REGISTRY {
        let schema = mapping[registration.type_name]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no request schema", registration.type_name))
            .trim_start_matches("#/components/schemas/");
        let mut fields = Vec::new();
        properties(&doc, schema, "", &mut fields, 0);
        let declared: Vec<&str> = registration.path_fields.iter().map(|f| f.name).collect();
        for field in fields.iter().filter(|f| names_a_path(f)) {
            assert!(
                declared.contains(&field.as_str()),
                "{} field {field} names a path but is not in its PATH_FIELDS",
                registration.type_name
            );
        }
        for field in &declared {
            assert!(
                fields.iter().any(|f| f == field),
                "{} declares {field}, which api/openapi.yaml does not document",
                registration.type_name
            );
        }
    }
}

/// The restore, and what CLEANUP may delete: a DOWNLOAD outside the root (plainly, by
/// `..`, through a link) is refused before anything runs, and so are `dataDirs` and
/// `cassandraDirectory` outside; a link met inside the download directory leads nothing out;
/// a file already there under a backup file's name is never overwritten, and never removed;
/// a normal restore runs every phase with confinement on. Without a root, the download
/// directory may be anywhere, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_writes_and_deletes_only_its_own_files_inside_its_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let node = seeded_node("4.1", &base).await;
    let before = live_hashes(&node).await;
    let root = base.join("root");
    let outside = base.join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let location = file_location(&root);
    let backup = back_up(&node, &location, &StoreOptions::default(), "snap1").await;
    let confined = sidecar(
        &node.address(),
        &base.join("journal-confined"),
        &["--allowed-root".into(), text(&root)],
    )
    .await;

    std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
    for src in [
        outside.join("src"),
        root.join("../outside/src"),
        root.join("link/src"),
    ] {
        let body = restore_body(&location, "IMPORT", "DOWNLOAD", &src);
        confined.refused(&body, "import.sourceDir").await;
        for phase in ["CLEANUP", "INIT"] {
            confined
                .refused(
                    &with(&body, "restorationPhase", json!(phase)),
                    "import.sourceDir",
                )
                .await;
        }
    }
    let fine = restore_body(&location, "IMPORT", "DOWNLOAD", &root.join("src"));
    confined
        .refused(
            &with(&fine, "dataDirs", json!([text(&outside)])),
            "dataDirs",
        )
        .await;
    confined
        .refused(
            &with(&fine, "cassandraDirectory", json!(text(&outside))),
            "cassandraDirectory",
        )
        .await;
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    // A link inside the download directory, met while writing: nothing lands outside.
    let src = root.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::os::unix::fs::symlink(&outside, src.join(KS)).unwrap();
    let record = confined.run(&fine).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(message.contains("outside every allowed root"), "{message}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    std::fs::remove_file(src.join(KS)).unwrap();

    // A file under one of the backup's names, which no restore wrote.
    let table_dir_name = node.table_dir(KS, TABLE).file_name().unwrap().to_owned();
    let download_dir = src.join(KS).join(&table_dir_name);
    std::fs::create_dir_all(&download_dir).unwrap();
    let entry = backup.manifest.entries().next().unwrap().clone();
    let name = entry.object_key.rsplit('/').next().unwrap().to_string();
    let theirs = download_dir.join(&name);
    std::fs::write(&theirs, "not the backup's bytes").unwrap();
    let record = confined.run(&fine).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(
        message.contains(&text(&theirs)) && message.contains("left alone"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "not the backup's bytes"
    );
    assert_eq!(files_under(&download_dir), 1, "nothing was downloaded");

    // With the backup's bytes it is used as it is; CLEANUP keeps it and the operator's notes.
    let object = backup
        .storage
        .store()
        .get(&backup.storage.node_object(&backup.node, &entry.object_key))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(&theirs, &object).unwrap();
    std::fs::write(src.join("notes.txt"), "mine").unwrap();
    let record = confined.run(&fine).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["filesAlreadyPresent"], 1, "{record}");
    assert_eq!(record["filesDownloaded"], 15, "{record}");
    for phase in ["TRUNCATE", "IMPORT"] {
        let record = confined
            .run(&with(&fine, "restorationPhase", json!(phase)))
            .await;
        assert_eq!(record["state"], "COMPLETED", "{phase}: {record}");
    }
    assert_eq!(
        live_hashes(&node).await,
        before,
        "the node serves the backup"
    );
    let record = confined
        .run(&with(&fine, "restorationPhase", json!("CLEANUP")))
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["filesKept"], 1, "{record}");
    assert!(theirs.exists() && src.join("notes.txt").exists());
    assert_eq!(
        files_under(&download_dir),
        1,
        "only what the restore wrote went"
    );
    assert!(src.is_dir(), "the download directory was there before");

    // Without a root the download directory may be anywhere, as before; CLEANUP removes what
    // it made.
    let open = sidecar(&node.address(), &base.join("journal-open"), &[]).await;
    let anywhere = restore_body(&location, "IMPORT", "DOWNLOAD", &outside.join("src"));
    let record = open.run(&anywhere).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(files_under(&outside.join("src").join(KS)), 16);
    let record = open
        .run(&with(&anywhere, "restorationPhase", json!("CLEANUP")))
        .await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert!(!outside.join("src").exists());
}

/// The node's own directories stay usable with confinement on: a backup reading `dataDirs`
/// the node's cassandra.yaml names, and a restore naming them, run as without a root; the
/// same fields naming another directory are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nodes_own_directories_stay_usable_with_confinement_on() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let node = seeded_node("4.1", &base).await;
    let before = live_hashes(&node).await;
    let root = base.join("root");
    let conf = base.join("conf");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("cassandra.yaml"),
        format!("data_file_directories:\n  - {}\n", text(&node.data_dir)),
    )
    .unwrap();
    let sidecar = sidecar(
        &node.address(),
        &base.join("journal"),
        &[
            "--allowed-root".into(),
            text(&root),
            "--cassandra-config".into(),
            text(&conf.join("cassandra.yaml")),
        ],
    )
    .await;
    let location = file_location(&root);
    let backup = json!({"type": "backup", "storageLocation": location, "snapshotTag": "snap1",
        "entities": format!("{KS}.{TABLE}"), "createMissingBucket": true,
        "dataDirs": [text(&node.data_dir)]});
    sidecar
        .refused(&with(&backup, "dataDirs", json!([text(&base)])), "dataDirs")
        .await;
    let record = sidecar.run(&backup).await;
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(record["uploadedFiles"], 16, "{record}");

    let restore = with(
        &with(
            &restore_body(&location, "HARDLINKS", "DOWNLOAD", &root.join("src")),
            "dataDirs",
            json!([text(&node.data_dir)]),
        ),
        "cassandraConfigDirectory",
        json!(text(&conf)),
    );
    sidecar
        .refused(
            &with(&restore, "cassandraConfigDirectory", json!(text(&base))),
            "cassandraConfigDirectory",
        )
        .await;
    for phase in ["DOWNLOAD", "TRUNCATE", "IMPORT", "CLEANUP"] {
        let record = sidecar
            .run(&with(&restore, "restorationPhase", json!(phase)))
            .await;
        assert_eq!(record["state"], "COMPLETED", "{phase}: {record}");
    }
    assert_eq!(live_hashes(&node).await, before);
    assert!(
        !root.join("src").exists(),
        "CLEANUP removed what DOWNLOAD made"
    );
}

/// A store without credentials from any source fails naming each source this sidecar reads
/// and the settings that give credentials; the metadata service is off (as in every test).
#[tokio::test]
async fn missing_storage_credentials_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = tmp.path().join("secrets");
    std::fs::create_dir_all(secrets.join("creds")).unwrap();
    std::fs::write(secrets.join("creds/awsregion"), "eu-west-1").unwrap();
    let sidecar = sidecar(
        &dead_address().to_string(),
        &tmp.path().join("journal"),
        &["--backup-secrets-dir".into(), text(&secrets)],
    )
    .await;
    for (body, dir) in [
        (
            json!({"type": "list", "storageLocation": "s3://bucket/c/d/n"}),
            None,
        ),
        (
            json!({"type": "list", "storageLocation": "s3://bucket/c/d/n",
                   "k8sSecretName": "creds"}),
            Some(secrets.join("creds")),
        ),
    ] {
        let record = sidecar.run(&body).await;
        assert_eq!(record["state"], "FAILED", "{record}");
        let message = record["failureCause"]["message"].as_str().unwrap();
        for words in [
            "no S3 credentials",
            "environment",
            "metadata service",
            "not asked",
            "AWS_ACCESS_KEY_ID",
            "awsaccesskeyid",
            "k8sSecretName",
            "--backup-secrets-dir",
            "--no-instance-metadata",
        ] {
            assert!(message.contains(words), "{words:?} in {message}");
        }
        if let Some(dir) = dir {
            assert!(message.contains(&text(&dir)), "{message}");
        }
    }
}
