//! The Java value model: what a serialization stream decodes into and what the writer encodes.
//!
//! Owns the shape of values only. It must not touch bytes (that is `read`/`write`) nor know
//! anything about RMI or JMX beyond the well-known JDK classes that have a variant here.
//!
//! Well-known classes are decoded into typed variants (boxed primitives into the primitive
//! variants, the JDK collections into `List`/`Set`/`Map`, `UUID`, `Date`, `ObjectName`, open
//! MBean data). Every other class is kept generically as [`Object`], with its class descriptor
//! chain, field values and custom ("annotation") data, so nothing a peer sends makes decoding fail.

use std::sync::Arc;

/// A decoded Java value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `boolean` / `java.lang.Boolean`.
    Bool(bool),
    /// `byte` / `java.lang.Byte`.
    Byte(i8),
    /// `char` / `java.lang.Character` (a UTF-16 code unit).
    Char(u16),
    /// `short` / `java.lang.Short`.
    Short(i16),
    /// `int` / `java.lang.Integer`.
    Int(i32),
    /// `long` / `java.lang.Long`.
    Long(i64),
    /// `float` / `java.lang.Float`.
    Float(f32),
    /// `double` / `java.lang.Double`.
    Double(f64),
    /// `java.lang.String` (TC_STRING or TC_LONGSTRING).
    String(String),
    /// `byte[]`, kept compact.
    Bytes(Vec<u8>),
    /// Any other array. `class` is the JVM array class name (`[Ljava.lang.String;`, `[I`, ...);
    /// primitive elements are the primitive variants.
    Array { class: String, items: Vec<Value> },
    /// An enum constant.
    Enum { class: String, constant: String },
    /// A `java.lang.Class` object (TC_CLASS): the class name.
    Class(String),
    /// `java.util.List` implementations (ArrayList, LinkedList, Arrays$ArrayList, Collections'
    /// wrappers, List.of, AttributeList ...). `class` is the class seen on the wire.
    List { class: String, items: Vec<Value> },
    /// `java.util.Set` implementations (HashSet, LinkedHashSet, TreeSet, wrappers, Set.of ...).
    Set { class: String, items: Vec<Value> },
    /// `java.util.Map` implementations (HashMap, LinkedHashMap, TreeMap, Hashtable, wrappers ...),
    /// entries in wire order.
    Map {
        class: String,
        entries: Vec<(Value, Value)>,
    },
    /// `java.util.UUID`.
    Uuid { most: i64, least: i64 },
    /// `java.util.Date`: milliseconds since the epoch.
    Date(i64),
    /// `java.math.BigInteger` / `java.math.BigDecimal` as decimal text.
    BigNumber { class: String, text: String },
    /// `javax.management.ObjectName`: the name as the server wrote it.
    ObjectName(String),
    /// `javax.management.openmbean.CompositeDataSupport`.
    CompositeData(CompositeData),
    /// `javax.management.openmbean.TabularDataSupport`.
    TabularData(TabularData),
    /// Any other object, decoded generically.
    Object(Object),
    /// A reference to an object that was still being decoded when referenced (a cycle, e.g.
    /// `Throwable.cause == this`). The number is the stream handle (`0x7E0000`-based).
    Cycle(u32),
}

/// `CompositeDataSupport`: its type name and its items in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeData {
    pub type_name: String,
    pub items: Vec<(String, Value)>,
}

/// `TabularDataSupport`: its type name, index column names and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularData {
    pub type_name: String,
    pub index_names: Vec<String>,
    pub rows: Vec<CompositeData>,
}

/// An object of a class with no typed variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The most derived class descriptor (its `super_desc` chain describes the rest).
    pub desc: Arc<ClassDesc>,
    /// One entry per serializable class in the chain, top-most superclass first (wire order).
    pub class_data: Vec<ClassData>,
}

/// The data one class in an object's hierarchy contributed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassData {
    /// The class this data belongs to.
    pub class: String,
    /// Default field values, in wire order.
    pub fields: Vec<(String, Value)>,
    /// Custom data written by `writeObject` / `writeExternal` (up to TC_ENDBLOCKDATA), in order.
    /// Consecutive block-data segments are merged into one `Annotation::Block`.
    pub annotations: Vec<Annotation>,
}

/// One item of custom data.
#[derive(Debug, Clone, PartialEq)]
pub enum Annotation {
    Block(Vec<u8>),
    Value(Value),
}

/// A class descriptor (TC_CLASSDESC or TC_PROXYCLASSDESC).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassDesc {
    /// Binary class name; for a proxy class, the generated name is unknown, so it is `"$Proxy"`.
    pub name: String,
    pub suid: i64,
    /// SC_* flags byte.
    pub flags: u8,
    pub fields: Vec<FieldDesc>,
    /// For TC_PROXYCLASSDESC: the interface names.
    pub proxy_interfaces: Option<Vec<String>>,
    pub super_desc: Option<Arc<ClassDesc>>,
}

/// A serializable field in a class descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDesc {
    /// Type code: `B C D F I J S Z` for primitives, `L` object, `[` array.
    pub type_code: u8,
    pub name: String,
    /// For `L` and `[`: the JVM type string (`Ljava/lang/String;`, `[B`).
    pub class_name: Option<String>,
}

pub const SC_WRITE_METHOD: u8 = 0x01;
pub const SC_SERIALIZABLE: u8 = 0x02;
pub const SC_EXTERNALIZABLE: u8 = 0x04;
pub const SC_BLOCK_DATA: u8 = 0x08;
pub const SC_ENUM: u8 = 0x10;

impl Object {
    /// The most derived class name.
    pub fn class_name(&self) -> &str {
        &self.desc.name
    }

    /// A field value by name, searched from the most derived class up.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.class_data
            .iter()
            .rev()
            .flat_map(|cd| cd.fields.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Class names of the descriptor chain, most derived first (a proxy shows as `$Proxy`).
    pub fn class_chain(&self) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(&self.desc), |d| d.super_desc.as_ref()).map(|d| d.name.as_str())
    }

    /// True when `class` is this object's class or one of its serializable superclasses
    /// (e.g. `java.lang.RuntimeException` for an `IllegalArgumentException`).
    pub fn is_instance_of(&self, class: &str) -> bool {
        self.class_chain().any(|c| c == class)
    }

    /// Custom data of one class in the chain.
    pub fn annotations_of(&self, class: &str) -> Option<&[Annotation]> {
        self.class_data
            .iter()
            .find(|cd| cd.class == class)
            .map(|cd| cd.annotations.as_slice())
    }
}

impl Value {
    /// The string, when this is a `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Any integral value widened to i64.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Byte(v) => Some(v.into()),
            Value::Short(v) => Some(v.into()),
            Value::Int(v) => Some(v.into()),
            Value::Long(v) => Some(v),
            _ => None,
        }
    }

    /// Any numeric value as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(v.into()),
            Value::Double(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of a `List`, `Set` or non-byte array.
    pub fn as_items(&self) -> Option<&[Value]> {
        match self {
            Value::List { items, .. } | Value::Set { items, .. } | Value::Array { items, .. } => {
                Some(items)
            }
            _ => None,
        }
    }

    /// The entries of a `Map`.
    pub fn as_entries(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// The Java class of this value (the class seen on the wire for collections, arrays,
    /// enums and generic objects); `None` for `Null` and `Cycle`.
    pub fn class_name(&self) -> Option<&str> {
        Some(match self {
            Value::Null | Value::Cycle(_) => return None,
            Value::Bool(_) => "java.lang.Boolean",
            Value::Byte(_) => "java.lang.Byte",
            Value::Char(_) => "java.lang.Character",
            Value::Short(_) => "java.lang.Short",
            Value::Int(_) => "java.lang.Integer",
            Value::Long(_) => "java.lang.Long",
            Value::Float(_) => "java.lang.Float",
            Value::Double(_) => "java.lang.Double",
            Value::String(_) => "java.lang.String",
            Value::Bytes(_) => "[B",
            Value::Class(_) => "java.lang.Class",
            Value::Uuid { .. } => "java.util.UUID",
            Value::Date(_) => "java.util.Date",
            Value::ObjectName(_) => "javax.management.ObjectName",
            Value::CompositeData(_) => "javax.management.openmbean.CompositeDataSupport",
            Value::TabularData(_) => "javax.management.openmbean.TabularDataSupport",
            Value::Array { class, .. }
            | Value::Enum { class, .. }
            | Value::List { class, .. }
            | Value::Set { class, .. }
            | Value::Map { class, .. }
            | Value::BigNumber { class, .. } => class,
            Value::Object(o) => o.class_name(),
        })
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }
}
