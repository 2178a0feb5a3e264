//! Hostile and malformed input: every case must end in a typed error (or a value), never a
//! panic, a stack overflow or an allocation sized by a length read off the wire.

use javaser::*;

const HDR: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];

fn stream(body: &[u8]) -> Vec<u8> {
    let mut v = HDR.to_vec();
    v.extend_from_slice(body);
    v
}

fn utf(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s.as_bytes());
    v
}

/// `72 <name> <suid> 02 00 00 78 70`: a field-less serializable descriptor, no superclass.
fn desc(name: &str) -> Vec<u8> {
    let mut v = vec![0x72];
    v.extend(utf(name));
    v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0, 0, 0x78, 0x70]);
    v
}

fn reference(h: u32) -> Vec<u8> {
    let mut v = vec![0x71];
    v.extend_from_slice(&(0x7E0000 + h).to_be_bytes());
    v
}

fn read(bytes: &[u8]) -> Result<Value> {
    read_single(bytes, Limits::default())
}

#[test]
fn deep_array_nesting_hits_the_depth_limit() {
    let mut body = vec![0x75];
    body.extend(desc("[Ljava.lang.Object;"));
    body.extend_from_slice(&1i32.to_be_bytes());
    for _ in 0..100_000 {
        body.push(0x75);
        body.extend(reference(0));
        body.extend_from_slice(&1i32.to_be_bytes());
    }
    body.push(0x70);
    assert_eq!(
        read(&stream(&body)),
        Err(Error::LimitExceeded(Limit::Depth))
    );
    // Within the limit, the same shape decodes.
    let mut ok = vec![0x75];
    ok.extend(desc("[Ljava.lang.Object;"));
    ok.extend_from_slice(&1i32.to_be_bytes());
    for _ in 0..20 {
        ok.push(0x75);
        ok.extend(reference(0));
        ok.extend_from_slice(&1i32.to_be_bytes());
    }
    ok.push(0x70);
    assert!(read(&stream(&ok)).is_ok());
}

#[test]
fn deep_superclass_chain_and_custom_data_nesting_hit_the_depth_limit() {
    // A descriptor whose superclass descriptor has a superclass descriptor ...
    let mut body = vec![0x73];
    for i in 0..50_000 {
        body.push(0x72);
        body.extend(utf(&format!("C{i}")));
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0, 0, 0x78]);
    }
    body.push(0x70);
    assert_eq!(
        read(&stream(&body)),
        Err(Error::LimitExceeded(Limit::Depth))
    );

    // Objects nested through writeObject custom data.
    let mut body = vec![0x73, 0x72];
    body.extend(utf("W"));
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0, 0, 0x78, 0x70]);
    for _ in 0..50_000 {
        body.push(0x73);
        body.extend(reference(0));
    }
    assert_eq!(
        read(&stream(&body)),
        Err(Error::LimitExceeded(Limit::Depth))
    );
}

#[test]
fn huge_declared_lengths_fail_without_allocating() {
    // TC_LONGSTRING of 2^62 bytes.
    let mut b = vec![0x7C];
    b.extend_from_slice(&(1u64 << 62).to_be_bytes());
    assert_eq!(
        read(&stream(&b)),
        Err(Error::LimitExceeded(Limit::StringLength))
    );
    // Negative long string length.
    let mut b = vec![0x7C];
    b.extend_from_slice(&(-5i64).to_be_bytes());
    assert!(matches!(read(&stream(&b)), Err(Error::Unexpected { .. })));
    // A u2 string length longer than the input.
    assert_eq!(
        read(&stream(&[0x74, 0xFF, 0xFF, b'a'])),
        Err(Error::Truncated)
    );
    // Arrays: over the limit, negative, and within the limit but longer than the input.
    for (len, want) in [
        (i32::MAX, Err(Error::LimitExceeded(Limit::ArrayLength))),
        ((16 << 20) - 1, Err(Error::Truncated)),
    ] {
        for class in ["[B", "[J", "[Ljava.lang.Object;"] {
            let mut b = vec![0x75];
            b.extend(desc(class));
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&[0x70; 8]);
            assert_eq!(read(&stream(&b)), want, "{class} {len}");
        }
    }
    let mut b = vec![0x75];
    b.extend(desc("[I"));
    b.extend_from_slice(&(-1i32).to_be_bytes());
    assert!(matches!(read(&stream(&b)), Err(Error::Unexpected { .. })));
    // A block-data segment of 2 GiB inside custom data, and at top level.
    let mut b = vec![0x73, 0x72];
    b.extend(utf("W"));
    b.extend_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0, 0, 0x78, 0x70, 0x7A, 0x7F, 0xFF, 0xFF, 0xFF,
    ]);
    assert_eq!(
        read(&stream(&b)),
        Err(Error::LimitExceeded(Limit::BlockBytes))
    );
    let top = stream(&[0x7A, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2]);
    let mut r = ObjectReader::new(&top, Limits::default()).unwrap();
    assert_eq!(r.read_u8(), Err(Error::LimitExceeded(Limit::BlockBytes)));
    let top = stream(&[0x7A, 0x00, 0xFF, 0xFF, 0xFF, 1, 2]);
    let mut r = ObjectReader::new(&top, Limits::default()).unwrap();
    assert_eq!(r.read_bytes(1 << 20), Err(Error::Truncated));
    // 65535 declared fields, proxy with 2^31-1 interfaces.
    let mut b = vec![0x73, 0x72];
    b.extend(utf("F"));
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0xFF, 0xFF, b'I']);
    assert_eq!(read(&stream(&b)), Err(Error::Truncated));
    let b = [0x73, 0x7D, 0x7F, 0xFF, 0xFF, 0xFF, 0x00];
    assert!(matches!(read(&stream(&b)), Err(Error::Unexpected { .. })));
}

/// Level k is an `Object[64]` of references to level k-1: 64^k values if expanded.
fn reference_bomb(levels: usize) -> Vec<u8> {
    let mut b = vec![0x75];
    b.extend(desc("[Ljava.lang.Object;")); // handle 0
    b.extend_from_slice(&(levels as i32).to_be_bytes()); // outer array, handle 1
    b.extend_from_slice(&[0x74, 0, 1, b'x']); // handle 2
    let mut prev = 2;
    for next in 3..levels as u32 + 2 {
        b.push(0x75);
        b.extend(reference(0));
        b.extend_from_slice(&64i32.to_be_bytes());
        for _ in 0..64 {
            b.extend(reference(prev));
        }
        prev = next;
    }
    stream(&b)
}

/// An `Object[n]` whose element k is an `Object[1]` holding a reference to element k-1: every
/// element is shallow where it is written, but the decoded tree is n levels deep.
fn reference_chain(n: usize) -> Vec<u8> {
    let mut b = vec![0x75];
    b.extend(desc("[Ljava.lang.Object;")); // handle 0
    b.extend_from_slice(&(n as i32).to_be_bytes()); // outer array, handle 1
    for k in 0..n as u32 {
        b.push(0x75); // element k, handle k + 2
        b.extend(reference(0));
        b.extend_from_slice(&1i32.to_be_bytes());
        if k == 0 {
            b.push(0x70);
        } else {
            b.extend(reference(k + 1));
        }
    }
    stream(&b)
}

fn height(v: &Value) -> usize {
    1 + v
        .as_items()
        .map_or(0, |items| items.iter().map(height).max().unwrap_or(0))
}

#[test]
fn references_cannot_build_trees_deeper_than_the_depth_limit() {
    assert_eq!(
        read(&reference_chain(200)),
        Err(Error::LimitExceeded(Limit::Depth))
    );
    // With a value budget large enough for a few thousand levels the depth limit still holds, so
    // recursive clone, drop and rendering of the result cannot overflow the stack.
    let big = Limits {
        max_values: 50_000_000,
        ..Limits::default()
    };
    assert_eq!(
        read_single(&reference_chain(4000), big),
        Err(Error::LimitExceeded(Limit::Depth))
    );
    // A chain that fits decodes in full: 40 referenced levels under the outer array.
    let v = read(&reference_chain(40)).unwrap();
    assert_eq!(height(&v), 42);
}

#[test]
fn handle_table_is_bounded() {
    // An Object[300] of distinct one-letter strings needs 302 handles (descriptor, array, strings).
    let strings = |n: i32| {
        let mut b = vec![0x75];
        b.extend(desc("[Ljava.lang.Object;"));
        b.extend_from_slice(&n.to_be_bytes());
        for _ in 0..n {
            b.extend_from_slice(&[0x74, 0, 1, b's']);
        }
        stream(&b)
    };
    let limits = Limits {
        max_handles: 301,
        ..Limits::default()
    };
    assert_eq!(
        read_single(&strings(300), limits),
        Err(Error::LimitExceeded(Limit::Handles))
    );
    let v = read_single(&strings(299), limits).unwrap();
    assert_eq!(v.as_items().unwrap().len(), 299);
}

#[test]
fn reference_bombs_hit_the_value_limit() {
    assert_eq!(
        read(&reference_bomb(12)),
        Err(Error::LimitExceeded(Limit::Values))
    );
    // A small bomb is fine and expands fully.
    let v = read(&reference_bomb(3)).unwrap();
    let items = v.as_items().unwrap();
    assert_eq!(items[2].as_items().unwrap().len(), 64);
    assert_eq!(
        items[2].as_items().unwrap()[63].as_items().unwrap().len(),
        64
    );
    // The clone size counts: 1 + 1 + 65 + 64*65 values exceed a limit of 4000.
    let limits = Limits {
        max_values: 4000,
        ..Limits::default()
    };
    assert_eq!(
        read_single(&reference_bomb(3), limits),
        Err(Error::LimitExceeded(Limit::Values))
    );
}

#[test]
fn nested_containers_cannot_multiply_handle_table_copies() {
    // 50 nested arrays around 100 000 nulls: each level keeps a copy for back references.
    let mut b = vec![0x75];
    b.extend(desc("[Ljava.lang.Object;"));
    b.extend_from_slice(&1i32.to_be_bytes());
    for _ in 0..48 {
        b.push(0x75);
        b.extend(reference(0));
        b.extend_from_slice(&1i32.to_be_bytes());
    }
    b.push(0x75);
    b.extend(reference(0));
    b.extend_from_slice(&100_000i32.to_be_bytes());
    b.extend(std::iter::repeat_n(0x70, 100_000));
    assert_eq!(read(&stream(&b)), Err(Error::LimitExceeded(Limit::Values)));
}

#[test]
fn references_to_a_big_string_count_its_size() {
    // One 1 MiB string referenced 2000 times would be 2 GB of copies.
    let mut b = vec![0x75];
    b.extend(desc("[Ljava.lang.Object;"));
    b.extend_from_slice(&2001i32.to_be_bytes());
    b.push(0x7C);
    b.extend_from_slice(&(1u64 << 20).to_be_bytes());
    b.extend(std::iter::repeat_n(b'a', 1 << 20));
    for _ in 0..2000 {
        b.extend(reference(2));
    }
    assert_eq!(read(&stream(&b)), Err(Error::LimitExceeded(Limit::Values)));
}

#[test]
fn malformed_streams_give_typed_errors() {
    assert_eq!(read(&[0xAC, 0xED]), Err(Error::Truncated));
    assert!(matches!(
        read(&[0xAC, 0xED, 0x00, 0x04, 0x70]),
        Err(Error::BadMagic(_))
    ));
    assert!(matches!(read(&[0x50]), Err(Error::BadMagic(_))));
    assert_eq!(
        read(&stream(&[0x6F])),
        Err(Error::UnknownTag {
            tag: 0x6F,
            offset: 4
        })
    );
    assert!(matches!(
        read(&stream(&reference(9))),
        Err(Error::BadHandle { .. })
    ));
    assert!(matches!(
        read(&stream(&[0x74, 0, 2, 0xC3, 0x41])),
        Err(Error::InvalidUtf { .. })
    ));
    assert!(matches!(
        read(&stream(&[0x74, 0, 4, 0xF0, 0x9F, 0x98, 0x80])),
        Err(Error::InvalidUtf { .. })
    ));
    assert!(matches!(
        read(&stream(&[0x78])),
        Err(Error::Unexpected { .. })
    ));
    // Object with a null class descriptor; block data where an object is expected.
    assert!(matches!(
        read(&stream(&[0x73, 0x70])),
        Err(Error::Unexpected { .. })
    ));
    let block = stream(&[0x77, 1, 5]);
    let mut r = ObjectReader::new(&block, Limits::default()).unwrap();
    assert!(matches!(r.read_value(), Err(Error::Unexpected { .. })));
    // A field type that is not a string.
    let mut b = vec![0x73, 0x72];
    b.extend(utf("F"));
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x02, 0, 1, b'L', 0, 1, b'f', 0x70]);
    assert!(matches!(read(&stream(&b)), Err(Error::Unexpected { .. })));
    // Input larger than max_total_bytes.
    let limits = Limits {
        max_total_bytes: 8,
        ..Limits::default()
    };
    assert_eq!(
        read_single(&stream(&[0x74, 0, 4, b'a', b'b', b'c', b'd']), limits),
        Err(Error::LimitExceeded(Limit::TotalBytes))
    );
    // Protocol-version-1 externalizable data cannot be parsed.
    let mut b = vec![0x73, 0x72];
    b.extend(utf("E"));
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0x04, 0, 0, 0x78, 0x70, 1, 2]);
    assert!(matches!(read(&stream(&b)), Err(Error::Unexpected { .. })));
}

#[test]
fn reset_and_exception_tags() {
    // TC_RESET between top-level items clears the handle table.
    let mut b = vec![0x74, 0, 1, b'a', 0x79];
    b.extend(reference(0));
    let bytes = stream(&b);
    let mut r = ObjectReader::new(&bytes, Limits::default()).unwrap();
    assert_eq!(r.read_value(), Ok(Value::String("a".into())));
    assert!(matches!(r.read_value(), Err(Error::BadHandle { .. })));
    // TC_RESET inside an array is malformed.
    let mut b = vec![0x75];
    b.extend(desc("[Ljava.lang.Object;"));
    b.extend_from_slice(&[0, 0, 0, 1, 0x79, 0x70]);
    assert!(matches!(read(&stream(&b)), Err(Error::Unexpected { .. })));
    // TC_EXCEPTION carries the writer's Throwable.
    let b = [0x7B, 0x74, 0, 4, b'o', b'o', b'p', b's'];
    assert_eq!(
        read(&stream(&b)),
        Err(Error::StreamException(Box::new(Value::String(
            "oops".into()
        ))))
    );
}

#[test]
fn known_classes_with_unexpected_shapes_stay_generic() {
    // An ArrayList whose block announces 5 elements but holds 1.
    let mut b = vec![0x73, 0x72];
    b.extend(utf("java.util.ArrayList"));
    b.extend_from_slice(&8683452581122892189i64.to_be_bytes());
    b.extend_from_slice(&[0x03, 0, 1, b'I']);
    b.extend(utf("size"));
    b.extend_from_slice(&[0x78, 0x70, 0, 0, 0, 5, 0x77, 4, 0, 0, 0, 5, 0x70, 0x78]);
    let v = read(&stream(&b)).unwrap();
    let o = v.as_object().expect("generic fallback");
    assert_eq!(o.class_name(), "java.util.ArrayList");
    assert_eq!(o.field("size"), Some(&Value::Int(5)));
    // An ObjectName whose custom data is not a string.
    let mut b = vec![0x73, 0x72];
    b.extend(utf("javax.management.ObjectName"));
    b.extend_from_slice(&1081892073854801359i64.to_be_bytes());
    b.extend_from_slice(&[0x03, 0, 0, 0x78, 0x70, 0x77, 1, 9, 0x78]);
    let v = read(&stream(&b)).unwrap();
    assert_eq!(
        v.as_object()
            .unwrap()
            .annotations_of("javax.management.ObjectName"),
        Some(&[Annotation::Block(vec![9])][..])
    );
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

fn parse_all(bytes: &[u8]) {
    if let Ok(mut r) = ObjectReader::new(bytes, Limits::default()) {
        for _ in 0..32 {
            match r.read_item() {
                Ok(Some(Item::Value(v))) => {
                    let _ = v.to_json();
                    let _ = to_stream(&v, true);
                }
                Ok(Some(Item::Block(_))) => {}
                _ => break,
            }
        }
    }
}

#[test]
fn random_garbage_and_mutated_captures_never_panic() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for _ in 0..3000 {
        let len = (rng.next() % 300) as usize;
        let mut b = HDR.to_vec();
        // Bias towards tag bytes so the parser gets somewhere.
        b.extend((0..len).map(|_| {
            let x = rng.next();
            if x.is_multiple_of(3) {
                0x70 + (x >> 8) as u8 % 15
            } else {
                (x >> 16) as u8
            }
        }));
        parse_all(&b);
    }
    let seeds: Vec<Vec<u8>> = crate::common::all_capture_files()
        .iter()
        .flat_map(|f| crate::common::streams(f))
        .map(|s| s.bytes)
        .collect();
    for i in 0..4000 {
        let mut b = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.next() % 4 {
            let at = 4 + (rng.next() as usize) % (b.len() - 4);
            b[at] = rng.next() as u8;
        }
        parse_all(&b);
    }
}
