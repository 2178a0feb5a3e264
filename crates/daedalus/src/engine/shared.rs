//! The state the engine handle, the dispatcher, the sweeper and every running operation share,
//! and the one way a record changes state: [`Shared::transition`], which shows a change only
//! once the journal has it.
//!
//! Owns `Shared`, transitions and restart recovery. It must not decide which transition
//! happens when (the handle and the worker do) nor know what an operation does.

use std::ops::Range;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::config::EngineConfig;
use super::table::{Access, Entry, Found, Interrupted, Table};
use crate::journal::{Journal, JournalError};
use crate::node::NodeHandle;
use crate::operations::{known_types, OperationSettings, ValidationPolicy};
use crate::record::{now_ms, ErrorObject, FailureCause, OperationRecord, State};

/// The record field that counts the runs of an operation resumed after stops of the sidecar
/// (absent: one run).
pub(super) const ATTEMPTS: &str = "attempts";

/// How many runs the record had so far.
fn attempts(record: &OperationRecord) -> u64 {
    record
        .extra
        .get(ATTEMPTS)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1)
}

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
    /// Held by whoever makes the JSON of the finished records loaded at start; set once done.
    pub(super) render_gate: Mutex<bool>,
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

    /// What a previous run left: finished records are served as they were (kept frozen; their
    /// JSON is made by `render_finished` after start, or on first use), PENDING ones are queued
    /// again in submission order, RUNNING ones become FAILED because their outcome is unknown,
    /// unless they are resumable (`Operation::resumable`) and resuming is on: those stay
    /// RUNNING, count one more attempt and are queued again to carry on. One that is not
    /// resumed but may have left something behind (`Operation::leaves_behind`) is queued to
    /// clear it before it ends FAILED.
    /// Only unfinished rows are decoded here, so a large journal opens quickly. Returns the next
    /// submission number.
    pub(super) async fn recover(&self) -> Result<u64, JournalError> {
        let mut next_seq = 0;
        let mut requeue: Vec<(u64, Uuid)> = Vec::new();
        let mut interrupted = Vec::new();
        {
            let rows = self.journal.row_count()?;
            let mut ops = self.lock();
            // Sized once: growing one record at a time would free every smaller table on the
            // way, and such large freed blocks stay in the process (see `Table::reserve`).
            ops.reserve(rows);
            self.journal.load_index_each(|row| {
                let skip = |reason: &str| {
                    tracing::error!(id = %row.id, %reason, "journal row cannot be decoded; it is skipped");
                };
                let Some(json) = &row.record else {
                    let id = Uuid::parse_str(&row.id);
                    let type_name = known_types().iter().copied().find(|t| *t == row.type_name);
                    let state = State::parse(&row.state).filter(|s| s.is_finished());
                    match (id, type_name, state) {
                        (Ok(id), Some(type_name), Some(state)) => {
                            next_seq = next_seq.max(row.seq + 1);
                            ops.insert_unrendered(
                                id,
                                row.seq,
                                row.creation_ms,
                                row.completion_ms,
                                type_name,
                                state,
                            );
                        }
                        _ => skip("its id, type or state is not one this build knows"),
                    }
                    return;
                };
                let record = match Journal::decode(json) {
                    Ok(record) => record,
                    Err(reason) => return skip(&reason),
                };
                next_seq = next_seq.max(record.seq + 1);
                match record.state {
                    State::Running => interrupted.push(record),
                    State::Pending => {
                        requeue.push((record.seq, record.id));
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
            let operation = record.request.operation().clone();
            let (id, seq) = (record.id, record.seq);
            if self.settings.resume && operation.resumable() {
                let attempt = attempts(&record) + 1;
                record.extra.insert(ATTEMPTS.into(), attempt.into());
                record.version += 1;
                self.journal.put(&record).await?;
                tracing::info!(%id, attempt, "operation was running when the sidecar stopped; it resumes");
                self.insert_interrupted(record, Interrupted::Resume);
                requeue.push((seq, id));
                continue;
            }
            let why = if operation.resumable() {
                "resuming is turned off (--no-resume)".to_string()
            } else {
                operation.not_resumed_because()
            };
            let message = format!(
                "the sidecar stopped while this operation was running, so its outcome is \
                 unknown; it is not run again: {why}. {}",
                record.request.restart_advice()
            );
            if operation.leaves_behind() {
                // Stays RUNNING until what the run left is cleared, then ends FAILED.
                tracing::warn!(%id, "operation was running when the sidecar stopped; what it left is cleared, then it is FAILED");
                self.insert_interrupted(record, Interrupted::WindUp { message });
                requeue.push((seq, id));
                continue;
            }
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
            tracing::warn!(%id, "operation was running when the sidecar stopped; marked FAILED");
            let json = Bytes::from(record.to_api_bytes());
            self.lock().insert_frozen(&record, json);
        }
        requeue.sort_unstable();
        for (_, id) in requeue {
            let _ = self.queue.send(id);
        }
        Ok(next_seq)
    }

    /// A RUNNING record left by a stop of the sidecar, kept RUNNING for its next run.
    fn insert_interrupted(&self, record: OperationRecord, next: Interrupted) {
        let id = record.id;
        let mut ops = self.lock();
        ops.insert(record);
        ops.modify(&id, |entry| entry.interrupted = Some(next));
    }

    /// Makes the JSON of every finished record loaded at start (`recover`), reading the journal
    /// in batches so that it stays free for writes in between. A row that cannot be decoded is
    /// dropped from the table. Blocking; ends early when the engine stops.
    /// Whoever comes second waits for the first and then finds nothing left to do.
    pub(super) fn render_finished(&self) {
        const BATCH: usize = 512;
        let mut done = self.render_gate.lock().unwrap_or_else(|p| p.into_inner());
        if *done {
            return;
        }
        *done = self.render_pass(BATCH);
    }

    /// One pass over the finished rows; `true` when it reached the end. The JSON of records
    /// read one after the other is written side by side, about [`BLOCK`] bytes at a time, and
    /// kept as one buffer of exactly its size, each record holding a slice of it: kept records
    /// are not interleaved with the temporaries of reading and rendering them, and carry no
    /// allocation of their own. A buffer is freed once every record in it is gone.
    fn render_pass(&self, batch: usize) -> bool {
        /// Bytes of JSON per kept buffer. The buffer they are written into is made once with
        /// room for a little more and not grown (unless one record is larger): with glibc's
        /// malloc, freeing a large grown buffer would make the process keep more memory.
        const BLOCK: usize = 64 * 1024;
        let mut after = None;
        let mut written: Vec<u8> = Vec::with_capacity(BLOCK + BLOCK / 2);
        let mut spans: Vec<(Uuid, Range<usize>)> = Vec::with_capacity(batch);
        while !self.stop.is_cancelled() {
            let rows = match self.journal.finished_after(after, batch) {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read finished operations from the journal; their JSON is made on first use");
                    return false;
                }
            };
            let Some(last) = rows.last() else {
                return true;
            };
            after = Some(last.1);
            for (id, _, json) in rows {
                let Ok(id) = Uuid::parse_str(&id) else {
                    continue;
                };
                if !self.unrendered(&id) {
                    continue;
                }
                match Journal::decode(&json) {
                    Ok(record) => {
                        let start = written.len();
                        record.write_api_json(&mut written);
                        spans.push((id, start..written.len()));
                        if written.len() >= BLOCK {
                            self.keep_block(&mut written, &mut spans);
                        }
                    }
                    Err(reason) => self.drop_undecodable(id, &reason),
                }
            }
            // What is left of the batch gets its JSON now, not after the next read.
            self.keep_block(&mut written, &mut spans);
        }
        false
    }

    /// Gives each record of `spans` its slice of `written`, copied into one buffer of exactly
    /// its size; empties both.
    fn keep_block(&self, written: &mut Vec<u8>, spans: &mut Vec<(Uuid, Range<usize>)>) {
        if spans.is_empty() {
            return;
        }
        let block = Bytes::copy_from_slice(written);
        written.clear();
        let mut table = self.lock();
        for (id, span) in spans.drain(..) {
            table.set_json(&id, block.slice(span));
        }
    }

    /// The JSON of frozen record `id`: as kept, or made now.
    pub(super) fn json_of(&self, id: Uuid) -> Option<Bytes> {
        if let Some(Found::Frozen(_, f)) = self.lock().get(&id) {
            if let Some(json) = f.json() {
                return Some(json.clone());
            }
        }
        self.render(id)
    }

    /// The JSON of frozen record `id`, made now from its journal row if it was not made yet.
    /// `None` when there is no such row any more or it cannot be read.
    pub(super) fn render(&self, id: Uuid) -> Option<Bytes> {
        match self.journal.get(id) {
            Ok(Some(record)) => self.keep_rendered(id, Ok(record)),
            Ok(None) => None,
            Err(JournalError::Encode(e)) => self.keep_rendered(id, Err(e.to_string())),
            Err(e) => {
                tracing::error!(%id, error = %e, "cannot read a finished operation from the journal");
                None
            }
        }
    }

    fn unrendered(&self, id: &Uuid) -> bool {
        matches!(self.lock().get(id), Some(Found::Frozen(_, f)) if f.json().is_none())
    }

    fn keep_rendered(&self, id: Uuid, decoded: Result<OperationRecord, String>) -> Option<Bytes> {
        match decoded {
            Ok(record) => {
                let json = Bytes::from(record.to_api_bytes());
                self.lock().set_json(&id, json.clone());
                Some(json)
            }
            Err(reason) => {
                self.drop_undecodable(id, &reason);
                None
            }
        }
    }

    fn drop_undecodable(&self, id: Uuid, reason: &str) {
        tracing::error!(%id, %reason, "journal row cannot be decoded; it is dropped");
        self.lock().remove(&id);
    }
}
