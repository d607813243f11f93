// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Timers and time, used as a driver uses them: one-shot and periodic timers with DPCs (the DPC
//! routine in `ktest.sys`), notification and synchronization timers waited on by the boot
//! thread and by a system thread, relative and absolute due times; interrupt time, system
//! time, the performance counter and `KeStallExecutionProcessor`, against Xen's system time and
//! the `KUSER_SHARED_DATA` fields the `wdm.h` macros read.

use super::ktest::{self, Ktest, MS, NOTIFICATION, SYNCHRONIZATION, event, kernel, timer};
use super::{drv, eq};
use crate::harness::check;
use crate::nt::verifier;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// How long the boot thread waits for anything a check expects to happen (5 s).
const PATIENCE: i64 = -5_000 * MS;

static DPC_RUNS: AtomicU32 = AtomicU32::new(0);
static DPC_IRQL: AtomicU32 = AtomicU32::new(0xff);
static DPC_TIME: AtomicU64 = AtomicU64::new(0);
static TIMER_WOKEN: AtomicU32 = AtomicU32::new(0);

/// `TimerDpc`: counts, records its IRQL and the expiry time it was passed, and sets the event
/// its context names (0: none).
extern "win64" fn timer_dpc(
    _dpc: *mut c_void,
    context: *mut c_void,
    low: *mut c_void,
    high: *mut c_void,
) {
    DPC_RUNS.fetch_add(1, Ordering::SeqCst);
    DPC_IRQL.store(u32::from(verifier::irql()), Ordering::SeqCst);
    DPC_TIME.store(
        (high.addr() as u64) << 32 | low.addr() as u64,
        Ordering::SeqCst,
    );
    if context.addr() != 0 {
        kernel().set(event(context.addr()));
    }
}

/// `TimerWaiter`: waits on timer 3.
extern "win64" fn timer_waiter(_context: *mut c_void) {
    if kernel().wait(timer(3), Some(PATIENCE)) == 0 {
        TIMER_WOKEN.fetch_add(1, Ordering::SeqCst);
    }
}

/// The callbacks `ktest.sys` exports for these checks.
pub fn callbacks() -> [(&'static str, usize); 2] {
    [
        ("TimerDpc", (timer_dpc as *const ()).addr()),
        ("TimerWaiter", (timer_waiter as *const ()).addr()),
    ]
}

/// Every timer and time check.
pub fn run(kt: &Ktest) {
    drv(time);
    drv(|| one_shot(kt));
    drv(|| periodic(kt));
    drv(|| {
        let k = kernel();
        // A synchronization timer is consumed by the wait it satisfies; KeSetTimer without a
        // DPC.
        k.initialize_timer(timer(2), Some(SYNCHRONIZATION));
        k.arm(timer(2), -5 * MS, None, None);
        let waited = k.wait(timer(2), Some(PATIENCE));
        check(
            "nt.timer.synchronization_timer_consumed_by_its_wait",
            waited == 0 && k.timer_state(timer(2)) == 0,
            format_args!("wait {waited:#x}, state after {}", k.timer_state(timer(2))),
        );
        // An absolute due time (system time), on a KeInitializeTimer timer.
        k.initialize_timer(timer(3), None);
        let t0 = k.now();
        k.arm(timer(3), k.system_now() + 10 * MS, None, None);
        let waited = k.wait(timer(3), Some(PATIENCE));
        let elapsed = k.now().saturating_sub(t0);
        check(
            "nt.timer.absolute_due_time",
            waited == 0 && (90_000..20_000_000).contains(&elapsed),
            format_args!("wait {waited:#x} after {elapsed} x 100 ns (system time + 10 ms)"),
        );
    });
    drv(|| {
        // A system thread waiting on a timer is woken by its expiry.
        let k = kernel();
        k.arm(timer(3), -10 * MS, None, None);
        let (status, handle, _) = k.spawn(kt.routine("TimerWaiter"), 0);
        let (_, object) = k.object_of(handle, 0);
        let _ = k.close_handle(handle);
        let joined = k.wait(object, Some(PATIENCE));
        let _ = k.release(object);
        check(
            "nt.timer.wakes_a_waiting_thread",
            status == 0 && joined == 0 && TIMER_WOKEN.load(Ordering::SeqCst) == 1,
            format_args!(
                "thread joined {joined:#x}, woken by the timer {}",
                TIMER_WOKEN.load(Ordering::SeqCst)
            ),
        );
    });
}

/// Interrupt time, system time, the performance counter, stalls, and `KUSER_SHARED_DATA`.
fn time() {
    let k = kernel();
    let xen0 = crate::events::now_ns();
    let t0 = k.now();
    // SAFETY: a microsecond count.
    unsafe { (k.stall)(2000) };
    let t1 = k.now();
    let xen = crate::events::now_ns().saturating_sub(xen0);
    check(
        "nt.time.stall_and_interrupt_time",
        (20_000..2_000_000).contains(&t1.saturating_sub(t0))
            && (xen0 == 0 || (1_500_000..200_000_000).contains(&xen)),
        format_args!(
            "a 2 ms stall took {} x 100 ns of interrupt time, {xen} ns of Xen system time",
            t1.saturating_sub(t0)
        ),
    );
    let mut frequency = 0i64;
    // The counter runs at 10 MHz on the interrupt-time clock: read between two interrupt
    // times, it lies between them (an ordering, not a timing: a preempted vCPU only widens
    // the bracket).
    let before = k.now();
    // SAFETY: `frequency` is writable and outlives the call.
    let counter = unsafe { (k.performance_counter)(&raw mut frequency) };
    let after = k.now();
    check(
        "nt.time.performance_counter",
        frequency == 10_000_000 && (before..=after).contains(&counter.unsigned_abs()),
        format_args!("{counter} at {frequency} Hz, between interrupt times {before} and {after}"),
    );
    let system = k.system_now();
    // 2020-01-01 and 2100-01-01 in 100 ns units since 1601.
    let plausible = (132_223_104_000_000_000..157_469_184_000_000_000).contains(&system);
    // What the wdm.h macros read on x64: KUSER_SHARED_DATA, kept by the kernel's entries.
    let shared_system = shared_system_time();
    let shared_interrupt = {
        let p = core::ptr::with_exposed_provenance::<u64>(
            usize::try_from(crate::nt::clock::SHARED_DATA + 8).unwrap_or(0),
        );
        // SAFETY: KUSER_SHARED_DATA is mapped (read-only) for the whole run; InterruptTime
        // is its 8-byte-aligned field at offset 8.
        unsafe { p.read_volatile() }
    };
    let after = k.now();
    check(
        "nt.time.system_time",
        plausible && system >= shared_system && system - shared_system < 10_000_000,
        format_args!(
            "KeQuerySystemTimePrecise {system}, KeQuerySystemTime (KUSER_SHARED_DATA) \
             {shared_system}"
        ),
    );
    check(
        "nt.time.shared_interrupt_time",
        shared_interrupt <= after && after - shared_interrupt < 10_000_000,
        format_args!("KUSER_SHARED_DATA InterruptTime {shared_interrupt}, interrupt time {after}"),
    );
}

/// `KeQuerySystemTime` as `wdm.h` defines it on x64 (a macro, not a routine): the
/// `KSYSTEM_TIME` at `SharedSystemTime` in `KUSER_SHARED_DATA`, read high part, low part, high
/// part again until both high parts agree.
fn shared_system_time() -> i64 {
    let at = |offset: u64| {
        core::ptr::with_exposed_provenance::<u32>(
            usize::try_from(crate::nt::clock::SHARED_DATA + 0x14 + offset).unwrap_or(0),
        )
    };
    loop {
        // SAFETY: KUSER_SHARED_DATA is mapped (read-only) for the whole run; its SystemTime
        // words are 4-byte aligned (and the same for the two reads below).
        let high1 = unsafe { at(4).read_volatile() };
        // SAFETY: as above.
        let low = unsafe { at(0).read_volatile() };
        // SAFETY: as above.
        let high2 = unsafe { at(8).read_volatile() };
        if high1 == high2 {
            return i64::from(high1.cast_signed()) << 32 | i64::from(low);
        }
    }
}

/// A one-shot notification timer with a DPC, waited on; set and cancel report whether it was
/// queued.
fn one_shot(kt: &Ktest) {
    let k = kernel();
    k.initialize_timer(timer(0), Some(NOTIFICATION));
    k.initialize_dpc(ktest::dpc(0), kt.routine("TimerDpc"), 0);
    DPC_RUNS.store(0, Ordering::SeqCst);
    let t0 = k.now();
    let was = k.arm(timer(0), -20 * MS, Some(0), Some(ktest::dpc(0)));
    let waited = k.wait(timer(0), Some(PATIENCE));
    let elapsed = k.now().saturating_sub(t0);
    check(
        "nt.timer.one_shot_with_dpc",
        was == 0
            && waited == 0
            && (200_000..20_000_000).contains(&elapsed)
            && k.timer_state(timer(0)) == 1
            && DPC_RUNS.load(Ordering::SeqCst) == 1
            && DPC_IRQL.load(Ordering::SeqCst) == u32::from(verifier::DISPATCH_LEVEL)
            && DPC_TIME.load(Ordering::SeqCst) >= t0 + 200_000,
        format_args!(
            "previously queued {was}, wait {waited:#x} after {elapsed} x 100 ns (20 ms), \
             signalled {}, DPC ran {} time(s) at IRQL {} with expiry {}",
            k.timer_state(timer(0)),
            DPC_RUNS.load(Ordering::SeqCst),
            DPC_IRQL.load(Ordering::SeqCst),
            DPC_TIME.load(Ordering::SeqCst)
        ),
    );
    let first = k.arm(timer(0), -1_000 * MS, None, None);
    let cleared = k.timer_state(timer(0));
    let second = k.arm(timer(0), -1_000 * MS, None, None);
    let cancelled = k.cancel(timer(0));
    let again = k.cancel(timer(0));
    check(
        "nt.timer.set_and_cancel_report_queued",
        first == 0 && cleared == 0 && second == 1 && cancelled == 1 && again == 0,
        format_args!(
            "set {first} (state after {cleared}), set again {second}, cancel {cancelled}, \
             cancel again {again}"
        ),
    );
}

/// A periodic timer whose DPC sets a synchronization event, three periods waited for, then
/// cancelled.
fn periodic(kt: &Ktest) {
    let k = kernel();
    k.initialize_event(event(15), SYNCHRONIZATION, false);
    k.initialize_timer(timer(1), Some(NOTIFICATION));
    k.initialize_dpc(ktest::dpc(1), kt.routine("TimerDpc"), 15);
    DPC_RUNS.store(0, Ordering::SeqCst);
    let t0 = k.now();
    k.arm(timer(1), -5 * MS, Some(10), Some(ktest::dpc(1)));
    let periods = (0..3)
        .filter(|_| k.wait(event(15), Some(PATIENCE)) == 0)
        .count();
    let elapsed = k.now().saturating_sub(t0);
    let cancelled = k.cancel(timer(1));
    let runs = DPC_RUNS.load(Ordering::SeqCst);
    k.sleep(-30 * MS);
    let later = DPC_RUNS.load(Ordering::SeqCst);
    eq("nt.timer.periodic_cancelled", cancelled, 1);
    check(
        "nt.timer.periodic_with_dpc",
        periods == 3 && runs >= 3 && later == runs && elapsed >= 240_000,
        format_args!(
            "{periods} periods seen in {elapsed} x 100 ns (5 ms + 2 x 10 ms), {runs} DPC runs, \
             {later} after cancelling and 30 ms"
        ),
    );
}
