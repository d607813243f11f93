// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! System threads, events and waits, used as a driver uses them: threads created with
//! `PsCreateSystemThread` (start routines in `ktest.sys`), joined through
//! `ObReferenceObjectByHandle` and a wait on the thread object; synchronization events passed
//! back and forth, notification events waking every waiter, `WaitAny`/`WaitAll` mixes with the
//! thread's own and the caller's wait blocks, relative, absolute and zero timeouts, delays.

use super::ktest::{
    self, Ktest, MS, NOTIFICATION, Obj, STATUS_TIMEOUT, SYNCHRONIZATION, WAIT_ALL, WAIT_ANY, event,
    kernel,
};
use super::{drv, eq};
use crate::harness::check;
use crate::nt::verifier::{self, DISPATCH_LEVEL, PASSIVE_LEVEL};
use crate::nt::{routines, sched, vm};
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use ntddk::KWAIT_BLOCK;

/// Rounds of the ping-pong.
const ROUNDS: u32 = 50;
/// How long the boot thread waits for anything a check expects to happen (5 s).
const PATIENCE: i64 = -5_000 * MS;

static PING: AtomicU32 = AtomicU32::new(0);
static NOTIFIED: AtomicU32 = AtomicU32::new(0);
static SYNC_WOKEN: AtomicU32 = AtomicU32::new(0);
static PULSED: AtomicU32 = AtomicU32::new(0);
static AFTER_TERMINATE: AtomicBool = AtomicBool::new(false);
/// What `SelfCheck` saw: `KeGetCurrentThread`, `PsGetCurrentThread`, its stack guarded.
static SELF_KE: AtomicUsize = AtomicUsize::new(0);
static SELF_PS: AtomicUsize = AtomicUsize::new(0);
static SELF_GUARDED: AtomicBool = AtomicBool::new(false);

/// `PingPong`: `ROUNDS` times, waits for event 0, counts, sets event 1.
extern "win64" fn ping_pong(_context: *mut c_void) {
    let k = kernel();
    for _ in 0..ROUNDS {
        if k.wait(event(0), Some(PATIENCE)) != 0 {
            return;
        }
        PING.fetch_add(1, Ordering::SeqCst);
        k.set(event(1));
    }
}

/// `Notified`: waits for the notification event 2.
extern "win64" fn notified(_context: *mut c_void) {
    if kernel().wait(event(2), Some(PATIENCE)) == 0 {
        NOTIFIED.fetch_add(1, Ordering::SeqCst);
    }
}

/// `SyncWaiter`: waits for the synchronization event 3.
extern "win64" fn sync_waiter(_context: *mut c_void) {
    if kernel().wait(event(3), Some(PATIENCE)) == 0 {
        SYNC_WOKEN.fetch_add(1, Ordering::SeqCst);
    }
}

/// `PulseWaiter`: waits for event 5, which is only ever pulsed.
extern "win64" fn pulse_waiter(_context: *mut c_void) {
    if kernel().wait(event(5), Some(PATIENCE)) == 0 {
        PULSED.fetch_add(1, Ordering::SeqCst);
    }
}

/// `Setter`: sleeps 5 ms, then sets the event its context names.
extern "win64" fn setter(context: *mut c_void) {
    let k = kernel();
    k.sleep(-5 * MS);
    k.set(event(context.addr()));
}

/// `Terminator`: ends itself with `PsTerminateSystemThread`; nothing after it may run.
extern "win64" fn terminator(_context: *mut c_void) {
    let k = kernel();
    // SAFETY: a status value; the routine does not return.
    let _ = unsafe { (k.terminate_thread)(0x1234) };
    AFTER_TERMINATE.store(true, Ordering::SeqCst);
}

/// `SelfCheck`: records what the current-thread routines say, and whether the page below its
/// stack is unmapped while the stack itself is mapped.
extern "win64" fn self_check(_context: *mut c_void) {
    let (ke, ps) = kernel().me();
    SELF_KE.store(ke, Ordering::SeqCst);
    SELF_PS.store(ps, Ordering::SeqCst);
    let local = 0u64;
    let here = (&raw const local).addr() as u64;
    let guarded = sched::stack_of(sched::current()).is_some_and(|(guard, top)| {
        vm::translate(guard).is_none()
            && vm::translate(here).is_some()
            && here > guard + 4096
            && here < top
    });
    SELF_GUARDED.store(guarded, Ordering::SeqCst);
}

/// The callbacks `ktest.sys` exports for these checks.
pub fn callbacks() -> [(&'static str, usize); 7] {
    [
        ("PingPong", (ping_pong as *const ()).addr()),
        ("Notified", (notified as *const ()).addr()),
        ("SyncWaiter", (sync_waiter as *const ()).addr()),
        ("PulseWaiter", (pulse_waiter as *const ()).addr()),
        ("Setter", (setter as *const ()).addr()),
        ("Terminator", (terminator as *const ()).addr()),
        ("SelfCheck", (self_check as *const ()).addr()),
    ]
}

/// Waits for the thread behind `handle` to exit as a driver does: a reference by handle, the
/// handle closed, a wait on the object, the reference released. True when every step worked.
fn join(handle: usize) -> bool {
    let k = kernel();
    let (status, object) = k.object_of(handle, 0);
    let closed = k.close_handle(handle);
    let waited = k.wait(object, Some(PATIENCE));
    let released = k.release(object);
    status == 0 && closed == 0 && waited == 0 && released == 0
}

/// Creates a thread running export `name` of `ktest.sys` with `context`; its handle.
fn spawn(kt: &Ktest, name: &str, context: usize) -> usize {
    let (status, handle, _) = kernel().spawn(kt.routine(name), context);
    if status != 0 {
        check(
            "nt.thread.spawn",
            false,
            format_args!("{name}: status {:#x}", status.cast_unsigned()),
        );
    }
    handle
}

/// The value of the `PsThreadType` variable (what a driver's data import reads).
fn thread_type() -> usize {
    let at = routines::lookup("PsThreadType").map_or(0, |r| r.address);
    let p = core::ptr::with_exposed_provenance::<usize>(usize::try_from(at).unwrap_or(0));
    // SAFETY: the table's address of the `PsThreadType` variable, a static of the kernel.
    unsafe { p.read_volatile() }
}

/// Every thread, event and wait check.
pub fn run(kt: &Ktest) {
    let k = kernel();
    drv(|| ping_pong_check(kt));
    drv(|| current_thread(kt));
    drv(|| {
        // Notification: every waiter wakes, the event stays signalled.
        k.initialize_event(event(2), NOTIFICATION, false);
        let handles = [0, 1, 2].map(|_| spawn(kt, "Notified", 0));
        // What the PnP manager does between calls: the threads run until they all wait.
        sched::settle();
        let waiting = sched::with(|s| {
            s.threads
                .iter()
                .filter(|t| t.wait.as_ref().is_some_and(|w| w.objects == [event(2).0]))
                .count()
        })
        .unwrap_or(0);
        let previous = k.set(event(2));
        let right_after = NOTIFIED.load(Ordering::SeqCst);
        k.sleep(-2 * MS);
        let woken = NOTIFIED.load(Ordering::SeqCst);
        let again = k.set(event(2));
        let joined = handles.iter().all(|&h| join(h));
        check(
            "nt.event.notification_wakes_every_waiter",
            waiting == 3
                && previous == 0
                && right_after == 0
                && woken == 3
                && k.state(event(2)) == 1
                && again != 0
                && joined,
            format_args!(
                "{waiting} threads waiting after sched::settle, previous {previous}, woken \
                 {right_after} before the setter waited and {woken} after, set again returned \
                 {again}, joined {joined}"
            ),
        );
    });
    drv(|| {
        // Synchronization: one waiter per set, the event consumed.
        k.initialize_event(event(3), SYNCHRONIZATION, false);
        let handles = [0, 1].map(|_| spawn(kt, "SyncWaiter", 0));
        k.sleep(-2 * MS);
        k.set(event(3));
        k.sleep(-2 * MS);
        let first = SYNC_WOKEN.load(Ordering::SeqCst);
        let state = k.state(event(3));
        k.set(event(3));
        k.sleep(-2 * MS);
        let second = SYNC_WOKEN.load(Ordering::SeqCst);
        let joined = handles.iter().all(|&h| join(h));
        check(
            "nt.event.synchronization_wakes_one_waiter",
            first == 1 && state == 0 && second == 2 && joined,
            format_args!("woken {first} then {second}, state after the first {state}"),
        );
    });
    drv(|| reset_clear_pulse(kt));
    drv(|| waits(kt));
    drv(timeouts);
    drv(|| {
        let handle = spawn(kt, "Terminator", 0);
        let joined = join(handle);
        check(
            "nt.thread.terminate_ends_the_thread",
            joined && !AFTER_TERMINATE.load(Ordering::SeqCst),
            format_args!(
                "joined {joined}, code after PsTerminateSystemThread ran: {}",
                AFTER_TERMINATE.load(Ordering::SeqCst)
            ),
        );
    });
    drv(|| references(kt));
}

/// Two threads pass control back and forth through two synchronization events.
fn ping_pong_check(kt: &Ktest) {
    let k = kernel();
    k.initialize_event(event(0), SYNCHRONIZATION, false);
    k.initialize_event(event(1), SYNCHRONIZATION, false);
    let (status, handle, client) = k.spawn(kt.routine("PingPong"), 0);
    check(
        "nt.thread.created",
        status == 0
            && handle & 0xffff_ffff_8000_0000 == 0xffff_ffff_8000_0000
            && client.UniqueProcess.addr() == 4
            && client.UniqueThread.addr() != 0,
        format_args!(
            "status {:#x}, handle {handle:#x}, client id {:#x}.{:#x}",
            status.cast_unsigned(),
            client.UniqueProcess.addr(),
            client.UniqueThread.addr()
        ),
    );
    let mut answered = 0;
    for round in 0..ROUNDS {
        k.set(event(0));
        if k.wait(event(1), Some(PATIENCE)) != 0 || PING.load(Ordering::SeqCst) != round + 1 {
            break;
        }
        answered += 1;
    }
    check(
        "nt.event.synchronization_ping_pong",
        answered == ROUNDS && k.state(event(0)) == 0 && k.state(event(1)) == 0,
        format_args!(
            "{answered} of {ROUNDS} rounds answered in turn; both events consumed: {}",
            k.state(event(0)) == 0 && k.state(event(1)) == 0
        ),
    );
    let (typed, object) = k.object_of(handle, thread_type());
    let (mismatch, _) = k.object_of(handle, ktest::event(0).0);
    check(
        "nt.thread.object_by_handle_with_type",
        typed == 0 && object.0 != 0 && mismatch == 0xC000_0024_u32.cast_signed(),
        format_args!(
            "PsThreadType: status {:#x}, object {:#x}; another type: {:#x}",
            typed.cast_unsigned(),
            object.0,
            mismatch.cast_unsigned()
        ),
    );
    let waited = k.wait(object, Some(PATIENCE));
    let released = k.release(object);
    let joined = join(handle);
    check(
        "nt.thread.exit_signals_its_object",
        waited == 0 && released >= 0 && joined,
        format_args!("wait {waited:#x}, dereference left {released}, joined {joined}"),
    );
}

/// `KeGetCurrentThread`/`PsGetCurrentThread` in a thread and in the boot thread; the thread's
/// guarded stack.
fn current_thread(kt: &Ktest) {
    let k = kernel();
    let handle = spawn(kt, "SelfCheck", 0);
    let (_, object) = k.object_of(handle, 0);
    let joined = {
        let _ = k.close_handle(handle);
        let w = k.wait(object, Some(PATIENCE));
        w == 0
    };
    let (boot_ke, boot_ps) = k.me();
    let (ke, ps) = (
        SELF_KE.load(Ordering::SeqCst),
        SELF_PS.load(Ordering::SeqCst),
    );
    check(
        "nt.thread.current_thread",
        joined && ke == object.0 && ps == object.0 && boot_ke == boot_ps && boot_ke != ke,
        format_args!(
            "in the thread {ke:#x}/{ps:#x} (its object {:#x}), in the boot thread \
             {boot_ke:#x}/{boot_ps:#x}",
            object.0
        ),
    );
    let _ = k.release(object);
    check(
        "nt.thread.stack_guard_page",
        SELF_GUARDED.load(Ordering::SeqCst),
        format_args!("the page below the thread's stack is unmapped, its stack mapped"),
    );
}

/// `KeResetEvent`, `KeClearEvent`, `KePulseEvent`.
fn reset_clear_pulse(kt: &Ktest) {
    let k = kernel();
    k.initialize_event(event(4), NOTIFICATION, true);
    let was_set = k.reset(event(4));
    let after_reset = k.state(event(4));
    k.set(event(4));
    k.clear(event(4));
    let after_clear = k.state(event(4));
    let was_clear = k.reset(event(4));
    check(
        "nt.event.reset_and_clear",
        was_set != 0 && after_reset == 0 && after_clear == 0 && was_clear == 0,
        format_args!(
            "reset of a signalled event returned {was_set}, state {after_reset}; after clear \
             {after_clear}; reset of a clear one returned {was_clear}"
        ),
    );
    k.initialize_event(event(5), NOTIFICATION, false);
    let handle = spawn(kt, "PulseWaiter", 0);
    k.sleep(-2 * MS);
    let previous = k.pulse(event(5));
    let state = k.state(event(5));
    let joined = join(handle);
    check(
        "nt.event.pulse_releases_the_waiter",
        previous == 0 && state == 0 && joined && PULSED.load(Ordering::SeqCst) == 1,
        format_args!(
            "previous {previous}, state after {state}, waiter released {}",
            PULSED.load(Ordering::SeqCst)
        ),
    );
}

/// `WaitAny` and `WaitAll`, polled and blocking, with the thread's and the caller's wait
/// blocks.
fn waits(kt: &Ktest) {
    let k = kernel();
    let three = [event(6), event(7), event(8)];
    for e in three {
        k.initialize_event(e, SYNCHRONIZATION, false);
    }
    k.set(event(7));
    let any = k.wait_many(&three, WAIT_ANY, Some(0), true);
    check(
        "nt.wait.any_poll_names_and_consumes_the_object",
        any == 1 && k.state(event(7)) == 0,
        format_args!(
            "status {any:#x}, event consumed: {}",
            k.state(event(7)) == 0
        ),
    );
    k.set(event(6));
    k.set(event(8));
    let all = k.wait_many(&three, WAIT_ALL, Some(0), true);
    check(
        "nt.wait.all_poll_takes_nothing_unless_all",
        all == STATUS_TIMEOUT && k.state(event(6)) == 1 && k.state(event(8)) == 1,
        format_args!("status {all:#x}, the two signalled events kept their state"),
    );
    let handle = spawn(kt, "Setter", 7);
    let t0 = k.now();
    let all = k.wait_many(&three, WAIT_ALL, Some(PATIENCE), true);
    let elapsed = k.now().saturating_sub(t0);
    let consumed = three.iter().all(|&e| k.state(e) == 0);
    let joined = join(handle);
    check(
        "nt.wait.all_blocks_until_the_last_object",
        all == 0 && consumed && joined && elapsed >= 4 * MS.unsigned_abs(),
        format_args!("status {all:#x} after {elapsed} x 100 ns, all consumed {consumed}"),
    );
    let handle = spawn(kt, "Setter", 8);
    let any = k.wait_many(&three, WAIT_ANY, Some(PATIENCE), true);
    let joined = join(handle);
    check(
        "nt.wait.any_blocks_and_names_the_object",
        any == 2 && joined,
        format_args!("status {any:#x} (STATUS_WAIT_2 expected)"),
    );
    // Five objects: more than the thread's own blocks, so the caller's array is used.
    let five: [Obj; 5] = [event(9), event(10), event(11), event(12), event(13)];
    for e in five {
        k.initialize_event(e, SYNCHRONIZATION, false);
    }
    let handle = spawn(kt, "Setter", 13);
    let any = k.wait_many(&five, WAIT_ANY, Some(PATIENCE), false);
    let joined = join(handle);
    let (me, _) = k.me();
    let blocks_right = five.iter().enumerate().all(|(i, e)| {
        let at = i * size_of::<KWAIT_BLOCK>();
        let b = ktest::blocks();
        ktest::read::<usize>(b, at + offset_of!(KWAIT_BLOCK, Object)) == e.0
            && ktest::read::<usize>(b, at + offset_of!(KWAIT_BLOCK, Thread)) == me
            && usize::from(ktest::read::<u16>(b, at + offset_of!(KWAIT_BLOCK, WaitKey))) == i
            && ktest::read::<u8>(b, at + offset_of!(KWAIT_BLOCK, WaitType)) == 1
    });
    check(
        "nt.wait.caller_wait_blocks",
        any == 4 && joined && blocks_right,
        format_args!(
            "status {any:#x} (STATUS_WAIT_4 expected), each block names the object, the \
             thread, its index and WaitAny: {blocks_right}"
        ),
    );
}

/// Relative, absolute and zero timeouts, and a delay, timed by interrupt time and by Xen.
fn timeouts() {
    let k = kernel();
    k.initialize_event(event(14), NOTIFICATION, false);
    let t0 = k.now();
    let relative = k.wait(event(14), Some(-20 * MS));
    let elapsed = k.now().saturating_sub(t0);
    check(
        "nt.wait.relative_timeout",
        relative == STATUS_TIMEOUT && (200_000..20_000_000).contains(&elapsed),
        format_args!("status {relative:#x} after {elapsed} x 100 ns (20 ms asked)"),
    );
    let t0 = k.now();
    let due = k.system_now() + 15 * MS;
    let absolute = k.wait(event(14), Some(due));
    let elapsed = k.now().saturating_sub(t0);
    check(
        "nt.wait.absolute_timeout",
        absolute == STATUS_TIMEOUT && (140_000..20_000_000).contains(&elapsed),
        format_args!("status {absolute:#x} after {elapsed} x 100 ns (system time + 15 ms)"),
    );
    // A zero timeout tests the state and never blocks: the scheduler's count of blocked waits
    // is the measure (wall time is not: a loaded host deschedules the vCPU for milliseconds;
    // the bound below only says it did not wait out a timeout like the ones above).
    let blocked = sched::stats().blocked;
    let t0 = k.now();
    let poll = k.wait(event(14), Some(0));
    verifier::set_irql(DISPATCH_LEVEL);
    let at_dispatch = k.wait(event(14), Some(0));
    verifier::set_irql(PASSIVE_LEVEL);
    let elapsed = k.now().saturating_sub(t0);
    let blocked = sched::stats().blocked.saturating_sub(blocked);
    check(
        "nt.wait.zero_timeout_polls",
        poll == STATUS_TIMEOUT
            && at_dispatch == STATUS_TIMEOUT
            && blocked == 0
            && elapsed < 1_000_000,
        format_args!(
            "status {poll:#x}, at DISPATCH_LEVEL {at_dispatch:#x}, {blocked} blocked, in \
             {elapsed} x 100 ns"
        ),
    );
    let xen0 = crate::events::now_ns();
    let t0 = k.now();
    let slept = k.sleep(-10 * MS);
    let elapsed = k.now().saturating_sub(t0);
    let xen = crate::events::now_ns().saturating_sub(xen0);
    eq("nt.delay.status", slept, 0);
    check(
        "nt.delay.relative_interval_by_both_clocks",
        (100_000..20_000_000).contains(&elapsed) && (xen0 == 0 || xen >= 9_000_000),
        format_args!(
            "{elapsed} x 100 ns by interrupt time, {xen} ns by Xen's system time (10 ms asked)"
        ),
    );
}

/// Pointer counts through `ObReferenceObjectByHandle`, `ObfReferenceObject`, `ZwClose` and
/// `ObfDereferenceObject` around a thread's life.
fn references(kt: &Ktest) {
    let k = kernel();
    k.initialize_event(event(3), SYNCHRONIZATION, false);
    SYNC_WOKEN.store(0, Ordering::SeqCst);
    let handle = spawn(kt, "SyncWaiter", 0);
    let (status, object) = k.object_of(handle, 0);
    // References 2, the handle, the running thread.
    let with_two = k.add_reference(object);
    let closed = k.close_handle(handle);
    let after_close = k.release(object);
    k.set(event(3));
    let waited = k.wait(object, Some(PATIENCE));
    let last = k.release(object);
    check(
        "nt.object.pointer_counts",
        status == 0 && with_two == 4 && closed == 0 && after_close == 2 && waited == 0 && last == 0,
        format_args!(
            "after ObfReferenceObject {with_two} (4 expected), after ZwClose and one \
             ObfDereferenceObject {after_close} (2), after the exit and the last one {last} (0)"
        ),
    );
}
