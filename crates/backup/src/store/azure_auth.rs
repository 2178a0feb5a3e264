//! Authorization of Azure container requests (`?restype=container`): Shared Key, bearer
//! token or SAS. Only the bucket check and creation use it; the store signs its own requests.

use base64::Engine as _;

const AZURE_API_VERSION: &str = "2021-08-06";

#[derive(Clone)]
pub(super) enum AzureAuth {
    SharedKey(Vec<u8>),
    Bearer(String),
    Sas(String),
    Anonymous,
}

impl std::fmt::Debug for AzureAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AzureAuth::SharedKey(_) => "SharedKey(..)",
            AzureAuth::Bearer(_) => "Bearer(..)",
            AzureAuth::Sas(_) => "Sas(..)",
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
    if let AzureAuth::Sas(sas) = auth {
        let query = format!("{}&{sas}", url.query().unwrap_or_default());
        url.set_query(Some(&query));
    }
    let date = httpdate_now();
    let mut request = http
        .request(method.clone(), url.clone())
        .header("x-ms-date", &date)
        .header("x-ms-version", AZURE_API_VERSION)
        .header("content-length", "0");
    match auth {
        AzureAuth::SharedKey(key) => {
            request = request.header(
                "authorization",
                azure_shared_key(&method, &url, account, &date, key),
            );
        }
        AzureAuth::Bearer(token) => request = request.bearer_auth(token),
        AzureAuth::Sas(_) | AzureAuth::Anonymous => {}
    }
    Ok(request)
}

/// Shared Key authorization of a body-less container request: the string to sign is the
/// verb, eleven empty standard headers, the `x-ms-*` headers and the canonical resource
/// (`/account/<url path>` then each query parameter as `name:value`).
fn azure_shared_key(
    method: &reqwest::Method,
    url: &reqwest::Url,
    account: &str,
    date: &str,
    key: &[u8],
) -> String {
    use hmac::Mac as _;
    let mut resource = format!("/{account}{}", url.path());
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
        .collect();
    params.sort();
    for (k, v) in params {
        resource.push_str(&format!("\n{k}:{v}"));
    }
    let string_to_sign = format!(
        "{method}\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{AZURE_API_VERSION}\n{resource}"
    );
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("SharedKey {account}:{signature}")
}

/// The current time as an RFC 1123 HTTP date (`Mon, 30 Nov 2026 19:00:00 GMT`).
pub(super) fn httpdate_now() -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_is_rfc_1123() {
        let date = httpdate_now();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
    }
}
