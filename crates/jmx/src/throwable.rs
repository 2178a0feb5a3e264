//! Java throwables decoded from an ExceptionalReturn, as a plain serializable tree.
//!
//! Owns the conversion from a decoded `Throwable` object (generic [`javaser::Value`]) into
//! [`JavaThrowable`] — class, message, stack, cause chain, suppressed — and the unwrapping of the
//! JMX wrapper exceptions. It must not decide which [`crate::JmxError`] kind a throwable becomes.

use javaser::Value;
use serde::Serialize;

/// Deepest cause/suppressed nesting kept; anything deeper is cut off (hostile input guard).
const MAX_DEPTH: usize = 32;

/// JMX exceptions that only wrap the real failure, with the field holding it.
const JMX_WRAPPERS: &[(&str, &str)] = &[
    ("javax.management.MBeanException", "exception"),
    ("javax.management.RuntimeMBeanException", "runtimeException"),
    ("javax.management.ReflectionException", "exception"),
    ("javax.management.RuntimeErrorException", "error"),
    (
        "javax.management.RuntimeOperationsException",
        "runtimeException",
    ),
];

/// Fields other than `Throwable.cause` that hold a nested cause, by class family.
const CAUSE_FIELDS: &[&str] = &["detail", "exception", "runtimeException", "error", "target"];

/// A Java throwable: what the server threw, serializable to JSON (an operation's `failureCause`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JavaThrowable {
    /// Binary class name, e.g. `java.lang.IllegalArgumentException`.
    pub class: String,
    /// `getMessage()`.
    pub message: Option<String>,
    /// Stack trace, innermost frame first.
    pub stack_trace: Vec<StackFrame>,
    /// `getCause()`.
    pub cause: Option<Box<JavaThrowable>>,
    /// `getSuppressed()`.
    pub suppressed: Vec<JavaThrowable>,
    /// The JMX wrapper exception this one was unwrapped from (e.g.
    /// `javax.management.RuntimeMBeanException`), when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<String>,
}

/// One `StackTraceElement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackFrame {
    pub class_name: String,
    pub method_name: String,
    pub file_name: Option<String>,
    /// Negative when unknown; -2 for a native method.
    pub line_number: i32,
}

impl JavaThrowable {
    /// A throwable with just a class and a message (no stack, no cause), e.g. for test doubles.
    pub fn new(class: impl Into<String>, message: Option<&str>) -> JavaThrowable {
        JavaThrowable {
            class: class.into(),
            message: message.map(str::to_owned),
            stack_trace: Vec::new(),
            cause: None,
            suppressed: Vec::new(),
            wrapper: None,
        }
    }

    /// The innermost cause.
    pub fn root_cause(&self) -> &JavaThrowable {
        self.chain().last().unwrap_or(self)
    }

    /// Decodes a throwable and unwraps JMX wrapper exceptions to the real cause. Returns `None`
    /// when the value is not an object.
    pub fn from_value(value: &Value) -> Option<JavaThrowable> {
        let mut wrapper = None;
        let mut current = value;
        for _ in 0..MAX_DEPTH {
            let obj = current.as_object()?;
            let inner = JMX_WRAPPERS
                .iter()
                .find(|(class, _)| *class == obj.class_name())
                .and_then(|(_, field)| obj.field(field))
                .filter(|v| matches!(v, Value::Object(_)));
            match inner {
                Some(inner) => {
                    wrapper.get_or_insert_with(|| obj.class_name().to_string());
                    current = inner;
                }
                None => break,
            }
        }
        let mut t = decode(current, 0)?;
        t.wrapper = wrapper;
        Some(t)
    }

    /// This throwable and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &JavaThrowable> {
        std::iter::successors(Some(self), |t| t.cause.as_deref())
    }

    /// Whether this throwable or one of its causes has the given class.
    pub fn has_class(&self, class: &str) -> bool {
        self.chain().any(|t| t.class == class)
    }

    /// `class: message` of each link, joined with `; caused by `.
    pub fn summary(&self) -> String {
        self.chain()
            .map(|t| match &t.message {
                Some(m) => format!("{}: {m}", t.class),
                None => t.class.clone(),
            })
            .collect::<Vec<_>>()
            .join("; caused by ")
    }
}

impl std::fmt::Display for JavaThrowable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

impl std::error::Error for JavaThrowable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

fn decode(value: &Value, depth: usize) -> Option<JavaThrowable> {
    let obj = value.as_object()?;
    let message = obj
        .field("detailMessage")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let stack_trace = obj
        .field("stackTrace")
        .and_then(|v| v.as_items())
        .map(|items| items.iter().filter_map(frame).collect())
        .unwrap_or_default();
    let mut cause = None;
    let mut suppressed = Vec::new();
    if depth < MAX_DEPTH {
        // `Throwable.cause` pointing at the throwable itself (a cycle) means "no cause".
        let candidates = std::iter::once("cause").chain(CAUSE_FIELDS.iter().copied());
        cause = candidates
            .filter_map(|f| obj.field(f))
            .find_map(|v| decode(v, depth + 1))
            .map(Box::new);
        if let Some(items) = obj.field("suppressedExceptions").and_then(|v| v.as_items()) {
            suppressed = items.iter().filter_map(|v| decode(v, depth + 1)).collect();
        }
    }
    Some(JavaThrowable {
        class: obj.class_name().to_string(),
        message,
        stack_trace,
        cause,
        suppressed,
        wrapper: None,
    })
}

fn frame(value: &Value) -> Option<StackFrame> {
    let obj = value.as_object()?;
    let text = |name: &str| obj.field(name).and_then(|v| v.as_str()).map(str::to_string);
    Some(StackFrame {
        class_name: text("declaringClass").unwrap_or_default(),
        method_name: text("methodName").unwrap_or_default(),
        file_name: text("fileName"),
        line_number: obj
            .field("lineNumber")
            .and_then(|v| v.as_i64())
            .map_or(-1, |n| n as i32),
    })
}
