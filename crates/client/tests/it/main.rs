//! The client crate's integration tests, one binary: the library and the operator commands
//! against an in-process fake API, the commands embedded in another parser, the environment
//! defaults, HTTPS, and our OpenAPI document against the Icarus contract.

mod cli;
mod client;
mod common;
mod embed;
mod env;
mod openapi;
mod tls;
