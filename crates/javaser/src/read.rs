//! The bounded stream parser: the grammar of the serialization protocol (version 2) over a byte
//! slice, the handle table and block-data primitives.
//!
//! Owns tags, handles, limits enforcement and generic decoding. Mapping well-known classes to
//! typed values is delegated to `typed`; this module must not do I/O nor know about RMI/JMX.

use std::sync::Arc;

use crate::error::{Error, Limit, Result};
use crate::limits::Limits;
use crate::mutf8;
use crate::typed;
use crate::value::*;

pub(crate) const MAGIC: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];
pub(crate) const BASE_HANDLE: u32 = 0x7E_0000;

pub(crate) const TC_NULL: u8 = 0x70;
pub(crate) const TC_REFERENCE: u8 = 0x71;
pub(crate) const TC_CLASSDESC: u8 = 0x72;
pub(crate) const TC_OBJECT: u8 = 0x73;
pub(crate) const TC_STRING: u8 = 0x74;
pub(crate) const TC_ARRAY: u8 = 0x75;
pub(crate) const TC_CLASS: u8 = 0x76;
pub(crate) const TC_BLOCKDATA: u8 = 0x77;
pub(crate) const TC_ENDBLOCKDATA: u8 = 0x78;
pub(crate) const TC_RESET: u8 = 0x79;
pub(crate) const TC_BLOCKDATALONG: u8 = 0x7A;
pub(crate) const TC_EXCEPTION: u8 = 0x7B;
pub(crate) const TC_LONGSTRING: u8 = 0x7C;
pub(crate) const TC_PROXYCLASSDESC: u8 = 0x7D;
pub(crate) const TC_ENUM: u8 = 0x7E;

/// Strings and byte arrays count one value per this many bytes (on top of one for the item),
/// so that cloning them through back references is bounded by [`Limits::max_values`] too.
const BYTES_PER_VALUE: usize = 32;

fn bulk_cost(len: usize) -> usize {
    len / BYTES_PER_VALUE
}

/// One entry of the handle table.
enum Slot {
    /// Assigned, still being decoded: a reference to it is a cycle.
    Pending,
    Desc(Arc<ClassDesc>),
    /// The stream's final value (see [`ObjectReader::read_final_value`]): no copy was kept.
    NotKept,
    /// A string, kept as where its modified UTF-8 bytes lie in the input: most strings are
    /// never referenced again, so a copy is made only for a reference.
    Str {
        start: usize,
        len: usize,
    },
    /// A completed value, the number of values its decoding counted (the cost of a clone) and
    /// its height in nesting levels (a reference must not build a tree deeper than the limit).
    Value {
        value: Value,
        size: usize,
        height: usize,
    },
}

/// A top-level item of a stream (see [`ObjectReader::read_item`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Block(Vec<u8>),
    Value(Value),
}

/// Reads one serialization stream from a byte slice.
///
/// Top-level content items are read with [`ObjectReader::read_value`]; primitives written in
/// block-data mode between them (RMI call/return headers, primitive arguments) with the
/// `read_*` primitives, which read consecutive `77`/`7A` segments as one stream.
pub struct ObjectReader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: Limits,
    handles: Vec<Slot>,
    /// Bytes left in the current top-level block-data segment.
    block_left: usize,
    /// Value nodes produced so far, including back-reference expansions (subtree sizes).
    nodes: usize,
    /// Budget spent against [`Limits::max_values`]: `nodes` plus the copies kept in the handle
    /// table for back references.
    values: usize,
    /// Reading the stream's last item: the top-level value is not copied for back references.
    final_item: bool,
    /// Deepest nesting level reached by the value being decoded, back-reference copies included
    /// (the height of each completed value is measured with it).
    deepest: usize,
}

impl<'a> ObjectReader<'a> {
    /// Checks the stream header `AC ED 00 05`. A prefix of the header is [`Error::Truncated`].
    pub fn new(bytes: &'a [u8], limits: Limits) -> Result<Self> {
        if bytes.len() > limits.max_total_bytes {
            return Err(Error::LimitExceeded(Limit::TotalBytes));
        }
        let n = bytes.len().min(4);
        if bytes[..n] != MAGIC[..n] {
            return Err(Error::BadMagic(bytes[..n].to_vec()));
        }
        if n < 4 {
            return Err(Error::Truncated);
        }
        Ok(ObjectReader {
            buf: bytes,
            pos: 4,
            limits,
            handles: Vec::new(),
            block_left: 0,
            nodes: 0,
            values: 0,
            final_item: false,
            deepest: 0,
        })
    }

    /// Offset of the next unread byte in the input slice.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// True when every byte has been consumed (including the current block-data segment).
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len() && self.block_left == 0
    }

    /// Reads the next content item (object, string, array, enum, class, null or reference).
    /// Unread bytes of the current block-data segment are an error.
    pub fn read_value(&mut self) -> Result<Value> {
        if self.block_left > 0 {
            return Err(self.unexpected("object read while block data is unread"));
        }
        self.read_object(0)
    }

    /// Like [`ObjectReader::read_value`], for the stream's last content item (an RMI return
    /// value, say): nothing can refer back to it, so no copy of it is kept for back references,
    /// which halves the memory and copying a large collection costs. A later read that refers
    /// to it fails with [`Error::BadHandle`].
    pub fn read_final_value(&mut self) -> Result<Value> {
        self.final_item = true;
        let value = self.read_value();
        self.final_item = false;
        value
    }

    /// The next top-level item, for callers that walk a stream without knowing its layout:
    /// the rest of the current block-data segment (or the next segment), or a content item.
    /// `Ok(None)` at the end of the input, or when the next byte is not a serialization tag
    /// (the stream is over, e.g. the next JRMP message starts there).
    pub fn read_item(&mut self) -> Result<Option<Item>> {
        if self.block_left > 0 {
            let n = self.block_left;
            return self.read_bytes(n).map(|b| Some(Item::Block(b)));
        }
        match self.buf.get(self.pos) {
            None => Ok(None),
            Some(&(TC_BLOCKDATA | TC_BLOCKDATALONG)) => {
                self.next_block_header()?;
                let n = self.block_left;
                self.read_bytes(n).map(|b| Some(Item::Block(b)))
            }
            Some(0x70..=0x7E) => self.read_value().map(|v| Some(Item::Value(v))),
            Some(_) => Ok(None),
        }
    }

    // ----- block-data primitives ---------------------------------------------------------

    pub fn read_u8(&mut self) -> Result<u8> {
        Ok(self.block_array::<1>()?[0])
    }

    pub fn read_bool(&mut self) -> Result<bool> {
        Ok(self.read_u8()? != 0)
    }

    pub fn read_i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.block_array()?))
    }

    pub fn read_u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.block_array()?))
    }

    pub fn read_i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.block_array()?))
    }

    pub fn read_i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.block_array()?))
    }

    pub fn read_f32(&mut self) -> Result<f32> {
        Ok(f32::from_bits(self.read_i32()? as u32))
    }

    pub fn read_f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.read_i64()? as u64))
    }

    /// `DataInput.readUTF` from block data: u2 length + modified UTF-8.
    pub fn read_utf(&mut self) -> Result<String> {
        let n = self.read_u16()? as usize;
        let start = self.pos;
        let bytes = self.read_bytes(n)?;
        mutf8::decode(&bytes).map_err(|_| Error::InvalidUtf { offset: start })
    }

    /// `n` bytes of block data, possibly spanning several segments.
    pub fn read_bytes(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        while out.len() < n {
            if self.block_left == 0 {
                self.next_block_header()?;
                continue;
            }
            let k = self.block_left.min(n - out.len());
            out.extend_from_slice(self.take(k)?);
            self.block_left -= k;
        }
        Ok(out)
    }

    fn block_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        let mut done = 0;
        while done < N {
            if self.block_left == 0 {
                self.next_block_header()?;
                continue;
            }
            let k = self.block_left.min(N - done);
            out[done..done + k].copy_from_slice(self.take(k)?);
            self.block_left -= k;
            done += k;
        }
        Ok(out)
    }

    fn next_block_header(&mut self) -> Result<()> {
        loop {
            let at = self.pos;
            match self.raw_u8()? {
                TC_BLOCKDATA => self.block_left = self.raw_u8()?.into(),
                TC_BLOCKDATALONG => self.block_left = self.block_len()?,
                TC_RESET => {
                    self.handles.clear();
                    continue;
                }
                tag => {
                    self.pos = at;
                    return Err(Error::Unexpected {
                        what: format!("type code 0x{tag:02x} where block data was expected"),
                        offset: at,
                    });
                }
            }
            return Ok(());
        }
    }

    /// The length of a TC_BLOCKDATALONG segment (after its tag).
    fn block_len(&mut self) -> Result<usize> {
        let at = self.pos;
        let n = self.raw_i32()?;
        if n < 0 {
            return Err(Error::Unexpected {
                what: format!("negative block length {n}"),
                offset: at,
            });
        }
        let n = n as usize;
        if n > self.limits.max_block_bytes {
            return Err(Error::LimitExceeded(Limit::BlockBytes));
        }
        Ok(n)
    }

    // ----- raw (non-block) reads -----------------------------------------------------------

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(Error::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn raw<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn peek(&self) -> Result<u8> {
        self.buf.get(self.pos).copied().ok_or(Error::Truncated)
    }

    fn raw_u8(&mut self) -> Result<u8> {
        Ok(self.raw::<1>()?[0])
    }

    fn raw_u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.raw()?))
    }

    fn raw_i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.raw()?))
    }

    fn raw_i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.raw()?))
    }

    fn raw_utf(&mut self) -> Result<String> {
        let n = self.raw_u16()? as usize;
        let start = self.pos;
        let bytes = self.take(n)?;
        mutf8::decode(bytes).map_err(|e| Error::InvalidUtf { offset: start + e })
    }

    fn unexpected(&self, what: &str) -> Error {
        Error::Unexpected {
            what: what.to_string(),
            offset: self.pos,
        }
    }

    // ----- bookkeeping ---------------------------------------------------------------------

    /// Counts `n` new value nodes.
    fn count(&mut self, n: usize) -> Result<()> {
        self.nodes = self.nodes.saturating_add(n);
        self.charge(n)
    }

    /// Spends `n` from the value budget.
    fn charge(&mut self, n: usize) -> Result<()> {
        self.values = self.values.saturating_add(n);
        if self.values > self.limits.max_values {
            return Err(Error::LimitExceeded(Limit::Values));
        }
        Ok(())
    }

    fn new_handle(&mut self, slot: Slot) -> Result<usize> {
        if self.handles.len() >= self.limits.max_handles {
            return Err(Error::LimitExceeded(Limit::Handles));
        }
        self.handles.push(slot);
        Ok(self.handles.len() - 1)
    }

    /// Keeps a copy of a completed value for back references; the copy is charged too, so
    /// nested containers cannot multiply memory beyond [`Limits::max_values`].
    fn complete(
        &mut self,
        idx: usize,
        value: &Value,
        start_nodes: usize,
        height: usize,
        depth: usize,
    ) -> Result<()> {
        let size = self.nodes - start_nodes + 1;
        // Charged even when no copy is kept, so both ways of reading obey the same budget.
        self.charge(size)?;
        if depth == 0 && self.final_item {
            if let Some(slot) = self.handles.get_mut(idx) {
                *slot = Slot::NotKept;
            }
            return Ok(());
        }
        if let Some(slot) = self.handles.get_mut(idx) {
            *slot = Slot::Value {
                value: value.clone(),
                size,
                height,
            };
        }
        Ok(())
    }

    /// Starts measuring the height of a value whose root is at `depth`; returns the outer mark
    /// to give back to [`ObjectReader::end_height`].
    fn start_height(&mut self, depth: usize) -> usize {
        std::mem::replace(&mut self.deepest, depth)
    }

    /// The height of the value started at `depth`; restores the outer measurement.
    fn end_height(&mut self, depth: usize, outer: usize) -> usize {
        let height = self.deepest.saturating_sub(depth);
        self.deepest = self.deepest.max(outer);
        height
    }

    fn check_depth(&self, depth: usize) -> Result<()> {
        if depth > self.limits.max_depth {
            return Err(Error::LimitExceeded(Limit::Depth));
        }
        Ok(())
    }

    fn reset(&mut self, depth: usize, at: usize) -> Result<()> {
        if depth > 0 {
            return Err(Error::Unexpected {
                what: "TC_RESET inside nested content".into(),
                offset: at,
            });
        }
        self.handles.clear();
        Ok(())
    }

    // ----- contents --------------------------------------------------------------------------

    /// Reads one content item that must be an object (not block data, not `78`).
    fn read_object(&mut self, depth: usize) -> Result<Value> {
        self.check_depth(depth)?;
        self.deepest = self.deepest.max(depth);
        self.count(1)?;
        loop {
            let at = self.pos;
            let tag = self.raw_u8()?;
            return match tag {
                TC_NULL => Ok(Value::Null),
                TC_REFERENCE => self.read_reference(at, depth),
                TC_CLASSDESC | TC_PROXYCLASSDESC => {
                    self.pos = at;
                    let desc = self.read_class_desc(depth + 1)?;
                    Ok(desc.map_or(Value::Null, |d| Value::Class(d.name.clone())))
                }
                TC_OBJECT => self.read_new_object(depth),
                TC_STRING => {
                    let n = self.raw_u16()?;
                    self.read_string_body(n.into())
                }
                TC_LONGSTRING => {
                    let n = self.raw_i64()?;
                    if n < 0 {
                        return Err(Error::Unexpected {
                            what: format!("negative string length {n}"),
                            offset: at,
                        });
                    }
                    self.read_string_body(n as u64)
                }
                TC_ARRAY => self.read_array(depth),
                TC_CLASS => {
                    let desc = self.read_desc_required(depth + 1)?;
                    let value = Value::Class(desc.name.clone());
                    self.new_handle(Slot::Value {
                        value: value.clone(),
                        size: 1,
                        height: 0,
                    })?;
                    Ok(value)
                }
                TC_ENUM => self.read_enum(depth),
                TC_RESET => {
                    self.reset(depth, at)?;
                    continue;
                }
                TC_EXCEPTION => {
                    self.handles.clear();
                    let ex = self.read_object(depth + 1)?;
                    self.handles.clear();
                    Err(Error::StreamException(Box::new(ex)))
                }
                TC_BLOCKDATA | TC_BLOCKDATALONG | TC_ENDBLOCKDATA => Err(Error::Unexpected {
                    what: format!("type code 0x{tag:02x} where an object was expected"),
                    offset: at,
                }),
                _ => Err(Error::UnknownTag { tag, offset: at }),
            };
        }
    }

    /// A back reference at nesting level `depth`: a copy of the referenced value, which must
    /// not reach deeper than [`Limits::max_depth`] from here (references would otherwise build
    /// trees far deeper than the limit, and recursive clone/drop/render could overflow the stack).
    fn read_reference(&mut self, at: usize, depth: usize) -> Result<Value> {
        let handle = self.raw_i32()? as u32;
        let idx = handle.wrapping_sub(BASE_HANDLE) as usize;
        match self.handles.get(idx) {
            Some(Slot::Pending) => Ok(Value::Cycle(handle)),
            Some(Slot::Desc(d)) => Ok(Value::Class(d.name.clone())),
            Some(&Slot::Str { start, len }) => {
                self.check_depth(depth)?;
                self.count(1 + bulk_cost(len))?;
                let s = mutf8::decode(&self.buf[start..start + len])
                    .map_err(|e| Error::InvalidUtf { offset: start + e })?;
                Ok(Value::String(s))
            }
            Some(Slot::Value { size, height, .. }) => {
                let (size, reach) = (*size, depth.saturating_add(*height));
                self.check_depth(reach)?;
                self.deepest = self.deepest.max(reach);
                self.count(size)?;
                match self.handles.get(idx) {
                    Some(Slot::Value { value, .. }) => Ok(value.clone()),
                    _ => Err(Error::BadHandle { handle, offset: at }),
                }
            }
            Some(Slot::NotKept) | None => Err(Error::BadHandle { handle, offset: at }),
        }
    }

    fn read_string_body(&mut self, n: u64) -> Result<Value> {
        if n > self.limits.max_string_len as u64 {
            return Err(Error::LimitExceeded(Limit::StringLength));
        }
        let start = self.pos;
        let bytes = self.take(n as usize)?;
        let s = mutf8::decode(bytes).map_err(|e| Error::InvalidUtf { offset: start + e })?;
        let cost = bulk_cost(bytes.len());
        self.count(cost)?;
        // Charged as if copied into the handle table, as other values are: the budget of a
        // stream does not depend on how its strings are kept.
        self.charge(1 + cost)?;
        self.new_handle(Slot::Str {
            start,
            len: bytes.len(),
        })?;
        Ok(Value::String(s))
    }

    fn read_desc_required(&mut self, depth: usize) -> Result<Arc<ClassDesc>> {
        let at = self.pos;
        self.read_class_desc(depth)?.ok_or(Error::Unexpected {
            what: "null class descriptor".into(),
            offset: at,
        })
    }

    /// classDesc: TC_CLASSDESC, TC_PROXYCLASSDESC, TC_NULL or a reference to a descriptor.
    fn read_class_desc(&mut self, depth: usize) -> Result<Option<Arc<ClassDesc>>> {
        self.check_depth(depth)?;
        loop {
            let at = self.pos;
            let tag = self.raw_u8()?;
            return match tag {
                TC_NULL => Ok(None),
                TC_REFERENCE => {
                    let handle = self.raw_i32()? as u32;
                    match self.handles.get(handle.wrapping_sub(BASE_HANDLE) as usize) {
                        Some(Slot::Desc(d)) => Ok(Some(d.clone())),
                        _ => Err(Error::BadHandle { handle, offset: at }),
                    }
                }
                TC_CLASSDESC => {
                    let name = self.raw_utf()?;
                    let suid = self.raw_i64()?;
                    let idx = self.new_handle(Slot::Pending)?;
                    let flags = self.raw_u8()?;
                    let nfields = self.raw_u16()? as usize;
                    let mut fields = Vec::with_capacity(nfields.min(self.buf.len() - self.pos));
                    for _ in 0..nfields {
                        fields.push(self.read_field_desc(depth)?);
                    }
                    self.skip_annotation(depth + 1)?;
                    let super_desc = self.read_class_desc(depth + 1)?;
                    let desc = Arc::new(ClassDesc {
                        name,
                        suid,
                        flags,
                        fields,
                        proxy_interfaces: None,
                        super_desc,
                    });
                    if let Some(slot) = self.handles.get_mut(idx) {
                        *slot = Slot::Desc(desc.clone());
                    }
                    Ok(Some(desc))
                }
                TC_PROXYCLASSDESC => {
                    let idx = self.new_handle(Slot::Pending)?;
                    let n = self.raw_i32()?;
                    if !(0..=65535).contains(&n) {
                        return Err(Error::Unexpected {
                            what: format!("proxy interface count {n}"),
                            offset: at,
                        });
                    }
                    let mut names = Vec::with_capacity((n as usize).min(self.buf.len() - self.pos));
                    for _ in 0..n {
                        names.push(self.raw_utf()?);
                    }
                    self.skip_annotation(depth + 1)?;
                    let super_desc = self.read_class_desc(depth + 1)?;
                    let desc = Arc::new(ClassDesc {
                        name: "$Proxy".into(),
                        suid: 0,
                        flags: SC_SERIALIZABLE,
                        fields: Vec::new(),
                        proxy_interfaces: Some(names),
                        super_desc,
                    });
                    if let Some(slot) = self.handles.get_mut(idx) {
                        *slot = Slot::Desc(desc.clone());
                    }
                    Ok(Some(desc))
                }
                TC_RESET => {
                    self.reset(depth, at)?;
                    continue;
                }
                TC_BLOCKDATA | TC_BLOCKDATALONG | TC_ENDBLOCKDATA | TC_OBJECT | TC_STRING
                | TC_ARRAY | TC_CLASS | TC_EXCEPTION | TC_LONGSTRING | TC_ENUM => {
                    Err(Error::Unexpected {
                        what: format!(
                            "type code 0x{tag:02x} where a class descriptor was expected"
                        ),
                        offset: at,
                    })
                }
                _ => Err(Error::UnknownTag { tag, offset: at }),
            };
        }
    }

    fn read_field_desc(&mut self, depth: usize) -> Result<FieldDesc> {
        let at = self.pos;
        let type_code = self.raw_u8()?;
        let name = self.raw_utf()?;
        let class_name = match type_code {
            b'B' | b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => None,
            b'L' | b'[' => {
                let at = self.pos;
                match self.read_object(depth + 1)? {
                    Value::String(s) => Some(s),
                    _ => {
                        return Err(Error::Unexpected {
                            what: "field type is not a string".into(),
                            offset: at,
                        })
                    }
                }
            }
            _ => {
                return Err(Error::Unexpected {
                    what: format!("field type code 0x{type_code:02x}"),
                    offset: at,
                })
            }
        };
        Ok(FieldDesc {
            type_code,
            name,
            class_name,
        })
    }

    /// classAnnotation: contents up to `78`, ignored (RMI puts the codebase there).
    fn skip_annotation(&mut self, depth: usize) -> Result<()> {
        loop {
            match self.peek()? {
                TC_ENDBLOCKDATA => {
                    self.pos += 1;
                    return Ok(());
                }
                TC_BLOCKDATA => {
                    self.pos += 1;
                    let n = self.raw_u8()?.into();
                    self.take(n)?;
                }
                TC_BLOCKDATALONG => {
                    self.pos += 1;
                    let n = self.block_len()?;
                    self.take(n)?;
                }
                _ => {
                    self.read_object(depth)?;
                }
            }
        }
    }

    /// Custom data (writeObject / writeExternal): block data and objects up to `78`.
    fn read_custom_data(&mut self, depth: usize) -> Result<Vec<Annotation>> {
        let mut out: Vec<Annotation> = Vec::new();
        let mut block_total = 0usize;
        loop {
            let at = self.pos;
            match self.peek()? {
                TC_ENDBLOCKDATA => {
                    self.pos += 1;
                    return Ok(out);
                }
                tag @ (TC_BLOCKDATA | TC_BLOCKDATALONG) => {
                    self.pos += 1;
                    let n = if tag == TC_BLOCKDATA {
                        self.raw_u8()?.into()
                    } else {
                        self.block_len()?
                    };
                    block_total = block_total.saturating_add(n);
                    if block_total > self.limits.max_block_bytes {
                        return Err(Error::LimitExceeded(Limit::BlockBytes));
                    }
                    let bytes = self.take(n)?;
                    match out.last_mut() {
                        Some(Annotation::Block(b)) => b.extend_from_slice(bytes),
                        _ => out.push(Annotation::Block(bytes.to_vec())),
                    }
                }
                TC_RESET => {
                    self.pos += 1;
                    self.reset(depth, at)?;
                }
                _ => {
                    let v = self.read_object(depth)?;
                    out.push(Annotation::Value(v));
                }
            }
        }
    }

    fn read_primitive(&mut self, code: u8) -> Result<Value> {
        self.count(1)?;
        Ok(match code {
            b'B' => Value::Byte(self.raw_u8()? as i8),
            b'C' => Value::Char(self.raw_u16()?),
            b'D' => Value::Double(f64::from_bits(self.raw_i64()? as u64)),
            b'F' => Value::Float(f32::from_bits(self.raw_i32()? as u32)),
            b'I' => Value::Int(self.raw_i32()?),
            b'J' => Value::Long(self.raw_i64()?),
            b'S' => Value::Short(self.raw_u16()? as i16),
            b'Z' => Value::Bool(self.raw_u8()? != 0),
            _ => return Err(self.unexpected("primitive type code")),
        })
    }

    fn read_new_object(&mut self, depth: usize) -> Result<Value> {
        let outer = self.start_height(depth);
        let desc = self.read_desc_required(depth + 1)?;
        let idx = self.new_handle(Slot::Pending)?;
        let start = self.nodes;
        let mut class_data = Vec::new();
        if desc.flags & SC_EXTERNALIZABLE != 0 {
            if desc.flags & SC_BLOCK_DATA == 0 {
                return Err(self
                    .unexpected("externalizable data without SC_BLOCK_DATA (protocol version 1)"));
            }
            let annotations = self.read_custom_data(depth + 1)?;
            class_data.push(ClassData {
                class: desc.name.clone(),
                fields: Vec::new(),
                annotations,
            });
        } else {
            let mut chain = Vec::new();
            let mut cur = Some(&desc);
            while let Some(d) = cur {
                chain.push(d.clone());
                cur = d.super_desc.as_ref();
            }
            for cd in chain.iter().rev() {
                let mut fields = Vec::with_capacity(cd.fields.len());
                let mut annotations = Vec::new();
                if cd.flags & SC_SERIALIZABLE != 0 {
                    for f in &cd.fields {
                        let v = match f.type_code {
                            b'L' | b'[' => self.read_object(depth + 1)?,
                            code => self.read_primitive(code)?,
                        };
                        fields.push((f.name.clone(), v));
                    }
                    if cd.flags & SC_WRITE_METHOD != 0 {
                        annotations = self.read_custom_data(depth + 1)?;
                    }
                }
                class_data.push(ClassData {
                    class: cd.name.clone(),
                    fields,
                    annotations,
                });
            }
        }
        let value = typed::decode(Object { desc, class_data });
        let height = self.end_height(depth, outer);
        self.complete(idx, &value, start, height, depth)?;
        Ok(value)
    }

    fn read_enum(&mut self, depth: usize) -> Result<Value> {
        let outer = self.start_height(depth);
        let desc = self.read_desc_required(depth + 1)?;
        let idx = self.new_handle(Slot::Pending)?;
        let start = self.nodes;
        let at = self.pos;
        let constant = match self.read_object(depth + 1)? {
            Value::String(s) => s,
            _ => {
                return Err(Error::Unexpected {
                    what: "enum constant name is not a string".into(),
                    offset: at,
                })
            }
        };
        let value = Value::Enum {
            class: desc.name.clone(),
            constant,
        };
        let height = self.end_height(depth, outer);
        self.complete(idx, &value, start, height, depth)?;
        Ok(value)
    }

    fn read_array(&mut self, depth: usize) -> Result<Value> {
        let outer = self.start_height(depth);
        let desc = self.read_desc_required(depth + 1)?;
        let idx = self.new_handle(Slot::Pending)?;
        let start = self.nodes;
        let at = self.pos;
        let len = self.raw_i32()?;
        if len < 0 {
            return Err(Error::Unexpected {
                what: format!("negative array length {len}"),
                offset: at,
            });
        }
        let len = len as usize;
        if len > self.limits.max_array_len {
            return Err(Error::LimitExceeded(Limit::ArrayLength));
        }
        let elem = match desc.name.as_bytes() {
            [b'[', e, ..] => *e,
            _ => {
                return Err(Error::Unexpected {
                    what: format!("array of non-array class {}", desc.name),
                    offset: at,
                })
            }
        };
        let remaining = self.buf.len() - self.pos;
        let value = match elem {
            b'B' => {
                let bytes = self.take(len)?;
                self.count(bulk_cost(len))?;
                Value::Bytes(bytes.to_vec())
            }
            b'L' | b'[' => {
                let mut items = Vec::with_capacity(len.min(remaining));
                for _ in 0..len {
                    items.push(self.read_object(depth + 1)?);
                }
                Value::Array {
                    class: desc.name.clone(),
                    items,
                }
            }
            b'C' | b'D' | b'F' | b'I' | b'J' | b'S' | b'Z' => {
                let mut items = Vec::with_capacity(len.min(remaining));
                for _ in 0..len {
                    items.push(self.read_primitive(elem)?);
                }
                Value::Array {
                    class: desc.name.clone(),
                    items,
                }
            }
            _ => {
                return Err(Error::Unexpected {
                    what: format!("array element type in {}", desc.name),
                    offset: at,
                })
            }
        };
        let height = self.end_height(depth, outer);
        self.complete(idx, &value, start, height, depth)?;
        Ok(value)
    }
}

/// Reads the first content item of a complete stream (header included).
pub fn read_single(bytes: &[u8], limits: Limits) -> Result<Value> {
    ObjectReader::new(bytes, limits)?.read_final_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::ObjectWriter;

    fn color(constant: &str) -> Value {
        Value::Enum {
            class: "Color".into(),
            constant: constant.into(),
        }
    }

    /// Two top-level items, the second a back reference to the first (the writer shares enum
    /// constants), preceded by an array holding the same constant twice.
    fn stream() -> Vec<u8> {
        let mut w = ObjectWriter::new(false);
        let list = Value::Array {
            class: "[Ljava.lang.Object;".into(),
            items: vec![color("RED"), color("RED"), Value::String("s".into())],
        };
        w.write_value(&list).unwrap();
        w.write_value(&color("RED")).unwrap();
        w.finish()
    }

    #[test]
    fn final_value_decodes_like_any_value_with_back_references_inside() {
        let bytes = stream();
        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        let first = r.read_value().unwrap();
        assert_eq!(first.as_items().unwrap()[1], color("RED"));
        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        assert_eq!(r.read_final_value().unwrap(), first);
    }

    #[test]
    fn a_reference_to_a_final_value_is_a_bad_handle_not_a_copy() {
        let mut w = ObjectWriter::new(false);
        w.write_value(&color("RED")).unwrap();
        w.write_value(&color("RED")).unwrap();
        let bytes = w.finish();

        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        assert_eq!(r.read_value().unwrap(), color("RED"));
        assert_eq!(r.read_value().unwrap(), color("RED"));

        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        assert_eq!(r.read_final_value().unwrap(), color("RED"));
        assert!(matches!(r.read_value(), Err(Error::BadHandle { .. })));
    }

    #[test]
    fn final_value_is_charged_as_if_copied() {
        let bytes = stream();
        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        r.read_value().unwrap();
        let spent = r.values;
        let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
        r.read_final_value().unwrap();
        assert_eq!(r.values, spent);
    }
}
