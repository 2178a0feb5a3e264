//! Human-readable rendering: aligned tables, operation details and failure causes.
//!
//! Owns text layout only; pure functions from model types to `String`. Must not do I/O, talk
//! HTTP or decide exit codes.

use serde_json::Value;

use crate::model::{ClusterTopology, NodeStatus, Operation, Versions};

/// How many stack frames of each throwable are shown.
pub const STACK_FRAMES_SHOWN: usize = 5;

/// An aligned text table: a header row and data rows, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate().take(columns) {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < columns {
                let pad = widths[i].saturating_sub(cell.chars().count());
                text.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// `42%` from a 0..1 progress.
pub fn percent(progress: f64) -> String {
    let p = if progress.is_finite() {
        progress.clamp(0.0, 1.0)
    } else {
        0.0
    };
    format!("{:.0}%", p * 100.0)
}

fn dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

/// The `op list` table: one line per operation.
pub fn operations_table(ops: &[Operation]) -> String {
    let rows: Vec<Vec<String>> = ops
        .iter()
        .map(|op| {
            vec![
                op.id.clone(),
                op.kind.clone(),
                op.state.to_string(),
                percent(op.progress),
                dash(op.creation_time.as_deref()),
                op.target().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &["ID", "TYPE", "STATE", "PROGRESS", "CREATED", "TARGET"],
        &rows,
    )
}

/// The detail view of one operation: base fields, request fields, errors and the failure cause.
/// The `list` operation's `response`: one row per backup, oldest first.
pub fn backups_table(listing: &Value) -> String {
    let rows: Vec<Vec<String>> = listing
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|b| {
            let text = |k: &str| b.get(k).map(scalar).unwrap_or_else(|| "-".into());
            let nodes = b
                .get("nodes")
                .and_then(Value::as_array)
                .map(|n| n.iter().map(scalar).collect::<Vec<_>>().join(","))
                .unwrap_or_default();
            let taken = b
                .get("timestamp")
                .and_then(Value::as_i64)
                .and_then(|ms| {
                    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| text("timestamp"));
            vec![
                text("name"),
                text("snapshotTag"),
                text("schemaVersion"),
                taken,
                text("size"),
                text("files"),
                nodes,
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no backups\n".to_string();
    }
    table(
        &[
            "NAME",
            "TAG",
            "SCHEMA VERSION",
            "TAKEN",
            "BYTES",
            "FILES",
            "NODES",
        ],
        &rows,
    )
}

pub fn operation_detail(op: &Operation) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("id".into(), op.id.clone()),
        ("type".into(), op.kind.clone()),
        ("state".into(), op.state.to_string()),
        ("progress".into(), percent(op.progress)),
        ("creationTime".into(), dash(op.creation_time.as_deref())),
        ("startTime".into(), dash(op.start_time.as_deref())),
        ("completionTime".into(), dash(op.completion_time.as_deref())),
    ];
    for (key, value) in &op.extra {
        rows.push((key.clone(), scalar(value)));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{k:<width$}  {v}\n"));
    }
    if !op.errors.is_empty() {
        out.push_str("errors:\n");
        for e in &op.errors {
            out.push_str(&format!(
                "  - {}{}\n",
                e.source
                    .as_deref()
                    .map(|s| format!("[{s}] "))
                    .unwrap_or_default(),
                e.message.as_deref().unwrap_or("")
            ));
        }
    }
    if let Some(cause) = &op.failure_cause {
        out.push_str("failureCause:\n");
        for line in failure_cause(cause).lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            items.iter().map(scalar).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

/// Renders a `failureCause`: a Java throwable as `class: message`, its first stack frames and
/// its `Caused by:` chain; the sidecar's own `{kind, message}` as `kind: message`; anything
/// else as JSON.
pub fn failure_cause(cause: &Value) -> String {
    let mut out = String::new();
    render_throwable(cause, &mut out, 0);
    out
}

fn str_field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| v.get(n).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
}

fn render_throwable(cause: &Value, out: &mut String, depth: usize) {
    if depth > 16 {
        out.push_str("...\n");
        return;
    }
    let obj = match cause {
        Value::Object(_) => cause,
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
            return;
        }
        Value::Null => return,
        other => {
            out.push_str(&other.to_string());
            out.push('\n');
            return;
        }
    };
    let class = str_field(obj, &["class", "className", "exception", "kind", "type"]);
    let message = str_field(obj, &["message", "localizedMessage", "detail"]);
    if class.is_none() && message.is_none() {
        out.push_str(&obj.to_string());
        out.push('\n');
        return;
    }
    match (class, message) {
        (Some(c), Some(m)) => out.push_str(&format!("{c}: {m}\n")),
        (Some(c), None) => out.push_str(&format!("{c}\n")),
        (None, Some(m)) => out.push_str(&format!("{m}\n")),
        (None, None) => {}
    }
    let frames = ["stack", "stackTrace", "frames"]
        .iter()
        .find_map(|n| obj.get(n).and_then(Value::as_array));
    if let Some(frames) = frames {
        for frame in frames.iter().take(STACK_FRAMES_SHOWN) {
            out.push_str(&format!("    at {}\n", frame_text(frame)));
        }
        if frames.len() > STACK_FRAMES_SHOWN {
            out.push_str(&format!(
                "    ... {} more\n",
                frames.len() - STACK_FRAMES_SHOWN
            ));
        }
    }
    let mut causes: Vec<&Value> = Vec::new();
    if let Some(c) = obj.get("cause").filter(|c| !c.is_null()) {
        causes.push(c);
    }
    if let Some(list) = obj.get("causes").and_then(Value::as_array) {
        causes.extend(list.iter());
    }
    for c in causes {
        out.push_str("Caused by: ");
        render_throwable(c, out, depth + 1);
    }
    if let Some(list) = obj.get("suppressed").and_then(Value::as_array) {
        for s in list {
            out.push_str("Suppressed: ");
            render_throwable(s, out, depth + 1);
        }
    }
}

fn frame_text(frame: &Value) -> String {
    match frame {
        Value::String(s) => s.clone(),
        Value::Object(_) => {
            let class = str_field(frame, &["className", "declaringClass", "class"]).unwrap_or("?");
            let method = str_field(frame, &["methodName", "method"]).unwrap_or("?");
            let file = str_field(frame, &["fileName", "file"]);
            let line = frame
                .get("lineNumber")
                .or_else(|| frame.get("line"))
                .and_then(Value::as_i64);
            let location = match (file, line) {
                (_, Some(-2)) => "Native Method".to_string(),
                (Some(f), Some(l)) if l >= 0 => format!("{f}:{l}"),
                (Some(f), _) => f.to_string(),
                (None, _) => "Unknown Source".to_string(),
            };
            format!("{class}.{method}({location})")
        }
        other => other.to_string(),
    }
}

/// The `status` view.
pub fn status(status: &NodeStatus) -> String {
    let mut rows = vec![vec![
        "nodeState".to_string(),
        dash(status.node_state.as_deref()),
    ]];
    for (k, v) in &status.extra {
        rows.push(vec![k.clone(), scalar(v)]);
    }
    table(&["FIELD", "VALUE"], &rows)
}

/// The `topology` view: a cluster header line and one row per node.
pub fn topology(topology: &ClusterTopology) -> String {
    let mut out = format!(
        "cluster: {}  schema: {}\n",
        dash(topology.cluster_name.as_deref()),
        dash(topology.schema_version.as_deref())
    );
    let rows: Vec<Vec<String>> = topology
        .topology
        .iter()
        .map(|n| {
            vec![
                dash(n.hostname.as_deref()),
                dash(n.ip_address.as_deref()),
                dash(n.dc.as_deref()),
                dash(n.rack.as_deref()),
                dash(n.node_id.as_deref()),
            ]
        })
        .collect();
    out.push_str(&table(&["HOSTNAME", "IP", "DC", "RACK", "HOST ID"], &rows));
    out
}

/// The versions view.
pub fn versions(v: &Versions) -> String {
    let rows = vec![
        vec!["sidecar".to_string(), dash(v.sidecar.version.as_deref())],
        vec![
            "cassandra".to_string(),
            v.cassandra
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "unavailable".into()),
        ],
        vec![
            "schema".to_string(),
            v.schema.clone().unwrap_or_else(|| "unavailable".into()),
        ],
    ];
    table(&["COMPONENT", "VERSION"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_columns_are_aligned() {
        let t = table(
            &["A", "BB"],
            &[
                vec!["long-value".into(), "x".into()],
                vec!["s".into(), "y".into()],
            ],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "A           BB");
        assert_eq!(lines[1], "long-value  x");
        assert_eq!(lines[2], "s           y");
    }

    #[test]
    fn java_cause_shows_class_message_frames_and_causes() {
        let frames: Vec<Value> = (0..8)
            .map(|i| json!(format!("org.apache.cassandra.Foo.bar(Foo.java:{i})")))
            .collect();
        let cause = json!({
            "class": "java.lang.RuntimeException",
            "message": "import failed",
            "stack": frames,
            "cause": {
                "class": "java.io.IOException",
                "message": "disk full",
                "stack": [{"className": "a.B", "methodName": "c", "fileName": "B.java", "lineNumber": 7}]
            }
        });
        let text = failure_cause(&cause);
        assert!(
            text.starts_with("java.lang.RuntimeException: import failed\n"),
            "{text}"
        );
        assert!(
            text.contains("    at org.apache.cassandra.Foo.bar(Foo.java:0)"),
            "{text}"
        );
        assert!(
            text.contains("    at org.apache.cassandra.Foo.bar(Foo.java:4)"),
            "{text}"
        );
        assert!(!text.contains("Foo.java:5)"), "{text}");
        assert!(text.contains("... 3 more"), "{text}");
        assert!(
            text.contains("Caused by: java.io.IOException: disk full"),
            "{text}"
        );
        assert!(text.contains("    at a.B.c(B.java:7)"), "{text}");
    }

    #[test]
    fn jmx_throwable_shape_is_rendered() {
        let cause = json!({
            "class": "java.lang.IllegalStateException",
            "message": null,
            "stackTrace": [
                {"className": "sun.Native", "methodName": "call", "fileName": null, "lineNumber": -2},
                {"className": "a.B", "methodName": "c", "fileName": null, "lineNumber": -1}
            ],
            "cause": null,
            "suppressed": [{"class": "java.lang.Error", "message": "late", "stackTrace": [], "suppressed": []}],
            "wrapper": "javax.management.RuntimeMBeanException"
        });
        let text = failure_cause(&cause);
        assert_eq!(
            text,
            "java.lang.IllegalStateException\n    at sun.Native.call(Native Method)\n    at a.B.c(Unknown Source)\nSuppressed: java.lang.Error: late\n"
        );
    }

    #[test]
    fn own_cause_shows_kind_and_message() {
        let text = failure_cause(&json!({"kind": "Timeout", "message": "no answer in 30s"}));
        assert_eq!(text, "Timeout: no answer in 30s\n");
    }

    #[test]
    fn backups_table_has_one_row_per_backup_with_its_time() {
        let listing = serde_json::json!([{"name": "s1-sv-1700000000000", "snapshotTag": "s1",
            "schemaVersion": "sv", "timestamp": 1_700_000_000_000u64, "size": 55, "files": 2,
            "nodes": ["c/d/n1", "c/d/n2"]}]);
        let text = backups_table(&listing);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[1].starts_with("s1-sv-1700000000000"), "{text}");
        assert!(lines[1].contains("2023-11-14T22:13:20Z"), "{text}");
        assert!(lines[1].contains("c/d/n1,c/d/n2"), "{text}");
        assert_eq!(backups_table(&serde_json::json!([])), "no backups\n");
    }

    #[test]
    fn percent_is_clamped() {
        assert_eq!(percent(0.426), "43%");
        assert_eq!(percent(2.0), "100%");
        assert_eq!(percent(f64::NAN), "0%");
    }
}
