//! Shape limits every request body must meet before any operation sees it: nesting depth, string
//! length, number of keys. Together with the body-size limit and each operation's own field
//! validation, a malformed request is refused here with 400 and never reaches the node.
//!
//! Owns the bounds. It must not know any operation's fields (identifiers are validated by the
//! operation: 1 to 48 characters, as Cassandra allows).

use serde_json::Value;

use crate::operations::ValidationError;

/// Deepest nesting of arrays/objects accepted (an operation request is 2 levels deep).
pub const MAX_DEPTH: usize = 8;
/// Longest string accepted anywhere in a body, in bytes (a path is at most 4 KiB on Linux).
pub const MAX_STRING: usize = 4096;
/// Most members of one object or items of one array.
pub const MAX_ITEMS: usize = 256;

/// Checks `value` against the limits; the error names the field at fault (`a.b[2]`).
pub fn check(value: &Value) -> Result<(), ValidationError> {
    walk(value, 1, &mut String::new())
}

fn walk(value: &Value, depth: usize, path: &mut String) -> Result<(), ValidationError> {
    let field = |path: &str| {
        if path.is_empty() {
            "(body)".to_string()
        } else {
            path.to_string()
        }
    };
    match value {
        Value::String(s) if s.len() > MAX_STRING => Err(ValidationError::invalid(
            &field(path),
            format!(
                "'{}' is {} bytes long; the limit is {MAX_STRING}",
                field(path),
                s.len()
            ),
        )),
        Value::Array(_) | Value::Object(_) if depth > MAX_DEPTH => Err(ValidationError::invalid(
            &field(path),
            format!("the body nests deeper than {MAX_DEPTH} levels"),
        )),
        Value::Array(items) => {
            if items.len() > MAX_ITEMS {
                return Err(ValidationError::invalid(
                    &field(path),
                    format!("more than {MAX_ITEMS} items"),
                ));
            }
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, depth + 1, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            if map.len() > MAX_ITEMS {
                return Err(ValidationError::invalid(
                    &field(path),
                    format!("more than {MAX_ITEMS} members"),
                ));
            }
            for (key, item) in map {
                if key.len() > MAX_STRING {
                    return Err(ValidationError::invalid(
                        &field(path),
                        format!("a member name is longer than {MAX_STRING} bytes"),
                    ));
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk(item, depth + 1, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordinary_requests_pass() {
        check(&json!({"type": "import", "keyspace": "ks", "quick": {"a": [1, 2]}})).unwrap();
    }

    #[test]
    fn long_strings_are_refused_with_their_field() {
        let e = check(&json!({"sourceDir": "x".repeat(MAX_STRING + 1)})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sourceDir"));
        let e = check(&json!({"a": {"b": ["ok", "y".repeat(5000)]}})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("a.b[1]"));
        check(&json!({"sourceDir": "x".repeat(MAX_STRING)})).unwrap();
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut v = json!(1);
        for _ in 0..MAX_DEPTH {
            v = json!([v]);
        }
        check(&v).unwrap();
        let e = check(&json!([v])).unwrap_err();
        assert_eq!(e.error, "invalid_field");
    }

    #[test]
    fn wide_objects_are_refused() {
        let map: serde_json::Map<String, Value> = (0..=MAX_ITEMS)
            .map(|i| (format!("k{i}"), json!(i)))
            .collect();
        assert!(check(&Value::Object(map)).is_err());
    }
}
