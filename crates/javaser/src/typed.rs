//! Mapping of generically decoded objects of well-known JDK/JMX classes to typed [`Value`]s
//! (boxed primitives, collections, UUID, Date, big numbers, ObjectName, open MBean data).
//!
//! Owns the knowledge of those classes' serialized shapes (§4.2/§4.3 of the protocol notes).
//! It never reads bytes: it works on an already parsed [`Object`], and when a known class has an
//! unexpected shape it leaves the object generic instead of failing.

use crate::value::*;

/// The typed value for `obj`, or `Value::Object(obj)` when the class is unknown or its shape is
/// not the expected one.
pub(crate) fn decode(mut obj: Object) -> Value {
    match try_decode(&mut obj) {
        Some(v) => v,
        None => Value::Object(obj),
    }
}

/// The typed value of `obj`, or `None` with `obj` untouched. Only the collections take their
/// elements out of `obj` (they can be millions of values); the rest copy what they need.
fn try_decode(obj: &mut Object) -> Option<Value> {
    let class = obj.class_name();
    let own = |name: &str| obj.class_data.last().and_then(|cd| field_of(cd, name));
    match class {
        "java.lang.Boolean" => match own("value")? {
            Value::Bool(b) => Some(Value::Bool(*b)),
            _ => None,
        },
        "java.lang.Byte" => match own("value")? {
            Value::Byte(b) => Some(Value::Byte(*b)),
            _ => None,
        },
        "java.lang.Character" => match own("value")? {
            Value::Char(c) => Some(Value::Char(*c)),
            _ => None,
        },
        "java.lang.Short" => match own("value")? {
            Value::Short(v) => Some(Value::Short(*v)),
            _ => None,
        },
        "java.lang.Integer" => match own("value")? {
            Value::Int(v) => Some(Value::Int(*v)),
            _ => None,
        },
        "java.lang.Long" => match own("value")? {
            Value::Long(v) => Some(Value::Long(*v)),
            _ => None,
        },
        "java.lang.Float" => match own("value")? {
            Value::Float(v) => Some(Value::Float(*v)),
            _ => None,
        },
        "java.lang.Double" => match own("value")? {
            Value::Double(v) => Some(Value::Double(*v)),
            _ => None,
        },
        "java.util.UUID" => match (own("mostSigBits")?, own("leastSigBits")?) {
            (Value::Long(most), Value::Long(least)) => Some(Value::Uuid {
                most: *most,
                least: *least,
            }),
            _ => None,
        },
        "java.util.Date" => match obj.annotations_of(class)? {
            [Annotation::Block(b)] if b.len() == 8 => {
                Some(Value::Date(i64::from_be_bytes(b[..8].try_into().ok()?)))
            }
            _ => None,
        },
        "java.math.BigInteger" => match (own("signum")?, own("magnitude")?) {
            (Value::Int(signum), Value::Bytes(mag)) => Some(Value::BigNumber {
                class: class.into(),
                text: big_integer_text(*signum, mag)?,
            }),
            _ => None,
        },
        "java.math.BigDecimal" => match (own("scale")?, own("intVal")?) {
            (Value::Int(scale), Value::BigNumber { text, .. }) => Some(Value::BigNumber {
                class: class.into(),
                text: big_decimal_text(text, *scale),
            }),
            _ => None,
        },
        "javax.management.ObjectName" => match obj.annotations_of(class)? {
            [Annotation::Value(Value::String(s))] => Some(Value::ObjectName(s.clone())),
            _ => None,
        },
        "java.util.Arrays$ArrayList" => match own("a")? {
            Value::Array { items, .. } => Some(Value::List {
                class: class.into(),
                items: items.clone(),
            }),
            _ => None,
        },
        "java.util.CollSer" => {
            let tag = match own("tag")? {
                Value::Int(t) => *t & 0xFF,
                _ => return None,
            };
            let (_, items) = counted_items(obj.annotations_of(class)?, 0, 0)?;
            Some(match tag {
                1 | 4 => Value::List {
                    class: class.into(),
                    items,
                },
                2 => Value::Set {
                    class: class.into(),
                    items,
                },
                3 => Value::Map {
                    class: class.into(),
                    entries: pairs(items)?,
                },
                _ => return None,
            })
        }
        "javax.management.openmbean.CompositeDataSupport" => {
            Some(Value::CompositeData(composite(obj)?))
        }
        "javax.management.openmbean.TabularDataSupport" => tabular(obj),
        c if c.starts_with("java.util.Collections$") => collections_wrapper(obj),
        _ => collection(obj),
    }
}

/// Takes the elements out of custom data shaped as [`counted`] checks, without copying them.
fn take_counted(
    cd: &mut ClassData,
    lead: usize,
    count_at: usize,
    per: usize,
) -> Option<Vec<Value>> {
    counted_shape(&cd.annotations, lead, count_at, per)?;
    let items = std::mem::take(&mut cd.annotations)
        .into_iter()
        .skip(lead + 1)
        .filter_map(|a| match a {
            Annotation::Value(v) => Some(v),
            Annotation::Block(_) => None,
        })
        .collect();
    Some(items)
}

/// Whether custom data is `[lead objects] Block [objects]` with the element count the block
/// holds at `count_at` (times `per` values an element).
fn counted_shape(ann: &[Annotation], lead: usize, count_at: usize, per: usize) -> Option<()> {
    let (head, items) = (ann.get(..lead)?, ann.get(lead + 1..)?);
    if !head.iter().all(|a| matches!(a, Annotation::Value(_))) {
        return None;
    }
    let Annotation::Block(block) = ann.get(lead)? else {
        return None;
    };
    let count = i32::from_be_bytes(block.get(count_at..count_at + 4)?.try_into().ok()?);
    if !items.iter().all(|a| matches!(a, Annotation::Value(_))) {
        return None;
    }
    (usize::try_from(count).ok()?.checked_mul(per)? == items.len()).then_some(())
}

fn field_of<'o>(cd: &'o ClassData, name: &str) -> Option<&'o Value> {
    cd.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Class data of `base` when every other class in the chain contributes nothing but the
/// `allowed` fields (e.g. LinkedHashMap's `accessOrder`).
fn base_data<'o>(obj: &'o Object, base: &str, allowed: &[&str]) -> Option<&'o ClassData> {
    let mut found = None;
    for cd in &obj.class_data {
        if cd.class == base {
            found = Some(cd);
        } else if !cd.annotations.is_empty()
            || cd
                .fields
                .iter()
                .any(|(n, _)| !allowed.contains(&n.as_str()))
        {
            return None;
        }
    }
    found
}

/// Custom data shaped `[lead objects] Block [objects]` where the block holds an int element
/// count at `count_at`: returns the lead objects and the elements (checked against the count).
fn counted_items(
    ann: &[Annotation],
    lead: usize,
    count_at: usize,
) -> Option<(Vec<Value>, Vec<Value>)> {
    counted(ann, lead, count_at, 1)
}

fn counted(
    ann: &[Annotation],
    lead: usize,
    count_at: usize,
    per: usize,
) -> Option<(Vec<Value>, Vec<Value>)> {
    let mut lead_values = Vec::new();
    let mut iter = ann.iter();
    for _ in 0..lead {
        match iter.next()? {
            Annotation::Value(v) => lead_values.push(v.clone()),
            Annotation::Block(_) => return None,
        }
    }
    let block = match iter.next()? {
        Annotation::Block(b) => b,
        Annotation::Value(_) => return None,
    };
    let count = i32::from_be_bytes(block.get(count_at..count_at + 4)?.try_into().ok()?);
    let mut items = Vec::new();
    for a in iter {
        match a {
            Annotation::Value(v) => items.push(v.clone()),
            Annotation::Block(_) => return None,
        }
    }
    (usize::try_from(count).ok()?.checked_mul(per)? == items.len()).then_some((lead_values, items))
}

fn pairs(items: Vec<Value>) -> Option<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    Some(pair_up(items))
}

/// Consecutive values as key/value pairs (a trailing odd value is dropped).
fn pair_up(items: Vec<Value>) -> Vec<(Value, Value)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// ArrayList, LinkedList, HashSet, TreeSet, HashMap, TreeMap, Hashtable and subclasses that add
/// no data (AttributeList, LinkedHashSet, LinkedHashMap, Properties ...).
fn collection(obj: &mut Object) -> Option<Value> {
    // (base class, extra fields subclasses may add, lead objects, count offset, kind)
    const SHAPES: [(&str, &[&str], usize, usize, u8); 7] = [
        ("java.util.ArrayList", &[], 0, 0, b'L'),
        ("java.util.LinkedList", &[], 0, 0, b'L'),
        ("java.util.HashSet", &[], 0, 8, b'S'),
        ("java.util.TreeSet", &[], 1, 0, b'S'),
        ("java.util.HashMap", &["accessOrder"], 0, 4, b'M'),
        ("java.util.TreeMap", &[], 0, 0, b'M'),
        ("java.util.Hashtable", &["defaults"], 0, 4, b'M'),
    ];
    let class = obj.class_name().to_string();
    for (base, allowed, lead, count_at, kind) in SHAPES {
        if base_data(obj, base, allowed).is_none() {
            continue;
        }
        let cd = obj.class_data.iter_mut().find(|cd| cd.class == base)?;
        let per = if kind == b'M' { 2 } else { 1 };
        let items = take_counted(cd, lead, count_at, per)?;
        return Some(match kind {
            b'L' => Value::List { class, items },
            b'S' => Value::Set { class, items },
            // The shape check counted two values per entry: the pairing is exact.
            _ => Value::Map {
                class,
                entries: pair_up(items),
            },
        });
    }
    None
}

/// `java.util.Collections$...`: empty, singleton, unmodifiable, synchronized, checked.
fn collections_wrapper(obj: &Object) -> Option<Value> {
    let class = obj.class_name().to_string();
    let kind = &class["java.util.Collections$".len()..];
    match kind {
        "EmptyList" => {
            return Some(Value::List {
                class,
                items: vec![],
            })
        }
        "EmptySet" => {
            return Some(Value::Set {
                class,
                items: vec![],
            })
        }
        "EmptyMap" => {
            return Some(Value::Map {
                class,
                entries: vec![],
            })
        }
        "SingletonList" => {
            let items = vec![obj.field("element")?.clone()];
            return Some(Value::List { class, items });
        }
        "SingletonSet" => {
            let items = vec![obj.field("element")?.clone()];
            return Some(Value::Set { class, items });
        }
        "SingletonMap" => {
            let entries = vec![(obj.field("k")?.clone(), obj.field("v")?.clone())];
            return Some(Value::Map { class, entries });
        }
        _ => {}
    }
    if !(kind.starts_with("Unmodifiable")
        || kind.starts_with("Synchronized")
        || kind.starts_with("Checked"))
    {
        return None;
    }
    let inner = ["list", "m", "sm", "nm", "ss", "ns", "s", "c"]
        .iter()
        .find_map(|n| obj.field(n))?;
    match inner {
        Value::List { items, .. } => Some(Value::List {
            class,
            items: items.clone(),
        }),
        Value::Set { items, .. } => Some(Value::Set {
            class,
            items: items.clone(),
        }),
        Value::Map { entries, .. } => Some(Value::Map {
            class,
            entries: entries.clone(),
        }),
        _ => None,
    }
}

fn string_field(obj: &Object, name: &str) -> Option<String> {
    obj.field(name)?.as_str().map(str::to_string)
}

fn composite(obj: &Object) -> Option<CompositeData> {
    let type_name = string_field(obj.field("compositeType")?.as_object()?, "typeName")?;
    let mut items = Vec::new();
    for (k, v) in obj.field("contents")?.as_entries()? {
        items.push((k.as_str()?.to_string(), v.clone()));
    }
    Some(CompositeData { type_name, items })
}

fn tabular(obj: &Object) -> Option<Value> {
    let tt = obj.field("tabularType")?.as_object()?;
    let type_name = string_field(tt, "typeName")?;
    let index_names = tt
        .field("indexNames")?
        .as_items()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let rows = obj
        .field("dataMap")?
        .as_entries()?
        .iter()
        .map(|(_, v)| match v {
            Value::CompositeData(c) => Some(c.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Value::TabularData(TabularData {
        type_name,
        index_names,
        rows,
    }))
}

/// Longest magnitude (bytes, about 600 decimal digits) converted to decimal: the conversion is
/// quadratic, so longer BigIntegers stay generic objects (signum + magnitude fields).
const MAX_MAGNITUDE: usize = 256;

/// Decimal text of a BigInteger given its signum and big-endian magnitude.
pub(crate) fn big_integer_text(signum: i32, magnitude: &[u8]) -> Option<String> {
    if magnitude.len() > MAX_MAGNITUDE || !(-1..=1).contains(&signum) {
        return None;
    }
    // Little-endian limbs in base 1e9.
    let mut limbs: Vec<u32> = Vec::new();
    for &b in magnitude {
        let mut carry = u64::from(b);
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * 256 + carry;
            *limb = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    let mut text = String::new();
    match limbs.split_last() {
        None => return Some("0".into()),
        Some((top, rest)) => {
            if signum < 0 {
                text.push('-');
            }
            text.push_str(&top.to_string());
            for l in rest.iter().rev() {
                text.push_str(&format!("{l:09}"));
            }
        }
    }
    Some(text)
}

/// `BigDecimal.toString()` of an unscaled decimal integer and a scale.
pub(crate) fn big_decimal_text(unscaled: &str, scale: i32) -> String {
    let (neg, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    let sign = if neg { "-" } else { "" };
    let n = digits.len() as i64;
    let adjusted = -i64::from(scale) + (n - 1);
    if scale == 0 {
        return unscaled.to_string();
    }
    if scale > 0 && adjusted >= -6 {
        let scale = scale as i64;
        if n > scale {
            let (a, b) = digits.split_at((n - scale) as usize);
            return format!("{sign}{a}.{b}");
        }
        let zeros = "0".repeat((scale - n) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let frac = if rest.is_empty() {
        String::new()
    } else {
        format!(".{rest}")
    };
    let exp_sign = if adjusted >= 0 { "+" } else { "" };
    format!("{sign}{first}{frac}E{exp_sign}{adjusted}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn hash_map(count: i32, values: &[&str]) -> Object {
        let desc = crate::write::classes::hash_map();
        let mut block = 16i32.to_be_bytes().to_vec(); // buckets, then the size
        block.extend_from_slice(&count.to_be_bytes());
        let mut annotations = vec![Annotation::Block(block)];
        annotations.extend(
            values
                .iter()
                .map(|v| Annotation::Value(Value::String(v.to_string()))),
        );
        Object {
            class_data: vec![ClassData {
                class: desc.name.clone(),
                fields: vec![
                    ("loadFactor".into(), Value::Float(0.75)),
                    ("threshold".into(), Value::Int(12)),
                ],
                annotations,
            }],
            desc: Arc::new(desc),
        }
    }

    #[test]
    fn a_collection_takes_its_elements_and_a_misshapen_one_stays_whole() {
        let s = |v: &str| Value::String(v.into());
        assert_eq!(
            decode(hash_map(2, &["k1", "v1", "k2", "v2"])),
            Value::Map {
                class: "java.util.HashMap".into(),
                entries: vec![(s("k1"), s("v1")), (s("k2"), s("v2"))],
            }
        );
        // Three entries announced, one and a half given: the object is returned as decoded.
        let odd = hash_map(3, &["k1", "v1", "k2"]);
        assert_eq!(decode(odd.clone()), Value::Object(odd));
    }

    #[test]
    fn big_integer_decimal() {
        assert_eq!(big_integer_text(0, &[]).unwrap(), "0");
        assert_eq!(big_integer_text(1, &[0x01, 0x00]).unwrap(), "256");
        assert_eq!(
            big_integer_text(-1, &[0x0D, 0xE0, 0xB6, 0xB3, 0xA7, 0x64, 0x00, 0x00]).unwrap(),
            "-1000000000000000000"
        );
    }

    #[test]
    fn big_decimal_matches_java_to_string() {
        assert_eq!(big_decimal_text("12345", 2), "123.45");
        assert_eq!(big_decimal_text("-5", 3), "-0.005");
        assert_eq!(big_decimal_text("5", 0), "5");
        assert_eq!(big_decimal_text("123", -2), "1.23E+4");
        assert_eq!(big_decimal_text("1", 10), "1E-10");
    }
}
