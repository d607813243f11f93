// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's `HIGH_LOCK` goes through the installed platform's `Irql`: a log disposition runs at
//! `HIGH_LEVEL` on the host seam's checking processor, and the caller's IRQL is restored after.
//! (One test in this binary: the exports' state is global.)

use core::ffi::{c_char, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use platform_port::std_impl::StdPlatform;
use platform_port::{Irql, IrqlLevel};
use xen::export::STATUS_SUCCESS;
use xen::export::log::{log_add_disposition, log_remove_disposition};
use xen::log::Level;

/// The IRQL the disposition saw (`u8::MAX`: not called).
static SEEN: AtomicU8 = AtomicU8::new(u8::MAX);
/// How many lines the disposition received.
static LINES: AtomicU32 = AtomicU32::new(0);

/// The checking platform's view of this thread's IRQL (tracked per thread, so any
/// `StdPlatform` sees the level the host seam's raised).
fn irql() -> IrqlLevel {
    static PLATFORM: OnceLock<StdPlatform> = OnceLock::new();
    PLATFORM.get_or_init(|| StdPlatform::new(1)).current_irql()
}

unsafe extern "C" fn disposition(_argument: *mut c_void, _buffer: *mut c_char, _length: u32) {
    SEEN.store(irql().0, Ordering::SeqCst);
    LINES.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn dispositions_run_at_high_level_and_the_callers_irql_comes_back() {
    assert_eq!(irql(), IrqlLevel::PASSIVE);
    // SAFETY: NULL installs an empty table (no callbacks to keep alive).
    unsafe { xen_host::xen_host_initialize(core::ptr::null()) };
    let mut handle = core::ptr::null_mut();
    // SAFETY: `handle` is writable; the callback is callable at any IRQL from any thread and
    // does not log.
    let status = unsafe {
        log_add_disposition(
            Level::INFO.bits(),
            Some(disposition),
            core::ptr::null_mut(),
            &raw mut handle,
        )
    };
    assert_eq!(status, STATUS_SUCCESS);
    assert_eq!(irql(), IrqlLevel::PASSIVE);

    // Capture is on by default (no `XEN:DBG_PRINT=`): the line reaches the disposition.
    // SAFETY: a NUL-terminated string.
    let captured = unsafe { xen_host::xen_host_dbg_print(c"xen|test: line\n".as_ptr(), 3) };

    assert_eq!(captured, 1);
    assert_eq!(LINES.load(Ordering::SeqCst), 1);
    assert_eq!(SEEN.load(Ordering::SeqCst), IrqlLevel::HIGH.0);
    assert_eq!(irql(), IrqlLevel::PASSIVE);

    log_remove_disposition(handle);
    xen_host::xen_host_teardown();
}
