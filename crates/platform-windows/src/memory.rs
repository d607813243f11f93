// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Memory`]'s kernel calls: `MmAllocateContiguousMemory` (zeroed here, the kernel does not),
//! `MmGetPhysicalAddress`, `MmFreeContiguousMemory`, `MmMapIoSpace`, `MmUnmapIoSpace`.
//!
//! [`Memory`]: platform_port::Memory

use core::ptr::NonNull;

use ntddk::{MAXLONGLONG, MmCached};
use platform_port::{IrqlLevel, PAGE_SHIFT, PAGE_SIZE, Pages, PortError};

use crate::kernel::require_at_most;

/// `count` pages in bytes.
fn bytes(count: usize) -> Result<usize, PortError> {
    if count == 0 {
        return Err(PortError::InvalidParameter);
    }
    count
        .checked_mul(PAGE_SIZE)
        .ok_or(PortError::InvalidParameter)
}

/// `count` zeroed, physically contiguous pages. IRQL: `<= DISPATCH_LEVEL`.
///
/// # Errors
/// [`PortError::NoMemory`] when the kernel has none; [`PortError::InvalidParameter`] for a
/// count whose size overflows.
pub fn alloc_pages(count: usize) -> Result<Pages, PortError> {
    require_at_most(
        IrqlLevel::DISPATCH,
        c"MmAllocateContiguousMemory above DISPATCH_LEVEL",
    );
    let size = bytes(count)?;
    // SAFETY: <= DISPATCH_LEVEL; any physical address is acceptable.
    let base = unsafe { ntddk::routines::MmAllocateContiguousMemory(size, MAXLONGLONG) };
    let address = NonNull::new(base.cast::<u8>()).ok_or(PortError::NoMemory)?;
    // SAFETY: `size` bytes of fresh, mapped, non-paged memory that only we know.
    unsafe { address.as_ptr().write_bytes(0, size) };
    // SAFETY: any IRQL for non-paged memory; a mapped address.
    let physical = unsafe { ntddk::routines::MmGetPhysicalAddress(base) };
    Ok(Pages {
        address,
        pfn: physical.cast_unsigned() >> PAGE_SHIFT,
        count,
    })
}

/// Frees [`alloc_pages`]'s pages. IRQL: `<= DISPATCH_LEVEL`.
///
/// # Safety
/// As [`platform_port::Memory::free_pages`].
pub unsafe fn free_pages(pages: &Pages) {
    require_at_most(
        IrqlLevel::DISPATCH,
        c"MmFreeContiguousMemory above DISPATCH_LEVEL",
    );
    // SAFETY: the caller's contract: our allocation, unused from now on.
    unsafe { ntddk::routines::MmFreeContiguousMemory(pages.address.as_ptr().cast()) };
}

/// Maps `count` frames from `pfn`, cached. IRQL: `<= DISPATCH_LEVEL`.
///
/// # Errors
/// [`PortError::Insufficient`] when the range cannot be mapped; [`PortError::InvalidParameter`]
/// for a range whose size or address overflows.
///
/// # Safety
/// As [`platform_port::Memory::map_physical`].
pub unsafe fn map_physical(pfn: u64, count: usize) -> Result<NonNull<u8>, PortError> {
    require_at_most(IrqlLevel::DISPATCH, c"MmMapIoSpace above DISPATCH_LEVEL");
    let size = bytes(count)?;
    let physical = pfn
        .checked_mul(1 << PAGE_SHIFT)
        .and_then(|p| i64::try_from(p).ok())
        .ok_or(PortError::InvalidParameter)?;
    // SAFETY: <= DISPATCH_LEVEL; the caller's contract: RAM that stays valid while mapped.
    let base = unsafe { ntddk::routines::MmMapIoSpace(physical, size, MmCached) };
    NonNull::new(base.cast::<u8>()).ok_or(PortError::Insufficient)
}

/// Undoes [`map_physical`]. IRQL: `<= DISPATCH_LEVEL`.
///
/// # Safety
/// As [`platform_port::Memory::unmap_physical`].
pub unsafe fn unmap_physical(address: NonNull<u8>, count: usize) {
    require_at_most(IrqlLevel::DISPATCH, c"MmUnmapIoSpace above DISPATCH_LEVEL");
    let size = count.saturating_mul(PAGE_SIZE);
    // SAFETY: the caller's contract: one mapping of `count` pages, unused from now on.
    unsafe { ntddk::routines::MmUnmapIoSpace(address.as_ptr().cast(), size) };
}
