//! The object store of a parsed location: `file://` (a directory), S3 and S3-compatible
//! servers, Google Cloud Storage and Azure Blob Storage, with credentials, timeouts, retries,
//! and the bucket check/creation a backup asks for (`skipBucketVerification`,
//! `createMissingBucket`).
//!
//! Credentials come from each cloud's standard environment variables, then from a mounted
//! secret directory if the caller names one, then from settings the caller passes (same names
//! as the environment variables); later sources win. When none of them holds any, the cloud's
//! instance metadata service is asked only if the caller allows it, and the error names every
//! source tried (`credentials`). A `file://` store can be kept inside given directories
//! (`confined`). Buckets are checked and created with one
//! small request per provider (object_store has no bucket API): S3 `HEAD`/`PUT` on the bucket
//! through a SigV4 pre-signed URL, GCS through its JSON API, Azure `restype=container` with
//! Shared Key or bearer authorization. Refreshing an object already stored (so that lifecycle
//! rules do not expire it) is one signed request per provider, in `refresh`. Owns building
//! stores; it must not know object keys below the bucket (that is `layout`) nor move data
//! (that is `transfer`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, Checksum};
use object_store::azure::{AzureConfigKey, AzureCredential, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::gcp::{
    GcpCredential, GoogleCloudStorage, GoogleCloudStorageBuilder, GoogleConfigKey,
};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ClientOptions, ObjectStore, RetryConfig};

use crate::location::{NodePath, Provider, StorageLocation};

mod azure_auth;
mod confined;
mod credentials;
mod refresh;
mod rest;
mod s3_copy;
mod settings;

use azure_auth::{azure_request, AzureAuth};
pub use credentials::{MetadataService, Missing};
pub use s3_copy::S3_MAX_COPY;
use settings::collect_settings;

/// The well-known Azurite account and key (public, documented by Microsoft).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const GCS_DEFAULT_BASE_URL: &str = "https://storage.googleapis.com";

/// How to reach and prepare a location's store. Its `Debug` form shows no secret: setting
/// names without their values, the proxy without its password.
#[derive(Clone)]
pub struct StoreOptions {
    /// Esop's `insecure`: allow plain HTTP endpoints.
    pub insecure: bool,
    /// Do not check that the bucket exists (some credentials may not look at buckets).
    pub skip_bucket_verification: bool,
    /// Create the bucket (directory, container) when it does not exist.
    pub create_missing_bucket: bool,
    /// Timeout of one request to the store.
    pub request_timeout: Duration,
    /// Timeout of establishing a connection.
    pub connect_timeout: Duration,
    /// Retries of single requests inside the store client (transient network errors, 5xx).
    pub retry: RetryConfig,
    /// Read the cloud's standard environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    pub read_environment: bool,
    /// A directory of credential files (a mounted Kubernetes secret): each file is a setting,
    /// named as its environment variable (`AWS_ACCESS_KEY_ID`) or as Icarus' secret keys
    /// (`awsaccesskeyid`, `awssecretaccesskey`, `awsregion`, `awsendpoint`,
    /// `azurestorageaccount`, `azurestoragekey`, `gcp` holding a service-account JSON).
    pub credentials_dir: Option<PathBuf>,
    /// An HTTP(S) proxy for every request to the store (`http://user:pass@host:port`).
    pub proxy_url: Option<String>,
    /// Settings by environment-variable name (`AWS_ENDPOINT_URL`, `GOOGLE_BASE_URL`,
    /// `AZURE_STORAGE_ENDPOINT`, …); they win over the environment and the directory.
    pub settings: BTreeMap<String, String>,
    /// Ask the cloud's instance metadata service (169.254.169.254 and the like) for credentials
    /// when no other source holds any, as the clouds' SDKs do. Off by default: off a cloud VM
    /// the request only times out, and the error would not say what is missing.
    pub instance_metadata: bool,
    /// `file://` only: every object must resolve inside one of these directories, symbolic
    /// links inside the bucket followed (none: anywhere).
    pub file_within: Vec<PathBuf>,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("insecure", &self.insecure)
            .field("skip_bucket_verification", &self.skip_bucket_verification)
            .field("create_missing_bucket", &self.create_missing_bucket)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("read_environment", &self.read_environment)
            .field("credentials_dir", &self.credentials_dir)
            .field("proxy_url", &self.proxy_url.as_deref().map(shown_url))
            .field("settings", &self.settings.keys().collect::<Vec<_>>())
            .field("instance_metadata", &self.instance_metadata)
            .field("file_within", &self.file_within)
            .finish()
    }
}

/// A URL as it may be shown: its password replaced by `***`.
fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(crate::request::REDACTED));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        Err(_) => "<not a URL>".to_string(),
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            insecure: false,
            skip_bucket_verification: false,
            create_missing_bucket: false,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryConfig::default(),
            read_environment: true,
            credentials_dir: None,
            proxy_url: None,
            settings: BTreeMap::new(),
            instance_metadata: false,
            file_within: Vec::new(),
        }
    }
}

/// Why a location's store cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store client could not be built from the settings (bad endpoint, missing account…).
    #[error("cannot configure the {provider} store for {location}: {source}")]
    Configure {
        provider: &'static str,
        location: String,
        source: object_store::Error,
    },
    /// The credentials directory could not be read.
    #[error("cannot read credentials from {path}: {source}")]
    CredentialsDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The bucket does not exist and the request did not ask to create it.
    #[error("bucket {bucket:?} of {location} does not exist: create it, or set createMissingBucket to let the backup create it")]
    BucketMissing { bucket: String, location: String },
    /// The store answered the bucket check or creation with an error.
    #[error("{action} bucket {bucket:?} of {location} failed: {detail}")]
    Bucket {
        action: &'static str,
        bucket: String,
        location: String,
        detail: String,
    },
    /// No source holds credentials for a cloud store: the message names each source tried
    /// and the settings that would provide them.
    #[error("{0}")]
    NoCredentials(Box<credentials::Missing>),
    /// A `file://` location's directory could not be prepared.
    #[error("cannot use directory {path} of {location}: {source}")]
    Directory {
        path: PathBuf,
        location: String,
        source: std::io::Error,
    },
}

/// A location's object store, rooted at the bucket, and the means to check the bucket.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    location: StorageLocation,
    bucket_api: BucketApi,
}

#[derive(Debug, Clone)]
enum BucketApi {
    File {
        root: PathBuf,
        local: Arc<LocalFileSystem>,
        /// Directories every object must resolve inside (none: anywhere).
        within: Vec<PathBuf>,
    },
    S3 {
        s3: Arc<AmazonS3>,
        region: String,
        http: reqwest::Client,
        /// The server-side encryption headers of the store's settings, which a copy onto
        /// itself must send again to keep them.
        encryption: Vec<(String, String)>,
    },
    Gcs {
        gcs: Arc<GoogleCloudStorage>,
        base_url: String,
        project: Option<String>,
        anonymous: bool,
        http: reqwest::Client,
    },
    Azure {
        azure: Arc<MicrosoftAzure>,
        container_url: String,
        account: String,
        auth: AzureAuth,
        http: reqwest::Client,
    },
}

impl Storage {
    /// Builds the store of `location` and checks (or creates) its bucket as `options` say.
    pub async fn open(
        location: &StorageLocation,
        options: &StoreOptions,
    ) -> Result<Storage, StoreError> {
        // The store's HTTP clients (object_store's and ours) take TLS from the process default.
        tls_provider::install();
        let settings = collect_settings(location.provider, options)?;
        let found = credentials::found(location.provider, &settings);
        if found.is_none() && location.provider != Provider::File && !options.instance_metadata {
            return Err(credentials::missing(location, options, None));
        }
        let storage = match location.provider {
            Provider::File => open_file(location, options)?,
            Provider::S3 => open_s3(location, options, &settings)?,
            Provider::Gcp => open_gcs(location, options, &settings)?,
            Provider::Azure => open_azure(location, options, &settings)?,
        };
        if found.is_none() && location.provider != Provider::File {
            // Only the metadata service is left: ask it now, so that its silence is reported
            // as what it is (no credentials anywhere) rather than as a failed request.
            if let Err(detail) = storage.fetch_credentials().await {
                return Err(credentials::missing(location, options, Some(detail)));
            }
        }
        let check = location.provider != Provider::File && !options.skip_bucket_verification;
        if check && !storage.bucket_exists().await? {
            if !options.create_missing_bucket {
                return Err(StoreError::BucketMissing {
                    bucket: location.bucket.clone(),
                    location: location.raw.clone(),
                });
            }
            storage.create_bucket().await?;
        }
        Ok(storage)
    }

    /// The store, rooted at the bucket: keys are `cluster/dc/node/...` and `topology/...`.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The location this store serves.
    pub fn location(&self) -> &StorageLocation {
        &self.location
    }

    /// The store path of `key` (relative to the node prefix) of `node`.
    pub fn node_object(&self, node: &NodePath, key: &str) -> Path {
        Path::from(format!("{}/{}", node.prefix(), key))
    }

    /// The store path of a key at the bucket root (`topology/<fullTag>.json`).
    pub fn bucket_object(&self, key: &str) -> Path {
        Path::from(key)
    }

    /// Fetches the store's credentials once (the cloud's provider caches them).
    async fn fetch_credentials(&self) -> Result<(), String> {
        match &self.bucket_api {
            BucketApi::File { .. } => Ok(()),
            BucketApi::S3 { s3, .. } => s3
                .credentials()
                .get_credential()
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            BucketApi::Gcs { gcs, .. } => gcs
                .credentials()
                .get_credential()
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            BucketApi::Azure { azure, .. } => azure
                .credentials()
                .get_credential()
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    /// Whether the bucket (directory, container) exists.
    pub async fn bucket_exists(&self) -> Result<bool, StoreError> {
        match &self.bucket_api {
            BucketApi::File { root, .. } => Ok(root.is_dir()),
            BucketApi::S3 { s3, http, .. } => {
                let url = s3_bucket_url(s3, &self.location, reqwest::Method::HEAD).await?;
                let response = http
                    .head(url)
                    .send()
                    .await
                    .map_err(|e| self.bucket_error("checking", e.to_string()))?;
                self.exists_from_status(response).await
            }
            BucketApi::Gcs {
                gcs,
                base_url,
                anonymous,
                http,
                ..
            } => {
                let url = format!("{base_url}/storage/v1/b/{}", self.location.bucket);
                let mut request = http.get(url);
                if !anonymous {
                    request =
                        request.bearer_auth(gcs_token(gcs, &self.location).await?.bearer.clone());
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| self.bucket_error("checking", e.to_string()))?;
                self.exists_from_status(response).await
            }
            BucketApi::Azure {
                container_url,
                account,
                auth,
                http,
                ..
            } => {
                let request =
                    azure_request(http, reqwest::Method::HEAD, container_url, account, auth)
                        .map_err(|e| self.bucket_error("checking", e))?;
                let response = request
                    .send()
                    .await
                    .map_err(|e| self.bucket_error("checking", e.to_string()))?;
                self.exists_from_status(response).await
            }
        }
    }

    /// Creates the bucket (directory, container); one that already exists is not an error.
    pub async fn create_bucket(&self) -> Result<(), StoreError> {
        let response = match &self.bucket_api {
            BucketApi::File { root, .. } => {
                return std::fs::create_dir_all(root).map_err(|source| StoreError::Directory {
                    path: root.clone(),
                    location: self.location.raw.clone(),
                    source,
                })
            }
            BucketApi::S3 {
                s3, region, http, ..
            } => {
                let url = s3_bucket_url(s3, &self.location, reqwest::Method::PUT).await?;
                let body = if region == "us-east-1" {
                    String::new()
                } else {
                    format!(
                        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
                    )
                };
                // S3 wants a Content-Length even on an empty body.
                http.put(url)
                    .header(reqwest::header::CONTENT_LENGTH, body.len())
                    .body(body)
                    .send()
                    .await
            }
            BucketApi::Gcs {
                gcs,
                base_url,
                project,
                anonymous,
                http,
            } => {
                let mut url = format!("{base_url}/storage/v1/b");
                if let Some(project) = project {
                    url = format!("{url}?project={project}");
                }
                let mut request = http
                    .post(url)
                    .json(&serde_json::json!({ "name": self.location.bucket }));
                if !anonymous {
                    request =
                        request.bearer_auth(gcs_token(gcs, &self.location).await?.bearer.clone());
                }
                request.send().await
            }
            BucketApi::Azure {
                container_url,
                account,
                auth,
                http,
                ..
            } => {
                azure_request(http, reqwest::Method::PUT, container_url, account, auth)
                    .map_err(|e| self.bucket_error("creating", e))?
                    .send()
                    .await
            }
        };
        let response = response.map_err(|e| self.bucket_error("creating", e.to_string()))?;
        let status = response.status();
        // 409: it exists already (created meanwhile, or owned by us): the goal is reached.
        if status.is_success() || status == reqwest::StatusCode::CONFLICT {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(self.bucket_error("creating", format!("HTTP {status}: {}", body.trim())))
    }

    async fn exists_from_status(&self, response: reqwest::Response) -> Result<bool, StoreError> {
        let status = response.status();
        if status.is_success() {
            return Ok(true);
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(false);
        }
        let body = response.text().await.unwrap_or_default();
        let hint = if status == reqwest::StatusCode::FORBIDDEN
            || status == reqwest::StatusCode::UNAUTHORIZED
        {
            " (the credentials may not look at buckets: set skipBucketVerification to skip this check)"
        } else {
            ""
        };
        Err(self.bucket_error("checking", format!("HTTP {status}{hint}: {}", body.trim())))
    }

    fn bucket_error(&self, action: &'static str, detail: String) -> StoreError {
        bucket_error(&self.location, action, detail)
    }
}

/// A failed bucket check, creation or request preparation of `location`.
fn bucket_error(location: &StorageLocation, action: &'static str, detail: String) -> StoreError {
    StoreError::Bucket {
        action,
        bucket: location.bucket.clone(),
        location: location.raw.clone(),
        detail,
    }
}

/// A provider's builder from the process environment (when the options read it) or empty, with
/// every setting whose name is one of the provider's configuration keys applied over it.
/// `from_env` also reads what is not a prefixed setting (SERVICE_ACCOUNT, IDENTITY_ENDPOINT).
fn configured<B, K: std::str::FromStr>(
    options: &StoreOptions,
    settings: &BTreeMap<String, String>,
    from_env: fn() -> B,
    new: fn() -> B,
    with_config: fn(B, K, &str) -> B,
) -> B {
    let mut builder = if options.read_environment {
        from_env()
    } else {
        new()
    };
    for (key, value) in settings {
        if let Ok(config_key) = key.to_ascii_lowercase().parse::<K>() {
            builder = with_config(builder, config_key, value);
        }
    }
    builder
}

fn client_options(options: &StoreOptions, endpoint: Option<&str>) -> ClientOptions {
    // An endpoint written with http:// is a deliberate choice (a local S3-compatible server or
    // emulator); `insecure` allows plain HTTP for any endpoint, as Esop's flag does.
    let allow_http = options.insecure || endpoint.is_some_and(|e| e.starts_with("http://"));
    let client = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_timeout(options.request_timeout)
        .with_connect_timeout(options.connect_timeout);
    match &options.proxy_url {
        Some(proxy) => client.with_proxy_url(proxy),
        None => client,
    }
}

fn http_client(options: &StoreOptions) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(options.request_timeout)
        .connect_timeout(options.connect_timeout);
    if let Some(proxy) = &options.proxy_url {
        builder = builder.proxy(
            reqwest::Proxy::all(proxy).map_err(|e| format!("proxy {}: {e}", shown_url(proxy)))?,
        );
    }
    builder.build().map_err(|e| e.to_string())
}

fn bucket_http(
    location: &StorageLocation,
    options: &StoreOptions,
) -> Result<reqwest::Client, StoreError> {
    http_client(options).map_err(|detail| bucket_error(location, "preparing requests for", detail))
}

fn open_file(location: &StorageLocation, options: &StoreOptions) -> Result<Storage, StoreError> {
    let directory = location.directory.clone().unwrap_or_default();
    let root = directory.join(&location.bucket);
    let dir_err = |path: &PathBuf, source| StoreError::Directory {
        path: path.clone(),
        location: location.raw.clone(),
        source,
    };
    let within = &options.file_within;
    if !within.is_empty() && !crate::confine::is_inside(&root, within) {
        let shown: Vec<String> = within.iter().map(|d| d.display().to_string()).collect();
        return Err(dir_err(
            &root,
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "it resolves outside the directories a file:// store may use ({})",
                    shown.join(", ")
                ),
            ),
        ));
    }
    if !root.is_dir() {
        if options.create_missing_bucket || options.skip_bucket_verification {
            std::fs::create_dir_all(&root).map_err(|e| dir_err(&root, e))?;
        } else {
            return Err(StoreError::BucketMissing {
                bucket: location.bucket.clone(),
                location: location.raw.clone(),
            });
        }
    }
    let store = LocalFileSystem::new_with_prefix(&root)
        .map_err(|source| StoreError::Configure {
            provider: "file",
            location: location.raw.clone(),
            source,
        })?
        .with_automatic_cleanup(true);
    let local = Arc::new(store);
    let store: Arc<dyn ObjectStore> = if within.is_empty() {
        local.clone()
    } else {
        Arc::new(confined::ConfinedFs::new(local.clone(), within.clone()))
    };
    Ok(Storage {
        store,
        location: location.clone(),
        bucket_api: BucketApi::File {
            root,
            local,
            within: within.clone(),
        },
    })
}

fn open_s3(
    location: &StorageLocation,
    options: &StoreOptions,
    settings: &BTreeMap<String, String>,
) -> Result<Storage, StoreError> {
    let mut builder = configured(
        options,
        settings,
        AmazonS3Builder::from_env,
        AmazonS3Builder::new,
        |b, k: AmazonS3ConfigKey, v| b.with_config(k, v),
    );
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    // Esop reads AWS_ENABLE_PATH_STYLE_ACCESS without applying it; here it decides. Unset, a
    // custom endpoint (MinIO, Ceph, a local server) gets path-style requests and AWS itself
    // virtual-hosted ones, unless object_store's own AWS_VIRTUAL_HOSTED_STYLE_REQUEST says.
    if !settings.contains_key("AWS_VIRTUAL_HOSTED_STYLE_REQUEST") {
        let path_style = match settings.get("AWS_ENABLE_PATH_STYLE_ACCESS") {
            Some(value) => !value.trim().eq_ignore_ascii_case("false"),
            None => endpoint.is_some(),
        };
        builder = builder.with_virtual_hosted_style_request(!path_style);
    }
    // Every put and part carries `x-amz-checksum-sha256`, so the server checks each body
    // against it, and multipart uploads declare SHA256: the object's checksum is then built
    // from the parts' (S3's COMPOSITE type) instead of a CRC64NVME the server computes over
    // the whole object again when the upload completes, which is what S3 (and moto) do for
    // an upload that names no algorithm. It costs the client nothing while payloads are
    // signed: object_store reuses the SHA-256 it computed for the signature.
    // `AWS_CHECKSUM_ALGORITHM` (object_store's setting) chooses another.
    if builder
        .get_config_value(&AmazonS3ConfigKey::Checksum)
        .is_none()
    {
        builder = builder.with_checksum_algorithm(Checksum::SHA256);
    }
    let region = builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .unwrap_or_else(|| "us-east-1".to_string());
    let s3 = builder
        .with_bucket_name(&location.bucket)
        .with_region(&region)
        .with_client_options(client_options(options, endpoint.as_deref()))
        .with_retry(options.retry.clone())
        .build()
        .map_err(|source| StoreError::Configure {
            provider: "s3",
            location: location.raw.clone(),
            source,
        })?;
    let s3 = Arc::new(s3);
    Ok(Storage {
        store: s3.clone(),
        location: location.clone(),
        bucket_api: BucketApi::S3 {
            s3,
            region,
            http: bucket_http(location, options)?,
            encryption: s3_encryption_headers(settings),
        },
    })
}

/// The `x-amz-server-side-encryption*` headers object_store sends on writes, from the same
/// settings (`AWS_SERVER_SIDE_ENCRYPTION`, `AWS_SSE_KMS_KEY_ID`, `AWS_SSE_BUCKET_KEY_ENABLED`).
fn s3_encryption_headers(settings: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let Some(kind) = settings.get("AWS_SERVER_SIDE_ENCRYPTION") else {
        return headers;
    };
    // SSE-C needs the customer key on the copy source as well; S3 then names what is missing.
    if kind.eq_ignore_ascii_case("sse-c") {
        return headers;
    }
    headers.push(("x-amz-server-side-encryption".to_string(), kind.clone()));
    if let Some(key) = settings.get("AWS_SSE_KMS_KEY_ID") {
        headers.push((
            "x-amz-server-side-encryption-aws-kms-key-id".to_string(),
            key.clone(),
        ));
    }
    if let Some(enabled) = settings.get("AWS_SSE_BUCKET_KEY_ENABLED") {
        headers.push((
            "x-amz-server-side-encryption-bucket-key-enabled".to_string(),
            enabled.clone(),
        ));
    }
    headers
}

async fn s3_bucket_url(
    s3: &AmazonS3,
    location: &StorageLocation,
    method: reqwest::Method,
) -> Result<reqwest::Url, StoreError> {
    // A pre-signed URL for the empty key is the bucket's own URL, signed for `method`.
    s3.signed_url(method, &Path::from(""), Duration::from_secs(300))
        .await
        .map_err(|source| bucket_error(location, "signing a request for", source.to_string()))
}

fn open_gcs(
    location: &StorageLocation,
    options: &StoreOptions,
    settings: &BTreeMap<String, String>,
) -> Result<Storage, StoreError> {
    let builder = configured(
        options,
        settings,
        GoogleCloudStorageBuilder::from_env,
        GoogleCloudStorageBuilder::new,
        |b, k: GoogleConfigKey, v| b.with_config(k, v),
    );
    let base_url = builder
        .get_config_value(&GoogleConfigKey::BaseUrl)
        .unwrap_or_else(|| GCS_DEFAULT_BASE_URL.to_string())
        .trim_end_matches('/')
        .to_string();
    let anonymous = builder
        .get_config_value(&GoogleConfigKey::SkipSignature)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let project = settings.get("GOOGLE_CLOUD_PROJECT").cloned().or_else(|| {
        settings
            .get("GOOGLE_SERVICE_ACCOUNT_KEY")
            .and_then(|key| project_of_key(key))
    });
    let gcs = builder
        .with_bucket_name(&location.bucket)
        .with_client_options(client_options(options, Some(&base_url)))
        .with_retry(options.retry.clone())
        .build()
        .map_err(|source| StoreError::Configure {
            provider: "gcp",
            location: location.raw.clone(),
            source,
        })?;
    let gcs = Arc::new(gcs);
    Ok(Storage {
        store: gcs.clone(),
        location: location.clone(),
        bucket_api: BucketApi::Gcs {
            gcs,
            base_url,
            project,
            anonymous,
            http: bucket_http(location, options)?,
        },
    })
}

fn project_of_key(key: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(key).ok()?;
    value.get("project_id")?.as_str().map(str::to_string)
}

async fn gcs_token(
    gcs: &GoogleCloudStorage,
    location: &StorageLocation,
) -> Result<Arc<GcpCredential>, StoreError> {
    gcs.credentials()
        .get_credential()
        .await
        .map_err(|source| bucket_error(location, "getting credentials for", source.to_string()))
}

fn open_azure(
    location: &StorageLocation,
    options: &StoreOptions,
    settings: &BTreeMap<String, String>,
) -> Result<Storage, StoreError> {
    let mut builder = configured(
        options,
        settings,
        MicrosoftAzureBuilder::from_env,
        MicrosoftAzureBuilder::new,
        |b, k: AzureConfigKey, v| b.with_config(k, v),
    );
    let use_emulator = builder
        .get_config_value(&AzureConfigKey::UseEmulator)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let account = builder
        .get_config_value(&AzureConfigKey::AccountName)
        .unwrap_or_else(|| {
            if use_emulator {
                AZURITE_ACCOUNT.to_string()
            } else {
                String::new()
            }
        });
    let key = builder
        .get_config_value(&AzureConfigKey::AccessKey)
        .or_else(|| use_emulator.then(|| AZURITE_KEY.to_string()));
    let account_url = if use_emulator {
        // object_store reads the emulator's URL from the process environment only; an
        // explicit endpoint keeps the store and the container requests on the same server.
        let base = settings
            .get("AZURITE_BLOB_STORAGE_URL")
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1:10000");
        let url = format!("{}/{account}", base.trim_end_matches('/'));
        builder = builder
            .with_config(AzureConfigKey::UseEmulator, "false")
            .with_config(AzureConfigKey::AccountName, &account)
            .with_config(AzureConfigKey::Endpoint, &url);
        if let Some(key) = &key {
            builder = builder.with_config(AzureConfigKey::AccessKey, key);
        }
        url
    } else {
        builder
            .get_config_value(&AzureConfigKey::Endpoint)
            .unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"))
    };
    let credential = if let Some(key) = key {
        let key = object_store::azure::AzureAccessKey::try_new(key.trim()).map_err(|e| {
            StoreError::Configure {
                provider: "azure",
                location: location.raw.clone(),
                source: object_store::Error::Generic {
                    store: "MicrosoftAzure",
                    source: format!("the account key is not base64: {e}").into(),
                },
            }
        })?;
        Some(AzureCredential::AccessKey(key))
    } else if let Some(token) = builder.get_config_value(&AzureConfigKey::Token) {
        Some(AzureCredential::BearerToken(token))
    } else {
        builder
            .get_config_value(&AzureConfigKey::SasKey)
            .map(|sas| {
                let query = format!("http://sas/?{}", sas.trim_start_matches('?'));
                let pairs = reqwest::Url::parse(&query)
                    .map(|u| u.query_pairs().into_owned().collect())
                    .unwrap_or_default();
                AzureCredential::SASToken(pairs)
            })
    };
    let auth = match credential {
        Some(credential) => AzureAuth::Credential(Arc::new(credential)),
        None => AzureAuth::Anonymous,
    };
    let store = builder
        .with_container_name(&location.bucket)
        .with_client_options(client_options(options, Some(&account_url)))
        .with_retry(options.retry.clone())
        .build()
        .map_err(|source| StoreError::Configure {
            provider: "azure",
            location: location.raw.clone(),
            source,
        })?;
    let container_url = format!("{}/{}", account_url.trim_end_matches('/'), location.bucket);
    let azure = Arc::new(store);
    Ok(Storage {
        store: azure.clone(),
        location: location.clone(),
        bucket_api: BucketApi::Azure {
            azure,
            container_url,
            account,
            auth,
            http: bucket_http(location, options)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let options = StoreOptions {
            proxy_url: Some("http://user:hunter2@proxy:3128".into()),
            settings: BTreeMap::from([("AWS_SECRET_ACCESS_KEY".into(), "hunter3".into())]),
            ..StoreOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(shown.contains("user:***@proxy"), "{shown}");
        assert!(shown.contains("AWS_SECRET_ACCESS_KEY"), "{shown}");
        assert!(!shown.contains("hunter"), "{shown}");
    }

    #[tokio::test]
    async fn file_bucket_must_exist_unless_asked_to_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let location =
            StorageLocation::parse(&format!("file://{}/bucket/c/d/n", dir.path().display()))
                .unwrap();
        let err = Storage::open(&location, &StoreOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::BucketMissing { .. }), "{err}");
        assert!(err.to_string().contains("createMissingBucket"), "{err}");
        let options = StoreOptions {
            create_missing_bucket: true,
            ..StoreOptions::default()
        };
        let storage = Storage::open(&location, &options).await.unwrap();
        assert!(dir.path().join("bucket").is_dir());
        assert!(storage.bucket_exists().await.unwrap());
    }
}
