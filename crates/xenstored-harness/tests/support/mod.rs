// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What the scenario tests share: the host simulator with the xenbus subsystems wired on it as
//! the active FDO wires them, upcalls delivered as interrupts, and the store ring served by a
//! real daemon through the relay.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use platform_port::std_impl::{STD_DIRQL, StdInterrupts, StdPlatform};
use xen::services::Direct;
use xen_sim::{Sim, SimConfig, SimVcpu};
use xenbus::evtchn::EvtchnConfig;
use xenbus::store::{StoreConfig, WaitLimits};
use xenbus::subsystems::{Subsystems, SubsystemsConfig};
use xenbus::suspend::SuspendSystem;
use xenstored_harness::Daemon;
use xenstored_harness::relay::{GuestRing, RelayHooks};

/// The composition on the simulator.
pub type World = Subsystems<StdPlatform, Direct<SimVcpu>, StdInterrupts>;

/// xen.sys's per-processor work in the suspend rendezvous: nothing is registered here, so
/// only count it.
#[derive(Default)]
pub struct System {
    /// `UnplugDevices` calls.
    pub unplugs: AtomicU32,
}

impl SuspendSystem for System {
    fn register_vcpu_info(&self, _cpu: u32) {}

    fn unplug_devices(&self) {
        self.unplugs.fetch_add(1, Ordering::SeqCst);
    }
}

/// The simulator, the composition on it with upcalls wired, and the relay to xenstored.
#[allow(dead_code, reason = "each scenario uses the parts it needs")]
pub struct Rig<Y: ?Sized = System> {
    /// The simulator.
    pub sim: Sim,
    /// Its guest pages.
    pub pages: Arc<xen_sim::SimPages>,
    /// The platform the composition runs on.
    pub platform: StdPlatform,
    /// The subsystems.
    pub world: Arc<World>,
    /// xen.sys's suspend-time services.
    pub system: Arc<Y>,
    /// The relay to the daemon.
    pub relay: xenstored_harness::relay::Relay,
}

/// The rig with the default store limits and a [`System`] that counts unplugs.
#[allow(dead_code, reason = "each scenario uses the parts it needs")]
pub fn rig(daemon: &Daemon, cpus: u32) -> Rig {
    rig_with(
        daemon,
        cpus,
        WaitLimits::default(),
        Arc::new(System::default()),
    )
}

/// The rig with the store's wait `limits` and xen.sys's suspend-time services `system`.
pub fn rig_with<Y: SuspendSystem + 'static>(
    daemon: &Daemon,
    cpus: u32,
    limits: WaitLimits,
    system: Arc<Y>,
) -> Rig<Y> {
    let sim = Sim::new(SimConfig {
        vcpus: cpus,
        ..SimConfig::default()
    });
    let (platform, pages) = sim.platform(cpus);
    let services = Arc::new(Direct::new(sim.vcpu(0), cpus));
    let world = Subsystems::new(
        platform.clone(),
        Arc::clone(&services),
        StdInterrupts::new(platform.clone()),
        SubsystemsConfig {
            evtchn: EvtchnConfig::default(),
            store: StoreConfig {
                request_id_seed: 0x4000,
                watch_id_seed: 0x10,
                limits,
            },
            system: Arc::clone(&system) as Arc<dyn SuspendSystem>,
            lookup: None,
        },
    )
    .expect("subsystems");
    for cpu in 0..cpus {
        let weak = Arc::downgrade(&world);
        let p = platform.clone();
        sim.set_upcall_handler(
            cpu,
            // Delivered as the hardware would: at DIRQL on `cpu`, held pending while the
            // upcall was raised by a hypercall made at or above that level.
            Arc::new(move || {
                let weak = weak.clone();
                p.interrupt(cpu, STD_DIRQL, move || {
                    if let Some(world) = weak.upgrade() {
                        world.evtchn.deliver(cpu);
                    }
                });
            }),
        );
    }
    let (_, ring) = sim.store_ring();
    let kick_sim = sim.clone();
    let gen_sim = sim.clone();
    let relay = daemon
        .relay(
            sim.domid(),
            // SAFETY: the simulator's store ring page lives as long as `sim`, which outlives
            // the relay (finished by the scenario); only the guest's store and the relay use
            // it.
            unsafe { GuestRing::new(std::ptr::NonNull::new(ring).expect("store ring")) },
            RelayHooks {
                kick: Arc::new(move || kick_sim.notify_store()),
                generation: Arc::new(move || gen_sim.suspends()),
            },
        )
        .expect("relay");
    Rig {
        sim,
        pages,
        platform,
        world,
        system,
        relay,
    }
}
