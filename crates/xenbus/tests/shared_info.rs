// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `SHARED_INFO`'s life cycle on the host simulator: the page Xen maps is the page the view reads,
//! every port is masked after each map, a suspend re-maps it, and failures leave nothing behind.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

include!("support/sim_platform.rs");

use xen_headers::memory::XENMEM_ADD_TO_PHYSMAP;
use xen_headers::xen::HYPERVISOR_MEMORY_OP;
use xen_sim::Fault;
use xenbus::evtchn::EvtchnSharedInfo;
use xenbus::hole::Hole;
use xenbus::shared_info::SharedInfoContext;

fn context(world: &SimWorld) -> SharedInfoContext<StdPlatform, Direct<SimVcpu>> {
    let hole = Arc::new(Hole::new(world.platform.clone(), Arc::clone(&world.xen)));
    SharedInfoContext::new(world.platform.clone(), Arc::clone(&world.xen), hole)
}

fn two_vcpus() -> SimConfig {
    SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    }
}

#[test]
fn acquire_maps_xens_page_masks_every_port_and_release_gives_the_hole_back() {
    let world = sim_world(two_vcpus());
    let ctx = context(&world);
    ctx.acquire().unwrap();
    ctx.acquire().unwrap();
    assert_eq!(ctx.references(), 2);
    // A loopback pair: the bound end is pending (Xen sets it on bind) but masked by mask_all.
    let xen = world.sim.vcpu(0);
    let a = xen::event_channel::allocate_unbound(&xen, xen_headers::xen::DOMID_SELF).unwrap();
    let b = xen::event_channel::bind_inter_domain(&xen, xen_headers::xen::DOMID_SELF, a).unwrap();
    assert!(ctx.upcall_supported(0) && ctx.upcall_supported(1));
    let mut seen = Vec::new();
    ctx.evtchn_poll(0, &mut |port| {
        seen.push(port);
        false
    });
    assert!(
        seen.is_empty(),
        "masked ports must not be reported: {seen:?}"
    );
    assert!(ctx.evtchn_unmask(b), "the bind left port {b} pending");
    ctx.evtchn_ack(b);
    assert!(!ctx.evtchn_unmask(b));
    ctx.release();
    assert_eq!(ctx.references(), 1);
    ctx.release();
    assert_eq!(ctx.references(), 0);
    assert!(!ctx.upcall_supported(0), "no view once released");
    assert_eq!(world.pages.live_pages(), 0);
    assert_eq!(world.sim.audit().unpopulated_gfns, 0);
    assert_eq!(
        world
            .pages
            .unbacked_frees
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    xen::event_channel::close(&xen, a).unwrap();
    xen::event_channel::close(&xen, b).unwrap();
}

#[test]
fn suspend_early_remaps_and_masks_again() {
    let world = sim_world(two_vcpus());
    let ctx = context(&world);
    ctx.acquire().unwrap();
    let xen = world.sim.vcpu(0);
    xen::sched::shutdown(&xen, xen_headers::sched::SHUTDOWN_SUSPEND).unwrap();
    ctx.suspend_early();
    // The new domain's store channel fires into a masked port: nothing is reported until the
    // owner unmasks, exactly as after the first map.
    let (store_port, _) = world.sim.toolstack_ports();
    world.sim.notify_store();
    let mut seen = Vec::new();
    ctx.evtchn_poll(0, &mut |port| {
        seen.push(port);
        false
    });
    assert!(seen.is_empty(), "{seen:?}");
    assert!(ctx.evtchn_unmask(store_port), "the kick is latched");
    ctx.release();
    assert_eq!(world.pages.live_pages(), 0);
    assert_eq!(world.sim.audit().unpopulated_gfns, 0);
}

#[test]
fn a_failed_map_leaves_no_hole_page() {
    let world = sim_world(two_vcpus());
    let ctx = context(&world);
    world
        .sim
        .inject(Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_ADD_TO_PHYSMAP));
    assert!(ctx.acquire().is_err());
    assert_eq!(ctx.references(), 0);
    assert_eq!(world.pages.live_pages(), 0);
    assert_eq!(world.sim.audit().unpopulated_gfns, 0);
    // And the next attempt works.
    ctx.acquire().unwrap();
    ctx.release();
}

#[test]
fn debug_dump_names_the_frame_and_pending_words() {
    let world = sim_world(two_vcpus());
    let ctx = context(&world);
    ctx.acquire().unwrap();
    let mut text = String::new();
    ctx.debug_dump(&mut text, false).unwrap();
    assert!(text.contains("SHARED_INFO: pfn Some("), "{text}");
    assert!(text.contains("CPU 1: PENDING:"), "{text}");
    ctx.release();
}
