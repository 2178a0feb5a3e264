//! The error type of this crate.
//!
//! Owns the classification of failures (need more bytes vs malformed vs too big). It must not
//! know how bytes are read or written.

use crate::value::Value;

/// Which [`crate::Limits`] bound was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Depth,
    TotalBytes,
    Values,
    StringLength,
    ArrayLength,
    Handles,
    BlockBytes,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::Depth => "nesting depth",
            Limit::TotalBytes => "total input size",
            Limit::Values => "number of decoded values",
            Limit::StringLength => "string length",
            Limit::ArrayLength => "array length",
            Limit::Handles => "number of handles",
            Limit::BlockBytes => "block data size",
        })
    }
}

/// Decoding or encoding failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The input ended in the middle of an item: more bytes may make it parse.
    #[error("unexpected end of input")]
    Truncated,
    /// The stream does not start with `AC ED 00 05`.
    #[error("bad stream header {0:02x?}")]
    BadMagic(Vec<u8>),
    /// A type code that is not a serialization tag.
    #[error("unknown type code 0x{tag:02x} at offset {offset}")]
    UnknownTag { tag: u8, offset: usize },
    /// A [`crate::Limits`] bound was exceeded.
    #[error("limit exceeded: {0}")]
    LimitExceeded(Limit),
    /// A string is not valid modified UTF-8.
    #[error("invalid modified UTF-8 at offset {offset}")]
    InvalidUtf { offset: usize },
    /// A TC_REFERENCE to a handle that does not exist or has the wrong kind.
    #[error("bad handle 0x{handle:08x} at offset {offset}")]
    BadHandle { handle: u32, offset: usize },
    /// Well-formed tags in a place the grammar does not allow them.
    #[error("unexpected content at offset {offset}: {what}")]
    Unexpected { what: String, offset: usize },
    /// The writer aborted the stream (TC_EXCEPTION) and serialized this Throwable.
    #[error("the peer aborted the stream with an exception")]
    StreamException(Box<Value>),
    /// The writer cannot encode this value.
    #[error("cannot serialize: {0}")]
    Unwritable(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
