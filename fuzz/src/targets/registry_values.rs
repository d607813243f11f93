// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `registry_values`: registry value decoding (`xen::registry`) and the `UpperFilters`
//! multi-string edits built on it (`xen::filters`), on arbitrary value types and bytes.
//!
//! Invariants:
//! * `dword`/`qword` succeed exactly for their type with exactly 4/8 bytes;
//! * `decode_multi_sz` equals a model (units up to the first empty string, a last string without
//!   terminator kept, nothing above `MAX_VALUE_SIZE`), its strings are non-empty and NUL-free,
//!   and `encode_multi_sz` of them decodes back to the same list (a round trip) at the
//!   documented size;
//! * `decode_sz(encode_sz(t))` is `t` up to its first NUL; `decode_sz` is the units up to the
//!   first NUL narrowed to `?` above 0xFF;
//! * filters: a value that is not `REG_MULTI_SZ` is refused untouched; `add` appends `XENFILT`
//!   unless an entry matches it case-insensitively, and adding again changes nothing; `remove`
//!   drops exactly the matching entries; `install` then `uninstall` over a class registry
//!   leaves no match, and a second `install` is `Unchanged`.

use std::cell::RefCell;

use xen::filters::{self, ClassRegistry, DeviceClass, Edit, FILTER_NAME, FilterError, Outcome};
use xen::registry::{
    MAX_VALUE_SIZE, REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ,
    RegistryError, TextError, Value, decode_multi_sz, decode_sz, encode_multi_sz, encode_sz,
    eq_ignore_ascii_case, units, widen,
};

use crate::input::{Reader, Writer};

const KINDS: [u32; 7] = [
    REG_MULTI_SZ,
    REG_MULTI_SZ,
    REG_SZ,
    REG_EXPAND_SZ,
    REG_BINARY,
    REG_DWORD,
    REG_QWORD,
];

fn model_multi_sz(data: &[u8]) -> Vec<Vec<u16>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for pair in data.chunks_exact(2) {
        let unit = u16::from_le_bytes([pair[0], pair[1]]);
        if unit == 0 {
            if current.is_empty() {
                return out;
            }
            out.push(std::mem::take(&mut current));
        } else {
            current.push(unit);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn is_filter(entry: &[u16]) -> bool {
    entry.len() == FILTER_NAME.len()
        && entry
            .iter()
            .zip(FILTER_NAME.bytes())
            .all(|(&u, b)| u8::try_from(u).is_ok_and(|u| u.eq_ignore_ascii_case(&b)))
}

/// A stored value: its type and data.
type Stored = Option<(u32, Vec<u8>)>;

/// Two class values in memory.
struct Classes {
    values: RefCell<[Stored; 2]>,
}

const fn index(class: DeviceClass) -> usize {
    match class {
        DeviceClass::System => 0,
        DeviceClass::Hdc => 1,
    }
}

impl ClassRegistry for Classes {
    fn read_upper_filters(
        &self,
        class: DeviceClass,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError> {
        let values = self.values.borrow();
        let (kind, data) = values[index(class)]
            .as_ref()
            .ok_or(RegistryError::NotFound)?;
        visit(Value::new(*kind, data));
        Ok(())
    }

    fn write_upper_filters(&self, class: DeviceClass, data: &[u8]) -> Result<(), RegistryError> {
        self.values.borrow_mut()[index(class)] = Some((REG_MULTI_SZ, data.to_vec()));
        Ok(())
    }
}

fn check_text(kind: u32, data: &[u8]) {
    let value = Value::new(kind, data);
    match (kind, data.len()) {
        (REG_DWORD, 4) => assert_eq!(
            value.dword(),
            Ok(u32::from_le_bytes(data.try_into().expect("4")))
        ),
        _ => assert_eq!(value.dword(), Err(RegistryError::WrongType)),
    }
    match (kind, data.len()) {
        (REG_QWORD, 8) => assert_eq!(
            value.qword(),
            Ok(u64::from_le_bytes(data.try_into().expect("8")))
        ),
        _ => assert_eq!(value.qword(), Err(RegistryError::WrongType)),
    }
    assert_eq!(units(data).count(), data.len() / 2);

    let decoded = decode_multi_sz(data);
    if data.len() > MAX_VALUE_SIZE {
        assert_eq!(decoded, Err(TextError::TooLarge));
    } else {
        let list = decoded.expect("decodes");
        assert_eq!(list, model_multi_sz(data));
        assert!(list.iter().all(|s| !s.is_empty() && !s.contains(&0)));
        match encode_multi_sz(&list) {
            Ok(bytes) => {
                let size = 2 * (1 + list.iter().map(|s| s.len() + 1).sum::<usize>());
                assert_eq!(bytes.len(), size);
                assert!(bytes.len() <= MAX_VALUE_SIZE);
                assert_eq!(decode_multi_sz(&bytes).expect("round trip"), list);
            }
            Err(e) => {
                assert_eq!(e, TextError::TooLarge);
                assert!(2 * (1 + list.iter().map(|s| s.len() + 1).sum::<usize>()) > MAX_VALUE_SIZE);
            }
        }
    }

    match decode_sz(data) {
        Ok(text) => {
            let expected: Vec<u8> = units(data)
                .take_while(|&u| u != 0)
                .map(|u| u8::try_from(u).unwrap_or(b'?'))
                .collect();
            assert_eq!(text, expected);
            // Whatever fits the limit comes back byte for byte (a value of exactly
            // MAX_VALUE_SIZE bytes without a terminator decodes but cannot be re-encoded).
            match encode_sz(&text) {
                Ok(encoded) => assert_eq!(decode_sz(&encoded).expect("round trip"), text),
                Err(e) => {
                    assert!(e == TextError::TooLarge && 2 * (text.len() + 1) > MAX_VALUE_SIZE)
                }
            }
        }
        Err(e) => assert!(e == TextError::TooLarge && data.len() > MAX_VALUE_SIZE),
    }
    let until_nul = data.split(|&b| b == 0).next().unwrap_or_default();
    if let Ok(encoded) = encode_sz(data) {
        assert_eq!(decode_sz(&encoded).expect("round trip"), until_nul);
        assert_eq!(
            widen(until_nul).expect("widens"),
            units(&encoded).take_while(|&u| u != 0).collect::<Vec<_>>()
        );
    }
}

fn check_filters(kind: u32, data: &[u8]) {
    let value = Some(Value::new(kind, data));
    if kind != REG_MULTI_SZ {
        assert_eq!(
            filters::add(value, FILTER_NAME),
            Err(FilterError::WrongType(kind))
        );
        assert_eq!(
            filters::remove(value, FILTER_NAME),
            Err(FilterError::WrongType(kind))
        );
        return;
    }
    let Ok(list) = decode_multi_sz(data) else {
        assert!(filters::add(value, FILTER_NAME).is_err());
        return;
    };
    let present = list.iter().any(|e| is_filter(e));
    for e in &list {
        assert_eq!(
            eq_ignore_ascii_case(e, FILTER_NAME.as_bytes()),
            is_filter(e)
        );
    }
    match filters::add(value, FILTER_NAME) {
        Ok(Edit::Unchanged) => assert!(present),
        Ok(Edit::Write(bytes)) => {
            assert!(!present);
            let mut expected = list.clone();
            expected.push(FILTER_NAME.encode_utf16().collect());
            assert_eq!(
                decode_multi_sz(&bytes).expect("written data decodes"),
                expected
            );
            assert_eq!(
                filters::add(Some(Value::new(REG_MULTI_SZ, &bytes)), FILTER_NAME),
                Ok(Edit::Unchanged)
            );
        }
        Err(e) => assert_eq!(e, FilterError::TooLarge),
    }
    match filters::remove(value, FILTER_NAME) {
        Ok(Edit::Unchanged) => assert!(!present),
        Ok(Edit::Write(bytes)) => {
            assert!(present);
            let expected: Vec<Vec<u16>> = list.iter().filter(|e| !is_filter(e)).cloned().collect();
            assert_eq!(
                decode_multi_sz(&bytes).expect("written data decodes"),
                expected
            );
        }
        Err(e) => panic!("remove failed: {e:?}"),
    }
    assert_eq!(
        filters::add(None, FILTER_NAME),
        Ok(Edit::Write(
            encode_multi_sz(&[widen(FILTER_NAME.as_bytes()).expect("widens")]).expect("encodes")
        ))
    );
    assert_eq!(filters::remove(None, FILTER_NAME), Ok(Edit::Unchanged));
}

fn check_install(system: Option<(u32, Vec<u8>)>, hdc: Option<(u32, Vec<u8>)>) {
    let classes = Classes {
        values: RefCell::new([system.clone(), hdc.clone()]),
    };
    let first = filters::install(&classes);
    for (class, result) in first {
        let before = if index(class) == 0 { &system } else { &hdc };
        let after = classes.values.borrow()[index(class)].clone();
        match result {
            Ok(Outcome::Written) => {
                let (kind, data) = after.expect("written");
                assert_eq!(kind, REG_MULTI_SZ);
                assert!(
                    decode_multi_sz(&data)
                        .expect("decodes")
                        .iter()
                        .any(|e| is_filter(e))
                );
            }
            Ok(Outcome::Unchanged) | Err(_) => assert_eq!(&after, before, "{class:?} changed"),
        }
    }
    let second = filters::install(&classes);
    for ((class, a), (_, b)) in first.iter().zip(second) {
        if a.is_ok() {
            assert_eq!(
                b,
                Ok(Outcome::Unchanged),
                "{class:?}: a second install wrote again"
            );
        }
    }
    for (class, result) in filters::uninstall(&classes) {
        if let Ok(_) = result
            && let Some((REG_MULTI_SZ, data)) = &classes.values.borrow()[index(class)]
            && let Ok(list) = decode_multi_sz(data)
        {
            assert!(
                !list.iter().any(|e| is_filter(e)),
                "{class:?} still filtered"
            );
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let kind = match r.below(8) {
        7 => r.u32(),
        k => KINDS[usize::from(k)],
    };
    // A marker byte (not 0, which a short input reads): around MAX_VALUE_SIZE, which is slow.
    let big = r.u8() == 0xB1;
    let mut bytes = r.long_bytes(1024).to_vec();
    if big {
        // Around MAX_VALUE_SIZE: repeat the data.
        let target = MAX_VALUE_SIZE - 8 + usize::from(r.below(16));
        if !bytes.is_empty() {
            while bytes.len() < target {
                bytes.extend_from_within(..bytes.len().min(target - bytes.len()));
            }
        }
    }
    check_text(kind, &bytes);
    check_filters(kind, &bytes);
    if big {
        // The size limits are what a big value is for; the class edits were checked above.
        return;
    }
    let other_kind = r.choose(&KINDS);
    let other = r.long_bytes(256).to_vec();
    let system = (!r.bool()).then(|| (kind, bytes.clone()));
    let hdc = (!r.bool()).then_some((other_kind, other));
    check_install(system, hdc);
}

/// Seeds: `UpperFilters` as Windows ships them and the unit tests' malformed lists.
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    fn wide(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }
    let mut out = Vec::new();
    for (name, kind, data) in [
        ("partmgr", 0u8, wide("PartMgr\0\0")),
        ("with-xenfilt", 0, wide("xenfilt\0PartMgr\0\0")),
        ("unterminated", 0, wide("PartMgr\0XENFILT")),
        ("after-empty", 0, wide("A\0\0XENFILT\0\0")),
        ("odd-byte", 0, [wide("PartMgr\0\0"), vec![0x41]].concat()),
        ("non-latin", 0, wide("fïlter\0\u{4e2d}\0\0")),
        ("sz", 2, wide("XENFILT\0")),
        ("dword", 5, vec![1, 0, 0, 0]),
        ("qword", 6, vec![1, 2, 3, 4, 5, 6, 7, 8]),
    ] {
        let mut w = Writer::new();
        w.u8(kind)
            .u8(1)
            .long_bytes(&data)
            .u8(2)
            .long_bytes(&wide("XENFILT\0\0"))
            .u8(0)
            .u8(0);
        out.push((name, w.finish()));
    }
    let mut big = Writer::new();
    big.u8(0)
        .u8(0xB1)
        .long_bytes(&wide("PartMgr\0"))
        .u8(9)
        .u8(0)
        .long_bytes(b"")
        .u8(0)
        .u8(0);
    out.push(("max-size", big.finish()));
    out
}
