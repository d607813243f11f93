// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FIFO event-channel ABI, and the way back to 2-level (`EVTCHNOP_reset`, as upstream
//! xenbus leaves FIFO).

use super::evtchn::{MS, close_pair, delivered, settle};
use super::{FIFO_ARRAY, FIFO_CONTROL, NEVER_MAPPED_GFN, VCPUS, check_eq, hv, shm};
use crate::events::{self, FIFO, upcalls};
use crate::harness::{check, ok, status};
use core::sync::atomic::Ordering;
use xen::event_channel as evtchn;
use xen::status::{STATUS_INVALID_PARAMETER, STATUS_NOT_IMPLEMENTED, STATUS_OBJECT_NAME_NOT_FOUND};
use xen_headers::event_channel::{
    EVTCHN_FIFO_LINKED, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_PENDING, EVTCHN_FIFO_PRIORITY_DEFAULT,
};
use xen_headers::xen::DOMID_SELF;

const PENDING: u32 = 1 << EVTCHN_FIFO_PENDING;
const MASKED: u32 = 1 << EVTCHN_FIFO_MASKED;
const LINKED: u32 = 1 << EVTCHN_FIFO_LINKED;

/// The event word of `port` (first array page: ports below 1024).
fn word(port: u32) -> u32 {
    shm::read_u32(&FIFO_ARRAY[0], usize::try_from(port).unwrap_or(usize::MAX))
}

fn set_word(port: u32, value: u32) {
    if let Some(w) = shm::page_u32(&FIFO_ARRAY[0], usize::try_from(port).unwrap_or(usize::MAX)) {
        w.store(value, Ordering::SeqCst);
    }
}

/// vCPU 0's control block: `ready` is word 0, `head[q]` word 2 + q.
fn ready() -> u32 {
    shm::read_u32(&FIFO_CONTROL[0], 0)
}

fn head(queue: u32) -> u32 {
    shm::read_u32(&FIFO_CONTROL[0], 2 + usize::try_from(queue).unwrap_or(0))
}

fn clear_ready(queue: u32) {
    if let Some(w) = shm::page_u32(&FIFO_CONTROL[0], 0) {
        w.fetch_and(!(1 << queue), Ordering::SeqCst);
    }
}

/// Every FIFO check, then the return to 2-level.
pub fn fifo_and_fallback() {
    if setup() {
        if let Some((a, b)) = queues() {
            masking(a, b);
        }
        fallback();
    }
}

/// `init_control` and `expand_array`, with their error paths. True once FIFO is in use.
fn setup() -> bool {
    let xen = hv();
    // A control block Xen cannot map: refused, and the domain stays 2-level.
    // SAFETY: nothing is at NEVER_MAPPED_GFN; the call fails and keeps nothing.
    let bad = unsafe { evtchn::init_control(xen, NEVER_MAPPED_GFN, 0) };
    status("fifo.init_control_bad_frame", bad, STATUS_INVALID_PARAMETER);
    status(
        "fifo.failed_init_stays_2level",
        evtchn::set_priority(xen, 1, 3),
        STATUS_NOT_IMPLEMENTED,
    );

    FIFO.store(true, Ordering::SeqCst);
    // SAFETY: FIFO_CONTROL[0] is a static page dedicated to Xen's control block; it is only
    // read atomically until EVTCHNOP_reset gives it back.
    let init = unsafe { evtchn::init_control(xen, FIFO_CONTROL[0].gfn(), 0) };
    let Some(link_bits) = ok("fifo.init_control", init) else {
        FIFO.store(false, Ordering::SeqCst);
        return false;
    };
    check_eq("fifo.link_bits", link_bits, 17);
    // SAFETY: refused (vCPU 0 already has a control block).
    let twice = unsafe { evtchn::init_control(xen, FIFO_CONTROL[1].gfn(), 0) };
    status("fifo.init_control_twice", twice, STATUS_INVALID_PARAMETER);
    if VCPUS.load(Ordering::SeqCst) == 2 {
        // SAFETY: as above, for vCPU 1's page.
        let second = unsafe { evtchn::init_control(xen, FIFO_CONTROL[1].gfn(), 1) };
        ok("fifo.init_control_vcpu1", second);
    } else {
        // SAFETY: refused (no vCPU 1).
        let missing = unsafe { evtchn::init_control(xen, FIFO_CONTROL[1].gfn(), 1) };
        status(
            "fifo.init_control_missing_vcpu",
            missing,
            STATUS_OBJECT_NAME_NOT_FOUND,
        );
    }
    // SAFETY: FIFO_ARRAY[0] is a static page dedicated to Xen's event array (as above).
    let expanded = unsafe { evtchn::expand_array(xen, FIFO_ARRAY[0].gfn()) };
    ok("fifo.expand_array", expanded);
    // SAFETY: refused (unmappable frame).
    let bad_page = unsafe { evtchn::expand_array(xen, NEVER_MAPPED_GFN) };
    status(
        "fifo.expand_array_bad_frame",
        bad_page,
        STATUS_INVALID_PARAMETER,
    );
    true
}

/// Queues: the default one at bind, another after `set_priority`, and the upcall.
fn queues() -> Option<(u32, u32)> {
    let xen = hv();
    // A bound port is linked on the default queue.
    let a = evtchn::allocate_unbound(xen, DOMID_SELF).ok()?;
    let b = ok(
        "fifo.bind_interdomain",
        evtchn::bind_inter_domain(xen, DOMID_SELF, a),
    )?;
    let default_q = EVTCHN_FIFO_PRIORITY_DEFAULT;
    check(
        "fifo.bind_links_on_default_queue",
        word(b) & (PENDING | LINKED) == PENDING | LINKED && ready() & (1 << default_q) != 0,
        format_args!(
            "word {:#x}, ready {:#x}, head[7] {}",
            word(b),
            ready(),
            head(default_q)
        ),
    );

    // A port moved to queue 3 arrives there, with an upcall.
    ok("fifo.set_priority", evtchn::set_priority(xen, b, 3));
    set_word(b, 0);
    clear_ready(3);
    let before = upcalls(0, 1);
    ok("fifo.send", evtchn::send(xen, a));
    let raised = events::wait_for(100 * MS, || upcalls(0, 1) > before);
    check(
        "fifo.send_links_on_its_queue",
        word(b) & (PENDING | LINKED) == PENDING | LINKED && ready() & (1 << 3) != 0 && head(3) == b,
        format_args!(
            "word {:#x}, ready {:#x}, head[3] {}",
            word(b),
            ready(),
            head(3)
        ),
    );
    check(
        "fifo.send_raises_upcall",
        raised,
        format_args!("vector upcalls {before} -> {}", upcalls(0, 1)),
    );
    status(
        "fifo.set_priority_out_of_range",
        evtchn::set_priority(xen, b, 16),
        STATUS_INVALID_PARAMETER,
    );
    Some((a, b))
}

/// Masked: pending but not linked; `EVTCHNOP_unmask` links it.
fn masking(a: u32, b: u32) {
    let xen = hv();
    set_word(a, MASKED);
    ok("fifo.send_masked", evtchn::send(xen, b));
    check(
        "fifo.masked_port_not_linked",
        word(a) & (PENDING | LINKED | MASKED) == PENDING | MASKED,
        format_args!("word {:#x}", word(a)),
    );
    ok("fifo.unmask", evtchn::unmask(xen, a));
    check(
        "fifo.unmask_links",
        word(a) & (PENDING | LINKED | MASKED) == PENDING | LINKED,
        format_args!("word {:#x}", word(a)),
    );
}

/// `EVTCHNOP_reset`: ports closed and the 2-level ABI back.
fn fallback() {
    let xen = hv();
    ok("fifo.reset", evtchn::reset(xen));
    FIFO.store(false, Ordering::SeqCst);
    events::clear_bindings();
    check_eq(
        "fifo.reset_closes_ports",
        evtchn::status(xen, 1).map(|s| s.binding),
        Ok(evtchn::Binding::Closed),
    );
    status(
        "fifo.reset_back_to_2level",
        evtchn::set_priority(xen, 1, 3),
        STATUS_NOT_IMPLEMENTED,
    );
    for port in 0..64 {
        shm::clear_pending(port);
        shm::set_mask(port, false);
    }
    let Some(a2) = evtchn::allocate_unbound(xen, DOMID_SELF).ok() else {
        return;
    };
    let Some(b2) = evtchn::bind_inter_domain(xen, DOMID_SELF, a2).ok() else {
        return;
    };
    check(
        "fifo.fallback_2level_bind_pending_in_shared_info",
        shm::pending(b2),
        format_args!("port {b2}"),
    );
    settle(0, &[a2, b2]);
    let _ = evtchn::send(xen, a2);
    check(
        "fifo.fallback_2level_delivery",
        delivered(0, b2),
        format_args!("port {b2}"),
    );
    close_pair((a2, b2));
}
