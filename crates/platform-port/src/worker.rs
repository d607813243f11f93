// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A system thread with a wake event and an alert flag (upstream's `XENBUS_THREAD`).
//!
//! The body loops: wait on [`WorkerContext::wait`], return when [`WorkerContext::alerted`].
//! [`Worker::stop`] sets the alert, wakes the thread and joins it.
//!
//! IRQL: starting and stopping (or dropping) a worker happen at `PASSIVE_LEVEL` (thread
//! creation) and `<= APC_LEVEL` (the join); waking is `<= DISPATCH_LEVEL` (`KeSetEvent`). The
//! body runs at `PASSIVE_LEVEL` and must return at it.

use alloc::boxed::Box;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use crate::traits::{Event, EventKind, Events, PortError, Thread, Threads};

/// What the thread body sees.
pub struct WorkerContext<E> {
    event: E,
    alerted: AtomicBool,
}

impl<E: Event> WorkerContext<E> {
    /// Waits for a wake (or `timeout`); returns whether it was woken. The wake is consumed
    /// (`KeWaitForSingleObject`). IRQL: `<= APC_LEVEL`; `<= DISPATCH_LEVEL` with a zero
    /// timeout.
    #[track_caller]
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        self.event.wait(timeout)
    }

    /// Whether the owner asked the thread to finish. IRQL: any level.
    pub fn alerted(&self) -> bool {
        self.alerted.load(Ordering::Acquire)
    }
}

/// Wakes a worker thread; see [`Worker::waker`].
pub struct Waker<E>(Arc<WorkerContext<E>>);

impl<E: Event> Waker<E> {
    /// Wakes the thread (`KeSetEvent`). IRQL: `<= DISPATCH_LEVEL`.
    #[track_caller]
    pub fn wake(&self) {
        self.0.event.set();
    }
}

impl<E> Clone for Waker<E> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// The owner's handle.
pub struct Worker<P: Threads + Events> {
    context: Arc<WorkerContext<P::Event>>,
    thread: Option<P::Thread>,
}

impl<P: Threads + Events> Worker<P> {
    /// Starts `body` on a new thread (`KeInitializeEvent` and `PsCreateSystemThread`).
    /// IRQL: `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// [`PortError::Insufficient`] when the thread cannot be created.
    #[track_caller]
    pub fn start(
        platform: &P,
        name: &'static str,
        body: impl FnOnce(&WorkerContext<P::Event>) + Send + 'static,
    ) -> Result<Self, PortError>
    where
        P::Event: 'static,
    {
        let context = Arc::new(WorkerContext {
            event: platform.new_event(EventKind::Synchronization),
            alerted: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&context);
        let thread = platform.spawn(name, Box::new(move || body(&theirs)))?;
        Ok(Self {
            context,
            thread: Some(thread),
        })
    }

    /// Wakes the thread (`KeSetEvent`). IRQL: `<= DISPATCH_LEVEL`.
    #[track_caller]
    pub fn wake(&self) {
        self.context.event.set();
    }

    /// A handle that only wakes the thread, for whoever signals it (a watch, a callback):
    /// it may be shared between threads, which the owner's handle may not.
    #[must_use]
    pub fn waker(&self) -> Waker<P::Event> {
        Waker(Arc::clone(&self.context))
    }

    /// Alerts and wakes the thread, then waits for it to finish (`KeSetEvent`, then
    /// `KeWaitForSingleObject` on the thread). IRQL: `<= APC_LEVEL`. Dropping the worker does
    /// the same.
    #[track_caller]
    pub fn stop(mut self) {
        self.finish();
    }

    #[track_caller]
    fn finish(&mut self) {
        self.context.alerted.store(true, Ordering::Release);
        self.context.event.set();
        if let Some(thread) = self.thread.take() {
            thread.join();
        }
    }
}

impl<P: Threads + Events> Drop for Worker<P> {
    fn drop(&mut self) {
        self.finish();
    }
}
