//! `backup`, `list` and `remove-backup` against local S3 (moto), GCS (fake-gcs-server) and
//! Azure (Azurite) servers, with credentials from a mounted secret directory
//! (`--backup-secrets-dir` + `k8sSecretName`), and the storage going down in the middle of an
//! upload.

use std::path::Path;

use backup::location::StorageLocation;
use backup::manifest::Manifest;
use backup::store::{Storage, StoreOptions};
use daedalus::operations::OperationSettings;
use object_store::ObjectStoreExt;
use serde_json::{json, Value};
use testkit::storage::Server;

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

/// Last-modified (milliseconds) of every data object the manifest of `record` lists, by key.
async fn modified_times(server: &Server, location: &str, record: &Value) -> Vec<(String, i64)> {
    let options = StoreOptions {
        read_environment: false,
        settings: server.settings.clone(),
        ..StoreOptions::default()
    };
    let location = StorageLocation::parse(location).unwrap();
    let storage = Storage::open(&location, &options).await.unwrap();
    let store = storage.store();
    let manifest_path = object_store::path::Path::from(record["manifest"].as_str().unwrap());
    let bytes = store
        .get(&manifest_path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let manifest = Manifest::from_json("manifest", &bytes).unwrap();
    let node = location.node.clone().unwrap();
    let mut times = Vec::new();
    for entry in manifest.entries() {
        let path = storage.node_object(&node, &entry.object_key);
        let meta = store.head(&path).await.unwrap();
        times.push((
            entry.object_key.clone(),
            meta.last_modified.timestamp_millis(),
        ));
    }
    times.sort();
    times
}

/// Backup three times (the second and third send nothing new; the second leaves the stored
/// objects untouched with skipRefreshing, the third refreshes them), list the node and the
/// whole bucket, remove.
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

    let written = modified_times(server, &node_location, &first).await;
    assert_eq!(written.len() as u64, files);
    // Last-modified has a resolution of one second on some stores.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let untouched = sidecar
        .run(&body(
            "backup",
            &node_location,
            json!({"entities": "spark_test.test3",
             "snapshotTag": "s2", "skipRefreshing": true}),
        ))
        .await;
    assert_eq!(untouched["state"], "COMPLETED", "{untouched}");
    assert_eq!(untouched["uploadedFiles"], 0, "nothing new: {untouched}");
    assert_eq!(untouched["skippedFiles"], files);
    assert_eq!(untouched["refreshedFiles"], 0, "{untouched}");
    assert_eq!(
        modified_times(server, &node_location, &first).await,
        written,
        "skipRefreshing touches nothing"
    );

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
    assert_eq!(second["refreshedFiles"], files, "{second}");
    let refreshed = modified_times(server, &node_location, &first).await;
    for ((key, before), (_, after)) in written.iter().zip(&refreshed) {
        assert!(
            after > before,
            "{key}: last-modified {after} not after {before}"
        );
    }

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
        3,
        "{node_list}"
    );
    let bucket_list = sidecar
        .run(&body("list", &format!("{protocol}://backups"), json!({})))
        .await;
    let listed = bucket_list["response"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "{bucket_list}");
    let nodes: Vec<&Value> = listed.iter().map(|b| &b["nodes"][0]).collect();
    assert_eq!(nodes[0], "cluster/dc1/node1");
    assert!(
        nodes[3].as_str().unwrap().starts_with("Test Cluster/"),
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
    assert_eq!(node_list["response"].as_array().unwrap().len(), 2);
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

/// GCS: fake-gcs-server behind the test front that accepts object_store's XML API uploads
/// (`testkit::storage::GcsFront`).
#[tokio::test]
async fn gcs_backup_list_remove() {
    lifecycle(&Server::gcs(), "gcp").await;
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

/// A front for `target` (moto) that refuses every copy with 403, as a store whose credentials
/// may write but not copy objects would; everything else is forwarded. Returns its URL.
async fn copy_refusing_front(target: String) -> String {
    use axum::extract::Request;
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let http = testkit::http_client();
    let app = axum::Router::new().fallback(move |request: Request| {
        let (http, target) = (http.clone(), target.clone());
        async move {
            if request.headers().contains_key("x-amz-copy-source") {
                let body = "<Error><Code>AccessDenied</Code><Message>copies are not allowed</Message></Error>";
                return (axum::http::StatusCode::FORBIDDEN, body).into_response();
            }
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut headers = parts.headers;
            // Content-Length stays: S3 wants it even on an empty body.
            headers.remove("host");
            let reply = http
                .request(parts.method, format!("{target}{path}"))
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = reply.status();
            let mut headers = reply.headers().clone();
            headers.remove("transfer-encoding");
            headers.remove("content-length");
            headers.remove("connection");
            let bytes = reply.bytes().await.unwrap();
            (status, headers, bytes).into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Refreshing an object that is already stored fails (the store refuses the copy): the backup
/// fails naming the object and skipRefreshing, writes no manifest and clears its snapshot; the
/// same backup with skipRefreshing completes without touching the stored objects.
#[tokio::test]
async fn a_refused_refresh_fails_the_backup_naming_the_object() {
    let server = Server::s3();
    let front = copy_refusing_front(server.server_url.clone()).await;
    let secrets = tempfile::tempdir().unwrap();
    let dir = secrets.path().join("creds");
    std::fs::create_dir_all(&dir).unwrap();
    for (key, value) in &server.settings {
        let value = if key == "AWS_ENDPOINT_URL" {
            &front
        } else {
            value
        };
        std::fs::write(dir.join(key), value).unwrap();
    }
    let setup = setup(OperationSettings {
        backup_secrets_dir: Some(secrets.path().to_path_buf()),
        ..OperationSettings::default()
    })
    .await;
    let sidecar = &setup.server;
    let location = "s3://refused/cluster/dc1/node1";
    let first = sidecar
        .run(&body(
            "backup",
            location,
            json!({"createMissingBucket": true, "entities": "spark_test.test3"}),
        ))
        .await;
    assert_eq!(first["state"], "COMPLETED", "{first}");

    let second = sidecar
        .run(&body(
            "backup",
            location,
            json!({"entities": "spark_test.test3"}),
        ))
        .await;
    assert_eq!(second["state"], "FAILED", "{second}");
    assert_eq!(second["failureCause"]["kind"], "Storage", "{second}");
    let message = second["failureCause"]["message"].as_str().unwrap();
    assert!(
        message.contains("cluster/dc1/node1/data/spark_test/test3-") && message.contains("refresh"),
        "{message}"
    );
    assert!(message.contains("403"), "{message}");
    assert!(message.contains("skipRefreshing"), "{message}");
    assert!(message.contains("no manifest was written"), "{message}");
    assert!(setup.snapshots().is_empty());
    let listed = sidecar.run(&body("list", location, json!({}))).await;
    assert_eq!(
        listed["response"].as_array().unwrap().len(),
        1,
        "only the first backup has a manifest: {listed}"
    );

    let skipping = sidecar
        .run(&body(
            "backup",
            location,
            json!({"entities": "spark_test.test3", "skipRefreshing": true}),
        ))
        .await;
    assert_eq!(skipping["state"], "COMPLETED", "{skipping}");
    assert_eq!(skipping["refreshedFiles"], 0, "{skipping}");
    assert_eq!(skipping["skippedFiles"], first["files"], "{skipping}");
}
