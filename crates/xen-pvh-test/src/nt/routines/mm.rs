// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Physical memory: `MmAllocateContiguousMemory`, `MmAllocateContiguousMemorySpecifyCache`,
//! `MmFreeContiguousMemory`, `MmGetPhysicalAddress`, `MmMapIoSpace`, `MmMapIoSpaceEx`,
//! `MmUnmapIoSpace`; hot-removed pages: `MmAllocatePagesForMdlEx`, `MmAddPhysicalMemory`; the
//! memory map: `MmGetPhysicalMemoryRanges` (the domain's RAM from Xen's E820 map, in a pool
//! array the caller frees, [`mm_get_physical_memory_ranges`]).
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
//!
//! Hot-removed pages (what a balloon driver takes from the kernel to give to Xen):
//! `MmAllocatePagesForMdlEx` with `MM_ALLOCATE_AND_HOT_REMOVE` takes single pages from the
//! kernel's allocator, page-aligned in the identity map (the frame number is the address over
//! 4096), inside `[LowAddress, HighAddress]`, zeroed (`0xAA` with `MM_DONT_ZERO_ALLOCATION`),
//! and describes them with an MDL built in pool on the caller's behalf (tag `Mmdl`; the caller
//! frees it with `ExFreePool`, the pool's checks and leak audit apply): `MDL_PAGES_LOCKED`,
//! `ByteOffset` 0, `ByteCount` the pages given, their frame numbers after the header. It may
//! give fewer pages than asked (NULL when none; all or NULL with
//! `MM_ALLOCATE_FULLY_REQUIRED`), and never holds more than [`MAX_HOT_REMOVED`] pages removed
//! at once (the arena is 12 MiB). Each page is recorded as hot-removed by its caller (so held
//! by the caller's image); from then on the stand-in never touches it (the balloon hands it to Xen:
//! reads would give all-ones, writes would be dropped) until `MmAddPhysicalMemory` takes it
//! back: before it does, it writes a pattern to each page and reads it back, so a frame the
//! domain does not have again (not repopulated with `XENMEM_populate_physmap`) fails the call;
//! then the pages go back to the allocator and `*NumberOfBytes` is what was added. Pages still
//! hot-removed at unload are not a leak (that is an inflated balloon), so [`leftovers_in`]
//! leaves them out; [`hot_removed`] and [`hot_removed_total`] count them for the checks.
//!
//! Checked there: the IRQL (`PASSIVE_LEVEL` for `MM_ALLOCATE_AND_HOT_REMOVE`, `APC_LEVEL` at
//! most for `MmAddPhysicalMemory`), unknown flag bits, `MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS` and `MM_ALLOCATE_FAST_LARGE_PAGES`
//! (not implemented), an unknown caching type, a `TotalBytes` that is zero or not whole pages,
//! a `SkipBytes` that is not whole pages; NULL pointers, a range that is not page-aligned whole
//! pages, or that holds a frame that was not hot-removed or was added back already (told
//! apart, naming the first such frame), and a frame the domain does not have.
//!
//! Without `MM_ALLOCATE_AND_HOT_REMOVE` the pages are simply the caller's ([`owned`]) until
//! `MmFreePagesFromMdl` gives them back ([`mm_free_pages_from_mdl`]; our xen.sys never does: its named
//! `vcpu_info` pages need: Xen writes to them for the life of the domain).
//! `MmMapLockedPagesSpecifyCache` maps an MDL's pages at a fresh system address as
//! `MmMapIoSpace` maps I/O space (`KernelMode` only, no requested address, an MDL with
//! `MDL_PAGES_LOCKED` and not mapped yet), sets `MappedSystemVa` and `MDL_MAPPED_TO_SYSTEM_VA`;
//! `MmUnmapLockedPages` takes exactly such a mapping and its MDL; a mapping left at unload is a
//! leak ([`locked_mappings_in`]).

use super::pool;
use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, APC_LEVEL, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use crate::nt::{sched, vm};
use alloc::alloc::{Layout, alloc, dealloc};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use ntddk::MDL;
use ntstatus::{NtStatus, STATUS_SUCCESS};

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

/// `MmAllocatePagesForMdlEx` flags (Microsoft's `wdm.h`): `MM_DONT_ZERO_ALLOCATION`,
/// `MM_ALLOCATE_FULLY_REQUIRED`, `MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS`,
/// `MM_ALLOCATE_FAST_LARGE_PAGES`, `MM_ALLOCATE_AND_HOT_REMOVE`.
const MM_DONT_ZERO_ALLOCATION: u32 = 0x1;
const MM_ALLOCATE_FULLY_REQUIRED: u32 = 0x4;
const MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS: u32 = 0x20;
const MM_ALLOCATE_FAST_LARGE_PAGES: u32 = 0x40;
const MM_ALLOCATE_AND_HOT_REMOVE: u32 = 0x100;
/// Every flag `MmAllocatePagesForMdlEx` knows: those above and `MM_ALLOCATE_FROM_LOCAL_NODE_ONLY`
/// (0x2), `MM_ALLOCATE_NO_WAIT` (0x8), `MM_ALLOCATE_PREFER_CONTIGUOUS` (0x10) and
/// `MM_ALLOCATE_TRIM_IF_NECESSARY` (0x80), hints the stand-in meets as it is.
const MM_ALLOCATE_FLAGS_KNOWN: u32 = 0x1ff;
/// `MDL_PAGES_LOCKED`.
const MDL_PAGES_LOCKED: i16 = 0x2;
/// The pool tag of the MDLs `MmAllocatePagesForMdlEx` builds.
const MDL_TAG: u32 = u32::from_le_bytes(*b"Mmdl");
/// The most pages hot-removed at once (4 MiB of the kernel's 12 MiB arena, which also holds
/// the images, the pool and the stacks).
pub const MAX_HOT_REMOVED: usize = 1024;
/// Pages outside the caller's range set aside before an allocation stops looking.
const MAX_REJECTED: usize = 16;
/// What `MmAddPhysicalMemory` writes to a page (mixed with its frame number) and must read
/// back: a frame the domain does not have reads as all-ones.
const PROBE: u64 = 0x5a5a_a5a5_c3c3_3c3c;

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

/// A hot-removed page.
#[derive(Debug, Clone, Copy)]
pub struct HotPage {
    /// Who took it (`MmAllocatePagesForMdlEx`'s caller; the image holding the page is the
    /// caller's, [`loader::containing`], loaded or not).
    pub caller: u64,
}

/// The hot-removed pages and what became of them.
struct Hot {
    /// Pages hot-removed now, by frame number.
    removed: BTreeMap<u64, HotPage>,
    /// Pages added back and not hot-removed again since, by frame number: who added them.
    added: BTreeMap<u64, u64>,
    /// Pages ever hot-removed.
    removed_total: u64,
    /// Pages ever added back.
    added_total: u64,
}

static HOT: spin::Mutex<Hot> = spin::Mutex::new(Hot {
    removed: BTreeMap::new(),
    added: BTreeMap::new(),
    removed_total: 0,
    added_total: 0,
});

/// Pages `MmAllocatePagesForMdlEx` gave without `MM_ALLOCATE_AND_HOT_REMOVE`, by frame number:
/// who took them. The stand-in has no `MmFreePagesFromMdl`, so they are never given back
/// (xen.sys's named pages, which Xen writes to for the life of the domain, are never freed).
static OWNED: spin::Mutex<BTreeMap<u64, u64>> = spin::Mutex::new(BTreeMap::new());
/// The most pages given that way.
const MAX_OWNED: usize = 64;

/// How many pages `MmAllocatePagesForMdlEx` gave without hot removal.
pub fn owned_count() -> usize {
    OWNED.lock().len()
}

/// Whether frame `pfn` was given by `MmAllocatePagesForMdlEx` without hot removal.
pub fn owned(pfn: u64) -> bool {
    OWNED.lock().contains_key(&pfn)
}

/// The allocator layout of one page.
fn page_layout() -> Option<Layout> {
    Layout::from_size_align(PAGE, PAGE).ok()
}

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
    // The bounds are physical addresses (a `LARGE_INTEGER` read as unsigned: drivers pass
    // `QuadPart = -1` for "anywhere").
    if physical < lowest.cast_unsigned() || end > highest.cast_unsigned() {
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

/// Gives pages taken from the allocator back to it (they were never handed out).
fn give_back(pages: &[*mut u8]) {
    let Some(layout) = page_layout() else {
        return;
    };
    for &p in pages {
        // SAFETY: allocated with this layout by `mm_allocate_pages_for_mdl_ex` and never handed
        // out: nothing refers to it.
        unsafe { dealloc(p, layout) };
    }
}

/// Takes up to `wanted` pages from the allocator that lie in the identity map inside
/// `[low, high]`; fewer when it runs out. `None` when the list itself cannot be had.
fn take_pages(wanted: usize, low: u64, high: u64) -> Option<Vec<*mut u8>> {
    let layout = page_layout()?;
    let mut pages = Vec::new();
    pages.try_reserve_exact(wanted).ok()?;
    let mut rejected = Vec::new();
    rejected.try_reserve_exact(MAX_REJECTED).ok()?;
    while pages.len() < wanted && rejected.len() < MAX_REJECTED {
        // SAFETY: a non-zero-size layout.
        let p = unsafe { alloc(layout) };
        if p.is_null() {
            break;
        }
        let a = p.expose_provenance() as u64;
        let identity = vm::translate(a) == Some(a);
        let inside = a >= low
            && a.checked_add(PAGE as u64 - 1)
                .is_some_and(|end| end <= high);
        if identity && inside {
            pages.push(p);
        } else {
            rejected.push(p);
        }
    }
    // Back only now, so the allocator did not hand the same page out again.
    give_back(&rejected);
    Some(pages)
}

/// `PMDL MmAllocatePagesForMdlEx(PHYSICAL_ADDRESS LowAddress, PHYSICAL_ADDRESS HighAddress,
/// PHYSICAL_ADDRESS SkipBytes, SIZE_T TotalBytes, MEMORY_CACHING_TYPE CacheType, ULONG Flags)`:
/// see the module documentation. <= DISPATCH_LEVEL,
/// `PASSIVE_LEVEL` with `MM_ALLOCATE_AND_HOT_REMOVE`. The three `PHYSICAL_ADDRESS` arrive by
/// value as 64-bit integers (RCX, RDX, R8); `TotalBytes` in R9, `CacheType` and `Flags` on the
/// stack.
pub extern "win64" fn mm_allocate_pages_for_mdl_ex(
    low: i64,
    high: i64,
    skip: i64,
    bytes: usize,
    cache: i32,
    flags: u32,
) -> *mut MDL {
    let call = verifier::enter("MmAllocatePagesForMdlEx");
    call.at_most(DISPATCH_LEVEL);
    call.require(
        flags & !MM_ALLOCATE_FLAGS_KNOWN == 0,
        format_args!(
            "Flags {flags:#x} holds unknown bits {:#x}",
            flags & !MM_ALLOCATE_FLAGS_KNOWN
        ),
    );
    call.require(
        flags & (MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS | MM_ALLOCATE_FAST_LARGE_PAGES) == 0,
        format_args!(
            "Flags {flags:#x}: MM_ALLOCATE_REQUIRE_CONTIGUOUS_CHUNKS and \
             MM_ALLOCATE_FAST_LARGE_PAGES are not implemented by the stand-in"
        ),
    );
    let hot_remove = flags & MM_ALLOCATE_AND_HOT_REMOVE != 0;
    if hot_remove && call.irql > PASSIVE_LEVEL {
        call.fail(format_args!(
            "called at IRQL {} with MM_ALLOCATE_AND_HOT_REMOVE, which is PASSIVE_LEVEL only",
            call.irql
        ));
    }
    call.require(
        matches!(cache, MM_NON_CACHED | MM_CACHED | MM_WRITE_COMBINED),
        format_args!("CacheType {cache} is not MmNonCached, MmCached or MmWriteCombined"),
    );
    call.require(
        bytes != 0 && bytes.is_multiple_of(PAGE),
        format_args!("TotalBytes {bytes:#x} is not a non-zero multiple of PAGE_SIZE"),
    );
    call.require(
        skip >= 0 && skip.unsigned_abs().is_multiple_of(PAGE as u64),
        format_args!("SkipBytes {skip:#x} is not a multiple of PAGE_SIZE"),
    );
    let wanted = bytes / PAGE;
    let room = if hot_remove {
        MAX_HOT_REMOVED.saturating_sub(HOT.lock().removed.len())
    } else {
        MAX_OWNED.saturating_sub(OWNED.lock().len())
    };
    let Some(pages) = take_pages(wanted.min(room), low.cast_unsigned(), high.cast_unsigned())
    else {
        return core::ptr::null_mut();
    };
    let n = pages.len();
    if n == 0 || (flags & MM_ALLOCATE_FULLY_REQUIRED != 0 && n < wanted) {
        give_back(&pages);
        return core::ptr::null_mut();
    }
    let size = size_of::<MDL>() + n * size_of::<u64>();
    let (Ok(mdl_size), Ok(byte_count)) = (i16::try_from(size), u32::try_from(n * PAGE)) else {
        give_back(&pages);
        return core::ptr::null_mut();
    };
    let mdl = pool::allocate_for(&call, size, MDL_TAG).cast::<MDL>();
    if mdl.is_null() {
        give_back(&pages);
        return core::ptr::null_mut();
    }
    let fill = if flags & MM_DONT_ZERO_ALLOCATION != 0 {
        FILL_UNINITIALIZED
    } else {
        0
    };
    let array = mdl.wrapping_add(1).cast::<u64>();
    for (i, &p) in pages.iter().enumerate() {
        // SAFETY: a fresh page of the allocator's, ours.
        unsafe { p.write_bytes(fill, PAGE) };
        // SAFETY: the PFN array follows the header inside the `size`-byte block (`i < n`),
        // 8-byte aligned (the block is 16-byte aligned and the header 48 bytes).
        unsafe { array.wrapping_add(i).write(p.addr() as u64 / PAGE as u64) };
    }
    let described = MDL {
        Next: core::ptr::null_mut(),
        Size: mdl_size,
        MdlFlags: MDL_PAGES_LOCKED,
        Process: core::ptr::null_mut(),
        MappedSystemVa: core::ptr::null_mut(),
        StartVa: core::ptr::null_mut(),
        ByteCount: byte_count,
        ByteOffset: 0,
    };
    // SAFETY: the block's first bytes (it holds `size` bytes, more than the header), 16-byte
    // aligned, the kernel's until returned.
    unsafe { mdl.write(described) };
    record_given(&pages, call.caller, hot_remove);
    mdl
}

/// Records pages `MmAllocatePagesForMdlEx` gave `caller`: hot-removed, or simply owned.
fn record_given(pages: &[*mut u8], caller: u64, hot_remove: bool) {
    if !hot_remove {
        let mut owned = OWNED.lock();
        for &p in pages {
            owned.insert(p.addr() as u64 / PAGE as u64, caller);
        }
        return;
    }
    let mut hot = HOT.lock();
    for &p in pages {
        let pfn = p.addr() as u64 / PAGE as u64;
        hot.added.remove(&pfn);
        hot.removed.insert(pfn, HotPage { caller });
    }
    hot.removed_total += pages.len() as u64;
}

/// The first frame of `first..end` that is not hot-removed now, and who added it back if it
/// was.
fn first_not_removed(first: u64, end: u64) -> Option<(u64, Option<u64>)> {
    let hot = HOT.lock();
    (first..end)
        .find(|pfn| !hot.removed.contains_key(pfn))
        .map(|pfn| (pfn, hot.added.get(&pfn).copied()))
}

/// `NTSTATUS MmAddPhysicalMemory(PPHYSICAL_ADDRESS StartAddress, PLARGE_INTEGER
/// NumberOfBytes)`: takes back pages `MmAllocatePagesForMdlEx` hot-removed, once the domain
/// has them again; `*NumberOfBytes` becomes what was added. <= APC_LEVEL.
///
/// # Safety
/// Called by driver code: `start` readable, `bytes` readable and writable (NULL is checked).
pub unsafe extern "win64" fn mm_add_physical_memory(
    start: *const i64,
    bytes: *mut i64,
) -> NtStatus {
    let call = verifier::enter("MmAddPhysicalMemory");
    call.at_most(APC_LEVEL);
    call.require(!start.is_null(), format_args!("StartAddress is NULL"));
    call.require(!bytes.is_null(), format_args!("NumberOfBytes is NULL"));
    // SAFETY: checked non-NULL; readable by the routine's contract.
    let address = unsafe { start.read_unaligned() };
    // SAFETY: as above.
    let length = unsafe { bytes.read_unaligned() };
    let page = PAGE as u64;
    call.require(
        address >= 0 && address.unsigned_abs().is_multiple_of(page),
        format_args!("StartAddress {address:#x} is not a page-aligned physical address"),
    );
    call.require(
        length > 0 && length.unsigned_abs().is_multiple_of(page),
        format_args!("NumberOfBytes {length:#x} is not a non-zero multiple of PAGE_SIZE"),
    );
    let first = address.unsigned_abs() / page;
    let count = length.unsigned_abs() / page;
    let Some(end) = first.checked_add(count) else {
        call.fail(format_args!(
            "StartAddress {address:#x} + NumberOfBytes {length:#x} overflows"
        ));
    };
    if let Some((pfn, added_by)) = first_not_removed(first, end) {
        match added_by {
            Some(by) => call.fail(format_args!(
                "PFN {pfn:#x} added twice (added back already from {})",
                Where(by)
            )),
            None => call.fail(format_args!(
                "PFN {pfn:#x} was not hot-removed (MmAllocatePagesForMdlEx with \
                 MM_ALLOCATE_AND_HOT_REMOVE did not give it)"
            )),
        }
    }
    let Some(layout) = page_layout() else {
        call.fail(format_args!("no page layout"));
    };
    let addresses = (first..end).filter_map(|pfn| {
        let a = usize::try_from(pfn.checked_mul(page)?).ok()?;
        Some((pfn, core::ptr::with_exposed_provenance_mut::<u64>(a)))
    });
    // The domain must have each frame again: a write to one it does not have is dropped and a
    // read gives all-ones.
    for (pfn, p) in addresses.clone() {
        let pattern = PROBE ^ pfn;
        let words = [p, p.wrapping_add(PAGE / 8 - 1)];
        for w in words {
            // SAFETY: a page of the allocator's that was hot-removed (checked above) and that
            // the caller gives back: the kernel's to use.
            unsafe { w.write_volatile(pattern) };
            // SAFETY: as above.
            let read = unsafe { w.read_volatile() };
            if read != pattern {
                let by = HOT.lock().removed.get(&pfn).map_or(0, |h| h.caller);
                call.fail(format_args!(
                    "MmAddPhysicalMemory of PFN {pfn:#x} which the domain does not have: \
                     populate it first (XENMEM_populate_physmap); {pattern:#x} written there \
                     reads back as {read:#x} (hot-removed from {})",
                    Where(by)
                ));
            }
        }
    }
    let mut hot = HOT.lock();
    for (pfn, p) in addresses {
        // SAFETY: as above; nothing refers to the page any more.
        unsafe { p.cast::<u8>().write_bytes(FILL_FREED, PAGE) };
        // SAFETY: allocated with this layout by `mm_allocate_pages_for_mdl_ex`, hot-removed
        // until now.
        unsafe { dealloc(p.cast(), layout) };
        hot.removed.remove(&pfn);
        hot.added.insert(pfn, call.caller);
    }
    hot.added_total += count;
    drop(hot);
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe { bytes.write_unaligned(length) };
    STATUS_SUCCESS
}

/// Pages hot-removed now (`MmAllocatePagesForMdlEx` took them, `MmAddPhysicalMemory` has not
/// added them back).
pub fn hot_removed() -> usize {
    HOT.lock().removed.len()
}

/// Pages ever hot-removed, and pages ever added back.
pub fn hot_removed_total() -> (u64, u64) {
    let hot = HOT.lock();
    (hot.removed_total, hot.added_total)
}

/// The contiguous blocks and I/O mappings image `index` still holds: two lines of findings.
/// Hot-removed pages are not among them (see the module documentation).
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

/// The pool tag of the arrays `MmGetPhysicalMemoryRanges` builds.
const RANGES_TAG: u32 = u32::from_le_bytes(*b"MmPh");
/// `E820_RAM`.
const E820_RAM: u32 = 1;
/// The most E820 entries asked of Xen.
const MAX_E820: u32 = 128;

/// One BIOS `INT 15h, E820h` entry as `XENMEM_memory_map` stores it (20 bytes, packed).
#[repr(C, packed)]
#[derive(Clone, Copy, Default)]
struct E820Entry {
    addr: u64,
    size: u64,
    kind: u32,
}

/// The highest inclusive end address of RAM `MmGetPhysicalMemoryRanges` last reported (0:
/// never called).
static REPORTED_MAXIMUM: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The domain's RAM as Xen describes it (`XENMEM_memory_map`: the E820 map of the PVH dom0 or
/// the HVM guest): the `E820_RAM` entries cut to whole pages, sorted and merged, as
/// `(base, bytes)`; empty when Xen gives no map.
pub fn ram_ranges() -> Vec<(u64, u64)> {
    let mut entries = [E820Entry::default(); MAX_E820 as usize];
    let mut map = xen_headers::memory::XenMemoryMap {
        nr_entries: MAX_E820,
        buffer: xen_headers::xen::GuestHandle::new(entries.as_mut_ptr().cast()),
    };
    // SAFETY: XENMEM_memory_map writes at most `nr_entries` entries into `entries`, which
    // outlives the call, and updates `map`.
    let rc = unsafe {
        xen::hypercall::Hypervisor::hypercall(
            crate::suite::hv(),
            xen_headers::xen::HYPERVISOR_MEMORY_OP,
            &[
                xen_headers::memory::XENMEM_MEMORY_MAP as usize,
                (&raw mut map).addr(),
            ],
        )
    };
    if rc < 0 {
        return Vec::new();
    }
    let count = usize::try_from(map.nr_entries.min(MAX_E820)).unwrap_or(0);
    let mut ranges: Vec<(u64, u64)> = entries
        .iter()
        .take(count)
        .filter(|e| e.kind == E820_RAM)
        .filter_map(|e| {
            let start = e.addr.checked_next_multiple_of(PAGE as u64)?;
            let end = e.addr.checked_add(e.size)? & !(PAGE as u64 - 1);
            (end > start).then_some((start, end))
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some((_, last_end)) if start <= *last_end => *last_end = (*last_end).max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(start, end)| (start, end.saturating_sub(start)))
        .collect()
}

/// What the last `MmGetPhysicalMemoryRanges` reported as the highest RAM address (inclusive),
/// if it was called.
pub fn reported_maximum() -> Option<u64> {
    let top = REPORTED_MAXIMUM.load(core::sync::atomic::Ordering::SeqCst);
    (top != 0).then_some(top)
}

/// `PPHYSICAL_MEMORY_RANGE MmGetPhysicalMemoryRanges(void)`: the domain's RAM ([`ram_ranges`])
/// as a pool array ended by an all-zero entry, built on the caller's behalf (tag `MmPh`; the
/// caller frees it with `ExFreePool`, and the pool's leak audit names it at unload if not), or
/// NULL when Xen gives no memory map. `PASSIVE_LEVEL`.
pub extern "win64" fn mm_get_physical_memory_ranges() -> *mut ntddk::PHYSICAL_MEMORY_RANGE {
    let call = verifier::enter("MmGetPhysicalMemoryRanges");
    call.at_most(PASSIVE_LEVEL);
    let ranges = ram_ranges();
    if ranges.is_empty() {
        return core::ptr::null_mut();
    }
    let entry = size_of::<ntddk::PHYSICAL_MEMORY_RANGE>();
    let Some(size) = ranges
        .len()
        .checked_add(1)
        .and_then(|n| n.checked_mul(entry))
    else {
        return core::ptr::null_mut();
    };
    let array = pool::allocate_for(&call, size, RANGES_TAG).cast::<ntddk::PHYSICAL_MEMORY_RANGE>();
    if array.is_null() {
        return core::ptr::null_mut();
    }
    let mut top = 0u64;
    for (i, &(base, bytes)) in ranges.iter().enumerate() {
        top = top.max(base.saturating_add(bytes).saturating_sub(1));
        let range = ntddk::PHYSICAL_MEMORY_RANGE {
            BaseAddress: base.cast_signed(),
            NumberOfBytes: bytes.cast_signed(),
        };
        // SAFETY: entry `i` of the `ranges.len() + 1` entries the zeroed block holds; the last
        // one stays zero, the terminator.
        unsafe { array.wrapping_add(i).write_unaligned(range) };
    }
    REPORTED_MAXIMUM.store(top, core::sync::atomic::Ordering::SeqCst);
    array
}

/// `MDL_MAPPED_TO_SYSTEM_VA`.
const MDL_MAPPED_TO_SYSTEM_VA: i16 = 0x1;
/// `KernelMode`.
const KERNEL_MODE: i8 = 0;

/// A live `MmMapLockedPagesSpecifyCache` mapping.
#[derive(Debug, Clone, Copy)]
struct LockedMapping {
    /// The MDL mapped.
    mdl: usize,
    /// Pages mapped.
    pages: u64,
    /// Who mapped it.
    caller: u64,
}

/// Live locked-page mappings, by the address returned.
static LOCKED: spin::Mutex<BTreeMap<u64, LockedMapping>> = spin::Mutex::new(BTreeMap::new());

/// The caller's MDL at `mdl` (its header), after checking it is not NULL.
fn mdl_header(call: &Call, mdl: *mut MDL) -> MDL {
    call.require(!mdl.is_null(), format_args!("MemoryDescriptorList is NULL"));
    // SAFETY: non-NULL; the routine's contract makes it a readable MDL.
    unsafe { mdl.read_unaligned() }
}

/// `PVOID MmMapLockedPagesSpecifyCache(PMDL MemoryDescriptorList, KPROCESSOR_MODE AccessMode,
/// MEMORY_CACHING_TYPE CacheType, PVOID RequestedAddress, ULONG BugCheckOnFailure, ULONG
/// Priority)`. <= `DISPATCH_LEVEL` (see the module documentation).
///
/// # Safety
/// Called by driver code with a valid MDL whose PFN array follows its header.
pub unsafe extern "win64" fn mm_map_locked_pages_specify_cache(
    mdl: *mut MDL,
    mode: i8,
    cache: i32,
    requested: *mut c_void,
    _bug_check_on_failure: u32,
    _priority: u32,
) -> *mut c_void {
    let call = verifier::enter("MmMapLockedPagesSpecifyCache");
    call.at_most(DISPATCH_LEVEL);
    let header = mdl_header(&call, mdl);
    call.require(
        mode == KERNEL_MODE,
        format_args!("AccessMode {mode}: only KernelMode mappings are implemented"),
    );
    call.require(
        requested.is_null(),
        format_args!("RequestedAddress {:#x} is not NULL", requested.addr()),
    );
    call.require(
        matches!(cache, MM_NON_CACHED | MM_CACHED | MM_WRITE_COMBINED),
        format_args!("CacheType {cache} is not a MEMORY_CACHING_TYPE"),
    );
    call.require(
        header.MdlFlags & MDL_PAGES_LOCKED != 0,
        format_args!(
            "the MDL's pages are not locked (MdlFlags {:#x})",
            header.MdlFlags
        ),
    );
    call.require(
        header.MdlFlags & MDL_MAPPED_TO_SYSTEM_VA == 0,
        format_args!(
            "the MDL is mapped already (MdlFlags {:#x})",
            header.MdlFlags
        ),
    );
    let offset = u64::from(header.ByteOffset);
    let pages = offset
        .saturating_add(u64::from(header.ByteCount))
        .div_ceil(PAGE as u64);
    let room = usize::try_from(header.Size)
        .unwrap_or(0)
        .saturating_sub(size_of::<MDL>())
        / 8;
    call.require(
        header.ByteCount != 0 && usize::try_from(pages).is_ok_and(|p| p <= room),
        format_args!(
            "ByteCount {:#x} at offset {offset:#x} needs {pages} PFNs, the MDL of Size {} holds {room}",
            header.ByteCount, header.Size
        ),
    );
    let array = mdl.wrapping_add(1).cast::<u64>();
    let mut mm = MM.lock();
    let virt = mm.next_io;
    let Some(next) = pages
        .checked_add(1)
        .and_then(|p| p.checked_mul(PAGE as u64))
        .and_then(|b| virt.checked_add(b))
    else {
        return core::ptr::null_mut();
    };
    for page in 0..pages {
        let index = usize::try_from(page).unwrap_or(usize::MAX);
        // SAFETY: entry `index` of the PFN array, inside the MDL's `Size` (checked above).
        let pfn = unsafe { array.wrapping_add(index).read_unaligned() };
        let at = virt + page * PAGE as u64;
        if !vm::map_io(at, pfn * PAGE as u64, 1, false, cache == MM_CACHED) {
            vm::unmap(virt, page);
            return core::ptr::null_mut();
        }
    }
    mm.next_io = next;
    drop(mm);
    let address = virt + offset;
    LOCKED.lock().insert(
        address,
        LockedMapping {
            mdl: mdl.addr(),
            pages,
            caller: call.caller,
        },
    );
    let mapped =
        core::ptr::with_exposed_provenance_mut::<c_void>(usize::try_from(address).unwrap_or(0));
    let updated = MDL {
        MdlFlags: header.MdlFlags | MDL_MAPPED_TO_SYSTEM_VA,
        MappedSystemVa: mapped,
        ..header
    };
    // SAFETY: the caller's MDL header (readable above, writable by the routine's contract).
    unsafe { mdl.write_unaligned(updated) };
    mapped
}

/// `VOID MmUnmapLockedPages(PVOID BaseAddress, PMDL MemoryDescriptorList)`: exactly one
/// earlier `MmMapLockedPagesSpecifyCache` mapping of that MDL. <= `DISPATCH_LEVEL`.
///
/// # Safety
/// Called by driver code with the MDL it mapped.
pub unsafe extern "win64" fn mm_unmap_locked_pages(base: *mut c_void, mdl: *mut MDL) {
    let call = verifier::enter("MmUnmapLockedPages");
    call.at_most(DISPATCH_LEVEL);
    let header = mdl_header(&call, mdl);
    let a = base.addr() as u64;
    let mapping = LOCKED.lock().get(&a).copied();
    let Some(m) = mapping else {
        call.fail(format_args!(
            "{a:#x} is not an address MmMapLockedPagesSpecifyCache returned (or it was unmapped already)"
        ));
    };
    call.require(
        m.mdl == mdl.addr(),
        format_args!(
            "the MDL {:#x} is not the {:#x} mapped at {a:#x} (mapped from {})",
            mdl.addr(),
            m.mdl,
            Where(m.caller)
        ),
    );
    vm::unmap(a - a % PAGE as u64, m.pages);
    LOCKED.lock().remove(&a);
    let updated = MDL {
        MdlFlags: header.MdlFlags & !MDL_MAPPED_TO_SYSTEM_VA,
        MappedSystemVa: core::ptr::null_mut(),
        ..header
    };
    // SAFETY: the caller's MDL header (readable above, writable by the routine's contract).
    unsafe { mdl.write_unaligned(updated) };
}

/// The locked-page mappings image `index` still holds.
pub fn locked_mappings_in(index: usize) -> usize {
    LOCKED
        .lock()
        .values()
        .filter(|m| loader::containing(m.caller) == Some(index))
        .count()
}

/// `VOID MmFreePagesFromMdl(PMDL MemoryDescriptorList)`: gives back the pages an
/// `MmAllocatePagesForMdlEx` without `MM_ALLOCATE_AND_HOT_REMOVE` handed out (the caller then
/// frees the MDL itself with `ExFreePool`). <= DISPATCH_LEVEL.
///
/// Checked: the IRQL, a NULL MDL, an MDL still mapped by `MmMapLockedPagesSpecifyCache` (it
/// must be unmapped first), a frame that is not one such allocation gave (or was freed
/// already), and hot-removed frames (those go back through `MmAddPhysicalMemory`; freeing
/// them here is not modelled).
///
/// # Safety
/// Called by driver code: `mdl` is an MDL `MmAllocatePagesForMdlEx` returned (checked).
pub unsafe extern "win64" fn mm_free_pages_from_mdl(mdl: *mut MDL) {
    let call = verifier::enter("MmFreePagesFromMdl");
    call.at_most(DISPATCH_LEVEL);
    let header = mdl_header(&call, mdl);
    call.require(
        !LOCKED.lock().values().any(|m| m.mdl == mdl.addr()),
        format_args!(
            "the MDL {:#x} is still mapped: MmUnmapLockedPages first",
            mdl.addr()
        ),
    );
    let pages = header.ByteCount as usize / PAGE;
    let array = mdl.wrapping_add(1).cast::<u64>();
    let mut frames = Vec::new();
    for i in 0..pages {
        // SAFETY: the PFN array follows the header of an MDL of `pages` pages (the contract).
        let pfn = unsafe { array.wrapping_add(i).read_unaligned() };
        call.require(
            !HOT.lock().removed.contains_key(&pfn),
            format_args!(
                "frame {pfn:#x} was hot-removed (MM_ALLOCATE_AND_HOT_REMOVE): not modelled here"
            ),
        );
        call.require(
            OWNED.lock().contains_key(&pfn),
            format_args!(
                "frame {pfn:#x} is not one MmAllocatePagesForMdlEx gave (or it was freed already)"
            ),
        );
        frames.push(pfn);
    }
    let mut owned = OWNED.lock();
    let mut freed = Vec::new();
    for pfn in frames {
        if owned.remove(&pfn).is_some() {
            freed.push(core::ptr::with_exposed_provenance_mut::<u8>(
                usize::try_from(pfn).unwrap_or(0) * PAGE,
            ));
        }
    }
    drop(owned);
    give_back(&freed);
}
