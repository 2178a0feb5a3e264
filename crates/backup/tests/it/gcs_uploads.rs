//! fake-gcs-server answers GCS' XML API for reads, listings and deletions, which object_store
//! uses, but not the two ways object_store's GCS client writes an object:
//!
//! - a single `PUT /<bucket>/<key>` (the XML "PUT Object"): the emulator routes every `PUT` on
//!   an object path to its JSON insert, which wants `?uploadType=` and answers 400 "invalid
//!   uploadType" (and its uploads answer with a JSON body, no `ETag` header, which
//!   object_store requires);
//! - the XML multipart upload (`POST ?uploads`, `PUT ?partNumber=&uploadId=`,
//!   `POST ?uploadId=`, `DELETE ?uploadId=`), which it does not implement at all
//!   (fsouza/fake-gcs-server#852, still open).
//!
//! No emulator on PyPI or npm implements these either, and no setting of object_store's GCS
//! store sends another request, so this store sends writes through the emulator's JSON media
//! upload instead and everything else through object_store's GCS client. The tests exercise
//! that client against the server wherever the server can answer it;
//! `emulator_refuses_object_store_uploads` checks that the adapter is still needed.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

use crate::scenarios::Backend;
use backup::test_servers::Server;

#[derive(Debug)]
pub struct EmulatorUploads {
    pub inner: Arc<dyn ObjectStore>,
    pub base_url: String,
    pub bucket: String,
    pub http: reqwest::Client,
}

impl fmt::Display for EmulatorUploads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmulatorUploads({})", self.inner)
    }
}

fn generic(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> object_store::Error {
    object_store::Error::Generic {
        store: "fake-gcs-server JSON upload",
        source: source.into(),
    }
}

#[async_trait]
impl ObjectStore for EmulatorUploads {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        _opts: PutOptions,
    ) -> Result<PutResult> {
        let body: Vec<u8> = payload.iter().flat_map(|b| b.iter().copied()).collect();
        let url = format!("{}/upload/storage/v1/b/{}/o", self.base_url, self.bucket);
        let response = self
            .http
            .post(url)
            .query(&[("uploadType", "media"), ("name", location.as_ref())])
            .body(body)
            .send()
            .await
            .map_err(generic)?;
        if !response.status().is_success() {
            return Err(generic(format!(
                "upload of {location} answered {}",
                response.status()
            )));
        }
        Ok(PutResult {
            e_tag: None,
            version: None,
            extensions: Default::default(),
        })
    }

    async fn put_multipart_opts(
        &self,
        _location: &Path,
        _opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        Err(object_store::Error::NotSupported {
            source: "multipart uploads through the emulator".into(),
        })
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// object_store's own GCS uploads, single and multipart, are refused by the emulator; when it
/// learns them this fails, and `EmulatorUploads` should go.
pub async fn emulator_refuses_object_store_uploads(server: &Server) {
    let storage = Backend::server("gcp", server).open("refused-uploads").await;
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
    let listed: Vec<_> = futures::TryStreamExt::try_collect(store.list(None))
        .await
        .unwrap();
    assert!(listed.is_empty(), "refused uploads left {listed:?}");
}
