//! The engine's background tasks: the dispatcher (queue → bounded pool of workers), the run of
//! one operation to its final state, and the expiry sweeper.
//!
//! Owns the RUNNING and final transitions and expiry. Both transitions are journaled before the
//! operation runs or is shown finished: an operation whose RUNNING state the journal did not
//! take is not run (it would run a second time after a crash), and a final state the journal did
//! not take is retried, the record staying RUNNING meanwhile. It must not accept or cancel
//! requests (the `Engine` handle does) nor know what an operation does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::shared::{Shared, TransitionError, ATTEMPTS};
use super::table::Interrupted;
use crate::operations::{OperationError, Reporter, Resumed, RunContext};
use crate::record::{now_ms, ErrorObject, FailureCause, State};

/// First wait before a transition the journal refused is tried again; doubled up to the max.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Takes queued ids in order; each starts once a worker permit is free. Ids cancelled while
/// queued are skipped without using a worker.
pub(super) async fn dispatch(
    shared: Arc<Shared>,
    mut queue: mpsc::UnboundedReceiver<Uuid>,
    semaphore: Arc<Semaphore>,
    running: Arc<Mutex<JoinSet<()>>>,
) {
    let stop = shared.stop.clone();
    loop {
        // Stopping is checked while waiting, never in the middle of a claim: a claim the
        // journal took is always followed by its run.
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            permit = semaphore.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let claimed = loop {
            let id = tokio::select! {
                () = stop.cancelled() => return,
                id = queue.recv() => match id {
                    Some(id) => id,
                    None => return,
                },
            };
            if let Some(claimed) = claim(&shared, id).await {
                break claimed;
            }
        };
        let mut running = running.lock().unwrap_or_else(|p| p.into_inner());
        while running.try_join_next().is_some() {}
        running.spawn(run(shared.clone(), claimed, permit));
    }
}

/// An operation a worker is about to run.
struct Claimed {
    ctx: RunContext,
    /// Set for a run a stop of the sidecar interrupted and that is not resumed: what it left is
    /// cleared and it ends FAILED with this cause.
    wind_up: Option<String>,
}

/// PENDING → RUNNING with `startTime`, journaled before anything runs; or a RUNNING record left
/// by a stop of the sidecar (`Shared::recover`), which keeps its state, start and fields. `None`
/// when the operation is no longer to run, or when the engine stops before the journal took the
/// change.
async fn claim(shared: &Arc<Shared>, id: Uuid) -> Option<Claimed> {
    let mut wait = RETRY_FIRST;
    loop {
        let outcome = shared
            .transition(id, |entry| match entry.record().state {
                State::Pending => {
                    let record = entry.record_mut();
                    record.state = State::Running;
                    record.start_ms = Some(now_ms());
                    Ok((entry.cancel.clone(), None))
                }
                State::Running if entry.interrupted.is_some() => {
                    Ok((entry.cancel.clone(), entry.interrupted.take()))
                }
                _ => Err(()),
            })
            .await?;
        match outcome {
            Ok((snapshot, (cancel, interrupted))) => {
                let reporter: Arc<dyn Reporter> = Arc::new(RecordReporter {
                    shared: shared.clone(),
                    id,
                });
                let ctx = RunContext::new(
                    id,
                    shared.node.clone(),
                    reporter,
                    cancel,
                    shared.settings.clone(),
                    shared.policy.clone(),
                )
                .with_stopping(shared.stop.clone());
                let (ctx, wind_up) = match interrupted {
                    None => {
                        tracing::info!(%id, r#type = snapshot.type_name(), "operation started");
                        (ctx, None)
                    }
                    Some(Interrupted::Resume) => {
                        let attempt = snapshot
                            .extra
                            .get(ATTEMPTS)
                            .and_then(Value::as_u64)
                            .unwrap_or(2);
                        tracing::info!(%id, r#type = snapshot.type_name(), attempt, "operation resumed");
                        let resumed = Resumed {
                            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                            fields: snapshot.extra,
                        };
                        (ctx.with_resumed(resumed), None)
                    }
                    Some(Interrupted::WindUp { message }) => {
                        tracing::info!(%id, r#type = snapshot.type_name(), "clearing what an interrupted operation left");
                        let resumed = Resumed {
                            attempt: 2,
                            fields: snapshot.extra,
                        };
                        (ctx.with_resumed(resumed), Some(message))
                    }
                };
                return Some(Claimed { ctx, wind_up });
            }
            Err(TransitionError::Refused(()) | TransitionError::Finished) => return None,
            Err(TransitionError::Journal(e)) => {
                tracing::error!(%id, error = %e, retry_in = ?wait, "cannot journal the start of an operation; it stays PENDING and does not run");
                if !pause(shared, &mut wait).await {
                    return None;
                }
            }
        }
    }
}

/// Waits before a retry; `false` when the engine stops meanwhile.
async fn pause(shared: &Shared, wait: &mut Duration) -> bool {
    let stopped = tokio::select! {
        () = shared.stop.cancelled() => true,
        () = tokio::time::sleep(*wait) => false,
    };
    *wait = (*wait * 2).min(RETRY_MAX);
    !stopped
}

/// Progress and findings of a RUNNING operation, into its record (memory only; the journal
/// gets them with the next state change).
struct RecordReporter {
    shared: Arc<Shared>,
    id: Uuid,
}

#[async_trait::async_trait]
impl Reporter for RecordReporter {
    fn progress(&self, fraction: f64) {
        self.shared
            .update_running(self.id, |r| r.progress = fraction);
    }

    fn field(&self, key: &str, value: Value) {
        self.shared.update_running(self.id, |r| {
            r.extra.insert(key.to_string(), value);
        });
    }

    async fn keep(&self, key: &str, value: Value) -> Result<(), String> {
        let changed = self
            .shared
            .transition(self.id, |entry| {
                if entry.record().state != State::Running {
                    return Err(());
                }
                entry.record_mut().extra.insert(key.to_string(), value);
                Ok(())
            })
            .await;
        match changed {
            Some(Ok(_)) => Ok(()),
            None | Some(Err(TransitionError::Refused(()) | TransitionError::Finished)) => {
                Err("the operation is no longer running".to_string())
            }
            Some(Err(TransitionError::Journal(e))) => Err(e.to_string()),
        }
    }
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
async fn run(shared: Arc<Shared>, claimed: Claimed, _permit: OwnedSemaphorePermit) {
    let Claimed { ctx, wind_up } = claimed;
    let id = ctx.id();
    let Some(request) = shared.lock().live(&id).map(|e| e.record().request.clone()) else {
        return;
    };
    // Every log line of the operation carries its id.
    let span = tracing::info_span!("operation", %id);
    let operation = request.operation().clone();
    let mut task = AbortOnDrop(tokio::spawn(tracing::Instrument::instrument(
        async move {
            match wind_up {
                None => operation.run(&ctx).await,
                Some(message) => {
                    operation.clean_up(&ctx).await;
                    Err(OperationError::failed("SidecarRestart", message))
                }
            }
        },
        span,
    )));
    let outcome = match (&mut task.0).await {
        Ok(outcome) => outcome,
        Err(e) => Err(OperationError::internal(format!(
            "the operation task ended abnormally: {e}"
        ))),
    };
    finish(&shared, id, outcome).await;
}

/// RUNNING → COMPLETED | FAILED | CANCELLED, with `progress` 1.0 and `completionTime`. Shown only
/// once journaled; retried (the worker kept) until the journal takes it or the engine stops.
async fn finish(shared: &Arc<Shared>, id: Uuid, outcome: Result<(), OperationError>) {
    let (state, failure) = match &outcome {
        Ok(()) => (State::Completed, None),
        Err(OperationError::Cancelled) => (State::Cancelled, None),
        Err(e) => (State::Failed, Some(FailureCause::of(e))),
    };
    let mut wait = RETRY_FIRST;
    let snapshot = loop {
        let transition = shared
            .transition(id, |entry| {
                if entry.record().state.is_finished() {
                    return Err(());
                }
                let record = entry.record_mut();
                record.state = state;
                record.progress = 1.0;
                record.completion_ms = Some(now_ms());
                if let Some((message, cause)) = &failure {
                    record.failure_cause = Some(cause.clone());
                    match outcome.as_ref().err().and_then(OperationError::sourced) {
                        // A failure in several places shows each where it happened.
                        Some(sourced) => {
                            record.errors.extend(sourced.iter().map(|e| ErrorObject {
                                source: e.source.clone(),
                                message: e.message.clone(),
                            }))
                        }
                        None => record.errors.push(ErrorObject {
                            source: shared.host.clone(),
                            message: message.clone(),
                        }),
                    }
                }
                Ok(())
            })
            .await;
        match transition {
            None | Some(Err(TransitionError::Refused(()) | TransitionError::Finished)) => return,
            Some(Ok((snapshot, ()))) => break snapshot,
            Some(Err(TransitionError::Journal(e))) => {
                tracing::error!(%id, error = %e, retry_in = ?wait, "cannot journal the end of an operation; it stays RUNNING until the journal takes it");
                if !pause(shared, &mut wait).await {
                    return;
                }
            }
        }
    };
    tracing::info!(%id, state = snapshot.state.as_str(), "operation finished");
    if let (Some(start), Some(end)) = (snapshot.start_ms, snapshot.completion_ms) {
        crate::metrics::global().operation_finished(
            snapshot.type_name(),
            snapshot.state.as_str(),
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
            let ids = ops.finished_before(cutoff);
            for id in &ids {
                ops.remove(id);
            }
            ids
        };
        if !expired.is_empty() {
            tracing::debug!(count = expired.len(), "operations expired");
            // A cluster-wide operation's plan goes with its record.
            if let Some(cluster) = &shared.settings.cluster {
                if let Err(e) = cluster.plans.forget(expired.clone()).await {
                    tracing::error!(error = %e, "cannot remove the plans of expired operations");
                }
            }
            if let Err(e) = shared.journal.delete(expired).await {
                tracing::error!(error = %e, "cannot remove expired operations from the journal");
            }
        }
        tokio::select! {
            () = shared.stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
