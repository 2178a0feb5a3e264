//! The library client against the in-process fake API.

use std::time::Duration;

use crate::common::{cancelled, completes, fails, Fake};
use daedalus_client::{Client, ClientConfig, ClientError, ImportRequest, OperationState};
use serde_json::json;

fn client(url: &str) -> Client {
    Client::new(ClientConfig {
        url: url.to_string(),
        timeout: Duration::from_secs(10),
        ..Default::default()
    })
    .unwrap()
}

fn import() -> ImportRequest {
    ImportRequest {
        keyspace: "ks".into(),
        table: "t".into(),
        source_dir: "/data/in".into(),
        quick: Some(true),
        ..Default::default()
    }
}

#[tokio::test]
async fn submit_get_and_wait_through_completed() {
    let fake = Fake::start().await;
    fake.script(completes());
    let c = client(&fake.url);
    let op = c.submit(&import().to_json()).await.unwrap();
    assert_eq!(op.kind, "import");
    assert_eq!(op.state, OperationState::Pending);
    assert_eq!(op.field_str("sourceDir"), Some("/data/in"));
    assert_eq!(op.extra.get("quick"), Some(&json!(true)));

    let posted = fake
        .seen()
        .into_iter()
        .find(|s| s.method == "POST")
        .unwrap();
    assert_eq!(posted.path, "/operations");
    assert_eq!(
        posted.body.unwrap(),
        json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/data/in", "quick": true})
    );

    let mut states = Vec::new();
    let done = c
        .wait(&op.id, Duration::from_millis(1), |o| {
            states.push((o.state.clone(), o.progress))
        })
        .await
        .unwrap();
    assert_eq!(done.state, OperationState::Completed);
    assert_eq!(done.progress, 1.0);
    assert_eq!(
        done.completion_time.as_deref(),
        Some("2026-01-01T00:00:02.000Z")
    );
    assert_eq!(
        states,
        vec![
            (OperationState::Running, 0.5),
            (OperationState::Completed, 1.0)
        ]
    );
}

#[tokio::test]
async fn wait_returns_failed_record_with_its_cause() {
    let fake = Fake::start().await;
    fake.script(fails());
    let c = client(&fake.url);
    let op = c
        .submit(&json!({"type": "flush", "keyspace": "ks"}))
        .await
        .unwrap();
    let done = c
        .wait(&op.id, Duration::from_millis(1), |_| {})
        .await
        .unwrap();
    assert_eq!(done.state, OperationState::Failed);
    let cause = done.failure_cause.unwrap();
    assert_eq!(cause["class"], json!("java.lang.RuntimeException"));
    assert_eq!(cause["cause"]["class"], json!("java.io.IOException"));
}

#[tokio::test]
async fn cancel_turns_a_running_operation_cancelled_and_a_finished_one_is_409() {
    let fake = Fake::start().await;
    fake.script(cancelled());
    let c = client(&fake.url);
    let op = c.submit(&json!({"type": "drain"})).await.unwrap();
    let cancelled = c.cancel(&op.id).await.unwrap();
    assert_eq!(cancelled.id, op.id);
    assert_eq!(cancelled.state, OperationState::Cancelled);
    let seen = fake.seen();
    let delete = seen.iter().find(|s| s.method == "DELETE").unwrap();
    assert_eq!(delete.path, format!("/operations/{}", op.id));

    let again = c.cancel(&op.id).await.unwrap_err();
    assert_eq!(again.status(), Some(409), "{again}");
}

#[tokio::test]
async fn list_sends_repeated_type_and_state_filters() {
    let fake = Fake::start().await;
    let c = client(&fake.url);
    let a = c
        .submit(&json!({"type": "flush", "keyspace": "a"}))
        .await
        .unwrap();
    let b = c
        .submit(&json!({"type": "cleanup", "keyspace": "b"}))
        .await
        .unwrap();
    let _ = c.submit(&json!({"type": "drain"})).await.unwrap();

    let all = c.list(&[], &[]).await.unwrap();
    assert_eq!(all.len(), 3);

    let some = c
        .list(
            &["flush".to_string(), "cleanup".to_string()],
            &[OperationState::Pending],
        )
        .await
        .unwrap();
    let ids: Vec<&str> = some.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, vec![b.id.as_str(), a.id.as_str()]);
    let query = fake
        .seen()
        .into_iter()
        .rev()
        .find(|s| s.method == "GET" && s.path == "/operations")
        .unwrap()
        .query
        .unwrap();
    assert_eq!(query, "type=flush&type=cleanup&state=PENDING");
}

#[tokio::test]
async fn bad_request_surfaces_status_field_and_message() {
    let fake = Fake::start().await;
    let c = client(&fake.url);
    let err = c
        .submit(&json!({"type": "import", "keyspace": "ks", "table": "t"}))
        .await
        .unwrap_err();
    match &err {
        ClientError::Api {
            status,
            error,
            field,
            message,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error.as_deref(), Some("invalid_request"));
            assert_eq!(field.as_deref(), Some("sourceDir"));
            assert_eq!(message, "sourceDir is required");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("field `sourceDir`"), "{err}");
}

#[tokio::test]
async fn unknown_id_is_404() {
    let fake = Fake::start().await;
    let err = client(&fake.url)
        .get("6b7c0e38-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("no operation with id"), "{err}");
}

#[tokio::test]
async fn token_is_sent_as_bearer_and_a_missing_one_is_401() {
    let fake = Fake::start().await;
    fake.require_token("s3cret");
    let with = Client::new(ClientConfig {
        url: fake.url.clone(),
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .unwrap();
    with.status().await.unwrap();
    assert_eq!(
        fake.seen().last().unwrap().authorization.as_deref(),
        Some("Bearer s3cret")
    );

    let without = client(&fake.url);
    let err = without.status().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(fake.seen().last().unwrap().authorization, None);
}

#[tokio::test]
async fn read_endpoints_decode() {
    let fake = Fake::start().await;
    let c = client(&fake.url);
    assert_eq!(
        c.status().await.unwrap().node_state.as_deref(),
        Some("NORMAL")
    );
    let topo = c.topology(None).await.unwrap();
    assert_eq!(topo.cluster_name.as_deref(), Some("test-cluster"));
    assert_eq!(topo.topology.len(), 2);
    let dc2 = c.topology(Some("dc2")).await.unwrap();
    assert_eq!(dc2.topology.len(), 1);
    assert_eq!(dc2.topology[0].hostname.as_deref(), Some("node-b"));
    let v = c.versions().await.unwrap();
    assert_eq!(v.cassandra.unwrap().to_string(), "4.1.5");
    assert_eq!(
        v.schema.as_deref(),
        Some("329319a5-cc1b-3db3-8001-c179b4063d04")
    );
    assert_eq!(v.sidecar.version.as_deref(), Some("daedalus 0.1.0"));

    fake.set_node_down();
    let v = c.versions().await.unwrap();
    assert!(v.cassandra.is_none());
    assert!(v.schema.is_none());
}

#[tokio::test]
async fn connection_refused_is_typed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}"))
        .status()
        .await
        .unwrap_err();
    match &err {
        ClientError::Connect { reason, .. } => assert_eq!(reason, "connection refused"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_unreachable());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let c = Client::new(ClientConfig {
        url: format!("http://{addr}"),
        timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .unwrap();
    let err = c.status().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    holder.abort();
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_error() {
    let fake = Fake::start().await;
    let url = fake.url.replace("http://", "https://");
    let err = client(&url).status().await.unwrap_err();
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn ids_cannot_escape_the_operations_path() {
    let fake = Fake::start().await;
    let err = client(&fake.url).get("../status").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let seen = fake.seen();
    assert_eq!(seen.last().unwrap().path, "/operations/%2E%2E%2Fstatus");
}
