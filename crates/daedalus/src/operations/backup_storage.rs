//! What the `backup`, `list`, `remove-backup` and `restore` operations share: turning a
//! request's storage fields into an opened [`Storage`], the node's facts that fill a global
//! location, the failure causes of storage and listing errors, each saying what to fix, and
//! keeping the request's secrets (the proxy password) out of the record, the journal and
//! failure causes.
//!
//! Owns the bridge between the `backup` crate's request types and this crate's validation and
//! operation errors. It must not upload, list or remove (the operations and the crate do).

use std::path::Path;

use backup::catalog::{CatalogError, Scope};
use backup::location::{NodeFacts, StorageLocation};
use backup::request::{userinfo_encoded, CommonStorageFields, RequestError, Secret, REDACTED};
use backup::store::{Storage, StoreError, StoreOptions};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::context::{OperationError, RunContext};
use super::path_field::{PathField, PathKind};
use super::validation::ValidationError;

/// The `storageLocation` of every storage request: a `file://` bucket is a directory the
/// sidecar writes, reads and deletes in.
pub(super) const STORAGE_LOCATION: PathField =
    PathField::new("storageLocation", PathKind::Location);

/// Parses a request body of the `backup` crate's shape, naming the field at fault.
pub(super) fn parse_request<T: DeserializeOwned>(body: &Value) -> Result<T, ValidationError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| ValidationError::malformed(format!("the body is not JSON: {e}")))?;
    backup::request::from_json::<T>(&bytes).map_err(invalid)
}

/// A request error as the 400 the API answers.
pub(super) fn invalid(error: RequestError) -> ValidationError {
    if error.field == "body" {
        return ValidationError::malformed(error.to_string());
    }
    ValidationError::invalid(&error.field, format!("'{}' {}", error.field, error.reason))
}

/// Refuses `k8sSecretName` when the sidecar has no secrets directory to read it from.
pub(super) fn check_secrets(
    common: &CommonStorageFields,
    secrets_root: Option<&Path>,
) -> Result<(), ValidationError> {
    if secrets_root.is_none() {
        common.credentials_dir(None, "").map_err(|e| {
            ValidationError::invalid(
                &e.field,
                format!(
                    "'{}' {}: start it with --backup-secrets-dir DIR where DIR/<secret name>/ holds one file per key (awsaccesskeyid, awssecretaccesskey, …)",
                    e.field, e.reason
                ),
            )
        })?;
    }
    Ok(())
}

/// The cluster, datacenter and host id of the node, which fill a global location.
pub(super) async fn node_facts(ctx: &RunContext) -> Result<NodeFacts, OperationError> {
    let cluster = ctx.read(|n| async move { n.cluster_name().await }).await?;
    let host_id = ctx.read(|n| async move { n.local_host_id().await }).await?;
    let dc = ctx
        .read(|n| async move { n.local_datacenter().await })
        .await?;
    Ok(NodeFacts {
        cluster,
        dc,
        node: host_id,
    })
}

/// The store and the scope a `list` or `remove-backup` works on: one node's backups when the
/// location names a node, the whole bucket otherwise. With a secrets directory the cluster name
/// chooses the default secret, so it is read from the node only then.
pub(super) async fn open_catalog(
    ctx: &RunContext,
    common: &CommonStorageFields,
) -> Result<(Storage, Scope), OperationError> {
    let location = common
        .location()
        .map_err(|e| OperationError::failed("Configuration", e.to_string()))?;
    let cluster = match &location.node {
        Some(node) => node.cluster.clone(),
        None if ctx.settings().backup_secrets_dir.is_some() => {
            ctx.read(|n| async move { n.cluster_name().await }).await?
        }
        None => String::new(),
    };
    let storage = open_storage(ctx, common, &location, &cluster, false).await?;
    let scope = match &location.node {
        Some(node) => Scope::Node(node.clone()),
        None => Scope::Bucket,
    };
    Ok((storage, scope))
}

/// Opens the store of `location` with the request's options and credentials (a mounted secret
/// when the sidecar has a secrets directory). `cluster` names the default secret.
pub(super) async fn open_storage(
    ctx: &RunContext,
    common: &CommonStorageFields,
    location: &StorageLocation,
    cluster: &str,
    create_missing_bucket: bool,
) -> Result<Storage, OperationError> {
    let secrets_root = ctx.settings().backup_secrets_dir.as_deref();
    let credentials_dir = common
        .credentials_dir(secrets_root, cluster)
        .map_err(|e| OperationError::failed("Configuration", e.to_string()))?;
    let options = StoreOptions {
        create_missing_bucket,
        credentials_dir,
        instance_metadata: ctx.settings().instance_metadata,
        file_within: ctx.policy().allowed_roots.clone(),
        // A few quick retries of one request inside the client; longer outages are the
        // request's `retry` (whole files again), as in Esop.
        retry: object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(30),
            ..object_store::RetryConfig::default()
        },
        ..common
            .store_options()
            .map_err(|e| OperationError::failed("Configuration", e.to_string()))?
    };
    tokio::select! {
        opened = Storage::open(location, &options) => opened.map_err(store_failure),
        _ = ctx.cancelled().cancelled() => Err(OperationError::Cancelled),
    }
}

/// A store that cannot be used, as a failure cause naming what to do.
pub(super) fn store_failure(error: StoreError) -> OperationError {
    OperationError::failed("Storage", format!("{error}{}", store_hint(&error)))
}

/// What to do about a store that cannot be used, in this sidecar's settings.
pub(super) fn store_hint(error: &StoreError) -> &'static str {
    match error {
        StoreError::BucketMissing { .. } => "",
        StoreError::NoCredentials(_) => {
            ". This sidecar reads them from the request (k8sSecretName: a secret mounted under \
             --backup-secrets-dir; without it the cluster's default secret \
             cassandra-backup-restore-secret-cluster-<cluster name> if mounted), then from its \
             own environment, then, unless started with --no-instance-metadata, from the \
             cloud's instance metadata service"
        }
        StoreError::Directory { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            "; a file:// bucket must resolve inside a root of --allowed-root (config key \
             `allowed-root`)"
        }
        StoreError::CredentialsDir { .. } | StoreError::Configure { .. } => {
            "; check the credentials (environment, --backup-secrets-dir) and the endpoint settings"
        }
        _ => "; check that the storage is reachable and the credentials may use the bucket",
    }
}

/// A listing or removal failure as a failure cause.
pub(super) fn catalog_failure(error: CatalogError) -> OperationError {
    let kind = match &error {
        CatalogError::NotFound { .. } | CatalogError::NoSuchBackup { .. } => "NotFound",
        CatalogError::Manifest(_) => "Manifest",
        _ => "Storage",
    };
    OperationError::failed(kind, error.to_string())
}

/// Milliseconds since the epoch, now.
pub(super) fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A storage request's fields as the record shows (and the journal stores) them: absent values
/// left out rather than `null`, `duration` in the contract's text form (`"1 HOURS"`) and
/// `bandwidth` with the `description` the contract's `DataRate` asks for, `proxySettings` values
/// as the contract's strings, secrets as `"***"` (their own serialized form). Both forms parse back to the same
/// request, except the password.
pub(super) fn record_fields<T: serde::Serialize>(request: &T) -> Value {
    let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.retain(|_, v| !v.is_null());
        if let Some(span) = fields.get_mut("duration") {
            if let (Some(amount), Some(unit)) = (span["value"].as_i64(), span["unit"].as_str()) {
                *span = Value::from(format!("{amount} {unit}"));
            }
        }
        if let Some(Value::Object(rate)) = fields.get_mut("bandwidth") {
            if let (Some(amount), Some(unit)) = (
                rate.get("value").and_then(Value::as_i64),
                rate.get("unit").and_then(Value::as_str),
            ) {
                let description = format!("{amount} {unit}");
                rate.insert("description".into(), Value::from(description));
            }
        }
        if let Some(Value::Object(proxy)) = fields.get_mut("proxySettings") {
            proxy.retain(|_, v| !v.is_null());
            for value in proxy.values_mut() {
                if !value.is_string() {
                    *value = Value::from(value.to_string());
                }
            }
        }
    }
    value
}

/// The body a node's sidecar is sent for a request of `type_name`: the request's record form
/// with its secrets revealed (a node needs the password itself, and keeps it out of its own
/// record; a withheld one is left out, never sent as the placeholder).
pub(super) fn node_request<T: serde::Serialize>(type_name: &str, request: &T) -> Value {
    let mut body = Secret::revealed(|| record_fields(request));
    if let Value::Object(fields) = &mut body {
        fields.insert("type".into(), Value::from(type_name));
    }
    body
}

/// Fails a request read back from the journal whose secret was withheld there: without the
/// proxy password it cannot reach its storage as it was submitted.
pub(super) fn check_secrets_kept(secret_withheld: bool) -> Result<(), OperationError> {
    if !secret_withheld {
        return Ok(());
    }
    Err(OperationError::failed(
        "Configuration",
        "'proxySettings.proxyPassword' is never written to the journal, and this request was \
         read back from it after the sidecar restarted, so it no longer has the password: \
         submit the request again",
    ))
}

/// The outcome with the request's secrets taken out of its failure message (an error of a
/// lower layer may quote the proxy URL, password included).
pub(super) fn scrub_secrets(
    outcome: Result<(), OperationError>,
    common: &CommonStorageFields,
) -> Result<(), OperationError> {
    match outcome {
        Err(OperationError::Failed { kind, mut message }) => {
            for secret in common.secrets() {
                for form in [secret.to_string(), userinfo_encoded(secret)] {
                    // A password too short to be told from ordinary words is only replaced
                    // where a URL carries it, after `user:`.
                    if form.len() >= 6 {
                        message = message.replace(&form, REDACTED);
                    } else {
                        message = message.replace(&format!(":{form}@"), &format!(":{REDACTED}@"));
                    }
                }
            }
            Err(OperationError::Failed { kind, message })
        }
        other => other,
    }
}
