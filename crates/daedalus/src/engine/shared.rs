//! The state the engine handle, the dispatcher, the sweeper and every running operation share,
//! and the one way a record changes state: [`Shared::transition`], which shows a change only
//! once the journal has it.
//!
//! Owns `Shared`, transitions and restart recovery. It must not decide which transition
//! happens when (the handle and the worker do) nor know what an operation does.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::config::EngineConfig;
use super::table::{Entry, Table};
use crate::journal::{Journal, JournalError};
use crate::node::NodeHandle;
use crate::operations::{OperationSettings, ValidationPolicy};
use crate::record::{now_ms, ErrorObject, FailureCause, OperationRecord, State};

/// State shared by the engine handle, the dispatcher, the sweeper and every running operation.
pub(crate) struct Shared {
    pub(super) journal: Journal,
    pub(super) ops: Mutex<Table>,
    pub(super) seq: AtomicU64,
    pub(super) queue: mpsc::UnboundedSender<Uuid>,
    pub(super) node: NodeHandle,
    pub(super) config: EngineConfig,
    pub(super) settings: Arc<OperationSettings>,
    pub(super) policy: Arc<ValidationPolicy>,
    pub(super) host: String,
    /// Cancelled when the engine stops: the dispatcher and the sweeper end, and a transition
    /// waiting for the journal gives up.
    pub(super) stop: CancellationToken,
}

/// Why a transition did not happen.
#[derive(Debug)]
pub(crate) enum TransitionError<E> {
    /// The change itself was refused (nothing was written).
    Refused(E),
    /// The journal did not take the change, so memory was put back as it was.
    Journal(JournalError),
}

impl Shared {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes one record and journals the change; the change shows only once the journal has
    /// it. `change` edits the entry under the lock (it must go through `record_mut`, which is
    /// where the version is bumped) and may refuse. When the journal fails, the record is put
    /// back as it was unless something else changed it meanwhile. `None`: no such record.
    pub(crate) async fn transition<T, E>(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut Entry) -> Result<T, E>,
    ) -> Option<Result<(OperationRecord, T), TransitionError<E>>> {
        let (before, snapshot, revision, out) = {
            let mut ops = self.lock();
            let entry = ops.get_mut(&id)?;
            let before = entry.record().clone();
            let untouched = entry.revision();
            let out = match change(entry) {
                Ok(out) => out,
                Err(e) => return Some(Err(TransitionError::Refused(e))),
            };
            if entry.revision() == untouched {
                // Nothing changed: nothing to write.
                return Some(Ok((before, out)));
            }
            entry.record_mut().version = before.version + 1;
            (before, entry.record().clone(), entry.revision(), out)
        };
        match self.journal.put(&snapshot).await {
            Ok(()) => Some(Ok((snapshot, out))),
            Err(e) => {
                let mut ops = self.lock();
                if let Some(entry) = ops.get_mut(&id) {
                    if entry.revision() == revision {
                        *entry.record_mut() = before;
                    }
                }
                Some(Err(TransitionError::Journal(e)))
            }
        }
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
    /// queued again, RUNNING ones become FAILED because their outcome is unknown, unless they
    /// are resumable (`Operation::resumable`): those are queued again to carry on.
    pub(super) async fn recover(&self, records: Vec<OperationRecord>) -> Result<(), JournalError> {
        let now = now_ms();
        let mut requeue = Vec::new();
        for mut record in records {
            if record.state == State::Running && record.request.operation().resumable() {
                record.state = State::Pending;
                record.version += 1;
                self.journal.put(&record).await?;
                tracing::info!(id = %record.id, "operation was running when the sidecar stopped; it resumes");
                requeue.push(record.id);
            } else if record.state == State::Running {
                let message = format!(
                    "the sidecar stopped while this operation was running, so its outcome is unknown; {}",
                    record.request.restart_advice()
                );
                record.state = State::Failed;
                record.progress = 1.0;
                record.completion_ms = Some(now);
                record.failure_cause = Some(FailureCause::own("SidecarRestart", &message));
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
