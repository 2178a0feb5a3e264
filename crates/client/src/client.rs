//! The async HTTP client of the Daedalus (and Icarus) REST API.
//!
//! Owns connection settings (base URL, bearer token, extra CA certificate, timeout), the request
//! calls and the polling loop of `wait`. Must not print or parse command lines (that is `cli`).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::ClientError;
use crate::model::{
    CassandraVersion, ClusterTopology, NodeStatus, Operation, OperationState, SidecarVersion,
    Versions,
};

/// Mozilla's root certificates, as compiled in (the webpki roots).
fn builtin_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der).ok())
            .collect()
    })
}

/// The default sidecar address, as Icarus binds it.
pub const DEFAULT_URL: &str = "http://127.0.0.1:4567";

/// Request header naming the id a submitted operation must get. A Daedalus sidecar accepts the
/// same id twice as one submission (it answers with the existing record), so a caller that
/// chose the id before sending can send again after a crash without running anything twice.
pub const OPERATION_ID_HEADER: &str = "daedalus-operation-id";

/// How to reach the sidecar.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `http://127.0.0.1:4567` or `https://node1:4567/`.
    pub url: String,
    /// Bearer token sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// A PEM file with extra CA certificate(s) to trust for `https` URLs.
    pub cacert: Option<PathBuf>,
    /// Timeout of each HTTP request (connect + response).
    pub timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            url: DEFAULT_URL.to_string(),
            token: None,
            cacert: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A client of one sidecar. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Option<String>,
}

impl Client {
    /// Builds a client; fails on an unusable URL or CA file. Does not connect yet.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let mut text = config.url.trim().to_string();
        if !text.contains("://") {
            text = format!("http://{text}");
        }
        if !text.ends_with('/') {
            text.push('/');
        }
        let base = reqwest::Url::parse(&text).map_err(|e| ClientError::InvalidUrl {
            url: config.url.clone(),
            reason: e.to_string(),
        })?;
        if base.scheme() != "http" && base.scheme() != "https" {
            return Err(ClientError::InvalidUrl {
                url: config.url,
                reason: format!("scheme {:?} is not http or https", base.scheme()),
            });
        }
        tls_provider::install();
        // The compiled-in roots and the CA file, nothing from the host: the client trusts the same
        // authorities on every host, and builds on one without a CA bundle (a sidecar in a
        // minimal container still reaches its peers over plain HTTP).
        let mut roots = builtin_roots().to_vec();
        if let Some(path) = &config.cacert {
            let pem = std::fs::read(path).map_err(|e| ClientError::Cacert {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ClientError::Cacert {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(ClientError::Cacert {
                    path: path.clone(),
                    reason: "no PEM certificate in the file".into(),
                });
            }
            roots.extend(certs);
        }
        let builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .user_agent(concat!("daedalus-client/", env!("CARGO_PKG_VERSION")))
            .tls_certs_only(roots);
        let http = builder.build().map_err(|e| ClientError::Transport {
            url: base.to_string(),
            reason: e.to_string(),
        })?;
        let token = config.token.filter(|t| !t.is_empty());
        Ok(Client { http, base, token })
    }

    /// The base URL requests are made against.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `POST /operations` with any JSON-serializable request (a `serde_json::Value` with a `type`
    /// field, or [`crate::ImportRequest::to_json`]). Returns the accepted record.
    pub async fn submit<R: Serialize + ?Sized>(
        &self,
        request: &R,
    ) -> Result<Operation, ClientError> {
        let body = serde_json::to_value(request).map_err(|e| ClientError::Decode {
            url: self.url("operations"),
            source: e,
        })?;
        self.send_json(Method::POST, "operations", &[], Some(&body))
            .await
    }

    /// `POST /operations` asking for the operation id `id` ([`OPERATION_ID_HEADER`]). Sending
    /// the same id again returns the operation already accepted under it. Daedalus only: Icarus
    /// ignores the header and makes a new operation each time.
    pub async fn submit_as<R: Serialize + ?Sized>(
        &self,
        request: &R,
        id: &str,
    ) -> Result<Operation, ClientError> {
        let body = serde_json::to_value(request).map_err(|e| ClientError::Decode {
            url: self.url("operations"),
            source: e,
        })?;
        let (url, text) = self
            .send_with(Method::POST, "operations", &[], Some(&body), Some(id))
            .await?;
        serde_json::from_str(&text).map_err(|source| ClientError::Decode { url, source })
    }

    /// `GET /operations/{id}`.
    pub async fn get(&self, id: &str) -> Result<Operation, ClientError> {
        self.send_json(Method::GET, &op_path(id), &[], None).await
    }

    /// `GET /operations?type=..&state=..`; empty slices mean no filter.
    pub async fn list(
        &self,
        types: &[String],
        states: &[OperationState],
    ) -> Result<Vec<Operation>, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        for t in types {
            query.push(("type", t.clone()));
        }
        for s in states {
            query.push(("state", s.as_str().to_string()));
        }
        self.send_json(Method::GET, "operations", &query, None)
            .await
    }

    /// `DELETE /operations/{id}`: asks for cancellation and returns the record as it is now (a
    /// RUNNING operation turns CANCELLED at its next safe point).
    pub async fn cancel(&self, id: &str) -> Result<Operation, ClientError> {
        let path = op_path(id);
        let (_, text) = self.send(Method::DELETE, &path, &[], None).await?;
        match serde_json::from_str::<Operation>(&text) {
            Ok(op) => Ok(op),
            Err(_) => self.get(id).await,
        }
    }

    /// Polls `GET /operations/{id}` every `poll_interval` until the operation is COMPLETED, FAILED
    /// or CANCELLED, calling `on_update` with every record seen (the last one included).
    pub async fn wait<F>(
        &self,
        id: &str,
        poll_interval: Duration,
        mut on_update: F,
    ) -> Result<Operation, ClientError>
    where
        F: FnMut(&Operation),
    {
        loop {
            let op = self.get(id).await?;
            on_update(&op);
            if op.state.is_finished() {
                return Ok(op);
            }
            tokio::time::sleep(poll_interval).await;
        }
    }

    /// `GET /status`.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.send_json(Method::GET, "status", &[], None).await
    }

    /// `GET /topology`, or `GET /topology/{dc}` for one data center.
    pub async fn topology(&self, dc: Option<&str>) -> Result<ClusterTopology, ClientError> {
        let path = match dc {
            Some(dc) => format!("topology/{}", encode_segment(dc)),
            None => "topology".to_string(),
        };
        self.send_json(Method::GET, &path, &[], None).await
    }

    /// `GET /version`.
    pub async fn sidecar_version(&self) -> Result<SidecarVersion, ClientError> {
        self.send_json(Method::GET, "version", &[], None).await
    }

    /// `GET /version/cassandra`.
    pub async fn cassandra_version(&self) -> Result<CassandraVersion, ClientError> {
        self.send_json(Method::GET, "version/cassandra", &[], None)
            .await
    }

    /// `GET /version/schema`: the schema version string.
    pub async fn schema_version(&self) -> Result<String, ClientError> {
        let v: Value = self
            .send_json(Method::GET, "version/schema", &[], None)
            .await?;
        Ok(v.get("schemaVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// The sidecar, Cassandra and schema versions. The sidecar's must answer; the node's parts
    /// are `None` when the sidecar answers them with an HTTP error (node unreachable). Transport
    /// errors are returned.
    pub async fn versions(&self) -> Result<Versions, ClientError> {
        let sidecar = self.sidecar_version().await?;
        let cassandra = api_error_as_none(self.cassandra_version().await)?;
        let schema = api_error_as_none(self.schema_version().await)?;
        Ok(Versions {
            sidecar,
            cassandra,
            schema,
        })
    }

    /// `GET /config`: the node's cassandra.yaml as JSON.
    pub async fn config(&self) -> Result<Value, ClientError> {
        self.send_json(Method::GET, "config", &[], None).await
    }

    /// `GET /health`: true when the sidecar answers 2xx.
    pub async fn health(&self) -> Result<bool, ClientError> {
        probe(self.send(Method::GET, "health", &[], None).await)
    }

    /// `GET /ready`: true when the sidecar says it is ready (it can reach the node).
    pub async fn ready(&self) -> Result<bool, ClientError> {
        probe(self.send(Method::GET, "ready", &[], None).await)
    }

    /// Any GET returning JSON, for endpoints without a typed method.
    pub async fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        self.send_json(Method::GET, path.trim_start_matches('/'), &[], None)
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T, ClientError> {
        let (url, text) = self.send(method, path, query, body).await?;
        serde_json::from_str(&text).map_err(|source| ClientError::Decode { url, source })
    }

    /// Sends one request; returns the URL and the body of a 2xx answer, or the typed error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<(String, String), ClientError> {
        self.send_with(method, path, query, body, None).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        operation_id: Option<&str>,
    ) -> Result<(String, String), ClientError> {
        let url = self.url(path);
        let mut request = self
            .http
            .request(method, &url)
            .header(reqwest::header::ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(id) = operation_id {
            request = request.header(OPERATION_ID_HEADER, id);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::from_transport(&url, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ClientError::from_transport(&url, e))?;
        if !status.is_success() {
            return Err(ClientError::from_response(status.as_u16(), text));
        }
        Ok((url, text))
    }
}

fn probe(result: Result<(String, String), ClientError>) -> Result<bool, ClientError> {
    match result {
        Ok(_) => Ok(true),
        Err(ClientError::Api { status, .. })
            if status == StatusCode::SERVICE_UNAVAILABLE.as_u16() || status >= 500 =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

fn api_error_as_none<T>(result: Result<T, ClientError>) -> Result<Option<T>, ClientError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(ClientError::Api { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn op_path(id: &str) -> String {
    format!("operations/{}", encode_segment(id))
}

/// Percent-encodes one path segment so an id or a DC name cannot change the path.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode_segment("abc-1"), "abc-1");
        assert_eq!(encode_segment("../x y"), "%2E%2E%2Fx%20y");
    }

    #[test]
    fn url_without_scheme_gets_http_and_a_slash() {
        let c = Client::new(ClientConfig {
            url: "127.0.0.1:4567".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:4567/");
    }

    #[test]
    fn bad_scheme_and_missing_cacert_are_typed_errors() {
        let e = Client::new(ClientConfig {
            url: "ftp://x".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, ClientError::InvalidUrl { .. }), "{e:?}");
        let e = Client::new(ClientConfig {
            cacert: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, ClientError::Cacert { .. }), "{e:?}");
    }
}
