//! A test-only HTTP front for fake-gcs-server that accepts the GCS XML API writes object_store
//! sends and turns them into the emulator's JSON API; every other request goes to the emulator
//! unchanged.
//!
//! Real GCS answers these writes natively: the XML "PUT Object", the XML copy (`PUT` with
//! `x-goog-copy-source`) and the XML multipart upload (`POST ?uploads`,
//! `PUT ?partNumber=&uploadId=`, `POST ?uploadId=`, `DELETE ?uploadId=`).
//! fake-gcs-server refuses both, so without this front object_store could not write to it.
//! Here a single put becomes a JSON media upload
//! (`POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=…`) whose reply becomes the
//! `ETag` and `x-goog-generation` headers; multipart parts are kept in this front's memory and
//! written as one media upload on completion; an abort forgets them. A copy becomes the JSON
//! API's `copyTo`; as GCS documents, a copy onto itself is refused unless
//! `x-goog-metadata-directive` is `REPLACE`.
//!
//! What this tests is object_store's requests against this module's reading of the XML API
//! documentation, not against Google: a difference between the two would not show here. It
//! must never be used outside tests, and it holds whole objects in memory.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// Headers that belong to one connection, not to the request or reply they travel with.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A running front; dropping it stops it and closes its connections.
pub struct GcsFront {
    /// `http://127.0.0.1:<port>`, the base URL object_store is given.
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for GcsFront {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One multipart upload in progress: its object and its parts by number, with their ETags.
struct Upload {
    bucket: String,
    object: String,
    content_type: Option<HeaderValue>,
    parts: BTreeMap<u32, (String, Bytes)>,
}

struct Front {
    emulator: String,
    http: reqwest::Client,
    next_upload: AtomicU64,
    uploads: Mutex<HashMap<String, Upload>>,
}

impl GcsFront {
    /// Starts a front for the emulator at `emulator` (`http://host:port`), on its own thread
    /// and runtime so that it serves callers whatever runtime they run on.
    pub fn start(emulator: String) -> GcsFront {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port for the front");
        let address: SocketAddr = listener.local_addr().expect("front address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking front listener");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let front = Arc::new(Front {
            emulator,
            http: crate::http_client(),
            next_upload: AtomicU64::new(1),
            uploads: Mutex::new(HashMap::new()),
        });
        let thread = std::thread::Builder::new()
            .name("gcs-front".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("front runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("front listener");
                    let app = Router::new().fallback(handle).with_state(front);
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels every open connection's task.
            })
            .expect("front thread");
        GcsFront {
            url: format!("http://{address}"),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

/// The query's parameters, decoded; a parameter without `=` has an empty value.
fn query_of(request: &Request) -> HashMap<String, String> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// `/{bucket}/{object}` of an XML API object request, decoded; `None` for the JSON API's paths
/// and for bucket-level requests.
fn object_of(path: &str) -> Option<(String, String)> {
    if path.starts_with("/storage/") || path.starts_with("/upload/") {
        return None;
    }
    let (bucket, object) = path.strip_prefix('/')?.split_once('/')?;
    if bucket.is_empty() || object.is_empty() {
        return None;
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some((decode(bucket), decode(object)))
}

/// An XML API error reply.
fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message></Error>",
        xml_escape(message)
    );
    (status, [("content-type", "application/xml")], body).into_response()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn handle(State(front): State<Arc<Front>>, request: Request) -> Response {
    let query = query_of(&request);
    let object = object_of(request.uri().path());
    let method = request.method().clone();
    match (method, object) {
        (Method::POST, Some((bucket, object))) if query.contains_key("uploads") => {
            front.initiate(bucket, object, request.headers())
        }
        (Method::PUT, Some(_)) if query.contains_key("uploadId") => {
            front.put_part(&query, request).await
        }
        (Method::PUT, Some((bucket, object)))
            if request.headers().contains_key("x-goog-copy-source") =>
        {
            front.copy_object(&bucket, &object, request.headers()).await
        }
        (Method::PUT, Some((bucket, object))) => front.put_object(&bucket, &object, request).await,
        (Method::POST, Some(_)) if query.contains_key("uploadId") => {
            front.complete(&query, request).await
        }
        (Method::DELETE, Some(_)) if query.contains_key("uploadId") => front.abort(&query),
        _ => front.forward(request).await,
    }
}

impl Front {
    /// Sends the request to the emulator as it came and relays the reply.
    async fn forward(&self, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let body = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(body) => body,
            Err(e) => return xml_error(StatusCode::BAD_REQUEST, "InvalidRequest", &e.to_string()),
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut headers = parts.headers;
        for name in HOP_BY_HOP {
            headers.remove(*name);
        }
        headers.remove("content-length");
        let sent = self
            .http
            .request(parts.method, format!("{}{path}", self.emulator))
            .headers(headers)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(reply) => relay(reply).await,
            Err(e) => xml_error(
                StatusCode::BAD_GATEWAY,
                "EmulatorUnreachable",
                &e.to_string(),
            ),
        }
    }

    /// Writes `data` as `bucket/object` through the JSON media upload and answers as the XML
    /// API's PUT Object does: empty body, `ETag` and `x-goog-generation` headers.
    async fn write_object(
        &self,
        bucket: &str,
        object: &str,
        content_type: Option<&HeaderValue>,
        generation_match: Option<&HeaderValue>,
        data: Bytes,
    ) -> Response {
        let mut query = vec![
            ("uploadType".to_string(), "media".to_string()),
            ("name".to_string(), object.to_string()),
        ];
        if let Some(generation) = generation_match.and_then(|v| v.to_str().ok()) {
            query.push(("ifGenerationMatch".to_string(), generation.to_string()));
        }
        let mut upload = self
            .http
            .post(format!("{}/upload/storage/v1/b/{bucket}/o", self.emulator))
            .query(&query)
            .body(data);
        if let Some(content_type) = content_type {
            upload = upload.header("content-type", content_type);
        }
        let reply = match upload.send().await {
            Ok(reply) => reply,
            Err(e) => {
                return xml_error(
                    StatusCode::BAD_GATEWAY,
                    "EmulatorUnreachable",
                    &e.to_string(),
                )
            }
        };
        if !reply.status().is_success() {
            return relay(reply).await;
        }
        let written: serde_json::Value = match reply.json().await {
            Ok(written) => written,
            Err(e) => {
                return xml_error(
                    StatusCode::BAD_GATEWAY,
                    "InvalidEmulatorReply",
                    &e.to_string(),
                )
            }
        };
        let Some(etag) = written["etag"].as_str().or(written["md5Hash"].as_str()) else {
            return xml_error(
                StatusCode::BAD_GATEWAY,
                "InvalidEmulatorReply",
                &format!("the emulator's upload reply has no etag: {written}"),
            );
        };
        let mut response = StatusCode::OK.into_response();
        let headers = response.headers_mut();
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{etag}\"")) {
            headers.insert("etag", etag);
        }
        let generation = match &written["generation"] {
            serde_json::Value::String(g) => Some(g.clone()),
            serde_json::Value::Number(g) => Some(g.to_string()),
            _ => None,
        };
        if let Some(generation) = generation.and_then(|g| HeaderValue::from_str(&g).ok()) {
            headers.insert("x-goog-generation", generation);
        }
        response
    }

    async fn put_object(&self, bucket: &str, object: &str, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let data = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(data) => data,
            Err(e) => return xml_error(StatusCode::BAD_REQUEST, "InvalidRequest", &e.to_string()),
        };
        self.write_object(
            bucket,
            object,
            parts.headers.get("content-type"),
            parts.headers.get("x-goog-if-generation-match"),
            data,
        )
        .await
    }

    /// The XML API copy: `x-goog-copy-source: bucket/object` to the request's object.
    async fn copy_object(&self, bucket: &str, object: &str, headers: &HeaderMap) -> Response {
        let source = headers
            .get("x-goog-copy-source")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some((source_bucket, source_object)) =
            object_of(&format!("/{}", source.trim_start_matches('/')))
        else {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                &format!("x-goog-copy-source {source:?} is not bucket/object"),
            );
        };
        let replace = headers
            .get("x-goog-metadata-directive")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("REPLACE"));
        if (source_bucket.as_str(), source_object.as_str()) == (bucket, object) && !replace {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "a copy of an object onto itself must set x-goog-metadata-directive: REPLACE",
            );
        }
        let encode = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let url = format!(
            "{}/storage/v1/b/{}/o/{}/copyTo/b/{}/o/{}",
            self.emulator,
            encode(&source_bucket),
            encode(&source_object),
            encode(bucket),
            encode(object)
        );
        match self
            .http
            .post(url)
            .json(&serde_json::json!({}))
            .send()
            .await
        {
            Ok(reply) if reply.status().is_success() => (
                StatusCode::OK,
                [("content-type", "application/xml")],
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CopyObjectResult></CopyObjectResult>",
            )
                .into_response(),
            Ok(reply) => relay(reply).await,
            Err(e) => xml_error(
                StatusCode::BAD_GATEWAY,
                "EmulatorUnreachable",
                &e.to_string(),
            ),
        }
    }

    fn initiate(&self, bucket: String, object: String, headers: &HeaderMap) -> Response {
        let id = format!(
            "front-upload-{}",
            self.next_upload.fetch_add(1, Ordering::Relaxed)
        );
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult>\
             <Bucket>{}</Bucket><Key>{}</Key><UploadId>{id}</UploadId>\
             </InitiateMultipartUploadResult>",
            xml_escape(&bucket),
            xml_escape(&object)
        );
        self.uploads.lock().expect("uploads lock").insert(
            id,
            Upload {
                bucket,
                object,
                content_type: headers.get("content-type").cloned(),
                parts: BTreeMap::new(),
            },
        );
        (StatusCode::OK, [("content-type", "application/xml")], body).into_response()
    }

    async fn put_part(&self, query: &HashMap<String, String>, request: Request) -> Response {
        let Some(number) = query.get("partNumber").and_then(|n| n.parse::<u32>().ok()) else {
            return xml_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "partNumber is missing or not a number",
            );
        };
        let data = match axum::body::to_bytes(request.into_body(), usize::MAX).await {
            Ok(data) => data,
            Err(e) => return xml_error(StatusCode::BAD_REQUEST, "InvalidRequest", &e.to_string()),
        };
        let etag = format!("\"{}\"", hex::encode(Sha256::digest(&data)));
        let mut uploads = self.uploads.lock().expect("uploads lock");
        let Some(upload) = uploads.get_mut(&query["uploadId"]) else {
            return xml_error(StatusCode::NOT_FOUND, "NoSuchUpload", "no such upload id");
        };
        upload.parts.insert(number, (etag.clone(), data));
        let mut response = StatusCode::OK.into_response();
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert("etag", etag);
        }
        response
    }

    /// Joins the parts the request lists, in its order, after checking each one's ETag, and
    /// writes them as one object.
    async fn complete(&self, query: &HashMap<String, String>, request: Request) -> Response {
        let body = match axum::body::to_bytes(request.into_body(), usize::MAX).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(e) => return xml_error(StatusCode::BAD_REQUEST, "InvalidRequest", &e.to_string()),
        };
        let listed = match listed_parts(&body) {
            Ok(listed) if !listed.is_empty() => listed,
            Ok(_) => {
                return xml_error(StatusCode::BAD_REQUEST, "MalformedXML", "no part is listed")
            }
            Err(message) => return xml_error(StatusCode::BAD_REQUEST, "MalformedXML", &message),
        };
        let Some(upload) = self
            .uploads
            .lock()
            .expect("uploads lock")
            .remove(&query["uploadId"])
        else {
            return xml_error(StatusCode::NOT_FOUND, "NoSuchUpload", "no such upload id");
        };
        let mut data = Vec::new();
        for (number, etag) in &listed {
            match upload.parts.get(number) {
                Some((stored, part)) if stored.trim_matches('"') == etag.trim_matches('"') => {
                    data.extend_from_slice(part)
                }
                _ => {
                    return xml_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidPart",
                        &format!("part {number} with ETag {etag} was not uploaded"),
                    )
                }
            }
        }
        let written = self
            .write_object(
                &upload.bucket,
                &upload.object,
                upload.content_type.as_ref(),
                None,
                Bytes::from(data),
            )
            .await;
        if !written.status().is_success() {
            return written;
        }
        let etag = written
            .headers()
            .get("etag")
            .and_then(|e| e.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult>\
             <Location>/{bucket}/{object}</Location><Bucket>{bucket}</Bucket><Key>{object}</Key>\
             <ETag>{}</ETag></CompleteMultipartUploadResult>",
            xml_escape(&etag),
            bucket = xml_escape(&upload.bucket),
            object = xml_escape(&upload.object),
        );
        let mut response =
            (StatusCode::OK, [("content-type", "application/xml")], body).into_response();
        if let Some(generation) = written.headers().get("x-goog-generation") {
            response
                .headers_mut()
                .insert("x-goog-generation", generation.clone());
        }
        response
    }

    fn abort(&self, query: &HashMap<String, String>) -> Response {
        match self
            .uploads
            .lock()
            .expect("uploads lock")
            .remove(&query["uploadId"])
        {
            Some(_) => StatusCode::NO_CONTENT.into_response(),
            None => xml_error(StatusCode::NOT_FOUND, "NoSuchUpload", "no such upload id"),
        }
    }
}

/// `(PartNumber, ETag)` of each `<Part>` of a `CompleteMultipartUpload` body, in its order.
fn listed_parts(body: &str) -> Result<Vec<(u32, String)>, String> {
    let element = |part: &str, name: &str| -> Option<String> {
        let start = part.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + part[start..].find(&format!("</{name}>"))?;
        Some(part[start..end].trim().to_string())
    };
    body.split("<Part>")
        .skip(1)
        .map(|part| {
            let part = part.split("</Part>").next().unwrap_or(part);
            let number = element(part, "PartNumber")
                .and_then(|n| n.parse::<u32>().ok())
                .ok_or_else(|| format!("a part has no valid PartNumber: {part}"))?;
            let etag = element(part, "ETag").ok_or_else(|| format!("part {number} has no ETag"))?;
            Ok((number, etag.replace("&quot;", "\"")))
        })
        .collect()
}

/// The emulator's reply, status, headers and body, as this front's reply.
async fn relay(reply: reqwest::Response) -> Response {
    let status = reply.status();
    let mut headers = reply.headers().clone();
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    let body = match reply.bytes().await {
        Ok(body) => body,
        Err(e) => {
            return xml_error(
                StatusCode::BAD_GATEWAY,
                "EmulatorUnreachable",
                &e.to_string(),
            )
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_read_in_the_listed_order() {
        let body = "<CompleteMultipartUpload><Part><ETag>\"b\"</ETag><PartNumber>2</PartNumber></Part>\
                    <Part><PartNumber>1</PartNumber><ETag>&quot;a&quot;</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(
            listed_parts(body).unwrap(),
            vec![(2, "\"b\"".to_string()), (1, "\"a\"".to_string())]
        );
        assert!(listed_parts("<Part><ETag>x</ETag></Part>")
            .unwrap_err()
            .contains("PartNumber"));
    }

    #[test]
    fn object_paths_are_decoded_and_json_paths_left_alone() {
        assert_eq!(
            object_of("/bucket/a/b%20c%2Fd"),
            Some(("bucket".to_string(), "a/b c/d".to_string()))
        );
        assert_eq!(object_of("/storage/v1/b/bucket/o"), None);
        assert_eq!(object_of("/upload/storage/v1/b/bucket/o"), None);
        assert_eq!(object_of("/bucket"), None);
        assert_eq!(object_of("/bucket/"), None);
    }
}
