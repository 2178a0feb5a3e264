//! Request bodies of the `backup`, `list`, `remove-backup` and `restore` operations, with
//! every field of the Icarus contract and of Esop, Esop's defaults, and validation that names
//! the field at fault.
//!
//! Parsing is as lenient as Esop's: unknown fields are ignored, `null` means the default, and
//! booleans and numbers written as strings (`"globalRequest": "true"`, as in the contract's
//! own example) are accepted. Validation returns the first [`RequestError`] as
//! `(field, reason)`, which the sidecar turns into a 400 body. Owns the request shapes only:
//! it must not touch storage or Cassandra.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::location::StorageLocation;
use crate::store::StoreOptions;

/// A request field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RequestError {
    /// The JSON field at fault (`storageLocation`, `import.sourceDir`, …).
    pub field: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> RequestError {
    RequestError {
        field: field.to_string(),
        reason: reason.into(),
    }
}

mod lenient {
    //! Deserializers that take what Esop's Jackson takes: `null` for the default, and
    //! booleans or numbers written as strings.
    use serde::{de::Error as _, Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum BoolOrString {
        Bool(bool),
        Text(String),
    }

    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match Option::<BoolOrString>::deserialize(d)? {
            None => Ok(false),
            Some(BoolOrString::Bool(b)) => Ok(b),
            Some(BoolOrString::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" | "" => Ok(false),
                other => Err(D::Error::custom(format!(
                    "expected true or false, got {other:?}"
                ))),
            },
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IntOrString {
        Int(i64),
        Text(String),
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<IntOrString>::deserialize(d)? {
            None => Ok(None),
            Some(IntOrString::Int(i)) => Ok(Some(i)),
            Some(IntOrString::Text(s)) if s.trim().is_empty() => Ok(None),
            Some(IntOrString::Text(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("expected an integer, got {s:?}"))),
        }
    }
}

/// Esop's `retry` object. Values below 1 fall back to the defaults, as in Esop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrySpec {
    /// Seconds between attempts (default 10).
    #[serde(default, deserialize_with = "lenient::int")]
    pub interval: Option<i64>,
    #[serde(default)]
    pub strategy: Option<RetryStrategy>,
    /// Attempts in all (default 3).
    #[serde(default, deserialize_with = "lenient::int")]
    pub max_attempts: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub enabled: bool,
}

impl RetrySpec {
    /// Seconds between attempts, Esop's default (10) when unset or below 1.
    pub fn interval_seconds(&self) -> u64 {
        self.interval.filter(|&i| i >= 1).map_or(10, |i| i as u64)
    }

    /// Attempts in all, Esop's default (3) when unset or below 1.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
            .filter(|&i| i >= 1)
            .map_or(3, |i| i.min(u32::MAX as i64) as u32)
    }

    /// The backoff strategy, LINEAR unless set.
    pub fn strategy(&self) -> RetryStrategy {
        self.strategy.unwrap_or(RetryStrategy::Linear)
    }
}

/// How the wait between retries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RetryStrategy {
    Linear,
    Exponential,
}

impl<'de> Deserialize<'de> for RetryStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_uppercase().as_str() {
            "LINEAR" => Ok(RetryStrategy::Linear),
            "EXPONENTIAL" => Ok(RetryStrategy::Exponential),
            _ => Err(serde::de::Error::custom(format!(
                "retry strategy {s:?} is not LINEAR or EXPONENTIAL"
            ))),
        }
    }
}

/// Esop's `proxySettings` (S3 only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxySettings {
    #[serde(default, deserialize_with = "lenient::bool")]
    pub use_proxy: bool,
    #[serde(default)]
    pub proxy_host: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub proxy_port: Option<i64>,
    #[serde(default)]
    pub proxy_username: Option<String>,
    #[serde(default)]
    pub proxy_password: Option<String>,
    /// HTTP or HTTPS (default HTTPS).
    #[serde(default)]
    pub proxy_protocol: Option<String>,
}

impl ProxySettings {
    /// The proxy URL (`http://user:pass@host:port`) when `useProxy` is set.
    pub fn url(&self) -> Result<Option<String>, RequestError> {
        if !self.use_proxy {
            return Ok(None);
        }
        let host = self
            .proxy_host
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| {
                invalid(
                    "proxySettings.proxyHost",
                    "is required when useProxy is set",
                )
            })?;
        let scheme = self
            .proxy_protocol
            .as_deref()
            .unwrap_or("HTTPS")
            .to_ascii_lowercase();
        let credentials = match (&self.proxy_username, &self.proxy_password) {
            (Some(user), Some(password)) => format!("{user}:{password}@"),
            (Some(user), None) => format!("{user}@"),
            _ => String::new(),
        };
        let port = self.proxy_port.map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Some(format!("{scheme}://{credentials}{host}{port}")))
    }
}

/// A time span: Esop's `{value, unit}` with unit SECONDS|MINUTES|HOURS|DAYS, or the contract's
/// string form (`"1 hour"`, `"30 MINUTES"`, `"2d"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeSpan {
    pub value: i64,
    pub unit: TimeUnit,
}

/// Units of a [`TimeSpan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    fn parse(s: &str) -> Option<TimeUnit> {
        match s.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => Some(TimeUnit::Seconds),
            "m" | "min" | "mins" | "minute" | "minutes" => Some(TimeUnit::Minutes),
            "h" | "hour" | "hours" => Some(TimeUnit::Hours),
            "d" | "day" | "days" => Some(TimeUnit::Days),
            _ => None,
        }
    }

    fn seconds(self) -> u64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Minutes => 60,
            TimeUnit::Hours => 3600,
            TimeUnit::Days => 86_400,
        }
    }
}

impl TimeSpan {
    /// The span in seconds, saturating instead of overflowing; 0 for a negative value.
    pub fn as_secs(&self) -> u64 {
        u64::try_from(self.value)
            .unwrap_or(0)
            .saturating_mul(self.unit.seconds())
    }

    /// The span in milliseconds, saturating.
    pub fn as_millis(&self) -> u64 {
        self.as_secs().saturating_mul(1000)
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Object {
                #[serde(default, deserialize_with = "lenient::int")]
                value: Option<i64>,
                #[serde(default)]
                unit: Option<String>,
            },
            Text(String),
        }
        let (value, unit) = match Raw::deserialize(d)? {
            Raw::Object { value, unit } => {
                (value.unwrap_or(0), unit.unwrap_or_else(|| "SECONDS".into()))
            }
            Raw::Text(text) => split_amount(&text).map_err(serde::de::Error::custom)?,
        };
        let unit = TimeUnit::parse(&unit).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "time unit {unit:?} is not SECONDS, MINUTES, HOURS or DAYS"
            ))
        })?;
        Ok(TimeSpan { value, unit })
    }
}

/// Splits `"10 MBPS"`, `"1 hour"` or `"2d"` into amount and unit.
fn split_amount(text: &str) -> Result<(i64, String), String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(text.len());
    let value = text[..digits].parse().map_err(|_| {
        format!("{text:?} does not start with a whole number (expected e.g. \"1 hour\")")
    })?;
    Ok((value, text[digits..].trim().to_string()))
}

/// A bandwidth: Esop's `{value, unit}` with unit BPS|KBPS|MBPS|GBPS (decimal multiples of
/// 1000 bytes per second, as Esop's `DataRate`), or `"10 MBPS"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataRate {
    pub value: i64,
    pub unit: RateUnit,
}

/// Units of a [`DataRate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RateUnit {
    Bps,
    Kbps,
    Mbps,
    Gbps,
}

impl DataRate {
    /// Bytes per second, saturating; 0 for a negative value.
    pub fn bytes_per_second(&self) -> u64 {
        let factor = match self.unit {
            RateUnit::Bps => 1,
            RateUnit::Kbps => 1_000,
            RateUnit::Mbps => 1_000_000,
            RateUnit::Gbps => 1_000_000_000,
        };
        u64::try_from(self.value)
            .unwrap_or(0)
            .saturating_mul(factor)
    }
}

impl<'de> Deserialize<'de> for DataRate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Object {
                #[serde(default, deserialize_with = "lenient::int")]
                value: Option<i64>,
                #[serde(default)]
                unit: Option<String>,
            },
            Text(String),
        }
        let (value, unit) = match Raw::deserialize(d)? {
            Raw::Object { value, unit } => {
                (value.unwrap_or(0), unit.unwrap_or_else(|| "BPS".into()))
            }
            Raw::Text(text) => split_amount(&text).map_err(serde::de::Error::custom)?,
        };
        let unit = match unit.trim().to_ascii_uppercase().as_str() {
            "BPS" => RateUnit::Bps,
            "KBPS" => RateUnit::Kbps,
            "MBPS" => RateUnit::Mbps,
            "GBPS" => RateUnit::Gbps,
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "rate unit {unit:?} is not BPS, KBPS, MBPS or GBPS"
                )))
            }
        };
        Ok(DataRate { value, unit })
    }
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

    fn validate(&self) -> Result<(), RequestError> {
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
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 222
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn validate_snapshot_tag(field: &str, tag: &str) -> Result<(), RequestError> {
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

fn validate_absolute_dirs(field: &str, dirs: &[String]) -> Result<(), RequestError> {
    for dir in dirs {
        if !Path::new(dir).is_absolute() {
            return Err(invalid(field, format!("{dir:?} is not an absolute path")));
        }
    }
    Ok(())
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A `backup` request (Esop's `BackupOperationRequest`, Icarus' `BackupOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// Cassandra's data directories; found from the tables' `DataPaths` when empty.
    #[serde(default)]
    pub data_dirs: Option<Vec<String>>,
    #[serde(default)]
    pub cassandra_directory: Option<String>,
    /// Upload within this span (the rate is size/duration, or `bandwidth` if higher).
    #[serde(default)]
    pub duration: Option<TimeSpan>,
    #[serde(default)]
    pub bandwidth: Option<DataRate>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub create_missing_bucket: bool,
    /// Accepted for compatibility; unused (as in Esop 4).
    #[serde(default)]
    pub metadata_directive: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub skip_refreshing: bool,
    /// Default `autosnap-<epochSeconds>`.
    #[serde(default)]
    pub snapshot_tag: Option<String>,
    /// `"ks1,ks2"` or `"ks1.t1,ks2.t2"`; empty means every keyspace.
    #[serde(default)]
    pub entities: Option<String>,
    /// Global requests only: the datacenter(s) to back up.
    #[serde(default)]
    pub dc: Option<String>,
    /// Hours before the backup fails (default 5).
    #[serde(default, deserialize_with = "lenient::int")]
    pub timeout: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub global_request: bool,
    /// Overwritten with the node's schema version.
    #[serde(default)]
    pub schema_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub upload_cluster_topology: bool,
}

impl BackupRequest {
    /// Checks every field; the first fault is returned.
    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        Entities::parse(self.entities.as_deref())?;
        if let Some(tag) = &self.snapshot_tag {
            validate_snapshot_tag("snapshotTag", tag)?;
        }
        if let Some(dirs) = &self.data_dirs {
            validate_absolute_dirs("dataDirs", dirs)?;
        }
        if matches!(self.timeout, Some(t) if t < 1) {
            return Err(invalid("timeout", "must be at least 1 (hours)"));
        }
        if matches!(self.duration, Some(d) if d.value < 1) {
            return Err(invalid(
                "duration",
                "must be a positive span, e.g. {\"value\": 1, \"unit\": \"HOURS\"}",
            ));
        }
        if matches!(self.bandwidth, Some(b) if b.value < 1) {
            return Err(invalid(
                "bandwidth",
                "must be a positive rate, e.g. {\"value\": 10, \"unit\": \"MBPS\"}",
            ));
        }
        Ok(())
    }

    /// The parsed entities (call after [`validate`](Self::validate)).
    pub fn entities(&self) -> Result<Entities, RequestError> {
        Entities::parse(self.entities.as_deref())
    }

    /// The snapshot tag, or Esop's default `autosnap-<epochSeconds>`.
    pub fn snapshot_tag_or_default(&self, now_epoch_seconds: u64) -> String {
        self.snapshot_tag
            .clone()
            .unwrap_or_else(|| format!("autosnap-{now_epoch_seconds}"))
    }

    /// `timeout` in hours, 5 when unset.
    pub fn timeout_hours(&self) -> u64 {
        self.timeout.filter(|&t| t >= 1).map_or(5, |t| t as u64)
    }

    /// Whether to upload the topology file (forced on for global requests, as Esop).
    pub fn uploads_topology(&self) -> bool {
        self.upload_cluster_topology || self.global_request
    }
}

/// A `list` request (Esop's `ListOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub json: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub resolve_nodes: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub human_units: bool,
    #[serde(default)]
    pub to_file: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub simple_format: bool,
    /// Only backups taken at or before this epoch-millisecond timestamp.
    #[serde(default, deserialize_with = "lenient::int")]
    pub from_timestamp: Option<i64>,
    /// The newest N backups only (0 = all).
    #[serde(default, deserialize_with = "lenient::int")]
    pub last_n: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub skip_download: bool,
    #[serde(default)]
    pub cache_dir: Option<String>,
    #[serde(default)]
    pub to_request: Option<String>,
    /// The listing, filled by the operation (as Esop's request carries it).
    #[serde(default)]
    pub response: Option<serde_json::Value>,
}

impl ListRequest {
    /// Checks every field; the first fault is returned.
    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        if matches!(self.last_n, Some(n) if n < 0) {
            return Err(invalid("lastN", "must be 0 (all) or a positive count"));
        }
        if matches!(self.from_timestamp, Some(t) if t < 0) {
            return Err(invalid(
                "fromTimestamp",
                "must be milliseconds since the epoch",
            ));
        }
        Ok(())
    }
}

/// A `remove-backup` request (Esop's `RemoveBackupRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveBackupRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// The manifest name without `.json` (`<tag>-<schemaVersion>-<epochMillis>`).
    #[serde(default)]
    pub backup_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub dry: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub resolve_nodes: bool,
    /// Remove every backup older than this span.
    #[serde(default)]
    pub older_than: Option<TimeSpan>,
    #[serde(default)]
    pub cache_dir: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub remove_oldest: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub global_request: bool,
}

/// The one backup selector of a valid [`RemoveBackupRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalSelector {
    /// One backup by name.
    Name(String),
    /// Every backup older than this many milliseconds.
    OlderThanMillis(u64),
    /// The oldest backup.
    Oldest,
}

impl RemoveBackupRequest {
    /// Checks every field, including Esop's rule of exactly one of `backupName`, `olderThan`
    /// and `removeOldest`, and returns that selector.
    pub fn validate(&self) -> Result<RemovalSelector, RequestError> {
        self.common.validate()?;
        let name = self
            .backup_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let older = self.older_than.filter(|t| t.value != 0);
        if matches!(older, Some(t) if t.value < 0) {
            return Err(invalid("olderThan", "must be a positive span"));
        }
        let given = [name.is_some(), older.is_some(), self.remove_oldest]
            .iter()
            .filter(|&&b| b)
            .count();
        if given != 1 {
            let field = if self.remove_oldest {
                "removeOldest"
            } else if name.is_some() {
                "backupName"
            } else {
                "olderThan"
            };
            let reason = if given == 0 {
                "give exactly one of backupName, olderThan or removeOldest: none was given"
            } else {
                "give exactly one of backupName, olderThan or removeOldest: more than one was given"
            };
            return Err(invalid(field, reason));
        }
        if let Some(name) = name {
            validate_snapshot_tag("backupName", name)?;
            return Ok(RemovalSelector::Name(
                name.strip_suffix(".json").unwrap_or(name).to_string(),
            ));
        }
        if let Some(older) = older {
            return Ok(RemovalSelector::OlderThanMillis(older.as_millis()));
        }
        Ok(RemovalSelector::Oldest)
    }
}

/// How a restore puts data back (Esop's `RestorationStrategyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RestorationStrategy {
    /// Sync the data directories of a stopped node with the manifest.
    InPlace,
    /// Hard-link downloads into the table directories, then `loadNewSSTables`.
    Hardlinks,
    /// `importNewSSTables` (Cassandra 4.0+).
    Import,
}

impl<'de> Deserialize<'de> for RestorationStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_uppercase().as_str() {
            "IN_PLACE" => Ok(RestorationStrategy::InPlace),
            "HARDLINKS" => Ok(RestorationStrategy::Hardlinks),
            "IMPORT" => Ok(RestorationStrategy::Import),
            _ => Err(serde::de::Error::custom(format!(
                "restorationStrategyType {s:?} is not IN_PLACE, HARDLINKS or IMPORT"
            ))),
        }
    }
}

/// One phase of a HARDLINKS or IMPORT restore (Esop's `RestorationPhaseType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RestorationPhase {
    Init,
    ClusterHealthcheck,
    Download,
    Truncate,
    Import,
    Cleanup,
}

impl<'de> Deserialize<'de> for RestorationPhase {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.trim().to_ascii_uppercase().as_str() {
            "INIT" => Ok(RestorationPhase::Init),
            "CLUSTER_HEALTHCHECK" => Ok(RestorationPhase::ClusterHealthcheck),
            "DOWNLOAD" => Ok(RestorationPhase::Download),
            "TRUNCATE" => Ok(RestorationPhase::Truncate),
            "IMPORT" => Ok(RestorationPhase::Import),
            "CLEANUP" => Ok(RestorationPhase::Cleanup),
            _ => Err(serde::de::Error::custom(format!(
                "restorationPhase {s:?} is not INIT, CLUSTER_HEALTHCHECK, DOWNLOAD, TRUNCATE, IMPORT or CLEANUP"
            ))),
        }
    }
}

/// The `import` object of a restore (Esop's `ImportOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSpec {
    /// Must be `import` when given.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub keyspace: Option<String>,
    #[serde(default)]
    pub table: Option<String>,
    #[serde(default)]
    pub table_path: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub keep_level: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub keep_repaired: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_verify: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_verify_tokens: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_invalidate_caches: bool,
    /// Sets `noVerify`, `noVerifyTokens` and `noInvalidateCaches`.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub quick: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub extended_verify: bool,
    /// Where downloads go (default `/tmp/cassandra-import-source`).
    #[serde(default)]
    pub source_dir: Option<String>,
}

impl ImportSpec {
    /// The download directory, Esop's default when unset.
    pub fn source_dir(&self) -> PathBuf {
        PathBuf::from(
            self.source_dir
                .as_deref()
                .unwrap_or("/tmp/cassandra-import-source"),
        )
    }

    /// `importNewSSTables` flags as Esop maps them (with `quick` applied):
    /// resetLevel, clearRepaired, verify, verifyTokens, invalidateCaches, extendedVerify.
    pub fn import_flags(&self) -> ImportFlags {
        ImportFlags {
            reset_level: !self.keep_level,
            clear_repaired: !self.keep_repaired,
            verify: !(self.no_verify || self.quick),
            verify_tokens: !(self.no_verify_tokens || self.quick),
            invalidate_caches: !(self.no_invalidate_caches || self.quick),
            extended_verify: self.extended_verify,
            copy_data: true,
        }
    }
}

/// The arguments of `importNewSSTables` a restore passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportFlags {
    pub reset_level: bool,
    pub clear_repaired: bool,
    pub verify: bool,
    pub verify_tokens: bool,
    pub invalidate_caches: bool,
    pub extended_verify: bool,
    pub copy_data: bool,
}

/// A `restore` request (Esop's `RestoreOperationRequest`, Icarus' `RestoreOperationRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    #[serde(flatten)]
    pub common: CommonStorageFields,
    /// Default `/var/lib/cassandra`.
    #[serde(default)]
    pub cassandra_directory: Option<String>,
    #[serde(default)]
    pub data_dirs: Option<Vec<String>>,
    /// Default `/etc/cassandra`.
    #[serde(default)]
    pub cassandra_config_directory: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub restore_system_keyspace: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub restore_system_auth: bool,
    /// Required: the tag of the backup to restore.
    #[serde(default)]
    pub snapshot_tag: Option<String>,
    #[serde(default)]
    pub entities: Option<String>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub update_cassandra_yaml: bool,
    /// IN_PLACE when unset.
    #[serde(default)]
    pub restoration_strategy_type: Option<RestorationStrategy>,
    #[serde(default)]
    pub restoration_phase: Option<RestorationPhase>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_delete_truncates: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_delete_downloads: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub no_download_data: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub exact_schema_version: bool,
    #[serde(default)]
    pub schema_version: Option<String>,
    #[serde(default)]
    pub import: Option<ImportSpec>,
    /// Hours before the restore fails (default 5).
    #[serde(default, deserialize_with = "lenient::int")]
    pub timeout: Option<i64>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub global_request: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub resolve_host_id_from_topology: bool,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub new_cluster: bool,
    /// `"ks.t": "ks2.t2"`: restore table ks.t into ks2.t2.
    #[serde(default)]
    pub rename: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "lenient::bool")]
    pub single_phase: bool,
    #[serde(default)]
    pub dc: Option<String>,
}

impl RestoreRequest {
    /// The strategy, IN_PLACE when unset (as Esop).
    pub fn strategy(&self) -> RestorationStrategy {
        self.restoration_strategy_type
            .unwrap_or(RestorationStrategy::InPlace)
    }

    /// `cassandraDirectory`, `/var/lib/cassandra` when unset.
    pub fn cassandra_directory(&self) -> PathBuf {
        PathBuf::from(
            self.cassandra_directory
                .as_deref()
                .unwrap_or("/var/lib/cassandra"),
        )
    }

    /// `cassandraConfigDirectory`, `/etc/cassandra` when unset.
    pub fn cassandra_config_directory(&self) -> PathBuf {
        PathBuf::from(
            self.cassandra_config_directory
                .as_deref()
                .unwrap_or("/etc/cassandra"),
        )
    }

    /// The renames as `(from, to)` table pairs (call after [`validate`](Self::validate)).
    pub fn renames(&self) -> Vec<((String, String), (String, String))> {
        let split = |s: &str| {
            s.split_once('.')
                .map(|(k, t)| (k.to_string(), t.to_string()))
        };
        self.rename
            .iter()
            .flatten()
            .filter_map(|(from, to)| Some((split(from)?, split(to)?)))
            .collect()
    }

    /// Checks every field with Esop's rules; the first fault is returned.
    pub fn validate(&self) -> Result<(), RequestError> {
        self.common.validate()?;
        match &self.snapshot_tag {
            None => {
                return Err(invalid(
                    "snapshotTag",
                    "is required: the tag of the backup to restore",
                ))
            }
            Some(tag) => validate_snapshot_tag("snapshotTag", tag)?,
        }
        Entities::parse(self.entities.as_deref())?;
        if let Some(dirs) = &self.data_dirs {
            validate_absolute_dirs("dataDirs", dirs)?;
        }
        if let Some(dir) = &self.cassandra_directory {
            validate_absolute_dirs("cassandraDirectory", std::slice::from_ref(dir))?;
        }
        if let Some(sv) = &self.schema_version {
            if !is_uuid(sv) {
                return Err(invalid(
                    "schemaVersion",
                    format!("{sv:?} is not a schema version UUID"),
                ));
            }
        }
        if matches!(self.timeout, Some(t) if t < 1) {
            return Err(invalid("timeout", "must be at least 1 (hours)"));
        }
        let strategy = self.strategy();
        match strategy {
            RestorationStrategy::InPlace => {
                if self.restoration_phase.is_some() {
                    return Err(invalid(
                        "restorationPhase",
                        "must not be set with the IN_PLACE strategy, which runs in one go",
                    ));
                }
                if self.rename.as_ref().is_some_and(|r| !r.is_empty()) {
                    return Err(invalid(
                        "rename",
                        "cannot be used with the IN_PLACE strategy",
                    ));
                }
            }
            RestorationStrategy::Hardlinks | RestorationStrategy::Import => {
                let Some(phase) = self.restoration_phase else {
                    return Err(invalid(
                        "restorationPhase",
                        "is required with HARDLINKS and IMPORT: one of INIT, DOWNLOAD, TRUNCATE, IMPORT, CLEANUP",
                    ));
                };
                let Some(import) = &self.import else {
                    return Err(invalid("import", "is required with HARDLINKS and IMPORT: {\"type\": \"import\", \"sourceDir\": ...}"));
                };
                if let Some(kind) = &import.kind {
                    if !kind.eq_ignore_ascii_case("import") {
                        return Err(invalid(
                            "import.type",
                            format!("must be \"import\", not {kind:?}"),
                        ));
                    }
                }
                self.validate_source_dir(&import.source_dir())?;
                if self.restore_system_keyspace {
                    return Err(invalid(
                        "restoreSystemKeyspace",
                        "is only possible with the IN_PLACE strategy",
                    ));
                }
                if self.global_request && !self.single_phase && phase != RestorationPhase::Init {
                    return Err(invalid(
                        "restorationPhase",
                        "a global restore starts at INIT and runs every phase (set singlePhase to run one phase cluster-wide)",
                    ));
                }
            }
        }
        self.validate_rename()?;
        Ok(())
    }

    fn validate_source_dir(&self, source: &Path) -> Result<(), RequestError> {
        if !source.is_absolute() {
            return Err(invalid(
                "import.sourceDir",
                format!("{} is not an absolute path", source.display()),
            ));
        }
        let source = normalize(source);
        let cassandra = normalize(&self.cassandra_directory());
        let data = cassandra.join("data");
        if source == cassandra {
            return Err(invalid(
                "import.sourceDir",
                format!("must not be cassandraDirectory {}", cassandra.display()),
            ));
        }
        if source.starts_with(&data) {
            return Err(invalid(
                "import.sourceDir",
                format!(
                    "{} must not be, or be inside, Cassandra's data directory {}",
                    source.display(),
                    data.display()
                ),
            ));
        }
        Ok(())
    }

    fn validate_rename(&self) -> Result<(), RequestError> {
        let Some(rename) = &self.rename else {
            return Ok(());
        };
        let mut targets = Vec::new();
        for (from, to) in rename {
            for side in [from, to] {
                let ok = matches!(side.split('.').collect::<Vec<_>>().as_slice(), [k, t] if valid_name(k) && valid_name(t));
                if !ok {
                    return Err(invalid("rename", format!("{side:?} is not keyspace.table")));
                }
            }
            if from == to {
                return Err(invalid("rename", format!("{from:?} is renamed to itself")));
            }
            if targets.contains(&to) {
                return Err(invalid(
                    "rename",
                    format!("two tables are renamed to {to:?}"),
                ));
            }
            targets.push(to);
        }
        for to in &targets {
            if rename.contains_key(to.as_str()) {
                return Err(invalid(
                    "rename",
                    format!("{to:?} is both a source and a target"),
                ));
            }
        }
        Ok(())
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (the paths may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl fmt::Display for RestorationPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestorationPhase::Init => "INIT",
            RestorationPhase::ClusterHealthcheck => "CLUSTER_HEALTHCHECK",
            RestorationPhase::Download => "DOWNLOAD",
            RestorationPhase::Truncate => "TRUNCATE",
            RestorationPhase::Import => "IMPORT",
            RestorationPhase::Cleanup => "CLEANUP",
        })
    }
}

#[cfg(test)]
mod tests;
