// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Capturing every processor (upstream's `sync.c`, used by SUSPEND).
//!
//! A Xen suspend must happen with the whole guest quiescent: the caller (the *owner*) raises to
//! `DISPATCH_LEVEL`, a targeted DPC captures every other processor, then all of them raise to
//! `HIGH_LEVEL` with interrupts disabled. The owner issues the hypercall; the phases of a
//! [`RendezvousPlan`] then run on every processor in upstream's order:
//!
//! 1. [`RendezvousPlan::owner_high`] on the owner alone, everyone at `HIGH_LEVEL`; it says
//!    whether the remaining phases run (upstream: only when the suspend completed).
//! 2. [`RendezvousPlan::each_high`] on the owner first, then on every other processor in
//!    parallel, still at `HIGH_LEVEL` with interrupts disabled.
//! 3. Interrupts are enabled again and everyone drops to `DISPATCH_LEVEL`, still captured.
//! 4. [`RendezvousPlan::each_dispatch`] on the owner first, then on every other processor.
//! 5. The other processors are released and the owner's IRQL restored.
//!
//! The Windows implementation is `SyncCapture`/`SyncDisableInterrupts`/`SyncRunEarly`/
//! `SyncEnableInterrupts`/`SyncRunLate`/`SyncRelease` (KDPCs per processor, `cli`/`sti`, the
//! back-off-and-retry when not every processor reached `HIGH_LEVEL`). The std implementation
//! (feature `std`) runs one scoped thread per other processor, each with that processor's
//! identity and emulated IRQL, and uses barriers for the check-ins. Each of those helpers is
//! the capturing DPC: it captures its processor only once no thread there runs at or above
//! `DISPATCH_LEVEL` (a spin lock holder delays the capture until it releases the lock, and is
//! preempted right there), then runs as a context on that processor preempting the threads
//! below `DISPATCH_LEVEL` on it, which stay frozen until it releases the processor (see
//! `std_impl`'s `capture` module, `StdPlatform::capture_point` and
//! `StdPlatform::capture_info`).

/// The work done while every processor is captured.
///
/// The phases are callbacks run at raised IRQL: at `HIGH_LEVEL` nothing may wait, allocate
/// or free pages, map or unmap memory, set an event or a timer, or take a `DISPATCH_LEVEL`
/// lock; at `DISPATCH_LEVEL` nothing may wait (except with a zero timeout) or touch the
/// registry. Each phase must return at the IRQL it was called at, holding no lock it took.
pub trait RendezvousPlan: Sync {
    /// Runs on the owner at `HIGH_LEVEL` with every processor captured and interrupts
    /// disabled. Returns whether [`RendezvousPlan::each_high`] and
    /// [`RendezvousPlan::each_dispatch`] run.
    fn owner_high(&self) -> bool;
    /// Runs on every processor `cpu` at `HIGH_LEVEL` (the owner first, then the others in
    /// parallel).
    fn each_high(&self, cpu: u32);
    /// Runs on every processor `cpu` at `DISPATCH_LEVEL` once interrupts are enabled again (the
    /// owner first, then the others), before anyone is released.
    fn each_dispatch(&self, cpu: u32);
}

/// Captures every processor and runs a [`RendezvousPlan`].
pub trait Rendezvous {
    /// Runs `plan` as the module documentation describes. Only one rendezvous runs at a time
    /// (a second caller waits for the first to finish).
    ///
    /// IRQL: `<= DISPATCH_LEVEL` (upstream's `SyncCapture` raises to `DISPATCH_LEVEL` with
    /// `KeRaiseIrql` and queues a DPC per processor).
    fn rendezvous(&self, plan: &dyn RendezvousPlan);
}

#[cfg(feature = "std")]
mod std_rendezvous {
    use core::panic::Location;
    use std::any::Any;
    use std::boxed::Box;
    use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Barrier, Mutex};

    use super::{Rendezvous, RendezvousPlan};
    use crate::std_impl::{ContextScope, StdPlatform, locked, require_at_most};
    use crate::traits::{Irql, IrqlLevel, Processors};

    /// One rendezvous at a time across every std platform (upstream's single sync owner).
    static OWNER: Mutex<()> = Mutex::new(());

    /// The first panic of any participant. A participant that panics keeps checking in at the
    /// barriers (the others would wait for ever otherwise); the panic is re-raised on the owner
    /// once everyone is released.
    #[derive(Default)]
    struct Failure(Mutex<Option<Box<dyn Any + Send + 'static>>>);

    impl Failure {
        /// Runs `step`, keeping its panic; `fallback` stands in for its result then.
        fn guard<R>(&self, fallback: R, step: impl FnOnce() -> R) -> R {
            match catch_unwind(AssertUnwindSafe(step)) {
                Ok(value) => value,
                Err(payload) => {
                    locked(&self.0).get_or_insert(payload);
                    fallback
                }
            }
        }
    }

    impl Rendezvous for StdPlatform {
        #[track_caller]
        fn rendezvous(&self, plan: &dyn RendezvousPlan) {
            require_at_most(
                "Rendezvous::rendezvous",
                "SyncCapture: KeRaiseIrql(DISPATCH_LEVEL) and a DPC per processor",
                IrqlLevel::DISPATCH,
                Location::caller(),
            );
            let _owner = locked(&OWNER);
            let old = self.raise_irql(IrqlLevel::DISPATCH);
            let owner = self.current_processor();
            let count = self.processor_count();
            let participants = usize::try_from(count).unwrap_or(1);
            // Check-ins: captured at DISPATCH, all at HIGH, owner's verdict, early done,
            // back at DISPATCH, late done.
            let captured = Barrier::new(participants);
            let at_high = Barrier::new(participants);
            let verdict = Barrier::new(participants);
            let owner_early_done = Barrier::new(participants);
            let early_done = Barrier::new(participants);
            let owner_late_done = Barrier::new(participants);
            let late_done = Barrier::new(participants);
            let proceed = AtomicBool::new(false);
            let failure = Failure::default();
            std::thread::scope(|scope| {
                for cpu in (0..count).filter(|&cpu| cpu != owner) {
                    let (captured, at_high, verdict) = (&captured, &at_high, &verdict);
                    let (owner_early_done, early_done) = (&owner_early_done, &early_done);
                    let (owner_late_done, late_done) = (&owner_late_done, &late_done);
                    let (proceed, failure) = (&proceed, &failure);
                    scope.spawn(move || {
                        // The capturing DPC: it runs once `cpu` is below DISPATCH_LEVEL, as a
                        // new context on `cpu` at DISPATCH_LEVEL preempting what runs there;
                        // the threads it preempted stay frozen until `hold` is dropped.
                        let hold = failure.guard(None, || Some(self.captures().capture(cpu)));
                        let context = ContextScope::enter(IrqlLevel::DISPATCH, Some(cpu));
                        captured.wait();
                        let high = self.raise_irql(IrqlLevel::HIGH);
                        at_high.wait();
                        verdict.wait();
                        let run = proceed.load(Ordering::Acquire);
                        owner_early_done.wait();
                        if run {
                            failure.guard((), || plan.each_high(cpu));
                        }
                        early_done.wait();
                        failure.guard((), || self.lower_irql(high));
                        owner_late_done.wait();
                        if run {
                            failure.guard((), || plan.each_dispatch(cpu));
                        }
                        late_done.wait();
                        drop(context);
                        drop(hold);
                    });
                }
                captured.wait();
                // A processor that could not be captured fails the rendezvous: no suspend.
                let everyone = locked(&failure.0).is_none();
                let high = self.raise_irql(IrqlLevel::HIGH);
                at_high.wait();
                let run = everyone && failure.guard(false, || plan.owner_high());
                proceed.store(run, Ordering::Release);
                verdict.wait();
                if run {
                    failure.guard((), || plan.each_high(owner));
                }
                owner_early_done.wait();
                early_done.wait();
                failure.guard((), || self.lower_irql(high));
                if run {
                    failure.guard((), || plan.each_dispatch(owner));
                }
                owner_late_done.wait();
                late_done.wait();
            });
            let failed = failure
                .0
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(payload) = failed {
                // The owner's IRQL as the failed phase left it is meaningless; restore it.
                crate::std_impl::force_irql(old);
                resume_unwind(payload);
            }
            self.lower_irql(old);
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use std::sync::Mutex;
    use std::vec::Vec;

    use super::{Rendezvous, RendezvousPlan};
    use crate::std_impl::StdPlatform;
    use crate::traits::{Irql, IrqlLevel, Processors};

    struct Recorder {
        platform: StdPlatform,
        run: bool,
        seen: Mutex<Vec<(&'static str, u32, IrqlLevel)>>,
    }

    impl RendezvousPlan for Recorder {
        fn owner_high(&self) -> bool {
            let p = &self.platform;
            self.seen
                .lock()
                .unwrap()
                .push(("owner", p.current_processor(), p.current_irql()));
            self.run
        }
        fn each_high(&self, cpu: u32) {
            let p = &self.platform;
            assert_eq!(p.current_processor(), cpu);
            self.seen
                .lock()
                .unwrap()
                .push(("high", cpu, p.current_irql()));
        }
        fn each_dispatch(&self, cpu: u32) {
            let p = &self.platform;
            assert_eq!(p.current_processor(), cpu);
            self.seen
                .lock()
                .unwrap()
                .push(("dispatch", cpu, p.current_irql()));
        }
    }

    #[test]
    fn every_processor_runs_each_phase_owner_first_at_the_right_irql() {
        let p = StdPlatform::new(4);
        let plan = Recorder {
            platform: p.clone(),
            run: true,
            seen: Mutex::new(Vec::new()),
        };
        p.as_processor(2, || p.rendezvous(&plan));
        assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);
        let seen = plan.seen.into_inner().unwrap();
        assert_eq!(seen.len(), 9);
        assert_eq!(seen[0], ("owner", 2, IrqlLevel::HIGH));
        assert_eq!(seen[1], ("high", 2, IrqlLevel::HIGH));
        let mut high: Vec<u32> = seen[2..5].iter().map(|s| s.1).collect();
        high.sort_unstable();
        assert_eq!(high, [0, 1, 3]);
        assert!(
            seen[1..5]
                .iter()
                .all(|s| s.0 == "high" && s.2 == IrqlLevel::HIGH)
        );
        assert_eq!(seen[5], ("dispatch", 2, IrqlLevel::DISPATCH));
        assert!(
            seen[6..]
                .iter()
                .all(|s| s.0 == "dispatch" && s.2 == IrqlLevel::DISPATCH)
        );
    }

    #[test]
    fn a_refused_verdict_runs_no_other_phase() {
        let p = StdPlatform::new(3);
        let plan = Recorder {
            platform: p.clone(),
            run: false,
            seen: Mutex::new(Vec::new()),
        };
        p.rendezvous(&plan);
        let seen = plan.seen.into_inner().unwrap();
        assert_eq!(seen, [("owner", 0, IrqlLevel::HIGH)]);
        assert_eq!(p.current_irql(), IrqlLevel::PASSIVE);
    }

    #[test]
    fn a_single_processor_rendezvous_needs_no_helpers() {
        let p = StdPlatform::new(1);
        let plan = Recorder {
            platform: p.clone(),
            run: true,
            seen: Mutex::new(Vec::new()),
        };
        p.rendezvous(&plan);
        assert_eq!(plan.seen.into_inner().unwrap().len(), 3);
    }

    #[test]
    fn concurrent_rendezvous_run_one_after_the_other() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};

        struct Exclusive {
            inside: AtomicU32,
            overlaps: AtomicU32,
            runs: AtomicU32,
        }
        impl RendezvousPlan for Exclusive {
            fn owner_high(&self) -> bool {
                if self.inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    self.overlaps.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::yield_now();
                true
            }
            fn each_high(&self, _cpu: u32) {}
            fn each_dispatch(&self, cpu: u32) {
                if cpu == 0 {
                    self.runs.fetch_add(1, Ordering::SeqCst);
                    self.inside.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        let p = StdPlatform::new(3);
        let plan = Arc::new(Exclusive {
            inside: AtomicU32::new(0),
            overlaps: AtomicU32::new(0),
            runs: AtomicU32::new(0),
        });
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (p, plan) = (p.clone(), Arc::clone(&plan));
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        p.as_processor(0, || p.rendezvous(&*plan));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(plan.runs.load(Ordering::SeqCst), 100);
        assert_eq!(plan.overlaps.load(Ordering::SeqCst), 0);
    }

    // -- Capture: who the capturing DPC waits for, and whom it preempts ----------------------

    use std::boxed::Box;
    use std::string::String;
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    use crate::IrqlLock;
    use crate::std_impl::{CapturePhase, VIOLATION_PREFIX};

    const WAIT: Duration = Duration::from_secs(5);

    /// A plan that logs its phases and runs `owner` in the owner's phase.
    struct Logged<'a> {
        log: &'a Mutex<Vec<String>>,
        owner: Box<dyn Fn() + Sync + 'a>,
        dispatch: Box<dyn Fn(u32) + Sync + 'a>,
    }

    impl RendezvousPlan for Logged<'_> {
        fn owner_high(&self) -> bool {
            self.log.lock().unwrap().push("owner_high".into());
            (self.owner)();
            true
        }
        fn each_high(&self, cpu: u32) {
            self.log.lock().unwrap().push(std::format!("high {cpu}"));
        }
        fn each_dispatch(&self, cpu: u32) {
            (self.dispatch)(cpu);
            self.log
                .lock()
                .unwrap()
                .push(std::format!("dispatch {cpu}"));
        }
    }

    fn position(log: &[String], entry: &str) -> usize {
        log.iter()
            .position(|e| e == entry)
            .unwrap_or_else(|| panic!("no {entry:?} in {log:?}"))
    }

    #[test]
    fn a_spin_lock_holder_delays_the_capture_and_is_preempted_where_it_releases_the_lock() {
        let p = StdPlatform::new(2);
        let lock = Arc::new(IrqlLock::dispatch(p.clone(), ()));
        let log = Mutex::new(Vec::new());
        let (held_tx, held_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let (q, theirs, log) = (p.clone(), Arc::clone(&lock), &log);
            let holder = s.spawn(move || {
                q.as_processor(1, || {
                    let guard = theirs.lock();
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    log.lock().unwrap().push("releasing".into());
                    drop(guard);
                    // Runs only once the rendezvous released CPU 1.
                    assert_eq!(q.current_irql(), IrqlLevel::PASSIVE);
                    log.lock().unwrap().push("holder runs on".into());
                });
            });
            held_rx.recv().unwrap();
            let (q, o) = (p.clone(), p.clone());
            let owner = s.spawn(move || {
                let plan = Logged {
                    log,
                    owner: Box::new(|| {
                        // The holder was preempted where it released the lock: frozen there,
                        // holding nothing.
                        let info = q.capture_info(1);
                        assert_eq!(info.phase, CapturePhase::Captured);
                        assert_eq!(info.frozen, 1);
                        assert!(q.held_locks(1).is_empty());
                    }),
                    dispatch: Box::new(|_| {}),
                };
                o.as_processor(0, || o.rendezvous(&plan));
            });
            // The capturing DPC is queued for CPU 1 but cannot run: nothing else happens.
            let capturing = p.await_capture(1, WAIT, |i| i.phase == CapturePhase::Capturing);
            let quiet = log.lock().unwrap().is_empty();
            release_tx.send(()).unwrap();
            let (owner, holder) = (owner.join(), holder.join());
            assert!(
                capturing && quiet,
                "the capture did not wait for the holder"
            );
            owner.unwrap();
            holder.unwrap();
        });
        let log = log.into_inner().unwrap();
        assert_eq!(position(&log, "releasing"), 0, "{log:?}");
        assert!(position(&log, "dispatch 1") < position(&log, "holder runs on"));
        assert_eq!(p.capture_info(1).releases, 1);
        assert_eq!(p.capture_info(1).frozen, 0);
    }

    #[test]
    fn a_raise_without_a_lock_delays_the_capture_too() {
        let p = StdPlatform::new(2);
        let log = Mutex::new(Vec::new());
        let log = &log;
        let (raised_tx, raised_rx) = mpsc::channel();
        let (lower_tx, lower_rx) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let q = p.clone();
            s.spawn(move || {
                q.as_processor(1, || {
                    let old = q.raise_irql(IrqlLevel::DISPATCH);
                    raised_tx.send(()).unwrap();
                    lower_rx.recv().unwrap();
                    log.lock().unwrap().push("lowering".into());
                    q.lower_irql(old);
                    log.lock().unwrap().push("runs on".into());
                });
            });
            raised_rx.recv().unwrap();
            let o = p.clone();
            let owner = s.spawn(move || {
                let plan = Logged {
                    log,
                    owner: Box::new(|| {}),
                    dispatch: Box::new(|_| {}),
                };
                o.rendezvous(&plan);
            });
            let capturing = p.await_capture(1, WAIT, |i| i.phase == CapturePhase::Capturing);
            let quiet = log.lock().unwrap().is_empty();
            lower_tx.send(()).unwrap();
            let owner = owner.join();
            assert!(
                capturing && quiet,
                "the capture did not wait for the raised thread"
            );
            owner.unwrap();
        });
        let log = log.lock().unwrap().clone();
        assert_eq!(position(&log, "lowering"), 0, "{log:?}");
        assert!(position(&log, "dispatch 1") < position(&log, "runs on"));
    }

    #[test]
    fn a_thread_below_dispatch_is_frozen_at_its_next_raise_while_its_processor_is_captured() {
        let p = StdPlatform::new(2);
        let lock = Arc::new(IrqlLock::dispatch(p.clone(), ()));
        let log = Mutex::new(Vec::new());
        let (go_tx, go_rx) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let (q, theirs, log) = (p.clone(), Arc::clone(&lock), &log);
            let thread = s.spawn(move || {
                q.as_processor(1, || {
                    go_rx.recv().unwrap();
                    let guard = theirs.lock();
                    log.lock().unwrap().push("locked".into());
                    drop(guard);
                });
            });
            let q = p.clone();
            let plan = Logged {
                log,
                owner: Box::new(move || {
                    // CPU 1 is captured: its thread tries to take the lock and is preempted
                    // before it raises.
                    go_tx.send(()).unwrap();
                    assert!(q.await_capture(1, WAIT, |i| i.frozen == 1));
                }),
                dispatch: Box::new(|_| {}),
            };
            p.rendezvous(&plan);
            thread.join().unwrap();
        });
        let log = log.into_inner().unwrap();
        assert!(
            position(&log, "dispatch 1") < position(&log, "locked"),
            "{log:?}"
        );
    }

    #[test]
    fn a_capture_point_stays_frozen_until_the_rendezvous_released_its_processor() {
        let p = StdPlatform::new(3);
        let log = Mutex::new(Vec::new());
        let (armed_tx, armed_rx) = mpsc::channel();
        std::thread::scope(|s| {
            let (q, log) = (p.clone(), &log);
            let thread = s.spawn(move || {
                q.as_processor(2, || {
                    q.capture_point(|| armed_tx.send(()).unwrap());
                    log.lock().unwrap().push("runs on".into());
                });
            });
            armed_rx.recv().unwrap();
            assert_eq!(p.capture_info(2).frozen, 1);
            let plan = Logged {
                log,
                owner: Box::new(|| {}),
                dispatch: Box::new(|_| {}),
            };
            p.rendezvous(&plan);
            thread.join().unwrap();
        });
        let log = log.into_inner().unwrap();
        assert!(
            position(&log, "dispatch 2") < position(&log, "runs on"),
            "{log:?}"
        );
        assert_eq!(p.capture_info(2).releases, 1);
    }

    #[test]
    fn the_capturing_helper_preempts_the_threads_of_its_processor() {
        // A thread on CPU 1 captured while holding an APC_LEVEL lock: the helper running on
        // CPU 1 would spin for ever on it (the holder cannot run until the helper returns).
        let p = StdPlatform::new(2);
        let lock = Arc::new(IrqlLock::at(p.clone(), IrqlLevel::APC, ()));
        let (armed_tx, armed_rx) = mpsc::channel();
        let outcome = std::thread::scope(|s| {
            let (q, theirs) = (p.clone(), Arc::clone(&lock));
            let thread = s.spawn(move || {
                q.as_processor(1, || {
                    let guard = theirs.lock();
                    q.capture_point(|| armed_tx.send(()).unwrap());
                    drop(guard);
                });
            });
            armed_rx.recv().unwrap();
            let log = Mutex::new(Vec::new());
            let plan = Logged {
                log: &log,
                owner: Box::new(|| {}),
                dispatch: Box::new(|cpu| {
                    if cpu == 1 {
                        drop(lock.lock());
                    }
                }),
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                p.rendezvous(&plan);
            }));
            thread.join().unwrap();
            outcome
        });
        let payload = outcome.unwrap_err();
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(message.starts_with(VIOLATION_PREFIX), "{message}");
        assert!(
            message.contains("lock held across preemption on CPU 1"),
            "{message}"
        );
    }

    #[test]
    #[should_panic(expected = "capture point at DISPATCH_LEVEL on CPU 0")]
    fn a_capture_point_at_dispatch_is_a_misuse() {
        let p = StdPlatform::new(2);
        let _ = p.raise_irql(IrqlLevel::DISPATCH);
        p.capture_point(|| {});
    }
}
