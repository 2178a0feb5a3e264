//! The HTTP API against an in-process server and a fake node: submit, get, list, cancel,
//! queueing, expiry, validation, and the mapping of request flags onto the import call.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use daedalus::engine::EngineConfig;
use daedalus::operations::ValidationPolicy;
use serde_json::{json, Value};

#[tokio::test]
async fn submit_answers_201_with_location_and_the_record_then_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(2), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());

    let resp = server.post(&import_body(&dir)).await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_operation(&resp.body);
    let id = resp.body["id"].as_str().unwrap().to_string();
    // An absolute URL on the host the client named, as the Icarus contract shows it.
    let url = format!("http://{}/operations/{id}", server.addr);
    assert_eq!(resp.header("location"), Some(url.as_str()));
    assert_eq!(resp.body["type"], "import");
    assert_eq!(resp.body["keyspace"], "spark_test");
    assert_eq!(resp.body["sourceDir"], dir.to_str().unwrap());
    assert_eq!(resp.body["copyData"], true);
    assert_eq!(resp.body["quick"], false);
    assert!(resp.body["progress"].is_number());
    assert_eq!(resp.body["errors"], json!([]));

    let done = server.wait_state(&id, "COMPLETED").await;
    assert_eq!(done["progress"], json!(1.0));
    assert!(done["startTime"].is_string());
    assert!(done.get("failureCause").is_none());
    assert_eq!(done["sstables"], 2);
    assert!(done["bytes"].as_u64().unwrap() > 0);
    assert!(done["startTime"].as_str() >= done["creationTime"].as_str());

    let calls = node.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        ("spark_test", "test3")
    );
    assert_eq!(
        calls[0].2.src_paths,
        vec![dir.canonicalize().unwrap().to_string_lossy().into_owned()]
    );

    let location = resp.header("location").unwrap().to_string();
    let path = location
        .strip_prefix(&format!("http://{}", server.addr))
        .unwrap();
    let again = server.get(path).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, done);
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_404_with_a_json_body() {
    let tmp = tempfile::tempdir().unwrap();
    let server =
        TestServer::start(Arc::new(FakeNode::new()).connector(), config(1), tmp.path()).await;
    for path in [
        "/operations/6f1c3a52-8a0e-4c8e-9d53-1f0d0c6b7e11".to_string(),
        "/operations/not-a-uuid".to_string(),
    ] {
        for resp in [server.get(&path).await, server.delete(&path).await] {
            assert_eq!(resp.status, 404, "{path}");
            assert_eq!(resp.body["error"], "not_found", "{path}: {}", resp.body);
            assert!(resp.body["message"].is_string());
        }
    }
    let resp = server.get("/nothing-here").await;
    assert_eq!(resp.status, 404);
    assert!(resp.body.is_object());
}

/// Each invalid request is refused with 400 naming the field, and nothing is created.
#[tokio::test]
async fn invalid_requests_are_400_naming_the_field_and_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let policy = ValidationPolicy {
        allowed_roots: vec![root.clone()],
        ..Default::default()
    };
    let server = TestServer::start(
        Arc::new(FakeNode::new()).connector(),
        EngineConfig {
            workers: 1,
            policy,
            ..EngineConfig::default()
        },
        &tmp.path().join("data"),
    )
    .await;
    let inside = copy_fixture(NB_SETS, &root);
    let outside = copy_fixture(NB_SETS, tmp.path());
    let a_file = inside.join("nb-1-big-TOC.txt");
    std::os::unix::fs::symlink(&outside, root.join("link-out")).unwrap();
    let ok = import_body(&inside);
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = ok.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };

    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (without("type"), "missing_field", Some("type")),
        (with("type", json!(7)), "invalid_field", Some("type")),
        (with("type", json!("flushh")), "unknown_type", Some("type")),
        (without("keyspace"), "missing_field", Some("keyspace")),
        (
            with("keyspace", json!("bad-name")),
            "invalid_field",
            Some("keyspace"),
        ),
        (
            with("keyspace", json!("")),
            "invalid_field",
            Some("keyspace"),
        ),
        (
            with("keyspace", json!("k".repeat(49))),
            "invalid_field",
            Some("keyspace"),
        ),
        (
            with("keyspace", json!(12)),
            "invalid_field",
            Some("keyspace"),
        ),
        (without("table"), "missing_field", Some("table")),
        (
            with("table", json!("t; DROP")),
            "invalid_field",
            Some("table"),
        ),
        (without("sourceDir"), "missing_field", Some("sourceDir")),
        (
            with("sourceDir", json!("relative/dir")),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with("sourceDir", json!("")),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with("sourceDir", json!(root.join("absent"))),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with("sourceDir", json!(a_file)),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with("sourceDir", json!(outside)),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with(
                "sourceDir",
                json!(root.join("../").join(outside.file_name().unwrap())),
            ),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with("sourceDir", json!(root.join("link-out"))),
            "invalid_field",
            Some("sourceDir"),
        ),
        (
            with("tablePath", json!(outside)),
            "invalid_field",
            Some("tablePath"),
        ),
        (
            with("tablePath", json!("rel")),
            "invalid_field",
            Some("tablePath"),
        ),
        (
            with("keepLevel", json!("yes")),
            "invalid_field",
            Some("keepLevel"),
        ),
        (with("quick", json!(1)), "invalid_field", Some("quick")),
        (with("copyData", json!(null)), "ok", None),
        (json!([1, 2]), "malformed_json", None),
    ];
    for (body, error, field) in cases {
        let resp = server.post(&body).await;
        if error == "ok" {
            assert_eq!(resp.status, 201, "{body}: {}", resp.body);
            continue;
        }
        assert_eq!(resp.status, 400, "{body} → {}", resp.body);
        assert_eq!(resp.body["error"], error, "{body} → {}", resp.body);
        assert_eq!(resp.body["field"], json!(field), "{body} → {}", resp.body);
        assert!(resp.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let unknown = server.post(&with("type", json!("flushh"))).await;
    assert!(
        unknown.body["message"].as_str().unwrap().contains("import"),
        "{}",
        unknown.body
    );

    for raw in ["{not json", ""] {
        let resp = server.post_raw(raw).await;
        assert_eq!(resp.status, 400, "{raw:?}");
        assert_eq!(resp.body["error"], "malformed_json");
    }
    let huge = format!(
        "{{\"type\":\"import\",\"pad\":\"{}\"}}",
        "x".repeat(100 * 1024)
    );
    assert_eq!(server.post_raw(&huge).await.status, 413);

    // Only the one valid request was created.
    let list = server.get("/operations").await;
    assert_eq!(list.body.as_array().unwrap().len(), 1, "{}", list.body);
}

#[tokio::test]
async fn an_unreadable_source_dir_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        Arc::new(FakeNode::new()).connector(),
        config(1),
        &tmp.path().join("d"),
    )
    .await;
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read_dir(&locked).is_ok() {
        // Running as root: permissions do not apply, nothing to test.
        return;
    }
    let resp = server.post(&import_body(&locked)).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.body["field"], "sourceDir");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn operations_beyond_the_pool_wait_pending_without_start_time() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let server = TestServer::start(node.connector(), config(2), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(server.submit_id(&import_body(&dir)).await);
    }
    eventually("two imports in flight", || node.entered() == 2).await;
    let mut states = Vec::new();
    for id in &ids {
        let r = server.get(&format!("/operations/{id}")).await.body;
        assert_operation(&r);
        states.push((
            r["state"].as_str().unwrap().to_string(),
            r.get("startTime").is_some(),
        ));
    }
    assert_eq!(
        states,
        vec![
            ("RUNNING".to_string(), true),
            ("RUNNING".to_string(), true),
            ("PENDING".to_string(), false),
            ("PENDING".to_string(), false)
        ]
    );
    assert_eq!(
        node.entered(),
        2,
        "no third import started while two workers are busy"
    );
    node.release_imports(4);
    for id in &ids {
        server.wait_state(id, "COMPLETED").await;
    }
    assert_eq!(node.calls().len(), 4);
}

#[tokio::test]
async fn list_filters_by_type_and_state_with_status_alias_newest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let running = server.submit_id(&import_body(&dir)).await;
    eventually("first import in flight", || node.entered() == 1).await;
    let pending = server.submit_id(&import_body(&dir)).await;
    let cancelled = server.submit_id(&import_body(&dir)).await;
    assert_eq!(
        server
            .delete(&format!("/operations/{cancelled}"))
            .await
            .status,
        202
    );

    let ids = |resp: &Resp| -> Vec<String> {
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_operation_list(&resp.body);
        resp.body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = server.get("/operations").await;
    assert_eq!(
        ids(&all),
        vec![cancelled.clone(), pending.clone(), running.clone()]
    );
    assert_eq!(ids(&server.get("/operations?type=import").await), ids(&all));
    assert_eq!(
        ids(&server.get("/operations?type=flush").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&server.get("/operations?state=RUNNING").await),
        vec![running.clone()]
    );
    assert_eq!(
        ids(&server.get("/operations?status=PENDING").await),
        vec![pending.clone()]
    );
    assert_eq!(
        ids(&server
            .get("/operations?state=PENDING&status=CANCELLED")
            .await),
        vec![cancelled.clone(), pending.clone()]
    );
    assert_eq!(
        ids(&server
            .get("/operations?type=flush&type=import&state=RUNNING&state=CANCELLED")
            .await),
        vec![cancelled.clone(), running.clone()]
    );
    let bad = server.get("/operations?state=DONE").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["field"], "state");
    node.release_imports(2);
    server.wait_state(&pending, "COMPLETED").await;
}

#[tokio::test]
async fn the_list_is_the_records_newest_first_and_follows_every_change() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let running = server.submit_id(&import_body(&dir)).await;
    eventually("first import in flight", || node.entered() == 1).await;
    let mut pending = Vec::new();
    for _ in 0..5 {
        pending.push(server.submit_id(&import_body(&dir)).await);
    }

    // The list is exactly the records GET by id shows, newest first, as JSON.
    let check = |expected_ids: Vec<String>| {
        let server = &server;
        async move {
            let list = server.get("/operations").await;
            assert_eq!(list.status, 200);
            assert_eq!(list.header("content-type"), Some("application/json"));
            let mut by_id = Vec::new();
            for id in &expected_ids {
                by_id.push(server.get(&format!("/operations/{id}")).await.body);
            }
            assert_eq!(list.body, Value::Array(by_id));
        }
    };
    let mut newest_first: Vec<String> = pending.iter().rev().cloned().collect();
    newest_first.push(running.clone());
    check(newest_first.clone()).await;
    // Served twice (the second time from the serialized copies): still the same.
    check(newest_first.clone()).await;

    // A change after the list was served shows in the next list.
    let cancelled = &pending[2];
    assert_eq!(
        server
            .delete(&format!("/operations/{cancelled}"))
            .await
            .status,
        202
    );
    let list = server.get("/operations").await;
    let states: Vec<(&str, &str)> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert!(
        states.contains(&(cancelled.as_str(), "CANCELLED")),
        "{states:?}"
    );
    check(newest_first.clone()).await;
    let filtered = server.get("/operations?state=CANCELLED").await;
    assert_eq!(filtered.body.as_array().unwrap().len(), 1);
    assert_eq!(filtered.body[0]["id"], cancelled.as_str());

    node.release_imports(5);
    for id in pending
        .iter()
        .chain([&running])
        .filter(|id| *id != cancelled)
    {
        server.wait_state(id, "COMPLETED").await;
    }
    let list = server.get("/operations?state=COMPLETED").await;
    assert!(list
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == running.as_str()));
    check(newest_first).await;
}

#[tokio::test]
async fn cancelling_a_pending_operation_is_immediate_and_it_never_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let first = server.submit_id(&import_body(&dir)).await;
    eventually("first import in flight", || node.entered() == 1).await;
    let second = server.submit_id(&import_body(&dir)).await;

    let resp = server.delete(&format!("/operations/{second}")).await;
    assert_eq!(resp.status, 202);
    assert_operation(&resp.body);
    assert_eq!(resp.body["state"], "CANCELLED");
    assert!(resp.body.get("startTime").is_none());

    node.release_imports(1);
    server.wait_state(&first, "COMPLETED").await;
    let after = server.get(&format!("/operations/{second}")).await.body;
    assert_eq!(after["state"], "CANCELLED");
    assert!(
        after.get("startTime").is_none(),
        "a cancelled PENDING operation never started"
    );
    assert_eq!(node.calls().len(), 1);

    // Cancelling a finished operation changes nothing: 202 as Icarus answers, with the record.
    let again = server.delete(&format!("/operations/{second}")).await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.body["id"], second.as_str());
    assert_eq!(again.body["state"], "CANCELLED");
}

#[tokio::test]
async fn cancelling_a_running_operation_stops_it_at_the_next_safe_point() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode {
        version_gate: Some(Arc::new(tokio::sync::Semaphore::new(0))),
        ..FakeNode::new()
    });
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let id = server.submit_id(&import_body(&dir)).await;
    eventually("version call in flight", || {
        node.versions_entered
            .load(std::sync::atomic::Ordering::SeqCst)
            == 1
    })
    .await;

    let resp = server.delete(&format!("/operations/{id}")).await;
    assert_eq!(resp.status, 202);
    assert_eq!(
        resp.body["state"], "RUNNING",
        "cancel of RUNNING waits for a safe point"
    );
    assert_eq!(resp.body["cancelRequested"], true);

    node.version_gate.as_ref().unwrap().add_permits(1);
    let done = server.wait_finished(&id).await;
    assert_eq!(done["state"], "CANCELLED");
    assert_eq!(done["progress"], json!(1.0));
    assert!(
        node.calls().is_empty(),
        "Cassandra was never asked to import"
    );
}

#[tokio::test]
async fn cancelling_during_the_jmx_call_is_noted_and_the_call_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let id = server.submit_id(&import_body(&dir)).await;
    eventually("import in flight", || node.entered() == 1).await;
    let in_flight = server.get(&format!("/operations/{id}")).await.body;
    assert_eq!(
        in_flight["progress"],
        json!(0.5),
        "preflight done, Cassandra not yet returned"
    );
    assert_eq!(in_flight["sstables"], 2);
    assert_eq!(in_flight["bytes"], 9954, "both nb sets, every component");

    let resp = server.delete(&format!("/operations/{id}")).await;
    assert_eq!(resp.status, 202);
    assert_eq!(resp.body["state"], "RUNNING");
    let note = resp.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        note.contains("importNewSSTables") && note.contains("not interrupted"),
        "{note}"
    );
    // A second DELETE changes nothing.
    let twice = server.delete(&format!("/operations/{id}")).await;
    assert_eq!(twice.status, 202);
    assert_eq!(twice.body["errors"].as_array().unwrap().len(), 1);

    node.release_imports(1);
    let done = server.wait_finished(&id).await;
    assert_eq!(
        done["state"], "COMPLETED",
        "the import ran to its end: {done}"
    );
    let after = server.delete(&format!("/operations/{id}")).await;
    assert_eq!(after.status, 202, "a finished operation is left as it is");
    assert_eq!(after.body["state"], "COMPLETED", "{}", after.body);
}

#[tokio::test]
async fn finished_operations_expire() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::gated());
    let config = EngineConfig {
        workers: 1,
        expiration: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let server = TestServer::start(node.connector(), config, &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let id = server.submit_id(&import_body(&dir)).await;
    eventually("import in flight", || node.entered() == 1).await;
    // Running operations do not expire, however long they take.
    let parsed = uuid::Uuid::parse_str(&id).unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        server.get(&format!("/operations/{id}")).await.body["state"],
        "RUNNING"
    );

    node.release_imports(1);
    server.wait_state(&id, "COMPLETED").await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.get(&format!("/operations/{id}")).await.status != 404 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "operation {id} never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.engine.journal().get(parsed).unwrap().is_none(),
        "expired from the journal too"
    );
    assert_eq!(server.get("/operations").await.body, json!([]));
}

#[tokio::test]
async fn request_flags_reach_the_import_call_with_the_right_booleans() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(1), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let other = copy_fixture(
        "sstable-transformer-input-five/spark_test/test3",
        tmp.path(),
    );

    // (request flags, expected call: reset, clear, verify, tokens, caches, extended, copy)
    let cases = vec![
        (json!({}), [true, true, true, true, true, false, true]),
        (
            json!({"keepLevel": true}),
            [false, true, true, true, true, false, true],
        ),
        (
            json!({"keepRepaired": true}),
            [true, false, true, true, true, false, true],
        ),
        (
            json!({"noVerify": true}),
            [true, true, false, true, true, false, true],
        ),
        (
            json!({"noVerifyTokens": true}),
            [true, true, true, false, true, false, true],
        ),
        (
            json!({"noInvalidateCaches": true}),
            [true, true, true, true, false, false, true],
        ),
        (
            json!({"extendedVerify": true}),
            [true, true, true, true, true, true, true],
        ),
        (
            json!({"copyData": false}),
            [true, true, true, true, true, false, false],
        ),
        (
            json!({"quick": true}),
            [true, true, false, false, false, false, true],
        ),
        (
            json!({"keepLevel": true, "keepRepaired": true, "noVerify": true, "noVerifyTokens": true,
                   "noInvalidateCaches": true, "extendedVerify": true, "copyData": false}),
            [false, false, false, false, false, true, false],
        ),
    ];
    for (i, (flags, expected)) in cases.iter().enumerate() {
        let mut body = import_body(&dir);
        for (k, v) in flags.as_object().unwrap() {
            body[k] = v.clone();
        }
        let record = server.submit(&body).await;
        let id = record["id"].as_str().unwrap();
        if flags["quick"] == true {
            for f in ["noVerify", "noVerifyTokens", "noInvalidateCaches"] {
                assert_eq!(record[f], true, "quick sets {f} in the record");
            }
        }
        server.wait_state(id, "COMPLETED").await;
        let calls = node.calls();
        let call = &calls[i].2;
        let got = [
            call.reset_level,
            call.clear_repaired,
            call.verify_sstables,
            call.verify_tokens,
            call.invalidate_caches,
            call.extended_verify,
            call.copy_data,
        ];
        assert_eq!(&got, expected, "flags {flags}");
    }

    // tablePath, when given, is the directory imported.
    let mut body = import_body(&dir);
    body["tablePath"] = json!(other);
    let record = server.submit(&body).await;
    assert_eq!(record["tablePath"], other.to_str().unwrap());
    server
        .wait_state(record["id"].as_str().unwrap(), "COMPLETED")
        .await;
    let last = node.calls().last().unwrap().2.clone();
    assert_eq!(
        last.src_paths,
        vec![other.canonicalize().unwrap().to_string_lossy().into_owned()]
    );
}

/// The schema check used everywhere above can fail: a record that breaks the Icarus contract is
/// caught.
#[test]
fn the_schema_check_rejects_records_that_break_the_contract() {
    let good = json!({
        "type": "import", "id": "6f1c3a52-8a0e-4c8e-9d53-1f0d0c6b7e11", "state": "PENDING",
        "progress": 0.0, "creationTime": "2026-11-28T21:39:41.123Z", "errors": [],
        "keyspace": "k", "table": "t", "sourceDir": "/d", "keepLevel": false, "keepRepaired": false,
        "noVerify": false, "noVerifyTokens": false, "noInvalidateCaches": false, "quick": false,
        "extendedVerify": false, "copyData": true
    });
    assert_operation(&good);
    let broken = |field: &str, value: Value| {
        let mut bad = good.clone();
        bad[field] = value;
        std::panic::catch_unwind(|| assert_operation(&bad)).is_err()
    };
    assert!(broken("state", json!("DONE")));
    assert!(broken("progress", json!("0.5")));
    assert!(broken("creationTime", json!("yesterday")));
    assert!(broken("creationTime", json!("2026-11-28T21:39:41Z")));
    assert!(broken("errors", json!([{"source": 1}])));
    assert!(broken("sourceDir", json!(5)));
    assert!(
        broken("startTime", json!("2026-11-28T21:39:41.123Z")),
        "PENDING with startTime"
    );
}

/// A chosen id (`Daedalus-Operation-Id`): the first submission creates the operation (201), the
/// same id again returns it (200) without running anything new, the same id with another type is
/// a 409, a malformed id a 400 naming the header; a cluster-wide request needs the plan store
/// the binary opens (400 here, on an in-process server without one).
#[tokio::test]
async fn a_chosen_operation_id_makes_a_second_submission_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config(2), &tmp.path().join("data")).await;
    let dir = copy_fixture(NB_SETS, tmp.path());
    let http = testkit::http_client();
    let id = uuid::Uuid::new_v4().to_string();
    let post = |header: String, body: Value| {
        let request = http
            .post(format!("http://{}/operations", server.addr))
            .header(daedalus_client::OPERATION_ID_HEADER, header)
            .json(&body);
        async move {
            let resp = request.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = post(id.clone(), import_body(&dir)).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["id"], id.as_str());
    server.wait_state(&id, "COMPLETED").await;
    let (status, again) = post(id.clone(), import_body(&dir)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["state"], "COMPLETED");
    assert_eq!(node.calls().len(), 1, "ran once");
    let (status, other) = post(id.clone(), json!({"type": "flush", "keyspace": "ks"})).await;
    assert_eq!(status, 409, "{other}");
    let (status, bad) = post(
        "not-a-uuid".into(),
        json!({"type": "flush", "keyspace": "ks"}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["field"], daedalus_client::OPERATION_ID_HEADER);

    let global = server
        .post(&json!({"type": "flush", "keyspace": "ks", "globalRequest": true}))
        .await;
    assert_eq!(global.status, 400, "{}", global.body);
    assert_eq!(global.body["field"], "globalRequest");
    let global_restore = server
        .post(&json!({"type": "restore", "storageLocation": "s3://bucket",
                      "snapshotTag": "snap1", "restorationStrategyType": "IMPORT",
                      "restorationPhase": "INIT", "globalRequest": true,
                      "import": {"type": "import", "sourceDir": "/tmp/src"}}))
        .await;
    assert_eq!(global_restore.status, 400, "{}", global_restore.body);
    assert_eq!(global_restore.body["field"], "globalRequest");
    let refused = server
        .post(&json!({"type": "decommission", "globalRequest": true}))
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("never cluster-wide"),
        "{}",
        refused.body
    );
}
