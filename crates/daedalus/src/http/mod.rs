//! The HTTP edge: the Icarus-compatible routes over the engine.
//!
//! Owns the `Router` (`app`), request parsing (body, query, path id) and response shapes (status,
//! `Location`). It must not run operations or touch the journal except through `Engine`.

mod operations;
// Read endpoints (status, versions, topology, config, health, readiness, OpenAPI).
pub mod read;

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
