// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The grant entries children hold, by handle, without a heap allocation per grant.
//!
//! `GnttabPermitForeignAccess` and `GnttabRevokeForeignAccess` are the hot path of every PV
//! network and disk driver (one pair per packet fragment or request segment). Upstream hands
//! out the cache object itself as the handle; here a handle is looked up, never dereferenced
//! (see [`super::Handles`]), so the table must be as cheap as the cache behind it. It is a slab:
//! a vector of slots with a free list threaded through the free ones. A Permit takes the head of
//! the free list, a Revoke puts the slot back; the vector only grows when more entries are
//! outstanding than ever before, so once a driver reached its steady state nothing is
//! allocated.
//!
//! A handle names a slot and the slot's *generation*, bumped whenever the slot is freed, so a
//! handle given back (or never handed out) is refused instead of naming whatever entry reuses
//! the slot. Generations have [`GENERATION_BITS`] bits: a stale handle is only mistaken for a
//! live one after its slot was reused 2^28 times, and even then it names a granted entry of the
//! same context, never freed memory.
//!
//! Handle values are `(index + 1) << 32 | generation << 4`: never NULL, 16-byte aligned like
//! the pointers upstream hands out.
//!
//! IRQL: every method at `<= DISPATCH_LEVEL` (a `DISPATCH_LEVEL` spin lock, held only while a
//! slot changes, never across the subsystem's Permit or Revoke).

use alloc::vec::Vec;
use core::ffi::c_void;

use platform_port::IrqlLock;

use super::SharedIrql;
use crate::gnttab::GrantEntry;

/// Bits of a slot's generation in a handle.
pub const GENERATION_BITS: u32 = 28;
const GENERATION_MASK: u32 = (1 << GENERATION_BITS) - 1;
/// The low bits every handle leaves clear (16-byte alignment).
const ALIGNMENT_SHIFT: u32 = 4;
/// Where the slot index (plus one) starts.
const INDEX_SHIFT: u32 = 32;

// Handles carry 64 bits (x64 pointers).
const _: () = assert!(usize::BITS == 64);

/// What a slot holds.
enum State {
    /// Free; the next free slot.
    Free { next: Option<u32> },
    /// A grant the child holds.
    Granted(GrantEntry),
    /// A Revoke of this grant is running; its reference stays readable.
    Revoking { reference: u32 },
}

struct Slot {
    generation: u32,
    state: State,
}

struct Slab {
    slots: Vec<Slot>,
    free: Option<u32>,
    live: usize,
}

/// The table of a GNTTAB context's granted entries.
pub struct EntryTable {
    inner: IrqlLock<SharedIrql, Slab>,
}

impl core::fmt::Debug for EntryTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EntryTable").finish_non_exhaustive()
    }
}

/// A handle's slot index and generation, or `None` for a value no handle ever had.
fn decode(handle: *mut c_void) -> Option<(usize, u32)> {
    let value = u64::try_from(handle.addr()).ok()?;
    if value & ((1 << ALIGNMENT_SHIFT) - 1) != 0 {
        return None;
    }
    let index = usize::try_from((value >> INDEX_SHIFT).checked_sub(1)?).ok()?;
    let rest = value & ((1 << INDEX_SHIFT) - 1);
    if rest >> ALIGNMENT_SHIFT > u64::from(GENERATION_MASK) {
        return None;
    }
    let generation = u32::try_from(rest >> ALIGNMENT_SHIFT).ok()?;
    Some((index, generation))
}

/// The handle of slot `index` at `generation`.
fn encode(index: u32, generation: u32) -> *mut c_void {
    let value = ((u64::from(index) + 1) << INDEX_SHIFT)
        | (u64::from(generation & GENERATION_MASK) << ALIGNMENT_SHIFT);
    // 64-bit pointers (asserted above): the conversion is lossless.
    core::ptr::without_provenance_mut(usize::try_from(value).unwrap_or(0))
}

impl Slab {
    /// The slot `handle` names, if that slot is still at the handle's generation.
    fn slot(&mut self, handle: *mut c_void) -> Option<&mut Slot> {
        let (index, generation) = decode(handle)?;
        self.slots
            .get_mut(index)
            .filter(|slot| slot.generation == generation)
    }
}

impl EntryTable {
    /// An empty table locked through `irql`.
    #[must_use]
    pub const fn new(irql: SharedIrql) -> Self {
        Self {
            inner: IrqlLock::dispatch(
                irql,
                Slab {
                    slots: Vec::new(),
                    free: None,
                    live: 0,
                },
            ),
        }
    }

    /// Stores `entry` and returns its handle; gives the entry back if the table cannot grow.
    ///
    /// # Errors
    /// The entry, when every slot index is used or the slot vector cannot grow.
    pub fn insert(&self, entry: GrantEntry) -> Result<*mut c_void, GrantEntry> {
        let mut slab = self.inner.lock();
        let index = if let Some(index) = slab.free {
            let next = match slab.slots.get(usize::try_from(index).unwrap_or(usize::MAX)) {
                Some(Slot {
                    state: State::Free { next },
                    ..
                }) => *next,
                // The free list only links free slots; anything else is a broken table, which
                // must not hand out a live slot: refuse.
                _ => return Err(entry),
            };
            slab.free = next;
            index
        } else {
            let Ok(index) = u32::try_from(slab.slots.len()) else {
                return Err(entry);
            };
            if index == u32::MAX || slab.slots.try_reserve(1).is_err() {
                return Err(entry);
            }
            slab.slots.push(Slot {
                generation: 0,
                state: State::Free { next: None },
            });
            index
        };
        let Some(slot) = slab
            .slots
            .get_mut(usize::try_from(index).unwrap_or(usize::MAX))
        else {
            return Err(entry);
        };
        slot.state = State::Granted(entry);
        let handle = encode(index, slot.generation);
        slab.live = slab.live.saturating_add(1);
        Ok(handle)
    }

    /// Takes the entry out for a Revoke; its slot stays reserved (and its reference readable)
    /// until [`EntryTable::revoked`] or [`EntryTable::still_granted`]. `None` for a handle
    /// that names no granted entry (unknown, given back, or already being revoked).
    pub fn begin_revoke(&self, handle: *mut c_void) -> Option<GrantEntry> {
        let mut slab = self.inner.lock();
        let slot = slab.slot(handle)?;
        let State::Granted(entry) = &slot.state else {
            return None;
        };
        let reference = entry.reference();
        match core::mem::replace(&mut slot.state, State::Revoking { reference }) {
            State::Granted(entry) => Some(entry),
            // Checked just above.
            other => {
                slot.state = other;
                None
            }
        }
    }

    /// The Revoke succeeded: the handle is dead and its slot free for reuse.
    pub fn revoked(&self, handle: *mut c_void) {
        let mut slab = self.inner.lock();
        let Some((index, _)) = decode(handle) else {
            return;
        };
        let free = slab.free;
        let Some(slot) = slab.slot(handle) else {
            return;
        };
        if !matches!(slot.state, State::Revoking { .. }) {
            return;
        }
        slot.state = State::Free { next: free };
        slot.generation = slot.generation.wrapping_add(1) & GENERATION_MASK;
        slab.free = u32::try_from(index).ok();
        slab.live = slab.live.saturating_sub(1);
    }

    /// The Revoke failed (the peer still maps the grant): the child keeps its handle.
    pub fn still_granted(&self, handle: *mut c_void, entry: GrantEntry) {
        let mut slab = self.inner.lock();
        if let Some(slot) = slab.slot(handle)
            && matches!(slot.state, State::Revoking { .. })
        {
            slot.state = State::Granted(entry);
        }
        // Otherwise nothing names the entry any more; dropping it leaves the grant in place
        // (see `GrantEntry`), which is what a forgotten entry does.
    }

    /// The grant reference behind `handle` (also while a Revoke of it runs).
    #[must_use]
    pub fn reference(&self, handle: *mut c_void) -> Option<u32> {
        let mut slab = self.inner.lock();
        match slab.slot(handle)?.state {
            State::Granted(ref entry) => Some(entry.reference()),
            State::Revoking { reference } => Some(reference),
            State::Free { .. } => None,
        }
    }

    /// Entries granted (or being revoked) and not given back.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().live
    }
}
