// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The second processor: a vCPU the stand-in adds after load, as Windows adds a hot-plugged
//! processor, and that then runs the DPCs targeted at it.
//!
//! * **At load** a machine with a second vCPU reports processor 0 alone active
//!   (`KeQueryActiveProcessorCountEx` 1) and both as possible (`KeQueryMaximumProcessorCountEx`
//!   2), so xen.sys sizes its processor table for both and identifies processor 0 at
//!   `DllInitialize`.
//! * **The hot-add** ([`add_second_processor`], after `DllInitialize`, at `PASSIVE_LEVEL`):
//!   `routines::ke::add_processor` plays `KeProcessorAddStartNotify` to the processor-change
//!   callbacks, [`start`] brings vCPU 1 up, the processor becomes active and the callbacks get
//!   `KeProcessorAddCompleteNotify`. vCPU 1 is started with `VCPUOP_initialise` in long mode
//!   with vCPU 0's control registers (so with its page tables, `EFER.NXE` included) at the
//!   kernel's secondary entry (`arch::ap_entry`), then `VCPUOP_up`. On the HVM guest the
//!   firmware leaves the vCPU reset (measured: `VCPUOP_initialise` succeeds at once); should
//!   Xen call it initialised (`EEXIST`), the stand-in sends it an INIT through the local APIC,
//!   which resets it, and initialises it again (untested: no boot has needed it).
//! * **On vCPU 1** the kernel's secondary entry comes here ([`ap_loop`]): with interrupts off
//!   (as on vCPU 0, see `crate::nt::cr8`), it runs the DPCs queued for it
//!   (`routines::dpc::run_due`, at `DISPATCH_LEVEL` in its own `cr8`, the verifier's rules
//!   applied there), and between them sleeps in Xen: `SCHEDOP_poll` with no port and a timeout
//!   [`SLEEP_NS`] after the vCPU last changed state (`VCPUOP_get_runstate_info`'s
//!   `state_entry_time`, Xen system time, which needs no `vcpu_info`: a driver may move that at
//!   any time; any event sent in the domain wakes it earlier). So a DPC targeted at processor 1
//!   runs there within a few milliseconds, concurrently with processor 0, and
//!   `KeFlushQueuedDpcs` on processor 0 waits for it.
//!
//! What vCPU 1 does not do: run threads, fire timers, or take interrupts (all on vCPU 0).

use crate::arch;
use crate::nt::{clock, cr8, routines};
use core::sync::atomic::{AtomicBool, Ordering};
use xen::hypercall::Hypervisor as _;
use xen_headers::vcpu::{VCPUOP_GET_RUNSTATE_INFO, VcpuRunstateInfo};
use xen_headers::xen::HYPERVISOR_VCPU_OP;

/// How long vCPU 1 sleeps between looks at its DPC queue, at most (ns).
const SLEEP_NS: u64 = 2_000_000;
/// How long [`start`] waits for vCPU 1 to reach [`ap_loop`] (100 ns units: 5 s).
const START_LIMIT: u64 = 50_000_000;

/// Set before the stand-in starts vCPU 1: its secondary entry goes to [`ap_loop`].
static STAND_IN: AtomicBool = AtomicBool::new(false);
/// Set by vCPU 1 when it reached [`ap_loop`].
static ALIVE: AtomicBool = AtomicBool::new(false);

/// Whether the secondary entry belongs to the stand-in (rather than the suite).
pub fn owns_secondary() -> bool {
    STAND_IN.load(Ordering::SeqCst)
}

/// What starting vCPU 1 gave: the steps Xen answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// `VCPUOP_initialise` needed the INIT (the firmware had left the vCPU initialised).
    pub reset_by_init: bool,
    /// vCPU 1 reached [`ap_loop`].
    pub alive: bool,
}

/// What [`add_second_processor`] found, for the checks.
pub static OUTCOME: spin::Mutex<Option<Result<Started, &'static str>>> = spin::Mutex::new(None);

/// Starts vCPU 1 in [`ap_loop`] and waits for it there.
///
/// # Errors
/// The step that failed.
pub fn start() -> Result<Started, &'static str> {
    let hv = crate::suite::hv();
    if xen::vcpu::is_up(hv, 1) != Ok(false) {
        return Err("vCPU 1 is missing or already up");
    }
    let context = crate::suite::smp::ap_context().ok_or("no stack for vCPU 1")?;
    STAND_IN.store(true, Ordering::SeqCst);
    // SAFETY: the context starts vCPU 1 at the kernel's secondary entry on its own stack with
    // vCPU 0's page tables and control registers.
    let mut initialised = unsafe { xen::vcpu::initialise(hv, 1, &context) };
    let mut reset_by_init = false;
    let exists = initialised.map_err(xen::status::Error::ntstatus)
        == Err(xen::status::STATUS_OBJECTID_EXISTS);
    if exists && crate::boot::is_hvm() {
        // Xen HVM guests' APIC ids are twice their vCPU ids (hvmloader's MADT says the same).
        arch::lapic_send_init(2);
        reset_by_init = true;
        // SAFETY: as above.
        initialised = unsafe { xen::vcpu::initialise(hv, 1, &context) };
    }
    initialised.map_err(|_| "VCPUOP_initialise refused")?;
    xen::vcpu::up(hv, 1).map_err(|_| "VCPUOP_up refused")?;
    let since = clock::interrupt_time();
    while !ALIVE.load(Ordering::SeqCst) {
        if clock::interrupt_time().saturating_sub(since) > START_LIMIT {
            return Ok(Started {
                reset_by_init,
                alive: false,
            });
        }
        cr8::interrupt_window();
        arch::pause();
    }
    Ok(Started {
        reset_by_init,
        alive: true,
    })
}

/// Adds processor 1 as a hot-added processor (see the module docs); whether it was added.
/// `PASSIVE_LEVEL`, on processor 0, after `DllInitialize`.
pub fn add_second_processor() -> bool {
    routines::ke::add_processor(1, || {
        let outcome = start();
        crate::kprintln!("NT: processor 1: {outcome:?}");
        let alive = outcome.is_ok_and(|s| s.alive);
        *OUTCOME.lock() = Some(outcome);
        alive
    })
}

/// vCPU 1's loop (entered from the kernel's secondary entry once the stand-in started it):
/// runs the DPCs queued for it, sleeping in Xen between them.
pub fn ap_loop(cpu: usize) -> ! {
    cr8::set(crate::nt::verifier::PASSIVE_LEVEL);
    ALIVE.store(true, Ordering::SeqCst);
    loop {
        cr8::interrupt_window();
        if routines::dpc::pending() {
            routines::dpc::run_due();
            continue;
        }
        sleep(cpu);
    }
}

/// Sleeps in Xen until an event or [`SLEEP_NS`] after this vCPU last changed state.
fn sleep(cpu: usize) {
    let xen = crate::xen();
    let mut info = VcpuRunstateInfo::default();
    // SAFETY: VCPUOP_get_runstate_info writes one `vcpu_runstate_info` to `info`, ours.
    let rc = unsafe {
        xen.hypercall(
            HYPERVISOR_VCPU_OP,
            &[
                VCPUOP_GET_RUNSTATE_INFO as usize,
                cpu,
                (&raw mut info).addr(),
            ],
        )
    };
    if rc == 0 {
        let _ = xen::sched::poll(xen, &[], info.state_entry_time.saturating_add(SLEEP_NS));
    } else {
        xen::sched::yield_now(xen);
    }
}
