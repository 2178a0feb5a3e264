//! The stream writer: encodes [`Value`]s and block-data primitives as a serialization stream the
//! way the JDK's `ObjectOutputStream` (and RMI's marshal stream, with `rmi_annotations`) does.
//!
//! Owns encoding and the writer's handle numbering. It shares class descriptors, equal strings
//! (the JDK shares interned ones: field types, literals), `Boolean`s, autobox-cached small
//! numbers and enum constants by reference as the JDK would, and never shares anything else. It must not do I/O or know about JRMP framing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::mutf8;
use crate::read::*;
use crate::value::*;

/// Largest block-data segment the JDK emits.
const MAX_BLOCK: usize = 1024;
/// Nesting bound for values given to the writer (protects the stack).
const MAX_WRITE_DEPTH: usize = 128;

/// Objects the JDK shares by identity (autoboxing caches, enum constants).
#[derive(Hash, PartialEq, Eq)]
enum Shared {
    Bool(bool),
    Byte(i8),
    Char(u16),
    Short(i16),
    Int(i32),
    Long(i64),
    Enum(String, String),
}

/// Writes one serialization stream.
pub struct ObjectWriter {
    out: Vec<u8>,
    block: Vec<u8>,
    rmi_annotations: bool,
    next_handle: u32,
    descs: HashMap<String, u32>,
    strings: HashMap<String, u32>,
    shared: HashMap<Shared, u32>,
}

impl ObjectWriter {
    /// Starts a stream (writes `AC ED 00 05`). With `rmi_annotations`, every new class
    /// descriptor carries the RMI codebase annotation `70` before its `78`, as RMI call
    /// arguments must; `MarshalledObject` inner streams use `false`.
    pub fn new(rmi_annotations: bool) -> Self {
        Self::append_to(Vec::new(), rmi_annotations)
    }

    /// Like [`ObjectWriter::new`], but the stream starts at the end of `buf` (after a message
    /// header, say) and [`ObjectWriter::finish`] returns `buf` with the stream appended, so a
    /// message is built in one buffer without copying the stream behind its header.
    pub fn append_to(mut buf: Vec<u8>, rmi_annotations: bool) -> Self {
        buf.extend_from_slice(&MAGIC);
        ObjectWriter {
            out: buf,
            block: Vec::new(),
            rmi_annotations,
            next_handle: BASE_HANDLE,
            descs: HashMap::new(),
            strings: HashMap::new(),
            shared: HashMap::new(),
        }
    }

    /// Flushes pending block data and returns the stream bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.flush_block();
        self.out
    }

    // ----- block-data primitives (buffered, emitted as 77/7A segments <= 1024 bytes) ---------

    pub fn write_u8(&mut self, v: u8) {
        self.write_bytes(&[v]);
    }

    pub fn write_bool(&mut self, v: bool) {
        self.write_u8(v.into());
    }

    pub fn write_i16(&mut self, v: i16) {
        self.write_bytes(&v.to_be_bytes());
    }

    pub fn write_i32(&mut self, v: i32) {
        self.write_bytes(&v.to_be_bytes());
    }

    pub fn write_i64(&mut self, v: i64) {
        self.write_bytes(&v.to_be_bytes());
    }

    pub fn write_f32(&mut self, v: f32) {
        self.write_bytes(&v.to_bits().to_be_bytes());
    }

    pub fn write_f64(&mut self, v: f64) {
        self.write_bytes(&v.to_bits().to_be_bytes());
    }

    /// `DataOutput.writeUTF`: u2 length + modified UTF-8 (at most 65535 encoded bytes).
    pub fn write_utf(&mut self, s: &str) -> Result<()> {
        let len = mutf8::encoded_len(s);
        let n = u16::try_from(len)
            .map_err(|_| Error::Unwritable(format!("UTF string of {len} bytes")))?;
        self.write_bytes(&n.to_be_bytes());
        self.write_bytes(&mutf8::encode(s));
        Ok(())
    }

    pub fn write_bytes(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.block.len() == MAX_BLOCK {
                self.flush_block();
            }
            let k = (MAX_BLOCK - self.block.len()).min(bytes.len());
            self.block.extend_from_slice(&bytes[..k]);
            bytes = &bytes[k..];
        }
    }

    fn flush_block(&mut self) {
        if self.block.is_empty() {
            return;
        }
        let block = std::mem::take(&mut self.block);
        for chunk in block.chunks(MAX_BLOCK) {
            if chunk.len() <= 255 {
                self.out.push(TC_BLOCKDATA);
                self.out.push(chunk.len() as u8);
            } else {
                self.out.push(TC_BLOCKDATALONG);
                self.out
                    .extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            }
            self.out.extend_from_slice(chunk);
        }
        // Keep the allocation for the next segment.
        self.block = block;
        self.block.clear();
    }

    // ----- raw output -------------------------------------------------------------------------

    fn raw_utf(&mut self, s: &str) -> Result<()> {
        let len = mutf8::encoded_len(s);
        let n =
            u16::try_from(len).map_err(|_| Error::Unwritable(format!("name of {len} bytes")))?;
        self.out.extend_from_slice(&n.to_be_bytes());
        mutf8::encode_into(s, &mut self.out);
        Ok(())
    }

    fn handle(&mut self) -> u32 {
        let h = self.next_handle;
        self.next_handle += 1;
        h
    }

    fn reference(&mut self, h: u32) {
        self.out.push(TC_REFERENCE);
        self.out.extend_from_slice(&h.to_be_bytes());
    }

    // ----- contents ---------------------------------------------------------------------------

    /// Writes one value as a content item (flushing pending block data first).
    pub fn write_value(&mut self, v: &Value) -> Result<()> {
        self.flush_block();
        self.value(v, 0)
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<()> {
        if depth > MAX_WRITE_DEPTH {
            return Err(Error::Unwritable("value nested too deeply".into()));
        }
        let d = depth + 1;
        self.flush_block();
        match v {
            Value::Null => self.out.push(TC_NULL),
            Value::Bool(b) => self.boxed(Some(Shared::Bool(*b)), &classes::BOOLEAN, |o| {
                o.push((*b).into())
            })?,
            Value::Byte(x) => {
                self.boxed(Some(Shared::Byte(*x)), &classes::BYTE, |o| o.push(*x as u8))?
            }
            Value::Char(x) => {
                let share = (*x <= 127).then_some(Shared::Char(*x));
                self.boxed(share, &classes::CHARACTER, |o| {
                    o.extend_from_slice(&x.to_be_bytes())
                })?
            }
            Value::Short(x) => {
                let share = (-128..=127).contains(x).then_some(Shared::Short(*x));
                self.boxed(share, &classes::SHORT, |o| {
                    o.extend_from_slice(&x.to_be_bytes())
                })?
            }
            Value::Int(x) => {
                let share = (-128..=127).contains(x).then_some(Shared::Int(*x));
                self.boxed(share, &classes::INTEGER, |o| {
                    o.extend_from_slice(&x.to_be_bytes())
                })?
            }
            Value::Long(x) => {
                let share = (-128..=127).contains(x).then_some(Shared::Long(*x));
                self.boxed(share, &classes::LONG, |o| {
                    o.extend_from_slice(&x.to_be_bytes())
                })?
            }
            Value::Float(x) => self.boxed(None, &classes::FLOAT, |o| {
                o.extend_from_slice(&x.to_bits().to_be_bytes())
            })?,
            Value::Double(x) => self.boxed(None, &classes::DOUBLE, |o| {
                o.extend_from_slice(&x.to_bits().to_be_bytes())
            })?,
            Value::String(s) => self.string(s),
            Value::Bytes(b) => {
                self.out.push(TC_ARRAY);
                self.desc(&classes::array("[B"))?;
                self.handle();
                self.array_len(b.len())?;
                self.out.extend_from_slice(b);
            }
            Value::Array { class, items } => self.array(class, items, d)?,
            Value::Enum { class, constant } => {
                let key = Shared::Enum(class.clone(), constant.clone());
                if let Some(&h) = self.shared.get(&key) {
                    self.reference(h);
                } else {
                    self.out.push(TC_ENUM);
                    self.desc(&classes::enum_desc(class))?;
                    let h = self.handle();
                    self.shared.insert(key, h);
                    self.string(constant);
                }
            }
            Value::List { class, items } => self.list(class, items, d)?,
            Value::Set { class, items } => self.set(class, items, d)?,
            Value::Map { class, entries } => self.map(class, entries, d)?,
            Value::Uuid { most, least } => {
                self.new_object(&classes::UUID)?;
                self.out.extend_from_slice(&least.to_be_bytes());
                self.out.extend_from_slice(&most.to_be_bytes());
            }
            Value::Date(ms) => {
                self.new_object(&classes::DATE)?;
                self.write_i64(*ms);
                self.end_custom();
            }
            Value::BigNumber { class, text } => self.big_number(class, text, d)?,
            Value::ObjectName(name) => {
                self.new_object(&classes::OBJECT_NAME)?;
                self.string(name);
                self.out.push(TC_ENDBLOCKDATA);
            }
            Value::Object(obj) => self.object(obj, d)?,
            Value::Class(_) | Value::CompositeData(_) | Value::TabularData(_) | Value::Cycle(_) => {
                return Err(Error::Unwritable(format!(
                    "{} values",
                    match v {
                        Value::Class(_) => "Class",
                        Value::CompositeData(_) => "CompositeData",
                        Value::TabularData(_) => "TabularData",
                        _ => "Cycle",
                    }
                )))
            }
        }
        Ok(())
    }

    fn string(&mut self, s: &str) {
        if let Some(&h) = self.strings.get(s) {
            self.reference(h);
            return;
        }
        self.strings.insert(s.to_string(), self.next_handle);
        let len = mutf8::encoded_len(s);
        if let Ok(n) = u16::try_from(len) {
            self.out.push(TC_STRING);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            self.out.push(TC_LONGSTRING);
            self.out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        self.handle();
        mutf8::encode_into(s, &mut self.out);
    }

    fn array_len(&mut self, n: usize) -> Result<()> {
        let n = i32::try_from(n).map_err(|_| Error::Unwritable("array too long".into()))?;
        self.out.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }

    /// A boxed primitive: a shared handle when the JDK's valueOf cache would share it.
    fn boxed(
        &mut self,
        share: Option<Shared>,
        desc: &ClassDesc,
        data: impl FnOnce(&mut Vec<u8>),
    ) -> Result<()> {
        if let Some(h) = share.as_ref().and_then(|k| self.shared.get(k)) {
            let h = *h;
            self.reference(h);
            return Ok(());
        }
        let h = self.new_object(desc)?;
        data(&mut self.out);
        if let Some(k) = share {
            self.shared.insert(k, h);
        }
        Ok(())
    }

    /// TC_OBJECT + descriptor + new handle; returns the handle.
    fn new_object(&mut self, desc: &ClassDesc) -> Result<u32> {
        self.out.push(TC_OBJECT);
        self.desc(desc)?;
        Ok(self.handle())
    }

    /// Ends custom (writeObject) data: flushes block data, writes `78`.
    fn end_custom(&mut self) {
        self.flush_block();
        self.out.push(TC_ENDBLOCKDATA);
    }

    fn desc(&mut self, d: &ClassDesc) -> Result<()> {
        let key = match &d.proxy_interfaces {
            Some(ifaces) => format!("{}:{}", d.name, ifaces.join(",")),
            None => d.name.clone(),
        };
        if let Some(&h) = self.descs.get(&key) {
            self.reference(h);
            return Ok(());
        }
        if let Some(ifaces) = &d.proxy_interfaces {
            self.out.push(TC_PROXYCLASSDESC);
            let h = self.handle();
            self.descs.insert(key, h);
            self.out
                .extend_from_slice(&(ifaces.len() as i32).to_be_bytes());
            for i in ifaces {
                self.raw_utf(i)?;
            }
        } else {
            self.out.push(TC_CLASSDESC);
            self.raw_utf(&d.name)?;
            self.out.extend_from_slice(&d.suid.to_be_bytes());
            let h = self.handle();
            self.descs.insert(key, h);
            self.out.push(d.flags);
            let n = u16::try_from(d.fields.len())
                .map_err(|_| Error::Unwritable("too many fields".into()))?;
            self.out.extend_from_slice(&n.to_be_bytes());
            for f in &d.fields {
                self.out.push(f.type_code);
                self.raw_utf(&f.name)?;
                if matches!(f.type_code, b'L' | b'[') {
                    let ty = f.class_name.as_deref().ok_or_else(|| {
                        Error::Unwritable(format!("field {} has no type", f.name))
                    })?;
                    self.string(ty);
                }
            }
        }
        if self.rmi_annotations {
            self.out.push(TC_NULL);
        }
        self.out.push(TC_ENDBLOCKDATA);
        match &d.super_desc {
            Some(s) => self.desc(s),
            None => {
                self.out.push(TC_NULL);
                Ok(())
            }
        }
    }

    fn array(&mut self, class: &str, items: &[Value], depth: usize) -> Result<()> {
        let elem = match class.as_bytes() {
            [b'[', e, ..] => *e,
            _ => return Err(Error::Unwritable(format!("array class {class}"))),
        };
        self.out.push(TC_ARRAY);
        self.desc(&classes::array(class))?;
        self.handle();
        self.array_len(items.len())?;
        for item in items {
            if matches!(elem, b'L' | b'[') {
                self.value(item, depth)?;
            } else {
                self.primitive(elem, item)?;
            }
        }
        Ok(())
    }

    fn primitive(&mut self, code: u8, v: &Value) -> Result<()> {
        match (code, v) {
            (b'B', Value::Byte(x)) => self.out.push(*x as u8),
            (b'C', Value::Char(x)) => self.out.extend_from_slice(&x.to_be_bytes()),
            (b'D', Value::Double(x)) => self.out.extend_from_slice(&x.to_bits().to_be_bytes()),
            (b'F', Value::Float(x)) => self.out.extend_from_slice(&x.to_bits().to_be_bytes()),
            (b'I', Value::Int(x)) => self.out.extend_from_slice(&x.to_be_bytes()),
            (b'J', Value::Long(x)) => self.out.extend_from_slice(&x.to_be_bytes()),
            (b'S', Value::Short(x)) => self.out.extend_from_slice(&x.to_be_bytes()),
            (b'Z', Value::Bool(x)) => self.out.push((*x).into()),
            _ => {
                return Err(Error::Unwritable(format!(
                    "{v:?} as primitive '{}'",
                    code as char
                )))
            }
        }
        Ok(())
    }

    fn elements(&mut self, items: &[Value], depth: usize) -> Result<()> {
        for item in items {
            self.flush_block();
            self.value(item, depth)?;
        }
        Ok(())
    }

    fn size_i32(n: usize) -> Result<i32> {
        i32::try_from(n).map_err(|_| Error::Unwritable("collection too large".into()))
    }

    /// Lists are written as ArrayList unless their class is LinkedList or AttributeList.
    fn list(&mut self, class: &str, items: &[Value], depth: usize) -> Result<()> {
        let n = Self::size_i32(items.len())?;
        if class == "java.util.LinkedList" {
            self.new_object(&classes::LINKED_LIST)?;
            self.write_i32(n);
        } else {
            let desc = if class == "javax.management.AttributeList" {
                classes::attribute_list()
            } else {
                classes::array_list()
            };
            self.new_object(&desc)?;
            self.out.extend_from_slice(&n.to_be_bytes());
            self.write_i32(n);
        }
        self.elements(items, depth)?;
        self.end_custom();
        Ok(())
    }

    /// Sets are written as HashSet unless their class is LinkedHashSet or TreeSet.
    fn set(&mut self, class: &str, items: &[Value], depth: usize) -> Result<()> {
        let n = Self::size_i32(items.len())?;
        if class == "java.util.TreeSet" {
            self.new_object(&classes::TREE_SET)?;
            self.out.push(TC_NULL);
            self.write_i32(n);
        } else {
            let desc = if class == "java.util.LinkedHashSet" {
                classes::linked_hash_set()
            } else {
                classes::hash_set()
            };
            self.new_object(&desc)?;
            self.write_i32(hash_capacity(items.len()));
            self.write_f32(0.75);
            self.write_i32(n);
        }
        self.elements(items, depth)?;
        self.end_custom();
        Ok(())
    }

    /// Maps are written as HashMap unless their class is LinkedHashMap, TreeMap or Hashtable.
    fn map(&mut self, class: &str, entries: &[(Value, Value)], depth: usize) -> Result<()> {
        let n = Self::size_i32(entries.len())?;
        let linked = class == "java.util.LinkedHashMap";
        match class {
            "java.util.TreeMap" => {
                self.new_object(&classes::tree_map())?;
                self.out.push(TC_NULL); // comparator field
                self.write_i32(n);
            }
            "java.util.Hashtable" => {
                self.new_object(&classes::hashtable())?;
                let buckets = (entries.len() * 4 / 3 + 1).max(11);
                let buckets = Self::size_i32(buckets)?;
                self.out.extend_from_slice(&0.75f32.to_bits().to_be_bytes());
                self.out
                    .extend_from_slice(&((buckets as f32 * 0.75) as i32).to_be_bytes());
                self.write_i32(buckets);
                self.write_i32(n);
            }
            _ => {
                let desc = if linked {
                    classes::linked_hash_map()
                } else {
                    classes::hash_map()
                };
                self.new_object(&desc)?;
                let buckets = hash_capacity(entries.len());
                self.out.extend_from_slice(&0.75f32.to_bits().to_be_bytes());
                self.out
                    .extend_from_slice(&((buckets as f32 * 0.75) as i32).to_be_bytes());
                self.write_i32(buckets);
                self.write_i32(n);
            }
        }
        for (k, v) in entries {
            self.flush_block();
            self.value(k, depth)?;
            self.value(v, depth)?;
        }
        self.end_custom();
        if linked {
            self.out.push(0); // LinkedHashMap.accessOrder = false
        }
        Ok(())
    }

    fn big_number(&mut self, class: &str, text: &str, depth: usize) -> Result<()> {
        let bad = || Error::Unwritable(format!("{class} {text:?}"));
        match class {
            "java.math.BigInteger" => {
                let (signum, magnitude) = parse_big_integer(text).ok_or_else(bad)?;
                self.new_object(&classes::big_integer())?;
                for v in [-1i32, -1, -2, -2, signum] {
                    self.out.extend_from_slice(&v.to_be_bytes());
                }
                self.value(&Value::Bytes(magnitude), depth)?;
                self.out.push(TC_ENDBLOCKDATA);
            }
            "java.math.BigDecimal" => {
                let (unscaled, scale) = parse_big_decimal(text).ok_or_else(bad)?;
                self.new_object(&classes::big_decimal())?;
                self.out.extend_from_slice(&scale.to_be_bytes());
                self.big_number("java.math.BigInteger", &unscaled, depth)?;
                self.out.push(TC_ENDBLOCKDATA);
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// A generic object from its descriptor chain and class data (top-most class first).
    fn object(&mut self, obj: &Object, depth: usize) -> Result<()> {
        let mut chain = Vec::new();
        let mut cur = Some(&obj.desc);
        while let Some(d) = cur {
            chain.push(d.clone());
            cur = d.super_desc.as_ref();
        }
        chain.reverse();
        let externalizable = obj.desc.flags & SC_EXTERNALIZABLE != 0;
        if !externalizable && chain.len() != obj.class_data.len() {
            return Err(Error::Unwritable(format!(
                "{}: {} class descriptors but {} class data entries",
                obj.class_name(),
                chain.len(),
                obj.class_data.len()
            )));
        }
        self.new_object(&obj.desc)?;
        if externalizable {
            let cd = obj
                .class_data
                .last()
                .ok_or_else(|| Error::Unwritable("externalizable object without data".into()))?;
            self.annotations(&cd.annotations, depth)?;
            self.end_custom();
            return Ok(());
        }
        for (desc, cd) in chain.iter().zip(&obj.class_data) {
            if desc.flags & SC_SERIALIZABLE == 0 {
                continue;
            }
            if desc.fields.len() != cd.fields.len() {
                return Err(Error::Unwritable(format!(
                    "{}: {} fields declared, {} given",
                    desc.name,
                    desc.fields.len(),
                    cd.fields.len()
                )));
            }
            for (f, (name, v)) in desc.fields.iter().zip(&cd.fields) {
                if &f.name != name {
                    return Err(Error::Unwritable(format!(
                        "{}: field {name} given where {} is declared",
                        desc.name, f.name
                    )));
                }
                if matches!(f.type_code, b'L' | b'[') {
                    self.value(v, depth)?;
                } else {
                    self.primitive(f.type_code, v)?;
                }
            }
            if desc.flags & SC_WRITE_METHOD != 0 {
                self.annotations(&cd.annotations, depth)?;
                self.end_custom();
            }
        }
        Ok(())
    }

    fn annotations(&mut self, annotations: &[Annotation], depth: usize) -> Result<()> {
        for a in annotations {
            match a {
                Annotation::Block(b) => self.write_bytes(b),
                Annotation::Value(v) => {
                    self.flush_block();
                    self.value(v, depth)?;
                }
            }
        }
        Ok(())
    }
}

/// HashMap/HashSet table size the JDK would have: next power of two >= size / 0.75, min 16.
fn hash_capacity(size: usize) -> i32 {
    let need = (size as f64 / 0.75).ceil() as usize;
    need.max(16)
        .checked_next_power_of_two()
        .unwrap_or(1 << 30)
        .min(1 << 30) as i32
}

/// Sign and big-endian two's-complement-free magnitude of a decimal integer.
fn parse_big_integer(text: &str) -> Option<(i32, Vec<u8>)> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() || digits.len() > 10_000 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Little-endian base-256 accumulator.
    let mut mag: Vec<u8> = Vec::new();
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for byte in mag.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.push(carry as u8);
            carry >>= 8;
        }
    }
    mag.reverse();
    let signum = if mag.is_empty() {
        0
    } else if neg {
        -1
    } else {
        1
    };
    Some((signum, mag))
}

/// Unscaled decimal integer and scale of a BigDecimal text (`-12.5`, `1.23E+4`).
fn parse_big_decimal(text: &str) -> Option<(String, i32)> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int_part, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = i32::try_from(frac.len()).ok()?.checked_sub(exp)?;
    let unscaled = format!("{int_part}{frac}");
    parse_big_integer(&unscaled)?;
    Some((unscaled, scale))
}

/// A complete stream (header + one value).
pub fn to_stream(value: &Value, rmi_annotations: bool) -> Result<Vec<u8>> {
    let mut w = ObjectWriter::new(rmi_annotations);
    w.write_value(value)?;
    Ok(w.finish())
}

/// Class descriptors of the JDK classes the writer emits (§4.2 of the protocol notes).
pub mod classes {
    use super::*;
    use std::sync::LazyLock;

    /// A descriptor from a compact field list `(type code, name, JVM type for L/[)`.
    pub fn desc(
        name: &str,
        suid: i64,
        flags: u8,
        fields: &[(u8, &str, Option<&str>)],
        super_desc: Option<ClassDesc>,
    ) -> ClassDesc {
        ClassDesc {
            name: name.into(),
            suid,
            flags,
            fields: fields
                .iter()
                .map(|(t, n, c)| FieldDesc {
                    type_code: *t,
                    name: (*n).into(),
                    class_name: c.map(str::to_string),
                })
                .collect(),
            proxy_interfaces: None,
            super_desc: super_desc.map(Arc::new),
        }
    }

    fn number() -> ClassDesc {
        desc("java.lang.Number", -8742448824652078965, 0x02, &[], None)
    }

    fn boxed(name: &str, suid: i64, code: u8, with_number: bool) -> ClassDesc {
        desc(
            name,
            suid,
            0x02,
            &[(code, "value", None)],
            with_number.then(number),
        )
    }

    pub static BOOLEAN: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Boolean", -3665804199014368530, b'Z', false));
    pub static CHARACTER: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Character", 3786198910865385080, b'C', false));
    pub static BYTE: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Byte", -7183698231559129828, b'B', true));
    pub static SHORT: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Short", 7515723908773894738, b'S', true));
    pub static INTEGER: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Integer", 1360826667806852920, b'I', true));
    pub static LONG: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Long", 4290774380558885855, b'J', true));
    pub static FLOAT: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Float", -2671257302660747028, b'F', true));
    pub static DOUBLE: LazyLock<ClassDesc> =
        LazyLock::new(|| boxed("java.lang.Double", -9172774392245257468, b'D', true));
    pub static UUID: LazyLock<ClassDesc> = LazyLock::new(|| {
        desc(
            "java.util.UUID",
            -4856846361193249489,
            0x02,
            &[(b'J', "leastSigBits", None), (b'J', "mostSigBits", None)],
            None,
        )
    });
    pub static DATE: LazyLock<ClassDesc> =
        LazyLock::new(|| desc("java.util.Date", 7523967970034938905, 0x03, &[], None));
    pub static OBJECT_NAME: LazyLock<ClassDesc> = LazyLock::new(|| {
        desc(
            "javax.management.ObjectName",
            1081892073854801359,
            0x03,
            &[],
            None,
        )
    });
    pub static LINKED_LIST: LazyLock<ClassDesc> =
        LazyLock::new(|| desc("java.util.LinkedList", 876323262645176354, 0x03, &[], None));
    pub static TREE_SET: LazyLock<ClassDesc> =
        LazyLock::new(|| desc("java.util.TreeSet", -2479143000061671589, 0x03, &[], None));

    pub fn array_list() -> ClassDesc {
        desc(
            "java.util.ArrayList",
            8683452581122892189,
            0x03,
            &[(b'I', "size", None)],
            None,
        )
    }

    pub fn attribute_list() -> ClassDesc {
        desc(
            "javax.management.AttributeList",
            -4077085769279709076,
            0x02,
            &[],
            Some(array_list()),
        )
    }

    pub fn hash_set() -> ClassDesc {
        desc("java.util.HashSet", -5024744406713321676, 0x03, &[], None)
    }

    pub fn linked_hash_set() -> ClassDesc {
        desc(
            "java.util.LinkedHashSet",
            -2851667679971038690,
            0x02,
            &[],
            Some(hash_set()),
        )
    }

    pub fn hash_map() -> ClassDesc {
        desc(
            "java.util.HashMap",
            362498820763181265,
            0x03,
            &[(b'F', "loadFactor", None), (b'I', "threshold", None)],
            None,
        )
    }

    pub fn linked_hash_map() -> ClassDesc {
        desc(
            "java.util.LinkedHashMap",
            3801124242820219131,
            0x02,
            &[(b'Z', "accessOrder", None)],
            Some(hash_map()),
        )
    }

    pub fn tree_map() -> ClassDesc {
        desc(
            "java.util.TreeMap",
            919286545866124006,
            0x03,
            &[(b'L', "comparator", Some("Ljava/util/Comparator;"))],
            None,
        )
    }

    pub fn hashtable() -> ClassDesc {
        desc(
            "java.util.Hashtable",
            1421746759512286392,
            0x03,
            &[(b'F', "loadFactor", None), (b'I', "threshold", None)],
            None,
        )
    }

    pub fn big_integer() -> ClassDesc {
        desc(
            "java.math.BigInteger",
            -8287574255936472291,
            0x03,
            &[
                (b'I', "bitCount", None),
                (b'I', "bitLength", None),
                (b'I', "firstNonzeroByteNum", None),
                (b'I', "lowestSetBit", None),
                (b'I', "signum", None),
                (b'[', "magnitude", Some("[B")),
            ],
            Some(number()),
        )
    }

    pub fn big_decimal() -> ClassDesc {
        desc(
            "java.math.BigDecimal",
            6108874887143696463,
            0x03,
            &[
                (b'I', "scale", None),
                (b'L', "intVal", Some("Ljava/math/BigInteger;")),
            ],
            Some(number()),
        )
    }

    /// An enum constant's descriptor: the enum class, then `java.lang.Enum`.
    pub fn enum_desc(class: &str) -> ClassDesc {
        desc(
            class,
            0,
            SC_ENUM | SC_SERIALIZABLE,
            &[],
            Some(desc(
                "java.lang.Enum",
                0,
                SC_ENUM | SC_SERIALIZABLE,
                &[],
                None,
            )),
        )
    }

    /// serialVersionUIDs of common array classes (computed by the JDK; readers do not check
    /// them). Unknown array classes get 0.
    pub fn array_suid(class: &str) -> i64 {
        match class {
            "[Ljava.lang.String;" => -5921575005990323385,
            "[Ljava.lang.Object;" => -8012369246846506644,
            "[Ljava.lang.Integer;" => -101421563860753893,
            "[Ljavax.management.ObjectName;" => 1262009912426809838,
            "[B" => -5984413125824719648,
            "[I" => 5600894804908749477,
            "[J" => 8655923659555304851,
            "[Z" => 6309297032502205922,
            "[Ljava.lang.StackTraceElement;" => 163864874655228473,
            "[Ljava.rmi.server.ObjID;" => -8713620060265225090,
            "[C" => -5753798564021173076,
            "[D" => 4514449696888150558,
            "[F" => 836686056779680834,
            "[S" => -1188055269542874886,
            "[[B" => 5475560301672258359,
            "[[Ljava.lang.String;" => 3624563915955037271,
            "[Ljava.lang.Long;" => 9070542887271031595,
            "[Ljava.lang.Boolean;" => 5176084095617385425,
            "[Ljava.lang.Double;" => -2228528061661948250,
            "[Ljava.rmi.MarshalledObject;" => -7032315260797228034,
            "[Ljavax.security.auth.Subject;" => 6377066463800191576,
            "[Ljavax.management.Attribute;" => -4036773744308166730,
            "[Ljavax.management.MBeanAttributeInfo;" => 4321019968077824321,
            "[Ljavax.management.MBeanOperationInfo;" => -8714627307087638645,
            "[Ljavax.management.MBeanParameterInfo;" => -3645552615691850186,
            "[Ljavax.management.MBeanConstructorInfo;" => -5424372952189953547,
            "[Ljavax.management.MBeanNotificationInfo;" => -8825277981800410961,
            "[Ljavax.management.openmbean.CompositeData;" => -1529710412985667102,
            _ => 0,
        }
    }

    /// The descriptor of an array class (no fields, no superclass).
    pub fn array(class: &str) -> ClassDesc {
        desc(class, array_suid(class), SC_SERIALIZABLE, &[], None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_number_text_parsing() {
        assert_eq!(parse_big_integer("256"), Some((1, vec![1, 0])));
        assert_eq!(parse_big_integer("-0"), Some((0, vec![])));
        assert_eq!(parse_big_integer("12a"), None);
        assert_eq!(parse_big_decimal("-12.50"), Some(("-1250".into(), 2)));
        assert_eq!(parse_big_decimal("1.23E+4"), Some(("123".into(), -2)));
    }

    #[test]
    fn hash_capacity_matches_jdk_sizing() {
        assert_eq!(hash_capacity(0), 16);
        assert_eq!(hash_capacity(12), 16);
        assert_eq!(hash_capacity(13), 32);
    }

    #[test]
    fn append_to_writes_the_same_stream_after_the_prefix() {
        let v = Value::Array {
            class: "[Ljava.lang.String;".into(),
            items: vec![Value::String("a\0é".into()), Value::String("a\0é".into())],
        };
        let mut plain = ObjectWriter::new(true);
        plain.write_i32(-1);
        plain.write_value(&v).unwrap();
        let mut after = ObjectWriter::append_to(vec![0x50, 0x51], true);
        after.write_i32(-1);
        after.write_value(&v).unwrap();
        let (plain, after) = (plain.finish(), after.finish());
        assert_eq!(&after[..2], &[0x50, 0x51]);
        assert_eq!(&after[2..], plain.as_slice());
    }

    #[test]
    fn block_data_is_split_into_1024_byte_segments() {
        let mut w = ObjectWriter::new(false);
        w.write_bytes(&[7u8; 1100]);
        let out = w.finish();
        assert_eq!(&out[4..9], &[TC_BLOCKDATALONG, 0, 0, 4, 0]);
        assert_eq!(&out[9 + 1024..9 + 1026], &[TC_BLOCKDATA, 76]);
        assert_eq!(out.len(), 4 + 5 + 1024 + 2 + 76);

        // Many small writes are segmented the same way as one large one.
        let mut w = ObjectWriter::new(false);
        for _ in 0..550 {
            w.write_bytes(&[7u8, 7]);
        }
        assert_eq!(w.finish(), out);
    }
}
