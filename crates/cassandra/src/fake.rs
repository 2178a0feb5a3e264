//! A scripted, recording [`MBeanServer`] for tests, here and in crates that build on [`Node`].
//!
//! Owns the fake only: attributes and operation results are scripted per ObjectName, every call
//! is recorded in order so a test can assert the exact name, operation, signature and
//! arguments. It must not imitate Cassandra's behaviour beyond what a test scripts.
//!
//! [`Node`]: crate::Node

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use javaser::Value;

use crate::error::{JavaThrowable, NodeError};
use crate::mbean_server::MBeanServer;
use crate::names::STORAGE_SERVICE;

/// One recorded call.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Invoke {
        object_name: String,
        operation: String,
        params: Vec<Value>,
        signature: Vec<String>,
    },
    GetAttribute {
        object_name: String,
        attribute: String,
    },
    GetAttributes {
        object_name: String,
        attributes: Vec<String>,
    },
    SetAttribute {
        object_name: String,
        attribute: String,
        value: Value,
    },
    QueryNames {
        pattern: String,
    },
    IsRegistered {
        object_name: String,
    },
    Close,
}

type Handler = Arc<dyn Fn(&[Value]) -> Result<Value, NodeError> + Send + Sync>;

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    attributes: HashMap<(String, String), Result<Value, NodeError>>,
    operations: HashMap<(String, String), Handler>,
    registered: BTreeSet<String>,
    session: u64,
}

/// The fake. Unscripted operations return `Value::Null` (a `void` result); unscripted
/// attributes fail like JMX does (`AttributeNotFoundException`).
#[derive(Default)]
pub struct FakeServer {
    state: Mutex<State>,
}

impl FakeServer {
    pub fn new() -> FakeServer {
        FakeServer::default()
    }

    /// A fake node reporting `release_version`, with StorageService registered.
    pub fn cassandra(release_version: &str) -> FakeServer {
        let fake = FakeServer::new();
        fake.register(STORAGE_SERVICE);
        fake.set_attr(
            STORAGE_SERVICE,
            "ReleaseVersion",
            Value::String(release_version.to_owned()),
        );
        fake
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scripts an attribute's value.
    pub fn set_attr(&self, object_name: &str, attribute: &str, value: Value) {
        self.state()
            .attributes
            .insert((object_name.to_owned(), attribute.to_owned()), Ok(value));
    }

    /// Scripts an attribute read to fail.
    pub fn fail_attr(&self, object_name: &str, attribute: &str, error: NodeError) {
        self.state()
            .attributes
            .insert((object_name.to_owned(), attribute.to_owned()), Err(error));
    }

    /// Scripts an operation (any signature) with a handler that sees the arguments.
    pub fn on_invoke(
        &self,
        object_name: &str,
        operation: &str,
        handler: impl Fn(&[Value]) -> Result<Value, NodeError> + Send + Sync + 'static,
    ) {
        self.state().operations.insert(
            (object_name.to_owned(), operation.to_owned()),
            Arc::new(handler),
        );
    }

    /// Scripts an operation to return `value`.
    pub fn returns(&self, object_name: &str, operation: &str, value: Value) {
        self.on_invoke(object_name, operation, move |_| Ok(value.clone()));
    }

    /// Scripts an operation to fail with `error`.
    pub fn fails(&self, object_name: &str, operation: &str, error: NodeError) {
        self.on_invoke(object_name, operation, move |_| Err(error.clone()));
    }

    /// Makes `isRegistered(object_name)` true and `queryNames` able to find it.
    pub fn register(&self, object_name: &str) {
        self.state().registered.insert(object_name.to_owned());
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The `invoke` calls so far, in order.
    pub fn invocations(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| matches!(c, Call::Invoke { .. }))
            .collect()
    }

    /// Acts as if the connection had been established anew (see [`MBeanServer::session`]), e.g.
    /// after the node restarted with another version.
    pub fn reconnect(&self) {
        self.state().session += 1;
    }

    /// Forgets the calls recorded so far.
    pub fn clear_calls(&self) {
        self.state().calls.clear();
    }

    fn record(&self, call: Call) {
        self.state().calls.push(call);
    }

    fn read(&self, object_name: &str, attribute: &str) -> Result<Value, NodeError> {
        let state = self.state();
        match state
            .attributes
            .get(&(object_name.to_owned(), attribute.to_owned()))
        {
            Some(result) => result.clone(),
            None if state.registered.contains(object_name) => {
                Err(NodeError::java(JavaThrowable::new(
                    "javax.management.AttributeNotFoundException",
                    Some(&format!("No such attribute: {attribute}")),
                )))
            }
            None => Err(NodeError::NotFound {
                object_name: object_name.to_owned(),
            }),
        }
    }
}

/// Matches an ObjectName pattern the simple way JMX patterns are used here: same domain, and
/// every `key=value` of the pattern present (a value `*` matches anything); a trailing `,*`
/// allows more keys.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    let (Some((pd, pkeys)), Some((nd, nkeys))) = (pattern.split_once(':'), name.split_once(':'))
    else {
        return false;
    };
    if pd != nd {
        return false;
    }
    let name_props: Vec<(&str, &str)> =
        nkeys.split(',').filter_map(|p| p.split_once('=')).collect();
    let mut open = false;
    let mut wanted = 0;
    for prop in pkeys.split(',') {
        if prop == "*" {
            open = true;
            continue;
        }
        let Some((k, v)) = prop.split_once('=') else {
            return false;
        };
        wanted += 1;
        if !name_props
            .iter()
            .any(|(nk, nv)| *nk == k && (v == "*" || *nv == v))
        {
            return false;
        }
    }
    open || wanted == name_props.len()
}

#[async_trait]
impl MBeanServer for FakeServer {
    async fn invoke(
        &self,
        object_name: &str,
        operation: &str,
        params: &[Value],
        signature: &[&str],
    ) -> Result<Value, NodeError> {
        self.record(Call::Invoke {
            object_name: object_name.to_owned(),
            operation: operation.to_owned(),
            params: params.to_vec(),
            signature: signature.iter().map(|s| s.to_string()).collect(),
        });
        let handler = self
            .state()
            .operations
            .get(&(object_name.to_owned(), operation.to_owned()))
            .cloned();
        match handler {
            Some(handler) => handler(params),
            None => Ok(Value::Null),
        }
    }

    async fn get_attribute(&self, object_name: &str, attribute: &str) -> Result<Value, NodeError> {
        self.record(Call::GetAttribute {
            object_name: object_name.to_owned(),
            attribute: attribute.to_owned(),
        });
        self.read(object_name, attribute)
    }

    fn session(&self) -> u64 {
        self.state().session
    }

    async fn get_attributes(
        &self,
        object_name: &str,
        attributes: &[&str],
    ) -> Result<Vec<(String, Value)>, NodeError> {
        self.record(Call::GetAttributes {
            object_name: object_name.to_owned(),
            attributes: attributes.iter().map(|s| s.to_string()).collect(),
        });
        Ok(attributes
            .iter()
            .filter_map(|a| self.read(object_name, a).ok().map(|v| (a.to_string(), v)))
            .collect())
    }

    async fn set_attribute(
        &self,
        object_name: &str,
        attribute: &str,
        value: Value,
    ) -> Result<(), NodeError> {
        self.record(Call::SetAttribute {
            object_name: object_name.to_owned(),
            attribute: attribute.to_owned(),
            value: value.clone(),
        });
        self.set_attr(object_name, attribute, value);
        Ok(())
    }

    async fn query_names(&self, pattern: &str) -> Result<Vec<String>, NodeError> {
        self.record(Call::QueryNames {
            pattern: pattern.to_owned(),
        });
        Ok(self
            .state()
            .registered
            .iter()
            .filter(|n| pattern_matches(pattern, n))
            .cloned()
            .collect())
    }

    async fn is_registered(&self, object_name: &str) -> Result<bool, NodeError> {
        self.record(Call::IsRegistered {
            object_name: object_name.to_owned(),
        });
        Ok(self.state().registered.contains(object_name))
    }

    async fn close(&self) -> Result<(), NodeError> {
        self.record(Call::Close);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn patterns() {
        let t = "org.apache.cassandra.db:type=Tables,keyspace=ks,table=t";
        assert!(pattern_matches("org.apache.cassandra.db:type=Tables,*", t));
        assert!(pattern_matches(
            "org.apache.cassandra.db:type=Tables,keyspace=ks,table=*",
            t
        ));
        assert!(!pattern_matches("org.apache.cassandra.db:type=Tables", t));
        assert!(!pattern_matches(
            "org.apache.cassandra.db:type=Tables,keyspace=other,*",
            t
        ));
        assert!(!pattern_matches("other:type=Tables,*", t));
    }
}
