// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `vcpu_info` registration scenario (`xtk.mode=nt-vcpu-info`, an HVM guest: its firmware
//! has the MADT that maps processors to vCPU ids): `XEN\Parameters\RegisterVcpuInfo` = 1, so
//! xen.sys takes three named pages, stores their frame numbers in the volatile `XEN\Memory`
//! key, and registers processor 0's slot with Xen from its DPC.
//!
//! First load ([`first`]): the PFNs are in the key as 8-byte `REG_BINARY` values, distinct and
//! given to xen.sys by `MmAllocatePagesForMdlEx`; `SystemProcessorVcpuInfo(0)` answers the
//! mapping of slot 0 (page 0, offset 0) and the slot's "registered" flag (byte 8192, page 2) is
//! set; Xen has written the time info there (the page was zeroed and only Xen writes it; the
//! version does not necessarily move within the check, an HVM vCPU's time is refreshed when
//! Xen sees fit); an event sent on a bound port sets `evtchn_upcall_pending` there.
//!
//! The guest has two vCPUs: the stand-in adds the second after `DllInitialize` as a hot-added
//! processor (`crate::nt::smp`, checked in `checks::smp`), and xen.sys's DPC on vCPU 1
//! registers processor 1's slot: `SystemProcessorVcpuInfo(1)` answers slot 1 (page 0, offset
//! 64), its flag (byte 8193) is set, Xen writes vCPU 1's time info there, and xen.sys asked Xen
//! once (its `XEN: REGISTER vcpu_info[1]` line).
//!
//! Second load ([`second`], after `DllUnload`): the same pages are reused and no page is taken
//! again; processor 1 (active from the start now) is identified again by a DPC on vCPU 1, which
//! finds its slot's flag set and keeps the registration: the same slot, and no second
//! `XEN: REGISTER` line for either processor (Xen refuses a second registration of a vCPU, so a
//! load that registered again would fail).

use super::{drv, eq, status};
use crate::harness::check;
use crate::nt::hive;
use crate::nt::routines::{debug, dpc, ke, mm, registry};
use crate::nt::xen_sys::Exports;
use crate::nt::{SERVICE_KEY, vm};
use alloc::vec::Vec;
use core::mem::offset_of;
use ntstatus::{
    STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_SUCCESS, STATUS_UNSUCCESSFUL,
};
use xen_headers::xen::{DOMID_SELF, VcpuInfo, VcpuTimeInfo};

/// `REG_BINARY`.
const REG_BINARY: u32 = 3;
/// Where the "registered" flags start in the area (after 128 `vcpu_info`s).
const FLAGS_OFFSET: u64 = 64 * 128;

/// The PFNs in `XEN\Memory\VCPU_INFO_0..2`, each if it is an 8-byte `REG_BINARY`.
pub fn stored_pfns() -> [Option<u64>; 3] {
    let mut out = [None; 3];
    for (index, slot) in out.iter_mut().enumerate() {
        *slot = registry::with(|r| {
            let key = r.hive.find(&alloc::format!(r"{SERVICE_KEY}\Memory"))?;
            let v = r
                .hive
                .value(key, &hive::wide(&alloc::format!("VCPU_INFO_{index}")))?;
            let bytes: [u8; 8] = v.data.as_slice().try_into().ok()?;
            (v.kind == REG_BINARY).then_some(u64::from_le_bytes(bytes))
        })
        .flatten();
    }
    out
}

/// `SystemProcessorVcpuInfo(0)`: the status and the pointer.
fn vcpu_info_of_cpu0(e: &Exports) -> (i32, *mut u8) {
    vcpu_info_of(e, 0)
}

/// `SystemProcessorVcpuInfo(cpu)`: the status and the pointer.
fn vcpu_info_of(e: &Exports, cpu: u32) -> (i32, *mut u8) {
    let mut p = core::ptr::null_mut();
    // SAFETY: `p` is ours.
    let s = drv(|| unsafe { (e.system_processor_vcpu_info)(cpu, &raw mut p) });
    (s, p.cast())
}

/// How many `XEN: REGISTER vcpu_info[cpu]` lines xen.sys logged (one per hypercall that
/// succeeded), over both loads.
fn registrations(cpu: u32) -> usize {
    let line = alloc::format!("XEN: REGISTER vcpu_info[{cpu}]");
    debug::kept().iter().filter(|l| l.ends_with(&line)).count()
}

/// The "registered" flag of slot `cpu`, in the flags' page `flags_page` (the stand-in's
/// allocator's page, identity-mapped).
fn registered_flag(flags_page: u64, cpu: u64) -> u8 {
    let flag_at = usize::try_from(flags_page * 4096 + (FLAGS_OFFSET - 2 * 4096) + cpu).unwrap_or(0);
    // SAFETY: a page the stand-in gave xen.sys, identity-mapped; a byte of it read.
    unsafe { core::ptr::with_exposed_provenance::<u8>(flag_at).read_volatile() }
}

/// Reads the `T` at byte `offset` of the `vcpu_info` at `p` (mapped by xen.sys, in the
/// stand-in's page tables).
fn read<T: Copy>(p: *mut u8, offset: usize) -> T {
    // SAFETY: `p` is the mapped slot xen.sys answered (checked to translate to the named page
    // before any read), `offset` lies inside its 64 bytes.
    unsafe { p.wrapping_add(offset).cast::<T>().read_volatile() }
}

/// Writes the `T` at byte `offset` of the `vcpu_info` at `p` (as a guest does with its own
/// `vcpu_info`: clearing what it consumed).
fn write<T>(p: *mut u8, offset: usize, value: T) {
    // SAFETY: as in `read`.
    unsafe { p.wrapping_add(offset).cast::<T>().write_volatile(value) };
}

/// The first load's checks; returns the PFNs stored (for [`second`]).
pub fn first(e: &Exports) -> Option<[u64; 3]> {
    let stored = stored_pfns();
    let pfns: Option<[u64; 3]> = stored
        .iter()
        .copied()
        .collect::<Option<Vec<u64>>>()
        .and_then(|v| v.try_into().ok());
    let distinct = pfns.is_some_and(|[a, b, c]| a != b && b != c && a != c);
    let owned = pfns.is_some_and(|p| p.iter().all(|&pfn| mm::owned(pfn)));
    check(
        "nt.vcpu_info.named_pages_stored",
        distinct && owned,
        format_args!(
            "XEN\\Memory VCPU_INFO_0..2 = {stored:x?}: 8-byte REG_BINARY, distinct {distinct}, \
             given by MmAllocatePagesForMdlEx {owned}"
        ),
    );
    let (s, p) = vcpu_info_of_cpu0(e);
    let physical = vm::translate(p.addr() as u64);
    let at_slot = pfns.is_some_and(|[pfn0, _, _]| physical == Some(pfn0 * 4096));
    check(
        "nt.vcpu_info.cpu0_slot",
        s == STATUS_SUCCESS && at_slot,
        format_args!(
            "status {:#x}, {:#x} maps {physical:#x?}: slot 0 is page 0 offset 0",
            s.cast_unsigned(),
            p.addr()
        ),
    );
    let [first_page, _, flags_page] = pfns.filter(|_| at_slot && s == STATUS_SUCCESS)?;
    eq(
        "nt.vcpu_info.registered_flag",
        registered_flag(flags_page, 0),
        1,
    );
    let time = offset_of!(VcpuInfo, time);
    let version = |p| read::<u32>(p, time + offset_of!(VcpuTimeInfo, version));
    let system_time = |p| read::<u64>(p, time + offset_of!(VcpuTimeInfo, system_time));
    let mul = read::<u32>(p, time + offset_of!(VcpuTimeInfo, tsc_to_system_mul));
    let (v0, t0) = (version(p), system_time(p));
    for _ in 0..50 {
        // SAFETY: no pointers; the vCPU is descheduled and scheduled again.
        drv(|| unsafe { (e.sched_yield)() });
    }
    let (v1, t1) = (version(p), system_time(p));
    check(
        "nt.vcpu_info.xen_writes_time",
        v0 != 0 && v0 % 2 == 0 && mul != 0 && t0 != 0,
        format_args!(
            "time.version {v0} -> {v1}, system_time {t0} -> {t1}, tsc_to_system_mul {mul:#x} \
             in the registered vcpu_info (the page was zeroed; only Xen writes it)"
        ),
    );
    event(e, p);
    register_again(e, p);
    cpu1(e, first_page, flags_page);
    // Last: it leaves processor 0 without a slot until the second load.
    register_forced(e, p, version);
    pfns
}

/// Processor 1, added after `DllInitialize`: its slot, its flag, Xen's time info there, one
/// registration.
fn cpu1(e: &Exports, first_page: u64, flags_page: u64) {
    if !check(
        "nt.vcpu_info.second_processor",
        ke::processors() == 2,
        format_args!(
            "{} active processors (the boot has two vCPUs)",
            ke::processors()
        ),
    ) {
        return;
    }
    let (s, p) = vcpu_info_of(e, 1);
    let physical = vm::translate(p.addr() as u64);
    let at_slot = s == STATUS_SUCCESS && physical == Some(first_page * 4096 + 64);
    check(
        "nt.vcpu_info.cpu1_slot",
        at_slot,
        format_args!(
            "SystemProcessorVcpuInfo(1): status {:#x}, {:#x} maps {physical:#x?}: slot 1 is page \
             0 offset 64",
            s.cast_unsigned(),
            p.addr()
        ),
    );
    eq(
        "nt.vcpu_info.cpu1_registered_flag",
        registered_flag(flags_page, 1),
        1,
    );
    eq("nt.vcpu_info.cpu1_registered_once", registrations(1), 1);
    if !at_slot {
        return;
    }
    let time = offset_of!(VcpuInfo, time);
    let version = read::<u32>(p, time + offset_of!(VcpuTimeInfo, version));
    let system_time = read::<u64>(p, time + offset_of!(VcpuTimeInfo, system_time));
    let mul = read::<u32>(p, time + offset_of!(VcpuTimeInfo, tsc_to_system_mul));
    check(
        "nt.vcpu_info.cpu1_xen_writes_time",
        version != 0 && version.is_multiple_of(2) && mul != 0 && system_time != 0,
        format_args!(
            "time.version {version}, system_time {system_time}, tsc_to_system_mul {mul:#x} in \
             vCPU 1's registered vcpu_info (the page was zeroed; only Xen writes it)"
        ),
    );
}

/// `SystemProcessorRegisterVcpuInfo` without force on processor 0, whose slot is registered
/// (its flag set): nothing is asked of Xen and the same `vcpu_info` stays; a processor beyond
/// the table is refused.
fn register_again(e: &Exports, p: *mut u8) {
    // SAFETY: no pointers; processor 0 is the one this thread runs on.
    let again = drv(|| unsafe { (e.system_processor_register_vcpu_info)(0, 0) });
    let (s, after) = vcpu_info_of_cpu0(e);
    // SAFETY: no pointers; an index beyond every processor.
    let beyond = drv(|| unsafe { (e.system_processor_register_vcpu_info)(999, 0) });
    check(
        "nt.vcpu_info.register_again_keeps_slot",
        again == STATUS_SUCCESS
            && s == STATUS_SUCCESS
            && after == p
            && beyond == STATUS_UNSUCCESSFUL,
        format_args!(
            "SystemProcessorRegisterVcpuInfo(0, FALSE) {:#x}, then SystemProcessorVcpuInfo(0) \
             {:#x} at {:#x} (was {:#x}); processor 999: {:#x}",
            again.cast_unsigned(),
            s.cast_unsigned(),
            after.addr(),
            p.addr(),
            beyond.cast_unsigned()
        ),
    );
}

/// `SystemProcessorRegisterVcpuInfo` with force on processor 0, whose `vcpu_info` Xen already
/// has: the hypercall is made again and Xen refuses a second registration of a live vCPU
/// (`-EINVAL`, `STATUS_INVALID_PARAMETER`); as upstream's failed registration, xen.sys forgets
/// the processor's slot (`SystemProcessorVcpuInfo` then answers `STATUS_NOT_SUPPORTED`) but not
/// its "registered" flag, while Xen goes on writing the time into the slot it registered. The
/// second load takes that slot back through the flag ([`second`]).
fn register_forced(e: &Exports, p: *mut u8, version: impl Fn(*mut u8) -> u32) {
    // SAFETY: no pointers; processor 0 is the one this thread runs on.
    let forced = drv(|| unsafe { (e.system_processor_register_vcpu_info)(0, 1) });
    let (s, _) = vcpu_info_of_cpu0(e);
    let v0 = version(p);
    for _ in 0..50 {
        // SAFETY: no pointers; the vCPU is descheduled and scheduled again.
        drv(|| unsafe { (e.sched_yield)() });
    }
    let v1 = version(p);
    check(
        "nt.vcpu_info.register_forced_asks_xen",
        forced == STATUS_INVALID_PARAMETER
            && s == STATUS_NOT_SUPPORTED
            && v0.is_multiple_of(2)
            && v0 != 0,
        format_args!(
            "SystemProcessorRegisterVcpuInfo(0, TRUE) {:#x} (Xen keeps the first registration), \
             then SystemProcessorVcpuInfo(0) {:#x}; the registered slot's time.version {v0} -> \
             {v1}",
            forced.cast_unsigned(),
            s.cast_unsigned()
        ),
    );
}

/// An event on a port bound to vCPU 0 (an interdomain pair within the domain) sets
/// `evtchn_upcall_pending` and `evtchn_pending_sel` in the registered `vcpu_info`.
fn event(e: &Exports, p: *mut u8) {
    let mut remote = 0u32;
    // SAFETY: `remote` is ours.
    let s = drv(|| unsafe { (e.event_channel_allocate_unbound)(DOMID_SELF, &raw mut remote) });
    if !status("nt.vcpu_info.event_port_allocated", s, STATUS_SUCCESS) {
        return;
    }
    let mut local = 0u32;
    // SAFETY: `local` is ours.
    let s =
        drv(|| unsafe { (e.event_channel_bind_inter_domain)(DOMID_SELF, remote, &raw mut local) });
    if status("nt.vcpu_info.event_port_bound", s, STATUS_SUCCESS) {
        // Binding marked the local end pending (so no event before the bind is lost), and
        // registration marked everything pending: consume that, as a guest's upcall handler
        // does, then send from the local end to the other, whose pending bit is clear.
        write::<u8>(p, offset_of!(VcpuInfo, evtchn_upcall_pending), 0);
        write::<u64>(p, offset_of!(VcpuInfo, evtchn_pending_sel), 0);
        // SAFETY: no pointers.
        let unmasked = drv(|| unsafe { (e.event_channel_unmask)(remote) });
        let before = read::<u8>(p, offset_of!(VcpuInfo, evtchn_upcall_pending));
        // SAFETY: no pointers.
        let sent = drv(|| unsafe { (e.event_channel_send)(local) });
        let after = read::<u8>(p, offset_of!(VcpuInfo, evtchn_upcall_pending));
        let sel = read::<u64>(p, offset_of!(VcpuInfo, evtchn_pending_sel));
        check(
            "nt.vcpu_info.event_sets_upcall_pending",
            sent == STATUS_SUCCESS && before == 0 && after == 1 && sel != 0,
            format_args!(
                "port {local} sent to {remote}: unmask {:#x}, send {:#x}; upcall_pending \
                 {before} -> {after}, pending_sel {sel:#x}",
                unmasked.cast_unsigned(),
                sent.cast_unsigned()
            ),
        );
        // SAFETY: no pointers.
        drv(|| unsafe { (e.event_channel_close)(local) });
    }
    // SAFETY: no pointers.
    drv(|| unsafe { (e.event_channel_close)(remote) });
}

/// The second load's checks: the pages of the first are reused, nothing is taken again.
pub fn second(e: &Exports, first: [u64; 3]) {
    let stored = stored_pfns();
    let (s, p) = vcpu_info_of_cpu0(e);
    let physical = vm::translate(p.addr() as u64);
    let taken = mm::owned_count();
    second_cpu1(e, first);
    check(
        "nt.vcpu_info.reload_reuses_pages",
        stored == first.map(Some)
            && s == STATUS_SUCCESS
            && physical == Some(first[0] * 4096)
            && taken == 3,
        format_args!(
            "first load {first:x?}, now {stored:x?}; SystemProcessorVcpuInfo(0) status {:#x} at \
             {physical:#x?}; {taken} pages ever given without hot removal",
            s.cast_unsigned()
        ),
    );
}

/// The second load's processor 1: identified again on vCPU 1, its registered slot kept.
fn second_cpu1(e: &Exports, first: [u64; 3]) {
    if ke::processors() != 2 {
        return;
    }
    let (s, p) = vcpu_info_of(e, 1);
    let physical = vm::translate(p.addr() as u64);
    let on_vcpu1 = dpc::targeted_runs()
        .iter()
        .filter(|r| r.target == 1 && r.ran_on == 1)
        .count();
    let (zero, one) = (registrations(0), registrations(1));
    check(
        "nt.vcpu_info.reload_keeps_cpu1_slot",
        s == STATUS_SUCCESS
            && physical == Some(first[0] * 4096 + 64)
            && on_vcpu1 == 2
            && (zero, one) == (1, 1),
        format_args!(
            "SystemProcessorVcpuInfo(1): status {:#x} at {physical:#x?}; DPCs for processor 1 \
             run on vCPU 1 over both loads: {on_vcpu1}; XEN: REGISTER lines for processors 0 \
             and 1 over both loads: {zero}, {one} (the second load kept both registrations)",
            s.cast_unsigned()
        ),
    );
}
