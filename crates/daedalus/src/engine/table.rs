//! The in-memory table of operation records: found by id, walked newest first without sorting,
//! selected by type and state through an index, unfinished ones found by conflict key, each
//! with a revision that changes whenever the record does.
//!
//! Owns the record storage and every index over it, and keeps them consistent: every change of
//! an unfinished record goes through [`Table::modify`], which moves the record between indexes
//! when its state changes, and `Entry::record_mut` bumps the revision (callers that cache
//! anything made from a record compare it). A finished record whose final state the journal has
//! is kept frozen: its API JSON and the few fields the indexes and expiry need, not the record.
//! It must not decide state transitions, parse request parameters or do I/O (the engine's).

use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use uuid::Uuid;

use crate::operations::Cancellation;
use crate::record::{OperationRecord, State};

/// Position in the list: creation time, then submission order (`seq`), then the id so that two
/// keys are never equal. Neither `creation_ms` nor `seq` changes after a record is created.
type OrderKey = (i64, u64, Uuid);

fn order_key(record: &OperationRecord) -> OrderKey {
    (record.creation_ms, record.seq, record.id)
}

/// Revisions are unique across every record and the whole process, so a record removed and
/// inserted again never repeats one.
fn next_revision() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// One unfinished operation (or one whose final state the journal does not have yet): its
/// record, its cancellation and its revision.
pub(crate) struct Entry {
    record: OperationRecord,
    pub(super) cancel: Arc<Cancellation>,
    /// Bumped by every `record_mut`.
    revision: u64,
    /// `Request::duplicate_key`, made once when the record enters the table.
    duplicate_key: Option<String>,
    exclusive: bool,
    /// A RUNNING record left by a stop of the sidecar and queued again: what its next run is.
    pub(super) interrupted: Option<Interrupted>,
}

/// What becomes of a run a stop of the sidecar interrupted (decided at start, by the engine).
#[derive(Debug, Clone)]
pub(crate) enum Interrupted {
    /// It runs again, in the same record, still RUNNING.
    Resume,
    /// It clears what it left (`Operation::clean_up`), then ends FAILED with this cause.
    WindUp { message: String },
}

impl Entry {
    pub(super) fn record(&self) -> &OperationRecord {
        &self.record
    }

    /// The record, to change it; the revision changes with it. Only through [`Table::modify`],
    /// so that the indexes follow a change of state.
    pub(super) fn record_mut(&mut self) -> &mut OperationRecord {
        self.revision = next_revision();
        &mut self.record
    }

    /// Changes whenever the record does (in memory, progress included).
    pub(super) fn revision(&self) -> u64 {
        self.revision
    }
}

/// A finished operation the journal has in its final state: what the API shows, made once, and
/// what ordering, filters and expiry need. It never changes again.
///
/// Kept compact (one is kept per retained record): the type as its place in the table's list
/// of type names, the completion time without an `Option` tag.
pub(crate) struct Frozen {
    json: Bytes,
    /// With the id (the table's key), the record's `OrderKey`.
    creation_ms: i64,
    seq: u64,
    /// [`NOT_COMPLETED`] when the record has no completion time.
    completion_ms: i64,
    revision: u64,
    type_index: u16,
    state: State,
}

/// `Frozen::completion_ms` of a record without a completion time.
const NOT_COMPLETED: i64 = i64::MIN;

impl Frozen {
    /// The record's API JSON (`OperationRecord::to_api_bytes`); `None` while it has not been
    /// made yet (a record loaded at start, before the journal row was read).
    pub(super) fn json(&self) -> Option<&Bytes> {
        (!self.json.is_empty()).then_some(&self.json)
    }

    pub(super) fn revision(&self) -> u64 {
        self.revision
    }
}

enum Slot {
    Live(Box<Entry>),
    Frozen(Frozen),
}

/// A record of the table as it is kept.
pub(crate) enum Found<'a> {
    Live(&'a Entry),
    Frozen(Uuid, &'a Frozen),
}

/// What [`Table::modify`] found under an id.
pub(crate) enum Access<T> {
    Missing,
    /// Finished and frozen: it does not change any more.
    Frozen,
    Live(T),
}

/// All records the engine knows, by id, and by type and state in creation order.
#[derive(Default)]
pub(crate) struct Table {
    slots: HashMap<Uuid, Slot>,
    /// The type names frozen records refer to by their place in this list.
    type_names: Vec<&'static str>,
    by_type_state: HashMap<(&'static str, State), BTreeSet<OrderKey>>,
    /// Unfinished records with a duplicate key (`Request::duplicate_key`).
    duplicates: HashMap<String, BTreeSet<OrderKey>>,
    /// Unfinished exclusive records (drain, decommission, restart).
    exclusive: BTreeSet<OrderKey>,
}

impl Table {
    /// Makes room for `additional` more records at once. A table grown one record at a time
    /// frees each smaller table on the way; with glibc's malloc, freeing such a large block
    /// raises the size below which memory is taken from (and kept in) the heap, so the process
    /// would keep megabytes it no longer uses.
    pub(super) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
    }

    /// Adds an unfinished record (replacing one with the same id) with fresh cancel flags.
    pub(super) fn insert(&mut self, record: OperationRecord) {
        self.remove(&record.id);
        let key = order_key(&record);
        let entry = Entry {
            duplicate_key: record.request.duplicate_key(),
            exclusive: record.request.is_exclusive(),
            cancel: Arc::new(Cancellation::default()),
            revision: next_revision(),
            record,
            interrupted: None,
        };
        self.index_state(key, entry.record.type_name(), entry.record.state);
        if !entry.record.state.is_finished() {
            self.index_unfinished(key, entry.duplicate_key.as_deref(), entry.exclusive);
        }
        self.slots.insert(key.2, Slot::Live(Box::new(entry)));
    }

    /// Adds a finished record the journal has in its final state, as its API JSON.
    pub(super) fn insert_frozen(&mut self, record: &OperationRecord, json: Bytes) {
        self.remove(&record.id);
        self.index_state(order_key(record), record.type_name(), record.state);
        let frozen = Frozen {
            json,
            creation_ms: record.creation_ms,
            seq: record.seq,
            type_index: self.type_index(record.type_name()),
            state: record.state,
            completion_ms: record.completion_ms.unwrap_or(NOT_COMPLETED),
            revision: next_revision(),
        };
        self.slots.insert(record.id, Slot::Frozen(frozen));
    }

    /// Adds a finished record the journal has, before its JSON is made (`set_json`): what the
    /// indexes and expiry need only.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn insert_unrendered(
        &mut self,
        id: Uuid,
        seq: u64,
        creation_ms: i64,
        completion_ms: Option<i64>,
        type_name: &'static str,
        state: State,
    ) {
        self.remove(&id);
        self.index_state((creation_ms, seq, id), type_name, state);
        let frozen = Frozen {
            // Empty: not made yet (a record's JSON is never empty).
            json: Bytes::new(),
            creation_ms,
            seq,
            completion_ms: completion_ms.unwrap_or(NOT_COMPLETED),
            revision: next_revision(),
            type_index: self.type_index(type_name),
            state,
        };
        self.slots.insert(id, Slot::Frozen(frozen));
    }

    /// Gives a frozen record whose JSON was not made yet its JSON.
    pub(super) fn set_json(&mut self, id: &Uuid, json: Bytes) {
        if let Some(Slot::Frozen(frozen)) = self.slots.get_mut(id) {
            if frozen.json.is_empty() {
                frozen.json = json;
            }
        }
    }

    /// Replaces a finished live record by its frozen form, unless it changed since `revision`
    /// (its JSON would be stale) or is not finished. `json` is the record's API JSON at
    /// `revision`.
    pub(super) fn freeze(&mut self, id: &Uuid, revision: u64, json: Bytes) {
        let Some(Slot::Live(entry)) = self.slots.get(id) else {
            return;
        };
        if entry.revision != revision || !entry.record.state.is_finished() {
            return;
        }
        let (creation_ms, seq, state) = (
            entry.record.creation_ms,
            entry.record.seq,
            entry.record.state,
        );
        let completion_ms = entry.record.completion_ms.unwrap_or(NOT_COMPLETED);
        let type_index = self.type_index(entry.record.type_name());
        let frozen = Frozen {
            json,
            creation_ms,
            seq,
            type_index,
            state,
            completion_ms,
            revision,
        };
        self.slots.insert(*id, Slot::Frozen(frozen));
    }

    pub(super) fn remove(&mut self, id: &Uuid) {
        let Some(slot) = self.slots.remove(id) else {
            return;
        };
        let (key, type_name, state) = match &slot {
            Slot::Live(entry) => {
                let state = entry.record.state;
                let key = order_key(&entry.record);
                if !state.is_finished() {
                    self.unindex_unfinished(key, entry.duplicate_key.as_deref());
                }
                (key, entry.record.type_name(), state)
            }
            Slot::Frozen(frozen) => (
                (frozen.creation_ms, frozen.seq, *id),
                self.type_names[usize::from(frozen.type_index)],
                frozen.state,
            ),
        };
        self.unindex_state(key, type_name, state);
    }

    pub(super) fn get(&self, id: &Uuid) -> Option<Found<'_>> {
        self.slots.get(id).map(|slot| slot.found(*id))
    }

    /// The unfinished (or not yet frozen) record `id`.
    pub(super) fn live(&self, id: &Uuid) -> Option<&Entry> {
        match self.slots.get(id)? {
            Slot::Live(entry) => Some(entry),
            Slot::Frozen(_) => None,
        }
    }

    /// Changes a live entry through `change`; the indexes follow its state.
    pub(super) fn modify<T>(
        &mut self,
        id: &Uuid,
        change: impl FnOnce(&mut Entry) -> T,
    ) -> Access<T> {
        let entry = match self.slots.get_mut(id) {
            None => return Access::Missing,
            Some(Slot::Frozen(_)) => return Access::Frozen,
            Some(Slot::Live(entry)) => entry,
        };
        let before = entry.record.state;
        let out = change(entry);
        let after = entry.record.state;
        if before != after {
            let key = order_key(&entry.record);
            let type_name = entry.record.type_name();
            let duplicate_key = entry.duplicate_key.clone();
            let exclusive = entry.exclusive;
            self.unindex_state(key, type_name, before);
            self.index_state(key, type_name, after);
            match (before.is_finished(), after.is_finished()) {
                (false, true) => self.unindex_unfinished(key, duplicate_key.as_deref()),
                (true, false) => self.index_unfinished(key, duplicate_key.as_deref(), exclusive),
                _ => {}
            }
        }
        Access::Live(out)
    }

    /// Records in `state`, of any type.
    pub(super) fn ids_in(&self, state: State) -> Vec<Uuid> {
        self.by_type_state
            .iter()
            .filter(|((_, s), _)| *s == state)
            .flat_map(|(_, keys)| keys.iter().map(|k| k.2))
            .collect()
    }

    /// How many records are in `state`.
    pub(super) fn count(&self, state: State) -> usize {
        self.by_type_state
            .iter()
            .filter(|((_, s), _)| *s == state)
            .map(|(_, keys)| keys.len())
            .sum()
    }

    /// How many records there are of each type and state (only the pairs that have some).
    pub(super) fn counts(&self) -> impl Iterator<Item = ((&'static str, State), usize)> + '_ {
        self.by_type_state.iter().map(|(k, keys)| (*k, keys.len()))
    }

    /// The oldest unfinished exclusive record.
    pub(super) fn first_exclusive(&self) -> Option<&OperationRecord> {
        let key = self.exclusive.first()?;
        self.live(&key.2).map(Entry::record)
    }

    /// The oldest unfinished record with duplicate key `key`.
    pub(super) fn unfinished_with_key(&self, key: &str) -> Option<&OperationRecord> {
        let key = self.duplicates.get(key)?.first()?;
        self.live(&key.2).map(Entry::record)
    }

    /// The records `wanted(type, state)` selects, newest first: creation time, then submission
    /// order, both descending. Only the index sets that are selected are walked; several are
    /// merged as they are walked (each is one sorted run), so nothing the size of the selection
    /// is allocated.
    pub(super) fn newest_first(
        &self,
        wanted: impl Fn(&str, State) -> bool,
    ) -> impl Iterator<Item = Found<'_>> {
        let runs: Vec<_> = self
            .by_type_state
            .iter()
            .filter(|((t, s), _)| wanted(t, *s))
            .map(|(_, keys)| keys.iter().rev())
            .collect();
        NewestFirst::new(runs)
            .filter_map(|key| self.slots.get(&key.2).map(|slot| slot.found(key.2)))
    }

    /// Finished records that completed at or before `cutoff_ms`.
    pub(super) fn finished_before(&self, cutoff_ms: i64) -> Vec<Uuid> {
        self.slots
            .iter()
            .filter(|(_, slot)| match slot {
                Slot::Frozen(f) => f.completion_ms != NOT_COMPLETED && f.completion_ms <= cutoff_ms,
                Slot::Live(e) => {
                    e.record.state.is_finished()
                        && e.record.completion_ms.is_some_and(|c| c <= cutoff_ms)
                }
            })
            .map(|(id, _)| *id)
            .collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len()
    }

    /// `type_name`'s place in `type_names`, added when new. Type names are the operation
    /// registry's (a few dozen), so the place always fits.
    fn type_index(&mut self, type_name: &'static str) -> u16 {
        let at = match self.type_names.iter().position(|t| *t == type_name) {
            Some(at) => at,
            None => {
                self.type_names.push(type_name);
                self.type_names.len() - 1
            }
        };
        u16::try_from(at).unwrap_or(u16::MAX)
    }

    fn index_state(&mut self, key: OrderKey, type_name: &'static str, state: State) {
        self.by_type_state
            .entry((type_name, state))
            .or_default()
            .insert(key);
    }

    fn unindex_state(&mut self, key: OrderKey, type_name: &'static str, state: State) {
        if let Some(keys) = self.by_type_state.get_mut(&(type_name, state)) {
            keys.remove(&key);
            if keys.is_empty() {
                self.by_type_state.remove(&(type_name, state));
            }
        }
    }

    fn index_unfinished(&mut self, key: OrderKey, duplicate_key: Option<&str>, exclusive: bool) {
        if let Some(dup) = duplicate_key {
            self.duplicates
                .entry(dup.to_string())
                .or_default()
                .insert(key);
        }
        if exclusive {
            self.exclusive.insert(key);
        }
    }

    fn unindex_unfinished(&mut self, key: OrderKey, duplicate_key: Option<&str>) {
        if let Some(dup) = duplicate_key {
            if let Some(keys) = self.duplicates.get_mut(dup) {
                keys.remove(&key);
                if keys.is_empty() {
                    self.duplicates.remove(dup);
                }
            }
        }
        self.exclusive.remove(&key);
    }
}

/// Sorted runs of keys, each newest first, walked as one sequence newest first: the next key is
/// the greatest of the runs' heads, kept in a heap of one head per run.
struct NewestFirst<'a> {
    runs: Vec<std::iter::Rev<std::collections::btree_set::Iter<'a, OrderKey>>>,
    heads: BinaryHeap<(&'a OrderKey, usize)>,
}

impl<'a> NewestFirst<'a> {
    fn new(mut runs: Vec<std::iter::Rev<std::collections::btree_set::Iter<'a, OrderKey>>>) -> Self {
        let heads = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(run, keys)| keys.next().map(|key| (key, run)))
            .collect();
        NewestFirst { runs, heads }
    }
}

impl<'a> Iterator for NewestFirst<'a> {
    type Item = &'a OrderKey;

    fn next(&mut self) -> Option<&'a OrderKey> {
        // A key is in one run only (it ends with the record's id), so heads never tie.
        let (key, run) = self.heads.pop()?;
        if let Some(next) = self.runs[run].next() {
            self.heads.push((next, run));
        }
        Some(key)
    }
}

impl super::admission::Unfinished for Table {
    fn first_exclusive(&self) -> Option<&OperationRecord> {
        Table::first_exclusive(self)
    }

    fn unfinished_with_key(&self, key: &str) -> Option<&OperationRecord> {
        Table::unfinished_with_key(self, key)
    }
}

impl Slot {
    fn found(&self, id: Uuid) -> Found<'_> {
        match self {
            Slot::Live(entry) => Found::Live(entry),
            Slot::Frozen(frozen) => Found::Frozen(id, frozen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{Request, ValidationPolicy};
    use serde_json::json;

    fn request(body: serde_json::Value) -> Request {
        Request::from_json(&body, &ValidationPolicy::default()).unwrap()
    }

    fn record(seq: u64, creation_ms: i64) -> OperationRecord {
        let request = request(json!({"type": "flush", "keyspace": "ks"}));
        OperationRecord::new(Uuid::new_v4(), seq, request, creation_ms)
    }

    fn seqs<'a>(found: impl Iterator<Item = Found<'a>>) -> Vec<u64> {
        found
            .map(|f| match f {
                Found::Live(e) => e.record().seq,
                Found::Frozen(_, f) => f.seq,
            })
            .collect()
    }

    #[test]
    fn newest_first_is_the_order_a_sort_by_creation_then_seq_gives() {
        let mut table = Table::default();
        // Equal creation times (same millisecond), inserted out of order, one replaced.
        let records: Vec<OperationRecord> = [(0, 10), (3, 10), (1, 30), (2, 10), (5, 20), (4, 30)]
            .into_iter()
            .map(|(seq, ms)| record(seq, ms))
            .collect();
        for r in &records {
            table.insert(r.clone());
        }
        table.insert(records[2].clone());
        table.remove(&records[4].id);

        let mut expected: Vec<&OperationRecord> = records.iter().filter(|r| r.seq != 5).collect();
        expected.sort_by_key(|r| std::cmp::Reverse((r.creation_ms, r.seq)));
        let expected: Vec<u64> = expected.iter().map(|r| r.seq).collect();
        let walked = seqs(table.newest_first(|_, _| true));
        assert_eq!(walked, expected);
        assert_eq!(walked, vec![4, 1, 3, 2, 0]);
        assert_eq!(table.len(), 5);
    }

    /// One slot per retained record: what it costs beside the record's JSON.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_frozen_record_slot_is_at_most_88_bytes() {
        let size = std::mem::size_of::<(Uuid, Slot)>();
        assert!(size <= 88, "{size} bytes");
    }

    #[test]
    fn every_change_moves_the_revision() {
        let mut table = Table::default();
        let r = record(0, 1);
        let id = r.id;
        table.insert(r);
        let before = table.live(&id).unwrap().revision();
        table.modify(&id, |e| e.record_mut().state = State::Running);
        let after = table.live(&id).unwrap().revision();
        assert_ne!(before, after);
        assert_eq!(table.live(&id).unwrap().record().state, State::Running);
    }

    /// The indexes give what a scan of every record would give, through every kind of change.
    #[test]
    fn indexes_agree_with_a_scan() {
        let mut table = Table::default();
        let bodies = [
            json!({"type": "flush", "keyspace": "a"}),
            json!({"type": "cleanup", "keyspace": "a", "tables": ["x", "y"]}),
            json!({"type": "drain"}),
            json!({"type": "flush", "keyspace": "b"}),
        ];
        let mut ids = Vec::new();
        for (i, body) in bodies.iter().cycle().take(40).enumerate() {
            let r = OperationRecord::new(
                Uuid::new_v4(),
                i as u64,
                request(body.clone()),
                i as i64 / 3,
            );
            ids.push(r.id);
            table.insert(r);
        }
        // Some run, some finish (a few frozen), one goes back to PENDING, some are removed.
        for (i, id) in ids.iter().enumerate() {
            let state = State::ALL[i % 5];
            table.modify(id, |e| e.record_mut().state = state);
            if i % 7 == 0 {
                table.modify(id, |e| e.record_mut().state = State::Pending);
            }
            if i % 3 == 0 && state.is_finished() {
                let (revision, record) = {
                    let e = table.live(id).unwrap();
                    (e.revision(), e.record().clone())
                };
                table.freeze(id, revision, Bytes::from(record.to_api_bytes()));
            }
            if i % 11 == 5 {
                table.remove(id);
            }
        }
        let states: HashMap<Uuid, (&str, State)> = ids
            .iter()
            .filter_map(|id| match table.get(id)? {
                Found::Live(e) => Some((*id, (e.record().type_name(), e.record().state))),
                Found::Frozen(_, f) => {
                    Some((*id, (table.type_names[usize::from(f.type_index)], f.state)))
                }
            })
            .collect();
        assert_eq!(states.len(), table.len());
        for state in State::ALL {
            let scanned = states.values().filter(|(_, s)| *s == state).count();
            assert_eq!(table.count(state), scanned, "{state:?}");
            assert_eq!(table.ids_in(state).len(), scanned);
        }
        let wanted = |t: &str, s: State| t == "flush" && s == State::Failed;
        let selected: Vec<Uuid> = table
            .newest_first(wanted)
            .map(|f| match f {
                Found::Live(e) => e.record().id,
                Found::Frozen(id, _) => id,
            })
            .collect();
        let mut expected: Vec<Uuid> = ids
            .iter()
            .rev()
            .filter(|id| states.get(id).is_some_and(|(t, s)| wanted(t, *s)))
            .copied()
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(selected, std::mem::take(&mut expected));
        let unfinished: Vec<&Uuid> = ids
            .iter()
            .filter(|id| states.get(id).is_some_and(|(_, s)| !s.is_finished()))
            .collect();
        let drain = unfinished
            .iter()
            .find(|id| states[id].0 == "drain")
            .copied();
        assert_eq!(table.first_exclusive().map(|r| r.id).as_ref(), drain);
        let flush_a = unfinished
            .iter()
            .find(|id| {
                table.live(id).unwrap().record().request.fields()["keyspace"] == "a"
                    && states[id].0 == "flush"
            })
            .copied();
        let key = request(bodies[0].clone()).duplicate_key().unwrap();
        assert_eq!(
            table.unfinished_with_key(&key).map(|r| r.id).as_ref(),
            flush_a
        );
    }

    #[test]
    fn a_record_changed_since_its_json_was_made_is_not_frozen() {
        let mut table = Table::default();
        let r = record(0, 1);
        let id = r.id;
        table.insert(r);
        table.modify(&id, |e| e.record_mut().state = State::Completed);
        let stale = table.live(&id).unwrap().revision();
        table.modify(&id, |e| e.record_mut().progress = 1.0);
        table.freeze(&id, stale, Bytes::from_static(b"{}"));
        assert!(table.live(&id).is_some());
        let current = table.live(&id).unwrap().revision();
        table.freeze(&id, current, Bytes::from_static(b"{}"));
        assert!(table.live(&id).is_none());
        assert!(matches!(table.modify(&id, |_| ()), Access::Frozen));
        assert_eq!(table.count(State::Completed), 1);
    }
}
