// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Which hypercall argument points to guest memory, and how much of it a call reads or writes:
//! the per-(op, command) size table, from the `xen-headers` structures.
//!
//! A call has at most one argument structure (its *main* region) and at most one guest handle
//! inside that structure (its *nested* region: extent lists, frame lists, poll port lists).
//! Calls this table does not know are recorded with their registers only.

use core::mem::size_of;
use xen_headers::event_channel::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VCPU,
    EVTCHNOP_BIND_VIRQ, EVTCHNOP_CLOSE, EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL,
    EVTCHNOP_RESET, EVTCHNOP_SEND, EVTCHNOP_SET_PRIORITY, EVTCHNOP_STATUS, EVTCHNOP_UNMASK,
    EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindVcpu, EvtchnBindVirq,
    EvtchnClose, EvtchnExpandArray, EvtchnInitControl, EvtchnReset, EvtchnSend, EvtchnSetPriority,
    EvtchnStatus, EvtchnUnmask,
};
use xen_headers::grant_table::{
    GNTTABOP_COPY, GNTTABOP_GET_VERSION, GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE,
    GNTTABOP_SET_VERSION, GNTTABOP_SETUP_TABLE, GNTTABOP_UNMAP_GRANT_REF, GnttabCopy,
    GnttabGetVersion, GnttabMapGrantRef, GnttabQuerySize, GnttabSetVersion, GnttabSetupTable,
    GnttabUnmapGrantRef,
};
use xen_headers::hvm::hvm_op::{
    HVMOP_GET_PARAM, HVMOP_PAGETABLE_DYING, HVMOP_SET_EVTCHN_UPCALL_VECTOR, HVMOP_SET_PARAM,
    XenHvmEvtchnUpcallVector, XenHvmPagetableDying, XenHvmParam,
};
use xen_headers::memory::{
    XENMEM_ADD_TO_PHYSMAP, XENMEM_CURRENT_RESERVATION, XENMEM_DECREASE_RESERVATION,
    XENMEM_INCREASE_RESERVATION, XENMEM_MAXIMUM_RESERVATION, XENMEM_POPULATE_PHYSMAP,
    XENMEM_REMOVE_FROM_PHYSMAP, XenAddToPhysmap, XenMemoryReservation, XenRemoveFromPhysmap,
};
use xen_headers::sched::{
    SCHEDOP_POLL, SCHEDOP_SHUTDOWN, SCHEDOP_SHUTDOWN_CODE, SCHEDOP_WATCHDOG, SchedPoll,
    SchedShutdown, SchedWatchdog,
};
use xen_headers::vcpu::{
    VCPUOP_INITIALISE, VCPUOP_REGISTER_VCPU_INFO, VCPUOP_SET_PERIODIC_TIMER,
    VCPUOP_SET_SINGLESHOT_TIMER, VcpuRegisterVcpuInfo, VcpuSetPeriodicTimer,
    VcpuSetSingleshotTimer,
};
use xen_headers::version::{
    XEN_EXTRAVERSION_LEN, XENVER_EXTRAVERSION, XENVER_GET_FEATURES, XenFeatureInfo,
};
use xen_headers::xen::{
    CONSOLEIO_WRITE, DomId, HYPERVISOR_CONSOLE_IO, HYPERVISOR_EVENT_CHANNEL_OP,
    HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_HVM_OP, HYPERVISOR_MEMORY_OP, HYPERVISOR_SCHED_OP,
    HYPERVISOR_VCPU_OP, HYPERVISOR_XEN_VERSION,
};

/// `MEMOP_CMD_MASK`: the command bits of `XENMEM_*` (the rest is the continuation's start
/// extent).
pub const MEMOP_CMD_MASK: usize = 0x3f;
/// The largest region recorded; longer ones are not recorded (the record says so).
pub const MAX_REGION: usize = 1 << 16;
/// `sizeof(struct vcpu_hvm_context)`, the argument of `VCPUOP_initialise` for PVH vCPUs.
///
/// `crates/xen` defines the structure (`xen::vcpu::VcpuHvmContext`); xen-diff checks that the
/// two agree.
pub const VCPU_HVM_CONTEXT_SIZE: usize = 128;

/// A guest buffer one argument register points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// The argument register (0-based) holding its address.
    pub arg: usize,
    /// Its length in bytes.
    pub len: usize,
}

/// An array a guest handle inside the main region points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nested {
    /// Byte offset of the 8-byte handle in the main region.
    pub handle_at: usize,
    /// The array's length in bytes.
    pub len: usize,
}

/// The command a hypercall's first argument carries, as the simulator counts it.
#[must_use]
pub const fn command(op: u32, args: &[usize; 5]) -> usize {
    if op == HYPERVISOR_MEMORY_OP {
        args[0] & MEMOP_CMD_MASK
    } else {
        args[0]
    }
}

fn cmd_is(args: &[usize; 5], cmd: u32) -> bool {
    usize::try_from(cmd).is_ok_and(|c| c == args[0])
}

fn times(count: usize, size: usize) -> Option<usize> {
    count.checked_mul(size).filter(|&n| n <= MAX_REGION)
}

/// The main region of a call, if it has one the table knows.
#[must_use]
pub fn main_region(op: u32, args: &[usize; 5]) -> Option<Region> {
    let at1 = |len: usize| Some(Region { arg: 1, len });
    match op {
        HYPERVISOR_CONSOLE_IO if cmd_is(args, CONSOLEIO_WRITE) => Some(Region {
            arg: 2,
            len: args[1].min(MAX_REGION),
        }),
        HYPERVISOR_XEN_VERSION => {
            if cmd_is(args, XENVER_EXTRAVERSION) {
                at1(XEN_EXTRAVERSION_LEN)
            } else if cmd_is(args, XENVER_GET_FEATURES) {
                at1(size_of::<XenFeatureInfo>())
            } else {
                None
            }
        }
        HYPERVISOR_MEMORY_OP => memory_region(command(op, args)),
        HYPERVISOR_HVM_OP => {
            if cmd_is(args, HVMOP_SET_PARAM) || cmd_is(args, HVMOP_GET_PARAM) {
                at1(size_of::<XenHvmParam>())
            } else if cmd_is(args, HVMOP_PAGETABLE_DYING) {
                at1(size_of::<XenHvmPagetableDying>())
            } else if cmd_is(args, HVMOP_SET_EVTCHN_UPCALL_VECTOR) {
                at1(size_of::<XenHvmEvtchnUpcallVector>())
            } else {
                None
            }
        }
        HYPERVISOR_EVENT_CHANNEL_OP => evtchn_size(args[0]).and_then(at1),
        HYPERVISOR_SCHED_OP => {
            if cmd_is(args, SCHEDOP_SHUTDOWN) || cmd_is(args, SCHEDOP_SHUTDOWN_CODE) {
                at1(size_of::<SchedShutdown>())
            } else if cmd_is(args, SCHEDOP_POLL) {
                at1(size_of::<SchedPoll>())
            } else if cmd_is(args, SCHEDOP_WATCHDOG) {
                at1(size_of::<SchedWatchdog>())
            } else {
                None
            }
        }
        HYPERVISOR_VCPU_OP => {
            let len = if cmd_is(args, VCPUOP_INITIALISE) {
                VCPU_HVM_CONTEXT_SIZE
            } else if cmd_is(args, VCPUOP_SET_PERIODIC_TIMER) {
                size_of::<VcpuSetPeriodicTimer>()
            } else if cmd_is(args, VCPUOP_SET_SINGLESHOT_TIMER) {
                size_of::<VcpuSetSingleshotTimer>()
            } else if cmd_is(args, VCPUOP_REGISTER_VCPU_INFO) {
                size_of::<VcpuRegisterVcpuInfo>()
            } else {
                return None;
            };
            Some(Region { arg: 2, len })
        }
        HYPERVISOR_GRANT_TABLE_OP => {
            let size = gnttab_size(args[0])?;
            Some(Region {
                arg: 1,
                len: times(args[2], size)?,
            })
        }
        _ => None,
    }
}

fn memory_region(cmd: usize) -> Option<Region> {
    let is = |c: u32| usize::try_from(c).is_ok_and(|c| c == cmd);
    let len = if is(XENMEM_ADD_TO_PHYSMAP) {
        size_of::<XenAddToPhysmap>()
    } else if is(XENMEM_REMOVE_FROM_PHYSMAP) {
        size_of::<XenRemoveFromPhysmap>()
    } else if is(XENMEM_CURRENT_RESERVATION) || is(XENMEM_MAXIMUM_RESERVATION) {
        size_of::<DomId>()
    } else if is(XENMEM_INCREASE_RESERVATION)
        || is(XENMEM_DECREASE_RESERVATION)
        || is(XENMEM_POPULATE_PHYSMAP)
    {
        size_of::<XenMemoryReservation>()
    } else {
        return None;
    };
    Some(Region { arg: 1, len })
}

fn evtchn_size(cmd: usize) -> Option<usize> {
    let table: [(u32, usize); 13] = [
        (EVTCHNOP_ALLOC_UNBOUND, size_of::<EvtchnAllocUnbound>()),
        (
            EVTCHNOP_BIND_INTERDOMAIN,
            size_of::<EvtchnBindInterdomain>(),
        ),
        (EVTCHNOP_BIND_VIRQ, size_of::<EvtchnBindVirq>()),
        (EVTCHNOP_BIND_IPI, size_of::<EvtchnBindIpi>()),
        (EVTCHNOP_CLOSE, size_of::<EvtchnClose>()),
        (EVTCHNOP_SEND, size_of::<EvtchnSend>()),
        (EVTCHNOP_STATUS, size_of::<EvtchnStatus>()),
        (EVTCHNOP_BIND_VCPU, size_of::<EvtchnBindVcpu>()),
        (EVTCHNOP_UNMASK, size_of::<EvtchnUnmask>()),
        (EVTCHNOP_RESET, size_of::<EvtchnReset>()),
        (EVTCHNOP_INIT_CONTROL, size_of::<EvtchnInitControl>()),
        (EVTCHNOP_EXPAND_ARRAY, size_of::<EvtchnExpandArray>()),
        (EVTCHNOP_SET_PRIORITY, size_of::<EvtchnSetPriority>()),
    ];
    lookup(&table, cmd)
}

fn gnttab_size(cmd: usize) -> Option<usize> {
    let table: [(u32, usize); 7] = [
        (GNTTABOP_MAP_GRANT_REF, size_of::<GnttabMapGrantRef>()),
        (GNTTABOP_UNMAP_GRANT_REF, size_of::<GnttabUnmapGrantRef>()),
        (GNTTABOP_SETUP_TABLE, size_of::<GnttabSetupTable>()),
        (GNTTABOP_COPY, size_of::<GnttabCopy>()),
        (GNTTABOP_QUERY_SIZE, size_of::<GnttabQuerySize>()),
        (GNTTABOP_SET_VERSION, size_of::<GnttabSetVersion>()),
        (GNTTABOP_GET_VERSION, size_of::<GnttabGetVersion>()),
    ];
    lookup(&table, cmd)
}

fn lookup(table: &[(u32, usize)], cmd: usize) -> Option<usize> {
    table
        .iter()
        .find(|&&(c, _)| usize::try_from(c).is_ok_and(|c| c == cmd))
        .map(|&(_, size)| size)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(raw)).ok()
}

fn u64_at(bytes: &[u8], at: usize) -> Option<usize> {
    let raw: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    usize::try_from(u64::from_le_bytes(raw)).ok()
}

/// The array a guest handle in the main region points to: extents of a reservation, the frame
/// list of `setup_table` (one structure only), the ports of `SCHEDOP_poll`.
#[must_use]
pub fn nested_region(op: u32, args: &[usize; 5], main: &[u8]) -> Option<Nested> {
    let (handle_at, len) = match op {
        HYPERVISOR_MEMORY_OP => {
            let cmd = command(op, args);
            let is = |c: u32| usize::try_from(c).is_ok_and(|c| c == cmd);
            if !(is(XENMEM_INCREASE_RESERVATION)
                || is(XENMEM_DECREASE_RESERVATION)
                || is(XENMEM_POPULATE_PHYSMAP))
            {
                return None;
            }
            // extent_start at 0, nr_extents at 8, elements are xen_pfn_t.
            (0, times(u64_at(main, 8)?, 8)?)
        }
        HYPERVISOR_GRANT_TABLE_OP if cmd_is(args, GNTTABOP_SETUP_TABLE) && args[2] == 1 => {
            // nr_frames at 4, frame_list at 16, elements are xen_pfn_t.
            (16, times(u32_at(main, 4)?, 8)?)
        }
        HYPERVISOR_SCHED_OP if cmd_is(args, SCHEDOP_POLL) => {
            // ports at 0, nr_ports at 8, elements are evtchn_port_t.
            (0, times(u32_at(main, 8)?, 4)?)
        }
        _ => return None,
    };
    Some(Nested { handle_at, len })
}

/// The guest address stored in the handle of `nested` within `main`.
#[must_use]
pub fn handle_address(main: &[u8], nested: Nested) -> Option<usize> {
    u64_at(main, nested.handle_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evtchn_ops_point_at_their_structure() {
        let args = [EVTCHNOP_STATUS as usize, 0x1000, 0, 0, 0];
        assert_eq!(
            main_region(HYPERVISOR_EVENT_CHANNEL_OP, &args),
            Some(Region { arg: 1, len: 24 })
        );
    }

    #[test]
    fn grant_ops_cover_count_structures() {
        let args = [GNTTABOP_COPY as usize, 0x1000, 3, 0, 0];
        assert_eq!(
            main_region(HYPERVISOR_GRANT_TABLE_OP, &args),
            Some(Region { arg: 1, len: 120 })
        );
    }

    #[test]
    fn console_write_covers_the_text() {
        let args = [CONSOLEIO_WRITE as usize, 42, 0x2000, 0, 0];
        assert_eq!(
            main_region(HYPERVISOR_CONSOLE_IO, &args),
            Some(Region { arg: 2, len: 42 })
        );
    }

    #[test]
    fn reservation_extents_are_nested() {
        let args = [XENMEM_POPULATE_PHYSMAP as usize, 0x1000, 0, 0, 0];
        let mut main = [0_u8; 32];
        main[..8].copy_from_slice(&0x5000_u64.to_le_bytes());
        main[8..16].copy_from_slice(&3_u64.to_le_bytes());
        let nested = nested_region(HYPERVISOR_MEMORY_OP, &args, &main);
        assert_eq!(
            nested,
            Some(Nested {
                handle_at: 0,
                len: 24
            })
        );
        assert_eq!(handle_address(&main, nested.unwrap()), Some(0x5000));
    }

    #[test]
    fn memory_op_continuation_bits_are_not_the_command() {
        let args = [
            (5 << 6) | XENMEM_CURRENT_RESERVATION as usize,
            0x1000,
            0,
            0,
            0,
        ];
        assert_eq!(
            main_region(HYPERVISOR_MEMORY_OP, &args),
            Some(Region { arg: 1, len: 2 })
        );
    }

    #[test]
    fn absurd_counts_are_not_recorded() {
        let args = [GNTTABOP_COPY as usize, 0x1000, usize::MAX, 0, 0];
        assert_eq!(main_region(HYPERVISOR_GRANT_TABLE_OP, &args), None);
    }

    #[test]
    fn unknown_calls_have_no_region() {
        assert_eq!(main_region(HYPERVISOR_SCHED_OP, &[0; 5]), None);
        assert_eq!(main_region(9999, &[0; 5]), None);
    }
}
