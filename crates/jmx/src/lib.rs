//! Native async JMX client: the JRMP transport, RMI stubs and DGC, and the JMX RMI connector
//! calls (`getAttribute`, `invoke`, ...), over TCP or TLS, with no JVM.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jmx::JmxError> {
//! let client = jmx::JmxClient::connect(jmx::JmxConfig::new("127.0.0.1", 7199)).await?;
//! let name = client.get_attribute("java.lang:type=Runtime", "VmName").await?;
//! client.close().await?;
//! # Ok(()) }
//! ```

mod call;
#[cfg(test)]
mod capture_tests;
mod client;
mod dgc;
mod error;
pub mod hashes;
mod info;
mod pool;
mod stub;
mod throwable;
mod tls;
mod transport;

pub use client::{Credentials, JmxClient, JmxConfig};
pub use error::JmxError;
pub use info::{MBeanAttributeInfo, MBeanInfo, MBeanOperationInfo, MBeanParameterInfo};
pub use javaser::Value;
pub use stub::{ObjId, RemoteRef};
pub use throwable::{JavaThrowable, StackFrame};
pub use tls::TlsConfig;
