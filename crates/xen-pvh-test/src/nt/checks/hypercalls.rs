// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's hypercall families through its exports, on the real hypervisor: version and
//! `XenTouch`, HVM parameters, the physmap and the reservation, 2-level and FIFO event
//! channels, grant tables, the scheduler and the watchdog, vCPU operations.
//!
//! Each call goes through the image (Microsoft x64 convention, the image's own `vmmcall`);
//! where Xen's state can be observed independently, the stand-in looks at it itself — the
//! `shared_info` bitmaps, the reservation through its own hypercall, the bytes of a grant copy —
//! so a check proves what reached Xen, not only what xen.sys returned. The expected statuses
//! of the error paths are the ones the PVH suite (`suite/`) measured with the same `xen` crate
//! on this hypervisor.

use super::{drv, eq, status};
use crate::arch;
use crate::events::VCPU_INFO;
use crate::harness::check;
use crate::nt::xen_sys::Exports;
use crate::suite::{
    BALLOON, FIFO_ARRAY, FIFO_CONTROL, GRANT_DST, GRANT_FRAME_GFN, GRANT_MAP_GFN, GRANT_SRC,
    NEVER_MAPPED_GFN, SHARED_INFO_GFN, VCPU_INFO_PAGE, hv, shm,
};
use core::ffi::c_void;
use core::sync::atomic::Ordering;
use ntstatus::{
    STATUS_ACCESS_DENIED, STATUS_INCOMPATIBLE_DRIVER_BLOCKED, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INVALID_HANDLE, STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_OBJECTID_EXISTS, STATUS_SUCCESS, STATUS_UNSUCCESSFUL,
};
use xen_headers::grant_table::{
    GNTCOPY_SOURCE_GREF, GTF_PERMIT_ACCESS, GnttabCopy, GnttabCopyPtr, GnttabCopyPtrU,
};
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_ALTP2M, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN,
    HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN,
};
use xen_headers::memory::{XENMAPSPACE_GRANT_TABLE, XENMAPSPACE_SHARED_INFO};
use xen_headers::sched::SHUTDOWN_REBOOT;
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF, VIRQ_DOM_EXC, VIRQ_TIMER, VcpuInfo};

/// Our domain id: 0 as the PVH dom0; an HVM domU's own id, which its grant entries must name
/// and its loopback channels report. Xen resolves `DOMID_SELF` as the remote of an unbound
/// port to the caller's id, and `EVTCHNOP_status` reports it.
fn self_id() -> u16 {
    static ID: spin::Once<u16> = spin::Once::new();
    *ID.call_once(|| {
        let Ok(port) = xen::event_channel::allocate_unbound(hv(), DOMID_SELF) else {
            return 0;
        };
        let id = match xen::event_channel::status(hv(), port) {
            Ok(xen::event_channel::PortStatus {
                binding: xen::event_channel::Binding::Unbound { domain },
                ..
            }) => domain,
            _ => 0,
        };
        let _ = xen::event_channel::close(hv(), port);
        crate::kprintln!("NT: domain id {id}");
        id
    })
}
/// `HVM_PARAM_PAE_ENABLED`, deprecated: Xen refuses it.
const HVM_PARAM_PAE_ENABLED: u32 = 4;
/// A grant reference of ours.
const REF_RW: u32 = 8;
/// A per-vCPU upcall vector (only its refusals are checked, see [`hvm`]).
const PER_VCPU_VECTOR: u8 = 0xf4;

/// Every hypercall family.
pub fn run(e: &Exports) {
    let vcpus = if xen::vcpu::is_up(hv(), 1).is_ok() {
        2
    } else {
        1
    };
    crate::kprintln!("NT: {vcpus} vCPU(s)");
    version(e);
    hvm(e);
    shared_info(e);
    reservation(e);
    event_channels(e, vcpus);
    fifo(e, vcpus);
    grant_tables(e);
    sched(e);
    vcpu(e, vcpus);
}

/// `XenVersion`, `XenVersionExtra`, `XenTouch`.
fn version(e: &Exports) {
    let (mut major, mut minor) = (0u32, 0u32);
    // SAFETY: both outputs are ours and writable.
    let s = drv(|| unsafe { (e.xen_version)(&raw mut major, &raw mut minor) });
    status("nt.version.xen_version", s, STATUS_SUCCESS);
    let detected = crate::xen().detected;
    eq(
        "nt.version.matches_cpuid",
        (major, minor),
        (u32::from(detected.major), u32::from(detected.minor)),
    );
    // SAFETY: a NULL output is refused before any hypercall.
    let s = drv(|| unsafe { (e.xen_version)(core::ptr::null_mut(), &raw mut minor) });
    status(
        "nt.version.null_output_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    let mut extra = [0xffu8; 16];
    // SAFETY: 16 writable bytes, XEN_EXTRAVERSION_LEN.
    let s = drv(|| unsafe { (e.xen_version_extra)(extra.as_mut_ptr()) });
    status("nt.version.extraversion", s, STATUS_SUCCESS);
    let ours = xen::xen_version::extra_version(hv()).unwrap_or_default();
    check(
        "nt.version.extraversion_matches_xen",
        extra == ours && extra.first() == Some(&b'.') && extra.contains(&0),
        format_args!(
            "{:?}",
            core::str::from_utf8(extra.split(|&b| b == 0).next().unwrap_or_default())
        ),
    );
    let v = xen_services::PACKAGE_VERSION;
    let name = c"nt-xen";
    // SAFETY: a NUL-terminated name; no output.
    let s = drv(|| unsafe {
        (e.xen_touch)(name.as_ptr().cast(), v.major, v.minor, v.micro, v.build + 1)
    });
    status(
        "nt.touch.other_version_blocked",
        s,
        STATUS_INCOMPATIBLE_DRIVER_BLOCKED,
    );
    // SAFETY: as above.
    let s =
        drv(|| unsafe { (e.xen_touch)(name.as_ptr().cast(), v.major, v.minor, v.micro, v.build) });
    status("nt.touch.same_version", s, STATUS_SUCCESS);
    // SAFETY: as above.
    let s =
        drv(|| unsafe { (e.xen_touch)(name.as_ptr().cast(), v.major, v.minor, v.micro, v.build) });
    status("nt.touch.again", s, STATUS_SUCCESS);
}

/// `HvmSetParam`, `HvmGetParam`, `HvmPagetableDying`, `HvmSetEvtchnUpcallVector`.
///
/// No upcall delivery is configured (no callback vector, no per-vCPU vector): the stand-in runs
/// with interrupts off, and an interrupt Xen holds for it would abort QEMU at the next `cr8`
/// write (see `nt::cr8`). So the parameter round trip uses `HVM_PARAM_STORE_EVTCHN`, and the
/// upcall vector only its refusals.
fn hvm(e: &Exports) {
    // 0 as dom0; the store's channel as a domU, put back at the end.
    let original = xen::hvm::get_param(hv(), HVM_PARAM_STORE_EVTCHN).unwrap_or(0);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.hvm_set_param)(HVM_PARAM_STORE_EVTCHN, 7) });
    status("nt.hvm.set_param", s, STATUS_SUCCESS);
    eq(
        "nt.hvm.set_param_reached_xen",
        xen::hvm::get_param(hv(), HVM_PARAM_STORE_EVTCHN),
        Ok(7),
    );
    let _ = xen::hvm::set_param(hv(), HVM_PARAM_STORE_EVTCHN, 9);
    let mut value = 0u64;
    // SAFETY: `value` is ours and writable.
    let s = drv(|| unsafe { (e.hvm_get_param)(HVM_PARAM_STORE_EVTCHN, &raw mut value) });
    check(
        "nt.hvm.get_param_reads_xen",
        s == STATUS_SUCCESS && value == 9,
        format_args!("status {:#x}, value {value}", s.cast_unsigned()),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.hvm_set_param)(HVM_PARAM_STORE_EVTCHN, original) });
    status("nt.hvm.set_param_back", s, STATUS_SUCCESS);
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.hvm_get_param)(HVM_PARAM_CALLBACK_IRQ, &raw mut value) });
    check(
        "nt.hvm.no_callback_configured",
        s == STATUS_SUCCESS && value == 0,
        format_args!("status {:#x}, value {value:#x}", s.cast_unsigned()),
    );
    // A parameter a guest may read that nobody set: the console's channel as dom0 (an HVM
    // domU has a console), altp2m (off) as a domU.
    let unset = if crate::boot::is_hvm() {
        HVM_PARAM_ALTP2M
    } else {
        HVM_PARAM_CONSOLE_EVTCHN
    };
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.hvm_get_param)(unset, &raw mut value) });
    check(
        "nt.hvm.get_param_unset_is_zero",
        s == STATUS_SUCCESS && value == 0,
        format_args!("status {:#x}, value {value}", s.cast_unsigned()),
    );
    // SAFETY: a NULL output is refused before any hypercall.
    let s = drv(|| unsafe { (e.hvm_get_param)(HVM_PARAM_CALLBACK_IRQ, core::ptr::null_mut()) });
    status("nt.hvm.get_param_null_refused", s, STATUS_INVALID_PARAMETER);
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.hvm_get_param)(HVM_NR_PARAMS, &raw mut value) });
    status("nt.hvm.get_param_out_of_range", s, STATUS_INVALID_PARAMETER);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.hvm_set_param)(HVM_PARAM_STORE_PFN, 1) });
    status("nt.hvm.set_param_forbidden", s, STATUS_ACCESS_DENIED);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.hvm_set_param)(HVM_PARAM_PAE_ENABLED, 1) });
    status("nt.hvm.set_param_deprecated", s, STATUS_INVALID_PARAMETER);
    // SAFETY: a hint about an address; no memory is touched.
    let s = drv(|| unsafe { (e.hvm_pagetable_dying)(0x1000) });
    status(
        "nt.hvm.pagetable_dying_without_shadow",
        s,
        STATUS_INVALID_PARAMETER,
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.hvm_set_evtchn_upcall_vector)(0, 0) });
    status(
        "nt.hvm.upcall_vector_zero_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.hvm_set_evtchn_upcall_vector)(7, PER_VCPU_VECTOR) });
    status(
        "nt.hvm.upcall_vector_bad_vcpu",
        s,
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
}

/// `MemoryAddToPhysmap(XENMAPSPACE_shared_info)` and `MemoryRemoveFromPhysmap`.
fn shared_info(e: &Exports) {
    let pfn = usize::try_from(SHARED_INFO_GFN).unwrap_or(0);
    // SAFETY: SHARED_INFO_GFN is outside dom0's memory: nothing of ours is there.
    let s = drv(|| unsafe { (e.memory_add_to_physmap)(pfn, XENMAPSPACE_SHARED_INFO, 0) });
    status("nt.memory.add_to_physmap_shared_info", s, STATUS_SUCCESS);
    crate::events::use_shared_info(SHARED_INFO_GFN);
    // SAFETY: no pointers.
    drv(|| unsafe { (e.sched_yield)() });
    let (mul, version) = shm::time_record(0);
    check(
        "nt.memory.shared_info_is_live",
        mul != 0 && version != 0 && version % 2 == 0,
        format_args!("tsc_to_system_mul {mul:#x}, version {version}"),
    );
    let never = usize::try_from(NEVER_MAPPED_GFN).unwrap_or(0);
    // SAFETY: nothing is mapped at NEVER_MAPPED_GFN; the call fails.
    let s = drv(|| unsafe { (e.memory_remove_from_physmap)(never) });
    // SAFETY: as above, through the stand-in's own hypercall.
    let ours = unsafe { xen::memory::remove_from_physmap(hv(), NEVER_MAPPED_GFN) };
    check(
        "nt.memory.remove_unmapped_fails_as_xen_says",
        s != STATUS_SUCCESS && ours.err().map(xen::status::Error::ntstatus) == Some(s),
        format_args!("xen.sys {:#x}, direct {ours:?}", s.cast_unsigned()),
    );
}

/// `MemoryDecreaseReservation` and `MemoryPopulatePhysmap` of one page of ours.
fn reservation(e: &Exports) {
    let before = xen::memory::current_reservation(hv(), DOMID_SELF).unwrap_or(0);
    shm::fill(&BALLOON, 0x5a);
    let mut pfns = [usize::try_from(BALLOON.gfn()).unwrap_or(0)];
    let mut done = 99u32;
    // SAFETY: BALLOON is only touched again after it is repopulated below.
    let s =
        drv(|| unsafe { (e.memory_decrease_reservation)(0, 1, pfns.as_mut_ptr(), &raw mut done) });
    check(
        "nt.memory.decrease_reservation",
        s == STATUS_SUCCESS && done == 1,
        format_args!("status {:#x}, {done} extents", s.cast_unsigned()),
    );
    eq(
        "nt.memory.decrease_reached_xen",
        xen::memory::current_reservation(hv(), DOMID_SELF),
        Ok(before.saturating_sub(1)),
    );
    // SAFETY: the frame is ours and currently unbacked.
    let s = drv(|| unsafe { (e.memory_populate_physmap)(0, 1, pfns.as_mut_ptr(), &raw mut done) });
    check(
        "nt.memory.populate_physmap",
        s == STATUS_SUCCESS && done == 1,
        format_args!("status {:#x}, {done} extents", s.cast_unsigned()),
    );
    eq(
        "nt.memory.populate_reached_xen",
        xen::memory::current_reservation(hv(), DOMID_SELF),
        Ok(before),
    );
    shm::fill(&BALLOON, 0xa5);
    check(
        "nt.memory.populated_page_is_usable",
        (0..4096)
            .step_by(512)
            .all(|i| shm::read_frame_byte(BALLOON.gfn(), i) == 0xa5),
        format_args!("gfn {:#x}", BALLOON.gfn()),
    );
    let mut never = [usize::try_from(NEVER_MAPPED_GFN).unwrap_or(0)];
    // SAFETY: nothing is at NEVER_MAPPED_GFN.
    let s =
        drv(|| unsafe { (e.memory_decrease_reservation)(0, 1, never.as_mut_ptr(), &raw mut done) });
    check(
        "nt.memory.decrease_unbacked_is_partial_success",
        s == STATUS_SUCCESS && done == 0,
        format_args!("status {:#x}, {done} extents", s.cast_unsigned()),
    );
    // SAFETY: a NULL output is refused before any hypercall.
    let s = drv(|| unsafe {
        (e.memory_populate_physmap)(0, 1, pfns.as_mut_ptr(), core::ptr::null_mut())
    });
    status(
        "nt.memory.populate_null_result_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
}

/// The 2-level event-channel exports, on a loopback pair (`a` and `b`; `c` for error paths).
#[allow(clippy::too_many_lines, clippy::many_single_char_names)] // One scenario, told in order.
fn event_channels(e: &Exports, vcpus: u32) {
    let mut a = 0u32;
    // SAFETY: `a` is ours and writable.
    let s = drv(|| unsafe { (e.event_channel_allocate_unbound)(DOMID_SELF, &raw mut a) });
    check(
        "nt.evtchn.allocate_unbound",
        s == STATUS_SUCCESS && a != 0,
        format_args!("status {:#x}, port {a}", s.cast_unsigned()),
    );
    let mut b = 0u32;
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.event_channel_bind_inter_domain)(DOMID_SELF, a, &raw mut b) });
    check(
        "nt.evtchn.bind_inter_domain_loopback",
        s == STATUS_SUCCESS && b != 0 && b != a,
        format_args!("status {:#x}, port {b}", s.cast_unsigned()),
    );
    check(
        "nt.evtchn.bind_sets_pending",
        shm::pending(b),
        format_args!("Xen marks a new interdomain port pending: port {b}"),
    );
    let (mut dom, mut port) = (0xffffu16, 0u32);
    // SAFETY: both outputs are ours.
    let s = drv(|| unsafe { (e.event_channel_query_inter_domain)(b, &raw mut dom, &raw mut port) });
    check(
        "nt.evtchn.query_inter_domain",
        s == STATUS_SUCCESS && dom == self_id() && port == a,
        format_args!("status {:#x}, {dom}:{port}", s.cast_unsigned()),
    );
    // SAFETY: a NULL output is refused.
    let s = drv(|| unsafe {
        (e.event_channel_query_inter_domain)(b, core::ptr::null_mut(), &raw mut port)
    });
    status("nt.evtchn.query_null_refused", s, STATUS_INVALID_PARAMETER);
    shm::clear_pending(a);
    shm::clear_pending(b);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.event_channel_send)(a) });
    check(
        "nt.evtchn.send_reaches_peer",
        s == STATUS_SUCCESS && shm::pending(b) && !shm::pending(a),
        format_args!(
            "status {:#x}, peer pending {}",
            s.cast_unsigned(),
            shm::pending(b)
        ),
    );
    shm::clear_pending(b);
    shm::set_mask(b, true);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.event_channel_send)(a) });
    check(
        "nt.evtchn.send_to_masked_port_latches",
        s == STATUS_SUCCESS && shm::pending(b) && shm::masked(b),
        format_args!("pending {}, masked {}", shm::pending(b), shm::masked(b)),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.event_channel_unmask)(b) });
    check(
        "nt.evtchn.unmask_clears_mask",
        s == STATUS_SUCCESS && !shm::masked(b),
        format_args!("status {:#x}, masked {}", s.cast_unsigned(), shm::masked(b)),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.event_channel_bind_virtual_cpu)(b, 1) });
    if vcpus == 2 {
        status("nt.evtchn.bind_vcpu1", s, STATUS_SUCCESS);
        eq(
            "nt.evtchn.bind_vcpu_reached_xen",
            xen::event_channel::status(hv(), b).map(|st| st.vcpu),
            Ok(1),
        );
        // SAFETY: no pointers.
        let back = drv(|| unsafe { (e.event_channel_bind_virtual_cpu)(b, 0) });
        status("nt.evtchn.bind_vcpu0", back, STATUS_SUCCESS);
    } else {
        status(
            "nt.evtchn.bind_missing_vcpu",
            s,
            STATUS_OBJECT_NAME_NOT_FOUND,
        );
    }
    let mut timer = 0u32;
    // SAFETY: `timer` is ours.
    let s = drv(|| unsafe { (e.event_channel_bind_virq)(VIRQ_TIMER, 0, &raw mut timer) });
    check(
        "nt.evtchn.bind_virq_timer",
        s == STATUS_SUCCESS
            && xen::event_channel::status(hv(), timer).map(|st| st.binding)
                == Ok(xen::event_channel::Binding::Virq(VIRQ_TIMER)),
        format_args!("status {:#x}, port {timer}", s.cast_unsigned()),
    );
    let mut again = 0u32;
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.event_channel_bind_virq)(VIRQ_TIMER, 0, &raw mut again) });
    status(
        "nt.evtchn.bind_virq_twice_exists",
        s,
        STATUS_OBJECTID_EXISTS,
    );
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.event_channel_bind_virq)(VIRQ_DOM_EXC, 1, &raw mut again) });
    status(
        "nt.evtchn.bind_global_virq_to_vcpu1",
        s,
        STATUS_INVALID_PARAMETER,
    );
    for (name, p) in [
        ("nt.evtchn.close_virq", timer),
        ("nt.evtchn.close_local", a),
        ("nt.evtchn.close_peer", b),
    ] {
        // SAFETY: no pointers.
        let s = drv(|| unsafe { (e.event_channel_close)(p) });
        status(name, s, STATUS_SUCCESS);
    }
    eq(
        "nt.evtchn.closed_in_xen",
        xen::event_channel::status(hv(), b).map(|st| st.binding),
        Ok(xen::event_channel::Binding::Closed),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.event_channel_send)(b) });
    status("nt.evtchn.send_closed_port", s, STATUS_INVALID_PARAMETER);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.event_channel_close)(100_000) });
    status("nt.evtchn.close_bad_port", s, STATUS_INVALID_PARAMETER);
    // SAFETY: a NULL output is refused.
    let s =
        drv(|| unsafe { (e.event_channel_allocate_unbound)(DOMID_SELF, core::ptr::null_mut()) });
    status(
        "nt.evtchn.allocate_null_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    let mut c = 0u32;
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.event_channel_bind_inter_domain)(DOMID_INVALID, 1, &raw mut c) });
    status("nt.evtchn.bind_bad_domid", s, STATUS_UNSUCCESSFUL);
}

/// `EventChannelInitControl`, `EventChannelExpandArray` and `EventChannelReset` (the FIFO ABI
/// and back to 2-level).
fn fifo(e: &Exports, vcpus: u32) {
    let never = usize::try_from(NEVER_MAPPED_GFN).unwrap_or(0);
    // SAFETY: nothing is at NEVER_MAPPED_GFN; the call fails.
    let s = drv(|| unsafe { (e.event_channel_init_control)(never, 0) });
    status(
        "nt.fifo.init_control_bad_frame",
        s,
        STATUS_INVALID_PARAMETER,
    );
    let control = |cpu: usize| {
        FIFO_CONTROL
            .get(cpu)
            .map_or(0, |p| usize::try_from(p.gfn()).unwrap_or(0))
    };
    // SAFETY: FIFO_CONTROL[0] is a page of ours for Xen's control block (until the reset).
    let s = drv(|| unsafe { (e.event_channel_init_control)(control(0), 0) });
    status("nt.fifo.init_control", s, STATUS_SUCCESS);
    if vcpus == 2 {
        // SAFETY: as above, for vCPU 1.
        let s = drv(|| unsafe { (e.event_channel_init_control)(control(1), 1) });
        status("nt.fifo.init_control_vcpu1", s, STATUS_SUCCESS);
    }
    let array = usize::try_from(FIFO_ARRAY[0].gfn()).unwrap_or(0);
    // SAFETY: FIFO_ARRAY[0] is a page of ours for Xen's event array (until the reset).
    let s = drv(|| unsafe { (e.event_channel_expand_array)(array) });
    status("nt.fifo.expand_array", s, STATUS_SUCCESS);
    let mut a = 0u32;
    // SAFETY: `a` is ours.
    let s = drv(|| unsafe { (e.event_channel_allocate_unbound)(DOMID_SELF, &raw mut a) });
    status("nt.fifo.allocate_under_fifo", s, STATUS_SUCCESS);
    // SAFETY: no pointers; the pages go back to us.
    let s = drv(|| unsafe { (e.event_channel_reset)() });
    status("nt.fifo.reset", s, STATUS_SUCCESS);
    eq(
        "nt.fifo.reset_closed_ports",
        xen::event_channel::status(hv(), a).map(|st| st.binding),
        Ok(xen::event_channel::Binding::Closed),
    );
    let mut b = 0u32;
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.event_channel_allocate_unbound)(DOMID_SELF, &raw mut b) });
    shm::clear_pending(b);
    // SAFETY: no pointers.
    let _ = drv(|| unsafe { (e.event_channel_bind_inter_domain)(DOMID_SELF, b, &raw mut a) });
    check(
        "nt.fifo.back_to_2level",
        s == STATUS_SUCCESS && shm::pending(a),
        format_args!("a new pair marks its port in shared_info's bitmap again"),
    );
    for p in [a, b] {
        // SAFETY: no pointers.
        let _ = drv(|| unsafe { (e.event_channel_close)(p) });
    }
}

/// Writes v1 grant entry `reference` of frame 0 (mapped at `GRANT_FRAME_GFN`).
fn write_grant(reference: u32, flags: u16, frame: u64) {
    let base = usize::try_from(GRANT_FRAME_GFN << 12).unwrap_or(0);
    let entry = base + 8 * usize::try_from(reference).unwrap_or(0);
    let flags_ptr = core::ptr::with_exposed_provenance_mut::<u16>(entry);
    let domid_ptr = core::ptr::with_exposed_provenance_mut::<u16>(entry + 2);
    let frame_ptr = core::ptr::with_exposed_provenance_mut::<u32>(entry + 4);
    // SAFETY: grant frame 0 is mapped at GRANT_FRAME_GFN (identity-mapped), `reference` is one
    // of its low entries.
    unsafe { domid_ptr.write_volatile(self_id()) };
    // SAFETY: as above.
    unsafe { frame_ptr.write_volatile(u32::try_from(frame).unwrap_or(0)) };
    core::sync::atomic::fence(Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { flags_ptr.write_volatile(flags) };
}

fn pattern(i: usize) -> u8 {
    u8::try_from(i * 13 % 251).unwrap_or(0)
}

/// The grant-table exports: sizes, versions, a copy and a map through our own grant.
#[allow(clippy::too_many_lines)] // One scenario, told in order.
fn grant_tables(e: &Exports) {
    let (mut current, mut maximum) = (0u32, 0u32);
    // SAFETY: both outputs are ours.
    let s = drv(|| unsafe { (e.grant_table_query_size)(&raw mut current, &raw mut maximum) });
    check(
        "nt.gnttab.query_size",
        s == STATUS_SUCCESS
            && current >= 1
            && maximum >= current
            && xen::grant_table::query_size(hv()) == Ok((current, maximum)),
        format_args!(
            "status {:#x}, {current} of {maximum} frames",
            s.cast_unsigned()
        ),
    );
    // SAFETY: either output may be NULL.
    let s = drv(|| unsafe { (e.grant_table_query_size)(core::ptr::null_mut(), &raw mut maximum) });
    status("nt.gnttab.query_size_one_output", s, STATUS_SUCCESS);
    let mut version = 0u32;
    // SAFETY: `version` is ours.
    let s = drv(|| unsafe { (e.grant_table_get_version)(&raw mut version) });
    check(
        "nt.gnttab.get_version",
        s == STATUS_SUCCESS && version == 1,
        format_args!("status {:#x}, version {version}", s.cast_unsigned()),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.grant_table_set_version)(2) });
    status("nt.gnttab.set_version_2", s, STATUS_SUCCESS);
    eq(
        "nt.gnttab.version_2_reached_xen",
        xen::grant_table::get_version(hv()),
        Ok(2),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.grant_table_set_version)(1) });
    status("nt.gnttab.set_version_1", s, STATUS_SUCCESS);
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.grant_table_set_version)(3) });
    status(
        "nt.gnttab.set_version_3_invalid",
        s,
        STATUS_INVALID_PARAMETER,
    );

    let frame = usize::try_from(GRANT_FRAME_GFN).unwrap_or(0);
    // SAFETY: GRANT_FRAME_GFN is outside dom0's memory.
    let s = drv(|| unsafe { (e.memory_add_to_physmap)(frame, XENMAPSPACE_GRANT_TABLE, 0) });
    status("nt.gnttab.add_to_physmap_frame0", s, STATUS_SUCCESS);
    for i in 0..4096 {
        shm::write_frame_byte(GRANT_SRC.gfn(), i, pattern(i));
    }
    shm::fill(&GRANT_DST, 0);
    write_grant(REF_RW, GTF_PERMIT_ACCESS, GRANT_SRC.gfn());
    let mut ops = [GnttabCopy {
        source: GnttabCopyPtr {
            u: GnttabCopyPtrU { ref_: REF_RW },
            domid: DOMID_SELF,
            offset: 100,
        },
        dest: GnttabCopyPtr {
            u: GnttabCopyPtrU {
                gmfn: GRANT_DST.gfn(),
            },
            domid: DOMID_SELF,
            offset: 200,
        },
        len: 300,
        flags: GNTCOPY_SOURCE_GREF,
        status: 0,
    }];
    // SAFETY: one copy op into GRANT_DST, our own page.
    let s = drv(|| unsafe { (e.grant_table_copy)(ops.as_mut_ptr().cast::<c_void>(), 1) });
    let same = (0..300).all(|i| {
        shm::read_frame_byte(GRANT_DST.gfn(), 200 + i)
            == shm::read_frame_byte(GRANT_SRC.gfn(), 100 + i)
    });
    let untouched = shm::read_frame_byte(GRANT_DST.gfn(), 199) == 0
        && shm::read_frame_byte(GRANT_DST.gfn(), 500) == 0;
    check(
        "nt.gnttab.copy_through_own_grant",
        s == STATUS_SUCCESS && ops[0].status == 0 && same && untouched,
        format_args!(
            "status {:#x}, op status {}, data equal {same}, bounds kept {untouched}",
            s.cast_unsigned(),
            ops[0].status
        ),
    );

    let address = i64::try_from(GRANT_MAP_GFN << 12).unwrap_or(0);
    let mut handle = u32::MAX;
    // SAFETY: GRANT_MAP_GFN is outside dom0's memory and unused; GRANT_SRC is repopulated below
    // (on a translated guest Xen moves the frame).
    let s = drv(|| unsafe {
        (e.grant_table_map_foreign_page)(self_id(), REF_RW, address, 1, &raw mut handle)
    });
    let bad = (0..4096).find(|&i| shm::read_frame_byte(GRANT_MAP_GFN, i) != pattern(i));
    check(
        "nt.gnttab.map_foreign_page_reads_source",
        s == STATUS_SUCCESS && bad.is_none(),
        format_args!(
            "status {:#x}, handle {handle}, first difference {bad:?}",
            s.cast_unsigned()
        ),
    );
    // SAFETY: nothing uses the mapping any more.
    let s = drv(|| unsafe { (e.grant_table_unmap_foreign_page)(handle, address) });
    status("nt.gnttab.unmap_foreign_page", s, STATUS_SUCCESS);
    // SAFETY: as above; the handle is gone.
    let s = drv(|| unsafe { (e.grant_table_unmap_foreign_page)(handle, address) });
    status("nt.gnttab.unmap_twice_bad_handle", s, STATUS_INVALID_HANDLE);
    let mut frames = [GRANT_SRC.gfn()];
    // SAFETY: GRANT_SRC's frame is unbacked after the self-map; this backs it again.
    let _ = unsafe { xen::memory::populate_physmap(hv(), 0, &mut frames) };
    // SAFETY: the call fails without mapping anything.
    let s = drv(|| unsafe {
        (e.grant_table_map_foreign_page)(DOMID_INVALID, REF_RW, address, 1, &raw mut handle)
    });
    status("nt.gnttab.map_bad_domid", s, STATUS_UNSUCCESSFUL);
    // SAFETY: a NULL handle output is refused.
    let s = drv(|| unsafe {
        (e.grant_table_map_foreign_page)(self_id(), REF_RW, address, 1, core::ptr::null_mut())
    });
    status(
        "nt.gnttab.map_null_handle_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    write_grant(REF_RW, 0, 0);
}

/// `SchedYield`, `SchedWatchdog`, `SystemSetWatchdog`/`SystemStopWatchdog`,
/// `SchedShutdownCode`.
fn sched(e: &Exports) {
    let before = crate::events::now_ns();
    // SAFETY: no pointers.
    drv(|| unsafe { (e.sched_yield)() });
    check(
        "nt.sched.yield_returns",
        crate::events::now_ns() >= before,
        format_args!("system time {before} ns before"),
    );
    let mut id = 0u32;
    // SAFETY: `id` is ours.
    let s = drv(|| unsafe { (e.sched_watchdog)(&raw mut id, 60) });
    check(
        "nt.sched.watchdog_create",
        s == STATUS_SUCCESS && id != 0,
        format_args!("status {:#x}, id {id}", s.cast_unsigned()),
    );
    let created = id;
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.sched_watchdog)(&raw mut id, 60) });
    check(
        "nt.sched.watchdog_pat",
        s == STATUS_SUCCESS && id == created,
        format_args!("status {:#x}, id {id}", s.cast_unsigned()),
    );
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.sched_watchdog)(&raw mut id, 0) });
    status("nt.sched.watchdog_destroy", s, STATUS_SUCCESS);
    eq(
        "nt.sched.watchdog_destroyed_in_xen",
        xen::sched::watchdog(hv(), created, 60).map_err(xen::status::Error::ntstatus),
        Err(STATUS_INVALID_PARAMETER),
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.system_set_watchdog)(0) });
    status(
        "nt.system.set_watchdog_zero_refused",
        s,
        STATUS_INVALID_PARAMETER,
    );
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.system_set_watchdog)(60) });
    status("nt.system.set_watchdog", s, STATUS_SUCCESS);
    // Xen keeps two watchdog slots: with xen.sys's one armed, the stand-in gets the other and
    // then none.
    let second = xen::sched::watchdog(hv(), 0, 60);
    let third = xen::sched::watchdog(hv(), 0, 60).map_err(xen::status::Error::ntstatus);
    check(
        "nt.system.watchdog_armed_in_xen",
        second.is_ok() && third == Err(STATUS_INSUFFICIENT_RESOURCES),
        format_args!("second slot {second:?}, third {third:?}"),
    );
    if let Ok(id) = second {
        let _ = xen::sched::watchdog(hv(), id, 0);
    }
    // SAFETY: no pointers.
    let s = drv(|| unsafe { (e.system_set_watchdog)(60) });
    status("nt.system.set_watchdog_pats", s, STATUS_SUCCESS);
    // SAFETY: no pointers.
    drv(|| unsafe { (e.system_stop_watchdog)() });
    let freed = xen::sched::watchdog(hv(), 0, 60);
    let other = xen::sched::watchdog(hv(), 0, 60);
    check(
        "nt.system.stop_watchdog_frees_the_slot",
        freed.is_ok() && other.is_ok(),
        format_args!("both slots free again: {freed:?}, {other:?}"),
    );
    for id in [freed, other].into_iter().flatten() {
        let _ = xen::sched::watchdog(hv(), id, 0);
    }
    // SAFETY: no pointers. The effect shows at the end of the run: the stand-in asks for a
    // poweroff and Xen reboots (scripts/nt-xen-test checks Xen's message).
    let s = drv(|| unsafe { (e.sched_shutdown_code)(SHUTDOWN_REBOOT) });
    status("nt.sched.shutdown_code", s, STATUS_SUCCESS);
}

/// `VcpuSetPeriodicTimer`, `VcpuRegisterVcpuInfo`.
fn vcpu(e: &Exports, vcpus: u32) {
    let mut period = 10_000_000i64; // 1 s in 100 ns units.
    // SAFETY: `period` is ours.
    let s = drv(|| unsafe { (e.vcpu_set_periodic_timer)(0, &raw mut period) });
    status("nt.vcpu.set_periodic_timer", s, STATUS_SUCCESS);
    // SAFETY: NULL stops the timer.
    let s = drv(|| unsafe { (e.vcpu_set_periodic_timer)(0, core::ptr::null_mut()) });
    status("nt.vcpu.stop_periodic_timer", s, STATUS_SUCCESS);
    let mut short = 5_000i64; // 0.5 ms: below Xen's 1 ms minimum.
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.vcpu_set_periodic_timer)(0, &raw mut short) });
    status(
        "nt.vcpu.periodic_timer_below_1ms",
        s,
        STATUS_INVALID_PARAMETER,
    );
    // SAFETY: as above.
    let s = drv(|| unsafe { (e.vcpu_set_periodic_timer)(vcpus, &raw mut period) });
    status(
        "nt.vcpu.periodic_timer_missing_vcpu",
        s,
        STATUS_OBJECT_NAME_NOT_FOUND,
    );
    let pfn = usize::try_from(VCPU_INFO_PAGE.gfn()).unwrap_or(0);
    // SAFETY: the call fails (offset beyond the page) and registers nothing.
    let s = drv(|| unsafe { (e.vcpu_register_vcpu_info)(0, pfn, 4090) });
    status(
        "nt.vcpu.register_vcpu_info_bad_offset",
        s,
        STATUS_UNSUCCESSFUL,
    );
    // SAFETY: VCPU_INFO_PAGE is a page of ours dedicated to Xen's vcpu_info copy (vCPU 0 at
    // offset 0); registration is permanent.
    let s = drv(|| unsafe { (e.vcpu_register_vcpu_info)(0, pfn, 0) });
    status("nt.vcpu.register_vcpu_info", s, STATUS_SUCCESS);
    if let Some(slot) = VCPU_INFO.first() {
        slot.store(VCPU_INFO_PAGE.words().cast::<VcpuInfo>(), Ordering::SeqCst);
    }
    // SAFETY: no pointers.
    drv(|| unsafe { (e.sched_yield)() });
    let (mul, version) = shm::time_record(0);
    check(
        "nt.vcpu.registered_vcpu_info_maintained",
        mul != 0 && version != 0,
        format_args!("time record at the new place: mul {mul:#x}, version {version}"),
    );
    // SAFETY: refused (already registered); nothing changes.
    let s = drv(|| unsafe { (e.vcpu_register_vcpu_info)(0, pfn, 0) });
    status(
        "nt.vcpu.register_vcpu_info_twice",
        s,
        STATUS_INVALID_PARAMETER,
    );
    arch::pause();
}
