// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Opaque handles: what a child holds for a subsystem object.

use alloc::collections::BTreeMap;
use core::ffi::c_void;

use platform_port::IrqlLock;

use super::SharedIrql;

/// A table from opaque handles to subsystem objects.
///
/// Handles are never dereferenced: a child passes one back and it is looked up, so a stale,
/// forged or foreign handle is refused instead of touching memory. Values are small integers
/// that are never reused (a 64-bit counter), spaced so that they look like aligned pointers
/// and never equal NULL.
///
/// IRQL: every method at `<= DISPATCH_LEVEL` (the table is a `DISPATCH_LEVEL` spin lock, as
/// upstream's context locks are: children call these methods from threads and from DPCs).
/// The lock is held only for the map operation, never across a call into a subsystem.
#[derive(Debug)]
pub struct Handles<T> {
    inner: IrqlLock<SharedIrql, Table<T>>,
}

#[derive(Debug)]
struct Table<T> {
    objects: BTreeMap<usize, T>,
    next: usize,
}

/// Distance between consecutive handle values.
const STRIDE: usize = 16;

impl<T: Clone> Handles<T> {
    /// An empty table locked through `irql`.
    #[must_use]
    pub const fn new(irql: SharedIrql) -> Self {
        Self {
            inner: IrqlLock::dispatch(
                irql,
                Table {
                    objects: BTreeMap::new(),
                    next: STRIDE,
                },
            ),
        }
    }

    /// Stores `object` and returns its new handle, or `None` once every handle value was used.
    pub fn insert(&self, object: T) -> Option<*mut c_void> {
        let mut table = self.inner.lock();
        let value = table.next;
        table.next = value.checked_add(STRIDE)?;
        table.objects.insert(value, object);
        Some(core::ptr::without_provenance_mut(value))
    }

    /// The object behind `handle`.
    #[must_use]
    pub fn get(&self, handle: *mut c_void) -> Option<T> {
        self.inner.lock().objects.get(&handle.addr()).cloned()
    }

    /// Takes the object behind `handle` out of the table.
    pub fn remove(&self, handle: *mut c_void) -> Option<T> {
        self.inner.lock().objects.remove(&handle.addr())
    }

    /// How many handles are outstanding.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().objects.len()
    }

    /// True if no handle is outstanding.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
