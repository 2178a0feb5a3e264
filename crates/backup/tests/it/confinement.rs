//! What keeps the storage layer inside its directories and names missing credentials: a
//! `file://` store with `file_within` refuses objects a symbolic link inside the bucket leads
//! out of, a download with `write_within` writes nothing through such a link, and a cloud
//! store without credentials names every source tried, the metadata service included, without
//! ever reaching 169.254.169.254 (the service is off, or pointed at a dead local port).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use backup::location::StorageLocation;
use backup::store::{Storage, StoreError, StoreOptions};
use backup::transfer::{download, DownloadFile, TransferError, TransferOptions};
use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectKey;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// `<base>/root/bucket` with `<base>/root/bucket/out` a link to `<base>/outside`, which holds
/// `y`.
fn bucket_with_a_link_out() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    std::fs::create_dir_all(base.join("root/bucket/in")).unwrap();
    std::fs::create_dir_all(base.join("outside")).unwrap();
    std::fs::write(base.join("outside/y"), "outside").unwrap();
    std::os::unix::fs::symlink(base.join("outside"), base.join("root/bucket/out")).unwrap();
    (tmp, base)
}

async fn open(base: &Path, within: Vec<PathBuf>) -> Result<Storage, StoreError> {
    let location = StorageLocation::parse(&format!(
        "file://{}/bucket/c/d/n",
        base.join("root").display()
    ))
    .unwrap();
    let options = StoreOptions {
        file_within: within,
        ..StoreOptions::default()
    };
    Storage::open(&location, &options).await
}

#[tokio::test]
async fn a_file_store_keeps_inside_its_directories() {
    let (_tmp, base) = bucket_with_a_link_out();
    let storage = open(&base, vec![base.join("root")]).await.unwrap();
    let store = storage.store();
    let denied = |e: object_store::Error| {
        assert!(
            matches!(e, object_store::Error::PermissionDenied { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("symbolic link"), "{e}");
    };

    store
        .put(&ObjectKey::from("in/x"), PutPayload::from_static(b"in"))
        .await
        .unwrap();
    denied(
        store
            .put(&ObjectKey::from("out/x"), PutPayload::from_static(b"out"))
            .await
            .unwrap_err(),
    );
    assert!(!base.join("outside/x").exists(), "nothing written out");
    denied(store.get(&ObjectKey::from("out/y")).await.unwrap_err());
    denied(store.delete(&ObjectKey::from("out/y")).await.unwrap_err());
    assert!(base.join("outside/y").exists(), "nothing deleted out");
    denied(
        store
            .list(Some(&ObjectKey::from("out")))
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err(),
    );
    denied(
        storage
            .refresh(&ObjectKey::from("out/y"), 7)
            .await
            .unwrap_err(),
    );
    let inside: Vec<_> = store
        .list(Some(&ObjectKey::from("in")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(inside.len(), 1);

    // A bucket outside the directories is not opened, nor created.
    let e = open(&base, vec![base.join("elsewhere")]).await.unwrap_err();
    assert!(matches!(e, StoreError::Directory { .. }), "{e}");

    // Without directories, links are followed as before.
    let open_store = open(&base, Vec::new()).await.unwrap();
    open_store
        .store()
        .put(&ObjectKey::from("out/x"), PutPayload::from_static(b"out"))
        .await
        .unwrap();
    assert!(base.join("outside/x").exists());
}

#[tokio::test]
async fn a_download_writes_nothing_through_a_link_leading_out() {
    let (_tmp, base) = bucket_with_a_link_out();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let key = ObjectKey::from("k");
    store
        .put(&key, PutPayload::from_static(b"bytes"))
        .await
        .unwrap();
    let file = |destination: PathBuf| DownloadFile {
        key: key.clone(),
        destination,
        sha256: Some(hex::encode(Sha256::digest(b"bytes"))),
        size: 5,
    };
    let options = TransferOptions {
        write_within: vec![base.join("root")],
        ..TransferOptions::default()
    };
    let cancel = CancellationToken::new();
    let out = base.join("root/bucket/out/new/x");
    let e = download(store.clone(), vec![file(out)], &options, &cancel)
        .await
        .unwrap_err();
    assert!(matches!(e, TransferError::Outside { .. }), "{e}");
    assert_eq!(std::fs::read_dir(base.join("outside")).unwrap().count(), 1);

    let inside = base.join("root/bucket/in/new/x");
    download(store, vec![file(inside.clone())], &options, &cancel)
        .await
        .unwrap();
    assert_eq!(std::fs::read(inside).unwrap(), b"bytes");
}

fn no_environment(settings: &[(&str, &str)]) -> StoreOptions {
    StoreOptions {
        read_environment: false,
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        retry: object_store::RetryConfig {
            max_retries: 0,
            retry_timeout: Duration::from_secs(2),
            ..object_store::RetryConfig::default()
        },
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    }
}

/// An address nobody listens on.
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn missing_credentials_name_every_source_tried() {
    for (location, words) in [
        ("s3://bucket/c/d/n", "AWS_ACCESS_KEY_ID"),
        ("gcp://bucket/c/d/n", "GOOGLE_SERVICE_ACCOUNT"),
        ("azure://bucket/c/d/n", "AZURE_STORAGE_ACCOUNT_KEY"),
    ] {
        let gcloud = std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".config/gcloud/application_default_credentials.json"));
        if location.starts_with("gcp") && gcloud.is_some_and(|f| f.exists()) {
            // gcloud's own credentials on this machine are a source too.
            continue;
        }
        let location = StorageLocation::parse(location).unwrap();
        let e = Storage::open(&location, &no_environment(&[]))
            .await
            .unwrap_err();
        let StoreError::NoCredentials(missing) = &e else {
            panic!("{e}");
        };
        assert_eq!(missing.metadata, backup::store::MetadataService::NotAsked);
        let text = e.to_string();
        for expected in [
            "no ",
            "credentials were found",
            "credentials directory",
            "environment was not read",
            "metadata service",
            "not asked",
            words,
        ] {
            assert!(text.contains(expected), "{expected:?} in {text}");
        }
    }

    // Allowed, the service is asked; here it is a dead local port, never 169.254.169.254.
    let dead = dead_url();
    let location = StorageLocation::parse("s3://bucket/c/d/n").unwrap();
    let mut options = no_environment(&[("AWS_METADATA_ENDPOINT", &dead)]);
    options.instance_metadata = true;
    let e = Storage::open(&location, &options).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("gave none") && text.contains("AWS_ACCESS_KEY_ID"),
        "{text}"
    );

    // Credentials in the settings: no complaint (the bucket check is skipped here).
    let mut options = no_environment(&[
        ("AWS_ACCESS_KEY_ID", "a"),
        ("AWS_SECRET_ACCESS_KEY", "b"),
        ("AWS_ENDPOINT_URL", &dead),
    ]);
    options.skip_bucket_verification = true;
    Storage::open(&location, &options).await.unwrap();
}
