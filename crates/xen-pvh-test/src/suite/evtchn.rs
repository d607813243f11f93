// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Event channels under the 2-level ABI, with upcalls through the callback vector.

use super::{check_eq, hv, shm};
use crate::events::{self, take_delivered, upcalls};
use crate::harness::{check, ok, status};
use xen::event_channel::{self as evtchn, Binding};
use xen::status::{STATUS_INVALID_PARAMETER, STATUS_UNSUCCESSFUL};
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF};

/// Milliseconds, in the nanoseconds `events::wait_for` takes.
pub const MS: u64 = 1_000_000;

/// A loopback pair: `(unbound end, bound end)`, both ours. The bind's pending bit is cleared.
pub fn loopback() -> Option<(u32, u32)> {
    let xen = hv();
    let a = evtchn::allocate_unbound(xen, DOMID_SELF).ok()?;
    let b = evtchn::bind_inter_domain(xen, DOMID_SELF, a).ok()?;
    shm::clear_pending(b);
    Some((a, b))
}

/// Closes both ends of a loopback pair.
pub fn close_pair((a, b): (u32, u32)) {
    let _ = evtchn::close(hv(), a);
    let _ = evtchn::close(hv(), b);
}

/// Lets pending upcalls run, then forgets what they delivered.
pub fn settle(cpu: usize, ports: &[u32]) {
    events::wait_for(5 * MS, || false);
    for &p in ports {
        let _ = take_delivered(cpu, p);
    }
}

/// Whether the upcall handler on `cpu` sees `port` within a second.
pub fn delivered(cpu: usize, port: u32) -> bool {
    events::wait_for(1_000 * MS, || take_delivered(cpu, port))
}

/// Every 2-level check.
pub fn two_level() {
    if let Some((a, b)) = bind_pair() {
        delivery(a, b);
        unbound_and_close(a, b);
    }
    error_paths();
}

/// `alloc_unbound`, `bind_interdomain` and `status`.
fn bind_pair() -> Option<(u32, u32)> {
    let xen = hv();
    let a = ok(
        "evtchn.alloc_unbound",
        evtchn::allocate_unbound(xen, DOMID_SELF),
    )?;
    check_eq(
        "evtchn.status_unbound",
        evtchn::status(xen, a).map(|s| s.binding),
        Ok(Binding::Unbound { domain: 0 }),
    );
    let b = ok(
        "evtchn.bind_interdomain_loopback",
        evtchn::bind_inter_domain(xen, DOMID_SELF, a),
    )?;
    // Xen marks a freshly bound interdomain port pending (its fix-up for lost notifications).
    check(
        "evtchn.bind_sets_pending",
        shm::pending(b),
        format_args!("port {b} pending {}", shm::pending(b)),
    );
    check_eq(
        "evtchn.status_interdomain",
        evtchn::status(xen, b),
        Ok(evtchn::PortStatus {
            binding: Binding::InterDomain { domain: 0, port: a },
            vcpu: 0,
        }),
    );
    check_eq(
        "evtchn.query_interdomain",
        evtchn::query_inter_domain(xen, a),
        Ok((0, b)),
    );
    settle(0, &[a, b]);
    Some((a, b))
}

/// send, the pending and selector bits, upcalls, mask and unmask.
fn delivery(a: u32, b: u32) {
    let xen = hv();
    // send: pending bit, selector bit and upcall_pending, then a real upcall.
    shm::clear_pending(b);
    let before = upcalls(0, 0);
    ok("evtchn.send", evtchn::send(xen, a));
    let sel_bit = 1_u64 << (b / 64);
    check(
        "evtchn.send_sets_pending_and_selector",
        shm::pending(b) && shm::pending_sel(0) & sel_bit != 0 && shm::upcall_pending(0),
        format_args!(
            "pending {}, sel {:#x}, upcall_pending {}",
            shm::pending(b),
            shm::pending_sel(0),
            shm::upcall_pending(0)
        ),
    );
    check(
        "evtchn.upcall_delivers_port",
        delivered(0, b) && upcalls(0, 0) > before,
        format_args!("callback-vector upcalls {before} -> {}", upcalls(0, 0)),
    );
    check(
        "evtchn.upcall_acknowledged",
        !shm::pending(b) && !shm::upcall_pending(0),
        format_args!(
            "pending {}, upcall_pending {}",
            shm::pending(b),
            shm::upcall_pending(0)
        ),
    );

    // Mask: the event is latched but not delivered; unmask re-delivers it.
    shm::set_mask(b, true);
    ok("evtchn.send_masked", evtchn::send(xen, a));
    let quiet = !events::wait_for(30 * MS, || take_delivered(0, b));
    check(
        "evtchn.masked_port_latched_not_delivered",
        quiet && shm::pending(b) && shm::masked(b),
        format_args!("delivered {}, pending {}", !quiet, shm::pending(b)),
    );
    ok("evtchn.unmask", evtchn::unmask(xen, b));
    check(
        "evtchn.unmask_redelivers",
        !shm::masked(b) && delivered(0, b),
        format_args!("masked {}", shm::masked(b)),
    );

    // The other direction.
    ok("evtchn.send_reverse", evtchn::send(xen, b));
    check(
        "evtchn.reverse_delivery",
        delivered(0, a),
        format_args!("port {a}"),
    );
}

/// An unbound port, then closing the pair.
fn unbound_and_close(a: u32, b: u32) {
    let xen = hv();
    // An unbound port: not interdomain for upstream's query; sending to it is dropped.
    if let Ok(c) = evtchn::allocate_unbound(xen, DOMID_SELF) {
        status(
            "evtchn.query_interdomain_unbound_is_invalid",
            evtchn::query_inter_domain(xen, c),
            STATUS_INVALID_PARAMETER,
        );
        check_eq(
            "evtchn.send_unbound_is_dropped",
            (evtchn::send(xen, c), shm::pending(c)),
            (Ok(()), false),
        );
        let _ = evtchn::close(xen, c);
    }

    // Close: the peer becomes unbound, then closed.
    ok("evtchn.close", evtchn::close(xen, a));
    check_eq(
        "evtchn.close_unbinds_peer",
        evtchn::status(xen, b).map(|s| s.binding),
        Ok(Binding::Unbound { domain: 0 }),
    );
    let _ = evtchn::close(xen, b);
    check_eq(
        "evtchn.status_closed",
        evtchn::status(xen, b).map(|s| s.binding),
        Ok(Binding::Closed),
    );
    status(
        "evtchn.send_closed_port",
        evtchn::send(xen, b),
        STATUS_INVALID_PARAMETER,
    );
}

/// Bad ports and domains.
fn error_paths() {
    let xen = hv();
    status(
        "evtchn.send_bad_port",
        evtchn::send(xen, 100_000),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.close_bad_port",
        evtchn::close(xen, 100_000),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.unmask_bad_port",
        evtchn::unmask(xen, 100_000),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.status_bad_port",
        evtchn::status(xen, 100_000),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.bind_interdomain_bad_port",
        evtchn::bind_inter_domain(xen, DOMID_SELF, 100_000),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.bind_interdomain_bad_domid",
        evtchn::bind_inter_domain(xen, DOMID_INVALID, 1),
        STATUS_UNSUCCESSFUL,
    );
    status(
        "evtchn.bind_vcpu_bad_port",
        evtchn::bind_virtual_cpu(xen, 100_000, 0),
        STATUS_INVALID_PARAMETER,
    );
    status(
        "evtchn.set_priority_under_2level",
        evtchn::set_priority(xen, 1, 3),
        xen::status::STATUS_NOT_IMPLEMENTED,
    );
}
