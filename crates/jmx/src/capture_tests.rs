//! Golden-capture tests: our encodings are byte-identical to the JDK's, and real JDK returns
//! decode (also when they arrive in pieces).

use javaser::{Limits, Value};

use crate::call::{encode_call, parse_return, Method, Outcome, ReturnKind};
use crate::stub::{decode_stub, ObjId};
use crate::throwable::JavaThrowable;
use crate::transport::Parsed;
use crate::{dgc, hashes, JmxError};

fn capture(name: &str) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/reference/captures/"
    );
    std::fs::read(format!("{path}{name}")).unwrap_or_else(|e| panic!("capture {name}: {e}"))
}

/// Server-to-client bytes after ProtocolAck + endpoint (16 bytes) and the Return opcode.
fn return_stream(name: &str) -> Vec<u8> {
    let s2c = capture(&format!("{name}.s2c.bin"));
    assert_eq!(s2c[0x10], 0x51, "{name}: Return opcode");
    s2c[0x11..].to_vec()
}

fn decode(name: &str, kind: ReturnKind) -> Outcome {
    let bytes = return_stream(name);
    let full = match parse_return(&bytes, kind, Limits::default()).unwrap() {
        Parsed::Done(ret, used) => {
            // Only a PingAck may follow the Return in these captures.
            assert!(
                bytes[used..].iter().all(|b| *b == 0x53),
                "{name}: trailing bytes"
            );
            // Every strict prefix is "need more", never an error: the transport relies on it.
            for cut in 0..used {
                match parse_return(&bytes[..cut], kind, Limits::default()) {
                    Ok(Parsed::NeedMore) => {}
                    Ok(Parsed::Done(..)) => panic!("{name}: done after {cut} of {used} bytes"),
                    Err(e) => panic!("{name}: prefix {cut}: {e}"),
                }
            }
            ret
        }
        Parsed::NeedMore => panic!("{name}: incomplete"),
    };
    full.outcome
}

fn obj_id_at(bytes: &[u8], at: usize) -> ObjId {
    let b = &bytes[at..at + 22];
    ObjId {
        num: i64::from_be_bytes(b[..8].try_into().unwrap()),
        unique: i32::from_be_bytes(b[8..12].try_into().unwrap()),
        time: i64::from_be_bytes(b[12..20].try_into().unwrap()),
        count: i16::from_be_bytes(b[20..].try_into().unwrap()),
    }
}

#[test]
fn get_attribute_call_is_byte_identical() {
    let c2s = capture("09-getAttribute-String.c2s.bin");
    let target = obj_id_at(&c2s, 0x1d);
    let msg = encode_call(
        &target,
        Method::Hash(hashes::GET_ATTRIBUTE),
        &[
            &Value::ObjectName("test:type=Probe".into()),
            &Value::String("Name".into()),
            &Value::Null,
        ],
    )
    .unwrap();
    assert_eq!(msg, c2s[0x16..]);
}

#[test]
fn registry_lookup_call_is_byte_identical() {
    let c2s = capture("02-registry-lookup-raw.c2s.bin");
    let msg = encode_call(
        &ObjId::REGISTRY,
        Method::Op(hashes::REGISTRY_OP_LOOKUP, hashes::REGISTRY_INTERFACE),
        &[&Value::String("jmxrmi".into())],
    )
    .unwrap();
    assert_eq!(msg, c2s[0x16..0x16 + msg.len()]);
}

#[test]
fn dgc_dirty_is_byte_identical() {
    let c2s = capture("03-dgc-dirty-rmiserver.c2s.bin");
    let id = ObjId {
        num: 0x8101903f5386694eu64 as i64,
        unique: 0xea4ac4d7u32 as i32,
        time: 0x1a224021ca9,
        count: -32767,
    };
    let vmid = dgc::Vmid::from_parts(
        [0xea, 0x32, 0xa3, 0xa8, 0x4a, 0x34, 0x2a, 0x7c],
        0xc24ad505u32 as i32,
        0x1a22402227a,
        -32767,
    );
    let msg = dgc::encode_dirty(&[id], i64::MIN, &vmid, 600000);
    assert_eq!(msg, c2s[0x16..]);
}

#[test]
fn dgc_clean_is_byte_identical() {
    let c2s = capture("20-dgc-clean-1.c2s.bin");
    let ids = [
        obj_id_at_fields(&c2s, 0xbd, 0x102),
        obj_id_at_fields(&c2s, 0x116, 0x124),
        obj_id_at_fields(&c2s, 0x138, 0x146),
    ];
    let vmid = dgc::Vmid::from_parts(
        [0xea, 0x32, 0xa3, 0xa8, 0x4a, 0x34, 0x2a, 0x7c],
        0xc24ad505u32 as i32,
        0x1a22402227a,
        -32767,
    );
    let msg = dgc::encode_clean(&ids, i64::MIN + 3, &vmid, false);
    assert_eq!(msg, c2s[0x16..]);
}

/// An ObjID serialized as an object: objNum at `num`, UID fields (count, time, unique) at `uid`.
fn obj_id_at_fields(bytes: &[u8], num: usize, uid: usize) -> ObjId {
    ObjId {
        num: i64::from_be_bytes(bytes[num..num + 8].try_into().unwrap()),
        count: i16::from_be_bytes(bytes[uid..uid + 2].try_into().unwrap()),
        time: i64::from_be_bytes(bytes[uid + 2..uid + 10].try_into().unwrap()),
        unique: i32::from_be_bytes(bytes[uid + 10..uid + 14].try_into().unwrap()),
    }
}

#[test]
fn decodes_generated_and_proxy_stubs() {
    let Outcome::Normal(stub) = decode("02-registry-lookup-raw", ReturnKind::Object) else {
        panic!()
    };
    let r = decode_stub(&stub).unwrap();
    assert_eq!(
        (r.host.as_str(), r.port, r.tls, r.is_result),
        ("127.0.0.1", 41100, false, true)
    );
    assert_eq!(r.obj_id.num, 0x8101903f5386694eu64 as i64);

    let Outcome::Normal(stub) = decode("p02-registry-lookup-proxy-stub", ReturnKind::Object) else {
        panic!()
    };
    let r = decode_stub(&stub).unwrap();
    assert_eq!((r.port, r.tls, r.is_result), (41200, false, true));
}

#[test]
fn decodes_exceptions() {
    let Outcome::Exceptional(v) = decode(
        "14-invoke-throws-IllegalArgumentException",
        ReturnKind::Object,
    ) else {
        panic!()
    };
    let t = JavaThrowable::from_value(&v).unwrap();
    assert_eq!(t.class, "java.lang.IllegalArgumentException");
    assert_eq!(t.message.as_deref(), Some("bad argument: boom"));
    assert_eq!(
        t.wrapper.as_deref(),
        Some("javax.management.RuntimeMBeanException")
    );
    assert!(!t.stack_trace.is_empty());

    let Outcome::Exceptional(v) = decode(
        "15-getAttribute-InstanceNotFoundException",
        ReturnKind::Object,
    ) else {
        panic!()
    };
    let e = JmxError::from_throwable(JavaThrowable::from_value(&v).unwrap());
    assert!(
        matches!(e, JmxError::InstanceNotFound(t) if t.message.as_deref() == Some("test:type=Missing"))
    );
}

#[test]
fn decodes_primitive_void_and_mbean_info_returns() {
    assert!(matches!(
        decode("17-isRegistered", ReturnKind::Bool),
        Outcome::Normal(Value::Bool(true))
    ));
    assert!(matches!(
        decode("19-close", ReturnKind::Void),
        Outcome::Normal(Value::Null)
    ));
    let Outcome::Normal(v) = decode("18-getMBeanInfo", ReturnKind::Object) else {
        panic!()
    };
    let info = crate::info::MBeanInfo::from_value(&v).unwrap();
    let process = info
        .operations
        .iter()
        .find(|o| o.name == "process")
        .unwrap();
    assert_eq!(process.params.len(), 8);
    assert_eq!(process.params[0].type_name, "java.util.Set");
    assert_eq!(process.return_type, "java.util.List");
    assert!(info
        .attributes
        .iter()
        .any(|a| a.name == "Counters" && a.readable && !a.writable));
}

#[test]
fn server_exceptions_mark_the_connection_unusable() {
    use crate::call::Return;
    let object = |class: &str| {
        Value::Object(javaser::Object {
            desc: std::sync::Arc::new(javaser::classes::desc(class, 1, 2, &[], None)),
            class_data: vec![],
        })
    };
    let ret = |outcome| Return {
        uid: [0; 14],
        outcome,
    };
    assert!(ret(Outcome::Exceptional(object("java.rmi.ServerException"))).is_server_exception());
    assert!(!ret(Outcome::Exceptional(object(
        "java.lang.IllegalStateException"
    )))
    .is_server_exception());
    assert!(!ret(Outcome::Normal(object("java.rmi.ServerException"))).is_server_exception());
}
