//! The one core of the storage operations (`backup`, `list`, `remove-backup`, `restore` and
//! those to come): [`StorageOp<K>`] makes an operation type of a [`StorageKind`], which says
//! only what that operation does.
//!
//! Owns what every storage operation shares: parsing a body of the `backup` crate's shape with
//! its validation (the path rule is applied around it by the registry, as for every type), the
//! record form the API shows and the journal stores, the request's secrets (taken as given at
//! submission, withheld after the journal, kept out of failure causes, revealed only in the
//! body sent to a node) and the credentials check. Opening the store is `backup_storage`'s. It
//! must not know what any one storage operation does.

use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use backup::request::{
    userinfo_encoded, CommonStorageFields, RequestError, Secret, StorageRequest, REDACTED,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::backup_storage::STORAGE_LOCATION;
use super::cluster::spread::{ClusterMode, Spread};
use super::context::{OperationError, RunContext};
use super::operation::{Operation, OperationType, Typed};
use super::path_field::{PathField, UsedPath};
use super::settings::{OperationSettings, ValidationPolicy};
use super::validation::ValidationError;

/// What one storage operation is: its request, its name and paths, and its run. Everything
/// else has a default or is [`StorageOp`]'s.
#[async_trait]
pub trait StorageKind: Send + Sync + Sized + 'static {
    /// The request, as the `backup` crate parses and validates it.
    type Request: StorageRequest;

    /// `type` as the API spells it.
    const TYPE: &'static str;

    /// Every request field naming a path on this host ([`OperationType::PATH_FIELDS`]).
    const PATH_FIELDS: &'static [PathField];

    /// Storage requests carry Esop's `globalRequest` and read it themselves unless declared.
    const CLUSTER: ClusterMode = ClusterMode::Own;

    /// The paths the operation will use ([`OperationType::paths`]) besides its
    /// `storageLocation`, which every storage operation uses.
    fn paths(_request: &Self::Request) -> Vec<UsedPath> {
        Vec::new()
    }

    /// After the crate's validation: defaults fixed at submission, the type's own refusals.
    fn accept(
        _request: &mut Self::Request,
        _policy: &ValidationPolicy,
    ) -> Result<(), ValidationError> {
        Ok(())
    }

    /// Whether the deployment allows it, besides the credentials check every one gets.
    fn allowed(
        _request: &Self::Request,
        _settings: &OperationSettings,
    ) -> Result<(), ValidationError> {
        Ok(())
    }

    fn conflict_key(_request: &Self::Request) -> Option<String> {
        None
    }

    fn restart_advice(_request: &Self::Request) -> Option<String> {
        None
    }

    fn resumable(_request: &Self::Request) -> bool {
        false
    }

    fn not_resumed_because(_request: &Self::Request) -> Option<String> {
        None
    }

    /// See [`Operation::leaves_behind`].
    fn leaves_behind(_request: &Self::Request) -> bool {
        false
    }

    /// See [`Operation::clean_up`]; also called when a run read back from the journal cannot
    /// go on without a secret the journal does not keep.
    async fn clean_up(_op: &StorageOp<Self>, _ctx: &RunContext) {}

    /// See [`OperationType::coordinator`].
    fn coordinator(_request: &mut Self::Request, _spread: Spread) -> Option<Arc<dyn Operation>> {
        None
    }

    /// See [`Operation::preflight`].
    async fn preflight(_op: &StorageOp<Self>, _ctx: &RunContext) -> Result<(), ValidationError> {
        Ok(())
    }

    /// The operation's own work; its secrets are checked and scrubbed around it.
    async fn run(op: &StorageOp<Self>, ctx: &RunContext) -> Result<(), OperationError>;
}

/// An accepted storage request of kind `K`. The record and the journal show its secrets as
/// `"***"`; read back from the journal they are withheld, and the run says so rather than go
/// without them.
pub struct StorageOp<K: StorageKind> {
    pub request: K::Request,
    kind: PhantomData<fn() -> K>,
}

impl<K: StorageKind> StorageOp<K> {
    pub fn new(request: K::Request) -> StorageOp<K> {
        StorageOp {
            request,
            kind: PhantomData,
        }
    }
}

impl<K: StorageKind> Clone for StorageOp<K> {
    fn clone(&self) -> Self {
        StorageOp::new(self.request.clone())
    }
}

impl<K: StorageKind> PartialEq for StorageOp<K> {
    fn eq(&self, other: &Self) -> bool {
        self.request == other.request
    }
}

impl<K: StorageKind> fmt::Debug for StorageOp<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageOp")
            .field("type", &K::TYPE)
            .field("request", &self.request)
            .finish()
    }
}

impl<K: StorageKind> Serialize for StorageOp<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        record_fields(&self.request).serialize(serializer)
    }
}

impl<'de, K: StorageKind> Deserialize<'de> for StorageOp<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        K::Request::deserialize(deserializer).map(StorageOp::new)
    }
}

impl<K: StorageKind> OperationType for StorageOp<K> {
    const TYPE: &'static str = K::TYPE;
    const PATH_FIELDS: &'static [PathField] = K::PATH_FIELDS;
    const CLUSTER: ClusterMode = K::CLUSTER;

    fn paths(&self) -> Vec<UsedPath> {
        let location = self.request.common().storage_location.iter();
        location
            .map(|l| UsedPath::new(STORAGE_LOCATION.name, l.clone()))
            .chain(K::paths(&self.request))
            .collect()
    }

    fn parse(body: &Value, policy: &ValidationPolicy) -> Result<Self, ValidationError> {
        let mut request: K::Request = parse_request(body)?;
        request.common_mut().accept_given_secrets();
        request.check().map_err(invalid)?;
        K::accept(&mut request, policy)?;
        Ok(StorageOp::new(request))
    }

    fn coordinator(&mut self, spread: Spread) -> Option<Arc<dyn Operation>> {
        K::coordinator(&mut self.request, spread)
    }
}

#[async_trait]
impl<K: StorageKind> Operation for StorageOp<K> {
    fn allowed(&self, settings: &OperationSettings) -> Result<(), ValidationError> {
        K::allowed(&self.request, settings)?;
        check_secrets(
            self.request.common(),
            settings.backup_secrets_dir.as_deref(),
        )
    }

    fn conflict_key(&self) -> Option<String> {
        K::conflict_key(&self.request)
    }

    fn restart_advice(&self) -> Option<String> {
        K::restart_advice(&self.request)
    }

    fn resumable(&self) -> bool {
        K::resumable(&self.request)
    }

    async fn preflight(&self, ctx: &RunContext) -> Result<(), ValidationError> {
        K::preflight(self, ctx).await
    }

    fn not_resumed_because(&self) -> String {
        K::not_resumed_because(&self.request).unwrap_or_else(|| {
            "it is not one of the operations that are safe to run twice".to_string()
        })
    }

    fn leaves_behind(&self) -> bool {
        K::leaves_behind(&self.request)
    }

    async fn clean_up(&self, ctx: &RunContext) {
        K::clean_up(self, ctx).await
    }

    async fn run(&self, ctx: &RunContext) -> Result<(), OperationError> {
        if let Err(e) = check_secrets_kept(self.request.common().has_withheld_secret()) {
            // A run resumed from the journal may have left something it can no longer finish.
            if ctx.attempt() > 1 {
                K::clean_up(self, ctx).await;
            }
            return Err(e);
        }
        scrub_secrets(K::run(self, ctx).await, self.request.common())
    }
}

/// Parses a request body of the `backup` crate's shape, naming the field at fault.
fn parse_request<T: DeserializeOwned>(body: &Value) -> Result<T, ValidationError> {
    backup::request::from_value::<T>(body).map_err(invalid)
}

/// A request error as the 400 the API answers.
pub(super) fn invalid(error: RequestError) -> ValidationError {
    if error.field == "body" {
        return ValidationError::malformed(error.to_string());
    }
    // Esop requires the tag of the backup to restore.
    if error.field == "snapshotTag" && error.reason.starts_with("is required") {
        return ValidationError {
            error: "missing_field",
            field: Some(error.field.clone()),
            message: format!("'snapshotTag' {}", error.reason),
        };
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

/// A storage request's fields as the record shows (and the journal stores) them: absent values
/// left out rather than `null`, `duration` in the contract's text form (`"1 HOURS"`) and
/// `bandwidth` with the `description` the contract's `DataRate` asks for, `proxySettings` values
/// as the contract's strings, secrets as `"***"` (their own serialized form). Both forms parse
/// back to the same request, except the secrets.
pub(super) fn record_fields<T: Serialize>(request: &T) -> Value {
    let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
    drop_nulls(&mut value);
    if let Value::Object(fields) = &mut value {
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
            for value in proxy.values_mut() {
                if !value.is_string() {
                    *value = Value::from(value.to_string());
                }
            }
        }
    }
    value
}

fn drop_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(drop_nulls);
    }
}

/// The body a node's sidecar is sent for a request of `type_name`: the request's record form
/// with its secrets revealed (a node needs the password itself, and keeps it out of its own
/// record; a withheld one is left out, never sent as the placeholder), without the fields
/// named in `coordinator_fields`, which only the coordinator reads.
pub(super) fn node_request<T: Serialize>(
    type_name: &'static str,
    request: &T,
    coordinator_fields: &[&str],
) -> Value {
    let mut body = Secret::revealed(|| record_fields(&Typed::new(type_name, request)));
    if let Value::Object(fields) = &mut body {
        fields.retain(|name, _| !coordinator_fields.contains(&name.as_str()));
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
