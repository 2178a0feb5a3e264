//! Test support: splitting the golden JRMP captures into their serialization streams.
#![allow(dead_code)]

use javaser::{Error, Item, Limits, ObjectReader};

/// The golden captures directory: `tests/data/reference/captures` in the repository
/// (`JAVASER_CAPTURES` overrides it).
pub fn captures_dir() -> String {
    std::env::var("JAVASER_CAPTURES").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/reference/captures"
        )
        .to_string()
    })
}

/// One serialization stream found in a capture: its exact bytes and decoded top-level items.
pub struct Stream {
    pub bytes: Vec<u8>,
    pub items: Vec<Item>,
    /// End offsets (relative to the stream start) of every complete top-level item, plus the
    /// header end: a prefix ending there parses cleanly.
    pub boundaries: Vec<usize>,
}

pub fn read_capture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}", captures_dir())).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Reads all top-level items of the stream at the start of `bytes`.
pub fn parse_stream(bytes: &[u8]) -> Result<(Vec<Item>, Vec<usize>, usize), Error> {
    let mut r = ObjectReader::new(bytes, Limits::default())?;
    let mut items = Vec::new();
    let mut boundaries = vec![r.position()];
    while let Some(item) = r.read_item()? {
        items.push(item);
        boundaries.push(r.position());
    }
    Ok((items, boundaries, r.position()))
}

fn utf_len(b: &[u8], at: usize) -> usize {
    2 + u16::from_be_bytes([b[at], b[at + 1]]) as usize
}

/// Splits a capture direction into its serialization streams (Call / Return bodies).
pub fn streams(name: &str) -> Vec<Stream> {
    let b = read_capture(name);
    let mut p = if name.ends_with(".c2s.bin") {
        assert_eq!(&b[..4], b"JRMI");
        7 + utf_len(&b, 7) + 4
    } else {
        assert_eq!(b[0], 0x4E);
        1 + utf_len(&b, 1) + 4
    };
    let mut out = Vec::new();
    while p < b.len() {
        match b[p] {
            0x50 | 0x51 => {
                let (items, boundaries, len) =
                    parse_stream(&b[p + 1..]).unwrap_or_else(|e| panic!("{name} @{p:#x}: {e}"));
                out.push(Stream {
                    bytes: b[p + 1..p + 1 + len].to_vec(),
                    items,
                    boundaries,
                });
                p += 1 + len;
            }
            0x52 | 0x53 => p += 1,
            0x54 => p += 15,
            op => panic!("{name} @{p:#x}: unexpected JRMP opcode {op:#x}"),
        }
    }
    out
}

/// The only stream of a capture direction.
pub fn single(name: &str) -> Stream {
    let mut s = streams(name);
    assert_eq!(s.len(), 1, "{name}");
    s.remove(0)
}

/// The content items (not block data) of a stream.
pub fn values(s: &Stream) -> Vec<javaser::Value> {
    s.items
        .iter()
        .filter_map(|i| match i {
            Item::Value(v) => Some(v.clone()),
            Item::Block(_) => None,
        })
        .collect()
}

/// All capture file names (both directions).
pub fn all_capture_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(captures_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".c2s.bin") || n.ends_with(".s2c.bin"))
        .collect();
    names.sort();
    names
}
