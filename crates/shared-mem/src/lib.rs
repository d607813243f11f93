// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Memory shared with Xen or another domain, reached through one checked type.
//!
//! The xenstore and console rings, `shared_info`, the FIFO event array and the grant table are
//! pages the other side writes whenever it likes, so Rust must never hold a reference into
//! them: the compiler would assume they do not change. [`SharedMem`] is a pointer and a length
//! with methods that read and write by byte offset, each access
//!
//! * bounds-checked (an offset the other side controls can at worst fail the access, never
//!   reach outside the mapping),
//! * alignment-checked (a word access at an unaligned offset fails rather than tearing),
//! * volatile (plain reads and writes: the compiler neither caches nor elides them), or atomic
//!   with the ordering the caller names (indices, flags and the other words a protocol
//!   synchronises on).
//!
//! No method returns a reference into the memory; atomics are used only for the duration of
//! one operation. For a word a hot path touches again and again, [`SharedMem::word`] does the
//! checks once and returns a [`SharedWord`], whose accesses then cannot fail.
//!
//! Layering: a leaf `no_std` crate below the subsystems of `crates/xenbus`.

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};

/// Why an access was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `offset..offset + len` is not inside the view of `size` bytes.
    OutOfBounds {
        /// The offset asked for.
        offset: usize,
        /// The length asked for.
        len: usize,
        /// The view's size.
        size: usize,
    },
    /// `offset` is not a multiple of the access's alignment.
    Misaligned {
        /// The offset asked for.
        offset: usize,
        /// The alignment the access needs.
        align: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::OutOfBounds { offset, len, size } => write!(
                f,
                "shared memory access of {len} bytes at offset {offset:#x} outside {size:#x} bytes"
            ),
            Self::Misaligned { offset, align } => {
                write!(
                    f,
                    "shared memory access at offset {offset:#x} not {align}-aligned"
                )
            }
        }
    }
}

/// A result of a shared-memory access.
pub type Result<T> = core::result::Result<T, Error>;

mod sealed {
    pub trait Sealed {}
}

/// A word that can be read, written and operated on atomically in shared memory.
pub trait Word: sealed::Sealed + Copy + Eq + fmt::Debug {
    /// The atomic type of the same size.
    #[doc(hidden)]
    type Atomic;
    /// Bytes in the word (and its alignment).
    const SIZE: usize;
    /// # Safety
    /// `ptr` is valid, aligned and shared-memory for the call's duration.
    #[doc(hidden)]
    unsafe fn atomic<'a>(ptr: *mut Self) -> &'a Self::Atomic;
}

macro_rules! word {
    ($t:ty, $atomic:ty) => {
        impl sealed::Sealed for $t {}
        impl Word for $t {
            type Atomic = $atomic;
            const SIZE: usize = size_of::<$t>();
            unsafe fn atomic<'a>(ptr: *mut Self) -> &'a $atomic {
                // SAFETY: the caller's contract: valid and aligned for the call.
                unsafe { <$atomic>::from_ptr(ptr) }
            }
        }
    };
}
word!(u8, AtomicU8);
word!(u16, AtomicU16);
word!(u32, AtomicU32);
word!(u64, AtomicU64);

/// The atomic operations on a [`Word`]'s atomic type.
#[doc(hidden)]
pub trait AtomicOps<T> {
    fn load(&self, order: Ordering) -> T;
    fn store(&self, value: T, order: Ordering);
    fn swap(&self, value: T, order: Ordering) -> T;
    fn fetch_or(&self, value: T, order: Ordering) -> T;
    fn fetch_and(&self, value: T, order: Ordering) -> T;
    fn compare_exchange(
        &self,
        current: T,
        new: T,
        success: Ordering,
        failure: Ordering,
    ) -> core::result::Result<T, T>;
}

macro_rules! atomic_ops {
    ($t:ty, $atomic:ty) => {
        impl AtomicOps<$t> for $atomic {
            fn load(&self, order: Ordering) -> $t {
                <$atomic>::load(self, order)
            }
            fn store(&self, value: $t, order: Ordering) {
                <$atomic>::store(self, value, order);
            }
            fn swap(&self, value: $t, order: Ordering) -> $t {
                <$atomic>::swap(self, value, order)
            }
            fn fetch_or(&self, value: $t, order: Ordering) -> $t {
                <$atomic>::fetch_or(self, value, order)
            }
            fn fetch_and(&self, value: $t, order: Ordering) -> $t {
                <$atomic>::fetch_and(self, value, order)
            }
            fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                failure: Ordering,
            ) -> core::result::Result<$t, $t> {
                <$atomic>::compare_exchange(self, current, new, success, failure)
            }
        }
    };
}
atomic_ops!(u8, AtomicU8);
atomic_ops!(u16, AtomicU16);
atomic_ops!(u32, AtomicU32);
atomic_ops!(u64, AtomicU64);

/// A view of memory shared with another domain (see the crate docs).
///
/// Copying a view copies the pointer, not the memory; the mapping's owner decides how long it
/// lives ([`SharedMem::new`]'s contract).
#[derive(Clone, Copy)]
pub struct SharedMem {
    base: NonNull<u8>,
    size: usize,
}

// SAFETY: the view only ever performs volatile or atomic accesses, which are sound from any
// thread on memory that other agents (the other domain, other processors) modify concurrently.
unsafe impl Send for SharedMem {}
// SAFETY: as for `Send`: no method hands out a reference, and every access is volatile/atomic.
unsafe impl Sync for SharedMem {}

impl fmt::Debug for SharedMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMem")
            .field("base", &self.base)
            .field("size", &self.size)
            .finish()
    }
}

impl SharedMem {
    /// A view of `size` bytes at `base`.
    ///
    /// # Safety
    /// `base..base + size` stays mapped, readable and writable for as long as this view or any
    /// copy or sub-view of it is used, and nothing in this program accesses it except through
    /// such views or by hardware/hypervisor means (the other domain may change any byte at any
    /// time).
    #[must_use]
    pub const unsafe fn new(base: NonNull<u8>, size: usize) -> Self {
        Self { base, size }
    }

    /// Bytes in the view.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.size
    }

    /// Whether the view is empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The first byte's address (to unmap the memory, or to give its address to the
    /// hypervisor).
    #[must_use]
    pub const fn as_ptr(&self) -> NonNull<u8> {
        self.base
    }

    fn check(&self, offset: usize, len: usize, align: usize) -> Result<*mut u8> {
        let end = offset.checked_add(len);
        if end.is_none_or(|end| end > self.size) {
            return Err(Error::OutOfBounds {
                offset,
                len,
                size: self.size,
            });
        }
        let ptr = self.base.as_ptr().wrapping_add(offset);
        if !(ptr as usize).is_multiple_of(align) {
            return Err(Error::Misaligned { offset, align });
        }
        Ok(ptr)
    }

    /// The sub-view `offset..offset + len`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`].
    pub fn slice(&self, offset: usize, len: usize) -> Result<Self> {
        let ptr = self.check(offset, len, 1)?;
        // A pointer into a non-null mapping at an in-bounds offset is not null; the fallback
        // keeps the empty view at the base.
        let base = NonNull::new(ptr).unwrap_or(self.base);
        Ok(Self { base, size: len })
    }

    /// A volatile read of the `T` at `offset`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn read<T: Word>(&self, offset: usize) -> Result<T> {
        let ptr = self.check(offset, T::SIZE, T::SIZE)?.cast::<T>();
        // SAFETY: in bounds and aligned (checked), mapped for the view's life (`new`).
        Ok(unsafe { ptr.read_volatile() })
    }

    /// A volatile write of `value` at `offset`.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn write<T: Word>(&self, offset: usize, value: T) -> Result<()> {
        let ptr = self.check(offset, T::SIZE, T::SIZE)?.cast::<T>();
        // SAFETY: in bounds and aligned (checked), mapped and writable (`new`).
        unsafe { ptr.write_volatile(value) };
        Ok(())
    }

    fn atomic<T: Word>(&self, offset: usize) -> Result<*mut T> {
        Ok(self.check(offset, T::SIZE, T::SIZE)?.cast::<T>())
    }

    /// An atomic load.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn load<T: Word>(&self, offset: usize, order: Ordering) -> Result<T>
    where
        T::Atomic: AtomicOps<T>,
    {
        let ptr = self.atomic::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked); the atomic lives only for this operation.
        Ok(unsafe { T::atomic(ptr) }.load(order))
    }

    /// An atomic store.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn store<T: Word>(&self, offset: usize, value: T, order: Ordering) -> Result<()>
    where
        T::Atomic: AtomicOps<T>,
    {
        let ptr = self.atomic::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked); the atomic lives only for this operation.
        unsafe { T::atomic(ptr) }.store(value, order);
        Ok(())
    }

    /// An atomic swap; returns the previous value.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn swap<T: Word>(&self, offset: usize, value: T, order: Ordering) -> Result<T>
    where
        T::Atomic: AtomicOps<T>,
    {
        let ptr = self.atomic::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked); the atomic lives only for this operation.
        Ok(unsafe { T::atomic(ptr) }.swap(value, order))
    }

    /// An atomic OR; returns the previous value.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn fetch_or<T: Word>(&self, offset: usize, value: T, order: Ordering) -> Result<T>
    where
        T::Atomic: AtomicOps<T>,
    {
        let ptr = self.atomic::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked); the atomic lives only for this operation.
        Ok(unsafe { T::atomic(ptr) }.fetch_or(value, order))
    }

    /// An atomic AND; returns the previous value.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn fetch_and<T: Word>(&self, offset: usize, value: T, order: Ordering) -> Result<T>
    where
        T::Atomic: AtomicOps<T>,
    {
        let ptr = self.atomic::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked); the atomic lives only for this operation.
        Ok(unsafe { T::atomic(ptr) }.fetch_and(value, order))
    }

    /// An atomic compare-and-exchange: `Ok(previous)` when the word held `current` and now
    /// holds `new`, `Err(actual)` otherwise (the access itself succeeded).
    ///
    /// # Errors
    /// The outer [`Error`] when the access is out of bounds or misaligned.
    pub fn compare_exchange<T: Word>(
        &self,
        offset: usize,
        current: T,
        new: T,
        success: Ordering,
        failure: Ordering,
    ) -> Result<core::result::Result<T, T>>
    where
        T::Atomic: AtomicOps<T>,
    {
        let ptr = self.atomic::<T>(offset)?;
        // SAFETY: in bounds and aligned (checked); the atomic lives only for this operation.
        Ok(unsafe { T::atomic(ptr) }.compare_exchange(current, new, success, failure))
    }

    /// Copies `out.len()` bytes from `offset` into `out`, byte by byte with volatile reads.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] (nothing is copied).
    pub fn read_bytes(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        let ptr = self.check(offset, out.len(), 1)?;
        for (i, slot) in out.iter_mut().enumerate() {
            // SAFETY: `offset + i` is inside the checked range.
            *slot = unsafe { ptr.wrapping_add(i).read_volatile() };
        }
        Ok(())
    }

    /// Copies `data` to `offset`, byte by byte with volatile writes.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] (nothing is written).
    pub fn write_bytes(&self, offset: usize, data: &[u8]) -> Result<()> {
        let ptr = self.check(offset, data.len(), 1)?;
        for (i, &byte) in data.iter().enumerate() {
            // SAFETY: `offset + i` is inside the checked range.
            unsafe { ptr.wrapping_add(i).write_volatile(byte) };
        }
        Ok(())
    }

    /// Sets `len` bytes at `offset` to `byte` with volatile writes.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] (nothing is written).
    pub fn fill(&self, offset: usize, len: usize, byte: u8) -> Result<()> {
        let ptr = self.check(offset, len, 1)?;
        for i in 0..len {
            // SAFETY: `offset + i` is inside the checked range.
            unsafe { ptr.wrapping_add(i).write_volatile(byte) };
        }
        Ok(())
    }
}

/// One word of shared memory whose bounds and alignment were checked once, when it was taken
/// from a view with [`SharedMem::word`]; its accesses then cannot fail.
///
/// For the words a hot path touches again and again (a grant entry's fields, an event word, a
/// selector): validate the index or port once, take the word, and operate on it without a
/// `Result` per access. Like [`SharedMem`] it is a pointer, never a reference into the memory:
/// every access is volatile or one atomic operation, and copying it copies the pointer. It is
/// a sub-view: the contract of the [`SharedMem::new`] it came from covers it.
#[derive(Clone, Copy)]
pub struct SharedWord<T: Word> {
    ptr: NonNull<T>,
}

// SAFETY: as for `SharedMem`: only volatile or atomic accesses, no reference handed out.
unsafe impl<T: Word> Send for SharedWord<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Word> Sync for SharedWord<T> {}

impl<T: Word> fmt::Debug for SharedWord<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedWord")
            .field("ptr", &self.ptr)
            .finish()
    }
}

impl SharedMem {
    /// The `T` at `offset`, checked once (in bounds and aligned) for accesses that cannot fail.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] or [`Error::Misaligned`].
    pub fn word<T: Word>(&self, offset: usize) -> Result<SharedWord<T>> {
        let ptr = self.check(offset, T::SIZE, T::SIZE)?.cast::<T>();
        // A pointer into a non-null mapping at an in-bounds offset is not null; should it be,
        // the word is refused like any other bad offset.
        let ptr = NonNull::new(ptr).ok_or(Error::OutOfBounds {
            offset,
            len: T::SIZE,
            size: self.size,
        })?;
        Ok(SharedWord { ptr })
    }
}

impl<T: Word> SharedWord<T>
where
    T::Atomic: AtomicOps<T>,
{
    /// The word's address (for diagnostics).
    #[must_use]
    pub const fn as_ptr(&self) -> NonNull<T> {
        self.ptr
    }

    /// The atomic over the word, for one operation.
    fn atomic(&self) -> &T::Atomic {
        // SAFETY: checked in bounds and aligned by `SharedMem::word`; mapped for the view's
        // life (`SharedMem::new`); the atomic lives only for the caller's one operation.
        unsafe { T::atomic(self.ptr.as_ptr()) }
    }

    /// A volatile read.
    #[must_use]
    pub fn read(&self) -> T {
        // SAFETY: in bounds and aligned (checked when taken), mapped for the view's life.
        unsafe { self.ptr.as_ptr().read_volatile() }
    }

    /// A volatile write.
    pub fn write(&self, value: T) {
        // SAFETY: in bounds and aligned (checked when taken), mapped and writable.
        unsafe { self.ptr.as_ptr().write_volatile(value) };
    }

    /// An atomic load.
    #[must_use]
    pub fn load(&self, order: Ordering) -> T {
        self.atomic().load(order)
    }

    /// An atomic store.
    pub fn store(&self, value: T, order: Ordering) {
        self.atomic().store(value, order);
    }

    /// An atomic swap; returns the previous value.
    pub fn swap(&self, value: T, order: Ordering) -> T {
        self.atomic().swap(value, order)
    }

    /// An atomic OR; returns the previous value.
    pub fn fetch_or(&self, value: T, order: Ordering) -> T {
        self.atomic().fetch_or(value, order)
    }

    /// An atomic AND; returns the previous value.
    pub fn fetch_and(&self, value: T, order: Ordering) -> T {
        self.atomic().fetch_and(value, order)
    }

    /// An atomic compare-and-exchange: `Ok(previous)` when the word held `current` and now
    /// holds `new`, `Err(actual)` otherwise.
    ///
    /// # Errors
    /// `Err(actual)` when the word did not hold `current` (nothing was written).
    pub fn compare_exchange(
        &self,
        current: T,
        new: T,
        success: Ordering,
        failure: Ordering,
    ) -> core::result::Result<T, T> {
        self.atomic()
            .compare_exchange(current, new, success, failure)
    }
}

#[cfg(test)]
mod tests;
