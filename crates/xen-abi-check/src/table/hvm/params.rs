// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/params.h`.

use crate::table::{Table, consts};
use xen_headers::hvm::params::{
    HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT, hvm_param_callback_gsi, hvm_param_callback_irq_type,
    hvm_param_callback_pci_intx, hvm_param_callback_vector,
};

/// The C spelling of the type-field shift, derived from the header's mask.
const SHIFT: &str = "__builtin_ctzll(HVM_PARAM_CALLBACK_IRQ_TYPE_MASK)";

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::hvm::params;
        HVM_PARAM_CALLBACK_IRQ => HVM_PARAM_CALLBACK_IRQ,
        HVM_PARAM_CALLBACK_IRQ_TYPE_MASK => HVM_PARAM_CALLBACK_IRQ_TYPE_MASK,
        HVM_PARAM_CALLBACK_TYPE_GSI => HVM_PARAM_CALLBACK_TYPE_GSI,
        HVM_PARAM_CALLBACK_TYPE_PCI_INTX => HVM_PARAM_CALLBACK_TYPE_PCI_INTX,
        HVM_PARAM_CALLBACK_TYPE_VECTOR => HVM_PARAM_CALLBACK_TYPE_VECTOR,
        HVM_PARAM_STORE_PFN => HVM_PARAM_STORE_PFN,
        HVM_PARAM_STORE_EVTCHN => HVM_PARAM_STORE_EVTCHN,
        HVM_PARAM_IOREQ_PFN => HVM_PARAM_IOREQ_PFN,
        HVM_PARAM_BUFIOREQ_PFN => HVM_PARAM_BUFIOREQ_PFN,
        HVM_PARAM_VIRIDIAN => HVM_PARAM_VIRIDIAN,
        _HVMPV_base_freq => _HVMPV_BASE_FREQ,
        HVMPV_base_freq => HVMPV_BASE_FREQ,
        _HVMPV_no_freq => _HVMPV_NO_FREQ,
        HVMPV_no_freq => HVMPV_NO_FREQ,
        _HVMPV_time_ref_count => _HVMPV_TIME_REF_COUNT,
        HVMPV_time_ref_count => HVMPV_TIME_REF_COUNT,
        _HVMPV_reference_tsc => _HVMPV_REFERENCE_TSC,
        HVMPV_reference_tsc => HVMPV_REFERENCE_TSC,
        _HVMPV_hcall_remote_tlb_flush => _HVMPV_HCALL_REMOTE_TLB_FLUSH,
        HVMPV_hcall_remote_tlb_flush => HVMPV_HCALL_REMOTE_TLB_FLUSH,
        _HVMPV_apic_assist => _HVMPV_APIC_ASSIST,
        HVMPV_apic_assist => HVMPV_APIC_ASSIST,
        _HVMPV_crash_ctl => _HVMPV_CRASH_CTL,
        HVMPV_crash_ctl => HVMPV_CRASH_CTL,
        _HVMPV_synic => _HVMPV_SYNIC,
        HVMPV_synic => HVMPV_SYNIC,
        _HVMPV_stimer => _HVMPV_STIMER,
        HVMPV_stimer => HVMPV_STIMER,
        _HVMPV_hcall_ipi => _HVMPV_HCALL_IPI,
        HVMPV_hcall_ipi => HVMPV_HCALL_IPI,
        _HVMPV_ex_processor_masks => _HVMPV_EX_PROCESSOR_MASKS,
        HVMPV_ex_processor_masks => HVMPV_EX_PROCESSOR_MASKS,
        _HVMPV_no_vp_limit => _HVMPV_NO_VP_LIMIT,
        HVMPV_no_vp_limit => HVMPV_NO_VP_LIMIT,
        _HVMPV_cpu_hotplug => _HVMPV_CPU_HOTPLUG,
        HVMPV_cpu_hotplug => HVMPV_CPU_HOTPLUG,
        HVMPV_feature_mask => HVMPV_FEATURE_MASK,
        HVM_PARAM_TIMER_MODE => HVM_PARAM_TIMER_MODE,
        HVMPTM_delay_for_missed_ticks => HVMPTM_DELAY_FOR_MISSED_TICKS,
        HVMPTM_no_delay_for_missed_ticks => HVMPTM_NO_DELAY_FOR_MISSED_TICKS,
        HVMPTM_no_missed_ticks_pending => HVMPTM_NO_MISSED_TICKS_PENDING,
        HVMPTM_one_missed_tick_pending => HVMPTM_ONE_MISSED_TICK_PENDING,
        HVM_PARAM_HPET_ENABLED => HVM_PARAM_HPET_ENABLED,
        HVM_PARAM_IDENT_PT => HVM_PARAM_IDENT_PT,
        HVM_PARAM_ACPI_S_STATE => HVM_PARAM_ACPI_S_STATE,
        HVM_PARAM_VM86_TSS => HVM_PARAM_VM86_TSS,
        HVM_PARAM_VPT_ALIGN => HVM_PARAM_VPT_ALIGN,
        HVM_PARAM_CONSOLE_PFN => HVM_PARAM_CONSOLE_PFN,
        HVM_PARAM_CONSOLE_EVTCHN => HVM_PARAM_CONSOLE_EVTCHN,
        HVM_PARAM_ACPI_IOPORTS_LOCATION => HVM_PARAM_ACPI_IOPORTS_LOCATION,
        HVM_PARAM_PAGING_RING_PFN => HVM_PARAM_PAGING_RING_PFN,
        HVM_PARAM_MONITOR_RING_PFN => HVM_PARAM_MONITOR_RING_PFN,
        HVM_PARAM_SHARING_RING_PFN => HVM_PARAM_SHARING_RING_PFN,
        HVM_PARAM_TRIPLE_FAULT_REASON => HVM_PARAM_TRIPLE_FAULT_REASON,
        HVM_PARAM_IOREQ_SERVER_PFN => HVM_PARAM_IOREQ_SERVER_PFN,
        HVM_PARAM_NR_IOREQ_SERVER_PAGES => HVM_PARAM_NR_IOREQ_SERVER_PAGES,
        HVM_PARAM_VM_GENERATION_ID_ADDR => HVM_PARAM_VM_GENERATION_ID_ADDR,
        HVM_PARAM_ALTP2M => HVM_PARAM_ALTP2M,
        XEN_ALTP2M_disabled => XEN_ALTP2M_DISABLED,
        XEN_ALTP2M_mixed => XEN_ALTP2M_MIXED,
        XEN_ALTP2M_external => XEN_ALTP2M_EXTERNAL,
        XEN_ALTP2M_limited => XEN_ALTP2M_LIMITED,
        HVM_PARAM_X87_FIP_WIDTH => HVM_PARAM_X87_FIP_WIDTH,
        HVM_PARAM_VM86_TSS_SIZED => HVM_PARAM_VM86_TSS_SIZED,
        HVM_PARAM_MCA_CAP => HVM_PARAM_MCA_CAP,
        XEN_HVM_MCA_CAP_LMCE => XEN_HVM_MCA_CAP_LMCE,
        XEN_HVM_MCA_CAP_MASK => XEN_HVM_MCA_CAP_MASK,
        HVM_NR_PARAMS => HVM_NR_PARAMS,
    );

    // The callback-via encoding the header documents only in comments: type in bits 63:56 (the
    // mask), data below.
    t.int(SHIFT, HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT);
    t.int(
        format!("((uint64_t)HVM_PARAM_CALLBACK_TYPE_GSI << {SHIFT}) | 28"),
        hvm_param_callback_gsi(28),
    );
    t.int(
        format!(
            "((uint64_t)HVM_PARAM_CALLBACK_TYPE_PCI_INTX << {SHIFT}) | (0x1234ULL << 32) \
             | (0x56 << 16) | (0x78 << 8) | 3"
        ),
        hvm_param_callback_pci_intx(0x1234, 0x56, 0x78, 3),
    );
    t.int(
        format!("((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << {SHIFT}) | 0xf3"),
        hvm_param_callback_vector(0xf3),
    );
    t.int(
        format!(
            "(((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << {SHIFT} | 0xf3) \
             & HVM_PARAM_CALLBACK_IRQ_TYPE_MASK) >> {SHIFT}"
        ),
        hvm_param_callback_irq_type(hvm_param_callback_vector(0xf3)),
    );
}
