// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Event channels as Xen 4.17 keeps them (`common/event_channel.c`, `event_2l.c`,
//! `event_fifo.c`): a per-domain port table grown in buckets of 64, port 0 reserved, the lowest
//! free port allocated first, and the 2-level or FIFO ABI for pending, mask and upcall bits.
//!
//! The guest's bits live in guest-visible memory (the `shared_info` page, `vcpu_info`, FIFO
//! control blocks and event-array pages) and are changed with atomics exactly where Xen changes
//! them. A backend domain (dom0) has no such memory: its pending ports are a set the [`Peer`]
//! drains.
//!
//! [`Peer`]: crate::Peer

use crate::memory::Page;
use crate::shm::{u8_at, u32_at, u64_at};
use std::collections::BTreeSet;
use std::mem::offset_of;
use std::sync::atomic::Ordering::SeqCst;
use xen_headers::errno;
use xen_headers::event_channel::{
    EVTCHN_FIFO_BUSY, EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_MASKED,
    EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_PENDING,
    EVTCHN_FIFO_PRIORITY_DEFAULT, EvtchnFifoControlBlock,
};
use xen_headers::xen::{
    DomId, EVTCHN_2L_NR_CHANNELS, NR_VIRQS, SharedInfo, VIRQ_DEBUG, VIRQ_TIMER, VIRQ_XENOPROF,
    VIRQ_XENPMU, VcpuInfo, XEN_LEGACY_MAX_VCPUS,
};

/// Ports added to the table at a time (Xen's bucket of 64-byte `struct evtchn`).
pub const EVTCHNS_PER_BUCKET: u32 = 64;
/// Event words in one FIFO event-array page.
pub const FIFO_WORDS_PER_PAGE: u32 = 1024;

/// A negative errno, as hypercalls return it.
pub type Errno = i32;

/// What a port is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Not in use.
    Free,
    /// Port 0.
    Reserved,
    /// Waiting for `remote` to bind.
    Unbound {
        /// The domain allowed to bind.
        remote: DomId,
    },
    /// Connected to `port` of `dom`.
    Interdomain {
        /// The remote domain.
        dom: DomId,
        /// The remote port.
        port: u32,
    },
    /// A virtual IRQ.
    Virq(u32),
    /// An inter-vCPU notification.
    Ipi,
}

/// One port.
#[derive(Clone, Copy, Debug)]
pub struct Port {
    /// Binding.
    pub state: PortState,
    /// The vCPU notified.
    pub vcpu: u32,
    /// FIFO priority.
    pub priority: u32,
    /// FIFO: pending while its event-array page was missing (`evtchn->pending`).
    pub fifo_pending: bool,
    /// FIFO: the queue the event was last linked on (`fifo_lastq`): (vCPU, priority).
    pub lastq: (u32, u32),
}

impl Port {
    const FREE: Self = Self {
        state: PortState::Free,
        vcpu: 0,
        priority: EVTCHN_FIFO_PRIORITY_DEFAULT,
        fifo_pending: false,
        lastq: (0, 0),
    };
}

/// Whether a VIRQ is per-vCPU or global (Xen 4.17's `virq_is_global`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VirqType {
    /// Bound on any vCPU, one port per vCPU.
    Vcpu,
    /// Global: bound on vCPU 0 only.
    Global,
}

/// Xen 4.17's `virq_is_global`, as a type.
#[must_use]
pub const fn virq_type(virq: u32) -> VirqType {
    match virq {
        VIRQ_TIMER | VIRQ_DEBUG | VIRQ_XENOPROF | VIRQ_XENPMU => VirqType::Vcpu,
        _ => VirqType::Global,
    }
}

/// A guest's FIFO state.
#[derive(Debug)]
pub struct Fifo {
    /// Event-array pages, with the guest frame each came from.
    pub array: Vec<(u64, Page)>,
    /// Per vCPU: control block (page, offset, guest frame).
    pub control: Vec<Option<(Page, usize, u64)>>,
    /// Per vCPU: the tail of each queue (Xen-private).
    pub tails: Vec<[u32; EVTCHN_FIFO_MAX_QUEUES]>,
}

impl Fifo {
    fn new(vcpus: u32) -> Self {
        Self {
            array: Vec::new(),
            control: vec![None; vcpus as usize],
            tails: vec![[0; EVTCHN_FIFO_MAX_QUEUES]; vcpus as usize],
        }
    }

    /// Ports with an event word.
    #[must_use]
    pub const fn num_evtchns(&self) -> u32 {
        self.array.len() as u32 * FIFO_WORDS_PER_PAGE
    }

    fn word(&self, port: u32) -> Option<&'static std::sync::atomic::AtomicU32> {
        if port >= self.num_evtchns() {
            return None;
        }
        let (_, page) = self.array.get((port / FIFO_WORDS_PER_PAGE) as usize)?;
        Some(u32_at(*page, (port % FIFO_WORDS_PER_PAGE) as usize * 4))
    }
}

/// Where a guest's 2-level and upcall bits live.
#[derive(Debug)]
pub struct GuestSurface {
    /// Xen's `shared_info` page of the domain.
    pub shared_info: Page,
    /// Per vCPU: a registered `vcpu_info` (page, offset, frame), else the legacy slot.
    pub vcpu_info: Vec<Option<(Page, usize, u64)>>,
}

impl GuestSurface {
    /// The page and offset of `vcpu`'s `vcpu_info`, if it has one.
    #[must_use]
    pub fn vcpu_info(&self, vcpu: u32) -> Option<(Page, usize)> {
        match self.vcpu_info.get(vcpu as usize) {
            Some(Some((page, offset, _))) => Some((*page, *offset)),
            _ if (vcpu as usize) < XEN_LEGACY_MAX_VCPUS => Some((
                self.shared_info,
                offset_of!(SharedInfo, vcpu_info) + vcpu as usize * size_of::<VcpuInfo>(),
            )),
            _ => None,
        }
    }

    fn bitmap_word(&self, pending: bool, word: usize) -> &'static std::sync::atomic::AtomicU64 {
        let base = if pending {
            offset_of!(SharedInfo, evtchn_pending)
        } else {
            offset_of!(SharedInfo, evtchn_mask)
        };
        u64_at(self.shared_info, base + word * 8)
    }

    /// Whether 2-level `port` is pending (`pending`) or masked.
    #[must_use]
    pub fn bit(&self, pending: bool, port: u32) -> bool {
        let w = self.bitmap_word(pending, (port / 64) as usize);
        w.load(SeqCst) & (1 << (port % 64)) != 0
    }

    fn test_and_set(&self, pending: bool, port: u32) -> bool {
        let bit = 1_u64 << (port % 64);
        self.bitmap_word(pending, (port / 64) as usize)
            .fetch_or(bit, SeqCst)
            & bit
            != 0
    }

    fn test_and_clear(&self, pending: bool, port: u32) -> bool {
        let bit = 1_u64 << (port % 64);
        self.bitmap_word(pending, (port / 64) as usize)
            .fetch_and(!bit, SeqCst)
            & bit
            != 0
    }

    /// Sets `vcpu`'s selector bit `word`; true if it was already set.
    fn sel_test_and_set(&self, vcpu: u32, word: u32) -> bool {
        let Some((page, offset)) = self.vcpu_info(vcpu) else {
            return true;
        };
        let bit = 1_u64 << word;
        u64_at(page, offset + offset_of!(VcpuInfo, evtchn_pending_sel)).fetch_or(bit, SeqCst) & bit
            != 0
    }

    /// `vcpu_mark_events_pending`: true when `evtchn_upcall_pending` went 0 -> 1.
    #[must_use]
    pub fn mark_events_pending(&self, vcpu: u32) -> bool {
        let Some((page, offset)) = self.vcpu_info(vcpu) else {
            return false;
        };
        u8_at(page, offset + offset_of!(VcpuInfo, evtchn_upcall_pending)).swap(1, SeqCst) == 0
    }

    /// `evtchn_upcall_pending` of `vcpu`.
    #[must_use]
    pub fn upcall_pending(&self, vcpu: u32) -> bool {
        self.vcpu_info(vcpu).is_some_and(|(page, offset)| {
            u8_at(page, offset + offset_of!(VcpuInfo, evtchn_upcall_pending)).load(SeqCst) != 0
        })
    }
}

/// How a domain sees its events.
#[derive(Debug)]
pub enum Surface {
    /// The simulated guest: bits in shared memory.
    Guest(GuestSurface),
    /// A backend domain: a set of pending ports and the order they fired in.
    Backend {
        /// Pending ports.
        pending: BTreeSet<u32>,
        /// Ports that became pending, oldest first, not yet taken.
        fired: Vec<u32>,
    },
}

/// A domain's event-channel state.
#[derive(Debug)]
pub struct Events {
    /// The domain.
    pub domid: DomId,
    /// vCPUs.
    pub vcpus: u32,
    /// The port table (`valid_evtchns` long).
    pub ports: Vec<Port>,
    /// Highest port the toolstack allows.
    pub max_evtchn_port: u32,
    /// Ports in use (port 0 not counted).
    pub active: u32,
    /// Per vCPU: port bound to each VIRQ (0: none).
    pub virq_to_port: Vec<[u32; NR_VIRQS as usize]>,
    /// The FIFO ABI, once `init_control` switched to it.
    pub fifo: Option<Fifo>,
    /// Where pending bits go.
    pub surface: Surface,
}

/// vCPUs whose `evtchn_upcall_pending` went 0 -> 1 (Xen then asserts the upcall).
pub type Marks = Vec<(DomId, u32)>;

impl Events {
    /// A fresh table: port 0 reserved, 2-level ABI.
    #[must_use]
    pub fn new(domid: DomId, vcpus: u32, max_evtchn_port: u32, surface: Surface) -> Self {
        let mut ports = vec![Port::FREE; EVTCHNS_PER_BUCKET as usize];
        if let Some(p) = ports.first_mut() {
            p.state = PortState::Reserved;
        }
        Self {
            domid,
            vcpus,
            ports,
            max_evtchn_port,
            active: 0,
            virq_to_port: vec![[0; NR_VIRQS as usize]; vcpus as usize],
            fifo: None,
            surface,
        }
    }

    /// `max_evtchns(d)`: the ABI's port limit.
    #[must_use]
    pub const fn max_evtchns(&self) -> u32 {
        if self.fifo.is_some() {
            EVTCHN_FIFO_NR_CHANNELS
        } else {
            EVTCHN_2L_NR_CHANNELS
        }
    }

    /// `port_is_valid`.
    #[must_use]
    pub const fn is_valid(&self, port: u32) -> bool {
        (port as usize) < self.ports.len()
    }

    /// The port, if valid (`_evtchn_from_port`).
    #[must_use]
    pub fn port(&self, port: u32) -> Option<&Port> {
        self.ports.get(port as usize)
    }

    /// Mutable port, if valid.
    pub fn port_mut(&mut self, port: u32) -> Option<&mut Port> {
        self.ports.get_mut(port as usize)
    }

    /// `evtchn_is_busy`: FIFO LINKED.
    fn is_busy(&self, port: u32) -> bool {
        self.fifo
            .as_ref()
            .and_then(|f| f.word(port))
            .is_some_and(|w| w.load(SeqCst) & (1 << EVTCHN_FIFO_LINKED) != 0)
    }

    /// `evtchn_allocate_port`.
    ///
    /// # Errors
    ///
    /// `ENOSPC` beyond the limits, `EBUSY` for a port in use.
    pub fn allocate_port(&mut self, port: u32) -> Result<(), Errno> {
        if port > self.max_evtchn_port || port >= self.max_evtchns() {
            return Err(errno::ENOSPC);
        }
        if self.is_valid(port) {
            let state = self.ports[port as usize].state;
            if state != PortState::Free || self.is_busy(port) {
                return Err(errno::EBUSY);
            }
        } else {
            while !self.is_valid(port) {
                let grown = self.ports.len() + EVTCHNS_PER_BUCKET as usize;
                self.ports.resize(grown, Port::FREE);
            }
        }
        self.active += 1;
        Ok(())
    }

    /// `evtchn_get_port`: `port`, or with 0 the lowest free port.
    ///
    /// # Errors
    ///
    /// As [`Self::allocate_port`]; `ENOSPC` when every port is taken.
    pub fn get_port(&mut self, port: u32) -> Result<u32, Errno> {
        if port != 0 {
            return self.allocate_port(port).map(|()| port);
        }
        for candidate in 0..=self.max_evtchn_port {
            match self.allocate_port(candidate) {
                Ok(()) => return Ok(candidate),
                Err(errno::EBUSY) => {}
                Err(e) => return Err(e),
            }
        }
        Err(errno::ENOSPC)
    }

    /// `evtchn_port_init`: a newly bound port's FIFO priority.
    pub fn port_init(&mut self, port: u32) {
        if let Some(p) = self.port_mut(port) {
            p.priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
        }
    }

    /// `evtchn_free`: clear pending, back to free on vCPU 0.
    pub fn free(&mut self, port: u32) {
        self.clear_pending(port);
        self.active = self.active.saturating_sub(1);
        if let Some(p) = self.port_mut(port) {
            p.state = PortState::Free;
            p.vcpu = 0;
        }
    }

    /// `evtchn_port_clear_pending`.
    pub fn clear_pending(&mut self, port: u32) {
        match &mut self.surface {
            Surface::Backend { pending, .. } => {
                pending.remove(&port);
            }
            Surface::Guest(g) => {
                if let Some(fifo) = &self.fifo {
                    if let Some(w) = fifo.word(port) {
                        w.fetch_and(!(1 << EVTCHN_FIFO_PENDING), SeqCst);
                    }
                } else if port < EVTCHN_2L_NR_CHANNELS {
                    g.test_and_clear(true, port);
                }
            }
        }
    }

    /// `evtchn_port_set_pending(d, vcpu, port)`; marks go to `marks`.
    pub fn set_pending(&mut self, vcpu: u32, port: u32, marks: &mut Marks) {
        let domid = self.domid;
        match &mut self.surface {
            Surface::Backend { pending, fired } => {
                if pending.insert(port) {
                    fired.push(port);
                }
            }
            Surface::Guest(g) => {
                if self.fifo.is_some() {
                    self.fifo_set_pending(vcpu, port, marks);
                } else {
                    // event_2l.c
                    if port >= EVTCHN_2L_NR_CHANNELS || g.test_and_set(true, port) {
                        return;
                    }
                    if !g.bit(false, port)
                        && !g.sel_test_and_set(vcpu, port / 64)
                        && g.mark_events_pending(vcpu)
                    {
                        marks.push((domid, vcpu));
                    }
                }
            }
        }
    }

    /// `evtchn_port_unmask`.
    pub fn unmask(&mut self, port: u32, marks: &mut Marks) {
        let domid = self.domid;
        let Some(vcpu) = self.port(port).map(|p| p.vcpu) else {
            return;
        };
        let Surface::Guest(g) = &self.surface else {
            return;
        };
        if let Some(fifo) = &self.fifo {
            let Some(w) = fifo.word(port) else {
                return;
            };
            w.fetch_and(!(1 << EVTCHN_FIFO_MASKED), SeqCst);
            if w.load(SeqCst) & (1 << EVTCHN_FIFO_PENDING) != 0 {
                self.fifo_set_pending(vcpu, port, marks);
            }
        } else if port < EVTCHN_2L_NR_CHANNELS
            && g.test_and_clear(false, port)
            && g.bit(true, port)
            && !g.sel_test_and_set(vcpu, port / 64)
            && g.mark_events_pending(vcpu)
        {
            marks.push((domid, vcpu));
        }
    }

    /// Whether `port` is pending (2-level bit, FIFO PENDING, or the backend's set).
    #[must_use]
    pub fn is_pending(&self, port: u32) -> bool {
        match &self.surface {
            Surface::Backend { pending, .. } => pending.contains(&port),
            Surface::Guest(g) => self.fifo.as_ref().map_or_else(
                || port < EVTCHN_2L_NR_CHANNELS && g.bit(true, port),
                |fifo| {
                    fifo.word(port)
                        .is_some_and(|w| w.load(SeqCst) & (1 << EVTCHN_FIFO_PENDING) != 0)
                },
            ),
        }
    }

    fn control_word(
        &self,
        vcpu: u32,
        index: usize,
    ) -> Option<&'static std::sync::atomic::AtomicU32> {
        let (page, offset, _) = (*self.fifo.as_ref()?.control.get(vcpu as usize)?)?;
        Some(u32_at(page, offset + index * 4))
    }

    /// `evtchn_fifo_set_pending`, step by step as Xen 4.17 does it (no queue-lock retries:
    /// the simulator serialises Xen's side).
    fn fifo_set_pending(&mut self, vcpu: u32, port: u32, marks: &mut Marks) {
        let domid = self.domid;
        let Some(fifo) = self.fifo.as_ref() else {
            return;
        };
        let Some(word) = fifo.word(port) else {
            if let Some(p) = self.port_mut(port) {
                p.fifo_pending = true;
            }
            return;
        };
        let Some(&Port {
            priority, lastq, ..
        }) = self.port(port)
        else {
            return;
        };
        if fifo.control.get(vcpu as usize).copied().flatten().is_none() {
            // No control block: Xen drops the event.
            return;
        }
        word.fetch_or(1 << EVTCHN_FIFO_PENDING, SeqCst);
        let mut linked = true;
        let masked = word.load(SeqCst) & (1 << EVTCHN_FIFO_MASKED) != 0;
        if !masked
            && word.fetch_or(1 << EVTCHN_FIFO_LINKED, SeqCst) & (1 << EVTCHN_FIFO_LINKED) == 0
        {
            let q = (vcpu, priority);
            let fifo = self.fifo.as_mut().expect("FIFO checked above");
            let (ov, op) = lastq;
            if let Some(tail) = fifo
                .tails
                .get_mut(ov as usize)
                .and_then(|t| t.get_mut(op as usize))
                && *tail == port
            {
                *tail = 0;
            }
            let tail = fifo.tails[vcpu as usize][priority as usize];
            linked = false;
            if tail != 0
                && let Some(tail_word) = fifo.word(tail)
            {
                linked = set_link(tail_word, port);
            }
            if !linked && let Some(head) = self.control_word(vcpu, 2 + priority as usize) {
                head.store(port, SeqCst);
            }
            let fifo = self.fifo.as_mut().expect("FIFO checked above");
            fifo.tails[vcpu as usize][priority as usize] = port;
            if q != lastq
                && let Some(p) = self.ports.get_mut(port as usize)
            {
                p.lastq = q;
            }
        }
        if !linked
            && let Some(ready) = self.control_word(vcpu, 0)
            && ready.fetch_or(1 << priority, SeqCst) & (1 << priority) == 0
            && let Surface::Guest(g) = &self.surface
            && g.mark_events_pending(vcpu)
        {
            marks.push((domid, vcpu));
        }
    }

    /// Switches to FIFO (first `init_control`): remembers 2-level pending bits of bound ports
    /// and gives every port the default priority (`setup_ports`).
    pub fn enter_fifo(&mut self) {
        let Surface::Guest(g) = &self.surface else {
            return;
        };
        let pending: Vec<bool> = (0..self.ports.len() as u32)
            .map(|p| p < EVTCHN_2L_NR_CHANNELS && g.bit(true, p))
            .collect();
        for (port, p) in self.ports.iter_mut().enumerate().skip(1) {
            if pending.get(port).copied().unwrap_or(false) {
                p.fifo_pending = true;
            }
            p.priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
        }
        self.fifo = Some(Fifo::new(self.vcpus));
    }

    /// Adds an event-array page (`add_page_to_event_array`) and re-raises events that were
    /// pending while it was missing.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` under 2-level, `ENOSPC` when the array is full, `EINVAL` when nothing
    /// backs the frame (checked in that order, as Xen does).
    pub fn add_array_page(
        &mut self,
        gfn: u64,
        page: Option<Page>,
        marks: &mut Marks,
    ) -> Result<(), Errno> {
        let Some(fifo) = self.fifo.as_mut() else {
            return Err(errno::EOPNOTSUPP);
        };
        let first = fifo.num_evtchns();
        if first >= EVTCHN_FIFO_NR_CHANNELS {
            return Err(errno::ENOSPC);
        }
        let Some(page) = page else {
            return Err(errno::EINVAL);
        };
        fifo.array.push((gfn, page));
        let last = fifo.num_evtchns();
        for port in first..last {
            let Some(&Port {
                fifo_pending, vcpu, ..
            }) = self.port(port)
            else {
                break;
            };
            if fifo_pending {
                self.fifo_set_pending(vcpu, port, marks);
            }
        }
        Ok(())
    }

    /// The control-block size check of `init_control`.
    #[must_use]
    pub const fn control_block_fits(offset: u32) -> bool {
        offset as usize <= 4096 - size_of::<EvtchnFifoControlBlock>() && offset.is_multiple_of(8)
    }
}

/// `evtchn_fifo_set_link`: link `tail_word` to `port` iff it is still LINKED; true if linked.
fn set_link(word: &std::sync::atomic::AtomicU32, link: u32) -> bool {
    let try_set = |w: u32| -> Result<bool, u32> {
        if w & (1 << EVTCHN_FIFO_LINKED) == 0 {
            return Ok(false);
        }
        let new = (w & !((1 << EVTCHN_FIFO_BUSY) | EVTCHN_FIFO_LINK_MASK)) | link;
        word.compare_exchange(w, new, SeqCst, SeqCst).map(|_| true)
    };
    if let Ok(done) = try_set(word.load(SeqCst)) {
        return done;
    }
    word.fetch_or(1 << EVTCHN_FIFO_BUSY, SeqCst);
    let mut w = word.load(SeqCst);
    for _ in 0..4 {
        match try_set(w) {
            Ok(done) => {
                if !done {
                    word.fetch_and(!(1 << EVTCHN_FIFO_BUSY), SeqCst);
                }
                return done;
            }
            Err(seen) => w = seen,
        }
    }
    word.fetch_and(!(1 << EVTCHN_FIFO_BUSY), SeqCst);
    true
}
