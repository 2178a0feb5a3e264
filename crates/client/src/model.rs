//! The JSON shapes the client sends and receives: operation records, requests and read endpoints.
//!
//! Owns serde types only (camelCase, lenient where Icarus and Daedalus differ, e.g. `progress` as
//! a number or a string). Unknown fields are kept in `extra` maps so nothing is lost on a
//! round trip. Must not perform I/O.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Lifecycle state of an operation. Unknown states sent by a newer server are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum OperationState {
    /// Accepted, waiting for a worker.
    Pending,
    /// A worker is running it.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error; see `failureCause`.
    Failed,
    /// Cancelled before or while running.
    Cancelled,
    /// A state this client does not know.
    Other(String),
}

impl OperationState {
    /// The five states the API defines.
    pub const KNOWN: [OperationState; 5] = [
        OperationState::Pending,
        OperationState::Running,
        OperationState::Completed,
        OperationState::Failed,
        OperationState::Cancelled,
    ];

    /// The wire name (`PENDING`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            OperationState::Pending => "PENDING",
            OperationState::Running => "RUNNING",
            OperationState::Completed => "COMPLETED",
            OperationState::Failed => "FAILED",
            OperationState::Cancelled => "CANCELLED",
            OperationState::Other(s) => s,
        }
    }

    /// COMPLETED, FAILED and CANCELLED never change again.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            OperationState::Completed | OperationState::Failed | OperationState::Cancelled
        )
    }
}

impl From<String> for OperationState {
    fn from(text: String) -> Self {
        match text.to_ascii_uppercase().as_str() {
            "PENDING" => OperationState::Pending,
            "RUNNING" => OperationState::Running,
            "COMPLETED" => OperationState::Completed,
            "FAILED" => OperationState::Failed,
            "CANCELLED" => OperationState::Cancelled,
            _ => OperationState::Other(text),
        }
    }
}

impl From<&str> for OperationState {
    fn from(text: &str) -> Self {
        OperationState::from(text.to_string())
    }
}

impl From<OperationState> for String {
    fn from(state: OperationState) -> Self {
        state.as_str().to_string()
    }
}

impl fmt::Display for OperationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of an operation's `errors` list (Icarus's `ErrorObject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Host where the error happened.
    #[serde(default)]
    pub source: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub message: Option<String>,
}

/// An operation record as `GET /operations/{id}` returns it: the base fields plus the request's
/// fields and any extension (`sstables`, `bytes`, ...) in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Operation type (`import`, `flush`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Operation id (a UUID).
    pub id: String,
    /// Lifecycle state.
    pub state: OperationState,
    /// 0.0 to 1.0 (sent as a number by Daedalus, as a string by the Icarus spec).
    #[serde(default, deserialize_with = "number_or_string")]
    pub progress: f64,
    /// When the operation was accepted (ISO-8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// When a worker started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it finished, whatever the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// Errors reported along the way.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ErrorObject>,
    /// Why it FAILED: a Java throwable (`class`, `message`, `stack`, `cause`) or the sidecar's own
    /// error (`kind`, `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_cause: Option<Value>,
    /// The request's fields and any other field the server sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Operation {
    /// A string field of the request part (`keyspace`, `table`, ...).
    pub fn field_str(&self, name: &str) -> Option<&str> {
        self.extra.get(name).and_then(Value::as_str)
    }

    /// `keyspace.table`, `keyspace` or nothing, for one-line summaries.
    pub fn target(&self) -> Option<String> {
        match (self.field_str("keyspace"), self.field_str("table")) {
            (Some(ks), Some(t)) => Some(format!("{ks}.{t}")),
            (Some(ks), None) => {
                let tables: Vec<&str> = self
                    .extra
                    .get("tables")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if tables.is_empty() {
                    Some(ks.to_string())
                } else {
                    Some(format!("{ks}.{{{}}}", tables.join(",")))
                }
            }
            _ => None,
        }
    }
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(0.0)),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| serde::de::Error::custom(format!("progress {s:?} is not a number"))),
        Some(other) => Err(serde::de::Error::custom(format!(
            "progress {other} is not a number"
        ))),
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A typed `import` request (Icarus's `ImportOperationRequest` plus Daedalus's `copyData` and
/// `tablePath`). Unset options are not sent, so the server's defaults apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    /// Keyspace of the table to import into.
    pub keyspace: String,
    /// Table to import into.
    pub table: String,
    /// Directory holding the SSTables.
    pub source_dir: String,
    /// Keep the SSTables' level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_level: Option<bool>,
    /// Keep the SSTables' repaired status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_repaired: Option<bool>,
    /// Do not verify the SSTables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_verify: Option<bool>,
    /// Do not verify that tokens belong to this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_verify_tokens: Option<bool>,
    /// Do not invalidate row caches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_invalidate_caches: Option<bool>,
    /// Shorthand for the three `no*` options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quick: Option<bool>,
    /// Extended verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_verify: Option<bool>,
    /// Copy instead of move (Daedalus default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_data: Option<bool>,
    /// The table directory to import (esop's field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_path: Option<String>,
}

impl ImportRequest {
    /// The request as the JSON body of `POST /operations` (with `"type": "import"`).
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), Value::from("import"));
        if let Ok(Value::Object(fields)) = serde_json::to_value(self) {
            body.extend(fields);
        }
        Value::Object(body)
    }
}

/// `GET /status`: the node's operation mode. Unknown modes are kept as strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Operation mode (`NORMAL`, `DRAINED`, ...).
    #[serde(default)]
    pub node_state: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One node of `GET /topology`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeTopology {
    /// Host name.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Cluster name.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Data center.
    #[serde(default)]
    pub dc: Option<String>,
    /// Rack.
    #[serde(default)]
    pub rack: Option<String>,
    /// Cassandra host id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /topology` and `GET /topology/{dc}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTopology {
    /// When the topology was taken (epoch millis).
    #[serde(default)]
    pub timestamp: Option<Value>,
    /// Cluster name.
    #[serde(default)]
    pub cluster_name: Option<String>,
    /// Schema version.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// The nodes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub topology: Vec<NodeTopology>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /version` (and `/version/sidecar`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarVersion {
    /// Textual version.
    #[serde(default)]
    pub version: Option<String>,
    /// Build time.
    #[serde(default)]
    pub build_time: Option<String>,
    /// Git commit.
    #[serde(default)]
    pub git_commit: Option<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /version/cassandra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CassandraVersion {
    /// Major version.
    #[serde(default)]
    pub major: Option<i64>,
    /// Minor version.
    #[serde(default)]
    pub minor: Option<i64>,
    /// Patch version.
    #[serde(default)]
    pub patch: Option<i64>,
    /// DSE patch (-1 when not DSE).
    #[serde(default)]
    pub dse_patch: Option<i64>,
    /// Pre-release labels (`SNAPSHOT`...).
    #[serde(default, deserialize_with = "null_as_default")]
    pub pre_release_labels: Vec<String>,
    /// Any other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Display for CassandraVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
        write!(
            f,
            "{}.{}.{}",
            part(self.major),
            part(self.minor),
            part(self.patch)
        )?;
        if let Some(dse) = self.dse_patch.filter(|p| *p >= 0) {
            write!(f, ".{dse}")?;
        }
        for label in &self.pre_release_labels {
            write!(f, "-{label}")?;
        }
        Ok(())
    }
}

/// The three versions together. The Cassandra and schema parts are `None` when the node could
/// not be asked (the sidecar answered with an error for them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    /// The sidecar's own version.
    pub sidecar: SidecarVersion,
    /// The node's Cassandra version.
    pub cassandra: Option<CassandraVersion>,
    /// The node's schema version.
    pub schema: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_keeps_request_fields_and_accepts_string_progress() {
        let body = json!({
            "type": "import", "id": "a", "state": "RUNNING", "progress": "0.25",
            "creationTime": "2026-01-01T00:00:00.000Z", "errors": null,
            "keyspace": "ks", "table": "t", "sstables": 3
        });
        let op: Operation = serde_json::from_value(body).unwrap();
        assert_eq!(op.state, OperationState::Running);
        assert_eq!(op.progress, 0.25);
        assert_eq!(op.target().as_deref(), Some("ks.t"));
        assert_eq!(op.extra.get("sstables"), Some(&json!(3)));
        let back = serde_json::to_value(&op).unwrap();
        assert_eq!(back["keyspace"], json!("ks"));
        assert_eq!(back["progress"], json!(0.25));
    }

    #[test]
    fn unknown_state_is_kept() {
        let op: Operation =
            serde_json::from_value(json!({"type": "x", "id": "1", "state": "PAUSED"})).unwrap();
        assert_eq!(op.state, OperationState::Other("PAUSED".into()));
        assert!(!op.state.is_finished());
        assert_eq!(serde_json::to_value(&op).unwrap()["state"], json!("PAUSED"));
    }

    #[test]
    fn bad_progress_is_an_error_not_a_panic() {
        let r: Result<Operation, _> = serde_json::from_value(
            json!({"type": "x", "id": "1", "state": "RUNNING", "progress": "half"}),
        );
        assert!(r.is_err());
    }

    #[test]
    fn import_request_sends_only_set_options() {
        let req = ImportRequest {
            keyspace: "ks".into(),
            table: "t".into(),
            source_dir: "/x".into(),
            quick: Some(true),
            ..Default::default()
        };
        let body = req.to_json();
        assert_eq!(
            body,
            json!({"type": "import", "keyspace": "ks", "table": "t", "sourceDir": "/x", "quick": true})
        );
    }
}
