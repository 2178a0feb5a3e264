//! Integration tests of the backup storage layer against real stores: `file://`, and an S3
//! (moto), a GCS (fake-gcs-server) and an Azure (Azurite) server on loopback, installed by
//! `scripts/emulators` on first use. A server that cannot start fails its test.

mod confinement;
mod gcs_uploads;
mod scenarios;
mod transfer;

use scenarios::Backend;
use testkit::storage::Server;

#[tokio::test]
async fn file_bucket_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::bucket_lifecycle(&Backend::file(dir.path())).await;
}

#[tokio::test]
async fn file_refresh_moves_the_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::refresh_moves_last_modified(&Backend::file(dir.path())).await;
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
async fn file_unreadable_manifest_blocks_removal() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::unreadable_manifest_blocks_removal(&Backend::file(dir.path())).await;
}

#[tokio::test]
async fn file_choosing_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    scenarios::choosing_a_backup(&Backend::file(dir.path())).await;
}

/// The plan of a real Cassandra table directory (Digest.crc32 present), from the fixtures.
#[test]
fn plan_of_fixture_sstables() {
    let table = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/fixtures/sstables/sstable-to-arrow/baselines/iot-5b608090e03d11ebb4c1d335f841c590");
    let plan = backup::layout::plan_table_upload(
        "baselines",
        "iot",
        "5b608090e03d11ebb4c1d335f841c590",
        &table,
    )
    .unwrap();
    let digest = std::fs::read_to_string(table.join("md-2-big-Digest.crc32")).unwrap();
    assert_eq!(plan.len(), 8);
    for item in &plan {
        let file = item.local.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            item.key,
            format!("data/baselines/iot-5b608090e03d11ebb4c1d335f841c590/2-{digest}/{file}")
        );
        assert_eq!(item.sstable, "md-2-big");
        assert_eq!(item.size, std::fs::metadata(&item.local).unwrap().len());
    }
}

#[tokio::test]
async fn s3_server() {
    let server = Server::s3();
    scenarios::all(&Backend::server("s3", &server), 1_005).await;
    scenarios::s3_region_and_credentials_dir(&server).await;
    scenarios::s3_multipart_uploads_carry_sha256(&server).await;
    scenarios::unreachable_store_is_named(server, "s3").await;
}

#[tokio::test]
async fn gcs_server() {
    let server = Server::gcs();
    scenarios::all(&Backend::server("gcp", &server), 1_005).await;
    gcs_uploads::emulator_alone_refuses_object_store_uploads(&server).await;
    gcs_uploads::front_accepts_object_store_uploads(&server).await;
    gcs_uploads::transfer_uploads_single_and_multipart(&server).await;
    scenarios::unreachable_store_is_named(server, "gcp").await;
}

#[tokio::test]
async fn azure_server() {
    let server = Server::azure();
    scenarios::all(&Backend::server("azure", &server), 1_005).await;
    scenarios::azure_wrong_key_is_refused(&server).await;
    scenarios::azure_use_emulator_setting(&server).await;
    scenarios::unreachable_store_is_named(server, "azure").await;
}
