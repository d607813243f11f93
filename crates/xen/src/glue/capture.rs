// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `DbgPrint` capture: the kernel's debug-print callback queues each message into the log
//! ([`crate::export::log::capture_dbg_print`]) and a DPC flushes it to the dispositions, as
//! upstream's `LogDebugPrint`.
//!
//! IRQL: the callback runs at whatever level `DbgPrint` was called (up to HIGH_LEVEL); it only
//! queues under the log's HIGH-level lock and inserts the DPC, both allowed at any level. The
//! flush runs in the DPC at DISPATCH_LEVEL. Registration and removal are PASSIVE_LEVEL.

use core::cell::UnsafeCell;
use core::ffi::c_void;

use ntddk::ANSI_STRING;

/// Storage for the flush DPC (a `KDPC` is 64 bytes on x64, 8-byte aligned).
struct DpcStorage(UnsafeCell<[u64; 8]>);

// SAFETY: the kernel serialises access to a KDPC it owns; we only pass its address to the `Ke*`
// DPC routines and never read or write it ourselves.
unsafe impl Sync for DpcStorage {}

static FLUSH_DPC: DpcStorage = DpcStorage(UnsafeCell::new([0; 8]));

fn dpc() -> *mut c_void {
    FLUSH_DPC.0.get().cast()
}

/// The flush DPC.
unsafe extern "system" fn flush_dpc(
    _dpc: *mut c_void,
    _ctx: *mut c_void,
    _a: *mut c_void,
    _b: *mut c_void,
) {
    crate::export::log::flush();
}

/// The debug-print callback.
unsafe extern "system" fn debug_print(output: *mut ANSI_STRING, _component: u32, level: u32) {
    // SAFETY: the kernel passes NULL or a valid counted string for the duration of the call.
    let Some(output) = (unsafe { output.as_ref() }) else {
        return;
    };
    if output.Buffer.is_null() {
        return;
    }
    // SAFETY: `Length` bytes at `Buffer` are the message.
    let text = unsafe { core::slice::from_raw_parts(output.Buffer, usize::from(output.Length)) };
    if crate::export::log::capture_dbg_print(text, level) {
        // SAFETY: the DPC was initialised by `register` before the callback was installed.
        let _queued = unsafe {
            ntddk::routines::KeInsertQueueDpc(dpc(), core::ptr::null_mut(), core::ptr::null_mut())
        };
    }
}

/// Initialises the DPC and installs the callback (PASSIVE_LEVEL).
pub(super) fn register() {
    // SAFETY: our static KDPC storage, initialised before anything can queue it.
    unsafe { ntddk::routines::KeInitializeDpc(dpc(), flush_dpc, core::ptr::null_mut()) };
    // SAFETY: PASSIVE_LEVEL; the callback is a static function of this image.
    let _status = unsafe { ntddk::routines::DbgSetDebugPrintCallback(debug_print, 1) };
}

/// Removes the callback and waits out a queued flush (PASSIVE_LEVEL).
pub(super) fn unregister() {
    // SAFETY: PASSIVE_LEVEL; the same callback `register` installed.
    let _status = unsafe { ntddk::routines::DbgSetDebugPrintCallback(debug_print, 0) };
    // SAFETY: our initialised DPC.
    let _removed = unsafe { ntddk::routines::KeRemoveQueueDpc(dpc()) };
    // SAFETY: PASSIVE_LEVEL.
    unsafe { ntddk::routines::KeFlushQueuedDpcs() };
}
