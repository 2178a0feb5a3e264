//! Integration tests of the JMX client against the JDK's own JMX connector server (one test
//! binary: the server classes are compiled once and the shared server is started once).

mod calls;
mod common;
mod errors;
mod lifetime;
mod robustness;
mod tls;
mod values;
