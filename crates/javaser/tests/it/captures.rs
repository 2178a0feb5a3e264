//! Decoding every golden JDK capture, and writing byte-identical copies of what the JDK sent.

use crate::common::*;
use javaser::*;

#[test]
fn every_capture_stream_decodes() {
    let files = all_capture_files();
    assert!(files.len() >= 40, "captures missing: {files:?}");
    let mut n = 0;
    for f in files {
        for s in streams(&f) {
            assert!(!s.items.is_empty(), "{f}");
            n += 1;
        }
    }
    assert!(n >= 45, "only {n} streams");
}

#[test]
fn capture_09_get_attribute_string() {
    let call = single("09-getAttribute-String.c2s.bin");
    assert!(matches!(&call.items[0], Item::Block(b) if b.len() == 34));
    assert_eq!(
        values(&call),
        vec![
            Value::ObjectName("test:type=Probe".into()),
            Value::String("Name".into()),
            Value::Null
        ]
    );
    // The writer reproduces the JDK's call stream byte for byte.
    let Item::Block(header) = &call.items[0] else {
        unreachable!()
    };
    let mut w = ObjectWriter::new(true);
    w.write_bytes(header);
    w.write_value(&Value::ObjectName("test:type=Probe".into()))
        .unwrap();
    w.write_value(&Value::String("Name".into())).unwrap();
    w.write_value(&Value::Null).unwrap();
    assert_eq!(w.finish(), call.bytes);

    let ret = single("09-getAttribute-String.s2c.bin");
    assert_eq!(values(&ret), vec![Value::String("probe-1".into())]);
    let mut r = ObjectReader::new(&ret.bytes, Limits::default()).unwrap();
    assert_eq!(r.read_u8().unwrap(), 1, "NormalReturn");
    r.read_i32().unwrap();
    r.read_i64().unwrap();
    r.read_i16().unwrap();
    assert_eq!(r.read_value().unwrap(), Value::String("probe-1".into()));
    assert!(r.is_at_end());
}

/// Re-encodes a decoded stream item by item (RMI annotations on).
fn reencode(s: &Stream) -> Result<Vec<u8>, Error> {
    let mut w = ObjectWriter::new(true);
    for item in &s.items {
        match item {
            Item::Block(b) => w.write_bytes(b),
            Item::Value(v) => w.write_value(v)?,
        }
    }
    Ok(w.finish())
}

/// Every client and server stream of the captures is reproduced byte for byte by decoding it
/// and writing the items again, except three that hold values the writer cannot produce and
/// the MBeanInfo, where the JDK wrote an equal string twice (the writer shares equal strings,
/// as the JDK does for interned ones).
#[test]
fn writer_reproduces_every_capture_stream() {
    let mut identical = 0;
    for f in all_capture_files() {
        for (i, s) in streams(&f).iter().enumerate() {
            let expect_unwritable = [
                "11-getAttribute-CompositeData.s2c.bin",
                "14-invoke-throws-IllegalArgumentException.s2c.bin",
                "15-getAttribute-InstanceNotFoundException.s2c.bin",
            ]
            .contains(&f.as_str());
            match reencode(s) {
                Err(Error::Unwritable(_)) if expect_unwritable => {}
                Ok(b) if f == "18-getMBeanInfo.s2c.bin" => {
                    assert_eq!(b.len(), s.bytes.len());
                    assert_ne!(b, s.bytes);
                }
                Ok(b) => {
                    let at = b.iter().zip(&s.bytes).position(|(a, b)| a != b);
                    assert!(b == s.bytes, "{f} #{i}: first difference at {at:?}");
                    identical += 1;
                }
                Err(e) => panic!("{f} #{i}: {e}"),
            }
        }
    }
    assert!(identical >= 55, "{identical}");
}

/// Every prefix of every capture stream is either a clean item boundary or `Truncated`.
#[test]
fn every_truncation_of_every_capture_is_truncated() {
    let mut checked = 0;
    for f in all_capture_files() {
        for s in streams(&f) {
            for k in 0..s.bytes.len() {
                match parse_stream(&s.bytes[..k]) {
                    Err(Error::Truncated) => {}
                    Ok((_, _, end)) => assert!(
                        s.boundaries.contains(&end) && end == k,
                        "{f}: prefix {k} parsed cleanly to {end}"
                    ),
                    Err(e) => panic!("{f}: prefix {k}: {e}"),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20_000, "{checked}");
}

fn header_then_values(name: &str) -> (Vec<u8>, Vec<Value>) {
    let s = single(name);
    let Item::Block(h) = &s.items[0] else {
        panic!("{name}: no header block")
    };
    (h.clone(), values(&s))
}

#[test]
fn capture_10_hash_map() {
    let (h, v) = header_then_values("10-getAttribute-HashMap.s2c.bin");
    assert_eq!(h.len(), 15);
    assert_eq!(h[0], 1, "NormalReturn");
    assert_eq!(v[0].class_name(), Some("java.util.HashMap"));
    assert_eq!(
        v,
        vec![Value::Map {
            class: "java.util.HashMap".into(),
            entries: vec![
                (Value::String("alpha".into()), Value::Int(1)),
                (Value::String("beta".into()), Value::Int(2)),
            ],
        }]
    );
    assert_eq!(v[0].to_json(), serde_json::json!({"alpha": 1, "beta": 2}));
}

#[test]
fn capture_11_composite_data() {
    let (_, v) = header_then_values("11-getAttribute-CompositeData.s2c.bin");
    let Value::CompositeData(c) = &v[0] else {
        panic!("{:?}", v[0])
    };
    assert_eq!(c.type_name, "Snapshot");
    let names: Vec<_> = c.items.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["count", "label", "ok", "when"]);
    assert_eq!(
        v[0].to_json(),
        serde_json::json!({"count": 42, "label": "hello", "ok": true, "when": 1700000000000i64})
    );
}

#[test]
fn capture_12_attribute_list() {
    let (_, args) = header_then_values("12-getAttributes.c2s.bin");
    assert_eq!(
        args[1],
        Value::Array {
            class: "[Ljava.lang.String;".into(),
            items: vec![
                Value::String("Name".into()),
                Value::String("Counters".into())
            ],
        }
    );
    let (_, v) = header_then_values("12-getAttributes.s2c.bin");
    let Value::List { class, items } = &v[0] else {
        panic!("{:?}", v[0])
    };
    assert_eq!(class, "javax.management.AttributeList");
    let names: Vec<_> = items
        .iter()
        .map(|a| {
            a.as_object()
                .unwrap()
                .field("name")
                .unwrap()
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["Name", "Counters"]);
    let counters = items[1].as_object().unwrap().field("value").unwrap();
    assert_eq!(counters.as_entries().unwrap().len(), 2);
}

/// The invoke call of capture 13, rebuilt from scratch with `marshalled_object`, is the JDK's.
#[test]
fn capture_13_invoke_with_marshalled_object_is_byte_identical() {
    let call = single("13-invoke-Set-7booleans-returns-List.c2s.bin");
    let Item::Block(header) = &call.items[0] else {
        panic!()
    };
    let vals = values(&call);
    // The MarshalledObject as decoded: hash, null locBytes, nested stream.
    let mo = vals[2].as_object().unwrap();
    assert_eq!(mo.class_name(), "java.rmi.MarshalledObject");
    assert_eq!(mo.field("hash"), Some(&Value::Int(-1168366819)));
    assert_eq!(mo.field("locBytes"), Some(&Value::Null));
    let Some(Value::Bytes(inner)) = mo.field("objBytes") else {
        panic!()
    };
    let params = read_single(inner, Limits::default()).unwrap();
    let items = params.as_items().unwrap();
    assert_eq!(items.len(), 8);
    let Value::Set { class, items: set } = &items[0] else {
        panic!("{:?}", items[0])
    };
    assert_eq!(class, "java.util.HashSet");
    let bools: Vec<_> = items[1..].iter().map(|b| b.as_bool().unwrap()).collect();
    assert_eq!(bools, [true, false, true, false, true, false, true]);

    let mut params_items = vec![Value::Set {
        class: "java.util.HashSet".into(),
        items: set.clone(),
    }];
    params_items.extend(bools.iter().map(|&b| Value::Bool(b)));
    let mut w = ObjectWriter::new(true);
    w.write_bytes(header);
    w.write_value(&Value::ObjectName("test:type=Probe".into()))
        .unwrap();
    w.write_value(&Value::String("process".into())).unwrap();
    w.write_value(
        &marshalled_object(&Value::Array {
            class: "[Ljava.lang.Object;".into(),
            items: params_items,
        })
        .unwrap(),
    )
    .unwrap();
    let mut sig = vec![Value::String("java.util.Set".into())];
    sig.extend(std::iter::repeat_n(Value::String("boolean".into()), 7));
    w.write_value(&Value::Array {
        class: "[Ljava.lang.String;".into(),
        items: sig,
    })
    .unwrap();
    w.write_value(&Value::Null).unwrap();
    assert_eq!(w.finish(), call.bytes);

    let (_, ret) = header_then_values("13-invoke-Set-7booleans-returns-List.s2c.bin");
    assert_eq!(
        ret[0].as_items().unwrap().last().unwrap().as_str(),
        Some("flags=truefalsetruefalsetruefalsetrue")
    );
}

#[test]
fn capture_14_runtime_mbean_exception_with_cause_cycles() {
    let (h, v) = header_then_values("14-invoke-throws-IllegalArgumentException.s2c.bin");
    assert_eq!(h[0], 2, "ExceptionalReturn");
    let outer = v[0].as_object().unwrap();
    assert_eq!(outer.class_name(), "javax.management.RuntimeMBeanException");
    assert_eq!(
        outer.field("detailMessage").unwrap().as_str(),
        Some("java.lang.IllegalArgumentException: bad argument: boom")
    );
    let inner = outer
        .field("runtimeException")
        .unwrap()
        .as_object()
        .unwrap();
    assert_eq!(inner.class_name(), "java.lang.IllegalArgumentException");
    assert!(outer.is_instance_of("java.lang.RuntimeException"));
    assert!(!outer.is_instance_of("java.lang.Error"));
    assert_eq!(
        inner.class_chain().collect::<Vec<_>>(),
        [
            "java.lang.IllegalArgumentException",
            "java.lang.RuntimeException",
            "java.lang.Exception",
            "java.lang.Throwable"
        ]
    );
    assert_eq!(
        inner.field("detailMessage").unwrap().as_str(),
        Some("bad argument: boom")
    );
    // Throwable.cause == this is a reference to the object being decoded.
    let (Some(Value::Cycle(a)), Some(Value::Cycle(b))) =
        (outer.field("cause"), inner.field("cause"))
    else {
        panic!("causes are not cycles")
    };
    assert!(*a >= 0x7E0000 && *b > *a);
    let trace = inner.field("stackTrace").unwrap();
    let Value::Array { class, items } = trace else {
        panic!()
    };
    assert_eq!(class, "[Ljava.lang.StackTraceElement;");
    let first = items[0].as_object().unwrap();
    assert_eq!(
        first.field("declaringClass").unwrap().as_str(),
        Some("CaptureServer$Probe")
    );
    assert_eq!(first.field("methodName").unwrap().as_str(), Some("fail"));
    assert!(items.len() > 10);
    assert_eq!(
        inner.field("suppressedExceptions"),
        Some(&Value::List {
            class: "java.util.Collections$EmptyList".into(),
            items: vec![]
        })
    );
}

#[test]
fn capture_15_instance_not_found() {
    let (h, v) = header_then_values("15-getAttribute-InstanceNotFoundException.s2c.bin");
    assert_eq!(h[0], 2);
    let ex = v[0].as_object().unwrap();
    assert_eq!(
        ex.class_name(),
        "javax.management.InstanceNotFoundException"
    );
    assert_eq!(
        ex.field("detailMessage").unwrap().as_str(),
        Some("test:type=Missing")
    );
}

#[test]
fn capture_16_query_names_and_17_is_registered() {
    let (_, v) = header_then_values("16-queryNames.s2c.bin");
    assert_eq!(
        v,
        vec![Value::Set {
            class: "java.util.HashSet".into(),
            items: vec![Value::ObjectName("test:type=Probe".into())],
        }]
    );
    let (_, args) = header_then_values("16-queryNames.c2s.bin");
    // MarshalledObject(null): hash 13, both byte arrays null; the helper builds the same.
    assert_eq!(args[1], marshalled_object(&Value::Null).unwrap());

    let ret = single("17-isRegistered.s2c.bin");
    let mut r = ObjectReader::new(&ret.bytes, Limits::default()).unwrap();
    assert_eq!(r.read_bytes(15).unwrap()[0], 1);
    assert!(
        r.read_bool().unwrap(),
        "primitive boolean return in the header block"
    );
    assert!(r.is_at_end());
}

#[test]
fn capture_18_mbean_info_is_a_generic_object() {
    let (_, v) = header_then_values("18-getMBeanInfo.s2c.bin");
    let info = v[0].as_object().unwrap();
    assert_eq!(info.class_name(), "javax.management.MBeanInfo");
    assert_eq!(
        info.field("className").unwrap().as_str(),
        Some("CaptureServer$Probe")
    );
    let attrs = info.field("attributes").unwrap().as_items().unwrap();
    let names: Vec<_> = attrs
        .iter()
        .map(|a| {
            a.as_object()
                .unwrap()
                .field("name")
                .unwrap()
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["Name", "Snapshot", "Counters"]);
    let ops = info.field("operations").unwrap().as_items().unwrap();
    let process = ops[1].as_object().unwrap();
    assert_eq!(process.field("name").unwrap().as_str(), Some("process"));
    assert_eq!(process.field("impact"), Some(&Value::Int(3)));
    assert_eq!(
        process
            .field("signature")
            .unwrap()
            .as_items()
            .unwrap()
            .len(),
        8
    );
    // MBeanFeatureInfo's custom data (descriptor) is kept as annotations.
    let ann = attrs[0]
        .as_object()
        .unwrap()
        .annotations_of("javax.management.MBeanFeatureInfo")
        .unwrap();
    assert_eq!(ann[0], Annotation::Block(vec![1]));
}

#[test]
fn proxy_stub_of_capture_p02() {
    let (_, v) = header_then_values("p02-registry-lookup-proxy-stub.s2c.bin");
    let stub = v[0].as_object().unwrap();
    assert_eq!(
        stub.desc.proxy_interfaces.as_deref(),
        Some(&["javax.management.remote.rmi.RMIServer".to_string()][..])
    );
    let h = stub.field("h").unwrap().as_object().unwrap();
    let ann = h.annotations_of("java.rmi.server.RemoteObject").unwrap();
    let Annotation::Block(b) = &ann[0] else {
        panic!()
    };
    assert_eq!(&b[..12], b"\x00\x0aUnicastRef");
}

/// The DGC.dirty call of capture 05, rebuilt from scratch with the `jdk` builders.
#[test]
fn capture_05_dgc_dirty_built_with_jdk_helpers_is_byte_identical() {
    let call = &streams("05-rmiserver-newClient-credentials.c2s.bin")[1];
    let Item::Block(header) = &call.items[0] else {
        panic!()
    };
    let Item::Block(seq) = &call.items[2] else {
        panic!()
    };
    let vals = values(call);
    // Take the run-specific numbers from the capture, build the values with the helpers.
    let id = vals[0].as_items().unwrap()[0].as_object().unwrap();
    let space = id.field("space").unwrap().as_object().unwrap();
    let n = |o: &Object, f: &str| o.field(f).unwrap().as_i64().unwrap();
    let lease = vals[1].as_object().unwrap();
    let vmid = lease.field("vmid").unwrap().as_object().unwrap();
    let vuid = vmid.field("uid").unwrap().as_object().unwrap();
    let Some(Value::Bytes(addr)) = vmid.field("addr") else {
        panic!()
    };

    let mut w = ObjectWriter::new(true);
    w.write_bytes(header);
    w.write_value(&jdk::obj_id_array(vec![jdk::obj_id(
        n(id, "objNum"),
        jdk::uid(
            n(space, "unique") as i32,
            n(space, "time"),
            n(space, "count") as i16,
        ),
    )]))
    .unwrap();
    w.write_bytes(seq);
    w.write_value(&jdk::lease(
        600000,
        jdk::vmid(
            addr[..].try_into().unwrap(),
            jdk::uid(
                n(vuid, "unique") as i32,
                n(vuid, "time"),
                n(vuid, "count") as i16,
            ),
        ),
    ))
    .unwrap();
    assert_eq!(w.finish(), call.bytes);
}
