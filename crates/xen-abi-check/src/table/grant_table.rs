// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/grant_table.h`.

use super::{Table, consts, layout, typedef};
use xen_headers::grant_table::{
    GNTTABOP_ERROR_MSGS, GnttabCacheFlush, GnttabCopy, GnttabCopyPtr, GnttabDumpTable,
    GnttabGetStatusFrames, GnttabGetVersion, GnttabMapGrantRef, GnttabQuerySize, GnttabSetVersion,
    GnttabSetupTable, GnttabSwapGrantRef, GnttabTransfer, GnttabUnmapAndReplace,
    GnttabUnmapGrantRef, GrantEntryHeader, GrantEntryV1, GrantEntryV2, GrantEntryV2FullPage,
    GrantEntryV2SubPage, GrantEntryV2Transitive, GrantHandle, GrantRef, GrantStatus,
};
use xen_headers::xen::GuestHandle;

pub fn items(t: &mut Table) {
    typedef!(t, "grant_ref_t", GrantRef);
    typedef!(t, "grant_handle_t", GrantHandle);
    typedef!(t, "grant_status_t", GrantStatus);
    typedef!(
        t,
        "XEN_GUEST_HANDLE(gnttab_copy_t)",
        GuestHandle<GnttabCopy>
    );

    consts!(t, xen_headers::grant_table;
        GNTTAB_NR_RESERVED_ENTRIES => GNTTAB_NR_RESERVED_ENTRIES,
        GNTTAB_RESERVED_CONSOLE => GNTTAB_RESERVED_CONSOLE,
        GNTTAB_RESERVED_XENSTORE => GNTTAB_RESERVED_XENSTORE,
        GTF_invalid => GTF_INVALID,
        GTF_permit_access => GTF_PERMIT_ACCESS,
        GTF_accept_transfer => GTF_ACCEPT_TRANSFER,
        GTF_transitive => GTF_TRANSITIVE,
        GTF_type_mask => GTF_TYPE_MASK,
        _GTF_readonly => _GTF_READONLY,
        GTF_readonly => GTF_READONLY,
        _GTF_reading => _GTF_READING,
        GTF_reading => GTF_READING,
        _GTF_writing => _GTF_WRITING,
        GTF_writing => GTF_WRITING,
        _GTF_PWT => _GTF_PWT,
        GTF_PWT => GTF_PWT,
        _GTF_PCD => _GTF_PCD,
        GTF_PCD => GTF_PCD,
        _GTF_PAT => _GTF_PAT,
        GTF_PAT => GTF_PAT,
        _GTF_sub_page => _GTF_SUB_PAGE,
        GTF_sub_page => GTF_SUB_PAGE,
        _GTF_transfer_committed => _GTF_TRANSFER_COMMITTED,
        GTF_transfer_committed => GTF_TRANSFER_COMMITTED,
        _GTF_transfer_completed => _GTF_TRANSFER_COMPLETED,
        GTF_transfer_completed => GTF_TRANSFER_COMPLETED,
        GNTTABOP_map_grant_ref => GNTTABOP_MAP_GRANT_REF,
        GNTTABOP_unmap_grant_ref => GNTTABOP_UNMAP_GRANT_REF,
        GNTTABOP_setup_table => GNTTABOP_SETUP_TABLE,
        GNTTABOP_dump_table => GNTTABOP_DUMP_TABLE,
        GNTTABOP_transfer => GNTTABOP_TRANSFER,
        GNTTABOP_copy => GNTTABOP_COPY,
        GNTTABOP_query_size => GNTTABOP_QUERY_SIZE,
        GNTTABOP_unmap_and_replace => GNTTABOP_UNMAP_AND_REPLACE,
        GNTTABOP_set_version => GNTTABOP_SET_VERSION,
        GNTTABOP_get_status_frames => GNTTABOP_GET_STATUS_FRAMES,
        GNTTABOP_get_version => GNTTABOP_GET_VERSION,
        GNTTABOP_swap_grant_ref => GNTTABOP_SWAP_GRANT_REF,
        GNTTABOP_cache_flush => GNTTABOP_CACHE_FLUSH,
        _GNTCOPY_source_gref => _GNTCOPY_SOURCE_GREF,
        GNTCOPY_source_gref => GNTCOPY_SOURCE_GREF,
        _GNTCOPY_dest_gref => _GNTCOPY_DEST_GREF,
        GNTCOPY_dest_gref => GNTCOPY_DEST_GREF,
        GNTTAB_CACHE_CLEAN => GNTTAB_CACHE_CLEAN,
        GNTTAB_CACHE_INVAL => GNTTAB_CACHE_INVAL,
        GNTTAB_CACHE_SOURCE_GREF => GNTTAB_CACHE_SOURCE_GREF,
        _GNTMAP_device_map => _GNTMAP_DEVICE_MAP,
        GNTMAP_device_map => GNTMAP_DEVICE_MAP,
        _GNTMAP_host_map => _GNTMAP_HOST_MAP,
        GNTMAP_host_map => GNTMAP_HOST_MAP,
        _GNTMAP_readonly => _GNTMAP_READONLY,
        GNTMAP_readonly => GNTMAP_READONLY,
        _GNTMAP_application_map => _GNTMAP_APPLICATION_MAP,
        GNTMAP_application_map => GNTMAP_APPLICATION_MAP,
        _GNTMAP_contains_pte => _GNTMAP_CONTAINS_PTE,
        GNTMAP_contains_pte => GNTMAP_CONTAINS_PTE,
        _GNTMAP_guest_avail0 => _GNTMAP_GUEST_AVAIL0,
        GNTMAP_guest_avail_mask => GNTMAP_GUEST_AVAIL_MASK,
        GNTST_okay => GNTST_OKAY,
        GNTST_general_error => GNTST_GENERAL_ERROR,
        GNTST_bad_domain => GNTST_BAD_DOMAIN,
        GNTST_bad_gntref => GNTST_BAD_GNTREF,
        GNTST_bad_handle => GNTST_BAD_HANDLE,
        GNTST_bad_virt_addr => GNTST_BAD_VIRT_ADDR,
        GNTST_bad_dev_addr => GNTST_BAD_DEV_ADDR,
        GNTST_no_device_space => GNTST_NO_DEVICE_SPACE,
        GNTST_permission_denied => GNTST_PERMISSION_DENIED,
        GNTST_bad_page => GNTST_BAD_PAGE,
        GNTST_bad_copy_arg => GNTST_BAD_COPY_ARG,
        GNTST_address_too_big => GNTST_ADDRESS_TOO_BIG,
        GNTST_eagain => GNTST_EAGAIN,
        GNTST_no_space => GNTST_NO_SPACE,
    );

    // The message table, element by element (a brace initialiser, so read through a compound
    // literal).
    let msgs = "((const char *[])GNTTABOP_error_msgs)";
    t.int(
        format!("sizeof({msgs}) / sizeof(const char *)"),
        GNTTABOP_ERROR_MSGS.len() as u64,
    );
    for (i, msg) in GNTTABOP_ERROR_MSGS.iter().enumerate() {
        t.string(format!("{msgs}[{i}]"), msg);
    }

    layout!(
        t,
        "struct grant_entry_v1",
        GrantEntryV1 {
            flags,
            domid,
            frame,
        }
    );
    layout!(
        t,
        "struct grant_entry_header",
        GrantEntryHeader { flags, domid }
    );
    layout!(t, "union grant_entry_v2", GrantEntryV2 {
        hdr, full_page, sub_page, transitive, spacer as "__spacer",
    });
    // The anonymous structures inside the union, each by its own layout: Rust cannot project a
    // place below a union field without `unsafe`, so `full_page.frame` is checked as the offset
    // of `full_page` plus that of `frame` within it.
    layout!(
        t,
        "__typeof__(((union grant_entry_v2 *)0)->full_page)",
        GrantEntryV2FullPage { hdr, pad0, frame }
    );
    layout!(
        t,
        "__typeof__(((union grant_entry_v2 *)0)->sub_page)",
        GrantEntryV2SubPage {
            hdr,
            page_off,
            length,
            frame,
        }
    );
    layout!(
        t,
        "__typeof__(((union grant_entry_v2 *)0)->transitive)",
        GrantEntryV2Transitive {
            hdr,
            trans_domid,
            pad0,
            gref,
        }
    );

    layout!(t, "struct gnttab_map_grant_ref", GnttabMapGrantRef {
        host_addr, flags, ref_ as "ref", dom, status, handle, dev_bus_addr,
    });
    layout!(
        t,
        "struct gnttab_unmap_grant_ref",
        GnttabUnmapGrantRef {
            host_addr,
            dev_bus_addr,
            handle,
            status,
        }
    );
    layout!(
        t,
        "struct gnttab_setup_table",
        GnttabSetupTable {
            dom,
            nr_frames,
            status,
            frame_list,
        }
    );
    layout!(
        t,
        "struct gnttab_dump_table",
        GnttabDumpTable { dom, status }
    );
    layout!(t, "struct gnttab_transfer", GnttabTransfer {
        mfn, domid, ref_ as "ref", status,
    });
    layout!(t, "struct gnttab_copy_ptr", GnttabCopyPtr {
        u, u.ref_ as "u.ref", u.gmfn, domid, offset,
    });
    layout!(t, "struct gnttab_copy", GnttabCopy {
        source, source.u, source.u.ref_ as "source.u.ref", source.u.gmfn, source.domid,
        source.offset, dest, dest.u, dest.u.ref_ as "dest.u.ref", dest.u.gmfn, dest.domid,
        dest.offset, len, flags, status,
    });
    layout!(
        t,
        "struct gnttab_query_size",
        GnttabQuerySize {
            dom,
            nr_frames,
            max_nr_frames,
            status,
        }
    );
    layout!(
        t,
        "struct gnttab_unmap_and_replace",
        GnttabUnmapAndReplace {
            host_addr,
            new_addr,
            handle,
            status,
        }
    );
    layout!(t, "struct gnttab_set_version", GnttabSetVersion { version });
    layout!(
        t,
        "struct gnttab_get_status_frames",
        GnttabGetStatusFrames {
            nr_frames,
            dom,
            status,
            frame_list,
        }
    );
    layout!(
        t,
        "struct gnttab_get_version",
        GnttabGetVersion { dom, pad, version }
    );
    layout!(
        t,
        "struct gnttab_swap_grant_ref",
        GnttabSwapGrantRef {
            ref_a,
            ref_b,
            status,
        }
    );
    layout!(t, "struct gnttab_cache_flush", GnttabCacheFlush {
        a, a.dev_bus_addr, a.ref_ as "a.ref", offset, length, op,
    });
}
