// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DPCs: `KeInitializeDpc`, `KeInsertQueueDpc`, `KeRemoveQueueDpc`, `KeFlushQueuedDpcs`.
//!
//! The `KDPC` lives in the driver's memory with Windows' layout (`ntddk::KDPC`): initialising
//! writes `Type` (`DpcObject`), `Importance` (medium), the routine and context, and clears the
//! rest; queuing stores the two system arguments and a non-NULL `DpcData` (the "queued" mark
//! Windows uses), removal or delivery clears it again. The queue itself is the stand-in's: one
//! FIFO for the machine (drivers here run on vCPU 0; the target processor of a DPC is not
//! modelled).
//!
//! Delivery ([`run_due`]) happens when the IRQL is below `DISPATCH_LEVEL` as the stand-in sees
//! it (see `verifier`): right after `KeInsertQueueDpc` from below `DISPATCH_LEVEL` (on Windows
//! the DPC interrupt fires as the insertion lowers the IRQL again), at the entry of any routine
//! called below `DISPATCH_LEVEL`, in `KeFlushQueuedDpcs`, and when a driver entry point returns.
//! Each DPC routine runs at `DISPATCH_LEVEL` and must return there.
//!
//! Checked: a NULL or uninitialised `KDPC`, a routine outside every loaded image's code, the
//! re-initialisation of a queued DPC, `KeFlushQueuedDpcs` above `PASSIVE_LEVEL`, a DPC routine
//! that returns at another IRQL, and (at unload, [`queued_in`]) DPCs still queued whose object
//! or routine belongs to the image.

use super::DriverObject;
use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use core::sync::atomic::{AtomicBool, Ordering};
use ntddk::KDPC;

/// `DpcObject` and `ThreadedDpcObject` (`KOBJECTS`).
const DPC_OBJECT: u8 = 19;
const THREADED_DPC_OBJECT: u8 = 24;
/// `MediumImportance`.
const MEDIUM_IMPORTANCE: u8 = 1;
/// What `DpcData` holds while the DPC is queued (any non-NULL value means "queued").
const QUEUED_MARK: usize = 0x5155_4555_4544_4443;

/// A DPC routine, in the Microsoft x64 convention.
type DeferredRoutine = unsafe extern "win64" fn(*mut c_void, *mut c_void, *mut c_void, *mut c_void);

/// Queued DPC objects, oldest first.
static QUEUE: spin::Mutex<VecDeque<usize>> = spin::Mutex::new(VecDeque::new());
/// Set while [`run_due`] delivers (routines it runs must not start another delivery).
static RUNNING: AtomicBool = AtomicBool::new(false);
/// DPCs delivered so far.
static DELIVERED: spin::Mutex<u64> = spin::Mutex::new(0);

/// The driver's `KDPC` at `dpc`.
///
/// # Safety
/// `dpc` is a `KDPC` the driver handed to a DPC routine: its memory stays valid and the
/// kernel's while it is initialised, queued or running (the routines' contract).
const unsafe fn object(dpc: usize) -> DriverObject {
    // SAFETY: the caller's contract.
    unsafe { DriverObject::new(dpc, size_of::<KDPC>()) }
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
        !QUEUE.lock().contains(&d),
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
    if !queue(d, a1.addr(), a2.addr()) {
        return 0;
    }
    if call.irql < DISPATCH_LEVEL {
        run_due();
    }
    1
}

/// Queues the initialised `KDPC` at `d` with its two system arguments, as
/// `KeInsertQueueDpc` does (the kernel's own insertions: a timer's DPC at expiry); false if it
/// was queued already.
pub fn queue(d: usize, a1: usize, a2: usize) -> bool {
    // SAFETY: an initialised KDPC of the driver (checked by the routine that handed it over).
    let k = unsafe { object(d) };
    let mut queue = QUEUE.lock();
    if queue.contains(&d) {
        return false;
    }
    k.set(offset_of!(KDPC, SystemArgument1), a1);
    k.set(offset_of!(KDPC, SystemArgument2), a2);
    k.set(offset_of!(KDPC, DpcData), QUEUED_MARK);
    queue.push_back(d);
    true
}

/// Whether a DPC is queued.
pub fn pending() -> bool {
    !QUEUE.lock().is_empty()
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
    let Some(at) = queue.iter().position(|&q| q == d) else {
        return 0;
    };
    queue.remove(at);
    k.set(offset_of!(KDPC, DpcData), 0usize);
    1
}

/// `VOID KeFlushQueuedDpcs(VOID)`: returns once every queued DPC ran. PASSIVE_LEVEL.
pub extern "win64" fn ke_flush_queued_dpcs() {
    let call = verifier::enter("KeFlushQueuedDpcs");
    call.at_most(PASSIVE_LEVEL);
    run_due();
}

/// Runs every queued DPC at `DISPATCH_LEVEL`, oldest first (also those queued by the DPCs run).
pub fn run_due() {
    if RUNNING.swap(true, Ordering::SeqCst) {
        return;
    }
    loop {
        let Some(d) = QUEUE.lock().pop_front() else {
            break;
        };
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
        *DELIVERED.lock() += 1;
    }
    RUNNING.store(false, Ordering::SeqCst);
}

/// The queued DPCs whose object or routine lies in image `index`.
pub fn queued_in(index: usize) -> Vec<usize> {
    QUEUE
        .lock()
        .iter()
        .copied()
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
    QUEUE.lock().contains(&dpc)
}

/// DPCs delivered so far.
pub fn delivered() -> u64 {
    *DELIVERED.lock()
}
