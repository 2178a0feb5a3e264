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

    /// Forgets what no longer needs keeping once there is clearly more than the unfinished
    /// records: entries of records that finished (the engine keeps their JSON) or expired.
    fn trim(&self, engine: &Engine) {
        const SLACK: usize = 64;
        let mut cache = self.lock();
        if cache.len() > SLACK && cache.len() > 2 * engine.unfinished() {
            cache.retain(|id, _| engine.is_live(*id));
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
                self.trim(engine);
                Some(bytes)
            }
        }
    }

    /// The JSON array of the records `filter` selects, newest first, as a body that is
    /// written out in chunks from the records' JSON (never copied into one buffer).
    pub fn list(&self, engine: &Engine, filter: &Filter) -> JsonArray {
        let mut live = 0;
        // Collected in place, piece by piece: each piece's allocation is reused for its parts,
        // and no allocation the size of the whole list is made (see `engine::LIST_PIECE`).
        let parts: Vec<Vec<Bytes>> = engine
            .list_shown(filter)
            .into_iter()
            .map(|piece| {
                piece
                    .into_iter()
                    .filter_map(|item| match item {
                        Listed::Finished(json) => Some(json),
                        Listed::Live(item) => {
                            live += 1;
                            // Changed, finished or expired since the list was taken: made now,
                            // or left out.
                            self.cached(&item.value, item.revision)
                                .or_else(|| self.one(engine, item.value))
                        }
                    })
                    .collect()
            })
            .collect();
        if live > 0 {
            self.trim(engine);
        }
        JsonArray::new(parts)
    }
}

/// Bytes written per frame of a [`JsonArray`].
const CHUNK: usize = 64 * 1024;

/// A response body: the JSON array of `parts` (each one JSON value), with its exact length (so
/// it is sent with `Content-Length`, as one buffer would be), written in frames of about
/// [`CHUNK`] bytes.
pub struct JsonArray {
    parts: std::iter::Flatten<std::vec::IntoIter<Vec<Bytes>>>,
    /// Bytes not yet written.
    remaining: u64,
    opened: bool,
    first: bool,
}

impl JsonArray {
    /// The array of the parts of every piece, in order.
    pub fn new(pieces: Vec<Vec<Bytes>>) -> JsonArray {
        let count: usize = pieces.iter().map(Vec::len).sum();
        let commas = count.saturating_sub(1);
        let remaining =
            pieces.iter().flatten().map(|p| p.len() as u64).sum::<u64>() + commas as u64 + 2;
        JsonArray {
            parts: pieces.into_iter().flatten(),
            remaining,
            opened: false,
            first: true,
        }
    }

    /// The whole array in one buffer (the cluster-wide list embeds it in its answer).
    pub fn collect(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk() {
            out.extend_from_slice(&chunk);
        }
        out
    }

    fn next_chunk(&mut self) -> Option<Bytes> {
        if self.remaining == 0 {
            return None;
        }
        let mut chunk = Vec::with_capacity(CHUNK.min(self.remaining as usize));
        if !self.opened {
            self.opened = true;
            chunk.push(b'[');
        }
        while chunk.len() < CHUNK {
            match self.parts.next() {
                Some(part) => {
                    if !self.first {
                        chunk.push(b',');
                    }
                    self.first = false;
                    chunk.extend_from_slice(&part);
                }
                None => {
                    chunk.push(b']');
                    break;
                }
            }
        }
        self.remaining -= chunk.len() as u64;
        Some(Bytes::from(chunk))
    }
}

impl http_body::Body for JsonArray {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(
            self.get_mut()
                .next_chunk()
                .map(|c| Ok(http_body::Frame::data(c))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    /// The array is exactly what joining the parts gives, its announced length included, for
    /// no part, one, empty pieces, and parts spanning several chunks and pieces.
    #[test]
    fn a_json_array_is_its_parts_joined() {
        let big = Bytes::from(format!("\"{}\"", "x".repeat(super::CHUNK + 10)));
        let cases: Vec<Vec<Vec<Bytes>>> = vec![
            vec![],
            vec![vec![]],
            vec![vec![Bytes::from_static(b"{}")]],
            vec![vec![], vec![Bytes::from_static(b"{}")], vec![]],
            vec![
                vec![Bytes::from_static(b"1"), big.clone()],
                vec![Bytes::from_static(b"2")],
                vec![big],
            ],
        ];
        for parts in cases {
            let expected = format!(
                "[{}]",
                parts
                    .iter()
                    .flatten()
                    .map(|p| std::str::from_utf8(p).unwrap())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let body = super::JsonArray::new(parts);
            let announced = http_body::Body::size_hint(&body).exact();
            assert_eq!(announced, Some(expected.len() as u64));
            assert_eq!(String::from_utf8(body.collect()).unwrap(), expected);
        }
    }

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
        let list = cache.list(&engine, &Filter::default()).collect();
        let listed: Value = serde_json::from_slice(&list).unwrap();
        assert_eq!(
            listed,
            json!([serde_json::from_slice::<Value>(&done).unwrap()])
        );
        assert!(cache.one(&engine, uuid::Uuid::new_v4()).is_none());
        engine.halt();
    }
}
