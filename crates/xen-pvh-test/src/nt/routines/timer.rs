// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Timers: `KeInitializeTimer`, `KeInitializeTimerEx`, `KeSetTimer`, `KeSetTimerEx`,
//! `KeCancelTimer`, `KeReadStateTimer`.
//!
//! The `KTIMER` is the driver's, with Windows' layout: the header (`Type`
//! `TimerNotificationObject` or `TimerSynchronizationObject`, `Size` 16, `SignalState`),
//! `DueTime` (the interrupt time it expires at while armed), `Dpc` and `Period`. Setting a timer
//! clears its state and arms it (re-arming an armed one cancels it first); at expiry
//! (`nt::sched`: at the next kernel entry or in the idle loop once its time has come) it is
//! signalled, its waiters are satisfied, its DPC is queued (`SystemArgument1`/`2`: the expiry's
//! interrupt time, low and high part), and a periodic timer is re-armed one period on.
//!
//! Checked: `DISPATCH_LEVEL` at most, a NULL timer, an unknown timer type, re-initialising a
//! timer that is armed or waited on, using a timer never initialised, a negative period, a DPC
//! not initialised with `KeInitializeDpc`; and, where memory is freed (`ExFreePoolWithTag`,
//! `MmFreeContiguousMemory`), an armed timer inside the block (`sched::freeing`); at unload,
//! armed timers of the image (`sched::leftovers_in`).

use super::{DriverObject, dpc};
use crate::nt::sched::{self, Armed, Kind, objects};
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL};
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::{KDPC, KTIMER};

/// `NotificationTimer`, `SynchronizationTimer`.
const NOTIFICATION_TIMER: i32 = 0;
const SYNCHRONIZATION_TIMER: i32 = 1;
/// 100 ns units per millisecond (`Period` is in milliseconds).
const PER_MS: u64 = 10_000;

/// The initialised timer at `timer`, failing the call otherwise.
fn timer(call: &Call, timer: *mut c_void) -> usize {
    call.require(!timer.is_null(), format_args!("Timer is NULL"));
    let t = timer.addr();
    let kind = sched::with(|s| s.kind(t)).flatten();
    call.require(
        matches!(kind, Some(Kind::Timer { .. })),
        format_args!("{t:#x} is not a timer initialised with KeInitializeTimer(Ex)"),
    );
    t
}

fn initialize(call: &Call, timer: *mut c_void, kind: i32) {
    call.at_most(DISPATCH_LEVEL);
    call.require(!timer.is_null(), format_args!("Timer is NULL"));
    let sync = match kind {
        NOTIFICATION_TIMER => false,
        SYNCHRONIZATION_TIMER => true,
        other => call.fail(format_args!(
            "Type {other} is neither NotificationTimer nor SynchronizationTimer"
        )),
    };
    let t = timer.addr();
    let (armed, waiter) =
        sched::with(|s| (s.timers.get(&t).copied(), s.waiter_of(t))).unwrap_or_default();
    if let Some(a) = armed {
        call.fail(format_args!(
            "re-initialising the timer {t:#x} while it is queued (set from {})",
            crate::nt::loader::Where(a.caller)
        ));
    }
    if let Some(w) = waiter {
        call.fail(format_args!(
            "re-initialising the timer {t:#x} while thread {w} waits on it"
        ));
    }
    let k = Kind::Timer { sync };
    objects::init_header(t, k.type_code(), size_of::<KTIMER>(), false);
    let o = objects::timer_object(t);
    o.set(offset_of!(KTIMER, DueTime), 0u64);
    o.set(offset_of!(KTIMER, TimerListEntry), [0usize; 2]);
    o.set(offset_of!(KTIMER, Dpc), 0usize);
    o.set(offset_of!(KTIMER, Processor), 0u32);
    o.set(offset_of!(KTIMER, Period), 0u32);
    sched::with(|s| {
        s.objects.insert(
            t,
            sched::Object {
                kind: k,
                by: call.caller,
                refs: alloc::vec::Vec::new(),
                handles: 0,
                deleted: false,
            },
        );
    });
}

/// `VOID KeInitializeTimer(PKTIMER Timer)`: a notification timer. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_initialize_timer(t: *mut c_void) {
    let call = verifier::enter("KeInitializeTimer");
    initialize(&call, t, NOTIFICATION_TIMER);
}

/// `VOID KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)`. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_initialize_timer_ex(t: *mut c_void, kind: i32) {
    let call = verifier::enter("KeInitializeTimerEx");
    initialize(&call, t, kind);
}

fn set(call: &Call, timer_ptr: *mut c_void, due: i64, period: i32, d: *mut c_void) -> u8 {
    call.at_most(DISPATCH_LEVEL);
    let t = timer(call, timer_ptr);
    call.require(
        period >= 0,
        format_args!("Period {period} is negative (milliseconds, 0 for a one-shot timer)"),
    );
    if !d.is_null() {
        // SAFETY: the routine's contract: a KDPC initialised with KeInitializeDpc.
        let k = unsafe { DriverObject::new(d.addr(), size_of::<KDPC>()) };
        call.require(
            dpc::is_initialised(k),
            format_args!(
                "the DPC {:#x} was not initialised with KeInitializeDpc",
                d.addr()
            ),
        );
    }
    let at = objects::due_time(due);
    let period = u64::from(period.unsigned_abs()) * PER_MS;
    let o = objects::timer_object(t);
    o.set(offset_of!(KTIMER, DueTime), at);
    o.set(offset_of!(KTIMER, Dpc), d.addr());
    o.set(
        offset_of!(KTIMER, Period),
        u32::try_from(period / PER_MS).unwrap_or(u32::MAX),
    );
    let was = sched::with(|s| {
        objects::set_signal_state(t, 0);
        s.timers
            .insert(
                t,
                Armed {
                    due: at,
                    period,
                    dpc: d.addr(),
                    caller: call.caller,
                },
            )
            .is_some()
    })
    .unwrap_or(false);
    u8::from(was)
}

/// `BOOLEAN KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)`: TRUE
/// if the timer was armed. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_set_timer_ex(t: *mut c_void, due: i64, period: i32, d: *mut c_void) -> u8 {
    let call = verifier::enter("KeSetTimerEx");
    set(&call, t, due, period, d)
}

/// `BOOLEAN KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)`: a one-shot
/// `KeSetTimerEx`. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_set_timer(t: *mut c_void, due: i64, d: *mut c_void) -> u8 {
    let call = verifier::enter("KeSetTimer");
    set(&call, t, due, 0, d)
}

/// `BOOLEAN KeCancelTimer(PKTIMER Timer)`: TRUE if it was armed (a DPC its expiry queued
/// stays queued). <= DISPATCH_LEVEL.
pub extern "win64" fn ke_cancel_timer(t: *mut c_void) -> u8 {
    let call = verifier::enter("KeCancelTimer");
    call.at_most(DISPATCH_LEVEL);
    let t = timer(&call, t);
    u8::from(sched::with(|s| s.timers.remove(&t).is_some()).unwrap_or(false))
}

/// `BOOLEAN KeReadStateTimer(PKTIMER Timer)`: whether it is signalled. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_read_state_timer(t: *mut c_void) -> u8 {
    let call = verifier::enter("KeReadStateTimer");
    call.at_most(DISPATCH_LEVEL);
    let t = timer(&call, t);
    u8::from(objects::signal_state(t) != 0)
}
