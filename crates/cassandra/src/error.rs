//! The error type of every node call.
//!
//! Owns [`NodeError`] (what went wrong, by kind, with predicates callers branch on). The Java
//! throwable it may carry is the JMX client's [`JavaThrowable`], kept whole as the error's source.
//! It must not do I/O nor know any transport's error type; adapters map theirs into this.

pub use jmx::{JavaThrowable, StackFrame};

/// What a node call can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
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
    #[error("Cassandra threw {}", outermost(throwable))]
    Java {
        #[source]
        throwable: Box<JavaThrowable>,
    },
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

    /// The node could not be reached or the connection broke.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, NodeError::Unreachable { .. })
    }

    /// The call or the connect took longer than allowed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, NodeError::Timeout { .. })
    }

    /// The node refused the credentials.
    pub fn is_auth(&self) -> bool {
        matches!(self, NodeError::Auth { .. })
    }

    /// Cassandra threw.
    pub fn is_java(&self) -> bool {
        matches!(self, NodeError::Java { .. })
    }

    /// The failure says nothing about the node's answer, only about the way to it: unreachable,
    /// timed out, or a broken protocol exchange. A caller may drop its connection and dial anew.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            NodeError::Unreachable { .. } | NodeError::Timeout { .. } | NodeError::Protocol { .. }
        )
    }

    /// The kind as operators read it in a `failureCause`: `Unreachable`, `Timeout`, `Auth`,
    /// `NotFound`, `Java`, `Protocol`, `Unsupported`, `InvalidArgument`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            NodeError::Unreachable { .. } => "Unreachable",
            NodeError::Timeout { .. } => "Timeout",
            NodeError::Auth { .. } => "Auth",
            NodeError::NotFound { .. } => "NotFound",
            NodeError::Java { .. } => "Java",
            NodeError::Protocol { .. } => "Protocol",
            NodeError::Unsupported { .. } => "Unsupported",
            NodeError::InvalidArgument { .. } => "InvalidArgument",
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> NodeError {
        NodeError::Protocol {
            message: message.into(),
        }
    }
}

/// `class: message` of the throwable itself, without its causes.
fn outermost(t: &JavaThrowable) -> String {
    match &t.message {
        Some(m) => format!("{}: {m}", t.class),
        None => t.class.clone(),
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
        let error = NodeError::java(outer.clone());
        let source = std::error::Error::source(&error).expect("the throwable is the source");
        assert_eq!(
            source.to_string(),
            "java.lang.RuntimeException: Error while rebuilding node; caused by java.io.IOException: stream failed"
        );
        assert!(error.is_java() && !error.is_transport());
        let json = serde_json::to_value(&outer).unwrap();
        assert_eq!(json["class"], "java.lang.RuntimeException");
        assert_eq!(json["cause"]["message"], "stream failed");
        assert_eq!(json["stackTrace"], serde_json::json!([]));
        assert!(NodeError::Timeout {
            message: "x".into()
        }
        .is_timeout());
    }
}
