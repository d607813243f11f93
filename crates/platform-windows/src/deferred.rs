// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Dpc`] and [`Timer`] over `KDPC` and `KTIMER` in non-paged pool.
//!
//! A kernel object must stay valid while the kernel may still touch it, whenever its Rust handle
//! is dropped. So each lives in a reference-counted block, and the kernel holds references too:
//!
//! * a DPC: one reference per successful `KeInsertQueueDpc`, passed as `SystemArgument1` and
//!   released by the DPC routine after the [`Routine`] returned, or by the `KeRemoveQueueDpc`
//!   that took the DPC off the queue. The kernel reads a DPC's routine and arguments before
//!   calling it and never touches the `KDPC` afterwards, so the routine may release the last
//!   reference.
//! * a timer: the kernel queues the timer's `KDPC` itself, with the expiry time as arguments, so
//!   no reference can travel with it. The timer takes one reference when first armed and keeps it
//!   until it is dropped: the drop cancels the timer and removes its queued DPC, then, at
//!   `PASSIVE_LEVEL`, waits for a DPC that may be running (`KeFlushQueuedDpcs`) before releasing
//!   it; above `PASSIVE_LEVEL` it hands the reference to the next [`flush`], which does the same.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use ntddk::{DISPATCHER_HEADER, KDPC, KTIMER, LIST_ENTRY, NotificationTimer, PVOID, nt_success};
use platform_port::{Dpc, Irql, IrqlLevel, RaisedIrql, Routine, Timer};

use crate::convert::{period_ms, relative_time};
use crate::kernel::{Kernel, require_at_most};

/// An all-zero `KDPC` for `KeInitializeDpc` to fill in.
const fn blank_dpc() -> KDPC {
    KDPC {
        Type: 0,
        Importance: 0,
        Number: 0,
        DpcListEntry: LIST_ENTRY {
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

/// An all-zero `KTIMER` for `KeInitializeTimerEx` to fill in.
const fn blank_timer() -> KTIMER {
    KTIMER {
        Header: DISPATCHER_HEADER {
            Lock: 0,
            SignalState: 0,
            WaitListHead: LIST_ENTRY {
                Flink: ptr::null_mut(),
                Blink: ptr::null_mut(),
            },
        },
        DueTime: 0,
        TimerListEntry: LIST_ENTRY {
            Flink: ptr::null_mut(),
            Blink: ptr::null_mut(),
        },
        Dpc: ptr::null_mut(),
        Processor: 0,
        Period: 0,
    }
}

/// Targets `dpc` at processor index `cpu` (`KeSetTargetProcessorDpcEx`). A processor index no
/// processor has (one that may be hot-added later) leaves the DPC untargeted: it then runs on
/// the processor that queues it.
fn target(dpc: *mut KDPC, cpu: u32) {
    if let Some(mut number) = Kernel.processor_number(cpu) {
        // SAFETY: any IRQL; the DPC is initialised and not queued yet.
        let status = unsafe { ntddk::routines::KeSetTargetProcessorDpcEx(dpc, &raw mut number) };
        let _ = nt_success(status);
    }
}

/// A DPC's block: the `KDPC` and what it runs.
struct DpcBlock {
    dpc: UnsafeCell<KDPC>,
    routine: Routine,
}

#[expect(
    clippy::non_send_fields_in_send_ty,
    reason = "the kernel objects in the cells are shared with the kernel, which synchronizes them"
)]
// SAFETY: the KDPC is only touched by the kernel's DPC routines, which synchronize it; the
// routine is `Send + Sync`.
unsafe impl Send for DpcBlock {}
// SAFETY: as for `Send`.
unsafe impl Sync for DpcBlock {}

/// A DPC (see the module docs for its lifetime).
pub struct WindowsDpc {
    block: Arc<DpcBlock>,
}

impl core::fmt::Debug for WindowsDpc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsDpc").finish_non_exhaustive()
    }
}

/// The `KDEFERRED_ROUTINE` of every [`WindowsDpc`]: `argument1` is the reference the insertion
/// handed over.
unsafe extern "system" fn dpc_routine(
    _dpc: *mut c_void,
    _context: PVOID,
    argument1: PVOID,
    _argument2: PVOID,
) {
    // SAFETY: `insert` passed `Arc::into_raw` of this block as `SystemArgument1`, and the
    // kernel runs each insertion once; the reference is ours now.
    let block = unsafe { Arc::from_raw(argument1.cast::<DpcBlock>().cast_const()) };
    (block.routine)();
}

impl WindowsDpc {
    /// A DPC running `routine` on processor `cpu` (or where it is queued). IRQL:
    /// `<= DISPATCH_LEVEL` (the pool allocation's).
    pub fn new(cpu: Option<u32>, routine: Routine) -> Self {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"KeInitializeDpc on pool above DISPATCH_LEVEL",
        );
        let block = Arc::new(DpcBlock {
            dpc: UnsafeCell::new(blank_dpc()),
            routine,
        });
        let dpc = block.dpc.get();
        // SAFETY: any IRQL; the KDPC is in pool and never moves (the Arc's block).
        unsafe { ntddk::routines::KeInitializeDpc(dpc.cast(), dpc_routine, ptr::null_mut()) };
        if let Some(cpu) = cpu {
            target(dpc, cpu);
        }
        Self { block }
    }
}

impl Dpc for WindowsDpc {
    fn insert(&self) -> bool {
        let reference = Arc::into_raw(Arc::clone(&self.block));
        // SAFETY: any IRQL; an initialised KDPC; the reference travels with the insertion.
        let queued = unsafe {
            ntddk::routines::KeInsertQueueDpc(
                self.block.dpc.get().cast(),
                reference.cast_mut().cast(),
                ptr::null_mut(),
            )
        } != 0;
        if !queued {
            // SAFETY: not queued: the kernel did not take the reference; give it back. Never
            // the last one (`self` holds another), so nothing is freed here, at any IRQL.
            drop(unsafe { Arc::from_raw(reference) });
        }
        queued
    }

    fn remove(&self) -> bool {
        // SAFETY: any IRQL; an initialised KDPC.
        let removed =
            unsafe { ntddk::routines::KeRemoveQueueDpc(self.block.dpc.get().cast()) } != 0;
        if removed {
            // SAFETY: the removed insertion's reference (an `Arc::into_raw` of this block) will
            // never reach the routine; release it. Never the last one (`self` holds another).
            unsafe { Arc::decrement_strong_count(Arc::as_ptr(&self.block)) };
        }
        removed
    }
}

impl Drop for WindowsDpc {
    fn drop(&mut self) {
        // A queued insertion is taken back; a running one holds its own reference.
        let _ = self.remove();
    }
}

/// A timer's block: the `KTIMER`, its `KDPC` and what it runs.
struct TimerBlock {
    timer: UnsafeCell<KTIMER>,
    dpc: UnsafeCell<KDPC>,
    routine: Routine,
}

#[expect(
    clippy::non_send_fields_in_send_ty,
    reason = "the kernel objects in the cells are shared with the kernel, which synchronizes them"
)]
// SAFETY: the KTIMER and KDPC are touched only through the kernel's routines, which synchronize
// them; the routine is `Send + Sync`.
unsafe impl Send for TimerBlock {}
// SAFETY: as for `Send`.
unsafe impl Sync for TimerBlock {}

/// A timer (see the module docs for its lifetime).
pub struct WindowsTimer {
    block: Arc<TimerBlock>,
    /// Whether the kernel's reference was taken (the timer was armed at least once).
    kernel_reference: AtomicBool,
}

impl core::fmt::Debug for WindowsTimer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsTimer").finish_non_exhaustive()
    }
}

/// The `KDEFERRED_ROUTINE` of every timer: `context` is the block, kept alive by the kernel's
/// reference.
unsafe extern "system" fn timer_routine(
    _dpc: *mut c_void,
    context: PVOID,
    _argument1: PVOID,
    _argument2: PVOID,
) {
    // SAFETY: the timer's kernel reference keeps the block alive until its drop proved no DPC
    // of it is queued or running (module docs).
    let block = unsafe { &*context.cast::<TimerBlock>().cast_const() };
    (block.routine)();
}

/// Kernel references of timers dropped above `PASSIVE_LEVEL`, released by [`flush`]. Taken at
/// `DISPATCH_LEVEL` only (so no holder is preempted on its processor).
static RETIRED: spin::Mutex<Vec<Retired>> = spin::Mutex::new(Vec::new());

/// A timer block's kernel reference, waiting for a flush.
struct Retired(*const TimerBlock);

// SAFETY: a counted reference to a `Send + Sync` block, released by whichever thread flushes.
unsafe impl Send for Retired {}

impl Retired {
    fn release(self) {
        // SAFETY: the kernel reference `set` made with `Arc::into_raw`; released once.
        unsafe { Arc::decrement_strong_count(self.0) };
    }
}

/// Waits for every queued and running DPC (`KeFlushQueuedDpcs`), then releases the timers
/// retired before the wait. IRQL: `PASSIVE_LEVEL`.
pub fn flush() {
    require_at_most(IrqlLevel::PASSIVE, c"KeFlushQueuedDpcs above PASSIVE_LEVEL");
    let retired = {
        let _raised = RaisedIrql::at_least(&Kernel, IrqlLevel::DISPATCH);
        core::mem::take(&mut *RETIRED.lock())
    };
    // SAFETY: PASSIVE_LEVEL.
    unsafe { ntddk::routines::KeFlushQueuedDpcs() };
    for timer in retired {
        timer.release();
    }
}

impl WindowsTimer {
    /// A disarmed timer running `routine`. IRQL: `<= DISPATCH_LEVEL`.
    pub fn new(routine: Routine) -> Self {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"KeInitializeTimerEx on pool above DISPATCH_LEVEL",
        );
        let block = Arc::new(TimerBlock {
            timer: UnsafeCell::new(blank_timer()),
            dpc: UnsafeCell::new(blank_dpc()),
            routine,
        });
        // SAFETY: <= DISPATCH_LEVEL; pool storage that never moves.
        unsafe { ntddk::routines::KeInitializeTimerEx(block.timer.get(), NotificationTimer) };
        let context = Arc::as_ptr(&block).cast_mut().cast::<c_void>();
        // SAFETY: any IRQL; pool storage that never moves; `context` stays valid while the
        // kernel may run the DPC (module docs).
        unsafe {
            ntddk::routines::KeInitializeDpc(block.dpc.get().cast(), timer_routine, context);
        };
        Self {
            block,
            kernel_reference: AtomicBool::new(false),
        }
    }
}

impl Timer for WindowsTimer {
    fn set(&self, due: Duration, period: Option<Duration>) {
        require_at_most(IrqlLevel::DISPATCH, c"KeSetTimerEx above DISPATCH_LEVEL");
        if !self.kernel_reference.swap(true, Ordering::AcqRel) {
            // The kernel's reference, held until the drop (module docs).
            let _ = Arc::into_raw(Arc::clone(&self.block));
        }
        // SAFETY: <= DISPATCH_LEVEL; an initialised timer and DPC kept alive by the kernel's
        // reference.
        let _was_armed = unsafe {
            ntddk::routines::KeSetTimerEx(
                self.block.timer.get(),
                relative_time(due),
                period_ms(period),
                self.block.dpc.get(),
            )
        };
    }

    /// `KeCancelTimer`, and `KeRemoveQueueDpc` for an expiry whose routine has not started:
    /// after `cancel` the routine runs only if it already started.
    fn cancel(&self) -> bool {
        require_at_most(IrqlLevel::DISPATCH, c"KeCancelTimer above DISPATCH_LEVEL");
        // SAFETY: <= DISPATCH_LEVEL; an initialised timer.
        let armed = unsafe { ntddk::routines::KeCancelTimer(self.block.timer.get()) } != 0;
        // SAFETY: any IRQL; an initialised DPC.
        let _removed = unsafe { ntddk::routines::KeRemoveQueueDpc(self.block.dpc.get().cast()) };
        armed
    }
}

impl Drop for WindowsTimer {
    /// IRQL: `<= DISPATCH_LEVEL` (`KeCancelTimer`).
    fn drop(&mut self) {
        let _ = self.cancel();
        if !self.kernel_reference.load(Ordering::Acquire) {
            return;
        }
        let reference = Retired(Arc::as_ptr(&self.block));
        if Kernel.current_irql() == IrqlLevel::PASSIVE {
            // SAFETY: PASSIVE_LEVEL: waits for a DPC of this timer that may be running.
            unsafe { ntddk::routines::KeFlushQueuedDpcs() };
            reference.release();
            return;
        }
        let _raised = RaisedIrql::at_least(&Kernel, IrqlLevel::DISPATCH);
        let mut retired = RETIRED.lock();
        if retired.try_reserve(1).is_ok() {
            retired.push(reference);
        }
        // Without room the kernel's reference is never released: the block leaks, which is
        // safe, where freeing it under a running DPC would not be.
    }
}
