// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! TODO(xen-headers): a stand-in for the xen-headers modules that are not filled in yet
//! (event_channel, grant_table, memory, sched, vcpu, version, hvm). Same names and layouts as
//! Xen 4.17's public headers; to be deleted, and every `crate::abi::` replaced by
//! `xen_headers::`, once those modules land.

#![allow(missing_docs, clippy::missing_docs_in_private_items)]

pub mod event_channel {
    pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
    pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
    pub const EVTCHNOP_CLOSE: u32 = 3;
    pub const EVTCHNOP_SEND: u32 = 4;
    pub const EVTCHNOP_STATUS: u32 = 5;
    pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
    pub const EVTCHNOP_BIND_IPI: u32 = 7;
    pub const EVTCHNOP_BIND_VCPU: u32 = 8;
    pub const EVTCHNOP_UNMASK: u32 = 9;
    pub const EVTCHNOP_RESET: u32 = 10;
    pub const EVTCHNOP_INIT_CONTROL: u32 = 11;
    pub const EVTCHNOP_EXPAND_ARRAY: u32 = 12;
    pub const EVTCHNOP_SET_PRIORITY: u32 = 13;
    pub const EVTCHNSTAT_CLOSED: u32 = 0;
    pub const EVTCHNSTAT_UNBOUND: u32 = 1;
    pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
    pub const EVTCHNSTAT_PIRQ: u32 = 3;
    pub const EVTCHNSTAT_VIRQ: u32 = 4;
    pub const EVTCHNSTAT_IPI: u32 = 5;
    pub const EVTCHN_FIFO_PRIORITY_DEFAULT: u32 = 7;
    pub const EVTCHN_FIFO_PRIORITY_MIN: u32 = 15;
    pub const EVTCHN_FIFO_PENDING: u32 = 31;
    pub const EVTCHN_FIFO_MASKED: u32 = 30;
    pub const EVTCHN_FIFO_LINKED: u32 = 29;
    pub const EVTCHN_FIFO_BUSY: u32 = 28;
    pub const EVTCHN_FIFO_LINK_BITS: u32 = 17;
    pub const EVTCHN_FIFO_MAX_QUEUES: usize = 16;

    use crate::abi::DomId;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnAllocUnbound {
        pub dom: DomId,
        pub remote_dom: DomId,
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnBindInterdomain {
        pub remote_dom: DomId,
        pub remote_port: u32,
        pub local_port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnBindVirq {
        pub virq: u32,
        pub vcpu: u32,
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnBindIpi {
        pub vcpu: u32,
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnClose {
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnSend {
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnStatusUnbound {
        pub dom: DomId,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnStatusInterdomain {
        pub dom: DomId,
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union EvtchnStatusU {
        pub unbound: EvtchnStatusUnbound,
        pub interdomain: EvtchnStatusInterdomain,
        pub pirq: u32,
        pub virq: u32,
    }
    impl Default for EvtchnStatusU {
        fn default() -> Self {
            Self {
                interdomain: EvtchnStatusInterdomain::default(),
            }
        }
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct EvtchnStatus {
        pub dom: DomId,
        pub port: u32,
        pub status: u32,
        pub vcpu: u32,
        pub u: EvtchnStatusU,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnBindVcpu {
        pub port: u32,
        pub vcpu: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnUnmask {
        pub port: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnReset {
        pub dom: DomId,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnInitControl {
        pub control_gfn: u64,
        pub offset: u32,
        pub vcpu: u32,
        pub link_bits: u8,
        pub pad: [u8; 7],
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnExpandArray {
        pub array_gfn: u64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnSetPriority {
        pub port: u32,
        pub priority: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct EvtchnFifoControlBlock {
        pub ready: u32,
        pub rsvd: u32,
        pub head: [u32; EVTCHN_FIFO_MAX_QUEUES],
    }
}

pub mod grant_table {
    use crate::abi::{DomId, GuestHandle};

    pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
    pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
    pub const GNTTABOP_SETUP_TABLE: u32 = 2;
    pub const GNTTABOP_COPY: u32 = 5;
    pub const GNTTABOP_QUERY_SIZE: u32 = 6;
    pub const GNTTABOP_SET_VERSION: u32 = 8;
    pub const GNTTABOP_GET_VERSION: u32 = 10;
    pub const GNTMAP_HOST_MAP: u32 = 1 << 1;
    pub const GNTMAP_READONLY: u32 = 1 << 2;
    pub const GNTCOPY_SOURCE_GREF: u16 = 1 << 0;
    pub const GNTCOPY_DEST_GREF: u16 = 1 << 1;
    pub const GTF_PERMIT_ACCESS: u16 = 1;
    pub const GTF_READONLY: u16 = 1 << 2;
    pub const GNTTAB_NR_RESERVED_ENTRIES: u32 = 8;
    pub const GNTST_OKAY: i16 = 0;
    pub const GNTST_GENERAL_ERROR: i16 = -1;
    pub const GNTST_BAD_DOMAIN: i16 = -2;
    pub const GNTST_BAD_GNTREF: i16 = -3;
    pub const GNTST_BAD_HANDLE: i16 = -4;
    pub const GNTST_PERMISSION_DENIED: i16 = -8;
    pub const GNTST_BAD_COPY_ARG: i16 = -10;
    pub const GNTST_EAGAIN: i16 = -12;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct GrantEntryV1 {
        pub flags: u16,
        pub domid: DomId,
        pub frame: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct GnttabMapGrantRef {
        pub host_addr: u64,
        pub flags: u32,
        pub ref_: u32,
        pub dom: DomId,
        pub status: i16,
        pub handle: u32,
        pub dev_bus_addr: u64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct GnttabUnmapGrantRef {
        pub host_addr: u64,
        pub dev_bus_addr: u64,
        pub handle: u32,
        pub status: i16,
    }
    #[repr(C)]
    #[derive(Debug)]
    pub struct GnttabSetupTable {
        pub dom: DomId,
        pub nr_frames: u32,
        pub status: i16,
        pub frame_list: GuestHandle<u64>,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union GnttabCopyPtrU {
        pub ref_: u32,
        pub gmfn: u64,
    }
    impl Default for GnttabCopyPtrU {
        fn default() -> Self {
            Self { gmfn: 0 }
        }
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct GnttabCopyPtr {
        pub u: GnttabCopyPtrU,
        pub domid: DomId,
        pub offset: u16,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct GnttabCopy {
        pub source: GnttabCopyPtr,
        pub dest: GnttabCopyPtr,
        pub len: u16,
        pub flags: u16,
        pub status: i16,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct GnttabQuerySize {
        pub dom: DomId,
        pub nr_frames: u32,
        pub max_nr_frames: u32,
        pub status: i16,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct GnttabSetVersion {
        pub version: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct GnttabGetVersion {
        pub dom: DomId,
        pub pad: u16,
        pub version: u32,
    }
}

pub mod memory {
    use crate::abi::{DomId, GuestHandle};

    pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
    pub const XENMEM_CURRENT_RESERVATION: u32 = 3;
    pub const XENMEM_MAXIMUM_RESERVATION: u32 = 4;
    pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;
    pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
    pub const XENMEM_REMOVE_FROM_PHYSMAP: u32 = 15;
    pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
    pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;

    #[repr(C)]
    #[derive(Debug)]
    pub struct XenMemoryReservation {
        pub extent_start: GuestHandle<u64>,
        pub nr_extents: u64,
        pub extent_order: u32,
        pub mem_flags: u32,
        pub domid: DomId,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct XenAddToPhysmap {
        pub domid: DomId,
        pub size: u16,
        pub space: u32,
        pub idx: u64,
        pub gpfn: u64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct XenRemoveFromPhysmap {
        pub domid: DomId,
        pub gpfn: u64,
    }
}

pub mod sched {
    use crate::abi::GuestHandle;

    pub const SCHEDOP_YIELD: u32 = 0;
    pub const SCHEDOP_BLOCK: u32 = 1;
    pub const SCHEDOP_SHUTDOWN: u32 = 2;
    pub const SCHEDOP_POLL: u32 = 3;
    pub const SCHEDOP_SHUTDOWN_CODE: u32 = 5;
    pub const SCHEDOP_WATCHDOG: u32 = 6;
    pub const SHUTDOWN_POWEROFF: u32 = 0;
    pub const SHUTDOWN_REBOOT: u32 = 1;
    pub const SHUTDOWN_SUSPEND: u32 = 2;
    pub const SHUTDOWN_CRASH: u32 = 3;
    pub const SHUTDOWN_WATCHDOG: u32 = 4;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct SchedShutdown {
        pub reason: u32,
    }
    #[repr(C)]
    #[derive(Debug)]
    pub struct SchedPoll {
        pub ports: GuestHandle<u32>,
        pub nr_ports: u32,
        pub timeout: u64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct SchedWatchdog {
        pub id: u32,
        pub timeout: u32,
    }
}

pub mod vcpu {
    pub const VCPUOP_INITIALISE: u32 = 0;
    pub const VCPUOP_UP: u32 = 1;
    pub const VCPUOP_DOWN: u32 = 2;
    pub const VCPUOP_IS_UP: u32 = 3;
    pub const VCPUOP_SET_PERIODIC_TIMER: u32 = 6;
    pub const VCPUOP_STOP_PERIODIC_TIMER: u32 = 7;
    pub const VCPUOP_SET_SINGLESHOT_TIMER: u32 = 8;
    pub const VCPUOP_STOP_SINGLESHOT_TIMER: u32 = 9;
    pub const VCPUOP_REGISTER_VCPU_INFO: u32 = 10;
    pub const VCPU_SSHOTTMR_FUTURE: u32 = 1;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct VcpuSetPeriodicTimer {
        pub period_ns: u64,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct VcpuSetSingleshotTimer {
        pub timeout_abs_ns: u64,
        pub flags: u32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct VcpuRegisterVcpuInfo {
        pub mfn: u64,
        pub offset: u32,
        pub rsvd: u32,
    }
}

pub mod version {
    pub const XENVER_VERSION: u32 = 0;
    pub const XENVER_EXTRAVERSION: u32 = 1;
    pub const XENVER_GET_FEATURES: u32 = 6;
    pub const XEN_EXTRAVERSION_LEN: usize = 16;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default)]
    pub struct XenFeatureInfo {
        pub submap_idx: u32,
        pub submap: u32,
    }
}

pub mod features {
    pub const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
    pub const XENFEAT_HVM_CALLBACK_VECTOR: u32 = 8;
    pub const XENFEAT_HVM_SAFE_PVCLOCK: u32 = 9;
    pub const XENFEAT_DOM0: u32 = 11;
}

pub mod hvm {
    pub mod hvm_op {
        use crate::abi::DomId;

        pub const HVMOP_SET_PARAM: u32 = 0;
        pub const HVMOP_GET_PARAM: u32 = 1;
        pub const HVMOP_PAGETABLE_DYING: u32 = 9;
        pub const HVMOP_SET_EVTCHN_UPCALL_VECTOR: u32 = 23;

        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct XenHvmParam {
            pub domid: DomId,
            pub pad: u16,
            pub index: u32,
            pub value: u64,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct XenHvmPagetableDying {
            pub domid: DomId,
            pub pad: [u16; 3],
            pub gpa: u64,
        }
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct XenHvmEvtchnUpcallVector {
            pub vcpu: u32,
            pub vector: u8,
        }
    }
    pub mod params {
        pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
        pub const HVM_PARAM_STORE_PFN: u32 = 1;
        pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
        pub const HVM_PARAM_PAE_ENABLED: u32 = 4;
        pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;
        pub const HVM_NR_PARAMS: u32 = 39;
    }
}

pub use xen_headers::xen::{DomId, GuestHandle};
