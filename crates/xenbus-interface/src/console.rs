// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_CONSOLE`: the PV console ring.

use crate::{Boolean, Guid, NtStatus, Pinterface, Pkevent, Pstr, Pvoid, Ulong, interface_table};

/// `GUID_XENBUS_CONSOLE_INTERFACE` {04C4F738-034A-4268-BD20-A92AC90D4F82}.
pub const GUID_XENBUS_CONSOLE_INTERFACE: Guid =
    Guid::from_groups(0x04C4_F738, 0x034A, 0x4268, 0xBD20, 0xA92A_C90D_4F82);
/// `XENBUS_CONSOLE_INTERFACE_VERSION_MIN`.
pub const XENBUS_CONSOLE_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_CONSOLE_INTERFACE_VERSION_MAX`.
pub const XENBUS_CONSOLE_INTERFACE_VERSION_MAX: u16 = 1;

/// `PXENBUS_CONSOLE_WAKEUP`: opaque handle.
pub type PxenbusConsoleWakeup = Pvoid;

/// `ConsoleAcquire`.
pub type ConsoleAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `ConsoleRelease`.
pub type ConsoleRelease = unsafe extern "C" fn(interface: Pinterface);
/// `ConsoleCanRead`.
pub type ConsoleCanRead = unsafe extern "C" fn(interface: Pinterface) -> Boolean;
/// `ConsoleRead`: bytes copied out.
pub type ConsoleRead =
    unsafe extern "C" fn(interface: Pinterface, data: Pstr, length: Ulong) -> Ulong;
/// `ConsoleCanWrite`.
pub type ConsoleCanWrite = unsafe extern "C" fn(interface: Pinterface) -> Boolean;
/// `ConsoleWrite`: bytes copied in.
pub type ConsoleWrite =
    unsafe extern "C" fn(interface: Pinterface, data: Pstr, length: Ulong) -> Ulong;
/// `ConsoleWakeupAdd`: `event` is signalled on every console event.
pub type ConsoleWakeupAdd = unsafe extern "C" fn(
    interface: Pinterface,
    event: Pkevent,
    wakeup: *mut PxenbusConsoleWakeup,
) -> NtStatus;
/// `ConsoleWakeupRemove`.
pub type ConsoleWakeupRemove =
    unsafe extern "C" fn(interface: Pinterface, wakeup: PxenbusConsoleWakeup);

interface_table!(
    GUID_XENBUS_CONSOLE_INTERFACE,
    /// `XENBUS_CONSOLE_INTERFACE_V1`.
    XenbusConsoleInterfaceV1, 1, "XENBUS_CONSOLE_INTERFACE_V1" {
        console_acquire: ConsoleAcquire => "ConsoleAcquire",
        console_release: ConsoleRelease => "ConsoleRelease",
        console_can_read: ConsoleCanRead => "ConsoleCanRead",
        console_read: ConsoleRead => "ConsoleRead",
        console_can_write: ConsoleCanWrite => "ConsoleCanWrite",
        console_write: ConsoleWrite => "ConsoleWrite",
        console_wakeup_add: ConsoleWakeupAdd => "ConsoleWakeupAdd",
        console_wakeup_remove: ConsoleWakeupRemove => "ConsoleWakeupRemove",
    }
);
