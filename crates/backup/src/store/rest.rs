//! One signed request to a store's REST API, for the calls object_store does not make
//! (`refresh`, `s3_copy`): the key as it goes into a URL path, sending the request, and its
//! failure as the matching object_store error.
//!
//! Owns these three pieces only; signing is the caller's (object_store's authorizers).

use object_store::client::HttpRequest;
use object_store::path::Path;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Characters kept as they are in a URL path segment (RFC 3986 unreserved).
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The key with each segment percent-encoded, as it goes into a URL path.
pub(super) fn encode_key(key: &Path) -> String {
    key.as_ref()
        .split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Sends a signed request and returns the body of a successful answer. 404, 401 and 403 become
/// the matching object_store errors (which no retry heals); other failures are `Generic`.
pub(super) async fn send(
    http: &reqwest::Client,
    request: HttpRequest,
    store: &'static str,
    key: &Path,
) -> Result<String, object_store::Error> {
    let (parts, body) = request.into_parts();
    let body = body.as_bytes().cloned().unwrap_or_default();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| generic(store, format!("request failed: {e}")))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        return Ok(body);
    }
    let detail = format!("HTTP {status}: {}", body.trim());
    let (path, source) = (key.to_string(), detail.clone().into());
    Err(match status {
        reqwest::StatusCode::NOT_FOUND => object_store::Error::NotFound { path, source },
        reqwest::StatusCode::UNAUTHORIZED => object_store::Error::Unauthenticated { path, source },
        reqwest::StatusCode::FORBIDDEN => object_store::Error::PermissionDenied { path, source },
        _ => generic(store, detail),
    })
}

/// A failure no retry is known to heal, named by its store.
pub(super) fn generic(store: &'static str, detail: String) -> object_store::Error {
    object_store::Error::Generic {
        store,
        source: detail.into(),
    }
}
