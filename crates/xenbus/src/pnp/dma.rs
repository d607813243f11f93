// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DMA adapter interception (upstream `dma.c`): what it decides.
//!
//! A child's DMA adapter is the platform device's ([`crate::pnp::bus`]). With
//! `InterceptDmaAdapter` non-zero, xenbus.sys puts a private `DMA_OPERATIONS` table in front of
//! it: every routine forwards to the adapter's own table, but the routines that take a device
//! object (`AllocateAdapterChannel(Ex)`, `GetScatterGatherList(Ex)`,
//! `BuildScatterGatherList(Ex)`, `CancelAdapterChannel`) hand the adapter the platform
//! device's PDO instead of the child's, and the child's execution routine is called back with
//! the child's device object and its `CurrentIrp`, so the adapter (whose map registers and
//! queue belong to the platform device) only ever sees the device it was made for.
//!
//! * [`interception`]: none (`InterceptDmaAdapter` = 0, upstream's default), a substitute
//!   adapter object on Windows 6.0 (Vista and Server 2008, as upstream), the adapter itself with
//!   its table pointer replaced on every later Windows.
//! * [`OpsVersion::of_size`]: the private table has the lower table's size, which must be one of
//!   the three the Windows 8 DDK defines. Upstream asserts in its checked build and copies its
//!   own table over whatever size the lower one claims in its free build; here an unknown size
//!   means the adapter is returned unchanged, not intercepted, and the caller says so.
//! * [`AdapterTable`]: the adapters intercepted, keyed by adapter address (upstream's
//!   8-bucket hash under a spin lock it skips above `DISPATCH_LEVEL`). Lookups take no lock, so
//!   they hold at any IRQL; inserts and removals claim and release slots atomically.
//! * [`Controls`]: the execution routines handed to the adapter and not yet called, so a
//!   successful `CancelAdapterChannel` frees those of its transfer context.
//!
//! One difference from upstream, in the adapter's lifetime: upstream frees its context (and
//! with it the private table the adapter now points at) when `FreeAdapterObject` is given
//! `DeallocateObject`, or when `FreeMapRegisters` follows `DeallocateObjectKeepRegisters`. Those
//! calls end a channel allocation, not the adapter: the driver still calls `PutDmaAdapter`
//! later, through the freed table. Here the context lives from `GetDmaAdapter` to
//! `PutDmaAdapter`, the adapter's real end.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// `DMA_OPERATIONS.Size` of a version 1 table on x64 (up to `PutScatterGatherList`).
pub const SIZE_V1: u32 = 104;
/// Of a version 2 table (up to `BuildMdlFromScatterGatherList`).
pub const SIZE_V2: u32 = 128;
/// Of a version 3 table (up to `CancelMappedTransfer`).
pub const SIZE_V3: u32 = 232;

/// How a child's adapter is given out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interception {
    /// The platform device's adapter, untouched (`InterceptDmaAdapter` = 0).
    None,
    /// A private adapter object whose table forwards to the platform device's adapter
    /// (upstream's choice for Windows 6.0).
    Substitute,
    /// The platform device's adapter, its `DmaOperations` pointer replaced by the private table.
    PassThrough,
}

/// The interception for an `InterceptDmaAdapter` value on Windows `major.minor`.
#[must_use]
pub const fn interception(intercept: u32, major: u32, minor: u32) -> Interception {
    if intercept == 0 {
        Interception::None
    } else if major == 6 && minor == 0 {
        Interception::Substitute
    } else {
        Interception::PassThrough
    }
}

/// A `DMA_OPERATIONS` version: which routines the table has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpsVersion {
    /// `PutDmaAdapter` to `PutScatterGatherList`.
    V1,
    /// Adds `CalculateScatterGatherList`, `BuildScatterGatherList`,
    /// `BuildMdlFromScatterGatherList`.
    V2,
    /// Adds `GetDmaAdapterInfo` to `CancelMappedTransfer`.
    V3,
}

impl OpsVersion {
    /// The version of a table of `size` bytes; `None` for a size no known version has.
    #[must_use]
    pub const fn of_size(size: u32) -> Option<Self> {
        match size {
            SIZE_V1 => Some(Self::V1),
            SIZE_V2 => Some(Self::V2),
            SIZE_V3 => Some(Self::V3),
            _ => None,
        }
    }

    /// The table's size.
    #[must_use]
    pub const fn size(self) -> u32 {
        match self {
            Self::V1 => SIZE_V1,
            Self::V2 => SIZE_V2,
            Self::V3 => SIZE_V3,
        }
    }

    /// The number, as logged.
    #[must_use]
    pub const fn number(self) -> u32 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }
}

/// The adapter is already in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertError {
    /// No free slot.
    Full,
    /// The key is there already (an adapter given out twice without a put).
    Present,
}

/// Intercepted adapters: adapter address to context address, `N` slots.
///
/// A slot is claimed by writing its key (0 → key) and published by writing its value; a
/// lookup sees a slot only once both are there. Removal clears the value, then the key. Keys
/// and values are never 0.
#[derive(Debug)]
pub struct AdapterTable<const N: usize> {
    keys: [AtomicUsize; N],
    values: [AtomicUsize; N],
}

impl<const N: usize> Default for AdapterTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> AdapterTable<N> {
    /// An empty table.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            keys: [const { AtomicUsize::new(0) }; N],
            values: [const { AtomicUsize::new(0) }; N],
        }
    }

    /// Adds `key` → `value` (both non-zero).
    ///
    /// # Errors
    /// [`InsertError::Present`] when `key` is there already, [`InsertError::Full`] when no
    /// slot is free; the table is unchanged.
    pub fn insert(&self, key: usize, value: usize) -> Result<(), InsertError> {
        if key == 0 || value == 0 {
            return Err(InsertError::Full);
        }
        // Two inserts of one key racing each other could both pass this check; the platform
        // bus gives an adapter out once until it is put, so they do not happen.
        if self.find(key).is_some() {
            return Err(InsertError::Present);
        }
        for (slot, stored) in self.keys.iter().zip(&self.values) {
            if slot
                .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                stored.store(value, Ordering::Release);
                return Ok(());
            }
        }
        Err(InsertError::Full)
    }

    /// The value of `key`, if it is there and published.
    #[must_use]
    pub fn find(&self, key: usize) -> Option<usize> {
        if key == 0 {
            return None;
        }
        self.keys
            .iter()
            .zip(&self.values)
            .filter(|(slot, _)| slot.load(Ordering::Acquire) == key)
            .map(|(_, stored)| stored.load(Ordering::Acquire))
            .find(|&value| value != 0)
    }

    /// Removes `key`; its value, if it was there.
    pub fn remove(&self, key: usize) -> Option<usize> {
        if key == 0 {
            return None;
        }
        for (slot, stored) in self.keys.iter().zip(&self.values) {
            if slot.load(Ordering::Acquire) == key {
                let value = stored.swap(0, Ordering::AcqRel);
                if value != 0 {
                    slot.store(0, Ordering::Release);
                    return Some(value);
                }
            }
        }
        None
    }

    /// Entries in the table.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values
            .iter()
            .filter(|v| v.load(Ordering::Acquire) != 0)
            .count()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One execution routine handed to the adapter: its wrapper's identity and the transfer
/// context it was given for (0 for the routines without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    id: usize,
    transfer: usize,
}

/// The execution routines an adapter still owes a call (upstream's control lists, one for
/// channel routines and one for scatter/gather routines; here one list, the kind is the
/// caller's).
#[derive(Debug, Default)]
pub struct Controls {
    pending: Vec<Pending>,
}

impl Controls {
    /// None pending.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            pending: Vec::new(),
        }
    }

    /// A routine `id` handed out for transfer context `transfer` (0: none).
    pub fn add(&mut self, id: usize, transfer: usize) {
        self.pending.push(Pending { id, transfer });
    }

    /// Routine `id` was called, or its hand-out failed: whether it was pending.
    pub fn remove(&mut self, id: usize) -> bool {
        let before = self.pending.len();
        self.pending.retain(|p| p.id != id);
        self.pending.len() != before
    }

    /// A cancel of transfer context `transfer` succeeded: the routines it took back (their
    /// ids), no longer pending.
    pub fn cancel(&mut self, transfer: usize) -> Vec<usize> {
        let mut taken = Vec::new();
        self.pending.retain(|p| {
            let hit = p.transfer == transfer;
            if hit {
                taken.push(p.id);
            }
            !hit
        });
        taken
    }

    /// Everything still pending (the adapter is being put): their ids.
    pub fn drain(&mut self) -> Vec<usize> {
        self.pending.drain(..).map(|p| p.id).collect()
    }

    /// Routines pending.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is pending.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn interception_follows_the_value_and_the_windows_version() {
        assert_eq!(interception(0, 10, 0), Interception::None);
        assert_eq!(interception(0, 6, 0), Interception::None);
        assert_eq!(interception(1, 6, 0), Interception::Substitute);
        assert_eq!(interception(u32::MAX, 6, 0), Interception::Substitute);
        assert_eq!(interception(1, 6, 1), Interception::PassThrough);
        assert_eq!(interception(1, 6, 3), Interception::PassThrough);
        assert_eq!(interception(7, 10, 0), Interception::PassThrough);
        assert_eq!(interception(1, 5, 2), Interception::PassThrough);
    }

    #[test]
    fn only_the_three_known_sizes_have_a_version() {
        assert_eq!(OpsVersion::of_size(104), Some(OpsVersion::V1));
        assert_eq!(OpsVersion::of_size(128), Some(OpsVersion::V2));
        assert_eq!(OpsVersion::of_size(232), Some(OpsVersion::V3));
        for size in [0, 8, 103, 105, 127, 129, 231, 233, 240, 512, u32::MAX] {
            assert_eq!(OpsVersion::of_size(size), None, "size {size}");
        }
        for v in [OpsVersion::V1, OpsVersion::V2, OpsVersion::V3] {
            assert_eq!(OpsVersion::of_size(v.size()), Some(v));
        }
        assert!(OpsVersion::V1 < OpsVersion::V2 && OpsVersion::V2 < OpsVersion::V3);
        assert_eq!(OpsVersion::V3.number(), 3);
    }

    #[test]
    fn the_table_finds_inserts_removes_and_refuses_when_full_or_present() {
        let t = AdapterTable::<3>::new();
        assert!(t.is_empty());
        assert_eq!(t.find(0x1000), None);
        assert_eq!(t.insert(0x1000, 1), Ok(()));
        assert_eq!(t.insert(0x1000, 2), Err(InsertError::Present));
        assert_eq!(t.insert(0x2000, 2), Ok(()));
        assert_eq!(t.insert(0x3000, 3), Ok(()));
        assert_eq!(t.insert(0x4000, 4), Err(InsertError::Full));
        assert_eq!(t.len(), 3);
        assert_eq!(t.find(0x2000), Some(2));
        assert_eq!(t.remove(0x2000), Some(2));
        assert_eq!(t.remove(0x2000), None);
        assert_eq!(t.find(0x2000), None);
        assert_eq!(t.insert(0x4000, 4), Ok(()), "a removed slot is reused");
        assert_eq!(t.find(0x4000), Some(4));
        assert_eq!(t.find(0x1000), Some(1));
        // Zero is never a key or a value.
        assert_eq!(t.find(0), None);
        assert_eq!(t.remove(0), None);
        assert_eq!(t.remove(0x1000), Some(1));
        assert_eq!(t.insert(0, 5), Err(InsertError::Full));
        assert_eq!(t.insert(0x5000, 0), Err(InsertError::Full));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn concurrent_inserts_and_removes_lose_nothing() {
        let t = Arc::new(AdapterTable::<64>::new());
        let threads: Vec<_> = (0..4usize)
            .map(|n| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    for round in 0..2000usize {
                        let key = (n + 1) * 0x10_0000 + (round % 8) * 0x100;
                        let value = key + 1;
                        assert_eq!(t.insert(key, value), Ok(()));
                        assert_eq!(t.find(key), Some(value));
                        assert_eq!(t.remove(key), Some(value));
                        assert_eq!(t.find(key), None);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
        assert!(t.is_empty());
    }

    #[test]
    fn controls_cancel_by_transfer_context_and_drain() {
        let mut c = Controls::new();
        c.add(1, 0xA0);
        c.add(2, 0xB0);
        c.add(3, 0xA0);
        c.add(4, 0);
        assert_eq!(c.len(), 4);
        assert!(c.remove(2));
        assert!(!c.remove(2), "a routine is called once");
        assert_eq!(c.cancel(0xA0), alloc::vec![1, 3]);
        assert_eq!(c.cancel(0xA0), Vec::<usize>::new());
        assert_eq!(c.len(), 1);
        assert_eq!(c.drain(), alloc::vec![4]);
        assert!(c.is_empty());
    }
}
