// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Grant tables: sizes, versions, frames, the toolstack's seeded entries, dom0 mapping a guest
//! grant (and the guest's revoke failing meanwhile), the guest mapping a dom0 grant, copy.

mod common;

use common::{Guest, grant_flags, write_grant};
use std::sync::atomic::Ordering::SeqCst;
use xen::grant_table as gnttab;
use xen::status::Error;
use xen_headers::errno;
use xen_headers::grant_table::{
    GNTCOPY_SOURCE_GREF, GNTST_BAD_DOMAIN, GNTST_BAD_GNTREF, GNTST_BAD_HANDLE, GNTST_GENERAL_ERROR,
    GNTST_PERMISSION_DENIED, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_WRITING, GnttabCopy,
    GnttabCopyPtr, GnttabCopyPtrU,
};
use xen_headers::memory::XENMAPSPACE_GRANT_TABLE;
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF};

const REF: u32 = 8;

#[test]
fn size_versions_and_frames_as_xen_reports_them() {
    let g = Guest::default_guest();
    assert_eq!(gnttab::query_size(&g.hv), Ok((1, 64)));
    assert_eq!(gnttab::get_version(&g.hv), Ok(1));
    assert_eq!(gnttab::set_version(&g.hv, 2), Ok(2));
    assert_eq!(gnttab::get_version(&g.hv), Ok(2));
    assert_eq!(gnttab::set_version(&g.hv, 1), Ok(1));
    assert_eq!(
        gnttab::set_version(&g.hv, 3),
        Err(Error::Errno(errno::EINVAL))
    );
    let mut frames = [0_u64; 2];
    assert_eq!(gnttab::setup_table(&g.hv, &mut frames), Ok(()));
    assert_eq!(frames, [u64::MAX; 2]);
    assert_eq!(gnttab::query_size(&g.hv), Ok((2, 64)));
    let gfn = g.sim.hole(1);
    // SAFETY: a hole reserved for the frame.
    unsafe { xen::memory::add_to_physmap(&g.hv, gfn, XENMAPSPACE_GRANT_TABLE, 1) }.unwrap();
    assert_eq!(gnttab::setup_table(&g.hv, &mut frames), Ok(()));
    assert_eq!(frames, [u64::MAX, gfn]);
    let mut too_many = [0_u64; 65];
    assert_eq!(
        gnttab::setup_table(&g.hv, &mut too_many),
        Err(Error::Grant(GNTST_GENERAL_ERROR))
    );
    // SAFETY: refused.
    let beyond =
        unsafe { xen::memory::add_to_physmap(&g.hv, gfn + 1, XENMAPSPACE_GRANT_TABLE, 4096) };
    assert_eq!(beyond, Err(Error::Errno(errno::EINVAL)));
}

#[test]
fn the_toolstack_seeds_the_console_and_store_entries() {
    let g = Guest::default_guest();
    let frame = g.map_grant_frame0();
    let (store_gfn, _) = g.sim.store_ring();
    let (console_gfn, _) = g.sim.console_ring();
    for (reference, gfn) in [(0_u32, console_gfn), (1, store_gfn)] {
        let domid = common::at16(frame, reference as usize * 8 + 2).load(SeqCst);
        let entry_frame = common::at32(frame, reference as usize * 8 + 4).load(SeqCst);
        assert_eq!(
            grant_flags(frame, reference).load(SeqCst),
            GTF_PERMIT_ACCESS
        );
        assert_eq!((domid, u64::from(entry_frame)), (0, gfn));
    }
    // Reserved entries are not the guest's grants.
    assert!(g.sim.audit().live_grants.is_empty());
}

#[test]
fn dom0_mapping_pins_the_entry_so_a_revoke_fails_until_unmap() {
    let g = Guest::default_guest();
    let frame = g.map_grant_frame0();
    let (gfn, page) = g.sim.allocate(1);
    // SAFETY: the guest's own fresh page.
    unsafe { page.write_bytes(0x5a, 16) };
    write_grant(frame, REF, GTF_PERMIT_ACCESS, 0, gfn);
    assert_eq!(g.sim.audit().live_grants, vec![REF]);
    let dom0 = g.sim.dom0();
    let mapping = dom0.map_grant(REF, false).unwrap();
    assert_eq!(
        grant_flags(frame, REF).load(SeqCst),
        GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING
    );
    let mut buf = [0_u8; 4];
    mapping.read(0, &mut buf).unwrap();
    assert_eq!(buf, [0x5a; 4]);
    mapping.write(100, b"back").unwrap();
    // SAFETY: the guest's page.
    assert_eq!(unsafe { page.wrapping_add(100).read_volatile() }, b'b');
    // The guest's revoke: CAS from exactly GTF_permit_access to 0 fails while mapped.
    let revoke = grant_flags(frame, REF).compare_exchange(GTF_PERMIT_ACCESS, 0, SeqCst, SeqCst);
    assert!(revoke.is_err());
    assert_eq!(g.sim.audit().dom0_mappings, 1);
    dom0.unmap_grant(mapping).unwrap();
    assert_eq!(grant_flags(frame, REF).load(SeqCst), GTF_PERMIT_ACCESS);
    assert!(
        grant_flags(frame, REF)
            .compare_exchange(GTF_PERMIT_ACCESS, 0, SeqCst, SeqCst)
            .is_ok()
    );
    assert!(g.sim.audit().is_clean());
}

#[test]
fn dom0_map_checks_type_domid_and_readonly() {
    let g = Guest::default_guest();
    let frame = g.map_grant_frame0();
    let (gfn, _) = g.sim.allocate(1);
    let dom0 = g.sim.dom0();
    assert_eq!(
        dom0.map_grant(REF, true).map(|_| ()),
        Err(GNTST_GENERAL_ERROR)
    );
    write_grant(frame, REF, GTF_PERMIT_ACCESS, 5, gfn);
    assert_eq!(
        dom0.map_grant(REF, true).map(|_| ()),
        Err(GNTST_GENERAL_ERROR)
    );
    write_grant(frame, REF, GTF_PERMIT_ACCESS | GTF_READONLY, 0, gfn);
    assert_eq!(
        dom0.map_grant(REF, false).map(|_| ()),
        Err(GNTST_GENERAL_ERROR)
    );
    let ro = dom0.map_grant(REF, true).unwrap();
    assert_eq!(
        grant_flags(frame, REF).load(SeqCst),
        GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING
    );
    assert!(ro.write(0, b"x").is_err());
    assert_eq!(
        dom0.map_grant(100_000, true).map(|_| ()),
        Err(GNTST_BAD_GNTREF)
    );
    dom0.unmap_grant(ro).unwrap();
    assert_eq!(
        grant_flags(frame, REF).load(SeqCst),
        GTF_PERMIT_ACCESS | GTF_READONLY
    );
}

#[test]
fn the_guest_maps_a_dom0_grant_and_dom0_cannot_end_it_while_mapped() {
    let g = Guest::default_guest();
    let dom0 = g.sim.dom0();
    let granted = dom0.grant_page(false);
    granted.write(0, b"from dom0").unwrap();
    let hole = g.sim.hole(1);
    // SAFETY: a hole reserved for the mapping.
    let handle =
        unsafe { gnttab::map_foreign_page(&g.hv, 0, granted.reference(), hole << 12, false) }
            .unwrap();
    let ptr = g.sim.host_ptr(hole).unwrap();
    // SAFETY: the mapped page.
    assert_eq!(unsafe { std::slice::from_raw_parts(ptr, 9) }, b"from dom0");
    assert_eq!(g.sim.audit().guest_grant_maps, 1);
    assert_eq!(dom0.end_grant(&granted), Err(GNTST_GENERAL_ERROR));
    // SAFETY: nothing uses the mapping.
    let result = unsafe { gnttab::unmap_foreign_page(&g.hv, handle, hole << 12) };
    assert_eq!(result, Ok(()));
    // SAFETY: as above.
    let again = unsafe { gnttab::unmap_foreign_page(&g.hv, handle, hole << 12) };
    assert_eq!(again, Err(Error::Grant(GNTST_BAD_HANDLE)));
    assert!(g.sim.host_ptr(hole).is_none());
    assert_eq!(dom0.end_grant(&granted), Ok(()));
    assert!(g.sim.audit().is_clean());
}

#[test]
fn guest_map_errors_are_per_entry_statuses() {
    let g = Guest::default_guest();
    let dom0 = g.sim.dom0();
    let ro = dom0.grant_page(true);
    let addr = g.sim.hole(1) << 12;
    let map = |dom, reference, readonly| {
        // SAFETY: every call fails without mapping anything.
        unsafe { gnttab::map_foreign_page(&g.hv, dom, reference, addr, readonly) }
    };
    assert_eq!(
        map(DOMID_INVALID, 0, true),
        Err(Error::Grant(GNTST_BAD_DOMAIN))
    );
    assert_eq!(
        map(DOMID_SELF, 0, true),
        Err(Error::Grant(GNTST_BAD_DOMAIN))
    );
    assert_eq!(map(0, 100_000, true), Err(Error::Grant(GNTST_BAD_GNTREF)));
    assert_eq!(
        map(0, ro.reference(), false),
        Err(Error::Grant(GNTST_GENERAL_ERROR))
    );
    // SAFETY: refused (no such handle).
    let unmapped = unsafe { gnttab::unmap_foreign_page(&g.hv, 0x00ff_ffff, addr) };
    assert_eq!(unmapped, Err(Error::Grant(GNTST_BAD_HANDLE)));
    assert_eq!(g.sim.audit().guest_grant_maps, 0);
}

const fn copy_from_grant(reference: u32, dest_gfn: u64, dest_domid: u16, len: u16) -> GnttabCopy {
    GnttabCopy {
        source: GnttabCopyPtr {
            u: GnttabCopyPtrU { ref_: reference },
            domid: DOMID_SELF,
            offset: 100,
        },
        dest: GnttabCopyPtr {
            u: GnttabCopyPtrU { gmfn: dest_gfn },
            domid: dest_domid,
            offset: 200,
        },
        len,
        flags: GNTCOPY_SOURCE_GREF,
        status: 0,
    }
}

#[test]
fn copy_through_own_grant_with_per_entry_statuses() {
    let g = Guest::new(xen_sim::SimConfig {
        domid: 0,
        backend_domid: 7,
        ..xen_sim::SimConfig::default()
    });
    let frame = g.map_grant_frame0();
    let (src_gfn, src) = g.sim.allocate(1);
    let (dst_gfn, dst) = g.sim.allocate(1);
    for i in 0..4096 {
        let byte = u8::try_from(i * 7 % 251).unwrap();
        // SAFETY: the guest's own page.
        unsafe { src.wrapping_add(i).write(byte) };
    }
    write_grant(frame, REF, GTF_PERMIT_ACCESS, 0, src_gfn);
    let mut ops = [copy_from_grant(REF, dst_gfn, DOMID_SELF, 300)];
    // SAFETY: the destination is our own page.
    assert_eq!(unsafe { gnttab::copy(&g.hv, &mut ops) }, Ok(()));
    assert_eq!(ops[0].status, 0);
    // SAFETY: both pages are ours.
    let copied = unsafe { std::slice::from_raw_parts(dst.wrapping_add(200), 300) };
    // SAFETY: as above.
    let source = unsafe { std::slice::from_raw_parts(src.wrapping_add(100), 300) };
    assert_eq!(copied, source);
    // SAFETY: as above.
    let before = unsafe { dst.wrapping_add(199).read() };
    // SAFETY: as above.
    let after = unsafe { dst.wrapping_add(500).read() };
    assert_eq!((before, after), (0, 0));
    let mut ops = [
        copy_from_grant(100_000, dst_gfn, DOMID_SELF, 8),
        copy_from_grant(9, dst_gfn, DOMID_SELF, 8),
        copy_from_grant(REF, dst_gfn, 0, 8),
    ];
    // SAFETY: as above.
    assert_eq!(unsafe { gnttab::copy(&g.hv, &mut ops) }, Ok(()));
    assert_eq!(
        [ops[0].status, ops[1].status, ops[2].status],
        [
            GNTST_BAD_GNTREF,
            GNTST_GENERAL_ERROR,
            GNTST_PERMISSION_DENIED
        ]
    );
}

#[test]
fn queries_of_another_domain_fail_in_the_status_or_with_eperm() {
    use xen_headers::grant_table::{
        GNTST_OKAY, GNTTABOP_GET_VERSION, GNTTABOP_QUERY_SIZE, GnttabGetVersion, GnttabQuerySize,
    };
    use xen_headers::xen::HYPERVISOR_GRANT_TABLE_OP;
    let g = Guest::default_guest();
    let query = |dom| {
        let mut op = GnttabQuerySize {
            dom,
            ..GnttabQuerySize::default()
        };
        let rc = common::raw(
            &g.hv,
            HYPERVISOR_GRANT_TABLE_OP,
            &[GNTTABOP_QUERY_SIZE as usize, (&raw mut op).addr(), 1],
        );
        (rc, op.status)
    };
    assert_eq!(query(DOMID_SELF), (0, GNTST_OKAY));
    assert_eq!(query(0), (0, GNTST_PERMISSION_DENIED));
    assert_eq!(query(99), (0, GNTST_BAD_DOMAIN));
    let mut op = GnttabGetVersion {
        dom: 0,
        ..GnttabGetVersion::default()
    };
    let rc = common::raw(
        &g.hv,
        HYPERVISOR_GRANT_TABLE_OP,
        &[GNTTABOP_GET_VERSION as usize, (&raw mut op).addr(), 1],
    );
    assert_eq!(
        (rc, op.version),
        (-isize::try_from(errno::EPERM).unwrap(), 0)
    );
}

#[test]
fn mapping_an_own_grant_moves_the_frame_until_it_is_repopulated() {
    let g = Guest::default_guest();
    let frame = g.map_grant_frame0();
    let (src_gfn, src) = g.sim.allocate(1);
    // SAFETY: the guest's own page.
    unsafe { src.write_bytes(0x3c, 4096) };
    write_grant(frame, REF, GTF_PERMIT_ACCESS, 1, src_gfn);
    let before = xen::memory::current_reservation(&g.hv, DOMID_SELF).unwrap();
    let hole = g.sim.hole(1);
    // SAFETY: the hole receives the page; the source frame is not used until repopulated.
    let handle = unsafe { gnttab::map_foreign_page(&g.hv, 1, REF, hole << 12, true) }.unwrap();
    let mapped = g.sim.host_ptr(hole).unwrap();
    // SAFETY: the mapped page.
    assert_eq!(unsafe { mapped.wrapping_add(4095).read_volatile() }, 0x3c);
    assert!(!g.sim.is_populated(src_gfn) && g.sim.host_ptr(src_gfn).is_none());
    assert_eq!(
        grant_flags(frame, REF).load(SeqCst),
        GTF_PERMIT_ACCESS | GTF_READING
    );
    assert_eq!(
        xen::memory::current_reservation(&g.hv, DOMID_SELF),
        Ok(before)
    );
    // SAFETY: nothing uses the mapping.
    let unmapped = unsafe { gnttab::unmap_foreign_page(&g.hv, handle, hole << 12) };
    assert_eq!(unmapped, Ok(()));
    assert_eq!(grant_flags(frame, REF).load(SeqCst), GTF_PERMIT_ACCESS);
    let mut frames = [src_gfn];
    // SAFETY: the source frame is unbacked; this backs it again.
    let back = unsafe { xen::memory::populate_physmap(&g.hv, 0, &mut frames) };
    assert_eq!(back, Ok(1));
    // The moved page is still the domain's: one page more than before.
    assert_eq!(
        xen::memory::current_reservation(&g.hv, DOMID_SELF),
        Ok(before + 1)
    );
}

#[test]
fn a_pinned_grant_refuses_another_domain_and_an_unbacked_frame_is_bad_page() {
    use xen_headers::grant_table::GNTST_BAD_PAGE;
    let g = Guest::default_guest();
    let frame = g.map_grant_frame0();
    let (gfn, _) = g.sim.allocate(1);
    let dom0 = g.sim.dom0();
    // Granted to dom0 and pinned by it: the guest's own map of it is refused.
    write_grant(frame, REF, GTF_PERMIT_ACCESS, 0, gfn);
    let mapping = dom0.map_grant(REF, true).unwrap();
    let addr = g.sim.hole(1) << 12;
    // SAFETY: refused.
    let own = unsafe { gnttab::map_foreign_page(&g.hv, 1, REF, addr, true) };
    assert_eq!(own, Err(Error::Grant(GNTST_GENERAL_ERROR)));
    // A second dom0 mapping shares the pin; the flags go with the last unmap.
    let second = dom0.map_grant(REF, true).unwrap();
    dom0.unmap_grant(mapping).unwrap();
    assert_eq!(
        grant_flags(frame, REF).load(SeqCst),
        GTF_PERMIT_ACCESS | GTF_READING
    );
    dom0.unmap_grant(second).unwrap();
    assert_eq!(grant_flags(frame, REF).load(SeqCst), GTF_PERMIT_ACCESS);
    // A grant of a frame with nothing behind it.
    write_grant(frame, REF + 1, GTF_PERMIT_ACCESS, 0, g.sim.hole(1));
    assert_eq!(
        dom0.map_grant(REF + 1, true).map(|_| ()),
        Err(GNTST_BAD_PAGE)
    );
    assert_eq!(grant_flags(frame, REF + 1).load(SeqCst), GTF_PERMIT_ACCESS);
    assert_eq!(g.sim.audit().dom0_mappings, 0);
}

#[test]
fn a_translated_guest_cannot_make_device_mappings() {
    use xen_headers::grant_table::{
        GNTMAP_DEVICE_MAP, GNTMAP_HOST_MAP, GNTTABOP_MAP_GRANT_REF, GnttabMapGrantRef,
    };
    use xen_headers::xen::HYPERVISOR_GRANT_TABLE_OP;
    let g = Guest::default_guest();
    let page = g.sim.dom0().grant_page(false);
    let mut op = GnttabMapGrantRef {
        host_addr: g.sim.hole(1) << 12,
        flags: GNTMAP_HOST_MAP | GNTMAP_DEVICE_MAP,
        ref_: page.reference(),
        dom: 0,
        ..GnttabMapGrantRef::default()
    };
    let rc = common::raw(
        &g.hv,
        HYPERVISOR_GRANT_TABLE_OP,
        &[GNTTABOP_MAP_GRANT_REF as usize, (&raw mut op).addr(), 1],
    );
    assert_eq!((rc, op.status), (0, GNTST_GENERAL_ERROR));
    op.flags = 0;
    let rc = common::raw(
        &g.hv,
        HYPERVISOR_GRANT_TABLE_OP,
        &[GNTTABOP_MAP_GRANT_REF as usize, (&raw mut op).addr(), 1],
    );
    assert_eq!((rc, op.status), (0, GNTST_BAD_GNTREF));
}

#[test]
fn a_second_grant_map_at_the_same_frame_is_refused() {
    let g = Guest::default_guest();
    let dom0 = g.sim.dom0();
    let (first, second) = (dom0.grant_page(true), dom0.grant_page(true));
    let addr = g.sim.hole(1) << 12;
    // SAFETY: the hole receives the first page.
    let handle =
        unsafe { gnttab::map_foreign_page(&g.hv, 0, first.reference(), addr, true) }.unwrap();
    // SAFETY: refused; the first mapping stays.
    let again = unsafe { gnttab::map_foreign_page(&g.hv, 0, second.reference(), addr, true) };
    assert_eq!(again, Err(Error::Grant(GNTST_GENERAL_ERROR)));
    assert_eq!(
        dom0.end_grant(&second),
        Ok(()),
        "the refused map holds no pin"
    );
    assert_eq!(g.sim.audit().guest_grant_maps, 1);
    // SAFETY: nothing uses the mapping.
    unsafe { gnttab::unmap_foreign_page(&g.hv, handle, addr) }.unwrap();
    assert_eq!(dom0.end_grant(&first), Ok(()));
}
