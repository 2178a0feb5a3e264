//! The operation requests the API accepts, one module per operation type.
//!
//! Owns parsing and validation of a request body (→ `ValidationError`, which the HTTP edge turns
//! into a 400) and dispatch of `run` to the operation's own module. It must not touch the journal
//! or the HTTP types; running code reaches the node and the record only through `RunContext`.

pub mod compaction;
pub(crate) mod fields;
pub mod import;
pub(crate) mod progress;
pub mod restart;
pub mod table;
pub mod topology;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{RunContext, RunError};

pub use compaction::{CleanupRequest, ScrubRequest, UpgradeSSTablesRequest};
pub use import::ImportRequest;
pub use restart::RestartRequest;
pub use table::{FlushRequest, RefreshRequest, TruncateRequest};
pub use topology::{DecommissionRequest, DrainRequest, RebuildRequest};

/// The operation types this sidecar knows, as they appear in `type`.
pub const KNOWN_TYPES: &[&str] = &[
    "cleanup",
    "decommission",
    "drain",
    "flush",
    "import",
    "rebuild",
    "refresh",
    "restart",
    "scrub",
    "truncate",
    "upgradesstables",
];

/// A validated request; the `type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OperationRequest {
    Import(ImportRequest),
    Cleanup(CleanupRequest),
    Flush(FlushRequest),
    Scrub(ScrubRequest),
    UpgradeSSTables(UpgradeSSTablesRequest),
    Rebuild(RebuildRequest),
    Refresh(RefreshRequest),
    Decommission(DecommissionRequest),
    Drain(DrainRequest),
    Truncate(TruncateRequest),
    Restart(RestartRequest),
}

/// How the deployment lets operations run: what is enabled and how long the waits may be
/// (flags `--enable-truncate`, `--restart-command`, `--restart-timeout`, `--drain-timeout`).
#[derive(Debug, Clone)]
pub struct OperationSettings {
    /// `truncate` is refused (400) unless this is set.
    pub enable_truncate: bool,
    /// Run through `sh -c` by `restart` after a successful drain; `restart` is refused (400)
    /// without it.
    pub restart_command: Option<String>,
    /// Bound on the restart command plus the wait for the node to answer with mode NORMAL.
    pub restart_timeout: Duration,
    /// Bound on the wait for mode DRAINED once `drain()` has returned or while another drain runs.
    pub drain_timeout: Duration,
    /// How often progress is read from the node while a blocking call runs.
    pub poll_interval: Duration,
}

impl Default for OperationSettings {
    fn default() -> Self {
        OperationSettings {
            enable_truncate: false,
            restart_command: None,
            restart_timeout: Duration::from_secs(600),
            drain_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// What validation needs to know about the deployment.
#[derive(Debug, Clone, Default)]
pub struct ValidationPolicy {
    /// When not empty, every directory an operation reads must resolve inside one of these.
    pub import_roots: Vec<PathBuf>,
}

/// Why a request was refused; becomes `400 {"error", "field", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// A stable, machine-readable code: `missing_field`, `invalid_field`, `unknown_type`,
    /// `malformed_json`.
    pub error: &'static str,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl ValidationError {
    pub fn missing(field: &str) -> Self {
        ValidationError {
            error: "missing_field",
            field: Some(field.to_string()),
            message: format!("'{field}' is required"),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ValidationError {
            error: "invalid_field",
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        ValidationError {
            error: "malformed_json",
            field: None,
            message: message.into(),
        }
    }
}

impl OperationRequest {
    /// Parses and validates a submitted body. Nothing is created when this fails.
    pub fn from_json(body: &Value, policy: &ValidationPolicy) -> Result<Self, ValidationError> {
        let object = body
            .as_object()
            .ok_or_else(|| ValidationError::malformed("the request body must be a JSON object"))?;
        let type_name = match object.get("type") {
            None | Some(Value::Null) => return Err(ValidationError::missing("type")),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(ValidationError::invalid("type", "'type' must be a string")),
        };
        match type_name {
            "import" => Ok(OperationRequest::Import(ImportRequest::from_json(
                body, policy,
            )?)),
            "cleanup" => Ok(OperationRequest::Cleanup(CleanupRequest::from_json(body)?)),
            "flush" => Ok(OperationRequest::Flush(FlushRequest::from_json(body)?)),
            "scrub" => Ok(OperationRequest::Scrub(ScrubRequest::from_json(body)?)),
            "upgradesstables" => Ok(OperationRequest::UpgradeSSTables(
                UpgradeSSTablesRequest::from_json(body)?,
            )),
            "rebuild" => Ok(OperationRequest::Rebuild(RebuildRequest::from_json(body)?)),
            "refresh" => Ok(OperationRequest::Refresh(RefreshRequest::from_json(body)?)),
            "decommission" => Ok(OperationRequest::Decommission(
                DecommissionRequest::from_json(body)?,
            )),
            "drain" => Ok(OperationRequest::Drain(DrainRequest::from_json(body)?)),
            "truncate" => Ok(OperationRequest::Truncate(TruncateRequest::from_json(
                body,
            )?)),
            "restart" => Ok(OperationRequest::Restart(RestartRequest::from_json(body)?)),
            other => Err(ValidationError {
                error: "unknown_type",
                field: Some("type".to_string()),
                message: format!(
                    "unknown operation type '{other}'; known types: {}",
                    KNOWN_TYPES.join(", ")
                ),
            }),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            OperationRequest::Import(_) => "import",
            OperationRequest::Cleanup(_) => "cleanup",
            OperationRequest::Flush(_) => "flush",
            OperationRequest::Scrub(_) => "scrub",
            OperationRequest::UpgradeSSTables(_) => "upgradesstables",
            OperationRequest::Rebuild(_) => "rebuild",
            OperationRequest::Refresh(_) => "refresh",
            OperationRequest::Decommission(_) => "decommission",
            OperationRequest::Drain(_) => "drain",
            OperationRequest::Truncate(_) => "truncate",
            OperationRequest::Restart(_) => "restart",
        }
    }

    /// What an operator should check when the sidecar stopped while this operation ran.
    pub fn restart_advice(&self) -> String {
        match self {
            OperationRequest::Import(request) => request.restart_advice(),
            OperationRequest::Decommission(_) => "check the node's mode (nodetool netstats); \
                 decommission goes on in Cassandra without the sidecar"
                .to_string(),
            OperationRequest::Drain(_) | OperationRequest::Restart(_) => {
                "check the node's mode (nodetool netstats) and whether its process was restarted \
                 before submitting it again"
                    .to_string()
            }
            OperationRequest::Truncate(r) => format!(
                "check whether {}.{} is empty before truncating it again",
                r.keyspace, r.table
            ),
            other => format!(
                "{} can be submitted again; Cassandra may still be finishing the previous one \
                 (nodetool compactionstats)",
                other.type_name()
            ),
        }
    }

    /// Operations that change what the node is (drain, decommission, restart): at most one at a
    /// time, and nothing new is accepted while one is unfinished.
    pub fn is_exclusive(&self) -> bool {
        matches!(
            self,
            OperationRequest::Drain(_)
                | OperationRequest::Decommission(_)
                | OperationRequest::Restart(_)
        )
    }

    /// Two unfinished operations with the same key are duplicates (same type, keyspace and
    /// tables/table). `None`: never a duplicate (import: two imports differ by their source).
    pub fn duplicate_key(&self) -> Option<String> {
        let tables = |t: &[String]| {
            let mut t = t.to_vec();
            t.sort();
            t.dedup();
            t.join(",")
        };
        let (keyspace, what) = match self {
            OperationRequest::Import(_) => return None,
            OperationRequest::Cleanup(r) => (Some(&r.keyspace), tables(&r.tables)),
            OperationRequest::Flush(r) => (Some(&r.keyspace), tables(&r.tables)),
            OperationRequest::Scrub(r) => (Some(&r.keyspace), tables(&r.tables)),
            OperationRequest::UpgradeSSTables(r) => (Some(&r.keyspace), tables(&r.tables)),
            OperationRequest::Rebuild(r) => (r.keyspace.as_ref(), String::new()),
            OperationRequest::Refresh(r) => (Some(&r.keyspace), r.table.clone()),
            OperationRequest::Truncate(r) => (Some(&r.keyspace), r.table.clone()),
            OperationRequest::Decommission(_)
            | OperationRequest::Drain(_)
            | OperationRequest::Restart(_) => (None, String::new()),
        };
        Some(format!(
            "{} {}/{}",
            self.type_name(),
            keyspace.map(String::as_str).unwrap_or("*"),
            what
        ))
    }

    /// Runs the operation to its end. Progress, findings and cancellation go through `ctx`.
    pub async fn run(&self, ctx: &RunContext) -> Result<(), RunError> {
        match self {
            OperationRequest::Import(request) => request.run(ctx).await,
            OperationRequest::Cleanup(request) => request.run(ctx).await,
            OperationRequest::Flush(request) => request.run(ctx).await,
            OperationRequest::Scrub(request) => request.run(ctx).await,
            OperationRequest::UpgradeSSTables(request) => request.run(ctx).await,
            OperationRequest::Rebuild(request) => request.run(ctx).await,
            OperationRequest::Refresh(request) => request.run(ctx).await,
            OperationRequest::Decommission(request) => request.run(ctx).await,
            OperationRequest::Drain(request) => request.run(ctx).await,
            OperationRequest::Truncate(request) => request.run(ctx).await,
            OperationRequest::Restart(request) => request.run(ctx).await,
        }
    }
}

/// Deserializes `T` from a request body, naming the offending field when a value has the wrong
/// shape.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(body).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner().to_string();
        if field.is_empty() || field == "." {
            ValidationError::malformed(inner)
        } else {
            ValidationError::invalid(&field, format!("'{field}': {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every type survives the journal (serde round trip) and keeps its spec field names.
    #[test]
    fn every_type_round_trips_through_the_journal_form() {
        let policy = ValidationPolicy::default();
        let bodies = [
            json!({"type": "cleanup", "keyspace": "ks", "tables": ["t"], "jobs": 1}),
            json!({"type": "flush", "keyspace": "ks"}),
            json!({"type": "scrub", "keyspace": "ks", "reinsertOverflowedTTL": true}),
            json!({"type": "upgradesstables", "keyspace": "ks", "includeAllSStables": true}),
            json!({"type": "rebuild", "keyspace": "ks", "sourceDC": "dc1",
                   "specificTokens": [{"start": "1", "end": "2"}], "specificSources": ["10.0.0.2"]}),
            json!({"type": "refresh", "keyspace": "ks", "table": "t"}),
            json!({"type": "decommission", "force": true}),
            json!({"type": "drain"}),
            json!({"type": "truncate", "keyspace": "ks", "table": "t"}),
            json!({"type": "restart"}),
        ];
        for body in bodies {
            let request = OperationRequest::from_json(&body, &policy).unwrap();
            let stored = serde_json::to_value(&request).unwrap();
            assert_eq!(stored["type"], body["type"]);
            for (key, value) in body.as_object().unwrap() {
                assert_eq!(&stored[key], value, "{key} of {body} as stored: {stored}");
            }
            let back: OperationRequest = serde_json::from_value(stored).unwrap();
            assert_eq!(back, request);
            assert_eq!(back.type_name(), body["type"]);
            assert!(KNOWN_TYPES.contains(&back.type_name()));
        }
        let e = OperationRequest::from_json(&json!({"type": "repair"}), &policy).unwrap_err();
        assert!(e.message.contains("upgradesstables"), "{}", e.message);
    }
}
