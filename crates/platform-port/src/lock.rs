// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Spin locks taken at a raised IRQL.
//!
//! Upstream guards most subsystem state with `KSPIN_LOCK` (acquired at `DISPATCH_LEVEL`) and a
//! few structures that interrupt handlers touch with its own `HIGH_LOCK` (interrupts masked,
//! `HIGH_LEVEL`). [`IrqlLock`] is both: the level is chosen at construction. Raising first
//! means the holder cannot be preempted on its processor, so the spin is short.

use core::ops::{Deref, DerefMut};

use crate::traits::{Irql, IrqlLevel};

/// A value behind a spin lock that raises the IRQL to a fixed level while held.
pub struct IrqlLock<P: Irql, T> {
    platform: P,
    level: IrqlLevel,
    inner: spin::Mutex<T>,
}

impl<P: Irql, T> IrqlLock<P, T> {
    /// A lock taken at `DISPATCH_LEVEL` (upstream's `KSPIN_LOCK`).
    pub const fn dispatch(platform: P, value: T) -> Self {
        Self::at(platform, IrqlLevel::DISPATCH, value)
    }

    /// A lock taken at `HIGH_LEVEL` (upstream's `HIGH_LOCK`).
    pub const fn high(platform: P, value: T) -> Self {
        Self::at(platform, IrqlLevel::HIGH, value)
    }

    /// A lock taken at `level`.
    pub const fn at(platform: P, level: IrqlLevel, value: T) -> Self {
        Self {
            platform,
            level,
            inner: spin::Mutex::new(value),
        }
    }

    /// The level the lock raises to.
    pub const fn level(&self) -> IrqlLevel {
        self.level
    }

    /// Raises the IRQL, then spins until the lock is free.
    pub fn lock(&self) -> IrqlGuard<'_, P, T> {
        let old = self.platform.raise_irql(self.level);
        IrqlGuard {
            platform: &self.platform,
            old,
            guard: Some(self.inner.lock()),
        }
    }

    /// Takes the lock only if it is free now.
    pub fn try_lock(&self) -> Option<IrqlGuard<'_, P, T>> {
        let old = self.platform.raise_irql(self.level);
        let guard = self.inner.try_lock();
        if guard.is_none() {
            self.platform.lower_irql(old);
            return None;
        }
        Some(IrqlGuard {
            platform: &self.platform,
            old,
            guard,
        })
    }

    /// The value, through exclusive access to the lock itself.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<P: Irql, T: core::fmt::Debug> core::fmt::Debug for IrqlLock<P, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IrqlLock")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// The held lock; dropping it releases the lock, then restores the IRQL.
pub struct IrqlGuard<'a, P: Irql, T> {
    platform: &'a P,
    old: IrqlLevel,
    guard: Option<spin::MutexGuard<'a, T>>,
}

impl<P: Irql, T> IrqlGuard<'_, P, T> {
    /// The IRQL that will be restored.
    #[must_use]
    pub const fn previous_irql(&self) -> IrqlLevel {
        self.old
    }
}

impl<P: Irql, T> Deref for IrqlGuard<'_, P, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // The guard is only taken out in `drop`.
        self.guard.as_deref().unwrap_or_else(|| unreachable_guard())
    }
}

impl<P: Irql, T> DerefMut for IrqlGuard<'_, P, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard
            .as_deref_mut()
            .unwrap_or_else(|| unreachable_guard())
    }
}

impl<P: Irql, T> Drop for IrqlGuard<'_, P, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.platform.lower_irql(self.old);
    }
}

#[allow(clippy::panic)] // Unreachable: the guard is present for the guard's whole life.
#[cold]
fn unreachable_guard() -> ! {
    panic!("IrqlGuard used after release")
}
