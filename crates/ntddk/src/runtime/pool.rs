// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Pool allocation.
//!
//! `ExAllocatePool2` where the kernel has it (Windows 10 2004 and later), resolved at run time; `ExAllocatePoolWithTag` on `NonPagedPoolNx` otherwise (older Windows,
//! Wine). Blocks are not zeroed on either path unless asked.
//!
//! IRQL: non-paged pool may be allocated and freed at DISPATCH_LEVEL or below; a request above
//! is a kernel rule broken and stops the machine with [`super::fatal`] rather than corrupting it.
//!
//! Alignment: pool blocks are 16-byte aligned, and page-aligned when at least a page long, so
//! alignments up to a page are served by rounding the size up to a page; larger ones fail.

use core::alloc::Layout;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::consts::{NonPagedPoolNx, PAGE_SIZE, POOL_FLAG_NON_PAGED, POOL_FLAG_UNINITIALIZED};
use crate::irql::{self, DISPATCH_LEVEL};
use crate::types::{POOL_FLAGS, PVOID, SIZE_T, UNICODE_STRING};

/// `ExAllocatePool2`'s signature.
type AllocatePool2 = unsafe extern "system" fn(POOL_FLAGS, SIZE_T, u32) -> PVOID;

/// `ExAllocatePool2`, once resolved; NULL when this kernel lacks it.
static ALLOCATE_POOL2: AtomicPtr<core::ffi::c_void> = AtomicPtr::new(core::ptr::null_mut());

/// Blocks allocated and not yet freed by this image.
static OUTSTANDING: AtomicUsize = AtomicUsize::new(0);

/// Looks `ExAllocatePool2` up (PASSIVE_LEVEL).
pub(super) fn resolve() {
    let mut name: [u16; 16] = [0; 16];
    for (slot, unit) in name.iter_mut().zip("ExAllocatePool2".encode_utf16()) {
        *slot = unit;
    }
    let mut string = UNICODE_STRING {
        Length: 30,
        MaximumLength: 32,
        Buffer: name.as_mut_ptr(),
    };
    // SAFETY: `string` describes 15 valid UTF-16 units; the routine only reads it.
    let found = unsafe { crate::routines::MmGetSystemRoutineAddress(&raw mut string) };
    ALLOCATE_POOL2.store(found, Ordering::Release);
}

/// Whether `ExAllocatePool2` was found (tests and logs).
#[must_use]
pub fn has_allocate_pool2() -> bool {
    !ALLOCATE_POOL2.load(Ordering::Acquire).is_null()
}

/// Blocks this image holds (for the leak checks on unload and failed initialisation).
#[must_use]
pub fn outstanding() -> usize {
    OUTSTANDING.load(Ordering::Relaxed)
}

/// Allocates non-paged pool for `layout` with `tag`, or returns NULL.
pub fn allocate(layout: Layout, tag: u32) -> *mut u8 {
    let irql = irql::current();
    if irql > DISPATCH_LEVEL {
        super::fatal(
            c"non-paged pool allocated above DISPATCH_LEVEL",
            usize::from(irql),
        );
    }
    let size = match layout.align() {
        0..=16 => layout.size().max(1),
        a if a <= PAGE_SIZE => layout.size().max(PAGE_SIZE),
        _ => return core::ptr::null_mut(),
    };
    let pool2 = ALLOCATE_POOL2.load(Ordering::Acquire);
    let p = if pool2.is_null() {
        // SAFETY: a documented routine called at <= DISPATCH_LEVEL for non-paged pool.
        unsafe { crate::routines::ExAllocatePoolWithTag(NonPagedPoolNx, size, tag) }
    } else {
        // SAFETY: `pool2` is the kernel's `ExAllocatePool2`, whose signature this is.
        let f = unsafe { core::mem::transmute::<PVOID, AllocatePool2>(pool2) };
        // SAFETY: a documented routine called at <= DISPATCH_LEVEL for non-paged pool.
        unsafe { f(POOL_FLAG_NON_PAGED | POOL_FLAG_UNINITIALIZED, size, tag) }
    };
    if !p.is_null() {
        OUTSTANDING.fetch_add(1, Ordering::Relaxed);
    }
    p.cast()
}

/// Frees a block from [`allocate`].
///
/// # Safety
/// `p` came from [`allocate`] with the same `tag` and is not used afterwards.
pub unsafe fn deallocate(p: *mut u8, tag: u32) {
    let irql = irql::current();
    if irql > DISPATCH_LEVEL {
        super::fatal(
            c"non-paged pool freed above DISPATCH_LEVEL",
            usize::from(irql),
        );
    }
    // SAFETY: the caller's contract: a live block of ours with this tag.
    unsafe { crate::routines::ExFreePoolWithTag(p.cast(), tag) };
    OUTSTANDING.fetch_sub(1, Ordering::Relaxed);
}
