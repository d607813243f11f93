// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The reservation and the physmap (the PVH suite's `memory.*` findings).

mod common;

use common::Guest;
use std::sync::atomic::Ordering::SeqCst;
use xen::memory::{self, PAGE_ORDER_4K};
use xen::status::Error;
use xen_headers::errno;
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF};

#[test]
fn reservation_counts_follow_decrease_and_populate() {
    let g = Guest::default_guest();
    let (gfn, page) = g.sim.allocate(2);
    let before = memory::current_reservation(&g.hv, DOMID_SELF).unwrap();
    let maximum = memory::maximum_reservation(&g.hv, DOMID_SELF).unwrap();
    assert!(before > 0 && maximum >= before);
    assert_eq!(
        memory::current_reservation(&g.hv, DOMID_INVALID),
        Err(Error::Errno(errno::ESRCH))
    );
    let mut frames = [gfn, gfn + 1];
    // SAFETY: the frames are not used until repopulated.
    let result = unsafe { memory::decrease_reservation(&g.hv, PAGE_ORDER_4K, &mut frames) };
    assert_eq!(result, Ok(2));
    assert_eq!(
        memory::current_reservation(&g.hv, DOMID_SELF),
        Ok(before - 2)
    );
    assert!(!g.sim.is_populated(gfn));
    assert_eq!(g.sim.audit().unpopulated_gfns, 2);
    // The stale pointer is still memory: it reads the release poison.
    // SAFETY: the simulator keeps released pages allocated.
    assert_eq!(unsafe { page.read_volatile() }, 0xff);
    let mut one = [gfn];
    // SAFETY: the frame is unbacked.
    let result = unsafe { memory::populate_physmap(&g.hv, PAGE_ORDER_4K, &mut one) };
    assert_eq!(result, Ok(1));
    assert_eq!(
        memory::current_reservation(&g.hv, DOMID_SELF),
        Ok(before - 1)
    );
    assert!(g.sim.is_populated(gfn));
    // Populating a frame that has RAM replaces it (Xen 4.17's p2m_add_page): the old page
    // stays the domain's, so the reservation grows.
    let mut both = [gfn + 1, gfn];
    // SAFETY: the old contents of `gfn` are given up.
    let replaced = unsafe { memory::populate_physmap(&g.hv, PAGE_ORDER_4K, &mut both) };
    assert_eq!(replaced, Ok(2));
    assert_eq!(
        memory::current_reservation(&g.hv, DOMID_SELF),
        Ok(before + 1)
    );
    assert!(g.sim.audit().is_clean());
}

#[test]
fn decreasing_an_unbacked_frame_is_a_partial_success_of_zero() {
    let g = Guest::default_guest();
    let mut frames = [g.sim.hole(1)];
    // SAFETY: nothing at the frame.
    let result = unsafe { memory::decrease_reservation(&g.hv, PAGE_ORDER_4K, &mut frames) };
    assert_eq!(result, Ok(0));
}

#[test]
fn shared_info_moves_intact_and_physmap_errors() {
    let g = Guest::default_guest();
    let first = g.shared_info_gfn;
    let marker = 0x5eed_0000_cafe_f00d_u64;
    let mask63 = std::mem::offset_of!(xen_headers::xen::SharedInfo, evtchn_mask) + 63 * 8;
    common::at64(g.sim.host_ptr(first).unwrap(), mask63).store(marker, SeqCst);
    // SAFETY: nothing uses the old place afterwards.
    unsafe { memory::remove_from_physmap(&g.hv, first) }.unwrap();
    assert!(g.sim.host_ptr(first).is_none());
    let second = g.sim.hole(1);
    // SAFETY: a hole.
    unsafe { memory::add_to_physmap(&g.hv, second, XENMAPSPACE_SHARED_INFO, 0) }.unwrap();
    let seen = common::at64(g.sim.host_ptr(second).unwrap(), mask63).load(SeqCst);
    assert_eq!(seen, marker);
    let hole = g.sim.hole(1);
    // SAFETY: nothing is mapped there.
    let result = unsafe { memory::remove_from_physmap(&g.hv, hole) };
    assert_eq!(result, Err(Error::Errno(errno::ENOENT)));
    // SAFETY: refused.
    let result = unsafe { memory::add_to_physmap(&g.hv, hole, 99, 0) };
    assert_eq!(result, Err(Error::Errno(errno::EINVAL)));
}

#[test]
fn mapping_over_ram_releases_the_ram_page() {
    let g = Guest::default_guest();
    let (gfn, _) = g.sim.allocate(1);
    let before = memory::current_reservation(&g.hv, DOMID_SELF).unwrap();
    // SAFETY: the page's old contents are given up.
    unsafe { memory::add_to_physmap(&g.hv, gfn, XENMAPSPACE_SHARED_INFO, 0) }.unwrap();
    assert_eq!(
        memory::current_reservation(&g.hv, DOMID_SELF),
        Ok(before - 1)
    );
    assert_eq!(g.sim.host_ptr(gfn), Some(g.sim.shared_info_ptr()));
}
