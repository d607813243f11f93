// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FIFO ABI: control blocks, event-array pages, queue links and the way back to 2-level
//! (the PVH suite's `fifo.*` findings, plus Xen's linking rules).

#![allow(
    clippy::many_single_char_names,
    clippy::similar_names,
    reason = "port pairs are a and b, as in the PVH suite"
)]

mod common;

use common::{Guest, word32};
use xen::event_channel as evtchn;
use xen::status::Error;
use xen_headers::errno;
use xen_headers::event_channel::{
    EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_PENDING,
    EVTCHN_FIFO_PRIORITY_DEFAULT,
};
use xen_headers::xen::DOMID_SELF;
use xen_sim::SimConfig;

const PENDING: u32 = 1 << EVTCHN_FIFO_PENDING;
const MASKED: u32 = 1 << EVTCHN_FIFO_MASKED;
const LINKED: u32 = 1 << EVTCHN_FIFO_LINKED;

struct Fifo {
    g: Guest,
    control: *mut u8,
    array: *mut u8,
}

impl Fifo {
    fn word(&self, port: u32) -> u32 {
        word32(self.array, port as usize).load(std::sync::atomic::Ordering::SeqCst)
    }
    fn set_word(&self, port: u32, value: u32) {
        word32(self.array, port as usize).store(value, std::sync::atomic::Ordering::SeqCst);
    }
    fn ready(&self) -> u32 {
        word32(self.control, 0).load(std::sync::atomic::Ordering::SeqCst)
    }
    fn head(&self, q: u32) -> u32 {
        word32(self.control, 2 + q as usize).load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn fifo_guest(vcpus: u32) -> Fifo {
    let g = Guest::new(SimConfig {
        vcpus,
        ..SimConfig::default()
    });
    let (control_gfn, control) = g.sim.allocate(1);
    let (array_gfn, array) = g.sim.allocate(1);
    // SAFETY: pages allocated for Xen's use, touched only atomically.
    let result = unsafe { evtchn::init_control(&g.hv, control_gfn, 0) };
    assert_eq!(result, Ok(17));
    // SAFETY: as above.
    assert_eq!(unsafe { evtchn::expand_array(&g.hv, array_gfn) }, Ok(()));
    Fifo { g, control, array }
}

#[test]
fn init_control_errors_leave_the_domain_2level() {
    let g = Guest::new(SimConfig {
        vcpus: 1,
        ..SimConfig::default()
    });
    let hole = g.sim.hole(1);
    // SAFETY: refused; nothing is registered.
    let bad = unsafe { evtchn::init_control(&g.hv, hole, 0) };
    assert_eq!(bad, Err(Error::Errno(errno::EINVAL)));
    assert_eq!(
        evtchn::set_priority(&g.hv, 1, 3),
        Err(Error::Errno(errno::ENOSYS))
    );
    let (gfn, _) = g.sim.allocate(1);
    // SAFETY: refused (no vCPU 1).
    let missing = unsafe { evtchn::init_control(&g.hv, gfn, 1) };
    assert_eq!(missing, Err(Error::Errno(errno::ENOENT)));
    // SAFETY: refused (not FIFO yet).
    let early = unsafe { evtchn::expand_array(&g.hv, gfn) };
    assert_eq!(early, Err(Error::Errno(errno::EOPNOTSUPP)));
    assert_eq!(g.sim.audit().fifo_control_blocks, 0);
}

#[test]
fn second_control_block_for_a_vcpu_is_refused_and_bad_array_frames_too() {
    let f = fifo_guest(2);
    let (gfn, _) = f.g.sim.allocate(2);
    // SAFETY: refused (vCPU 0 has one).
    let twice = unsafe { evtchn::init_control(&f.g.hv, gfn, 0) };
    assert_eq!(twice, Err(Error::Errno(errno::EINVAL)));
    // SAFETY: a page for vCPU 1's control block.
    assert_eq!(unsafe { evtchn::init_control(&f.g.hv, gfn, 1) }, Ok(17));
    let hole = f.g.sim.hole(1);
    // SAFETY: refused (nothing at the frame).
    let bad = unsafe { evtchn::expand_array(&f.g.hv, hole) };
    assert_eq!(bad, Err(Error::Errno(errno::EINVAL)));
    let audit = f.g.sim.audit();
    assert_eq!((audit.fifo_pages, audit.fifo_control_blocks), (1, 2));
}

#[test]
fn bind_links_on_the_default_queue_and_raises_ready_and_upcall() {
    let f = fifo_guest(1);
    f.g.take_seen();
    let a = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let b = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a).unwrap();
    let q = EVTCHN_FIFO_PRIORITY_DEFAULT;
    assert_eq!(f.word(b) & (PENDING | LINKED), PENDING | LINKED);
    assert_eq!(f.ready(), 1 << q);
    assert_eq!(f.head(q), b);
    assert!(f.g.upcall_pending(0));
    assert_eq!(f.g.take_seen(), vec![0]);
}

#[test]
fn a_second_event_is_linked_behind_the_tail_without_a_new_upcall() {
    let f = fifo_guest(1);
    let a = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let b = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a).unwrap();
    f.g.take_seen();
    // b is linked and is the tail; an event on a goes behind it.
    evtchn::send(&f.g.hv, b).unwrap();
    assert_eq!(f.word(a) & (PENDING | LINKED), PENDING | LINKED);
    assert_eq!(f.word(b) & EVTCHN_FIFO_LINK_MASK, a);
    assert_eq!(f.head(EVTCHN_FIFO_PRIORITY_DEFAULT), b);
    assert!(f.g.take_seen().is_empty());
}

#[test]
fn set_priority_moves_the_next_event_to_its_queue() {
    let f = fifo_guest(1);
    let a = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let b = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a).unwrap();
    evtchn::set_priority(&f.g.hv, b, 3).unwrap();
    // The guest consumed the event: word and ready cleared, upcall acknowledged.
    f.set_word(b, 0);
    word32(f.control, 0).store(0, std::sync::atomic::Ordering::SeqCst);
    word32(f.control, 2 + 7).store(0, std::sync::atomic::Ordering::SeqCst);
    f.g.ack_upcall(0);
    f.g.take_seen();
    evtchn::send(&f.g.hv, a).unwrap();
    assert_eq!(f.word(b) & (PENDING | LINKED), PENDING | LINKED);
    assert_eq!(f.ready(), 1 << 3);
    assert_eq!(f.head(3), b);
    assert_eq!(f.g.take_seen(), vec![0]);
    assert_eq!(
        evtchn::set_priority(&f.g.hv, b, 16),
        Err(Error::Errno(errno::EINVAL))
    );
}

#[test]
fn masked_event_is_pending_but_not_linked_until_unmask() {
    let f = fifo_guest(1);
    let a = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let b = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a).unwrap();
    f.set_word(a, MASKED);
    evtchn::send(&f.g.hv, b).unwrap();
    assert_eq!(f.word(a) & (PENDING | LINKED | MASKED), PENDING | MASKED);
    evtchn::unmask(&f.g.hv, a).unwrap();
    assert_eq!(f.word(a) & (PENDING | LINKED | MASKED), PENDING | LINKED);
}

#[test]
fn events_pending_before_the_array_page_are_raised_when_it_arrives() {
    let g = Guest::default_guest();
    let a = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    let b = evtchn::bind_inter_domain(&g.hv, DOMID_SELF, a).unwrap();
    assert!(g.pending(b));
    let (control_gfn, control) = g.sim.allocate(1);
    let (array_gfn, array) = g.sim.allocate(1);
    // SAFETY: pages dedicated to Xen's use.
    unsafe { evtchn::init_control(&g.hv, control_gfn, 0) }.unwrap();
    g.ack_upcall(0);
    g.take_seen();
    // SAFETY: as above.
    unsafe { evtchn::expand_array(&g.hv, array_gfn) }.unwrap();
    let word = word32(array, b as usize).load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(word & (PENDING | LINKED), PENDING | LINKED);
    assert_eq!(
        word32(control, 2 + 7).load(std::sync::atomic::Ordering::SeqCst),
        b
    );
    assert_eq!(g.take_seen(), vec![0]);
}

#[test]
fn reset_closes_ports_and_returns_to_2level_delivery() {
    let f = fifo_guest(1);
    let a = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let _b = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a).unwrap();
    evtchn::reset(&f.g.hv).unwrap();
    assert_eq!(
        evtchn::status(&f.g.hv, a).map(|s| s.binding),
        Ok(evtchn::Binding::Closed)
    );
    assert_eq!(
        evtchn::set_priority(&f.g.hv, 1, 3),
        Err(Error::Errno(errno::ENOSYS))
    );
    let audit = f.g.sim.audit();
    assert_eq!((audit.fifo_pages, audit.fifo_control_blocks), (0, 0));
    let a2 = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let b2 = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a2).unwrap();
    assert!(f.g.pending(b2), "2-level pending bit in shared_info again");
}

#[test]
fn a_linked_port_is_not_reused_until_the_guest_unlinks_it() {
    let f = fifo_guest(1);
    let a = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    let b = evtchn::bind_inter_domain(&f.g.hv, DOMID_SELF, a).unwrap();
    assert_eq!(f.word(b) & LINKED, LINKED);
    evtchn::close(&f.g.hv, b).unwrap();
    // Still LINKED (the guest has not consumed it): Xen skips it as busy.
    let c = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    assert_ne!(c, b);
    f.set_word(b, 0);
    let d = evtchn::allocate_unbound(&f.g.hv, DOMID_SELF).unwrap();
    assert_eq!(d, b);
}
