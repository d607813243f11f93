// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's composition (`xenbus::subsystems`) on the host simulator: start acquires
//! everything in upstream's order and stop gives everything back; a failing acquire unwinds;
//! the debug trigger reaches every subsystem's dump; the store watchdog kicks a stuck ring.
//! (With the real xenstored, 1000 suspend/resume cycles: crates/xenstored-harness/tests.)

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

include!("support/sim_platform.rs");

use std::time::{Duration, Instant};

use platform_port::Deferred;
use platform_port::std_impl::{STD_DIRQL, StdInterrupts};
use xen_headers::memory::XENMEM_ADD_TO_PHYSMAP;
use xen_headers::xen::HYPERVISOR_MEMORY_OP;
use xen_sim::Fault;
use xenbus::evtchn::EvtchnConfig;
use xenbus::store::StoreConfig;
use xenbus::subsystems::{Subsystems, SubsystemsConfig};
use xenbus::suspend::SuspendSystem;

type World = Subsystems<StdPlatform, Direct<SimVcpu>, StdInterrupts>;

struct NoSystem;

impl SuspendSystem for NoSystem {
    fn register_vcpu_info(&self, _cpu: u32) {}
    fn unplug_devices(&self) {}
}

fn build(world: &SimWorld) -> Arc<World> {
    let subsystems = Subsystems::new(
        world.platform.clone(),
        Arc::clone(&world.xen),
        StdInterrupts::new(world.platform.clone()),
        SubsystemsConfig {
            evtchn: EvtchnConfig::default(),
            store: StoreConfig::default(),
            system: Arc::new(NoSystem),
            lookup: None,
        },
    )
    .expect("subsystems");
    for cpu in 0..world.sim.vcpus() {
        let weak = Arc::downgrade(&subsystems);
        let platform = world.platform.clone();
        world.sim.set_upcall_handler(
            cpu,
            // Delivered as the hardware would: at DIRQL on that CPU, held pending while the
            // upcall was raised at or above that level.
            Arc::new(move || {
                let weak = weak.clone();
                platform.interrupt(cpu, STD_DIRQL, move || {
                    if let Some(s) = weak.upgrade() {
                        s.evtchn.deliver(cpu);
                    }
                });
            }),
        );
    }
    subsystems
}

fn two_vcpus() -> SimWorld {
    sim_world(SimConfig {
        vcpus: 2,
        ..SimConfig::default()
    })
}

fn assert_all_released(world: &SimWorld, subsystems: &World) {
    world.platform.flush_dpcs();
    assert_eq!(subsystems.debug.references(), 0);
    assert_eq!(subsystems.suspend.references(), 0);
    assert_eq!(subsystems.shared_info.references(), 0);
    assert_eq!(subsystems.gnttab.references(), 0);
    assert_eq!(subsystems.store.references(), 0);
    assert_eq!(subsystems.evtchn.channel_count(), 0);
    let audit = world.sim.audit();
    assert!(audit.is_clean(), "{audit:?}");
    assert_eq!(world.pages.live_pages(), 0);
}

#[test]
fn start_connects_everything_and_stop_gives_everything_back() {
    let world = two_vcpus();
    let subsystems = build(&world);
    subsystems.start().unwrap();
    assert!(subsystems.is_started());
    assert!(subsystems.store.store().is_some(), "store connected");
    assert!(subsystems.console_acquired());
    // The store's, the console's and VIRQ_DEBUG's channels.
    assert_eq!(subsystems.evtchn.channel_count(), 3);
    // Starting again changes nothing.
    subsystems.start().unwrap();
    assert_eq!(subsystems.debug.references(), 1);
    subsystems.stop();
    assert!(!subsystems.is_started());
    assert_all_released(&world, &subsystems);
    // And it starts again from scratch.
    subsystems.start().unwrap();
    subsystems.stop();
    assert_all_released(&world, &subsystems);
}

#[test]
fn a_failing_acquire_unwinds_what_was_acquired() {
    let world = two_vcpus();
    let subsystems = build(&world);
    // SHARED_INFO's map is the first add_to_physmap; GNTTAB's first frame the second.
    world.sim.inject(
        Fault::new(HYPERVISOR_MEMORY_OP)
            .cmd(XENMEM_ADD_TO_PHYSMAP)
            .nth(2),
    );
    assert!(subsystems.start().is_err());
    assert!(!subsystems.is_started());
    assert_all_released(&world, &subsystems);
    subsystems.start().expect("works once the fault is gone");
    subsystems.stop();
    assert_all_released(&world, &subsystems);
}

#[test]
fn debug_trigger_reaches_every_subsystems_dump() {
    let world = two_vcpus();
    let subsystems = build(&world);
    subsystems.start().unwrap();
    // CACHE dumps its caches: give it one.
    let cache = subsystems
        .gnttab
        .create_cache("dump", 0, 0, Arc::new(|| {}), Arc::new(|| {}))
        .unwrap();
    subsystems.debug.trigger(None);
    let log: Vec<String> = world
        .platform
        .log_lines()
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    for prefix in [
        "xenbus|EVTCHN",
        "xenbus|SHARED_INFO",
        "xenbus|GNTTAB",
        "xenbus|CACHE",
        "xenbus|STORE",
        "xenbus|SUSPEND",
        "xenbus|CONSOLE",
    ] {
        assert!(
            log.iter().any(|l| l.starts_with(&format!("{prefix}: "))),
            "no dump line from {prefix}: {log:#?}"
        );
    }
    assert!(log.iter().any(|l| l.starts_with("xenbus|STORE: RING:")));
    subsystems.gnttab.destroy_cache(&cache).unwrap();
    subsystems.stop();
}

#[test]
fn store_watchdog_kicks_a_stuck_ring_and_dumps_the_store() {
    let world = two_vcpus();
    let subsystems = build(&world);
    subsystems.set_store_watchdog_period(Duration::from_millis(5));
    subsystems.start().unwrap();
    // xenstored "produces" four response bytes and no interrupt reaches the guest.
    let (_, ring) = world.sim.store_ring();
    // The ring page is 4096-aligned and rsp_prod sits at 2060, a multiple of 4.
    #[allow(clippy::cast_ptr_alignment)]
    let rsp_prod = ring.wrapping_add(2060).cast::<u32>();
    // SAFETY: rsp_prod of the simulator's store ring page (offset 2060, 4-aligned), alive as
    // long as the simulator.
    let produced = unsafe { rsp_prod.read_volatile() };
    // SAFETY: as above.
    unsafe { rsp_prod.write_volatile(produced + 4) };
    let deadline = Instant::now() + Duration::from_secs(5);
    let kicked = loop {
        let log = world.platform.log_lines();
        if log.iter().any(|(_, l)| l.contains("WATCHDOG")) {
            break log;
        }
        assert!(Instant::now() < deadline, "the watchdog never fired");
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        kicked
            .iter()
            .any(|(_, l)| l.starts_with("xenbus|STORE: RING:")),
        "the STORE dump follows the kick"
    );
    assert!(world.sim.take_store_kicks() > 0, "xenstored was kicked");
    subsystems.stop();
    assert_all_released(&world, &subsystems);
}

#[test]
fn xens_debug_key_dumps_every_callback_and_still_does_after_a_resume() {
    let world = two_vcpus();
    let subsystems = build(&world);
    subsystems.start().unwrap();
    // The store's, the console's and VIRQ_DEBUG's channels.
    assert_eq!(subsystems.evtchn.channel_count(), 3);
    let dumps = |world: &SimWorld| {
        world.platform.flush_dpcs();
        world
            .platform
            .log_lines()
            .iter()
            .filter(|(_, l)| l.starts_with("XEN|DEBUG: ====> (xenbus|STORE)"))
            .count()
    };
    assert_eq!(dumps(&world), 0);
    assert!(world.sim.raise_virq(xen_headers::xen::VIRQ_DEBUG, 0));
    assert_eq!(dumps(&world), 1, "one key press, one dump");
    assert_eq!(
        subsystems.suspend.trigger(),
        xenbus::suspend::SuspendOutcome::Resumed
    );
    assert!(
        world.sim.raise_virq(xen_headers::xen::VIRQ_DEBUG, 0),
        "re-bound by the LATE callback"
    );
    assert_eq!(dumps(&world), 2);
    subsystems.stop();
    assert_all_released(&world, &subsystems);
}

/// A child holding STORE while the FDO drops its own references (its D3, `stop`) keeps the
/// store's channel working: STORE holds EVTCHN as long as it is acquired, so EVTCHN is not torn
/// down (upstream's `StoreAcquire` holds EVTCHN the same way). The stand-in kernel's sleep
/// round found the opposite: after S3 no event came by interrupt any more.
#[test]
fn a_child_holding_store_keeps_its_channel_through_the_fdos_d3() {
    let world = two_vcpus();
    let subsystems = build(&world);
    subsystems.start().unwrap();
    // The child's reference (a PDO's STORE interface acquired).
    subsystems.store.acquire().unwrap();
    subsystems.stop();
    world.platform.flush_dpcs();
    assert!(
        subsystems.store.store().is_some(),
        "the store stays connected"
    );
    // Only the store's channel is left, and EVTCHN still runs the FIFO ABI it is bound
    // through (torn down, Xen would have forgotten both control blocks and the channel).
    assert_eq!(subsystems.evtchn.channel_count(), 1);
    let audit = world.sim.audit();
    assert_eq!(audit.fifo_control_blocks, 2, "{audit:?}");
    assert_eq!(audit.toolstack_ports.len(), 2, "{audit:?}");
    // Hibernating now would strand the child's STORE and the EVTCHN reference it holds.
    let held: Vec<_> = subsystems
        .referenced_at_hibernate(0)
        .into_iter()
        .flatten()
        .collect();
    assert!(held.contains(&("STORE", 1)), "{held:?}");
    assert!(held.contains(&("EVTCHN", 1)), "{held:?}");
    assert!(
        subsystems
            .referenced_at_hibernate(2)
            .contains(&Some(("BALLOON", 2))),
        "the balloon's count is reported too"
    );
    // Back to D0, then the child lets go: everything is given back, and hibernation finds
    // nothing held.
    subsystems.start().unwrap();
    subsystems.stop();
    subsystems.store.release();
    assert_all_released(&world, &subsystems);
    assert!(
        subsystems
            .referenced_at_hibernate(0)
            .iter()
            .all(Option::is_none),
        "{:?}",
        subsystems.referenced_at_hibernate(0)
    );
}
