//! `MBeanInfo` as plain data: class, attributes and operations with their types.
//!
//! Owns the conversion from the decoded `javax.management.MBeanInfo` object. It must not do I/O.

use javaser::Value;
use serde::Serialize;

use crate::JmxError;

/// What `getMBeanInfo` says about an MBean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MBeanInfo {
    pub class_name: String,
    pub description: Option<String>,
    pub attributes: Vec<MBeanAttributeInfo>,
    pub operations: Vec<MBeanOperationInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MBeanAttributeInfo {
    pub name: String,
    /// Java type name, e.g. `int`, `java.lang.String`, `[Ljava.lang.String;`.
    pub type_name: String,
    pub description: Option<String>,
    pub readable: bool,
    pub writable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MBeanOperationInfo {
    pub name: String,
    pub return_type: String,
    pub description: Option<String>,
    /// 0 INFO, 1 ACTION, 2 ACTION_INFO, 3 UNKNOWN.
    pub impact: i32,
    pub params: Vec<MBeanParameterInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MBeanParameterInfo {
    pub name: String,
    pub type_name: String,
    pub description: Option<String>,
}

fn text(obj: &javaser::Object, field: &str) -> Option<String> {
    obj.field(field).and_then(Value::as_str).map(str::to_string)
}

fn objects<'a>(obj: &'a javaser::Object, field: &str) -> impl Iterator<Item = &'a javaser::Object> {
    obj.field(field)
        .and_then(Value::as_items)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_object)
}

impl MBeanInfo {
    pub(crate) fn from_value(value: &Value) -> Result<MBeanInfo, JmxError> {
        let obj = value.as_object().ok_or_else(|| {
            JmxError::Protocol("getMBeanInfo did not return an MBeanInfo object".into())
        })?;
        let attributes = objects(obj, "attributes")
            .map(|a| MBeanAttributeInfo {
                name: text(a, "name").unwrap_or_default(),
                type_name: text(a, "attributeType").unwrap_or_default(),
                description: text(a, "description"),
                readable: a.field("isRead").and_then(Value::as_bool).unwrap_or(false),
                writable: a.field("isWrite").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect();
        let operations = objects(obj, "operations")
            .map(|o| MBeanOperationInfo {
                name: text(o, "name").unwrap_or_default(),
                return_type: text(o, "type").unwrap_or_default(),
                description: text(o, "description"),
                impact: o.field("impact").and_then(Value::as_i64).unwrap_or(3) as i32,
                params: objects(o, "signature")
                    .map(|p| MBeanParameterInfo {
                        name: text(p, "name").unwrap_or_default(),
                        type_name: text(p, "type").unwrap_or_default(),
                        description: text(p, "description"),
                    })
                    .collect(),
            })
            .collect();
        Ok(MBeanInfo {
            class_name: text(obj, "className").unwrap_or_default(),
            description: text(obj, "description"),
            attributes,
            operations,
        })
    }
}
