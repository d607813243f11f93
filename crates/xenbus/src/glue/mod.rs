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
//! `AddDevice` builds the FDO ([`fdo`]), and one dispatch routine routes every IRP by the
//! device object's owner ([`device`]): the FDO's Plug and Play and power IRPs ([`fdo`]), a
//! child PDO's ([`pdo`]); anything else an FDO receives goes down its stack, and anything else
//! a PDO receives completes with the status it carries. The decisions are `crate::pnp`'s and
//! `crate::interface`'s; [`compose`] builds the active FDO's subsystems over
//! `platform_windows` and xen.sys's exports; [`lower`] sends IRPs down and waits for them.
//!
//! When the service's `Parameters\PlatformSelfTest` DWORD is non-zero, `AddDevice` first runs
//! `platform_windows::self_test` (every platform service once, each step logged) to prove the
//! platform on a real Windows before the FDO uses it.

mod balloon;
mod bus;
mod compose;
mod device;
mod dma;
mod fdo;
mod fdo_irp;
mod log_mirror;
mod pdo;

use ntddk::registry::Key;
use ntddk::{
    DEVICE_OBJECT, DPFLTR_ERROR_LEVEL, DRIVER_OBJECT, IRP, IRP_MJ_PNP, IRP_MJ_POWER, NTSTATUS,
    STATUS_INCOMPATIBLE_DRIVER_BLOCKED, STATUS_SUCCESS, UNICODE_STRING, nt_success,
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

#[global_allocator]
static ALLOCATOR: ntddk::runtime::Allocator =
    ntddk::runtime::Allocator::new(u32::from_ne_bytes(*b"XBUS"));

/// `ConsoleLogLevel`, read at `DriverEntry` (upstream `DriverGetConsoleLogLevel`).
static CONSOLE_LOG_LEVEL: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// The levels the active FDO mirrors to the PV console.
fn console_log_level() -> u32 {
    CONSOLE_LOG_LEVEL.load(core::sync::atomic::Ordering::SeqCst)
}

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
    CONSOLE_LOG_LEVEL.store(
        log_mirror::console_log_level(parameters.raw()),
        core::sync::atomic::Ordering::SeqCst,
    );
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

/// `AddDevice`: the FDO on a platform device (see [`fdo::add_device`]).
unsafe extern "system" fn add_device(
    driver: *mut DRIVER_OBJECT,
    pdo: *mut DEVICE_OBJECT,
) -> NTSTATUS {
    let platform = WindowsPlatform::new(xen_log_sink);
    if matches!(platform.read_dword(PARAMETERS_KEY, "PlatformSelfTest"), Ok(v) if v != 0) {
        let interrupts = WindowsInterrupts::empty();
        match platform_windows::self_test(&platform, &interrupts, PARAMETERS_KEY) {
            Ok(()) => plog!(
                platform,
                Info,
                "xenbus|AddDevice: platform self-test passed"
            ),
            Err(e) => plog!(
                platform,
                Error,
                "xenbus|AddDevice: platform self-test failed: {e}"
            ),
        }
    }
    // SAFETY: the I/O manager's driver object and PDO, at PASSIVE_LEVEL.
    unsafe { fdo::add_device(device::DriverPtr(driver), pdo, platform) }
}

/// Every IRP: routed by the device object's owner (see the module docs).
unsafe extern "system" fn dispatch(device: *mut DEVICE_OBJECT, irp: *mut IRP) -> NTSTATUS {
    // SAFETY: the I/O manager hands us an IRP for one of our device objects, at the IRQL of
    // its dispatch routine.
    let Some(irp) = (unsafe { ntddk::runtime::irp::HeldIrp::new(irp) }) else {
        return ntddk::STATUS_INVALID_PARAMETER;
    };
    let major = irp.location().MajorFunction;
    // SAFETY: one of our device objects.
    match unsafe { device::owner(device) } {
        Some(device::Owner::Fdo(fdo)) => match major {
            IRP_MJ_PNP => fdo_irp::dispatch_pnp(&fdo, irp),
            IRP_MJ_POWER => fdo_irp::dispatch_power(&fdo, irp),
            _ => irp.pass_down(fdo.lower),
        },
        Some(device::Owner::Pdo(pdo)) => match major {
            IRP_MJ_PNP => pdo::dispatch_pnp(&pdo, irp),
            IRP_MJ_POWER => pdo::dispatch_power(&pdo, irp),
            _ => irp.complete_as_is(),
        },
        // A device object whose owner is gone (removed): upstream's answer for a deleted
        // device.
        None => {
            let minor = irp.location().MinorFunction;
            let removal = major == IRP_MJ_PNP
                && matches!(
                    minor,
                    ntddk::IRP_MN_SURPRISE_REMOVAL | ntddk::IRP_MN_REMOVE_DEVICE
                );
            let status = if removal {
                STATUS_SUCCESS
            } else {
                ntddk::STATUS_NO_SUCH_DEVICE
            };
            irp.complete(status, 0)
        }
    }
}

/// `DriverUnload`: releases the `Parameters` key.
unsafe extern "system" fn driver_unload(_driver: *mut DRIVER_OBJECT) {
    drop(PARAMETERS.lock().take());
    ntddk::runtime::report_held("xenbus|DriverUnload");
}
