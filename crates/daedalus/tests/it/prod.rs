//! Production readiness through HTTP(S): bearer tokens and roles, TLS with a generated
//! certificate (handshake, reload, client certificates), CORS, body shape limits, the bounded
//! queue, and `/metrics` counting. The sidecar runs in-process over a fake node.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::common::*;
use daedalus::engine::{Engine, EngineConfig};
use daedalus::http::auth::{hash_token, TokenStore};
use daedalus::http::tls::{TlsFiles, TlsReloader};
use daedalus::http::HttpOptions;
use daedalus::journal::Journal;
use daedalus::node::NodeHandle;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use serde_json::{json, Value};

struct Sidecar {
    addr: SocketAddr,
    engine: Engine,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.engine.halt();
        self.server.abort();
    }
}

async fn start(
    connector: NodeHandle,
    config: EngineConfig,
    options: HttpOptions,
    tls: Option<Arc<TlsReloader>>,
    data_dir: &Path,
) -> Sidecar {
    let engine = Engine::start(Journal::open(data_dir).unwrap(), connector, config)
        .await
        .unwrap();
    let router = daedalus::http::app_with(engine.clone(), &options).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = daedalus::http::serve_router(listener, router, tls, std::future::pending()).await;
    });
    Sidecar {
        addr,
        engine,
        server,
    }
}

fn http() -> reqwest::Client {
    testkit::http_builder().no_proxy().build().unwrap()
}

async fn status(req: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

// ---------------------------------------------------------------------------------------------
// Tokens and roles

#[tokio::test]
async fn tokens_deny_and_allow_per_role() {
    let tmp = tempfile::tempdir().unwrap();
    let tokens = TokenStore::parse(&format!(
        "# name role sha256\nreader read {}\nops operate {}\n",
        hash_token("reader-secret"),
        hash_token("ops-secret")
    ))
    .unwrap();
    let node = Arc::new(FakeNode::new());
    let s = start(
        node.connector(),
        config(1),
        HttpOptions {
            tokens: Some(Arc::new(tokens)),
            ..Default::default()
        },
        None,
        &tmp.path().join("data"),
    )
    .await;
    let url = |p: &str| format!("http://{}{p}", s.addr);
    let c = http();
    let dir = copy_fixture(NB_SETS, tmp.path());

    // No token, a malformed header, an unknown token: 401 with a Bearer challenge.
    for req in [
        c.get(url("/operations")),
        c.get(url("/operations"))
            .header("authorization", "Basic eDp5"),
        c.get(url("/operations")).bearer_auth("wrong"),
        c.post(url("/operations")).json(&import_body(&dir)),
        c.get(url("/metrics")),
        c.get(url("/no-such-route")),
    ] {
        let (code, headers, body) = status(req).await;
        assert_eq!(code, 401, "{body}");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
        assert_eq!(body["error"], "unauthorized");
    }
    assert!(node.calls().is_empty());
    assert!(
        s.engine.list(&Default::default()).is_empty(),
        "nothing created"
    );

    // read: GETs pass, POST and DELETE are 403.
    let (code, _, _) = status(c.get(url("/operations")).bearer_auth("reader-secret")).await;
    assert_eq!(code, 200);
    let (code, _, _) = status(c.get(url("/metrics")).bearer_auth("reader-secret")).await;
    assert_eq!(code, 200);
    let (code, _, body) = status(
        c.post(url("/operations"))
            .bearer_auth("reader-secret")
            .json(&import_body(&dir)),
    )
    .await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    let (code, _, _) = status(
        c.delete(url("/operations/00000000-0000-4000-8000-000000000000"))
            .bearer_auth("reader-secret"),
    )
    .await;
    assert_eq!(code, 403);
    assert!(
        s.engine.list(&Default::default()).is_empty(),
        "nothing created"
    );

    // operate: everything.
    let (code, _, created) = status(
        c.post(url("/operations"))
            .bearer_auth("ops-secret")
            .json(&import_body(&dir)),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (code, _, _) = status(
        c.get(url(&format!("/operations/{id}")))
            .bearer_auth("ops-secret"),
    )
    .await;
    assert_eq!(code, 200);
    let (code, _, _) = status(
        c.delete(url("/operations/00000000-0000-4000-8000-000000000000"))
            .bearer_auth("ops-secret"),
    )
    .await;
    assert_eq!(code, 404, "past auth, the id is unknown");

    // read may submit `list`, which only reads a bucket; the record is readable with it too.
    let location = format!("file://{}/bucket/cluster/dc/node", tmp.path().display());
    let (code, _, listed) = status(
        c.post(url("/operations"))
            .bearer_auth("reader-secret")
            .json(&serde_json::json!({"type": "list", "storageLocation": location})),
    )
    .await;
    assert_eq!(code, 201, "{listed}");
    assert_eq!(listed["type"], "list");
    let (code, _, body) = status(
        c.post(url("/operations"))
            .bearer_auth("reader-secret")
            .json(&serde_json::json!({"type": "flush", "keyspace": "ks"})),
    )
    .await;
    assert_eq!(code, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("only \"list\""),
        "{body}"
    );

    // /health is open (whatever the route answers, it is not an auth refusal).
    let (code, _, _) = status(c.get(url("/health"))).await;
    assert_ne!(code, 401);
}

// ---------------------------------------------------------------------------------------------
// TLS

struct Pki {
    ca_pem: String,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = params.self_signed(&ca_key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            ca,
            ca_key,
        }
    }

    /// (certificate PEM, key PEM) signed by this CA.
    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn write_server(&self, dir: &Path) -> TlsFiles {
        let (cert, key) = self.issue(
            &["127.0.0.1", "localhost"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        std::fs::write(dir.join("server.pem"), cert).unwrap();
        std::fs::write(dir.join("server.key"), key).unwrap();
        TlsFiles {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: None,
        }
    }
}

fn trusting(ca_pem: &str) -> reqwest::Client {
    testkit::http_builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .build()
        .unwrap()
}

#[tokio::test]
async fn tls_handshake_with_a_generated_certificate_and_reload_on_file_change() {
    let tmp = tempfile::tempdir().unwrap();
    let first = Pki::new("first CA");
    let files = first.write_server(tmp.path());
    let reloader = TlsReloader::new(files).unwrap();
    let watcher = reloader.watch();
    let s = start(
        Arc::new(FakeNode::new()).connector(),
        config(1),
        HttpOptions::default(),
        Some(reloader.clone()),
        &tmp.path().join("data"),
    )
    .await;
    let url = format!("https://127.0.0.1:{}/operations", s.addr.port());

    let (code, _, body) = status(trusting(&first.ca_pem).get(&url)).await;
    assert_eq!(code, 200);
    assert_eq!(body, json!([]));
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(
        try_request(s.addr, "GET", "/operations", None)
            .await
            .is_err(),
        "plain HTTP must not be served"
    );
    // A client that does not trust the CA fails the handshake.
    let other = Pki::new("other CA");
    assert!(trusting(&other.ca_pem).get(&url).send().await.is_err());

    // New certificate from another CA, written over the files: picked up by the watcher.
    let second = Pki::new("second CA");
    second.write_server(tmp.path());
    let url2 = url.clone();
    wait_until_async("the new certificate is served", || {
        let client = trusting(&second.ca_pem);
        let url = url2.clone();
        async move { client.get(&url).send().await.is_ok() }
    })
    .await;
    assert!(
        trusting(&first.ca_pem).get(&url).send().await.is_err(),
        "the old certificate is no longer served"
    );

    // A broken file keeps the current certificate in service.
    std::fs::write(tmp.path().join("server.pem"), "not a certificate").unwrap();
    assert!(reloader.reload().is_err());
    let (code, _, _) = status(trusting(&second.ca_pem).get(&url)).await;
    assert_eq!(code, 200);
    watcher.abort();
}

async fn wait_until_async<F, Fut>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn client_certificates_are_required_with_a_client_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new("server CA");
    let clients = Pki::new("client CA");
    let mut files = pki.write_server(tmp.path());
    std::fs::write(tmp.path().join("clients.pem"), &clients.ca_pem).unwrap();
    files.client_ca = Some(tmp.path().join("clients.pem"));
    let s = start(
        Arc::new(FakeNode::new()).connector(),
        config(1),
        HttpOptions::default(),
        Some(TlsReloader::new(files).unwrap()),
        &tmp.path().join("data"),
    )
    .await;
    let url = format!("https://127.0.0.1:{}/operations", s.addr.port());

    let without = trusting(&pki.ca_pem).get(&url).send().await;
    assert!(without.is_err(), "no client certificate: {without:?}");

    let rogue = Pki::new("rogue CA");
    for (issuer, expect_ok) in [(&clients, true), (&rogue, false)] {
        let (cert, key) = issuer.issue(&["operator"], ExtendedKeyUsagePurpose::ClientAuth);
        let identity = reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap();
        let client = testkit::http_builder()
            .no_proxy()
            .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap()])
            .identity(identity)
            .build()
            .unwrap();
        let out = client.get(&url).send().await;
        assert_eq!(out.is_ok(), expect_ok, "{out:?}");
        if let Ok(resp) = out {
            assert_eq!(resp.status(), 200);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CORS

#[tokio::test]
async fn cors_is_off_unless_an_origin_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = start(
        Arc::new(FakeNode::new()).connector(),
        config(1),
        HttpOptions::default(),
        None,
        &tmp.path().join("a"),
    )
    .await;
    let (_, headers, _) = status(
        http()
            .get(format!("http://{}/operations", plain.addr))
            .header("origin", "https://evil.example"),
    )
    .await;
    assert!(headers.get("access-control-allow-origin").is_none());

    let cors = start(
        Arc::new(FakeNode::new()).connector(),
        config(1),
        HttpOptions {
            cors_origins: vec!["https://console.example".into()],
            ..Default::default()
        },
        None,
        &tmp.path().join("b"),
    )
    .await;
    let (_, headers, _) = status(
        http()
            .get(format!("http://{}/operations", cors.addr))
            .header("origin", "https://console.example"),
    )
    .await;
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://console.example"
    );
    let (_, headers, _) = status(
        http()
            .get(format!("http://{}/operations", cors.addr))
            .header("origin", "https://evil.example"),
    )
    .await;
    assert!(headers.get("access-control-allow-origin").is_none());
}

// ---------------------------------------------------------------------------------------------
// Input limits

#[tokio::test]
async fn oversized_and_deep_bodies_never_reach_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let s = start(
        node.connector(),
        config(1),
        HttpOptions::default(),
        None,
        &tmp.path().join("data"),
    )
    .await;
    let long = json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": format!("/{}", "a".repeat(5000))});
    let resp = request(s.addr, "POST", "/operations", Some(long.to_string())).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.body["field"], "sourceDir");

    let mut deep = json!("x");
    for _ in 0..20 {
        deep = json!({ "a": deep });
    }
    let body =
        json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/x", "extra": deep});
    let resp = request(s.addr, "POST", "/operations", Some(body.to_string())).await;
    assert_eq!(resp.status, 400, "{}", resp.body);

    let long_id =
        json!({"type": "import", "keyspace": "k".repeat(49), "table": "t", "sourceDir": "/x"});
    let resp = request(s.addr, "POST", "/operations", Some(long_id.to_string())).await;
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert_eq!(resp.body["field"], "keyspace");

    assert!(node.calls().is_empty());
    assert_eq!(
        node.versions_entered
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert!(s.engine.list(&Default::default()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Bounded queue and metrics

/// The value of the sample `name{labels}` in a Prometheus text exposition (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_max_pending_post_is_503_with_retry_after_and_nothing_is_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let s = start(
        node.connector(),
        EngineConfig {
            workers: 1,
            max_pending: 3,
            ..EngineConfig::default()
        },
        HttpOptions::default(),
        None,
        &tmp.path().join("data"),
    )
    .await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let post = || {
        request(
            s.addr,
            "POST",
            "/operations",
            Some(import_body(&dir).to_string()),
        )
    };

    let first = post().await;
    assert_eq!(first.status, 201);
    eventually("the first import is in the node", || node.entered() == 1).await;
    for _ in 0..3 {
        assert_eq!(post().await.status, 201);
    }
    assert_eq!(s.engine.pending(), 3);
    for _ in 0..5 {
        let full = post().await;
        assert_eq!(full.status, 503, "{}", full.body);
        assert_eq!(full.header("retry-after"), Some("5"));
        assert_eq!(full.body["error"], "queue_full");
    }
    assert_eq!(s.engine.list(&Default::default()).len(), 4);
    assert_eq!(
        s.engine.journal().load().unwrap().records.len(),
        4,
        "nothing journaled"
    );

    let metrics = request(s.addr, "GET", "/metrics", None).await;
    let text = metrics.body.as_str().unwrap();
    assert_eq!(sample(text, "daedalus_queue_depth"), 3.0, "{text}");
    assert_eq!(sample(text, "daedalus_operations_running"), 1.0);

    // Readers are served while the queue is full.
    assert_eq!(
        request(s.addr, "GET", "/operations", None).await.status,
        200
    );

    // As the queue drains, submissions are accepted again.
    node.release_imports(1);
    eventually("a pending operation starts", || s.engine.pending() == 2).await;
    assert_eq!(post().await.status, 201);
    node.release_imports(100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_present_and_count() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let s = start(
        node.connector(),
        config(1),
        HttpOptions::default(),
        None,
        &tmp.path().join("data"),
    )
    .await;
    let scrape = || async {
        let resp = request(s.addr, "GET", "/metrics", None).await;
        assert_eq!(resp.status, 200);
        assert!(resp
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        resp.body.as_str().unwrap().to_string()
    };
    let before = scrape().await;
    // A family shows once it has a sample: checked after an import has run and finished.
    let families = [
        "# TYPE daedalus_operations gauge",
        "# TYPE daedalus_queue_depth gauge",
        "# TYPE daedalus_operation_duration_seconds histogram",
        "# TYPE daedalus_jmx_calls_total counter",
        "# TYPE daedalus_jmx_errors_total counter",
        "# TYPE daedalus_jmx_call_duration_seconds histogram",
        "# TYPE daedalus_http_requests_total counter",
    ];
    let get_ok =
        "daedalus_http_requests_total{method=\"GET\",route=\"/operations\",status=\"200\"}";
    let get_404 =
        "daedalus_http_requests_total{method=\"GET\",route=\"/operations/{id}\",status=\"404\"}";
    let imports = "daedalus_jmx_calls_total{call=\"importNewSSTables\"}";
    let completed_hist =
        "daedalus_operation_duration_seconds_count{type=\"import\",state=\"COMPLETED\"}";

    request(s.addr, "GET", "/operations", None).await;
    request(s.addr, "GET", "/operations", None).await;
    request(
        s.addr,
        "GET",
        "/operations/00000000-0000-4000-8000-000000000000",
        None,
    )
    .await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let id = s_submit(s.addr, &import_body(&dir)).await;
    wait_until(s.addr, &id, "COMPLETED", |r| r["state"] == "COMPLETED").await;

    // The worker records the duration just after the final state is visible: scrape until the
    // histogram has it (bounded), so the check does not race the worker.
    let mut after = scrape().await;
    for _ in 0..100 {
        if sample(&after, completed_hist) > sample(&before, completed_hist) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        after = scrape().await;
    }
    for name in families {
        assert!(after.contains(name), "{name} missing:\n{after}");
    }
    // Other tests of this binary share the process-wide counters, so compare at least-deltas.
    assert!(
        sample(&after, get_ok) >= sample(&before, get_ok) + 2.0,
        "{after}"
    );
    assert!(
        sample(&after, get_404) > sample(&before, get_404),
        "{after}"
    );
    assert!(
        sample(&after, imports) > sample(&before, imports),
        "{after}"
    );
    assert!(
        sample(&after, completed_hist) > sample(&before, completed_hist),
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "daedalus_operations{type=\"import\",state=\"COMPLETED\"}"
        ),
        1.0,
        "{after}"
    );
    assert_eq!(sample(&after, "daedalus_queue_depth"), 0.0);
}

async fn s_submit(addr: SocketAddr, body: &Value) -> String {
    let resp = request(addr, "POST", "/operations", Some(body.to_string())).await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    resp.body["id"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// Shutdown past the grace period (the real binary is exercised in `shutdown.rs`)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_grace_period_work_before_its_node_call_goes_back_to_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // The operation hangs in `release_version`, before the import call that changes the node.
    let node = Arc::new(FakeNode {
        version_gate: Some(Arc::new(tokio::sync::Semaphore::new(0))),
        ..FakeNode::new()
    });
    let s = start(
        node.connector(),
        config(1),
        HttpOptions::default(),
        None,
        &data,
    )
    .await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let id = s_submit(s.addr, &import_body(&dir)).await;
    eventually("the operation asks the node its version", || {
        node.versions_entered
            .load(std::sync::atomic::Ordering::SeqCst)
            == 1
    })
    .await;
    assert_eq!(s.engine.pending(), 0);
    s.engine
        .shutdown(std::time::Duration::from_millis(200))
        .await;

    let journal = s.engine.journal().load().unwrap();
    let record = journal
        .records
        .iter()
        .find(|r| r.id.to_string() == id)
        .unwrap();
    assert_eq!(record.state.as_str(), "PENDING");
    assert!(record.start_ms.is_none());
    assert!(node.calls().is_empty(), "the import call was never made");
    drop(s);

    // At the next start it runs to completion.
    let node = Arc::new(FakeNode::new());
    let s = start(
        node.connector(),
        config(1),
        HttpOptions::default(),
        None,
        &data,
    )
    .await;
    wait_until(s.addr, &id, "COMPLETED", |r| r["state"] == "COMPLETED").await;
    assert_eq!(node.calls().len(), 1);
}

#[tokio::test]
async fn a_request_still_unanswered_after_the_request_timeout_gets_408() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode {
        mode_gate: Some(Arc::new(tokio::sync::Semaphore::new(0))),
        ..FakeNode::new()
    });
    let options = HttpOptions {
        request_timeout: std::time::Duration::from_millis(300),
        ..HttpOptions::default()
    };
    let server =
        TestServer::start_with(node.connector(), config(1), &tmp.path().join("d"), &options).await;
    let started = std::time::Instant::now();
    let hung = try_request(server.addr, "GET", "/status", None)
        .await
        .unwrap();
    assert_eq!(hung.status, 408);
    assert!(
        started.elapsed() < PATIENCE,
        "answered by the timeout, not the node"
    );
    // Requests that do not wait on the node are unaffected.
    assert_eq!(server.get("/health").await.status, 200);
    node.mode_gate.as_ref().unwrap().add_permits(1);
    assert_eq!(server.get("/status").await.status, 200);
}

#[tokio::test]
async fn metrics_come_as_openmetrics_when_the_scraper_asks_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("d")).await;
    let resp = testkit::http_client()
        .get(format!("http://{}/metrics", server.addr))
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("# TYPE daedalus_operations_rejected counter"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
}
