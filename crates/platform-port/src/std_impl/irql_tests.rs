// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The IRQL contracts: one test per rule breaking it on purpose, and the legal uses, counted.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::irql::this_thread_counts;
use super::*;
use crate::interrupt::{Interrupt as _, InterruptMode, Interrupts as _};
use crate::rendezvous::{Rendezvous as _, RendezvousPlan};
use crate::traits::{Dpc as _, Timer as _};
use crate::worker::Worker;
use crate::{IrqlGuard, IrqlLock};

/// A device IRQL above `DISPATCH_LEVEL` (the std interrupts' synchronize IRQL).
const DIRQL: IrqlLevel = STD_DIRQL;

/// A test breaking a "callable at or below" rule: raise to `$level`, then call.
macro_rules! at_level {
    ($name:ident, $level:expr, $expected:literal, |$p:ident| $body:block) => {
        #[test]
        #[should_panic(expected = $expected)]
        fn $name() {
            let $p = StdPlatform::new(2);
            let _ = $p.raise_irql($level);
            $body
        }
    };
}

// -- Irql: KeRaiseIrql / KeLowerIrql -------------------------------------------------------------

at_level!(
    raising_to_a_lower_level_is_refused,
    IrqlLevel::DISPATCH,
    "Irql::raise_irql to PASSIVE_LEVEL at DISPATCH_LEVEL (allowed: new >= current, <= HIGH_LEVEL) [KeRaiseIrql]",
    |p| {
        let _ = p.raise_irql(IrqlLevel::PASSIVE);
    }
);

at_level!(
    raising_above_high_level_is_refused,
    IrqlLevel::PASSIVE,
    "Irql::raise_irql to IRQL 16 (above HIGH_LEVEL) at PASSIVE_LEVEL",
    |p| {
        let _ = p.raise_irql(IrqlLevel(16));
    }
);

at_level!(
    lowering_above_the_current_level_is_refused,
    IrqlLevel::PASSIVE,
    "Irql::lower_irql to DISPATCH_LEVEL at PASSIVE_LEVEL (allowed: new <= current) [KeLowerIrql]",
    |p| {
        p.lower_irql(IrqlLevel::DISPATCH);
    }
);

// -- Events: KeWaitForSingleObject, KeSetEvent, KeClearEvent, KeReadStateEvent ---------------------

at_level!(
    waiting_at_dispatch_is_refused,
    IrqlLevel::DISPATCH,
    "Event::wait at DISPATCH_LEVEL (allowed: <= APC_LEVEL, or <= DISPATCH_LEVEL with a zero timeout) [KeWaitForSingleObject]",
    |_p| {
        let event = StdEvent::for_tests();
        event.set();
        let _ = event.wait(Some(Duration::from_millis(1)));
    }
);

at_level!(
    polling_above_dispatch_is_refused,
    IrqlLevel::HIGH,
    "Event::wait at HIGH_LEVEL (allowed: <= APC_LEVEL",
    |_p| {
        let event = StdEvent::for_tests();
        let _ = event.wait(Some(Duration::ZERO));
    }
);

at_level!(
    setting_an_event_at_high_is_refused,
    IrqlLevel::HIGH,
    "Event::set at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeSetEvent]",
    |_p| {
        StdEvent::for_tests().set();
    }
);

at_level!(
    clearing_an_event_at_high_is_refused,
    IrqlLevel::HIGH,
    "Event::reset at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeClearEvent]",
    |_p| {
        StdEvent::for_tests().reset();
    }
);

at_level!(
    reading_an_event_at_high_is_refused,
    IrqlLevel::HIGH,
    "Event::is_set at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeReadStateEvent]",
    |_p| {
        let _ = StdEvent::for_tests().is_set();
    }
);

at_level!(
    creating_an_event_at_high_is_refused,
    IrqlLevel::HIGH,
    "Events::new_event at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL)",
    |p| {
        let _ = p.new_event(EventKind::Synchronization);
    }
);

// -- DPCs and timers ------------------------------------------------------------------------------

at_level!(
    creating_a_dpc_at_high_is_refused,
    IrqlLevel::HIGH,
    "Deferred::new_dpc at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL)",
    |p| {
        let _ = p.new_dpc(None, Arc::new(|| {}));
    }
);

at_level!(
    flushing_dpcs_at_dispatch_is_refused,
    IrqlLevel::DISPATCH,
    "Deferred::flush_dpcs at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL) [KeFlushQueuedDpcs]",
    |p| {
        p.flush_dpcs();
    }
);

at_level!(
    creating_a_timer_at_high_is_refused,
    IrqlLevel::HIGH,
    "Timers::new_timer at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeInitializeTimerEx]",
    |p| {
        let _ = p.new_timer(Arc::new(|| {}));
    }
);

#[test]
#[should_panic(expected = "Timer::set at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeSetTimerEx]")]
fn arming_a_timer_at_high_is_refused() {
    let p = StdPlatform::new(1);
    let timer = p.new_timer(Arc::new(|| {}));
    let _ = p.raise_irql(IrqlLevel::HIGH);
    timer.set(Duration::from_mins(1), None);
}

#[test]
#[should_panic(
    expected = "Timer::cancel at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeCancelTimer]"
)]
fn cancelling_a_timer_at_high_is_refused() {
    let p = StdPlatform::new(1);
    let timer = p.new_timer(Arc::new(|| {}));
    let _ = p.raise_irql(IrqlLevel::HIGH);
    let _ = timer.cancel();
}

// -- Threads: PsCreateSystemThread, the join ----------------------------------------------------

at_level!(
    creating_a_thread_above_passive_is_refused,
    IrqlLevel::APC,
    "Threads::spawn at APC_LEVEL (allowed: PASSIVE_LEVEL) [PsCreateSystemThread]",
    |p| {
        let _ = p.spawn("never", Box::new(|| {}));
    }
);

#[test]
#[should_panic(expected = "Thread::join at DISPATCH_LEVEL (allowed: <= APC_LEVEL)")]
fn joining_a_thread_at_dispatch_is_refused() {
    let p = StdPlatform::new(1);
    let thread = p.spawn("quick", Box::new(|| {})).unwrap();
    let _ = p.raise_irql(IrqlLevel::DISPATCH);
    thread.join();
}

#[test]
#[should_panic(expected = "Threads::spawn at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL)")]
fn starting_a_worker_at_dispatch_is_refused() {
    let p = StdPlatform::new(1);
    let _ = p.raise_irql(IrqlLevel::DISPATCH);
    let _ = Worker::start(&p, "never", |_| {});
}

// -- Memory: MmAllocateContiguousMemory, MmFreeContiguousMemory, MmMapIoSpace, MmUnmapIoSpace --

at_level!(
    allocating_pages_at_high_is_refused,
    IrqlLevel::HIGH,
    "Memory::alloc_pages at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [MmAllocateContiguousMemory]",
    |p| {
        let _ = p.alloc_pages(1);
    }
);

#[test]
#[should_panic(
    expected = "Memory::free_pages at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [MmFreeContiguousMemory]"
)]
fn freeing_pages_at_high_is_refused() {
    let p = StdPlatform::new(1);
    let pages = p.alloc_pages(1).unwrap();
    let _ = p.raise_irql(IrqlLevel::HIGH);
    // SAFETY: allocated above and unused; the call panics before freeing anyway.
    unsafe { p.free_pages(pages) };
}

#[test]
#[should_panic(
    expected = "Memory::map_physical at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [MmMapIoSpace]"
)]
fn mapping_at_high_is_refused() {
    let p = StdPlatform::new(1);
    let pages = p.alloc_pages(1).unwrap();
    let _ = p.raise_irql(IrqlLevel::HIGH);
    // SAFETY: the frame is a live allocation (the call panics before mapping).
    let _ = unsafe { p.map_physical(pages.pfn, 1) };
}

#[test]
#[should_panic(
    expected = "Memory::unmap_physical at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [MmUnmapIoSpace]"
)]
fn unmapping_at_high_is_refused() {
    let p = StdPlatform::new(1);
    let pages = p.alloc_pages(1).unwrap();
    // SAFETY: the frame is a live allocation.
    let mapped = unsafe { p.map_physical(pages.pfn, 1) }.unwrap();
    let _ = p.raise_irql(IrqlLevel::HIGH);
    // SAFETY: `mapped` came from `map_physical` above and is not used again.
    unsafe { p.unmap_physical(mapped, 1) };
}

// -- Registry: Zw* at PASSIVE_LEVEL -----------------------------------------------------------------

at_level!(
    reading_the_registry_above_passive_is_refused,
    IrqlLevel::APC,
    "Registry::read_value at APC_LEVEL (allowed: PASSIVE_LEVEL) [ZwQueryValueKey]",
    |p| {
        let _ = p.read_dword(r"SYSTEM\Xen", "x");
    }
);

at_level!(
    writing_the_registry_at_dispatch_is_refused,
    IrqlLevel::DISPATCH,
    "Registry::write_value at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL) [ZwSetValueKey]",
    |p| {
        let _ = p.write_value(r"SYSTEM\Xen", "x", RegValue::Dword(1));
    }
);

at_level!(
    deleting_a_registry_value_at_dispatch_is_refused,
    IrqlLevel::DISPATCH,
    "Registry::delete_value at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL) [ZwDeleteValueKey]",
    |p| {
        let _ = p.delete_value(r"SYSTEM\Xen", "x");
    }
);

at_level!(
    creating_a_registry_key_at_dispatch_is_refused,
    IrqlLevel::DISPATCH,
    "Registry::create_key at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL) [ZwCreateKey]",
    |p| {
        let _ = p.create_key(r"SYSTEM\Xen", true);
    }
);

at_level!(
    listing_registry_keys_at_dispatch_is_refused,
    IrqlLevel::DISPATCH,
    "Registry::subkeys at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL) [ZwEnumerateKey]",
    |p| {
        let _ = p.subkeys(r"SYSTEM\Xen");
    }
);

// -- Interrupts: KeAcquireInterruptSpinLock, FdoAllocateInterrupt, FdoFreeInterrupt -------------

at_level!(
    synchronizing_above_the_interrupts_irql_is_refused,
    IrqlLevel::HIGH,
    "Interrupt::synchronize at HIGH_LEVEL (allowed: <= DIRQL 8)",
    |p| {
        let interrupts = StdInterrupts::new(p.clone());
        p.lower_irql(IrqlLevel::PASSIVE);
        let irq = interrupts
            .allocate_interrupt(InterruptMode::Latched, 0)
            .unwrap();
        let _ = p.raise_irql(IrqlLevel::HIGH);
        irq.synchronize(&mut || {});
    }
);

at_level!(
    allocating_an_interrupt_at_high_is_refused,
    IrqlLevel::HIGH,
    "Interrupts::allocate_interrupt at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [FdoAllocateInterrupt]",
    |p| {
        let _ = StdInterrupts::new(p).allocate_interrupt(InterruptMode::LevelSensitive, 0);
    }
);

#[test]
#[should_panic(
    expected = "dropping an Interrupt at DIRQL 8 (allowed: <= DISPATCH_LEVEL) [FdoFreeInterrupt]"
)]
fn freeing_an_interrupt_above_dispatch_is_refused() {
    let p = StdPlatform::new(1);
    let irq = StdInterrupts::new(p.clone())
        .allocate_interrupt(InterruptMode::Latched, 0)
        .unwrap();
    let _ = p.raise_irql(DIRQL);
    drop(irq);
}

// -- Rendezvous ------------------------------------------------------------------------------------

struct Plan<F: Fn(u32) + Sync> {
    on_other_cpus_at_high: F,
    owner: u32,
}

impl<F: Fn(u32) + Sync> RendezvousPlan for Plan<F> {
    fn owner_high(&self) -> bool {
        true
    }
    fn each_high(&self, cpu: u32) {
        if cpu != self.owner {
            (self.on_other_cpus_at_high)(cpu);
        }
    }
    fn each_dispatch(&self, _cpu: u32) {}
}

at_level!(
    a_rendezvous_above_dispatch_is_refused,
    IrqlLevel::HIGH,
    "Rendezvous::rendezvous at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL)",
    |p| {
        p.rendezvous(&Plan {
            on_other_cpus_at_high: |_| {},
            owner: 0,
        });
    }
);

#[test]
#[should_panic(expected = "Event::set at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL) [KeSetEvent]")]
fn a_rule_broken_at_high_on_another_processor_fails_the_rendezvous_owner() {
    let p = StdPlatform::new(3);
    let event = p.new_event(EventKind::Notification);
    p.rendezvous(&Plan {
        on_other_cpus_at_high: |_| event.set(),
        owner: 0,
    });
}

// -- IrqlLock: level, recursion, release order, preemption ----------------------------------------

#[test]
#[should_panic(
    expected = "IrqlLock::lock of a DISPATCH_LEVEL lock at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL"
)]
fn a_dispatch_lock_taken_at_high_is_refused() {
    let p = StdPlatform::new(1);
    let lock = IrqlLock::dispatch(p.clone(), ());
    let _ = p.raise_irql(IrqlLevel::HIGH);
    let _guard = lock.lock();
}

#[test]
#[should_panic(
    expected = "IrqlLock::try_lock of a DISPATCH_LEVEL lock at DIRQL 8 (allowed: <= DISPATCH_LEVEL"
)]
fn a_dispatch_lock_tried_at_dirql_is_refused() {
    let p = StdPlatform::new(1);
    let lock = IrqlLock::dispatch(p.clone(), ());
    let _ = p.raise_irql(DIRQL);
    let _guard = lock.try_lock();
}

#[test]
#[should_panic(
    expected = "recursive acquisition of a spin lock on CPU 0: this context already holds the DISPATCH_LEVEL lock it took at"
)]
fn taking_a_held_lock_again_is_refused() {
    let p = StdPlatform::new(1);
    let lock = IrqlLock::dispatch(p, ());
    let _first = lock.lock();
    let _second = lock.lock();
}

#[test]
#[should_panic(
    expected = "locks released out of order: releasing the DISPATCH_LEVEL lock taken at"
)]
fn releasing_the_outer_lock_first_is_refused() {
    let p = StdPlatform::new(1);
    let outer = IrqlLock::dispatch(p.clone(), ());
    let inner = IrqlLock::dispatch(p, ());
    let outer_guard = outer.lock();
    let inner_guard = inner.lock();
    // Releasing `outer` lowers to PASSIVE_LEVEL while `inner` is still held.
    drop(outer_guard);
    drop(inner_guard);
}

#[test]
#[should_panic(
    expected = "Irql::lower_irql to PASSIVE_LEVEL while the DISPATCH_LEVEL lock taken at"
)]
fn lowering_below_a_held_lock_is_refused() {
    let p = StdPlatform::new(1);
    let lock = IrqlLock::dispatch(p.clone(), ());
    let old = p.raise_irql(IrqlLevel::DISPATCH);
    let _guard = lock.lock();
    p.lower_irql(old);
}

#[test]
#[should_panic(
    expected = "lock held across preemption on CPU 0: taken at HIGH_LEVEL while held at DISPATCH_LEVEL by"
)]
fn an_interrupt_taking_its_processors_dispatch_lock_is_refused() {
    let p = StdPlatform::new(2);
    let lock = IrqlLock::dispatch(p.clone(), ());
    let _held = lock.lock();
    p.preempt(0, IrqlLevel::HIGH, || drop(lock.lock()));
}

#[test]
#[should_panic(
    expected = "lock held across preemption on CPU 1: taken at DISPATCH_LEVEL while held at PASSIVE_LEVEL by"
)]
fn a_dpc_taking_a_lock_a_passive_thread_holds_on_its_processor_is_refused() {
    let p = StdPlatform::new(2);
    // A lock that does not raise (a plain spin lock): its PASSIVE_LEVEL holder can be preempted.
    let lock = Arc::new(IrqlLock::at(p.clone(), IrqlLevel::PASSIVE, ()));
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (q, theirs) = (p.clone(), Arc::clone(&lock));
    let holder = std::thread::spawn(move || {
        q.as_processor(1, || {
            let _guard = theirs.lock();
            held_tx.send(()).unwrap();
            let _ = release_rx.recv();
        });
    });
    held_rx.recv().unwrap();
    let _release = release_tx;
    p.preempt(1, IrqlLevel::DISPATCH, || drop(lock.lock()));
    drop(holder);
}

#[test]
#[should_panic(
    expected = "lock held across preemption on CPU 0: taken at DISPATCH_LEVEL while held at PASSIVE_LEVEL by"
)]
fn a_real_dpc_preempting_the_holder_fails_the_flush() {
    let p = StdPlatform::new(1);
    let lock = Arc::new(IrqlLock::at(p.clone(), IrqlLevel::PASSIVE, ()));
    let theirs = Arc::clone(&lock);
    let dpc = p.new_dpc(Some(0), Arc::new(move || drop(theirs.lock())));
    let _guard = lock.lock();
    assert!(dpc.insert());
    p.flush_dpcs();
}

// -- Contexts must return as they were entered ----------------------------------------------------

#[test]
#[should_panic(expected = "a DPC routine returned at HIGH_LEVEL (it runs at DISPATCH_LEVEL")]
fn a_dpc_returning_at_a_raised_irql_fails_the_flush() {
    let p = StdPlatform::new(1);
    let q = p.clone();
    let dpc = p.new_dpc(
        None,
        Arc::new(move || {
            let _ = q.raise_irql(IrqlLevel::HIGH);
        }),
    );
    assert!(dpc.insert());
    p.flush_dpcs();
}

#[test]
#[should_panic(expected = "a DPC routine returned holding the DISPATCH_LEVEL lock it took at")]
fn a_dpc_returning_with_a_lock_held_fails_the_flush() {
    let p = StdPlatform::new(1);
    let lock: &'static IrqlLock<StdPlatform, ()> =
        Box::leak(Box::new(IrqlLock::dispatch(p.clone(), ())));
    let dpc = p.new_dpc(None, Arc::new(move || std::mem::forget(lock.lock())));
    assert!(dpc.insert());
    p.flush_dpcs();
}

#[test]
#[should_panic(expected = "a context preempting CPU 0 at DIRQL 8 returned at HIGH_LEVEL")]
fn a_preempting_context_returning_at_a_raised_irql_is_refused() {
    let p = StdPlatform::new(1);
    p.preempt(0, DIRQL, || {
        let _ = p.raise_irql(IrqlLevel::HIGH);
    });
}

#[test]
#[should_panic(expected = "Deferred::flush_dpcs at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL)")]
fn a_rule_broken_in_a_timer_routine_fails_the_cancel() {
    let p = StdPlatform::new(1);
    let ran = Arc::new(AtomicBool::new(false));
    let (q, theirs) = (p.clone(), Arc::clone(&ran));
    let timer = p.new_timer(Arc::new(move || {
        theirs.store(true, Ordering::SeqCst);
        q.flush_dpcs();
    }));
    timer.set(Duration::from_millis(1), None);
    while !ran.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(20));
    let _ = timer.cancel();
}

#[test]
#[should_panic(expected = "Memory::alloc_pages at HIGH_LEVEL (allowed: <= DISPATCH_LEVEL)")]
fn a_rule_broken_in_a_thread_fails_the_join() {
    let p = StdPlatform::new(1);
    let q = p.clone();
    let thread = p
        .spawn(
            "breaks",
            Box::new(move || {
                let _ = q.raise_irql(IrqlLevel::HIGH);
                let _ = q.alloc_pages(1);
            }),
        )
        .unwrap();
    thread.join();
}

#[test]
#[should_panic(
    expected = "StdPlatform misuse: preempt at DISPATCH_LEVEL cannot interrupt CPU 0 running at DISPATCH_LEVEL"
)]
fn preempting_a_processor_at_its_own_level_is_a_misuse() {
    let p = StdPlatform::new(1);
    let _ = p.raise_irql(IrqlLevel::DISPATCH);
    p.preempt(0, IrqlLevel::DISPATCH, || {});
}

// -- The legal uses pass and are counted ----------------------------------------------------------

#[test]
fn every_legal_use_passes_and_is_counted() {
    let p = StdPlatform::new(2);
    let (checked_before, broken_before) = this_thread_counts();

    // Events: wait and set below DISPATCH_LEVEL, poll and set at DISPATCH_LEVEL.
    let event = p.new_event(EventKind::Synchronization);
    event.set();
    assert!(event.wait(None));
    let old = p.raise_irql(IrqlLevel::DISPATCH);
    event.set();
    assert!(event.is_set());
    assert!(event.wait(Some(Duration::ZERO)));
    event.reset();
    // Pages and mappings at DISPATCH_LEVEL.
    let pages = p.alloc_pages(1).unwrap();
    // SAFETY: the frame is the live allocation above.
    let mapped = unsafe { p.map_physical(pages.pfn, 1) }.unwrap();
    // SAFETY: from `map_physical` above, unused afterwards.
    unsafe { p.unmap_physical(mapped, 1) };
    // SAFETY: allocated above, unused afterwards.
    unsafe { p.free_pages(pages) };
    p.lower_irql(old);

    // Locks: a DISPATCH lock from PASSIVE and from DISPATCH, a HIGH lock inside it, released
    // in reverse order; a HIGH lock from an interrupt.
    let dispatch = IrqlLock::dispatch(p.clone(), 1_u32);
    let high = IrqlLock::high(p.clone(), 2_u32);
    {
        let outer = dispatch.lock();
        let inner = high.lock();
        assert_eq!(p.current_irql(), IrqlLevel::HIGH);
        assert_eq!(p.held_locks(0).len(), 2);
        drop(inner);
        drop(outer);
    }
    assert!(p.held_locks(0).is_empty());
    let old = p.raise_irql(IrqlLevel::DISPATCH);
    assert_eq!(*dispatch.lock(), 1);
    p.lower_irql(old);
    p.preempt(0, DIRQL, || assert_eq!(*high.lock(), 2));
    // An interrupt on another processor may spin on a HIGH lock held here.
    let guard = high.lock();
    p.preempt(1, IrqlLevel::HIGH, || assert!(high.try_lock().is_none()));
    drop(guard);

    // A DPC taking a DISPATCH lock, a timer, a worker, the registry at PASSIVE_LEVEL.
    let (q, seen) = (p.clone(), Arc::new(AtomicBool::new(false)));
    let theirs = Arc::clone(&seen);
    let lock = Arc::new(IrqlLock::dispatch(p.clone(), ()));
    let dpc_lock = Arc::clone(&lock);
    let dpc = p.new_dpc(
        Some(1),
        Arc::new(move || {
            drop(dpc_lock.lock());
            theirs.store(q.current_irql() == IrqlLevel::DISPATCH, Ordering::SeqCst);
        }),
    );
    assert!(dpc.insert());
    p.flush_dpcs();
    assert!(seen.load(Ordering::SeqCst));
    let timer = p.new_timer(Arc::new(|| {}));
    timer.set(Duration::from_mins(1), None);
    assert!(timer.cancel());
    let worker = Worker::start(&p, "legal", |ctx| {
        while !ctx.alerted() {
            ctx.wait(None);
        }
    })
    .unwrap();
    worker.wake();
    worker.stop();
    p.write_value(r"SYSTEM\Xen", "x", RegValue::Dword(1))
        .unwrap();
    assert_eq!(p.read_dword(r"SYSTEM\Xen", "x"), Ok(1));

    // A rendezvous from PASSIVE_LEVEL.
    p.rendezvous(&Plan {
        on_other_cpus_at_high: |_| {},
        owner: 0,
    });
    assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);

    let (checked, broken) = this_thread_counts();
    assert_eq!(
        broken, broken_before,
        "a legal use was counted as a violation"
    );
    assert!(
        checked - checked_before >= 40,
        "only {} checks counted",
        checked - checked_before
    );
    assert!(irql_contracts_checked() >= checked - checked_before);
}

#[test]
fn a_violation_is_counted_and_names_the_caller() {
    let p = StdPlatform::new(1);
    let (_, broken_before) = this_thread_counts();
    let global_before = irql_violations();
    let event = p.new_event(EventKind::Notification);
    let old = p.raise_irql(IrqlLevel::DISPATCH);
    let line = line!() + 1;
    let outcome = catch_unwind(AssertUnwindSafe(|| event.wait(None)));
    p.lower_irql(old);
    let payload = outcome.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.starts_with(VIOLATION_PREFIX), "{message}");
    assert!(
        message.contains(&std::format!("called from {}:{line}:", file!())),
        "{message}"
    );
    assert_eq!(this_thread_counts().1, broken_before + 1);
    assert!(irql_violations() > global_before);
}

#[test]
fn a_violation_reached_through_a_lock_names_the_lock_user() {
    let p = StdPlatform::new(1);
    let lock = IrqlLock::dispatch(p.clone(), ());
    let _ = p.raise_irql(IrqlLevel::HIGH);
    let line = line!() + 1;
    let outcome = catch_unwind(AssertUnwindSafe(|| drop(lock.lock())));
    let payload = outcome.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.contains(&std::format!("called from {}:{line}:", file!())),
        "{message}"
    );
}

#[test]
fn preemption_on_another_processor_or_of_a_lower_level_holder_is_legal() {
    let p = StdPlatform::new(2);
    let lock = Arc::new(IrqlLock::dispatch(p.clone(), 0_u32));
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (q, theirs) = (p.clone(), Arc::clone(&lock));
    // A DISPATCH_LEVEL holder on CPU 1 ...
    let holder = std::thread::spawn(move || {
        q.as_processor(1, || {
            let mut guard = theirs.lock();
            *guard += 1;
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
    });
    held_rx.recv().unwrap();
    let held = p.held_locks(1);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].level, IrqlLevel::DISPATCH);
    assert_eq!(held[0].from, IrqlLevel::PASSIVE);
    assert!(p.held_locks(0).is_empty());
    // ... cannot be preempted there by a DPC (same level), so a DPC on CPU 1 just waits; a DPC
    // on CPU 0 spins legally too.
    release_tx.send(()).unwrap();
    p.preempt(0, IrqlLevel::DISPATCH, || assert_eq!(*lock.lock(), 1));
    p.preempt(1, IrqlLevel::DISPATCH, || assert_eq!(*lock.lock(), 1));
    holder.join().unwrap();
}

/// Compiles only when `T` is not `Send` (`static_assertions`' `assert_not_impl_any!` trick:
/// for a `Send` type both impls apply and the item is ambiguous).
trait AmbiguousIfSend<A> {
    fn item() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

/// Compiles only when `T` is not `Sync`.
trait AmbiguousIfSync<A> {
    fn item() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

#[test]
fn guards_are_neither_send_nor_sync() {
    <IrqlGuard<'static, StdPlatform, u32> as AmbiguousIfSend<_>>::item();
    <IrqlGuard<'static, StdPlatform, u32> as AmbiguousIfSync<_>>::item();
}

// -- Report mode ----------------------------------------------------------------------------------

#[test]
#[ignore = "run by `report_mode_counts_and_prints_instead_of_panicking` in a child process"]
fn breaks_two_rules_for_the_report_mode() {
    let p = StdPlatform::new(1);
    let _ = p.raise_irql(IrqlLevel::HIGH);
    let pages = p.alloc_pages(1).unwrap();
    StdEvent::for_tests().set();
    p.lower_irql(IrqlLevel::PASSIVE);
    // SAFETY: allocated above, unused.
    unsafe { p.free_pages(pages) };
    assert_eq!(irql_violations(), 2);
    std::println!("survived both");
}

#[test]
fn report_mode_counts_and_prints_instead_of_panicking() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "std_impl::irql_tests::breaks_two_rules_for_the_report_mode",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(REPORT_ONLY_VARIABLE, "report")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("survived both"), "{stdout}");
    assert!(
        stderr.contains("IRQL rule broken: Memory::alloc_pages at HIGH_LEVEL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("IRQL rule broken: Event::set at HIGH_LEVEL"),
        "{stderr}"
    );
}

// -- Interrupts raised through the platform ----------------------------------------------------

#[test]
fn an_interrupt_raised_at_high_stays_pending_until_the_irql_drops() {
    let p = StdPlatform::new(2);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let old = p.raise_irql(IrqlLevel::HIGH);
    for cpu in [0, 1] {
        let (q, theirs) = (p.clone(), Arc::clone(&seen));
        p.interrupt(cpu, DIRQL, move || {
            theirs
                .lock()
                .unwrap()
                .push((q.current_processor(), q.current_irql()));
        });
    }
    // CPU 1's interrupt is not masked by this thread's IRQL; CPU 0's waits.
    assert_eq!(*seen.lock().unwrap(), [(1, DIRQL)]);
    // Still masked above its level ...
    p.lower_irql(IrqlLevel(DIRQL.0 + 1));
    assert_eq!(seen.lock().unwrap().len(), 1);
    // ... delivered once the IRQL drops below it.
    p.lower_irql(old);
    assert_eq!(*seen.lock().unwrap(), [(1, DIRQL), (0, DIRQL)]);
    assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);
}

#[test]
#[should_panic(
    expected = "lock held across preemption on CPU 0: taken at DIRQL 8 while held at DISPATCH_LEVEL by"
)]
fn an_isr_taking_a_lock_its_processor_holds_is_refused() {
    let p = StdPlatform::new(1);
    let lock = Arc::new(IrqlLock::dispatch(p.clone(), ()));
    let theirs = Arc::clone(&lock);
    let _held = lock.lock();
    p.interrupt(0, DIRQL, move || drop(theirs.lock()));
}

#[test]
#[should_panic(
    expected = "an interrupt service routine on CPU 0 at DIRQL 8 returned at HIGH_LEVEL"
)]
fn an_isr_returning_at_a_raised_irql_is_refused() {
    let p = StdPlatform::new(1);
    let q = p.clone();
    p.interrupt(0, DIRQL, move || {
        let _ = q.raise_irql(IrqlLevel::HIGH);
    });
}

// -- A rule broken on a host thread of the platform stops the machine ---------------------------

#[test]
#[should_panic(
    expected = "Deferred::flush_dpcs at DISPATCH_LEVEL (allowed: PASSIVE_LEVEL) [KeFlushQueuedDpcs], called from"
)]
fn a_waiter_fails_once_a_dpc_broke_a_rule() {
    let p = StdPlatform::new(1);
    let q = p.clone();
    // The DPC would set the event; it breaks a rule first, so the wait would never end.
    let event = Arc::new(p.new_event(EventKind::Notification));
    let theirs = Arc::clone(&event);
    let dpc = p.new_dpc(
        None,
        Arc::new(move || {
            q.flush_dpcs();
            theirs.set();
        }),
    );
    assert!(dpc.insert());
    let _ = event.wait(None);
}

#[test]
fn the_stopped_machine_names_where_the_rule_was_broken() {
    let p = StdPlatform::new(1);
    let q = p.clone();
    let thread = p
        .spawn(
            "breaker",
            Box::new(move || {
                let _ = q.raise_irql(IrqlLevel::DISPATCH);
                q.flush_dpcs();
            }),
        )
        .unwrap();
    let joined = catch_unwind(AssertUnwindSafe(|| thread.join()));
    assert!(joined.is_err());
    let outcome = catch_unwind(AssertUnwindSafe(|| p.stall(1)));
    let payload = outcome.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.starts_with(VIOLATION_PREFIX), "{message}");
    assert!(
        message.ends_with(
            "[in a system thread on thread 'breaker': the simulated machine stopped there, as a \
             bug check stops Windows]"
        ),
        "{message}"
    );
}
