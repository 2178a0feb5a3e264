//! Streams written by the JDK's own ObjectOutputStream (tests/java/GoldenGen.java, compiled and
//! run at test time): decoded content is asserted, and for every writable value the writer's
//! output must be byte-identical to the JDK's.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use javaser::*;

/// Generates the golden streams once per test binary; name -> bytes.
fn golden() -> &'static BTreeMap<String, Vec<u8>> {
    static DIR: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("javaser-golden-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/java/GoldenGen.java");
        let javac = Command::new("javac").arg("-d").arg(&dir).arg(&src).status();
        assert!(
            javac.map(|s| s.success()).unwrap_or(false),
            "javac (JDK 17) is required to generate the golden streams"
        );
        let java = Command::new("java")
            .arg("-cp")
            .arg(&dir)
            .arg("GoldenGen")
            .arg(&dir)
            .status();
        assert!(
            java.map(|s| s.success()).unwrap_or(false),
            "java GoldenGen failed"
        );
        let mut out = BTreeMap::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ser") {
                let name = p.file_stem().unwrap().to_string_lossy().to_string();
                out.insert(name, std::fs::read(&p).unwrap());
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        out
    })
}

fn bytes(name: &str) -> &'static [u8] {
    golden()
        .get(name)
        .unwrap_or_else(|| panic!("no golden stream {name}"))
}

fn decode(name: &str) -> Value {
    let b = bytes(name);
    let mut r = ObjectReader::new(b, Limits::default()).unwrap();
    let v = r.read_value().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(r.is_at_end(), "{name}: trailing bytes");
    v
}

/// Decodes, checks the value, and checks the writer reproduces the JDK bytes exactly.
fn identical(name: &str, expected: Value) {
    let v = decode(name);
    assert_eq!(v, expected, "{name}");
    let written = to_stream(&v, false).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        written,
        bytes(name),
        "{name}: writer output differs from the JDK's"
    );
}

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn list(class: &str, items: Vec<Value>) -> Value {
    Value::List {
        class: class.into(),
        items,
    }
}

#[test]
fn boxed_primitives_and_strings() {
    identical("int", Value::Int(42));
    identical("long", Value::Long(1234567890123));
    identical("short", Value::Short(-7));
    identical("byte", Value::Byte(-2));
    identical("char", Value::Char(0xE9));
    identical("float", Value::Float(1.5));
    identical("double", Value::Double(-2.25));
    identical("boolean", Value::Bool(true));
    identical("string_mutf8", s("a\0b\u{1F600}é"));
    identical("long_string", s(&("x".repeat(70000) + "é")));
    assert_eq!(bytes("long_string")[4], 0x7C, "TC_LONGSTRING");
}

#[test]
fn arrays() {
    identical("bytes", Value::Bytes(vec![1, 2, 0xFD]));
    let arr = |class: &str, items| Value::Array {
        class: class.into(),
        items,
    };
    identical(
        "ints",
        arr("[I", vec![Value::Int(1), Value::Int(-2), Value::Int(3)]),
    );
    identical("longs", arr("[J", vec![Value::Long(5), Value::Long(-6)]));
    identical(
        "booleans",
        arr("[Z", vec![Value::Bool(true), Value::Bool(false)]),
    );
    identical("doubles", arr("[D", vec![Value::Double(0.5)]));
    identical(
        "chars",
        arr(
            "[C",
            vec![Value::Char(b'a'.into()), Value::Char(b'z'.into())],
        ),
    );
    identical(
        "strings",
        arr("[Ljava.lang.String;", vec![s("a"), Value::Null, s("b")]),
    );
    // Shared Booleans and cached small Integers come back as references, 300 does not.
    identical(
        "objects",
        arr(
            "[Ljava.lang.Object;",
            vec![
                Value::Int(1),
                s("s"),
                Value::Null,
                Value::Bool(true),
                Value::Int(1),
                Value::Int(300),
                Value::Int(300),
                Value::Bool(false),
                Value::Bool(true),
            ],
        ),
    );
    identical(
        "nested_array",
        arr(
            "[[Ljava.lang.String;",
            vec![
                arr("[Ljava.lang.String;", vec![s("a")]),
                arr("[Ljava.lang.String;", vec![s("b"), s("c")]),
            ],
        ),
    );
}

#[test]
fn enums_and_value_classes() {
    let secs = Value::Enum {
        class: "java.util.concurrent.TimeUnit".into(),
        constant: "SECONDS".into(),
    };
    identical("enum", secs.clone());
    let days = Value::Enum {
        class: "java.util.concurrent.TimeUnit".into(),
        constant: "DAYS".into(),
    };
    identical(
        "enums",
        Value::Array {
            class: "[Ljava.lang.Object;".into(),
            items: vec![secs.clone(), days, secs],
        },
    );
    identical(
        "uuid",
        Value::Uuid {
            most: 0x123e4567e89b12d3,
            least: 0xa456426614174000u64 as i64,
        },
    );
    identical("date", Value::Date(1700000000123));
    let big = |class: &str, text: &str| Value::BigNumber {
        class: class.into(),
        text: text.into(),
    };
    identical(
        "bigint",
        big("java.math.BigInteger", "-123456789012345678901234567890"),
    );
    identical("bigdec", big("java.math.BigDecimal", "12345.6789"));
    identical("bigdec_exp", big("java.math.BigDecimal", "1.23E+10"));
    identical(
        "objectname",
        Value::ObjectName("org.apache.cassandra.db:type=StorageService".into()),
    );
    assert_eq!(decode("class"), Value::Class("java.lang.String".into()));
}

#[test]
fn collections() {
    identical(
        "arraylist",
        list(
            "java.util.ArrayList",
            vec![
                s("a"),
                Value::Int(1),
                Value::Long(2),
                Value::Int(1),
                Value::Int(300),
                Value::Int(300),
            ],
        ),
    );
    identical(
        "linkedlist",
        list("java.util.LinkedList", vec![s("l1"), s("l2")]),
    );
    assert_eq!(
        decode("arrays_aslist"),
        list("java.util.Arrays$ArrayList", vec![s("p"), s("q")])
    );
    // Hash order is the JDK's; the reader keeps wire order, so re-encoding is identical.
    let hs = decode("hashset");
    let mut items: Vec<_> = hs
        .as_items()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    items.sort();
    assert_eq!(items, ["x", "y", "z"]);
    identical("hashset", hs);
    identical(
        "linkedhashset",
        Value::Set {
            class: "java.util.LinkedHashSet".into(),
            items: vec![s("c"), s("a"), s("b")],
        },
    );
    identical(
        "treeset",
        Value::Set {
            class: "java.util.TreeSet".into(),
            items: vec![s("k"), s("m")],
        },
    );
    let hm = decode("hashmap");
    assert_eq!(hm.as_entries().unwrap().len(), 20);
    assert!(hm
        .as_entries()
        .unwrap()
        .contains(&(s("k17"), Value::Int(17))));
    identical("hashmap", hm);
    identical(
        "linkedhashmap",
        Value::Map {
            class: "java.util.LinkedHashMap".into(),
            entries: vec![(s("z"), Value::Long(1)), (s("a"), s("v"))],
        },
    );
    identical(
        "treemap",
        Value::Map {
            class: "java.util.TreeMap".into(),
            entries: vec![(s("a"), Value::Int(1)), (s("b"), Value::Int(2))],
        },
    );
    identical(
        "hashtable",
        Value::Map {
            class: "java.util.Hashtable".into(),
            entries: vec![(s("h"), Value::Bool(true))],
        },
    );
    let im = decode("intkeymap");
    assert_eq!(
        im.to_json(),
        serde_json::json!([[1, "one"], [2, "two"]]),
        "non-string keys render as pairs"
    );
    identical("intkeymap", im);
}

#[test]
fn collections_wrappers_and_immutable_collections() {
    let kind = |v: &Value| match v {
        Value::List { class, items } => ("list", class.clone(), items.clone()),
        Value::Set { class, items } => ("set", class.clone(), items.clone()),
        Value::Map { class, entries } => (
            "map",
            class.clone(),
            entries
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
        ),
        other => panic!("not a collection: {other:?}"),
    };
    for (name, want_kind, want_items) in [
        ("unmod_list", "list", vec![s("u")]),
        ("unmod_set", "set", vec![s("s")]),
        ("unmod_map", "map", vec![s("k"), s("v")]),
        ("singleton_list", "list", vec![s("only")]),
        ("singleton_set", "set", vec![s("only")]),
        ("singleton_map", "map", vec![s("k"), Value::Int(1)]),
        ("empty_list", "list", vec![]),
        ("empty_set", "set", vec![]),
        ("empty_map", "map", vec![]),
        ("sync_list", "list", vec![s("y")]),
        ("checked_list", "list", vec![s("c")]),
    ] {
        let (k, class, items) = kind(&decode(name));
        assert_eq!(k, want_kind, "{name}");
        assert!(
            class.starts_with("java.util.Collections$"),
            "{name}: {class}"
        );
        assert_eq!(items, want_items, "{name}");
    }
    assert_eq!(
        decode("list_of"),
        list("java.util.CollSer", vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        decode("set_of"),
        Value::Set {
            class: "java.util.CollSer".into(),
            items: vec![s("s")]
        }
    );
    assert_eq!(
        decode("map_of"),
        Value::Map {
            class: "java.util.CollSer".into(),
            entries: vec![(s("k"), s("v"))]
        }
    );
}

#[test]
fn jmx_open_types_and_attribute_list() {
    let al = decode("attributelist");
    let Value::List { class, items } = &al else {
        panic!("{al:?}")
    };
    assert_eq!(class, "javax.management.AttributeList");
    let attr = items[0].as_object().unwrap();
    assert_eq!(attr.class_name(), "javax.management.Attribute");
    assert_eq!(attr.field("name"), Some(&s("a")));
    assert_eq!(attr.field("value"), Some(&Value::Int(1)));
    identical("attributelist", al.clone());

    let row = |count: i32, name: &str| CompositeData {
        type_name: "Snap".into(),
        items: vec![
            ("count".into(), Value::Int(count)),
            ("name".into(), s(name)),
        ],
    };
    assert_eq!(decode("composite"), Value::CompositeData(row(3, "n1")));
    assert_eq!(
        decode("composite").to_json(),
        serde_json::json!({"count": 3, "name": "n1"})
    );
    let Value::TabularData(t) = decode("tabular") else {
        panic!()
    };
    assert_eq!(t.type_name, "Tab");
    assert_eq!(t.index_names, vec!["name".to_string()]);
    let mut rows = t.rows.clone();
    rows.sort_by_key(|r| format!("{:?}", r.items));
    assert_eq!(rows, vec![row(3, "n1"), row(4, "n2")]);
}

#[test]
fn generic_objects_custom_data_externalizable_and_proxies() {
    let v = decode("custom");
    let o = v.as_object().unwrap();
    assert_eq!(o.class_name(), "GoldenGen$Custom");
    assert_eq!(o.desc.suid, 77);
    assert_eq!(o.field("a"), Some(&Value::Int(7)));
    assert_eq!(o.field("s"), Some(&s("t")));
    assert_eq!(
        o.annotations_of("GoldenGen$Custom").unwrap(),
        &[
            Annotation::Block(vec![0, 0, 0, 99]),
            Annotation::Value(s("extra")),
            Annotation::Block(vec![0, 3, b'u', b't', b'f']),
        ]
    );
    identical("custom", v.clone());

    let v = decode("externalizable");
    let o = v.as_object().unwrap();
    assert_eq!(o.desc.flags, SC_EXTERNALIZABLE | SC_BLOCK_DATA);
    assert_eq!(
        o.class_data[0].annotations,
        vec![
            Annotation::Block(vec![0, 0, 0, 5]),
            Annotation::Value(s("e"))
        ]
    );
    identical("externalizable", v.clone());

    let v = decode("proxy");
    let o = v.as_object().unwrap();
    assert_eq!(
        o.desc.proxy_interfaces.as_deref(),
        Some(&["java.lang.Runnable".to_string()][..])
    );
    let h = o.field("h").unwrap().as_object().unwrap();
    assert_eq!(h.class_name(), "GoldenGen$Handler");
    assert_eq!(h.field("tag"), Some(&s("h")));
    identical("proxy", v.clone());
}

#[test]
fn references_and_cycles() {
    let v = decode("exception");
    let o = v.as_object().unwrap();
    assert_eq!(o.class_name(), "java.lang.IllegalStateException");
    assert_eq!(o.field("detailMessage"), Some(&s("boom")));
    let Some(Value::Cycle(h)) = o.field("cause") else {
        panic!("{:?}", o.field("cause"))
    };
    assert!(*h >= 0x7E0000);
    assert!(!o
        .field("stackTrace")
        .unwrap()
        .as_items()
        .unwrap()
        .is_empty());
    assert!(matches!(to_stream(&v, false), Err(Error::Unwritable(_))));

    let inner = list("java.util.ArrayList", vec![s("i")]);
    assert_eq!(
        decode("shared_ref"),
        list("java.util.ArrayList", vec![inner.clone(), inner])
    );
    assert_eq!(
        decode("self_list"),
        list("java.util.ArrayList", vec![Value::Cycle(0x7E0001)])
    );
}

#[test]
fn top_level_block_data_primitives() {
    let b = bytes("primitives");
    let mut r = ObjectReader::new(b, Limits::default()).unwrap();
    assert_eq!(r.read_i32().unwrap(), 1);
    assert_eq!(r.read_i64().unwrap(), 2);
    assert_eq!(r.read_utf().unwrap(), "hi\0");
    assert_eq!(r.read_value().unwrap(), s("obj"));
    assert_eq!(r.read_f64().unwrap(), 3.5);
    assert_eq!(r.read_i16().unwrap(), -1);
    assert!(r.read_bool().unwrap());
    assert_eq!(r.read_f32().unwrap(), 0.25);
    assert_eq!(r.read_bytes(3000).unwrap(), vec![0; 3000]);
    assert_eq!(r.read_u8().unwrap(), 9);
    assert!(r.is_at_end());
    assert_eq!(r.read_u8(), Err(Error::Truncated));

    let mut w = ObjectWriter::new(false);
    w.write_i32(1);
    w.write_i64(2);
    w.write_utf("hi\0").unwrap();
    w.write_value(&s("obj")).unwrap();
    w.write_f64(3.5);
    w.write_i16(-1);
    w.write_bool(true);
    w.write_f32(0.25);
    w.write_bytes(&[0; 3000]);
    w.write_u8(9);
    assert_eq!(w.finish(), b, "block segmentation differs from the JDK's");
}
