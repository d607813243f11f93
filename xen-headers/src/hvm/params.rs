// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/hvm/params.h`: the HVM parameters (`HVM_PARAM_*`) read and written with
//! `HVMOP_get_param` and `HVMOP_set_param`, and the values some of them take.
//!
//! Indices are `u32` ([`super::hvm_op::XenHvmParam::index`]); values, and the constants that
//! make them up, are `u64` ([`super::hvm_op::XenHvmParam::value`]).
//!
//! Left out: the deprecated parameters the header defines only for Xen and its tools
//! (`HVM_PARAM_PAE_ENABLED` 4, `HVM_PARAM_DM_DOMAIN` 13, `HVM_PARAM_MEMORY_EVENT_*` 20-23, 25
//! and 30, `HVM_PARAM_NESTEDHVM` 24, `HVM_PARAM_BUFIOREQ_EVTCHN` 26), whose meaning is
//! undefined for a guest, and the Arm-only `HVM_PARAM_CALLBACK_TYPE_PPI*`.

/// `HVM_PARAM_CALLBACK_IRQ`: how event-channel notifications for vCPU 0 are delivered.
///
/// 0 disables them; otherwise bits 63:56 hold an `HVM_PARAM_CALLBACK_TYPE_*` and bits 55:0 its
/// data (see [`hvm_param_callback_irq`]).
pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
/// `HVM_PARAM_CALLBACK_IRQ_TYPE_MASK`: the type field (bits 63:56) of an
/// [`HVM_PARAM_CALLBACK_IRQ`] value.
pub const HVM_PARAM_CALLBACK_IRQ_TYPE_MASK: u64 = 0xFF00_0000_0000_0000;
/// The position of the type field in an [`HVM_PARAM_CALLBACK_IRQ`] value (the header has no
/// name for it; it is the lowest bit of [`HVM_PARAM_CALLBACK_IRQ_TYPE_MASK`]).
pub const HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT: u32 = 56;

/// `HVM_PARAM_CALLBACK_TYPE_GSI`: deliver on a GSI, held in bits 55:0 (GSI 0 cannot be used: it
/// would make the whole value 0).
pub const HVM_PARAM_CALLBACK_TYPE_GSI: u64 = 0;
/// `HVM_PARAM_CALLBACK_TYPE_PCI_INTX`: deliver on a PCI `INTx` line: segment in bits 47:32, bus in
/// 31:16, devfn in 15:8, `INTx` (0 for INTA..3 for INTD) in 1:0.
pub const HVM_PARAM_CALLBACK_TYPE_PCI_INTX: u64 = 1;
/// `HVM_PARAM_CALLBACK_TYPE_VECTOR`: deliver on an IDT vector, held in bits 7:0 (x86 only;
/// available when `XENFEAT_hvm_callback_vector` is set).
pub const HVM_PARAM_CALLBACK_TYPE_VECTOR: u64 = 2;

/// An [`HVM_PARAM_CALLBACK_IRQ`] value: `type_` (`HVM_PARAM_CALLBACK_TYPE_*`) in bits 63:56 and
/// `data` (its low 56 bits) below.
#[must_use]
pub const fn hvm_param_callback_irq(type_: u64, data: u64) -> u64 {
    ((type_ << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) & HVM_PARAM_CALLBACK_IRQ_TYPE_MASK)
        | (data & !HVM_PARAM_CALLBACK_IRQ_TYPE_MASK)
}

/// The `HVM_PARAM_CALLBACK_TYPE_*` of an [`HVM_PARAM_CALLBACK_IRQ`] value.
#[must_use]
pub const fn hvm_param_callback_irq_type(value: u64) -> u64 {
    (value & HVM_PARAM_CALLBACK_IRQ_TYPE_MASK) >> HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT
}

/// An [`HVM_PARAM_CALLBACK_IRQ`] value delivering on GSI `gsi`
/// ([`HVM_PARAM_CALLBACK_TYPE_GSI`]; this is the plain GSI number).
#[must_use]
pub const fn hvm_param_callback_gsi(gsi: u32) -> u64 {
    hvm_param_callback_irq(HVM_PARAM_CALLBACK_TYPE_GSI, gsi as u64)
}

/// An [`HVM_PARAM_CALLBACK_IRQ`] value delivering on the `INTx` line `intx` (0 for INTA..3 for
/// INTD) of PCI function `segment:bus:devfn` ([`HVM_PARAM_CALLBACK_TYPE_PCI_INTX`]).
#[must_use]
pub const fn hvm_param_callback_pci_intx(segment: u16, bus: u8, devfn: u8, intx: u8) -> u64 {
    hvm_param_callback_irq(
        HVM_PARAM_CALLBACK_TYPE_PCI_INTX,
        ((segment as u64) << 32) | ((bus as u64) << 16) | ((devfn as u64) << 8) | (intx as u64 & 3),
    )
}

/// An [`HVM_PARAM_CALLBACK_IRQ`] value delivering on IDT vector `vector`
/// ([`HVM_PARAM_CALLBACK_TYPE_VECTOR`]).
#[must_use]
pub const fn hvm_param_callback_vector(vector: u8) -> u64 {
    hvm_param_callback_irq(HVM_PARAM_CALLBACK_TYPE_VECTOR, vector as u64)
}

/// `HVM_PARAM_STORE_PFN`: the guest frame of the xenstore ring page.
pub const HVM_PARAM_STORE_PFN: u32 = 1;
/// `HVM_PARAM_STORE_EVTCHN`: the event channel port of xenstore.
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
/// `HVM_PARAM_IOREQ_PFN`: the guest frame of the default ioreq server's synchronous page.
pub const HVM_PARAM_IOREQ_PFN: u32 = 5;
/// `HVM_PARAM_BUFIOREQ_PFN`: the guest frame of the default ioreq server's buffered page.
pub const HVM_PARAM_BUFIOREQ_PFN: u32 = 6;

// Viridian (Hyper-V) enlightenments.

/// `HVM_PARAM_VIRIDIAN`: the Viridian enlightenments exposed to the guest (a mask of
/// `HVMPV_*`; a valid mask includes [`HVMPV_BASE_FREQ`]). x86 only.
pub const HVM_PARAM_VIRIDIAN: u32 = 9;
/// `_HVMPV_base_freq`: bit number of [`HVMPV_BASE_FREQ`].
pub const _HVMPV_BASE_FREQ: u32 = 0;
/// `HVMPV_base_freq`: the base set (hypercall, APIC access and VP index MSRs) plus the timer
/// frequency MSRs.
pub const HVMPV_BASE_FREQ: u64 = 1 << _HVMPV_BASE_FREQ;
/// `_HVMPV_no_freq`: bit number of [`HVMPV_NO_FREQ`].
pub const _HVMPV_NO_FREQ: u32 = 1;
/// `HVMPV_no_freq`: hide the timer frequency MSRs (the pre-4.4 base set).
pub const HVMPV_NO_FREQ: u64 = 1 << _HVMPV_NO_FREQ;
/// `_HVMPV_time_ref_count`: bit number of [`HVMPV_TIME_REF_COUNT`].
pub const _HVMPV_TIME_REF_COUNT: u32 = 2;
/// `HVMPV_time_ref_count`: the partition reference counter (`HV_X64_MSR_TIME_REF_COUNT`).
pub const HVMPV_TIME_REF_COUNT: u64 = 1 << _HVMPV_TIME_REF_COUNT;
/// `_HVMPV_reference_tsc`: bit number of [`HVMPV_REFERENCE_TSC`].
pub const _HVMPV_REFERENCE_TSC: u32 = 3;
/// `HVMPV_reference_tsc`: the reference TSC page (`HV_X64_MSR_REFERENCE_TSC`).
pub const HVMPV_REFERENCE_TSC: u64 = 1 << _HVMPV_REFERENCE_TSC;
/// `_HVMPV_hcall_remote_tlb_flush`: bit number of [`HVMPV_HCALL_REMOTE_TLB_FLUSH`].
pub const _HVMPV_HCALL_REMOTE_TLB_FLUSH: u32 = 4;
/// `HVMPV_hcall_remote_tlb_flush`: remote TLB flush by hypercall.
pub const HVMPV_HCALL_REMOTE_TLB_FLUSH: u64 = 1 << _HVMPV_HCALL_REMOTE_TLB_FLUSH;
/// `_HVMPV_apic_assist`: bit number of [`HVMPV_APIC_ASSIST`].
pub const _HVMPV_APIC_ASSIST: u32 = 5;
/// `HVMPV_apic_assist`: APIC assist (EOI avoidance).
pub const HVMPV_APIC_ASSIST: u64 = 1 << _HVMPV_APIC_ASSIST;
/// `_HVMPV_crash_ctl`: bit number of [`HVMPV_CRASH_CTL`].
pub const _HVMPV_CRASH_CTL: u32 = 6;
/// `HVMPV_crash_ctl`: the crash MSRs.
pub const HVMPV_CRASH_CTL: u64 = 1 << _HVMPV_CRASH_CTL;
/// `_HVMPV_synic`: bit number of [`HVMPV_SYNIC`].
pub const _HVMPV_SYNIC: u32 = 7;
/// `HVMPV_synic`: the synthetic interrupt controller MSRs.
pub const HVMPV_SYNIC: u64 = 1 << _HVMPV_SYNIC;
/// `_HVMPV_stimer`: bit number of [`HVMPV_STIMER`].
pub const _HVMPV_STIMER: u32 = 8;
/// `HVMPV_stimer`: the synthetic timer MSRs.
pub const HVMPV_STIMER: u64 = 1 << _HVMPV_STIMER;
/// `_HVMPV_hcall_ipi`: bit number of [`HVMPV_HCALL_IPI`].
pub const _HVMPV_HCALL_IPI: u32 = 9;
/// `HVMPV_hcall_ipi`: the synthetic cluster IPI hypercall.
pub const HVMPV_HCALL_IPI: u64 = 1 << _HVMPV_HCALL_IPI;
/// `_HVMPV_ex_processor_masks`: bit number of [`HVMPV_EX_PROCESSOR_MASKS`].
pub const _HVMPV_EX_PROCESSOR_MASKS: u32 = 10;
/// `HVMPV_ex_processor_masks`: extended processor masks (`ExProcessorMasks`).
pub const HVMPV_EX_PROCESSOR_MASKS: u64 = 1 << _HVMPV_EX_PROCESSOR_MASKS;
/// `_HVMPV_no_vp_limit`: bit number of [`HVMPV_NO_VP_LIMIT`].
pub const _HVMPV_NO_VP_LIMIT: u32 = 11;
/// `HVMPV_no_vp_limit`: allow more than 64 virtual processors.
pub const HVMPV_NO_VP_LIMIT: u64 = 1 << _HVMPV_NO_VP_LIMIT;
/// `_HVMPV_cpu_hotplug`: bit number of [`HVMPV_CPU_HOTPLUG`].
pub const _HVMPV_CPU_HOTPLUG: u32 = 12;
/// `HVMPV_cpu_hotplug`: vCPU hot-plug.
pub const HVMPV_CPU_HOTPLUG: u64 = 1 << _HVMPV_CPU_HOTPLUG;
/// `HVMPV_feature_mask`: every `HVMPV_*` bit.
pub const HVMPV_FEATURE_MASK: u64 = HVMPV_BASE_FREQ
    | HVMPV_NO_FREQ
    | HVMPV_TIME_REF_COUNT
    | HVMPV_REFERENCE_TSC
    | HVMPV_HCALL_REMOTE_TLB_FLUSH
    | HVMPV_APIC_ASSIST
    | HVMPV_CRASH_CTL
    | HVMPV_SYNIC
    | HVMPV_STIMER
    | HVMPV_HCALL_IPI
    | HVMPV_EX_PROCESSOR_MASKS
    | HVMPV_NO_VP_LIMIT
    | HVMPV_CPU_HOTPLUG;

// Virtual timers.

/// `HVM_PARAM_TIMER_MODE`: how virtual timers treat ticks missed while a vCPU was descheduled
/// (`HVMPTM_*`).
pub const HVM_PARAM_TIMER_MODE: u32 = 10;
/// `HVMPTM_delay_for_missed_ticks`: deliver missed ticks later, holding guest time back until
/// they are (the default).
pub const HVMPTM_DELAY_FOR_MISSED_TICKS: u64 = 0;
/// `HVMPTM_no_delay_for_missed_ticks`: deliver missed ticks later; guest time tracks wall-clock
/// time.
pub const HVMPTM_NO_DELAY_FOR_MISSED_TICKS: u64 = 1;
/// `HVMPTM_no_missed_ticks_pending`: drop missed ticks.
pub const HVMPTM_NO_MISSED_TICKS_PENDING: u64 = 2;
/// `HVMPTM_one_missed_tick_pending`: collapse missed ticks into one late tick; guest time
/// tracks wall-clock time.
pub const HVMPTM_ONE_MISSED_TICK_PENDING: u64 = 3;

/// `HVM_PARAM_HPET_ENABLED`: whether the virtual HPET is present (boolean; x86 only).
pub const HVM_PARAM_HPET_ENABLED: u32 = 11;
/// `HVM_PARAM_IDENT_PT`: the identity-map page directory Intel EPT uses while `CR0.PG` is 0.
pub const HVM_PARAM_IDENT_PT: u32 = 12;
/// `HVM_PARAM_ACPI_S_STATE`: the ACPI sleep state (S0 or S3 on x86).
pub const HVM_PARAM_ACPI_S_STATE: u32 = 14;
/// `HVM_PARAM_VM86_TSS`: the TSS used on Intel while `CR0.PE` is 0.
pub const HVM_PARAM_VM86_TSS: u32 = 15;
/// `HVM_PARAM_VPT_ALIGN`: whether periodic virtual timers are aligned to reduce interrupts
/// (boolean).
pub const HVM_PARAM_VPT_ALIGN: u32 = 16;
/// `HVM_PARAM_CONSOLE_PFN`: the guest frame of the PV console ring page.
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
/// `HVM_PARAM_CONSOLE_EVTCHN`: the event channel port of the PV console.
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;
/// `HVM_PARAM_ACPI_IOPORTS_LOCATION`: where the ACPI `PM1a` and timer blocks are: 0 for the old
/// addresses (0x1f40...), 1 for QEMU's (0xb000...).
pub const HVM_PARAM_ACPI_IOPORTS_LOCATION: u32 = 19;
/// `HVM_PARAM_PAGING_RING_PFN`: the guest frame of the memory-paging event ring.
pub const HVM_PARAM_PAGING_RING_PFN: u32 = 27;
/// `HVM_PARAM_MONITOR_RING_PFN`: the guest frame of the monitor event ring.
pub const HVM_PARAM_MONITOR_RING_PFN: u32 = 28;
/// `HVM_PARAM_SHARING_RING_PFN`: the guest frame of the memory-sharing event ring.
pub const HVM_PARAM_SHARING_RING_PFN: u32 = 29;
/// `HVM_PARAM_TRIPLE_FAULT_REASON`: the `SHUTDOWN_*` reason a triple fault causes.
pub const HVM_PARAM_TRIPLE_FAULT_REASON: u32 = 31;
/// `HVM_PARAM_IOREQ_SERVER_PFN`: the first guest frame reserved for ioreq servers.
pub const HVM_PARAM_IOREQ_SERVER_PFN: u32 = 32;
/// `HVM_PARAM_NR_IOREQ_SERVER_PAGES`: how many frames are reserved for ioreq servers.
pub const HVM_PARAM_NR_IOREQ_SERVER_PAGES: u32 = 33;
/// `HVM_PARAM_VM_GENERATION_ID_ADDR`: the guest physical address of the VM generation id.
pub const HVM_PARAM_VM_GENERATION_ID_ADDR: u32 = 34;

/// `HVM_PARAM_ALTP2M`: the alternate-p2m mode (`XEN_ALTP2M_*`).
pub const HVM_PARAM_ALTP2M: u32 = 35;
/// `XEN_ALTP2M_disabled`: altp2m off (the default).
pub const XEN_ALTP2M_DISABLED: u64 = 0;
/// `XEN_ALTP2M_mixed`: every altp2m operation, for the guest and for external tools.
pub const XEN_ALTP2M_MIXED: u64 = 1;
/// `XEN_ALTP2M_external`: altp2m operations for external privileged tools only.
pub const XEN_ALTP2M_EXTERNAL: u64 = 2;
/// `XEN_ALTP2M_limited`: the guest controls only VMFUNC and `#VE`.
pub const XEN_ALTP2M_LIMITED: u64 = 3;

/// `HVM_PARAM_X87_FIP_WIDTH`: the size of the x87 FIP/FDP registers Xen saves and restores (8,
/// 4, or 0 to let Xen choose).
pub const HVM_PARAM_X87_FIP_WIDTH: u32 = 36;
/// `HVM_PARAM_VM86_TSS_SIZED`: the TSS used on Intel while `CR0.PE` is 0: address in bits 31:0,
/// size in bits 63:32.
pub const HVM_PARAM_VM86_TSS_SIZED: u32 = 37;

/// `HVM_PARAM_MCA_CAP`: the machine-check capabilities exposed (`XEN_HVM_MCA_CAP_*`).
pub const HVM_PARAM_MCA_CAP: u32 = 38;
/// `XEN_HVM_MCA_CAP_LMCE`: local machine-check exceptions.
pub const XEN_HVM_MCA_CAP_LMCE: u64 = 1 << 0;
/// `XEN_HVM_MCA_CAP_MASK`: every `XEN_HVM_MCA_CAP_*` bit.
pub const XEN_HVM_MCA_CAP_MASK: u64 = XEN_HVM_MCA_CAP_LMCE;

/// `HVM_NR_PARAMS`: the number of parameter indices (every index is below it).
pub const HVM_NR_PARAMS: u32 = 39;
