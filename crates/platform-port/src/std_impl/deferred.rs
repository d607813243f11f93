// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DPCs on one executor thread; timers on their own threads.
//!
//! Each DPC or timer routine runs as a new context on its processor at `DISPATCH_LEVEL` and
//! must return there holding no lock. A routine that panics (a broken IRQL rule, a failed
//! assertion) does not take the executor down: the panic is kept and re-raised by the next
//! `flush_dpcs` (timers: the next `cancel`), and the machine stops ([`Machine`]): every later
//! blocking service of the platform panics with it.

use core::panic::Location;
use std::any::Any;
use std::boxed::Box;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::{ContextScope, Machine, check_context_exit, current_cpu, locked, require_at_most};
use crate::traits::{Dpc, IrqlLevel, Routine, Timer};

/// A panic a routine raised on a host thread, kept for the next caller that can report it.
type Payload = Box<dyn Any + Send + 'static>;

/// Runs `routine` as a new context on `cpu` at `DISPATCH_LEVEL`, checking it returns there
/// holding nothing; returns its panic, if any.
fn run_routine(what: &str, cpu: u32, routine: &Routine) -> Option<Payload> {
    let scope = ContextScope::enter(IrqlLevel::DISPATCH, Some(cpu));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        routine();
        check_context_exit(what, IrqlLevel::DISPATCH, None);
    }));
    drop(scope);
    outcome.err()
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Arc<DpcInner>>,
    running: bool,
    started: bool,
    /// The first panic of a DPC routine since the last flush.
    failed: Option<Payload>,
}

struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
    machine: Arc<Machine>,
}

/// Runs DPCs one at a time, in insertion order.
pub struct Executor {
    shared: Arc<Shared>,
}

struct DpcInner {
    routine: Routine,
    target: Option<u32>,
    queued: AtomicBool,
    queued_on: Mutex<u32>,
    shared: Weak<Shared>,
}

/// A std DPC.
pub struct StdDpc {
    inner: Arc<DpcInner>,
}

impl core::fmt::Debug for StdDpc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdDpc")
            .field("target", &self.inner.target)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor whose panicking DPC routines stop `machine`.
    pub(super) fn new(machine: Arc<Machine>) -> Self {
        Self {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                changed: Condvar::new(),
                machine,
            }),
        }
    }

    pub(super) fn new_dpc(&self, target: Option<u32>, routine: Routine) -> StdDpc {
        StdDpc {
            inner: Arc::new(DpcInner {
                routine,
                target,
                queued: AtomicBool::new(false),
                queued_on: Mutex::new(0),
                shared: Arc::downgrade(&self.shared),
            }),
        }
    }

    pub(super) fn flush(&self) {
        let mut queue = locked(&self.shared.queue);
        while !queue.items.is_empty() || queue.running {
            queue = self
                .shared
                .changed
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let failed = queue.failed.take();
        drop(queue);
        if let Some(payload) = failed
            && !std::thread::panicking()
        {
            resume_unwind(payload);
        }
    }
}

fn run(shared: &Weak<Shared>) {
    loop {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let next = {
            let mut queue = locked(&shared.queue);
            if let Some(item) = queue.items.pop_front() {
                queue.running = true;
                Some(item)
            } else {
                let _ = shared
                    .changed
                    .wait_timeout(queue, Duration::from_millis(50))
                    .unwrap_or_else(PoisonError::into_inner);
                None
            }
        };
        let Some(dpc) = next else { continue };
        dpc.queued.store(false, Ordering::Release);
        let cpu = dpc.target.unwrap_or_else(|| *locked(&dpc.queued_on));
        let failed = run_routine("a DPC routine", cpu, &dpc.routine);
        if let Some(payload) = &failed {
            shared.machine.crash("a DPC routine", &**payload);
        }
        let mut queue = locked(&shared.queue);
        queue.running = false;
        if queue.failed.is_none() {
            queue.failed = failed;
        }
        drop(queue);
        shared.changed.notify_all();
    }
}

impl Dpc for StdDpc {
    fn insert(&self) -> bool {
        let Some(shared) = self.inner.shared.upgrade() else {
            return false;
        };
        if self.inner.queued.swap(true, Ordering::AcqRel) {
            return false;
        }
        *locked(&self.inner.queued_on) = current_cpu();
        let mut queue = locked(&shared.queue);
        queue.items.push_back(Arc::clone(&self.inner));
        if !queue.started {
            queue.started = true;
            let weak = Arc::downgrade(&shared);
            // If no thread can be made the DPC stays queued; flush would then hang, so run
            // it inline instead (still at DISPATCH on the target processor).
            if std::thread::Builder::new()
                .name("dpc".into())
                .spawn(move || run(&weak))
                .is_err()
            {
                queue.started = false;
            }
        }
        drop(queue);
        shared.changed.notify_all();
        true
    }

    fn remove(&self) -> bool {
        let Some(shared) = self.inner.shared.upgrade() else {
            return false;
        };
        let mut queue = locked(&shared.queue);
        let before = queue.items.len();
        queue.items.retain(|d| !Arc::ptr_eq(d, &self.inner));
        let removed = queue.items.len() != before;
        if removed {
            self.inner.queued.store(false, Ordering::Release);
        }
        drop(queue);
        shared.changed.notify_all();
        removed
    }
}

#[derive(Default)]
struct TimerState {
    deadline: Option<Instant>,
    period: Option<Duration>,
    dropped: bool,
    /// The first panic of the routine, for the next `cancel`.
    failed: Option<Payload>,
}

struct TimerShared {
    state: Mutex<TimerState>,
    changed: Condvar,
    routine: Routine,
    machine: Arc<Machine>,
}

/// A std timer (one thread each, started on the first `set`).
pub struct StdTimer {
    shared: Arc<TimerShared>,
    started: AtomicBool,
}

impl core::fmt::Debug for StdTimer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdTimer").finish_non_exhaustive()
    }
}

impl StdTimer {
    pub(super) fn new(routine: Routine, machine: Arc<Machine>) -> Self {
        Self {
            shared: Arc::new(TimerShared {
                state: Mutex::new(TimerState::default()),
                changed: Condvar::new(),
                routine,
                machine,
            }),
            started: AtomicBool::new(false),
        }
    }
}

fn tick(shared: &TimerShared) {
    let mut state = locked(&shared.state);
    loop {
        if state.dropped {
            return;
        }
        match state.deadline {
            None => {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            Some(deadline) => {
                let now = Instant::now();
                if now < deadline {
                    state = shared
                        .changed
                        .wait_timeout(state, deadline.duration_since(now))
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    continue;
                }
                state.deadline = state.period.and_then(|p| now.checked_add(p));
                drop(state);
                let failed = run_routine("a timer routine", 0, &shared.routine);
                if let Some(payload) = &failed {
                    shared.machine.crash("a timer routine", &**payload);
                }
                state = locked(&shared.state);
                if failed.is_some() {
                    // A broken routine stops firing (its panic waits for `cancel`).
                    state.deadline = None;
                    if state.failed.is_none() {
                        state.failed = failed;
                    }
                }
            }
        }
    }
}

impl Timer for StdTimer {
    #[track_caller]
    fn set(&self, due: Duration, period: Option<Duration>) {
        require_at_most(
            "Timer::set",
            "KeSetTimerEx",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        {
            let mut state = locked(&self.shared.state);
            state.deadline = Instant::now().checked_add(due);
            state.period = period;
        }
        if !self.started.swap(true, Ordering::AcqRel) {
            let shared = Arc::clone(&self.shared);
            if std::thread::Builder::new()
                .name("timer".into())
                .spawn(move || tick(&shared))
                .is_err()
            {
                self.started.store(false, Ordering::Release);
            }
        }
        self.shared.changed.notify_all();
    }

    #[track_caller]
    fn cancel(&self) -> bool {
        require_at_most(
            "Timer::cancel",
            "KeCancelTimer",
            IrqlLevel::DISPATCH,
            Location::caller(),
        );
        let (armed, failed) = {
            let mut state = locked(&self.shared.state);
            (state.deadline.take().is_some(), state.failed.take())
        };
        self.shared.changed.notify_all();
        if let Some(payload) = failed
            && !std::thread::panicking()
        {
            resume_unwind(payload);
        }
        armed
    }
}

impl Drop for StdTimer {
    fn drop(&mut self) {
        locked(&self.shared.state).dropped = true;
        self.shared.changed.notify_all();
    }
}
