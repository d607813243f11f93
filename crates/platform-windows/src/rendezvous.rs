// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Rendezvous`] on Windows: the [`crate::sync`] protocol with one `KDPC` per other active
//! processor (`KeQueryActiveProcessorCountEx`, `KeGetProcessorNumberFromIndex`,
//! `KeInitializeDpc`, `KeSetTargetProcessorDpcEx`, `KeInsertQueueDpc`), as upstream's
//! `SyncCapture`.
//!
//! One rendezvous at a time: a second caller waits for the owner slot *below*
//! `DISPATCH_LEVEL` when it can (its processor must stay capturable by the first owner's DPC).
//! A caller already at `DISPATCH_LEVEL` spins there; it must know no other rendezvous runs
//! (upstream asserts the same of `SyncCapture`'s callers: SUSPEND serializes them).
//!
//! [`Rendezvous`]: platform_port::Rendezvous

use alloc::vec::Vec;
use core::ffi::c_void;
use core::hint::spin_loop;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use ntddk::{KDPC, PROCESSOR_NUMBER, PVOID};
use platform_port::{Irql, IrqlLevel, Processors, RendezvousPlan};

use crate::kernel::{Kernel, require_at_most};
use crate::sync::SyncContext;

/// The protocol's shared state (upstream's static `SyncContext`).
static CONTEXT: SyncContext = SyncContext::new();

/// Whether a rendezvous runs (upstream's `SyncOwner`).
static OWNED: AtomicBool = AtomicBool::new(false);

/// The plan of the rendezvous in progress, for the participants' DPCs; set by the owner while
/// it holds the slot, cleared before it releases it.
static PLAN: AtomicPtr<PlanRef<'static>> = AtomicPtr::new(ptr::null_mut());

/// A thin pointer's worth of plan (the plan itself is a fat `&dyn`).
struct PlanRef<'a>(&'a dyn RendezvousPlan);

/// The participants' `KDEFERRED_ROUTINE` (upstream's `SyncWorker`), at `DISPATCH_LEVEL`.
unsafe extern "system" fn sync_worker(
    _dpc: *mut c_void,
    _context: PVOID,
    _argument1: PVOID,
    _argument2: PVOID,
) {
    let plan = PLAN.load(Ordering::Acquire);
    // SAFETY: the owner published the plan before queueing this DPC and clears it only after
    // every participant's final check-in, which `participant` makes last.
    let Some(plan) = (unsafe { plan.as_ref() }) else {
        return;
    };
    let index = Kernel.current_processor();
    CONTEXT.participant(&Kernel, index, plan.0);
}

/// An all-zero `KDPC` for `KeInitializeDpc` to fill in.
const fn blank_dpc() -> KDPC {
    KDPC {
        Type: 0,
        Importance: 0,
        Number: 0,
        DpcListEntry: ntddk::LIST_ENTRY {
            Flink: ptr::null_mut(),
            Blink: ptr::null_mut(),
        },
        DeferredRoutine: None,
        DeferredContext: ptr::null_mut(),
        SystemArgument1: ptr::null_mut(),
        SystemArgument2: ptr::null_mut(),
        DpcData: ptr::null_mut(),
    }
}

/// Runs `plan` with every active processor captured (see [`crate::sync`]). IRQL:
/// `<= DISPATCH_LEVEL`.
pub fn rendezvous(plan: &dyn RendezvousPlan) {
    require_at_most(IrqlLevel::DISPATCH, c"SyncCapture above DISPATCH_LEVEL");
    while OWNED
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        spin_loop();
    }
    let old = if Kernel.current_irql() < IrqlLevel::DISPATCH {
        Some(Kernel.raise_irql(IrqlLevel::DISPATCH))
    } else {
        None
    };
    let me = Kernel.current_processor();
    // Every other active processor that has a group and number (upstream asserts they all do).
    let active = Kernel.active_processor_count();
    let mut targets: Vec<PROCESSOR_NUMBER> = Vec::new();
    let mut dpcs: Vec<KDPC> = Vec::new();
    let wanted = usize::try_from(active).unwrap_or(0);
    if targets.try_reserve_exact(wanted).is_err() || dpcs.try_reserve_exact(wanted).is_err() {
        // Upstream asserts its allocation; a rendezvous that cannot capture must not proceed.
        ntddk::runtime::fatal(c"SyncCapture: no memory for the DPCs", wanted);
    }
    targets.extend(
        (0..active)
            .filter(|&index| index != me)
            .filter_map(|index| Kernel.processor_number(index)),
    );
    dpcs.resize(targets.len(), blank_dpc());
    let processors = u32::try_from(targets.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let mut plan_ref = PlanRef(plan);
    // The participants read the plan only between this store and the final check-in the
    // owner waits for (the 'static is never observed past that).
    PLAN.store(
        ptr::from_mut(&mut plan_ref).cast::<PlanRef<'static>>(),
        Ordering::Release,
    );
    CONTEXT.owner(&Kernel, me, processors, plan, || {
        for (number, dpc) in targets.iter_mut().zip(dpcs.iter_mut()) {
            let dpc = ptr::from_mut(dpc);
            // SAFETY: DISPATCH_LEVEL; a KDPC in the vector, which is neither moved (its
            // capacity is reserved) nor freed until every participant checked out.
            unsafe {
                ntddk::routines::KeInitializeDpc(dpc.cast(), sync_worker, ptr::null_mut());
            };
            // SAFETY: any IRQL; an initialised, unqueued KDPC.
            let _status = unsafe { ntddk::routines::KeSetTargetProcessorDpcEx(dpc, number) };
            // SAFETY: any IRQL; an initialised KDPC.
            let _queued = unsafe {
                ntddk::routines::KeInsertQueueDpc(dpc.cast(), ptr::null_mut(), ptr::null_mut())
            };
        }
    });
    PLAN.store(ptr::null_mut(), Ordering::Release);
    drop(dpcs);
    if let Some(old) = old {
        Kernel.lower_irql(old);
    }
    OWNED.store(false, Ordering::Release);
}
