// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DPCs: `KeInitializeDpc`, `KeInsertQueueDpc`, `KeRemoveQueueDpc`, `KeFlushQueuedDpcs`.
//!
//! The `KDPC` lives in the driver's memory with Windows' layout (`ntddk::KDPC`): initialising
//! writes `Type` (`DpcObject`), `Importance` (medium), the routine and context, and clears the
//! rest (`Number` 0: no target); `KeSetTargetProcessorDpcEx` (`routines::ke`) sets `Number` to
//! the processor's index plus [`TARGET_BIAS`], as Windows marks a targeted DPC; queuing stores
//! the two system arguments and a non-NULL `DpcData` (the "queued" mark Windows uses), removal
//! or delivery clears it again. The queue itself is the stand-in's: one list for the machine,
//! each entry with the processor it runs on: its target, or the processor that queued it (a
//! timer's DPC: processor 0, where the stand-in's timers expire).
//!
//! Delivery ([`run_due`]) runs the DPCs of the processor it is called on, at `DISPATCH_LEVEL`
//! (that processor's `cr8`), oldest first. On processor 0 it happens when the IRQL is below
//! `DISPATCH_LEVEL` as the stand-in sees it (see `verifier`): right after `KeInsertQueueDpc`
//! from below `DISPATCH_LEVEL` (on Windows the DPC interrupt fires as the insertion lowers the
//! IRQL again), at the entry of any routine called below `DISPATCH_LEVEL`, in
//! `KeFlushQueuedDpcs`, and when a driver entry point returns. A second processor, once the
//! stand-in started it (`crate::nt::smp`), runs its own DPCs from its idle loop, concurrently
//! with processor 0, within a few milliseconds of their insertion. `KeFlushQueuedDpcs` returns
//! once every DPC queued before the call, on any processor, has run (each entry carries a
//! sequence number; the call waits until none up to its mark is queued or running). Each
//! DPC routine runs at `DISPATCH_LEVEL` and must return there; a targeted DPC's run is recorded
//! ([`targeted_runs`]: routine, target, the processor it ran on).
//!
//! Checked: a NULL or uninitialised `KDPC`, a routine outside every loaded image's code, the
//! re-initialisation of a queued DPC, a DPC queued for a processor that is not active (it would
//! never run), `KeFlushQueuedDpcs` above `PASSIVE_LEVEL`, a DPC routine that returns at another
//! IRQL, and (at unload, [`queued_in`]) DPCs still queued whose object or routine belongs to
//! the image.

use super::DriverObject;
use crate::arch::{self, MAX_CPUS};
use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ntddk::KDPC;

/// `DpcObject` and `ThreadedDpcObject` (`KOBJECTS`).
const DPC_OBJECT: u8 = 19;
const THREADED_DPC_OBJECT: u8 = 24;
/// `MediumImportance`.
const MEDIUM_IMPORTANCE: u8 = 1;
/// What `DpcData` holds while the DPC is queued (any non-NULL value means "queued").
const QUEUED_MARK: usize = 0x5155_4555_4544_4443;
/// A targeted DPC's `Number`: the processor's index plus `MAXIMUM_PROCESSORS` (64 on x64), as
/// the Windows Research Kernel's `KeSetTargetProcessorDpc` stores it; 0 means no target.
pub const TARGET_BIAS: u16 = 64;
/// How long `KeFlushQueuedDpcs` waits for another processor's DPCs before the run fails (100 ns
/// units: 60 s).
const FLUSH_LIMIT: u64 = 600_000_000;

/// A DPC routine, in the Microsoft x64 convention.
type DeferredRoutine = unsafe extern "win64" fn(*mut c_void, *mut c_void, *mut c_void, *mut c_void);

/// One queued DPC.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The `KDPC`.
    dpc: usize,
    /// The processor it runs on.
    cpu: usize,
    /// Its place in the order of insertions (from 1).
    seq: u64,
}

/// Queued DPC objects, oldest first.
static QUEUE: spin::Mutex<VecDeque<Entry>> = spin::Mutex::new(VecDeque::new());
/// The last sequence number given out.
static SEQ: AtomicU64 = AtomicU64::new(0);
/// Set on a processor while [`run_due`] delivers there (routines it runs must not start
/// another delivery).
static RUNNING: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// The sequence number of the DPC each processor is running (0: none).
static CURRENT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// DPCs delivered so far.
static DELIVERED: AtomicU64 = AtomicU64::new(0);
/// The targeted DPCs that ran (the first 64): routine, target, the processor it ran on.
static TARGETED: spin::Mutex<Vec<TargetedRun>> = spin::Mutex::new(Vec::new());

/// A targeted DPC's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetedRun {
    /// The DPC routine.
    pub routine: u64,
    /// The processor `KeSetTargetProcessorDpcEx` named.
    pub target: usize,
    /// The processor it ran on (`arch::cpu_id()` in the delivery).
    pub ran_on: usize,
}

/// The driver's `KDPC` at `dpc`.
///
/// # Safety
/// `dpc` is a `KDPC` the driver handed to a DPC routine: its memory stays valid and the
/// kernel's while it is initialised, queued or running (the routines' contract).
const unsafe fn object(dpc: usize) -> DriverObject {
    // SAFETY: the caller's contract.
    unsafe { DriverObject::new(dpc, size_of::<KDPC>()) }
}

/// The processor a `KDPC`'s `Number` targets, if any.
fn target(k: DriverObject) -> Option<usize> {
    let number: u16 = k.get(offset_of!(KDPC, Number)).unwrap_or(0);
    number.checked_sub(TARGET_BIAS).map(usize::from)
}

/// Whether the `KDPC` was initialised.
pub fn is_initialised(k: DriverObject) -> bool {
    let kind: Option<u8> = k.get(offset_of!(KDPC, Type));
    let routine: Option<usize> = k.get(offset_of!(KDPC, DeferredRoutine));
    matches!(kind, Some(DPC_OBJECT | THREADED_DPC_OBJECT)) && routine.is_some_and(|r| r != 0)
}

/// `VOID KeInitializeDpc(PRKDPC Dpc, PKDEFERRED_ROUTINE DeferredRoutine, PVOID
/// DeferredContext)`. Any IRQL.
pub extern "win64" fn ke_initialize_dpc(dpc: *mut c_void, routine: usize, context: *mut c_void) {
    let call = verifier::enter("KeInitializeDpc");
    call.require(!dpc.is_null(), format_args!("Dpc is NULL"));
    call.require(
        loader::is_loaded_code(u64::try_from(routine).unwrap_or(0)),
        format_args!(
            "DeferredRoutine {} is not in a loaded image's code",
            Where(u64::try_from(routine).unwrap_or(0))
        ),
    );
    let d = dpc.addr();
    call.require(
        !is_queued(d),
        format_args!("re-initialising the queued DPC {d:#x}"),
    );
    // SAFETY: `KeInitializeDpc`'s contract: the driver's KDPC, the kernel's from now on.
    let k = unsafe { object(d) };
    k.set(offset_of!(KDPC, Type), DPC_OBJECT);
    k.set(offset_of!(KDPC, Importance), MEDIUM_IMPORTANCE);
    k.set(offset_of!(KDPC, Number), 0u16);
    k.set(offset_of!(KDPC, DpcListEntry), [0usize; 2]);
    k.set(offset_of!(KDPC, DeferredRoutine), routine);
    k.set(offset_of!(KDPC, DeferredContext), context);
    k.set(offset_of!(KDPC, SystemArgument1), 0usize);
    k.set(offset_of!(KDPC, SystemArgument2), 0usize);
    k.set(offset_of!(KDPC, DpcData), 0usize);
}

/// `BOOLEAN KeInsertQueueDpc(PRKDPC Dpc, PVOID SystemArgument1, PVOID SystemArgument2)`:
/// FALSE if already queued. Any IRQL.
pub extern "win64" fn ke_insert_queue_dpc(
    dpc: *mut c_void,
    a1: *mut c_void,
    a2: *mut c_void,
) -> u8 {
    let call = verifier::enter("KeInsertQueueDpc");
    call.require(!dpc.is_null(), format_args!("Dpc is NULL"));
    let d = dpc.addr();
    // SAFETY: `KeInsertQueueDpc`'s contract: an initialised KDPC of the driver.
    let k = unsafe { object(d) };
    call.require(
        is_initialised(k),
        format_args!("the DPC {d:#x} was not initialised with KeInitializeDpc"),
    );
    if let Some(cpu) = target(k) {
        let active = super::ke::processors();
        call.require(
            cpu < usize::try_from(active).unwrap_or(0),
            format_args!(
                "the DPC {d:#x} targets processor {cpu}, which is not active ({active} active):                  it would never run"
            ),
        );
    }
    if !queue(d, a1.addr(), a2.addr()) {
        return 0;
    }
    if call.irql < DISPATCH_LEVEL {
        run_due();
    }
    1
}

/// Queues the initialised `KDPC` at `d` with its two system arguments, as
/// `KeInsertQueueDpc` does (the kernel's own insertions: a timer's DPC at expiry), for its
/// target processor or else the current one; false if it was queued already.
pub fn queue(d: usize, a1: usize, a2: usize) -> bool {
    // SAFETY: an initialised KDPC of the driver (checked by the routine that handed it over).
    let k = unsafe { object(d) };
    let cpu = target(k).unwrap_or_else(arch::cpu_id);
    let mut queue = QUEUE.lock();
    if queue.iter().any(|e| e.dpc == d) {
        return false;
    }
    k.set(offset_of!(KDPC, SystemArgument1), a1);
    k.set(offset_of!(KDPC, SystemArgument2), a2);
    k.set(offset_of!(KDPC, DpcData), QUEUED_MARK);
    let seq = SEQ.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
    queue.push_back(Entry { dpc: d, cpu, seq });
    true
}

/// Whether a DPC is queued for the current processor.
pub fn pending() -> bool {
    let cpu = arch::cpu_id();
    QUEUE.lock().iter().any(|e| e.cpu == cpu)
}

/// Whether another processor has a DPC queued or running (something that may still signal
/// what the current processor's threads wait for).
pub fn pending_elsewhere() -> bool {
    let cpu = arch::cpu_id();
    QUEUE.lock().iter().any(|e| e.cpu != cpu)
        || CURRENT
            .iter()
            .enumerate()
            .any(|(c, s)| c != cpu && s.load(Ordering::SeqCst) != 0)
}

/// `BOOLEAN KeRemoveQueueDpc(PRKDPC Dpc)`: TRUE if it was queued. Any IRQL.
pub extern "win64" fn ke_remove_queue_dpc(dpc: *mut c_void) -> u8 {
    let call = verifier::enter("KeRemoveQueueDpc");
    call.require(!dpc.is_null(), format_args!("Dpc is NULL"));
    let d = dpc.addr();
    // SAFETY: `KeRemoveQueueDpc`'s contract: an initialised KDPC of the driver.
    let k = unsafe { object(d) };
    call.require(
        is_initialised(k),
        format_args!("the DPC {d:#x} was not initialised with KeInitializeDpc"),
    );
    let mut queue = QUEUE.lock();
    let Some(at) = queue.iter().position(|e| e.dpc == d) else {
        return 0;
    };
    queue.remove(at);
    k.set(offset_of!(KDPC, DpcData), 0usize);
    1
}

/// `VOID KeFlushQueuedDpcs(VOID)`: returns once every DPC queued before the call, on every
/// processor, has run. PASSIVE_LEVEL.
pub extern "win64" fn ke_flush_queued_dpcs() {
    let call = verifier::enter("KeFlushQueuedDpcs");
    call.at_most(PASSIVE_LEVEL);
    let mark = SEQ.load(Ordering::SeqCst);
    let start = crate::nt::clock::interrupt_time();
    loop {
        run_due();
        let queued = QUEUE.lock().iter().any(|e| e.seq <= mark);
        let running = CURRENT.iter().any(|s| {
            let seq = s.load(Ordering::SeqCst);
            seq != 0 && seq <= mark
        });
        if !queued && !running {
            return;
        }
        if crate::nt::clock::interrupt_time().saturating_sub(start) > FLUSH_LIMIT {
            call.fail(format_args!(
                "a DPC queued for another processor did not run within 60 s (queued {queued}, \
                 running {running})"
            ));
        }
        crate::nt::cr8::interrupt_window();
        arch::pause();
    }
}

/// Runs every DPC queued for the current processor at `DISPATCH_LEVEL`, oldest first (also
/// those queued by the DPCs run).
pub fn run_due() {
    let cpu = arch::cpu_id();
    let (Some(running), Some(current)) = (RUNNING.get(cpu), CURRENT.get(cpu)) else {
        return;
    };
    if running.swap(true, Ordering::SeqCst) {
        return;
    }
    loop {
        let entry = {
            let mut queue = QUEUE.lock();
            let at = queue.iter().position(|e| e.cpu == cpu);
            let entry = at.and_then(|at| queue.remove(at));
            if let Some(e) = entry {
                current.store(e.seq, Ordering::SeqCst);
            }
            entry
        };
        let Some(Entry { dpc: d, .. }) = entry else {
            break;
        };
        deliver(d, cpu);
        current.store(0, Ordering::SeqCst);
        DELIVERED.fetch_add(1, Ordering::SeqCst);
    }
    running.store(false, Ordering::SeqCst);
}

/// Calls the routine of the DPC `d`, just taken off the queue, on processor `cpu` (the current
/// one) at `DISPATCH_LEVEL`.
fn deliver(d: usize, cpu: usize) {
    // SAFETY: a queued KDPC: the driver keeps it valid until it has run.
    let k = unsafe { object(d) };
    k.set(offset_of!(KDPC, DpcData), 0usize);
    let routine: usize = k.get(offset_of!(KDPC, DeferredRoutine)).unwrap_or(0);
    let context: *mut c_void = k
        .get(offset_of!(KDPC, DeferredContext))
        .unwrap_or(core::ptr::null_mut());
    let a1: *mut c_void = k
        .get(offset_of!(KDPC, SystemArgument1))
        .unwrap_or(core::ptr::null_mut());
    let a2: *mut c_void = k
        .get(offset_of!(KDPC, SystemArgument2))
        .unwrap_or(core::ptr::null_mut());
    let at = u64::try_from(routine).unwrap_or(0);
    if !loader::is_loaded_code(at) {
        verifier::violation(
            "DPC delivery",
            at,
            format_args!("the DPC {d:#x}'s routine is not in a loaded image's code"),
        );
    }
    if let Some(t) = target(k) {
        let mut runs = TARGETED.lock();
        if runs.len() < 64 {
            runs.push(TargetedRun {
                routine: at,
                target: t,
                ran_on: cpu,
            });
        }
    }
    let old = verifier::irql();
    verifier::set_irql(DISPATCH_LEVEL);
    // SAFETY: `routine` is code of a loaded image that `KeInitializeDpc` recorded as this
    // DPC's routine; DPC routines take (Dpc, DeferredContext, SystemArgument1,
    // SystemArgument2) in the Microsoft x64 convention.
    let f = unsafe { core::mem::transmute::<usize, DeferredRoutine>(routine) };
    // SAFETY: as above; the DPC object stays valid while queued.
    unsafe { f(core::ptr::with_exposed_provenance_mut(d), context, a1, a2) };
    let after = verifier::irql();
    if after != DISPATCH_LEVEL {
        verifier::violation(
            "DPC routine",
            at,
            format_args!("returned at IRQL {after}, not DISPATCH_LEVEL"),
        );
    }
    verifier::set_irql(old);
}

/// The queued DPCs whose object or routine lies in image `index`.
pub fn queued_in(index: usize) -> Vec<usize> {
    QUEUE
        .lock()
        .iter()
        .map(|e| e.dpc)
        .filter(|&d| {
            // SAFETY: a queued KDPC: the driver keeps it valid until it has run.
            let routine: usize = unsafe { object(d) }
                .get(offset_of!(KDPC, DeferredRoutine))
                .unwrap_or(0);
            loader::containing(d as u64) == Some(index)
                || loader::containing(routine as u64) == Some(index)
        })
        .collect()
}

/// Whether the `KDPC` at `dpc` is queued.
pub fn is_queued(dpc: usize) -> bool {
    QUEUE.lock().iter().any(|e| e.dpc == dpc)
}

/// DPCs delivered so far.
pub fn delivered() -> u64 {
    DELIVERED.load(Ordering::SeqCst)
}

/// The targeted DPCs that ran so far (the first 64).
pub fn targeted_runs() -> Vec<TargetedRun> {
    TARGETED.lock().clone()
}
