// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! CONSOLE over the real EVTCHN and GNTTAB of the FDO's composition, on the host simulator:
//! the page is the frame grant reference 0 names, backend input raises a real upcall whose
//! event reaches the wakeups through the DPC, and after a suspend into a new domain the LATE
//! callback re-opens the channel and both directions work again. A console used on its own
//! acquires EVTCHN and GNTTAB itself; release leaves nothing open.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::significant_drop_tightening,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use platform_port::Deferred;
use platform_port::std_impl::{STD_DIRQL, StdInterrupts, StdPlatform};
use xen::services::Direct;
use xen_sim::{Sim, SimConfig, SimVcpu};
use xenbus::console::{Console, ConsoleError};
use xenbus::evtchn::{Evtchn, EvtchnConfig};
use xenbus::gnttab::Gnttab;
use xenbus::store::{StoreConfig, WaitLimits, WatchEvent};
use xenbus::subsystems::{Subsystems, SubsystemsConfig};
use xenbus::suspend::{SuspendOutcome, SuspendSystem};

type Services = Direct<SimVcpu>;
type World = Subsystems<StdPlatform, Services, StdInterrupts>;
type RealConsole = Console<
    StdPlatform,
    Services,
    Evtchn<StdPlatform, Services, StdInterrupts>,
    Gnttab<StdPlatform, Services>,
>;

struct NoSystem;

impl SuspendSystem for NoSystem {
    fn register_vcpu_info(&self, _cpu: u32) {}
    fn unplug_devices(&self) {}
}

#[derive(Default)]
struct Counter(AtomicU32);

impl WatchEvent for Counter {
    fn signal(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

struct Rig {
    sim: Sim,
    platform: StdPlatform,
    xen: Arc<Services>,
    world: Arc<World>,
}

fn rig() -> Rig {
    let sim = Sim::new(SimConfig {
        resume_port_shift: 7,
        ..SimConfig::default()
    });
    let (platform, _pages) = sim.platform(1);
    let xen = Arc::new(Direct::new(sim.vcpu(0), 1));
    let world = Subsystems::new(
        platform.clone(),
        Arc::clone(&xen),
        StdInterrupts::new(platform.clone()),
        SubsystemsConfig {
            evtchn: EvtchnConfig::default(),
            store: StoreConfig {
                request_id_seed: 0x100,
                watch_id_seed: 0x10,
                limits: WaitLimits::default(),
            },
            system: Arc::new(NoSystem),
            lookup: None,
        },
    )
    .unwrap();
    let weak = Arc::downgrade(&world);
    let cpu0 = platform.clone();
    sim.set_upcall_handler(
        0,
        // Delivered as the hardware would: at DIRQL on CPU 0, held pending while the upcall
        // was raised by a hypercall made at or above that level (SUSPEND's at HIGH_LEVEL).
        Arc::new(move || {
            let weak = weak.clone();
            cpu0.interrupt(0, STD_DIRQL, move || {
                if let Some(world) = weak.upgrade() {
                    world.evtchn.deliver(0);
                }
            });
        }),
    );
    world.start().unwrap();
    Rig {
        sim,
        platform,
        xen,
        world,
    }
}

#[test]
fn backend_input_wakes_the_client_and_output_reaches_the_backend() {
    let r = rig();
    let console = &r.world.console;
    assert_eq!(console.references(), 1, "the composition acquired it");
    let wakeup = Arc::new(Counter::default());
    let handle = console.wakeup_add(wakeup.clone(), 0).unwrap();
    r.platform.flush_dpcs();
    let initial = wakeup.0.load(Ordering::SeqCst);

    assert_eq!(r.sim.console_input(b"dir\r"), 4);
    r.platform.flush_dpcs();
    assert!(
        wakeup.0.load(Ordering::SeqCst) > initial,
        "event -> DPC -> wakeup"
    );
    assert!(console.can_read());
    let mut buf = [0u8; 16];
    assert_eq!(console.read(&mut buf), 4);
    assert_eq!(&buf[..4], b"dir\r");

    assert_eq!(console.write(b"C:\\>"), 4);
    assert_eq!(r.sim.console_output(), b"C:\\>");

    console.wakeup_remove(&handle).unwrap();
    r.world.stop();
    r.platform.flush_dpcs();
    assert_eq!(console.references(), 0);
    assert!(r.sim.audit().is_clean(), "{:?}", r.sim.audit());
}

#[test]
fn resume_reopens_the_console_through_evtchn_and_events_flow_again() {
    let r = rig();
    let console = &r.world.console;
    let wakeup = Arc::new(Counter::default());
    let handle = console.wakeup_add(wakeup.clone(), 0).unwrap();

    let outcome = r.platform.as_processor(0, || r.world.suspend.trigger());
    assert_eq!(outcome, SuspendOutcome::Resumed);
    assert_eq!(r.sim.suspends(), 1);

    r.platform.flush_dpcs();
    let seen = wakeup.0.load(Ordering::SeqCst);
    assert_eq!(r.sim.console_input(b"y"), 1);
    r.platform.flush_dpcs();
    assert!(
        wakeup.0.load(Ordering::SeqCst) > seen,
        "events arrive on the re-opened channel"
    );
    let mut buf = [0u8; 4];
    assert_eq!(console.read(&mut buf), 1);
    assert_eq!(console.write(b"ok"), 2);
    assert_eq!(r.sim.console_output(), b"ok");

    console.wakeup_remove(&handle).unwrap();
    r.world.stop();
    r.platform.flush_dpcs();
    assert!(r.sim.audit().is_clean(), "{:?}", r.sim.audit());
}

#[test]
fn console_alone_acquires_its_dependencies_and_fails_cleanly_without_a_console_param() {
    let r = rig();
    r.world.stop();
    // A console of its own over the stopped composition's EVTCHN and GNTTAB: its acquire is
    // the only reference they get.
    let console: Arc<RealConsole> = Console::new(
        r.platform.clone(),
        Arc::clone(&r.xen),
        Arc::clone(&r.world.evtchn),
        Arc::clone(&r.world.gnttab),
    );
    console.acquire().unwrap();
    assert_eq!(console.write(b"solo"), 4);
    assert_eq!(r.sim.console_output(), b"solo");
    console.release();
    r.platform.flush_dpcs();
    assert!(r.sim.audit().is_clean(), "{:?}", r.sim.audit());
    // A toolstack without a PV console: the param names no port.
    xen_services::XenServices::hvm_set_param(
        &*r.xen,
        xen_headers::hvm::params::HVM_PARAM_CONSOLE_EVTCHN,
        0,
    )
    .unwrap();
    assert!(matches!(
        console.acquire(),
        Err(ConsoleError::Dependency(_))
    ));
    assert_eq!(console.references(), 0);
    assert_eq!(console.write(b"x"), 0);
    assert!(r.sim.audit().is_clean(), "{:?}", r.sim.audit());
}
