// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Per-vCPU upcall vectors, `vcpu_info` registration and the second vCPU (or, with one vCPU,
//! the errors Xen gives for a vCPU that does not exist).

use super::evtchn::{MS, close_pair, delivered, loopback, settle};
use super::{AP_ALIVE, VCPU_INFO_PAGE, VCPUS, check_eq, hv, shm};
use crate::arch;
use crate::events::{self, PER_VCPU_VECTOR, VCPU_INFO, set_binding, take_delivered, upcalls};
use crate::harness::{check, ok, status};
use core::sync::atomic::{AtomicI32, Ordering};
use xen::event_channel as evtchn;
use xen::status::{
    STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECTID_EXISTS, STATUS_SUCCESS,
    STATUS_UNSUCCESSFUL,
};
use xen::vcpu::{VCPU_HVM_MODE_64B, VcpuHvmContext, VcpuHvmX86_64};
use xen_headers::hvm::params::HVM_PARAM_CALLBACK_IRQ;
use xen_headers::xen::{VIRQ_TIMER, VcpuInfo};

/// Result of work run on vCPU 1 (`i32::MIN` while pending).
static AP_RESULT: AtomicI32 = AtomicI32::new(i32::MIN);

/// Where vCPU `cpu`'s registered `vcpu_info` lives in `VCPU_INFO_PAGE`.
fn registered_slot(cpu: usize) -> *mut VcpuInfo {
    VCPU_INFO_PAGE
        .words()
        .wrapping_add(8 * cpu)
        .cast::<VcpuInfo>()
}

/// Per-vCPU vectors, `vcpu_info` registration, then the second vCPU.
pub fn upcall_vectors_and_vcpus() {
    per_vcpu_vector();
    register_vcpu_info();
    match xen::vcpu::is_up(hv(), 1) {
        Ok(up) => two_vcpus(up),
        Err(err) => one_vcpu(err),
    }
}

fn per_vcpu_vector() {
    let xen = hv();
    arch::enable_lapic();
    // Upstream clears a per-vCPU vector by setting 0; Xen 4.17 refuses any vector below 0x10.
    status(
        "hvm.upcall_vector_zero_refused",
        xen::hvm::set_evtchn_upcall_vector(xen, 0, 0),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "hvm.upcall_vector_bad_vcpu",
        xen::hvm::set_evtchn_upcall_vector(xen, 7, PER_VCPU_VECTOR),
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
    // Clearing HVM_PARAM_CALLBACK_IRQ reads back as 0, but on PVH (no virtual IOAPIC/PIC) Xen
    // ignores a change away from the vector type: the callback vector stays active.
    ok(
        "hvm.clear_callback_irq",
        xen::hvm::set_param(xen, HVM_PARAM_CALLBACK_IRQ, 0),
    );
    check_eq(
        "hvm.callback_irq_reads_cleared",
        xen::hvm::get_param(xen, HVM_PARAM_CALLBACK_IRQ),
        Ok(0),
    );
    ok(
        "hvm.set_evtchn_upcall_vector",
        xen::hvm::set_evtchn_upcall_vector(xen, 0, PER_VCPU_VECTOR),
    );
    let Some((a, b)) = loopback() else {
        check(
            "hvm.upcall_vector_setup",
            false,
            format_args!("no loopback pair"),
        );
        return;
    };
    settle(0, &[a, b]);
    let (callback, vector) = (upcalls(0, 0), upcalls(0, 1));
    let _ = evtchn::send(xen, a);
    let got = delivered(0, b);
    events::wait_for(20 * MS, || upcalls(0, 1) > vector);
    check(
        "hvm.upcall_vector_delivers",
        got && upcalls(0, 1) > vector,
        format_args!(
            "vector {:#x} upcalls {vector} -> {}",
            PER_VCPU_VECTOR,
            upcalls(0, 1)
        ),
    );
    check(
        "hvm.pvh_callback_vector_stays_active",
        upcalls(0, 0) > callback,
        format_args!("callback-vector upcalls {callback} -> {}", upcalls(0, 0)),
    );
    close_pair((a, b));
}

fn register_vcpu_info() {
    let xen = hv();
    let gfn = VCPU_INFO_PAGE.gfn();
    // SAFETY: the call fails (offset beyond the page) and registers nothing.
    let bad_offset = unsafe { xen::vcpu::register_vcpu_info(xen, 0, gfn, 4090) };
    status(
        "vcpu.register_vcpu_info_bad_offset",
        bad_offset,
        STATUS_UNSUCCESSFUL,
    );
    // SAFETY: VCPU_INFO_PAGE is a static page dedicated to Xen's vcpu_info copies; the suite
    // only reads it through `VCPU_INFO` with atomics and volatile reads.
    let registered = unsafe { xen::vcpu::register_vcpu_info(xen, 0, gfn, 0) };
    if ok("vcpu.register_vcpu_info", registered).is_none() {
        return;
    }
    if let Some(slot) = VCPU_INFO.first() {
        slot.store(registered_slot(0), Ordering::SeqCst);
    }
    xen::sched::yield_now(xen);
    let (mul, version) = shm::time_record(0);
    check(
        "vcpu.registered_vcpu_info_maintained",
        mul != 0 && version != 0,
        format_args!("time record at the new place: mul {mul:#x}, version {version}"),
    );
    if let Some((a, b)) = loopback() {
        settle(0, &[a, b]);
        let _ = evtchn::send(xen, a);
        check(
            "vcpu.upcall_through_registered_vcpu_info",
            delivered(0, b),
            format_args!("port {b}"),
        );
        close_pair((a, b));
    }
    // SAFETY: refused (already registered); nothing changes.
    let again = unsafe { xen::vcpu::register_vcpu_info(xen, 0, gfn, 0) };
    status(
        "vcpu.register_vcpu_info_twice",
        again,
        STATUS_INVALID_PARAMETER,
    );
}

/// Runs on vCPU 1: registers its own `vcpu_info` at offset 64.
fn ap_register_vcpu_info() {
    // SAFETY: as `register_vcpu_info`, for vCPU 1's 64 bytes of VCPU_INFO_PAGE.
    let result = unsafe { xen::vcpu::register_vcpu_info(hv(), 1, VCPU_INFO_PAGE.gfn(), 64) };
    if result.is_ok()
        && let Some(slot) = VCPU_INFO.get(1)
    {
        slot.store(registered_slot(1), Ordering::SeqCst);
    }
    let code = result.map_or_else(xen::status::Error::ntstatus, |()| STATUS_SUCCESS);
    AP_RESULT.store(code, Ordering::SeqCst);
}

/// The long-mode start state of vCPU 1: the kernel's secondary entry on its own stack, with
/// this vCPU's control registers (page tables, `EFER` included).
pub fn ap_context() -> Option<VcpuHvmContext> {
    let (rip, rsp) = arch::ap_entry(1)?;
    let [cr0, cr3, cr4, efer] = arch::control_registers();
    Some(VcpuHvmContext {
        mode: VCPU_HVM_MODE_64B,
        x86_64: VcpuHvmX86_64 {
            rip,
            rsp,
            rdi: 1,
            rflags: 0x2,
            cr0,
            cr3,
            cr4,
            efer,
            ..VcpuHvmX86_64::default()
        },
        ..VcpuHvmContext::default()
    })
}

fn two_vcpus(already_up: bool) {
    let xen = hv();
    check(
        "vcpu.is_up_before_start",
        !already_up,
        format_args!("vCPU 1 up: {already_up}"),
    );
    let Some(context) = ap_context() else {
        return;
    };
    // SAFETY: the context starts vCPU 1 at our AP entry on its own stack with our page tables.
    let started = unsafe { xen::vcpu::initialise(xen, 1, &context) };
    ok("vcpu.initialise", started);
    // SAFETY: refused (already initialised); nothing starts.
    let again = unsafe { xen::vcpu::initialise(xen, 1, &context) };
    status("vcpu.initialise_twice", again, STATUS_OBJECTID_EXISTS);
    ok("vcpu.up", xen::vcpu::up(xen, 1));
    let alive = events::wait_for(2_000 * MS, || AP_ALIVE.load(Ordering::SeqCst));
    check(
        "vcpu.second_vcpu_runs",
        alive,
        format_args!("vCPU 1 reported"),
    );
    if !alive {
        return;
    }
    VCPUS.store(2, Ordering::SeqCst);
    check_eq("vcpu.is_up_after_start", xen::vcpu::is_up(xen, 1), Ok(true));
    ok(
        "hvm.set_evtchn_upcall_vector_vcpu1",
        xen::hvm::set_evtchn_upcall_vector(xen, 1, PER_VCPU_VECTOR + 1),
    );

    // An IPI port to vCPU 1.
    let Some(ipi) = ok("evtchn.bind_ipi_vcpu1", evtchn::bind_ipi(xen, 1)) else {
        return;
    };
    set_binding(ipi, 1);
    let before = upcalls(1, 1);
    let _ = evtchn::send(xen, ipi);
    // The domain-wide callback vector may take the event first; the per-vCPU vector still
    // arrives (through vCPU 1's LAPIC).
    let got = delivered(1, ipi);
    let vectored = events::wait_for(200 * MS, || upcalls(1, 1) > before);
    check(
        "evtchn.ipi_delivered_on_vcpu1",
        got && vectored,
        format_args!("vCPU 1 vector upcalls {before} -> {}", upcalls(1, 1)),
    );

    // Move an interdomain port to vCPU 1.
    if let Some((a, b)) = loopback() {
        settle(0, &[a, b]);
        ok("evtchn.bind_vcpu", evtchn::bind_virtual_cpu(xen, b, 1));
        set_binding(b, 1);
        check_eq(
            "evtchn.status_reports_vcpu",
            evtchn::status(xen, b).map(|s| s.vcpu),
            Ok(1),
        );
        let _ = evtchn::send(xen, a);
        check(
            "evtchn.bind_vcpu_moves_delivery",
            delivered(1, b) && !take_delivered(0, b),
            format_args!("port {b} on vCPU 1"),
        );
        set_binding(b, 0);
        close_pair((a, b));
    }

    // vcpu_info of a running vCPU can only be registered by that vCPU.
    // SAFETY: refused (vCPU 1 is running and we are not it); nothing is registered.
    let remote = unsafe { xen::vcpu::register_vcpu_info(xen, 1, VCPU_INFO_PAGE.gfn(), 64) };
    status(
        "vcpu.register_vcpu_info_other_running_vcpu",
        remote,
        STATUS_INVALID_PARAMETER,
    );
    AP_RESULT.store(i32::MIN, Ordering::SeqCst);
    events::run_on_ap(ap_register_vcpu_info);
    let _ = evtchn::send(xen, ipi);
    events::wait_for(1_000 * MS, || AP_RESULT.load(Ordering::SeqCst) != i32::MIN);
    check_eq(
        "vcpu.register_vcpu_info_on_vcpu1",
        AP_RESULT.load(Ordering::SeqCst),
        STATUS_SUCCESS,
    );
    let _ = take_delivered(1, ipi);
    let _ = evtchn::send(xen, ipi);
    check(
        "vcpu.vcpu1_upcall_through_registered_vcpu_info",
        delivered(1, ipi),
        format_args!("port {ipi}"),
    );
    set_binding(ipi, 0);
    let _ = evtchn::close(xen, ipi);
}

fn one_vcpu(err: xen::status::Error) {
    let xen = hv();
    let missing = STATUS_OBJECT_NAME_NOT_FOUND;
    status("vcpu.is_up_missing_vcpu", Err::<(), _>(err), missing);
    if let Some(context) = ap_context() {
        // SAFETY: refused (no vCPU 1); nothing starts.
        let started = unsafe { xen::vcpu::initialise(xen, 1, &context) };
        status("vcpu.initialise_missing_vcpu", started, missing);
    }
    status("vcpu.up_missing_vcpu", xen::vcpu::up(xen, 1), missing);
    status(
        "hvm.upcall_vector_missing_vcpu",
        xen::hvm::set_evtchn_upcall_vector(xen, 1, PER_VCPU_VECTOR + 1),
        missing,
    );
    status(
        "evtchn.bind_ipi_missing_vcpu",
        evtchn::bind_ipi(xen, 1),
        missing,
    );
    status(
        "evtchn.bind_virq_missing_vcpu",
        evtchn::bind_virq(xen, VIRQ_TIMER, 1),
        missing,
    );
    if let Some((a, b)) = loopback() {
        status(
            "evtchn.bind_vcpu_missing_vcpu",
            evtchn::bind_virtual_cpu(xen, b, 1),
            missing,
        );
        settle(0, &[a, b]);
        close_pair((a, b));
    }
    // SAFETY: refused (no vCPU 1); nothing is registered.
    let remote = unsafe { xen::vcpu::register_vcpu_info(xen, 1, VCPU_INFO_PAGE.gfn(), 64) };
    status("vcpu.register_vcpu_info_missing_vcpu", remote, missing);
}

/// `VCPUOP_down` of vCPU 1 (never of the last vCPU: that powers the domain off).
pub fn stop_second_vcpu() {
    let xen = hv();
    if VCPUS.load(Ordering::SeqCst) == 2 {
        ok("vcpu.down", xen::vcpu::down(xen, 1));
        check_eq("vcpu.is_up_after_down", xen::vcpu::is_up(xen, 1), Ok(false));
    } else {
        status(
            "vcpu.down_missing_vcpu",
            xen::vcpu::down(xen, 1),
            STATUS_OBJECT_NAME_NOT_FOUND,
        );
    }
}
