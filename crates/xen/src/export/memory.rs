// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Memory*` exports (upstream `src/xen/memory.c`) over [`crate::memory`].

use super::{NtStatus, STATUS_INVALID_PARAMETER, hypercall, put, status};
use crate::memory;

/// `NTSTATUS MemoryAddToPhysmap(PFN_NUMBER Pfn, ULONG Space, ULONG_PTR Offset)`: put item
/// `Offset` of `Space` at frame `Pfn` (the structure's `size` is zeroed, unlike upstream).
///
/// # Safety
/// Whatever backed `pfn` is released to Xen; nothing may still use it.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "MemoryAddToPhysmap")]
#[must_use]
pub unsafe extern "C" fn memory_add_to_physmap(pfn: usize, space: u32, offset: usize) -> NtStatus {
    status(hypercall("MemoryAddToPhysmap", |hv| {
        // SAFETY: the caller gives up the frame, as this function's contract says.
        unsafe { memory::add_to_physmap(hv, pfn as u64, space, offset as u64) }
    }))
}

/// `NTSTATUS MemoryRemoveFromPhysmap(PFN_NUMBER Pfn)`.
///
/// # Safety
/// Nothing may use `pfn` until it is backed again.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "MemoryRemoveFromPhysmap")]
#[must_use]
pub unsafe extern "C" fn memory_remove_from_physmap(pfn: usize) -> NtStatus {
    status(hypercall("MemoryRemoveFromPhysmap", |hv| {
        // SAFETY: the caller gives up the frame, as this function's contract says.
        unsafe { memory::remove_from_physmap(hv, pfn as u64) }
    }))
}

/// The frame array of a reservation call, or `None` if it cannot be one.
///
/// # Safety
/// `pfns` is NULL or points to `count` writable `PFN_NUMBER`s.
unsafe fn frames<'a>(pfns: *mut usize, count: u32) -> Option<&'a mut [u64]> {
    const { assert!(size_of::<usize>() == size_of::<u64>()) };
    let count = usize::try_from(count).ok()?;
    if count == 0 {
        return Some(&mut []);
    }
    if pfns.is_null() || !pfns.cast::<u64>().is_aligned() {
        return None;
    }
    // SAFETY: `count` writable, aligned `PFN_NUMBER`s (64 bits on this target) by the caller's
    // contract; nothing else uses them during the call.
    Some(unsafe { core::slice::from_raw_parts_mut(pfns.cast::<u64>(), count) })
}

/// Shared body of the two reservation exports.
///
/// # Safety
/// As the exports.
unsafe fn reservation(
    function: &str,
    order: u32,
    count: u32,
    pfns: *mut usize,
    result: *mut u32,
    populate: bool,
) -> NtStatus {
    if result.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: the caller's contract for `PfnArray` and `Count`.
    let Some(frames) = (unsafe { frames(pfns, count) }) else {
        return STATUS_INVALID_PARAMETER;
    };
    let r = hypercall(function, |hv| {
        if populate {
            // SAFETY: the caller accepts new memory at these frames.
            unsafe { memory::populate_physmap(hv, order, frames) }
        } else {
            // SAFETY: the caller gives up these frames.
            unsafe { memory::decrease_reservation(hv, order, frames) }
        }
    });
    let r = r.map(|done| u32::try_from(done).unwrap_or(u32::MAX));
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|done| unsafe { put(result, done) }))
}

/// `NTSTATUS MemoryDecreaseReservation(ULONG Order, ULONG Count, PPFN_NUMBER PfnArray, PULONG
/// Result)`: `*Result` is the number of extents released (fewer than `Count` is still success).
///
/// # Safety
/// `PfnArray` holds `Count` writable frame numbers whose memory the caller gives up; `Result`
/// is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "MemoryDecreaseReservation")]
#[must_use]
pub unsafe extern "C" fn memory_decrease_reservation(
    order: u32,
    count: u32,
    pfn_array: *mut usize,
    result: *mut u32,
) -> NtStatus {
    // SAFETY: this function's contract.
    unsafe {
        reservation(
            "MemoryDecreaseReservation",
            order,
            count,
            pfn_array,
            result,
            false,
        )
    }
}

/// `NTSTATUS MemoryPopulatePhysmap(ULONG Order, ULONG Count, PPFN_NUMBER PfnArray, PULONG
/// Result)`: `*Result` is the number of extents populated.
///
/// # Safety
/// `PfnArray` holds `Count` writable frame numbers whose contents the caller lets Xen replace;
/// `Result` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "MemoryPopulatePhysmap")]
#[must_use]
pub unsafe extern "C" fn memory_populate_physmap(
    order: u32,
    count: u32,
    pfn_array: *mut usize,
    result: *mut u32,
) -> NtStatus {
    // SAFETY: this function's contract.
    unsafe {
        reservation(
            "MemoryPopulatePhysmap",
            order,
            count,
            pfn_array,
            result,
            true,
        )
    }
}
