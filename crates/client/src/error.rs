//! Typed errors of the REST client: what went wrong talking to the sidecar.
//!
//! Owns the classification of transport failures (refused, timeout, TLS) and the decoding of the
//! server's JSON error body. Must not print anything or know about exit codes (that is `cli`).

use std::error::Error as StdError;
use std::path::PathBuf;

use serde::Deserialize;

/// Everything a [`crate::Client`] call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The sidecar answered with a non-success HTTP status. `field` and `message` come from the
    /// server's JSON error body `{"error", "field", "message"}` when it sent one.
    #[error("{}", api_display(*status, error.as_deref(), field.as_deref(), message))]
    Api {
        /// HTTP status code.
        status: u16,
        /// The server's short error kind (`error` in the body), if any.
        error: Option<String>,
        /// The request field the server rejected, if any.
        field: Option<String>,
        /// Human readable message (the body's `message`, or the raw body, or the status text).
        message: String,
        /// The raw response body.
        body: String,
    },
    /// Nothing listens at the address, or the TCP connection could not be made.
    #[error("cannot connect to {url}: {reason}")]
    Connect {
        /// The URL that was requested.
        url: String,
        /// Why (e.g. "connection refused").
        reason: String,
    },
    /// The request did not finish within the configured timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL that was requested.
        url: String,
    },
    /// The TLS handshake failed (untrusted certificate, plain HTTP on an https URL, ...).
    #[error("TLS error talking to {url}: {reason}")]
    Tls {
        /// The URL that was requested.
        url: String,
        /// The underlying TLS failure.
        reason: String,
    },
    /// The base URL given in the configuration cannot be used.
    #[error("invalid sidecar URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The CA certificate file could not be read or parsed.
    #[error("cannot use CA certificate {}: {reason}", path.display())]
    Cacert {
        /// The file given with `--cacert`.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The server answered 2xx with a body this client does not understand.
    #[error("unexpected response from {url}: {source}")]
    Decode {
        /// The URL that was requested.
        url: String,
        /// The JSON decoding failure.
        #[source]
        source: serde_json::Error,
    },
    /// Any other HTTP transport failure.
    #[error("HTTP request to {url} failed: {reason}")]
    Transport {
        /// The URL that was requested.
        url: String,
        /// The underlying failure, with its causes.
        reason: String,
    },
}

fn api_display(status: u16, error: Option<&str>, field: Option<&str>, message: &str) -> String {
    let mut text = format!("HTTP {status}");
    if let Some(reason) = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        text.push(' ');
        text.push_str(reason);
    }
    if let Some(error) = error.filter(|e| !e.is_empty()) {
        text.push_str(&format!(" ({error})"));
    }
    if let Some(field) = field.filter(|f| !f.is_empty()) {
        text.push_str(&format!(": field `{field}`"));
    }
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

impl ClientError {
    /// The HTTP status when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the server answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The rejected request field named by the server's error body, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientError::Api { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// True when the sidecar could not be reached at all (refused, timeout, TLS).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. } | ClientError::Timeout { .. } | ClientError::Tls { .. }
        )
    }

    /// Builds an [`ClientError::Api`] from a status and the raw body the server sent.
    pub(crate) fn from_response(status: u16, body: String) -> Self {
        #[derive(Deserialize)]
        struct ErrorBody {
            #[serde(default)]
            error: Option<serde_json::Value>,
            #[serde(default)]
            field: Option<String>,
            #[serde(default)]
            message: Option<String>,
        }
        let parsed: Option<ErrorBody> = serde_json::from_str(&body).ok();
        let (error, field, message) = match parsed {
            Some(b) => {
                let error = b.error.map(|e| match e {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                });
                let message = b
                    .message
                    .or_else(|| error.clone())
                    .unwrap_or_else(|| body.trim().to_string());
                (error, b.field, message)
            }
            None => (None, None, body.trim().to_string()),
        };
        ClientError::Api {
            status,
            error,
            field,
            message,
            body,
        }
    }

    /// Classifies a transport failure from reqwest into refused / timeout / TLS / other.
    pub(crate) fn from_transport(url: &str, err: reqwest::Error) -> Self {
        let url = url.to_string();
        let reason = chain_text(&err);
        if err.is_timeout() {
            return ClientError::Timeout { url };
        }
        if is_tls(&err) {
            return ClientError::Tls { url, reason };
        }
        if err.is_connect() {
            let reason = match io_kind(&err) {
                Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
                _ => reason,
            };
            return ClientError::Connect { url, reason };
        }
        ClientError::Transport { url, reason }
    }
}

/// Walks an error's source chain, also looking inside `std::io::Error` wrappers (whose
/// `source()` skips the wrapped error, and which hyper and rustls nest in each other).
fn for_each_cause(err: &(dyn StdError + 'static), f: &mut dyn FnMut(&(dyn StdError + 'static))) {
    visit(err, f, 0);
}

fn visit(
    err: &(dyn StdError + 'static),
    f: &mut dyn FnMut(&(dyn StdError + 'static)),
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    f(err);
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        visit(inner, f, depth + 1);
    } else if let Some(source) = err.source() {
        visit(source, f, depth + 1);
    }
}

fn is_tls(err: &reqwest::Error) -> bool {
    let mut tls = false;
    for_each_cause(err, &mut |e| {
        if e.downcast_ref::<rustls::Error>().is_some() {
            tls = true;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls handshake") {
            tls = true;
        }
    });
    tls
}

fn io_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut kind = None;
    for_each_cause(err, &mut |e| {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if kind.is_none() || kind == Some(std::io::ErrorKind::Other) {
                kind = Some(io.kind());
            }
        }
    });
    kind
}

fn chain_text(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for_each_cause(err, &mut |e| {
        let text = e.to_string();
        if !parts.iter().any(|p| p == &text) {
            parts.push(text);
        }
    });
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_fields_are_surfaced() {
        let e = ClientError::from_response(
            400,
            r#"{"error":"invalid_request","field":"keyspace","message":"keyspace is required"}"#
                .into(),
        );
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.field(), Some("keyspace"));
        let text = e.to_string();
        assert!(text.contains("400"), "{text}");
        assert!(text.contains("keyspace is required"), "{text}");
        assert!(text.contains("field `keyspace`"), "{text}");
    }

    #[test]
    fn non_json_body_becomes_message() {
        let e = ClientError::from_response(502, "bad gateway\n".into());
        match e {
            ClientError::Api { message, field, .. } => {
                assert_eq!(message, "bad gateway");
                assert_eq!(field, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
