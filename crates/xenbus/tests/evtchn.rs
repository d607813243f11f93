// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! EVTCHN scenarios on the host simulator (`crates/xen-sim`): a guest with `shared_info`
//! mapped, upcalls delivered to `Evtchn::deliver` on the vCPU Xen raised them for, dom0 as the
//! remote end, and the simulator's leak audit after every failure path. Every scenario that
//! does not depend on the ABI runs with both 2-level and FIFO.

#![allow(clippy::missing_panics_doc)]

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use platform_port::std_impl::{STD_DIRQL, StdInterrupts, StdPlatform};
use platform_port::{Deferred, InterruptMode, LogLevel, Processors};
use xen::services::Direct;
use xen_headers::errno;
use xen_headers::event_channel::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_VCPU, EVTCHNOP_BIND_VIRQ,
    EVTCHNOP_CLOSE, EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL, EVTCHNOP_UNMASK,
};
use xen_headers::hvm::hvm_op::HVMOP_SET_EVTCHN_UPCALL_VECTOR;
use xen_headers::hvm::params::{
    HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_STORE_EVTCHN,
};
use xen_headers::memory::XENMAPSPACE_SHARED_INFO;
use xen_headers::sched::SHUTDOWN_SUSPEND;
use xen_headers::xen::{HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_HVM_OP, VIRQ_DEBUG, VIRQ_TIMER};
use xen_services::XenServices;
use xen_sim::{Fault, PortState, Sim, SimConfig, SimPages, SimVcpu};
use xenbus::evtchn::{
    AbiKind, Callback, Channel, ChannelKind, Evtchn, EvtchnConfig, EvtchnError, EvtchnSharedInfo,
    OpenKind,
};
use xenbus::shared_info::{ProcessorVcpu, SharedInfo};

type Services = Direct<SimVcpu>;
type Subject = Evtchn<StdPlatform, Services, StdInterrupts>;

struct Env {
    sim: Sim,
    platform: StdPlatform,
    pages: Arc<SimPages>,
    interrupts: StdInterrupts,
    services: Arc<Services>,
    shared_info_gfn: u64,
    shared_info: Arc<SharedInfoSlot>,
    evtchn: Arc<Subject>,
}

/// What `SHARED_INFO` provides in the simulator: the view of the page currently mapped at the
/// hole (a resume gives the domain a new `shared_info`, re-mapped at the same frame).
struct SharedInfoSlot {
    current: Mutex<Arc<SharedInfo>>,
}

impl SharedInfoSlot {
    fn get(&self) -> Arc<SharedInfo> {
        Arc::clone(&self.current.lock().unwrap())
    }
}

impl EvtchnSharedInfo for SharedInfoSlot {
    fn upcall_supported(&self, cpu: u32) -> bool {
        self.get().upcall_supported(cpu)
    }

    fn upcall_pending(&self, cpu: u32) -> bool {
        self.get().upcall_pending(cpu)
    }

    fn evtchn_poll(&self, cpu: u32, event: &mut dyn FnMut(u32) -> bool) -> bool {
        self.get().evtchn_poll(cpu, event)
    }

    fn evtchn_ack(&self, port: u32) {
        EvtchnSharedInfo::evtchn_ack(&*self.get(), port);
    }

    fn evtchn_mask(&self, port: u32) {
        EvtchnSharedInfo::evtchn_mask(&*self.get(), port);
    }

    fn evtchn_unmask(&self, port: u32) -> bool {
        EvtchnSharedInfo::evtchn_unmask(&*self.get(), port)
    }
}

const BOTH: [AbiKind; 2] = [AbiKind::TwoLevel, AbiKind::Fifo];

fn config(abi: AbiKind) -> EvtchnConfig {
    EvtchnConfig {
        use_fifo_abi: abi == AbiKind::Fifo,
        use_upcall: true,
    }
}

impl Env {
    fn new(vcpus: u32, config: EvtchnConfig) -> Self {
        let sim = Sim::new(SimConfig {
            vcpus,
            ..SimConfig::default()
        });
        let (platform, pages) = sim.platform(vcpus);
        let services = Arc::new(Direct::new(sim.vcpu(0), vcpus));
        let shared_info_gfn = sim.hole(1);
        let shared_info = Arc::new(SharedInfoSlot {
            current: Mutex::new(map_shared_info(&sim, shared_info_gfn, vcpus)),
        });
        let interrupts = StdInterrupts::new(platform.clone());
        let evtchn = Evtchn::new(
            platform.clone(),
            Arc::clone(&services),
            interrupts.clone(),
            Arc::clone(&shared_info) as Arc<dyn EvtchnSharedInfo>,
            config,
        )
        .unwrap();
        for vcpu in 0..vcpus {
            let weak = Arc::downgrade(&evtchn);
            let on = platform.clone();
            sim.set_upcall_handler(
                vcpu,
                // Delivered as the hardware would: at DIRQL on that CPU, held pending while the
                // upcall was raised at or above that level.
                Arc::new(move || {
                    let weak = weak.clone();
                    on.interrupt(vcpu, STD_DIRQL, move || {
                        if let Some(evtchn) = weak.upgrade() {
                            evtchn.deliver(vcpu);
                        }
                    });
                }),
            );
        }
        Self {
            sim,
            platform,
            pages,
            interrupts,
            services,
            shared_info_gfn,
            shared_info,
            evtchn,
        }
    }

    fn acquired(vcpus: u32, abi: AbiKind) -> Self {
        let env = Self::new(vcpus, config(abi));
        env.evtchn.acquire().unwrap();
        assert_eq!(env.evtchn.abi_kind(), Some(abi));
        env
    }

    fn calls(&self, op: u32, cmd: u32) -> u64 {
        self.sim.calls(op, cmd)
    }

    fn evtchn_calls(&self, cmd: u32) -> u64 {
        self.calls(HYPERVISOR_EVENT_CHANNEL_OP, cmd)
    }

    /// dom0 allocates a port for the guest; the guest opens it.
    fn open_inter_domain(&self, auto_mask: bool, callback: Callback) -> (Arc<Channel>, u32) {
        let remote = self.sim.dom0().allocate_unbound().unwrap();
        let channel = self
            .evtchn
            .open(
                OpenKind::InterDomain {
                    remote_domain: self.sim.dom0().domid(),
                    remote_port: remote,
                    auto_mask,
                },
                callback,
                0x1234,
            )
            .unwrap();
        // Xen sets the new port pending on bind; take that event now (an auto-masked port is
        // masked again by its delivery: unmask it once more).
        self.evtchn.unmask(&channel, false, true);
        if auto_mask {
            assert!(!self.evtchn.unmask(&channel, false, true));
        }
        (channel, remote)
    }

    fn send_from_dom0(&self, remote: u32) {
        self.sim.dom0().send(remote).unwrap();
    }

    fn guest_ports(&self) -> Vec<u32> {
        self.sim.audit().open_ports
    }

    /// The shared-info page again after a resume (`SHARED_INFO`'s EARLY callback: map at the
    /// same frame, mask every port).
    fn remap_shared_info(&self) {
        let info = map_shared_info(&self.sim, self.shared_info_gfn, self.sim.vcpus());
        *self.shared_info.current.lock().unwrap() = info;
    }

    fn teardown(self) {
        self.evtchn.release();
        self.platform.flush_dpcs();
        let audit = self.sim.audit();
        assert!(audit.is_clean(), "{audit:?}");
        assert_eq!(self.pages.outstanding(), 0);
        assert_eq!(self.interrupts.live(), 0);
    }
}

fn map_shared_info(sim: &Sim, gfn: u64, vcpus: u32) -> Arc<SharedInfo> {
    // SAFETY: the frame is a hole reserved for this mapping.
    unsafe { xen::memory::add_to_physmap(&sim.vcpu(0), gfn, XENMAPSPACE_SHARED_INFO, 0) }.unwrap();
    let page = NonNull::new(sim.host_ptr(gfn).unwrap()).unwrap();
    let cpus: Vec<ProcessorVcpu> = (0..vcpus)
        .map(|vcpu| ProcessorVcpu {
            vcpu_id: Some(vcpu),
            registered: None,
        })
        .collect();
    // SAFETY: the simulator keeps the mapped shared_info frame for its whole life and the
    // view only touches it atomically.
    let info = unsafe { SharedInfo::new(page, &cpus) }.unwrap();
    info.mask_all();
    Arc::new(info)
}

/// A callback counting its runs and recording the processor each ran on.
#[derive(Clone, Default)]
struct Probe {
    runs: Arc<AtomicU32>,
    cpus: Arc<Mutex<Vec<u32>>>,
}

impl Probe {
    fn callback(&self, platform: &StdPlatform) -> Callback {
        let probe = self.clone();
        let platform = platform.clone();
        Arc::new(move || {
            probe.runs.fetch_add(1, Ordering::SeqCst);
            probe
                .cpus
                .lock()
                .unwrap()
                .push(platform.current_processor());
            true
        })
    }

    fn runs(&self) -> u32 {
        self.runs.load(Ordering::SeqCst)
    }

    fn cpus(&self) -> Vec<u32> {
        self.cpus.lock().unwrap().clone()
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

// -- ABI choice and interrupts --------------------------------------------------------------

#[test]
fn fifo_is_chosen_by_default_and_two_level_when_disabled() {
    for abi in BOTH {
        let env = Env::new(2, config(abi));
        assert_eq!(env.evtchn.abi_kind(), None);
        env.evtchn.acquire().unwrap();
        assert_eq!(env.evtchn.abi_kind(), Some(abi));
        let audit = env.sim.audit();
        let blocks = usize::from(abi == AbiKind::Fifo) * 2;
        assert_eq!(audit.fifo_control_blocks, blocks);
        // Nested acquire/release keep everything.
        env.evtchn.acquire().unwrap();
        env.evtchn.release();
        assert_eq!(env.evtchn.abi_kind(), Some(abi));
        env.teardown();
    }
}

#[test]
fn acquire_programs_a_vector_per_cpu_and_the_callback_line() {
    let env = Env::acquired(3, AbiKind::Fifo);
    for cpu in 0..3 {
        assert!(env.evtchn.upcall_enabled(cpu), "cpu {cpu}");
    }
    assert_eq!(
        env.calls(HYPERVISOR_HVM_OP, HVMOP_SET_EVTCHN_UPCALL_VECTOR),
        3
    );
    assert_eq!(
        env.interrupts.allocations(),
        [
            (InterruptMode::Latched, 0),
            (InterruptMode::Latched, 1),
            (InterruptMode::Latched, 2),
            (InterruptMode::LevelSensitive, 0)
        ]
    );
    assert_eq!(
        env.services.hvm_get_param(HVM_PARAM_CALLBACK_IRQ),
        Ok(u64::from(platform_port::std_impl::STD_LINE))
    );
    env.evtchn.release();
    // Release turns them off again.
    assert_eq!(env.services.hvm_get_param(HVM_PARAM_CALLBACK_IRQ), Ok(0));
    for cpu in 0..3 {
        assert!(!env.evtchn.upcall_enabled(cpu));
    }
    assert_eq!(env.interrupts.live(), 0);
    env.evtchn.acquire().unwrap();
    env.teardown();
}

#[test]
fn upcall_not_implemented_stops_trying_other_refusals_skip_one_cpu() {
    let env = Env::new(3, config(AbiKind::TwoLevel));
    env.sim.inject(
        Fault::new(HYPERVISOR_HVM_OP)
            .cmd(HVMOP_SET_EVTCHN_UPCALL_VECTOR)
            .errno(errno::ENOSYS),
    );
    env.evtchn.acquire().unwrap();
    assert_eq!(
        env.calls(HYPERVISOR_HVM_OP, HVMOP_SET_EVTCHN_UPCALL_VECTOR),
        1
    );
    assert!((0..3).all(|cpu| !env.evtchn.upcall_enabled(cpu)));
    // Events still arrive, through the callback line on CPU 0.
    let probe = Probe::default();
    let (channel, remote) = env.open_inter_domain(false, probe.callback(&env.platform));
    let before = probe.runs();
    env.send_from_dom0(remote);
    assert_eq!(probe.runs(), before + 1);
    // Without vectors only CPU 0 takes channels.
    assert_eq!(env.evtchn.bind(&channel, 1), Err(EvtchnError::NotSupported));
    env.evtchn.close(channel);
    env.teardown();

    let env = Env::new(3, config(AbiKind::TwoLevel));
    env.sim.inject(
        Fault::new(HYPERVISOR_HVM_OP)
            .cmd(HVMOP_SET_EVTCHN_UPCALL_VECTOR)
            .nth(2)
            .errno(errno::EINVAL),
    );
    env.evtchn.acquire().unwrap();
    assert_eq!(
        env.calls(HYPERVISOR_HVM_OP, HVMOP_SET_EVTCHN_UPCALL_VECTOR),
        3
    );
    assert!(env.evtchn.upcall_enabled(0));
    assert!(!env.evtchn.upcall_enabled(1));
    assert!(env.evtchn.upcall_enabled(2));
    env.teardown();
}

#[test]
fn use_evtchn_upcall_off_uses_only_the_callback_line() {
    let env = Env::new(
        2,
        EvtchnConfig {
            use_fifo_abi: true,
            use_upcall: false,
        },
    );
    env.evtchn.acquire().unwrap();
    assert_eq!(
        env.calls(HYPERVISOR_HVM_OP, HVMOP_SET_EVTCHN_UPCALL_VECTOR),
        0
    );
    assert!(!env.evtchn.upcall_enabled(0));
    let probe = Probe::default();
    let (channel, remote) = env.open_inter_domain(false, probe.callback(&env.platform));
    let before = probe.runs();
    env.send_from_dom0(remote);
    assert_eq!(probe.runs(), before + 1);
    env.evtchn.close(channel);
    env.teardown();
}

#[test]
fn a_missing_callback_line_fails_acquire_and_leaves_nothing() {
    for abi in BOTH {
        let env = Env::new(2, config(abi));
        env.interrupts.refuse(InterruptMode::LevelSensitive, true);
        assert_eq!(env.evtchn.acquire(), Err(EvtchnError::Unsuccessful));
        assert_eq!(env.evtchn.abi_kind(), None);
        assert_eq!(env.interrupts.live(), 0);
        assert_eq!(env.pages.outstanding(), 0);
        let audit = env.sim.audit();
        assert!(audit.is_clean(), "{audit:?}");
        // A later acquire works.
        env.interrupts.refuse(InterruptMode::LevelSensitive, false);
        env.evtchn.acquire().unwrap();
        env.teardown();
    }
}

#[test]
fn fifo_refused_falls_back_to_two_level_after_a_reset_that_rebinds_store_and_console() {
    let env = Env::new(2, config(AbiKind::Fifo));
    let (store, console) = env.sim.toolstack_ports();
    env.sim.inject(
        Fault::new(HYPERVISOR_EVENT_CHANNEL_OP)
            .cmd(EVTCHNOP_INIT_CONTROL)
            .nth(2),
    );
    env.evtchn.acquire().unwrap();
    assert_eq!(env.evtchn.abi_kind(), Some(AbiKind::TwoLevel));
    // Nothing of the FIFO attempt is left.
    assert_eq!(env.pages.outstanding(), 0);
    let audit = env.sim.audit();
    assert_eq!(audit.fifo_control_blocks, 0);
    // The reset closed everything; both toolstack channels are bound again to dom0's ends
    // and the parameters name the new ports.
    assert_eq!(audit.toolstack_ports.len(), 2);
    let (new_store, new_console) = env.sim.toolstack_ports();
    assert_eq!(
        env.services.hvm_get_param(HVM_PARAM_STORE_EVTCHN),
        Ok(u64::from(new_store))
    );
    assert_eq!(
        env.services.hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN),
        Ok(u64::from(new_console))
    );
    let dom0 = env.sim.dom0().domid();
    assert!(matches!(
        env.services.evtchn_query_inter_domain(new_store),
        Ok((domain, _)) if domain == dom0
    ));
    assert!(matches!(
        env.services.evtchn_query_inter_domain(new_console),
        Ok((domain, _)) if domain == dom0
    ));
    let log = env.platform.log_lines();
    for expected in [
        format!("EVTCHN_RESET: STORE ({store}) -> ({dom0}:"),
        format!("EVTCHN_RESET: CONSOLE ({console}) -> ({dom0}:"),
        "EVTCHN_RESET: RESET".to_owned(),
        format!("EVTCHN_RESET: STORE ({dom0}:"),
        "EVTCHN: TWO LEVEL".to_owned(),
    ] {
        assert!(
            log.iter().any(|(_, line)| line.contains(&expected)),
            "missing {expected:?} in {log:?}"
        );
    }
    // The store channel still works after the re-bind: dom0 notifies, the guest sees it.
    let probe = Probe::default();
    let channel = env
        .evtchn
        .open(
            OpenKind::Fixed {
                port: new_store,
                auto_mask: false,
            },
            probe.callback(&env.platform),
            0,
        )
        .unwrap();
    env.evtchn.unmask(&channel, false, true);
    let before = probe.runs();
    env.sim.notify_store();
    assert_eq!(probe.runs(), before + 1);
    env.evtchn.close(channel);
    env.teardown();
}

#[test]
fn reset_moves_the_store_and_console_ports_when_their_numbers_are_taken_in_another_order() {
    // Close the console end and re-create it below the store port, so re-binding in
    // store-then-console order swaps their numbers.
    let env = Env::new(1, config(AbiKind::TwoLevel));
    let (store, console) = env.sim.toolstack_ports();
    let services = &env.services;
    let (dom0, remote_console) = services.evtchn_query_inter_domain(console).unwrap();
    let (_, remote_store) = services.evtchn_query_inter_domain(store).unwrap();
    services.evtchn_close(store).unwrap();
    services.evtchn_close(console).unwrap();
    let first = services
        .evtchn_bind_inter_domain(dom0, remote_console)
        .unwrap();
    let second = services
        .evtchn_bind_inter_domain(dom0, remote_store)
        .unwrap();
    services
        .hvm_set_param(HVM_PARAM_CONSOLE_EVTCHN, u64::from(first))
        .unwrap();
    services
        .hvm_set_param(HVM_PARAM_STORE_EVTCHN, u64::from(second))
        .unwrap();
    assert!(first < second);
    xenbus::evtchn::reset(&env.platform, env.services.as_ref());
    let store_now = u32::try_from(services.hvm_get_param(HVM_PARAM_STORE_EVTCHN).unwrap()).unwrap();
    let console_now =
        u32::try_from(services.hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN).unwrap()).unwrap();
    assert_eq!((store_now, console_now), (first, second));
    assert_eq!(
        services.evtchn_query_inter_domain(store_now),
        Ok((dom0, remote_store))
    );
    assert_eq!(
        services.evtchn_query_inter_domain(console_now),
        Ok((dom0, remote_console))
    );
}

// -- opening and delivery -------------------------------------------------------------------

#[test]
fn every_kind_opens_and_delivers_on_cpu_0() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let dom0 = env.sim.dom0();

        // INTER_DOMAIN: dom0 sends.
        let inter = Probe::default();
        let (channel, remote) = env.open_inter_domain(false, inter.callback(&env.platform));
        assert_eq!(channel.cpu(), 0);
        let before = inter.runs();
        env.send_from_dom0(remote);
        assert_eq!(inter.runs(), before + 1, "{abi:?}");
        assert_eq!(env.evtchn.get_count(&channel), inter.runs());
        assert!(inter.cpus().iter().all(|&cpu| cpu == 0));
        // The guest's send reaches dom0.
        env.evtchn.send(&channel);
        assert!(dom0.take_events().contains(&remote));

        // UNBOUND: dom0 binds to it, then sends.
        let unbound = Probe::default();
        let open = env
            .evtchn
            .open(
                OpenKind::Unbound {
                    remote_domain: dom0.domid(),
                    auto_mask: false,
                },
                unbound.callback(&env.platform),
                0,
            )
            .unwrap();
        assert_eq!(
            open.kind(),
            ChannelKind::Unbound {
                remote_domain: dom0.domid()
            }
        );
        env.evtchn.unmask(&open, false, true);
        let peer = dom0.bind_interdomain(env.evtchn.get_port(&open)).unwrap();
        env.send_from_dom0(peer);
        assert_eq!(unbound.runs(), 1, "{abi:?}");

        // VIRQ on CPU 0 (v5-v8 form): opened, bound, never auto-masked.
        let virq = env
            .evtchn
            .open(
                OpenKind::Virq {
                    index: VIRQ_DEBUG,
                    cpu: None,
                },
                Probe::default().callback(&env.platform),
                0,
            )
            .unwrap();
        assert!(!virq.auto_mask());
        assert_eq!(virq.kind(), ChannelKind::Virq { index: VIRQ_DEBUG });
        // Not an inter-domain port.
        assert!(
            env.services
                .evtchn_query_inter_domain(env.evtchn.get_port(&virq))
                .is_err()
        );

        // FIXED: the toolstack's store port; Trigger delivers from the DPC.
        let (store, _) = env.sim.toolstack_ports();
        let fixed = Probe::default();
        let fixed_channel = env
            .evtchn
            .open(
                OpenKind::Fixed {
                    port: store,
                    auto_mask: false,
                },
                fixed.callback(&env.platform),
                0,
            )
            .unwrap();
        env.evtchn.trigger(&fixed_channel);
        env.platform.flush_dpcs();
        assert_eq!(fixed.runs(), 1);
        assert_eq!(env.evtchn.channel_count(), 4);

        for channel in [channel, open, virq, fixed_channel] {
            env.evtchn.close(channel);
        }
        env.platform.flush_dpcs();
        assert_eq!(env.evtchn.channel_count(), 0);
        // The FIXED port stays bound: closing it is the toolstack's business.
        assert_eq!(env.sim.audit().toolstack_ports.len(), 2);
        env.teardown();
    }
}

#[test]
fn auto_mask_holds_further_events_until_unmask() {
    for abi in BOTH {
        for auto_mask in [true, false] {
            let env = Env::acquired(1, abi);
            let probe = Probe::default();
            let (channel, remote) = env.open_inter_domain(auto_mask, probe.callback(&env.platform));
            let start = probe.runs();
            env.send_from_dom0(remote);
            env.send_from_dom0(remote);
            if auto_mask {
                // The first event masked the port: the second waits for the unmask.
                assert_eq!(probe.runs(), start + 1, "{abi:?}");
                assert!(!env.evtchn.unmask(&channel, false, true));
            }
            assert_eq!(probe.runs(), start + 2, "{abi:?}");
            env.evtchn.close(channel);
            env.teardown();
        }
    }
}

#[test]
fn unmask_reports_pending_only_on_the_bound_cpu_outside_the_callback_unforced() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let probe = Probe::default();
        let (channel, remote) = env.open_inter_domain(true, probe.callback(&env.platform));
        let evtchn = &env.evtchn;
        let unmask_calls = || env.evtchn_calls(EVTCHNOP_UNMASK);
        // From "nothing pending": unmask (no hypercall needed), then one delivered event
        // leaves the port masked and a second one stays pending behind it.
        let masked_and_pending = || {
            let calls = unmask_calls();
            assert!(!evtchn.unmask(&channel, false, true));
            assert_eq!(unmask_calls(), calls);
            let before = probe.runs();
            env.send_from_dom0(remote);
            assert_eq!(probe.runs(), before + 1);
            env.send_from_dom0(remote);
            assert_eq!(probe.runs(), before + 1);
        };

        // Nothing pending: false, no hypercall.
        env.send_from_dom0(remote);
        let calls = unmask_calls();
        assert!(
            !env.platform
                .as_processor(0, || evtchn.unmask(&channel, false, false))
        );
        assert_eq!(unmask_calls(), calls);

        // Pending, forced: Xen re-raises it (the callback runs again).
        masked_and_pending();
        let runs = probe.runs();
        assert!(
            !env.platform
                .as_processor(0, || evtchn.unmask(&channel, false, true))
        );
        assert_eq!(unmask_calls(), calls + 1);
        assert_eq!(probe.runs(), runs + 1);

        // Pending, in the callback: the same hypercall path.
        masked_and_pending();
        let runs = probe.runs();
        assert!(
            !env.platform
                .as_processor(0, || evtchn.unmask(&channel, true, false))
        );
        assert_eq!(unmask_calls(), calls + 2);
        assert_eq!(probe.runs(), runs + 1);

        // Pending, from another CPU: the hypercall makes Xen deliver on the bound CPU.
        masked_and_pending();
        let runs = probe.runs();
        assert!(
            !env.platform
                .as_processor(1, || evtchn.unmask(&channel, false, false))
        );
        assert_eq!(unmask_calls(), calls + 3);
        assert_eq!(probe.runs(), runs + 1);
        assert_eq!(probe.cpus().last(), Some(&0));

        // Pending, on the bound CPU, unforced: true; acked and re-masked, no hypercall, no
        // callback (the caller processes it).
        masked_and_pending();
        let runs = probe.runs();
        let count = evtchn.get_count(&channel);
        assert!(
            env.platform
                .as_processor(0, || evtchn.unmask(&channel, false, false))
        );
        assert_eq!(unmask_calls(), calls + 3);
        assert_eq!(probe.runs(), runs);
        assert_eq!(evtchn.get_count(&channel), count);
        // Acked: unmasking again finds nothing pending.
        assert!(
            !env.platform
                .as_processor(0, || evtchn.unmask(&channel, false, false))
        );

        // v4: forced, result dropped.
        masked_and_pending();
        let runs = probe.runs();
        evtchn.unmask_version4(&channel, false);
        assert_eq!(unmask_calls(), calls + 4);
        assert_eq!(probe.runs(), runs + 1);

        evtchn.close(channel);
        env.teardown();
    }
}

#[test]
fn bind_moves_delivery_to_the_chosen_cpu() {
    for abi in BOTH {
        let env = Env::acquired(3, abi);
        let probe = Probe::default();
        let (channel, remote) = env.open_inter_domain(false, probe.callback(&env.platform));
        env.evtchn.bind(&channel, 2).unwrap();
        assert_eq!(channel.cpu(), 2);
        assert_eq!(env.evtchn_calls(EVTCHNOP_BIND_VCPU), 1);
        let before = probe.runs();
        env.send_from_dom0(remote);
        assert_eq!(probe.runs(), before + 1, "{abi:?}");
        assert_eq!(probe.cpus().last(), Some(&2));
        // Same CPU again: no hypercall.
        env.evtchn.bind(&channel, 2).unwrap();
        assert_eq!(env.evtchn_calls(EVTCHNOP_BIND_VCPU), 1);
        // Out of range.
        assert_eq!(
            env.evtchn.bind(&channel, 3),
            Err(EvtchnError::InvalidParameter)
        );
        // A refused re-bind keeps the old binding.
        env.sim
            .inject(Fault::new(HYPERVISOR_EVENT_CHANNEL_OP).cmd(EVTCHNOP_BIND_VCPU));
        assert!(matches!(
            env.evtchn.bind(&channel, 1),
            Err(EvtchnError::Xen(_))
        ));
        assert_eq!(channel.cpu(), 2);
        env.send_from_dom0(remote);
        assert_eq!(probe.cpus().last(), Some(&2));
        // Back to CPU 0.
        env.evtchn.bind(&channel, 0).unwrap();
        env.send_from_dom0(remote);
        assert_eq!(probe.cpus().last(), Some(&0));
        env.evtchn.close(channel);
        env.teardown();
    }
}

#[test]
fn a_virq_opened_for_cpu_n_is_delivered_on_cpu_n() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let probe = Probe::default();
        let channel = env
            .evtchn
            .open(
                OpenKind::Virq {
                    index: VIRQ_TIMER,
                    cpu: Some(1),
                },
                probe.callback(&env.platform),
                0,
            )
            .unwrap();
        assert_eq!(channel.cpu(), 1);
        env.evtchn.unmask(&channel, false, true);
        let vcpu1 = env.sim.vcpu(1);
        xen::vcpu::set_singleshot_timer(&vcpu1, 1, env.sim.now_ns(), 0).unwrap();
        // Timers fire on the next hypercall.
        env.services.sched_yield();
        wait_for("the timer VIRQ", || probe.runs() >= 1);
        assert_eq!(probe.cpus(), [1], "{abi:?}");
        // Out of range and not-supported CPUs.
        assert_eq!(
            env.evtchn
                .open(
                    OpenKind::Virq {
                        index: VIRQ_TIMER,
                        cpu: Some(7)
                    },
                    probe.callback(&env.platform),
                    0
                )
                .err(),
            Some(EvtchnError::InvalidParameter)
        );
        env.evtchn.close(channel);
        env.teardown();
    }
}

#[test]
fn trigger_runs_the_callback_from_the_dpc_and_counts_it() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let probe = Probe::default();
        let (channel, _) = env.open_inter_domain(true, probe.callback(&env.platform));
        env.evtchn.bind(&channel, 1).unwrap();
        let runs = probe.runs();
        let count = env.evtchn.get_count(&channel);
        env.evtchn.trigger(&channel);
        env.evtchn.trigger(&channel);
        env.platform.flush_dpcs();
        // Two triggers before the DPC ran: one delivery.
        assert!(probe.runs() == runs + 1 || probe.runs() == runs + 2);
        assert_eq!(
            env.evtchn.get_count(&channel),
            count + (probe.runs() - runs)
        );
        assert_eq!(probe.cpus().last(), Some(&1));
        env.evtchn.close(channel);
        env.teardown();
    }
}

#[test]
fn wait_times_out_or_returns_once_the_count_is_reached() {
    for abi in BOTH {
        let env = Env::acquired(1, abi);
        let probe = Probe::default();
        let (channel, _) = env.open_inter_domain(false, probe.callback(&env.platform));
        let evtchn = &env.evtchn;
        let next = evtchn.get_count(&channel).wrapping_add(1);

        // Relative 10 ms.
        let start = Instant::now();
        assert_eq!(
            evtchn.wait(&channel, next, Some(-100_000)),
            Err(EvtchnError::Timeout)
        );
        assert!(start.elapsed() >= Duration::from_millis(10));
        // Immediate, and an absolute time in the past.
        assert_eq!(
            evtchn.wait(&channel, next, Some(0)),
            Err(EvtchnError::Timeout)
        );
        assert_eq!(
            evtchn.wait(&channel, next, Some(1)),
            Err(EvtchnError::Timeout)
        );
        assert_eq!(EvtchnError::Timeout.status(), ntstatus::STATUS_TIMEOUT);
        assert!(
            env.platform
                .log_lines()
                .iter()
                .any(|(level, line)| *level == LogLevel::Info && line.contains("TIMED OUT"))
        );
        // A count already reached returns at once, even with an immediate timeout.
        assert_eq!(evtchn.wait(&channel, next.wrapping_sub(1), Some(0)), Ok(()));

        // Trigger, then wait forever: the DPC delivers.
        evtchn.trigger(&channel);
        let start = Instant::now();
        assert_eq!(evtchn.wait(&channel, next, None), Ok(()));
        assert!(start.elapsed() < Duration::from_secs(5));
        // v5: waits for the next one after the current count.
        evtchn.trigger(&channel);
        assert_eq!(evtchn.wait_version5(&channel, Some(-50_000_000)), Ok(()));
        env.platform.flush_dpcs();
        evtchn.close(channel);
        env.teardown();
    }
}

// -- closing --------------------------------------------------------------------------------

#[test]
fn close_while_pending_reaps_on_the_owning_cpu_and_closes_the_port_once() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let probe = Probe::default();
        let (channel, remote) = env.open_inter_domain(false, probe.callback(&env.platform));
        env.evtchn.bind(&channel, 1).unwrap();
        let port = env.evtchn.get_port(&channel);
        let runs = probe.runs();
        let closes = env.evtchn_calls(EVTCHNOP_CLOSE);
        // Queue it, then close before the DPC runs: the callback never runs again.
        env.evtchn.trigger(&channel);
        env.evtchn.close(channel);
        env.platform.flush_dpcs();
        assert_eq!(probe.runs(), runs, "{abi:?}");
        assert_eq!(env.evtchn.channel_count(), 0);
        assert_eq!(env.evtchn_calls(EVTCHNOP_CLOSE), closes + 1);
        assert!(!env.guest_ports().contains(&port));
        // Events for the old port go nowhere.
        let _ = env.sim.dom0().send(remote);
        assert_eq!(probe.runs(), runs);
        env.teardown();
    }
}

#[test]
fn release_with_open_channels_unbinds_them_and_a_later_close_only_frees() {
    for abi in BOTH {
        let env = Env::acquired(1, abi);
        let (channel, _) = env.open_inter_domain(false, Probe::default().callback(&env.platform));
        env.evtchn.release();
        assert!(
            env.platform
                .log_lines()
                .iter()
                .any(|(level, line)| *level == LogLevel::Critical
                    && line.contains("OUTSTANDING EVENT CHANNELS"))
        );
        assert!(!channel.is_active());
        assert!(env.sim.audit().is_clean(), "{:?}", env.sim.audit());
        let closes = env.evtchn_calls(EVTCHNOP_CLOSE);
        env.evtchn.close(channel);
        assert_eq!(env.evtchn_calls(EVTCHNOP_CLOSE), closes);
        assert_eq!(env.evtchn.channel_count(), 0);
        env.evtchn.acquire().unwrap();
        env.teardown();
    }
}

#[test]
fn calls_before_acquire_fail_or_do_nothing() {
    let env = Env::new(1, config(AbiKind::Fifo));
    let probe = Probe::default();
    assert_eq!(
        env.evtchn
            .open(
                OpenKind::Unbound {
                    remote_domain: 0,
                    auto_mask: false
                },
                probe.callback(&env.platform),
                0
            )
            .err(),
        Some(EvtchnError::Unsuccessful)
    );
    assert_eq!(env.evtchn.deliver(0), None);
    env.evtchn.release();
    assert!(env.sim.audit().is_clean());
}

// -- suspend --------------------------------------------------------------------------------

#[test]
fn suspend_invalidates_channels_and_late_brings_delivery_back() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let old = Probe::default();
        let (channel, remote) = env.open_inter_domain(false, old.callback(&env.platform));
        let port = env.evtchn.get_port(&channel);

        // The suspend hypercall returns in the new domain; then EARLY (shared info first,
        // then EVTCHN, as SUSPEND orders them) and LATE.
        env.services.sched_shutdown(SHUTDOWN_SUSPEND).unwrap();
        env.remap_shared_info();
        env.evtchn.suspend_early();
        assert!(!channel.is_active());
        assert_eq!(env.evtchn.get_port(&channel), port);
        env.evtchn.suspend_late();
        assert_eq!(env.evtchn.abi_kind(), Some(abi));
        assert!(env.evtchn.upcall_enabled(1));

        // The old channel is inert: send and unmask do nothing, close needs no hypercall.
        let sends = env.evtchn_calls(xen_headers::event_channel::EVTCHNOP_SEND);
        env.evtchn.send(&channel);
        assert_eq!(
            env.evtchn_calls(xen_headers::event_channel::EVTCHNOP_SEND),
            sends
        );
        assert!(!env.evtchn.unmask(&channel, false, true));
        let closes = env.evtchn_calls(EVTCHNOP_CLOSE);
        env.evtchn.close(channel);
        env.platform.flush_dpcs();
        assert_eq!(env.evtchn_calls(EVTCHNOP_CLOSE), closes);
        assert_eq!(env.evtchn.channel_count(), 0);
        let _ = remote;

        // Re-opened channels work in the new domain.
        let new = Probe::default();
        let (channel, remote) = env.open_inter_domain(false, new.callback(&env.platform));
        env.evtchn.bind(&channel, 1).unwrap();
        let before = new.runs();
        env.send_from_dom0(remote);
        assert_eq!(new.runs(), before + 1, "{abi:?}");
        assert_eq!(new.cpus().last(), Some(&1));
        env.evtchn.close(channel);
        env.teardown();
    }
}

#[test]
fn a_stale_channel_triggered_after_resume_leaves_the_new_owner_of_its_number_alone() {
    let env = Env::acquired(1, AbiKind::TwoLevel);
    let probe = Probe::default();
    let (channel, _) = env.open_inter_domain(false, probe.callback(&env.platform));
    let port = env.evtchn.get_port(&channel);
    env.services.sched_shutdown(SHUTDOWN_SUSPEND).unwrap();
    env.remap_shared_info();
    env.evtchn.suspend_early();
    env.evtchn.suspend_late();
    // In the new domain the toolstack's store channel has the old number.
    let (store, _) = env.sim.toolstack_ports();
    assert_eq!(store, port);
    env.sim.notify_store();
    let word = usize::try_from(port / 64).unwrap();
    let bit = 1u64 << (port % 64);
    let pending = || env.shared_info.get().debug_word(word).unwrap().0 & bit != 0;
    assert!(pending());
    let runs = probe.runs();
    env.evtchn.trigger(&channel);
    env.platform.flush_dpcs();
    assert_eq!(probe.runs(), runs + 1);
    // The store's event is still pending: the stale channel did not ack port `port`.
    assert!(pending());
    env.evtchn.close(channel);
    env.teardown();
}

#[test]
fn a_channel_queued_when_suspended_is_reaped_by_its_dpc_without_a_close() {
    let env = Env::acquired(1, AbiKind::Fifo);
    let probe = Probe::default();
    let (channel, _) = env.open_inter_domain(false, probe.callback(&env.platform));
    // Hold the DPC back: trigger from inside the line interrupt so it is queued, then suspend.
    env.evtchn.trigger(&channel);
    env.evtchn.suspend_early();
    let closes = env.evtchn_calls(EVTCHNOP_CLOSE);
    env.evtchn.close(channel);
    env.platform.flush_dpcs();
    assert_eq!(env.evtchn_calls(EVTCHNOP_CLOSE), closes);
    assert_eq!(env.evtchn.channel_count(), 0);
    env.services.sched_shutdown(SHUTDOWN_SUSPEND).unwrap();
    env.remap_shared_info();
    env.evtchn.suspend_late();
    env.teardown();
}

// -- failures leave nothing behind ----------------------------------------------------------

#[test]
fn refused_hypercalls_leave_no_port_open() {
    for abi in BOTH {
        let env = Env::acquired(2, abi);
        let dom0 = env.sim.dom0();
        let remote = dom0.allocate_unbound().unwrap();
        let attempts: [(u32, OpenKind); 3] = [
            (
                EVTCHNOP_ALLOC_UNBOUND,
                OpenKind::Unbound {
                    remote_domain: dom0.domid(),
                    auto_mask: true,
                },
            ),
            (
                EVTCHNOP_BIND_INTERDOMAIN,
                OpenKind::InterDomain {
                    remote_domain: dom0.domid(),
                    remote_port: remote,
                    auto_mask: true,
                },
            ),
            (
                EVTCHNOP_BIND_VIRQ,
                OpenKind::Virq {
                    index: VIRQ_DEBUG,
                    cpu: Some(1),
                },
            ),
        ];
        for (cmd, kind) in attempts {
            env.sim
                .inject(Fault::new(HYPERVISOR_EVENT_CHANNEL_OP).cmd(cmd));
            let result = env
                .evtchn
                .open(kind, Probe::default().callback(&env.platform), 0);
            assert!(matches!(result, Err(EvtchnError::Xen(_))), "{kind:?}");
            assert!(env.guest_ports().is_empty(), "{abi:?} {kind:?}");
        }
        assert_eq!(env.evtchn.channel_count(), 0);

        // The same port twice (FIXED) is refused without touching the first.
        let (store, _) = env.sim.toolstack_ports();
        let fixed = OpenKind::Fixed {
            port: store,
            auto_mask: false,
        };
        let probe = Probe::default();
        let first = env
            .evtchn
            .open(fixed, probe.callback(&env.platform), 0)
            .unwrap();
        env.evtchn.unmask(&first, false, true);
        assert_eq!(
            env.evtchn
                .open(fixed, Probe::default().callback(&env.platform), 0)
                .err(),
            Some(EvtchnError::InvalidParameter)
        );
        assert_eq!(env.sim.audit().toolstack_ports.len(), 2);
        // The first channel still gets its events.
        let runs = probe.runs();
        env.sim.notify_store();
        assert_eq!(probe.runs(), runs + 1, "{abi:?}");
        env.evtchn.close(first);
        env.teardown();
    }
}

#[test]
fn a_refused_event_array_page_closes_the_new_port() {
    let env = Env::acquired(1, AbiKind::Fifo);
    // Open ports until the next one needs a second event-array page... the first port needs
    // page 0, which no channel has asked for yet when the array is refused.
    env.sim
        .inject(Fault::new(HYPERVISOR_EVENT_CHANNEL_OP).cmd(EVTCHNOP_EXPAND_ARRAY));
    let result = env.evtchn.open(
        OpenKind::Unbound {
            remote_domain: env.sim.dom0().domid(),
            auto_mask: false,
        },
        Probe::default().callback(&env.platform),
        0,
    );
    assert!(matches!(result, Err(EvtchnError::Xen(_))));
    assert!(env.guest_ports().is_empty());
    assert_eq!(env.sim.audit().fifo_pages, 0);
    // Only the control block page is held.
    assert_eq!(env.pages.outstanding(), 1);
    env.teardown();
}

// -- debug ----------------------------------------------------------------------------------

#[test]
fn debug_dump_lists_every_channel_as_upstream() {
    let env = Env::acquired(1, AbiKind::TwoLevel);
    let mut empty = String::new();
    env.evtchn.debug_dump(&mut empty, false).unwrap();
    assert_eq!(empty, "");
    let (channel, remote) = env.open_inter_domain(true, Probe::default().callback(&env.platform));
    let port = env.evtchn.get_port(&channel);
    let mut out = String::new();
    env.evtchn.debug_dump(&mut out, false).unwrap();
    let dom0 = env.sim.dom0().domid();
    let count = env.evtchn.get_count(&channel);
    assert_eq!(
        out,
        format!(
            "EVENT CHANNELS:\n- ({port:04x}) BY 0000000000001234 AUTO-MASK ACTIVE\n\
             INTER_DOMAIN: RemoteDomain = {dom0} RemotePort = {remote}\nCount = {count}\n"
        )
    );
    env.services.sched_shutdown(SHUTDOWN_SUSPEND).unwrap();
    env.remap_shared_info();
    env.evtchn.suspend_early();
    env.evtchn.suspend_late();
    let mut out = String::new();
    env.evtchn.debug_dump(&mut out, true).unwrap();
    assert!(out.contains(&format!("- ({port:04x}) BY 0000000000001234 AUTO-MASK \n")));
    env.evtchn.close(channel);
    env.teardown();
}

#[test]
fn port_state_of_an_open_channel_is_what_xen_reports() {
    let env = Env::acquired(1, AbiKind::Fifo);
    let (channel, remote) = env.open_inter_domain(false, Probe::default().callback(&env.platform));
    assert!(matches!(
        env.sim.dom0().port_state(remote),
        Some(PortState::Interdomain { .. })
    ));
    env.evtchn.close(channel);
    env.platform.flush_dpcs();
    assert!(matches!(
        env.sim.dom0().port_state(remote),
        Some(PortState::Unbound { .. })
    ));
    env.teardown();
}

// -- concurrency ----------------------------------------------------------------------------

#[test]
fn concurrent_senders_triggers_and_open_close_lose_no_channel_and_deliver_on_the_bound_cpu() {
    const CPUS: u32 = 4;
    const CHANNELS: usize = 16;
    const ROUNDS: usize = 1000;
    for abi in BOTH {
        let env = Arc::new(Env::acquired(CPUS, abi));
        let mut channels = Vec::new();
        for index in 0..CHANNELS {
            let probe = Probe::default();
            let (channel, remote) = env.open_inter_domain(false, probe.callback(&env.platform));
            let cpu = u32::try_from(index).unwrap() % CPUS;
            env.evtchn.bind(&channel, cpu).unwrap();
            probe.cpus.lock().unwrap().clear();
            channels.push((channel, remote, probe, cpu));
        }
        let channels = Arc::new(channels);
        let mut threads = Vec::new();
        // dom0 senders, each on its own share of the channels.
        for sender in 0..CPUS as usize {
            let (env, channels) = (Arc::clone(&env), Arc::clone(&channels));
            threads.push(std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    for (_, remote, _, _) in channels.iter().skip(sender).step_by(CPUS as usize) {
                        env.send_from_dom0(*remote);
                    }
                }
            }));
        }
        // Local triggers.
        {
            let (env, channels) = (Arc::clone(&env), Arc::clone(&channels));
            threads.push(std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    let (channel, _, _, _) = &channels[round % CHANNELS];
                    env.evtchn.trigger(channel);
                }
            }));
        }
        // Channels coming and going meanwhile.
        {
            let env = Arc::clone(&env);
            threads.push(std::thread::spawn(move || {
                for round in 0..ROUNDS / 4 {
                    let probe = Probe::default();
                    let (channel, remote) =
                        env.open_inter_domain(round % 2 == 0, probe.callback(&env.platform));
                    let cpu = u32::try_from(round).unwrap() % CPUS;
                    env.evtchn.bind(&channel, cpu).unwrap();
                    env.send_from_dom0(remote);
                    env.evtchn.trigger(&channel);
                    env.evtchn.close(channel);
                }
            }));
        }
        for thread in threads {
            thread.join().unwrap();
        }
        env.platform.flush_dpcs();
        assert_eq!(env.evtchn.channel_count(), CHANNELS, "{abi:?}");
        for (channel, remote, probe, cpu) in channels.iter() {
            // Every callback ran on the CPU the channel is bound to.
            assert!(
                probe.cpus().iter().all(|c| c == cpu),
                "{abi:?} port {}: {:?} not all {cpu}",
                env.evtchn.get_port(channel),
                probe.cpus()
            );
            // Nothing is stuck: one more event is delivered exactly once.
            let before = probe.runs();
            env.send_from_dom0(*remote);
            assert_eq!(probe.runs(), before + 1, "{abi:?}");
            assert_eq!(env.evtchn.get_count(channel), probe.runs());
        }
        let channels = Arc::into_inner(channels).unwrap();
        for (channel, _, _, _) in channels {
            env.evtchn.close(channel);
        }
        Arc::into_inner(env).unwrap().teardown();
    }
}

#[test]
fn a_port_reported_on_another_cpus_poll_is_ignored_until_xen_raises_it_on_the_bound_cpu() {
    use std::sync::atomic::{AtomicU8, AtomicU64};
    use xen_headers::xen::{SharedInfo as XenSharedInfo, VcpuInfo};

    let env = Env::acquired(2, AbiKind::TwoLevel);
    let probe = Probe::default();
    let (channel, _) = env.open_inter_domain(false, probe.callback(&env.platform));
    env.evtchn.bind(&channel, 1).unwrap();
    let port = env.evtchn.get_port(&channel);
    let runs = probe.runs();

    // Play a confused Xen: the port pending, flagged in vCPU 0's selector and upcall flag.
    let page = env.sim.host_ptr(env.shared_info_gfn).unwrap();
    let word = usize::try_from(port / 64).unwrap();
    let at = |offset: usize| page.wrapping_add(offset);
    // SAFETY: inside the mapped shared_info page, aligned; accessed only atomically.
    let pending = unsafe {
        AtomicU64::from_ptr(
            at(std::mem::offset_of!(XenSharedInfo, evtchn_pending) + word * 8).cast(),
        )
    };
    // SAFETY: as above (vCPU 0's legacy vcpu_info at the start of the page).
    let selector = unsafe {
        AtomicU64::from_ptr(at(std::mem::offset_of!(VcpuInfo, evtchn_pending_sel)).cast())
    };
    // SAFETY: as above.
    let flag =
        unsafe { AtomicU8::from_ptr(at(std::mem::offset_of!(VcpuInfo, evtchn_upcall_pending))) };
    pending.fetch_or(1 << (port % 64), Ordering::SeqCst);
    selector.fetch_or(1 << word, Ordering::SeqCst);
    flag.store(1, Ordering::SeqCst);
    env.platform.as_processor(0, || env.evtchn.deliver(0));
    // CPU 0's poll saw the port but the channel is bound to CPU 1: no callback, not acked.
    assert_eq!(probe.runs(), runs);
    assert_ne!(pending.load(Ordering::SeqCst) & (1 << (port % 64)), 0);
    // Xen raises it on the bound vCPU once asked to (EVTCHNOP_unmask of a pending port).
    assert!(!env.evtchn.unmask(&channel, false, true));
    assert_eq!(probe.runs(), runs + 1);
    assert_eq!(probe.cpus().last(), Some(&1));
    env.evtchn.close(channel);
    env.teardown();
}
