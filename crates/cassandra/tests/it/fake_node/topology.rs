use cassandra::fake::Call;
use cassandra::{EndpointStatus, JavaThrowable, NodeError};
use javaser::Value;

use super::{list, map, s, SS, V311, V40, V50};

const ESI: &str = "org.apache.cassandra.db:type=EndpointSnitchInfo";

fn snitch_calls(calls: &[Call]) -> Vec<(String, Value)> {
    calls
        .iter()
        .filter_map(|c| match c {
            Call::Invoke {
                object_name,
                operation,
                params,
                signature,
            } if object_name == ESI => {
                assert_eq!(signature, &["java.lang.String"]);
                Some((operation.clone(), params[0].clone()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn topology_on_3_11_uses_plain_addresses() {
    let (fake, node) = super::node(V311).await;
    fake.set_attr(
        SS,
        "EndpointToHostId",
        map(&[
            ("10.0.0.2", "host-2"),
            ("10.0.0.1", "host-1"),
            ("10.0.0.3", "host-3"),
        ]),
    );
    fake.set_attr(
        SS,
        "LiveNodes",
        list("java.util.ArrayList", &["10.0.0.1", "10.0.0.2"]),
    );
    fake.set_attr(
        SS,
        "UnreachableNodes",
        list("java.util.ArrayList", &["10.0.0.3"]),
    );
    fake.on_invoke(ESI, "getDatacenter", |args| {
        Ok(s(if args[0] == s("10.0.0.3") {
            "dc2"
        } else {
            "dc1"
        }))
    });
    fake.on_invoke(ESI, "getRack", |_| Ok(s("rack1")));

    let ring = node.topology().await.unwrap();
    let summary: Vec<_> = ring
        .iter()
        .map(|e| {
            (
                e.endpoint.as_str(),
                e.ip.as_str(),
                e.port,
                e.host_id.as_str(),
                e.datacenter.as_deref(),
                e.rack.as_deref(),
                e.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "10.0.0.1",
                "10.0.0.1",
                None,
                "host-1",
                Some("dc1"),
                Some("rack1"),
                EndpointStatus::Up
            ),
            (
                "10.0.0.2",
                "10.0.0.2",
                None,
                "host-2",
                Some("dc1"),
                Some("rack1"),
                EndpointStatus::Up
            ),
            (
                "10.0.0.3",
                "10.0.0.3",
                None,
                "host-3",
                Some("dc2"),
                Some("rack1"),
                EndpointStatus::Down
            ),
        ]
    );
    let attrs: Vec<_> = fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::GetAttribute { attribute, .. } => Some(attribute),
            _ => None,
        })
        .collect();
    assert_eq!(attrs, ["EndpointToHostId", "LiveNodes", "UnreachableNodes"]);
    let snitch = snitch_calls(&fake.calls());
    assert_eq!(snitch.len(), 6);
    assert!(snitch.contains(&("getDatacenter".into(), s("10.0.0.3"))));
    assert!(snitch.contains(&("getRack".into(), s("10.0.0.1"))));
}

#[tokio::test]
async fn topology_on_4_0_and_later_uses_with_port_attributes() {
    for version in [V40, V50] {
        let (fake, node) = super::node(version).await;
        fake.set_attr(
            SS,
            "EndpointWithPortToHostId",
            map(&[
                ("127.0.0.1:7000", "host-1"),
                ("[::2]:7000", "host-2"),
                ("127.0.0.9:7000", "host-9"),
            ]),
        );
        fake.set_attr(
            SS,
            "LiveNodesWithPort",
            list("java.util.ArrayList", &["127.0.0.1:7000"]),
        );
        fake.set_attr(
            SS,
            "UnreachableNodesWithPort",
            list("java.util.ArrayList", &["[::2]:7000"]),
        );
        fake.on_invoke(ESI, "getDatacenter", |args| {
            if args[0] == s("127.0.0.9:7000") {
                Err(NodeError::java(JavaThrowable::new(
                    "java.net.UnknownHostException",
                    Some("127.0.0.9:7000"),
                )))
            } else {
                Ok(s("datacenter1"))
            }
        });
        fake.on_invoke(ESI, "getRack", |_| Ok(s("rack1")));

        let ring = node.topology().await.unwrap();
        assert_eq!(ring.len(), 3, "{version}");
        let one = ring.iter().find(|e| e.host_id == "host-1").unwrap();
        assert_eq!((one.ip.as_str(), one.port), ("127.0.0.1", Some(7000)));
        assert_eq!(one.status, EndpointStatus::Up);
        let two = ring.iter().find(|e| e.host_id == "host-2").unwrap();
        assert_eq!((two.ip.as_str(), two.port), ("::2", Some(7000)));
        assert_eq!(two.status, EndpointStatus::Down);
        let nine = ring.iter().find(|e| e.host_id == "host-9").unwrap();
        assert_eq!(nine.status, EndpointStatus::Unknown);
        assert_eq!(nine.datacenter, None, "a snitch exception is 'no answer'");
        assert_eq!(nine.rack.as_deref(), Some("rack1"));
        // Snitch lookups use the endpoint with its port, as 4.0+ parses it.
        assert!(snitch_calls(&fake.calls()).contains(&("getRack".into(), s("[::2]:7000"))));
    }
}

#[tokio::test]
async fn topology_transport_errors_fail_the_whole_call() {
    let (fake, node) = super::node(V40).await;
    fake.set_attr(
        SS,
        "EndpointWithPortToHostId",
        map(&[("127.0.0.1:7000", "h")]),
    );
    fake.set_attr(SS, "LiveNodesWithPort", list("java.util.ArrayList", &[]));
    fake.set_attr(
        SS,
        "UnreachableNodesWithPort",
        list("java.util.ArrayList", &[]),
    );
    fake.fails(
        ESI,
        "getDatacenter",
        NodeError::Timeout {
            message: "call".into(),
        },
    );
    assert!(matches!(
        node.topology().await,
        Err(NodeError::Timeout { .. })
    ));
}
