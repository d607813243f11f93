// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `CACHE`: object caches built from slabs, with per-processor magazines.
//!
//! Upstream `cache.c`. The object behind `XENBUS_CACHE` v1 and v2
//! and, inside xenbus, the allocator of grant entries (`gnttab`).
//!
//! A [`Cache`] hands out fixed-size objects. Objects live in *slabs*: runs of contiguous pages
//! from the platform's [`Memory::alloc_pages`](platform_port::Memory::alloc_pages), `round_up(48 + size, PAGE_SIZE)` bytes each,
//! holding `(bytes - 48) / size` objects. Every slab keeps a `Constructed` and an `Allocated`
//! bit per object. The client's constructor runs once per object, the first time that object is
//! handed out; its destructor runs only when the slab is destroyed. So an object put back keeps
//! its constructed state (for grant entries: its grant reference) and is reused before any new
//! object is constructed.
//!
//! Slabs are kept sorted by occupancy, fullest first, with a cursor on the first slab that is not
//! full: allocation takes from the cursor slab, and the emptiest slabs collect at the tail, where
//! trimming ("spilling") destroys them.
//!
//! Every processor has a *magazine* of six object slots. [`Cache::get`] and [`Cache::put`] raise
//! to `DISPATCH_LEVEL` and first try the current processor's magazine, without any lock; only an
//! empty (get) or full (put) magazine falls back to the slabs, under the client's lock (unless
//! the caller says it holds it: `locked`) and the cache's own slab lock. Objects in a magazine
//! still count as allocated in their slab.
//!
//! [`CacheContext`] is the interface's context: the Acquire/Release count, the list of live
//! caches (for the debug dump and Release's "OUTSTANDING CACHES" check) and the *monitor*: every
//! 5 s it fills each cache whose capacity is below its reservation up to the reservation, and
//! spills empty slabs of a cache above its reservation down to `max(reservation, capacity / 2)`.
//!
//! # Decisions (spec Appendix A and upstream details)
//! * **Slab lookup (A7).** Upstream finds an object's slab by `PAGE_ALIGN(object)`, which breaks
//!   for rounded sizes 4056–4072 on x64: their 2-page slab holds 2 objects and the second starts
//!   in the second page. Here slab bookkeeping lives outside the slab and an object's slab is
//!   found by address range over the slab list (a linear scan on the slow path only; caches hold
//!   a handful of slabs). Every size works, with upstream's objects-per-slab counts (the 48
//!   header bytes stay reserved; only the magic `'BALS'` is written there for memory dumps).
//!   The lookup also validates the pointer: a put of an address that is not an allocated object
//!   of this cache is logged and ignored instead of corrupting a slab.
//! * **Reservation.** As upstream's code (not the spec's §8 summary): Create and the monitor
//!   create slab *capacity* for the reservation; constructors still run lazily, on first Get.
//! * **Magazines** are atomic slots, so they stay sound even when two threads report the same
//!   processor (the host test platform) — the only cost is one atomic swap per slot tried.
//!   Each magazine sits on its own cache line and carries that processor's count of objects
//!   out, so the magazine path writes nothing another processor writes. The debug dump's
//!   current object count is the sum of these; its maximum is sampled when a Get reaches the
//!   slabs (upstream bumps one shared counter on every Get and Put).
//! * **Destroy with objects outstanding** (an `ASSERT` upstream) fails with
//!   [`CacheError::Outstanding`], keeps the cache listed and intact (magazines flushed), so the
//!   caller can report it; nothing is freed under a client's feet.
//! * **Release with caches outstanding** (a `BUG` upstream) logs the critical message and keeps
//!   the last reference, leaving everything in place.
//! * **Names** longer than 127 bytes fail with `STATUS_BUFFER_OVERFLOW` (upstream's 128-byte
//!   `RtlStringCbPrintfA` truncation status); a zero size is `STATUS_INVALID_PARAMETER`.
//! * **Monitor** runs on a [`Worker`] thread; it holds the context lock while it fills and
//!   spills, as upstream does (lock order: context, client, slab).

mod slab;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use core::time::Duration;

use ntstatus::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER,
    STATUS_NO_MEMORY, STATUS_UNSUCCESSFUL,
};
use platform_port::worker::Worker;
use platform_port::{IrqlLevel, IrqlLock, Platform, RaisedIrql, plog};

use slab::Slab;
pub use slab::{OBJECT_ALIGN, SLAB_HEADER, SLAB_MAGIC, SlabLayout};

/// Slots in each processor's magazine.
pub const MAGAZINE_SLOTS: usize = 6;
/// The monitor's period.
pub const MONITOR_PERIOD: Duration = Duration::from_secs(5);
/// The longest cache name, in bytes (upstream's 128-byte buffer less its NUL).
pub const MAX_NAME_LEN: usize = 127;

/// Why a cache operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheError {
    /// Zero object size, a reservation above the cap, or a size too large for a slab.
    InvalidParameter,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong,
    /// Pages or bookkeeping could not be allocated.
    NoMemory,
    /// Another slab would take the capacity past the cap.
    Capped,
    /// The client's constructor failed with this status.
    Constructor(NtStatus),
    /// Destroy: this many objects have not been put back.
    Outstanding(u32),
}

impl CacheError {
    /// The NTSTATUS upstream returns for this failure.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::InvalidParameter => STATUS_INVALID_PARAMETER,
            Self::NameTooLong => STATUS_BUFFER_OVERFLOW,
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::Capped => STATUS_INSUFFICIENT_RESOURCES,
            Self::Constructor(status) => status,
            Self::Outstanding(_) => STATUS_UNSUCCESSFUL,
        }
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidParameter => f.write_str("invalid parameter"),
            Self::NameTooLong => f.write_str("name longer than 127 bytes"),
            Self::NoMemory => f.write_str("out of memory"),
            Self::Capped => f.write_str("cap reached"),
            Self::Constructor(status) => write!(f, "constructor failed ({status:08x})"),
            Self::Outstanding(n) => write!(f, "{n} objects outstanding"),
        }
    }
}

/// The client's constructor: prepares a fresh object, or fails.
pub type Ctor = Arc<dyn Fn(NonNull<u8>) -> Result<(), NtStatus> + Send + Sync>;
/// The client's destructor.
pub type Dtor = Arc<dyn Fn(NonNull<u8>) + Send + Sync>;
/// The client's lock or unlock callback (called at `DISPATCH_LEVEL`).
pub type LockFn = Arc<dyn Fn() + Send + Sync>;

/// What a client passes to Create (upstream's four callbacks; the `Argument` is captured).
#[derive(Clone)]
pub struct CacheCallbacks {
    /// Runs once per object, on its first Get.
    pub ctor: Ctor,
    /// Runs for every constructed object when its slab is destroyed.
    pub dtor: Dtor,
    /// Takes the client's lock.
    pub acquire_lock: LockFn,
    /// Releases it.
    pub release_lock: LockFn,
}

impl fmt::Debug for CacheCallbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheCallbacks").finish_non_exhaustive()
    }
}

/// The debug dump's numbers for one cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Capacity: objects in all slabs.
    pub count: u32,
    /// The reservation.
    pub reservation: u32,
    /// Objects handed out now.
    pub objects: i32,
    /// Most objects ever handed out at once.
    pub max_objects: i32,
    /// Slabs now.
    pub slabs: i32,
    /// Most slabs ever.
    pub max_slabs: i32,
}

/// Raises a statistics maximum to `value`, writing only when it grows (a plain load on the
/// common path keeps the cache line shared between processors).
fn raise_max(max: &AtomicI32, value: i32) {
    if value > max.load(Ordering::Relaxed) {
        max.fetch_max(value, Ordering::Relaxed);
    }
}

/// One processor's magazine, alone on its cache line(s) so processors never share one.
#[repr(align(64))]
struct Magazine {
    slots: [AtomicPtr<u8>; MAGAZINE_SLOTS],
    /// Objects handed out minus objects returned on this processor (may be negative).
    objects: AtomicI32,
}

impl Magazine {
    fn new() -> Self {
        Self {
            slots: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            objects: AtomicI32::new(0),
        }
    }

    fn take(&self) -> Option<NonNull<u8>> {
        self.slots.iter().find_map(|slot| {
            if slot.load(Ordering::Relaxed).is_null() {
                return None;
            }
            NonNull::new(slot.swap(core::ptr::null_mut(), Ordering::Acquire))
        })
    }

    fn give(&self, object: NonNull<u8>) -> bool {
        self.slots.iter().any(|slot| {
            slot.load(Ordering::Relaxed).is_null()
                && slot
                    .compare_exchange(
                        core::ptr::null_mut(),
                        object.as_ptr(),
                        Ordering::Release,
                        Ordering::Relaxed,
                    )
                    .is_ok()
        })
    }
}

/// The slab list of one cache (under the cache's slab lock).
struct Slabs {
    /// Fullest first.
    list: Vec<Slab>,
    /// The first slab that is not full (`list.len()` when none).
    cursor: usize,
    /// Objects in all slabs (upstream's `Count`).
    count: u32,
    /// Set by Destroy: no slab is ever created again.
    destroyed: bool,
}

/// An object cache (upstream's `XENBUS_CACHE`).
pub struct Cache<P: Platform> {
    platform: P,
    name: String,
    layout: SlabLayout,
    reservation: u32,
    cap: u32,
    callbacks: CacheCallbacks,
    slabs: IrqlLock<P, Slabs>,
    magazines: Box<[Magazine]>,
    /// `Slabs::count`, mirrored for lock-free statistics.
    capacity: AtomicU32,
    current_objects: AtomicI32,
    maximum_objects: AtomicI32,
    current_slabs: AtomicI32,
    maximum_slabs: AtomicI32,
}

// SAFETY: the raw object pointers in the magazines and slabs name memory this cache owns; all
// shared state is behind atomics or the slab lock, and the callbacks are `Send + Sync`.
unsafe impl<P: Platform> Send for Cache<P> {}
// SAFETY: as above.
unsafe impl<P: Platform> Sync for Cache<P> {}

impl<P: Platform> fmt::Debug for Cache<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.name)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl<P: Platform> Cache<P> {
    /// The cache's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How objects are laid out.
    #[must_use]
    pub const fn layout(&self) -> SlabLayout {
        self.layout
    }

    /// The cap (`u32::MAX` for "unlimited").
    #[must_use]
    pub const fn cap(&self) -> u32 {
        self.cap
    }

    /// The debug dump's numbers.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            count: self.capacity.load(Ordering::Relaxed),
            reservation: self.reservation,
            objects: self.objects(),
            max_objects: self.maximum_objects.load(Ordering::Relaxed),
            slabs: self.current_slabs.load(Ordering::Relaxed),
            max_slabs: self.maximum_slabs.load(Ordering::Relaxed),
        }
    }

    /// Objects currently parked in processor `cpu`'s magazine.
    #[must_use]
    pub fn magazine_len(&self, cpu: u32) -> usize {
        usize::try_from(cpu)
            .ok()
            .and_then(|i| self.magazines.get(i))
            .map_or(0, |m| {
                m.slots
                    .iter()
                    .filter(|s| !s.load(Ordering::Relaxed).is_null())
                    .count()
            })
    }

    fn magazine(&self) -> Option<&Magazine> {
        let cpu = usize::try_from(self.platform.current_processor()).ok()?;
        self.magazines.get(cpu)
    }

    fn lock_client(&self, locked: bool) {
        if !locked {
            (self.callbacks.acquire_lock)();
        }
    }

    fn unlock_client(&self, locked: bool) {
        if !locked {
            (self.callbacks.release_lock)();
        }
    }

    /// `CacheGet`: an object, or `None` when none can be had (cap reached, no memory, or the
    /// constructor failed). `locked` says the caller already holds its own lock.
    pub fn get(&self, locked: bool) -> Option<NonNull<u8>> {
        let _dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        let magazine = self.magazine();
        let mut object = magazine.and_then(Magazine::take);
        if object.is_some() {
            self.count(magazine, 1);
        } else {
            self.lock_client(locked);
            object = self.get_from_slabs();
            self.unlock_client(locked);
            if object.is_some() {
                self.count(magazine, 1);
                // Sampled on the slab path only: magazine traffic never reaches a new peak
                // of objects out by itself (what it hands out was out before).
                raise_max(&self.maximum_objects, self.objects());
            }
        }
        object
    }

    /// Counts objects handed out (`delta` 1) or returned (-1) on this processor: per-CPU
    /// counters keep the magazine path free of shared writes.
    fn count(&self, magazine: Option<&Magazine>, delta: i32) {
        match magazine {
            // A processor's own count: only that processor writes it, at `DISPATCH_LEVEL` (no
            // other context on it runs meanwhile), so a load and a store do what an atomic add
            // would, without the locked instruction; readers only sum the counts.
            Some(magazine) => magazine.objects.store(
                magazine.objects.load(Ordering::Relaxed).wrapping_add(delta),
                Ordering::Relaxed,
            ),
            // Shared by every processor without a magazine.
            None => {
                self.current_objects.fetch_add(delta, Ordering::Relaxed);
            }
        }
    }

    /// Objects handed out now (the sum of the per-processor counts).
    fn objects(&self) -> i32 {
        self.magazines
            .iter()
            .fold(self.current_objects.load(Ordering::Relaxed), |sum, m| {
                sum.wrapping_add(m.objects.load(Ordering::Relaxed))
            })
    }

    /// `CachePut`: returns `object`. `locked` as for [`Cache::get`].
    ///
    /// # Safety
    /// `object` came from [`Cache::get`] of this cache, has not been put back since, and the
    /// caller no longer uses it. (An address that is not such an object is detected when it
    /// reaches its slab, logged and ignored, but one parked in a magazine is trusted.)
    pub unsafe fn put(&self, object: NonNull<u8>, locked: bool) {
        let _dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        let magazine = self.magazine();
        let parked = magazine.is_some_and(|m| m.give(object));
        let returned = parked || {
            self.lock_client(locked);
            let done = {
                let mut slabs = self.slabs.lock();
                self.put_to_slab(&mut slabs, object)
            };
            self.unlock_client(locked);
            done
        };
        if returned {
            self.count(magazine, -1);
        }
    }

    fn get_from_slabs(&self) -> Option<NonNull<u8>> {
        let mut slabs = self.slabs.lock();
        loop {
            let cursor = slabs.cursor;
            if cursor < slabs.list.len() {
                return self.take_from(&mut slabs, cursor);
            }
            if let Err(e) = self.create_slab(&mut slabs) {
                plog!(
                    self.platform,
                    Error,
                    "CACHE: {}: no object: {}",
                    self.name,
                    e
                );
                return None;
            }
        }
    }

    /// Takes an object from slab `at` (the cursor slab), constructing it if needed.
    fn take_from(&self, slabs: &mut Slabs, at: usize) -> Option<NonNull<u8>> {
        let slab = slabs.list.get_mut(at)?;
        let index = slab.pick()?;
        let object = slab.object(&self.layout, index)?;
        if !slab.constructed.test(index) {
            if let Err(status) = (self.callbacks.ctor)(object) {
                plog!(
                    self.platform,
                    Error,
                    "CACHE: {}: {}",
                    self.name,
                    CacheError::Constructor(status)
                );
                return None;
            }
            slab.constructed.set(index);
        }
        slab.allocated.set(index);
        if slab.is_full() {
            slabs.cursor = at.saturating_add(1);
        }
        Some(object)
    }

    /// Returns an object to its slab and moves the slab to its place in the occupancy order.
    /// False (logged) when `object` is not an allocated object of this cache.
    fn put_to_slab(&self, slabs: &mut Slabs, object: NonNull<u8>) -> bool {
        let address = object.as_ptr().addr();
        let found = slabs
            .list
            .iter()
            .enumerate()
            .find_map(|(at, slab)| slab.index_of(&self.layout, address).map(|i| (at, i)));
        let Some((at, index)) = found else {
            plog!(
                self.platform,
                Error,
                "CACHE: {}: put of {:#x}, not an object of this cache",
                self.name,
                address
            );
            return false;
        };
        let cleared = slabs
            .list
            .get_mut(at)
            .is_some_and(|slab| slab.allocated.clear(index));
        if !cleared {
            plog!(
                self.platform,
                Error,
                "CACHE: {}: put of {:#x}, which is not allocated",
                self.name,
                address
            );
            return false;
        }
        Self::settle_after_put(slabs, at);
        true
    }

    /// Moves the slab at `at`, which just got one object back, to its place in the occupancy
    /// order (fullest first) by rotating it past the slabs that now hold more, instead of
    /// removing and re-inserting it; then re-aims the cursor.
    fn settle_after_put(slabs: &mut Slabs, at: usize) {
        let Some(count) = slabs.list.get(at).map(|slab| slab.allocated.count()) else {
            return;
        };
        let tail = slabs.list.get(at..).unwrap_or_default();
        // The slabs after `at` that hold more than this one now (the list was sorted before
        // the put, so they come first).
        let passed = tail
            .iter()
            .skip(1)
            .take_while(|slab| slab.allocated.count() > count)
            .count();
        if let Some(moved) = slabs.list.get_mut(at..=at.saturating_add(passed)) {
            moved.rotate_left(1);
        }
        // The slab is not full any more; the cursor moves back to it if it was past it.
        let now = at.saturating_add(passed);
        slabs.cursor = slabs.cursor.min(now);
        while slabs.list.get(slabs.cursor).is_some_and(Slab::is_full) {
            slabs.cursor = slabs.cursor.saturating_add(1);
        }
    }

    /// Inserts `new` before the first slab holding fewer objects, then re-aims the cursor at the
    /// first slab that is not full (upstream's `CacheInsertSlab`). Never allocates: a slot was
    /// freed by the caller or reserved by `create_slab`.
    fn insert_slab(slabs: &mut Slabs, new: Slab) {
        let count = new.allocated.count();
        let at = slabs
            .list
            .iter()
            .position(|s| s.allocated.count() < count)
            .unwrap_or(slabs.list.len());
        slabs.list.insert(at, new);
        slabs.cursor = slabs
            .list
            .iter()
            .position(|s| !s.is_full())
            .unwrap_or(slabs.list.len());
    }

    fn create_slab(&self, slabs: &mut Slabs) -> Result<(), CacheError> {
        if slabs.destroyed {
            return Err(CacheError::InvalidParameter);
        }
        let per_slab = self.layout.per_slab;
        if slabs
            .count
            .checked_add(per_slab)
            .is_none_or(|after| after > self.cap)
        {
            return Err(CacheError::Capped);
        }
        slabs
            .list
            .try_reserve(1)
            .map_err(|_| CacheError::NoMemory)?;
        let pages = self
            .platform
            .alloc_pages(self.layout.pages)
            .map_err(|_| CacheError::NoMemory)?;
        let slab = match Slab::new(pages, per_slab) {
            Ok(slab) => slab,
            Err((e, pages)) => {
                // SAFETY: just allocated from this platform; no object was handed out.
                unsafe { self.platform.free_pages(pages) };
                return Err(e);
            }
        };
        Self::insert_slab(slabs, slab);
        slabs.count = slabs.count.saturating_add(per_slab);
        self.capacity.store(slabs.count, Ordering::Relaxed);
        let now = self.current_slabs.fetch_add(1, Ordering::Relaxed);
        raise_max(&self.maximum_slabs, now.saturating_add(1));
        Ok(())
    }

    /// Runs the destructors of a slab's constructed objects (highest index first) and frees it.
    fn destroy_slab(&self, mut slab: Slab) {
        let mut index = slab.constructed.size();
        while let Some(i) = index.checked_sub(1) {
            index = i;
            if slab.constructed.test(i) {
                if let Some(object) = slab.object(&self.layout, i) {
                    (self.callbacks.dtor)(object);
                }
                slab.constructed.clear(i);
            }
        }
        self.current_slabs.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: the pages came from this platform's `alloc_pages`; no object of the slab is
        // allocated (callers only destroy empty slabs) and every destructor has run.
        unsafe { self.platform.free_pages(slab.into_pages()) };
    }

    /// Creates slabs until the capacity reaches `target` (upstream's `CacheFill`).
    fn fill(&self, target: u32) -> Result<(), CacheError> {
        let _dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        self.lock_client(false);
        let result = {
            let mut slabs = self.slabs.lock();
            let mut result = Ok(());
            while slabs.count < target {
                result = self.create_slab(&mut slabs);
                if result.is_err() {
                    break;
                }
            }
            result
        };
        self.unlock_client(false);
        result
    }

    /// Destroys empty slabs from the tail while the capacity stays at or above `target`
    /// (upstream's `CacheSpill`).
    fn spill(&self, target: u32) {
        let _dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        self.lock_client(false);
        {
            let mut slabs = self.slabs.lock();
            self.spill_locked(&mut slabs, target);
        }
        self.unlock_client(false);
    }

    fn spill_locked(&self, slabs: &mut Slabs, target: u32) {
        let per_slab = self.layout.per_slab;
        while let Some(last) = slabs.list.last() {
            if last.allocated.count() != 0 {
                break;
            }
            match slabs.count.checked_sub(per_slab) {
                Some(after) if after >= target => {
                    slabs.count = after;
                    self.capacity.store(after, Ordering::Relaxed);
                }
                _ => break,
            }
            let Some(slab) = slabs.list.pop() else {
                break;
            };
            slabs.cursor = slabs.cursor.min(slabs.list.len());
            self.destroy_slab(slab);
        }
    }

    /// Moves every magazine's objects back to their slabs (under both locks).
    fn flush_magazines(&self, slabs: &mut Slabs) {
        for magazine in &self.magazines {
            while let Some(object) = magazine.take() {
                self.put_to_slab(slabs, object);
            }
        }
    }

    fn allocated(slabs: &Slabs) -> u32 {
        slabs
            .list
            .iter()
            .fold(0u32, |n, s| n.saturating_add(s.allocated.count()))
    }

    /// The monitor's work for this cache: fill to the reservation, or trim idle capacity.
    fn monitor(&self) {
        let count = self.capacity.load(Ordering::Relaxed);
        if count < self.reservation {
            // A failure is retried at the next period.
            let _ = self.fill(self.reservation);
        } else if count > self.reservation {
            self.spill(self.reservation.max(count / 2));
        }
    }

    /// Upstream's Destroy: flush magazines, refuse if objects are out, spill everything.
    fn destroy(&self) -> Result<(), CacheError> {
        let _dispatch = RaisedIrql::to(&self.platform, IrqlLevel::DISPATCH);
        self.lock_client(false);
        let result = {
            let mut slabs = self.slabs.lock();
            self.flush_magazines(&mut slabs);
            match Self::allocated(&slabs) {
                0 => {
                    slabs.destroyed = true;
                    self.spill_locked(&mut slabs, 0);
                    Ok(())
                }
                n => Err(CacheError::Outstanding(n)),
            }
        };
        self.unlock_client(false);
        result
    }
}

impl<P: Platform> Drop for Cache<P> {
    fn drop(&mut self) {
        // Normally Destroy left nothing. A cache dropped without Destroy (a failed Create, or
        // a client that never destroyed it) frees what it can; slabs with objects still out
        // are leaked on purpose, since a client may still be using them.
        let mut slabs = core::mem::replace(
            self.slabs.get_mut(),
            Slabs {
                list: Vec::new(),
                cursor: 0,
                count: 0,
                destroyed: true,
            },
        );
        self.flush_magazines(&mut slabs);
        self.spill_locked(&mut slabs, 0);
        if !slabs.list.is_empty() {
            plog!(
                self.platform,
                Critical,
                "CACHE: {}: dropped with {} objects outstanding; their slabs are leaked",
                self.name,
                Self::allocated(&slabs)
            );
            for slab in slabs.list.drain(..) {
                // Not freed: the pages stay allocated for whoever still holds objects.
                let _leaked = slab.into_pages();
            }
        }
    }
}

struct ContextState<P: Platform> {
    references: u32,
    caches: Vec<Arc<Cache<P>>>,
}

struct Shared<P: Platform> {
    platform: P,
    state: IrqlLock<P, ContextState<P>>,
    /// `state.caches.len()`, mirrored under the lock for debug dumps above `DISPATCH_LEVEL`
    /// (where the lock cannot be taken).
    listed: AtomicUsize,
}

impl<P: Platform> Shared<P> {
    fn monitor_pass(&self) {
        let state = self.state.lock();
        if state.references == 0 {
            return;
        }
        for cache in &state.caches {
            cache.monitor();
        }
    }
}

/// The `XENBUS_CACHE` context: reference count, live caches and the monitor thread.
pub struct CacheContext<P: Platform> {
    shared: Arc<Shared<P>>,
    monitor: IrqlLock<P, Option<Worker<P>>>,
}

impl<P: Platform> fmt::Debug for CacheContext<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheContext").finish_non_exhaustive()
    }
}

impl<P: Platform> CacheContext<P> {
    /// The context with its monitor thread running every [`MONITOR_PERIOD`] (upstream's
    /// `CacheInitialize`).
    ///
    /// # Errors
    /// [`CacheError::NoMemory`] when the thread cannot be started.
    pub fn new(platform: &P) -> Result<Self, CacheError> {
        Self::with_monitor_period(platform, Some(MONITOR_PERIOD))
    }

    /// The context with the monitor running every `period`, or with no monitor thread at all
    /// (`None`: tests drive [`CacheContext::monitor_pass`] themselves).
    ///
    /// # Errors
    /// [`CacheError::NoMemory`] when the thread cannot be started.
    pub fn with_monitor_period(platform: &P, period: Option<Duration>) -> Result<Self, CacheError> {
        let shared = Arc::new(Shared {
            platform: platform.clone(),
            state: IrqlLock::dispatch(
                platform.clone(),
                ContextState {
                    references: 0,
                    caches: Vec::new(),
                },
            ),
            listed: AtomicUsize::new(0),
        });
        let monitor = match period {
            None => None,
            Some(period) => {
                let weak: Weak<Shared<P>> = Arc::downgrade(&shared);
                let worker = Worker::start(platform, "cache-monitor", move |ctx| {
                    loop {
                        ctx.wait(Some(period));
                        if ctx.alerted() {
                            break;
                        }
                        if let Some(shared) = weak.upgrade() {
                            shared.monitor_pass();
                        }
                    }
                })
                .map_err(|_| CacheError::NoMemory)?;
                Some(worker)
            }
        };
        Ok(Self {
            shared,
            monitor: IrqlLock::dispatch(platform.clone(), monitor),
        })
    }

    /// Runs one monitor pass now (what the thread does every period).
    pub fn monitor_pass(&self) {
        self.shared.monitor_pass();
    }

    /// Stops the monitor thread (upstream's `CacheTeardown`); dropping the context does too.
    pub fn teardown(&self) {
        let worker = self.monitor.lock().take();
        if let Some(worker) = worker {
            worker.stop();
        }
    }

    /// `CacheAcquire`.
    ///
    /// # Errors
    /// None today (the DEBUG registration upstream does here belongs to the composition).
    pub fn acquire(&self) -> Result<(), CacheError> {
        let mut state = self.shared.state.lock();
        state.references = state.references.saturating_add(1);
        Ok(())
    }

    /// `CacheRelease`. The last reference with caches still alive is upstream's BUG
    /// "OUTSTANDING CACHES": logged, and the reference is kept.
    pub fn release(&self) {
        let mut state = self.shared.state.lock();
        if state.references == 1 && !state.caches.is_empty() {
            plog!(
                self.shared.platform,
                Critical,
                "CACHE: OUTSTANDING CACHES ({})",
                state.caches.len()
            );
            return;
        }
        state.references = state.references.saturating_sub(1);
    }

    /// The reference count.
    pub fn references(&self) -> u32 {
        self.shared.state.lock().references
    }

    /// Live caches.
    pub fn cache_count(&self) -> usize {
        self.shared.state.lock().caches.len()
    }

    /// `CacheCreate` (v2; v1 passes `cap` 0): a cache of `size`-byte objects with room for
    /// `reservation` objects made at once; `cap` 0 means unlimited.
    ///
    /// # Errors
    /// [`CacheError::NameTooLong`], [`CacheError::InvalidParameter`] (zero size, reservation
    /// above the cap), [`CacheError::Capped`] or [`CacheError::NoMemory`] when the reservation
    /// cannot be made. Nothing is left allocated.
    pub fn create(
        &self,
        name: &str,
        size: u32,
        reservation: u32,
        cap: u32,
        callbacks: CacheCallbacks,
    ) -> Result<Arc<Cache<P>>, CacheError> {
        let platform = &self.shared.platform;
        let result = self.try_create(name, size, reservation, cap, callbacks);
        if let Err(e) = &result {
            plog!(*platform, Error, "CACHE: create {} failed: {}", name, e);
        }
        result
    }

    fn try_create(
        &self,
        name: &str,
        size: u32,
        reservation: u32,
        cap: u32,
        callbacks: CacheCallbacks,
    ) -> Result<Arc<Cache<P>>, CacheError> {
        let platform = &self.shared.platform;
        if name.len() > MAX_NAME_LEN {
            return Err(CacheError::NameTooLong);
        }
        let layout = SlabLayout::new(size)?;
        let cap = if cap == 0 { u32::MAX } else { cap };
        if reservation > cap {
            return Err(CacheError::InvalidParameter);
        }
        let mut owned = String::new();
        owned
            .try_reserve_exact(name.len())
            .map_err(|_| CacheError::NoMemory)?;
        owned.push_str(name);
        let processors = usize::try_from(platform.processor_count()).unwrap_or(1);
        let mut magazines = Vec::new();
        magazines
            .try_reserve_exact(processors)
            .map_err(|_| CacheError::NoMemory)?;
        magazines.extend((0..processors).map(|_| Magazine::new()));
        let cache = Arc::new(Cache {
            platform: platform.clone(),
            name: owned,
            layout,
            reservation,
            cap,
            callbacks,
            slabs: IrqlLock::dispatch(
                platform.clone(),
                Slabs {
                    list: Vec::new(),
                    cursor: 0,
                    count: 0,
                    destroyed: false,
                },
            ),
            magazines: magazines.into_boxed_slice(),
            capacity: AtomicU32::new(0),
            current_objects: AtomicI32::new(0),
            maximum_objects: AtomicI32::new(0),
            current_slabs: AtomicI32::new(0),
            maximum_slabs: AtomicI32::new(0),
        });
        // A failure drops `cache`, whose Drop frees the slabs already made.
        cache.fill(reservation)?;
        let mut state = self.shared.state.lock();
        state
            .caches
            .try_reserve(1)
            .map_err(|_| CacheError::NoMemory)?;
        state.caches.push(Arc::clone(&cache));
        self.shared
            .listed
            .store(state.caches.len(), Ordering::Relaxed);
        drop(state);
        plog!(*platform, Trace, "CACHE: created {}", cache.name);
        Ok(cache)
    }

    /// `CacheDestroy`: flushes the magazines, destroys every slab (running the destructors)
    /// and forgets the cache.
    ///
    /// # Errors
    /// [`CacheError::Outstanding`] when objects have not been put back (upstream asserts): the
    /// cache stays alive and listed; [`CacheError::InvalidParameter`] for a cache this context
    /// does not hold.
    pub fn destroy(&self, cache: &Arc<Cache<P>>) -> Result<(), CacheError> {
        let position = {
            let mut state = self.shared.state.lock();
            let position = state
                .caches
                .iter()
                .position(|c| Arc::ptr_eq(c, cache))
                .ok_or(CacheError::InvalidParameter)?;
            state.caches.remove(position);
            self.shared
                .listed
                .store(state.caches.len(), Ordering::Relaxed);
            position
        };
        if let Err(e) = cache.destroy() {
            plog!(
                self.shared.platform,
                Error,
                "CACHE: destroy {} refused: {}",
                cache.name,
                e
            );
            let mut state = self.shared.state.lock();
            // The slot just freed is still reserved: this cannot allocate.
            let at = position.min(state.caches.len());
            state.caches.insert(at, Arc::clone(cache));
            self.shared
                .listed
                .store(state.caches.len(), Ordering::Relaxed);
            return Err(e);
        }
        plog!(
            self.shared.platform,
            Trace,
            "CACHE: destroyed {}",
            cache.name
        );
        Ok(())
    }

    /// Upstream's `xenbus|CACHE` debug callback.
    ///
    /// # Errors
    /// The writer's.
    ///
    /// The cache list is under a `DISPATCH_LEVEL` lock. Above `DISPATCH_LEVEL` (the DEBUG
    /// callbacks run at `HIGH_LEVEL`) that lock cannot be taken, not even tried: only the number
    /// of caches (mirrored in an atomic) is printed. When `crashing` the lock is only tried (its
    /// holder may be the processor that crashed); the numbers never need a lock.
    pub fn debug_dump(&self, out: &mut dyn fmt::Write, crashing: bool) -> fmt::Result {
        if self.shared.platform.current_irql() > IrqlLevel::DISPATCH {
            let listed = self.shared.listed.load(Ordering::Relaxed);
            if listed == 0 {
                return Ok(());
            }
            return writeln!(out, "CACHES: {listed} (listed at DISPATCH_LEVEL or below)");
        }
        let state = if crashing {
            match self.shared.state.try_lock() {
                Some(state) => state,
                None => return out.write_str("CACHES: (list busy)\n"),
            }
        } else {
            self.shared.state.lock()
        };
        if state.caches.is_empty() {
            return Ok(());
        }
        out.write_str("CACHES:\n")?;
        for cache in &state.caches {
            let s = cache.stats();
            writeln!(
                out,
                "- {}: Count = {}, Reservation = {}, Objects = {} / {}, Slabs = {} / {}",
                cache.name, s.count, s.reservation, s.objects, s.max_objects, s.slabs, s.max_slabs
            )?;
        }
        Ok(())
    }
}

impl<P: Platform> Drop for CacheContext<P> {
    fn drop(&mut self) {
        self.teardown();
    }
}
