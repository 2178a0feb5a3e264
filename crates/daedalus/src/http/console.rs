//! The console: one page (`GET /ui`), its script and its style, embedded in the binary as plain
//! files from `crates/daedalus/console/` (no build step, no CDN, no font), and `GET /ui/session`,
//! which tells the page what the caller's token may do.
//!
//! Owns serving those files with headers that keep the page from being framed, from running any
//! script but its own, and from talking to any origin but this sidecar's. The page shell carries
//! no data, so it is served without a token (`auth::OPEN_PATHS`); everything it shows comes from
//! the API, asked with the token the operator types, as any other client asks. It must not
//! serve data itself nor change anything.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

use super::auth::Role;
use super::state::AppState;

const PAGE: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLE: &str = include_str!("../../console/console.css");

/// The paths of the page and its files (served without a token).
pub const ASSET_PATHS: &[&str] = &["/ui", "/ui/", "/ui/console.js", "/ui/console.css"];

/// Bytes the console embeds in the binary.
pub const EMBEDDED_BYTES: usize = PAGE.len() + SCRIPT.len() + STYLE.len();

// The console stays small: every byte of it is in every sidecar's binary.
const _: () = assert!(EMBEDDED_BYTES < 200 * 1024);

/// Only this sidecar's own script, style and API; never inside a frame (a framed page could be
/// clicked on behalf of another site); no form posts anywhere.
const POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes, merged into the application router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ui", get(page))
        .route("/ui/", get(page))
        .route("/ui/console.js", get(script))
        .route("/ui/console.css", get(style))
        .route("/ui/session", get(session))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // Small files: always revalidated, so an upgraded sidecar never serves a stale script.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `{"role": "read"|"operate", "tokens": bool}`: the role of the token the request carried
/// (`operate` when the sidecar checks no tokens), so the page shows actions only to who may act.
/// The API refuses them anyway; this only keeps buttons that would fail off the page.
async fn session(role: Option<Extension<Role>>) -> Response {
    let (role, tokens) = match role {
        Some(Extension(role)) => (role, true),
        None => (Role::Operate, false),
    };
    let mut response = Json(json!({ "role": role.as_str(), "tokens": tokens })).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("header value"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_only_its_own_files() {
        assert!(PAGE.contains("/ui/console.js") && PAGE.contains("/ui/console.css"));
        for text in [PAGE, SCRIPT, STYLE] {
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "an external URL"
            );
        }
    }
}
