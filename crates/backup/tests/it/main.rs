//! Integration tests of the backup storage layer against real stores: `file://`, and an S3
//! (moto), a GCS (fake-gcs-server) and an Azure (Azurite) server on loopback, installed by
//! `scripts/emulators` on first use. A server that cannot start fails its test.

mod gcs_uploads;
mod scenarios;
mod servers;

use scenarios::Backend;
use servers::Server;

#[tokio::test]
async fn file_bucket_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::bucket_lifecycle(&Backend::file(dir.path())).await;
}

#[tokio::test]
async fn file_backup_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::backup_round_trip(&Backend::file(dir.path())).await;
}

#[tokio::test]
async fn file_removal_keeps_shared_objects() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::removal_keeps_shared_objects(&Backend::file(dir.path())).await;
}

#[tokio::test]
async fn file_listing_past_1000_keys() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::listing_past_1000_keys(&Backend::file(dir.path()), 1_005).await;
}

#[tokio::test]
async fn s3_server() {
    let server = Server::s3();
    scenarios::all(&Backend::server("s3", &server), 1_005).await;
}

#[tokio::test]
async fn gcs_server() {
    let server = Server::gcs();
    scenarios::all(&Backend::server("gcp", &server), 1_005).await;
}

#[tokio::test]
async fn azure_server() {
    let server = Server::azure();
    scenarios::all(&Backend::server("azure", &server), 1_005).await;
}
