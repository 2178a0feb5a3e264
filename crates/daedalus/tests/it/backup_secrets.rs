//! The proxy password of `backup`, `list` and `remove-backup` requests: the running operation
//! reaches S3 (moto) through an authenticating proxy with it, while the records over HTTP and
//! every byte of the journal show `"***"`; a request read back from the journal after a
//! restart fails asking to be submitted again.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use daedalus::operations::OperationSettings;
use serde_json::{json, Value};
use testkit::storage::Server;

use crate::backup_file::setup;
use crate::backup_servers::mount_secret;
use crate::common::*;

/// Characters a URL would have to encode, so that the password goes through the proxy URL intact.
const PASSWORD: &str = "hunter2 p@ss:w/rd%";

/// Requests an HTTP proxy let through and refused.
#[derive(Default)]
struct ProxyCounts {
    allowed: AtomicUsize,
    refused: AtomicUsize,
}

/// A forward HTTP proxy on loopback that asks for `user:password` (Basic) and answers 407
/// without them. Returns its port and its counts.
async fn authenticating_proxy(user: &str, password: &str) -> (u16, Arc<ProxyCounts>) {
    use axum::extract::Request;
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let counts = Arc::new(ProxyCounts::default());
    let seen = counts.clone();
    let http = testkit::http_builder().no_proxy().build().unwrap();
    let app = axum::Router::new().fallback(move |request: Request| {
        let (http, expected, seen) = (http.clone(), expected.clone(), seen.clone());
        async move {
            let authorized = request
                .headers()
                .get("proxy-authorization")
                .and_then(|v| v.to_str().ok())
                == Some(expected.as_str());
            if !authorized {
                seen.refused.fetch_add(1, Ordering::SeqCst);
                return (
                    axum::http::StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                    [("proxy-authenticate", "Basic realm=\"test\"")],
                    "proxy authentication required",
                )
                    .into_response();
            }
            seen.allowed.fetch_add(1, Ordering::SeqCst);
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let mut headers = parts.headers;
            headers.remove("proxy-authorization");
            headers.remove("proxy-connection");
            headers.remove("host");
            // The request line of a proxied request carries the whole target URL.
            let reply = http
                .request(parts.method, parts.uri.to_string())
                .headers(headers)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = reply.status();
            let mut headers = reply.headers().clone();
            for name in ["transfer-encoding", "content-length", "connection"] {
                headers.remove(name);
            }
            (status, headers, reply.bytes().await.unwrap()).into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, counts)
}

fn with_proxy(mut body: Value, port: u16, password: &str) -> Value {
    body["proxySettings"] = json!({"useProxy": true, "proxyHost": "127.0.0.1",
        "proxyPort": port, "proxyProtocol": "HTTP", "proxyUsername": "u",
        "proxyPassword": password});
    body
}

/// Every file under `dir` whose name starts with `prefix`, read whole.
fn files_starting_with(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .flat_map(|e| {
            if e.path().is_dir() {
                files_starting_with(&e.path(), "")
            } else {
                vec![(
                    e.path().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                )]
            }
        })
        .collect()
}

/// Neither the password nor its URL-encoded form is anywhere in `bytes`.
fn assert_no_password(what: &str, bytes: &[u8]) {
    let encoded = backup::request::userinfo_encoded(PASSWORD);
    for form in [PASSWORD, encoded.as_str(), "hunter2"] {
        assert!(
            !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
            "{what} holds the password ({form})"
        );
    }
}

#[tokio::test]
async fn the_proxy_password_is_used_but_never_shown_nor_journaled() {
    let server = Server::s3();
    let (port, counts) = authenticating_proxy("u", PASSWORD).await;
    let secrets = tempfile::tempdir().unwrap();
    mount_secret(&server, secrets.path());
    let setup = setup(OperationSettings {
        backup_secrets_dir: Some(secrets.path().to_path_buf()),
        ..OperationSettings::default()
    })
    .await;
    let sidecar = &setup.server;
    let location = "s3://proxied/cluster/dc1/node1";
    let common = |kind: &str, extra: Value| {
        let mut body = json!({"type": kind, "storageLocation": location, "k8sSecretName": "creds"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        with_proxy(body, port, PASSWORD)
    };

    let backup = sidecar
        .run(&common(
            "backup",
            json!({"createMissingBucket": true, "entities": "spark_test.test3"}),
        ))
        .await;
    assert_eq!(backup["state"], "COMPLETED", "{backup}");
    assert!(
        counts.allowed.load(Ordering::SeqCst) > 0,
        "the store was reached through the proxy"
    );
    assert_eq!(
        counts.refused.load(Ordering::SeqCst),
        0,
        "the proxy was always given the real password"
    );
    let listed = sidecar.run(&common("list", json!({}))).await;
    assert_eq!(listed["state"], "COMPLETED", "{listed}");
    assert_eq!(listed["response"].as_array().unwrap().len(), 1, "{listed}");
    let removal = sidecar
        .run(&common(
            "remove-backup",
            json!({"removeOldest": true, "dry": true}),
        ))
        .await;
    assert_eq!(removal["state"], "COMPLETED", "{removal}");

    // A wrong password: refused by the proxy, and the failure does not quote it either.
    let wrong = sidecar
        .run(&with_proxy(
            json!({"type": "list", "storageLocation": location, "k8sSecretName": "creds"}),
            port,
            "hunter2-wrong",
        ))
        .await;
    assert_eq!(wrong["state"], "FAILED", "{wrong}");
    assert!(counts.refused.load(Ordering::SeqCst) > 0);

    for record in [&backup, &listed, &removal] {
        assert_eq!(record["proxySettings"]["proxyPassword"], "***", "{record}");
        assert_eq!(record["proxySettings"]["proxyUsername"], "u", "{record}");
        let id = record["id"].as_str().unwrap();
        let shown = sidecar.get(&format!("/operations/{id}")).await.body;
        assert_no_password("a record over HTTP", shown.to_string().as_bytes());
    }
    assert_no_password("a failed record", wrong.to_string().as_bytes());
    let all = sidecar.get("/operations").await.body;
    assert_no_password("the record list", all.to_string().as_bytes());
    let journal = files_starting_with(setup.tmp.path(), "journal");
    assert!(!journal.is_empty());
    for (path, bytes) in journal {
        assert_no_password(&path, &bytes);
    }
}

/// PENDING requests with a proxy password, still queued when the sidecar stops: after the
/// restart they run from the journal, which has no password, so each fails saying why and what
/// to do instead of reaching the store without it.
#[tokio::test]
async fn a_request_read_back_without_its_password_fails_asking_to_resubmit() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("journal");
    let fixture = copy_fixture(NB_SETS, tmp.path());
    let before = Arc::new(FakeNode::gated());
    let server = TestServer::start(before.connector(), config(1), &data).await;
    // The only worker is held by an import, so what follows stays PENDING.
    let busy = server.submit_id(&import_body(&fixture)).await;
    eventually("the import holds the worker", || before.entered() == 1).await;
    let location = format!(
        "file://{}/store/bucket/cluster/dc1/node1",
        tmp.path().display()
    );
    let bodies = [
        json!({"type": "backup", "storageLocation": location, "createMissingBucket": true}),
        json!({"type": "list", "storageLocation": location}),
        json!({"type": "remove-backup", "storageLocation": location, "removeOldest": true}),
    ];
    let mut pending = Vec::new();
    for body in bodies {
        let id = server.submit_id(&with_proxy(body, 3128, PASSWORD)).await;
        let shown = server.get(&format!("/operations/{id}")).await.body;
        assert_eq!(shown["state"], "PENDING", "{shown}");
        assert_eq!(shown["proxySettings"]["proxyPassword"], "***", "{shown}");
        pending.push(id);
    }
    server.halt();
    for (path, bytes) in files_starting_with(tmp.path(), "journal") {
        assert_no_password(&path, &bytes);
    }

    let after = Arc::new(FakeNode::new());
    let server = TestServer::start(after.connector(), config(1), &data).await;
    let interrupted = server.wait_finished(&busy).await;
    assert_eq!(interrupted["failureCause"]["kind"], "SidecarRestart");
    for id in pending {
        let record = server.wait_finished(&id).await;
        assert_eq!(record["state"], "FAILED", "{record}");
        assert_eq!(record["failureCause"]["kind"], "Configuration", "{record}");
        let message = record["failureCause"]["message"].as_str().unwrap();
        assert!(
            message.contains("proxySettings.proxyPassword")
                && message.contains("submit the request again"),
            "{message}"
        );
        assert_no_password("a record after the restart", record.to_string().as_bytes());
    }
}
