// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_RANGE_SET`: sets of non-overlapping integer ranges.

use crate::{Guid, LongLong, NtStatus, Pcstr, Pinterface, Pvoid, UlongLong, interface_table};

/// `GUID_XENBUS_RANGE_SET_INTERFACE` {EE7E78A2-6847-48C5-B123-BB012F0EABF4}.
pub const GUID_XENBUS_RANGE_SET_INTERFACE: Guid =
    Guid::from_groups(0xEE7E_78A2, 0x6847, 0x48C5, 0xB123, 0xBB01_2F0E_ABF4);
/// `XENBUS_RANGE_SET_INTERFACE_VERSION_MIN`.
pub const XENBUS_RANGE_SET_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_RANGE_SET_INTERFACE_VERSION_MAX`.
pub const XENBUS_RANGE_SET_INTERFACE_VERSION_MAX: u16 = 1;

/// `PXENBUS_RANGE_SET`: opaque handle.
pub type PxenbusRangeSet = Pvoid;

/// `RangeSetAcquire`.
pub type RangeSetAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `RangeSetRelease`.
pub type RangeSetRelease = unsafe extern "C" fn(interface: Pinterface);
/// `RangeSetCreate`.
pub type RangeSetCreate = unsafe extern "C" fn(
    interface: Pinterface,
    name: Pcstr,
    range_set: *mut PxenbusRangeSet,
) -> NtStatus;
/// `RangeSetPut`: adds `[start, start + count - 1]`, which must not overlap.
pub type RangeSetPut = unsafe extern "C" fn(
    interface: Pinterface,
    range_set: PxenbusRangeSet,
    start: LongLong,
    count: UlongLong,
) -> NtStatus;
/// `RangeSetPop`: removes `count` contiguous items, first fit from the lowest range.
pub type RangeSetPop = unsafe extern "C" fn(
    interface: Pinterface,
    range_set: PxenbusRangeSet,
    count: UlongLong,
    start: *mut LongLong,
) -> NtStatus;
/// `RangeSetGet`: removes a given sub-range.
pub type RangeSetGet = unsafe extern "C" fn(
    interface: Pinterface,
    range_set: PxenbusRangeSet,
    start: LongLong,
    count: UlongLong,
) -> NtStatus;
/// `RangeSetDestroy`: the set must be empty.
pub type RangeSetDestroy = unsafe extern "C" fn(interface: Pinterface, range_set: PxenbusRangeSet);

interface_table!(
    GUID_XENBUS_RANGE_SET_INTERFACE,
    /// `XENBUS_RANGE_SET_INTERFACE_V1`.
    XenbusRangeSetInterfaceV1, 1, "XENBUS_RANGE_SET_INTERFACE_V1" {
        range_set_acquire: RangeSetAcquire => "RangeSetAcquire",
        range_set_release: RangeSetRelease => "RangeSetRelease",
        range_set_create: RangeSetCreate => "RangeSetCreate",
        range_set_put: RangeSetPut => "RangeSetPut",
        range_set_pop: RangeSetPop => "RangeSetPop",
        range_set_get: RangeSetGet => "RangeSetGet",
        range_set_destroy: RangeSetDestroy => "RangeSetDestroy",
    }
);
