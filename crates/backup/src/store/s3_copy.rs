//! Copying an S3 object onto itself, server-side, so that it counts as newly written: one
//! `CopyObject` with `x-amz-metadata-directive: REPLACE` up to S3's 5 GiB limit of one copy, a
//! multipart upload whose parts are `UploadPartCopy` ranges of the object beyond it. Requests are
//! signed with object_store's `AwsAuthorizer` and the store's own credentials; the store's
//! server-side encryption headers go with the copy (or the upload's creation) so it keeps them.
//! The XML of the answers and of the part list goes through quick-xml.
//! Owns these requests only; `refresh` decides when to make them.

use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AwsAuthorizer};
use object_store::client::HttpRequestBody;
use object_store::path::Path;
use object_store::signer::Signer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::rest::{encode_key, generic, send};

/// The largest object one S3 `CopyObject` (and one `UploadPartCopy`) accepts.
pub const S3_MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// The part size of a multipart copy, unless 10 000 parts need larger ones.
const PART_SIZE: u64 = 1024 * 1024 * 1024;

/// Parts copied at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Parts of one multipart upload, at most.
const MAX_PARTS: u64 = 10_000;

/// When a copy goes in parts, and how large they are (fixed outside tests).
#[derive(Debug, Clone, Copy)]
pub(super) struct CopyLimits {
    /// Objects above this are copied in parts.
    pub single_copy: u64,
    pub part_size: u64,
}

impl Default for CopyLimits {
    fn default() -> Self {
        CopyLimits {
            single_copy: S3_MAX_COPY,
            part_size: PART_SIZE,
        }
    }
}

/// One object of one bucket, and how to reach it.
pub(super) struct SelfCopy<'a> {
    pub s3: &'a AmazonS3,
    pub region: &'a str,
    pub http: &'a reqwest::Client,
    pub encryption: &'a [(String, String)],
    pub bucket: &'a str,
    pub key: &'a Path,
}

impl SelfCopy<'_> {
    /// Copies the object of `size` bytes onto itself.
    pub async fn run(&self, size: u64, limits: CopyLimits) -> Result<(), object_store::Error> {
        if size <= limits.single_copy {
            let body = self
                .send(
                    reqwest::Method::PUT,
                    &[],
                    &self.copy_headers(&[("x-amz-metadata-directive", "REPLACE".into())], true),
                    None,
                )
                .await?;
            return check_body(&body, self.key, "copy onto itself");
        }
        self.copy_in_parts(size, limits.part_size).await
    }

    async fn copy_in_parts(&self, size: u64, part_size: u64) -> Result<(), object_store::Error> {
        let part_size = part_size.max(size.div_ceil(MAX_PARTS));
        let created = self
            .send(
                reqwest::Method::POST,
                &[("uploads", "")],
                &self.encryption_headers(),
                None,
            )
            .await?;
        check_body(&created, self.key, "create multipart upload")?;
        let upload_id = read::<Initiated>(&created)
            .map(|i| i.upload_id)
            .ok_or_else(|| {
                generic(
                    "S3",
                    format!(
                        "creating a multipart upload of {} gave no UploadId: {created}",
                        self.key
                    ),
                )
            })?;
        let parts: Vec<(u64, u64, u64)> = (0..size.div_ceil(part_size))
            .map(|i| {
                let start = i * part_size;
                (i + 1, start, (start + part_size).min(size) - 1)
            })
            .collect();
        let copied = futures::stream::iter(parts)
            .map(|(number, first, last)| {
                let upload_id = upload_id.clone();
                async move {
                    let number_text = number.to_string();
                    let range = format!("bytes={first}-{last}");
                    let body = self
                        .send(
                            reqwest::Method::PUT,
                            &[("partNumber", &number_text), ("uploadId", &upload_id)],
                            &self.copy_headers(&[("x-amz-copy-source-range", range)], false),
                            None,
                        )
                        .await?;
                    check_body(&body, self.key, "copy part")?;
                    let etag = read::<CopyPartResult>(&body)
                        .map(|r| r.etag)
                        .ok_or_else(|| {
                            generic(
                                "S3",
                                format!(
                                    "copying part {number} of {} gave no ETag: {body}",
                                    self.key
                                ),
                            )
                        })?;
                    Ok::<_, object_store::Error>((number, etag))
                }
            })
            .buffered(PARTS_IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await;
        let completed = match copied {
            Ok(etags) => match complete_list(etags) {
                Ok(list) => self
                    .send(
                        reqwest::Method::POST,
                        &[("uploadId", &upload_id)],
                        &[],
                        Some(list),
                    )
                    .await
                    .and_then(|body| check_body(&body, self.key, "complete multipart upload")),
                Err(e) => Err(generic("S3", format!("the list of parts as XML: {e}"))),
            },
            Err(error) => Err(error),
        };
        if completed.is_err() {
            let aborted = self
                .send(
                    reqwest::Method::DELETE,
                    &[("uploadId", &upload_id)],
                    &[],
                    None,
                )
                .await;
            if let Err(error) = aborted {
                tracing::warn!(key = %self.key, %error, "could not abort a multipart copy; the bucket's lifecycle rules must remove its parts");
            }
        }
        completed
    }

    /// `x-amz-copy-source` (the object itself), `extra`, and the encryption headers when the
    /// request writes the object (not for parts, whose upload already has them).
    fn copy_headers(
        &self,
        extra: &[(&str, String)],
        with_encryption: bool,
    ) -> Vec<(String, String)> {
        let mut headers = vec![(
            "x-amz-copy-source".to_string(),
            format!("{}/{}", self.bucket, encode_key(self.key)),
        )];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        if with_encryption {
            headers.extend(self.encryption_headers());
        }
        headers
    }

    fn encryption_headers(&self) -> Vec<(String, String)> {
        self.encryption.to_vec()
    }

    /// Sends one request to the object's URL with `query`, `headers` and `body`, signed.
    async fn send(
        &self,
        method: reqwest::Method,
        query: &[(&str, &str)],
        headers: &[(String, String)],
        body: Option<String>,
    ) -> Result<String, object_store::Error> {
        // The pre-signed URL of the object is its URL as object_store addresses it.
        let mut url = self
            .s3
            .signed_url(method.clone(), self.key, std::time::Duration::from_secs(60))
            .await?;
        url.set_query(None);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let mut request = http::Request::builder().method(method).uri(url.as_str());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let body = match body {
            Some(text) => HttpRequestBody::from(text),
            None => HttpRequestBody::empty(),
        };
        let mut request = request
            .body(body)
            .map_err(|e| generic("S3", e.to_string()))?;
        let credential = self.s3.credentials().get_credential().await?;
        AwsAuthorizer::new(&credential, "s3", self.region).try_authorize(&mut request, None)?;
        send(self.http, request, "S3", self.key).await
    }
}

/// S3 can fail a copy after answering 200: the error is then in the body.
fn check_body(body: &str, key: &Path, what: &str) -> Result<(), object_store::Error> {
    if body.contains("<Error>") {
        return Err(generic("S3", format!("{what} of {key}: {body}")));
    }
    Ok(())
}

/// `InitiateMultipartUploadResult`: the upload's id.
#[derive(Debug, Deserialize)]
struct Initiated {
    #[serde(rename = "UploadId")]
    upload_id: String,
}

/// `CopyPartResult`: the copied part's ETag.
#[derive(Debug, Deserialize)]
struct CopyPartResult {
    #[serde(rename = "ETag")]
    etag: String,
}

/// The body of `CompleteMultipartUpload`: every part, in order.
#[derive(Debug, Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
struct CompleteMultipartUpload {
    #[serde(rename = "Part")]
    parts: Vec<Part>,
}

#[derive(Debug, Serialize)]
struct Part {
    #[serde(rename = "PartNumber")]
    number: u64,
    #[serde(rename = "ETag")]
    etag: String,
}

/// An XML answer read as `T`; `None` when it is not one.
fn read<T: DeserializeOwned>(body: &str) -> Option<T> {
    quick_xml::de::from_str(body).ok()
}

/// The `CompleteMultipartUpload` body of the copied parts.
fn complete_list(etags: Vec<(u64, String)>) -> Result<String, quick_xml::SeError> {
    quick_xml::se::to_string(&CompleteMultipartUpload {
        parts: etags
            .into_iter()
            .map(|(number, etag)| Part { number, etag })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_read_with_their_entities() {
        let body = "<CopyPartResult><ETag>&quot;abc&quot;</ETag></CopyPartResult>";
        assert_eq!(
            read::<CopyPartResult>(body).map(|r| r.etag).as_deref(),
            Some("\"abc\"")
        );
        assert!(read::<Initiated>(body).is_none());
        let list = complete_list(vec![(1, "\"a&b\"".into())]).unwrap();
        assert!(list.contains("a&amp;b"), "{list}");
        assert!(!list.contains("\"a&b\""), "{list}");
        assert_eq!(
            list,
            format!(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
                list.split("<ETag>").nth(1).unwrap().split("</ETag>").next().unwrap()
            )
        );
    }
}

/// Against moto, with limits small enough for a test object to go in parts.
#[cfg(test)]
mod server_tests {
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;
    use crate::location::StorageLocation;
    use crate::store::{BucketApi, Storage, StoreOptions};
    use testkit::storage::Server;

    const MIB: u64 = 1024 * 1024;

    #[tokio::test]
    async fn an_object_past_the_single_copy_limit_is_copied_in_parts() {
        let server = Server::s3();
        let options = StoreOptions {
            read_environment: false,
            settings: server.settings.clone(),
            create_missing_bucket: true,
            ..StoreOptions::default()
        };
        let location = StorageLocation::parse("s3://parts/c/d/n").unwrap();
        let storage = Storage::open(&location, &options).await.unwrap();
        let store = storage.store();
        let key = Path::from("c/d/n/data/ks/t-1/1-2/nb-1-big-Data.db");
        let bytes: Vec<u8> = (0..11 * MIB + 3).map(|i| (i % 251) as u8).collect();
        store
            .put(&key, PutPayload::from(bytes.clone()))
            .await
            .unwrap();
        let written = store.head(&key).await.unwrap().last_modified;
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;

        let BucketApi::S3 {
            s3,
            region,
            http,
            encryption,
        } = &storage.bucket_api
        else {
            panic!("an S3 location opens an S3 store");
        };
        let copy = SelfCopy {
            s3,
            region,
            http,
            encryption,
            bucket: "parts",
            key: &key,
        };
        let limits = CopyLimits {
            single_copy: MIB,
            part_size: 5 * MIB,
        };
        copy.run(bytes.len() as u64, limits).await.unwrap();
        let meta = store.head(&key).await.unwrap();
        assert!(
            meta.last_modified > written,
            "{} not after {written}",
            meta.last_modified
        );
        assert_eq!(meta.size, bytes.len() as u64);
        let read = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert!(read.as_ref() == bytes.as_slice(), "the bytes are unchanged");

        // Parts that do not add up (ranges past the end): the upload is refused and aborted,
        // and the object stays as it was.
        let error = copy
            .run(bytes.len() as u64 + 6 * MIB, limits)
            .await
            .unwrap_err();
        assert!(
            matches!(error, object_store::Error::Generic { .. }),
            "{error}"
        );
        let read = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert!(read.as_ref() == bytes.as_slice(), "the bytes are unchanged");
    }
}
