// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Event-channel operations that span domains (bind, send, close, reset) and the VIRQ,
//! IPI and timer bindings, on [`State`].

use crate::evtchn::{Errno, Marks, PortState, VirqType, virq_type};
use crate::state::State;
use xen_headers::errno;
use xen_headers::xen::{DomId, VIRQ_TIMER};

impl State {
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
}
