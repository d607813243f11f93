// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Physical memory: `MmAllocateContiguousMemory`, `MmAllocateContiguousMemorySpecifyCache`,
//! `MmFreeContiguousMemory`, `MmGetPhysicalAddress`, `MmMapIoSpace`, `MmMapIoSpaceEx`,
//! `MmUnmapIoSpace`.
//!
//! Contiguous memory comes from the kernel's allocator, page-aligned, in the boot identity map:
//! physically contiguous, its physical (guest-physical, what a driver hands Xen) address equal
//! to its virtual one. Like Windows it is not zeroed (it is filled with `0xAA`, so a driver that
//! relies on zeroes shows); freed blocks are filled with `0xDF` and never reused.
//! `MmGetPhysicalAddress` walks the page tables (identity map, image, stack and I/O mappings).
//! `MmMapIoSpace` maps the pages of a physical range at a fresh system address
//! (`0xFFFFF808'...`, an unmapped page after each mapping), never executable, uncached (`PCD`,
//! `PWT`) unless `MmCached`; `MmUnmapIoSpace` removes it, so a stale pointer faults.
//!
//! Checked: the IRQL (`DISPATCH_LEVEL` at most), a zero size, an unknown caching type or
//! protection (executable I/O space is refused), a boundary that is not a power of two; frees of
//! what is not a contiguous block (freed twice or never allocated, told apart), unmaps that
//! do not match a mapping's address and size; blocks still holding an armed timer or a waited-on
//! object when freed (`sched::freeing`); and (at unload, [`leftovers_in`]) blocks and mappings
//! an image still holds.

use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL};
use crate::nt::{sched, vm};
use alloc::alloc::{Layout, alloc};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;

/// `MEMORY_CACHING_TYPE`: `MmNonCached`, `MmCached`, `MmWriteCombined`.
const MM_NON_CACHED: i32 = 0;
const MM_CACHED: i32 = 1;
const MM_WRITE_COMBINED: i32 = 2;
/// Page protections `MmMapIoSpaceEx` takes.
const PAGE_READONLY: u32 = 0x02;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_EXECUTE_ANY: u32 = 0xf0;
const PAGE_NOCACHE: u32 = 0x200;
const PAGE_WRITECOMBINE: u32 = 0x400;
/// Where I/O space is mapped.
const IO_REGION: u64 = 0xffff_f808_0000_0000;
/// The largest contiguous allocation served.
const MAX_CONTIGUOUS: usize = 1 << 20;
const PAGE: usize = 4096;
const FILL_UNINITIALIZED: u8 = 0xaa;
const FILL_FREED: u8 = 0xdf;

/// A live contiguous block.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// Bytes (whole pages).
    pub size: usize,
    /// Who allocated it.
    pub caller: u64,
}

/// A live I/O-space mapping.
#[derive(Debug, Clone, Copy)]
pub struct Mapping {
    /// The physical address mapped.
    pub physical: u64,
    /// Bytes asked for.
    pub size: usize,
    /// Pages mapped.
    pub pages: u64,
    /// Who mapped it.
    pub caller: u64,
}

struct Mm {
    live: BTreeMap<usize, Block>,
    freed: BTreeMap<usize, u64>,
    maps: BTreeMap<u64, Mapping>,
    next_io: u64,
    allocations: u64,
}

static MM: spin::Mutex<Mm> = spin::Mutex::new(Mm {
    live: BTreeMap::new(),
    freed: BTreeMap::new(),
    maps: BTreeMap::new(),
    next_io: IO_REGION,
    allocations: 0,
});

/// Allocates `bytes` of contiguous memory between `lowest` and `highest` (inclusive) that does
/// not cross a multiple of `boundary` (0: any); NULL when that cannot be had.
fn allocate(call: &Call, bytes: usize, lowest: i64, highest: i64, boundary: i64) -> *mut c_void {
    call.at_most(DISPATCH_LEVEL);
    call.require(bytes != 0, format_args!("NumberOfBytes is 0"));
    call.require(
        boundary >= 0 && (boundary == 0 || boundary.unsigned_abs().is_power_of_two()),
        format_args!("BoundaryAddressMultiple {boundary:#x} is not 0 or a power of two"),
    );
    let size = bytes.next_multiple_of(PAGE);
    let boundary = usize::try_from(boundary).unwrap_or(0);
    if size > MAX_CONTIGUOUS || (boundary != 0 && size > boundary) {
        return core::ptr::null_mut();
    }
    // Aligned to the boundary, the block cannot cross one.
    let align = boundary.max(PAGE);
    let Ok(layout) = Layout::from_size_align(size, align) else {
        return core::ptr::null_mut();
    };
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc(layout) };
    if p.is_null() {
        return p.cast();
    }
    let physical = vm::translate(p.addr() as u64).unwrap_or(u64::MAX);
    let end = physical.saturating_add(size as u64 - 1);
    if physical < lowest.unsigned_abs() || end > highest.max(0).unsigned_abs() {
        // The allocator's memory lies elsewhere; this block is lost, as the request fails.
        return core::ptr::null_mut();
    }
    // SAFETY: a fresh allocation of `size` bytes.
    unsafe { p.write_bytes(FILL_UNINITIALIZED, size) };
    let mut mm = MM.lock();
    mm.freed.remove(&p.addr());
    mm.live.insert(
        p.addr(),
        Block {
            size,
            caller: call.caller,
        },
    );
    mm.allocations += 1;
    p.cast()
}

/// `PVOID MmAllocateContiguousMemory(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS
/// HighestAcceptableAddress)`: cached, page-aligned, not zeroed. <= DISPATCH_LEVEL.
pub extern "win64" fn mm_allocate_contiguous_memory(bytes: usize, highest: i64) -> *mut c_void {
    let call = verifier::enter("MmAllocateContiguousMemory");
    allocate(&call, bytes, 0, highest, 0)
}

/// `PVOID MmAllocateContiguousMemorySpecifyCache(SIZE_T NumberOfBytes, PHYSICAL_ADDRESS
/// LowestAcceptableAddress, PHYSICAL_ADDRESS HighestAcceptableAddress, PHYSICAL_ADDRESS
/// BoundaryAddressMultiple, MEMORY_CACHING_TYPE CacheType)`. <= DISPATCH_LEVEL. The identity
/// map stays cached whatever the type (RAM is write-back under Xen's HVM memory types).
pub extern "win64" fn mm_allocate_contiguous_memory_specify_cache(
    bytes: usize,
    lowest: i64,
    highest: i64,
    boundary: i64,
    cache: i32,
) -> *mut c_void {
    let call = verifier::enter("MmAllocateContiguousMemorySpecifyCache");
    call.require(
        matches!(cache, MM_NON_CACHED | MM_CACHED | MM_WRITE_COMBINED),
        format_args!("CacheType {cache} is not a MEMORY_CACHING_TYPE"),
    );
    allocate(&call, bytes, lowest, highest, boundary)
}

/// `VOID MmFreeContiguousMemory(PVOID BaseAddress)`. <= DISPATCH_LEVEL.
pub extern "win64" fn mm_free_contiguous_memory(base: *mut c_void) {
    let call = verifier::enter("MmFreeContiguousMemory");
    call.at_most(DISPATCH_LEVEL);
    call.require(!base.is_null(), format_args!("BaseAddress is NULL"));
    let a = base.addr();
    let (block, freed_by) = {
        let mm = MM.lock();
        (mm.live.get(&a).copied(), mm.freed.get(&a).copied())
    };
    let Some(block) = block else {
        let Some(by) = freed_by else {
            call.fail(format_args!(
                "{a:#x} is not the base of a block MmAllocateContiguousMemory returned"
            ));
        };
        call.fail(format_args!(
            "{a:#x} freed twice (first freed from {})",
            Where(by)
        ));
    };
    sched::freeing(&call, a, block.size);
    // SAFETY: the block's `size` bytes are the kernel's again; nothing may use them after the
    // free.
    unsafe { base.cast::<u8>().write_bytes(FILL_FREED, block.size) };
    let mut mm = MM.lock();
    mm.live.remove(&a);
    mm.freed.insert(a, call.caller);
}

/// `PHYSICAL_ADDRESS MmGetPhysicalAddress(PVOID BaseAddress)`: 0 for an address nothing maps.
/// Any IRQL.
pub extern "win64" fn mm_get_physical_address(base: *mut c_void) -> i64 {
    let _call = verifier::enter("MmGetPhysicalAddress");
    vm::translate(base.addr() as u64)
        .and_then(|p| i64::try_from(p).ok())
        .unwrap_or(0)
}

/// Maps `bytes` at physical `physical`.
fn map(call: &Call, physical: i64, bytes: usize, read_only: bool, cached: bool) -> *mut c_void {
    call.at_most(DISPATCH_LEVEL);
    call.require(bytes != 0, format_args!("NumberOfBytes is 0"));
    call.require(
        physical >= 0,
        format_args!("PhysicalAddress {physical:#x} is negative"),
    );
    let physical = physical.unsigned_abs();
    let offset = physical % PAGE as u64;
    let Some(pages) = (bytes as u64)
        .checked_add(offset)
        .map(|b| b.div_ceil(PAGE as u64))
    else {
        return core::ptr::null_mut();
    };
    let mut mm = MM.lock();
    let virt = mm.next_io;
    // One unmapped page after each mapping.
    let Some(next) = pages
        .checked_add(1)
        .and_then(|p| p.checked_mul(PAGE as u64))
        .and_then(|b| virt.checked_add(b))
    else {
        return core::ptr::null_mut();
    };
    if !vm::map_io(virt, physical - offset, pages, read_only, cached) {
        return core::ptr::null_mut();
    }
    mm.next_io = next;
    mm.maps.insert(
        virt + offset,
        Mapping {
            physical,
            size: bytes,
            pages,
            caller: call.caller,
        },
    );
    core::ptr::with_exposed_provenance_mut(usize::try_from(virt + offset).unwrap_or(0))
}

/// `PVOID MmMapIoSpace(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes,
/// MEMORY_CACHING_TYPE CacheType)`. <= DISPATCH_LEVEL.
pub extern "win64" fn mm_map_io_space(physical: i64, bytes: usize, cache: i32) -> *mut c_void {
    let call = verifier::enter("MmMapIoSpace");
    call.require(
        matches!(cache, MM_NON_CACHED | MM_CACHED | MM_WRITE_COMBINED),
        format_args!("CacheType {cache} is not a MEMORY_CACHING_TYPE"),
    );
    map(&call, physical, bytes, false, cache == MM_CACHED)
}

/// `PVOID MmMapIoSpaceEx(PHYSICAL_ADDRESS PhysicalAddress, SIZE_T NumberOfBytes, ULONG
/// Protect)`: `PAGE_READWRITE` or `PAGE_READONLY`, optionally with `PAGE_NOCACHE` or
/// `PAGE_WRITECOMBINE`. <= DISPATCH_LEVEL.
pub extern "win64" fn mm_map_io_space_ex(physical: i64, bytes: usize, protect: u32) -> *mut c_void {
    let call = verifier::enter("MmMapIoSpaceEx");
    call.require(
        protect & PAGE_EXECUTE_ANY == 0,
        format_args!("Protect {protect:#x} asks for executable I/O space"),
    );
    let access = protect & !(PAGE_NOCACHE | PAGE_WRITECOMBINE);
    call.require(
        matches!(access, PAGE_READONLY | PAGE_READWRITE)
            && protect & (PAGE_NOCACHE | PAGE_WRITECOMBINE) != (PAGE_NOCACHE | PAGE_WRITECOMBINE),
        format_args!("Protect {protect:#x} is not PAGE_READWRITE or PAGE_READONLY with at most one of PAGE_NOCACHE, PAGE_WRITECOMBINE"),
    );
    let cached = protect & (PAGE_NOCACHE | PAGE_WRITECOMBINE) == 0;
    map(&call, physical, bytes, access == PAGE_READONLY, cached)
}

/// `VOID MmUnmapIoSpace(PVOID BaseAddress, SIZE_T NumberOfBytes)`: exactly one earlier mapping.
/// <= DISPATCH_LEVEL.
pub extern "win64" fn mm_unmap_io_space(base: *mut c_void, bytes: usize) {
    let call = verifier::enter("MmUnmapIoSpace");
    call.at_most(DISPATCH_LEVEL);
    let a = base.addr() as u64;
    let mapping = MM.lock().maps.get(&a).copied();
    let Some(m) = mapping else {
        call.fail(format_args!(
            "{a:#x} is not an address MmMapIoSpace returned (or it was unmapped already)"
        ));
    };
    call.require(
        m.size == bytes,
        format_args!(
            "NumberOfBytes {bytes:#x} is not the {:#x} bytes mapped at {a:#x} (mapped from {})",
            m.size,
            Where(m.caller)
        ),
    );
    vm::unmap(a - a % PAGE as u64, m.pages);
    MM.lock().maps.remove(&a);
}

/// The contiguous blocks and I/O mappings image `index` still holds: two lines of findings.
pub fn leftovers_in(index: usize) -> [(&'static str, Vec<String>); 2] {
    let of = |a: u64| loader::containing(a) == Some(index);
    let mm = MM.lock();
    [
        (
            "contiguous blocks held",
            mm.live
                .iter()
                .filter(|(_, b)| of(b.caller))
                .map(|(a, b)| alloc::format!("{a:#x} ({} bytes) from {}", b.size, Where(b.caller)))
                .collect(),
        ),
        (
            "I/O-space mappings held",
            mm.maps
                .iter()
                .filter(|(_, m)| of(m.caller))
                .map(|(a, m)| {
                    alloc::format!(
                        "{a:#x} -> {:#x} ({} bytes) from {}",
                        m.physical,
                        m.size,
                        Where(m.caller)
                    )
                })
                .collect(),
        ),
    ]
}

/// Live contiguous blocks and mappings (all callers), and contiguous allocations made so far.
pub fn counts() -> (usize, usize, u64) {
    let mm = MM.lock();
    (mm.live.len(), mm.maps.len(), mm.allocations)
}
