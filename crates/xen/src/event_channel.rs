// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `HYPERVISOR_event_channel_op` (upstream `src/xen/event_channel.c`).
//!
//! Every event-channel operation xen.sys exports, plus the ones upstream leaves out (`bind_ipi`,
//! `set_priority`) so that the 2-level and FIFO ABIs can be driven completely. Every operation
//! targets `DOMID_SELF` except where a remote domain is a parameter.

use crate::hypercall::{Hypervisor, arg};
use crate::status::{Error, Result, check};
use xen_headers::event_channel::{
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VCPU,
    EVTCHNOP_BIND_VIRQ, EVTCHNOP_CLOSE, EVTCHNOP_EXPAND_ARRAY, EVTCHNOP_INIT_CONTROL,
    EVTCHNOP_RESET, EVTCHNOP_SEND, EVTCHNOP_SET_PRIORITY, EVTCHNOP_STATUS, EVTCHNOP_UNMASK,
    EVTCHNSTAT_CLOSED, EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI, EVTCHNSTAT_PIRQ, EVTCHNSTAT_UNBOUND,
    EVTCHNSTAT_VIRQ, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindVcpu,
    EvtchnBindVirq, EvtchnClose, EvtchnExpandArray, EvtchnInitControl, EvtchnReset, EvtchnSend,
    EvtchnSetPriority, EvtchnStatus, EvtchnUnmask,
};
use xen_headers::xen::{DOMID_SELF, DomId, HYPERVISOR_EVENT_CHANNEL_OP};

/// Issues `EVTCHNOP_<cmd>` with the argument structure `op`.
fn event_channel_op<H: Hypervisor + ?Sized, T>(hv: &H, cmd: u32, op: &mut T) -> Result<usize> {
    // SAFETY: `op` is a live, exclusively borrowed argument structure of the layout `cmd`
    // expects; Xen reads and writes it only during the call.
    let rc = unsafe { hv.hypercall(HYPERVISOR_EVENT_CHANNEL_OP, &[cmd as usize, arg(op)]) };
    check(rc)
}

/// `EVTCHNOP_send`: notify the other end of `port`.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a port that is not valid or not bound.
pub fn send<H: Hypervisor + ?Sized>(hv: &H, port: u32) -> Result<()> {
    let mut op = EvtchnSend { port };
    event_channel_op(hv, EVTCHNOP_SEND, &mut op).map(|_| ())
}

/// `EVTCHNOP_alloc_unbound`: a new local port that `remote_domain` may bind to.
///
/// # Errors
///
/// [`Error::Errno`] from Xen (`ENOSPC` when the domain is out of ports).
pub fn allocate_unbound<H: Hypervisor + ?Sized>(hv: &H, remote_domain: DomId) -> Result<u32> {
    let mut op = EvtchnAllocUnbound {
        dom: DOMID_SELF,
        remote_dom: remote_domain,
        port: 0,
    };
    event_channel_op(hv, EVTCHNOP_ALLOC_UNBOUND, &mut op)?;
    Ok(op.port)
}

/// `EVTCHNOP_bind_interdomain`: connect a new local port to `remote_port` of `remote_domain`,
/// which must be unbound and offered to us. Xen marks the new local port pending once.
///
/// # Errors
///
/// [`Error::Errno`]: `ESRCH` for an unknown domain, `EINVAL` for a remote port that is not
/// unbound or not offered to us.
pub fn bind_inter_domain<H: Hypervisor + ?Sized>(
    hv: &H,
    remote_domain: DomId,
    remote_port: u32,
) -> Result<u32> {
    let mut op = EvtchnBindInterdomain {
        remote_dom: remote_domain,
        remote_port,
        local_port: 0,
    };
    event_channel_op(hv, EVTCHNOP_BIND_INTERDOMAIN, &mut op)?;
    Ok(op.local_port)
}

/// `EVTCHNOP_bind_virq`: a new port for virtual interrupt `virq` on `vcpu`.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for an unknown VIRQ or a global VIRQ on a vCPU other than 0,
/// `ENOENT` for an unknown vCPU, `EEXIST` when the VIRQ is already bound on that vCPU.
pub fn bind_virq<H: Hypervisor + ?Sized>(hv: &H, virq: u32, vcpu: u32) -> Result<u32> {
    let mut op = EvtchnBindVirq {
        virq,
        vcpu,
        port: 0,
    };
    event_channel_op(hv, EVTCHNOP_BIND_VIRQ, &mut op)?;
    Ok(op.port)
}

/// `EVTCHNOP_bind_ipi`: a new port that notifies `vcpu` of this domain (not exported upstream).
///
/// # Errors
///
/// [`Error::Errno`]: `ENOENT` for an unknown vCPU.
pub fn bind_ipi<H: Hypervisor + ?Sized>(hv: &H, vcpu: u32) -> Result<u32> {
    let mut op = EvtchnBindIpi { vcpu, port: 0 };
    event_channel_op(hv, EVTCHNOP_BIND_IPI, &mut op)?;
    Ok(op.port)
}

/// What a port is bound to, from `EVTCHNOP_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// Not in use.
    Closed,
    /// Waiting for `domain` to bind to it.
    Unbound {
        /// The domain allowed to bind.
        domain: DomId,
    },
    /// Connected to `port` of `domain`.
    InterDomain {
        /// The remote domain.
        domain: DomId,
        /// The remote port.
        port: u32,
    },
    /// Bound to a physical IRQ.
    Pirq(u32),
    /// Bound to a virtual IRQ.
    Virq(u32),
    /// An inter-vCPU notification port.
    Ipi,
    /// A status this crate does not know.
    Other(u32),
}

/// A port's state, from `EVTCHNOP_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortStatus {
    /// What the port is bound to.
    pub binding: Binding,
    /// The vCPU its notifications go to.
    pub vcpu: u32,
}

/// `EVTCHNOP_status` of local `port`.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a port number beyond the domain's ports.
pub fn status<H: Hypervisor + ?Sized>(hv: &H, port: u32) -> Result<PortStatus> {
    let mut op = EvtchnStatus {
        dom: DOMID_SELF,
        port,
        ..EvtchnStatus::default()
    };
    event_channel_op(hv, EVTCHNOP_STATUS, &mut op)?;
    let binding = match op.status {
        EVTCHNSTAT_CLOSED => Binding::Closed,
        EVTCHNSTAT_UNBOUND => {
            // SAFETY: Xen filled the union member that `status` names.
            let unbound = unsafe { op.u.unbound };
            Binding::Unbound {
                domain: unbound.dom,
            }
        }
        EVTCHNSTAT_INTERDOMAIN => {
            // SAFETY: as above.
            let interdomain = unsafe { op.u.interdomain };
            Binding::InterDomain {
                domain: interdomain.dom,
                port: interdomain.port,
            }
        }
        // SAFETY: as above.
        EVTCHNSTAT_PIRQ => Binding::Pirq(unsafe { op.u.pirq }),
        // SAFETY: as above.
        EVTCHNSTAT_VIRQ => Binding::Virq(unsafe { op.u.virq }),
        EVTCHNSTAT_IPI => Binding::Ipi,
        other => Binding::Other(other),
    };
    Ok(PortStatus {
        binding,
        vcpu: op.vcpu,
    })
}

/// Upstream's `EventChannelQueryInterDomain`: the remote domain and port of an interdomain
/// `port`.
///
/// # Errors
///
/// [`Error::InvalidParameter`] when the port is not interdomain (as upstream), or
/// [`Error::Errno`] from `EVTCHNOP_status`.
pub fn query_inter_domain<H: Hypervisor + ?Sized>(hv: &H, port: u32) -> Result<(DomId, u32)> {
    match status(hv, port)?.binding {
        Binding::InterDomain { domain, port } => Ok((domain, port)),
        _ => Err(Error::InvalidParameter),
    }
}

/// `EVTCHNOP_close`: free local `port` (its interdomain peer becomes unbound).
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a port that is not valid.
pub fn close<H: Hypervisor + ?Sized>(hv: &H, port: u32) -> Result<()> {
    let mut op = EvtchnClose { port };
    event_channel_op(hv, EVTCHNOP_CLOSE, &mut op).map(|_| ())
}

/// `EVTCHNOP_bind_vcpu`: deliver `port`'s notifications to `vcpu`.
///
/// # Errors
///
/// [`Error::Errno`]: `ENOENT` for an unknown vCPU, `EINVAL` for a port that cannot be moved.
pub fn bind_virtual_cpu<H: Hypervisor + ?Sized>(hv: &H, port: u32, vcpu: u32) -> Result<()> {
    let mut op = EvtchnBindVcpu { port, vcpu };
    event_channel_op(hv, EVTCHNOP_BIND_VCPU, &mut op).map(|_| ())
}

/// `EVTCHNOP_unmask`: clear `port`'s mask and have Xen re-deliver it if it is pending.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a port that is not valid.
pub fn unmask<H: Hypervisor + ?Sized>(hv: &H, port: u32) -> Result<()> {
    let mut op = EvtchnUnmask { port };
    event_channel_op(hv, EVTCHNOP_UNMASK, &mut op).map(|_| ())
}

/// `EVTCHNOP_reset` of this domain: close every port and, if the domain uses the FIFO ABI,
/// return it to the 2-level ABI (upstream xenbus uses this to leave FIFO).
///
/// # Errors
///
/// [`Error::Errno`] from Xen (`EAGAIN` when Xen-internal channels remain).
pub fn reset<H: Hypervisor + ?Sized>(hv: &H) -> Result<()> {
    let mut op = EvtchnReset { dom: DOMID_SELF };
    event_channel_op(hv, EVTCHNOP_RESET, &mut op).map(|_| ())
}

/// `EVTCHNOP_init_control`: give Xen `vcpu`'s FIFO control block.
///
/// The control block is the page at `gfn` (offset 0, as upstream); the first call switches the
/// domain to the FIFO ABI. Returns the link bits Xen reports (upstream ignores them).
///
/// # Safety
///
/// The page at `gfn` becomes Xen's to write for as long as the domain uses the FIFO ABI (until
/// [`reset`]); the caller must keep it allocated and touch it only as the FIFO ABI allows.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a bad frame or offset or a vCPU already initialised,
/// `ENOENT` for an unknown vCPU.
pub unsafe fn init_control<H: Hypervisor + ?Sized>(hv: &H, gfn: u64, vcpu: u32) -> Result<u8> {
    let mut op = EvtchnInitControl {
        control_gfn: gfn,
        offset: 0,
        vcpu,
        ..EvtchnInitControl::default()
    };
    event_channel_op(hv, EVTCHNOP_INIT_CONTROL, &mut op)?;
    Ok(op.link_bits)
}

/// `EVTCHNOP_expand_array`: give Xen the page at `gfn` as the next page of FIFO event words.
///
/// # Safety
///
/// As [`init_control`]: the page is Xen's to write until the domain leaves the FIFO ABI.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a bad frame or when the array is already at its maximum,
/// `ENOSYS` when the domain is not using the FIFO ABI.
pub unsafe fn expand_array<H: Hypervisor + ?Sized>(hv: &H, gfn: u64) -> Result<()> {
    let mut op = EvtchnExpandArray { array_gfn: gfn };
    event_channel_op(hv, EVTCHNOP_EXPAND_ARRAY, &mut op).map(|_| ())
}

/// `EVTCHNOP_set_priority`: the FIFO queue (0 highest, 15 lowest) of `port`.
///
/// # Errors
///
/// [`Error::Errno`]: `EINVAL` for a bad port or priority, `ENOSYS` under the 2-level ABI.
pub fn set_priority<H: Hypervisor + ?Sized>(hv: &H, port: u32, priority: u32) -> Result<()> {
    let mut op = EvtchnSetPriority { port, priority };
    event_channel_op(hv, EVTCHNOP_SET_PRIORITY, &mut op).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypercall::fake::{Fake, at, returning};
    use crate::status::{STATUS_INVALID_PARAMETER, STATUS_OBJECT_NAME_NOT_FOUND};

    fn fake_with<T>(
        cmd: u32,
        edit: impl Fn(&mut T) -> isize,
    ) -> Fake<impl Fn(u32, &[usize]) -> isize> {
        Fake::new(move |op, args| {
            assert_eq!(op, 32);
            assert_eq!(args.len(), 2);
            assert_eq!(args[0], cmd as usize);
            // SAFETY: the wrapper passes its live argument structure of type T.
            edit(unsafe { &mut *at::<T>(args, 1) })
        })
    }

    #[test]
    fn send_passes_the_port() {
        let hv = fake_with(4, |op: &mut EvtchnSend| {
            assert_eq!(op.port, 9);
            0
        });
        assert_eq!(send(&hv, 9), Ok(()));
    }

    #[test]
    fn bad_port_is_invalid_parameter() {
        let err = send(&returning(-22), 4095).unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_INVALID_PARAMETER);
    }

    #[test]
    fn alloc_unbound_is_for_self_and_returns_the_port() {
        let hv = fake_with(6, |op: &mut EvtchnAllocUnbound| {
            assert_eq!((op.dom, op.remote_dom), (DOMID_SELF, 5));
            op.port = 17;
            0
        });
        assert_eq!(allocate_unbound(&hv, 5), Ok(17));
    }

    #[test]
    fn bind_interdomain_returns_the_local_port() {
        let hv = fake_with(0, |op: &mut EvtchnBindInterdomain| {
            assert_eq!((op.remote_dom, op.remote_port), (0, 3));
            op.local_port = 4;
            0
        });
        assert_eq!(bind_inter_domain(&hv, 0, 3), Ok(4));
    }

    #[test]
    fn bind_virq_and_ipi_return_ports() {
        let hv = fake_with(1, |op: &mut EvtchnBindVirq| {
            assert_eq!((op.virq, op.vcpu), (0, 1));
            op.port = 8;
            0
        });
        assert_eq!(bind_virq(&hv, 0, 1), Ok(8));
        let hv = fake_with(7, |op: &mut EvtchnBindIpi| {
            assert_eq!(op.vcpu, 1);
            op.port = 2;
            0
        });
        assert_eq!(bind_ipi(&hv, 1), Ok(2));
        let err = bind_ipi(&returning(-2), 7).unwrap_err();
        assert_eq!(err.ntstatus(), STATUS_OBJECT_NAME_NOT_FOUND);
    }

    #[test]
    fn status_decodes_every_binding() {
        let interdomain = fake_with(5, |op: &mut EvtchnStatus| {
            assert_eq!((op.dom, op.port), (DOMID_SELF, 3));
            op.status = EVTCHNSTAT_INTERDOMAIN;
            op.vcpu = 1;
            op.u.interdomain.dom = 0;
            op.u.interdomain.port = 4;
            0
        });
        assert_eq!(
            status(&interdomain, 3),
            Ok(PortStatus {
                binding: Binding::InterDomain { domain: 0, port: 4 },
                vcpu: 1
            })
        );
        assert_eq!(query_inter_domain(&interdomain, 3), Ok((0, 4)));

        let unbound = fake_with(5, |op: &mut EvtchnStatus| {
            op.status = EVTCHNSTAT_UNBOUND;
            op.u.unbound.dom = 7;
            0
        });
        assert_eq!(
            status(&unbound, 1).map(|s| s.binding),
            Ok(Binding::Unbound { domain: 7 })
        );
        // Upstream: a port that is not interdomain is STATUS_INVALID_PARAMETER.
        assert_eq!(
            query_inter_domain(&unbound, 1).map_err(Error::ntstatus),
            Err(STATUS_INVALID_PARAMETER)
        );

        for (code, want) in [
            (EVTCHNSTAT_CLOSED, Binding::Closed),
            (EVTCHNSTAT_PIRQ, Binding::Pirq(42)),
            (EVTCHNSTAT_VIRQ, Binding::Virq(42)),
            (EVTCHNSTAT_IPI, Binding::Ipi),
            (77, Binding::Other(77)),
        ] {
            let hv = fake_with(5, move |op: &mut EvtchnStatus| {
                op.status = code;
                op.u.virq = 42;
                0
            });
            assert_eq!(status(&hv, 2).map(|s| s.binding), Ok(want));
        }
    }

    #[test]
    fn close_unmask_bind_vcpu_and_priority_pass_their_fields() {
        let hv = fake_with(3, |op: &mut EvtchnClose| {
            assert_eq!(op.port, 5);
            0
        });
        assert_eq!(close(&hv, 5), Ok(()));
        let hv = fake_with(9, |op: &mut EvtchnUnmask| {
            assert_eq!(op.port, 6);
            0
        });
        assert_eq!(unmask(&hv, 6), Ok(()));
        let hv = fake_with(8, |op: &mut EvtchnBindVcpu| {
            assert_eq!((op.port, op.vcpu), (6, 1));
            0
        });
        assert_eq!(bind_virtual_cpu(&hv, 6, 1), Ok(()));
        let hv = fake_with(13, |op: &mut EvtchnSetPriority| {
            assert_eq!((op.port, op.priority), (6, 3));
            0
        });
        assert_eq!(set_priority(&hv, 6, 3), Ok(()));
    }

    #[test]
    fn reset_targets_self() {
        let hv = fake_with(10, |op: &mut EvtchnReset| {
            assert_eq!(op.dom, DOMID_SELF);
            0
        });
        assert_eq!(reset(&hv), Ok(()));
    }

    #[test]
    fn fifo_setup_passes_frames() {
        let hv = fake_with(11, |op: &mut EvtchnInitControl| {
            assert_eq!((op.control_gfn, op.offset, op.vcpu), (0x1234, 0, 1));
            op.link_bits = 17;
            0
        });
        // SAFETY: the fake never touches the frame.
        assert_eq!(unsafe { init_control(&hv, 0x1234, 1) }, Ok(17));
        let hv = fake_with(12, |op: &mut EvtchnExpandArray| {
            assert_eq!(op.array_gfn, 0x99);
            0
        });
        // SAFETY: as above.
        assert_eq!(unsafe { expand_array(&hv, 0x99) }, Ok(()));
    }
}
