//! Handlers of `/operations` and `/operations/{id}`: submit (201 + `Location`), get, list with
//! filters, cancel (202 / 409).
//!
//! Owns turning HTTP requests into engine calls and records into JSON. It must not validate
//! operation fields itself (that is `operations::*::from_json`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use daedalus_client::OPERATION_ID_HEADER;
use serde_json::Value;
use uuid::Uuid;

use super::auth::Role;
use super::error::AppError;
use super::records::RecordJson;
use super::tls::Https;
use crate::engine::{CancelError, Engine, Filter};
use crate::journal::JournalError;
use crate::operations::{Request, ValidationError};
use crate::record::State as OpState;

pub(super) async fn submit(
    State(engine): State<Engine>,
    https: Option<Extension<Https>>,
    role: Option<Extension<Role>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let chosen_id = match headers.get(OPERATION_ID_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| Uuid::parse_str(text.trim()).ok())
                .ok_or_else(|| {
                    ValidationError::invalid(
                        OPERATION_ID_HEADER,
                        format!("the {OPERATION_ID_HEADER} header must be a UUID"),
                    )
                })?,
        ),
    };
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::Invalid(ValidationError::malformed(e.body_text()))
        }
    })?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ValidationError::malformed(format!("the body is not valid JSON: {e}")))?;
    super::limits::check(&value)?; // Production readiness: shape limits first.
                                   // The token middleware leaves the role of a submission to this handler (it depends on the
                                   // type); checked before the fields, so a read token learns nothing of the fields of a type it
                                   // may not submit. Without tokens there is no role and every type is accepted.
    if let Some(Extension(role)) = role {
        let type_name = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !role.may_submit(type_name) {
            tracing::warn!(
                role = role.as_str(),
                r#type = type_name,
                "token role too weak to submit"
            );
            return Ok(super::auth::forbidden(format!(
                "this token has role {}; submitting {type_name:?} needs operate (a read token may submit only {:?})",
                role.as_str(),
                super::auth::READ_ONLY_TYPE,
            )));
        }
    }
    let request = Request::from_json(&value, engine.policy())?;
    engine.preflight(&request).await?;
    // In its own task: a client that goes away mid-request (a coordinator killed while it
    // sends) drops this handler, and a submission stopped between taking the record and
    // queueing it would stay PENDING forever.
    let submitting = engine.clone();
    let (record, created) = tokio::spawn(async move {
        match chosen_id {
            Some(id) => submitting.submit_as(id, request).await,
            None => submitting.submit(request).await.map(|r| (r, true)),
        }
    })
    .await
    .map_err(|e| AppError::Journal(JournalError::Task(e.to_string())))??;
    let location = record_url(&headers, https.is_some(), record.id);
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        [(header::LOCATION, location)],
        Json(record.to_api_json()),
    )
        .into_response())
}

/// Where a new record is, as the Icarus contract gives it: an absolute URL on the host the
/// client named (`http://localhost:4567/operations/<id>`), so that a client fetching the header's
/// value as it is reaches it. Without a `Host` header (HTTP/1.0), the path alone.
fn record_url(headers: &HeaderMap, https: bool, id: Uuid) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()));
    match host {
        Some(host) => {
            let scheme = if https { "https" } else { "http" };
            format!("{scheme}://{host}/operations/{id}")
        }
        None => format!("/operations/{id}"),
    }
}

pub(super) async fn get_one(
    State(engine): State<Engine>,
    State(records): State<Arc<RecordJson>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let body = records
        .one(&engine, id)
        .ok_or_else(|| AppError::NotFound(format!("no operation {id}")))?;
    Ok(json_bytes(body))
}

/// The same JSON array `Json(Value::Array(..))` would send, written from each record's kept
/// serialization instead of serializing every record per request.
pub(super) async fn list(
    State(engine): State<Engine>,
    State(records): State<Arc<RecordJson>>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let filter = parse_filter(query.as_deref().unwrap_or(""))?;
    let body = axum::body::Body::new(records.list(&engine, &filter));
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

fn json_bytes(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub(super) async fn cancel(
    State(engine): State<Engine>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    // In its own task, as submit: a cancel half done when the client left is finished.
    let cancelled = tokio::spawn(async move { engine.cancel(id).await })
        .await
        .map_err(|e| AppError::Journal(JournalError::Task(e.to_string())))?;
    let record = match cancelled {
        Ok(record) => record,
        // Nothing to cancel: 202 as Icarus answers (a client that cancels "just in case"
        // treats anything else as a failure), with the record, which says how it ended.
        Err(CancelError::Finished(record)) => *record,
        Err(other) => return Err(other.into()),
    };
    Ok((StatusCode::ACCEPTED, Json(record.to_api_json())).into_response())
}

/// A malformed id cannot name an operation, so it is a 404 like an unknown one.
fn parse_id(text: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(text).map_err(|_| AppError::NotFound(format!("no operation {text:?}")))
}

/// `type` and `state` (or its alias `status`), each repeatable, each value optionally a
/// comma-separated list.
pub(super) fn parse_filter(query: &str) -> Result<Filter, AppError> {
    let mut filter = Filter::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        for item in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            match key.as_ref() {
                "type" => filter.types.push(item.to_ascii_lowercase()),
                "state" | "status" => {
                    let state = OpState::parse(item).ok_or_else(|| {
                        ValidationError::invalid(
                            &key,
                            format!(
                                "unknown state {item:?}; known states: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED"
                            ),
                        )
                    })?;
                    filter.states.push(state);
                }
                _ => {}
            }
        }
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_repeat_and_alias() {
        let f = parse_filter("type=import&type=flush&state=RUNNING&status=failed").unwrap();
        assert_eq!(f.types, vec!["import", "flush"]);
        assert_eq!(f.states, vec![OpState::Running, OpState::Failed]);
        assert!(parse_filter("state=DONE").is_err());
        assert!(parse_filter("").unwrap().types.is_empty());
    }
}
