//! RMI Call and Return messages: encoding a call, decoding a return. No I/O.
//!
//! Owns the call header (target ObjID, op, hash), argument encoding through the serialization
//! writer, and the return header (normal/exceptional, DgcAck UID, primitive or object value).
//! It must not touch sockets, pools or sessions.

use std::borrow::Cow;
use std::sync::LazyLock;

use javaser::{Error as SerError, Limits, ObjectReader, ObjectWriter, Value};

use crate::stub::ObjId;
use crate::transport::{Parsed, OP_CALL};
use crate::JmxError;

/// Return type codes.
const NORMAL_RETURN: u8 = 0x01;
const EXCEPTIONAL_RETURN: u8 = 0x02;

/// What a method returns, which decides what follows the return header (returns are not
/// self-describing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReturnKind {
    Void,
    Bool,
    Object,
}

/// A decoded return.
#[derive(Debug)]
pub(crate) struct Return {
    /// The DgcAck UID of this return (unique, time, count as on the wire).
    pub uid: [u8; 14],
    pub outcome: Outcome,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    /// A normal return: `Null` for void, `Bool` for a boolean method, else the value.
    Normal(Value),
    /// The server threw: the Throwable as decoded.
    Exceptional(Value),
}

impl Return {
    /// An ExceptionalReturn carrying RMI's `ServerException` / `ServerError` (the server failed
    /// in its RMI layer rather than in the called method).
    pub fn is_server_exception(&self) -> bool {
        match &self.outcome {
            Outcome::Exceptional(Value::Object(o)) => {
                matches!(
                    o.class_name(),
                    "java.rmi.ServerException" | "java.rmi.ServerError"
                )
            }
            _ => false,
        }
    }
}

/// How a call selects its method.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    /// Stub protocol v2: `-1` and the method hash.
    Hash(i64),
    /// Skeleton protocol v1: operation index and interface hash.
    Op(i32, i64),
}

/// Encodes a complete Call message (`0x50` + stream) with the given object arguments.
pub(crate) fn encode_call(
    target: &ObjId,
    method: Method,
    args: &[&Value],
) -> Result<Vec<u8>, JmxError> {
    // The JRMP op byte and the stream in one buffer: one allocation, one write to the socket.
    let mut message = Vec::with_capacity(256);
    message.push(OP_CALL);
    let mut w = ObjectWriter::append_to(message, true);
    let (op, hash) = match method {
        Method::Hash(h) => (-1, h),
        Method::Op(op, h) => (op, h),
    };
    w.write_bytes(&target.to_raw());
    w.write_i32(op);
    w.write_i64(hash);
    for arg in args {
        w.write_value(arg)?;
    }
    Ok(w.finish())
}

/// Parses a Return stream (the bytes after `0x51`) if it is complete.
pub(crate) fn parse_return(
    bytes: &[u8],
    kind: ReturnKind,
    limits: Limits,
) -> Result<Parsed<Return>, JmxError> {
    match try_parse_return(bytes, kind, limits) {
        Ok((ret, used)) => Ok(Parsed::Done(ret, used)),
        Err(SerError::Truncated) => Ok(Parsed::NeedMore),
        Err(e) => Err(JmxError::Serialization(e)),
    }
}

fn try_parse_return(
    bytes: &[u8],
    kind: ReturnKind,
    limits: Limits,
) -> Result<(Return, usize), SerError> {
    let mut r = ObjectReader::new(bytes, limits)?;
    let ty = r.read_u8()?;
    let mut uid = [0u8; 14];
    for b in &mut uid {
        *b = r.read_u8()?;
    }
    let outcome = match ty {
        NORMAL_RETURN => match kind {
            ReturnKind::Void => Outcome::Normal(Value::Null),
            ReturnKind::Bool => Outcome::Normal(Value::Bool(r.read_bool()?)),
            ReturnKind::Object => Outcome::Normal(r.read_final_value()?),
        },
        EXCEPTIONAL_RETURN => Outcome::Exceptional(r.read_final_value()?),
        other => {
            return Err(SerError::Unexpected {
                what: format!("return type {other:#04x}"),
                offset: 4,
            });
        }
    };
    Ok((Return { uid, outcome }, r.position()))
}

/// The `params` argument of `RMIConnection.invoke`: a `MarshalledObject` of the `Object[]`.
/// Without parameters the MarshalledObject holds null, which the interface defines as an empty
/// array: the server then has no inner stream to decode nor array class to resolve.
pub(crate) fn invoke_params(params: &[Value]) -> Result<Cow<'static, Value>, JmxError> {
    // The same value for every parameterless call: built once, borrowed by each.
    static NO_PARAMS: LazyLock<Value> = LazyLock::new(|| {
        javaser::marshalled_object(&Value::Null).expect("a null MarshalledObject is writable")
    });
    if params.is_empty() {
        return Ok(Cow::Borrowed(&NO_PARAMS));
    }
    Ok(Cow::Owned(marshalled(&Value::Array {
        class: "[Ljava.lang.Object;".into(),
        items: params.to_vec(),
    })?))
}

/// The `signature` argument of `RMIConnection.invoke`: null (defined as an empty array) when
/// there are no parameters, for the same reason.
pub(crate) fn invoke_signature(signature: &[&str]) -> Value {
    if signature.is_empty() {
        return Value::Null;
    }
    Value::Array {
        class: "[Ljava.lang.String;".into(),
        items: signature
            .iter()
            .map(|s| Value::String(s.to_string()))
            .collect(),
    }
}

/// `java.rmi.MarshalledObject` holding `value` (invoke params, setAttribute's Attribute).
pub(crate) fn marshalled(value: &Value) -> Result<Value, JmxError> {
    Ok(javaser::marshalled_object(value)?)
}

/// A `javax.management.Attribute{name, value}` object.
pub(crate) fn attribute(name: &str, value: Value) -> Value {
    let desc = javaser::classes::desc(
        "javax.management.Attribute",
        2484220110589082382,
        0x02,
        &[
            (b'L', "name", Some("Ljava/lang/String;")),
            (b'L', "value", Some("Ljava/lang/Object;")),
        ],
        None,
    );
    Value::Object(javaser::Object {
        desc: std::sync::Arc::new(desc),
        class_data: vec![javaser::ClassData {
            class: "javax.management.Attribute".into(),
            fields: vec![
                ("name".into(), Value::String(name.into())),
                ("value".into(), value),
            ],
            annotations: vec![],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
        v.as_object().and_then(|o| o.field(name)).expect(name)
    }

    #[test]
    fn invoke_without_parameters_sends_nulls_the_interface_reads_as_empty_arrays() {
        let params = invoke_params(&[]).unwrap();
        assert_eq!(field(&params, "objBytes"), &Value::Null);
        assert_eq!(field(&params, "hash"), &Value::Int(13));
        assert_eq!(invoke_signature(&[]), Value::Null);

        let params = invoke_params(&[Value::Int(3)]).unwrap();
        let Value::Bytes(inner) = field(&params, "objBytes") else {
            panic!("objBytes is not a byte array: {params:?}");
        };
        let decoded = javaser::read_single(inner, Limits::default()).unwrap();
        assert_eq!(decoded.as_items(), Some(&[Value::Int(3)][..]));
        assert_eq!(
            invoke_signature(&["int"]).as_items(),
            Some(&[Value::String("int".into())][..])
        );
    }

    #[test]
    fn a_call_is_one_buffer_starting_with_the_call_op() {
        let name = Value::ObjectName("d:type=x".into());
        let msg = encode_call(&ObjId::REGISTRY, Method::Hash(7), &[&name]).unwrap();
        assert_eq!(msg[0], OP_CALL);
        assert_eq!(&msg[1..5], &[0xAC, 0xED, 0x00, 0x05]);
    }
}
