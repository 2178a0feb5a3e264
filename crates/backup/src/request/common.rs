//! Fields every storage request has, the `entities` string, and the checks several requests
//! share. Turns request fields into store options; must not open stores.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::measure::{
    DataRate, ProxySettings, RetrySpec, RetryStrategy, TimeSpan, DEFAULT_RETRY_ATTEMPTS,
    DEFAULT_RETRY_INTERVAL_SECONDS,
};
use super::secret::Secret;
use super::{invalid, lenient, RequestError};
use crate::location::StorageLocation;
use crate::store::StoreOptions;
use crate::transfer::{BackoffStrategy, RetryPolicy, TransferOptions};

/// `timeout` of a request when unset, in hours (Esop's and Icarus's).
pub const DEFAULT_TIMEOUT_HOURS: u64 = 5;

/// A request's `timeout` in hours: [`DEFAULT_TIMEOUT_HOURS`] when unset or below 1.
pub fn timeout_hours(timeout: Option<i64>) -> u64 {
    timeout
        .filter(|&t| t >= 1)
        .map_or(DEFAULT_TIMEOUT_HOURS, |t| t as u64)
}

/// Fields every storage request has (Esop's `AbstractOperationRequest`, Icarus' k8s fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommonStorageFields {
    /// `protocol://bucket[/cluster/dc/node]`; required.
    #[serde(default)]
    pub storage_location: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub insecure: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub skip_bucket_verification: bool,
    #[serde(default)]
    pub proxy_settings: Option<ProxySettings>,
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Parallel transfers (default 10).
    #[serde(default, deserialize_with = "lenient::int")]
    pub concurrent_connections: Option<i64>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub k8s_namespace: Option<String>,
    #[serde(default)]
    pub k8s_secret_name: Option<String>,
}

impl CommonStorageFields {
    /// Writes the defaults of `concurrentConnections` (`connections`, the type's) and `retry`
    /// into fields left unset, so that the record of the request shows the values it runs
    /// with, as Esop's records do. Changes no behaviour: these are the values used when unset.
    pub fn echo_defaults(&mut self, connections: i64) {
        self.concurrent_connections.get_or_insert(connections);
        let retry = self.retry.get_or_insert_with(RetrySpec::default);
        retry.interval.get_or_insert(DEFAULT_RETRY_INTERVAL_SECONDS);
        retry.max_attempts.get_or_insert(DEFAULT_RETRY_ATTEMPTS);
        retry.strategy.get_or_insert(RetryStrategy::Linear);
    }

    /// The parsed `storageLocation`.
    pub fn location(&self) -> Result<StorageLocation, RequestError> {
        let raw = self
            .storage_location
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                invalid(
                    "storageLocation",
                    "is required, in form protocol://bucket/cluster/dc/node",
                )
            })?;
        StorageLocation::parse(raw).map_err(|e| invalid("storageLocation", e.to_string()))
    }

    /// `concurrentConnections`, 10 when unset.
    pub fn connections(&self) -> usize {
        self.concurrent_connections
            .filter(|&c| c >= 1)
            .map_or(10, |c| c.min(1024) as usize)
    }

    /// The transfer options these fields ask for: `concurrentConnections` and `retry` (whole
    /// files again, as in Esop); rates and deadlines are the caller's to add.
    pub fn transfer_options(&self) -> TransferOptions {
        let retry = self.retry();
        TransferOptions {
            concurrency: self.connections(),
            retry: RetryPolicy {
                enabled: retry.enabled,
                strategy: match retry.strategy() {
                    RetryStrategy::Linear => BackoffStrategy::Linear,
                    RetryStrategy::Exponential => BackoffStrategy::Exponential,
                },
                interval: Duration::from_secs(retry.interval_seconds()),
                max_attempts: retry.attempts(),
            },
            ..TransferOptions::default()
        }
    }

    /// [`transfer_options`](Self::transfer_options) of an upload that is paced: at most
    /// `bandwidth`, and at least fast enough to end within `duration` (Esop's `duration` and
    /// `bandwidth`).
    pub fn upload_options(
        &self,
        duration: Option<TimeSpan>,
        bandwidth: Option<DataRate>,
    ) -> TransferOptions {
        TransferOptions {
            bandwidth: bandwidth.map(|b| b.bytes_per_second()),
            duration: duration.map(|d| Duration::from_secs(d.as_secs())),
            ..self.transfer_options()
        }
    }

    /// The retry settings, Esop's defaults (disabled) when unset.
    pub fn retry(&self) -> RetrySpec {
        self.retry.clone().unwrap_or_default()
    }

    /// The store options these fields ask for (`insecure`, `skipBucketVerification`, the
    /// proxy); bucket creation, timeouts and credentials are the caller's to add.
    pub fn store_options(&self) -> Result<StoreOptions, RequestError> {
        let proxy_url = match &self.proxy_settings {
            Some(proxy) => proxy.url()?,
            None => None,
        };
        Ok(StoreOptions {
            insecure: self.insecure,
            skip_bucket_verification: self.skip_bucket_verification,
            proxy_url,
            ..StoreOptions::default()
        })
    }

    /// The directory holding the credentials of `k8sSecretName` (Icarus reads them from a
    /// Kubernetes secret; here the secret is mounted as a directory under `secrets_root`, one
    /// directory per secret name). Without a secret name the default Icarus derives,
    /// `cassandra-backup-restore-secret-cluster-<cluster>`, is used if mounted; otherwise the
    /// environment's credentials apply.
    pub fn credentials_dir(
        &self,
        secrets_root: Option<&Path>,
        cluster: &str,
    ) -> Result<Option<PathBuf>, RequestError> {
        let named = self
            .k8s_secret_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let Some(root) = secrets_root else {
            if named.is_some() {
                return Err(invalid(
                    "k8sSecretName",
                    "this sidecar reads no Kubernetes secrets: mount the secret as a directory and start the sidecar with its secrets directory option, or give credentials through the environment",
                ));
            }
            return Ok(None);
        };
        let name = named
            .map(str::to_string)
            .unwrap_or_else(|| format!("cassandra-backup-restore-secret-cluster-{cluster}"));
        if name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(invalid(
                "k8sSecretName",
                format!("{name:?} is not a secret name"),
            ));
        }
        let dir = root.join(&name);
        if dir.is_dir() {
            return Ok(Some(dir));
        }
        if named.is_some() {
            return Err(invalid(
                "k8sSecretName",
                format!(
                    "secret {name:?} is not mounted: no directory {}",
                    dir.display()
                ),
            ));
        }
        Ok(None)
    }

    /// The request's secrets (today the proxy password), for callers that must keep them out
    /// of what they show, store or log.
    pub fn secrets(&self) -> Vec<&str> {
        self.secret_fields()
            .filter_map(Secret::expose)
            .filter(|p| !p.is_empty())
            .collect()
    }

    /// Whether a secret was withheld (read back from a form that never held its value).
    pub fn has_withheld_secret(&self) -> bool {
        self.secret_fields().any(Secret::is_withheld)
    }

    /// Takes every secret of a submitted request as given: `"***"` there is the value itself.
    pub fn accept_given_secrets(&mut self) {
        if let Some(password) = self
            .proxy_settings
            .as_mut()
            .and_then(|p| p.proxy_password.as_mut())
        {
            *password = password.clone().as_given();
        }
    }

    /// The one list of secret fields: a new secret field is added here, nowhere else.
    fn secret_fields(&self) -> impl Iterator<Item = &Secret> {
        self.proxy_settings
            .as_ref()
            .and_then(|p| p.proxy_password.as_ref())
            .into_iter()
    }

    pub(super) fn validate(&self) -> Result<(), RequestError> {
        self.location()?;
        if let Some(proxy) = &self.proxy_settings {
            proxy.url()?;
        }
        if matches!(self.concurrent_connections, Some(c) if c < 1) {
            return Err(invalid("concurrentConnections", "must be at least 1"));
        }
        if let Some(proxy) = &self.proxy_settings {
            if let Some(protocol) = &proxy.proxy_protocol {
                if !protocol.eq_ignore_ascii_case("http") && !protocol.eq_ignore_ascii_case("https")
                {
                    return Err(invalid(
                        "proxySettings.proxyProtocol",
                        "must be HTTP or HTTPS",
                    ));
                }
            }
            if matches!(proxy.proxy_port, Some(p) if !(1..=65535).contains(&p)) {
                return Err(invalid(
                    "proxySettings.proxyPort",
                    "must be a port between 1 and 65535",
                ));
            }
        }
        Ok(())
    }
}

/// What a request's `entities` names: everything, whole keyspaces, or tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entities {
    /// Empty `entities`: every keyspace (system keyspaces as each operation decides).
    All,
    /// `"ks1,ks2"`.
    Keyspaces(Vec<String>),
    /// `"ks1.t1,ks2.t2"`.
    Tables(Vec<(String, String)>),
}

impl Entities {
    /// Parses Esop's `entities` string; mixing keyspaces and tables is refused.
    pub fn parse(raw: Option<&str>) -> Result<Entities, RequestError> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Entities::All);
        };
        let mut keyspaces = Vec::new();
        let mut tables = Vec::new();
        // As Esop: spaces around a dot are dropped, and spaces separate entries like commas.
        let sanitized = raw.split('.').map(str::trim).collect::<Vec<_>>().join(".");
        for item in sanitized
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            match item.split('.').collect::<Vec<_>>().as_slice() {
                [ks] if valid_name(ks) => keyspaces.push(ks.to_string()),
                [ks, table] if valid_name(ks) && valid_name(table) => tables.push((ks.to_string(), table.to_string())),
                _ => {
                    return Err(invalid(
                        "entities",
                        format!("{item:?} is neither a keyspace nor keyspace.table (names are letters, digits and '_')"),
                    ))
                }
            }
        }
        match (keyspaces.is_empty(), tables.is_empty()) {
            (false, false) => Err(invalid(
                "entities",
                "mixes keyspaces and keyspace.table entries: give either only keyspaces (\"ks1,ks2\") or only tables (\"ks1.t1,ks2.t2\")",
            )),
            (true, true) => Ok(Entities::All),
            (false, true) => Ok(Entities::Keyspaces(dedup(keyspaces))),
            (true, false) => Ok(Entities::Tables(dedup(tables))),
        }
    }

    /// Whether the entities include table `ks.table`.
    pub fn includes(&self, keyspace: &str, table: &str) -> bool {
        match self {
            Entities::All => true,
            Entities::Keyspaces(kss) => kss.iter().any(|k| k == keyspace),
            Entities::Tables(ts) => ts.iter().any(|(k, t)| k == keyspace && t == table),
        }
    }
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Cassandra keyspace and table names: letters, digits and underscores (quoted names aside).
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 222
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn validate_snapshot_tag(field: &str, tag: &str) -> Result<(), RequestError> {
    if tag.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if tag.contains(['/', '\\']) || tag.chars().any(char::is_control) || tag == "." || tag == ".." {
        return Err(invalid(
            field,
            "must be a snapshot name without '/', '\\' or control characters",
        ));
    }
    Ok(())
}

/// Checks an upload's `duration` and `bandwidth`.
pub(super) fn validate_pace(
    duration: Option<TimeSpan>,
    bandwidth: Option<DataRate>,
) -> Result<(), RequestError> {
    if matches!(duration, Some(d) if d.value < 1) {
        return Err(invalid(
            "duration",
            "must be a positive span, e.g. {\"value\": 1, \"unit\": \"HOURS\"}",
        ));
    }
    if matches!(bandwidth, Some(b) if b.value < 1) {
        return Err(invalid(
            "bandwidth",
            "must be a positive rate, e.g. {\"value\": 10, \"unit\": \"MBPS\"}",
        ));
    }
    Ok(())
}

pub(super) fn validate_absolute_dirs(field: &str, dirs: &[String]) -> Result<(), RequestError> {
    for dir in dirs {
        if !Path::new(dir).is_absolute() {
            return Err(invalid(field, format!("{dir:?} is not an absolute path")));
        }
    }
    Ok(())
}

pub(super) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}
