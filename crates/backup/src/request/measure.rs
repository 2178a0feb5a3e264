//! The measures and settings objects of requests: retry, proxy, time spans, data rates.
//! Parsing and unit conversion only.

use serde::{Deserialize, Serialize};

use super::secret::Secret;
use super::{invalid, lenient, RequestError};

/// Esop's seconds between retries when `retry.interval` is unset.
pub const DEFAULT_RETRY_INTERVAL_SECONDS: i64 = 10;
/// Esop's attempts in all when `retry.maxAttempts` is unset.
pub const DEFAULT_RETRY_ATTEMPTS: i64 = 3;

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
        self.interval
            .filter(|&i| i >= 1)
            .unwrap_or(DEFAULT_RETRY_INTERVAL_SECONDS) as u64
    }

    /// Attempts in all, Esop's default (3) when unset or below 1.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
            .filter(|&i| i >= 1)
            .unwrap_or(DEFAULT_RETRY_ATTEMPTS)
            .min(u32::MAX as i64) as u32
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

/// Esop's `proxySettings` (S3 only). The password is a [`Secret`].
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
    pub proxy_password: Option<Secret>,
    /// HTTP or HTTPS (default HTTPS).
    #[serde(default)]
    pub proxy_protocol: Option<String>,
}

/// Characters of a user name or password kept as they are in a URL's user information.
const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` as it appears in the user information of a URL this crate builds (percent-encoded).
pub fn userinfo_encoded(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, USERINFO).to_string()
}

impl ProxySettings {
    /// The proxy URL (`http://user:pass@host:port`, user and password percent-encoded) when
    /// `useProxy` is set.
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
        let password = self.proxy_password.as_ref().and_then(Secret::expose);
        let credentials = match (&self.proxy_username, password) {
            (Some(user), Some(password)) => {
                format!("{}:{}@", userinfo_encoded(user), userinfo_encoded(password))
            }
            (Some(user), None) => format!("{}@", userinfo_encoded(user)),
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
        let (value, unit) = amount_and_unit(d, "SECONDS")?;
        let unit = TimeUnit::parse(&unit).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "time unit {unit:?} is not SECONDS, MINUTES, HOURS or DAYS"
            ))
        })?;
        Ok(TimeSpan { value, unit })
    }
}

/// Esop's `{value, unit}` object (either part may be missing: 0 and `default_unit`) or a text
/// such as `"10 MBPS"`, as amount and unit; the caller parses the unit.
fn amount_and_unit<'de, D: serde::Deserializer<'de>>(
    d: D,
    default_unit: &str,
) -> Result<(i64, String), D::Error> {
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
    match Raw::deserialize(d)? {
        Raw::Object { value, unit } => Ok((
            value.unwrap_or(0),
            unit.unwrap_or_else(|| default_unit.to_string()),
        )),
        Raw::Text(text) => split_amount(&text).map_err(serde::de::Error::custom),
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
        let (value, unit) = amount_and_unit(d, "BPS")?;
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
