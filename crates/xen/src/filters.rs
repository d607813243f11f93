// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Class filters: `XENFILT` in the `UpperFilters` of the System and HDC device classes.
//!
//! The edits are pure functions over the decoded `REG_MULTI_SZ` ([`add`], [`remove`]); the
//! class keys are reached through [`ClassRegistry`], which the Windows glue implements over
//! `HKLM\SYSTEM\CurrentControlSet\Control\Class\{GUID}`.
//!
//! # What upstream does (`src/xen/filters.c`)
//!
//! * `FiltersInstall` adds `XENFILT` to the System class ({4d36e97d-…}: the PCI bus xenfilt
//!   filters), then to the HDC class ({4d36e96a-…}: IDE controllers); `FiltersUninstall`
//!   removes it from HDC, then System. Results are ignored.
//! * Adding: an existing `UpperFilters` that is `REG_SZ` fails; if an entry equals `XENFILT`
//!   (case-insensitive, `_stricmp`) nothing is written; otherwise the entries are written back
//!   with `XENFILT` appended at the end. A missing value is created with `XENFILT` alone.
//! * Removing: every case-insensitive match is removed and the rest written back, even if empty
//!   (the value is never deleted); a missing value, or one without a match, is left alone.
//!
//! # Where we differ
//!
//! * **Unreadable values.** Upstream treats any failure to read `UpperFilters` as "missing"
//!   when adding, so a value of another type (say `REG_BINARY`) or a transient read failure
//!   replaces the class's filters with `XENFILT` alone. We only create the value when it is
//!   really missing; any other failure, or a type other than `REG_MULTI_SZ`, refuses the edit
//!   ([`FilterError`]) and leaves the value untouched. Removing refuses the same way.
//! * **Text.** Entries are compared and rewritten as UTF-16 (see [`crate::registry`]), so a
//!   filter name outside the ANSI code page survives our edit; upstream narrows it to `?`.
//! * **Malformed lists.** A list is what Windows sees: it ends at the first empty string, and a
//!   last string without its terminator counts (upstream reads past the end of such data).
//!   Entries after an empty string are invisible to the PnP manager, and a rewrite drops them,
//!   as upstream's does; keeping them would make them take effect. A value above
//!   [`crate::registry::MAX_VALUE_SIZE`] is refused.
//! * Duplicates of other entries are kept as they are; only `XENFILT` matches are touched.

use alloc::vec::Vec;

use crate::registry::{
    REG_MULTI_SZ, RegistryError, TextError, Value, decode_multi_sz, encode_multi_sz,
    eq_ignore_ascii_case, widen,
};

/// The filter xen.sys installs.
pub const FILTER_NAME: &str = "XENFILT";
/// The value holding a class's upper filters.
pub const UPPER_FILTERS: &str = "UpperFilters";
/// Where the class keys live.
pub const CLASS_PATH: &str = r"\Registry\Machine\SYSTEM\CurrentControlSet\Control\Class";

/// A device class xen.sys filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceClass {
    /// `GUID_DEVCLASS_SYSTEM` (the PCI bus is in it).
    System,
    /// `GUID_DEVCLASS_HDC` (IDE/ATA controllers).
    Hdc,
}

impl DeviceClass {
    /// The class key's name, as `RtlStringFromGUID` spells the GUID.
    #[must_use]
    pub const fn key_name(self) -> &'static str {
        match self {
            Self::System => "{4d36e97d-e325-11ce-bfc1-08002be10318}",
            Self::Hdc => "{4d36e96a-e325-11ce-bfc1-08002be10318}",
        }
    }

    /// Upstream's name for it in the log.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::System => "DEVCLASS_SYSTEM",
            Self::Hdc => "DEVCLASS_HDC",
        }
    }
}

/// The order `FiltersInstall` visits the classes in.
pub const INSTALL_ORDER: [DeviceClass; 2] = [DeviceClass::System, DeviceClass::Hdc];
/// The order `FiltersUninstall` visits them in.
pub const UNINSTALL_ORDER: [DeviceClass; 2] = [DeviceClass::Hdc, DeviceClass::System];

/// Why a class's filters were not edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterError {
    /// `UpperFilters` exists but is not a `REG_MULTI_SZ` (upstream fails `REG_SZ` with
    /// `STATUS_INVALID_PARAMETER`).
    WrongType(u32),
    /// `UpperFilters` could not be read, or the rewrite failed.
    Registry(RegistryError),
    /// The value is larger than we decode, or the result larger than we write.
    TooLarge,
    /// A copy could not be allocated.
    NoMemory,
}

impl FilterError {
    /// The NTSTATUS upstream would have failed with (it only logs it).
    #[must_use]
    pub const fn ntstatus(self) -> i32 {
        match self {
            Self::WrongType(_) | Self::Registry(RegistryError::WrongType) => {
                ntstatus::STATUS_INVALID_PARAMETER
            }
            Self::Registry(RegistryError::NotFound) => ntstatus::STATUS_OBJECT_NAME_NOT_FOUND,
            Self::Registry(RegistryError::Os(status)) => status,
            Self::TooLarge => ntstatus::STATUS_BUFFER_OVERFLOW,
            Self::NoMemory => ntstatus::STATUS_NO_MEMORY,
        }
    }
}

impl From<TextError> for FilterError {
    fn from(e: TextError) -> Self {
        match e {
            TextError::TooLarge => Self::TooLarge,
            TextError::NoMemory => Self::NoMemory,
        }
    }
}

/// What an edit decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Nothing to write.
    Unchanged,
    /// Write this `REG_MULTI_SZ` data.
    Write(Vec<u8>),
}

/// The current value's entries (`None`: missing).
fn entries(value: Option<Value<'_>>) -> Result<Vec<Vec<u16>>, FilterError> {
    match value {
        None => Ok(Vec::new()),
        Some(v) if v.kind == REG_MULTI_SZ => Ok(decode_multi_sz(v.data)?),
        Some(v) => Err(FilterError::WrongType(v.kind)),
    }
}

/// Adds `name` at the end of the list `value` holds (`None`: the value is missing), unless an
/// entry already equals it ignoring ASCII case.
///
/// # Errors
/// [`FilterError::WrongType`], [`FilterError::TooLarge`], [`FilterError::NoMemory`].
pub fn add(value: Option<Value<'_>>, name: &str) -> Result<Edit, FilterError> {
    let mut list = entries(value)?;
    if list
        .iter()
        .any(|e| eq_ignore_ascii_case(e, name.as_bytes()))
    {
        return Ok(Edit::Unchanged);
    }
    list.try_reserve(1).map_err(|_| FilterError::NoMemory)?;
    list.push(widen(name.as_bytes())?);
    Ok(Edit::Write(encode_multi_sz(&list)?))
}

/// Removes every entry equal to `name` ignoring ASCII case from the list `value` holds.
///
/// # Errors
/// [`FilterError::WrongType`], [`FilterError::TooLarge`], [`FilterError::NoMemory`].
pub fn remove(value: Option<Value<'_>>, name: &str) -> Result<Edit, FilterError> {
    let mut list = entries(value)?;
    let before = list.len();
    list.retain(|e| !eq_ignore_ascii_case(e, name.as_bytes()));
    if list.len() == before {
        return Ok(Edit::Unchanged);
    }
    Ok(Edit::Write(encode_multi_sz(&list)?))
}

/// The class keys' `UpperFilters`.
pub trait ClassRegistry {
    /// Calls `visit` with `UpperFilters` of `class`.
    ///
    /// # Errors
    /// As the registry reports it ([`RegistryError::NotFound`] when the value is missing).
    fn read_upper_filters(
        &self,
        class: DeviceClass,
        visit: &mut dyn FnMut(Value<'_>),
    ) -> Result<(), RegistryError>;
    /// Writes `UpperFilters` of `class` as `REG_MULTI_SZ` `data`.
    ///
    /// # Errors
    /// As the registry reports it.
    fn write_upper_filters(&self, class: DeviceClass, data: &[u8]) -> Result<(), RegistryError>;
}

/// What happened to one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The value was rewritten.
    Written,
    /// Nothing needed writing.
    Unchanged,
}

fn edit_class<R: ClassRegistry + ?Sized>(
    registry: &R,
    class: DeviceClass,
    decide: fn(Option<Value<'_>>, &str) -> Result<Edit, FilterError>,
) -> Result<Outcome, FilterError> {
    let mut edit = Err(FilterError::Registry(RegistryError::NotFound));
    match registry.read_upper_filters(class, &mut |v| edit = decide(Some(v), FILTER_NAME)) {
        Ok(()) => {}
        Err(RegistryError::NotFound) => edit = decide(None, FILTER_NAME),
        Err(e) => return Err(FilterError::Registry(e)),
    }
    match edit? {
        Edit::Unchanged => Ok(Outcome::Unchanged),
        Edit::Write(data) => registry
            .write_upper_filters(class, &data)
            .map(|()| Outcome::Written)
            .map_err(FilterError::Registry),
    }
}

/// `FiltersInstallClass` for one class.
///
/// # Errors
/// [`FilterError`]: the value is left as it was.
pub fn install_class<R: ClassRegistry + ?Sized>(
    registry: &R,
    class: DeviceClass,
) -> Result<Outcome, FilterError> {
    edit_class(registry, class, add)
}

/// `FiltersUninstallClass` for one class.
///
/// # Errors
/// [`FilterError`]: the value is left as it was.
pub fn uninstall_class<R: ClassRegistry + ?Sized>(
    registry: &R,
    class: DeviceClass,
) -> Result<Outcome, FilterError> {
    edit_class(registry, class, remove)
}

/// `FiltersInstall`: both classes in upstream's order, each result reported (a failure of one
/// does not stop the other).
pub fn install<R: ClassRegistry + ?Sized>(
    registry: &R,
) -> [(DeviceClass, Result<Outcome, FilterError>); 2] {
    INSTALL_ORDER.map(|c| (c, install_class(registry, c)))
}

/// `FiltersUninstall`: both classes in upstream's order.
pub fn uninstall<R: ClassRegistry + ?Sized>(
    registry: &R,
) -> [(DeviceClass, Result<Outcome, FilterError>); 2] {
    UNINSTALL_ORDER.map(|c| (c, uninstall_class(registry, c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{REG_BINARY, REG_SZ};
    use core::cell::RefCell;
    use std::string::String;
    use std::vec;

    fn wide(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn apply(edit: Edit) -> Option<String> {
        match edit {
            Edit::Unchanged => None,
            Edit::Write(data) => {
                let units: Vec<u16> = crate::registry::units(&data).collect();
                Some(String::from_utf16(&units).unwrap())
            }
        }
    }

    fn add_raw(data: Option<&[u8]>) -> Result<Option<String>, FilterError> {
        add(data.map(|d| Value::new(REG_MULTI_SZ, d)), FILTER_NAME).map(apply)
    }

    fn remove_raw(data: Option<&[u8]>) -> Result<Option<String>, FilterError> {
        remove(data.map(|d| Value::new(REG_MULTI_SZ, d)), FILTER_NAME).map(apply)
    }

    fn add_to(list: Option<&str>) -> Result<Option<String>, FilterError> {
        add_raw(list.map(wide).as_deref())
    }

    fn remove_from(list: Option<&str>) -> Result<Option<String>, FilterError> {
        remove_raw(list.map(wide).as_deref())
    }

    #[test]
    fn class_keys_are_upstreams_guids() {
        assert_eq!(
            DeviceClass::System.key_name(),
            "{4d36e97d-e325-11ce-bfc1-08002be10318}"
        );
        assert_eq!(
            DeviceClass::Hdc.key_name(),
            "{4d36e96a-e325-11ce-bfc1-08002be10318}"
        );
        assert_eq!(INSTALL_ORDER, [DeviceClass::System, DeviceClass::Hdc]);
        assert_eq!(UNINSTALL_ORDER, [DeviceClass::Hdc, DeviceClass::System]);
    }

    #[test]
    fn add_appends_at_the_end_once() {
        assert_eq!(
            add_to(Some("PartMgr\0\0")),
            Ok(Some(String::from("PartMgr\0XENFILT\0\0")))
        );
        assert_eq!(add_to(None), Ok(Some(String::from("XENFILT\0\0"))));
        assert_eq!(add_to(Some("\0")), Ok(Some(String::from("XENFILT\0\0"))));
        assert_eq!(add_to(Some("")), Ok(Some(String::from("XENFILT\0\0"))));
        assert_eq!(add_to(Some("A\0xenfilt\0\0")), Ok(None), "case-insensitive");
        assert_eq!(add_to(Some("XENFILT\0A\0XENFILT\0\0")), Ok(None));
    }

    #[test]
    fn remove_drops_every_match_and_keeps_the_rest() {
        assert_eq!(
            remove_from(Some("A\0XenFilt\0B\0XENFILT\0A\0\0")),
            Ok(Some(String::from("A\0B\0A\0\0"))),
            "other duplicates are kept"
        );
        assert_eq!(
            remove_from(Some("XENFILT\0\0")),
            Ok(Some(String::from("\0")))
        );
        assert_eq!(remove_from(Some("A\0\0")), Ok(None));
        assert_eq!(remove_from(None), Ok(None));
        assert_eq!(remove_from(Some("XENFILTER\0XENFIL\0\0")), Ok(None));
    }

    #[test]
    fn malformed_lists_are_read_as_windows_reads_them() {
        // No terminators at all.
        assert_eq!(
            add_to(Some("PartMgr")),
            Ok(Some(String::from("PartMgr\0XENFILT\0\0")))
        );
        // An empty string ends the list: what follows is invisible and not carried over.
        assert_eq!(
            add_to(Some("A\0\0Hidden\0\0")),
            Ok(Some(String::from("A\0XENFILT\0\0")))
        );
        // A match hidden after the end does not count.
        assert_eq!(
            add_to(Some("A\0\0XENFILT\0\0")),
            Ok(Some(String::from("A\0XENFILT\0\0")))
        );
        assert_eq!(remove_from(Some("A\0\0XENFILT\0\0")), Ok(None));
        // An odd trailing byte is ignored.
        let mut odd = wide("A\0\0");
        odd.push(0x58);
        assert_eq!(
            add_raw(Some(&odd)),
            Ok(Some(String::from("A\0XENFILT\0\0")))
        );
    }

    #[test]
    fn names_outside_ascii_survive_an_edit() {
        assert_eq!(
            add_to(Some("Fïltr€\0\0")),
            Ok(Some(String::from("Fïltr€\0XENFILT\0\0")))
        );
        assert_eq!(
            remove_from(Some("Fïltr€\0XENFILT\0\0")),
            Ok(Some(String::from("Fïltr€\0\0")))
        );
    }

    #[test]
    fn wrong_types_and_oversized_values_are_refused() {
        for kind in [REG_SZ, REG_BINARY, 4] {
            let data = wide("PartMgr\0\0");
            assert_eq!(
                add(Some(Value::new(kind, &data)), FILTER_NAME),
                Err(FilterError::WrongType(kind))
            );
            assert_eq!(
                remove(Some(Value::new(kind, &data)), FILTER_NAME),
                Err(FilterError::WrongType(kind))
            );
        }
        let huge = vec![0x41u8; crate::registry::MAX_VALUE_SIZE + 2];
        assert_eq!(add_raw(Some(&huge)), Err(FilterError::TooLarge));
        assert_eq!(remove_raw(Some(&huge)), Err(FilterError::TooLarge));
        // A list just under the limit cannot grow past it.
        let mut full = vec![0x41u8; crate::registry::MAX_VALUE_SIZE - 4];
        full.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(add_raw(Some(&full)), Err(FilterError::TooLarge));
    }

    /// A stored value: its type and data.
    type Stored = Option<(u32, Vec<u8>)>;

    /// Two class keys.
    #[derive(Default)]
    struct Classes {
        values: RefCell<[Stored; 2]>,
        read_error: Option<RegistryError>,
        write_error: Option<RegistryError>,
        writes: RefCell<Vec<DeviceClass>>,
    }

    const fn index(c: DeviceClass) -> usize {
        match c {
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
            if let Some(e) = self.read_error {
                return Err(e);
            }
            let values = self.values.borrow();
            let (kind, data) = values[index(class)]
                .as_ref()
                .ok_or(RegistryError::NotFound)?;
            visit(Value::new(*kind, data));
            Ok(())
        }
        fn write_upper_filters(
            &self,
            class: DeviceClass,
            data: &[u8],
        ) -> Result<(), RegistryError> {
            if let Some(e) = self.write_error {
                return Err(e);
            }
            self.writes.borrow_mut().push(class);
            self.values.borrow_mut()[index(class)] = Some((REG_MULTI_SZ, data.to_vec()));
            Ok(())
        }
    }

    #[test]
    fn install_then_uninstall_round_trips_in_upstreams_order() {
        let r = Classes::default();
        r.values.borrow_mut()[1] = Some((REG_MULTI_SZ, wide("atapi\0\0")));
        assert_eq!(
            install(&r),
            [
                (DeviceClass::System, Ok(Outcome::Written)),
                (DeviceClass::Hdc, Ok(Outcome::Written))
            ]
        );
        assert_eq!(
            r.values.borrow()[1].as_ref().unwrap().1,
            wide("atapi\0XENFILT\0\0")
        );
        assert_eq!(
            install(&r),
            [
                (DeviceClass::System, Ok(Outcome::Unchanged)),
                (DeviceClass::Hdc, Ok(Outcome::Unchanged))
            ]
        );
        assert_eq!(uninstall(&r)[0], (DeviceClass::Hdc, Ok(Outcome::Written)));
        assert_eq!(
            *r.writes.borrow(),
            [
                DeviceClass::System,
                DeviceClass::Hdc,
                DeviceClass::Hdc,
                DeviceClass::System
            ]
        );
        assert_eq!(r.values.borrow()[0].as_ref().unwrap().1, wide("\0"));
        assert_eq!(r.values.borrow()[1].as_ref().unwrap().1, wide("atapi\0\0"));
    }

    #[test]
    fn read_failures_never_overwrite_the_filters() {
        let r = Classes {
            read_error: Some(RegistryError::Os(-1)),
            ..Classes::default()
        };
        r.values.borrow_mut()[0] = Some((REG_MULTI_SZ, wide("PartMgr\0\0")));
        assert_eq!(
            install(&r)[0],
            (
                DeviceClass::System,
                Err(FilterError::Registry(RegistryError::Os(-1)))
            )
        );
        assert!(r.writes.borrow().is_empty());
        let r = Classes::default();
        r.values.borrow_mut()[0] = Some((REG_BINARY, vec![1, 2, 3]));
        assert_eq!(
            install(&r),
            [
                (DeviceClass::System, Err(FilterError::WrongType(REG_BINARY))),
                (DeviceClass::Hdc, Ok(Outcome::Written))
            ]
        );
        assert_eq!(r.values.borrow()[0], Some((REG_BINARY, vec![1, 2, 3])));
    }

    #[test]
    fn write_failures_are_reported() {
        let r = Classes {
            write_error: Some(RegistryError::Os(-9)),
            ..Classes::default()
        };
        assert_eq!(
            install_class(&r, DeviceClass::Hdc),
            Err(FilterError::Registry(RegistryError::Os(-9)))
        );
    }
}
