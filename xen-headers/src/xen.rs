// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/xen.h` with the x86 parts it pulls in (`arch-x86/xen.h`, `arch-x86/xen-x86_64.h`):
//! hypercall numbers, VIRQs, domain ids, guest handles, `vcpu_info` and `shared_info`.

use core::marker::PhantomData;
use core::ptr;

/// `xen_ulong_t`: a machine word in the hypercall ABI (64-bit on x86_64 and x64 Windows).
pub type XenUlong = u64;
/// `xen_pfn_t`: a guest (or machine) page frame number.
pub type XenPfn = u64;
/// `domid_t`: a domain identifier.
pub type DomId = u16;

/// `XEN_GUEST_HANDLE(type)`: on x86 a struct holding one pointer into guest memory.
///
/// The pointer is passed to Xen as-is; Xen reads or writes through it only for the duration of
/// the hypercall that carries it.
#[repr(transparent)]
#[derive(Debug, PartialEq, Eq)]
pub struct GuestHandle<T> {
    /// The guest virtual address.
    pub p: *mut T,
    _marker: PhantomData<T>,
}

impl<T> GuestHandle<T> {
    /// A handle pointing at `p`.
    #[must_use]
    pub const fn new(p: *mut T) -> Self {
        Self {
            p,
            _marker: PhantomData,
        }
    }

    /// A null handle (`set_xen_guest_handle(h, NULL)`).
    #[must_use]
    pub const fn null() -> Self {
        Self::new(ptr::null_mut())
    }
}

impl<T> Clone for GuestHandle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for GuestHandle<T> {}

impl<T> Default for GuestHandle<T> {
    fn default() -> Self {
        Self::null()
    }
}

// Hypercall numbers (`__HYPERVISOR_*`).

/// `__HYPERVISOR_set_trap_table`.
pub const HYPERVISOR_SET_TRAP_TABLE: u32 = 0;
/// `__HYPERVISOR_mmu_update`.
pub const HYPERVISOR_MMU_UPDATE: u32 = 1;
/// `__HYPERVISOR_set_gdt`.
pub const HYPERVISOR_SET_GDT: u32 = 2;
/// `__HYPERVISOR_stack_switch`.
pub const HYPERVISOR_STACK_SWITCH: u32 = 3;
/// `__HYPERVISOR_set_callbacks`.
pub const HYPERVISOR_SET_CALLBACKS: u32 = 4;
/// `__HYPERVISOR_fpu_taskswitch`.
pub const HYPERVISOR_FPU_TASKSWITCH: u32 = 5;
/// `__HYPERVISOR_sched_op_compat`.
pub const HYPERVISOR_SCHED_OP_COMPAT: u32 = 6;
/// `__HYPERVISOR_platform_op`.
pub const HYPERVISOR_PLATFORM_OP: u32 = 7;
/// `__HYPERVISOR_set_debugreg`.
pub const HYPERVISOR_SET_DEBUGREG: u32 = 8;
/// `__HYPERVISOR_get_debugreg`.
pub const HYPERVISOR_GET_DEBUGREG: u32 = 9;
/// `__HYPERVISOR_update_descriptor`.
pub const HYPERVISOR_UPDATE_DESCRIPTOR: u32 = 10;
/// `__HYPERVISOR_memory_op`.
pub const HYPERVISOR_MEMORY_OP: u32 = 12;
/// `__HYPERVISOR_multicall`.
pub const HYPERVISOR_MULTICALL: u32 = 13;
/// `__HYPERVISOR_update_va_mapping`.
pub const HYPERVISOR_UPDATE_VA_MAPPING: u32 = 14;
/// `__HYPERVISOR_set_timer_op`.
pub const HYPERVISOR_SET_TIMER_OP: u32 = 15;
/// `__HYPERVISOR_event_channel_op_compat`.
pub const HYPERVISOR_EVENT_CHANNEL_OP_COMPAT: u32 = 16;
/// `__HYPERVISOR_xen_version`.
pub const HYPERVISOR_XEN_VERSION: u32 = 17;
/// `__HYPERVISOR_console_io`.
pub const HYPERVISOR_CONSOLE_IO: u32 = 18;
/// `__HYPERVISOR_physdev_op_compat`.
pub const HYPERVISOR_PHYSDEV_OP_COMPAT: u32 = 19;
/// `__HYPERVISOR_grant_table_op`.
pub const HYPERVISOR_GRANT_TABLE_OP: u32 = 20;
/// `__HYPERVISOR_vm_assist`.
pub const HYPERVISOR_VM_ASSIST: u32 = 21;
/// `__HYPERVISOR_update_va_mapping_otherdomain`.
pub const HYPERVISOR_UPDATE_VA_MAPPING_OTHERDOMAIN: u32 = 22;
/// `__HYPERVISOR_iret`.
pub const HYPERVISOR_IRET: u32 = 23;
/// `__HYPERVISOR_vcpu_op`.
pub const HYPERVISOR_VCPU_OP: u32 = 24;
/// `__HYPERVISOR_set_segment_base`.
pub const HYPERVISOR_SET_SEGMENT_BASE: u32 = 25;
/// `__HYPERVISOR_mmuext_op`.
pub const HYPERVISOR_MMUEXT_OP: u32 = 26;
/// `__HYPERVISOR_xsm_op`.
pub const HYPERVISOR_XSM_OP: u32 = 27;
/// `__HYPERVISOR_nmi_op`.
pub const HYPERVISOR_NMI_OP: u32 = 28;
/// `__HYPERVISOR_sched_op`.
pub const HYPERVISOR_SCHED_OP: u32 = 29;
/// `__HYPERVISOR_callback_op`.
pub const HYPERVISOR_CALLBACK_OP: u32 = 30;
/// `__HYPERVISOR_xenoprof_op`.
pub const HYPERVISOR_XENOPROF_OP: u32 = 31;
/// `__HYPERVISOR_event_channel_op`.
pub const HYPERVISOR_EVENT_CHANNEL_OP: u32 = 32;
/// `__HYPERVISOR_physdev_op`.
pub const HYPERVISOR_PHYSDEV_OP: u32 = 33;
/// `__HYPERVISOR_hvm_op`.
pub const HYPERVISOR_HVM_OP: u32 = 34;
/// `__HYPERVISOR_sysctl`.
pub const HYPERVISOR_SYSCTL: u32 = 35;
/// `__HYPERVISOR_domctl`.
pub const HYPERVISOR_DOMCTL: u32 = 36;
/// `__HYPERVISOR_kexec_op`.
pub const HYPERVISOR_KEXEC_OP: u32 = 37;
/// `__HYPERVISOR_tmem_op`.
pub const HYPERVISOR_TMEM_OP: u32 = 38;
/// `__HYPERVISOR_argo_op`.
pub const HYPERVISOR_ARGO_OP: u32 = 39;
/// `__HYPERVISOR_xenpmu_op`.
pub const HYPERVISOR_XENPMU_OP: u32 = 40;
/// `__HYPERVISOR_dm_op`.
pub const HYPERVISOR_DM_OP: u32 = 41;
/// `__HYPERVISOR_hypfs_op`.
pub const HYPERVISOR_HYPFS_OP: u32 = 42;

// Virtual interrupts (`VIRQ_*`).

/// `VIRQ_TIMER`: per-vCPU timebase update or requested timeout.
pub const VIRQ_TIMER: u32 = 0;
/// `VIRQ_DEBUG`: per-vCPU request to dump debug information.
pub const VIRQ_DEBUG: u32 = 1;
/// `VIRQ_CONSOLE`: bytes received on the emergency console (dom0).
pub const VIRQ_CONSOLE: u32 = 2;
/// `VIRQ_DOM_EXC`: exceptional event for some domain (dom0).
pub const VIRQ_DOM_EXC: u32 = 3;
/// `VIRQ_TBUF`: trace buffer records available (dom0).
pub const VIRQ_TBUF: u32 = 4;
/// `VIRQ_DEBUGGER`: a domain paused for debugging (dom0).
pub const VIRQ_DEBUGGER: u32 = 6;
/// `VIRQ_XENOPROF`: profiling sample available.
pub const VIRQ_XENOPROF: u32 = 7;
/// `VIRQ_CON_RING`: bytes received on the console ring (dom0).
pub const VIRQ_CON_RING: u32 = 8;
/// `VIRQ_PCPU_STATE`: physical CPU state changed (dom0).
pub const VIRQ_PCPU_STATE: u32 = 9;
/// `VIRQ_MEM_EVENT`: a memory event occurred (dom0).
pub const VIRQ_MEM_EVENT: u32 = 10;
/// `VIRQ_ARGO`: Argo message notification.
pub const VIRQ_ARGO: u32 = 11;
/// `VIRQ_ENOMEM`: Xen is low on heap memory (dom0).
pub const VIRQ_ENOMEM: u32 = 12;
/// `VIRQ_XENPMU`: performance counter interrupt.
pub const VIRQ_XENPMU: u32 = 13;
/// `NR_VIRQS`: number of virtual interrupts.
pub const NR_VIRQS: u32 = 24;

// `HYPERVISOR_console_io` commands.

/// `CONSOLEIO_write`.
pub const CONSOLEIO_WRITE: u32 = 0;
/// `CONSOLEIO_read`.
pub const CONSOLEIO_READ: u32 = 1;

// Domain identifiers.

/// `DOMID_FIRST_RESERVED`: the first domid that names no real domain.
pub const DOMID_FIRST_RESERVED: DomId = 0x7FF0;
/// `DOMID_SELF`: the calling domain.
pub const DOMID_SELF: DomId = 0x7FF0;
/// `DOMID_IO`: I/O memory owner.
pub const DOMID_IO: DomId = 0x7FF1;
/// `DOMID_XEN`: Xen's own pages.
pub const DOMID_XEN: DomId = 0x7FF2;
/// `DOMID_COW`: copy-on-write pages.
pub const DOMID_COW: DomId = 0x7FF3;
/// `DOMID_INVALID`: no domain.
pub const DOMID_INVALID: DomId = 0x7FF4;
/// `DOMID_IDLE`: the idle domain.
pub const DOMID_IDLE: DomId = 0x7FFF;
/// `DOMID_MASK`: mask of valid domid bits.
pub const DOMID_MASK: DomId = 0x7FFF;

// Sizes.

/// `XEN_LEGACY_MAX_VCPUS`: vCPUs whose `vcpu_info` lives in `shared_info` (x86).
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;
/// `MAX_VIRT_CPUS`: the old name of [`XEN_LEGACY_MAX_VCPUS`], which upstream XenBus uses (the
/// 4.17 public headers no longer define it, so it is checked through the new name).
pub const MAX_VIRT_CPUS: usize = XEN_LEGACY_MAX_VCPUS;
/// Bits in an `xen_ulong_t`: the 2-level event channel word size.
pub const XEN_ULONG_BITS: usize = 64;
/// `EVTCHN_2L_NR_CHANNELS` (also `NR_EVENT_CHANNELS`): ports the 2-level ABI can name.
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;

// `vcpu_time_info.flags`.

/// `XEN_PVCLOCK_TSC_STABLE_BIT`.
pub const XEN_PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// `XEN_PVCLOCK_GUEST_STOPPED`.
pub const XEN_PVCLOCK_GUEST_STOPPED: u8 = 1 << 1;

/// `struct vcpu_time_info`: the per-vCPU paravirtual clock (32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuTimeInfo {
    /// Odd while Xen updates the record (seqlock).
    pub version: u32,
    /// Padding.
    pub pad0: u32,
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// Nanoseconds since boot at the last update.
    pub system_time: u64,
    /// TSC to nanoseconds multiplier (32.32 fixed point).
    pub tsc_to_system_mul: u32,
    /// TSC shift applied before the multiplication.
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` flags.
    pub flags: u8,
    /// Padding.
    pub pad1: [u8; 2],
}

/// `struct arch_vcpu_info` (x86_64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchVcpuInfo {
    /// Faulting address of the last page fault (PV only).
    pub cr2: u64,
    /// Padding to keep `vcpu_info` at 64 bytes.
    pub pad: u64,
}

/// `struct vcpu_info`: per-vCPU event and time state shared with Xen (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuInfo {
    /// Set by Xen when an event is pending for this vCPU.
    pub evtchn_upcall_pending: u8,
    /// Non-zero masks upcalls to this vCPU.
    pub evtchn_upcall_mask: u8,
    /// 2-level ABI: one bit per `xen_ulong_t` word of `evtchn_pending` with pending events.
    pub evtchn_pending_sel: XenUlong,
    /// Architecture-specific part.
    pub arch: ArchVcpuInfo,
    /// The paravirtual clock.
    pub time: VcpuTimeInfo,
}

/// `struct arch_shared_info` (x86_64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArchSharedInfo {
    /// Valid entries in the p2m table.
    pub max_pfn: u64,
    /// Frame of the p2m frame-list list.
    pub pfn_to_mfn_frame_list_list: XenPfn,
    /// NMI reason bits.
    pub nmi_reason: u64,
    /// Root of the address space holding the linear p2m list.
    pub p2m_cr3: u64,
    /// Virtual address of the linear p2m list.
    pub p2m_vaddr: u64,
    /// Incremented around p2m updates.
    pub p2m_generation: u64,
}

/// `struct shared_info`: the page Xen shares with every domain.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedInfo {
    /// Per-vCPU records of the first [`XEN_LEGACY_MAX_VCPUS`] vCPUs.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// 2-level ABI pending bitmap.
    pub evtchn_pending: [XenUlong; XEN_ULONG_BITS],
    /// 2-level ABI mask bitmap.
    pub evtchn_mask: [XenUlong; XEN_ULONG_BITS],
    /// Wallclock seqlock version.
    pub wc_version: u32,
    /// Wallclock seconds since the epoch at system time 0 (low 32 bits).
    pub wc_sec: u32,
    /// Wallclock nanoseconds.
    pub wc_nsec: u32,
    /// Wallclock seconds, high 32 bits.
    pub wc_sec_hi: u32,
    /// Architecture-specific part.
    pub arch: ArchSharedInfo,
}

impl Default for SharedInfo {
    fn default() -> Self {
        Self {
            vcpu_info: [VcpuInfo::default(); XEN_LEGACY_MAX_VCPUS],
            evtchn_pending: [0; XEN_ULONG_BITS],
            evtchn_mask: [0; XEN_ULONG_BITS],
            wc_version: 0,
            wc_sec: 0,
            wc_nsec: 0,
            wc_sec_hi: 0,
            arch: ArchSharedInfo::default(),
        }
    }
}

const _: () = assert!(size_of::<VcpuInfo>() == 64);
const _: () = assert!(size_of::<SharedInfo>() <= 4096);
