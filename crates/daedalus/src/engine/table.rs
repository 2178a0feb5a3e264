//! The in-memory table of operation records: found by id, walked newest first without sorting,
//! each with a revision that changes whenever the record does.
//!
//! Owns the order index and the revisions, and keeps both consistent with the records: every
//! change goes through `Entry::record_mut`, which bumps the revision (callers that cache
//! anything made from a record compare it). It must not decide state transitions, filter by
//! request parameters or do I/O (that is the engine's).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::operations::Cancellation;
use crate::record::OperationRecord;

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

/// One operation: its record, its cancellation and its revision.
pub(crate) struct Entry {
    record: OperationRecord,
    pub(super) cancel: Arc<Cancellation>,
    /// Where the record sits in `Table::order` (the key it was inserted with).
    key: OrderKey,
    /// Bumped by every `record_mut`.
    revision: u64,
}

impl Entry {
    pub(super) fn record(&self) -> &OperationRecord {
        &self.record
    }

    /// The record, to change it; the revision changes with it.
    pub(super) fn record_mut(&mut self) -> &mut OperationRecord {
        self.revision = next_revision();
        &mut self.record
    }

    /// Changes whenever the record does (in memory, progress included).
    pub(super) fn revision(&self) -> u64 {
        self.revision
    }
}

/// All records the engine knows, by id and in creation order.
#[derive(Default)]
pub(crate) struct Table {
    entries: HashMap<Uuid, Entry>,
    order: BTreeSet<OrderKey>,
}

impl Table {
    /// Adds a record (replacing one with the same id) with fresh cancel flags.
    pub(super) fn insert(&mut self, record: OperationRecord) {
        self.remove(&record.id);
        let key = order_key(&record);
        self.order.insert(key);
        self.entries.insert(
            record.id,
            Entry {
                record,
                cancel: Arc::new(Cancellation::default()),
                key,
                revision: next_revision(),
            },
        );
    }

    pub(super) fn remove(&mut self, id: &Uuid) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.order.remove(&entry.key);
        Some(entry)
    }

    pub(super) fn get(&self, id: &Uuid) -> Option<&Entry> {
        self.entries.get(id)
    }

    pub(super) fn get_mut(&mut self, id: &Uuid) -> Option<&mut Entry> {
        self.entries.get_mut(id)
    }

    /// Every entry, in no particular order.
    pub(super) fn values(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Entry> {
        self.entries.values_mut()
    }

    /// Every entry, newest first: creation time, then submission order, both descending.
    pub(super) fn newest_first(&self) -> impl Iterator<Item = &Entry> {
        self.order
            .iter()
            .rev()
            .filter_map(|(_, _, id)| self.entries.get(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{Request, ValidationPolicy};
    use crate::record::State;
    use serde_json::json;

    fn record(seq: u64, creation_ms: i64) -> OperationRecord {
        let request = Request::from_json(
            &json!({"type": "flush", "keyspace": "ks"}),
            &ValidationPolicy::default(),
        )
        .unwrap();
        OperationRecord::new(Uuid::new_v4(), seq, request, creation_ms)
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
        let gone = table.remove(&records[4].id).unwrap();
        assert_eq!(gone.record().seq, 5);

        let mut expected: Vec<&OperationRecord> = records.iter().filter(|r| r.seq != 5).collect();
        expected.sort_by_key(|r| std::cmp::Reverse((r.creation_ms, r.seq)));
        let expected: Vec<u64> = expected.iter().map(|r| r.seq).collect();
        let walked: Vec<u64> = table.newest_first().map(|e| e.record().seq).collect();
        assert_eq!(walked, expected);
        assert_eq!(walked, vec![4, 1, 3, 2, 0]);
        assert_eq!(table.values().count(), 5);
    }

    #[test]
    fn every_change_moves_the_revision() {
        let mut table = Table::default();
        let r = record(0, 1);
        let id = r.id;
        table.insert(r);
        let before = table.get(&id).unwrap().revision();
        table.get_mut(&id).unwrap().record_mut().state = State::Running;
        let after = table.get(&id).unwrap().revision();
        assert_ne!(before, after);
        assert_eq!(table.get(&id).unwrap().record().state, State::Running);
    }
}
