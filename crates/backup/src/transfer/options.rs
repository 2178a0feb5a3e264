//! The knobs of a transfer, as Esop's request names them (`concurrentConnections`, `bandwidth`,
//! `duration`, `retry`), plus the memory bounds of the pipeline. Parsing the request's JSON
//! into these is the request module's job; this one only holds and validates them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::error::TransferError;
use super::progress::ProgressFn;
use super::refresh::RefreshObject;

/// Smallest part every S3-compatible store accepts (all but the last part of a multipart upload).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// How long to wait between attempts of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffStrategy {
    /// The same `interval` before every retry (Esop's LINEAR).
    Linear,
    /// `interval`, then twice as long before each further retry (Esop's EXPONENTIAL).
    Exponential,
}

/// Esop's `retry` object: `{interval, strategy, maxAttempts, enabled}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub enabled: bool,
    pub strategy: BackoffStrategy,
    /// Wait before the first retry.
    pub interval: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// Esop's defaults: disabled, LINEAR, 10 s, 3 attempts.
    fn default() -> Self {
        RetryPolicy {
            enabled: false,
            strategy: BackoffStrategy::Linear,
            interval: Duration::from_secs(10),
            max_attempts: 3,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next_attempt` (2 for the first retry).
    pub fn backoff(&self, next_attempt: u32) -> Duration {
        match self.strategy {
            BackoffStrategy::Linear => self.interval,
            BackoffStrategy::Exponential => {
                let doublings = next_attempt.saturating_sub(2).min(20);
                self.interval.saturating_mul(1u32 << doublings)
            }
        }
    }

    /// Whether a failed attempt number `attempt` (1-based) may be followed by another.
    pub fn allows_another(&self, attempt: u32) -> bool {
        self.enabled && attempt < self.max_attempts
    }
}

/// Everything that shapes a batch of uploads or downloads.
#[derive(Clone)]
pub struct TransferOptions {
    /// Files in flight at once (`concurrentConnections`).
    pub concurrency: usize,
    /// Bytes per second across all files of the batch (`bandwidth`); `None` = unlimited.
    pub bandwidth: Option<u64>,
    /// The whole batch must finish within this (`duration`). As in Esop, the throttle is raised
    /// to at least total bytes / duration so that it never makes the batch miss it on its own.
    pub duration: Option<Duration>,
    pub retry: RetryPolicy,
    /// Size of a multipart upload's parts; files up to this size go in one plain put.
    pub part_size: usize,
    /// Bytes of part buffers held at once across the batch; bounds the process's memory.
    pub memory_budget: usize,
    /// Size of one read from a local file.
    pub read_chunk: usize,
    /// Called with bytes done and bytes in all as bytes move, never going back.
    pub on_progress: Option<ProgressFn>,
    /// Uploads only: refreshes each object whose key is already stored (Esop's default);
    /// `None` leaves such objects untouched (`skipRefreshing`).
    pub refresh: Option<Arc<dyn RefreshObject>>,
    /// Downloads only: every destination must resolve inside one of these directories (none:
    /// anywhere). Checked before a destination is read and once its directory exists, before
    /// anything is written, so a symbolic link met inside them cannot lead a file out.
    pub write_within: Vec<PathBuf>,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            concurrency: 10,
            bandwidth: None,
            duration: None,
            retry: RetryPolicy::default(),
            part_size: 8 * 1024 * 1024,
            memory_budget: 32 * 1024 * 1024,
            read_chunk: 256 * 1024,
            on_progress: None,
            refresh: None,
            write_within: Vec::new(),
        }
    }
}

impl std::fmt::Debug for TransferOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferOptions")
            .field("concurrency", &self.concurrency)
            .field("bandwidth", &self.bandwidth)
            .field("duration", &self.duration)
            .field("retry", &self.retry)
            .field("part_size", &self.part_size)
            .field("memory_budget", &self.memory_budget)
            .field("read_chunk", &self.read_chunk)
            .field("on_progress", &self.on_progress.is_some())
            .field("refresh", &self.refresh.is_some())
            .field("write_within", &self.write_within)
            .finish()
    }
}

impl TransferOptions {
    /// Sets the progress callback.
    pub fn with_progress(mut self, f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    /// Checks every option, naming the request field of the first bad one.
    pub fn validate(&self) -> Result<(), TransferError> {
        let bad = |field, reason: String| Err(TransferError::InvalidOption { field, reason });
        if self.concurrency == 0 {
            return bad("concurrentConnections", "must be at least 1".into());
        }
        if self.bandwidth == Some(0) {
            return bad("bandwidth", "must be more than 0 bytes per second".into());
        }
        if self.duration == Some(Duration::ZERO) {
            return bad("duration", "must be longer than 0".into());
        }
        if self.retry.enabled && self.retry.max_attempts == 0 {
            return bad("retry.maxAttempts", "must be at least 1".into());
        }
        if self.part_size == 0 {
            return bad("part_size", "must be more than 0".into());
        }
        if self.memory_budget < self.part_size {
            return bad(
                "memory_budget",
                format!(
                    "{} bytes cannot hold one part of {} bytes",
                    self.memory_budget, self.part_size
                ),
            );
        }
        if self.read_chunk == 0 {
            return bad("read_chunk", "must be more than 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_esop() {
        let linear = RetryPolicy {
            enabled: true,
            strategy: BackoffStrategy::Linear,
            interval: Duration::from_secs(2),
            max_attempts: 5,
        };
        assert_eq!(linear.backoff(2), Duration::from_secs(2));
        assert_eq!(linear.backoff(4), Duration::from_secs(2));
        let exponential = RetryPolicy {
            strategy: BackoffStrategy::Exponential,
            ..linear
        };
        assert_eq!(exponential.backoff(2), Duration::from_secs(2));
        assert_eq!(exponential.backoff(3), Duration::from_secs(4));
        assert_eq!(exponential.backoff(4), Duration::from_secs(8));
        assert!(exponential.allows_another(4));
        assert!(!exponential.allows_another(5));
        assert!(!RetryPolicy::default().allows_another(1));
    }

    #[test]
    fn validation_names_the_field() {
        let field = |o: TransferOptions| match o.validate() {
            Err(TransferError::InvalidOption { field, .. }) => field,
            other => panic!("expected an invalid option, got {other:?}"),
        };
        let base = TransferOptions::default;
        assert!(base().validate().is_ok());
        assert_eq!(
            field(TransferOptions {
                concurrency: 0,
                ..base()
            }),
            "concurrentConnections"
        );
        assert_eq!(
            field(TransferOptions {
                bandwidth: Some(0),
                ..base()
            }),
            "bandwidth"
        );
        assert_eq!(
            field(TransferOptions {
                duration: Some(Duration::ZERO),
                ..base()
            }),
            "duration"
        );
        assert_eq!(
            field(TransferOptions {
                memory_budget: 1,
                ..base()
            }),
            "memory_budget"
        );
    }
}
