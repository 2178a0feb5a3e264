//! The in-memory table of operation records: found by id, walked newest first without sorting,
//! and each record's API JSON kept serialized until the record next changes.
//!
//! Owns the order index and the serialized-JSON cache, and keeps both consistent with the
//! records: every change goes through `Entry::record_mut`, which drops the cached JSON. It must
//! not decide state transitions, filter by request parameters or do I/O (that is the engine's).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use uuid::Uuid;

use super::context::CancelState;
use crate::record::OperationRecord;

/// Position in the list: creation time, then submission order (`seq`), then the id so that two
/// keys are never equal. Neither `creation_ms` nor `seq` changes after a record is created.
type OrderKey = (i64, u64, Uuid);

fn order_key(record: &OperationRecord) -> OrderKey {
    (record.creation_ms, record.seq, record.id)
}

/// One operation: its record, its cancel flags and its API JSON as last serialized.
pub(crate) struct Entry {
    record: OperationRecord,
    pub(super) cancel: Arc<CancelState>,
    /// Where the record sits in `Table::order` (the key it was inserted with).
    key: OrderKey,
    /// Bumped by every `record_mut`, so JSON made from an older copy is never stored.
    revision: u64,
    json: Option<Bytes>,
}

impl Entry {
    pub(super) fn record(&self) -> &OperationRecord {
        &self.record
    }

    /// The record, to change it; its cached JSON is dropped.
    pub(super) fn record_mut(&mut self) -> &mut OperationRecord {
        self.revision += 1;
        self.json = None;
        &mut self.record
    }

    /// The cached JSON if the record has not changed since it was made; otherwise a copy of the
    /// record and the revision to hand back to `Table::store_json` with the fresh JSON.
    pub(super) fn json_or_copy(&self) -> Json {
        match &self.json {
            Some(bytes) => Json::Ready(bytes.clone()),
            None => Json::Stale {
                record: Box::new(self.record.clone()),
                revision: self.revision,
            },
        }
    }
}

/// A record's API JSON, or what is needed to make it outside the lock.
pub(super) enum Json {
    Ready(Bytes),
    Stale {
        record: Box<OperationRecord>,
        revision: u64,
    },
}

impl Json {
    #[cfg(test)]
    fn unwrap_stale(self) -> (OperationRecord, u64) {
        match self {
            Json::Stale { record, revision } => (*record, revision),
            Json::Ready(_) => panic!("expected no cached JSON"),
        }
    }
}

/// A record's API JSON (`OperationRecord::to_api_json`), as bytes.
pub(super) fn api_json_bytes(record: &OperationRecord) -> Bytes {
    // Serializing a `Value` cannot fail (its keys are strings); `null` is never expected.
    Bytes::from(serde_json::to_vec(&record.to_api_json()).unwrap_or_else(|_| b"null".to_vec()))
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
                cancel: Arc::new(CancelState::default()),
                key,
                revision: 0,
                json: None,
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

    /// Keeps JSON made outside the lock, unless the record changed since its copy was taken.
    pub(super) fn store_json(&mut self, id: &Uuid, revision: u64, json: Bytes) {
        if let Some(entry) = self.entries.get_mut(id) {
            if entry.revision == revision {
                entry.json = Some(json);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{OperationRequest, ValidationPolicy};
    use crate::record::State;
    use serde_json::json;

    fn record(seq: u64, creation_ms: i64) -> OperationRecord {
        let request = OperationRequest::from_json(
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
    fn cached_json_is_dropped_on_change_and_stale_json_is_not_stored() {
        let mut table = Table::default();
        let r = record(0, 1);
        let id = r.id;
        table.insert(r);

        let (copy, revision) = table.get(&id).unwrap().json_or_copy().unwrap_stale();
        table.store_json(&id, revision, api_json_bytes(&copy));
        let Json::Ready(cached) = table.get(&id).unwrap().json_or_copy() else {
            panic!("JSON of an unchanged record is kept");
        };
        assert_eq!(&cached[..], &api_json_bytes(&copy)[..]);

        // A change between taking the copy and storing its JSON: the old JSON must not stick.
        let (copy, revision) = {
            let entry = table.get_mut(&id).unwrap();
            entry.record_mut().state = State::Running;
            entry.json_or_copy().unwrap_stale()
        };
        table.get_mut(&id).unwrap().record_mut().state = State::Cancelled;
        table.store_json(&id, revision, api_json_bytes(&copy));
        let (now, _) = table.get(&id).unwrap().json_or_copy().unwrap_stale();
        assert_eq!(now.state, State::Cancelled);
        let json: serde_json::Value = serde_json::from_slice(&api_json_bytes(&now)).unwrap();
        assert_eq!(json["state"], "CANCELLED");
    }
}
