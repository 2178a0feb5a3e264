//! What the `backup`, `list`, `remove-backup` and `restore` operations share at run time:
//! turning a request's storage fields into an opened [`Storage`] (retried a few times inside
//! the client, the wait cut short by a cancel), the node's facts that fill a global location,
//! the failure causes of storage and listing errors, each saying what to fix.
//!
//! Owns the bridge between the `backup` crate's stores and this crate's operation errors. The
//! request's parsing, record form and secrets are `storage_op`'s. It must not upload, list or
//! remove (the operations and the crate do). The continuous commit-log archiver, which runs
//! outside any operation, opens its store and reads the node's facts through the same code
//! ([`store_options`], [`read_node_facts`]), so credentials and confinement work alike.

use backup::catalog::{CatalogError, Scope};
use backup::location::{NodeFacts, StorageLocation};
use backup::request::{CommonStorageFields, RequestError};
use backup::store::{Storage, StoreError, StoreOptions};
use cassandra::NodeError;

use super::context::{OperationError, RunContext};
use super::path_field::{PathField, PathKind};
use super::settings::OperationSettings;
use crate::node::NodeHandle;

/// The `storageLocation` of every storage request: a `file://` bucket is a directory the
/// sidecar writes, reads and deletes in.
pub(super) const STORAGE_LOCATION: PathField =
    PathField::new("storageLocation", PathKind::Location);

/// The cluster, datacenter and host id of the node, which fill a global location.
pub(super) async fn node_facts(ctx: &RunContext) -> Result<NodeFacts, OperationError> {
    Ok(read_node_facts(ctx.handle()).await?)
}

/// [`node_facts`] from the node handle alone, for a caller outside any operation.
pub(crate) async fn read_node_facts(node: &NodeHandle) -> Result<NodeFacts, NodeError> {
    let cluster = node.read(|n| async move { n.cluster_name().await }).await?;
    let host_id = node
        .read(|n| async move { n.local_host_id().await })
        .await?;
    let dc = node
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

/// How long the store's client retries one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientRetry {
    /// A few quick retries: longer outages are the request's `retry` (whole files again), as
    /// in Esop (backup, list, remove-backup).
    Quick,
    /// The client's own patience (minutes): a restore's reads have no request-level retry, so
    /// the client waits an outage out; a cancel cuts the wait short.
    Patient,
}

/// Why a store could not be opened.
pub(super) enum OpenError {
    /// The request's storage fields cannot make store options.
    Request(RequestError),
    Store(StoreError),
    Cancelled,
}

impl From<OpenError> for OperationError {
    fn from(error: OpenError) -> OperationError {
        match error {
            OpenError::Request(e) => OperationError::failed("Configuration", e.to_string()),
            OpenError::Store(e) => store_failure(e),
            OpenError::Cancelled => OperationError::Cancelled,
        }
    }
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
    Ok(open_store(
        ctx,
        common,
        location,
        cluster,
        create_missing_bucket,
        ClientRetry::Quick,
    )
    .await?)
}

/// [`open_storage`], for a caller that names the failure its own way.
pub(super) async fn open_store(
    ctx: &RunContext,
    common: &CommonStorageFields,
    location: &StorageLocation,
    cluster: &str,
    create_missing_bucket: bool,
    client_retry: ClientRetry,
) -> Result<Storage, OpenError> {
    let options = store_options(
        common,
        ctx.settings(),
        &ctx.policy().allowed_roots,
        cluster,
        create_missing_bucket,
        client_retry,
    )
    .map_err(OpenError::Request)?;
    tokio::select! {
        opened = Storage::open(location, &options) => opened.map_err(OpenError::Store),
        _ = ctx.cancelled().cancelled() => Err(OpenError::Cancelled),
    }
}

/// The store options of `common` in this sidecar's settings: credentials from a mounted
/// secret when there is a secrets directory (`cluster` names the default secret), the instance
/// metadata switch, `file://` objects confined to `allowed_roots`, and the client's retries.
pub(crate) fn store_options(
    common: &CommonStorageFields,
    settings: &OperationSettings,
    allowed_roots: &[std::path::PathBuf],
    cluster: &str,
    create_missing_bucket: bool,
    client_retry: ClientRetry,
) -> Result<StoreOptions, RequestError> {
    let secrets_root = settings.backup_secrets_dir.as_deref();
    let credentials_dir = common.credentials_dir(secrets_root, cluster)?;
    Ok(StoreOptions {
        create_missing_bucket,
        credentials_dir,
        instance_metadata: settings.instance_metadata,
        file_within: allowed_roots.to_vec(),
        retry: match client_retry {
            ClientRetry::Quick => object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(30),
                ..object_store::RetryConfig::default()
            },
            ClientRetry::Patient => object_store::RetryConfig::default(),
        },
        ..common.store_options()?
    })
}

/// A store that cannot be used, as a failure cause naming what to do.
pub(super) fn store_failure(error: StoreError) -> OperationError {
    OperationError::failed("Storage", format!("{error}{}", store_hint(&error)))
}

/// What to do about a store that cannot be used, in this sidecar's settings.
pub(crate) fn store_hint(error: &StoreError) -> &'static str {
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
