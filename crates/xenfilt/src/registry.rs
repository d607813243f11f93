// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Every registry value xenfilt reads, decoded with a typed error for each malformation.
//!
//! All live in xenfilt's `Parameters` key (`HKLM\SYSTEM\CurrentControlSet\Services\XENFILT\
//! Parameters`), which the glue opens once and reads through [`Parameters`]:
//!
//! | value | type | read by |
//! |---|---|---|
//! | `<hardware or compatible ID>` | `REG_SZ` `"PCI"`/`"IDE"` | [`crate::driver::emulated_type`] (`AddDevice`) |
//! | `Precedence\<compatible ID>` | `REG_DWORD` | [`crate::driver::precedence`] |
//! | `ActiveDeviceID` | `REG_SZ` | [`crate::pdo`] (Active flag), [`crate::driver`] (unplug gate) |
//! | `ActiveInstanceID` | `REG_SZ` | [`crate::pdo`] (replacement instance ID) |
//! | `ActiveLocationInformation` | `REG_SZ` | [`crate::pdo`] (replacement location) |
//!
//! xenfilt writes none of them: xen.sys's `ConfigSetActive` writes the `Active*` values and its
//! `FiltersInstall` the class `UpperFilters` lists that make xenfilt load (both decided in the
//! `xen` crate); the INF writes the type mappings and precedences.
//!
//! Upstream (`src/common/registry.c`, `RegistryQuerySzValue`, `RegistryQueryDwordValue`):
//! a string is `REG_SZ` or the first string of a `REG_MULTI_SZ`, read with `wcslen`; a DWORD is
//! `REG_DWORD` of exactly four bytes; anything else fails with `STATUS_INVALID_PARAMETER` and
//! every caller treats any failure as "no value". Here the same types are accepted, the failure
//! says why ([`ValueError`]), and a string must also be well formed: its NUL inside the data (a
//! multi-string closed by its empty string), an even byte count, at most [`MAX_STRING_LEN`]
//! characters. Callers still treat an error as "no value", as upstream, and log it.

use alloc::vec::Vec;
use core::fmt;

use ntstatus::NtStatus;

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

/// `ActiveDeviceID`.
pub const ACTIVE_DEVICE_ID: &[u8] = b"ActiveDeviceID";
/// `ActiveInstanceID`.
pub const ACTIVE_INSTANCE_ID: &[u8] = b"ActiveInstanceID";
/// `ActiveLocationInformation`.
pub const ACTIVE_LOCATION_INFORMATION: &[u8] = b"ActiveLocationInformation";
/// The sub-key of `Parameters` holding the precedences.
pub const PRECEDENCE_KEY: &[u8] = b"Precedence";

/// The longest string value decoded, in characters (longer ones are malformed here).
pub const MAX_STRING_LEN: usize = 4096;

/// Why the registry could not give a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryError {
    /// The key or value does not exist (`STATUS_OBJECT_NAME_NOT_FOUND`).
    NotFound,
    /// Any other failure, with the NTSTATUS the registry returned.
    Os(NtStatus),
}

/// One value as the registry returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// Its `REG_*` type.
    pub kind: u32,
    /// Its data, exactly as stored.
    pub data: Vec<u8>,
}

impl Value {
    /// A value of type `kind` holding `data`.
    #[must_use]
    pub const fn new(kind: u32, data: Vec<u8>) -> Self {
        Self { kind, data }
    }
}

/// xenfilt's `Parameters` key, as the glue reads it (PASSIVE_LEVEL, `ZwQueryValueKey`).
pub trait Parameters {
    /// Value `name` of `Parameters`.
    ///
    /// # Errors
    /// [`RegistryError::NotFound`] for a missing value, [`RegistryError::Os`] otherwise.
    fn value(&self, name: &[u8]) -> Result<Value, RegistryError>;

    /// Value `name` of `Parameters\Precedence`.
    ///
    /// # Errors
    /// [`RegistryError::NotFound`] for a missing key or value, [`RegistryError::Os`] otherwise.
    fn precedence_value(&self, name: &[u8]) -> Result<Value, RegistryError>;
}

/// Why a value is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// The registry could not give it (missing included).
    Registry(RegistryError),
    /// Its type is not one the reader accepts (the `REG_*` found).
    WrongType(u32),
    /// A `REG_DWORD` whose data is not exactly four bytes (the length found).
    WrongSize(usize),
    /// String data of an odd number of bytes.
    OddLength,
    /// A `REG_SZ` without its NUL.
    MissingTerminator,
    /// A `REG_MULTI_SZ` that is not a valid multi-string: a string without its NUL, or no empty
    /// string closing the list.
    NotMultiString,
    /// A `REG_MULTI_SZ` holding no string at all.
    EmptyMultiString,
    /// Longer than [`MAX_STRING_LEN`] characters.
    TooLong,
    /// No memory for the copy.
    NoMemory,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registry(RegistryError::NotFound) => f.write_str("not found"),
            Self::Registry(RegistryError::Os(status)) => {
                write!(f, "registry failure {:08x}", status.cast_unsigned())
            }
            Self::WrongType(kind) => write!(f, "wrong type {kind}"),
            Self::WrongSize(len) => write!(f, "wrong size {len}"),
            Self::OddLength => f.write_str("odd byte count"),
            Self::MissingTerminator => f.write_str("missing terminator"),
            Self::NotMultiString => f.write_str("not a valid multi-string"),
            Self::EmptyMultiString => f.write_str("empty multi-string"),
            Self::TooLong => f.write_str("too long"),
            Self::NoMemory => f.write_str("no memory"),
        }
    }
}

impl From<RegistryError> for ValueError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(e)
    }
}

/// The UTF-16 units of string data.
fn units(data: &[u8]) -> Result<impl Iterator<Item = u16> + '_, ValueError> {
    if !data.len().is_multiple_of(2) {
        return Err(ValueError::OddLength);
    }
    Ok(data.chunks_exact(2).map(|p| {
        u16::from_le_bytes([
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        ])
    }))
}

/// Narrows `units` (which hold no NUL) to Latin-1, a unit above `0xFF` becoming `?`.
fn narrow(units: impl Iterator<Item = u16>, len: usize) -> Result<Vec<u8>, ValueError> {
    if len > MAX_STRING_LEN {
        return Err(ValueError::TooLong);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| ValueError::NoMemory)?;
    out.extend(units.take(len).map(|u| u8::try_from(u).unwrap_or(b'?')));
    Ok(out)
}

/// A string value as single-byte text: a `REG_SZ` up to its NUL, or the first string of a
/// valid `REG_MULTI_SZ` (upstream's `RegistryQuerySzValue` then `Ansi[0]`).
///
/// # Errors
/// [`ValueError`]: another type, odd length, a missing terminator, a malformed or empty
/// multi-string, too long.
pub fn decode_string(value: &Value) -> Result<Vec<u8>, ValueError> {
    let all: Vec<u16> = {
        let mut v = Vec::new();
        v.try_reserve_exact(value.data.len() / 2)
            .map_err(|_| ValueError::NoMemory)?;
        v.extend(units(&value.data)?);
        v
    };
    match value.kind {
        REG_SZ => {
            let len = all
                .iter()
                .position(|&u| u == 0)
                .ok_or(ValueError::MissingTerminator)?;
            narrow(all.iter().copied(), len)
        }
        REG_MULTI_SZ => {
            // Validate the whole list: strings each with a NUL, closed by an empty string.
            let mut rest = all.as_slice();
            let mut first: Option<&[u16]> = None;
            loop {
                let len = rest
                    .iter()
                    .position(|&u| u == 0)
                    .ok_or(ValueError::NotMultiString)?;
                if len == 0 {
                    break;
                }
                let (s, tail) = rest.split_at(len);
                first.get_or_insert(s);
                rest = tail.get(1..).unwrap_or_default();
            }
            let first = first.ok_or(ValueError::EmptyMultiString)?;
            narrow(first.iter().copied(), first.len())
        }
        kind => Err(ValueError::WrongType(kind)),
    }
}

/// A `REG_DWORD` of exactly four bytes (upstream's `RegistryQueryDwordValue`).
///
/// # Errors
/// [`ValueError::WrongType`], [`ValueError::WrongSize`].
pub fn decode_dword(value: &Value) -> Result<u32, ValueError> {
    if value.kind != REG_DWORD {
        return Err(ValueError::WrongType(value.kind));
    }
    <[u8; 4]>::try_from(value.data.as_slice())
        .map(u32::from_le_bytes)
        .map_err(|_| ValueError::WrongSize(value.data.len()))
}

/// Reads and decodes string value `name` of `Parameters`.
///
/// # Errors
/// [`ValueError`] (a missing value is `Registry(NotFound)`).
pub fn read_string<P: Parameters + ?Sized>(params: &P, name: &[u8]) -> Result<Vec<u8>, ValueError> {
    decode_string(&params.value(name)?)
}

/// Values read ahead of a decision that runs where the registry cannot be read, answered
/// from that copy.
///
/// The bus filter decides `BusRelations` under the driver's spin lock (`DISPATCH_LEVEL`), where
/// `ZwQueryValueKey` may not be called; so the glue reads first, at `PASSIVE_LEVEL`, every value
/// [`crate::driver::Driver::bus_relations_parameters`] names, and the decision reads this
/// snapshot. A value that was not read answers [`RegistryError::NotFound`]. Names compare
/// ignoring ASCII case, as the registry's do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    values: Vec<(Vec<u8>, Result<Value, RegistryError>)>,
    precedence: Vec<(Vec<u8>, Result<Value, RegistryError>)>,
}

/// The entry of `name` in `entries`.
fn lookup(
    entries: &[(Vec<u8>, Result<Value, RegistryError>)],
    name: &[u8],
) -> Result<Value, RegistryError> {
    entries
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(Err(RegistryError::NotFound), |(_, v)| v.clone())
}

/// Reads each of `names` (once) with `read` into `entries`.
fn read_into<'n>(
    entries: &mut Vec<(Vec<u8>, Result<Value, RegistryError>)>,
    names: impl IntoIterator<Item = &'n [u8]>,
    read: impl Fn(&[u8]) -> Result<Value, RegistryError>,
) {
    for name in names {
        if entries.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        entries.push((name.to_vec(), read(name)));
    }
}

impl Snapshot {
    /// Reads `values` of `Parameters` and `precedence` of `Parameters\Precedence` now.
    pub fn read<'n, P: Parameters + ?Sized>(
        params: &P,
        values: impl IntoIterator<Item = &'n [u8]>,
        precedence: impl IntoIterator<Item = &'n [u8]>,
    ) -> Self {
        let mut snapshot = Self::default();
        read_into(&mut snapshot.values, values, |n| params.value(n));
        read_into(&mut snapshot.precedence, precedence, |n| {
            params.precedence_value(n)
        });
        snapshot
    }
}

impl Parameters for Snapshot {
    fn value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        lookup(&self.values, name)
    }

    fn precedence_value(&self, name: &[u8]) -> Result<Value, RegistryError> {
        lookup(&self.precedence, name)
    }
}

/// Encodes text as `REG_SZ` data (for tests and tools that prepare a `Parameters` key).
#[must_use]
pub fn encode_sz(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len().saturating_add(1).saturating_mul(2));
    for &b in text {
        out.extend_from_slice(&u16::from(b).to_le_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// Encodes strings as `REG_MULTI_SZ` data (for tests and tools).
#[must_use]
pub fn encode_multi_sz(strings: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.extend(encode_sz(s));
    }
    out.extend_from_slice(&[0, 0]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sz(s: &[u8]) -> Value {
        Value::new(REG_SZ, encode_sz(s))
    }

    #[test]
    fn reg_sz_decodes_up_to_its_nul() {
        let mut data = encode_sz(b"PCI");
        data.extend(encode_sz(b"junk"));
        assert_eq!(decode_string(&Value::new(REG_SZ, data)).unwrap(), b"PCI");
    }

    #[test]
    fn reg_sz_without_terminator_is_refused() {
        let v = Value::new(REG_SZ, vec![b'P', 0, b'C', 0, b'I', 0]);
        assert_eq!(decode_string(&v), Err(ValueError::MissingTerminator));
        assert_eq!(
            decode_string(&Value::new(REG_SZ, vec![])),
            Err(ValueError::MissingTerminator)
        );
    }

    #[test]
    fn string_data_of_odd_length_is_refused() {
        let v = Value::new(REG_SZ, vec![b'P', 0, 0, 0, 0]);
        assert_eq!(decode_string(&v), Err(ValueError::OddLength));
    }

    #[test]
    fn multi_sz_gives_its_first_string() {
        let v = Value::new(REG_MULTI_SZ, encode_multi_sz(&[b"IDE", b"PCI"]));
        assert_eq!(decode_string(&v).unwrap(), b"IDE");
    }

    #[test]
    fn multi_sz_that_is_not_closed_is_not_a_multi_string() {
        // One terminated string but no closing empty string.
        let v = Value::new(REG_MULTI_SZ, encode_sz(b"IDE"));
        assert_eq!(decode_string(&v), Err(ValueError::NotMultiString));
        // A string without its NUL at all.
        let v = Value::new(REG_MULTI_SZ, vec![b'I', 0, b'D', 0]);
        assert_eq!(decode_string(&v), Err(ValueError::NotMultiString));
    }

    #[test]
    fn multi_sz_without_strings_is_empty() {
        let v = Value::new(REG_MULTI_SZ, vec![0, 0]);
        assert_eq!(decode_string(&v), Err(ValueError::EmptyMultiString));
    }

    #[test]
    fn other_string_types_are_the_wrong_type() {
        for kind in [REG_EXPAND_SZ, REG_BINARY, REG_DWORD] {
            let v = Value::new(kind, encode_sz(b"PCI"));
            assert_eq!(decode_string(&v), Err(ValueError::WrongType(kind)));
        }
    }

    #[test]
    fn overlong_string_is_refused() {
        let long = vec![b'A'; MAX_STRING_LEN + 1];
        assert_eq!(decode_string(&sz(&long)), Err(ValueError::TooLong));
        assert_eq!(
            decode_string(&sz(&long[..MAX_STRING_LEN])).unwrap().len(),
            MAX_STRING_LEN
        );
    }

    #[test]
    fn wide_characters_narrow_to_question_marks() {
        let v = Value::new(REG_SZ, vec![0x3A, 0x26, b'x', 0, 0, 0]);
        assert_eq!(decode_string(&v).unwrap(), b"?x");
    }

    /// A key with one value and one precedence, counting reads.
    struct Counted {
        reads: core::cell::Cell<usize>,
    }

    impl Parameters for Counted {
        fn value(&self, name: &[u8]) -> Result<Value, RegistryError> {
            self.reads.set(self.reads.get() + 1);
            if name.eq_ignore_ascii_case(ACTIVE_DEVICE_ID) {
                Ok(sz(b"PCI\\VEN_5853&DEV_0002"))
            } else if name == b"Broken" {
                Err(RegistryError::Os(ntstatus::STATUS_UNSUCCESSFUL))
            } else {
                Err(RegistryError::NotFound)
            }
        }

        fn precedence_value(&self, name: &[u8]) -> Result<Value, RegistryError> {
            self.reads.set(self.reads.get() + 1);
            if name == b"PCI\\VEN_5853&DEV_0002" {
                Ok(Value::new(REG_DWORD, vec![2, 0, 0, 0]))
            } else {
                Err(RegistryError::NotFound)
            }
        }
    }

    #[test]
    fn snapshot_answers_what_was_read_and_nothing_else() {
        let key = Counted {
            reads: core::cell::Cell::new(0),
        };
        let snapshot = Snapshot::read(
            &key,
            [ACTIVE_DEVICE_ID, b"Broken".as_slice(), b"activedeviceid"],
            [b"PCI\\VEN_5853&DEV_0002".as_slice(), b"PCI\\CC_FF80"],
        );
        assert_eq!(key.reads.get(), 4, "each name read once, ignoring case");
        assert_eq!(
            snapshot.value(b"ACTIVEDEVICEID"),
            key.value(ACTIVE_DEVICE_ID)
        );
        assert_eq!(
            snapshot.value(b"Broken"),
            Err(RegistryError::Os(ntstatus::STATUS_UNSUCCESSFUL))
        );
        assert_eq!(
            snapshot.precedence_value(b"pci\\ven_5853&dev_0002"),
            Ok(Value::new(REG_DWORD, vec![2, 0, 0, 0]))
        );
        assert_eq!(
            snapshot.precedence_value(b"PCI\\CC_FF80"),
            Err(RegistryError::NotFound)
        );
        // Never read: not found, although the key has it.
        assert_eq!(
            snapshot.value(ACTIVE_INSTANCE_ID),
            Err(RegistryError::NotFound)
        );
        assert_eq!(
            key.reads.get(),
            5,
            "only the direct read above touched the key"
        );
    }

    #[test]
    fn dword_must_be_reg_dword_of_four_bytes() {
        assert_eq!(
            decode_dword(&Value::new(REG_DWORD, vec![2, 0, 0, 0])),
            Ok(2)
        );
        assert_eq!(
            decode_dword(&Value::new(REG_DWORD, vec![2, 0, 0, 0, 0, 0, 0, 0])),
            Err(ValueError::WrongSize(8))
        );
        assert_eq!(
            decode_dword(&Value::new(REG_BINARY, vec![2, 0, 0, 0])),
            Err(ValueError::WrongType(REG_BINARY))
        );
    }
}
