// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Sched*` exports (upstream `src/xen/sched.c`) over [`crate::sched`], and the
//! `SystemSetWatchdog`/`SystemStopWatchdog` pair (upstream `src/xen/system.c`) that keeps the
//! watchdog id.

use super::{
    DebugLevel, NtStatus, STATUS_INVALID_PARAMETER, debug_message, hypercall, put, status,
};
use crate::log::LogArg;
use crate::sched;

/// `NTSTATUS SchedShutdownCode(ULONG Reason)`: record the reason a later shutdown reports.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SchedShutdownCode")]
#[must_use]
pub extern "C" fn sched_shutdown_code(reason: u32) -> NtStatus {
    status(hypercall("SchedShutdownCode", |hv| {
        sched::shutdown_code(hv, reason)
    }))
}

/// `NTSTATUS SchedShutdown(ULONG Reason)`: a suspend that Xen cancels (result 1) gives
/// `STATUS_CANCELLED`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SchedShutdown")]
#[must_use]
pub extern "C" fn sched_shutdown(reason: u32) -> NtStatus {
    status(hypercall("SchedShutdown", |hv| sched::shutdown(hv, reason)))
}

/// `VOID SchedYield(VOID)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SchedYield")]
pub extern "C" fn sched_yield() {
    let _ignored = hypercall("SchedYield", |hv| {
        sched::yield_now(hv);
        Ok(())
    });
}

/// `NTSTATUS SchedWatchdog(PULONG Id, ULONG Seconds)`: with `*Id` 0, create a watchdog and
/// store its id; otherwise pat it, or destroy it with `Seconds` 0.
///
/// # Safety
/// `id` is NULL or readable and writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SchedWatchdog")]
#[must_use]
pub unsafe extern "C" fn sched_watchdog(id: *mut u32, seconds: u32) -> NtStatus {
    if id.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-NULL and readable by the caller's contract.
    let current = unsafe { id.read_unaligned() };
    let r = hypercall("SchedWatchdog", |hv| sched::watchdog(hv, current, seconds));
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|new| unsafe { put(id, new) }))
}

/// The watchdog xen.sys keeps for xenbus: (id, seconds), 0 when none.
static WATCHDOG: spin::Mutex<(u32, u32)> = spin::Mutex::new((0, 0));

/// `NTSTATUS SystemSetWatchdog(ULONG Seconds)`: the first call creates the watchdog, later
/// ones pat it (with the same id). 0 seconds is `STATUS_INVALID_PARAMETER`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemSetWatchdog")]
#[must_use]
pub extern "C" fn system_set_watchdog(seconds: u32) -> NtStatus {
    if seconds == 0 {
        return STATUS_INVALID_PARAMETER;
    }
    let mut w = WATCHDOG.lock();
    let (id, old_seconds) = *w;
    match hypercall("SystemSetWatchdog", |hv| sched::watchdog(hv, id, seconds)) {
        Ok(new_id) => {
            if id == 0 || old_seconds != seconds {
                debug_message(
                    DebugLevel::Info,
                    "SystemSetWatchdog",
                    b"%u: %us\n",
                    &[
                        LogArg::Int(u64::from(new_id)),
                        LogArg::Int(u64::from(seconds)),
                    ],
                );
            }
            *w = (new_id, seconds);
            super::STATUS_SUCCESS
        }
        Err(e) => e,
    }
}

/// `VOID SystemStopWatchdog(VOID)`: destroys the watchdog, if there is one.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "SystemStopWatchdog")]
pub extern "C" fn system_stop_watchdog() {
    let mut w = WATCHDOG.lock();
    let (id, _) = *w;
    if id == 0 {
        return;
    }
    let _ignored = hypercall("SystemStopWatchdog", |hv| sched::watchdog(hv, id, 0));
    debug_message(
        DebugLevel::Info,
        "SystemStopWatchdog",
        b"%u\n",
        &[LogArg::Int(u64::from(id))],
    );
    *w = (0, 0);
}

/// Forgets the watchdog id without a hypercall (between host tests).
pub fn reset_watchdog() {
    *WATCHDOG.lock() = (0, 0);
}
