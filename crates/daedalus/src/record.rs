//! The operation record: what the journal stores and the API shows for one operation.
//!
//! Owns the state enum, the record struct, its API JSON shape (camelCase, ISO-8601 UTC timestamps
//! with milliseconds, the request's fields flattened in), the one conversion of a failure into
//! its `failureCause` JSON, and clock helpers. It must not perform I/O or decide state
//! transitions (that is the engine's job).

use cassandra::{JavaThrowable, NodeError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::iso8601::{
    Config, EncodedConfig, Iso8601, TimePrecision,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::operations::{OperationError, Request};

/// Lifecycle of an operation: PENDING → RUNNING → COMPLETED | FAILED | CANCELLED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Pending,
        State::Running,
        State::Completed,
        State::Failed,
        State::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "PENDING",
            State::Running => "RUNNING",
            State::Completed => "COMPLETED",
            State::Failed => "FAILED",
            State::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    /// COMPLETED, FAILED and CANCELLED never change again.
    pub fn is_finished(self) -> bool {
        matches!(self, State::Completed | State::Failed | State::Cancelled)
    }
}

/// One entry of the record's `errors` list (Icarus's `ErrorObject`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Host name of the sidecar that saw the error.
    pub source: String,
    pub message: String,
}

/// An operation as stored in the journal. Timestamps are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    pub id: Uuid,
    /// Submission order; breaks ties between equal creation times.
    pub seq: u64,
    /// Bumped on every change, so the journal never lets an older write replace a newer one.
    pub version: u64,
    pub state: State,
    pub progress: f64,
    pub creation_ms: i64,
    pub start_ms: Option<i64>,
    pub completion_ms: Option<i64>,
    pub errors: Vec<ErrorObject>,
    pub failure_cause: Option<Value>,
    pub request: Request,
    /// What the operation found or did (`sstables`, `bytes`, `failedDirectories`...), shown as
    /// extra top-level fields.
    pub extra: Map<String, Value>,
}

impl OperationRecord {
    pub fn new(id: Uuid, seq: u64, request: Request, now_ms: i64) -> Self {
        OperationRecord {
            id,
            seq,
            version: 0,
            state: State::Pending,
            progress: 0.0,
            creation_ms: now_ms,
            start_ms: None,
            completion_ms: None,
            errors: Vec::new(),
            failure_cause: None,
            request,
            extra: Map::new(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.request.type_name()
    }

    /// The record as the API shows it: Icarus's `BaseOperation` plus the request's fields plus
    /// our extras. Absent timestamps and causes are left out rather than sent as `null`.
    pub fn to_api_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), Value::from(self.type_name()));
        out.insert("id".into(), Value::from(self.id.to_string()));
        out.insert("state".into(), Value::from(self.state.as_str()));
        out.insert("progress".into(), Value::from(self.progress));
        out.insert(
            "creationTime".into(),
            Value::from(format_ms(self.creation_ms)),
        );
        if let Some(ms) = self.start_ms {
            out.insert("startTime".into(), Value::from(format_ms(ms)));
        }
        if let Some(ms) = self.completion_ms {
            out.insert("completionTime".into(), Value::from(format_ms(ms)));
        }
        out.insert(
            "errors".into(),
            serde_json::to_value(&self.errors).unwrap_or_else(|_| Value::Array(Vec::new())),
        );
        if let Some(cause) = &self.failure_cause {
            out.insert("failureCause".into(), cause.clone());
        }
        for (k, v) in self.request.fields() {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &self.extra {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(out)
    }
}

impl OperationRecord {
    /// `to_api_json` as the bytes the API sends, in an allocation of exactly their size (a
    /// finished record is kept as these bytes for as long as it is retained).
    pub fn to_api_bytes(&self) -> Vec<u8> {
        // Serializing a `Value` cannot fail (its keys are strings); `null` is never expected.
        let mut bytes =
            serde_json::to_vec(&self.to_api_json()).unwrap_or_else(|_| b"null".to_vec());
        bytes.shrink_to_fit();
        bytes
    }
}

/// `failureCause`: what Cassandra threw, as it threw it, or `{kind, message}` for a failure of
/// the sidecar's own.
pub struct FailureCause;

impl FailureCause {
    /// `{kind, message}`.
    pub fn own(kind: &str, message: &str) -> Value {
        json!({ "kind": kind, "message": message })
    }

    /// A node error: its throwable when Cassandra threw, else `{kind, message}`.
    pub fn of_node(error: &NodeError) -> Value {
        match error {
            NodeError::Java { throwable } => throwable_json(throwable),
            other => FailureCause::own(other.kind_name(), &other.to_string()),
        }
    }

    /// The `errors` entry and the `failureCause` of a failed operation.
    pub fn of(error: &OperationError) -> (String, Value) {
        let cause = match error {
            OperationError::Node { source } => FailureCause::of_node(source),
            OperationError::Failed { kind, message } => FailureCause::own(kind, message),
            OperationError::FailedAt { kind, message, .. } => FailureCause::own(kind, message),
            other => FailureCause::own("Internal", &other.to_string()),
        };
        (error.to_string(), cause)
    }
}

/// A throwable as the API shows it: `class`, `message`, `stackTrace` (`className`, `methodName`,
/// `fileName`, `lineNumber`), `cause`, and `suppressed` and `wrapper` only when there are some.
pub fn throwable_json(t: &JavaThrowable) -> Value {
    let mut out = Map::new();
    out.insert("class".into(), json!(t.class));
    out.insert("message".into(), json!(t.message));
    let frames: Vec<Value> = t
        .stack_trace
        .iter()
        .map(|f| {
            json!({
                "className": f.class_name,
                "methodName": f.method_name,
                "fileName": f.file_name,
                "lineNumber": f.line_number,
            })
        })
        .collect();
    out.insert("stackTrace".into(), Value::Array(frames));
    out.insert(
        "cause".into(),
        t.cause.as_deref().map_or(Value::Null, throwable_json),
    );
    if !t.suppressed.is_empty() {
        out.insert(
            "suppressed".into(),
            Value::Array(t.suppressed.iter().map(throwable_json).collect()),
        );
    }
    if let Some(wrapper) = &t.wrapper {
        out.insert("wrapper".into(), json!(wrapper));
    }
    Value::Object(out)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    (nanos / 1_000_000) as i64
}

const ISO_MILLIS: EncodedConfig = Config::DEFAULT
    .set_time_precision(TimePrecision::Second {
        decimal_digits: std::num::NonZeroU8::new(3),
    })
    .encode();

/// `2026-11-28T21:39:41.123Z`.
pub fn format_ms(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(&Iso8601::<ISO_MILLIS>)
        .unwrap_or_else(|_| ms.to_string())
}

/// The name this sidecar reports as an error's `source`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_millis() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_795_902_381_123), "2026-11-28T21:46:21.123Z");
    }

    #[test]
    fn throwables_show_as_earlier_builds_showed_them() {
        let mut t = JavaThrowable::new("java.lang.RuntimeException", Some("outer"));
        t.cause = Some(Box::new(JavaThrowable::new("java.io.IOException", None)));
        let json = throwable_json(&t);
        assert_eq!(
            json,
            json!({"class": "java.lang.RuntimeException", "message": "outer", "stackTrace": [],
                   "cause": {"class": "java.io.IOException", "message": null, "stackTrace": [],
                             "cause": null}})
        );
        let own = FailureCause::of_node(&NodeError::Timeout {
            message: "no answer".into(),
        });
        assert_eq!(own["kind"], "Timeout");
        assert_eq!(own["message"], "JMX call timed out: no answer");
    }

    #[test]
    fn states_parse_case_insensitively() {
        assert_eq!(State::parse("running"), Some(State::Running));
        assert_eq!(State::parse("CANCELLED"), Some(State::Cancelled));
        assert_eq!(State::parse("DONE"), None);
        assert!(State::Failed.is_finished() && !State::Pending.is_finished());
    }
}
