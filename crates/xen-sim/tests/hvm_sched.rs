// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! HVM parameters and upcall routes, `vcpu_info` registration, timers, yield/block/poll, the
//! watchdog, shutdown, version and console I/O (the PVH suite's `hvm.*`, `vcpu.*`, `sched.*`).

mod common;

use common::{CALLBACK_VECTOR, Guest};
use std::mem::offset_of;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};
use xen::event_channel as evtchn;
use xen::status::Error;
use xen_headers::errno;
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN,
    HVM_PARAM_STORE_PFN, hvm_param_callback_vector,
};
use xen_headers::sched::{SHUTDOWN_POWEROFF, SHUTDOWN_REBOOT};
use xen_headers::vcpu::VCPU_SSHOTTMR_FUTURE;
use xen_headers::xen::{DOMID_SELF, VIRQ_TIMER, VcpuInfo};
use xen_sim::SimConfig;

const MS: u64 = 1_000_000;

#[test]
fn guest_param_rules_match_xen() {
    let g = Guest::default_guest();
    let via = hvm_param_callback_vector(CALLBACK_VECTOR);
    assert_eq!(xen::hvm::get_param(&g.hv, HVM_PARAM_CALLBACK_IRQ), Ok(via));
    assert_eq!(
        xen::hvm::set_param(&g.hv, HVM_PARAM_STORE_EVTCHN, 5),
        Ok(())
    );
    assert_eq!(xen::hvm::get_param(&g.hv, HVM_PARAM_STORE_EVTCHN), Ok(5));
    assert_eq!(xen::hvm::get_param(&g.hv, HVM_PARAM_CONSOLE_EVTCHN), Ok(2));
    assert_eq!(
        xen::hvm::set_param(&g.hv, HVM_PARAM_STORE_PFN, 1),
        Err(Error::Errno(errno::EPERM))
    );
    assert_eq!(
        xen::hvm::set_param(&g.hv, 4, 1),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::hvm::get_param(&g.hv, HVM_NR_PARAMS),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::hvm::get_param(&g.hv, 10),
        Err(Error::Errno(errno::EPERM))
    );
    assert_eq!(
        xen::hvm::pagetable_dying(&g.hv, 0x1000),
        Err(Error::Errno(errno::EINVAL))
    );
}

#[test]
fn upcall_vector_rules_and_delivery_on_its_vcpu() {
    let g = Guest::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    assert_eq!(
        xen::hvm::set_evtchn_upcall_vector(&g.hv, 0, 0),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::hvm::set_evtchn_upcall_vector(&g.hv, 7, 0xf4),
        Err(Error::Errno(errno::ENOENT))
    );
    // HVM: clearing the callback takes the route away.
    xen::hvm::set_param(&g.hv, HVM_PARAM_CALLBACK_IRQ, 0).unwrap();
    let (a, b) = g.loopback();
    evtchn::send(&g.hv, a).unwrap();
    assert!(g.upcall_pending(0));
    assert!(g.take_seen().is_empty());
    // A per-vCPU vector is injected as soon as it is set (Xen asserts it unconditionally).
    xen::hvm::set_evtchn_upcall_vector(&g.hv, 1, 0xf4).unwrap();
    assert_eq!(g.take_seen(), vec![1]);
    evtchn::bind_virtual_cpu(&g.hv, b, 1).unwrap();
    g.clear_pending(b);
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!(g.take_seen(), vec![1]);
}

#[test]
fn on_pvh_the_callback_vector_cannot_be_switched_off() {
    let g = Guest::new(SimConfig {
        pvh: true,
        ..SimConfig::default()
    });
    xen::hvm::set_param(&g.hv, HVM_PARAM_CALLBACK_IRQ, 0).unwrap();
    assert_eq!(xen::hvm::get_param(&g.hv, HVM_PARAM_CALLBACK_IRQ), Ok(0));
    let (a, _b) = g.loopback();
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!(g.take_seen(), vec![0]);
}

#[test]
fn registered_vcpu_info_gets_a_copy_everything_pending_and_later_events() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    let (gfn, page) = g.sim.allocate(1);
    // SAFETY: refused (beyond the page).
    let bad = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 0, gfn, 4090) };
    assert_eq!(bad, Err(Error::Errno(errno::ENXIO)));
    // SAFETY: refused (misaligned: Xen 4.17 says ENXIO too).
    let odd = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 0, gfn, 4) };
    assert_eq!(odd, Err(Error::Errno(errno::ENXIO)));
    // SAFETY: the page is Xen's from now on.
    unsafe { xen::vcpu::register_vcpu_info(&g.hv, 0, gfn, 64) }.unwrap();
    let info = page.wrapping_add(64);
    // SAFETY: the registered vcpu_info at offset 64, accessed atomically.
    let upcall = unsafe { AtomicU8::from_ptr(info) };
    // SAFETY: as above.
    let sel = unsafe {
        AtomicU64::from_ptr(
            info.wrapping_add(offset_of!(VcpuInfo, evtchn_pending_sel))
                .cast(),
        )
    };
    assert_eq!((upcall.load(SeqCst), sel.load(SeqCst)), (1, u64::MAX));
    assert_eq!(g.take_seen(), vec![0]);
    // The time record was copied.
    let mul = common::at32(info, offset_of!(VcpuInfo, time) + 24).load(SeqCst);
    assert_ne!(mul, 0);
    upcall.store(0, SeqCst);
    sel.store(0, SeqCst);
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!((upcall.load(SeqCst), sel.load(SeqCst)), (1, 1 << (b / 64)));
    assert!(!g.upcall_pending(0), "the legacy slot is no longer used");
    // SAFETY: refused (already registered).
    let twice = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 0, gfn, 0) };
    assert_eq!(twice, Err(Error::Errno(errno::EINVAL)));
}

#[test]
fn timers_fire_virq_timer_and_block_sleeps_until_then() {
    let g = Guest::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    let timer = evtchn::bind_virq(&g.hv, VIRQ_TIMER, 0).unwrap();
    assert_eq!(
        xen::vcpu::set_periodic_timer(&g.hv, 0, Some(1)),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::vcpu::set_singleshot_timer(&g.hv, 1, g.sim.now_ns() + MS, 0),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::vcpu::set_singleshot_timer(&g.hv, 0, 1, VCPU_SSHOTTMR_FUTURE),
        Err(Error::Errno(errno::ETIME))
    );
    let deadline = g.sim.now_ns() + 10 * MS;
    xen::vcpu::set_singleshot_timer(&g.hv, 0, deadline, 0).unwrap();
    xen::sched::yield_now(&g.hv);
    assert_eq!(xen::sched::block(&g.hv), Ok(()));
    assert!(g.sim.now_ns() >= deadline);
    assert!(g.pending(timer));
    assert_eq!(g.take_seen(), vec![0]);
    // Periodic: several ticks, none after stopping.
    g.clear_pending(timer);
    g.ack_upcall(0);
    xen::vcpu::set_periodic_timer(&g.hv, 0, Some(20_000)).unwrap(); // 2 ms in 100 ns units
    let mut ticks = 0;
    let start = Instant::now();
    while ticks < 3 && start.elapsed() < Duration::from_secs(2) {
        xen::sched::block(&g.hv).unwrap();
        if g.pending(timer) {
            ticks += 1;
            g.clear_pending(timer);
            g.ack_upcall(0);
        }
    }
    assert_eq!(ticks, 3);
    xen::vcpu::set_periodic_timer(&g.hv, 0, None).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    xen::sched::yield_now(&g.hv);
    assert!(!g.pending(timer));
}

#[test]
fn poll_returns_at_once_times_out_and_wakes_on_another_threads_send() {
    let g = Guest::default_guest();
    let (a, b) = g.loopback();
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!(xen::sched::poll(&g.hv, &[b], 0), Ok(()));
    g.clear_pending(b);
    let t0 = g.sim.now_ns();
    assert_eq!(xen::sched::poll(&g.hv, &[b], t0 + 20 * MS), Ok(()));
    assert!(g.sim.now_ns() - t0 >= 20 * MS);
    assert_eq!(
        xen::sched::poll(&g.hv, &[100_000], 0),
        Err(Error::Errno(errno::EINVAL))
    );
    let dom0 = g.sim.dom0();
    let back = dom0.allocate_unbound().unwrap();
    let front = evtchn::bind_inter_domain(&g.hv, 0, back).unwrap();
    g.clear_pending(front);
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        dom0.send(back).unwrap();
    });
    let start = Instant::now();
    assert_eq!(xen::sched::poll(&g.hv, &[front], 0), Ok(()));
    assert!(g.pending(front));
    assert!(start.elapsed() < Duration::from_secs(4));
    sender.join().unwrap();
}

#[test]
fn two_watchdog_slots_then_enospc() {
    let g = Guest::default_guest();
    let first = xen::sched::watchdog(&g.hv, 0, 60).unwrap();
    let second = xen::sched::watchdog(&g.hv, 0, 60).unwrap();
    assert_eq!((first, second), (1, 2));
    assert_eq!(
        xen::sched::watchdog(&g.hv, 0, 60),
        Err(Error::Errno(errno::ENOSPC))
    );
    assert_eq!(xen::sched::watchdog(&g.hv, first, 60), Ok(first));
    assert_eq!(xen::sched::watchdog(&g.hv, first, 0), Ok(first));
    assert_eq!(
        xen::sched::watchdog(&g.hv, first, 60),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::sched::watchdog(&g.hv, 99, 60),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(g.sim.audit().watchdogs, 1);
    xen::sched::watchdog(&g.hv, second, 0).unwrap();
    assert!(g.sim.audit().is_clean());
}

#[test]
fn shutdown_and_its_code_are_recorded() {
    let g = Guest::default_guest();
    xen::sched::shutdown_code(&g.hv, SHUTDOWN_REBOOT).unwrap();
    xen::sched::shutdown(&g.hv, SHUTDOWN_POWEROFF).unwrap();
    assert_eq!(g.sim.shutdown_code(), Some(SHUTDOWN_REBOOT));
    assert_eq!(g.sim.shutdown_reason(), Some(SHUTDOWN_POWEROFF));
}

#[test]
fn version_features_and_console_io() {
    let g = Guest::default_guest();
    assert_eq!(xen::xen_version::version(&g.hv), Ok((4, 17)));
    assert_eq!(
        &xen::xen_version::extra_version(&g.hv).unwrap()[..3],
        b".0\0"
    );
    assert_eq!(
        xen::xen_version::get_features(&g.hv, 0).map(|f| f & (1 << 8)),
        Ok(1 << 8)
    );
    assert_eq!(
        xen::xen_version::get_features(&g.hv, 1),
        Err(Error::Errno(errno::EINVAL))
    );
    assert_eq!(
        xen::console::write(&g.hv, b"hi"),
        Err(Error::Errno(errno::EPERM))
    );
    let debug = Guest::new(SimConfig {
        guest_console_io: true,
        ..SimConfig::default()
    });
    xen::console::write(&debug.hv, b"hi\n").unwrap();
    assert_eq!(debug.sim.xen_console(), b"hi\n");
    assert_eq!(
        evtchn::allocate_unbound(&debug.hv, 5),
        Ok(3),
        "remote domains are not checked at allocation"
    );
    assert_eq!(
        evtchn::allocate_unbound(&debug.hv, DOMID_SELF).map(|_| ()),
        Ok(())
    );
}

#[test]
fn a_down_vcpu_reports_down_and_may_have_its_vcpu_info_registered_by_another() {
    let g = Guest::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    let (gfn, _) = g.sim.allocate(1);
    // SAFETY: refused (vCPU 1 is up and not the caller).
    let refused = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 1, gfn, 0) };
    assert_eq!(refused, Err(Error::Errno(errno::EINVAL)));
    assert_eq!(xen::vcpu::is_up(&g.hv, 1), Ok(true));
    xen::vcpu::down(&g.hv, 1).unwrap();
    assert_eq!(xen::vcpu::is_up(&g.hv, 1), Ok(false));
    // SAFETY: a page dedicated to vCPU 1's vcpu_info.
    let registered = unsafe { xen::vcpu::register_vcpu_info(&g.hv, 1, gfn, 0) };
    assert_eq!(registered, Ok(()));
    xen::vcpu::up(&g.hv, 1).unwrap();
    assert_eq!(xen::vcpu::is_up(&g.hv, 1), Ok(true));
    assert_eq!(xen::vcpu::is_up(&g.hv, 2), Err(Error::Errno(errno::ENOENT)));
}

#[test]
fn without_a_toolstack_there_are_no_store_or_console_channels() {
    let g = Guest::new(SimConfig {
        domid: 0,
        backend_domid: 1,
        toolstack: false,
        ..SimConfig::default()
    });
    assert_eq!(g.sim.toolstack_ports(), (0, 0));
    assert_eq!(xen::hvm::get_param(&g.hv, HVM_PARAM_STORE_PFN), Ok(0));
    assert_eq!(g.sim.store_ring().0, 0);
    assert_eq!(evtchn::allocate_unbound(&g.hv, DOMID_SELF), Ok(1));
    // The hardware domain may bind global VIRQs.
    assert!(evtchn::bind_virq(&g.hv, xen_headers::xen::VIRQ_DOM_EXC, 0).is_ok());
    let frame = g.map_grant_frame0();
    assert_eq!(common::grant_flags(frame, 1).load(SeqCst), 0);
    xen::sched::shutdown(&g.hv, xen_headers::sched::SHUTDOWN_SUSPEND).unwrap();
    assert_eq!(g.sim.toolstack_ports(), (0, 0));
}

#[test]
fn a_gsi_callback_is_driven_by_vcpu0_only() {
    use xen_headers::hvm::params::hvm_param_callback_gsi;
    let g = Guest::new(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    });
    xen::hvm::set_param(&g.hv, HVM_PARAM_CALLBACK_IRQ, hvm_param_callback_gsi(28)).unwrap();
    let (a, b) = g.loopback();
    evtchn::bind_virtual_cpu(&g.hv, b, 1).unwrap();
    evtchn::send(&g.hv, a).unwrap();
    assert!(g.upcall_pending(1));
    assert!(g.take_seen().is_empty(), "no line for vCPU 1");
    evtchn::bind_virtual_cpu(&g.hv, b, 0).unwrap();
    g.clear_pending(b);
    evtchn::send(&g.hv, a).unwrap();
    assert_eq!(g.take_seen(), vec![0]);
    // GSI 0 is no callback at all.
    xen::hvm::set_param(&g.hv, HVM_PARAM_CALLBACK_IRQ, hvm_param_callback_gsi(0)).unwrap();
    g.ack_upcall(0);
    g.clear_pending(b);
    evtchn::send(&g.hv, a).unwrap();
    assert!(g.take_seen().is_empty());
}

#[test]
fn secondary_vcpus_can_start_down_and_be_brought_up_as_at_domain_creation() {
    let g = Guest::new(SimConfig {
        vcpus: 2,
        secondary_vcpus_up: false,
        ..SimConfig::default()
    });
    assert_eq!(xen::vcpu::is_up(&g.hv, 1), Ok(false));
    assert_eq!(xen::vcpu::up(&g.hv, 1), Err(Error::Errno(errno::EINVAL)));
    let context = xen::vcpu::VcpuHvmContext::default();
    // SAFETY: the simulator does not run the context; vCPU 1 is a test thread.
    let first = unsafe { xen::vcpu::initialise(&g.hv, 1, &context) };
    assert_eq!(first, Ok(()));
    // SAFETY: refused (already initialised).
    let again = unsafe { xen::vcpu::initialise(&g.hv, 1, &context) };
    assert_eq!(again, Err(Error::Errno(errno::EEXIST)));
    // SAFETY: refused (vCPU 0 runs).
    let zero = unsafe { xen::vcpu::initialise(&g.hv, 0, &context) };
    assert_eq!(zero, Err(Error::Errno(errno::EEXIST)));
    assert_eq!(xen::vcpu::up(&g.hv, 1), Ok(()));
    assert_eq!(xen::vcpu::is_up(&g.hv, 1), Ok(true));
    assert_eq!(xen::vcpu::down(&g.hv, 1), Ok(()));
    assert_eq!(g.sim.shutdown_reason(), None);
    // The last vCPU going down powers the domain off.
    assert_eq!(xen::vcpu::down(&g.hv, 0), Ok(()));
    assert_eq!(
        g.sim.shutdown_reason(),
        Some(xen_headers::sched::SHUTDOWN_POWEROFF)
    );
}

#[test]
fn tick_fires_a_due_timer_without_a_hypercall() {
    let g = Guest::default_guest();
    let timer = evtchn::bind_virq(&g.hv, VIRQ_TIMER, 0).unwrap();
    g.take_seen();
    xen::vcpu::set_singleshot_timer(&g.hv, 0, g.sim.now_ns() + 2 * MS, 0).unwrap();
    g.sim.tick();
    assert!(!g.pending(timer), "not due yet");
    std::thread::sleep(Duration::from_millis(5));
    g.sim.tick();
    assert!(g.pending(timer));
    assert_eq!(g.take_seen(), vec![0]);
}
