//! Parses arbitrary bytes as a serialization stream with default limits; every decoded value is
//! also rendered as JSON and re-encoded. Nothing may panic, overflow the stack or run away.
#![no_main]

use javaser::{to_stream, Item, Limits, ObjectReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Let the fuzzer skip the fixed header most of the time.
    let mut owned;
    let bytes = if data.first() == Some(&0xAC) {
        data
    } else {
        owned = vec![0xAC, 0xED, 0x00, 0x05];
        owned.extend_from_slice(data);
        &owned[..]
    };
    let Ok(mut r) = ObjectReader::new(bytes, Limits::default()) else {
        return;
    };
    for _ in 0..64 {
        match r.read_item() {
            Ok(Some(Item::Value(v))) => {
                let _ = v.to_json();
                let _ = to_stream(&v, true);
            }
            Ok(Some(Item::Block(_))) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
