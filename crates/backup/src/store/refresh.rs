//! Refreshing an object that is already stored: making it look newly written, without sending
//! its bytes again, so that bucket lifecycle rules that expire objects by age (last-modified)
//! do not remove an object a newer backup still references (Esop's "refresh" of dedup hits).
//!
//! One small request per object, per provider, with the store's own credentials:
//! - `file://`: the file's modification time is set to now.
//! - S3: `CopyObject` onto itself with `x-amz-metadata-directive: REPLACE` (S3 refuses a copy
//!   onto itself that changes nothing), or beyond 5 GiB a multipart upload of `UploadPartCopy`
//!   ranges (`s3_copy`); server-side, with the store's encryption settings sent again.
//! - GCS: XML API copy onto itself with `x-goog-metadata-directive: REPLACE` (required by GCS
//!   for a copy onto itself).
//! - Azure: Set Blob Metadata with one key; any write of a blob's metadata moves its
//!   Last-Modified.
//!
//! object_store's own `copy` cannot be used: it sends no metadata directive, so S3 and GCS
//! refuse a copy onto itself, and on a local file system it only relinks the file, leaving the
//! modification time as it was. Owns these requests only; whether to refresh is the caller's.

use std::time::SystemTime;

use futures::future::BoxFuture;
use object_store::client::HttpRequestBody;
use object_store::path::Path;
use percent_encoding::utf8_percent_encode;

use super::rest::{encode_key, generic, send, SEGMENT};
use super::s3_copy::{CopyLimits, SelfCopy};
use super::{gcs_token, BucketApi, Storage};
use crate::transfer::RefreshObject;

/// The metadata key an Azure refresh sets (Esop also marks refreshed blobs with a key).
const AZURE_REFRESH_KEY: &str = "x-ms-meta-refreshed";

impl Storage {
    /// Makes the object at `key` (of `size` bytes) count as newly written, without sending its
    /// bytes. A missing object is [`object_store::Error::NotFound`]; every other failure names
    /// the request that failed.
    pub async fn refresh(&self, key: &Path, size: u64) -> Result<(), object_store::Error> {
        match &self.bucket_api {
            BucketApi::File { local, within, .. } => {
                if !within.is_empty() {
                    super::confined::check(local, within, key)?;
                }
                let path = local.path_to_filesystem(key)?;
                let key = key.to_string();
                tokio::task::spawn_blocking(move || touch(&path, &key))
                    .await
                    .map_err(|e| generic("LocalFileSystem", e.to_string()))?
            }
            BucketApi::S3 {
                s3,
                region,
                http,
                encryption,
            } => {
                SelfCopy {
                    s3,
                    region,
                    http,
                    encryption,
                    bucket: &self.location.bucket,
                    key,
                }
                .run(size, CopyLimits::default())
                .await
            }
            BucketApi::Gcs {
                gcs,
                base_url,
                anonymous,
                http,
                ..
            } => {
                let bucket = utf8_percent_encode(&self.location.bucket, SEGMENT).to_string();
                let encoded = encode_key(key);
                let mut request = http::Request::builder()
                    .method(http::Method::PUT)
                    .uri(format!("{base_url}/{bucket}/{encoded}"))
                    .header("x-goog-copy-source", format!("{bucket}/{encoded}"))
                    .header("x-goog-metadata-directive", "REPLACE")
                    .header("content-length", "0");
                if !anonymous {
                    let token = gcs_token(gcs, &self.location)
                        .await
                        .map_err(|e| generic("GCS", e.to_string()))?;
                    request = request.header("authorization", format!("Bearer {}", token.bearer));
                }
                let request = request
                    .body(HttpRequestBody::empty())
                    .map_err(|e| generic("GCS", e.to_string()))?;
                send(http, request, "GCS", key).await.map(|_| ())
            }
            BucketApi::Azure {
                azure,
                container_url,
                account,
                http,
                ..
            } => {
                let millis = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                let url = format!(
                    "{}/{}?comp=metadata",
                    container_url.trim_end_matches('/'),
                    encode_key(key)
                );
                let mut request = http::Request::builder()
                    .method(http::Method::PUT)
                    .uri(url)
                    .header(AZURE_REFRESH_KEY, millis.to_string())
                    .header("content-length", "0")
                    .body(HttpRequestBody::empty())
                    .map_err(|e| generic("MicrosoftAzure", e.to_string()))?;
                let credential = azure.credentials().get_credential().await?;
                object_store::azure::AzureAuthorizer::new(&credential, account)
                    .try_authorize(&mut request)?;
                send(http, request, "MicrosoftAzure", key).await.map(|_| ())
            }
        }
    }
}

impl RefreshObject for Storage {
    fn refresh<'a>(
        &'a self,
        key: &'a Path,
        size: u64,
    ) -> BoxFuture<'a, Result<(), object_store::Error>> {
        Box::pin(Storage::refresh(self, key, size))
    }
}

/// Sets the file's modification time to now (opening it for writing, which changes nothing).
fn touch(path: &std::path::Path, key: &str) -> Result<(), object_store::Error> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => object_store::Error::NotFound {
                path: key.to_string(),
                source: source.into(),
            },
            _ => generic(
                "LocalFileSystem",
                format!("cannot open {}: {source}", path.display()),
            ),
        })?;
    file.set_modified(SystemTime::now()).map_err(|source| {
        generic(
            "LocalFileSystem",
            format!(
                "cannot set the modification time of {}: {source}",
                path.display()
            ),
        )
    })
}
