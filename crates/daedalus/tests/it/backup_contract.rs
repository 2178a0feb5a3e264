//! The Icarus contract's `BackupOperationRequest`, with every property it declares, is accepted
//! unchanged, and the record matches the contract's `BackupOperationResponse`.

use std::sync::Arc;

use daedalus::engine::EngineConfig;
use daedalus::operations::OperationSettings;
use serde_json::{json, Map, Value};

use crate::common::spec::icarus;
use crate::common::*;

/// A value of the declared type for each property of the contract's request.
fn contract_body() -> Value {
    let schema = &icarus()["components"]["schemas"]["BackupOperationRequest"]["properties"];
    let mut body = Map::new();
    for (name, property) in schema.as_object().expect("properties") {
        let value = match (name.as_str(), property["type"].as_str()) {
            ("type", _) => json!("backup"),
            ("storageLocation", _) => json!("s3://my-bucket/dev-cluster/dc1/node1"),
            ("duration", _) => json!("1 hour"),
            ("entities", _) => json!("ks1,ks2"),
            ("snapshotTag", _) => json!("mySnapshot"),
            ("dc", _) => json!("dc1"),
            ("k8sSecretName", _) => json!("creds"),
            ("metadataDirective", _) => json!("COPY"),
            ("bandwidth", _) => json!({"value": 10, "unit": "MBPS", "description": "10 MBPS"}),
            ("proxySettings", _) => json!({"useProxy": "true", "proxyHost": "proxy.local",
                "proxyPort": "3128", "proxyUsername": "u", "proxyPassword": "p",
                "proxyProtocol": "HTTP"}),
            ("retry", _) => json!({"interval": 5, "strategy": "LINEAR", "maxAttempts": 2,
                "enabled": true}),
            (_, Some("boolean")) => json!(false),
            (_, Some("integer")) => json!(2),
            (_, Some("string")) => json!("x"),
            (other, kind) => panic!("property {other} of type {kind:?} has no sample"),
        };
        body.insert(name.clone(), value);
    }
    Value::Object(body)
}

#[tokio::test]
async fn the_contract_backup_request_is_accepted_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = tmp.path().join("secrets");
    std::fs::create_dir_all(secrets.join("creds")).unwrap();
    let config = EngineConfig {
        workers: 1,
        operations: OperationSettings {
            backup_secrets_dir: Some(secrets),
            ..OperationSettings::default()
        },
        ..EngineConfig::default()
    };
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config, &tmp.path().join("j")).await;
    let body = contract_body();
    assert!(body.as_object().unwrap().len() >= 19, "{body}");
    // `submit` checks 201 and the record against the contract's BackupOperationResponse.
    let record = server.submit(&body).await;
    assert_eq!(record["type"], "backup");
    for field in [
        "storageLocation",
        "snapshotTag",
        "entities",
        "k8sSecretName",
        "dc",
    ] {
        assert_eq!(record[field], body[field], "{field} as shown: {record}");
    }
    // The same span, with the unit's canonical name.
    assert_eq!(record["duration"], "1 HOURS");
    let shown = server
        .get(&format!("/operations/{}", record["id"].as_str().unwrap()))
        .await
        .body;
    assert_operation(&shown);
}

/// With `--allowed-root`, a `file://` bucket outside the roots is refused for every backup type
/// (the sidecar writes and deletes there).
#[tokio::test]
async fn file_locations_stay_inside_the_allowed_roots() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let config = EngineConfig {
        workers: 1,
        policy: daedalus::operations::ValidationPolicy {
            allowed_roots: vec![root.clone()],
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let node = Arc::new(FakeNode::new());
    let server = TestServer::start(node.connector(), config, &tmp.path().join("j")).await;
    let outside = format!("file://{}/b/c/d/n", tmp.path().join("elsewhere").display());
    let climbing = format!("file://{}/../b/c/d/n", root.display());
    let inside = format!("file://{}/b/c/d/n", root.display());
    for kind in ["backup", "list", "remove-backup"] {
        for location in [&outside, &climbing] {
            let resp = server
                .post(&json!({"type": kind, "storageLocation": location, "removeOldest": true}))
                .await;
            assert_eq!(resp.status, 400, "{kind} {location}: {}", resp.body);
            assert_eq!(resp.body["field"], "storageLocation");
            assert!(resp.body["message"]
                .as_str()
                .unwrap()
                .contains("allowed root"));
        }
    }
    let resp = server
        .post(&json!({"type": "list", "storageLocation": inside}))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
}
