//! The engine's background tasks: the dispatcher (queue → bounded pool of workers), the run of
//! one operation to its final state, and the expiry sweeper.
//!
//! Owns the RUNNING and final transitions and expiry. It must not accept or cancel requests (the
//! `Engine` handle does) nor know what an operation does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::{RunContext, RunError, Shared};
use crate::record::{now_ms, ErrorObject, State};

/// Takes queued ids in order; each starts once a worker permit is free. Ids cancelled while
/// queued are skipped without using a worker.
pub(super) async fn dispatch(
    shared: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<Uuid>,
    semaphore: Arc<Semaphore>,
    running: Arc<Mutex<JoinSet<()>>>,
) {
    loop {
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            return;
        };
        let ctx = loop {
            let Some(id) = queue.recv().await else { return };
            if let Some(ctx) = claim(&shared, id).await {
                break ctx;
            }
        };
        let mut running = running.lock().unwrap_or_else(|p| p.into_inner());
        while running.try_join_next().is_some() {}
        running.spawn(run(ctx, permit));
    }
}

/// PENDING → RUNNING with `startTime`, journaled. `None` when the operation is no longer pending.
async fn claim(shared: &Arc<Shared>, id: Uuid) -> Option<RunContext> {
    let (snapshot, cancel) = {
        let mut ops = shared.lock();
        let entry = ops.get_mut(&id)?;
        if entry.record().state != State::Pending {
            return None;
        }
        let cancel = entry.cancel.clone();
        let record = entry.record_mut();
        record.state = State::Running;
        record.start_ms = Some(now_ms());
        record.version += 1;
        (record.clone(), cancel)
    };
    if let Err(e) = shared.journal.put(&snapshot).await {
        tracing::error!(%id, error = %e, "cannot journal the start of an operation");
    }
    tracing::info!(%id, r#type = snapshot.type_name(), "operation started");
    Some(RunContext {
        shared: shared.clone(),
        id,
        cancel,
    })
}

/// Aborts the task it holds when dropped, so halting the engine stops the operation too.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one operation to its final state. The operation runs in its own task so that a panic
/// becomes FAILED instead of a lost worker.
async fn run(ctx: RunContext, _permit: OwnedSemaphorePermit) {
    let Some(request) = ctx
        .shared
        .lock()
        .get(&ctx.id)
        .map(|e| e.record().request.clone())
    else {
        return;
    };
    let inner_ctx = ctx.clone();
    // Every log line of the operation carries its id.
    let span = tracing::info_span!("operation", id = %ctx.id);
    let mut task = AbortOnDrop(tokio::spawn(tracing::Instrument::instrument(
        async move { request.run(&inner_ctx).await },
        span,
    )));
    let outcome = match (&mut task.0).await {
        Ok(outcome) => outcome,
        Err(e) => Err(RunError::internal(format!(
            "the operation task ended abnormally: {e}"
        ))),
    };
    finish(&ctx.shared, ctx.id, outcome).await;
}

/// RUNNING → COMPLETED | FAILED | CANCELLED, with `progress` 1.0 and `completionTime`, journaled.
async fn finish(shared: &Arc<Shared>, id: Uuid, outcome: Result<(), RunError>) {
    let snapshot = {
        let mut ops = shared.lock();
        let Some(entry) = ops.get_mut(&id) else {
            return;
        };
        if entry.record().state.is_finished() {
            return;
        }
        let record = entry.record_mut();
        record.progress = 1.0;
        record.completion_ms = Some(now_ms());
        match outcome {
            Ok(()) => record.state = State::Completed,
            Err(RunError::Cancelled) => record.state = State::Cancelled,
            Err(RunError::Failed { message, cause }) => {
                record.state = State::Failed;
                record.failure_cause = Some(cause);
                record.errors.push(ErrorObject {
                    source: shared.host.clone(),
                    message,
                });
            }
        }
        record.version += 1;
        record.clone()
    };
    if let Err(e) = shared.journal.put(&snapshot).await {
        tracing::error!(%id, error = %e, "cannot journal the end of an operation");
    }
    tracing::info!(%id, state = snapshot.state.as_str(), "operation finished");
    // Production readiness: duration histogram.
    if let (Some(start), Some(end)) = (snapshot.start_ms, snapshot.completion_ms) {
        crate::metrics::global().operation_finished(
            snapshot.type_name(),
            snapshot.state,
            (end - start).max(0) as f64 / 1000.0,
        );
    }
}

/// Forgets finished operations older than the expiration, in memory and in the journal.
pub(super) async fn sweep(shared: Arc<Shared>) {
    let expiration = shared.config.expiration;
    let interval = (expiration / 4).clamp(Duration::from_millis(50), Duration::from_secs(60));
    let expiration_ms = i64::try_from(expiration.as_millis()).unwrap_or(i64::MAX);
    loop {
        let cutoff = now_ms().saturating_sub(expiration_ms);
        let expired: Vec<Uuid> = {
            let mut ops = shared.lock();
            let ids: Vec<Uuid> = ops
                .values()
                .map(|e| e.record())
                .filter(|r| r.state.is_finished())
                .filter(|r| r.completion_ms.is_some_and(|c| c <= cutoff))
                .map(|r| r.id)
                .collect();
            for id in &ids {
                ops.remove(id);
            }
            ids
        };
        if !expired.is_empty() {
            tracing::debug!(count = expired.len(), "operations expired");
            if let Err(e) = shared.journal.delete(expired).await {
                tracing::error!(error = %e, "cannot remove expired operations from the journal");
            }
        }
        tokio::time::sleep(interval).await;
    }
}
