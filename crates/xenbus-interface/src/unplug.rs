// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_UNPLUG`: children's requests to unplug emulated devices at the next boot.

use crate::{Boolean, Guid, NtStatus, Pinterface, Pstr, interface_table};

/// `GUID_XENBUS_UNPLUG_INTERFACE` {73DB6517-3D06-4937-989F-199B7501E229}.
pub const GUID_XENBUS_UNPLUG_INTERFACE: Guid =
    Guid::from_groups(0x73DB_6517, 0x3D06, 0x4937, 0x989F, 0x199B_7501_E229);
/// `XENBUS_UNPLUG_INTERFACE_VERSION_MIN`.
pub const XENBUS_UNPLUG_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENBUS_UNPLUG_INTERFACE_VERSION_MAX`.
pub const XENBUS_UNPLUG_INTERFACE_VERSION_MAX: u16 = 3;

/// `XENBUS_UNPLUG_DEVICE_TYPE`.
pub type XenbusUnplugDeviceType = i32;
/// `XENBUS_UNPLUG_DEVICE_TYPE_INVALID`.
pub const XENBUS_UNPLUG_DEVICE_TYPE_INVALID: XenbusUnplugDeviceType = 0;
/// `XENBUS_UNPLUG_DEVICE_TYPE_NICS`.
pub const XENBUS_UNPLUG_DEVICE_TYPE_NICS: XenbusUnplugDeviceType = 1;
/// `XENBUS_UNPLUG_DEVICE_TYPE_DISKS`.
pub const XENBUS_UNPLUG_DEVICE_TYPE_DISKS: XenbusUnplugDeviceType = 2;

/// `UnplugAcquire`.
pub type UnplugAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `UnplugRelease`.
pub type UnplugRelease = unsafe extern "C" fn(interface: Pinterface);
/// `UnplugRequest`: count a request up (`make`) or down.
pub type UnplugRequest =
    unsafe extern "C" fn(interface: Pinterface, type_: XenbusUnplugDeviceType, make: Boolean);
/// `UnplugIsRequested` (v2+).
pub type UnplugIsRequested =
    unsafe extern "C" fn(interface: Pinterface, type_: XenbusUnplugDeviceType) -> Boolean;
/// `UnplugBootEmulated` (v3+).
pub type UnplugBootEmulated = unsafe extern "C" fn(interface: Pinterface) -> Boolean;
/// `UnplugReboot` (v3+): ask for a reboot on behalf of `module`.
pub type UnplugReboot = unsafe extern "C" fn(interface: Pinterface, module: Pstr);

interface_table!(
    GUID_XENBUS_UNPLUG_INTERFACE,
    /// `XENBUS_UNPLUG_INTERFACE_V1`.
    XenbusUnplugInterfaceV1, 1, "XENBUS_UNPLUG_INTERFACE_V1" {
        unplug_acquire: UnplugAcquire => "UnplugAcquire",
        unplug_release: UnplugRelease => "UnplugRelease",
        unplug_request: UnplugRequest => "UnplugRequest",
    }
);

interface_table!(
    GUID_XENBUS_UNPLUG_INTERFACE,
    /// `XENBUS_UNPLUG_INTERFACE_V2`.
    XenbusUnplugInterfaceV2, 2, "XENBUS_UNPLUG_INTERFACE_V2" {
        unplug_acquire: UnplugAcquire => "UnplugAcquire",
        unplug_release: UnplugRelease => "UnplugRelease",
        unplug_request: UnplugRequest => "UnplugRequest",
        unplug_is_requested: UnplugIsRequested => "UnplugIsRequested",
    }
);

interface_table!(
    GUID_XENBUS_UNPLUG_INTERFACE,
    /// `XENBUS_UNPLUG_INTERFACE_V3`.
    XenbusUnplugInterfaceV3, 3, "XENBUS_UNPLUG_INTERFACE_V3" {
        unplug_acquire: UnplugAcquire => "UnplugAcquire",
        unplug_release: UnplugRelease => "UnplugRelease",
        unplug_request: UnplugRequest => "UnplugRequest",
        unplug_is_requested: UnplugIsRequested => "UnplugIsRequested",
        unplug_boot_emulated: UnplugBootEmulated => "UnplugBootEmulated",
        unplug_reboot: UnplugReboot => "UnplugReboot",
    }
);
