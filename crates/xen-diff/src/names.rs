// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Readable names of the calls in a transcript, for divergence reports.

use xen_headers::xen::{
    HYPERVISOR_CONSOLE_IO, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP,
    HYPERVISOR_HVM_OP, HYPERVISOR_MEMORY_OP, HYPERVISOR_SCHED_OP, HYPERVISOR_VCPU_OP,
    HYPERVISOR_XEN_VERSION,
};

const EVTCHN: [&str; 14] = [
    "bind_interdomain",
    "bind_virq",
    "bind_pirq",
    "close",
    "send",
    "status",
    "alloc_unbound",
    "bind_ipi",
    "bind_vcpu",
    "unmask",
    "reset",
    "init_control",
    "expand_array",
    "set_priority",
];
const GNTTAB: [&str; 13] = [
    "map_grant_ref",
    "unmap_grant_ref",
    "setup_table",
    "dump_table",
    "transfer",
    "copy",
    "query_size",
    "unmap_and_replace",
    "set_version",
    "get_status_frames",
    "get_version",
    "swap_grant_ref",
    "cache_flush",
];
const SCHED: [&str; 8] = [
    "yield",
    "block",
    "shutdown",
    "poll",
    "remote_shutdown",
    "shutdown_code",
    "watchdog",
    "pin_override",
];
const VCPU: [&str; 14] = [
    "initialise",
    "up",
    "down",
    "is_up",
    "get_runstate_info",
    "register_runstate_memory_area",
    "set_periodic_timer",
    "stop_periodic_timer",
    "set_singleshot_timer",
    "stop_singleshot_timer",
    "register_vcpu_info",
    "send_nmi",
    "get_physid",
    "register_vcpu_time_memory_area",
];

const fn memory(cmd: usize) -> &'static str {
    match cmd {
        0 => "increase_reservation",
        1 => "decrease_reservation",
        3 => "current_reservation",
        4 => "maximum_reservation",
        6 => "populate_physmap",
        7 => "add_to_physmap",
        9 => "memory_map",
        15 => "remove_from_physmap",
        _ => "?",
    }
}

/// `op(command)` in Xen's spelling, e.g. `event_channel_op(send)`.
#[must_use]
pub fn call(op: u32, cmd: usize) -> String {
    let pick = |table: &[&'static str]| table.get(cmd).copied().unwrap_or("?");
    let (name, sub) = match op {
        HYPERVISOR_MEMORY_OP => (
            "memory_op",
            memory(cmd & xen_transcript::layout::MEMOP_CMD_MASK),
        ),
        HYPERVISOR_XEN_VERSION => (
            "xen_version",
            match cmd {
                0 => "version",
                1 => "extraversion",
                6 => "get_features",
                _ => "?",
            },
        ),
        HYPERVISOR_CONSOLE_IO => ("console_io", if cmd == 0 { "write" } else { "?" }),
        HYPERVISOR_GRANT_TABLE_OP => ("grant_table_op", pick(&GNTTAB)),
        HYPERVISOR_VCPU_OP => ("vcpu_op", pick(&VCPU)),
        HYPERVISOR_SCHED_OP => ("sched_op", pick(&SCHED)),
        HYPERVISOR_EVENT_CHANNEL_OP => ("event_channel_op", pick(&EVTCHN)),
        HYPERVISOR_HVM_OP => (
            "hvm_op",
            match cmd {
                0 => "set_param",
                1 => "get_param",
                9 => "pagetable_dying",
                23 => "set_evtchn_upcall_vector",
                _ => "?",
            },
        ),
        _ => return format!("hypercall {op}({cmd})"),
    };
    format!("{name}({sub})")
}
