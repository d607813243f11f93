// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Windows glue of xenfilt.sys: the image's entry points.
//!
//! `DriverEntry` follows upstream's order: the image runtime, `DriverUnload`, the version line,
//! then `XenTouch`, which loads xen.sys and compares package versions. When `XenTouch` fails
//! (no Xen, xen.sys not initialised, another version) the driver returns success but stays
//! inert, with no `AddDevice` and no dispatch routines, as upstream's. Otherwise it opens its
//! `Parameters` key and registers `AddDevice` and the dispatch routines.
//!
//! The filter itself is not wired yet: `AddDevice` attaches to nothing (`STATUS_SUCCESS`
//! without a filter device, which leaves the device's stack as it was, as an upstream xenfilt
//! does for a device it does not filter), and no IRP can reach the dispatch routine, which
//! fails any with `STATUS_NOT_SUPPORTED`.

use ntddk::registry::Key;
use ntddk::{
    DEVICE_OBJECT, DPFLTR_ERROR_LEVEL, DPFLTR_INFO_LEVEL, DRIVER_OBJECT, IRP, NTSTATUS,
    STATUS_NOT_SUPPORTED, STATUS_SUCCESS, UNICODE_STRING, nt_success,
};
use xen_services::PACKAGE_VERSION;

#[global_allocator]
static ALLOCATOR: ntddk::runtime::Allocator =
    ntddk::runtime::Allocator::new(u32::from_ne_bytes(*b"FILT"));

/// The `Parameters` key, held from `DriverEntry` to `DriverUnload` (PASSIVE_LEVEL only).
static PARAMETERS: spin::Mutex<Option<Key>> = spin::Mutex::new(None);

/// The driver entry point (see the module docs).
///
/// # Safety
/// Called only by the I/O manager, at PASSIVE_LEVEL, with a valid driver object and path.
// SAFETY: the image's entry point (`/ENTRY:DriverEntry`); nothing else defines the name.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(
    driver: *mut DRIVER_OBJECT,
    registry_path: *mut UNICODE_STRING,
) -> NTSTATUS {
    ntddk::runtime::init(c"xenfilt");
    // SAFETY: the I/O manager's contract.
    let (Some(driver), Some(path)) = (unsafe { driver.as_mut() }, unsafe {
        registry_path.as_mut()
    }) else {
        return ntddk::STATUS_INVALID_PARAMETER;
    };
    driver.DriverUnload = Some(driver_unload);
    let v = PACKAGE_VERSION;
    ntddk::runtime::driver::print_version("xenfilt", [v.major, v.minor, v.micro, v.build]);
    let touched = xen_services::imports::touch(c"xenfilt");
    if !nt_success(touched) {
        ntddk::runtime::print_fmt(
            DPFLTR_ERROR_LEVEL,
            format_args!(
                "xenfilt|DriverEntry: XenTouch failed ({:08x}): inert, no AddDevice\n",
                touched.cast_unsigned()
            ),
        );
        return STATUS_SUCCESS;
    }
    let parameters = match ntddk::runtime::driver::open_parameters("xenfilt", path) {
        Ok(key) => key,
        Err(status) => return status,
    };
    *PARAMETERS.lock() = Some(parameters);
    ntddk::runtime::driver::register(driver, add_device, dispatch);
    STATUS_SUCCESS
}

/// `AddDevice`: filters nothing yet (see the module docs).
unsafe extern "system" fn add_device(
    _driver: *mut DRIVER_OBJECT,
    _pdo: *mut DEVICE_OBJECT,
) -> NTSTATUS {
    ntddk::runtime::print(
        DPFLTR_INFO_LEVEL,
        b"xenfilt|AddDevice: the filter is not implemented in this build: not attached\n",
    );
    STATUS_SUCCESS
}

/// Every IRP: failed (no device object of ours exists).
unsafe extern "system" fn dispatch(_device: *mut DEVICE_OBJECT, irp: *mut IRP) -> NTSTATUS {
    // SAFETY: the I/O manager hands us an IRP we now own.
    unsafe { ntddk::runtime::irp::complete(irp, STATUS_NOT_SUPPORTED) }
}

/// `DriverUnload`: releases the `Parameters` key.
unsafe extern "system" fn driver_unload(_driver: *mut DRIVER_OBJECT) {
    drop(PARAMETERS.lock().take());
    ntddk::runtime::report_held("xenfilt|DriverUnload");
}
