// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Atomic access to words of pages shared with the guest (Xen updates them with locked
//! operations, and so does the simulator: the guest may touch them from other threads).

use crate::memory::{PAGE_SIZE, Page};
use std::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64};

/// The byte at `offset` of `page` as an atomic.
///
/// # Panics
///
/// When `offset` is beyond the page (a simulator bug: every offset is validated first).
#[must_use]
pub fn u8_at(page: Page, offset: usize) -> &'static AtomicU8 {
    assert!(offset < PAGE_SIZE, "offset {offset} beyond the page");
    let p = page.ptr().wrapping_add(offset);
    // SAFETY: `p` is inside a simulator-owned page that lives as long as the simulator
    // (callers never keep the reference beyond it) and is only ever accessed atomically or by
    // the guest's own volatile/atomic accesses.
    unsafe { AtomicU8::from_ptr(p) }
}

/// The aligned `u16` at `offset` of `page` as an atomic.
///
/// # Panics
///
/// When `offset` is misaligned or beyond the page.
#[must_use]
pub fn u16_at(page: Page, offset: usize) -> &'static AtomicU16 {
    assert!(
        offset.is_multiple_of(2) && offset + 2 <= PAGE_SIZE,
        "bad u16 offset {offset}"
    );
    let p = page.ptr().wrapping_add(offset).cast();
    // SAFETY: as `u8_at`; the offset is aligned and inside the page.
    unsafe { AtomicU16::from_ptr(p) }
}

/// The aligned `u32` at `offset` of `page` as an atomic.
///
/// # Panics
///
/// When `offset` is misaligned or beyond the page.
#[must_use]
pub fn u32_at(page: Page, offset: usize) -> &'static AtomicU32 {
    assert!(
        offset.is_multiple_of(4) && offset + 4 <= PAGE_SIZE,
        "bad u32 offset {offset}"
    );
    let p = page.ptr().wrapping_add(offset).cast();
    // SAFETY: as `u8_at`; the offset is aligned and inside the page.
    unsafe { AtomicU32::from_ptr(p) }
}

/// The aligned `u64` at `offset` of `page` as an atomic.
///
/// # Panics
///
/// When `offset` is misaligned or beyond the page.
#[must_use]
pub fn u64_at(page: Page, offset: usize) -> &'static AtomicU64 {
    assert!(
        offset.is_multiple_of(8) && offset + 8 <= PAGE_SIZE,
        "bad u64 offset {offset}"
    );
    let p = page.ptr().wrapping_add(offset).cast();
    // SAFETY: as `u8_at`; the offset is aligned and inside the page.
    unsafe { AtomicU64::from_ptr(p) }
}
