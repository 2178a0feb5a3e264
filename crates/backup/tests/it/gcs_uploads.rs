//! fake-gcs-server answers GCS' XML API for reads, listings and deletions, which object_store
//! uses, but not the XML `PUT` of an object (it answers "invalid uploadType"). This store
//! sends writes through the emulator's JSON media upload instead and everything else through
//! object_store's GCS client, so the tests exercise that client against the server wherever
//! the server can answer it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

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
