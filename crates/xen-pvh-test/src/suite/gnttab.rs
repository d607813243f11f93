// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Grant tables: versions, size, frames, a v1 grant to ourselves, copy and map through it.

use super::{GRANT_DST, GRANT_FRAME_GFN, GRANT_MAP_GFN, GRANT_SRC, check_eq, hv, shm};
use crate::harness::{check, ok, status};
use crate::kprintln;
use xen::grant_table as gnttab;
use xen::status::{
    STATUS_ACCESS_DENIED, STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_UNSUCCESSFUL,
    gntst_to_status,
};
use xen_headers::grant_table::{
    GNTCOPY_SOURCE_GREF, GTF_PERMIT_ACCESS, GTF_READONLY, GnttabCopy, GnttabCopyPtr, GnttabCopyPtrU,
};
use xen_headers::memory::XENMAPSPACE_GRANT_TABLE;
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF};

/// Our domain id (dom0); grants name the domain allowed to use them by its real id.
const SELF_ID: u16 = 0;
/// The first grant reference outside the reserved ones.
const REF_RW: u32 = 8;
/// A reference left invalid.
const REF_INVALID: u32 = 9;
/// A read-only grant.
const REF_RO: u32 = 10;

/// Writes v1 grant entry `reference` in frame 0 of the table: domid and frame first, then (after
/// a barrier) the flags that make it live.
fn write_grant(reference: u32, flags: u16, frame: u64) {
    let base = usize::try_from(GRANT_FRAME_GFN << 12).unwrap_or(0);
    let entry = base + 8 * usize::try_from(reference).unwrap_or(0);
    let flags_ptr = core::ptr::with_exposed_provenance_mut::<u16>(entry);
    let domid_ptr = core::ptr::with_exposed_provenance_mut::<u16>(entry + 2);
    let frame_ptr = core::ptr::with_exposed_provenance_mut::<u32>(entry + 4);
    // SAFETY: grant frame 0 is mapped at GRANT_FRAME_GFN (identity-mapped) and `reference` is
    // one of the few low entries, inside that frame.
    unsafe { domid_ptr.write_volatile(SELF_ID) };
    // SAFETY: as above.
    unsafe { frame_ptr.write_volatile(u32::try_from(frame).unwrap_or(0)) };
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { flags_ptr.write_volatile(flags) };
}

fn copy_from_grant(reference: u32, dest_domid: u16, len: u16) -> GnttabCopy {
    GnttabCopy {
        source: GnttabCopyPtr {
            u: GnttabCopyPtrU { ref_: reference },
            domid: DOMID_SELF,
            offset: 100,
        },
        dest: GnttabCopyPtr {
            u: GnttabCopyPtrU {
                gmfn: GRANT_DST.gfn(),
            },
            domid: dest_domid,
            offset: 200,
        },
        len,
        flags: GNTCOPY_SOURCE_GREF,
        status: 0,
    }
}

/// The bytes of the granted page.
fn pattern(i: usize) -> u8 {
    u8::try_from(i * 7 % 251).unwrap_or(0)
}

/// Every grant-table check.
pub fn grant_tables() {
    versions_and_frames();
    copies();
    self_map();
    map_errors();
}

/// `query_size`, the versions, `setup_table` and `add_to_physmap` of frame 0.
fn versions_and_frames() {
    let xen = hv();
    let size = ok("gnttab.query_size", gnttab::query_size(xen));
    check(
        "gnttab.query_size_sane",
        size.is_some_and(|(cur, max)| cur >= 1 && max >= cur),
        format_args!("{size:?}"),
    );
    check_eq("gnttab.get_version", gnttab::get_version(xen), Ok(1));
    check_eq("gnttab.set_version_2", gnttab::set_version(xen, 2), Ok(2));
    check_eq("gnttab.get_version_2", gnttab::get_version(xen), Ok(2));
    check_eq("gnttab.set_version_1", gnttab::set_version(xen, 1), Ok(1));
    status(
        "gnttab.set_version_3_invalid",
        gnttab::set_version(xen, 3),
        STATUS_INVALID_PARAMETER,
    );

    let mut frames = [0_u64; 1];
    let before = gnttab::setup_table(xen, &mut frames);
    check(
        "gnttab.setup_table_unmapped_frame",
        before.is_ok() && frames[0] == u64::MAX,
        format_args!("{before:?}, frame {:#x}", frames[0]),
    );
    // SAFETY: GRANT_FRAME_GFN is outside dom0's memory.
    let mapped =
        unsafe { xen::memory::add_to_physmap(xen, GRANT_FRAME_GFN, XENMAPSPACE_GRANT_TABLE, 0) };
    ok("gnttab.add_to_physmap_frame0", mapped);
    let after = gnttab::setup_table(xen, &mut frames);
    check(
        "gnttab.setup_table_reports_mapping",
        after.is_ok() && frames[0] == GRANT_FRAME_GFN,
        format_args!("{after:?}, frame {:#x}", frames[0]),
    );
    let maximum = usize::try_from(size.map_or(64, |(_, max)| max)).unwrap_or(64);
    let mut too_many = [0_u64; 128];
    let over = too_many.get_mut(..=maximum).unwrap_or_default();
    status(
        "gnttab.setup_table_beyond_max",
        gnttab::setup_table(xen, over),
        STATUS_UNSUCCESSFUL,
    );
    // SAFETY: as above (the call is expected to fail without mapping anything).
    let beyond = unsafe {
        xen::memory::add_to_physmap(xen, GRANT_FRAME_GFN + 1, XENMAPSPACE_GRANT_TABLE, 4096)
    };
    status(
        "gnttab.add_to_physmap_beyond_max",
        beyond,
        STATUS_INVALID_PARAMETER,
    );
}

/// A v1 grant of `GRANT_SRC` to ourselves, and copies through it.
fn copies() {
    let xen = hv();
    for i in 0..4096 {
        shm::write_frame_byte(GRANT_SRC.gfn(), i, pattern(i));
    }
    shm::fill(&GRANT_DST, 0);
    write_grant(REF_RW, GTF_PERMIT_ACCESS, GRANT_SRC.gfn());
    write_grant(REF_INVALID, 0, GRANT_SRC.gfn());
    write_grant(REF_RO, GTF_PERMIT_ACCESS | GTF_READONLY, GRANT_SRC.gfn());

    let mut ops = [copy_from_grant(REF_RW, DOMID_SELF, 300)];
    // SAFETY: the destination is GRANT_DST, our own page, which nothing else uses.
    let copied = unsafe { gnttab::copy(xen, &mut ops) };
    let same = (0..300).all(|i| {
        shm::read_frame_byte(GRANT_DST.gfn(), 200 + i)
            == shm::read_frame_byte(GRANT_SRC.gfn(), 100 + i)
    });
    check(
        "gnttab.copy_through_own_grant",
        copied.is_ok() && ops[0].status == 0 && same,
        format_args!("{copied:?}, status {}, data equal {same}", ops[0].status),
    );
    let untouched = shm::read_frame_byte(GRANT_DST.gfn(), 199) == 0
        && shm::read_frame_byte(GRANT_DST.gfn(), 500) == 0;
    check(
        "gnttab.copy_respects_offset_and_length",
        untouched,
        format_args!("bytes around the copy untouched: {untouched}"),
    );

    let mut ops = [
        copy_from_grant(100_000, DOMID_SELF, 8),
        copy_from_grant(REF_INVALID, DOMID_SELF, 8),
        copy_from_grant(REF_RW, SELF_ID, 8),
    ];
    // SAFETY: as above.
    let copied = unsafe { gnttab::copy(xen, &mut ops) };
    let statuses = [ops[0].status, ops[1].status, ops[2].status];
    kprintln!("XTK: copy error statuses {statuses:?}");
    check(
        "gnttab.copy_checks_only_the_hypercall",
        copied.is_ok(),
        format_args!("{copied:?} with per-entry statuses {statuses:?}"),
    );
    check_eq(
        "gnttab.copy_bad_ref_status",
        gntst_to_status(statuses[0]),
        STATUS_UNSUCCESSFUL,
    );
    // GNTST_general_error: the entry does not permit access.
    check_eq(
        "gnttab.copy_ungranted_ref_status",
        gntst_to_status(statuses[1]),
        STATUS_UNSUCCESSFUL,
    );
    check_eq(
        "gnttab.copy_frame_of_other_domid_denied",
        gntst_to_status(statuses[2]),
        STATUS_ACCESS_DENIED,
    );
}

/// Map our own grant back and read through it.
fn self_map() {
    let xen = hv();
    // Map our own grant back at a hole and read through it. On a translated guest Xen 4.17
    // moves an aliased frame of the domain's own memory rather than sharing it: the source frame
    // loses its mapping until it is repopulated.
    let address = GRANT_MAP_GFN << 12;
    // SAFETY: GRANT_MAP_GFN is outside dom0's memory and unused; GRANT_SRC is only read through
    // `shm` and repopulated below before anything else uses it.
    let handle = unsafe { gnttab::map_foreign_page(xen, SELF_ID, REF_RW, address, true) };
    if let Some(handle) = ok("gnttab.map_foreign_page", handle) {
        let bad = (0..4096).find(|&i| shm::read_frame_byte(GRANT_MAP_GFN, i) != pattern(i));
        check(
            "gnttab.mapped_grant_reads_source",
            bad.is_none(),
            format_args!("handle {handle}, first difference at {bad:?}"),
        );
        let stolen = shm::read_frame_byte(GRANT_SRC.gfn(), 0);
        check(
            "gnttab.self_map_moves_the_frame",
            stolen == 0xff,
            format_args!("source frame now reads {stolen:#x} (unbacked)"),
        );
        // SAFETY: nothing uses the mapping any more.
        let unmapped = unsafe { gnttab::unmap_foreign_page(xen, handle, address) };
        ok("gnttab.unmap_foreign_page", unmapped);
        // SAFETY: as above.
        let again = unsafe { gnttab::unmap_foreign_page(xen, handle, address) };
        status(
            "gnttab.unmap_twice_bad_handle",
            again,
            STATUS_INVALID_HANDLE,
        );
        let mut frames = [GRANT_SRC.gfn()];
        // SAFETY: GRANT_SRC's frame is unbacked; this backs it again.
        let back = unsafe { xen::memory::populate_physmap(xen, 0, &mut frames) };
        shm::fill(&GRANT_SRC, 0x3c);
        check(
            "gnttab.source_frame_repopulated",
            back == Ok(1) && shm::read_frame_byte(GRANT_SRC.gfn(), 9) == 0x3c,
            format_args!("{back:?}"),
        );
    }
}

/// Mapping and unmapping errors.
fn map_errors() {
    let xen = hv();
    let address = GRANT_MAP_GFN << 12;
    // SAFETY: the calls below are expected to fail without mapping anything.
    let bad_dom = unsafe { gnttab::map_foreign_page(xen, DOMID_INVALID, REF_RW, address, true) };
    status("gnttab.map_bad_domid", bad_dom, STATUS_UNSUCCESSFUL);
    // SAFETY: as above.
    let bad_ref = unsafe { gnttab::map_foreign_page(xen, SELF_ID, 100_000, address, true) };
    status("gnttab.map_bad_ref", bad_ref, STATUS_UNSUCCESSFUL);
    // SAFETY: as above.
    let ro_rw = unsafe { gnttab::map_foreign_page(xen, SELF_ID, REF_RO, address, false) };
    status(
        "gnttab.map_readonly_grant_writable",
        ro_rw,
        STATUS_UNSUCCESSFUL,
    );
    // SAFETY: as above.
    let bad_handle = unsafe { gnttab::unmap_foreign_page(xen, 0x00ff_ffff, address) };
    status("gnttab.unmap_bad_handle", bad_handle, STATUS_INVALID_HANDLE);

    write_grant(REF_RW, 0, 0);
    write_grant(REF_RO, 0, 0);
}
