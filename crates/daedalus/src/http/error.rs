//! The API's error type and its one mapping to HTTP: status + JSON `{"error","field","message"}`.
//!
//! Owns which failure gets which status code. It must not build success responses or know how
//! errors arise beyond the `From` conversions.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::engine::{CancelError, SubmitError};
use crate::journal::JournalError;
use crate::operations::ValidationError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// 400: the request is invalid; nothing was created.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// 404: no such operation (or not an operation id at all).
    #[error("{0}")]
    NotFound(String),
    /// 409: an unfinished operation conflicts with the submitted one; the body names it.
    #[error("{message}")]
    Busy { message: String, record: Value },
    /// 413: body over the limit.
    #[error("request body too large")]
    TooLarge,
    /// 503: the journal could not store the change, so it was not accepted.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// 503 + `Retry-After`: the queue of pending operations is full; nothing was journaled.
    #[error("{pending} operations are already waiting; try again later")]
    QueueFull { pending: usize },
}

/// Seconds a client is asked to wait when the queue is full.
pub const RETRY_AFTER_SECS: u64 = 5;

impl From<CancelError> for AppError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound(id) => AppError::NotFound(format!("no operation {id}")),
            // The cancel handler answers this one itself (202 with the record).
            CancelError::Finished(record) => AppError::Busy {
                message: format!("operation {} has already finished", record.id),
                record: record.to_api_json(),
            },
            CancelError::Journal(e) => AppError::Journal(e),
        }
    }
}

impl From<SubmitError> for AppError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Refused(e) => AppError::Invalid(e),
            SubmitError::Conflict {
                message, record, ..
            } => AppError::Busy {
                message,
                record: record.to_api_json(),
            },
            SubmitError::Journal(e) => AppError::Journal(e),
            SubmitError::QueueFull { pending } => AppError::QueueFull { pending },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            AppError::Invalid(e) => (
                StatusCode::BAD_REQUEST,
                json!({ "error": e.error, "field": e.field, "message": e.message }),
            ),
            AppError::NotFound(message) => (
                StatusCode::NOT_FOUND,
                json!({ "error": "not_found", "field": null, "message": message }),
            ),
            AppError::Busy { message, record } => (
                StatusCode::CONFLICT,
                json!({
                    "error": "conflict",
                    "field": null,
                    "message": message,
                    "conflictingOperationId": record.get("id").cloned().unwrap_or(Value::Null),
                    "operation": record,
                }),
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({ "error": "too_large", "field": null, "message": self.to_string() }),
            ),
            AppError::Journal(e) => {
                tracing::error!(error = %e, "journal write failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "journal_unavailable", "field": null, "message": e.to_string() }),
                )
            }
            AppError::QueueFull { .. } => return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(
                    axum::http::header::RETRY_AFTER,
                    RETRY_AFTER_SECS.to_string(),
                )],
                Json(json!({ "error": "queue_full", "field": null, "message": self.to_string() })),
            )
                .into_response(),
        };
        (status, Json(body)).into_response()
    }
}
