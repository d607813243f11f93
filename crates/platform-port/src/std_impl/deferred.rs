// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DPCs on one executor thread; timers on their own threads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::{enter, leave, locked};
use crate::traits::{Dpc, IrqlLevel, Routine, Timer};

#[derive(Default)]
struct Queue {
    items: VecDeque<Arc<DpcInner>>,
    running: bool,
    started: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
}

/// Runs DPCs one at a time, in insertion order.
#[derive(Default)]
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
        let saved = enter(IrqlLevel::DISPATCH, Some(cpu));
        (dpc.routine)();
        leave(saved);
        locked(&shared.queue).running = false;
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
        *locked(&self.inner.queued_on) = super::CPU.with(std::cell::Cell::get);
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
}

struct TimerShared {
    state: Mutex<TimerState>,
    changed: Condvar,
    routine: Routine,
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
    pub(super) fn new(routine: Routine) -> Self {
        Self {
            shared: Arc::new(TimerShared {
                state: Mutex::new(TimerState::default()),
                changed: Condvar::new(),
                routine,
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
                let saved = enter(IrqlLevel::DISPATCH, Some(0));
                (shared.routine)();
                leave(saved);
                state = locked(&shared.state);
            }
        }
    }
}

impl Timer for StdTimer {
    fn set(&self, due: Duration, period: Option<Duration>) {
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

    fn cancel(&self) -> bool {
        let armed = locked(&self.shared.state).deadline.take().is_some();
        self.shared.changed.notify_all();
        armed
    }
}

impl Drop for StdTimer {
    fn drop(&mut self) {
        locked(&self.shared.state).dropped = true;
        self.shared.changed.notify_all();
    }
}
