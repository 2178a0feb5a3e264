//! object_store's own GCS writes against fake-gcs-server: the XML "PUT Object" and the XML
//! multipart upload, which the emulator refuses and `testkit::storage::GcsFront` turns
//! into its JSON API. These tests check that the front is what makes them work, and that
//! `backup::transfer::upload` writes, through object_store's GCS client, both a file sent in
//! one put and one sent in parts.

use std::collections::BTreeMap;

use backup::transfer::{upload, TransferOptions, UploadFile, UploadOutcome};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use testkit::storage::Server;
use tokio_util::sync::CancellationToken;

use crate::scenarios::Backend;

const MIB: usize = 1024 * 1024;

/// Sent straight to the emulator, object_store's two writes are refused: when the emulator
/// learns them this fails, and the front should go.
pub async fn emulator_alone_refuses_object_store_uploads(server: &Server) {
    let mut settings: BTreeMap<String, String> = server.settings.clone();
    settings.insert("GOOGLE_BASE_URL".into(), server.server_url.clone());
    let storage = Backend::with_settings("gcp", settings)
        .open("refused-uploads")
        .await;
    let store = storage.store();
    let put = store
        .put(&Path::from("probe/single"), PutPayload::from_static(b"x"))
        .await
        .expect_err("the emulator accepted object_store's XML PUT");
    assert!(put.to_string().contains("invalid uploadType"), "{put}");
    let multipart = store
        .put_multipart(&Path::from("probe/multipart"))
        .await
        .expect_err("the emulator accepted object_store's XML multipart initiation");
    assert!(
        multipart.to_string().contains("invalid uploadType"),
        "{multipart}"
    );
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert!(listed.is_empty(), "refused uploads left {listed:?}");
}

/// Through the front: a single put answers an ETag and reads back; a multipart upload of
/// several parts reads back joined in order; an aborted one leaves nothing.
pub async fn front_accepts_object_store_uploads(server: &Server) {
    let storage = Backend::server("gcp", server).open("front-uploads").await;
    let store = storage.store();

    let single = Path::from("probe/single object");
    let put = store
        .put(&single, PutPayload::from_static(b"one put"))
        .await
        .unwrap();
    assert!(put.e_tag.is_some_and(|e| !e.is_empty()), "no ETag");
    let read = store.get(&single).await.unwrap().bytes().await.unwrap();
    assert_eq!(read.as_ref(), b"one put");

    let joined = Path::from("probe/joined");
    let mut writing = store.put_multipart(&joined).await.unwrap();
    let parts: Vec<Vec<u8>> = (0..3u8).map(|i| vec![b'a' + i; 5 * MIB + 7]).collect();
    for part in &parts {
        writing
            .put_part(PutPayload::from(part.clone()))
            .await
            .unwrap();
    }
    let completed = writing.complete().await.unwrap();
    assert!(completed.e_tag.is_some_and(|e| !e.is_empty()), "no ETag");
    let read = store.get(&joined).await.unwrap().bytes().await.unwrap();
    assert_eq!(read.as_ref(), parts.concat().as_slice());

    let aborted = Path::from("probe/aborted");
    let mut writing = store.put_multipart(&aborted).await.unwrap();
    writing
        .put_part(PutPayload::from(vec![1u8; 5 * MIB]))
        .await
        .unwrap();
    writing.abort().await.unwrap();
    let listed: Vec<String> = store
        .list(None)
        .map_ok(|meta| meta.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, ["probe/joined", "probe/single object"]);
}

/// `backup::transfer::upload` with its default options: a small file in one put, a file over
/// one part (8 MiB) in a multipart upload; both read back with the hashes it reported.
pub async fn transfer_uploads_single_and_multipart(server: &Server) {
    let storage = Backend::server("gcp", server).open("transfers").await;
    let store = storage.store().clone();
    let dir = tempfile::tempdir().unwrap();
    let options = TransferOptions::default();
    let sizes = [1_000usize, options.part_size * 2 + 12_345];
    let mut files = Vec::new();
    let mut contents = Vec::new();
    for (i, size) in sizes.into_iter().enumerate() {
        let bytes: Vec<u8> = (0..size).map(|b| (b * 31 + i * 7) as u8).collect();
        let path = dir.path().join(format!("nb-{i}-big-Data.db"));
        std::fs::write(&path, &bytes).unwrap();
        files.push(UploadFile {
            path,
            key: Path::from(format!("data/ks/t-0123/{i}-42/nb-{i}-big-Data.db")),
            size: size as u64,
        });
        contents.push(bytes);
    }
    let uploaded = upload(store.clone(), files, &options, &CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("upload through the GCS client: {e}"));
    for (file, bytes) in uploaded.iter().zip(&contents) {
        assert_eq!(file.outcome, UploadOutcome::Uploaded);
        assert_eq!(file.sha256, hex::encode(Sha256::digest(bytes)));
        let read = store.get(&file.key).await.unwrap().bytes().await.unwrap();
        assert_eq!(read.len(), bytes.len(), "{}", file.key);
        assert!(read.as_ref() == bytes.as_slice(), "{} differs", file.key);
    }
}
