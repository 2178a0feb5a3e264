use cassandra::{CompactionInfo, NodeError};
use javaser::Value;

use super::{map, owned, V40};

const CM: &str = "org.apache.cassandra.db:type=CompactionManager";

#[tokio::test]
async fn compactions_decode_realistic_maps() {
    let (fake, node) = super::node(V40).await;
    fake.set_attr(
        CM,
        "Compactions",
        Value::List {
            class: "java.util.ArrayList".into(),
            items: vec![
                map(&[
                    ("id", "5a1c3950-0f1e-11ee-8a5e-1d0c3b0e8f00"),
                    ("keyspace", "ks1"),
                    ("columnfamily", "t1"),
                    ("completed", "1048576"),
                    ("total", "4194304"),
                    ("unit", "bytes"),
                    ("taskType", "Cleanup"),
                    ("compactionId", "9e1f2c70-0f1e-11ee-8a5e-1d0c3b0e8f00"),
                    ("sstables", "BigTableReader(path='/d/nb-1-big-Data.db'), BigTableReader(path='/d/nb-2-big-Data.db')"),
                ]),
                // Keys missing, and numbers sent as numbers.
                Value::Map {
                    class: "java.util.HashMap".into(),
                    entries: vec![
                        (Value::String("keyspace".into()), Value::String("ks2".into())),
                        (Value::String("completed".into()), Value::Long(5)),
                        (Value::String("total".into()), Value::String("".into())),
                    ],
                },
            ],
        },
    );
    let tasks = node.compactions().await.unwrap();
    assert_eq!(tasks.len(), 2);
    let cleanup = &tasks[0];
    assert_eq!(cleanup.keyspace.as_deref(), Some("ks1"));
    assert_eq!(cleanup.table.as_deref(), Some("t1"));
    assert_eq!(
        (cleanup.completed, cleanup.total),
        (Some(1048576), Some(4194304))
    );
    assert_eq!(cleanup.unit.as_deref(), Some("bytes"));
    assert_eq!(cleanup.task_type.as_deref(), Some("Cleanup"));
    assert_eq!(
        cleanup.id.as_deref(),
        Some("9e1f2c70-0f1e-11ee-8a5e-1d0c3b0e8f00")
    );
    assert_eq!(
        cleanup.table_id.as_deref(),
        Some("5a1c3950-0f1e-11ee-8a5e-1d0c3b0e8f00")
    );
    assert_eq!(cleanup.sstables.len(), 2);
    assert_eq!(cleanup.fraction(), Some(0.25));
    assert!(cleanup.is_for("ks1", &[]));
    assert!(cleanup.is_for("ks1", &owned(&["t0", "t1"])));
    assert!(!cleanup.is_for("ks1", &owned(&["t2"])));
    assert!(!cleanup.is_for("ks2", &[]));

    let partial = &tasks[1];
    assert_eq!(partial.completed, Some(5));
    assert_eq!(partial.total, None);
    assert_eq!(partial.fraction(), None);
    assert_eq!(partial.table, None);
    assert!(!partial.is_for("ks2", &owned(&["t1"])));
}

#[tokio::test]
async fn compactions_reject_wrong_shapes() {
    let (fake, node) = super::node(V40).await;
    fake.set_attr(CM, "Compactions", Value::Null);
    assert_eq!(
        node.compactions().await.unwrap(),
        Vec::<CompactionInfo>::new()
    );
    fake.set_attr(CM, "Compactions", Value::Int(1));
    assert!(matches!(
        node.compactions().await,
        Err(NodeError::Protocol { .. })
    ));
    fake.set_attr(
        CM,
        "Compactions",
        Value::List {
            class: "java.util.ArrayList".into(),
            items: vec![Value::String("x".into())],
        },
    );
    assert!(matches!(
        node.compactions().await,
        Err(NodeError::Protocol { .. })
    ));
}
