// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/hvm_op.h`.

use crate::table::{Table, consts, layout, typedef};
use xen_headers::hvm::hvm_op::{
    HvmmemType, TRACE_EXTRA_MAX, XenHvmAltp2mChangeGfn, XenHvmAltp2mDomainState,
    XenHvmAltp2mGetVcpuP2mIdx, XenHvmAltp2mMemAccess, XenHvmAltp2mOp,
    XenHvmAltp2mSetMemAccessMulti, XenHvmAltp2mSetVisibility, XenHvmAltp2mSuppressVe,
    XenHvmAltp2mSuppressVeMulti, XenHvmAltp2mVcpuDisableNotify, XenHvmAltp2mVcpuEnableNotify,
    XenHvmAltp2mView, XenHvmEvtchnUpcallVector, XenHvmGetMemType, XenHvmGetTime,
    XenHvmPagetableDying, XenHvmParam, XenHvmXentrace,
};

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::hvm::hvm_op;
        HVMOP_set_param => HVMOP_SET_PARAM,
        HVMOP_get_param => HVMOP_GET_PARAM,
        HVMOP_flush_tlbs => HVMOP_FLUSH_TLBS,
        HVMOP_pagetable_dying => HVMOP_PAGETABLE_DYING,
        HVMOP_get_time => HVMOP_GET_TIME,
        HVMOP_xentrace => HVMOP_XENTRACE,
        HVMOP_get_mem_type => HVMOP_GET_MEM_TYPE,
        HVMOP_set_evtchn_upcall_vector => HVMOP_SET_EVTCHN_UPCALL_VECTOR,
        HVMOP_guest_request_vm_event => HVMOP_GUEST_REQUEST_VM_EVENT,
        HVMOP_altp2m => HVMOP_ALTP2M,
        HVMOP_ALTP2M_INTERFACE_VERSION => HVMOP_ALTP2M_INTERFACE_VERSION,
        HVMOP_altp2m_get_domain_state => HVMOP_ALTP2M_GET_DOMAIN_STATE,
        HVMOP_altp2m_set_domain_state => HVMOP_ALTP2M_SET_DOMAIN_STATE,
        HVMOP_altp2m_vcpu_enable_notify => HVMOP_ALTP2M_VCPU_ENABLE_NOTIFY,
        HVMOP_altp2m_create_p2m => HVMOP_ALTP2M_CREATE_P2M,
        HVMOP_altp2m_destroy_p2m => HVMOP_ALTP2M_DESTROY_P2M,
        HVMOP_altp2m_switch_p2m => HVMOP_ALTP2M_SWITCH_P2M,
        HVMOP_altp2m_set_mem_access => HVMOP_ALTP2M_SET_MEM_ACCESS,
        HVMOP_altp2m_change_gfn => HVMOP_ALTP2M_CHANGE_GFN,
        HVMOP_altp2m_set_mem_access_multi => HVMOP_ALTP2M_SET_MEM_ACCESS_MULTI,
        HVMOP_altp2m_set_suppress_ve => HVMOP_ALTP2M_SET_SUPPRESS_VE,
        HVMOP_altp2m_get_suppress_ve => HVMOP_ALTP2M_GET_SUPPRESS_VE,
        HVMOP_altp2m_get_mem_access => HVMOP_ALTP2M_GET_MEM_ACCESS,
        HVMOP_altp2m_vcpu_disable_notify => HVMOP_ALTP2M_VCPU_DISABLE_NOTIFY,
        HVMOP_altp2m_get_p2m_idx => HVMOP_ALTP2M_GET_P2M_IDX,
        HVMOP_altp2m_set_suppress_ve_multi => HVMOP_ALTP2M_SET_SUPPRESS_VE_MULTI,
        HVMOP_altp2m_set_visibility => HVMOP_ALTP2M_SET_VISIBILITY,
        HVMMEM_ram_rw => HVMMEM_RAM_RW,
        HVMMEM_ram_ro => HVMMEM_RAM_RO,
        HVMMEM_mmio_dm => HVMMEM_MMIO_DM,
        HVMMEM_unused => HVMMEM_UNUSED,
        HVMMEM_ioreq_server => HVMMEM_IOREQ_SERVER,
    );
    t.int("TRACE_EXTRA_MAX", TRACE_EXTRA_MAX as u64);
    typedef!(t, "hvmmem_type_t", HvmmemType);

    layout!(
        t,
        "struct xen_hvm_param",
        XenHvmParam {
            domid,
            pad,
            index,
            value
        }
    );
    layout!(
        t,
        "struct xen_hvm_pagetable_dying",
        XenHvmPagetableDying { domid, pad, gpa }
    );
    layout!(t, "struct xen_hvm_get_time", XenHvmGetTime { now });
    layout!(
        t,
        "struct xen_hvm_xentrace",
        XenHvmXentrace {
            event,
            extra_bytes,
            extra
        }
    );
    layout!(
        t,
        "struct xen_hvm_get_mem_type",
        XenHvmGetMemType {
            domid,
            mem_type,
            pad,
            pfn
        }
    );
    layout!(
        t,
        "struct xen_hvm_evtchn_upcall_vector",
        XenHvmEvtchnUpcallVector { vcpu, vector }
    );

    layout!(
        t,
        "struct xen_hvm_altp2m_suppress_ve",
        XenHvmAltp2mSuppressVe {
            view,
            suppress_ve,
            pad1,
            pad2,
            gfn
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_suppress_ve_multi",
        XenHvmAltp2mSuppressVeMulti {
            view,
            suppress_ve,
            pad1,
            first_error,
            first_gfn,
            last_gfn,
            first_error_gfn,
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_domain_state",
        XenHvmAltp2mDomainState { state }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_vcpu_enable_notify",
        XenHvmAltp2mVcpuEnableNotify { vcpu_id, pad, gfn }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_vcpu_disable_notify",
        XenHvmAltp2mVcpuDisableNotify { vcpu_id }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_view",
        XenHvmAltp2mView {
            view,
            hvmmem_default_access
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_mem_access",
        XenHvmAltp2mMemAccess {
            view,
            access,
            pad,
            gfn
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_set_mem_access_multi",
        XenHvmAltp2mSetMemAccessMulti {
            view,
            pad,
            nr,
            opaque,
            pfn_list,
            access_list,
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_change_gfn",
        XenHvmAltp2mChangeGfn {
            view,
            pad1,
            pad2,
            old_gfn,
            new_gfn
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_get_vcpu_p2m_idx",
        XenHvmAltp2mGetVcpuP2mIdx {
            vcpu_id,
            altp2m_idx
        }
    );
    layout!(
        t,
        "struct xen_hvm_altp2m_set_visibility",
        XenHvmAltp2mSetVisibility {
            altp2m_idx,
            visible,
            pad
        }
    );
    layout!(t, "struct xen_hvm_altp2m_op", XenHvmAltp2mOp {
        version, cmd, domain, pad1, pad2, u, u.domain_state, u.enable_notify, u.view,
        u.mem_access, u.change_gfn, u.set_mem_access_multi, u.suppress_ve, u.suppress_ve_multi,
        u.disable_notify, u.get_vcpu_p2m_idx, u.set_visibility, u.pad,
    });
}
