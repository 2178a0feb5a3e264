//! Remote references: decoding the endpoint and ObjID out of a stub the server returned.
//!
//! Owns [`ObjId`] (its raw 22-byte call-header form) and [`RemoteRef`], read from the custom data
//! of `java.rmi.server.RemoteObject` in either stub form (a generated `*_Stub` class or a
//! dynamic proxy whose `h` is a `RemoteObjectInvocationHandler`), with `UnicastRef` or
//! `UnicastRef2` refs. It must not open connections.

use javaser::{Annotation, Value};

use crate::JmxError;

const REMOTE_OBJECT: &str = "java.rmi.server.RemoteObject";
const SSL_FACTORY: &str = "javax.rmi.ssl.SslRMIClientSocketFactory";

/// A remote object identifier (`java.rmi.server.ObjID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjId {
    pub num: i64,
    pub unique: i32,
    pub time: i64,
    pub count: i16,
}

impl ObjId {
    /// A well-known ObjID (registry 0, DGC 2): all-zero UID.
    pub const fn well_known(num: i64) -> ObjId {
        ObjId {
            num,
            unique: 0,
            time: 0,
            count: 0,
        }
    }

    pub const REGISTRY: ObjId = ObjId::well_known(0);
    pub const DGC: ObjId = ObjId::well_known(2);

    /// The raw form used in call headers and refs: objNum, unique, time, count.
    pub fn to_raw(&self) -> [u8; 22] {
        let mut out = [0u8; 22];
        out[..8].copy_from_slice(&self.num.to_be_bytes());
        out[8..12].copy_from_slice(&self.unique.to_be_bytes());
        out[12..20].copy_from_slice(&self.time.to_be_bytes());
        out[20..].copy_from_slice(&self.count.to_be_bytes());
        out
    }
}

/// Where a remote object lives and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// The host the server advertised (informational: the client dials the configured host).
    pub host: String,
    pub port: u16,
    pub obj_id: ObjId,
    /// The stub carries `SslRMIClientSocketFactory`: connect with TLS.
    pub tls: bool,
    /// The ref came in a return value: the return must be acknowledged (DgcAck).
    pub is_result: bool,
}

/// Decodes a stub (generated class or dynamic proxy) into its remote ref.
pub fn decode_stub(value: &Value) -> Result<RemoteRef, JmxError> {
    let annotations = remote_object_data(value, 0).ok_or_else(|| {
        JmxError::Protocol(format!("expected a remote stub, got {}", describe(value)))
    })?;
    parse_ref(annotations)
}

fn remote_object_data(value: &Value, depth: usize) -> Option<&[Annotation]> {
    let obj = value.as_object()?;
    if let Some(data) = obj.annotations_of(REMOTE_OBJECT) {
        return Some(data);
    }
    // Dynamic proxy: java.lang.reflect.Proxy.h is a RemoteObjectInvocationHandler.
    if depth == 0 {
        return obj.field("h").and_then(|h| remote_object_data(h, 1));
    }
    None
}

fn describe(value: &Value) -> String {
    match value {
        Value::Object(o) => o.class_name().to_string(),
        other => format!("{other:?}").chars().take(80).collect(),
    }
}

/// Reads block data across segment boundaries; objects interrupt it.
struct Cursor<'a> {
    items: &'a [Annotation],
    item: usize,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, JmxError> {
        let mut out = Vec::with_capacity(n.min(1024));
        while out.len() < n {
            match self.items.get(self.item) {
                Some(Annotation::Block(b)) => {
                    let take = (n - out.len()).min(b.len() - self.pos);
                    out.extend_from_slice(&b[self.pos..self.pos + take]);
                    self.pos += take;
                    if self.pos == b.len() {
                        self.item += 1;
                        self.pos = 0;
                    }
                }
                _ => return Err(JmxError::Protocol("remote ref data is truncated".into())),
            }
        }
        Ok(out)
    }

    fn object(&mut self) -> Result<&'a Value, JmxError> {
        match self.items.get(self.item) {
            Some(Annotation::Value(v)) if self.pos == 0 => {
                self.item += 1;
                Ok(v)
            }
            _ => Err(JmxError::Protocol(
                "remote ref: expected a socket factory object".into(),
            )),
        }
    }

    fn u8(&mut self) -> Result<u8, JmxError> {
        Ok(self.bytes(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, JmxError> {
        Ok(i16::from_be_bytes(
            self.bytes(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, JmxError> {
        Ok(i32::from_be_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64(&mut self) -> Result<i64, JmxError> {
        Ok(i64::from_be_bytes(
            self.bytes(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn utf(&mut self) -> Result<String, JmxError> {
        let len = self.i16()? as u16 as usize;
        let raw = self.bytes(len)?;
        Ok(decode_modified_utf8(&raw))
    }
    fn obj_id(&mut self) -> Result<ObjId, JmxError> {
        Ok(ObjId {
            num: self.i64()?,
            unique: self.i32()?,
            time: self.i64()?,
            count: self.i16()?,
        })
    }
}

fn parse_ref(items: &[Annotation]) -> Result<RemoteRef, JmxError> {
    let mut c = Cursor {
        items,
        item: 0,
        pos: 0,
    };
    let kind = c.utf()?;
    let (host, port, tls) = match kind.as_str() {
        "UnicastRef" => (c.utf()?, c.i32()?, false),
        "UnicastRef2" => {
            let format = c.u8()?;
            let host = c.utf()?;
            let port = c.i32()?;
            let tls = match format {
                0 => false,
                1 => match c.object()? {
                    Value::Null => false,
                    Value::Object(o) if o.class_name() == SSL_FACTORY => true,
                    other => {
                        return Err(JmxError::Protocol(format!(
                            "unsupported RMI client socket factory {}",
                            describe(other)
                        )))
                    }
                },
                f => {
                    return Err(JmxError::Protocol(format!(
                        "unknown UnicastRef2 format {f}"
                    )))
                }
            };
            (host, port, tls)
        }
        other => {
            return Err(JmxError::Protocol(format!(
                "unsupported remote ref type {other:?}"
            )))
        }
    };
    let obj_id = c.obj_id()?;
    let is_result = c.u8()? != 0;
    let port =
        u16::try_from(port).map_err(|_| JmxError::Protocol(format!("bad port {port} in stub")))?;
    Ok(RemoteRef {
        host,
        port,
        obj_id,
        tls,
        is_result,
    })
}

/// Lossy modified-UTF-8 decoding, good enough for host names in refs.
fn decode_modified_utf8(raw: &[u8]) -> String {
    let mut units = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let (unit, len) = if b < 0x80 {
            (u16::from(b), 1)
        } else if b & 0xE0 == 0xC0 && i + 1 < raw.len() {
            ((u16::from(b & 0x1F) << 6) | u16::from(raw[i + 1] & 0x3F), 2)
        } else if b & 0xF0 == 0xE0 && i + 2 < raw.len() {
            (
                (u16::from(b & 0x0F) << 12)
                    | (u16::from(raw[i + 1] & 0x3F) << 6)
                    | u16::from(raw[i + 2] & 0x3F),
                3,
            )
        } else {
            (0xFFFD, 1)
        };
        units.push(unit);
        i += len;
    }
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use javaser::{ClassData, ClassDesc, Object};
    use std::sync::Arc;

    fn object(class: &str, class_data: Vec<ClassData>) -> Value {
        let desc = ClassDesc {
            name: class.to_string(),
            suid: 2,
            flags: 2,
            fields: vec![],
            proxy_interfaces: None,
            super_desc: None,
        };
        Value::Object(Object {
            desc: Arc::new(desc),
            class_data,
        })
    }

    fn remote_object(annotations: Vec<Annotation>) -> ClassData {
        ClassData {
            class: REMOTE_OBJECT.into(),
            fields: vec![],
            annotations,
        }
    }

    fn utf(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn tail(out: &mut Vec<u8>) {
        out.extend_from_slice(
            &ObjId {
                num: -5,
                unique: 9,
                time: 77,
                count: -32767,
            }
            .to_raw(),
        );
        out.push(1);
    }

    #[test]
    fn decodes_unicast_ref_split_across_blocks() {
        let mut b = Vec::new();
        utf(&mut b, "UnicastRef");
        utf(&mut b, "node1.example");
        b.extend_from_slice(&41100i32.to_be_bytes());
        tail(&mut b);
        let (a, z) = b.split_at(20);
        let v = object(
            "javax.management.remote.rmi.RMIServerImpl_Stub",
            vec![remote_object(vec![
                Annotation::Block(a.to_vec()),
                Annotation::Block(z.to_vec()),
            ])],
        );
        let r = decode_stub(&v).unwrap();
        assert_eq!(r.host, "node1.example");
        assert_eq!(r.port, 41100);
        assert_eq!(
            r.obj_id,
            ObjId {
                num: -5,
                unique: 9,
                time: 77,
                count: -32767
            }
        );
        assert!(r.is_result);
        assert!(!r.tls);
    }

    #[test]
    fn decodes_unicast_ref2_with_ssl_factory_inside_a_proxy() {
        let mut a = Vec::new();
        utf(&mut a, "UnicastRef2");
        a.push(1);
        utf(&mut a, "h");
        a.extend_from_slice(&7199i32.to_be_bytes());
        let mut z = Vec::new();
        tail(&mut z);
        let handler = object(
            "java.rmi.server.RemoteObjectInvocationHandler",
            vec![remote_object(vec![
                Annotation::Block(a),
                Annotation::Value(object(SSL_FACTORY, vec![])),
                Annotation::Block(z),
            ])],
        );
        let proxy = object(
            "$Proxy",
            vec![ClassData {
                class: "java.lang.reflect.Proxy".into(),
                fields: vec![("h".into(), handler)],
                annotations: vec![],
            }],
        );
        let r = decode_stub(&proxy).unwrap();
        assert!(r.tls);
        assert_eq!(r.port, 7199);
    }

    #[test]
    fn decodes_unicast_ref2_format_0_as_jdk8_sends_it() {
        let mut b = Vec::new();
        utf(&mut b, "UnicastRef2");
        b.push(0);
        utf(&mut b, "10.1.2.3");
        b.extend_from_slice(&7199i32.to_be_bytes());
        tail(&mut b);
        let v = object(
            "javax.management.remote.rmi.RMIConnectionImpl_Stub",
            vec![remote_object(vec![Annotation::Block(b)])],
        );
        let r = decode_stub(&v).unwrap();
        assert_eq!(
            (r.host.as_str(), r.port, r.tls, r.is_result),
            ("10.1.2.3", 7199, false, true)
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode_stub(&Value::String("x".into())).is_err());
        let v = object(
            "S",
            vec![remote_object(vec![Annotation::Block(vec![0, 10, b'U'])])],
        );
        assert!(matches!(decode_stub(&v), Err(JmxError::Protocol(_))));
        let mut b = Vec::new();
        utf(&mut b, "UnicastRef2");
        b.push(1);
        utf(&mut b, "h");
        b.extend_from_slice(&1i32.to_be_bytes());
        let v = object(
            "S",
            vec![remote_object(vec![
                Annotation::Block(b),
                Annotation::Value(object("com.example.Custom", vec![])),
            ])],
        );
        assert!(
            matches!(decode_stub(&v), Err(JmxError::Protocol(m)) if m.contains("com.example.Custom"))
        );
    }
}
