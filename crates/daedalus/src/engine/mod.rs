//! The operations engine: accepts validated requests, keeps every record, runs them on a bounded
//! pool of workers, cancels, expires, and recovers after a restart.
//!
//! Owns the state machine (PENDING → RUNNING → COMPLETED | FAILED | CANCELLED) and writes every
//! transition through to the journal before it shows. It must not parse HTTP or know what an
//! operation does: it holds `operations::Request`s and calls the `Operation` trait only.

mod admission;
mod config;
mod shared;
mod table;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use admission::SubmitError;

use crate::journal::{Journal, JournalError};
use crate::node::NodeHandle;
use crate::operations::{Request, ValidationPolicy};
use crate::record::{host_name, now_ms, ErrorObject, OperationRecord, State};
pub use config::{EngineConfig, DEFAULT_MAX_PENDING};
use shared::{Shared, TransitionError};
use table::Table;

/// Which records `list` returns; an empty list means "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub types: Vec<String>,
    pub states: Vec<State>,
}

impl Filter {
    /// The record's type is one of `types` and its state one of `states` (empty: any).
    pub fn matches(&self, record: &OperationRecord) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == record.type_name()))
            && (self.states.is_empty() || self.states.contains(&record.state))
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CancelError {
    #[error("no operation {0}")]
    NotFound(Uuid),
    #[error("operation {} already finished ({})", .0.id, .0.state.as_str())]
    Finished(Box<OperationRecord>),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// Handle on a running engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    running: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

/// A record and its revision (which changes whenever the record does, in memory included).
#[derive(Debug, Clone)]
pub struct Revised<T> {
    pub revision: u64,
    pub value: T,
}

impl Engine {
    /// Loads the journal, recovers what a previous run left behind and starts the workers.
    /// Must be called inside a tokio runtime.
    pub async fn start(
        journal: Journal,
        node: NodeHandle,
        config: EngineConfig,
    ) -> Result<Engine, JournalError> {
        let (queue, queue_rx) = mpsc::unbounded_channel();
        let loaded = journal.load()?;
        for (id, reason) in &loaded.unreadable {
            tracing::error!(%id, %reason, "journal row cannot be decoded; it is skipped");
        }
        let host = host_name();
        let next_seq = loaded.records.iter().map(|r| r.seq + 1).max().unwrap_or(0);
        let shared = Arc::new(Shared {
            journal,
            ops: Mutex::new(Table::default()),
            seq: AtomicU64::new(next_seq),
            queue,
            node,
            settings: Arc::new(config.operations.clone()),
            policy: Arc::new(config.policy.clone()),
            config,
            host,
            stop: CancellationToken::new(),
        });
        shared.recover(loaded.records).await?;

        let running = Arc::new(Mutex::new(tokio::task::JoinSet::new()));
        let semaphore = Arc::new(Semaphore::new(shared.config.workers.max(1)));
        let dispatcher = tokio::spawn(worker::dispatch(
            shared.clone(),
            queue_rx,
            semaphore,
            running.clone(),
        ));
        let sweeper = tokio::spawn(worker::sweep(shared.clone()));
        Ok(Engine {
            shared,
            tasks: Arc::new(Mutex::new(vec![dispatcher, sweeper])),
            running,
        })
    }

    pub fn policy(&self) -> &ValidationPolicy {
        &self.shared.config.policy
    }

    /// The shared node handle, for requests that read from the node directly.
    pub fn node(&self) -> &NodeHandle {
        &self.shared.node
    }

    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    /// Accepts a validated request: the record is in the journal when this returns. Refused
    /// when admission says so (disabled operation, conflict; see `admission`).
    pub async fn submit(&self, request: Request) -> Result<OperationRecord, SubmitError> {
        self.submit_as(Uuid::new_v4(), request)
            .await
            .map(|(record, _)| record)
    }

    /// Like `submit`, under an id the caller chose. When an operation with this id exists already
    /// it is returned unchanged with `false` (nothing new runs), provided it is of the same type;
    /// `true` when this call created it. A caller that journals the id before sending can so
    /// send again after its own crash without the work running twice.
    pub async fn submit_as(
        &self,
        id: Uuid,
        request: Request,
    ) -> Result<(OperationRecord, bool), SubmitError> {
        let seq = self.shared.seq.fetch_add(1, Ordering::SeqCst);
        let record = OperationRecord::new(id, seq, request, now_ms());
        // Admission and insertion under one lock, so two racing conflicting requests cannot
        // both get in; the entry is removed again if the journal refuses it.
        {
            let mut ops = self.shared.lock();
            if let Some(existing) = ops.get(&id) {
                let existing = existing.record();
                if existing.type_name() != record.type_name() {
                    return Err(SubmitError::Conflict {
                        id,
                        message: format!(
                            "operation {id} exists already and is a {}, not a {}",
                            existing.type_name(),
                            record.type_name()
                        ),
                        record: Box::new(existing.clone()),
                    });
                }
                return Ok((existing.clone(), false));
            }
            // Production readiness: the bounded queue, checked before anything is journaled.
            let pending = ops
                .values()
                .filter(|e| e.record().state == State::Pending)
                .count();
            if pending >= self.shared.config.max_pending {
                crate::metrics::global().queue_full();
                return Err(SubmitError::QueueFull { pending });
            }
            admission::admit(
                &record.request,
                &self.shared.config.operations,
                ops.values().map(|e| e.record()),
            )?;
            ops.insert(record.clone());
        }
        if let Err(e) = self.shared.journal.put(&record).await {
            self.shared.lock().remove(&record.id);
            return Err(e.into());
        }
        // The dispatcher only stops with the engine; a send error means we are shutting down and
        // the record, already journaled PENDING, will be queued again at the next start.
        let _ = self.shared.queue.send(record.id);
        tracing::info!(id = %record.id, r#type = record.type_name(), "operation accepted");
        Ok((record, true))
    }

    /// Operations waiting for a worker.
    pub fn pending(&self) -> usize {
        self.shared
            .lock()
            .values()
            .filter(|e| e.record().state == State::Pending)
            .count()
    }

    pub fn get(&self, id: Uuid) -> Option<OperationRecord> {
        self.shared.lock().get(&id).map(|e| e.record().clone())
    }

    /// Matching records, newest first (creation time, then submission order).
    pub fn list(&self, filter: &Filter) -> Vec<OperationRecord> {
        self.shared
            .lock()
            .newest_first()
            .map(|e| e.record())
            .filter(|r| filter.matches(r))
            .cloned()
            .collect()
    }

    /// The ids and revisions of the matching records, newest first: enough to reuse anything
    /// made from a record that has not changed since.
    pub fn list_revisions(&self, filter: &Filter) -> Vec<Revised<Uuid>> {
        self.shared
            .lock()
            .newest_first()
            .filter(|e| filter.matches(e.record()))
            .map(|e| Revised {
                revision: e.revision(),
                value: e.record().id,
            })
            .collect()
    }

    /// A record with its revision.
    pub fn get_revised(&self, id: Uuid) -> Option<Revised<OperationRecord>> {
        self.shared.lock().get(&id).map(|e| Revised {
            revision: e.revision(),
            value: e.record().clone(),
        })
    }

    /// How many records there are by type and state, and how many wait or run.
    pub fn figures(&self) -> crate::metrics::RecordFigures {
        let ops = self.shared.lock();
        // Every known type and state, at 0 when none: a series does not vanish between scrapes.
        let mut counts: std::collections::BTreeMap<(&'static str, &'static str), u64> =
            crate::operations::known_types()
                .iter()
                .flat_map(|t| State::ALL.iter().map(move |s| ((*t, s.as_str()), 0)))
                .collect();
        let mut figures = crate::metrics::RecordFigures::default();
        for entry in ops.values() {
            let record = entry.record();
            match record.state {
                State::Pending => figures.pending += 1,
                State::Running => figures.running += 1,
                _ => {}
            }
            *counts
                .entry((record.type_name(), record.state.as_str()))
                .or_default() += 1;
        }
        figures.by_type_state = counts
            .into_iter()
            .map(|((t, s), n)| (t.to_string(), s, n))
            .collect();
        figures
    }

    /// PENDING → CANCELLED at once; RUNNING → cancel requested (CANCELLED at the next safe point);
    /// finished → `CancelError::Finished`. Nothing changes unless the journal took the change.
    pub async fn cancel(&self, id: Uuid) -> Result<OperationRecord, CancelError> {
        let host = self.shared.host.clone();
        let outcome = self
            .shared
            .transition(id, |entry| {
                if entry.record().state.is_finished() {
                    return Err(CancelError::Finished(Box::new(entry.record().clone())));
                }
                // Under the lock that `uninterruptible` takes: either the operation sees the
                // request before its next call, or the call in flight is named here.
                let in_flight = entry.cancel.request();
                let record = entry.record();
                if record.state != State::Pending && record.extra.contains_key("cancelRequested") {
                    return Ok(());
                }
                let record = entry.record_mut();
                if record.state == State::Pending {
                    record.state = State::Cancelled;
                    record.progress = 1.0;
                    record.completion_ms = Some(now_ms());
                    return Ok(());
                }
                record.extra.insert("cancelRequested".into(), json!(true));
                if let Some(call) = in_flight {
                    record.errors.push(ErrorObject {
                        source: host.clone(),
                        message: format!(
                            "cancel requested while the JMX call {call} was in flight; a call in \
                             flight is not interrupted, so the operation ends with its outcome"
                        ),
                    });
                }
                Ok(())
            })
            .await;
        let record = match outcome {
            None => return Err(CancelError::NotFound(id)),
            Some(Err(TransitionError::Refused(e))) => return Err(e),
            Some(Err(TransitionError::Journal(e))) => {
                // PENDING again in memory: the dispatcher may have skipped it meanwhile.
                let _ = self.shared.queue.send(id);
                return Err(CancelError::Journal(e));
            }
            Some(Ok((record, ()))) => record,
        };
        tracing::info!(%id, state = record.state.as_str(), "cancel requested");
        Ok(record)
    }

    /// Stops at once, as a crash would: no new state is written, running operations are dropped
    /// mid-way (they are RUNNING in the journal and become FAILED at the next start).
    pub fn halt(&self) {
        self.shared.stop.cancel();
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            task.abort();
        }
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }

    /// Stops starting operations and gives running ones up to `grace` to finish. Past it, the
    /// operations' tasks are stopped: those not inside a node call go back to PENDING for the
    /// next start, those inside one stay RUNNING (FAILED at the next start).
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.stop.cancel();
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for task in tasks {
            let _ = task.await;
        }
        let mut running =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()));
        let drained = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // An operation's future cannot be asked to stop mid-call: a JMX call in flight is
            // not interruptible. Dropping it is what "the grace period is over" means.
            running.abort_all();
            while running.join_next().await.is_some() {}
            self.requeue_unstarted_work(grace).await;
        }
    }

    /// After the grace period, with the operations' tasks stopped: a RUNNING operation that has
    /// no node call in flight has changed nothing yet that cannot be redone, so it goes back to
    /// PENDING in the journal and runs at the next start; one with a call in flight keeps RUNNING
    /// and becomes FAILED at the next start (its outcome is unknown).
    async fn requeue_unstarted_work(&self, grace: Duration) {
        let snapshots: Vec<(OperationRecord, bool)> = {
            let mut ops = self.shared.lock();
            ops.values_mut()
                .filter(|e| e.record().state == State::Running)
                .map(|entry| {
                    // A task still finishing its last poll cannot start a call after this.
                    let in_flight = entry.cancel.request().is_some();
                    if !in_flight {
                        let record = entry.record_mut();
                        record.state = State::Pending;
                        record.start_ms = None;
                        record.progress = 0.0;
                        record.version += 1;
                    }
                    (entry.record().clone(), in_flight)
                })
                .collect()
        };
        for (record, in_flight) in snapshots {
            if in_flight {
                tracing::warn!(id = %record.id, "operation still in a node call after {grace:?}; it will be FAILED at the next start");
            } else if let Err(e) = self.shared.journal.put(&record).await {
                tracing::error!(id = %record.id, error = %e, "cannot journal an operation back to PENDING");
            } else {
                tracing::info!(id = %record.id, "operation stopped before its node call; PENDING again for the next start");
            }
        }
    }
}
