// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Registry values as the portable services see them: a `REG_*` type and the raw bytes the
//! kernel returned, decoded here with every malformation answered by an error instead of a read
//! past the end.
//!
//! Upstream (`src/common/registry.c`) converts values to ANSI strings with
//! `RtlUnicodeStringToAnsiString` and relies on the data being NUL-terminated (`wcslen` on the
//! raw buffer). Here:
//!
//! * text stays UTF-16 where it is only compared and written back (class filters), so a name
//!   with characters outside the ANSI code page survives an edit unchanged;
//! * text handed to a C caller as `char` is narrowed as Latin-1 (a unit above `0xFF` becomes
//!   `?`) and widened the same way, so whatever xen.sys writes it reads back byte for byte
//!   (upstream uses the system code page both ways, which agrees for ASCII);
//! * a missing terminator ends the text at the end of the data, an odd trailing byte is
//!   ignored, and a value larger than [`MAX_VALUE_SIZE`] is refused.

use alloc::vec::Vec;

/// `REG_SZ`.
pub const REG_SZ: u32 = 1;
/// `REG_EXPAND_SZ`.
pub const REG_EXPAND_SZ: u32 = 2;
/// `REG_BINARY`.
pub const REG_BINARY: u32 = 3;
/// `REG_DWORD`.
pub const REG_DWORD: u32 = 4;
/// `REG_MULTI_SZ`.
pub const REG_MULTI_SZ: u32 = 7;
/// `REG_QWORD`.
pub const REG_QWORD: u32 = 11;

/// The largest value the portable services decode or encode (64 KiB). Everything xen.sys reads
/// is far smaller; a larger value is treated as malformed rather than copied.
pub const MAX_VALUE_SIZE: usize = 64 * 1024;

/// Why a registry access failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryError {
    /// The key or value does not exist (`STATUS_OBJECT_NAME_NOT_FOUND`).
    NotFound,
    /// The value exists but has the wrong type or size (`STATUS_INVALID_PARAMETER`).
    WrongType,
    /// Any other failure, with the NTSTATUS the registry returned.
    Os(i32),
}

/// One value as the registry returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    /// Its `REG_*` type.
    pub kind: u32,
    /// Its data, exactly as stored.
    pub data: &'a [u8],
}

impl<'a> Value<'a> {
    /// A value of type `kind` holding `data`.
    #[must_use]
    pub const fn new(kind: u32, data: &'a [u8]) -> Self {
        Self { kind, data }
    }

    /// The value as a `REG_DWORD` of exactly four bytes (upstream's `RegistryQueryDwordValue`).
    ///
    /// # Errors
    /// [`RegistryError::WrongType`] for any other type or size.
    pub fn dword(self) -> Result<u32, RegistryError> {
        match (self.kind, <[u8; 4]>::try_from(self.data)) {
            (REG_DWORD, Ok(bytes)) => Ok(u32::from_le_bytes(bytes)),
            _ => Err(RegistryError::WrongType),
        }
    }

    /// The value as a `REG_QWORD` of exactly eight bytes (`RegistryQueryQwordValue`).
    ///
    /// # Errors
    /// [`RegistryError::WrongType`] for any other type or size.
    pub fn qword(self) -> Result<u64, RegistryError> {
        match (self.kind, <[u8; 8]>::try_from(self.data)) {
            (REG_QWORD, Ok(bytes)) => Ok(u64::from_le_bytes(bytes)),
            _ => Err(RegistryError::WrongType),
        }
    }
}

/// Why text could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// Larger than [`MAX_VALUE_SIZE`].
    TooLarge,
    /// The copy could not be allocated.
    NoMemory,
}

/// The UTF-16 code units of registry data (little-endian; an odd trailing byte is ignored).
pub fn units(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2).map(|pair| {
        u16::from_le_bytes([
            pair.first().copied().unwrap_or(0),
            pair.get(1).copied().unwrap_or(0),
        ])
    })
}

/// A growable buffer whose every allocation is fallible.
fn reserve<T>(len: usize) -> Result<Vec<T>, TextError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| TextError::NoMemory)?;
    Ok(v)
}

/// Decodes a `REG_MULTI_SZ` into its strings, as Windows reads one: the list ends at the first
/// empty string (the double NUL) or at the end of the data, and a last string without its
/// terminator is kept.
///
/// Strings after an empty one are not part of the list for Windows' PnP manager either, so a
/// value rewritten from this list drops them rather than making them visible.
///
/// # Errors
/// [`TextError::TooLarge`] for data above [`MAX_VALUE_SIZE`], [`TextError::NoMemory`].
pub fn decode_multi_sz(data: &[u8]) -> Result<Vec<Vec<u16>>, TextError> {
    if data.len() > MAX_VALUE_SIZE {
        return Err(TextError::TooLarge);
    }
    let mut strings = Vec::new();
    let mut current: Vec<u16> = Vec::new();
    for unit in units(data) {
        if unit == 0 {
            if current.is_empty() {
                return Ok(strings);
            }
            strings.try_reserve(1).map_err(|_| TextError::NoMemory)?;
            strings.push(core::mem::take(&mut current));
        } else {
            current.try_reserve(1).map_err(|_| TextError::NoMemory)?;
            current.push(unit);
        }
    }
    if !current.is_empty() {
        strings.try_reserve(1).map_err(|_| TextError::NoMemory)?;
        strings.push(current);
    }
    Ok(strings)
}

/// Encodes strings as `REG_MULTI_SZ` data: each string and its NUL, then the final NUL.
///
/// An empty list is one NUL (two bytes), as upstream writes it. Empty strings are skipped: they
/// would end the list early.
///
/// # Errors
/// [`TextError::TooLarge`] when the result would exceed [`MAX_VALUE_SIZE`],
/// [`TextError::NoMemory`].
pub fn encode_multi_sz<S: AsRef<[u16]>>(strings: &[S]) -> Result<Vec<u8>, TextError> {
    let mut units_needed: usize = 1;
    for s in strings {
        let len = s.as_ref().len();
        if len > 0 {
            units_needed = units_needed
                .checked_add(len)
                .and_then(|n| n.checked_add(1))
                .ok_or(TextError::TooLarge)?;
        }
    }
    let bytes = units_needed.checked_mul(2).ok_or(TextError::TooLarge)?;
    if bytes > MAX_VALUE_SIZE {
        return Err(TextError::TooLarge);
    }
    let mut out = reserve(bytes)?;
    for s in strings.iter().map(AsRef::as_ref).filter(|s| !s.is_empty()) {
        for unit in s {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out.extend_from_slice(&[0, 0]);
    }
    out.extend_from_slice(&[0, 0]);
    Ok(out)
}

/// Decodes `REG_SZ` data as single-byte text: up to the first NUL or the end of the data,
/// each unit above `0xFF` narrowed to `?`.
///
/// # Errors
/// [`TextError::TooLarge`] for data above [`MAX_VALUE_SIZE`], [`TextError::NoMemory`].
pub fn decode_sz(data: &[u8]) -> Result<Vec<u8>, TextError> {
    if data.len() > MAX_VALUE_SIZE {
        return Err(TextError::TooLarge);
    }
    let mut out = reserve(data.len() / 2)?;
    out.extend(
        units(data)
            .take_while(|&u| u != 0)
            .map(|u| u8::try_from(u).unwrap_or(b'?')),
    );
    Ok(out)
}

/// Encodes single-byte text as `REG_SZ` data (each byte widened as Latin-1, then the NUL).
/// The text ends at its first NUL, as a C string would.
///
/// # Errors
/// [`TextError::TooLarge`] when the result would exceed [`MAX_VALUE_SIZE`],
/// [`TextError::NoMemory`].
pub fn encode_sz(text: &[u8]) -> Result<Vec<u8>, TextError> {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    let bytes = text
        .len()
        .checked_add(1)
        .and_then(|n| n.checked_mul(2))
        .filter(|&n| n <= MAX_VALUE_SIZE)
        .ok_or(TextError::TooLarge)?;
    let mut out = reserve(bytes)?;
    for &b in text {
        out.extend_from_slice(&u16::from(b).to_le_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    Ok(out)
}

/// Widens single-byte text to UTF-16 (Latin-1).
///
/// # Errors
/// [`TextError::NoMemory`].
pub fn widen(text: &[u8]) -> Result<Vec<u16>, TextError> {
    let mut out = reserve(text.len())?;
    out.extend(text.iter().map(|&b| u16::from(b)));
    Ok(out)
}

/// Whether UTF-16 `a` equals ASCII-or-Latin-1 `b` ignoring ASCII case, as `_stricmp` compares in
/// the kernel's "C" locale.
#[must_use]
pub fn eq_ignore_ascii_case(a: &[u16], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&x, &y)| u8::try_from(x).is_ok_and(|x| x.eq_ignore_ascii_case(&y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn wide(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn strings(v: &[Vec<u16>]) -> Vec<std::string::String> {
        v.iter()
            .map(|s| std::string::String::from_utf16_lossy(s))
            .collect()
    }

    #[test]
    fn dword_and_qword_need_exact_type_and_size() {
        assert_eq!(Value::new(REG_DWORD, &[1, 0, 0, 0]).dword(), Ok(1));
        assert_eq!(
            Value::new(REG_DWORD, &[1, 0, 0]).dword(),
            Err(RegistryError::WrongType)
        );
        assert_eq!(
            Value::new(REG_DWORD, &[1; 8]).dword(),
            Err(RegistryError::WrongType)
        );
        assert_eq!(
            Value::new(REG_QWORD, &[1, 0, 0, 0]).dword(),
            Err(RegistryError::WrongType)
        );
        assert_eq!(
            Value::new(REG_QWORD, &[0, 0, 0, 0, 0, 0, 0, 1]).qword(),
            Ok(1 << 56)
        );
        assert_eq!(
            Value::new(REG_BINARY, &[0; 8]).qword(),
            Err(RegistryError::WrongType)
        );
    }

    #[test]
    fn multi_sz_ends_at_the_first_empty_string() {
        let data = wide("PartMgr\0XENFILT\0\0");
        assert_eq!(
            strings(&decode_multi_sz(&data).unwrap()),
            ["PartMgr", "XENFILT"]
        );
        let data = wide("A\0\0B\0\0");
        assert_eq!(strings(&decode_multi_sz(&data).unwrap()), ["A"]);
        assert!(decode_multi_sz(&wide("\0A\0\0")).unwrap().is_empty());
        assert!(decode_multi_sz(&[]).unwrap().is_empty());
    }

    #[test]
    fn multi_sz_without_terminators_keeps_the_last_string() {
        assert_eq!(
            strings(&decode_multi_sz(&wide("A\0BC")).unwrap()),
            ["A", "BC"]
        );
        // An odd trailing byte is ignored.
        let mut data = wide("A\0B");
        data.push(0x41);
        assert_eq!(strings(&decode_multi_sz(&data).unwrap()), ["A", "B"]);
    }

    #[test]
    fn oversized_values_are_refused() {
        let data = vec![0x41u8; MAX_VALUE_SIZE + 2];
        assert_eq!(decode_multi_sz(&data), Err(TextError::TooLarge));
        assert_eq!(decode_sz(&data), Err(TextError::TooLarge));
        let long = vec![0x41u8; MAX_VALUE_SIZE / 2];
        assert_eq!(encode_sz(&long), Err(TextError::TooLarge));
        let units = vec![vec![0x41u16; MAX_VALUE_SIZE / 2]];
        assert_eq!(encode_multi_sz(&units), Err(TextError::TooLarge));
    }

    #[test]
    fn multi_sz_round_trips_and_skips_empty_strings() {
        let list = [wide_units("A"), Vec::new(), wide_units("Bé")];
        let data = encode_multi_sz(&list).unwrap();
        assert_eq!(data, wide("A\0Bé\0\0"));
        assert_eq!(strings(&decode_multi_sz(&data).unwrap()), ["A", "Bé"]);
        assert_eq!(encode_multi_sz::<Vec<u16>>(&[]).unwrap(), [0, 0]);
    }

    fn wide_units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn sz_narrows_and_widens_as_latin1() {
        assert_eq!(decode_sz(&wide("Gerät\0junk")).unwrap(), b"Ger\xe4t");
        assert_eq!(decode_sz(&wide("€")).unwrap(), b"?");
        assert_eq!(decode_sz(&wide("ab")).unwrap(), b"ab");
        assert_eq!(encode_sz(b"Ger\xe4t").unwrap(), wide("Gerät\0"));
        assert_eq!(encode_sz(b"a\0b").unwrap(), wide("a\0"));
        assert_eq!(
            decode_sz(&encode_sz(&[0xFF, 0x80, 1]).unwrap()).unwrap(),
            [0xFF, 0x80, 1]
        );
    }

    #[test]
    fn comparison_ignores_ascii_case_only() {
        assert!(eq_ignore_ascii_case(&wide_units("xenFilt"), b"XENFILT"));
        assert!(!eq_ignore_ascii_case(&wide_units("XENFILT2"), b"XENFILT"));
        assert!(!eq_ignore_ascii_case(&wide_units("É"), b"\xe9"));
        assert!(eq_ignore_ascii_case(&wide_units("é"), b"\xe9"));
        assert!(!eq_ignore_ascii_case(&[0x158], b"X"));
    }
}
