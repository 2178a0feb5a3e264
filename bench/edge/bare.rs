//! The baseline of the HTTP edge benchmark: a bare hyper server answering every request with the
//! same bytes and content type the sidecar sends for `GET /operations/{id}`, served the way
//! `axum::serve` serves (hyper-util's auto connection builder on the multi-threaded runtime).
//!
//! Usage: `edge_bare ADDR BODY_FILE` (run through `bench/edge/run.sh`).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect("usage: edge_bare ADDR BODY_FILE");
    let body = Bytes::from(std::fs::read(
        args.next().expect("usage: edge_bare ADDR BODY_FILE"),
    )?);
    let listener = TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let body = Arc::new(body);
    loop {
        let (stream, _) = listener.accept().await?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_request: Request<hyper::body::Incoming>| {
                let body = (*body).clone();
                async move {
                    let mut response = Response::new(Full::new(body));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
