// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENFILT_EMULATED`: served by xenfilt; a xenbus PDO forwards queries for it down the FDO
//! stack.
//!
//! Its typedefs name the first parameter `Context`, but callers pass the interface and the
//! provider reads `Interface->Context`, as for every other table.

use crate::{Boolean, Guid, NtStatus, Pinterface, Pstr, Ulong, interface_table};

/// `GUID_XENFILT_EMULATED_INTERFACE` {959027A1-FCCE-4E78-BCF4-637384F499C5}.
pub const GUID_XENFILT_EMULATED_INTERFACE: Guid =
    Guid::from_groups(0x9590_27A1, 0xFCCE, 0x4E78, 0xBCF4, 0x6373_84F4_99C5);
/// `XENFILT_EMULATED_INTERFACE_VERSION_MIN`.
pub const XENFILT_EMULATED_INTERFACE_VERSION_MIN: u16 = 1;
/// `XENFILT_EMULATED_INTERFACE_VERSION_MAX`.
pub const XENFILT_EMULATED_INTERFACE_VERSION_MAX: u16 = 3;

/// `XENBUS_EMULATED_ACTIVATION_STATUS`.
pub type XenbusEmulatedActivationStatus = i32;
/// `XENBUS_EMULATED_ACTIVATE_NEUTRAL`.
pub const XENBUS_EMULATED_ACTIVATE_NEUTRAL: XenbusEmulatedActivationStatus = 0;
/// `XENBUS_EMULATED_FORCE_ACTIVATED`.
pub const XENBUS_EMULATED_FORCE_ACTIVATED: XenbusEmulatedActivationStatus = 1;
/// `XENBUS_EMULATED_FORCE_DEACTIVATED`.
pub const XENBUS_EMULATED_FORCE_DEACTIVATED: XenbusEmulatedActivationStatus = 2;

/// `EmulatedAcquire`.
pub type EmulatedAcquire = unsafe extern "C" fn(interface: Pinterface) -> NtStatus;
/// `EmulatedRelease`.
pub type EmulatedRelease = unsafe extern "C" fn(interface: Pinterface);
/// `EmulatedIsDevicePresentVersion1` (v1, v2).
pub type EmulatedIsDevicePresentVersion1 =
    unsafe extern "C" fn(interface: Pinterface, device_id: Pstr, instance_id: Pstr) -> Boolean;
/// `EmulatedIsDevicePresent` (v3).
pub type EmulatedIsDevicePresent = unsafe extern "C" fn(
    interface: Pinterface,
    device_id: Pstr,
    instance_id: Pstr,
    is_force_activated: *mut XenbusEmulatedActivationStatus,
) -> Boolean;
/// `EmulatedIsDiskPresentVersion1` (v1).
pub type EmulatedIsDiskPresentVersion1 = unsafe extern "C" fn(
    interface: Pinterface,
    controller: Ulong,
    target: Ulong,
    lun: Ulong,
) -> Boolean;
/// `EmulatedIsDiskPresent` (v2+).
pub type EmulatedIsDiskPresent =
    unsafe extern "C" fn(interface: Pinterface, index: Ulong) -> Boolean;

interface_table!(
    GUID_XENFILT_EMULATED_INTERFACE,
    /// `XENFILT_EMULATED_INTERFACE_V1`.
    XenfiltEmulatedInterfaceV1, 1, "XENFILT_EMULATED_INTERFACE_V1" {
        emulated_acquire: EmulatedAcquire => "EmulatedAcquire",
        emulated_release: EmulatedRelease => "EmulatedRelease",
        emulated_is_device_present_version1: EmulatedIsDevicePresentVersion1 => "EmulatedIsDevicePresentVersion1",
        emulated_is_disk_present_version1: EmulatedIsDiskPresentVersion1 => "EmulatedIsDiskPresentVersion1",
    }
);

interface_table!(
    GUID_XENFILT_EMULATED_INTERFACE,
    /// `XENFILT_EMULATED_INTERFACE_V2`.
    XenfiltEmulatedInterfaceV2, 2, "XENFILT_EMULATED_INTERFACE_V2" {
        emulated_acquire: EmulatedAcquire => "EmulatedAcquire",
        emulated_release: EmulatedRelease => "EmulatedRelease",
        emulated_is_device_present_version1: EmulatedIsDevicePresentVersion1 => "EmulatedIsDevicePresentVersion1",
        emulated_is_disk_present: EmulatedIsDiskPresent => "EmulatedIsDiskPresent",
    }
);

interface_table!(
    GUID_XENFILT_EMULATED_INTERFACE,
    /// `XENFILT_EMULATED_INTERFACE_V3`.
    XenfiltEmulatedInterfaceV3, 3, "XENFILT_EMULATED_INTERFACE_V3" {
        emulated_acquire: EmulatedAcquire => "EmulatedAcquire",
        emulated_release: EmulatedRelease => "EmulatedRelease",
        emulated_is_device_present: EmulatedIsDevicePresent => "EmulatedIsDevicePresent",
        emulated_is_disk_present: EmulatedIsDiskPresent => "EmulatedIsDiskPresent",
    }
);
