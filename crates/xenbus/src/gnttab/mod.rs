// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `GNTTAB`: granting our pages to other domains, and mapping theirs.
//!
//! Upstream `gnttab.c`. The object behind `XENBUS_GNTTAB` v2–v4.
//!
//! # The table
//! Version 1 entries (`grant_entry_v1_t`: flags, domid, frame; 8 bytes, 512 per frame); the
//! version is never changed. The maximum frame count comes from `GNTTABOP_query_size` at the
//! first Acquire. Frames are added lazily: each comes from a [`Hole`] page and is placed there
//! with `XENMEM_add_to_physmap(XENMAPSPACE_grant_table, index)`, then mapped with the platform's
//! `map_physical` (the pointer every access goes through; refreshed after a resume). Frame 0 is
//! added by the first Acquire. Frame `i` contributes references `max(32, 512 i) ..= 512 i + 511`
//! to the range set "gnttab"; references 0..31 are never handed out (Xen reserves 0..7 — 0 is
//! the console, 1 xenstore — and the rest are kept for a crash kernel), but
//! [`Gnttab::query_reference`] reads any of them.
//!
//! # References through a CACHE
//! A [`GnttabCache`] is a [`Cache`] of 16-byte entry objects (`'DTNG'` magic, reference, a
//! shadow entry) named `<name>_gnttab`. Its constructor pops a reference (adding a frame when
//! the set is empty, until the maximum: then `STATUS_INSUFFICIENT_RESOURCES`); its destructor
//! puts the reference back. So a reference stays bound to its object across Permit/Revoke and
//! returns to the table only when the cache trims a slab.
//!
//! # Shared memory
//! The table frames are shared with Xen and with every domain holding a grant: they are only
//! ever touched through checked `shared_mem` words (atomics over the entry fields), never through
//! references to plain data. Permit writes domid and frame, then the flags with
//! `GTF_permit_access` in one release store. Revoke compare-exchanges the flags from "current
//! without `GTF_reading`/`GTF_writing`" to 0 up to 100 times, yielding to Xen between attempts;
//! a peer still mapping the grant keeps a reading/writing bit set, so the exchange fails and
//! Revoke returns `STATUS_UNSUCCESSFUL` with the entry still granted. The ordering argument for
//! each access is written next to it (`entry.rs`).
//!
//! # The frame table
//! Permit, Revoke and Query reach the frames without a lock, as upstream does: a fixed array of
//! mapping pointers ([`FRAME_SLOTS`]) and a published frame count, both atomics. Expand maps a
//! frame and stores its pointer before it publishes the count (release), and hands out the
//! frame's references only after that, so a reader that holds a reference finds its frame.
//! Readers run at `DISPATCH_LEVEL` from the load of the pointer to their last access. When a
//! resume makes the platform remap the frames (the simulator; on Windows the mappings stay
//! valid), the previous mapping is retired and only unmapped at the next resume: a reader that
//! loaded it finishes before its processor can be captured for that next suspend. Expand,
//! Contract, the remap and the suspend callbacks keep the frames' pages under a lock of their
//! own, which readers never take.
//!
//! # Decisions
//! * A frame number above 32 bits (v1 entries hold 32) is refused with
//!   `STATUS_INVALID_PARAMETER` instead of upstream's silent truncation.
//! * Revoke takes the [`GrantEntry`] by value and gives it back on failure, so a failed revoke
//!   cannot lose the entry. An entry from another gnttab cache is refused.
//! * Release with gnttab caches alive is upstream's BUG "OUTSTANDING CACHES": logged as
//!   critical, and the last reference is kept with everything in place.
//! * A failed foreign unmap is upstream's `BUG_ON`: here it is logged as critical, the mapping
//!   stays recorded with the pages not yet unmapped, and the error is returned (a later Unmap
//!   resumes); the hole is freed only once every page is unmapped.
//! * A foreign mapping does not outlive the domain that made it: a suspend resumes in a new
//!   domain whose maptrack is empty, so the handles made before it are dead (and their numbers
//!   may be reused). Each handle records the suspend generation it was made in (advanced by
//!   the EARLY callback). Unmap still asks Xen to unmap an old handle (the map may have run just
//!   after the suspend), but a failure then means it died with the old domain: the page counts
//!   as unmapped, so the hole is freed and nothing leaks. Upstream's Unmap `BUG_ON`s there; a
//!   Map a suspend interrupted between two pages returns success as upstream's does (every page
//!   was mapped in the domain it ran in), the pages mapped before the suspend no longer backed.
//! * Debug dump (A14): upstream's format `"[%u] Address = %08x.%08x"` omits the index argument;
//!   here the index is printed.

mod entry;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use ntstatus::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER,
    STATUS_NO_MEMORY, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_UNSUCCESSFUL,
};
use platform_port::{
    IrqlLevel, IrqlLock, PAGE_SHIFT, PAGE_SIZE, Pages, Platform, RaisedIrql, plog,
};
use xen_headers::memory::XENMAPSPACE_GRANT_TABLE;
use xen_services::{DomId, XenServices};

use crate::cache::{self, Cache, CacheCallbacks, CacheContext, CacheError, LockFn};
use crate::hole::{Hole, HoleError};
use crate::range_set::RangeSet;

use entry::LiveEntry;
pub use entry::{ENTRY_MAGIC, EntryObject, GrantEntry};

/// Entries per table frame (v1: 8 bytes each).
pub const ENTRIES_PER_FRAME: u32 = 512;
/// References never handed out.
pub const RESERVED_ENTRIES: u32 = 32;
/// `XENBUS_GNTTAB_CONSOLE_REFERENCE`.
pub const CONSOLE_REFERENCE: u32 = 0;
/// `XENBUS_GNTTAB_STORE_REFERENCE`.
pub const STORE_REFERENCE: u32 = 1;
/// Compare-exchange attempts of a Revoke.
pub const REVOKE_ATTEMPTS: u32 = 100;

/// Why a grant-table operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GnttabError {
    /// No reference could be had (table at its maximum size, cache at its cap...).
    Insufficient,
    /// A reference beyond the table, a frame above 32 bits, an entry of another cache, no
    /// pages to map.
    InvalidParameter,
    /// The cache name (with `_gnttab`) is longer than 127 bytes.
    NameTooLong,
    /// Bookkeeping could not be allocated.
    NoMemory,
    /// Revoke: the grant is still mapped.
    StillMapped,
    /// Unmap: no foreign mapping at that address.
    NotMapped,
    /// The xen.sys service failed with this status.
    Xen(NtStatus),
    /// The hole allocator failed.
    Hole(HoleError),
    /// The object cache failed.
    Cache(CacheError),
}

impl GnttabError {
    /// The NTSTATUS upstream returns.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::Insufficient => STATUS_INSUFFICIENT_RESOURCES,
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
            Self::NameTooLong => STATUS_BUFFER_OVERFLOW,
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::StillMapped => STATUS_UNSUCCESSFUL,
            Self::NotMapped => STATUS_OBJECT_NAME_NOT_FOUND,
            Self::Xen(status) => status,
            Self::Hole(e) => e.status(),
            Self::Cache(e) => e.status(),
        }
    }
}

impl fmt::Display for GnttabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Insufficient => f.write_str("no grant reference available"),
            Self::InvalidParameter => f.write_str("invalid parameter"),
            Self::NameTooLong => f.write_str("name too long"),
            Self::NoMemory => f.write_str("out of memory"),
            Self::StillMapped => f.write_str("grant still mapped by the peer"),
            Self::NotMapped => f.write_str("no foreign mapping there"),
            Self::Xen(s) => write!(f, "xen call failed ({s:08x})"),
            Self::Hole(e) => write!(f, "hole: {e}"),
            Self::Cache(e) => write!(f, "cache: {e}"),
        }
    }
}

/// Frames the table can hold: Xen 4.17's default maximum is 64 (`gnttab_max_frames`); a larger
/// maximum is used up to this many frames (524,288 references).
pub const FRAME_SLOTS: usize = 1024;

/// One table frame's bookkeeping (under the frames lock).
struct Frame {
    /// The hole page the frame sits at.
    pages: Pages,
}

/// One table frame as Permit, Revoke and Query reach it, without a lock.
struct LiveFrame {
    /// Where the frame is mapped (made by `expand`, kept across suspends, remade at
    /// `DISPATCH_LEVEL` after a resume where the platform needs it: see
    /// [`Gnttab::suspend_late`]); null while the frame is not in the table.
    entries: AtomicPtr<u8>,
    /// The mapping the last remap replaced: unmapped at the next remap or at Contract, once no
    /// reader can still hold it.
    retired: AtomicPtr<u8>,
}

/// A foreign mapping made by Map: the hole and one handle per page still mapped.
struct ForeignMap {
    address: u64,
    pages: Pages,
    handles: Vec<Option<MapHandle>>,
}

/// One page's `GNTTABOP_map_grant_ref` handle.
#[derive(Clone, Copy)]
struct MapHandle {
    handle: u32,
    /// The suspend generation read before the map (a handle of an older one may be dead).
    generation: u32,
}

struct State<P: Platform> {
    references: u32,
    caches: Vec<Arc<GnttabCache<P>>>,
}

struct Inner<P: Platform, S: XenServices> {
    platform: P,
    xen: Arc<S>,
    hole: Hole<P, S>,
    cache: Arc<CacheContext<P>>,
    max_frames: AtomicU32,
    /// The frames' pages, for Expand, Contract, the remap, the suspend callbacks and the dump.
    frames: spin::RwLock<Vec<Frame>>,
    /// The frames' mappings, [`FRAME_SLOTS`] of them, for readers.
    live: Box<[LiveFrame]>,
    /// How many of `live` are in the table (published with release after their mapping).
    published: AtomicUsize,
    /// Set by the EARLY suspend callback once the frames are back in the physmap: the mappings
    /// are refreshed at the next frame-table access at `DISPATCH_LEVEL` or below.
    remap: AtomicBool,
    /// Suspends seen (advanced lock-free by the EARLY callback): dates foreign map handles.
    generation: AtomicU32,
    refs: IrqlLock<P, RangeSet>,
    state: IrqlLock<P, State<P>>,
    maps: IrqlLock<P, Vec<ForeignMap>>,
}

/// A cache of grant entries (upstream's `XENBUS_GNTTAB_CACHE`).
pub struct GnttabCache<P: Platform> {
    cache: Arc<Cache<P>>,
}

impl<P: Platform> fmt::Debug for GnttabCache<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GnttabCache")
            .field("name", &self.cache.name())
            .finish_non_exhaustive()
    }
}

impl<P: Platform> GnttabCache<P> {
    /// The underlying object cache (`<name>_gnttab`).
    #[must_use]
    pub const fn cache(&self) -> &Arc<Cache<P>> {
        &self.cache
    }

    fn id(&self) -> usize {
        Arc::as_ptr(&self.cache).addr()
    }

    /// Rebuilds an entry of this cache from the C interface's opaque pointer
    /// ([`GrantEntry::as_raw`]).
    ///
    /// # Safety
    /// `object` is the raw form of an entry Permit returned from this cache that has not been
    /// revoked, and no other `GrantEntry` for it exists.
    #[must_use]
    pub unsafe fn entry_from_raw(&self, object: NonNull<u8>) -> Option<GrantEntry> {
        // SAFETY: the caller's guarantee.
        unsafe { GrantEntry::from_raw(object, self.id()) }
    }
}

/// The grant-table subsystem.
pub struct Gnttab<P: Platform, S: XenServices> {
    inner: Arc<Inner<P, S>>,
}

impl<P: Platform, S: XenServices> fmt::Debug for Gnttab<P, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gnttab").finish_non_exhaustive()
    }
}

/// The references frame `index` contributes: `(first, count)`.
fn frame_range(index: usize) -> Option<(i64, u64)> {
    let per = u64::from(ENTRIES_PER_FRAME);
    let first = u64::try_from(index).ok()?.checked_mul(per)?;
    let end = first.checked_add(per)?;
    let start = first.max(u64::from(RESERVED_ENTRIES));
    Some((i64::try_from(start).ok()?, end.checked_sub(start)?))
}

impl<P: Platform, S: XenServices> Inner<P, S> {
    /// Runs `f` at `DISPATCH_LEVEL` (or the caller's level, if higher) with the frames'
    /// bookkeeping read-locked, after refreshing the mappings a resume left stale.
    fn with_frames<R>(&self, f: impl FnOnce(&[Frame]) -> R) -> R {
        let _dispatch = self.at_least_dispatch();
        self.refresh_mappings();
        f(&self.frames.read())
    }

    /// Raises to `DISPATCH_LEVEL` if the caller runs below it, until dropped. (`KeRaiseIrql`
    /// to a lower level is a bug check: a caller at or above `DISPATCH_LEVEL` stays where it
    /// is.)
    fn at_least_dispatch(&self) -> RaisedIrql<'_, P> {
        RaisedIrql::at_least(&self.platform, IrqlLevel::DISPATCH)
    }

    /// After a resume, maps every frame again (the page Xen placed at the frame by the EARLY
    /// callback is reached through a fresh `map_physical`), retires the previous mapping when it
    /// differs and unmaps the one retired at the resume before. Runs only at `DISPATCH_LEVEL`
    /// (`MmMapIoSpace` is not callable above it) and only once per resume.
    fn refresh_mappings(&self) {
        if !self.remap.load(Ordering::Acquire)
            || self.platform.current_irql() != IrqlLevel::DISPATCH
        {
            return;
        }
        let frames = self.frames.write();
        if !self.remap.swap(false, Ordering::AcqRel) {
            return;
        }
        for (index, frame) in frames.iter().enumerate() {
            let Some(live) = self.live.get(index) else {
                break;
            };
            // SAFETY: the frame is at `pfn` (put back by the EARLY callback) until `contract`.
            match unsafe { self.platform.map_physical(frame.pages.pfn, 1) } {
                Ok(fresh) => {
                    let old = live.entries.swap(fresh.as_ptr(), Ordering::AcqRel);
                    if old == fresh.as_ptr() {
                        continue;
                    }
                    // The replaced mapping may still be in a reader's hands (readers take no
                    // lock): keep it until the next remap, which comes after a suspend that
                    // captured every processor below `DISPATCH_LEVEL`, where no reader is.
                    let expired = live.retired.swap(old, Ordering::AcqRel);
                    if let Some(expired) = NonNull::new(expired)
                        && expired != fresh
                    {
                        // SAFETY: retired one resume ago from `map_physical`; no reader can
                        // hold it (see above).
                        unsafe { self.platform.unmap_physical(expired, 1) };
                    }
                }
                Err(error) => plog!(
                    self.platform,
                    Critical,
                    "GNTTAB: cannot map frame {} after resume ({})",
                    index,
                    error
                ),
            }
        }
    }

    /// Runs `f` on the live entry of `reference`, if the table covers it.
    fn with_entry<R>(&self, reference: u32, f: impl FnOnce(&LiveEntry<'_>) -> R) -> Option<R> {
        // At `DISPATCH_LEVEL` from the load of the mapping to the last access: no capture for a
        // suspend (and so no second remap, which would unmap what we hold) comes in between.
        let _dispatch = self.at_least_dispatch();
        self.refresh_mappings();
        let index = usize::try_from(reference / ENTRIES_PER_FRAME).ok()?;
        // Acquire: pairs with Expand's release, so the frame's mapping below is stored.
        if index >= self.published.load(Ordering::Acquire) {
            return None;
        }
        let base = NonNull::new(self.live.get(index)?.entries.load(Ordering::Acquire))?;
        // SAFETY: `base` maps a whole table frame: published frames stay mapped until Contract
        // (which runs when no child holds an entry), and a mapping a remap replaced stays
        // mapped until the next resume (see `refresh_mappings`); we stay at DISPATCH_LEVEL
        // meanwhile. `reference % 512` is an entry of that frame.
        let live = unsafe { LiveEntry::new(base, reference % ENTRIES_PER_FRAME) };
        Some(f(&live))
    }

    /// Adds the next frame (upstream's `GnttabExpand`).
    fn expand(&self) -> Result<(), GnttabError> {
        let dispatch = self.at_least_dispatch();
        self.refresh_mappings();
        let result = self.expand_locked(&mut self.frames.write());
        drop(dispatch);
        if let Err(e) = result {
            plog!(self.platform, Error, "GNTTAB: expand failed: {}", e);
        }
        result
    }

    fn expand_locked(&self, frames: &mut Vec<Frame>) -> Result<(), GnttabError> {
        let index = frames.len();
        let max = usize::try_from(self.max_frames.load(Ordering::Acquire)).unwrap_or(0);
        let Some(live) = self.live.get(index).filter(|_| index < max) else {
            return Err(GnttabError::Insufficient);
        };
        if frames.len() == frames.capacity() {
            return Err(GnttabError::NoMemory);
        }
        let (start, count) = frame_range(index).ok_or(GnttabError::InvalidParameter)?;
        let pages = self.hole.allocate(1).map_err(GnttabError::Hole)?;
        let pfn = pages.pfn;
        // SAFETY: the hole page at `pfn` is ours and unbacked; Xen places the frame there.
        let added = unsafe {
            self.xen
                .memory_add_to_physmap(pfn, XENMAPSPACE_GRANT_TABLE, index as u64)
        };
        if let Err(status) = added {
            self.free_hole(pages);
            return Err(GnttabError::Xen(status));
        }
        // SAFETY: the frame stays at `pfn` until `contract` removes it, after unmapping.
        let mapped = unsafe { self.platform.map_physical(pfn, 1) };
        let Ok(entries) = mapped else {
            self.remove_frame(pfn, pages);
            return Err(GnttabError::NoMemory);
        };
        // Published before its references are handed out: whoever holds one finds the frame.
        live.entries.store(entries.as_ptr(), Ordering::Release);
        frames.push(Frame { pages });
        // Release: pairs with the readers' acquire of the count (the mapping is stored).
        self.published.store(frames.len(), Ordering::Release);
        if let Err(e) = self.refs.lock().put(start, count) {
            // The frame stays in the table (a reader may already see it); its references are
            // lost until Contract, which reports them.
            plog!(self.platform, Error, "GNTTAB: range set put failed: {}", e);
            return Err(GnttabError::NoMemory);
        }
        let address = pfn << PAGE_SHIFT;
        plog!(
            self.platform,
            Info,
            "GNTTAB: MAP XENMAPSPACE_grant_table[{}] @ {:08x}.{:08x}",
            index,
            address >> 32,
            address & 0xFFFF_FFFF
        );
        plog!(
            self.platform,
            Info,
            "GNTTAB: added references [{:08x} - {:08x}]",
            start,
            start.saturating_add_unsigned(count).saturating_sub(1)
        );
        Ok(())
    }

    /// Takes frame `pfn` out of the physmap and frees its hole.
    fn remove_frame(&self, pfn: u64, pages: Pages) {
        // SAFETY: the frame at `pfn` is ours and its mapping is gone.
        if let Err(status) = unsafe { self.xen.memory_remove_from_physmap(pfn) } {
            plog!(
                self.platform,
                Error,
                "GNTTAB: remove_from_physmap {:#x} failed ({:08x})",
                pfn,
                status
            );
        }
        self.free_hole(pages);
    }

    fn free_hole(&self, pages: Pages) {
        // SAFETY: the pages came from this hole and Xen's frame was removed from them.
        // A failure is logged by the hole and leaves the pages leaked.
        let _ = unsafe { self.hole.free(pages) };
    }

    /// Removes every frame (upstream's `GnttabContract`).
    fn contract(&self) {
        let _dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        let mut frames = self.frames.write();
        // Readers stop finding frames first (Contract runs when no child holds an entry).
        self.published.store(0, Ordering::Release);
        while let Some(frame) = frames.pop() {
            let index = frames.len();
            if let Some((start, count)) = frame_range(index)
                && let Err(e) = self.refs.lock().get(start, count)
            {
                plog!(
                    self.platform,
                    Error,
                    "GNTTAB: frame {} references still out: {}",
                    index,
                    e
                );
            }
            if let Some(live) = self.live.get(index) {
                let entries = live.entries.swap(core::ptr::null_mut(), Ordering::AcqRel);
                let retired = live.retired.swap(core::ptr::null_mut(), Ordering::AcqRel);
                for mapping in [entries, retired].into_iter().filter_map(NonNull::new) {
                    // SAFETY: the mapping came from `map_physical`; the frame is unpublished
                    // and no child holds an entry, so nobody reaches it any more.
                    unsafe { self.platform.unmap_physical(mapping, 1) };
                }
            }
            self.remove_frame(frame.pages.pfn, frame.pages);
            plog!(
                self.platform,
                Info,
                "GNTTAB: UNMAP XENMAPSPACE_grant_table[{}]",
                index
            );
        }
        drop(frames);
    }

    /// Pops a free reference, adding frames while the set is empty.
    fn pop_reference(&self) -> Result<u32, GnttabError> {
        loop {
            let popped = self.refs.lock().pop(1);
            if let Ok(reference) = popped {
                return u32::try_from(reference).map_err(|_| GnttabError::InvalidParameter);
            }
            self.expand()?;
        }
    }

    fn push_reference(&self, reference: u32) {
        if let Err(e) = self.refs.lock().put(i64::from(reference), 1) {
            plog!(
                self.platform,
                Error,
                "GNTTAB: reference {:#x} not returned: {}",
                reference,
                e
            );
        }
    }
}

impl<P: Platform, S: XenServices + 'static> Gnttab<P, S> {
    /// The subsystem over `platform`, `xen` and the CACHE context `cache` (upstream's
    /// `GnttabInitialize`).
    ///
    /// # Errors
    /// [`GnttabError::NoMemory`] when the range set cannot be made.
    pub fn new(platform: P, xen: Arc<S>, cache: Arc<CacheContext<P>>) -> Result<Self, GnttabError> {
        let refs = RangeSet::new(b"gnttab").map_err(|_| GnttabError::NoMemory)?;
        Ok(Self {
            inner: Arc::new(Inner {
                hole: Hole::new(platform.clone(), Arc::clone(&xen)),
                xen,
                cache,
                max_frames: AtomicU32::new(0),
                frames: spin::RwLock::new(Vec::new()),
                live: (0..FRAME_SLOTS)
                    .map(|_| LiveFrame {
                        entries: AtomicPtr::new(core::ptr::null_mut()),
                        retired: AtomicPtr::new(core::ptr::null_mut()),
                    })
                    .collect(),
                published: AtomicUsize::new(0),
                remap: AtomicBool::new(false),
                generation: AtomicU32::new(0),
                refs: IrqlLock::dispatch(platform.clone(), refs),
                state: IrqlLock::dispatch(
                    platform.clone(),
                    State {
                        references: 0,
                        caches: Vec::new(),
                    },
                ),
                maps: IrqlLock::dispatch(platform.clone(), Vec::new()),
                platform,
            }),
        })
    }

    /// `GnttabAcquire`: the first reference queries the maximum size, acquires CACHE and adds
    /// frame 0.
    ///
    /// # Errors
    /// The failing step's; everything done before it is undone.
    pub fn acquire(&self) -> Result<(), GnttabError> {
        let inner = &*self.inner;
        let mut state = inner.state.lock();
        if state.references > 0 {
            state.references = state.references.saturating_add(1);
            return Ok(());
        }
        let result = self.setup();
        match result {
            Ok(()) => state.references = 1,
            Err(e) => plog!(inner.platform, Error, "GNTTAB: acquire failed: {}", e),
        }
        result
    }

    fn setup(&self) -> Result<(), GnttabError> {
        let inner = &*self.inner;
        let (_, max) = inner.xen.gnttab_query_size().map_err(GnttabError::Xen)?;
        plog!(inner.platform, Info, "GNTTAB: MAX FRAMES = {}", max);
        let slots = u32::try_from(FRAME_SLOTS).unwrap_or(u32::MAX);
        if max > slots {
            plog!(
                inner.platform,
                Warning,
                "GNTTAB: using {} of the {} frames Xen allows",
                slots,
                max
            );
        }
        let max = max.min(slots);
        {
            let dispatch = RaisedIrql::to(&inner.platform, IrqlLevel::DISPATCH);
            let mut frames = inner.frames.write();
            let reserved = usize::try_from(max)
                .ok()
                .and_then(|max| frames.try_reserve_exact(max).ok());
            drop(frames);
            drop(dispatch);
            reserved.ok_or(GnttabError::NoMemory)?;
        }
        inner.max_frames.store(max, Ordering::Release);
        inner.cache.acquire().map_err(GnttabError::Cache)?;
        if let Err(e) = inner.expand() {
            inner.cache.release();
            inner.max_frames.store(0, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    /// `GnttabRelease`: the last reference removes every frame. With gnttab caches still
    /// alive it logs upstream's BUG "OUTSTANDING CACHES" and keeps the reference.
    pub fn release(&self) {
        let inner = &*self.inner;
        let mut state = inner.state.lock();
        match state.references {
            0 => {}
            1 if !state.caches.is_empty() => {
                plog!(
                    inner.platform,
                    Critical,
                    "GNTTAB: OUTSTANDING CACHES ({})",
                    state.caches.len()
                );
            }
            1 => {
                inner.contract();
                inner.cache.release();
                inner.max_frames.store(0, Ordering::Release);
                state.references = 0;
            }
            _ => state.references = state.references.saturating_sub(1),
        }
    }

    /// The reference count.
    #[must_use]
    pub fn references(&self) -> u32 {
        self.inner.state.lock().references
    }

    /// Frames in the table now.
    #[must_use]
    pub fn frame_count(&self) -> usize {
        self.inner.published.load(Ordering::Acquire)
    }

    /// The maximum frame count Xen reported.
    #[must_use]
    pub fn max_frames(&self) -> u32 {
        self.inner.max_frames.load(Ordering::Acquire)
    }

    /// `GnttabCreateCache` (v4; v2/v3 pass `cap` 0): a cache of grant entries named
    /// `<name>_gnttab` whose objects own references; the lock callbacks are the client's.
    ///
    /// # Errors
    /// [`GnttabError::NameTooLong`], or the cache's failure ([`GnttabError::Cache`]) — e.g. a
    /// reservation that cannot be met.
    pub fn create_cache(
        &self,
        name: &str,
        reservation: u32,
        cap: u32,
        acquire_lock: LockFn,
        release_lock: LockFn,
    ) -> Result<Arc<GnttabCache<P>>, GnttabError> {
        const SUFFIX: &str = "_gnttab";
        let inner = &*self.inner;
        if name.len().saturating_add(SUFFIX.len()) > cache::MAX_NAME_LEN {
            return Err(GnttabError::NameTooLong);
        }
        let mut full = String::new();
        full.try_reserve_exact(name.len().saturating_add(SUFFIX.len()))
            .map_err(|_| GnttabError::NoMemory)?;
        full.push_str(name);
        full.push_str(SUFFIX);
        let (ctor_owner, dtor_owner) = (Arc::downgrade(&self.inner), Arc::downgrade(&self.inner));
        let callbacks = CacheCallbacks {
            ctor: Arc::new(move |object| entry_ctor(&ctor_owner, object)),
            dtor: Arc::new(move |object| entry_dtor(&dtor_owner, object)),
            acquire_lock,
            release_lock,
        };
        let size = u32::try_from(core::mem::size_of::<EntryObject>())
            .map_err(|_| GnttabError::InvalidParameter)?;
        let object_cache = inner
            .cache
            .create(&full, size, reservation, cap, callbacks)
            .map_err(GnttabError::Cache)?;
        let created = Arc::new(GnttabCache {
            cache: object_cache,
        });
        let mut state = inner.state.lock();
        if state.caches.try_reserve(1).is_err() {
            drop(state);
            let _ = inner.cache.destroy(&created.cache);
            return Err(GnttabError::NoMemory);
        }
        state.caches.push(Arc::clone(&created));
        Ok(created)
    }

    /// `GnttabDestroyCache`.
    ///
    /// # Errors
    /// [`GnttabError::Cache`] with [`CacheError::Outstanding`] while entries are still
    /// permitted (the cache stays usable); [`GnttabError::InvalidParameter`] for a cache
    /// this subsystem does not hold.
    pub fn destroy_cache(&self, cache: &Arc<GnttabCache<P>>) -> Result<(), GnttabError> {
        let inner = &*self.inner;
        let position = {
            let mut state = inner.state.lock();
            let position = state
                .caches
                .iter()
                .position(|c| Arc::ptr_eq(c, cache))
                .ok_or(GnttabError::InvalidParameter)?;
            state.caches.remove(position);
            position
        };
        if let Err(e) = inner.cache.destroy(&cache.cache) {
            let mut state = inner.state.lock();
            let at = position.min(state.caches.len());
            // The slot just freed is still reserved: this cannot allocate.
            state.caches.insert(at, Arc::clone(cache));
            return Err(GnttabError::Cache(e));
        }
        Ok(())
    }

    /// `GnttabPermitForeignAccess`: lets `domain` map frame `pfn` (read-only if asked).
    ///
    /// # Errors
    /// [`GnttabError::Insufficient`] when the cache yields no entry (table full, cap reached);
    /// [`GnttabError::InvalidParameter`] for a frame number above 32 bits.
    pub fn permit_foreign_access(
        &self,
        cache: &GnttabCache<P>,
        locked: bool,
        domain: DomId,
        pfn: u64,
        read_only: bool,
    ) -> Result<GrantEntry, GnttabError> {
        let inner = &*self.inner;
        let frame = u32::try_from(pfn).map_err(|_| GnttabError::InvalidParameter)?;
        // One raise for the cache and the entry (both need `DISPATCH_LEVEL`; upstream's cache
        // raises for itself and the entry write needs none).
        let _dispatch = RaisedIrql::to(&inner.platform, IrqlLevel::DISPATCH);
        let object = cache.cache.get(locked).ok_or(GnttabError::Insufficient)?;
        // SAFETY: the object is a constructed entry object of this cache, ours until put back.
        let entry = unsafe { GrantEntry::from_object(object, cache.id()) };
        let Some(entry) = entry else {
            // SAFETY: from this cache's `get`, returned once.
            unsafe { cache.cache.put(object, locked) };
            return Err(GnttabError::InvalidParameter);
        };
        let flags = if read_only {
            xen_headers::grant_table::GTF_READONLY
        } else {
            0
        };
        // SAFETY: as above.
        unsafe { entry.set_shadow(flags, domain, frame) };
        let written = inner.with_entry(entry.reference(), |live| {
            live.permit(flags, domain, frame);
        });
        if written.is_none() {
            // SAFETY: as above.
            unsafe { entry.set_shadow(0, 0, 0) };
            // SAFETY: from this cache's `get`, returned once.
            unsafe { cache.cache.put(object, locked) };
            return Err(GnttabError::InvalidParameter);
        }
        Ok(entry)
    }

    /// `GnttabRevokeForeignAccess`: ends the grant and returns the entry to `cache`.
    ///
    /// # Errors
    /// [`GnttabError::StillMapped`] (`STATUS_UNSUCCESSFUL`) when the peer still maps the grant
    /// after 100 attempts, [`GnttabError::InvalidParameter`] for an entry of another cache;
    /// the entry comes back, still granted.
    pub fn revoke_foreign_access(
        &self,
        cache: &GnttabCache<P>,
        locked: bool,
        entry: GrantEntry,
    ) -> Result<(), (GnttabError, GrantEntry)> {
        let inner = &*self.inner;
        if entry.cache_id() != cache.id() {
            return Err((GnttabError::InvalidParameter, entry));
        }
        // One raise for the entry and the cache, as in Permit.
        let _dispatch = RaisedIrql::to(&inner.platform, IrqlLevel::DISPATCH);
        let revoked = inner.with_entry(entry.reference(), |live| {
            for _ in 0..REVOKE_ATTEMPTS {
                if live.try_revoke() {
                    return true;
                }
                inner.xen.sched_yield();
            }
            false
        });
        match revoked {
            Some(true) => {}
            Some(false) => {
                plog!(
                    inner.platform,
                    Error,
                    "GNTTAB: reference {:#x} still mapped: not revoked",
                    entry.reference()
                );
                return Err((GnttabError::StillMapped, entry));
            }
            None => return Err((GnttabError::InvalidParameter, entry)),
        }
        // SAFETY: the entry object is ours (it came from this cache and was not put back).
        unsafe { entry.set_shadow(0, 0, 0) };
        // SAFETY: the object came from this cache's `get` and is returned exactly once (the
        // entry is consumed).
        unsafe { cache.cache.put(entry.into_object(), locked) };
        Ok(())
    }

    /// `GnttabGetReference`.
    #[must_use]
    pub const fn get_reference(&self, entry: &GrantEntry) -> u32 {
        entry.reference()
    }

    /// `GnttabQueryReference` (v3+): the frame and read-only flag in live entry `reference`
    /// (any reference the table covers, reserved ones included).
    ///
    /// # Errors
    /// [`GnttabError::InvalidParameter`] beyond the table.
    pub fn query_reference(&self, reference: u32) -> Result<(u64, bool), GnttabError> {
        #[expect(
            clippy::redundant_closure_for_method_calls,
            reason = "the method path does not infer the entry's lifetime"
        )]
        self.inner
            .with_entry(reference, |live| live.read())
            .ok_or(GnttabError::InvalidParameter)
    }

    /// `GnttabMapForeignPages`: maps `references` of `domain` at consecutive guest-physical
    /// pages of a new hole; returns the address of the first.
    ///
    /// # Errors
    /// [`GnttabError::InvalidParameter`] for no references, [`GnttabError::Hole`],
    /// [`GnttabError::NoMemory`], or the map failure ([`GnttabError::Xen`]); every page mapped
    /// before the failure is unmapped and the hole freed.
    pub fn map_foreign_pages(
        &self,
        domain: DomId,
        references: &[u32],
        read_only: bool,
    ) -> Result<u64, GnttabError> {
        let inner = &*self.inner;
        if references.is_empty() {
            return Err(GnttabError::InvalidParameter);
        }
        let pages = inner
            .hole
            .allocate(references.len())
            .map_err(GnttabError::Hole)?;
        let address = pages.pfn << PAGE_SHIFT;
        let mut handles: Vec<Option<MapHandle>> = Vec::new();
        if handles.try_reserve_exact(references.len()).is_err() {
            inner.free_hole(pages);
            return Err(GnttabError::NoMemory);
        }
        let mut page_address = address;
        for &reference in references {
            let generation = inner.generation.load(Ordering::Acquire);
            // SAFETY: the hole page at `page_address` is ours and unbacked; nothing uses it.
            let mapped = unsafe {
                inner
                    .xen
                    .gnttab_map_foreign_page(domain, reference, page_address, read_only)
            };
            match mapped {
                Ok(handle) => handles.push(Some(MapHandle { handle, generation })),
                Err(status) => {
                    plog!(
                        inner.platform,
                        Error,
                        "GNTTAB: map of {}:{:#x} failed ({:08x})",
                        domain,
                        reference,
                        status
                    );
                    self.unmap_all(address, &mut handles);
                    inner.free_hole(pages);
                    return Err(GnttabError::Xen(status));
                }
            }
            page_address = page_address.saturating_add(PAGE_SIZE as u64);
        }
        let mut maps = inner.maps.lock();
        if maps.try_reserve(1).is_err() {
            drop(maps);
            self.unmap_all(address, &mut handles);
            inner.free_hole(pages);
            return Err(GnttabError::NoMemory);
        }
        maps.push(ForeignMap {
            address,
            pages,
            handles,
        });
        Ok(address)
    }

    /// Unmaps every page still mapped; returns the first failure (the rest are still tried).
    /// A handle made before the last suspend whose unmap fails died with the old domain.
    fn unmap_all(&self, address: u64, handles: &mut [Option<MapHandle>]) -> Option<NtStatus> {
        let mut failure = None;
        let mut page_address = address;
        let current = self.inner.generation.load(Ordering::Acquire);
        for slot in handles.iter_mut() {
            if let Some(MapHandle { handle, generation }) = *slot {
                // SAFETY: nothing uses the foreign page at `page_address` any more.
                match unsafe {
                    self.inner
                        .xen
                        .gnttab_unmap_foreign_page(handle, page_address)
                } {
                    Ok(()) => *slot = None,
                    Err(status) if generation != current => {
                        plog!(
                            self.inner.platform,
                            Info,
                            "GNTTAB: handle {:#x} at {:#x} died with the suspended domain ({:08x})",
                            handle,
                            page_address,
                            status
                        );
                        *slot = None;
                    }
                    Err(status) => {
                        plog!(
                            self.inner.platform,
                            Critical,
                            "GNTTAB: unmap of handle {:#x} at {:#x} failed ({:08x})",
                            handle,
                            page_address,
                            status
                        );
                        failure = failure.or(Some(status));
                    }
                }
            }
            page_address = page_address.saturating_add(PAGE_SIZE as u64);
        }
        failure
    }

    /// `GnttabUnmapForeignPages`: unmaps what Map mapped at `address` and frees the hole.
    ///
    /// # Errors
    /// [`GnttabError::NotMapped`] for an unknown address; [`GnttabError::Xen`] when a page
    /// cannot be unmapped (the mapping stays recorded for a later attempt).
    pub fn unmap_foreign_pages(&self, address: u64) -> Result<(), GnttabError> {
        let inner = &*self.inner;
        let mut map = {
            let mut maps = inner.maps.lock();
            let at = maps
                .iter()
                .position(|m| m.address == address)
                .ok_or(GnttabError::NotMapped)?;
            maps.swap_remove(at)
        };
        if let Some(status) = self.unmap_all(address, &mut map.handles) {
            // The slot just freed is still reserved: this cannot allocate.
            inner.maps.lock().push(map);
            return Err(GnttabError::Xen(status));
        }
        // SAFETY: every foreign page is unmapped; the pages came from this hole.
        unsafe { inner.hole.free(map.pages) }.map_err(GnttabError::Hole)
    }

    /// Foreign mappings recorded now.
    #[must_use]
    pub fn foreign_map_count(&self) -> usize {
        self.inner.maps.lock().len()
    }

    /// Upstream's early resume callback (`HIGH_LEVEL`, every other processor captured): puts
    /// every frame back at its page, at the same index, with the add-to-physmap hypercall (legal
    /// at any level). Nothing is mapped or unmapped here (`MmMapIoSpace`/`MmUnmapIoSpace` need
    /// `DISPATCH_LEVEL` or below), nothing is allocated and no spin lock is taken: the frame
    /// table is only tried (its users hold it at `DISPATCH_LEVEL`, so no captured processor
    /// can hold it) and the mappings made at `expand` stay in place. On Windows they still
    /// reach the frames (they map the guest frame, whose backing Xen just replaced); where the
    /// platform's mapping follows the backing page instead (the simulator), the next frame
    /// table access at `DISPATCH_LEVEL` ([`Gnttab::suspend_late`] or any grant operation)
    /// maps the frames again.
    pub fn suspend_early(&self) {
        let inner = &*self.inner;
        // Every foreign map handle made so far belongs to the old domain.
        inner.generation.fetch_add(1, Ordering::AcqRel);
        let Some(frames) = inner.frames.try_read() else {
            plog!(
                inner.platform,
                Critical,
                "GNTTAB: frame table busy at resume"
            );
            return;
        };
        for (index, frame) in frames.iter().enumerate() {
            let pfn = frame.pages.pfn;
            // SAFETY: the hole page at `pfn` is ours; Xen places the frame there again.
            let added = unsafe {
                inner
                    .xen
                    .memory_add_to_physmap(pfn, XENMAPSPACE_GRANT_TABLE, index as u64)
            };
            if let Err(status) = added {
                plog!(
                    inner.platform,
                    Critical,
                    "GNTTAB: re-adding frame {} failed ({:08x})",
                    index,
                    status
                );
                continue;
            }
            let address = pfn << PAGE_SHIFT;
            plog!(
                inner.platform,
                Info,
                "GNTTAB: MAP XENMAPSPACE_grant_table[{}] @ {:08x}.{:08x}",
                index,
                address >> 32,
                address & 0xFFFF_FFFF
            );
        }
        drop(frames);
        inner.remap.store(true, Ordering::Release);
    }

    /// The LATE half of the resume (`DISPATCH_LEVEL` or below): maps the frames the EARLY
    /// callback put back again, if that is still to do. Every frame-table access does it too,
    /// so calling this is optional; it only moves the work out of the first grant operation.
    pub fn suspend_late(&self) {
        let inner = &*self.inner;
        let _dispatch = inner.at_least_dispatch();
        inner.refresh_mappings();
    }

    /// Upstream's `xenbus|GNTTAB` debug callback: one line per frame.
    ///
    /// # Errors
    /// The writer's.
    ///
    /// IRQL: any. When `crashing`, or above `DISPATCH_LEVEL` (the DEBUG callbacks run at
    /// `HIGH_LEVEL`, possibly over a holder of the frame table on the same processor), the
    /// frame table is only tried, never waited for, and the IRQL is not touched.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        let dump = |frames: &[Frame], out: &mut dyn fmt::Write| -> fmt::Result {
            for (index, frame) in frames.iter().enumerate() {
                let address = frame.pages.pfn << PAGE_SHIFT;
                writeln!(
                    out,
                    "[{}] Address = {:08x}.{:08x}",
                    index,
                    address >> 32,
                    address & 0xFFFF_FFFF
                )?;
            }
            Ok(())
        };
        if crashing || self.inner.platform.current_irql() > IrqlLevel::DISPATCH {
            return match self.inner.frames.try_read() {
                Some(frames) => dump(&frames, out),
                None => out.write_str("(frame table busy)\n"),
            };
        }
        self.inner.with_frames(|frames| dump(frames, out))
    }
}

impl<P: Platform, S: XenServices> Drop for Inner<P, S> {
    fn drop(&mut self) {
        // Dropped while still acquired (a composition bug upstream would BUG on): give the
        // frames and their holes back rather than leak them.
        if !self.frames.get_mut().is_empty() {
            plog!(self.platform, Error, "GNTTAB: dropped with frames mapped");
            self.contract();
        }
    }
}

/// The entry cache's constructor: binds a free reference to the object.
fn entry_ctor<P: Platform, S: XenServices>(
    inner: &Weak<Inner<P, S>>,
    object: NonNull<u8>,
) -> Result<(), NtStatus> {
    let inner = inner.upgrade().ok_or(STATUS_UNSUCCESSFUL)?;
    let reference = inner.pop_reference().map_err(GnttabError::status)?;
    // SAFETY: the cache hands the constructor a fresh object of at least
    // `size_of::<EntryObject>()` bytes, aligned to 8, that nobody else can see yet.
    unsafe { EntryObject::init(object, reference) };
    Ok(())
}

/// The entry cache's destructor: gives the reference back.
fn entry_dtor<P: Platform, S: XenServices>(inner: &Weak<Inner<P, S>>, object: NonNull<u8>) {
    // SAFETY: a constructed entry object of the cache, no longer handed out.
    let reference = unsafe { EntryObject::reference_of(object) };
    if let (Some(inner), Some(reference)) = (inner.upgrade(), reference) {
        inner.push_reference(reference);
    }
}
