// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_SUSPEND`: early/late suspend callbacks, triggering a suspend, the suspend count.
//! Member names carry no prefix (`Acquire`, not `SuspendAcquire`), as in the C package.

use crate::{Guid, NtStatus, Pinterface, Pvoid, Ulong, interface_table};

/// `GUID_XENBUS_SUSPEND_INTERFACE` {0554F2AF-B510-4C71-AC03-1C503E394238}.
pub const GUID_XENBUS_SUSPEND_INTERFACE: Guid =
    Guid::from_groups(0x0554_F2AF, 0xB510, 0x4C71, 0xAC03, 0x1C50_3E39_4238);
/// `XENBUS_SUSPEND_INTERFACE_VERSION_MIN`.
pub const XENBUS_SUSPEND_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_SUSPEND_INTERFACE_VERSION_MAX`.
pub const XENBUS_SUSPEND_INTERFACE_VERSION_MAX: u16 = 1;

/// `XENBUS_SUSPEND_CALLBACK_TYPE`.
pub type XenbusSuspendCallbackType = i32;
/// `SUSPEND_CALLBACK_TYPE_INVALID`.
pub const SUSPEND_CALLBACK_TYPE_INVALID: XenbusSuspendCallbackType = 0;
/// `SUSPEND_CALLBACK_EARLY`: runs on CPU 0 at `HIGH_LEVEL` with interrupts off everywhere.
pub const SUSPEND_CALLBACK_EARLY: XenbusSuspendCallbackType = 1;
/// `SUSPEND_CALLBACK_LATE`: runs on CPU 0 at `DISPATCH_LEVEL` with the other CPUs captured.
pub const SUSPEND_CALLBACK_LATE: XenbusSuspendCallbackType = 2;

/// `PXENBUS_SUSPEND_CALLBACK`: opaque handle.
pub type PxenbusSuspendCallback = Pvoid;
/// `XENBUS_SUSPEND_FUNCTION`.
pub type XenbusSuspendFunction = unsafe extern "C" fn(argument: Pvoid);

/// `Acquire`.
pub type SuspendAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `Release`.
pub type SuspendRelease = unsafe extern "C" fn(interface: Pinterface);
/// `Register`: appends a callback to the EARLY or LATE list.
pub type SuspendRegister = unsafe extern "C" fn(
    interface: Pinterface,
    type_: XenbusSuspendCallbackType,
    function: XenbusSuspendFunction,
    argument: Pvoid,
    callback: *mut PxenbusSuspendCallback,
) -> NtStatus;
/// `Deregister`.
pub type SuspendDeregister =
    unsafe extern "C" fn(interface: Pinterface, callback: PxenbusSuspendCallback);
/// `Trigger`: performs a suspend synchronously.
pub type SuspendTrigger = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `GetCount`: completed suspends.
pub type SuspendGetCount = unsafe extern "C" fn(interface: Pinterface) -> Ulong;

interface_table!(
    GUID_XENBUS_SUSPEND_INTERFACE,
    /// `XENBUS_SUSPEND_INTERFACE_V1`.
    XenbusSuspendInterfaceV1, 1, "XENBUS_SUSPEND_INTERFACE_V1" {
        acquire: SuspendAcquire => "Acquire",
        release: SuspendRelease => "Release",
        register: SuspendRegister => "Register",
        deregister: SuspendDeregister => "Deregister",
        trigger: SuspendTrigger => "Trigger",
        get_count: SuspendGetCount => "GetCount",
    }
);
