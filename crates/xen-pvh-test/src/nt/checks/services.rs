// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's service exports that live on the kernel rather than on Xen: the unplug counters in
//! the registry, the `SystemStartOptions` token lookup, the `System*` processor queries, module
//! lookup with NULL outputs (its answers are `super::modules`') and the class filters; and the
//! watchdog scenario.
//!
//! Where an export writes the registry, the check reads the stand-in's hive itself. Where
//! another engineer's work is still landing (the `System*` processor queries, class filters,
//! the active-device store), the checks hold xen.sys to the contract of
//! `crates/xen/include/xen.h` whichever way it answers today (a documented failure, or an
//! answer that must then be right), rather than to one implementation.

use super::{drv, eq, status};
use crate::harness::check;
use crate::kprintln;
use crate::nt::SERVICE_KEY;
use crate::nt::hive::{self, REG_DWORD};
use crate::nt::routines::{mm, pool, registry};
use crate::nt::xen_sys::Exports;
use ntddk::ANSI_STRING;
use ntstatus::{
    STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS,
};

const UNPLUG_DISKS: u32 = 0;
const UNPLUG_NICS: u32 = 1;

/// `XEN\Unplug\<name>` as the hive holds it: `Some(value)` for a `REG_DWORD`.
fn unplug_value(name: &str) -> Option<u32> {
    registry::with(|r| {
        let key = r.hive.find(&alloc::format!(r"{SERVICE_KEY}\Unplug"))?;
        let v = r.hive.value(key, &hive::wide(name))?;
        let bytes: [u8; 4] = v.data.as_slice().try_into().ok()?;
        (v.kind == REG_DWORD).then_some(u32::from_le_bytes(bytes))
    })
    .flatten()
}

/// Every service check.
pub fn run(e: &Exports) {
    unplug(e);
    config(e);
    system(e);
}

/// `UnplugGetRequest`, `UnplugIncrementValue`, `UnplugDecrementValue`.
fn unplug(e: &Exports) {
    let requests = [UNPLUG_DISKS, UNPLUG_NICS, 7].map(|kind| {
        // SAFETY: no pointers.
        drv(|| unsafe { (e.unplug_get_request)(kind) })
    });
    if crate::boot::is_hvm() {
        // The HVM guest's hive forces disks and NICs (`XEN\ForceUnplug`); unknown types are
        // never requested.
        eq("nt.unplug.forced_requests_this_boot", requests, [1, 1, 0]);
    } else {
        // No Unplug values were set before this boot and Enum\XENBUS has no frontend: nothing
        // is unplugged.
        eq("nt.unplug.no_requests_this_boot", requests, [0, 0, 0]);
    }
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.unplug_increment_value)(UNPLUG_DISKS) });
    check(
        "nt.unplug.increment_from_missing",
        s == STATUS_SUCCESS && unplug_value("DISKS") == Some(1),
        format_args!(
            "status {:#x}, registry DISKS {:?}",
            s.cast_unsigned(),
            unplug_value("DISKS")
        ),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.unplug_increment_value)(UNPLUG_DISKS) });
    check(
        "nt.unplug.increment_again",
        s == STATUS_SUCCESS && unplug_value("DISKS") == Some(2),
        format_args!(
            "status {:#x}, registry DISKS {:?}",
            s.cast_unsigned(),
            unplug_value("DISKS")
        ),
    );
    let s = [UNPLUG_DISKS; 2].map(|kind| {
        // SAFETY: no pointers.
        drv(|| unsafe { (e.unplug_decrement_value)(kind) })
    });
    check(
        "nt.unplug.decrement_to_zero",
        s == [STATUS_SUCCESS; 2] && unplug_value("DISKS") == Some(0),
        format_args!(
            "statuses {s:x?}, registry DISKS {:?}",
            unplug_value("DISKS")
        ),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.unplug_decrement_value)(UNPLUG_DISKS) });
    check(
        "nt.unplug.decrement_at_zero_refused",
        s == STATUS_INVALID_PARAMETER && unplug_value("DISKS") == Some(0),
        format_args!(
            "status {:#x}, registry DISKS {:?}",
            s.cast_unsigned(),
            unplug_value("DISKS")
        ),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.unplug_decrement_value)(UNPLUG_NICS) });
    status(
        "nt.unplug.decrement_missing",
        s,
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.unplug_increment_value)(7) });
    status(
        "nt.unplug.unknown_type_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
}

/// The option token `ConfigQuerySystemStartOption` returns for `key`, freed again.
fn start_option(e: &Exports, key: &core::ffi::CStr) -> (i32, Option<alloc::vec::Vec<u8>>, bool) {
    let mut array = core::ptr::null_mut::<ANSI_STRING>();
    // SAFETY: a NUL-terminated key and an output pointer of ours.
    let s = drv(|| unsafe {
        (e.config_query_system_start_option)(key.as_ptr().cast_mut().cast(), &raw mut array)
    });
    if s != STATUS_SUCCESS || array.is_null() {
        return (s, None, false);
    }
    // SAFETY: on success xen.sys hands out a two-entry array: the token, then a NULL entry.
    let [first, second] = unsafe { array.cast::<[ANSI_STRING; 2]>().read_unaligned() };
    let token = if first.Buffer.is_null() {
        None
    } else {
        // SAFETY: the entry describes `Length` bytes at `Buffer`, NUL-terminated.
        let bytes = unsafe {
            core::slice::from_raw_parts(first.Buffer, usize::from(first.Length).saturating_add(1))
        };
        Some(bytes.to_vec())
    };
    let was_pool = pool::block(array.addr()).is_some();
    // SAFETY: the array came from ConfigQuerySystemStartOption and is freed once.
    drv(|| unsafe { (e.config_free_sz_value)(array) });
    let freed = was_pool && pool::block(array.addr()).is_none();
    (s, token, second.Buffer.is_null() && freed)
}

/// `ConfigQuerySystemStartOption`/`ConfigFreeSzValue` over the stand-in's
/// `SystemStartOptions`, and `ConfigGetActive`.
fn config(e: &Exports) {
    let (s, token, freed) = start_option(e, c"XEN:WATCHDOG=");
    check(
        "nt.config.start_option_token",
        s == STATUS_SUCCESS && token.as_deref() == Some(b"XEN:WATCHDOG=0x1e\0"),
        format_args!("status {:#x}, token {token:?}", s.cast_unsigned()),
    );
    check(
        "nt.config.start_option_array_freed",
        freed,
        format_args!("the NULL-terminated array was pool and ConfigFreeSzValue freed it"),
    );
    let (s, _, _) = start_option(e, c"XEN:NOSUCH=");
    status(
        "nt.config.start_option_missing",
        s,
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
    let (s, _, _) = start_option(e, c"xen:balloon=");
    status(
        "nt.config.start_option_case_sensitive",
        s,
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
    let mut value = core::ptr::null_mut::<u8>();
    // SAFETY: a NUL-terminated key and an output pointer of ours.
    let s = drv(|| unsafe { (e.config_get_active)(c"DeviceID".as_ptr().cast(), &raw mut value) });
    let ok = if s == STATUS_SUCCESS {
        let pooled = pool::block(value.addr()).is_some();
        // SAFETY: a value ConfigGetActive handed out, freed once.
        drv(|| unsafe { (e.config_free_active)(value) });
        pooled
    } else {
        s < 0 && value.is_null()
    };
    check(
        "nt.config.get_active_contract",
        ok,
        format_args!(
            "status {:#x}: a failure leaves no value, a success hands out pool it frees",
            s.cast_unsigned()
        ),
    );
}

/// `System*` processor queries, `ModuleLookup`, `Filters*`.
fn system(e: &Exports) {
    // SAFETY: a NULL output is refused.
    let s = drv(|| unsafe { (e.system_processor_vcpu_id)(0, core::ptr::null_mut()) });
    status(
        "nt.system.vcpu_id_null_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    let mut id = u32::MAX;
    // SAFETY: `id` is ours.
    let s = drv(|| unsafe { (e.system_processor_vcpu_id)(0, &raw mut id) });
    check(
        "nt.system.vcpu_id_of_cpu0",
        (s == STATUS_SUCCESS && id == 0) || s == STATUS_NOT_SUPPORTED,
        format_args!("status {:#x}, vcpu id {id}", s.cast_unsigned()),
    );
    // SAFETY: a NULL output is refused.
    let s = drv(|| unsafe { (e.system_processor_vcpu_info)(0, core::ptr::null_mut()) });
    status(
        "nt.system.vcpu_info_null_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    // SAFETY: no pointers.
    let top = drv(|| unsafe { (e.system_maximum_physical_address)() });
    // xen.sys read the memory map at DllInitialize: its answer is the highest RAM address the
    // stand-in's MmGetPhysicalMemoryRanges reported (from Xen's E820 map).
    let reported = mm::reported_maximum();
    check(
        "nt.system.maximum_physical_address",
        reported.is_some_and(|r| u64::try_from(top).ok() == Some(r)),
        format_args!(
            "{top:#x}; MmGetPhysicalMemoryRanges reported RAM up to {reported:#x?} ({:x?})",
            mm::ram_ranges()
        ),
    );
    // SAFETY: NULL outputs are skipped.
    drv(|| unsafe { (e.module_lookup)(0, core::ptr::null_mut(), core::ptr::null_mut()) });
    // SAFETY: no pointers.
    drv(|| unsafe { (e.filters_install)() });
    // SAFETY: no pointers.
    drv(|| unsafe { (e.filters_uninstall)() });
    check(
        "nt.system.filters_keep_kernel_rules",
        true,
        format_args!("FiltersInstall and FiltersUninstall returned without breaking a rule"),
    );
}

/// The watchdog scenario: xenbus.sys's part, through xen.sys's exports: the `XEN:WATCHDOG=`
/// option read back from `SystemStartOptions`, parsed, armed with `SystemSetWatchdog`, and never
/// patted. Xen then shuts the domain down with `SHUTDOWN_watchdog`.
pub fn watchdog(e: &Exports) {
    let (s, token, _) = start_option(e, c"XEN:WATCHDOG=");
    let seconds = token
        .as_deref()
        .and_then(|t| t.strip_prefix(b"XEN:WATCHDOG="))
        .and_then(|t| t.split(|&b| b == 0).next())
        .and_then(|t| core::str::from_utf8(t).ok())
        .and_then(|t| t.parse::<u32>().ok())
        .unwrap_or(0);
    check(
        "nt.watchdog.option_read",
        s == STATUS_SUCCESS && seconds == 10,
        format_args!("status {:#x}, {seconds} s", s.cast_unsigned()),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.system_set_watchdog)(seconds) });
    if !status("nt.watchdog.armed", s, STATUS_SUCCESS) {
        return;
    }
    kprintln!("NT-WATCHDOG: armed {seconds} s through SystemSetWatchdog");
    let mut waited = 0u32;
    loop {
        // SAFETY: no pointers; yielding keeps the domain runnable without patting the watchdog.
        drv(|| unsafe { (e.sched_yield)() });
        crate::arch::pause();
        waited = waited.wrapping_add(1);
        if waited.is_multiple_of(1_000_000) {
            kprintln!("NT-WATCHDOG: still running");
        }
    }
}
