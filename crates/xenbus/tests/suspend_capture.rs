// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! SUSPEND with another processor captured in the middle of a grant map or a channel open
//! (the IRQL and locking discipline of upstream's `sync.c`, `gnttab.c` and `evtchn.c`), on the
//! host simulator with the subsystems wired as the active FDO wires them
//! (`xenbus::subsystems`). The store case, which needs the real xenstored, is in
//! `crates/xenstored-harness/tests/suspend_capture_store.rs`.
//!
//! A thread on CPU 1 runs the operation; CPU 0 runs a whole suspend and resume through
//! SUSPEND. The capture is modelled as on Windows (`StdPlatform`'s rendezvous): a processor is
//! captured by a DPC, so only where its thread runs below `DISPATCH_LEVEL`; a thread at
//! `DISPATCH_LEVEL` delays the capture until it lowers its IRQL and is preempted right there.
//! The captured thread stays frozen until the rendezvous released its processor, and every
//! hypercall is checked not to come from a processor a rendezvous holds.
//!
//! - Grant map (`GnttabMapForeignPages` runs at `PASSIVE_LEVEL`, no lock across its per-page
//!   `GNTTABOP_map_grant_ref`s): captured between two pages, the map completes with success
//!   as upstream's does; the page mapped before the suspend died with the old domain (Xen's
//!   maptrack is the domain's), and Unmap gives everything back instead of failing on the dead
//!   handle for ever (upstream `BUG_ON`s there). The same for a mapping made wholly before a
//!   suspend and unmapped after it.
//! - Channel open (`EvtchnOpen` raises to `DISPATCH_LEVEL` for the whole open, "Prevent
//!   suspend"): a suspend requested while the bind hypercall runs waits until the open
//!   returned; the channel, opened in the old domain, is then invalidated by the suspend
//!   (`EvtchnSuspendCallbackEarly`): `Send` is a silent no-op and `Close` issues no hypercall.
//!   Re-opened, it works both ways. An open captured before it raised runs in the new domain.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use ntstatus::NtStatus;
use platform_port::std_impl::{
    CapturePhase, STD_DIRQL, StdInterrupts, StdPlatform, irql_violations,
};
use platform_port::{Deferred, Irql, IrqlLevel, Processors};
use xen::services::Direct;
use xen_services::{DomId, XenServices};
use xen_sim::{PortState, Sim, SimConfig, SimPages, SimVcpu};
use xenbus::evtchn::{Channel, EvtchnConfig, OpenKind};
use xenbus::store::StoreConfig;
use xenbus::subsystems::{Subsystems, SubsystemsConfig};
use xenbus::suspend::{SuspendOutcome, SuspendSystem};

type Result<T> = core::result::Result<T, NtStatus>;

const CPUS: u32 = 2;
/// Upper bound of every wait of the tests (they finish in well under a second).
const WAIT: Duration = Duration::from_secs(5);

/// A one-shot flag another thread waits for.
#[derive(Default)]
struct Signal {
    set: Mutex<bool>,
    changed: Condvar,
}

impl Signal {
    fn set(&self) {
        *self.set.lock().unwrap() = true;
        self.changed.notify_all();
    }

    fn wait(&self) {
        let (set, timeout) = self
            .changed
            .wait_timeout_while(self.set.lock().unwrap(), WAIT, |set| !*set)
            .unwrap();
        let came = *set && !timeout.timed_out();
        drop(set);
        assert!(came, "signal never came");
    }
}

/// The hypercalls the tests watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    MapForeign { reference: u32 },
    UnmapForeign { handle: u32 },
    AllocateUnbound,
    BindInterDomain { remote_port: u32 },
    EvtchnSend { port: u32 },
    EvtchnClose { port: u32 },
    Shutdown,
    Other,
}

type Hook = Arc<dyn Fn(Call) + Send + Sync>;

/// xen.sys's services over the simulator, with a hook the test controls before every call.
struct Hooked {
    inner: Direct<SimVcpu>,
    platform: StdPlatform,
    hook: Mutex<Option<Hook>>,
    calls: Mutex<Vec<(Call, u32)>>,
}

impl Hooked {
    fn before(&self, call: Call) {
        let cpu = self.platform.current_processor();
        // A processor a rendezvous holds runs only the rendezvous (at DISPATCH_LEVEL or
        // above): a thread below DISPATCH_LEVEL there is preempted and cannot call Xen.
        if self.platform.current_irql() < IrqlLevel::DISPATCH {
            assert_ne!(
                self.platform.capture_info(cpu).phase,
                CapturePhase::Captured,
                "{call:?} from CPU {cpu} while a rendezvous holds it"
            );
        }
        self.calls.lock().unwrap().push((call, cpu));
        let hook = self.hook.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook(call);
        }
    }

    fn set_hook(&self, hook: impl Fn(Call) + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    fn clear_hook(&self) {
        *self.hook.lock().unwrap() = None;
    }

    fn count(&self, wanted: impl Fn(Call) -> bool) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _)| wanted(*c))
            .count()
    }
}

impl XenServices for Hooked {
    fn evtchn_send(&self, port: u32) -> Result<()> {
        self.before(Call::EvtchnSend { port });
        self.inner.evtchn_send(port)
    }
    fn evtchn_allocate_unbound(&self, domain: DomId) -> Result<u32> {
        self.before(Call::AllocateUnbound);
        self.inner.evtchn_allocate_unbound(domain)
    }
    fn evtchn_bind_inter_domain(&self, domain: DomId, remote_port: u32) -> Result<u32> {
        self.before(Call::BindInterDomain { remote_port });
        self.inner.evtchn_bind_inter_domain(domain, remote_port)
    }
    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> Result<u32> {
        self.before(Call::Other);
        self.inner.evtchn_bind_virq(virq, vcpu)
    }
    fn evtchn_bind_virtual_cpu(&self, port: u32, vcpu: u32) -> Result<()> {
        self.before(Call::Other);
        self.inner.evtchn_bind_virtual_cpu(port, vcpu)
    }
    fn evtchn_query_inter_domain(&self, port: u32) -> Result<(DomId, u32)> {
        self.before(Call::Other);
        self.inner.evtchn_query_inter_domain(port)
    }
    fn evtchn_close(&self, port: u32) -> Result<()> {
        self.before(Call::EvtchnClose { port });
        self.inner.evtchn_close(port)
    }
    fn evtchn_unmask(&self, port: u32) -> Result<()> {
        self.before(Call::Other);
        self.inner.evtchn_unmask(port)
    }
    fn evtchn_reset(&self) -> Result<()> {
        self.before(Call::Other);
        self.inner.evtchn_reset()
    }
    unsafe fn evtchn_init_control(&self, gfn: u64, vcpu: u32) -> Result<()> {
        self.before(Call::Other);
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.evtchn_init_control(gfn, vcpu) }
    }
    unsafe fn evtchn_expand_array(&self, gfn: u64) -> Result<()> {
        self.before(Call::Other);
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.evtchn_expand_array(gfn) }
    }
    fn gnttab_query_size(&self) -> Result<(u32, u32)> {
        self.before(Call::Other);
        self.inner.gnttab_query_size()
    }
    unsafe fn gnttab_map_foreign_page(
        &self,
        domain: DomId,
        grant_ref: u32,
        address: u64,
        read_only: bool,
    ) -> Result<u32> {
        self.before(Call::MapForeign {
            reference: grant_ref,
        });
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe {
            self.inner
                .gnttab_map_foreign_page(domain, grant_ref, address, read_only)
        }
    }
    unsafe fn gnttab_unmap_foreign_page(&self, handle: u32, address: u64) -> Result<()> {
        self.before(Call::UnmapForeign { handle });
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.gnttab_unmap_foreign_page(handle, address) }
    }
    fn hvm_get_param(&self, index: u32) -> Result<u64> {
        self.before(Call::Other);
        self.inner.hvm_get_param(index)
    }
    fn hvm_set_param(&self, index: u32, value: u64) -> Result<()> {
        self.before(Call::Other);
        self.inner.hvm_set_param(index, value)
    }
    fn hvm_set_evtchn_upcall_vector(&self, vcpu: u32, vector: u8) -> Result<()> {
        self.before(Call::Other);
        self.inner.hvm_set_evtchn_upcall_vector(vcpu, vector)
    }
    unsafe fn memory_add_to_physmap(&self, gfn: u64, space: u32, offset: u64) -> Result<()> {
        self.before(Call::Other);
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.memory_add_to_physmap(gfn, space, offset) }
    }
    unsafe fn memory_remove_from_physmap(&self, gfn: u64) -> Result<()> {
        self.before(Call::Other);
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.memory_remove_from_physmap(gfn) }
    }
    unsafe fn memory_decrease_reservation(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        self.before(Call::Other);
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.memory_decrease_reservation(order, frames) }
    }
    unsafe fn memory_populate_physmap(&self, order: u32, frames: &mut [u64]) -> Result<usize> {
        self.before(Call::Other);
        // SAFETY: the caller's guarantee, passed on unchanged.
        unsafe { self.inner.memory_populate_physmap(order, frames) }
    }
    fn sched_shutdown(&self, reason: u32) -> Result<()> {
        self.before(Call::Shutdown);
        self.inner.sched_shutdown(reason)
    }
    fn sched_yield(&self) {
        self.before(Call::Other);
        self.inner.sched_yield();
    }
    fn processor_vcpu_id(&self, cpu: u32) -> Result<u32> {
        self.inner.processor_vcpu_id(cpu)
    }
    fn processor_vcpu_info(&self, cpu: u32) -> Result<core::ptr::NonNull<u8>> {
        self.inner.processor_vcpu_info(cpu)
    }
    fn vcpu_set_periodic_timer(&self, vcpu: u32, period: Option<u64>) -> Result<()> {
        self.inner.vcpu_set_periodic_timer(vcpu, period)
    }
    fn system_set_watchdog(&self, seconds: u32) -> Result<()> {
        self.inner.system_set_watchdog(seconds)
    }
    fn system_stop_watchdog(&self) {
        self.inner.system_stop_watchdog();
    }
    fn unplug_increment_value(&self, unplug_type: u32) -> Result<()> {
        self.inner.unplug_increment_value(unplug_type)
    }
    fn unplug_decrement_value(&self, unplug_type: u32) -> Result<()> {
        self.inner.unplug_decrement_value(unplug_type)
    }
}

/// xen.sys's EARLY work: `unplug_devices` runs on CPU 0 at `HIGH_LEVEL` right after the
/// suspend hypercall returned, every other processor still captured: the tests look at the
/// captured processor from there.
#[derive(Default)]
struct System {
    at_resume: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
}

impl SuspendSystem for System {
    fn register_vcpu_info(&self, _cpu: u32) {}

    fn unplug_devices(&self) {
        let hook = self.at_resume.lock().unwrap().clone();
        if let Some(hook) = hook {
            hook();
        }
    }
}

type World = Subsystems<StdPlatform, Hooked, StdInterrupts>;

struct Rig {
    sim: Sim,
    pages: Arc<SimPages>,
    platform: StdPlatform,
    xen: Arc<Hooked>,
    system: Arc<System>,
    world: Arc<World>,
}

fn rig() -> Rig {
    let sim = Sim::new(SimConfig {
        vcpus: CPUS,
        ..SimConfig::default()
    });
    let (platform, pages) = sim.platform(CPUS);
    let xen = Arc::new(Hooked {
        inner: Direct::new(sim.vcpu(0), CPUS),
        platform: platform.clone(),
        hook: Mutex::new(None),
        calls: Mutex::new(Vec::new()),
    });
    let system = Arc::new(System::default());
    let world = Subsystems::new(
        platform.clone(),
        Arc::clone(&xen),
        StdInterrupts::new(platform.clone()),
        SubsystemsConfig {
            evtchn: EvtchnConfig::default(),
            store: StoreConfig::default(),
            system: Arc::clone(&system) as Arc<dyn SuspendSystem>,
            lookup: None,
        },
    )
    .expect("subsystems");
    for cpu in 0..CPUS {
        let weak = Arc::downgrade(&world);
        let p = platform.clone();
        // Delivered as the hardware would: at DIRQL on that CPU.
        sim.set_upcall_handler(
            cpu,
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
    world.start().expect("start");
    Rig {
        sim,
        pages,
        platform,
        xen,
        system,
        world,
    }
}

impl Rig {
    fn on_resume(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.system.at_resume.lock().unwrap() = Some(Arc::new(hook));
    }

    fn suspend_on_cpu0(&self) -> SuspendOutcome {
        self.platform
            .as_processor(0, || self.world.suspend.trigger())
    }

    fn finish(self) {
        *self.system.at_resume.lock().unwrap() = None;
        self.xen.clear_hook();
        self.world.stop();
        self.platform.flush_dpcs();
        assert_eq!(self.world.evtchn.channel_count(), 0);
        assert_eq!(self.world.gnttab.foreign_map_count(), 0);
        let audit = self.sim.audit();
        assert!(audit.is_clean(), "{audit:?}");
        assert_eq!(self.pages.live_pages(), 0);
        assert_eq!(self.pages.outstanding(), 0);
        assert_eq!(irql_violations(), 0, "an IRQL rule was broken");
    }
}

fn read_guest(sim: &Sim, gfn: u64) -> [u8; 6] {
    let ptr = sim.host_ptr(gfn).expect("backed");
    let mut seen = [0u8; 6];
    // SAFETY: the simulator's page behind the guest frame, 4096 bytes, alive with `sim`.
    unsafe { ptr.copy_to(seen.as_mut_ptr(), seen.len()) };
    seen
}

#[test]
fn a_grant_map_captured_between_two_pages_succeeds_and_unmaps_without_leaking() {
    let rig = rig();
    let baseline = rig.pages.outstanding();
    let dom0 = rig.sim.dom0();
    let a = dom0.grant_page(false);
    let b = dom0.grant_page(false);
    a.write(0, b"page a").unwrap();
    b.write(0, b"page b").unwrap();

    // The capture point: CPU 1 about to map the second page (PASSIVE_LEVEL, no lock held:
    // upstream's GnttabMapForeignPages loops over GrantTableMapForeignPage unlocked).
    let armed = Arc::new(Signal::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let (platform, sim, armed, seen) = (
            rig.platform.clone(),
            rig.sim.clone(),
            Arc::clone(&armed),
            Arc::clone(&seen),
        );
        let second = b.reference();
        rig.xen.set_hook(move |call| {
            if call != (Call::MapForeign { reference: second }) {
                return;
            }
            assert_eq!(platform.current_processor(), 1);
            seen.lock()
                .unwrap()
                .push(("before", sim.suspends(), sim.audit().guest_grant_maps));
            platform.capture_point(|| armed.set());
            seen.lock()
                .unwrap()
                .push(("after", sim.suspends(), sim.audit().guest_grant_maps));
        });
    }
    let at_resume = Arc::new(Mutex::new(None));
    {
        let (platform, at_resume) = (rig.platform.clone(), Arc::clone(&at_resume));
        rig.on_resume(move || {
            *at_resume.lock().unwrap() = Some(platform.capture_info(1));
        });
    }
    let (platform, world) = (rig.platform.clone(), Arc::clone(&rig.world));
    let refs = [a.reference(), b.reference()];
    let mapper = std::thread::spawn(move || {
        platform.as_processor(1, || world.gnttab.map_foreign_pages(0, &refs, false))
    });
    armed.wait();
    assert_eq!(rig.suspend_on_cpu0(), SuspendOutcome::Resumed);
    let address = mapper
        .join()
        .unwrap()
        .expect("the map completes with success, as upstream");
    rig.xen.clear_hook();

    // The suspend ran while the mapper was frozen at its capture point, holding CPU 1.
    let info = at_resume.lock().unwrap().expect("EARLY ran");
    assert_eq!(info.phase, CapturePhase::Captured);
    assert_eq!(info.frozen, 1, "the mapper was frozen during the suspend");
    assert_eq!(
        *seen.lock().unwrap(),
        [("before", 0, 1), ("after", 1, 0)],
        "first page mapped in the old domain; the suspend dropped it while the mapper waited"
    );

    // The second page was mapped in the new domain; the first died with the old one.
    let gfn = address >> 12;
    assert_eq!(rig.sim.audit().guest_grant_maps, 1);
    assert_eq!(&read_guest(&rig.sim, gfn + 1), b"page b");
    assert!(dom0.end_grant(&b).is_err(), "page b is still mapped");

    // Unmap gives everything back: the dead handle is not fatal, the hole is freed.
    rig.world
        .gnttab
        .unmap_foreign_pages(address)
        .expect("unmap");
    assert_eq!(rig.world.gnttab.foreign_map_count(), 0);
    assert_eq!(rig.sim.audit().guest_grant_maps, 0);
    assert_eq!(
        rig.pages.outstanding(),
        baseline,
        "the hole's pages came back"
    );
    dom0.end_grant(&a).unwrap();
    dom0.end_grant(&b).unwrap();

    // Grants work afterwards: both pages of a new pair map.
    let c = dom0.grant_page(false);
    let d = dom0.grant_page(false);
    c.write(0, b"page c").unwrap();
    d.write(0, b"page d").unwrap();
    let address = rig
        .platform
        .as_processor(1, || {
            rig.world
                .gnttab
                .map_foreign_pages(0, &[c.reference(), d.reference()], false)
        })
        .unwrap();
    assert_eq!(&read_guest(&rig.sim, address >> 12), b"page c");
    assert_eq!(&read_guest(&rig.sim, (address >> 12) + 1), b"page d");
    rig.world.gnttab.unmap_foreign_pages(address).unwrap();
    dom0.end_grant(&c).unwrap();
    dom0.end_grant(&d).unwrap();
    assert_eq!(rig.pages.outstanding(), baseline);
    rig.finish();
}

#[test]
fn a_foreign_mapping_made_before_a_suspend_unmaps_after_it_without_leaking() {
    let rig = rig();
    let baseline = rig.pages.outstanding();
    let dom0 = rig.sim.dom0();
    let pages = [dom0.grant_page(false), dom0.grant_page(true)];
    let refs = pages.each_ref().map(xen_sim::BackendPage::reference);
    let address = rig.world.gnttab.map_foreign_pages(0, &refs, true).unwrap();
    assert_eq!(rig.sim.audit().guest_grant_maps, 2);
    assert_eq!(rig.suspend_on_cpu0(), SuspendOutcome::Resumed);
    // Xen dropped both mappings with the old domain.
    assert_eq!(rig.sim.audit().guest_grant_maps, 0);
    let unmaps = rig.xen.count(|c| matches!(c, Call::UnmapForeign { .. }));
    rig.world
        .gnttab
        .unmap_foreign_pages(address)
        .expect("unmap");
    // Xen was still asked (a handle dated before a suspend may have been made after it).
    assert_eq!(
        rig.xen.count(|c| matches!(c, Call::UnmapForeign { .. })),
        unmaps + 2
    );
    assert_eq!(rig.world.gnttab.foreign_map_count(), 0);
    assert_eq!(
        rig.pages.outstanding(),
        baseline,
        "the hole's pages came back"
    );
    for page in &pages {
        dom0.end_grant(page).unwrap();
    }
    rig.finish();
}

/// A child's callback counting its events.
fn counting(events: &Arc<AtomicU32>) -> xenbus::evtchn::Callback {
    let events = Arc::clone(events);
    Arc::new(move || {
        events.fetch_add(1, Ordering::SeqCst);
        true
    })
}

/// Events pass both ways on an open interdomain channel whose dom0 end is `remote`.
fn events_pass(rig: &Rig, channel: &Channel, remote: u32, events: &AtomicU32) {
    rig.world.evtchn.unmask(channel, false, true);
    let before = events.load(Ordering::SeqCst);
    rig.sim.dom0().send(remote).expect("dom0 kicks");
    rig.platform.flush_dpcs();
    assert_eq!(
        events.load(Ordering::SeqCst),
        before + 1,
        "dom0's event arrived"
    );
    rig.world.evtchn.send(channel);
    assert!(
        rig.sim.dom0().take_events().contains(&remote),
        "the guest's event reached dom0"
    );
}

#[test]
fn a_channel_open_holds_off_the_capture_and_the_suspend_then_invalidates_the_channel() {
    let rig = rig();
    let base_channels = rig.world.evtchn.channel_count();
    let dom0 = rig.sim.dom0();
    let remote = dom0.allocate_unbound().unwrap();

    // CPU 1 in the middle of the open: inside EVTCHNOP_bind_interdomain, at DISPATCH_LEVEL
    // (upstream's EvtchnOpen raises for the whole open, "Prevent suspend"), so not capturable.
    let (in_bind, go) = (Arc::new(Signal::default()), Arc::new(Signal::default()));
    {
        let (platform, in_bind, go) = (rig.platform.clone(), Arc::clone(&in_bind), Arc::clone(&go));
        rig.xen.set_hook(move |call| {
            // (EVTCHN's reset re-binds the toolstack's channels on other ports.)
            if call
                == (Call::BindInterDomain {
                    remote_port: remote,
                })
            {
                assert_eq!(platform.current_processor(), 1);
                assert_eq!(platform.current_irql(), IrqlLevel::DISPATCH);
                in_bind.set();
                go.wait();
            }
        });
    }
    let at_resume = Arc::new(Mutex::new(None));
    {
        let (platform, at_resume) = (rig.platform.clone(), Arc::clone(&at_resume));
        // At HIGH_LEVEL: only the platform's books, no spin lock.
        rig.on_resume(move || {
            *at_resume.lock().unwrap() =
                Some((platform.capture_info(1), platform.held_locks(1).len()));
        });
    }
    let events = Arc::new(AtomicU32::new(0));
    let (platform, world, callback) = (
        rig.platform.clone(),
        Arc::clone(&rig.world),
        counting(&events),
    );
    let opener = std::thread::spawn(move || {
        platform.as_processor(1, || {
            world.evtchn.open(
                OpenKind::InterDomain {
                    remote_domain: 0,
                    remote_port: remote,
                    auto_mask: false,
                },
                callback,
                0x1000,
            )
        })
    });
    in_bind.wait();
    let (platform, world) = (rig.platform.clone(), Arc::clone(&rig.world));
    let suspender =
        std::thread::spawn(move || platform.as_processor(0, || world.suspend.trigger()));
    // The capturing DPC is queued for CPU 1 and waits: the suspend has not happened.
    let capturing = rig
        .platform
        .await_capture(1, WAIT, |i| i.phase == CapturePhase::Capturing);
    let suspends_while_capturing = rig.sim.suspends();
    go.set();
    let outcome = suspender.join().unwrap();
    let channel = opener.join().unwrap().expect("the open completes");
    rig.xen.clear_hook();
    assert!(
        capturing,
        "the capture did not wait for the open at DISPATCH_LEVEL"
    );
    assert_eq!(suspends_while_capturing, 0);
    assert_eq!(outcome, SuspendOutcome::Resumed);

    // At the suspend the open's thread was frozen where it lowered the IRQL, holding nothing.
    let (info, locks) = at_resume.lock().unwrap().expect("EARLY ran");
    assert_eq!(info.frozen, 1);
    assert_eq!(locks, 0);

    // The open completed before the suspend, in the old domain: the suspend invalidated it.
    assert!(!channel.is_active());
    assert_eq!(
        dom0.port_state(remote),
        Some(PortState::Unbound { remote: 1 }),
        "dom0's end lost its peer with the old domain"
    );
    let port = rig.world.evtchn.get_port(&channel);
    rig.world.evtchn.send(&channel);
    assert_eq!(rig.xen.count(|c| c == Call::EvtchnSend { port }), 0);
    let closes = rig.xen.count(|c| matches!(c, Call::EvtchnClose { .. }));
    rig.world.evtchn.close(channel);
    rig.platform.flush_dpcs();
    assert_eq!(
        rig.xen.count(|c| matches!(c, Call::EvtchnClose { .. })),
        closes,
        "a channel invalidated by the suspend is closed without a hypercall"
    );
    assert_eq!(rig.world.evtchn.channel_count(), base_channels);

    reopened_channel_works(&rig, remote, &events);
    dom0.close(remote).unwrap();
    rig.finish();
}

/// A child re-opens its interdomain channel to dom0's `remote` after the resume: it works both
/// ways.
fn reopened_channel_works(rig: &Rig, remote: u32, events: &Arc<AtomicU32>) {
    let channel = rig
        .world
        .evtchn
        .open(
            OpenKind::InterDomain {
                remote_domain: 0,
                remote_port: remote,
                auto_mask: false,
            },
            counting(events),
            0x1000,
        )
        .unwrap();
    assert!(channel.is_active());
    events_pass(rig, &channel, remote, events);
    rig.world.evtchn.close(channel);
    rig.platform.flush_dpcs();
}

#[test]
fn a_channel_open_captured_before_it_raises_opens_in_the_new_domain() {
    let rig = rig();
    let go = Arc::new(Signal::default());
    let allocated_in = Arc::new(Mutex::new(Vec::new()));
    {
        let (sim, allocated_in) = (rig.sim.clone(), Arc::clone(&allocated_in));
        rig.xen.set_hook(move |call| {
            if call == Call::AllocateUnbound {
                allocated_in.lock().unwrap().push(sim.suspends());
            }
        });
    }
    // With CPU 1 captured, its thread starts an open: preempted before it raises to
    // DISPATCH_LEVEL (frozen there), it runs on only after the resume.
    let frozen_at_resume = Arc::new(Mutex::new(None));
    {
        let (platform, go, frozen_at_resume) = (
            rig.platform.clone(),
            Arc::clone(&go),
            Arc::clone(&frozen_at_resume),
        );
        rig.on_resume(move || {
            go.set();
            let frozen = platform.await_capture(1, WAIT, |i| i.frozen == 1);
            *frozen_at_resume.lock().unwrap() = Some(frozen);
        });
    }
    let events = Arc::new(AtomicU32::new(0));
    let (platform, world, callback, go2) = (
        rig.platform.clone(),
        Arc::clone(&rig.world),
        counting(&events),
        Arc::clone(&go),
    );
    let opener = std::thread::spawn(move || {
        platform.as_processor(1, || {
            go2.wait();
            assert_eq!(platform.current_irql(), IrqlLevel::PASSIVE);
            world.evtchn.open(
                OpenKind::Unbound {
                    remote_domain: 0,
                    auto_mask: false,
                },
                callback,
                0x2000,
            )
        })
    });
    assert_eq!(rig.suspend_on_cpu0(), SuspendOutcome::Resumed);
    let channel = opener.join().unwrap().expect("open");
    rig.xen.clear_hook();
    assert_eq!(*frozen_at_resume.lock().unwrap(), Some(true));
    assert_eq!(
        *allocated_in.lock().unwrap(),
        [1],
        "the port was allocated in the new domain"
    );
    assert!(channel.is_active());
    let port = rig.world.evtchn.get_port(&channel);
    let remote = rig.sim.dom0().bind_interdomain(port).expect("dom0 binds");
    events_pass(&rig, &channel, remote, &events);
    rig.world.evtchn.close(channel);
    rig.platform.flush_dpcs();
    rig.finish();
}
