//! The operation requests the API accepts, one module per operation type.
//!
//! Owns parsing and validation of a request body (→ `ValidationError`, which the HTTP edge turns
//! into a 400) and dispatch of `run` to the operation's own module. It must not touch the journal
//! or the HTTP types; running code reaches the node and the record only through `RunContext`.

pub mod import;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{RunContext, RunError};

pub use import::ImportRequest;

/// The operation types this sidecar knows, as they appear in `type`.
pub const KNOWN_TYPES: &[&str] = &["import"];

/// A validated request; the `type` field selects the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OperationRequest {
    Import(ImportRequest),
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
        }
    }

    /// What an operator should check when the sidecar stopped while this operation ran.
    pub fn restart_advice(&self) -> String {
        match self {
            OperationRequest::Import(request) => request.restart_advice(),
        }
    }

    /// Runs the operation to its end. Progress, findings and cancellation go through `ctx`.
    pub async fn run(&self, ctx: &RunContext) -> Result<(), RunError> {
        match self {
            OperationRequest::Import(request) => request.run(ctx).await,
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
