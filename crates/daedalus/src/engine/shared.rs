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

    /// What a previous run left: finished records are served as they were (kept frozen, as
    /// their API JSON), PENDING ones are queued again in submission order, RUNNING ones become
    /// FAILED because their outcome is unknown. Rows are decoded and rendered on every core while
    /// they are read, in bounded batches, so neither time nor memory holds every record at once.
    /// Returns the next submission number.
    pub(super) async fn recover(&self) -> Result<u64, JournalError> {
        let mut next_seq = 0;
        let mut requeue: Vec<(u64, Uuid)> = Vec::new();
        let mut interrupted = Vec::new();
        self.load_in_parallel(|row| match row {
            Decoded::Unreadable(id, reason) => {
                tracing::error!(%id, %reason, "journal row cannot be decoded; it is skipped");
            }
            Decoded::Frozen(record, json) => {
                next_seq = next_seq.max(record.seq + 1);
                self.lock().insert_frozen(&record, json);
            }
            Decoded::Unfinished(record) => {
                next_seq = next_seq.max(record.seq + 1);
                if record.state == State::Running {
                    interrupted.push(record);
                } else {
                    requeue.push((record.seq, record.id));
                    self.lock().insert(record);
                }
            }
        })?;
        requeue.sort_unstable();
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
        for (_, id) in requeue {
            let _ = self.queue.send(id);
        }
        Ok(next_seq)
    }

    /// Reads the journal on one thread, decodes and renders its rows on the others, and hands
    /// each to `each` on this one.
    fn load_in_parallel(&self, mut each: impl FnMut(Decoded)) -> Result<(), JournalError> {
        const BATCH: usize = 256;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        let (rows_tx, rows_rx) =
            std::sync::mpsc::sync_channel::<Vec<(String, String)>>(workers * 2);
        let rows_rx = Mutex::new(rows_rx);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Vec<Decoded>>(workers * 2);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let done_tx = done_tx.clone();
                let rows_rx = &rows_rx;
                scope.spawn(move || loop {
                    let next = rows_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(rows) = next else { return };
                    let decoded = rows.into_iter().map(|(id, json)| Decoded::of(id, &json));
                    if done_tx.send(decoded.collect()).is_err() {
                        return;
                    }
                });
            }
            drop(done_tx);
            let reader = scope.spawn(move || {
                self.journal.load_rows(BATCH, |rows| {
                    // Only fails once the workers are gone, and then there is nobody to tell.
                    let _ = rows_tx.send(rows);
                })
            });
            for batch in done_rx {
                batch.into_iter().for_each(&mut each);
            }
            reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

/// One journal row, decoded (and rendered, for a finished record) off the engine's thread.
enum Decoded {
    Frozen(OperationRecord, Bytes),
    Unfinished(OperationRecord),
    Unreadable(String, String),
}

impl Decoded {
    fn of(id: String, json: &str) -> Decoded {
        match Journal::decode(json) {
            Ok(record) if record.state.is_finished() => {
                let json = Bytes::from(record.to_api_bytes());
                Decoded::Frozen(record, json)
            }
            Ok(record) => Decoded::Unfinished(record),
            Err(reason) => Decoded::Unreadable(id, reason),
        }
    }
}
