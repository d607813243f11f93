// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Device identification strings as a bus driver returns them to `IRP_MN_QUERY_ID` and
//! `IRP_MN_QUERY_DEVICE_TEXT`: validated here before any decision reads them.
//!
//! Upstream (`src/xenfilt/driver.c`, `DriverQueryId` and `DriverQueryDeviceText`) copies the
//! wide buffer with `wcslen` and narrows it with `"%ws"`, trusting the bus driver for a
//! terminator and a sane length. Here the glue hands over the UTF-16 units it read (at most
//! [`MAX_ID_LIST_LEN`] + 1 of them, see [`crate`] docs) and every shape problem is a typed
//! [`IdError`]:
//!
//! * an ID ([`Id`]) is printable ASCII (`0x20..=0x7E`), at most [`MAX_ID_LEN`] characters (the
//!   limit Windows' `MAX_DEVICE_ID_LEN` of 200 units with the terminator sets), and ends with
//!   its NUL inside the data;
//! * an ID list ([`IdList`], `BusQueryHardwareIDs`/`BusQueryCompatibleIDs`) is a valid
//!   multi-string: every ID terminated and the list closed by an empty string, at most
//!   [`MAX_ID_LIST_LEN`] units in all (`REGSTR_VAL_MAX_HCID_LEN`);
//! * device text ([`Text`], `DeviceTextLocationInformation`) is free text, narrowed as
//!   Latin-1 (a unit above `0xFF` becomes `?`), at most [`MAX_TEXT_LEN`] units.
//!
//! Comparisons between IDs ignore ASCII case only, as the kernel's `_stricmp` does.

use alloc::vec::Vec;
use core::fmt;

/// The longest ID, without its terminator (`MAX_DEVICE_ID_LEN` is 200 with it).
pub const MAX_ID_LEN: usize = 199;
/// The longest hardware or compatible ID list, in UTF-16 units with every terminator
/// (`REGSTR_VAL_MAX_HCID_LEN`).
pub const MAX_ID_LIST_LEN: usize = 1024;
/// The longest device text, in UTF-16 units without the terminator.
pub const MAX_TEXT_LEN: usize = 1024;

/// Why a string returned by a bus driver was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// The data ends before the string's NUL (or, for a list, before the empty string that
    /// closes it).
    MissingTerminator,
    /// Longer than the limit for its kind.
    TooLong,
    /// A character outside printable ASCII, at this position (in units from the start of the
    /// data).
    InvalidCharacter {
        /// Where, in UTF-16 units from the start of the data.
        position: usize,
        /// The unit found there.
        unit: u16,
    },
    /// No memory for the copy.
    NoMemory,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingTerminator => f.write_str("missing terminator"),
            Self::TooLong => f.write_str("too long"),
            Self::InvalidCharacter { position, unit } => {
                write!(f, "invalid character {unit:04x} at {position}")
            }
            Self::NoMemory => f.write_str("no memory"),
        }
    }
}

/// A validated ID: printable ASCII, at most [`MAX_ID_LEN`] bytes, no NUL.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Id(Vec<u8>);

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({:?})", self.as_str())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `unit` may appear in an ID.
const fn id_unit(unit: u16) -> bool {
    matches!(unit, 0x20..=0x7E)
}

fn try_vec<T>(len: usize) -> Result<Vec<T>, IdError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| IdError::NoMemory)?;
    Ok(v)
}

impl Id {
    /// An ID from single-byte text (a registry value already narrowed, a C caller's string).
    ///
    /// # Errors
    /// [`IdError::TooLong`] beyond [`MAX_ID_LEN`] bytes, [`IdError::InvalidCharacter`] for a
    /// byte outside printable ASCII, [`IdError::NoMemory`].
    pub fn from_bytes(text: &[u8]) -> Result<Self, IdError> {
        if text.len() > MAX_ID_LEN {
            return Err(IdError::TooLong);
        }
        if let Some((position, &b)) = text
            .iter()
            .enumerate()
            .find(|&(_, &b)| !id_unit(u16::from(b)))
        {
            return Err(IdError::InvalidCharacter {
                position,
                unit: u16::from(b),
            });
        }
        let mut v = try_vec(text.len())?;
        v.extend_from_slice(text);
        Ok(Self(v))
    }

    /// The ID the UTF-16 `units` start with: everything before the first NUL, which must be
    /// present (`BusQueryDeviceID`, `BusQueryInstanceID`). Units after the NUL are ignored.
    ///
    /// # Errors
    /// [`IdError`]: no NUL, too long, a unit outside printable ASCII.
    pub fn from_utf16(units: &[u16]) -> Result<Self, IdError> {
        let (id, _) = Self::take(units, 0)?;
        Ok(id)
    }

    /// Reads one ID from `units`, which starts `offset` units into the caller's data (for
    /// error positions); returns it and the number of units consumed with its NUL.
    fn take(units: &[u16], offset: usize) -> Result<(Self, usize), IdError> {
        let Some(len) = units.iter().position(|&u| u == 0) else {
            // Say "too long" when the string could not have fitted anyway.
            return Err(if units.len() > MAX_ID_LEN {
                IdError::TooLong
            } else {
                IdError::MissingTerminator
            });
        };
        if len > MAX_ID_LEN {
            return Err(IdError::TooLong);
        }
        let text = units.get(..len).unwrap_or_default();
        let mut v = try_vec(len)?;
        for (i, &unit) in text.iter().enumerate() {
            match u8::try_from(unit) {
                Ok(b) if id_unit(unit) => v.push(b),
                _ => {
                    return Err(IdError::InvalidCharacter {
                        position: offset.saturating_add(i),
                        unit,
                    });
                }
            }
        }
        Ok((Self(v), len.saturating_add(1)))
    }

    /// The ID's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The ID as text (always ASCII).
    #[must_use]
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Its length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is the empty string.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether it equals `other`, ignoring ASCII case (`_stricmp(...) == 0`).
    #[must_use]
    pub fn matches(&self, other: &[u8]) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }

    /// The ID as UTF-16 with its terminator, as `IRP_MN_QUERY_ID` returns it.
    ///
    /// # Errors
    /// [`IdError::NoMemory`].
    pub fn to_utf16z(&self) -> Result<Vec<u16>, IdError> {
        let mut v = try_vec(self.0.len().saturating_add(1))?;
        v.extend(self.0.iter().map(|&b| u16::from(b)));
        v.push(0);
        Ok(v)
    }
}

/// A validated hardware or compatible ID list, in the bus driver's order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct IdList(Vec<Id>);

impl IdList {
    /// Parses a `REG_MULTI_SZ`-shaped list: IDs each ending with a NUL, the list ending with
    /// an empty string. A list that is only its closing NUL is valid and empty. Units after
    /// the closing NUL are ignored.
    ///
    /// # Errors
    /// [`IdError::MissingTerminator`] when the data ends inside an ID or before the closing
    /// empty string, [`IdError::TooLong`] for a list of more than [`MAX_ID_LIST_LEN`] units or
    /// an ID of more than [`MAX_ID_LEN`], [`IdError::InvalidCharacter`], [`IdError::NoMemory`].
    pub fn from_utf16(units: &[u16]) -> Result<Self, IdError> {
        let mut ids = Vec::new();
        let mut offset = 0usize;
        loop {
            let rest = units.get(offset..).unwrap_or_default();
            match rest.first() {
                None => {
                    return Err(if offset >= MAX_ID_LIST_LEN {
                        IdError::TooLong
                    } else {
                        IdError::MissingTerminator
                    });
                }
                Some(0) => {
                    // The closing empty string: its NUL is the list's last unit.
                    return if offset >= MAX_ID_LIST_LEN {
                        Err(IdError::TooLong)
                    } else {
                        Ok(Self(ids))
                    };
                }
                Some(_) => {
                    let (id, used) = Id::take(rest, offset)?;
                    ids.try_reserve(1).map_err(|_| IdError::NoMemory)?;
                    ids.push(id);
                    offset = offset.saturating_add(used);
                }
            }
        }
    }

    /// A list of already validated IDs.
    #[must_use]
    pub const fn from_ids(ids: Vec<Id>) -> Self {
        Self(ids)
    }

    /// The IDs, in order.
    #[must_use]
    pub fn ids(&self) -> &[Id] {
        &self.0
    }

    /// Whether any ID equals `id`, ignoring ASCII case.
    #[must_use]
    pub fn contains(&self, id: &[u8]) -> bool {
        self.0.iter().any(|i| i.matches(id))
    }
}

/// Device text (`DeviceTextLocationInformation`): free text, Latin-1.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Text(Vec<u8>);

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Text(\"")?;
        for &b in &self.0 {
            write!(f, "{}", char::from(b).escape_debug())?;
        }
        f.write_str("\")")
    }
}

impl Text {
    /// The text the UTF-16 `units` start with, up to its NUL (which must be present); units
    /// above `0xFF` become `?`.
    ///
    /// # Errors
    /// [`IdError::MissingTerminator`], [`IdError::TooLong`] beyond [`MAX_TEXT_LEN`] units,
    /// [`IdError::NoMemory`].
    pub fn from_utf16(units: &[u16]) -> Result<Self, IdError> {
        let Some(len) = units.iter().position(|&u| u == 0) else {
            return Err(if units.len() > MAX_TEXT_LEN {
                IdError::TooLong
            } else {
                IdError::MissingTerminator
            });
        };
        if len > MAX_TEXT_LEN {
            return Err(IdError::TooLong);
        }
        let mut v = try_vec(len)?;
        v.extend(
            units
                .iter()
                .take(len)
                .map(|&u| u8::try_from(u).unwrap_or(b'?')),
        );
        Ok(Self(v))
    }

    /// Text from single-byte data (a registry value already narrowed), at most
    /// [`MAX_TEXT_LEN`] bytes, up to its first NUL if any.
    ///
    /// # Errors
    /// [`IdError::TooLong`], [`IdError::NoMemory`].
    pub fn from_bytes(text: &[u8]) -> Result<Self, IdError> {
        let text = text.split(|&b| b == 0).next().unwrap_or_default();
        if text.len() > MAX_TEXT_LEN {
            return Err(IdError::TooLong);
        }
        let mut v = try_vec(text.len())?;
        v.extend_from_slice(text);
        Ok(Self(v))
    }

    /// The text's bytes (Latin-1).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether it is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text widened to UTF-16 with its terminator, as `IRP_MN_QUERY_DEVICE_TEXT` returns
    /// it.
    ///
    /// # Errors
    /// [`IdError::NoMemory`].
    pub fn to_utf16z(&self) -> Result<Vec<u16>, IdError> {
        let mut v = try_vec(self.0.len().saturating_add(1))?;
        v.extend(self.0.iter().map(|&b| u16::from(b)));
        v.push(0);
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn w(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn device_id_is_the_text_before_the_nul() {
        let id = Id::from_utf16(&w("PCI\\VEN_5853&DEV_0002\0junk")).unwrap();
        assert_eq!(id.as_bytes(), b"PCI\\VEN_5853&DEV_0002");
    }

    #[test]
    fn device_id_without_terminator_is_refused() {
        assert_eq!(
            Id::from_utf16(&w("PCI\\VEN_5853")),
            Err(IdError::MissingTerminator)
        );
        assert_eq!(Id::from_utf16(&[]), Err(IdError::MissingTerminator));
    }

    #[test]
    fn empty_device_id_is_valid_and_empty() {
        assert!(Id::from_utf16(&[0]).unwrap().is_empty());
    }

    #[test]
    fn device_id_of_199_characters_fits_and_200_is_too_long() {
        let mut ok = vec![u16::from(b'A'); MAX_ID_LEN];
        ok.push(0);
        assert_eq!(Id::from_utf16(&ok).unwrap().len(), MAX_ID_LEN);
        let mut long = vec![u16::from(b'A'); MAX_ID_LEN + 1];
        long.push(0);
        assert_eq!(Id::from_utf16(&long), Err(IdError::TooLong));
        // Unterminated and already over the limit: reported as too long.
        assert_eq!(
            Id::from_utf16(&vec![u16::from(b'A'); 4096]),
            Err(IdError::TooLong)
        );
    }

    #[test]
    fn control_and_non_ascii_units_are_refused_with_their_position() {
        assert_eq!(
            Id::from_utf16(&w("PCI\\\u{e9}\0")),
            Err(IdError::InvalidCharacter {
                position: 4,
                unit: 0xE9
            })
        );
        assert_eq!(
            Id::from_utf16(&w("A\tB\0")),
            Err(IdError::InvalidCharacter {
                position: 1,
                unit: 9
            })
        );
        assert_eq!(
            Id::from_bytes(b"A\x7fB"),
            Err(IdError::InvalidCharacter {
                position: 1,
                unit: 0x7F
            })
        );
    }

    #[test]
    fn id_list_parses_every_id_in_order() {
        let list = IdList::from_utf16(&w("PCI\\VEN_8086&DEV_7010\0PCI\\CC_0101\0\0")).unwrap();
        assert_eq!(list.ids().len(), 2);
        assert_eq!(list.ids()[1].as_bytes(), b"PCI\\CC_0101");
        assert!(list.contains(b"pci\\cc_0101"));
    }

    #[test]
    fn id_list_of_only_the_closing_nul_is_empty() {
        assert_eq!(IdList::from_utf16(&[0]).unwrap().ids().len(), 0);
    }

    #[test]
    fn id_list_without_closing_empty_string_is_refused() {
        assert_eq!(
            IdList::from_utf16(&w("A\0B\0")),
            Err(IdError::MissingTerminator)
        );
        assert_eq!(
            IdList::from_utf16(&w("A\0B")),
            Err(IdError::MissingTerminator)
        );
        assert_eq!(IdList::from_utf16(&[]), Err(IdError::MissingTerminator));
    }

    #[test]
    fn id_list_over_its_limit_is_too_long() {
        let mut units = Vec::new();
        while units.len() < MAX_ID_LIST_LEN {
            units.extend(w("ABCDEFGHI\0"));
        }
        units.push(0);
        assert_eq!(IdList::from_utf16(&units), Err(IdError::TooLong));
    }

    #[test]
    fn id_list_error_positions_count_from_the_start_of_the_list() {
        assert_eq!(
            IdList::from_utf16(&w("AB\0C\u{1}\0\0")),
            Err(IdError::InvalidCharacter {
                position: 4,
                unit: 1
            })
        );
    }

    #[test]
    fn ids_compare_ignoring_ascii_case_only() {
        let id = Id::from_bytes(b"PCI\\VEN_5853&DEV_0001").unwrap();
        assert!(id.matches(b"pci\\ven_5853&dev_0001"));
        assert!(!id.matches(b"PCI\\VEN_5853&DEV_0001 "));
    }

    #[test]
    fn text_narrows_wide_units_to_question_marks() {
        let t = Text::from_utf16(&w("Slot \u{e9}\u{263a}\0")).unwrap();
        assert_eq!(t.as_bytes(), b"Slot \xe9?");
        assert_eq!(Text::from_utf16(&w("x")), Err(IdError::MissingTerminator));
    }

    #[test]
    fn ids_and_text_widen_back_with_a_terminator() {
        assert_eq!(
            Id::from_bytes(b"1.0.0").unwrap().to_utf16z().unwrap(),
            w("1.0.0\0")
        );
        assert_eq!(
            Text::from_bytes(b"a\xe9").unwrap().to_utf16z().unwrap(),
            vec![0x61, 0xE9, 0]
        );
    }
}
