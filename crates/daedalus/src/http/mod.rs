//! The HTTP edge: the Icarus-compatible routes over the engine and the node handle.
//!
//! Owns the `Router` (`app_with`, the one the binary and the tests serve), its layers (request
//! counting, timeout, tokens, cross-site refusal, CORS), request parsing (body, query, path id),
//! response shapes and the turning of errors into JSON; the console's page is one more route. It must not run operations or touch the journal except
//! through `Engine`.

pub mod auth;
mod cluster_nodes;
mod cluster_operations;
pub mod console;
pub mod error;
pub mod limits;
mod operations;
mod peer_sidecars;
pub mod read;
mod records;
mod request_metrics;
mod same_origin;
mod state;
pub mod tls;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::engine::Engine;
use error::AppError;
pub use records::RecordJson;
pub use state::AppState;

/// Largest request body accepted (an operation request is a few hundred bytes).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Default of `HttpOptions::request_timeout`.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of the router.
#[derive(Clone)]
pub struct HttpOptions {
    /// Bearer tokens; `None` serves without token checks.
    pub tokens: Option<Arc<auth::TokenStore>>,
    /// Origins allowed by CORS; empty means no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// Where `GET /config` finds `cassandra.yaml` (`--cassandra-config FILE|DIR`).
    pub cassandra_config: Option<PathBuf>,
    /// A request still unanswered after this gets 408 (node reads are bounded well below).
    pub request_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            tokens: None,
            cors_origins: Vec::new(),
            cassandra_config: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The application router: every route, `/metrics`, request counting and the request log, the
/// request timeout, token checks and CORS as `options` say.
pub fn app_with(engine: Engine, options: &HttpOptions) -> Result<Router, String> {
    let state = AppState {
        engine,
        records: Arc::new(RecordJson::default()),
        cassandra_config: options.cassandra_config.clone(),
    };
    let mut router = Router::new()
        .route(
            "/operations",
            get(operations::list).post(operations::submit),
        )
        .route(
            "/operations/{id}",
            get(operations::get_one).delete(operations::cancel),
        )
        .merge(read::routes())
        .route("/cluster/nodes", get(cluster_nodes::nodes))
        .route("/cluster/operations", get(cluster_operations::operations))
        .route(
            "/cluster/operations/{id}",
            axum::routing::delete(cluster_operations::cancel),
        )
        .merge(console::routes())
        .route("/metrics", get(metrics))
        .fallback(|| async { AppError::NotFound("no such endpoint".to_string()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            options.request_timeout,
        ))
        .with_state(state);
    if let Some(tokens) = &options.tokens {
        router = router.layer(middleware::from_fn_with_state(
            tokens.clone(),
            auth::require_token,
        ));
    }
    router = router.layer(middleware::from_fn_with_state(
        Arc::new(options.cors_origins.clone()),
        same_origin::refuse_cross_site,
    ));
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
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    Ok(router.layer(request_metrics::RequestMetricsLayer))
}

/// Serves `router` on `listener`, over TLS when `tls` is given, until `shutdown` resolves.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<tls::TlsReloader>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match tls {
        Some(tls) => tls::serve(listener, router, tls, shutdown).await,
        None => {
            // Requests in progress get at most `tls::SHUTDOWN_DRAIN` after the signal, as over TLS.
            let (signalled, drain_starts) = tokio::sync::oneshot::channel::<()>();
            let server = axum::serve(listener, router).with_graceful_shutdown(async move {
                shutdown.await;
                let _ = signalled.send(());
            });
            let drain_over = async {
                if drain_starts.await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(tls::SHUTDOWN_DRAIN).await;
            };
            tokio::select! {
                served = server => served,
                () = drain_over => {
                    tracing::warn!("connections still open {:?} after shutdown; closing them", tls::SHUTDOWN_DRAIN);
                    Ok(())
                }
            }
        }
    }
}

/// `GET /metrics`: the Prometheus text format 0.0.4 the API documents, or OpenMetrics text when
/// the scraper asks for it (`Accept: application/openmetrics-text`, as Prometheus does).
async fn metrics(State(engine): State<Engine>, headers: axum::http::HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let metrics = crate::metrics::global();
    let figures = engine.figures();
    if openmetrics {
        (
            [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
            metrics.render(&figures),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, crate::metrics::CLASSIC_CONTENT_TYPE)],
            metrics.render_classic(&figures),
        )
            .into_response()
    }
}
