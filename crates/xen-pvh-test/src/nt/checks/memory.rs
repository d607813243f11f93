// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Physical memory, used as xenbus.sys uses it: contiguous pages whose physical addresses are
//! handed to Xen (here Xen copies each page by the frame number `MmGetPhysicalAddress` gave,
//! `GNTTABOP_copy` from `DOMID_SELF` frames, and the copy must hold the page's bytes), the
//! acceptable-address and boundary limits, and `MmMapIoSpace`/`MmMapIoSpaceEx` aliases of the
//! same frames (uncached unless asked otherwise), then everything freed and unmapped.

use super::drv;
use super::ktest::kernel;
use crate::harness::check;
use crate::nt::vm;
use core::ffi::c_void;
use xen_headers::grant_table::{GnttabCopy, GnttabCopyPtr, GnttabCopyPtrU};
use xen_headers::xen::DOMID_SELF;

const PAGE: usize = 4096;
/// `MmNonCached`, `MmCached`; `PAGE_READWRITE`, `PAGE_NOCACHE`.
const MM_NON_CACHED: i32 = 0;
const MM_CACHED: i32 = 1;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_NOCACHE: u32 = 0x200;

/// The byte the checks write at `offset` of page `page`.
fn pattern(page: usize, offset: usize) -> u8 {
    u8::try_from((page * 7 + offset * 13) % 251).unwrap_or(0) ^ 0x5a
}

/// Reads the byte at `address`.
fn peek(address: usize) -> u8 {
    let p = core::ptr::with_exposed_provenance::<u8>(address);
    // SAFETY: the callers read inside a contiguous block or an I/O mapping the checks hold.
    unsafe { p.read_volatile() }
}

/// Writes the byte at `address`.
fn poke(address: usize, value: u8) {
    let p = core::ptr::with_exposed_provenance_mut::<u8>(address);
    // SAFETY: as `peek`, writable (the block is the checks', the mapping read-write).
    unsafe { p.write_volatile(value) };
}

/// `MmGetPhysicalAddress`.
fn physical(address: usize) -> u64 {
    let k = kernel();
    // SAFETY: an address; the kernel translates it (0 where nothing is mapped).
    let pa = unsafe { (k.physical)(core::ptr::with_exposed_provenance_mut(address)) };
    pa.unsigned_abs()
}

/// Every physical-memory check.
pub fn run() {
    drv(contiguous);
}

fn contiguous() {
    let k = kernel();
    // SAFETY: a size and "any address" (MAXLONGLONG).
    let block = unsafe { (k.allocate_contiguous)(3 * PAGE, i64::MAX) }.addr();
    check(
        "nt.mm.contiguous_allocated",
        block != 0 && block % PAGE == 0 && peek(block) == 0xaa,
        format_args!(
            "3 pages at {block:#x}, not zeroed (first byte {:#04x})",
            if block == 0 { 0 } else { peek(block) }
        ),
    );
    if block == 0 {
        return;
    }
    let pa = physical(block);
    let contiguous = (0..3).all(|i| physical(block + i * PAGE) == pa + (i * PAGE) as u64)
        && physical(block + 0x123) == pa + 0x123;
    check(
        "nt.mm.physical_addresses_contiguous",
        pa != 0 && pa.is_multiple_of(PAGE as u64) && contiguous,
        format_args!(
            "physical {pa:#x}, each page and offset where the next should be: {contiguous}"
        ),
    );
    for page in 0..3 {
        for offset in 0..PAGE {
            poke(block + page * PAGE + offset, pattern(page, offset));
        }
    }
    through_xen(pa);
    // SAFETY: "any address" and a zero lowest bound; a page.
    let low = unsafe { (k.allocate_contiguous)(PAGE, 0xfff) };
    check(
        "nt.mm.highest_acceptable_address_honoured",
        low.is_null(),
        format_args!("a page below 0x1000: {:#x}", low.addr()),
    );
    // SAFETY: "anywhere" as drivers usually write it (`QuadPart = -1`); a page.
    let anywhere = unsafe { (k.allocate_contiguous)(PAGE, -1) };
    check(
        "nt.mm.highest_minus_one_is_anywhere",
        !anywhere.is_null(),
        format_args!("a page below the all-ones address: {:#x}", anywhere.addr()),
    );
    if !anywhere.is_null() {
        // SAFETY: the block just allocated, freed once.
        unsafe { (k.free_contiguous)(anywhere) };
    }
    // SAFETY: valid bounds, a 16 KiB boundary, cached.
    let bounded =
        unsafe { (k.allocate_contiguous_cache)(2 * PAGE, 0, i64::MAX, 0x4000, MM_CACHED) }.addr();
    let bpa = physical(bounded);
    check(
        "nt.mm.boundary_not_crossed",
        bounded != 0 && bpa % 0x4000 + 2 * PAGE as u64 <= 0x4000,
        format_args!("2 pages at physical {bpa:#x} within one 16 KiB boundary"),
    );
    if bounded != 0 {
        // SAFETY: the block just allocated, freed once.
        unsafe { (k.free_contiguous)(core::ptr::with_exposed_provenance_mut(bounded)) };
    }
    io_space(block, pa);
    // SAFETY: the block allocated above, freed once.
    unsafe { (k.free_contiguous)(core::ptr::with_exposed_provenance_mut(block)) };
    let (live, maps, _) = crate::nt::routines::mm::counts();
    check(
        "nt.mm.freed_and_unmapped",
        peek(block) == 0xdf && live == 0 && maps == 0,
        format_args!(
            "freed block filled {:#04x}, {live} blocks and {maps} mappings left",
            peek(block)
        ),
    );
}

/// Xen copies each page of the block at physical `pa` by its frame number into a page of
/// ours; the copy holds the bytes the stand-in wrote through the virtual address.
fn through_xen(pa: u64) {
    let k = kernel();
    // SAFETY: a size and "any address".
    let target = unsafe { (k.allocate_contiguous)(PAGE, i64::MAX) }.addr();
    if target == 0 {
        check(
            "nt.mm.physical_address_through_xen",
            false,
            format_args!("no target page"),
        );
        return;
    }
    let target_frame = physical(target) >> 12;
    let mut same = 0;
    let mut statuses = alloc::vec::Vec::new();
    for page in 0..3u64 {
        let mut ops = [GnttabCopy {
            source: GnttabCopyPtr {
                u: GnttabCopyPtrU {
                    gmfn: (pa >> 12) + page,
                },
                domid: DOMID_SELF,
                offset: 0,
            },
            dest: GnttabCopyPtr {
                u: GnttabCopyPtrU { gmfn: target_frame },
                domid: DOMID_SELF,
                offset: 0,
            },
            len: 4096,
            flags: 0,
            status: 0,
        }];
        // SAFETY: the destination is our own page `target`, which nothing else uses.
        let r = unsafe { xen::grant_table::copy(crate::suite::hv(), &mut ops) };
        statuses.push((r.is_ok(), ops[0].status));
        let p = usize::try_from(page).unwrap_or(0);
        if r.is_ok() && ops[0].status == 0 && (0..PAGE).all(|o| peek(target + o) == pattern(p, o)) {
            same += 1;
        }
    }
    check(
        "nt.mm.physical_address_through_xen",
        same == 3,
        format_args!(
            "Xen copied {same} of 3 pages by the frames MmGetPhysicalAddress gave ({:#x}..) \
             with the bytes written through the virtual address; results {statuses:?}",
            pa >> 12
        ),
    );
    // SAFETY: the page allocated above, freed once.
    unsafe { (k.free_contiguous)(core::ptr::with_exposed_provenance_mut(target)) };
}

/// `MmMapIoSpace` and `MmMapIoSpaceEx` aliases of the block's frames.
fn io_space(block: usize, pa: u64) {
    let k = kernel();
    let at = i64::try_from(pa + 0x10).unwrap_or(0);
    // SAFETY: the physical range of the checks' own block; two pages from offset 0x10.
    let va: *mut c_void = unsafe { (k.map_io)(at, 2 * PAGE, MM_NON_CACHED) };
    let v = va.addr();
    let alias = v != 0
        && v % PAGE == 0x10
        && peek(v) == pattern(0, 0x10)
        && peek(v + PAGE) == pattern(1, 0x10);
    if v != 0 {
        poke(v + 0x20, 0xa5);
    }
    let written = peek(block + 0x30) == 0xa5;
    let uncached = v != 0 && vm::is_uncached(v as u64);
    let translated = v != 0 && physical(v) == pa + 0x10;
    if v != 0 {
        // SAFETY: the mapping just made, with its size, unmapped once.
        unsafe { (k.unmap_io)(va, 2 * PAGE) };
    }
    let gone = v != 0 && vm::translate(v as u64).is_none();
    check(
        "nt.mm.map_io_space_uncached_alias",
        alias && written && uncached && translated && gone,
        format_args!(
            "mapped at {v:#x}: reads the block {alias}, writes reach it {written}, uncached \
             {uncached}, MmGetPhysicalAddress {translated}, gone after MmUnmapIoSpace {gone}"
        ),
    );
    let at = i64::try_from(pa).unwrap_or(0);
    // SAFETY: as above, one page, read-write and cached.
    let cached = unsafe { (k.map_io_ex)(at, PAGE, PAGE_READWRITE) };
    // SAFETY: as above, read-write and uncached.
    let nocache = unsafe { (k.map_io_ex)(at, PAGE, PAGE_READWRITE | PAGE_NOCACHE) };
    let ok = !cached.is_null()
        && !nocache.is_null()
        && peek(cached.addr() + 5) == pattern(0, 5)
        && peek(nocache.addr() + 5) == pattern(0, 5)
        && !vm::is_uncached(cached.addr() as u64)
        && vm::is_uncached(nocache.addr() as u64);
    for m in [cached, nocache] {
        if !m.is_null() {
            // SAFETY: a mapping just made, with its size, unmapped once.
            unsafe { (k.unmap_io)(m, PAGE) };
        }
    }
    check(
        "nt.mm.map_io_space_ex",
        ok,
        format_args!(
            "PAGE_READWRITE at {:#x} (cached), with PAGE_NOCACHE at {:#x} (uncached)",
            cached.addr(),
            nocache.addr()
        ),
    );
}
