//! Why a request is refused ([`ValidationError`], a 400 naming the field) and the decoding
//! helpers every operation's parser shares.
//!
//! Owns the error and `decode`. It must not know any operation's fields.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why a request was refused; becomes `400 {"error", "field", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// A stable, machine-readable code: `missing_field`, `invalid_field`, `unknown_type`,
    /// `malformed_json`, `operation_disabled`.
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

    /// The deployment does not allow this operation type.
    pub fn disabled(message: impl Into<String>) -> Self {
        ValidationError {
            error: "operation_disabled",
            field: Some("type".to_string()),
            message: message.into(),
        }
    }
}

/// Deserializes `T` from a request body, naming the offending field when a value has the wrong
/// shape.
pub(crate) fn decode<T: DeserializeOwned>(body: &Value) -> Result<T, ValidationError> {
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

/// A sorted, deduplicated table list as a conflict key part.
pub(crate) fn tables_key(tables: &[String]) -> String {
    let mut t = tables.to_vec();
    t.sort();
    t.dedup();
    t.join(",")
}
