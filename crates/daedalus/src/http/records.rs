//! Records as the API sends them: each record's JSON serialized once per change and reused by
//! every `GET /operations` and `GET /operations/{id}` until the record changes again.
//!
//! Owns the cache, keyed by record id and the engine's revision of the record (which changes
//! with every change, progress included). It must not change records or decide what a list
//! contains (the engine filters and orders).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use uuid::Uuid;

use crate::engine::{Engine, Filter};
use crate::record::OperationRecord;

/// Serialized records by id, each with the revision it was made from.
#[derive(Default)]
pub struct RecordJson {
    cache: Mutex<HashMap<Uuid, (u64, Bytes)>>,
}

/// A record's API JSON (`OperationRecord::to_api_json`), as bytes.
pub fn api_json_bytes(record: &OperationRecord) -> Bytes {
    // Serializing a `Value` cannot fail (its keys are strings); `null` is never expected.
    Bytes::from(serde_json::to_vec(&record.to_api_json()).unwrap_or_else(|_| b"null".to_vec()))
}

impl RecordJson {
    fn cached(&self, id: &Uuid, revision: u64) -> Option<Bytes> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(id)
            .filter(|(r, _)| *r == revision)
            .map(|(_, bytes)| bytes.clone())
    }

    fn keep(&self, id: Uuid, revision: u64, bytes: Bytes) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match cache.get(&id) {
            // A newer serialization raced ahead of this one: keep it.
            Some((r, _)) if *r > revision => {}
            _ => {
                cache.insert(id, (revision, bytes));
            }
        }
    }

    /// One record's JSON; `None` when the engine has no such record.
    pub fn one(&self, engine: &Engine, id: Uuid) -> Option<Bytes> {
        let revised = engine.get_revised(id)?;
        if let Some(bytes) = self.cached(&id, revised.revision) {
            return Some(bytes);
        }
        let bytes = api_json_bytes(&revised.value);
        self.keep(id, revised.revision, bytes.clone());
        Some(bytes)
    }

    /// The JSON array of the records `filter` selects, newest first.
    pub fn list(&self, engine: &Engine, filter: &Filter) -> Bytes {
        let wanted = engine.list_revisions(filter);
        let mut parts = Vec::with_capacity(wanted.len());
        for item in &wanted {
            let id = item.value;
            match self.cached(&id, item.revision) {
                Some(bytes) => parts.push(bytes),
                // Changed or expired since the list was taken: serialized now, or left out.
                None => {
                    if let Some(bytes) = self.one(engine, id) {
                        parts.push(bytes);
                    }
                }
            }
        }
        if filter.types.is_empty() && filter.states.is_empty() {
            // Every record was listed: forget the ones the engine no longer has (expired).
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() > wanted.len() {
                let live: std::collections::HashSet<Uuid> =
                    wanted.iter().map(|w| w.value).collect();
                cache.retain(|id, _| live.contains(id));
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
}
