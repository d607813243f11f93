// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_DEBUG`: debug callbacks run on `VIRQ_DEBUG` and on bug check. `DebugPrintf` is
//! C-variadic. Slot order: Printf before Trigger before Deregister, as in the C package.

use crate::{Boolean, Guid, NtStatus, Pcstr, Pinterface, Pstr, Pvoid, interface_table};

/// `GUID_XENBUS_DEBUG_INTERFACE` {0DF600AE-6B20-4227-BF94-03DA9A26A114}.
pub const GUID_XENBUS_DEBUG_INTERFACE: Guid =
    Guid::from_groups(0x0DF6_00AE, 0x6B20, 0x4227, 0xBF94, 0x03DA_9A26_A114);
/// `XENBUS_DEBUG_INTERFACE_VERSION_MIN`.
pub const XENBUS_DEBUG_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_DEBUG_INTERFACE_VERSION_MAX`.
pub const XENBUS_DEBUG_INTERFACE_VERSION_MAX: u16 = 1;

/// `PXENBUS_DEBUG_CALLBACK`: opaque handle.
pub type PxenbusDebugCallback = Pvoid;
/// `XENBUS_DEBUG_FUNCTION`.
pub type XenbusDebugFunction = unsafe extern "C" fn(argument: Pvoid, crashing: Boolean);

/// `DebugAcquire`.
pub type DebugAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `DebugRelease`.
pub type DebugRelease = unsafe extern "C" fn(interface: Pinterface);
/// `DebugRegister`: the prefix is copied (at most 31 characters).
pub type DebugRegister = unsafe extern "C" fn(
    interface: Pinterface,
    prefix: Pstr,
    function: XenbusDebugFunction,
    argument: Pvoid,
    callback: *mut PxenbusDebugCallback,
) -> NtStatus;
/// `DebugPrintf` (C-variadic): only valid inside a debug callback.
pub type DebugPrintf = unsafe extern "C" fn(interface: Pinterface, format: Pcstr, ...);
/// `DebugTrigger`: runs one callback, or all of them when `callback` is NULL.
pub type DebugTrigger = unsafe extern "C" fn(interface: Pinterface, callback: PxenbusDebugCallback);
/// `DebugDeregister`.
pub type DebugDeregister =
    unsafe extern "C" fn(interface: Pinterface, callback: PxenbusDebugCallback);

interface_table!(
    GUID_XENBUS_DEBUG_INTERFACE,
    /// `XENBUS_DEBUG_INTERFACE_V1`.
    XenbusDebugInterfaceV1, 1, "XENBUS_DEBUG_INTERFACE_V1" {
        debug_acquire: DebugAcquire => "DebugAcquire",
        debug_release: DebugRelease => "DebugRelease",
        debug_register: DebugRegister => "DebugRegister",
        debug_printf: DebugPrintf => "DebugPrintf",
        debug_trigger: DebugTrigger => "DebugTrigger",
        debug_deregister: DebugDeregister => "DebugDeregister",
    }
);
