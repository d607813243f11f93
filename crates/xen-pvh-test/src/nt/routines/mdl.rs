// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Memory descriptor lists a driver builds itself: `IoAllocateMdl`, `MmBuildMdlForNonPagedPool`,
//! `IoFreeMdl`.
//!
//! `IoAllocateMdl` builds the MDL in pool on the caller's behalf (tag `Mdl `, so the pool's
//! checks and its leak audit at unload apply): the header with `StartVa` the buffer's page,
//! `ByteOffset` and `ByteCount`, `Size` with room for one frame number per page spanned, no
//! flags, the frame numbers zero until `MmBuildMdlForNonPagedPool` fills them from the page
//! tables, sets `MappedSystemVa` to the buffer and `MDL_SOURCE_IS_NONPAGED_POOL`.
//!
//! Checked: the IRQL (`DISPATCH_LEVEL` at most for all three), a NULL address or a zero
//! length, an `Irp` (attaching the MDL to an IRP is not modelled), an MDL whose `Size` has no
//! room for its frames or whose pages are not mapped (`MmBuildMdlForNonPagedPool` takes an MDL
//! of `IoAllocateMdl`'s or one the driver initialised with `MmInitializeMdl`), and
//! `IoFreeMdl` of what `IoAllocateMdl` did not give (never allocated, or freed already: told
//! apart).

use super::pool;
use crate::nt::loader::Where;
use crate::nt::verifier::{self, DISPATCH_LEVEL};
use crate::nt::vm;
use alloc::collections::BTreeMap;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::MDL;

const PAGE: usize = 4096;
/// `MDL_SOURCE_IS_NONPAGED_POOL`.
const MDL_SOURCE_IS_NONPAGED_POOL: i16 = 0x4;
/// The pool tag of the MDLs `IoAllocateMdl` builds (`Mdl `).
const TAG: u32 = u32::from_le_bytes(*b"Mdl ");

/// MDLs `IoAllocateMdl` gave, and those `IoFreeMdl` freed (by whom).
struct Mdls {
    live: BTreeMap<usize, u64>,
    freed: BTreeMap<usize, u64>,
}

static MDLS: spin::Mutex<Mdls> = spin::Mutex::new(Mdls {
    live: BTreeMap::new(),
    freed: BTreeMap::new(),
});

/// The pages `length` bytes at `va` span.
const fn pages(va: usize, length: usize) -> usize {
    (va % PAGE + length).div_ceil(PAGE)
}

/// `PMDL IoAllocateMdl(PVOID VirtualAddress, ULONG Length, BOOLEAN SecondaryBuffer, BOOLEAN
/// ChargeQuota, PIRP Irp)`: only without an IRP. <= DISPATCH_LEVEL.
pub extern "win64" fn io_allocate_mdl(
    va: *mut c_void,
    length: u32,
    _secondary: u8,
    _quota: u8,
    irp: *mut c_void,
) -> *mut MDL {
    let call = verifier::enter("IoAllocateMdl");
    call.at_most(DISPATCH_LEVEL);
    call.require(!va.is_null(), format_args!("VirtualAddress is NULL"));
    call.require(length != 0, format_args!("Length is 0"));
    call.require(
        irp.is_null(),
        format_args!(
            "Irp {:#x}: attaching the MDL to an IRP is not modelled",
            irp.addr()
        ),
    );
    let a = va.addr();
    let n = pages(a, length as usize);
    let size = size_of::<MDL>() + n * size_of::<u64>();
    let Ok(mdl_size) = i16::try_from(size) else {
        return core::ptr::null_mut();
    };
    let mdl = pool::allocate_for(&call, size, TAG).cast::<MDL>();
    if mdl.is_null() {
        return mdl;
    }
    let header = MDL {
        Next: core::ptr::null_mut(),
        Size: mdl_size,
        MdlFlags: 0,
        Process: core::ptr::null_mut(),
        MappedSystemVa: core::ptr::null_mut(),
        StartVa: core::ptr::with_exposed_provenance_mut(a - a % PAGE),
        ByteCount: length,
        ByteOffset: u32::try_from(a % PAGE).unwrap_or(0),
    };
    // SAFETY: the fresh block's first bytes (it holds `size` bytes, more than the header),
    // 16-byte aligned, zeroed (the frame numbers after it stay 0).
    unsafe { mdl.write(header) };
    let mut mdls = MDLS.lock();
    mdls.freed.remove(&mdl.addr());
    mdls.live.insert(mdl.addr(), call.caller);
    mdl
}

/// `VOID MmBuildMdlForNonPagedPool(PMDL MemoryDescriptorList)`. <= DISPATCH_LEVEL.
pub extern "win64" fn mm_build_mdl_for_non_paged_pool(mdl: *mut MDL) {
    let call = verifier::enter("MmBuildMdlForNonPagedPool");
    call.at_most(DISPATCH_LEVEL);
    call.require(!mdl.is_null(), format_args!("MemoryDescriptorList is NULL"));
    // SAFETY: the routine's contract: an MDL (IoAllocateMdl's, or MmInitializeMdl's in the
    // driver's memory), readable and writable.
    let header = unsafe { mdl.read() };
    let start = header.StartVa.addr();
    let va = start.wrapping_add(header.ByteOffset as usize);
    let n = pages(va, header.ByteCount as usize);
    let room = usize::try_from(header.Size)
        .unwrap_or(0)
        .saturating_sub(size_of::<MDL>())
        / size_of::<u64>();
    call.require(
        start % PAGE == 0 && (header.ByteOffset as usize) < PAGE && room >= n,
        format_args!(
            "the MDL {:#x} (StartVa {start:#x}, ByteOffset {:#x}, Size {}) has no room for its \
             {n} frames",
            mdl.addr(),
            header.ByteOffset,
            header.Size
        ),
    );
    let array = mdl.wrapping_add(1).cast::<u64>();
    for i in 0..n {
        let page = start + i * PAGE;
        let Some(physical) = vm::translate(page as u64) else {
            call.fail(format_args!(
                "page {page:#x} of the MDL {:#x}'s buffer is not mapped",
                mdl.addr()
            ));
        };
        // SAFETY: inside the MDL's PFN array (`i < n <= room`, checked).
        unsafe {
            array
                .wrapping_add(i)
                .write_unaligned(physical / PAGE as u64);
        }
    }
    let flags = offset_of!(MDL, MdlFlags);
    let mapped = offset_of!(MDL, MappedSystemVa);
    // SAFETY: the MDL's header, as above.
    unsafe {
        mdl.cast::<u8>()
            .wrapping_add(flags)
            .cast::<i16>()
            .write_unaligned(header.MdlFlags | MDL_SOURCE_IS_NONPAGED_POOL);
    }
    // SAFETY: as above.
    unsafe {
        mdl.cast::<u8>()
            .wrapping_add(mapped)
            .cast::<usize>()
            .write_unaligned(va);
    }
}

/// `VOID IoFreeMdl(PMDL Mdl)`: an MDL `IoAllocateMdl` gave. <= DISPATCH_LEVEL.
pub extern "win64" fn io_free_mdl(mdl: *mut MDL) {
    let call = verifier::enter("IoFreeMdl");
    call.at_most(DISPATCH_LEVEL);
    let a = mdl.addr();
    let (live, freed_by) = {
        let mdls = MDLS.lock();
        (mdls.live.contains_key(&a), mdls.freed.get(&a).copied())
    };
    if !live {
        match freed_by {
            Some(by) => call.fail(format_args!(
                "MDL {a:#x} freed twice (first from {})",
                Where(by)
            )),
            None => call.fail(format_args!("{a:#x} is not an MDL IoAllocateMdl returned")),
        }
    }
    pool::free_for(&call, mdl.cast(), TAG);
    let mut mdls = MDLS.lock();
    mdls.live.remove(&a);
    mdls.freed.insert(a, call.caller);
}
