//! [`MBeanServer`] for the native JMX client ([`jmx::JmxClient`]), and connecting a [`Node`]
//! through it.
//!
//! Owns the mapping of [`jmx::JmxError`] onto [`NodeError`] kinds; the client's throwable is
//! kept as it is. It must not add behaviour (retries, timeouts): the client has its own
//! timeouts, configured in [`jmx::JmxConfig`].

use std::sync::Arc;

use async_trait::async_trait;
use javaser::Value;
use jmx::{JmxClient, JmxConfig, JmxError};

use crate::error::NodeError;
use crate::mbean_server::MBeanServer;
use crate::node::Node;

impl Node {
    /// Connects the JMX client and reads the node's version.
    pub async fn connect_jmx(config: JmxConfig) -> Result<Node, NodeError> {
        let client = JmxClient::connect(config)
            .await
            .map_err(|e| map_error(e, None))?;
        Node::connect(Arc::new(client)).await
    }
}

/// Maps a client error; `object_name` is the MBean the call was about, for `NotFound`.
pub fn map_error(e: JmxError, object_name: Option<&str>) -> NodeError {
    match e {
        JmxError::Connect { .. } | JmxError::Io(_) | JmxError::Closed | JmxError::Tls(_) => {
            NodeError::Unreachable {
                message: e.to_string(),
            }
        }
        JmxError::Timeout { .. } => NodeError::Timeout {
            message: e.to_string(),
        },
        JmxError::Authentication(message) => NodeError::Auth { message },
        JmxError::InstanceNotFound(t) => NodeError::NotFound {
            object_name: object_name
                .map(str::to_owned)
                .or(t.message)
                .unwrap_or_default(),
        },
        JmxError::Java(t) => NodeError::Java { throwable: t },
        JmxError::Protocol(_) | JmxError::Serialization(_) => NodeError::Protocol {
            message: e.to_string(),
        },
    }
}

#[async_trait]
impl MBeanServer for JmxClient {
    async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, NodeError> {
        JmxClient::invoke(self, object_name, operation, params, signature)
            .await
            .map_err(|e| map_error(e, Some(object_name)))
    }

    async fn get_attribute(&self, object_name: &str, attribute: &str) -> Result<Value, NodeError> {
        JmxClient::get_attribute(self, object_name, attribute)
            .await
            .map_err(|e| map_error(e, Some(object_name)))
    }

    async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Value)>, NodeError> {
        JmxClient::get_attributes(self, object_name, attributes)
            .await
            .map_err(|e| map_error(e, Some(object_name)))
    }

    async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: Value,
    ) -> Result<(), NodeError> {
        JmxClient::set_attribute(self, object_name, attribute, value)
            .await
            .map_err(|e| map_error(e, Some(object_name)))
    }

    async fn query_names(&self, pattern: &str) -> Result<Vec<String>, NodeError> {
        JmxClient::query_names(self, pattern)
            .await
            .map_err(|e| map_error(e, None))
    }

    async fn is_registered(&self, object_name: &str) -> Result<bool, NodeError> {
        JmxClient::is_registered(self, object_name)
            .await
            .map_err(|e| map_error(e, Some(object_name)))
    }

    async fn close(&self) -> Result<(), NodeError> {
        JmxClient::close(self).await.map_err(|e| map_error(e, None))
    }

    fn session(&self) -> u64 {
        self.sessions_established()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn jmx_throwable(class: &str, message: &str) -> jmx::JavaThrowable {
        jmx::JavaThrowable {
            class: class.into(),
            message: Some(message.into()),
            stack_trace: vec![jmx::StackFrame {
                class_name: "org.apache.cassandra.service.StorageService".into(),
                method_name: "forceKeyspaceCleanup".into(),
                file_name: Some("StorageService.java".into()),
                line_number: 3456,
            }],
            cause: None,
            suppressed: Vec::new(),
            wrapper: None,
        }
    }

    #[test]
    fn error_kinds_map() {
        let io = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            map_error(
                JmxError::Connect {
                    endpoint: "127.0.0.1:7199".into(),
                    source: io()
                },
                None
            )
            .kind(),
            "unreachable"
        );
        assert_eq!(map_error(JmxError::Io(io()), None).kind(), "unreachable");
        assert_eq!(map_error(JmxError::Closed, None).kind(), "unreachable");
        assert_eq!(
            map_error(
                JmxError::Timeout {
                    during: "call",
                    after: Duration::from_secs(3)
                },
                None
            )
            .kind(),
            "timeout"
        );
        assert_eq!(
            map_error(
                JmxError::Authentication("Authentication failed".into()),
                None
            ),
            NodeError::Auth {
                message: "Authentication failed".into()
            }
        );
        assert_eq!(
            map_error(JmxError::Protocol("bad".into()), None).kind(),
            "protocol"
        );
        assert_eq!(
            map_error(
                JmxError::InstanceNotFound(Box::new(jmx_throwable(
                    "javax.management.InstanceNotFoundException",
                    "x"
                ))),
                Some("org.apache.cassandra.db:type=Tables,keyspace=k,table=t")
            ),
            NodeError::NotFound {
                object_name: "org.apache.cassandra.db:type=Tables,keyspace=k,table=t".into()
            }
        );
    }

    #[test]
    fn throwables_are_kept_whole() {
        let mut t = jmx_throwable("java.lang.RuntimeException", "outer");
        t.wrapper = Some("javax.management.RuntimeMBeanException".into());
        t.cause = Some(Box::new(jmx_throwable("java.io.IOException", "inner")));
        t.suppressed = vec![jmx_throwable("java.lang.Exception", "s")];
        let NodeError::Java { throwable } = map_error(JmxError::Java(Box::new(t)), None) else {
            panic!("expected Java");
        };
        assert_eq!(throwable.class, "java.lang.RuntimeException");
        assert_eq!(
            throwable.wrapper.as_deref(),
            Some("javax.management.RuntimeMBeanException")
        );
        assert_eq!(throwable.stack_trace[0].line_number, 3456);
        assert_eq!(throwable.root_cause().message.as_deref(), Some("inner"));
        assert_eq!(throwable.suppressed.len(), 1);
    }
}
