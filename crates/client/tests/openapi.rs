//! `api/openapi.yaml` is a superset of the Icarus contract (`../shared/reference/icarus-openapi.yaml`):
//! every Icarus path, method, parameter, response status code, schema, property name and enum
//! value is present in ours; our own extensions are there; every `$ref` of ours resolves.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml::Value;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn ours() -> Value {
    load(repo_root().join("api/openapi.yaml"))
}

fn icarus() -> Value {
    load(repo_root().join("../shared/reference/icarus-openapi.yaml"))
}

fn map_keys(v: &Value) -> Vec<String> {
    v.as_mapping()
        .map(|m| {
            m.keys()
                .map(|k| match k {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => panic!("unexpected key {other:?}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.as_mapping()
        .and_then(|m| m.get(Value::String(key.to_string())))
        .unwrap_or(&NULL)
}

/// The node a `#/...` reference points at in `doc` (null when it points nowhere).
fn lookup<'a>(doc: &'a Value, r: &str) -> &'a Value {
    let path = r
        .strip_prefix("#/")
        .unwrap_or_else(|| panic!("external ref {r}"));
    path.split('/').fold(doc, |node, part| get(node, part))
}

/// Follows one `$ref` in the same document, or returns `v` when it is not a reference.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match get(v, "$ref").as_str() {
        Some(r) => lookup(doc, r),
        None => v,
    }
}

fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in map_keys(get(doc, "paths")) {
        let item = get(get(doc, "paths"), &path);
        for method in map_keys(item) {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method));
            }
        }
    }
    out
}

/// Parameter names of an operation, path-level ones included.
fn parameters(doc: &Value, path: &str, method: &str) -> BTreeSet<String> {
    let item = get(get(doc, "paths"), path);
    let mut names = BTreeSet::new();
    for list in [
        get(item, "parameters"),
        get(get(item, method), "parameters"),
    ] {
        for p in list.as_sequence().into_iter().flatten() {
            let p = resolve(doc, p);
            names.insert(format!(
                "{}:{}",
                get(p, "in").as_str().unwrap_or("?"),
                get(p, "name").as_str().unwrap_or("?")
            ));
        }
    }
    names
}

#[test]
fn every_icarus_path_method_parameter_and_status_code_is_ours_too() {
    let (ours, icarus) = (ours(), icarus());
    let our_ops: BTreeSet<(String, String)> = operations(&ours).into_iter().collect();
    let icarus_ops = operations(&icarus);
    assert!(
        icarus_ops.len() >= 11,
        "the reference spec did not load as expected: {icarus_ops:?}"
    );
    for (path, method) in icarus_ops {
        assert!(
            our_ops.contains(&(path.clone(), method.clone())),
            "{} {path} missing",
            method.to_uppercase()
        );
        let theirs = get(get(get(get(&icarus, "paths"), &path), &method), "responses");
        let mine = get(get(get(get(&ours, "paths"), &path), &method), "responses");
        let mine_codes: BTreeSet<String> = map_keys(mine).into_iter().collect();
        for code in map_keys(theirs) {
            assert!(
                mine_codes.contains(&code),
                "{} {path}: status {code} missing",
                method.to_uppercase()
            );
            // A response header Icarus documents is documented by us too.
            let their_headers = map_keys(get(get(theirs, &code), "headers"));
            let our_response = resolve(&ours, get(mine, &code));
            for header in their_headers {
                assert!(
                    !get(get(our_response, "headers"), &header).is_null(),
                    "{} {path} {code}: header {header} missing",
                    method.to_uppercase()
                );
            }
        }
        let mine_params = parameters(&ours, &path, &method);
        for p in parameters(&icarus, &path, &method) {
            assert!(
                mine_params.contains(&p),
                "{} {path}: parameter {p} missing",
                method.to_uppercase()
            );
        }
    }
}

/// Enum values of the query parameter `name`'s items (after `$ref`).
fn query_enum(doc: &Value, path: &str, method: &str, name: &str) -> BTreeSet<String> {
    let op = get(get(get(doc, "paths"), path), method);
    let param = get(op, "parameters")
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|p| resolve(doc, p))
        .find(|p| get(p, "name").as_str() == Some(name))
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"));
    let items = resolve(doc, get(get(param, "schema"), "items"));
    get(items, "enum")
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[test]
fn list_filters_accept_every_icarus_value() {
    let (ours, icarus) = (ours(), icarus());
    for name in ["type", "status"] {
        let theirs = query_enum(&icarus, "/operations", "get", name);
        assert!(!theirs.is_empty());
        let mine = query_enum(&ours, "/operations", "get", name);
        assert!(
            theirs.is_subset(&mine),
            "{name}: {theirs:?} not in {mine:?}"
        );
    }
    // `state` is what Icarus really filters on.
    assert_eq!(
        query_enum(&ours, "/operations", "get", "state"),
        query_enum(&icarus, "/operations", "get", "status")
    );
}

#[test]
fn every_icarus_schema_and_property_name_is_ours_too() {
    let (ours, icarus) = (ours(), icarus());
    let their_schemas = get(get(&icarus, "components"), "schemas");
    let our_schemas = get(get(&ours, "components"), "schemas");
    let names = map_keys(their_schemas);
    assert!(
        names.len() >= 30,
        "the reference spec did not load as expected: {} schemas",
        names.len()
    );
    for name in names {
        let theirs = get(their_schemas, &name);
        let mine = get(our_schemas, &name);
        assert!(!mine.is_null(), "schema {name} missing");
        let mine_props: BTreeSet<String> = map_keys(get(mine, "properties")).into_iter().collect();
        for prop in map_keys(get(theirs, "properties")) {
            assert!(
                mine_props.contains(&prop),
                "schema {name}: property {prop} missing"
            );
            // Enum values Icarus lists stay accepted (where we keep an enum at all).
            let their_enum = get(get(get(theirs, "properties"), &prop), "enum");
            let our_enum = get(get(get(mine, "properties"), &prop), "enum");
            if let (Some(t), Some(o)) = (their_enum.as_sequence(), our_enum.as_sequence()) {
                for v in t {
                    assert!(
                        o.contains(v),
                        "schema {name}.{prop}: enum value {v:?} missing"
                    );
                }
            }
        }
        // Composed schemas keep every part Icarus composes.
        for part in ["allOf", "oneOf", "anyOf"] {
            let mine_refs: Vec<&Value> = get(mine, part)
                .as_sequence()
                .into_iter()
                .flatten()
                .collect();
            for r in get(theirs, part).as_sequence().into_iter().flatten() {
                assert!(
                    mine_refs.contains(&r),
                    "schema {name}: {part} {r:?} missing"
                );
            }
        }
    }
}

#[test]
fn our_extensions_are_documented() {
    let ours = ours();
    assert_eq!(get(&ours, "openapi").as_str(), Some("3.0.3"));
    let ops: BTreeSet<(String, String)> = operations(&ours).into_iter().collect();
    for (path, method) in [
        ("/operations/{operationId}", "delete"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
        ("/openapi.yaml", "get"),
        ("/openapi.json", "get"),
    ] {
        assert!(
            ops.contains(&(path.to_string(), method.to_string())),
            "{method} {path} missing"
        );
    }
    let codes = |path: &str, method: &str| -> BTreeSet<String> {
        map_keys(get(
            get(get(get(&ours, "paths"), path), method),
            "responses",
        ))
        .into_iter()
        .collect()
    };
    for code in ["202", "404", "409"] {
        assert!(codes("/operations/{operationId}", "delete").contains(code));
    }
    for code in ["200", "201", "400", "401", "403", "503"] {
        assert!(codes("/operations", "post").contains(code), "POST {code}");
    }
    let post = get(get(get(&ours, "paths"), "/operations"), "post");
    let created = get(get(post, "responses"), "201");
    assert!(!get(get(created, "headers"), "Location").is_null());
    let full = resolve(&ours, get(get(post, "responses"), "503"));
    assert!(
        !get(get(full, "headers"), "Retry-After").is_null(),
        "503 must document Retry-After"
    );

    let schemas = get(get(&ours, "components"), "schemas");
    let error_props = map_keys(get(get(schemas, "ErrorBody"), "properties"));
    for p in ["error", "field", "message"] {
        assert!(error_props.iter().any(|x| x == p), "ErrorBody.{p} missing");
    }
    let import_props = map_keys(get(get(schemas, "ImportOperationRequest"), "properties"));
    for p in ["copyData", "tablePath"] {
        assert!(import_props.iter().any(|x| x == p), "import {p} missing");
    }
    let result_props = map_keys(get(get(schemas, "ImportResult"), "properties"));
    for p in ["sstables", "bytes"] {
        assert!(
            result_props.iter().any(|x| x == p),
            "import result {p} missing"
        );
    }
    let base = get(get(schemas, "BaseOperation"), "properties");
    assert_eq!(get(get(base, "progress"), "type").as_str(), Some("number"));
    assert!(!get(base, "failureCause").is_null());
    let bearer = get(
        get(get(&ours, "components"), "securitySchemes"),
        "bearerAuth",
    );
    assert_eq!(get(bearer, "scheme").as_str(), Some("bearer"));
}

/// Every `$ref` string anywhere in the document.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("$ref") {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Sequence(s) => s.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_ref_of_ours_resolves() {
    let ours = ours();
    let mut all = Vec::new();
    refs(&ours, &mut all);
    assert!(all.len() > 50);
    for r in all {
        assert!(!lookup(&ours, &r).is_null(), "{r} does not resolve");
    }
}
