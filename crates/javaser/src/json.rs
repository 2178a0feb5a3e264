//! JSON rendering of decoded values, for display and logs (lossy, not a wire format).
//!
//! Owns only the `Value -> serde_json::Value` mapping; it must not parse or write streams.

use serde_json::{json, Map, Value as Json};

use crate::value::*;

impl Value {
    /// A JSON view: primitives as numbers/booleans, strings, lists/sets/arrays as arrays,
    /// maps with string keys as objects (otherwise as `[key, value]` pairs), composite data as
    /// objects, tabular data as an array of row objects, generic objects as
    /// `{"@class": ..., field: ...}`.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Byte(v) => json!(v),
            Value::Char(c) => Json::String(String::from_utf16_lossy(&[*c])),
            Value::Short(v) => json!(v),
            Value::Int(v) => json!(v),
            Value::Long(v) => json!(v),
            Value::Float(v) => float(f64::from(*v)),
            Value::Double(v) => float(*v),
            Value::String(s) => Json::String(s.clone()),
            Value::Bytes(b) => Json::Array(b.iter().map(|&x| json!(x as i8)).collect()),
            Value::Array { items, .. } | Value::List { items, .. } | Value::Set { items, .. } => {
                Json::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Enum { constant, .. } => Json::String(constant.clone()),
            Value::Class(name) => json!({ "@class": "java.lang.Class", "name": name }),
            Value::Map { entries, .. } => {
                if entries.iter().all(|(k, _)| k.as_str().is_some()) {
                    let mut m = Map::new();
                    for (k, v) in entries {
                        m.insert(k.as_str().unwrap_or_default().to_string(), v.to_json());
                    }
                    Json::Object(m)
                } else {
                    Json::Array(
                        entries
                            .iter()
                            .map(|(k, v)| Json::Array(vec![k.to_json(), v.to_json()]))
                            .collect(),
                    )
                }
            }
            Value::Uuid { most, least } => Json::String(uuid_text(*most, *least)),
            Value::Date(ms) => json!(ms),
            Value::BigNumber { text, .. } => Json::String(text.clone()),
            Value::ObjectName(n) => Json::String(n.clone()),
            Value::CompositeData(c) => composite_json(c),
            Value::TabularData(t) => Json::Array(t.rows.iter().map(composite_json).collect()),
            Value::Object(o) => {
                let mut m = Map::new();
                m.insert("@class".into(), Json::String(o.class_name().to_string()));
                for cd in &o.class_data {
                    for (name, v) in &cd.fields {
                        m.insert(name.clone(), v.to_json());
                    }
                }
                Json::Object(m)
            }
            Value::Cycle(h) => json!({ "@cycle": h }),
        }
    }
}

fn float(v: f64) -> Json {
    serde_json::Number::from_f64(v).map_or_else(|| Json::String(v.to_string()), Json::Number)
}

fn composite_json(c: &CompositeData) -> Json {
    Json::Object(
        c.items
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
}

/// `UUID.toString()` form.
pub(crate) fn uuid_text(most: i64, least: i64) -> String {
    let (m, l) = (most as u64, least as u64);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        m >> 32,
        (m >> 16) & 0xFFFF,
        m & 0xFFFF,
        l >> 48,
        l & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_with_string_keys_become_objects() {
        let v = Value::Map {
            class: "java.util.HashMap".into(),
            entries: vec![(Value::String("a".into()), Value::Int(1))],
        };
        assert_eq!(v.to_json(), json!({"a": 1}));
        let v = Value::Map {
            class: "java.util.HashMap".into(),
            entries: vec![(Value::Int(2), Value::Null)],
        };
        assert_eq!(v.to_json(), json!([[2, null]]));
    }

    #[test]
    fn uuid_is_canonical_text() {
        let v = Value::Uuid {
            most: 0x123e4567e89b12d3u64 as i64,
            least: 0xa456426614174000u64 as i64,
        };
        assert_eq!(v.to_json(), json!("123e4567-e89b-12d3-a456-426614174000"));
    }
}
