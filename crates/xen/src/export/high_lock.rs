// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Upstream's `HIGH_LOCK`: a spin lock taken with the IRQL raised to `HIGH_LEVEL`.
//!
//! xen.sys's global state that any export may touch at any IRQL (the log, the unplug
//! decisions) sits behind one of these. The raise and the lower go through the installed
//! [`Platform`]'s [`platform_port::Irql`] (`KeRaiseIrql(HIGH_LEVEL)` and `KeLowerIrql` on
//! Windows), and the acquisition and release are reported to its checking hooks as
//! [`platform_port::IrqlLock`] reports them, so a checking platform sees a recursive
//! acquisition (a disposition that logs) or a release out of order.
//!
//! `platform_port::IrqlLock` itself cannot be used: it owns its platform from construction,
//! while these locks are statics and xen.sys's platform is installed at `DllInitialize`.
//!
//! Without an installed platform there is no IRQL to raise, and the lock is taken without
//! raising. Only host tests get there: on Windows the exports run between `DllInitialize`,
//! which installs the platform before anything logs, and `DllUnload`, which removes it last.

use platform_port::IrqlLevel;

use super::{Platform, platform};

/// A value behind a spin lock held at `HIGH_LEVEL`.
pub struct HighLock<T> {
    inner: spin::Mutex<T>,
}

impl<T> HighLock<T> {
    /// An unlocked lock holding `value`.
    pub const fn new(value: T) -> Self {
        Self {
            inner: spin::Mutex::new(value),
        }
    }

    /// The identity reported to the platform's checking hooks.
    const fn id(&self) -> *const () {
        core::ptr::from_ref(self).cast()
    }

    /// Raises to `HIGH_LEVEL` through the installed platform, takes the lock and runs `f` with
    /// the value; then releases the lock and restores the IRQL it found. IRQL: any.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let id = self.id();
        let raised = platform().map(|p| {
            p.lock_acquiring(id, IrqlLevel::HIGH, true);
            (p, p.raise_irql(IrqlLevel::HIGH))
        });
        let mut held = Held {
            guard: Some(self.inner.lock()),
            raised,
            lock: id,
        };
        if let Some((p, old)) = held.raised {
            p.lock_acquired(id, IrqlLevel::HIGH, old);
        }
        held.guard
            .as_deref_mut()
            .map_or_else(|| unreachable_guard(), f)
    }
}

/// One acquisition. Dropping it (also when `f` unwinds in a host test) reports the release,
/// releases the lock, then restores the IRQL on the platform that raised it, even if another
/// was installed meanwhile.
struct Held<'a, T> {
    /// The lock, until the drop releases it.
    guard: Option<spin::MutexGuard<'a, T>>,
    /// The platform that raised, and the level to restore (none without a platform).
    raised: Option<(&'static dyn Platform, IrqlLevel)>,
    /// The lock's identity.
    lock: *const (),
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        if let Some((p, old)) = self.raised {
            p.lock_released(self.lock, old);
        }
        drop(self.guard.take());
        if let Some((p, old)) = self.raised {
            p.lower_irql(old);
        }
    }
}

/// The guard is present from construction until the drop: never reached.
#[allow(clippy::panic)] // Unreachable: `with` holds the guard for the whole call.
#[cold]
fn unreachable_guard() -> ! {
    panic!("HighLock guard used after release")
}
