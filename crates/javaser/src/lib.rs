//! Java Object Serialization: the value model, a bounded parser and a writer. No I/O.
pub mod value;
pub use value::*;
