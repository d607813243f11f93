// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Events: `KeInitializeEvent`, `KeSetEvent`, `KeClearEvent`, `KeResetEvent`,
//! `KeReadStateEvent`, `KePulseEvent`; named events: `IoCreateNotificationEvent`.
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
//!
//! Named events: `IoCreateNotificationEvent` opens the notification event of a name in the
//! object namespace (names compared without regard to ASCII case, as Windows' object manager
//! does by default), creating it if there is none: signalled, as Windows creates it
//! (`ZwCreateEvent` with `InitialState = TRUE`), except the events the kernel itself owns —
//! `\KernelObjects\LowMemoryCondition`, created unsignalled on first use and signalled only
//! when a check makes memory low ([`set_low_memory`]). The `KEVENT` is the stand-in's memory, registered with the scheduler
//! as `KeInitializeEvent` registers one, so every event and wait routine takes it; it lives as
//! long as the kernel (closing its last handle does not free it). The call also opens a
//! handle to it, in the table of the thread handles (`0xFFFFFFFF84...`): `ZwClose` closes it,
//! and one still open when the image that opened it unloads is reported with the thread
//! handles (`sched::leftovers_in`). `ObReferenceObjectByHandle` (with no object type) and
//! `ObfReferenceObject`/`ObfDereferenceObject` take references on it as on a thread object.
//!
//! Checked there: `PASSIVE_LEVEL`, a NULL `EventName` or `EventHandle`, a name that is not a
//! valid `UNICODE_STRING`. A name that is not absolute (`\...`) gets NULL, as from Windows
//! (`STATUS_OBJECT_PATH_SYNTAX_BAD`).

use super::unicode;
use crate::nt::sched::{self, Kind, WaitNext, objects};
use crate::nt::verifier::{self, APC_LEVEL, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ffi::c_void;
use ntddk::{KEVENT, UNICODE_STRING};

/// `NotificationEvent`, `SynchronizationEvent`.
const NOTIFICATION_EVENT: i32 = 0;
const SYNCHRONIZATION_EVENT: i32 = 1;
/// `EVENT_ALL_ACCESS`: what a handle `IoCreateNotificationEvent` opens grants.
const EVENT_ALL_ACCESS: u32 = 0x001f_0003;
/// The named events the kernel itself owns, created unsignalled on first use.
const KERNEL_EVENTS: [&str; 1] = [r"\KernelObjects\LowMemoryCondition"];

/// The named events, by name (upper-cased): the address of each `KEVENT`.
static NAMED: spin::Mutex<BTreeMap<Vec<u16>, usize>> = spin::Mutex::new(BTreeMap::new());

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

/// `name` with ASCII letters upper-cased (the object namespace's case-insensitive compare).
fn fold(name: &[u16]) -> Vec<u16> {
    name.iter()
        .map(|&u| u8::try_from(u).map_or(u, |b| u16::from(b.to_ascii_uppercase())))
        .collect()
}

/// Whether `address` is a named event (`IoCreateNotificationEvent`'s).
pub fn is_named(address: usize) -> bool {
    NAMED.lock().values().any(|&e| e == address)
}

/// The named event called `name` (folded), created (registered with the scheduler as a
/// notification event, `signalled` or not) if there is none yet; `None` without memory or
/// before the scheduler runs.
fn named(name: Vec<u16>, signalled: bool, by: u64) -> Option<usize> {
    if let Some(&e) = NAMED.lock().get(&name) {
        return Some(e);
    }
    let layout = core::alloc::Layout::new::<KEVENT>();
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if p.is_null() {
        return None;
    }
    let e = p.expose_provenance();
    let k = Kind::Event { sync: false };
    objects::init_header(e, k.type_code(), size_of::<KEVENT>(), signalled);
    sched::with(|s| {
        s.objects.insert(
            e,
            sched::Object {
                kind: k,
                by,
                refs: Vec::new(),
                handles: 0,
                deleted: false,
            },
        );
    })?;
    NAMED.lock().insert(name, e);
    Some(e)
}

/// The memory manager's low-memory condition: `\KernelObjects\LowMemoryCondition` signalled
/// (`low`) or not, as Windows sets it when available memory falls below its threshold and
/// clears it when memory recovers. Creates the event if no driver opened it yet.
pub fn set_low_memory(low: bool) {
    let name = fold(&KERNEL_EVENTS[0].encode_utf16().collect::<Vec<_>>());
    if let Some(e) = named(name, false, 0) {
        objects::set_signal_state(e, i32::from(low));
    }
}

/// `PKEVENT IoCreateNotificationEvent(PUNICODE_STRING EventName, PHANDLE EventHandle)`: the
/// named notification event (created if needed, see the module documentation) and a handle to
/// it in `*EventHandle`; NULL if the name is not absolute. PASSIVE_LEVEL.
///
/// # Safety
/// Called by driver code: `name` a readable `UNICODE_STRING`, `handle` writable (NULL is
/// checked).
pub unsafe extern "win64" fn io_create_notification_event(
    name: *const UNICODE_STRING,
    handle: *mut *mut c_void,
) -> *mut c_void {
    let call = verifier::enter("IoCreateNotificationEvent");
    call.at_most(PASSIVE_LEVEL);
    call.require(!name.is_null(), format_args!("EventName is NULL"));
    call.require(!handle.is_null(), format_args!("EventHandle is NULL"));
    // SAFETY: non-NULL; readable by the routine's contract.
    let Some(units) = (unsafe { unicode(name) }) else {
        call.fail(format_args!("EventName is not a valid UNICODE_STRING"));
    };
    if units.first() != Some(&u16::from(b'\\')) {
        return core::ptr::null_mut();
    }
    let folded = fold(&units);
    let kernel = KERNEL_EVENTS
        .iter()
        .any(|k| fold(&k.encode_utf16().collect::<Vec<_>>()) == folded);
    let (signalled, by) = if kernel {
        (false, 0)
    } else {
        (true, call.caller)
    };
    let Some(e) = named(folded, signalled, by) else {
        return core::ptr::null_mut();
    };
    let Some(value) = sched::with(|s| s.open_handle(e, EVENT_ALL_ACCESS, call.caller)) else {
        return core::ptr::null_mut();
    };
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe {
        handle.write_unaligned(core::ptr::with_exposed_provenance_mut(
            usize::try_from(value).unwrap_or(0),
        ));
    };
    core::ptr::with_exposed_provenance_mut(e)
}
