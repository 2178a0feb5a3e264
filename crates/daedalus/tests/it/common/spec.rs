//! Checks an HTTP answer of the sidecar against the response schemas of our OpenAPI document
//! (`api/openapi.yaml`) and, where Icarus has the path and status, of the Icarus contract.
//!
//! A path our document lacks is not checked (404 fallbacks, probes of unknown paths); a status
//! our document does not list for a path it has is a failure.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};

/// OpenAPI 3.0 → JSON Schema draft 4: `nullable: true` becomes "or null", and `oneOf` becomes
/// `anyOf` (the operation schemas overlap, since none requires its fields; OpenAPI picks the
/// member by the `type` discriminator, which plain JSON Schema cannot express).
fn to_json_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                to_json_schema(child);
            }
            if let Some(members) = map.remove("oneOf") {
                map.insert("anyOf".into(), members);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                    }
                    _ => {
                        let rest = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([rest, { "type": "null" }]));
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

fn load(path: &Path, patch: impl FnOnce(&mut Value)) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let yaml: yaml_serde::Value = yaml_serde::from_str(&text).expect("the spec is YAML");
    let mut doc = serde_json::to_value(yaml).expect("the spec converts to JSON");
    patch(&mut doc);
    to_json_schema(&mut doc);
    doc
}

/// Our document, as JSON Schema.
pub fn ours() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../api/openapi.yaml"),
            |_| {},
        )
    })
}

/// The Icarus contract, with our documented differences applied: `progress` is a number in 0..1,
/// and `nodeState` passes through modes newer Cassandras add (5.0's `JOINING_FAILED`...).
pub fn icarus() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        load(
            &super::shared_dir().join("reference/icarus-openapi.yaml"),
            |doc| {
                doc["components"]["schemas"]["BaseOperation"]["properties"]["progress"] =
                    json!({ "type": "number", "minimum": 0, "maximum": 1 });
                if let Some(state) = doc
                    .pointer_mut("/components/schemas/CassandraStatus/properties/nodeState")
                    .and_then(Value::as_object_mut)
                {
                    state.remove("enum");
                }
            },
        )
    })
}

/// The document's path template matching `path` (query ignored), e.g. `/topology/{dc}`.
fn template<'a>(doc: &'a Value, path: &str) -> Option<(&'a str, &'a Value)> {
    let path = path.split('?').next().unwrap_or(path);
    let want: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    doc["paths"].as_object()?.iter().find_map(|(t, item)| {
        let have: Vec<&str> = t.split('/').collect();
        let fits = have.len() == want.len()
            && have
                .iter()
                .zip(&want)
                .all(|(h, w)| (h.starts_with('{') && !w.is_empty()) || h == w);
        fits.then_some((t.as_str(), item))
    })
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            resolve(doc, doc.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => v,
    }
}

/// `Err` with the reasons when the answer breaks `doc`; `Ok(false)` when `doc` does not know the
/// path (or, with `strict_status` false, the status), so nothing was checked.
fn check_against(
    doc: &Value,
    name: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
    strict_status: bool,
) -> Result<bool, String> {
    let Some((t, item)) = template(doc, path) else {
        return Ok(false);
    };
    let Some(op) = item.get(method.to_ascii_lowercase()) else {
        return if strict_status {
            Err(format!("{name}: {method} {t} is not documented"))
        } else {
            Ok(false)
        };
    };
    let Some(response) = op["responses"].get(status.to_string()) else {
        return if strict_status {
            Err(format!(
                "{name}: {method} {t} does not document status {status}"
            ))
        } else {
            Ok(false)
        };
    };
    let response = resolve(doc, response);
    let Some(schema) = response
        .pointer("/content/application~1json/schema")
        .cloned()
    else {
        return Ok(true);
    };
    let mut root = schema;
    root["components"] = doc["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .map_err(|e| format!("{name}: schema of {method} {t} {status} does not compile: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    if errors.is_empty() {
        Ok(true)
    } else {
        Err(format!(
            "{name}: {method} {path} → {status} {body} breaks the {t} schema: {errors:?}"
        ))
    }
}

/// Panics when the answer breaks our document (any status it does not list included) or the
/// Icarus contract (for the paths and statuses Icarus documents). Returns whether our document
/// knew the path.
pub fn check(method: &str, path: &str, status: u16, body: &Value) -> bool {
    let known = check_against(ours(), "api/openapi.yaml", method, path, status, body, true)
        .unwrap_or_else(|e| panic!("{e}"));
    check_against(icarus(), "Icarus", method, path, status, body, false)
        .unwrap_or_else(|e| panic!("{e}"));
    known
}
