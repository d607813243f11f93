// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `SystemMaximumPhysicalAddress`: the physical memory map, read once at `DllInitialize` as
//! upstream's `SystemGetMemoryInformation` does (`src/xen/system.c`).
//!
//! `MmGetPhysicalMemoryRanges` hands out a pool array ended by an all-zero entry; each range is
//! logged (`RANGE[n] start - end`, inclusive, high and low halves), the list is decided by
//! [`crate::system::memory_map`] (which ignores empty, wrapping and out-of-range entries where
//! upstream would take them), the array is freed with `ExFreePool`, and the highest end
//! address is logged and kept for the export. A NULL array fails the load, as upstream's
//! `SystemInitialize` fails.

use core::sync::atomic::{AtomicI64, Ordering};

use ntddk::PHYSICAL_MEMORY_RANGE;

use crate::export::{DebugLevel, debug_message};
use crate::log::LogArg;
use crate::system::{self, PhysicalRange};

/// The answer of `SystemMaximumPhysicalAddress` (0 until read, and after `DllUnload`).
static MAXIMUM: AtomicI64 = AtomicI64::new(0);

/// The high and low halves of `value`, as upstream prints a `PHYSICAL_ADDRESS`.
const fn halves(value: u64) -> [LogArg<'static>; 2] {
    [LogArg::Int(value >> 32), LogArg::Int(value & 0xFFFF_FFFF)]
}

/// Reads, logs and keeps the memory map (`DllInitialize`, PASSIVE_LEVEL).
///
/// # Errors
/// `STATUS_UNSUCCESSFUL` when the kernel returned no array.
pub(super) fn read() -> Result<(), ntstatus::NtStatus> {
    platform_windows::require_at_most(
        platform_port::IrqlLevel::PASSIVE,
        c"MmGetPhysicalMemoryRanges above PASSIVE_LEVEL",
    );
    // SAFETY: PASSIVE_LEVEL (checked above); no arguments.
    let array = unsafe { ntddk::routines::MmGetPhysicalMemoryRanges() };
    if array.is_null() {
        debug_message(
            DebugLevel::Error,
            "SystemGetMemoryInformation",
            b"fail1 (%08x)\n",
            &[LogArg::Int(u64::from(
                ntstatus::STATUS_UNSUCCESSFUL.cast_unsigned(),
            ))],
        );
        return Err(ntstatus::STATUS_UNSUCCESSFUL);
    }
    let ranges = (0usize..).map_while(|index| {
        let entry = array.wrapping_add(index);
        // SAFETY: the kernel's array holds every entry up to and including its all-zero
        // terminator; `memory_map` stops pulling at the terminator (or earlier), so no entry
        // past it is read.
        let range: PHYSICAL_MEMORY_RANGE = unsafe { entry.read_unaligned() };
        let range = PhysicalRange {
            base: range.BaseAddress.cast_unsigned(),
            bytes: range.NumberOfBytes.cast_unsigned(),
        };
        if range.base != 0 || range.bytes != 0 {
            let end = range.base.wrapping_add(range.bytes).wrapping_sub(1);
            let [start_high, start_low] = halves(range.base);
            let [end_high, end_low] = halves(end);
            debug_message(
                DebugLevel::Info,
                "SystemGetMemoryInformation",
                b"RANGE[%u] %08x.%08x - %08x.%08x\n",
                &[
                    LogArg::Int(u64::try_from(index).unwrap_or(u64::MAX)),
                    start_high,
                    start_low,
                    end_high,
                    end_low,
                ],
            );
        }
        Some(range)
    });
    let map = system::memory_map(ranges);
    // SAFETY: the array MmGetPhysicalMemoryRanges returned, no longer read, freed once.
    unsafe { ntddk::routines::ExFreePool(array.cast()) };
    if map.ignored != 0 || map.truncated {
        debug_message(
            DebugLevel::Warning,
            "SystemGetMemoryInformation",
            b"%u ranges ignored%s\n",
            &[
                LogArg::Int(u64::try_from(map.ignored).unwrap_or(u64::MAX)),
                LogArg::Str(Some(if map.truncated {
                    &b", list truncated"[..]
                } else {
                    &b""[..]
                })),
            ],
        );
    }
    MAXIMUM.store(map.maximum_physical_address(), Ordering::Relaxed);
    let [high, low] = halves(map.maximum);
    debug_message(
        DebugLevel::Info,
        "SystemGetMemoryInformation",
        b"MaximumPhysicalAddress = %08x.%08x\n",
        &[high, low],
    );
    Ok(())
}

/// `SystemMaximumPhysicalAddress`'s answer.
pub(super) fn maximum() -> i64 {
    MAXIMUM.load(Ordering::Relaxed)
}

/// The highest page frame of RAM, if the map was read and held RAM.
pub(super) fn maximum_pfn() -> Option<u64> {
    let maximum = maximum();
    (maximum > 0).then(|| maximum.cast_unsigned() >> system::PAGE_SHIFT)
}

/// Forgets the map (`DllUnload`, and a failed `DllInitialize`).
pub(super) fn forget() {
    MAXIMUM.store(0, Ordering::Relaxed);
}
