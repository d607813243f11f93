// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/grant_table.h`: grant table entries and flags, and the `HYPERVISOR_grant_table_op`
//! sub-operations.
//!
//! That is: the shared entries (v1 and v2) with their `GTF_*` flags, the `GNTTABOP_*`
//! operations with their argument structures, the `GNTMAP_*` and `GNTCOPY_*` flags and the
//! `GNTST_*` status codes.
//!
//! `HYPERVISOR_grant_table_op(cmd, args, count)` takes an array of `count` argument structures
//! of the type the operation names ([`GNTTABOP_MAP_GRANT_REF`] takes [`GnttabMapGrantRef`]s).
//! Per-entry results come back in each structure's `status` field as a `GNTST_*` code.
//!
//! Granting a page (v1): write `domid`, then `frame`, then a write barrier, then `flags` with
//! [`GTF_PERMIT_ACCESS`] (plus [`GTF_READONLY`]). Revoking: read `flags`, check that neither
//! [`GTF_READING`] nor [`GTF_WRITING`] is set, then compare-and-swap `flags` to 0.

use core::fmt;

use crate::xen::{DomId, GuestHandle, XenPfn};

/// `grant_ref_t`: an index into a domain's grant table.
pub type GrantRef = u32;
/// `grant_handle_t`: tracks one mapping made with `GNTTABOP_map_grant_ref`.
pub type GrantHandle = u32;
/// `grant_status_t`: one entry of the separate v2 status table (the v1 `flags` status bits).
pub type GrantStatus = u16;

/// `struct grant_entry_v1`: a version 1 grant table entry (8 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantEntryV1 {
    /// `GTF_*` type and flags (written by the guest and by Xen).
    pub flags: u16,
    /// The domain being granted foreign privileges.
    pub domid: DomId,
    /// The frame (GFN) granted or to transfer into; after a completed transfer, the MFN.
    pub frame: u32,
}

// Reserved entries.

/// `GNTTAB_NR_RESERVED_ENTRIES`: entries kept across version changes and possibly filled by the
/// toolstack at domain creation; the first free reference for the guest's own grants.
pub const GNTTAB_NR_RESERVED_ENTRIES: GrantRef = 8;
/// `GNTTAB_RESERVED_CONSOLE`: the entry granting the console ring to the backend.
pub const GNTTAB_RESERVED_CONSOLE: GrantRef = 0;
/// `GNTTAB_RESERVED_XENSTORE`: the entry granting the xenstore ring to xenstored.
pub const GNTTAB_RESERVED_XENSTORE: GrantRef = 1;

// Entry types (`flags & GTF_type_mask`).

/// `GTF_invalid`: the entry grants nothing.
pub const GTF_INVALID: u16 = 0;
/// `GTF_permit_access`: `domid` may map and access `frame`.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// `GTF_accept_transfer`: `domid` may transfer one frame to this guest.
pub const GTF_ACCEPT_TRANSFER: u16 = 2;
/// `GTF_transitive`: `domid` may use another domain's grant through this one (v2 only).
pub const GTF_TRANSITIVE: u16 = 3;
/// `GTF_type_mask`: the entry type bits.
pub const GTF_TYPE_MASK: u16 = 3;

// Subflags of GTF_permit_access and GTF_transitive.

/// `_GTF_readonly`: bit number of [`GTF_READONLY`].
pub const _GTF_READONLY: u32 = 2;
/// `GTF_readonly`: `domid` may only map and access the frame read-only (set by the guest).
pub const GTF_READONLY: u16 = 1 << _GTF_READONLY;
/// `_GTF_reading`: bit number of [`GTF_READING`].
pub const _GTF_READING: u32 = 3;
/// `GTF_reading`: the entry is mapped for reading by `domid` (set by Xen).
pub const GTF_READING: u16 = 1 << _GTF_READING;
/// `_GTF_writing`: bit number of [`GTF_WRITING`].
pub const _GTF_WRITING: u32 = 4;
/// `GTF_writing`: the entry is mapped for writing by `domid` (set by Xen).
pub const GTF_WRITING: u16 = 1 << _GTF_WRITING;
/// `_GTF_PWT`: bit number of [`GTF_PWT`].
pub const _GTF_PWT: u32 = 5;
/// `GTF_PWT`: x86 write-through cache attribute for mappings of the grant.
pub const GTF_PWT: u16 = 1 << _GTF_PWT;
/// `_GTF_PCD`: bit number of [`GTF_PCD`].
pub const _GTF_PCD: u32 = 6;
/// `GTF_PCD`: x86 cache-disable attribute for mappings of the grant.
pub const GTF_PCD: u16 = 1 << _GTF_PCD;
/// `_GTF_PAT`: bit number of [`GTF_PAT`].
pub const _GTF_PAT: u32 = 7;
/// `GTF_PAT`: x86 PAT attribute bit for mappings of the grant.
pub const GTF_PAT: u16 = 1 << _GTF_PAT;
/// `_GTF_sub_page`: bit number of [`GTF_SUB_PAGE`].
pub const _GTF_SUB_PAGE: u32 = 8;
/// `GTF_sub_page`: grant only part of the page, for copying, not mapping (v2 only).
pub const GTF_SUB_PAGE: u16 = 1 << _GTF_SUB_PAGE;

// Subflags of GTF_accept_transfer.

/// `_GTF_transfer_committed`: bit number of [`GTF_TRANSFER_COMMITTED`].
pub const _GTF_TRANSFER_COMMITTED: u32 = 2;
/// `GTF_transfer_committed`: Xen is committed to the transfer; leave the entry alone until
/// [`GTF_TRANSFER_COMPLETED`].
pub const GTF_TRANSFER_COMMITTED: u16 = 1 << _GTF_TRANSFER_COMMITTED;
/// `_GTF_transfer_completed`: bit number of [`GTF_TRANSFER_COMPLETED`].
pub const _GTF_TRANSFER_COMPLETED: u32 = 3;
/// `GTF_transfer_completed`: the transferred frame's number has been written.
pub const GTF_TRANSFER_COMPLETED: u16 = 1 << _GTF_TRANSFER_COMPLETED;

/// `struct grant_entry_header`: the prefix v1 and v2 entries share.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantEntryHeader {
    /// `GTF_*` type and flags.
    pub flags: u16,
    /// The domain being granted foreign privileges.
    pub domid: DomId,
}

/// The anonymous `union grant_entry_v2.full_page`: a whole-page grant or a transfer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantEntryV2FullPage {
    /// The common prefix.
    pub hdr: GrantEntryHeader,
    /// Padding.
    pub pad0: u32,
    /// The frame, as in [`GrantEntryV1::frame`].
    pub frame: u64,
}

/// The anonymous `union grant_entry_v2.sub_page`: access to `[page_off, page_off + length)` of
/// `frame` ([`GTF_SUB_PAGE`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantEntryV2SubPage {
    /// The common prefix.
    pub hdr: GrantEntryHeader,
    /// First byte granted.
    pub page_off: u16,
    /// Bytes granted.
    pub length: u16,
    /// The frame.
    pub frame: u64,
}

/// The anonymous `union grant_entry_v2.transitive`: use of grant `gref` of `trans_domid`
/// ([`GTF_TRANSITIVE`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantEntryV2Transitive {
    /// The common prefix.
    pub hdr: GrantEntryHeader,
    /// The domain whose grant is passed on.
    pub trans_domid: DomId,
    /// Padding.
    pub pad0: u16,
    /// That domain's grant reference.
    pub gref: GrantRef,
}

/// `union grant_entry_v2`: a version 2 grant table entry (16 bytes), interpreted by
/// `hdr.flags`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union GrantEntryV2 {
    /// The common prefix.
    pub hdr: GrantEntryHeader,
    /// Whole-page access or transfer.
    pub full_page: GrantEntryV2FullPage,
    /// Sub-page access.
    pub sub_page: GrantEntryV2SubPage,
    /// Transitive access.
    pub transitive: GrantEntryV2Transitive,
    /// Pads the entry to a power of two (`__spacer` in C).
    pub spacer: [u32; 4],
}

impl Default for GrantEntryV2 {
    /// All sixteen bytes zero ([`GTF_INVALID`]).
    fn default() -> Self {
        Self { spacer: [0; 4] }
    }
}

impl fmt::Debug for GrantEntryV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantEntryV2").finish_non_exhaustive()
    }
}

// Operations (`enum grant_table_op`).

/// `GNTTABOP_map_grant_ref`: map foreign grants ([`GnttabMapGrantRef`]).
pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
/// `GNTTABOP_unmap_grant_ref`: undo such mappings ([`GnttabUnmapGrantRef`]).
pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
/// `GNTTABOP_setup_table`: size the grant table and list its frames ([`GnttabSetupTable`]).
pub const GNTTABOP_SETUP_TABLE: u32 = 2;
/// `GNTTABOP_dump_table`: dump the grant table to the Xen console ([`GnttabDumpTable`]).
pub const GNTTABOP_DUMP_TABLE: u32 = 3;
/// `GNTTABOP_transfer`: transfer frames to foreign domains, PV only ([`GnttabTransfer`]).
pub const GNTTABOP_TRANSFER: u32 = 4;
/// `GNTTABOP_copy`: copy between frames and grants ([`GnttabCopy`]).
pub const GNTTABOP_COPY: u32 = 5;
/// `GNTTABOP_query_size`: current and maximum table frames ([`GnttabQuerySize`]).
pub const GNTTABOP_QUERY_SIZE: u32 = 6;
/// `GNTTABOP_unmap_and_replace`: unmap, replacing the PTE ([`GnttabUnmapAndReplace`]).
pub const GNTTABOP_UNMAP_AND_REPLACE: u32 = 7;
/// `GNTTABOP_set_version`: choose the entry format ([`GnttabSetVersion`]).
pub const GNTTABOP_SET_VERSION: u32 = 8;
/// `GNTTABOP_get_status_frames`: list the v2 status frames ([`GnttabGetStatusFrames`]).
pub const GNTTABOP_GET_STATUS_FRAMES: u32 = 9;
/// `GNTTABOP_get_version`: the entry format in use ([`GnttabGetVersion`]).
pub const GNTTABOP_GET_VERSION: u32 = 10;
/// `GNTTABOP_swap_grant_ref`: swap two entries ([`GnttabSwapGrantRef`]).
pub const GNTTABOP_SWAP_GRANT_REF: u32 = 11;
/// `GNTTABOP_cache_flush`: cache maintenance on granted memory ([`GnttabCacheFlush`]).
pub const GNTTABOP_CACHE_FLUSH: u32 = 12;

/// `struct gnttab_map_grant_ref`: map grant `ref` of `dom` (`GNTTABOP_map_grant_ref`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabMapGrantRef {
    /// IN: where to map: a guest address (HVM: a guest-physical address), or with
    /// [`GNTMAP_CONTAINS_PTE`] the machine address of the PTE to write.
    pub host_addr: u64,
    /// IN: `GNTMAP_*`.
    pub flags: u32,
    /// IN: the grant reference (`ref` in C).
    pub ref_: GrantRef,
    /// IN: the granting domain.
    pub dom: DomId,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: the handle to unmap with.
    pub handle: GrantHandle,
    /// OUT: with [`GNTMAP_DEVICE_MAP`], the bus address devices may use.
    pub dev_bus_addr: u64,
}

/// `struct gnttab_unmap_grant_ref`: undo a mapping (`GNTTABOP_unmap_grant_ref`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabUnmapGrantRef {
    /// IN: the host mapping to remove (0: none).
    pub host_addr: u64,
    /// IN: the device mapping to remove (0: none).
    pub dev_bus_addr: u64,
    /// IN: the handle from the map.
    pub handle: GrantHandle,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

/// `struct gnttab_setup_table`: grow `dom`'s table to `nr_frames` frames and list them
/// (`GNTTABOP_setup_table`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabSetupTable {
    /// IN: the domain (`DOMID_SELF` unless privileged).
    pub dom: DomId,
    /// IN: frames wanted, and the length of `frame_list`.
    pub nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: the table's frame numbers.
    pub frame_list: GuestHandle<XenPfn>,
}

/// `struct gnttab_dump_table`: dump `dom`'s table to the Xen console, for debugging
/// (`GNTTABOP_dump_table`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabDumpTable {
    /// IN: the domain.
    pub dom: DomId,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

/// `struct gnttab_transfer`: give frame `mfn` to `domid` through its grant `ref`
/// (`GNTTABOP_transfer`, PV guests only).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabTransfer {
    /// IN: the frame to give away.
    pub mfn: XenPfn,
    /// IN: the receiving domain.
    pub domid: DomId,
    /// IN: its accept-transfer grant (`ref` in C).
    pub ref_: GrantRef,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

// GNTTABOP_copy flags.

/// `_GNTCOPY_source_gref`: bit number of [`GNTCOPY_SOURCE_GREF`].
pub const _GNTCOPY_SOURCE_GREF: u32 = 0;
/// `GNTCOPY_source_gref`: the source is a grant reference, not a frame.
pub const GNTCOPY_SOURCE_GREF: u16 = 1 << _GNTCOPY_SOURCE_GREF;
/// `_GNTCOPY_dest_gref`: bit number of [`GNTCOPY_DEST_GREF`].
pub const _GNTCOPY_DEST_GREF: u32 = 1;
/// `GNTCOPY_dest_gref`: the destination is a grant reference, not a frame.
pub const GNTCOPY_DEST_GREF: u16 = 1 << _GNTCOPY_DEST_GREF;

/// The anonymous `union` `struct gnttab_copy_ptr.u`: a grant or a frame, by the
/// `GNTCOPY_*_gref` flags.
#[repr(C)]
#[derive(Clone, Copy)]
pub union GnttabCopyPtrU {
    /// A grant reference of `domid` (`ref` in C).
    pub ref_: GrantRef,
    /// A frame of the caller.
    pub gmfn: XenPfn,
}

impl Default for GnttabCopyPtrU {
    /// All eight bytes zero.
    fn default() -> Self {
        Self { gmfn: 0 }
    }
}

impl fmt::Debug for GnttabCopyPtrU {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GnttabCopyPtrU").finish_non_exhaustive()
    }
}

/// `struct gnttab_copy_ptr`: one end of a [`GnttabCopy`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GnttabCopyPtr {
    /// The grant or frame.
    pub u: GnttabCopyPtrU,
    /// The domain owning the grant.
    pub domid: DomId,
    /// Byte offset in the page.
    pub offset: u16,
}

/// `struct gnttab_copy`: copy `len` bytes from `source` to `dest` (`GNTTABOP_copy`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GnttabCopy {
    /// IN: where to copy from.
    pub source: GnttabCopyPtr,
    /// IN: where to copy to.
    pub dest: GnttabCopyPtr,
    /// IN: bytes to copy (within one page at each end).
    pub len: u16,
    /// IN: `GNTCOPY_*`.
    pub flags: u16,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

/// `struct gnttab_query_size`: the current and maximum size of `dom`'s table
/// (`GNTTABOP_query_size`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabQuerySize {
    /// IN: the domain (`DOMID_SELF` unless privileged).
    pub dom: DomId,
    /// OUT: frames now.
    pub nr_frames: u32,
    /// OUT: frames at most.
    pub max_nr_frames: u32,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

/// `struct gnttab_unmap_and_replace`: unmap `handle` at `host_addr`, pointing its PTE at what
/// maps `new_addr` (`GNTTABOP_unmap_and_replace`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabUnmapAndReplace {
    /// IN: the mapping to remove.
    pub host_addr: u64,
    /// IN: the address whose mapping replaces it (then unmapped itself).
    pub new_addr: u64,
    /// IN: the handle from the map.
    pub handle: GrantHandle,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

/// `struct gnttab_set_version`: choose grant entry version 1 or 2 while no grants are active
/// (`GNTTABOP_set_version`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabSetVersion {
    /// IN: the version wanted; OUT: the version in effect.
    pub version: u32,
}

/// `struct gnttab_get_status_frames`: list `dom`'s v2 status frames
/// (`GNTTABOP_get_status_frames`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabGetStatusFrames {
    /// IN: the length of `frame_list`.
    pub nr_frames: u32,
    /// IN: the domain (`DOMID_SELF` unless privileged).
    pub dom: DomId,
    /// OUT: `GNTST_*`.
    pub status: i16,
    /// OUT: the status frames' numbers.
    pub frame_list: GuestHandle<u64>,
}

/// `struct gnttab_get_version`: the grant entry version of `dom` (`GNTTABOP_get_version`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabGetVersion {
    /// IN: the domain.
    pub dom: DomId,
    /// Padding.
    pub pad: u16,
    /// OUT: the version.
    pub version: u32,
}

/// `struct gnttab_swap_grant_ref`: swap entries `ref_a` and `ref_b`
/// (`GNTTABOP_swap_grant_ref`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GnttabSwapGrantRef {
    /// IN: one entry.
    pub ref_a: GrantRef,
    /// IN: the other.
    pub ref_b: GrantRef,
    /// OUT: `GNTST_*`.
    pub status: i16,
}

// GNTTABOP_cache_flush operations (`gnttab_cache_flush.op`).

/// `GNTTAB_CACHE_CLEAN`: clean (write back) the range.
pub const GNTTAB_CACHE_CLEAN: u32 = 1 << 0;
/// `GNTTAB_CACHE_INVAL`: invalidate the range.
pub const GNTTAB_CACHE_INVAL: u32 = 1 << 1;
/// `GNTTAB_CACHE_SOURCE_GREF`: `a` is a grant reference, not a bus address.
pub const GNTTAB_CACHE_SOURCE_GREF: u32 = 1 << 31;

/// The anonymous `union` `struct gnttab_cache_flush.a`: the granted memory, by
/// [`GNTTAB_CACHE_SOURCE_GREF`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union GnttabCacheFlushA {
    /// A device bus address of the mapped grant.
    pub dev_bus_addr: u64,
    /// A grant reference (`ref` in C).
    pub ref_: GrantRef,
}

impl Default for GnttabCacheFlushA {
    /// All eight bytes zero.
    fn default() -> Self {
        Self { dev_bus_addr: 0 }
    }
}

impl fmt::Debug for GnttabCacheFlushA {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GnttabCacheFlushA").finish_non_exhaustive()
    }
}

/// `struct gnttab_cache_flush`: cache maintenance on part of a page granted to the caller
/// (`GNTTABOP_cache_flush`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct GnttabCacheFlush {
    /// The granted memory.
    pub a: GnttabCacheFlushA,
    /// Byte offset from the start of the grant.
    pub offset: u16,
    /// Bytes within the grant.
    pub length: u16,
    /// `GNTTAB_CACHE_*`.
    pub op: u32,
}

// GNTTABOP_map_grant_ref flags.

/// `_GNTMAP_device_map`: bit number of [`GNTMAP_DEVICE_MAP`].
pub const _GNTMAP_DEVICE_MAP: u32 = 0;
/// `GNTMAP_device_map`: map for access by I/O devices.
pub const GNTMAP_DEVICE_MAP: u32 = 1 << _GNTMAP_DEVICE_MAP;
/// `_GNTMAP_host_map`: bit number of [`GNTMAP_HOST_MAP`].
pub const _GNTMAP_HOST_MAP: u32 = 1;
/// `GNTMAP_host_map`: map for access by host CPUs.
pub const GNTMAP_HOST_MAP: u32 = 1 << _GNTMAP_HOST_MAP;
/// `_GNTMAP_readonly`: bit number of [`GNTMAP_READONLY`].
pub const _GNTMAP_READONLY: u32 = 2;
/// `GNTMAP_readonly`: map read-only.
pub const GNTMAP_READONLY: u32 = 1 << _GNTMAP_READONLY;
/// `_GNTMAP_application_map`: bit number of [`GNTMAP_APPLICATION_MAP`].
pub const _GNTMAP_APPLICATION_MAP: u32 = 3;
/// `GNTMAP_application_map`: the host mapping is usable by applications too (PV).
pub const GNTMAP_APPLICATION_MAP: u32 = 1 << _GNTMAP_APPLICATION_MAP;
/// `_GNTMAP_contains_pte`: bit number of [`GNTMAP_CONTAINS_PTE`].
pub const _GNTMAP_CONTAINS_PTE: u32 = 4;
/// `GNTMAP_contains_pte`: `host_addr` is the machine address of a PTE to update (PV).
pub const GNTMAP_CONTAINS_PTE: u32 = 1 << _GNTMAP_CONTAINS_PTE;
/// `_GNTMAP_guest_avail0`: first of the bits passed on to guest-available PTE bits.
pub const _GNTMAP_GUEST_AVAIL0: u32 = 16;
/// `GNTMAP_guest_avail_mask`: the bits passed on to guest-available PTE bits (with
/// `XENFEAT_gnttab_map_avail_bits`).
pub const GNTMAP_GUEST_AVAIL_MASK: u32 = !0 << _GNTMAP_GUEST_AVAIL0;

// Status codes (`enum grant_status`).

/// `GNTST_okay`: success.
pub const GNTST_OKAY: i16 = 0;
/// `GNTST_general_error`: undefined error.
pub const GNTST_GENERAL_ERROR: i16 = -1;
/// `GNTST_bad_domain`: unrecognised domain id.
pub const GNTST_BAD_DOMAIN: i16 = -2;
/// `GNTST_bad_gntref`: unrecognised or inappropriate grant reference.
pub const GNTST_BAD_GNTREF: i16 = -3;
/// `GNTST_bad_handle`: unrecognised or inappropriate mapping handle.
pub const GNTST_BAD_HANDLE: i16 = -4;
/// `GNTST_bad_virt_addr`: inappropriate virtual address to map.
pub const GNTST_BAD_VIRT_ADDR: i16 = -5;
/// `GNTST_bad_dev_addr`: inappropriate device address to unmap.
pub const GNTST_BAD_DEV_ADDR: i16 = -6;
/// `GNTST_no_device_space`: out of space in the I/O MMU.
pub const GNTST_NO_DEVICE_SPACE: i16 = -7;
/// `GNTST_permission_denied`: not enough privilege for the operation.
pub const GNTST_PERMISSION_DENIED: i16 = -8;
/// `GNTST_bad_page`: the page was invalid for the operation.
pub const GNTST_BAD_PAGE: i16 = -9;
/// `GNTST_bad_copy_arg`: copy arguments cross a page boundary.
pub const GNTST_BAD_COPY_ARG: i16 = -10;
/// `GNTST_address_too_big`: transfer page address too large.
pub const GNTST_ADDRESS_TOO_BIG: i16 = -11;
/// `GNTST_eagain`: operation not done; try again.
pub const GNTST_EAGAIN: i16 = -12;
/// `GNTST_no_space`: out of space (handles and the like).
pub const GNTST_NO_SPACE: i16 = -13;

/// `GNTTABOP_error_msgs`: the message for each status, indexed by `-status`.
pub const GNTTABOP_ERROR_MSGS: [&str; 14] = [
    "okay",
    "undefined error",
    "unrecognised domain id",
    "invalid grant reference",
    "invalid mapping handle",
    "invalid virtual address",
    "invalid device address",
    "no spare translation slot in the I/O MMU",
    "permission denied",
    "bad page",
    "copy arguments cross page boundary",
    "page address size too large",
    "operation not done; try again",
    "out of space",
];

const _: () = assert!(size_of::<GrantEntryV1>() == 8);
const _: () = assert!(size_of::<GrantEntryV2>() == 16);
const _: () = assert!(size_of::<GnttabMapGrantRef>() == 32);
const _: () = assert!(size_of::<GnttabUnmapGrantRef>() == 24);
const _: () = assert!(size_of::<GnttabSetupTable>() == 24);
const _: () = assert!(size_of::<GnttabCopy>() == 40);
const _: () = assert!(size_of::<GnttabQuerySize>() == 16);
const _: () = assert!(size_of::<GnttabGetVersion>() == 8);
