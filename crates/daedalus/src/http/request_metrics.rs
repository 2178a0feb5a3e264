//! Request counting for `/metrics` (by method, route template and status) and the debug line
//! per request, as one tower layer whose future wraps the inner one in place.
//!
//! Owns what is recorded about every request. It must not change requests or responses. It is
//! a hand-written layer rather than `middleware::from_fn` because it is on every request's path:
//! it neither boxes a future nor clones the inner service per request, and it allocates nothing.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use tower::{Layer, Service};

/// Counts every request by method, matched route (the template, never the raw path, so ids do
/// not explode the label set) and status, and logs it at debug level.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestMetricsLayer;

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> RequestMetrics<S> {
        RequestMetrics { inner }
    }
}

/// The service of [`RequestMetricsLayer`].
#[derive(Clone, Debug)]
pub struct RequestMetrics<S> {
    inner: S,
}

impl<S> Service<Request> for RequestMetrics<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Counted<S::Future> {
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        // The raw path only when the line will be written.
        let path =
            tracing::enabled!(tracing::Level::DEBUG).then(|| request.uri().path().to_string());
        Counted {
            inner: self.inner.call(request),
            method,
            route,
            path,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner response future, counted when it completes.
    pub struct Counted<F> {
        #[pin]
        inner: F,
        method: Method,
        route: Option<MatchedPath>,
        path: Option<String>,
    }
}

impl<F, E> Future for Counted<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = ready!(this.inner.poll(cx));
        if let Ok(response) = &outcome {
            let status = response.status().as_u16();
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            crate::metrics::global().http_request(this.method.as_str(), route, status);
            if let Some(path) = this.path {
                tracing::debug!(method = %this.method, %path, status, "request");
            }
        }
        Poll::Ready(outcome)
    }
}
