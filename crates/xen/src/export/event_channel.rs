// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `EventChannel*` exports (upstream `src/xen/event_channel.c`) over [`crate::event_channel`].
//!
//! Output pointers are checked before the hypercall, so a NULL one fails with
//! `STATUS_INVALID_PARAMETER` without allocating or binding anything.

use super::{NtStatus, STATUS_INVALID_PARAMETER, hypercall, put, status};
use crate::event_channel as evtchn;

/// `NTSTATUS EventChannelSend(ULONG Port)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelSend")]
#[must_use]
pub extern "C" fn event_channel_send(port: u32) -> NtStatus {
    status(hypercall("EventChannelSend", |hv| evtchn::send(hv, port)))
}

/// `NTSTATUS EventChannelAllocateUnbound(USHORT Domain, ULONG *Port)`: a port of this domain
/// that `Domain` may bind to.
///
/// # Safety
/// `port` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelAllocateUnbound")]
#[must_use]
pub unsafe extern "C" fn event_channel_allocate_unbound(domain: u16, port: *mut u32) -> NtStatus {
    if port.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("EventChannelAllocateUnbound", |hv| {
        evtchn::allocate_unbound(hv, domain)
    });
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|p| unsafe { put(port, p) }))
}

/// `NTSTATUS EventChannelBindInterDomain(USHORT RemoteDomain, ULONG RemotePort, ULONG
/// *LocalPort)`.
///
/// # Safety
/// `local_port` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelBindInterDomain")]
#[must_use]
pub unsafe extern "C" fn event_channel_bind_inter_domain(
    remote_domain: u16,
    remote_port: u32,
    local_port: *mut u32,
) -> NtStatus {
    if local_port.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("EventChannelBindInterDomain", |hv| {
        evtchn::bind_inter_domain(hv, remote_domain, remote_port)
    });
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|p| unsafe { put(local_port, p) }))
}

/// `NTSTATUS EventChannelBindVirq(ULONG Virq, unsigned int vcpu_id, ULONG *LocalPort)`.
///
/// # Safety
/// `local_port` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelBindVirq")]
#[must_use]
pub unsafe extern "C" fn event_channel_bind_virq(
    virq: u32,
    vcpu_id: u32,
    local_port: *mut u32,
) -> NtStatus {
    if local_port.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("EventChannelBindVirq", |hv| {
        evtchn::bind_virq(hv, virq, vcpu_id)
    });
    // SAFETY: checked non-NULL; writable by the caller's contract.
    status(r.and_then(|p| unsafe { put(local_port, p) }))
}

/// `NTSTATUS EventChannelQueryInterDomain(ULONG LocalPort, USHORT *RemoteDomain, ULONG
/// *RemotePort)`: `STATUS_INVALID_PARAMETER` unless the port is interdomain.
///
/// # Safety
/// `remote_domain` and `remote_port` are each NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelQueryInterDomain")]
#[must_use]
pub unsafe extern "C" fn event_channel_query_inter_domain(
    local_port: u32,
    remote_domain: *mut u16,
    remote_port: *mut u32,
) -> NtStatus {
    if remote_domain.is_null() || remote_port.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    match hypercall("EventChannelQueryInterDomain", |hv| {
        evtchn::query_inter_domain(hv, local_port)
    }) {
        Ok((domain, port)) => {
            // SAFETY: checked non-NULL; writable by the caller's contract.
            let d = unsafe { put(remote_domain, domain) };
            // SAFETY: as above.
            let p = unsafe { put(remote_port, port) };
            status(d.and(p))
        }
        Err(e) => e,
    }
}

/// `NTSTATUS EventChannelClose(ULONG LocalPort)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelClose")]
#[must_use]
pub extern "C" fn event_channel_close(local_port: u32) -> NtStatus {
    status(hypercall("EventChannelClose", |hv| {
        evtchn::close(hv, local_port)
    }))
}

/// `NTSTATUS EventChannelExpandArray(PFN_NUMBER Pfn)`: add an event array page (FIFO ABI).
///
/// # Safety
/// `pfn` is a zeroed page the caller dedicates to Xen's event array for the domain's life.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelExpandArray")]
#[must_use]
pub unsafe extern "C" fn event_channel_expand_array(pfn: usize) -> NtStatus {
    status(hypercall("EventChannelExpandArray", |hv| {
        // SAFETY: the caller dedicates the page, as this function's contract says.
        unsafe { evtchn::expand_array(hv, pfn as u64) }
    }))
}

/// `NTSTATUS EventChannelInitControl(PFN_NUMBER Pfn, unsigned int vcpu_id)`: register the
/// vCPU's FIFO control block (Xen's `link_bits` answer is ignored, as upstream).
///
/// # Safety
/// `pfn` is a zeroed page the caller dedicates to Xen's control block for the domain's life.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelInitControl")]
#[must_use]
pub unsafe extern "C" fn event_channel_init_control(pfn: usize, vcpu_id: u32) -> NtStatus {
    status(
        hypercall("EventChannelInitControl", |hv| {
            // SAFETY: the caller dedicates the page, as this function's contract says.
            unsafe { evtchn::init_control(hv, pfn as u64, vcpu_id) }
        })
        .map(|_link_bits| ()),
    )
}

/// `NTSTATUS EventChannelReset(VOID)`: close every port of this domain.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelReset")]
#[must_use]
pub extern "C" fn event_channel_reset() -> NtStatus {
    status(hypercall("EventChannelReset", |hv| evtchn::reset(hv)))
}

/// `NTSTATUS EventChannelBindVirtualCpu(ULONG LocalPort, unsigned int vcpu_id)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelBindVirtualCpu")]
#[must_use]
pub extern "C" fn event_channel_bind_virtual_cpu(local_port: u32, vcpu_id: u32) -> NtStatus {
    status(hypercall("EventChannelBindVirtualCpu", |hv| {
        evtchn::bind_virtual_cpu(hv, local_port, vcpu_id)
    }))
}

/// `NTSTATUS EventChannelUnmask(ULONG LocalPort)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "EventChannelUnmask")]
#[must_use]
pub extern "C" fn event_channel_unmask(local_port: u32) -> NtStatus {
    status(hypercall("EventChannelUnmask", |hv| {
        evtchn::unmask(hv, local_port)
    }))
}
