// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Event channels under the 2-level ABI, through the `xen` crate's wrappers, asserting what
//! Xen 4.17 does (the PVH suite's `evtchn.*` and `sched.*` findings).

#![allow(
    clippy::many_single_char_names,
    clippy::similar_names,
    reason = "port pairs are a and b, as in the PVH suite"
)]

mod common;

use common::Guest;
use std::sync::Arc;
use xen::event_channel::{self as evtchn, Binding, PortStatus};
use xen::status::Error;
use xen_headers::errno;
use xen_headers::xen::{DOMID_INVALID, DOMID_SELF, VIRQ_DEBUG, VIRQ_DOM_EXC, VIRQ_TIMER};
use xen_sim::SimConfig;

fn two_vcpus() -> Guest {
    Guest::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    })
}

#[test]
fn toolstack_ports_come_first_and_new_ports_are_the_lowest_free() {
    let g = Guest::default_guest();
    assert_eq!(g.sim.toolstack_ports(), (1, 2));
    let a = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    let b = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    assert_eq!((a, b), (3, 4));
    evtchn::close(&g.hv, a).unwrap();
    assert_eq!(evtchn::allocate_unbound(&g.hv, DOMID_SELF), Ok(3));
}

#[test]
fn bind_interdomain_sets_pending_on_the_new_port_and_raises_one_upcall() {
    let g = Guest::default_guest();
    let a = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    assert_eq!(
        evtchn::status(&g.hv, a).map(|s| s.binding),
        Ok(Binding::Unbound { domain: 1 })
    );
    let b = evtchn::bind_inter_domain(&g.hv, DOMID_SELF, a).unwrap();
    assert!(g.pending(b) && !g.pending(a));
    assert!(g.upcall_pending(0));
    assert_eq!(g.take_seen(), vec![0]);
    assert_eq!(
        evtchn::status(&g.hv, b),
        Ok(PortStatus {
            binding: Binding::InterDomain { domain: 1, port: a },
            vcpu: 0
        })
    );
    assert_eq!(evtchn::query_inter_domain(&g.hv, a), Ok((1, b)));
}

#[test]
fn send_sets_pending_selector_and_upcall_and_only_the_first_event_interrupts() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    evtchn::send(&g.hv, a).unwrap();
    assert!(g.pending(b));
    assert_eq!(g.pending_sel(0), 1 << (b / 64));
    assert!(g.upcall_pending(0));
    assert_eq!(g.take_seen(), vec![0]);
    // Still pending: no new 0 -> 1 transition, no new upcall.
    evtchn::send(&g.hv, b).unwrap();
    assert!(g.pending(a));
    assert!(g.take_seen().is_empty());
    // Acknowledged: the next event interrupts again.
    g.ack_upcall(0);
    g.clear_pending(a);
    g.clear_pending(b);
    evtchn::send(&g.hv, b).unwrap();
    assert_eq!(g.take_seen(), vec![0]);
}

#[test]
fn masked_port_is_latched_without_upcall_and_unmask_redelivers() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    g.set_mask(b, true);
    evtchn::send(&g.hv, a).unwrap();
    assert!(g.pending(b) && !g.upcall_pending(0) && g.pending_sel(0) == 0);
    assert!(g.take_seen().is_empty());
    evtchn::unmask(&g.hv, b).unwrap();
    assert!(!g.masked(b) && g.upcall_pending(0));
    assert_eq!(g.pending_sel(0), 1 << (b / 64));
    assert_eq!(g.take_seen(), vec![0]);
    // Unmasking a port that was not masked re-raises nothing (Xen tests-and-clears the mask).
    g.ack_upcall(0);
    evtchn::unmask(&g.hv, b).unwrap();
    assert!(!g.upcall_pending(0));
}

#[test]
fn unbound_port_drops_sends_and_close_unbinds_then_frees() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    let c = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    assert_eq!(
        evtchn::query_inter_domain(&g.hv, c),
        Err(Error::InvalidParameter)
    );
    assert_eq!(evtchn::send(&g.hv, c), Ok(()));
    assert!(!g.pending(c));
    evtchn::close(&g.hv, a).unwrap();
    assert_eq!(
        evtchn::status(&g.hv, b).map(|s| s.binding),
        Ok(Binding::Unbound { domain: 1 })
    );
    evtchn::close(&g.hv, b).unwrap();
    assert_eq!(
        evtchn::status(&g.hv, b).map(|s| s.binding),
        Ok(Binding::Closed)
    );
    assert_eq!(evtchn::send(&g.hv, b), Err(Error::Errno(errno::EINVAL)));
    assert_eq!(evtchn::close(&g.hv, b), Err(Error::Errno(errno::EINVAL)));
    evtchn::close(&g.hv, c).unwrap();
    assert!(g.sim.audit().is_clean());
}

#[test]
fn bad_ports_and_domains_are_refused_as_xen_does() {
    let g = Guest::default_guest();
    let einval = Err(Error::Errno(errno::EINVAL));
    assert_eq!(evtchn::send(&g.hv, 100_000), einval);
    assert_eq!(evtchn::close(&g.hv, 100_000), einval);
    assert_eq!(evtchn::unmask(&g.hv, 100_000), einval);
    assert_eq!(evtchn::status(&g.hv, 100_000).map(|_| ()), einval);
    assert_eq!(
        evtchn::bind_inter_domain(&g.hv, DOMID_SELF, 100_000),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        evtchn::bind_inter_domain(&g.hv, DOMID_INVALID, 1),
        Err(Error::Errno(errno::ESRCH))
    );
    assert_eq!(evtchn::bind_virtual_cpu(&g.hv, 100_000, 0), einval);
    assert_eq!(
        evtchn::set_priority(&g.hv, 1, 3),
        Err(Error::Errno(errno::ENOSYS))
    );
    // Port 0 is reserved: status closed, but it cannot be closed.
    assert_eq!(
        evtchn::status(&g.hv, 0).map(|s| s.binding),
        Ok(Binding::Closed)
    );
    assert_eq!(evtchn::close(&g.hv, 0), einval);
    // A failed bind leaves nothing allocated.
    assert!(g.sim.audit().open_ports.is_empty());
}

#[test]
fn virq_and_ipi_bindings_follow_xens_rules() {
    let g = two_vcpus();
    let timer = evtchn::bind_virq(&g.hv, VIRQ_TIMER, 0).unwrap();
    assert_eq!(
        evtchn::status(&g.hv, timer).map(|s| s.binding),
        Ok(Binding::Virq(VIRQ_TIMER))
    );
    assert_eq!(
        evtchn::bind_virq(&g.hv, VIRQ_TIMER, 0),
        Err(Error::Errno(errno::EEXIST))
    );
    assert!(evtchn::bind_virq(&g.hv, VIRQ_TIMER, 1).is_ok());
    assert_eq!(
        evtchn::bind_virq(&g.hv, 99, 0),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        evtchn::bind_virq(&g.hv, VIRQ_DOM_EXC, 1),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        evtchn::bind_virq(&g.hv, VIRQ_DEBUG, 2),
        Err(Error::Errno(errno::ENOENT))
    );
    // Xen 4.17 lets any domain bind a global VIRQ on vCPU 0 (only the hardware domain is
    // ever sent one).
    assert!(evtchn::bind_virq(&g.hv, VIRQ_DOM_EXC, 0).is_ok());
    // A per-vCPU VIRQ cannot move.
    assert_eq!(
        evtchn::bind_virtual_cpu(&g.hv, timer, 1),
        Err(Error::Errno(errno::EINVAL))
    );
    let ipi = evtchn::bind_ipi(&g.hv, 1).unwrap();
    assert_eq!(
        evtchn::status(&g.hv, ipi),
        Ok(PortStatus {
            binding: Binding::Ipi,
            vcpu: 1
        })
    );
    assert_eq!(
        evtchn::bind_virtual_cpu(&g.hv, ipi, 0),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(evtchn::bind_ipi(&g.hv, 5), Err(Error::Errno(errno::ENOENT)));
    // An IPI notifies its own vCPU.
    evtchn::send(&g.hv, ipi).unwrap();
    assert_eq!(g.take_seen(), vec![1]);
    evtchn::close(&g.hv, timer).unwrap();
    assert!(evtchn::bind_virq(&g.hv, VIRQ_TIMER, 0).is_ok());
}

#[test]
fn bind_vcpu_moves_delivery_to_the_other_vcpu() {
    let g = two_vcpus();
    let (a, b) = g.loopback();
    evtchn::bind_virtual_cpu(&g.hv, b, 1).unwrap();
    assert_eq!(evtchn::status(&g.hv, b).map(|s| s.vcpu), Ok(1));
    evtchn::send(&g.hv, a).unwrap();
    assert!(g.upcall_pending(1) && !g.upcall_pending(0));
    assert_eq!(g.pending_sel(1), 1 << (b / 64));
    assert_eq!(g.take_seen(), vec![1]);
    // Closing resets the binding to vCPU 0.
    evtchn::close(&g.hv, b).unwrap();
    let again = evtchn::bind_inter_domain(&g.hv, DOMID_SELF, a).unwrap();
    assert_eq!(evtchn::status(&g.hv, again).map(|s| s.vcpu), Ok(0));
}

#[test]
fn out_of_ports_is_enospc_and_leaves_the_table_unchanged() {
    let g = Guest::new(SimConfig {
        max_evtchn_port: 5,
        ..SimConfig::default()
    });
    let ports: Vec<u32> = (0..3)
        .map(|_| evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap())
        .collect();
    assert_eq!(ports, vec![3, 4, 5]);
    assert_eq!(
        evtchn::allocate_unbound(&g.hv, DOMID_SELF),
        Err(Error::Errno(errno::ENOSPC))
    );
    assert_eq!(g.sim.audit().open_ports, vec![3, 4, 5]);
}

#[test]
fn reset_closes_every_port_and_the_backend_ends_become_unbound() {
    let g = Guest::default_guest();
    let (_a, _b) = g.loopback();
    let timer = evtchn::bind_virq(&g.hv, VIRQ_TIMER, 0).unwrap();
    let (store, _console) = g.sim.toolstack_ports();
    evtchn::reset(&g.hv).unwrap();
    for port in 1..=timer {
        assert_eq!(
            evtchn::status(&g.hv, port).map(|s| s.binding),
            Ok(Binding::Closed),
            "port {port}"
        );
    }
    let audit = g.sim.audit();
    assert!(audit.open_ports.is_empty() && audit.toolstack_ports.is_empty());
    // The store daemon's end is offered to us again: rebinding works (upstream's way back).
    let dom0 = g.sim.dom0();
    let backend_port = (1..16)
        .find(|&p| dom0.port_state(p) == Some(xen_sim::PortState::Unbound { remote: 1 }))
        .expect("a backend port offered to the guest");
    let rebound = evtchn::bind_inter_domain(&g.hv, 0, backend_port).unwrap();
    assert_eq!(rebound, store);
}

#[test]
fn dom0_and_guest_notify_each_other() {
    let g = Guest::default_guest();
    let dom0 = g.sim.dom0();
    let back = dom0.allocate_unbound().unwrap();
    let front = evtchn::bind_inter_domain(&g.hv, 0, back).unwrap();
    g.clear_pending(front);
    g.ack_upcall(0);
    g.take_seen();
    dom0.send(back).unwrap();
    assert!(g.pending(front));
    assert_eq!(g.take_seen(), vec![0]);
    evtchn::send(&g.hv, front).unwrap();
    assert_eq!(dom0.take_events(), vec![back]);
    assert!(dom0.take_events().is_empty());
    // A backend bind sets the backend's new port pending.
    let guest_unbound = evtchn::allocate_unbound(&g.hv, 0).unwrap();
    let back2 = dom0.bind_interdomain(guest_unbound).unwrap();
    assert_eq!(dom0.take_events(), vec![back2]);
    evtchn::close(&g.hv, front).unwrap();
    assert_eq!(
        dom0.port_state(back),
        Some(xen_sim::PortState::Unbound { remote: 1 })
    );
}

#[test]
fn a_handler_that_sends_again_is_rerun_not_reentered() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    let sim = g.sim.clone();
    let depth = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let max_depth = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let (d, m, r) = (
        Arc::clone(&depth),
        Arc::clone(&max_depth),
        Arc::clone(&runs),
    );
    let shared = sim.host_ptr(g.shared_info_gfn).unwrap() as usize;
    sim.clone().set_upcall_handler(
        0,
        Arc::new(move || {
            use std::sync::atomic::Ordering::SeqCst;
            let now = d.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now, SeqCst);
            // Acknowledge (upcall flag, selector, then the port), then trigger once more.
            // SAFETY: vCPU 0's legacy vcpu_info in the mapped shared_info page.
            unsafe { std::sync::atomic::AtomicU8::from_ptr(shared as *mut u8) }.store(0, SeqCst);
            // SAFETY: its evtchn_pending_sel.
            unsafe { std::sync::atomic::AtomicU64::from_ptr((shared + 8) as *mut u64) }
                .store(0, SeqCst);
            let word = shared + std::mem::offset_of!(xen_headers::xen::SharedInfo, evtchn_pending);
            // SAFETY: the pending bitmap word of `b`.
            unsafe { std::sync::atomic::AtomicU64::from_ptr(word as *mut u64) }
                .fetch_and(!(1 << b), SeqCst);
            if r.fetch_add(1, SeqCst) == 0 {
                evtchn::send(&sim.vcpu(0), a).unwrap();
            }
            d.fetch_sub(1, SeqCst);
        }),
    );
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(max_depth.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(g.sim.upcalls(0), 3); // the bind's upcall in `loopback`, then these two
}

#[test]
fn results_reach_the_guest_only_on_success() {
    use xen_headers::event_channel::{EVTCHNOP_ALLOC_UNBOUND, EvtchnAllocUnbound};
    use xen_headers::xen::HYPERVISOR_EVENT_CHANNEL_OP;
    let g = Guest::new(SimConfig {
        max_evtchn_port: 2,
        ..SimConfig::default()
    });
    let mut op = EvtchnAllocUnbound {
        dom: DOMID_SELF,
        remote_dom: DOMID_SELF,
        port: 0xdead,
    };
    let rc = common::raw(
        &g.hv,
        HYPERVISOR_EVENT_CHANNEL_OP,
        &[EVTCHNOP_ALLOC_UNBOUND as usize, (&raw mut op).addr()],
    );
    assert_eq!(
        (rc, op.port),
        (-isize::try_from(errno::ENOSPC).unwrap(), 0xdead)
    );
    // Too many argument registers never reach the simulator's decoder.
    assert_eq!(
        common::raw(&g.hv, HYPERVISOR_EVENT_CHANNEL_OP, &[0; 6]),
        -isize::try_from(errno::EINVAL).unwrap()
    );
    // An unknown hypercall is ENOSYS.
    assert_eq!(
        common::raw(&g.hv, 63, &[]),
        -isize::try_from(errno::ENOSYS).unwrap()
    );
}

#[test]
fn a_panicking_handler_does_not_block_later_upcalls() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    g.sim
        .set_upcall_handler(0, Arc::new(|| panic!("handler assertion")));
    let hv = g.hv.clone();
    let caught = std::panic::catch_unwind(move || evtchn::send(&hv, a));
    assert!(caught.is_err());
    let seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let s = Arc::clone(&seen);
    g.sim.set_upcall_handler(
        0,
        Arc::new(move || {
            s.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }),
    );
    g.ack_upcall(0);
    g.clear_pending(b);
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
}
