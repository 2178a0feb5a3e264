use cassandra::fake::Call;
use cassandra::{ImportOptions, JavaThrowable, NodeError};
use javaser::Value;

use super::{invoke, list, owned, s, V311, V40, V41, V50};

const TABLE: &str = "org.apache.cassandra.db:type=Tables,keyspace=ks1,table=t1";

fn options() -> ImportOptions {
    ImportOptions {
        src_paths: owned(&["/imports/a"]),
        reset_level: true,
        clear_repaired: false,
        verify_sstables: true,
        verify_tokens: false,
        invalidate_caches: true,
        extended_verify: false,
        copy_data: true,
        fail_on_missing_index: true,
        validate_index_checksum: false,
    }
}

fn src_set() -> Value {
    Value::Set {
        class: "java.util.HashSet".into(),
        items: vec![s("/imports/a")],
    }
}

#[tokio::test]
async fn import_on_3_11_is_unsupported_and_sends_nothing() {
    let (fake, node) = super::node(V311).await;
    let err = node
        .import_new_sstables("ks1", "t1", &options())
        .await
        .unwrap_err();
    match &err {
        NodeError::Unsupported { what, version } => {
            assert!(what.contains("importNewSSTables"));
            assert_eq!(version, "3.11.20");
        }
        other => panic!("{other:?}"),
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn import_on_4_x_uses_the_8_argument_form() {
    for version in [V40, V41] {
        let (fake, node) = super::node(version).await;
        fake.returns(TABLE, "importNewSSTables", list("java.util.ArrayList", &[]));
        let failed = node
            .import_new_sstables("ks1", "t1", &options())
            .await
            .unwrap();
        assert!(failed.is_empty());
        let b = Value::Bool;
        assert_eq!(
            fake.calls(),
            [invoke(
                TABLE,
                "importNewSSTables",
                vec![
                    src_set(),
                    b(true),
                    b(false),
                    b(true),
                    b(false),
                    b(true),
                    b(false),
                    b(true)
                ],
                &[
                    "java.util.Set",
                    "boolean",
                    "boolean",
                    "boolean",
                    "boolean",
                    "boolean",
                    "boolean",
                    "boolean"
                ]
            )],
            "{version}"
        );
    }
}

#[tokio::test]
async fn import_on_5_0_uses_the_10_argument_form() {
    let (fake, node) = super::node(V50).await;
    fake.returns(
        TABLE,
        "importNewSSTables",
        list("java.util.ArrayList", &["/imports/a"]),
    );
    let failed = node
        .import_new_sstables("ks1", "t1", &options())
        .await
        .unwrap();
    assert_eq!(failed, ["/imports/a"]);
    let b = Value::Bool;
    let mut signature = vec!["java.util.Set"];
    signature.extend(["boolean"; 9]);
    assert_eq!(
        fake.calls(),
        [invoke(
            TABLE,
            "importNewSSTables",
            vec![
                src_set(),
                b(true),
                b(false),
                b(true),
                b(false),
                b(true),
                b(false),
                b(true),
                b(true),
                b(false)
            ],
            &signature
        )]
    );
}

#[tokio::test]
async fn defaults_are_nodetool_defaults() {
    let o = ImportOptions::new(owned(&["/x"]));
    assert!(o.reset_level && o.clear_repaired && o.verify_sstables && o.verify_tokens);
    assert!(o.invalidate_caches && !o.extended_verify && !o.copy_data);
    assert!(!o.fail_on_missing_index && o.validate_index_checksum);
}

#[tokio::test]
async fn import_exceptions_and_bad_replies() {
    let (fake, node) = super::node(V41).await;
    let mut thrown = JavaThrowable::new(
        "java.lang.RuntimeException",
        Some("Directory /imports/a does not exist"),
    );
    thrown.wrapper = Some("javax.management.RuntimeMBeanException".into());
    fake.fails(TABLE, "importNewSSTables", NodeError::java(thrown.clone()));
    let err = node
        .import_new_sstables("ks1", "t1", &options())
        .await
        .unwrap_err();
    assert_eq!(err.throwable(), Some(&thrown));

    fake.returns(TABLE, "importNewSSTables", Value::Null);
    assert!(matches!(
        node.import_new_sstables("ks1", "t1", &options()).await,
        Err(NodeError::Protocol { .. })
    ));

    // An absent table surfaces as NotFound from the server.
    fake.fails(
        TABLE,
        "importNewSSTables",
        NodeError::NotFound {
            object_name: TABLE.into(),
        },
    );
    assert!(matches!(
        node.import_new_sstables("ks1", "t1", &options()).await,
        Err(NodeError::NotFound { .. })
    ));

    fake.clear_calls();
    assert!(matches!(
        node.import_new_sstables("ks*", "t1", &options()).await,
        Err(NodeError::InvalidArgument { .. })
    ));
    assert_eq!(fake.calls(), Vec::<Call>::new());
}
