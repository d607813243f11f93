// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/xen.h` and its x86 parts.

use super::{Table, consts, layout, typedef};
use xen_headers::xen::{
    ArchSharedInfo, ArchVcpuInfo, DomId, GuestHandle, SharedInfo, VcpuInfo, VcpuTimeInfo, XenPfn,
    XenUlong,
};

pub fn items(t: &mut Table) {
    t.int("__XEN_LATEST_INTERFACE_VERSION__", 0x0004_0e00);
    typedef!(t, "xen_ulong_t", XenUlong);
    typedef!(t, "xen_pfn_t", XenPfn);
    typedef!(t, "domid_t", DomId);
    typedef!(t, "XEN_GUEST_HANDLE(xen_pfn_t)", GuestHandle<XenPfn>);

    consts!(t, xen_headers::xen;
        __HYPERVISOR_set_trap_table => HYPERVISOR_SET_TRAP_TABLE,
        __HYPERVISOR_mmu_update => HYPERVISOR_MMU_UPDATE,
        __HYPERVISOR_set_gdt => HYPERVISOR_SET_GDT,
        __HYPERVISOR_stack_switch => HYPERVISOR_STACK_SWITCH,
        __HYPERVISOR_set_callbacks => HYPERVISOR_SET_CALLBACKS,
        __HYPERVISOR_fpu_taskswitch => HYPERVISOR_FPU_TASKSWITCH,
        __HYPERVISOR_sched_op_compat => HYPERVISOR_SCHED_OP_COMPAT,
        __HYPERVISOR_platform_op => HYPERVISOR_PLATFORM_OP,
        __HYPERVISOR_set_debugreg => HYPERVISOR_SET_DEBUGREG,
        __HYPERVISOR_get_debugreg => HYPERVISOR_GET_DEBUGREG,
        __HYPERVISOR_update_descriptor => HYPERVISOR_UPDATE_DESCRIPTOR,
        __HYPERVISOR_memory_op => HYPERVISOR_MEMORY_OP,
        __HYPERVISOR_multicall => HYPERVISOR_MULTICALL,
        __HYPERVISOR_update_va_mapping => HYPERVISOR_UPDATE_VA_MAPPING,
        __HYPERVISOR_set_timer_op => HYPERVISOR_SET_TIMER_OP,
        __HYPERVISOR_event_channel_op_compat => HYPERVISOR_EVENT_CHANNEL_OP_COMPAT,
        __HYPERVISOR_xen_version => HYPERVISOR_XEN_VERSION,
        __HYPERVISOR_console_io => HYPERVISOR_CONSOLE_IO,
        __HYPERVISOR_physdev_op_compat => HYPERVISOR_PHYSDEV_OP_COMPAT,
        __HYPERVISOR_grant_table_op => HYPERVISOR_GRANT_TABLE_OP,
        __HYPERVISOR_vm_assist => HYPERVISOR_VM_ASSIST,
        __HYPERVISOR_update_va_mapping_otherdomain => HYPERVISOR_UPDATE_VA_MAPPING_OTHERDOMAIN,
        __HYPERVISOR_iret => HYPERVISOR_IRET,
        __HYPERVISOR_vcpu_op => HYPERVISOR_VCPU_OP,
        __HYPERVISOR_set_segment_base => HYPERVISOR_SET_SEGMENT_BASE,
        __HYPERVISOR_mmuext_op => HYPERVISOR_MMUEXT_OP,
        __HYPERVISOR_xsm_op => HYPERVISOR_XSM_OP,
        __HYPERVISOR_nmi_op => HYPERVISOR_NMI_OP,
        __HYPERVISOR_sched_op => HYPERVISOR_SCHED_OP,
        __HYPERVISOR_callback_op => HYPERVISOR_CALLBACK_OP,
        __HYPERVISOR_xenoprof_op => HYPERVISOR_XENOPROF_OP,
        __HYPERVISOR_event_channel_op => HYPERVISOR_EVENT_CHANNEL_OP,
        __HYPERVISOR_physdev_op => HYPERVISOR_PHYSDEV_OP,
        __HYPERVISOR_hvm_op => HYPERVISOR_HVM_OP,
        __HYPERVISOR_sysctl => HYPERVISOR_SYSCTL,
        __HYPERVISOR_domctl => HYPERVISOR_DOMCTL,
        __HYPERVISOR_kexec_op => HYPERVISOR_KEXEC_OP,
        __HYPERVISOR_tmem_op => HYPERVISOR_TMEM_OP,
        __HYPERVISOR_argo_op => HYPERVISOR_ARGO_OP,
        __HYPERVISOR_xenpmu_op => HYPERVISOR_XENPMU_OP,
        __HYPERVISOR_dm_op => HYPERVISOR_DM_OP,
        __HYPERVISOR_hypfs_op => HYPERVISOR_HYPFS_OP,
        VIRQ_TIMER => VIRQ_TIMER,
        VIRQ_DEBUG => VIRQ_DEBUG,
        VIRQ_CONSOLE => VIRQ_CONSOLE,
        VIRQ_DOM_EXC => VIRQ_DOM_EXC,
        VIRQ_TBUF => VIRQ_TBUF,
        VIRQ_DEBUGGER => VIRQ_DEBUGGER,
        VIRQ_XENOPROF => VIRQ_XENOPROF,
        VIRQ_CON_RING => VIRQ_CON_RING,
        VIRQ_PCPU_STATE => VIRQ_PCPU_STATE,
        VIRQ_MEM_EVENT => VIRQ_MEM_EVENT,
        VIRQ_ARGO => VIRQ_ARGO,
        VIRQ_ENOMEM => VIRQ_ENOMEM,
        VIRQ_XENPMU => VIRQ_XENPMU,
        NR_VIRQS => NR_VIRQS,
        CONSOLEIO_write => CONSOLEIO_WRITE,
        CONSOLEIO_read => CONSOLEIO_READ,
        DOMID_FIRST_RESERVED => DOMID_FIRST_RESERVED,
        DOMID_SELF => DOMID_SELF,
        DOMID_IO => DOMID_IO,
        DOMID_XEN => DOMID_XEN,
        DOMID_COW => DOMID_COW,
        DOMID_INVALID => DOMID_INVALID,
        DOMID_IDLE => DOMID_IDLE,
        DOMID_MASK => DOMID_MASK,
        EVTCHN_2L_NR_CHANNELS => EVTCHN_2L_NR_CHANNELS,
        XEN_PVCLOCK_TSC_STABLE_BIT => XEN_PVCLOCK_TSC_STABLE_BIT,
        XEN_PVCLOCK_GUEST_STOPPED => XEN_PVCLOCK_GUEST_STOPPED,
    );
    t.int(
        "XEN_LEGACY_MAX_VCPUS",
        xen_headers::xen::XEN_LEGACY_MAX_VCPUS as u64,
    );
    t.int(
        "sizeof(xen_ulong_t) * 8",
        xen_headers::xen::XEN_ULONG_BITS as u64,
    );

    layout!(
        t,
        "struct vcpu_time_info",
        VcpuTimeInfo {
            version,
            pad0,
            tsc_timestamp,
            system_time,
            tsc_to_system_mul,
            tsc_shift,
            flags,
            pad1,
        }
    );
    layout!(t, "struct arch_vcpu_info", ArchVcpuInfo { cr2, pad });
    layout!(t, "struct vcpu_info", VcpuInfo {
        evtchn_upcall_pending, evtchn_upcall_mask, evtchn_pending_sel, arch, arch.cr2, arch.pad,
        time, time.version, time.system_time,
    });
    layout!(
        t,
        "struct arch_shared_info",
        ArchSharedInfo {
            max_pfn,
            pfn_to_mfn_frame_list_list,
            nmi_reason,
            p2m_cr3,
            p2m_vaddr,
            p2m_generation,
        }
    );
    layout!(t, "struct shared_info", SharedInfo {
        vcpu_info, evtchn_pending, evtchn_mask, wc_version, wc_sec, wc_nsec, wc_sec_hi, arch,
        arch.max_pfn, arch.p2m_generation,
    });
}
