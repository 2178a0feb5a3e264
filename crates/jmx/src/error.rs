//! The client's error type.
//!
//! Owns [`JmxError`] and the mapping from a server-side throwable to an error kind. It must not do
//! I/O or decode bytes.

use std::time::Duration;

use crate::throwable::JavaThrowable;

/// Everything a JMX call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum JmxError {
    /// The TCP connection (or its JRMP handshake) could not be established.
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection failed after it was established (closed or reset mid-call).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Connect or call took longer than configured.
    #[error("{during} timed out after {after:?}")]
    Timeout {
        during: &'static str,
        after: Duration,
    },
    /// Wrong or missing credentials (`SecurityException` from `newClient`).
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// No MBean with that name.
    #[error("instance not found: {}", .0.message.as_deref().unwrap_or(""))]
    InstanceNotFound(Box<JavaThrowable>),
    /// The server threw; JMX wrapper exceptions are unwrapped to the real cause.
    #[error("server threw {0}")]
    Java(Box<JavaThrowable>),
    /// The peer broke the JRMP/RMI protocol or rejected our request as malformed.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A message could not be decoded (or encoded) as Java serialization.
    #[error("serialization error: {0}")]
    Serialization(#[from] javaser::Error),
    /// TLS setup or handshake failed.
    #[error("TLS error: {0}")]
    Tls(String),
    /// The client was closed.
    #[error("client is closed")]
    Closed,
}

impl JmxError {
    /// The server could not be reached or the connection broke: retrying later may help.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, JmxError::Connect { .. } | JmxError::Io(_))
    }

    /// A connect or call timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, JmxError::Timeout { .. })
    }

    /// The Java throwable carried by this error, if any.
    pub fn throwable(&self) -> Option<&JavaThrowable> {
        match self {
            JmxError::InstanceNotFound(t) | JmxError::Java(t) => Some(t),
            _ => None,
        }
    }

    /// Classifies a throwable from an ExceptionalReturn of an RMIConnection call.
    pub(crate) fn from_throwable(t: JavaThrowable) -> JmxError {
        match t.class.as_str() {
            "javax.management.InstanceNotFoundException" => JmxError::InstanceNotFound(Box::new(t)),
            "java.rmi.ServerException" | "java.rmi.ServerError" => {
                let rmi_failure = t.cause.as_deref().is_some_and(|c| {
                    matches!(
                        c.class.as_str(),
                        "java.rmi.UnmarshalException" | "java.rmi.MarshalException"
                    )
                });
                if rmi_failure {
                    JmxError::Protocol(t.summary())
                } else {
                    JmxError::Java(Box::new(t))
                }
            }
            _ => JmxError::Java(Box::new(t)),
        }
    }
}

pub(crate) fn is_no_such_object(t: &JavaThrowable) -> bool {
    t.class == "java.rmi.NoSuchObjectException"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(class: &str, cause: Option<JavaThrowable>) -> JavaThrowable {
        JavaThrowable {
            class: class.into(),
            message: Some("m".into()),
            stack_trace: vec![],
            cause: cause.map(Box::new),
            suppressed: vec![],
            wrapper: None,
        }
    }

    #[test]
    fn classifies_throwables() {
        assert!(matches!(
            JmxError::from_throwable(t("javax.management.InstanceNotFoundException", None)),
            JmxError::InstanceNotFound(_)
        ));
        let unmarshal = t(
            "java.rmi.ServerException",
            Some(t("java.rmi.UnmarshalException", None)),
        );
        assert!(
            matches!(JmxError::from_throwable(unmarshal), JmxError::Protocol(m) if m.contains("UnmarshalException"))
        );
        let app = t(
            "java.rmi.ServerException",
            Some(t("java.lang.IllegalStateException", None)),
        );
        assert!(
            matches!(JmxError::from_throwable(app), JmxError::Java(t) if t.class == "java.rmi.ServerException")
        );
        let e = JmxError::from_throwable(t("java.lang.RuntimeException", None));
        assert_eq!(e.throwable().unwrap().class, "java.lang.RuntimeException");
        assert!(!e.is_unreachable() && !e.is_timeout());
    }
}
