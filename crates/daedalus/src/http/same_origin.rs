//! Refuses a state-changing request (`POST`, `DELETE`, ...) that a browser sent on behalf of
//! another site: one whose `Origin` is neither this sidecar nor an origin of `--cors-origin`, or,
//! without `Origin`, one the browser marks `Sec-Fetch-Site: cross-site` or `same-site`.
//!
//! Why: with bearer tokens a forged request carries no credential (browsers attach none to a
//! header), but a sidecar may run without tokens on loopback, where any page the operator opens
//! could post a form to `127.0.0.1:4567`. Clients that are not browsers (curl, Icarus clients,
//! peer sidecars) send neither header and pass. Owns that check only; it must not look at
//! tokens or bodies.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::Role;

/// The middleware; `allowed` are the origins of `--cors-origin`.
pub async fn refuse_cross_site(
    State(allowed): State<Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    if Role::required_for(request.method()) == Role::Read {
        return next.run(request).await;
    }
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let authority = request
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()));
    let refused = match origin {
        Some(origin) => !allowed.iter().any(|a| a == origin) && !same_authority(origin, authority),
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site == "cross-site" || site == "same-site"),
    };
    if refused {
        tracing::warn!(origin = origin.unwrap_or("-"), path = %request.uri().path(), "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            Json(json!({
                "error": "forbidden",
                "field": null,
                "message": "a request from another site may not change anything here; \
                            an origin allowed to is named with --cors-origin",
            })),
        )
            .into_response();
    }
    next.run(request).await
}

/// Whether `origin` (`scheme://host[:port]`) names the host and port the request was sent to.
fn same_authority(origin: &str, authority: Option<&str>) -> bool {
    match (origin.split_once("://"), authority) {
        (Some((_, host)), Some(authority)) => host.eq_ignore_ascii_case(authority),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_by_host_and_port() {
        assert!(same_authority(
            "http://127.0.0.2:4590",
            Some("127.0.0.2:4590")
        ));
        assert!(same_authority("https://[::1]:4590", Some("[::1]:4590")));
        assert!(!same_authority(
            "http://evil.example",
            Some("127.0.0.2:4590")
        ));
        assert!(!same_authority(
            "http://127.0.0.2:4591",
            Some("127.0.0.2:4590")
        ));
        assert!(!same_authority("null", Some("127.0.0.2:4590")));
        assert!(!same_authority("http://127.0.0.2:4590", None));
    }
}
