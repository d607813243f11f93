// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Events: `KeInitializeEvent`, `KeSetEvent`, `KeClearEvent`, `KeResetEvent`,
//! `KeReadStateEvent`, `KePulseEvent`.
//!
//! The `KEVENT` is the driver's, with Windows' header (`Type` `EventNotificationObject` or
//! `EventSynchronizationObject`, `Size` 6, `SignalState`); setting one satisfies the waits on it
//! (`nt::sched`): every waiter of a notification event, one of a synchronization event, which
//! that wait resets. `KeSetEvent`/`KePulseEvent` never switch threads (the cooperative
//! scheduler switches only in waits); a woken thread runs when the caller next waits.
//!
//! Checked: a NULL event, an event type other than the two, re-initialising an event a thread
//! waits on, using an event `KeInitializeEvent` never initialised (or whose memory was freed or
//! reused), the IRQL (`DISPATCH_LEVEL` at most; `APC_LEVEL` with `Wait = TRUE`, Driver
//! Verifier's `IrqlKeSetEvent` rule), and that `Wait = TRUE` is followed by a wait: Windows
//! returns from such a `KeSetEvent` at `DISPATCH_LEVEL` with the dispatcher lock held, so the
//! thread's next kernel call must be `KeWaitForSingleObject` or `KeWaitForMultipleObjects`
//! (`sched::on_enter` checks it; the wait drops back to the IRQL `KeSetEvent` was called at).

use crate::nt::sched::{self, Kind, WaitNext, objects};
use crate::nt::verifier::{self, APC_LEVEL, Call, DISPATCH_LEVEL};
use core::ffi::c_void;
use ntddk::KEVENT;

/// `NotificationEvent`, `SynchronizationEvent`.
const NOTIFICATION_EVENT: i32 = 0;
const SYNCHRONIZATION_EVENT: i32 = 1;

/// The initialised event at `event`, failing the call otherwise.
fn event(call: &Call, event: *mut c_void) -> usize {
    call.require(!event.is_null(), format_args!("Event is NULL"));
    let e = event.addr();
    let kind = sched::with(|s| s.kind(e)).flatten();
    call.require(
        matches!(kind, Some(Kind::Event { .. })),
        format_args!("{e:#x} is not an event initialised with KeInitializeEvent"),
    );
    e
}

/// `VOID KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)`. Any IRQL.
pub extern "win64" fn ke_initialize_event(event: *mut c_void, kind: i32, state: u8) {
    let call = verifier::enter("KeInitializeEvent");
    call.require(!event.is_null(), format_args!("Event is NULL"));
    let sync = match kind {
        NOTIFICATION_EVENT => false,
        SYNCHRONIZATION_EVENT => true,
        other => call.fail(format_args!(
            "Type {other} is neither NotificationEvent nor SynchronizationEvent"
        )),
    };
    let e = event.addr();
    let busy = sched::with(|s| (s.waiter_of(e), s.timers.contains_key(&e))).unwrap_or_default();
    if let (Some(t), _) = busy {
        call.fail(format_args!(
            "re-initialising the event {e:#x} while thread {t} waits on it (its \
             waiter would never be woken)"
        ));
    }
    call.require(
        !busy.1,
        format_args!("re-initialising the queued timer {e:#x} as an event"),
    );
    let k = Kind::Event { sync };
    objects::init_header(e, k.type_code(), size_of::<KEVENT>(), state != 0);
    sched::with(|s| {
        s.objects.insert(
            e,
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

/// Signals the event and satisfies its waiters; returns the previous state. With `wait`, the
/// caller owes a wait (see the module documentation).
fn set(call: &Call, e: usize, wait: u8, pulse: bool) -> i32 {
    if wait == 0 {
        call.at_most(DISPATCH_LEVEL);
    } else if call.irql > APC_LEVEL {
        call.fail(format_args!(
            "Wait = TRUE at IRQL {}: only at APC_LEVEL or below, since the wait that must \
             follow blocks",
            call.irql
        ));
    }
    let previous = sched::with(|s| {
        let previous = objects::signal_state(e);
        objects::set_signal_state(e, 1);
        s.signal(e);
        if pulse {
            objects::set_signal_state(e, 0);
        }
        if wait != 0 {
            let cur = s.current;
            if let Some(t) = s.threads.get_mut(cur) {
                t.wait_next = Some(WaitNext {
                    caller: call.caller,
                    irql: call.irql,
                });
            }
        }
        previous
    })
    .unwrap_or(0);
    if wait != 0 {
        verifier::set_irql(DISPATCH_LEVEL);
    }
    previous
}

/// Fails `call` unless `ev` is an initialised event.
pub fn validate(call: &Call, ev: *mut c_void) {
    event(call, ev);
}

/// Signals event `e` for the kernel (the I/O manager completing a synchronous IRP) within
/// `call`, as `KeSetEvent(e, 0, FALSE)` would; the event must still be one.
pub fn signal(call: &Call, e: usize) {
    let e = event(call, core::ptr::with_exposed_provenance_mut(e));
    set(call, e, 0, false);
}

/// `LONG KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)`: the previous state.
/// <= DISPATCH_LEVEL (<= APC_LEVEL with `Wait`).
pub extern "win64" fn ke_set_event(ev: *mut c_void, _increment: i32, wait: u8) -> i32 {
    let call = verifier::enter("KeSetEvent");
    let e = event(&call, ev);
    set(&call, e, wait, false)
}

/// `LONG KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)`: signals the event,
/// satisfies what waits on it and leaves it not signalled; the previous state.
pub extern "win64" fn ke_pulse_event(ev: *mut c_void, _increment: i32, wait: u8) -> i32 {
    let call = verifier::enter("KePulseEvent");
    let e = event(&call, ev);
    set(&call, e, wait, true)
}

/// `VOID KeClearEvent(PRKEVENT Event)`. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_clear_event(ev: *mut c_void) {
    let call = verifier::enter("KeClearEvent");
    call.at_most(DISPATCH_LEVEL);
    let e = event(&call, ev);
    objects::set_signal_state(e, 0);
}

/// `LONG KeResetEvent(PRKEVENT Event)`: the previous state. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_reset_event(ev: *mut c_void) -> i32 {
    let call = verifier::enter("KeResetEvent");
    call.at_most(DISPATCH_LEVEL);
    let e = event(&call, ev);
    let previous = objects::signal_state(e);
    objects::set_signal_state(e, 0);
    previous
}

/// `LONG KeReadStateEvent(PRKEVENT Event)`: the current state. <= DISPATCH_LEVEL.
pub extern "win64" fn ke_read_state_event(ev: *mut c_void) -> i32 {
    let call = verifier::enter("KeReadStateEvent");
    call.at_most(DISPATCH_LEVEL);
    let e = event(&call, ev);
    objects::signal_state(e)
}
