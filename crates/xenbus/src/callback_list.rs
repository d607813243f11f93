// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! An ordered list of registered objects behind a raised-IRQL lock, as upstream keeps its
//! `LIST_ENTRY` callback lists (DEBUG and CONSOLE under a `HIGH_LOCK`, SUSPEND under a spin lock).
//!
//! Pool memory can only be allocated and freed below `DISPATCH_LEVEL`... or at it, never at
//! `HIGH_LEVEL`. So every allocation (growing the vector, a snapshot) happens with the lock
//! released, and every removed entry or replaced vector is dropped after the lock is released.
//! Entries keep their registration order.

use alloc::sync::Arc;
use alloc::vec::Vec;

use platform_port::{Irql, IrqlLock};

/// The allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoMemory;

/// The list.
///
/// IRQL: every method takes the lock, so runs at or below the lock's level, except
/// [`CallbackList::try_with`], which runs at any level.
pub struct CallbackList<P: Irql, T> {
    /// For [`CallbackList::try_with`]'s check of the caller's IRQL.
    platform: P,
    entries: IrqlLock<P, Vec<Arc<T>>>,
}

impl<P: Irql + Clone, T> CallbackList<P, T> {
    /// An empty list whose lock raises to `HIGH_LEVEL`.
    pub fn high(platform: P) -> Self {
        Self {
            entries: IrqlLock::high(platform.clone(), Vec::new()),
            platform,
        }
    }

    /// An empty list whose lock raises to `DISPATCH_LEVEL`.
    pub fn dispatch(platform: P) -> Self {
        Self {
            entries: IrqlLock::dispatch(platform.clone(), Vec::new()),
            platform,
        }
    }
}

impl<P: Irql, T> CallbackList<P, T> {
    /// Appends `entry` (tail), allocating only with the lock released.
    ///
    /// # Errors
    /// [`NoMemory`] when the vector cannot grow; the list is unchanged.
    pub fn push(&self, entry: Arc<T>) -> Result<(), NoMemory> {
        let mut spare: Option<Vec<Arc<T>>> = None;
        loop {
            let needed = {
                let mut list = self.entries.lock();
                if list.len() < list.capacity() {
                    list.push(entry);
                    return Ok(());
                }
                match spare.take() {
                    Some(mut bigger) if bigger.capacity() > list.len() => {
                        bigger.append(&mut list);
                        bigger.push(entry);
                        let old = core::mem::replace(&mut *list, bigger);
                        drop(list);
                        drop(old);
                        return Ok(());
                    }
                    _ => list.len().saturating_add(1),
                }
            };
            let mut bigger = Vec::new();
            bigger
                .try_reserve_exact(needed.saturating_mul(2).max(4))
                .map_err(|_| NoMemory)?;
            spare = Some(bigger);
        }
    }

    /// Unlinks `entry` (compared by identity); the entry is dropped with the lock released.
    /// Returns whether it was listed.
    pub fn remove(&self, entry: &Arc<T>) -> bool {
        let removed = {
            let mut list = self.entries.lock();
            list.iter()
                .position(|e| Arc::ptr_eq(e, entry))
                .map(|index| list.remove(index))
        };
        removed.is_some()
    }

    /// How many entries are listed.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` over the entries with the lock held (no allocation may happen in `f`).
    pub fn with<R>(&self, f: impl FnOnce(&[Arc<T>]) -> R) -> R {
        f(&self.entries.lock())
    }

    /// Runs `f` over the entries if the lock is free now (the crash path, debug dumps).
    ///
    /// IRQL: any. `None` when the lock is busy, or when the caller runs above the level the
    /// lock raises to (a `DISPATCH_LEVEL` list seen from a `HIGH_LEVEL` debug callback): a spin
    /// lock is never taken, not even tried, above its own level.
    pub fn try_with<R>(&self, f: impl FnOnce(&[Arc<T>]) -> R) -> Option<R> {
        if self.platform.current_irql() > self.entries.level() {
            return None;
        }
        self.entries.try_lock().map(|list| f(&list))
    }

    /// A copy of the entries in order, taken under the lock, allocated outside it.
    ///
    /// # Errors
    /// [`NoMemory`] when the copy cannot be allocated.
    pub fn snapshot(&self) -> Result<Vec<Arc<T>>, NoMemory> {
        let mut copy: Vec<Arc<T>> = Vec::new();
        loop {
            let needed = {
                let list = self.entries.lock();
                if copy.capacity() >= list.len() {
                    copy.extend(list.iter().cloned());
                    return Ok(copy);
                }
                list.len()
            };
            copy.try_reserve_exact(needed.saturating_add(2))
                .map_err(|_| NoMemory)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform_port::std_impl::StdPlatform;

    #[test]
    fn entries_keep_registration_order_and_leave_by_identity() {
        let list = CallbackList::high(StdPlatform::new(1));
        let items: Vec<Arc<u32>> = (0..10).map(Arc::new).collect();
        for item in &items {
            list.push(Arc::clone(item)).unwrap();
        }
        assert!(list.remove(&items[3]));
        assert!(!list.remove(&items[3]));
        let seen: Vec<u32> = list.snapshot().unwrap().iter().map(|a| **a).collect();
        assert_eq!(seen, [0, 1, 2, 4, 5, 6, 7, 8, 9]);
        assert_eq!(list.len(), 9);
        assert_eq!(Arc::strong_count(&items[3]), 1);
    }
}
