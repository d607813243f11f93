// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's log exports: dispositions, the printf family (variadic and `va_list`, through the
//! Microsoft x64 convention), `LogReadLogLevel` against the stand-in's registry, and `DbgPrint`
//! capture: a line another driver prints with the kernel's `DbgPrintEx` reaches xen.sys's
//! debug-print callback, its capture DPC and then the dispositions, all through the stand-in's
//! kernel routines.

use super::{drv, eq, status};
use crate::harness::check;
use crate::nt::routines::{self, debug};
use crate::nt::verifier::{self, HIGH_LEVEL};
use crate::nt::xen_sys::Exports;
use alloc::vec::Vec;
use core::ffi::c_void;
use ntstatus::{STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS};

const LOG_LEVEL_NONE: u32 = 0;
const LOG_LEVEL_ERROR: u32 = 1 << 0;
const LOG_LEVEL_WARNING: u32 = 1 << 1;
const LOG_LEVEL_INFO: u32 = 1 << 3;
const LOG_LEVEL_CRITICAL: u32 = 0x8000_0000;
/// `DPFLTR_IHVDRIVER_ID`, `DPFLTR_ERROR_LEVEL`.
const IHVDRIVER: u32 = 77;
const DPFLTR_ERROR_LEVEL: u32 = 0;

/// What one disposition received.
#[derive(Debug, Default, Clone)]
struct Received {
    text: Vec<u8>,
    lines: u32,
    last_len: u32,
    terminated: bool,
    irql: u8,
}

/// The two dispositions' records, by the argument they were registered with (0 or 1).
static SINKS: spin::Mutex<[Option<Received>; 2]> = spin::Mutex::new([None, None]);

/// The disposition function: `VOID (PVOID Argument, PSTR Buffer, ULONG Length)`. Records the
/// line (it may not log: it runs under xen.sys's log lock).
unsafe extern "win64" fn sink(argument: *mut c_void, buffer: *mut u8, length: u32) {
    let irql = verifier::irql();
    let len = length as usize;
    let text = if buffer.is_null() {
        &[][..]
    } else {
        // SAFETY: the log hands a buffer of `length` bytes plus a NUL for the call.
        unsafe { core::slice::from_raw_parts(buffer, len) }
    };
    let terminated = !buffer.is_null()
        // SAFETY: as above: the byte after the line is its terminator.
        && unsafe { buffer.wrapping_add(len).read() } == 0;
    let mut sinks = SINKS.lock();
    if let Some(Some(r)) = sinks.get_mut(argument.addr()) {
        r.text.extend_from_slice(text);
        r.lines += 1;
        r.last_len = length;
        r.terminated = terminated;
        r.irql = irql;
    }
}

/// Forgets what sink `i` received.
fn reset(i: usize) {
    if let Some(slot) = SINKS.lock().get_mut(i) {
        *slot = Some(Received::default());
    }
}

/// What sink `i` received.
fn received(i: usize) -> Received {
    SINKS.lock().get(i).cloned().flatten().unwrap_or_default()
}

fn text(i: usize) -> alloc::string::String {
    alloc::string::String::from_utf8_lossy(&received(i).text).into_owned()
}

/// Prints through the kernel's `DbgPrintEx` as another driver would.
fn dbg_print(text: &core::ffi::CStr, value: u32) {
    let Some(entry) = routines::lookup("DbgPrintEx") else {
        return;
    };
    // SAFETY: the stand-in's own DbgPrintEx entry, a C-variadic Microsoft x64 routine.
    let f = unsafe {
        core::mem::transmute::<usize, unsafe extern "win64" fn(u32, u32, *const u8, ...) -> u32>(
            usize::try_from(entry.address).unwrap_or(0),
        )
    };
    // SAFETY: the format consumes exactly the one `%u` argument passed.
    drv(|| unsafe { f(IHVDRIVER, DPFLTR_ERROR_LEVEL, text.as_ptr().cast(), value) });
}

/// Every log check.
#[allow(clippy::too_many_lines)] // One scenario, told in order.
pub fn run(e: &Exports) {
    reset(0);
    reset(1);
    let mut info = core::ptr::null_mut::<c_void>();
    let mut warning = core::ptr::null_mut::<c_void>();
    // SAFETY: `sink` is a disposition function of this kernel; the argument is its index.
    let s = drv(|| unsafe {
        (e.log_add_disposition)(
            LOG_LEVEL_INFO | LOG_LEVEL_ERROR,
            Some(sink),
            core::ptr::null_mut(),
            &raw mut info,
        )
    });
    check(
        "nt.log.add_disposition",
        s == STATUS_SUCCESS && !info.is_null(),
        format_args!("status {:#x}, handle {info:p}", s.cast_unsigned()),
    );
    // SAFETY: as above, argument 1.
    let s = drv(|| unsafe {
        (e.log_add_disposition)(
            LOG_LEVEL_WARNING,
            Some(sink),
            core::ptr::with_exposed_provenance_mut(1),
            &raw mut warning,
        )
    });
    status("nt.log.add_second_disposition", s, STATUS_SUCCESS);

    // SAFETY: the format's conversions match the arguments (Microsoft x64 varargs).
    drv(|| unsafe {
        (e.log_printf)(
            LOG_LEVEL_INFO,
            c"%s %d %p|%-4s|%5d|%08x|%X|%c%c".as_ptr().cast(),
            c"boom".as_ptr(),
            -5i32,
            0x1234usize,
            c"ab".as_ptr(),
            -42i32,
            0xabcu32,
            0xbeefu32,
            i32::from(b'o'),
            i32::from(b'k'),
        );
    });
    let r = received(0);
    eq(
        "nt.log.printf_msvc_semantics",
        text(0).as_str(),
        "boom -5 0000000000001234|  ab|  -42|00000abc|BEEF|ok",
    );
    check(
        "nt.log.line_terminated_and_counted",
        r.lines == 1 && r.last_len == 52 && r.terminated,
        format_args!(
            "lines {}, length {}, terminated {}",
            r.lines, r.last_len, r.terminated
        ),
    );
    eq("nt.log.disposition_runs_at_high_level", r.irql, HIGH_LEVEL);
    eq("nt.log.mask_excludes_other_levels", received(1).lines, 0);

    reset(0);
    // SAFETY: the format has no conversions.
    drv(|| unsafe { (e.log_cch_printf)(LOG_LEVEL_INFO, 3, c"abcdef".as_ptr().cast()) });
    eq("nt.log.cch_printf_counts", text(0).as_str(), "abc");

    reset(0);
    let va: [u64; 3] = [
        c"x".as_ptr().addr() as u64,
        u64::MAX,
        u64::MAX, // -1 as a long long
    ];
    // SAFETY: a Windows x64 va_list is a pointer to 8-byte slots, one per argument.
    drv(|| unsafe {
        (e.log_vprintf)(LOG_LEVEL_INFO, c"%s=%llu %lld".as_ptr().cast(), va.as_ptr());
    });
    eq(
        "nt.log.vprintf_va_list",
        text(0).as_str(),
        "x=18446744073709551615 -1",
    );
    reset(0);
    let va: [u64; 3] = [1, 2, 3];
    // SAFETY: as above.
    drv(|| unsafe {
        (e.log_cch_vprintf)(LOG_LEVEL_INFO, 2, c"%u%u%u".as_ptr().cast(), va.as_ptr());
    });
    eq("nt.log.cch_vprintf_counts", text(0).as_str(), "12");

    reset(0);
    let mut big = [b'z'; 400];
    if let Some(last) = big.last_mut() {
        *last = 0;
    }
    // SAFETY: `big` is NUL-terminated.
    drv(|| unsafe { (e.log_printf)(LOG_LEVEL_INFO, c"%s".as_ptr().cast(), big.as_ptr()) });
    let r = received(0);
    check(
        "nt.log.long_line_cut_at_256",
        r.last_len == 256 && r.terminated,
        format_args!("length {}, terminated {}", r.last_len, r.terminated),
    );

    reset(0);
    reset(1);
    // SAFETY: no conversions.
    drv(|| unsafe { (e.log_printf)(LOG_LEVEL_WARNING, c"warn\n".as_ptr().cast()) });
    check(
        "nt.log.routes_by_level",
        text(1) == "warn\n" && received(0).lines == 0,
        format_args!(
            "warning sink {:?}, info sink {} lines",
            text(1),
            received(0).lines
        ),
    );

    // DbgPrint capture: another driver's line, through the kernel, xen.sys's callback and DPC.
    reset(0);
    let delivered = debug::counts().1;
    dbg_print(c"xenvif|NtTest: captured %u\n", 42);
    check(
        "nt.log.dbgprint_captured_to_dispositions",
        text(0) == "xenvif|NtTest: captured 42\n" && debug::counts().1 > delivered,
        format_args!("info sink {:?}", text(0)),
    );
    reset(0);
    dbg_print(c"ntfs|NtTest: not ours %u\n", 1);
    eq("nt.log.capture_keeps_only_xen_lines", received(0).lines, 0);

    // SAFETY: no pointers; re-registers the capture callback.
    drv(|| unsafe { (e.log_resume)() });
    reset(0);
    dbg_print(c"xenbus|NtTest: after resume %u\n", 7);
    check(
        "nt.log.resume_keeps_capture",
        debug::callback_count() == 1 && text(0) == "xenbus|NtTest: after resume 7\n",
        format_args!(
            "{} callbacks, info sink {:?}",
            debug::callback_count(),
            text(0)
        ),
    );

    read_log_level(e);

    // SAFETY: the handle came from LogAddDisposition.
    drv(|| unsafe { (e.log_remove_disposition)(info) });
    reset(0);
    // SAFETY: no conversions.
    drv(|| unsafe { (e.log_printf)(LOG_LEVEL_INFO, c"gone".as_ptr().cast()) });
    eq("nt.log.removed_disposition_silent", received(0).lines, 0);
    // SAFETY: NULL and a removed handle are ignored.
    drv(|| unsafe { (e.log_remove_disposition)(core::ptr::null_mut()) });
    // SAFETY: as above.
    drv(|| unsafe { (e.log_remove_disposition)(info) });
    reset(1);
    // SAFETY: no conversions.
    drv(|| unsafe { (e.log_printf)(LOG_LEVEL_WARNING, c"again".as_ptr().cast()) });
    eq("nt.log.stale_removal_harmless", received(1).lines, 1);
    // SAFETY: the second handle.
    drv(|| unsafe { (e.log_remove_disposition)(warning) });

    let mut none = core::ptr::with_exposed_provenance_mut::<c_void>(1);
    // SAFETY: an empty mask adds nothing.
    let s = drv(|| unsafe {
        (e.log_add_disposition)(LOG_LEVEL_NONE, None, core::ptr::null_mut(), &raw mut none)
    });
    check(
        "nt.log.empty_mask_adds_nothing",
        s == STATUS_SUCCESS && none.is_null(),
        format_args!("status {:#x}, handle {none:p}", s.cast_unsigned()),
    );
    if crate::nt::foreign_image() {
        // Upstream's LogAddDisposition takes a NULL function and calls it with the next line.
        crate::kprintln!("XTK-SKIP: nt.log.null_function_refused (our check; not this image's)");
        return;
    }
    // SAFETY: a NULL function is refused.
    let s = drv(|| unsafe {
        (e.log_add_disposition)(LOG_LEVEL_INFO, None, core::ptr::null_mut(), &raw mut none)
    });
    status("nt.log.null_function_refused", s, STATUS_INVALID_PARAMETER);
}

/// `LogReadLogLevel` on xen.sys's `Parameters` key, opened as a driver opens it; then, for our
/// image only, with a NULL key (our extension: xen.sys's own `Parameters` key; upstream's
/// `LogReadLogLevel` queries the handle it is given, so NULL is refused by the kernel).
fn read_log_level(e: &Exports) {
    let params = open_parameters();
    let mut level = 0xdead_beef_u32;
    // SAFETY: a key handle of ours, open until closed below; the name is NUL-terminated.
    let s = drv(|| unsafe {
        (e.log_read_log_level)(params, c"NtTestLogLevel".as_ptr().cast(), &raw mut level)
    });
    check(
        "nt.log.read_log_level_multi_sz",
        s == STATUS_SUCCESS && level == LOG_LEVEL_ERROR | LOG_LEVEL_WARNING | LOG_LEVEL_CRITICAL,
        format_args!("status {:#x}, level {level:#x}", s.cast_unsigned()),
    );
    // SAFETY: as above.
    let s = drv(|| unsafe {
        (e.log_read_log_level)(params, c"NoSuchLevel".as_ptr().cast(), &raw mut level)
    });
    check(
        "nt.log.read_log_level_missing",
        s == STATUS_OBJECT_NAME_NOT_FOUND && level == LOG_LEVEL_NONE,
        format_args!("status {:#x}, level {level:#x}", s.cast_unsigned()),
    );
    close(params);
    if crate::nt::foreign_image() {
        crate::kprintln!(
            "XTK-SKIP: nt.log.read_log_level_null_key (our extension; not this image's)"
        );
        return;
    }
    let mut level = 0xdead_beef_u32;
    // SAFETY: NULL key means xen.sys's Parameters key; the name is NUL-terminated.
    let s = drv(|| unsafe {
        (e.log_read_log_level)(
            core::ptr::null_mut(),
            c"NtTestLogLevel".as_ptr().cast(),
            &raw mut level,
        )
    });
    check(
        "nt.log.read_log_level_null_key",
        s == STATUS_SUCCESS && level == LOG_LEVEL_ERROR | LOG_LEVEL_WARNING | LOG_LEVEL_CRITICAL,
        format_args!("status {:#x}, level {level:#x}", s.cast_unsigned()),
    );
}

/// `ZwOpenKey` of xen.sys's `Parameters` key (kernel handle, case-insensitive), through the
/// stand-in's own entry.
fn open_parameters() -> *mut c_void {
    let mut path: alloc::vec::Vec<u16> = alloc::format!(r"{}\Parameters", crate::nt::SERVICE_KEY)
        .encode_utf16()
        .collect();
    let mut name = crate::nt::unicode_string(&mut path);
    let mut oa = ntddk::OBJECT_ATTRIBUTES {
        Length: u32::try_from(size_of::<ntddk::OBJECT_ATTRIBUTES>()).unwrap_or(0),
        RootDirectory: core::ptr::null_mut(),
        ObjectName: &raw mut name,
        Attributes: 0x240,
        SecurityDescriptor: core::ptr::null_mut(),
        SecurityQualityOfService: core::ptr::null_mut(),
    };
    let mut handle = core::ptr::null_mut();
    // SAFETY: valid arguments at PASSIVE_LEVEL; KEY_READ.
    let s = unsafe { crate::nt::kcall::zw_open_key(&raw mut handle, 0x2_0019, &raw mut oa) };
    check(
        "nt.log.parameters_key_opened",
        s == STATUS_SUCCESS && !handle.is_null(),
        format_args!("ZwOpenKey status {:#x}", s.cast_unsigned()),
    );
    handle
}

/// `ZwClose` through the stand-in's own entry.
fn close(handle: *mut c_void) {
    // SAFETY: a handle `open_parameters` opened, closed once.
    let _ = unsafe { crate::nt::kcall::zw_close(handle) };
}
