// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Windows glue of xen.sys: the image's entry points and the [`Platform`] over the kernel.
//!
//! xen.sys is an export driver. The kernel loads it when xenbus.sys or xenfilt.sys imports it
//! and calls `DllInitialize` with `\Registry\Machine\...\Services\XEN`; `DriverEntry` is a
//! stub, as upstream's. `DllInitialize` runs upstream's load order as far as the portable core
//! reaches today, each failure unwinding what came before:
//!
//! 1. the image runtime, and the kernel debugger's filter for our component's levels;
//! 2. the service key, `Parameters`, `Unplug`, `ForceUnplug` and the volatile `Memory` key;
//! 3. the log ([`crate::export::initialize_log`]: `XEN:DBG_PRINT`, the port dispositions,
//!    the version line), then the `DbgPrint` capture callback if capture is on;
//! 4. hypercall set-up: Xen's CPUID leaves; without them the load fails with
//!    `STATUS_NOT_SUPPORTED` (a machine without Xen);
//! 5. `RealTimeIsUniversal` ([`crate::system::real_time_is_universal`]), the physical memory
//!    map ([`memory_map`]: a failure fails the load, as upstream's `SystemInitialize`), the
//!    `vcpu_info` policy and pages ([`vcpu_info`]) and the processor table with its
//!    processor-change callback ([`processors`]);
//! 6. the bug-check callback ([`bug_check`], upstream's `BugCheckInitialize`);
//! 7. the loaded-module list and its load-image notify routine ([`module`], upstream's
//!    `ModuleInitialize`);
//! 8. the process notify routine ([`process`], upstream's `ProcessInitialize`);
//! 9. the unplug decisions ([`crate::export::unplug::initialize`]).
//!
//! `DllUnload` undoes them in the reverse order.
//!
//! What xen.sys holds when it fails or unloads is released, and the counts of pool blocks and
//! registry handles still held are logged, so a leak shows.

mod bug_check;
mod capture;
mod memory_map;
mod module;
mod platform;
mod process;
mod processors;
mod vcpu_info;

use ntddk::registry::Key;
use ntddk::{
    DPFLTR_ERROR_LEVEL, DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, DPFLTR_TRACE_LEVEL,
    DPFLTR_WARNING_LEVEL, DRIVER_OBJECT, NTSTATUS, STATUS_SUCCESS, UNICODE_STRING,
};

use crate::export::{self, DebugLevel, LogLoaded};
use crate::hypercall::Xen;
use crate::log::LogArg;
use platform::{KEYS, Keys, PLATFORM};

#[global_allocator]
static ALLOCATOR: ntddk::runtime::Allocator =
    ntddk::runtime::Allocator::new(u32::from_ne_bytes(*b"XEN "));

/// What a successful `DllInitialize` holds until `DllUnload`.
struct Loaded {
    log: LogLoaded,
    bug_check: bug_check::Registered,
    modules: module::Registered,
    process: process::Registered,
}

/// The state between `DllInitialize` and `DllUnload` (PASSIVE_LEVEL only: both run there).
static LOADED: spin::Mutex<Option<Loaded>> = spin::Mutex::new(None);

/// The hypervisor the exports call, once detected.
static XEN: spin::Once<Xen> = spin::Once::new();

/// The driver entry point: a stub, as upstream's (the kernel calls `DllInitialize` when it
/// loads xen.sys for an importer).
///
/// # Safety
/// Called only by the I/O manager.
// SAFETY: the image's entry point (`/ENTRY:DriverEntry`); nothing else defines the name.
#[unsafe(export_name = "DriverEntry")]
pub unsafe extern "system" fn driver_entry(
    _driver: *mut DRIVER_OBJECT,
    _registry_path: *mut UNICODE_STRING,
) -> NTSTATUS {
    ntddk::runtime::init(c"xen");
    STATUS_SUCCESS
}

/// `DllInitialize`: see the module docs.
///
/// # Safety
/// Called only by the kernel's loader, at PASSIVE_LEVEL, with the service key's path.
// SAFETY: the export upstream's `xen.def` names; nothing else defines it.
#[unsafe(export_name = "DllInitialize")]
pub unsafe extern "system" fn dll_initialize(registry_path: *mut UNICODE_STRING) -> NTSTATUS {
    ntddk::runtime::init(c"xen");
    enable_debug_output();
    // SAFETY: the loader passes a valid path (or NULL, refused inside).
    match unsafe { initialize(registry_path) } {
        Ok(loaded) => {
            *LOADED.lock() = Some(loaded);
            STATUS_SUCCESS
        }
        Err(status) => {
            ntddk::runtime::report_held("xen|DllInitialize");
            status
        }
    }
}

/// `DllUnload`: undoes `DllInitialize`.
///
/// # Safety
/// Called only by the kernel's loader, at PASSIVE_LEVEL, after the importers unloaded.
// SAFETY: the export upstream's `xen.def` names; nothing else defines it.
#[unsafe(export_name = "DllUnload")]
pub unsafe extern "system" fn dll_unload() -> NTSTATUS {
    if let Some(loaded) = LOADED.lock().take() {
        export::unplug::teardown();
        loaded.process.deregister();
        loaded.modules.teardown();
        loaded.bug_check.deregister();
        platform::forget_real_time();
        processors::forget();
        memory_map::forget();
        export::remove_hypervisor();
        unwind_log(&loaded.log);
    }
    ntddk::runtime::report_held("xen|DllUnload");
    STATUS_SUCCESS
}

/// Lets our component's ERROR, WARNING, TRACE and INFO messages through the debugger's filter,
/// as upstream's `__DbgPrintEnable`.
fn enable_debug_output() {
    for level in [
        DPFLTR_ERROR_LEVEL,
        DPFLTR_WARNING_LEVEL,
        DPFLTR_TRACE_LEVEL,
        DPFLTR_INFO_LEVEL,
    ] {
        // SAFETY: PASSIVE_LEVEL (DllInitialize); a documented component and level.
        let _status =
            unsafe { ntddk::routines::DbgSetDebugFilterState(DPFLTR_IHVDRIVER_ID, level, 1) };
    }
}

/// Steps 2 to 9 of the module docs.
///
/// # Safety
/// `registry_path` is NULL or a valid `UNICODE_STRING`.
unsafe fn initialize(registry_path: *mut UNICODE_STRING) -> Result<Loaded, NTSTATUS> {
    // SAFETY: the caller's contract.
    let path = unsafe { registry_path.as_mut() }.ok_or(ntddk::STATUS_INVALID_PARAMETER)?;
    let service = Key::create_unicode(None, path, false)?;
    let keys = Keys {
        parameters: Key::create(Some(&service), "Parameters", false)?,
        unplug: Key::create(Some(&service), "Unplug", false)?,
        force_unplug: Key::create(Some(&service), "ForceUnplug", false)?,
        memory: Key::create(Some(&service), "Memory", true)?,
    };
    drop(service);
    *KEYS.write() = Some(keys);

    let log = export::initialize_log(&PLATFORM);
    if log.capture {
        capture::register();
    }

    let xen = match Xen::detect() {
        Ok(xen) => *XEN.call_once(|| xen),
        Err(e) => {
            let status = e.ntstatus();
            export::debug_message(
                DebugLevel::Error,
                "DllInitialize",
                b"no Xen hypervisor: base CPUID leaf not found (%08x)\n",
                &[LogArg::Int(u64::from(status.cast_unsigned()))],
            );
            unwind_log(&log);
            return Err(status);
        }
    };
    export::debug_message(
        DebugLevel::Info,
        "DllInitialize",
        b"Xen found: CPUID base %08x\n",
        &[LogArg::Int(u64::from(xen.detected.base))],
    );
    if let Some(xen) = XEN.get() {
        export::install_hypervisor(xen);
    }
    platform::read_real_time();
    if let Err(status) = memory_map::read() {
        unwind_system(&log);
        return Err(status);
    }
    if let Err(status) = processors::initialize() {
        unwind_system(&log);
        return Err(status);
    }
    let bug_check = match bug_check::register() {
        Ok(registered) => registered,
        Err(status) => {
            export::debug_message(
                DebugLevel::Error,
                "BugCheckInitialize",
                b"fail1 (%08x)\n",
                &[LogArg::Int(u64::from(status.cast_unsigned()))],
            );
            unwind_system(&log);
            return Err(status);
        }
    };
    let modules = match module::initialize() {
        Ok(registered) => registered,
        Err(status) => {
            export::debug_message(
                DebugLevel::Error,
                "ModuleInitialize",
                b"fail1 (%08x)\n",
                &[LogArg::Int(u64::from(status.cast_unsigned()))],
            );
            bug_check.deregister();
            unwind_system(&log);
            return Err(status);
        }
    };
    let process = match process::register() {
        Ok(registered) => registered,
        Err(status) => {
            export::debug_message(
                DebugLevel::Error,
                "ProcessInitialize",
                b"fail2 (%08x)\n",
                &[LogArg::Int(u64::from(status.cast_unsigned()))],
            );
            modules.teardown();
            bug_check.deregister();
            unwind_system(&log);
            return Err(status);
        }
    };
    // Nothing after this step fails today; a step that can must undo the steps above in its
    // unwind, as upstream's `fail14` does.
    let _unplug = export::unplug::initialize(&PLATFORM);
    Ok(Loaded {
        log,
        bug_check,
        modules,
        process,
    })
}

/// Undoes steps 5 and 4, then the log: the unwind of any step from
/// the bug-check callback's on.
fn unwind_system(log: &LogLoaded) {
    platform::forget_real_time();
    processors::forget();
    memory_map::forget();
    export::remove_hypervisor();
    unwind_log(log);
}

/// Undoes the log step and closes the keys.
fn unwind_log(log: &LogLoaded) {
    if log.capture {
        capture::unregister();
    }
    export::teardown_log(log);
    *KEYS.write() = None;
}
