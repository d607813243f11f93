// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`SharedPages`]: page-aligned memory the fuzzer owns and plays the other side of (Xen, a
//! backend, xenstored) on. The product code reaches it only through its own `SharedMem` views;
//! the fuzzer writes it with volatile accesses between the product's calls (one thread, so
//! never concurrently with them).

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::ptr::NonNull;

/// Zeroed, page-aligned pages.
pub struct SharedPages {
    ptr: NonNull<u8>,
    len: usize,
}

impl SharedPages {
    /// `count` zeroed pages (at least one).
    ///
    /// # Panics
    /// When the allocation fails.
    #[must_use]
    pub fn new(count: usize) -> Self {
        let len = count.max(1) * 4096;
        let layout = Layout::from_size_align(len, 4096).expect("a page layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("pages");
        Self { ptr, len }
    }

    /// The first byte.
    #[must_use]
    pub const fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// The byte at `offset` (which must be inside), as a pointer.
    #[must_use]
    pub fn at(&self, offset: usize) -> NonNull<u8> {
        assert!(offset < self.len, "offset {offset} outside the pages");
        // SAFETY: inside the allocation (checked).
        unsafe { self.ptr.add(offset) }
    }

    /// Bytes in the pages.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always false (at least one page).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    fn check<T>(&self, offset: usize) {
        assert!(
            offset + size_of::<T>() <= self.len,
            "access of {} bytes at {offset}",
            size_of::<T>()
        );
    }

    /// Reads a plain-data `T` (an integer) at `offset` (in bounds; any alignment).
    #[must_use]
    pub fn read<T: Copy>(&self, offset: usize) -> T {
        self.check::<T>(offset);
        // SAFETY: in bounds (checked); the memory is ours and initialised, and `T` is an
        // integer type, valid for any bytes. An unaligned offset is read as bytes.
        unsafe {
            let p = self.ptr.add(offset);
            if offset.is_multiple_of(align_of::<T>()) {
                p.cast::<T>().read_volatile()
            } else {
                p.cast::<T>().read_unaligned()
            }
        }
    }

    /// Writes a plain-data `T` at `offset` (in bounds; any alignment).
    pub fn write<T: Copy>(&self, offset: usize, value: T) {
        self.check::<T>(offset);
        // SAFETY: in bounds (checked); nothing else runs meanwhile.
        unsafe {
            let p = self.ptr.add(offset);
            if offset.is_multiple_of(align_of::<T>()) {
                p.cast::<T>().write_volatile(value);
            } else {
                p.cast::<T>().write_unaligned(value);
            }
        }
    }

    /// Copies `bytes` in at `offset`, cut at the end of the pages.
    pub fn write_bytes(&self, offset: usize, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            if offset + i < self.len {
                self.write::<u8>(offset + i, b);
            }
        }
    }

    /// A copy of `len` bytes from `offset`.
    #[must_use]
    pub fn snapshot(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset + len <= self.len);
        let mut out = vec![0u8; len];
        // SAFETY: in bounds (checked); single-threaded, so nothing writes meanwhile.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.add(offset).as_ptr(), out.as_mut_ptr(), len)
        };
        out
    }
}

impl Drop for SharedPages {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.len, 4096).expect("a page layout");
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), layout) };
    }
}
