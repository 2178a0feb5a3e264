//! write -> read round trips for every value the writer can produce, with and without RMI
//! class annotations, and the writer's handling of values it must refuse.
use std::sync::Arc;

use javaser::classes::desc;
use javaser::*;

fn s(x: &str) -> Value {
    Value::String(x.into())
}

fn roundtrip(v: &Value) -> Value {
    for rmi in [false, true] {
        let bytes = to_stream(v, rmi).unwrap_or_else(|e| panic!("{v:?}: {e}"));
        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        let back = r.read_value().unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert!(r.is_at_end());
        if !rmi {
            return back;
        }
        assert_eq!(&back, v, "rmi annotations");
    }
    unreachable!()
}

fn same(v: Value) {
    assert_eq!(roundtrip(&v), v);
}

#[test]
fn primitives_strings_and_arrays() {
    for v in [
        Value::Null,
        Value::Bool(false),
        Value::Byte(-128),
        Value::Char(0xFFFF),
        Value::Short(i16::MIN),
        Value::Int(i32::MAX),
        Value::Int(127),
        Value::Int(128),
        Value::Long(i64::MIN),
        Value::Float(f32::INFINITY),
        Value::Double(-0.0),
        s(""),
        s("\0 NUL, é, €, 😀"),
        s(&"é".repeat(40_000)), // 80000 encoded bytes: TC_LONGSTRING
        Value::Bytes(vec![]),
        Value::Bytes((0..=255).collect()),
    ] {
        same(v);
    }
    for (class, items) in [
        ("[I", vec![Value::Int(1), Value::Int(-1)]),
        ("[J", vec![Value::Long(7)]),
        ("[S", vec![Value::Short(3)]),
        ("[C", vec![Value::Char(65)]),
        ("[F", vec![Value::Float(0.5)]),
        ("[D", vec![Value::Double(1e300)]),
        ("[Z", vec![Value::Bool(true), Value::Bool(false)]),
        ("[Ljava.lang.String;", vec![s("a"), Value::Null, s("a")]),
        (
            "[Ljava.lang.Object;",
            vec![
                Value::Int(1),
                Value::Bool(true),
                Value::Bool(true),
                Value::Int(1),
            ],
        ),
        (
            "[[I",
            vec![Value::Array {
                class: "[I".into(),
                items: vec![Value::Int(9)],
            }],
        ),
    ] {
        same(Value::Array {
            class: class.into(),
            items,
        });
    }
}

#[test]
fn typed_jdk_classes() {
    for v in [
        Value::Enum {
            class: "java.util.concurrent.TimeUnit".into(),
            constant: "HOURS".into(),
        },
        Value::Uuid {
            most: -1,
            least: 42,
        },
        Value::Date(-1),
        Value::ObjectName("org.apache.cassandra.db:type=Tables,keyspace=ks,table=t".into()),
    ] {
        same(v);
    }
    for (class, text) in [
        ("java.math.BigInteger", "0"),
        ("java.math.BigInteger", "-1"),
        (
            "java.math.BigInteger",
            "340282366920938463463374607431768211456",
        ),
        ("java.math.BigDecimal", "0.001"),
        ("java.math.BigDecimal", "-98765.4321"),
        ("java.math.BigDecimal", "1E+3"),
    ] {
        same(Value::BigNumber {
            class: class.into(),
            text: text.into(),
        });
    }
}

#[test]
fn collections() {
    let items = vec![
        s("x"),
        Value::Int(2),
        Value::Null,
        Value::ObjectName("a:b=c".into()),
    ];
    for class in [
        "java.util.ArrayList",
        "java.util.LinkedList",
        "javax.management.AttributeList",
    ] {
        same(Value::List {
            class: class.into(),
            items: items.clone(),
        });
    }
    for class in [
        "java.util.HashSet",
        "java.util.LinkedHashSet",
        "java.util.TreeSet",
    ] {
        same(Value::Set {
            class: class.into(),
            items: items.clone(),
        });
    }
    let entries: Vec<_> = (0..40)
        .map(|i| (s(&format!("k{i}")), Value::Long(i)))
        .collect();
    for class in [
        "java.util.HashMap",
        "java.util.LinkedHashMap",
        "java.util.TreeMap",
        "java.util.Hashtable",
    ] {
        same(Value::Map {
            class: class.into(),
            entries: entries.clone(),
        });
    }
    // Other collection classes are written as the plain JDK implementation.
    let back = roundtrip(&Value::List {
        class: "java.util.Collections$UnmodifiableList".into(),
        items: vec![s("u")],
    });
    assert_eq!(
        back,
        Value::List {
            class: "java.util.ArrayList".into(),
            items: vec![s("u")]
        }
    );
    let back = roundtrip(&Value::Map {
        class: "java.util.concurrent.ConcurrentHashMap".into(),
        entries: vec![],
    });
    assert_eq!(back.as_entries(), Some(&[][..]));
}

/// What the JMX client sends for DGC: `Lease{value, VMID{addr, UID}}` as generic objects.
fn lease() -> Value {
    let uid_desc = Arc::new(desc(
        "java.rmi.server.UID",
        1086053664494604050,
        SC_SERIALIZABLE,
        &[
            (b'S', "count", None),
            (b'J', "time", None),
            (b'I', "unique", None),
        ],
        None,
    ));
    let uid = Value::Object(Object {
        desc: uid_desc,
        class_data: vec![ClassData {
            class: "java.rmi.server.UID".into(),
            fields: vec![
                ("count".into(), Value::Short(-32767)),
                ("time".into(), Value::Long(1795900449402)),
                ("unique".into(), Value::Int(-1035283195)),
            ],
            annotations: vec![],
        }],
    });
    let vmid = Value::Object(Object {
        desc: Arc::new(desc(
            "java.rmi.dgc.VMID",
            -538642295484486218,
            SC_SERIALIZABLE,
            &[
                (b'[', "addr", Some("[B")),
                (b'L', "uid", Some("Ljava/rmi/server/UID;")),
            ],
            None,
        )),
        class_data: vec![ClassData {
            class: "java.rmi.dgc.VMID".into(),
            fields: vec![
                ("addr".into(), Value::Bytes(vec![1; 8])),
                ("uid".into(), uid),
            ],
            annotations: vec![],
        }],
    });
    Value::Object(Object {
        desc: Arc::new(desc(
            "java.rmi.dgc.Lease",
            -5713411624328831948,
            SC_SERIALIZABLE,
            &[
                (b'J', "value", None),
                (b'L', "vmid", Some("Ljava/rmi/dgc/VMID;")),
            ],
            None,
        )),
        class_data: vec![ClassData {
            class: "java.rmi.dgc.Lease".into(),
            fields: vec![("value".into(), Value::Long(600000)), ("vmid".into(), vmid)],
            annotations: vec![],
        }],
    })
}

#[test]
fn generic_objects_and_marshalled_object() {
    same(lease());
    // A class with writeObject custom data and a superclass.
    let sup = desc("p.Base", 5, SC_SERIALIZABLE, &[(b'Z', "flag", None)], None);
    let obj = Value::Object(Object {
        desc: Arc::new(desc(
            "p.Derived",
            6,
            SC_SERIALIZABLE | SC_WRITE_METHOD,
            &[(b'L', "name", Some("Ljava/lang/String;"))],
            Some(sup),
        )),
        class_data: vec![
            ClassData {
                class: "p.Base".into(),
                fields: vec![("flag".into(), Value::Bool(true))],
                annotations: vec![],
            },
            ClassData {
                class: "p.Derived".into(),
                fields: vec![("name".into(), s("n"))],
                annotations: vec![
                    Annotation::Block(vec![0; 2000]),
                    Annotation::Value(Value::Int(5)),
                    Annotation::Block(vec![1, 2]),
                ],
            },
        ],
    });
    same(obj);

    let inner = Value::Array {
        class: "[Ljava.lang.Object;".into(),
        items: vec![s("ks"), Value::Bool(true), Value::Int(3)],
    };
    let mo = marshalled_object(&inner).unwrap();
    let back = roundtrip(&mo);
    assert_eq!(back, mo);
    let o = back.as_object().unwrap();
    let Some(Value::Bytes(obj_bytes)) = o.field("objBytes") else {
        panic!()
    };
    assert_eq!(read_single(obj_bytes, Limits::default()).unwrap(), inner);
    // objBytes descriptors carry no RMI annotation: `78 70` right after the field count.
    let n = b"[Ljava.lang.Object;".len();
    let flags_at = 4 + 1 + 1 + 2 + n + 8;
    assert_eq!(
        &obj_bytes[flags_at..flags_at + 5],
        &[0x02, 0, 0, 0x78, 0x70]
    );
    let hash = obj_bytes.iter().fold(0i32, |h, &b| {
        h.wrapping_mul(31).wrapping_add(b as i8 as i32)
    });
    assert_eq!(o.field("hash"), Some(&Value::Int(hash)));
}

#[test]
fn rmi_annotations_follow_every_new_descriptor() {
    let bytes = to_stream(&Value::Int(1), true).unwrap();
    // Integer desc ... 70 78, Number desc ... 70 78, 70 (no superclass).
    let int_end = 4 + 1 + 1 + 2 + 17 + 8 + 1 + 2 + 1 + 2 + 5;
    assert_eq!(&bytes[int_end..int_end + 2], &[0x70, 0x78]);
    assert_eq!(
        &bytes[bytes.len() - 7..bytes.len() - 4],
        &[0x70, 0x78, 0x70]
    );
    let plain = to_stream(&Value::Int(1), false).unwrap();
    assert_eq!(plain.len() + 2, bytes.len());
}

#[test]
fn unwritable_values_are_errors() {
    for v in [
        Value::Cycle(0x7E0000),
        Value::Class("java.lang.String".into()),
        Value::CompositeData(CompositeData {
            type_name: "t".into(),
            items: vec![],
        }),
        Value::Array {
            class: "[I".into(),
            items: vec![s("not an int")],
        },
        Value::Array {
            class: "java.lang.String".into(),
            items: vec![],
        },
        Value::BigNumber {
            class: "java.math.BigInteger".into(),
            text: "12x".into(),
        },
    ] {
        assert!(
            matches!(to_stream(&v, true), Err(Error::Unwritable(_))),
            "{v:?}"
        );
    }
    // Class data that does not match the descriptor.
    let Value::Object(mut o) = lease() else {
        panic!()
    };
    o.class_data[0].fields.pop();
    assert!(matches!(
        to_stream(&Value::Object(o), false),
        Err(Error::Unwritable(_))
    ));
    let mut w = ObjectWriter::new(false);
    assert!(matches!(
        w.write_utf(&"x".repeat(70_000)),
        Err(Error::Unwritable(_))
    ));
}

/// Large but legitimate results stay within the default limits.
#[test]
fn large_results_fit_the_default_limits() {
    let items: Vec<Value> = (0..100_000).map(|i| s(&format!("10.0.{i}"))).collect();
    same(Value::List {
        class: "java.util.ArrayList".into(),
        items,
    });
    let entries: Vec<_> = (0..25_600)
        .map(|i| (s(&format!("token-{i}")), s(&format!("10.0.0.{}", i % 256))))
        .collect();
    same(Value::Map {
        class: "java.util.LinkedHashMap".into(),
        entries,
    });
}
