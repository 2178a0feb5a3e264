use cassandra::{
    AllSSTableOpStatus, NodeError, RebuildOptions, ScrubOptions, SnapshotOptions, TokenRange,
    UpgradeOptions,
};
use javaser::Value;

use super::{invoke, map, owned, s, strings, ALL, SS, V311, V40, V41, V50};

const SA: &str = "[Ljava.lang.String;";

#[tokio::test]
async fn cleanup_sends_jobs_keyspace_tables_and_maps_status() {
    for version in ALL {
        let (fake, node) = super::node(version).await;
        for (code, status) in [
            (0, AllSSTableOpStatus::Successful),
            (1, AllSSTableOpStatus::Aborted),
            (2, AllSSTableOpStatus::UnableToCancel),
            (7, AllSSTableOpStatus::Other(7)),
        ] {
            fake.returns(SS, "forceKeyspaceCleanup", Value::Int(code));
            assert_eq!(
                node.cleanup("ks1", &owned(&["t1", "t2"]), 2).await.unwrap(),
                status
            );
        }
        assert_eq!(
            fake.calls()[0],
            invoke(
                SS,
                "forceKeyspaceCleanup",
                vec![Value::Int(2), s("ks1"), strings(&["t1", "t2"])],
                &["int", "java.lang.String", SA]
            ),
            "{version}"
        );
    }
}

#[tokio::test]
async fn status_descriptions_say_what_happened() {
    assert!(AllSSTableOpStatus::Successful.is_success());
    assert!(!AllSSTableOpStatus::Aborted.is_success());
    assert!(AllSSTableOpStatus::Aborted
        .describe("cleanup")
        .contains("aborted"));
    assert!(AllSSTableOpStatus::UnableToCancel
        .describe("scrub")
        .contains("could not be marked compacting"));
    assert!(AllSSTableOpStatus::Other(9).describe("x").contains('9'));
}

#[tokio::test]
async fn status_that_is_not_an_int_is_a_protocol_error() {
    let (fake, node) = super::node(V40).await;
    fake.returns(SS, "forceKeyspaceCleanup", Value::Null);
    assert!(matches!(
        node.cleanup("ks1", &[], 0).await,
        Err(NodeError::Protocol { .. })
    ));
}

#[tokio::test]
async fn negative_jobs_never_reach_the_node() {
    let (fake, node) = super::node(V40).await;
    assert!(matches!(
        node.cleanup("ks1", &[], -1).await,
        Err(NodeError::InvalidArgument { .. })
    ));
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn flush_with_and_without_tables() {
    for version in ALL {
        let (fake, node) = super::node(version).await;
        node.flush("ks1", &[]).await.unwrap();
        node.flush("ks1", &owned(&["t1"])).await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                invoke(
                    SS,
                    "forceKeyspaceFlush",
                    vec![s("ks1"), strings(&[])],
                    &["java.lang.String", SA]
                ),
                invoke(
                    SS,
                    "forceKeyspaceFlush",
                    vec![s("ks1"), strings(&["t1"])],
                    &["java.lang.String", SA]
                )
            ]
        );
    }
}

#[tokio::test]
async fn scrub_uses_the_7_argument_form_everywhere() {
    for version in ALL {
        let (fake, node) = super::node(version).await;
        fake.returns(SS, "scrub", Value::Int(0));
        let options = ScrubOptions {
            disable_snapshot: true,
            skip_corrupted: false,
            check_data: false,
            reinsert_overflowed_ttl: true,
            jobs: 3,
        };
        assert!(node
            .scrub("ks1", &owned(&["t1"]), options)
            .await
            .unwrap()
            .is_success());
        assert_eq!(
            fake.calls(),
            [invoke(
                SS,
                "scrub",
                vec![
                    Value::Bool(true),
                    Value::Bool(false),
                    Value::Bool(false),
                    Value::Bool(true),
                    Value::Int(3),
                    s("ks1"),
                    strings(&["t1"])
                ],
                &[
                    "boolean",
                    "boolean",
                    "boolean",
                    "boolean",
                    "int",
                    "java.lang.String",
                    SA
                ]
            )],
            "{version}"
        );
    }
}

#[tokio::test]
async fn upgradesstables_overload_follows_the_version() {
    for version in [V311, V40] {
        let (fake, node) = super::node(version).await;
        fake.returns(SS, "upgradeSSTables", Value::Int(1));
        let status = node
            .upgrade_sstables(
                "ks1",
                &owned(&["t1"]),
                UpgradeOptions {
                    include_all: true,
                    jobs: 2,
                    max_timestamp: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(status, AllSSTableOpStatus::Aborted);
        assert_eq!(
            fake.calls(),
            [invoke(
                SS,
                "upgradeSSTables",
                vec![
                    s("ks1"),
                    Value::Bool(false),
                    Value::Int(2),
                    strings(&["t1"])
                ],
                &["java.lang.String", "boolean", "int", SA]
            )],
            "{version}"
        );
        let err = node
            .upgrade_sstables(
                "ks1",
                &[],
                UpgradeOptions {
                    max_timestamp: Some(5),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, NodeError::Unsupported { .. }), "{err:?}");
    }
    for version in [V41, V50] {
        let (fake, node) = super::node(version).await;
        fake.returns(SS, "upgradeSSTables", Value::Int(0));
        for (max, sent) in [
            (None, i64::MAX),
            (Some(1_700_000_000_000_000), 1_700_000_000_000_000),
        ] {
            node.upgrade_sstables(
                "ks1",
                &[],
                UpgradeOptions {
                    include_all: false,
                    jobs: 0,
                    max_timestamp: max,
                },
            )
            .await
            .unwrap();
            assert_eq!(
                fake.calls().pop().unwrap(),
                invoke(
                    SS,
                    "upgradeSSTables",
                    vec![
                        s("ks1"),
                        Value::Bool(true),
                        Value::Long(sent),
                        Value::Int(0),
                        strings(&[])
                    ],
                    &["java.lang.String", "boolean", "long", "int", SA]
                ),
                "{version}"
            );
        }
    }
}

#[tokio::test]
async fn refresh_drain_truncate_are_storage_service_calls() {
    for version in ALL {
        let (fake, node) = super::node(version).await;
        node.refresh("ks1", "t1").await.unwrap();
        node.drain().await.unwrap();
        node.truncate("ks1", "t1").await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                invoke(
                    SS,
                    "loadNewSSTables",
                    vec![s("ks1"), s("t1")],
                    &["java.lang.String", "java.lang.String"]
                ),
                invoke(SS, "drain", vec![], &[]),
                invoke(
                    SS,
                    "truncate",
                    vec![s("ks1"), s("t1")],
                    &["java.lang.String", "java.lang.String"]
                ),
            ],
            "{version}"
        );
    }
}

#[tokio::test]
async fn decommission_is_version_aware() {
    let (fake, node) = super::node(V311).await;
    node.decommission(false).await.unwrap();
    node.decommission(true).await.unwrap();
    assert_eq!(
        fake.calls(),
        [
            invoke(SS, "decommission", vec![], &[]),
            invoke(SS, "decommission", vec![], &[])
        ]
    );
    for version in [V40, V41, V50] {
        let (fake, node) = super::node(version).await;
        node.decommission(false).await.unwrap();
        node.decommission(true).await.unwrap();
        assert_eq!(
            fake.calls(),
            [
                invoke(SS, "decommission", vec![Value::Bool(false)], &["boolean"]),
                invoke(SS, "decommission", vec![Value::Bool(true)], &["boolean"])
            ],
            "{version}"
        );
    }
}

fn rebuild_options() -> RebuildOptions {
    RebuildOptions {
        source_dc: Some("dc2".into()),
        keyspace: Some("ks1".into()),
        tokens: vec![
            TokenRange {
                start: "-100".into(),
                end: "0".into(),
            },
            TokenRange {
                start: "10".into(),
                end: "20".into(),
            },
        ],
        specific_sources: owned(&["10.0.0.2", "10.0.0.3"]),
        exclude_local_dc: false,
    }
}

#[tokio::test]
async fn rebuild_before_5_0_sends_four_strings() {
    for version in [V311, V40, V41] {
        let (fake, node) = super::node(version).await;
        node.rebuild(&rebuild_options()).await.unwrap();
        node.rebuild(&RebuildOptions::default()).await.unwrap();
        let str4 = ["java.lang.String"; 4];
        assert_eq!(
            fake.calls(),
            [
                invoke(
                    SS,
                    "rebuild",
                    vec![
                        s("dc2"),
                        s("ks1"),
                        s("(-100,0],(10,20]"),
                        s("10.0.0.2,10.0.0.3")
                    ],
                    &str4
                ),
                invoke(
                    SS,
                    "rebuild",
                    vec![Value::Null, Value::Null, Value::Null, Value::Null],
                    &str4
                )
            ],
            "{version}"
        );
        let err = node
            .rebuild(&RebuildOptions {
                exclude_local_dc: true,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, NodeError::Unsupported { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn rebuild_on_5_0_adds_exclude_local_dc() {
    let (fake, node) = super::node(V50).await;
    let mut options = rebuild_options();
    options.exclude_local_dc = true;
    node.rebuild(&options).await.unwrap();
    assert_eq!(
        fake.calls(),
        [invoke(
            SS,
            "rebuild",
            vec![
                s("dc2"),
                s("ks1"),
                s("(-100,0],(10,20]"),
                s("10.0.0.2,10.0.0.3"),
                Value::Bool(true)
            ],
            &[
                "java.lang.String",
                "java.lang.String",
                "java.lang.String",
                "java.lang.String",
                "boolean"
            ]
        )]
    );
}

#[tokio::test]
async fn snapshots() {
    for version in ALL {
        let (fake, node) = super::node(version).await;
        node.take_snapshot("tag1", &owned(&["ks1.t1"]), &SnapshotOptions::default())
            .await
            .unwrap();
        node.clear_snapshot(Some("tag1"), &owned(&["ks1"]))
            .await
            .unwrap();
        let calls = fake.calls();
        assert_eq!(
            calls[0],
            invoke(
                SS,
                "takeSnapshot",
                vec![
                    s("tag1"),
                    map(&[("skipFlush", "false")]),
                    strings(&["ks1.t1"])
                ],
                &["java.lang.String", "java.util.Map", "[Ljava.lang.String;"]
            ),
            "{version}"
        );
        let expected_clear = if version == V50 {
            invoke(
                SS,
                "clearSnapshot",
                vec![map(&[]), s("tag1"), strings(&["ks1"])],
                &["java.util.Map", "java.lang.String", "[Ljava.lang.String;"],
            )
        } else {
            invoke(
                SS,
                "clearSnapshot",
                vec![s("tag1"), strings(&["ks1"])],
                &["java.lang.String", "[Ljava.lang.String;"],
            )
        };
        assert_eq!(calls[1], expected_clear, "{version}");
    }
    let with_ttl = SnapshotOptions {
        skip_flush: true,
        ttl: Some("1h".into()),
    };
    let (fake, node) = super::node(V40).await;
    assert!(matches!(
        node.take_snapshot("t", &[], &with_ttl).await,
        Err(NodeError::Unsupported { .. })
    ));
    assert!(fake.calls().is_empty());
    let (fake, node) = super::node(V41).await;
    node.take_snapshot("t", &[], &with_ttl).await.unwrap();
    assert_eq!(
        fake.calls(),
        [invoke(
            SS,
            "takeSnapshot",
            vec![
                s("t"),
                map(&[("skipFlush", "true"), ("ttl", "1h")]),
                strings(&[])
            ],
            &["java.lang.String", "java.util.Map", "[Ljava.lang.String;"]
        )]
    );
}
