//! The MBean-server seam: the few `MBeanServerConnection` calls this crate needs, over
//! [`javaser::Value`].
//!
//! Owns the [`MBeanServer`] trait only. It must not know Cassandra (that is `node` and its
//! siblings) nor any transport (that is `jmx_adapter`, or a test fake). Implementations map their
//! errors into [`NodeError`]: unknown MBean → `NotFound`, a server-side throwable → `Java`, and
//! so on.

use std::sync::Arc;

use async_trait::async_trait;
use javaser::Value;

use crate::error::NodeError;

/// A connection to one MBean server. Object-safe: the node holds an `Arc<dyn MBeanServer>`.
#[async_trait]
pub trait MBeanServer: Send + Sync {
    /// `invoke(name, operation, params, signature)`. `signature` holds Java type names in
    /// `Class.getName()` form (`int`, `java.lang.String`, `[Ljava.lang.String;`); `void`
    /// operations return `Value::Null`.
    async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, NodeError>;

    /// `getAttribute(name, attribute)`.
    async fn get_attribute(&self, object_name: &str, attribute: &str) -> Result<Value, NodeError>;

    /// `getAttributes(name, attributes)`: the attributes that could be read, by name.
    async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Value)>, NodeError>;

    /// `setAttribute(name, Attribute(attribute, value))`.
    async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: Value,
    ) -> Result<(), NodeError>;

    /// `queryNames(pattern, null)`: matching ObjectNames in canonical form.
    async fn query_names(&self, pattern: &str) -> Result<Vec<String>, NodeError>;

    /// `isRegistered(name)`.
    async fn is_registered(&self, object_name: &str) -> Result<bool, NodeError>;

    /// Ends the connection; later calls fail.
    async fn close(&self) -> Result<(), NodeError>;

    /// Which session with the server answers now: a value that changes whenever the connection
    /// was established anew (the server may have restarted, perhaps as another version).
    /// Servers that never reconnect keep the default.
    fn session(&self) -> u64 {
        0
    }
}

#[async_trait]
impl<T: MBeanServer + ?Sized> MBeanServer for Arc<T> {
    async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, NodeError> {
        (**self)
            .invoke(object_name, operation, params, signature)
            .await
    }

    async fn get_attribute(&self, object_name: &str, attribute: &str) -> Result<Value, NodeError> {
        (**self).get_attribute(object_name, attribute).await
    }

    async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Value)>, NodeError> {
        (**self).get_attributes(object_name, attributes).await
    }

    async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: Value,
    ) -> Result<(), NodeError> {
        (**self).set_attribute(object_name, attribute, value).await
    }

    async fn query_names(&self, pattern: &str) -> Result<Vec<String>, NodeError> {
        (**self).query_names(pattern).await
    }

    async fn is_registered(&self, object_name: &str) -> Result<bool, NodeError> {
        (**self).is_registered(object_name).await
    }

    async fn close(&self) -> Result<(), NodeError> {
        (**self).close().await
    }

    fn session(&self) -> u64 {
        (**self).session()
    }
}
