//! Builders for values of JDK classes that have no typed variant but that a JMX/RMI client
//! must send: `java.rmi.MarshalledObject`, `java.rmi.server.UID`, `ObjID`, `java.rmi.dgc.VMID`
//! and `Lease`, as generic [`Object`]s with the exact descriptors of the JDK (§3.6, §4.2).
//!
//! Owns those shapes only; it must not know about call framing, sockets or method hashes.

use std::sync::{Arc, LazyLock};

use crate::error::Result;
use crate::value::*;
use crate::write::classes::desc;
use crate::write::ObjectWriter;

fn object(desc: ClassDesc, fields: Vec<(&str, Value)>) -> Value {
    shared_object(Arc::new(desc), fields)
}

fn shared_object(desc: Arc<ClassDesc>, fields: Vec<(&str, Value)>) -> Value {
    let class = desc.name.clone();
    Value::Object(Object {
        desc,
        class_data: vec![ClassData {
            class,
            fields: fields
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            annotations: vec![],
        }],
    })
}

/// `java.rmi.MarshalledObject` holding `inner` exactly as RMI builds it: `objBytes` is a
/// separate stream without RMI annotations, `locBytes` is null, `hash` is Java's `31 * h + b`
/// over the signed `objBytes` bytes. A null `inner` gives hash 13 and null `objBytes`, as the
/// JDK does.
pub fn marshalled_object(inner: &Value) -> Result<Value> {
    let (hash, obj_bytes) = if *inner == Value::Null {
        (13, Value::Null)
    } else {
        let mut w = ObjectWriter::new(false);
        w.write_value(inner)?;
        let bytes = w.finish();
        let hash = bytes.iter().fold(0i32, |h, &b| {
            h.wrapping_mul(31).wrapping_add(i32::from(b as i8))
        });
        (hash, Value::Bytes(bytes))
    };
    // Built once: every `invoke` and `setAttribute` sends one.
    static DESC: LazyLock<Arc<ClassDesc>> = LazyLock::new(|| {
        Arc::new(desc(
            "java.rmi.MarshalledObject",
            8988374069173025854,
            SC_SERIALIZABLE,
            &[
                (b'I', "hash", None),
                (b'[', "locBytes", Some("[B")),
                (b'[', "objBytes", Some("[B")),
            ],
            None,
        ))
    });
    Ok(shared_object(
        DESC.clone(),
        vec![
            ("hash", Value::Int(hash)),
            ("locBytes", Value::Null),
            ("objBytes", obj_bytes),
        ],
    ))
}

/// `java.rmi.server.UID{count, time, unique}` (fields in wire order).
pub fn uid(unique: i32, time: i64, count: i16) -> Value {
    object(
        desc(
            "java.rmi.server.UID",
            1086053664494604050,
            SC_SERIALIZABLE,
            &[
                (b'S', "count", None),
                (b'J', "time", None),
                (b'I', "unique", None),
            ],
            None,
        ),
        vec![
            ("count", Value::Short(count)),
            ("time", Value::Long(time)),
            ("unique", Value::Int(unique)),
        ],
    )
}

/// `java.rmi.server.ObjID{objNum, space}`; `space` is a [`uid`] value.
pub fn obj_id(obj_num: i64, space: Value) -> Value {
    object(
        desc(
            "java.rmi.server.ObjID",
            -6386392263968365220,
            SC_SERIALIZABLE,
            &[
                (b'J', "objNum", None),
                (b'L', "space", Some("Ljava/rmi/server/UID;")),
            ],
            None,
        ),
        vec![("objNum", Value::Long(obj_num)), ("space", space)],
    )
}

/// `java.rmi.server.ObjID[]`, the first argument of DGC `dirty`/`clean`.
pub fn obj_id_array(ids: Vec<Value>) -> Value {
    Value::Array {
        class: "[Ljava.rmi.server.ObjID;".into(),
        items: ids,
    }
}

/// `java.rmi.dgc.VMID{addr, uid}`.
pub fn vmid(addr: [u8; 8], uid: Value) -> Value {
    object(
        desc(
            "java.rmi.dgc.VMID",
            -538642295484486218,
            SC_SERIALIZABLE,
            &[
                (b'[', "addr", Some("[B")),
                (b'L', "uid", Some("Ljava/rmi/server/UID;")),
            ],
            None,
        ),
        vec![("addr", Value::Bytes(addr.to_vec())), ("uid", uid)],
    )
}

/// `java.rmi.dgc.Lease{value, vmid}`; `vmid` may be `Value::Null` (the server then assigns one).
pub fn lease(value_ms: i64, vmid: Value) -> Value {
    object(
        desc(
            "java.rmi.dgc.Lease",
            -5713411624328831948,
            SC_SERIALIZABLE,
            &[
                (b'J', "value", None),
                (b'L', "vmid", Some("Ljava/rmi/dgc/VMID;")),
            ],
            None,
        ),
        vec![("value", Value::Long(value_ms)), ("vmid", vmid)],
    )
}
