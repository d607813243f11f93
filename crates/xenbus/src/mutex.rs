// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Upstream's `MUTEX` (`mutex.h`): a non-recursive lock built on a synchronization event.
//!
//! For `PASSIVE_LEVEL` code that may wait (UNPLUG's request lock) and for the balloon/suspend
//! mutex the FDO's balloon and suspend threads both only *try* to take. A guard is never built
//! unless the lock was taken (dropping one frees the lock).

use alloc::sync::Arc;

use platform_port::{Event, EventKind, Events};

/// The lock. The event is signalled while the lock is free.
pub struct EventMutex<E: Event> {
    free: E,
}

impl<E: Event> EventMutex<E> {
    /// A free mutex.
    pub fn new<P: Events<Event = E>>(platform: &P) -> Self {
        let free = platform.new_event(EventKind::Synchronization);
        free.set();
        Self { free }
    }

    /// Waits for the lock (below `DISPATCH_LEVEL`).
    pub fn lock(&self) -> EventMutexGuard<'_, E> {
        while !self.free.wait(None) {}
        EventMutexGuard { mutex: self }
    }

    /// Takes the lock only if it is free now.
    pub fn try_lock(&self) -> Option<EventMutexGuard<'_, E>> {
        self.free
            .wait(Some(core::time::Duration::ZERO))
            .then(|| EventMutexGuard { mutex: self })
    }

    /// Takes the lock only if it is free now; the guard keeps the mutex alive (a holder that
    /// outlives one function, like the balloon thread's "active" state).
    pub fn try_lock_owned(self: &Arc<Self>) -> Option<OwnedEventMutexGuard<E>> {
        self.free
            .wait(Some(core::time::Duration::ZERO))
            .then(|| OwnedEventMutexGuard {
                mutex: Arc::clone(self),
            })
    }

    /// Whether someone holds it now.
    pub fn is_locked(&self) -> bool {
        !self.free.is_set()
    }
}

/// The held lock; dropping it frees the lock.
pub struct EventMutexGuard<'a, E: Event> {
    mutex: &'a EventMutex<E>,
}

impl<E: Event> Drop for EventMutexGuard<'_, E> {
    fn drop(&mut self) {
        self.mutex.free.set();
    }
}

/// A held lock that owns a reference to its mutex; dropping it frees the lock.
pub struct OwnedEventMutexGuard<E: Event> {
    mutex: Arc<EventMutex<E>>,
}

impl<E: Event> Drop for OwnedEventMutexGuard<E> {
    fn drop(&mut self) {
        self.mutex.free.set();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_port::std_impl::StdPlatform;

    #[test]
    fn try_lock_fails_while_held_and_succeeds_after() {
        let p = StdPlatform::new(1);
        let m = EventMutex::new(&p);
        let g = m.try_lock().unwrap();
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        drop(g);
        assert!(!m.is_locked());
        drop(m.lock());
        assert!(m.try_lock().is_some());
        let m = Arc::new(m);
        let owned = m.try_lock_owned().unwrap();
        assert!(m.try_lock().is_none());
        assert!(m.try_lock_owned().is_none());
        drop(owned);
        assert!(m.try_lock().is_some());
    }
}
