// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Suspend and resume into a new domain, a cancelled suspend, and the toolstack's store and
//! console channels (created like `xl` does, renumbered on resume).

#![allow(
    clippy::many_single_char_names,
    clippy::similar_names,
    reason = "port pairs are a and b, as in the PVH suite"
)]

mod common;

use common::Guest;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use xen::event_channel::{self as evtchn, Binding};
use xen::status::Error;
use xen_headers::errno;
use xen_headers::hvm::params::{
    HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN,
    HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN,
};
use xen_headers::io::console::XenconsInterface;
use xen_headers::sched::SHUTDOWN_SUSPEND;
use xen_headers::xen::DOMID_SELF;
use xen_sim::{PortState, SimConfig};

const fn ring_word(ring: *mut u8, offset: usize) -> &'static AtomicU32 {
    // SAFETY: a field of the console ring page, aligned, accessed atomically.
    unsafe { AtomicU32::from_ptr(ring.wrapping_add(offset).cast()) }
}

#[test]
fn hvm_params_name_the_toolstack_rings_and_channels() {
    let g = Guest::default_guest();
    let (store_gfn, _) = g.sim.store_ring();
    let (console_gfn, _) = g.sim.console_ring();
    let get = |i| xen::hvm::get_param(&g.hv, i).unwrap();
    assert_eq!(get(HVM_PARAM_STORE_PFN), store_gfn);
    assert_eq!(get(HVM_PARAM_CONSOLE_PFN), console_gfn);
    assert_eq!(
        (get(HVM_PARAM_STORE_EVTCHN), get(HVM_PARAM_CONSOLE_EVTCHN)),
        (1, 2)
    );
    for port in [1, 2] {
        assert!(matches!(
            evtchn::status(&g.hv, port).map(|s| s.binding),
            Ok(Binding::InterDomain { domain: 0, .. })
        ));
    }
    // Nothing is pending on the guest's ends: the daemons' binds notify the daemons.
    assert!(!g.pending(1) && !g.pending(2));
    let audit = g.sim.audit();
    assert_eq!(audit.toolstack_ports, vec![1, 2]);
    assert!(audit.is_clean());
}

#[test]
fn the_console_backend_drains_the_out_ring_and_kicks_back() {
    let g = Guest::default_guest();
    let (_, ring) = g.sim.console_ring();
    let (_, console_port) = g.sim.toolstack_ports();
    let out = offset_of!(XenconsInterface, out);
    // SAFETY: the out ring of the console page.
    unsafe { std::ptr::copy_nonoverlapping(b"hello\n".as_ptr(), ring.wrapping_add(out), 6) };
    ring_word(ring, offset_of!(XenconsInterface, out_prod)).store(6, SeqCst);
    evtchn::send(&g.hv, console_port).unwrap();
    assert_eq!(g.sim.console_output(), b"hello\n");
    assert_eq!(
        ring_word(ring, offset_of!(XenconsInterface, out_cons)).load(SeqCst),
        6
    );
    assert!(g.pending(console_port));
    g.clear_pending(console_port);
    assert_eq!(g.sim.console_input(b"ls\n"), 3);
    assert_eq!(
        ring_word(ring, offset_of!(XenconsInterface, in_prod)).load(SeqCst),
        3
    );
    // SAFETY: the in ring.
    let input = unsafe {
        std::slice::from_raw_parts(ring.wrapping_add(offset_of!(XenconsInterface, in_)), 3)
    };
    assert_eq!(input, b"ls\n");
    assert!(g.pending(console_port));
}

#[test]
fn store_kicks_are_counted_and_the_server_can_notify() {
    let g = Guest::default_guest();
    let (store_port, _) = g.sim.toolstack_ports();
    evtchn::send(&g.hv, store_port).unwrap();
    evtchn::send(&g.hv, store_port).unwrap();
    // The store end consumes each notification as it arrives: two sends, two kicks.
    assert_eq!(g.sim.take_store_kicks(), 2);
    assert_eq!(g.sim.take_store_kicks(), 0);
    g.sim.notify_store();
    assert!(g.pending(store_port));
}

#[test]
fn suspend_resumes_in_a_new_domain_with_renumbered_toolstack_channels() {
    let g = Guest::new(SimConfig {
        vcpus: 1,
        ..SimConfig::default()
    });
    let (control_gfn, _) = g.sim.allocate(1);
    // SAFETY: a page for Xen's control block.
    unsafe { evtchn::init_control(&g.hv, control_gfn, 0) }.unwrap();
    let (a, _b) = g.loopback();
    let dom0 = g.sim.dom0();
    let back = dom0.allocate_unbound().unwrap();
    let front = evtchn::bind_inter_domain(&g.hv, 0, back).unwrap();
    let frame0 = g.map_grant_frame0();
    assert!(!frame0.is_null());
    g.take_seen();

    assert_eq!(xen::sched::shutdown(&g.hv, SHUTDOWN_SUSPEND), Ok(()));
    assert_eq!(g.sim.suspends(), 1);

    // Every channel is gone, FIFO too; the old loopback's port numbers now carry the new
    // store and console channels.
    assert_eq!((a, front), (3, 5));
    assert_eq!(
        evtchn::status(&g.hv, front).map(|s| s.binding),
        Ok(Binding::Closed)
    );
    assert_eq!(
        evtchn::set_priority(&g.hv, 1, 3),
        Err(Error::Errno(errno::ENOSYS))
    );
    assert_eq!(
        dom0.port_state(back),
        Some(PortState::Unbound { remote: 1 })
    );
    // shared_info and grant frames must be added again; the callback is gone.
    assert!(g.sim.host_ptr(g.shared_info_gfn).is_none());
    let mut frames = [0_u64; 1];
    xen::grant_table::setup_table(&g.hv, &mut frames).unwrap();
    assert_eq!(frames, [u64::MAX]);
    assert_eq!(xen::hvm::get_param(&g.hv, HVM_PARAM_CALLBACK_IRQ), Ok(0));
    // The toolstack made new store and console channels at different ports.
    let store = xen::hvm::get_param(&g.hv, HVM_PARAM_STORE_EVTCHN).unwrap();
    let console = xen::hvm::get_param(&g.hv, HVM_PARAM_CONSOLE_EVTCHN).unwrap();
    assert_eq!((store, console), (3, 4));
    assert!(matches!(
        evtchn::status(&g.hv, 3).map(|s| s.binding),
        Ok(Binding::InterDomain { domain: 0, .. })
    ));
    // No upcall without a route: the event is latched in the new shared_info.
    let p = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    let q = evtchn::bind_inter_domain(&g.hv, DOMID_SELF, p).unwrap();
    assert!(g.take_seen().is_empty());
    // SAFETY: a hole.
    unsafe {
        xen::memory::add_to_physmap(
            &g.hv,
            g.shared_info_gfn,
            xen_headers::memory::XENMAPSPACE_SHARED_INFO,
            0,
        )
    }
    .unwrap();
    assert!(g.pending(q));
    // Re-seeded grant entries in the new table.
    let frame = g.map_grant_frame0();
    assert_eq!(common::grant_flags(frame, 1).load(SeqCst), 1);
    let audit = g.sim.audit();
    assert_eq!(audit.toolstack_ports, vec![3, 4]);
    assert_eq!(audit.open_ports, vec![p, q]);
}

#[test]
fn a_cancelled_suspend_returns_cancelled_and_changes_nothing() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    g.sim.cancel_next_suspend();
    assert_eq!(
        xen::sched::shutdown(&g.hv, SHUTDOWN_SUSPEND),
        Err(Error::Cancelled)
    );
    assert_eq!(g.sim.suspends(), 0);
    assert_eq!(g.sim.toolstack_ports(), (1, 2));
    assert_eq!(
        evtchn::status(&g.hv, b).map(|s| s.binding),
        Ok(Binding::InterDomain { domain: 1, port: a })
    );
    assert!(g.sim.host_ptr(g.shared_info_gfn).is_some());
    // Only the next suspend was cancelled.
    assert_eq!(xen::sched::shutdown(&g.hv, SHUTDOWN_SUSPEND), Ok(()));
    assert_eq!(g.sim.suspends(), 1);
}

#[test]
fn a_second_suspend_shifts_the_ports_again() {
    let g = Guest::default_guest();
    xen::sched::shutdown(&g.hv, SHUTDOWN_SUSPEND).unwrap();
    xen::sched::shutdown(&g.hv, SHUTDOWN_SUSPEND).unwrap();
    assert_eq!(g.sim.suspends(), 2);
    assert_eq!(g.sim.toolstack_ports(), (5, 6));
}
