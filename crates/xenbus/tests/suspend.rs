// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! SUSPEND (with CONSOLE as a LATE client) on the host simulator: a real
//! `SCHEDOP_shutdown(SHUTDOWN_suspend)` resumes in a new domain whose toolstack binds the
//! console at another port; the LATE callback re-opens it and output reaches the backend again.
//! A cancelled suspend and an injected hypercall failure run no callback, and nothing is left
//! open afterwards.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::must_use_candidate,
    clippy::expect_used,
    clippy::significant_drop_tightening,
    missing_docs
)]

include!("support/sim_platform.rs");

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use ntstatus::NtStatus;
use xen_headers::sched::SCHEDOP_SHUTDOWN;
use xen_headers::xen::HYPERVISOR_SCHED_OP;
use xen_services::XenServices;
use xen_sim::Fault;
use xenbus::console::{Console, ConsoleEvtchn, ConsoleGnttab};
use xenbus::debug::Origin;
use xenbus::suspend::{
    Suspend, SuspendCallbackType, SuspendFunction, SuspendOutcome, SuspendSystem,
};

type Handler = Arc<dyn Fn() + Send + Sync>;

/// EVTCHN reduced to what CONSOLE needs, over the simulator: a FIXED port needs no hypercall
/// to open or close; unmask and send are the real hypercalls.
struct SimEvtchn {
    xen: Arc<Direct<SimVcpu>>,
    references: AtomicI32,
    open: Mutex<BTreeMap<u32, Handler>>,
}

impl ConsoleEvtchn for SimEvtchn {
    type Channel = u32;
    fn acquire(&self) -> Result<(), NtStatus> {
        self.references.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn release(&self) {
        self.references.fetch_sub(1, Ordering::SeqCst);
    }
    fn open_fixed(&self, port: u32, callback: Handler) -> Result<u32, NtStatus> {
        self.open.lock().unwrap().insert(port, callback);
        Ok(port)
    }
    fn unmask(&self, channel: &u32) {
        self.xen.evtchn_unmask(*channel).unwrap();
    }
    fn send(&self, channel: &u32) {
        self.xen.evtchn_send(*channel).unwrap();
    }
    fn close(&self, channel: u32) {
        self.open.lock().unwrap().remove(&channel);
    }
}

/// GNTTAB reduced to grant reference 0: the toolstack's console frame.
struct SimGnttab(Sim);

impl ConsoleGnttab for SimGnttab {
    fn acquire(&self) -> Result<(), NtStatus> {
        Ok(())
    }
    fn release(&self) {}
    fn query_reference(&self, reference: u32) -> Result<u64, NtStatus> {
        assert_eq!(reference, 0);
        Ok(self.0.console_ring().0)
    }
}

#[derive(Default)]
struct System {
    vcpu_infos: AtomicU32,
    unplugs: AtomicU32,
}

impl SuspendSystem for System {
    fn register_vcpu_info(&self, _cpu: u32) {
        self.vcpu_infos.fetch_add(1, Ordering::SeqCst);
    }
    fn unplug_devices(&self) {
        self.unplugs.fetch_add(1, Ordering::SeqCst);
    }
}

struct Rig {
    world: SimWorld,
    evtchn: Arc<SimEvtchn>,
    console: Arc<Console<StdPlatform, Direct<SimVcpu>, SimEvtchn, SimGnttab>>,
    suspend: Arc<Suspend<StdPlatform, Direct<SimVcpu>>>,
    system: Arc<System>,
    lates: Arc<AtomicU32>,
}

fn rig() -> Rig {
    let world = sim_world(SimConfig {
        vcpus: 2,
        resume_port_shift: 5,
        ..SimConfig::default()
    });
    let evtchn = Arc::new(SimEvtchn {
        xen: Arc::clone(&world.xen),
        references: AtomicI32::new(0),
        open: Mutex::new(BTreeMap::new()),
    });
    let console = Console::new(
        world.platform.clone(),
        Arc::clone(&world.xen),
        Arc::clone(&evtchn),
        Arc::new(SimGnttab(world.sim.clone())),
    );
    let system = Arc::new(System::default());
    let suspend = Arc::new(Suspend::new(
        world.platform.clone(),
        Arc::clone(&world.xen),
        Arc::clone(&system) as Arc<dyn SuspendSystem>,
        None,
    ));
    Rig {
        world,
        evtchn,
        console,
        suspend,
        system,
        lates: Arc::new(AtomicU32::new(0)),
    }
}

fn console_late(r: &Rig) -> SuspendFunction {
    let (console, lates) = (Arc::clone(&r.console), Arc::clone(&r.lates));
    Arc::new(move || {
        lates.fetch_add(1, Ordering::SeqCst);
        console.suspend_late();
    })
}

fn open_ports(r: &Rig) -> Vec<u32> {
    r.evtchn.open.lock().unwrap().keys().copied().collect()
}

#[test]
fn resume_in_a_new_domain_reopens_the_renumbered_console_channel() {
    let r = rig();
    r.suspend.acquire().unwrap();
    r.console.acquire().unwrap();
    let (_, first_port) = r.world.sim.toolstack_ports();
    assert_eq!(open_ports(&r), [first_port]);
    assert_eq!(r.console.write(b"before\r\n"), 8);
    assert_eq!(r.world.sim.console_output(), b"before\r\n");

    let late = r
        .suspend
        .register(
            SuspendCallbackType::Late,
            console_late(&r),
            Origin::default(),
        )
        .unwrap();
    let outcome = r.world.platform.as_processor(0, || r.suspend.trigger());
    assert_eq!(outcome, SuspendOutcome::Resumed);
    assert_eq!(r.world.sim.suspends(), 1);
    assert_eq!(r.suspend.count(), 1);
    assert_eq!(r.lates.load(Ordering::SeqCst), 1);
    assert_eq!(r.system.vcpu_infos.load(Ordering::SeqCst), 2);
    assert_eq!(r.system.unplugs.load(Ordering::SeqCst), 1);

    let (_, second_port) = r.world.sim.toolstack_ports();
    assert_ne!(second_port, first_port, "the simulator renumbers on resume");
    assert_eq!(open_ports(&r), [second_port]);
    assert_eq!(r.console.write(b"after\r\n"), 7);
    assert_eq!(r.world.sim.console_output(), b"before\r\nafter\r\n");
    // Input from the new backend arrives too.
    assert_eq!(r.world.sim.console_input(b"hi"), 2);
    let mut buf = [0u8; 8];
    assert_eq!(r.console.read(&mut buf), 2);
    assert_eq!(&buf[..2], b"hi");

    r.suspend.deregister(&late).unwrap();
    r.console.release();
    r.suspend.release();
    assert!(open_ports(&r).is_empty());
    assert_eq!(r.evtchn.references.load(Ordering::SeqCst), 0);
    assert!(r.world.sim.audit().is_clean(), "{:?}", r.world.sim.audit());
}

#[test]
fn cancelled_or_failed_suspend_runs_no_callback_and_keeps_the_channel() {
    let r = rig();
    r.console.acquire().unwrap();
    let (_, port) = r.world.sim.toolstack_ports();
    let late = r
        .suspend
        .register(
            SuspendCallbackType::Late,
            console_late(&r),
            Origin::default(),
        )
        .unwrap();
    let early_runs = Arc::new(AtomicU32::new(0));
    let e = Arc::clone(&early_runs);
    let early = r
        .suspend
        .register(
            SuspendCallbackType::Early,
            Arc::new(move || {
                e.fetch_add(1, Ordering::SeqCst);
            }),
            Origin::default(),
        )
        .unwrap();

    r.world.sim.cancel_next_suspend();
    assert_eq!(r.suspend.trigger(), SuspendOutcome::Cancelled);
    assert_eq!(r.world.sim.suspends(), 0);

    r.world
        .sim
        .inject(Fault::new(HYPERVISOR_SCHED_OP).cmd(SCHEDOP_SHUTDOWN));
    assert!(matches!(r.suspend.trigger(), SuspendOutcome::Failed(_)));
    assert_eq!(r.world.sim.faults_fired(), 1);

    assert_eq!(r.lates.load(Ordering::SeqCst), 0);
    assert_eq!(early_runs.load(Ordering::SeqCst), 0);
    assert_eq!(r.system.vcpu_infos.load(Ordering::SeqCst), 0);
    assert_eq!(r.suspend.count(), 0);
    assert_eq!(r.world.sim.toolstack_ports().1, port);
    assert_eq!(open_ports(&r), [port]);
    assert_eq!(r.console.write(b"still here"), 10);
    assert_eq!(r.world.sim.console_output(), b"still here");

    // The next one goes through and runs both.
    assert_eq!(r.suspend.trigger(), SuspendOutcome::Resumed);
    assert_eq!(early_runs.load(Ordering::SeqCst), 1);
    assert_eq!(r.lates.load(Ordering::SeqCst), 1);

    r.suspend.deregister(&late).unwrap();
    r.suspend.deregister(&early).unwrap();
    r.console.release();
    assert!(open_ports(&r).is_empty());
    assert!(r.world.sim.audit().is_clean());
}
