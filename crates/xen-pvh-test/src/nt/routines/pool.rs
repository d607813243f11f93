// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Pool: `ExAllocatePoolWithTag`, `ExAllocatePool2`, `ExFreePoolWithTag`, `ExFreePool`.
//!
//! Blocks come from the kernel's allocator, 16-byte aligned (page-aligned from a page up, as
//! Windows' pool), followed by 16 guard bytes. Each live block is recorded with its size, tag,
//! pool type and the caller that allocated it. What is checked, as Driver Verifier's pool
//! tracking and special pool do:
//!
//! * IRQL: non-paged pool at `DISPATCH_LEVEL` or below, paged pool at `APC_LEVEL` or below,
//!   for both allocation and free;
//! * arguments: a zero-byte request, a zero tag, an unknown pool type or `ExAllocatePool2`
//!   flags that name no pool or several;
//! * frees: a pointer that is not a live block (freed twice, or never allocated, told apart),
//!   a tag that is not the allocation's, guard bytes overwritten past the block's end;
//! * memory not initialised by the routine is filled with `0xAA` (so code relying on zeroed
//!   `ExAllocatePoolWithTag` memory shows), and freed blocks with `0xDF`;
//! * leaks: [`outstanding`] lists what an image still holds when it unloads.
//!
//! A freed block is kept, filled with `0xDF`, in a quarantine of the last [`QUARANTINE_BYTES`]
//! freed (so a stale pointer keeps reading the fill rather than someone else's data, and a
//! second free is told from a wild one); when it leaves the quarantine its fill is checked (a
//! write after the free fails the run, naming the block's allocator and freer) and its memory
//! goes back to the kernel's allocator for reuse, so a driver that allocates and frees all the
//! time runs in bounded memory.

use crate::nt::loader::{self, Where};
use crate::nt::verifier::{self, APC_LEVEL, Call, DISPATCH_LEVEL};
use alloc::alloc::{Layout, alloc};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::ffi::c_void;

/// `NonPagedPool` (executable), `PagedPool`, their cache-aligned forms and `NonPagedPoolNx`
/// (and its cache-aligned form): the pool types a driver may ask for.
const POOL_TYPES: [(u32, bool); 6] = [
    (0, false),
    (1, true),
    (4, false),
    (5, true),
    (512, false),
    (516, false),
];

/// `ExAllocatePool2` flags (Microsoft's documentation of `POOL_FLAGS`).
const POOL_FLAG_USE_QUOTA: u64 = 0x1;
const POOL_FLAG_UNINITIALIZED: u64 = 0x2;
const POOL_FLAG_SESSION: u64 = 0x4;
const POOL_FLAG_CACHE_ALIGNED: u64 = 0x8;
const POOL_FLAG_RAISE_ON_FAILURE: u64 = 0x20;
const POOL_FLAG_NON_PAGED: u64 = 0x40;
const POOL_FLAG_NON_PAGED_EXECUTE: u64 = 0x80;
const POOL_FLAG_PAGED: u64 = 0x100;
/// Every flag `ExAllocatePool2` knows (the required ones, and `POOL_FLAG_SPECIAL_POOL`).
const POOL_FLAGS_KNOWN: u64 = POOL_FLAG_USE_QUOTA
    | POOL_FLAG_UNINITIALIZED
    | POOL_FLAG_SESSION
    | POOL_FLAG_CACHE_ALIGNED
    | POOL_FLAG_RAISE_ON_FAILURE
    | POOL_FLAG_NON_PAGED
    | POOL_FLAG_NON_PAGED_EXECUTE
    | POOL_FLAG_PAGED
    | 0x1_0000_0000;

/// Guard bytes after each block, and their value.
const GUARD: usize = 16;
const GUARD_BYTE: u8 = 0xfd;
/// Fill of memory the allocator does not initialise, and of freed blocks.
const FILL_UNINITIALIZED: u8 = 0xaa;
const FILL_FREED: u8 = 0xdf;
/// Bytes of freed blocks kept poisoned before their memory is reused.
const QUARANTINE_BYTES: usize = 2 << 20;
/// The largest block the stand-in hands out (larger requests fail, as a full pool would).
const MAX_BLOCK: usize = 1 << 20;

/// A live block.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// Bytes asked for.
    pub size: usize,
    /// Its tag.
    pub tag: u32,
    /// Paged pool.
    pub paged: bool,
    /// Who allocated it.
    pub caller: u64,
}

/// Live blocks by address, and freed ones still in quarantine (address to the caller that
/// freed it, and the block), oldest first in `quarantine`.
struct Pool {
    live: BTreeMap<usize, Block>,
    freed: BTreeMap<usize, (u64, Block)>,
    quarantine: VecDeque<usize>,
    quarantined: usize,
    allocations: u64,
}

static POOL: spin::Mutex<Pool> = spin::Mutex::new(Pool {
    live: BTreeMap::new(),
    freed: BTreeMap::new(),
    quarantine: VecDeque::new(),
    quarantined: 0,
    allocations: 0,
});

/// The allocator layout of a block of `size` bytes (with its guard), as [`allocate`] asks.
fn layout_of(size: usize) -> Option<Layout> {
    let align = if size >= 4096 { 4096 } else { 16 };
    size.checked_add(GUARD)
        .and_then(|total| Layout::from_size_align(total, align).ok())
}

/// A tag as text (`'XEN '` is stored as the bytes `X`, `E`, `N`, ` `).
pub struct Tag(pub u32);

impl core::fmt::Display for Tag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0.to_le_bytes() {
            let c = if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            };
            write!(f, "{c}")?;
        }
        write!(f, " ({:#010x})", self.0)
    }
}

/// Allocates a checked block; `zero` clears it, otherwise it is filled with `0xAA`.
fn allocate(call: &Call, size: usize, tag: u32, paged: bool, zero: bool) -> *mut c_void {
    call.at_most(if paged { APC_LEVEL } else { DISPATCH_LEVEL });
    call.require(size != 0, format_args!("a zero-byte allocation"));
    call.require(tag != 0, format_args!("a zero pool tag"));
    if size > MAX_BLOCK {
        return core::ptr::null_mut();
    }
    let Some(layout) = layout_of(size) else {
        return core::ptr::null_mut();
    };
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc(layout) };
    if p.is_null() {
        return p.cast();
    }
    let fill = if zero { 0 } else { FILL_UNINITIALIZED };
    // SAFETY: `p` is a fresh allocation of `size + GUARD` bytes.
    unsafe { p.write_bytes(fill, size) };
    // SAFETY: as above: the guard bytes are the last `GUARD` bytes of the allocation.
    unsafe { p.wrapping_add(size).write_bytes(GUARD_BYTE, GUARD) };
    let mut pool = POOL.lock();
    pool.freed.remove(&p.addr());
    pool.live.insert(
        p.addr(),
        Block {
            size,
            tag,
            paged,
            caller: call.caller,
        },
    );
    pool.allocations += 1;
    p.cast()
}

/// Frees a checked block; `tag` is `None` for `ExFreePool`.
fn free(call: &Call, p: *mut c_void, tag: Option<u32>) {
    call.require(!p.is_null(), format_args!("freeing NULL"));
    let pool = POOL.lock();
    let Some(block) = pool.live.get(&p.addr()).copied() else {
        let freed_by = pool.freed.get(&p.addr()).map(|&(by, _)| by);
        drop(pool);
        let Some(by) = freed_by else {
            call.fail(format_args!("{:#x} is not a pool block", p.addr()));
        };
        call.fail(format_args!(
            "{:#x} freed twice (first freed from {})",
            p.addr(),
            Where(by)
        ));
    };
    drop(pool);
    call.at_most(if block.paged {
        APC_LEVEL
    } else {
        DISPATCH_LEVEL
    });
    if let Some(tag) = tag {
        call.require(
            tag == block.tag,
            format_args!(
                "tag {} does not match the allocation's {} (allocated from {})",
                Tag(tag),
                Tag(block.tag),
                Where(block.caller)
            ),
        );
    }
    let base = p.cast::<u8>();
    for i in 0..GUARD {
        // SAFETY: the guard bytes follow the block inside its allocation.
        let b = unsafe { base.wrapping_add(block.size + i).read_volatile() };
        call.require(
            b == GUARD_BYTE,
            format_args!(
                "the {}-byte block {:#x} (tag {}, allocated from {}) was overrun: guard byte {i} \
                 is {b:#04x}",
                block.size,
                p.addr(),
                Tag(block.tag),
                Where(block.caller)
            ),
        );
    }
    // No armed timer and no object a thread waits on may go with the block.
    crate::nt::sched::freeing(call, p.addr(), block.size);
    // SAFETY: the block's `size` bytes are ours again; nothing may use them after the free.
    unsafe { base.write_bytes(FILL_FREED, block.size) };
    let released = {
        let mut pool = POOL.lock();
        pool.live.remove(&p.addr());
        pool.freed.insert(p.addr(), (call.caller, block));
        pool.quarantine.push_back(p.addr());
        pool.quarantined = pool.quarantined.saturating_add(block.size);
        let mut released = Vec::new();
        while pool.quarantined > QUARANTINE_BYTES {
            let Some(oldest) = pool.quarantine.pop_front() else {
                break;
            };
            if let Some((by, old)) = pool.freed.remove(&oldest) {
                pool.quarantined = pool.quarantined.saturating_sub(old.size);
                released.push((oldest, by, old));
            }
        }
        released
    };
    for (address, by, old) in released {
        release(call, address, by, old);
    }
}

/// A block leaving the quarantine: its fill must be intact; its memory goes back to the
/// allocator.
fn release(call: &Call, address: usize, freed_by: u64, block: Block) {
    let base = core::ptr::with_exposed_provenance_mut::<u8>(address);
    for i in 0..block.size {
        // SAFETY: the block's bytes, still ours (in quarantine until now).
        let b = unsafe { base.wrapping_add(i).read_volatile() };
        call.require(
            b == FILL_FREED,
            format_args!(
                "the {}-byte block {address:#x} (tag {}, allocated from {}, freed from {}) was \
                 written after its free: byte {i} is {b:#04x}",
                block.size,
                Tag(block.tag),
                Where(block.caller),
                Where(freed_by)
            ),
        );
    }
    if let Some(layout) = layout_of(block.size) {
        // SAFETY: allocated by `allocate` with this layout, freed by the driver, and out of
        // the quarantine: nothing refers to it any more.
        unsafe { alloc::alloc::dealloc(base, layout) };
    }
}

/// Allocates a zeroed non-paged block of `size` bytes with `tag` for the driver that called
/// `call`'s routine: a structure the kernel builds and the driver frees with `ExFreePool` (the
/// MDL `MmAllocatePagesForMdlEx` returns). It is the caller's block in every check (the tag,
/// the guard bytes, the leak audit at unload). NULL when the pool cannot serve it.
pub fn allocate_for(call: &Call, size: usize, tag: u32) -> *mut c_void {
    allocate(call, size, tag, false, true)
}

/// Frees block `p` that [`allocate_for`] made for the driver that called `call`'s routine (the
/// MDL `IoFreeMdl` frees), with every check of `ExFreePoolWithTag` (`tag`).
pub fn free_for(call: &Call, p: *mut c_void, tag: u32) {
    free(call, p, Some(tag));
}

/// `PVOID ExAllocatePoolWithTag(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)`.
pub extern "win64" fn ex_allocate_pool_with_tag(
    pool_type: u32,
    size: usize,
    tag: u32,
) -> *mut c_void {
    let call = verifier::enter("ExAllocatePoolWithTag");
    let Some(&(_, paged)) = POOL_TYPES.iter().find(|(t, _)| *t == pool_type) else {
        call.fail(format_args!("unknown or invalid pool type {pool_type:#x}"));
    };
    allocate(&call, size, tag, paged, false)
}

/// `PVOID ExAllocatePool2(POOL_FLAGS Flags, SIZE_T NumberOfBytes, ULONG Tag)`: zeroed unless
/// `POOL_FLAG_UNINITIALIZED`.
pub extern "win64" fn ex_allocate_pool2(flags: u64, size: usize, tag: u32) -> *mut c_void {
    let call = verifier::enter("ExAllocatePool2");
    call.require(
        flags & !POOL_FLAGS_KNOWN == 0,
        format_args!("unknown pool flags {flags:#x}"),
    );
    let kinds = [
        POOL_FLAG_NON_PAGED,
        POOL_FLAG_NON_PAGED_EXECUTE,
        POOL_FLAG_PAGED,
    ];
    let named = kinds.iter().filter(|&&k| flags & k != 0).count();
    call.require(
        named == 1,
        format_args!(
            "flags {flags:#x} must name exactly one of NON_PAGED, NON_PAGED_EXECUTE, PAGED"
        ),
    );
    let zero = flags & POOL_FLAG_UNINITIALIZED == 0;
    allocate(&call, size, tag, flags & POOL_FLAG_PAGED != 0, zero)
}

/// `VOID ExFreePoolWithTag(PVOID P, ULONG Tag)`.
pub extern "win64" fn ex_free_pool_with_tag(p: *mut c_void, tag: u32) {
    let call = verifier::enter("ExFreePoolWithTag");
    free(&call, p, Some(tag));
}

/// `VOID ExFreePool(PVOID P)`.
pub extern "win64" fn ex_free_pool(p: *mut c_void) {
    let call = verifier::enter("ExFreePool");
    free(&call, p, None);
}

/// The live blocks allocated from inside image `index` (by where the call came from).
pub fn outstanding(index: usize) -> Vec<(usize, Block)> {
    POOL.lock()
        .live
        .iter()
        .filter(|(_, b)| loader::containing(b.caller) == Some(index))
        .map(|(&a, &b)| (a, b))
        .collect()
}

/// Allocations made so far (all images).
pub fn allocations() -> u64 {
    POOL.lock().allocations
}

/// Whether `p` is a live block, and its record.
pub fn block(p: usize) -> Option<Block> {
    POOL.lock().live.get(&p).copied()
}
