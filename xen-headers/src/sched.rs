// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/sched.h`: the `HYPERVISOR_sched_op` sub-operations (`SCHEDOP_*`), their argument
//! structures and the shutdown reasons (`SHUTDOWN_*`).
//!
//! Operations without an argument ([`SCHEDOP_YIELD`], [`SCHEDOP_BLOCK`]) take a null pointer;
//! the others take the structure named after them ([`SCHEDOP_POLL`] takes a [`SchedPoll`]).

use crate::xen::{DomId, GuestHandle};

// Operations.

/// `SCHEDOP_yield`: give up the CPU voluntarily, staying runnable (no argument).
pub const SCHEDOP_YIELD: u32 = 0;
/// `SCHEDOP_block`: block until an event arrives, re-enabling event delivery first (no
/// argument).
pub const SCHEDOP_BLOCK: u32 = 1;
/// `SCHEDOP_shutdown`: stop the calling domain for a reason ([`SchedShutdown`]).
///
/// For [`SHUTDOWN_SUSPEND`] it returns 1 when the suspend was cancelled and the domain resumed in
/// place, 0 when it resumed in a new domain.
pub const SCHEDOP_SHUTDOWN: u32 = 2;
/// `SCHEDOP_poll`: block until one of a set of ports is pending or a timeout passes
/// ([`SchedPoll`]).
pub const SCHEDOP_POLL: u32 = 3;
/// `SCHEDOP_remote_shutdown`: shut another domain down (privileged; [`SchedRemoteShutdown`]).
pub const SCHEDOP_REMOTE_SHUTDOWN: u32 = 4;
/// `SCHEDOP_shutdown_code`: record the reason for a later shutdown without stopping
/// ([`SchedShutdown`]).
pub const SCHEDOP_SHUTDOWN_CODE: u32 = 5;
/// `SCHEDOP_watchdog`: create, pat or destroy a domain watchdog ([`SchedWatchdog`]); creating
/// one returns its id.
pub const SCHEDOP_WATCHDOG: u32 = 6;
/// `SCHEDOP_pin_override`: temporarily pin the calling vCPU to a physical CPU (hardware domain
/// only; [`SchedPinOverride`]).
pub const SCHEDOP_PIN_OVERRIDE: u32 = 7;

// Shutdown reasons (`enum sched_shutdown_reason`).

/// `SHUTDOWN_poweroff`: the domain exited normally; clean up and kill it.
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// `SHUTDOWN_reboot`: clean up, kill, then restart the domain.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// `SHUTDOWN_suspend`: clean up, save the suspend information, kill the domain.
pub const SHUTDOWN_SUSPEND: u32 = 2;
/// `SHUTDOWN_crash`: the domain crashed.
pub const SHUTDOWN_CRASH: u32 = 3;
/// `SHUTDOWN_watchdog`: restart because a watchdog expired.
pub const SHUTDOWN_WATCHDOG: u32 = 4;
/// `SHUTDOWN_soft_reset`: reset the domain's state and hand it back to the toolstack (kexec and
/// the like).
pub const SHUTDOWN_SOFT_RESET: u32 = 5;
/// `SHUTDOWN_MAX`: the largest valid shutdown reason.
pub const SHUTDOWN_MAX: u32 = 5;

/// `struct sched_shutdown`: the argument of [`SCHEDOP_SHUTDOWN`] and
/// [`SCHEDOP_SHUTDOWN_CODE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedShutdown {
    /// `SHUTDOWN_*`.
    pub reason: u32,
}

/// `struct sched_poll`: the argument of [`SCHEDOP_POLL`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedPoll {
    /// The ports to wait on (`XEN_GUEST_HANDLE(evtchn_port_t)`).
    pub ports: GuestHandle<u32>,
    /// How many ports `ports` points at.
    pub nr_ports: u32,
    /// Absolute system time (ns) at which to give up; 0 waits forever.
    pub timeout: u64,
}

/// `struct sched_remote_shutdown`: the argument of [`SCHEDOP_REMOTE_SHUTDOWN`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedRemoteShutdown {
    /// The domain to shut down.
    pub domain_id: DomId,
    /// `SHUTDOWN_*`.
    pub reason: u32,
}

/// `struct sched_watchdog`: the argument of [`SCHEDOP_WATCHDOG`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedWatchdog {
    /// The watchdog: 0 creates a new one (its id is the hypercall's result), otherwise the one
    /// to pat or destroy.
    pub id: u32,
    /// Seconds until the domain is shut down with [`SHUTDOWN_WATCHDOG`]; 0 destroys watchdog
    /// `id`.
    pub timeout: u32,
}

/// `struct sched_pin_override`: the argument of [`SCHEDOP_PIN_OVERRIDE`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedPinOverride {
    /// The physical CPU to pin to; negative ends the override.
    pub pcpu: i32,
}

const _: () = assert!(size_of::<SchedShutdown>() == 4);
const _: () = assert!(size_of::<SchedPoll>() == 24);
const _: () = assert!(size_of::<SchedRemoteShutdown>() == 8);
const _: () = assert!(size_of::<SchedWatchdog>() == 8);
const _: () = assert!(size_of::<SchedPinOverride>() == 4);
