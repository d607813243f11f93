// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The balloon's memory on Windows: the operating-system side of upstream's `balloon.c`
//! (`BalloonAllocatePagesForMdl`, `BalloonFreePages`, `BalloonLowMemory`), over which
//! `crate::balloon` decides everything.
//!
//! - Pages leave Windows with `MmAllocatePagesForMdlEx(0, ~0, 0, n pages, MmCached,
//!   MM_DONT_ZERO_ALLOCATION | MM_ALLOCATE_PREFER_CONTIGUOUS | MM_ALLOCATE_AND_HOT_REMOVE)`:
//!   hot-removed, they belong to no one until given back, so the MDL itself is freed at once
//!   (`ExFreePool`) once its frame numbers are copied; the balloon then gives the frames to Xen.
//! - They come back with `MmAddPhysicalMemory`, one call per run of consecutive frames (the
//!   balloon groups them), after Xen populated them again.
//! - Memory is low while the kernel's named event `\KernelObjects\LowMemoryCondition` is
//!   signalled (`IoCreateNotificationEvent` opens it; polled with a zero-timeout wait).
//!
//! IRQL: `PASSIVE_LEVEL` for all of it (the balloon thread).

use alloc::vec::Vec;
use core::ptr;

use ntddk::routines::{
    ExFreePool, IoCreateNotificationEvent, KeWaitForSingleObject, MmAddPhysicalMemory,
    MmAllocatePagesForMdlEx, ZwClose,
};
use ntddk::{
    Executive, HANDLE, KEVENT, KernelMode, LARGE_INTEGER, MM_ALLOCATE_AND_HOT_REMOVE,
    MM_ALLOCATE_PREFER_CONTIGUOUS, MM_DONT_ZERO_ALLOCATION, MmCached, PAGE_SHIFT, PHYSICAL_ADDRESS,
    UNICODE_STRING,
};
use ntstatus::{NtStatus, STATUS_SUCCESS, STATUS_UNSUCCESSFUL};
use platform_port::Clock;
use platform_windows::WindowsPlatform;

use crate::balloon::BalloonMemory;

/// The kernel's low-memory event.
const LOW_MEMORY_CONDITION: &str = r"\KernelObjects\LowMemoryCondition";

/// The balloon's memory services on Windows (see the module docs).
pub struct WindowsBalloonMemory {
    platform: WindowsPlatform,
    /// `\KernelObjects\LowMemoryCondition`, valid while `handle` is open.
    low_memory: *mut KEVENT,
    /// The handle `IoCreateNotificationEvent` returned; closed on drop.
    handle: HANDLE,
}

// SAFETY: `low_memory` is a kernel event object that stays valid while `handle` is open (until
// drop); the kernel's wait routines may be called on it from any thread.
unsafe impl Send for WindowsBalloonMemory {}
// SAFETY: as for `Send`; nothing here is mutated after construction.
unsafe impl Sync for WindowsBalloonMemory {}

impl WindowsBalloonMemory {
    /// Opens the low-memory event (upstream's `BalloonInitialize`). `PASSIVE_LEVEL`.
    ///
    /// # Errors
    /// `STATUS_UNSUCCESSFUL` when the kernel has no such event.
    pub fn open(platform: WindowsPlatform) -> Result<Self, NtStatus> {
        let mut units: Vec<u16> = LOW_MEMORY_CONDITION.encode_utf16().collect();
        let bytes = u16::try_from(units.len().saturating_mul(2)).unwrap_or(0);
        let mut name = UNICODE_STRING {
            Length: bytes,
            MaximumLength: bytes,
            Buffer: units.as_mut_ptr(),
        };
        let mut handle: HANDLE = ptr::null_mut();
        // SAFETY: PASSIVE_LEVEL; `name` and `handle` are live locals for the call.
        let low_memory = unsafe { IoCreateNotificationEvent(&raw mut name, &raw mut handle) };
        if low_memory.is_null() {
            return Err(STATUS_UNSUCCESSFUL);
        }
        Ok(Self {
            platform,
            low_memory,
            handle,
        })
    }
}

impl Drop for WindowsBalloonMemory {
    fn drop(&mut self) {
        // SAFETY: the handle `open` got, closed once.
        let _ = unsafe { ZwClose(self.handle) };
    }
}

impl BalloonMemory for WindowsBalloonMemory {
    fn allocate(&self, pfns: &mut [u64]) -> usize {
        let bytes = pfns.len().checked_shl(PAGE_SHIFT).unwrap_or(0);
        if bytes == 0 {
            return 0;
        }
        // SAFETY: PASSIVE_LEVEL (the balloon thread); every range and flag as upstream passes
        // them. The pages are hot-removed: ours until `MmAddPhysicalMemory`.
        let mdl = unsafe {
            MmAllocatePagesForMdlEx(
                0,
                -1,
                0,
                bytes,
                MmCached,
                MM_DONT_ZERO_ALLOCATION
                    | MM_ALLOCATE_PREFER_CONTIGUOUS
                    | MM_ALLOCATE_AND_HOT_REMOVE,
            )
        };
        if mdl.is_null() {
            return 0;
        }
        // SAFETY: a live MDL the kernel just built.
        let header = unsafe { mdl.read() };
        let described = usize::try_from(header.ByteCount >> PAGE_SHIFT).unwrap_or(0);
        let count = described.min(pfns.len());
        let array = mdl.wrapping_add(1).cast::<u64>();
        for (i, slot) in pfns.iter_mut().take(count).enumerate() {
            // SAFETY: the MDL's PFN array follows its header and holds `described` entries;
            // `i < count <= described`.
            *slot = unsafe { array.wrapping_add(i).read() };
        }
        // SAFETY: the MDL structure (pool the kernel allocated); the hot-removed pages it
        // described stay ours.
        unsafe { ExFreePool(mdl.cast()) };
        count
    }

    fn add_physical(&self, start: u64, count: u64) -> Result<(), NtStatus> {
        let address = start
            .checked_shl(PAGE_SHIFT)
            .and_then(|a| PHYSICAL_ADDRESS::try_from(a).ok());
        let length = count
            .checked_shl(PAGE_SHIFT)
            .and_then(|b| LARGE_INTEGER::try_from(b).ok());
        let (Some(mut address), Some(mut length)) = (address, length) else {
            return Err(STATUS_UNSUCCESSFUL);
        };
        // SAFETY: PASSIVE_LEVEL; frames this balloon hot-removed and Xen populated again.
        let status = unsafe { MmAddPhysicalMemory(&raw mut address, &raw mut length) };
        if status < 0 { Err(status) } else { Ok(()) }
    }

    fn low_memory(&self) -> bool {
        let mut timeout: LARGE_INTEGER = 0;
        // SAFETY: the open event; a zero timeout only tests its state.
        let status = unsafe {
            KeWaitForSingleObject(
                self.low_memory.cast(),
                Executive,
                KernelMode,
                0,
                &raw mut timeout,
            )
        };
        status == STATUS_SUCCESS
    }

    fn system_time(&self) -> i64 {
        self.platform.system_time()
    }
}
