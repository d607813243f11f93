// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Reads and writes of memory shared with Xen (`shared_info` bitmaps, `vcpu_info`, pages handed to
//! Xen), all through atomics or volatile accesses on raw pointers.

use crate::arch::Page;
use crate::events::{self, SHARED_INFO, VCPU_INFO};
use core::mem::offset_of;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use xen_headers::xen::{SharedInfo, VcpuInfo, VcpuTimeInfo};

fn shared_info() -> Option<*mut SharedInfo> {
    let si = SHARED_INFO.load(Ordering::SeqCst);
    (!si.is_null()).then_some(si)
}

fn word_of(port: u32) -> Option<(usize, u64)> {
    let word = usize::try_from(port / 64).ok()?;
    (word < 64).then(|| (word, 1_u64 << (port % 64)))
}

/// One word of the 2-level pending (`mask == false`) or mask bitmap.
fn bitmap_word(port: u32, mask: bool) -> Option<(&'static AtomicU64, u64)> {
    let si = shared_info()?;
    let (word, bit) = word_of(port)?;
    // SAFETY: `si` is the mapped shared_info page, which stays mapped, and `word < 64`.
    Some((unsafe { events::bitmap_word(si, mask, word) }, bit))
}

/// Whether `port` is pending in `shared_info`.
pub fn pending(port: u32) -> bool {
    bitmap_word(port, false).is_some_and(|(w, bit)| w.load(Ordering::SeqCst) & bit != 0)
}

/// Clears `port`'s pending bit (the guest acknowledges events this way).
pub fn clear_pending(port: u32) {
    if let Some((w, bit)) = bitmap_word(port, false) {
        w.fetch_and(!bit, Ordering::SeqCst);
    }
}

/// Whether `port` is masked.
pub fn masked(port: u32) -> bool {
    bitmap_word(port, true).is_some_and(|(w, bit)| w.load(Ordering::SeqCst) & bit != 0)
}

/// Masks or unmasks `port` in `shared_info` (without asking Xen to re-deliver).
pub fn set_mask(port: u32, on: bool) {
    if let Some((w, bit)) = bitmap_word(port, true) {
        if on {
            w.fetch_or(bit, Ordering::SeqCst);
        } else {
            w.fetch_and(!bit, Ordering::SeqCst);
        }
    }
}

fn vcpu_info(cpu: usize) -> Option<*mut VcpuInfo> {
    let vi = VCPU_INFO.get(cpu)?.load(Ordering::SeqCst);
    (!vi.is_null()).then_some(vi)
}

/// `evtchn_upcall_pending` of vCPU `cpu`.
pub fn upcall_pending(cpu: usize) -> bool {
    vcpu_info(cpu).is_some_and(|vi| {
        // SAFETY: `vi` is that vCPU's live `vcpu_info`, which stays mapped.
        let flag = unsafe { events::upcall_pending_flag(vi) };
        flag.load(Ordering::SeqCst) != 0
    })
}

/// `evtchn_pending_sel` of vCPU `cpu`.
pub fn pending_sel(cpu: usize) -> u64 {
    vcpu_info(cpu).map_or(0, |vi| {
        // SAFETY: as `upcall_pending`.
        let sel = unsafe { events::pending_sel_word(vi) };
        sel.load(Ordering::SeqCst)
    })
}

/// The pvclock multiplier and version of vCPU `cpu`'s time record (both non-zero once Xen
/// maintains it).
pub fn time_record(cpu: usize) -> (u32, u32) {
    vcpu_info(cpu).map_or((0, 0), |vi| {
        let time = vi.wrapping_byte_add(offset_of!(VcpuInfo, time));
        let mul = time
            .wrapping_byte_add(offset_of!(VcpuTimeInfo, tsc_to_system_mul))
            .cast::<u32>();
        let version = time
            .wrapping_byte_add(offset_of!(VcpuTimeInfo, version))
            .cast::<u32>();
        // SAFETY: both point into a live `vcpu_info`; read volatile (Xen updates them).
        let mul = unsafe { mul.read_volatile() };
        // SAFETY: as above.
        let version = unsafe { version.read_volatile() };
        (mul, version)
    })
}

/// A 32-bit word of a page (volatile).
pub fn read_u32(page: &Page, index: usize) -> u32 {
    page_u32(page, index).map_or(0, |w| w.load(Ordering::SeqCst))
}

/// The 32-bit word `index` of `page` as an atomic (Xen updates FIFO words with atomics).
pub const fn page_u32(page: &Page, index: usize) -> Option<&'static AtomicU32> {
    if index >= 1024 {
        return None;
    }
    let word = page.words().cast::<u32>().wrapping_add(index);
    // SAFETY: `page` is a static 4 KiB page, so word `index < 1024` is in bounds and lives
    // forever; it is only accessed atomically.
    Some(unsafe { AtomicU32::from_ptr(word) })
}

/// Fills `page` with `byte` (volatile).
pub fn fill(page: &Page, byte: u8) {
    for i in 0..4096 {
        let p = page.ptr().wrapping_add(i);
        // SAFETY: `i < 4096` is within the static page.
        unsafe { p.write_volatile(byte) };
    }
}

/// Reads byte `i` of the memory at guest frame `gfn` (identity-mapped).
pub fn read_frame_byte(gfn: u64, i: usize) -> u8 {
    let addr = usize::try_from(gfn << 12).unwrap_or(0) + (i & 0xfff);
    // SAFETY: callers pass frames that are currently backed (our pages or frames Xen just
    // mapped for us); the identity map covers the first 4 GiB.
    unsafe { core::ptr::with_exposed_provenance::<u8>(addr).read_volatile() }
}

/// Writes byte `i` of the memory at guest frame `gfn`.
pub fn write_frame_byte(gfn: u64, i: usize, value: u8) {
    let addr = usize::try_from(gfn << 12).unwrap_or(0) + (i & 0xfff);
    // SAFETY: as `read_frame_byte`, for frames the suite owns.
    unsafe { core::ptr::with_exposed_provenance_mut::<u8>(addr).write_volatile(value) };
}
