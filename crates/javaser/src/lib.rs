//! Java Object Serialization (stream protocol version 2): the value model, a bounded parser
//! ([`ObjectReader`]) and a writer ([`ObjectWriter`]). No I/O, no async.
//!
//! ```
//! use javaser::{read_single, to_stream, Limits, Value};
//! let bytes = to_stream(&Value::ObjectName("d:type=x".into()), true).unwrap();
//! assert_eq!(read_single(&bytes, Limits::default()).unwrap(), Value::ObjectName("d:type=x".into()));
//! ```
pub mod error;
pub mod jdk;
mod json;
pub mod limits;
pub mod mutf8;
pub mod read;
mod typed;
pub mod value;
pub mod write;

pub use error::{Error, Limit, Result};
pub use jdk::marshalled_object;
pub use limits::Limits;
pub use read::{read_single, Item, ObjectReader};
pub use value::*;
pub use write::{classes, to_stream, ObjectWriter};
