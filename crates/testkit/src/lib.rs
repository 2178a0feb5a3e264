//! Test support shared by the workspace's tests, kept out of the product crates: nothing here
//! is compiled into the sidecar, and no product crate depends on this one (only
//! `[dev-dependencies]` do).
//!
//! - [`storage`]: local S3, GCS and Azure servers (moto, fake-gcs-server, Azurite) installed by
//!   `scripts/emulators`.
//! - [`http_client`], [`http_builder`]: reqwest clients for tests that send requests of their own.

pub mod storage;

/// A reqwest client builder, the process's TLS provider installed first (reqwest has none of its
/// own and panics building a client without one; `tls_provider` says why).
pub fn http_builder() -> reqwest::ClientBuilder {
    tls_provider::install();
    reqwest::Client::builder()
}

/// A reqwest client with reqwest's defaults (see [`http_builder`]).
pub fn http_client() -> reqwest::Client {
    http_builder().build().expect("HTTP client")
}
