//! Records as the API sends them: an unfinished record's JSON serialized once per change and
//! reused by every `GET /operations` and `GET /operations/{id}` until the record changes again;
//! a finished record's JSON as the engine keeps it (made once, when it finished).
//!
//! Owns the cache of unfinished records' JSON, keyed by record id and the engine's revision of
//! the record (which changes with every change, progress included), and forgets an entry once
//! its record is finished. It must not change records or decide what a list contains (the
//! engine filters and orders).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use uuid::Uuid;

use crate::engine::{Engine, Filter, Listed, Shown};
use crate::record::OperationRecord;

/// Serialized unfinished records by id, each with the revision it was made from.
#[derive(Default)]
pub struct RecordJson {
    cache: Mutex<HashMap<Uuid, (u64, Bytes)>>,
}

/// A record's API JSON (`OperationRecord::to_api_json`), as bytes.
pub fn api_json_bytes(record: &OperationRecord) -> Bytes {
    Bytes::from(record.to_api_bytes())
}

impl RecordJson {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (u64, Bytes)>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self, id: &Uuid, revision: u64) -> Option<Bytes> {
        self.lock()
            .get(id)
            .filter(|(r, _)| *r == revision)
            .map(|(_, bytes)| bytes.clone())
    }

    fn keep(&self, id: Uuid, revision: u64, bytes: Bytes) {
        let mut cache = self.lock();
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
        match engine.shown(id)? {
            Shown::Finished(json) => {
                // The engine keeps a finished record's JSON: a copy here would be a second one.
                let mut cache = self.lock();
                if !cache.is_empty() {
                    cache.remove(&id);
                }
                Some(json)
            }
            Shown::Live(revised) => {
                if let Some(bytes) = self.cached(&id, revised.revision) {
                    return Some(bytes);
                }
                let bytes = api_json_bytes(&revised.value);
                self.keep(id, revised.revision, bytes.clone());
                Some(bytes)
            }
        }
    }

    /// The JSON array of the records `filter` selects, newest first.
    pub fn list(&self, engine: &Engine, filter: &Filter) -> Bytes {
        let listed = engine.list_shown(filter);
        let mut parts = Vec::with_capacity(listed.len());
        let mut finished = Vec::new();
        let mut live = std::collections::HashSet::new();
        for item in listed {
            match item {
                Listed::Finished { id, json } => {
                    finished.push(id);
                    parts.push(json);
                }
                Listed::Live(item) => {
                    live.insert(item.value);
                    match self.cached(&item.value, item.revision) {
                        Some(bytes) => parts.push(bytes),
                        // Changed, finished or expired since the list was taken: made now, or
                        // left out.
                        None => {
                            if let Some(bytes) = self.one(engine, item.value) {
                                parts.push(bytes);
                            }
                        }
                    }
                }
            }
        }
        let mut cache = self.lock();
        if filter.types.is_empty() && filter.states.is_empty() {
            // Every record was listed: keep only the unfinished ones (the others finished or
            // expired).
            if cache.len() > live.len() {
                cache.retain(|id, _| live.contains(id));
            }
        } else if !cache.is_empty() {
            for id in &finished {
                cache.remove(id);
            }
        }
        drop(cache);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{json, Value};

    use super::*;
    use crate::engine::EngineConfig;
    use crate::journal::Journal;
    use crate::node::NodeHandle;
    use crate::operations::Request;

    #[tokio::test]
    async fn json_is_reused_until_the_record_changes_and_never_served_stale() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(cassandra::fake::FakeServer::cassandra("4.1.0"));
        let node = NodeHandle::with_server(fake, Duration::from_secs(5));
        let engine = Engine::start(
            Journal::open(dir.path()).unwrap(),
            node,
            EngineConfig::default(),
        )
        .await
        .unwrap();
        let cache = RecordJson::default();
        let request = Request::from_json(
            &json!({"type": "flush", "keyspace": "ks"}),
            &Default::default(),
        )
        .unwrap();
        let id = engine.submit(request).await.unwrap().id;
        // The flush runs at once: whatever the cache held, the state reaches COMPLETED.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let done = loop {
            let bytes = cache.one(&engine, id).unwrap();
            let shown: Value = serde_json::from_slice(&bytes).unwrap();
            if shown["state"] == "COMPLETED" {
                break bytes;
            }
            assert!(tokio::time::Instant::now() < deadline, "stuck at {shown}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // Unchanged since: the very same bytes, for one record and in a list.
        let again = cache.one(&engine, id).unwrap();
        assert_eq!(again.as_ptr(), done.as_ptr());
        let list = cache.list(&engine, &Filter::default());
        let listed: Value = serde_json::from_slice(&list).unwrap();
        assert_eq!(
            listed,
            json!([serde_json::from_slice::<Value>(&done).unwrap()])
        );
        assert!(cache.one(&engine, uuid::Uuid::new_v4()).is_none());
        engine.halt();
    }
}
