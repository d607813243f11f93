// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/hvm_op.h`: the `HYPERVISOR_hvm_op` sub-operations (`HVMOP_*`) and their argument
//! structures, including the alternate-p2m (`HVMOP_altp2m`) interface.
//!
//! Every operation is `HYPERVISOR_hvm_op(cmd, arg)` and takes the structure named after it
//! ([`HVMOP_SET_PARAM`] takes a [`XenHvmParam`]). The parameter indices and values for
//! [`HVMOP_SET_PARAM`] and [`HVMOP_GET_PARAM`] are in [`super::params`].
//!
//! Left out, because the header defines them only for old interface versions or for Xen and its
//! tools: `HVMOP_set_pci_intx_level`, `HVMOP_set_isa_irq_level`, `HVMOP_set_pci_link_route`
//! (before 0x00040900), `xen_hvm_altp2m_set_mem_access` (before 0x00040a00),
//! `HVMOP_set_mem_access`, `HVMOP_get_mem_access` and `HVM_IOREQSRV_BUFIOREQ_*` (tools only).

use core::fmt;

use crate::xen::{DomId, GuestHandle};

// Operations.

/// `HVMOP_set_param`: set an HVM parameter ([`XenHvmParam`]).
pub const HVMOP_SET_PARAM: u32 = 0;
/// `HVMOP_get_param`: read an HVM parameter ([`XenHvmParam`]).
pub const HVMOP_GET_PARAM: u32 = 1;
/// `HVMOP_flush_tlbs`: flush the TLBs of every vCPU of the calling domain (argument null).
pub const HVMOP_FLUSH_TLBS: u32 = 5;
/// `HVMOP_pagetable_dying`: hint that a top-level page table is about to be freed
/// ([`XenHvmPagetableDying`]).
pub const HVMOP_PAGETABLE_DYING: u32 = 9;
/// `HVMOP_get_time`: the current system time ([`XenHvmGetTime`]).
pub const HVMOP_GET_TIME: u32 = 10;
/// `HVMOP_xentrace`: emit a trace record ([`XenHvmXentrace`]).
pub const HVMOP_XENTRACE: u32 = 11;
/// `HVMOP_get_mem_type`: the `HVMMEM_*` type of a guest page ([`XenHvmGetMemType`]).
pub const HVMOP_GET_MEM_TYPE: u32 = 15;
/// `HVMOP_set_evtchn_upcall_vector`: deliver a vCPU's event upcall on its own local APIC
/// vector ([`XenHvmEvtchnUpcallVector`]; x86 only).
pub const HVMOP_SET_EVTCHN_UPCALL_VECTOR: u32 = 23;
/// `HVMOP_guest_request_vm_event`: raise a guest-requested VM event to a monitor (argument
/// null).
pub const HVMOP_GUEST_REQUEST_VM_EVENT: u32 = 24;
/// `HVMOP_altp2m`: alternate-p2m operations ([`XenHvmAltp2mOp`]).
pub const HVMOP_ALTP2M: u32 = 25;

/// `struct xen_hvm_param`: the argument of [`HVMOP_SET_PARAM`] and [`HVMOP_GET_PARAM`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmParam {
    /// IN: the domain (`DOMID_SELF`).
    pub domid: DomId,
    /// Padding.
    pub pad: u16,
    /// IN: the parameter (`HVM_PARAM_*`).
    pub index: u32,
    /// IN for set, OUT for get: the value.
    pub value: u64,
}

// Memory types (`hvmmem_type_t`).

/// `hvmmem_type_t`: the type of a guest page (`HVMMEM_*`), a C enum.
pub type HvmmemType = u32;
/// `HVMMEM_ram_rw`: normal read/write RAM.
pub const HVMMEM_RAM_RW: HvmmemType = 0;
/// `HVMMEM_ram_ro`: read-only RAM; writes are discarded.
pub const HVMMEM_RAM_RO: HvmmemType = 1;
/// `HVMMEM_mmio_dm`: reads and writes go to the device model.
pub const HVMMEM_MMIO_DM: HvmmemType = 2;
/// `HVMMEM_unused`: placeholder (was `HVMMEM_mmio_write_dm` before interface 0x00040700).
pub const HVMMEM_UNUSED: HvmmemType = 3;
/// `HVMMEM_ioreq_server`: claimed by an ioreq server.
pub const HVMMEM_IOREQ_SERVER: HvmmemType = 4;

/// `struct xen_hvm_pagetable_dying`: the argument of [`HVMOP_PAGETABLE_DYING`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmPagetableDying {
    /// The domain (`DOMID_SELF`).
    pub domid: DomId,
    /// Padding, aligning `gpa`.
    pub pad: [u16; 3],
    /// Guest physical address of the top-level page table about to be freed.
    pub gpa: u64,
}

/// `struct xen_hvm_get_time`: the argument of [`HVMOP_GET_TIME`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmGetTime {
    /// OUT: the current system time (ns).
    pub now: u64,
}

/// `TRACE_EXTRA_MAX` (from `public/trace.h`, which `hvm_op.h` includes): the most 32-bit words
/// of extra data a trace record carries.
pub const TRACE_EXTRA_MAX: usize = 7;

/// `struct xen_hvm_xentrace`: the argument of [`HVMOP_XENTRACE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmXentrace {
    /// The trace event number.
    pub event: u16,
    /// How many bytes of `extra` are used.
    pub extra_bytes: u16,
    /// The event's data.
    pub extra: [u8; TRACE_EXTRA_MAX * 4],
}

/// `struct xen_hvm_get_mem_type`: the argument of [`HVMOP_GET_MEM_TYPE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmGetMemType {
    /// IN: the domain to query.
    pub domid: DomId,
    /// OUT: the page's `HVMMEM_*` type.
    pub mem_type: u16,
    /// Padding, aligning `pfn`.
    pub pad: [u16; 2],
    /// IN: the guest frame to query.
    pub pfn: u64,
}

/// `struct xen_hvm_evtchn_upcall_vector`: the argument of
/// [`HVMOP_SET_EVTCHN_UPCALL_VECTOR`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmEvtchnUpcallVector {
    /// The vCPU whose upcall is redirected.
    pub vcpu: u32,
    /// The local APIC vector; 0 clears it.
    pub vector: u8,
}

// Alternate p2m (`HVMOP_altp2m`).

/// `HVMOP_ALTP2M_INTERFACE_VERSION`: [`XenHvmAltp2mOp::version`].
pub const HVMOP_ALTP2M_INTERFACE_VERSION: u32 = 0x0000_0001;

/// `HVMOP_altp2m_get_domain_state`: read whether altp2m is active
/// ([`XenHvmAltp2mDomainState`]).
pub const HVMOP_ALTP2M_GET_DOMAIN_STATE: u32 = 1;
/// `HVMOP_altp2m_set_domain_state`: turn altp2m on or off ([`XenHvmAltp2mDomainState`]).
pub const HVMOP_ALTP2M_SET_DOMAIN_STATE: u32 = 2;
/// `HVMOP_altp2m_vcpu_enable_notify`: set a vCPU's `#VE` information page
/// ([`XenHvmAltp2mVcpuEnableNotify`]).
pub const HVMOP_ALTP2M_VCPU_ENABLE_NOTIFY: u32 = 3;
/// `HVMOP_altp2m_create_p2m`: create a view ([`XenHvmAltp2mView`]).
pub const HVMOP_ALTP2M_CREATE_P2M: u32 = 4;
/// `HVMOP_altp2m_destroy_p2m`: destroy a view ([`XenHvmAltp2mView`]).
pub const HVMOP_ALTP2M_DESTROY_P2M: u32 = 5;
/// `HVMOP_altp2m_switch_p2m`: switch every vCPU to a view ([`XenHvmAltp2mView`]).
pub const HVMOP_ALTP2M_SWITCH_P2M: u32 = 6;
/// `HVMOP_altp2m_set_mem_access`: set one page's access in a view ([`XenHvmAltp2mMemAccess`]).
pub const HVMOP_ALTP2M_SET_MEM_ACCESS: u32 = 7;
/// `HVMOP_altp2m_change_gfn`: remap a page within a view ([`XenHvmAltp2mChangeGfn`]).
pub const HVMOP_ALTP2M_CHANGE_GFN: u32 = 8;
/// `HVMOP_altp2m_set_mem_access_multi`: set many pages' access in a view
/// ([`XenHvmAltp2mSetMemAccessMulti`]).
pub const HVMOP_ALTP2M_SET_MEM_ACCESS_MULTI: u32 = 9;
/// `HVMOP_altp2m_set_suppress_ve`: set one page's `#VE` suppression
/// ([`XenHvmAltp2mSuppressVe`]).
pub const HVMOP_ALTP2M_SET_SUPPRESS_VE: u32 = 10;
/// `HVMOP_altp2m_get_suppress_ve`: read one page's `#VE` suppression
/// ([`XenHvmAltp2mSuppressVe`]).
pub const HVMOP_ALTP2M_GET_SUPPRESS_VE: u32 = 11;
/// `HVMOP_altp2m_get_mem_access`: read one page's access in a view ([`XenHvmAltp2mMemAccess`]).
pub const HVMOP_ALTP2M_GET_MEM_ACCESS: u32 = 12;
/// `HVMOP_altp2m_vcpu_disable_notify`: stop `#VE` for a vCPU
/// ([`XenHvmAltp2mVcpuDisableNotify`]).
pub const HVMOP_ALTP2M_VCPU_DISABLE_NOTIFY: u32 = 13;
/// `HVMOP_altp2m_get_p2m_idx`: the view a vCPU is using ([`XenHvmAltp2mGetVcpuP2mIdx`]).
pub const HVMOP_ALTP2M_GET_P2M_IDX: u32 = 14;
/// `HVMOP_altp2m_set_suppress_ve_multi`: set a range's `#VE` suppression
/// ([`XenHvmAltp2mSuppressVeMulti`]).
pub const HVMOP_ALTP2M_SET_SUPPRESS_VE_MULTI: u32 = 15;
/// `HVMOP_altp2m_set_visibility`: make a view visible to the guest or not
/// ([`XenHvmAltp2mSetVisibility`]).
pub const HVMOP_ALTP2M_SET_VISIBILITY: u32 = 16;

/// `struct xen_hvm_altp2m_suppress_ve`: one page's `#VE` suppression in a view.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mSuppressVe {
    /// The view.
    pub view: u16,
    /// Whether `#VE` is suppressed (boolean).
    pub suppress_ve: u8,
    /// Padding.
    pub pad1: u8,
    /// Padding.
    pub pad2: u32,
    /// The guest frame.
    pub gfn: u64,
}

/// `struct xen_hvm_altp2m_suppress_ve_multi`: a range's `#VE` suppression in a view.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mSuppressVeMulti {
    /// The view.
    pub view: u16,
    /// Whether `#VE` is suppressed (boolean).
    pub suppress_ve: u8,
    /// Padding.
    pub pad1: u8,
    /// OUT: the first error (set to 0 on input).
    pub first_error: i32,
    /// IN/OUT: the first frame of the range (advanced for continuations).
    pub first_gfn: u64,
    /// IN: the last frame of the range.
    pub last_gfn: u64,
    /// OUT: the frame of the first error.
    pub first_error_gfn: u64,
}

/// `struct xen_hvm_altp2m_domain_state`: whether altp2m is active for the domain.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mDomainState {
    /// IN or OUT: on (1) or off (0).
    pub state: u8,
}

/// `struct xen_hvm_altp2m_vcpu_enable_notify`: a vCPU's `#VE` information page.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mVcpuEnableNotify {
    /// The vCPU.
    pub vcpu_id: u32,
    /// Padding.
    pub pad: u32,
    /// The guest frame of the `#VE` information area.
    pub gfn: u64,
}

/// `struct xen_hvm_altp2m_vcpu_disable_notify`: the vCPU to stop `#VE` for.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mVcpuDisableNotify {
    /// The vCPU.
    pub vcpu_id: u32,
}

/// `struct xen_hvm_altp2m_view`: a view and its default access.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mView {
    /// IN/OUT: the view.
    pub view: u16,
    /// The default access of the view's pages (`xenmem_access_t`).
    pub hvmmem_default_access: u16,
}

/// `struct xen_hvm_altp2m_mem_access`: one page's access in a view.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mMemAccess {
    /// The view.
    pub view: u16,
    /// The access (`xenmem_access_t`).
    pub access: u16,
    /// Padding.
    pub pad: u32,
    /// The guest frame.
    pub gfn: u64,
}

/// `struct xen_hvm_altp2m_set_mem_access_multi`: many pages' access in a view.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mSetMemAccessMulti {
    /// The view.
    pub view: u16,
    /// Padding.
    pub pad: u16,
    /// How many pages.
    pub nr: u32,
    /// Continuation state; 0 on the first call.
    pub opaque: u64,
    /// The guest frames (`XEN_GUEST_HANDLE(const_uint64)`; Xen only reads it).
    pub pfn_list: GuestHandle<u64>,
    /// The access of each frame (`XEN_GUEST_HANDLE(const_uint8)`; Xen only reads it).
    pub access_list: GuestHandle<u8>,
}

/// `struct xen_hvm_altp2m_change_gfn`: remap a page within a view.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mChangeGfn {
    /// The view.
    pub view: u16,
    /// Padding.
    pub pad1: u16,
    /// Padding.
    pub pad2: u32,
    /// The frame to remap.
    pub old_gfn: u64,
    /// The frame it now shows; `INVALID_GFN` (all ones) reverts.
    pub new_gfn: u64,
}

/// `struct xen_hvm_altp2m_get_vcpu_p2m_idx`: the view a vCPU is using.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mGetVcpuP2mIdx {
    /// IN: the vCPU.
    pub vcpu_id: u32,
    /// OUT: its view.
    pub altp2m_idx: u16,
}

/// `struct xen_hvm_altp2m_set_visibility`: whether the guest may see a view.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XenHvmAltp2mSetVisibility {
    /// The view.
    pub altp2m_idx: u16,
    /// Whether it is visible (boolean).
    pub visible: u8,
    /// Padding.
    pub pad: u8,
}

/// The anonymous `union` `struct xen_hvm_altp2m_op.u`: the sub-operation's argument, selected
/// by [`XenHvmAltp2mOp::cmd`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenHvmAltp2mOpU {
    /// [`HVMOP_ALTP2M_GET_DOMAIN_STATE`], [`HVMOP_ALTP2M_SET_DOMAIN_STATE`].
    pub domain_state: XenHvmAltp2mDomainState,
    /// [`HVMOP_ALTP2M_VCPU_ENABLE_NOTIFY`].
    pub enable_notify: XenHvmAltp2mVcpuEnableNotify,
    /// [`HVMOP_ALTP2M_CREATE_P2M`], [`HVMOP_ALTP2M_DESTROY_P2M`], [`HVMOP_ALTP2M_SWITCH_P2M`].
    pub view: XenHvmAltp2mView,
    /// [`HVMOP_ALTP2M_SET_MEM_ACCESS`], [`HVMOP_ALTP2M_GET_MEM_ACCESS`].
    pub mem_access: XenHvmAltp2mMemAccess,
    /// [`HVMOP_ALTP2M_CHANGE_GFN`].
    pub change_gfn: XenHvmAltp2mChangeGfn,
    /// [`HVMOP_ALTP2M_SET_MEM_ACCESS_MULTI`].
    pub set_mem_access_multi: XenHvmAltp2mSetMemAccessMulti,
    /// [`HVMOP_ALTP2M_SET_SUPPRESS_VE`], [`HVMOP_ALTP2M_GET_SUPPRESS_VE`].
    pub suppress_ve: XenHvmAltp2mSuppressVe,
    /// [`HVMOP_ALTP2M_SET_SUPPRESS_VE_MULTI`].
    pub suppress_ve_multi: XenHvmAltp2mSuppressVeMulti,
    /// [`HVMOP_ALTP2M_VCPU_DISABLE_NOTIFY`].
    pub disable_notify: XenHvmAltp2mVcpuDisableNotify,
    /// [`HVMOP_ALTP2M_GET_P2M_IDX`].
    pub get_vcpu_p2m_idx: XenHvmAltp2mGetVcpuP2mIdx,
    /// [`HVMOP_ALTP2M_SET_VISIBILITY`].
    pub set_visibility: XenHvmAltp2mSetVisibility,
    /// The union's full size.
    pub pad: [u8; 64],
}

impl Default for XenHvmAltp2mOpU {
    /// All 64 bytes zero.
    fn default() -> Self {
        Self { pad: [0; 64] }
    }
}

impl fmt::Debug for XenHvmAltp2mOpU {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XenHvmAltp2mOpU").finish_non_exhaustive()
    }
}

/// `struct xen_hvm_altp2m_op`: the argument of [`HVMOP_ALTP2M`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XenHvmAltp2mOp {
    /// [`HVMOP_ALTP2M_INTERFACE_VERSION`].
    pub version: u32,
    /// `HVMOP_altp2m_*`.
    pub cmd: u32,
    /// The domain.
    pub domain: DomId,
    /// Padding.
    pub pad1: u16,
    /// Padding.
    pub pad2: u32,
    /// The sub-operation's argument.
    pub u: XenHvmAltp2mOpU,
}

const _: () = assert!(size_of::<XenHvmParam>() == 16);
const _: () = assert!(size_of::<XenHvmPagetableDying>() == 16);
const _: () = assert!(size_of::<XenHvmGetTime>() == 8);
const _: () = assert!(size_of::<XenHvmXentrace>() == 32);
const _: () = assert!(size_of::<XenHvmGetMemType>() == 16);
const _: () = assert!(size_of::<XenHvmEvtchnUpcallVector>() == 8);
const _: () = assert!(size_of::<XenHvmAltp2mOp>() == 80);
