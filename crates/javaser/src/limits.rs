//! Resource limits for decoding an untrusted serialization stream.
//!
//! Owns only the numbers; the reader enforces them. Nothing here touches bytes.

/// Bounds on what one [`crate::ObjectReader`] may decode. Exceeding any of them is
/// [`crate::Error::LimitExceeded`], never a panic or an unbounded allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of contents (objects inside fields, arrays, custom data, descriptors).
    pub max_depth: usize,
    /// Maximum size of the whole input given to the reader.
    pub max_total_bytes: usize,
    /// Maximum number of values the reader materializes for one stream: every collection
    /// element, every primitive field, the full size of every back-reference expansion, and
    /// the copy of each completed object, array and string that back references may need,
    /// charged whether or not it is made (so a value nested `d` objects deep counts about
    /// `d + 1` times). Strings and `byte[]` also
    /// count one value per 32 bytes, so memory spent on copies is bounded too.
    pub max_values: usize,
    /// Maximum encoded length (bytes) of one string.
    pub max_string_len: usize,
    /// Maximum declared length of one array.
    pub max_array_len: usize,
    /// Maximum number of handles (descriptors, strings, objects ...) in one stream.
    pub max_handles: usize,
    /// Maximum size of one block-data segment and of one merged custom-data block.
    pub max_block_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_total_bytes: 16 << 20,
            max_values: 1_000_000,
            max_string_len: 4 << 20,
            max_array_len: 16 << 20,
            max_handles: 1_000_000,
            max_block_bytes: 16 << 20,
        }
    }
}
