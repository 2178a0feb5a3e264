//! `Node` against the recording fake: for each Cassandra version, every method sends the exact
//! ObjectName, operation, signature and arguments, and decodes realistic replies.

mod compaction;
mod import;
mod info;
mod maintenance;
mod topology;

use std::sync::Arc;

use cassandra::fake::{Call, FakeServer};
use cassandra::{MBeanServer, Node};
use javaser::Value;

pub const SS: &str = "org.apache.cassandra.db:type=StorageService";
pub const V311: &str = "3.11.20";
pub const V40: &str = "4.0.6";
pub const V41: &str = "4.1.0";
pub const V50: &str = "5.0-beta2";
pub const ALL: [&str; 4] = [V311, V40, V41, V50];

/// A node of `version` over a fresh fake; the version read is already forgotten from the log.
pub async fn node(version: &str) -> (Arc<FakeServer>, Node) {
    let fake = Arc::new(FakeServer::cassandra(version));
    let server: Arc<dyn MBeanServer> = fake.clone();
    let node = Node::connect(server).await.expect("connect");
    fake.clear_calls();
    (fake, node)
}

pub fn invoke(object_name: &str, operation: &str, params: Vec<Value>, signature: &[&str]) -> Call {
    Call::Invoke {
        object_name: object_name.to_owned(),
        operation: operation.to_owned(),
        params,
        signature: signature.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn s(text: &str) -> Value {
    Value::String(text.to_owned())
}

pub fn strings(items: &[&str]) -> Value {
    Value::Array {
        class: "[Ljava.lang.String;".to_owned(),
        items: items.iter().map(|i| s(i)).collect(),
    }
}

pub fn list(class: &str, items: &[&str]) -> Value {
    Value::List {
        class: class.to_owned(),
        items: items.iter().map(|i| s(i)).collect(),
    }
}

pub fn map(entries: &[(&str, &str)]) -> Value {
    Value::Map {
        class: "java.util.HashMap".to_owned(),
        entries: entries.iter().map(|(k, v)| (s(k), s(v))).collect(),
    }
}

pub fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
