//! Whether the ring is settled enough to change data on this node, as Esop's restore health
//! check asks it (fact sheet §3.6): this node's mode, the endpoints that are down, joining,
//! leaving or moving, and the schema versions the node sees (`StorageProxy.SchemaVersions`).
//!
//! Owns reading those attributes per version (3.x plain IPs, 4.0+ the `…WithPort` forms) and
//! the verdict ([`ClusterHealth::problems`]). It must not decide what a caller does with it.

use crate::error::NodeError;
use crate::mode::OperationMode;
use crate::names::STORAGE_PROXY;
use crate::node::Node;
use crate::values::expect_strings;

/// The key `StorageProxy.SchemaVersions` uses for endpoints that did not answer.
pub const UNREACHABLE_SCHEMA: &str = "UNREACHABLE";

/// What the node sees of the ring, for a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHealth {
    pub mode: OperationMode,
    pub unreachable: Vec<String>,
    pub joining: Vec<String>,
    pub leaving: Vec<String>,
    pub moving: Vec<String>,
    /// Schema version → endpoints, `UNREACHABLE` included, sorted by version.
    pub schema_versions: Vec<(String, Vec<String>)>,
}

impl ClusterHealth {
    /// Every reason the ring is not healthy, empty when it is: mode not NORMAL, an endpoint
    /// down, joining, leaving or moving, more than one schema version.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.mode != OperationMode::Normal {
            problems.push(format!(
                "the node is in mode {}, not NORMAL",
                self.mode.as_str()
            ));
        }
        for (what, list) in [
            ("down", &self.unreachable),
            ("joining", &self.joining),
            ("leaving", &self.leaving),
            ("moving", &self.moving),
        ] {
            if !list.is_empty() {
                problems.push(format!("nodes {what}: {}", list.join(", ")));
            }
        }
        let versions: Vec<&(String, Vec<String>)> = self
            .schema_versions
            .iter()
            .filter(|(v, _)| v != UNREACHABLE_SCHEMA)
            .collect();
        if versions.len() > 1 {
            let shown: Vec<String> = versions
                .iter()
                .map(|(v, eps)| format!("{v} on {}", eps.join(", ")))
                .collect();
            problems.push(format!(
                "the cluster has {} schema versions: {}",
                versions.len(),
                shown.join("; ")
            ));
        }
        problems
    }
}

impl Node {
    /// `StorageProxy.SchemaVersions` (3.x) or `SchemaVersionsWithPort` (4.0+): schema version →
    /// endpoints, sorted by version.
    pub async fn schema_versions(&self) -> Result<Vec<(String, Vec<String>)>, NodeError> {
        let attribute = if self.version().has_port_aware_endpoints() {
            "SchemaVersionsWithPort"
        } else {
            "SchemaVersions"
        };
        let what = format!("StorageProxy.{attribute}");
        let value = self
            .server()
            .get_attribute(STORAGE_PROXY, attribute)
            .await?;
        let Some(entries) = value.as_entries() else {
            return Err(NodeError::protocol(format!(
                "{what}: expected a Map, got {value:?}"
            )));
        };
        let mut versions = Vec::with_capacity(entries.len());
        for (key, endpoints) in entries {
            let Some(version) = key.as_str() else {
                return Err(NodeError::protocol(format!(
                    "{what}: expected String keys, got {key:?}"
                )));
            };
            let mut endpoints = expect_strings(endpoints.clone(), &what)?;
            endpoints.sort();
            versions.push((version.to_owned(), endpoints));
        }
        versions.sort();
        Ok(versions)
    }

    /// Mode, unreachable/joining/leaving/moving endpoints and schema versions, read once each.
    pub async fn cluster_health(&self) -> Result<ClusterHealth, NodeError> {
        let suffix = if self.version().has_port_aware_endpoints() {
            "WithPort"
        } else {
            ""
        };
        let mut lists = Vec::with_capacity(4);
        for base in [
            "UnreachableNodes",
            "JoiningNodes",
            "LeavingNodes",
            "MovingNodes",
        ] {
            let attribute = format!("{base}{suffix}");
            let value = self.ss_attribute(&attribute).await?;
            let mut list = expect_strings(value, &format!("StorageService.{attribute}"))?;
            list.sort();
            lists.push(list);
        }
        let moving = lists.pop().unwrap_or_default();
        let leaving = lists.pop().unwrap_or_default();
        let joining = lists.pop().unwrap_or_default();
        let unreachable = lists.pop().unwrap_or_default();
        Ok(ClusterHealth {
            mode: self.operation_mode().await?,
            unreachable,
            joining,
            leaving,
            moving,
            schema_versions: self.schema_versions().await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeServer;
    use crate::names::STORAGE_SERVICE;
    use crate::version::CassandraVersion;
    use javaser::Value;
    use std::sync::Arc;

    fn list(items: &[&str]) -> Value {
        Value::List {
            class: "java.util.ArrayList".into(),
            items: items.iter().map(|s| Value::String(s.to_string())).collect(),
        }
    }

    fn server(version: &str, suffix: &str, versions: Vec<(&str, &[&str])>) -> Arc<FakeServer> {
        let fake = Arc::new(FakeServer::cassandra(version));
        for base in ["UnreachableNodes", "JoiningNodes", "LeavingNodes"] {
            fake.set_attr(STORAGE_SERVICE, &format!("{base}{suffix}"), list(&[]));
        }
        fake.set_attr(
            STORAGE_SERVICE,
            &format!("MovingNodes{suffix}"),
            list(&["10.0.0.3:7000"]),
        );
        fake.set_attr(
            STORAGE_SERVICE,
            "OperationMode",
            Value::String("NORMAL".into()),
        );
        fake.set_attr(
            STORAGE_PROXY,
            &format!("SchemaVersions{suffix}"),
            Value::Map {
                class: "java.util.HashMap".into(),
                entries: versions
                    .into_iter()
                    .map(|(v, eps)| (Value::String(v.into()), list(eps)))
                    .collect(),
            },
        );
        fake
    }

    #[tokio::test]
    async fn reads_the_port_aware_attributes_on_4_0_and_names_every_problem() {
        let fake = server(
            "4.1.0",
            "WithPort",
            vec![
                ("b", &["10.0.0.2:7000"]),
                ("a", &["10.0.0.1:7000"]),
                (UNREACHABLE_SCHEMA, &["10.0.0.9:7000"]),
            ],
        );
        let node = Node::with_version(fake, CassandraVersion::parse("4.1.0").unwrap());
        let health = node.cluster_health().await.unwrap();
        assert_eq!(health.moving, vec!["10.0.0.3:7000".to_string()]);
        assert_eq!(health.schema_versions[0].0, "UNREACHABLE");
        let problems = health.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("moving: 10.0.0.3:7000"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("2 schema versions") && problems[1].contains("a on 10.0.0.1:7000"),
            "{problems:?}"
        );
    }

    #[tokio::test]
    async fn reads_the_plain_attributes_on_3_11_and_one_version_is_healthy() {
        let fake = server("3.11.20", "", vec![("a", &["10.0.0.1"])]);
        fake.set_attr(STORAGE_SERVICE, "MovingNodes", list(&[]));
        let node = Node::with_version(fake, CassandraVersion::parse("3.11.20").unwrap());
        let health = node.cluster_health().await.unwrap();
        assert!(health.problems().is_empty(), "{:?}", health.problems());
    }
}
