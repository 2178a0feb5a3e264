//! A `file://` store kept inside given directories: every object it reads, writes, lists,
//! copies or removes must resolve inside one of them once `..` and symbolic links met inside
//! the bucket are followed, else the call fails with `PermissionDenied` and touches nothing.
//!
//! Owns that check around `LocalFileSystem`; which directories are allowed is the caller's to
//! say (`StoreOptions::file_within`). It must not change what the store does otherwise.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

use crate::confine;

/// `LocalFileSystem`, refusing any object outside `within`.
#[derive(Debug)]
pub(super) struct ConfinedFs {
    inner: Arc<LocalFileSystem>,
    within: Arc<Vec<PathBuf>>,
}

impl ConfinedFs {
    pub(super) fn new(inner: Arc<LocalFileSystem>, within: Vec<PathBuf>) -> ConfinedFs {
        ConfinedFs {
            inner,
            within: Arc::new(within),
        }
    }

    fn check(&self, location: &Path) -> Result<()> {
        check(&self.inner, &self.within, location)
    }
}

/// Fails with `PermissionDenied` when the file of `location` resolves outside `within`.
pub(super) fn check(local: &LocalFileSystem, within: &[PathBuf], location: &Path) -> Result<()> {
    let path = local.path_to_filesystem(location)?;
    if confine::is_inside(&path, within) {
        return Ok(());
    }
    let shown: Vec<String> = within.iter().map(|d| d.display().to_string()).collect();
    Err(object_store::Error::PermissionDenied {
        path: location.to_string(),
        source: format!(
            "{} resolves outside the directories this file:// store may use ({}): a symbolic \
             link inside the bucket leads out of them",
            path.display(),
            shown.join(", ")
        )
        .into(),
    })
}

impl fmt::Display for ConfinedFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Confined({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for ConfinedFs {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.check(location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.check(location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.check(location)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.check(location)?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let (inner, within) = (self.inner.clone(), self.within.clone());
        let checked = locations
            .map(move |location| {
                let location = location?;
                check(&inner, &within, &location)?;
                Ok(location)
            })
            .boxed();
        self.inner.delete_stream(checked)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let (inner, within) = (self.inner.clone(), self.within.clone());
        self.inner
            .list(prefix)
            .map(move |meta| {
                let meta = meta?;
                check(&inner, &within, &meta.location)?;
                Ok(meta)
            })
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let (inner, within) = (self.inner.clone(), self.within.clone());
        self.inner
            .list_with_offset(prefix, offset)
            .map(move |meta| {
                let meta = meta?;
                check(&inner, &within, &meta.location)?;
                Ok(meta)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        if let Some(prefix) = prefix {
            self.check(prefix)?;
        }
        let listed = self.inner.list_with_delimiter(prefix).await?;
        for location in listed
            .common_prefixes
            .iter()
            .chain(listed.objects.iter().map(|o| &o.location))
        {
            self.check(location)?;
        }
        Ok(listed)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.rename_opts(from, to, options).await
    }
}
