//! Authorization of Azure container requests (`?restype=container`) with object_store's
//! `AzureAuthorizer` (Shared Key, bearer token or SAS), as the store's own requests are signed.
//! Only the bucket check and creation use it; the store signs its own requests.
//!
//! Owns turning the location's credential into such a request. It must not sign anything by
//! hand.

use std::sync::Arc;

use object_store::azure::{AzureAuthorizer, AzureCredential};
use object_store::client::HttpRequestBody;

/// The service version of an anonymous request (a signed one gets the authorizer's).
const ANONYMOUS_API_VERSION: &str = "2021-08-06";

/// How the container requests of a location are authorized.
#[derive(Clone)]
pub(super) enum AzureAuth {
    Credential(Arc<AzureCredential>),
    Anonymous,
}

impl std::fmt::Debug for AzureAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AzureAuth::Credential(c) => match c.as_ref() {
                AzureCredential::AccessKey(_) => "SharedKey(..)",
                AzureCredential::BearerToken(_) => "Bearer(..)",
                AzureCredential::SASToken(_) => "Sas(..)",
            },
            AzureAuth::Anonymous => "Anonymous",
        })
    }
}

/// A container request (`?restype=container`) with the location's Azure authorization.
pub(super) fn azure_request(
    http: &reqwest::Client,
    method: reqwest::Method,
    container_url: &str,
    account: &str,
    auth: &AzureAuth,
) -> Result<reqwest::RequestBuilder, String> {
    let mut url = reqwest::Url::parse(container_url)
        .map_err(|e| format!("bad container URL {container_url}: {e}"))?;
    url.query_pairs_mut().append_pair("restype", "container");
    let mut request = http::Request::builder()
        .method(method)
        .uri(url.as_str())
        .header("content-length", "0")
        .body(HttpRequestBody::empty())
        .map_err(|e| format!("bad container request {url}: {e}"))?;
    match auth {
        AzureAuth::Credential(credential) => AzureAuthorizer::new(credential, account)
            .try_authorize(&mut request)
            .map_err(|e| format!("cannot authorize the request to {url}: {e}"))?,
        AzureAuth::Anonymous => {
            request.headers_mut().insert(
                "x-ms-version",
                http::HeaderValue::from_static(ANONYMOUS_API_VERSION),
            );
        }
    }
    let (parts, _) = request.into_parts();
    Ok(http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers))
}
