// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_event_channel_op`: every `EVTCHNOP_*` a guest may issue.

use super::{Trusted, neg, rc, with};
use crate::evtchn::{Events, PortState};
use crate::state::State;
use xen_headers::errno;
use xen_headers::event_channel::{
    EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_PRIORITY_MIN, EVTCHNOP_ALLOC_UNBOUND,
    EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VCPU, EVTCHNOP_BIND_VIRQ,
    EVTCHNOP_CLOSE, EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL, EVTCHNOP_RESET, EVTCHNOP_SEND,
    EVTCHNOP_SET_PRIORITY, EVTCHNOP_STATUS, EVTCHNOP_UNMASK, EVTCHNSTAT_CLOSED,
    EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI, EVTCHNSTAT_UNBOUND, EVTCHNSTAT_VIRQ,
    EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindVcpu, EvtchnBindVirq,
    EvtchnClose, EvtchnExpandArray, EvtchnInitControl, EvtchnReset, EvtchnSend, EvtchnSetPriority,
    EvtchnStatus, EvtchnUnmask,
};

impl State {
    #[allow(
        clippy::too_many_lines,
        reason = "one arm per EVTCHNOP, a flat decode table"
    )]
    pub(super) fn event_channel_op(&mut self, t: Trusted, args: &[usize; 5]) -> isize {
        let me = self.cfg.domid;
        let arg = args[1];
        match args[0] as u32 {
            EVTCHNOP_ALLOC_UNBOUND => with(t, arg, |op: &mut EvtchnAllocUnbound| {
                if !self.own(op.dom) {
                    return neg(if self.events(op.dom).is_some() {
                        errno::EPERM
                    } else {
                        errno::ESRCH
                    });
                }
                let remote = self.resolve(op.remote_dom);
                match self.alloc_unbound(me, remote, 0) {
                    Ok(port) => {
                        op.port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_BIND_INTERDOMAIN => with(t, arg, |op: &mut EvtchnBindInterdomain| {
                let rdom = self.resolve(op.remote_dom);
                match self.bind_interdomain(me, rdom, op.remote_port) {
                    Ok(port) => {
                        op.local_port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_BIND_VIRQ => with(t, arg, |op: &mut EvtchnBindVirq| {
                match self.bind_virq(op.virq, op.vcpu) {
                    Ok(port) => {
                        op.port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_BIND_IPI => with(t, arg, |op: &mut EvtchnBindIpi| {
                match self.bind_ipi(op.vcpu) {
                    Ok(port) => {
                        op.port = port;
                        0
                    }
                    Err(e) => neg(e),
                }
            }),
            EVTCHNOP_CLOSE => with(t, arg, |op: &mut EvtchnClose| rc(self.close(me, op.port))),
            EVTCHNOP_SEND => with(t, arg, |op: &mut EvtchnSend| rc(self.send(me, op.port))),
            EVTCHNOP_STATUS => with(t, arg, |op: &mut EvtchnStatus| self.status(op)),
            EVTCHNOP_BIND_VCPU => with(t, arg, |op: &mut EvtchnBindVcpu| {
                rc(self.bind_vcpu(op.port, op.vcpu))
            }),
            EVTCHNOP_UNMASK => with(t, arg, |op: &mut EvtchnUnmask| {
                if !self.guest.is_valid(op.port) {
                    return neg(errno::EINVAL);
                }
                let mut marks = Vec::new();
                self.guest.unmask(op.port, &mut marks);
                self.deliver(marks);
                0
            }),
            EVTCHNOP_RESET => with(t, arg, |op: &mut EvtchnReset| {
                if !self.own(op.dom) {
                    return neg(self.other_domain_errno(op.dom));
                }
                self.reset();
                0
            }),
            EVTCHNOP_INIT_CONTROL => {
                with(t, arg, |op: &mut EvtchnInitControl| self.init_control(op))
            }
            EVTCHNOP_EXPAND_ARRAY => with(t, arg, |op: &mut EvtchnExpandArray| {
                let page = self.mem.page(op.array_gfn);
                let mut marks = Vec::new();
                let r = self.guest.add_array_page(op.array_gfn, page, &mut marks);
                self.deliver(marks);
                rc(r)
            }),
            EVTCHNOP_SET_PRIORITY => with(t, arg, |op: &mut EvtchnSetPriority| {
                if !self.guest.is_valid(op.port) {
                    return neg(errno::EINVAL);
                }
                if self.guest.fifo.is_none() {
                    return neg(errno::ENOSYS);
                }
                if op.priority > EVTCHN_FIFO_PRIORITY_MIN {
                    return neg(errno::EINVAL);
                }
                if let Some(p) = self.guest.port_mut(op.port) {
                    p.priority = op.priority;
                }
                0
            }),
            _ => neg(errno::ENOSYS),
        }
    }

    pub(super) fn status(&mut self, op: &mut EvtchnStatus) -> isize {
        let domid = self.resolve(op.dom);
        let me = self.cfg.domid;
        let Some(ev) = self.events(domid) else {
            return neg(errno::ESRCH);
        };
        let ev: &Events = ev;
        let Some(p) = ev.port(op.port) else {
            return neg(errno::EINVAL);
        };
        if domid != me {
            return neg(errno::EPERM);
        }
        // Xen fills only the union member of the state; every other byte stays as the guest
        // passed it.
        op.status = match p.state {
            PortState::Free | PortState::Reserved => EVTCHNSTAT_CLOSED,
            PortState::Unbound { remote } => {
                op.u.unbound.dom = remote;
                EVTCHNSTAT_UNBOUND
            }
            PortState::Interdomain { dom, port } => {
                op.u.interdomain.dom = dom;
                op.u.interdomain.port = port;
                EVTCHNSTAT_INTERDOMAIN
            }
            PortState::Virq(virq) => {
                op.u.virq = virq;
                EVTCHNSTAT_VIRQ
            }
            PortState::Ipi => EVTCHNSTAT_IPI,
        };
        op.vcpu = p.vcpu;
        0
    }

    pub(super) fn init_control(&mut self, op: &mut EvtchnInitControl) -> isize {
        op.link_bits = EVTCHN_FIFO_LINK_BITS as u8;
        if op.vcpu >= self.cfg.vcpus {
            return neg(errno::ENOENT);
        }
        if !Events::control_block_fits(op.offset) {
            return neg(errno::EINVAL);
        }
        let first = self.guest.fifo.is_none();
        if !first
            && self
                .guest
                .fifo
                .as_ref()
                .and_then(|f| f.control.get(op.vcpu as usize).copied().flatten())
                .is_some()
        {
            return neg(errno::EINVAL);
        }
        let Some(page) = self.mem.page(op.control_gfn) else {
            return neg(errno::EINVAL);
        };
        if first {
            self.guest.enter_fifo();
        }
        if let Some(fifo) = self.guest.fifo.as_mut()
            && let Some(slot) = fifo.control.get_mut(op.vcpu as usize)
        {
            *slot = Some((page, op.offset as usize, op.control_gfn));
        }
        0
    }
}
