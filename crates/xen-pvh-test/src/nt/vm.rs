// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The stand-in's kernel address space for driver images: 4 KiB pages at Windows-like system
//! addresses (`0xFFFFF806...`), far above the boot identity map of the first 4 GiB.
//!
//! A loaded image's memory is ordinary kernel memory from the allocator (identity-mapped, where
//! the loader writes it); [`map`] makes a second mapping of those frames at the image's base with
//! the rights of its sections: the headers and read-only sections read-only and not executable,
//! code read-only and executable, data writable and not executable (`EFER.NXE` is switched on by
//! [`enable_nx`]). So a driver that writes to its code or constants, or runs its data, faults;
//! and after [`unmap`] a call into an unloaded image, or a pointer into it, faults too.
//!
//! The page tables are built from the CR3 the boot code loaded, one new PML4 slot for this
//! region; table pages come from the allocator and are kept (the region is reused by later
//! images). Both vCPUs share CR3, so a mapping made on one is seen by the other.

use alloc::alloc::{Layout, alloc_zeroed};
use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

/// Where driver images are mapped: the first image at this base, each next one 16 MiB on.
pub const IMAGE_REGION: u64 = 0xffff_f806_1000_0000;
/// The address space each image slot spans.
pub const IMAGE_SLOT: u64 = 16 << 20;

const PAGE: u64 = 4096;
const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const NO_EXECUTE: u64 = 1 << 63;
const FRAME_MASK: u64 = 0x000f_ffff_ffff_f000;
/// `IA32_EFER` and its no-execute enable bit.
const EFER: u32 = 0xc000_0080;
const EFER_NXE: u64 = 1 << 11;

/// The rights of one mapped page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    /// Writable.
    pub write: bool,
    /// Executable.
    pub execute: bool,
}

/// Sets `EFER.NXE` on this CPU so the no-execute bit is honoured (and not a reserved bit).
pub fn enable_nx() {
    let (lo, hi): (u32, u32);
    // SAFETY: EFER exists on every x86_64 CPU; RDMSR only reads it.
    unsafe {
        asm!("rdmsr", in("ecx") EFER, out("eax") lo, out("edx") hi,
             options(nomem, nostack, preserves_flags));
    }
    let value = (u64::from(hi) << 32 | u64::from(lo)) | EFER_NXE;
    let [l0, l1, l2, l3, h0, h1, h2, h3] = value.to_le_bytes();
    // SAFETY: only NXE is added to the current value; NX is supported by every CPU Xen runs
    // PVH guests on (QEMU's `-cpu max` has it).
    unsafe {
        asm!("wrmsr", in("ecx") EFER, in("eax") u32::from_le_bytes([l0, l1, l2, l3]),
             in("edx") u32::from_le_bytes([h0, h1, h2, h3]), options(nomem, nostack, preserves_flags));
    }
}

/// The page-table entry `index` of the table at physical (= identity-mapped) address `table`.
///
/// # Safety
/// `table` is a live page-table page: the PML4 the boot code loaded or a table this module
/// allocated (page-aligned, identity-mapped, never freed), whose entries are only accessed
/// through these atomics.
unsafe fn entry(table: u64, index: u64) -> &'static AtomicU64 {
    let address = usize::try_from(table + (index & 511) * 8).unwrap_or(0);
    let p = core::ptr::with_exposed_provenance_mut::<u64>(address);
    // SAFETY: the caller's contract.
    unsafe { AtomicU64::from_ptr(p) }
}

/// The table an entry points to, allocating a zeroed one if the entry is empty.
fn next_table(e: &AtomicU64) -> Option<u64> {
    let value = e.load(Ordering::SeqCst);
    if value & PRESENT != 0 {
        return Some(value & FRAME_MASK);
    }
    let layout = Layout::from_size_align(4096, 4096).ok()?;
    // SAFETY: a non-zero-size layout.
    let page = unsafe { alloc_zeroed(layout) };
    if page.is_null() {
        return None;
    }
    let frame = page.expose_provenance() as u64;
    e.store(frame | PRESENT | WRITABLE, Ordering::SeqCst);
    Some(frame)
}

/// The physical address of the PML4.
fn pml4() -> u64 {
    let cr3: u64;
    // SAFETY: reading CR3 has no side effect.
    unsafe { asm!("mov {}, cr3", out(reg) cr3, options(nomem, nostack, preserves_flags)) };
    cr3 & FRAME_MASK
}

/// The last-level entry for `virt`, creating the tables on the way.
fn leaf(virt: u64) -> Option<&'static AtomicU64> {
    // SAFETY: CR3 holds the live PML4 the boot code built.
    let pdpt = next_table(unsafe { entry(pml4(), virt >> 39) })?;
    // SAFETY: `next_table` returns a live table (found present or just allocated).
    let pd = next_table(unsafe { entry(pdpt, virt >> 30) })?;
    // SAFETY: as above.
    let pt = next_table(unsafe { entry(pd, virt >> 21) })?;
    // SAFETY: as above.
    Some(unsafe { entry(pt, virt >> 12) })
}

/// Maps `pages` pages of frames starting at `phys` at `virt` with `rights`. Returns false if a
/// page was already mapped or a table could not be allocated.
pub fn map(virt: u64, phys: u64, pages: u64, rights: Rights) -> bool {
    for page in 0..pages {
        let Some(e) = leaf(virt + page * PAGE) else {
            return false;
        };
        let mut value = (phys + page * PAGE) | PRESENT;
        if rights.write {
            value |= WRITABLE;
        }
        if !rights.execute {
            value |= NO_EXECUTE;
        }
        if e.compare_exchange(0, value, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
    }
    true
}

/// Removes the mapping of `pages` pages at `virt` and flushes them from the TLB.
pub fn unmap(virt: u64, pages: u64) {
    for page in 0..pages {
        let address = virt + page * PAGE;
        if let Some(e) = leaf(address) {
            e.store(0, Ordering::SeqCst);
        }
        // SAFETY: INVLPG only drops a TLB entry.
        unsafe { asm!("invlpg [{}]", in(reg) address, options(nostack, preserves_flags)) };
    }
}

/// Page-level write-through and cache-disable (`PWT`, `PCD`): with the default PAT, both set
/// is uncacheable (UC).
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
/// A large page (a 1 GiB PDPT entry or a 2 MiB PD entry, as the boot identity map uses).
const LARGE: u64 = 1 << 7;

/// Maps `pages` frames from `phys` at `virt` for device or RAM access (`MmMapIoSpace`): writable
/// unless `read_only`, never executable, uncached unless `cached`. False if a page was already
/// mapped or a table could not be allocated.
pub fn map_io(virt: u64, phys: u64, pages: u64, read_only: bool, cached: bool) -> bool {
    if !map(
        virt,
        phys,
        pages,
        Rights {
            write: !read_only,
            execute: false,
        },
    ) {
        return false;
    }
    if !cached {
        for page in 0..pages {
            if let Some(e) = leaf(virt + page * PAGE) {
                e.fetch_or(WRITE_THROUGH | CACHE_DISABLE, Ordering::SeqCst);
            }
        }
    }
    true
}

/// The entry that maps `virt` and the size of the page it maps, without creating anything:
/// `None` where nothing is mapped.
fn walk(virt: u64) -> Option<(u64, u64)> {
    let mut table = pml4();
    // Levels: PML4 (no large pages), PDPT (1 GiB), PD (2 MiB), PT (4 KiB).
    for (shift, large_ok) in [(39u32, false), (30, true), (21, true), (12, false)] {
        // SAFETY: `table` is CR3's PML4 or a table a present entry of the previous level
        // pointed to: live page-table pages (the boot code's or this module's).
        let value = unsafe { entry(table, virt >> shift) }.load(Ordering::SeqCst);
        if value & PRESENT == 0 {
            return None;
        }
        if shift == 12 || (large_ok && value & LARGE != 0) {
            return Some((value, 1u64 << shift));
        }
        table = value & FRAME_MASK;
    }
    None
}

/// The physical address `virt` maps to (through the boot identity map's large pages or this
/// module's 4 KiB ones); `None` if it is not mapped.
pub fn translate(virt: u64) -> Option<u64> {
    let (value, size) = walk(virt)?;
    let frame = value & FRAME_MASK & !(size - 1);
    Some(frame | (virt & (size - 1)))
}

/// Whether the page at `virt` is mapped uncached (`PCD` set).
pub fn is_uncached(virt: u64) -> bool {
    walk(virt).is_some_and(|(value, _)| value & CACHE_DISABLE != 0)
}
