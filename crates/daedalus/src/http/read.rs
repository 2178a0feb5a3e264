//! The read endpoints: `/status`, `/version*`, `/topology*`, `/config`, `/health`, `/ready` and
//! the OpenAPI document at `/openapi.yaml` and `/openapi.json`.
//!
//! Owns their routes, response shapes (the Icarus contract's names) and how a node failure maps
//! to a status: unreachable, timed out or refused credentials → 503, anything the node answered
//! with → 500, both with an `ErrorBody` that also carries Icarus's `exception`. It must not talk
//! JMX (it asks the `NodeFacts` port the engine's connector offers) nor touch operations.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::engine::Engine;
use crate::facts::{ConfigFileError, NodeFacts, TopologyFacts};
use crate::node::{NodeError, NodeErrorKind};

/// The project's OpenAPI document, served as it is kept in the repository.
pub const OPENAPI_YAML: &str = include_str!("../../../../api/openapi.yaml");

/// `version` of `GET /version`.
pub const SIDECAR_VERSION: &str = concat!("daedalus ", env!("CARGO_PKG_VERSION"));
/// `buildTime` of `GET /version` (RFC 3339, set by `build.rs`).
pub const BUILD_TIME: &str = env!("DAEDALUS_BUILD_TIME");
/// `gitCommit` of `GET /version` ("unknown" when built outside git).
pub const GIT_COMMIT: &str = env!("DAEDALUS_GIT_COMMIT");

/// The read routes, merged into the application router.
pub fn routes() -> Router<Engine> {
    Router::new()
        .route("/status", get(status))
        .route("/version", get(sidecar_version))
        .route("/version/sidecar", get(sidecar_version))
        .route("/version/cassandra", get(cassandra_version))
        .route("/version/schema", get(schema_version))
        .route("/topology", get(topology))
        .route("/topology/{dc}", get(topology_of_dc))
        .route("/config", get(config))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/openapi.yaml", get(openapi_yaml))
        .route("/openapi.json", get(openapi_json))
}

/// A read that could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The node failed (or was not reached) while answering.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The sidecar has no way to ask the node.
    #[error("this sidecar has no node connection for reads")]
    NoFacts,
    /// `cassandra.yaml` could not be served.
    #[error(transparent)]
    Config(#[from] ConfigFileError),
}

impl ReadError {
    fn status_and_body(&self) -> (StatusCode, Value) {
        let message = self.to_string();
        match self {
            ReadError::Node(e) => {
                let (status, error) = match e.kind {
                    NodeErrorKind::Unreachable => {
                        (StatusCode::SERVICE_UNAVAILABLE, "node_unreachable")
                    }
                    NodeErrorKind::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "node_timeout"),
                    NodeErrorKind::Auth => (StatusCode::SERVICE_UNAVAILABLE, "node_auth"),
                    NodeErrorKind::Java | NodeErrorKind::Protocol | NodeErrorKind::Unsupported => {
                        (StatusCode::INTERNAL_SERVER_ERROR, "node_error")
                    }
                };
                (
                    status,
                    json!({
                        "error": error,
                        "field": null,
                        "message": message,
                        "exception": e.failure_cause(),
                    }),
                )
            }
            ReadError::NoFacts => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "error": "node_unavailable", "field": null, "message": message }),
            ),
            ReadError::Config(ConfigFileError::Absent(_)) => (
                StatusCode::NOT_FOUND,
                json!({ "error": "not_found", "field": null, "message": message }),
            ),
            ReadError::Config(ConfigFileError::Unreadable(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "config_unreadable", "field": null, "message": message }),
            ),
        }
    }
}

impl IntoResponse for ReadError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            tracing::warn!(error = %self, "read endpoint failed");
        }
        (status, Json(body)).into_response()
    }
}

fn facts(engine: &Engine) -> Result<Arc<dyn NodeFacts>, ReadError> {
    engine.connector().facts().ok_or(ReadError::NoFacts)
}

async fn status(State(engine): State<Engine>) -> Result<Json<Value>, ReadError> {
    let mode = facts(&engine)?.operation_mode().await?;
    Ok(Json(json!({ "nodeState": mode })))
}

async fn sidecar_version() -> Json<Value> {
    Json(json!({
        "version": SIDECAR_VERSION,
        "buildTime": BUILD_TIME,
        "gitCommit": GIT_COMMIT,
    }))
}

async fn cassandra_version(State(engine): State<Engine>) -> Result<Json<Value>, ReadError> {
    let v = facts(&engine)?.release_version().await?;
    Ok(Json(json!({
        "major": v.major,
        "minor": v.minor,
        "patch": v.patch,
        "dsePatch": v.dse_patch.map_or(-1, i64::from),
        "preReleaseLabels": v.pre_release,
        "version": v.raw,
    })))
}

async fn schema_version(State(engine): State<Engine>) -> Result<Json<Value>, ReadError> {
    let schema = facts(&engine)?.schema_version().await?;
    Ok(Json(json!({ "schemaVersion": schema })))
}

async fn topology(State(engine): State<Engine>) -> Result<Json<Value>, ReadError> {
    let topology = facts(&engine)?.topology().await?;
    Ok(Json(topology_json(&topology, None)))
}

async fn topology_of_dc(
    State(engine): State<Engine>,
    Path(dc): Path<String>,
) -> Result<Json<Value>, ReadError> {
    let topology = facts(&engine)?.topology().await?;
    Ok(Json(topology_json(&topology, Some(&dc))))
}

/// `ClusterTopology`: the nodes of `dc` only when given (none when no node is in it).
pub fn topology_json(topology: &TopologyFacts, dc: Option<&str>) -> Value {
    let nodes: Vec<Value> = topology
        .endpoints
        .iter()
        .filter(|e| dc.is_none() || e.datacenter.as_deref() == dc)
        .map(|e| {
            let mut node = json!({
                "hostname": e.hostname,
                "cluster": topology.cluster_name,
                "nodeId": e.host_id,
                "ipAddress": e.ip,
            });
            if let Some(dc) = &e.datacenter {
                node["dc"] = json!(dc);
            }
            if let Some(rack) = &e.rack {
                node["rack"] = json!(rack);
            }
            node
        })
        .collect();
    json!({
        "timestamp": crate::record::now_ms(),
        "clusterName": topology.cluster_name,
        "schemaVersion": topology.schema_version,
        "topology": nodes,
    })
}

async fn config(State(engine): State<Engine>) -> Result<Json<Value>, ReadError> {
    let facts = facts(&engine).map_err(|_| {
        ReadError::Config(ConfigFileError::Absent(
            "no cassandra.yaml is configured".to_string(),
        ))
    })?;
    Ok(Json(facts.cassandra_yaml()?))
}

/// Liveness: the sidecar answers; Cassandra is not asked.
async fn health() -> Json<Value> {
    Json(json!({ "status": "UP" }))
}

/// Readiness: the node answers over JMX and its mode is NORMAL.
async fn ready(State(engine): State<Engine>) -> (StatusCode, Json<Value>) {
    let not_ready = |reason: String, extra: Value| {
        let mut body = json!({ "status": "NOT_READY", "reason": reason });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    };
    let facts = match facts(&engine) {
        Ok(facts) => facts,
        Err(e) => return not_ready(e.to_string(), json!({})),
    };
    match facts.operation_mode().await {
        Ok(mode) if mode == "NORMAL" => match facts.release_version().await {
            Ok(version) => (
                StatusCode::OK,
                Json(json!({ "status": "READY", "nodeState": mode, "cassandra": version.raw })),
            ),
            Err(e) => not_ready(e.to_string(), json!({ "kind": e.kind.to_string() })),
        },
        Ok(mode) => not_ready(
            format!("the node is {mode}, not NORMAL"),
            json!({ "nodeState": mode }),
        ),
        Err(e) => not_ready(e.to_string(), json!({ "kind": e.kind.to_string() })),
    }
}

async fn openapi_yaml() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn openapi_json() -> Response {
    static JSON: OnceLock<Result<Value, String>> = OnceLock::new();
    let doc = JSON.get_or_init(|| {
        yaml_serde::from_str::<yaml_serde::Value>(OPENAPI_YAML)
            .map_err(|e| e.to_string())
            .and_then(|yaml| serde_json::to_value(yaml).map_err(|e| e.to_string()))
    });
    match doc {
        Ok(doc) => Json(doc.clone()).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": "openapi_unreadable", "field": null, "message": e })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::EndpointFacts;

    #[test]
    fn the_embedded_document_parses() {
        let yaml: yaml_serde::Value = yaml_serde::from_str(OPENAPI_YAML).unwrap();
        let json = serde_json::to_value(yaml).unwrap();
        assert!(json["paths"]["/status"].is_object());
        assert!(BUILD_TIME.ends_with('Z'), "{BUILD_TIME}");
        assert!(!GIT_COMMIT.is_empty());
    }

    #[test]
    fn node_failures_map_to_503_or_500() {
        let (s, body) = ReadError::Node(NodeError::new(NodeErrorKind::Unreachable, "refused"))
            .status_and_body();
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"], "node_unreachable");
        assert_eq!(body["exception"]["kind"], "Unreachable");
        let (s, body) = ReadError::Node(NodeError::java(
            "boom",
            json!({"class": "java.lang.IllegalStateException"}),
        ))
        .status_and_body();
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body["exception"]["class"],
            "java.lang.IllegalStateException"
        );
        let (s, _) = ReadError::Config(ConfigFileError::Absent("x".into())).status_and_body();
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    #[test]
    fn topology_filters_by_dc_and_omits_unknown_racks() {
        let t = TopologyFacts {
            cluster_name: "c".into(),
            schema_version: "s".into(),
            endpoints: vec![
                EndpointFacts {
                    hostname: "10.0.0.1".into(),
                    ip: "10.0.0.1".into(),
                    host_id: "h1".into(),
                    datacenter: Some("dc1".into()),
                    rack: Some("r1".into()),
                },
                EndpointFacts {
                    hostname: "10.0.0.2".into(),
                    ip: "10.0.0.2".into(),
                    host_id: "h2".into(),
                    datacenter: Some("dc2".into()),
                    rack: None,
                },
            ],
        };
        let all = topology_json(&t, None);
        assert_eq!(all["topology"].as_array().unwrap().len(), 2);
        assert!(all["topology"][1].get("rack").is_none());
        let dc2 = topology_json(&t, Some("dc2"));
        assert_eq!(dc2["topology"].as_array().unwrap().len(), 1);
        assert_eq!(dc2["topology"][0]["nodeId"], "h2");
        assert_eq!(dc2["topology"][0]["cluster"], "c");
        assert!(topology_json(&t, Some("nowhere"))["topology"]
            .as_array()
            .unwrap()
            .is_empty());
    }
}
