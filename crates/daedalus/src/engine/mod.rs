//! The operations engine: accepts validated requests, keeps every record, runs them on a bounded
//! pool of workers, cancels, expires, and recovers after a restart.
//!
//! Owns the state machine (PENDING → RUNNING → COMPLETED | FAILED | CANCELLED) and writes every
//! transition through to the journal. It must not parse HTTP or know how an operation does its
//! work: that is `operations/`, reached through `OperationRequest::run`.

mod admission;
mod context;
mod table;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use admission::SubmitError;
pub use context::{RunContext, RunError};

use crate::journal::{Journal, JournalError};
use crate::node::NodeConnector;
use crate::operations::{OperationRequest, OperationSettings, ValidationPolicy};
use crate::record::{host_name, now_ms, ErrorObject, OperationRecord, State};
use table::Table;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Operations running at once; more wait PENDING.
    pub workers: usize,
    /// Finished operations are forgotten this long after they finish.
    pub expiration: Duration,
    pub policy: ValidationPolicy,
    /// What operations may run and their bounds (truncate, restart, drain, progress polling).
    pub operations: OperationSettings,
    /// Most operations waiting PENDING; `submit` refuses beyond it (`SubmitError::QueueFull`).
    pub max_pending: usize,
}

/// Default of `EngineConfig::max_pending`.
pub const DEFAULT_MAX_PENDING: usize = 1000;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 10,
            expiration: Duration::from_secs(3600),
            policy: ValidationPolicy::default(),
            operations: OperationSettings::default(),
            max_pending: DEFAULT_MAX_PENDING,
        }
    }
}

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
pub enum CancelError {
    #[error("no operation {0}")]
    NotFound(Uuid),
    #[error("operation {} already finished ({})", .0.id, .0.state.as_str())]
    Finished(Box<OperationRecord>),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// State shared by the engine handle, the dispatcher, the sweeper and every running operation.
pub(crate) struct Shared {
    journal: Journal,
    ops: Mutex<Table>,
    seq: AtomicU64,
    queue: mpsc::UnboundedSender<Uuid>,
    pub(crate) connector: Arc<dyn NodeConnector>,
    pub(crate) config: EngineConfig,
    host: String,
}

/// Handle on a running engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    running: Arc<Mutex<tokio::task::JoinSet<()>>>,
}

impl Engine {
    /// Loads the journal, recovers what a previous run left behind and starts the workers.
    /// Must be called inside a tokio runtime.
    pub async fn start(
        journal: Journal,
        connector: Arc<dyn NodeConnector>,
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
            connector,
            config,
            host,
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

    /// The node connector, for requests that read from the node directly.
    pub fn connector(&self) -> &Arc<dyn NodeConnector> {
        &self.shared.connector
    }

    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    /// Accepts a validated request: the record is in the journal when this returns. Refused
    /// when admission says so (disabled operation, conflict; see `admission`).
    pub async fn submit(&self, request: OperationRequest) -> Result<OperationRecord, SubmitError> {
        let seq = self.shared.seq.fetch_add(1, Ordering::SeqCst);
        let record = OperationRecord::new(Uuid::new_v4(), seq, request, now_ms());
        // Admission and insertion under one lock, so two racing conflicting requests cannot
        // both get in; the entry is removed again if the journal refuses it.
        {
            let mut ops = self.shared.lock();
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
        Ok(record)
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

    /// The API JSON array of `list(filter)`, as bytes. Each record is serialized once per change
    /// and the cached bytes are reused; serialization happens outside the engine lock.
    pub fn list_json(&self, filter: &Filter) -> Bytes {
        let matching: Vec<table::Json> = self
            .shared
            .lock()
            .newest_first()
            .filter(|e| filter.matches(e.record()))
            .map(|e| e.json_or_copy())
            .collect();
        // Records changed since their last serialization: serialized here, outside the lock,
        // then kept unless they changed again meanwhile.
        let mut fresh = Vec::new();
        let parts: Vec<Bytes> = matching
            .into_iter()
            .map(|json| match json {
                table::Json::Ready(bytes) => bytes,
                table::Json::Stale { record, revision } => {
                    let bytes = table::api_json_bytes(&record);
                    fresh.push((record.id, revision, bytes.clone()));
                    bytes
                }
            })
            .collect();
        if !fresh.is_empty() {
            let mut ops = self.shared.lock();
            for (id, revision, bytes) in fresh {
                ops.store_json(&id, revision, bytes);
            }
        }
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 2);
        out.push(b'[');
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(part);
        }
        out.push(b']');
        Bytes::from(out)
    }

    /// PENDING → CANCELLED at once; RUNNING → cancel requested (CANCELLED at the next safe point);
    /// finished → `CancelError::Finished`.
    pub async fn cancel(&self, id: Uuid) -> Result<OperationRecord, CancelError> {
        let snapshot = {
            let mut ops = self.shared.lock();
            let entry = ops.get_mut(&id).ok_or(CancelError::NotFound(id))?;
            if entry.record().state.is_finished() {
                return Err(CancelError::Finished(Box::new(entry.record().clone())));
            }
            let cancel = entry.cancel.clone();
            let record = entry.record_mut();
            match record.state {
                State::Pending => {
                    cancel.requested.store(true, Ordering::SeqCst);
                    record.state = State::Cancelled;
                    record.progress = 1.0;
                    record.completion_ms = Some(now_ms());
                }
                _ => {
                    let in_flight = {
                        let in_flight = cancel.in_flight.lock().unwrap_or_else(|p| p.into_inner());
                        cancel.requested.store(true, Ordering::SeqCst);
                        *in_flight
                    };
                    if record.extra.contains_key("cancelRequested") {
                        return Ok(record.clone());
                    }
                    record.extra.insert("cancelRequested".into(), json!(true));
                    if let Some(call) = in_flight {
                        record.errors.push(ErrorObject {
                            source: self.shared.host.clone(),
                            message: format!(
                                "cancel requested while the JMX call {call} was in flight; a call in \
                                 flight is not interrupted, so the operation ends with its outcome"
                            ),
                        });
                    }
                }
            }
            record.version += 1;
            record.clone()
        };
        self.shared.journal.put(&snapshot).await?;
        tracing::info!(%id, state = snapshot.state.as_str(), "cancel requested");
        Ok(snapshot)
    }

    /// Stops at once, as a crash would: no new state is written, running operations are dropped
    /// mid-way (they are RUNNING in the journal and become FAILED at the next start).
    pub fn halt(&self) {
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

    /// Stops starting operations and gives running ones up to `grace` to finish, then halts.
    pub async fn shutdown(&self, grace: Duration) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            task.abort();
        }
        let mut running =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()));
        let drained = tokio::time::timeout(grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
            self.requeue_unstarted_work(grace).await;
        }
    }

    // --- Production readiness: graceful shutdown past the grace period. ---

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
                    let in_flight = {
                        let in_flight = entry
                            .cancel
                            .in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner());
                        // A task still finishing its last poll cannot start a call after this.
                        entry.cancel.requested.store(true, Ordering::SeqCst);
                        in_flight.is_some()
                    };
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
    // --- end ---
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes a RUNNING record in memory (progress, findings).
    pub(crate) fn update_running(&self, id: Uuid, f: impl FnOnce(&mut OperationRecord)) {
        if let Some(entry) = self.lock().get_mut(&id) {
            if entry.record().state == State::Running {
                f(entry.record_mut());
            }
        }
    }

    /// What a previous run left: finished records are served as they were, PENDING ones are
    /// queued again, RUNNING ones become FAILED because their outcome is unknown.
    async fn recover(&self, records: Vec<OperationRecord>) -> Result<(), JournalError> {
        let now = now_ms();
        let mut requeue = Vec::new();
        for mut record in records {
            if record.state == State::Running {
                let message = format!(
                    "the sidecar stopped while this operation was running, so its outcome is unknown; {}",
                    record.request.restart_advice()
                );
                record.state = State::Failed;
                record.progress = 1.0;
                record.completion_ms = Some(now);
                record.failure_cause =
                    Some(json!({ "kind": "SidecarRestart", "message": message }));
                record.errors.push(ErrorObject {
                    source: self.host.clone(),
                    message,
                });
                record.version += 1;
                self.journal.put(&record).await?;
                tracing::warn!(id = %record.id, "operation was running when the sidecar stopped; marked FAILED");
            } else if record.state == State::Pending {
                requeue.push(record.id);
            }
            self.lock().insert(record);
        }
        for id in requeue {
            let _ = self.queue.send(id);
        }
        Ok(())
    }
}
