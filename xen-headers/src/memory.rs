// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/memory.h`: the `HYPERVISOR_memory_op` sub-operations (`XENMEM_*`) and their
//! argument structures.
//!
//! That is: reservations (balloon up and down, populate), the physmap (placing `shared_info`
//! and grant table frames in the guest-physical address space), memory maps, populate-on-demand targets,
//! resource acquisition and vNUMA topology.
//!
//! Left out: the operations the header defines only for Xen and its toolstack
//! (`__XEN__`/`__XEN_TOOLS__`: `XENMEM_get_sharing_freed_pages` 18,
//! `XENMEM_get_sharing_shared_pages` 19, `XENMEM_paging_op` 20, `XENMEM_access_op` 21,
//! `XENMEM_sharing_op` 22, `XENMEM_claim_pages` 24, `XENMEM_reserved_device_memory_map` 27 and
//! their structures), and the pre-4.4 alias `XENMEM_add_to_physmap_range`.

use core::ffi::c_void;
use core::fmt;

use crate::xen::{DomId, GuestHandle, XenPfn, XenUlong};

// Reservations.

/// `XENMEM_increase_reservation`: allocate extents ([`XenMemoryReservation`]); returns the
/// number of extents allocated.
pub const XENMEM_INCREASE_RESERVATION: u32 = 0;
/// `XENMEM_decrease_reservation`: free extents ([`XenMemoryReservation`]); returns the number
/// of extents freed.
pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
/// `XENMEM_populate_physmap`: back guest frames with memory ([`XenMemoryReservation`]);
/// returns the number of extents populated.
pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;

/// `XENMEMF_address_bits(x)`: restrict the allocation to addresses below `2^x` (0: no limit).
#[must_use]
pub const fn xenmemf_address_bits(x: u32) -> u32 {
    x
}

/// `XENMEMF_get_address_bits(x)`: the address-bits limit in the `mem_flags` `x`.
#[must_use]
pub const fn xenmemf_get_address_bits(x: u32) -> u32 {
    x & 0xff
}

/// `XENMEMF_node(x)`: allocate from NUMA node `x`.
#[must_use]
pub const fn xenmemf_node(x: u32) -> u32 {
    x.wrapping_add(1).wrapping_shl(8)
}

/// `XENMEMF_get_node(x)`: the NUMA node in the `mem_flags` `x`.
#[must_use]
pub const fn xenmemf_get_node(x: u32) -> u32 {
    (x >> 8).wrapping_sub(1) & 0xff
}

/// `XENMEMF_populate_on_demand`: populate with populate-on-demand entries.
pub const XENMEMF_POPULATE_ON_DEMAND: u32 = 1 << 16;
/// `XENMEMF_exact_node_request`: allocate only from the node given.
pub const XENMEMF_EXACT_NODE_REQUEST: u32 = 1 << 17;

/// `XENMEMF_exact_node(n)`: allocate only from NUMA node `n`.
#[must_use]
pub const fn xenmemf_exact_node(n: u32) -> u32 {
    xenmemf_node(n) | XENMEMF_EXACT_NODE_REQUEST
}

/// `XENMEMF_vnode`: the node given is a virtual (vNUMA) node.
pub const XENMEMF_VNODE: u32 = 1 << 18;

/// `struct xen_memory_reservation`: the argument of [`XENMEM_INCREASE_RESERVATION`],
/// [`XENMEM_DECREASE_RESERVATION`] and [`XENMEM_POPULATE_PHYSMAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMemoryReservation {
    /// The extents' base frames: OUT for increase (MFNs), IN for decrease (GMFNs), IN/OUT for
    /// populate (GPFNs to fill).
    pub extent_start: GuestHandle<XenPfn>,
    /// Number of extents.
    pub nr_extents: XenUlong,
    /// Each extent is `2^extent_order` pages.
    pub extent_order: u32,
    /// `XENMEMF_*` flags.
    pub mem_flags: u32,
    /// The domain (`DOMID_SELF` unless privileged).
    pub domid: DomId,
}

/// `XENMEM_exchange`: exchange extents atomically, PV only ([`XenMemoryExchange`]).
pub const XENMEM_EXCHANGE: u32 = 11;

/// `struct xen_memory_exchange`: swap the extents of `in` for new ones described by `out`
/// ([`XENMEM_EXCHANGE`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMemoryExchange {
    /// IN: the extents to give up (`in` in C).
    pub in_: XenMemoryReservation,
    /// IN/OUT: the extents to receive.
    pub out: XenMemoryReservation,
    /// OUT: input extents exchanged; must be 0 on entry.
    pub nr_exchanged: XenUlong,
}

/// `XENMEM_maximum_ram_page`: the highest machine frame of RAM (argument NULL).
pub const XENMEM_MAXIMUM_RAM_PAGE: u32 = 2;

/// `struct xen_memory_domain`: the argument of the per-domain queries
/// ([`XENMEM_CURRENT_RESERVATION`], [`XENMEM_MAXIMUM_RESERVATION`], [`XENMEM_MAXIMUM_GPFN`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMemoryDomain {
    /// IN: the domain (may be `DOMID_SELF`).
    pub domid: DomId,
}

/// `XENMEM_current_reservation`: a domain's current reservation in pages ([`XenMemoryDomain`]).
pub const XENMEM_CURRENT_RESERVATION: u32 = 3;
/// `XENMEM_maximum_reservation`: a domain's maximum reservation in pages ([`XenMemoryDomain`]).
pub const XENMEM_MAXIMUM_RESERVATION: u32 = 4;
/// `XENMEM_maximum_gpfn`: the highest GFN a domain uses ([`XenMemoryDomain`]).
pub const XENMEM_MAXIMUM_GPFN: u32 = 14;

/// `XENMEM_machphys_mfn_list`: the MFNs of the machine-to-phys table
/// ([`XenMachphysMfnList`]).
pub const XENMEM_MACHPHYS_MFN_LIST: u32 = 5;

/// `struct xen_machphys_mfn_list`: the argument of [`XENMEM_MACHPHYS_MFN_LIST`] and
/// [`XENMEM_MACHPHYS_COMPAT_MFN_LIST`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMachphysMfnList {
    /// IN: the length of `extent_start`.
    pub max_extents: u32,
    /// OUT: the MFN of each 2 MiB extent of the table.
    pub extent_start: GuestHandle<XenPfn>,
    /// OUT: extents written.
    pub nr_extents: u32,
}

/// `XENMEM_machphys_compat_mfn_list`: as [`XENMEM_MACHPHYS_MFN_LIST`], for the compat table.
pub const XENMEM_MACHPHYS_COMPAT_MFN_LIST: u32 = 25;

/// `XENMEM_machphys_mapping`: where the machine-to-phys table is mapped
/// ([`XenMachphysMapping`]).
pub const XENMEM_MACHPHYS_MAPPING: u32 = 12;

/// `struct xen_machphys_mapping`: the argument of [`XENMEM_MACHPHYS_MAPPING`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMachphysMapping {
    /// OUT: start virtual address.
    pub v_start: XenUlong,
    /// OUT: end virtual address.
    pub v_end: XenUlong,
    /// OUT: the highest MFN that can be looked up.
    pub max_mfn: XenUlong,
}

// Physmap spaces (`enum phys_map_space`).

/// `XENMAPSPACE_shared_info`: the `shared_info` page.
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// `XENMAPSPACE_grant_table`: a grant table frame (`idx`, with [`XENMAPIDX_GRANT_TABLE_STATUS`]
/// for a v2 status frame).
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// `XENMAPSPACE_gmfn`: a guest frame.
pub const XENMAPSPACE_GMFN: u32 = 2;
/// `XENMAPSPACE_gmfn_range`: a range of guest frames (`XENMEM_add_to_physmap` only).
pub const XENMAPSPACE_GMFN_RANGE: u32 = 3;
/// `XENMAPSPACE_gmfn_foreign`: another domain's frame (`XENMEM_add_to_physmap_batch` only).
pub const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
/// `XENMAPSPACE_dev_mmio`: a device MMIO region (Arm only).
pub const XENMAPSPACE_DEV_MMIO: u32 = 5;

/// `XENMEM_add_to_physmap`: place a page at a guest frame ([`XenAddToPhysmap`]).
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;

/// `XENMAPIDX_grant_table_status`: [`XenAddToPhysmap::idx`] bit selecting the grant status
/// frames instead of the shared frames.
pub const XENMAPIDX_GRANT_TABLE_STATUS: XenUlong = 0x8000_0000;

/// `struct xen_add_to_physmap`: make page `idx` of `space` appear at guest frame `gpfn`
/// ([`XENMEM_ADD_TO_PHYSMAP`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenAddToPhysmap {
    /// The domain (`DOMID_SELF` unless privileged).
    pub domid: DomId,
    /// Pages, for [`XENMAPSPACE_GMFN_RANGE`].
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// The page within `space`.
    pub idx: XenUlong,
    /// The guest frame where it should appear.
    pub gpfn: XenPfn,
}

/// `XENMEM_add_to_physmap_batch`: the batched add-to-physmap ([`XenAddToPhysmapBatch`]).
pub const XENMEM_ADD_TO_PHYSMAP_BATCH: u32 = 23;

/// `union xen_add_to_physmap_batch_extra`: [`XenAddToPhysmapBatch::u`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenAddToPhysmapBatchExtra {
    /// [`XENMAPSPACE_GMFN_FOREIGN`]: the domain owning the frames.
    pub foreign_domid: DomId,
    /// Every other space: must be 0.
    pub res0: u16,
}

impl Default for XenAddToPhysmapBatchExtra {
    /// Zero.
    fn default() -> Self {
        Self { res0: 0 }
    }
}

impl fmt::Debug for XenAddToPhysmapBatchExtra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XenAddToPhysmapBatchExtra")
            .finish_non_exhaustive()
    }
}

/// `struct xen_add_to_physmap_batch`: make `size` pages `idxs` of `space` appear at guest
/// frames `gpfns` ([`XENMEM_ADD_TO_PHYSMAP_BATCH`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XenAddToPhysmapBatch {
    /// IN: the domain.
    pub domid: DomId,
    /// IN: `XENMAPSPACE_*`.
    pub space: u16,
    /// IN: the number of pages.
    pub size: u16,
    /// IN: the foreign domain, by `space`.
    pub u: XenAddToPhysmapBatchExtra,
    /// IN: the pages within `space`.
    pub idxs: GuestHandle<XenUlong>,
    /// IN: where each should appear.
    pub gpfns: GuestHandle<XenPfn>,
    /// OUT: an error code per page.
    pub errs: GuestHandle<i32>,
}

/// `XENMEM_remove_from_physmap`: unmap the page at a guest frame ([`XenRemoveFromPhysmap`]).
pub const XENMEM_REMOVE_FROM_PHYSMAP: u32 = 15;

/// `struct xen_remove_from_physmap`: unmap the page at guest frame `gpfn`
/// ([`XENMEM_REMOVE_FROM_PHYSMAP`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenRemoveFromPhysmap {
    /// The domain (`DOMID_SELF` unless privileged).
    pub domid: DomId,
    /// The guest frame.
    pub gpfn: XenPfn,
}

// Memory maps.

/// `XENMEM_memory_map`: the guest's E820-style memory map as set at creation
/// ([`XenMemoryMap`]).
pub const XENMEM_MEMORY_MAP: u32 = 9;
/// `XENMEM_machine_memory_map`: the host's memory map, privileged ([`XenMemoryMap`]).
pub const XENMEM_MACHINE_MEMORY_MAP: u32 = 10;
/// `XENMEM_set_memory_map`: set a domain's memory map, privileged ([`XenForeignMemoryMap`]).
pub const XENMEM_SET_MEMORY_MAP: u32 = 13;

/// `struct xen_memory_map`: the argument of [`XENMEM_MEMORY_MAP`] and
/// [`XENMEM_MACHINE_MEMORY_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XenMemoryMap {
    /// IN: entries `buffer` can hold; OUT: entries stored.
    pub nr_entries: u32,
    /// Entries in the BIOS `INT 15h, E820h` format (20 bytes each).
    pub buffer: GuestHandle<c_void>,
}

/// `struct xen_foreign_memory_map`: the argument of [`XENMEM_SET_MEMORY_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XenForeignMemoryMap {
    /// The domain.
    pub domid: DomId,
    /// Its map.
    pub map: XenMemoryMap,
}

// Populate-on-demand.

/// `XENMEM_set_pod_target`: set a domain's populate-on-demand target, privileged ([`XenPodTarget`]).
pub const XENMEM_SET_POD_TARGET: u32 = 16;
/// `XENMEM_get_pod_target`: read a domain's populate-on-demand state, privileged ([`XenPodTarget`]).
pub const XENMEM_GET_POD_TARGET: u32 = 17;

/// `struct xen_pod_target`: the argument of [`XENMEM_SET_POD_TARGET`] and
/// [`XENMEM_GET_POD_TARGET`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenPodTarget {
    /// IN: the target in pages.
    pub target_pages: u64,
    /// OUT: pages the domain has.
    pub tot_pages: u64,
    /// OUT: pages in the populate-on-demand cache.
    pub pod_cache_pages: u64,
    /// OUT: outstanding populate-on-demand entries.
    pub pod_entries: u64,
    /// IN: the domain.
    pub domid: DomId,
}

// Resources.

/// `XENMEM_acquire_resource`: map a domain's resource pages ([`XenMemAcquireResource`]).
pub const XENMEM_ACQUIRE_RESOURCE: u32 = 28;

/// `XENMEM_resource_ioreq_server`: an ioreq server's pages ([`XenMemAcquireResource::type_`]).
pub const XENMEM_RESOURCE_IOREQ_SERVER: u16 = 0;
/// `XENMEM_resource_grant_table`: a grant table's frames.
pub const XENMEM_RESOURCE_GRANT_TABLE: u16 = 1;
/// `XENMEM_resource_vmtrace_buf`: a vCPU's trace buffer.
pub const XENMEM_RESOURCE_VMTRACE_BUF: u16 = 2;

/// `XENMEM_resource_grant_table_id_shared`: the shared frames ([`XenMemAcquireResource::id`]).
pub const XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED: u32 = 0;
/// `XENMEM_resource_grant_table_id_status`: the v2 status frames.
pub const XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS: u32 = 1;

/// `XENMEM_resource_ioreq_server_frame_bufioreq`: the buffered ioreq frame
/// ([`XenMemAcquireResource::frame`]).
pub const XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ: u64 = 0;

/// `XENMEM_resource_ioreq_server_frame_ioreq(n)`: the synchronous ioreq frame `n`.
#[must_use]
pub const fn xenmem_resource_ioreq_server_frame_ioreq(n: u64) -> u64 {
    n.wrapping_add(1)
}

/// `struct xen_mem_acquire_resource`: map `nr_frames` frames of resource `type`/`id` of
/// `domid`, from `frame` on ([`XENMEM_ACQUIRE_RESOURCE`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenMemAcquireResource {
    /// IN: the domain owning the resource.
    pub domid: DomId,
    /// IN: `XENMEM_resource_*` (`type` in C).
    pub type_: u16,
    /// IN: the resource within the type (e.g. `XENMEM_resource_grant_table_id_*`).
    pub id: u32,
    /// IN/OUT: frames to map; with a null `frame_list` and 0, OUT: the resource's size.
    pub nr_frames: u32,
    /// Must be 0.
    pub pad: u32,
    /// IN: the first frame of the resource to map.
    pub frame: u64,
    /// IN/OUT: the frames (GFNs to map at for an HVM caller).
    pub frame_list: GuestHandle<XenPfn>,
}

// vNUMA.

/// `XENMEM_get_vnumainfo`: the guest's vNUMA topology ([`XenVnumaTopologyInfo`]).
pub const XENMEM_GET_VNUMAINFO: u32 = 26;

/// `struct xen_vmemrange`: one vNUMA memory range.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenVmemrange {
    /// Start address.
    pub start: u64,
    /// End address.
    pub end: u64,
    /// Flags.
    pub flags: u32,
    /// The vNUMA node.
    pub nid: u32,
}

/// The anonymous `union { XEN_GUEST_HANDLE(type) h; uint64_t pad; }` of
/// [`XenVnumaTopologyInfo`]: a guest handle padded to 64 bits.
#[repr(C)]
pub union XenVnumaHandle<T> {
    /// The handle.
    pub h: GuestHandle<T>,
    /// Padding to 64 bits.
    pub pad: u64,
}

impl<T> Clone for XenVnumaHandle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for XenVnumaHandle<T> {}

impl<T> Default for XenVnumaHandle<T> {
    /// A null handle.
    fn default() -> Self {
        Self { pad: 0 }
    }
}

impl<T> fmt::Debug for XenVnumaHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XenVnumaHandle").finish_non_exhaustive()
    }
}

/// `struct xen_vnuma_topology_info`: the argument of [`XENMEM_GET_VNUMAINFO`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XenVnumaTopologyInfo {
    /// IN: the domain.
    pub domid: DomId,
    /// Padding.
    pub pad: u16,
    /// IN: room in the buffers; OUT: the actual number of vNUMA nodes.
    pub nr_vnodes: u32,
    /// IN/OUT: the number of vCPUs, as for `nr_vnodes`.
    pub nr_vcpus: u32,
    /// IN/OUT: the number of memory ranges, as for `nr_vnodes`.
    pub nr_vmemranges: u32,
    /// OUT: the `nr_vnodes * nr_vnodes` distance table.
    pub vdistance: XenVnumaHandle<u32>,
    /// OUT: the node of each vCPU.
    pub vcpu_to_vnode: XenVnumaHandle<u32>,
    /// OUT: the memory ranges.
    pub vmemrange: XenVnumaHandle<XenVmemrange>,
}

const _: () = assert!(size_of::<XenMemoryReservation>() == 32);
const _: () = assert!(size_of::<XenMemoryExchange>() == 72);
const _: () = assert!(size_of::<XenAddToPhysmap>() == 24);
const _: () = assert!(size_of::<XenAddToPhysmapBatch>() == 32);
const _: () = assert!(size_of::<XenRemoveFromPhysmap>() == 16);
const _: () = assert!(size_of::<XenMemoryMap>() == 16);
const _: () = assert!(size_of::<XenMemAcquireResource>() == 32);
const _: () = assert!(size_of::<XenVnumaTopologyInfo>() == 40);
