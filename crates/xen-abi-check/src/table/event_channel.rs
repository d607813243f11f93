// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/event_channel.h`.

use super::{Table, consts, layout, typedef};
use xen_headers::event_channel::{
    EVTCHN_FIFO_MAX_QUEUES, EventWord, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi,
    EvtchnBindPirq, EvtchnBindVcpu, EvtchnBindVirq, EvtchnClose, EvtchnExpandArray,
    EvtchnFifoControlBlock, EvtchnInitControl, EvtchnOp, EvtchnPort, EvtchnReset, EvtchnSend,
    EvtchnSetPriority, EvtchnStatus, EvtchnStatusInterdomain, EvtchnStatusUnbound, EvtchnUnmask,
};
use xen_headers::xen::GuestHandle;

pub fn items(t: &mut Table) {
    typedef!(t, "evtchn_port_t", EvtchnPort);
    typedef!(
        t,
        "XEN_GUEST_HANDLE(evtchn_port_t)",
        GuestHandle<EvtchnPort>
    );
    typedef!(t, "event_word_t", EventWord);

    consts!(t, xen_headers::event_channel;
        EVTCHNOP_bind_interdomain => EVTCHNOP_BIND_INTERDOMAIN,
        EVTCHNOP_bind_virq => EVTCHNOP_BIND_VIRQ,
        EVTCHNOP_bind_pirq => EVTCHNOP_BIND_PIRQ,
        EVTCHNOP_close => EVTCHNOP_CLOSE,
        EVTCHNOP_send => EVTCHNOP_SEND,
        EVTCHNOP_status => EVTCHNOP_STATUS,
        EVTCHNOP_alloc_unbound => EVTCHNOP_ALLOC_UNBOUND,
        EVTCHNOP_bind_ipi => EVTCHNOP_BIND_IPI,
        EVTCHNOP_bind_vcpu => EVTCHNOP_BIND_VCPU,
        EVTCHNOP_unmask => EVTCHNOP_UNMASK,
        EVTCHNOP_reset => EVTCHNOP_RESET,
        EVTCHNOP_init_control => EVTCHNOP_INIT_CONTROL,
        EVTCHNOP_expand_array => EVTCHNOP_EXPAND_ARRAY,
        EVTCHNOP_set_priority => EVTCHNOP_SET_PRIORITY,
        BIND_PIRQ__WILL_SHARE => BIND_PIRQ__WILL_SHARE,
        EVTCHNSTAT_closed => EVTCHNSTAT_CLOSED,
        EVTCHNSTAT_unbound => EVTCHNSTAT_UNBOUND,
        EVTCHNSTAT_interdomain => EVTCHNSTAT_INTERDOMAIN,
        EVTCHNSTAT_pirq => EVTCHNSTAT_PIRQ,
        EVTCHNSTAT_virq => EVTCHNSTAT_VIRQ,
        EVTCHNSTAT_ipi => EVTCHNSTAT_IPI,
        EVTCHN_FIFO_PRIORITY_MAX => EVTCHN_FIFO_PRIORITY_MAX,
        EVTCHN_FIFO_PRIORITY_DEFAULT => EVTCHN_FIFO_PRIORITY_DEFAULT,
        EVTCHN_FIFO_PRIORITY_MIN => EVTCHN_FIFO_PRIORITY_MIN,
        EVTCHN_FIFO_PENDING => EVTCHN_FIFO_PENDING,
        EVTCHN_FIFO_MASKED => EVTCHN_FIFO_MASKED,
        EVTCHN_FIFO_LINKED => EVTCHN_FIFO_LINKED,
        EVTCHN_FIFO_BUSY => EVTCHN_FIFO_BUSY,
        EVTCHN_FIFO_LINK_BITS => EVTCHN_FIFO_LINK_BITS,
        EVTCHN_FIFO_LINK_MASK => EVTCHN_FIFO_LINK_MASK,
        EVTCHN_FIFO_NR_CHANNELS => EVTCHN_FIFO_NR_CHANNELS,
    );
    t.int("EVTCHN_FIFO_MAX_QUEUES", EVTCHN_FIFO_MAX_QUEUES as u64);

    layout!(
        t,
        "struct evtchn_alloc_unbound",
        EvtchnAllocUnbound {
            dom,
            remote_dom,
            port,
        }
    );
    layout!(
        t,
        "struct evtchn_bind_interdomain",
        EvtchnBindInterdomain {
            remote_dom,
            remote_port,
            local_port,
        }
    );
    layout!(
        t,
        "struct evtchn_bind_virq",
        EvtchnBindVirq { virq, vcpu, port }
    );
    layout!(
        t,
        "struct evtchn_bind_pirq",
        EvtchnBindPirq { pirq, flags, port }
    );
    layout!(t, "struct evtchn_bind_ipi", EvtchnBindIpi { vcpu, port });
    layout!(t, "struct evtchn_close", EvtchnClose { port });
    layout!(t, "struct evtchn_send", EvtchnSend { port });
    layout!(t, "struct evtchn_status", EvtchnStatus {
        dom, port, status, vcpu, u, u.unbound, u.interdomain, u.pirq, u.virq,
    });
    // The anonymous structures inside the union, each by its own layout: Rust cannot project a
    // place below a union field without `unsafe`, so `u.interdomain.port` is checked as the
    // offset of `u.interdomain` plus that of `port` within it.
    layout!(
        t,
        "__typeof__(((struct evtchn_status *)0)->u.unbound)",
        EvtchnStatusUnbound { dom }
    );
    layout!(
        t,
        "__typeof__(((struct evtchn_status *)0)->u.interdomain)",
        EvtchnStatusInterdomain { dom, port }
    );
    layout!(t, "struct evtchn_bind_vcpu", EvtchnBindVcpu { port, vcpu });
    layout!(t, "struct evtchn_unmask", EvtchnUnmask { port });
    layout!(t, "struct evtchn_reset", EvtchnReset { dom });
    layout!(
        t,
        "struct evtchn_init_control",
        EvtchnInitControl {
            control_gfn,
            offset,
            vcpu,
            link_bits,
            pad as "_pad",
        }
    );
    layout!(
        t,
        "struct evtchn_expand_array",
        EvtchnExpandArray { array_gfn }
    );
    layout!(
        t,
        "struct evtchn_set_priority",
        EvtchnSetPriority { port, priority }
    );
    layout!(t, "struct evtchn_op", EvtchnOp {
        cmd, u, u.alloc_unbound, u.bind_interdomain, u.bind_virq, u.bind_pirq, u.bind_ipi,
        u.close, u.send, u.status, u.bind_vcpu, u.unmask,
    });
    layout!(
        t,
        "struct evtchn_fifo_control_block",
        EvtchnFifoControlBlock { ready, rsvd as "_rsvd", head }
    );
}
