//! Decoding every golden JDK capture, and writing byte-identical copies of what the JDK sent.
mod common;

use common::*;
use javaser::*;

#[test]
fn every_capture_stream_decodes() {
    let files = all_capture_files();
    assert!(files.len() >= 40, "captures missing: {files:?}");
    let mut n = 0;
    for f in files {
        for s in streams(&f) {
            assert!(!s.items.is_empty(), "{f}");
            n += 1;
        }
    }
    assert!(n >= 45, "only {n} streams");
}

#[test]
fn capture_09_get_attribute_string() {
    let call = single("09-getAttribute-String.c2s.bin");
    assert!(matches!(&call.items[0], Item::Block(b) if b.len() == 34));
    assert_eq!(
        values(&call),
        vec![
            Value::ObjectName("test:type=Probe".into()),
            Value::String("Name".into()),
            Value::Null
        ]
    );
    // The writer reproduces the JDK's call stream byte for byte.
    let Item::Block(header) = &call.items[0] else {
        unreachable!()
    };
    let mut w = ObjectWriter::new(true);
    w.write_bytes(header);
    w.write_value(&Value::ObjectName("test:type=Probe".into()))
        .unwrap();
    w.write_value(&Value::String("Name".into())).unwrap();
    w.write_value(&Value::Null).unwrap();
    assert_eq!(w.finish(), call.bytes);

    let ret = single("09-getAttribute-String.s2c.bin");
    assert_eq!(values(&ret), vec![Value::String("probe-1".into())]);
    let mut r = ObjectReader::new(&ret.bytes, Limits::default()).unwrap();
    assert_eq!(r.read_u8().unwrap(), 1, "NormalReturn");
    r.read_i32().unwrap();
    r.read_i64().unwrap();
    r.read_i16().unwrap();
    assert_eq!(r.read_value().unwrap(), Value::String("probe-1".into()));
    assert!(r.is_at_end());
}
