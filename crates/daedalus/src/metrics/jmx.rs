//! The metering decorator of the MBean server: every call to the node counted and timed.
//!
//! Owns naming a call for the `call` label: an operation by its name (`importNewSSTables`), an
//! attribute read by the attribute in lower camel case (`operationMode`), the rest by the JMX
//! method (`isRegistered`, `queryNames`). It wraps the generic `MBeanServer` methods only, so a
//! new Cassandra call is metered without a change here. It must not change a call or its result.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use cassandra::{MBeanServer, NodeError};
use jmx::Value;

/// Counts and times every call of the server it wraps.
pub struct MeteredServer {
    inner: Arc<dyn MBeanServer>,
}

impl MeteredServer {
    pub fn new(inner: Arc<dyn MBeanServer>) -> MeteredServer {
        MeteredServer { inner }
    }
}

async fn metered<T>(
    call: &str,
    future: impl std::future::Future<Output = Result<T, NodeError>>,
) -> Result<T, NodeError> {
    let started = Instant::now();
    let out = future.await;
    let seconds = started.elapsed().as_secs_f64();
    super::registry::global().jmx_call(call, seconds, out.is_ok());
    tracing::debug!(call, seconds, ok = out.is_ok(), "node call");
    out
}

/// `OperationMode` → `operationMode`.
fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[async_trait]
impl MBeanServer for MeteredServer {
    async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, NodeError> {
        metered(
            operation,
            self.inner.invoke(object_name, operation, params, signature),
        )
        .await
    }

    async fn get_attribute(&self, object_name: &str, attribute: &str) -> Result<Value, NodeError> {
        metered(
            &lower_camel(attribute),
            self.inner.get_attribute(object_name, attribute),
        )
        .await
    }

    async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Value)>, NodeError> {
        metered(
            "getAttributes",
            self.inner.get_attributes(object_name, attributes),
        )
        .await
    }

    async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: Value,
    ) -> Result<(), NodeError> {
        metered(
            &format!("set{attribute}"),
            self.inner.set_attribute(object_name, attribute, value),
        )
        .await
    }

    async fn query_names(&self, pattern: &str) -> Result<Vec<String>, NodeError> {
        metered("queryNames", self.inner.query_names(pattern)).await
    }

    async fn is_registered(&self, object_name: &str) -> Result<bool, NodeError> {
        metered("isRegistered", self.inner.is_registered(object_name)).await
    }

    async fn close(&self) -> Result<(), NodeError> {
        self.inner.close().await
    }

    fn session(&self) -> u64 {
        self.inner.session()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cassandra::fake::FakeServer;

    #[tokio::test]
    async fn calls_are_named_by_operation_or_attribute() {
        let fake = Arc::new(FakeServer::cassandra("4.1.0"));
        let metered = MeteredServer::new(fake.clone());
        let ss = "org.apache.cassandra.db:type=StorageService";
        metered
            .get_attribute(ss, "ReleaseVersion")
            .await
            .expect("scripted");
        metered
            .invoke(ss, "forceKeyspaceFlushMetered", &[], &[])
            .await
            .expect("void");
        assert!(metered.get_attribute(ss, "NoSuchThing").await.is_err());
        let out = super::super::registry::global().render(&Default::default());
        assert!(
            out.contains("daedalus_jmx_calls_total{call=\"forceKeyspaceFlushMetered\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("daedalus_jmx_errors_total{call=\"noSuchThing\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("daedalus_jmx_calls_total{call=\"releaseVersion\"}"),
            "{out}"
        );
        assert_eq!(fake.calls().len(), 3, "every call reaches the server");
    }
}
