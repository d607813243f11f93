// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Grant entries: the cache object a client holds, and the live v1 entry in a table frame.

use core::fmt;
use core::marker::PhantomData;
use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use platform_port::PAGE_SIZE;
use shared_mem::{SharedMem, SharedWord};
use xen_headers::grant_table::{
    GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_WRITING, GrantEntryV1,
};

use super::ENTRIES_PER_FRAME;

/// Upstream's entry magic `'DTNG'` (same value as the C multi-character constant).
pub const ENTRY_MAGIC: u32 = u32::from_be_bytes(*b"DTNG");

/// Bytes of one v1 entry in a frame.
const ENTRY_SIZE: usize = 8;

/// The cache object behind a [`GrantEntry`] (upstream's `XENBUS_GNTTAB_ENTRY`): private to
/// this domain, so plain memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryObject {
    /// [`ENTRY_MAGIC`].
    pub magic: u32,
    /// The grant reference the object owns.
    pub reference: u32,
    /// Shadow of the live entry: flags (without `GTF_permit_access`).
    pub flags: u16,
    /// Shadow: the domain granted.
    pub domid: u16,
    /// Shadow: the frame granted.
    pub frame: u32,
}

const _: () = assert!(core::mem::size_of::<EntryObject>() == 16);

impl EntryObject {
    /// Writes a fresh object owning `reference`.
    ///
    /// # Safety
    /// `object` is valid for writes of 16 bytes, aligned to 8, and used by nobody else.
    pub(super) const unsafe fn init(object: NonNull<u8>, reference: u32) {
        let value = Self {
            magic: ENTRY_MAGIC,
            reference,
            flags: 0,
            domid: 0,
            frame: 0,
        };
        // SAFETY: the caller's guarantee.
        unsafe { object.cast::<Self>().write(value) };
    }

    /// The reference of a constructed object (`None` if the magic is wrong).
    ///
    /// # Safety
    /// `object` is valid for reads of 16 bytes, aligned to 8, and nobody writes it meanwhile.
    pub(super) unsafe fn reference_of(object: NonNull<u8>) -> Option<u32> {
        // SAFETY: the caller's guarantee.
        let value = unsafe { object.cast::<Self>().read() };
        (value.magic == ENTRY_MAGIC).then_some(value.reference)
    }
}

/// A permitted grant: the handle Permit returns and Revoke consumes.
///
/// Dropping it without revoking leaves the grant in place and its object out of the cache
/// (the C interface's behaviour for a forgotten entry); the cache then refuses Destroy.
pub struct GrantEntry {
    object: NonNull<EntryObject>,
    reference: u32,
    cache_id: usize,
}

impl fmt::Debug for GrantEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantEntry")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

// SAFETY: the object is cache memory owned exclusively by whoever holds the entry.
unsafe impl Send for GrantEntry {}
// SAFETY: shared access only reads the object (`shadow`), which nobody writes meanwhile.
unsafe impl Sync for GrantEntry {}

impl GrantEntry {
    /// Wraps a constructed object of the cache identified by `cache_id`.
    ///
    /// # Safety
    /// `object` is a constructed entry object handed out by that cache and not put back.
    pub(super) unsafe fn from_object(object: NonNull<u8>, cache_id: usize) -> Option<Self> {
        // SAFETY: the caller's guarantee.
        let reference = unsafe { EntryObject::reference_of(object) }?;
        Some(Self {
            object: object.cast(),
            reference,
            cache_id,
        })
    }

    /// The grant reference.
    #[must_use]
    pub const fn reference(&self) -> u32 {
        self.reference
    }

    pub(super) const fn cache_id(&self) -> usize {
        self.cache_id
    }

    /// The object, as the C interface's opaque `PXENBUS_GNTTAB_ENTRY`.
    #[must_use]
    pub const fn as_raw(&self) -> NonNull<u8> {
        self.object.cast()
    }

    /// The object's current contents (magic, reference, shadow entry).
    #[must_use]
    pub const fn shadow(&self) -> EntryObject {
        // SAFETY: the object is ours while this entry exists, and only `&mut`-free writes
        // through `set_shadow` (called by the owner) change it.
        unsafe { self.object.read() }
    }

    /// Writes the shadow entry.
    ///
    /// # Safety
    /// The caller owns the entry (no concurrent `shadow` reads).
    pub(super) const unsafe fn set_shadow(&self, flags: u16, domid: u16, frame: u32) {
        let value = EntryObject {
            magic: ENTRY_MAGIC,
            reference: self.reference,
            flags,
            domid,
            frame,
        };
        // SAFETY: the object is ours (caller's guarantee) and 16 bytes, aligned.
        unsafe { self.object.write(value) };
    }

    /// Gives the object back for the cache's Put.
    pub(super) const fn into_object(self) -> NonNull<u8> {
        self.object.cast()
    }

    /// The reference of an entry given as the C interface's opaque pointer (`GetReference`);
    /// `None` if the magic is wrong.
    ///
    /// # Safety
    /// `object` is the raw form ([`GrantEntry::as_raw`]) of a live entry.
    #[must_use]
    pub unsafe fn reference_of_raw(object: NonNull<u8>) -> Option<u32> {
        // SAFETY: the caller's guarantee.
        unsafe { EntryObject::reference_of(object) }
    }

    /// Rebuilds an entry from the C interface's opaque pointer.
    ///
    /// # Safety
    /// `object` came from [`GrantEntry::as_raw`] of an entry of the cache identified by
    /// `cache_id` that was forgotten (not revoked) since.
    pub(super) unsafe fn from_raw(object: NonNull<u8>, cache_id: usize) -> Option<Self> {
        // SAFETY: the caller's guarantee.
        unsafe { Self::from_object(object, cache_id) }
    }
}

/// The live v1 entry of a reference, inside a mapped table frame: every field is read and
/// written atomically (Xen and the granted domain access it concurrently).
///
/// The frame is reached through a [`SharedMem`] view of one page; the entry's three fields
/// are taken from it once, in [`LiveEntry::new`] (bounds- and alignment-checked), so the
/// operations themselves cannot fail. An entry whose fields could not be taken (an index
/// beyond the frame, a misaligned mapping: neither can happen, the table indexes with
/// `reference % 512` into page-aligned mappings) is *unusable*, the documented safe fallback:
/// Permit writes nothing (the reference stays ungranted, so a peer's map of it fails), Revoke
/// succeeds (nothing was granted through it), Query reads frame 0, writable.
pub struct LiveEntry<'a> {
    fields: Option<Fields>,
    _frame: PhantomData<&'a ()>,
}

/// The fields of a usable entry.
#[derive(Clone, Copy)]
struct Fields {
    flags: SharedWord<u16>,
    domid: SharedWord<u16>,
    frame: SharedWord<u32>,
}

impl Fields {
    /// The fields of entry `index` of the frame `page`.
    fn of(page: &SharedMem, index: u32) -> Result<Self, shared_mem::Error> {
        let entry = usize::try_from(index)
            .ok()
            .and_then(|index| index.checked_mul(ENTRY_SIZE))
            .unwrap_or(usize::MAX);
        let entry = page.slice(entry, ENTRY_SIZE)?;
        Ok(Self {
            flags: entry.word(FLAGS)?,
            domid: entry.word(DOMID)?,
            frame: entry.word(FRAME)?,
        })
    }
}

const FLAGS: usize = offset_of!(GrantEntryV1, flags);
const DOMID: usize = offset_of!(GrantEntryV1, domid);
const FRAME: usize = offset_of!(GrantEntryV1, frame);

const _: () = assert!(size_of::<GrantEntryV1>() == ENTRY_SIZE);
const _: () = assert!(ENTRY_SIZE * ENTRIES_PER_FRAME as usize == PAGE_SIZE);

impl LiveEntry<'_> {
    /// The entry `index` of the frame mapped at `base`.
    ///
    /// # Safety
    /// `base` maps a whole table frame for the returned value's lifetime. (`index` is checked:
    /// one beyond the frame gives an unusable entry.)
    pub(super) unsafe fn new<'a>(base: NonNull<u8>, index: u32) -> LiveEntry<'a> {
        // SAFETY: the caller's contract: a whole frame, mapped for `'a`, which only Xen, the
        // granted domains and these checked atomic accesses touch.
        let page = unsafe { SharedMem::new(base, PAGE_SIZE) };
        LiveEntry {
            fields: Fields::of(&page, index).ok(),
            _frame: PhantomData,
        }
    }

    /// Permit: domid and frame, then the flags with `GTF_permit_access` in one release store
    /// (upstream: the entry without the bit, `KeMemoryBarrier`, `flags |= GTF_permit_access`,
    /// `KeMemoryBarrier`).
    ///
    /// # Memory ordering
    /// Xen (and through it the peer) reads the entry concurrently, at any time: it
    /// compare-exchanges `flags` together with `domid` (one locked 32-bit operation) and reads
    /// `frame` after it. What must hold:
    /// * A reader that sees `GTF_permit_access` sees this grant's domid and frame. The flags
    ///   store is `Release`, so the two stores before it are ordered before it (on x86 every
    ///   store is, TSO; the release makes the compiler keep the order too). No fence is needed
    ///   for that, unlike upstream's two full barriers.
    /// * Before the flags store nobody acts on the entry: a revoked or never granted entry has
    ///   `flags == 0` (the last revoke zeroed it) and Xen writes the flags only while
    ///   `GTF_permit_access` is set, so plain stores cannot lose a bit Xen set (upstream's
    ///   non-atomic `|=` relies on the same).
    /// * The grant is visible before the peer learns its reference: the caller tells the peer
    ///   with a later store (a ring's producer index, released) or a hypercall (serialising);
    ///   stores become visible in program order, so no trailing fence is needed either.
    pub(super) fn permit(&self, flags: u16, domid: u16, frame: u32) {
        let Some(entry) = self.fields else {
            return;
        };
        // Relaxed: not granted yet (see above); ordered before the flags by its release.
        entry.domid.store(domid, Ordering::Relaxed);
        // Relaxed: as for `domid`.
        entry.frame.store(frame, Ordering::Relaxed);
        // Release: the single write that makes the grant live, after domid and frame.
        entry
            .flags
            .store(flags | GTF_PERMIT_ACCESS, Ordering::Release);
    }

    /// One revoke attempt: clear the whole entry's flags unless the peer is reading or
    /// writing. One compare-exchange of the flags it checks decides: it expects the flags
    /// without `GTF_reading`/`GTF_writing`, so it fails while the peer has the grant mapped or
    /// copied (Xen sets those bits with its own compare-exchange, only while
    /// `GTF_permit_access` is set).
    ///
    /// # Memory ordering
    /// * The compare-exchange is the linearisation point against Xen's: either Xen's comes
    ///   first (the expected value misses its bit: we fail and retry after a yield) or ours
    ///   does (Xen then sees `GTF_permit_access` clear and refuses the map). It writes 0, so
    ///   `GTF_readonly` goes with the same operation (upstream zeroes the entry afterwards).
    /// * On success it acquires what Xen released with its last update of the flags (the end
    ///   of the peer's use), so the caller's reuse of the page happens after it (`AcqRel`).
    /// * domid and frame are cleared afterwards with relaxed stores: with the flags at 0 Xen
    ///   ignores them, and the next Permit's release store orders its own values first.
    pub(super) fn try_revoke(&self) -> bool {
        let Some(entry) = self.fields else {
            // Unusable: `permit` wrote nothing there, so nothing is granted.
            return true;
        };
        // Relaxed: only the expected value; the compare-exchange re-checks it.
        let expected = entry.flags.load(Ordering::Relaxed) & !(GTF_READING | GTF_WRITING);
        if entry
            .flags
            .compare_exchange(expected, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // Relaxed: see above.
        entry.domid.store(0, Ordering::Relaxed);
        // Relaxed: as for `domid`.
        entry.frame.store(0, Ordering::Relaxed);
        true
    }

    /// Query: the frame and whether the grant is read-only.
    pub(super) fn read(&self) -> (u64, bool) {
        let Some(entry) = self.fields else {
            return (0, false);
        };
        // Acquire: pairs with a Permit's release store on another processor, so a granted
        // entry's frame below is the one written before it was granted.
        let flags = entry.flags.load(Ordering::Acquire);
        // Acquire: as before (a snapshot for the caller; nothing else is ordered by it).
        let frame = entry.frame.load(Ordering::Acquire);
        (u64::from(frame), flags & GTF_READONLY != 0)
    }
}
