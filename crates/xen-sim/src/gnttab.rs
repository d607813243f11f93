// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Grant tables: the guest's (v1 entries in Xen-owned frames the guest maps and writes) and
//! the backend's (kept by the simulator), the pinning rules of Xen's `_set_status_v1` /
//! `_clear_status`, and maptrack handles.

use crate::memory::{PAGE_SIZE, Page, PagePool};
use crate::shm::{u16_at, u32_at};
use std::sync::atomic::Ordering::SeqCst;
use xen_headers::grant_table::{
    GNTST_GENERAL_ERROR, GNTTAB_NR_RESERVED_ENTRIES, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY,
    GTF_TYPE_MASK, GTF_WRITING, GrantEntryV1,
};
use xen_headers::xen::DomId;

/// v1 entries per grant frame.
pub const ENTRIES_PER_FRAME: u32 = (PAGE_SIZE / size_of::<GrantEntryV1>()) as u32;

/// Xen's active state of a pinned grant entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Active {
    /// The domain that pinned it.
    pub domid: DomId,
    /// The frame read at the first pin.
    pub frame: u32,
    /// Read-only pins.
    pub readers: u32,
    /// Writable pins.
    pub writers: u32,
}

/// `_set_status_v1`: the entry must permit access to `domid` (and writing unless `readonly`);
/// `GTF_reading` (and `GTF_writing`) are set with a compare-exchange on the live flags.
fn set_status_v1(page: Page, offset: usize, domid: DomId, readonly: bool) -> Result<(), i16> {
    let flags_word = u16_at(page, offset);
    loop {
        let flags = flags_word.load(SeqCst);
        let entry_domid = u16_at(page, offset + 2).load(SeqCst);
        if flags & GTF_TYPE_MASK != GTF_PERMIT_ACCESS || entry_domid != domid {
            return Err(GNTST_GENERAL_ERROR);
        }
        if !readonly && flags & GTF_READONLY != 0 {
            return Err(GNTST_GENERAL_ERROR);
        }
        let mut new = flags | GTF_READING;
        if !readonly {
            new |= GTF_WRITING;
        }
        if flags_word
            .compare_exchange(flags, new, SeqCst, SeqCst)
            .is_ok()
        {
            return Ok(());
        }
    }
}

/// The guest's grant table.
#[derive(Debug)]
pub struct GuestGrantTable {
    /// Xen's frames (allocated as the table grows).
    pub frames: Vec<Page>,
    /// The most frames the table may have.
    pub max_frames: u32,
    /// 1 or 2.
    pub version: u32,
    /// Active entries (`struct active_grant_entry`), by reference.
    pub pins: std::collections::BTreeMap<u32, Active>,
}

impl GuestGrantTable {
    /// A table of one frame (Xen's initial size).
    pub fn new(pool: &mut PagePool, max_frames: u32) -> Self {
        let mut table = Self {
            frames: Vec::new(),
            max_frames,
            version: 1,
            pins: std::collections::BTreeMap::new(),
        };
        table.grow(pool, 1);
        table
    }

    /// `gnttab_grow_table` to `frames` frames (never shrinks); false beyond the maximum.
    pub fn grow(&mut self, pool: &mut PagePool, frames: u32) -> bool {
        if frames > self.max_frames {
            return false;
        }
        while (self.frames.len() as u32) < frames {
            self.frames.push(pool.alloc(1));
        }
        true
    }

    /// Entries the table holds now.
    #[must_use]
    pub const fn nr_entries(&self) -> u32 {
        self.frames.len() as u32 * ENTRIES_PER_FRAME
    }

    fn entry(&self, reference: u32) -> Option<(Page, usize)> {
        let page = *self.frames.get((reference / ENTRIES_PER_FRAME) as usize)?;
        Some((page, (reference % ENTRIES_PER_FRAME) as usize * 8))
    }

    /// The live entry `(flags, domid, frame)`.
    #[must_use]
    pub fn read(&self, reference: u32) -> Option<(u16, DomId, u32)> {
        let (page, offset) = self.entry(reference)?;
        Some((
            u16_at(page, offset).load(SeqCst),
            u16_at(page, offset + 2).load(SeqCst),
            u32_at(page, offset + 4).load(SeqCst),
        ))
    }

    /// Writes an entry as the toolstack does (domid and frame, then flags).
    pub fn seed(&self, reference: u32, domid: DomId, frame: u32) {
        if let Some((page, offset)) = self.entry(reference) {
            u16_at(page, offset + 2).store(domid, SeqCst);
            u32_at(page, offset + 4).store(frame, SeqCst);
            u16_at(page, offset).store(GTF_PERMIT_ACCESS, SeqCst);
        }
    }

    /// Pins entry `reference` for `domid` as Xen's `map_grant_ref` does: an entry pinned by
    /// another domain refuses; the live entry is checked and `GTF_reading`/`GTF_writing` set
    /// with a compare-exchange (`_set_status_v1`) on the first pin and on the first writable
    /// pin; the frame is the one read at the first pin. Returns the granted frame.
    ///
    /// # Errors
    ///
    /// The `GNTST_*` status.
    pub fn pin(&mut self, reference: u32, domid: DomId, readonly: bool) -> Result<u32, i16> {
        let (page, offset) = self.entry(reference).ok_or(GNTST_GENERAL_ERROR)?;
        let active = self.pins.get(&reference).copied();
        if active.is_some_and(|a| a.domid != domid) {
            return Err(GNTST_GENERAL_ERROR);
        }
        let set_status = active.is_none_or(|a| !readonly && a.writers == 0);
        if set_status {
            set_status_v1(page, offset, domid, readonly)?;
        }
        let frame = active.map_or_else(|| u32_at(page, offset + 4).load(SeqCst), |a| a.frame);
        let entry = self.pins.entry(reference).or_insert(Active {
            domid,
            frame,
            readers: 0,
            writers: 0,
        });
        if readonly {
            entry.readers += 1;
        } else {
            entry.writers += 1;
        }
        Ok(frame)
    }

    /// Drops a pin taken by [`Self::pin`] (`_clear_status`): `GTF_writing` goes with the last
    /// writable pin, `GTF_reading` with the last pin.
    pub fn unpin(&mut self, reference: u32, readonly: bool) {
        let Some(entry) = self.pins.get_mut(&reference) else {
            return;
        };
        if readonly {
            entry.readers = entry.readers.saturating_sub(1);
        } else {
            entry.writers = entry.writers.saturating_sub(1);
        }
        let Active {
            readers, writers, ..
        } = *entry;
        if readers + writers == 0 {
            self.pins.remove(&reference);
        }
        if let Some((page, offset)) = self.entry(reference) {
            if writers == 0 {
                u16_at(page, offset).fetch_and(!GTF_WRITING, SeqCst);
            }
            if readers + writers == 0 {
                u16_at(page, offset).fetch_and(!GTF_READING, SeqCst);
            }
        }
    }

    /// References beyond the reserved ones whose entry permits access.
    #[must_use]
    pub fn live_grants(&self) -> Vec<u32> {
        (GNTTAB_NR_RESERVED_ENTRIES..self.nr_entries())
            .filter(|&r| {
                self.read(r)
                    .is_some_and(|(flags, _, _)| flags & GTF_TYPE_MASK == GTF_PERMIT_ACCESS)
            })
            .collect()
    }
}

/// One grant of the backend domain.
#[derive(Clone, Copy, Debug)]
pub struct BackendGrant {
    /// The domain allowed to map it.
    pub domid: DomId,
    /// The page.
    pub page: Page,
    /// Read-only grant.
    pub readonly: bool,
    /// Mappings of it.
    pub pins: u32,
}

/// One mapping in a domain's maptrack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// The granting domain.
    pub granter: DomId,
    /// The reference.
    pub reference: u32,
    /// Mapped read-only.
    pub readonly: bool,
    /// Guest frame the mapping sits at (guest maps only).
    pub gfn: Option<u64>,
    /// The page.
    pub page: Page,
}

/// A maptrack table: handles are the lowest free index.
#[derive(Debug, Default)]
pub struct Maptrack {
    entries: Vec<Option<MapEntry>>,
}

impl Maptrack {
    /// Stores `entry`; returns its handle.
    pub fn insert(&mut self, entry: MapEntry) -> u32 {
        if let Some(i) = self.entries.iter().position(Option::is_none) {
            self.entries[i] = Some(entry);
            return i as u32;
        }
        self.entries.push(Some(entry));
        self.entries.len() as u32 - 1
    }

    /// The mapping behind `handle`.
    #[must_use]
    pub fn get(&self, handle: u32) -> Option<MapEntry> {
        self.entries.get(handle as usize).copied().flatten()
    }

    /// Removes `handle`.
    pub fn remove(&mut self, handle: u32) -> Option<MapEntry> {
        self.entries.get_mut(handle as usize).and_then(Option::take)
    }

    /// Live mappings.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Every live mapping with its handle.
    pub fn iter(&self) -> impl Iterator<Item = (u32, MapEntry)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (i as u32, e)))
    }
}
