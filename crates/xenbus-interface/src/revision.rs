// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The PDO revision table: each revision promises one version of every child interface.
//!
//! A PDO publishes `XENBUS\VEN_<prefix>&DEV_<class>&REV_<revision>` for every revision here,
//! newest first. The table's rules (every entry inside its interface's MIN..MAX; the last
//! revision offers every MAX) are checked at compile time.

use crate::{
    cache, console, debug, emulated, evtchn, gnttab, range_set, shared_info, store, suspend, unplug,
};

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revision {
    /// The revision number: `0x09` (major version) in the top byte, a counter below.
    pub number: u32,
    /// `XENBUS_SUSPEND` version.
    pub suspend: u16,
    /// `XENBUS_SHARED_INFO` version.
    pub shared_info: u16,
    /// `XENBUS_EVTCHN` version.
    pub evtchn: u16,
    /// `XENBUS_DEBUG` version.
    pub debug: u16,
    /// `XENBUS_STORE` version.
    pub store: u16,
    /// `XENBUS_RANGE_SET` version.
    pub range_set: u16,
    /// `XENBUS_CACHE` version.
    pub cache: u16,
    /// `XENBUS_GNTTAB` version.
    pub gnttab: u16,
    /// `XENBUS_UNPLUG` version.
    pub unplug: u16,
    /// `XENBUS_CONSOLE` version.
    pub console: u16,
    /// `XENFILT_EMULATED` version.
    pub emulated: u16,
}

/// Builds a row; arguments in the C table's column order.
#[allow(
    clippy::too_many_arguments,
    reason = "one argument per interface column"
)]
const fn rev(
    number: u32,
    suspend: u16,
    shared_info: u16,
    evtchn: u16,
    debug: u16,
    store: u16,
    range_set: u16,
    cache: u16,
    gnttab: u16,
    unplug: u16,
    console: u16,
    emulated: u16,
) -> Revision {
    Revision {
        number,
        suspend,
        shared_info,
        evtchn,
        debug,
        store,
        range_set,
        cache,
        gnttab,
        unplug,
        console,
        emulated,
    }
}

/// Every revision, oldest first.
pub const REVISIONS: [Revision; 5] = [
    rev(0x0900_0008, 1, 3, 9, 1, 2, 1, 2, 4, 1, 1, 2),
    rev(0x0900_0009, 1, 4, 9, 1, 2, 1, 2, 4, 1, 1, 2),
    rev(0x0900_000A, 1, 4, 9, 1, 2, 1, 2, 4, 2, 1, 2),
    rev(0x0900_000B, 1, 4, 9, 1, 2, 1, 2, 4, 3, 1, 2),
    rev(0x0900_000C, 1, 4, 9, 1, 2, 1, 2, 4, 3, 1, 3),
];

/// The MIN..MAX range of each column, in column order.
const RANGES: [(u16, u16); 11] = [
    (
        suspend::XENBUS_SUSPEND_INTERFACE_VERSION_MIN,
        suspend::XENBUS_SUSPEND_INTERFACE_VERSION_MAX,
    ),
    (
        shared_info::XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN,
        shared_info::XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX,
    ),
    (
        evtchn::XENBUS_EVTCHN_INTERFACE_VERSION_MIN,
        evtchn::XENBUS_EVTCHN_INTERFACE_VERSION_MAX,
    ),
    (
        debug::XENBUS_DEBUG_INTERFACE_VERSION_MIN,
        debug::XENBUS_DEBUG_INTERFACE_VERSION_MAX,
    ),
    (
        store::XENBUS_STORE_INTERFACE_VERSION_MIN,
        store::XENBUS_STORE_INTERFACE_VERSION_MAX,
    ),
    (
        range_set::XENBUS_RANGE_SET_INTERFACE_VERSION_MIN,
        range_set::XENBUS_RANGE_SET_INTERFACE_VERSION_MAX,
    ),
    (
        cache::XENBUS_CACHE_INTERFACE_VERSION_MIN,
        cache::XENBUS_CACHE_INTERFACE_VERSION_MAX,
    ),
    (
        gnttab::XENBUS_GNTTAB_INTERFACE_VERSION_MIN,
        gnttab::XENBUS_GNTTAB_INTERFACE_VERSION_MAX,
    ),
    (
        unplug::XENBUS_UNPLUG_INTERFACE_VERSION_MIN,
        unplug::XENBUS_UNPLUG_INTERFACE_VERSION_MAX,
    ),
    (
        console::XENBUS_CONSOLE_INTERFACE_VERSION_MIN,
        console::XENBUS_CONSOLE_INTERFACE_VERSION_MAX,
    ),
    (
        emulated::XENFILT_EMULATED_INTERFACE_VERSION_MIN,
        emulated::XENFILT_EMULATED_INTERFACE_VERSION_MAX,
    ),
];

impl Revision {
    /// The row's versions in column order.
    #[must_use]
    pub const fn columns(&self) -> [u16; 11] {
        [
            self.suspend,
            self.shared_info,
            self.evtchn,
            self.debug,
            self.store,
            self.range_set,
            self.cache,
            self.gnttab,
            self.unplug,
            self.console,
            self.emulated,
        ]
    }
}

/// The newest revision (the one a PDO lists first).
#[must_use]
pub const fn newest() -> Revision {
    let [.., last] = REVISIONS;
    last
}

#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "evaluated at compile time: an out-of-range index or overflow is a build error"
)]
const _: () = {
    let mut r = 0;
    while r < REVISIONS.len() {
        let row = REVISIONS[r].columns();
        assert!(
            REVISIONS[r].number >> 24 == 0x09,
            "revision major must be 0x09"
        );
        if r > 0 {
            assert!(
                REVISIONS[r].number > REVISIONS[r - 1].number,
                "revisions must increase"
            );
        }
        let mut c = 0;
        while c < row.len() {
            assert!(
                row[c] >= RANGES[c].0 && row[c] <= RANGES[c].1,
                "version outside MIN..MAX"
            );
            if r == REVISIONS.len() - 1 {
                assert!(
                    row[c] == RANGES[c].1,
                    "the newest revision must offer every MAX"
                );
            }
            c += 1;
        }
        r += 1;
    }
};
