// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `public/event_channel.h`: the `HYPERVISOR_event_channel_op` sub-operations (`EVTCHNOP_*`),
//! their argument structures, port states and the FIFO event channel ABI.
//!
//! Every operation takes one argument structure, named after the operation
//! ([`EVTCHNOP_BIND_VIRQ`] takes an [`EvtchnBindVirq`]). The 2-level ABI lives in `shared_info`
//! and `vcpu_info` (see [`crate::xen`], which also holds `EVTCHN_2L_NR_CHANNELS`); the FIFO ABI
//! is a per-vCPU [`EvtchnFifoControlBlock`] plus pages of [`EventWord`]s registered with
//! [`EVTCHNOP_INIT_CONTROL`] and [`EVTCHNOP_EXPAND_ARRAY`].
//!
//! Left out: `EVTCHNOP_reset_cont` (14), which the header defines only for Xen itself.

use core::fmt;

use crate::xen::DomId;

/// `evtchn_port_t`: an event channel port number, local to one domain.
pub type EvtchnPort = u32;

// Operations (`enum event_channel_op`).

/// `EVTCHNOP_bind_interdomain`: connect to a remote domain's unbound port
/// ([`EvtchnBindInterdomain`]).
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// `EVTCHNOP_bind_virq`: bind a port to a virtual IRQ ([`EvtchnBindVirq`]).
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// `EVTCHNOP_bind_pirq`: bind a port to a physical IRQ ([`EvtchnBindPirq`]).
pub const EVTCHNOP_BIND_PIRQ: u32 = 2;
/// `EVTCHNOP_close`: close a port ([`EvtchnClose`]).
pub const EVTCHNOP_CLOSE: u32 = 3;
/// `EVTCHNOP_send`: notify the remote end of a port ([`EvtchnSend`]).
pub const EVTCHNOP_SEND: u32 = 4;
/// `EVTCHNOP_status`: query a port's state ([`EvtchnStatus`]).
pub const EVTCHNOP_STATUS: u32 = 5;
/// `EVTCHNOP_alloc_unbound`: allocate a port for a remote domain to bind to
/// ([`EvtchnAllocUnbound`]).
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// `EVTCHNOP_bind_ipi`: bind a port for inter-processor notification ([`EvtchnBindIpi`]).
pub const EVTCHNOP_BIND_IPI: u32 = 7;
/// `EVTCHNOP_bind_vcpu`: choose the vCPU a port notifies ([`EvtchnBindVcpu`]).
pub const EVTCHNOP_BIND_VCPU: u32 = 8;
/// `EVTCHNOP_unmask`: unmask a port, redelivering a pending event ([`EvtchnUnmask`]).
pub const EVTCHNOP_UNMASK: u32 = 9;
/// `EVTCHNOP_reset`: close every port of a domain ([`EvtchnReset`]).
pub const EVTCHNOP_RESET: u32 = 10;
/// `EVTCHNOP_init_control`: register a vCPU's FIFO control block ([`EvtchnInitControl`]).
pub const EVTCHNOP_INIT_CONTROL: u32 = 11;
/// `EVTCHNOP_expand_array`: add a page to the FIFO event array ([`EvtchnExpandArray`]).
pub const EVTCHNOP_EXPAND_ARRAY: u32 = 12;
/// `EVTCHNOP_set_priority`: set a port's FIFO priority ([`EvtchnSetPriority`]).
pub const EVTCHNOP_SET_PRIORITY: u32 = 13;

/// `struct evtchn_alloc_unbound`: allocate a port in `dom` that `remote_dom` may bind to
/// (`EVTCHNOP_alloc_unbound`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnAllocUnbound {
    /// IN: the domain to allocate in (`DOMID_SELF` unless privileged).
    pub dom: DomId,
    /// IN: the domain allowed to bind (may be `DOMID_SELF` for loopback).
    pub remote_dom: DomId,
    /// OUT: the allocated port.
    pub port: EvtchnPort,
}

/// `struct evtchn_bind_interdomain`: connect a new local port to `remote_dom`'s unbound
/// `remote_port` (`EVTCHNOP_bind_interdomain`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindInterdomain {
    /// IN: the remote domain.
    pub remote_dom: DomId,
    /// IN: the remote domain's unbound port offered to us.
    pub remote_port: EvtchnPort,
    /// OUT: the new local port (left pending once by Xen).
    pub local_port: EvtchnPort,
}

/// `struct evtchn_bind_virq`: bind a VIRQ to a port (`EVTCHNOP_bind_virq`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindVirq {
    /// IN: the virtual IRQ (`VIRQ_*`).
    pub virq: u32,
    /// IN: the vCPU to notify (0 for global VIRQs).
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// `BIND_PIRQ__WILL_SHARE`: [`EvtchnBindPirq::flags`] bit allowing the IRQ to be shared.
pub const BIND_PIRQ__WILL_SHARE: u32 = 1;

/// `struct evtchn_bind_pirq`: bind a physical IRQ to a port (`EVTCHNOP_bind_pirq`, privileged).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindPirq {
    /// IN: the physical IRQ.
    pub pirq: u32,
    /// IN: `BIND_PIRQ__*` flags.
    pub flags: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// `struct evtchn_bind_ipi`: bind a port for notifications to `vcpu` (`EVTCHNOP_bind_ipi`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindIpi {
    /// IN: the vCPU to notify (fixed for the port's lifetime).
    pub vcpu: u32,
    /// OUT: the new port.
    pub port: EvtchnPort,
}

/// `struct evtchn_close`: close a local port (`EVTCHNOP_close`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnClose {
    /// IN: the port; an interdomain peer goes back to unbound.
    pub port: EvtchnPort,
}

/// `struct evtchn_send`: notify the remote end of a local port (`EVTCHNOP_send`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnSend {
    /// IN: the local port.
    pub port: EvtchnPort,
}

// Port states (`evtchn_status.status`).

/// `EVTCHNSTAT_closed`: the port is not in use.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
/// `EVTCHNSTAT_unbound`: the port waits for an interdomain connection.
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
/// `EVTCHNSTAT_interdomain`: the port is connected to a remote domain.
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
/// `EVTCHNSTAT_pirq`: the port is bound to a physical IRQ.
pub const EVTCHNSTAT_PIRQ: u32 = 3;
/// `EVTCHNSTAT_virq`: the port is bound to a virtual IRQ.
pub const EVTCHNSTAT_VIRQ: u32 = 4;
/// `EVTCHNSTAT_ipi`: the port is bound to a virtual IPI.
pub const EVTCHNSTAT_IPI: u32 = 5;

/// The anonymous `struct evtchn_status.u.unbound` ([`EVTCHNSTAT_UNBOUND`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnStatusUnbound {
    /// The domain allowed to bind.
    pub dom: DomId,
}

/// The anonymous `struct evtchn_status.u.interdomain` ([`EVTCHNSTAT_INTERDOMAIN`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnStatusInterdomain {
    /// The remote domain.
    pub dom: DomId,
    /// Padding (implicit in C; explicit so every byte of [`EvtchnStatusU`] is initialised).
    pub pad: u16,
    /// The remote port.
    pub port: EvtchnPort,
}

/// The anonymous `union` `struct evtchn_status.u`: what the port is bound to, selected by
/// [`EvtchnStatus::status`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union EvtchnStatusU {
    /// [`EVTCHNSTAT_UNBOUND`]: who may bind.
    pub unbound: EvtchnStatusUnbound,
    /// [`EVTCHNSTAT_INTERDOMAIN`]: the remote end.
    pub interdomain: EvtchnStatusInterdomain,
    /// [`EVTCHNSTAT_PIRQ`]: the physical IRQ.
    pub pirq: u32,
    /// [`EVTCHNSTAT_VIRQ`]: the virtual IRQ.
    pub virq: u32,
}

impl Default for EvtchnStatusU {
    /// All eight bytes zero.
    fn default() -> Self {
        Self {
            interdomain: EvtchnStatusInterdomain::default(),
        }
    }
}

impl fmt::Debug for EvtchnStatusU {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvtchnStatusU").finish_non_exhaustive()
    }
}

/// `struct evtchn_status`: the state of port `<dom, port>` (`EVTCHNOP_status`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct EvtchnStatus {
    /// IN: the domain (`DOMID_SELF` unless privileged).
    pub dom: DomId,
    /// IN: the port.
    pub port: EvtchnPort,
    /// OUT: `EVTCHNSTAT_*`.
    pub status: u32,
    /// OUT: the vCPU the port notifies.
    pub vcpu: u32,
    /// OUT: what the port is bound to, by `status`.
    pub u: EvtchnStatusU,
}

/// `struct evtchn_bind_vcpu`: choose the vCPU `port` notifies (`EVTCHNOP_bind_vcpu`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnBindVcpu {
    /// IN: the port (not an IPI or per-vCPU VIRQ port).
    pub port: EvtchnPort,
    /// IN: the vCPU.
    pub vcpu: u32,
}

/// `struct evtchn_unmask`: unmask `port` and redeliver it if pending (`EVTCHNOP_unmask`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnUnmask {
    /// IN: the port.
    pub port: EvtchnPort,
}

/// `struct evtchn_reset`: close every port of `dom` and return to the 2-level ABI
/// (`EVTCHNOP_reset`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnReset {
    /// IN: the domain (`DOMID_SELF` unless privileged).
    pub dom: DomId,
}

/// `struct evtchn_init_control`: register `vcpu`'s FIFO control block, switching the domain to
/// the FIFO ABI (`EVTCHNOP_init_control`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnInitControl {
    /// IN: the guest frame holding the control block.
    pub control_gfn: u64,
    /// IN: byte offset of the [`EvtchnFifoControlBlock`] in that frame.
    pub offset: u32,
    /// IN: the vCPU.
    pub vcpu: u32,
    /// OUT: link bits Xen uses ([`EVTCHN_FIFO_LINK_BITS`]).
    pub link_bits: u8,
    /// Padding (`_pad` in C, renamed: a public field may not start with `_`).
    pub pad: [u8; 7],
}

/// `struct evtchn_expand_array`: add a page of event words to the FIFO event array
/// (`EVTCHNOP_expand_array`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnExpandArray {
    /// IN: the guest frame of the new page.
    pub array_gfn: u64,
}

/// `struct evtchn_set_priority`: set the FIFO priority of `port` (`EVTCHNOP_set_priority`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnSetPriority {
    /// IN: the port.
    pub port: EvtchnPort,
    /// IN: the priority, [`EVTCHN_FIFO_PRIORITY_MAX`] (highest) to
    /// [`EVTCHN_FIFO_PRIORITY_MIN`] (lowest).
    pub priority: u32,
}

/// The anonymous `union` `struct evtchn_op.u`: the argument of the compat multiplexer, selected
/// by [`EvtchnOp::cmd`].
#[repr(C)]
#[derive(Clone, Copy)]
pub union EvtchnOpU {
    /// [`EVTCHNOP_ALLOC_UNBOUND`].
    pub alloc_unbound: EvtchnAllocUnbound,
    /// [`EVTCHNOP_BIND_INTERDOMAIN`].
    pub bind_interdomain: EvtchnBindInterdomain,
    /// [`EVTCHNOP_BIND_VIRQ`].
    pub bind_virq: EvtchnBindVirq,
    /// [`EVTCHNOP_BIND_PIRQ`].
    pub bind_pirq: EvtchnBindPirq,
    /// [`EVTCHNOP_BIND_IPI`].
    pub bind_ipi: EvtchnBindIpi,
    /// [`EVTCHNOP_CLOSE`].
    pub close: EvtchnClose,
    /// [`EVTCHNOP_SEND`].
    pub send: EvtchnSend,
    /// [`EVTCHNOP_STATUS`].
    pub status: EvtchnStatus,
    /// [`EVTCHNOP_BIND_VCPU`].
    pub bind_vcpu: EvtchnBindVcpu,
    /// [`EVTCHNOP_UNMASK`].
    pub unmask: EvtchnUnmask,
}

impl fmt::Debug for EvtchnOpU {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvtchnOpU").finish_non_exhaustive()
    }
}

/// `struct evtchn_op`: the argument of the old `HYPERVISOR_event_channel_op_compat`, superseded
/// by `HYPERVISOR_event_channel_op` since interface 0x00030202.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EvtchnOp {
    /// `EVTCHNOP_*`.
    pub cmd: u32,
    /// The operation's argument.
    pub u: EvtchnOpU,
}

// FIFO ABI.

/// `EVTCHN_FIFO_PRIORITY_MAX`: the highest priority.
pub const EVTCHN_FIFO_PRIORITY_MAX: u32 = 0;
/// `EVTCHN_FIFO_PRIORITY_DEFAULT`: the priority of a newly bound port.
pub const EVTCHN_FIFO_PRIORITY_DEFAULT: u32 = 7;
/// `EVTCHN_FIFO_PRIORITY_MIN`: the lowest priority.
pub const EVTCHN_FIFO_PRIORITY_MIN: u32 = 15;
/// `EVTCHN_FIFO_MAX_QUEUES`: one queue per priority.
pub const EVTCHN_FIFO_MAX_QUEUES: usize = EVTCHN_FIFO_PRIORITY_MIN as usize + 1;

/// `event_word_t`: one port's word in the FIFO event array.
pub type EventWord = u32;

/// `EVTCHN_FIFO_PENDING`: bit number of the pending bit in an [`EventWord`].
pub const EVTCHN_FIFO_PENDING: u32 = 31;
/// `EVTCHN_FIFO_MASKED`: bit number of the masked bit in an [`EventWord`].
pub const EVTCHN_FIFO_MASKED: u32 = 30;
/// `EVTCHN_FIFO_LINKED`: bit number of the linked (on a queue) bit in an [`EventWord`].
pub const EVTCHN_FIFO_LINKED: u32 = 29;
/// `EVTCHN_FIFO_BUSY`: bit number of the busy bit in an [`EventWord`].
pub const EVTCHN_FIFO_BUSY: u32 = 28;

/// `EVTCHN_FIFO_LINK_BITS`: width of the link (next port) field of an [`EventWord`].
pub const EVTCHN_FIFO_LINK_BITS: u32 = 17;
/// `EVTCHN_FIFO_LINK_MASK`: the link field of an [`EventWord`].
pub const EVTCHN_FIFO_LINK_MASK: EventWord = (1 << EVTCHN_FIFO_LINK_BITS) - 1;
/// `EVTCHN_FIFO_NR_CHANNELS`: ports the FIFO ABI can name.
pub const EVTCHN_FIFO_NR_CHANNELS: u32 = 1 << EVTCHN_FIFO_LINK_BITS;

/// `struct evtchn_fifo_control_block`: a vCPU's FIFO queue heads, registered with
/// `EVTCHNOP_init_control`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvtchnFifoControlBlock {
    /// Bit `q` set by Xen when queue `q` has become non-empty.
    pub ready: u32,
    /// Reserved (`_rsvd` in C, renamed: a public field may not start with `_`).
    pub rsvd: u32,
    /// The port at the head of each queue (0 for empty), by priority.
    pub head: [u32; EVTCHN_FIFO_MAX_QUEUES],
}

const _: () = assert!(size_of::<EvtchnAllocUnbound>() == 8);
const _: () = assert!(size_of::<EvtchnBindInterdomain>() == 12);
const _: () = assert!(size_of::<EvtchnBindVirq>() == 12);
const _: () = assert!(size_of::<EvtchnStatus>() == 24);
const _: () = assert!(size_of::<EvtchnInitControl>() == 24);
const _: () = assert!(size_of::<EvtchnOp>() == 28);
const _: () = assert!(size_of::<EvtchnFifoControlBlock>() == 72);
