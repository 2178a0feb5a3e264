//! A small in-process fake of the Daedalus API for the client tests: it keeps operation records
//! in memory, advances each one through a scripted sequence of states on every GET, and logs
//! every request (method, path, query, Authorization header, body).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub body: Option<Value>,
}

#[derive(Default)]
pub struct FakeState {
    /// Records in creation order, each with the patches still to apply on the next GETs.
    ops: Vec<(Value, VecDeque<Value>)>,
    /// Scripts for the next submitted operations (front first).
    scripts: VecDeque<Vec<Value>>,
    pub seen: Vec<Seen>,
    counter: u32,
    /// When set, every request without `Authorization: Bearer <token>` gets 401.
    pub require_token: Option<String>,
    /// When set, `/version/cassandra` and `/version/schema` answer 500.
    pub node_down: bool,
}

/// A running fake server.
pub struct Fake {
    pub url: String,
    pub state: Arc<Mutex<FakeState>>,
}

impl Fake {
    pub async fn start() -> Fake {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = Router::new()
            .route("/operations", get(list).post(submit))
            .route("/operations/{id}", get(get_op).delete(cancel))
            .route(
                "/status",
                get(|| async { Json(json!({"nodeState": "NORMAL"})) }),
            )
            .route("/topology", get(|| async { topology(None) }))
            .route(
                "/topology/{dc}",
                get(|Path(dc): Path<String>| async move { topology(Some(dc)) }),
            )
            .route("/version", get(sidecar_version))
            .route("/version/cassandra", get(cassandra_version))
            .route("/version/schema", get(schema_version))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                log_and_auth,
            ))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake {
            url: format!("http://{addr}"),
            state,
        }
    }

    /// The next submitted operation walks through these patches, one per GET.
    pub fn script(&self, steps: Vec<Value>) {
        self.state.lock().unwrap().scripts.push_back(steps);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn require_token(&self, token: &str) {
        self.state.lock().unwrap().require_token = Some(token.to_string());
    }

    pub fn set_node_down(&self) {
        self.state.lock().unwrap().node_down = true;
    }
}

/// Patches of a run that completes: RUNNING at 50 %, then COMPLETED.
pub fn completes() -> Vec<Value> {
    vec![
        json!({"state": "RUNNING", "progress": 0.5, "startTime": "2026-01-01T00:00:01.000Z"}),
        json!({"state": "COMPLETED", "progress": 1.0, "completionTime": "2026-01-01T00:00:02.000Z"}),
    ]
}

/// Patches of a run that fails with a Java exception and a cause.
pub fn fails() -> Vec<Value> {
    vec![
        json!({"state": "RUNNING", "progress": 0.25}),
        json!({"state": "FAILED", "progress": 1.0, "completionTime": "2026-01-01T00:00:02.000Z",
        "failureCause": {
            "class": "java.lang.RuntimeException",
            "message": "Failed importing SSTables",
            "stackTrace": [
                {"className": "org.apache.cassandra.db.ColumnFamilyStore", "methodName": "importNewSSTables",
                 "fileName": "ColumnFamilyStore.java", "lineNumber": 745},
                {"className": "org.apache.cassandra.db.SSTableImporter", "methodName": "importNewSSTables",
                 "fileName": "SSTableImporter.java", "lineNumber": 98}
            ],
            "cause": {"class": "java.io.IOException", "message": "Corrupt sstable nb-1-big",
                      "stackTrace": [{"className": "org.apache.cassandra.io.sstable.Verifier",
                                      "methodName": "verify", "fileName": "Verifier.java", "lineNumber": 12}],
                      "cause": null, "suppressed": []},
            "suppressed": [],
            "wrapper": "javax.management.RuntimeMBeanException"
        }}),
    ]
}

/// Patches of a run that is cancelled while running.
pub fn cancelled() -> Vec<Value> {
    vec![
        json!({"state": "RUNNING", "progress": 0.1}),
        json!({"state": "CANCELLED", "progress": 1.0}),
    ]
}

async fn log_and_auth(
    State(state): State<Arc<Mutex<FakeState>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            authorization: authorization.clone(),
            body: serde_json::from_slice(&bytes).ok(),
        });
        if let Some(token) = &s.require_token {
            if authorization.as_deref() != Some(&format!("Bearer {token}")) {
                return (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "unauthorized", "message": "missing or wrong bearer token"})),
                )
                    .into_response();
            }
        }
    }
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    next.run(request).await
}

fn bad_request(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "field": field, "message": message})),
    )
        .into_response()
}

fn not_found(id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "not_found", "message": format!("no operation with id {id}")})),
    )
        .into_response()
}

async fn submit(State(state): State<Arc<Mutex<FakeState>>>, body: Bytes) -> Response {
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("", "body is not a JSON object");
    };
    let Some(kind) = request
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return bad_request("type", "type is required");
    };
    if kind == "import" {
        for field in ["keyspace", "table", "sourceDir"] {
            if request
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                return bad_request(field, &format!("{field} is required"));
            }
        }
    }
    let mut s = state.lock().unwrap();
    s.counter += 1;
    let id = format!("00000000-0000-4000-8000-{:012}", s.counter);
    let mut record = Map::new();
    record.insert("type".into(), json!(kind));
    record.insert("id".into(), json!(id));
    record.insert("state".into(), json!("PENDING"));
    record.insert("progress".into(), json!(0.0));
    record.insert("creationTime".into(), json!("2026-01-01T00:00:00.000Z"));
    record.insert("errors".into(), json!([]));
    for (k, v) in request {
        record.entry(k).or_insert(v);
    }
    let record = Value::Object(record);
    let script = s.scripts.pop_front().unwrap_or_else(completes);
    s.ops.push((record.clone(), script.into()));
    (
        StatusCode::CREATED,
        [("location", format!("/operations/{id}"))],
        Json(record),
    )
        .into_response()
}

fn merge(record: &mut Value, patch: &Value) {
    if let (Value::Object(r), Value::Object(p)) = (record, patch) {
        for (k, v) in p {
            r.insert(k.clone(), v.clone());
        }
    }
}

async fn get_op(State(state): State<Arc<Mutex<FakeState>>>, Path(id): Path<String>) -> Response {
    let mut s = state.lock().unwrap();
    let Some((record, script)) = s.ops.iter_mut().find(|(r, _)| r["id"] == json!(id)) else {
        return not_found(&id);
    };
    if let Some(patch) = script.pop_front() {
        // A patch `{"__status": N}` answers this one GET with that status instead.
        if let Some(code) = patch.get("__status").and_then(Value::as_u64) {
            let status = StatusCode::from_u16(code as u16).unwrap();
            return (
                status,
                Json(json!({"error": "unavailable", "message": "try again"})),
            )
                .into_response();
        }
        merge(record, &patch);
    }
    Json(record.clone()).into_response()
}

async fn cancel(State(state): State<Arc<Mutex<FakeState>>>, Path(id): Path<String>) -> Response {
    let mut s = state.lock().unwrap();
    let Some((record, script)) = s.ops.iter_mut().find(|(r, _)| r["id"] == json!(id)) else {
        return not_found(&id);
    };
    let st = record["state"].as_str().unwrap_or("").to_string();
    if matches!(st.as_str(), "COMPLETED" | "FAILED" | "CANCELLED") {
        return (
            StatusCode::CONFLICT,
            Json(
                json!({"error": "conflict", "message": format!("operation {id} is already {st}")}),
            ),
        )
            .into_response();
    }
    script.clear();
    merge(record, &json!({"state": "CANCELLED", "progress": 1.0}));
    (StatusCode::ACCEPTED, Json(record.clone())).into_response()
}

async fn list(State(state): State<Arc<Mutex<FakeState>>>, RawQuery(query): RawQuery) -> Response {
    let mut types = Vec::new();
    let mut states = Vec::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "type" => types.push(v.to_string()),
            "state" | "status" => states.push(v.to_string()),
            _ => {}
        }
    }
    let s = state.lock().unwrap();
    let out: Vec<Value> = s
        .ops
        .iter()
        .rev()
        .map(|(r, _)| r.clone())
        .filter(|r| types.is_empty() || types.iter().any(|t| r["type"] == json!(t)))
        .filter(|r| states.is_empty() || states.iter().any(|t| r["state"] == json!(t)))
        .collect();
    Json(Value::Array(out)).into_response()
}

fn topology(dc: Option<String>) -> Response {
    let nodes = vec![
        json!({"hostname": "node-a", "cluster": "test-cluster", "dc": "dc1", "rack": "r1",
               "nodeId": "8619f3e2-756b-4cb1-9b5a-4f1c1aa49af6", "ipAddress": "10.0.0.1"}),
        json!({"hostname": "node-b", "cluster": "test-cluster", "dc": "dc2", "rack": "r1",
               "nodeId": "11111111-756b-4cb1-9b5a-4f1c1aa49af6", "ipAddress": "10.0.0.2"}),
    ];
    let nodes: Vec<Value> = match &dc {
        Some(dc) => nodes.into_iter().filter(|n| n["dc"] == json!(dc)).collect(),
        None => nodes,
    };
    Json(
        json!({"timestamp": 1600645216879u64, "clusterName": "test-cluster",
                "schemaVersion": "f1159959-593d-33d1-9ade-712ea55b31ef", "topology": nodes}),
    )
    .into_response()
}

async fn sidecar_version() -> Response {
    Json(json!({"version": "daedalus 0.1.0", "buildTime": "2026-01-01T00:00:00Z", "gitCommit": "abc"}))
        .into_response()
}

async fn cassandra_version(State(state): State<Arc<Mutex<FakeState>>>) -> Response {
    if state.lock().unwrap().node_down {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"exception": {"message": "down"}})),
        )
            .into_response();
    }
    Json(json!({"major": 4, "minor": 1, "patch": 5, "dsePatch": -1, "preReleaseLabels": []}))
        .into_response()
}

async fn schema_version(State(state): State<Arc<Mutex<FakeState>>>) -> Response {
    if state.lock().unwrap().node_down {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"exception": {"message": "down"}})),
        )
            .into_response();
    }
    Json(json!({"schemaVersion": "329319a5-cc1b-3db3-8001-c179b4063d04"})).into_response()
}
