// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/memory.h`.

use super::{Table, consts, layout};
use xen_headers::memory::{
    self, XenAddToPhysmap, XenAddToPhysmapBatch, XenAddToPhysmapBatchExtra, XenForeignMemoryMap,
    XenMachphysMapping, XenMachphysMfnList, XenMemAcquireResource, XenMemoryDomain,
    XenMemoryExchange, XenMemoryMap, XenMemoryReservation, XenPodTarget, XenRemoveFromPhysmap,
    XenVmemrange, XenVnumaTopologyInfo,
};

/// Arguments the function-like `XENMEMF_*` macros are checked with: small and large nodes and
/// bit counts, the 8-bit field boundaries and all-ones.
const XENMEMF_SAMPLES: &[u32] = &[0, 1, 3, 32, 63, 254, 255, 256, 0x1ff, 0x3_0100, u32::MAX];

/// Frame indices `XENMEM_resource_ioreq_server_frame_ioreq` is checked with.
const IOREQ_FRAME_SAMPLES: &[u64] = &[0, 1, 7, 0xffff_ffff];

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::memory;
        XENMEM_increase_reservation => XENMEM_INCREASE_RESERVATION,
        XENMEM_decrease_reservation => XENMEM_DECREASE_RESERVATION,
        XENMEM_populate_physmap => XENMEM_POPULATE_PHYSMAP,
        XENMEMF_populate_on_demand => XENMEMF_POPULATE_ON_DEMAND,
        XENMEMF_exact_node_request => XENMEMF_EXACT_NODE_REQUEST,
        XENMEMF_vnode => XENMEMF_VNODE,
        XENMEM_exchange => XENMEM_EXCHANGE,
        XENMEM_maximum_ram_page => XENMEM_MAXIMUM_RAM_PAGE,
        XENMEM_current_reservation => XENMEM_CURRENT_RESERVATION,
        XENMEM_maximum_reservation => XENMEM_MAXIMUM_RESERVATION,
        XENMEM_maximum_gpfn => XENMEM_MAXIMUM_GPFN,
        XENMEM_machphys_mfn_list => XENMEM_MACHPHYS_MFN_LIST,
        XENMEM_machphys_compat_mfn_list => XENMEM_MACHPHYS_COMPAT_MFN_LIST,
        XENMEM_machphys_mapping => XENMEM_MACHPHYS_MAPPING,
        XENMAPSPACE_shared_info => XENMAPSPACE_SHARED_INFO,
        XENMAPSPACE_grant_table => XENMAPSPACE_GRANT_TABLE,
        XENMAPSPACE_gmfn => XENMAPSPACE_GMFN,
        XENMAPSPACE_gmfn_range => XENMAPSPACE_GMFN_RANGE,
        XENMAPSPACE_gmfn_foreign => XENMAPSPACE_GMFN_FOREIGN,
        XENMAPSPACE_dev_mmio => XENMAPSPACE_DEV_MMIO,
        XENMEM_add_to_physmap => XENMEM_ADD_TO_PHYSMAP,
        XENMAPIDX_grant_table_status => XENMAPIDX_GRANT_TABLE_STATUS,
        XENMEM_add_to_physmap_batch => XENMEM_ADD_TO_PHYSMAP_BATCH,
        XENMEM_remove_from_physmap => XENMEM_REMOVE_FROM_PHYSMAP,
        XENMEM_memory_map => XENMEM_MEMORY_MAP,
        XENMEM_machine_memory_map => XENMEM_MACHINE_MEMORY_MAP,
        XENMEM_set_memory_map => XENMEM_SET_MEMORY_MAP,
        XENMEM_set_pod_target => XENMEM_SET_POD_TARGET,
        XENMEM_get_pod_target => XENMEM_GET_POD_TARGET,
        XENMEM_acquire_resource => XENMEM_ACQUIRE_RESOURCE,
        XENMEM_resource_ioreq_server => XENMEM_RESOURCE_IOREQ_SERVER,
        XENMEM_resource_grant_table => XENMEM_RESOURCE_GRANT_TABLE,
        XENMEM_resource_vmtrace_buf => XENMEM_RESOURCE_VMTRACE_BUF,
        XENMEM_resource_grant_table_id_shared => XENMEM_RESOURCE_GRANT_TABLE_ID_SHARED,
        XENMEM_resource_grant_table_id_status => XENMEM_RESOURCE_GRANT_TABLE_ID_STATUS,
        XENMEM_resource_ioreq_server_frame_bufioreq => XENMEM_RESOURCE_IOREQ_SERVER_FRAME_BUFIOREQ,
        XENMEM_get_vnumainfo => XENMEM_GET_VNUMAINFO,
    );

    // The function-like macros, on `unsigned int` arguments as `mem_flags` holds them.
    for &x in XENMEMF_SAMPLES {
        t.int(
            format!("XENMEMF_address_bits({x}u)"),
            memory::xenmemf_address_bits(x),
        );
        t.int(
            format!("XENMEMF_get_address_bits({x}u)"),
            memory::xenmemf_get_address_bits(x),
        );
        t.int(format!("XENMEMF_node({x}u)"), memory::xenmemf_node(x));
        t.int(
            format!("XENMEMF_get_node({x}u)"),
            memory::xenmemf_get_node(x),
        );
        t.int(
            format!("XENMEMF_exact_node({x}u)"),
            memory::xenmemf_exact_node(x),
        );
    }
    for &n in IOREQ_FRAME_SAMPLES {
        t.int(
            format!("XENMEM_resource_ioreq_server_frame_ioreq((uint64_t){n}u)"),
            memory::xenmem_resource_ioreq_server_frame_ioreq(n),
        );
    }

    layout!(
        t,
        "struct xen_memory_reservation",
        XenMemoryReservation {
            extent_start,
            nr_extents,
            extent_order,
            mem_flags,
            domid,
        }
    );
    layout!(t, "struct xen_memory_exchange", XenMemoryExchange {
        in_ as "in", in_.extent_start as "in.extent_start", in_.domid as "in.domid", out,
        out.extent_start, out.domid, nr_exchanged,
    });
    layout!(t, "struct xen_memory_domain", XenMemoryDomain { domid });
    layout!(
        t,
        "struct xen_machphys_mfn_list",
        XenMachphysMfnList {
            max_extents,
            extent_start,
            nr_extents,
        }
    );
    layout!(
        t,
        "struct xen_machphys_mapping",
        XenMachphysMapping {
            v_start,
            v_end,
            max_mfn,
        }
    );
    layout!(
        t,
        "struct xen_add_to_physmap",
        XenAddToPhysmap {
            domid,
            size,
            space,
            idx,
            gpfn,
        }
    );
    layout!(
        t,
        "union xen_add_to_physmap_batch_extra",
        XenAddToPhysmapBatchExtra {
            foreign_domid,
            res0,
        }
    );
    layout!(t, "struct xen_add_to_physmap_batch", XenAddToPhysmapBatch {
        domid, space, size, u, u.foreign_domid, u.res0, idxs, gpfns, errs,
    });
    layout!(
        t,
        "struct xen_remove_from_physmap",
        XenRemoveFromPhysmap { domid, gpfn }
    );
    layout!(
        t,
        "struct xen_memory_map",
        XenMemoryMap { nr_entries, buffer }
    );
    layout!(t, "struct xen_foreign_memory_map", XenForeignMemoryMap {
        domid, map, map.nr_entries, map.buffer,
    });
    layout!(
        t,
        "struct xen_pod_target",
        XenPodTarget {
            target_pages,
            tot_pages,
            pod_cache_pages,
            pod_entries,
            domid,
        }
    );
    layout!(t, "struct xen_mem_acquire_resource", XenMemAcquireResource {
        domid, type_ as "type", id, nr_frames, pad, frame, frame_list,
    });
    layout!(
        t,
        "struct xen_vmemrange",
        XenVmemrange {
            start,
            end,
            flags,
            nid,
        }
    );
    layout!(t, "struct xen_vnuma_topology_info", XenVnumaTopologyInfo {
        domid, pad, nr_vnodes, nr_vcpus, nr_vmemranges, vdistance, vdistance.h, vdistance.pad,
        vcpu_to_vnode, vcpu_to_vnode.h, vcpu_to_vnode.pad, vmemrange, vmemrange.h, vmemrange.pad,
    });
}
