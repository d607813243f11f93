// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Windows glue of xenfilt.sys: the image's entry points, applying the core's answers as the
//! crate docs ("How the glue applies the answers") say, deciding nothing.
//!
//! `DriverEntry` follows upstream's order: the image runtime, `DriverUnload`, the version line,
//! then `XenTouch`, which loads xen.sys and compares package versions. When `XenTouch` fails
//! (no Xen, xen.sys not initialised, another version) the driver returns success but stays
//! inert, with no `AddDevice` and no dispatch routines, as upstream's. Otherwise it opens its
//! `Parameters` key ([`registry`]), builds the core's [`Driver`] (Safe Mode from
//! `*InitSafeBootMode`) and registers `AddDevice` and one dispatch routine for every IRP.
//!
//! * `AddDevice` asks the PDO's stack for its hardware and compatible IDs ([`probe`]); when
//!   [`crate::driver::add_device`] names a type, it creates and attaches a bus filter
//!   ([`device`]), asks the bus for its device and instance IDs and hands them to
//!   [`Driver::add_fdo`].
//! * Every IRP goes through [`irp::dispatch`]; a bus filter's `BusRelations` through
//!   [`relations`]; the `XENFILT_EMULATED` tables are [`emulated`]'s.
//!
//! # The driver lock
//!
//! The core ([`Driver`]) and the table naming each core id's device object live in one
//! [`Filter`] behind a `DISPATCH_LEVEL` spin lock (a platform-port [`IrqlLock`] over the
//! kernel's IRQL): power IRPs and their completion routines, and the `XENFILT_EMULATED`
//! methods, may run at `DISPATCH_LEVEL`. The lock is held only while the core decides; every
//! kernel call that sends an IRP, waits, deletes a device object or reads the registry is
//! made with it released (the registry values a `BusRelations` decision reads are read just
//! before, see [`Driver::bus_relations_parameters`]).

mod device;
mod emulated;
mod irp;
mod probe;
mod registry;
mod relations;

use alloc::vec::Vec;
use core::ffi::c_void;

use ntddk::runtime::irp::HeldIrp;
use ntddk::{
    BusQueryCompatibleIDs, BusQueryDeviceID, BusQueryHardwareIDs, BusQueryInstanceID,
    DEVICE_OBJECT, DPFLTR_ERROR_LEVEL, DPFLTR_INFO_LEVEL, DRIVER_OBJECT, IRP, NTSTATUS,
    STATUS_NO_MEMORY, STATUS_SUCCESS, UNICODE_STRING, nt_success,
};
use platform_port::IrqlLock;
use platform_windows::Kernel;
use xen_services::PACKAGE_VERSION;

use self::device::{DevicePtr, FDO_TAG};
use self::registry::ParametersKey;
use crate::driver::{DeviceRef, Driver};
use crate::pnp::DeviceHandle;

#[global_allocator]
static ALLOCATOR: ntddk::runtime::Allocator =
    ntddk::runtime::Allocator::new(u32::from_ne_bytes(*b"FILT"));

/// Pool tag of the buffers handed to the PnP manager (upstream's `'TLIF'`, "FILT" in memory).
const POOL_TAG: u32 = u32::from_ne_bytes(*b"FILT");

/// The filter: the core and the device object of each id it knows.
struct Filter {
    driver: Driver,
    devices: Vec<(DeviceRef, DevicePtr)>,
}

impl Filter {
    /// The device object of `id`.
    fn device(&self, id: DeviceRef) -> Option<DevicePtr> {
        self.devices
            .iter()
            .find(|(d, _)| *d == id)
            .map(|&(_, device)| device)
    }

    /// Takes `id`'s device object out of the table.
    fn take_device(&mut self, id: DeviceRef) -> Option<DevicePtr> {
        let index = self.devices.iter().position(|(d, _)| *d == id)?;
        Some(self.devices.swap_remove(index).1)
    }
}

/// The driver lock and what it guards: `None` until `DriverEntry` passed `XenTouch`, and
/// after `DriverUnload`.
static FILTER: IrqlLock<Kernel, Option<Filter>> = IrqlLock::dispatch(Kernel, None);

/// Runs `f` on the filter under the driver lock (`<= DISPATCH_LEVEL`); `None` when there is
/// no filter. `f` must not wait, send IRPs or read the registry.
fn with_filter<R>(f: impl FnOnce(&mut Filter) -> R) -> Option<R> {
    let mut guard = FILTER.lock();
    guard.as_mut().map(f)
}

/// `Interface->Context` of the `XENFILT_EMULATED` tables: the driver lock's address.
fn emulated_context() -> *mut c_void {
    (&raw const FILTER).cast_mut().cast()
}

/// Takes `id`'s device object out of the table, then detaches and deletes it (PASSIVE_LEVEL).
fn destroy(id: DeviceRef) {
    if let Some(device) = with_filter(|f| f.take_device(id)).flatten() {
        // SAFETY: our filter, out of the table; the core forgot `id`.
        unsafe { device::destroy(device) };
    }
}

/// xen.sys's `UnplugDevices()` (PASSIVE_LEVEL).
fn unplug_devices() {
    ntddk::runtime::print(DPFLTR_INFO_LEVEL, b"xenfilt|UnplugDevices\n");
    // SAFETY: PASSIVE_LEVEL; xen.sys is loaded (`XenTouch` succeeded before any device).
    unsafe { xen_services::imports::UnplugDevices() };
}

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
    registry::install(parameters);
    // SAFETY: the kernel's `InitSafeBootMode` variable, read once (any IRQL).
    let safe_mode = unsafe { (&raw const ntddk::routines::InitSafeBootMode).read_volatile() } != 0;
    if safe_mode {
        ntddk::runtime::print(
            DPFLTR_INFO_LEVEL,
            b"xenfilt|DriverEntry: Safe Mode: nothing will be unplugged\n",
        );
    }
    let filter = Filter {
        driver: Driver::new(safe_mode),
        devices: Vec::new(),
    };
    let old = FILTER.lock().replace(filter);
    drop(old);
    ntddk::runtime::driver::register(driver, add_device, dispatch);
    STATUS_SUCCESS
}

/// `AddDevice` (upstream's `DriverAddDevice` and `FdoCreate`; see the module docs).
unsafe extern "system" fn add_device(
    driver: *mut DRIVER_OBJECT,
    pdo: *mut DEVICE_OBJECT,
) -> NTSTATUS {
    // SAFETY: the PnP manager's PDO, at PASSIVE_LEVEL.
    let hardware = unsafe { probe::id_list(pdo, true, BusQueryHardwareIDs) };
    // SAFETY: as above.
    let compatible = unsafe { probe::id_list(pdo, true, BusQueryCompatibleIDs) };
    let ty = crate::driver::add_device(
        hardware.as_ref().ok(),
        compatible.as_ref().ok(),
        &ParametersKey::current(),
    );
    let Some(ty) = ty else {
        return STATUS_SUCCESS;
    };
    // SAFETY: our driver object and the PnP manager's PDO.
    let (filter, lower) = match unsafe { device::create_filter(driver, pdo, FDO_TAG) } {
        Ok(made) => made,
        Err(status) => {
            ntddk::runtime::print_fmt(
                DPFLTR_ERROR_LEVEL,
                format_args!(
                    "xenfilt|AddDevice: {} bus: no filter ({:08x})\n",
                    ty.name(),
                    status.cast_unsigned()
                ),
            );
            return status;
        }
    };
    // SAFETY: our filter's lower device, attached just above.
    let device_id = unsafe { probe::id(lower.as_ptr(), false, BusQueryDeviceID) };
    // SAFETY: as above.
    let instance_id = unsafe { probe::id(lower.as_ptr(), false, BusQueryInstanceID) };
    let bus = DeviceHandle(pdo.expose_provenance());
    let added = with_filter(|f| {
        f.devices.try_reserve(1).map_err(|_| STATUS_NO_MEMORY)?;
        let id = f.driver.add_fdo(bus, ty, device_id, instance_id)?;
        f.devices.push((DeviceRef::Fdo(id), filter));
        let name = f.driver.fdo(id).map(|fdo| fdo.name().to_vec());
        Ok((id, name.unwrap_or_default()))
    })
    .unwrap_or(Err(ntddk::STATUS_NO_SUCH_DEVICE));
    match added {
        Ok((id, name)) => {
            // SAFETY: made above, not registered yet.
            unsafe { device::register(filter, DeviceRef::Fdo(id)) };
            ntddk::runtime::print_fmt(
                DPFLTR_INFO_LEVEL,
                format_args!(
                    "xenfilt|AddDevice: {} ({})\n",
                    core::str::from_utf8(&name).unwrap_or("?"),
                    ty.name()
                ),
            );
            STATUS_SUCCESS
        }
        Err(status) => {
            ntddk::runtime::print_fmt(
                DPFLTR_ERROR_LEVEL,
                format_args!(
                    "xenfilt|AddDevice: {} bus: IDs unknown ({:08x})\n",
                    ty.name(),
                    status.cast_unsigned()
                ),
            );
            // SAFETY: made above, never listed nor reachable.
            unsafe { device::destroy(filter) };
            status
        }
    }
}

/// Every IRP (see [`irp::dispatch`]).
unsafe extern "system" fn dispatch(device: *mut DEVICE_OBJECT, irp: *mut IRP) -> NTSTATUS {
    // SAFETY: the I/O manager hands us an IRP for one of our device objects, at the IRQL of
    // its dispatch routine.
    let Some(irp) = (unsafe { HeldIrp::new(irp) }) else {
        return ntddk::STATUS_INVALID_PARAMETER;
    };
    irp::dispatch(device, irp)
}

/// `DriverUnload`: drops the filter (every device is gone by now) and the `Parameters` key.
unsafe extern "system" fn driver_unload(_driver: *mut DRIVER_OBJECT) {
    let filter = FILTER.lock().take();
    if let Some(filter) = &filter
        && (!filter.driver.fdos().is_empty() || !filter.devices.is_empty())
    {
        ntddk::runtime::print_fmt(
            DPFLTR_ERROR_LEVEL,
            format_args!(
                "xenfilt|DriverUnload: {} bus filter(s) and {} device(s) still listed\n",
                filter.driver.fdos().len(),
                filter.devices.len()
            ),
        );
    }
    drop(filter);
    registry::remove();
    ntddk::runtime::report_held("xenfilt|DriverUnload");
}
