// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/vcpu.h`: the `HYPERVISOR_vcpu_op` sub-operations (`VCPUOP_*`) and their argument
//! structures: runstate, per-vCPU timers, `vcpu_info` placement and physical ids.
//!
//! Every operation is `HYPERVISOR_vcpu_op(cmd, vcpuid, arg)`. Left out: the argument of
//! [`VCPUOP_INITIALISE`] (`vcpu_guest_context` from `arch-x86/xen.h` for PV guests,
//! `vcpu_hvm_context` from `hvm/hvm_vcpu.h` for HVM guests), neither of which is in this header.

use core::fmt;

use crate::xen::{GuestHandle, VcpuTimeInfo};

// Operations.

/// `VCPUOP_initialise`: set up a not-yet-initialised vCPU's initial register state.
pub const VCPUOP_INITIALISE: u32 = 0;
/// `VCPUOP_up`: bring an initialised vCPU up (no argument).
pub const VCPUOP_UP: u32 = 1;
/// `VCPUOP_down`: bring a vCPU down (no argument).
pub const VCPUOP_DOWN: u32 = 2;
/// `VCPUOP_is_up`: whether a vCPU is up: the result is 1 or 0 (no argument).
pub const VCPUOP_IS_UP: u32 = 3;
/// `VCPUOP_get_runstate_info`: read a vCPU's runstate ([`VcpuRunstateInfo`]).
pub const VCPUOP_GET_RUNSTATE_INFO: u32 = 4;
/// `VCPUOP_register_runstate_memory_area`: have Xen keep a copy of the vCPU's runstate in guest
/// memory ([`VcpuRegisterRunstateMemoryArea`]).
pub const VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA: u32 = 5;
/// `VCPUOP_set_periodic_timer`: start the vCPU's periodic `VIRQ_TIMER`
/// ([`VcpuSetPeriodicTimer`]).
pub const VCPUOP_SET_PERIODIC_TIMER: u32 = 6;
/// `VCPUOP_stop_periodic_timer`: stop the periodic timer (no argument).
pub const VCPUOP_STOP_PERIODIC_TIMER: u32 = 7;
/// `VCPUOP_set_singleshot_timer`: arm the vCPU's one-shot `VIRQ_TIMER`
/// ([`VcpuSetSingleshotTimer`]).
pub const VCPUOP_SET_SINGLESHOT_TIMER: u32 = 8;
/// `VCPUOP_stop_singleshot_timer`: disarm the one-shot timer (no argument).
pub const VCPUOP_STOP_SINGLESHOT_TIMER: u32 = 9;
/// `VCPUOP_register_vcpu_info`: move the vCPU's `vcpu_info` into a guest page
/// ([`VcpuRegisterVcpuInfo`]). Must be issued on the vCPU it names.
pub const VCPUOP_REGISTER_VCPU_INFO: u32 = 10;
/// `VCPUOP_send_nmi`: send an NMI to a vCPU (no argument).
pub const VCPUOP_SEND_NMI: u32 = 11;
/// `VCPUOP_get_physid`: the physical id of the CPU under a vCPU (privileged;
/// [`VcpuGetPhysid`]).
pub const VCPUOP_GET_PHYSID: u32 = 12;
/// `VCPUOP_register_vcpu_time_memory_area`: have Xen keep a copy of the vCPU's time info in
/// guest memory ([`VcpuRegisterTimeMemoryArea`]).
pub const VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA: u32 = 13;

// Runstate.

/// `RUNSTATE_running`: the vCPU is running on a physical CPU.
pub const RUNSTATE_RUNNING: i32 = 0;
/// `RUNSTATE_runnable`: the vCPU is runnable but not running (waiting for a CPU).
pub const RUNSTATE_RUNNABLE: i32 = 1;
/// `RUNSTATE_blocked`: the vCPU is blocked (waiting for an event).
pub const RUNSTATE_BLOCKED: i32 = 2;
/// `RUNSTATE_offline`: the vCPU is offline or paused.
pub const RUNSTATE_OFFLINE: i32 = 3;

/// `XEN_RUNSTATE_UPDATE`: set in [`VcpuRunstateInfo::state_entry_time`] of a registered copy
/// while Xen updates it (with `VMASST_TYPE_runstate_update_flag`).
pub const XEN_RUNSTATE_UPDATE: u64 = 1 << 63;

/// `struct vcpu_runstate_info`: where a vCPU's time went ([`VCPUOP_GET_RUNSTATE_INFO`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuRunstateInfo {
    /// The current state (`RUNSTATE_*`).
    pub state: i32,
    /// System time (ns) at which `state` was entered; may carry [`XEN_RUNSTATE_UPDATE`].
    pub state_entry_time: u64,
    /// Time spent in each `RUNSTATE_*` (ns), indexed by state.
    pub time: [u64; 4],
}

/// The anonymous `union` `struct vcpu_register_runstate_memory_area.addr`: the guest virtual
/// address of a [`VcpuRunstateInfo`], however the caller likes to spell it.
#[repr(C)]
#[derive(Clone, Copy)]
pub union VcpuRegisterRunstateMemoryAreaAddr {
    /// As a guest handle.
    pub h: GuestHandle<VcpuRunstateInfo>,
    /// As a pointer.
    pub v: *mut VcpuRunstateInfo,
    /// As an integer.
    pub p: u64,
}

impl Default for VcpuRegisterRunstateMemoryAreaAddr {
    /// The null address.
    fn default() -> Self {
        Self { p: 0 }
    }
}

impl fmt::Debug for VcpuRegisterRunstateMemoryAreaAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VcpuRegisterRunstateMemoryAreaAddr")
            .finish_non_exhaustive()
    }
}

/// `struct vcpu_register_runstate_memory_area`: the argument of
/// [`VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VcpuRegisterRunstateMemoryArea {
    /// Where Xen keeps the copy (a guest virtual address; null unregisters).
    pub addr: VcpuRegisterRunstateMemoryAreaAddr,
}

/// `struct vcpu_set_periodic_timer`: the argument of [`VCPUOP_SET_PERIODIC_TIMER`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuSetPeriodicTimer {
    /// The period in nanoseconds.
    pub period_ns: u64,
}

/// `struct vcpu_set_singleshot_timer`: the argument of [`VCPUOP_SET_SINGLESHOT_TIMER`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuSetSingleshotTimer {
    /// Absolute system time (ns) at which the timer fires.
    pub timeout_abs_ns: u64,
    /// `VCPU_SSHOTTMR_*`.
    pub flags: u32,
}

/// `_VCPU_SSHOTTMR_future`: bit number of [`VCPU_SSHOTTMR_FUTURE`].
pub const _VCPU_SSHOTTMR_FUTURE: u32 = 0;
/// `VCPU_SSHOTTMR_future`: fail with `-ETIME` if the timeout has already passed (Xen may
/// ignore this).
pub const VCPU_SSHOTTMR_FUTURE: u32 = 1 << _VCPU_SSHOTTMR_FUTURE;

/// `struct vcpu_register_vcpu_info`: the argument of [`VCPUOP_REGISTER_VCPU_INFO`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuRegisterVcpuInfo {
    /// The frame (a GFN for HVM guests) of the page to hold the `vcpu_info`.
    pub mfn: u64,
    /// The byte offset of the `vcpu_info` within that page.
    pub offset: u32,
    /// Unused; must be zero.
    pub rsvd: u32,
}

/// `struct vcpu_get_physid`: the argument of [`VCPUOP_GET_PHYSID`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VcpuGetPhysid {
    /// OUT: the physical id; on x86 the APIC id in bits 31:0 and the ACPI id in bits 63:32.
    pub phys_id: u64,
}

/// `xen_vcpu_physid_to_x86_apicid(physid)`: the x86 APIC id in a [`VcpuGetPhysid::phys_id`].
#[must_use]
pub const fn xen_vcpu_physid_to_x86_apicid(physid: u64) -> u32 {
    (physid & 0xFFFF_FFFF) as u32
}

/// `xen_vcpu_physid_to_x86_acpiid(physid)`: the x86 ACPI id in a [`VcpuGetPhysid::phys_id`].
#[must_use]
pub const fn xen_vcpu_physid_to_x86_acpiid(physid: u64) -> u32 {
    (physid >> 32) as u32
}

/// The anonymous `union` `struct vcpu_register_time_memory_area.addr`: the guest virtual
/// address of a [`VcpuTimeInfo`], however the caller likes to spell it.
#[repr(C)]
#[derive(Clone, Copy)]
pub union VcpuRegisterTimeMemoryAreaAddr {
    /// As a guest handle.
    pub h: GuestHandle<VcpuTimeInfo>,
    /// As a pointer.
    pub v: *mut VcpuTimeInfo,
    /// As an integer.
    pub p: u64,
}

impl Default for VcpuRegisterTimeMemoryAreaAddr {
    /// The null address.
    fn default() -> Self {
        Self { p: 0 }
    }
}

impl fmt::Debug for VcpuRegisterTimeMemoryAreaAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VcpuRegisterTimeMemoryAreaAddr")
            .finish_non_exhaustive()
    }
}

/// `struct vcpu_register_time_memory_area`: the argument of
/// [`VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VcpuRegisterTimeMemoryArea {
    /// Where Xen keeps the copy (a guest virtual address; null unregisters).
    pub addr: VcpuRegisterTimeMemoryAreaAddr,
}

const _: () = assert!(size_of::<VcpuRunstateInfo>() == 48);
const _: () = assert!(size_of::<VcpuRegisterRunstateMemoryArea>() == 8);
const _: () = assert!(size_of::<VcpuSetPeriodicTimer>() == 8);
const _: () = assert!(size_of::<VcpuSetSingleshotTimer>() == 16);
const _: () = assert!(size_of::<VcpuRegisterVcpuInfo>() == 16);
const _: () = assert!(size_of::<VcpuGetPhysid>() == 8);
const _: () = assert!(size_of::<VcpuRegisterTimeMemoryArea>() == 8);
