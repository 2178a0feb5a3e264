//! Bearer-token authentication and the two roles of the API.
//!
//! Owns the token file format, token hashing (SHA-256, hex) and the middleware that answers 401
//! (no or unknown token, with `WWW-Authenticate: Bearer`) or 403 (role too weak). `GET`/`HEAD`
//! need `read`; every other method needs `operate`, except `POST /operations`, whose role
//! depends on the type in the body (a read token may submit `list`, which only reads a bucket):
//! that one is decided by the submit handler ([`Role::may_submit`]). `/health` and the console's
//! page files are open. The role of an accepted token rides on the request as an extension. It must not know about TLS
//! (client certificates are checked during the handshake, see `tls`) nor about operations.
//!
//! Token file: one token a line, `NAME ROLE SHA256-HEX`, blank lines and `#` comments ignored,
//! e.g. `ops-team operate 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8`.
//! The hash is `daedalus hash-token` of the secret; the secret itself is never stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What a token may do. `Operate` includes `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Read,
    Operate,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "operate" => Some(Role::Operate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Operate => "operate",
        }
    }

    /// The role a request needs: reading methods need `read`, the rest `operate`.
    pub fn required_for(method: &Method) -> Role {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            Role::Read
        } else {
            Role::Operate
        }
    }

    /// Whether this role may submit an operation of `type_name`: `list` only reads the bucket,
    /// so reading it is what a read token is for; every other type acts on the node or the
    /// bucket.
    pub fn may_submit(self, type_name: &str) -> bool {
        self == Role::Operate || type_name == READ_ONLY_TYPE
    }
}

/// The one operation type a read token may submit.
pub const READ_ONLY_TYPE: &str = "list";

/// The body of a 403: what the token is and what the request needed.
pub fn forbidden(message: String) -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({ "error": "forbidden", "field": null, "message": message })),
    )
        .into_response()
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the token file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("token file line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("the token file holds no token")]
    Empty,
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    role: Role,
    hash: [u8; 32],
}

/// The known tokens, by hash.
#[derive(Debug, Clone)]
pub struct TokenStore {
    entries: Vec<Entry>,
}

/// SHA-256 of the token, lower-case hex: what the token file stores.
pub fn hash_token(token: &str) -> String {
    hex(&digest(token))
}

fn digest(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl TokenStore {
    pub fn load(path: &Path) -> Result<TokenStore, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        TokenStore::parse(&text)
    }

    pub fn parse(text: &str) -> Result<TokenStore, AuthError> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = |message: String| AuthError::Syntax {
                line: n + 1,
                message,
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            let [name, role, hash] = words[..] else {
                return Err(syntax("expected `NAME ROLE SHA256-HEX`".into()));
            };
            let role = Role::parse(role)
                .ok_or_else(|| syntax(format!("role {role:?} is neither `read` nor `operate`")))?;
            let hash = unhex(&hash.to_ascii_lowercase()).ok_or_else(|| {
                syntax("the hash must be 64 hex digits (`daedalus hash-token`)".into())
            })?;
            entries.push(Entry {
                name: name.to_string(),
                role,
                hash,
            });
        }
        if entries.is_empty() {
            return Err(AuthError::Empty);
        }
        Ok(TokenStore { entries })
    }

    /// The name and role of `token`, if it is known. Compares hashes, every entry, without an
    /// early exit.
    pub fn check(&self, token: &str) -> Option<(&str, Role)> {
        let hash = digest(token);
        let mut found = None;
        for entry in &self.entries {
            let same = entry
                .hash
                .iter()
                .zip(hash.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
            if same && found.is_none() {
                found = Some((entry.name.as_str(), entry.role));
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Whether serving on `local` with this authentication exposes the API to the network without
/// any (the case that deserves a loud warning at start).
pub fn unauthenticated_exposure(
    local: std::net::SocketAddr,
    tokens: bool,
    client_certs: bool,
) -> bool {
    !local.ip().is_loopback() && !tokens && !client_certs
}

/// Paths served without a token besides the console's files (`console::ASSET_PATHS`: the page
/// shell holds no data; what it shows it asks for with the operator's token).
const OPEN_PATHS: &[&str] = &["/health"];

fn unauthorized(error: &str, message: &str) -> Response {
    let challenge = format!("Bearer realm=\"daedalus\", error=\"{error}\"");
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge)
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer")),
        )],
        Json(json!({ "error": "unauthorized", "field": null, "message": message })),
    )
        .into_response()
}

/// The middleware: 401 without a known bearer token, 403 when its role is too weak.
pub async fn require_token(
    State(store): State<Arc<TokenStore>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if OPEN_PATHS.contains(&path) || super::console::ASSET_PATHS.contains(&path) {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return unauthorized("invalid_request", "a bearer token is required");
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return unauthorized("invalid_request", "expected `Authorization: Bearer TOKEN`");
    };
    let Some((name, role)) = store.check(token) else {
        tracing::warn!(path = %request.uri().path(), "request with an unknown token refused");
        return unauthorized("invalid_token", "unknown token");
    };
    let needed = Role::required_for(request.method());
    // Which role a submission needs depends on its type: the handler, which reads it, decides.
    let decided_by_handler = request.method() == Method::POST && path == "/operations";
    if role < needed && !decided_by_handler {
        tracing::warn!(token = name, method = %request.method(), path = %request.uri().path(), "token role too weak");
        return forbidden(format!(
            "token {name:?} has role {}; this request needs {}",
            role.as_str(),
            needed.as_str()
        ));
    }
    tracing::debug!(token = name, "authenticated");
    // Handlers that adapt to the caller (the console's session) read the role from here.
    let mut request = request;
    request.extensions_mut().insert(role);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sha256() {
        assert_eq!(
            hash_token("password"),
            "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
        );
    }

    #[test]
    fn parses_and_checks() {
        let text = format!(
            "# tokens\n\nreader read {}\nops operate {}\n",
            hash_token("r-secret"),
            hash_token("o-secret").to_uppercase()
        );
        let store = TokenStore::parse(&text).unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.check("r-secret"), Some(("reader", Role::Read)));
        assert_eq!(store.check("o-secret"), Some(("ops", Role::Operate)));
        assert_eq!(store.check("nope"), None);
        assert_eq!(store.check(""), None);
    }

    #[test]
    fn rejects_bad_lines() {
        assert!(matches!(
            TokenStore::parse("a admin 00"),
            Err(AuthError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            TokenStore::parse("\nx read abc"),
            Err(AuthError::Syntax { line: 2, .. })
        ));
        assert!(matches!(
            TokenStore::parse("# only\n"),
            Err(AuthError::Empty)
        ));
    }

    #[test]
    fn exposure() {
        let any: std::net::SocketAddr = "0.0.0.0:4567".parse().unwrap();
        let lo: std::net::SocketAddr = "127.0.0.1:4567".parse().unwrap();
        let lo6: std::net::SocketAddr = "[::1]:4567".parse().unwrap();
        assert!(unauthenticated_exposure(any, false, false));
        assert!(!unauthenticated_exposure(any, true, false));
        assert!(!unauthenticated_exposure(any, false, true));
        assert!(!unauthenticated_exposure(lo, false, false));
        assert!(!unauthenticated_exposure(lo6, false, false));
    }

    #[test]
    fn roles_order() {
        assert_eq!(Role::required_for(&Method::GET), Role::Read);
        assert_eq!(Role::required_for(&Method::POST), Role::Operate);
        assert_eq!(Role::required_for(&Method::DELETE), Role::Operate);
        assert!(Role::Operate > Role::Read);
    }
}
