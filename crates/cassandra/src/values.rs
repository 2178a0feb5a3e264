//! Building JMX arguments and decoding replies: the bridge between Rust types and
//! [`javaser::Value`] for the shapes Cassandra uses.
//!
//! Owns the argument constructors (`String[]`, `HashSet`, `HashMap`) and the strict decoders
//! (string, list of strings, map of strings, int) that turn an unexpected shape into
//! `NodeError::Protocol` naming where it came from. It must not call the node.

use javaser::Value;

use crate::error::NodeError;

pub(crate) fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

pub(crate) fn opt_string(s: Option<&str>) -> Value {
    s.map_or(Value::Null, string)
}

pub(crate) fn string_array(items: &[String]) -> Value {
    Value::Array {
        class: "[Ljava.lang.String;".to_owned(),
        items: items.iter().map(|s| string(s)).collect(),
    }
}

pub(crate) fn hash_set(items: &[String]) -> Value {
    Value::Set {
        class: "java.util.HashSet".to_owned(),
        items: items.iter().map(|s| string(s)).collect(),
    }
}

pub(crate) fn hash_map(entries: &[(String, String)]) -> Value {
    Value::Map {
        class: "java.util.HashMap".to_owned(),
        entries: entries
            .iter()
            .map(|(k, v)| (string(k), string(v)))
            .collect(),
    }
}

fn describe(v: &Value) -> String {
    let text = format!("{v:?}");
    if text.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &text[..cut])
    } else {
        text
    }
}

pub(crate) fn expect_string(v: Value, what: &str) -> Result<String, NodeError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(NodeError::protocol(format!(
            "{what}: expected a String, got {}",
            describe(&other)
        ))),
    }
}

pub(crate) fn expect_int(v: &Value, what: &str) -> Result<i32, NodeError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(NodeError::protocol(format!(
            "{what}: expected an Integer, got {}",
            describe(other)
        ))),
    }
}

/// A `List`/`Set`/array of strings.
pub(crate) fn expect_strings(v: Value, what: &str) -> Result<Vec<String>, NodeError> {
    let bad = |v: &Value| {
        NodeError::protocol(format!(
            "{what}: expected a list of Strings, got {}",
            describe(v)
        ))
    };
    let Some(items) = v.as_items() else {
        return Err(bad(&v));
    };
    items
        .iter()
        .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| bad(item)))
        .collect()
}

/// A `Map<String, String>` in wire order.
pub(crate) fn expect_string_map(v: Value, what: &str) -> Result<Vec<(String, String)>, NodeError> {
    let bad = |v: &Value| {
        NodeError::protocol(format!(
            "{what}: expected a Map of Strings, got {}",
            describe(v)
        ))
    };
    let Some(entries) = v.as_entries() else {
        return Err(bad(&v));
    };
    entries
        .iter()
        .map(|(k, val)| match (k.as_str(), val.as_str()) {
            (Some(k), Some(val)) => Ok((k.to_owned(), val.to_owned())),
            _ => Err(bad(k)),
        })
        .collect()
}
