// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Where the std platform's pages come from.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::Mutex;

use super::locked;
use crate::traits::{PAGE_SHIFT, PAGE_SIZE, Pages, PortError};

/// A provider of physically contiguous pages and of mappings of frames by number.
pub trait PageSource: Send + Sync {
    /// Allocates `count` (non-zero) contiguous zeroed pages.
    ///
    /// # Errors
    /// [`PortError::NoMemory`].
    fn alloc(&self, count: usize) -> Result<Pages, PortError>;

    /// Frees pages from [`PageSource::alloc`].
    ///
    /// # Safety
    /// `pages` came from this source's `alloc` and nothing uses them any more.
    unsafe fn free(&self, pages: Pages);

    /// The address of frame `pfn` (and the `count - 1` after it).
    ///
    /// # Errors
    /// [`PortError::InvalidParameter`] for frames this source does not know.
    fn map(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError>;
}

/// Host memory: a page's frame number is its address >> 12.
#[derive(Debug, Default)]
pub struct HostPages {
    /// First frame -> page count, for `map` validation and `free`.
    live: Mutex<BTreeMap<u64, usize>>,
}

fn layout(count: usize) -> Result<Layout, PortError> {
    let bytes = count.checked_mul(PAGE_SIZE).ok_or(PortError::NoMemory)?;
    Layout::from_size_align(bytes, PAGE_SIZE).map_err(|_| PortError::NoMemory)
}

impl PageSource for HostPages {
    fn alloc(&self, count: usize) -> Result<Pages, PortError> {
        let layout = layout(count)?;
        // SAFETY: `layout` has a non-zero size (count > 0 is checked by the platform).
        let raw = unsafe { alloc_zeroed(layout) };
        let address = NonNull::new(raw).ok_or(PortError::NoMemory)?;
        let pfn = (address.as_ptr().expose_provenance() as u64) >> PAGE_SHIFT;
        locked(&self.live).insert(pfn, count);
        Ok(Pages {
            address,
            pfn,
            count,
        })
    }

    unsafe fn free(&self, pages: Pages) {
        if locked(&self.live).remove(&pages.pfn).is_none() {
            return;
        }
        let Ok(layout) = layout(pages.count) else {
            return;
        };
        // SAFETY: allocated by `alloc` above with this very layout (the live map proved it).
        unsafe { dealloc(pages.address.as_ptr(), layout) };
    }

    fn map(&self, pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
        let live = locked(&self.live);
        let (&first, &pages) = live
            .range(..=pfn)
            .next_back()
            .ok_or(PortError::InvalidParameter)?;
        let end = first
            .checked_add(pages as u64)
            .ok_or(PortError::InvalidParameter)?;
        let last = pfn
            .checked_add(count as u64)
            .ok_or(PortError::InvalidParameter)?;
        if count == 0 || last > end {
            return Err(PortError::InvalidParameter);
        }
        let address =
            usize::try_from(pfn << PAGE_SHIFT).map_err(|_| PortError::InvalidParameter)?;
        // The frame lies in a live allocation whose provenance `alloc` exposed.
        NonNull::new(std::ptr::with_exposed_provenance_mut::<u8>(address))
            .ok_or(PortError::InvalidParameter)
    }
}
