// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/vcpu.h`.

use super::{Table, consts, layout, typedef};
use xen_headers::vcpu::{
    VcpuGetPhysid, VcpuRegisterRunstateMemoryArea, VcpuRegisterTimeMemoryArea,
    VcpuRegisterVcpuInfo, VcpuRunstateInfo, VcpuSetPeriodicTimer, VcpuSetSingleshotTimer,
    xen_vcpu_physid_to_x86_acpiid, xen_vcpu_physid_to_x86_apicid,
};
use xen_headers::xen::{GuestHandle, VcpuTimeInfo};

/// A physical id whose two halves differ, for the id-splitting macros.
const PHYSID: u64 = 0x8765_4321_0fed_cba9;

pub fn items(t: &mut Table) {
    consts!(t, xen_headers::vcpu;
        VCPUOP_initialise => VCPUOP_INITIALISE,
        VCPUOP_up => VCPUOP_UP,
        VCPUOP_down => VCPUOP_DOWN,
        VCPUOP_is_up => VCPUOP_IS_UP,
        VCPUOP_get_runstate_info => VCPUOP_GET_RUNSTATE_INFO,
        VCPUOP_register_runstate_memory_area => VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA,
        VCPUOP_set_periodic_timer => VCPUOP_SET_PERIODIC_TIMER,
        VCPUOP_stop_periodic_timer => VCPUOP_STOP_PERIODIC_TIMER,
        VCPUOP_set_singleshot_timer => VCPUOP_SET_SINGLESHOT_TIMER,
        VCPUOP_stop_singleshot_timer => VCPUOP_STOP_SINGLESHOT_TIMER,
        VCPUOP_register_vcpu_info => VCPUOP_REGISTER_VCPU_INFO,
        VCPUOP_send_nmi => VCPUOP_SEND_NMI,
        VCPUOP_get_physid => VCPUOP_GET_PHYSID,
        VCPUOP_register_vcpu_time_memory_area => VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA,
        RUNSTATE_running => RUNSTATE_RUNNING,
        RUNSTATE_runnable => RUNSTATE_RUNNABLE,
        RUNSTATE_blocked => RUNSTATE_BLOCKED,
        RUNSTATE_offline => RUNSTATE_OFFLINE,
        XEN_RUNSTATE_UPDATE => XEN_RUNSTATE_UPDATE,
        _VCPU_SSHOTTMR_future => _VCPU_SSHOTTMR_FUTURE,
        VCPU_SSHOTTMR_future => VCPU_SSHOTTMR_FUTURE,
    );
    t.int(
        format!("xen_vcpu_physid_to_x86_apicid({PHYSID:#x}ULL)"),
        xen_vcpu_physid_to_x86_apicid(PHYSID),
    );
    t.int(
        format!("xen_vcpu_physid_to_x86_acpiid({PHYSID:#x}ULL)"),
        xen_vcpu_physid_to_x86_acpiid(PHYSID),
    );

    typedef!(
        t,
        "XEN_GUEST_HANDLE(vcpu_runstate_info_t)",
        GuestHandle<VcpuRunstateInfo>
    );
    typedef!(
        t,
        "XEN_GUEST_HANDLE(vcpu_time_info_t)",
        GuestHandle<VcpuTimeInfo>
    );
    layout!(
        t,
        "struct vcpu_runstate_info",
        VcpuRunstateInfo {
            state,
            state_entry_time,
            time
        }
    );
    layout!(
        t,
        "struct vcpu_register_runstate_memory_area",
        VcpuRegisterRunstateMemoryArea {
            addr,
            addr.h,
            addr.v,
            addr.p
        }
    );
    layout!(
        t,
        "struct vcpu_set_periodic_timer",
        VcpuSetPeriodicTimer { period_ns }
    );
    layout!(
        t,
        "struct vcpu_set_singleshot_timer",
        VcpuSetSingleshotTimer {
            timeout_abs_ns,
            flags
        }
    );
    layout!(
        t,
        "struct vcpu_register_vcpu_info",
        VcpuRegisterVcpuInfo { mfn, offset, rsvd }
    );
    layout!(t, "struct vcpu_get_physid", VcpuGetPhysid { phys_id });
    layout!(
        t,
        "struct vcpu_register_time_memory_area",
        VcpuRegisterTimeMemoryArea {
            addr,
            addr.h,
            addr.v,
            addr.p
        }
    );
}
