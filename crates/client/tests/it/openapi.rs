//! `api/openapi.yaml` is a superset of the Icarus contract (`tests/data/reference/icarus-openapi.yaml`):
//! every Icarus path, method, parameter, response status code, schema, property name and enum
//! value is present in ours; our own extensions are there; every `$ref` of ours resolves.

use std::collections::BTreeSet;
use std::path::PathBuf;

use yaml_serde::Value;

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn ours() -> Value {
    load(repo_root().join("api/openapi.yaml"))
}

/// The shared reference folder: `$DAEDALUS_SHARED`, else `tests/data/` in the repository.
fn shared_dir() -> PathBuf {
    match std::env::var_os("DAEDALUS_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("tests/data"),
    }
}

fn icarus() -> Value {
    load(shared_dir().join("reference/icarus-openapi.yaml"))
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
    for code in ["202", "404"] {
        assert!(codes("/operations/{operationId}", "delete").contains(code));
    }
    // A finished operation is left as it is with 202, as Icarus answers.
    assert!(!codes("/operations/{operationId}", "delete").contains("409"));
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

/// Every `$ref` string (and discriminator mapping target) anywhere in the document.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("$ref") {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                } else if k.as_str() == Some("mapping") {
                    // A discriminator's mapping values are references too.
                    for target in v.as_mapping().into_iter().flat_map(|m| m.values()) {
                        if let Some(s) = target.as_str() {
                            out.push(s.to_string());
                        }
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

// ---------------------------------------------------------------------------------------------
// Records and error bodies shaped like the sidecar's validate against our schemas.

/// Our `components` as JSON Schema (draft 4): OpenAPI's `nullable: true` becomes "or null".
fn our_components_as_json_schema() -> serde_json::Value {
    fn convert(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for child in map.values_mut() {
                    convert(child);
                }
                if map.remove("nullable") == Some(serde_json::Value::Bool(true)) {
                    match map.get("type").cloned() {
                        Some(serde_json::Value::String(t)) => {
                            map.insert("type".into(), serde_json::json!([t, "null"]));
                        }
                        _ => {
                            let rest = serde_json::Value::Object(std::mem::take(map));
                            map.insert("anyOf".into(), serde_json::json!([rest, {"type": "null"}]));
                        }
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(convert),
            _ => {}
        }
    }
    let mut doc = serde_json::to_value(ours()).expect("the spec converts to JSON");
    convert(&mut doc);
    doc["components"].clone()
}

fn schema_errors(name: &str, instance: &serde_json::Value) -> Vec<String> {
    let mut root = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    root["components"] = our_components_as_json_schema();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .expect("our schemas compile");
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

fn import_record(state: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "import",
        "id": "1c45e693-4cb1-4fd6-93f1-f71f87ba64b7",
        "state": state,
        "progress": 1.0,
        "creationTime": "2026-11-28T21:00:00.000Z",
        "startTime": "2026-11-28T21:00:00.125Z",
        "completionTime": "2026-11-28T21:00:03.500Z",
        "errors": [],
        "keyspace": "ks", "table": "t", "sourceDir": "/var/lib/import/t",
        "keepLevel": false, "keepRepaired": false, "noVerify": true, "noVerifyTokens": true,
        "noInvalidateCaches": true, "quick": true, "extendedVerify": false, "copyData": true,
        "sstables": 2, "bytes": 123456
    })
}

#[test]
fn sidecar_shaped_records_validate_against_our_schemas() {
    let completed = import_record("COMPLETED");
    assert_eq!(
        schema_errors("ImportOperationResponse", &completed),
        Vec::<String>::new()
    );
    assert_eq!(
        schema_errors("OperationResponse", &completed),
        Vec::<String>::new()
    );

    let mut java = import_record("FAILED");
    java["failureCause"] = serde_json::json!({
        "class": "java.lang.RuntimeException",
        "message": null,
        "stackTrace": [
            {"className": "org.apache.cassandra.db.SSTableImporter", "methodName": "importNewSSTables",
             "fileName": "SSTableImporter.java", "lineNumber": 98},
            {"className": "jdk.internal.reflect.NativeMethodAccessorImpl", "methodName": "invoke0",
             "fileName": null, "lineNumber": -2}
        ],
        "cause": {"class": "java.io.IOException", "message": "corrupt", "stackTrace": [],
                  "cause": null, "suppressed": []},
        "suppressed": [],
        "wrapper": "javax.management.RuntimeMBeanException"
    });
    assert_eq!(
        schema_errors("ImportOperationResponse", &java),
        Vec::<String>::new()
    );

    let mut own = import_record("FAILED");
    own["failureCause"] =
        serde_json::json!({"kind": "Unreachable", "message": "connection refused"});
    assert_eq!(
        schema_errors("ImportOperationResponse", &own),
        Vec::<String>::new()
    );

    let mut pending = import_record("PENDING");
    for absent in ["startTime", "completionTime"] {
        pending.as_object_mut().unwrap().remove(absent);
    }
    pending["progress"] = serde_json::json!(0);
    assert_eq!(
        schema_errors("ImportOperationResponse", &pending),
        Vec::<String>::new()
    );
}

#[test]
fn error_bodies_validate_against_error_body() {
    for body in [
        serde_json::json!({"error": "invalid_request", "field": "sourceDir", "message": "sourceDir must be absolute"}),
        serde_json::json!({"error": "not_found", "field": null, "message": "no operation with id x"}),
        serde_json::json!({"error": "already_finished", "field": null, "message": "already COMPLETED",
                           "operation": import_record("COMPLETED")}),
    ] {
        assert_eq!(
            schema_errors("ErrorBody", &body),
            Vec::<String>::new(),
            "{body}"
        );
    }
}

#[test]
fn the_validator_rejects_what_our_schemas_forbid() {
    let mut string_progress = import_record("RUNNING");
    string_progress["progress"] = serde_json::json!("0.5");
    assert!(!schema_errors("ImportOperationResponse", &string_progress).is_empty());

    let mut unknown_state = import_record("RUNNING");
    unknown_state["state"] = serde_json::json!("DONE");
    assert!(!schema_errors("ImportOperationResponse", &unknown_state).is_empty());

    let mut no_id = import_record("RUNNING");
    no_id.as_object_mut().unwrap().remove("id");
    assert!(!schema_errors("ImportOperationResponse", &no_id).is_empty());

    let mut bad_time = import_record("RUNNING");
    bad_time["creationTime"] = serde_json::json!("yesterday");
    assert!(!schema_errors("ImportOperationResponse", &bad_time).is_empty());

    assert!(!schema_errors("ErrorBody", &serde_json::json!({"error": "x"})).is_empty());
}
