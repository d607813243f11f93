// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `shared_info` mapping, the physmap and the reservation.

use super::{BALLOON, NEVER_MAPPED_GFN, SHARED_INFO_GFN, SHARED_INFO_GFN2, check_eq, hv, shm};
use crate::arch;
use crate::events::{self, SHARED_INFO};
use crate::harness::{check, fatal, ok, status};
use core::mem::offset_of;
use core::sync::atomic::Ordering;
use xen::memory::PAGE_ORDER_4K;
use xen::status::{STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_UNSUCCESSFUL};
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF, SharedInfo};

/// `XENMEM_add_to_physmap(XENMAPSPACE_shared_info)`: everything after needs it.
pub fn shared_info() {
    let xen = hv();
    // SAFETY: SHARED_INFO_GFN is outside dom0's memory: nothing of ours is there.
    let mapped =
        unsafe { xen::memory::add_to_physmap(xen, SHARED_INFO_GFN, XENMAPSPACE_SHARED_INFO, 0) };
    if ok("memory.add_to_physmap_shared_info", mapped).is_none() {
        fatal(format_args!("cannot map shared_info"));
    }
    crate::events::use_shared_info(SHARED_INFO_GFN);
    xen::sched::yield_now(xen);
    let (mul, version) = shm::time_record(0);
    check(
        "shared_info.time_record_live",
        mul != 0 && version % 2 == 0 && version != 0,
        format_args!("tsc_to_system_mul {mul:#x}, version {version}"),
    );
    let t0 = events::now_ns();
    for _ in 0..1000 {
        arch::pause();
    }
    let t1 = events::now_ns();
    check(
        "shared_info.system_time_advances",
        t0 > 0 && t1 > t0,
        format_args!("{t0} -> {t1} ns"),
    );
}

/// The reservation round trip and moving `shared_info` around the physmap.
pub fn reservation_and_physmap() {
    let xen = hv();
    let before = ok(
        "memory.current_reservation",
        xen::memory::current_reservation(xen, DOMID_SELF),
    )
    .unwrap_or(0);
    let maximum = xen::memory::maximum_reservation(xen, DOMID_SELF);
    check(
        "memory.maximum_reservation",
        maximum.is_ok_and(|m| m >= before && before > 0),
        format_args!("current {before} pages, maximum {maximum:?}"),
    );
    status(
        "memory.current_reservation_bad_domid",
        xen::memory::current_reservation(xen, DOMID_INVALID),
        STATUS_UNSUCCESSFUL,
    );

    // Give one page of ours back and get it repopulated.
    let gfn = BALLOON.gfn();
    shm::fill(&BALLOON, 0x5a);
    let mut frames = [gfn];
    // SAFETY: BALLOON is only touched again after it is repopulated below.
    let released = unsafe { xen::memory::decrease_reservation(xen, PAGE_ORDER_4K, &mut frames) };
    check_eq("memory.decrease_reservation", released, Ok(1));
    check_eq(
        "memory.decrease_lowers_reservation",
        xen::memory::current_reservation(xen, DOMID_SELF),
        Ok(before - 1),
    );
    let mut frames = [gfn];
    // SAFETY: the frame is ours and currently unbacked.
    let populated = unsafe { xen::memory::populate_physmap(xen, PAGE_ORDER_4K, &mut frames) };
    check_eq("memory.populate_physmap", populated, Ok(1));
    check_eq(
        "memory.populate_restores_reservation",
        xen::memory::current_reservation(xen, DOMID_SELF),
        Ok(before),
    );
    shm::fill(&BALLOON, 0xa5);
    let readback = (0..4096)
        .step_by(512)
        .all(|i| shm::read_frame_byte(gfn, i) == 0xa5);
    check(
        "memory.populated_page_is_usable",
        readback,
        format_args!("gfn {gfn:#x}"),
    );
    let mut frames = [NEVER_MAPPED_GFN];
    // SAFETY: nothing is at NEVER_MAPPED_GFN.
    let none = unsafe { xen::memory::decrease_reservation(xen, PAGE_ORDER_4K, &mut frames) };
    check_eq("memory.decrease_unbacked_is_partial_success", none, Ok(0));

    // Move shared_info: remove it, map it elsewhere, find the same page.
    let marker = 0x5eed_0000_cafe_f00d_u64;
    set_marker(marker);
    // SAFETY: shared_info at SHARED_INFO_GFN is only used through SHARED_INFO, which is
    // switched before anything reads it again (interrupts are off).
    let removed = unsafe { xen::memory::remove_from_physmap(xen, SHARED_INFO_GFN) };
    ok("memory.remove_from_physmap", removed);
    // SAFETY: SHARED_INFO_GFN2 is outside dom0's memory.
    let moved =
        unsafe { xen::memory::add_to_physmap(xen, SHARED_INFO_GFN2, XENMAPSPACE_SHARED_INFO, 0) };
    ok("memory.add_to_physmap_again", moved);
    crate::events::use_shared_info(SHARED_INFO_GFN2);
    let seen = marker_word();
    check(
        "memory.shared_info_moved_intact",
        seen == marker && shm::time_record(0).0 != 0,
        format_args!("mask word 63 {seen:#x}"),
    );
    // SAFETY: nothing is mapped at NEVER_MAPPED_GFN.
    let bad = unsafe { xen::memory::remove_from_physmap(xen, NEVER_MAPPED_GFN) };
    status(
        "memory.remove_from_physmap_unbacked",
        bad,
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
    // SAFETY: as above.
    let bad_space = unsafe { xen::memory::add_to_physmap(xen, NEVER_MAPPED_GFN, 99, 0) };
    status(
        "memory.add_to_physmap_bad_space",
        bad_space,
        STATUS_INVALID_PARAMETER,
    );
}

/// Mask word 63 (ports 4032..4095, never used) as a marker that moves with the page.
fn marker_slot() -> *mut u64 {
    SHARED_INFO
        .load(Ordering::SeqCst)
        .wrapping_byte_add(offset_of!(SharedInfo, evtchn_mask))
        .cast::<u64>()
        .wrapping_add(63)
}

fn set_marker(value: u64) {
    // SAFETY: the last mask word of the mapped shared_info page; the guest owns mask bits.
    unsafe { marker_slot().write_volatile(value) };
}

fn marker_word() -> u64 {
    // SAFETY: as `set_marker`.
    let value = unsafe { marker_slot().read_volatile() };
    set_marker(0);
    value
}
