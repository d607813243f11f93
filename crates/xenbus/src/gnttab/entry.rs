// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Grant entries: the cache object a client holds, and the live v1 entry in a table frame.

use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, Ordering, fence};

use xen_headers::grant_table::{GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_WRITING};

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
pub struct LiveEntry<'a> {
    flags: &'a AtomicU16,
    domid: &'a AtomicU16,
    frame: &'a AtomicU32,
}

impl LiveEntry<'_> {
    /// The entry `index` of the frame mapped at `base`.
    ///
    /// # Safety
    /// `base` maps a whole table frame for the returned value's lifetime, and `index < 512`.
    pub(super) const unsafe fn new<'a>(base: NonNull<u8>, index: u32) -> LiveEntry<'a> {
        let offset = (index as usize).wrapping_mul(ENTRY_SIZE);
        // SAFETY: the entry lies inside the mapped frame (index < 512).
        let entry = unsafe { base.add(offset) };
        // SAFETY: `flags` is the aligned u16 at offset 0 of the entry, valid for the lifetime
        // and only ever accessed atomically (by us, Xen and the peer).
        let flags = unsafe { AtomicU16::from_ptr(entry.as_ptr().cast()) };
        // SAFETY: as above, `domid` at offset 2.
        let domid = unsafe { AtomicU16::from_ptr(entry.as_ptr().wrapping_add(2).cast()) };
        // SAFETY: as above, `frame` at offset 4.
        let frame = unsafe { AtomicU32::from_ptr(entry.as_ptr().wrapping_add(4).cast()) };
        LiveEntry {
            flags,
            domid,
            frame,
        }
    }

    /// Permit: domid, frame and flags first, a barrier, then `GTF_permit_access`.
    pub(super) fn permit(&self, flags: u16, domid: u16, frame: u32) {
        self.domid.store(domid, Ordering::Relaxed);
        self.frame.store(frame, Ordering::Relaxed);
        self.flags.store(flags, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.flags.fetch_or(GTF_PERMIT_ACCESS, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// One revoke attempt: clear `GTF_permit_access` unless the peer is reading or writing;
    /// on success the entry is zeroed.
    pub(super) fn try_revoke(&self) -> bool {
        let old = self.flags.load(Ordering::SeqCst) & !(GTF_READING | GTF_WRITING);
        let new = old & !GTF_PERMIT_ACCESS;
        if self
            .flags
            .compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        self.flags.store(0, Ordering::SeqCst);
        self.domid.store(0, Ordering::Relaxed);
        self.frame.store(0, Ordering::Relaxed);
        true
    }

    /// Query: the frame and whether the grant is read-only.
    pub(super) fn read(&self) -> (u64, bool) {
        let flags = self.flags.load(Ordering::Acquire);
        (
            u64::from(self.frame.load(Ordering::Acquire)),
            flags & GTF_READONLY != 0,
        )
    }
}
