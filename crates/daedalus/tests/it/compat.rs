//! Byte compatibility of the API across refactorings: the record JSON of each storage type's
//! submission and final state against the Java test node, cluster-wide submissions, and the
//! error bodies of refused requests, compared with `tests/data/fixtures/compat/records.json`.
//!
//! Values that differ from run to run (ids, times, the temporary directory, the schema version
//! and the millis of a full tag, a port) are replaced by placeholders before comparing.
//! `DAEDALUS_RECORD_COMPAT=1` (or a missing fixture) writes the fixture instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use daedalus::operations::cluster::plan::PlanStore;
use daedalus::operations::cluster::settings::{Coordination, PeerSettings};
use daedalus::operations::OperationSettings;
use serde_json::{json, Map, Value};

use crate::backup_file::setup;
use crate::common::*;

fn fixture() -> PathBuf {
    shared_dir().join("fixtures/compat/records.json")
}

/// Replaces what differs between runs.
struct Normalizer {
    replacements: Vec<(String, String)>,
}

impl Normalizer {
    fn value(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let volatile = matches!(
                        k.as_str(),
                        "id" | "creationTime" | "startTime" | "completionTime" | "timestamp"
                    );
                    let v = if volatile && !v.is_null() {
                        Value::from("<volatile>")
                    } else {
                        self.value(v)
                    };
                    out.insert(k.clone(), v);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::String(s) => Value::from(self.text(s)),
            other => other.clone(),
        }
    }

    fn text(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (from, to) in &self.replacements {
            s = s.replace(from.as_str(), to);
        }
        s
    }
}

/// Every case: a name and what was answered.
#[derive(Default)]
struct Recorded(Map<String, Value>);

impl Recorded {
    fn add(&mut self, name: &str, value: Value) {
        self.0.insert(name.to_string(), value);
    }
}

/// Submits and waits for the end, without checking the answers against the contract's schema:
/// what is compared is what was answered, schema or not.
async fn submit_and_finish(server: &TestServer, body: &Value) -> (Value, Value) {
    let resp = server.post(body).await;
    assert_eq!(resp.status, 201, "{body}: {}", resp.body);
    let submitted = resp.body;
    let path = format!("/operations/{}", submitted["id"].as_str().unwrap());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let record = server.get(&path).await.body;
        if matches!(
            record["state"].as_str(),
            Some("COMPLETED" | "FAILED" | "CANCELLED")
        ) {
            return (submitted, record);
        }
        assert!(tokio::time::Instant::now() < deadline, "{record}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn records_and_error_bodies_are_as_recorded() {
    let dead = dead_address();
    let settings = {
        let plans = tempfile::tempdir().unwrap();
        let store = PlanStore::open(&plans.path().join("plans.db")).unwrap();
        // The directory must outlive the test: the store keeps its file open.
        std::mem::forget(plans);
        OperationSettings {
            cluster: Some(Coordination {
                peers: PeerSettings {
                    scheme: "http".into(),
                    port: dead.port(),
                    token: None,
                    ca: None,
                    timeout: Duration::from_millis(300),
                },
                plans: Arc::new(store),
            }),
            ..OperationSettings::default()
        }
    };
    let setup = setup(settings).await;
    let server = &setup.server;
    let location = setup.location();
    let mut recorded = Recorded::default();

    let proxy = json!({"useProxy": false, "proxyHost": "proxy", "proxyPort": 3128,
                       "proxyUsername": "u", "proxyPassword": "hunter2-secret"});
    let backup = json!({
        "type": "backup", "storageLocation": location, "snapshotTag": "snap1",
        "entities": "spark_test", "createMissingBucket": true, "skipRefreshing": false,
        "uploadClusterTopology": true, "concurrentConnections": 2,
        "bandwidth": {"value": 100, "unit": "MBPS"}, "duration": "1 HOURS", "timeout": 2,
        "retry": {"interval": 1, "strategy": "EXPONENTIAL", "maxAttempts": 2, "enabled": true},
        "metadataDirective": "COPY", "insecure": false, "globalRequest": false, "dc": null,
        "k8sNamespace": "default", "schemaVersion": "ignored", "proxySettings": proxy,
        "someFieldEsopDoesNotKnow": {"ignored": true}
    });
    let (submitted, done) = submit_and_finish(server, &backup).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let full_tag = done["snapshotName"].as_str().unwrap().to_string();
    recorded.add("backup.submitted", submitted);
    recorded.add("backup.final", done);

    let list = json!({"type": "list", "storageLocation": location, "lastN": 0,
                      "proxySettings": proxy});
    let (submitted, done) = submit_and_finish(server, &list).await;
    recorded.add("list.submitted", submitted);
    recorded.add("list.final", done);

    let remove = json!({"type": "remove-backup", "storageLocation": location,
                        "backupName": full_tag, "dry": true});
    let (submitted, done) = submit_and_finish(server, &remove).await;
    recorded.add("remove-backup.submitted", submitted);
    recorded.add("remove-backup.final", done);

    let src = setup.tmp.path().join("restore-src");
    let restore = json!({
        "type": "restore", "storageLocation": location, "snapshotTag": "snap1",
        "restorationStrategyType": "import", "restorationPhase": "download",
        "entities": "spark_test.test3", "concurrentConnections": 1, "timeout": 1,
        "import": {"type": "import", "sourceDir": src}, "proxySettings": proxy,
        "retry": {"enabled": true, "maxAttempts": 2}
    });
    let (submitted, done) = submit_and_finish(server, &restore).await;
    recorded.add("restore.submitted", submitted);
    recorded.add("restore.final", done);

    let flush = json!({"type": "flush", "keyspace": "spark_test"});
    let (submitted, done) = submit_and_finish(server, &flush).await;
    recorded.add("flush.submitted", submitted);
    recorded.add("flush.final", done);

    // Cluster-wide: the record of the submission (the peers are unreachable on purpose).
    for (name, body) in [
        (
            "global-backup",
            json!({"type": "backup", "storageLocation": "s3://gbucket",
                   "snapshotTag": "g1", "globalRequest": true, "proxySettings": proxy,
                   "createMissingBucket": true, "timeout": 3}),
        ),
        (
            "global-restore",
            json!({"type": "restore", "storageLocation": "s3://gbucket",
                   "snapshotTag": "g1", "restorationStrategyType": "HARDLINKS",
                   "restorationPhase": "INIT", "globalRequest": true, "proxySettings": proxy,
                   "import": {"type": "import", "sourceDir": src}}),
        ),
        (
            "global-cleanup",
            json!({"type": "cleanup", "keyspace": "spark_test", "globalRequest": true,
                   "concurrency": 2, "dc": "dc1", "timeout": "90s"}),
        ),
    ] {
        let (submitted, done) = submit_and_finish(server, &body).await;
        recorded.add(&format!("{name}.submitted"), submitted);
        recorded.add(&format!("{name}.final.state"), done["state"].clone());
    }

    // Refusals: status and body.
    let refused = [
        json!({"type": "backup"}),
        json!({"type": "backup", "storageLocation": "ftp://x"}),
        json!({"type": "backup", "storageLocation": location, "retry": {"strategy": "SIDEWAYS"}}),
        json!({"type": "backup", "storageLocation": location, "concurrentConnections": 0}),
        json!({"type": "backup", "storageLocation": location, "k8sSecretName": "creds"}),
        json!({"type": "backup", "storageLocation": location, "proxySettings": {"useProxy": true}}),
        json!({"type": "backup", "storageLocation": location, "globalRequest": true, "concurrency": "every"}),
        json!({"type": "list", "storageLocation": location, "lastN": "many"}),
        json!({"type": "remove-backup", "storageLocation": location}),
        json!({"type": "remove-backup", "storageLocation": location, "backupName": "a", "removeOldest": true}),
        json!({"type": "restore", "storageLocation": location}),
        json!({"type": "restore", "storageLocation": location, "snapshotTag": "s",
               "restorationStrategyType": "COPY"}),
        json!({"type": "restore", "storageLocation": location, "snapshotTag": "s",
               "restorationStrategyType": "IN_PLACE", "globalRequest": true}),
        json!({"type": "restore", "storageLocation": "file:///etc/b/c/d/n", "snapshotTag": "s",
               "restorationStrategyType": "IMPORT", "restorationPhase": "DOWNLOAD",
               "import": {"type": "import", "sourceDir": "/var/lib/cassandra/data/x"}}),
        json!({"type": "cleanup", "globalRequest": true, "timeout": "soon"}),
        json!({"type": "restart", "globalRequest": true, "concurrency": 2}),
        json!({"type": "decommission", "globalRequest": true}),
        json!({"type": "nothing"}),
        json!([1, 2]),
    ];
    let mut errors = Vec::new();
    for body in refused {
        let resp = server.post(&body).await;
        errors.push(json!({"request": body, "status": resp.status, "body": resp.body}));
    }
    recorded.add("refused", Value::Array(errors));

    let (schema_version, millis) = full_tag
        .strip_prefix("snap1-")
        .and_then(|rest| rest.rsplit_once('-'))
        .map(|(sv, ms)| (sv.to_string(), ms.to_string()))
        .expect("snap1-<schemaVersion>-<millis>");
    let normalizer = Normalizer {
        replacements: vec![
            (setup.tmp.path().display().to_string(), "<tmp>".to_string()),
            (schema_version, "<schema-version>".to_string()),
            (millis, "<millis>".to_string()),
            (format!(":{}", dead.port()), ":<port>".to_string()),
        ],
    };
    let got = normalizer.value(&Value::Object(recorded.0));
    let path = fixture();
    if std::env::var_os("DAEDALUS_RECORD_COMPAT").is_some() || !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = serde_json::to_string_pretty(&got).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
        return;
    }
    let want: Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("the fixture is JSON");
    let (Value::Object(got), Value::Object(want)) = (&got, &want) else {
        unreachable!()
    };
    for (name, value) in want {
        assert_eq!(
            got.get(name),
            Some(value),
            "{name} differs from the recorded answer"
        );
    }
    assert_eq!(got.len(), want.len(), "the same cases as recorded");
}
