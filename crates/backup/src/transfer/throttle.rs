//! The bandwidth limit shared by every file of a batch: a token bucket refilled at the rate in
//! bytes per second, holding at most a quarter second of tokens. A chunk larger than the tokens
//! left may borrow against the future; its sender then waits until the debt is paid, so the
//! average rate holds whatever the chunk size. Knows nothing of files or stores.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::TransferError;

pub(crate) struct Throttle {
    bytes_per_second: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl Throttle {
    pub(crate) fn new(bytes_per_second: u64) -> Self {
        let rate = bytes_per_second.max(1) as f64;
        let burst = (rate / 4.0).max(1.0);
        Throttle {
            bytes_per_second: rate,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Takes `bytes` tokens, waiting as long as the bucket is in debt; returns early with
    /// `Cancelled` when `cancel` fires.
    pub(crate) async fn acquire(
        &self,
        bytes: u64,
        cancel: &CancellationToken,
    ) -> Result<(), TransferError> {
        let wait = {
            let mut bucket = self
                .bucket
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.bytes_per_second).min(self.burst);
            bucket.refilled_at = now;
            bucket.tokens -= bytes as f64;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-bucket.tokens / self.bytes_per_second)
            }
        };
        if wait.is_zero() {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = cancel.cancelled() => Err(TransferError::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn holds_the_average_rate() {
        let throttle = Throttle::new(1_000_000);
        let cancel = CancellationToken::new();
        let start = Instant::now();
        for _ in 0..10 {
            throttle.acquire(50_000, &cancel).await.unwrap();
        }
        // 500 kB at 1 MB/s with a 250 kB burst cannot take less than 0.25 s.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(249), "{elapsed:?}");
    }

    #[tokio::test]
    async fn cancellation_ends_the_wait() {
        let throttle = Throttle::new(1);
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(matches!(
            throttle.acquire(1_000_000, &cancel).await,
            Err(TransferError::Cancelled)
        ));
    }
}
