// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_BALLOON`: internal to xenbus (the FDO's balloon thread); never offered to children.

use crate::{Guid, NtStatus, Pinterface, UlongLong, interface_table};

/// `GUID_XENBUS_BALLOON_INTERFACE` {D92AA810-BECB-4BD5-A3DA-BD03C135A297}.
pub const GUID_XENBUS_BALLOON_INTERFACE: Guid =
    Guid::from_groups(0xD92A_A810, 0xBECB, 0x4BD5, 0xA3DA, 0xBD03_C135_A297);
/// `XENBUS_BALLOON_INTERFACE_VERSION_MIN`.
pub const XENBUS_BALLOON_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_BALLOON_INTERFACE_VERSION_MAX`.
pub const XENBUS_BALLOON_INTERFACE_VERSION_MAX: u16 = 1;

/// `BalloonAcquire`.
pub type BalloonAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `BalloonRelease`.
pub type BalloonRelease = unsafe extern "C" fn(interface: Pinterface);
/// `BalloonAdjust`: inflate or deflate to `size` pages.
pub type BalloonAdjust = unsafe extern "C" fn(interface: Pinterface, size: UlongLong) -> NtStatus;
/// `BalloonGetSize`: pages currently in the balloon.
pub type BalloonGetSize = unsafe extern "C" fn(interface: Pinterface) -> UlongLong;

interface_table!(
    GUID_XENBUS_BALLOON_INTERFACE,
    /// `XENBUS_BALLOON_INTERFACE_V1`.
    XenbusBalloonInterfaceV1, 1, "XENBUS_BALLOON_INTERFACE_V1" {
        balloon_acquire: BalloonAcquire => "BalloonAcquire",
        balloon_release: BalloonRelease => "BalloonRelease",
        balloon_adjust: BalloonAdjust => "BalloonAdjust",
        balloon_get_size: BalloonGetSize => "BalloonGetSize",
    }
);
