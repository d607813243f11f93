// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Everything the simulated Xen knows, behind the simulator's one lock, and the operations
//! that span domains (binding, sending, closing, granting).

use crate::SimConfig;
use crate::evtchn::{Errno, Events, GuestSurface, Marks, PortState, Surface, VirqType, virq_type};
use crate::fault::Faults;
use crate::gnttab::{BackendGrant, GuestGrantTable, Maptrack};
use crate::memory::{GuestMemory, Overlay, Page};
use crate::shm::{u32_at, u64_at};
use std::collections::{BTreeMap, BTreeSet};
use std::mem::offset_of;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;
use xen_headers::errno;
use xen_headers::grant_table::{GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE};
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT,
    HVM_PARAM_CALLBACK_TYPE_GSI, HVM_PARAM_CALLBACK_TYPE_PCI_INTX, HVM_PARAM_CALLBACK_TYPE_VECTOR,
    HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN, HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN,
};
use xen_headers::io::console::{XENCONS_IN_RING_SIZE, XENCONS_OUT_RING_SIZE, XenconsInterface};
use xen_headers::xen::{DOMID_SELF, DomId, VIRQ_TIMER, VcpuInfo, VcpuTimeInfo};

/// How `HVM_PARAM_CALLBACK_IRQ` routes upcalls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// No callback.
    None,
    /// A vector, injected on the vCPU with the event (any vCPU).
    Vector(u8),
    /// A GSI or PCI `INTx` line, driven by vCPU 0's `evtchn_upcall_pending`.
    Line(u64),
}

/// A vCPU's timers (absolute Xen system time, ns).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timers {
    /// Single-shot deadline.
    pub singleshot: Option<u64>,
    /// Periodic (period, next expiry).
    pub periodic: Option<(u64, u64)>,
}

/// The toolstack's console and store connections (the dom0 ends the simulator owns).
#[derive(Debug, Default)]
pub struct Toolstack {
    /// Guest frame of the store ring.
    pub store_gfn: u64,
    /// Guest frame of the console ring.
    pub console_gfn: u64,
    /// Backend port of the store channel.
    pub store_backend: u32,
    /// Backend port of the console channel.
    pub console_backend: u32,
    /// Console output consumed so far.
    pub console_out: Vec<u8>,
    /// Notifications the guest sent on the store channel, not yet taken.
    pub store_kicks: u64,
}

/// The simulated Xen.
#[derive(Debug)]
pub struct State {
    /// Creation parameters.
    pub cfg: SimConfig,
    /// The guest's physical address space.
    pub mem: GuestMemory,
    /// The guest's event channels.
    pub guest: Events,
    /// The backend domain's event channels.
    pub backend: Events,
    /// The guest's grant table.
    pub gnttab: GuestGrantTable,
    /// Guest mappings of backend grants.
    pub guest_maptrack: Maptrack,
    /// The backend's grants, by reference.
    pub backend_grants: BTreeMap<u32, BackendGrant>,
    /// Backend mappings of guest grants.
    pub backend_maptrack: Maptrack,
    /// HVM parameters.
    pub params: [u64; HVM_NR_PARAMS as usize],
    /// Effective callback route.
    pub via: Via,
    /// Per-vCPU upcall vectors (0: none).
    pub upcall_vector: Vec<u8>,
    /// Per-vCPU timers.
    pub timers: Vec<Timers>,
    /// vCPUs that are down (`_VPF_down`).
    pub vcpu_down: Vec<bool>,
    /// vCPUs initialised (`is_initialised`).
    pub vcpu_initialised: Vec<bool>,
    /// Watchdog slots in use.
    pub watchdogs: [bool; 2],
    /// Completed suspends.
    pub suspends: u64,
    /// Cancel the next suspend.
    pub cancel_next_suspend: bool,
    /// Last `SCHEDOP_shutdown` reason other than suspend.
    pub shutdown: Option<u32>,
    /// Last `SCHEDOP_shutdown_code`.
    pub shutdown_code: Option<u32>,
    /// Injected faults.
    pub faults: Faults,
    /// Calls per (op, cmd).
    pub calls: BTreeMap<(u32, u32), u64>,
    /// Console and store.
    pub toolstack: Toolstack,
    /// `CONSOLEIO_write` output.
    pub xen_console: Vec<u8>,
    /// vCPUs to interrupt once the lock is released, in order.
    pub upcalls: Vec<u32>,
    /// Store notifications to pass to the store hook once the lock is released.
    pub store_hook_kicks: u64,
    /// System time zero.
    pub epoch: Instant,
}

fn guest_surface(mem: &mut GuestMemory, vcpus: u32) -> GuestSurface {
    let shared_info = mem.pool().alloc(1);
    let surface = GuestSurface {
        shared_info,
        vcpu_info: vec![None; vcpus as usize],
    };
    for v in 0..vcpus {
        if let Some((page, offset)) = surface.vcpu_info(v) {
            init_time(page, offset);
        }
    }
    surface
}

/// A plausible, stable pvclock record: 1 ns per TSC tick from TSC 0.
fn init_time(page: Page, offset: usize) {
    let time = offset + offset_of!(VcpuInfo, time);
    u32_at(page, time + offset_of!(VcpuTimeInfo, version)).store(2, SeqCst);
    // tsc_to_system_mul (u32 at 24) = 2^31 with tsc_shift (i8 at 28) = 1: ns = tsc.
    u32_at(page, time + offset_of!(VcpuTimeInfo, tsc_to_system_mul)).store(0x8000_0000, SeqCst);
    let shift_word = time + offset_of!(VcpuTimeInfo, tsc_shift);
    // tsc_shift shares an aligned u32 with flags and pads; set its byte alone.
    crate::shm::u8_at(page, shift_word).store(1, SeqCst);
}

impl State {
    /// A domain as `xl create` leaves it.
    pub fn new(cfg: SimConfig) -> Self {
        let mut mem = GuestMemory::new();
        let surface = guest_surface(&mut mem, cfg.vcpus);
        let guest = Events::new(
            cfg.domid,
            cfg.vcpus,
            cfg.max_evtchn_port,
            Surface::Guest(surface),
        );
        let backend = Events::new(
            cfg.backend_domid,
            1,
            u32::from(u16::MAX),
            Surface::Backend {
                pending: BTreeSet::new(),
                fired: Vec::new(),
            },
        );
        let gnttab = GuestGrantTable::new(mem.pool(), cfg.max_grant_frames);
        let (store_gfn, console_gfn) = if cfg.toolstack {
            (mem.allocate(1).0, mem.allocate(1).0)
        } else {
            (0, 0)
        };
        let vcpus = cfg.vcpus as usize;
        let secondary_up = cfg.secondary_vcpus_up;
        let mut state = Self {
            cfg,
            mem,
            guest,
            backend,
            gnttab,
            guest_maptrack: Maptrack::default(),
            backend_grants: BTreeMap::new(),
            backend_maptrack: Maptrack::default(),
            params: [0; HVM_NR_PARAMS as usize],
            via: Via::None,
            upcall_vector: vec![0; vcpus],
            timers: vec![Timers::default(); vcpus],
            vcpu_down: (0..vcpus).map(|v| v != 0 && !secondary_up).collect(),
            vcpu_initialised: (0..vcpus).map(|v| v == 0 || secondary_up).collect(),
            watchdogs: [false; 2],
            suspends: 0,
            cancel_next_suspend: false,
            shutdown: None,
            shutdown_code: None,
            faults: Faults::default(),
            calls: BTreeMap::new(),
            toolstack: Toolstack {
                store_gfn,
                console_gfn,
                ..Toolstack::default()
            },
            xen_console: Vec::new(),
            upcalls: Vec::new(),
            store_hook_kicks: 0,
            epoch: Instant::now(),
        };
        if state.cfg.toolstack {
            state.params[HVM_PARAM_STORE_PFN as usize] = store_gfn;
            state.params[HVM_PARAM_CONSOLE_PFN as usize] = console_gfn;
            state.build_toolstack_channels(0);
        }
        state
    }

    /// Xen system time in ns.
    pub fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The guest surface.
    pub fn surface(&self) -> &GuestSurface {
        match &self.guest.surface {
            Surface::Guest(g) => g,
            Surface::Backend { .. } => unreachable!("the guest has a guest surface"),
        }
    }

    fn surface_mut(&mut self) -> &mut GuestSurface {
        match &mut self.guest.surface {
            Surface::Guest(g) => g,
            Surface::Backend { .. } => unreachable!("the guest has a guest surface"),
        }
    }

    /// The real id `domid` names from the guest's point of view.
    pub const fn resolve(&self, domid: DomId) -> DomId {
        if domid == DOMID_SELF {
            self.cfg.domid
        } else {
            domid
        }
    }

    /// The event table of domain `domid`.
    pub const fn events(&mut self, domid: DomId) -> Option<&mut Events> {
        if domid == self.cfg.domid {
            Some(&mut self.guest)
        } else if domid == self.cfg.backend_domid {
            Some(&mut self.backend)
        } else {
            None
        }
    }

    /// Whether the guest's vCPU `vcpu` has an upcall route (Xen's `hvm_assert_evtchn_irq`).
    pub fn has_route(&self, vcpu: u32) -> bool {
        self.upcall_vector
            .get(vcpu as usize)
            .is_some_and(|&v| v != 0)
            || matches!(self.via, Via::Vector(_))
            || (vcpu == 0 && matches!(self.via, Via::Line(_)))
    }

    /// Turns 0 -> 1 transitions into upcalls.
    pub fn deliver(&mut self, marks: Marks) {
        for (domid, vcpu) in marks {
            if domid == self.cfg.domid && self.has_route(vcpu) {
                self.upcalls.push(vcpu);
            }
        }
    }

    /// `hvm_assert_evtchn_irq` outside an event: per-vCPU vectors are injected as they are;
    /// the callback only when an upcall is pending.
    pub fn assert_irq(&mut self, vcpu: u32) {
        let vector = self
            .upcall_vector
            .get(vcpu as usize)
            .is_some_and(|&v| v != 0);
        if vector || (self.has_route(vcpu) && self.surface().upcall_pending(vcpu)) {
            self.upcalls.push(vcpu);
        }
    }

    /// Sets `port` of `domid` pending on its bound vCPU and reacts to it.
    pub fn raise(&mut self, domid: DomId, port: u32) {
        let mut marks = Marks::new();
        if let Some(ev) = self.events(domid)
            && let Some(vcpu) = ev.port(port).map(|p| p.vcpu)
        {
            ev.set_pending(vcpu, port, &mut marks);
        }
        self.deliver(marks);
        if domid == self.cfg.backend_domid {
            self.backend_react();
        }
    }

    // ---- event channels across domains ----

    /// `evtchn_alloc_unbound` in `domid` for `remote`.
    pub fn alloc_unbound(&mut self, domid: DomId, remote: DomId, port: u32) -> Result<u32, Errno> {
        let ev = self.events(domid).ok_or(errno::ESRCH)?;
        let port = ev.get_port(port)?;
        if let Some(p) = ev.port_mut(port) {
            p.state = PortState::Unbound { remote };
        }
        ev.port_init(port);
        Ok(port)
    }

    /// `evtchn_bind_interdomain` of `ld` to `rport` of `rdom`.
    pub fn bind_interdomain(&mut self, ld: DomId, rdom: DomId, rport: u32) -> Result<u32, Errno> {
        if self.events(rdom).is_none() {
            return Err(errno::ESRCH);
        }
        let lport = self.events(ld).ok_or(errno::ESRCH)?.get_port(0)?;
        let remote_ok = self
            .events(rdom)
            .and_then(|e| e.port(rport))
            .is_some_and(|p| p.state == PortState::Unbound { remote: ld });
        if !remote_ok {
            // check_free_port: the allocation is undone.
            if let Some(ev) = self.events(ld) {
                ev.active = ev.active.saturating_sub(1);
            }
            return Err(errno::EINVAL);
        }
        if let Some(ev) = self.events(ld) {
            if let Some(p) = ev.port_mut(lport) {
                p.state = PortState::Interdomain {
                    dom: rdom,
                    port: rport,
                };
            }
            ev.port_init(lport);
        }
        if let Some(p) = self.events(rdom).and_then(|e| e.port_mut(rport)) {
            p.state = PortState::Interdomain {
                dom: ld,
                port: lport,
            };
        }
        self.raise(ld, lport);
        Ok(lport)
    }

    /// `evtchn_send` from `port` of `ld`.
    pub fn send(&mut self, ld: DomId, port: u32) -> Result<(), Errno> {
        let ev = self.events(ld).ok_or(errno::ESRCH)?;
        let p = *ev.port(port).ok_or(errno::EINVAL)?;
        match p.state {
            PortState::Interdomain { dom, port: rport } => {
                self.raise(dom, rport);
                Ok(())
            }
            PortState::Ipi => {
                self.raise(ld, port);
                Ok(())
            }
            PortState::Unbound { .. } => Ok(()),
            _ => Err(errno::EINVAL),
        }
    }

    /// `evtchn_close` of `port` of `d1`.
    pub fn close(&mut self, d1: DomId, port: u32) -> Result<(), Errno> {
        let ev = self.events(d1).ok_or(errno::ESRCH)?;
        let p = *ev.port(port).ok_or(errno::EINVAL)?;
        match p.state {
            PortState::Free | PortState::Reserved => return Err(errno::EINVAL),
            PortState::Virq(virq) => {
                let v = if virq_type(virq) == VirqType::Vcpu {
                    p.vcpu
                } else {
                    0
                };
                if let Some(slot) = ev
                    .virq_to_port
                    .get_mut(v as usize)
                    .and_then(|t| t.get_mut(virq as usize))
                {
                    *slot = 0;
                }
            }
            PortState::Interdomain { dom, port: rport } => {
                if let Some(r) = self.events(dom).and_then(|e| e.port_mut(rport)) {
                    r.state = PortState::Unbound { remote: d1 };
                }
            }
            PortState::Unbound { .. } | PortState::Ipi => {}
        }
        if let Some(ev) = self.events(d1) {
            ev.free(port);
        }
        Ok(())
    }

    /// `evtchn_reset` of the guest: closes every port, back to 2-level.
    pub fn reset(&mut self) {
        let domid = self.cfg.domid;
        let mut port = 1;
        while self.guest.is_valid(port) && self.guest.active > 0 {
            let _ = self.close(domid, port);
            port += 1;
        }
        if self.guest.fifo.take().is_some() {
            for p in &mut self.guest.ports {
                p.fifo_pending = false;
            }
        }
    }

    /// `bind_virq` for the guest.
    pub fn bind_virq(&mut self, virq: u32, vcpu: u32) -> Result<u32, Errno> {
        if virq >= xen_headers::xen::NR_VIRQS {
            return Err(errno::EINVAL);
        }
        let ty = virq_type(virq);
        if ty != VirqType::Vcpu && vcpu != 0 {
            return Err(errno::EINVAL);
        }
        if vcpu >= self.cfg.vcpus {
            return Err(errno::ENOENT);
        }
        if self.guest.virq_to_port[vcpu as usize][virq as usize] != 0 {
            return Err(errno::EEXIST);
        }
        let port = self.guest.get_port(0)?;
        if let Some(p) = self.guest.port_mut(port) {
            p.state = PortState::Virq(virq);
            p.vcpu = vcpu;
        }
        self.guest.port_init(port);
        self.guest.virq_to_port[vcpu as usize][virq as usize] = port;
        Ok(port)
    }

    /// `bind_ipi` for the guest.
    pub fn bind_ipi(&mut self, vcpu: u32) -> Result<u32, Errno> {
        if vcpu >= self.cfg.vcpus {
            return Err(errno::ENOENT);
        }
        let port = self.guest.get_port(0)?;
        if let Some(p) = self.guest.port_mut(port) {
            p.state = PortState::Ipi;
            p.vcpu = vcpu;
        }
        self.guest.port_init(port);
        Ok(port)
    }

    /// `bind_vcpu` for the guest.
    pub fn bind_vcpu(&mut self, port: u32, vcpu: u32) -> Result<(), Errno> {
        if vcpu >= self.cfg.vcpus {
            return Err(errno::ENOENT);
        }
        let p = self.guest.port_mut(port).ok_or(errno::EINVAL)?;
        match p.state {
            PortState::Virq(virq) if virq_type(virq) != VirqType::Vcpu => p.vcpu = vcpu,
            PortState::Unbound { .. } | PortState::Interdomain { .. } => p.vcpu = vcpu,
            _ => return Err(errno::EINVAL),
        }
        Ok(())
    }

    /// Fires `VIRQ_TIMER` for every expired timer.
    pub fn fire_timers(&mut self) {
        let now = self.now();
        for vcpu in 0..self.cfg.vcpus {
            let t = &mut self.timers[vcpu as usize];
            let single = t.singleshot.is_some_and(|d| d <= now);
            if single {
                t.singleshot = None;
            }
            let periodic = match t.periodic {
                Some((period, next)) if next <= now => {
                    let missed = (now - next) / period + 1;
                    t.periodic = Some((period, next + missed * period));
                    true
                }
                _ => false,
            };
            let fire = single || periodic;
            let port = self.guest.virq_to_port[vcpu as usize][VIRQ_TIMER as usize];
            if fire && port != 0 {
                let mut marks = Marks::new();
                self.guest.set_pending(vcpu, port, &mut marks);
                self.deliver(marks);
            }
        }
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers
            .iter()
            .flat_map(|t| [t.singleshot, t.periodic.map(|(_, n)| n)])
            .flatten()
            .min()
    }

    // ---- upcall routing ----

    /// `HVM_PARAM_CALLBACK_IRQ` written by the guest (`hvm_set_callback_via`): the type is
    /// the top byte; GSI 0 or beyond the 48 GSIs, and unknown types, mean none. Without
    /// emulated interrupt controllers (PVH) Xen ignores anything but a vector. Afterwards every
    /// vCPU's upcall is asserted again.
    pub fn set_callback(&mut self, value: u64) {
        const NR_GSIS: u64 = 48;
        self.params[HVM_PARAM_CALLBACK_IRQ as usize] = value;
        let ty = value >> HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT;
        let via = match ty {
            HVM_PARAM_CALLBACK_TYPE_VECTOR => Via::Vector((value & 0xff) as u8),
            HVM_PARAM_CALLBACK_TYPE_GSI if value == 0 || (value & 0xff) >= NR_GSIS => Via::None,
            HVM_PARAM_CALLBACK_TYPE_GSI | HVM_PARAM_CALLBACK_TYPE_PCI_INTX => Via::Line(value),
            _ => Via::None,
        };
        if self.cfg.pvh && !matches!(via, Via::Vector(_)) {
            return;
        }
        self.via = via;
        for v in 0..self.cfg.vcpus {
            self.assert_irq(v);
        }
    }

    // ---- toolstack ----

    /// Creates the store and console channels as `xl` and the daemons do: guest ports
    /// allocated unbound for dom0 (at ports shifted by `generation` after a resume), then bound
    /// by the backend; the HVM parameters name the guest ports.
    pub fn build_toolstack_channels(&mut self, generation: u64) {
        let domid = self.cfg.domid;
        let backend = self.cfg.backend_domid;
        let shift = u32::try_from(generation.saturating_mul(u64::from(self.cfg.resume_port_shift)))
            .unwrap_or(0);
        let want = |base: u32| if shift == 0 { 0 } else { base + shift };
        let store = self
            .alloc_unbound(domid, backend, want(1))
            .or_else(|_| self.alloc_unbound(domid, backend, 0))
            .expect("room for the store port");
        let console = self
            .alloc_unbound(domid, backend, want(2))
            .or_else(|_| self.alloc_unbound(domid, backend, 0))
            .expect("room for the console port");
        self.params[HVM_PARAM_STORE_EVTCHN as usize] = u64::from(store);
        self.params[HVM_PARAM_CONSOLE_EVTCHN as usize] = u64::from(console);
        let store_backend = self
            .bind_interdomain(backend, domid, store)
            .expect("backend binds the store port");
        let console_backend = self
            .bind_interdomain(backend, domid, console)
            .expect("backend binds the console port");
        self.toolstack.store_backend = store_backend;
        self.toolstack.console_backend = console_backend;
        // The daemons consume their bind notifications.
        self.take_backend_events(&[store_backend, console_backend]);
        self.seed_grants();
    }

    /// Grant entries 0 (console) and 1 (store), as `xc_dom_gnttab_seed`.
    pub fn seed_grants(&self) {
        let backend = self.cfg.backend_domid;
        self.gnttab.seed(
            GNTTAB_RESERVED_CONSOLE,
            backend,
            u32::try_from(self.toolstack.console_gfn).unwrap_or(0),
        );
        self.gnttab.seed(
            GNTTAB_RESERVED_XENSTORE,
            backend,
            u32::try_from(self.toolstack.store_gfn).unwrap_or(0),
        );
    }

    /// Removes `ports` from the backend's pending set and fired list.
    fn take_backend_events(&mut self, ports: &[u32]) -> usize {
        let Surface::Backend { pending, fired } = &mut self.backend.surface else {
            return 0;
        };
        for port in ports {
            pending.remove(port);
        }
        let before = fired.len();
        fired.retain(|p| !ports.contains(p));
        before - fired.len()
    }

    /// The console and store daemons react to their ports.
    pub fn backend_react(&mut self) {
        let console = self.toolstack.console_backend;
        let store = self.toolstack.store_backend;
        if self.take_backend_events(&[console]) > 0 {
            self.console_consume();
        }
        let kicks = self.take_backend_events(&[store]) as u64;
        self.toolstack.store_kicks += kicks;
        self.store_hook_kicks += kicks;
    }

    fn console_ring(&self) -> Option<Page> {
        if !self.cfg.toolstack {
            return None;
        }
        self.mem.page(self.toolstack.console_gfn)
    }

    /// xenconsoled: drain the out ring into the buffer and kick the guest.
    pub fn console_consume(&mut self) {
        let Some(page) = self.console_ring() else {
            return;
        };
        let cons_at = offset_of!(XenconsInterface, out_cons);
        let prod_at = offset_of!(XenconsInterface, out_prod);
        let out_at = offset_of!(XenconsInterface, out);
        let cons = u32_at(page, cons_at).load(SeqCst);
        let prod = u32_at(page, prod_at).load(SeqCst);
        let len = prod.wrapping_sub(cons) as usize;
        if len == 0 || len > XENCONS_OUT_RING_SIZE {
            return;
        }
        for i in 0..len {
            let index = (cons as usize + i) % XENCONS_OUT_RING_SIZE;
            let byte = crate::shm::u8_at(page, out_at + index).load(SeqCst);
            self.toolstack.console_out.push(byte);
        }
        u32_at(page, cons_at).store(prod, SeqCst);
        let _ = self.send(self.cfg.backend_domid, self.toolstack.console_backend);
    }

    /// Console input: as much of `bytes` as fits the in ring; returns how much.
    pub fn console_input(&mut self, bytes: &[u8]) -> usize {
        let Some(page) = self.console_ring() else {
            return 0;
        };
        let cons = u32_at(page, offset_of!(XenconsInterface, in_cons)).load(SeqCst);
        let prod_word = u32_at(page, offset_of!(XenconsInterface, in_prod));
        let prod = prod_word.load(SeqCst);
        let used = prod.wrapping_sub(cons) as usize;
        let room = XENCONS_IN_RING_SIZE.saturating_sub(used);
        let n = room.min(bytes.len());
        for (i, &b) in bytes.iter().take(n).enumerate() {
            let index = (prod as usize + i) % XENCONS_IN_RING_SIZE;
            crate::shm::u8_at(page, offset_of!(XenconsInterface, in_) + index).store(b, SeqCst);
        }
        prod_word.store(prod.wrapping_add(n as u32), SeqCst);
        let _ = self.send(self.cfg.backend_domid, self.toolstack.console_backend);
        n
    }

    // ---- suspend ----

    /// `SHUTDOWN_suspend` completed: the guest wakes in a new domain.
    pub fn resume_in_new_domain(&mut self) {
        let domid = self.cfg.domid;
        // The old domain's ports close: backends' ends become unbound.
        for port in 1..self.guest.ports.len() as u32 {
            if let Some(&p) = self.guest.port(port)
                && let PortState::Interdomain { dom, port: rport } = p.state
                && dom != domid
                && let Some(r) = self.events(dom).and_then(|e| e.port_mut(rport))
            {
                r.state = PortState::Unbound { remote: domid };
            }
        }
        // The daemons drop their old ends.
        let (store_b, console_b) = (self.toolstack.store_backend, self.toolstack.console_backend);
        let backend = self.cfg.backend_domid;
        let _ = self.close(backend, store_b);
        let _ = self.close(backend, console_b);
        self.toolstack.store_backend = 0;
        self.toolstack.console_backend = 0;
        // Guest mappings of backend grants do not survive.
        let maps: Vec<_> = self.guest_maptrack.iter().collect();
        for (handle, entry) in maps {
            if let Some(g) = self.backend_grants.get_mut(&entry.reference) {
                g.pins = g.pins.saturating_sub(1);
            }
            self.guest_maptrack.remove(handle);
        }
        // Fresh Xen state.
        let surface = guest_surface(&mut self.mem, self.cfg.vcpus);
        self.guest = Events::new(
            domid,
            self.cfg.vcpus,
            self.cfg.max_evtchn_port,
            Surface::Guest(surface),
        );
        self.mem.clear_overlays(|_| false);
        let max = self.cfg.max_grant_frames;
        self.gnttab = GuestGrantTable::new(self.mem.pool(), max);
        self.params[HVM_PARAM_CALLBACK_IRQ as usize] = 0;
        self.via = Via::None;
        self.upcall_vector.iter_mut().for_each(|v| *v = 0);
        self.timers.iter_mut().for_each(|t| *t = Timers::default());
        self.watchdogs = [false; 2];
        self.suspends += 1;
        if self.cfg.toolstack {
            self.build_toolstack_channels(self.suspends);
        }
    }

    /// The guest's view of `vcpu`'s registered `vcpu_info` (frame), if any.
    pub fn registered_vcpu_info(&self, vcpu: u32) -> Option<u64> {
        self.surface()
            .vcpu_info
            .get(vcpu as usize)
            .copied()
            .flatten()
            .map(|(_, _, gfn)| gfn)
    }

    /// `VCPUOP_register_vcpu_info` (4.17 `map_vcpu_info`): copy the current record (zeros for
    /// a vCPU beyond the legacy slots), then mark every selector bit and the upcall pending.
    pub fn register_vcpu_info(&mut self, vcpu: u32, page: Page, offset: usize, gfn: u64) {
        let old = self.surface().vcpu_info(vcpu);
        for i in (0..size_of::<VcpuInfo>()).step_by(8) {
            let v = old.map_or(0, |(old_page, old_offset)| {
                u64_at(old_page, old_offset + i).load(SeqCst)
            });
            u64_at(page, offset + i).store(v, SeqCst);
        }
        if let Some(slot) = self.surface_mut().vcpu_info.get_mut(vcpu as usize) {
            *slot = Some((page, offset, gfn));
        }
        u64_at(page, offset + offset_of!(VcpuInfo, evtchn_pending_sel)).store(u64::MAX, SeqCst);
        if self.surface().mark_events_pending(vcpu) {
            self.deliver(vec![(self.cfg.domid, vcpu)]);
        }
    }

    /// Maps the domain's `shared_info` at `gfn`.
    pub fn map_shared_info(&mut self, gfn: u64) {
        let page = self.surface().shared_info;
        if let Some(old) = self.mem.find_overlay(Overlay::SharedInfo) {
            self.mem.clear_overlay(old);
        }
        self.mem.set_overlay(gfn, Overlay::SharedInfo, page);
    }
}
