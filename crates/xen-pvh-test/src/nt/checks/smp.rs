// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The processor added after load (`crate::nt::smp`), on a machine with a second vCPU: what
//! xen.sys saw at `DllInitialize` (processor 0 active, two possible), the hot-add's
//! notifications, the second processor running, the DPC xen.sys targeted at processor 1
//! running on vCPU 1, and what xen.sys then knows of processor 1: its vCPU id from the MADT on
//! an HVM guest (whose firmware has one; a PVH dom0 has none, so xen.sys logs the APIC id and
//! goes on without the vCPU id).

use super::{drv, eq};
use crate::harness::check;
use crate::nt::routines::{debug, dpc, ke};
use crate::nt::xen_sys::Exports;
use crate::nt::{loader, smp};
use alloc::vec::Vec;
use ntstatus::STATUS_SUCCESS;

/// `KeProcessorAddStartNotify`, `KeProcessorAddCompleteNotify`.
const ADD_START: i32 = 0;
const ADD_COMPLETE: i32 = 1;

/// Notifications played before the hot-add.
static BEFORE: spin::Mutex<usize> = spin::Mutex::new(0);

/// Before the hot-add, right after `DllInitialize`: xen.sys was told of processor 0 alone.
pub fn before_hot_add() {
    let notified = ke::notified();
    *BEFORE.lock() = notified.len();
    check(
        "nt.smp.one_processor_at_initialize",
        notified == [(ADD_COMPLETE, 0)] && ke::processors() == 1 && ke::maximum_processors() == 2,
        format_args!(
            "notifications {notified:?}; {} active of {} (KeQueryActiveProcessorCountEx, \
             KeQueryMaximumProcessorCountEx)",
            ke::processors(),
            ke::maximum_processors()
        ),
    );
}

/// After the hot-add of processor 1.
pub fn after_hot_add(e: &Exports, xen: usize) {
    let outcome = *smp::OUTCOME.lock();
    check(
        "nt.smp.second_vcpu_started",
        outcome.is_some_and(|o| o.is_ok_and(|s| s.alive)),
        format_args!("VCPUOP_initialise and VCPUOP_up of vCPU 1: {outcome:?}"),
    );
    let before = *BEFORE.lock();
    let added: Vec<(i32, u32)> = ke::notified().into_iter().skip(before).collect();
    check(
        "nt.smp.hot_add_notifications",
        added == [(ADD_START, 1), (ADD_COMPLETE, 1)] && ke::processors() == 2,
        format_args!(
            "xen.sys's callback got {added:?} (KeProcessorAddStartNotify, then \
             KeProcessorAddCompleteNotify, for processor 1); {} active now",
            ke::processors()
        ),
    );
    let runs = dpc::targeted_runs();
    let in_xen = |r: &dpc::TargetedRun| loader::containing(r.routine) == Some(xen);
    let on_1 = runs
        .iter()
        .filter(|r| in_xen(r) && r.target == 1 && r.ran_on == 1)
        .count();
    check(
        "nt.smp.dpc_ran_on_target",
        on_1 == 1 && runs.iter().all(|r| r.ran_on == r.target),
        format_args!(
            "xen.sys's DPCs targeted at processor 1 that ran on vCPU 1: {on_1}; every targeted \
             DPC (target, ran on): {:?}",
            runs.iter()
                .map(|r| (r.target, r.ran_on))
                .collect::<Vec<_>>()
        ),
    );
    let apic = debug::kept()
        .into_iter()
        .find(|l| l.contains("processor 1: APIC ID"));
    check(
        "nt.smp.processor1_apic_id",
        apic.is_some(),
        format_args!("xen.sys's log: {apic:?}"),
    );
    let mut id = u32::MAX;
    // SAFETY: `id` is ours.
    let s = drv(|| unsafe { (e.system_processor_vcpu_id)(1, &raw mut id) });
    if crate::boot::is_hvm() {
        // The firmware's MADT names processor UID 1 for APIC id 2.
        check(
            "nt.smp.processor1_vcpu_id",
            s == STATUS_SUCCESS && id == 1,
            format_args!(
                "SystemProcessorVcpuId(1): status {:#x}, {id}",
                s.cast_unsigned()
            ),
        );
    } else {
        // No MADT in a PVH dom0: the vCPU id stays unknown, and xen.sys says so.
        let logged = debug::kept()
            .iter()
            .any(|l| l.contains("processor 1 (APIC id") && l.contains("no vCPU id"));
        check(
            "nt.smp.processor1_no_vcpu_id_without_madt",
            s != STATUS_SUCCESS && logged,
            format_args!(
                "SystemProcessorVcpuId(1): status {:#x}; logged \"no vCPU id\": {logged}",
                s.cast_unsigned()
            ),
        );
    }
    let active = drv(|| ke::ke_query_active_processor_count_ex(0xffff));
    eq("nt.smp.active_processors_after_add", active, 2);
}
