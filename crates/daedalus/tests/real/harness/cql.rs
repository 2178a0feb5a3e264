//! CQL against a real node through the scylla driver (maintained by ScyllaDB, async on tokio,
//! compatible with Apache Cassandra): schema, rows in, rows out. The suite's checks are about rows.

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;

/// A session to one node (the driver discovers the others of its ring).
pub struct Cql {
    session: Session,
}

impl Cql {
    /// Connects to `HOST:PORT`, retrying while the node starts its native transport.
    pub async fn connect(address: &str) -> Cql {
        let mut last = None;
        for _ in 0..60 {
            match SessionBuilder::new().known_node(address).build().await {
                Ok(session) => return Cql { session },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        panic!("CQL to {address}: {last:?}");
    }

    /// Runs one statement at consistency ONE; panics naming it when it fails.
    pub async fn exec(&self, cql: &str) {
        self.exec_at(cql, Consistency::One).await;
    }

    /// Runs one statement at the given consistency.
    pub async fn exec_at(&self, cql: &str, consistency: Consistency) {
        let mut statement = Statement::new(cql);
        statement.set_consistency(consistency);
        self.session
            .query_unpaged(statement, ())
            .await
            .unwrap_or_else(|e| panic!("CQL `{cql}`: {e}"));
    }

    /// A keyspace replicated `factor` times in dc1 (the single node's and the cluster's first
    /// datacenter), and a table `t (id int PRIMARY KEY, v text)` in it.
    pub async fn create_table(&self, keyspace: &str, table: &str) {
        self.exec(&format!(
            "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = \
             {{'class': 'NetworkTopologyStrategy', 'dc1': 1}}"
        ))
        .await;
        self.exec(&format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.{table} (id int PRIMARY KEY, v text)"
        ))
        .await;
    }

    /// On the three-node ring: a keyspace every node holds every row of (two replicas in dc1,
    /// one in dc2), and a table `t (id int PRIMARY KEY, v text)` in it.
    pub async fn create_ring_table(&self, keyspace: &str, table: &str) {
        self.exec(&format!(
            "CREATE KEYSPACE {keyspace} WITH replication = \
             {{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}}"
        ))
        .await;
        self.exec(&format!(
            "CREATE TABLE {keyspace}.{table} (id int PRIMARY KEY, v text)"
        ))
        .await;
    }

    /// Writes rows `ids` as `(id, 'v<id>')`.
    pub async fn insert(&self, keyspace: &str, table: &str, ids: std::ops::Range<i32>) {
        self.insert_at(keyspace, table, ids, Consistency::One).await;
    }

    /// Writes rows `ids` as `(id, 'v<id>')` at the given consistency.
    pub async fn insert_at(
        &self,
        keyspace: &str,
        table: &str,
        ids: std::ops::Range<i32>,
        consistency: Consistency,
    ) {
        for id in ids {
            self.exec_at(
                &format!("INSERT INTO {keyspace}.{table} (id, v) VALUES ({id}, 'v{id}')"),
                consistency,
            )
            .await;
        }
    }

    /// Every `(id, v)` of `ks.table`, sorted by id, read at the given consistency.
    pub async fn rows_at(
        &self,
        keyspace: &str,
        table: &str,
        consistency: Consistency,
    ) -> Vec<(i32, String)> {
        let cql = format!("SELECT id, v FROM {keyspace}.{table}");
        let mut statement = Statement::new(cql.as_str());
        statement.set_consistency(consistency);
        let result = self
            .session
            .query_unpaged(statement, ())
            .await
            .unwrap_or_else(|e| panic!("CQL `{cql}`: {e}"))
            .into_rows_result()
            .unwrap_or_else(|e| panic!("CQL `{cql}` returned no rows: {e}"));
        let mut rows: Vec<(i32, String)> = result
            .rows::<(i32, String)>()
            .expect("rows of (int, text)")
            .map(|r| r.expect("a row of (int, text)"))
            .collect();
        rows.sort();
        rows
    }

    /// Every `(id, v)` of `ks.table` at consistency ONE.
    pub async fn rows(&self, keyspace: &str, table: &str) -> Vec<(i32, String)> {
        self.rows_at(keyspace, table, Consistency::One).await
    }

    /// The rows `insert` writes for `ids`.
    pub fn expected(ids: std::ops::Range<i32>) -> Vec<(i32, String)> {
        ids.map(|i| (i, format!("v{i}"))).collect()
    }

    /// The first column of every row of a query, as text.
    pub async fn texts(&self, cql: &str) -> Vec<String> {
        let result = self
            .session
            .query_unpaged(cql, ())
            .await
            .unwrap_or_else(|e| panic!("CQL `{cql}`: {e}"))
            .into_rows_result()
            .unwrap_or_else(|e| panic!("CQL `{cql}` returned no rows: {e}"));
        result
            .rows::<(String,)>()
            .expect("rows of text")
            .map(|r| r.expect("a text row").0)
            .collect()
    }
}
