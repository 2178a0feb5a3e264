//! The coordinator's durable plan: for one cluster-wide operation, the nodes in the order they
//! run (for a phased request, every phase's nodes, phase after phase), the sub-operation id each
//! node's sidecar gets (chosen before anything is sent), each step's state, and the facts all
//! steps share (a header: a cluster-wide backup's full tag). Kept in its own tables of the
//! journal's SQLite file, written through (`synchronous=FULL`) before the step is sent, so a
//! restarted coordinator finds every sub-operation it may have started.
//!
//! Owns the `cluster_steps` and `cluster_plans` tables and their reads and writes. It must not
//! talk to peers or decide what runs next.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("cluster plan store {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cluster plan store {}: row of {operation} has an unknown state {state:?}", path.display())]
    BadRow {
        path: PathBuf,
        operation: Uuid,
        state: String,
    },
    #[error("cluster plan store {}: the header of {operation} is not JSON", path.display())]
    BadHeader { path: PathBuf, operation: Uuid },
    #[error("cluster plan store task failed: {0}")]
    Task(String),
}

/// Where one node's step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    /// Not sent yet.
    Pending,
    /// Sent (or about to be: the mark is written first); its outcome comes from the peer.
    Sent,
    Completed,
    Failed,
    Cancelled,
    /// Never sent because the roll stopped first.
    NotRun,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "PENDING",
            StepState::Sent => "RUNNING",
            StepState::Completed => "COMPLETED",
            StepState::Failed => "FAILED",
            StepState::Cancelled => "CANCELLED",
            StepState::NotRun => "NOT_RUN",
        }
    }

    fn parse(text: &str) -> Option<StepState> {
        [
            StepState::Pending,
            StepState::Sent,
            StepState::Completed,
            StepState::Failed,
            StepState::Cancelled,
            StepState::NotRun,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, StepState::Pending | StepState::Sent)
    }
}

/// One node of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub position: u32,
    /// The endpoint as the node names it (`10.0.0.1` or `10.0.0.1:7000`).
    pub endpoint: String,
    /// Its address without port, where its sidecar is reached.
    pub ip: String,
    pub host_id: String,
    pub dc: String,
    pub rack: String,
    /// The id the node's sidecar gives its operation.
    pub sub_id: Uuid,
    pub state: StepState,
    pub error: Option<String>,
    /// The phase this step belongs to, for a request run phase by phase (a global restore);
    /// `None` for a roll, which has one step per node.
    pub phase: Option<String>,
}

/// A handle on the plan table. Cheap to clone; writes run on the blocking pool.
pub struct PlanStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for PlanStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanStore")
            .field("path", &self.path)
            .finish()
    }
}

impl PlanStore {
    /// Opens the table in the SQLite file at `path` (the journal's), creating it when missing.
    /// Adds a table and touches nothing else, so any journal opens.
    pub fn open(path: &Path) -> Result<PlanStore, PlanError> {
        let sql = |source| PlanError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS cluster_steps (
                 operation_id TEXT NOT NULL,
                 position     INTEGER NOT NULL,
                 endpoint     TEXT NOT NULL,
                 ip           TEXT NOT NULL,
                 host_id      TEXT NOT NULL,
                 dc           TEXT NOT NULL,
                 rack         TEXT NOT NULL,
                 sub_id       TEXT NOT NULL,
                 state        TEXT NOT NULL,
                 error        TEXT,
                 PRIMARY KEY (operation_id, position)
             );
             CREATE TABLE IF NOT EXISTS cluster_plans (
                 operation_id TEXT PRIMARY KEY,
                 header       TEXT NOT NULL
             );",
        )
        .map_err(sql)?;
        // Plans written before phased requests existed have no phase column: their rows read
        // back as roll steps.
        let has_phase: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('cluster_steps') WHERE name = 'phase'")
            .and_then(|mut stmt| stmt.exists([]))
            .map_err(sql)?;
        if !has_phase {
            conn.execute_batch("ALTER TABLE cluster_steps ADD COLUMN phase TEXT;")
                .map_err(sql)?;
        }
        Ok(PlanStore {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The plan of `operation`, in order; empty when none was written.
    pub async fn load(&self, operation: Uuid) -> Result<Vec<Step>, PlanError> {
        let path = self.path.clone();
        self.blocking(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT position, endpoint, ip, host_id, dc, rack, sub_id, state, error, phase
                 FROM cluster_steps WHERE operation_id = ?1 ORDER BY position",
            )?;
            let rows = stmt.query_map(params![operation.to_string()], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                ))
            })?;
            let mut steps = Vec::new();
            for row in rows {
                let (position, endpoint, ip, host_id, dc, rack, sub_id, state, error, phase) = row?;
                let bad = || PlanError::BadRow {
                    path: path.clone(),
                    operation,
                    state: state.clone(),
                };
                steps.push(Step {
                    position,
                    endpoint,
                    ip,
                    host_id,
                    dc,
                    rack,
                    sub_id: Uuid::parse_str(&sub_id).map_err(|_| bad())?,
                    state: StepState::parse(&state).ok_or_else(bad)?,
                    error,
                    phase,
                });
            }
            Ok(steps)
        })
        .await
    }

    /// Writes the whole plan in one transaction (all or nothing).
    pub async fn create(&self, operation: Uuid, steps: Vec<Step>) -> Result<(), PlanError> {
        self.create_with_header(operation, None, steps).await
    }

    /// Writes the whole plan and, when given, the facts every step shares (`header`: the
    /// full tag of a cluster-wide backup...) in one transaction, so a restarted coordinator
    /// sends the steps not yet sent exactly what it sent the others.
    pub async fn create_with_header(
        &self,
        operation: Uuid,
        header: Option<serde_json::Value>,
        steps: Vec<Step>,
    ) -> Result<(), PlanError> {
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            if let Some(header) = &header {
                tx.execute(
                    "INSERT INTO cluster_plans (operation_id, header) VALUES (?1, ?2)",
                    params![operation.to_string(), header.to_string()],
                )?;
            }
            for s in &steps {
                tx.execute(
                    "INSERT INTO cluster_steps
                     (operation_id, position, endpoint, ip, host_id, dc, rack, sub_id, state, error,
                      phase)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        operation.to_string(),
                        s.position,
                        s.endpoint,
                        s.ip,
                        s.host_id,
                        s.dc,
                        s.rack,
                        s.sub_id.to_string(),
                        s.state.as_str(),
                        s.error,
                        s.phase
                    ],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The header written with the plan of `operation`; `None` when it has none.
    pub async fn header(&self, operation: Uuid) -> Result<Option<serde_json::Value>, PlanError> {
        let path = self.path.clone();
        self.blocking(move |conn| {
            let text: Option<String> = conn
                .query_row(
                    "SELECT header FROM cluster_plans WHERE operation_id = ?1",
                    params![operation.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            match text {
                None => Ok(None),
                Some(text) => serde_json::from_str(&text).map(Some).map_err(|_| {
                    PlanErrorOrSql::Plan(PlanError::BadHeader {
                        path: path.clone(),
                        operation,
                    })
                }),
            }
        })
        .await
    }

    /// Records a step's new state (and why, for a failure).
    pub async fn set(
        &self,
        operation: Uuid,
        position: u32,
        state: StepState,
        error: Option<String>,
    ) -> Result<(), PlanError> {
        self.blocking(move |conn| {
            conn.execute(
                "UPDATE cluster_steps SET state = ?3, error = ?4
                 WHERE operation_id = ?1 AND position = ?2",
                params![operation.to_string(), position, state.as_str(), error],
            )?;
            Ok(())
        })
        .await
    }

    /// Forgets the plans of operations that no longer exist.
    pub async fn forget(&self, operations: Vec<Uuid>) -> Result<(), PlanError> {
        self.blocking(move |conn| {
            let tx = conn.transaction()?;
            for id in &operations {
                tx.execute(
                    "DELETE FROM cluster_steps WHERE operation_id = ?1",
                    params![id.to_string()],
                )?;
                tx.execute(
                    "DELETE FROM cluster_plans WHERE operation_id = ?1",
                    params![id.to_string()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, PlanError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, PlanErrorOrSql> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(|e| match e {
                PlanErrorOrSql::Sql(source) => PlanError::Sqlite { path, source },
                PlanErrorOrSql::Plan(e) => e,
            })
        })
        .await
        .map_err(|e| PlanError::Task(e.to_string()))?
    }
}

/// A failure inside a store closure: SQLite's, or a row this build cannot read.
enum PlanErrorOrSql {
    Sql(rusqlite::Error),
    Plan(PlanError),
}

impl From<rusqlite::Error> for PlanErrorOrSql {
    fn from(e: rusqlite::Error) -> Self {
        PlanErrorOrSql::Sql(e)
    }
}

impl From<PlanError> for PlanErrorOrSql {
    fn from(e: PlanError) -> Self {
        PlanErrorOrSql::Plan(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(position: u32) -> Step {
        Step {
            position,
            endpoint: format!("127.0.0.{}:7000", position + 2),
            ip: format!("127.0.0.{}", position + 2),
            host_id: Uuid::new_v4().to_string(),
            dc: "dc1".into(),
            rack: "r1".into(),
            sub_id: Uuid::new_v4(),
            state: StepState::Pending,
            error: None,
            phase: None,
        }
    }

    #[tokio::test]
    async fn a_plan_survives_a_reopen_with_its_ids_and_states() {
        let dir = tempfile::tempdir().unwrap();
        let journal = crate::journal::Journal::open(dir.path()).unwrap();
        let store = PlanStore::open(journal.path()).unwrap();
        let op = Uuid::new_v4();
        let steps = vec![step(0), step(1), step(2)];
        store.create(op, steps.clone()).await.unwrap();
        store
            .set(op, 1, StepState::Failed, Some("boom".into()))
            .await
            .unwrap();
        drop(store);

        let reopened = PlanStore::open(journal.path()).unwrap();
        let loaded = reopened.load(op).await.unwrap();
        assert_eq!(loaded.len(), 3);
        assert_eq!(loaded[0], steps[0]);
        assert_eq!(loaded[1].sub_id, steps[1].sub_id);
        assert_eq!(loaded[1].state, StepState::Failed);
        assert_eq!(loaded[1].error.as_deref(), Some("boom"));
        assert!(reopened.load(Uuid::new_v4()).await.unwrap().is_empty());
        // The journal still opens and works beside the new table.
        assert!(journal.load().unwrap().records.is_empty());
        assert_eq!(reopened.header(op).await.unwrap(), None);
        let with_header = Uuid::new_v4();
        let header = serde_json::json!({"fullTag": "s-1"});
        reopened
            .create_with_header(with_header, Some(header.clone()), vec![step(0)])
            .await
            .unwrap();
        assert_eq!(reopened.header(with_header).await.unwrap(), Some(header));
        reopened.forget(vec![op, with_header]).await.unwrap();
        assert!(reopened.load(op).await.unwrap().is_empty());
        assert_eq!(reopened.header(with_header).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_plan_written_before_phases_existed_reads_back_as_a_roll() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        let op = Uuid::new_v4();
        let sub = Uuid::new_v4();
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE cluster_steps (
                     operation_id TEXT NOT NULL, position INTEGER NOT NULL,
                     endpoint TEXT NOT NULL, ip TEXT NOT NULL, host_id TEXT NOT NULL,
                     dc TEXT NOT NULL, rack TEXT NOT NULL, sub_id TEXT NOT NULL,
                     state TEXT NOT NULL, error TEXT,
                     PRIMARY KEY (operation_id, position));",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO cluster_steps VALUES (?1, 0, '127.0.0.2:7000', '127.0.0.2', 'h',
                 'dc1', 'r1', ?2, 'RUNNING', NULL)",
                params![op.to_string(), sub.to_string()],
            )
            .unwrap();
        }
        let store = PlanStore::open(&path).unwrap();
        let loaded = store.load(op).await.unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].sub_id, sub);
        assert_eq!(loaded[0].state, StepState::Sent);
        assert_eq!(loaded[0].phase, None);
        let phased = Uuid::new_v4();
        let mut s = step(0);
        s.phase = Some("DOWNLOAD".into());
        store.create(phased, vec![s]).await.unwrap();
        drop(store);
        let reopened = PlanStore::open(&path).unwrap();
        assert_eq!(
            reopened.load(phased).await.unwrap()[0].phase.as_deref(),
            Some("DOWNLOAD")
        );
    }
}
