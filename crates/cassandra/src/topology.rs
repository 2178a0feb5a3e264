//! The ring as this node sees it: every endpoint with host id, datacenter, rack and up/down
//! (fact sheet §3.6).
//!
//! Owns choosing the version's attributes (3.x: `EndpointToHostId`, `LiveNodes`,
//! `UnreachableNodes`, endpoints as plain IPs; 4.0+: the `…WithPort` forms, endpoints as
//! `ip:port`) and asking `EndpointSnitchInfo.getDatacenter/getRack(String host)` per endpoint.
//! It must not format the REST response.

use crate::error::NodeError;
use crate::names::{sig, ENDPOINT_SNITCH_INFO};
use crate::node::Node;
use crate::values::{expect_string, expect_string_map, expect_strings, string};

/// Gossip liveness of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    /// In `LiveNodes`.
    Up,
    /// In `UnreachableNodes`.
    Down,
    /// In neither list (e.g. still joining).
    Unknown,
}

/// One node of the ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint as Cassandra names it: `10.0.0.1` (3.x) or `10.0.0.1:7000` /
    /// `[::1]:7000` (4.0+).
    pub endpoint: String,
    /// The address without port or brackets.
    pub ip: String,
    /// The storage port (4.0+).
    pub port: Option<u16>,
    pub host_id: String,
    /// `None` when the snitch could not answer for this endpoint.
    pub datacenter: Option<String>,
    pub rack: Option<String>,
    pub status: EndpointStatus,
}

/// Splits `ip:port` / `[v6]:port` (4.0+) or returns a plain address unchanged (3.x).
pub fn split_endpoint(endpoint: &str, with_port: bool) -> (String, Option<u16>) {
    if !with_port {
        return (endpoint.to_owned(), None);
    }
    if let Some(rest) = endpoint.strip_prefix('[') {
        if let Some((ip, port)) = rest.split_once("]:") {
            return (ip.to_owned(), port.parse().ok());
        }
        return (rest.trim_end_matches(']').to_owned(), None);
    }
    match endpoint.rsplit_once(':') {
        // More than one colon without brackets: a bare IPv6 address.
        Some((ip, port)) if !ip.contains(':') => (ip.to_owned(), port.parse().ok()),
        _ => (endpoint.to_owned(), None),
    }
}

impl Node {
    /// Every endpoint with a host id, sorted by datacenter, rack, then endpoint.
    pub async fn topology(&self) -> Result<Vec<EndpointInfo>, NodeError> {
        let with_port = self.version().has_port_aware_endpoints();
        let (host_ids, live, unreachable) = if with_port {
            (
                "EndpointWithPortToHostId",
                "LiveNodesWithPort",
                "UnreachableNodesWithPort",
            )
        } else {
            ("EndpointToHostId", "LiveNodes", "UnreachableNodes")
        };
        let host_ids = expect_string_map(
            self.ss_attribute(host_ids).await?,
            &format!("StorageService.{host_ids}"),
        )?;
        let live = expect_strings(
            self.ss_attribute(live).await?,
            &format!("StorageService.{live}"),
        )?;
        let unreachable = expect_strings(
            self.ss_attribute(unreachable).await?,
            &format!("StorageService.{unreachable}"),
        )?;
        let mut endpoints = Vec::with_capacity(host_ids.len());
        for (endpoint, host_id) in host_ids {
            let status = if live.contains(&endpoint) {
                EndpointStatus::Up
            } else if unreachable.contains(&endpoint) {
                EndpointStatus::Down
            } else {
                EndpointStatus::Unknown
            };
            let datacenter = self.snitch("getDatacenter", &endpoint).await?;
            let rack = self.snitch("getRack", &endpoint).await?;
            let (ip, port) = split_endpoint(&endpoint, with_port);
            endpoints.push(EndpointInfo {
                endpoint,
                ip,
                port,
                host_id,
                datacenter,
                rack,
                status,
            });
        }
        endpoints.sort_by(|a, b| {
            (&a.datacenter, &a.rack, &a.endpoint).cmp(&(&b.datacenter, &b.rack, &b.endpoint))
        });
        Ok(endpoints)
    }

    /// `EndpointSnitchInfo.Datacenter`: the local node's datacenter (all versions), one read
    /// where [`Node::topology`] asks the snitch about every endpoint.
    pub async fn local_datacenter(&self) -> Result<String, NodeError> {
        let value = self
            .server()
            .get_attribute(ENDPOINT_SNITCH_INFO, "Datacenter")
            .await?;
        expect_string(value, "EndpointSnitchInfo.Datacenter")
    }

    /// `EndpointSnitchInfo.<operation>(String host)`. A Java exception (e.g.
    /// `UnknownHostException`) means "no answer for this host", not a failed topology.
    async fn snitch(&self, operation: &str, endpoint: &str) -> Result<Option<String>, NodeError> {
        match self
            .server()
            .invoke(
                ENDPOINT_SNITCH_INFO,
                operation,
                &[string(endpoint)],
                &[sig::STRING],
            )
            .await
        {
            Ok(v) => expect_string(v, &format!("EndpointSnitchInfo.{operation}")).map(Some),
            Err(NodeError::Java { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_datacenter_is_the_snitch_attribute() {
        let fake = std::sync::Arc::new(crate::fake::FakeServer::cassandra("4.1.0"));
        fake.set_attr(
            ENDPOINT_SNITCH_INFO,
            "Datacenter",
            javaser::Value::String("dc7".into()),
        );
        let node = Node::connect(fake.clone()).await.unwrap();
        assert_eq!(node.local_datacenter().await.unwrap(), "dc7");
        fake.set_attr(ENDPOINT_SNITCH_INFO, "Datacenter", javaser::Value::Null);
        assert!(node.local_datacenter().await.is_err());
    }

    #[test]
    fn splits_endpoints() {
        assert_eq!(
            split_endpoint("10.0.0.1:7000", true),
            ("10.0.0.1".into(), Some(7000))
        );
        assert_eq!(
            split_endpoint("[::1]:7001", true),
            ("::1".into(), Some(7001))
        );
        assert_eq!(split_endpoint("10.0.0.1", false), ("10.0.0.1".into(), None));
        assert_eq!(split_endpoint("::1", true), ("::1".into(), None));
        assert_eq!(split_endpoint("10.0.0.1", true), ("10.0.0.1".into(), None));
    }
}
