// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Slabs: page-rounded runs of contiguous pages cut into equal objects, each slab with a
//! `Constructed` and an `Allocated` bit per object, and the occupancy-sorted slab list.

use alloc::vec::Vec;
use core::ptr::NonNull;

use platform_port::{PAGE_SIZE, Pages};

use super::CacheError;

/// Bytes reserved at the start of every slab: the size of upstream's x64 slab header.
///
/// No Rust metadata lives there (the slab's bookkeeping is out of line); keeping the gap keeps
/// upstream's objects-per-slab arithmetic, so capacities (and therefore caps) match upstream.
pub const SLAB_HEADER: usize = 48;

/// Objects are rounded up to a multiple of this (`sizeof (ULONG_PTR)` on x64).
pub const OBJECT_ALIGN: usize = 8;

/// Upstream's slab magic `'BALS'`, written at offset 0 of every slab to make slabs easy to
/// spot in a memory dump (same value as the C multi-character constant).
pub const SLAB_MAGIC: u32 = u32::from_be_bytes(*b"BALS");

/// How objects of one size are laid out in slabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlabLayout {
    /// The object size, rounded up to [`OBJECT_ALIGN`].
    pub size: usize,
    /// Pages per slab: `round_up(SLAB_HEADER + size, PAGE_SIZE) / PAGE_SIZE`.
    pub pages: usize,
    /// Objects per slab: `(pages * PAGE_SIZE - SLAB_HEADER) / size`.
    pub per_slab: u32,
}

/// `value` rounded up to a multiple of `to` (a power of two), if it fits.
const fn round_up(value: usize, to: usize) -> Option<usize> {
    let Some(mask) = to.checked_sub(1) else {
        return None;
    };
    match value.checked_add(mask) {
        Some(sum) => Some(sum & !mask),
        None => None,
    }
}

impl SlabLayout {
    /// The layout for objects of `size` bytes.
    ///
    /// # Errors
    /// [`CacheError::InvalidParameter`] for a zero size or one whose slab does not fit a
    /// `ULONG`-sized allocation (upstream computes slab bytes in a `ULONG`).
    pub fn new(size: u32) -> Result<Self, CacheError> {
        let raw = usize::try_from(size).map_err(|_| CacheError::InvalidParameter)?;
        if raw == 0 {
            return Err(CacheError::InvalidParameter);
        }
        let size = round_up(raw, OBJECT_ALIGN).ok_or(CacheError::InvalidParameter)?;
        let bytes = SLAB_HEADER
            .checked_add(size)
            .and_then(|b| round_up(b, PAGE_SIZE))
            .filter(|&b| u32::try_from(b).is_ok())
            .ok_or(CacheError::InvalidParameter)?;
        let per_slab = bytes
            .checked_sub(SLAB_HEADER)
            .and_then(|room| room.checked_div(size))
            .and_then(|n| u32::try_from(n).ok())
            .filter(|&n| n != 0)
            .ok_or(CacheError::InvalidParameter)?;
        Ok(Self {
            size,
            pages: bytes / PAGE_SIZE,
            per_slab,
        })
    }
}

/// A fixed-size bit set with a population count (upstream's `XENBUS_CACHE_MASK`).
#[derive(Debug)]
pub struct Mask {
    words: Vec<u64>,
    size: u32,
    count: u32,
}

impl Mask {
    /// `size` clear bits.
    ///
    /// # Errors
    /// [`CacheError::NoMemory`].
    pub fn new(size: u32) -> Result<Self, CacheError> {
        let words = usize::try_from(size.div_ceil(64)).map_err(|_| CacheError::NoMemory)?;
        let mut v = Vec::new();
        v.try_reserve_exact(words)
            .map_err(|_| CacheError::NoMemory)?;
        v.resize(words, 0);
        Ok(Self {
            words: v,
            size,
            count: 0,
        })
    }

    const fn word(bit: u32) -> (usize, u64) {
        ((bit / 64) as usize, 1u64 << (bit % 64))
    }

    /// Whether `bit` is set (bits beyond the size read as clear).
    pub fn test(&self, bit: u32) -> bool {
        let (index, value) = Self::word(bit);
        bit < self.size && self.words.get(index).is_some_and(|w| w & value != 0)
    }

    /// Sets `bit`; false if it was set already or lies beyond the size.
    pub fn set(&mut self, bit: u32) -> bool {
        let (index, value) = Self::word(bit);
        if bit >= self.size {
            return false;
        }
        match self.words.get_mut(index) {
            Some(w) if *w & value == 0 => {
                *w |= value;
                self.count = self.count.saturating_add(1);
                true
            }
            _ => false,
        }
    }

    /// Clears `bit`; false if it was clear already or lies beyond the size.
    pub fn clear(&mut self, bit: u32) -> bool {
        let (index, value) = Self::word(bit);
        if bit >= self.size {
            return false;
        }
        match self.words.get_mut(index) {
            Some(w) if *w & value != 0 => {
                *w &= !value;
                self.count = self.count.saturating_sub(1);
                true
            }
            _ => false,
        }
    }

    /// The lowest clear bit at or after `from`.
    pub fn first_clear_from(&self, from: u32) -> Option<u32> {
        (from..self.size).find(|&bit| !self.test(bit))
    }

    /// Bits set.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// Bits in the mask.
    pub const fn size(&self) -> u32 {
        self.size
    }
}

/// One slab. The pages are owned by the slab list and freed by [`Slab::into_pages`]'s caller.
#[derive(Debug)]
pub struct Slab {
    pages: Pages,
    /// Objects whose constructor has run (and whose destructor has not).
    pub constructed: Mask,
    /// Objects handed out (including those parked in a magazine).
    pub allocated: Mask,
}

impl Slab {
    /// A slab over freshly allocated, zeroed `pages` holding `per_slab` objects.
    ///
    /// # Errors
    /// [`CacheError::NoMemory`] for the masks; the pages are handed back in the error path by
    /// the caller (they are returned inside `Err`).
    pub fn new(pages: Pages, per_slab: u32) -> Result<Self, (CacheError, Pages)> {
        let constructed = match Mask::new(per_slab) {
            Ok(mask) => mask,
            Err(e) => return Err((e, pages)),
        };
        let allocated = match Mask::new(per_slab) {
            Ok(mask) => mask,
            Err(e) => return Err((e, pages)),
        };
        // SAFETY: the slab's first page is ours, writable and at least SLAB_HEADER bytes long;
        // objects start after the header, so no object overlaps the magic.
        unsafe { pages.address.cast::<u32>().write(SLAB_MAGIC) };
        Ok(Self {
            pages,
            constructed,
            allocated,
        })
    }

    /// The slab's first byte.
    pub fn base(&self) -> usize {
        self.pages.address.as_ptr().addr()
    }

    /// The address of object `index`.
    pub fn object(&self, layout: &SlabLayout, index: u32) -> Option<NonNull<u8>> {
        let offset = usize::try_from(index)
            .ok()?
            .checked_mul(layout.size)?
            .checked_add(SLAB_HEADER)?;
        if index >= self.allocated.size() {
            return None;
        }
        // SAFETY: `index < per_slab`, so `SLAB_HEADER + index * size` lies inside this slab's
        // allocation (that is how `per_slab` was computed).
        Some(unsafe { self.pages.address.add(offset) })
    }

    /// The index of the object at `address`, if it is exactly one of this slab's objects.
    pub fn index_of(&self, layout: &SlabLayout, address: usize) -> Option<u32> {
        let offset = address.checked_sub(self.base())?.checked_sub(SLAB_HEADER)?;
        // Outside this slab's objects: refuse before dividing (the put path asks every slab).
        if offset >= layout.pages.checked_mul(PAGE_SIZE)? {
            return None;
        }
        if offset.checked_rem(layout.size)? != 0 {
            return None;
        }
        let index = u32::try_from(offset.checked_div(layout.size)?).ok()?;
        (index < self.allocated.size()).then_some(index)
    }

    /// Gives the pages back (for freeing) once every destructor has run.
    pub fn into_pages(self) -> Pages {
        self.pages
    }

    /// Whether every object is handed out.
    pub const fn is_full(&self) -> bool {
        self.allocated.count() >= self.allocated.size()
    }

    /// The constructed but free object with the lowest index, else the lowest unconstructed
    /// one (upstream's choice: the constructed bits always form a prefix).
    pub fn pick(&self) -> Option<u32> {
        if self.allocated.count() < self.constructed.count() {
            let index = self.allocated.first_clear_from(0)?;
            if self.constructed.test(index) {
                return Some(index);
            }
        }
        self.constructed.first_clear_from(self.constructed.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_keeps_upstreams_objects_per_slab() {
        let l = SlabLayout::new(16).unwrap();
        assert_eq!((l.size, l.pages, l.per_slab), (16, 1, (4096 - 48) / 16));
        let l = SlabLayout::new(13).unwrap();
        assert_eq!(l.size, 16);
        let l = SlabLayout::new(4048).unwrap();
        assert_eq!((l.pages, l.per_slab), (1, 1));
        // The sizes upstream cannot look up (appendix A7): two objects in two pages.
        let l = SlabLayout::new(4056).unwrap();
        assert_eq!((l.pages, l.per_slab), (2, 2));
        let l = SlabLayout::new(8192).unwrap();
        assert_eq!((l.pages, l.per_slab), (3, 1));
    }

    #[test]
    fn zero_and_huge_sizes_are_invalid() {
        assert_eq!(SlabLayout::new(0), Err(CacheError::InvalidParameter));
        assert_eq!(SlabLayout::new(u32::MAX), Err(CacheError::InvalidParameter));
    }

    #[test]
    fn mask_counts_and_refuses_double_set_or_clear() {
        let mut m = Mask::new(70).unwrap();
        assert!(m.set(0));
        assert!(m.set(69));
        assert!(!m.set(69));
        assert!(!m.set(70));
        assert_eq!(m.count(), 2);
        assert_eq!(m.first_clear_from(0), Some(1));
        assert!(m.clear(0));
        assert!(!m.clear(0));
        assert_eq!(m.count(), 1);
        assert!(m.test(69) && !m.test(0) && !m.test(500));
    }
}
