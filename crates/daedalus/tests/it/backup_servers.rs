//! `backup`, `list` and `remove-backup` against local S3 (moto) and Azure (Azurite) servers,
//! with credentials from a mounted secret directory (`--backup-secrets-dir` + `k8sSecretName`),
//! and the storage going down in the middle of an upload.

use std::path::Path;

use backup::test_servers::Server;
use daedalus::operations::OperationSettings;
use serde_json::{json, Value};

use crate::backup_file::{setup, Setup};

/// The server's settings as a mounted secret `creds` (one file per setting) under `root`.
pub(crate) fn mount_secret(server: &Server, root: &Path) {
    let dir = root.join("creds");
    std::fs::create_dir_all(&dir).unwrap();
    for (key, value) in &server.settings {
        std::fs::write(dir.join(key), value).unwrap();
    }
}

async fn with_secret(server: &Server) -> (Setup, tempfile::TempDir) {
    let secrets = tempfile::tempdir().unwrap();
    mount_secret(server, secrets.path());
    let settings = OperationSettings {
        backup_secrets_dir: Some(secrets.path().to_path_buf()),
        ..OperationSettings::default()
    };
    (setup(settings).await, secrets)
}

fn body(kind: &str, location: &str, extra: Value) -> Value {
    let mut body = json!({"type": kind, "storageLocation": location,
                          "k8sSecretName": "creds", "k8sNamespace": "default"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Backup twice (the second sends nothing new), list the node and the whole bucket, remove.
async fn lifecycle(server: &Server, protocol: &str) {
    let (setup, _secrets) = with_secret(server).await;
    let sidecar = &setup.server;
    let node_location = format!("{protocol}://backups/cluster/dc1/node1");
    let first = sidecar
        .run(&body(
            "backup",
            &node_location,
            json!({"createMissingBucket": true,
             "entities": "spark_test.test3", "snapshotTag": "s1", "uploadClusterTopology": true}),
        ))
        .await;
    assert_eq!(first["state"], "COMPLETED", "{first}");
    let files = first["files"].as_u64().unwrap();
    assert!(files > 0);
    assert_eq!(first["uploadedFiles"], files);
    assert!(setup.snapshots().is_empty());

    let second = sidecar
        .run(&body(
            "backup",
            &node_location,
            json!({"entities": "spark_test.test3",
             "snapshotTag": "s2"}),
        ))
        .await;
    assert_eq!(second["state"], "COMPLETED", "{second}");
    assert_eq!(second["uploadedFiles"], 0, "nothing new: {second}");
    assert_eq!(second["skippedFiles"], files);

    // A global location: this node's facts fill cluster/dc/node.
    let global = sidecar
        .run(&body(
            "backup",
            &format!("{protocol}://backups"),
            json!({"entities": "spark_test.test3", "snapshotTag": "s3"}),
        ))
        .await;
    assert_eq!(global["state"], "COMPLETED", "{global}");

    let node_list = sidecar.run(&body("list", &node_location, json!({}))).await;
    assert_eq!(node_list["state"], "COMPLETED", "{node_list}");
    assert_eq!(
        node_list["response"].as_array().unwrap().len(),
        2,
        "{node_list}"
    );
    let bucket_list = sidecar
        .run(&body("list", &format!("{protocol}://backups"), json!({})))
        .await;
    let listed = bucket_list["response"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{bucket_list}");
    let nodes: Vec<&Value> = listed.iter().map(|b| &b["nodes"][0]).collect();
    assert_eq!(nodes[0], "cluster/dc1/node1");
    assert!(
        nodes[2].as_str().unwrap().starts_with("Test Cluster/"),
        "{bucket_list}"
    );

    let removed = sidecar
        .run(&body(
            "remove-backup",
            &node_location,
            json!({"removeOldest": true}),
        ))
        .await;
    assert_eq!(removed["state"], "COMPLETED", "{removed}");
    assert_eq!(removed["removal"]["keptShared"], files, "{removed}");
    let node_list = sidecar.run(&body("list", &node_location, json!({}))).await;
    assert_eq!(node_list["response"].as_array().unwrap().len(), 1);
    assert!(node_list["response"][0]["name"]
        .as_str()
        .unwrap()
        .starts_with("s2-"));
}

/// The server stops while files are uploading: FAILED with a storage cause, snapshot cleared,
/// and no manifest when the server is back (it is a new, empty one: nothing was claimed).
async fn storage_down_mid_upload(server: Server, protocol: &str) {
    let (setup, _secrets) = with_secret(&server).await;
    let sidecar = &setup.server;
    let location = format!("{protocol}://down/cluster/dc1/node1");
    let id = sidecar
        .submit_id(&body(
            "backup",
            &location,
            json!({"createMissingBucket": true,
             "entities": "spark_test.test3", "concurrentConnections": 1,
             "bandwidth": {"value": 2, "unit": "KBPS"}}),
        ))
        .await;
    sidecar
        .wait_for(&id, "uploading", |r| {
            r["state"] == "RUNNING" && r["progress"].as_f64().is_some_and(|p| p > 0.0)
        })
        .await;
    drop(server);
    let record = sidecar.wait_finished(&id).await;
    assert_eq!(record["state"], "FAILED", "{record}");
    assert_eq!(record["failureCause"]["kind"], "Storage", "{record}");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(message.contains("no manifest was written"), "{message}");
    assert!(message.contains("reachable"), "{message}");
    assert!(setup.snapshots().is_empty());
}

#[tokio::test]
async fn s3_backup_list_remove() {
    lifecycle(&Server::s3(), "s3").await;
}

#[tokio::test]
async fn s3_down_mid_upload() {
    storage_down_mid_upload(Server::s3(), "s3").await;
}

#[tokio::test]
async fn azure_backup_list_remove() {
    lifecycle(&Server::azure(), "azure").await;
}

/// An S3 endpoint that answers every request with 503: FAILED kind Storage naming the object
/// and the status, after the client's few retries; snapshot cleared.
#[tokio::test]
async fn s3_5xx_answers_fail_the_backup_naming_the_object() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let body = "<Error><Code>SlowDown</Code><Message>try later</Message></Error>";
                let answer = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    let secrets = tempfile::tempdir().unwrap();
    let dir = secrets.path().join("creds");
    std::fs::create_dir_all(&dir).unwrap();
    for (key, value) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        std::fs::write(dir.join(key), value).unwrap();
    }
    let setup = setup(OperationSettings {
        backup_secrets_dir: Some(secrets.path().to_path_buf()),
        ..OperationSettings::default()
    })
    .await;
    let record = setup
        .server
        .run(&body(
            "backup",
            "s3://busy/cluster/dc1/node1",
            json!({"skipBucketVerification": true, "entities": "spark_test.test3"}),
        ))
        .await;
    assert_eq!(record["state"], "FAILED", "{record}");
    assert_eq!(record["failureCause"]["kind"], "Storage", "{record}");
    let message = record["failureCause"]["message"].as_str().unwrap();
    assert!(
        message.contains("cluster/dc1/node1/data/spark_test/test3-"),
        "{message}"
    );
    assert!(message.contains("503"), "{message}");
    assert!(message.contains("no manifest was written"), "{message}");
    assert!(setup.snapshots().is_empty());
}

/// GCS (fake-gcs-server): `list` and `remove-backup` on a backup the sidecar wrote to `file://`
/// and copied into the emulator object by object. The emulator refuses both writes of
/// object_store's GCS client (the XML object `PUT` and the XML multipart upload, see
/// crates/backup/README.md), so a backup itself cannot be written to it.
#[tokio::test]
async fn gcs_list_and_remove() {
    let server = Server::gcs();
    let (setup, _secrets) = with_secret(&server).await;
    let sidecar = &setup.server;
    let written = sidecar
        .run(
            &json!({"type": "backup", "storageLocation": setup.location(),
                     "createMissingBucket": true, "entities": "spark_test.test3",
                     "snapshotTag": "g1"}),
        )
        .await;
    assert_eq!(written["state"], "COMPLETED", "{written}");
    let name = written["snapshotName"].as_str().unwrap().to_string();

    let base = server.settings["GOOGLE_BASE_URL"].clone();
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}/storage/v1/b?project=test"))
        .json(&json!({"name": "gbackups"}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let mut copied = 0;
    let mut stack = vec![setup.node_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let key = path
                .strip_prefix(setup.node_dir())
                .unwrap()
                .to_str()
                .unwrap();
            let answer = http
                .post(format!("{base}/upload/storage/v1/b/gbackups/o"))
                .query(&[
                    ("uploadType", "media"),
                    ("name", &format!("cluster/dc1/node1/{key}")),
                ])
                .body(std::fs::read(&path).unwrap())
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{key}: {}", answer.status());
            copied += 1;
        }
    }
    assert_eq!(copied, written["files"].as_u64().unwrap() + 1);

    let listed = sidecar
        .run(&body("list", "gcp://gbackups", json!({})))
        .await;
    assert_eq!(listed["state"], "COMPLETED", "{listed}");
    assert_eq!(listed["response"][0]["name"], name.as_str(), "{listed}");
    assert_eq!(listed["response"][0]["nodes"], json!(["cluster/dc1/node1"]));
    assert_eq!(listed["response"][0]["files"], written["files"]);

    let removed = sidecar
        .run(&body(
            "remove-backup",
            "gcp://gbackups/cluster/dc1/node1",
            json!({"backupName": name}),
        ))
        .await;
    assert_eq!(removed["state"], "COMPLETED", "{removed}");
    assert_eq!(
        removed["removal"]["objects"].as_array().unwrap().len() as u64,
        written["files"].as_u64().unwrap()
    );
    let listed = sidecar
        .run(&body("list", "gcp://gbackups", json!({})))
        .await;
    assert_eq!(listed["response"], json!([]), "{listed}");
}
