// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Windows glue of xenbus.sys: the image's entry points.
//!
//! `DriverEntry` follows upstream's order: the image runtime; the `Parameters` key, whose
//! absence fails the load; then `XenTouch`, which loads xen.sys and compares package versions.
//! When `XenTouch` fails (no Xen, xen.sys not initialised, another version) the driver stays
//! loaded but inert, with no `AddDevice` and no dispatch routines, as upstream's; on a version
//! mismatch it first puts xenfilt into the class filters and asks for a reboot.
//!
//! `AddDevice` and the dispatch routines are registered but not yet wired to the FDO/PDO state
//! machines: `AddDevice` refuses the device with `STATUS_NOT_IMPLEMENTED` and a log line, and
//! every IRP that could reach the driver is failed with `STATUS_NOT_SUPPORTED` rather than
//! handled half-way.

use ntddk::registry::Key;
use ntddk::{
    DEVICE_OBJECT, DPFLTR_ERROR_LEVEL, DRIVER_OBJECT, IRP, NTSTATUS,
    STATUS_INCOMPATIBLE_DRIVER_BLOCKED, STATUS_NOT_IMPLEMENTED, STATUS_NOT_SUPPORTED,
    STATUS_SUCCESS, UNICODE_STRING, nt_success,
};
use xen_services::PACKAGE_VERSION;

#[global_allocator]
static ALLOCATOR: ntddk::runtime::Allocator =
    ntddk::runtime::Allocator::new(u32::from_ne_bytes(*b"XBUS"));

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
    ntddk::runtime::init(c"xenbus");
    // SAFETY: the I/O manager's contract.
    let (Some(driver), Some(path)) = (unsafe { driver.as_mut() }, unsafe {
        registry_path.as_mut()
    }) else {
        return ntddk::STATUS_INVALID_PARAMETER;
    };
    driver.DriverUnload = Some(driver_unload);
    let v = PACKAGE_VERSION;
    ntddk::runtime::driver::print_version("xenbus", [v.major, v.minor, v.micro, v.build]);
    let parameters = match ntddk::runtime::driver::open_parameters("xenbus", path) {
        Ok(key) => key,
        Err(status) => return status,
    };
    let touched = xen_services::imports::touch(c"xenbus");
    if !nt_success(touched) {
        ntddk::runtime::print_fmt(
            DPFLTR_ERROR_LEVEL,
            format_args!(
                "xenbus|DriverEntry: XenTouch failed ({:08x}): inert, no AddDevice\n",
                touched.cast_unsigned()
            ),
        );
        if touched == STATUS_INCOMPATIBLE_DRIVER_BLOCKED {
            // SAFETY: PASSIVE_LEVEL; xen.sys is loaded (we imported it).
            unsafe { xen_services::imports::FiltersInstall() };
            // SAFETY: PASSIVE_LEVEL; our open Parameters key and a NUL-terminated name.
            let _status = unsafe {
                xen_services::imports::ConfigRequestReboot(parameters.raw(), c"xenbus".as_ptr())
            };
        }
        *PARAMETERS.lock() = Some(parameters);
        return STATUS_SUCCESS;
    }
    *PARAMETERS.lock() = Some(parameters);
    ntddk::runtime::driver::register(driver, add_device, dispatch);
    STATUS_SUCCESS
}

/// `AddDevice`: not wired to the FDO yet (see the module docs).
unsafe extern "system" fn add_device(
    _driver: *mut DRIVER_OBJECT,
    _pdo: *mut DEVICE_OBJECT,
) -> NTSTATUS {
    ntddk::runtime::print(
        DPFLTR_ERROR_LEVEL,
        b"xenbus|AddDevice: the FDO is not implemented in this build: device refused\n",
    );
    STATUS_NOT_IMPLEMENTED
}

/// Every IRP: failed (no device object of ours exists while `AddDevice` refuses).
unsafe extern "system" fn dispatch(_device: *mut DEVICE_OBJECT, irp: *mut IRP) -> NTSTATUS {
    // SAFETY: the I/O manager hands us an IRP we now own.
    unsafe { ntddk::runtime::irp::complete(irp, STATUS_NOT_SUPPORTED) }
}

/// `DriverUnload`: releases the `Parameters` key.
unsafe extern "system" fn driver_unload(_driver: *mut DRIVER_OBJECT) {
    drop(PARAMETERS.lock().take());
    ntddk::runtime::report_held("xenbus|DriverUnload");
}
