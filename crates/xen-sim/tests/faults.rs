// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Fault injection on each hypercall family, the counters, and the audit after a failure.

mod common;

use common::Guest;
use xen::event_channel as evtchn;
use xen::status::Error;
use xen_headers::errno;
use xen_headers::event_channel::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_SEND,
};
use xen_headers::grant_table::GNTTABOP_MAP_GRANT_REF;
use xen_headers::hvm::hvm_op::HVMOP_SET_PARAM;
use xen_headers::memory::{XENMEM_ADD_TO_PHYSMAP, XENMEM_POPULATE_PHYSMAP};
use xen_headers::sched::{SCHEDOP_SHUTDOWN, SHUTDOWN_SUSPEND};
use xen_headers::vcpu::VCPUOP_REGISTER_VCPU_INFO;
use xen_headers::xen::{
    DOMID_SELF, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_HVM_OP,
    HYPERVISOR_MEMORY_OP, HYPERVISOR_SCHED_OP, HYPERVISOR_VCPU_OP, HYPERVISOR_XEN_VERSION,
};
use xen_sim::Fault;

#[test]
fn an_injected_errno_fails_exactly_the_next_matching_call_and_allocates_nothing() {
    let g = Guest::default_guest();
    let before = g.sim.audit();
    g.sim.inject(
        Fault::new(HYPERVISOR_EVENT_CHANNEL_OP)
            .cmd(EVTCHNOP_ALLOC_UNBOUND)
            .errno(errno::ENOMEM),
    );
    // Another sub-command is not affected.
    assert_eq!(
        evtchn::send(&g.hv, 100_000),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        evtchn::allocate_unbound(&g.hv, DOMID_SELF),
        Err(Error::Errno(errno::ENOMEM))
    );
    assert_eq!(g.sim.audit(), before);
    assert_eq!(evtchn::allocate_unbound(&g.hv, DOMID_SELF), Ok(3));
    assert_eq!(
        g.sim
            .calls(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_ALLOC_UNBOUND),
        2
    );
    assert_eq!(g.sim.calls(HYPERVISOR_EVENT_CHANNEL_OP, EVTCHNOP_SEND), 1);
    assert_eq!(g.sim.faults_fired(), 1);
}

#[test]
fn nth_and_times_choose_which_calls_fail() {
    let g = Guest::default_guest();
    g.sim.inject(
        Fault::new(HYPERVISOR_EVENT_CHANNEL_OP)
            .cmd(EVTCHNOP_ALLOC_UNBOUND)
            .nth(2)
            .times(2),
    );
    let results: Vec<bool> = (0..5)
        .map(|_| evtchn::allocate_unbound(&g.hv, DOMID_SELF).is_ok())
        .collect();
    assert_eq!(results, [true, false, false, true, true]);
    assert_eq!(g.sim.faults_fired(), 2);
    assert_eq!(g.sim.audit().open_ports, vec![3, 4, 5]);
}

#[test]
fn a_fault_without_a_command_matches_every_command_of_the_op() {
    let g = Guest::default_guest();
    g.sim.inject(
        Fault::new(HYPERVISOR_XEN_VERSION)
            .times(2)
            .errno(errno::EPERM),
    );
    assert_eq!(
        xen::xen_version::version(&g.hv),
        Err(Error::Errno(errno::EPERM))
    );
    assert_eq!(
        xen::xen_version::get_features(&g.hv, 0),
        Err(Error::Errno(errno::EPERM))
    );
    assert_eq!(xen::xen_version::version(&g.hv), Ok((4, 17)));
}

#[test]
fn a_failed_bind_leaves_the_remote_port_unbound() {
    let g = Guest::default_guest();
    let a = evtchn::allocate_unbound(&g.hv, DOMID_SELF).unwrap();
    g.sim
        .inject(Fault::new(HYPERVISOR_EVENT_CHANNEL_OP).cmd(EVTCHNOP_BIND_INTERDOMAIN));
    assert_eq!(
        evtchn::bind_inter_domain(&g.hv, DOMID_SELF, a),
        Err(Error::Errno(errno::EIO))
    );
    assert_eq!(
        evtchn::status(&g.hv, a).map(|s| s.binding),
        Ok(evtchn::Binding::Unbound { domain: 1 })
    );
    assert_eq!(g.sim.audit().open_ports, vec![a]);
}

#[test]
fn memory_faults_leave_the_frame_unpopulated_for_the_audit_to_see() {
    let g = Guest::default_guest();
    let (gfn, _) = g.sim.allocate(1);
    let mut frames = [gfn];
    // SAFETY: the frame is not used again.
    unsafe { xen::memory::decrease_reservation(&g.hv, 0, &mut frames) }.unwrap();
    g.sim
        .inject(Fault::new(HYPERVISOR_MEMORY_OP).cmd(XENMEM_POPULATE_PHYSMAP));
    // SAFETY: as above.
    let populated = unsafe { xen::memory::populate_physmap(&g.hv, 0, &mut frames) };
    assert_eq!(populated, Err(Error::Errno(errno::EIO)));
    assert_eq!(g.sim.audit().unpopulated_gfns, 1);
    g.sim.inject(
        Fault::new(HYPERVISOR_MEMORY_OP)
            .cmd(XENMEM_ADD_TO_PHYSMAP)
            .errno(errno::ENOMEM),
    );
    let hole = g.sim.hole(1);
    // SAFETY: refused.
    let mapped = unsafe {
        xen::memory::add_to_physmap(&g.hv, hole, xen_headers::memory::XENMAPSPACE_SHARED_INFO, 0)
    };
    assert_eq!(mapped, Err(Error::Errno(errno::ENOMEM)));
    assert!(g.sim.host_ptr(hole).is_none());
}

#[test]
fn grant_hvm_vcpu_and_sched_faults() {
    let g = Guest::default_guest();
    let dom0 = g.sim.dom0();
    let page = dom0.grant_page(false);
    g.sim
        .inject(Fault::new(HYPERVISOR_GRANT_TABLE_OP).cmd(GNTTABOP_MAP_GRANT_REF));
    let addr = g.sim.hole(1) << 12;
    // SAFETY: refused.
    let mapped =
        unsafe { xen::grant_table::map_foreign_page(&g.hv, 0, page.reference(), addr, false) };
    assert_eq!(mapped, Err(Error::Errno(errno::EIO)));
    assert_eq!(g.sim.audit().guest_grant_maps, 0);
    assert_eq!(dom0.end_grant(&page), Ok(()));

    g.sim.inject(
        Fault::new(HYPERVISOR_HVM_OP)
            .cmd(HVMOP_SET_PARAM)
            .errno(errno::EINVAL),
    );
    assert_eq!(
        xen::hvm::set_param(&g.hv, 0, 0),
        Err(Error::Errno(errno::EINVAL))
    );

    g.sim
        .inject(Fault::new(HYPERVISOR_VCPU_OP).cmd(VCPUOP_REGISTER_VCPU_INFO));
    let (gfn, _) = g.sim.allocate(1);
    // SAFETY: refused.
    let registered = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 0, gfn, 0) };
    assert_eq!(registered, Err(Error::Errno(errno::EIO)));
    // SAFETY: a page dedicated to vcpu_info; registration is permanent.
    let result = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 0, gfn, 0) };
    assert_eq!(result, Ok(()));

    g.sim.inject(
        Fault::new(HYPERVISOR_SCHED_OP)
            .cmd(SCHEDOP_SHUTDOWN)
            .errno(errno::EINVAL),
    );
    assert_eq!(
        xen::sched::shutdown(&g.hv, SHUTDOWN_SUSPEND),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(g.sim.suspends(), 0);
}

#[test]
fn a_grant_status_fault_fails_the_entries_not_the_call() {
    use xen_headers::grant_table::{GNTST_EAGAIN, GNTTABOP_SETUP_TABLE};
    let g = Guest::default_guest();
    let dom0 = g.sim.dom0();
    let page = dom0.grant_page(true);
    g.sim.inject(
        Fault::new(HYPERVISOR_GRANT_TABLE_OP)
            .cmd(GNTTABOP_MAP_GRANT_REF)
            .grant_status(GNTST_EAGAIN),
    );
    let addr = g.sim.hole(1) << 12;
    // SAFETY: refused by the fault; nothing is mapped.
    let mapped =
        unsafe { xen::grant_table::map_foreign_page(&g.hv, 0, page.reference(), addr, true) };
    assert_eq!(mapped, Err(Error::Grant(GNTST_EAGAIN)));
    assert_eq!(mapped.unwrap_err().ntstatus(), xen::status::STATUS_RETRY);
    assert_eq!(g.sim.audit().guest_grant_maps, 0);
    // SAFETY: the retry maps the page at the hole.
    let handle =
        unsafe { xen::grant_table::map_foreign_page(&g.hv, 0, page.reference(), addr, true) }
            .unwrap();
    // SAFETY: nothing uses the mapping.
    unsafe { xen::grant_table::unmap_foreign_page(&g.hv, handle, addr) }.unwrap();

    g.sim.inject(
        Fault::new(HYPERVISOR_GRANT_TABLE_OP)
            .cmd(GNTTABOP_SETUP_TABLE)
            .grant_status(GNTST_EAGAIN),
    );
    let mut frames = [0_u64; 2];
    assert_eq!(
        xen::grant_table::setup_table(&g.hv, &mut frames),
        Err(Error::Grant(GNTST_EAGAIN))
    );
    assert_eq!(xen::grant_table::query_size(&g.hv), Ok((1, 64)));
}
