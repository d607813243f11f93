// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Spin locks taken at a raised IRQL.
//!
//! Upstream guards most subsystem state with `KSPIN_LOCK` (acquired at `DISPATCH_LEVEL`) and a
//! few structures that interrupt handlers touch with its own `HIGH_LOCK` (interrupts masked,
//! `HIGH_LEVEL`). [`IrqlLock`] is both: the level is chosen at construction. Raising first
//! means the holder cannot be preempted on its processor, so the spin is short.
//!
//! # IRQL contract
//!
//! A lock is taken at or below the level it raises to: a `DISPATCH_LEVEL` lock at
//! `<= DISPATCH_LEVEL` (`KeAcquireSpinLock`), a `HIGH_LEVEL` lock at any level. Taking a
//! `DISPATCH_LEVEL` lock from an interrupt (DIRQL or `HIGH_LEVEL`) would spin for ever if the
//! interrupt preempted the holder on its own processor. A context must not take a lock it
//! already holds (spin locks are not recursive), and guards are dropped in reverse order of
//! acquisition when their release lowers the IRQL. The lock reports every acquisition and
//! release to its platform ([`Irql::lock_acquiring`], [`Irql::lock_acquired`],
//! [`Irql::lock_released`]); the std platform checks these rules there.
//!
//! A guard stands for a raised IRQL on one processor, so it is neither `Send` nor `Sync`.

use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::traits::{Irql, IrqlLevel};

/// A value behind a spin lock that raises the IRQL to a fixed level while held, through the
/// platform the caller passes at each acquisition.
///
/// For objects that do not keep a platform of their own (an event channel, which the
/// subsystem that owns the platform locks); [`IrqlLock`] is the same lock with its platform
/// inside.
pub struct LevelLock<T> {
    level: IrqlLevel,
    inner: spin::Mutex<T>,
}

impl<T> LevelLock<T> {
    /// A lock taken at `DISPATCH_LEVEL` (upstream's `KSPIN_LOCK`).
    pub const fn dispatch(value: T) -> Self {
        Self::at(IrqlLevel::DISPATCH, value)
    }

    /// A lock taken at `level`.
    pub const fn at(level: IrqlLevel, value: T) -> Self {
        Self {
            level,
            inner: spin::Mutex::new(value),
        }
    }

    /// The level the lock raises to.
    pub const fn level(&self) -> IrqlLevel {
        self.level
    }

    /// The identity the lock reports to its platform's checking hooks.
    const fn id(&self) -> *const () {
        core::ptr::from_ref(self).cast()
    }

    /// Raises the IRQL through `platform`, then spins until the lock is free.
    ///
    /// IRQL: at or below [`LevelLock::level`] (`KeAcquireSpinLock`: `<= DISPATCH_LEVEL` for a
    /// `DISPATCH_LEVEL` lock; any level for a `HIGH_LEVEL` lock). Not while this context
    /// already holds the lock. Every acquisition of one lock goes through the same platform.
    #[track_caller]
    pub fn lock<'a, P: Irql + ?Sized>(&'a self, platform: &'a P) -> IrqlGuard<'a, P, T> {
        let id = self.id();
        platform.lock_acquiring(id, self.level, true);
        let old = platform.raise_irql(self.level);
        let guard = self.inner.lock();
        platform.lock_acquired(id, self.level, old);
        IrqlGuard {
            platform,
            lock: id,
            old,
            guard: Some(guard),
            _processor: PhantomData,
        }
    }

    /// Takes the lock only if it is free now (`KeTryToAcquireSpinLockAtDpcLevel` after
    /// raising). IRQL: at or below [`LevelLock::level`], as [`LevelLock::lock`].
    #[track_caller]
    pub fn try_lock<'a, P: Irql + ?Sized>(
        &'a self,
        platform: &'a P,
    ) -> Option<IrqlGuard<'a, P, T>> {
        let id = self.id();
        platform.lock_acquiring(id, self.level, false);
        let old = platform.raise_irql(self.level);
        let guard = self.inner.try_lock();
        if guard.is_none() {
            platform.lower_irql(old);
            return None;
        }
        platform.lock_acquired(id, self.level, old);
        Some(IrqlGuard {
            platform,
            lock: id,
            old,
            guard,
            _processor: PhantomData,
        })
    }

    /// The value, through exclusive access to the lock itself.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T> core::fmt::Debug for LevelLock<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LevelLock")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// A value behind a spin lock that raises the IRQL to a fixed level while held.
pub struct IrqlLock<P: Irql, T> {
    platform: P,
    lock: LevelLock<T>,
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
            lock: LevelLock::at(level, value),
        }
    }

    /// The level the lock raises to.
    pub const fn level(&self) -> IrqlLevel {
        self.lock.level()
    }

    /// Raises the IRQL, then spins until the lock is free.
    ///
    /// IRQL: at or below [`IrqlLock::level`] (`KeAcquireSpinLock`: `<= DISPATCH_LEVEL` for a
    /// `DISPATCH_LEVEL` lock; any level for a `HIGH_LEVEL` lock). Not while this context
    /// already holds the lock.
    #[track_caller]
    pub fn lock(&self) -> IrqlGuard<'_, P, T> {
        self.lock.lock(&self.platform)
    }

    /// Takes the lock only if it is free now (`KeTryToAcquireSpinLockAtDpcLevel` after
    /// raising). IRQL: at or below [`IrqlLock::level`], as [`IrqlLock::lock`].
    #[track_caller]
    pub fn try_lock(&self) -> Option<IrqlGuard<'_, P, T>> {
        self.lock.try_lock(&self.platform)
    }

    /// The value, through exclusive access to the lock itself.
    pub fn get_mut(&mut self) -> &mut T {
        self.lock.get_mut()
    }
}

impl<P: Irql, T> core::fmt::Debug for IrqlLock<P, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IrqlLock")
            .field("level", &self.lock.level)
            .finish_non_exhaustive()
    }
}

/// The held lock; dropping it releases the lock, then restores the IRQL
/// (`KeReleaseSpinLock`: restoring the IRQL the acquisition found).
///
/// Neither `Send` nor `Sync`: the raised IRQL belongs to the processor that took the lock, so
/// the guard must be dropped by the context that created it.
pub struct IrqlGuard<'a, P: Irql + ?Sized, T> {
    platform: &'a P,
    lock: *const (),
    old: IrqlLevel,
    guard: Option<spin::MutexGuard<'a, T>>,
    /// `!Send` and `!Sync`: a raised IRQL belongs to one processor.
    _processor: PhantomData<*const ()>,
}

impl<P: Irql + ?Sized, T> IrqlGuard<'_, P, T> {
    /// The IRQL that will be restored.
    #[must_use]
    pub const fn previous_irql(&self) -> IrqlLevel {
        self.old
    }
}

impl<P: Irql + ?Sized, T> Deref for IrqlGuard<'_, P, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // The guard is only taken out in `drop`.
        self.guard.as_deref().unwrap_or_else(|| unreachable_guard())
    }
}

impl<P: Irql + ?Sized, T> DerefMut for IrqlGuard<'_, P, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard
            .as_deref_mut()
            .unwrap_or_else(|| unreachable_guard())
    }
}

impl<P: Irql + ?Sized, T> Drop for IrqlGuard<'_, P, T> {
    fn drop(&mut self) {
        self.platform.lock_released(self.lock, self.old);
        drop(self.guard.take());
        self.platform.lower_irql(self.old);
    }
}

/// A raised IRQL, restored when dropped (`KeRaiseIrql` ... `KeLowerIrql` as one scope).
///
/// Upstream raises to `DISPATCH_LEVEL` without a lock in a few places: to stay on one
/// processor while using its per-processor state (the cache's magazines) and to keep a suspend
/// out (a suspend captures processors with DPCs, which cannot run while this one is at
/// `DISPATCH_LEVEL`). Neither `Send` nor `Sync`: the raised IRQL belongs to one processor.
pub struct RaisedIrql<'a, P: Irql + ?Sized> {
    platform: &'a P,
    /// The level to restore; `None` when nothing was raised.
    old: Option<IrqlLevel>,
    _processor: PhantomData<*const ()>,
}

impl<'a, P: Irql + ?Sized> RaisedIrql<'a, P> {
    /// Raises to `level`. IRQL: at or below `level` (`KeRaiseIrql`). Already at `level`,
    /// nothing changes and nothing is restored (a raise to the current level is a no-op).
    #[track_caller]
    pub fn to(platform: &'a P, level: IrqlLevel) -> Self {
        let old = (platform.current_irql() != level).then(|| platform.raise_irql(level));
        Self {
            platform,
            old,
            _processor: PhantomData,
        }
    }

    /// Raises to `level` only when the IRQL is below it (code that also runs in interrupt
    /// handlers or at `HIGH_LEVEL`, where raising to a lower level would break
    /// `KeRaiseIrql`'s rule). IRQL: any.
    #[track_caller]
    pub fn at_least(platform: &'a P, level: IrqlLevel) -> Self {
        let old = (platform.current_irql() < level).then(|| platform.raise_irql(level));
        Self {
            platform,
            old,
            _processor: PhantomData,
        }
    }
}

impl<P: Irql + ?Sized> Drop for RaisedIrql<'_, P> {
    fn drop(&mut self) {
        if let Some(old) = self.old {
            self.platform.lower_irql(old);
        }
    }
}

#[allow(clippy::panic)] // Unreachable: the guard is present for the guard's whole life.
#[cold]
fn unreachable_guard() -> ! {
    panic!("IrqlGuard used after release")
}
