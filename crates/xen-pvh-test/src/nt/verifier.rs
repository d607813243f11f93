// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's Driver Verifier: what every kernel routine does on entry, and how a broken
//! rule ends the run.
//!
//! * **Caller.** Every routine is entered through a few instructions of assembly (the routine
//!   table's entry thunks, `routines::table!`) that store the return address the driver pushed
//!   into this CPU's slot of [`CALLERS`] before jumping to the Rust implementation; [`enter`]
//!   reads it first thing, so a message names the instruction after the driver's call even when
//!   the routine later calls back into a driver.
//! * **IRQL** is `cr8`, exactly as the drivers see it: `KeGetCurrentIrql`, `KeRaiseIrql` and
//!   `KeLowerIrql` are inline `cr8` accesses in the images (no kernel export to observe), so the
//!   stand-in reads it on entry ([`Call::irql`]; the register is emulated here, see
//!   [`super::cr8`]) and checks each routine's documented maximum ([`Call::at_most`]).
//! * **DPCs** run when the IRQL drops below `DISPATCH_LEVEL`, as far as the stand-in can see a
//!   drop: a routine entered below `DISPATCH_LEVEL` first runs the DPCs queued meanwhile (a driver
//!   that queued one at `DISPATCH_LEVEL` and lowered `cr8` itself would have had it run at the
//!   lowering on Windows; the stand-in runs it at the driver's next kernel call or when the
//!   driver returns to the kernel, whichever comes first). See `routines::dpc`.
//! * **Processors.** Everything a call checks is the calling processor's: its caller slot, its
//!   `cr8`, its DPC queue. Only processor 0 runs threads, timers and interrupt delivery, so a
//!   call on another processor (a DPC targeted there, `routines::dpc`) neither lets the
//!   scheduler see the time nor polls interrupts nor runs processor 0's DPCs: those belong to
//!   whatever processor 0 is doing meanwhile.
//! * **A broken rule** ([`violation`]) prints the routine, the rule and the caller
//!   (`xen.sys+0x1234`), counts as a failed check and reboots: the run fails, as a Driver
//!   Verifier bug check would stop Windows.
//!
//! Every routine call is counted per routine ([`calls`]), so the run's summary can say what
//! was exercised.

use crate::arch::{self, MAX_CPUS};
use alloc::collections::BTreeMap;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

/// `PASSIVE_LEVEL`.
pub const PASSIVE_LEVEL: u8 = 0;
/// `APC_LEVEL`.
pub const APC_LEVEL: u8 = 1;
/// `DISPATCH_LEVEL`.
pub const DISPATCH_LEVEL: u8 = 2;
/// The highest device IRQL (`DIRQL`): `CLOCK_LEVEL` (13) and above belong to the kernel.
pub const MAX_DIRQL: u8 = 12;
/// `HIGH_LEVEL`.
pub const HIGH_LEVEL: u8 = 15;

/// The return address of the last routine call on each CPU, written by the entry thunks
/// (`(task register - 0x18) / 2` is this CPU's byte offset: two CPUs, slots 0 and 8).
pub static CALLERS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

const _: () = assert!(
    MAX_CPUS == 2,
    "the entry thunks mask the slot offset with 8"
);

/// Calls per routine.
static CALLS: spin::Mutex<BTreeMap<&'static str, u64>> = spin::Mutex::new(BTreeMap::new());

/// When [`report_busy`] last reported, and how many reports it made.
static LAST_BUSY: AtomicU64 = AtomicU64::new(0);
static BUSY_REPORTS: AtomicU64 = AtomicU64::new(0);

/// Every 10 s of run time (five times at most), the routine being entered and its caller: a
/// run that keeps a vCPU busy without ever idling says where.
fn report_busy(routine: &str, caller: u64, irql: u8) {
    let now = super::clock::interrupt_time();
    let last = LAST_BUSY.load(Ordering::Relaxed);
    if last == 0 {
        LAST_BUSY.store(now, Ordering::Relaxed);
        return;
    }
    if now.saturating_sub(last) < 100_000_000 || BUSY_REPORTS.fetch_add(1, Ordering::Relaxed) >= 5 {
        return;
    }
    LAST_BUSY.store(now, Ordering::Relaxed);
    crate::kprintln!(
        "NT-BUSY: {} s: {routine} from {} at IRQL {irql}",
        now / 10_000_000,
        super::loader::Where(caller)
    );
}

/// The current IRQL: this CPU's `cr8` (see [`super::cr8`] for how it is read here).
pub fn irql() -> u8 {
    super::cr8::current()
}

/// Sets the IRQL (`cr8`).
pub fn set_irql(level: u8) {
    super::cr8::set(level);
}

/// One routine call being checked.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The routine.
    pub routine: &'static str,
    /// The driver's return address.
    pub caller: u64,
    /// The IRQL it was called at.
    pub irql: u8,
}

/// Starts checking a call of `routine`: counts it, reads the caller and the IRQL, lets the
/// scheduler see the time (`sched::on_enter`), and runs the DPCs that became due if the IRQL
/// is below `DISPATCH_LEVEL`.
pub fn enter(routine: &'static str) -> Call {
    let cpu = arch::cpu_id();
    let caller = CALLERS
        .get(cpu)
        .map_or(0, |slot| slot.load(Ordering::SeqCst));
    let irql = irql();
    *CALLS.lock().entry(routine).or_insert(0) += 1;
    if cpu != 0 {
        // Lets Xen retire an interrupt-window request before the driver's next `cr8` write.
        super::cr8::interrupt_window();
        return Call {
            routine,
            caller,
            irql,
        };
    }
    // Time passes (timers fire, timeouts end) and a pending KeSetEvent(Wait = TRUE) is held to
    // its promise.
    super::sched::on_enter(routine, irql);
    report_busy(routine, caller, irql);
    // Lets Xen retire an interrupt-window request before the driver's next `cr8` write.
    super::cr8::interrupt_window();
    // A connected line asserted meanwhile interrupts here, if the IRQL lets it in (as a real
    // interrupt could have at any instruction before this call): drivers that spin on what only
    // their service routine changes call the kernel as they spin (a stall, the time).
    super::routines::interrupt::poll();
    if irql < DISPATCH_LEVEL {
        super::routines::dpc::run_due();
    }
    Call {
        routine,
        caller,
        irql,
    }
}

impl Call {
    /// Fails the run unless the IRQL is at most `max`.
    pub fn at_most(&self, max: u8) {
        if self.irql > max {
            self.fail(format_args!(
                "called at IRQL {}, above the documented maximum {max}",
                self.irql
            ));
        }
    }

    /// Fails the run with `rule` unless `ok`.
    pub fn require(&self, ok: bool, rule: fmt::Arguments<'_>) {
        if !ok {
            self.fail(rule);
        }
    }

    /// Fails the run: `rule` was broken by this call.
    pub fn fail(&self, rule: fmt::Arguments<'_>) -> ! {
        violation(self.routine, self.caller, rule)
    }
}

/// Ends the run because `routine`, called from `caller`, broke `rule`.
pub fn violation(routine: &str, caller: u64, rule: fmt::Arguments<'_>) -> ! {
    crate::harness::fatal(format_args!(
        "verifier: {routine}: {rule} (called from {})",
        super::loader::Where(caller)
    ))
}

/// How many times each routine was called.
pub fn calls() -> BTreeMap<&'static str, u64> {
    CALLS.lock().clone()
}
