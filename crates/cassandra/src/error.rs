//! The error type of every node call, and the Java throwable it may carry.
//!
//! Owns [`NodeError`] (what went wrong, by kind) and [`JavaThrowable`] (what Cassandra threw, as a
//! plain serializable tree). It must not do I/O nor know any transport's error type; adapters
//! map theirs into these.

use serde::Serialize;
use std::fmt;

/// What a node call can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NodeError {
    /// The node's JMX endpoint could not be reached, or the connection broke mid-call.
    #[error("cannot reach the node over JMX: {message}")]
    Unreachable { message: String },
    /// A connect or a call took longer than allowed.
    #[error("JMX call timed out: {message}")]
    Timeout { message: String },
    /// Wrong or missing JMX credentials.
    #[error("JMX authentication failed: {message}")]
    Auth { message: String },
    /// No MBean with that ObjectName is registered.
    #[error("no MBean {object_name} on the node")]
    NotFound { object_name: String },
    /// Cassandra (or the JMX layer on its side) threw. JMX wrapper exceptions
    /// (`RuntimeMBeanException`, `MBeanException`, ...) are already unwrapped.
    #[error("Cassandra threw {throwable}")]
    Java { throwable: Box<JavaThrowable> },
    /// The reply did not have the expected shape, or the transport broke its protocol.
    #[error("unexpected reply: {message}")]
    Protocol { message: String },
    /// The node's Cassandra version does not have this operation or option.
    #[error("{what} is not supported on Cassandra {version}")]
    Unsupported { what: String, version: String },
    /// An argument cannot be sent (e.g. a keyspace name that would change the ObjectName).
    #[error("invalid argument: {message}")]
    InvalidArgument { message: String },
}

impl NodeError {
    /// The throwable, when Cassandra threw.
    pub fn throwable(&self) -> Option<&JavaThrowable> {
        match self {
            NodeError::Java { throwable } => Some(throwable.as_ref()),
            _ => None,
        }
    }

    /// A short machine-readable kind, e.g. for a JSON `failureCause.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeError::Unreachable { .. } => "unreachable",
            NodeError::Timeout { .. } => "timeout",
            NodeError::Auth { .. } => "auth",
            NodeError::NotFound { .. } => "not_found",
            NodeError::Java { .. } => "java",
            NodeError::Protocol { .. } => "protocol",
            NodeError::Unsupported { .. } => "unsupported",
            NodeError::InvalidArgument { .. } => "invalid_argument",
        }
    }

    /// `NodeError::Java` holding `throwable`.
    pub fn java(throwable: JavaThrowable) -> NodeError {
        NodeError::Java {
            throwable: Box::new(throwable),
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> NodeError {
        NodeError::Protocol {
            message: message.into(),
        }
    }
}

/// A Java throwable as Cassandra sent it: class, message, stack and causes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JavaThrowable {
    /// Binary class name, e.g. `java.lang.IllegalArgumentException`.
    pub class: String,
    pub message: Option<String>,
    /// Innermost frame first.
    pub stack_trace: Vec<StackFrame>,
    pub cause: Option<Box<JavaThrowable>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<JavaThrowable>,
    /// The JMX wrapper this throwable was unwrapped from, when it was.
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
    /// A throwable with just a class and a message (no stack, no cause).
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

    /// This throwable and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &JavaThrowable> {
        std::iter::successors(Some(self), |t| t.cause.as_deref())
    }

    /// The innermost cause.
    pub fn root_cause(&self) -> &JavaThrowable {
        self.chain().last().unwrap_or(self)
    }

    /// True if this throwable or one of its causes has the class.
    pub fn has_class(&self, class: &str) -> bool {
        self.chain().any(|t| t.class == class)
    }
}

impl fmt::Display for JavaThrowable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{}: {m}", self.class),
            None => f.write_str(&self.class),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_chain() {
        let mut outer = JavaThrowable::new(
            "java.lang.RuntimeException",
            Some("Error while rebuilding node"),
        );
        outer.cause = Some(Box::new(JavaThrowable::new(
            "java.io.IOException",
            Some("stream failed"),
        )));
        assert_eq!(
            NodeError::java(outer.clone()).to_string(),
            "Cassandra threw java.lang.RuntimeException: Error while rebuilding node"
        );
        assert_eq!(outer.root_cause().class, "java.io.IOException");
        assert!(outer.has_class("java.io.IOException"));
        assert!(!outer.has_class("java.lang.Error"));
        let json = serde_json::to_value(&outer).unwrap();
        assert_eq!(json["class"], "java.lang.RuntimeException");
        assert_eq!(json["cause"]["message"], "stream failed");
        assert_eq!(json["stackTrace"], serde_json::json!([]));
    }
}
