use std::sync::Arc;

use cassandra::fake::{Call, FakeServer};
use cassandra::{CassandraVersion, MBeanServer, Node, NodeError, OperationMode};
use javaser::Value;

use super::{list, s, SS, V311, V40, V50};

#[tokio::test]
async fn connect_reads_and_caches_the_release_version() {
    let fake = Arc::new(FakeServer::cassandra("5.0-beta2"));
    let server: Arc<dyn MBeanServer> = fake.clone();
    let node = Node::connect(server).await.unwrap();
    assert_eq!(
        fake.calls(),
        [Call::GetAttribute {
            object_name: SS.into(),
            attribute: "ReleaseVersion".into()
        }]
    );
    let v = node.version();
    assert_eq!((v.major, v.minor, v.patch), (5, 0, 0));
    assert_eq!(v.pre_release, ["beta2"]);
    assert_eq!(v.raw, "5.0-beta2");
    // Cached: asking again does not call the node; read_version does.
    let _ = node.version();
    assert_eq!(fake.calls().len(), 1);
    fake.set_attr(SS, "ReleaseVersion", s("5.0.2"));
    assert_eq!(
        node.read_version().await.unwrap(),
        CassandraVersion::parse("5.0.2").unwrap()
    );
}

#[tokio::test]
async fn bad_release_versions_are_protocol_errors() {
    let fake = Arc::new(FakeServer::cassandra("not-a-version"));
    let err = Node::connect(fake.clone() as Arc<dyn MBeanServer>)
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::Protocol { .. }), "{err:?}");
    fake.set_attr(SS, "ReleaseVersion", Value::Int(4));
    let err = Node::connect(fake as Arc<dyn MBeanServer>)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NodeError::Protocol { message } if message.contains("ReleaseVersion")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_node_error_passes_through() {
    let fake = Arc::new(FakeServer::new());
    fake.fail_attr(
        SS,
        "ReleaseVersion",
        NodeError::Unreachable {
            message: "connection refused".into(),
        },
    );
    let err = Node::connect(fake as Arc<dyn MBeanServer>)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "unreachable");
}

#[tokio::test]
async fn operation_mode_parses_known_and_passes_unknown_through() {
    let (fake, node) = super::node(V50).await;
    for (raw, mode) in [
        ("NORMAL", OperationMode::Normal),
        ("DRAINED", OperationMode::Drained),
        ("DECOMMISSION_FAILED", OperationMode::DecommissionFailed),
        (
            "SOMETHING_NEW",
            OperationMode::Other("SOMETHING_NEW".into()),
        ),
    ] {
        fake.set_attr(SS, "OperationMode", s(raw));
        assert_eq!(node.operation_mode().await.unwrap(), mode);
    }
    assert!(fake.calls().iter().all(|c| *c
        == Call::GetAttribute {
            object_name: SS.into(),
            attribute: "OperationMode".into()
        }));
}

#[tokio::test]
async fn string_facts_read_their_attributes() {
    let (fake, node) = super::node(V40).await;
    fake.set_attr(
        SS,
        "SchemaVersion",
        s("59adb24e-f3cd-3e02-97f0-5b395827453f"),
    );
    fake.set_attr(SS, "ClusterName", s("Test Cluster"));
    fake.set_attr(SS, "LocalHostId", s("6d194555-f6eb-41d0-c000-000000000001"));
    fake.set_attr(SS, "DrainProgress", s("Drained 3/12 ColumnFamilies"));
    assert_eq!(
        node.schema_version().await.unwrap(),
        "59adb24e-f3cd-3e02-97f0-5b395827453f"
    );
    assert_eq!(node.cluster_name().await.unwrap(), "Test Cluster");
    assert_eq!(
        node.local_host_id().await.unwrap(),
        "6d194555-f6eb-41d0-c000-000000000001"
    );
    assert_eq!(
        node.drain_progress().await.unwrap(),
        "Drained 3/12 ColumnFamilies"
    );
    let read: Vec<String> = fake
        .calls()
        .into_iter()
        .map(|c| match c {
            Call::GetAttribute {
                object_name,
                attribute,
            } => {
                assert_eq!(object_name, SS);
                attribute
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        read,
        [
            "SchemaVersion",
            "ClusterName",
            "LocalHostId",
            "DrainProgress"
        ]
    );
}

#[tokio::test]
async fn keyspaces_decode_any_list_class() {
    let (fake, node) = super::node(V311).await;
    // 3.11/4.0 send Collections$UnmodifiableList; 5.0 an ArrayList (fact sheet §5.1).
    fake.set_attr(
        SS,
        "Keyspaces",
        list(
            "java.util.Collections$UnmodifiableRandomAccessList",
            &["system", "ks1"],
        ),
    );
    fake.set_attr(
        SS,
        "NonSystemKeyspaces",
        list("java.util.ArrayList", &["ks1"]),
    );
    assert_eq!(node.keyspaces().await.unwrap(), ["system", "ks1"]);
    assert_eq!(node.non_system_keyspaces().await.unwrap(), ["ks1"]);

    fake.set_attr(SS, "Keyspaces", Value::Int(3));
    assert!(matches!(
        node.keyspaces().await,
        Err(NodeError::Protocol { .. })
    ));
}

#[tokio::test]
async fn table_mbean_checks_the_exact_tables_name() {
    let (fake, node) = super::node(V40).await;
    let name = "org.apache.cassandra.db:type=Tables,keyspace=ks1,table=t1";
    fake.register(name);
    assert_eq!(
        node.table_mbean("ks1", "t1").await.unwrap().as_deref(),
        Some(name)
    );
    assert_eq!(node.table_mbean("ks1", "t2").await.unwrap(), None);
    assert_eq!(
        fake.calls(),
        [
            Call::IsRegistered {
                object_name: name.into()
            },
            Call::IsRegistered {
                object_name: "org.apache.cassandra.db:type=Tables,keyspace=ks1,table=t2".into()
            }
        ]
    );
    // A name that would alter the ObjectName never reaches the node.
    assert!(matches!(
        node.table_mbean("ks1", "t1,keyspace=x").await,
        Err(NodeError::InvalidArgument { .. })
    ));
    assert_eq!(fake.calls().len(), 2);
}
