// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `drivers/<N>` xenstore entries through which a toolstack sees which PV drivers a guest
//! runs (the C package's `FdoSetDistribution` / `FdoClearDistribution`).
//!
//! The entry reads `<vendor> XENBUS <major>.<minor>.<micro>.<build> <attributes>`, with every
//! character of the vendor name that is not an ASCII letter or digit written as `_`, and the
//! attributes `(DEBUG)` for a debug build and empty otherwise, so a release build's entry ends
//! with a space (as the C package's does; toolstacks compare it).
//!
//! Where this differs from the C package on purpose: on teardown an entry is removed only if
//! its first word is exactly our vendor token (the C package also removes entries whose first
//! word merely starts with it, i.e. another vendor's whose name extends ours), and entry names
//! are read as listed (the C package upper-cases them first, which only makes it miss entries
//! with lower-case names; we write digits only).

use alloc::format;
use alloc::string::String;

use ntstatus::{NtStatus, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_UNSUCCESSFUL};

/// The highest index tried for a free `drivers/<N>` entry.
pub const MAXIMUM_INDEX: u32 = 255;

/// The package version as the entry shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Micro.
    pub micro: u32,
    /// Build number.
    pub build: u32,
}

/// The vendor name as the entry's first word.
#[must_use]
pub fn vendor_token(vendor: &str) -> String {
    vendor
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The value written to `drivers/<N>`.
#[must_use]
pub fn entry(vendor: &str, version: Version, debug: bool) -> String {
    format!(
        "{} XENBUS {}.{}.{}.{} {}",
        vendor_token(vendor),
        version.major,
        version.minor,
        version.micro,
        version.build,
        if debug { "(DEBUG)" } else { "" }
    )
}

/// What reading `drivers/<N>` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The entry exists.
    Exists,
    /// The read failed with this status (`STATUS_OBJECT_NAME_NOT_FOUND`: the index is free).
    Failed(NtStatus),
}

/// The first free index: `read` is asked for `0, 1, ...` until an entry is not found.
///
/// # Errors
/// Any other read failure stops the search with that status; every index up to
/// [`MAXIMUM_INDEX`] taken gives `STATUS_UNSUCCESSFUL`. The C package ignores both (no entry
/// is written).
pub fn free_index(mut read: impl FnMut(u32) -> Lookup) -> Result<u32, NtStatus> {
    for index in 0..=MAXIMUM_INDEX {
        match read(index) {
            Lookup::Exists => {}
            Lookup::Failed(STATUS_OBJECT_NAME_NOT_FOUND) => return Ok(index),
            Lookup::Failed(status) => return Err(status),
        }
    }
    Err(STATUS_UNSUCCESSFUL)
}

/// Whether an existing entry's value is ours to remove: first word our vendor token, second
/// `XENBUS` in any case (words separated by spaces).
#[must_use]
pub fn is_ours(value: &str, vendor: &str) -> bool {
    let mut words = value.split(' ').filter(|word| !word.is_empty());
    let (Some(first), Some(second)) = (words.next(), words.next()) else {
        return false;
    };
    first == vendor_token(vendor) && second.eq_ignore_ascii_case("XENBUS")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntstatus::STATUS_ACCESS_DENIED;

    const V: Version = Version {
        major: 9,
        minor: 1,
        micro: 0,
        build: 77,
    };

    #[test]
    fn the_entry_sanitises_the_vendor_and_ends_with_the_attributes() {
        assert_eq!(
            entry("Xen Project", V, false),
            "Xen_Project XENBUS 9.1.0.77 "
        );
        assert_eq!(entry("XCP-ng", V, true), "XCP_ng XENBUS 9.1.0.77 (DEBUG)");
        assert_eq!(vendor_token("Citrix, Inc."), "Citrix__Inc_");
    }

    #[test]
    fn the_first_missing_index_is_used_and_other_failures_stop_the_search() {
        assert_eq!(
            free_index(|n| if n < 3 {
                Lookup::Exists
            } else {
                Lookup::Failed(STATUS_OBJECT_NAME_NOT_FOUND)
            }),
            Ok(3)
        );
        assert_eq!(
            free_index(|_| Lookup::Failed(STATUS_ACCESS_DENIED)),
            Err(STATUS_ACCESS_DENIED)
        );
        let mut asked = 0;
        assert_eq!(
            free_index(|_| {
                asked += 1;
                Lookup::Exists
            }),
            Err(STATUS_UNSUCCESSFUL)
        );
        assert_eq!(asked, 256);
    }

    #[test]
    fn only_our_own_entries_are_removed() {
        assert!(is_ours("Xen_Project XENBUS 9.1.0.77 ", "Xen Project"));
        assert!(is_ours("  Xen_Project   xenbus 8.2.0.1", "Xen Project"));
        assert!(!is_ours("Xen_Project XENVIF 9.1.0.77", "Xen Project"));
        assert!(!is_ours("Xen_ProjectFork XENBUS 9.1.0.77", "Xen Project"));
        assert!(!is_ours("xen_project XENBUS 9.1.0.77", "Xen Project"));
        assert!(!is_ours("Xen_Project", "Xen Project"));
        assert!(!is_ours("", "Xen Project"));
    }

    #[test]
    fn our_own_entry_is_recognised_as_ours() {
        for debug in [false, true] {
            assert!(is_ours(&entry("Xen Project", V, debug), "Xen Project"));
        }
    }
}
