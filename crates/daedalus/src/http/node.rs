//! Handlers of Icarus's read endpoints: `/version`, `/version/sidecar`, `/version/cassandra`,
//! `/version/schema`, `/status`, plus `/health` (the sidecar answers) and `/ready` (the node
//! answers too).
//!
//! Owns their JSON shapes (Icarus's `SidecarVersion`, `CassandraVersion`, `CassandraSchemaVersion`,
//! `CassandraStatus`). It must not keep node connections: each request connects through the
//! engine's connector and lets go.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::engine::Engine;
use crate::node::{Node, NodeError};

/// A node call failed: 500 with the cause under `exception`, as Icarus's `*Exception` schemas.
fn node_failure(e: NodeError) -> Response {
    let body = json!({
        "error": "node_unavailable",
        "field": null,
        "message": e.to_string(),
        "exception": e.failure_cause(),
    });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

pub(super) async fn sidecar_version() -> Json<Value> {
    Json(json!({ "version": format!("daedalus {}", env!("CARGO_PKG_VERSION")) }))
}

pub(super) async fn health() -> Json<Value> {
    Json(json!({ "status": "UP" }))
}

pub(super) async fn ready(State(engine): State<Engine>) -> Response {
    let version = async { connect(&engine).await?.release_version().await }.await;
    answer(version, |v| json!({ "status": "READY", "cassandra": v }))
}

pub(super) async fn cassandra_version(State(engine): State<Engine>) -> Response {
    let version = async { connect(&engine).await?.release_version().await }.await;
    answer(version, |v| version_json(&v))
}

pub(super) async fn schema_version(State(engine): State<Engine>) -> Response {
    let schema = async { connect(&engine).await?.schema_version().await }.await;
    answer(schema, |s| json!({ "schemaVersion": s }))
}

pub(super) async fn status(State(engine): State<Engine>) -> Response {
    let mode = async { connect(&engine).await?.operation_mode().await }.await;
    answer(mode, |m| json!({ "nodeState": m }))
}

async fn connect(engine: &Engine) -> Result<Arc<dyn Node>, NodeError> {
    engine.connector().connect().await
}

/// 200 with `body(value)`, or the node failure.
fn answer<T>(result: Result<T, NodeError>, body: impl FnOnce(T) -> Value) -> Response {
    match result {
        Ok(value) => Json(body(value)).into_response(),
        Err(e) => node_failure(e),
    }
}

/// `"4.1.3"` → `{major: 4, minor: 1, patch: 3, dsePatch: -1, preReleaseLabels: []}`;
/// `"5.0-beta2"` → labels `["beta2"]`.
fn version_json(text: &str) -> Value {
    let (numbers, labels) = match text.split_once('-') {
        Some((n, l)) => (n, l.split('-').map(str::to_string).collect::<Vec<_>>()),
        None => (text, Vec::new()),
    };
    let mut parts = numbers.split('.').map(|p| p.parse::<i64>().ok());
    let mut next = || parts.next().flatten().unwrap_or(0);
    json!({
        "major": next(),
        "minor": next(),
        "patch": next(),
        "dsePatch": -1,
        "preReleaseLabels": labels,
        "version": text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_into_icarus_fields() {
        let v = version_json("4.1.3");
        assert_eq!(
            (v["major"].clone(), v["minor"].clone(), v["patch"].clone()),
            (json!(4), json!(1), json!(3))
        );
        assert_eq!(v["preReleaseLabels"], json!([]));
        let v = version_json("5.0-beta2");
        assert_eq!(
            (v["major"].clone(), v["minor"].clone(), v["patch"].clone()),
            (json!(5), json!(0), json!(0))
        );
        assert_eq!(v["preReleaseLabels"], json!(["beta2"]));
    }
}
