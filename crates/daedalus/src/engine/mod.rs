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

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use admission::SubmitError;

use crate::journal::{Journal, JournalError};
use crate::node::NodeHandle;
use crate::operations::{
    Cancellation, Reporter, Request, RunContext, ValidationError, ValidationPolicy,
};
use crate::record::{host_name, now_ms, ErrorObject, OperationRecord, State};
pub use config::{EngineConfig, DEFAULT_MAX_PENDING};
use shared::{Shared, TransitionError};
use table::{Found, Table};

/// Which records `list` returns; an empty list means "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub types: Vec<String>,
    pub states: Vec<State>,
}

impl Filter {
    /// The record's type is one of `types` and its state one of `states` (empty: any).
    pub fn matches(&self, record: &OperationRecord) -> bool {
        self.wants(record.type_name(), record.state)
    }

    /// A record of this type and state is selected.
    pub fn wants(&self, type_name: &str, state: State) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == type_name))
            && (self.states.is_empty() || self.states.contains(&state))
    }
}

/// Most records in one piece of a list ([`Engine::list_shown`]). A list of every record is
/// never one large block: with glibc's malloc, freeing a large block raises the size below
/// which memory comes from (and stays in) the heap, so each full list would leave megabytes
/// behind in the process. A piece (40 KiB) stays well under that size.
pub const LIST_PIECE: usize = 1024;

/// Longest the checks made before a request is accepted may take (listing a bucket): a
/// client's POST waits for them.
const PREFLIGHT_PATIENCE: Duration = Duration::from_secs(30);

/// What the API shows of one record.
#[derive(Debug, Clone)]
pub enum Shown {
    /// A finished record: its API JSON, made once when it finished (`to_api_bytes`).
    Finished(Bytes),
    /// A record that may still change, with its revision.
    Live(Revised<OperationRecord>),
}

/// One record of a list, as cheaply as the API can use it.
#[derive(Debug, Clone)]
pub enum Listed {
    /// A finished record's API JSON.
    Finished(Bytes),
    /// A record that may still change: its id and revision (enough to reuse anything made from
    /// it while it has not changed).
    Live(Revised<Uuid>),
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
        let host = host_name();
        let shared = Arc::new(Shared {
            journal,
            ops: Mutex::new(Table::default()),
            seq: AtomicU64::new(0),
            queue,
            node,
            settings: Arc::new(config.operations.clone()),
            policy: Arc::new(config.policy.clone()),
            config,
            host,
            stop: CancellationToken::new(),
            render_gate: std::sync::Mutex::new(false),
        });
        let next_seq = shared.recover().await?;
        shared.seq.store(next_seq, Ordering::SeqCst);
        // Finished records are served from the start; their JSON is made meanwhile (or on
        // first use, whichever comes first).
        let renderer = shared.clone();
        tokio::task::spawn_blocking(move || renderer.render_finished());

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

    /// What the deployment lets operations do, how peers are reached included (the console's
    /// node view asks every peer the way cluster-wide requests do).
    pub fn settings(&self) -> &crate::operations::OperationSettings {
        &self.shared.settings
    }

    /// The shared node handle, for requests that read from the node directly.
    pub fn node(&self) -> &NodeHandle {
        &self.shared.node
    }

    pub fn journal(&self) -> &Journal {
        &self.shared.journal
    }

    /// The checks of a request that need the node or the storage (`Operation::preflight`),
    /// bounded by `PREFLIGHT_PATIENCE`: one that cannot finish in time leaves the request to its
    /// run, which fails with the cause if there is one.
    pub async fn preflight(&self, request: &Request) -> Result<(), ValidationError> {
        struct Nowhere;
        #[async_trait::async_trait]
        impl Reporter for Nowhere {
            fn progress(&self, _: f64) {}
            fn field(&self, _: &str, _: serde_json::Value) {}
            // A check before acceptance has no record: nothing it keeps could be resumed.
            async fn keep(&self, _: &str, _: serde_json::Value) -> Result<(), String> {
                Err("a check before acceptance keeps nothing".to_string())
            }
        }
        let ctx = RunContext::new(
            Uuid::nil(),
            self.shared.node.clone(),
            Arc::new(Nowhere),
            Arc::new(Cancellation::default()),
            self.shared.settings.clone(),
            self.shared.policy.clone(),
        );
        let check = request.operation().preflight(&ctx);
        match tokio::time::timeout(PREFLIGHT_PATIENCE, check).await {
            Ok(checked) => checked,
            Err(_) => Ok(()),
        }
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
        if let Some(existing) = self.get(id) {
            return same_type_or_conflict(existing, &record);
        }
        // Admission and insertion under one lock, so two racing conflicting requests cannot
        // both get in; the entry is removed again if the journal refuses it.
        {
            let mut ops = self.shared.lock();
            if ops.get(&id).is_some() {
                // Submitted under the same id by a racing call since the check above.
                drop(ops);
                return match self.get(id) {
                    Some(existing) => same_type_or_conflict(existing, &record),
                    None => Err(SubmitError::Conflict {
                        id,
                        message: format!("operation {id} was submitted twice at once"),
                        record: Box::new(record),
                    }),
                };
            }
            // Production readiness: the bounded queue, checked before anything is journaled.
            let pending = ops.count(State::Pending);
            if pending >= self.shared.config.max_pending {
                crate::metrics::global().queue_full();
                return Err(SubmitError::QueueFull { pending });
            }
            admission::admit(&record.request, &self.shared.config.operations, &*ops)?;
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
        self.shared.lock().count(State::Pending)
    }

    /// Operations waiting or running.
    pub fn unfinished(&self) -> usize {
        let ops = self.shared.lock();
        ops.count(State::Pending) + ops.count(State::Running)
    }

    /// Whether record `id` may still change (it exists and is not finished and frozen).
    pub fn is_live(&self, id: Uuid) -> bool {
        matches!(self.shared.lock().get(&id), Some(Found::Live(_)))
    }

    /// One record. A finished one is read back from the journal (the engine keeps finished
    /// records as their API JSON only); the API uses [`Engine::shown`].
    pub fn get(&self, id: Uuid) -> Option<OperationRecord> {
        self.get_revised(id).map(|r| r.value)
    }

    /// Matching records, newest first (creation time, then submission order). Finished ones are
    /// read back from the journal, as in [`Engine::get`]; the API uses [`Engine::list_shown`].
    pub fn list(&self, filter: &Filter) -> Vec<OperationRecord> {
        self.list_revisions(filter)
            .into_iter()
            .filter_map(|r| self.get(r.value))
            .collect()
    }

    /// The ids and revisions of the matching records, newest first: enough to reuse anything
    /// made from a record that has not changed since.
    pub fn list_revisions(&self, filter: &Filter) -> Vec<Revised<Uuid>> {
        self.shared
            .lock()
            .newest_first(|t, s| filter.wants(t, s))
            .map(|found| match found {
                Found::Live(e) => Revised {
                    revision: e.revision(),
                    value: e.record().id,
                },
                Found::Frozen(id, f) => Revised {
                    revision: f.revision(),
                    value: id,
                },
            })
            .collect()
    }

    /// A record with its revision (a finished one read back from the journal).
    pub fn get_revised(&self, id: Uuid) -> Option<Revised<OperationRecord>> {
        let revision = match self.shared.lock().get(&id)? {
            Found::Live(e) => {
                return Some(Revised {
                    revision: e.revision(),
                    value: e.record().clone(),
                })
            }
            Found::Frozen(_, f) => f.revision(),
        };
        match self.shared.journal.get(id) {
            Ok(record) => record.map(|value| Revised { revision, value }),
            Err(e) => {
                tracing::error!(%id, error = %e, "cannot read a finished operation back from the journal");
                None
            }
        }
    }

    /// What the API shows of record `id`: a finished record's JSON, or a live record.
    pub fn shown(&self, id: Uuid) -> Option<Shown> {
        match self.shared.lock().get(&id)? {
            Found::Frozen(_, f) => {
                if let Some(json) = f.json() {
                    return Some(Shown::Finished(json.clone()));
                }
            }
            Found::Live(e) => {
                return Some(Shown::Live(Revised {
                    revision: e.revision(),
                    value: e.record().clone(),
                }))
            }
        }
        self.shared.render(id).map(Shown::Finished)
    }

    /// The records `filter` selects, newest first, as [`Listed`], in pieces of at most
    /// [`LIST_PIECE`]; walks only the selected types and states.
    pub fn list_shown(&self, filter: &Filter) -> Vec<Vec<Listed>> {
        if let Some(pieces) = self.collect_listed(filter, None) {
            return pieces;
        }
        // Loaded at start and not made yet: all made now (or waited for, when the pass started
        // at start is under way), in batches, outside the table's lock. This blocks the caller
        // for as long as that pass takes, once, right after a start.
        self.shared.render_finished();
        let mut unrendered = Vec::new();
        let Some(mut pieces) = self.collect_listed(filter, Some(&mut unrendered)) else {
            return Vec::new();
        };
        if unrendered.is_empty() {
            return pieces;
        }
        // The pass could not read them (the journal failed): each one read on its own.
        for (piece, at, id) in unrendered {
            if let Some(json) = self.shared.json_of(id) {
                pieces[piece][at] = Listed::Finished(json);
            }
        }
        for piece in &mut pieces {
            piece.retain(|item| !matches!(item, Listed::Finished(json) if json.is_empty()));
        }
        pieces
    }

    /// The selected records in pieces, under the table's lock. A record whose JSON is not made
    /// yet is noted in `unrendered` (piece, place, id) with an empty placeholder; without
    /// `unrendered`, meeting one ends the walk with `None`.
    fn collect_listed(
        &self,
        filter: &Filter,
        mut unrendered: Option<&mut Vec<(usize, usize, Uuid)>>,
    ) -> Option<Vec<Vec<Listed>>> {
        let table = self.shared.lock();
        let mut pieces: Vec<Vec<Listed>> = Vec::new();
        for found in table.newest_first(|t, s| filter.wants(t, s)) {
            if pieces.last().is_none_or(|piece| piece.len() == LIST_PIECE) {
                pieces.push(Vec::new());
            }
            let at = (pieces.len() - 1, pieces[pieces.len() - 1].len());
            let item = match found {
                Found::Frozen(id, f) => match f.json() {
                    Some(json) => Listed::Finished(json.clone()),
                    None => {
                        unrendered.as_mut()?.push((at.0, at.1, id));
                        Listed::Finished(Bytes::new())
                    }
                },
                Found::Live(e) => Listed::Live(Revised {
                    revision: e.revision(),
                    value: e.record().id,
                }),
            };
            pieces[at.0].push(item);
        }
        Some(pieces)
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
        for ((type_name, state), n) in ops.counts() {
            match state {
                State::Pending => figures.pending += n as u64,
                State::Running => figures.running += n as u64,
                _ => {}
            }
            *counts.entry((type_name, state.as_str())).or_default() += n as u64;
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
            Some(Err(TransitionError::Finished)) => {
                return Err(match self.shared.journal.get(id) {
                    Ok(Some(record)) => CancelError::Finished(Box::new(record)),
                    Ok(None) => CancelError::NotFound(id),
                    Err(e) => CancelError::Journal(e),
                })
            }
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
    /// operations' tasks are stopped: those that resume at the next start stay RUNNING, others
    /// not inside a node call go back to PENDING for the next start, those inside one stay
    /// RUNNING (FAILED at the next start).
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

    /// After the grace period, with the operations' tasks stopped: a RUNNING operation that
    /// resumes (`Operation::resumable`, resuming on) keeps RUNNING and carries on at the next
    /// start with what it kept; another that has no node call in flight has changed nothing yet
    /// that cannot be redone, so it goes back to PENDING in the journal and runs at the next
    /// start; one with a call in flight keeps RUNNING and becomes FAILED at the next start (its
    /// outcome is unknown).
    async fn requeue_unstarted_work(&self, grace: Duration) {
        let snapshots: Vec<(OperationRecord, bool)> = {
            let mut ops = self.shared.lock();
            let running = ops.ids_in(State::Running);
            running
                .iter()
                .filter_map(|id| {
                    match ops.modify(id, |entry| {
                        // A task still finishing its last poll cannot start a call after this.
                        let in_flight = entry.cancel.request().is_some();
                        // One that resumes stays RUNNING: the next start carries it on in the
                        // same record, with what it kept.
                        let resumes = self.shared.settings.resume
                            && entry.record().request.operation().resumable();
                        if !in_flight && !resumes {
                            let record = entry.record_mut();
                            record.state = State::Pending;
                            record.start_ms = None;
                            record.progress = 0.0;
                            record.version += 1;
                        }
                        (entry.record().clone(), in_flight)
                    }) {
                        table::Access::Live(snapshot) => Some(snapshot),
                        _ => None,
                    }
                })
                .collect()
        };
        for (record, in_flight) in snapshots {
            if record.state == State::Running && !in_flight {
                tracing::info!(id = %record.id, "operation stopped mid-way; it resumes at the next start");
            } else if in_flight {
                tracing::warn!(id = %record.id, "operation still in a node call after {grace:?}; it will be FAILED at the next start");
            } else if let Err(e) = self.shared.journal.put(&record).await {
                tracing::error!(id = %record.id, error = %e, "cannot journal an operation back to PENDING");
            } else {
                tracing::info!(id = %record.id, "operation stopped before its node call; PENDING again for the next start");
            }
        }
    }
}

/// A second submission under an existing id: the existing record when the type is the same
/// (nothing new runs), else a conflict naming both types.
fn same_type_or_conflict(
    existing: OperationRecord,
    record: &OperationRecord,
) -> Result<(OperationRecord, bool), SubmitError> {
    if existing.type_name() != record.type_name() {
        return Err(SubmitError::Conflict {
            id: existing.id,
            message: format!(
                "operation {} exists already and is a {}, not a {}",
                existing.id,
                existing.type_name(),
                record.type_name()
            ),
            record: Box::new(existing),
        });
    }
    Ok((existing, false))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    /// A journal of many batches (two rows unreadable) opens as it was: every finished record is
    /// shown as its journaled record would be (whether its JSON was made after start or on first
    /// use), filters and figures count every readable row, and new submissions number after the
    /// last one.
    #[tokio::test]
    async fn a_large_journal_reopens_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, records, corrupt) = journal_of_finished(dir.path()).await;
        let fake = Arc::new(cassandra::fake::FakeServer::cassandra("4.1.0"));

        let node = NodeHandle::with_server(fake, Duration::from_secs(5));
        let engine = Engine::start(journal, node, EngineConfig::default())
            .await
            .unwrap();
        assert!(engine.shown(corrupt).is_none());
        for record in &records {
            match engine.shown(record.id) {
                Some(Shown::Finished(json)) => assert_eq!(&json[..], &record.to_api_bytes()[..]),
                other => panic!("{other:?}"),
            }
        }
        let drains = engine.list_shown(&Filter {
            types: vec!["drain".into()],
            states: vec![],
        });
        assert_eq!(drains.concat().len(), 15);
        let pieces = engine.list_shown(&Filter::default());
        assert_eq!(
            pieces.iter().map(Vec::len).collect::<Vec<_>>(),
            [LIST_PIECE, 1500 - LIST_PIECE]
        );
        let all = engine.list_revisions(&Filter::default());
        assert_eq!(all.len(), 1500);
        let newest: Vec<Uuid> = all.iter().take(3).map(|r| r.value).collect();
        let expected: Vec<Uuid> = records.iter().rev().take(3).map(|r| r.id).collect();
        assert_eq!(newest, expected);
        let failed = engine
            .figures()
            .by_type_state
            .iter()
            .filter(|(_, s, _)| *s == "FAILED")
            .map(|(_, _, n)| n)
            .sum::<u64>();
        assert_eq!(failed, 500);
        let request = Request::from_json(
            &json!({"type": "flush", "keyspace": "new"}),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(engine.submit(request).await.unwrap().seq, 1500);
        engine.halt();
    }

    /// A journal of 1 500 finished records (a drain in every 100, the rest flushes; three final
    /// states in turn) in several batches of the start's pass, and two unreadable rows: one
    /// whose id is not one, one placed at start and dropped once its JSON cannot be made (its
    /// id is returned).
    async fn journal_of_finished(dir: &std::path::Path) -> (Journal, Vec<OperationRecord>, Uuid) {
        let journal = Journal::open(dir).unwrap();
        let states = [State::Completed, State::Failed, State::Cancelled];
        let mut records = Vec::new();
        for seq in 0..1500u64 {
            let body = if seq % 100 == 7 {
                json!({"type": "drain"})
            } else {
                json!({"type": "flush", "keyspace": format!("k{seq}")})
            };
            let request = Request::from_json(&body, &Default::default()).unwrap();
            let mut record = OperationRecord::new(Uuid::new_v4(), seq, request, seq as i64 / 4);
            record.state = states[seq as usize % 3];
            record.completion_ms = Some(now_ms());
            journal.put(&record).await.unwrap();
            records.push(record);
        }
        journal.put_raw_for_tests("not-an-id", 750, "{oops");
        // Placed at start like any finished row, dropped once its JSON cannot be made.
        let corrupt = Uuid::new_v4();
        journal.put_raw_for_tests(&corrupt.to_string(), 751, "{oops");
        (journal, records, corrupt)
    }

    /// A full list sent right after a start (it waits for the JSON of the loaded records to be
    /// made, several records to a buffer) shows every readable record exactly as its journaled
    /// record would be, newest first, in pieces of at most `LIST_PIECE`.
    #[tokio::test]
    async fn a_list_right_after_a_start_shows_every_record_as_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, records, _) = journal_of_finished(dir.path()).await;
        let fake = Arc::new(cassandra::fake::FakeServer::cassandra("4.1.0"));
        let node = NodeHandle::with_server(fake, Duration::from_secs(5));
        let engine = Engine::start(journal, node, EngineConfig::default())
            .await
            .unwrap();
        let pieces = engine.list_shown(&Filter::default());
        assert!(pieces.iter().all(|p| p.len() <= LIST_PIECE));
        let listed: Vec<Vec<u8>> = pieces
            .into_iter()
            .flatten()
            .map(|item| match item {
                Listed::Finished(json) => json.to_vec(),
                other => panic!("{other:?}"),
            })
            .collect();
        let expected: Vec<Vec<u8>> = records.iter().rev().map(|r| r.to_api_bytes()).collect();
        assert_eq!(listed.len(), expected.len());
        for (at, (got, want)) in listed.iter().zip(&expected).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want),
                "record {at} from the newest"
            );
        }
        engine.halt();
    }
}
