// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Guest memory: guest frame numbers backed by page-aligned host pages.
//!
//! Every host page the simulator hands out stays allocated until the last [`crate::Sim`] clone
//! is dropped, so a pointer the guest kept to a frame it gave back is still valid memory (it
//! reads the poison written at release, not the new owner's data).

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::BTreeMap;
use std::ptr::NonNull;

/// Bytes in a page.
pub const PAGE_SIZE: usize = 4096;
/// Byte written over a RAM page the guest gives back (Xen reads unbacked frames as all-ones).
pub const RELEASED_POISON: u8 = 0xFF;

/// A host page (or run of pages) owned by the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page(NonNull<u8>);

// SAFETY: a `Page` is an address of memory the simulator owns for its whole life; all access
// to the memory goes through raw pointers and atomics, never through shared references.
unsafe impl Send for Page {}
// SAFETY: as above.
unsafe impl Sync for Page {}

impl Page {
    /// A page the simulator does not own (never freed by it).
    #[must_use]
    pub const fn external(ptr: NonNull<u8>) -> Self {
        Self(ptr)
    }

    /// The first byte of the page.
    #[must_use]
    pub const fn ptr(self) -> *mut u8 {
        self.0.as_ptr()
    }

    /// The page `index` pages after this one (within one allocation).
    #[must_use]
    pub const fn offset(self, index: usize) -> Self {
        // SAFETY: callers only step within the run allocated with this page.
        Self(unsafe { self.0.add(index * PAGE_SIZE) })
    }

    /// Fills the page with `byte`.
    pub const fn fill(self, byte: u8) {
        // SAFETY: the page is PAGE_SIZE bytes of simulator-owned memory.
        unsafe { self.ptr().write_bytes(byte, PAGE_SIZE) };
    }
}

/// Owner of every host page: frees them when dropped.
#[derive(Debug, Default)]
pub struct PagePool {
    runs: Vec<(Page, Layout)>,
}

impl PagePool {
    /// `count` zeroed, contiguous, page-aligned host pages.
    ///
    /// # Panics
    ///
    /// When the host is out of memory (this is a test tool).
    pub fn alloc(&mut self, count: usize) -> Page {
        let layout =
            Layout::from_size_align(PAGE_SIZE * count.max(1), PAGE_SIZE).expect("page run layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let page = Page(NonNull::new(raw).expect("host out of memory"));
        self.runs.push((page, layout));
        page
    }
}

impl Drop for PagePool {
    fn drop(&mut self) {
        for (page, layout) in self.runs.drain(..) {
            // SAFETY: allocated by `alloc` with exactly this layout, freed once.
            unsafe { dealloc(page.ptr(), layout) };
        }
    }
}

/// What Xen has placed at a guest frame instead of (or where there is no) RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    /// The domain's `shared_info` page.
    SharedInfo,
    /// Grant-table frame `n` of the domain's own table.
    GrantFrame(u32),
    /// A foreign grant mapped with `GNTTABOP_map_grant_ref` (its maptrack handle).
    GrantMap(u32),
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The RAM page that belongs to this frame (kept even while unpopulated).
    ram: Option<Page>,
    populated: bool,
    overlay: Option<(Overlay, Page)>,
}

/// The guest physical address space: GFN -> host page.
#[derive(Debug, Default)]
pub struct GuestMemory {
    /// Pages the domain still owns that no frame maps any more (moved by a self grant map).
    orphans: u64,
    pool: PagePool,
    slots: BTreeMap<u64, Slot>,
    next_gfn: u64,
}

/// The first frame [`GuestMemory::allocate`] hands out.
pub const FIRST_ALLOCATED_GFN: u64 = 0x1000;

impl GuestMemory {
    /// An empty address space.
    #[must_use]
    pub fn new() -> Self {
        Self {
            orphans: 0,
            pool: PagePool::default(),
            slots: BTreeMap::new(),
            next_gfn: FIRST_ALLOCATED_GFN,
        }
    }

    /// The pool, for pages Xen itself owns (shared info, grant frames, FIFO copies...).
    pub const fn pool(&mut self) -> &mut PagePool {
        &mut self.pool
    }

    /// Allocates `count` new, populated, contiguous RAM frames; returns the first frame and the
    /// host address of its page (the next pages follow it contiguously).
    pub fn allocate(&mut self, count: usize) -> (u64, *mut u8) {
        let run = self.pool.alloc(count);
        let first = self.next_gfn;
        for i in 0..count {
            self.slots.insert(
                first + i as u64,
                Slot {
                    ram: Some(run.offset(i)),
                    populated: true,
                    overlay: None,
                },
            );
        }
        self.next_gfn += count.max(1) as u64;
        (first, run.ptr())
    }

    /// Reserves `count` frame numbers with nothing behind them (a hole for Xen to map into).
    pub fn hole(&mut self, count: u64) -> u64 {
        let first = self.next_gfn;
        self.next_gfn += count.max(1);
        first
    }

    /// Backs RAM frame `gfn` with `page` from now on (populated); false if `gfn` has no RAM.
    pub fn replace_ram(&mut self, gfn: u64, page: Page) -> bool {
        match self.slots.get_mut(&gfn) {
            Some(slot) if slot.ram.is_some() => {
                slot.ram = Some(page);
                slot.populated = true;
                true
            }
            _ => false,
        }
    }

    /// The host page currently at `gfn` (an overlay, else populated RAM).
    #[must_use]
    pub fn page(&self, gfn: u64) -> Option<Page> {
        let slot = self.slots.get(&gfn)?;
        if let Some((_, page)) = slot.overlay {
            return Some(page);
        }
        slot.populated.then_some(slot.ram).flatten()
    }

    /// The host address of `gfn`'s page, if anything backs it.
    #[must_use]
    pub fn host_ptr(&self, gfn: u64) -> Option<*mut u8> {
        self.page(gfn).map(Page::ptr)
    }

    /// Whether `gfn` is backed by the domain's own RAM.
    #[must_use]
    pub fn is_populated(&self, gfn: u64) -> bool {
        self.slots
            .get(&gfn)
            .is_some_and(|s| s.populated && s.overlay.is_none())
    }

    /// What overlays `gfn`.
    #[must_use]
    pub fn overlay(&self, gfn: u64) -> Option<Overlay> {
        self.slots.get(&gfn).and_then(|s| s.overlay.map(|(o, _)| o))
    }

    /// The domain's current reservation: populated RAM frames, plus pages it owns that no
    /// frame maps any more.
    #[must_use]
    pub fn populated_count(&self) -> u64 {
        self.slots.values().filter(|s| s.populated).count() as u64 + self.orphans
    }

    /// Takes RAM frame `gfn`'s page out of the physmap (still owned, not poisoned): Xen's
    /// move of a frame mapped at a second place. False when no RAM backs `gfn`.
    pub fn move_out(&mut self, gfn: u64) -> bool {
        match self.slots.get_mut(&gfn) {
            Some(slot) if slot.populated && slot.overlay.is_none() => {
                slot.populated = false;
                self.orphans += 1;
                true
            }
            _ => false,
        }
    }

    /// Frames that had RAM and gave it back.
    #[must_use]
    pub fn unpopulated_count(&self) -> usize {
        self.slots
            .values()
            .filter(|s| s.ram.is_some() && !s.populated && s.overlay.is_none())
            .count()
    }

    /// `XENMEM_decrease_reservation` of one frame: false when no RAM backs it.
    pub fn release(&mut self, gfn: u64) -> bool {
        match self.slots.get_mut(&gfn) {
            Some(slot) if slot.populated && slot.overlay.is_none() => {
                slot.populated = false;
                if let Some(page) = slot.ram {
                    page.fill(RELEASED_POISON);
                }
                true
            }
            _ => false,
        }
    }

    /// `XENMEM_populate_physmap` of one frame, as Xen 4.17's `p2m_add_page` on a translated
    /// guest: a granted mapping at `gfn` refuses (false); RAM already there is replaced (the
    /// old page stays the domain's, unmapped), as is a Xen page mapped there.
    pub fn populate(&mut self, gfn: u64) -> bool {
        if matches!(self.overlay(gfn), Some(Overlay::GrantMap(_))) {
            return false;
        }
        let fresh = self.pool.alloc(1);
        let slot = self.slots.entry(gfn).or_insert(Slot {
            ram: None,
            populated: false,
            overlay: None,
        });
        if slot.populated && slot.overlay.is_none() {
            self.orphans += 1;
        }
        // A fresh page: a released one keeps its poison for stale pointers.
        slot.overlay = None;
        slot.ram = Some(fresh);
        slot.populated = true;
        true
    }

    /// Places `page` at `gfn` as `overlay`; RAM at `gfn` is released to Xen (as Xen frees the
    /// page an `add_to_physmap` replaces). Returns the overlay it replaced.
    pub fn set_overlay(&mut self, gfn: u64, overlay: Overlay, page: Page) -> Option<Overlay> {
        let slot = self.slots.entry(gfn).or_insert(Slot {
            ram: None,
            populated: false,
            overlay: None,
        });
        if slot.populated {
            slot.populated = false;
        }
        slot.overlay
            .replace((overlay, page))
            .map(|(previous, _)| previous)
    }

    /// Removes whatever overlay is at `gfn`.
    pub fn clear_overlay(&mut self, gfn: u64) -> Option<Overlay> {
        self.slots
            .get_mut(&gfn)
            .and_then(|s| s.overlay.take().map(|(o, _)| o))
    }

    /// Removes every overlay of the given kind (e.g. at suspend).
    pub fn clear_overlays(&mut self, keep: impl Fn(Overlay) -> bool) {
        for slot in self.slots.values_mut() {
            if slot.overlay.is_some_and(|(o, _)| !keep(o)) {
                slot.overlay = None;
            }
        }
    }

    /// The frame an overlay sits at.
    #[must_use]
    pub fn find_overlay(&self, overlay: Overlay) -> Option<u64> {
        self.slots
            .iter()
            .find(|(_, s)| s.overlay.is_some_and(|(o, _)| o == overlay))
            .map(|(gfn, _)| *gfn)
    }
}
