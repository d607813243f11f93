// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Everything the simulated Xen knows, behind the simulator's one lock, and the operations
//! that span domains (binding, sending, closing, granting).

use crate::SimConfig;
use crate::evtchn::{Events, GuestSurface, Marks, Surface};
use crate::fault::Faults;
use crate::gnttab::{BackendGrant, GuestGrantTable, Maptrack};
use crate::memory::{GuestMemory, Overlay, Page};
use crate::shm::{u32_at, u64_at};
use std::collections::{BTreeMap, BTreeSet};
use std::mem::offset_of;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Instant;
use xen_headers::hvm::params::{
    HVM_NR_PARAMS, HVM_PARAM_CALLBACK_IRQ, HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT,
    HVM_PARAM_CALLBACK_TYPE_GSI, HVM_PARAM_CALLBACK_TYPE_PCI_INTX, HVM_PARAM_CALLBACK_TYPE_VECTOR,
    HVM_PARAM_CONSOLE_PFN, HVM_PARAM_STORE_PFN,
};
use xen_headers::xen::{DOMID_SELF, DomId, VcpuInfo, VcpuTimeInfo};

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

/// A fresh `shared_info` page, with a live time record in each legacy `vcpu_info` slot.
pub fn guest_surface(mem: &mut GuestMemory, vcpus: u32) -> GuestSurface {
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
