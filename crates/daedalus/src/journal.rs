//! The durable journal: every operation record, in an embedded SQLite database.
//!
//! Owns the schema, its version, and the three writes the engine needs (put, delete, load all).
//! WAL mode with `synchronous=FULL`: a commit returns only after the WAL is fsynced, so an
//! acknowledged record survives a crash of the process *and* of the machine; the cost is one fsync
//! per state change, which an operations API can afford. It must not decide states or talk HTTP.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::record::OperationRecord;

/// The schema this build writes. Bumped with a migration whenever the table changes.
pub const SCHEMA_VERSION: i64 = 1;

const FILE_NAME: &str = "journal.sqlite3";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("cannot create data directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("journal {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("journal {} has schema version {found}, newer than this build's {SCHEMA_VERSION}", path.display())]
    TooNew { path: PathBuf, found: i64 },
    #[error("cannot encode record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("journal task failed: {0}")]
    Task(String),
}

/// A cheap, cloneable handle on the journal. Writes run on the blocking pool.
#[derive(Clone)]
pub struct Journal {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

/// One row as `load_index_each` reads it.
#[derive(Debug)]
pub struct IndexRow {
    pub id: String,
    pub seq: u64,
    pub type_name: String,
    pub state: String,
    pub creation_ms: i64,
    pub completion_ms: Option<i64>,
    /// The record JSON, for PENDING and RUNNING rows only.
    pub record: Option<String>,
}

/// What `load` found: the records, and the rows it could not decode (reported, never fatal).
pub struct Loaded {
    pub records: Vec<OperationRecord>,
    pub unreadable: Vec<(String, String)>,
}

impl Journal {
    /// Opens (or creates) `DATA_DIR/journal.sqlite3`.
    pub fn open(data_dir: &Path) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(data_dir).map_err(|source| JournalError::CreateDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        let path = data_dir.join(FILE_NAME);
        let sql = |source| JournalError::Sqlite {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if found > SCHEMA_VERSION {
            return Err(JournalError::TooNew { path, found });
        }
        if found < 1 {
            conn.execute_batch(
                "BEGIN;
                 CREATE TABLE IF NOT EXISTS operations (
                     id            TEXT PRIMARY KEY,
                     seq           INTEGER NOT NULL,
                     version       INTEGER NOT NULL,
                     type          TEXT NOT NULL,
                     state         TEXT NOT NULL,
                     creation_ms   INTEGER NOT NULL,
                     completion_ms INTEGER,
                     record        TEXT NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS operations_seq ON operations (seq);
                 PRAGMA user_version = 1;
                 COMMIT;",
            )
            .map_err(sql)?;
        }
        Ok(Journal {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inserts or updates a record; a write older (lower `version`) than the stored row is a
    /// no-op, so concurrent writers can never move a record backwards.
    pub async fn put(&self, record: &OperationRecord) -> Result<(), JournalError> {
        let json = serde_json::to_string(record)?;
        let record = record.clone();
        self.blocking(move |conn| {
            conn.execute(
                "INSERT INTO operations (id, seq, version, type, state, creation_ms, completion_ms, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET
                     version = excluded.version, state = excluded.state,
                     completion_ms = excluded.completion_ms, record = excluded.record
                 WHERE excluded.version > operations.version",
                params![
                    record.id.to_string(),
                    record.seq as i64,
                    record.version as i64,
                    record.type_name(),
                    record.state.as_str(),
                    record.creation_ms,
                    record.completion_ms,
                    json
                ],
            )
            .map(|_| ())
        })
        .await
    }

    /// Removes records (expiry).
    pub async fn delete(&self, ids: Vec<Uuid>) -> Result<(), JournalError> {
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            for id in &ids {
                tx.execute(
                    "DELETE FROM operations WHERE id = ?1",
                    params![id.to_string()],
                )?;
            }
            tx.commit()
        })
        .await
    }

    /// Every stored record in submission order.
    pub fn load(&self) -> Result<Loaded, JournalError> {
        let mut loaded = Loaded {
            records: Vec::new(),
            unreadable: Vec::new(),
        };
        self.load_each(|row| match row {
            Ok(record) => loaded.records.push(record),
            Err(unreadable) => loaded.unreadable.push(unreadable),
        })?;
        Ok(loaded)
    }

    /// Every stored record in submission order, handed to `each` one at a time as it is read
    /// (a row that cannot be decoded as `Err((id, reason))`), so that loading never holds every
    /// record at once.
    pub fn load_each(
        &self,
        mut each: impl FnMut(Result<OperationRecord, (String, String)>),
    ) -> Result<(), JournalError> {
        self.load_rows(256, |rows| {
            for (id, json) in rows {
                each(Journal::decode(&json).map_err(|reason| (id, reason)));
            }
        })
    }

    /// Every stored row in submission order, undecoded (`(id, record JSON)`), in batches of at
    /// most `batch` rows: for a caller that decodes them on several threads (`decode`).
    pub fn load_rows(
        &self,
        batch: usize,
        mut each: impl FnMut(Vec<(String, String)>),
    ) -> Result<(), JournalError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let sql = |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut stmt = conn
            .prepare("SELECT id, record FROM operations ORDER BY seq")
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        let batch = batch.max(1);
        let mut pending = Vec::with_capacity(batch);
        while let Some(row) = rows.next().map_err(sql)? {
            pending.push((row.get(0).map_err(sql)?, row.get(1).map_err(sql)?));
            if pending.len() == batch {
                each(std::mem::replace(&mut pending, Vec::with_capacity(batch)));
            }
        }
        if !pending.is_empty() {
            each(pending);
        }
        Ok(())
    }

    /// Every stored row in submission order as [`IndexRow`]s: the columns that place a record,
    /// and the record itself only for unfinished ones (finished records are read later, with
    /// `finished_after`, so that a large journal opens without decoding them).
    pub fn load_index_each(&self, mut each: impl FnMut(IndexRow)) -> Result<(), JournalError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let sql = |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut stmt = conn
            .prepare(
                "SELECT id, seq, type, state, creation_ms, completion_ms,
                        CASE WHEN state IN ('PENDING', 'RUNNING') THEN record END
                 FROM operations ORDER BY seq",
            )
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            each(IndexRow {
                id: row.get(0).map_err(sql)?,
                seq: row.get::<_, i64>(1).map_err(sql)? as u64,
                type_name: row.get(2).map_err(sql)?,
                state: row.get(3).map_err(sql)?,
                creation_ms: row.get(4).map_err(sql)?,
                completion_ms: row.get(5).map_err(sql)?,
                record: row.get(6).map_err(sql)?,
            });
        }
        Ok(())
    }

    /// How many rows there are.
    pub fn row_count(&self) -> Result<usize, JournalError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT count(*) FROM operations", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(|source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// Up to `limit` finished rows with `seq` above `after`, in submission order, as
    /// `(id, seq, record JSON)`. The journal is free for writes between two calls.
    pub fn finished_after(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(String, u64, String)>, JournalError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let sql = |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, seq, record FROM operations
                 WHERE state IN ('COMPLETED', 'FAILED', 'CANCELLED') AND seq > ?1
                 ORDER BY seq LIMIT ?2",
            )
            .map_err(sql)?;
        let after = after.map_or(-1, |s| s as i64);
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    /// A row's record JSON as a record, or why it cannot be one.
    pub fn decode(json: &str) -> Result<OperationRecord, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// One stored record, straight from disk (tests and tools).
    pub fn get(&self, id: Uuid) -> Result<Option<OperationRecord>, JournalError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let sql = |source| JournalError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let json: Option<String> = conn
            .query_row(
                "SELECT record FROM operations WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        json.map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(JournalError::Encode)
    }

    /// Stores a row as given, decodable or not (tests of loading).
    #[cfg(test)]
    pub(crate) fn put_raw_for_tests(&self, id: &str, seq: i64, record: &str) {
        let conn = self.conn.lock().unwrap();
        conn.execute(
            "INSERT INTO operations VALUES (?1, ?2, 0, 'flush', 'COMPLETED', 0, 0, ?3)",
            params![id, seq, record],
        )
        .unwrap();
    }

    async fn blocking<F>(&self, f: F) -> Result<(), JournalError>
    where
        F: FnOnce(&mut Connection) -> Result<(), rusqlite::Error> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(|source| JournalError::Sqlite { path, source })
        })
        .await
        .map_err(|e| JournalError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::{ImportRequest, Request};
    use crate::record::State;

    fn record() -> OperationRecord {
        let request = Request::of(ImportRequest {
            keyspace: "ks".into(),
            table: "t".into(),
            source_dir: "/d".into(),
            keep_level: false,
            keep_repaired: false,
            no_verify: false,
            no_verify_tokens: false,
            no_invalidate_caches: false,
            quick: false,
            extended_verify: false,
            copy_data: true,
            table_path: None,
        });
        OperationRecord::new(Uuid::new_v4(), 7, request, 1_000)
    }

    #[tokio::test]
    async fn an_older_write_never_replaces_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let mut r = record();
        journal.put(&r).await.unwrap();
        let pending = r.clone();
        r.state = State::Running;
        r.version = 1;
        journal.put(&r).await.unwrap();
        journal.put(&pending).await.unwrap();
        assert_eq!(journal.get(r.id).unwrap().unwrap().state, State::Running);

        let reopened = Journal::open(dir.path()).unwrap();
        let loaded = reopened.load().unwrap();
        assert_eq!(loaded.records, vec![r.clone()]);
        reopened.delete(vec![r.id]).await.unwrap();
        assert!(reopened.get(r.id).unwrap().is_none());
    }

    #[tokio::test]
    async fn undecodable_rows_are_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        journal.put(&record()).await.unwrap();
        {
            let conn = journal.conn.lock().unwrap();
            conn.execute(
                "INSERT INTO operations VALUES ('x', 8, 0, 'import', 'PENDING', 0, NULL, '{oops')",
                [],
            )
            .unwrap();
        }
        let loaded = journal.load().unwrap();
        assert_eq!(loaded.records.len(), 1);
        assert_eq!(loaded.unreadable.len(), 1);
        assert_eq!(loaded.unreadable[0].0, "x");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Journal::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(FILE_NAME)).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        assert!(matches!(
            Journal::open(dir.path()),
            Err(JournalError::TooNew { .. })
        ));
    }
}
