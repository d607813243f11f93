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
//!
//! The FDO's platform already exists: [`fdo_platform`] builds the services the subsystems will
//! run on (`platform_windows::WindowsPlatform`, logging through xen.sys's `LogPrintf`, and the
//! FDO's `WindowsInterrupts`), and `AddDevice` builds it, logs its refusal through it and, when
//! the service's `Parameters\PlatformSelfTest` DWORD is non-zero, first runs
//! `platform_windows::self_test` (every service once, each step logged) to prove the platform on
//! a real Windows before the FDO glue uses it. The device is refused either way.

use ntddk::registry::Key;
use ntddk::{
    DEVICE_OBJECT, DPFLTR_ERROR_LEVEL, DRIVER_OBJECT, IRP, NTSTATUS,
    STATUS_INCOMPATIBLE_DRIVER_BLOCKED, STATUS_NOT_IMPLEMENTED, STATUS_NOT_SUPPORTED,
    STATUS_SUCCESS, UNICODE_STRING, nt_success,
};
use platform_port::{LogLevel, Registry, plog};
use platform_windows::convert::{LogLine, xen_log_level};
use platform_windows::{WindowsInterrupts, WindowsPlatform};
use xen_services::PACKAGE_VERSION;

/// The service's parameters below `HKEY_LOCAL_MACHINE` (the INF names the service `xenbus`).
const PARAMETERS_KEY: &str = r"SYSTEM\CurrentControlSet\Services\xenbus\Parameters";

/// The platform's log sink: one line through xen.sys's `LogPrintf("%s", line)`, as upstream's
/// `LogPrintf` callers write (any IRQL; no allocation).
fn xen_log_sink(level: LogLevel, line: &LogLine) {
    // SAFETY: any IRQL; `%s` reads the NUL-terminated line, which outlives the call.
    unsafe {
        xen_services::imports::LogPrintf(
            xen_log_level(level),
            c"%s".as_ptr(),
            line.c_text().as_ptr(),
        );
    };
}

/// The FDO's platform: the services xenbus's subsystems run on, and the FDO's interrupts (none
/// connected until `IRP_MN_START_DEVICE` hands over its resources:
/// `WindowsInterrupts::connect`). Built by `AddDevice` (PASSIVE_LEVEL).
#[derive(Debug)]
struct FdoPlatform {
    platform: WindowsPlatform,
    interrupts: WindowsInterrupts,
}

/// Builds the [`FdoPlatform`] for the FDO of `pdo`; see the module docs.
fn fdo_platform(pdo: *mut DEVICE_OBJECT) -> FdoPlatform {
    let platform = WindowsPlatform::new(xen_log_sink);
    // No resources before the start IRP: nothing is connected yet. `black_box` keeps the
    // connection path (and its kernel imports) in the image until the start glue calls it.
    let none: &[ntddk::CM_PARTIAL_RESOURCE_DESCRIPTOR] = core::hint::black_box(&[]);
    // SAFETY: PASSIVE_LEVEL (AddDevice); the PnP manager's PDO and (no) start resources.
    let interrupts = unsafe { WindowsInterrupts::connect(pdo, none, none) }
        .unwrap_or_else(|_| WindowsInterrupts::empty());
    FdoPlatform {
        platform,
        interrupts,
    }
}

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
    platform_windows::resolve_routines();
    ntddk::runtime::driver::register(driver, add_device, dispatch);
    STATUS_SUCCESS
}

/// `AddDevice`: not wired to the FDO yet (see the module docs).
unsafe extern "system" fn add_device(
    _driver: *mut DRIVER_OBJECT,
    pdo: *mut DEVICE_OBJECT,
) -> NTSTATUS {
    let fdo = fdo_platform(pdo);
    let p = fdo.platform;
    if matches!(p.read_dword(PARAMETERS_KEY, "PlatformSelfTest"), Ok(v) if v != 0) {
        match platform_windows::self_test(&p, &fdo.interrupts, PARAMETERS_KEY) {
            Ok(()) => plog!(p, Info, "xenbus|AddDevice: platform self-test passed"),
            Err(e) => plog!(p, Error, "xenbus|AddDevice: platform self-test failed: {e}"),
        }
    }
    fdo.interrupts.disconnect();
    plog!(
        p,
        Error,
        "xenbus|AddDevice: the FDO is not implemented in this build: device refused"
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
