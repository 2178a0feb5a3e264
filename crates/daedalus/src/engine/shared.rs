//! The state the engine handle, the dispatcher, the sweeper and every running operation share,
//! and the one way a record changes state: [`Shared::transition`], which shows a change only
//! once the journal has it.
//!
//! Owns `Shared`, transitions and restart recovery. It must not decide which transition
//! happens when (the handle and the worker do) nor know what an operation does.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::config::EngineConfig;
use super::table::{Access, Entry, Table};
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
    /// The record is finished and frozen: it never changes again (nothing was written).
    Finished,
}

/// A change made under the lock, to be journaled.
enum Step<T> {
    Unchanged(OperationRecord, T),
    Changed {
        before: Box<OperationRecord>,
        snapshot: OperationRecord,
        revision: u64,
        out: T,
    },
}

impl Shared {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes one record and journals the change; the change shows only once the journal has
    /// it. `change` edits the entry under the lock (it must go through `record_mut`, which is
    /// where the version is bumped) and may refuse. When the journal fails, the record is put
    /// back as it was unless something else changed it meanwhile. A final state, once
    /// journaled, freezes the record (see `Table::freeze`). `None`: no such record.
    pub(crate) async fn transition<T, E>(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut Entry) -> Result<T, E>,
    ) -> Option<Result<(OperationRecord, T), TransitionError<E>>> {
        let step = self.lock().modify(&id, |entry| {
            let before = entry.record().clone();
            let untouched = entry.revision();
            let out = change(entry)?;
            if entry.revision() == untouched {
                // Nothing changed: nothing to write.
                return Ok(Step::Unchanged(before, out));
            }
            entry.record_mut().version = before.version + 1;
            Ok(Step::Changed {
                snapshot: entry.record().clone(),
                revision: entry.revision(),
                before: Box::new(before),
                out,
            })
        });
        let (before, snapshot, revision, out) = match step {
            Access::Missing => return None,
            Access::Frozen => return Some(Err(TransitionError::Finished)),
            Access::Live(Err(e)) => return Some(Err(TransitionError::Refused(e))),
            Access::Live(Ok(Step::Unchanged(before, out))) => return Some(Ok((before, out))),
            Access::Live(Ok(Step::Changed {
                before,
                snapshot,
                revision,
                out,
            })) => (before, snapshot, revision, out),
        };
        match self.journal.put(&snapshot).await {
            Ok(()) => {
                if snapshot.state.is_finished() {
                    // Made outside the lock; not kept if the record changed meanwhile.
                    let json = Bytes::from(snapshot.to_api_bytes());
                    self.lock().freeze(&id, revision, json);
                }
                Some(Ok((snapshot, out)))
            }
            Err(e) => {
                self.lock().modify(&id, |entry| {
                    if entry.revision() == revision {
                        *entry.record_mut() = *before;
                    }
                });
                Some(Err(TransitionError::Journal(e)))
            }
        }
    }

    /// Changes a RUNNING record in memory (progress, findings).
    pub(crate) fn update_running(&self, id: Uuid, f: impl FnOnce(&mut OperationRecord)) {
        self.lock().modify(&id, |entry| {
            if entry.record().state == State::Running {
                f(entry.record_mut());
            }
        });
    }

    /// What a previous run left, read from the journal row by row: finished records are served
    /// as they were (kept frozen, as their API JSON), PENDING ones are queued again, RUNNING ones
    /// become FAILED because their outcome is unknown.
    pub(super) async fn recover(&self) -> Result<u64, JournalError> {
        let mut next_seq = 0;
        let mut requeue = Vec::new();
        let mut interrupted = Vec::new();
        {
            let mut ops = self.lock();
            self.journal.load_each(|row| {
                let record = match row {
                    Ok(record) => record,
                    Err((id, reason)) => {
                        tracing::error!(%id, %reason, "journal row cannot be decoded; it is skipped");
                        return;
                    }
                };
                next_seq = next_seq.max(record.seq + 1);
                match record.state {
                    State::Running => interrupted.push(record),
                    State::Pending => {
                        requeue.push(record.id);
                        ops.insert(record);
                    }
                    _ => {
                        let json = Bytes::from(record.to_api_bytes());
                        ops.insert_frozen(&record, json);
                    }
                }
            })?;
        }
        let now = now_ms();
        for mut record in interrupted {
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
            let json = Bytes::from(record.to_api_bytes());
            self.lock().insert_frozen(&record, json);
        }
        for id in requeue {
            let _ = self.queue.send(id);
        }
        Ok(next_seq)
    }
}
