// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The byte encoding of transcript data: hex pairs, with `~BBNNNN` for runs (pages that are
//! mostly one value stay short).

use alloc::vec::Vec;

/// Runs at least this long are written as `~BBNNNN`.
const MIN_RUN: usize = 6;
/// The longest run one token holds.
const MAX_RUN: usize = 0xffff;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn digit(value: usize) -> u8 {
    DIGITS.get(value & 0xf).copied().unwrap_or(b'0')
}

/// Writes `bytes` encoded, one character at a time, to `out`.
pub fn encode(bytes: &[u8], out: &mut impl FnMut(u8)) {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let run = bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take(MAX_RUN)
            .take_while(|&&x| x == b)
            .count();
        if run >= MIN_RUN {
            out(b'~');
            out(digit(usize::from(b >> 4)));
            out(digit(usize::from(b)));
            for shift in [12, 8, 4, 0] {
                out(digit(run >> shift));
            }
            i = i.saturating_add(run);
        } else {
            out(digit(usize::from(b >> 4)));
            out(digit(usize::from(b)));
            i = i.saturating_add(1);
        }
    }
}

const fn value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => c.checked_sub(b'0'),
        b'a'..=b'f' => c.checked_sub(b'a' - 10),
        b'A'..=b'F' => c.checked_sub(b'A' - 10),
        _ => None,
    }
}

fn byte_at(text: &[u8], at: usize) -> Option<u8> {
    let hi = value(*text.get(at)?)?;
    let lo = value(*text.get(at.checked_add(1)?)?)?;
    Some((hi << 4) | lo)
}

/// Decodes [`encode`]'s output; `None` for anything malformed.
#[must_use]
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text.get(i) == Some(&b'~') {
            let b = byte_at(text, i.checked_add(1)?)?;
            let hi = byte_at(text, i.checked_add(3)?)?;
            let lo = byte_at(text, i.checked_add(5)?)?;
            let run = usize::from(u16::from_be_bytes([hi, lo]));
            out.extend(core::iter::repeat_n(b, run));
            i = i.checked_add(7)?;
        } else {
            out.push(byte_at(text, i)?);
            i = i.checked_add(2)?;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::string::String;

    fn enc(bytes: &[u8]) -> String {
        let mut s = String::new();
        encode(bytes, &mut |c| s.push(char::from(c)));
        s
    }

    #[test]
    fn short_data_is_plain_hex() {
        assert_eq!(enc(&[0x01, 0xab, 0xab, 0xff]), "01ababff");
    }

    #[test]
    fn runs_are_compressed_and_round_trip() {
        let mut page = alloc::vec![0xff_u8; 4096];
        page[100] = 7;
        let text = enc(&page);
        assert_eq!(text, "~ff006407~ff0f9b");
        assert_eq!(decode(&text).as_deref(), Some(&page[..]));
    }

    #[test]
    fn runs_longer_than_one_token_split() {
        let data = alloc::vec![0_u8; 0x1_0005];
        let text = enc(&data);
        assert_eq!(text, "~00ffff~000006");
        assert_eq!(decode(&text), Some(data));
    }

    #[test]
    fn malformed_text_is_refused() {
        assert_eq!(decode("0"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(decode("~00"), None);
    }
}
