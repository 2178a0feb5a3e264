//! Running a batch of file transfers: at most `concurrency` in flight, one shared throttle,
//! memory budget and progress, the first real failure stopping the rest, the `duration`
//! deadline, cancellation, and the wait between attempts of a file. What one transfer does is
//! the caller's (upload or download); this module never touches a file or a store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::buffers::BufferPool;
use super::error::TransferError;
use super::options::TransferOptions;
use super::progress::Progress;
use super::throttle::Throttle;

/// What every transfer of a batch shares.
pub(crate) struct Batch {
    pub(crate) options: TransferOptions,
    /// Fires on the caller's cancellation, the deadline, or the first failure.
    pub(crate) cancel: CancellationToken,
    pub(crate) progress: Progress,
    /// Read buffers of `options.read_chunk` bytes, shared by every file of the batch.
    pub(crate) buffers: Arc<BufferPool>,
    throttle: Option<Throttle>,
    budget: Arc<Semaphore>,
}

impl Batch {
    /// Waits for the throttle to let `bytes` through.
    pub(crate) async fn throttle(&self, bytes: u64) -> Result<(), TransferError> {
        match &self.throttle {
            Some(throttle) => throttle.acquire(bytes, &self.cancel).await,
            None => Ok(()),
        }
    }

    /// Reserves `bytes` of the memory budget for a buffer, waiting for other buffers to drain.
    pub(crate) async fn reserve(
        &self,
        bytes: usize,
    ) -> Result<OwnedSemaphorePermit, TransferError> {
        let permits = u32::try_from(bytes.clamp(1, self.options.memory_budget)).unwrap_or(u32::MAX);
        tokio::select! {
            permit = self.budget.clone().acquire_many_owned(permits) => {
                permit.map_err(|_| TransferError::Cancelled)
            }
            _ = self.cancel.cancelled() => Err(TransferError::Cancelled),
        }
    }

    /// After attempt number `attempt` failed with `error`: waits out the backoff and returns
    /// `Ok(())` when another attempt should run, or gives the error back.
    pub(crate) async fn before_retry(
        &self,
        attempt: u32,
        error: TransferError,
    ) -> Result<(), TransferError> {
        let retry = &self.options.retry;
        if !error.is_retryable() || !retry.allows_another(attempt) || self.cancel.is_cancelled() {
            return Err(error);
        }
        let wait = retry.backoff(attempt + 1);
        tracing::warn!(attempt, ?wait, %error, "transfer failed, trying again");
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = self.cancel.cancelled() => Err(TransferError::Cancelled),
        }
    }

    /// Fails with `Cancelled` once the batch is stopping.
    pub(crate) fn check_cancelled(&self) -> Result<(), TransferError> {
        if self.cancel.is_cancelled() {
            Err(TransferError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Runs `work` on every item, `options.concurrency` at a time, and returns the results in the
/// items' order. `total_bytes` is what progress counts up to.
pub(crate) async fn run<I, T, F, Fut>(
    options: &TransferOptions,
    cancel: &CancellationToken,
    total_bytes: u64,
    items: Vec<I>,
    work: F,
) -> Result<Vec<T>, TransferError>
where
    F: Fn(Arc<Batch>, I) -> Fut,
    Fut: Future<Output = Result<T, TransferError>>,
{
    options.validate()?;
    let bandwidth = options.bandwidth.map(|limit| match options.duration {
        // Esop's rule: the limit never makes the batch miss its duration by itself.
        Some(duration) => limit.max((total_bytes as f64 / duration.as_secs_f64()).ceil() as u64),
        None => limit,
    });
    let batch = Arc::new(Batch {
        options: options.clone(),
        cancel: cancel.child_token(),
        progress: Progress::new(total_bytes, options.on_progress.clone()),
        buffers: BufferPool::new(options.read_chunk),
        throttle: bandwidth.map(Throttle::new),
        budget: Arc::new(Semaphore::new(options.memory_budget)),
    });

    let count = items.len();
    let mut transfers = futures::stream::iter(items.into_iter().enumerate())
        .map(|(index, item)| {
            let transfer = work(batch.clone(), item);
            async move { (index, transfer.await) }
        })
        .buffer_unordered(options.concurrency);

    let deadline = tokio::time::sleep(options.duration.unwrap_or(Duration::MAX / 4));
    tokio::pin!(deadline);
    let mut deadline_passed = false;
    let mut failure: Option<TransferError> = None;
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    loop {
        tokio::select! {
            next = transfers.next() => match next {
                None => break,
                Some((index, Ok(value))) => results[index] = Some(value),
                Some((_, Err(TransferError::Cancelled))) => {}
                Some((_, Err(error))) => {
                    if failure.is_none() {
                        failure = Some(error);
                        batch.cancel.cancel();
                    }
                }
            },
            _ = &mut deadline, if options.duration.is_some() && !deadline_passed => {
                deadline_passed = true;
                batch.cancel.cancel();
            }
        }
    }

    if let Some(error) = failure {
        return Err(error);
    }
    if results.iter().all(Option::is_some) {
        return Ok(results.into_iter().flatten().collect());
    }
    if deadline_passed {
        return Err(TransferError::DeadlineExceeded(
            options.duration.unwrap_or_default(),
        ));
    }
    Err(TransferError::Cancelled)
}
