//! The HTTP edge: the Icarus-compatible routes over the engine.
//!
//! Owns the `Router` (`app`), request parsing (body, query, path id) and response shapes (status,
//! `Location`). It must not run operations or touch the journal except through `Engine`.

mod operations;
// Read endpoints (status, versions, topology, config, health, readiness, OpenAPI).
pub mod read;

// --- Production readiness: authentication, TLS, input shape limits (see each module). ---
pub mod auth;
pub mod limits;
pub mod tls;
// --- end ---

use std::future::Future;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::engine::Engine;
use crate::error::AppError;

/// Largest request body accepted (an operation request is a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The application router; tests drive it through a real listener.
pub fn app(engine: Engine) -> Router {
    Router::new()
        .route(
            "/operations",
            get(operations::list).post(operations::submit),
        )
        .route(
            "/operations/{id}",
            get(operations::get_one).delete(operations::cancel),
        )
        // Read endpoints.
        .merge(read::routes())
        .fallback(|| async { AppError::NotFound("no such endpoint".to_string()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(log_request))
        .with_state(engine)
}

// --- Production readiness: the hardened router (metrics, tokens, CORS) and TLS serving. ---

/// Options of the hardened router; `Default` is what `app` serves (no auth, no CORS).
#[derive(Clone, Default)]
pub struct HttpOptions {
    /// Bearer tokens; `None` serves without token checks.
    pub tokens: Option<std::sync::Arc<auth::TokenStore>>,
    /// Origins allowed by CORS; empty means no CORS headers at all.
    pub cors_origins: Vec<String>,
}

/// `app` plus `/metrics`, request counting, token checks and CORS as `options` say.
pub fn app_with(engine: Engine, options: &HttpOptions) -> Result<Router, String> {
    let mut router = app(engine.clone()).merge(
        Router::new()
            .route("/metrics", get(crate::metrics::handler))
            .with_state(engine),
    );
    if let Some(tokens) = &options.tokens {
        router = router.layer(axum::middleware::from_fn_with_state(
            tokens.clone(),
            auth::require_token,
        ));
    }
    if !options.cors_origins.is_empty() {
        let origins = options
            .cors_origins
            .iter()
            .map(|o| {
                o.parse::<axum::http::HeaderValue>()
                    .map_err(|_| format!("--cors-origin {o:?} is not a valid origin"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        router = router.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([
                    axum::http::Method::GET,
                    axum::http::Method::POST,
                    axum::http::Method::DELETE,
                ])
                .allow_headers([
                    axum::http::header::AUTHORIZATION,
                    axum::http::header::CONTENT_TYPE,
                ]),
        );
    }
    Ok(router.layer(axum::middleware::from_fn(crate::metrics::count_requests)))
}

/// Serves `router` on `listener`, over TLS when `tls` is given, until `shutdown` resolves.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    tls: Option<std::sync::Arc<tls::TlsReloader>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(tls) => tls::serve(listener, router, tls, shutdown).await,
        None => {
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}
// --- end ---

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(engine))
        .with_graceful_shutdown(shutdown)
        .await
}

/// One debug line per request: method, path, status.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}
