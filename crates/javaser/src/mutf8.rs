//! Modified UTF-8 (the `DataOutput.writeUTF` encoding): NUL as `C0 80`, supplementary
//! characters as two 3-byte surrogates, no 4-byte sequences.
//!
//! Owns the text codec only; it must not know about framing or lengths on the wire.

/// Decodes modified UTF-8. Lone surrogates (legal in Java strings) become U+FFFD.
/// Returns the byte offset of the first malformed sequence on failure.
pub fn decode(bytes: &[u8]) -> Result<String, usize> {
    if bytes.iter().all(|&b| b != 0 && b < 0x80) {
        // Fast path: ASCII without NUL is identical in both encodings.
        return Ok(String::from_utf8(bytes.to_vec()).unwrap_or_default());
    }
    let mut units: Vec<u16> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b >> 4 {
            0..=7 => {
                units.push(b.into());
                i += 1;
            }
            12 | 13 => {
                let c = *bytes.get(i + 1).ok_or(i)?;
                if c & 0xC0 != 0x80 {
                    return Err(i);
                }
                units.push((u16::from(b & 0x1F) << 6) | u16::from(c & 0x3F));
                i += 2;
            }
            14 => {
                let (c, d) = match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&c), Some(&d)) => (c, d),
                    _ => return Err(i),
                };
                if c & 0xC0 != 0x80 || d & 0xC0 != 0x80 {
                    return Err(i);
                }
                units.push(
                    (u16::from(b & 0x0F) << 12) | (u16::from(c & 0x3F) << 6) | u16::from(d & 0x3F),
                );
                i += 3;
            }
            _ => return Err(i),
        }
    }
    Ok(char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Encodes a string as modified UTF-8 (without a length prefix).
pub fn encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    encode_into(s, &mut out);
    out
}

/// True when `s` is encoded as its own bytes: ASCII without NUL.
fn is_plain(s: &str) -> bool {
    s.bytes().all(|b| b != 0 && b < 0x80)
}

/// The length of [`encode`]'s output, without encoding.
pub fn encoded_len(s: &str) -> usize {
    if is_plain(s) {
        return s.len();
    }
    s.encode_utf16()
        .map(|unit| match unit {
            1..=0x7F => 1,
            0 | 0x80..=0x7FF => 2,
            _ => 3,
        })
        .sum()
}

/// Appends the modified UTF-8 encoding of `s` to `out` (without a length prefix).
pub fn encode_into(s: &str, out: &mut Vec<u8>) {
    if is_plain(s) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for unit in s.encode_utf16() {
        match unit {
            1..=0x7F => out.push(unit as u8),
            0 | 0x80..=0x7FF => {
                out.push(0xC0 | (unit >> 6) as u8);
                out.push(0x80 | (unit & 0x3F) as u8);
            }
            _ => {
                out.push(0xE0 | (unit >> 12) as u8);
                out.push(0x80 | ((unit >> 6) & 0x3F) as u8);
                out.push(0x80 | (unit & 0x3F) as u8);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_supplementary_round_trip() {
        let s = "a\0é€😀";
        let enc = encode(s);
        assert_eq!(&enc[..3], &[b'a', 0xC0, 0x80]);
        // U+1F600 = D83D DE00 as two 3-byte sequences, no 4-byte form.
        assert_eq!(&enc[enc.len() - 6..], &[0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
        assert_eq!(decode(&enc).unwrap(), s);
    }

    #[test]
    fn rejects_four_byte_and_truncated_sequences() {
        assert_eq!(decode(&[b'x', 0xF0, 0x9F, 0x98, 0x80]), Err(1));
        assert_eq!(decode(&[0xE2, 0x82]), Err(0));
        assert_eq!(decode(&[0xC3, 0x41]), Err(0));
    }

    #[test]
    fn encoded_len_and_encode_into_agree_with_encode() {
        for s in ["", "plain ascii", "a\0b", "é€😀", "mixed é and ascii"] {
            let mut out = b"prefix".to_vec();
            encode_into(s, &mut out);
            assert_eq!(&out[6..], encode(s).as_slice(), "{s:?}");
            assert_eq!(encoded_len(s), encode(s).len(), "{s:?}");
        }
        assert_eq!(encoded_len("a\0b"), 4);
    }

    #[test]
    fn lone_surrogate_is_replaced() {
        assert_eq!(decode(&[0xED, 0xA0, 0xBD]).unwrap(), "\u{FFFD}");
    }
}
