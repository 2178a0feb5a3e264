//! Every value type of the model, produced by the JDK and decoded through the client.

use crate::common::{shared, PROBE};
use jmx::{JmxClient, Value};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

async fn sample(client: &JmxClient, kind: &str) -> Value {
    client
        .invoke(PROBE, "sample", &[s(kind)], &["java.lang.String"])
        .await
        .unwrap_or_else(|e| panic!("sample {kind}: {e}"))
}

fn sorted(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items
        .iter()
        .map(|i| i.as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn primitives_boxes_and_strings() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let cases = [
        ("null", Value::Null),
        ("boolean", Value::Bool(true)),
        ("byte", Value::Byte(-5)),
        ("char", Value::Char(u16::from(b'Z'))),
        ("short", Value::Short(-1234)),
        ("int", Value::Int(42)),
        ("long", Value::Long(-9876543210)),
        ("float", Value::Float(1.5)),
        ("double", Value::Double(-2.25)),
        ("string", s("hello")),
        ("utf", s("nul\0 é 漢 😀 end")),
    ];
    for (kind, expected) in cases {
        assert_eq!(sample(&client, kind).await, expected, "{kind}");
    }
    let long = sample(&client, "longstring").await;
    let text = long.as_str().unwrap();
    assert_eq!(text.len(), 70000);
    assert!(text.starts_with("abcdefghijklmnopqrstuvwxyzabc"));
}

#[tokio::test]
async fn arrays() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    assert_eq!(
        sample(&client, "int[]").await,
        Value::Array {
            class: "[I".into(),
            items: vec![Value::Int(1), Value::Int(2), Value::Int(3)]
        }
    );
    assert_eq!(
        sample(&client, "long[]").await,
        Value::Array {
            class: "[J".into(),
            items: vec![Value::Long(1), Value::Long(-2)]
        }
    );
    assert_eq!(
        sample(&client, "boolean[]").await,
        Value::Array {
            class: "[Z".into(),
            items: vec![Value::Bool(true), Value::Bool(false)]
        }
    );
    assert_eq!(
        sample(&client, "double[]").await,
        Value::Array {
            class: "[D".into(),
            items: vec![Value::Double(0.5), Value::Double(1.5)]
        }
    );
    assert_eq!(
        sample(&client, "byte[]").await,
        Value::Bytes(vec![1, 2, 0xff])
    );
    assert_eq!(
        sample(&client, "String[]").await,
        Value::Array {
            class: "[Ljava.lang.String;".into(),
            items: vec![s("x"), Value::Null, s("z")]
        }
    );
    let nested = sample(&client, "int[][]").await;
    let rows = nested.as_items().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1],
        Value::Array {
            class: "[I".into(),
            items: vec![Value::Int(2), Value::Int(3)]
        }
    );
}

#[tokio::test]
async fn collections() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let lists = [
        ("ArrayList", vec!["a", "b", "c"]),
        ("LinkedList", vec!["a", "b"]),
        ("unmodifiableList", vec!["a", "b"]),
        ("singletonList", vec!["only"]),
        ("emptyList", vec![]),
        ("synchronizedList", vec!["a"]),
        ("asList", vec!["a", "b"]),
        ("List.of", vec!["a", "b"]),
    ];
    for (kind, expected) in lists {
        match sample(&client, kind).await {
            Value::List { items, .. } => {
                let got: Vec<&str> = items.iter().map(|v| v.as_str().unwrap()).collect();
                assert_eq!(got, expected, "{kind}");
            }
            other => panic!("{kind}: expected a list, got {other:?}"),
        }
    }
    let sets = [
        ("HashSet", vec!["a", "b"]),
        ("LinkedHashSet", vec!["a", "b"]),
        ("TreeSet", vec!["a", "b"]),
        ("unmodifiableSet", vec!["a"]),
        ("singleton", vec!["only"]),
        ("emptySet", vec![]),
    ];
    for (kind, expected) in sets {
        match sample(&client, kind).await {
            Value::Set { items, .. } => assert_eq!(sorted(&items), expected, "{kind}"),
            other => panic!("{kind}: expected a set, got {other:?}"),
        }
    }
    // Ordered containers keep their order on the wire.
    match sample(&client, "LinkedHashSet").await {
        Value::Set { items, .. } => assert_eq!(items, vec![s("b"), s("a")]),
        other => panic!("{other:?}"),
    }
    let maps: [(&str, Vec<(Value, Value)>); 7] = [
        (
            "HashMap",
            vec![(s("alpha"), Value::Int(1)), (s("beta"), Value::Int(2))],
        ),
        (
            "LinkedHashMap",
            vec![(s("z"), Value::Int(1)), (s("y"), Value::Int(2))],
        ),
        (
            "TreeMap",
            vec![(s("a"), Value::Int(1)), (s("b"), Value::Int(2))],
        ),
        ("unmodifiableMap", vec![(s("k"), s("v"))]),
        ("singletonMap", vec![(s("k"), s("v"))]),
        ("emptyMap", vec![]),
        ("synchronizedMap", vec![(s("k"), s("v"))]),
    ];
    for (kind, expected) in maps {
        match sample(&client, kind).await {
            Value::Map { mut entries, .. } => {
                if kind == "HashMap" {
                    entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
                }
                assert_eq!(entries, expected, "{kind}");
            }
            other => panic!("{kind}: expected a map, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn enums_uuid_date_object_name_and_generic_objects() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    assert_eq!(
        sample(&client, "enum").await,
        Value::Enum {
            class: "JmxTestServer$Color".into(),
            constant: "GREEN".into()
        }
    );
    assert_eq!(
        sample(&client, "TimeUnit").await,
        Value::Enum {
            class: "java.util.concurrent.TimeUnit".into(),
            constant: "SECONDS".into()
        }
    );
    assert_eq!(
        sample(&client, "uuid").await,
        Value::Uuid {
            most: 0x0123456789abcdef,
            least: 0xfedcba9876543210u64 as i64
        }
    );
    assert_eq!(sample(&client, "date").await, Value::Date(1700000000000));
    assert_eq!(
        sample(&client, "objectName").await,
        Value::ObjectName("test:type=Probe".into())
    );
    let custom = sample(&client, "custom").await;
    let obj = custom.as_object().expect("AtomicLong decodes generically");
    assert_eq!(obj.class_name(), "java.util.concurrent.atomic.AtomicLong");
    assert_eq!(obj.field("value"), Some(&Value::Long(77)));
}

#[tokio::test]
async fn composite_and_tabular_data() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    match sample(&client, "composite").await {
        Value::CompositeData(c) => {
            assert_eq!(c.type_name, "Snapshot");
            assert_eq!(
                c.items,
                vec![
                    ("count".to_string(), Value::Int(42)),
                    ("label".to_string(), s("hello")),
                    ("ok".to_string(), Value::Bool(true)),
                    ("when".to_string(), Value::Long(1700000000000)),
                ]
            );
        }
        other => panic!("expected CompositeData, got {other:?}"),
    }
    match sample(&client, "tabular").await {
        Value::TabularData(t) => {
            assert_eq!(t.type_name, "Rows");
            assert_eq!(t.index_names, vec!["label".to_string()]);
            assert_eq!(t.rows.len(), 2);
            let labels: Vec<&Value> = t.rows.iter().map(|r| &r.items[1].1).collect();
            assert_eq!(labels, [&s("hello"), &s("second")]);
        }
        other => panic!("expected TabularData, got {other:?}"),
    }
}

#[tokio::test]
async fn values_round_trip_through_echo() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    let values = [
        Value::Long(-1),
        Value::Bool(false),
        Value::Double(3.5),
        Value::Array {
            class: "[Ljava.lang.String;".into(),
            items: vec![s("a"), s("b")],
        },
        Value::Array {
            class: "[I".into(),
            items: vec![Value::Int(7)],
        },
        Value::Map {
            class: "java.util.HashMap".into(),
            entries: vec![(s("k"), s("v"))],
        },
        Value::Enum {
            class: "java.util.concurrent.TimeUnit".into(),
            constant: "DAYS".into(),
        },
        Value::Uuid { most: 1, least: -2 },
        Value::Date(5),
        s(&"x".repeat(70000)),
    ];
    for v in values {
        let back = client
            .invoke(
                PROBE,
                "echo",
                std::slice::from_ref(&v),
                &["java.lang.Object"],
            )
            .await
            .unwrap();
        assert_eq!(back, v);
    }
}

/// A realistic large reply: the token map of a 1000-node cluster with 256 vnodes each
/// (256 000 entries, about 10 MB) decodes with the client's default limits.
#[tokio::test]
async fn token_map_of_a_large_cluster_fits_the_default_limits() {
    let client = JmxClient::connect(shared().config()).await.unwrap();
    match sample(&client, "tokenMap").await {
        Value::Map { class, entries } => {
            assert_eq!(class, "java.util.LinkedHashMap");
            assert_eq!(entries.len(), 256_000);
            assert_eq!(entries[0], (s(&i64::MIN.to_string()), s("10.0.0.0:7000")));
            assert_eq!(entries[255_999].1, s("10.0.3.249:7000"));
        }
        other => panic!("expected a Map, got {:?}", other.class_name()),
    }
    // Control: the serialization crate's generic defaults are too small for it, so the
    // assertion above depends on the client's own defaults.
    let mut cfg = shared().config();
    cfg.limits = javaser::Limits::default();
    let small = JmxClient::connect(cfg).await.unwrap();
    let err = small
        .invoke(PROBE, "sample", &[s("tokenMap")], &["java.lang.String"])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            jmx::JmxError::Serialization(javaser::Error::LimitExceeded(_))
        ),
        "{err:?}"
    );
}
