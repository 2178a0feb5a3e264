//! The operator commands through `run_with`, parsed from real argument lists, against the fake
//! API, with stdout and stderr captured.

use crate::common::{cancelled, completes, fails, Fake};
use clap::Parser;
use daedalus_client::cli::{exit, run_with, Cli, Output, ProgressMode};
use serde_json::{json, Value};

struct Run {
    code: u8,
    out: String,
    err: String,
}

async fn run(fake_url: &str, args: &[&str]) -> Run {
    let argv = ["daedalus", "--url", fake_url]
        .into_iter()
        .chain(args.iter().copied());
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = run_with(
        cli.global,
        cli.command,
        Output {
            out: &mut out,
            err: &mut err,
            progress: ProgressMode::Hidden,
        },
    )
    .await;
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

const IMPORT: &[&str] = &[
    "op",
    "submit",
    "import",
    "--keyspace",
    "ks",
    "--table",
    "t",
    "--source-dir",
    "/data/in",
    "--quick",
    "--wait",
    "--poll-interval-ms",
    "10",
];

#[tokio::test]
async fn submit_wait_completed_exits_zero_and_shows_the_record() {
    let fake = Fake::start().await;
    fake.script(completes());
    let r = run(&fake.url, IMPORT).await;
    assert_eq!(r.code, exit::OK, "out: {}\nerr: {}", r.out, r.err);
    assert!(r.out.contains("COMPLETED"), "{}", r.out);
    assert!(r.out.contains("100%"), "{}", r.out);
    assert!(r.out.contains("sourceDir"), "{}", r.out);
    // Without a terminal the progress is one line per state change.
    assert!(r.err.contains("RUNNING 50%"), "{}", r.err);
    let body = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .unwrap()
        .body
        .unwrap();
    assert_eq!(
        body,
        json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/data/in", "quick": true})
    );
}

#[tokio::test]
async fn submit_wait_failed_exits_with_failed_code_and_prints_the_cause() {
    let fake = Fake::start().await;
    fake.script(fails());
    let r = run(&fake.url, IMPORT).await;
    assert_eq!(r.code, exit::FAILED, "out: {}\nerr: {}", r.out, r.err);
    assert!(
        r.err
            .contains("FAILED: java.lang.RuntimeException: Failed importing SSTables"),
        "{}",
        r.err
    );
    let all = format!("{}{}", r.out, r.err);
    assert!(
        all.contains("java.lang.RuntimeException: Failed importing SSTables"),
        "{all}"
    );
    assert!(
        all.contains("at org.apache.cassandra.db.ColumnFamilyStore.importNewSSTables(ColumnFamilyStore.java:745)"),
        "{all}"
    );
    assert!(
        all.contains("Caused by: java.io.IOException: Corrupt sstable nb-1-big"),
        "{all}"
    );
}

#[tokio::test]
async fn failed_cause_is_printed_on_stderr_in_json_mode() {
    let fake = Fake::start().await;
    fake.script(fails());
    let mut args = vec!["--json"];
    args.extend_from_slice(IMPORT);
    let r = run(&fake.url, &args).await;
    assert_eq!(r.code, exit::FAILED);
    let record: Value = serde_json::from_str(&r.out).expect("stdout is JSON");
    assert_eq!(record["state"], json!("FAILED"));
    assert!(
        r.err
            .contains("Caused by: java.io.IOException: Corrupt sstable nb-1-big"),
        "{}",
        r.err
    );
}

#[tokio::test]
async fn submit_wait_cancelled_exits_with_cancelled_code() {
    let fake = Fake::start().await;
    fake.script(cancelled());
    let r = run(&fake.url, IMPORT).await;
    assert_eq!(r.code, exit::CANCELLED, "out: {}\nerr: {}", r.out, r.err);
    assert!(r.err.contains("CANCELLED"), "{}", r.err);
    assert_ne!(exit::CANCELLED, exit::FAILED);
}

#[tokio::test]
async fn get_wait_follows_an_existing_operation() {
    let fake = Fake::start().await;
    fake.script(fails());
    let submitted = run(
        &fake.url,
        &["--json", "op", "submit", "flush", "--keyspace", "ks"],
    )
    .await;
    assert_eq!(submitted.code, exit::OK, "{}", submitted.err);
    let id = serde_json::from_str::<Value>(&submitted.out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = run(
        &fake.url,
        &["op", "get", &id, "--wait", "--poll-interval-ms", "10"],
    )
    .await;
    assert_eq!(r.code, exit::FAILED, "{}", r.err);
    assert!(r.out.contains(&id), "{}", r.out);
}

#[tokio::test]
async fn bad_request_prints_the_field_and_exits_with_api_error() {
    let fake = Fake::start().await;
    let r = run(
        &fake.url,
        &["op", "submit", "import", "--keyspace", "ks", "--table", "t"],
    )
    .await;
    assert_eq!(r.code, exit::API_ERROR);
    assert!(r.err.contains("400"), "{}", r.err);
    assert!(r.err.contains("sourceDir"), "{}", r.err);
    assert!(r.err.contains("sourceDir is required"), "{}", r.err);
    assert!(r.out.is_empty(), "{}", r.out);
}

#[tokio::test]
async fn unknown_id_exits_with_api_error() {
    let fake = Fake::start().await;
    let r = run(
        &fake.url,
        &["op", "get", "6b7c0e38-0000-4000-8000-000000000000"],
    )
    .await;
    assert_eq!(r.code, exit::API_ERROR);
    assert!(r.err.contains("404"), "{}", r.err);
}

#[tokio::test]
async fn list_table_contains_the_ids_and_json_parses() {
    let fake = Fake::start().await;
    let mut ids = Vec::new();
    for ks in ["a", "b"] {
        let r = run(
            &fake.url,
            &["--json", "op", "submit", "flush", "--keyspace", ks],
        )
        .await;
        ids.push(
            serde_json::from_str::<Value>(&r.out).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let table = run(&fake.url, &["op", "list"]).await;
    assert_eq!(table.code, exit::OK);
    let lines: Vec<&str> = table.out.lines().collect();
    assert!(lines[0].starts_with("ID "), "{}", table.out);
    assert!(lines[0].contains("STATE"), "{}", table.out);
    assert_eq!(lines.len(), 3, "{}", table.out);
    for id in &ids {
        assert!(table.out.contains(id.as_str()), "{}", table.out);
    }
    // Newest first, columns aligned: the STATE column starts at the same offset on every line.
    assert!(lines[1].starts_with(&ids[1]));
    let col = lines[0].find("STATE").unwrap();
    assert!(lines[1][col..].starts_with("PENDING"), "{}", table.out);

    let json = run(
        &fake.url,
        &[
            "--json", "op", "list", "--type", "flush", "--state", "pending",
        ],
    )
    .await;
    let parsed: Value = serde_json::from_str(&json.out).expect("JSON output parses");
    assert_eq!(parsed.as_array().unwrap().len(), 2);
    let query = fake
        .seen()
        .into_iter()
        .rev()
        .find(|s| s.path == "/operations" && s.method == "GET")
        .unwrap()
        .query;
    assert_eq!(query.as_deref(), Some("type=flush&state=PENDING"));
}

#[tokio::test]
async fn list_rejects_an_unknown_state_before_calling() {
    let fake = Fake::start().await;
    let r = run(&fake.url, &["op", "list", "--state", "DONE"]).await;
    assert_eq!(r.code, exit::USAGE);
    assert!(r.err.contains("unknown state"), "{}", r.err);
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn cancel_reports_the_new_state() {
    let fake = Fake::start().await;
    fake.script(cancelled());
    let s = run(&fake.url, &["--json", "op", "submit", "drain"]).await;
    let id = serde_json::from_str::<Value>(&s.out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = run(&fake.url, &["op", "cancel", &id]).await;
    assert_eq!(r.code, exit::OK, "{}", r.err);
    assert!(
        r.out.contains(&id) && r.out.contains("CANCELLED"),
        "{}",
        r.out
    );
    let again = run(&fake.url, &["op", "cancel", &id]).await;
    assert_eq!(again.code, exit::API_ERROR);
    assert!(again.err.contains("409"), "{}", again.err);
}

#[tokio::test]
async fn token_flag_is_sent_as_bearer() {
    let fake = Fake::start().await;
    fake.require_token("t0k");
    let r = run(&fake.url, &["--token", "t0k", "status"]).await;
    assert_eq!(r.code, exit::OK, "{}", r.err);
    assert_eq!(fake.seen()[0].authorization.as_deref(), Some("Bearer t0k"));
    let denied = run(&fake.url, &["status"]).await;
    assert_eq!(denied.code, exit::API_ERROR);
    assert!(denied.err.contains("401"), "{}", denied.err);
}

#[tokio::test]
async fn status_topology_and_version_tables_and_json() {
    let fake = Fake::start().await;
    let s = run(&fake.url, &["status"]).await;
    assert_eq!(s.code, exit::OK);
    assert!(
        s.out.contains("nodeState") && s.out.contains("NORMAL"),
        "{}",
        s.out
    );

    let t = run(&fake.url, &["topology"]).await;
    assert_eq!(t.code, exit::OK);
    assert!(t.out.contains("test-cluster"), "{}", t.out);
    assert!(
        t.out.contains("node-a") && t.out.contains("10.0.0.2"),
        "{}",
        t.out
    );

    let t = run(&fake.url, &["--json", "topology", "dc1"]).await;
    let parsed: Value = serde_json::from_str(&t.out).unwrap();
    assert_eq!(parsed["topology"].as_array().unwrap().len(), 1);
    assert_eq!(parsed["clusterName"], json!("test-cluster"));

    let v = run(&fake.url, &["version"]).await;
    assert_eq!(v.code, exit::OK);
    assert!(
        v.out.contains("4.1.5") && v.out.contains("daedalus 0.1.0"),
        "{}",
        v.out
    );
}

#[tokio::test]
async fn unreachable_sidecar_has_its_own_exit_code() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let r = run(&url, &["status"]).await;
    assert_eq!(r.code, exit::UNREACHABLE);
    assert!(r.err.contains("connection refused"), "{}", r.err);
}

#[tokio::test]
async fn wait_rides_out_a_sidecar_that_is_briefly_unavailable() {
    let fake = Fake::start().await;
    fake.script(vec![
        json!({"state": "RUNNING", "progress": 0.5}),
        json!({"__status": 503}),
        json!({"__status": 502}),
        json!({"state": "COMPLETED", "progress": 1.0}),
    ]);
    let r = run(&fake.url, IMPORT).await;
    assert_eq!(r.code, exit::OK, "out: {}\nerr: {}", r.out, r.err);
    assert!(r.err.contains("retrying (1/5)"), "{}", r.err);
    assert!(r.err.contains("retrying (2/5)"), "{}", r.err);
}

#[tokio::test]
async fn wait_gives_up_after_too_many_transient_failures() {
    let fake = Fake::start().await;
    let mut script = vec![json!({"state": "RUNNING", "progress": 0.5})];
    script.extend(vec![json!({"__status": 503}); 6]);
    script.push(json!({"state": "COMPLETED", "progress": 1.0}));
    fake.script(script);
    let r = run(&fake.url, IMPORT).await;
    assert_eq!(r.code, exit::API_ERROR, "out: {}\nerr: {}", r.out, r.err);
    assert!(r.err.contains("retrying (5/5)"), "{}", r.err);
    assert!(r.err.contains("error: HTTP 503"), "{}", r.err);
}

#[tokio::test]
async fn wait_does_not_retry_an_unknown_id() {
    let fake = Fake::start().await;
    let r = run(
        &fake.url,
        &[
            "op",
            "get",
            "6b7c0e38-0000-4000-8000-000000000000",
            "--wait",
        ],
    )
    .await;
    assert_eq!(r.code, exit::API_ERROR);
    assert!(!r.err.contains("retrying"), "{}", r.err);
    assert_eq!(fake.seen().len(), 1);
}
